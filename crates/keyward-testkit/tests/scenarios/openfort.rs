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

    // Every 60 seconds until the key expires. Each operation lands a second or two after its mark (t + 1 + 60k, mined
    // a little later), so five succeed and the sixth, past t + 300, is refused; the seed's exact schedule (six runs
    // on the minute marks) is `seed::dca_schedule_as_the_seed_describes_it`.
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

mod seed {
    //! The seed's DCA flow, second by second: anvil's clock is set so that each block lands exactly where the seed
    //! says.

    use std::time::Duration;

    use alloy::{
        primitives::{Address, Bytes, TxHash, U256},
        providers::{Provider, ext::AnvilApi},
        signers::local::PrivateKeySigner,
        sol,
        sol_types::SolCall,
    };
    use eyre::{Result, bail, ensure};
    use keyward::{
        Error, ErrorKind, Grant, KeySigner, Secp256k1Signer,
        agent::{Agent, AgentCredential, FileStore, MemoryStore, Route, RunReport, StopReason},
        bindings::{Call, IKeyward::IKeywardErrors, policy::IPolicyHook::IPolicyHookErrors},
        client::{Account, KeyStatus, Pricing},
        encode,
        policy::{self, ANY_SELECTOR, SpendCaps},
        userop::ENTRY_POINT_V08,
    };
    use keyward_testkit::Testnet;

    sol! {
        interface IAllowance {
            function approve(address spender, uint256 amount) external returns (bool);
            function transferFrom(address from, address to, uint256 amount) external returns (bool);
            function allowance(address owner, address spender) external view returns (uint256);
        }
    }

    const TRANSFER: [u8; 4] = [0xa9, 0x05, 0x9c, 0xbb];
    const APPROVE: [u8; 4] = [0x09, 0x5e, 0xa7, 0xb3];

    /// The next block is mined at exactly `t` (which may be the latest block's second).
    async fn next_block_at(net: &Testnet, t: u64) -> Result<()> {
        net.provider().anvil_set_next_block_timestamp(t).await?;
        Ok(())
    }

    /// The timestamp of the block that carried `tx`.
    async fn landed_at(net: &Testnet, tx: TxHash) -> Result<u64> {
        let receipt =
            net.provider().get_transaction_receipt(tx).await?.ok_or_else(|| eyre::eyre!("no receipt for {tx}"))?;
        let number = receipt.block_number.ok_or_else(|| eyre::eyre!("not mined"))?;
        let block =
            net.provider().get_block_by_number(number.into()).await?.ok_or_else(|| eyre::eyre!("no block {number}"))?;
        Ok(block.header.timestamp)
    }

    /// The seed's grant, in one transaction mined at exactly `t0`: the agent's secp256k1 key, non-admin, expiring at
    /// `t0 + 300`, no hook. The EOA is funded with `funds` (token, amount) first, so nothing is mined after `t0`.
    async fn grant_at_t0(
        net: &Testnet,
        agent: &Secp256k1Signer,
        funds: &[(Address, U256)],
    ) -> Result<(u64, Account<alloy::providers::DynProvider>, AgentCredential)> {
        let eoa = PrivateKeySigner::random();
        for (token, amount) in funds {
            net.mint(*token, eoa.address(), *amount).await?;
        }
        let t0 = net.now().await? + 10;
        let grant = Grant::builder(agent.key()).expires_at(t0 + 300).build()?;
        ensure!(!grant.settings.is_admin() && grant.settings.hook() == Address::ZERO);
        next_block_at(net, t0).await?;
        let account = net.new_account_for(&eoa, &grant.calls).await?;
        ensure!(net.now().await? == t0, "the grant is mined at T0");
        let chain_id = net.provider().get_chain_id().await?;
        let credential =
            AgentCredential::new(grant.credential(account.address(), chain_id, ENTRY_POINT_V08), agent.into())?;
        Ok((t0, account, credential))
    }

