//! Signers for the three key types. Each produces the raw signature format the contract verifies; the
//! [`KeySigner`] methods wrap it for every path (relayed batch, ERC-4337, ERC-1271 with ERC-7739).

use alloy::{
    dyn_abi::Eip712Domain,
    primitives::{B256, Bytes, U256},
    signers::{SignerSync, local::PrivateKeySigner},
    sol_types::SolValue,
};
use base64::{Engine, engine::general_purpose::URL_SAFE_NO_PAD};
use p256::ecdsa::{Signature as P256Signature, SigningKey, signature::hazmat::PrehashSigner};
use sha2::{Digest, Sha256};

use crate::{
    Error, KeyExt,
    bindings::{Key, KeyType, SignedBatchedCall},
    eip712,
};

/// A key that can sign for a Keyward account. `Send + Sync`, so futures holding one can move between threads.
pub trait KeySigner: Send + Sync {
    /// The public key, as registered on the account.
    fn key(&self) -> Key;

    /// The raw signature of `digest` in the key's own format.
    fn sign_digest(&self, digest: B256) -> Result<Bytes, Error>;

    /// The key hash the account knows this key by.
    fn key_hash(&self) -> B256 {
        self.key().hash()
    }

    /// A raw signature of this key's type and shape that the account refuses: gas estimation runs with it, so an
    /// operation is signed once, after its gas and fees are known (a WebAuthn authenticator or a hardware key asks
    /// its user once). The account verifies a refused signature at the same cost and still runs its hook (see
    /// `ERC4337Account._validateUserOp`), so the estimate holds. The default signs with a fixed, publicly known
    /// throwaway key of the same type; [`WebAuthnSigner`] keeps its own relying party and origin, so the assertion
    /// has the length the real one will have.
    fn stub_signature(&self) -> Result<Bytes, Error> {
        stub_signature(self.key().keyType)
    }

    /// `wrappedSignature` for `execute(SignedBatchedCall, wrappedSignature)`: `abi.encode(signature, hookData)`.
    fn sign_batch(&self, batch: &SignedBatchedCall, domain: &Eip712Domain, hook_data: Bytes) -> Result<Bytes, Error> {
        let signature = self.sign_digest(eip712::signed_batch_digest(batch, domain))?;
        Ok((signature, hook_data).abi_encode_params().into())
    }

    /// `userOp.signature`: `abi.encode(keyHash, signature, hookData)` over the EntryPoint's `userOpHash`.
    fn sign_user_op(&self, user_op_hash: B256, hook_data: Bytes) -> Result<Bytes, Error> {
        Ok(crate::userop::wrap_signature(self.key_hash(), self.sign_digest(user_op_hash)?, hook_data))
    }

    /// `userOp.signature` naming gas window `window` when given (keys with a gas budget):
    /// `abi.encode(keyHash, signature, hookData, window)`; without a window, [`KeySigner::sign_user_op`].
    fn sign_user_op_in_window(
        &self,
        user_op_hash: B256,
        hook_data: Bytes,
        window: Option<u64>,
    ) -> Result<Bytes, Error> {
        let signature = self.sign_digest(user_op_hash)?;
        Ok(match window {
            Some(w) => crate::userop::wrap_signature_in_window(self.key_hash(), signature, hook_data, w),
            None => crate::userop::wrap_signature(self.key_hash(), signature, hook_data),
        })
    }

    /// An ERC-1271 signature (nested ERC-7739 `PersonalSign`) of `hash` for `isValidSignature(hash, ...)`.
    fn sign_1271_personal(&self, hash: B256, domain: &Eip712Domain, hook_data: Bytes) -> Result<Bytes, Error> {
        let signature = self.sign_digest(eip712::personal_sign_digest(hash, domain))?;
        Ok((self.key_hash(), signature, hook_data).abi_encode_params().into())
    }

    /// An ERC-1271 signature (ERC-7739 `TypedDataSign`) of typed data `contents_hash` of an application whose
    /// domain separator is `app_separator`; `isValidSignature` is then asked about
    /// [`eip712::app_hash`]`(app_separator, contents_hash)`.
    fn sign_1271_typed(
        &self,
        app_separator: B256,
        contents_hash: B256,
        contents_descr: &str,
        domain: &Eip712Domain,
        hook_data: Bytes,
    ) -> Result<Bytes, Error> {
        let digest = eip712::typed_data_sign_digest(app_separator, contents_hash, contents_descr, domain)
            .ok_or(Error::InvalidContentsDescription)?;
        let inner = self.sign_digest(digest)?;
        let blob: Bytes = (inner, app_separator, contents_hash, contents_descr.to_owned()).abi_encode_params().into();
        Ok((self.key_hash(), blob, hook_data).abi_encode_params().into())
    }
}

/// The digest stub signatures sign (any fixed value: the account refuses the signature whatever it signs).
const STUB_DIGEST: B256 = B256::repeat_byte(0x5b);

