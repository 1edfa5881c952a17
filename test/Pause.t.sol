// SPDX-License-Identifier: MIT
pragma solidity ^0.8.30;

import {Call, GasBudget, GasSpent, IKeyward, PackedUserOperation} from "../contracts/interfaces/IKeyward.sol";
import {TestKey} from "./utils/KeywardTestBase.sol";
import {MockHook} from "./utils/MockHook.sol";
import {PathsTestBase} from "./utils/PathsTestBase.sol";

/// @notice Reversible pause (issue 16): the account pauses one key or every non-root key and resumes them later;
/// a paused key is refused on every path and keeps everything else; the root is never paused.
contract PauseTest is PathsTestBase {
    TestKey internal key;
    MockHook internal hook;
    uint256 internal keySettings;

    function setUp() public override {
        super.setUp();
        key = secp256k1Key("session");
        // A non-admin key whose hook approves ERC-1271 signatures, so that every path accepts it when unpaused.
        hook = deployHook(0x04);
        keySettings = settingsOf(address(hook), uint40(block.timestamp + 1 days), false, 0);
        grant(key, keySettings);
    }

    function _pause(bytes32 keyHash) internal {
        rootCall(abi.encodeCall(IKeyward.pauseKey, (keyHash)));
    }

    function _resume(bytes32 keyHash) internal {
        rootCall(abi.encodeCall(IKeyward.resumeKey, (keyHash)));
    }

    /// @dev Asserts `k` is refused with KeyIsPaused on every path (and 1271 / verifyKeySignature answer no).
    function _assertRefusedEverywhere(TestKey memory k) internal {
        bytes memory paused = abi.encodeWithSelector(IKeyward.KeyIsPaused.selector, k.keyHash);
        uint256 before = target.counter();
        (bool ok, bytes memory ret) = tryDirect(k, _bump());
        assertRefused(ok, ret, paused, "direct");
        (ok, ret) = tryRelayed(k, _bump());
        assertRefused(ok, ret, paused, "relayed");
        PackedUserOperation memory op = signedOp(k, _bump());
        (ok, ret) = tryValidate(op);
        assertRefused(ok, ret, paused, "validateUserOp");
        (ok, ret) = tryExecuteUserOp(op);
        assertRefused(ok, ret, paused, "executeUserOp");
        (ok, ret) = tryHandleOps(op);
        assertRefused(ok, ret, aa23(paused), "handleOps");
        assertFalse(signs1271(k), "ERC-1271");
        bytes32 d = keccak256("co-sign");
        (bool valid,,) = acct.verifyKeySignature(k.keyHash, d, sign(k, d));
        assertFalse(valid, "verifyKeySignature");
        assertEq(target.counter(), before, "nothing ran");
    }

    /// @dev Asserts `k` is accepted on every path.
    function _assertAcceptedEverywhere(TestKey memory k) internal {
        uint256 before = target.counter();
        (bool ok,) = tryDirect(k, _bump());
        assertTrue(ok, "direct");
        (ok,) = tryRelayed(k, _bump());
        assertTrue(ok, "relayed");
        (ok,) = tryHandleOps(signedOp(k, _bump()));
        assertTrue(ok, "handleOps");
        assertTrue(signs1271(k), "ERC-1271");
        bytes32 d = keccak256("co-sign");
        (bool valid,,) = acct.verifyKeySignature(k.keyHash, d, sign(k, d));
        assertTrue(valid, "verifyKeySignature");
        assertEq(target.counter(), before + 3);
    }

    // ------------------------------------------------------------------------------------------------------------
    // One key
    // ------------------------------------------------------------------------------------------------------------

    function test_pauseKey_refusedOnEveryPath_resumeRestoresEveryPath() public {
        _assertAcceptedEverywhere(key);
        _pause(key.keyHash);
        assertTrue(acct.isPaused(key.keyHash));
        _assertRefusedEverywhere(key);
        _resume(key.keyHash);
        assertFalse(acct.isPaused(key.keyHash));
        _assertAcceptedEverywhere(key);
    }

    /// @dev An operation validated before the pause (an earlier operation of the bundle paused the key) is refused
    /// when it executes.
    function test_pauseKey_insideBundle_refusedAtExecution() public {
        PackedUserOperation memory op = signedOp(key, _bump());
        (bool ok,) = tryValidate(op);
        assertTrue(ok);
        _pause(key.keyHash);
        (bool ran, bytes memory ret) = tryExecuteUserOp(op);
        assertRefused(ran, ret, abi.encodeWithSelector(IKeyward.KeyIsPaused.selector, key.keyHash), "execution");
    }

    /// @dev Nothing but the pause changes: settings, keyId (so hook state), the key list, the gas budget and its
    /// spending, the nonce lanes.
    function test_pauseKey_keepsEverythingElse() public {
        rootCall(abi.encodeCall(IKeyward.setGasBudget, (key.keyHash, GasBudget(1 ether, 1 days, 5 ether))));
        bytes32 keyId = acct.keyIdOf(key.keyHash);
        uint192 lane = acct.reservedLane(key.keyHash, 7);
        uint256 count = acct.keyCount();
        _pause(key.keyHash);
        _resume(key.keyHash);
        _pause(key.keyHash);
        assertEq(acct.getKeySettings(key.keyHash), keySettings);
        assertEq(acct.keyIdOf(key.keyHash), keyId, "same registration: hook state is kept");
        assertEq(acct.reservedLane(key.keyHash, 7), lane);
        assertEq(acct.keyCount(), count);
        assertTrue(acct.isRegistered(key.keyHash));
        (GasBudget memory b,) = acct.gasBudget(key.keyHash);
        assertEq(b.lifetime, 5 ether);
        _resume(key.keyHash);
        assertEq(acct.keyIdOf(key.keyHash), keyId);
    }

    /// @dev `update` rewrites the settings word only: a paused key stays paused (no accidental resume).
    function test_pauseKey_updateDoesNotResume() public {
        _pause(key.keyHash);
        uint256 other = settingsOf(address(hook), 0, false, 0);
        rootCall(abi.encodeCall(IKeyward.update, (key.keyHash, other)));
        assertEq(acct.getKeySettings(key.keyHash), other);
        assertTrue(acct.isPaused(key.keyHash), "still paused after update");
        (bool ok, bytes memory ret) = tryDirect(key, _bump());
        assertRefused(ok, ret, abi.encodeWithSelector(IKeyward.KeyIsPaused.selector, key.keyHash), "direct");
        // Nor does register (Calibur semantics: an existing key is left as it is).
        rootCall(abi.encodeCall(IKeyward.register, (key.key)));
        assertTrue(acct.isPaused(key.keyHash));
    }

    /// @dev Revoking clears the pause with the record; the same key granted again starts unpaused.
    function test_pauseKey_revokeAndGrantAgain_startsUnpaused() public {
        _pause(key.keyHash);
        rootCall(abi.encodeCall(IKeyward.revoke, (key.keyHash)));
        vm.expectRevert(IKeyward.KeyDoesNotExist.selector);
        acct.isPaused(key.keyHash);
        grant(key, keySettings);
        assertFalse(acct.isPaused(key.keyHash));
        _assertAcceptedEverywhere(key);
        // The same after revokeAll.
        _pause(key.keyHash);
        rootCall(abi.encodeCall(IKeyward.revokeAll, ()));
        grant(key, keySettings);
        assertFalse(acct.isPaused(key.keyHash));
    }

    /// @dev Pausing one key leaves the others alone.
    function test_pauseKey_onlyThatKey() public {
        TestKey memory other = secp256k1Key("other");
        grant(other, keySettings);
        _pause(key.keyHash);
        _assertAcceptedEverywhere(other);
        (bool keyPaused, bool all) = acct.pauseStatus(other.keyHash);
        assertFalse(keyPaused);
        assertFalse(all);
    }

    function test_pauseKey_eventsAndIdempotence() public {
        vm.expectEmit(address(acct));
        emit IKeyward.KeyPaused(key.keyHash);
        _pause(key.keyHash);
        // A second pause changes nothing and says nothing.
        vm.recordLogs();
        _pause(key.keyHash);
        assertEq(vm.getRecordedLogs().length, 0);
        vm.expectEmit(address(acct));
        emit IKeyward.KeyResumed(key.keyHash);
        _resume(key.keyHash);
        vm.recordLogs();
        _resume(key.keyHash);
        assertEq(vm.getRecordedLogs().length, 0);
    }

    function test_pauseKey_badInput_clearErrors() public {
        vm.prank(account);
        vm.expectRevert(IKeyward.CannotPauseRootKey.selector);
        acct.pauseKey(bytes32(0));
        vm.prank(account);
        vm.expectRevert(IKeyward.CannotPauseRootKey.selector);
        acct.resumeKey(bytes32(0));
        vm.prank(account);
        vm.expectRevert(IKeyward.KeyDoesNotExist.selector);
        acct.pauseKey(keccak256("unknown"));
        vm.prank(account);
        vm.expectRevert(IKeyward.KeyDoesNotExist.selector);
        acct.resumeKey(keccak256("unknown"));
        vm.expectRevert(IKeyward.KeyDoesNotExist.selector);
        acct.pauseStatus(keccak256("unknown"));
        (bool k, bool a) = acct.pauseStatus(bytes32(0));
        assertFalse(k || a, "the root is never paused");
        assertFalse(acct.isPaused(bytes32(0)));
    }

    // ------------------------------------------------------------------------------------------------------------
    // Who may pause and resume
    // ------------------------------------------------------------------------------------------------------------

    /// @dev Only the account itself: an outsider, and a non-admin key through a self-call, are refused.
    function test_pause_onlyTheAccount() public {
        vm.prank(key.signer);
        vm.expectRevert(IKeyward.Unauthorized.selector);
        acct.pauseAll();
        vm.expectRevert(IKeyward.Unauthorized.selector);
        acct.resumeKey(key.keyHash);
        // A non-admin key cannot reach them through its batch.
        (bool ok, bytes memory ret) =
            tryDirect(key, one(account, 0, abi.encodeCall(IKeyward.pauseKey, (secp256k1Key("x").keyHash))));
        assertRefused(ok, ret, abi.encodeWithSelector(IKeyward.OnlyAdminCanSelfCall.selector), "non-admin");
    }

    /// @dev An admin key (root-equivalent) pauses and resumes other keys.
    function test_pause_adminKeyMayPauseAndResume() public {
        TestKey memory admin = secp256k1Key("admin");
        grant(admin, 1 << 200);
        (bool ok,) = tryDirect(admin, one(account, 0, abi.encodeCall(IKeyward.pauseKey, (key.keyHash))));
        assertTrue(ok);
        assertTrue(acct.isPaused(key.keyHash));
        (ok,) = tryRelayed(admin, one(account, 0, abi.encodeCall(IKeyward.resumeKey, (key.keyHash))));
        assertTrue(ok);
        assertFalse(acct.isPaused(key.keyHash));
    }

    /// @dev Attack: a paused admin key tries to resume itself (or everyone) on each path: refused, it stays paused.
    function test_pause_pausedAdminCannotResumeItself() public {
        TestKey memory admin = secp256k1Key("admin");
        grant(admin, 1 << 200);
        bytes memory paused = abi.encodeWithSelector(IKeyward.KeyIsPaused.selector, admin.keyHash);
        Call[] memory resumeSelf = one(account, 0, abi.encodeCall(IKeyward.resumeKey, (admin.keyHash)));
        _pause(admin.keyHash);
        (bool ok, bytes memory ret) = tryDirect(admin, resumeSelf);
        assertRefused(ok, ret, paused, "direct");
        (ok, ret) = tryRelayed(admin, resumeSelf);
        assertRefused(ok, ret, paused, "relayed");
        PackedUserOperation memory op = signedOp(admin, resumeSelf);
        (ok, ret) = tryHandleOps(op);
        assertRefused(ok, ret, aa23(paused), "handleOps");
        assertTrue(acct.isPaused(admin.keyHash));
        // Under pauseAll the same holds for resumeAll.
        _resume(admin.keyHash);
        rootCall(abi.encodeCall(IKeyward.pauseAll, ()));
        (ok, ret) = tryDirect(admin, one(account, 0, abi.encodeCall(IKeyward.resumeAll, ())));
        assertRefused(ok, ret, paused, "resumeAll by a paused admin");
        (, bool all) = acct.pauseStatus(admin.keyHash);
        assertTrue(all);
    }

    // ------------------------------------------------------------------------------------------------------------
    // Every key
    // ------------------------------------------------------------------------------------------------------------

    function test_pauseAll_everyKeyRefused_rootUnaffected_resumeAllRestores() public {
        TestKey memory admin = secp256k1Key("admin");
        grant(admin, settingsOf(address(hook), 0, true, 0));
        TestKey memory passkey = webAuthnKey("passkey");
        grant(passkey, keySettings);
        vm.expectEmit(address(acct));
        emit IKeyward.AllKeysPaused();
        rootCall(abi.encodeCall(IKeyward.pauseAll, ()));
        _assertRefusedEverywhere(key);
        _assertRefusedEverywhere(admin);
        // The root: every path still works.
        uint256 before = target.counter();
        rootExecute(_bump());
        (bool ok,) = tryRelayed(rootTestKey(), _bump());
        assertTrue(ok, "root relayed");
        (ok,) = tryHandleOps(signedOp(rootTestKey(), _bump()));
        assertTrue(ok, "root handleOps");
        assertTrue(signs1271(rootTestKey()), "root 1271");
        bytes32 d = keccak256("co-sign");
        (bool valid,,) = acct.verifyKeySignature(0, d, sign(rootTestKey(), d));
        assertTrue(valid, "root verifyKeySignature");
        assertEq(target.counter(), before + 3);
        // A WebAuthn key too (relayed and ERC-4337 are its paths).
        (ok,) = tryRelayed(passkey, _bump());
        assertFalse(ok);
        vm.expectEmit(address(acct));
        emit IKeyward.AllKeysResumed();
        rootCall(abi.encodeCall(IKeyward.resumeAll, ()));
        _assertAcceptedEverywhere(key);
        _assertAcceptedEverywhere(admin);
        (ok,) = tryRelayed(passkey, _bump());
        assertTrue(ok);
    }

    /// @dev The key's own pause and the pause of every key are independent: resuming one does not resume the other.
    function test_pauseAll_andPauseKey_independent() public {
        _pause(key.keyHash);
        rootCall(abi.encodeCall(IKeyward.pauseAll, ()));
        (bool k, bool a) = acct.pauseStatus(key.keyHash);
        assertTrue(k && a);
        _resume(key.keyHash);
        assertTrue(acct.isPaused(key.keyHash), "still paused by pauseAll");
        (bool ok,) = tryDirect(key, _bump());
        assertFalse(ok);
        _pause(key.keyHash);
        rootCall(abi.encodeCall(IKeyward.resumeAll, ()));
        assertTrue(acct.isPaused(key.keyHash), "still paused by itself");
        (ok,) = tryDirect(key, _bump());
        assertFalse(ok);
        _resume(key.keyHash);
        (ok,) = tryDirect(key, _bump());
        assertTrue(ok);
    }

    /// @dev pauseAll holds across revokeAll: a key granted afterwards is paused until resumeAll (fail closed).
    function test_pauseAll_holdsAcrossRevokeAllAndNewGrants() public {
        rootCall(abi.encodeCall(IKeyward.pauseAll, ()));
        rootCall(abi.encodeCall(IKeyward.revokeAll, ()));
        TestKey memory fresh = secp256k1Key("fresh");
        grant(fresh, keySettings);
        assertTrue(acct.isPaused(fresh.keyHash));
        _assertRefusedEverywhere(fresh);
        rootCall(abi.encodeCall(IKeyward.resumeAll, ()));
        _assertAcceptedEverywhere(fresh);
        // Idempotent: a second resumeAll says nothing.
        vm.recordLogs();
        rootCall(abi.encodeCall(IKeyward.resumeAll, ()));
        assertEq(vm.getRecordedLogs().length, 0);
    }

    /// @dev Pausing is no revocation: the EntryPoint nonce, relayed lanes and gas books survive a pause and resume;
    /// an operation signed before the pause runs after the resume (use revoke to kill pending operations).
    function test_pause_pendingOperationRunsAfterResume() public {
        PackedUserOperation memory op = signedOp(key, _bump());
        _pause(key.keyHash);
        (bool ok,) = tryHandleOps(op);
        assertFalse(ok);
        _resume(key.keyHash);
        (ok,) = tryHandleOps(op);
        assertTrue(ok, "signed before the pause, runs after the resume");
        GasSpent memory spent;
        (, spent) = acct.gasBudget(key.keyHash);
        assertEq(spent.total, 0);
    }
}
