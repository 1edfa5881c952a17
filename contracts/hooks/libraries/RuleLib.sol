// SPDX-License-Identifier: MIT
pragma solidity ^0.8.30;

/// @title RuleLib
/// @notice How a call rule is named: its id packs (target, selector, whether it is the rule for calls without
/// data), and which ERC-20 selectors have a fast-allow bit in a limited token's caps word.
library RuleLib {
    /// @dev Wildcard target.
    address internal constant ANY_TARGET = address(type(uint160).max);
    /// @dev Wildcard selector (an allow never covers calls without data; a deny covers them too).
    bytes4 internal constant ANY_SELECTOR = 0xffffffff;
    /// @dev The rule selector of calls without data (plain ETH transfers).
    bytes4 internal constant EMPTY_CALLDATA = 0x00000000;
    /// @dev Set in the id of the rule for calls without data.
    uint256 internal constant EMPTY_BIT = 1 << 32;

    bytes4 internal constant TRANSFER = 0xa9059cbb;
    bytes4 internal constant TRANSFER_FROM = 0x23b872dd;
    bytes4 internal constant APPROVE = 0x095ea7b3;
    bytes4 internal constant INCREASE_ALLOWANCE = 0x39509351;

    /// @dev The id of the rule for (`to`, `selector`), `empty` for the rule of calls without data.
    function id(address to, bytes4 selector, bool empty) internal pure returns (bytes32) {
        return bytes32((uint256(uint160(to)) << 96) | (empty ? EMPTY_BIT : 0) | uint256(uint32(selector)));
    }

    /// @dev The (target, selector) a rule id names (`EMPTY_CALLDATA` for the rule of calls without data).
    function target(bytes32 ruleId) internal pure returns (address to, bytes4 selector) {
        to = address(uint160(uint256(ruleId) >> 96));
        selector = uint256(ruleId) & EMPTY_BIT != 0 ? EMPTY_CALLDATA : bytes4(uint32(uint256(ruleId)));
    }

    /// @dev The fast-allow bit of a counted token selector (0 for any other selector): bit 0 transfer, 1
    /// transferFrom, 2 approve, 3 increaseAllowance.
    function fastBit(bytes4 selector) internal pure returns (uint256) {
        if (selector == TRANSFER) return 1;
        if (selector == TRANSFER_FROM) return 2;
        if (selector == APPROVE) return 4;
        if (selector == INCREASE_ALLOWANCE) return 8;
        return 0;
    }

    /// @dev The call's selector: 0 without data; a short call's bytes padded with zeros.
    function selectorOf(bytes calldata data) internal pure returns (bytes4) {
        return data.length == 0 ? bytes4(0) : bytes4(data);
    }
}
