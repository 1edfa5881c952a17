// SPDX-License-Identifier: MIT
pragma solidity ^0.8.30;

import {
    IExecutionHook,
    IHook,
    IValidationHook,
    PackedUserOperation as HookUserOp
} from "../contracts/interfaces/IHook.sol";
import {
    BatchedCall,
    Call,
    IKeyward,
    PackedUserOperation,
    SignedBatchedCall
} from "../contracts/interfaces/IKeyward.sol";
import {KeywardTestBase, TestKey} from "./utils/KeywardTestBase.sol";
import {MockHook, Target} from "./utils/MockHook.sol";

/// @notice Approves a view callback only when it sees exactly the arguments and Keyward trailer it was told to
/// expect (anything else answers a wrong selector, which every path treats as a refusal). Lets a test prove what
/// a STATICCALL saw, on the paths whose refusals do not bubble (ERC-1271) as on the others.
contract ExpectHook {
    bytes32 public keyHash;
    bytes32 public digest;
    bytes32 public hookDataHash;
    bytes32 public keyId;
    uint256 public settings;
    uint256 public extra;
    bytes32 public userOpHash;
    uint256 public validationData;

    function expect(
        bytes32 keyHash_,
        bytes32 digest_,
        bytes memory hookData_,
        bytes32 keyId_,
        uint256 settings_,
        uint256 extra_
    ) external {
        (keyHash, digest, hookDataHash, keyId, settings, extra) =
        (keyHash_, digest_, keccak256(hookData_), keyId_, settings_, extra_);
    }

    function expectUserOp(PackedUserOperation memory op, uint256 validationData_) external {
        userOpHash = keccak256(abi.encode(op));
        validationData = validationData_;
    }

    function _trailerOk() private view returns (bool) {
        bytes32 id;
        uint256 s;
        uint256 x;
        assembly {
            id := calldataload(sub(calldatasize(), 0x60))
            s := calldataload(sub(calldatasize(), 0x40))
            x := calldataload(sub(calldatasize(), 0x20))
        }
        return id == keyId && s == settings && x == extra;
    }

    function _args(bytes32 kh, bytes32 d, bytes calldata hd) private view returns (bool) {
        return kh == keyHash && d == digest && keccak256(hd) == hookDataHash && _trailerOk();
    }

    function afterVerifySignature(bytes32 kh, bytes32 d, bytes calldata hd) external view returns (bytes4) {
        return _args(kh, d, hd) ? IValidationHook.afterVerifySignature.selector : bytes4(0);
    }

    function afterIsValidSignature(bytes32 kh, bytes32 d, bytes calldata hd) external view returns (bytes4) {
        return _args(kh, d, hd) ? IValidationHook.afterIsValidSignature.selector : bytes4(0);
    }

    function afterValidateUserOp(bytes32 kh, HookUserOp calldata op, bytes32 h, uint256 vd, bytes calldata hd)
        external
        view
        returns (bytes4)
    {
        bool ok = _args(kh, h, hd) && keccak256(abi.encode(op)) == userOpHash && vd == validationData;
        return ok ? IValidationHook.afterValidateUserOp.selector : bytes4(0);
    }
}

