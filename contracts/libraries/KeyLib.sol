// SPDX-License-Identifier: MIT
pragma solidity ^0.8.30;

import {Key, KeyType} from "../interfaces/IKeyward.sol";
import {CalldataLib} from "./CalldataLib.sol";
import {Base64} from "solady/utils/Base64.sol";

/// @title KeyLib
/// @notice Key hashing and signature verification for the three key types.
/// @dev What this code deliberately does not check:
/// - secp256k1: high-s signatures are accepted (ecrecover's rule); replay is prevented by nonces, not by
///   signature uniqueness.
/// - P256 and WebAuthn: verification uses only the P256 precompile at 0x100 (EIP-7951 on Osaka, RIP-7212 on
///   rollups). There is no Solidity fallback: on a chain without the precompile every P256 signature is invalid,
///   and an invalid signature costs one precompile call, never ~300k gas of Solidity arithmetic. Public keys are
///   not checked to lie on the curve (the precompile rejects signatures for such keys). High-s is rejected.
/// - WebAuthn: the origin, the rpIdHash, the signature counter and the user-verification (UV) flag are not
///   checked; user presence (UP), the type "webauthn.get" and the challenge are.
library KeyLib {
    /// @dev The root key's hash: the account's own address.
    bytes32 internal constant ROOT_KEY_HASH = bytes32(0);

    uint256 private constant P256_PRECOMPILE = 0x100;
    /// @dev P256 group order / 2: signatures with a larger `s` are rejected.
    uint256 private constant P256_HALF_N = 0x7fffffff800000007fffffffffffffffde737d56d38bcf4279dce5617e3192a8;

    /// @dev `keccak256(abi.encode(keyType, keccak256(publicKey)))`, as Calibur.
    function hash(Key calldata key) internal pure returns (bytes32) {
        return hash(key.keyType, key.publicKey);
    }

    function hash(KeyType keyType, bytes calldata publicKey) internal pure returns (bytes32) {
        return keccak256(abi.encode(keyType, keccak256(publicKey)));
    }

    /// @dev The hash of the secp256k1 key of `signer`.
    function hashSecp256k1(address signer) internal pure returns (bytes32 h) {
        assembly ("memory-safe") {
            mstore(0x00, signer)
            mstore(0x20, keccak256(0x00, 0x20))
            mstore(0x00, 2) // KeyType.Secp256k1
            h := keccak256(0x00, 0x40)
        }
    }

    /// @dev ecrecover for 65-byte (r, s, v) and 64-byte ERC-2098 signatures; `address(0)` when invalid. A 65-byte
    /// signature's v may be 27 / 28 or the bare recovery id 0 / 1; any other v is invalid.
    function recover(bytes32 digest, bytes calldata sig) internal view returns (address signer) {
        bytes32 r;
        bytes32 s;
        uint8 v;
        if (sig.length == 65) {
            assembly ("memory-safe") {
                r := calldataload(sig.offset)
                s := calldataload(add(sig.offset, 0x20))
                v := byte(0, calldataload(add(sig.offset, 0x40)))
                // v = 0 / 1 (the recovery id, as some signers and libraries produce it) means 27 / 28.
                if lt(v, 2) { v := add(v, 27) }
            }
        } else if (sig.length == 64) {
            bytes32 vs;
            assembly ("memory-safe") {
                r := calldataload(sig.offset)
                vs := calldataload(add(sig.offset, 0x20))
            }
            s = vs & bytes32(0x7fffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff);
            v = uint8(uint256(vs >> 255)) + 27;
        } else {
            return address(0);
        }
        assembly ("memory-safe") {
            let m := mload(0x40)
            mstore(m, digest)
            mstore(add(m, 0x20), v)
            mstore(add(m, 0x40), r)
            mstore(add(m, 0x60), s)
            mstore(0x00, 0)
            pop(staticcall(gas(), 1, m, 0x80, 0x00, 0x20))
            signer := mload(0x00)
        }
    }

    /// @dev Whether `sig` is the signature of `digest` by the secp256k1 key `keyHash`: no stored public key is
    /// needed, the recovered signer's key hash must equal `keyHash`.
    function verifySecp256k1(bytes32 keyHash, bytes32 digest, bytes calldata sig) internal view returns (bool) {
        address signer = recover(digest, sig);
        return signer != address(0) && hashSecp256k1(signer) == keyHash;
    }

    /// @dev Whether `sig` is the signature of `digest` by the P256 (`sha256(digest)` signed) or WebAuthn (an
    /// assertion whose challenge is `abi.encode(digest)`) key (x, y).
    function verify(KeyType keyType, uint256 x, uint256 y, bytes32 digest, bytes calldata sig)
        internal
        view
        returns (bool)
    {
        if (keyType == KeyType.P256) {
            if (sig.length != 64) return false;
            (, bytes32 r) = CalldataLib.tryWord(sig, 0);
            (, bytes32 s) = CalldataLib.tryWord(sig, 1);
            return verifyP256(sha256(abi.encodePacked(digest)), uint256(r), uint256(s), x, y);
        }
        return verifyWebAuthn(digest, sig, x, y);
    }

    /// @dev One P256 precompile call; empty return data (an invalid signature, or no precompile) means invalid.
    function verifyP256(bytes32 message, uint256 r, uint256 s, uint256 x, uint256 y) internal view returns (bool ok) {
        if (s > P256_HALF_N || r == 0 || s == 0) return false;
        assembly ("memory-safe") {
            let m := mload(0x40)
            mstore(m, message)
            mstore(add(m, 0x20), r)
            mstore(add(m, 0x40), s)
            mstore(add(m, 0x60), x)
            mstore(add(m, 0x80), y)
            mstore(0x00, 0)
            let success := staticcall(gas(), P256_PRECOMPILE, m, 0xa0, 0x00, 0x20)
            ok := and(success, and(eq(returndatasize(), 0x20), eq(mload(0x00), 1)))
        }
    }

    /// @dev `sig = abi.encode(WebAuthnAuth{bytes authenticatorData, string clientDataJSON, uint256 challengeIndex,
    /// uint256 typeIndex, uint256 r, uint256 s})`.
    function verifyWebAuthn(bytes32 digest, bytes calldata sig, uint256 x, uint256 y) internal view returns (bool) {
        (bool ok, bytes calldata auth) = CalldataLib.tryTuple(sig, 0);
        if (!ok) return false;
        bytes32 message;
        (ok, message) = _webAuthnMessage(auth, digest);
        if (!ok) return false;
        (bool okR, bytes32 r) = CalldataLib.tryWord(auth, 4);
        (bool okS, bytes32 s) = CalldataLib.tryWord(auth, 5);
        return okR && okS && verifyP256(message, uint256(r), uint256(s), x, y);
    }

    /// @dev Checks the assertion's flags, type and challenge; returns the signed message
    /// `sha256(authenticatorData ++ sha256(clientDataJSON))`.
    function _webAuthnMessage(bytes calldata auth, bytes32 digest) private pure returns (bool, bytes32) {
        (bool ok0, bytes calldata authenticatorData) = CalldataLib.tryBytes(auth, 0);
        (bool ok1, bytes calldata clientDataJSON) = CalldataLib.tryBytes(auth, 1);
        (bool ok2, bytes32 challengeIndex) = CalldataLib.tryWord(auth, 2);
        (bool ok3, bytes32 typeIndex) = CalldataLib.tryWord(auth, 3);
        if (!(ok0 && ok1 && ok2 && ok3)) return (false, 0);
        // User present flag (bit 0 of the flags byte at offset 32).
        if (authenticatorData.length < 37 || uint8(authenticatorData[32]) & 0x01 == 0) return (false, 0);
        if (!_startsWithAt(clientDataJSON, uint256(typeIndex), bytes('"type":"webauthn.get"'))) return (false, 0);
        bytes memory challenge =
            abi.encodePacked('"challenge":"', Base64.encode(abi.encodePacked(digest), true, true), '"');
        if (!_startsWithAt(clientDataJSON, uint256(challengeIndex), challenge)) return (false, 0);
        return (true, sha256(abi.encodePacked(authenticatorData, sha256(clientDataJSON))));
    }

    function _startsWithAt(bytes calldata haystack, uint256 index, bytes memory needle) private pure returns (bool) {
        if (index > haystack.length || haystack.length - index < needle.length) return false;
        return keccak256(haystack[index:index + needle.length]) == keccak256(needle);
    }
}
