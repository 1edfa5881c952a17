//! A DCA agent on a local chain: every minute it buys with a session key through ERC-4337, remembering its runs in
//! a file, until the key expires. The key is scoped by the PolicyHook (only `transfer` on the token, at most 1,000
//! a day) and the account pays its gas only within a daily gas budget (the GAS_BUDGET settings flag; the PolicyHook
//! refuses account-paid gas otherwise, and the agent names each operation's gas window by itself).
//! `cargo run -p keyward-testkit --example dca_agent`.

use std::time::Duration;

use alloy::primitives::{Address, U256};
use keyward::{
    KeySigner, P256KeySigner,
    agent::{Agent, FileStore, Route, RunReport},
    client::{Account, Pricing},
    encode, policy,
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
    let kh = key.key_hash();
    let settings = net.policy_settings().gas_budget(true).expires_at(start + 300).build()?;
    let transfer = [0xa9, 0x05, 0x9c, 0xbb];
    let (_, account) = net
        .new_account(&[
            Testnet::grant_call(&key.key(), settings),
            // 0.01 ETH of gas a day, then the account pays nothing more for this key.
            encode::self_call(encode::set_gas_budget(kh, encode::gas_budget(10u128.pow(16), 86_400, 0)?)),
            policy::to_hook(net.policy_hook, policy::allow(kh, token, transfer)),
            policy::to_hook(
                net.policy_hook,
                policy::token_limit(
                    kh,
                    token,
                    &policy::SpendCaps::periodic(U256::from(1_000), Duration::from_hours(24)),
                )?,
            ),
        ])
        .await?;
    net.mint(token, account.address(), U256::from(1_000_000)).await?;
    let store_path = std::env::temp_dir().join("keyward-dca-agent.json");
    let _ = std::fs::remove_file(&store_path);
    let agent = Agent::new(
        Account::at(account.address(), net.provider().clone()),
        Box::new(key),
        vec![Testnet::transfer_call(token, pool, U256::from(100))],
        Duration::from_mins(1),
        Route::handle_ops(ENTRY_POINT_V08, Pricing::Node),
        FileStore::new(&store_path),
    );
    loop {
        match agent.tick().await? {
            RunReport::Executed { run, tx } => println!("run {run}: bought 100 in {tx}"),
            RunReport::NotDue { in_secs, .. } => println!("next run in {in_secs}s"),
            RunReport::Skipped { next_due } => println!("nothing to do; next run at {next_due}"),
            RunReport::Failed(e) => println!("attempt failed, will retry: {e}"),
            RunReport::Refused { refusal, .. } => {
                println!("refused, nothing sent: {} (retry: {:?})", refusal.words, refusal.retry);
            }
            RunReport::Stopped(why) => {
                println!("stopped: {why}; state in {}", store_path.display());
                break;
            }
        }
        net.warp(60).await?; // a minute of chain time per tick
    }
    println!("the pool received {}", net.balance_of(token, pool).await?);
    let (budget, spent) = account.gas_budget(kh).await?;
    println!("gas charged to the key's budget today: {} of {} wei", spent.inWindow, budget.perPeriod);
    Ok(())
}
