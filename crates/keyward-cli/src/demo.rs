//! `keyward demo`: a 5-minute session key with a daily limit and a daily gas budget, used by an agent until the
//! limit and then the expiry stop it; then a second agent's key paused and resumed by the owner, and a payment
//! above its step-up threshold refused without the owner's co-signature and accepted with it. Each step is narrated with its transaction hash (`--json`: one JSON object per step), and each refusal
//! is checked to be the one the story expects, so the demo fails loudly instead of narrating something false.

use std::time::Duration;

use alloy::{
    primitives::{Address, B256, Bytes, TxHash, U256},
    providers::{DynProvider, Provider},
    signers::local::PrivateKeySigner,
};
use eyre::{Result, bail};
use keyward::{
    KeySigner, P256KeySigner, ROOT_KEY_HASH, RootSigner,
    agent::{Agent, FileStore, Route, RunReport},
    bindings::{Call, IKeyward::IKeywardErrors, policy::IPolicyHook::IPolicyHookErrors},
    client::{Account, KeyEvent, Pricing, UserOpRequest, UserOpRoute},
    deploy,
    explain::{self, Retry},
    grant::{Grant, NativeCaps, Policy, SpendCaps},
    units::format_eth,
    userop::ENTRY_POINT_V08,
};
use keyward_testkit::Testnet;
use serde_json::json;

/// The key's lifetime and the agent's daily allowance (it pays 0.001 ETH a minute).
const LIFETIME: u64 = 300;
const DAILY_LIMIT_WEI: u128 = 3_000_000_000_000_000;
const PAYMENT_WEI: u64 = 1_000_000_000_000_000;
/// What the account may pay in ERC-4337 gas for the key per day (charged at each operation's maximum cost).
const GAS_BUDGET_PER_DAY_WEI: u128 = 10_000_000_000_000_000;
/// The second agent's step-up threshold: a payment above 0.002 ETH needs the owner's co-signature.
const STEP_UP_WEI: u128 = 2_000_000_000_000_000;
/// The second agent's payment above the threshold.
const BIG_PAYMENT_WEI: u128 = 3_000_000_000_000_000;

