//! Grants that cannot forget their hook: a key, its window, its flags and its PolicyHook policy, written with named
//! caps and typed calls, become the ONE batch the account runs (the grant, then every configuration call in the
//! order the hook requires).
//!
//! - The settings word names the hook whenever a policy is configured, so the hook's `HookNotInSettings` cannot
//!   happen, and a policy can only be given together with its hook's address.
//! - The window is required: [`GrantBuilder::expires_at`] / [`GrantBuilder::expires_in`], or
//!   [`GrantBuilder::never_expires`] said explicitly.
//! - Values the contracts would narrow, refuse or read differently are [`GrantError`]s, never capped: a cap past
//!   the ABI's `uint96`, a cap of 0 (on chain, 0 means "no cap"), a per-period cap without a period, more rules,
//!   tokens, conditions, set values, domains or paymasters than the hook holds, a condition whose value does not
//!   fit its argument's type.
//!
//! ```
//! use std::time::Duration;
//! use alloy::{primitives::{address, Address, U256}, sol};
//! use keyward::{
//!     KeyExt,
//!     bindings::Key,
//!     grant::{Grant, Policy, SpendCaps, UsageLimits, arg},
//! };
//!
//! sol! {
//!     interface IERC20 {
//!         function transfer(address to, uint256 amount) external returns (bool);
//!     }
//! }
//!
//! let hook = address!("0x000000000000000000000000000000000000c01e"); // the PolicyHook (flags 0x1e)
//! let usdc = address!("0xA0b86991c6218b36c1d19D4a2e9Eb0cE3606eB48");
//! let treasury = address!("0x00000000000000000000000000000000000000aa");
//! let now = 1_800_000_000;
//! let grant = Grant::builder(Key::secp256k1(address!("0x00000000000000000000000000000000000000bb")))
//!     .expires_in(now, Duration::from_secs(300))
//!     .policy(
//!         hook,
//!         Policy::new()
//!             // Only `transfer`, only to the treasury, at most 100 USDC a call...
//!             .allow_call_if::<IERC20::transferCall>(
//!                 usdc,
//!                 [arg(0).equals(treasury), arg(1).at_most(U256::from(100_000_000u64))],
//!             )
//!             // ... and 500 USDC a day.
//!             .token_limit(usdc, SpendCaps::periodic(U256::from(500_000_000u64), Duration::from_secs(86_400)))
//!             .usage(UsageLimits { max_per_batch: Some(1), ..UsageLimits::default() }),
//!     )
//!     .build()?;
//! assert_eq!(grant.settings.hook(), hook);
//! assert_eq!(grant.calls.len(), 5); // grant, setCallRule, setConditions, setTokenLimit, setUsageLimits
//! # Ok::<(), keyward::grant::GrantError>(())
//! ```

use std::{fmt, time::Duration};

use alloy::{
    dyn_abi::DynSolType,
    primitives::{Address, B256, Bytes, FixedBytes, U256, aliases::U96},
    sol_types::SolCall,
};
use serde::{Deserialize, Serialize};

use crate::{
    Flags, KeyExt, Settings,
    bindings::{
        Call, Key, KeyType,
        policy::{self as abi, ConditionOp, RuleState, SignatureMode},
    },
    encode, hooks,
    policy::{self, ANY_SELECTOR, ANY_TARGET, EMPTY_CALLDATA, VALUE_ARG},
    units::{CallSpec, FunctionSignature, UnitsError},
};

pub use crate::policy::{NativeCaps, SpendCaps, StreamCaps, UsageLimits};

/// The PolicyHook's bounds (its `MAX_*` constants).
pub mod limits {
    /// Call rules per key.
    pub const MAX_RULES: usize = 64;
    /// Conditions per rule.
    pub const MAX_CONDITIONS: usize = 8;
    /// Values of an `InSet` condition.
    pub const MAX_SET_VALUES: usize = 8;
    /// Limited tokens per key.
    pub const MAX_TOKENS: usize = 16;
    /// ERC-1271 application domains per key.
    pub const MAX_DOMAINS: usize = 8;
    /// Paymasters per key.
    pub const MAX_PAYMASTERS: usize = 4;
    /// Designated co-signers per key.
    pub const MAX_CO_SIGNERS: usize = 8;
    /// Tokens with a step-up threshold per key.
    pub const MAX_STEP_UP_TOKENS: usize = 4;
}

/// Which cap a [`GrantError`] is about.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum CapOf {
    /// Native value (the PolicyHook's native caps).
    Native,
    /// A token's caps.
    Token(Address),
    /// The account's ERC-4337 gas budget for the key.
    Gas,
    /// The call counts.
    Calls,
}

impl fmt::Display for CapOf {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Native => f.write_str("native value"),
            Self::Token(t) => write!(f, "token {t}"),
            Self::Gas => f.write_str("the gas budget"),
            Self::Calls => f.write_str("the call limits"),
        }
    }
}

/// Why a grant or a policy cannot be built. Nothing is capped or defaulted silently: each of these would otherwise
/// be a grant that does something else than it says.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum GrantError {
    /// No expiry was given: say [`GrantBuilder::expires_at`], [`GrantBuilder::expires_in`] or
    /// [`GrantBuilder::never_expires`].
    #[error("the grant has no expiry: give expires_at / expires_in, or say never_expires explicitly")]
    MissingExpiry,
    /// `expires_at(0)`: on chain 0 means "never expires"; say [`GrantBuilder::never_expires`] for that.
    #[error("expiration 0 means \"never expires\" on chain: use never_expires() to mean it")]
    ZeroExpiration,
    /// A time does not fit the settings' 40 bits.
    #[error("{field} {value} does not fit in 40 bits")]
    TimeOutOfRange {
        /// `expiration` or `validAfter`.
        field: &'static str,
        /// The value.
        value: u64,
    },
    /// The key would never be valid: it becomes valid after it expires.
    #[error("the key would never be valid: valid from {valid_after}, expires at {expiration}")]
    EmptyWindow {
        /// The first valid second.
        valid_after: u64,
        /// The last valid second.
        expiration: u64,
    },
    /// Two hooks were given (a policy and a custom hook, or two policies).
    #[error("the key already has hook {first}; it cannot also have {second}")]
    HookConflict {
        /// The hook given first.
        first: Address,
        /// The other.
        second: Address,
    },
    /// A hook whose address enables no callback: the account refuses it.
    #[error("hook {hook} enables no callback (the low 5 bits of its address are zero)")]
    HookWithoutCallbacks {
        /// The hook.
        hook: Address,
    },
    /// A policy for a hook whose address does not carry the PolicyHook's flags (0x1e, or 0x1f co-signing): not a PolicyHook.
    #[error(
        "{hook} is not a PolicyHook: its address's callback flags are {flags:#04x}, a PolicyHook's are 0x1e or 0x1f"
    )]
    NotPolicyHook {
        /// The address given.
        hook: Address,
        /// Its flags.
        flags: u8,
    },
    /// The GAS_BUDGET flag without a budget: give the budget with [`GrantBuilder::gas_budget`], which sets the flag.
    #[error("the GAS_BUDGET flag needs a budget: use gas_budget(...), which sets the flag too")]
    GasBudgetFlagWithoutBudget,
    /// A cap past what the contract's field holds.
    #[error("{cap}: {field} {value} is more than the contract holds ({max})")]
    CapTooLarge {
        /// Which caps.
        cap: CapOf,
        /// `per_period`, `lifetime`, `per_call`, ...
        field: &'static str,
        /// The value.
        value: U256,
        /// The most the field holds.
        max: U256,
    },
    /// A cap of 0: on chain 0 means "no cap", so it would allow everything. Leave the field `None` for no cap;
    /// to forbid, do not allow the asset.
    #[error("{cap}: {field} is 0, which means \"no cap\" on chain; leave it out for no cap")]
    ZeroCap {
        /// Which caps.
        cap: CapOf,
        /// The field.
        field: &'static str,
    },
    /// A per-period cap without a period.
    #[error("{cap}: a per-period cap needs a period")]
    PeriodRequired {
        /// Which caps.
        cap: CapOf,
    },
    /// A period without a per-period cap (it would do nothing).
    #[error("{cap}: a period without a per-period cap does nothing")]
    PeriodWithoutCap {
        /// Which caps.
        cap: CapOf,
    },
    /// A period of 0, of a fraction of a second, or past 40 bits of seconds.
    #[error("{cap}: period {period:?} {reason}")]
    InvalidPeriod {
        /// Which caps.
        cap: CapOf,
        /// The period.
        period: Duration,
        /// What is wrong with it.
        reason: &'static str,
    },
    /// Caps with no cap at all (native value or a token without any cap would be unlimited, a gas budget without
    /// any cap pays nothing): say what you mean ([`Policy::native_unlimited`]).
    #[error("{cap}: no cap is set")]
    NoCap {
        /// Which caps.
        cap: CapOf,
    },
    /// A token address the PolicyHook cannot limit (zero, the wildcard, or ERC20ETH, which counts as native value).
    #[error("token {token} cannot be limited: {reason}")]
    InvalidToken {
        /// The address.
        token: Address,
        /// Why.
        reason: &'static str,
    },
    /// The same (target, selector) rule twice: the second would silently replace the first.
    #[error("rule {target}:{selector} is given twice")]
    DuplicateRule {
        /// The target.
        target: Address,
        /// The selector.
        selector: FixedBytes<4>,
    },
    /// The same token's caps twice.
    #[error("token {token} is limited twice")]
    DuplicateToken {
        /// The token.
        token: Address,
    },
    /// The same paymaster twice.
    #[error("paymaster {paymaster} is listed twice")]
    DuplicatePaymaster {
        /// The paymaster.
        paymaster: Address,
    },
    /// The zero address as a paymaster.
    #[error("the zero address is not a paymaster")]
    ZeroPaymaster,
    /// Co-signers or a step-up threshold for a PolicyHook at a 0x1e address: co-signatures need the hook at a 0x1f
    /// address (`afterVerifySignature` too; [`crate::deploy::policy_hook_address_cosign`]), else the hook refuses
    /// them (`CoSignaturesUnavailable`).
    #[error("co-signatures need the PolicyHook at a 0x1f address; {hook} has flags 0x1e")]
    CoSignaturesUnavailable {
        /// The hook given.
        hook: Address,
    },
    /// A co-signer configuration the hook refuses (`InvalidConfiguration`).
    #[error("co-signers: {reason}")]
    InvalidCoSigners {
        /// Why.
        reason: &'static str,
    },
    /// A step-up threshold the hook refuses.
    #[error("step-up for {asset}: {reason}")]
    InvalidStepUp {
        /// The asset (zero: native value).
        asset: Address,
        /// Why.
        reason: &'static str,
    },
    /// More entries than the hook holds.
    #[error("{got} {what}: the PolicyHook holds at most {max}")]
    TooMany {
        /// What.
        what: &'static str,
        /// The bound.
        max: usize,
        /// How many were given.
        got: usize,
    },
    /// A condition on an argument of a rule given by selector only: its argument types are unknown.
    #[error(
        "rule {target}:{selector}: conditions on arguments need the function's signature (allow_call or a named call spec)"
    )]
    ConditionNeedsSignature {
        /// The target.
        target: Address,
        /// The selector.
        selector: FixedBytes<4>,
    },
    /// A condition on an argument the function does not have.
    #[error("{signature} has {count} arguments, no argument {index}")]
    ArgumentOutOfRange {
        /// The function.
        signature: String,
        /// The index asked for.
        index: usize,
        /// How many it has.
        count: usize,
    },
    /// A condition on an argument the hook cannot compare: dynamic (bytes, string, arrays), a tuple, a signed
    /// integer (comparisons are unsigned) or a function pointer.
    #[error("{signature}: argument {index} is {ty}, which a condition cannot compare (use word() for raw words)")]
    UnsupportedArgument {
        /// The function.
        signature: String,
        /// The argument.
        index: usize,
        /// Its type.
        ty: String,
    },
    /// An operand of another type than the argument's.
    #[error("{subject} is {expected}, but the condition compares it with {operand}")]
    OperandMismatch {
        /// What is compared (`argument 1 of transfer(address,uint256)`, `the call's value`).
        subject: String,
        /// The argument's type.
        expected: String,
        /// The operand given.
        operand: Operand,
    },
    /// An operand that does not fit the argument's width (it could never match, or match only a non-canonical
    /// encoding).
    #[error("{subject}: {operand} does not fit in {bits} bits")]
    OperandOutOfRange {
        /// What is compared.
        subject: String,
        /// The operand.
        operand: Operand,
        /// The width.
        bits: u16,
    },
    /// An ordering (`<`, `<=`, `>`, `>=`) on an address, a bool or fixed bytes.
    #[error("{subject}: {op} does not order this type (use equals, not_equals or one_of)")]
    UnsupportedComparison {
        /// What is compared.
        subject: String,
        /// The comparison.
        op: &'static str,
    },
    /// `one_of` with no values.
    #[error("{subject}: one_of needs at least one value")]
    EmptySet {
        /// What is compared.
        subject: String,
    },
    /// A raw word condition wider than 256 bits or on word index 0xffff (which means the call's value).
    #[error("raw word {index} of width {bits}: {reason}")]
    InvalidWord {
        /// The word index.
        index: u16,
        /// The width.
        bits: u16,
        /// What is wrong.
        reason: &'static str,
    },
    /// [`SignatureScope::Domains`] with no domain (use [`SignatureScope::Off`]).
    #[error("an ERC-1271 scope of domains needs at least one domain (Off signs nothing)")]
    EmptyDomains,
    /// A duration that is not whole seconds.
    #[error("{what} {duration:?} is not a whole number of seconds")]
    NotWholeSeconds {
        /// What.
        what: &'static str,
        /// The duration.
        duration: Duration,
    },
    /// A credential whose key hash is not its key's.
    #[error("the credential's key hash {stated} is not its key's ({computed})")]
    CredentialKeyHashMismatch {
        /// What the credential says.
        stated: B256,
        /// The key's hash.
        computed: B256,
    },
    /// A start time of 0: on chain it means "the configuration's time"; leave the start out for that.
    #[error("start time 0 means \"when the configuration runs\" on chain: leave the start out to mean it")]
    ZeroStartTime,
    /// A stream that releases nothing (no initial amount and no rate).
    #[error("{cap}: the stream releases nothing (no initial amount, no amount per second)")]
    EmptyStream {
        /// Which caps.
        cap: CapOf,
    },
    /// A stream whose maximum is below its initial amount (the hook refuses it).
    #[error("{cap}: the stream's maximum {max} is below its initial amount {initial}")]
    StreamMaxBelowInitial {
        /// Which caps.
        cap: CapOf,
        /// The initial amount.
        initial: U256,
        /// The maximum.
        max: U256,
    },
    /// A function signature that does not parse.
    #[error(transparent)]
    Signature(#[from] UnitsError),
}

