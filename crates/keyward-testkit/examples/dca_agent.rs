//! A DCA agent on a local chain: every minute it buys with a session key through ERC-4337, remembering its runs in
//! a file, until the key expires. `cargo run -p keyward-testkit --example dca_agent`.

use std::time::Duration;

use alloy::primitives::{Address, U256};
use keyward::{
    KeySigner, P256KeySigner, Settings,
    agent::{Agent, FileStore, Route, RunReport},
    client::Account,
    userop::ENTRY_POINT_V08,
};
use keyward_testkit::Testnet;

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let net = Testnet::start().await?;
    let token = net.deploy_token().await?;
    let pool = Address::repeat_byte(0xd1);
    let key = P256KeySigner::from_bytes(&[21; 32])?;
    let start = net.now().await?;
    let settings = Settings::builder().expires_at(start + 300).build()?;
    let (_, account) = net.new_account(&[Testnet::grant_call(&key.key(), settings)]).await?;
    net.mint(token, account.address(), U256::from(1_000_000)).await?;
    let store_path = std::env::temp_dir().join("keyward-dca-agent.json");
    let _ = std::fs::remove_file(&store_path);
    let agent = Agent::new(
        Account::at(account.address(), net.provider().clone()),
        Box::new(key),
        vec![Testnet::transfer_call(token, pool, U256::from(100))],
        Duration::from_mins(1),
        Route::UserOp(ENTRY_POINT_V08),
        FileStore::new(&store_path),
    );
    loop {
        match agent.tick().await? {
            RunReport::Executed { run, tx } => println!("run {run}: bought 100 in {tx}"),
            RunReport::NotDue(secs) => println!("next run in {secs}s"),
            RunReport::Failed(e) => println!("attempt failed, will retry: {e}"),
            RunReport::Refused(e) => println!("refused, nothing sent: {e}"),
            RunReport::Stopped(why) => {
                println!("stopped: {why}; state in {}", store_path.display());
                break;
            }
        }
        net.warp(60).await?; // a minute of chain time per tick
    }
    println!("the pool received {}", net.balance_of(token, pool).await?);
    Ok(())
}
