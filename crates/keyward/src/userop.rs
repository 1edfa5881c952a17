//! ERC-4337 v0.8 user operations: gas packing, the EIP-712 `userOpHash` exactly as EntryPoint v0.8 computes it,
//! the wrapped signature, and a builder for operations that call `executeUserOp`.

use std::sync::LazyLock;

use alloy::{
    primitives::{Address, B256, Bytes, U256, address, keccak256},
    sol_types::SolValue,
};

use crate::{
    Error,
    bindings::{Call, PackedUserOperation},
    eip712::typed_data_hash,
    encode,
};

/// The canonical EntryPoint v0.8.
pub const ENTRY_POINT_V08: Address = address!("0x4337084D9E255Ff0702461CF8895CE9E3b5Ff108");

/// `accountGasLimits`: `verificationGasLimit` in the high 128 bits, `callGasLimit` in the low 128.
pub fn pack_gas_limits(verification_gas_limit: u128, call_gas_limit: u128) -> B256 {
    pack_u128s(verification_gas_limit, call_gas_limit)
}

/// `gasFees`: `maxPriorityFeePerGas` in the high 128 bits, `maxFeePerGas` in the low 128.
pub fn pack_gas_fees(max_priority_fee_per_gas: u128, max_fee_per_gas: u128) -> B256 {
    pack_u128s(max_priority_fee_per_gas, max_fee_per_gas)
}

fn pack_u128s(high: u128, low: u128) -> B256 {
    B256::from((U256::from(high) << 128) | U256::from(low))
}

/// `paymasterAndData = paymaster ++ uint128(verificationGas) ++ uint128(postOpGas) ++ data`.
pub fn paymaster_and_data(paymaster: Address, verification_gas: u128, post_op_gas: u128, data: &[u8]) -> Bytes {
    [paymaster.as_slice(), &verification_gas.to_be_bytes(), &post_op_gas.to_be_bytes(), data].concat().into()
}

/// `userOp.signature` for Keyward: `abi.encode(bytes32 keyHash, bytes signature, bytes hookData)`.
pub fn wrap_signature(key_hash: B256, signature: Bytes, hook_data: Bytes) -> Bytes {
    (key_hash, signature, hook_data).abi_encode_params().into()
}

/// `userOp.signature` with the optional fourth head word, the gas window the operation is charged to:
/// `abi.encode(bytes32 keyHash, bytes signature, bytes hookData, uint256 window)`. Needed by keys whose settings
/// carry [`crate::settings::Flags::GAS_BUDGET`] when the account pays: the account charges the operation to that
/// window (a later one than the key last used starts afresh; an earlier one reverts `StaleGasWindow`) and narrows
/// the operation's validity to it. The window is not signed (it is part of the signature field).
pub fn wrap_signature_in_window(key_hash: B256, signature: Bytes, hook_data: Bytes, window: u64) -> Bytes {
    (key_hash, signature, hook_data, U256::from(window)).abi_encode_params().into()
}

/// The gas window containing unix time `now` for a budget period of `period_secs` seconds: `now / period`
/// (windows are aligned to multiples of the period since the Unix epoch). `None` for a budget without a period.
pub fn gas_window(now: u64, period_secs: u64) -> Option<u64> {
    now.checked_div(period_secs)
}

static DOMAIN_TYPEHASH: LazyLock<B256> =
    LazyLock::new(|| keccak256("EIP712Domain(string name,string version,uint256 chainId,address verifyingContract)"));
static NAME_HASH: LazyLock<B256> = LazyLock::new(|| keccak256("ERC4337"));
static VERSION_HASH: LazyLock<B256> = LazyLock::new(|| keccak256("1"));
static PACKED_USEROP_TYPEHASH: LazyLock<B256> = LazyLock::new(|| {
    keccak256(
        "PackedUserOperation(address sender,uint256 nonce,bytes initCode,bytes callData,bytes32 accountGasLimits,\
         uint256 preVerificationGas,bytes32 gasFees,bytes paymasterAndData)",
    )
});

/// The EIP-712 domain separator of EntryPoint v0.8 (`name "ERC4337"`, `version "1"`).
pub fn entry_point_domain_separator(entry_point: Address, chain_id: u64) -> B256 {
    keccak256((*DOMAIN_TYPEHASH, *NAME_HASH, *VERSION_HASH, U256::from(chain_id), entry_point).abi_encode())
}