/// A value a condition compares with.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Operand {
    /// An address.
    Address(Address),
    /// An unsigned integer.
    Uint(U256),
    /// A bool.
    Bool(bool),
    /// Fixed bytes, left-aligned in a word (`bytes4`, `bytes32`).
    Bytes(B256),
}

impl fmt::Display for Operand {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Address(a) => write!(f, "address {a}"),
            Self::Uint(v) => write!(f, "uint {v}"),
            Self::Bool(b) => write!(f, "bool {b}"),
            Self::Bytes(b) => write!(f, "bytes {b}"),
        }
    }
}

impl From<Address> for Operand {
    fn from(v: Address) -> Self {
        Self::Address(v)
    }
}
impl From<U256> for Operand {
    fn from(v: U256) -> Self {
        Self::Uint(v)
    }
}
impl From<bool> for Operand {
    fn from(v: bool) -> Self {
        Self::Bool(v)
    }
}
impl From<B256> for Operand {
    fn from(v: B256) -> Self {
        Self::Bytes(v)
    }
}
impl From<FixedBytes<4>> for Operand {
    fn from(v: FixedBytes<4>) -> Self {
        let mut w = B256::ZERO;
        w[..4].copy_from_slice(v.as_slice());
        Self::Bytes(w)
    }
}
macro_rules! uint_operand {
    ($($t:ty),*) => {$(
        impl From<$t> for Operand {
            fn from(v: $t) -> Self {
                Self::Uint(U256::from(v))
            }
        }
    )*};
}
uint_operand!(u8, u16, u32, u64, u128);

/// What a condition looks at.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
enum Target {
    Arg(usize),
    Value,
    Word { index: u16, bits: u16 },
}

/// What a condition looks at: an argument of the rule's function ([`arg`]), the call's value ([`value`]), or a raw
/// ABI word ([`word`]). Its methods make the [`Condition`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[must_use]
pub struct Subject(Target);

/// Argument `index` (0-based) of the rule's function, typed from its signature: an address, a bool, a `uint<N>`
/// or a `bytes<N>` (static arguments after dynamic ones are found by their head position).
pub fn arg(index: usize) -> Subject {
    Subject(Target::Arg(index))
}

/// The call's value in wei.
pub fn value() -> Subject {
    Subject(Target::Value)
}

/// The raw 32-byte word `index` after the selector, as a `bits`-wide unsigned number (0 or 256: the whole word).
/// For calls given by selector only; prefer [`arg`].
pub fn word(index: u16, bits: u16) -> Subject {
    Subject(Target::Word { index, bits })
}

impl Subject {
    fn condition(self, op: ConditionOp, values: Vec<Operand>) -> Condition {
        Condition { subject: self.0, op, values }
    }

    /// `== v`.
    pub fn equals(self, v: impl Into<Operand>) -> Condition {
        self.condition(ConditionOp::Equal, vec![v.into()])
    }

    /// `!= v`.
    pub fn not_equals(self, v: impl Into<Operand>) -> Condition {
        self.condition(ConditionOp::NotEqual, vec![v.into()])
    }

    /// `< v` (unsigned).
    pub fn less_than(self, v: impl Into<Operand>) -> Condition {
        self.condition(ConditionOp::Less, vec![v.into()])
    }

    /// `<= v` (unsigned).
    pub fn at_most(self, v: impl Into<Operand>) -> Condition {
        self.condition(ConditionOp::LessOrEqual, vec![v.into()])
    }

    /// `> v` (unsigned).
    pub fn greater_than(self, v: impl Into<Operand>) -> Condition {
        self.condition(ConditionOp::Greater, vec![v.into()])
    }

    /// `>= v` (unsigned).
    pub fn at_least(self, v: impl Into<Operand>) -> Condition {
        self.condition(ConditionOp::GreaterOrEqual, vec![v.into()])
    }

    /// One of `values` (1 to 8).
    pub fn one_of<V: Into<Operand>>(self, values: impl IntoIterator<Item = V>) -> Condition {
        self.condition(ConditionOp::InSet, values.into_iter().map(Into::into).collect())
    }
}

/// A condition on a call an allow rule admits; checked against the function's argument types when the policy is
/// built.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Condition {
    subject: Target,
    op: ConditionOp,
    values: Vec<Operand>,
}

/// The ERC-1271 scope of a key.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum SignatureScope {
    /// Signs nothing for the account.
    Off,
    /// Signs every message, permits included: only for keys that may move everything.
    Any,
    /// Only ERC-7739 TypedDataSign messages of these application domain separators (1 to 8; never Permit2's or
    /// a token's own).
    Domains(Vec<B256>),
}

#[derive(Clone, Debug)]
struct Rule {
    target: Address,
    selector: FixedBytes<4>,
    signature: Option<Result<FunctionSignature, UnitsError>>,
    state: RuleState,
    conditions: Vec<Condition>,
}

#[derive(Clone, Debug)]
enum Native {
    Capped(NativeCaps, Option<u64>),
    Stream(Option<U256>, StreamCaps),
    Unlimited,
}

#[derive(Clone, Debug)]
enum TokenCaps {
    Caps(SpendCaps, Option<u64>),
    Stream(StreamCaps),
}

/// A PolicyHook policy: default deny, then the calls, spending, counts, signatures and paymasters it allows.
/// Checked and encoded by [`GrantBuilder::policy`] (or [`Policy::calls`] to reconfigure a granted key).
#[derive(Clone, Debug, Default)]
#[must_use]
pub struct Policy {
    rules: Vec<Rule>,
    native: Option<Native>,
    tokens: Vec<(Address, TokenCaps)>,
    usage: Option<UsageLimits>,
    signatures: Option<SignatureScope>,
    paymasters: Option<Vec<Address>>,
    co_signers: Option<(Vec<B256>, u8, u8)>,
    step_ups: Vec<(Address, U256)>,
}

impl Policy {
    /// An empty policy: the key may call nothing, spend nothing, sign nothing, use no paymaster.
    pub fn new() -> Self {
        Self::default()
    }

    fn rule(
        mut self,
        target: Address,
        selector: FixedBytes<4>,
        signature: Option<Result<FunctionSignature, UnitsError>>,
        state: RuleState,
        conditions: Vec<Condition>,
    ) -> Self {
        self.rules.push(Rule { target, selector, signature, state, conditions });
        self
    }

    fn typed<C: SolCall>() -> Result<FunctionSignature, UnitsError> {
        FunctionSignature::parse(C::SIGNATURE)
    }

    /// Allows calls of `C` (an alloy `sol!` call type, e.g. `IERC20::transferCall`) on `target` ([`ANY_TARGET`]
    /// for every target).
    pub fn allow_call<C: SolCall>(self, target: Address) -> Self {
        self.rule(target, FixedBytes(C::SELECTOR), Some(Self::typed::<C>()), RuleState::Allow, Vec::new())
    }