/// Runs the demo; `j` selects JSON lines; with `bundler`, the agent's operations go through Pimlico's Alto, started
/// on the demo's chain, instead of `handleOps` sent by the demo's funded account.
pub(crate) async fn run(j: bool, bundler: bool) -> Result<()> {
    let net = Testnet::start().await?;
    let alto = if bundler { Some(keyward_testkit::Bundler::start(&net).await?) } else { None };
    step(
        j,
        "1",
        json!({ "action": "started", "rpc": net.url().to_string(), "keyward": net.keyward, "policyHook": net.policy_hook }),
        &format!(
            "started anvil at {} and deployed Keyward {} and PolicyHook {} (CREATE2)",
            net.url(),
            net.keyward,
            net.policy_hook
        ),
    );
    let session = P256KeySigner::from_bytes(&[42; 32])?;
    let shop = Address::repeat_byte(0x5e);
    let granted_at = net.now().await?;
    let (account, owner) = delegate_and_grant(j, &net, &session, shop, granted_at).await?;
    let pay = [Call { to: shop, value: U256::from(PAYMENT_WEI), data: Bytes::new() }];
    let route = match &alto {
        Some(alto) => Route::bundler(alto.client(), Duration::from_mins(1), Pricing::Bundler),
        None => Route::handle_ops(ENTRY_POINT_V08, Pricing::Node),
    };
    run_agent(j, &net, &account, &session, &pay, granted_at, route).await?;

    // The hook's books, as `keyward policy` shows them: the daily allowance is used up, three calls made. And the
    // account's own books of the key's gas budget: what the agent's operations were charged today.
    let policy = account.policy(net.policy_hook, session.key_hash()).await?;
    let spent = policy.native.spend.inWindow;
    if spent.to::<u128>() != DAILY_LIMIT_WEI || !policy.active {
        bail!("the hook's books say {spent} wei spent today (active: {}), expected the whole limit", policy.active);
    }
    let (budget, gas) = account.gas_budget(session.key_hash()).await?;
    // The agent's operations named their day's gas window (a day since the Unix epoch), as the client fills it in.
    if budget.perPeriod.to::<u128>() != GAS_BUDGET_PER_DAY_WEI || gas.window.to::<u64>() < granted_at / 86_400 {
        bail!("the account's gas books disagree: {budget:?} {gas:?}");
    }
    step(
        j,
        "4",
        json!({
            "action": "policy", "spentTodayWei": spent.to_string(), "dailyLimitWei": DAILY_LIMIT_WEI.to_string(),
            "rules": policy.rules.len(), "gasChargedTodayWei": gas.inWindow.to_string(),
            "gasBudgetPerDayWei": budget.perPeriod.to_string(),
        }),
        &format!(
            "the PolicyHook's books (`keyward policy`): {} of {} spent in today's window; the account charged the agent's operations {}{} of the key's {} daily gas budget",
            format_eth(U256::from(spent)),
            format_eth(U256::from(DAILY_LIMIT_WEI)),
            format_eth(U256::from(gas.inWindow)),
            if gas.inWindow.is_zero() { " (this local chain's operations carry zero fees)" } else { "" },
            format_eth(U256::from(budget.perPeriod))
        ),
    );

    // The account enforces the expiry itself: an operation of the expired key is refused in its simulation.
    net.warp(86_400).await?;
    match net.relayed(account.address()).execute_user_op(&session, &pay, ENTRY_POINT_V08).await {
        Err(e) if e.kind() == keyward::ErrorKind::KeyExpiredOrRevoked => step(
            j,
            "5",
            json!({ "action": "refused", "reason": "key expired", "error": e.to_string() }),
            &format!(
                "a day later the limit is fresh, but the expired key is refused (found before signing, nothing sent): {} ({e})",
                explain::sentence(&e, &explain::Context::default().at(net.now().await?))
            ),
        ),
        Ok(tx) => bail!("an expired key paid: {tx}"),
        Err(e) => bail!("the expired key was refused for another reason: {e}"),
    }

    let kh = session.key_hash();
    let tx = account.revoke(kh).await?;
    let received = net.provider().get_balance(shop).await?;
    step(
        j,
        "6",
        json!({ "action": "revoked", "keyHash": kh, "tx": tx, "shopReceivedWei": received.to_string() }),
        &format!("revoked the key: {tx}; the shop received {}", format_eth(received)),
    );
    watched(j, &account, kh).await?;
    // The second agent sends through handleOps on both routes: the chain is a day ahead of a bundler's clock now.
    pause_and_step_up(j, &net, &account, &owner, shop, Route::handle_ops(ENTRY_POINT_V08, Pricing::Node)).await
}

