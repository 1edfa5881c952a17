// SPDX-License-Identifier: MIT
pragma solidity 0.8.37;

import {IPolicyHook} from "../../interfaces/IPolicyHook.sol";
import {AllowanceLib} from "../libraries/AllowanceLib.sol";
import {CallSpendLib} from "../libraries/CallSpendLib.sol";
import {RuleLib} from "../libraries/RuleLib.sol";
import {Caps} from "../types/Caps.sol";
import {PolicyHeader, PolicyHeaderLib} from "../types/PolicyHeader.sol";
import {PolicyStorage} from "./PolicyStorage.sol";

/// @title PolicyCounting
/// @notice What a call uses up (execution time): the call caps, native value and limited tokens, charged before
/// the call and given back when it fails.
abstract contract PolicyCounting is PolicyStorage {
    /// @dev Counts the call against the call caps; false when the key has none. One read (the caller's), one write
    /// of the header.
    function _chargeUsage(KeyPolicy storage p, PolicyHeader header) internal returns (bool) {
        uint256 maxCalls = header.maxCalls();
        uint256 maxPerPeriod = header.maxPerPeriod();
        if (maxCalls == 0 && maxPerPeriod == 0) return false;
        uint256 used = header.used();
        if (maxCalls != 0 && used >= maxCalls) revert IPolicyHook.CallLimitExceeded(2, maxCalls);
        uint256 inWindow = header.inWindow();
        uint256 windowStart = header.windowStart();
        uint256 period = header.period();
        if (period != 0 && block.timestamp >= windowStart + period) {
            windowStart += ((block.timestamp - windowStart) / period) * period;
            inWindow = 0;
        }
        if (maxPerPeriod != 0 && inWindow >= maxPerPeriod) revert IPolicyHook.CallLimitExceeded(1, maxPerPeriod);
        p.header = header.withCount(used + 1, inWindow + 1, windowStart);
        return true;
    }

    /// @dev Charges what the call spends; returns the native amount and `token | amount << 160`. `caps` are the
    /// target's when it is a limited token.
    function _chargeSpending(
        KeyPolicy storage p,
        PolicyHeader header,
        Caps caps,
        address to,
        uint256 value,
        bytes calldata data
    ) internal returns (uint256 native, uint256 tokenWord) {
        address token;
        uint256 amount;
        bytes4 selector = RuleLib.selectorOf(data);
        if (caps.isLimited()) {
            (token, amount) = (to, CallSpendLib.tokenAmount(to, selector, data, msg.sender));
        } else {
            bool viaPermit2;
            (native, token, amount, viaPermit2) = CallSpendLib.spending(to, selector, data, msg.sender);
            if (viaPermit2) {
                caps = p.tokenStates[token].caps;
                if (!caps.isLimited()) revert IPolicyHook.UncountedTokenCall(token, selector);
            }
        }
        native += value;
        if (native != 0) _chargeNative(p, header, native);
        if (amount != 0) {
            TokenState storage state = p.tokenStates[token];
            state.spend = AllowanceLib.charge(caps, state.spend, token, amount, block.timestamp);
        }
        tokenWord = uint256(uint160(token)) | (amount << 160);
    }

    function _chargeNative(KeyPolicy storage p, PolicyHeader header, uint256 amount) internal {
        if (!header.hasFlag(PolicyHeaderLib.NATIVE)) revert IPolicyHook.NativeValueNotAllowed();
        uint256 perCall = p.nativePerCall;
        if (perCall != 0 && amount > perCall) {
            revert IPolicyHook.SpendLimitExceeded(address(0), AllowanceLib.PER_CALL, amount, perCall);
        }
        p.nativeSpend = AllowanceLib.charge(p.nativeCaps, p.nativeSpend, address(0), amount, block.timestamp);
    }

    /// @dev Gives back what `beforeExecute` charged a call that failed (its context words).
    function _refundCall(KeyPolicy storage p, uint256 w0, uint256 w1) internal {
        (uint256 native, bool counted) = (w0 & ~uint256(1 << 255), w0 >> 255 == 1);
        (address token, uint256 amount) = (address(uint160(w1)), w1 >> 160);
        if (counted) {
            PolicyHeader h = p.header;
            uint256 used = h.used();
            uint256 inWindow = h.inWindow();
            p.header = h.withCount(used == 0 ? 0 : used - 1, inWindow == 0 ? 0 : inWindow - 1, h.windowStart());
        }
        if (native != 0) p.nativeSpend = AllowanceLib.refund(p.nativeSpend, native);
        if (amount != 0) {
            TokenState storage state = p.tokenStates[token];
            state.spend = AllowanceLib.refund(state.spend, amount);
        }
    }
}
