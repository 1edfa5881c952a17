// SPDX-License-Identifier: MIT
pragma solidity ^0.8.30;

// Self-contained on purpose: the Rust crates generate bindings from this file with alloy's `sol!`.

/// @notice The state of a (target, selector) rule. `Deny` beats every `Allow`, wildcards included.
enum RuleState {
    None,
    Allow,
    Deny
}

/// @notice Comparison of one static ABI argument (or the call's value) against `values`. Comparisons are unsigned.
enum ConditionOp {
    None,
    Equal,
    NotEqual,
    LessOrEqual,
    GreaterOrEqual,
    InSet,
    Less,
    Greater
}

/// @notice ERC-1271 scope of a key. `Off`: the key signs nothing for the account. `Any`: every message, nested
/// PersonalSign included, so also Permit2 and EIP-2612 permits and other off-chain orders that move tokens without
/// a call the hook sees: spend caps do not bound them; give `Any` only to keys that may move everything.
/// `Domains`: only ERC-7739 TypedDataSign messages of the listed application domain separators (PersonalSign is
/// refused); listing Permit2's or a token's own domain opens the same way around the caps.
enum SignatureMode {
    Off,
    Any,
    Domains
}

/// @notice A condition on a call of a rule. `argIndex` counts 32-byte words after the selector; `VALUE_ARG`
/// (0xffff) compares the call's value instead. `bits` is the argument's width (a `uint<bits>`; 160 for an address,
/// 1 for a bool; 0 or 256 for a full word): a word with bits set above it is not a canonical encoding of the type
/// and fails the condition, whatever the token would do with it. `values[0]` for the comparisons, up to 8 for
/// `InSet`.
struct Condition {
    ConditionOp op;
    uint16 argIndex;
    uint16 bits;
    bytes32[] values;
}

/// @notice A call rule as the views return it.
struct CallRule {
    address target;
    bytes4 selector;
    RuleState state;
    Condition[] conditions;
}

/// @notice Caps in one asset (0 = no cap in that dimension). `period` in seconds (0 = no periodic cap). Windows
/// are whole periods from a start time: the configuration's time (`setNativeLimits`, `setTokenLimit`) or a given
/// one (`setNativeLimitsFrom`, `setTokenLimitFrom`, ERC-7715's `startTime`); before it nothing may be spent.
struct Limits {
    uint96 perPeriod;
    uint96 lifetime;
    uint40 period;
}

/// @notice What was spent: in the current window, in total, and when the window started (for a stream: 0, what
/// it spent, and its start time).
struct Spend {
    uint96 inWindow;
    uint96 total;
    uint40 windowStart;
}

/// @notice A streaming allowance (ERC-7715 `native-token-stream` / `erc20-token-stream`): `initialAmount` is
/// released at `startTime`, then `amountPerSecond` accrues every second; the stream never releases more than
/// `maxAmount` in total (0 = no maximum); spending draws it down. Nothing may be spent before `startTime` (0 = the
/// configuration's time; a past time counts from then).
struct Stream {
    uint96 initialAmount;
    uint96 amountPerSecond;
    uint96 maxAmount;
    uint40 startTime;
}

/// @notice An asset's stream as the views return it: whether the asset is streamed at all, its parameters, what
/// it spent, and what it may spend now (released minus spent).
struct StreamPolicy {
    bool streaming;
    Stream stream;
    uint96 spent;
    uint256 available;
}

/// @notice A token's caps and spending (for a streamed token: `limits.lifetime` is the stream's maximum and the
/// rest of the stream is in `getStream`).
struct TokenPolicy {
    address token;
    Limits limits;
    Spend spend;
}

/// @notice Native value (also moved through Uniswap's ERC20ETH, directly or by Permit2): a per-call cap beside the
/// period and lifetime caps.
struct NativePolicy {
    bool enabled;
    uint128 perCall;
    Limits limits;
    Spend spend;
}