/// A stub signature of `key_type` (see [`KeySigner::stub_signature`]).
pub fn stub_signature(key_type: KeyType) -> Result<Bytes, Error> {
    let secret = [0x5b; 32];
    match key_type {
        KeyType::P256 => P256KeySigner::from_bytes(&secret)?.sign_digest(STUB_DIGEST),
        KeyType::WebAuthnP256 => {
            WebAuthnSigner::new(P256KeySigner::from_bytes(&secret)?.0, "keyward.invalid").sign_digest(STUB_DIGEST)
        }
        _ => Secp256k1Signer(PrivateKeySigner::from_bytes(&B256::from(secret)).map_err(Error::signing)?)
            .sign_digest(STUB_DIGEST),
    }
}

/// A secp256k1 key (alloy's local signer). Signatures are 65 bytes `r ++ s ++ v` over the raw digest.
#[derive(Clone, Debug)]
pub struct Secp256k1Signer(pub PrivateKeySigner);

impl KeySigner for Secp256k1Signer {
    fn key(&self) -> Key {
        Key::secp256k1(self.0.address())
    }

    fn sign_digest(&self, digest: B256) -> Result<Bytes, Error> {
        let sig = self.0.sign_hash_sync(&digest).map_err(Error::signing)?;
        Ok(sig.as_bytes().to_vec().into())
    }
}

/// The root key: the account's own EOA key, known to the account by key hash 0 ([`crate::ROOT_KEY_HASH`]). It
/// signs relayed batches and user operations like a registered secp256k1 key, in the root's own nonce lanes.
#[derive(Clone, Debug)]
pub struct RootSigner(pub PrivateKeySigner);

impl KeySigner for RootSigner {
    fn key(&self) -> Key {
        Key::secp256k1(self.0.address())
    }

    fn sign_digest(&self, digest: B256) -> Result<Bytes, Error> {
        Secp256k1Signer(self.0.clone()).sign_digest(digest)
    }

    fn key_hash(&self) -> B256 {
        crate::ROOT_KEY_HASH
    }
}

/// A P256 key. Signs `sha256(digest)`; `s` is normalized to the lower half (the contract rejects high `s`).
#[derive(Clone, Debug)]
pub struct P256KeySigner(pub SigningKey);

impl P256KeySigner {
    /// From a 32-byte secret scalar.
    pub fn from_bytes(secret: &[u8; 32]) -> Result<Self, Error> {
        SigningKey::from_bytes(secret.into()).map(Self).map_err(Error::signing)
    }
}

fn public_xy(key: &SigningKey) -> (U256, U256) {
    let point = key.verifying_key().to_encoded_point(false);
    let x = U256::from_be_slice(point.x().expect("uncompressed point has x"));
    let y = U256::from_be_slice(point.y().expect("uncompressed point has y"));
    (x, y)
}

fn sign_p256_prehash(key: &SigningKey, message: &[u8; 32]) -> Result<(B256, B256), Error> {
    let sig: P256Signature = key.sign_prehash(message).map_err(Error::signing)?;
    let sig = sig.normalize_s().unwrap_or(sig);
    let bytes = sig.to_bytes();
    Ok((B256::from_slice(&bytes[..32]), B256::from_slice(&bytes[32..])))
}

impl KeySigner for P256KeySigner {
    fn key(&self) -> Key {
        let (x, y) = public_xy(&self.0);
        Key::p256(x, y)
    }

    fn sign_digest(&self, digest: B256) -> Result<Bytes, Error> {
        let message: [u8; 32] = Sha256::digest(digest.as_slice()).into();
        let (r, s) = sign_p256_prehash(&self.0, &message)?;
        Ok((r, s).abi_encode_params().into())
    }
}

/// A software WebAuthn authenticator over a P256 key: produces real assertions (authenticatorData with the
/// user-present and user-verified flags, clientDataJSON of type `webauthn.get` carrying the digest as challenge).
#[derive(Clone, Debug)]
pub struct WebAuthnSigner {
    /// The credential's private key.
    pub key: SigningKey,
    /// The relying party id hashed into authenticatorData.
    pub rp_id: String,
    /// The origin written into clientDataJSON.
    pub origin: String,
}

impl WebAuthnSigner {
    /// An authenticator for `rp_id`, with origin `https://{rp_id}`.
    pub fn new(key: SigningKey, rp_id: &str) -> Self {
        Self { key, rp_id: rp_id.to_owned(), origin: format!("https://{rp_id}") }
    }
}

impl KeySigner for WebAuthnSigner {
    fn key(&self) -> Key {
        let (x, y) = public_xy(&self.key);
        Key::webauthn_p256(x, y)
    }

    fn stub_signature(&self) -> Result<Bytes, Error> {
        let throwaway = P256KeySigner::from_bytes(&[0x5b; 32])?.0;
        Self { key: throwaway, rp_id: self.rp_id.clone(), origin: self.origin.clone() }.sign_digest(STUB_DIGEST)
    }

