//! Refusals in words: the account's, the PolicyHook's and the EntryPoint's decoded errors as one line a person can
//! read, with amounts in ETH or token units and, when the key's policy is known, what is left and when it resets.
//! [`retry`] says when the same operation could pass again (used by [`crate::agent`]).
//!
//! ```
//! use alloy::primitives::{Address, U256};
//! use keyward::{
//!     Error,
//!     bindings::policy::IPolicyHook::{IPolicyHookErrors, SpendLimitExceeded},
//!     explain::{Context, sentence},
//!     units::Tokens,
//! };
//!
//! let e = Error::Policy(IPolicyHookErrors::SpendLimitExceeded(SpendLimitExceeded {
//!     asset: Address::ZERO,
//!     kind: 1,
//!     attempted: U256::from(4_000_000_000_000_000u64),
//!     limit: U256::from(3_000_000_000_000_000u64),
//! }));
//! let tokens = Tokens::new();
//! assert_eq!(
//!     sentence(&e, &Context::new(&tokens)),
//!     "spend limit exceeded: this period's spending would reach 0.004 ETH, over its 0.003 ETH limit"
//! );
//! ```
//! With the key's policy as read before the refused run ([`Context::with_policy`]) and the chain time, the
//! sentence says how much was attempted, what is left and when the window resets: "spend limit exceeded: 0.001
//! ETH attempted, 0 ETH left this period (resets in 23h59m)".

use std::time::Duration;

use alloy::{
    primitives::{Address, Bytes, FixedBytes, U256},
    sol_types::{Revert, SolError},
};
use serde::{Deserialize, Serialize};

use crate::{
    Error, Settings,
    bindings::{
        GasBudget, GasSpent,
        IKeyward::IKeywardErrors,
        policy::{IPolicyHook::IPolicyHookErrors, Policy, Spend},
    },
    policy::{ANY_SELECTOR, ANY_TARGET, EMPTY_CALLDATA},
    units::{Asset, Tokens, format_duration_short, format_eth},
};

static NO_TOKENS: Tokens = Tokens::new();

/// What is known around a refusal: token names and decimals, the chain time, the key's policy and gas budget as
/// read before the refused operation, its settings. Everything but the tokens is optional; each makes the
/// sentence (and [`retry`]) more precise.
#[derive(Clone, Copy, Debug)]
pub struct Context<'a> {
    tokens: &'a Tokens,
    now: Option<u64>,
    policy: Option<&'a Policy>,
    gas: Option<(&'a GasBudget, &'a GasSpent)>,
    settings: Option<Settings>,
}

impl Default for Context<'_> {
    fn default() -> Self {
        Self { tokens: &NO_TOKENS, now: None, policy: None, gas: None, settings: None }
    }
}

impl<'a> Context<'a> {
    /// Amounts named and scaled by `tokens`.
    pub fn new(tokens: &'a Tokens) -> Self {
        Self { tokens, ..Self::default() }
    }

    /// The chain time (unix seconds) of the refusal.
    #[must_use]
    pub fn at(mut self, now: u64) -> Self {
        self.now = Some(now);
        self
    }

    /// The key's PolicyHook policy, read before the refused operation (`client::Account::policy`).
    #[must_use]
    pub fn with_policy(mut self, policy: &'a Policy) -> Self {
        self.policy = Some(policy);
        self
    }

    /// The key's gas budget and what was charged, read before the refused operation.
    #[must_use]
    pub fn with_gas_budget(mut self, budget: &'a GasBudget, spent: &'a GasSpent) -> Self {
        self.gas = Some((budget, spent));
        self
    }

    /// The key's settings.
    #[must_use]
    pub fn with_settings(mut self, settings: Settings) -> Self {
        self.settings = Some(settings);
        self
    }

    fn amount(&self, asset: Address, value: U256) -> String {
        self.tokens.format(Asset::from_hook_address(asset), value)
    }

    fn target(&self, target: Address) -> String {
        if target == ANY_TARGET {
            return "any target".to_owned();
        }
        self.tokens.by_address(target).map_or_else(|| target.to_string(), |t| t.symbol.clone())
    }

    /// The asset's caps and spend in the policy: (per period, period, lifetime, spend).
    fn caps(&self, asset: Address) -> Option<(U256, u64, U256, &'a Spend)> {
        let p = self.policy?;
        if asset == Address::ZERO {
            let n = &p.native;
            return Some((
                U256::from(n.limits.perPeriod),
                n.limits.period.to(),
                U256::from(n.limits.lifetime),
                &n.spend,
            ));
        }
        p.tokens
            .iter()
            .find(|t| t.token == asset)
            .map(|t| (U256::from(t.limits.perPeriod), t.limits.period.to(), U256::from(t.limits.lifetime), &t.spend))
    }

