// SPDX-License-Identifier: MIT
pragma solidity ^0.8.30;

import {
    BatchedCall,
    Call,
    IKeyward,
    PackedUserOperation,
    SignedBatchedCall
} from "../contracts/interfaces/IKeyward.sol";
import {CoSignPolicy, CoSignature, IPolicyHook} from "../contracts/interfaces/IPolicyHook.sol";
import {TestKey} from "./utils/KeywardTestBase.sol";
import {Path, PolicyHookTestBase} from "./utils/PolicyHookTestBase.sol";
import {MockERC20ETH, MockPermit2} from "./utils/PolicyMocks.sol";

/// @notice Issue 16, step-up and consensus: co-signatures by designated keys of the account (root, a passkey, a
/// secp256k1 key) over the operation, carried in the hook data, on the ERC-4337 and relayed paths; the direct path
/// carries none. The hook sits at a 0x1f address (afterVerifySignature enabled).
contract PolicyHookCoSignTest is PolicyHookTestBase {
    TestKey internal root;
    TestKey internal passkey;
    TestKey internal second;
    TestKey internal stranger;

    function policyHookFlags() internal pure override returns (uint160) {
        return 0x1f;
    }

    function setUp() public override {
        super.setUp();
        root = rootTestKey();
        passkey = p256Key("passkey");
        second = secp256k1Key("second");
        stranger = secp256k1Key("stranger");
        grant(passkey, settingsOf(address(0), 0, false, 0));
        grant(second, settingsOf(address(0), 0, false, 0));
        grant(stranger, settingsOf(address(0), 0, false, 0));
        nativeLimits(true, 0, 0, 0, 0);
        allow(R, hook.EMPTY_CALLDATA());
        allow(address(usdc), usdc.transfer.selector);
        allow(address(usdc), usdc.approve.selector);
    }

    // ------------------------------------------------------------------------------------------------------------
    // Helpers
    // ------------------------------------------------------------------------------------------------------------

    function _signers1(bytes32 a) internal pure returns (bytes32[] memory s) {
        s = new bytes32[](1);
        s[0] = a;
    }

    function _signers3(bytes32 a, bytes32 b, bytes32 c) internal pure returns (bytes32[] memory s) {
        s = new bytes32[](3);
        (s[0], s[1], s[2]) = (a, b, c);
    }

    function _coSigners(bytes32[] memory signers, uint8 quorum, uint8 stepUp) internal {
        cfg(abi.encodeCall(IPolicyHook.setCoSigners, (k.keyHash, signers, quorum, stepUp)));
    }

    function _stepUp(address asset, uint96 threshold) internal {
        cfg(abi.encodeCall(IPolicyHook.setStepUp, (k.keyHash, asset, true, threshold)));
    }

    function _coSig(TestKey memory who, bytes32 operation) internal view returns (CoSignature memory) {
        return CoSignature(who.keyHash, sign(who, hook.coSignDigest(account, operation)));
    }

    function _none() internal pure returns (CoSignature[] memory) {
        return new CoSignature[](0);
    }

    function _one(CoSignature memory a) internal pure returns (CoSignature[] memory s) {
        s = new CoSignature[](1);
        s[0] = a;
    }

    function _two(CoSignature memory a, CoSignature memory b) internal pure returns (CoSignature[] memory s) {
        s = new CoSignature[](2);
        (s[0], s[1]) = (a, b);
    }

    /// @dev The key's sponsored operation for `calls` and its hash (what co-signers sign).
    function _op(Call[] memory calls) internal view returns (PackedUserOperation memory op, bytes32 opHash) {
        op = sponsored(userOp(calls));
        opHash = entryPoint.getUserOpHash(op);
    }

    /// @dev Submits `op` signed by the key with `sigs` in its hook data: (false, handleOps' revert data) when
    /// validation refuses it, else the operation's outcome.
    function _submit(PackedUserOperation memory op, bytes32 opHash, CoSignature[] memory sigs)
        internal
        returns (bool ok, bytes memory err)
    {
        op.signature = abi.encode(k.keyHash, sign(k, opHash), abi.encode(sigs));
        (ok, err) = handleOutcome(op);
    }

    /// @dev The key's relayed batch for `calls` (next nonce) and its digest.
    function _batch(Call[] memory calls) internal view returns (SignedBatchedCall memory b, bytes32 digest) {
        b = signedBatch(calls, k.keyHash, acct.getSeq(0));
        digest = acct.hashSignedBatchedCall(b);
    }

    /// @dev Relays `b` signed by the key, with `hookData` after its signature.
    function _relay(SignedBatchedCall memory b, bytes32 digest, bytes memory hookData)
        internal
        returns (bool ok, bytes memory err)
    {
        bytes memory wrapped = abi.encode(sign(k, digest), hookData);
        (ok, err) = account.call(abi.encodeWithSelector(RELAYED_EXECUTE, b, wrapped));
        if (ok) err = "";
    }

    function _required(uint256 needed, uint256 counted) internal pure returns (bytes memory) {
        return abi.encodeWithSelector(IPolicyHook.CoSignaturesRequired.selector, needed, counted);
    }

    function _invalid(bytes32 who) internal pure returns (bytes memory) {
        return abi.encodeWithSelector(IPolicyHook.InvalidCoSignature.selector, who);
    }

    function _pay(uint256 value) internal pure returns (Call[] memory) {
        return one(R, value, "");
    }

    /// @dev Runs `calls` as the key over ERC-4337 with co-signatures by `signers` (over its own hash) and requires
    /// the outcome: success when `err` is empty, else validation's refusal with `err`.
    function _userOpExpect(Call[] memory calls, TestKey[] memory signers, bytes memory err) internal {
        (PackedUserOperation memory op, bytes32 opHash) = _op(calls);
        CoSignature[] memory sigs = new CoSignature[](signers.length);
        for (uint256 i; i < signers.length; ++i) {
            sigs[i] = _coSig(signers[i], opHash);
        }
        (bool ok, bytes memory got) = _submit(op, opHash, sigs);
        if (err.length == 0) {
            assertTrue(ok, string.concat("user operation refused: ", vm.toString(got)));
        } else {
            assertFalse(ok, "user operation accepted");
            assertEq(got, validationRefusal(err));
        }
    }

    /// @dev The same over the relayed path (the signed batch heads the hook data).
    function _relayExpect(Call[] memory calls, TestKey[] memory signers, bytes memory err) internal {
        (SignedBatchedCall memory b, bytes32 digest) = _batch(calls);
        CoSignature[] memory sigs = new CoSignature[](signers.length);
        for (uint256 i; i < signers.length; ++i) {
            sigs[i] = _coSig(signers[i], digest);
        }
        (bool ok, bytes memory got) = _relay(b, digest, abi.encode(b, sigs));
        if (err.length == 0) {
            assertTrue(ok, string.concat("relayed batch refused: ", vm.toString(got)));
        } else {
            assertFalse(ok, "relayed batch accepted");
            assertEq(got, err);
        }
    }

    function _keys() internal pure returns (TestKey[] memory) {
        return new TestKey[](0);
    }

    function _keys(TestKey memory a) internal pure returns (TestKey[] memory s) {
        s = new TestKey[](1);
        s[0] = a;
    }

    function _keys(TestKey memory a, TestKey memory b) internal pure returns (TestKey[] memory s) {
        s = new TestKey[](2);
        (s[0], s[1]) = (a, b);
    }

    // ------------------------------------------------------------------------------------------------------------
    // Step-up
    // ------------------------------------------------------------------------------------------------------------

    /// @dev Native value above 1 ether needs the root's co-signature: at the threshold none, one wei above it
    /// refused without, accepted with (ERC-4337 and relayed).
    function test_stepUp_nativeAboveThresholdNeedsRootCoSignature() public {
        _coSigners(_signers1(bytes32(0)), 0, 1);
        _stepUp(address(0), 1 ether);
        _userOpExpect(_pay(1 ether), _keys(), "");
        _userOpExpect(_pay(1 ether + 1), _keys(), _required(1, 0));
        _userOpExpect(_pay(1 ether + 1), _keys(root), "");
        _relayExpect(_pay(1 ether), _keys(), "");
        _relayExpect(_pay(1 ether + 1), _keys(), _required(1, 0));
        _relayExpect(_pay(1 ether + 1), _keys(root), "");
        assertEq(R.balance, 4 ether + 2);
    }

    /// @dev A token amount above the threshold needs the named passkey (P256): the root is not designated here.
    /// Counted as the caps count: transfer and approve alike.
    function test_stepUp_tokenAboveThresholdNeedsNamedPasskey() public {
        _coSigners(_signers1(passkey.keyHash), 0, 1);
        _stepUp(address(usdc), 100e6);
        Call[] memory big = transferCall(R, 100e6 + 1);
        Call[] memory bigApprove = one(address(usdc), 0, abi.encodeCall(usdc.approve, (OTHER, 100e6 + 1)));
        bytes memory notDesignated = abi.encodeWithSelector(IPolicyHook.CoSignerNotDesignated.selector, bytes32(0));
        _userOpExpect(transferCall(R, 100e6), _keys(), "");
        _userOpExpect(big, _keys(), _required(1, 0));
        _userOpExpect(bigApprove, _keys(), _required(1, 0));
        _userOpExpect(big, _keys(root), notDesignated);
        _userOpExpect(big, _keys(passkey), "");
        _relayExpect(big, _keys(), _required(1, 0));
        _relayExpect(big, _keys(root), notDesignated);
        _relayExpect(bigApprove, _keys(passkey), "");
        _relayExpect(big, _keys(passkey), "");
        assertEq(usdc.balanceOf(R), 300e6 + 2);
        assertEq(usdc.allowance(account, OTHER), 100e6 + 1);
    }

    /// @dev One call above the threshold anywhere in a batch is enough to need the co-signature.
    function test_stepUp_anyCallOfTheBatch() public {
        _coSigners(_signers1(bytes32(0)), 0, 1);
        _stepUp(address(0), 1 ether);
        Call[] memory calls = new Call[](3);
        calls[0] = Call(R, 1, "");
        calls[1] = transferCall(R, 5)[0];
        calls[2] = Call(R, 1 ether + 1, "");
        _userOpExpect(calls, _keys(), _required(1, 0));
        _relayExpect(calls, _keys(), _required(1, 0));
        _relayExpect(calls, _keys(root), "");
    }

    /// @dev Counted as the native caps count: ERC20ETH and Permit2 naming ERC20ETH move native value too, and
    /// need the co-signature above the threshold (relayed and ERC-4337); approvals count as moves.
    function test_stepUp_everyNativeRouteCounts() public {
        MockERC20ETH eth20 = deployERC20ETH();
        MockPermit2 permit2 = deployPermit2();
        Call[] memory setup = new Call[](3);
        setup[0] = Call(account, 0, abi.encodeCall(IKeyward.approveNative, (ERC20_ETH, type(uint256).max)));
        setup[1] = Call(ERC20_ETH, 0, abi.encodeCall(eth20.approve, (PERMIT2, type(uint256).max)));
        setup[2] = Call(
            PERMIT2, 0, abi.encodeCall(permit2.approve, (ERC20_ETH, account, type(uint160).max, type(uint48).max))
        );
        rootExecute(setup);
        allow(ERC20_ETH, hook.ANY_SELECTOR());
        allow(PERMIT2, hook.ANY_SELECTOR());
        _coSigners(_signers1(bytes32(0)), 0, 1);
        _stepUp(address(0), 1 ether);
        Call[] memory routes = new Call[](4);
        routes[0] = Call(ERC20_ETH, 0, abi.encodeCall(eth20.transfer, (R, 1 ether + 1)));
        routes[1] = Call(ERC20_ETH, 0, abi.encodeCall(eth20.approve, (OTHER, 1 ether + 1)));
        routes[2] = Call(PERMIT2, 0, abi.encodeCall(permit2.approve, (ERC20_ETH, OTHER, uint160(1 ether + 1), 0)));
        routes[3] =
            Call(PERMIT2, 0, abi.encodeCall(permit2.transferFrom, (account, R, uint160(1 ether + 1), ERC20_ETH)));
        for (uint256 i; i < routes.length; ++i) {
            Call[] memory c = new Call[](1);
            c[0] = routes[i];
            _relayExpect(c, _keys(), _required(1, 0));
            _userOpExpect(c, _keys(), _required(1, 0));
            expectRun(Path.Direct, c, _required(1, 0));
            _relayExpect(c, _keys(root), "");
        }
        assertEq(R.balance, 2 ether + 2);
        // At the threshold, no co-signature.
        Call[] memory at = new Call[](1);
        at[0] = Call(ERC20_ETH, 0, abi.encodeCall(eth20.transfer, (R, 1 ether)));
        _userOpExpect(at, _keys(), "");
        assertEq(R.balance, 3 ether + 2);
    }

    /// @dev Fuzz: a token transfer needs the co-signature exactly when it moves more than the threshold (relayed
    /// and ERC-4337), and always passes with it.
    function testFuzz_stepUp_tokenThresholdBoundary(uint64 threshold, uint64 amount) public {
        _coSigners(_signers1(passkey.keyHash), 0, 1);
        _stepUp(address(usdc), threshold);
        // Up to three transfers of `amount` succeed (relayed, ERC-4337 and co-signed relayed).
        usdc.mint(account, 3 * uint256(type(uint64).max));
        Call[] memory c = transferCall(R, amount);
        bytes memory err = amount > threshold ? _required(1, 0) : bytes("");
        _relayExpect(c, _keys(), err);
        _userOpExpect(c, _keys(), err);
        _relayExpect(c, _keys(passkey), "");
    }

    /// @dev Attack: a co-signature over a different operation is refused, on both paths.
    function test_stepUpAttack_coSignatureOverAnotherOperationRefused() public {
        _coSigners(_signers1(passkey.keyHash), 0, 1);
        _stepUp(address(0), 1 ether);
        (PackedUserOperation memory op, bytes32 opHash) = _op(_pay(2 ether));
        (bool ok, bytes memory err) = _submit(op, opHash, _one(_coSig(passkey, keccak256("another operation"))));
        assertFalse(ok);
        assertEq(err, validationRefusal(_invalid(passkey.keyHash)));
        (SignedBatchedCall memory b, bytes32 digest) = _batch(_pay(2 ether));
        (ok, err) = _relay(b, digest, abi.encode(b, _one(_coSig(passkey, opHash))));
        assertFalse(ok);
        assertEq(err, _invalid(passkey.keyHash));
        // A signature of the operation itself (not of its co-signature digest) is not a co-signature either.
        (ok, err) = _relay(b, digest, abi.encode(b, _one(CoSignature(passkey.keyHash, sign(passkey, digest)))));
        assertFalse(ok);
        assertEq(err, _invalid(passkey.keyHash));
        assertEq(R.balance, 0);
    }

    /// @dev Attack: a co-signature replayed onto a second operation (same calls, next nonce) is refused.
    function test_stepUpAttack_replayOntoSecondOperationRefused() public {
        _coSigners(_signers1(passkey.keyHash), 0, 1);
        _stepUp(address(0), 1 ether);
        (PackedUserOperation memory op, bytes32 opHash) = _op(_pay(2 ether));
        CoSignature[] memory sigs = _one(_coSig(passkey, opHash));
        (bool ok,) = _submit(op, opHash, sigs);
        assertTrue(ok);
        (PackedUserOperation memory op2, bytes32 opHash2) = _op(_pay(2 ether));
        assertTrue(opHash2 != opHash);
        bytes memory err;
        (ok, err) = _submit(op2, opHash2, sigs);
        assertFalse(ok);
        assertEq(err, validationRefusal(_invalid(passkey.keyHash)));
        // Relayed: the first batch's co-signature on the next batch.
        (SignedBatchedCall memory b, bytes32 digest) = _batch(_pay(2 ether));
        CoSignature[] memory relayedSigs = _one(_coSig(passkey, digest));
        (ok,) = _relay(b, digest, abi.encode(b, relayedSigs));
        assertTrue(ok);
        (SignedBatchedCall memory b2, bytes32 digest2) = _batch(_pay(2 ether));
        (ok, err) = _relay(b2, digest2, abi.encode(b2, relayedSigs));
        assertFalse(ok);
        assertEq(err, _invalid(passkey.keyHash));
        // And the same signed batch again: its nonce is used.
        (ok,) = _relay(b, digest, abi.encode(b, relayedSigs));
        assertFalse(ok);
        assertEq(R.balance, 4 ether);
    }

    /// @dev The direct path carries no co-signature: a call above the threshold is refused there (Calibur and
    /// ERC-7821 entry points); at the threshold it runs.
    function test_stepUp_directPathRefused() public {
        _coSigners(_signers1(bytes32(0)), 0, 1);
        _stepUp(address(0), 1 ether);
        _stepUp(address(usdc), 100e6);
        expectRun(Path.Direct, _pay(1 ether + 1), _required(1, 0));
        expectRun(Path.DirectBatched, _pay(1 ether + 1), _required(1, 0));
        expectRun(Path.Direct, transferCall(R, 100e6 + 1), _required(1, 0));
        expectRun(Path.Direct, _pay(1 ether), "");
        expectRun(Path.DirectBatched, transferCall(R, 100e6), "");
        assertEq(R.balance, 1 ether);
    }

    /// @dev Attack: the relayed hook data names a different batch (small, needing nothing) than the one signed.
    function test_stepUpAttack_relayedBatchSwapRefused() public {
        _coSigners(_signers1(bytes32(0)), 0, 1);
        _stepUp(address(0), 1 ether);
        (SignedBatchedCall memory big, bytes32 digest) = _batch(_pay(5 ether));
        (SignedBatchedCall memory small,) = _batch(_pay(1));
        bytes memory mismatch = abi.encodeWithSelector(IPolicyHook.CoSignedBatchMismatch.selector);
        (bool ok, bytes memory err) = _relay(big, digest, abi.encode(small, _none()));
        assertFalse(ok);
        assertEq(err, mismatch);
        // Without the batch in the hook data, a co-signing key's relayed batch is refused whatever it moves.
        (ok, err) = _relay(big, digest, "");
        assertFalse(ok);
        assertEq(err, mismatch);
        (SignedBatchedCall memory tiny, bytes32 tinyDigest) = _batch(_pay(1));
        (ok, err) = _relay(tiny, tinyDigest, "");
        assertFalse(ok);
        assertEq(err, mismatch);
        (ok,) = _relay(tiny, tinyDigest, abi.encode(tiny, _none()));
        assertTrue(ok);
        assertEq(R.balance, 1);
    }

    // ------------------------------------------------------------------------------------------------------------
    // Consensus
    // ------------------------------------------------------------------------------------------------------------

    /// @dev 2 of 3 (root, a secp256k1 key, a passkey) for every operation: one is not enough, the same signer twice
    /// counts once, two distinct ones pass; on ERC-4337 and relayed; the direct path is refused.
    function test_consensus_twoOfThreeOnEveryPath() public {
        _coSigners(_signers3(bytes32(0), second.keyHash, passkey.keyHash), 2, 0);
        Call[] memory tiny = _pay(1);
        _userOpExpect(tiny, _keys(), _required(2, 0));
        _userOpExpect(tiny, _keys(second), _required(2, 1));
        _userOpExpect(tiny, _keys(second, second), _required(2, 1));
        _userOpExpect(tiny, _keys(passkey, root), "");
        _relayExpect(tiny, _keys(passkey), _required(2, 1));
        _relayExpect(tiny, _keys(root, root), _required(2, 1));
        _relayExpect(tiny, _keys(second, passkey), "");
        expectRun(Path.Direct, tiny, _required(2, 0));
        expectRun(Path.DirectBatched, tiny, _required(2, 0));
        assertEq(R.balance, 2);
    }

    /// @dev Consensus and step-up together: the larger count applies above the threshold.
    function test_consensus_withStepUpTheLargerCountApplies() public {
        _coSigners(_signers3(bytes32(0), second.keyHash, passkey.keyHash), 1, 3);
        _stepUp(address(0), 1 ether);
        _userOpExpect(_pay(1 ether), _keys(second), "");
        _userOpExpect(_pay(1 ether + 1), _keys(second, passkey), _required(3, 2));
        _relayExpect(_pay(1 ether + 1), _keys(second, passkey), _required(3, 2));
        TestKey[] memory all = new TestKey[](3);
        (all[0], all[1], all[2]) = (root, second, passkey);
        _relayExpect(_pay(1 ether + 1), all, "");
        assertEq(R.balance, 2 ether + 1);
    }

    /// @dev Fuzz: any list of co-signers (repeats included) passes exactly when it names at least k distinct ones.
    function testFuzz_consensus_distinctSignersCount(uint8 quorum, uint8[5] memory picks, uint8 len) public {
        quorum = uint8(bound(quorum, 1, 3));
        len = uint8(bound(len, 0, 5));
        _coSigners(_signers3(bytes32(0), second.keyHash, passkey.keyHash), quorum, 0);
        TestKey[3] memory pool = [root, second, passkey];
        TestKey[] memory chosen = new TestKey[](len);
        uint256 seen;
        uint256 distinct;
        for (uint256 i; i < len; ++i) {
            uint256 j = picks[i] % 3;
            chosen[i] = pool[j];
            if (seen & (1 << j) == 0) (seen, distinct) = (seen | (1 << j), distinct + 1);
        }
        _relayExpect(_pay(1), chosen, distinct >= quorum ? bytes("") : _required(quorum, distinct));
    }

    // ------------------------------------------------------------------------------------------------------------
    // Who may co-sign
    // ------------------------------------------------------------------------------------------------------------

    /// @dev A registered but undesignated key, a bad signature, a revoked co-signer and a paused one: refused.
    function test_coSign_onlyDesignatedValidUnpausedKeys() public {
        _coSigners(_signers3(bytes32(0), second.keyHash, passkey.keyHash), 1, 0);
        Call[] memory tiny = _pay(1);
        _relayExpect(
            tiny, _keys(stranger), abi.encodeWithSelector(IPolicyHook.CoSignerNotDesignated.selector, stranger.keyHash)
        );
        // `second`'s address signing with the stranger's private key.
        TestKey memory forged = stranger;
        forged.keyHash = second.keyHash;
        _relayExpect(tiny, _keys(forged), _invalid(second.keyHash));
        _userOpExpect(tiny, _keys(forged), _invalid(second.keyHash));
        // Paused, then resumed.
        rootCall(abi.encodeWithSignature("pauseKey(bytes32)", second.keyHash));
        _relayExpect(tiny, _keys(second), _invalid(second.keyHash));
        rootCall(abi.encodeWithSignature("resumeKey(bytes32)", second.keyHash));
        _relayExpect(tiny, _keys(second), "");
        // Revoked.
        rootCall(abi.encodeCall(IKeyward.revoke, (second.keyHash)));
        _relayExpect(tiny, _keys(second), _invalid(second.keyHash));
        _userOpExpect(tiny, _keys(second), _invalid(second.keyHash));
        _relayExpect(tiny, _keys(root), "");
    }

    /// @dev A co-signer's window: relayed batches check it against the block's time (both sides of its
    /// expiration); ERC-4337 validation has no clock, so there it counts only when its window covers the
    /// operation's (the key never expires here: an expiring co-signer never counts, the root always does).
    function test_coSign_coSignerWindow() public {
        uint40 exp = uint40(block.timestamp + 1 hours);
        rootCall(abi.encodeCall(IKeyward.revoke, (second.keyHash)));
        grant(second, settingsOf(address(0), exp, false, 0));
        _coSigners(_signers3(bytes32(0), second.keyHash, passkey.keyHash), 1, 0);
        Call[] memory tiny = _pay(1);
        vm.warp(exp);
        _relayExpect(tiny, _keys(second), "");
        vm.warp(exp + 1);
        _relayExpect(tiny, _keys(second), _invalid(second.keyHash));
        vm.warp(exp - 10);
        _userOpExpect(tiny, _keys(second), _invalid(second.keyHash));
        _userOpExpect(tiny, _keys(root), "");
    }

    // ------------------------------------------------------------------------------------------------------------
    // Configuration and keys that use none of it
    // ------------------------------------------------------------------------------------------------------------

    function _cfgExpect(bytes memory data, bytes memory err) internal {
        vm.prank(account);
        vm.expectRevert(abi.encodeWithSelector(IKeyward.CallFailed.selector, err));
        acct.execute(MODE_REVERT, abi.encode(one(address(hook), 0, data)));
    }

    function test_coSign_configuration() public {
        bytes memory bad = abi.encodeWithSelector(IPolicyHook.InvalidConfiguration.selector);
        bytes32[] memory s = _signers3(bytes32(0), second.keyHash, passkey.keyHash);
        _cfgExpect(abi.encodeCall(IPolicyHook.setCoSigners, (k.keyHash, s, 4, 0)), bad); // quorum > n
        _cfgExpect(abi.encodeCall(IPolicyHook.setCoSigners, (k.keyHash, s, 0, 4)), bad); // step-up > n
        _cfgExpect(
            abi.encodeCall(
                IPolicyHook.setCoSigners, (k.keyHash, _signers3(bytes32(0), bytes32(0), second.keyHash), 1, 0)
            ),
            bad
        );
        _cfgExpect(abi.encodeCall(IPolicyHook.setCoSigners, (k.keyHash, _signers1(k.keyHash), 1, 0)), bad); // itself
        bytes32[] memory nine = new bytes32[](9);
        for (uint256 i; i < 9; ++i) {
            nine[i] = bytes32(i + 100);
        }
        _cfgExpect(
            abi.encodeCall(IPolicyHook.setCoSigners, (k.keyHash, nine, 1, 0)),
            abi.encodeWithSelector(IPolicyHook.TooManyEntries.selector, 8)
        );
        _cfgExpect(abi.encodeCall(IPolicyHook.setStepUp, (k.keyHash, ERC20_ETH, true, 1)), bad);
        _cfgExpect(abi.encodeCall(IPolicyHook.setStepUp, (k.keyHash, PERMIT2, true, 1)), bad);
        // Set, read back, removed.
        _coSigners(s, 2, 3);
        _stepUp(address(0), 7);
        _stepUp(address(usdc), 9);
        _stepUp(address(target), 11);
        CoSignPolicy memory v = hook.getCoSign(account, k.keyHash);
        assertEq(v.signers.length, 3);
        assertEq(v.signers[2], passkey.keyHash);
        assertEq(v.quorum, 2);
        assertEq(v.stepUpSigners, 3);
        assertTrue(v.nativeStepUp);
        assertEq(v.nativeThreshold, 7);
        assertEq(v.tokens.length, 2);
        assertEq(v.tokens[1], address(target));
        assertEq(v.tokenThresholds[0], 9);
        expectRun(Path.Direct, _pay(1), _required(2, 0));
        cfg(abi.encodeCall(IPolicyHook.setStepUp, (k.keyHash, address(usdc), false, 0)));
        v = hook.getCoSign(account, k.keyHash);
        assertEq(v.tokens.length, 1);
        assertEq(v.tokens[0], address(target));
        cfg(abi.encodeCall(IPolicyHook.setStepUp, (k.keyHash, address(target), false, 0)));
        cfg(abi.encodeCall(IPolicyHook.setStepUp, (k.keyHash, address(0), false, 0)));
        _coSigners(new bytes32[](0), 0, 0);
        v = hook.getCoSign(account, k.keyHash);
        assertEq(v.signers.length, 0);
        assertEq(v.quorum, 0);
        assertFalse(v.nativeStepUp);
        // Nothing needs co-signatures any more: the direct path moves any amount again.
        expectRun(Path.Direct, _pay(5 ether), "");
        assertEq(hook.MAX_CO_SIGNERS(), 8);
        assertEq(hook.MAX_STEP_UP_TOKENS(), 4);
        assertEq(hook.CO_SIGNATURE_TYPEHASH(), keccak256("CoSignature(bytes32 operation)"));
        assertEq(
            hook.coSignDigest(account, bytes32(uint256(1))),
            acct.hashTypedData(keccak256(abi.encode(keccak256("CoSignature(bytes32 operation)"), uint256(1))))
        );
    }

    /// @dev A threshold with no co-signer designated: above it nothing passes (fail closed).
    function test_stepUp_withoutCoSignersNothingAboveThresholdPasses() public {
        _stepUp(address(0), 1 ether);
        _relayExpect(_pay(1 ether), _keys(), "");
        _relayExpect(_pay(1 ether + 1), _keys(), _required(1, 0));
        _relayExpect(
            _pay(1 ether + 1),
            _keys(root),
            abi.encodeWithSelector(IPolicyHook.CoSignerNotDesignated.selector, bytes32(0))
        );
    }

    /// @dev A key without co-signers at the 0x1f hook runs as before on every path (empty hook data relayed).
    function test_coSign_keyWithoutCoSignersUnaffected() public {
        for (uint256 p; p < 4; ++p) {
            expectRun(Path(p), _pay(3 ether), "");
        }
        assertEq(R.balance, 12 ether);
    }
}

