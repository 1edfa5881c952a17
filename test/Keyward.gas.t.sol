// SPDX-License-Identifier: MIT
pragma solidity ^0.8.30;

import {
    BatchedCall,
    Call,
    GasBudget,
    IKeyward,
    PackedUserOperation,
    SignedBatchedCall
} from "../contracts/interfaces/IKeyward.sol";
import {KeywardTestBase, TestKey} from "./utils/KeywardTestBase.sol";
import {MockERC20} from "./utils/MockERC20.sol";

/// @notice Gas benchmarks, committed in `snapshots/Keyward.json` (callee gas) and `snapshots/KeywardTx.json`
/// (whole-transaction gas: `GAS_GROUP=KeywardTx forge test --isolate`, run by `make snapshot`).
/// @dev Method: callee gas of the measured call with every touched account cooled first (`vm.cool`); root
/// operations are a self-call to ERC-7821 `execute` (the EOA's transaction to itself); user operations go through
/// the real EntryPoint v0.8 `handleOps` with zero gas fees. The benchmark call is an ERC-20 `transfer` to a holder
/// (a nonzero-to-nonzero balance write), the same call on every path.
contract KeywardGasTest is KeywardTestBase {
    MockERC20 internal token;
    /// @dev `GAS_GROUP=KeywardTx` with `forge test --isolate` runs each call as its own transaction (21,000 base and
    /// calldata included, refunds deducted).
    string internal group = vm.envOr("GAS_GROUP", string("Keyward"));
    address internal constant RECIPIENT = address(0xbeef01);

    function setUp() public override {
        super.setUp();
        token = new MockERC20();
        token.mint(account, 1000 ether);
        token.mint(RECIPIENT, 1 ether);
    }

    function _transfer() internal view returns (Call[] memory) {
        return one(address(token), 0, abi.encodeCall(token.transfer, (RECIPIENT, 1 ether)));
    }

    function _cool() internal {
        // The extension's address without calling the implementation (a call would warm it again).
        vm.cool(vm.computeCreateAddress(address(implementation), 1));
        vm.cool(account);
        vm.cool(address(implementation));
        vm.cool(address(token));
        vm.cool(RECIPIENT);
        vm.cool(ENTRY_POINT);
        vm.cool(address(0xbeef));
    }

    function _rootSelfCall(string memory name, Call[] memory calls) internal {
        bytes memory data = abi.encode(calls);
        _cool();
        vm.prank(account);
        vm.startSnapshotGas(group, name);
        acct.execute(MODE_REVERT, data);
        vm.stopSnapshotGas();
    }

    function _grantCalls(TestKey memory k, uint256 settings) internal view returns (Call[] memory) {
        return one(account, 0, abi.encodeCall(IKeyward.grant, (k.key, settings)));
    }

    // ------------------------------------------------------------------------------------------------------------
    // Key management
    // ------------------------------------------------------------------------------------------------------------

    function test_gas_grant_secp256k1_first() public {
        TestKey memory k = secp256k1Key("k");
        _rootSelfCall("grant_secp256k1_first", _grantCalls(k, settingsOf(address(0), 1_900_000_000, false, 0)));
        assertTrue(acct.isRegistered(k.keyHash));
    }

    /// @dev What a Calibur client sends: `execute(BatchedCall)` with `register` then `update`.
    function test_gas_grant_secp256k1_first_caliburStyle() public {
        TestKey memory k = secp256k1Key("k");
        Call[] memory calls = new Call[](2);
        calls[0] = Call(account, 0, abi.encodeCall(IKeyward.register, (k.key)));
        calls[1] = Call(
            account, 0, abi.encodeCall(IKeyward.update, (k.keyHash, settingsOf(address(0), 1_900_000_000, false, 0)))
        );
        bytes memory data = abi.encodeWithSelector(0x99e1d016, BatchedCall(calls, true));
        _cool();
        vm.prank(account);
        vm.startSnapshotGas(group, "grant_secp256k1_first_caliburStyle");
        (bool ok,) = account.call(data);
        vm.stopSnapshotGas();
        assertTrue(ok);
        assertTrue(acct.isRegistered(k.keyHash));
    }

    function test_gas_grant_secp256k1_4th() public {
        for (uint256 i; i < 3; ++i) {
            grant(secp256k1Key(string(abi.encode(i))), 0);
        }
        TestKey memory k = secp256k1Key("k");
        _rootSelfCall("grant_secp256k1_4th", _grantCalls(k, settingsOf(address(0), 1_900_000_000, false, 0)));
        assertEq(acct.keyCount(), 4);
    }

    function test_gas_grant_secp256k1_100th() public {
        for (uint256 i; i < 99; ++i) {
            grant(secp256k1Key(string(abi.encode(i))), 0);
        }
        TestKey memory k = secp256k1Key("k");
        _rootSelfCall("grant_secp256k1_100th", _grantCalls(k, settingsOf(address(0), 1_900_000_000, false, 0)));
        assertEq(acct.keyCount(), 100);
    }

    function test_gas_grant_p256() public {
        TestKey memory k = p256Key("k");
        _rootSelfCall("grant_p256", _grantCalls(k, settingsOf(address(0), 1_900_000_000, false, 0)));
        assertTrue(acct.isRegistered(k.keyHash));
    }

    function test_gas_revoke_secp256k1() public {
        TestKey memory a = secp256k1Key("a");
        TestKey memory b = secp256k1Key("b");
        grant(a, 0);
        grant(b, 0);
        // Revoke the first key: the last one moves into its place (the costlier case).
        _rootSelfCall("revoke_secp256k1", one(account, 0, abi.encodeCall(IKeyward.revoke, (a.keyHash))));
        assertFalse(acct.isRegistered(a.keyHash));
    }

    function test_gas_revoke_secp256k1_last() public {
        TestKey memory a = secp256k1Key("a");
        TestKey memory b = secp256k1Key("b");
        grant(a, 0);
        grant(b, 0);
        _rootSelfCall("revoke_secp256k1_last", one(account, 0, abi.encodeCall(IKeyward.revoke, (b.keyHash))));
        assertFalse(acct.isRegistered(b.keyHash));
        assertEq(acct.keyCount(), 1);
    }

    function test_gas_revokeAll() public {
        for (uint256 i; i < 5; ++i) {
            grant(secp256k1Key(string(abi.encode(i))), 0);
        }
        _rootSelfCall("revokeAll_5keys", one(account, 0, abi.encodeCall(IKeyward.revokeAll, ())));
        assertEq(acct.keyCount(), 0);
    }

    function test_gas_update() public {
        TestKey memory k = secp256k1Key("k");
        grant(k, 1);
        _rootSelfCall("update", one(account, 0, abi.encodeCall(IKeyward.update, (k.keyHash, 2))));
        assertEq(acct.getKeySettings(k.keyHash), 2);
    }

    function test_gas_pauseKey() public {
        TestKey memory k = secp256k1Key("k");
        grant(k, 0);
        _rootSelfCall("pauseKey", one(account, 0, abi.encodeCall(IKeyward.pauseKey, (k.keyHash))));
        assertTrue(acct.isPaused(k.keyHash));
    }

    function test_gas_pauseAll() public {
        _rootSelfCall("pauseAll", one(account, 0, abi.encodeCall(IKeyward.pauseAll, ())));
        _rootSelfCall("resumeAll", one(account, 0, abi.encodeCall(IKeyward.resumeAll, ())));
    }

    // ------------------------------------------------------------------------------------------------------------
    // Execution
    // ------------------------------------------------------------------------------------------------------------

    function test_gas_execute_root_erc20Transfer() public {
        _rootSelfCall("execute_root_erc20Transfer", _transfer());
        assertEq(token.balanceOf(RECIPIENT), 2 ether);
    }

    /// @dev The same transfer through Calibur's `execute(BatchedCall)`.
    function test_gas_executeBatchedCall_root_erc20Transfer() public {
        bytes memory data = abi.encodeWithSelector(0x99e1d016, BatchedCall(_transfer(), true));
        _cool();
        vm.prank(account);
        vm.startSnapshotGas(group, "executeBatchedCall_root_erc20Transfer");
        (bool ok,) = account.call(data);
        vm.stopSnapshotGas();
        assertTrue(ok);
        assertEq(token.balanceOf(RECIPIENT), 2 ether);
    }

    function test_gas_execute_sessionKey_direct_erc20Transfer() public {
        TestKey memory k = secp256k1Key("k");
        grant(k, settingsOf(address(0), 1_900_000_000, false, 0));
        bytes memory data = abi.encode(_transfer());
        _cool();
        vm.prank(k.signer);
        vm.startSnapshotGas(group, "execute_sessionKey_direct_erc20Transfer");
        acct.execute(MODE_REVERT, data);
        vm.stopSnapshotGas();
        assertEq(token.balanceOf(RECIPIENT), 2 ether);
    }

    function _relayed(string memory name, TestKey memory k) internal {
        SignedBatchedCall memory b = signedBatch(_transfer(), k.keyHash, 0);
        bytes memory sig = signBatch(k, b);
        _cool();
        vm.startSnapshotGas(group, name);
        acct.execute(b, sig);
        vm.stopSnapshotGas();
        assertEq(token.balanceOf(RECIPIENT), 2 ether);
    }

    function test_gas_relayed_root_erc20Transfer() public {
        _relayed("relayed_root_erc20Transfer", rootTestKey());
    }

    function test_gas_relayed_secp256k1_erc20Transfer() public {
        TestKey memory k = secp256k1Key("k");
        grant(k, settingsOf(address(0), 1_900_000_000, false, 0));
        _relayed("relayed_secp256k1_erc20Transfer", k);
    }

    function test_gas_relayed_p256_erc20Transfer() public {
        TestKey memory k = p256Key("k");
        grant(k, settingsOf(address(0), 1_900_000_000, false, 0));
        _relayed("relayed_p256_erc20Transfer", k);
    }

    function test_gas_relayed_webAuthn_erc20Transfer() public {
        TestKey memory k = webAuthnKey("k");
        grant(k, settingsOf(address(0), 1_900_000_000, false, 0));
        _relayed("relayed_webAuthn_erc20Transfer", k);
    }

    // ------------------------------------------------------------------------------------------------------------
    // ERC-4337
    // ------------------------------------------------------------------------------------------------------------

    function _handleOps(string memory name, TestKey memory k) internal {
        _handleOps(name, k, _transfer());
        assertEq(token.balanceOf(RECIPIENT), 3 ether);
    }

    function _handleOps(string memory name, TestKey memory k, Call[] memory calls) internal {
        _handleOps(name, k, calls, false);
    }

    /// @dev Steady state: one operation first (so the EntryPoint nonce is no longer a fresh slot), then the measured one.
    function _handleOps(string memory name, TestKey memory k, Call[] memory calls, bool withPaymaster) internal {
        PackedUserOperation memory warm = userOp(_transfer());
        if (withPaymaster) sponsored(warm);
        signUserOp(k, warm);
        handle(warm);
        PackedUserOperation memory op = userOp(calls);
        if (withPaymaster) sponsored(op);
        signUserOp(k, op);
        PackedUserOperation[] memory ops = new PackedUserOperation[](1);
        ops[0] = op;
        _cool();
        vm.startSnapshotGas(group, name);
        entryPoint.handleOps(ops, payable(address(0xbeef)));
        vm.stopSnapshotGas();
        assertEq(entryPoint.getNonce(account, 0), 2);
    }

    function test_gas_handleOps_root_emptyCall() public {
        _handleOps("handleOps_root_emptyCall", rootTestKey(), one(RECIPIENT, 0, ""));
    }

    function test_gas_handleOps_secp256k1_emptyCall() public {
        TestKey memory k = secp256k1Key("k");
        grant(k, settingsOf(address(0), 1_900_000_000, false, 0));
        _handleOps("handleOps_secp256k1_emptyCall", k, one(RECIPIENT, 0, ""));
    }

    function test_gas_execute_root_emptyCall() public {
        _rootSelfCall("execute_root_emptyCall", one(RECIPIENT, 0, ""));
    }

    function test_gas_handleOps_root_erc20Transfer() public {
        _handleOps("handleOps_root_erc20Transfer", rootTestKey());
    }

    function test_gas_handleOps_secp256k1_erc20Transfer() public {
        TestKey memory k = secp256k1Key("k");
        grant(k, settingsOf(address(0), 1_900_000_000, false, 0));
        _handleOps("handleOps_secp256k1_erc20Transfer", k);
    }

    function test_gas_handleOps_p256_erc20Transfer() public {
        TestKey memory k = p256Key("k");
        grant(k, settingsOf(address(0), 1_900_000_000, false, 0));
        _handleOps("handleOps_p256_erc20Transfer", k);
    }

    /// @dev Validation alone (callee gas of `validateUserOp`, no prefund), the gas policy's cost: a sponsored
    /// operation of a session key with and without the SPONSORED_ONLY flag, and an account-paid one under a gas budget.
    function _validate(string memory name, TestKey memory k, bool withPaymaster, bytes memory signature)
        internal
        returns (uint256 vd)
    {
        PackedUserOperation memory op = userOp(_transfer());
        op.gasFees = bytes32((uint256(1 gwei) << 128) | 2 gwei);
        if (withPaymaster) sponsored(op);
        bytes32 h = entryPoint.getUserOpHash(op);
        op.signature = signature.length == 0 ? abi.encode(k.keyHash, sign(k, h), bytes("")) : signature;
        if (signature.length != 0) {
            (bytes32 kh,, bytes memory hd, uint256 w) = abi.decode(signature, (bytes32, bytes, bytes, uint256));
            op.signature = abi.encode(kh, sign(k, h), hd, w);
        }
        _cool();
        vm.prank(ENTRY_POINT);
        vm.startSnapshotGas(group, name);
        vd = acct.validateUserOp(op, h, 0);
        vm.stopSnapshotGas();
    }

    function test_gas_validateUserOp_secp256k1_sponsored() public {
        TestKey memory k = secp256k1Key("k");
        grant(k, settingsOf(address(0), 1_900_000_000, false, 0));
        uint256 vd = _validate("validateUserOp_secp256k1_sponsored", k, true, "");
        assertEq(uint160(vd), 0);
    }

    function test_gas_validateUserOp_secp256k1_sponsoredOnly() public {
        TestKey memory k = secp256k1Key("k");
        grant(k, settingsOf(address(0), 1_900_000_000, false, 0) | FLAG_SPONSORED_ONLY);
        uint256 vd = _validate("validateUserOp_secp256k1_sponsoredOnly", k, true, "");
        assertEq(uint160(vd), 0);
    }

    function test_gas_validateUserOp_secp256k1_gasBudget() public {
        TestKey memory k = secp256k1Key("k");
        grant(k, settingsOf(address(0), 1_900_000_000, false, 0) | FLAG_GAS_BUDGET);
        rootCall(abi.encodeCall(IKeyward.setGasBudget, (k.keyHash, GasBudget(1 ether, 1 days, 10 ether))));
        uint256 window = block.timestamp / 1 days;
        uint256 vd = _validate(
            "validateUserOp_secp256k1_gasBudget", k, false, abi.encode(k.keyHash, bytes(""), bytes(""), window)
        );
        assertEq(uint160(vd), 0);
    }

    function test_gas_validateUserOp_p256_invalidSignature() public {
        TestKey memory k = p256Key("k");
        grant(k, 0);
        PackedUserOperation memory op = userOp(_transfer());
        op.signature = abi.encode(k.keyHash, sign(k, keccak256("wrong")), bytes(""));
        bytes32 h = entryPoint.getUserOpHash(op);
        _cool();
        vm.prank(ENTRY_POINT);
        vm.startSnapshotGas(group, "validateUserOp_p256_invalidSignature");
        uint256 vd = acct.validateUserOp(op, h, 0);
        vm.stopSnapshotGas();
        assertEq(vd & 1, 1);
    }

    // ------------------------------------------------------------------------------------------------------------
    // ERC-1271
    // ------------------------------------------------------------------------------------------------------------

    function _1271(string memory name, bytes32 h, bytes memory sig) internal {
        _cool();
        vm.startSnapshotGas(group, name);
        bytes4 result = acct.isValidSignature(h, sig);
        vm.stopSnapshotGas();
        assertEq(result, bytes4(0x1626ba7e));
    }

    function test_gas_isValidSignature_rootRaw() public {
        bytes32 h = keccak256("m");
        (uint8 v, bytes32 r, bytes32 s) = vm.sign(rootKey, h);
        _1271("isValidSignature_rootRaw", h, abi.encodePacked(r, s, v));
    }

    function test_gas_isValidSignature_secp256k1Admin_typedDataSign() public {
        TestKey memory k = secp256k1Key("k");
        grant(k, 1 << 200);
        (bytes32 h, bytes memory sig) = typedDataSign(k, keccak256("app"), keccak256("c"), "Mail(string body)");
        _1271("isValidSignature_secp256k1Admin_typedDataSign", h, sig);
    }

    function test_gas_isValidSignature_p256Admin_personalSign() public {
        TestKey memory k = p256Key("k");
        grant(k, 1 << 200);
        bytes32 h = keccak256("m");
        _1271("isValidSignature_p256Admin_personalSign", h, personalSign(k, h));
    }
}