    fn resets_in(&self, at: u64) -> String {
        self.now.map_or_else(String::new, |now| {
            format!(" (resets in {})", format_duration_short(Duration::from_secs(at.saturating_sub(now))))
        })
    }
}

/// The end of the window that holds `now`, for windows of `period` seconds following each other from `start`.
pub fn window_end(start: u64, period: u64, now: u64) -> u64 {
    if period == 0 {
        return u64::MAX;
    }
    let elapsed = now.saturating_sub(start);
    start.saturating_add((elapsed / period + 1).saturating_mul(period))
}

/// What was spent in the window holding `now` (0 when the stored window has rolled over).
fn in_window(spend: &Spend, period: u64, now: Option<u64>) -> U256 {
    let start: u64 = spend.windowStart.to();
    match now {
        Some(now) if period != 0 && now >= start.saturating_add(period) => U256::ZERO,
        _ => U256::from(spend.inWindow),
    }
}

/// A selector in words: `transfer` for the ERC-20 functions the hook counts, else its hex.
fn selector_name(selector: FixedBytes<4>) -> String {
    match selector.0 {
        EMPTY_CALLDATA => "a plain transfer".to_owned(),
        ANY_SELECTOR => "any call".to_owned(),
        [0xa9, 0x05, 0x9c, 0xbb] => "transfer".to_owned(),
        [0x23, 0xb8, 0x72, 0xdd] => "transferFrom".to_owned(),
        [0x09, 0x5e, 0xa7, 0xb3] => "approve".to_owned(),
        [0x39, 0x50, 0x93, 0x51] => "increaseAllowance".to_owned(),
        _ => format!("selector {selector}"),
    }
}

/// One line about `error` for a person, on either route: a revert the error carries (a bundler's answer with
/// revert data, a mined operation whose execution reverted) reads as the account's or the hook's refusal, an AA
/// code in words; anything else is the error and its sources on one line.
pub fn sentence(error: &Error, ctx: &Context<'_>) -> String {
    match error {
        Error::Policy(e) => policy_error(e, ctx),
        Error::Keyward(e) => account_error(e, ctx),
        Error::UserOpRejected(reason) => entry_point_reason(reason),
        Error::Reverted(data) => revert_data(data, ctx),
        other => match (other.revert(), other.aa_code()) {
            (Some(crate::failure::Revert::Account(e)), _) => account_error(&e, ctx),
            (Some(crate::failure::Revert::Policy(e)), _) => policy_error(&e, ctx),
            (_, Some(code)) => entry_point_reason(&format!("{code} {}", code.description())),
            (Some(crate::failure::Revert::Other(data)), None) => revert_data(&data, ctx),
            (None, None) => with_sources(other),
        },
    }
}

