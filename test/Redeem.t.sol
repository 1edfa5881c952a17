// SPDX-License-Identifier: MIT
pragma solidity ^0.8.30;

import {Call, IKeyward} from "../contracts/interfaces/IKeyward.sol";
import {TestKey} from "./utils/KeywardTestBase.sol";
import {MockHook, Target} from "./utils/MockHook.sol";
import {PathsTestBase} from "./utils/PathsTestBase.sol";

/// @notice ERC-7710 `redeemDelegations` on the account (issue 15): the delegate key redeems from its own address with
/// a context binding account and key; the calls run under the key's rules exactly as on its direct path.
contract RedeemTest is PathsTestBase {
    TestKey internal key;
    uint256 internal keySettings;

    function setUp() public override {
        super.setUp();
        key = secp256k1Key("delegate");
        keySettings = settingsOf(address(0), uint40(block.timestamp + 1 days), false, 0);
        grant(key, keySettings);
    }

    function _context(bytes32 keyHash) internal view returns (bytes memory) {
        return abi.encode(account, keyHash);
    }

    function _redeem(TestKey memory k, bytes[] memory contexts, bytes32[] memory modes, bytes[] memory datas)
        internal
        returns (bool ok, bytes memory ret)
    {
        vm.prank(k.signer);
        (ok, ret) = account.call(abi.encodeCall(IKeyward.redeemDelegations, (contexts, modes, datas)));
    }

    function _single(TestKey memory k, bytes memory context, address to, uint256 value, bytes memory data)
        internal
        returns (bool, bytes memory)
    {
        bytes[] memory contexts = new bytes[](1);
        contexts[0] = context;
        bytes32[] memory modes = new bytes32[](1);
        bytes[] memory datas = new bytes[](1);
        datas[0] = abi.encodePacked(to, value, data);
        return _redeem(k, contexts, modes, datas);
    }

    /// @dev The direct path and redemption refuse `calls` by `k` with the same revert data, and run nothing.
    function _bothRefused(TestKey memory k, Call[] memory calls, bytes memory expected, string memory label) internal {
        uint256 before = target.counter();
        (bool ok, bytes memory ret) = tryDirect(k, calls);
        assertRefused(ok, ret, expected, string.concat(label, ": direct"));
        (ok, ret) = tryRedeem(k, _context(k.keyHash), calls);
        assertRefused(ok, ret, expected, string.concat(label, ": redeem"));
        assertEq(target.counter(), before, label);
    }

    function _bothAccepted(TestKey memory k, Call[] memory calls, string memory label) internal {
        (bool ok,) = tryDirect(k, calls);
        assertTrue(ok, string.concat(label, ": direct"));
        (ok,) = tryRedeem(k, _context(k.keyHash), calls);
        assertTrue(ok, string.concat(label, ": redeem"));
    }

    // ------------------------------------------------------------------------------------------------------------
    // Accepted
    // ------------------------------------------------------------------------------------------------------------

    function test_redeem_batchMode_runsCalls_emitsKeyUsed() public {
        Call[] memory calls = new Call[](2);
        calls[0] = _bump()[0];
        calls[1] = Call(address(target), 5, abi.encodeCall(Target.bump, ()));
        vm.deal(account, 1 ether);
        vm.expectEmit(address(acct));
        emit IKeyward.KeyUsed(key.keyHash);
        (bool ok,) = tryRedeem(key, _context(key.keyHash), calls);
        assertTrue(ok);
        assertEq(target.counter(), 2);
        assertEq(target.lastValue(), 5);
        assertEq(address(target).balance, 5);
    }

    function test_redeem_singleMode_runsCall() public {
        vm.deal(account, 1 ether);
        vm.expectEmit(address(acct));
        emit IKeyward.KeyUsed(key.keyHash);
        (bool ok,) = _single(key, _context(key.keyHash), address(target), 7, abi.encodeCall(Target.bump, ()));
        assertTrue(ok);
        assertEq(target.counter(), 1);
        assertEq(address(target).balance, 7);
        // An empty call (a plain transfer): target and value only.
        (ok,) = _single(key, _context(key.keyHash), address(0xbeef), 1, "");
        assertTrue(ok);
        assertEq(address(0xbeef).balance, 1);
    }

    /// @dev Several redemptions in one call run in order, all or nothing.
    function test_redeem_severalTuples_allOrNothing() public {
        bytes[] memory contexts = new bytes[](2);
        contexts[0] = _context(key.keyHash);
        contexts[1] = _context(key.keyHash);
        bytes32[] memory modes = new bytes32[](2);
        modes[0] = MODE_7579_BATCH;
        bytes[] memory datas = new bytes[](2);
        datas[0] = abi.encode(_bump());
        datas[1] = abi.encodePacked(address(target), uint256(0), abi.encodeCall(Target.bump, ()));
        (bool ok,) = _redeem(key, contexts, modes, datas);
        assertTrue(ok);
        assertEq(target.counter(), 2);
        // The second tuple fails: the first one's call is undone.
        datas[1] = abi.encodePacked(address(target), uint256(0), abi.encodeCall(Target.fail, (3)));
        (bool ok2, bytes memory ret) = _redeem(key, contexts, modes, datas);
        assertRefused(
            ok2,
            ret,
            abi.encodeWithSelector(IKeyward.CallFailed.selector, abi.encodeWithSelector(Target.Boom.selector, 3)),
            "second fails"
        );
        assertEq(target.counter(), 2);
    }

    // ------------------------------------------------------------------------------------------------------------
    // The context binds account and key
    // ------------------------------------------------------------------------------------------------------------

    /// @dev Attack: a context for another key, for another account, malformed, or redeemed by another key's address:
    /// InvalidPermissionContext(index); nothing runs. An unregistered caller: Unauthorized, as on the direct path.
    function test_redeem_contextReplay_refused() public {
        TestKey memory other = secp256k1Key("other delegate");
        grant(other, keySettings);
        bytes memory bad0 = abi.encodeWithSelector(IKeyward.InvalidPermissionContext.selector, 0);
        bytes[5] memory contexts = [
            _context(other.keyHash), // another key's permission
            abi.encode(address(0xacc0), key.keyHash), // the same key on another account
            abi.encodePacked(_context(key.keyHash), bytes1(0)), // trailing byte
            abi.encode(account), // short
            abi.encode(uint256(uint160(address(account))) | (1 << 200), key.keyHash) // dirty address word
        ];
        for (uint256 i; i < contexts.length; ++i) {
            (bool ok, bytes memory ret) = tryRedeem(key, contexts[i], _bump());
            assertRefused(ok, ret, bad0, "context");
        }
        // The delegate's context redeemed by the other key's address.
        (bool ok2, bytes memory ret2) = tryRedeem(other, _context(key.keyHash), _bump());
        assertRefused(ok2, ret2, bad0, "another caller");
        // An outsider (no key) with a valid-looking context.
        TestKey memory outsider = secp256k1Key("outsider");
        (ok2, ret2) = tryRedeem(outsider, _context(outsider.keyHash), _bump());
        assertRefused(ok2, ret2, abi.encodeWithSelector(IKeyward.Unauthorized.selector), "outsider");
        // The second tuple's context is bad: its index is named and the first tuple is undone.
        bytes[] memory cs = new bytes[](2);
        cs[0] = _context(key.keyHash);
        cs[1] = _context(other.keyHash);
        bytes32[] memory modes = new bytes32[](2);
        modes[0] = MODE_7579_BATCH;
        modes[1] = MODE_7579_BATCH;
        bytes[] memory datas = new bytes[](2);
        datas[0] = abi.encode(_bump());
        datas[1] = abi.encode(_bump());
        (ok2, ret2) = _redeem(key, cs, modes, datas);
        assertRefused(ok2, ret2, abi.encodeWithSelector(IKeyward.InvalidPermissionContext.selector, 1), "index 1");
        assertEq(target.counter(), 0);
    }

    // ------------------------------------------------------------------------------------------------------------
    // Modes and malformed input
    // ------------------------------------------------------------------------------------------------------------

    function test_redeem_unsupportedModes_refused() public {
        bytes32[6] memory bad = [
            MODE_7579_SINGLE_TRY,
            MODE_7579_BATCH_TRY,
            bytes32(uint256(0xfe) << 248), // static call
            bytes32(uint256(0xff) << 248), // delegatecall
            bytes32(uint256(0x01) << 248) | bytes32(uint256(1) << 200), // batch with a mode selector
            bytes32(uint256(1)) // single with a payload
        ];
        bytes[] memory contexts = new bytes[](1);
        contexts[0] = _context(key.keyHash);
        bytes[] memory datas = new bytes[](1);
        datas[0] = abi.encode(_bump());
        bytes32[] memory modes = new bytes32[](1);
        for (uint256 i; i < bad.length; ++i) {
            modes[0] = bad[i];
            (bool ok, bytes memory ret) = _redeem(key, contexts, modes, datas);
            assertRefused(ok, ret, abi.encodeWithSelector(IKeyward.UnsupportedRedemptionMode.selector, bad[i]), "mode");
        }
        assertEq(target.counter(), 0);
    }

    function test_redeem_malformedInput_refused() public {
        bytes[] memory contexts = new bytes[](1);
        contexts[0] = _context(key.keyHash);
        bytes32[] memory modes = new bytes32[](1);
        bytes[] memory datas = new bytes[](1);
        // A single execution shorter than target + value.
        datas[0] = abi.encodePacked(address(target), uint248(0));
        (bool ok, bytes memory ret) = _redeem(key, contexts, modes, datas);
        assertRefused(ok, ret, abi.encodeWithSelector(IKeyward.MalformedExecution.selector, 0), "short single");
        // Length mismatches and nothing at all.
        bytes memory mismatch = abi.encodeWithSelector(IKeyward.RedemptionLengthMismatch.selector);
        (ok, ret) = _redeem(key, new bytes[](2), modes, datas);
        assertRefused(ok, ret, mismatch, "contexts");
        (ok, ret) = _redeem(key, contexts, modes, new bytes[](0));
        assertRefused(ok, ret, mismatch, "datas");
        (ok, ret) = _redeem(key, new bytes[](0), new bytes32[](0), new bytes[](0));
        assertRefused(ok, ret, mismatch, "empty");
    }

    // ------------------------------------------------------------------------------------------------------------
    // The key's rules, exactly as on the direct path
    // ------------------------------------------------------------------------------------------------------------

    /// @dev Window both sides, pause both states, revocation: the same answers as the direct path.
    function test_redeem_windowPauseRevocation_likeDirect() public {
        uint256 exp = block.timestamp + 1 days;
        vm.warp(exp);
        _bothAccepted(key, _bump(), "at expiration");
        vm.warp(exp + 1);
        _bothRefused(key, _bump(), abi.encodeWithSelector(IKeyward.KeyExpired.selector, uint40(exp)), "after");
        vm.warp(exp - 1 days);
        uint256 start = block.timestamp + 100;
        rootCall(abi.encodeCall(IKeyward.update, (key.keyHash, keySettings | (start << 208))));
        vm.warp(start - 1);
        _bothRefused(key, _bump(), abi.encodeWithSelector(IKeyward.KeyNotYetValid.selector, uint40(start)), "before");
        vm.warp(start);
        _bothAccepted(key, _bump(), "at validAfter");
        rootCall(abi.encodeCall(IKeyward.pauseKey, (key.keyHash)));
        _bothRefused(key, _bump(), abi.encodeWithSelector(IKeyward.KeyIsPaused.selector, key.keyHash), "paused");
        rootCall(abi.encodeCall(IKeyward.resumeKey, (key.keyHash)));
        _bothAccepted(key, _bump(), "resumed");
        rootCall(abi.encodeCall(IKeyward.pauseAll, ()));
        _bothRefused(key, _bump(), abi.encodeWithSelector(IKeyward.KeyIsPaused.selector, key.keyHash), "pauseAll");
        rootCall(abi.encodeCall(IKeyward.resumeAll, ()));
        rootCall(abi.encodeCall(IKeyward.revoke, (key.keyHash)));
        _bothRefused(key, _bump(), abi.encodeWithSelector(IKeyward.Unauthorized.selector), "revoked");
    }

    /// @dev A weekly schedule: outside refused, inside accepted, on both.
    function test_redeem_schedule_likeDirect() public {
        rootCall(abi.encodeCall(IKeyward.update, (key.keyHash, keySettings | (uint256(1) << 251))));
        // Every day 00:00 for 12 hours.
        rootCall(abi.encodeCall(IKeyward.setSchedule, (key.keyHash, 0x7f, 0, 12 * 3600)));
        uint256 midnight = block.timestamp - (block.timestamp % 86_400) + 86_400;
        vm.warp(midnight - 1);
        _bothRefused(key, _bump(), abi.encodeWithSelector(IKeyward.OutsideSchedule.selector, midnight - 1), "23:59:59");
        vm.warp(midnight);
        _bothAccepted(key, _bump(), "00:00:00");
    }

    /// @dev Self-calls: another self-call refused; self-revocation only as the last call, as on the direct path.
    function test_redeem_selfCallRules_likeDirect() public {
        TestKey memory other = secp256k1Key("other");
        grant(other, keySettings);
        Call memory revokeOther = Call(account, 0, abi.encodeCall(IKeyward.revoke, (other.keyHash)));
        Call memory revokeSelf = Call(account, 0, abi.encodeCall(IKeyward.revoke, (key.keyHash)));
        Call[] memory calls = new Call[](1);
        calls[0] = revokeOther;
        _bothRefused(key, calls, abi.encodeWithSelector(IKeyward.OnlyAdminCanSelfCall.selector), "revoke other");
        calls = new Call[](2);
        calls[0] = revokeSelf;
        calls[1] = _bump()[0];
        _bothRefused(key, calls, abi.encodeWithSelector(IKeyward.SelfRevocationNotLast.selector), "not last");
        calls[0] = _bump()[0];
        calls[1] = revokeSelf;
        (bool ok,) = tryRedeem(key, _context(key.keyHash), calls);
        assertTrue(ok);
        assertFalse(acct.isRegistered(key.keyHash));
        assertTrue(acct.isRegistered(other.keyHash));
        // Single mode: the same self-call rule.
        TestKey memory third = secp256k1Key("third");
        grant(third, keySettings);
        (bool ok2, bytes memory ret) =
            _single(third, _context(third.keyHash), account, 0, abi.encodeCall(IKeyward.revoke, (other.keyHash)));
        assertRefused(ok2, ret, abi.encodeWithSelector(IKeyward.OnlyAdminCanSelfCall.selector), "single other");
        (ok2,) = _single(third, _context(third.keyHash), account, 0, abi.encodeCall(IKeyward.revoke, (third.keyHash)));
        assertTrue(ok2, "single self-revocation");
        assertFalse(acct.isRegistered(third.keyHash));
    }

    /// @dev The key's hooks see the same callbacks and trailer as on the direct path (operation word 0), and a
    /// refusing hook refuses both the same way.
    function test_redeem_hooks_likeDirect() public {
        MockHook hook = deployHook(0x19);
        TestKey memory k = secp256k1Key("hooked");
        grant(k, settingsOf(address(hook), 0, false, 0));
        Call[] memory calls = new Call[](2);
        calls[0] = _bump()[0];
        calls[1] = _bump()[0];
        (bool ok,) = tryDirect(k, calls);
        assertTrue(ok);
        uint256[3] memory direct = [hook.callCount(0), hook.callCount(3), hook.callCount(4)];
        (ok,) = tryRedeem(k, _context(k.keyHash), calls);
        assertTrue(ok);
        assertEq(hook.callCount(0), 2 * direct[0], "afterVerifySignature");
        assertEq(hook.callCount(3), 2 * direct[1], "beforeExecute");
        assertEq(hook.callCount(4), 2 * direct[2], "afterExecute");
        assertEq(direct[1], 2);
        assertEq(hook.lastOperation(), bytes32(0), "operation word 0");
        assertEq(hook.lastExtra(), (2 << 128) | 1, "batch length and call index");
        assertEq(hook.lastKeyId(), acct.keyIdOf(k.keyHash));
        hook.setAnswer(3, MockHook.Answer.Revert);
        _bothRefused(k, _bump(), abi.encodeWithSelector(MockHook.Refused.selector, 3), "beforeExecute refuses");
        hook.setAnswer(3, MockHook.Answer.Approve);
        hook.setAnswer(0, MockHook.Answer.Revert);
        _bothRefused(k, _bump(), abi.encodeWithSelector(MockHook.Refused.selector, 0), "afterVerifySignature refuses");
    }

    /// @dev Paths that are not the key's own transaction cannot redeem: a non-admin key's batch calling
    /// redeemDelegations is a self-call; an admin's runs as the account, which has no key: Unauthorized.
    function test_redeem_throughOtherPaths_refused() public {
        Call[] memory nested = one(
            account,
            0,
            abi.encodeCall(IKeyward.redeemDelegations, (_oneContext(key.keyHash), new bytes32[](1), _oneSingleBump()))
        );
        (bool ok, bytes memory ret) = tryRelayed(key, nested);
        assertRefused(ok, ret, abi.encodeWithSelector(IKeyward.OnlyAdminCanSelfCall.selector), "non-admin relayed");
        TestKey memory admin = secp256k1Key("admin");
        grant(admin, 1 << 200);
        (ok, ret) = tryDirect(admin, nested);
        assertRefused(
            ok,
            ret,
            abi.encodeWithSelector(
                IKeyward.CallFailed.selector, abi.encodeWithSelector(IKeyward.Unauthorized.selector)
            ),
            "admin self-call"
        );
        assertEq(target.counter(), 0);
    }

    function _oneContext(bytes32 keyHash) internal view returns (bytes[] memory c) {
        c = new bytes[](1);
        c[0] = _context(keyHash);
    }

    function _oneSingleBump() internal view returns (bytes[] memory d) {
        d = new bytes[](1);
        d[0] = abi.encodePacked(address(target), uint256(0), abi.encodeCall(Target.bump, ()));
    }
}
