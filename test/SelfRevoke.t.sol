// SPDX-License-Identifier: MIT
pragma solidity ^0.8.30;

import {BatchedCall, Call, IKeyward, PackedUserOperation} from "../contracts/interfaces/IKeyward.sol";
import {TestKey} from "./utils/KeywardTestBase.sol";
import {MockHook} from "./utils/MockHook.sol";
import {Target} from "./utils/MockHook.sol";
import {PathsTestBase} from "./utils/PathsTestBase.sol";

/// @notice Self-revocation (issue 16, "log out" from the key's side): a non-admin key may revoke itself, and only
/// itself, with `revoke(ownKeyHash)` as the last call of its batch, on every path that executes (direct, relayed,
/// ERC-4337); no execution hook is consulted for that call.
contract SelfRevokeTest is PathsTestBase {
    uint8 internal constant DIRECT = 0;
    uint8 internal constant RELAYED = 1;
    uint8 internal constant USER_OP = 2;
    uint8 internal constant PATHS = 3;

    MockHook internal hook;
    uint256 internal keySettings;

    function setUp() public override {
        super.setUp();
        // Execution hooks that approve by default (tests switch them to refuse).
        hook = deployHook(0x18);
        keySettings = settingsOf(address(hook), uint40(block.timestamp + 1 days), false, 0);
    }

    function _key(string memory name) internal returns (TestKey memory k) {
        k = secp256k1Key(name);
        grant(k, keySettings);
    }

    function _revokeCall(bytes32 keyHash) internal view returns (Call memory) {
        return Call(account, 0, abi.encodeCall(IKeyward.revoke, (keyHash)));
    }

    function _calls(Call memory a) internal pure returns (Call[] memory c) {
        c = new Call[](1);
        c[0] = a;
    }

    function _calls(Call memory a, Call memory b) internal pure returns (Call[] memory c) {
        c = new Call[](2);
        c[0] = a;
        c[1] = b;
    }

    function _bumpCall() internal view returns (Call memory) {
        return Call(address(target), 0, abi.encodeCall(Target.bump, ()));
    }

    /// @dev Runs `calls` by `k` on `path`; for ERC-4337 the operation is validated then executed as the EntryPoint
    /// (so a refusal at execution shows its revert data; `handleOps` would only log it).
    function _run(uint8 path, TestKey memory k, Call[] memory calls) internal returns (bool ok, bytes memory ret) {
        if (path == DIRECT) return tryDirect(k, calls);
        if (path == RELAYED) return tryRelayed(k, calls);
        PackedUserOperation memory op = signedOp(k, calls);
        (ok, ret) = tryValidate(op);
        assertTrue(ok, "validation");
        assertEq(uint160(abi.decode(ret, (uint256))), 0, "valid operation (inside the key's window)");
        return tryExecuteUserOp(op);
    }

    function _name(uint8 path) internal pure returns (string memory) {
        return path == DIRECT ? "direct" : path == RELAYED ? "relayed" : "ERC-4337";
    }

    // ------------------------------------------------------------------------------------------------------------
    // Accepted
    // ------------------------------------------------------------------------------------------------------------

    /// @dev On every path: [bump, revoke(self)] runs both calls; the key is gone and refused afterwards.
    function test_selfRevoke_everyPath_lastCallRevokesOwnKey() public {
        for (uint8 p; p < PATHS; ++p) {
            TestKey memory k = _key(string.concat("self-", _name(p)));
            uint256 before = target.counter();
            if (p != USER_OP) {
                vm.expectEmit(address(acct));
                emit IKeyward.Revoked(k.keyHash);
            }
            (bool ok,) = _run(p, k, _calls(_bumpCall(), _revokeCall(k.keyHash)));
            assertTrue(ok, _name(p));
            assertFalse(acct.isRegistered(k.keyHash), _name(p));
            assertEq(target.counter(), before + 1, _name(p));
        }
        // The hook saw each bump, never a revocation.
        assertEq(hook.callCount(3), PATHS, "beforeExecute: the bumps only");
        assertEq(hook.callCount(4), PATHS, "afterExecute: the bumps only");
        // Revoked means refused: the direct path no longer knows the key, the relayed path says so.
        TestKey memory gone = secp256k1Key("self-direct");
        (bool ok2, bytes memory ret) = tryDirect(gone, _bump());
        assertRefused(ok2, ret, abi.encodeWithSelector(IKeyward.Unauthorized.selector), "direct after");
        (ok2, ret) = tryRelayed(secp256k1Key("self-relayed"), _bump());
        assertRefused(ok2, ret, abi.encodeWithSelector(IKeyward.KeyDoesNotExist.selector), "relayed after");
    }

    /// @dev Through the EntryPoint's handleOps too (the whole flow), and the key count shrinks.
    function test_selfRevoke_handleOps_revokes() public {
        TestKey memory k = _key("self-4337");
        uint256 count = acct.keyCount();
        (bool ok,) = tryHandleOps(signedOp(k, _calls(_revokeCall(k.keyHash))));
        assertTrue(ok);
        assertFalse(acct.isRegistered(k.keyHash));
        assertEq(acct.keyCount(), count - 1);
    }

    /// @dev No hook needed: execution hooks that refuse every call cannot keep the key from revoking itself.
    function test_selfRevoke_hookRefusingEverything_notConsulted() public {
        hook.setAnswer(3, MockHook.Answer.Revert);
        hook.setAnswer(4, MockHook.Answer.Revert);
        for (uint8 p; p < PATHS; ++p) {
            TestKey memory k = _key(string.concat("hooked-", _name(p)));
            (bool ok,) = _run(p, k, _bump());
            assertFalse(ok, "the hook refuses other calls");
            (ok,) = _run(p, k, _calls(_revokeCall(k.keyHash)));
            assertTrue(ok, _name(p));
            assertFalse(acct.isRegistered(k.keyHash), _name(p));
        }
    }

    /// @dev A key paused by the root stays paused: it cannot even revoke itself (the root decides).
    function test_selfRevoke_pausedKey_refused() public {
        TestKey memory k = _key("paused");
        rootCall(abi.encodeCall(IKeyward.pauseKey, (k.keyHash)));
        (bool ok, bytes memory ret) = tryDirect(k, _calls(_revokeCall(k.keyHash)));
        assertRefused(ok, ret, abi.encodeWithSelector(IKeyward.KeyIsPaused.selector, k.keyHash), "paused");
        assertTrue(acct.isRegistered(k.keyHash));
    }

    // ------------------------------------------------------------------------------------------------------------
    // Refused (attacks)
    // ------------------------------------------------------------------------------------------------------------

    /// @dev Attack: a key revokes another key, the root, every key, or escalates itself with `update`, on every
    /// path: OnlyAdminCanSelfCall, nothing changes.
    function test_selfRevoke_otherKeyOrOtherSelfCall_refusedOnEveryPath() public {
        TestKey memory victim = _key("victim");
        bytes memory refused = abi.encodeWithSelector(IKeyward.OnlyAdminCanSelfCall.selector);
        for (uint8 p; p < PATHS; ++p) {
            TestKey memory k = _key(string.concat("attacker-", _name(p)));
            Call[] memory attempts = new Call[](4);
            attempts[0] = _revokeCall(victim.keyHash);
            attempts[1] = _revokeCall(bytes32(0));
            attempts[2] = Call(account, 0, abi.encodeCall(IKeyward.revokeAll, ()));
            attempts[3] = Call(account, 0, abi.encodeCall(IKeyward.update, (k.keyHash, 1 << 200)));
            for (uint256 i; i < attempts.length; ++i) {
                (bool ok, bytes memory ret) = _run(p, k, _calls(attempts[i]));
                assertRefused(ok, ret, refused, _name(p));
            }
            assertTrue(acct.isRegistered(victim.keyHash), _name(p));
            assertTrue(acct.isRegistered(k.keyHash), _name(p));
            assertEq(acct.getKeySettings(k.keyHash), keySettings, _name(p));
        }
        // Through handleOps the execution fails and the victim stays.
        TestKey memory a = secp256k1Key("attacker-direct");
        (bool ok2,) = tryHandleOps(signedOp(a, _calls(_revokeCall(victim.keyHash))));
        assertTrue(ok2, "handleOps itself succeeds");
        assertTrue(acct.isRegistered(victim.keyHash));
    }

    /// @dev Attack: revoke itself first and keep running calls (under a revoked key): SelfRevocationNotLast.
    function test_selfRevoke_notLast_refusedOnEveryPath() public {
        bytes memory refused = abi.encodeWithSelector(IKeyward.SelfRevocationNotLast.selector);
        for (uint8 p; p < PATHS; ++p) {
            TestKey memory k = _key(string.concat("early-", _name(p)));
            uint256 before = target.counter();
            (bool ok, bytes memory ret) = _run(p, k, _calls(_revokeCall(k.keyHash), _bumpCall()));
            assertRefused(ok, ret, refused, _name(p));
            (ok, ret) = _run(p, k, _calls(_revokeCall(k.keyHash), _revokeCall(k.keyHash)));
            assertRefused(ok, ret, refused, _name(p));
            assertTrue(acct.isRegistered(k.keyHash), _name(p));
            assertEq(target.counter(), before, _name(p));
        }
    }

    /// @dev Attack: the call data must be exactly revoke(ownKeyHash) (36 bytes): a trailing byte or word, a short
    /// word, or a revoke smuggled inside multicall are refused; value on it fails the call (revoke is not payable).
    function test_selfRevoke_inexactCallData_refused() public {
        TestKey memory k = _key("inexact");
        bytes memory exact = abi.encodeCall(IKeyward.revoke, (k.keyHash));
        bytes memory refused = abi.encodeWithSelector(IKeyward.OnlyAdminCanSelfCall.selector);
        bytes[] memory inner = new bytes[](1);
        inner[0] = exact;
        bytes[4] memory variants = [
            abi.encodePacked(exact, bytes1(0)),
            abi.encodePacked(exact, bytes32(0)),
            abi.encodePacked(IKeyward.revoke.selector, bytes31(k.keyHash)),
            abi.encodeWithSignature("multicall(bytes[])", inner)
        ];
        for (uint256 i; i < variants.length; ++i) {
            (bool ok, bytes memory ret) = tryDirect(k, _calls(Call(account, 0, variants[i])));
            assertRefused(ok, ret, refused, "variant");
        }
        vm.deal(account, 1 ether);
        (bool ok2, bytes memory ret2) = tryDirect(k, _calls(Call(account, 1, exact)));
        assertRefused(ok2, ret2, abi.encodeWithSelector(IKeyward.CallFailed.selector, ""), "with value");
        assertTrue(acct.isRegistered(k.keyHash));
        // `to` = 0 means the account itself (Calibur): the exact call is accepted that way too.
        (ok2,) = tryDirect(k, _calls(Call(address(0), 0, exact)));
        assertTrue(ok2);
        assertFalse(acct.isRegistered(k.keyHash));
    }

    /// @dev A bundle: the key's first operation revokes it, its second (validated before) is refused at execution.
    function test_selfRevoke_laterOperationInBundle_refused() public {
        TestKey memory k = _key("bundle");
        PackedUserOperation[] memory ops = new PackedUserOperation[](2);
        ops[0] = signedOp(k, _calls(_revokeCall(k.keyHash)));
        ops[1] = sponsored(userOp(_bump()));
        ops[1].nonce = ops[0].nonce + 1;
        signUserOp(k, ops[1]);
        uint256 before = target.counter();
        entryPoint.handleOps(ops, payable(address(0xbeef)));
        assertFalse(acct.isRegistered(k.keyHash));
        assertEq(target.counter(), before, "the second operation did not run");
    }

    /// @dev An admin key still revokes any key (unchanged), and in continue mode a self-revocation after a failed
    /// call still runs.
    function test_selfRevoke_adminUnchanged_continueMode() public {
        TestKey memory admin = secp256k1Key("admin");
        grant(admin, 1 << 200);
        TestKey memory k = _key("other");
        (bool ok,) = tryDirect(admin, _calls(_revokeCall(k.keyHash)));
        assertTrue(ok);
        assertFalse(acct.isRegistered(k.keyHash));
        TestKey memory c = _key("continue");
        Call[] memory calls = _calls(Call(address(target), 0, abi.encodeCall(Target.fail, (7))), _revokeCall(c.keyHash));
        vm.prank(c.signer);
        acct.execute(BatchedCall(calls, false));
        assertFalse(acct.isRegistered(c.keyHash));
    }
}
