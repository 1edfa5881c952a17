//! `keyward exec`: one call as a session key, through ERC-4337 (`handleOps` sent by the sender, or a bundler) or a
//! relayed signed batch.

use std::{path::PathBuf, time::Duration};

use alloy::{
    primitives::{Address, Bytes, aliases::U192},
    transports::http::reqwest::Url,
};
use clap::{Args, ValueEnum};
use eyre::{Result, bail};
use keyward::{
    bindings::Call,
    bundler::BundlerClient,
    client::{Lane, Pricing, UserOpRequest, UserOpRoute},
};
use serde_json::json;

use crate::args::{KeyKind, Online, native_value, out, session_signer};

/// Which signed path.
#[derive(Clone, Copy, PartialEq, Eq, ValueEnum)]
pub(crate) enum Via {
    // ERC-4337 (EntryPoint v0.8).
    #[value(name = "4337")]
    Erc4337,
    // A signed batch relayed by the sender.
    Relayed,
}

/// `keyward exec`.
#[derive(Args)]
pub(crate) struct ExecArgs {
    #[command(flatten)]
    online: Online,
    /// Path: `4337` (EntryPoint v0.8) or `relayed` (a signed batch).
    #[arg(long, value_enum, default_value = "4337")]
    via: Via,
    /// Send a user operation through this ERC-4337 bundler (EntryPoint v0.8) instead of `handleOps` from the
    /// sender: estimated by the bundler with a stub signature, at its fees, simulated first (a refused operation is
    /// never sent); no sender key is needed, the account pays the bundler. Prints the userOpHash and the bundle's
    /// transaction.
    #[arg(long, value_name = "URL")]
    bundler: Option<Url>,
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
    /// Value: `eth:0.001`, `gwei:30`, or wei.
    #[arg(long, default_value = "0", value_name = "AMOUNT")]
    value: String,
    /// An explicit nonce lane key (operations in different lanes do not wait for each other); a lane key without
    /// the reserved "KWRD" tag is open to every key. Default: the session key's own reserved lane 0, which no
    /// other key can use.
    #[arg(long, conflicts_with = "reserved_lane")]
    lane: Option<u64>,
    /// The session key's own reserved lane with this index (default 0).
    #[arg(long, value_name = "INDEX")]
    reserved_lane: Option<u32>,
}

/// A user operation that failed, with what it means for the caller: the error's class and whether anything was
/// sent. `main` prints it as one line: the class, the refusal in words, then the decoded revert and the error.
#[derive(Debug)]
pub(crate) struct Failed {
    /// The class and the stage, e.g. "refused by the key's policy or the account, nothing was sent".
    pub(crate) class: String,
    /// The library's error.
    pub(crate) error: keyward::Error,
}

impl Failed {
    fn new(error: keyward::Error, stage: &str) -> Self {
        let class = match error.kind() {
            keyward::ErrorKind::RefusedByPolicy => format!("refused by the key's policy or the account, {stage}"),
            keyward::ErrorKind::KeyExpiredOrRevoked => format!("the key is expired or revoked, {stage}"),
            keyward::ErrorKind::Transient => format!("a transient failure, {stage}; retry later"),
            keyward::ErrorKind::Misuse => format!("an invalid request, {stage}"),
        };
        Self { class, error }
    }
}

impl std::fmt::Display for Failed {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.class)
    }
}

impl std::error::Error for Failed {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        Some(&self.error)
    }
}

/// Runs the command.
pub(crate) async fn run(a: ExecArgs, j: bool) -> Result<()> {
    let value = native_value("--value", &a.value)?;
    if a.bundler.is_some() && a.via == Via::Relayed {
        bail!("--bundler sends an ERC-4337 user operation: it cannot go --via relayed");
    }
    let signer = session_signer(a.key_type, &a.session_key_file)?;
    let calls = [Call { to: a.to, value, data: a.data.clone() }];
    let lane = match a.lane {
        Some(key) => Lane::Key(U192::from(key)),
        None => Lane::Reserved(a.reserved_lane.unwrap_or(0)),
    };
    // Through a bundler no sender key is needed: the account pays the bundler.
    let account = a.online.account(a.bundler.is_none()).await?;
    let kh = signer.key_hash();
    if a.via == Via::Relayed {
        let (batch, signature) = account.signed_batch(signer.as_ref(), &calls, lane).await?;
        let tx = account.relay(batch, signature).await?;
        out(j, &json!({ "tx": tx, "userOpHash": null, "keyHash": kh }), &format!("executed as {kh} in {tx}"));
        return Ok(());
    }
    let (route, pricing) = match a.bundler {
        Some(url) => {
            (UserOpRoute::bundler(BundlerClient::new(url), Duration::from_secs(a.receipt_timeout)), Pricing::Bundler)
        }
        None => (UserOpRoute::handle_ops(keyward::userop::ENTRY_POINT_V08), Pricing::Node),
    };
    // Estimated with a stub signature and simulated before anything is signed or sent.
    let request = UserOpRequest::new(signer.as_ref(), calls, pricing).lane(lane);
    let prepared = account.prepare(&route, request).await.map_err(|e| Failed::new(e, "nothing was sent"))?;
    let r = account.send(&route, &prepared).await.map_err(|e| Failed::new(e, "sent"))?;
    let v = json!({
        "tx": r.transaction_hash, "userOpHash": r.user_op_hash, "keyHash": kh, "block": r.block_number,
        "nonce": r.nonce, "actualGasCost": r.actual_gas_cost.to_string(),
    });
    let text = format!(
        "executed as {kh} in user operation {} (transaction {}, block {}), gas cost {} wei",
        r.user_op_hash, r.transaction_hash, r.block_number, r.actual_gas_cost
    );
    out(j, &v, &text);
    Ok(())
}
