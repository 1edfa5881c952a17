//! A session key on a local anvil it starts itself: deploy Keyward and the real EntryPoint v0.8, delegate an EOA
//! with EIP-7702 and grant a 5-minute session key in the same transaction, act with the key on each path, watch the
//! expiry stop it, revoke. Run with `cargo run -p keyward --features client --example session_key`.

use std::time::Duration;

use alloy::{
    network::EthereumWallet,
    node_bindings::Anvil,
    primitives::{Address, Bytes, U256},
    providers::{Provider, ProviderBuilder, ext::AnvilApi},
    signers::local::PrivateKeySigner,
};
use eyre::{OptionExt, Result};
use keyward::{KeySigner, P256KeySigner, Settings, bindings::Call, client::Account, encode, userop::ENTRY_POINT_V08};

#[path = "../tests/support/chain.rs"]
mod chain;

#[tokio::main]
async fn main() -> Result<()> {
    let anvil = Anvil::at(chain::anvil_path()?).spawn();
    let url = anvil.endpoint_url();
    println!("anvil at {url} (chain {})", anvil.chain_id());
    let relayer_key: PrivateKeySigner = anvil.keys()[0].clone().into();
    let relayer = ProviderBuilder::new().wallet(EthereumWallet::from(relayer_key)).connect_http(url.clone());

    let keyward = chain::deploy(&relayer, keyward::keyward_bytecode()).await?;
    chain::place_entry_point(&relayer).await?;
    println!("deployed Keyward at {keyward}; EntryPoint v0.8 at {ENTRY_POINT_V08}");

    let eoa = PrivateKeySigner::random();
    relayer.anvil_set_balance(eoa.address(), U256::from(10u128.pow(19))).await?;
    let as_eoa = ProviderBuilder::new().wallet(EthereumWallet::from(eoa.clone())).connect_http(url.clone());
    let user = Account::at(eoa.address(), &as_eoa);

    let session = P256KeySigner::from_bytes(&[9; 32])?;
    let now =
        relayer.get_block_by_number(alloy::eips::BlockNumberOrTag::Latest).await?.ok_or_eyre("block")?.header.timestamp;
    let settings = Settings::builder().expires_in(now, Duration::from_mins(5)).build()?;
    let tx = user.delegate(&eoa, keyward, &[encode::self_call(encode::grant(&session.key(), settings))]).await?;
    println!("EOA {} delegated to Keyward and granted a 5-minute P256 session key in one tx: {tx}", eoa.address());
    for k in user.keys().await? {
        println!("  key {} status {:?}, {}s left", k.key_hash, k.status, k.time_left.unwrap_or_default());
    }

    let shop = Address::repeat_byte(0x5e);
    let pay = [Call { to: shop, value: U256::from(10u64.pow(15)), data: Bytes::new() }];
    let via_relayer = Account::at(eoa.address(), &relayer);
    let tx = via_relayer.execute_relayed(&session, &pay).await?;
    println!("session key paid 0.001 ETH through a relayer (signed batch): {tx}");
    let tx = via_relayer.execute_user_op(&session, &pay, ENTRY_POINT_V08).await?;
    println!("session key paid 0.001 ETH through ERC-4337 handleOps: {tx}");

    relayer.anvil_increase_time(301).await?;
    relayer.anvil_mine(Some(1), None).await?;
    match via_relayer.execute_relayed(&session, &pay).await {
        Err(e) => println!("after 5 minutes the key is refused: {e}"),
        Ok(tx) => eyre::bail!("an expired key executed: {tx}"),
    }
    let tx = user.revoke(session.key_hash()).await?;
    println!("revoked: {tx}; shop balance {} wei", relayer.get_balance(shop).await?);
    Ok(())
}
