//! Keys: constructors for each type and the Calibur-compatible key hash.

use alloy::{
    primitives::{Address, B256, U256, keccak256},
    sol_types::SolValue,
};

use crate::bindings::{Key, KeyType};

/// The root key's hash: the account's own EOA key.
pub const ROOT_KEY_HASH: B256 = B256::ZERO;

/// Constructors and the key hash for the generated [`Key`] type.
pub trait KeyExt: Sized {
    /// A secp256k1 key: `publicKey = abi.encode(address)`.
    fn secp256k1(signer: Address) -> Self;
    /// A P256 key: `publicKey = abi.encode(x, y)`.
    fn p256(x: U256, y: U256) -> Self;
    /// A `WebAuthn` P256 key: `publicKey = abi.encode(x, y)`.
    fn webauthn_p256(x: U256, y: U256) -> Self;
    /// `keccak256(abi.encode(keyType, keccak256(publicKey)))`, as the contract computes it.
    fn hash(&self) -> B256;
}

impl KeyExt for Key {
    fn secp256k1(signer: Address) -> Self {
        Self { keyType: KeyType::Secp256k1, publicKey: signer.abi_encode().into() }
    }

    fn p256(x: U256, y: U256) -> Self {
        Self { keyType: KeyType::P256, publicKey: (x, y).abi_encode_params().into() }
    }

    fn webauthn_p256(x: U256, y: U256) -> Self {
        Self { keyType: KeyType::WebAuthnP256, publicKey: (x, y).abi_encode_params().into() }
    }

    fn hash(&self) -> B256 {
        let mut buf = [0u8; 64];
        buf[31] = u8::from(self.keyType);
        buf[32..].copy_from_slice(keccak256(&self.publicKey).as_slice());
        keccak256(buf)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloy::primitives::{address, b256};

    #[test]
    fn secp256k1_encoding_and_hash() {
        let a = address!("0x06625BeDF38e5DDC773c9eDbF4ed6C05497E50B1");
        let k = Key::secp256k1(a);
        assert_eq!(k.publicKey.len(), 32);
        assert_eq!(&k.publicKey[12..], a.as_slice());
        // The key hash forge printed for this address in the gas test trace.
        assert_eq!(k.hash(), b256!("0x80b9be6ff49051eca0a9e2532bde9ceb67a892390800e4b09ee9c59b3dd0df5a"));
    }

    #[test]
    fn p256_and_webauthn_differ_by_type_only() {
        let p = Key::p256(U256::from(1), U256::from(2));
        let w = Key::webauthn_p256(U256::from(1), U256::from(2));
        assert_eq!(p.publicKey, w.publicKey);
        assert_eq!(p.publicKey.len(), 64);
        assert_ne!(p.hash(), w.hash());
    }
}
