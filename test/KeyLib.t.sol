// SPDX-License-Identifier: MIT
pragma solidity ^0.8.30;

import {Key, KeyType} from "../contracts/interfaces/IKeyward.sol";
import {CalldataLib} from "../contracts/libraries/CalldataLib.sol";
import {KeyLib} from "../contracts/libraries/KeyLib.sol";
import {KeywardTestBase, TestKey, WebAuthnAuth} from "./utils/KeywardTestBase.sol";

/// @notice Exposes KeyLib and CalldataLib over calldata.
contract KeyLibHarness {
    function hash(Key calldata key) external pure returns (bytes32) {
        return KeyLib.hash(key);
    }

    function hashSecp256k1(address a) external pure returns (bytes32) {
        return KeyLib.hashSecp256k1(a);
    }

    function recover(bytes32 digest, bytes calldata sig) external view returns (address) {
        return KeyLib.recover(digest, sig);
    }

    function verify(bytes32 keyHash, KeyType t, uint256 x, uint256 y, bytes32 digest, bytes calldata sig)
        external
        view
        returns (bool)
    {
        if (t == KeyType.Secp256k1) return KeyLib.verifySecp256k1(keyHash, digest, sig);
        return KeyLib.verify(t, x, y, digest, sig);
    }

    function tryBytes(bytes calldata data, uint256 index) external pure returns (bool, bytes memory) {
        (bool ok, bytes calldata out) = CalldataLib.tryBytes(data, index);
        return (ok, out);
    }
}

