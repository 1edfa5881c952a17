// SPDX-License-Identifier: MIT
pragma solidity ^0.8.30;

/// @dev What one asset's caps have counted (native value, or one token), in one word:
///
///   bit 255    232 231          192 191                  96 95                   0
///       | (free)  | windowStart    |        total          |      inWindow         |
///
/// - inWindow: spent in the current period window; total: spent over the key's lifetime (both < 2^96).
/// - windowStart: when the current window began (windows are whole periods from the first one).
type SpendState is uint256;

using SpendStateLib for SpendState global;

/// @title SpendStateLib
/// @notice Getters and setters for an asset's spend word.
library SpendStateLib {
    uint256 private constant U96 = type(uint96).max;
    uint256 private constant U40 = type(uint40).max;

    function inWindow(SpendState s) internal pure returns (uint256) {
        return SpendState.unwrap(s) & U96;
    }

    function total(SpendState s) internal pure returns (uint256) {
        return (SpendState.unwrap(s) >> 96) & U96;
    }

    function windowStart(SpendState s) internal pure returns (uint256) {
        return (SpendState.unwrap(s) >> 192) & U40;
    }

    /// @dev `windowSpent` and `totalSpent` < 2^96, `start` < 2^40.
    function pack(uint256 windowSpent, uint256 totalSpent, uint256 start) internal pure returns (SpendState) {
        return SpendState.wrap(windowSpent | (totalSpent << 96) | (start << 192));
    }
}
