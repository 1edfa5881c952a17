//! Local-chain helpers shared by this crate's anvil tests and its `session_key` example. (`keyward-testkit` does
//! all of this and more, but it depends on this crate, so this crate's own tests cannot use it.)

use std::path::PathBuf;

use alloy::{
    network::TransactionBuilder,
    primitives::{Address, Bytes, hex},
    providers::{Provider, ext::AnvilApi},
    rpc::types::TransactionRequest,
};
use eyre::{OptionExt, Result, ensure};
use keyward::userop::ENTRY_POINT_V08;

/// The workspace root (where `node_modules` lives).
pub(crate) fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// anvil from `ANVIL_BIN`, else the native binary npm installed; a clear error when neither exists.
pub(crate) fn anvil_path() -> Result<PathBuf> {
    if let Some(p) = std::env::var_os("ANVIL_BIN") {
        return Ok(p.into());
    }
    let arch = if cfg!(target_arch = "x86_64") { "amd64" } else { "arm64" };
    let os = if cfg!(target_os = "macos") { "darwin" } else { "linux" };
    let p = root().join(format!("node_modules/@foundry-rs/anvil-{os}-{arch}/bin/anvil"));
    ensure!(p.exists(), "anvil not found at {}: run `make setup` (npm ci) or set ANVIL_BIN", p.display());
    Ok(p)
}

/// Deploys `code` (creation bytecode) and returns the new address.
pub(crate) async fn deploy(provider: &impl Provider, code: Bytes) -> Result<Address> {
    let receipt =
        provider.send_transaction(TransactionRequest::default().with_deploy_code(code)).await?.get_receipt().await?;
    receipt.contract_address.ok_or_eyre("no contract address")
}

/// Deploys the PolicyHook through the CREATE2 deployer (on anvil from genesis) under the mined salt, so its address
/// carries its flags 0x1e (its constructor reverts anywhere else); returns the address.
#[allow(dead_code)] // used by the tests, not by the example
pub(crate) async fn deploy_policy_hook(provider: &impl Provider) -> Result<Address> {
    let code = keyward::policy_hook_bytecode();
    let salt = keyward::deploy::policy_hook_salt();
    let tx = TransactionRequest::default()
        .with_to(keyward::deploy::CREATE2_DEPLOYER)
        .with_input(keyward::deploy::create2_call_data(salt, &code));
    provider.send_transaction(tx).await?.get_receipt().await?;
    let hook = keyward::deploy::create2_address(salt, &code);
    ensure!(!provider.get_code_at(hook).await?.is_empty(), "the PolicyHook was not deployed at {hook}");
    Ok(hook)
}

/// Deploys the PolicyHook at its co-signing CREATE2 address (flags 0x1f: step-up and consensus); returns it.
#[allow(dead_code)] // used by the tests, not by the example
pub(crate) async fn deploy_policy_hook_cosign(provider: &impl Provider) -> Result<Address> {
    let code = keyward::policy_hook_bytecode();
    let salt = keyward::deploy::policy_hook_salt_cosign();
    let tx = TransactionRequest::default()
        .with_to(keyward::deploy::CREATE2_DEPLOYER)
        .with_input(keyward::deploy::create2_call_data(salt, &code));
    provider.send_transaction(tx).await?.get_receipt().await?;
    let hook = keyward::deploy::create2_address(salt, &code);
    ensure!(!provider.get_code_at(hook).await?.is_empty(), "the PolicyHook was not deployed at {hook}");
    Ok(hook)
}

/// Places the EntryPoint v0.8 from its official artifact (npm `@account-abstraction/contracts`) at its canonical
/// address.
pub(crate) async fn place_entry_point(provider: &impl Provider) -> Result<()> {
    let artifact: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(
        root().join("node_modules/@account-abstraction/contracts/artifacts/EntryPoint.json"),
    )?)?;
    let code: Bytes = hex::decode(artifact["bytecode"].as_str().ok_or_eyre("bytecode")?)?.into();
    let deployed = deploy(provider, code).await?;
    provider.anvil_set_code(ENTRY_POINT_V08, provider.get_code_at(deployed).await?).await?;
    Ok(())
}