/// @notice Records Keyward's trailer (and the arguments) of every execution callback; approves everything.
contract TrailerRecorder is IHook {
    struct Seen {
        bool after_;
        bytes32 keyHash;
        bytes32 keyId;
        uint256 settings;
        uint256 extra;
        bytes32 operation;
        bytes context;
    }

    Seen[] internal seen;

    function count() external view returns (uint256) {
        return seen.length;
    }

    function seenAt(uint256 i) external view returns (Seen memory) {
        return seen[i];
    }

    function _record(bool after_, bytes32 keyHash, bytes memory context) private returns (uint256 extra) {
        bytes32 id;
        uint256 s;
        bytes32 op;
        assembly {
            id := calldataload(sub(calldatasize(), 0x80))
            s := calldataload(sub(calldatasize(), 0x60))
            extra := calldataload(sub(calldatasize(), 0x40))
            op := calldataload(sub(calldatasize(), 0x20))
        }
        seen.push(Seen(after_, keyHash, id, s, extra, op, context));
    }

    function afterVerifySignature(bytes32, bytes32, bytes calldata) external pure returns (bytes4) {
        return IValidationHook.afterVerifySignature.selector;
    }

    function afterValidateUserOp(bytes32, HookUserOp calldata, bytes32, uint256, bytes calldata)
        external
        pure
        returns (bytes4)
    {
        return IValidationHook.afterValidateUserOp.selector;
    }

    function afterIsValidSignature(bytes32, bytes32, bytes calldata) external pure returns (bytes4) {
        return IValidationHook.afterIsValidSignature.selector;
    }

    function beforeExecute(bytes32 keyHash, address, uint256, bytes calldata) external returns (bytes4, bytes memory) {
        uint256 extra = _record(false, keyHash, "");
        return (IExecutionHook.beforeExecute.selector, abi.encode(extra));
    }

    function afterExecute(bytes32 keyHash, bool, bytes calldata, bytes calldata context) external returns (bytes4) {
        _record(true, keyHash, context);
        return IExecutionHook.afterExecute.selector;
    }
}

/// @notice A hook written for Calibur, knowing nothing of Keyward's trailer: it blocks one target, requires the
/// relayer's hint on signed batches, and approves the rest. Plain Solidity ABI decoding, as Calibur's hooks do.
contract CaliburGuardHook is IHook {
    address public immutable BLOCKED;

    error Blocked(address to);
    error BadHint();

    constructor(address blocked) {
        BLOCKED = blocked;
    }

    function afterVerifySignature(bytes32, bytes32 digest, bytes calldata hookData) external pure returns (bytes4) {
        // Relayed batches (digest != 0) must carry the hint; the direct path has none.
        if (digest != 0 && keccak256(hookData) != keccak256("calibur hint")) revert BadHint();
        return IValidationHook.afterVerifySignature.selector;
    }

    function afterValidateUserOp(bytes32, HookUserOp calldata userOp, bytes32, uint256, bytes calldata hookData)
        external
        pure
        returns (bytes4)
    {
        if (keccak256(hookData) != keccak256("calibur hint") || userOp.callData.length == 0) revert BadHint();
        return IValidationHook.afterValidateUserOp.selector;
    }

    function afterIsValidSignature(bytes32, bytes32, bytes calldata hookData) external pure returns (bytes4) {
        if (keccak256(hookData) != keccak256("calibur hint")) revert BadHint();
        return IValidationHook.afterIsValidSignature.selector;
    }

    function beforeExecute(bytes32, address to, uint256, bytes calldata) external view returns (bytes4, bytes memory) {
        if (to == BLOCKED) revert Blocked(to);
        return (IExecutionHook.beforeExecute.selector, abi.encode(to));
    }

    function afterExecute(bytes32, bool, bytes calldata, bytes calldata context) external view returns (bytes4) {
        if (abi.decode(context, (address)) == BLOCKED) revert Blocked(BLOCKED);
        return IExecutionHook.afterExecute.selector;
    }
}

