//! Call data for configuring a key's policy on the PolicyHook. Each is a call from the account to the hook:
//! wrap it with [`to_hook`] and execute it as the root or an admin key, in the same batch as the grant.

use alloy::{
    primitives::{Address, B256, Bytes, U256, address},
    sol_types::SolCall,
};

use crate::bindings::{
    Call,
    policy::{Condition, ConditionOp, IPolicyHook, Limits, RuleState, SignatureMode},
};

/// Wildcard target.
pub const ANY_TARGET: Address = address!("0xffffffffffffffffffffffffffffffffffffffff");
/// Wildcard selector (never matches empty calldata).
pub const ANY_SELECTOR: [u8; 4] = [0xff; 4];
/// The selector of calls with less than 4 bytes of data (plain ETH transfers).
pub const EMPTY_CALLDATA: [u8; 4] = [0; 4];
/// The callback flags a PolicyHook address carries in its low 5 bits (SIGNATURE | BEFORE | AFTER_FAILURE).
pub const POLICY_HOOK_FLAGS: u8 = 0x16;

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

/// A condition on static argument `arg_index`: `op` against `value`.
pub fn condition(op: ConditionOp, arg_index: u16, value: B256) -> Condition {
    Condition { op, argIndex: arg_index, values: vec![value] }
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

/// `setUsageLimits(keyHash, maxCalls, maxPerPeriod, period)` (0 = no cap).
pub fn usage_limits(key_hash: B256, max_calls: u32, max_per_period: u32, period_secs: u64) -> Bytes {
    IPolicyHook::setUsageLimitsCall {
        keyHash: key_hash,
        maxCalls: max_calls,
        maxPerPeriod: max_per_period,
        period: alloy::primitives::aliases::U40::saturating_from(period_secs),
    }
    .abi_encode()
    .into()
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
    }
}
