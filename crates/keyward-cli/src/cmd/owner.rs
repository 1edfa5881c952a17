//! The owner's commands: deploy, delegate, grant, update, revoke, gas budgets, nonces, the salt. Each is sent by
//! the account's own EOA (the sender's key), except `deploy`.

use std::time::Duration;

use alloy::{
    network::EthereumWallet,
    primitives::{Address, B256, U256, aliases::U96},
    providers::{Provider, ProviderBuilder},
};
use clap::Args;
use eyre::{Result, WrapErr, bail, eyre};
use keyward::{
    Flags, Grant,
    grant::{NativeCaps, Policy, SpendCaps, UsageLimits},
    units::{Amount, Asset, CallSpec, Tokens},
};
use serde_json::json;

use crate::args::{
    GasBudgetArgs, KeyArgs, KeyKind, NonceArgs, Online, SettingsArgs, TokenArgs, duration, native_value, now, out,
    parse_private_key,
};

/// `keyward deploy`.
#[derive(Args)]
pub(crate) struct DeployArgs {
    /// RPC URL.
    #[arg(long, env = "ETH_RPC_URL", default_value = "http://127.0.0.1:8545")]
    rpc_url: String,
    /// Private key of the sender (hex); never printed.
    #[arg(long, env = "KEYWARD_PRIVATE_KEY", hide_env_values = true)]
    private_key: String,
}

/// Deploys Keyward and the PolicyHook at their CREATE2 addresses.
pub(crate) async fn deploy(a: DeployArgs, j: bool) -> Result<()> {
    let signer = parse_private_key(&a.private_key)?;
    let url = a.rpc_url.parse().wrap_err_with(|| format!("invalid RPC URL {:?}", a.rpc_url))?;
    let provider = ProviderBuilder::new().wallet(EthereumWallet::from(signer)).connect_http(url);
    let keyward_addr = create2(&provider, keyward::deploy::keyward_salt(), &keyward::keyward_bytecode()).await?;
    let hook = create2(&provider, keyward::deploy::policy_hook_salt(), &keyward::policy_hook_bytecode()).await?;
    out(
        j,
        &json!({ "keyward": keyward_addr, "policyHook": hook }),
        &format!("Keyward {keyward_addr}\nPolicyHook {hook}"),
    );
    Ok(())
}

/// `keyward delegate`.
#[derive(Args)]
pub(crate) struct DelegateArgs {
    #[command(flatten)]
    online: Online,
    /// The implementation (default: Keyward's CREATE2 address).
    #[arg(long)]
    implementation: Option<Address>,
}

/// Delegates the sender's EOA with EIP-7702.
pub(crate) async fn delegate(a: DelegateArgs, j: bool) -> Result<()> {
    let signer = a
        .online
        .signer()?
        .ok_or_else(|| eyre!("a private key is needed: set KEYWARD_PRIVATE_KEY or --private-key-file"))?;
    if signer.address() != a.online.account {
        bail!("--account must be the private key's address {} (EIP-7702 delegates the signer)", signer.address());
    }
    let implementation = a.implementation.unwrap_or_else(keyward::deploy::keyward_address);
    let tx = a.online.account(true).await?.delegate(&signer, implementation, &[]).await?;
    out(j, &json!({ "implementation": implementation, "tx": tx }), &format!("delegated to {implementation} in {tx}"));
    Ok(())
}

/// The key of `grant` (not given with `--request`, whose `to` is the key).
#[derive(Args)]
pub(crate) struct GrantKeyArgs {
    /// Key type.
    #[arg(long = "type", value_enum, default_value = "secp256k1")]
    kind: KeyKind,
    /// secp256k1: the signer address; P256/WebAuthn: x ++ y (64 bytes hex).
    #[arg(long, required_unless_present = "request")]
    public_key: Option<String>,
}

impl GrantKeyArgs {
    fn key(&self) -> Result<keyward::bindings::Key> {
        let public_key = self.public_key.clone().ok_or_else(|| eyre!("--public-key is required"))?;
        KeyArgs { kind: self.kind, public_key }.key()
    }
}

