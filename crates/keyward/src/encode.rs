//! Call-data encoders for the account's management and execution functions.
//!
//! Management calls are made by the account to itself: wrap them in a [`Call`] to the account (or to
//! `Address::ZERO`, which means "self") and execute them as the root or an admin key.

use alloy::{
    primitives::{
        Address, B256, Bytes, U256,
        aliases::{U40, U96},
    },
    sol_types::{SolCall, SolValue},
};

use crate::{
    Error, Settings,
    bindings::{BatchedCall, Call, GasBudget, IKeyward, Key, SignedBatchedCall},
};

/// ERC-7821 mode: batch, revert on the first failing call.
pub const MODE_REVERT_ON_FAILURE: B256 = B256::new({
    let mut m = [0u8; 32];
    m[0] = 0x01;
    m
});

/// ERC-7821 mode: batch, skip failing calls.
pub const MODE_CONTINUE_ON_FAILURE: B256 = B256::new({
    let mut m = [0u8; 32];
    m[0] = 0x01;
    m[1] = 0x01;
    m
});

/// `register(Key)`: registers with empty settings (Calibur semantics).
pub fn register(key: &Key) -> Bytes {
    IKeyward::registerCall { key: key.clone() }.abi_encode().into()
}

/// `grant(Key, uint256)`: registers with settings in one step.
pub fn grant(key: &Key, settings: Settings) -> Bytes {
    IKeyward::grantCall { key: key.clone(), settings: settings.to_u256() }.abi_encode().into()
}

/// `update(bytes32, uint256)`.
pub fn update(key_hash: B256, settings: Settings) -> Bytes {
    IKeyward::updateCall { keyHash: key_hash, settings: settings.to_u256() }.abi_encode().into()
}

/// `revoke(bytes32)`.
pub fn revoke(key_hash: B256) -> Bytes {
    IKeyward::revokeCall { keyHash: key_hash }.abi_encode().into()
}

/// `revokeAll()`.
pub fn revoke_all() -> Bytes {
    IKeyward::revokeAllCall {}.abi_encode().into()
}

/// `pauseKey(bytes32)`: the key is refused on every path until [`resume_key`]; its settings and state are kept.
pub fn pause_key(key_hash: B256) -> Bytes {
    IKeyward::pauseKeyCall { keyHash: key_hash }.abi_encode().into()
}

/// `resumeKey(bytes32)`: resumes a key paused by [`pause_key`] (it stays refused while [`pause_all`] holds).
pub fn resume_key(key_hash: B256) -> Bytes {
    IKeyward::resumeKeyCall { keyHash: key_hash }.abi_encode().into()
}

/// `pauseAll()`: every non-root key (admin keys and keys granted later included) is refused until [`resume_all`].
pub fn pause_all() -> Bytes {
    IKeyward::pauseAllCall {}.abi_encode().into()
}

/// `resumeAll()`: ends [`pause_all`]; keys paused one by one stay paused.
pub fn resume_all() -> Bytes {
    IKeyward::resumeAllCall {}.abi_encode().into()
}

/// `updateEntryPoint(entryPoint)`; `Address::ZERO` disables ERC-4337.
pub fn update_entry_point(entry_point: Address) -> Bytes {
    IKeyward::updateEntryPointCall { entryPoint: entry_point }.abi_encode().into()
}

/// `invalidateNonce(newNonce)`: moves nonce lane `new_nonce >> 64` forward so that its next sequence is
/// `uint64(new_nonce)`, killing every signed batch with a lower sequence in that lane (at most 65,535 at once, and
/// only forward: the account reverts `InvalidNonce` / `ExcessiveInvalidation` otherwise). Build `new_nonce` with
/// [`crate::lanes::nonce`].
pub fn invalidate_nonce(new_nonce: U256) -> Bytes {
    IKeyward::invalidateNonceCall { newNonce: new_nonce }.abi_encode().into()
}

