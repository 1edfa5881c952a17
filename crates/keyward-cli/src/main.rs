//! `keyward`: a thin command line over the keyward crates. Every failure is one line on stderr and exit code 1.

use std::{path::PathBuf, process::ExitCode, time::Duration};

use alloy::{
    network::EthereumWallet,
    primitives::{Address, B256, Bytes, U256, aliases::U96},
    providers::{DynProvider, Provider, ProviderBuilder},
    signers::local::PrivateKeySigner,
};
use clap::{Args, Parser, Subcommand, ValueEnum};
use eyre::{Result, WrapErr, bail, eyre};
use keyward::{
    Flags, KeyExt, Settings,
    bindings::{Key, KeyType},
    bundler::BundlerClient,
    client::{Account, EventFilter, KeyStatus, Lane, Pricing, UserOpRequest, UserOpRoute},
    encode,
};
use serde_json::json;

mod demo;

/// Keyward: delegated permissions on EIP-7702 / ERC-4337 accounts.
#[derive(Parser)]
#[command(name = "keyward", version, about)]
struct Cli {
    /// Print JSON instead of text.
    #[arg(long, global = true)]
    json: bool,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Pack or explain a settings word (offline).
    #[command(subcommand)]
    Settings(SettingsCmd),
    /// Key utilities (offline).
    #[command(subcommand)]
    Key(KeyCmd),
    /// Call data for the account's functions, as hex (offline).
    #[command(subcommand)]
    Encode(EncodeCmd),
    /// Deploy Keyward and the PolicyHook through the CREATE2 deployer (a rerun changes nothing).
    Deploy {
        /// RPC URL.
        #[arg(long, env = "ETH_RPC_URL", default_value = "http://127.0.0.1:8545")]
        rpc_url: String,
        /// Private key of the sender (hex); never printed.
        #[arg(long, env = "KEYWARD_PRIVATE_KEY", hide_env_values = true)]
        private_key: String,
    },
    /// Delegate the sender's EOA to Keyward with EIP-7702 (the account is the sender).
    Delegate {
        #[command(flatten)]
        online: Online,
        /// The implementation (default: Keyward's CREATE2 address).
        #[arg(long)]
        implementation: Option<Address>,
    },
    /// List the account's keys with status and time left.
    Keys(Online),
    /// Grant a key with its settings and, with policy flags, its PolicyHook policy, in one transaction.
    Grant {
        #[command(flatten)]
        online: Online,
        #[command(flatten)]
        key: KeyArgs,
        #[command(flatten)]
        settings: SettingsArgs,
        #[command(flatten)]
        policy: PolicyArgs,
        /// ERC-4337 gas the account may pay for the key per day, in wei: sets the GAS_BUDGET flag and the budget in
        /// the same transaction (a PolicyHook key needs this, or a paymaster, to use ERC-4337).
        #[arg(long, value_name = "WEI")]
        gas_budget_per_day: Option<u128>,
    },
    /// Write a key's settings (sent by the account's own EOA).
    Update {
        #[command(flatten)]
        online: Online,
        /// The key hash.
        key_hash: B256,
        #[command(flatten)]
        settings: SettingsArgs,
    },
    /// Execute one call as a session key, through a bundler (`--bundler`), or `handleOps` or the relayed path with
    /// the sender relaying.
    Exec {
        #[command(flatten)]
        online: Online,
        /// Path: `4337` (EntryPoint v0.8) or `relayed` (a signed batch).
        #[arg(long, value_enum, default_value = "4337")]
        via: Via,
        /// Send a user operation through this ERC-4337 bundler (EntryPoint v0.8): estimated by the bundler, at its
        /// fees, simulated first (a refused operation is never sent); no sender key is needed, the account pays the
        /// bundler. Prints the userOpHash and the bundle's transaction.
        #[arg(long, value_name = "URL")]
        bundler: Option<alloy::transports::http::reqwest::Url>,
        /// With `--bundler`: how long to wait for the operation to be mined, in seconds.
        #[arg(long, value_name = "SECS", default_value_t = 60, requires = "bundler")]
        receipt_timeout: u64,
        /// Session key type.
        #[arg(long = "key-type", value_enum, default_value = "secp256k1")]
        key_type: KeyKind,
        /// File holding the session key's private key (32 bytes hex); never printed.
        #[arg(long, env = "KEYWARD_SESSION_KEY_FILE")]
        session_key_file: PathBuf,
        /// Target.
        to: Address,
        /// Call data (0x hex).
        #[arg(default_value = "0x")]
        data: Bytes,
        /// Value in wei.
        #[arg(long, default_value_t = U256::ZERO)]
        value: U256,
        /// An explicit nonce lane key (operations in different lanes do not wait for each other); a lane key without
        /// the reserved "KWRD" tag is open to every key. Default: the session key's own reserved lane 0, which no
        /// other key can use.
        #[arg(long, conflicts_with = "reserved_lane")]
        lane: Option<u64>,
        /// The session key's own reserved lane with this index (default 0).
        #[arg(long, value_name = "INDEX")]
        reserved_lane: Option<u32>,
    },
    /// Show a key's PolicyHook policy: rules, caps and what was spent, call counts, ERC-1271 scope.
    Policy {
        #[command(flatten)]
        online: Online,
        /// The key hash.
        key_hash: B256,
        /// The hook to ask (default: the hook in the key's settings).
        #[arg(long)]
        hook: Option<Address>,
    },
    /// Revoke a key (sent by the account's own EOA).
    Revoke {
        #[command(flatten)]
        online: Online,
        /// The key hash.
        key_hash: B256,
    },
    /// Revoke every non-root key ("log out everywhere").
    RevokeAll(Online),
    /// Set a key's ERC-4337 gas budget (sent by the account's own EOA; spending restarts).
    SetGasBudget {
        #[command(flatten)]
        online: Online,
        #[command(flatten)]
        budget: GasBudgetArgs,
    },
    /// Show a key's ERC-4337 gas budget and what was charged against it.
    GasBudget {
        #[command(flatten)]
        online: Online,
        /// The key hash.
        key_hash: B256,
    },
    /// Move a nonce lane forward, cancelling the signed batches below the new nonce (sent by the account's EOA).
    InvalidateNonce {
        #[command(flatten)]
        online: Online,
        #[command(flatten)]
        nonce: NonceArgs,
    },
    /// Set a new EIP-712 salt prefix: every outstanding signature of the account stops verifying.
    UpdateSalt {
        #[command(flatten)]
        online: Online,
        /// The new high 96 bits of the salt.
        prefix: U96,
    },
    /// Print key and account events (grants, updates, revocations, uses, gas budgets, EntryPoint, nonce, salt and
    /// native-allowance changes) as JSON lines, then follow new blocks.
    Watch {
        #[command(flatten)]
        online: Online,
        /// First block to read.
        #[arg(long, default_value_t = 0)]
        from_block: u64,
        /// Only report events this many blocks deep (reorg safety).
        #[arg(long, default_value_t = 0)]
        confirmations: u64,
        /// Stop after reading up to the current block instead of following.
        #[arg(long)]
        once: bool,
        /// Most blocks per `eth_getLogs` query (RPC providers cap the range); a long history is read in pages.
        #[arg(long, default_value_t = 2_000, value_parser = clap::value_parser!(u64).range(1..))]
        max_blocks: u64,
        /// Only this key's events (and the account-wide ones: revoke-all, EntryPoint changes).
        #[arg(long)]
        key_hash: Option<B256>,
        /// Resume from and save to this file: the position after the last event printed (JSON, rewritten after each
        /// event and at the end). When it exists, the watcher starts there instead of at `--from-block`, so a
        /// restarted watcher neither skips nor repeats an event.
        #[arg(long, value_name = "PATH")]
        cursor_file: Option<PathBuf>,
    },
    /// Run the demo on a local anvil it starts itself (`--json`: one JSON line per step).
    Demo,
}

