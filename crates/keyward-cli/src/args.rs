//! Arguments shared by several commands, and their parsing into the library's types. Amounts, durations and call
//! rules are read with `keyward::units` (`eth:0.5`, `usdc:100`, `5m`, `0xToken:transfer(address,uint256)`).

use std::{path::PathBuf, time::Duration};

use alloy::{
    network::EthereumWallet,
    primitives::{Address, B256, Bytes, U256},
    providers::{DynProvider, Provider, ProviderBuilder},
    signers::local::PrivateKeySigner,
};
use clap::{Args, ValueEnum};
use eyre::{Result, WrapErr, bail, eyre};
use keyward::{
    Flags, KeyExt, KeySigner, Settings,
    agent::SessionSecret,
    bindings::Key,
    client::Account,
    encode,
    units::{Amount, Asset, Tokens, parse_duration},
};
use serde_json::json;

/// Where the account is, and who sends.
#[derive(Args)]
pub(crate) struct Online {
    /// RPC URL.
    #[arg(long, env = "ETH_RPC_URL", default_value = "http://127.0.0.1:8545")]
    pub(crate) rpc_url: String,
    /// The account (the EOA's address).
    #[arg(long)]
    pub(crate) account: Address,
    /// Private key of the sender (hex); never printed.
    #[arg(long, env = "KEYWARD_PRIVATE_KEY", hide_env_values = true, conflicts_with = "private_key_file")]
    pub(crate) private_key: Option<String>,
    /// A file holding the sender's private key.
    #[arg(long)]
    pub(crate) private_key_file: Option<PathBuf>,
}

impl Online {
    /// The sender's key, when one was given.
    pub(crate) fn signer(&self) -> Result<Option<PrivateKeySigner>> {
        let text = match (&self.private_key, &self.private_key_file) {
            (Some(k), _) => k.clone(),
            (None, Some(f)) => std::fs::read_to_string(f).wrap_err_with(|| format!("reading {}", f.display()))?,
            (None, None) => return Ok(None),
        };
        Ok(Some(parse_private_key(&text)?))
    }

    /// The account over the RPC, with the sender's wallet when given (required when `needs_signer`).
    pub(crate) async fn account(&self, needs_signer: bool) -> Result<Account<DynProvider>> {
        Ok(self.connect(needs_signer).await?.0)
    }

    /// The account and the chain id.
    pub(crate) async fn connect(&self, needs_signer: bool) -> Result<(Account<DynProvider>, u64)> {
        let url = self.rpc_url.parse().wrap_err_with(|| format!("invalid RPC URL {:?}", self.rpc_url))?;
        let provider = match self.signer()? {
            Some(s) => ProviderBuilder::new().wallet(EthereumWallet::from(s)).connect_http(url).erased(),
            None if needs_signer => bail!("a private key is needed: set KEYWARD_PRIVATE_KEY or --private-key-file"),
            None => ProviderBuilder::new().connect_http(url).erased(),
        };
        let chain_id =
            provider.get_chain_id().await.map_err(|e| eyre!("RPC at {} is unreachable: {e}", self.rpc_url))?;
        Ok((Account::at(self.account, provider), chain_id))
    }
}

/// Tokens known by symbol, beyond the chain's well-known ones.
#[derive(Args)]
pub(crate) struct TokenArgs {
    /// A token for amounts and call rules: `SYMBOL=0xAddress@DECIMALS` (e.g. `tt=0x5FbDB2315678afecb367f032d93F642f64180aa3@6`);
    /// repeatable. USDC, USDT, DAI and WETH are known on Ethereum, Optimism, Base and Arbitrum.
    #[arg(long = "token", value_name = "SYMBOL=ADDRESS@DECIMALS")]
    pub(crate) tokens: Vec<String>,
}

impl TokenArgs {
    /// The chain's well-known tokens and the ones given.
    pub(crate) fn table(&self, chain_id: u64) -> Result<Tokens> {
        let mut tokens = Tokens::for_chain(chain_id);
        for t in &self.tokens {
            let bad = || eyre!("--token {t:?}: expected SYMBOL=0xAddress@DECIMALS");
            let (symbol, rest) = t.split_once('=').ok_or_else(bad)?;
            let (address, decimals) = rest.split_once('@').ok_or_else(bad)?;
            let address: Address = address.trim().parse().map_err(|_| bad())?;
            let decimals: u8 = decimals.trim().parse().map_err(|_| bad())?;
            if symbol.trim().is_empty() {
                return Err(bad());
            }
            tokens.insert(symbol.trim(), address, decimals);
        }
        Ok(tokens)
    }
}

/// A key given by type and public key.
#[derive(Args)]
pub(crate) struct KeyArgs {
    /// Key type.
    #[arg(long = "type", value_enum, default_value = "secp256k1")]
    pub(crate) kind: KeyKind,
    /// secp256k1: the signer address; P256/WebAuthn: x ++ y (64 bytes hex).
    #[arg(long)]
    pub(crate) public_key: String,
}