    /// Allows calls of `C` on `target` that meet every condition (on its arguments, typed from `C`, or its value).
    pub fn allow_call_if<C: SolCall>(self, target: Address, conditions: impl IntoIterator<Item = Condition>) -> Self {
        let conditions = conditions.into_iter().collect();
        self.rule(target, FixedBytes(C::SELECTOR), Some(Self::typed::<C>()), RuleState::Allow, conditions)
    }

    /// Denies calls of `C` on `target`, whatever else allows them (wildcards included).
    pub fn deny_call<C: SolCall>(self, target: Address) -> Self {
        self.rule(target, FixedBytes(C::SELECTOR), Some(Self::typed::<C>()), RuleState::Deny, Vec::new())
    }

    /// Allows the call a [`CallSpec`] names (`0xToken:transfer(address,uint256)`, `0xShop:receive`, ...).
    pub fn allow(self, spec: &CallSpec) -> Self {
        self.allow_if(spec, [])
    }

    /// Allows the call a [`CallSpec`] names when every condition holds (argument conditions need a spec given by
    /// signature).
    pub fn allow_if(self, spec: &CallSpec, conditions: impl IntoIterator<Item = Condition>) -> Self {
        let signature = spec.signature.as_deref().map(FunctionSignature::parse);
        self.rule(spec.target, spec.selector, signature, RuleState::Allow, conditions.into_iter().collect())
    }

    /// Denies the call a [`CallSpec`] names.
    pub fn deny(self, spec: &CallSpec) -> Self {
        let signature = spec.signature.as_deref().map(FunctionSignature::parse);
        self.rule(spec.target, spec.selector, signature, RuleState::Deny, Vec::new())
    }

    /// Allows every call with data on `target` ([`ANY_SELECTOR`]; never plain transfers).
    pub fn allow_any_call(self, target: Address) -> Self {
        self.rule(target, FixedBytes(ANY_SELECTOR), None, RuleState::Allow, Vec::new())
    }

    /// Denies every call on `target`, plain transfers included.
    pub fn deny_any_call(self, target: Address) -> Self {
        self.rule(target, FixedBytes(ANY_SELECTOR), None, RuleState::Deny, Vec::new())
    }

    /// Allows plain ETH transfers (calls without data) to `target`; their value still needs
    /// [`Policy::native_limit`] or [`Policy::native_unlimited`].
    pub fn allow_transfers_to(self, target: Address) -> Self {
        self.allow_transfers_to_if(target, [])
    }

    /// Allows plain ETH transfers to `target` that meet every condition (on [`value`]).
    pub fn allow_transfers_to_if(self, target: Address, conditions: impl IntoIterator<Item = Condition>) -> Self {
        let conditions = conditions.into_iter().collect();
        self.rule(target, FixedBytes(EMPTY_CALLDATA), None, RuleState::Allow, conditions)
    }

    /// Allows calls with this selector on `target` (no argument types: only [`value`] and [`word`] conditions).
    pub fn allow_selector(self, target: Address, selector: FixedBytes<4>) -> Self {
        self.rule(target, selector, None, RuleState::Allow, Vec::new())
    }

    /// Denies calls with this selector on `target`.
    pub fn deny_selector(self, target: Address, selector: FixedBytes<4>) -> Self {
        self.rule(target, selector, None, RuleState::Deny, Vec::new())
    }

    /// Native value the key may move (call values, ERC20ETH, EntryPoint deposits), with caps.
    pub fn native_limit(mut self, caps: NativeCaps) -> Self {
        self.native = Some(Native::Capped(caps, None));
        self
    }

    /// [`Policy::native_limit`] with the caps starting at `start` (unix seconds, ERC-7715's `startTime`; not 0):
    /// periodic windows are whole periods from it, and nothing may be spent before it.
    pub fn native_limit_from(mut self, caps: NativeCaps, start: u64) -> Self {
        self.native = Some(Native::Capped(caps, Some(start)));
        self
    }

    /// Native value under a stream (ERC-7715 `native-token-stream`) instead of periodic and lifetime caps, with
    /// an optional per-call cap beside it.
    pub fn native_stream(mut self, per_call: Option<U256>, stream: StreamCaps) -> Self {
        self.native = Some(Native::Stream(per_call, stream));
        self
    }

    /// Native value without any cap: the key may move every wei its calls may.
    pub fn native_unlimited(mut self) -> Self {
        self.native = Some(Native::Unlimited);
        self
    }

    /// Caps on `token`'s transfers and approvals by the key (up to 16 tokens).
    pub fn token_limit(mut self, token: Address, caps: SpendCaps) -> Self {
        self.tokens.push((token, TokenCaps::Caps(caps, None)));
        self
    }

    /// [`Policy::token_limit`] with the caps starting at `start` (unix seconds, ERC-7715's `startTime`; not 0):
    /// periodic windows are whole periods from it, and nothing may be spent before it.
    pub fn token_limit_from(mut self, token: Address, caps: SpendCaps, start: u64) -> Self {
        self.tokens.push((token, TokenCaps::Caps(caps, Some(start))));
        self
    }

    /// `token` limited by a stream (ERC-7715 `erc20-token-stream`) instead of periodic and lifetime caps; it counts
    /// as one of the 16 limited tokens.
    pub fn token_stream(mut self, token: Address, stream: StreamCaps) -> Self {
        self.tokens.push((token, TokenCaps::Stream(stream)));
        self
    }

    /// Call counts.
    pub fn usage(mut self, limits: UsageLimits) -> Self {
        self.usage = Some(limits);
        self
    }

    /// The ERC-1271 scope (off unless set).
    pub fn signatures(mut self, scope: SignatureScope) -> Self {
        self.signatures = Some(scope);
        self
    }

    /// The paymasters the key's ERC-4337 operations may use (up to 4; none unless set).
    pub fn paymasters(mut self, paymasters: impl IntoIterator<Item = Address>) -> Self {
        self.paymasters = Some(paymasters.into_iter().collect());
        self
    }

    /// Any paymaster may pay for the key's operations.
    pub fn any_paymaster(self) -> Self {
        self.paymasters([ANY_TARGET])
    }

    /// Consensus and step-up co-signers (`setCoSigners`): up to 8 designated co-signers (key hashes:
    /// [`crate::ROOT_KEY_HASH`] for the root, or registered keys such as a passkey or a policy service's key),
    /// `quorum` distinct ones needed by every operation (0: none), and `step_up_signers` distinct ones needed by an
    /// operation with a call above a [`Policy::step_up`] threshold (0 reads as one). Needs the PolicyHook at a 0x1f
    /// address ([`crate::deploy::policy_hook_address_cosign`]). Co-signatures travel in the hook data
    /// ([`crate::cosign`]); the direct path carries none.
    pub fn co_signers(mut self, signers: impl IntoIterator<Item = B256>, quorum: u8, step_up_signers: u8) -> Self {
        self.co_signers = Some((signers.into_iter().collect(), quorum, step_up_signers));
        self
    }

    /// A step-up threshold (`setStepUp`): a call moving more than `threshold` of `asset` (`Address::ZERO`: native
    /// value, in wei; else a token, in its smallest unit, at most 4 tokens) needs the [`Policy::co_signers`]'
    /// `step_up_signers` co-signatures. Needs co-signers.
    pub fn step_up(mut self, asset: Address, threshold: U256) -> Self {
        self.step_ups.push((asset, threshold));
        self
    }

    /// The calls from the account to `hook` that configure this policy for `key_hash`, checked. In a grant, use
    /// [`GrantBuilder::policy`] instead: it puts the grant first and names the hook in the settings. Use this to
    /// reconfigure a key whose settings already name `hook`.
    pub fn calls(&self, key_hash: B256, hook: Address) -> Result<Vec<Call>, GrantError> {
        check_policy_hook(hook)?;
        let mut out = Vec::new();
        if self.rules.len() > limits::MAX_RULES {
            return Err(GrantError::TooMany { what: "call rules", max: limits::MAX_RULES, got: self.rules.len() });
        }
        for (i, r) in self.rules.iter().enumerate() {
            if self.rules[..i].iter().any(|o| o.target == r.target && o.selector == r.selector) {
                return Err(GrantError::DuplicateRule { target: r.target, selector: r.selector });
            }
            let signature = r.signature.clone().transpose()?;
            out.push(policy::to_hook(hook, policy::rule(key_hash, r.target, r.selector.0, r.state)));
            if !r.conditions.is_empty() {
                let conditions = resolve_conditions(r, signature.as_ref())?;
                out.push(policy::to_hook(hook, policy::conditions(key_hash, r.target, r.selector.0, conditions)));
            }
        }
        if self.tokens.len() > limits::MAX_TOKENS {
            return Err(GrantError::TooMany {
                what: "limited tokens",
                max: limits::MAX_TOKENS,
                got: self.tokens.len(),
            });
        }
        for (i, (token, caps)) in self.tokens.iter().enumerate() {
            if self.tokens[..i].iter().any(|(t, _)| t == token) {
                return Err(GrantError::DuplicateToken { token: *token });
            }
            let data = match caps {
                TokenCaps::Caps(caps, None) => policy::token_limit(key_hash, *token, caps)?,
                TokenCaps::Caps(caps, Some(start)) => policy::token_limit_from(key_hash, *token, caps, *start)?,
                TokenCaps::Stream(stream) => policy::token_stream(key_hash, *token, stream)?,
            };
            out.push(policy::to_hook(hook, data));
        }
        match &self.native {
            Some(Native::Capped(caps, None)) => {
                out.push(policy::to_hook(hook, policy::native_limits(key_hash, caps)?));
            }
            Some(Native::Capped(caps, Some(start))) => {
                out.push(policy::to_hook(hook, policy::native_limits_from(key_hash, caps, *start)?));
            }
            Some(Native::Stream(per_call, stream)) => {
                out.push(policy::to_hook(hook, policy::native_stream(key_hash, *per_call, stream)?));
            }
            Some(Native::Unlimited) => out.push(policy::to_hook(hook, policy::native_unlimited(key_hash))),
            None => {}
        }
        if let Some(usage) = &self.usage {
            out.push(policy::to_hook(hook, policy::usage_limits(key_hash, usage)?));
        }
        if let Some(scope) = &self.signatures {
            let (mode, domains) = match scope {
                SignatureScope::Off => (SignatureMode::Off, Vec::new()),
                SignatureScope::Any => (SignatureMode::Any, Vec::new()),
                SignatureScope::Domains(d) if d.is_empty() => return Err(GrantError::EmptyDomains),
                SignatureScope::Domains(d) if d.len() > limits::MAX_DOMAINS => {
                    return Err(GrantError::TooMany {
                        what: "ERC-1271 domains",
                        max: limits::MAX_DOMAINS,
                        got: d.len(),
                    });
                }
                SignatureScope::Domains(d) => (SignatureMode::Domains, d.clone()),
            };
            out.push(policy::to_hook(hook, policy::signature_policy(key_hash, mode, domains)));
        }
        if let Some(list) = &self.paymasters {
            if list.len() > limits::MAX_PAYMASTERS {
                return Err(GrantError::TooMany { what: "paymasters", max: limits::MAX_PAYMASTERS, got: list.len() });
            }
            for (i, pm) in list.iter().enumerate() {
                if *pm == Address::ZERO {
                    return Err(GrantError::ZeroPaymaster);
                }
                if list[..i].contains(pm) {
                    return Err(GrantError::DuplicatePaymaster { paymaster: *pm });
                }
            }
            out.push(policy::to_hook(hook, policy::paymasters(key_hash, list.clone())));
        }
        self.co_sign_calls(key_hash, hook, &mut out)?;
        Ok(out)
    }