#[derive(Subcommand)]
enum SettingsCmd {
    /// Pack settings into the uint256 word.
    Encode(SettingsArgs),
    /// Explain a settings word (0x hex); non-canonical words are rejected.
    Decode {
        /// The settings word.
        settings: String,
    },
}

#[derive(Args)]
struct SettingsArgs {
    /// Hook contract address.
    #[arg(long)]
    hook: Option<Address>,
    /// Last valid second (unix).
    #[arg(long, conflicts_with = "expires_in")]
    expires_at: Option<u64>,
    /// Lifetime in seconds from now.
    #[arg(long)]
    expires_in: Option<u64>,
    /// First valid second (unix).
    #[arg(long)]
    valid_after: Option<u64>,
    /// May make the account call itself (key management).
    #[arg(long)]
    admin: bool,
    /// Settings flags, names joined by `|` or `,`: AFTER_EXECUTE_ON_FAILURE, SPONSORED_ONLY, GAS_BUDGET (or NONE).
    #[arg(long, value_name = "FLAGS")]
    flags: Option<String>,
}

#[derive(Args)]
struct GasBudgetArgs {
    /// The key hash.
    key_hash: B256,
    /// Most gas cost per period, in wei (0: no per-period cap).
    #[arg(long, default_value_t = 0, value_name = "WEI")]
    per_period: u128,
    /// The period in seconds (windows aligned to multiples of it since the Unix epoch).
    #[arg(long, default_value_t = 0, value_name = "SECONDS")]
    period: u64,
    /// Most gas cost in total, in wei (0: no lifetime cap; both caps 0 allow nothing).
    #[arg(long, default_value_t = 0, value_name = "WEI")]
    lifetime: u128,
}

impl GasBudgetArgs {
    fn budget(&self) -> Result<keyward::bindings::GasBudget> {
        Ok(encode::gas_budget(self.per_period, self.period, self.lifetime)?)
    }
}

#[derive(Args)]
struct NonceArgs {
    /// The lane key (up to 192 bits; reserved lanes start with the "KWRD" tag, every other lane key is open).
    #[arg(long, value_name = "LANE_KEY")]
    lane: U256,
    /// The lane's new next sequence: every signed batch below it never runs (at most 65,535 ahead).
    #[arg(long, value_name = "SEQ")]
    seq: u64,
}

impl NonceArgs {
    fn nonce(&self) -> Result<U256> {
        if self.lane >> 192 != U256::ZERO {
            bail!("--lane {}: a lane key has at most 192 bits", self.lane);
        }
        Ok(keyward::lanes::nonce(alloy::primitives::aliases::U192::from(self.lane), self.seq))
    }
}

