//! EIP-712 digests the account checks signatures against: signed batches (relayed path) and ERC-1271 with
//! ERC-7739 (nested `PersonalSign` and `TypedDataSign`).

use std::sync::LazyLock;

use alloy::{
    dyn_abi::Eip712Domain,
    primitives::{Address, B256, U256, aliases::U96, keccak256},
    sol_types::SolValue,
};

use crate::bindings::SignedBatchedCall;

static CALL_TYPEHASH: LazyLock<B256> = LazyLock::new(|| keccak256("Call(address to,uint256 value,bytes data)"));
static BATCHED_CALL_TYPEHASH: LazyLock<B256> = LazyLock::new(|| {
    keccak256("BatchedCall(Call[] calls,bool revertOnFailure)Call(address to,uint256 value,bytes data)")
});
static SIGNED_BATCHED_CALL_TYPEHASH: LazyLock<B256> = LazyLock::new(|| {
    keccak256(
        "SignedBatchedCall(BatchedCall batchedCall,uint256 nonce,bytes32 keyHash,address executor,uint256 deadline)\
         BatchedCall(Call[] calls,bool revertOnFailure)Call(address to,uint256 value,bytes data)",
    )
});

/// The account's EIP-712 domain: name `Keyward`, version `1`, the chain, the account (the EOA) as verifying
/// contract, and the implementation's address as salt (re-delegating invalidates every outstanding signature), as
/// long as the account never called `updateSalt`; see [`account_domain_with_salt_prefix`].
pub fn account_domain(account: Address, chain_id: u64, implementation: Address) -> Eip712Domain {
    account_domain_with_salt_prefix(account, chain_id, implementation, U96::ZERO)
}

/// The account's EIP-712 domain after `updateSalt(prefix)`: the salt is `prefix << 160 | implementation`, so a new
/// prefix invalidates every outstanding EIP-712 and ERC-1271 signature. (`Account::domain` reads it from the chain.)
pub fn account_domain_with_salt_prefix(
    account: Address,
    chain_id: u64,
    implementation: Address,
    prefix: U96,
) -> Eip712Domain {
    let salt = (U256::from(prefix) << 160) | U256::from_be_slice(implementation.as_slice());
    Eip712Domain::new(
        Some("Keyward".into()),
        Some("1".into()),
        Some(U256::from(chain_id)),
        Some(account),
        Some(B256::from(salt)),
    )
}

static DOMAIN_TYPEHASH: LazyLock<B256> = LazyLock::new(|| {
    keccak256("EIP712Domain(string name,string version,uint256 chainId,address verifyingContract,bytes32 salt)")
});

/// The domain separator, computed directly (one keccak over precomputed parts) when the domain has all five
/// fields, as the account's has; any other domain goes through alloy.
pub fn domain_separator(domain: &Eip712Domain) -> B256 {
    match (&domain.name, &domain.version, domain.chain_id, domain.verifying_contract, domain.salt) {
        (Some(name), Some(version), Some(chain_id), Some(verifying_contract), Some(salt)) => {
            let mut buf = [0u8; 192];
            buf[..32].copy_from_slice(DOMAIN_TYPEHASH.as_slice());
            buf[32..64].copy_from_slice(keccak256(name.as_bytes()).as_slice());
            buf[64..96].copy_from_slice(keccak256(version.as_bytes()).as_slice());
            buf[96..128].copy_from_slice(&chain_id.to_be_bytes::<32>());
            buf[140..160].copy_from_slice(verifying_contract.as_slice());
            buf[160..].copy_from_slice(salt.as_slice());
            keccak256(buf)
        }
        _ => domain.separator(),
    }
}

/// `keccak256("\x19\x01" ++ separator ++ struct_hash)`.
pub fn typed_data_hash(separator: B256, struct_hash: B256) -> B256 {
    let mut buf = [0u8; 66];
    buf[0] = 0x19;
    buf[1] = 0x01;
    buf[2..34].copy_from_slice(separator.as_slice());
    buf[34..].copy_from_slice(struct_hash.as_slice());
    keccak256(buf)
}

/// The digest a key signs for `execute(SignedBatchedCall, wrappedSignature)`.
pub fn signed_batch_digest(batch: &SignedBatchedCall, domain: &Eip712Domain) -> B256 {
    typed_data_hash(domain_separator(domain), signed_batch_struct_hash(batch))
}

/// The EIP-712 struct hash of a signed batch (typehashes computed once per process). With a domain separator
/// computed once, `typed_data_hash(separator, signed_batch_struct_hash(batch))` is the digest.
pub fn signed_batch_struct_hash(batch: &SignedBatchedCall) -> B256 {
    let mut call_hashes = Vec::with_capacity(32 * batch.batchedCall.calls.len());
    for call in &batch.batchedCall.calls {
        let mut word = [0u8; 128];
        word[..32].copy_from_slice(CALL_TYPEHASH.as_slice());
        word[44..64].copy_from_slice(call.to.as_slice());
        word[64..96].copy_from_slice(&call.value.to_be_bytes::<32>());
        word[96..].copy_from_slice(keccak256(&call.data).as_slice());
        call_hashes.extend_from_slice(keccak256(word).as_slice());
    }
    let mut batched = [0u8; 96];
    batched[..32].copy_from_slice(BATCHED_CALL_TYPEHASH.as_slice());
    batched[32..64].copy_from_slice(keccak256(&call_hashes).as_slice());
    batched[95] = u8::from(batch.batchedCall.revertOnFailure);
    let mut signed = [0u8; 192];
    signed[..32].copy_from_slice(SIGNED_BATCHED_CALL_TYPEHASH.as_slice());
    signed[32..64].copy_from_slice(keccak256(batched).as_slice());
    signed[64..96].copy_from_slice(&batch.nonce.to_be_bytes::<32>());
    signed[96..128].copy_from_slice(batch.keyHash.as_slice());
    signed[140..160].copy_from_slice(batch.executor.as_slice());
    signed[160..].copy_from_slice(&batch.deadline.to_be_bytes::<32>());
    keccak256(signed)
}

