//! A session credential: everything an agent needs to act for an account with one session key, as one JSON
//! document the owner's side hands over (a secret store, an environment variable, a file readable by the agent
//! only). It holds the key's secret: treat it like a private key. Its `Debug` form leaves the secret out.
//!
//! ```
//! use alloy::primitives::Address;
//! use keyward::{KeySigner, P256KeySigner, Settings, agent::SessionCredential};
//!
//! let session = P256KeySigner::from_bytes(&[7; 32])?;
//! let settings = Settings::builder().expires_at(1_900_000_000).build()?;
//! let credential = SessionCredential::new(Address::repeat_byte(0xa1), 1, (&session).into(), settings)?;
//! let json = credential.to_json();
//! let back = SessionCredential::from_json(&json)?;
//! assert_eq!(back.signer()?.key_hash(), session.key_hash());
//! assert!(!format!("{back:?}").contains("privateKey"));
//! # Ok::<(), keyward::Error>(())
//! ```

use alloy::{
    primitives::{Address, B256},
    signers::local::PrivateKeySigner,
};
use serde::{Deserialize, Serialize};

use crate::{Error, KeySigner, P256KeySigner, Secp256k1Signer, Settings, WebAuthnSigner};

/// The version this crate writes and reads.
pub const CREDENTIAL_VERSION: u32 = 1;

/// A session key's secret, by key type.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "camelCase", rename_all_fields = "camelCase")]
pub enum SessionSecret {
    /// A secp256k1 key.
    Secp256k1 {
        /// The private key.
        private_key: B256,
    },
    /// A P256 key.
    P256 {
        /// The private scalar.
        private_key: B256,
    },
    /// A software WebAuthn credential over a P256 key.
    WebAuthnP256 {
        /// The private scalar.
        private_key: B256,
        /// The relying party id.
        rp_id: String,
        /// The origin written into clientDataJSON.
        origin: String,
    },
}

impl std::fmt::Debug for SessionSecret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let kind = match self {
            Self::Secp256k1 { .. } => "Secp256k1",
            Self::P256 { .. } => "P256",
            Self::WebAuthnP256 { .. } => "WebAuthnP256",
        };
        f.debug_struct(kind).finish_non_exhaustive()
    }
}

impl SessionSecret {
    /// The signer for this secret.
    pub fn signer(&self) -> Result<Box<dyn KeySigner>, Error> {
        Ok(match self {
            Self::Secp256k1 { private_key } => {
                Box::new(Secp256k1Signer(PrivateKeySigner::from_bytes(private_key).map_err(Error::signing)?))
            }
            Self::P256 { private_key } => Box::new(P256KeySigner::from_bytes(&private_key.0)?),
            Self::WebAuthnP256 { private_key, rp_id, origin } => Box::new(WebAuthnSigner {
                key: P256KeySigner::from_bytes(&private_key.0)?.0,
                rp_id: rp_id.clone(),
                origin: origin.clone(),
            }),
        })
    }
}

impl From<&Secp256k1Signer> for SessionSecret {
    fn from(s: &Secp256k1Signer) -> Self {
        Self::Secp256k1 { private_key: s.0.to_bytes() }
    }
}

impl From<&P256KeySigner> for SessionSecret {
    fn from(s: &P256KeySigner) -> Self {
        Self::P256 { private_key: B256::from_slice(&s.0.to_bytes()) }
    }
}

impl From<&WebAuthnSigner> for SessionSecret {
    fn from(s: &WebAuthnSigner) -> Self {
        Self::WebAuthnP256 {
            private_key: B256::from_slice(&s.key.to_bytes()),
            rp_id: s.rp_id.clone(),
            origin: s.origin.clone(),
        }
    }
}

/// What an agent is handed: the account, the chain, the session key (secret and hash) and its window and hook as
/// granted. [`SessionCredential::check`] compares it with the chain before the agent starts.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SessionCredential {
    /// [`CREDENTIAL_VERSION`].
    pub version: u32,
    /// The chain.
    pub chain_id: u64,
    /// The account (the EOA).
    pub account: Address,
    /// The key's hash on the account.
    pub key_hash: B256,
    /// The key's secret.
    pub secret: SessionSecret,
    /// The key's first valid second (0: at once).
    pub valid_after: u64,
    /// The key's last valid second (0: never expires).
    pub expiration: u64,
    /// The key's hook (zero: none).
    pub hook: Address,
}

impl std::fmt::Debug for SessionCredential {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SessionCredential")
            .field("version", &self.version)
            .field("chain_id", &self.chain_id)
            .field("account", &self.account)
            .field("key_hash", &self.key_hash)
            .field("secret", &self.secret)
            .field("valid_after", &self.valid_after)
            .field("expiration", &self.expiration)
            .field("hook", &self.hook)
            .finish()
    }
}

