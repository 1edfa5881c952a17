// SPDX-License-Identifier: MIT
pragma solidity ^0.8.30;

import {Call, IKeyward, PackedUserOperation, SignedBatchedCall} from "../contracts/interfaces/IKeyward.sol";
import {KeywardTestBase, TestKey} from "./utils/KeywardTestBase.sol";
import {MockERC20} from "./utils/MockERC20.sol";
import {Vm} from "forge-std/Vm.sol";

/// @notice A spender that pulls native value from an account (as Uniswap's ERC20ETH does).
contract NativeSpender {
    function pull(IKeyward account, address from, address to, uint256 amount) external returns (bool) {
        return account.transferFromNative(from, to, amount);
    }

    function pullTransient(IKeyward account, address from, address to, uint256 amount) external returns (bool) {
        return account.transferFromNativeTransient(from, to, amount);
    }
}

/// @notice ERC-7914 native allowances (issue 12): approvals by the account only, persistent and transient pulls,
/// the maximal allowance never spent down, Calibur's errors and events.
contract ERC7914Test is KeywardTestBase {
    address internal spender = makeAddr("spender");
    address internal recipient = makeAddr("recipient");

    event UserOperationRevertReason(
        bytes32 indexed userOpHash, address indexed sender, uint256 nonce, bytes revertReason
    );

    function _approve(address who, uint256 amount) internal {
        rootCall(abi.encodeCall(IKeyward.approveNative, (who, amount)));
    }

    // ------------------------------------------------------------------------------------------------------------
    // approveNative / approveNativeTransient
    // ------------------------------------------------------------------------------------------------------------

    function test_approveNative_setsAllowanceAndEmits() public {
        vm.expectEmit(account);
        emit IKeyward.ApproveNative(account, spender, 3 ether);
        vm.prank(account);
        assertTrue(acct.approveNative(spender, 3 ether));
        assertEq(acct.nativeAllowance(spender), 3 ether);
        assertEq(acct.transientNativeAllowance(spender), 0, "persistent and transient are separate");
        _approve(spender, 1 ether); // overwrites, does not add
        assertEq(acct.nativeAllowance(spender), 1 ether);
        _approve(spender, 0);
        assertEq(acct.nativeAllowance(spender), 0);
    }

    function test_approveNativeTransient_setsAllowanceAndEmits() public {
        vm.expectEmit(account);
        emit IKeyward.ApproveNativeTransient(account, spender, 2 ether);
        vm.prank(account);
        assertTrue(acct.approveNativeTransient(spender, 2 ether));
        assertEq(acct.transientNativeAllowance(spender), 2 ether);
        assertEq(acct.nativeAllowance(spender), 0, "persistent and transient are separate");
        // Kept in transient storage: no storage slot of the account holds it.
        vm.record();
        vm.prank(account);
        acct.approveNativeTransient(spender, 5);
        (, bytes32[] memory writes) = vm.accesses(account);
        assertEq(writes.length, 0);
        assertEq(acct.transientNativeAllowance(spender), 5);
    }

    // ------------------------------------------------------------------------------------------------------------
    // transferFromNative
    // ------------------------------------------------------------------------------------------------------------

    function test_transferFromNative_spendsAllowanceWithEvents() public {
        _approve(spender, 3 ether);
        uint256 before = account.balance;
        vm.expectEmit(account);
        emit IKeyward.NativeAllowanceUpdated(spender, 1 ether);
        vm.expectEmit(account);
        emit IKeyward.TransferFromNative(account, recipient, 2 ether);
        vm.prank(spender);
        assertTrue(acct.transferFromNative(account, recipient, 2 ether));
        assertEq(recipient.balance, 2 ether);
        assertEq(account.balance, before - 2 ether);
        assertEq(acct.nativeAllowance(spender), 1 ether);
    }

    function test_transferFromNative_allowanceBoundary() public {
        _approve(spender, 1 ether);
        vm.prank(spender);
        vm.expectRevert(IKeyward.AllowanceExceeded.selector);
        acct.transferFromNative(account, recipient, 1 ether + 1);
        vm.prank(spender);
        acct.transferFromNative(account, recipient, 1 ether); // exactly the allowance
        assertEq(acct.nativeAllowance(spender), 0);
        vm.prank(spender);
        vm.expectRevert(IKeyward.AllowanceExceeded.selector);
        acct.transferFromNative(account, recipient, 1);
        assertEq(recipient.balance, 1 ether);
        // Without any allowance.
        vm.prank(address(0xbad));
        vm.expectRevert(IKeyward.AllowanceExceeded.selector);
        acct.transferFromNative(account, recipient, 1);
    }

    function test_transferFromNative_maxAllowanceNeverDecremented() public {
        _approve(spender, type(uint256).max);
        vm.recordLogs();
        vm.prank(spender);
        acct.transferFromNative(account, recipient, 5 ether);
        Vm.Log[] memory logs = vm.getRecordedLogs();
        for (uint256 i; i < logs.length; ++i) {
            assertTrue(logs[i].topics[0] != IKeyward.NativeAllowanceUpdated.selector, "no allowance update");
        }
        assertEq(acct.nativeAllowance(spender), type(uint256).max);
        // max - 1 is an ordinary allowance and is spent down.
        _approve(spender, type(uint256).max - 1);
        vm.prank(spender);
        acct.transferFromNative(account, recipient, 1);
        assertEq(acct.nativeAllowance(spender), type(uint256).max - 2);
    }

    function test_transferFromNative_fromMustBeTheAccount() public {
        _approve(spender, 1 ether);
        address[2] memory wrong = [address(this), spender];
        for (uint256 i; i < 2; ++i) {
            vm.prank(spender);
            vm.expectRevert(IKeyward.IncorrectSender.selector);
            acct.transferFromNative(wrong[i], recipient, 1);
            vm.prank(spender);
            vm.expectRevert(IKeyward.IncorrectSender.selector);
            acct.transferFromNativeTransient(wrong[i], recipient, 1);
        }
        assertEq(acct.nativeAllowance(spender), 1 ether);
    }

    /// @dev Amount 0 returns true at once, like Calibur: no event, no allowance needed, no check of `from`.
    function test_transferFromNative_zeroAmount() public {
        vm.recordLogs();
        vm.prank(address(0xbad));
        assertTrue(acct.transferFromNative(account, recipient, 0));
        vm.prank(address(0xbad));
        assertTrue(acct.transferFromNativeTransient(address(this), recipient, 0));
        assertEq(vm.getRecordedLogs().length, 0);
        assertEq(recipient.balance, 0);
    }

    function test_transferFromNative_recipientRefuses_revertsTransferNativeFailed() public {
        MockERC20 noReceive = new MockERC20(); // no receive function: a value transfer to it reverts
        _approve(spender, 1 ether);
        vm.prank(spender);
        vm.expectRevert(IKeyward.TransferNativeFailed.selector);
        acct.transferFromNative(account, address(noReceive), 1);
        assertEq(acct.nativeAllowance(spender), 1 ether, "allowance restored with the revert");
        vm.prank(account);
        acct.approveNativeTransient(spender, 1 ether);
        vm.prank(spender);
        vm.expectRevert(IKeyward.TransferNativeFailed.selector);
        acct.transferFromNativeTransient(account, address(noReceive), 1);
        // More than the account holds also fails as a native transfer.
        _approve(spender, type(uint256).max);
        uint256 balance = account.balance;
        vm.prank(spender);
        vm.expectRevert(IKeyward.TransferNativeFailed.selector);
        acct.transferFromNative(account, recipient, balance + 1);
    }

    function test_transferFromNative_bySpenderContract() public {
        NativeSpender s = new NativeSpender();
        _approve(address(s), 1 ether);
        assertTrue(s.pull(acct, account, recipient, 0.4 ether));
        assertEq(recipient.balance, 0.4 ether);
        assertEq(acct.nativeAllowance(address(s)), 0.6 ether);
    }

    // ------------------------------------------------------------------------------------------------------------
    // transferFromNativeTransient
    // ------------------------------------------------------------------------------------------------------------

    function test_transferFromNativeTransient_spendsTransientAllowance() public {
        NativeSpender s = new NativeSpender();
        vm.prank(account);
        acct.approveNativeTransient(address(s), 1 ether);
        vm.expectEmit(account);
        emit IKeyward.TransferFromNativeTransient(account, recipient, 1 ether);
        assertTrue(s.pullTransient(acct, account, recipient, 1 ether)); // exactly the allowance
        assertEq(acct.transientNativeAllowance(address(s)), 0);
        vm.expectRevert(IKeyward.AllowanceExceeded.selector);
        s.pullTransient(acct, account, recipient, 1);
        // The persistent allowance is a different budget.
        _approve(address(s), 5);
        vm.expectRevert(IKeyward.AllowanceExceeded.selector);
        s.pullTransient(acct, account, recipient, 1);
        assertTrue(s.pull(acct, account, recipient, 5));
        assertEq(recipient.balance, 1 ether + 5);
    }

    function test_transferFromNativeTransient_boundaryAndMax() public {
        vm.prank(account);
        acct.approveNativeTransient(spender, 10);
        vm.prank(spender);
        vm.expectRevert(IKeyward.AllowanceExceeded.selector);
        acct.transferFromNativeTransient(account, recipient, 11);
        vm.prank(spender);
        acct.transferFromNativeTransient(account, recipient, 10);
        vm.prank(account);
        acct.approveNativeTransient(spender, type(uint256).max);
        vm.prank(spender);
        acct.transferFromNativeTransient(account, recipient, 1 ether);
        assertEq(acct.transientNativeAllowance(spender), type(uint256).max, "max never decremented");
    }

    // ------------------------------------------------------------------------------------------------------------
    // Approvals are the account's own (root or admin key), on every path
    // ------------------------------------------------------------------------------------------------------------

    /// @dev A non-admin key cannot approve native value on any path: calling it from its address, in its direct,
    /// relayed or ERC-4337 batch, or through multicall. An outsider cannot either. An admin key can.
    function test_approveNative_nonAdminKey_refusedOnEveryPath() public {
        TestKey memory k = secp256k1Key("session");
        grant(k, 0);
        bytes[2] memory approvals = [
            abi.encodeCall(IKeyward.approveNative, (k.signer, type(uint256).max)),
            abi.encodeCall(IKeyward.approveNativeTransient, (k.signer, type(uint256).max))
        ];
        for (uint256 i; i < approvals.length; ++i) {
            // From the key's own address, and from an outsider.
            address[2] memory callers = [k.signer, address(0xdead)];
            for (uint256 j; j < 2; ++j) {
                vm.prank(callers[j]);
                (bool ok, bytes memory ret) = account.call(approvals[i]);
                assertFalse(ok);
                assertEq(ret, abi.encodeWithSelector(IKeyward.Unauthorized.selector));
            }
            Call[] memory calls = one(address(0), 0, approvals[i]);
            // Direct batch.
            vm.prank(k.signer);
            vm.expectRevert(IKeyward.OnlyAdminCanSelfCall.selector);
            acct.execute(MODE_CONTINUE, abi.encode(calls));
            // Relayed batch.
            SignedBatchedCall memory b = signedBatch(calls, k.keyHash, acct.getSeq(0));
            bytes memory sig = signBatch(k, b);
            vm.expectRevert(IKeyward.OnlyAdminCanSelfCall.selector);
            acct.execute(b, sig);
            // Multicall from the key's address.
            bytes[] memory items = new bytes[](1);
            items[0] = approvals[i];
            vm.prank(k.signer);
            vm.expectRevert(IKeyward.Unauthorized.selector);
            acct.multicall(items);
            // ERC-4337: the execution fails, the EntryPoint records the reason.
            PackedUserOperation memory op = userOp(calls);
            signUserOp(k, op);
            vm.expectEmit(false, false, false, true, ENTRY_POINT);
            emit UserOperationRevertReason(
                bytes32(0), address(0), op.nonce, abi.encodeWithSelector(IKeyward.OnlyAdminCanSelfCall.selector)
            );
            handle(op);
        }
        assertEq(acct.nativeAllowance(k.signer), 0);
        assertEq(acct.transientNativeAllowance(k.signer), 0);
        // An admin key's batch may approve.
        TestKey memory admin = secp256k1Key("admin");
        grant(admin, 1 << 200);
        vm.prank(admin.signer);
        acct.execute(MODE_REVERT, abi.encode(one(address(0), 0, approvals[0])));
        assertEq(acct.nativeAllowance(k.signer), type(uint256).max);
    }
}