    /// The 5-minute window on chain, both edges to the second: an operation mined at T0 + 300 is accepted, one at
    /// T0 + 301 refused, on the seed's ERC-4337 path and on the relayed path; the agent's own status checks (the
    /// credential's check, the key's status, the agent's tick) agree at both instants.
    #[tokio::test]
    async fn five_minute_window_on_chain_and_in_the_agent() -> Result<()> {
        let net = Testnet::start().await?;
        let token = net.deploy_token().await?;
        let pool = Address::repeat_byte(0xd3);
        let agent_key = Secp256k1Signer(PrivateKeySigner::random());
        let kh = agent_key.key_hash();
        let (t0, account, credential) = grant_at_t0(&net, &agent_key, &[(token, U256::from(1_000_000))]).await?;
        let bundler = net.relayed(account.address());
        let buy = vec![Testnet::transfer_call(token, pool, U256::from(100))];
        let agent = Agent::new(
            Account::at(account.address(), net.provider().clone()),
            credential.signer()?,
            buy.clone(),
            Duration::from_mins(1),
            Route::handle_ops(ENTRY_POINT_V08, Pricing::Node),
            MemoryStore::new(),
        );

        // T0 + 300: the last second of the window. Three operations, each in its own block at that second.
        net.warp_to(t0 + 300).await?;
        ensure!(credential.check(&account).await? == KeyStatus::Active, "the credential's check at T0 + 300");
        ensure!(account.status(kh).await? == KeyStatus::Active);
        next_block_at(&net, t0 + 300).await?;
        let tx = bundler.execute_user_op(&agent_key, &buy, ENTRY_POINT_V08).await?;
        ensure!(landed_at(&net, tx).await? == t0 + 300);
        next_block_at(&net, t0 + 300).await?;
        let tx = bundler.execute_relayed(&agent_key, &buy).await?;
        ensure!(landed_at(&net, tx).await? == t0 + 300);
        next_block_at(&net, t0 + 300).await?;
        let RunReport::Executed { run: 1, tx } = agent.tick().await? else { bail!("the agent runs at T0 + 300") };
        ensure!(landed_at(&net, tx).await? == t0 + 300);
        ensure!(net.balance_of(token, pool).await? == U256::from(300));

        // T0 + 301: refused on both paths, typed, nothing moved; every check says expired; the agent stops and
        // sends nothing.
        net.warp_to(t0 + 301).await?;
        let e = bundler.execute_user_op(&agent_key, &buy, ENTRY_POINT_V08).await.expect_err("T0 + 301, ERC-4337");
        ensure!(e.kind() == ErrorKind::KeyExpiredOrRevoked, "{e}");
        let e = bundler.execute_relayed(&agent_key, &buy).await.expect_err("T0 + 301, relayed");
        ensure!(
            matches!(&e, Error::Keyward(IKeywardErrors::KeyExpired(x)) if x.expiration.to::<u64>() == t0 + 300),
            "{e}"
        );
        ensure!(net.now().await? == t0 + 301, "nothing was sent");
        ensure!(credential.check(&account).await? == KeyStatus::Expired, "the credential's check at T0 + 301");
        ensure!(account.status(kh).await? == KeyStatus::Expired);
        let r = agent.tick().await?;
        ensure!(matches!(r, RunReport::Stopped(StopReason::Expired { expiration }) if expiration == t0 + 300), "{r:?}");
        ensure!(net.now().await? == t0 + 301, "the agent sent nothing");
        ensure!(net.balance_of(token, pool).await? == U256::from(300));
        Ok(())
    }

