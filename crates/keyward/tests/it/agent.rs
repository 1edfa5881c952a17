//! The agent runtime on anvil over `handleOps`: a job whose amount changes per run, driven from a session
//! credential; a policy refusal reported typed, in words, with the window's reset as its retry time, nothing sent,
//! then the run passing at that time; a lifetime cap that stops the agent; a revoked key stopping it typed; a
//! credential checked against the chain (another account, a changed grant, a revoked key).

use std::time::Duration;

use alloy::{
    primitives::{Address, U256},
    providers::Provider,
};
use eyre::{Result, bail, ensure};
use keyward::{
    Grant, KeySigner, P256KeySigner, Settings,
    agent::{Agent, AgentCredential, FileStore, MemoryStore, Route, RunContext, RunReport, Step, StopReason, from_fn},
    bindings::{Call, policy::IPolicyHook::IPolicyHookErrors},
    client::{KeyStatus, Pricing},
    encode,
    explain::Retry,
    failure::Revert,
    policy::{self, EMPTY_CALLDATA, NativeCaps},
    userop::ENTRY_POINT_V08,
};

use crate::fixture::{Chain, grant, pay};

fn route() -> Route {
    Route::handle_ops(ENTRY_POINT_V08, Pricing::Node)
}

fn executed(r: &RunReport) -> Option<u64> {
    match r {
        RunReport::Executed { run, .. } => Some(*run),
        _ => None,
    }
}

#[tokio::test]
#[ignore = "spawns anvil from node_modules: `make test` runs it"]
async fn test_agent_job_amount_changes_per_run() -> Result<()> {
    let session = P256KeySigner::from_bytes(&[41; 32])?;
    let chain = Chain::start(&[]).await?;
    let now = chain.now().await?;
    let granted = Grant::builder(session.key()).expires_in(now, Duration::from_hours(1)).build()?;
    chain.user().execute_as_root(&granted.calls).await?;
    // The owner's side hands the agent the grant's credential with the key's secret, as JSON; the agent checks it
    // against the chain.
    let chain_id = chain.relayer.get_chain_id().await?;
    let json =
        granted.credential(chain.eoa.address(), chain_id, ENTRY_POINT_V08).with_secret((&session).into())?.to_json();
    let credential = AgentCredential::from_json(&json)?;
    let account = keyward::client::Account::at(credential.account(), chain.relayer.clone());
    ensure!(credential.check(&account).await? == KeyStatus::Active);
    ensure!(matches!(
        credential.check(&keyward::client::Account::at(Address::repeat_byte(1), chain.relayer.clone())).await,
        Err(keyward::Error::InvalidCredential(_))
    ));

    // 100 wei on run 1, 200 on run 2, 300 on run 3, then finished.
    let shop = Address::repeat_byte(0x71);
    let job = from_fn(move |ctx: &RunContext| {
        if ctx.run > 3 {
            return Ok(Step::Finish);
        }
        Ok(Step::Run(vec![Call { to: shop, value: U256::from(100 * ctx.run), data: alloy::primitives::Bytes::new() }]))
    });
    let agent = Agent::new(account, credential.signer()?, job, Duration::from_mins(1), route(), MemoryStore::new());
    ensure!(executed(&agent.tick().await?) == Some(1));
    ensure!(chain.balance(shop).await? == U256::from(100));
    let r = agent.tick().await?;
    ensure!(matches!(r, RunReport::NotDue { in_secs, .. } if in_secs <= 60), "{r:?}");
    for (run, total) in [(2, 300u64), (3, 600)] {
        chain.warp(60).await?;
        let r = agent.tick().await?;
        ensure!(executed(&r) == Some(run), "{r:?}");
        ensure!(chain.balance(shop).await? == U256::from(total), "run {run}: the job's amount for that run");
    }
    chain.warp(60).await?;
    let r = agent.tick().await?;
    ensure!(matches!(&r, RunReport::Stopped(StopReason::Finished { runs: 3 })), "{r:?}");
    let state = agent.state().await?;
    ensure!(state.runs == 3 && state.failures == 0 && state.stopped == Some(StopReason::Finished { runs: 3 }));
    // The schedule is a grid: the next due time is one interval after the previous one, not after the mined block.
    ensure!(state.next_due.zip(state.last_run).is_some_and(|(due, last)| due > last && due - last <= 60), "{state:?}");
    Ok(())
}

