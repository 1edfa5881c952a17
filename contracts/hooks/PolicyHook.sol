// SPDX-License-Identifier: MIT
pragma solidity 0.8.37;

import {IExecutionHook, IHook, IValidationHook, PackedUserOperation} from "../interfaces/IHook.sol";
import {IKeyward} from "../interfaces/IKeyward.sol";
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
import {HooksLib} from "../libraries/HooksLib.sol";
import {Settings, SettingsLib} from "../types/Settings.sol";
import {Caps, CapsLib} from "./types/Caps.sol";
import {PolicyHeader, PolicyHeaderLib} from "./types/PolicyHeader.sol";
import {SpendState, SpendStateLib} from "./types/SpendState.sol";

/// @title PolicyHook
/// @notice Turns a session key into a scoped delegate. One deployment serves every account; each account
/// configures its own keys (msg.sender is the account), and state lives under (keyId, account). It speaks Uniswap
/// Calibur's hook interface and reads Keyward's trailing words (`keyId`, settings, extra; see `IHook.sol`).
/// @dev Deployed at an address whose low 5 bits are 0x1e (AFTER_VALIDATE_USER_OP | AFTER_IS_VALID_SIGNATURE |
/// BEFORE_EXECUTE | AFTER_EXECUTE); it refuses to deploy or be configured elsewhere. Grant its keys with the
/// AFTER_EXECUTE_ON_FAILURE settings flag: `afterExecute` only gives back what a failed call was charged.
///
/// What is counted, per call made by the key:
/// - native value: every call's `value`, and Uniswap's ERC20ETH (`ERC20_ETH`), which moves native value through
///   ERC-7914: its `transfer`, `transferFrom(account, ..)`, `approve` and `increaseAllowance`, directly or through
///   Permit2 `approve` / `transferFrom(account, ..)`;
/// - a limited token: `transfer(to, amount)`, `transferFrom(account, to, amount)`, `approve(spender, amount)` and
///   `increaseAllowance(spender, amount)` count `amount` (an approval is spending: the spender can move it later);
///   any other selector on a limited token is refused (`UncountedTokenCall`);
/// - Permit2 (`0x000000000022D473030F116dDEE9F6B43aC78BA3`): `approve(token, ..)` and `transferFrom(.., token)`
///   must name a limited token (or ERC20ETH) and count against it; the batch `transferFrom` and the signature
///   entry points are refused; `lockdown` and the nonce invalidations (they only take permissions away) pass;
/// - the account's deposit and stake at the canonical EntryPoints (v0.8, v0.7, v0.6): `withdrawTo` and
///   `withdrawStake` are refused (`UncountedTokenCall`) unless they pay the account itself.
/// What is not counted: tokens moved by contracts the key is allowed to call (a router pulling an allowance that
/// existed before the grant, a vault withdrawing to someone else, a non-canonical EntryPoint the account was
/// switched to), fee-on-transfer differences, ERC-721/1155. Allow such targets only with argument conditions, or
/// not at all.
///
/// ERC-4337 gas: an operation the account pays for (no paymaster) is refused unless the key's settings carry the
/// GAS_BUDGET flag, under which the account itself charges the key's gas budget; a paymaster must be listed
/// (`setPaymasters`, none by default; ANY_TARGET admits any). Read in validation: the policy's first slots only
/// (ERC-7562 associated storage).
contract PolicyHook is IHook, IPolicyHook {
    using SpendStateLib for SpendState;

    // ------------------------------------------------------------------------------------------------------------
    // Constants
    // ------------------------------------------------------------------------------------------------------------

    /// @notice Wildcard target.
    address public constant ANY_TARGET = address(type(uint160).max);
    /// @notice Wildcard selector (an allow never covers calls without data; a deny covers them too).
    bytes4 public constant ANY_SELECTOR = 0xffffffff;
    /// @notice The rule selector of calls without data (plain ETH transfers).
    bytes4 public constant EMPTY_CALLDATA = 0x00000000;
    /// @notice A condition's `argIndex` that compares the call's value.
    uint16 public constant VALUE_ARG = type(uint16).max;
    /// @notice The canonical Permit2.
    address public constant PERMIT2 = 0x000000000022D473030F116dDEE9F6B43aC78BA3;
    /// @notice Uniswap's ERC20ETH: an ERC-20 face for native value (through ERC-7914).
    address public constant ERC20_ETH = 0x00000000e20E49e6dCeE6e8283A0C090578F0fb9;
    /// @notice The callbacks this hook's address must enable.
    uint160 public constant FLAGS = HooksLib.AFTER_VALIDATE_USER_OP | HooksLib.AFTER_IS_VALID_SIGNATURE
        | HooksLib.BEFORE_EXECUTE | HooksLib.AFTER_EXECUTE;

    uint256 public constant MAX_RULES = 64;
    uint256 public constant MAX_CONDITIONS = 8;
    uint256 public constant MAX_SET_VALUES = 8;
    uint256 public constant MAX_TOKENS = 16;
    uint256 public constant MAX_DOMAINS = 8;
    uint256 public constant MAX_PAYMASTERS = 4;

    bytes4 private constant TRANSFER = 0xa9059cbb;
    bytes4 private constant TRANSFER_FROM = 0x23b872dd;
    bytes4 private constant APPROVE = 0x095ea7b3;
    bytes4 private constant INCREASE_ALLOWANCE = 0x39509351;
    bytes4 private constant PERMIT2_APPROVE = 0x87517c45;
    bytes4 private constant PERMIT2_TRANSFER_FROM = 0x36c78516;
    bytes4 private constant PERMIT2_LOCKDOWN = 0xcc53287f;
    bytes4 private constant PERMIT2_INVALIDATE_NONCES = 0x65d9723c;
    bytes4 private constant PERMIT2_INVALIDATE_UNORDERED_NONCES = 0x3ff9dcb1;
    /// @dev The canonical ERC-4337 EntryPoints (v0.8, v0.7, v0.6): the account's deposit and stake there are its
    /// native value too; `withdrawTo` (0x205c2878) and `withdrawStake` (0xc23a5cea) may only pay the account.
    address private constant ENTRY_POINT_V08 = 0x4337084D9E255Ff0702461CF8895CE9E3b5Ff108;
    address private constant ENTRY_POINT_V07 = 0x0000000071727De22E5E9d8BAf0edAc6f37da032;
    address private constant ENTRY_POINT_V06 = 0x5FF137D4b0FDCD49DcA30c7CF57E578a026d2789;

    /// @dev Set in the rule id of the rule for calls without data.
    uint256 private constant EMPTY_BIT = 1 << 32;
    uint256 private constant U96 = type(uint96).max;

    // ------------------------------------------------------------------------------------------------------------
    // Storage (ERC-7201)
    // ------------------------------------------------------------------------------------------------------------

    /// @dev A limited token's caps and spending: two adjacent slots.
    struct TokenState {
        Caps caps;
        SpendState spend;
    }

    struct Rule {
        RuleState state;
        uint8 conditionCount;
        uint16 index; // position + 1 in `ruleIds`
    }

    /// @dev The first five slots (header and paymasters) are what validation reads: storage associated with the
    /// account (`keccak256(account || x) + n`) under ERC-7562.
    struct KeyPolicy {
        PolicyHeader header;
        address[4] paymasters;
        Caps nativeCaps;
        uint256 nativePerCall;
        SpendState nativeSpend;
        mapping(address token => TokenState) tokenStates;
        address[] tokens;
        mapping(bytes32 ruleId => Rule) rules;
        mapping(bytes32 ruleId => Condition[]) conditions;
        bytes32[] ruleIds;
        bytes32[] domains;
    }

    /// @custom:storage-location erc7201:keyward.hooks.policy.v2
    struct HookStorage {
        mapping(bytes32 keyId => mapping(address account => KeyPolicy)) policies;
    }

    /// @dev keccak256(abi.encode(uint256(keccak256("keyward.hooks.policy.v2")) - 1)) & ~bytes32(uint256(0xff))
    bytes32 private constant STORAGE_SLOT = 0xc3995fef6f58cd9e5c0b060a15f2ac491d3b2e822621434e9800db1019303d00;

    constructor() {
        if (uint160(address(this)) & HooksLib.ALL != FLAGS) revert WrongHookAddress();
    }

    function _policy(address account, bytes32 keyId) private view returns (KeyPolicy storage p) {
        HookStorage storage $;
        assembly ("memory-safe") {
            $.slot := STORAGE_SLOT
        }
        p = $.policies[keyId][account];
    }

    /// @dev The account's current registration of `keyHash`, which must name this hook in its settings.
    function _configured(bytes32 keyHash) private view returns (KeyPolicy storage) {
        if (uint160(address(this)) & HooksLib.ALL != FLAGS) revert WrongHookAddress();
        if (keyHash == bytes32(0)) revert InvalidConfiguration();
        IKeyward account = IKeyward(msg.sender);
        if (address(uint160(account.getKeySettings(keyHash))) != address(this)) revert HookNotInSettings(keyHash);
        return _policy(msg.sender, account.keyIdOf(keyHash));
    }

    /// @dev Keyward's trailing words of a callback: keyId, settings, extra.
    function _trailer() private pure returns (bytes32 keyId, Settings settings, uint256 extra) {
        assembly ("memory-safe") {
            let end := calldatasize()
            keyId := calldataload(sub(end, 0x60))
            settings := calldataload(sub(end, 0x40))
            extra := calldataload(sub(end, 0x20))
        }
    }

    function _ruleId(address target, bytes4 selector, bool empty) private pure returns (bytes32) {
        return bytes32((uint256(uint160(target)) << 96) | (empty ? EMPTY_BIT : 0) | uint256(uint32(selector)));
    }

    // ------------------------------------------------------------------------------------------------------------
    // Configuration
    // ------------------------------------------------------------------------------------------------------------

    /// @inheritdoc IPolicyHook
    function setCallRule(bytes32 keyHash, address target, bytes4 selector, RuleState state) external {
        KeyPolicy storage p = _configured(keyHash);
        bytes32 id = _ruleId(target, selector, selector == EMPTY_CALLDATA);
        Rule storage r = p.rules[id];
        if (r.index == 0 && state != RuleState.None) {
            if (p.ruleIds.length >= MAX_RULES) revert TooManyEntries(MAX_RULES);
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
        if (_fastBit(selector) != 0) _syncFast(p, target);
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
        bytes32 id = _ruleId(target, selector, selector == EMPTY_CALLDATA);
        Rule storage r = p.rules[id];
        if (r.state != RuleState.Allow) revert InvalidConfiguration();
        if (conditions.length > MAX_CONDITIONS) revert TooManyEntries(MAX_CONDITIONS);
        Condition[] storage stored = p.conditions[id];
        while (stored.length != 0) stored.pop();
        for (uint256 i; i < conditions.length; ++i) {
            Condition calldata c = conditions[i];
            uint256 n = c.values.length;
            if (c.op == ConditionOp.None || n == 0 || (c.op != ConditionOp.InSet && n != 1) || c.bits > 256) {
                revert InvalidConfiguration();
            }
            if (n > MAX_SET_VALUES) revert TooManyEntries(MAX_SET_VALUES);
            stored.push(c);
        }
        r.conditionCount = uint8(conditions.length);
        if (_fastBit(selector) != 0) _syncFast(p, target);
        emit ConditionsSet(msg.sender, keyHash, target, selector, conditions);
    }

    /// @inheritdoc IPolicyHook
    function setNativeLimits(bytes32 keyHash, bool enabled, uint128 perCall, Limits calldata limits) external {
        _checkLimits(limits);
        KeyPolicy storage p = _configured(keyHash);
        p.header = p.header.withFlag(PolicyHeaderLib.NATIVE, enabled);
        p.nativePerCall = perCall;
        p.nativeCaps = CapsLib.pack(limits.perPeriod, limits.lifetime, limits.period, 0);
        p.nativeSpend = SpendStateLib.pack(0, 0, block.timestamp);
        emit NativeLimitsSet(msg.sender, keyHash, enabled, perCall, limits);
    }

    /// @inheritdoc IPolicyHook
    function setTokenLimit(bytes32 keyHash, address token, bool enabled, Limits calldata limits) external {
        if (token == address(0) || token == ANY_TARGET || token == ERC20_ETH) revert InvalidConfiguration();
        _checkLimits(limits);
        KeyPolicy storage p = _configured(keyHash);
        TokenState storage state = p.tokenStates[token];
        uint256 index = state.caps.index();
        if (enabled) {
            if (index == 0) {
                if (p.tokens.length >= MAX_TOKENS) revert TooManyEntries(MAX_TOKENS);
                p.tokens.push(token);
                index = p.tokens.length;
            }
            state.caps = CapsLib.pack(limits.perPeriod, limits.lifetime, limits.period, index);
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
        state.spend = SpendStateLib.pack(0, 0, block.timestamp);
        emit TokenLimitSet(msg.sender, keyHash, token, enabled, limits);
    }

    /// @dev The fast-allow bit of a counted token selector (0 for any other selector).
    function _fastBit(bytes4 selector) private pure returns (uint256) {
        if (selector == TRANSFER) return 1;
        if (selector == TRANSFER_FROM) return 2;
        if (selector == APPROVE) return 4;
        if (selector == INCREASE_ALLOWANCE) return 8;
        return 0;
    }

    /// @dev Recomputes a limited token's fast-allow bits from its exact rules (after any change to them).
    function _syncFast(KeyPolicy storage p, address token) private {
        TokenState storage state = p.tokenStates[token];
        Caps caps = state.caps;
        if (!caps.isLimited()) return;
        uint256 bits;
        bytes4[4] memory selectors = [TRANSFER, TRANSFER_FROM, APPROVE, INCREASE_ALLOWANCE];
        for (uint256 i; i < 4; ++i) {
            Rule storage r = p.rules[_ruleId(token, selectors[i], false)];
            if (r.state == RuleState.Allow && r.conditionCount == 0) bits |= 1 << i;
        }
        state.caps = caps.withFast(bits);
    }

    /// @dev A per-period cap needs a period.
    function _checkLimits(Limits calldata limits) private pure {
        if (limits.perPeriod != 0 && limits.period == 0) revert InvalidConfiguration();
    }

    /// @inheritdoc IPolicyHook
    function setUsageLimits(bytes32 keyHash, uint32 maxCalls, uint32 maxPerPeriod, uint40 period, uint16 maxPerBatch)
        external
    {
        if (maxPerPeriod != 0 && period == 0) revert InvalidConfiguration();
        KeyPolicy storage p = _configured(keyHash);
        p.header =
            p.header.withUsageLimits(maxCalls, maxPerPeriod, period, block.timestamp).withMaxPerBatch(maxPerBatch);
        emit UsageLimitsSet(msg.sender, keyHash, maxCalls, maxPerPeriod, period, maxPerBatch);
    }

    /// @inheritdoc IPolicyHook
    function setSignaturePolicy(bytes32 keyHash, SignatureMode mode, bytes32[] calldata domains) external {
        if (domains.length > MAX_DOMAINS) revert TooManyEntries(MAX_DOMAINS);
        if ((mode == SignatureMode.Domains) != (domains.length != 0)) revert InvalidConfiguration();
        KeyPolicy storage p = _configured(keyHash);
        p.header = p.header.withSignatureMode(uint8(mode));
        p.domains = domains;
        emit SignaturePolicySet(msg.sender, keyHash, mode, domains);
    }

    /// @inheritdoc IPolicyHook
    function setPaymasters(bytes32 keyHash, address[] calldata paymasters) external {
        uint256 n = paymasters.length;
        if (n > MAX_PAYMASTERS) revert TooManyEntries(MAX_PAYMASTERS);
        KeyPolicy storage p = _configured(keyHash);
        for (uint256 i; i < MAX_PAYMASTERS; ++i) {
            address pm = i < n ? paymasters[i] : address(0);
            if (i < n && pm == address(0)) revert InvalidConfiguration();
            p.paymasters[i] = pm;
        }
        p.header = p.header.withPaymasterCount(n);
        emit PaymastersSet(msg.sender, keyHash, paymasters);
    }

    // ------------------------------------------------------------------------------------------------------------
    // Validation callbacks
    // ------------------------------------------------------------------------------------------------------------

    /// @inheritdoc IValidationHook
    /// @dev Who pays: a listed paymaster (`setPaymasters`; ANY_TARGET in the list admits any), or the account within
    /// the key's gas budget (GAS_BUDGET flag, enforced by the account). Reads the header and the paymaster list, the
    /// policy's first slots (storage associated with the account).
    function afterValidateUserOp(bytes32, PackedUserOperation calldata userOp, bytes32, uint256, bytes calldata)
        external
        view
        returns (bytes4)
    {
        (bytes32 keyId, Settings settings,) = _trailer();
        bytes calldata pmd = userOp.paymasterAndData;
        address paymaster = pmd.length >= 20 ? address(bytes20(pmd[0:20])) : address(0);
        if (paymaster == address(0)) {
            if (!settings.hasFlag(SettingsLib.GAS_BUDGET)) revert PaymasterRequired();
        } else {
            // Only a listed paymaster (or any, when the list holds ANY_TARGET): an ERC-20 paymaster the account once
            // approved would otherwise turn gas into token spending outside every cap.
            KeyPolicy storage p = _policy(msg.sender, keyId);
            uint256 n = p.header.paymasterCount();
            uint256 i;
            while (i < n && p.paymasters[i] != paymaster && p.paymasters[i] != ANY_TARGET) ++i;
            if (i == n) revert PaymasterNotAllowed(paymaster);
        }
        return IValidationHook.afterValidateUserOp.selector;
    }

    /// @inheritdoc IValidationHook
    /// @dev The ERC-1271 scope: off, any message, or only TypedDataSign messages of the listed application domains
    /// (Keyward's trailing `extra` word is the application's domain separator, 0 for PersonalSign).
    function afterIsValidSignature(bytes32, bytes32, bytes calldata) external view returns (bytes4) {
        (bytes32 keyId,, uint256 appSeparator) = _trailer();
        KeyPolicy storage p = _policy(msg.sender, keyId);
        uint8 mode = p.header.signatureMode();
        if (mode == uint8(SignatureMode.Any)) return IValidationHook.afterIsValidSignature.selector;
        if (mode == uint8(SignatureMode.Domains) && appSeparator != 0) {
            bytes32[] storage domains = p.domains;
            for (uint256 i; i < domains.length; ++i) {
                if (domains[i] == bytes32(appSeparator)) return IValidationHook.afterIsValidSignature.selector;
            }
        }
        return bytes4(0);
    }

    /// @inheritdoc IValidationHook
    /// @dev Not enabled by this hook's address flags; answers "no objection" if called anyway.
    function afterVerifySignature(bytes32, bytes32, bytes calldata) external pure returns (bytes4) {
        return IValidationHook.afterVerifySignature.selector;
    }

    // ------------------------------------------------------------------------------------------------------------
    // Execution callbacks
    // ------------------------------------------------------------------------------------------------------------

    /// @inheritdoc IExecutionHook
    function beforeExecute(bytes32, address to, uint256 value, bytes calldata data)
        external
        returns (bytes4, bytes memory context)
    {
        if (to == msg.sender || to == address(this)) revert SelfCallDenied(to);
        (KeyPolicy storage p, PolicyHeader header, Caps caps) = _admit(to, value, data);
        bool counted = _chargeUsage(p, header);
        (uint256 native, uint256 tokenWord) = _chargeSpending(p, header, caps, to, value, data);
        // Two words for `afterExecute`: native with bit 255 = counted; token | amount << 160 (amount < 2^96).
        if (counted || native != 0 || tokenWord >> 160 != 0) {
            context = abi.encode(native | (counted ? 1 << 255 : 0), tokenWord);
        }
        return (IExecutionHook.beforeExecute.selector, context);
    }

    /// @dev The key's policy, the batch cap, and the rules with the matched rule's conditions. Returns the target's
    /// caps when it is a limited token: read once, they also say when its exact allow rule needs no look-up.
    function _admit(address to, uint256 value, bytes calldata data)
        private
        view
        returns (KeyPolicy storage p, PolicyHeader header, Caps caps)
    {
        (bytes32 keyId,, uint256 callInfo) = _trailer();
        p = _policy(msg.sender, keyId);
        header = p.header;
        uint256 maxPerBatch = header.maxPerBatch();
        if (maxPerBatch != 0 && callInfo >> 128 > maxPerBatch) revert CallLimitExceeded(3, maxPerBatch);
        bytes4 selector = _selector(data);
        if (header.hasFlag(PolicyHeaderLib.HAS_TOKENS)) caps = p.tokenStates[to].caps;
        if (header.hasFlag(PolicyHeaderLib.HAS_DENY) || caps.fast() & _fastBit(selector) == 0) {
            (bytes32 matched, uint256 conditionCount) = _match(p, header, to, selector, data.length == 0);
            if (conditionCount != 0) _checkConditions(p.conditions[matched], value, data);
        }
    }

    /// @dev The call's selector: 0 without data; a short call's bytes padded with zeros.
    function _selector(bytes calldata data) private pure returns (bytes4) {
        return data.length == 0 ? bytes4(0) : bytes4(data);
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
    ) private returns (uint256 native, uint256 tokenWord) {
        address token;
        uint256 amount;
        if (caps.isLimited()) {
            (token, amount) = (to, _tokenAmount(to, _selector(data), data));
        } else {
            (native, token, amount) = _spending(p, to, _selector(data), data);
            if (amount != 0) caps = p.tokenStates[token].caps;
        }
        native += value;
        if (native != 0) _chargeNative(p, header, native);
        if (amount != 0) {
            TokenState storage state = p.tokenStates[token];
            state.spend = _spend(caps, state.spend, token, amount);
        }
        tokenWord = uint256(uint160(token)) | (amount << 160);
    }

    /// @inheritdoc IExecutionHook
    /// @dev On failure, gives back what `beforeExecute` charged (a failed call does not use up any cap).
    function afterExecute(bytes32, bool success, bytes calldata, bytes calldata context) external returns (bytes4) {
        if (!success && context.length != 0) {
            (bytes32 keyId,,) = _trailer();
            (uint256 w0, uint256 w1) = abi.decode(context, (uint256, uint256));
            (uint256 native, bool counted) = (w0 & ~uint256(1 << 255), w0 >> 255 == 1);
            (address token, uint256 amount) = (address(uint160(w1)), w1 >> 160);
            KeyPolicy storage p = _policy(msg.sender, keyId);
            if (counted) {
                PolicyHeader h = p.header;
                uint256 used = h.used();
                uint256 inWindow = h.inWindow();
                p.header = h.withCount(used == 0 ? 0 : used - 1, inWindow == 0 ? 0 : inWindow - 1, h.windowStart());
            }
            if (native != 0) p.nativeSpend = _refund(p.nativeSpend, native);
            if (amount != 0) {
                TokenState storage state = p.tokenStates[token];
                state.spend = _refund(state.spend, amount);
            }
        }
        return IExecutionHook.afterExecute.selector;
    }

    // ------------------------------------------------------------------------------------------------------------
    // Rules and conditions
    // ------------------------------------------------------------------------------------------------------------

    /// @dev The allowing rule for the call, after denies. A deny on any rule that covers the call wins: (to,
    /// selector), (to, ANY_SELECTOR), (ANY_TARGET, selector), (ANY_TARGET, ANY_SELECTOR), calls without data
    /// included. An allow with ANY_SELECTOR never covers a call without data: plain transfers need an explicit
    /// EMPTY_CALLDATA rule.
    function _match(KeyPolicy storage p, PolicyHeader header, address to, bytes4 selector, bool empty)
        private
        view
        returns (bytes32, uint256)
    {
        bytes32 exact = _ruleId(to, selector, empty);
        Rule storage exactRule = p.rules[exact];
        RuleState exactState = exactRule.state;
        bool hasDeny = header.hasFlag(PolicyHeaderLib.HAS_DENY);
        if (!hasDeny && exactState == RuleState.Allow) return (exact, exactRule.conditionCount);
        bytes32 anySel = _ruleId(to, ANY_SELECTOR, false);
        bytes32 anyTarget = _ruleId(ANY_TARGET, selector, empty);
        bytes32 anyAny = _ruleId(ANY_TARGET, ANY_SELECTOR, false);
        if (hasDeny) {
            if (
                exactState == RuleState.Deny || p.rules[anySel].state == RuleState.Deny
                    || p.rules[anyTarget].state == RuleState.Deny || p.rules[anyAny].state == RuleState.Deny
            ) revert CallDenied(to, selector);
        }
        if (exactState == RuleState.Allow) return (exact, exactRule.conditionCount);
        if (!empty && p.rules[anySel].state == RuleState.Allow) return (anySel, p.rules[anySel].conditionCount);
        if (p.rules[anyTarget].state == RuleState.Allow) return (anyTarget, p.rules[anyTarget].conditionCount);
        if (!empty && p.rules[anyAny].state == RuleState.Allow) return (anyAny, p.rules[anyAny].conditionCount);
        revert CallNotAllowed(to, selector);
    }

    function _checkConditions(Condition[] storage conditions, uint256 value, bytes calldata data) private view {
        for (uint256 i; i < conditions.length; ++i) {
            Condition storage c = conditions[i];
            uint256 argIndex = c.argIndex;
            uint256 arg;
            if (argIndex == VALUE_ARG) {
                arg = value;
            } else {
                uint256 pos = 4 + argIndex * 32;
                if (data.length < pos + 32) revert ConditionFailed(i);
                arg = uint256(bytes32(data[pos:pos + 32]));
            }
            uint256 bits = c.bits;
            // A word with bits above the argument's width is not that type's encoding: fail, whatever the op.
            if (bits != 0 && bits < 256 && arg >> bits != 0) revert ConditionFailed(i);
            if (!_compare(c.op, arg, c.values)) revert ConditionFailed(i);
        }
    }

    function _compare(ConditionOp op, uint256 arg, bytes32[] storage values) private view returns (bool) {
        if (op == ConditionOp.InSet) {
            for (uint256 j; j < values.length; ++j) {
                if (uint256(values[j]) == arg) return true;
            }
            return false;
        }
        uint256 v = uint256(values[0]);
        if (op == ConditionOp.Equal) return arg == v;
        if (op == ConditionOp.NotEqual) return arg != v;
        if (op == ConditionOp.LessOrEqual) return arg <= v;
        if (op == ConditionOp.GreaterOrEqual) return arg >= v;
        if (op == ConditionOp.Less) return arg < v;
        return arg > v; // Greater
    }

    // ------------------------------------------------------------------------------------------------------------
    // Counting
    // ------------------------------------------------------------------------------------------------------------

    /// @dev Counts the call against the call caps; false when the key has none. One read (the caller's), one write
    /// of the header.
    function _chargeUsage(KeyPolicy storage p, PolicyHeader header) private returns (bool) {
        uint256 maxCalls = header.maxCalls();
        uint256 maxPerPeriod = header.maxPerPeriod();
        if (maxCalls == 0 && maxPerPeriod == 0) return false;
        uint256 used = header.used();
        if (maxCalls != 0 && used >= maxCalls) revert CallLimitExceeded(2, maxCalls);
        uint256 inWindow = header.inWindow();
        uint256 windowStart = header.windowStart();
        uint256 period = header.period();
        if (period != 0 && block.timestamp >= windowStart + period) {
            windowStart += ((block.timestamp - windowStart) / period) * period;
            inWindow = 0;
        }
        if (maxPerPeriod != 0 && inWindow >= maxPerPeriod) revert CallLimitExceeded(1, maxPerPeriod);
        p.header = header.withCount(used + 1, inWindow + 1, windowStart);
        return true;
    }

    /// @dev What a call to something other than a limited token spends besides its value: native value through
    /// ERC20ETH, or a limited token through Permit2. Refuses the calls that move or approve a token without being
    /// countable, and EntryPoint withdrawals to anyone but the account.
    function _spending(KeyPolicy storage p, address to, bytes4 selector, bytes calldata data)
        private
        view
        returns (uint256 native, address token, uint256 amount)
    {
        if (to == PERMIT2) {
            if (selector == PERMIT2_APPROVE) {
                (token, amount) = (address(uint160(_arg(data, 0))), _arg(data, 2));
            } else if (selector == PERMIT2_TRANSFER_FROM) {
                token = address(uint160(_arg(data, 3)));
                if (address(uint160(_arg(data, 0))) == msg.sender) amount = _arg(data, 2);
            } else if (
                selector == PERMIT2_LOCKDOWN || selector == PERMIT2_INVALIDATE_NONCES
                    || selector == PERMIT2_INVALIDATE_UNORDERED_NONCES
            ) {
                return (0, address(0), 0);
            } else {
                revert UncountedTokenCall(PERMIT2, selector);
            }
            if (token == ERC20_ETH) return (amount, address(0), 0);
            if (!p.tokenStates[token].caps.isLimited()) revert UncountedTokenCall(token, selector);
            return (0, token, amount);
        }
        if (to == ERC20_ETH) return (_tokenAmount(to, selector, data), address(0), 0);
        // The account's deposit and stake at a canonical EntryPoint leave it only to the account itself (a word
        // missing from short calldata reads as another address).
        bool withdraws;
        assembly ("memory-safe") {
            if or(or(eq(to, ENTRY_POINT_V08), eq(to, ENTRY_POINT_V07)), eq(to, ENTRY_POINT_V06)) {
                let s := shr(224, selector)
                if or(eq(s, 0x205c2878), eq(s, 0xc23a5cea)) {
                    withdraws := iszero(eq(and(calldataload(add(data.offset, 4)), sub(shl(160, 1), 1)), caller()))
                }
            }
        }
        if (withdraws) revert UncountedTokenCall(to, selector);
    }

    /// @dev The amount an ERC-20 call on a counted token moves or approves from the account.
    function _tokenAmount(address token, bytes4 selector, bytes calldata data) private view returns (uint256) {
        if (selector == TRANSFER || selector == APPROVE || selector == INCREASE_ALLOWANCE) return _arg(data, 1);
        if (selector == TRANSFER_FROM) return address(uint160(_arg(data, 0))) == msg.sender ? _arg(data, 2) : 0;
        revert UncountedTokenCall(token, selector);
    }

    function _arg(bytes calldata data, uint256 index) private pure returns (uint256) {
        uint256 pos = 4 + index * 32;
        if (data.length < pos + 32) revert MalformedCalldata();
        return uint256(bytes32(data[pos:pos + 32]));
    }

    function _chargeNative(KeyPolicy storage p, PolicyHeader header, uint256 amount) private {
        if (!header.hasFlag(PolicyHeaderLib.NATIVE)) revert NativeValueNotAllowed();
        uint256 perCall = p.nativePerCall;
        if (perCall != 0 && amount > perCall) revert SpendLimitExceeded(address(0), 0, amount, perCall);
        p.nativeSpend = _spend(p.nativeCaps, p.nativeSpend, address(0), amount);
    }

    /// @dev `s` after charging `amount` against period and lifetime caps; reverts when a cap would be passed.
    function _spend(Caps caps, SpendState s, address asset, uint256 amount) private view returns (SpendState) {
        uint256 inWindow = s.inWindow();
        uint256 windowStart = s.windowStart();
        uint256 period = caps.period();
        if (period != 0 && block.timestamp >= windowStart + period) {
            windowStart += ((block.timestamp - windowStart) / period) * period;
            inWindow = 0;
        }
        inWindow += amount;
        uint256 total = s.total() + amount;
        uint256 perPeriod = caps.perPeriod();
        if (period != 0 && perPeriod != 0 && inWindow > perPeriod) {
            revert SpendLimitExceeded(asset, 1, inWindow, perPeriod);
        }
        uint256 lifetime = caps.lifetime();
        if (lifetime != 0 && total > lifetime) revert SpendLimitExceeded(asset, 2, total, lifetime);
        if (inWindow > U96 || total > U96) revert SpendLimitExceeded(asset, 2, total, U96);
        return SpendStateLib.pack(inWindow, total, windowStart);
    }

    /// @dev Never below zero: a window may have rolled over between charge and refund.
    function _refund(SpendState s, uint256 amount) private pure returns (SpendState) {
        uint256 inWindow = s.inWindow();
        uint256 total = s.total();
        return SpendStateLib.pack(
            inWindow >= amount ? inWindow - amount : 0, total >= amount ? total - amount : 0, s.windowStart()
        );
    }

    // ------------------------------------------------------------------------------------------------------------
    // Views
    // ------------------------------------------------------------------------------------------------------------

    /// @inheritdoc IPolicyHook
    function getPolicy(address account, bytes32 keyHash) external view returns (Policy memory policy) {
        KeyPolicy storage p = _policy(account, IKeyward(account).keyIdOf(keyHash));
        policy.active = isActive(account, keyHash);
        uint256 n = p.ruleIds.length;
        policy.rules = new CallRule[](n);
        for (uint256 i; i < n; ++i) {
            bytes32 id = p.ruleIds[i];
            (address target, bytes4 selector) = _ruleTarget(id);
            policy.rules[i] = CallRule(target, selector, p.rules[id].state, p.conditions[id]);
        }
        policy.native = _native(p);
        n = p.tokens.length;
        policy.tokens = new TokenPolicy[](n);
        for (uint256 i; i < n; ++i) {
            TokenState storage state = p.tokenStates[p.tokens[i]];
            policy.tokens[i] = TokenPolicy(p.tokens[i], _limits(state.caps), _spent(state.spend));
        }
        policy.usage = _usage(p.header);
        policy.signatureMode = SignatureMode(p.header.signatureMode());
        policy.signatureDomains = p.domains;
        n = p.header.paymasterCount();
        policy.paymasters = new address[](n);
        for (uint256 i; i < n; ++i) {
            policy.paymasters[i] = p.paymasters[i];
        }
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
            (targets[i], selectors[i]) = _ruleTarget(id);
            states[i] = p.rules[id].state;
        }
    }

    /// @inheritdoc IPolicyHook
    function getUsage(address account, bytes32 keyHash) external view returns (UsagePolicy memory) {
        return _usage(_policy(account, IKeyward(account).keyIdOf(keyHash)).header);
    }

    /// @inheritdoc IPolicyHook
    function getToken(address account, bytes32 keyHash, address token) external view returns (TokenPolicy memory) {
        KeyPolicy storage p = _policy(account, IKeyward(account).keyIdOf(keyHash));
        TokenState storage state = p.tokenStates[token];
        return TokenPolicy(token, _limits(state.caps), _spent(state.spend));
    }

    /// @inheritdoc IPolicyHook
    function getNative(address account, bytes32 keyHash) external view returns (NativePolicy memory) {
        return _native(_policy(account, IKeyward(account).keyIdOf(keyHash)));
    }

    /// @inheritdoc IPolicyHook
    /// @dev A low-level call: `try` does not catch the failed decoding of an empty answer (an address without code,
    /// a contract whose fallback answers nothing), and this view must answer false for those, not revert.
    function isActive(address account, bytes32 keyHash) public view returns (bool active) {
        bytes4 selector = IKeyward.getKeySettings.selector;
        assembly ("memory-safe") {
            mstore(0x00, selector)
            mstore(0x04, keyHash)
            let ok := staticcall(gas(), account, 0x00, 0x24, 0x00, 0x20)
            active := and(and(ok, gt(returndatasize(), 0x1f)), eq(and(mload(0x00), sub(shl(160, 1), 1)), address()))
        }
    }

    function _ruleTarget(bytes32 id) private pure returns (address target, bytes4 selector) {
        target = address(uint160(uint256(id) >> 96));
        selector = uint256(id) & EMPTY_BIT != 0 ? EMPTY_CALLDATA : bytes4(uint32(uint256(id)));
    }

    function _native(KeyPolicy storage p) private view returns (NativePolicy memory) {
        return NativePolicy(
            p.header.hasFlag(PolicyHeaderLib.NATIVE),
            uint128(p.nativePerCall),
            _limits(p.nativeCaps),
            _spent(p.nativeSpend)
        );
    }

    function _usage(PolicyHeader h) private pure returns (UsagePolicy memory) {
        return UsagePolicy(
            uint32(h.maxCalls()),
            uint32(h.used()),
            uint32(h.maxPerPeriod()),
            uint32(h.inWindow()),
            uint40(h.period()),
            uint40(h.windowStart()),
            uint16(h.maxPerBatch())
        );
    }

    function _limits(Caps c) private pure returns (Limits memory) {
        return Limits(uint96(c.perPeriod()), uint96(c.lifetime()), uint40(c.period()));
    }

    function _spent(SpendState s) private pure returns (Spend memory) {
        return Spend(uint96(s.inWindow()), uint96(s.total()), uint40(s.windowStart()));
    }
}
