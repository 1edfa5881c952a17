//! Call data for configuring a key's policy on the PolicyHook. Each is a call from the account to the hook:
//! wrap it with [`to_hook`] and execute it as the root or an admin key, in the same batch as the grant.
//!
//! Prefer [`crate::grant`]: its builder writes the whole batch (grant first, settings naming the hook) from named
//! caps and typed calls. These are the single calls it is made of, for reconfiguring a granted key.
//!
//! The hook refuses configuration for a key whose settings do not name it (`HookNotInSettings`): grant the key with
//! [`crate::SettingsBuilder::policy_hook`] first in the batch. Under ERC-4337 a PolicyHook key needs a paymaster
//! (optionally from [`paymasters`]) or the [`crate::Flags::GAS_BUDGET`] flag with a budget
//! ([`crate::encode::set_gas_budget`]): the hook refuses account-paid gas otherwise (`PaymasterRequired`).

use std::time::Duration;

use alloy::{
    primitives::{
        Address, B256, Bytes, U256, address,
        aliases::{U40, U96},
    },
    sol_types::SolCall,
};

use crate::{
    bindings::{
        Call, GasBudget,
        policy::{Condition, ConditionOp, IPolicyHook, Limits, RuleState, SignatureMode, Stream},
    },
    grant::{CapOf, GrantError},
};

pub use crate::hooks::POLICY_HOOK_FLAGS;

/// Wildcard target.
pub const ANY_TARGET: Address = address!("0xffffffffffffffffffffffffffffffffffffffff");
/// Wildcard selector (never matches empty calldata).
pub const ANY_SELECTOR: [u8; 4] = [0xff; 4];
/// The rule selector of calls without data (`data.length == 0`: plain ETH transfers). A call whose real selector
/// is `0x00000000` is not one: only an [`ANY_SELECTOR`] allow covers it.
pub const EMPTY_CALLDATA: [u8; 4] = [0; 4];
/// A condition's `argIndex` that compares the call's value instead of an argument.
pub const VALUE_ARG: u16 = 0xffff;
/// Uniswap's Permit2: its `approve` and `transferFrom` must name a limited token (or [`ERC20_ETH`]).
pub const PERMIT2: Address = address!("0x000000000022D473030F116dDEE9F6B43aC78BA3");
/// Uniswap's ERC20ETH (native ETH through ERC-7914): calls to it count against the native caps.
pub const ERC20_ETH: Address = address!("0x00000000e20E49e6dCeE6e8283A0C090578F0fb9");
/// The most paymasters [`paymasters`] may list.
pub const MAX_PAYMASTERS: usize = 4;

/// A call from the account to the hook at `hook`.
pub fn to_hook(hook: Address, data: Bytes) -> Call {
    Call { to: hook, value: U256::ZERO, data }
}

/// `setCallRule(keyHash, target, selector, Allow)`.
pub fn allow(key_hash: B256, target: Address, selector: [u8; 4]) -> Bytes {
    rule(key_hash, target, selector, RuleState::Allow)
}

/// `setCallRule(keyHash, target, selector, Deny)`.
pub fn deny(key_hash: B256, target: Address, selector: [u8; 4]) -> Bytes {
    rule(key_hash, target, selector, RuleState::Deny)
}

/// `setCallRule(keyHash, target, selector, state)`.
pub fn rule(key_hash: B256, target: Address, selector: [u8; 4], state: RuleState) -> Bytes {
    IPolicyHook::setCallRuleCall { keyHash: key_hash, target, selector: selector.into(), state }.abi_encode().into()
}

/// A condition on static argument `arg_index` (32-byte words after the selector; [`VALUE_ARG`] for the call's
/// value) of width `bits` (160 for an address, 1 for a bool, 8..256 for a `uint<bits>`, 0 or 256 for a full word):
/// `op` against `value`. A word with bits set above `bits` is not a canonical encoding of the type and fails the
/// condition, so give addresses 160: a full-word comparison lets a dirty high word through a `NotEqual`.
pub fn condition(op: ConditionOp, arg_index: u16, bits: u16, value: B256) -> Condition {
    Condition { op, argIndex: arg_index, bits, values: vec![value] }
}

