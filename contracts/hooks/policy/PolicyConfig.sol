// SPDX-License-Identifier: MIT
pragma solidity 0.8.37;

import {IKeyward} from "../../interfaces/IKeyward.sol";
import {
    Condition,
    ConditionOp,
    IPolicyHook,
    Limits,
    RuleState,
    SignatureMode,
    Stream
} from "../../interfaces/IPolicyHook.sol";
import {CallSpendLib} from "../libraries/CallSpendLib.sol";
import {RuleLib} from "../libraries/RuleLib.sol";
import {Caps, CapsLib} from "../types/Caps.sol";
import {PolicyHeaderLib} from "../types/PolicyHeader.sol";
import {SpendState, SpendStateLib} from "../types/SpendState.sol";
import {PolicyStorage} from "./PolicyStorage.sol";

/// @title PolicyConfig
/// @notice The PolicyHook's configuration: `msg.sender` is the account, and the key's settings must name this hook
/// (`HookNotInSettings` otherwise). Runs in `PolicyHookExtension`, by DELEGATECALL from the hook.
abstract contract PolicyConfig is PolicyStorage {
    /// @dev The account's current registration of `keyHash`, which must name this hook in its settings.
    function _configured(bytes32 keyHash) internal view returns (KeyPolicy storage) {
        if (!_atFlagAddress()) revert IPolicyHook.WrongHookAddress();
        if (keyHash == bytes32(0)) revert IPolicyHook.InvalidConfiguration();
        IKeyward account = IKeyward(msg.sender);
        if (address(uint160(account.getKeySettings(keyHash))) != address(this)) {
            revert IPolicyHook.HookNotInSettings(keyHash);
        }
        return _policy(msg.sender, account.keyIdOf(keyHash));
    }

    // ------------------------------------------------------------------------------------------------------------
    // Rules and conditions
    // ------------------------------------------------------------------------------------------------------------

    /// @notice Sets the rule for (`target`, `selector`) (see `IPolicyHook.setCallRule`).
    function setCallRule(bytes32 keyHash, address target, bytes4 selector, RuleState state) external {
        KeyPolicy storage p = _configured(keyHash);
        bytes32 id = RuleLib.id(target, selector, selector == RuleLib.EMPTY_CALLDATA);
        Rule storage r = p.rules[id];
        if (r.index == 0 && state != RuleState.None) {
            if (p.ruleIds.length >= MAX_RULE_COUNT) revert IPolicyHook.TooManyEntries(MAX_RULE_COUNT);
            p.ruleIds.push(id);
            r.index = uint16(p.ruleIds.length);
        } else if (r.index != 0 && state == RuleState.None) {
            _removeRule(p, id, r.index);
        }
        if (state != RuleState.None) {
            r.state = state;
            // A deny leaves no conditions behind (they only narrow allows).
            if (state == RuleState.Deny && r.conditionCount != 0) {
                delete p.conditions[id];
                r.conditionCount = 0;
            }
        }
        if (state == RuleState.Deny) p.header = p.header.withFlag(PolicyHeaderLib.HAS_DENY, true);
        if (RuleLib.fastBit(selector) != 0) _syncFast(p, target);
        emit IPolicyHook.CallRuleSet(msg.sender, keyHash, target, selector, state);
    }

    function _removeRule(KeyPolicy storage p, bytes32 id, uint256 index) private {
        uint256 last = p.ruleIds.length;
        if (index != last) {
            bytes32 moved = p.ruleIds[last - 1];
            p.ruleIds[index - 1] = moved;
            p.rules[moved].index = uint16(index);
        }
        p.ruleIds.pop();
        delete p.rules[id];
        delete p.conditions[id];
    }

    /// @notice Replaces the conditions of an allow rule (see `IPolicyHook.setConditions`).
    function setConditions(bytes32 keyHash, address target, bytes4 selector, Condition[] calldata conditions) external {
        KeyPolicy storage p = _configured(keyHash);
        bytes32 id = RuleLib.id(target, selector, selector == RuleLib.EMPTY_CALLDATA);
        Rule storage r = p.rules[id];
        if (r.state != RuleState.Allow) revert IPolicyHook.InvalidConfiguration();
        if (conditions.length > MAX_CONDITION_COUNT) revert IPolicyHook.TooManyEntries(MAX_CONDITION_COUNT);
        Condition[] storage stored = p.conditions[id];
        while (stored.length != 0) stored.pop();
        for (uint256 i; i < conditions.length; ++i) {
            Condition calldata c = conditions[i];
            uint256 n = c.values.length;
            if (c.op == ConditionOp.None || n == 0 || (c.op != ConditionOp.InSet && n != 1) || c.bits > 256) {
                revert IPolicyHook.InvalidConfiguration();
            }
            if (n > MAX_SET_VALUE_COUNT) revert IPolicyHook.TooManyEntries(MAX_SET_VALUE_COUNT);
            stored.push(c);
        }
        r.conditionCount = uint8(conditions.length);
        if (RuleLib.fastBit(selector) != 0) _syncFast(p, target);
        emit IPolicyHook.ConditionsSet(msg.sender, keyHash, target, selector, conditions);
    }

    /// @dev Recomputes a limited token's fast-allow bits from its exact rules (after any change to them).
    function _syncFast(KeyPolicy storage p, address token) private {
        TokenState storage state = p.tokenStates[token];
        Caps caps = state.caps;
        if (!caps.isLimited()) return;
        uint256 bits = 0;
        bytes4[4] memory selectors =
            [RuleLib.TRANSFER, RuleLib.TRANSFER_FROM, RuleLib.APPROVE, RuleLib.INCREASE_ALLOWANCE];
        for (uint256 i; i < 4; ++i) {
            Rule storage r = p.rules[RuleLib.id(token, selectors[i], false)];
            if (r.state == RuleState.Allow && r.conditionCount == 0) bits |= 1 << i;
        }
        state.caps = caps.withFast(bits);
    }

    // ------------------------------------------------------------------------------------------------------------
    // Native value and tokens
    // ------------------------------------------------------------------------------------------------------------

    /// @notice Sets native value caps from now (see `IPolicyHook.setNativeLimits`).
    function setNativeLimits(bytes32 keyHash, bool enabled, uint128 perCall, Limits calldata limits) external {
        _checkLimits(limits);
        _setNative(keyHash, enabled, perCall, _caps(limits, 0), SpendStateLib.pack(0, 0, block.timestamp));
        emit IPolicyHook.NativeLimitsSet(msg.sender, keyHash, enabled, perCall, limits);
    }

    /// @notice Sets native value caps from `startTime` (see `IPolicyHook.setNativeLimitsFrom`).
    function setNativeLimitsFrom(
        bytes32 keyHash,
        bool enabled,
        uint128 perCall,
        Limits calldata limits,
        uint40 startTime
    ) external {
        _checkLimits(limits);
        uint256 start = _start(startTime);
        _setNative(keyHash, enabled, perCall, _caps(limits, 0), SpendStateLib.pack(0, 0, start));
        emit IPolicyHook.NativeLimitsSet(msg.sender, keyHash, enabled, perCall, limits);
        emit IPolicyHook.LimitsStartSet(msg.sender, keyHash, address(0), uint40(start));
    }

    /// @notice Enables native value under a stream (see `IPolicyHook.setNativeStream`).
    function setNativeStream(bytes32 keyHash, uint128 perCall, Stream calldata stream) external {
        (Caps caps, SpendState spend) = _stream(stream);
        _setNative(keyHash, true, perCall, caps, spend);
        emit IPolicyHook.NativeStreamSet(msg.sender, keyHash, perCall, _echo(stream, spend));
    }

    function _setNative(bytes32 keyHash, bool enabled, uint128 perCall, Caps caps, SpendState spend) private {
        KeyPolicy storage p = _configured(keyHash);
        p.header = p.header.withFlag(PolicyHeaderLib.NATIVE, enabled);
        p.nativePerCall = perCall;
        p.nativeCaps = caps;
        p.nativeSpend = spend;
    }

    /// @notice Sets a token's caps from now, or removes them (see `IPolicyHook.setTokenLimit`).
    function setTokenLimit(bytes32 keyHash, address token, bool enabled, Limits calldata limits) external {
        _checkLimits(limits);
        _setToken(keyHash, token, enabled, _caps(limits, 0), SpendStateLib.pack(0, 0, block.timestamp));
        emit IPolicyHook.TokenLimitSet(msg.sender, keyHash, token, enabled, limits);
    }

    /// @notice Sets a token's caps from `startTime` (see `IPolicyHook.setTokenLimitFrom`).
    function setTokenLimitFrom(bytes32 keyHash, address token, Limits calldata limits, uint40 startTime) external {
        _checkLimits(limits);
        uint256 start = _start(startTime);
        _setToken(keyHash, token, true, _caps(limits, 0), SpendStateLib.pack(0, 0, start));
        emit IPolicyHook.TokenLimitSet(msg.sender, keyHash, token, true, limits);
        emit IPolicyHook.LimitsStartSet(msg.sender, keyHash, token, uint40(start));
    }

    /// @notice Limits a token by a stream (see `IPolicyHook.setTokenStream`).
    function setTokenStream(bytes32 keyHash, address token, Stream calldata stream) external {
        (Caps caps, SpendState spend) = _stream(stream);
        _setToken(keyHash, token, true, caps, spend);
        emit IPolicyHook.TokenStreamSet(msg.sender, keyHash, token, _echo(stream, spend));
    }

    /// @dev Sets (`enabled`) or removes a limited token: `caps` without its list index and fast bits, which this
    /// fills in.
    function _setToken(bytes32 keyHash, address token, bool enabled, Caps caps, SpendState spend) private {
        if (token == address(0) || token == RuleLib.ANY_TARGET || token == CallSpendLib.ERC20_ETH) {
            revert IPolicyHook.InvalidConfiguration();
        }
        KeyPolicy storage p = _configured(keyHash);
        TokenState storage state = p.tokenStates[token];
        uint256 index = state.caps.index();
        if (enabled) {
            if (index == 0) {
                if (p.tokens.length >= MAX_TOKEN_COUNT) revert IPolicyHook.TooManyEntries(MAX_TOKEN_COUNT);
                p.tokens.push(token);
                index = p.tokens.length;
            }
            state.caps = caps.withIndex(index);
            _syncFast(p, token);
            p.header = p.header.withFlag(PolicyHeaderLib.HAS_TOKENS, true);
        } else if (index != 0) {
            uint256 last = p.tokens.length;
            if (index != last) {
                address moved = p.tokens[last - 1];
                p.tokens[index - 1] = moved;
                TokenState storage movedState = p.tokenStates[moved];
                movedState.caps = movedState.caps.withIndex(index);
            }
            p.tokens.pop();
            state.caps = Caps.wrap(0);
        }
        state.spend = spend;
    }

    /// @dev A per-period cap needs a period.
    function _checkLimits(Limits calldata limits) private pure {
        if (limits.perPeriod != 0 && limits.period == 0) revert IPolicyHook.InvalidConfiguration();
    }

    function _caps(Limits calldata limits, uint256 index) private pure returns (Caps) {
        return CapsLib.pack(limits.perPeriod, limits.lifetime, limits.period, index);
    }

    /// @dev A configured start time: 0 is now.
    function _start(uint40 startTime) private view returns (uint256) {
        return startTime == 0 ? block.timestamp : startTime;
    }

    /// @dev A stream's caps word (rate and maximum) and its fresh spend word (initial amount, start time).
    function _stream(Stream calldata stream) private view returns (Caps, SpendState) {
        if (stream.maxAmount != 0 && stream.maxAmount < stream.initialAmount) {
            revert IPolicyHook.InvalidConfiguration();
        }
        return (
            CapsLib.pack(stream.amountPerSecond, stream.maxAmount, 0, 0),
            SpendStateLib.packStream(stream.initialAmount, 0, _start(stream.startTime))
        );
    }

    /// @dev The stream as configured, with its start time resolved.
    function _echo(Stream calldata stream, SpendState spend) private pure returns (Stream memory s) {
        s = stream;
        s.startTime = uint40(spend.windowStart());
    }

    // ------------------------------------------------------------------------------------------------------------
    // Usage, signatures, paymasters
    // ------------------------------------------------------------------------------------------------------------

    /// @notice Sets the call caps (see `IPolicyHook.setUsageLimits`).
    function setUsageLimits(bytes32 keyHash, uint32 maxCalls, uint32 maxPerPeriod, uint40 period, uint16 maxPerBatch)
        external
    {
        if (maxPerPeriod != 0 && period == 0) revert IPolicyHook.InvalidConfiguration();
        KeyPolicy storage p = _configured(keyHash);
        p.header =
            p.header.withUsageLimits(maxCalls, maxPerPeriod, period, block.timestamp).withMaxPerBatch(maxPerBatch);
        emit IPolicyHook.UsageLimitsSet(msg.sender, keyHash, maxCalls, maxPerPeriod, period, maxPerBatch);
    }

    /// @notice Sets the ERC-1271 scope (see `IPolicyHook.setSignaturePolicy`).
    function setSignaturePolicy(bytes32 keyHash, SignatureMode mode, bytes32[] calldata domains) external {
        if (domains.length > MAX_DOMAIN_COUNT) revert IPolicyHook.TooManyEntries(MAX_DOMAIN_COUNT);
        if ((mode == SignatureMode.Domains) != (domains.length != 0)) revert IPolicyHook.InvalidConfiguration();
        KeyPolicy storage p = _configured(keyHash);
        p.header = p.header.withSignatureMode(uint8(mode));
        p.domains = domains;
        emit IPolicyHook.SignaturePolicySet(msg.sender, keyHash, mode, domains);
    }

    /// @notice Sets the paymasters the key's ERC-4337 operations may use (see `IPolicyHook.setPaymasters`).
    function setPaymasters(bytes32 keyHash, address[] calldata paymasters) external {
        uint256 n = paymasters.length;
        if (n > MAX_PAYMASTER_COUNT) revert IPolicyHook.TooManyEntries(MAX_PAYMASTER_COUNT);
        KeyPolicy storage p = _configured(keyHash);
        for (uint256 i; i < MAX_PAYMASTER_COUNT; ++i) {
            address pm = i < n ? paymasters[i] : address(0);
            if (i < n && pm == address(0)) revert IPolicyHook.InvalidConfiguration();
            p.paymasters[i] = pm;
        }
        p.header = p.header.withPaymasterCount(n);
        emit IPolicyHook.PaymastersSet(msg.sender, keyHash, paymasters);
    }
}