/// Steps 8-10: the owner grants a second agent a key under the co-signing PolicyHook (at its 0x1f address) with a
/// step-up threshold; pauses it (the agent's next run is refused, with the reason in words) and resumes it (it pays
/// again); a payment above the threshold is refused without the owner's co-signature and accepted with it.
async fn pause_and_step_up(
    j: bool,
    net: &Testnet,
    account: &Account<DynProvider>,
    owner: &PrivateKeySigner,
    shop: Address,
    route: Route,
) -> Result<()> {
    let hook = net.create2(deploy::policy_hook_salt_cosign(), keyward::policy_hook_bytecode()).await?;
    let second = P256KeySigner::from_bytes(&[43; 32])?;
    let kh = second.key_hash();
    let day = Duration::from_hours(24);
    let now = net.now().await?;
    let grant = Grant::builder(second.key())
        .expires_in(now, Duration::from_hours(1))
        .gas_budget(SpendCaps::periodic(U256::from(GAS_BUDGET_PER_DAY_WEI), day))
        .policy(
            hook,
            Policy::new()
                .allow_transfers_to(shop)
                .native_limit(NativeCaps {
                    per_period: Some(U256::from(DAILY_LIMIT_WEI * 10)),
                    period: Some(day),
                    ..NativeCaps::default()
                })
                .co_signers([ROOT_KEY_HASH], 0, 1)
                .step_up(Address::ZERO, U256::from(STEP_UP_WEI)),
        )
        .build()?;
    let tx = account.execute_as_root(&grant.calls).await?;
    step(
        j,
        "8",
        json!({ "action": "grantedStepUp", "keyHash": kh, "policyHook": hook, "stepUpWei": STEP_UP_WEI.to_string(), "tx": tx }),
        &format!(
            "the owner granted a second agent a 1-hour P256 key {kh} under the co-signing PolicyHook {hook} (0x1f): payments above {} need the owner's co-signature: {tx}",
            format_eth(U256::from(STEP_UP_WEI))
        ),
    );

    // The pause: the owner's circuit breaker, reversible.
    let via = route_name(&route).to_owned();
    let store = std::env::temp_dir().join(format!("keyward-demo-second-{}.json", std::process::id()));
    let _ = std::fs::remove_file(&store);
    let pay = vec![Call { to: shop, value: U256::from(PAYMENT_WEI), data: Bytes::new() }];
    let agent = Agent::new(
        net.relayed(account.address()),
        Box::new(second.clone()),
        pay,
        Duration::from_mins(1),
        route,
        FileStore::new(&store),
    );
    let result = paused_agent(j, net, account, &agent, kh, &via).await;
    let _ = std::fs::remove_file(&store);
    result?;

    // The step-up: above the threshold the owner co-signs the operation (its userOpHash, under the account's domain).
    let relayed = net.relayed(account.address());
    let big = [Call { to: shop, value: U256::from(BIG_PAYMENT_WEI), data: Bytes::new() }];
    let ops = UserOpRoute::handle_ops(ENTRY_POINT_V08);
    match relayed.prepare(&ops, UserOpRequest::new(&second, big.clone(), Pricing::Node)).await {
        Err(e @ keyward::Error::Policy(IPolicyHookErrors::CoSignaturesRequired(_))) => step(
            j,
            "10.1",
            json!({ "action": "stepUpRefused", "reason": "co-signature required", "words": explain::sentence(&e, &explain::Context::default()), "error": e.to_string() }),
            &format!(
                "the agent's payment of {} is above the step-up threshold and refused without the owner's co-signature (found in simulation, nothing sent): {}",
                format_eth(U256::from(BIG_PAYMENT_WEI)),
                explain::sentence(&e, &explain::Context::default())
            ),
        ),
        Ok(_) => bail!("a payment above the step-up threshold passed without a co-signature"),
        Err(e) => bail!("the step-up payment was refused for another reason: {e}"),
    }
    let owner = RootSigner(owner.clone());
    let prepared = relayed.prepare(&ops, UserOpRequest::new(&second, big, Pricing::Node).co_signed_by(&owner)).await?;
    let receipt = relayed.send(&ops, &prepared).await?;
    let tx = receipt.transaction_hash;
    step(
        j,
        "10.2",
        json!({ "action": "coSigned", "coSigner": "root", "userOpHash": prepared.user_op_hash, "valueWei": (BIG_PAYMENT_WEI).to_string(), "tx": tx }),
        &format!(
            "with the owner's co-signature over the operation ({}) the same payment is accepted: {tx}",
            prepared.user_op_hash
        ),
    );
    Ok(())
}

/// Step 9: the second agent pays; the owner pauses its key and the next run is refused; resumed, it pays again.
async fn paused_agent(
    j: bool,
    net: &Testnet,
    account: &Account<DynProvider>,
    agent: &Agent<DynProvider, Vec<Call>, FileStore>,
    kh: B256,
    via: &str,
) -> Result<()> {
    let paid = |n: &str, report: RunReport| match report {
        RunReport::Executed { run, tx } => {
            step(
                j,
                n,
                json!({ "action": "paid", "run": run, "via": "erc4337", "route": via, "valueWei": PAYMENT_WEI.to_string(), "tx": tx }),
                &format!("the second agent paid 0.001 ETH through ERC-4337, {via} (run {run}): {tx}"),
            );
            Ok(())
        }
        other => bail!("the second agent did not pay: {other:?}"),
    };
    paid("9.1", agent.tick().await?)?;
    let tx = account.pause_key(kh).await?;
    step(
        j,
        "9.2",
        json!({ "action": "paused", "keyHash": kh, "tx": tx }),
        &format!("the owner paused the second agent's key (pauseKey, its policy and books kept): {tx}"),
    );
    net.warp(60).await?;
    match agent.tick().await? {
        RunReport::Refused { refusal, error }
            if matches!(error.revert(), Some(keyward::Revert::Account(IKeywardErrors::KeyIsPaused(_)))) =>
        {
            step(
                j,
                "9.3",
                json!({ "action": "refused", "reason": "key paused", "words": refusal.words, "retry": refusal.retry, "error": error.to_string() }),
                &format!("the agent's next run is refused (found in simulation, nothing sent): {}", refusal.words),
            );
        }
        other => bail!("the paused key was not refused as paused: {other:?}"),
    }
    let tx = account.resume_key(kh).await?;
    step(
        j,
        "9.4",
        json!({ "action": "resumed", "keyHash": kh, "tx": tx }),
        &format!("the owner resumed the key (resumeKey): {tx}"),
    );
    net.warp(60).await?;
    paid("9.5", agent.tick().await?)
}

