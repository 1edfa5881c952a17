// SPDX-License-Identifier: MIT
pragma solidity 0.8.37;

import {Condition, ConditionOp, IPolicyHook, RuleState} from "../../interfaces/IPolicyHook.sol";
import {ConditionLib} from "../libraries/ConditionLib.sol";
import {RuleLib} from "../libraries/RuleLib.sol";
import {PolicyHeader, PolicyHeaderLib} from "../types/PolicyHeader.sol";
import {PolicyStorage} from "./PolicyStorage.sol";

/// @title PolicyRules
/// @notice Which rule admits a call, and its conditions (execution time).
abstract contract PolicyRules is PolicyStorage {
    /// @dev The allowing rule for the call, after denies. A deny on any rule that covers the call wins: (to,
    /// selector), (to, ANY_SELECTOR), (ANY_TARGET, selector), (ANY_TARGET, ANY_SELECTOR), calls without data
    /// included. An allow with ANY_SELECTOR never covers a call without data: plain transfers need an explicit
    /// EMPTY_CALLDATA rule.
    function _match(KeyPolicy storage p, PolicyHeader header, address to, bytes4 selector, bool empty)
        internal
        view
        returns (bytes32, uint256)
    {
        bytes32 exact = RuleLib.id(to, selector, empty);
        Rule storage exactRule = p.rules[exact];
        RuleState exactState = exactRule.state;
        bool hasDeny = header.hasFlag(PolicyHeaderLib.HAS_DENY);
        if (!hasDeny && exactState == RuleState.Allow) return (exact, exactRule.conditionCount);
        bytes32 anySel = RuleLib.id(to, RuleLib.ANY_SELECTOR, false);
        bytes32 anyTarget = RuleLib.id(RuleLib.ANY_TARGET, selector, empty);
        bytes32 anyAny = RuleLib.id(RuleLib.ANY_TARGET, RuleLib.ANY_SELECTOR, false);
        if (hasDeny) {
            if (
                exactState == RuleState.Deny || p.rules[anySel].state == RuleState.Deny
                    || p.rules[anyTarget].state == RuleState.Deny || p.rules[anyAny].state == RuleState.Deny
            ) revert IPolicyHook.CallDenied(to, selector);
        }
        if (exactState == RuleState.Allow) return (exact, exactRule.conditionCount);
        if (!empty && p.rules[anySel].state == RuleState.Allow) return (anySel, p.rules[anySel].conditionCount);
        if (p.rules[anyTarget].state == RuleState.Allow) return (anyTarget, p.rules[anyTarget].conditionCount);
        if (!empty && p.rules[anyAny].state == RuleState.Allow) return (anyAny, p.rules[anyAny].conditionCount);
        revert IPolicyHook.CallNotAllowed(to, selector);
    }

    /// @dev Every condition must hold; a word with bits above the argument's width fails, whatever the op.
    function _checkConditions(Condition[] storage conditions, uint256 value, bytes calldata data) internal view {
        for (uint256 i; i < conditions.length; ++i) {
            Condition storage c = conditions[i];
            (bool ok, uint256 arg) = ConditionLib.argument(c.argIndex, value, data);
            if (!ok || !ConditionLib.fits(arg, c.bits) || !_holds(c.op, arg, c.values)) {
                revert IPolicyHook.ConditionFailed(i);
            }
        }
    }

    function _holds(ConditionOp op, uint256 arg, bytes32[] storage values) private view returns (bool) {
        if (op == ConditionOp.InSet) {
            for (uint256 j; j < values.length; ++j) {
                if (uint256(values[j]) == arg) return true;
            }
            return false;
        }
        return ConditionLib.holds(op, arg, uint256(values[0]));
    }
}