/// A condition on an address argument (`bits` 160): `op` (usually `Equal` or `NotEqual`) against `address`.
pub fn address_condition(op: ConditionOp, arg_index: u16, address: Address) -> Condition {
    condition(op, arg_index, 160, address.into_word())
}

/// A condition on a `uint256` argument: `op` against `value`.
pub fn uint_condition(op: ConditionOp, arg_index: u16, value: U256) -> Condition {
    condition(op, arg_index, 256, value.into())
}

/// A condition on the call's value (wei): `op` against `wei`.
pub fn value_condition(op: ConditionOp, wei: U256) -> Condition {
    condition(op, VALUE_ARG, 256, wei.into())
}

/// An `InSet` condition on an address argument: one of `addresses` (at most 8).
pub fn address_in_set(arg_index: u16, addresses: &[Address]) -> Condition {
    Condition {
        op: ConditionOp::InSet,
        argIndex: arg_index,
        bits: 160,
        values: addresses.iter().map(Address::into_word).collect(),
    }
}

/// `setConditions(keyHash, target, selector, conditions)`.
pub fn conditions(key_hash: B256, target: Address, selector: [u8; 4], conditions: Vec<Condition>) -> Bytes {
    IPolicyHook::setConditionsCall { keyHash: key_hash, target, selector: selector.into(), conditions }
        .abi_encode()
        .into()
}

/// Caps in one asset, by name (`None`: no cap in that dimension). On chain a cap of 0 means "no cap", so
/// `Some(0)` is refused rather than sent; amounts are base units (wei for native value and gas) and must fit the
/// contract's `uint96`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct SpendCaps {
    /// The most spent in one window of `period`.
    pub per_period: Option<U256>,
    /// The window of `per_period` (whole seconds, 1 to 2^40 - 1). Token and native windows start when the caps
    /// are set and follow each other; gas budget windows are aligned to multiples of the period since the Unix
    /// epoch.
    pub period: Option<Duration>,
    /// The most spent over the key's lifetime.
    pub lifetime: Option<U256>,
}

impl SpendCaps {
    /// At most `amount` per `period`.
    pub const fn periodic(amount: U256, period: Duration) -> Self {
        Self { per_period: Some(amount), period: Some(period), lifetime: None }
    }

    /// At most `amount` over the key's lifetime.
    pub const fn total(amount: U256) -> Self {
        Self { per_period: None, period: None, lifetime: Some(amount) }
    }

    /// Adds a lifetime cap.
    #[must_use]
    pub const fn with_lifetime(mut self, amount: U256) -> Self {
        self.lifetime = Some(amount);
        self
    }

    /// The ABI's `Limits`, checked.
    pub fn limits(&self, cap: CapOf) -> Result<Limits, GrantError> {
        let (per_period, period, lifetime) = check_caps(cap, self.per_period, self.period, self.lifetime)?;
        if per_period.is_zero() && lifetime.is_zero() {
            return Err(GrantError::NoCap { cap });
        }
        Ok(Limits { perPeriod: per_period, lifetime, period })
    }

    /// The account's `GasBudget` for these caps in wei, checked (a budget without any cap would pay nothing).
    pub fn gas_budget(&self) -> Result<GasBudget, GrantError> {
        let l = self.limits(CapOf::Gas)?;
        Ok(GasBudget { perPeriod: l.perPeriod, period: l.period, lifetime: l.lifetime })
    }
}

/// Native value caps, by name (`None`: no cap in that dimension; `Some(0)` is refused, as 0 means "no cap" on
/// chain). Wei; `per_call` fits `uint128`, the others `uint96`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct NativeCaps {
    /// The most one call may move.
    pub per_call: Option<U256>,
    /// The most per window of `period`.
    pub per_period: Option<U256>,
    /// The window of `per_period`.
    pub period: Option<Duration>,
    /// The most over the key's lifetime.
    pub lifetime: Option<U256>,
}

