// SPDX-License-Identifier: MIT
pragma solidity 0.8.37;

import {IKeyward} from "../interfaces/IKeyward.sol";
import {IKeywardHook} from "../interfaces/IKeywardHook.sol";
import {
    CallRule,
    Condition,
    ConditionOp,
    IPolicyHook,
    Limits,
    NativePolicy,
    Policy,
    RuleState,
    SignatureMode,
    Spend,
    TokenPolicy,
    UsagePolicy
} from "../interfaces/IPolicyHook.sol";

/// @title PolicyHook
/// @notice Turns a session key into a scoped delegate. One deployment serves every account; each account
/// configures its own keys (msg.sender is the account), and state lives under (keyId, account).
/// @dev Deploy at an address whose low 5 bits are 0x16 (SIGNATURE | BEFORE | AFTER_FAILURE): `script/Deploy.s.sol`
/// mines the salt. Callbacks: `onSignature` (ERC-1271 scope), `beforeExecute` (rules, conditions, caps; counters
/// move here) and `afterExecute` on failed calls (a failed call gives back what it was charged). `onValidate` is
/// not used.
///
/// What is counted, per call made by the key:
/// - native value: every call's `value`;
/// - a limited token: `transfer(to, amount)`, `transferFrom(account, to, amount)`, `approve(spender, amount)` and
///   `increaseAllowance(spender, amount)` count `amount` (an approval is spending: the spender can move it later);
///   any other selector on a limited token is refused (`UncountedTokenCall`);
/// - Permit2 (`0x000000000022D473030F116dDEE9F6B43aC78BA3`): `approve(token, spender, amount, expiration)` and
///   `transferFrom(account, to, amount, token)` count against `token`'s limit.
/// What is not counted: tokens moved by contracts the key is allowed to call (a router pulling an allowance that
/// existed before the grant, a vault withdrawing to someone else), fee-on-transfer differences, ERC-721/1155. Allow
/// such targets only with argument conditions, or not at all.
contract PolicyHook is IKeywardHook, IPolicyHook {
    // ------------------------------------------------------------------------------------------------------------
    // Constants
    // ------------------------------------------------------------------------------------------------------------

    /// @notice Wildcard target.
    address public constant ANY_TARGET = address(type(uint160).max);
    /// @notice Wildcard selector (never matches empty calldata).
    bytes4 public constant ANY_SELECTOR = 0xffffffff;
    /// @notice The selector of calls with less than 4 bytes of data.
    bytes4 public constant EMPTY_CALLDATA = 0x00000000;
    /// @notice The canonical Permit2.
    address public constant PERMIT2 = 0x000000000022D473030F116dDEE9F6B43aC78BA3;

    uint256 public constant MAX_RULES = 64;
    uint256 public constant MAX_CONDITIONS = 8;
    uint256 public constant MAX_SET_VALUES = 8;
    uint256 public constant MAX_TOKENS = 16;
    uint256 public constant MAX_DOMAINS = 8;

    bytes4 private constant TRANSFER = 0xa9059cbb;
    bytes4 private constant TRANSFER_FROM = 0x23b872dd;
    bytes4 private constant APPROVE = 0x095ea7b3;
    bytes4 private constant INCREASE_ALLOWANCE = 0x39509351;
    bytes4 private constant PERMIT2_APPROVE = 0x87517c45;
    bytes4 private constant PERMIT2_TRANSFER_FROM = 0x36c78516;

    /// @dev Header flags.
    uint8 private constant HAS_DENY = 1;
    uint8 private constant HAS_TOKENS = 2;

    uint256 private constant U32 = type(uint32).max;
    uint256 private constant U40 = type(uint40).max;
    uint256 private constant U96 = type(uint96).max;

    // ------------------------------------------------------------------------------------------------------------
    // Storage (ERC-7201)
    // ------------------------------------------------------------------------------------------------------------

    /// @dev One slot, read by every call and written once per counted call (raw word in the hot path):
    /// maxCalls 0-31 | used 32-63 | maxPerPeriod 64-95 | inWindow 96-127 | period 128-167 | windowStart 168-207 |
    /// flags 208-215 | signatureMode 216-223.
    struct Header {
        uint32 maxCalls;
        uint32 used;
        uint32 maxPerPeriod;
        uint32 inWindow;
        uint40 period;
        uint40 windowStart;
        uint8 flags;
        SignatureMode signatureMode;
    }

    struct Rule {
        RuleState state;
        uint8 conditionCount;
        uint16 index; // position + 1 in `ruleIds`
    }

    /// @dev One slot: the caps and the list position.
    struct TokenEntry {
        uint96 perPeriod;
        uint96 lifetime;
        uint40 period;
        uint8 index; // position + 1 in `tokens`
    }

    struct KeyPolicy {
        Header header;
        bool nativeEnabled;
        uint128 nativePerCall;
        Limits nativeLimits;
        Spend nativeSpend;
        mapping(address token => TokenEntry) tokenLimits;
        mapping(address token => Spend) tokenSpend;
        address[] tokens;
        mapping(bytes32 ruleId => Rule) rules;
        mapping(bytes32 ruleId => Condition[]) conditions;
        bytes32[] ruleIds;
        bytes32[] domains;
    }

    /// @custom:storage-location erc7201:keyward.hooks.policy.v1
    struct HookStorage {
        mapping(bytes32 keyId => mapping(address account => KeyPolicy)) policies;
    }

    /// @dev keccak256(abi.encode(uint256(keccak256("keyward.hooks.policy.v1")) - 1)) & ~bytes32(uint256(0xff))
    bytes32 private constant STORAGE_SLOT = 0xecbb0ce9beb14d83c0f599f4f44fa7be252f1dc2a76de635ead983cbec5d0700;

    function _policy(address account, bytes32 keyId) private view returns (KeyPolicy storage p) {
        HookStorage storage $;
        assembly ("memory-safe") {
            $.slot := STORAGE_SLOT
        }
        p = $.policies[keyId][account];
    }

    /// @dev The account's current grant of `keyHash`; reverts (KeyDoesNotExist) for unknown keys.
    function _configured(bytes32 keyHash) private view returns (KeyPolicy storage) {
        if (keyHash == bytes32(0)) revert InvalidConfiguration();
        return _policy(msg.sender, IKeyward(msg.sender).keyIdOf(keyHash));
    }

    function _ruleId(address target, bytes4 selector) private pure returns (bytes32) {
        return bytes32(uint256(uint160(target)) << 96 | uint256(uint32(selector)));
    }

    // ------------------------------------------------------------------------------------------------------------
    // Configuration
    // ------------------------------------------------------------------------------------------------------------

    /// @inheritdoc IPolicyHook
    function setCallRule(bytes32 keyHash, address target, bytes4 selector, RuleState state) external {
        KeyPolicy storage p = _configured(keyHash);
        bytes32 id = _ruleId(target, selector);
        Rule storage r = p.rules[id];
        if (r.index == 0 && state != RuleState.None) {
            if (p.ruleIds.length >= MAX_RULES) revert TooManyEntries(MAX_RULES);
            p.ruleIds.push(id);
            r.index = uint16(p.ruleIds.length);
        } else if (r.index != 0 && state == RuleState.None) {
            _removeRule(p, id, r.index);
        }
        if (state != RuleState.None) r.state = state;
        if (state == RuleState.Deny) p.header.flags |= HAS_DENY;
        emit CallRuleSet(msg.sender, keyHash, target, selector, state);
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

    /// @inheritdoc IPolicyHook
    function setConditions(bytes32 keyHash, address target, bytes4 selector, Condition[] calldata conditions) external {
        KeyPolicy storage p = _configured(keyHash);
        bytes32 id = _ruleId(target, selector);
        Rule storage r = p.rules[id];
        if (r.state != RuleState.Allow) revert InvalidConfiguration();
        if (conditions.length > MAX_CONDITIONS) revert TooManyEntries(MAX_CONDITIONS);
        Condition[] storage stored = p.conditions[id];
        while (stored.length != 0) stored.pop();
        for (uint256 i; i < conditions.length; ++i) {
            Condition calldata c = conditions[i];
            uint256 n = c.values.length;
            if (c.op == ConditionOp.None || n == 0 || (c.op != ConditionOp.InSet && n != 1)) {
                revert InvalidConfiguration();
            }
            if (n > MAX_SET_VALUES) revert TooManyEntries(MAX_SET_VALUES);
            stored.push(c);
        }
        r.conditionCount = uint8(conditions.length);
        emit ConditionsSet(msg.sender, keyHash, target, selector, conditions);
    }

    /// @inheritdoc IPolicyHook
    function setNativeLimits(bytes32 keyHash, bool enabled, uint128 perCall, Limits calldata limits) external {
        _checkLimits(limits);
        KeyPolicy storage p = _configured(keyHash);
        p.nativeEnabled = enabled;
        p.nativePerCall = perCall;
        p.nativeLimits = limits;
        p.nativeSpend = Spend(0, 0, uint40(block.timestamp));
        emit NativeLimitsSet(msg.sender, keyHash, enabled, perCall, limits);
    }

    /// @inheritdoc IPolicyHook
    function setTokenLimit(bytes32 keyHash, address token, bool enabled, Limits calldata limits) external {
        if (token == address(0) || token == ANY_TARGET) revert InvalidConfiguration();
        _checkLimits(limits);
        KeyPolicy storage p = _configured(keyHash);
        TokenEntry storage e = p.tokenLimits[token];
        if (enabled) {
            if (e.index == 0) {
                if (p.tokens.length >= MAX_TOKENS) revert TooManyEntries(MAX_TOKENS);
                p.tokens.push(token);
                e.index = uint8(p.tokens.length);
            }
            (e.perPeriod, e.lifetime, e.period) = (limits.perPeriod, limits.lifetime, limits.period);
            p.header.flags |= HAS_TOKENS;
        } else if (e.index != 0) {
            uint256 index = e.index;
            uint256 last = p.tokens.length;
            if (index != last) {
                address moved = p.tokens[last - 1];
                p.tokens[index - 1] = moved;
                p.tokenLimits[moved].index = uint8(index);
            }
            p.tokens.pop();
            delete p.tokenLimits[token];
        }
        p.tokenSpend[token] = Spend(0, 0, uint40(block.timestamp));
        emit TokenLimitSet(msg.sender, keyHash, token, enabled, limits);
    }

    /// @dev A per-period cap needs a period.
    function _checkLimits(Limits calldata limits) private pure {
        if (limits.perPeriod != 0 && limits.period == 0) revert InvalidConfiguration();
    }

    /// @inheritdoc IPolicyHook
    function setUsageLimits(bytes32 keyHash, uint32 maxCalls, uint32 maxPerPeriod, uint40 period) external {
        if (maxPerPeriod != 0 && period == 0) revert InvalidConfiguration();
        KeyPolicy storage p = _configured(keyHash);
        Header storage h = p.header;
        h.maxCalls = maxCalls;
        h.used = 0;
        h.maxPerPeriod = maxPerPeriod;
        h.inWindow = 0;
        h.period = period;
        h.windowStart = uint40(block.timestamp);
        emit UsageLimitsSet(msg.sender, keyHash, maxCalls, maxPerPeriod, period);
    }

    /// @inheritdoc IPolicyHook
    function setSignaturePolicy(bytes32 keyHash, SignatureMode mode, bytes32[] calldata domains) external {
        if (domains.length > MAX_DOMAINS) revert TooManyEntries(MAX_DOMAINS);
        if ((mode == SignatureMode.Domains) != (domains.length != 0)) revert InvalidConfiguration();
        KeyPolicy storage p = _configured(keyHash);
        p.header.signatureMode = mode;
        p.domains = domains;
        emit SignaturePolicySet(msg.sender, keyHash, mode, domains);
    }

    // ------------------------------------------------------------------------------------------------------------
    // Hook callbacks
    // ------------------------------------------------------------------------------------------------------------

    /// @inheritdoc IKeywardHook
    /// @dev Not enabled by this hook's address flags; answers "no restriction" if called anyway.
    function onValidate(bytes32, bytes32, bytes calldata) external pure returns (uint256) {
        return 0;
    }

    /// @inheritdoc IKeywardHook
    function onSignature(bytes32 keyId, bytes32, bytes32 appDomainSeparator, bytes calldata)
        external
        view
        returns (bytes4)
    {
        KeyPolicy storage p = _policy(msg.sender, keyId);
        SignatureMode mode = p.header.signatureMode;
        if (mode == SignatureMode.Any) return IKeywardHook.onSignature.selector;
        if (mode == SignatureMode.Domains && appDomainSeparator != bytes32(0)) {
            bytes32[] storage domains = p.domains;
            for (uint256 i; i < domains.length; ++i) {
                if (domains[i] == appDomainSeparator) return IKeywardHook.onSignature.selector;
            }
        }
        return bytes4(0);
    }

    /// @inheritdoc IKeywardHook
    function beforeExecute(bytes32 keyId, address to, uint256 value, bytes calldata data)
        external
        returns (bytes memory context)
    {
        if (to == msg.sender || to == address(this)) revert SelfCallDenied(to);
        KeyPolicy storage p = _policy(msg.sender, keyId);
        uint8 flags = p.header.flags; // the header slot: warm for `_chargeUsage`
        bytes4 selector = data.length < 4 ? EMPTY_CALLDATA : bytes4(data[0:4]);

        (bytes32 matched, uint256 conditionCount) = _match(p, flags, to, selector);
        if (conditionCount != 0) _checkConditions(p.conditions[matched], data);
        bool counted = _chargeUsage(p);
        if (value != 0) _chargeNative(p, value);
        address token;
        uint256 amount;
        if (flags & HAS_TOKENS != 0) {
            Limits memory limits;
            (token, amount, limits) = _tokenSpend(p, to, selector, data);
            if (amount != 0) _spend(limits, p.tokenSpend[token], token, amount);
        }
        // Two words for `afterExecute`: value with bit 255 = counted; token | amount << 160 (amount < 2^96).
        if (counted || value != 0 || amount != 0) {
            context = abi.encode(value | (counted ? 1 << 255 : 0), uint256(uint160(token)) | (amount << 160));
        }
    }

    /// @dev Counts the call against the usage caps; false when the key has none. One read, one write of the
    /// header word (layout on `Header`).
    function _chargeUsage(KeyPolicy storage p) private returns (bool) {
        Header storage stored = p.header;
        uint256 word;
        assembly ("memory-safe") {
            word := sload(stored.slot)
        }
        uint256 maxCalls = word & U32;
        uint256 maxPerPeriod = (word >> 64) & U32;
        if (maxCalls == 0 && maxPerPeriod == 0) return false;
        uint256 used = (word >> 32) & U32;
        if (maxCalls != 0 && used >= maxCalls) revert CallLimitExceeded(2, maxCalls);
        uint256 inWindow = (word >> 96) & U32;
        uint256 windowStart = (word >> 168) & U40;
        uint256 period = (word >> 128) & U40;
        if (period != 0 && block.timestamp >= windowStart + period) {
            windowStart += ((block.timestamp - windowStart) / period) * period;
            inWindow = 0;
        }
        if (maxPerPeriod != 0 && inWindow >= maxPerPeriod) revert CallLimitExceeded(1, maxPerPeriod);
        word = (word & ~((U32 << 32) | (U32 << 96) | (U40 << 168))) | ((used + 1) << 32) | ((inWindow + 1) << 96)
            | (windowStart << 168);
        assembly ("memory-safe") {
            sstore(stored.slot, word)
        }
        return true;
    }

    function _chargeNative(KeyPolicy storage p, uint256 value) private {
        if (!p.nativeEnabled) revert NativeValueNotAllowed();
        uint256 perCall = p.nativePerCall;
        if (perCall != 0 && value > perCall) revert SpendLimitExceeded(address(0), 0, value, perCall);
        _spend(p.nativeLimits, p.nativeSpend, address(0), value);
    }

    /// @inheritdoc IKeywardHook
    /// @dev On failure, gives back what `beforeExecute` charged (a failed call does not use up any cap).
    function afterExecute(bytes32 keyId, bool success, bytes calldata context) external returns (bytes4) {
        if (!success && context.length != 0) {
            (uint256 w0, uint256 w1) = abi.decode(context, (uint256, uint256));
            (uint256 value, bool counted) = (w0 & ~uint256(1 << 255), w0 >> 255 == 1);
            (address token, uint256 amount) = (address(uint160(w1)), w1 >> 160);
            KeyPolicy storage p = _policy(msg.sender, keyId);
            if (counted) {
                Header storage h = p.header;
                if (h.used != 0) --h.used;
                if (h.inWindow != 0) --h.inWindow;
            }
            if (value != 0) _refund(p.nativeSpend, value);
            if (amount != 0) _refund(p.tokenSpend[token], amount);
        }
        return IKeywardHook.afterExecute.selector;
    }

    // ------------------------------------------------------------------------------------------------------------
    // Rules, conditions, spending
    // ------------------------------------------------------------------------------------------------------------

    /// @dev The allowing rule for (to, selector), after denies. Empty calldata matches only an explicit
    /// `EMPTY_CALLDATA` rule (for `to` or `ANY_TARGET`), never `ANY_SELECTOR`.
    function _match(KeyPolicy storage p, uint8 flags, address to, bytes4 selector)
        private
        view
        returns (bytes32, uint256 conditionCount)
    {
        bool empty = selector == EMPTY_CALLDATA;
        bytes32 exact = _ruleId(to, selector);
        Rule storage exactRule = p.rules[exact];
        RuleState exactState = exactRule.state;
        if (flags & HAS_DENY == 0 && exactState == RuleState.Allow) return (exact, exactRule.conditionCount);
        bytes32 anySel = _ruleId(to, ANY_SELECTOR);
        bytes32 anyTarget = _ruleId(ANY_TARGET, selector);
        if (flags & HAS_DENY != 0) {
            if (
                exactState == RuleState.Deny || (!empty && p.rules[anySel].state == RuleState.Deny)
                    || p.rules[anyTarget].state == RuleState.Deny
            ) revert CallDenied(to, selector);
        }
        if (exactState == RuleState.Allow) return (exact, exactRule.conditionCount);
        if (!empty && p.rules[anySel].state == RuleState.Allow) return (anySel, p.rules[anySel].conditionCount);
        if (p.rules[anyTarget].state == RuleState.Allow) return (anyTarget, p.rules[anyTarget].conditionCount);
        if (!empty) {
            bytes32 anyAny = _ruleId(ANY_TARGET, ANY_SELECTOR);
            if (p.rules[anyAny].state == RuleState.Allow) return (anyAny, p.rules[anyAny].conditionCount);
        }
        revert CallNotAllowed(to, selector);
    }

    function _checkConditions(Condition[] storage conditions, bytes calldata data) private view {
        for (uint256 i; i < conditions.length; ++i) {
            Condition storage c = conditions[i];
            uint256 pos = 4 + uint256(c.argIndex) * 32;
            if (data.length < pos + 32) revert ConditionFailed(i);
            uint256 arg = uint256(bytes32(data[pos:pos + 32]));
            ConditionOp op = c.op;
            bool ok;
            if (op == ConditionOp.InSet) {
                bytes32[] storage values = c.values;
                for (uint256 j; j < values.length && !ok; ++j) {
                    ok = uint256(values[j]) == arg;
                }
            } else {
                uint256 v = uint256(c.values[0]);
                ok = op == ConditionOp.Equal
                    ? arg == v
                    : op == ConditionOp.NotEqual ? arg != v : op == ConditionOp.LessOrEqual ? arg <= v : arg >= v;
            }
            if (!ok) revert ConditionFailed(i);
        }
    }

    /// @dev Which limited token a call spends, how much, and that token's caps (one read of its entry).
    function _tokenSpend(KeyPolicy storage p, address to, bytes4 selector, bytes calldata data)
        private
        view
        returns (address token, uint256 amount, Limits memory limits)
    {
        if (to == PERMIT2) {
            if (selector == PERMIT2_APPROVE) {
                token = address(uint160(_arg(data, 0)));
                amount = _arg(data, 2);
            } else if (selector == PERMIT2_TRANSFER_FROM && address(uint160(_arg(data, 0))) == msg.sender) {
                token = address(uint160(_arg(data, 3)));
                amount = _arg(data, 2);
            }
        } else {
            token = to;
        }
        bool limited;
        (limited, limits) = _tokenLimits(p.tokenLimits[token]);
        if (!limited) return (address(0), 0, limits);
        if (to == PERMIT2) return (token, amount, limits);
        if (selector == TRANSFER || selector == APPROVE || selector == INCREASE_ALLOWANCE) {
            amount = _arg(data, 1);
        } else if (selector == TRANSFER_FROM) {
            amount = address(uint160(_arg(data, 0))) == msg.sender ? _arg(data, 2) : 0;
        } else {
            revert UncountedTokenCall(to, selector);
        }
    }

    /// @dev A token entry in one read: perPeriod 0-95 | lifetime 96-191 | period 192-231 | index 232-239.
    function _tokenLimits(TokenEntry storage e) private view returns (bool limited, Limits memory limits) {
        uint256 word;
        assembly ("memory-safe") {
            word := sload(e.slot)
        }
        limited = (word >> 232) & 0xff != 0;
        limits = Limits(uint96(word), uint96(word >> 96), uint40(word >> 192));
    }

    function _arg(bytes calldata data, uint256 index) private pure returns (uint256) {
        uint256 pos = 4 + index * 32;
        if (data.length < pos + 32) revert MalformedCalldata();
        return uint256(bytes32(data[pos:pos + 32]));
    }

    /// @dev Charges `amount` against period and lifetime caps; reverts without charging when a cap would be passed.
    /// The spend word: inWindow 0-95 | total 96-191 | windowStart 192-231; one read, one write.
    function _spend(Limits memory limits, Spend storage spendRef, address asset, uint256 amount) private {
        uint256 word;
        assembly ("memory-safe") {
            word := sload(spendRef.slot)
        }
        uint256 inWindow = word & U96;
        uint256 windowStart = (word >> 192) & U40;
        uint256 period = limits.period;
        if (period != 0 && block.timestamp >= windowStart + period) {
            windowStart += ((block.timestamp - windowStart) / period) * period;
            inWindow = 0;
        }
        inWindow += amount;
        uint256 total = ((word >> 96) & U96) + amount;
        if (period != 0 && limits.perPeriod != 0 && inWindow > limits.perPeriod) {
            revert SpendLimitExceeded(asset, 1, inWindow, limits.perPeriod);
        }
        if (limits.lifetime != 0 && total > limits.lifetime) {
            revert SpendLimitExceeded(asset, 2, total, limits.lifetime);
        }
        if (inWindow > U96 || total > U96) revert SpendLimitExceeded(asset, 2, total, U96);
        word = inWindow | (total << 96) | (windowStart << 192);
        assembly ("memory-safe") {
            sstore(spendRef.slot, word)
        }
    }

    /// @dev Never below zero: a window may have rolled over between charge and refund, and anyone may call
    /// `afterExecute` for their own (empty) namespace.
    function _refund(Spend storage s, uint256 amount) private {
        s.total = s.total >= amount ? s.total - uint96(amount) : 0;
        s.inWindow = s.inWindow >= amount ? s.inWindow - uint96(amount) : 0;
    }

    function _usage(Header storage h) private view returns (UsagePolicy memory) {
        return UsagePolicy(h.maxCalls, h.used, h.maxPerPeriod, h.inWindow, h.period, h.windowStart);
    }

    function _limits(TokenEntry storage e) private view returns (Limits memory) {
        return Limits(e.perPeriod, e.lifetime, e.period);
    }

    // ------------------------------------------------------------------------------------------------------------
    // Views
    // ------------------------------------------------------------------------------------------------------------

    /// @inheritdoc IPolicyHook
    function getPolicy(address account, bytes32 keyHash) external view returns (Policy memory policy) {
        KeyPolicy storage p = _policy(account, IKeyward(account).keyIdOf(keyHash));
        uint256 n = p.ruleIds.length;
        policy.rules = new CallRule[](n);
        for (uint256 i; i < n; ++i) {
            bytes32 id = p.ruleIds[i];
            policy.rules[i] = CallRule(
                address(uint160(uint256(id) >> 96)), bytes4(uint32(uint256(id))), p.rules[id].state, p.conditions[id]
            );
        }
        policy.native = NativePolicy(p.nativeEnabled, p.nativePerCall, p.nativeLimits, p.nativeSpend);
        n = p.tokens.length;
        policy.tokens = new TokenPolicy[](n);
        for (uint256 i; i < n; ++i) {
            address t = p.tokens[i];
            policy.tokens[i] = TokenPolicy(t, _limits(p.tokenLimits[t]), p.tokenSpend[t]);
        }
        policy.usage = _usage(p.header);
        policy.signatureMode = p.header.signatureMode;
        policy.signatureDomains = p.domains;
    }

    /// @inheritdoc IPolicyHook
    function getCallRules(address account, bytes32 keyHash)
        external
        view
        returns (address[] memory targets, bytes4[] memory selectors, RuleState[] memory states)
    {
        KeyPolicy storage p = _policy(account, IKeyward(account).keyIdOf(keyHash));
        uint256 n = p.ruleIds.length;
        targets = new address[](n);
        selectors = new bytes4[](n);
        states = new RuleState[](n);
        for (uint256 i; i < n; ++i) {
            bytes32 id = p.ruleIds[i];
            (targets[i], selectors[i], states[i]) =
            (address(uint160(uint256(id) >> 96)), bytes4(uint32(uint256(id))), p.rules[id].state);
        }
    }

    /// @inheritdoc IPolicyHook
    function getUsage(address account, bytes32 keyHash) external view returns (UsagePolicy memory) {
        return _usage(_policy(account, IKeyward(account).keyIdOf(keyHash)).header);
    }

    /// @inheritdoc IPolicyHook
    function getToken(address account, bytes32 keyHash, address token) external view returns (TokenPolicy memory) {
        KeyPolicy storage p = _policy(account, IKeyward(account).keyIdOf(keyHash));
        return TokenPolicy(token, _limits(p.tokenLimits[token]), p.tokenSpend[token]);
    }

    /// @inheritdoc IPolicyHook
    function getNative(address account, bytes32 keyHash) external view returns (NativePolicy memory) {
        KeyPolicy storage p = _policy(account, IKeyward(account).keyIdOf(keyHash));
        return NativePolicy(p.nativeEnabled, p.nativePerCall, p.nativeLimits, p.nativeSpend);
    }
}
