// SPDX-License-Identifier: MIT
pragma solidity ^0.8.30;

/// @title NonceLaneLib
/// @notice Who may use a nonce lane. A 256-bit nonce is `laneKey (192 bits) | sequence (64 bits)`; the lane key is
/// `owner (160 bits) | index (32 bits)`:
///
///   bit 255                           96 95            64 63                 0
///       |        owner (lane id)         |  index (32)   |   sequence (64)    |
///
/// Owner 0: an open lane, usable by every key (lane 0, Calibur's default, is one). Any other owner reserves the
/// lane for one key: the root key's lane id is the account's address, a registered key's is the low 160 bits of
/// its `keyId` (so a key granted again after a revocation gets new lanes, and nothing it signed before runs in them).
library NonceLaneLib {
    /// @dev The lane id in `nonce` (0 for an open lane).
    function owner(uint256 nonce) internal pure returns (uint160) {
        return uint160(nonce >> 96);
    }

    /// @dev Whether a key with lane id `laneId` may use `nonce`.
    function mayUse(uint256 nonce, uint160 id) internal pure returns (bool) {
        uint160 o = owner(nonce);
        return o == 0 || o == id;
    }

    /// @dev The lane id of a registered key.
    function laneId(bytes32 keyId) internal pure returns (uint160) {
        return uint160(uint256(keyId));
    }

    /// @dev The reserved lane key `index` of lane id `id`.
    function lane(uint160 id, uint32 index) internal pure returns (uint192) {
        return (uint192(id) << 32) | index;
    }
}