/// @notice At a 0x1e address the hook never sees relayed batches' hook data: co-signature policies are refused
/// there (they could not be enforced on the relayed path).
contract PolicyHookCoSignUnavailableTest is PolicyHookTestBase {
    function test_coSign_refusedAtA0x1eHook() public {
        assertEq(uint160(address(hook)) & 0x1f, 0x1e);
        bytes memory unavailable = abi.encodeWithSelector(IPolicyHook.CoSignaturesUnavailable.selector);
        bytes32[] memory s = new bytes32[](1);
        Call[] memory c = one(address(hook), 0, abi.encodeCall(IPolicyHook.setCoSigners, (k.keyHash, s, 1, 0)));
        vm.prank(account);
        vm.expectRevert(abi.encodeWithSelector(IKeyward.CallFailed.selector, unavailable));
        acct.execute(MODE_REVERT, abi.encode(c));
        c[0].data = abi.encodeCall(IPolicyHook.setStepUp, (k.keyHash, address(0), true, 1));
        vm.prank(account);
        vm.expectRevert(abi.encodeWithSelector(IKeyward.CallFailed.selector, unavailable));
        acct.execute(MODE_REVERT, abi.encode(c));
        // Clearing is always allowed.
        rootExecute(
            one(address(hook), 0, abi.encodeCall(IPolicyHook.setCoSigners, (k.keyHash, new bytes32[](0), 0, 0)))
        );
        rootExecute(one(address(hook), 0, abi.encodeCall(IPolicyHook.setStepUp, (k.keyHash, address(0), false, 0))));
    }
}