/// `EntryPoint.getUserOpHash(op)` for v0.8. The signature is not hashed. `eip7702_delegate` is the sender's
/// delegate, needed only when `initCode` starts with the EIP-7702 marker `0x7702`.
pub fn user_op_hash(
    op: &PackedUserOperation,
    entry_point: Address,
    chain_id: u64,
    eip7702_delegate: Option<Address>,
) -> B256 {
    let init_code_hash = match eip7702_delegate {
        Some(delegate) if op.initCode.starts_with(&[0x77, 0x02]) => {
            let tail = if op.initCode.len() > 20 { &op.initCode[20..] } else { &[][..] };
            keccak256([delegate.as_slice(), tail].concat())
        }
        _ => keccak256(&op.initCode),
    };
    let struct_hash = keccak256(
        (
            *PACKED_USEROP_TYPEHASH,
            op.sender,
            op.nonce,
            init_code_hash,
            keccak256(&op.callData),
            op.accountGasLimits,
            op.preVerificationGas,
            op.gasFees,
            keccak256(&op.paymasterAndData),
        )
            .abi_encode(),
    );
    typed_data_hash(entry_point_domain_separator(entry_point, chain_id), struct_hash)
}

/// The preVerificationGas that pays a bundler back for what the EntryPoint cannot meter for `op` in a bundle of
/// one: the transaction's 21,000, the operation's call data (16 gas a nonzero byte, 4 a zero byte, of its ABI
/// encoding) and the EntryPoint's per-operation overhead (18,300 plus 4 a word), the reference bundler's
/// formula. The signature must have its final length (a stub of the right shape will do). Bundlers answer their
/// own figure in `eth_estimateUserOperationGas`; this is for the `handleOps` route.
pub fn pre_verification_gas(op: &PackedUserOperation) -> u64 {
    const FIXED: u64 = 21_000;
    const PER_USER_OP: u64 = 18_300;
    const PER_USER_OP_WORD: u64 = 4;
    let encoded = op.abi_encode();
    let data_cost: u64 = encoded.iter().map(|b| if *b == 0 { 4 } else { 16 }).sum();
    let words = u64::try_from(encoded.len().div_ceil(32)).unwrap_or(u64::MAX);
    data_cost + FIXED + PER_USER_OP + PER_USER_OP_WORD * words
}

/// Builds a user operation whose call data is `executeUserOp(BatchedCall)`. Nothing that costs money is filled
/// in: [`UserOpBuilder::build`] refuses an operation without gas limits ([`Error::MissingGasLimit`]) or with zero
/// fees ([`Error::ZeroFees`]) unless [`UserOpBuilder::zero_fees`] says so. `client::Account::prepare` fills both
/// from an estimate and an explicit fee source.
///
/// ```
/// use alloy::primitives::{Address, U256};
/// use keyward::{Error, encode, userop::UserOpBuilder};
///
/// let op = UserOpBuilder::new(Address::repeat_byte(1), U256::ZERO).call(encode::self_call(encode::revoke_all()));
/// assert!(matches!(op.clone().build(), Err(Error::MissingGasLimit { .. })));
/// let op = op.gas_limits(150_000, 80_000).pre_verification_gas(60_000);
/// assert!(matches!(op.clone().build(), Err(Error::ZeroFees)));
/// let priced = op.clone().fees(1_000_000_000, 3_000_000_000).build()?;
/// let free = op.zero_fees().build()?; // e.g. a local chain whose submitter sponsors
/// # Ok::<(), Error>(())
/// ```
#[derive(Clone, Debug)]
#[must_use]
pub struct UserOpBuilder {
    op: PackedUserOperation,
    calls: Vec<Call>,
    revert_on_failure: bool,
    limits: Option<(u128, u128)>,
    pre_verification_gas: Option<U256>,
    fees: Option<(u128, u128)>,
    zero_fees: bool,
}

impl UserOpBuilder {
    /// A user operation from `sender` with `nonce` (key in the high 192 bits, sequence in the low 64), no calls,
    /// and no gas limits or fees yet.
    pub fn new(sender: Address, nonce: U256) -> Self {
        Self {
            op: PackedUserOperation {
                sender,
                nonce,
                initCode: Bytes::new(),
                callData: Bytes::new(),
                accountGasLimits: B256::ZERO,
                preVerificationGas: U256::ZERO,
                gasFees: B256::ZERO,
                paymasterAndData: Bytes::new(),
                signature: Bytes::new(),
            },
            calls: Vec::new(),
            revert_on_failure: true,
            limits: None,
            pre_verification_gas: None,
            fees: None,
            zero_fees: false,
        }
    }

    /// Adds a call to the batch.
    pub fn call(mut self, call: Call) -> Self {
        self.calls.push(call);
        self
    }

    /// Adds calls to the batch.
    pub fn calls(mut self, calls: impl IntoIterator<Item = Call>) -> Self {
        self.calls.extend(calls);
        self
    }

