// SPDX-License-Identifier: MIT
pragma solidity ^0.8.30;

import {Call, IKeyward, PackedUserOperation} from "../contracts/interfaces/IKeyward.sol";
import {IPolicyHook, RuleState} from "../contracts/interfaces/IPolicyHook.sol";
import {Target} from "./utils/MockHook.sol";
import {PolicyHookTestBase} from "./utils/PolicyHookTestBase.sol";
import {PolicyPassThrough, PolicyValidatingProbe} from "./utils/PolicyValidationProbe.sol";
import {Vm} from "forge-std/Vm.sol";

/// @notice Issue 13, "Also decide, and measure": what it would cost the PolicyHook to refuse in ERC-4337 validation
/// the calls its rules refuse in execution (target/selector allowlist only), and whether the storage that needs is
/// ERC-7562-associated with the sender in the current layout. Not a snapshot: the numbers are logged (run with -vv)
/// and bounded.
///
/// Method: the configured hook's code is replaced (`vm.etch`, storage kept) by a pass-through to the real hook code
/// (baseline) or by `PolicyValidatingProbe` (the same plus the rule check in `afterValidateUserOp`); both pay the
/// same DELEGATECALL hop, so the difference is the check. Every touched account is cooled before each measured
/// call, as in the gas suites. A sponsored session-key operation of a typical policy (allow `transfer` on one
/// token, a daily token limit, a call cap) is measured as `validateUserOp` alone and as a whole `handleOps`.
contract PolicyHookValidationTest is PolicyHookTestBase {
    address internal constant SINK = address(0xbeef01);
    bytes32 internal constant POLICY_SLOT = 0xc3995fef6f58cd9e5c0b060a15f2ac491d3b2e822621434e9800db1019303d00;
    /// @dev `KeyPolicy.rules` is the 11th slot of a key's policy (header, paymasters[4], nativeCaps, nativePerCall,
    /// nativeSpend, tokenStates, tokens, rules).
    uint256 internal constant RULES_OFFSET = 10;

    bytes internal hookCode;
    bytes internal passThroughCode;
    bytes internal probeCode;

    function setUp() public override {
        super.setUp();
        allow(address(usdc), usdc.transfer.selector);
        tokenLimit(address(usdc), 100_000e6, DAY, 0);
        usageLimits(1000, 0, 0, 0);
        address impl = address(uint160(uint256(keccak256("policy hook code"))) & ~uint160(0xffff) | 0x1e);
        vm.etch(impl, address(hook).code);
        hookCode = address(hook).code;
        passThroughCode = address(new PolicyPassThrough(impl)).code;
        probeCode = address(new PolicyValidatingProbe(impl)).code;
        // Steady state: the day's first spend and the first operation are done.
        handle(_op(_transfers(1)));
    }

    function _transfers(uint256 n) internal view returns (Call[] memory calls) {
        calls = new Call[](n);
        for (uint256 i; i < n; ++i) {
            calls[i] = Call(address(usdc), 0, abi.encodeCall(usdc.transfer, (SINK, 1e6)));
        }
    }

    function _op(Call[] memory calls) internal view returns (PackedUserOperation memory op) {
        op = sponsored(userOp(calls));
        signUserOp(k, op);
    }

    function _cool() internal {
        vm.cool(account);
        vm.cool(address(implementation));
        vm.cool(acct.EXTENSION());
        vm.cool(address(usdc));
        vm.cool(address(hook));
        vm.cool(address(uint160(uint256(keccak256("policy hook code"))) & ~uint160(0xffff) | 0x1e));
        vm.cool(address(sponsor));
        vm.cool(SINK);
        vm.cool(ENTRY_POINT);
        vm.cool(address(0xbeef));
    }

    /// @dev Gas of `validateUserOp` alone (as the EntryPoint calls it) and of the whole `handleOps`, with the hook's
    /// code set to `code`; the state is restored afterwards.
    function _measure(bytes memory code, Call[] memory calls) internal returns (uint256 validation, uint256 whole) {
        uint256 snapshot = vm.snapshotState();
        vm.etch(address(hook), code);
        PackedUserOperation memory op = _op(calls);
        bytes32 opHash = entryPoint.getUserOpHash(op);
        _cool();
        vm.prank(ENTRY_POINT);
        uint256 g = gasleft();
        uint256 vd = acct.validateUserOp(op, opHash, 0);
        validation = g - gasleft();
        assertEq(vd, 0);
        vm.revertToState(snapshot);
        vm.etch(address(hook), code);
        PackedUserOperation[] memory ops = new PackedUserOperation[](1);
        ops[0] = op;
        _cool();
        g = gasleft();
        entryPoint.handleOps(ops, payable(address(0xbeef)));
        whole = g - gasleft();
        vm.revertToState(snapshot);
    }

    function _report(string memory name, Call[] memory calls) internal returns (uint256 dv, uint256 dw) {
        (uint256 v0, uint256 w0) = _measure(passThroughCode, calls);
        (uint256 v1, uint256 w1) = _measure(probeCode, calls);
        dv = v1 - v0;
        dw = w1 - w0;
        emit log_named_string("case", name);
        emit log_named_uint("  validateUserOp, hook as today", v0);
        emit log_named_uint("  validateUserOp, with the rule check", v1);
        emit log_named_uint("  validation cost of the check", dv);
        emit log_named_uint("  handleOps, hook as today", w0);
        emit log_named_uint("  handleOps, with the rule check", w1);
        emit log_named_uint("  net cost per operation", dw);
    }

    /// @notice The typical policy, one guarded transfer: the check costs a cold read of the rule in validation,
    /// which execution then reads warm.
    function test_validation_ruleCheckCost_typicalPolicy() public {
        (uint256 dv, uint256 dw) = _report("typical policy, 1 transfer", _transfers(1));
        // Measured: 4,088 in validation, 4,087 net: execution reads no rule for this policy (the token's caps word
        // carries its exact allow rule), so a validation-time check would add its whole cost.
        assertGt(dv, 2100, "a cold rule read at least");
        assertLt(dv, 5000);
        assertLe(dw, dv, "execution never reads more because of it");
        assertLt(dw, 5000);
    }

    function test_validation_ruleCheckCost_threeCallBatch() public {
        (uint256 dv, uint256 dw) = _report("typical policy, 3 transfers", _transfers(3));
        // One cold rule (the same rule for the three calls), then warm. Measured: 5,744 in validation and net
        // (execution reads no rule for this policy).
        assertGt(dv, 2100);
        assertLt(dv, 7000);
        assertLt(dw, 7000);
    }

    /// @notice With a deny rule anywhere in the policy, every call needs its four covering rules (the deny matrix).
    function test_validation_ruleCheckCost_withDenies() public {
        deny(address(target), Target.bump.selector);
        (uint256 dv, uint256 dw) = _report("policy with a deny, 1 transfer", _transfers(1));
        // Measured: 11,257 in validation, 3,253 net.
        assertGt(dv, 4 * 2100, "four cold rule reads");
        assertLt(dv, 13_000);
        assertLt(dw, 4500);
    }

    /// @notice What the check buys: today a refused call is found in execution, after validation, and the
    /// operation is paid for (here by the paymaster); with the check the EntryPoint refuses it in validation, so a
    /// bundler drops it in simulation and nobody pays.
    function test_validation_refusedOperationIsPaidForToday() public {
        Call[] memory refused = one(address(target), 0, abi.encodeCall(Target.bump, ()));
        PackedUserOperation memory op = _op(refused);
        vm.recordLogs();
        handle(op);
        Vm.Log[] memory logs = vm.getRecordedLogs();
        bytes32 opEvent = keccak256("UserOperationEvent(bytes32,address,address,uint256,bool,uint256,uint256)");
        uint256 gasUsed;
        for (uint256 i; i < logs.length; ++i) {
            if (logs[i].topics[0] == opEvent) {
                bool success;
                (, success,, gasUsed) = abi.decode(logs[i].data, (uint256, bool, uint256, uint256));
                assertFalse(success);
            }
        }
        emit log_named_uint("gas a refused operation is charged today (paymaster pays)", gasUsed);
        assertGt(gasUsed, 50_000);
        vm.etch(address(hook), probeCode);
        op = _op(refused);
        vm.expectRevert(
            validationRefusal(
                abi.encodeWithSelector(IPolicyHook.CallNotAllowed.selector, address(target), Target.bump.selector)
            )
        );
        handle(op);
    }

    /// @notice ERC-7562: today the hook reads only the first slots of the key's policy in validation, slots
    /// `keccak256(account || x) + n` (associated with the sender). The rules live in a nested mapping keyed by the
    /// rule id: `keccak256(ruleId || (P + 10))`, whose preimage starts with the rule id, not the account, so an
    /// unstaked account's validation may not read them (STO-021): the check needs a layout keyed last by the
    /// account (e.g. `mapping(bytes32 keyIdAndRule => mapping(address account => Rule))`).
    function test_validation_ruleStorageIsNotAssociated() public {
        bytes32 keyId = acct.keyIdOf(k.keyHash);
        uint256 p = uint256(keccak256(abi.encode(account, keccak256(abi.encode(keyId, POLICY_SLOT)))));
        bytes32 ruleId = bytes32((uint256(uint160(address(usdc))) << 96) | uint256(uint32(usdc.transfer.selector)));
        uint256 ruleSlot = uint256(keccak256(abi.encode(ruleId, p + RULES_OFFSET)));
        // The rule is where the layout says (state Allow = 1, no conditions, first in the list).
        assertEq(uint256(vm.load(address(hook), bytes32(ruleSlot))) & 0xff, uint8(RuleState.Allow));

        PackedUserOperation memory op = _op(_transfers(1));
        bytes32 opHash = entryPoint.getUserOpHash(op);
        bytes32[] memory reads = _hookReads(hookCode, op, opHash);
        assertEq(reads.length, 2, "today: the header and the paymaster list");
        assertEq(uint256(reads[0]), p);
        assertEq(uint256(reads[1]), p + 1);
        reads = _hookReads(probeCode, op, opHash);
        bool sawRule;
        for (uint256 i; i < reads.length; ++i) {
            uint256 s = uint256(reads[i]);
            if (s == ruleSlot) sawRule = true;
            else assertTrue(s >= p && s <= p + 128, "other reads are associated");
        }
        assertTrue(sawRule, "the check reads the rule");
        assertTrue(ruleSlot < p || ruleSlot > p + 128, "the rule is no offset of the policy's base");
    }

    function _hookReads(bytes memory code, PackedUserOperation memory op, bytes32 opHash)
        internal
        returns (bytes32[] memory reads)
    {
        uint256 snapshot = vm.snapshotState();
        vm.etch(address(hook), code);
        vm.record();
        vm.prank(ENTRY_POINT);
        acct.validateUserOp(op, opHash, 0);
        (reads,) = vm.accesses(address(hook));
        vm.revertToState(snapshot);
    }
}