/// `keyward grant`: a key, its window and its policy, in one transaction, written with the library's grant builder
/// (a policy always comes with the PolicyHook in the key's settings; values out of range are errors).
#[derive(Args)]
pub(crate) struct GrantArgs {
    #[command(flatten)]
    online: Online,
    #[command(flatten)]
    key: GrantKeyArgs,
    #[command(flatten)]
    tokens: TokenArgs,
    /// Last valid second (unix).
    #[arg(long, conflicts_with_all = ["expires_in", "never_expires"])]
    expires_at: Option<u64>,
    /// Lifetime from now: `30s`, `5m`, `1h30m`, `7d`, or seconds. An expiry or --never-expires is required.
    #[arg(long, visible_alias = "expiry", value_name = "DURATION", value_parser = duration, conflicts_with = "never_expires")]
    expires_in: Option<Duration>,
    /// The key never expires (a grant without an expiry must say so).
    #[arg(long)]
    never_expires: bool,
    /// First valid second (unix).
    #[arg(long)]
    valid_after: Option<u64>,
    /// May make the account call itself (key management).
    #[arg(long)]
    admin: bool,
    /// Settings flags, names joined by `|` or `,`: AFTER_EXECUTE_ON_FAILURE, SPONSORED_ONLY (GAS_BUDGET comes with
    /// --gas-budget-per-day).
    #[arg(long, value_name = "FLAGS")]
    flags: Option<String>,
    /// A hook other than the PolicyHook, configured elsewhere (the policy flags below configure the PolicyHook).
    #[arg(long)]
    hook: Option<Address>,
    /// Allow calls: `TARGET:FUNCTION`, e.g. `usdc:transfer(address,uint256)`, `0xShop:receive` (plain ETH),
    /// `0xRouter:any`, `0xToken:0xa9059cbb`; repeatable.
    #[arg(long = "allow", value_name = "TARGET:FUNCTION")]
    allow: Vec<String>,
    /// Cap spending per --period: `usdc:100`, `eth:0.5`, `0xToken@6:12.5`; repeatable, one per asset.
    #[arg(long = "cap", value_name = "AMOUNT", requires = "period")]
    cap: Vec<String>,
    /// The window of the --cap caps: `1d`, `12h`, `1w`.
    #[arg(long, value_name = "DURATION", value_parser = duration)]
    period: Option<Duration>,
    /// Cap spending per day (a --cap with a 1d period): `usdc:100`, `eth:0.003`; repeatable.
    #[arg(long = "daily-limit", value_name = "AMOUNT")]
    daily_limit: Vec<String>,
    /// Cap spending over the key's lifetime: `usdc:1000`, `eth:1`; repeatable, one per asset.
    #[arg(long = "total-cap", value_name = "AMOUNT")]
    total_cap: Vec<String>,
    /// Cap the number of calls the key may make.
    #[arg(long)]
    max_calls: Option<u32>,
    /// ERC-4337 gas the account may pay for the key per day (`eth:0.01`, or wei): sets the GAS_BUDGET flag and the
    /// budget in the same transaction (a PolicyHook key needs this, or a paymaster, to use ERC-4337).
    #[arg(long, value_name = "AMOUNT")]
    gas_budget_per_day: Option<String>,
    /// An ERC-7715 `wallet_requestExecutionPermissions` request (one, or the params array): granted exactly under
    /// the PolicyHook, or refused with the reason and nothing sent; prints the responses (JSON).
    #[arg(
        long,
        value_name = "FILE.json",
        conflicts_with_all = [
            "public_key", "expires_at", "expires_in", "never_expires", "valid_after", "admin", "flags", "hook",
            "allow", "cap", "daily_limit", "total_cap", "max_calls", "gas_budget_per_day", "pop",
        ]
    )]
    request: Option<std::path::PathBuf>,
    /// The PolicyHook of an ERC-7715 grant (default: its CREATE2 address).
    #[arg(long, value_name = "ADDRESS", requires = "request")]
    policy_hook: Option<Address>,
    /// Proof of possession: the key's signature (hex) of `keyward::pop::digest(account, chain id, key hash)`,
    /// checked before anything is sent; a signature by another key, or for another account or chain, is refused.
    #[arg(long, value_name = "SIGNATURE")]
    pop: Option<alloy::primitives::Bytes>,
}

/// Caps of one asset: per period (with its window) and over the lifetime.
#[derive(Default)]
struct AssetCaps {
    per_period: Option<(U256, Duration)>,
    lifetime: Option<U256>,
}

impl GrantArgs {
    fn has_policy(&self) -> bool {
        !(self.allow.is_empty()
            && self.cap.is_empty()
            && self.daily_limit.is_empty()
            && self.total_cap.is_empty()
            && self.max_calls.is_none())
    }