    /// The seed's DCA agent exactly: a run every minute under the 5-minute key, runs mined at T0 + 0, 60, 120, 180,
    /// 240 and 300 succeed (not due between the marks), at T0 + 360 the chain refuses the run, the agent marks
    /// itself expired without sending anything, and its history (six runs, the last at T0 + 300, its transaction)
    /// is kept in its file, as a restarted agent reads it.
    #[tokio::test]
    async fn dca_schedule_as_the_seed_describes_it() -> Result<()> {
        let net = Testnet::start().await?;
        let usdc = net.deploy_token().await?;
        let reward = net.deploy_token().await?;
        let treasury = Address::repeat_byte(0xd4);
        let agent_key = Secp256k1Signer(PrivateKeySigner::random());
        let (t0, account, credential) = grant_at_t0(&net, &agent_key, &[(usdc, U256::from(1_000_000))]).await?;
        // Transfer USDC out, receive tokens back (the seed's tick).
        let tick = vec![
            Testnet::transfer_call(usdc, treasury, U256::from(100)),
            Testnet::mint_call(reward, account.address(), U256::from(7)),
        ];
        let dir = std::env::temp_dir().join(format!("keyward-dca-seed-{}", std::process::id()));
        std::fs::create_dir_all(&dir)?;
        let store = FileStore::new(dir.join("dca.json"));
        let new_agent = || -> Result<_> {
            Ok(Agent::new(
                Account::at(account.address(), net.provider().clone()),
                credential.signer()?,
                tick.clone(),
                Duration::from_mins(1),
                Route::handle_ops(ENTRY_POINT_V08, Pricing::Node),
                store.clone(),
            ))
        };
        let agent = new_agent()?;

        let mut last_tx = None;
        for k in 0..=5u64 {
            let mark = t0 + 60 * k;
            if k > 0 {
                net.warp_to(mark - 30).await?;
                let r = agent.tick().await?;
                ensure!(matches!(r, RunReport::NotDue { at, in_secs: 30 } if at == mark), "between marks: {r:?}");
                net.warp_to(mark).await?;
            }
            next_block_at(&net, mark).await?;
            let r = agent.tick().await?;
            let RunReport::Executed { run, tx } = r else { bail!("run at T0 + {}: {r:?}", 60 * k) };
            ensure!(run == k + 1, "run {run} at T0 + {}", 60 * k);
            ensure!(landed_at(&net, tx).await? == mark, "run {run} mined at its minute mark");
            last_tx = Some(tx);
        }
        ensure!(net.balance_of(usdc, treasury).await? == U256::from(600));
        ensure!(net.balance_of(reward, account.address()).await? == U256::from(42));

        // T0 + 360: the chain refuses the run (the key expired at T0 + 300), and the agent stops on its own check.
        net.warp_to(t0 + 360).await?;
        let e = net.relayed(account.address()).execute_user_op(&agent_key, &tick, ENTRY_POINT_V08).await;
        let e = e.expect_err("T0 + 360");
        let expired =
            matches!(&e, Error::Keyward(IKeywardErrors::KeyExpired(x)) if x.expiration.to::<u64>() == t0 + 300);
        ensure!(e.kind() == ErrorKind::KeyExpiredOrRevoked && expired, "{e}");
        let r = agent.tick().await?;
        ensure!(
            matches!(&r, RunReport::Stopped(StopReason::Expired { expiration }) if *expiration == t0 + 300),
            "{r:?}"
        );
        ensure!(net.now().await? == t0 + 360, "nothing was sent at T0 + 360");
        ensure!(net.balance_of(usdc, treasury).await? == U256::from(600));

        // Its history, kept: six runs, the last at T0 + 300, why it stopped; a restarted agent reads the same and
        // stays stopped.
        let state = agent.state().await?;
        ensure!(state.runs == 6 && state.last_run == Some(t0 + 300) && state.last_tx == last_tx, "{state:?}");
        ensure!(state.stopped == Some(StopReason::Expired { expiration: t0 + 300 }), "{state:?}");
        ensure!(state.failures == 0 && state.refusals == 0, "{state:?}");
        drop(agent);
        let restarted = new_agent()?;
        ensure!(restarted.state().await? == state);
        ensure!(matches!(restarted.tick().await?, RunReport::Stopped(StopReason::Expired { .. })));
        ensure!(restarted.state().await? == state, "a stopped agent's history does not change");
        std::fs::remove_dir_all(&dir)?;
        Ok(())
    }

