//! EIP-712 digests the account checks signatures against: signed batches (relayed path) and ERC-1271 with
//! ERC-7739 (nested `PersonalSign` and `TypedDataSign`).

use alloy::{
    dyn_abi::Eip712Domain,
    primitives::{Address, B256, U256, keccak256},
    sol_types::{SolStruct, SolValue},
};

use crate::bindings::SignedBatchedCall;

/// The account's EIP-712 domain: name `Keyward`, version `1`, the chain, the account (the EOA) as verifying
/// contract, and the implementation's address as salt (re-delegating invalidates every outstanding signature).
pub fn account_domain(account: Address, chain_id: u64, implementation: Address) -> Eip712Domain {
    Eip712Domain::new(
        Some("Keyward".into()),
        Some("1".into()),
        Some(U256::from(chain_id)),
        Some(account),
        Some(implementation.into_word()),
    )
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
    batch.eip712_signing_hash(domain)
}

/// ERC-7739 nested `PersonalSign`: the digest a key signs so that `isValidSignature(hash, ...)` accepts it.
pub fn personal_sign_digest(hash: B256, domain: &Eip712Domain) -> B256 {
    let type_hash = keccak256("PersonalSign(bytes prefixed)");
    typed_data_hash(domain.separator(), keccak256((type_hash, hash).abi_encode()))
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