/// `updateSalt(prefix)`: a new high 96 bits of the account's EIP-712 salt, so every outstanding EIP-712 and
/// ERC-1271 signature of the account (signed batches included) stops verifying.
pub fn update_salt(prefix: U96) -> Bytes {
    IKeyward::updateSaltCall { prefix }.abi_encode().into()
}

/// ERC-7914 `approveNative(spender, amount)`: `spender` may move up to `amount` wei out of the account
/// (`U256::MAX`: unlimited) with `transferFromNative`. Admin only (a self-call).
pub fn approve_native(spender: Address, amount: U256) -> Bytes {
    IKeyward::approveNativeCall { spender, amount }.abi_encode().into()
}

/// ERC-7914 `approveNativeTransient(spender, amount)`: like [`approve_native`], for the current transaction only.
pub fn approve_native_transient(spender: Address, amount: U256) -> Bytes {
    IKeyward::approveNativeTransientCall { spender, amount }.abi_encode().into()
}

/// A gas budget: at most `per_period_wei` per window of `period_secs` seconds (windows aligned to multiples of the
/// period since the Unix epoch) and `lifetime_wei` in total; 0 means no cap in that dimension, and a budget with
/// both caps 0 allows nothing. Fails where the account would refuse it (a per-period cap without a period) or the
/// values do not fit the contract's fields (96-bit wei, 40-bit seconds).
pub fn gas_budget(per_period_wei: u128, period_secs: u64, lifetime_wei: u128) -> Result<GasBudget, Error> {
    let wei = |v: u128, what| U96::try_from(v).map_err(|_| Error::InvalidGasBudget(what));
    let budget = GasBudget {
        perPeriod: wei(per_period_wei, "the per-period cap does not fit in 96 bits")?,
        period: U40::try_from(period_secs)
            .map_err(|_| Error::InvalidGasBudget("the period does not fit in 40 bits"))?,
        lifetime: wei(lifetime_wei, "the lifetime cap does not fit in 96 bits")?,
    };
    if per_period_wei != 0 && period_secs == 0 {
        return Err(Error::InvalidGasBudget("a per-period cap needs a period"));
    }
    Ok(budget)
}

/// `setGasBudget(keyHash, budget)`: what the account may pay in ERC-4337 gas for a key whose settings carry
/// [`crate::settings::Flags::GAS_BUDGET`]; spending restarts from zero. Build `budget` with [`gas_budget`].
pub fn set_gas_budget(key_hash: B256, budget: GasBudget) -> Bytes {
    IKeyward::setGasBudgetCall { keyHash: key_hash, budget }.abi_encode().into()
}

/// A call from the account to itself (target `address(0)` means self).
pub fn self_call(data: Bytes) -> Call {
    Call { to: Address::ZERO, value: U256::ZERO, data }
}

/// ERC-7821 `execute(mode, abi.encode(calls))`.
pub fn execute(calls: &[Call], revert_on_failure: bool) -> Bytes {
    let mode = if revert_on_failure { MODE_REVERT_ON_FAILURE } else { MODE_CONTINUE_ON_FAILURE };
    let execution_data: Bytes = calls.to_vec().abi_encode().into();
    IKeyward::execute_1Call { mode, executionData: execution_data }.abi_encode().into()
}

/// Calibur's `execute(BatchedCall)` (selector `0x99e1d016`): what Calibur clients send for a batch of the root
/// (the EOA's transaction to itself) or of a registered secp256k1 key (its own transaction). Same callers and
/// rules as ERC-7821 [`execute`].
pub fn execute_batch(calls: &[Call], revert_on_failure: bool) -> Bytes {
    let batch = BatchedCall { calls: calls.to_vec(), revertOnFailure: revert_on_failure };
    IKeyward::execute_0Call { batchedCall: batch }.abi_encode().into()
}

/// `executeUserOp.selector ++ abi.encode(BatchedCall)`: the call data of a user operation.
pub fn execute_user_op_call_data(calls: &[Call], revert_on_failure: bool) -> Bytes {
    let batch = BatchedCall { calls: calls.to_vec(), revertOnFailure: revert_on_failure };
    let mut out = IKeyward::executeUserOpCall::SELECTOR.to_vec();
    out.extend_from_slice(&batch.abi_encode());
    out.into()
}