/// Key types.
#[derive(Clone, Copy, ValueEnum)]
pub(crate) enum KeyKind {
    // secp256k1 (an Ethereum address).
    Secp256k1,
    // P256.
    P256,
    // WebAuthn over P256 (a passkey).
    Webauthn,
}

impl KeyKind {
    fn name(self) -> &'static str {
        match self {
            Self::Secp256k1 => "secp256k1",
            Self::P256 => "P256",
            Self::Webauthn => "WebAuthn",
        }
    }
}

impl KeyArgs {
    /// The key.
    pub(crate) fn key(&self) -> Result<Key> {
        let raw: Bytes = self.public_key.parse().map_err(|_| eyre!("public key {:?} is not hex", self.public_key))?;
        Ok(match self.kind {
            KeyKind::Secp256k1 => {
                if raw.len() != 20 {
                    bail!("a secp256k1 key is a 20-byte address, got {} bytes", raw.len());
                }
                Key::secp256k1(Address::from_slice(&raw))
            }
            KeyKind::P256 | KeyKind::Webauthn => {
                if raw.len() != 64 {
                    bail!("a P256 key is x ++ y, 64 bytes, got {} bytes", raw.len());
                }
                let (x, y) = (U256::from_be_slice(&raw[..32]), U256::from_be_slice(&raw[32..]));
                if matches!(self.kind, KeyKind::P256) { Key::p256(x, y) } else { Key::webauthn_p256(x, y) }
            }
        })
    }
}

/// A session key's secret, from a file.
#[derive(Args)]
pub(crate) struct SessionKeyArgs {
    /// Session key type.
    #[arg(long = "key-type", value_enum, default_value = "secp256k1")]
    pub(crate) key_type: KeyKind,
    /// File holding the session key's private key (32 bytes hex); never printed.
    #[arg(long, env = "KEYWARD_SESSION_KEY_FILE")]
    pub(crate) session_key_file: PathBuf,
}

impl SessionKeyArgs {
    /// The session key's secret.
    pub(crate) fn secret(&self) -> Result<SessionSecret> {
        let file = &self.session_key_file;
        let text = std::fs::read_to_string(file).wrap_err_with(|| format!("reading {}", file.display()))?;
        let private_key: B256 = text.trim().parse().map_err(|_| eyre!("the session key is not 32 bytes of hex"))?;
        Ok(match self.key_type {
            KeyKind::Secp256k1 => SessionSecret::Secp256k1 { private_key },
            KeyKind::P256 => SessionSecret::P256 { private_key },
            KeyKind::Webauthn => SessionSecret::WebAuthnP256 {
                private_key,
                rp_id: "keyward.local".to_owned(),
                origin: "https://keyward.local".to_owned(),
            },
        })
    }

    /// The session key's signer.
    pub(crate) fn signer(&self) -> Result<Box<dyn KeySigner>> {
        self.secret()?.signer().map_err(|_| eyre!("the session key is not a valid {} key", self.key_type.name()))
    }
}

/// A key's settings word, by field.
#[derive(Args)]
pub(crate) struct SettingsArgs {
    /// Hook contract address.
    #[arg(long)]
    pub(crate) hook: Option<Address>,
    /// Last valid second (unix).
    #[arg(long, conflicts_with = "expires_in")]
    pub(crate) expires_at: Option<u64>,
    /// Lifetime from now: `30s`, `5m`, `1h30m`, `7d`, or seconds.
    #[arg(long, alias = "expiry", value_name = "DURATION", value_parser = duration)]
    pub(crate) expires_in: Option<Duration>,
    /// First valid second (unix).
    #[arg(long)]
    pub(crate) valid_after: Option<u64>,
    /// May make the account call itself (key management).
    #[arg(long)]
    pub(crate) admin: bool,
    /// Settings flags, names joined by `|` or `,`: AFTER_EXECUTE_ON_FAILURE, SPONSORED_ONLY, GAS_BUDGET (or NONE).
    #[arg(long, value_name = "FLAGS")]
    pub(crate) flags: Option<String>,
}

impl SettingsArgs {
    /// The settings word.
    pub(crate) fn settings(&self) -> Result<Settings> {
        let flags = match &self.flags {
            Some(text) => text.parse::<Flags>()?,
            None => Flags::NONE,
        };
        let mut b = Settings::builder().admin(self.admin).hook(self.hook.unwrap_or_default()).flags(flags);
        if let Some(t) = self.expires_at {
            b = b.expires_at(t);
        }
        if let Some(d) = self.expires_in {
            b = b.expires_in(now(), d);
        }
        if let Some(t) = self.valid_after {
            b = b.valid_after(t);
        }
        Ok(b.build()?)
    }
}