    /// `setCoSigners` and `setStepUp`, checked as the hook checks them.
    fn co_sign_calls(&self, key_hash: B256, hook: Address, out: &mut Vec<Call>) -> Result<(), GrantError> {
        if self.co_signers.is_none() && self.step_ups.is_empty() {
            return Ok(());
        }
        if hooks::flags(hook) != hooks::POLICY_HOOK_COSIGN_FLAGS {
            return Err(GrantError::CoSignaturesUnavailable { hook });
        }
        let Some((signers, quorum, step_up_signers)) = &self.co_signers else {
            return Err(GrantError::InvalidCoSigners { reason: "a step-up threshold needs co-signers" });
        };
        if signers.len() > limits::MAX_CO_SIGNERS {
            return Err(GrantError::TooMany { what: "co-signers", max: limits::MAX_CO_SIGNERS, got: signers.len() });
        }
        if usize::from(*quorum) > signers.len() {
            return Err(GrantError::InvalidCoSigners { reason: "the quorum is more than the co-signers" });
        }
        if usize::from(*step_up_signers) > signers.len() {
            return Err(GrantError::InvalidCoSigners { reason: "the step-up signers are more than the co-signers" });
        }
        for (i, s) in signers.iter().enumerate() {
            if *s == key_hash {
                return Err(GrantError::InvalidCoSigners { reason: "a key cannot co-sign its own operations" });
            }
            if signers[..i].contains(s) {
                return Err(GrantError::InvalidCoSigners { reason: "a co-signer is named twice" });
            }
        }
        if !self.step_ups.is_empty() && signers.is_empty() {
            return Err(GrantError::InvalidCoSigners { reason: "a step-up threshold needs co-signers" });
        }
        let tokens = self.step_ups.iter().filter(|(a, _)| *a != Address::ZERO).count();
        if tokens > limits::MAX_STEP_UP_TOKENS {
            return Err(GrantError::TooMany { what: "step-up tokens", max: limits::MAX_STEP_UP_TOKENS, got: tokens });
        }
        out.push(policy::to_hook(hook, policy::co_signers(key_hash, signers.clone(), *quorum, *step_up_signers)));
        for (i, (asset, threshold)) in self.step_ups.iter().enumerate() {
            let asset = *asset;
            if asset == ANY_TARGET || asset == policy::ERC20_ETH || asset == policy::PERMIT2 {
                return Err(GrantError::InvalidStepUp { asset, reason: "not a token (use Address::ZERO for native)" });
            }
            if self.step_ups[..i].iter().any(|(a, _)| *a == asset) {
                return Err(GrantError::InvalidStepUp { asset, reason: "given twice" });
            }
            if *threshold > U256::from(U96::MAX) {
                return Err(GrantError::InvalidStepUp { asset, reason: "the threshold does not fit in 96 bits" });
            }
            let threshold = U96::saturating_from(*threshold);
            out.push(policy::to_hook(hook, policy::step_up(key_hash, asset, true, threshold)));
        }
        Ok(())
    }
}

fn check_policy_hook(hook: Address) -> Result<(), GrantError> {
    let flags = hooks::flags(hook);
    if flags == 0 {
        return Err(GrantError::HookWithoutCallbacks { hook });
    }
    if flags != hooks::POLICY_HOOK_FLAGS && flags != hooks::POLICY_HOOK_COSIGN_FLAGS {
        return Err(GrantError::NotPolicyHook { hook, flags });
    }
    Ok(())
}

/// ABI head words of a parameter: 1 for a dynamic one (its offset), its whole size for a static one.
fn head_words(ty: &DynSolType) -> usize {
    if ty.is_dynamic() { 1 } else { ty.minimum_words() }
}

const fn op_name(op: ConditionOp) -> &'static str {
    match op {
        ConditionOp::Less => "less_than",
        ConditionOp::LessOrEqual => "at_most",
        ConditionOp::Greater => "greater_than",
        ConditionOp::GreaterOrEqual => "at_least",
        ConditionOp::Equal => "equals",
        ConditionOp::NotEqual => "not_equals",
        _ => "one_of",
    }
}

fn is_ordering(op: ConditionOp) -> bool {
    matches!(op, ConditionOp::Less | ConditionOp::LessOrEqual | ConditionOp::Greater | ConditionOp::GreaterOrEqual)
}

fn resolve_conditions(r: &Rule, signature: Option<&FunctionSignature>) -> Result<Vec<abi::Condition>, GrantError> {
    if r.conditions.len() > limits::MAX_CONDITIONS {
        return Err(GrantError::TooMany {
            what: "conditions on one rule",
            max: limits::MAX_CONDITIONS,
            got: r.conditions.len(),
        });
    }
    r.conditions.iter().map(|c| resolve_condition(r, signature, c)).collect()
}

fn resolve_condition(
    r: &Rule,
    signature: Option<&FunctionSignature>,
    c: &Condition,
) -> Result<abi::Condition, GrantError> {
    // The argument's position and width, and how to turn each operand into the word the hook compares.
    let (subject, arg_index, bits, kind) = match c.subject {
        Target::Value => ("the call's value".to_owned(), VALUE_ARG, 256, Kind::Uint(256)),
        Target::Word { index, bits } => {
            if bits > 256 {
                return Err(GrantError::InvalidWord { index, bits, reason: "a width is at most 256 bits" });
            }
            if index == VALUE_ARG {
                return Err(GrantError::InvalidWord {
                    index,
                    bits,
                    reason: "word 0xffff means the call's value: use value()",
                });
            }
            (format!("word {index}"), index, bits, Kind::Raw(bits))
        }
        Target::Arg(index) => {
            let sig =
                signature.ok_or(GrantError::ConditionNeedsSignature { target: r.target, selector: r.selector })?;
            let ty = sig.params.get(index).ok_or_else(|| GrantError::ArgumentOutOfRange {
                signature: sig.canonical.clone(),
                index,
                count: sig.params.len(),
            })?;
            let unsupported = || GrantError::UnsupportedArgument {
                signature: sig.canonical.clone(),
                index,
                ty: ty.sol_type_name().into_owned(),
            };
            let (bits, kind) = match ty {
                DynSolType::Address => (160, Kind::Address),
                DynSolType::Bool => (1, Kind::Bool),
                DynSolType::Uint(n) => {
                    let n = u16::try_from(*n).map_err(|_| unsupported())?;
                    (n, Kind::Uint(n))
                }
                DynSolType::FixedBytes(n) => (256, Kind::Bytes(*n)),
                _ => return Err(unsupported()),
            };
            let word: usize = sig.params[..index].iter().map(head_words).sum();
            let word = u16::try_from(word).ok().filter(|w| *w != VALUE_ARG).ok_or_else(unsupported)?;
            (format!("argument {index} ({}) of {}", ty.sol_type_name(), sig.canonical), word, bits, kind)
        }
    };
    if is_ordering(c.op) && matches!(kind, Kind::Address | Kind::Bool | Kind::Bytes(_)) {
        return Err(GrantError::UnsupportedComparison { subject, op: op_name(c.op) });
    }
    if c.values.is_empty() {
        return Err(GrantError::EmptySet { subject });
    }
    if c.values.len() > limits::MAX_SET_VALUES {
        return Err(GrantError::TooMany {
            what: "values in a one_of condition",
            max: limits::MAX_SET_VALUES,
            got: c.values.len(),
        });
    }
    let values = c.values.iter().map(|v| kind.word(&subject, *v)).collect::<Result<Vec<_>, _>>()?;
    Ok(abi::Condition { op: c.op, argIndex: arg_index, bits, values })
}

/// The type a condition's operands must have.
#[derive(Clone, Copy)]
enum Kind {
    Address,
    Bool,
    Uint(u16),
    Bytes(usize),
    Raw(u16),
}

impl Kind {
    fn name(self) -> String {
        match self {
            Self::Address => "address".into(),
            Self::Bool => "bool".into(),
            Self::Uint(n) => format!("uint{n}"),
            Self::Bytes(n) => format!("bytes{n}"),
            Self::Raw(n) => format!("a {n}-bit word"),
        }
    }

    fn fits(v: U256, bits: u16) -> bool {
        bits == 0 || bits >= 256 || v >> usize::from(bits) == U256::ZERO
    }

    fn word(self, subject: &str, v: Operand) -> Result<B256, GrantError> {
        let mismatch =
            || GrantError::OperandMismatch { subject: subject.to_owned(), expected: self.name(), operand: v };
        let out_of_range = |bits| GrantError::OperandOutOfRange { subject: subject.to_owned(), operand: v, bits };
        match (self, v) {
            (Self::Address, Operand::Address(a)) => Ok(a.into_word()),
            (Self::Bool, Operand::Bool(b)) => Ok(B256::from(U256::from(u8::from(b)))),
            (Self::Uint(n), Operand::Uint(x)) => {
                if Self::fits(x, n) {
                    Ok(B256::from(x))
                } else {
                    Err(out_of_range(n))
                }
            }
            (Self::Bytes(n), Operand::Bytes(b)) => {
                if b[n..].iter().all(|x| *x == 0) {
                    Ok(b)
                } else {
                    Err(out_of_range(u16::try_from(n * 8).unwrap_or(256)))
                }
            }
            (Self::Raw(bits), v) => {
                let word = match v {
                    Operand::Address(a) => a.into_word(),
                    Operand::Uint(x) => B256::from(x),
                    Operand::Bool(b) => B256::from(U256::from(u8::from(b))),
                    Operand::Bytes(b) => b,
                };
                if Self::fits(U256::from_be_bytes(word.0), bits) { Ok(word) } else { Err(out_of_range(bits)) }
            }
            _ => Err(mismatch()),
        }
    }
}

#[derive(Clone, Copy, Debug)]
enum Expiry {
    At(u64),
    Never,
}