#[tokio::test]
#[ignore = "spawns anvil from node_modules: `make test` runs it"]
async fn test_agent_refusal_typed_with_retry_time() -> Result<()> {
    let session = P256KeySigner::from_bytes(&[42; 32])?;
    let kh = session.key_hash();
    let chain = Chain::start(&[]).await?;
    let hook = chain.policy_hook().await?;
    let shop = Address::repeat_byte(0x72);
    let now = chain.now().await?;
    // 100 wei a run; at most 250 a day and 350 in all.
    let caps = NativeCaps {
        per_period: Some(U256::from(250)),
        period: Some(Duration::from_hours(24)),
        lifetime: Some(U256::from(350)),
        ..NativeCaps::default()
    };
    chain
        .user()
        .execute_as_root(&[
            grant(
                &session,
                Settings::builder().policy_hook(hook).gas_budget(true).expires_at(now + 7 * 86_400).build()?,
            ),
            encode::self_call(encode::set_gas_budget(kh, encode::gas_budget(0, 0, 10u128.pow(18))?)),
            policy::to_hook(hook, policy::allow(kh, shop, EMPTY_CALLDATA)),
            policy::to_hook(hook, policy::native_limits(kh, &caps)?),
        ])
        .await?;
    let dir = std::env::temp_dir().join(format!("keyward-it-agent-{}", std::process::id()));
    std::fs::create_dir_all(&dir)?;
    let store = FileStore::new(dir.join("refusal.json"));
    let agent = |store: FileStore| {
        Agent::new(chain.relayed(), Box::new(session.clone()), pay(shop, 100), Duration::from_mins(1), route(), store)
    };
    let a = agent(store.clone());
    ensure!(executed(&a.tick().await?) == Some(1));
    chain.warp(60).await?;
    ensure!(executed(&a.tick().await?) == Some(2));
    chain.warp(60).await?;

    // Run 3 would make 300 today: refused in simulation, typed, in words, with the window's reset as retry time.
    let block = chain.relayer.get_block_number().await?;
    let (refusal, error) = match a.tick().await? {
        RunReport::Refused { refusal, error } => (refusal, error),
        other => bail!("expected a refusal, got {other:?}"),
    };
    ensure!(chain.relayer.get_block_number().await? == block, "a refused run sends nothing");
    let reset = chain.relayed().policy(hook, kh).await?.native.spend.windowStart.to::<u64>() + 86_400;
    ensure!(refusal.retry == Retry::At(reset), "{refusal:?}");
    ensure!(
        refusal.words.starts_with("spend limit exceeded: 0.0000000000000001 ETH attempted, 0.00000000000000005 ETH left this period (resets in 23h5"),
        "{}",
        refusal.words
    );
    ensure!(matches!(
        refusal.revert(),
        Some(Revert::Policy(IPolicyHookErrors::SpendLimitExceeded(s))) if s.kind == 1 && s.asset == Address::ZERO
    ));
    ensure!(matches!(error, keyward::Error::Policy(IPolicyHookErrors::SpendLimitExceeded(_))), "{error}");
    // Kept in the store: a restarted agent waits until the reset instead of retrying every minute.
    let a = agent(store.clone());
    let state = a.state().await?;
    ensure!(state.refusals == 1 && state.runs == 2 && state.last_refusal.as_ref() == Some(&refusal), "{state:?}");
    chain.warp(3_600).await?;
    let r = a.tick().await?;
    ensure!(matches!(r, RunReport::NotDue { at, .. } if at == reset), "{r:?}");
    ensure!(chain.relayer.get_block_number().await? == block + 1, "waiting sends nothing");
    // At the reset second minus one still waiting; at the reset the run passes.
    let now = chain.now().await?;
    chain.warp(reset - now - 1).await?;
    ensure!(matches!(a.tick().await?, RunReport::NotDue { in_secs: 1, .. }));
    chain.warp(1).await?;
    ensure!(executed(&a.tick().await?) == Some(3));

    // Run 4 would make 400 in all, over the lifetime cap of 350: no later run can pass, the agent stops, typed.
    chain.warp(60).await?;
    let r = a.tick().await?;
    let RunReport::Stopped(StopReason::Exhausted(last)) = &r else { bail!("expected an exhausted stop, got {r:?}") };
    ensure!(last.retry == Retry::Never && last.words.contains("lifetime limit of 0.00000000000000035 ETH"), "{last:?}");
    ensure!(matches!(agent(store).tick().await?, RunReport::Stopped(StopReason::Exhausted(_))));
    std::fs::remove_dir_all(&dir)?;
    Ok(())
}

#[tokio::test]
#[ignore = "spawns anvil from node_modules: `make test` runs it"]
async fn test_agent_revoked_key_stops_typed() -> Result<()> {
    let session = P256KeySigner::from_bytes(&[43; 32])?;
    let chain = Chain::start(&[grant(&session, Settings::builder().build()?)]).await?;
    let shop = Address::repeat_byte(0x73);
    let store = std::sync::Arc::new(MemoryStore::new());
    let agent =
        Agent::new(chain.relayed(), Box::new(session.clone()), pay(shop, 5), Duration::from_mins(1), route(), store);
    ensure!(executed(&agent.tick().await?) == Some(1));
    // The credential the agent was handed stops matching the chain when the owner changes the grant...
    let chain_id = chain.relayer.get_chain_id().await?;
    let credential = Grant::builder(session.key())
        .never_expires()
        .build()?
        .credential(chain.eoa.address(), chain_id, ENTRY_POINT_V08)
        .with_secret((&session).into())?;
    ensure!(credential.check(&chain.relayed()).await? == KeyStatus::Active);
    let now = chain.now().await?;
    chain.user().update(session.key_hash(), Settings::builder().expires_at(now + 600).build()?).await?;
    let e = credential.check(&chain.relayed()).await.expect_err("the grant changed");
    ensure!(matches!(e, keyward::Error::InvalidCredential(_)), "{e}");
    // ... and says so, without an error, once the key is revoked.
    chain.user().revoke(session.key_hash()).await?;
    ensure!(credential.check(&chain.relayed()).await? == KeyStatus::Revoked);
    chain.warp(60).await?;
    let block = chain.relayer.get_block_number().await?;
    let r = agent.tick().await?;
    let now = chain.now().await?;
    ensure!(matches!(r, RunReport::Stopped(StopReason::Revoked { seen_at }) if seen_at == now), "{r:?}");
    // For good: later ticks say so without sending anything, the state keeps the run and the reason.
    ensure!(matches!(agent.tick().await?, RunReport::Stopped(StopReason::Revoked { .. })));
    ensure!(chain.relayer.get_block_number().await? == block);
    let state = agent.state().await?;
    ensure!(state.runs == 1 && matches!(state.stopped, Some(StopReason::Revoked { .. })), "{state:?}");
    ensure!(chain.balance(shop).await? == U256::from(5));
    Ok(())
}
