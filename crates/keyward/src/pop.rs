//! Proof of possession: before granting a key, the owner asks its holder to sign [`digest`]`(account, chain id,
//! key hash)` with it and checks the signature with [`verify`]. A key whose holder cannot sign (a typo in the
//! public key, someone else's address, a key meant for another account or chain) is refused before it is granted.
//!
//! The signature is the key type's raw format, as on the relayed path: secp256k1 65 bytes `r ++ s ++ v` (`v` is 27
//! or 28, or 0 or 1 as many wallets and KMS signers produce it), P256 `abi.encode(r, s)` over `sha256(digest)`, and
//! the WebAuthn assertion encoding of [`crate::signer::WebAuthnSigner`].

use alloy::{
    primitives::{Address, B256, Signature, U256, keccak256},
    sol_types::{SolValue, sol_data},
};
use base64::{Engine, engine::general_purpose::URL_SAFE_NO_PAD};
use p256::ecdsa::{Signature as P256Signature, VerifyingKey, signature::hazmat::PrehashVerifier};
use sha2::{Digest, Sha256};

use crate::{
    KeyExt,
    bindings::{Key, KeyType},
    signer::KeySigner,
};

/// `keccak256("KeywardKeyPossession(address account,uint256 chainId,bytes32 keyHash)")`.
pub fn typehash() -> B256 {
    keccak256("KeywardKeyPossession(address account,uint256 chainId,bytes32 keyHash)")
}

/// The digest a key signs to prove it is held: `keccak256(abi.encode(typehash, account, chainId, keyHash))`. It
/// names the account and the chain, so a proof made for one account or chain is refused for another.
pub fn digest(account: Address, chain_id: u64, key_hash: B256) -> B256 {
    keccak256((typehash(), account, U256::from(chain_id), key_hash).abi_encode())
}

/// Why a proof of possession was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PopError {
    /// The signature does not have the key type's shape.
    #[error("the proof of possession is not a {key_type} signature: {reason}")]
    Malformed {
        /// The key's type.
        key_type: &'static str,
        /// What is wrong with it.
        reason: String,
    },
    /// A well-formed signature, but not by this key over this account, chain and key hash.
    #[error("the proof of possession was not signed by key {key_hash} for account {account} on chain {chain_id}")]
    NotByKey {
        /// The key being granted.
        key_hash: B256,
        /// The account it is granted on.
        account: Address,
        /// The chain.
        chain_id: u64,
    },
    /// The key's public key cannot be read.
    #[error("the key's public key is invalid: {0}")]
    InvalidKey(String),
}

/// The key's signature proving possession, for `account` on `chain_id`.
pub fn sign(signer: &dyn KeySigner, account: Address, chain_id: u64) -> Result<alloy::primitives::Bytes, crate::Error> {
    signer.sign_digest(digest(account, chain_id, signer.key_hash()))
}

/// A 65-byte secp256k1 signature `r ++ s ++ v` with `v` in {27, 28} or {0, 1} (both are what clients produce),
/// returned with `v` as 27 or 28, the form every verifier accepts. Any other `v` or length is refused.
pub fn normalize_secp256k1(signature: &[u8]) -> Result<[u8; 65], PopError> {
    let malformed = |reason: String| PopError::Malformed { key_type: "secp256k1", reason };
    let mut out: [u8; 65] =
        signature.try_into().map_err(|_| malformed(format!("65 bytes expected, got {}", signature.len())))?;
    out[64] = match out[64] {
        0 | 27 => 27,
        1 | 28 => 28,
        v => return Err(malformed(format!("v is {v}: 27 or 28 (or 0 or 1) expected"))),
    };
    Ok(out)
}

