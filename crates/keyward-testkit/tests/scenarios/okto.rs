//! Okto delegated actions (seeds 000, 001): a session with the default 10-day lifetime; "logout" revokes it;
//! per-transaction, daily and total spend caps; a transaction-count cap; two app sessions independent.

use std::time::Duration;

use alloy::{
    primitives::{Address, U256},
    providers::Provider,
};
use eyre::{Result, ensure};
use keyward::{
    Error, Grant, KeySigner, P256KeySigner, Policy, Settings,
    bindings::policy::IPolicyHook::IPolicyHookErrors,
    client::KeyStatus,
    grant::UsageLimits,
    policy::{self, EMPTY_CALLDATA, NativeCaps},
};
use keyward_testkit::Testnet;

use crate::{hook, pay};

#[tokio::test]
async fn session_caps_and_logout() -> Result<()> {
    let net = Testnet::start().await?;
    let merchant = Address::repeat_byte(0x0c);
    let session = P256KeySigner::from_bytes(&[1; 32])?;
    let kh = session.key_hash();
    let now = net.now().await?;
    // Okto's default session lifetime: 10 days. Per transaction 100, per day 250, total 400 (wei), at most 6
    // transactions: the grant builder writes the one batch (grant first, the settings naming the hook).
    let grant = Grant::builder(session.key())
        .expires_in(now, Duration::from_hours(240))
        .policy(
            net.policy_hook,
            Policy::new()
                .allow_transfers_to(merchant)
                .native_limit(NativeCaps {
                    per_call: Some(U256::from(100)),
                    per_period: Some(U256::from(250)),
                    period: Some(Duration::from_hours(24)),
                    lifetime: Some(U256::from(400)),
                })
                .usage(UsageLimits { max_calls: Some(6), ..UsageLimits::default() }),
        )
        .build()?;
    ensure!(grant.key_hash == kh && grant.settings.hook() == net.policy_hook);
    let (_, account) = net.new_account(&grant.calls).await?;
    let app = net.relayed(account.address());
    let spend_kind = |e: &Error| match e {
        Error::Policy(IPolicyHookErrors::SpendLimitExceeded(x)) => Some(x.kind),
        _ => None,
    };

    // Per transaction: 100 accepted, 101 refused.
    let e = app.execute_relayed(&session, &pay(merchant, 101)).await.expect_err("101 > per-tx cap");
    ensure!(spend_kind(&e) == Some(0), "{e}");
    app.execute_relayed(&session, &pay(merchant, 100)).await?;
    app.execute_relayed(&session, &pay(merchant, 100)).await?;
    // Daily: 250 reached exactly, one more wei refused.
    app.execute_relayed(&session, &pay(merchant, 50)).await?;
    let e = app.execute_relayed(&session, &pay(merchant, 1)).await.expect_err("over the day's cap");
    ensure!(spend_kind(&e) == Some(1), "{e}");
    // Next day: the total cap (400) is what stops it.
    net.warp(86_400).await?;
    app.execute_relayed(&session, &pay(merchant, 100)).await?;
    app.execute_relayed(&session, &pay(merchant, 50)).await?;
    let e = app.execute_relayed(&session, &pay(merchant, 1)).await.expect_err("over the total cap");
    ensure!(spend_kind(&e) == Some(2), "{e}");
    ensure!(net.provider().get_balance(merchant).await? == U256::from(400));

    // Logout: one revoke, and the key is gone on every path.
    account.revoke(kh).await?;
    ensure!(account.status(kh).await? == KeyStatus::Revoked);
    let e = app.execute_relayed(&session, &pay(merchant, 1)).await.expect_err("logged out");
    ensure!(matches!(e, Error::Keyward(_)), "{e}");
    Ok(())
}

