// SPDX-License-Identifier: MIT
pragma solidity ^0.8.30;

import {Call, IKeyward, SignedBatchedCall} from "../contracts/interfaces/IKeyward.sol";
import {KeywardTestBase, TestKey} from "./utils/KeywardTestBase.sol";
import {MockHook, ProbeHook, Target} from "./utils/MockHook.sol";

/// @notice The relayed path: `execute(SignedBatchedCall, wrappedSignature)`.
contract KeywardRelayedTest is KeywardTestBase {
    Target internal target;

    function setUp() public override {
        super.setUp();
        target = new Target();
    }

    function _bump() internal view returns (Call[] memory) {
        return one(address(target), 0, abi.encodeCall(Target.bump, ()));
    }

    function _relay(TestKey memory k, SignedBatchedCall memory b) internal {
        bytes memory sig = signBatch(k, b);
        vm.prank(address(0xca11));
        acct.execute(b, sig);
    }

    function test_relayed_eachKeyType() public {
        TestKey[3] memory ks = [secp256k1Key("s"), p256Key("p"), webAuthnKey("w")];
        // Lane 0 is open and shared by every key (Calibur's layout): the four batches take its sequences 0..3.
        for (uint256 i; i < 3; ++i) {
            grant(ks[i], 0);
            _relay(ks[i], signedBatch(_bump(), ks[i].keyHash, i));
        }
        _relay(rootTestKey(), signedBatch(_bump(), bytes32(0), 3));
        assertEq(target.counter(), 4);
        assertEq(acct.getSeq(0), 4);
        assertEq(acct.nonceSequenceNumber(0), 4);
    }

    function test_relayed_typehashesMatchCalibur() public view {
        // Typehashes are part of the compatibility promise: recomputed from the type strings.
        SignedBatchedCall memory b = signedBatch(_bump(), keccak256("k"), 7);
        bytes32 callHash = keccak256(
            abi.encode(
                keccak256("Call(address to,uint256 value,bytes data)"),
                b.batchedCall.calls[0].to,
                b.batchedCall.calls[0].value,
                keccak256(b.batchedCall.calls[0].data)
            )
        );
        bytes32 batchHash = keccak256(
            abi.encode(
                keccak256("BatchedCall(Call[] calls,bool revertOnFailure)Call(address to,uint256 value,bytes data)"),
                keccak256(abi.encodePacked(callHash)),
                true
            )
        );
        bytes32 structHash = keccak256(
            abi.encode(
                keccak256(
                    "SignedBatchedCall(BatchedCall batchedCall,uint256 nonce,bytes32 keyHash,address executor,uint256 deadline)BatchedCall(Call[] calls,bool revertOnFailure)Call(address to,uint256 value,bytes data)"
                ),
                batchHash,
                uint256(7),
                b.keyHash,
                address(0),
                uint256(0)
            )
        );
        assertEq(acct.hashSignedBatchedCall(b), acct.hashTypedData(structHash));
        assertEq(
            acct.domainSeparator(),
            keccak256(
                abi.encode(
                    keccak256(
                        "EIP712Domain(string name,string version,uint256 chainId,address verifyingContract,bytes32 salt)"
                    ),
                    keccak256("Keyward"),
                    keccak256("1"),
                    block.chainid,
                    account,
                    bytes32(uint256(uint160(address(implementation))))
                )
            )
        );
    }

    function test_relayed_nonceReplay_reverts() public {
        TestKey memory k = secp256k1Key("s");
        grant(k, 0);
        SignedBatchedCall memory b = signedBatch(_bump(), k.keyHash, 0);
        bytes memory sig = signBatch(k, b);
        acct.execute(b, sig);
        assertEq(acct.getSeq(0), 1);
        vm.expectRevert(IKeyward.InvalidNonce.selector);
        acct.execute(b, sig);
        // Lanes are independent: lane 5 starts at 0, and a nonce ahead of its lane is refused too.
        b = signedBatch(_bump(), k.keyHash, (5 << 64) | 1);
        sig = signBatch(k, b);
        vm.expectRevert(IKeyward.InvalidNonce.selector);
        acct.execute(b, sig);
        _relay(k, signedBatch(_bump(), k.keyHash, 5 << 64));
        assertEq(acct.getSeq(5), 1);
        assertEq(acct.getSeq(0), 1);
        assertEq(target.counter(), 2);
    }

    /// @dev Nonces are Calibur's shared lanes since the redesign (getSeq(keyHash, lane) is gone): what keeps a key
    /// from burning another's pending batch is the reserved lanes. `a` spends nonces in its own reserved lane and in
    /// the open lane 0, and cannot touch `b`'s or the root's reserved lanes.
    function test_relayed_oneKeyCannotBurnAnothersNonces() public {
        TestKey memory a = secp256k1Key("a");
        TestKey memory b = secp256k1Key("b");
        grant(a, 0);
        grant(b, 0);
        uint256 aLane = acct.reservedLane(a.keyHash, 0);
        uint256 bLane = acct.reservedLane(b.keyHash, 0);
        uint256 rootLane = acct.reservedLane(bytes32(0), 0);
        _relay(a, signedBatch(_bump(), a.keyHash, aLane << 64));
        _relay(a, signedBatch(_bump(), a.keyHash, 0));
        uint256[2] memory foreign = [bLane << 64, rootLane << 64];
        for (uint256 i; i < 2; ++i) {
            SignedBatchedCall memory burn = signedBatch(_bump(), a.keyHash, foreign[i]);
            bytes memory burnSig = signBatch(a, burn);
            vm.expectRevert(IKeyward.NonceLaneReserved.selector);
            acct.execute(burn, burnSig);
        }
        assertEq(acct.getSeq(aLane), 1, "a's lane used");
        assertEq(acct.getSeq(bLane), 0, "b's lane untouched");
        assertEq(acct.getSeq(rootLane), 0, "root lane untouched");
        // a cannot sign under b's key hash.
        SignedBatchedCall memory forged = signedBatch(_bump(), b.keyHash, 1);
        bytes memory sig = abi.encode(sign(a, acct.hashSignedBatchedCall(forged)), bytes(""));
        vm.expectRevert(IKeyward.InvalidSignature.selector);
        acct.execute(forged, sig);
        _relay(b, signedBatch(_bump(), b.keyHash, bLane << 64));
        assertEq(target.counter(), 3);
    }

    function test_relayed_executorRestriction() public {
        TestKey memory k = secp256k1Key("s");
        grant(k, 0);
        SignedBatchedCall memory b = signedBatch(_bump(), k.keyHash, 0);
        b.executor = address(0xe);
        bytes memory sig = signBatch(k, b);
        vm.prank(address(0xf));
        vm.expectRevert(IKeyward.WrongExecutor.selector);
        acct.execute(b, sig);
        vm.prank(address(0xe));
        acct.execute(b, sig);
        assertEq(target.counter(), 1);
    }

    function test_relayed_deadlineBoundary() public {
        TestKey memory k = secp256k1Key("s");
        grant(k, 0);
        SignedBatchedCall memory b = signedBatch(_bump(), k.keyHash, 0);
        b.deadline = block.timestamp + 100;
        bytes memory sig = signBatch(k, b);
        vm.warp(b.deadline + 1);
        vm.expectRevert(IKeyward.SignatureExpired.selector);
        acct.execute(b, sig);
        vm.warp(b.deadline);
        acct.execute(b, sig);
        assertEq(target.counter(), 1);
    }

    function test_relayed_badSignatures_revert() public {
        TestKey memory k = p256Key("p");
        grant(k, 0);
        SignedBatchedCall memory b = signedBatch(_bump(), k.keyHash, 0);
        bytes memory good = sign(k, acct.hashSignedBatchedCall(b));
        bytes[4] memory bad = [
            abi.encode(sign(k, keccak256("other")), bytes("")),
            abi.encode(bytes(""), bytes("")),
            bytes.concat(hex"00", abi.encode(good, bytes(""))),
            abi.encode(uint256(1) << 200)
        ];
        for (uint256 i; i < bad.length; ++i) {
            vm.expectRevert(IKeyward.InvalidSignature.selector);
            acct.execute(b, bad[i]);
        }
        uint256 gasBefore = gasleft();
        vm.expectRevert(IKeyward.InvalidSignature.selector);
        acct.execute(b, bad[0]);
        // No Solidity P256 fallback: an invalid P256 signature costs one precompile call, not ~300k gas.
        assertLt(gasBefore - gasleft(), 60_000);
        assertEq(acct.getSeq(0), 0);
    }

    function test_relayed_unknownAndRevokedKeys_revert() public {
        TestKey memory k = secp256k1Key("s");
        SignedBatchedCall memory b = signedBatch(_bump(), k.keyHash, 0);
        bytes memory sig = signBatch(k, b);
        vm.expectRevert(IKeyward.KeyDoesNotExist.selector);
        acct.execute(b, sig);
        grant(k, 0);
        rootCall(abi.encodeCall(IKeyward.revoke, (k.keyHash)));
        vm.expectRevert(IKeyward.KeyDoesNotExist.selector);
        acct.execute(b, sig);
    }

    function test_relayed_expiryAndValidAfterBoundaries() public {
        TestKey memory k = secp256k1Key("s");
        uint40 start = uint40(block.timestamp + 10);
        uint40 end = uint40(block.timestamp + 20);
        grant(k, settingsOf(address(0), end, false, start));
        vm.warp(start - 1);
        SignedBatchedCall memory b = signedBatch(_bump(), k.keyHash, 0);
        bytes memory sig = signBatch(k, b);
        vm.expectRevert(abi.encodeWithSelector(IKeyward.KeyNotYetValid.selector, start));
        acct.execute(b, sig);
        vm.warp(start);
        acct.execute(b, sig);
        vm.warp(end);
        _relay(k, signedBatch(_bump(), k.keyHash, 1));
        vm.warp(uint256(end) + 1);
        b = signedBatch(_bump(), k.keyHash, 2);
        sig = signBatch(k, b);
        vm.expectRevert(abi.encodeWithSelector(IKeyward.KeyExpired.selector, end));
        acct.execute(b, sig);
        assertEq(target.counter(), 2);
    }

    function test_relayed_nonAdminSelfCall_reverts() public {
        TestKey memory k = secp256k1Key("s");
        grant(k, 0);
        TestKey memory other = secp256k1Key("o");
        SignedBatchedCall memory b =
            signedBatch(one(address(0), 0, abi.encodeCall(IKeyward.grant, (other.key, 1 << 200))), k.keyHash, 0);
        bytes memory sig = signBatch(k, b);
        vm.expectRevert(IKeyward.OnlyAdminCanSelfCall.selector);
        acct.execute(b, sig);
    }

    /// @dev afterVerifySignature (0x01) refuses by reverting (HookRejected is gone: the hook's own revert data
    /// bubbles) or by a wrong answer; a refused batch spends no nonce.
    function test_relayed_validationHook_vetoes() public {
        MockHook hook = deployHook(0x1f);
        TestKey memory k = secp256k1Key("s");
        grant(k, settingsOf(address(hook), 0, false, 0));
        hook.setAnswer(0, MockHook.Answer.Revert);
        SignedBatchedCall memory b = signedBatch(_bump(), k.keyHash, 0);
        bytes memory sig = signBatch(k, b);
        vm.expectRevert(abi.encodeWithSelector(MockHook.Refused.selector, 0));
        acct.execute(b, sig);
        hook.setAnswer(0, MockHook.Answer.WrongSelector);
        vm.expectRevert(IKeyward.InvalidHookResponse.selector);
        acct.execute(b, sig);
        assertEq(acct.getSeq(0), 0, "refused batches spend no nonce");
        hook.setAnswer(0, MockHook.Answer.Approve);
        acct.execute(b, sig);
        assertEq(hook.callCount(3), 1);
        assertEq(target.counter(), 1);
    }

    /// @dev The hook sees the batch's EIP-712 digest, the unsigned hookData and Keyward's trailer.
    function test_relayed_validationHook_seesDigestAndHookData() public {
        address probe = address(uint160(uint256(keccak256("relayed probe"))) & ~uint160(0xffff) | 0x01);
        deployCodeTo("MockHook.sol:ProbeHook", probe);
        TestKey memory k = secp256k1Key("s");
        uint256 s = settingsOf(probe, 0, false, 0);
        grant(k, s);
        SignedBatchedCall memory b = signedBatch(_bump(), k.keyHash, 0);
        bytes32 digest = acct.hashSignedBatchedCall(b);
        bytes memory sig = abi.encode(sign(k, digest), bytes("hint"));
        vm.expectRevert(
            abi.encodeWithSelector(
                ProbeHook.Seen.selector, k.keyHash, digest, bytes("hint"), acct.keyIdOf(k.keyHash), s, uint256(0)
            )
        );
        acct.execute(b, sig);
    }
}