    /// The PolicyHook policy the flags describe.
    fn policy(&self, tokens: &Tokens) -> Result<Policy> {
        let mut policy = Policy::new();
        for a in &self.allow {
            let spec = CallSpec::parse(a, tokens).map_err(|e| eyre!("--allow {a:?}: {e}"))?;
            policy = policy.allow(&spec);
        }
        let mut caps: Vec<(Asset, AssetCaps)> = Vec::new();
        let mut add = |flag: &str, text: &str, window: Option<Duration>| -> Result<()> {
            let amount = Amount::parse(text, tokens).map_err(|e| eyre!("{flag}: {e}"))?;
            let i = caps.iter().position(|(a, _)| *a == amount.asset).unwrap_or_else(|| {
                caps.push((amount.asset, AssetCaps::default()));
                caps.len() - 1
            });
            let entry = &mut caps[i].1;
            if let Some(w) = window {
                if entry.per_period.is_some() {
                    bail!("{flag} {text:?}: the asset already has a per-period cap");
                }
                entry.per_period = Some((amount.value, w));
            } else {
                if entry.lifetime.is_some() {
                    bail!("{flag} {text:?}: the asset already has a lifetime cap");
                }
                entry.lifetime = Some(amount.value);
            }
            Ok(())
        };
        for c in &self.cap {
            add("--cap", c, self.period)?;
        }
        for d in &self.daily_limit {
            add("--daily-limit", d, Some(Duration::from_hours(24)))?;
        }
        for t in &self.total_cap {
            add("--total-cap", t, None)?;
        }
        for (asset, c) in caps {
            let (per_period, period) = c.per_period.map_or((None, None), |(v, w)| (Some(v), Some(w)));
            policy = match asset {
                Asset::Native => {
                    policy.native_limit(NativeCaps { per_call: None, per_period, period, lifetime: c.lifetime })
                }
                Asset::Token(token) => {
                    policy.token_limit(token, SpendCaps { per_period, period, lifetime: c.lifetime })
                }
            };
        }
        if let Some(n) = self.max_calls {
            policy = policy.usage(UsageLimits { max_calls: Some(n), ..UsageLimits::default() });
        }
        Ok(policy)
    }

    /// The grant, checked by the builder.
    fn grant(&self, tokens: &Tokens) -> Result<Grant> {
        let key = self.key.key()?;
        let mut b = Grant::builder(key);
        b = match (self.expires_at, self.expires_in, self.never_expires) {
            (Some(t), _, _) => b.expires_at(t),
            (None, Some(d), _) => b.expires_in(now(), d),
            (None, None, true) => b.never_expires(),
            (None, None, false) => {
                bail!("give the key an expiry (--expires-in 1h, --expires-at UNIX) or --never-expires")
            }
        };
        if let Some(t) = self.valid_after {
            b = b.valid_after(t);
        }
        if self.admin {
            b = b.admin();
        }
        if let Some(text) = &self.flags {
            b = b.flags(text.parse::<Flags>()?);
        }
        if let Some(g) = &self.gas_budget_per_day {
            let wei = native_value("--gas-budget-per-day", g)?;
            b = b.gas_budget(SpendCaps::periodic(wei, Duration::from_hours(24)));
        }
        if self.has_policy() {
            let hook = keyward::deploy::policy_hook_address();
            if self.hook.is_some_and(|h| h != hook) {
                bail!("--hook conflicts with the policy flags, which configure the PolicyHook at {hook}");
            }
            b = b.policy(hook, self.policy(tokens)?);
        } else if let Some(h) = self.hook {
            b = b.hook(h);
        }
        Ok(b.build()?)
    }
}

/// Grants a key with its settings and policy.
pub(crate) async fn grant(a: GrantArgs, j: bool) -> Result<()> {
    if let Some(file) = &a.request {
        return super::erc7715::grant_request(&a.online, file, a.policy_hook, j).await;
    }
    let (account, chain_id) = a.online.connect(true).await?;
    let tokens = a.tokens.table(chain_id)?;
    let grant = a.grant(&tokens)?;
    if let Some(proof) = &a.pop {
        keyward::pop::verify(&grant.key, account.address(), chain_id, proof)
            .wrap_err("refused before sending: the key's holder did not prove possession")?;
    }
    let tx = account.execute_as_root(&grant.calls).await?;
    let kh = grant.key_hash;
    out(
        j,
        &json!({ "keyHash": kh, "tx": tx, "settings": grant.settings.to_string(), "hook": grant.hook() }),
        &format!("granted {kh} in {tx}"),
    );
    Ok(())
}

/// `keyward update`.
#[derive(Args)]
pub(crate) struct UpdateArgs {
    #[command(flatten)]
    online: Online,
    /// The key hash.
    key_hash: B256,
    #[command(flatten)]
    settings: SettingsArgs,
}

/// Writes a key's settings.
pub(crate) async fn update(a: UpdateArgs, j: bool) -> Result<()> {
    let kh = a.key_hash;
    let tx = a.online.account(true).await?.update(kh, a.settings.settings()?).await?;
    out(j, &json!({ "keyHash": kh, "tx": tx }), &format!("updated {kh} in {tx}"));
    Ok(())
}