/// An error and its sources, on one line.
pub fn with_sources(error: &(dyn std::error::Error + 'static)) -> String {
    let mut line = error.to_string();
    let mut source = error.source();
    while let Some(s) = source {
        let text = s.to_string();
        if !line.ends_with(&text) {
            line.push_str(": ");
            line.push_str(&text);
        }
        source = s.source();
    }
    line
}

/// Revert data: one of the account's or the hook's errors, `Error(string)`, or raw data.
pub fn revert_data(data: &Bytes, ctx: &Context<'_>) -> String {
    if let Ok(e) = <IKeywardErrors as alloy::sol_types::SolInterface>::abi_decode(data) {
        return account_error(&e, ctx);
    }
    if let Ok(e) = <IPolicyHookErrors as alloy::sol_types::SolInterface>::abi_decode(data) {
        return policy_error(&e, ctx);
    }
    if let Ok(r) = Revert::abi_decode(data) {
        return format!("a call reverted: {}", r.reason);
    }
    if data.is_empty() { "a call reverted without a reason".to_owned() } else { format!("a call reverted with {data}") }
}

/// The PolicyHook's refusals.
pub fn policy_error(e: &IPolicyHookErrors, ctx: &Context<'_>) -> String {
    match e {
        IPolicyHookErrors::SpendLimitExceeded(s) => spend_limit(s.asset, s.kind, s.attempted, s.limit, ctx),
        IPolicyHookErrors::CallLimitExceeded(c) => call_limit(c.kind, c.limit, ctx),
        IPolicyHookErrors::CallNotAllowed(c) => {
            format!("call not allowed by the key's policy: {} on {}", selector_name(c.selector), ctx.target(c.target))
        }
        IPolicyHookErrors::CallDenied(c) => {
            format!("call denied by the key's policy: {} on {}", selector_name(c.selector), ctx.target(c.target))
        }
        IPolicyHookErrors::SelfCallDenied(c) => {
            format!("the key may never call its account or its hook ({})", c.target)
        }
        IPolicyHookErrors::ConditionFailed(c) => {
            let n = c.index.saturating_add(U256::from(1));
            format!("a condition of the key's policy failed (condition {n} of the matched rule)")
        }
        IPolicyHookErrors::NativeValueNotAllowed(_) => "the key's policy allows no ETH to be moved".to_owned(),
        IPolicyHookErrors::UncountedTokenCall(c) => format!(
            "the key may not make this call on {}: the policy cannot count what {} moves",
            ctx.target(c.token),
            selector_name(c.selector)
        ),
        IPolicyHookErrors::TooManyEntries(t) => {
            format!("the policy already holds the most entries of this kind ({})", t.max)
        }
        IPolicyHookErrors::InvalidConfiguration(_) => "the policy configuration is malformed".to_owned(),
        IPolicyHookErrors::HookNotInSettings(h) => format!(
            "the key's settings do not name the PolicyHook, so a policy would not apply to it (key {})",
            h.keyHash
        ),
        IPolicyHookErrors::WrongHookAddress(_) => "the PolicyHook sits at an address without its flags".to_owned(),
        IPolicyHookErrors::MalformedCalldata(_) => "the call's data is too short for its arguments".to_owned(),
        IPolicyHookErrors::PaymasterRequired(_) => {
            "the key's operations need a paymaster or a gas budget: the account pays no gas for it".to_owned()
        }
        IPolicyHookErrors::PaymasterNotAllowed(p) => {
            format!("paymaster {} is not one the key's policy lists", p.paymaster)
        }
        IPolicyHookErrors::AllowanceNotStarted(a) => format!(
            "the key's allowance in {} starts later (at unix time {})",
            if a.asset == Address::ZERO { "native value".to_owned() } else { ctx.target(a.asset) },
            a.startTime
        ),
        IPolicyHookErrors::FnSelectorNotRecognized(_) => "the PolicyHook has no such function".to_owned(),
        IPolicyHookErrors::CoSignaturesRequired(c) => format!(
            "the operation needs {} co-signature(s) by the key's designated co-signers, and carries {}",
            c.required, c.counted
        ),
        IPolicyHookErrors::CoSignerNotDesignated(c) => {
            format!("key {} is not a designated co-signer of this key", c.coSigner)
        }
        IPolicyHookErrors::InvalidCoSignature(c) => format!(
            "the co-signature of key {} does not verify over this operation (wrong operation, paused, revoked or \
             out of its window)",
            c.coSigner
        ),
        IPolicyHookErrors::CoSignedBatchMismatch(_) => {
            "the hook data does not carry the batch the key signed".to_owned()
        }
        IPolicyHookErrors::CoSignaturesUnavailable(_) => {
            "co-signatures need a PolicyHook whose address also enables afterVerifySignature (0x1f)".to_owned()
        }
    }
}

fn spend_limit(asset: Address, kind: u8, attempted: U256, limit: U256, ctx: &Context<'_>) -> String {
    let a = |v| ctx.amount(asset, v);
    match kind {
        0 => format!("spend limit exceeded: {} in one call, over the {} per-call limit", a(attempted), a(limit)),
        1 => match (ctx.caps(asset), ctx.now) {
            (Some((_, period, _, spend)), Some(now)) => {
                let used = in_window(spend, period, Some(now));
                let end = window_end(spend.windowStart.to(), period, now);
                format!(
                    "spend limit exceeded: {} attempted, {} left this period{}",
                    a(attempted.saturating_sub(used)),
                    a(limit.saturating_sub(used)),
                    ctx.resets_in(end)
                )
            }
            _ => format!(
                "spend limit exceeded: this period's spending would reach {}, over its {} limit",
                a(attempted),
                a(limit)
            ),
        },
        3 => format!(
            "spend limit exceeded: the stream has released {} so far, and spending would reach {}",
            a(limit),
            a(attempted)
        ),
        _ => match ctx.caps(asset) {
            Some((_, _, _, spend)) => {
                let total = U256::from(spend.total);
                format!(
                    "spend limit exceeded: {} attempted, {} left of the key's lifetime limit of {}",
                    a(attempted.saturating_sub(total)),
                    a(limit.saturating_sub(total)),
                    a(limit)
                )
            }
            None => format!(
                "spend limit exceeded: the key's total spending would reach {}, over its lifetime limit of {}",
                a(attempted),
                a(limit)
            ),
        },
    }
}

fn call_limit(kind: u8, limit: U256, ctx: &Context<'_>) -> String {
    match kind {
        1 => {
            let usage = ctx.policy.map(|p| &p.usage);
            let period = usage.map_or(0, |u| u.period.to::<u64>());
            let every = if period == 0 {
                String::new()
            } else {
                format!(" every {}", format_duration_short(Duration::from_secs(period)))
            };
            let resets = match (usage, ctx.now) {
                (Some(u), Some(now)) => ctx.resets_in(window_end(u.windowStart.to(), period, now)),
                _ => String::new(),
            };
            format!("call limit reached: {limit} calls{every}{resets}")
        }
        2 => format!("call limit reached: the key's {limit} calls are used up"),
        _ => format!("too many calls in one batch: the key may make at most {limit}"),
    }
}

/// The account's refusals.
pub fn account_error(e: &IKeywardErrors, ctx: &Context<'_>) -> String {
    use IKeywardErrors as E;
    match e {
        E::CallFailed(c) => {
            if c.reason.is_empty() {
                "a call in the batch failed without a reason".to_owned()
            } else {
                revert_data(&c.reason, ctx)
            }
        }
        E::GasBudgetExceeded(g) => gas_budget(g.kind, g.attempted, g.limit, ctx),
        E::KeyExpired(k) => {
            let at: u64 = k.expiration.to();
            match ctx.now {
                Some(now) => format!(
                    "the key expired {} ago (valid through {at})",
                    format_duration_short(Duration::from_secs(now.saturating_sub(at)))
                ),
                None => format!("the key expired (valid through {at})"),
            }
        }
        E::KeyNotYetValid(k) => {
            let at: u64 = k.validAfter.to();
            match ctx.now {
                Some(now) => format!(
                    "the key is not valid yet: it starts in {} (at {at})",
                    format_duration_short(Duration::from_secs(at.saturating_sub(now)))
                ),
                None => format!("the key is not valid yet: it starts at {at}"),
            }
        }
        E::KeyDoesNotExist(_) => "the key is not registered: revoked, or never granted".to_owned(),
        E::Unauthorized(_) => "the caller may not do this".to_owned(),
        E::NotEntryPoint(_) => "only the EntryPoint may call this".to_owned(),
        E::UnsupportedExecutionMode(_) => "the execution mode is not one of the two batch modes".to_owned(),
        E::CallOutOfGas(c) => format!("call {} of the batch ran out of gas, so the whole batch failed", c.index),
        E::InvalidSignature(_) => "the signature does not verify for the key".to_owned(),
        E::SignatureExpired(_) => "the signed batch's deadline has passed".to_owned(),
        E::WrongExecutor(_) => "the signed batch names another executor".to_owned(),
        E::Reentrancy(_) => "a relayed batch may not run inside another".to_owned(),
        E::CannotUpdateRootKey(_) => "the root key's settings are fixed".to_owned(),
        E::CannotRegisterRootKey(_) => "the account's own key cannot be registered".to_owned(),
        E::KeyAlreadyRegistered(k) => format!("key {} is already registered: revoke it first", k.keyHash),
        E::InvalidPublicKey(_) => "the public key is malformed for its key type".to_owned(),
        E::NonCanonicalSettings(_) => "the settings word has reserved bits set".to_owned(),
        E::HookWithoutCallbacks(h) => format!("hook {} enables no callback", h.hook),
        E::OnlyAdminCanSelfCall(_) => "only an admin key may make the account call itself".to_owned(),
        E::InvalidNonce(_) => "the nonce is not the next one in its lane".to_owned(),
        E::ExcessiveInvalidation(_) => "a nonce lane may move at most 65,535 ahead at once".to_owned(),
        E::NonceLaneReserved(_) => "the nonce lane is reserved for another key".to_owned(),
        E::InvalidHookResponse(_) => "the key's hook answered wrongly, so the account refused".to_owned(),
        E::InvalidUserOpCallData(_) => "a key's ERC-4337 operation must call executeUserOp".to_owned(),
        E::PaymasterRequired(_) => "the key's ERC-4337 operations must name a paymaster".to_owned(),
        E::InvalidGasBudget(_) => "a gas budget with a per-period cap needs a period".to_owned(),
        E::StaleGasWindow(w) => {
            format!("the operation names gas window {}, before the key's last ({})", w.window, w.current)
        }
        E::IndexOutOfBounds(_) => "no key at that index".to_owned(),
        E::TooManyKeys(_) => "the account holds the most keys it can".to_owned(),
        E::AllowanceExceeded(_) => "the native allowance is too small".to_owned(),
        E::IncorrectSender(_) => "the native transfer is not from this account".to_owned(),
        E::TransferNativeFailed(_) => "the native transfer failed".to_owned(),
        E::FnSelectorNotRecognized(_) => "the account has no such function".to_owned(),
        E::KeyIsPaused(k) => format!("key {} is paused by the account's owner (it may be resumed)", k.keyHash),
        E::OutsideSchedule(t) => format!("the key's weekly schedule does not cover unix time {}", t.timestamp),
        E::InvalidOccurrence(o) => {
            format!("the operation names {} as its schedule occurrence, which is not one", o.occurrence)
        }
        E::SelfRevocationNotLast(_) => "a key's revocation of itself must be the last call of its batch".to_owned(),
        E::InvalidPermissionContext(c) => {
            format!("permission context {} does not name this account and the calling key", c.index)
        }
        E::UnsupportedRedemptionMode(m) => format!("execution mode {} is not ERC-7579 single or batch", m.mode),
        E::MalformedExecution(m) => format!("execution {} is malformed for its mode", m.index),
        E::RedemptionLengthMismatch(_) => "contexts, modes and executions differ in number".to_owned(),
        #[allow(unreachable_patterns)] // errors added to the interface later read as their names
        other => format!("the account refused: {}", error_name(other)),
    }
}

fn error_name(e: &IKeywardErrors) -> String {
    format!("{e:?}").split(['(', ' ']).next().unwrap_or_default().to_owned()
}

fn gas_budget(kind: u8, attempted: U256, limit: U256, ctx: &Context<'_>) -> String {
    match (kind, ctx.gas) {
        (1, Some((budget, spent))) => {
            let period: u64 = budget.period.to();
            let now = ctx.now;
            // The account's windows are aligned to multiples of the period since the epoch.
            let current = now.map(|n| n.checked_div(period).unwrap_or(0));
            let in_window = if current.is_some_and(|c| c > spent.window.to::<u64>()) {
                U256::ZERO
            } else {
                U256::from(spent.inWindow)
            };
            let resets = current.map_or_else(String::new, |c| ctx.resets_in((c + 1).saturating_mul(period)));
            format!(
                "gas budget exceeded: this operation could cost up to {}, {} left this period{resets}",
                format_eth(attempted.saturating_sub(in_window)),
                format_eth(limit.saturating_sub(in_window))
            )
        }
        (1, None) => format!(
            "gas budget exceeded: this period's gas charges would reach {}, over its {} budget",
            format_eth(attempted),
            format_eth(limit)
        ),
        (_, Some((_, spent))) => {
            let total = U256::from(spent.total);
            format!(
                "gas budget exceeded: this operation could cost up to {}, {} left of the key's lifetime gas budget",
                format_eth(attempted.saturating_sub(total)),
                format_eth(limit.saturating_sub(total))
            )
        }
        (_, None) => format!(
            "gas budget exceeded: the key's gas charges would reach {}, over its lifetime budget of {}",
            format_eth(attempted),
            format_eth(limit)
        ),
    }
}

/// The EntryPoint's `FailedOp` reason (`AA22 expired or not due`) in words, with its code.
pub fn entry_point_reason(reason: &str) -> String {
    let code = reason.split_whitespace().find_map(|w| {
        let digits = w.strip_prefix("AA")?;
        (digits.len() == 2 && digits.bytes().all(|b| b.is_ascii_digit())).then(|| digits.parse::<u8>().ok())?
    });
    let words = match code {
        Some(21) => "the account cannot pay for the operation's gas",
        Some(22) => "the key is expired or not valid yet",
        Some(23) => "the account's validation reverted",
        Some(24) => "the signature was refused: a wrong or revoked key",
        Some(25) => "the nonce is not the next one",
        Some(26) => "the operation needs more verification gas",
        Some(31) => "the paymaster's deposit is too low",
        Some(32) => "the paymaster's signature is expired or not valid yet",
        Some(33) => "the paymaster refused the operation",
        Some(34) => "the paymaster's signature was refused",
        Some(_) | None => return format!("the EntryPoint refused the operation: {reason}"),
    };
    let code = code.unwrap_or_default();
    format!("{words} (AA{code})")
}

/// When the same operation could pass again.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", tag = "kind", content = "at")]
pub enum Retry {
    /// At this unix time (a window resets, the key becomes valid).
    At(u64),
    /// Not before something changes: another run (which may compute other calls), a new policy.
    NextRun,
    /// Never: a lifetime cap is used up, the key expired or is gone.
    Never,
}

/// When `error` could stop refusing: the period reset of the cap it hit (from the policy or gas budget in `ctx`),
/// the key's validAfter, never for a lifetime cap or an expired or unknown key; otherwise the next run.
pub fn retry(error: &Error, ctx: &Context<'_>) -> Retry {
    match error {
        Error::Policy(IPolicyHookErrors::SpendLimitExceeded(s)) => match s.kind {
            1 => match (ctx.caps(s.asset), ctx.now) {
                (Some((_, period, _, spend)), Some(now)) if period != 0 => {
                    Retry::At(window_end(spend.windowStart.to(), period, now))
                }
                _ => Retry::NextRun,
            },
            2 => Retry::Never,
            _ => Retry::NextRun,
        },
        Error::Policy(IPolicyHookErrors::AllowanceNotStarted(a)) => Retry::At(a.startTime.saturating_to()),
        Error::Policy(IPolicyHookErrors::CallLimitExceeded(c)) => match c.kind {
            1 => match (ctx.policy, ctx.now) {
                (Some(p), Some(now)) if p.usage.period.to::<u64>() != 0 => {
                    Retry::At(window_end(p.usage.windowStart.to(), p.usage.period.to(), now))
                }
                _ => Retry::NextRun,
            },
            2 => Retry::Never,
            _ => Retry::NextRun,
        },
        Error::Keyward(IKeywardErrors::GasBudgetExceeded(g)) => match (g.kind, ctx.gas, ctx.now) {
            (1, Some((budget, _)), Some(now)) if budget.period.to::<u64>() != 0 => {
                let period: u64 = budget.period.to();
                Retry::At((now / period + 1).saturating_mul(period))
            }
            (1, ..) => Retry::NextRun,
            _ => Retry::Never,
        },
        Error::Keyward(IKeywardErrors::KeyNotYetValid(k)) => Retry::At(k.validAfter.to()),
        Error::Keyward(IKeywardErrors::KeyExpired(_) | IKeywardErrors::KeyDoesNotExist(_)) => Retry::Never,
        Error::Keyward(IKeywardErrors::CallFailed(c)) if !c.reason.is_empty() => {
            match <IPolicyHookErrors as alloy::sol_types::SolInterface>::abi_decode(&c.reason) {
                Ok(inner) => retry(&Error::Policy(inner), ctx),
                Err(_) => match <IKeywardErrors as alloy::sol_types::SolInterface>::abi_decode(&c.reason) {
                    Ok(inner) => retry(&Error::Keyward(inner), ctx),
                    Err(_) => Retry::NextRun,
                },
            }
        }
        Error::Policy(_) | Error::Keyward(_) => Retry::NextRun,
        other => match (other.revert(), other.aa_code()) {
            (Some(crate::failure::Revert::Account(e)), _) => retry(&Error::Keyward(e), ctx),
            (Some(crate::failure::Revert::Policy(e)), _) => retry(&Error::Policy(e), ctx),
            (_, Some(crate::AaCode(22))) => match (ctx.settings, ctx.now) {
                (Some(s), Some(now)) if now < s.valid_after() => Retry::At(s.valid_after()),
                (Some(_), Some(_)) => Retry::Never,
                _ => Retry::NextRun,
            },
            // A wrong signature or an unknown (revoked) key: nothing changes by waiting.
            (_, Some(crate::AaCode(24))) => Retry::Never,
            _ => Retry::NextRun,
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::bindings::{
        IKeyward,
        policy::{IPolicyHook, Limits, NativePolicy, TokenPolicy, UsagePolicy},
    };
    use alloy::primitives::{
        B256,
        aliases::{U40, U96},
    };

    const ETH: u64 = 1_000_000_000_000_000; // 0.001 ETH in wei
    const T0: u64 = 1_800_000_000;

    fn spend_err(asset: Address, kind: u8, attempted: u64, limit: u64) -> Error {
        Error::Policy(IPolicyHookErrors::SpendLimitExceeded(IPolicyHook::SpendLimitExceeded {
            asset,
            kind,
            attempted: U256::from(attempted),
            limit: U256::from(limit),
        }))
    }

    fn policy(spent_in_window: u64, total: u64, window_start: u64) -> Policy {
        let limits =
            Limits { perPeriod: U96::from(3 * ETH), lifetime: U96::from(10 * ETH), period: U40::from(86_400u64) };
        let spend = Spend {
            inWindow: U96::from(spent_in_window),
            total: U96::from(total),
            windowStart: U40::from(window_start),
        };
        Policy {
            active: true,
            native: NativePolicy { enabled: true, perCall: 0, limits: limits.clone(), spend: spend.clone() },
            tokens: vec![TokenPolicy { token: Address::repeat_byte(0xaa), limits, spend }],
            usage: UsagePolicy {
                maxCalls: 10,
                used: 3,
                maxPerPeriod: 2,
                inWindow: 2,
                period: U40::from(3_600u64),
                windowStart: U40::from(T0),
                maxPerBatch: 1,
            },
            rules: Vec::new(),
            signatureMode: crate::bindings::policy::SignatureMode::Off,
            signatureDomains: Vec::new(),
            paymasters: Vec::new(),
        }
    }

    #[test]
    fn test_explain_spend_limits_in_units_with_what_is_left() {
        let tokens = Tokens::new().with("TT", Address::repeat_byte(0xaa), 6);
        let p = policy(2 * ETH, 2 * ETH, T0);
        let ctx = Context::new(&tokens).with_policy(&p).at(T0 + 3_600 * 21);
        // The agent's 0.002 ETH payment after 0.002 ETH today under a 0.003 ETH daily limit.
        assert_eq!(
            sentence(&spend_err(Address::ZERO, 1, 4 * ETH, 3 * ETH), &ctx),
            "spend limit exceeded: 0.002 ETH attempted, 0.001 ETH left this period (resets in 3h)"
        );
        assert_eq!(retry(&spend_err(Address::ZERO, 1, 4 * ETH, 3 * ETH), &ctx), Retry::At(T0 + 86_400));
        // A window that rolled over: nothing spent in it, the whole attempt counts.
        let later = Context::new(&tokens).with_policy(&p).at(T0 + 86_400 + 10);
        assert_eq!(
            sentence(&spend_err(Address::ZERO, 1, 4 * ETH, 3 * ETH), &later),
            "spend limit exceeded: 0.004 ETH attempted, 0.003 ETH left this period (resets in 23h59m)"
        );
        assert_eq!(retry(&spend_err(Address::ZERO, 1, 4 * ETH, 3 * ETH), &later), Retry::At(T0 + 2 * 86_400));
        // Tokens in their units.
        assert_eq!(
            sentence(&spend_err(Address::repeat_byte(0xaa), 2, 12 * ETH, 10 * ETH), &ctx),
            "spend limit exceeded: 10000000000 TT attempted, 8000000000 TT left of the key's lifetime limit of 10000000000 TT"
        );
        assert_eq!(retry(&spend_err(Address::ZERO, 2, 1, 1), &ctx), Retry::Never);
        assert_eq!(
            sentence(&spend_err(Address::ZERO, 0, 5 * ETH, ETH), &Context::new(&tokens)),
            "spend limit exceeded: 0.005 ETH in one call, over the 0.001 ETH per-call limit"
        );
        assert_eq!(retry(&spend_err(Address::ZERO, 0, 1, 1), &ctx), Retry::NextRun);
        // Without a policy: what would be reached, over what.
        assert_eq!(
            sentence(&spend_err(Address::ZERO, 2, 12 * ETH, 10 * ETH), &Context::default()),
            "spend limit exceeded: the key's total spending would reach 0.012 ETH, over its lifetime limit of 0.01 ETH"
        );
        assert_eq!(retry(&spend_err(Address::ZERO, 1, 1, 1), &Context::default()), Retry::NextRun);
        // Unknown token decimals: base units, said so.
        let unknown = spend_err(Address::repeat_byte(0xbb), 1, 7, 5);
        assert!(
            sentence(&unknown, &Context::default()).contains("7 0x"),
            "{}",
            sentence(&unknown, &Context::default())
        );
        assert!(sentence(&unknown, &Context::default()).contains("(base units)"));
    }

    #[test]
    fn test_explain_call_limits_and_rules() {
        let tokens = Tokens::new().with("TT", Address::repeat_byte(0xaa), 6);
        let p = policy(0, 0, T0);
        let ctx = Context::new(&tokens).with_policy(&p).at(T0 + 600);
        let calls = |kind| {
            Error::Policy(IPolicyHookErrors::CallLimitExceeded(IPolicyHook::CallLimitExceeded {
                kind,
                limit: U256::from(2),
            }))
        };
        assert_eq!(sentence(&calls(1), &ctx), "call limit reached: 2 calls every 1h (resets in 50m)");
        assert_eq!(retry(&calls(1), &ctx), Retry::At(T0 + 3_600));
        assert_eq!(sentence(&calls(2), &ctx), "call limit reached: the key's 2 calls are used up");
        assert_eq!(retry(&calls(2), &ctx), Retry::Never);
        assert_eq!(sentence(&calls(3), &ctx), "too many calls in one batch: the key may make at most 2");
        assert_eq!(retry(&calls(3), &ctx), Retry::NextRun);
        let not_allowed = Error::Policy(IPolicyHookErrors::CallNotAllowed(IPolicyHook::CallNotAllowed {
            target: Address::repeat_byte(0xaa),
            selector: FixedBytes([0xa9, 0x05, 0x9c, 0xbb]),
        }));
        assert_eq!(sentence(&not_allowed, &ctx), "call not allowed by the key's policy: transfer on TT");
        let plain = Error::Policy(IPolicyHookErrors::CallDenied(IPolicyHook::CallDenied {
            target: Address::repeat_byte(0x5e),
            selector: FixedBytes(EMPTY_CALLDATA),
        }));
        assert_eq!(
            sentence(&plain, &ctx),
            format!("call denied by the key's policy: a plain transfer on {}", Address::repeat_byte(0x5e))
        );
        assert_eq!(
            sentence(
                &Error::Policy(IPolicyHookErrors::NativeValueNotAllowed(IPolicyHook::NativeValueNotAllowed {})),
                &ctx
            ),
            "the key's policy allows no ETH to be moved"
        );
    }

    #[test]
    fn test_explain_account_and_entry_point_errors() {
        let ctx = Context::default().at(T0);
        let expired =
            Error::Keyward(IKeywardErrors::KeyExpired(IKeyward::KeyExpired { expiration: U40::from(T0 - 90) }));
        assert_eq!(sentence(&expired, &ctx), format!("the key expired 1m30s ago (valid through {})", T0 - 90));
        assert_eq!(retry(&expired, &ctx), Retry::Never);
        let early = Error::Keyward(IKeywardErrors::KeyNotYetValid(IKeyward::KeyNotYetValid {
            validAfter: U40::from(T0 + 7_200),
        }));
        assert_eq!(sentence(&early, &ctx), format!("the key is not valid yet: it starts in 2h (at {})", T0 + 7_200));
        assert_eq!(retry(&early, &ctx), Retry::At(T0 + 7_200));
        let gas = |kind| {
            Error::Keyward(IKeywardErrors::GasBudgetExceeded(IKeyward::GasBudgetExceeded {
                kind,
                attempted: U256::from(5 * ETH),
                limit: U256::from(4 * ETH),
            }))
        };
        let budget = GasBudget { perPeriod: U96::from(4 * ETH), period: U40::from(86_400u64), lifetime: U96::ZERO };
        let spent =
            GasSpent { window: U40::from(T0 / 86_400), inWindow: U96::from(3 * ETH), total: U96::from(3 * ETH) };
        let with_gas = Context::default().at(T0).with_gas_budget(&budget, &spent);
        let next_day = (T0 / 86_400 + 1) * 86_400;
        assert_eq!(
            sentence(&gas(1), &with_gas),
            format!(
                "gas budget exceeded: this operation could cost up to 0.002 ETH, 0.001 ETH left this period (resets in {})",
                format_duration_short(Duration::from_secs(next_day - T0))
            )
        );
        assert_eq!(retry(&gas(1), &with_gas), Retry::At(next_day));
        assert_eq!(retry(&gas(2), &with_gas), Retry::Never);
        assert!(sentence(&gas(2), &Context::default()).contains("lifetime budget of 0.004 ETH"));
        assert_eq!(
            sentence(&Error::UserOpRejected("AA22 expired or not due".into()), &ctx),
            "the key is expired or not valid yet (AA22)"
        );
        assert_eq!(
            sentence(&Error::UserOpRejected("AA99 whatever".into()), &ctx),
            "the EntryPoint refused the operation: AA99 whatever"
        );
        let settings = Settings::builder().valid_after(T0 + 60).build().unwrap();
        let aa22 = Error::UserOpRejected("AA22 expired or not due".into());
        assert_eq!(retry(&aa22, &ctx.with_settings(settings)), Retry::At(T0 + 60));
        assert_eq!(retry(&aa22, &Context::default().at(T0 + 61).with_settings(settings)), Retry::Never);
        // A policy refusal wrapped in CallFailed (a batch's inner revert) reads as the policy's.
        let inner =
            IPolicyHookErrors::CallLimitExceeded(IPolicyHook::CallLimitExceeded { kind: 2, limit: U256::from(1) });
        let wrapped = Error::Keyward(IKeywardErrors::CallFailed(IKeyward::CallFailed {
            reason: alloy::sol_types::SolInterface::abi_encode(&inner).into(),
        }));
        assert_eq!(sentence(&wrapped, &ctx), "call limit reached: the key's 1 calls are used up");
        assert_eq!(retry(&wrapped, &ctx), Retry::Never);
        let string = Error::Reverted(Revert::from("insufficient balance").abi_encode().into());
        assert_eq!(sentence(&string, &ctx), "a call reverted: insufficient balance");
        assert_eq!(
            sentence(
                &Error::Keyward(IKeywardErrors::KeyAlreadyRegistered(IKeyward::KeyAlreadyRegistered {
                    keyHash: B256::ZERO
                })),
                &ctx
            ),
            format!("key {} is already registered: revoke it first", B256::ZERO)
        );
    }

    #[test]
    fn test_window_end_edges() {
        assert_eq!(window_end(100, 10, 100), 110);
        assert_eq!(window_end(100, 10, 109), 110);
        assert_eq!(window_end(100, 10, 110), 120);
        assert_eq!(window_end(100, 0, 110), u64::MAX);
    }
}