    /// Whether a failing call reverts the batch (default) or is skipped.
    pub fn revert_on_failure(mut self, revert: bool) -> Self {
        self.revert_on_failure = revert;
        self
    }

    /// Gas limits for verification and for the call (both nonzero).
    pub fn gas_limits(mut self, verification: u128, call: u128) -> Self {
        self.limits = Some((verification, call));
        self
    }

    /// Pre-verification gas (0 is allowed, explicitly: the `handleOps` route on a chain whose submitter sponsors).
    pub fn pre_verification_gas(mut self, gas: u64) -> Self {
        self.pre_verification_gas = Some(U256::from(gas));
        self
    }

    /// Fee caps per gas (nonzero, priority fee at most the fee cap).
    pub fn fees(mut self, max_priority_fee_per_gas: u128, max_fee_per_gas: u128) -> Self {
        self.fees = Some((max_priority_fee_per_gas, max_fee_per_gas));
        self.zero_fees = false;
        self
    }

    /// Zero fees, explicitly: the submitter is not paid for the gas (a local chain, a test, a submitter that
    /// sponsors). A bundler refuses such an operation.
    pub fn zero_fees(mut self) -> Self {
        self.fees = None;
        self.zero_fees = true;
        self
    }

    /// A paymaster with its gas limits and data.
    pub fn paymaster(mut self, paymaster: Address, verification_gas: u128, post_op_gas: u128, data: &[u8]) -> Self {
        self.op.paymasterAndData = paymaster_and_data(paymaster, verification_gas, post_op_gas, data);
        self
    }

    /// `initCode` (a factory and its data, or the EIP-7702 marker `0x7702` padded to 20 bytes).
    pub fn init_code(mut self, init_code: Bytes) -> Self {
        self.op.initCode = init_code;
        self
    }

    /// The operation without a signature. Fails with [`Error::MissingGasLimit`] when a gas limit or the
    /// pre-verification gas was not set (or a limit is zero), [`Error::ZeroFees`] for zero fees without
    /// [`UserOpBuilder::zero_fees`], [`Error::FeesInverted`] when the priority fee is above the fee cap.
    pub fn build(self) -> Result<PackedUserOperation, Error> {
        let (verification, call) = self.limits.ok_or(Error::MissingGasLimit { field: "verificationGasLimit" })?;
        if verification == 0 {
            return Err(Error::MissingGasLimit { field: "verificationGasLimit" });
        }
        if call == 0 {
            return Err(Error::MissingGasLimit { field: "callGasLimit" });
        }
        if self.pre_verification_gas.is_none() {
            return Err(Error::MissingGasLimit { field: "preVerificationGas" });
        }
        if !self.zero_fees {
            let (priority, max) = self.fees.ok_or(Error::ZeroFees)?;
            if max == 0 {
                return Err(Error::ZeroFees);
            }
            check_fees(priority, max)?;
        }
        Ok(self.build_for_estimate())
    }

    /// The operation with the gas and fees set so far (zero where none): for `eth_estimateUserOperationGas`, which
    /// ignores gas and fee fields, or to look at its hash. Never send it: use [`UserOpBuilder::build`].
    pub fn build_for_estimate(mut self) -> PackedUserOperation {
        let (verification, call) = self.limits.unwrap_or_default();
        self.op.accountGasLimits = pack_gas_limits(verification, call);
        self.op.preVerificationGas = self.pre_verification_gas.unwrap_or_default();
        let (priority, max) = self.fees.unwrap_or_default();
        self.op.gasFees = pack_gas_fees(priority, max);
        self.op.callData = encode::execute_user_op_call_data(&self.calls, self.revert_on_failure);
        self.op
    }
}

