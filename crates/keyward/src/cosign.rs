//! Co-signatures for the PolicyHook's step-up and consensus (`setCoSigners`, `setStepUp`): what a co-signer signs
//! and how the signatures travel in the hook data.
//!
//! A co-signer (the root, key hash 0, or a registered key of the account) signs [`digest`]: the account's EIP-712
//! digest (`hashTypedData`) of `CoSignature(bytes32 operation)`, where the operation is the ERC-4337 `userOpHash`
//! or the relayed batch's EIP-712 digest, with its raw signature (as on the relayed path). The hook reads them from
//! the hook data: ERC-4337 [`user_op_hook_data`], relayed [`relayed_hook_data`]. In a user operation,
//! [`crate::client::UserOpRequest::co_signed_by`] does all of this.

use alloy::{
    dyn_abi::Eip712Domain,
    primitives::{B256, Bytes, keccak256},
    sol_types::SolValue,
};

use crate::{
    Error,
    bindings::{SignedBatchedCall, policy::CoSignature},
    eip712,
    signer::KeySigner,
};

/// `keccak256("CoSignature(bytes32 operation)")`, the PolicyHook's `COSIGN_TYPEHASH`.
pub fn type_hash() -> B256 {
    keccak256("CoSignature(bytes32 operation)")
}

/// The EIP-712 struct hash of `CoSignature(operation)`.
pub fn struct_hash(operation: B256) -> B256 {
    keccak256((type_hash(), operation).abi_encode())
}

/// What a co-signer signs for `operation` under the account's `domain` (`Account::domain`): the PolicyHook's
/// `coSignDigest(account, operation)`.
pub fn digest(domain: &Eip712Domain, operation: B256) -> B256 {
    eip712::typed_data_hash(eip712::domain_separator(domain), struct_hash(operation))
}

/// `signer`'s co-signature of `operation` (its key hash and its raw signature of [`digest`]).
pub fn sign(signer: &dyn KeySigner, domain: &Eip712Domain, operation: B256) -> Result<CoSignature, Error> {
    Ok(CoSignature { keyHash: signer.key_hash(), signature: signer.sign_digest(digest(domain, operation))? })
}

/// The ERC-4337 hook data: `abi.encode(CoSignature[])`.
pub fn user_op_hook_data(signatures: &[CoSignature]) -> Bytes {
    signatures.to_vec().abi_encode().into()
}

/// The relayed hook data: `abi.encode(SignedBatchedCall, CoSignature[])`, the signed batch itself first.
pub fn relayed_hook_data(batch: &SignedBatchedCall, signatures: &[CoSignature]) -> Bytes {
    (batch.clone(), signatures.to_vec()).abi_encode_params().into()
}

#[cfg(test)]
mod tests {
    use alloy::primitives::{Address, U256};

    use super::*;

    #[test]
    fn test_user_op_hook_data_is_an_abi_encoded_array() {
        let sigs = vec![CoSignature { keyHash: B256::ZERO, signature: Bytes::from(vec![7u8; 65]) }];
        let data = user_op_hook_data(&sigs);
        // One dynamic value: an offset word (0x20), then the array's length.
        assert_eq!(U256::from_be_slice(&data[..32]), U256::from(32));
        assert_eq!(U256::from_be_slice(&data[32..64]), U256::from(1));
        assert_eq!(Vec::<CoSignature>::abi_decode(&data).unwrap(), sigs);
    }

    #[test]
    fn test_digest_depends_on_operation_and_account() {
        let d = eip712::account_domain(Address::repeat_byte(1), 31337, Address::repeat_byte(2));
        let e = eip712::account_domain(Address::repeat_byte(3), 31337, Address::repeat_byte(2));
        assert_ne!(digest(&d, B256::ZERO), digest(&d, B256::repeat_byte(1)));
        assert_ne!(digest(&d, B256::ZERO), digest(&e, B256::ZERO));
        assert_eq!(type_hash(), keccak256("CoSignature(bytes32 operation)"));
    }
}