/// PolicyHook flags for `grant`: any of them puts the key under the PolicyHook at its CREATE2 address.
#[derive(Args)]
struct PolicyArgs {
    /// Allow calls to `target:selector` (selector as 0x + 8 hex digits, or `any`); repeatable.
    #[arg(long = "allow", value_name = "TARGET:SELECTOR")]
    allow: Vec<String>,
    /// Cap ERC-20 spending per day: `token:amount` (base units); repeatable.
    #[arg(long = "daily-limit", value_name = "TOKEN:AMOUNT")]
    daily_limit: Vec<String>,
    /// Cap the number of calls the key may make.
    #[arg(long)]
    max_calls: Option<u32>,
}

impl PolicyArgs {
    fn is_empty(&self) -> bool {
        self.allow.is_empty() && self.daily_limit.is_empty() && self.max_calls.is_none()
    }

    /// The hook calls configuring `key_hash`.
    fn calls(&self, key_hash: B256, hook: Address) -> Result<Vec<keyward::bindings::Call>> {
        use keyward::policy;
        let mut calls = Vec::new();
        for a in &self.allow {
            let (target, selector) =
                a.split_once(':').ok_or_else(|| eyre!("--allow {a:?}: expected TARGET:SELECTOR"))?;
            let target: Address = target.parse().map_err(|_| eyre!("--allow {a:?}: {target:?} is not an address"))?;
            let selector: [u8; 4] = if selector == "any" {
                policy::ANY_SELECTOR
            } else {
                let raw: Bytes = selector.parse().map_err(|_| eyre!("--allow {a:?}: selector is not hex"))?;
                raw.as_ref().try_into().map_err(|_| eyre!("--allow {a:?}: a selector is 4 bytes"))?
            };
            calls.push(policy::to_hook(hook, policy::allow(key_hash, target, selector)));
        }
        for d in &self.daily_limit {
            let (token, amount) =
                d.split_once(':').ok_or_else(|| eyre!("--daily-limit {d:?}: expected TOKEN:AMOUNT"))?;
            let token: Address =
                token.parse().map_err(|_| eyre!("--daily-limit {d:?}: {token:?} is not an address"))?;
            let amount: u128 = amount.parse().map_err(|_| eyre!("--daily-limit {d:?}: {amount:?} is not an amount"))?;
            calls.push(policy::to_hook(hook, policy::token_limit(key_hash, token, amount, 86_400, 0)));
        }
        if let Some(n) = self.max_calls {
            calls.push(policy::to_hook(hook, policy::usage_limits(key_hash, n, 0, 0, 0)));
        }
        Ok(calls)
    }
}

#[derive(Clone, Copy, ValueEnum)]
enum Via {
    #[value(name = "4337")]
    Erc4337,
    Relayed,
}

#[derive(Clone, Copy, ValueEnum)]
enum KeyKind {
    Secp256k1,
    P256,
    Webauthn,
}

#[derive(Args)]
struct KeyArgs {
    /// Key type.
    #[arg(long = "type", value_enum, default_value = "secp256k1")]
    kind: KeyKind,
    /// secp256k1: the signer address; P256/WebAuthn: x ++ y (64 bytes hex).
    #[arg(long)]
    public_key: String,
}

#[derive(Subcommand)]
enum KeyCmd {
    /// The key hash the account knows a key by.
    Hash(KeyArgs),
}

#[derive(Subcommand)]
enum EncodeCmd {
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

#[derive(Args)]
struct Online {
    /// RPC URL.
    #[arg(long, env = "ETH_RPC_URL", default_value = "http://127.0.0.1:8545")]
    rpc_url: String,
    /// The account (the EOA's address).
    #[arg(long)]
    account: Address,
    /// Private key of the sender (hex); never printed.
    #[arg(long, env = "KEYWARD_PRIVATE_KEY", hide_env_values = true, conflicts_with = "private_key_file")]
    private_key: Option<String>,
    /// A file holding the sender's private key.
    #[arg(long)]
    private_key_file: Option<PathBuf>,
}

impl Online {
    fn signer(&self) -> Result<Option<PrivateKeySigner>> {
        let text = match (&self.private_key, &self.private_key_file) {
            (Some(k), _) => k.clone(),
            (None, Some(f)) => std::fs::read_to_string(f).wrap_err_with(|| format!("reading {}", f.display()))?,
            (None, None) => return Ok(None),
        };
        Ok(Some(parse_private_key(&text)?))
    }

