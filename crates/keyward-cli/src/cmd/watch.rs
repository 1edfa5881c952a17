//! `keyward watch`: key and account events as JSON lines, following new blocks, built on the library's resumable
//! stream (`Account::events`).

use std::{
    path::{Path, PathBuf},
    time::Duration,
};

use clap::Args;
use eyre::{Result, WrapErr};
use keyward::{
    client::{Cursor, EventFilter},
    webhook::{WebhookSender, notification},
};
use serde_json::json;

use alloy::{primitives::B256, transports::http::reqwest::Url};

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
    /// Resume from and save to this file: the position after the last event printed (JSON, rewritten atomically
    /// after each event and at the end). When it exists, the watcher starts there instead of at `--from-block`, so
    /// a restarted watcher neither skips nor repeats an event.
    #[arg(long, value_name = "PATH")]
    cursor_file: Option<PathBuf>,
    /// Deliver grants, revocations and key uses to this endpoint as signed HTTP POSTs (`delegation.created`,
    /// `delegation.revoked`, `delegation.used`; see the README for the verification recipe), each until the
    /// endpoint answers 2xx, with exponential backoff. The cursor is saved after each delivered event, so a
    /// restart or an outage neither loses nor repeats one. Needs --cursor-file and --webhook-secret-file.
    #[arg(long, value_name = "URL", requires_all = ["cursor_file", "webhook_secret_file"])]
    webhook: Option<Url>,
    /// The file holding the webhook's shared secret (its bytes, surrounding whitespace trimmed); never printed.
    #[arg(long, value_name = "PATH", requires = "webhook")]
    webhook_secret_file: Option<PathBuf>,
    /// With --webhook: the most to wait between two attempts, in seconds (the wait starts at 0.5 s and doubles).
    #[arg(long, value_name = "SECS", default_value_t = 60, requires = "webhook")]
    webhook_max_backoff: u64,
}

/// Runs the command.
pub(crate) async fn run(a: WatchArgs) -> Result<()> {
    let saved = a.cursor_file.as_deref().map(read_cursor).transpose()?.flatten();
    let sender = match (&a.webhook, &a.webhook_secret_file) {
        (Some(url), Some(file)) => {
            let secret = std::fs::read_to_string(file).wrap_err_with(|| format!("reading {}", file.display()))?;
            if secret.trim().is_empty() {
                eyre::bail!("the webhook secret file {} is empty", file.display());
            }
            let sender = WebhookSender::new(url.clone(), secret.trim().as_bytes())
                .backoff(Duration::from_millis(500), Duration::from_secs(a.webhook_max_backoff));
            Some(sender)
        }
        _ => None,
    };
    let (account, chain_id) = a.online.connect(false).await?;
    let address = account.address();
    let events = account.events();
    let mut events = match saved {
        Some(cursor) => events.from_cursor(cursor),
        None => events.from_block(a.from_block),
    }
    .confirmations(a.confirmations)
    .page_size(a.max_blocks)
    .filter(EventFilter::all().key(a.key_hash))
    .follow(!a.once)
    .poll_interval(Duration::from_secs(1));
    // The stream retries an RPC failure with backoff from its cursor: the watcher survives reconnects and never
    // skips or repeats an event. Each failure is reported on stderr.
    while let Some(event) = events.next().await {
        match event {
            Ok(e) => {
                // Delivered before the cursor moves past it: a watcher stopped during an outage resumes here.
                if let Some((sender, n)) = sender.as_ref().zip(notification(&e, address, chain_id)) {
                    sender
                        .deliver(&n, |attempt, err, wait| {
                            eprintln!(
                                "watch: webhook {} attempt {attempt}: {} (retrying in {wait:?})",
                                n.id,
                                keyward::explain::with_sources(err)
                            );
                        })
                        .await;
                }
                println!("{}", event_json(&e));
                if let Some(path) = &a.cursor_file {
                    write_cursor(path, events.cursor())?;
                }
            }
            Err(e) if !a.once && e.kind() == keyward::ErrorKind::Transient => {
                eprintln!("watch: {:#} (retrying)", eyre::Report::from(e));
            }
            Err(e) => return Err(e.into()),
        }
    }
    if let Some(path) = &a.cursor_file {
        write_cursor(path, events.cursor())?;
    }
    Ok(())
}

/// The cursor saved in `path`, `None` when there is no such file.
pub(crate) fn read_cursor(path: &Path) -> Result<Option<Cursor>> {
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
pub(crate) fn write_cursor(path: &Path, cursor: Cursor) -> Result<()> {
    let mut tmp = path.as_os_str().to_owned();
    tmp.push(".tmp");
    let text = serde_json::to_string(&cursor)?;
    std::fs::write(&tmp, text).wrap_err_with(|| format!("writing {}", path.display()))?;
    std::fs::rename(&tmp, path).wrap_err_with(|| format!("writing {}", path.display()))
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
