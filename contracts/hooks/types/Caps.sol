// SPDX-License-Identifier: MIT
pragma solidity ^0.8.30;

/// @dev One asset's caps (native value, or a limited token with its place in the key's token list), in one word:
///
///   bit 255   244 243  240 239    232 231          192 191                  96 95                   0
///       | (free)  | fast   | index  |     period     |       lifetime        |      perPeriod        |
///
/// - perPeriod / lifetime: caps (0 = none in that dimension), period: window length in seconds (0 = no periodic
///   cap).
/// - a stream (the spend word says which, `SpendState`): perPeriod holds `amountPerSecond` and lifetime holds
///   `maxAmount` (the most the stream ever releases, 0 = no maximum); period is 0.
/// - index (tokens only): position + 1 in the token list; 0 means the token is not limited.
/// - fast (tokens only): for transfer, transferFrom, approve and increaseAllowance (bits 240-243), whether the
///   token's exact rule for that selector is an allow without conditions, so a call needs no rule look-up when the
///   key has no deny rule. The hook keeps these bits in step with the rules.
type Caps is uint256;

using CapsLib for Caps global;

/// @title CapsLib
/// @notice Getters and setters for an asset's caps word.
library CapsLib {
    uint256 private constant U96 = type(uint96).max;
    uint256 private constant U40 = type(uint40).max;

    function perPeriod(Caps t) internal pure returns (uint256) {
        return Caps.unwrap(t) & U96;
    }

    function lifetime(Caps t) internal pure returns (uint256) {
        return (Caps.unwrap(t) >> 96) & U96;
    }

    function period(Caps t) internal pure returns (uint256) {
        return (Caps.unwrap(t) >> 192) & U40;
    }

    /// @dev A stream's rate (the same bits as `perPeriod`).
    function amountPerSecond(Caps t) internal pure returns (uint256) {
        return Caps.unwrap(t) & U96;
    }

    /// @dev A stream's maximum (the same bits as `lifetime`).
    function maxAmount(Caps t) internal pure returns (uint256) {
        return (Caps.unwrap(t) >> 96) & U96;
    }

    function index(Caps t) internal pure returns (uint256) {
        return (Caps.unwrap(t) >> 232) & 0xff;
    }

    function isLimited(Caps t) internal pure returns (bool) {
        return index(t) != 0;
    }

    function pack(uint256 perPeriod_, uint256 lifetime_, uint256 period_, uint256 index_) internal pure returns (Caps) {
        return Caps.wrap(perPeriod_ | (lifetime_ << 96) | (period_ << 192) | (index_ << 232));
    }

    function withIndex(Caps t, uint256 index_) internal pure returns (Caps) {
        return Caps.wrap((Caps.unwrap(t) & ~(uint256(0xff) << 232)) | (index_ << 232));
    }

    /// @dev The fast-allow bits (bit 0 transfer, 1 transferFrom, 2 approve, 3 increaseAllowance).
    function fast(Caps t) internal pure returns (uint256) {
        return (Caps.unwrap(t) >> 240) & 0xf;
    }

    function withFast(Caps t, uint256 bits) internal pure returns (Caps) {
        return Caps.wrap((Caps.unwrap(t) & ~(uint256(0xf) << 240)) | (bits << 240));
    }
}