    async fn account(&self, needs_signer: bool) -> Result<Account<DynProvider>> {
        let url = self.rpc_url.parse().wrap_err_with(|| format!("invalid RPC URL {:?}", self.rpc_url))?;
        let provider = match self.signer()? {
            Some(s) => ProviderBuilder::new().wallet(EthereumWallet::from(s)).connect_http(url).erased(),
            None if needs_signer => bail!("a private key is needed: set KEYWARD_PRIVATE_KEY or --private-key-file"),
            None => ProviderBuilder::new().connect_http(url).erased(),
        };
        provider.get_chain_id().await.map_err(|e| eyre!("RPC at {} is unreachable: {e}", self.rpc_url))?;
        Ok(Account::at(self.account, provider))
    }
}

/// A private key given as 32 bytes of hex (with or without 0x).
fn parse_private_key(text: &str) -> Result<PrivateKeySigner> {
    let text = text.trim();
    let hex = text.strip_prefix("0x").unwrap_or(text);
    let secret: B256 = format!("0x{hex}").parse().map_err(|_| eyre!("the private key is not 32 bytes of hex"))?;
    PrivateKeySigner::from_bytes(&secret).map_err(|_| eyre!("the private key is not a valid secp256k1 scalar"))
}

fn parse_key(args: &KeyArgs) -> Result<Key> {
    let raw: Bytes = args.public_key.parse().map_err(|_| eyre!("public key {:?} is not hex", args.public_key))?;
    Ok(match args.kind {
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
            if matches!(args.kind, KeyKind::P256) { Key::p256(x, y) } else { Key::webauthn_p256(x, y) }
        }
    })
}

fn now() -> u64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_secs())
}

fn build_settings(a: &SettingsArgs) -> Result<Settings> {
    build_settings_with(a, None, Flags::NONE)
}

/// The settings `a` describes, with `hook` instead of `--hook` and `extra` flags on top of `--flags`.
fn build_settings_with(a: &SettingsArgs, hook: Option<Address>, extra: Flags) -> Result<Settings> {
    let flags = match &a.flags {
        Some(text) => text.parse::<Flags>()?,
        None => Flags::NONE,
    };
    let mut b = Settings::builder().admin(a.admin).hook(hook.or(a.hook).unwrap_or_default()).flags(flags | extra);
    if let Some(t) = a.expires_at {
        b = b.expires_at(t);
    }
    if let Some(secs) = a.expires_in {
        b = b.expires_in(now(), Duration::from_secs(secs));
    }
    if let Some(t) = a.valid_after {
        b = b.valid_after(t);
    }
    Ok(b.build()?)
}