/// Step 2: a fresh EOA delegates to Keyward and grants the session key under the PolicyHook (only the shop, a
/// daily ETH limit) with a daily ERC-4337 gas budget the account enforces (the PolicyHook refuses account-paid gas
/// without one), all in one EIP-7702 transaction.
async fn delegate_and_grant(
    j: bool,
    net: &Testnet,
    session: &P256KeySigner,
    shop: Address,
    granted_at: u64,
) -> Result<(Account<DynProvider>, PrivateKeySigner)> {
    let kh = session.key_hash();
    let expires_at = granted_at + LIFETIME;
    let day = Duration::from_hours(24);
    // The grant builder writes the one batch: grant (settings naming the hook), gas budget, then the policy.
    let grant = Grant::builder(session.key())
        .expires_at(expires_at)
        .gas_budget(SpendCaps::periodic(U256::from(GAS_BUDGET_PER_DAY_WEI), day))
        .policy(
            net.policy_hook,
            Policy::new().allow_transfers_to(shop).native_limit(NativeCaps {
                per_period: Some(U256::from(DAILY_LIMIT_WEI)),
                period: Some(day),
                ..NativeCaps::default()
            }),
        )
        .build()?;
    let settings = grant.settings;
    let eoa = PrivateKeySigner::random();
    net.fund(eoa.address(), U256::from(10u128.pow(19))).await?;
    let account = Account::at(eoa.address(), net.provider_for(&eoa));
    let tx: TxHash = account.delegate(&eoa, net.keyward, &grant.calls).await?;
    step(
        j,
        "2",
        json!({
            "action": "delegatedAndGranted", "account": eoa.address(), "keyHash": kh, "keyType": "P256",
            "expiresAt": expires_at, "dailyLimitWei": DAILY_LIMIT_WEI.to_string(),
            "gasBudgetPerDayWei": GAS_BUDGET_PER_DAY_WEI.to_string(), "settings": settings.to_string(), "tx": tx,
        }),
        &format!(
            "EOA {} delegated to Keyward (EIP-7702) and granted a 5-minute P256 session key {kh} with a daily limit of 0.003 ETH and a daily gas budget of 0.01 ETH ({}), in one transaction: {tx}",
            eoa.address(),
            settings.flags()
        ),
    );
    Ok((account, eoa))
}