#[tokio::test]
async fn transaction_count_cap_and_independent_sessions() -> Result<()> {
    let net = Testnet::start().await?;
    let merchant = Address::repeat_byte(0x0d);
    let app_a = P256KeySigner::from_bytes(&[2; 32])?;
    let app_b = P256KeySigner::from_bytes(&[3; 32])?;
    let settings = net.policy_settings().build()?;
    let mut calls = Vec::new();
    for s in [&app_a, &app_b] {
        calls.push(Testnet::grant_call(&s.key(), settings));
        calls.push(hook(policy::allow(s.key_hash(), merchant, EMPTY_CALLDATA)));
        calls.push(hook(policy::native_unlimited(s.key_hash())));
    }
    calls.push(hook(policy::usage_limits(
        app_a.key_hash(),
        &UsageLimits { max_calls: Some(2), ..UsageLimits::default() },
    )?));
    let (_, account) = net.new_account(&calls).await?;
    let relayer = net.relayed(account.address());
    relayer.execute_relayed(&app_a, &pay(merchant, 1)).await?;
    relayer.execute_relayed(&app_a, &pay(merchant, 1)).await?;
    let e = relayer.execute_relayed(&app_a, &pay(merchant, 1)).await.expect_err("third transaction");
    ensure!(matches!(e, Error::Policy(IPolicyHookErrors::CallLimitExceeded(_))), "{e}");
    // App B's session is untouched by A's cap and by A's logout.
    account.revoke(app_a.key_hash()).await?;
    for _ in 0..3 {
        relayer.execute_relayed(&app_b, &pay(merchant, 1)).await?;
    }
    ensure!(net.provider().get_balance(merchant).await? == U256::from(5));
    Ok(())
}

#[tokio::test]
async fn paymaster_sponsored_operations_leave_the_accounts_eth_untouched() -> Result<()> {
    use keyward::userop::{ENTRY_POINT_V08, UserOpBuilder};

    let net = Testnet::start().await?;
    let paymaster = net.deploy_paymaster(U256::from(10u128.pow(18))).await?;
    let session = P256KeySigner::from_bytes(&[7; 32])?;
    let (_, account) = net.new_account(&[Testnet::grant_call(&session.key(), Settings::builder().build()?)]).await?;
    let bundler = net.relayed(account.address());
    let before = net.provider().get_balance(account.address()).await?;
    let nonce = bundler.entry_point_nonce(ENTRY_POINT_V08).await?;
    let op = UserOpBuilder::new(account.address(), nonce)
        .call(pay(Address::repeat_byte(0x0e), 0)[0].clone())
        .gas_limits(1_000_000, 1_000_000)
        .pre_verification_gas(50_000)
        .fees(1_000_000_000, 2_000_000_000)
        .paymaster(paymaster, 100_000, 0, &[])
        .build()?;
    let op = bundler.sign_user_op(op, &session, ENTRY_POINT_V08).await?;
    bundler.handle_ops(vec![op], ENTRY_POINT_V08).await?;
    ensure!(net.provider().get_balance(account.address()).await? == before, "the account paid no gas");
    ensure!(bundler.entry_point_nonce(ENTRY_POINT_V08).await? == nonce + U256::from(1), "the operation ran");
    Ok(())
}

