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
                stopped = Some((tick, e.kind(), e.to_string()));
                break;
            }
        }
    }
    let (tick, kind, why) = stopped.ok_or_else(|| eyre::eyre!("the agent never stopped"))?;
    ensure!(runs == 5 && tick == 5, "runs {runs}, stopped at tick {tick}: {why}");
    ensure!(
        kind == keyward::ErrorKind::KeyExpiredOrRevoked && why.contains("KeyExpired"),
        "refused: the key expired: {why}"
    );
    ensure!(net.balance_of(token, pool).await? == alloy::primitives::U256::from(500));

    // "Disable": a revoke; the key is gone.
    account.revoke(agent.key_hash()).await?;
    ensure!(account.keys().await?.is_empty());
    Ok(())
}

/// The agent runtime: a DCA job every minute under a 5-minute key, state in a file; a restart and an RPC outage lose
/// nothing; the agent stops at expiry, and another stops when its key is revoked.
#[tokio::test]
async fn agent_runtime_persists_and_stops_cleanly() -> Result<()> {
    use std::time::Duration;

    use alloy::providers::Provider;
    use keyward::{
        agent::{Agent, FileStore, Route, RunReport, StopReason},
        client::Pricing,
    };

    let net = Testnet::start().await?;
    let token = net.deploy_token().await?;
    let pool = alloy::primitives::Address::repeat_byte(0xd2);
    let key = P256KeySigner::from_bytes(&[11; 32])?;
    let start = net.now().await?;
    let (_, account) = net
        .new_account(&[Testnet::grant_call(&key.key(), Settings::builder().expires_at(start + 300).build()?)])
        .await?;
    net.mint(token, account.address(), alloy::primitives::U256::from(1_000)).await?;
    let job = vec![Testnet::transfer_call(token, pool, alloy::primitives::U256::from(10))];
    let dir = std::env::temp_dir().join(format!("keyward-agent-{}", std::process::id()));
    std::fs::create_dir_all(&dir)?;
    let store = FileStore::new(dir.join("dca.json"));
    let agent = |provider: alloy::providers::DynProvider| {
        Agent::new(
            Account::at(account.address(), provider),
            Box::new(P256KeySigner::from_bytes(&[11; 32]).expect("key")),
            job.clone(),
            Duration::from_mins(1),
            Route::handle_ops(ENTRY_POINT_V08, Pricing::Node),
            store.clone(),
        )
    };
    let a = agent(net.provider().clone());
    ensure!(matches!(a.tick().await?, RunReport::Executed { run: 1, .. }));
    ensure!(matches!(a.tick().await?, RunReport::NotDue { .. }), "not due within the minute");
    net.warp(60).await?;
    ensure!(matches!(a.tick().await?, RunReport::Executed { run: 2, .. }));
    // Restart: a new agent on the same store continues the count.
    drop(a);
    let a = agent(net.provider().clone());
    net.warp(60).await?;
    ensure!(matches!(a.tick().await?, RunReport::Executed { run: 3, .. }));
    // RPC outage: the attempt fails, the state keeps its runs, the next tick on a working RPC goes on.
    let dead = agent(ProviderBuilder::new().connect_http("http://127.0.0.1:9".parse()?).erased());
    net.warp(60).await?;
    ensure!(matches!(dead.tick().await?, RunReport::Failed(_)));
    let state = a.state().await?;
    ensure!(state.runs == 3 && state.failures == 1);
    ensure!(matches!(a.tick().await?, RunReport::Executed { run: 4, .. }));
    // Expiry (start + 300): the agent stops for good, and says so on every later tick.
    net.warp(400).await?;
    let why = a.run_until_stopped(Duration::from_millis(10), |_| {}).await?;
    ensure!(why == StopReason::Expired { expiration: start + 300 }, "{why}");
    ensure!(why.to_string() == "the session key expired");
    ensure!(matches!(a.tick().await?, RunReport::Stopped(_)));
    ensure!(net.balance_of(token, pool).await? >= alloy::primitives::U256::from(40));

    // Revocation stops a second agent.
    let key2 = P256KeySigner::from_bytes(&[12; 32])?;
    account.grant_unbounded(&key2.key(), Settings::builder().build()?).await?;
    let b = Agent::new(
        Account::at(account.address(), net.provider().clone()),
        Box::new(key2),
        job.clone(),
        Duration::from_mins(1),
        Route::Relayed,
        FileStore::new(dir.join("b.json")),
    );
    ensure!(matches!(b.tick().await?, RunReport::Executed { run: 1, .. }));
    // A run the chain would refuse (more tokens than the account holds) is a refusal, not a failure, and is
    // found in simulation: nothing is sent.
    let overdraft = Agent::new(
        Account::at(account.address(), net.provider().clone()),
        Box::new(P256KeySigner::from_bytes(&[12; 32])?),
        vec![Testnet::transfer_call(token, pool, alloy::primitives::U256::from(1_000_000))],
        Duration::from_mins(1),
        Route::handle_ops(ENTRY_POINT_V08, Pricing::Node),
        FileStore::new(dir.join("overdraft.json")),
    );
    let before = net.provider().get_block_number().await?;
    ensure!(matches!(overdraft.tick().await?, RunReport::Refused { .. }));
    let state = overdraft.state().await?;
    ensure!(state.refusals == 1 && state.failures == 0 && state.runs == 0, "{state:?}");
    ensure!(net.provider().get_block_number().await? == before, "a refused run sends nothing");
    account.revoke(keyward::KeyExt::hash(&P256KeySigner::from_bytes(&[12; 32])?.key())).await?;
    ensure!(matches!(b.tick().await?, RunReport::Stopped(StopReason::Revoked { .. })));
    let _ = net.provider().get_block_number().await?;
    std::fs::remove_dir_all(&dir)?;
    Ok(())
}
