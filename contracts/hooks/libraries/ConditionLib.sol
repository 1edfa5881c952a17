// SPDX-License-Identifier: MIT
pragma solidity ^0.8.30;

import {ConditionOp} from "../../interfaces/IPolicyHook.sol";

/// @title ConditionLib
/// @notice The comparisons of a rule's conditions, on one argument word (or the call's value).
library ConditionLib {
    /// @dev A condition's `argIndex` that compares the call's value.
    uint16 internal constant VALUE_ARG = type(uint16).max;

    /// @dev Whether `arg` is a canonical word of a `bits`-wide type (0 and 256: any word).
    function fits(uint256 arg, uint256 bits) internal pure returns (bool) {
        return bits == 0 || bits >= 256 || arg >> bits == 0;
    }

    /// @dev `arg op v` for the single-value comparisons (unsigned); false for `None` and `InSet`.
    function holds(ConditionOp op, uint256 arg, uint256 v) internal pure returns (bool) {
        if (op == ConditionOp.Equal) return arg == v;
        if (op == ConditionOp.NotEqual) return arg != v;
        if (op == ConditionOp.LessOrEqual) return arg <= v;
        if (op == ConditionOp.GreaterOrEqual) return arg >= v;
        if (op == ConditionOp.Less) return arg < v;
        if (op == ConditionOp.Greater) return arg > v;
        return false;
    }

    /// @dev The argument a condition reads: the call's value for `VALUE_ARG`, else static word `argIndex` after the
    /// selector; `ok` false when the calldata is too short for it.
    function argument(uint256 argIndex, uint256 value, bytes calldata data)
        internal
        pure
        returns (bool ok, uint256 arg)
    {
        if (argIndex == VALUE_ARG) return (true, value);
        uint256 pos = 4 + argIndex * 32;
        if (data.length < pos + 32) return (false, 0);
        return (true, uint256(bytes32(data[pos:pos + 32])));
    }
}
