// SPDX-License-Identifier: MIT
pragma solidity ^0.8.30;

import {IKeyward} from "../contracts/interfaces/IKeyward.sol";
import {KeywardTestBase, TestKey, WebAuthnAuth} from "./utils/KeywardTestBase.sol";

/// @notice `verifyKeySignature(keyHash, digest, signature)`: the view a hook uses to check a co-signature by another
/// key of the account (root or registered), with the key's window and no TIMESTAMP; never reverts on bad input.
contract VerifyKeySignatureTest is KeywardTestBase {
    bytes32 internal constant DIGEST = keccak256("an operation to co-sign");

    function _check(bytes32 keyHash, bytes memory sig) internal view returns (bool valid, uint40 start, uint40 end) {
        return acct.verifyKeySignature(keyHash, DIGEST, sig);
    }

    function test_verifyKeySignature_root_65And64Bytes() public view {
        (uint8 v, bytes32 r, bytes32 s) = vm.sign(rootKey, DIGEST);
        (bool valid, uint40 start, uint40 end) = _check(0, abi.encodePacked(r, s, v));
        assertTrue(valid);
        assertEq(start, 0);
        assertEq(end, type(uint40).max, "the root's window is 0..max");
        // ERC-2098 compact form.
        bytes32 vs = bytes32(uint256(s) | (uint256(v - 27) << 255));
        (valid,,) = _check(0, abi.encodePacked(r, vs));
        assertTrue(valid);
        // Over another digest: false, and no window.
        (valid, start, end) = acct.verifyKeySignature(0, keccak256("other"), abi.encodePacked(r, s, v));
        assertFalse(valid);
        assertEq(start, 0);
        assertEq(end, 0);
    }

    function test_verifyKeySignature_root_otherSignerRefused() public {
        (, uint256 other) = makeAddrAndKey("other");
        (uint8 v, bytes32 r, bytes32 s) = vm.sign(other, DIGEST);
        (bool valid,,) = _check(0, abi.encodePacked(r, s, v));
        assertFalse(valid);
    }

    /// @dev Each key type with its raw signature (as on the relayed path), and the window it returns.
    function test_verifyKeySignature_eachKeyType_validWithItsWindow() public {
        TestKey[3] memory ks = [secp256k1Key("s"), p256Key("p"), webAuthnKey("w")];
        uint40 start = uint40(block.timestamp + 10);
        uint40 end = uint40(block.timestamp + 1000);
        for (uint256 i; i < 3; ++i) {
            grant(ks[i], settingsOf(address(0), end, false, start));
            (bool valid, uint40 a, uint40 u) = _check(ks[i].keyHash, sign(ks[i], DIGEST));
            assertTrue(valid);
            assertEq(a, start, "validAfter");
            assertEq(u, end, "validUntil = expiration");
            // The window is returned, not checked: a key not yet valid still verifies (the caller narrows).
            assertLt(block.timestamp, a);
            // Another key's signature does not verify for this key hash.
            (valid,,) = _check(ks[i].keyHash, sign(ks[(i + 1) % 3], DIGEST));
            assertFalse(valid);
        }
    }

    function test_verifyKeySignature_neverExpiring_untilIsMax() public {
        TestKey memory k = secp256k1Key("s");
        grant(k, 0);
        (bool valid, uint40 a, uint40 u) = _check(k.keyHash, sign(k, DIGEST));
        assertTrue(valid);
        assertEq(a, 0);
        assertEq(u, type(uint40).max);
    }

    function test_verifyKeySignature_unregisteredAndRevoked_false() public {
        TestKey memory k = p256Key("p");
        bytes memory sig = sign(k, DIGEST);
        (bool valid,,) = _check(k.keyHash, sig);
        assertFalse(valid, "never registered");
        grant(k, 0);
        (valid,,) = _check(k.keyHash, sig);
        assertTrue(valid);
        rootCall(abi.encodeCall(IKeyward.revoke, (k.keyHash)));
        (valid,,) = _check(k.keyHash, sig);
        assertFalse(valid, "revoked");
        grant(k, 0);
        rootCall(abi.encodeCall(IKeyward.revokeAll, ()));
        (valid,,) = _check(k.keyHash, sig);
        assertFalse(valid, "revoked by revokeAll");
    }

    /// @dev Bad signatures answer false, never revert: wrong lengths, garbage, a P256 high-s, a WebAuthn assertion
    /// with a broken encoding or without user presence.
    function test_verifyKeySignature_badSignatures_falseNeverRevert() public {
        TestKey memory s = secp256k1Key("s");
        TestKey memory p = p256Key("p");
        TestKey memory w = webAuthnKey("w");
        grant(s, 0);
        grant(p, 0);
        grant(w, 0);
        bytes[6] memory junk =
            [bytes(""), hex"00", new bytes(63), new bytes(65), new bytes(200), abi.encode(uint256(1) << 250)];
        bytes32[4] memory hashes = [bytes32(0), s.keyHash, p.keyHash, w.keyHash];
        for (uint256 i; i < hashes.length; ++i) {
            for (uint256 j; j < junk.length; ++j) {
                (bool valid, uint40 a, uint40 u) = _check(hashes[i], junk[j]);
                assertFalse(valid);
                assertEq(a, 0);
                assertEq(u, 0);
            }
        }
        // P256 high-s (the same signature's malleable twin) is refused.
        (bytes32 r, bytes32 lowS) = abi.decode(sign(p, DIGEST), (bytes32, bytes32));
        (bool ok,,) = _check(p.keyHash, abi.encode(r, bytes32(P256_N - uint256(lowS))));
        assertFalse(ok, "P256 high-s");
        // WebAuthn without the user-present flag.
        bytes memory assertion = sign(w, DIGEST);
        WebAuthnAuth memory auth = abi.decode(assertion, (WebAuthnAuth));
        auth.authenticatorData[32] = 0x00;
        (ok,,) = _check(w.keyHash, abi.encode(auth));
        assertFalse(ok, "user not present");
        // WebAuthn with a challenge index past the end.
        auth = abi.decode(assertion, (WebAuthnAuth));
        auth.challengeIndex = type(uint256).max;
        (ok,,) = _check(w.keyHash, abi.encode(auth));
        assertFalse(ok, "challenge index out of range");
    }

    /// @dev Any bytes, for any key hash (root, registered of each type, unknown): an answer, never a revert, and
    /// `valid` only with a real signature.
    function testFuzz_verifyKeySignature_neverReverts(bytes calldata sig, uint8 which, bytes32 digest) public {
        TestKey[3] memory ks = [secp256k1Key("s"), p256Key("p"), webAuthnKey("w")];
        for (uint256 i; i < 3; ++i) {
            grant(ks[i], 0);
        }
        bytes32 keyHash = which % 5 == 3 ? bytes32(0) : which % 5 == 4 ? keccak256(sig) : ks[which % 5].keyHash;
        (bool success, bytes memory ret) =
            address(acct).staticcall(abi.encodeCall(IKeyward.verifyKeySignature, (keyHash, digest, sig)));
        assertTrue(success, "never reverts");
        (bool valid,,) = abi.decode(ret, (bool, uint40, uint40));
        assertFalse(valid, "random bytes are not a signature");
    }

    /// @dev No hook is asked: a key whose hook refuses everything still verifies (the caller is the policy).
    function test_verifyKeySignature_callsNoHook() public {
        TestKey memory k = secp256k1Key("s");
        // A hook address without code enables every callback and fails closed whenever it is called.
        address noCode = address(uint160(0xdead0000) | 0x1f);
        grant(k, settingsOf(noCode, 0, false, 0));
        bytes32 h = keccak256("m");
        assertEq(acct.isValidSignature(h, personalSign(k, h)), bytes4(0xffffffff), "a path that asks the hook fails");
        (bool valid,,) = _check(k.keyHash, sign(k, DIGEST));
        assertTrue(valid);
    }
}