    /// Negative control: a key with no hook is limited by time alone. Inside its window it moves the account's whole
    /// balance, every wei of ETH and every token; under the PolicyHook with no rule, the same batch is refused.
    #[tokio::test]
    async fn key_without_hook_moves_the_whole_balance() -> Result<()> {
        let net = Testnet::start().await?;
        let token = net.deploy_token().await?;
        let thief = Address::repeat_byte(0xee);
        let agent_key = Secp256k1Signer(PrivateKeySigner::random());
        let guarded = Secp256k1Signer(PrivateKeySigner::random());
        let (_, account, _) = grant_at_t0(&net, &agent_key, &[]).await?;
        account.grant(&guarded.key(), net.policy_settings().build()?).await?;
        net.mint(token, account.address(), U256::from(1_000_000)).await?;
        let relayer = net.relayed(account.address());
        let eth = net.provider().get_balance(account.address()).await?;
        ensure!(eth > U256::ZERO);
        let drain = |eth: U256| {
            vec![
                Testnet::transfer_call(token, thief, U256::from(1_000_000)),
                Call { to: thief, value: eth, data: Bytes::new() },
            ]
        };
        let e = relayer.execute_relayed(&guarded, &drain(eth)).await.expect_err("no rule allows it");
        ensure!(matches!(e, Error::Policy(IPolicyHookErrors::CallNotAllowed(_))), "{e}");
        relayer.execute_relayed(&agent_key, &drain(eth)).await?;
        ensure!(net.provider().get_balance(account.address()).await?.is_zero(), "every wei");
        ensure!(net.balance_of(token, account.address()).await?.is_zero(), "every token");
        ensure!(net.provider().get_balance(thief).await? == eth);
        ensure!(net.balance_of(token, thief).await? == U256::from(1_000_000));
        Ok(())
    }