/// Gas is spend: a PolicyHook key's ERC-4337 operations need a paymaster (one of the listed ones, once a list is
/// set) or a gas budget the account enforces; without either the account's ETH is never the gas tank.
#[tokio::test]
async fn policy_keys_pay_gas_through_a_paymaster_or_a_budget() -> Result<()> {
    use keyward::{
        bindings::{IKeyward::IKeywardErrors, PackedUserOperation},
        encode,
        userop::{ENTRY_POINT_V08, UserOpBuilder},
    };

    let net = Testnet::start().await?;
    let paymaster = net.deploy_paymaster(U256::from(10u128.pow(18))).await?;
    let merchant = Address::repeat_byte(0x0f);
    let sponsored = P256KeySigner::from_bytes(&[8; 32])?;
    let budgeted = P256KeySigner::from_bytes(&[9; 32])?;
    let (sk, bk) = (sponsored.key_hash(), budgeted.key_hash());
    let budget = encode::gas_budget(10u128.pow(15), 86_400, 0)?;
    let (_, account) = net
        .new_account(&[
            Testnet::grant_call(&sponsored.key(), net.policy_settings().build()?),
            hook(policy::allow(sk, merchant, EMPTY_CALLDATA)),
            Testnet::grant_call(&budgeted.key(), net.policy_settings().gas_budget(true).build()?),
            encode::self_call(encode::set_gas_budget(bk, budget.clone())),
            hook(policy::allow(bk, merchant, EMPTY_CALLDATA)),
        ])
        .await?;
    let bundler = net.relayed(account.address());
    let call = pay(merchant, 0);

    // No paymaster, no budget: the hook refuses in validation (nothing is sent).
    let e = bundler.execute_user_op(&sponsored, &call, ENTRY_POINT_V08).await.expect_err("account-paid gas");
    ensure!(matches!(e, Error::Policy(IPolicyHookErrors::PaymasterRequired(_))), "{e}");
    let sponsored_op = |pm: Address| {
        let bundler = &bundler;
        let sponsored = &sponsored;
        let call = call.clone();
        async move {
            let lane = bundler.reserved_lane(sponsored.key_hash(), 0).await?;
            let nonce = bundler.entry_point_nonce_in_lane(ENTRY_POINT_V08, lane).await?;
            let op = UserOpBuilder::new(bundler.address(), nonce)
                .call(call[0].clone())
                .gas_limits(1_000_000, 1_000_000)
                .pre_verification_gas(50_000)
                .fees(1_000_000_000, 2_000_000_000)
                .paymaster(pm, 100_000, 50_000, &[])
                .build()?;
            eyre::Ok::<PackedUserOperation>(bundler.sign_user_op(op, sponsored, ENTRY_POINT_V08).await?)
        }
    };
    // No paymaster is listed yet: this one is refused (an ERC-20 paymaster the account approved would charge it).
    let e = bundler.handle_ops(vec![sponsored_op(paymaster).await?], ENTRY_POINT_V08).await.expect_err("unlisted");
    ensure!(matches!(&e, Error::Policy(IPolicyHookErrors::PaymasterNotAllowed(p)) if p.paymaster == paymaster), "{e}");
    // Listed, it runs, and the account's ETH is untouched.
    account.execute_as_root(&[hook(policy::paymasters(sk, vec![paymaster]))]).await?;
    let before = net.provider().get_balance(account.address()).await?;
    bundler.handle_ops(vec![sponsored_op(paymaster).await?], ENTRY_POINT_V08).await?;
    ensure!(net.provider().get_balance(account.address()).await? == before, "the paymaster paid");
    // Once another paymaster is listed instead, this one is refused again.
    account.execute_as_root(&[hook(policy::paymasters(sk, vec![Address::repeat_byte(0x99)]))]).await?;
    let e = bundler.handle_ops(vec![sponsored_op(paymaster).await?], ENTRY_POINT_V08).await.expect_err("unlisted");
    ensure!(matches!(&e, Error::Policy(IPolicyHookErrors::PaymasterNotAllowed(p)) if p.paymaster == paymaster), "{e}");

    // The budgeted key: the account pays, within 0.001 ETH a day, charged in the day's window the client names.
    bundler.execute_user_op(&budgeted, &call, ENTRY_POINT_V08).await?;
    let (_, spent) = bundler.gas_budget(bk).await?;
    ensure!(spent.window.to::<u64>() == net.now().await? / 86_400, "charged to today's window: {spent:?}");
    // An operation whose maximum cost passes the day's budget is refused in validation.
    let nonce = bundler.entry_point_nonce_in_lane(ENTRY_POINT_V08, bundler.reserved_lane(bk, 0).await?).await?;
    let pricey = UserOpBuilder::new(account.address(), nonce)
        .call(call[0].clone())
        .gas_limits(1_000_000, 1_000_000)
        .pre_verification_gas(50_000)
        .fees(1, 1_000_000_000)
        .build()?;
    let pricey = bundler.sign_user_op(pricey, &budgeted, ENTRY_POINT_V08).await?;
    let e = bundler.handle_ops(vec![pricey], ENTRY_POINT_V08).await.expect_err("over budget");
    ensure!(matches!(&e, Error::Keyward(IKeywardErrors::GasBudgetExceeded(x)) if x.kind == 1), "{e}");
    Ok(())
}

