// SPDX-License-Identifier: MIT
pragma solidity ^0.8.30;

/// @dev The account's header word, read by every path:
///
///   bit 255      178 177 176 175         152 151         130 129 128 127          96 95                   0
///       |  unused   |pa |ep | grants (24)   | count (22)    | unused |  epoch (32)  |   salt prefix (96)    |
///
/// - salt prefix: the EIP-712 salt's high 96 bits (`updateSalt`).
/// - epoch: the key epoch; keys live under it, so `revokeAll` (epoch + 1) revokes every key in one write.
/// - count: the number of registered keys (the key list's length).
/// - grants: registrations in this epoch (each key's `keyId` includes its number).
/// - ep: the ERC-4337 EntryPoint was overridden (`updateEntryPoint`); its address is then in its own slot.
/// - pa: every non-root key is paused (`pauseAll`), whatever its own pause bit; kept across key epochs, so keys
///   granted after `revokeAll` are paused too until `resumeAll`. Every key path reads this word anyway.
type Header is uint256;

using HeaderLib for Header global;

/// @title HeaderLib
/// @notice Getters and setters for the header word.
library HeaderLib {
    uint256 private constant SALT_MASK = (1 << 96) - 1;
    uint256 private constant EPOCH_SHIFT = 96;
    uint256 private constant EPOCH_MASK = (1 << 32) - 1;
    uint256 private constant COUNT_SHIFT = 130;
    uint256 private constant COUNT_MASK = (1 << 22) - 1;
    uint256 private constant GRANTS_SHIFT = 152;
    uint256 private constant GRANTS_MASK = (1 << 24) - 1;
    uint256 private constant EP_BIT = 176;
    uint256 private constant PAUSED_ALL_BIT = 177;

    uint256 internal constant MAX_EPOCH = EPOCH_MASK;

    function saltPrefix(Header h) internal pure returns (uint96) {
        return uint96(Header.unwrap(h));
    }

    function epoch(Header h) internal pure returns (uint256) {
        return (Header.unwrap(h) >> EPOCH_SHIFT) & EPOCH_MASK;
    }

    function count(Header h) internal pure returns (uint256) {
        return (Header.unwrap(h) >> COUNT_SHIFT) & COUNT_MASK;
    }

    function grants(Header h) internal pure returns (uint256) {
        return (Header.unwrap(h) >> GRANTS_SHIFT) & GRANTS_MASK;
    }

    function entryPointOverridden(Header h) internal pure returns (bool) {
        return (Header.unwrap(h) >> EP_BIT) & 1 == 1;
    }

    function allPaused(Header h) internal pure returns (bool) {
        return (Header.unwrap(h) >> PAUSED_ALL_BIT) & 1 == 1;
    }

    function withAllPaused(Header h, bool paused) internal pure returns (Header) {
        uint256 raw = Header.unwrap(h) & ~uint256(1 << PAUSED_ALL_BIT);
        return Header.wrap(paused ? raw | (1 << PAUSED_ALL_BIT) : raw);
    }

    function withSaltPrefix(Header h, uint96 prefix) internal pure returns (Header) {
        return Header.wrap((Header.unwrap(h) & ~SALT_MASK) | prefix);
    }

    /// @dev `e` <= MAX_EPOCH.
    function withEpoch(Header h, uint256 e) internal pure returns (Header) {
        return Header.wrap((Header.unwrap(h) & ~(EPOCH_MASK << EPOCH_SHIFT)) | (e << EPOCH_SHIFT));
    }

    /// @dev `c` fits 22 bits.
    function withCount(Header h, uint256 c) internal pure returns (Header) {
        return Header.wrap((Header.unwrap(h) & ~(COUNT_MASK << COUNT_SHIFT)) | (c << COUNT_SHIFT));
    }

    /// @dev `g` fits 24 bits.
    function withGrants(Header h, uint256 g) internal pure returns (Header) {
        return Header.wrap((Header.unwrap(h) & ~(GRANTS_MASK << GRANTS_SHIFT)) | (g << GRANTS_SHIFT));
    }

    function withEntryPointOverridden(Header h) internal pure returns (Header) {
        return Header.wrap(Header.unwrap(h) | (1 << EP_BIT));
    }
}