/// Checks that `signature` is `key`'s signature of [`digest`]`(account, chain_id, key.hash())`.
pub fn verify(key: &Key, account: Address, chain_id: u64, signature: &[u8]) -> Result<(), PopError> {
    let key_hash = key.hash();
    let message = digest(account, chain_id, key_hash);
    let refused = PopError::NotByKey { key_hash, account, chain_id };
    let ok = match key.keyType {
        KeyType::Secp256k1 => {
            let expected =
                <Address as SolValue>::abi_decode(&key.publicKey).map_err(|e| PopError::InvalidKey(e.to_string()))?;
            let sig = normalize_secp256k1(signature)?;
            let sig = Signature::from_raw_array(&sig)
                .map_err(|e| PopError::Malformed { key_type: "secp256k1", reason: e.to_string() })?;
            sig.recover_address_from_prehash(&message).is_ok_and(|a| a == expected)
        }
        KeyType::P256 => {
            let vk = p256_key(key)?;
            let malformed = |reason: String| PopError::Malformed { key_type: "P256", reason };
            let (r, s) = <(B256, B256)>::abi_decode_params(signature).map_err(|e| malformed(e.to_string()))?;
            if signature.len() != 64 {
                return Err(malformed(format!("64 bytes expected, got {}", signature.len())));
            }
            let sig = P256Signature::from_scalars(r.0, s.0).map_err(|e| malformed(e.to_string()))?;
            let prehash: [u8; 32] = Sha256::digest(message.as_slice()).into();
            vk.verify_prehash(&prehash, &sig).is_ok()
        }
        KeyType::WebAuthnP256 => verify_webauthn(&p256_key(key)?, message, signature)?,
        KeyType::__Invalid => return Err(PopError::InvalidKey("unknown key type".into())),
    };
    if ok { Ok(()) } else { Err(refused) }
}

fn p256_key(key: &Key) -> Result<VerifyingKey, PopError> {
    let (x, y) = <(B256, B256)>::abi_decode_params(&key.publicKey).map_err(|e| PopError::InvalidKey(e.to_string()))?;
    let mut sec1 = [0u8; 65];
    sec1[0] = 4;
    sec1[1..33].copy_from_slice(x.as_slice());
    sec1[33..].copy_from_slice(y.as_slice());
    VerifyingKey::from_sec1_bytes(&sec1).map_err(|e| PopError::InvalidKey(e.to_string()))
}

type WebAuthnAuth = (
    sol_data::Bytes,
    sol_data::String,
    sol_data::Uint<256>,
    sol_data::Uint<256>,
    sol_data::Uint<256>,
    sol_data::Uint<256>,
);