    fn sign_digest(&self, digest: B256) -> Result<Bytes, Error> {
        let mut authenticator_data = Sha256::digest(self.rp_id.as_bytes()).to_vec();
        authenticator_data.push(0x05); // user present | user verified
        authenticator_data.extend_from_slice(&1u32.to_be_bytes()); // signature counter
        let client_data_json = format!(
            r#"{{"type":"webauthn.get","challenge":"{}","origin":"{}","crossOrigin":false}}"#,
            URL_SAFE_NO_PAD.encode(digest),
            self.origin
        );
        let challenge_index = U256::from(client_data_json.find(r#""challenge""#).unwrap_or_default());
        let type_index = U256::from(client_data_json.find(r#""type""#).unwrap_or_default());
        let client_hash = Sha256::digest(client_data_json.as_bytes());
        let message: [u8; 32] = Sha256::digest([authenticator_data.as_slice(), &client_hash[..]].concat()).into();
        let (r, s) = sign_p256_prehash(&self.key, &message)?;
        let auth = (
            Bytes::from(authenticator_data),
            client_data_json,
            challenge_index,
            type_index,
            U256::from_be_bytes(r.0),
            U256::from_be_bytes(s.0),
        );
        // `abi.encode(WebAuthnAuth{...})`: one dynamic tuple, so an outer offset word.
        Ok((auth,).abi_encode_params().into())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use p256::ecdsa::{VerifyingKey, signature::hazmat::PrehashVerifier};

    fn p256_key() -> SigningKey {
        SigningKey::from_bytes(&[7u8; 32].into()).unwrap()
    }

    #[test]
    fn p256_signature_verifies_and_is_low_s() {
        let signer = P256KeySigner(p256_key());
        let digest = B256::repeat_byte(0x42);
        let sig = signer.sign_digest(digest).unwrap();
        assert_eq!(sig.len(), 64);
        let parsed = P256Signature::from_slice(&sig).unwrap();
        assert!(parsed.normalize_s().is_none(), "already low-s");
        let message: [u8; 32] = Sha256::digest(digest.as_slice()).into();
        VerifyingKey::from(&p256_key()).verify_prehash(&message, &parsed).unwrap();
    }

    #[test]
    fn secp256k1_signature_recovers_to_the_key() {
        let signer = Secp256k1Signer(PrivateKeySigner::random());
        let digest = B256::repeat_byte(0x11);
        let sig = signer.sign_digest(digest).unwrap();
        assert_eq!(sig.len(), 65);
        let parsed = alloy::primitives::Signature::try_from(sig.as_ref()).unwrap();
        assert_eq!(parsed.recover_address_from_prehash(&digest).unwrap(), signer.0.address());
    }

    #[test]
    fn test_stub_signature_has_the_real_signatures_shape() {
        let digest = B256::repeat_byte(0x21);
        let webauthn = WebAuthnSigner::new(p256_key(), "wallet.example.com");
        let signers: [&dyn KeySigner; 4] = [
            &Secp256k1Signer(PrivateKeySigner::random()),
            &RootSigner(PrivateKeySigner::random()),
            &P256KeySigner(p256_key()),
            &webauthn,
        ];
        for s in signers {
            let real = s.sign_digest(digest).unwrap();
            let stub = s.stub_signature().unwrap();
            assert_eq!(stub.len(), real.len(), "{:?}", s.key().keyType);
            assert_ne!(stub, real);
        }
        // A stub never verifies for the key: it is another key's signature.
        let key = Secp256k1Signer(PrivateKeySigner::random());
        let stub = alloy::primitives::Signature::try_from(key.stub_signature().unwrap().as_ref()).unwrap();
        assert_ne!(stub.recover_address_from_prehash(&STUB_DIGEST).unwrap(), key.0.address());
        // The WebAuthn stub keeps the signer's origin, so its clientDataJSON has the real length.
        let ((_, json, ..),) =
            <((Bytes, String, U256, U256, U256, U256),)>::abi_decode_params(&webauthn.stub_signature().unwrap())
                .unwrap();
        assert!(json.contains("https://wallet.example.com"));
    }

    #[test]
    fn webauthn_assertion_carries_the_challenge() {
        let signer = WebAuthnSigner::new(p256_key(), "keyward.test");
        let digest = B256::repeat_byte(0x33);
        let sig = signer.sign_digest(digest).unwrap();
        let ((ad, json, ci, ti, _, _),) =
            <((Bytes, String, U256, U256, U256, U256),)>::abi_decode_params(&sig).unwrap();
        assert_eq!(ad.len(), 37);
        assert_eq!(ad[32] & 1, 1);
        let ci: usize = ci.to();
        let ti: usize = ti.to();
        assert!(json[ti..].starts_with(r#""type":"webauthn.get""#));
        assert!(json[ci..].starts_with(&format!(r#""challenge":"{}""#, URL_SAFE_NO_PAD.encode(digest))));
    }
}