/// `execute(SignedBatchedCall, abi.encode(signature, hookData))`: the relayed path.
pub fn execute_signed(batch: &SignedBatchedCall, signature: Bytes, hook_data: Bytes) -> Bytes {
    IKeyward::execute_2Call {
        signedBatchedCall: batch.clone(),
        wrappedSignature: (signature, hook_data).abi_encode_params().into(),
    }
    .abi_encode()
    .into()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{KeyExt, bindings::IKeyward::IKeywardCalls};
    use alloy::{primitives::address, sol_types::SolInterface};

    /// Calibur's selectors (`shared/reference/calibur.md` 3.2): a Calibur client works unchanged.
    #[test]
    fn selectors_match_calibur() {
        let want: [(&str, [u8; 4]); 19] = [
            ("execute(bytes32,bytes)", IKeyward::execute_1Call::SELECTOR),
            ("execute(SignedBatchedCall,bytes)", IKeyward::execute_2Call::SELECTOR),
            ("executeUserOp", IKeyward::executeUserOpCall::SELECTOR),
            ("validateUserOp", IKeyward::validateUserOpCall::SELECTOR),
            ("isValidSignature", IKeyward::isValidSignatureCall::SELECTOR),
            ("register", IKeyward::registerCall::SELECTOR),
            ("update", IKeyward::updateCall::SELECTOR),
            ("revoke", IKeyward::revokeCall::SELECTOR),
            ("updateEntryPoint", IKeyward::updateEntryPointCall::SELECTOR),
            ("execute(BatchedCall)", IKeyward::execute_0Call::SELECTOR),
            ("invalidateNonce", IKeyward::invalidateNonceCall::SELECTOR),
            ("updateSalt", IKeyward::updateSaltCall::SELECTOR),
            ("approveNative", IKeyward::approveNativeCall::SELECTOR),
            ("approveNativeTransient", IKeyward::approveNativeTransientCall::SELECTOR),
            ("transferFromNative", IKeyward::transferFromNativeCall::SELECTOR),
            ("transferFromNativeTransient", IKeyward::transferFromNativeTransientCall::SELECTOR),
            ("multicall", IKeyward::multicallCall::SELECTOR),
            ("getSeq", IKeyward::getSeqCall::SELECTOR),
            ("nonceSequenceNumber", IKeyward::nonceSequenceNumberCall::SELECTOR),
        ];
        let calibur: [[u8; 4]; 19] = [
            [0xe9, 0xae, 0x5c, 0x53],
            [0xc3, 0xc1, 0x6e, 0xe4],
            [0x8d, 0xd7, 0x71, 0x2f],
            [0x19, 0x82, 0x2f, 0x7c],
            [0x16, 0x26, 0xba, 0x7e],
            [0x30, 0xb1, 0xfa, 0x3b],
            [0xa5, 0x8b, 0xb8, 0x4a],
            [0xb7, 0x5c, 0x7d, 0xc6],
            [0x1b, 0x71, 0xbb, 0x6e],
            [0x99, 0xe1, 0xd0, 0x16],
            [0xb7, 0x0e, 0x36, 0xf0],
            [0x2a, 0xbb, 0xf4, 0x69],
            [0x23, 0xd5, 0x78, 0x86],
            [0x25, 0xe5, 0xc2, 0x43],
            [0x78, 0x9f, 0xf7, 0x01],
            [0x78, 0x69, 0x02, 0xf2],
            [0xac, 0x96, 0x50, 0xd8],
            alloy::primitives::keccak256("getSeq(uint256)")[..4].try_into().unwrap(),
            alloy::primitives::keccak256("nonceSequenceNumber(uint256)")[..4].try_into().unwrap(),
        ];
        for ((name, ours), theirs) in want.iter().zip(calibur) {
            assert_eq!(*ours, theirs, "{name}");
        }
    }

    #[test]
    fn encoders_decode_back_through_the_bindings() {
        let key = Key::secp256k1(address!("0x00000000000000000000000000000000000000aa"));
        let settings = Settings::builder().admin(true).expires_at(99).build().unwrap();
        let data = grant(&key, settings);
        match IKeywardCalls::abi_decode(&data).unwrap() {
            IKeywardCalls::grant(c) => {
                assert_eq!(c.key, key);
                assert_eq!(c.settings, settings.to_u256());
            }
            other => panic!("decoded as {other:?}"),
        }
        let calls = vec![self_call(revoke(key.hash())), self_call(revoke_all())];
        let data = execute(&calls, false);
        let IKeywardCalls::execute_1(c) = IKeywardCalls::abi_decode(&data).unwrap() else { panic!("not execute") };
        assert_eq!(c.mode, MODE_CONTINUE_ON_FAILURE);
        assert_eq!(<Vec<Call>>::abi_decode(&c.executionData).unwrap(), calls);
        let uo = execute_user_op_call_data(&calls, true);
        assert_eq!(uo[..4], IKeyward::executeUserOpCall::SELECTOR);
        assert_eq!(BatchedCall::abi_decode(&uo[4..]).unwrap().calls, calls);
        let batch = execute_batch(&calls, true);
        assert_eq!(batch[..4], [0x99, 0xe1, 0xd0, 0x16]);
        let IKeywardCalls::execute_0(c) = IKeywardCalls::abi_decode(&batch).unwrap() else { panic!("not a batch") };
        assert_eq!((c.batchedCall.calls, c.batchedCall.revertOnFailure), (calls, true));
        // The user operation's call data is the same BatchedCall encoding behind another selector.
        assert_eq!(uo[4..], batch[4..]);
    }

    #[test]
    fn account_settings_encoders_decode_back() {
        let spender = address!("0x00000000000000000000000000000000000000bb");
        let IKeywardCalls::approveNative(c) = IKeywardCalls::abi_decode(&approve_native(spender, U256::MAX)).unwrap()
        else {
            panic!("approveNative")
        };
        assert_eq!((c.spender, c.amount), (spender, U256::MAX));
        let IKeywardCalls::approveNativeTransient(c) =
            IKeywardCalls::abi_decode(&approve_native_transient(spender, U256::from(5))).unwrap()
        else {
            panic!("approveNativeTransient")
        };
        assert_eq!(c.amount, U256::from(5));
        let IKeywardCalls::invalidateNonce(c) =
            IKeywardCalls::abi_decode(&invalidate_nonce(U256::from(7) << 64 | U256::from(3))).unwrap()
        else {
            panic!("invalidateNonce")
        };
        assert_eq!(c.newNonce, U256::from(7) << 64 | U256::from(3));
        let IKeywardCalls::updateSalt(c) = IKeywardCalls::abi_decode(&update_salt(U96::from(9))).unwrap() else {
            panic!("updateSalt")
        };
        assert_eq!(c.prefix, U96::from(9));
        let budget = gas_budget(10u128.pow(16), 86_400, 0).unwrap();
        let IKeywardCalls::setGasBudget(c) =
            IKeywardCalls::abi_decode(&set_gas_budget(B256::repeat_byte(1), budget.clone())).unwrap()
        else {
            panic!("setGasBudget")
        };
        assert_eq!(c.budget, budget);
        assert_eq!(c.budget.period, U40::from(86_400));
    }

    #[test]
    fn gas_budgets_the_account_would_refuse_are_errors() {
        assert!(matches!(gas_budget(1, 0, 0), Err(Error::InvalidGasBudget(_))), "per period without a period");
        assert!(matches!(gas_budget(1 << 96, 60, 0), Err(Error::InvalidGasBudget(_))));
        assert!(matches!(gas_budget(0, 1 << 40, 0), Err(Error::InvalidGasBudget(_))));
        assert!(matches!(gas_budget(0, 0, 1 << 96), Err(Error::InvalidGasBudget(_))));
        assert!(gas_budget(0, 0, 1).is_ok(), "a lifetime cap alone");
        assert!(gas_budget(0, 0, 0).is_ok(), "allows nothing, but the account takes it");
    }
}