/// ERC-7739 nested `PersonalSign`: the digest a key signs so that `isValidSignature(hash, ...)` accepts it.
pub fn personal_sign_digest(hash: B256, domain: &Eip712Domain) -> B256 {
    let type_hash = keccak256("PersonalSign(bytes prefixed)");
    typed_data_hash(domain_separator(domain), keccak256((type_hash, hash).abi_encode()))
}

/// ERC-7739 `TypedDataSign`: the digest a key signs for typed data `contents` of an application whose domain
/// separator is `app_separator`. `contents_descr` is the contents type (implicit mode, e.g. `Mail(address to)`),
/// or the type followed by its name (explicit mode). `None` when the description is malformed, exactly where the
/// contract rejects it.
pub fn typed_data_sign_digest(
    app_separator: B256,
    contents_hash: B256,
    contents_descr: &str,
    domain: &Eip712Domain,
) -> Option<B256> {
    let (name, contents_type) = split_contents_descr(contents_descr)?;
    let type_hash = keccak256(
        [
            b"TypedDataSign(".as_slice(),
            name.as_bytes(),
            b" contents,string name,string version,uint256 chainId,address verifyingContract,bytes32 salt)",
            contents_type.as_bytes(),
        ]
        .concat(),
    );
    let struct_hash = keccak256(
        (
            type_hash,
            contents_hash,
            keccak256(domain.name.as_deref().unwrap_or_default()),
            keccak256(domain.version.as_deref().unwrap_or_default()),
            domain.chain_id.unwrap_or_default(),
            domain.verifying_contract.unwrap_or_default(),
            domain.salt.unwrap_or_default(),
        )
            .abi_encode(),
    );
    Some(typed_data_hash(app_separator, struct_hash))
}

/// The hash an application asks `isValidSignature` about for `contents` under `app_separator`.
pub fn app_hash(app_separator: B256, contents_hash: B256) -> B256 {
    typed_data_hash(app_separator, contents_hash)
}

/// `(contentsName, contentsType)` of an ERC-7739 contents description, validated like the contract does.
fn split_contents_descr(descr: &str) -> Option<(&str, &str)> {
    let bytes = descr.as_bytes();
    let (name, contents_type) = if bytes.last() == Some(&b')') {
        let end = bytes.iter().position(|&c| c == b'(').unwrap_or(bytes.len());
        (&descr[..end], descr)
    } else {
        let start = bytes.iter().rposition(|&c| c == b')')? + 1;
        (&descr[start..], &descr[..start])
    };
    let valid = !name.is_empty()
        && !name.as_bytes()[0].is_ascii_lowercase()
        && !name.bytes().any(|c| matches!(c, b',' | b' ' | b')' | b'(' | 0));
    valid.then_some((name, contents_type))
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloy::sol_types::SolStruct;

    #[test]
    fn direct_separator_matches_alloy() {
        let d = account_domain(Address::repeat_byte(1), 31337, Address::repeat_byte(2));
        assert_eq!(domain_separator(&d), d.separator());
        let partial = Eip712Domain::new(Some("X".into()), None, None, None, None);
        assert_eq!(domain_separator(&partial), partial.separator());
    }

    #[test]
    fn manual_struct_hash_matches_alloys_eip712() {
        use crate::bindings::{BatchedCall, Call};
        let call = Call { to: Address::repeat_byte(3), value: U256::from(9), data: vec![1, 2, 3].into() };
        let batch = SignedBatchedCall {
            batchedCall: BatchedCall { calls: vec![call.clone(), call], revertOnFailure: true },
            nonce: U256::from(5),
            keyHash: B256::repeat_byte(7),
            executor: Address::repeat_byte(8),
            deadline: U256::from(10),
        };
        assert_eq!(signed_batch_struct_hash(&batch), batch.eip712_hash_struct());
    }

    #[test]
    fn contents_descr_modes() {
        assert_eq!(split_contents_descr("Mail(address to)"), Some(("Mail", "Mail(address to)")));
        assert_eq!(split_contents_descr("Mail(address to)Mail"), Some(("Mail", "Mail(address to)")));
        assert_eq!(split_contents_descr("(bad)"), None);
        assert_eq!(split_contents_descr("mail(address to)"), None);
        assert_eq!(split_contents_descr("Ma il(address to)"), None);
        assert_eq!(split_contents_descr("NoParens"), None);
        assert_eq!(split_contents_descr(""), None);
    }
}
