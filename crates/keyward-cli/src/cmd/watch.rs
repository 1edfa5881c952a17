//! `keyward watch`: key and account events as JSON lines, following new blocks, built on the library's resumable
//! stream (`Account::events`).

use std::time::Duration;

use clap::Args;
use eyre::Result;
use keyward::client::EventFilter;
use serde_json::json;

use alloy::primitives::B256;

use crate::args::Online;

/// `keyward watch`.
#[derive(Args)]
pub(crate) struct WatchArgs {
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
}

/// Runs the command.
pub(crate) async fn run(a: WatchArgs) -> Result<()> {
    let mut events = a
        .online
        .account(false)
        .await?
        .events()
        .from_block(a.from_block)
        .confirmations(a.confirmations)
        .page_size(a.max_blocks)
        .filter(EventFilter::all().key(a.key_hash))
        .follow(!a.once)
        .poll_interval(Duration::from_secs(1));
    // The stream retries an RPC failure with backoff from its cursor: the watcher survives reconnects and never
    // skips or repeats an event. Each failure is reported on stderr.
    while let Some(event) = events.next().await {
        match event {
            Ok(e) => println!("{}", event_json(&e)),
            Err(e) if !a.once && e.kind() == keyward::ErrorKind::Transient => {
                eprintln!("watch: {:#} (retrying)", eyre::Report::from(e));
            }
            Err(e) => return Err(e.into()),
        }
    }
    Ok(())
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