/// A priority fee above the fee cap is refused.
fn check_fees(max_priority_fee_per_gas: u128, max_fee_per_gas: u128) -> Result<(), Error> {
    if max_priority_fee_per_gas > max_fee_per_gas {
        return Err(Error::FeesInverted { max_fee_per_gas, max_priority_fee_per_gas });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloy::sol_types::SolCall;

    #[test]
    fn packing_puts_the_first_value_high() {
        let packed = pack_gas_limits(1, 2);
        assert_eq!(U256::from_be_bytes(packed.0), (U256::from(1) << 128) | U256::from(2));
        let pd = paymaster_and_data(Address::repeat_byte(0xaa), 3, 4, &[9]);
        assert_eq!(pd.len(), 20 + 16 + 16 + 1);
        assert_eq!(pd[35], 3);
        assert_eq!(pd[51], 4);
    }

    #[test]
    fn the_gas_window_is_a_fourth_head_word() {
        let three = wrap_signature(B256::repeat_byte(1), Bytes::from(vec![7; 65]), Bytes::new());
        let four = wrap_signature_in_window(B256::repeat_byte(1), Bytes::from(vec![7; 65]), Bytes::new(), 20_000);
        // The first offset is 0x60 with three head words and 0x80 with four: that is how the account tells them apart.
        assert_eq!(U256::from_be_slice(&three[32..64]), U256::from(0x60));
        assert_eq!(U256::from_be_slice(&four[32..64]), U256::from(0x80));
        assert_eq!(U256::from_be_slice(&four[96..128]), U256::from(20_000));
        let (kh, sig, hd) = <(B256, Bytes, Bytes)>::abi_decode_params(&four).unwrap();
        assert_eq!((kh, sig.len(), hd.len()), (B256::repeat_byte(1), 65, 0), "three-word decoders still read it");
        assert_eq!(gas_window(86_400 * 3 + 5, 86_400), Some(3));
        assert_eq!(gas_window(5, 0), None);
    }

    fn base() -> UserOpBuilder {
        UserOpBuilder::new(Address::repeat_byte(1), U256::from(7)).call(encode::self_call(encode::revoke_all()))
    }

    #[test]
    fn test_user_op_builder_encodes_execute_user_op() {
        let op = base().gas_limits(100, 200).pre_verification_gas(300).fees(1, 2).build().unwrap();
        assert_eq!(op.callData[..4], crate::bindings::IKeyward::executeUserOpCall::SELECTOR);
        assert_eq!(op.nonce, U256::from(7));
        assert_eq!(op.gasFees, pack_gas_fees(1, 2));
        assert_eq!(op.accountGasLimits, pack_gas_limits(100, 200));
        assert_eq!(op.preVerificationGas, U256::from(300));
    }

    #[test]
    fn test_user_op_builder_refuses_missing_gas() {
        let missing = |b: UserOpBuilder| match b.fees(1, 2).build() {
            Err(Error::MissingGasLimit { field }) => field,
            other => panic!("{other:?}"),
        };
        assert_eq!(missing(base()), "verificationGasLimit");
        assert_eq!(missing(base().gas_limits(0, 1).pre_verification_gas(1)), "verificationGasLimit");
        assert_eq!(missing(base().gas_limits(1, 0).pre_verification_gas(1)), "callGasLimit");
        assert_eq!(missing(base().gas_limits(1, 1)), "preVerificationGas");
        // Explicit zero pre-verification gas is a choice, not a default.
        assert!(base().gas_limits(1, 1).pre_verification_gas(0).fees(1, 2).build().is_ok());
    }

    #[test]
    fn test_user_op_builder_refuses_zero_fees_without_opt_in() {
        let gas = || base().gas_limits(1, 1).pre_verification_gas(1);
        assert!(matches!(gas().build(), Err(Error::ZeroFees)));
        assert!(matches!(gas().fees(0, 0).build(), Err(Error::ZeroFees)));
        assert!(matches!(gas().fees(1, 0).build(), Err(Error::ZeroFees)));
        // A zero tip under a nonzero cap is a real price.
        assert_eq!(gas().fees(0, 5).build().unwrap().gasFees, pack_gas_fees(0, 5));
        let free = gas().zero_fees().build().unwrap();
        assert_eq!(free.gasFees, B256::ZERO);
        // Setting fees after the opt-in withdraws it.
        assert!(matches!(gas().zero_fees().fees(0, 0).build(), Err(Error::ZeroFees)));
        match gas().fees(3, 2).build() {
            Err(Error::FeesInverted { max_fee_per_gas: 2, max_priority_fee_per_gas: 3 }) => {}
            other => panic!("{other:?}"),
        }
        // The estimate-only form takes whatever was set.
        assert_eq!(base().build_for_estimate().gasFees, B256::ZERO);
    }

    #[test]
    fn test_pre_verification_gas_counts_call_data_bytes() {
        let op = base().gas_limits(1, 1).pre_verification_gas(0).zero_fees().build().unwrap();
        let mut longer = op.clone();
        longer.signature = Bytes::from(vec![0xff; 65]);
        let mut zeros = op.clone();
        zeros.signature = Bytes::from(vec![0; 65]);
        let base_gas = pre_verification_gas(&op);
        assert!(base_gas > 21_000 + 18_300);
        // 65 nonzero bytes: 16 each, plus 3 words of padding and length at 4 a word; zeros at 4 each.
        assert!(pre_verification_gas(&longer) > pre_verification_gas(&zeros));
        assert!(pre_verification_gas(&longer) - base_gas >= 65 * 16);
    }
}