/// `keyward revoke`.
#[derive(Args)]
pub(crate) struct RevokeArgs {
    #[command(flatten)]
    online: Online,
    /// The key hash.
    key_hash: B256,
}

/// Revokes a key.
pub(crate) async fn revoke(a: RevokeArgs, j: bool) -> Result<()> {
    let kh = a.key_hash;
    let tx = a.online.account(true).await?.revoke(kh).await?;
    out(j, &json!({ "keyHash": kh, "tx": tx }), &format!("revoked {kh} in {tx}"));
    Ok(())
}

/// `keyward pause` / `keyward resume`: one key, or every non-root key with `--all`.
#[derive(Args)]
pub(crate) struct PauseArgs {
    #[command(flatten)]
    online: Online,
    /// The key hash.
    #[arg(required_unless_present = "all", conflicts_with = "all")]
    key_hash: Option<B256>,
    /// Every non-root key (keys granted later included, until `resume --all`); the root is never paused.
    #[arg(long)]
    all: bool,
}

/// Pauses (`pause` true) or resumes a key, or every non-root key; the keys keep their settings and policy state.
pub(crate) async fn pause(a: PauseArgs, pause: bool, j: bool) -> Result<()> {
    let account = a.online.account(true).await?;
    let verb = if pause { "paused" } else { "resumed" };
    let (tx, what) = match (a.key_hash, pause) {
        (Some(kh), true) => (account.pause_key(kh).await?, kh.to_string()),
        (Some(kh), false) => (account.resume_key(kh).await?, kh.to_string()),
        (None, true) => (account.pause_all().await?, "every non-root key".to_owned()),
        (None, false) => (account.resume_all().await?, "every non-root key".to_owned()),
    };
    out(
        j,
        &json!({ "keyHash": a.key_hash, "all": a.key_hash.is_none(), verb: true, "tx": tx }),
        &format!("{verb} {what} in {tx}"),
    );
    Ok(())
}

/// Revokes every expired key in one transaction.
pub(crate) async fn prune(online: Online, j: bool) -> Result<()> {
    let pruned = online.account(true).await?.prune().await?;
    let text = match pruned.tx {
        Some(tx) => format!("revoked {} expired keys in {tx}", pruned.revoked.len()),
        None => "no key has expired: nothing sent".to_owned(),
    };
    out(j, &json!({ "revoked": pruned.revoked, "tx": pruned.tx }), &text);
    Ok(())
}

/// Revokes every non-root key.
pub(crate) async fn revoke_all(online: Online, j: bool) -> Result<()> {
    let tx = online.account(true).await?.revoke_all().await?;
    out(j, &json!({ "tx": tx }), &format!("revoked every key in {tx}"));
    Ok(())
}

/// `keyward set-gas-budget`.
#[derive(Args)]
pub(crate) struct SetGasBudgetArgs {
    #[command(flatten)]
    online: Online,
    #[command(flatten)]
    budget: GasBudgetArgs,
}

/// Sets a key's gas budget.
pub(crate) async fn set_gas_budget(a: SetGasBudgetArgs, j: bool) -> Result<()> {
    let kh = a.budget.key_hash;
    let tx = a.online.account(true).await?.set_gas_budget(kh, a.budget.budget()?).await?;
    out(j, &json!({ "keyHash": kh, "tx": tx }), &format!("set the gas budget of {kh} in {tx}"));
    Ok(())
}

/// `keyward invalidate-nonce`.
#[derive(Args)]
pub(crate) struct InvalidateNonceArgs {
    #[command(flatten)]
    online: Online,
    #[command(flatten)]
    nonce: NonceArgs,
}

/// Moves a nonce lane forward.
pub(crate) async fn invalidate_nonce(a: InvalidateNonceArgs, j: bool) -> Result<()> {
    let n = a.nonce.nonce()?;
    let tx = a.online.account(true).await?.invalidate_nonce(n).await?;
    out(
        j,
        &json!({ "nonce": n, "tx": tx }),
        &format!("moved lane {} to sequence {} in {tx}", a.nonce.lane, a.nonce.seq),
    );
    Ok(())
}

/// `keyward update-salt`.
#[derive(Args)]
pub(crate) struct UpdateSaltArgs {
    #[command(flatten)]
    online: Online,
    /// The new high 96 bits of the salt.
    prefix: U96,
}

/// Sets a new EIP-712 salt prefix.
pub(crate) async fn update_salt(a: UpdateSaltArgs, j: bool) -> Result<()> {
    let prefix = a.prefix;
    let tx = a.online.account(true).await?.update_salt(prefix).await?;
    out(j, &json!({ "prefix": prefix, "tx": tx }), &format!("new salt prefix {prefix} in {tx}"));
    Ok(())
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
