//! A session credential: everything an agent needs to act for an account with one session key, as one JSON
//! document the owner's side hands over (a secret store, an environment variable, a file readable by the agent
//! only). It holds the key's secret: treat it like a private key. Its `Debug` form leaves the secret out.
//!
//! ```
//! use alloy::primitives::Address;
//! use keyward::{Grant, KeySigner, P256KeySigner, agent::AgentCredential, userop::ENTRY_POINT_V08};
//!
//! let session = P256KeySigner::from_bytes(&[7; 32])?;
//! let grant = Grant::builder(session.key()).expires_at(1_900_000_000).build()?;
//! // The owner's side: the grant's public credential, with the key's secret.
//! let credential =
//!     grant.credential(Address::repeat_byte(0xa1), 1, ENTRY_POINT_V08).with_secret((&session).into())?;
//! let json = credential.to_json();
//! // The agent's side.
//! let back = AgentCredential::from_json(&json)?;
//! assert_eq!(back.signer()?.key_hash(), session.key_hash());
//! assert!(!format!("{back:?}").contains(&alloy::hex::encode(session.0.to_bytes())));
//! # Ok::<(), keyward::Error>(())
//! ```

use alloy::{
    primitives::{Address, B256},
    signers::local::PrivateKeySigner,
};
use serde::{Deserialize, Serialize};

use crate::{Error, KeySigner, P256KeySigner, Secp256k1Signer, WebAuthnSigner, grant::SessionCredential};

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

/// What an agent is handed: the key's public [`SessionCredential`] (account, chain, EntryPoint, key, window, hook;
/// [`crate::Grant::credential`] makes it) and the key's secret, as one JSON document.
/// [`AgentCredential::check`] compares it with the chain before the agent starts.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", try_from = "RawAgentCredential")]
pub struct AgentCredential {
    /// Where, which key, its window and hook.
    #[serde(flatten)]
    pub session: SessionCredential,
    /// The key's secret.
    pub secret: SessionSecret,
}

#[derive(Deserialize)]
struct RawAgentCredential {
    #[serde(flatten)]
    session: SessionCredential,
    secret: SessionSecret,
}

impl TryFrom<RawAgentCredential> for AgentCredential {
    type Error = Error;

    fn try_from(raw: RawAgentCredential) -> Result<Self, Error> {
        Self::new(raw.session, raw.secret)
    }
}

impl std::fmt::Debug for AgentCredential {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AgentCredential").field("session", &self.session).field("secret", &self.secret).finish()
    }
}

impl SessionCredential {
    /// The credential an agent is handed: this one with the key's secret (checked to be this key).
    pub fn with_secret(self, secret: SessionSecret) -> Result<AgentCredential, Error> {
        AgentCredential::new(self, secret)
    }
}

impl AgentCredential {
    /// `session` with its key's `secret`; refused when the secret is another key.
    pub fn new(session: SessionCredential, secret: SessionSecret) -> Result<Self, Error> {
        if secret.signer()?.key() != session.key() {
            return Err(Error::InvalidCredential("the secret is not the key the credential names"));
        }
        Ok(Self { session, secret })
    }

    /// The account.
    pub fn account(&self) -> Address {
        self.session.account
    }

    /// The signer.
    pub fn signer(&self) -> Result<Box<dyn KeySigner>, Error> {
        self.secret.signer()
    }

    /// The JSON form (camelCase fields; the secret included).
    pub fn to_json(&self) -> String {
        serde_json::to_string_pretty(self).unwrap_or_default()
    }

    /// Reads the JSON form; the key hash must be the key's and the secret the key's.
    pub fn from_json(json: &str) -> Result<Self, Error> {
        serde_json::from_str(json).map_err(|e| Error::CredentialJson(Box::new(e)))
    }

    /// Checks the credential against the chain `account` is on: same chain, same account, the key registered with
    /// the window and hook the credential says (a changed grant means the owner re-granted: ask for a new
    /// credential). A revoked key is [`crate::client::KeyStatus::Revoked`], not an error.
    pub async fn check<P: alloy::providers::Provider>(
        &self,
        account: &crate::client::Account<P>,
    ) -> Result<crate::client::KeyStatus, Error> {
        let session = &self.session;
        if account.address() != session.account {
            return Err(Error::InvalidCredential("the credential is for another account"));
        }
        let chain_id =
            account.provider().get_chain_id().await.map_err(|source| Error::Node { method: "eth_chainId", source })?;
        if chain_id != session.chain_id {
            return Err(Error::InvalidCredential("the credential is for another chain"));
        }
        let status = account.status(session.key_hash).await?;
        if status == crate::client::KeyStatus::Revoked {
            return Ok(status);
        }
        let settings = account.settings(session.key_hash).await?;
        let expiration = (settings.expiration() != 0).then(|| settings.expiration());
        let hook = (settings.hook() != Address::ZERO).then(|| settings.hook());
        if settings.valid_after() != session.valid_after || expiration != session.expiration || hook != session.hook {
            return Err(Error::InvalidCredential("the key's grant on chain differs from the credential's"));
        }
        Ok(status)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{Grant, userop::ENTRY_POINT_V08};

    fn session(signer: &dyn KeySigner) -> SessionCredential {
        Grant::builder(signer.key()).valid_after(1_800_000_000).expires_at(1_900_000_000).build().unwrap().credential(
            Address::repeat_byte(0xa1),
            31_337,
            ENTRY_POINT_V08,
        )
    }

    #[test]
    fn test_agent_credential_round_trips_each_key_type() {
        let p256 = P256KeySigner::from_bytes(&[3; 32]).unwrap();
        let secp = Secp256k1Signer(PrivateKeySigner::from_bytes(&B256::repeat_byte(4)).unwrap());
        let webauthn = WebAuthnSigner::new(P256KeySigner::from_bytes(&[5; 32]).unwrap().0, "agent.example");
        let signers: [(&dyn KeySigner, SessionSecret); 3] =
            [(&p256, (&p256).into()), (&secp, (&secp).into()), (&webauthn, (&webauthn).into())];
        for (signer, secret) in signers {
            let c = session(signer).with_secret(secret).unwrap();
            assert_eq!(c.session.key_hash, signer.key_hash());
            assert_eq!((c.session.valid_after, c.session.expiration), (1_800_000_000, Some(1_900_000_000)));
            let back = AgentCredential::from_json(&c.to_json()).unwrap();
            assert_eq!(back, c);
            assert_eq!(back.signer().unwrap().key(), signer.key());
            // The secret is in the JSON, never in Debug.
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
    fn test_agent_credential_refuses_a_secret_of_another_key() {
        let a = P256KeySigner::from_bytes(&[3; 32]).unwrap();
        let b = P256KeySigner::from_bytes(&[6; 32]).unwrap();
        assert!(matches!(session(&a).with_secret((&b).into()), Err(Error::InvalidCredential(_))));
        // Edited JSON: the secret swapped for another key's is refused on reading.
        let mut json: serde_json::Value =
            serde_json::from_str(&session(&a).with_secret((&a).into()).unwrap().to_json()).unwrap();
        json["secret"]["privateKey"] = serde_json::json!(B256::from_slice(&b.0.to_bytes()));
        let e = AgentCredential::from_json(&json.to_string()).expect_err("another key's secret");
        assert!(matches!(e, Error::CredentialJson(_)), "{e}");
        assert!(matches!(AgentCredential::from_json("{}"), Err(Error::CredentialJson(_))));
    }
}