fn settings_json(s: Settings) -> serde_json::Value {
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

/// A call given as `TO[:DATA[:VALUE]]`.
fn parse_call(text: &str) -> Result<keyward::bindings::Call> {
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
    Ok(keyward::bindings::Call { to, value, data })
}

fn out(json_mode: bool, value: &serde_json::Value, text: &str) {
    if json_mode {
        println!("{value}");
    } else {
        println!("{text}");
    }
}

#[allow(clippy::too_many_lines)] // a dispatcher: one short arm per command
async fn run(cli: Cli) -> Result<()> {
    let j = cli.json;
    match cli.command {
        Command::Settings(SettingsCmd::Encode(a)) => {
            let s = build_settings(&a)?;
            out(j, &settings_json(s), &s.to_string());
        }
        Command::Settings(SettingsCmd::Decode { settings }) => {
            let s: Settings = settings.parse()?;
            let v = settings_json(s);
            let text = format!(
                "hook {}\nexpiration {}\nadmin {}\nvalidAfter {}\nflags {}",
                s.hook(),
                s.expiration(),
                s.is_admin(),
                s.valid_after(),
                s.flags()
            );
            out(j, &v, &text);
        }
        Command::Key(KeyCmd::Hash(a)) => {
            let h = parse_key(&a)?.hash();
            out(j, &json!({ "keyHash": h }), &h.to_string());
        }
        Command::Encode(e) => {
            let data = match e {
                EncodeCmd::Register(k) => encode::register(&parse_key(&k)?),
                EncodeCmd::Grant { key, settings } => encode::grant(&parse_key(&key)?, build_settings(&settings)?),
                EncodeCmd::Update { key_hash, settings } => encode::update(key_hash, build_settings(&settings)?),
                EncodeCmd::Revoke { key_hash } => encode::revoke(key_hash),
                EncodeCmd::RevokeAll => encode::revoke_all(),
                EncodeCmd::Execute { to, data, value } => {
                    encode::execute(&[keyward::bindings::Call { to, value, data }], true)
                }
                EncodeCmd::ExecuteBatch { calls, continue_on_failure } => {
                    let calls = calls.iter().map(|c| parse_call(c)).collect::<Result<Vec<_>>>()?;
                    encode::execute_batch(&calls, !continue_on_failure)
                }
                EncodeCmd::InvalidateNonce(n) => encode::invalidate_nonce(n.nonce()?),
                EncodeCmd::UpdateSalt { prefix } => encode::update_salt(prefix),
                EncodeCmd::ApproveNative { spender, amount, transient: false } => {
                    encode::approve_native(spender, amount)
                }
                EncodeCmd::ApproveNative { spender, amount, transient: true } => {
                    encode::approve_native_transient(spender, amount)
                }
                EncodeCmd::SetGasBudget(b) => encode::set_gas_budget(b.key_hash, b.budget()?),
            };
            out(j, &json!({ "calldata": data }), &data.to_string());
        }
        Command::Keys(o) => print_keys(&o.account(false).await?, j).await?,
        Command::Grant { online, key, settings: settings_args, policy, gas_budget_per_day } => {
            let key = parse_key(&key)?;
            let mut calls = Vec::new();
            let budget_flag = if gas_budget_per_day.is_some() { Flags::GAS_BUDGET } else { Flags::NONE };
            let settings = if policy.is_empty() {
                build_settings_with(&settings_args, None, budget_flag)?
            } else {
                // Under the PolicyHook, with AFTER_EXECUTE_ON_FAILURE (it only rolls back after failed calls).
                let hook = keyward::deploy::policy_hook_address();
                if settings_args.hook.is_some_and(|h| h != hook) {
                    bail!("--hook conflicts with the policy flags, which configure the PolicyHook at {hook}");
                }
                calls = policy.calls(key.hash(), hook)?;
                build_settings_with(&settings_args, Some(hook), Flags::AFTER_EXECUTE_ON_FAILURE | budget_flag)?
            };
            if let Some(wei) = gas_budget_per_day {
                let budget = encode::gas_budget(wei, 86_400, 0)?;
                calls.insert(0, encode::self_call(encode::set_gas_budget(key.hash(), budget)));
            }
            calls.insert(0, encode::self_call(encode::grant(&key, settings)));
            let tx = online.account(true).await?.execute_as_root(&calls).await?;
            out(j, &json!({ "keyHash": key.hash(), "tx": tx }), &format!("granted {} in {tx}", key.hash()));
        }
        Command::Update { online, key_hash, settings } => {
            let tx = online.account(true).await?.update(key_hash, build_settings(&settings)?).await?;
            out(j, &json!({ "keyHash": key_hash, "tx": tx }), &format!("updated {key_hash} in {tx}"));
        }
        Command::Deploy { rpc_url, private_key } => {
            let signer = parse_private_key(&private_key)?;
            let url = rpc_url.parse().wrap_err_with(|| format!("invalid RPC URL {rpc_url:?}"))?;
            let provider = ProviderBuilder::new().wallet(EthereumWallet::from(signer)).connect_http(url);
            let keyward_addr =
                create2(&provider, keyward::deploy::keyward_salt(), &keyward::keyward_bytecode()).await?;
            let hook =
                create2(&provider, keyward::deploy::policy_hook_salt(), &keyward::policy_hook_bytecode()).await?;
            out(
                j,
                &json!({ "keyward": keyward_addr, "policyHook": hook }),
                &format!("Keyward {keyward_addr}\nPolicyHook {hook}"),
            );
        }
        Command::Delegate { online, implementation } => {
            let signer = online
                .signer()?
                .ok_or_else(|| eyre!("a private key is needed: set KEYWARD_PRIVATE_KEY or --private-key-file"))?;
            if signer.address() != online.account {
                bail!(
                    "--account must be the private key's address {} (EIP-7702 delegates the signer)",
                    signer.address()
                );
            }
            let implementation = implementation.unwrap_or_else(keyward::deploy::keyward_address);
            let tx = online.account(true).await?.delegate(&signer, implementation, &[]).await?;
            out(
                j,
                &json!({ "implementation": implementation, "tx": tx }),
                &format!("delegated to {implementation} in {tx}"),
            );
        }
        Command::Exec {
            online,
            via,
            bundler,
            receipt_timeout,
            key_type,
            session_key_file,
            to,
            data,
            value,
            lane,
            reserved_lane,
        } => {
            let text = std::fs::read_to_string(&session_key_file)
                .wrap_err_with(|| format!("reading {}", session_key_file.display()))?;
            let secret: B256 = text.trim().parse().map_err(|_| eyre!("the session key is not 32 bytes of hex"))?;
            let signer: Box<dyn keyward::KeySigner> = match key_type {
                KeyKind::Secp256k1 => Box::new(keyward::Secp256k1Signer(
                    PrivateKeySigner::from_bytes(&secret).map_err(|_| eyre!("invalid secp256k1 session key"))?,
                )),
                KeyKind::P256 => Box::new(keyward::P256KeySigner::from_bytes(&secret.0)?),
                KeyKind::Webauthn => Box::new(keyward::WebAuthnSigner::new(
                    keyward::P256KeySigner::from_bytes(&secret.0)?.0,
                    "keyward.local",
                )),
            };
            let calls = [keyward::bindings::Call { to, value, data }];
            let lane = match lane {
                Some(key) => Lane::Key(alloy::primitives::aliases::U192::from(key)),
                None => Lane::Reserved(reserved_lane.unwrap_or(0)),
            };
            if let Some(url) = bundler {
                if matches!(via, Via::Relayed) {
                    bail!("--bundler sends an ERC-4337 user operation: it cannot go --via relayed");
                }
                let route = UserOpRoute::bundler(BundlerClient::new(url), Duration::from_secs(receipt_timeout));
                let account = online.account(false).await?;
                let request = UserOpRequest::new(signer.as_ref(), calls, Pricing::Bundler).lane(lane);
                let op = account.prepare(&route, request).await.map_err(|e| refusal(e, "nothing was sent"))?;
                let r = account.send(&route, &op).await.map_err(|e| refusal(e, "sent"))?;
                let v = json!({
                    "userOpHash": r.user_op_hash, "tx": r.transaction_hash, "block": r.block_number,
                    "keyHash": op.key_hash, "nonce": r.nonce, "actualGasCost": r.actual_gas_cost.to_string(),
                });
                let text = format!(
                    "executed as {} in user operation {} (bundle {}, block {}), gas cost {} wei",
                    op.key_hash, r.user_op_hash, r.transaction_hash, r.block_number, r.actual_gas_cost
                );
                out(j, &v, &text);
                return Ok(());
            }
            let account = online.account(true).await?;
            let entry_point = keyward::userop::ENTRY_POINT_V08;
            let tx = match via {
                Via::Erc4337 => account.execute_user_op_in_lane(signer.as_ref(), &calls, entry_point, lane).await?,
                Via::Relayed => {
                    let (batch, signature) = account.signed_batch(signer.as_ref(), &calls, lane).await?;
                    account.relay(batch, signature).await?
                }
            };
            out(j, &json!({ "tx": tx }), &format!("executed as {} in {tx}", signer.key_hash()));
        }
        Command::Policy { online, key_hash, hook } => {
            let account = online.account(false).await?;
            let hook = if let Some(h) = hook {
                h
            } else {
                let hook = account.settings(key_hash).await?.hook();
                if hook == Address::ZERO {
                    bail!("key {key_hash} has no hook: it is limited only by its settings");
                }
                hook
            };
            let p = account.policy(hook, key_hash).await?;
            let (v, text) = policy_view(hook, &p);
            out(j, &v, &text);
        }
        Command::Revoke { online, key_hash } => {
            let tx = online.account(true).await?.revoke(key_hash).await?;
            out(j, &json!({ "keyHash": key_hash, "tx": tx }), &format!("revoked {key_hash} in {tx}"));
        }
        Command::RevokeAll(online) => {
            let tx = online.account(true).await?.revoke_all().await?;
            out(j, &json!({ "tx": tx }), &format!("revoked every key in {tx}"));
        }
        Command::SetGasBudget { online, budget } => {
            let kh = budget.key_hash;
            let tx = online.account(true).await?.set_gas_budget(kh, budget.budget()?).await?;
            out(j, &json!({ "keyHash": kh, "tx": tx }), &format!("set the gas budget of {kh} in {tx}"));
        }
        Command::GasBudget { online, key_hash } => {
            let (b, s) = online.account(false).await?.gas_budget(key_hash).await?;
            let v = json!({
                "keyHash": key_hash,
                "perPeriod": b.perPeriod.to_string(), "period": b.period.to::<u64>(), "lifetime": b.lifetime.to_string(),
                "window": s.window.to::<u64>(), "inWindow": s.inWindow.to_string(), "total": s.total.to_string(),
            });
            let text = format!(
                "per period {} wei every {}s, lifetime {} wei (0 = no cap; both 0 allow nothing)\ncharged {} wei in window {} ({}s windows), {} wei in total",
                b.perPeriod, b.period, b.lifetime, s.inWindow, s.window, b.period, s.total
            );
            out(j, &v, &text);
        }
        Command::InvalidateNonce { online, nonce } => {
            let n = nonce.nonce()?;
            let tx = online.account(true).await?.invalidate_nonce(n).await?;
            out(
                j,
                &json!({ "nonce": n, "tx": tx }),
                &format!("moved lane {} to sequence {} in {tx}", nonce.lane, nonce.seq),
            );
        }
        Command::UpdateSalt { online, prefix } => {
            let tx = online.account(true).await?.update_salt(prefix).await?;
            out(j, &json!({ "prefix": prefix, "tx": tx }), &format!("new salt prefix {prefix} in {tx}"));
        }
        Command::Watch { online, from_block, confirmations, once, max_blocks, key_hash, cursor_file } => {
            let saved = cursor_file.as_deref().map(read_cursor).transpose()?.flatten();
            let events = online.account(false).await?.events();
            let mut events = match saved {
                Some(cursor) => events.from_cursor(cursor),
                None => events.from_block(from_block),
            }
            .confirmations(confirmations)
            .page_size(max_blocks)
            .filter(EventFilter::all().key(key_hash))
            .follow(!once)
            .poll_interval(Duration::from_secs(1));
            // The stream retries an RPC failure with backoff from its cursor: the watcher survives reconnects and
            // never skips or repeats an event. Each failure is reported on stderr.
            while let Some(event) = events.next().await {
                match event {
                    Ok(e) => {
                        println!("{}", event_json(&e));
                        if let Some(path) = &cursor_file {
                            write_cursor(path, events.cursor())?;
                        }
                    }
                    Err(e) if !once && e.kind() == keyward::ErrorKind::Transient => {
                        eprintln!("watch: {:#} (retrying)", eyre::Report::from(e));
                    }
                    Err(e) => return Err(e.into()),
                }
            }
            if let Some(path) = &cursor_file {
                write_cursor(path, events.cursor())?;
            }
        }
        Command::Demo => demo::run(j).await?,
    }
    Ok(())
}

/// The cursor saved in `path`, `None` when there is no such file.
fn read_cursor(path: &std::path::Path) -> Result<Option<keyward::client::Cursor>> {
    match std::fs::read_to_string(path) {
        Ok(text) => serde_json::from_str(&text).map(Some).wrap_err_with(|| {
            format!("{} is not a watch cursor (delete it to start from --from-block)", path.display())
        }),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(e).wrap_err_with(|| format!("reading {}", path.display())),
    }
}

/// Saves `cursor` to `path` atomically (a temporary file renamed over it): a watcher stopped at any moment leaves
/// either the old cursor or the new one.
fn write_cursor(path: &std::path::Path, cursor: keyward::client::Cursor) -> Result<()> {
    let mut tmp = path.as_os_str().to_owned();
    tmp.push(".tmp");
    let text = serde_json::to_string(&cursor)?;
    std::fs::write(&tmp, text).wrap_err_with(|| format!("writing {}", path.display()))?;
    std::fs::rename(&tmp, path).wrap_err_with(|| format!("writing {}", path.display()))
}

/// A failed user operation as one line that starts with what it means for the caller (the error's class), then
/// the decoded revert when there is one, then the error; `stage` says whether it was sent.
fn refusal(e: keyward::Error, stage: &str) -> eyre::Report {
    let class = match e.kind() {
        keyward::ErrorKind::RefusedByPolicy => format!("refused by the key's policy or the account, {stage}"),
        keyward::ErrorKind::KeyExpiredOrRevoked => format!("the key is expired or revoked, {stage}"),
        keyward::ErrorKind::Transient => format!("a transient failure, {stage}; retry later"),
        keyward::ErrorKind::Misuse => format!("an invalid request, {stage}"),
    };
    match e.revert() {
        Some(revert) => eyre::Report::new(e).wrap_err(format!("{class}: {revert:?}")),
        None => eyre::Report::new(e).wrap_err(class),
    }
}

/// Deploys through the CREATE2 deployer unless the code is already there; returns the address.
async fn create2(provider: &impl Provider, salt: B256, code: &[u8]) -> Result<Address> {
    use alloy::network::TransactionBuilder;
    let addr = keyward::deploy::create2_address(salt, code);
    if !provider.get_code_at(addr).await.map_err(|e| eyre!("rpc: {e}"))?.is_empty() {
        return Ok(addr);
    }
    if provider.get_code_at(keyward::deploy::CREATE2_DEPLOYER).await.map_err(|e| eyre!("rpc: {e}"))?.is_empty() {
        bail!("the CREATE2 deployer {} is not on this chain", keyward::deploy::CREATE2_DEPLOYER);
    }
    let tx = alloy::rpc::types::TransactionRequest::default()
        .with_to(keyward::deploy::CREATE2_DEPLOYER)
        .with_input(keyward::deploy::create2_call_data(salt, code));
    provider
        .send_transaction(tx)
        .await
        .map_err(|e| eyre!("rpc: {e}"))?
        .get_receipt()
        .await
        .map_err(|e| eyre!("rpc: {e}"))?;
    Ok(addr)
}

async fn print_keys(account: &Account<DynProvider>, j: bool) -> Result<()> {
    let keys = account.keys().await?;
    if j {
        for k in &keys {
            println!(
                "{}",
                json!({
                    "keyHash": k.key_hash,
                    "type": format!("{:?}", k.key.keyType),
                    "settings": k.settings.to_string(),
                    "flags": k.settings.flags().to_string(),
                    "status": format!("{:?}", k.status),
                    "timeLeft": k.time_left,
                })
            );
        }
        return Ok(());
    }
    println!("{:<66}  {:<12}  {:<13}  time left", "key hash", "type", "status");
    for k in &keys {
        let left = k.time_left.map_or_else(|| "never expires".to_owned(), |t| format!("{t}s"));
        let kind = match k.key.keyType {
            KeyType::Secp256k1 => "secp256k1",
            KeyType::P256 => "p256",
            KeyType::WebAuthnP256 => "webauthn",
            KeyType::__Invalid => "?",
        };
        let status = match k.status {
            KeyStatus::Active => "active",
            KeyStatus::Expired => "expired",
            KeyStatus::NotYetValid => "not yet valid",
            KeyStatus::Revoked => "revoked",
        };
        println!("{:<66}  {kind:<12}  {status:<13}  {left}", k.key_hash.to_string());
    }
    Ok(())
}

/// A policy as JSON and as text.
fn policy_view(hook: Address, policy: &keyward::bindings::policy::Policy) -> (serde_json::Value, String) {
    use keyward::bindings::policy::{Limits, RuleState, SignatureMode, Spend};
    use std::fmt::Write as _;

    let state = |s: &RuleState| match s {
        RuleState::Allow => "allow",
        RuleState::Deny => "deny",
        _ => "none",
    };
    let limits = |l: &Limits| json!({ "perPeriod": l.perPeriod.to_string(), "lifetime": l.lifetime.to_string(), "period": l.period });
    let spend = |s: &Spend| json!({ "inWindow": s.inWindow.to_string(), "total": s.total.to_string(), "windowStart": s.windowStart });
    let rules: Vec<_> = policy
        .rules
        .iter()
        .map(|r| json!({ "target": r.target, "selector": r.selector, "state": state(&r.state), "conditions": r.conditions.len() }))
        .collect();
    let tokens: Vec<_> = policy
        .tokens
        .iter()
        .map(|t| json!({ "token": t.token, "limits": limits(&t.limits), "spend": spend(&t.spend) }))
        .collect();
    let usage = &policy.usage;
    let mode = match policy.signatureMode {
        SignatureMode::Any => "any",
        SignatureMode::Domains => "domains",
        _ => "off",
    };
    let value = json!({
        "hook": hook,
        "active": policy.active,
        "rules": rules,
        "native": { "enabled": policy.native.enabled, "perCall": policy.native.perCall.to_string(), "limits": limits(&policy.native.limits), "spend": spend(&policy.native.spend) },
        "tokens": tokens,
        "usage": { "maxCalls": usage.maxCalls, "used": usage.used, "maxPerPeriod": usage.maxPerPeriod, "inWindow": usage.inWindow, "period": usage.period, "windowStart": usage.windowStart, "maxPerBatch": usage.maxPerBatch },
        "signatures": { "mode": mode, "domains": policy.signatureDomains },
        "paymasters": policy.paymasters,
    });
    let mut text = format!("hook {hook}\n");
    if !policy.active {
        text.push_str("NOT ACTIVE: the key's settings do not name this hook, so nothing below applies to it\n");
    }
    for r in &policy.rules {
        let _ =
            writeln!(text, "rule {} {}:{} ({} conditions)", state(&r.state), r.target, r.selector, r.conditions.len());
    }
    let native = &policy.native;
    if native.enabled {
        let _ = writeln!(
            text,
            "native per call {} per period {} every {}s lifetime {}; spent {} in window, {} in total",
            native.perCall,
            native.limits.perPeriod,
            native.limits.period,
            native.limits.lifetime,
            native.spend.inWindow,
            native.spend.total
        );
    } else {
        text.push_str("native value not allowed\n");
    }
    for tk in &policy.tokens {
        let _ = writeln!(
            text,
            "token {} per period {} every {}s lifetime {}; spent {} in window, {} in total",
            tk.token, tk.limits.perPeriod, tk.limits.period, tk.limits.lifetime, tk.spend.inWindow, tk.spend.total
        );
    }
    let _ = writeln!(
        text,
        "calls {} of {} (0 = no cap); {} of {} per {}s window; at most {} per batch",
        usage.used, usage.maxCalls, usage.inWindow, usage.maxPerPeriod, usage.period, usage.maxPerBatch
    );
    if policy.paymasters.is_empty() {
        text.push_str("ERC-4337 gas: any paymaster, or the account within the key's gas budget\n");
    } else {
        let list: Vec<String> = policy.paymasters.iter().map(ToString::to_string).collect();
        let _ =
            writeln!(text, "ERC-4337 gas: paymasters {}, or the account within the key's gas budget", list.join(", "));
    }
    let _ = write!(text, "signatures {mode}");
    (value, text)
}

fn event_json(e: &keyward::client::KeyEvent) -> serde_json::Value {
    use keyward::client::KeyEvent;
    match e {
        KeyEvent::Granted { key, key_hash, settings, gas_budget, block, tx, .. } => json!({
            "event": "granted", "keyHash": key_hash, "keyType": format!("{:?}", key.keyType), "publicKey": key.publicKey,
            "settings": settings.to_string(), "expiration": settings.expiration(), "validAfter": settings.valid_after(),
            "hook": settings.hook(), "flags": settings.flags().to_string(),
            "gasBudget": gas_budget.as_ref().map(|b| json!({
                "perPeriod": b.perPeriod.to_string(), "period": b.period.to::<u64>(), "lifetime": b.lifetime.to_string()
            })),
            "block": block, "tx": tx
        }),
        KeyEvent::SettingsUpdated { key_hash, settings, block, tx, .. } => json!({
            "event": "settingsUpdated", "keyHash": key_hash, "settings": settings.to_string(), "block": block, "tx": tx
        }),
        KeyEvent::Revoked { key_hash, block, tx, .. } => {
            json!({"event": "revoked", "keyHash": key_hash, "block": block, "tx": tx})
        }
        KeyEvent::AllRevoked { epoch, block, tx, .. } => {
            json!({"event": "allRevoked", "epoch": epoch, "block": block, "tx": tx})
        }
        KeyEvent::Used { key_hash, block, tx, .. } => {
            json!({"event": "used", "keyHash": key_hash, "block": block, "tx": tx})
        }
        KeyEvent::EntryPointUpdated { entry_point, block, tx, .. } => {
            json!({"event": "entryPointUpdated", "entryPoint": entry_point, "block": block, "tx": tx})
        }
        KeyEvent::GasBudgetSet { key_hash, budget, block, tx, .. } => json!({
            "event": "gasBudgetSet", "keyHash": key_hash, "perPeriod": budget.perPeriod.to_string(),
            "period": budget.period.to::<u64>(), "lifetime": budget.lifetime.to_string(), "block": block, "tx": tx
        }),
        KeyEvent::NonceInvalidated { nonce, block, tx, .. } => {
            json!({"event": "nonceInvalidated", "nonce": nonce, "block": block, "tx": tx})
        }
        KeyEvent::DomainChanged { block, tx, .. } => json!({"event": "domainChanged", "block": block, "tx": tx}),
        KeyEvent::NativeApproved { spender, value, block, tx, .. } => {
            json!({"event": "nativeApproved", "spender": spender, "value": value, "block": block, "tx": tx})
        }
    }
}

#[tokio::main]
async fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => {
            let _ = e.print();
            return if e.use_stderr() { ExitCode::from(2) } else { ExitCode::SUCCESS };
        }
    };
    match run(cli).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {}", format!("{e:#}").replace('\n', " "));
            ExitCode::FAILURE
        }
    }
}
