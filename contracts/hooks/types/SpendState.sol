// SPDX-License-Identifier: MIT
pragma solidity ^0.8.30;

/// @dev What one asset's caps have counted (native value, or one token), in one word:
///
///   bit 255  254   232 231          192 191                  96 95                   0
///       | S | (free)  |     start      |        total          | inWindow / initial    |
///
/// - S: the asset's allowance is a stream (`setNativeStream`, `setTokenStream`); else it is periodic and lifetime
///   caps (`Caps`).
/// - total: spent over the key's lifetime (< 2^96); a failed call gives back what it was charged.
/// - periodic caps: inWindow is what was spent in the current period window; start is when that window began
///   (windows are whole periods from the configured start time: the configuration's time unless anchored with
///   `set*LimitFrom`). Before the configured start nothing may be spent.
/// - stream: initial is the amount released at the start time (then `amountPerSecond` accrues, up to the
///   maximum, see `Caps`); start is the stream's start time (before it nothing may be spent).
type SpendState is uint256;

using SpendStateLib for SpendState global;

/// @title SpendStateLib
/// @notice Getters and setters for an asset's spend word.
library SpendStateLib {
    uint256 private constant U96 = type(uint96).max;
    uint256 private constant U40 = type(uint40).max;
    uint256 private constant STREAM = 1 << 255;

    function inWindow(SpendState s) internal pure returns (uint256) {
        return SpendState.unwrap(s) & U96;
    }

    /// @dev A stream's initial amount (the same bits as `inWindow`).
    function initialAmount(SpendState s) internal pure returns (uint256) {
        return SpendState.unwrap(s) & U96;
    }

    function total(SpendState s) internal pure returns (uint256) {
        return (SpendState.unwrap(s) >> 96) & U96;
    }

    function windowStart(SpendState s) internal pure returns (uint256) {
        return (SpendState.unwrap(s) >> 192) & U40;
    }

    function isStream(SpendState s) internal pure returns (bool) {
        return SpendState.unwrap(s) & STREAM != 0;
    }

    /// @dev Periodic and lifetime counts. `windowSpent` and `totalSpent` < 2^96, `start` < 2^40.
    function pack(uint256 windowSpent, uint256 totalSpent, uint256 start) internal pure returns (SpendState) {
        return SpendState.wrap(windowSpent | (totalSpent << 96) | (start << 192));
    }

    /// @dev A stream's counter. `initial` and `totalSpent` < 2^96, `start` < 2^40.
    function packStream(uint256 initial, uint256 totalSpent, uint256 start) internal pure returns (SpendState) {
        return SpendState.wrap(initial | (totalSpent << 96) | (start << 192) | STREAM);
    }

    /// @dev The same word with `total` replaced (`totalSpent` < 2^96).
    function withTotal(SpendState s, uint256 totalSpent) internal pure returns (SpendState) {
        return SpendState.wrap((SpendState.unwrap(s) & ~(U96 << 96)) | (totalSpent << 96));
    }
}
