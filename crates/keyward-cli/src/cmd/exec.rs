//! `keyward exec`: one call as a session key, through ERC-4337 (`handleOps` sent by the sender, or a bundler) or a
//! relayed signed batch.

use std::time::Duration;

use alloy::primitives::{Address, Bytes, aliases::U192};
use clap::{Args, ValueEnum};
use eyre::{Result, WrapErr, bail};
use keyward::{
    bindings::Call,
    bundler::BundlerClient,
    client::{Lane, Pricing, UserOpRequest, UserOpRoute},
};
use serde_json::json;

use crate::args::{Online, SessionKeyArgs, native_value, out};

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
    /// Send the user operation to this ERC-4337 bundler (at the bundler's fees) instead of `handleOps` from the
    /// sender; no sender key is needed then.
    #[arg(long, value_name = "URL")]
    bundler: Option<String>,
    #[command(flatten)]
    session: SessionKeyArgs,
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

/// Runs the command.
pub(crate) async fn run(a: ExecArgs, j: bool) -> Result<()> {
    let value = native_value("--value", &a.value)?;
    let bundler = match &a.bundler {
        Some(_) if a.via == Via::Relayed => bail!("--bundler takes user operations: use it with --via 4337"),
        Some(url) => Some(BundlerClient::new(url.parse().wrap_err_with(|| format!("invalid bundler URL {url:?}"))?)),
        None => None,
    };
    let signer = a.session.signer()?;
    let calls = [Call { to: a.to, value, data: a.data.clone() }];
    let lane = match a.lane {
        Some(key) => Lane::Key(U192::from(key)),
        None => Lane::Reserved(a.reserved_lane.unwrap_or(0)),
    };
    let account = a.online.account(bundler.is_none()).await?;
    let kh = signer.key_hash();
    let (tx, user_op_hash) = match (a.via, bundler) {
        (Via::Relayed, _) => {
            let (batch, signature) = account.signed_batch(signer.as_ref(), &calls, lane).await?;
            (account.relay(batch, signature).await?, None)
        }
        (Via::Erc4337, bundler) => {
            let (route, pricing) = match bundler {
                Some(client) => (UserOpRoute::bundler(client, Duration::from_mins(1)), Pricing::Bundler),
                None => (UserOpRoute::handle_ops(keyward::userop::ENTRY_POINT_V08), Pricing::Node),
            };
            let prepared =
                account.prepare(&route, UserOpRequest::new(signer.as_ref(), calls, pricing).lane(lane)).await?;
            let receipt = account.send(&route, &prepared).await?;
            (receipt.transaction_hash, Some(receipt.user_op_hash))
        }
    };
    out(j, &json!({ "tx": tx, "userOpHash": user_op_hash, "keyHash": kh }), &format!("executed as {kh} in {tx}"));
    Ok(())
}