/// Call counts, by name (`None`: no cap; `Some(0)` is refused, as 0 means "no cap" on chain).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct UsageLimits {
    /// The most calls over the key's lifetime.
    pub max_calls: Option<u32>,
    /// The most calls per window of `period`.
    pub max_per_period: Option<u32>,
    /// The window of `max_per_period`.
    pub period: Option<Duration>,
    /// The most calls in one batch.
    pub max_per_batch: Option<u16>,
}

fn nonzero<T: PartialEq + Default>(cap: CapOf, field: &'static str, v: Option<T>) -> Result<Option<T>, GrantError> {
    match v {
        Some(x) if x == T::default() => Err(GrantError::ZeroCap { cap, field }),
        other => Ok(other),
    }
}

fn check_period(cap: CapOf, has_cap: bool, period: Option<Duration>) -> Result<U40, GrantError> {
    let Some(p) = period else {
        return if has_cap { Err(GrantError::PeriodRequired { cap }) } else { Ok(U40::ZERO) };
    };
    if p.subsec_nanos() != 0 {
        return Err(GrantError::NotWholeSeconds { what: "period", duration: p });
    }
    if p.is_zero() {
        return Err(GrantError::InvalidPeriod { cap, period: p, reason: "is zero" });
    }
    let secs = U40::try_from(p.as_secs()).map_err(|_| GrantError::InvalidPeriod {
        cap,
        period: p,
        reason: "does not fit in 40 bits",
    })?;
    if !has_cap {
        return Err(GrantError::PeriodWithoutCap { cap });
    }
    Ok(secs)
}

fn u96(cap: CapOf, field: &'static str, v: Option<U256>) -> Result<U96, GrantError> {
    let v = nonzero(cap, field, v)?.unwrap_or_default();
    let max = U256::from(U96::MAX);
    if v > max {
        return Err(GrantError::CapTooLarge { cap, field, value: v, max });
    }
    // Checked above: nothing is saturated.
    Ok(U96::saturating_from(v))
}

fn check_caps(
    cap: CapOf,
    per_period: Option<U256>,
    period: Option<Duration>,
    lifetime: Option<U256>,
) -> Result<(U96, U40, U96), GrantError> {
    let per = u96(cap, "per_period", per_period)?;
    let life = u96(cap, "lifetime", lifetime)?;
    let period = check_period(cap, per_period.is_some(), period)?;
    Ok((per, period, life))
}

fn check_token(token: Address) -> Result<(), GrantError> {
    let reason = if token == Address::ZERO {
        "the zero address"
    } else if token == ANY_TARGET {
        "the wildcard"
    } else if token == ERC20_ETH {
        "ERC20ETH counts as native value: use native_limit"
    } else {
        return Ok(());
    };
    Err(GrantError::InvalidToken { token, reason })
}

/// `setTokenLimit(keyHash, token, true, limits)`: `token`'s caps for the key, by name, checked (see
/// [`SpendCaps`]).
pub fn token_limit(key_hash: B256, token: Address, caps: &SpendCaps) -> Result<Bytes, GrantError> {
    check_token(token)?;
    let limits = caps.limits(CapOf::Token(token))?;
    Ok(IPolicyHook::setTokenLimitCall { keyHash: key_hash, token, enabled: true, limits }.abi_encode().into())
}

/// `setTokenLimit(keyHash, token, false, 0)`: `token` is no longer limited for the key (nor callable through
/// Permit2).
pub fn remove_token_limit(key_hash: B256, token: Address) -> Bytes {
    let limits = Limits { perPeriod: U96::ZERO, lifetime: U96::ZERO, period: U40::ZERO };
    IPolicyHook::setTokenLimitCall { keyHash: key_hash, token, enabled: false, limits }.abi_encode().into()
}

/// `setNativeLimits(keyHash, true, perCall, limits)`: native value the key may move, with caps by name, checked
/// (at least one cap; [`native_unlimited`] says "no cap" explicitly).
pub fn native_limits(key_hash: B256, caps: &NativeCaps) -> Result<Bytes, GrantError> {
    let (per_call, limits) = native_caps(caps)?;
    Ok(IPolicyHook::setNativeLimitsCall { keyHash: key_hash, enabled: true, perCall: per_call, limits }
        .abi_encode()
        .into())
}

