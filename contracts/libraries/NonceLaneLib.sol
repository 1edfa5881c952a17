// SPDX-License-Identifier: MIT
pragma solidity ^0.8.30;

/// @title NonceLaneLib
/// @notice Who may use a nonce lane. A 256-bit nonce is `laneKey (192 bits) | sequence (64 bits)`. A lane key that
/// starts with the tag "KWRD" (0x4b575244) is reserved for one key:
///
///   bit 255        224 223                      96 95            64 63                 0
///       | "KWRD" tag  |       lane id (128)        |  index (32)   |   sequence (64)    |
///
/// Every other lane key (lane 0, Calibur's default, and any key a Calibur client picks) is open to every key, as in
/// Calibur's shared nonce space. The root key's lane id is the low 128 bits of the account's address, a registered
/// key's the low 128 bits of its `keyId` (so a key granted again after a revocation gets new lanes, and nothing it
/// signed in its old ones runs again).
library NonceLaneLib {
    uint256 internal constant TAG = 0x4b575244;

    /// @dev Whether `nonce` is in a reserved lane.
    function isReserved(uint256 nonce) internal pure returns (bool) {
        return nonce >> 224 == TAG;
    }

    /// @dev Whether a key with lane id `id` may use `nonce`: an open lane, or its own.
    function mayUse(uint256 nonce, uint128 id) internal pure returns (bool) {
        return nonce >> 224 != TAG || uint128(nonce >> 96) == id;
    }

    /// @dev The lane id of a registered key.
    function laneId(bytes32 keyId) internal pure returns (uint128) {
        return uint128(uint256(keyId));
    }

    /// @dev The lane id of the root key of `account`.
    function rootLaneId(address account) internal pure returns (uint128) {
        return uint128(uint160(account));
    }

    /// @dev The reserved lane key `index` of lane id `id`.
    function lane(uint128 id, uint32 index) internal pure returns (uint192) {
        return uint192((TAG << 160) | (uint256(id) << 32) | index);
    }
}
