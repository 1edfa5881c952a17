//! ERC-4337 v0.8 user operations: gas packing, the EIP-712 `userOpHash` exactly as EntryPoint v0.8 computes it,
//! the wrapped signature, and a builder for operations that call `executeUserOp`.

use std::sync::LazyLock;

use alloy::{
    primitives::{Address, B256, Bytes, U256, address, keccak256},
    sol_types::SolValue,
};

use crate::{
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

/// Builds a user operation whose call data is `executeUserOp(BatchedCall)`.
#[derive(Clone, Debug)]
#[must_use]
pub struct UserOpBuilder {
    op: PackedUserOperation,
    calls: Vec<Call>,
    revert_on_failure: bool,
}

impl UserOpBuilder {
    /// A user operation from `sender` with `nonce` (key in the high 192 bits, sequence in the low 64), no calls,
    /// zero gas fees and 1,000,000 gas for verification and for the call.
    pub fn new(sender: Address, nonce: U256) -> Self {
        Self {
            op: PackedUserOperation {
                sender,
                nonce,
                initCode: Bytes::new(),
                callData: Bytes::new(),
                accountGasLimits: pack_gas_limits(1_000_000, 1_000_000),
                preVerificationGas: U256::from(50_000),
                gasFees: B256::ZERO,
                paymasterAndData: Bytes::new(),
                signature: Bytes::new(),
            },
            calls: Vec::new(),
            revert_on_failure: true,
        }
    }

    /// Adds a call to the batch.
    pub fn call(mut self, call: Call) -> Self {
        self.calls.push(call);
        self
    }

    /// Whether a failing call reverts the batch (default) or is skipped.
    pub fn revert_on_failure(mut self, revert: bool) -> Self {
        self.revert_on_failure = revert;
        self
    }

    /// Gas limits for verification and for the call.
    pub fn gas_limits(mut self, verification: u128, call: u128) -> Self {
        self.op.accountGasLimits = pack_gas_limits(verification, call);
        self
    }

    /// Pre-verification gas.
    pub fn pre_verification_gas(mut self, gas: u64) -> Self {
        self.op.preVerificationGas = U256::from(gas);
        self
    }

    /// Fee caps per gas.
    pub fn fees(mut self, max_priority_fee_per_gas: u128, max_fee_per_gas: u128) -> Self {
        self.op.gasFees = pack_gas_fees(max_priority_fee_per_gas, max_fee_per_gas);
        self
    }

    /// A paymaster with its gas limits and data.
    pub fn paymaster(mut self, paymaster: Address, verification_gas: u128, post_op_gas: u128, data: &[u8]) -> Self {
        self.op.paymasterAndData = paymaster_and_data(paymaster, verification_gas, post_op_gas, data);
        self
    }

    /// The operation without a signature.
    pub fn build(mut self) -> PackedUserOperation {
        self.op.callData = encode::execute_user_op_call_data(&self.calls, self.revert_on_failure);
        self.op
    }
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

    #[test]
    fn builder_encodes_execute_user_op() {
        let op = UserOpBuilder::new(Address::repeat_byte(1), U256::from(7))
            .call(encode::self_call(encode::revoke_all()))
            .fees(1, 2)
            .build();
        assert_eq!(op.callData[..4], crate::bindings::IKeyward::executeUserOpCall::SELECTOR);
        assert_eq!(op.nonce, U256::from(7));
        assert_eq!(op.gasFees, pack_gas_fees(1, 2));
    }
}