fn native_caps(caps: &NativeCaps) -> Result<(u128, Limits), GrantError> {
    let cap = CapOf::Native;
    let per_call = native_per_call(caps.per_call)?;
    let (per, period, life) = check_caps(cap, caps.per_period, caps.period, caps.lifetime)?;
    if per_call == 0 && per.is_zero() && life.is_zero() {
        return Err(GrantError::NoCap { cap });
    }
    Ok((per_call, Limits { perPeriod: per, lifetime: life, period }))
}

/// `setNativeLimits(keyHash, true, 0, 0)`: native value without any cap.
pub fn native_unlimited(key_hash: B256) -> Bytes {
    let limits = Limits { perPeriod: U96::ZERO, lifetime: U96::ZERO, period: U40::ZERO };
    IPolicyHook::setNativeLimitsCall { keyHash: key_hash, enabled: true, perCall: 0, limits }.abi_encode().into()
}

/// `setNativeLimits(keyHash, false, 0, 0)`: no native value at all (the default).
pub fn native_disabled(key_hash: B256) -> Bytes {
    let limits = Limits { perPeriod: U96::ZERO, lifetime: U96::ZERO, period: U40::ZERO };
    IPolicyHook::setNativeLimitsCall { keyHash: key_hash, enabled: false, perCall: 0, limits }.abi_encode().into()
}

/// A streaming allowance (ERC-7715 `*-stream`), by name: `initial_amount` is released at the start, then
/// `amount_per_second` accrues every second, never more than `max_amount` in total (`None`: no maximum); spending
/// draws it down, and nothing may be spent before the start. Base units; each amount fits the contract's `uint96`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct StreamCaps {
    /// Released at the start (0: nothing until it accrues).
    pub initial_amount: U256,
    /// Released every second after the start.
    pub amount_per_second: U256,
    /// The most the stream ever releases (`None`: no maximum; `Some(0)` is refused, as 0 means "no maximum" on
    /// chain). At least `initial_amount`.
    pub max_amount: Option<U256>,
    /// The first second (unix seconds; `None`: the time the configuration runs). `Some(0)` is refused (0 means
    /// the configuration's time on chain; leave it `None` for that); a past time counts from then.
    pub start: Option<u64>,
}

impl StreamCaps {
    /// The ABI's `Stream`, checked.
    pub fn stream(&self, cap: CapOf) -> Result<Stream, GrantError> {
        let initial = u96(cap, "initial_amount", Some(self.initial_amount).filter(|v| !v.is_zero()))?;
        let rate = u96(cap, "amount_per_second", Some(self.amount_per_second).filter(|v| !v.is_zero()))?;
        let max = u96(cap, "max_amount", self.max_amount)?;
        if initial.is_zero() && rate.is_zero() {
            return Err(GrantError::EmptyStream { cap });
        }
        if !max.is_zero() && max < initial {
            return Err(GrantError::StreamMaxBelowInitial {
                cap,
                initial: self.initial_amount,
                max: self.max_amount.unwrap_or_default(),
            });
        }
        let start = match self.start {
            None => U40::ZERO,
            Some(t) => start_time(t)?,
        };
        Ok(Stream { initialAmount: initial, amountPerSecond: rate, maxAmount: max, startTime: start })
    }
}

/// A start time for anchored caps or a stream: not 0 (on chain, "the configuration's time"), within 40 bits.
pub fn start_time(unix_seconds: u64) -> Result<U40, GrantError> {
    if unix_seconds == 0 {
        return Err(GrantError::ZeroStartTime);
    }
    U40::try_from(unix_seconds).map_err(|_| GrantError::TimeOutOfRange { field: "startTime", value: unix_seconds })
}

