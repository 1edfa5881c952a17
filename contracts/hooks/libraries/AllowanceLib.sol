// SPDX-License-Identifier: MIT
pragma solidity ^0.8.30;

import {IPolicyHook} from "../../interfaces/IPolicyHook.sol";
import {Caps} from "../types/Caps.sol";
import {SpendState, SpendStateLib} from "../types/SpendState.sol";

/// @title AllowanceLib
/// @notice One asset's allowance arithmetic, pure in the time it is given: periodic and lifetime caps (windows are
/// whole periods from the configured start time), and streams (ERC-7715 `*-stream`: `initialAmount` at the start
/// time, then `amountPerSecond` accrues; the stream never releases more than `maxAmount`, 0 = no maximum; spending
/// draws it down). Before the start time nothing may be spent, in either shape.
library AllowanceLib {
    uint256 private constant U96 = type(uint96).max;

    /// @dev `SpendLimitExceeded` kinds.
    uint8 internal constant PER_CALL = 0;
    uint8 internal constant PER_PERIOD = 1;
    uint8 internal constant LIFETIME = 2;
    uint8 internal constant STREAM = 3;

    /// @dev `s` after charging `amount` at time `timestamp`; reverts `AllowanceNotStarted` before the start time and
    /// `SpendLimitExceeded` when a cap would be passed (the most any counter holds is 2^96 - 1).
    function charge(Caps caps, SpendState s, address asset, uint256 amount, uint256 timestamp)
        internal
        pure
        returns (SpendState)
    {
        uint256 start = s.windowStart();
        if (timestamp < start) revert IPolicyHook.AllowanceNotStarted(asset, start);
        uint256 total = s.total() + amount;
        if (s.isStream()) {
            uint256 released_ = released(caps, s, timestamp);
            if (total > released_) revert IPolicyHook.SpendLimitExceeded(asset, STREAM, total, released_);
            if (total > U96) revert IPolicyHook.SpendLimitExceeded(asset, LIFETIME, total, U96);
            return s.withTotal(total);
        }
        uint256 inWindow = s.inWindow();
        uint256 period = caps.period();
        if (period != 0 && timestamp >= start + period) {
            start += ((timestamp - start) / period) * period;
            inWindow = 0;
        }
        inWindow += amount;
        uint256 perPeriod = caps.perPeriod();
        if (period != 0 && perPeriod != 0 && inWindow > perPeriod) {
            revert IPolicyHook.SpendLimitExceeded(asset, PER_PERIOD, inWindow, perPeriod);
        }
        uint256 lifetime = caps.lifetime();
        if (lifetime != 0 && total > lifetime) revert IPolicyHook.SpendLimitExceeded(asset, LIFETIME, total, lifetime);
        if (inWindow > U96 || total > U96) revert IPolicyHook.SpendLimitExceeded(asset, LIFETIME, total, U96);
        return SpendStateLib.pack(inWindow, total, start);
    }

    /// @dev `s` after giving back `amount` (a failed call's charge). Never below zero: a window may have rolled
    /// over between charge and refund.
    function refund(SpendState s, uint256 amount) internal pure returns (SpendState) {
        uint256 total = s.total();
        total = total >= amount ? total - amount : 0;
        if (s.isStream()) return s.withTotal(total);
        uint256 inWindow = s.inWindow();
        return SpendStateLib.pack(inWindow >= amount ? inWindow - amount : 0, total, s.windowStart());
    }

    /// @dev What a stream has released by `timestamp` (spent or not): 0 before its start, then `initialAmount +
    /// amountPerSecond * elapsed`, at most `maxAmount` (when not 0).
    function released(Caps caps, SpendState s, uint256 timestamp) internal pure returns (uint256 amount) {
        uint256 start = s.windowStart();
        if (timestamp < start) return 0;
        amount = s.initialAmount() + caps.amountPerSecond() * (timestamp - start);
        uint256 max = caps.maxAmount();
        if (max != 0 && amount > max) amount = max;
    }

    /// @dev What could be spent at `timestamp` under the asset's caps alone (a native per-call cap aside): for a
    /// stream, released minus spent; for periodic caps, the least of what is left in the window (as it would be at
    /// `timestamp`) and in the lifetime cap; `type(uint256).max` when nothing caps it.
    function available(Caps caps, SpendState s, uint256 timestamp) internal pure returns (uint256) {
        uint256 start = s.windowStart();
        if (timestamp < start) return 0;
        uint256 total = s.total();
        if (s.isStream()) {
            uint256 released_ = released(caps, s, timestamp);
            return released_ > total ? released_ - total : 0;
        }
        uint256 left = type(uint256).max;
        uint256 period = caps.period();
        uint256 perPeriod = caps.perPeriod();
        if (period != 0 && perPeriod != 0) {
            uint256 inWindow = timestamp >= start + period ? 0 : s.inWindow();
            left = perPeriod > inWindow ? perPeriod - inWindow : 0;
        }
        uint256 lifetime = caps.lifetime();
        if (lifetime != 0) {
            uint256 rest = lifetime > total ? lifetime - total : 0;
            if (rest < left) left = rest;
        }
        return left;
    }
}