    /// Negative control for "no infinite approvals": an `approve(spender, max)` signed inside the 5-minute window
    /// outlives the key: after expiry the key is refused, but the spender still pulls the whole balance. Under a
    /// policy that forbids approvals (only `transfer` allowed; or every selector allowed but `approve` denied; or a
    /// token cap, which counts what an approval lets go), the approval is refused and nothing can be pulled later.
    #[tokio::test]
    async fn approval_inside_the_window_outlives_the_key_unless_the_policy_forbids_it() -> Result<()> {
        let net = Testnet::start().await?;
        let token = net.deploy_token().await?;
        let spender = PrivateKeySigner::random();
        net.fund(spender.address(), U256::from(10u128.pow(18))).await?;
        let pull = |from: Address, amount: U256| {
            let input = IAllowance::transferFromCall { from, to: spender.address(), amount }.abi_encode();
            let tx = alloy::rpc::types::TransactionRequest::default().to(token).input(input.into()).gas_limit(200_000);
            let p = net.provider_for(&spender);
            async move { eyre::Ok(p.send_transaction(tx).await?.get_receipt().await?.status()) }
        };
        let approve_max = [Call {
            to: token,
            value: U256::ZERO,
            data: IAllowance::approveCall { spender: spender.address(), amount: U256::MAX }.abi_encode().into(),
        }];

        // No policy: the approval goes through inside the window ...
        let open = Secp256k1Signer(PrivateKeySigner::random());
        let (t0, account, _) = grant_at_t0(&net, &open, &[]).await?;
        net.mint(token, account.address(), U256::from(5_000)).await?;
        let relayer = net.relayed(account.address());
        relayer.execute_relayed(&open, &approve_max).await?;
        // ... the key expires and is refused ...
        net.warp_to(t0 + 301).await?;
        let e = relayer.execute_relayed(&open, &approve_max).await.expect_err("expired");
        ensure!(matches!(e, Error::Keyward(IKeywardErrors::KeyExpired(_))), "{e}");
        // ... and the spender still takes everything.
        ensure!(pull(account.address(), U256::from(5_000)).await?, "the approval outlived the key");
        ensure!(net.balance_of(token, account.address()).await?.is_zero());

        // Policies that forbid approvals, one key each on a fresh account.
        let only_transfer = Secp256k1Signer(PrivateKeySigner::random());
        let approve_denied = Secp256k1Signer(PrivateKeySigner::random());
        let capped = Secp256k1Signer(PrivateKeySigner::random());
        let (t0, account, _) = grant_at_t0(&net, &only_transfer, &[]).await?;
        let expires = t0 + 300;
        let settings = net.policy_settings().expires_at(expires).build()?;
        let (a, b, c) = (only_transfer.key_hash(), approve_denied.key_hash(), capped.key_hash());
        account
            .execute_as_root(&[
                encode::self_call(encode::update(a, settings)),
                crate::hook(policy::allow(a, token, TRANSFER)),
                Testnet::grant_call(&approve_denied.key(), settings),
                crate::hook(policy::allow(b, token, ANY_SELECTOR)),
                crate::hook(policy::deny(b, token, APPROVE)),
                Testnet::grant_call(&capped.key(), settings),
                crate::hook(policy::allow(c, token, ANY_SELECTOR)),
                crate::hook(policy::token_limit(c, token, &SpendCaps::total(U256::from(1_000)))?),
            ])
            .await?;
        net.mint(token, account.address(), U256::from(5_000)).await?;
        let relayer = net.relayed(account.address());
        let e = relayer.execute_relayed(&only_transfer, &approve_max).await.expect_err("only transfer");
        ensure!(matches!(e, Error::Policy(IPolicyHookErrors::CallNotAllowed(_))), "{e}");
        let e = relayer.execute_relayed(&approve_denied, &approve_max).await.expect_err("approve denied");
        ensure!(matches!(e, Error::Policy(IPolicyHookErrors::CallDenied(_))), "{e}");
        let e = relayer.execute_relayed(&capped, &approve_max).await.expect_err("over the token cap");
        ensure!(matches!(e, Error::Policy(IPolicyHookErrors::SpendLimitExceeded(_))), "{e}");
        // Each key still does what it may (a transfer), so the refusals are about the approval.
        for key in [&only_transfer, &approve_denied, &capped] {
            relayer
                .execute_relayed(key, &[Testnet::transfer_call(token, Address::repeat_byte(0x7e), U256::from(1))])
                .await?;
        }
        let input = IAllowance::allowanceCall { owner: account.address(), spender: spender.address() }.abi_encode();
        let out =
            net.provider().call(alloy::rpc::types::TransactionRequest::default().to(token).input(input.into())).await?;
        ensure!(IAllowance::allowanceCall::abi_decode_returns(&out)?.is_zero(), "no allowance was granted");
        net.warp_to(expires + 1).await?;
        ensure!(!pull(account.address(), U256::from(1)).await?, "nothing to pull after expiry");
        ensure!(net.balance_of(token, account.address()).await? == U256::from(4_997));
        Ok(())
    }
}