/// @notice Call counts: a lifetime cap, a cap per period (rate limit) and a cap per batch. 0 = no cap.
struct UsagePolicy {
    uint32 maxCalls;
    uint32 used;
    uint32 maxPerPeriod;
    uint32 inWindow;
    uint40 period;
    uint40 windowStart;
    uint16 maxPerBatch;
}

/// @notice A key's whole policy. `active` is whether the key's settings name this hook, so that the policy applies.
struct Policy {
    bool active;
    CallRule[] rules;
    NativePolicy native;
    TokenPolicy[] tokens;
    UsagePolicy usage;
    SignatureMode signatureMode;
    bytes32[] signatureDomains;
    address[] paymasters;
}

/// @title IPolicyHook
/// @notice Keyward's policy hook: call allowlists with wildcards and explicit denies, argument and value
/// conditions, native and ERC-20 spend limits per period (anchored at a start time) and lifetime or as streams,
/// call caps, ERC-1271 scope, and who pays for ERC-4337 gas, per (account, key registration). The hook's
/// configuration and views run in its extension (`PolicyHook.EXTENSION()`, reached through the hook's fallback by
/// DELEGATECALL); call them on the hook's address. Configured only by the account itself, for a key whose settings
/// name this hook; state is keyed by the registration's `keyId`, so a revoked and re-registered key starts empty.
interface IPolicyHook {
    // ----------------------------------------------------------------------------------------------------
    // Events (account and keyHash indexed)
    // ----------------------------------------------------------------------------------------------------

    /// @notice A call rule was set.
    event CallRuleSet(
        address indexed account, bytes32 indexed keyHash, address target, bytes4 selector, RuleState state
    );
    /// @notice A call rule's conditions were replaced.
    event ConditionsSet(
        address indexed account, bytes32 indexed keyHash, address target, bytes4 selector, Condition[] conditions
    );
    /// @notice Native value caps were set (spending restarts).
    event NativeLimitsSet(
        address indexed account, bytes32 indexed keyHash, bool enabled, uint128 perCall, Limits limits
    );
    /// @notice A token's caps were set (spending restarts); `enabled` false removes the token.
    event TokenLimitSet(address indexed account, bytes32 indexed keyHash, address token, bool enabled, Limits limits);
    /// @notice Call caps were set (counts restart).
    event UsageLimitsSet(
        address indexed account,
        bytes32 indexed keyHash,
        uint32 maxCalls,
        uint32 maxPerPeriod,
        uint40 period,
        uint16 maxPerBatch
    );
    /// @notice The ERC-1271 scope was set.
    event SignaturePolicySet(address indexed account, bytes32 indexed keyHash, SignatureMode mode, bytes32[] domains);
    /// @notice The paymasters the key's ERC-4337 operations may use were set (empty: none; ANY_TARGET: any).
    event PaymastersSet(address indexed account, bytes32 indexed keyHash, address[] paymasters);
    /// @notice An asset's caps start at `startTime` (after `NativeLimitsSet` / `TokenLimitSet` of an anchored
    /// configuration; `asset` 0 is native value).
    event LimitsStartSet(address indexed account, bytes32 indexed keyHash, address asset, uint40 startTime);
    /// @notice Native value was enabled as a stream (spending restarts).
    event NativeStreamSet(address indexed account, bytes32 indexed keyHash, uint128 perCall, Stream stream);
    /// @notice A token was limited by a stream (spending restarts).
    event TokenStreamSet(address indexed account, bytes32 indexed keyHash, address token, Stream stream);

    // ----------------------------------------------------------------------------------------------------
    // Errors
    // ----------------------------------------------------------------------------------------------------

