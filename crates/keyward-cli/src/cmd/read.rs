//! Reading the account: keys, a key's policy, a key's gas budget.

use std::time::Duration;

use alloy::{
    primitives::{Address, B256, U256},
    providers::DynProvider,
};
use clap::Args;
use eyre::{Result, bail};
use keyward::{
    bindings::KeyType,
    client::{Account, KeyStatus},
};
use serde_json::json;

use keyward::units::{Asset, Tokens, format_duration};

use crate::args::{Online, TokenArgs, out};

/// `keyward policy`.
#[derive(Args)]
pub(crate) struct PolicyArgs {
    #[command(flatten)]
    online: Online,
    /// The key hash.
    key_hash: B256,
    /// The hook to ask (default: the hook in the key's settings).
    #[arg(long)]
    hook: Option<Address>,
    #[command(flatten)]
    tokens: TokenArgs,
}

/// `keyward gas-budget`.
#[derive(Args)]
pub(crate) struct GasBudgetArgs {
    #[command(flatten)]
    online: Online,
    /// The key hash.
    key_hash: B256,
}

/// `keyward keys`.
pub(crate) async fn keys(online: Online, j: bool) -> Result<()> {
    print_keys(&online.account(false).await?, j).await
}

/// `keyward policy`.
pub(crate) async fn policy(a: PolicyArgs, j: bool) -> Result<()> {
    let (account, chain_id) = a.online.connect(false).await?;
    let tokens = a.tokens.table(chain_id)?;
    let key_hash = a.key_hash;
    let hook = if let Some(h) = a.hook {
        h
    } else {
        let hook = account.settings(key_hash).await?.hook();
        if hook == Address::ZERO {
            bail!("key {key_hash} has no hook: it is limited only by its settings");
        }
        hook
    };
    let p = account.policy(hook, key_hash).await?;
    let (v, text) = policy_view(hook, &p, &tokens);
    out(j, &v, &text);
    Ok(())
}

/// `keyward gas-budget`.
pub(crate) async fn gas_budget(args: GasBudgetArgs, j: bool) -> Result<()> {
    let key_hash = args.key_hash;
    let (b, s) = args.online.account(false).await?.gas_budget(key_hash).await?;
    let v = json!({
        "keyHash": key_hash,
        "perPeriod": b.perPeriod.to_string(), "period": b.period.to::<u64>(), "lifetime": b.lifetime.to_string(),
        "window": s.window.to::<u64>(), "inWindow": s.inWindow.to_string(), "total": s.total.to_string(),
    });
    let eth = |v| keyward::units::format_eth(U256::from(v));
    let text = format!(
        "per period {} every {}, lifetime {} (0 = no cap; both 0 allow nothing)\ncharged {} in window {} ({} windows), {} in total",
        eth(b.perPeriod),
        format_duration(Duration::from_secs(b.period.to())),
        eth(b.lifetime),
        eth(s.inWindow),
        s.window,
        format_duration(Duration::from_secs(b.period.to())),
        eth(s.total)
    );
    out(j, &v, &text);
    Ok(())
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
        let left = k.time_left.map_or_else(|| "never expires".to_owned(), |t| format_duration(Duration::from_secs(t)));
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
fn policy_view(
    hook: Address,
    policy: &keyward::bindings::policy::Policy,
    table: &Tokens,
) -> (serde_json::Value, String) {
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
    // Caps in the asset's units ("no cap" for 0, as the hook reads it), periods as durations.
    let cap = |asset: Asset, v: U256| if v.is_zero() { "no cap".to_owned() } else { table.format(asset, v) };
    let every = |period: u64| format_duration(Duration::from_secs(period));
    let native = &policy.native;
    if native.enabled {
        let n = Asset::Native;
        let _ = writeln!(
            text,
            "native: per call {}, per period {} every {}, lifetime {}; spent {} in this window, {} in total",
            cap(n, U256::from(native.perCall)),
            cap(n, U256::from(native.limits.perPeriod)),
            every(native.limits.period.to()),
            cap(n, U256::from(native.limits.lifetime)),
            table.format(n, U256::from(native.spend.inWindow)),
            table.format(n, U256::from(native.spend.total))
        );
    } else {
        text.push_str("native value not allowed\n");
    }
    for tk in &policy.tokens {
        let t = Asset::Token(tk.token);
        let _ = writeln!(
            text,
            "token {}: per period {} every {}, lifetime {}; spent {} in this window, {} in total",
            table.name(t),
            cap(t, U256::from(tk.limits.perPeriod)),
            every(tk.limits.period.to()),
            cap(t, U256::from(tk.limits.lifetime)),
            table.format(t, U256::from(tk.spend.inWindow)),
            table.format(t, U256::from(tk.spend.total))
        );
    }
    let _ = writeln!(
        text,
        "calls {} of {} (0 = no cap); {} of {} per {} window; at most {} per batch",
        usage.used,
        usage.maxCalls,
        usage.inWindow,
        usage.maxPerPeriod,
        every(usage.period.to()),
        usage.maxPerBatch
    );
    if policy.paymasters.is_empty() {
        text.push_str("ERC-4337 gas: no paymaster listed; the account pays, within the key's gas budget\n");
    } else {
        let list: Vec<String> = policy.paymasters.iter().map(ToString::to_string).collect();
        let _ =
            writeln!(text, "ERC-4337 gas: paymasters {}, or the account within the key's gas budget", list.join(", "));
    }
    let _ = write!(text, "signatures {mode}");
    (value, text)
}