#[derive(Clone, Debug)]
enum HookChoice {
    None,
    Custom(Address),
    Policy(Address, Box<Policy>),
}

impl HookChoice {
    fn address(&self) -> Option<Address> {
        match self {
            Self::None => None,
            Self::Custom(a) | Self::Policy(a, _) => Some(*a),
        }
    }
}

/// Builds a [`Grant`]. Start with [`Grant::builder`].
#[derive(Clone, Debug)]
#[must_use]
pub struct GrantBuilder {
    key: Key,
    expiry: Option<Expiry>,
    lifetime_error: Option<GrantError>,
    valid_after: u64,
    admin: bool,
    flags: Flags,
    gas_budget: Option<SpendCaps>,
    hook: HookChoice,
    hook_error: Option<GrantError>,
}

impl GrantBuilder {
    /// The key is valid through this second (unix seconds; not 0).
    pub fn expires_at(mut self, unix_seconds: u64) -> Self {
        self.expiry = Some(Expiry::At(unix_seconds));
        self.lifetime_error = None;
        self
    }

    /// The key expires `lifetime` after `now` (unix seconds; whole seconds).
    pub fn expires_in(mut self, now: u64, lifetime: Duration) -> Self {
        if lifetime.subsec_nanos() != 0 {
            self.lifetime_error = Some(GrantError::NotWholeSeconds { what: "lifetime", duration: lifetime });
            return self;
        }
        self.lifetime_error = None;
        self.expiry = Some(match now.checked_add(lifetime.as_secs()) {
            Some(t) => Expiry::At(t),
            None => Expiry::At(u64::MAX),
        });
        self
    }

    /// The key never expires. Required to say so: a grant without an expiry is an error.
    pub fn never_expires(mut self) -> Self {
        self.expiry = Some(Expiry::Never);
        self.lifetime_error = None;
        self
    }

    /// The key is refused before this second (unix seconds).
    pub fn valid_after(mut self, unix_seconds: u64) -> Self {
        self.valid_after = unix_seconds;
        self
    }

    /// The key may manage the account (make it call itself: grant, revoke, ...). Admin keys pass through their
    /// hook like any other, but can change it.
    pub fn admin(mut self) -> Self {
        self.admin = true;
        self
    }

    /// ERC-4337 operations of the key must name a paymaster (checked by the account).
    pub fn sponsored_only(mut self) -> Self {
        self.flags = self.flags | Flags::SPONSORED_ONLY;
        self
    }

    /// Adds settings flags. GAS_BUDGET comes with [`GrantBuilder::gas_budget`]; with a policy,
    /// AFTER_EXECUTE_ON_FAILURE is set for you.
    pub fn flags(mut self, flags: Flags) -> Self {
        self.flags = self.flags | flags;
        self
    }

    /// What the account may pay in ERC-4337 gas for the key (wei): sets the GAS_BUDGET flag and adds
    /// `setGasBudget` to the batch. Periods of the gas budget are aligned to multiples of the period since the
    /// Unix epoch.
    pub fn gas_budget(mut self, caps: SpendCaps) -> Self {
        self.gas_budget = Some(caps);
        self
    }

    /// Puts the key under the PolicyHook at `hook` with `policy`: the settings name the hook (with
    /// AFTER_EXECUTE_ON_FAILURE) and the batch configures the policy right after the grant.
    pub fn policy(mut self, hook: Address, policy: Policy) -> Self {
        self.set_hook(HookChoice::Policy(hook, Box::new(policy)));
        self
    }

    /// Puts the key under another hook (a Calibur-interface hook), configured elsewhere.
    pub fn hook(mut self, hook: Address) -> Self {
        self.set_hook(HookChoice::Custom(hook));
        self
    }

    fn set_hook(&mut self, choice: HookChoice) {
        if let (Some(first), Some(second)) = (self.hook.address(), choice.address()) {
            self.hook_error.get_or_insert(GrantError::HookConflict { first, second });
            return;
        }
        self.hook = choice;
    }

    /// Checks everything and builds the settings and the batch.
    pub fn build(self) -> Result<Grant, GrantError> {
        if let Some(e) = self.hook_error.or(self.lifetime_error) {
            return Err(e);
        }
        let expiration = match self.expiry.ok_or(GrantError::MissingExpiry)? {
            Expiry::At(0) => return Err(GrantError::ZeroExpiration),
            Expiry::At(t) => t,
            Expiry::Never => 0,
        };
        for (field, value) in [("expiration", expiration), ("validAfter", self.valid_after)] {
            if value >= 1 << 40 {
                return Err(GrantError::TimeOutOfRange { field, value });
            }
        }
        if expiration != 0 && self.valid_after > expiration {
            return Err(GrantError::EmptyWindow { valid_after: self.valid_after, expiration });
        }
        if self.flags.contains(Flags::GAS_BUDGET) && self.gas_budget.is_none() {
            return Err(GrantError::GasBudgetFlagWithoutBudget);
        }
        let key_hash = self.key.hash();
        let mut builder = Settings::builder()
            .expires_at(expiration)
            .valid_after(self.valid_after)
            .admin(self.admin)
            .flags(self.flags)
            .gas_budget(self.gas_budget.is_some());
        let mut configuration = Vec::new();
        match &self.hook {
            HookChoice::None => {}
            HookChoice::Custom(hook) => {
                if !hooks::has_any(*hook) {
                    return Err(GrantError::HookWithoutCallbacks { hook: *hook });
                }
                builder = builder.hook(*hook);
            }
            HookChoice::Policy(hook, policy) => {
                configuration = policy.calls(key_hash, *hook)?;
                builder = builder.policy_hook(*hook);
            }
        }
        let settings = builder.build().map_err(|e| match e {
            crate::Error::HookWithoutCallbacks { hook } => GrantError::HookWithoutCallbacks { hook },
            crate::Error::TimeOutOfRange { field, value } => GrantError::TimeOutOfRange { field, value },
            other => unreachable!("the builder checked its fields: {other}"),
        })?;
        let mut calls = vec![encode::self_call(encode::grant(&self.key, settings))];
        if let Some(caps) = &self.gas_budget {
            calls.push(encode::self_call(encode::set_gas_budget(key_hash, caps.gas_budget()?)));
        }
        calls.extend(configuration);
        Ok(Grant { key: self.key, key_hash, settings, calls })
    }
}

/// A key's grant: its settings and the one batch the account runs (as the root or an admin key) to register and
/// configure it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Grant {
    /// The key.
    pub key: Key,
    /// Its hash.
    pub key_hash: B256,
    /// Its settings (naming the PolicyHook when a policy is configured).
    pub settings: Settings,
    /// `grant(key, settings)`, then `setGasBudget` when there is a budget, then the PolicyHook's configuration:
    /// each rule followed by its conditions, token caps, native caps, call counts, the ERC-1271 scope, paymasters.
    pub calls: Vec<Call>,
}

impl Grant {
    /// Starts a grant of `key`. An expiry (or [`GrantBuilder::never_expires`]) is required.
    pub fn builder(key: Key) -> GrantBuilder {
        GrantBuilder {
            key,
            expiry: None,
            lifetime_error: None,
            valid_after: 0,
            admin: false,
            flags: Flags::NONE,
            gas_budget: None,
            hook: HookChoice::None,
            hook_error: None,
        }
    }

    /// The key's hook (`None`: no hook).
    pub fn hook(&self) -> Option<Address> {
        let hook = self.settings.hook();
        (hook != Address::ZERO).then_some(hook)
    }

    /// ERC-7821 `execute` of the batch, reverting if any call fails: what the EOA sends to itself.
    pub fn execute_call_data(&self) -> Bytes {
        encode::execute(&self.calls, true)
    }

    /// What to hand the agent that will use the key on `account` (no secret in it).
    pub fn credential(&self, account: Address, chain_id: u64, entry_point: Address) -> SessionCredential {
        SessionCredential {
            version: SessionCredential::VERSION,
            account,
            chain_id,
            entry_point,
            key_type: KeyKind::from(self.key.keyType),
            public_key: self.key.publicKey.clone(),
            key_hash: self.key_hash,
            hook: self.hook(),
            valid_after: self.settings.valid_after(),
            expiration: (self.settings.expiration() != 0).then(|| self.settings.expiration()),
        }
    }
}

/// A key type, as a credential names it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum KeyKind {
    /// secp256k1 (public key: the address, ABI-encoded).
    Secp256k1,
    /// P256 (public key: x ++ y).
    P256,
    /// WebAuthn P256 (public key: x ++ y).
    WebAuthnP256,
}

impl From<KeyType> for KeyKind {
    fn from(t: KeyType) -> Self {
        match t {
            KeyType::P256 => Self::P256,
            KeyType::WebAuthnP256 => Self::WebAuthnP256,
            _ => Self::Secp256k1,
        }
    }
}

impl From<KeyKind> for KeyType {
    fn from(k: KeyKind) -> Self {
        match k {
            KeyKind::Secp256k1 => Self::Secp256k1,
            KeyKind::P256 => Self::P256,
            KeyKind::WebAuthnP256 => Self::WebAuthnP256,
        }
    }
}

/// What you hand an agent so it can act with a session key: where (account, chain, EntryPoint), which key, under
/// which hook and for how long. It holds no secret: `with_secret` (feature `client`) adds the key's secret to make
/// the `agent::AgentCredential` an agent runs from, or give the agent its signing key separately. Serializes as
/// JSON (camelCase); reading it back checks that the key hash is the key's.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", try_from = "RawCredential")]
pub struct SessionCredential {
    /// Format version ([`SessionCredential::VERSION`]).
    pub version: u32,
    /// The account (the EOA's address).
    pub account: Address,
    /// The chain.
    pub chain_id: u64,
    /// The ERC-4337 EntryPoint the account trusts.
    pub entry_point: Address,
    /// The key's type.
    pub key_type: KeyKind,
    /// The key's public key, as the account stores it.
    pub public_key: Bytes,
    /// The key's hash.
    pub key_hash: B256,
    /// The key's hook, if any.
    pub hook: Option<Address>,
    /// The first valid second (0: none).
    pub valid_after: u64,
    /// The last valid second (`None`: never expires).
    pub expiration: Option<u64>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct RawCredential {
    version: u32,
    account: Address,
    chain_id: u64,
    entry_point: Address,
    key_type: KeyKind,
    public_key: Bytes,
    key_hash: B256,
    hook: Option<Address>,
    valid_after: u64,
    expiration: Option<u64>,
}

impl TryFrom<RawCredential> for SessionCredential {
    type Error = GrantError;