/// @notice Calibur's hook interface on every path (issue 12): every flag bit and every combination, refusals fail
/// closed, the trailer words, hooks without code, flagless hooks, Calibur hooks unchanged, AFTER_EXECUTE_ON_FAILURE.
contract HooksTest is KeywardTestBase {
    uint8 internal constant DIRECT = 0;
    uint8 internal constant RELAYED = 1;
    uint8 internal constant USER_OP = 2;
    uint8 internal constant SIGNATURE = 3;

    uint160 internal constant F_VERIFY = 0x01;
    uint160 internal constant F_VALIDATE = 0x02;
    uint160 internal constant F_1271 = 0x04;
    uint160 internal constant F_BEFORE = 0x08;
    uint160 internal constant F_AFTER = 0x10;

    bytes4 internal constant MAGIC = 0x1626ba7e;

    Target internal target;
    TestKey internal key;
    uint256 internal messages;

    function setUp() public override {
        super.setUp();
        target = new Target();
        key = secp256k1Key("hooked");
    }

    function _twoBumps() internal view returns (Call[] memory calls) {
        calls = new Call[](2);
        calls[0] = Call(address(target), 0, abi.encodeCall(Target.bump, ()));
        calls[1] = calls[0];
    }

    /// @dev Grants `key` (first time) or updates it to `settings`.
    function _setKey(uint256 settings) internal {
        if (acct.isRegistered(key.keyHash)) rootCall(abi.encodeCall(IKeyward.update, (key.keyHash, settings)));
        else grant(key, settings);
    }

    /// @dev Which callback flags a path makes (Calibur's, plus afterVerifySignature on Keyward's direct path).
    function _pathFlags(uint8 path) internal pure returns (uint160) {
        if (path == DIRECT || path == RELAYED) return F_VERIFY | F_BEFORE | F_AFTER;
        if (path == USER_OP) return F_VALIDATE | F_BEFORE | F_AFTER;
        return F_1271;
    }

    /// @dev Runs a two-call batch (or one ERC-1271 check) by `key` on `path`; whether it went through. A batch that
    /// went through made both calls.
    function _run(uint8 path) internal returns (bool ok) {
        TestKey memory k = key;
        uint256 before = target.counter();
        if (path == DIRECT) {
            vm.prank(k.signer);
            try acct.execute(MODE_REVERT, abi.encode(_twoBumps())) {
                ok = true;
            } catch {}
        } else if (path == RELAYED) {
            SignedBatchedCall memory b = signedBatch(_twoBumps(), k.keyHash, acct.getSeq(0));
            bytes memory sig = signBatch(k, b);
            try acct.execute(b, sig) {
                ok = true;
            } catch {}
        } else if (path == USER_OP) {
            PackedUserOperation memory op = sponsored(userOp(_twoBumps()));
            signUserOp(k, op);
            PackedUserOperation[] memory ops = new PackedUserOperation[](1);
            ops[0] = op;
            // A refusal in validation reverts handleOps; a refusal in execution is recorded and changes nothing.
            try entryPoint.handleOps(ops, payable(address(0xbeef))) {
                ok = target.counter() == before + 2;
            } catch {}
        } else {
            bytes32 h = keccak256(abi.encode("message", ++messages));
            return acct.isValidSignature(h, personalSign(k, h)) == MAGIC;
        }
        if (ok) assertEq(target.counter(), before + 2, "a batch that went through made both calls");
        else assertEq(target.counter(), before, "a refused batch made no call");
    }

    // ------------------------------------------------------------------------------------------------------------
    // Every flag combination on every path, with a scriptable hook
    // ------------------------------------------------------------------------------------------------------------

    /// @dev For one hook address (flags `f`) on one path: with every answer approving, the path goes through
    /// (ERC-1271 of a non-admin key only with the 0x04 flag) and exactly the enabled execution callbacks run, once
    /// per call; then each callback in turn refuses (a revert, then a wrong selector): the path fails exactly when
    /// that callback is enabled and made on the path.
    function checkMockCombination(MockHook hook, uint160 f, uint8 path) external {
        uint160 used = f & _pathFlags(path);
        bool baseline = path != SIGNATURE || f & F_1271 != 0;
        uint256 before3 = hook.callCount(3);
        uint256 before4 = hook.callCount(4);
        assertEq(_run(path), baseline, "all approving");
        if (path != SIGNATURE) {
            assertEq(hook.callCount(3) - before3, f & F_BEFORE != 0 ? 2 : 0, "beforeExecute once per call");
            assertEq(hook.callCount(4) - before4, f & F_AFTER != 0 ? 2 : 0, "afterExecute once per call");
        }
        for (uint256 c; c < 5; ++c) {
            for (uint256 kind = 1; kind <= 2; ++kind) {
                hook.setAnswer(c, MockHook.Answer(kind));
                bool enabled = used & uint160(1 << c) != 0;
                assertEq(
                    _run(path),
                    baseline && !enabled,
                    string.concat(
                        "flags ", vm.toString(f), ", callback ", vm.toString(c), ", refusal ", vm.toString(kind)
                    )
                );
                hook.setAnswer(c, MockHook.Answer.Approve);
            }
        }
    }

    function _matrix(uint8 path) internal {
        for (uint160 f = 1; f < 32; ++f) {
            MockHook hook = deployHook(f);
            _setKey(settingsOf(address(hook), 0, false, 0));
            this.checkMockCombination(hook, f, path);
        }
    }

    function test_hookMatrix_direct() public {
        _matrix(DIRECT);
    }

    function test_hookMatrix_relayed() public {
        _matrix(RELAYED);
    }

    function test_hookMatrix_userOp() public {
        _matrix(USER_OP);
    }

    function test_hookMatrix_erc1271() public {
        _matrix(SIGNATURE);
    }

    // ------------------------------------------------------------------------------------------------------------
    // Hooks without code, hooks without flags
    // ------------------------------------------------------------------------------------------------------------

    /// @dev An address without code answers nothing: every enabled callback it would get fails the path (an admin
    /// key, so that ERC-1271 goes through when not asked), for all 31 flag combinations.
    function checkCodelessCombination(uint160 f) external {
        for (uint8 path; path < 4; ++path) {
            bool asked = f & _pathFlags(path) != 0;
            assertEq(_run(path), !asked, string.concat("flags ", vm.toString(f), ", path ", vm.toString(path)));
        }
    }

    function test_hookWithoutCode_failsClosedForEveryFlag() public {
        for (uint160 f = 1; f < 32; ++f) {
            address hook = address(uint160(0xc0DE000000000000000000000000000000000000) | f);
            assertEq(hook.code.length, 0);
            _setKey(settingsOf(hook, 0, true, 0));
            this.checkCodelessCombination(f);
        }
    }

    function testFuzz_hookWithoutFlags_refusedAtGrantAndUpdate(address hook) public {
        TestKey memory k = secp256k1Key("fuzzed");
        bool flagless = hook != address(0) && uint160(hook) & 0x1f == 0;
        vm.prank(account);
        if (flagless) vm.expectRevert(abi.encodeWithSelector(IKeyward.HookWithoutCallbacks.selector, hook));
        acct.grant(k.key, settingsOf(hook, 0, false, 0));
        assertEq(acct.isRegistered(k.keyHash), !flagless);
        if (flagless) {
            grant(k, 0);
            vm.prank(account);
            vm.expectRevert(abi.encodeWithSelector(IKeyward.HookWithoutCallbacks.selector, hook));
            acct.update(k.keyHash, settingsOf(hook, 0, true, 0));
            assertEq(acct.getKeySettings(k.keyHash), 0);
        }
    }

    // ------------------------------------------------------------------------------------------------------------
    // The trailer words on every callback
    // ------------------------------------------------------------------------------------------------------------

    function _expectHook(uint160 flags) internal returns (ExpectHook hook) {
        address where = address((uint160(uint256(keccak256(abi.encode("expect", flags)))) & ~uint160(0xffff)) | flags);
        deployCodeTo("Hooks.t.sol:ExpectHook", where);
        hook = ExpectHook(where);
    }

    function test_trailer_afterVerifySignature_relayedAndDirect() public {
        ExpectHook hook = _expectHook(F_VERIFY);
        uint256 s = settingsOf(address(hook), 0, false, 0);
        grant(key, s);
        bytes32 keyId = acct.keyIdOf(key.keyHash);
        // Relayed: the batch digest and the relayer's hookData.
        SignedBatchedCall memory b = signedBatch(_twoBumps(), key.keyHash, 0);
        bytes32 digest = acct.hashSignedBatchedCall(b);
        bytes memory sig = abi.encode(sign(key, digest), bytes("hint"));
        hook.expect(key.keyHash, digest, "hint", keyId, s, 1); // a wrong extra: refused, so the check can fail
        vm.expectRevert(IKeyward.InvalidHookResponse.selector);
        acct.execute(b, sig);
        hook.expect(key.keyHash, digest, "hint", keyId, s, 0);
        acct.execute(b, sig);
        // Direct: digest 0, no hookData.
        hook.expect(key.keyHash, 0, "", keyId, s, 0);
        vm.prank(key.signer);
        acct.execute(MODE_REVERT, abi.encode(_twoBumps()));
        assertEq(target.counter(), 4);
    }

    function test_trailer_afterValidateUserOp_seesTheWholeOperation() public {
        ExpectHook hook = _expectHook(F_VALIDATE);
        uint40 end = uint40(block.timestamp + 1000);
        uint256 s = settingsOf(address(hook), end, false, 0);
        grant(key, s);
        PackedUserOperation memory op = sponsored(userOp(_twoBumps()));
        bytes32 h = entryPoint.getUserOpHash(op);
        op.signature = abi.encode(key.keyHash, sign(key, h), bytes("4337 hint"));
        hook.expect(key.keyHash, h, "4337 hint", acct.keyIdOf(key.keyHash), s, 0);
        hook.expectUserOp(op, uint256(end) << 160);
        vm.prank(ENTRY_POINT);
        assertEq(acct.validateUserOp(op, h, 0), uint256(end) << 160);
        handle(op);
        assertEq(target.counter(), 2);
        // Another settings word in the expectation: refused (the check can fail).
        hook.expect(key.keyHash, h, "4337 hint", acct.keyIdOf(key.keyHash), s | 1, 0);
        vm.prank(ENTRY_POINT);
        vm.expectRevert(IKeyward.InvalidHookResponse.selector);
        acct.validateUserOp(op, h, 0);
    }

    function test_trailer_afterIsValidSignature_extraIsTheAppDomain() public {
        ExpectHook hook = _expectHook(F_1271);
        uint256 s = settingsOf(address(hook), 0, false, 0);
        grant(key, s);
        bytes32 keyId = acct.keyIdOf(key.keyHash);
        // TypedDataSign: extra = the application's domain separator; digest = the hash the application asked about.
        bytes32 app = keccak256("app domain");
        (bytes32 th, bytes memory typed) = typedDataSign(key, app, keccak256("contents"), "Mail(address to)");
        hook.expect(key.keyHash, th, "", keyId, s, uint256(app));
        assertEq(acct.isValidSignature(th, typed), MAGIC);
        hook.expect(key.keyHash, th, "", keyId, s, 0);
        assertEq(acct.isValidSignature(th, typed), bytes4(0xffffffff), "a wrong extra is refused");
        // PersonalSign: extra 0.
        bytes32 h = keccak256("personal");
        hook.expect(key.keyHash, h, "", keyId, s, 0);
        assertEq(acct.isValidSignature(h, personalSign(key, h)), MAGIC);
        hook.expect(key.keyHash, h, "", bytes32(uint256(keyId) ^ 1), s, 0);
        assertEq(acct.isValidSignature(h, personalSign(key, h)), bytes4(0xffffffff), "a wrong keyId is refused");
    }

    /// @dev beforeExecute and afterExecute get keyHash, keyId = keyIdOf, the settings word, extra =
    /// (batchLength << 128) | callIndex, and the operation (direct 0, relayed the signed EIP-712 digest, ERC-4337 the
    /// userOpHash), on the direct, relayed and ERC-4337 paths.
    function test_trailer_executionCallbacks_everyPath() public {
        address where = address((uint160(uint256(keccak256("recorder"))) & ~uint160(0xffff)) | F_BEFORE | F_AFTER);
        deployCodeTo("Hooks.t.sol:TrailerRecorder", where);
        TrailerRecorder hook = TrailerRecorder(where);
        uint256 s = settingsOf(where, 0, false, 0);
        grant(key, s);
        bytes32 keyId = acct.keyIdOf(key.keyHash);
        Call[] memory three = new Call[](3);
        for (uint256 i; i < 3; ++i) {
            three[i] = Call(address(target), 0, abi.encodeCall(Target.bump, ()));
        }
        vm.prank(key.signer);
        acct.execute(MODE_REVERT, abi.encode(three));
        SignedBatchedCall memory b = signedBatch(three, key.keyHash, 0);
        acct.execute(b, signBatch(key, b));
        PackedUserOperation memory op = sponsored(userOp(three));
        signUserOp(key, op);
        handle(op);
        assertEq(target.counter(), 9);
        assertEq(hook.count(), 18, "3 paths x 3 calls x (before, after)");
        bytes32[3] memory operations = [bytes32(0), acct.hashSignedBatchedCall(b), entryPoint.getUserOpHash(op)];
        assertTrue(operations[1] != 0 && operations[2] != 0 && operations[1] != operations[2]);
        for (uint256 i; i < 18; ++i) {
            TrailerRecorder.Seen memory seen = hook.seenAt(i);
            uint256 callIndex = (i % 6) / 2;
            assertEq(seen.operation, operations[i / 6], "the digest that authorized the batch");
            assertEq(seen.after_, i % 2 == 1);
            assertEq(seen.keyHash, key.keyHash);
            assertEq(seen.keyId, keyId);
            assertEq(seen.settings, s);
            assertEq(seen.extra, (uint256(3) << 128) | callIndex);
            if (seen.after_) {
                assertEq(abi.decode(seen.context, (uint256)), seen.extra, "before's context reaches after");
            }
        }
    }

    // ------------------------------------------------------------------------------------------------------------
    // A Calibur hook works unchanged
    // ------------------------------------------------------------------------------------------------------------

    function test_caliburHook_worksUnchangedOnEveryPath() public {
        Target blocked = new Target();
        address where = address((uint160(uint256(keccak256("calibur guard"))) & ~uint160(0xffff)) | 0x1f);
        deployCodeTo("Hooks.t.sol:CaliburGuardHook", abi.encode(address(blocked)), where);
        grant(key, settingsOf(where, 0, false, 0));
        Call[] memory good = one(address(target), 0, abi.encodeCall(Target.bump, ()));
        Call[] memory bad = one(address(blocked), 0, abi.encodeCall(Target.bump, ()));
        // Direct.
        vm.prank(key.signer);
        acct.execute(MODE_REVERT, abi.encode(good));
        vm.prank(key.signer);
        vm.expectRevert(abi.encodeWithSelector(CaliburGuardHook.Blocked.selector, address(blocked)));
        acct.execute(MODE_REVERT, abi.encode(bad));
        // Relayed, with the hint it asks for.
        SignedBatchedCall memory b = signedBatch(good, key.keyHash, 0);
        bytes memory inner = sign(key, acct.hashSignedBatchedCall(b));
        vm.expectRevert(CaliburGuardHook.BadHint.selector);
        acct.execute(b, abi.encode(inner, bytes("")));
        acct.execute(b, abi.encode(inner, bytes("calibur hint")));
        b = signedBatch(bad, key.keyHash, 1);
        inner = sign(key, acct.hashSignedBatchedCall(b));
        vm.expectRevert(abi.encodeWithSelector(CaliburGuardHook.Blocked.selector, address(blocked)));
        acct.execute(b, abi.encode(inner, bytes("calibur hint")));
        // ERC-4337.
        PackedUserOperation memory op = sponsored(userOp(good));
        op.signature = abi.encode(key.keyHash, sign(key, entryPoint.getUserOpHash(op)), bytes("calibur hint"));
        handle(op);
        // ERC-1271.
        bytes32 h = keccak256("hello");
        bytes memory sig = abi.encode(
            key.keyHash,
            sign(key, acct.hashTypedData(keccak256(abi.encode(PERSONAL_SIGN_TYPEHASH, h)))),
            bytes("calibur hint")
        );
        assertEq(acct.isValidSignature(h, sig), MAGIC);
        assertEq(acct.isValidSignature(h, personalSign(key, h)), bytes4(0xffffffff), "no hint: refused");
        assertEq(target.counter(), 3);
        assertEq(blocked.counter(), 0);
    }

    // ------------------------------------------------------------------------------------------------------------
    // AFTER_EXECUTE_ON_FAILURE
    // ------------------------------------------------------------------------------------------------------------

    function _mixedBatch() internal view returns (Call[] memory calls) {
        calls = new Call[](3);
        calls[0] = Call(address(target), 0, abi.encodeCall(Target.bump, ()));
        calls[1] = Call(address(target), 0, abi.encodeCall(Target.fail, (4)));
        calls[2] = calls[0];
    }

    /// @dev Runs the continue-on-failure batch [ok, fail, ok] on the three execution paths.
    function _runMixed(uint8 path) internal {
        Call[] memory calls = _mixedBatch();
        if (path == DIRECT) {
            vm.prank(key.signer);
            acct.execute(MODE_CONTINUE, abi.encode(calls));
        } else if (path == RELAYED) {
            SignedBatchedCall memory b = signedBatch(calls, key.keyHash, acct.getSeq(0));
            b.batchedCall.revertOnFailure = false;
            acct.execute(b, signBatch(key, b));
        } else {
            PackedUserOperation memory op = sponsored(userOp(calls));
            op.callData = abi.encodePacked(IKeyward.executeUserOp.selector, abi.encode(BatchedCall(calls, false)));
            signUserOp(key, op);
            handle(op);
        }
    }

    function test_afterExecuteOnFailure_onlyAfterFailedCallsOnEveryPath() public {
        MockHook hook = deployHook(F_BEFORE | F_AFTER);
        for (uint8 path; path < 3; ++path) {
            _setKey(settingsOf(address(hook), 0, false, 0) | FLAG_AFTER_ON_FAILURE);
            uint256 before3 = hook.callCount(3);
            uint256 before4 = hook.callCount(4);
            _runMixed(path);
            assertEq(hook.callCount(3) - before3, 3, "beforeExecute for every call");
            assertEq(hook.callCount(4) - before4, 1, "afterExecute only for the failed call");
            assertFalse(hook.lastSuccess());
            assertEq(hook.lastOutput(), abi.encodeWithSelector(Target.Boom.selector, 4));
            // Without the flag: after every call.
            _setKey(settingsOf(address(hook), 0, false, 0));
            before4 = hook.callCount(4);
            _runMixed(path);
            assertEq(hook.callCount(4) - before4, 3, "without the flag, after every call");
        }
        assertEq(target.counter(), 12);
    }

    /// @dev Under the flag, a refusing afterExecute after a failed call still fails the batch (fail closed).
    function test_afterExecuteOnFailure_refusalFailsTheBatch() public {
        MockHook hook = deployHook(F_BEFORE | F_AFTER);
        hook.setAnswer(4, MockHook.Answer.Revert);
        grant(key, settingsOf(address(hook), 0, false, 0) | FLAG_AFTER_ON_FAILURE);
        vm.prank(key.signer);
        acct.execute(MODE_CONTINUE, abi.encode(_twoBumps())); // no failure: afterExecute not asked
        assertEq(target.counter(), 2);
        vm.prank(key.signer);
        vm.expectRevert(abi.encodeWithSelector(MockHook.Refused.selector, 4));
        acct.execute(MODE_CONTINUE, abi.encode(_mixedBatch()));
        assertEq(target.counter(), 2);
    }
}
