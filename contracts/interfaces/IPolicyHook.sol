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

/// @notice Caps in one asset (0 = no cap in that dimension). `period` in seconds (0 = no periodic cap).
struct Limits {
    uint96 perPeriod;
    uint96 lifetime;
    uint40 period;
}

/// @notice What was spent: in the current window, in total, and when the window started.
struct Spend {
    uint96 inWindow;
    uint96 total;
    uint40 windowStart;
}

/// @notice A token's caps and spending.
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
/// conditions, native and ERC-20 spend limits per period and lifetime, call caps, ERC-1271 scope, and who pays for
/// ERC-4337 gas, per (account, key registration). Configured only by the account itself, for a key whose settings
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
    /// @notice A cap would be exceeded: `kind` 0 per call, 1 per period, 2 lifetime.
    error SpendLimitExceeded(address asset, uint8 kind, uint256 attempted, uint256 limit);
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
}
