// SPDX-License-Identifier: MIT
pragma solidity ^0.8.30;

import {
    BatchedCall,
    Call,
    IKeyward,
    PackedUserOperation,
    SignedBatchedCall
} from "../../contracts/interfaces/IKeyward.sol";
import {IPolicyHook, Limits, RuleState} from "../../contracts/interfaces/IPolicyHook.sol";
import {KeywardTestBase, TestKey} from "./KeywardTestBase.sol";
import {MockERC20} from "./MockERC20.sol";
import {Target} from "./MockHook.sol";
import {MockERC20ETH, MockPermit2} from "./PolicyMocks.sol";
import {Vm} from "forge-std/Vm.sol";

/// @notice The paths a key's batch can take.
enum Path {
    Direct, // ERC-7821 execute(bytes32,bytes) from the key's address
    Relayed, // execute(SignedBatchedCall,bytes)
    UserOp, // ERC-4337 handleOps, sponsored by a paymaster
    DirectBatched // Calibur execute(BatchedCall) from the key's address
}

/// @title PolicyHookTestBase
/// @notice The PolicyHook fixture shared by the PolicyHook suites: the hook at its flag address, a token, a target,
/// a session key `k` granted under the hook (with AFTER_EXECUTE_ON_FAILURE), configuration shorthands, and one
/// helper that runs a key's batch on any path (direct, relayed, ERC-4337 with a paymaster) and returns the hook's
/// (or the account's) revert data, the same bytes on every path.
abstract contract PolicyHookTestBase is KeywardTestBase {
    IPolicyHook internal hook;
    MockERC20 internal usdc;
    Target internal target;
    TestKey internal k;
    address internal constant R = address(0xa11ce);
    address internal constant OTHER = address(0xb0b);
    uint40 internal constant DAY = 1 days;

    address internal constant PERMIT2 = 0x000000000022D473030F116dDEE9F6B43aC78BA3;
    address internal constant ERC20_ETH = 0x00000000e20E49e6dCeE6e8283A0C090578F0fb9;
    /// @dev `execute(SignedBatchedCall,bytes)` (the relayed entry point; `execute` is overloaded).
    /// @dev Calibur's `execute(BatchedCall)`.
    bytes4 internal constant DIRECT_BATCHED_EXECUTE = bytes4(keccak256("execute(((address,uint256,bytes)[],bool))"));
    bytes4 internal constant RELAYED_EXECUTE =
        bytes4(keccak256("execute((((address,uint256,bytes)[],bool),uint256,bytes32,address,uint256),bytes)"));

    function setUp() public virtual override {
        super.setUp();
        hook = deployPolicyHook();
        usdc = new MockERC20();
        usdc.mint(account, 1_000_000e6);
        target = new Target();
        k = secp256k1Key("session");
        grant(k, policySettings(hook, 0));
        // The fixture's paymaster sponsors the key's user operations (no paymaster is allowed until listed).
        Call[] memory list = new Call[](1);
        list[0] = allowSponsorCall(hook, k);
        rootExecute(list);
    }

    // ------------------------------------------------------------------------------------------------------------
    // Configuration (as the root)
    // ------------------------------------------------------------------------------------------------------------

    function cfg(bytes memory data) internal {
        rootExecute(one(address(hook), 0, data));
    }

    function allow(address to, bytes4 sel) internal {
        cfg(abi.encodeCall(IPolicyHook.setCallRule, (k.keyHash, to, sel, RuleState.Allow)));
    }

    function deny(address to, bytes4 sel) internal {
        cfg(abi.encodeCall(IPolicyHook.setCallRule, (k.keyHash, to, sel, RuleState.Deny)));
    }

    function tokenLimit(address token, uint96 perPeriod, uint40 period, uint96 lifetime) internal {
        cfg(abi.encodeCall(IPolicyHook.setTokenLimit, (k.keyHash, token, true, Limits(perPeriod, lifetime, period))));
    }

    function nativeLimits(bool enabled, uint128 perCall, uint96 perPeriod, uint40 period, uint96 lifetime) internal {
        cfg(
            abi.encodeCall(
                IPolicyHook.setNativeLimits, (k.keyHash, enabled, perCall, Limits(perPeriod, lifetime, period))
            )
        );
    }

    function usageLimits(uint32 maxCalls, uint32 maxPerPeriod, uint40 period, uint16 maxPerBatch) internal {
        cfg(abi.encodeCall(IPolicyHook.setUsageLimits, (k.keyHash, maxCalls, maxPerPeriod, period, maxPerBatch)));
    }

    function transferCall(address to, uint256 amount) internal view returns (Call[] memory) {
        return one(address(usdc), 0, abi.encodeCall(usdc.transfer, (to, amount)));
    }

    // ------------------------------------------------------------------------------------------------------------
    // Running the key's batches
    // ------------------------------------------------------------------------------------------------------------

    /// @dev The session key executes directly (its own transaction).
    function asKey(Call[] memory calls) internal {
        vm.prank(k.signer);
        acct.execute(MODE_REVERT, abi.encode(calls));
    }

    function asKeyExpectRevert(Call[] memory calls, bytes memory err) internal {
        vm.prank(k.signer);
        vm.expectRevert(err);
        acct.execute(MODE_REVERT, abi.encode(calls));
    }

    /// @dev Runs `calls` as `key` on `path`; `err` is the revert data of the batch (direct, relayed) or of the
    /// operation's execution (ERC-4337, from `UserOperationRevertReason`), or `handleOps`' own revert data when
    /// validation refused the operation. The ERC-4337 operation is sponsored by `sponsor`.
    function run(Path path, TestKey memory key, Call[] memory calls, bool revertOnFailure)
        internal
        returns (bool ok, bytes memory err)
    {
        if (path == Path.Direct) {
            bytes memory data = abi.encodeWithSignature(
                "execute(bytes32,bytes)", revertOnFailure ? MODE_REVERT : MODE_CONTINUE, abi.encode(calls)
            );
            vm.prank(key.signer);
            (ok, err) = account.call(data);
        } else if (path == Path.DirectBatched) {
            bytes memory data = abi.encodeWithSelector(DIRECT_BATCHED_EXECUTE, BatchedCall(calls, revertOnFailure));
            vm.prank(key.signer);
            (ok, err) = account.call(data);
        } else if (path == Path.Relayed) {
            SignedBatchedCall memory b = signedBatch(calls, key.keyHash, IKeyward(account).getSeq(0));
            b.batchedCall.revertOnFailure = revertOnFailure;
            bytes memory sig = signBatch(key, b);
            (ok, err) = account.call(abi.encodeWithSelector(RELAYED_EXECUTE, b, sig));
        } else {
            PackedUserOperation memory op = sponsored(userOp(calls));
            op.callData =
                abi.encodePacked(IKeyward.executeUserOp.selector, abi.encode(BatchedCall(calls, revertOnFailure)));
            signUserOp(key, op);
            (ok, err) = handleOutcome(op);
        }
        if (ok) err = "";
    }

    /// @dev `run` for the session key `k`, reverting on failure.
    function run(Path path, Call[] memory calls) internal returns (bool ok, bytes memory err) {
        return run(path, k, calls, true);
    }

    /// @dev Runs `calls` as `k` on `path` and requires the outcome: success when `err` is empty, else that revert.
    function expectRun(Path path, Call[] memory calls, bytes memory err) internal {
        (bool ok, bytes memory got) = run(path, calls);
        if (err.length == 0) {
            assertTrue(ok, string.concat("expected success on path ", vm.toString(uint8(path)), ": ", vm.toString(got)));
        } else {
            assertFalse(ok, string.concat("expected a refusal on path ", vm.toString(uint8(path))));
            assertEq(got, err, string.concat("revert data on path ", vm.toString(uint8(path))));
        }
    }

    /// @dev Submits one operation; (false, handleOps' revert data) when the EntryPoint refuses it, else the
    /// operation's `success` and its revert reason.
    function handleOutcome(PackedUserOperation memory op) internal returns (bool ok, bytes memory reason) {
        PackedUserOperation[] memory ops = new PackedUserOperation[](1);
        ops[0] = op;
        vm.recordLogs();
        try entryPoint.handleOps(ops, payable(address(0xbeef))) {}
        catch (bytes memory e) {
            vm.getRecordedLogs();
            return (false, e);
        }
        Vm.Log[] memory logs = vm.getRecordedLogs();
        bytes32 opEvent = keccak256("UserOperationEvent(bytes32,address,address,uint256,bool,uint256,uint256)");
        bytes32 reasonEvent = keccak256("UserOperationRevertReason(bytes32,address,uint256,bytes)");
        bool seen;
        for (uint256 i; i < logs.length; ++i) {
            if (logs[i].emitter != ENTRY_POINT) continue;
            if (logs[i].topics[0] == opEvent) {
                (, ok,,) = abi.decode(logs[i].data, (uint256, bool, uint256, uint256));
                seen = true;
            } else if (logs[i].topics[0] == reasonEvent) {
                (, reason) = abi.decode(logs[i].data, (uint256, bytes));
            }
        }
        assertTrue(seen, "no UserOperationEvent");
    }

    /// @dev The EntryPoint's refusal of operation 0 in validation, with the account's revert data.
    function validationRefusal(bytes memory inner) internal pure returns (bytes memory) {
        return abi.encodeWithSignature("FailedOpWithRevert(uint256,string,bytes)", 0, "AA23 reverted", inner);
    }

    // ------------------------------------------------------------------------------------------------------------
    // Permit2 and ERC20ETH mocks at their canonical addresses
    // ------------------------------------------------------------------------------------------------------------

    function deployPermit2() internal returns (MockPermit2) {
        deployCodeTo("PolicyMocks.sol:MockPermit2", PERMIT2);
        return MockPermit2(payable(PERMIT2));
    }

    function deployERC20ETH() internal returns (MockERC20ETH) {
        deployCodeTo("PolicyMocks.sol:MockERC20ETH", ERC20_ETH);
        return MockERC20ETH(payable(ERC20_ETH));
    }
}
