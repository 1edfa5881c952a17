// SPDX-License-Identifier: MIT
pragma solidity ^0.8.30;

import {Call, GasBudget, IKeyward, PackedUserOperation} from "../contracts/interfaces/IKeyward.sol";
import {IPolicyHook, Limits} from "../contracts/interfaces/IPolicyHook.sol";
import {ERC7562, ERC7562Checker, ERC7562Frame, ERC7562Scope, ERC7562Trace, ERC7562Violation} from "./utils/ERC7562.sol";
import {
    ERC7562ProbeAccount,
    ERC7562ProbeHook,
    ERC7562ProbePaymaster,
    ERC7562Store,
    ERC7562TraceLib,
    ERC7562TraceProbe
} from "./utils/ERC7562Fixtures.sol";
import {KeywardTestBase, TestKey} from "./utils/KeywardTestBase.sol";
import {MockERC20} from "./utils/MockERC20.sol";
import {MockHook} from "./utils/MockHook.sol";
import {SponsorPaymaster} from "./utils/SponsorPaymaster.sol";
import {Vm} from "forge-std/Vm.sol";

/// @notice Proves, opcode by opcode, that every ERC-4337 validation path of Keyward (and of a key's hooks) keeps
/// the ERC-7562 rules for an unstaked account, and that the checker catches each kind of breach.
/// @dev Needs forge's tracer: `forge test --match-path test/ERC7562.t.sol -vvv`. Without it every test is skipped
/// with that hint; set ERC7562_REQUIRE_TRACER=true to make a missing tracer fail instead.
contract ERC7562Test is KeywardTestBase, ERC7562Checker {
    // ERC7562ProbeHook modes (the hook's hookData is abi.encode(mode, target, arg)).
    uint8 internal constant H_TIMESTAMP = 1;
    uint8 internal constant H_NUMBER = 2;
    uint8 internal constant H_READ_GLOBAL = 3;
    uint8 internal constant H_BALANCE = 4;
    uint8 internal constant H_CREATE = 5;
    uint8 internal constant H_READ_BUCKET = 6;
    uint8 internal constant H_READ_KEY_THEN_ACCOUNT = 7;
    uint8 internal constant H_READ_ACCOUNT_THEN_KEY = 8;
    uint8 internal constant H_GASLEFT = 9;
    uint8 internal constant H_OUT_OF_GAS = 10;
    uint8 internal constant H_CALL_NO_CODE = 11;
    uint8 internal constant H_ENTRY_POINT_VIEW = 12;
    uint8 internal constant H_OWN_TRANSIENT = 13;
    uint8 internal constant H_ACCOUNT_VIEW = 14;

    // ERC7562ProbeAccount modes (its signature is abi.encode(mode, target, arg)).
    uint8 internal constant A_CLEAN = 0;
    uint8 internal constant A_WRITE_GLOBAL = 1;
    uint8 internal constant A_WRITE_BUCKET = 2;
    uint8 internal constant A_SEND_VALUE = 3;
    uint8 internal constant A_DEPOSIT_SELF = 4;
    uint8 internal constant A_DEPOSIT_OTHER = 5;
    uint8 internal constant A_WRITE_OWN = 6;
    uint8 internal constant A_SELFBALANCE = 7;

    uint8 internal constant OP_BALANCE = 0x31;
    uint8 internal constant OP_TIMESTAMP = 0x42;
    uint8 internal constant OP_NUMBER = 0x43;
    uint8 internal constant OP_SELFBALANCE = 0x47;
    uint8 internal constant OP_SLOAD = 0x54;
    uint8 internal constant OP_SSTORE = 0x55;
    uint8 internal constant OP_GAS = 0x5a;
    uint8 internal constant OP_TLOAD = 0x5c;
    uint8 internal constant OP_CREATE = 0xf0;
    uint8 internal constant OP_CALL = 0xf1;
    uint8 internal constant OP_STATICCALL = 0xfa;

    uint256 internal constant SIG_FAILED = 1;

    ERC7562Store internal store;
    address internal target;

    modifier traced() {
        if (!erc7562TracerAvailable()) {
            if (vm.envOr("ERC7562_REQUIRE_TRACER", false)) revert(ERC7562_NO_TRACER);
            vm.skip(true, ERC7562_NO_TRACER);
            return;
        }
        _;
    }

    function setUp() public override {
        super.setUp();
        store = new ERC7562Store();
        target = address(store);
    }

    // ------------------------------------------------------------------------------------------------------------
    // Helpers
    // ------------------------------------------------------------------------------------------------------------

    function _op() internal view returns (PackedUserOperation memory) {
        return userOp(one(target, 0, ""));
    }

    /// @dev A user operation signed by `k` (valid) or over another digest (invalid), with `hookData`.
    function _signed(TestKey memory k, bool valid, bytes memory hookData)
        internal
        view
        returns (PackedUserOperation memory op)
    {
        op = _op();
        bytes32 digest = valid ? entryPoint.getUserOpHash(op) : keccak256("some other digest");
        op.signature = abi.encode(k.keyHash, sign(k, digest), hookData);
    }

    function _validationData(ERC7562Trace memory t) internal pure returns (uint256) {
        assertTrue(t.success, "validateUserOp reverted");
        return abi.decode(t.returnData, (uint256));
    }

    /// @dev Traces `op` (missingAccountFunds 0), asserts it validates to `expected` and is clean.
    function _assertCleanPath(PackedUserOperation memory op, uint256 expected, string memory label) internal {
        ERC7562Trace memory t = traceValidateUserOp(op, ENTRY_POINT, 0);
        assertClean(t, label);
        assertEq(_validationData(t), expected, label);
    }

    /// @dev Deploys the probe hook at an address whose low 5 bits are `flags`.
    function _probeHook(string memory salt, uint160 flags) internal returns (address where) {
        where = address((uint160(uint256(keccak256(bytes(salt)))) & ~uint160(0xffff)) | flags);
        deployCodeTo("ERC7562Fixtures.sol:ERC7562ProbeHook", where);
    }

    /// @dev A session key under the probe hook (AFTER_VALIDATE_USER_OP) and the trace of a valid operation with `mode`.
    function _traceHook(uint8 mode, address hookTarget, uint256 arg) internal returns (ERC7562Trace memory) {
        address hook = _probeHook("probe", 0x02);
        TestKey memory k = secp256k1Key("hooked");
        if (!acct.isRegistered(k.keyHash)) grant(k, settingsOf(hook, 0, false, 0));
        return traceValidateUserOp(_signed(k, true, abi.encode(mode, hookTarget, arg)), ENTRY_POINT, 0);
    }

    function _probeAccount() internal returns (ERC7562ProbeAccount a) {
        a = new ERC7562ProbeAccount(ENTRY_POINT);
        vm.deal(address(a), 10 ether);
    }

    function _traceAccount(ERC7562ProbeAccount a, uint8 mode, address to, uint256 arg, uint256 missing)
        internal
        returns (ERC7562Trace memory)
    {
        PackedUserOperation memory op = _op();
        op.sender = address(a);
        op.nonce = 0;
        op.signature = abi.encode(mode, to, arg);
        return traceValidateUserOp(op, ENTRY_POINT, missing);
    }

    /// @dev Asserts `vs` is exactly one violation of `rule` by `opcode`.
    function _assertOnly(ERC7562Violation[] memory vs, string memory rule, uint8 opcode) internal pure {
        assertEq(vs.length, 1, string.concat("expected exactly one violation, got:\n", ERC7562.format(vs)));
        assertEq(vs[0].rule, rule, ERC7562.format(vs));
        assertEq(vs[0].opcode, opcode, ERC7562.format(vs));
    }

    // ------------------------------------------------------------------------------------------------------------
    // What the trace holds (the checker's assumptions, verified)
    // ------------------------------------------------------------------------------------------------------------

    function test_debugStep_semantics() public traced {
        ERC7562TraceLib lib = new ERC7562TraceLib();
        ERC7562TraceProbe probe = new ERC7562TraceProbe();
        address who = address(0xbeef);
        vm.startDebugTraceRecording();
        probe.run(who, lib);
        Vm.DebugStep[] memory steps = vm.stopAndReturnDebugTraceRecording();
        ERC7562Frame memory f = ERC7562.findFrame(steps, 0, address(this), address(probe), probe.run.selector);
        assertTrue(f.found);
        // The test contract's frame is depth 1; the probe runs at 2, what it calls at 3.
        assertEq(steps[f.callIndex].depth, 1);
        assertEq(steps[f.start].depth, 2);
        // CALL: stack = [gas, to, value, inOffset, inSize, outOffset, outSize] (top first); memoryInput = calldata.
        assertEq(steps[f.callIndex].stack.length, 7);
        assertEq(address(uint160(steps[f.callIndex].stack[1])), address(probe));
        assertEq(steps[f.callIndex].memoryInput, abi.encodeCall(probe.run, (who, lib)));
        bool sawSload;
        bool sawKeccak;
        bool sawSstore;
        bool sawDelegate;
        bool sawLibWrite;
        bool sawCall;
        bytes32 mapSlot = keccak256(abi.encode(who, uint256(1)));
        for (uint256 i = f.start; i < f.end; ++i) {
            Vm.DebugStep memory s = steps[i];
            if (s.opcode == OP_SLOAD && s.depth == 2 && !sawSload) {
                // SLOAD: stack = [slot]
                assertEq(s.stack.length, 1);
                assertEq(s.stack[0], 0);
                assertEq(s.contractAddr, address(probe));
                sawSload = true;
            } else if (s.opcode == 0x20 && s.depth == 2 && !sawKeccak) {
                // KECCAK256: stack = [offset, size]; memoryInput = the preimage (who || 1).
                assertEq(s.stack[1], 64);
                assertEq(s.memoryInput, abi.encode(who, uint256(1)));
                sawKeccak = true;
            } else if (s.opcode == OP_SSTORE && s.depth == 2) {
                // SSTORE: stack = [slot, value]
                assertEq(bytes32(s.stack[0]), mapSlot);
                assertEq(s.stack[1], 5);
                sawSstore = true;
            } else if (s.opcode == 0xf4 && s.depth == 2) {
                // DELEGATECALL: stack = [gas, to, inOffset, inSize, outOffset, outSize]
                assertEq(s.stack.length, 6);
                assertEq(address(uint160(s.stack[1])), address(lib));
                sawDelegate = true;
            } else if (s.opcode == OP_SSTORE && s.depth == 3) {
                // Inside the DELEGATECALL the context is the probe; inside the CALL it is the library.
                assertEq(s.contractAddr, sawCall ? address(lib) : address(probe));
                assertEq(s.stack[1], sawCall ? 9 : 7);
                sawLibWrite = true;
            } else if (s.opcode == OP_CALL && s.depth == 2) {
                assertEq(address(uint160(s.stack[1])), address(lib));
                assertEq(s.stack[2], 0);
                sawCall = true;
            }
        }
        assertTrue(sawSload && sawKeccak && sawSstore && sawDelegate && sawLibWrite && sawCall);
    }

    function test_debugStep_eip7702ContextIsTheEoa() public traced {
        // The delegated EOA runs Keyward's code with the EOA as context: its own storage reads show the EOA, in the
        // core (depth 2) and in the extension it runs by DELEGATECALL from its fallback (depth 3).
        TestKey memory k = secp256k1Key("context");
        grant(k, 0);
        vm.startDebugTraceRecording();
        acct.keyIdOf(k.keyHash); // core
        acct.keyCount(); // extension
        Vm.DebugStep[] memory steps = vm.stopAndReturnDebugTraceRecording();
        bool sawCoreSload;
        bool sawExtensionSload;
        for (uint256 i; i < steps.length; ++i) {
            if (steps[i].opcode != OP_SLOAD || steps[i].depth < 2) continue; // depth 1: this test contract
            assertEq(steps[i].contractAddr, account);
            if (steps[i].depth == 2) sawCoreSload = true;
            if (steps[i].depth == 3) sawExtensionSload = true;
        }
        assertTrue(sawCoreSload && sawExtensionSload);
    }

    // ------------------------------------------------------------------------------------------------------------
    // Keyward: every validation path is clean
    // ------------------------------------------------------------------------------------------------------------

    function test_keyward_root_clean() public traced {
        _assertCleanPath(_signed(rootTestKey(), true, ""), 0, "root, valid");
        _assertCleanPath(_signed(rootTestKey(), false, ""), SIG_FAILED, "root, invalid");
        assertClean(checkValidateUserOp(_signed(rootTestKey(), true, ""), ENTRY_POINT, 0), "root, violations only");
    }

    function test_keyward_secp256k1_clean() public traced {
        TestKey memory k = secp256k1Key("session");
        grant(k, 0);
        _assertCleanPath(_signed(k, true, ""), 0, "secp256k1, valid");
        _assertCleanPath(_signed(k, false, ""), SIG_FAILED, "secp256k1, invalid");
    }

    function test_keyward_p256_clean() public traced {
        TestKey memory k = p256Key("p256");
        grant(k, 0);
        _assertCleanPath(_signed(k, true, ""), 0, "p256, valid");
        _assertCleanPath(_signed(k, false, ""), SIG_FAILED, "p256, invalid");
    }

    function test_keyward_webAuthn_clean() public traced {
        TestKey memory k = webAuthnKey("webauthn");
        grant(k, 0);
        _assertCleanPath(_signed(k, true, ""), 0, "webauthn, valid");
        _assertCleanPath(_signed(k, false, ""), SIG_FAILED, "webauthn, invalid");
    }

    function test_keyward_windowedAdminKey_clean() public traced {
        // Expiration and validAfter go into validationData; the account never reads TIMESTAMP.
        TestKey memory k = secp256k1Key("windowed");
        uint40 start = uint40(block.timestamp + 5);
        uint40 end = uint40(block.timestamp + 50);
        grant(k, settingsOf(address(0), end, true, start));
        uint256 window = (uint256(end) << 160) | (uint256(start - 1) << 208);
        _assertCleanPath(_signed(k, true, ""), window, "windowed, valid");
        _assertCleanPath(_signed(k, false, ""), SIG_FAILED, "windowed, invalid");
    }

    /// @dev A PolicyHook key (0x1e: its afterValidateUserOp runs) of each type, sponsored (the PolicyHook's
    /// default needs a paymaster): clean for a valid and an invalid signature; the hook reads only the policy's
    /// header, a slot associated with the account.
    function test_keyward_policyHookKey_eachType_clean() public traced {
        IPolicyHook hook = deployPolicyHook();
        MockERC20 token = new MockERC20();
        TestKey[3] memory ks = [secp256k1Key("spender"), p256Key("spender p256"), webAuthnKey("spender webauthn")];
        for (uint256 i; i < ks.length; ++i) {
            rootExecute(tokenSpendingKey(hook, ks[i], address(token), Limits(100 ether, 0, 1 days), 10));
            assertEq(acct.getKeySettings(ks[i].keyHash), policySettings(hook, 0));
            string memory label = string.concat("policy hook key #", vm.toString(i));
            _assertCleanPath(_sponsoredSigned(ks[i], true, ""), 0, string.concat(label, ", valid"));
            _assertCleanPath(_sponsoredSigned(ks[i], false, ""), SIG_FAILED, string.concat(label, ", invalid"));
        }
    }

    /// @dev The PolicyHook refuses an operation the account would pay for (no paymaster, no GAS_BUDGET): the
    /// validation reverts PaymasterRequired, and what ran before the revert is clean too.
    function test_keyward_policyHookKey_unsponsored_refusedClean() public traced {
        IPolicyHook hook = deployPolicyHook();
        TestKey memory k = secp256k1Key("spender");
        grant(k, policySettings(hook, 0));
        _assertCleanRevert(_signed(k, true, ""), abi.encodeWithSignature("PaymasterRequired()"), "unsponsored");
        _assertCleanRevert(_signed(k, false, ""), abi.encodeWithSignature("PaymasterRequired()"), "invalid");
    }

    /// @dev A paymaster allowlist: the hook reads the listed paymasters (slots right after the header, still
    /// associated with the account); a listed one is clean, an unlisted one is refused, cleanly.
    function test_keyward_policyHookKey_paymasterList_clean() public traced {
        IPolicyHook hook = deployPolicyHook();
        TestKey memory k = secp256k1Key("spender");
        address[] memory pms = new address[](2);
        pms[0] = address(0x1111);
        pms[1] = address(sponsor);
        Call[] memory calls = new Call[](2);
        calls[0] = Call(address(0), 0, abi.encodeCall(IKeyward.grant, (k.key, policySettings(hook, 0))));
        calls[1] = Call(address(hook), 0, abi.encodeCall(IPolicyHook.setPaymasters, (k.keyHash, pms)));
        rootExecute(calls);
        _assertCleanPath(_sponsoredSigned(k, true, ""), 0, "listed paymaster");
        PackedUserOperation memory op = _op();
        op.paymasterAndData = abi.encodePacked(address(0x2222), uint128(100_000), uint128(0));
        op.signature = abi.encode(k.keyHash, sign(k, entryPoint.getUserOpHash(op)), bytes(""));
        _assertCleanRevert(
            op, abi.encodeWithSignature("PaymasterNotAllowed(address)", address(0x2222)), "unlisted paymaster"
        );
    }

    /// @dev SPONSORED_ONLY, checked by the account itself: a sponsored operation reads nothing for it (clean); an
    /// unsponsored one reverts PaymasterRequired before any storage write (clean).
    function test_keyward_sponsoredOnly_clean() public traced {
        TestKey memory k = secp256k1Key("sponsored only");
        grant(k, FLAG_SPONSORED_ONLY);
        _assertCleanPath(_sponsoredSigned(k, true, ""), 0, "sponsored, valid");
        _assertCleanPath(_sponsoredSigned(k, false, ""), SIG_FAILED, "sponsored, invalid");
        _assertCleanRevert(_signed(k, true, ""), abi.encodeWithSelector(IKeyward.PaymasterRequired.selector), "self");
    }

    /// @dev GAS_BUDGET: the account charges the key's budget in validation, writing its own storage (STO-010),
    /// without TIMESTAMP (the window is named by the operation and bounded through validationData); with and without
    /// the PolicyHook, with and without the window word, and refused when over the budget.
    function test_keyward_gasBudget_clean() public traced {
        IPolicyHook hook = deployPolicyHook();
        TestKey memory plain = secp256k1Key("budget");
        TestKey memory hooked = p256Key("budget under policy");
        grant(plain, FLAG_GAS_BUDGET);
        grant(hooked, policySettings(hook, 0) | FLAG_GAS_BUDGET);
        uint40 period = 1 days;
        uint256 window = block.timestamp / period;
        uint256 windowVd = ((window + 1) * period - 1) << 160 | ((window * period - 1) << 208);
        TestKey[2] memory ks = [plain, hooked];
        for (uint256 i; i < 2; ++i) {
            rootCall(abi.encodeCall(IKeyward.setGasBudget, (ks[i].keyHash, GasBudget(1 ether, period, 2 ether))));
            string memory label = string.concat("gas budget #", vm.toString(i));
            PackedUserOperation memory op = _paying(ks[i], true, window);
            _assertCleanPath(op, windowVd, string.concat(label, ", valid, window word"));
            op = _paying(ks[i], false, window);
            _assertCleanPath(op, SIG_FAILED, string.concat(label, ", invalid, window word"));
            // Without the window word: charged to the window last used (the same one here).
            op = _op();
            op.gasFees = bytes32((uint256(1 gwei) << 128) | 1 gwei);
            op.signature = abi.encode(ks[i].keyHash, sign(ks[i], entryPoint.getUserOpHash(op)), bytes(""));
            _assertCleanPath(op, windowVd, string.concat(label, ", no window word"));
            // Over the per-period budget: refused, cleanly.
            op = _op();
            op.gasFees = bytes32((uint256(1 ether) << 128) | 1 ether);
            op.signature = abi.encode(ks[i].keyHash, sign(ks[i], entryPoint.getUserOpHash(op)), bytes(""), window);
            ERC7562Trace memory t = traceValidateUserOp(op, ENTRY_POINT, 0);
            assertFalse(t.success, label);
            assertEq(bytes4(t.returnData), IKeyward.GasBudgetExceeded.selector, label);
            assertClean(t, string.concat(label, ", over budget"));
        }
    }

    /// @dev A user operation the account pays for (1 gwei), signed by `k` (or over another digest), with the gas
    /// window head word.
    function _paying(TestKey memory k, bool valid, uint256 window)
        internal
        view
        returns (PackedUserOperation memory op)
    {
        op = _op();
        op.gasFees = bytes32((uint256(1 gwei) << 128) | 1 gwei);
        bytes32 digest = valid ? entryPoint.getUserOpHash(op) : keccak256("some other digest");
        op.signature = abi.encode(k.keyHash, sign(k, digest), bytes(""), window);
    }

    /// @dev A sponsored user operation signed by `k` (or over another digest).
    function _sponsoredSigned(TestKey memory k, bool valid, bytes memory hookData)
        internal
        view
        returns (PackedUserOperation memory op)
    {
        op = sponsored(_op());
        bytes32 digest = valid ? entryPoint.getUserOpHash(op) : keccak256("some other digest");
        op.signature = abi.encode(k.keyHash, sign(k, digest), hookData);
    }

    /// @dev Traces `op`, asserts validateUserOp reverted with `revertData` and the trace up to the revert is clean.
    function _assertCleanRevert(PackedUserOperation memory op, bytes memory revertData, string memory label) internal {
        ERC7562Trace memory t = traceValidateUserOp(op, ENTRY_POINT, 0);
        assertFalse(t.success, label);
        assertEq(t.returnData, revertData, label);
        assertClean(t, label);
    }

    /// @dev Through the EntryPoint with the fixture's paymaster: a PolicyHook key's whole validation phase (the
    /// account's and the paymaster's frames) is clean.
    function test_keyward_policyHookKey_throughEntryPoint_withPaymaster_clean() public traced {
        IPolicyHook hook = deployPolicyHook();
        TestKey memory k = secp256k1Key("spender");
        grant(k, policySettings(hook, 0));
        Call[] memory list = new Call[](1);
        list[0] = allowSponsorCall(hook, k);
        rootExecute(list);
        PackedUserOperation memory op = _sponsoredSigned(k, true, "");
        (ERC7562Trace memory a, ERC7562Trace memory p) = traceHandleOps(op, ENTRY_POINT, payable(address(0xbeef)));
        assertTrue(a.success, "handleOps");
        assertClean(a, "handleOps, policy hook key, account");
        assertClean(p, "handleOps, policy hook key, paymaster");
    }

    function test_keyward_cleanHook_clean() public traced {
        // A validating hook that reads the account through its views (STO-010 wherever the reading code runs).
        ERC7562Trace memory t = _traceHook(H_ACCOUNT_VIEW, address(0), 0);
        assertClean(t, "hook reading the account");
        assertEq(_validationData(t), 0);
    }

    function test_keyward_missingAccountFunds_clean() public traced {
        // The account pays the EntryPoint: a CALL with value to the EntryPoint's fallback (OP-053) is allowed.
        TestKey memory k = secp256k1Key("payer");
        grant(k, 0);
        uint256 before = entryPoint.balanceOf(account);
        ERC7562Trace memory t = traceValidateUserOp(_signed(k, true, ""), ENTRY_POINT, 0.01 ether);
        assertClean(t, "session key pays prefund");
        assertEq(_validationData(t), 0);
        t = traceValidateUserOp(_signed(rootTestKey(), true, ""), ENTRY_POINT, 0.02 ether);
        assertClean(t, "root pays prefund");
        t = traceValidateUserOp(_signed(k, false, ""), ENTRY_POINT, 0.03 ether);
        assertClean(t, "invalid signature still pays prefund");
        assertEq(entryPoint.balanceOf(account), before + 0.06 ether);
    }

    function test_keyward_unknownKeyHash_clean() public traced {
        TestKey memory k = secp256k1Key("never granted");
        _assertCleanPath(_signed(k, true, ""), SIG_FAILED, "unknown key");
        TestKey memory p = p256Key("never granted p256");
        _assertCleanPath(_signed(p, true, ""), SIG_FAILED, "unknown p256 key");
    }

    function test_keyward_malformedSignatures_clean() public traced {
        TestKey memory k = secp256k1Key("session");
        TestKey memory p = p256Key("p256");
        TestKey memory w = webAuthnKey("webauthn");
        grant(k, 0);
        grant(p, 0);
        grant(w, 0);
        bytes[8] memory sigs = [
            bytes(""),
            bytes(hex"1234"),
            abi.encode(k.keyHash),
            abi.encode(k.keyHash, uint256(0x40), uint256(1) << 200),
            abi.encode(k.keyHash, hex"00", bytes("")),
            abi.encode(p.keyHash, new bytes(63), bytes("")),
            abi.encode(w.keyHash, hex"deadbeef", bytes("")),
            abi.encode(bytes32(0), new bytes(66), bytes(""))
        ];
        for (uint256 i; i < sigs.length; ++i) {
            PackedUserOperation memory op = _op();
            op.signature = sigs[i];
            _assertCleanPath(op, SIG_FAILED, string.concat("malformed #", vm.toString(i)));
        }
    }

    function test_keyward_throughEntryPoint_clean() public traced {
        // The whole handleOps, checking only the account's validation frame (the execution phase may do anything).
        // The executed call writes an unassociated slot: allowed in execution, and outside the checked frame.
        TestKey memory k = secp256k1Key("session");
        grant(k, 0);
        PackedUserOperation memory op = userOp(one(target, 0, abi.encodeCall(ERC7562Store.writeGlobal, (5))));
        signUserOp(k, op);
        (ERC7562Trace memory a,) = traceHandleOps(op, ENTRY_POINT, payable(address(0xbeef)));
        assertTrue(a.success, "handleOps");
        assertClean(a, "handleOps, session key");
        assertEq(store.global(), 5, "executed");
    }

    function test_catches_throughEntryPoint_timestampInHook() public traced {
        address hook = _probeHook("probe", 0x02);
        TestKey memory k = secp256k1Key("hooked");
        grant(k, settingsOf(hook, 0, false, 0));
        PackedUserOperation memory op = _op();
        op.signature = abi.encode(
            k.keyHash, sign(k, entryPoint.getUserOpHash(op)), abi.encode(H_TIMESTAMP, address(0), uint256(0))
        );
        (ERC7562Trace memory a, ERC7562Trace memory p) = traceHandleOps(op, ENTRY_POINT, payable(address(0xbeef)));
        assertTrue(a.success, "handleOps");
        assertTrue(a.found && !p.found);
        _assertOnly(a.violations, "OP-011", OP_TIMESTAMP);
    }

    function _probePaymasterOp(ERC7562ProbePaymaster pm, uint8 mode)
        internal
        view
        returns (PackedUserOperation memory op)
    {
        op = _op();
        op.paymasterAndData = abi.encodePacked(address(pm), uint128(100_000), uint128(50_000), mode);
        signUserOp(rootTestKey(), op);
    }

    function test_catches_paymasterBreaches() public traced {
        ERC7562ProbePaymaster pm = new ERC7562ProbePaymaster(ENTRY_POINT);
        vm.deal(address(this), 10 ether);
        pm.deposit{value: 1 ether}();
        assertClean(traceValidatePaymasterUserOp(_probePaymasterOp(pm, 0), ENTRY_POINT, 1e15), "clean paymaster");
        // TIMESTAMP, through the EntryPoint: the paymaster's frame is found and checked on its own.
        (ERC7562Trace memory a, ERC7562Trace memory p) =
            traceHandleOps(_probePaymasterOp(pm, 1), ENTRY_POINT, payable(address(0xbeef)));
        assertTrue(a.success, "handleOps");
        assertClean(a, "account under a bad paymaster");
        _assertOnly(p.violations, "OP-011", OP_TIMESTAMP);
        // A context from an unstaked paymaster.
        ERC7562Violation[] memory vs =
        traceValidatePaymasterUserOp(_probePaymasterOp(pm, 2), ENTRY_POINT, 1e15).violations;
        _assertOnly(vs, "EREP-050", 0);
        // Its own storage: read and write, both STO-031 (staked paymasters only).
        vs = traceValidatePaymasterUserOp(_probePaymasterOp(pm, 3), ENTRY_POINT, 1e15).violations;
        assertEq(vs.length, 2, ERC7562.format(vs));
        assertEq(ERC7562.count(vs, "STO-031"), 2, ERC7562.format(vs));
    }

    function test_keyward_throughEntryPoint_withPaymaster_clean() public traced {
        SponsorPaymaster pm = new SponsorPaymaster();
        vm.deal(address(this), 10 ether);
        pm.deposit{value: 1 ether}();
        PackedUserOperation memory op = _op();
        op.paymasterAndData = abi.encodePacked(address(pm), uint128(100_000), uint128(0));
        signUserOp(rootTestKey(), op);
        (ERC7562Trace memory a, ERC7562Trace memory p) = traceHandleOps(op, ENTRY_POINT, payable(address(0xbeef)));
        assertTrue(a.success, "handleOps");
        assertClean(a, "handleOps, account with paymaster");
        assertClean(p, "handleOps, paymaster");
        p = traceValidatePaymasterUserOp(op, ENTRY_POINT, 1e15);
        assertClean(p, "paymaster, direct");
    }

    // ------------------------------------------------------------------------------------------------------------
    // Non-vacuity: each breach is caught, and only it
    // ------------------------------------------------------------------------------------------------------------

    function test_catches_timestampInHook() public traced {
        _assertOnly(_traceHook(H_TIMESTAMP, address(0), 0).violations, "OP-011", OP_TIMESTAMP);
    }

    function test_catches_numberInHook() public traced {
        _assertOnly(_traceHook(H_NUMBER, address(0), 0).violations, "OP-011", OP_NUMBER);
    }

    function test_catches_unassociatedSlotRead() public traced {
        ERC7562Violation[] memory vs = _traceHook(H_READ_GLOBAL, target, 0).violations;
        _assertOnly(vs, "STO-021", OP_SLOAD);
        assertEq(vs[0].contractAddr, target);
        assertEq(vs[0].depth, 3); // account (1) -> hook (2) -> store (3)
    }

    function test_catches_unassociatedSlotWrite() public traced {
        ERC7562Violation[] memory vs = _traceAccount(_probeAccount(), A_WRITE_GLOBAL, target, 7, 0).violations;
        _assertOnly(vs, "STO-021", OP_SSTORE);
        assertEq(vs[0].contractAddr, target);
        assertEq(store.global(), 7);
    }

    function test_catches_balanceOfAnotherAddress() public traced {
        _assertOnly(_traceHook(H_BALANCE, address(0xb0b), 0).violations, "OP-011", OP_BALANCE);
    }

    function test_catches_selfBalance() public traced {
        _assertOnly(
            _traceAccount(_probeAccount(), A_SELFBALANCE, address(0), 0, 0).violations, "OP-011", OP_SELFBALANCE
        );
    }

    function test_catches_createInHook() public traced {
        ERC7562Trace memory t = _traceHook(H_CREATE, address(0), 0);
        _assertOnly(t.violations, "OP-011", OP_CREATE);
        // Under Keyward's STATICCALL the CREATE also fails, so the whole validation reverts.
        assertFalse(t.success);
    }

    function test_catches_valueCallToNonEntryPoint() public traced {
        ERC7562Violation[] memory vs = _traceAccount(_probeAccount(), A_SEND_VALUE, target, 1 wei, 0).violations;
        _assertOnly(vs, "OP-061", OP_CALL);
    }

    /// @dev Traces a validation of an account whose whole code is `code` (it ignores its calldata).
    function _traceRawAccount(bytes memory code) internal returns (ERC7562Violation[] memory) {
        address raw = address(uint160(uint256(keccak256(code))));
        vm.etch(raw, code);
        PackedUserOperation memory op = _op();
        op.sender = raw;
        return traceValidateUserOp(op, ENTRY_POINT, bytes32(0), 0).violations;
    }

    function test_catches_everyBlockedOpcode() public traced {
        // Each opcode alone, after PUSH0s for its inputs, then STOP.
        uint8[17] memory ops =
            [0x31, 0x32, 0x3a, 0x40, 0x41, 0x42, 0x43, 0x44, 0x45, 0x47, 0x48, 0x49, 0x4a, 0xf0, 0xfe, 0xff, 0x5a];
        uint8[17] memory inputs = [1, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 1, 0, 3, 0, 1, 0];
        for (uint256 i; i < ops.length; ++i) {
            bytes memory code;
            for (uint256 j; j < inputs[i]; ++j) {
                code = abi.encodePacked(code, hex"5f");
            }
            code = abi.encodePacked(code, ops[i], hex"00");
            _assertOnly(_traceRawAccount(code), ops[i] == OP_GAS ? "OP-012" : "OP-011", ops[i]);
        }
        // CREATE2 (OP-031) and an unassigned opcode (OP-013).
        _assertOnly(_traceRawAccount(hex"5f5f5f5ff500"), "OP-031", 0xf5);
        _assertOnly(_traceRawAccount(hex"0c00"), "OP-013", 0x0c);
        // GAS right before a CALL is the allowed pattern (OP-012): a call to the identity precompile.
        assertEq(_traceRawAccount(hex"5f5f5f5f5f60045af100").length, 0);
    }

    function test_catches_gasNotBeforeCall() public traced {
        _assertOnly(_traceHook(H_GASLEFT, address(0), 0).violations, "OP-012", OP_GAS);
    }

    function test_catches_outOfGas() public traced {
        ERC7562Violation[] memory vs = _traceHook(H_OUT_OF_GAS, address(0), 0).violations;
        assertEq(vs.length, 1, ERC7562.format(vs));
        assertEq(vs[0].rule, "OP-020");
        assertEq(vs[0].depth, 3);
    }

    function test_catches_callToAddressWithoutCode() public traced {
        _assertOnly(_traceHook(H_CALL_NO_CODE, address(0xdead), 0).violations, "OP-041", OP_STATICCALL);
    }

    function test_catches_entryPointView() public traced {
        _assertOnly(_traceHook(H_ENTRY_POINT_VIEW, ENTRY_POINT, 0).violations, "OP-054", OP_STATICCALL);
    }

    function test_catches_ownTransientStorageOfHook() public traced {
        ERC7562Violation[] memory vs = _traceHook(H_OWN_TRANSIENT, address(0), 0).violations;
        _assertOnly(vs, "STO-021", OP_TLOAD);
    }

    function test_catches_depositForAnotherAccount() public traced {
        ERC7562Violation[] memory vs =
        _traceAccount(_probeAccount(), A_DEPOSIT_OTHER, address(0xb0b), 1 wei, 0).violations;
        _assertOnly(vs, "OP-054", OP_CALL);
    }

    function test_catches_mockHookReadsItsOwnStorage() public traced {
        // The test suite's MockHook answers from a storage word of its own (its scripted answer): fine for a mock,
        // not ERC-7562-clean.
        MockHook hook = deployHook(0x02);
        TestKey memory k = secp256k1Key("mocked");
        grant(k, settingsOf(address(hook), 0, false, 0));
        ERC7562Violation[] memory vs = traceValidateUserOp(_signed(k, true, ""), ENTRY_POINT, 0).violations;
        _assertOnly(vs, "STO-021", OP_SLOAD);
        assertEq(vs[0].contractAddr, address(hook));
    }

    function test_allows_ownStorageDepositAndPrefund() public traced {
        ERC7562ProbeAccount a = _probeAccount();
        assertClean(_traceAccount(a, A_CLEAN, address(0), 0, 0), "clean probe account");
        assertClean(_traceAccount(a, A_WRITE_OWN, address(0), 3, 0), "own storage write (STO-010)");
        assertClean(_traceAccount(a, A_DEPOSIT_SELF, address(0), 1 wei, 0), "depositTo(sender) (OP-052)");
        assertClean(_traceAccount(a, A_CLEAN, address(0), 0, 1 wei), "prefund to the fallback (OP-053)");
    }

    // ------------------------------------------------------------------------------------------------------------
    // Associated storage: keccak256(sender || x) + n
    // ------------------------------------------------------------------------------------------------------------

    function test_associated_offsetUpTo128Accepted_129Rejected() public traced {
        assertClean(_traceHook(H_READ_BUCKET, target, 0), "n = 0");
        assertClean(_traceHook(H_READ_BUCKET, target, 128), "n = 128");
        ERC7562Violation[] memory vs = _traceHook(H_READ_BUCKET, target, 129).violations;
        _assertOnly(vs, "STO-021", OP_SLOAD);
        // Writing works the same way (a stand-alone account: Keyward hooks are called with STATICCALL).
        ERC7562ProbeAccount a = _probeAccount();
        assertClean(_traceAccount(a, A_WRITE_BUCKET, target, 128, 0), "write n = 128");
        _assertOnly(_traceAccount(a, A_WRITE_BUCKET, target, 129, 0).violations, "STO-021", OP_SSTORE);
    }

    function test_associated_bundlerCompatibleBound() public traced {
        // The eth-infinitism bundler accepts n < 128 only: with maxAssociatedOffset = 127, n = 128 is reported.
        address hook = _probeHook("probe", 0x02);
        TestKey memory k = secp256k1Key("hooked");
        grant(k, settingsOf(hook, 0, false, 0));
        PackedUserOperation memory op = _signed(k, true, abi.encode(H_READ_BUCKET, target, uint256(128)));
        bytes memory data = abi.encodeCall(IKeyward.validateUserOp, (op, entryPoint.getUserOpHash(op), uint256(0)));
        vm.startDebugTraceRecording();
        vm.prank(ENTRY_POINT);
        (bool ok,) = account.call(data);
        Vm.DebugStep[] memory steps = vm.stopAndReturnDebugTraceRecording();
        assertTrue(ok);
        ERC7562Frame memory f = ERC7562.findFrame(steps, 0, address(this), account, IKeyward.validateUserOp.selector);
        ERC7562Scope memory scope = ERC7562.accountScope(account, ENTRY_POINT);
        assertEq(ERC7562.check(steps, f, scope).length, 0);
        scope.maxAssociatedOffset = 127;
        _assertOnly(ERC7562.check(steps, f, scope), "STO-021", OP_SLOAD);
    }

    function test_associated_nestedMappingLayout() public traced {
        // m[key][account] hashes the account first (associated); m[account][key] hashes the key last (not).
        assertClean(_traceHook(H_READ_KEY_THEN_ACCOUNT, target, 7), "m[key][account]");
        _assertOnly(_traceHook(H_READ_ACCOUNT_THEN_KEY, target, 7).violations, "STO-021", OP_SLOAD);
    }

    // ------------------------------------------------------------------------------------------------------------
    // Reporting
    // ------------------------------------------------------------------------------------------------------------

    function test_assertClean_listsTheViolations() public traced {
        ERC7562Trace memory t = _traceHook(H_TIMESTAMP, address(0), 0);
        string memory line = ERC7562.format(t.violations[0]);
        assertEq(
            line,
            string.concat(
                "[OP-011] TIMESTAMP is a blocked opcode in validation (context ",
                vm.toString(_probeHookAddress()),
                ", depth 2)"
            )
        );
        vm.expectRevert(bytes(string.concat("hook: 1 ERC-7562 violation(s)\n", line)));
        this.assertCleanExternal(t);
    }

    function assertCleanExternal(ERC7562Trace memory t) external pure {
        assertClean(t, "hook");
    }

    function _probeHookAddress() internal pure returns (address) {
        return address((uint160(uint256(keccak256(bytes("probe")))) & ~uint160(0xffff)) | 0x02);
    }
}
