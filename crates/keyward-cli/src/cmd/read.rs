//! Reading the account: keys, a key's policy, a key's gas budget.

use alloy::{
    primitives::{Address, B256},
    providers::DynProvider,
};
use clap::Args;
use eyre::{Result, bail};
use keyward::{
    bindings::KeyType,
    client::{Account, KeyStatus},
};
use serde_json::json;

use crate::args::{Online, out};

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
    let account = a.online.account(false).await?;
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
    let (v, text) = policy_view(hook, &p);
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
    let text = format!(
        "per period {} wei every {}s, lifetime {} wei (0 = no cap; both 0 allow nothing)\ncharged {} wei in window {} ({}s windows), {} wei in total",
        b.perPeriod, b.period, b.lifetime, s.inWindow, s.window, b.period, s.total
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
