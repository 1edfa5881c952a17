//! ERC-7715 in and out: `grant --request FILE.json` (a `wallet_requestExecutionPermissions` request granted exactly
//! under the PolicyHook, the responses printed) and `permissions` (`wallet_getGrantedExecutionPermissions`).

use std::path::Path;

use alloy::primitives::Address;
use clap::Args;
use eyre::{Result, WrapErr};
use keyward::erc7715::PermissionRequest;

use crate::args::{Online, out};

/// `keyward permissions`.
#[derive(Args)]
pub(crate) struct PermissionsArgs {
    #[command(flatten)]
    online: Online,
    /// The PolicyHook (default: its CREATE2 address).
    #[arg(long)]
    hook: Option<Address>,
}

/// Grants every request of `file` in one transaction (all or none: each is mapped before anything is sent) and
/// prints their responses.
pub(crate) async fn grant_request(online: &Online, file: &Path, hook: Option<Address>, j: bool) -> Result<()> {
    let text = std::fs::read_to_string(file).wrap_err_with(|| format!("reading {}", file.display()))?;
    // `main` prints the error with its sources on one line.
    let requests = PermissionRequest::list_from_json(&text).wrap_err_with(|| file.display().to_string())?;
    let hook = hook.unwrap_or_else(keyward::deploy::policy_hook_address);
    let (account, _) = online.connect(true).await?;
    let target = account.grant_target(hook).await?;
    let mut calls = Vec::new();
    let mut responses = Vec::new();
    for r in &requests {
        let granted = r.to_grant(&target).wrap_err_with(|| r.to_string())?;
        calls.extend(granted.grant.calls);
        responses.push(granted.response);
    }
    account.execute_as_root(&calls).await?;
    let v = serde_json::to_value(&responses)?;
    out(j, &v, &serde_json::to_string_pretty(&v)?);
    Ok(())
}

/// Prints the account's ERC-7715 permissions, read back from the chain.
pub(crate) async fn permissions(a: PermissionsArgs, j: bool) -> Result<()> {
    let hook = a.hook.unwrap_or_else(keyward::deploy::policy_hook_address);
    let (account, _) = a.online.connect(false).await?;
    let granted = account.execution_permissions(hook).await?;
    let v = serde_json::to_value(&granted)?;
    out(j, &v, &serde_json::to_string_pretty(&v)?);
    Ok(())
}