/// `setTokenLimitFrom(keyHash, token, limits, startTime)`: `token`'s caps for the key, checked, starting at
/// `start` (unix seconds, not 0): periodic windows are whole periods from it, and nothing may be spent before it.
pub fn token_limit_from(key_hash: B256, token: Address, caps: &SpendCaps, start: u64) -> Result<Bytes, GrantError> {
    check_token(token)?;
    let limits = caps.limits(CapOf::Token(token))?;
    let start = start_time(start)?;
    Ok(IPolicyHook::setTokenLimitFromCall { keyHash: key_hash, token, limits, startTime: start }.abi_encode().into())
}

/// `setTokenStream(keyHash, token, stream)`: `token` limited by a stream, checked (see [`StreamCaps`]).
pub fn token_stream(key_hash: B256, token: Address, stream: &StreamCaps) -> Result<Bytes, GrantError> {
    check_token(token)?;
    let stream = stream.stream(CapOf::Token(token))?;
    Ok(IPolicyHook::setTokenStreamCall { keyHash: key_hash, token, stream }.abi_encode().into())
}

fn native_per_call(per_call: Option<U256>) -> Result<u128, GrantError> {
    let cap = CapOf::Native;
    let per_call = nonzero(cap, "per_call", per_call)?.unwrap_or_default();
    u128::try_from(per_call).map_err(|_| GrantError::CapTooLarge {
        cap,
        field: "per_call",
        value: per_call,
        max: U256::from(u128::MAX),
    })
}

/// `setNativeLimitsFrom(keyHash, true, perCall, limits, startTime)`: [`native_limits`] starting at `start` (unix
/// seconds, not 0): periodic windows are whole periods from it, and nothing may be spent before it.
pub fn native_limits_from(key_hash: B256, caps: &NativeCaps, start: u64) -> Result<Bytes, GrantError> {
    let (per_call, limits) = native_caps(caps)?;
    let start = start_time(start)?;
    Ok(IPolicyHook::setNativeLimitsFromCall {
        keyHash: key_hash,
        enabled: true,
        perCall: per_call,
        limits,
        startTime: start,
    }
    .abi_encode()
    .into())
}

/// `setNativeStream(keyHash, perCall, stream)`: native value under a stream, checked (see [`StreamCaps`]), with a
/// per-call cap beside it (`None`: none).
pub fn native_stream(key_hash: B256, per_call: Option<U256>, stream: &StreamCaps) -> Result<Bytes, GrantError> {
    let per_call = native_per_call(per_call)?;
    let stream = stream.stream(CapOf::Native)?;
    Ok(IPolicyHook::setNativeStreamCall { keyHash: key_hash, perCall: per_call, stream }.abi_encode().into())
}

/// `setUsageLimits(keyHash, maxCalls, maxPerPeriod, period, maxPerBatch)`: call counts by name, checked (see
/// [`UsageLimits`]).
pub fn usage_limits(key_hash: B256, limits: &UsageLimits) -> Result<Bytes, GrantError> {
    let cap = CapOf::Calls;
    let max_calls = nonzero(cap, "max_calls", limits.max_calls)?.unwrap_or_default();
    let max_per_period = nonzero(cap, "max_per_period", limits.max_per_period)?.unwrap_or_default();
    let max_per_batch = nonzero(cap, "max_per_batch", limits.max_per_batch)?.unwrap_or_default();
    let period = check_period(cap, limits.max_per_period.is_some(), limits.period)?;
    if max_calls == 0 && max_per_period == 0 && max_per_batch == 0 {
        return Err(GrantError::NoCap { cap });
    }
    Ok(IPolicyHook::setUsageLimitsCall {
        keyHash: key_hash,
        maxCalls: max_calls,
        maxPerPeriod: max_per_period,
        period,
        maxPerBatch: max_per_batch,
    }
    .abi_encode()
    .into())
}

/// `setPaymasters(keyHash, paymasters)`: the paymasters the key's ERC-4337 operations may use (at most
/// [`MAX_PAYMASTERS`]; empty: none, the default; [`ANY_TARGET`] in the list: any). An operation with another one is
/// refused (`PaymasterNotAllowed`).
pub fn paymasters(key_hash: B256, paymasters: Vec<Address>) -> Bytes {
    IPolicyHook::setPaymastersCall { keyHash: key_hash, paymasters }.abi_encode().into()
}

