//! Offline commands: settings words, key hashes, call data.

use alloy::primitives::{Address, B256, Bytes, U256, aliases::U96};
use clap::Subcommand;
use eyre::{Result, bail, eyre};
use keyward::{KeyExt, Settings, bindings::Call, encode};
use serde_json::json;

use crate::args::{GasBudgetArgs, KeyArgs, NonceArgs, SettingsArgs, out, settings_json};

/// `keyward settings`.
#[derive(Subcommand)]
pub(crate) enum SettingsCmd {
    /// Pack settings into the uint256 word.
    Encode(SettingsArgs),
    /// Explain a settings word (0x hex); non-canonical words are rejected.
    Decode {
        /// The settings word.
        settings: String,
    },
}

impl SettingsCmd {
    /// Runs the command.
    pub(crate) fn run(self, j: bool) -> Result<()> {
        match self {
            Self::Encode(a) => {
                let s = a.settings()?;
                out(j, &settings_json(s), &s.to_string());
            }
            Self::Decode { settings } => {
                let s: Settings = settings.parse()?;
                let text = format!(
                    "hook {}\nexpiration {}\nadmin {}\nvalidAfter {}\nflags {}",
                    s.hook(),
                    s.expiration(),
                    s.is_admin(),
                    s.valid_after(),
                    s.flags()
                );
                out(j, &settings_json(s), &text);
            }
        }
        Ok(())
    }
}

/// `keyward key`.
#[derive(Subcommand)]
pub(crate) enum KeyCmd {
    /// The key hash the account knows a key by.
    Hash(KeyArgs),
    /// A proof of possession for `grant --pop`: the session key's signature of `keyward::pop::digest(account, chain
    /// id, key hash)`, made by the key's holder and handed to the owner.
    Prove {
        /// Key type.
        #[arg(long = "key-type", value_enum, default_value = "secp256k1")]
        key_type: crate::args::KeyKind,
        /// File holding the key's private key (32 bytes hex); never printed.
        #[arg(long, env = "KEYWARD_SESSION_KEY_FILE")]
        session_key_file: std::path::PathBuf,
        /// The account the key is to be granted on.
        #[arg(long)]
        account: alloy::primitives::Address,
        /// The chain id.
        #[arg(long)]
        chain_id: u64,
    },
}

impl KeyCmd {
    /// Runs the command.
    pub(crate) fn run(self, j: bool) -> Result<()> {
        match self {
            Self::Hash(a) => {
                let h = a.key()?.hash();
                out(j, &json!({ "keyHash": h }), &h.to_string());
            }
            Self::Prove { key_type, session_key_file, account, chain_id } => {
                let signer = crate::args::session_signer(key_type, &session_key_file)?;
                let proof = keyward::pop::sign(signer.as_ref(), account, chain_id)?;
                let kh = signer.key_hash();
                out(j, &json!({ "keyHash": kh, "pop": proof }), &proof.to_string());
            }
        }
        Ok(())
    }
}

/// `keyward encode`.
#[derive(Subcommand)]
pub(crate) enum EncodeCmd {
    /// `register(Key)`.
    Register(KeyArgs),
    /// `grant(Key, settings)`.
    Grant {
        #[command(flatten)]
        key: KeyArgs,
        #[command(flatten)]
        settings: SettingsArgs,
    },
    /// `update(keyHash, settings)`.
    Update {
        /// The key hash.
        key_hash: B256,
        #[command(flatten)]
        settings: SettingsArgs,
    },
    /// `revoke(keyHash)`.
    Revoke {
        /// The key hash.
        key_hash: B256,
    },
    /// `revokeAll()`.
    RevokeAll,
    /// ERC-7821 `execute` of one call.
    Execute {
        /// Target (0x0 means the account itself).
        to: Address,
        /// Call data (0x hex).
        #[arg(default_value = "0x")]
        data: Bytes,
        /// Value in wei.
        #[arg(long, default_value_t = U256::ZERO)]
        value: U256,
    },
    /// Calibur's `execute(BatchedCall)` (what Calibur clients send): a batch of calls.
    ExecuteBatch {
        /// Calls as `TO[:DATA[:VALUE]]` (the zero address means the account itself; data 0x hex; value in wei).
        #[arg(required = true, value_name = "CALL")]
        calls: Vec<String>,
        /// Skip failing calls instead of reverting the batch.
        #[arg(long)]
        continue_on_failure: bool,
    },
    /// `invalidateNonce(newNonce)`: move a nonce lane forward, cancelling the signed batches below it.
    InvalidateNonce(NonceArgs),
    /// `updateSalt(prefix)`: every outstanding signature of the account stops verifying.
    UpdateSalt {
        /// The new high 96 bits of the salt.
        prefix: U96,
    },
    /// ERC-7914 `approveNative(spender, amount)` (or `approveNativeTransient`).
    ApproveNative {
        /// Who may move the account's ETH.
        spender: Address,
        /// Wei (the maximum uint256: unlimited).
        amount: U256,
        /// For the current transaction only (`approveNativeTransient`).
        #[arg(long)]
        transient: bool,
    },
    /// `setGasBudget(keyHash, budget)`: what the account may pay in ERC-4337 gas for the key.
    SetGasBudget(GasBudgetArgs),
}

impl EncodeCmd {
    /// Runs the command.
    pub(crate) fn run(self, j: bool) -> Result<()> {
        let data = match self {
            Self::Register(k) => encode::register(&k.key()?),
            Self::Grant { key, settings } => encode::grant(&key.key()?, settings.settings()?),
            Self::Update { key_hash, settings } => encode::update(key_hash, settings.settings()?),
            Self::Revoke { key_hash } => encode::revoke(key_hash),
            Self::RevokeAll => encode::revoke_all(),
            Self::Execute { to, data, value } => encode::execute(&[Call { to, value, data }], true),
            Self::ExecuteBatch { calls, continue_on_failure } => {
                let calls = calls.iter().map(|c| parse_call(c)).collect::<Result<Vec<_>>>()?;
                encode::execute_batch(&calls, !continue_on_failure)
            }
            Self::InvalidateNonce(n) => encode::invalidate_nonce(n.nonce()?),
            Self::UpdateSalt { prefix } => encode::update_salt(prefix),
            Self::ApproveNative { spender, amount, transient: false } => encode::approve_native(spender, amount),
            Self::ApproveNative { spender, amount, transient: true } => {
                encode::approve_native_transient(spender, amount)
            }
            Self::SetGasBudget(b) => encode::set_gas_budget(b.key_hash, b.budget()?),
        };
        out(j, &json!({ "calldata": data }), &data.to_string());
        Ok(())
    }
}

/// A call given as `TO[:DATA[:VALUE]]`.
fn parse_call(text: &str) -> Result<Call> {
    let mut parts = text.split(':');
    let to = parts.next().unwrap_or_default();
    let to: Address = to.parse().map_err(|_| eyre!("call {text:?}: {to:?} is not an address"))?;
    let data: Bytes = match parts.next() {
        Some(d) => d.parse().map_err(|_| eyre!("call {text:?}: {d:?} is not 0x hex"))?,
        None => Bytes::new(),
    };
    let value = match parts.next() {
        Some(v) => v.parse::<U256>().map_err(|_| eyre!("call {text:?}: {v:?} is not a value in wei"))?,
        None => U256::ZERO,
    };
    if parts.next().is_some() {
        bail!("call {text:?}: expected TO[:DATA[:VALUE]]");
    }
    Ok(Call { to, value, data })
}