    fn try_from(r: RawCredential) -> Result<Self, GrantError> {
        let c = Self {
            version: r.version,
            account: r.account,
            chain_id: r.chain_id,
            entry_point: r.entry_point,
            key_type: r.key_type,
            public_key: r.public_key,
            key_hash: r.key_hash,
            hook: r.hook,
            valid_after: r.valid_after,
            expiration: r.expiration,
        };
        let computed = c.key().hash();
        if computed != c.key_hash {
            return Err(GrantError::CredentialKeyHashMismatch { stated: c.key_hash, computed });
        }
        Ok(c)
    }
}

impl SessionCredential {
    /// The current format version.
    pub const VERSION: u32 = 1;

    /// The key, as the account knows it.
    pub fn key(&self) -> Key {
        Key { keyType: self.key_type.into(), publicKey: self.public_key.clone() }
    }

    /// Whether the key is usable at unix time `now` by its window.
    pub fn is_valid_at(&self, now: u64) -> bool {
        now >= self.valid_after && self.expiration.is_none_or(|e| now <= e)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::bindings::{GasBudget, IKeyward::IKeywardCalls, policy::IPolicyHook::IPolicyHookCalls};
    use alloy::{
        primitives::{address, aliases::U96},
        sol,
        sol_types::{SolInterface, SolValue},
    };

    sol! {
        interface IERC20 {
            function transfer(address to, uint256 amount) external returns (bool);
            function approve(address spender, uint256 amount) external returns (bool);
        }
        interface IOdd {
            function mixed(bytes memo, uint8 small, address to, int256 signed, bytes4 tag, bool flag, (uint256,uint256) pair, uint64 last) external;
        }
    }

    const HOOK: Address = address!("0x000000000000000000000000000000000000c01e");
    const TOKEN: Address = address!("0x00000000000000000000000000000000000000aa");
    const DAY: Duration = Duration::from_hours(24);

    fn key() -> Key {
        Key::secp256k1(address!("0x00000000000000000000000000000000000000bb"))
    }

    fn base() -> GrantBuilder {
        Grant::builder(key()).expires_at(2_000_000_000)
    }

    fn err(b: GrantBuilder) -> GrantError {
        b.build().expect_err("must be refused")
    }

    fn with_policy(p: Policy) -> GrantError {
        err(base().policy(HOOK, p))
    }

    /// The hook's calls of a grant, decoded.
    fn hook_calls(g: &Grant) -> Vec<IPolicyHookCalls> {
        g.calls
            .iter()
            .filter(|c| c.to == HOOK)
            .map(|c| IPolicyHookCalls::abi_decode(&c.data).expect("a PolicyHook call"))
            .collect()
    }

    #[test]
    #[allow(clippy::many_single_char_names)] // one letter per decoded call
    fn test_grant_batch_decodes_back_in_the_hooks_order() {
        let paymaster = Address::repeat_byte(0x33);
        let domain = B256::repeat_byte(0x44);
        let g = Grant::builder(key())
            .valid_after(1_000)
            .expires_at(2_000)
            .gas_budget(SpendCaps::periodic(U256::from(10u64.pow(16)), DAY))
            .policy(
                HOOK,
                Policy::new()
                    .allow_call_if::<IERC20::transferCall>(
                        TOKEN,
                        [arg(0).equals(Address::repeat_byte(1)), arg(1).at_most(1_000u64)],
                    )
                    .deny_call::<IERC20::approveCall>(TOKEN)
                    .allow_transfers_to_if(Address::repeat_byte(0x5e), [value().less_than(5u64)])
                    .token_limit(TOKEN, SpendCaps::periodic(U256::from(100), DAY).with_lifetime(U256::from(1_000)))
                    .native_limit(NativeCaps { per_call: Some(U256::from(5)), ..NativeCaps::default() })
                    .usage(UsageLimits { max_calls: Some(10), max_per_batch: Some(2), ..UsageLimits::default() })
                    .signatures(SignatureScope::Domains(vec![domain]))
                    .paymasters([paymaster]),
            )
            .build()
            .unwrap();
        assert_eq!(g.key_hash, key().hash());
        assert_eq!(g.settings.hook(), HOOK);
        assert_eq!(g.settings.flags(), Flags::AFTER_EXECUTE_ON_FAILURE | Flags::GAS_BUDGET);
        assert_eq!((g.settings.valid_after(), g.settings.expiration()), (1_000, 2_000));
        assert!(!g.settings.is_admin());
        // 1: the grant, with these settings.
        assert_eq!(g.calls[0].to, Address::ZERO);
        let IKeywardCalls::grant(grant) = IKeywardCalls::abi_decode(&g.calls[0].data).unwrap() else { panic!() };
        assert_eq!((grant.key, grant.settings), (key(), g.settings.to_u256()));
        // 2: the gas budget.
        let IKeywardCalls::setGasBudget(b) = IKeywardCalls::abi_decode(&g.calls[1].data).unwrap() else { panic!() };
        assert_eq!(
            (b.keyHash, b.budget),
            (
                g.key_hash,
                GasBudget {
                    perPeriod: U96::from(10u64.pow(16)),
                    period: 86_400u64.try_into().unwrap(),
                    lifetime: U96::ZERO
                }
            )
        );
        // Then the hook, in order.
        let calls = hook_calls(&g);
        assert_eq!(calls.len(), 10, "{calls:?}");
        assert_eq!(g.calls.len(), 12);
        let IPolicyHookCalls::setCallRule(r) = &calls[0] else { panic!("{:?}", calls[0]) };
        assert_eq!(
            (r.keyHash, r.target, r.selector.0, r.state),
            (g.key_hash, TOKEN, IERC20::transferCall::SELECTOR, RuleState::Allow)
        );
        let IPolicyHookCalls::setConditions(c) = &calls[1] else { panic!() };
        assert_eq!((c.target, c.selector.0), (TOKEN, IERC20::transferCall::SELECTOR));
        assert_eq!(c.conditions.len(), 2);
        assert_eq!((c.conditions[0].op, c.conditions[0].argIndex, c.conditions[0].bits), (ConditionOp::Equal, 0, 160));
        assert_eq!(c.conditions[0].values, vec![Address::repeat_byte(1).into_word()]);
        assert_eq!(
            (c.conditions[1].op, c.conditions[1].argIndex, c.conditions[1].bits),
            (ConditionOp::LessOrEqual, 1, 256)
        );
        assert_eq!(c.conditions[1].values, vec![B256::from(U256::from(1_000))]);
        let IPolicyHookCalls::setCallRule(d) = &calls[2] else { panic!() };
        assert_eq!((d.selector.0, d.state), (IERC20::approveCall::SELECTOR, RuleState::Deny));
        let IPolicyHookCalls::setCallRule(e) = &calls[3] else { panic!() };
        assert_eq!((e.target, e.selector.0), (Address::repeat_byte(0x5e), EMPTY_CALLDATA));
        let IPolicyHookCalls::setConditions(v) = &calls[4] else { panic!() };
        assert_eq!((v.conditions[0].argIndex, v.conditions[0].op), (VALUE_ARG, ConditionOp::Less));
        let IPolicyHookCalls::setTokenLimit(t) = &calls[5] else { panic!() };
        assert_eq!((t.token, t.enabled), (TOKEN, true));
        assert_eq!(
            (t.limits.perPeriod.to::<u64>(), t.limits.period.to::<u64>(), t.limits.lifetime.to::<u64>()),
            (100, 86_400, 1_000),
            "named caps land in their own fields"
        );
        let IPolicyHookCalls::setNativeLimits(n) = &calls[6] else { panic!() };
        assert_eq!((n.enabled, n.perCall, n.limits.perPeriod, n.limits.lifetime), (true, 5, U96::ZERO, U96::ZERO));
        let IPolicyHookCalls::setUsageLimits(u) = &calls[7] else { panic!() };
        assert_eq!((u.maxCalls, u.maxPerPeriod, u.period.to::<u64>(), u.maxPerBatch), (10, 0, 0, 2));
        let IPolicyHookCalls::setSignaturePolicy(s) = &calls[8] else { panic!() };
        assert_eq!((s.mode, s.domains.clone()), (SignatureMode::Domains, vec![domain]));
        let IPolicyHookCalls::setPaymasters(p) = &calls[9] else { panic!() };
        assert_eq!(p.paymasters, vec![paymaster]);
        // The execute call data is ERC-7821 over exactly these calls.
        let IKeywardCalls::execute_1(x) = IKeywardCalls::abi_decode(&g.execute_call_data()).unwrap() else { panic!() };
        assert_eq!(<Vec<Call>>::abi_decode(&x.executionData).unwrap(), g.calls);
    }

    #[test]
    fn test_grant_without_policy_is_one_call_and_never_expiring_only_when_said() {
        let g = Grant::builder(key()).never_expires().build().unwrap();
        assert_eq!(g.calls.len(), 1);
        assert_eq!((g.settings.expiration(), g.settings.hook(), g.settings.is_admin()), (0, Address::ZERO, false));
        assert_eq!(g.hook(), None);
        assert_eq!(err(Grant::builder(key())), GrantError::MissingExpiry);
        let admin = Grant::builder(key()).admin().expires_in(100, Duration::from_mins(5)).build().unwrap();
        assert!(admin.settings.is_admin());
        assert_eq!(admin.settings.expiration(), 400);
        let custom = Grant::builder(key()).hook(Address::with_last_byte(0x08)).never_expires().build().unwrap();
        assert_eq!((custom.hook(), custom.calls.len()), (Some(Address::with_last_byte(0x08)), 1));
        assert_eq!(custom.settings.flags(), Flags::NONE, "a custom hook gets no PolicyHook flag");
        let sponsored = base().sponsored_only().build().unwrap();
        assert_eq!(sponsored.settings.flags(), Flags::SPONSORED_ONLY);
    }

    #[test]
    fn test_grant_window_edges() {
        // validAfter == expiration is a one-second window: valid.
        assert!(Grant::builder(key()).valid_after(5).expires_at(5).build().is_ok());
        assert_eq!(
            err(Grant::builder(key()).valid_after(6).expires_at(5)),
            GrantError::EmptyWindow { valid_after: 6, expiration: 5 }
        );
        assert!(Grant::builder(key()).valid_after(6).never_expires().build().is_ok());
        assert_eq!(err(Grant::builder(key()).expires_at(0)), GrantError::ZeroExpiration);
        assert!(Grant::builder(key()).expires_at((1 << 40) - 1).build().is_ok());
        assert_eq!(
            err(Grant::builder(key()).expires_at(1 << 40)),
            GrantError::TimeOutOfRange { field: "expiration", value: 1 << 40 }
        );
        assert_eq!(
            err(base().valid_after(1 << 40)),
            GrantError::TimeOutOfRange { field: "validAfter", value: 1 << 40 }
        );
        assert!(matches!(
            err(Grant::builder(key()).expires_in(u64::MAX - 5, DAY)),
            GrantError::TimeOutOfRange { field: "expiration", .. }
        ));
        assert!(matches!(
            err(Grant::builder(key()).expires_in(0, Duration::from_millis(1_500))),
            GrantError::NotWholeSeconds { what: "lifetime", .. }
        ));
    }

    #[test]
    fn test_grant_hook_errors() {
        let other = Address::with_last_byte(0x3e);
        assert_eq!(
            err(base().policy(HOOK, Policy::new()).policy(other, Policy::new())),
            GrantError::HookConflict { first: HOOK, second: other }
        );
        assert_eq!(
            err(base().hook(other).policy(HOOK, Policy::new())),
            GrantError::HookConflict { first: other, second: HOOK }
        );
        let none = Address::with_last_byte(0x20);
        assert_eq!(err(base().hook(none)), GrantError::HookWithoutCallbacks { hook: none });
        assert_eq!(err(base().policy(none, Policy::new())), GrantError::HookWithoutCallbacks { hook: none });
        let wrong = Address::with_last_byte(0x1d);
        assert_eq!(err(base().policy(wrong, Policy::new())), GrantError::NotPolicyHook { hook: wrong, flags: 0x1d });
        assert_eq!(err(base().flags(Flags::GAS_BUDGET)), GrantError::GasBudgetFlagWithoutBudget);
    }

    #[test]
    fn test_grant_cap_errors() {
        let over96 = U256::from(1) << 96;
        let max96 = over96 - U256::from(1);
        let t = CapOf::Token(TOKEN);
        let token = |caps| with_policy(Policy::new().token_limit(TOKEN, caps));
        assert!(base().policy(HOOK, Policy::new().token_limit(TOKEN, SpendCaps::periodic(max96, DAY))).build().is_ok());
        assert_eq!(
            token(SpendCaps::periodic(over96, DAY)),
            GrantError::CapTooLarge { cap: t, field: "per_period", value: over96, max: max96 }
        );
        assert_eq!(
            token(SpendCaps::total(over96)),
            GrantError::CapTooLarge { cap: t, field: "lifetime", value: over96, max: max96 }
        );
        assert_eq!(token(SpendCaps::total(U256::ZERO)), GrantError::ZeroCap { cap: t, field: "lifetime" });
        assert_eq!(token(SpendCaps::periodic(U256::ZERO, DAY)), GrantError::ZeroCap { cap: t, field: "per_period" });
        assert_eq!(
            token(SpendCaps { per_period: Some(U256::from(1)), ..SpendCaps::default() }),
            GrantError::PeriodRequired { cap: t }
        );
        assert_eq!(
            token(SpendCaps { period: Some(DAY), lifetime: Some(U256::from(1)), ..SpendCaps::default() }),
            GrantError::PeriodWithoutCap { cap: t }
        );
        assert!(matches!(
            token(SpendCaps::periodic(U256::from(1), Duration::ZERO)),
            GrantError::InvalidPeriod { cap, reason: "is zero", .. } if cap == t
        ));
        assert!(matches!(
            token(SpendCaps::periodic(U256::from(1), Duration::from_secs(1 << 40))),
            GrantError::InvalidPeriod { reason: "does not fit in 40 bits", .. }
        ));
        assert!(
            base()
                .policy(
                    HOOK,
                    Policy::new()
                        .token_limit(TOKEN, SpendCaps::periodic(U256::from(1), Duration::from_secs((1 << 40) - 1)))
                )
                .build()
                .is_ok()
        );
        assert!(matches!(
            token(SpendCaps::periodic(U256::from(1), Duration::from_millis(1_500))),
            GrantError::NotWholeSeconds { what: "period", .. }
        ));
        assert_eq!(token(SpendCaps::default()), GrantError::NoCap { cap: t });
        assert_eq!(
            with_policy(Policy::new().native_limit(NativeCaps::default())),
            GrantError::NoCap { cap: CapOf::Native }
        );
        let over128 = U256::from(1) << 128;
        assert_eq!(
            with_policy(Policy::new().native_limit(NativeCaps { per_call: Some(over128), ..NativeCaps::default() })),
            GrantError::CapTooLarge {
                cap: CapOf::Native,
                field: "per_call",
                value: over128,
                max: over128 - U256::from(1)
            }
        );
        assert_eq!(
            with_policy(Policy::new().native_limit(NativeCaps { per_call: Some(U256::ZERO), ..NativeCaps::default() })),
            GrantError::ZeroCap { cap: CapOf::Native, field: "per_call" }
        );
        assert_eq!(err(base().gas_budget(SpendCaps::default())), GrantError::NoCap { cap: CapOf::Gas });
        assert_eq!(
            err(base().gas_budget(SpendCaps::total(over96))),
            GrantError::CapTooLarge { cap: CapOf::Gas, field: "lifetime", value: over96, max: max96 }
        );
        let usage = |u| with_policy(Policy::new().usage(u));
        assert_eq!(
            usage(UsageLimits { max_calls: Some(0), ..UsageLimits::default() }),
            GrantError::ZeroCap { cap: CapOf::Calls, field: "max_calls" }
        );
        assert_eq!(
            usage(UsageLimits { max_per_batch: Some(0), ..UsageLimits::default() }),
            GrantError::ZeroCap { cap: CapOf::Calls, field: "max_per_batch" }
        );
        assert_eq!(
            usage(UsageLimits { max_per_period: Some(3), ..UsageLimits::default() }),
            GrantError::PeriodRequired { cap: CapOf::Calls }
        );
        assert_eq!(
            usage(UsageLimits { period: Some(DAY), max_calls: Some(3), ..UsageLimits::default() }),
            GrantError::PeriodWithoutCap { cap: CapOf::Calls }
        );
        assert_eq!(usage(UsageLimits::default()), GrantError::NoCap { cap: CapOf::Calls });
    }

    #[test]
    fn test_grant_list_errors() {
        for (bad, reason) in [
            (Address::ZERO, "the zero address"),
            (ANY_TARGET, "the wildcard"),
            (policy::ERC20_ETH, "ERC20ETH counts as native value: use native_limit"),
        ] {
            assert_eq!(
                with_policy(Policy::new().token_limit(bad, SpendCaps::total(U256::from(1)))),
                GrantError::InvalidToken { token: bad, reason }
            );
        }
        assert_eq!(
            with_policy(
                Policy::new().allow_call::<IERC20::transferCall>(TOKEN).deny_call::<IERC20::transferCall>(TOKEN)
            ),
            GrantError::DuplicateRule { target: TOKEN, selector: FixedBytes(IERC20::transferCall::SELECTOR) }
        );
        let one = SpendCaps::total(U256::from(1));
        assert_eq!(
            with_policy(Policy::new().token_limit(TOKEN, one).token_limit(TOKEN, one)),
            GrantError::DuplicateToken { token: TOKEN }
        );
        let pm = Address::repeat_byte(7);
        assert_eq!(with_policy(Policy::new().paymasters([pm, pm])), GrantError::DuplicatePaymaster { paymaster: pm });
        assert_eq!(with_policy(Policy::new().paymasters([Address::ZERO])), GrantError::ZeroPaymaster);
        // Each bound: at the bound accepted, one past refused.
        let rules = |n: usize| {
            (0..n).fold(Policy::new(), |p, i| p.allow_any_call(Address::with_last_byte(u8::try_from(i).unwrap())))
        };
        assert!(base().policy(HOOK, rules(64)).build().is_ok());
        assert_eq!(with_policy(rules(65)), GrantError::TooMany { what: "call rules", max: 64, got: 65 });
        let tokens = |n: usize| {
            (1..=n).fold(Policy::new(), |p, i| p.token_limit(Address::with_last_byte(u8::try_from(i).unwrap()), one))
        };
        assert!(base().policy(HOOK, tokens(16)).build().is_ok());
        assert_eq!(with_policy(tokens(17)), GrantError::TooMany { what: "limited tokens", max: 16, got: 17 });
        let conds = |n: usize| {
            Policy::new().allow_call_if::<IERC20::transferCall>(TOKEN, (0..n).map(|i| arg(1).at_least(i as u64)))
        };
        assert!(base().policy(HOOK, conds(8)).build().is_ok());
        assert_eq!(with_policy(conds(9)), GrantError::TooMany { what: "conditions on one rule", max: 8, got: 9 });
        let set = |n: u8| {
            Policy::new()
                .allow_call_if::<IERC20::transferCall>(TOKEN, [arg(0).one_of((1..=n).map(Address::with_last_byte))])
        };
        assert!(base().policy(HOOK, set(8)).build().is_ok());
        assert_eq!(with_policy(set(9)), GrantError::TooMany { what: "values in a one_of condition", max: 8, got: 9 });
        let domains =
            |n: u8| Policy::new().signatures(SignatureScope::Domains((0..n).map(B256::repeat_byte).collect()));
        assert!(base().policy(HOOK, domains(8)).build().is_ok());
        assert_eq!(with_policy(domains(9)), GrantError::TooMany { what: "ERC-1271 domains", max: 8, got: 9 });
        assert_eq!(with_policy(domains(0)), GrantError::EmptyDomains);
        let pms = |n: u8| Policy::new().paymasters((1..=n).map(Address::with_last_byte));
        assert!(base().policy(HOOK, pms(4)).build().is_ok());
        assert_eq!(with_policy(pms(5)), GrantError::TooMany { what: "paymasters", max: 4, got: 5 });
    }

    #[test]
    fn test_grant_condition_errors() {
        let cond = |c: Condition| with_policy(Policy::new().allow_call_if::<IOdd::mixedCall>(TOKEN, [c]));
        let sig = IOdd::mixedCall::SIGNATURE;
        assert_eq!(sig, "mixed(bytes,uint8,address,int256,bytes4,bool,(uint256,uint256),uint64)");
        assert_eq!(
            with_policy(
                Policy::new()
                    .allow_selector(TOKEN, FixedBytes([1, 2, 3, 4]))
                    .allow_transfers_to_if(TOKEN, [arg(0).equals(true)])
            ),
            GrantError::ConditionNeedsSignature { target: TOKEN, selector: FixedBytes(EMPTY_CALLDATA) }
        );
        assert_eq!(
            cond(arg(8).equals(1u8)),
            GrantError::ArgumentOutOfRange { signature: sig.into(), index: 8, count: 8 }
        );
        for (i, ty) in [(0, "bytes"), (3, "int256"), (6, "(uint256,uint256)")] {
            assert_eq!(
                cond(arg(i).equals(1u8)),
                GrantError::UnsupportedArgument { signature: sig.into(), index: i, ty: ty.into() }
            );
        }
        assert!(matches!(
            cond(arg(2).equals(1u8)),
            GrantError::OperandMismatch { expected, operand: Operand::Uint(_), .. } if expected == "address"
        ));
        assert!(matches!(
            cond(arg(1).equals(256u64)),
            GrantError::OperandOutOfRange { bits: 8, operand: Operand::Uint(_), .. }
        ));
        assert!(matches!(cond(arg(4).equals(B256::repeat_byte(1))), GrantError::OperandOutOfRange { bits: 32, .. }));
        assert!(matches!(
            cond(arg(2).less_than(Address::ZERO)),
            GrantError::UnsupportedComparison { op: "less_than", .. }
        ));
        assert!(matches!(cond(arg(5).at_least(true)), GrantError::UnsupportedComparison { op: "at_least", .. }));
        assert!(matches!(cond(arg(2).one_of(Vec::<Address>::new())), GrantError::EmptySet { .. }));
        assert!(matches!(cond(value().equals(Address::ZERO)), GrantError::OperandMismatch { .. }));
        assert!(matches!(cond(word(0, 257).equals(1u8)), GrantError::InvalidWord { bits: 257, .. }));
        assert!(matches!(cond(word(VALUE_ARG, 8).equals(1u8)), GrantError::InvalidWord { index: VALUE_ARG, .. }));
        assert!(matches!(cond(word(3, 8).equals(256u64)), GrantError::OperandOutOfRange { bits: 8, .. }));
        assert!(matches!(
            with_policy(Policy::new().allow(&CallSpec {
                target: TOKEN,
                selector: FixedBytes([0; 4]),
                signature: Some("f(".into())
            })),
            GrantError::Signature(UnitsError::InvalidSignature { .. })
        ));
    }

    #[test]
    fn test_grant_conditions_find_static_arguments_after_dynamic_and_tuple_heads() {
        let g = base()
            .policy(
                HOOK,
                Policy::new().allow_call_if::<IOdd::mixedCall>(
                    TOKEN,
                    [
                        arg(1).at_most(255u8),
                        arg(2).equals(Address::repeat_byte(9)),
                        arg(4).equals(FixedBytes([0xde, 0xad, 0xbe, 0xef])),
                        arg(5).equals(true),
                        arg(7).greater_than(7u64),
                        word(6, 0).not_equals(U256::MAX),
                    ],
                ),
            )
            .build()
            .unwrap();
        let IPolicyHookCalls::setConditions(c) = &hook_calls(&g)[1] else { panic!() };
        let got: Vec<(u16, u16)> = c.conditions.iter().map(|c| (c.argIndex, c.bits)).collect();
        // bytes (1 head word), uint8, address, int256, bytes4, bool, (uint256,uint256) (2 words), uint64.
        assert_eq!(got, [(1, 8), (2, 160), (4, 256), (5, 1), (8, 64), (6, 0)]);
        let mut tag = [0u8; 32];
        tag[..4].copy_from_slice(&[0xde, 0xad, 0xbe, 0xef]);
        assert_eq!(c.conditions[2].values, vec![B256::from(tag)]);
        assert_eq!(c.conditions[3].values, vec![B256::from(U256::from(1))]);
    }

    #[test]
    #[expect(clippy::too_many_lines, reason = "every bound of the two new allowance shapes, side by side")]
    fn test_grant_streams_and_anchored_caps_encode_and_check_bounds() {
        let start = 1_900_000_000;
        let stream = StreamCaps {
            initial_amount: U256::from(5),
            amount_per_second: U256::from(2),
            max_amount: Some(U256::from(50)),
            start: Some(start),
        };
        let g = base()
            .policy(
                HOOK,
                Policy::new()
                    .token_limit_from(TOKEN, SpendCaps::periodic(U256::from(10), DAY), start)
                    .token_stream(Address::with_last_byte(0xab), stream)
                    .native_limit_from(NativeCaps { lifetime: Some(U256::from(7)), ..NativeCaps::default() }, start),
            )
            .build()
            .unwrap();
        let calls = hook_calls(&g);
        let IPolicyHookCalls::setTokenLimitFrom(t) = &calls[0] else { panic!("{calls:?}") };
        assert_eq!((t.token, t.startTime.to::<u64>(), t.limits.perPeriod.to::<u64>()), (TOKEN, start, 10));
        let IPolicyHookCalls::setTokenStream(s) = &calls[1] else { panic!("{calls:?}") };
        assert_eq!(
            (s.stream.initialAmount.to::<u64>(), s.stream.amountPerSecond.to::<u64>(), s.stream.maxAmount.to::<u64>()),
            (5, 2, 50)
        );
        assert_eq!(s.stream.startTime.to::<u64>(), start);
        let IPolicyHookCalls::setNativeLimitsFrom(n) = &calls[2] else { panic!("{calls:?}") };
        assert!(n.enabled && n.limits.lifetime.to::<u64>() == 7 && n.startTime.to::<u64>() == start);
        let g = base()
            .policy(HOOK, Policy::new().native_stream(Some(U256::from(3)), StreamCaps { start: None, ..stream }))
            .build();
        let calls = hook_calls(&g.unwrap());
        let IPolicyHookCalls::setNativeStream(s) = &calls[0] else { panic!("{calls:?}") };
        assert_eq!((s.perCall, s.stream.startTime.to::<u64>(), s.stream.maxAmount.to::<u64>()), (3, 0, 50));

        // Bounds: each refused, never capped.
        let t = CapOf::Token(TOKEN);
        let over96 = U256::from(1) << 96;
        let max96 = over96 - U256::from(1);
        let streamed = |s: StreamCaps| with_policy(Policy::new().token_stream(TOKEN, s));
        assert!(
            base()
                .policy(
                    HOOK,
                    Policy::new().token_stream(TOKEN, StreamCaps { initial_amount: max96, max_amount: None, ..stream })
                )
                .build()
                .is_ok()
        );
        assert_eq!(
            streamed(StreamCaps { initial_amount: over96, max_amount: None, ..stream }),
            GrantError::CapTooLarge { cap: t, field: "initial_amount", value: over96, max: max96 }
        );
        assert_eq!(
            streamed(StreamCaps { amount_per_second: over96, ..stream }),
            GrantError::CapTooLarge { cap: t, field: "amount_per_second", value: over96, max: max96 }
        );
        assert_eq!(
            streamed(StreamCaps { max_amount: Some(U256::ZERO), ..stream }),
            GrantError::ZeroCap { cap: t, field: "max_amount" }
        );
        assert_eq!(
            streamed(StreamCaps { max_amount: Some(U256::from(4)), ..stream }),
            GrantError::StreamMaxBelowInitial { cap: t, initial: U256::from(5), max: U256::from(4) }
        );
        assert!(
            base()
                .policy(
                    HOOK,
                    Policy::new().token_stream(TOKEN, StreamCaps { max_amount: Some(U256::from(5)), ..stream })
                )
                .build()
                .is_ok()
        );
        assert_eq!(
            streamed(StreamCaps { initial_amount: U256::ZERO, amount_per_second: U256::ZERO, ..stream }),
            GrantError::EmptyStream { cap: t }
        );
        assert_eq!(streamed(StreamCaps { start: Some(0), ..stream }), GrantError::ZeroStartTime);
        assert_eq!(
            streamed(StreamCaps { start: Some(1 << 40), ..stream }),
            GrantError::TimeOutOfRange { field: "startTime", value: 1 << 40 }
        );
        assert!(
            base()
                .policy(HOOK, Policy::new().token_stream(TOKEN, StreamCaps { start: Some((1 << 40) - 1), ..stream }))
                .build()
                .is_ok()
        );
        assert!(matches!(
            with_policy(Policy::new().token_stream(policy::ERC20_ETH, stream)),
            GrantError::InvalidToken { .. }
        ));
        assert_eq!(
            with_policy(Policy::new().token_limit_from(TOKEN, SpendCaps::total(U256::from(1)), 0)),
            GrantError::ZeroStartTime
        );
        assert_eq!(
            with_policy(Policy::new().native_limit_from(NativeCaps::default(), start)),
            GrantError::NoCap { cap: CapOf::Native }
        );
        assert_eq!(
            with_policy(Policy::new().native_stream(Some(U256::ZERO), stream)),
            GrantError::ZeroCap { cap: CapOf::Native, field: "per_call" }
        );
        // A stream counts as one of the 16 tokens, and a token is limited once, whatever its shape.
        assert_eq!(
            with_policy(Policy::new().token_limit(TOKEN, SpendCaps::total(U256::from(1))).token_stream(TOKEN, stream)),
            GrantError::DuplicateToken { token: TOKEN }
        );
    }

    #[test]
    fn test_policy_calls_reconfigure_and_check_the_hook() {
        let kh = B256::repeat_byte(1);
        let calls = Policy::new().allow_any_call(TOKEN).native_unlimited().any_paymaster().calls(kh, HOOK).unwrap();
        assert_eq!(calls.len(), 3);
        let IPolicyHookCalls::setNativeLimits(n) = IPolicyHookCalls::abi_decode(&calls[1].data).unwrap() else {
            panic!()
        };
        assert!(n.enabled && n.perCall == 0 && n.limits.perPeriod.is_zero() && n.limits.lifetime.is_zero());
        let IPolicyHookCalls::setPaymasters(p) = IPolicyHookCalls::abi_decode(&calls[2].data).unwrap() else {
            panic!()
        };
        assert_eq!(p.paymasters, vec![ANY_TARGET]);
        assert!(matches!(Policy::new().calls(kh, Address::with_last_byte(1)), Err(GrantError::NotPolicyHook { .. })));
    }

    #[test]
    fn test_credential_round_trips_and_checks_its_key_hash() {
        let g = base().valid_after(10).policy(HOOK, Policy::new().allow_any_call(TOKEN)).build().unwrap();
        let c = g.credential(Address::repeat_byte(0xee), 31_337, crate::userop::ENTRY_POINT_V08);
        assert_eq!(
            (c.key_hash, c.hook, c.expiration, c.valid_after),
            (g.key_hash, Some(HOOK), Some(2_000_000_000), 10)
        );
        assert!(
            c.is_valid_at(10) && c.is_valid_at(2_000_000_000) && !c.is_valid_at(9) && !c.is_valid_at(2_000_000_001)
        );
        let json = serde_json::to_string(&c).unwrap();
        assert!(json.contains("\"keyHash\"") && json.contains("\"chainId\":31337"), "{json}");
        assert_eq!(serde_json::from_str::<SessionCredential>(&json).unwrap(), c);
        assert_eq!(c.key(), key());
        let forged = json.replace(&format!("{:x}", g.key_hash), &format!("{:x}", B256::repeat_byte(1)));
        let e = serde_json::from_str::<SessionCredential>(&forged).unwrap_err();
        assert!(e.to_string().contains("is not its key's"), "{e}");
        let never = Grant::builder(key()).never_expires().build().unwrap().credential(Address::ZERO, 1, Address::ZERO);
        assert_eq!(never.expiration, None);
        assert!(never.is_valid_at(u64::MAX));
        let e = GrantError::CredentialKeyHashMismatch { stated: B256::ZERO, computed: g.key_hash };
        assert!(e.to_string().contains("is not its key's"));
    }
}
