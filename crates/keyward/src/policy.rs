//! Call data for configuring a key's policy on the PolicyHook. Each is a call from the account to the hook:
//! wrap it with [`to_hook`] and execute it as the root or an admin key, in the same batch as the grant.
//!
//! The hook refuses configuration for a key whose settings do not name it (`HookNotInSettings`): grant the key with
//! [`crate::SettingsBuilder::policy_hook`] first in the batch. Under ERC-4337 a PolicyHook key needs a paymaster
//! (optionally from [`paymasters`]) or the [`crate::Flags::GAS_BUDGET`] flag with a budget
//! ([`crate::encode::set_gas_budget`]): the hook refuses account-paid gas otherwise (`PaymasterRequired`).

use alloy::{
    primitives::{Address, B256, Bytes, U256, address},
    sol_types::SolCall,
};

use crate::bindings::{
    Call,
    policy::{Condition, ConditionOp, IPolicyHook, Limits, RuleState, SignatureMode},
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

/// `setTokenLimit(keyHash, token, true, limits)`: caps per `period` seconds and in total (0 = no cap).
pub fn token_limit(key_hash: B256, token: Address, per_period: u128, period_secs: u64, lifetime: u128) -> Bytes {
    let limits = Limits {
        perPeriod: alloy::primitives::aliases::U96::saturating_from(per_period),
        lifetime: alloy::primitives::aliases::U96::saturating_from(lifetime),
        period: alloy::primitives::aliases::U40::saturating_from(period_secs),
    };
    IPolicyHook::setTokenLimitCall { keyHash: key_hash, token, enabled: true, limits }.abi_encode().into()
}

/// `setNativeLimits(keyHash, true, perCall, limits)`.
pub fn native_limits(key_hash: B256, per_call: u128, per_period: u128, period_secs: u64, lifetime: u128) -> Bytes {
    let limits = Limits {
        perPeriod: alloy::primitives::aliases::U96::saturating_from(per_period),
        lifetime: alloy::primitives::aliases::U96::saturating_from(lifetime),
        period: alloy::primitives::aliases::U40::saturating_from(period_secs),
    };
    IPolicyHook::setNativeLimitsCall { keyHash: key_hash, enabled: true, perCall: per_call, limits }.abi_encode().into()
}

/// `setUsageLimits(keyHash, maxCalls, maxPerPeriod, period, maxPerBatch)`: call caps in the key's lifetime, per
/// `period_secs` window and per batch (0 = no cap in that dimension).
pub fn usage_limits(
    key_hash: B256,
    max_calls: u32,
    max_per_period: u32,
    period_secs: u64,
    max_per_batch: u16,
) -> Bytes {
    IPolicyHook::setUsageLimitsCall {
        keyHash: key_hash,
        maxCalls: max_calls,
        maxPerPeriod: max_per_period,
        period: alloy::primitives::aliases::U40::saturating_from(period_secs),
        maxPerBatch: max_per_batch,
    }
    .abi_encode()
    .into()
}

/// `setPaymasters(keyHash, paymasters)`: the paymasters the key's ERC-4337 operations may use (at most
/// [`MAX_PAYMASTERS`]; empty: any paymaster). An operation with another one is refused (`PaymasterNotAllowed`).
pub fn paymasters(key_hash: B256, paymasters: Vec<Address>) -> Bytes {
    IPolicyHook::setPaymastersCall { keyHash: key_hash, paymasters }.abi_encode().into()
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
        let IPolicyHookCalls::setTokenLimit(c) =
            IPolicyHookCalls::abi_decode(&token_limit(kh, token, 100, 86_400, 0)).unwrap()
        else {
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
        let IPolicyHookCalls::setUsageLimits(u) =
            IPolicyHookCalls::abi_decode(&usage_limits(kh, 10, 2, 3600, 3)).unwrap()
        else {
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