/// A key's ERC-4337 gas budget, in wei.
#[derive(Args)]
pub(crate) struct GasBudgetArgs {
    /// The key hash.
    pub(crate) key_hash: B256,
    /// Most gas cost per period, in wei (0: no per-period cap).
    #[arg(long, default_value_t = 0, value_name = "WEI")]
    pub(crate) per_period: u128,
    /// The period in seconds (windows aligned to multiples of it since the Unix epoch).
    #[arg(long, default_value_t = 0, value_name = "SECONDS")]
    pub(crate) period: u64,
    /// Most gas cost in total, in wei (0: no lifetime cap; both caps 0 allow nothing).
    #[arg(long, default_value_t = 0, value_name = "WEI")]
    pub(crate) lifetime: u128,
}

impl GasBudgetArgs {
    /// The ABI's budget, checked.
    pub(crate) fn budget(&self) -> Result<keyward::bindings::GasBudget> {
        Ok(encode::gas_budget(self.per_period, self.period, self.lifetime)?)
    }
}

/// A nonce lane and its new sequence.
#[derive(Args)]
pub(crate) struct NonceArgs {
    /// The lane key (up to 192 bits; reserved lanes start with the "KWRD" tag, every other lane key is open).
    #[arg(long, value_name = "LANE_KEY")]
    pub(crate) lane: U256,
    /// The lane's new next sequence: every signed batch below it never runs (at most 65,535 ahead).
    #[arg(long, value_name = "SEQ")]
    pub(crate) seq: u64,
}

impl NonceArgs {
    /// The full nonce.
    pub(crate) fn nonce(&self) -> Result<U256> {
        if self.lane >> 192 != U256::ZERO {
            bail!("--lane {}: a lane key has at most 192 bits", self.lane);
        }
        Ok(keyward::lanes::nonce(alloy::primitives::aliases::U192::from(self.lane), self.seq))
    }
}

/// A duration as people type it (clap value parser).
pub(crate) fn duration(text: &str) -> Result<Duration, String> {
    parse_duration(text).map_err(|e| e.to_string())
}

/// Native value: `eth:0.001`, `gwei:30`, `wei:5`, or a bare number of wei.
pub(crate) fn native_value(flag: &str, text: &str) -> Result<U256> {
    if !text.contains(':') {
        return text.trim().parse::<U256>().map_err(|_| eyre!("{flag} {text:?}: expected eth:AMOUNT or wei"));
    }
    let amount = Amount::parse(text, &Tokens::new()).wrap_err_with(|| format!("{flag} {text:?}"))?;
    if amount.asset != Asset::Native {
        bail!("{flag} {text:?}: expected native value (eth:, gwei: or wei:)");
    }
    Ok(amount.value)
}

/// A private key given as 32 bytes of hex (with or without 0x).
pub(crate) fn parse_private_key(text: &str) -> Result<PrivateKeySigner> {
    let text = text.trim();
    let hex = text.strip_prefix("0x").unwrap_or(text);
    let secret: B256 = format!("0x{hex}").parse().map_err(|_| eyre!("the private key is not 32 bytes of hex"))?;
    PrivateKeySigner::from_bytes(&secret).map_err(|_| eyre!("the private key is not a valid secp256k1 scalar"))
}

/// The wall clock (unix seconds).
pub(crate) fn now() -> u64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_secs())
}

/// A settings word as JSON.
pub(crate) fn settings_json(s: Settings) -> serde_json::Value {
    json!({
        "settings": s.to_string(),
        "hook": s.hook(),
        "hookCallbacks": keyward::hooks::names(s.hook()),
        "expiration": s.expiration(),
        "admin": s.is_admin(),
        "validAfter": s.valid_after(),
        "flags": s.flags().to_string(),
        "validationData": format!("{:#066x}", s.validation_data()),
    })
}

/// Prints `value` in JSON mode, else `text`.
pub(crate) fn out(json_mode: bool, value: &serde_json::Value, text: &str) {
    if json_mode {
        println!("{value}");
    } else {
        println!("{text}");
    }
}

/// A session key's signer from a file holding its secret (32 bytes hex), of type `kind`; the secret is never printed.
pub(crate) fn session_signer(kind: KeyKind, file: &std::path::Path) -> Result<Box<dyn keyward::KeySigner>> {
    use keyward::{P256KeySigner, Secp256k1Signer, WebAuthnSigner};
    let text = std::fs::read_to_string(file).wrap_err_with(|| format!("reading {}", file.display()))?;
    let secret: B256 = text.trim().parse().map_err(|_| eyre!("the session key is not 32 bytes of hex"))?;
    Ok(match kind {
        KeyKind::Secp256k1 => Box::new(Secp256k1Signer(
            PrivateKeySigner::from_bytes(&secret).map_err(|_| eyre!("invalid secp256k1 session key"))?,
        )),
        KeyKind::P256 => Box::new(P256KeySigner::from_bytes(&secret.0)?),
        KeyKind::Webauthn => Box::new(WebAuthnSigner::new(P256KeySigner::from_bytes(&secret.0)?.0, "keyward.local")),
    })
}