contract KeyLibTest is KeywardTestBase {
    KeyLibHarness internal h;

    function setUp() public override {
        super.setUp();
        h = new KeyLibHarness();
    }

    function testFuzz_hashSecp256k1_matchesGenericHash(address a) public view {
        assertEq(h.hashSecp256k1(a), h.hash(Key(KeyType.Secp256k1, abi.encode(a))));
    }

    function testFuzz_recover_65And64ByteForms(uint256 pk, bytes32 digest) public view {
        pk = bound(pk, 1, 0xFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFEBAAEDCE6AF48A03BBFD25E8CD0364140);
        (uint8 v, bytes32 r, bytes32 s) = vm.sign(pk, digest);
        address signer = vm.addr(pk);
        assertEq(h.recover(digest, abi.encodePacked(r, s, v)), signer);
        bytes32 vs = bytes32((uint256(v - 27) << 255) | uint256(s));
        assertEq(h.recover(digest, abi.encodePacked(r, vs)), signer);
        // (r, s) read as ERC-2098 means v = 27: the signer only when that was the real parity.
        assertEq(h.recover(digest, abi.encodePacked(r, s)) == signer, v == 27);
        assertEq(h.recover(digest, hex"00"), address(0));
    }

    /// @dev A 65-byte signature with v = 0 / 1 (the bare recovery id) recovers as with 27 / 28; every other v below
    /// 27 or above 28 recovers nothing.
    function testFuzz_recover_vZeroOrOne(uint256 pk, bytes32 digest, uint8 otherV) public view {
        pk = bound(pk, 1, 0xFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFEBAAEDCE6AF48A03BBFD25E8CD0364140);
        (uint8 v, bytes32 r, bytes32 s) = vm.sign(pk, digest);
        address signer = vm.addr(pk);
        assertEq(h.recover(digest, abi.encodePacked(r, s, v - 27)), signer, "recovery id");
        assertEq(h.recover(digest, abi.encodePacked(r, s, v == 27 ? uint8(1) : uint8(0))) == signer, false, "flip");
        vm.assume(otherV > 1 && otherV != 27 && otherV != 28);
        assertEq(h.recover(digest, abi.encodePacked(r, s, otherV)), address(0), "other v");
    }

    function testFuzz_verifyP256_acceptsOwnRejectsOthers(bytes32 digest) public view {
        TestKey memory k = p256Key("p");
        (uint256 x, uint256 y) = abi.decode(k.key.publicKey, (uint256, uint256));
        bytes memory sig = sign(k, digest);
        assertTrue(h.verify(k.keyHash, KeyType.P256, x, y, digest, sig));
        assertFalse(h.verify(k.keyHash, KeyType.P256, x, y, keccak256(abi.encode(digest)), sig));
        // High-s twin of a valid signature is rejected.
        (bytes32 r, bytes32 s) = abi.decode(sig, (bytes32, bytes32));
        assertFalse(h.verify(k.keyHash, KeyType.P256, x, y, digest, abi.encode(r, P256_N - uint256(s))));
        // Wrong length.
        assertFalse(h.verify(k.keyHash, KeyType.P256, x, y, digest, abi.encodePacked(r)));
    }

    /// @dev A secp256k1 key needs no stored public key: the recovered signer's key hash must be the key's.
    function testFuzz_verifySecp256k1_bindsTheKeyHash(uint256 pk, bytes32 digest) public view {
        pk = bound(pk, 1, 0xFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFEBAAEDCE6AF48A03BBFD25E8CD0364140);
        (uint8 v, bytes32 r, bytes32 s) = vm.sign(pk, digest);
        bytes memory sig = abi.encodePacked(r, s, v);
        bytes32 keyHash = h.hash(Key(KeyType.Secp256k1, abi.encode(vm.addr(pk))));
        assertTrue(h.verify(keyHash, KeyType.Secp256k1, 0, 0, digest, sig));
        assertFalse(h.verify(keccak256(abi.encode(keyHash)), KeyType.Secp256k1, 0, 0, digest, sig), "other key");
        assertFalse(h.verify(keyHash, KeyType.Secp256k1, 0, 0, keccak256(abi.encode(digest)), sig), "other digest");
        assertFalse(h.verify(keyHash, KeyType.Secp256k1, 0, 0, digest, hex"00"), "garbage");
    }

    function test_verifyWebAuthn_checksFlagsTypeAndChallenge() public view {
        TestKey memory k = webAuthnKey("w");
        (uint256 x, uint256 y) = abi.decode(k.key.publicKey, (uint256, uint256));
        bytes32 digest = keccak256("d");
        bytes memory good = sign(k, digest);
        assertTrue(h.verify(k.keyHash, KeyType.WebAuthnP256, x, y, digest, good));
        assertFalse(h.verify(k.keyHash, KeyType.WebAuthnP256, x, y, keccak256("other"), good), "challenge");
        (bytes memory ad, string memory cd, uint256 ci, uint256 ti, uint256 r, uint256 s) = _decodeAuth(good);
        ad[32] = 0x00; // user not present
        assertFalse(h.verify(k.keyHash, KeyType.WebAuthnP256, x, y, digest, abi.encode(_auth(ad, cd, ci, ti, r, s))));
        (ad,,,,,) = _decodeAuth(good);
        assertFalse(
            h.verify(k.keyHash, KeyType.WebAuthnP256, x, y, digest, abi.encode(_auth(ad, cd, ci, ti + 1, r, s))),
            "type index"
        );
        assertFalse(
            h.verify(k.keyHash, KeyType.WebAuthnP256, x, y, digest, abi.encode(_auth(ad, cd, 10_000, ti, r, s))),
            "challenge index out of range"
        );
        assertFalse(h.verify(k.keyHash, KeyType.WebAuthnP256, x, y, digest, hex"0badc0de"), "garbage");
    }

    function _auth(bytes memory ad, string memory cd, uint256 ci, uint256 ti, uint256 r, uint256 s)
        internal
        pure
        returns (WebAuthnAuth memory)
    {
        return WebAuthnAuth(ad, cd, ci, ti, r, s);
    }

    function _decodeAuth(bytes memory sig)
        internal
        pure
        returns (bytes memory, string memory, uint256, uint256, uint256, uint256)
    {
        WebAuthnAuth memory a = abi.decode(sig, (WebAuthnAuth));
        return (a.authenticatorData, a.clientDataJSON, a.challengeIndex, a.typeIndex, a.r, a.s);
    }

    function testFuzz_tryBytes_neverRevertsAndMatchesAbiDecode(bytes memory payload, bytes memory junk) public view {
        (bool ok, bytes memory out) = h.tryBytes(abi.encode(payload, junk), 0);
        assertTrue(ok);
        assertEq(out, payload);
        // Arbitrary input never reverts.
        h.tryBytes(junk, 0);
        h.tryBytes(junk, 3);
    }

    function test_tryBytes_outOfRange() public view {
        (bool ok,) = h.tryBytes(abi.encode(uint256(0x20), uint256(100)), 0); // length past the end
        assertFalse(ok);
        (ok,) = h.tryBytes(abi.encode(uint256(1) << 64), 0); // huge offset
        assertFalse(ok);
        (ok,) = h.tryBytes(hex"", 0);
        assertFalse(ok);
    }
}