/// Step 3: the agent runtime pays every minute of chain time: three payments fit the daily limit, the next ones are
/// refused by the PolicyHook, and once the key has expired the agent stops by itself.
async fn run_agent(
    j: bool,
    net: &Testnet,
    account: &Account<DynProvider>,
    session: &P256KeySigner,
    pay: &[Call],
    granted_at: u64,
    route: Route,
) -> Result<()> {
    let via = route_name(&route);
    let store = std::env::temp_dir().join(format!("keyward-demo-{}.json", std::process::id()));
    let _ = std::fs::remove_file(&store);
    let agent = Agent::new(
        net.relayed(account.address()),
        Box::new(session.clone()),
        pay.to_vec(),
        Duration::from_mins(1),
        route,
        FileStore::new(&store),
    );
    // The agent starts half a minute after the grant, so no run falls on the expiry second itself: there the
    // status check, the simulations and the mined block could see different seconds on a busy machine.
    net.warp(30).await?;
    let (mut paid, mut refused) = (0u64, 0u64);
    for tick in 1..=20 {
        let at = net.now().await?.saturating_sub(granted_at);
        let n = format!("3.{tick}");
        match agent.tick().await? {
            RunReport::Executed { run, tx } => {
                paid += 1;
                step(
                    j,
                    &n,
                    json!({ "action": "paid", "run": run, "at": at, "via": "erc4337", "route": via, "valueWei": PAYMENT_WEI.to_string(), "tx": tx }),
                    &format!("t+{at}s the agent paid 0.001 ETH through ERC-4337, {via} (run {run}): {tx}"),
                );
            }
            // The PolicyHook's daily cap, on either route (the node's simulation, or the bundler's estimate).
            RunReport::Refused { refusal, error }
                if paid == 3
                    && matches!(
                        refusal.revert(),
                        Some(keyward::Revert::Policy(IPolicyHookErrors::SpendLimitExceeded(_)))
                    ) =>
            {
                refused += 1;
                let retry = match refusal.retry {
                    Retry::At(t) => {
                        format!("the agent waits until the window resets, t+{}s", t.saturating_sub(granted_at))
                    }
                    Retry::NextRun => "the agent tries again next run".to_owned(),
                    Retry::Never => "no later run can pass".to_owned(),
                };
                step(
                    j,
                    &n,
                    json!({ "action": "refused", "at": at, "reason": "daily limit reached", "words": refusal.words, "retry": refusal.retry, "revert": format!("{:?}", refusal.revert()), "error": error.to_string() }),
                    &format!(
                        "t+{at}s refused, daily limit reached (found in simulation, nothing sent): {}; {retry}",
                        refusal.words
                    ),
                );
            }
            // Waiting for the window the refusal named, or for the next minute.
            RunReport::NotDue { .. } if refused > 0 => {}
            RunReport::Stopped(why) if refused > 0 => {
                step(
                    j,
                    &n,
                    json!({ "action": "stopped", "at": at, "reason": why.to_string(), "stop": why }),
                    &format!("t+{at}s the agent stopped: {why}"),
                );
                break;
            }
            other => bail!("the demo's agent did something unexpected at t+{at}s: {other:?}"),
        }
        net.warp(60).await?;
    }
    let state = agent.state().await?;
    let _ = std::fs::remove_file(&store);
    if state.stopped.is_none() {
        bail!("the agent did not stop at the key's expiry");
    }
    if state.runs != paid || state.refusals != refused || state.failures != 0 {
        bail!("the agent's store disagrees with what it reported: {state:?}");
    }
    Ok(())
}

/// How the narration names the agent's route.
fn route_name(route: &Route) -> &'static str {
    if matches!(route, Route::UserOp { route, .. } if matches!(**route, UserOpRoute::Bundler { .. })) {
        "the Alto bundler"
    } else {
        "handleOps"
    }
}

/// Step 6: what the account's log (which `keyward watch` follows) says about the key.
async fn watched(j: bool, account: &Account<DynProvider>, kh: B256) -> Result<()> {
    let events = account.key_events(0).await?;
    let uses = events.iter().filter(|e| matches!(e, KeyEvent::Used { key_hash, .. } if *key_hash == kh)).count();
    step(
        j,
        "7",
        json!({ "action": "watched", "events": events.len(), "uses": uses }),
        &format!(
            "the account's log, which `keyward watch` follows, holds {} key events: the grant (one event for its Registered, KeySettingsUpdated and GasBudgetSet logs), {uses} uses (KeyUsed) and the revocation",
            events.len()
        ),
    );
    Ok(())
}

/// Prints one narrated step: a JSON line with `--json`, otherwise the text.
fn step(j: bool, step: &str, value: serde_json::Value, text: &str) {
    if j {
        let mut v = json!({ "step": step });
        if let (Some(obj), serde_json::Value::Object(fields)) = (v.as_object_mut(), value) {
            obj.extend(fields);
        }
        println!("{v}");
    } else {
        println!("{step}. {text}");
    }
}