/// "Consent can be revoked at any time by logging out": a hostile hook (one reverting in every callback, one burning
/// all the gas it is given) refuses its own key's every batch, yet the root's revoke of that key goes through on
/// every root path, and so does a revoke of every key at once.
#[tokio::test]
async fn hostile_hook_cannot_stop_logout() -> Result<()> {
    use keyward::{bindings::IKeyward::IKeywardErrors, hooks};
    use keyward_testkit::{GAS_BURNING_HOOK, REVERTING_HOOK};

    let net = Testnet::start().await?;
    let merchant = Address::repeat_byte(0x1c);
    let reverting = net.install_hook(&REVERTING_HOOK, hooks::ALL).await?;
    let burning = net.install_hook(&GAS_BURNING_HOOK, hooks::ALL).await?;
    let k1 = P256KeySigner::from_bytes(&[21; 32])?;
    let k2 = P256KeySigner::from_bytes(&[22; 32])?;
    let k3 = P256KeySigner::from_bytes(&[23; 32])?;
    let k4 = P256KeySigner::from_bytes(&[26; 32])?;
    let last = P256KeySigner::from_bytes(&[27; 32])?;
    let hostile = [(&k1, reverting), (&k2, burning), (&k3, reverting), (&k4, burning), (&last, burning)];
    let mut grants = Vec::new();
    for (key, hook) in hostile {
        grants.push(keyward_testkit::Testnet::grant_call(&key.key(), Settings::builder().hook(hook).build()?));
    }
    let (eoa, account) = net.new_account(&grants).await?;
    let root = keyward::RootSigner(eoa);
    let app = net.relayed(account.address());
    // The hooks are hostile: their keys can do nothing.
    for (key, _) in hostile {
        ensure!(app.execute_relayed(key, &pay(merchant, 0)).await.is_err(), "the hook refuses its key");
    }
    // The root revokes each key on each of its paths (its own transaction, a batch it signs for a relayer, a user
    // operation it signs); no hook is asked, so none can stop it.
    let revoke = |key: &P256KeySigner| [keyward::encode::self_call(keyward::encode::revoke(key.key_hash()))];
    account.revoke(k1.key_hash()).await?;
    account.revoke(k2.key_hash()).await?;
    app.execute_relayed(&root, &revoke(&k3)).await?;
    app.execute_user_op(&root, &revoke(&k4), keyward::userop::ENTRY_POINT_V08).await?;
    for key in [&k1, &k2, &k3, &k4] {
        ensure!(account.status(key.key_hash()).await? == KeyStatus::Revoked);
        let e = app.execute_relayed(key, &pay(merchant, 0)).await.expect_err("logged out");
        ensure!(matches!(e, Error::Keyward(IKeywardErrors::KeyDoesNotExist(_))), "{e}");
    }
    // Revoking every key at once is not stopped either.
    ensure!(account.status(last.key_hash()).await? == KeyStatus::Active);
    account.revoke_all().await?;
    ensure!(account.status(last.key_hash()).await? == KeyStatus::Revoked && account.keys().await?.is_empty());
    Ok(())
}

/// Spend limits per asset: one key with a native cap (100 wei) and a token cap (1,000 units) spends each to the
/// wei, in either order and in one batch; using up one leaves the other whole, and each refusal names its asset.
#[tokio::test]
async fn native_and_token_caps_count_independently() -> Result<()> {
    use keyward::policy::SpendCaps;

    const TRANSFER: [u8; 4] = [0xa9, 0x05, 0x9c, 0xbb];
    let net = Testnet::start().await?;
    let token = net.deploy_token().await?;
    let merchant = Address::repeat_byte(0x2c);
    let session = P256KeySigner::from_bytes(&[24; 32])?;
    let kh = session.key_hash();
    let (_, account) = net
        .new_account(&[
            keyward_testkit::Testnet::grant_call(&session.key(), net.policy_settings().build()?),
            hook(policy::allow(kh, merchant, EMPTY_CALLDATA)),
            hook(policy::allow(kh, token, TRANSFER)),
            hook(policy::native_limits(kh, &NativeCaps { lifetime: Some(U256::from(100)), ..NativeCaps::default() })?),
            hook(policy::token_limit(kh, token, &SpendCaps::total(U256::from(1_000)))?),
        ])
        .await?;
    net.mint(token, account.address(), U256::from(10_000)).await?;
    let app = net.relayed(account.address());
    let spend = |e: &Error| match e {
        Error::Policy(IPolicyHookErrors::SpendLimitExceeded(x)) => Some((x.asset, x.kind)),
        _ => None,
    };
    let tokens = |n: u64| [keyward_testkit::Testnet::transfer_call(token, merchant, U256::from(n))];

    // One batch spends in both assets: 40 wei and 400 units, each counted against its own cap only.
    app.execute_relayed(&session, &[pay(merchant, 40)[0].clone(), tokens(400)[0].clone()]).await?;
    let p = account.policy(net.policy_hook, kh).await?;
    ensure!(p.native.spend.total.to::<u64>() == 40 && p.tokens.len() == 1, "{p:?}");
    ensure!(p.tokens[0].spend.total.to::<u64>() == 400, "{:?}", p.tokens[0]);
    // Native used up to the wei: the token still has its 600 units.
    app.execute_relayed(&session, &pay(merchant, 60)).await?;
    let e = app.execute_relayed(&session, &pay(merchant, 1)).await.expect_err("native cap reached");
    ensure!(spend(&e) == Some((Address::ZERO, 2)), "{e}");
    app.execute_relayed(&session, &tokens(600)).await?;
    // Token used up: refused as the token, and the native cap's refusal is still the native one.
    let e = app.execute_relayed(&session, &tokens(1)).await.expect_err("token cap reached");
    ensure!(spend(&e) == Some((token, 2)), "{e}");
    // A batch over one cap is refused whole: the other asset's part does not run either.
    let e = app
        .execute_relayed(&session, &[pay(merchant, 0)[0].clone(), tokens(1)[0].clone()])
        .await
        .expect_err("token part over its cap");
    ensure!(spend(&e) == Some((token, 2)), "{e}");
    let p = account.policy(net.policy_hook, kh).await?;
    ensure!(p.native.spend.total.to::<u64>() == 100 && p.tokens[0].spend.total.to::<u64>() == 1_000, "{p:?}");
    ensure!(net.provider().get_balance(merchant).await? == U256::from(100));
    ensure!(net.balance_of(token, merchant).await? == U256::from(1_000));
    Ok(())
}

