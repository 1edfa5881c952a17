//! Openfort session keys (seed 004): the DCA agent: a 5-minute key, an operation through the EntryPoint every
//! interval until expiry, then rejected; the agent stops cleanly; "disable" sends a revoke; no state is lost when
//! the RPC fails mid-run.

use alloy::providers::ProviderBuilder;
use eyre::{Result, ensure};
use keyward::{KeySigner, P256KeySigner, Settings, client::Account, userop::ENTRY_POINT_V08};
use keyward_testkit::Testnet;

#[tokio::test]
async fn dca_agent_until_expiry() -> Result<()> {
    let net = Testnet::start().await?;
    let token = net.deploy_token().await?;
    let pool = alloy::primitives::Address::repeat_byte(0xd1);
    let agent = P256KeySigner::from_bytes(&[6; 32])?;
    let start = net.now().await?;
    let settings = Settings::builder().expires_at(start + 300).build()?;
    let (_, account) = net.new_account(&[Testnet::grant_call(&agent.key(), settings)]).await?;
    net.mint(token, account.address(), alloy::primitives::U256::from(1_000_000)).await?;
    let bundler = net.relayed(account.address());
    let buy = [Testnet::transfer_call(token, pool, alloy::primitives::U256::from(100))];

    // Every 60 seconds until the key expires: runs at t+0..t+300 succeed (six), the one after is refused.
    let mut runs = 0;
    let mut stopped = None;
    for tick in 0..10u64 {
        net.warp_to(start + 1 + tick * 60).await?;
        if tick == 2 {
            // The RPC fails mid-run: a dead endpoint errors, nothing on chain changes, the next run resumes.
            let dead =
                Account::at(account.address(), ProviderBuilder::new().connect_http("http://127.0.0.1:9".parse()?));
            ensure!(dead.execute_user_op(&agent, &buy, ENTRY_POINT_V08).await.is_err());
        }
        match bundler.execute_user_op(&agent, &buy, ENTRY_POINT_V08).await {
            Ok(_) => runs += 1,
            Err(e) => {
                stopped = Some((tick, e.to_string()));
                break;
            }
        }
    }
    let (tick, why) = stopped.ok_or_else(|| eyre::eyre!("the agent never stopped"))?;
    ensure!(runs == 5 && tick == 5, "runs {runs}, stopped at tick {tick}: {why}");
    ensure!(why.contains("AA22"), "refused by the EntryPoint's time range: {why}");
    ensure!(net.balance_of(token, pool).await? == alloy::primitives::U256::from(500));

    // "Disable": a revoke; the key is gone.
    account.revoke(agent.key_hash()).await?;
    ensure!(account.keys().await?.is_empty());
    Ok(())
}
