// SPDX-License-Identifier: MIT
pragma solidity ^0.8.30;

// Self-contained on purpose: the Rust crates generate bindings from this file with alloy's `sol!`.

/// @notice The state of a (target, selector) rule. `Deny` beats every `Allow`, wildcards included.
enum RuleState {
    None,
    Allow,
    Deny
}

/// @notice Comparison of one static ABI argument (a 32-byte word) against `values`.
enum ConditionOp {
    None,
    Equal,
    NotEqual,
    LessOrEqual,
    GreaterOrEqual,
    InSet
}

/// @notice ERC-1271 scope of a key.
enum SignatureMode {
    Off,
    Any,
    Domains
}

/// @notice `argIndex` counts 32-byte words after the selector. `values[0]` for the comparisons, up to 8 for `InSet`.
struct Condition {
    ConditionOp op;
    uint16 argIndex;
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

/// @notice Native value: a per-call cap beside the period and lifetime caps.
struct NativePolicy {
    bool enabled;
    uint128 perCall;
    Limits limits;
    Spend spend;
}

/// @notice Call counts: a lifetime cap and a cap per period (rate limit). 0 = no cap.
struct UsagePolicy {
    uint32 maxCalls;
    uint32 used;
    uint32 maxPerPeriod;
    uint32 inWindow;
    uint40 period;
    uint40 windowStart;
}

/// @notice A key's whole policy.
struct Policy {
    CallRule[] rules;
    NativePolicy native;
    TokenPolicy[] tokens;
    UsagePolicy usage;
    SignatureMode signatureMode;
    bytes32[] signatureDomains;
}

/// @title IPolicyHook
/// @notice Keyward's policy hook: call allowlists with wildcards and explicit denies, argument conditions, native
/// and ERC-20 spend limits per period and lifetime, call caps and rate limits, and ERC-1271 scope, per
/// (account, key). Configured only by the account itself; state is keyed by the grant's `keyId`, so a revoked and
/// re-registered key starts empty.
interface IPolicyHook {
    // ----------------------------------------------------------------------------------------------------
    // Events (account and keyHash indexed)
    // ----------------------------------------------------------------------------------------------------

    /// @notice A call rule was set.
    event CallRuleSet(
        address indexed account, bytes32 indexed keyHash, address target, bytes4 selector, RuleState state
    );
    /// @notice A call rule's argument conditions were replaced.
    event ConditionsSet(
        address indexed account, bytes32 indexed keyHash, address target, bytes4 selector, Condition[] conditions
    );
    /// @notice Native value caps were set (spending restarts).
    event NativeLimitsSet(
        address indexed account, bytes32 indexed keyHash, bool enabled, uint128 perCall, Limits limits
    );
    /// @notice A token's caps were set (spending restarts); all-zero limits with `enabled` false remove the token.
    event TokenLimitSet(address indexed account, bytes32 indexed keyHash, address token, bool enabled, Limits limits);
    /// @notice Call caps were set (counts restart).
    event UsageLimitsSet(
        address indexed account, bytes32 indexed keyHash, uint32 maxCalls, uint32 maxPerPeriod, uint40 period
    );
    /// @notice The ERC-1271 scope was set.
    event SignaturePolicySet(address indexed account, bytes32 indexed keyHash, SignatureMode mode, bytes32[] domains);

    // ----------------------------------------------------------------------------------------------------
    // Errors
    // ----------------------------------------------------------------------------------------------------

    /// @notice No rule allows this call.
    error CallNotAllowed(address target, bytes4 selector);
    /// @notice A rule explicitly denies this call.
    error CallDenied(address target, bytes4 selector);
    /// @notice A key may never call its account or this hook, whatever its rules say.
    error SelfCallDenied(address target);
    /// @notice Argument condition `index` of the matched rule failed.
    error ConditionFailed(uint256 index);
    /// @notice Native value is not enabled for this key.
    error NativeValueNotAllowed();
    /// @notice A cap would be exceeded: `kind` 0 per call, 1 per period, 2 lifetime.
    error SpendLimitExceeded(address asset, uint8 kind, uint256 attempted, uint256 limit);
    /// @notice A call cap would be exceeded: `kind` 1 per period, 2 lifetime.
    error CallLimitExceeded(uint8 kind, uint256 limit);
    /// @notice A call to a limited token with a selector the hook cannot count.
    error UncountedTokenCall(address token, bytes4 selector);
    /// @notice A bound on a per-key list was reached.
    error TooManyEntries(uint256 max);
    /// @notice A configuration value is malformed.
    error InvalidConfiguration();
    /// @notice A counted call's calldata is too short for its arguments.
    error MalformedCalldata();

    // ----------------------------------------------------------------------------------------------------
    // Configuration (msg.sender is the account)
    // ----------------------------------------------------------------------------------------------------

    /// @notice Sets the rule for (`target`, `selector`); `ANY_TARGET` / `ANY_SELECTOR` are wildcards and
    /// `EMPTY_CALLDATA` stands for calls with less than 4 bytes of data (plain ETH transfers).
    function setCallRule(bytes32 keyHash, address target, bytes4 selector, RuleState state) external;

    /// @notice Replaces the argument conditions of the (`target`, `selector`) rule (at most 8).
    function setConditions(bytes32 keyHash, address target, bytes4 selector, Condition[] calldata conditions) external;

    /// @notice Sets native value caps; `enabled` false forbids any value.
    function setNativeLimits(bytes32 keyHash, bool enabled, uint128 perCall, Limits calldata limits) external;

    /// @notice Sets a token's caps (at most 16 tokens); `enabled` false removes them.
    function setTokenLimit(bytes32 keyHash, address token, bool enabled, Limits calldata limits) external;

    /// @notice Sets the call caps.
    function setUsageLimits(bytes32 keyHash, uint32 maxCalls, uint32 maxPerPeriod, uint40 period) external;

    /// @notice Sets the ERC-1271 scope (at most 8 domains).
    function setSignaturePolicy(bytes32 keyHash, SignatureMode mode, bytes32[] calldata domains) external;

    // ----------------------------------------------------------------------------------------------------
    // Views
    // ----------------------------------------------------------------------------------------------------

    /// @notice The whole policy of `account`'s key `keyHash` (its current grant).
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
}