    /// @notice No rule allows this call (`selector` 0 with no data is a plain transfer).
    error CallNotAllowed(address target, bytes4 selector);
    /// @notice A rule explicitly denies this call.
    error CallDenied(address target, bytes4 selector);
    /// @notice A key may never call its account or this hook, whatever its rules say.
    error SelfCallDenied(address target);
    /// @notice Condition `index` of the matched rule failed (a non-canonical argument fails too).
    error ConditionFailed(uint256 index);
    /// @notice Native value is not enabled for this key.
    error NativeValueNotAllowed();
    /// @notice A cap would be exceeded: `kind` 0 per call, 1 per period, 2 lifetime, 3 stream (`limit` is what the
    /// stream has released so far, `attempted` what it would have spent). `asset` 0 is native value.
    error SpendLimitExceeded(address asset, uint8 kind, uint256 attempted, uint256 limit);
    /// @notice The asset's allowance starts later (anchored periodic caps or a stream before its start time).
    error AllowanceNotStarted(address asset, uint256 startTime);
    /// @notice A call cap would be exceeded: `kind` 1 per period, 2 lifetime, 3 per batch.
    error CallLimitExceeded(uint8 kind, uint256 limit);
    /// @notice A call that moves or approves a token the hook cannot count (a selector it does not know on a
    /// limited token, or a Permit2 call naming a token without limits).
    error UncountedTokenCall(address token, bytes4 selector);
    /// @notice A bound on a per-key list was reached.
    error TooManyEntries(uint256 max);
    /// @notice A configuration value is malformed.
    error InvalidConfiguration();
    /// @notice The key's settings do not name this hook: a policy here would not apply, so it is refused.
    error HookNotInSettings(bytes32 keyHash);
    /// @notice The hook is deployed at an address whose low 5 bits are not its callback flags (0x1e).
    error WrongHookAddress();
    /// @notice A counted call's calldata is too short for its arguments.
    error MalformedCalldata();
    /// @notice The key's ERC-4337 operations must be paid by a paymaster (unless the account gives the key a gas
    /// budget, the GAS_BUDGET settings flag).
    error PaymasterRequired();
    /// @notice The operation's paymaster is not one the key may use (none is, until `setPaymasters` lists it).
    error PaymasterNotAllowed(address paymaster);
    /// @notice The hook has no function with this selector.
    error FnSelectorNotRecognized();

    // ----------------------------------------------------------------------------------------------------
    // Configuration (msg.sender is the account; the key's settings must name this hook)
    // ----------------------------------------------------------------------------------------------------

    /// @notice Sets the rule for (`target`, `selector`); `ANY_TARGET` / `ANY_SELECTOR` are wildcards and
    /// `EMPTY_CALLDATA` (0) stands for calls without data (plain ETH transfers), which no `ANY_SELECTOR` allow
    /// covers. A call whose real selector is 0x00000000 is allowed only by an `ANY_SELECTOR` rule.
    function setCallRule(bytes32 keyHash, address target, bytes4 selector, RuleState state) external;

    /// @notice Replaces the conditions of the (`target`, `selector`) allow rule (at most 8).
    function setConditions(bytes32 keyHash, address target, bytes4 selector, Condition[] calldata conditions) external;

    /// @notice Sets native value caps; `enabled` false forbids any value.
    function setNativeLimits(bytes32 keyHash, bool enabled, uint128 perCall, Limits calldata limits) external;

    /// @notice Sets a token's caps (at most 16 tokens); `enabled` false removes them.
    function setTokenLimit(bytes32 keyHash, address token, bool enabled, Limits calldata limits) external;

    /// @notice `setNativeLimits` with the caps starting at `startTime` (ERC-7715 `startTime`; 0 = now): periodic
    /// windows are whole periods from it, and nothing may be spent before it.
    function setNativeLimitsFrom(
        bytes32 keyHash,
        bool enabled,
        uint128 perCall,
        Limits calldata limits,
        uint40 startTime
    ) external;

    /// @notice `setTokenLimit` (enabled) with the caps starting at `startTime` (0 = now): periodic windows are whole
    /// periods from it, and nothing may be spent before it.
    function setTokenLimitFrom(bytes32 keyHash, address token, Limits calldata limits, uint40 startTime) external;

    /// @notice Enables native value under a stream (instead of periodic and lifetime caps), with a per-call cap
    /// beside it (0 = none). Counted as the caps count: value, ERC20ETH and Permit2 naming ERC20ETH.
    /// `maxAmount`, when not 0, must be at least `initialAmount`.
    function setNativeStream(bytes32 keyHash, uint128 perCall, Stream calldata stream) external;