/// A WebAuthn assertion over `message`: clientDataJSON of type `webauthn.get` whose challenge is the message, the
/// user-present flag, and a P256 signature over `sha256(authenticatorData ++ sha256(clientDataJSON))`.
fn verify_webauthn(vk: &VerifyingKey, message: B256, signature: &[u8]) -> Result<bool, PopError> {
    let malformed = |reason: String| PopError::Malformed { key_type: "WebAuthn", reason };
    let (auth_data, client_data_json, _challenge_index, _type_index, r, s) =
        <(WebAuthnAuth,) as alloy::sol_types::SolType>::abi_decode_params(signature)
            .map_err(|e| malformed(e.to_string()))?
            .0;
    if auth_data.len() < 37 {
        return Err(malformed(format!("authenticatorData is {} bytes, at least 37 expected", auth_data.len())));
    }
    let challenge = format!(r#""challenge":"{}""#, URL_SAFE_NO_PAD.encode(message));
    if !client_data_json.contains(r#""type":"webauthn.get""#) || !client_data_json.contains(&challenge) {
        return Ok(false);
    }
    if auth_data[32] & 0x01 == 0 {
        return Ok(false);
    }
    let client_hash = Sha256::digest(client_data_json.as_bytes());
    let prehash: [u8; 32] = Sha256::digest([auth_data.as_ref(), &client_hash[..]].concat()).into();
    let sig = P256Signature::from_scalars(r.to_be_bytes::<32>(), s.to_be_bytes::<32>())
        .map_err(|e| malformed(e.to_string()))?;
    Ok(vk.verify_prehash(&prehash, &sig).is_ok())
}

#[cfg(test)]
mod tests {
    use alloy::signers::local::PrivateKeySigner;

    use super::*;
    use crate::signer::{P256KeySigner, Secp256k1Signer, WebAuthnSigner};

    const ACCOUNT: Address = Address::repeat_byte(0xac);

    fn signers() -> Vec<Box<dyn KeySigner>> {
        vec![
            Box::new(Secp256k1Signer(PrivateKeySigner::from_bytes(&B256::repeat_byte(3)).unwrap())),
            Box::new(P256KeySigner::from_bytes(&[4; 32]).unwrap()),
            Box::new(WebAuthnSigner::new(P256KeySigner::from_bytes(&[5; 32]).unwrap().0, "keyward.local")),
        ]
    }

    #[test]
    fn test_pop_accepts_the_keys_own_proof_for_each_key_type() {
        for s in signers() {
            let proof = sign(s.as_ref(), ACCOUNT, 31_337).unwrap();
            assert_eq!(verify(&s.key(), ACCOUNT, 31_337, &proof), Ok(()), "{:?}", s.key().keyType);
        }
    }

    #[test]
    fn test_pop_refuses_another_account_another_chain_and_another_key() {
        let all = signers();
        for (i, s) in all.iter().enumerate() {
            let key = s.key();
            let refused = |account, chain_id| PopError::NotByKey { key_hash: key.hash(), account, chain_id };
            let proof = sign(s.as_ref(), ACCOUNT, 31_337).unwrap();
            // A proof made for this account on chain 31337, offered for another account or another chain.
            let other = Address::repeat_byte(0xbd);
            assert_eq!(verify(&key, other, 31_337, &proof), Err(refused(other, 31_337)));
            assert_eq!(verify(&key, ACCOUNT, 1, &proof), Err(refused(ACCOUNT, 1)));
            // Another key of the same type signing the same digest: not a proof for this key.
            let impostor: Box<dyn KeySigner> = match i {
                0 => Box::new(Secp256k1Signer(PrivateKeySigner::from_bytes(&B256::repeat_byte(9)).unwrap())),
                1 => Box::new(P256KeySigner::from_bytes(&[9; 32]).unwrap()),
                _ => Box::new(WebAuthnSigner::new(P256KeySigner::from_bytes(&[9; 32]).unwrap().0, "keyward.local")),
            };
            let forged = impostor.sign_digest(digest(ACCOUNT, 31_337, key.hash())).unwrap();
            assert_eq!(verify(&key, ACCOUNT, 31_337, &forged), Err(refused(ACCOUNT, 31_337)));
            // The key's signature of something else (its own proof for another key hash).
            let unrelated = s.sign_digest(digest(ACCOUNT, 31_337, B256::repeat_byte(1))).unwrap();
            assert_eq!(verify(&key, ACCOUNT, 31_337, &unrelated), Err(refused(ACCOUNT, 31_337)));
        }
    }

    #[test]
    fn test_pop_secp256k1_v_0_and_1_accepted_other_v_and_lengths_refused() {
        let s = Secp256k1Signer(PrivateKeySigner::from_bytes(&B256::repeat_byte(3)).unwrap());
        let key = s.key();
        let proof = sign(&s, ACCOUNT, 10).unwrap();
        assert!(matches!(proof[64], 27 | 28));
        let mut low = proof.to_vec();
        low[64] -= 27;
        assert_eq!(verify(&key, ACCOUNT, 10, &low), Ok(()), "v = {} accepted", low[64]);
        assert_eq!(normalize_secp256k1(&low).unwrap().as_slice(), proof.as_ref());
        // The other parity recovers another address: refused, not accepted by accident.
        let mut flipped = low.clone();
        flipped[64] ^= 1;
        assert!(matches!(verify(&key, ACCOUNT, 10, &flipped), Err(PopError::NotByKey { .. })));
        for v in [2u8, 26, 29, 35] {
            let mut bad = proof.to_vec();
            bad[64] = v;
            assert!(matches!(verify(&key, ACCOUNT, 10, &bad), Err(PopError::Malformed { .. })), "v = {v}");
        }
        assert!(matches!(verify(&key, ACCOUNT, 10, &proof[..64]), Err(PopError::Malformed { .. })));
        let p = P256KeySigner::from_bytes(&[4; 32]).unwrap();
        assert!(matches!(verify(&p.key(), ACCOUNT, 10, &[0u8; 63]), Err(PopError::Malformed { .. })));
        let w = WebAuthnSigner::new(p.0, "keyward.local");
        assert!(matches!(verify(&w.key(), ACCOUNT, 10, &[1u8; 40]), Err(PopError::Malformed { .. })));
    }

    #[test]
    fn test_pop_digest_binds_account_chain_and_key() {
        let d = digest(ACCOUNT, 1, B256::repeat_byte(2));
        assert_ne!(d, digest(Address::repeat_byte(1), 1, B256::repeat_byte(2)));
        assert_ne!(d, digest(ACCOUNT, 2, B256::repeat_byte(2)));
        assert_ne!(d, digest(ACCOUNT, 1, B256::repeat_byte(3)));
    }
}