impl SessionCredential {
    /// The credential of `secret`'s key on `account` (chain `chain_id`), granted with `settings`.
    pub fn new(account: Address, chain_id: u64, secret: SessionSecret, settings: Settings) -> Result<Self, Error> {
        let key_hash = secret.signer()?.key_hash();
        Ok(Self {
            version: CREDENTIAL_VERSION,
            chain_id,
            account,
            key_hash,
            secret,
            valid_after: settings.valid_after(),
            expiration: settings.expiration(),
            hook: settings.hook(),
        })
    }

    /// The signer, after checking that the secret is the key the credential names.
    pub fn signer(&self) -> Result<Box<dyn KeySigner>, Error> {
        if self.version != CREDENTIAL_VERSION {
            return Err(Error::InvalidCredential("unknown version"));
        }
        let signer = self.secret.signer()?;
        if signer.key_hash() != self.key_hash {
            return Err(Error::InvalidCredential("the secret is not the key the credential names"));
        }
        Ok(signer)
    }

    /// The JSON form (camelCase fields; the secret included).
    pub fn to_json(&self) -> String {
        serde_json::to_string_pretty(self).unwrap_or_default()
    }

    /// Reads the JSON form, and checks that the secret is the named key.
    pub fn from_json(json: &str) -> Result<Self, Error> {
        let credential: Self = serde_json::from_str(json).map_err(|_| Error::InvalidCredential("malformed JSON"))?;
        credential.signer()?;
        Ok(credential)
    }

    /// Checks the credential against the chain `account` is on: same chain, same account, the key registered with
    /// the window and hook the credential says (a changed grant means the owner re-granted: ask for a new
    /// credential).
    #[cfg(feature = "client")]
    pub async fn check<P: alloy::providers::Provider>(
        &self,
        account: &crate::client::Account<P>,
    ) -> Result<crate::client::KeyStatus, Error> {
        if account.address() != self.account {
            return Err(Error::InvalidCredential("the credential is for another account"));
        }
        let chain_id =
            account.provider().get_chain_id().await.map_err(|source| Error::Node { method: "eth_chainId", source })?;
        if chain_id != self.chain_id {
            return Err(Error::InvalidCredential("the credential is for another chain"));
        }
        let status = account.status(self.key_hash).await?;
        if status == crate::client::KeyStatus::Revoked {
            return Ok(status);
        }
        let settings = account.settings(self.key_hash).await?;
        if settings.valid_after() != self.valid_after
            || settings.expiration() != self.expiration
            || settings.hook() != self.hook
        {
            return Err(Error::InvalidCredential("the key's grant on chain differs from the credential's"));
        }
        Ok(status)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn test_credential_round_trips_each_key_type() {
        let settings = Settings::builder().expires_at(1_900_000_000).valid_after(1_800_000_000).build().unwrap();
        let p256 = P256KeySigner::from_bytes(&[3; 32]).unwrap();
        let secp = Secp256k1Signer(PrivateKeySigner::from_bytes(&B256::repeat_byte(4)).unwrap());
        let webauthn = WebAuthnSigner::new(P256KeySigner::from_bytes(&[5; 32]).unwrap().0, "agent.example");
        let signers: [(&dyn KeySigner, SessionSecret); 3] =
            [(&p256, (&p256).into()), (&secp, (&secp).into()), (&webauthn, (&webauthn).into())];
        for (signer, secret) in signers {
            let c = SessionCredential::new(Address::repeat_byte(0xa1), 31_337, secret, settings).unwrap();
            assert_eq!(c.key_hash, signer.key_hash());
            assert_eq!((c.valid_after, c.expiration), (1_800_000_000, 1_900_000_000));
            let back = SessionCredential::from_json(&c.to_json()).unwrap();
            assert_eq!(back, c);
            assert_eq!(back.signer().unwrap().key(), signer.key());
            // The secret never shows in Debug.
            let secret_hex = match &c.secret {
                SessionSecret::Secp256k1 { private_key }
                | SessionSecret::P256 { private_key }
                | SessionSecret::WebAuthnP256 { private_key, .. } => private_key.to_string(),
            };
            assert!(c.to_json().contains(&secret_hex));
            assert!(!format!("{c:?}").contains(&secret_hex[2..]), "{c:?}");
        }
    }

    #[test]
    fn test_credential_refuses_a_secret_of_another_key() {
        let settings = Settings::builder().expires_at(1_900_000_000).build().unwrap();
        let a = P256KeySigner::from_bytes(&[3; 32]).unwrap();
        let b = P256KeySigner::from_bytes(&[6; 32]).unwrap();
        let mut c = SessionCredential::new(Address::ZERO, 1, (&a).into(), settings).unwrap();
        c.secret = (&b).into();
        assert!(matches!(c.signer(), Err(Error::InvalidCredential(_))));
        assert!(matches!(SessionCredential::from_json(&c.to_json()), Err(Error::InvalidCredential(_))));
        c.secret = (&a).into();
        c.version = 2;
        assert!(matches!(c.signer(), Err(Error::InvalidCredential("unknown version"))));
        assert!(matches!(SessionCredential::from_json("{}"), Err(Error::InvalidCredential("malformed JSON"))));
    }
}