    /// @notice Limits a token by a stream (instead of periodic and lifetime caps; it counts as one of the 16
    /// tokens). Counted as the caps count. `maxAmount`, when not 0, must be at least `initialAmount`.
    function setTokenStream(bytes32 keyHash, address token, Stream calldata stream) external;

    /// @notice Sets the call caps.
    function setUsageLimits(bytes32 keyHash, uint32 maxCalls, uint32 maxPerPeriod, uint40 period, uint16 maxPerBatch)
        external;

    /// @notice Sets the ERC-1271 scope (at most 8 domains).
    function setSignaturePolicy(bytes32 keyHash, SignatureMode mode, bytes32[] calldata domains) external;

    /// @notice Sets the paymasters the key's ERC-4337 operations may use (at most 4). None by default: a paymaster
    /// the account approved to take its tokens would turn gas into spending outside every cap. `ANY_TARGET` in the
    /// list admits any paymaster.
    function setPaymasters(bytes32 keyHash, address[] calldata paymasters) external;

    // ----------------------------------------------------------------------------------------------------
    // Views
    // ----------------------------------------------------------------------------------------------------

    /// @notice The whole policy of `account`'s key `keyHash` (its current registration).
    function getPolicy(address account, bytes32 keyHash) external view returns (Policy memory);

    /// @notice The key's rules without their conditions (simple to decode from Solidity).
    function getCallRules(address account, bytes32 keyHash)
        external
        view
        returns (address[] memory targets, bytes4[] memory selectors, RuleState[] memory states);

    /// @notice The key's call caps and counts.
    function getUsage(address account, bytes32 keyHash) external view returns (UsagePolicy memory);

    /// @notice The key's caps and spending in `token` (zero limits when the token is not limited).
    function getToken(address account, bytes32 keyHash, address token) external view returns (TokenPolicy memory);

    /// @notice The key's native value caps and spending.
    function getNative(address account, bytes32 keyHash) external view returns (NativePolicy memory);

    /// @notice Whether `account`'s key `keyHash` is registered with settings that name this hook.
    function isActive(address account, bytes32 keyHash) external view returns (bool);

    /// @notice The stream of `asset` (0 for native value) of the key, and what it may spend now.
    function getStream(address account, bytes32 keyHash, address asset) external view returns (StreamPolicy memory);

    // ----------------------------------------------------------------------------------------------------
    // Constants
    // ----------------------------------------------------------------------------------------------------

    /// @notice Wildcard target of a rule (and, in `setPaymasters`, any paymaster).
    function ANY_TARGET() external view returns (address);
    /// @notice Wildcard selector of a rule (an allow never covers calls without data; a deny covers them too).
    function ANY_SELECTOR() external view returns (bytes4);
    /// @notice The rule selector of calls without data (plain ETH transfers).
    function EMPTY_CALLDATA() external view returns (bytes4);
    /// @notice A condition's `argIndex` that compares the call's value.
    function VALUE_ARG() external view returns (uint16);
    /// @notice The canonical Permit2.
    function PERMIT2() external view returns (address);
    /// @notice Uniswap's ERC20ETH (native value through ERC-7914).
    function ERC20_ETH() external view returns (address);
    /// @notice The callbacks this hook's address enables (its low 5 bits).
    function FLAGS() external view returns (uint160);
    /// @notice The most call rules a key may have.
    function MAX_RULES() external view returns (uint256);
    /// @notice The most conditions a rule may have.
    function MAX_CONDITIONS() external view returns (uint256);
    /// @notice The most values an `InSet` condition may list.
    function MAX_SET_VALUES() external view returns (uint256);
    /// @notice The most limited tokens (periodic or streamed) a key may have.
    function MAX_TOKENS() external view returns (uint256);
    /// @notice The most ERC-1271 application domains a key may list.
    function MAX_DOMAINS() external view returns (uint256);
    /// @notice The most paymasters a key may list.
    function MAX_PAYMASTERS() external view returns (uint256);
}