/// Logging out and in again: after revocation `getKey` and `getKeySettings` answer `KeyDoesNotExist`; the same
/// public key registered again starts from an empty settings word (Calibur's `register` alone), and under the
/// PolicyHook from an empty policy: the old rules, caps and what was spent do not come back.
#[tokio::test]
async fn revoked_session_reads_gone_and_a_new_login_starts_empty() -> Result<()> {
    use alloy::{rpc::types::TransactionRequest, sol_types::SolCall};
    use keyward::{
        bindings::IKeyward::{self, IKeywardErrors},
        encode,
    };

    let net = Testnet::start().await?;
    let merchant = Address::repeat_byte(0x3c);
    let session = P256KeySigner::from_bytes(&[25; 32])?;
    let kh = session.key_hash();
    let now = net.now().await?;
    let grant = Grant::builder(session.key())
        .expires_in(now, Duration::from_hours(240))
        .policy(
            net.policy_hook,
            Policy::new()
                .allow_transfers_to(merchant)
                .native_limit(NativeCaps { lifetime: Some(U256::from(50)), ..NativeCaps::default() }),
        )
        .build()?;
    let (_, account) = net.new_account(&grant.calls).await?;
    let app = net.relayed(account.address());
    app.execute_relayed(&session, &pay(merchant, 30)).await?;
    let first_id = account.key_id(kh).await?;
    let read = |call: Vec<u8>| {
        let account = &account;
        async move {
            let tx = TransactionRequest::default().to(account.address()).input(call.into());
            account.provider().call(tx).await
        }
    };
    let get_key = || IKeyward::getKeyCall { keyHash: kh }.abi_encode();
    let got = IKeyward::getKeyCall::abi_decode_returns(&read(get_key()).await?)?;
    ensure!(got == session.key(), "registered: getKey returns the key");

    account.revoke(kh).await?;
    // Every read says the key does not exist.
    let gone = |e: Error| matches!(e, Error::Keyward(IKeywardErrors::KeyDoesNotExist(_)));
    let e = read(get_key()).await.expect_err("getKey after revocation");
    let decoded = match e.as_error_resp() {
        Some(payload) => payload.as_decoded_interface_error::<IKeywardErrors>(),
        None => None,
    };
    ensure!(matches!(decoded, Some(IKeywardErrors::KeyDoesNotExist(_))), "getKey reverts KeyDoesNotExist: {e}");
    ensure!(account.settings(kh).await.is_err_and(gone), "getKeySettings after revocation");
    ensure!(account.key_id(kh).await.is_err_and(gone), "keyIdOf after revocation");
    ensure!(account.keys().await?.is_empty());

    // Registered again with Calibur's `register` alone: the key is back with an all-zero settings word.
    account.execute_as_root(&[encode::self_call(encode::register(&session.key()))]).await?;
    ensure!(IKeyward::getKeyCall::abi_decode_returns(&read(get_key()).await?)? == session.key());
    let s = account.settings(kh).await?;
    ensure!(s.to_u256() == U256::ZERO, "empty settings: {s:?}");
    ensure!(s.hook() == Address::ZERO && s.expiration() == 0 && !s.is_admin() && s.valid_after() == 0);
    ensure!(account.key_id(kh).await? != first_id, "a new registration");
    // Under the PolicyHook again: the old allow rule and the 30 wei spent are not there.
    account.update(kh, net.policy_settings().build()?).await?;
    let p = account.policy(net.policy_hook, kh).await?;
    ensure!(p.rules.is_empty() && !p.native.enabled && p.native.spend.total.to::<u64>() == 0, "{p:?}");
    let e = app.execute_relayed(&session, &pay(merchant, 1)).await.expect_err("no rule yet");
    ensure!(matches!(e, Error::Policy(IPolicyHookErrors::CallNotAllowed(_))), "{e}");
    Ok(())
}