/// `setCoSigners(keyHash, signers, quorum, stepUpSigners)`: the key's designated co-signers (at most 8; 0 is the
/// root), how many distinct ones every operation needs (`quorum`) and how many one above a step-up threshold needs
/// (`step_up_signers`). The hook must be at a 0x1f address. Prefer [`crate::grant::Policy::co_signers`], which
/// checks the bounds.
pub fn co_signers(key_hash: B256, signers: Vec<B256>, quorum: u8, step_up_signers: u8) -> Bytes {
    IPolicyHook::setCoSignersCall { keyHash: key_hash, signers, quorum, stepUpSigners: step_up_signers }
        .abi_encode()
        .into()
}

/// `setStepUp(keyHash, asset, enabled, threshold)`: a call moving more than `threshold` of `asset` (zero: native)
/// needs the step-up co-signatures; `enabled` false removes it.
pub fn step_up(key_hash: B256, asset: Address, enabled: bool, threshold: U96) -> Bytes {
    IPolicyHook::setStepUpCall { keyHash: key_hash, asset, enabled, threshold }.abi_encode().into()
}

/// `setSignaturePolicy(keyHash, mode, domains)`.
pub fn signature_policy(key_hash: B256, mode: SignatureMode, domains: Vec<B256>) -> Bytes {
    IPolicyHook::setSignaturePolicyCall { keyHash: key_hash, mode, domains }.abi_encode().into()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::bindings::policy::IPolicyHook::IPolicyHookCalls;
    use alloy::sol_types::SolInterface;

    #[test]
    fn policy_calls_decode_back() {
        let kh = B256::repeat_byte(1);
        let token = Address::repeat_byte(2);
        let IPolicyHookCalls::setTokenLimit(c) = IPolicyHookCalls::abi_decode(
            &token_limit(kh, token, &SpendCaps::periodic(U256::from(100), Duration::from_hours(24))).unwrap(),
        )
        .unwrap() else {
            panic!("wrong call")
        };
        assert_eq!((c.keyHash, c.token, c.enabled), (kh, token, true));
        assert_eq!(c.limits.perPeriod.to::<u128>(), 100);
        assert_eq!(c.limits.period.to::<u64>(), 86_400);
        let IPolicyHookCalls::setCallRule(r) =
            IPolicyHookCalls::abi_decode(&allow(kh, ANY_TARGET, [0xa9, 0x05, 0x9c, 0xbb])).unwrap()
        else {
            panic!("wrong call")
        };
        assert_eq!(r.state, RuleState::Allow);
        assert_eq!(r.target, ANY_TARGET);
        let IPolicyHookCalls::setUsageLimits(u) = IPolicyHookCalls::abi_decode(
            &usage_limits(
                kh,
                &UsageLimits {
                    max_calls: Some(10),
                    max_per_period: Some(2),
                    period: Some(Duration::from_hours(1)),
                    max_per_batch: Some(3),
                },
            )
            .unwrap(),
        )
        .unwrap() else {
            panic!("wrong call")
        };
        assert_eq!((u.maxCalls, u.maxPerPeriod, u.period.to::<u64>(), u.maxPerBatch), (10, 2, 3600, 3));
        let IPolicyHookCalls::setPaymasters(p) = IPolicyHookCalls::abi_decode(&paymasters(kh, vec![token])).unwrap()
        else {
            panic!("wrong call")
        };
        assert_eq!(p.paymasters, [token]);
    }

    #[test]
    fn conditions_carry_their_width() {
        let c = address_condition(ConditionOp::NotEqual, 0, Address::repeat_byte(3));
        assert_eq!((c.bits, c.argIndex, c.values.len()), (160, 0, 1));
        let v = value_condition(ConditionOp::Less, U256::from(5));
        assert_eq!((v.argIndex, v.op), (VALUE_ARG, ConditionOp::Less));
        let set = address_in_set(1, &[Address::repeat_byte(1), Address::repeat_byte(2)]);
        assert_eq!((set.op, set.bits, set.values.len()), (ConditionOp::InSet, 160, 2));
    }
}