/// The grant is "a single transaction containing two calls": when a later call of the grant's batch fails, the
/// whole batch is undone and no key is left behind, whether the batch is the seed's `register` + `update` (with a
/// settings word the account refuses), a grant with its PolicyHook configuration (one setting the hook refuses), or
/// the first calls of the EIP-7702 delegation itself. Each is refused typed before anything is sent, and forced on
/// chain anyway it reverts whole; the same grant without the bad call then works and carries only what it says.
#[tokio::test]
async fn failing_grant_batch_leaves_no_key_behind() -> Result<()> {
    use alloy::{
        network::TransactionBuilder,
        primitives::{Address, U256},
        providers::Provider,
        rpc::types::TransactionRequest,
        signers::local::PrivateKeySigner,
        sol_types::SolCall,
    };
    use keyward::{
        Error, Grant, Policy,
        bindings::{IKeyward, IKeyward::IKeywardErrors, policy::IPolicyHook::IPolicyHookErrors},
        client::KeyStatus,
        encode, policy,
    };

    let net = Testnet::start().await?;
    let agent = P256KeySigner::from_bytes(&[61; 32])?;
    let kh = agent.key_hash();
    let shop = Address::repeat_byte(0x5f);
    let (_, account) = net.new_account(&[]).await?;
    let relayer = net.relayed(account.address());
    let gone = |e: &Error| matches!(e, Error::Keyward(IKeywardErrors::KeyDoesNotExist(_)));
    let no_key = || async {
        ensure!(account.keys().await?.is_empty(), "a key was left behind");
        ensure!(account.status(kh).await? == KeyStatus::Revoked);
        ensure!(account.settings(kh).await.as_ref().is_err_and(gone));
        let e = relayer.execute_relayed(&agent, &crate::pay(shop, 0)).await.expect_err("no key");
        ensure!(gone(&e), "{e}");
        eyre::Ok(())
    };
    // Forced on chain: the EOA's own transaction with a fixed gas limit, no simulation first.
    let force = |calls: Vec<keyward::bindings::Call>| {
        let tx = TransactionRequest::default()
            .with_to(account.address())
            .with_input(encode::execute(&calls, true))
            .with_gas_limit(2_000_000);
        let account = &account;
        async move { eyre::Ok(account.provider().send_transaction(tx).await?.get_receipt().await?.status()) }
    };

    // The seed's two calls, the second with a settings word whose reserved bits are set.
    let bad_word = Settings::builder().expires_at(net.now().await? + 300).build()?.to_u256() | (U256::from(1) << 201);
    let seed_batch = vec![
        encode::self_call(encode::register(&agent.key())),
        keyward::bindings::Call {
            to: Address::ZERO,
            value: U256::ZERO,
            data: IKeyward::updateCall { keyHash: kh, settings: bad_word }.abi_encode().into(),
        },
    ];
    let e = account.execute_as_root(&seed_batch).await.expect_err("non-canonical settings");
    ensure!(matches!(e, Error::Keyward(IKeywardErrors::NonCanonicalSettings(_))), "{e}");
    no_key().await?;
    ensure!(!force(seed_batch).await?, "the batch reverts whole");
    no_key().await?;

    // A grant with its policy, plus one setting the hook refuses (more paymasters than it keeps).
    let now = net.now().await?;
    let grant = Grant::builder(agent.key())
        .expires_at(now + 300)
        .policy(net.policy_hook, Policy::new().allow_transfers_to(shop))
        .build()?;
    let too_many: Vec<Address> = (1..=5u8).map(Address::repeat_byte).collect();
    ensure!(too_many.len() > policy::MAX_PAYMASTERS);
    let mut bad = grant.calls.clone();
    bad.push(crate::hook(policy::paymasters(kh, too_many.clone())));
    let e = account.execute_as_root(&bad).await.expect_err("too many paymasters");
    ensure!(matches!(e, Error::Policy(IPolicyHookErrors::TooManyEntries(_))), "{e}");
    no_key().await?;
    ensure!(!force(bad).await?, "the batch reverts whole");
    no_key().await?;

    // The same grant as the first calls of a delegation: the delegation happens, the grant does not.
    let fresh = PrivateKeySigner::random();
    let mut bad = grant.calls.clone();
    bad.push(crate::hook(policy::paymasters(kh, too_many)));
    ensure!(net.new_account_for(&fresh, &bad).await.is_err(), "the delegation's calls revert");
    let delegated = net.relayed(fresh.address());
    ensure!(!net.provider().get_code_at(fresh.address()).await?.is_empty(), "delegated all the same");
    ensure!(delegated.keys().await?.is_empty() && delegated.status(kh).await? == KeyStatus::Revoked);

    // Without the bad call the grant goes through, with exactly its own policy.
    account.execute_as_root(&grant.calls).await?;
    ensure!(account.status(kh).await? == KeyStatus::Active);
    let p = account.policy(net.policy_hook, kh).await?;
    ensure!(p.paymasters.is_empty() && p.rules.len() == 1, "{p:?}");
    relayer.execute_relayed(&agent, &crate::pay(shop, 0)).await?;
    Ok(())
}
