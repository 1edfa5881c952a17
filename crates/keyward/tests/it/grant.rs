//! A grant written with the builder (named caps, typed calls, conditions) is enforced on chain as written: each
//! cap holds at its boundary (accepted at the cap, refused one past it), in one EIP-7702 transaction.

use std::time::Duration;

use alloy::{
    network::EthereumWallet,
    node_bindings::Anvil,
    primitives::{Address, Bytes, U256},
    providers::{Provider, ProviderBuilder, ext::AnvilApi},
    signers::local::PrivateKeySigner,
    sol,
    sol_types::SolCall,
};
use eyre::{OptionExt, Result, ensure};

use crate::chain::{anvil_path, deploy, deploy_policy_hook, place_entry_point};
use keyward::{
    Error, KeySigner, P256KeySigner,
    bindings::{Call, policy::IPolicyHook::IPolicyHookErrors},
    client::Account,
    explain,
    grant::{Grant, NativeCaps, Policy, SpendCaps, UsageLimits, arg, value},
    units::Tokens,
};

sol! {
    interface IToken {
        function mint(address to, uint256 amount) external;
        function balanceOf(address owner) external view returns (uint256);
        function transfer(address to, uint256 amount) external returns (bool);
        function approve(address spender, uint256 amount) external returns (bool);
    }
}

/// The testkit's ERC-20 (this crate cannot depend on the testkit, which depends on it).
const MOCK_ERC20: &str = include_str!("../../../keyward-testkit/artifacts/MockERC20.bytecode.hex");

fn transfer(token: Address, to: Address, amount: u64) -> Call {
    Call {
        to: token,
        value: U256::ZERO,
        data: IToken::transferCall { to, amount: U256::from(amount) }.abi_encode().into(),
    }
}

fn pay(to: Address, wei: u64) -> Call {
    Call { to, value: U256::from(wei), data: Bytes::new() }
}

fn policy_error(e: &Error) -> Option<&IPolicyHookErrors> {
    match e {
        Error::Policy(p) => Some(p),
        _ => None,
    }
}

fn spend_kind(e: &Error) -> Option<(Address, u8)> {
    match policy_error(e)? {
        IPolicyHookErrors::SpendLimitExceeded(s) => Some((s.asset, s.kind)),
        _ => None,
    }
}

fn condition(e: &Error) -> Option<U256> {
    match policy_error(e)? {
        IPolicyHookErrors::ConditionFailed(c) => Some(c.index),
        _ => None,
    }
}

#[tokio::test]
#[ignore = "spawns anvil from node_modules: `make test` runs it"]
#[expect(clippy::too_many_lines, reason = "one scenario, read top to bottom: each cap at its boundary")]
async fn test_grant_builder_caps_hold_on_chain() -> Result<()> {
    let anvil = Anvil::at(anvil_path()?).spawn();
    let url = anvil.endpoint_url();
    let funder: PrivateKeySigner = anvil.keys()[0].clone().into();
    let relayed = ProviderBuilder::new().wallet(EthereumWallet::from(funder)).connect_http(url.clone());
    let keyward = deploy(&relayed, keyward::keyward_bytecode()).await?;
    place_entry_point(&relayed).await?;
    let hook = deploy_policy_hook(&relayed).await?;
    let token = deploy(&relayed, MOCK_ERC20.trim().parse()?).await?;

    let (alice, bob, carol, shop) = (
        Address::repeat_byte(0xa1),
        Address::repeat_byte(0xb0),
        Address::repeat_byte(0xc4),
        Address::repeat_byte(0x5e),
    );
    let session = P256KeySigner::from_bytes(&[31; 32])?;
    let now =
        relayed.get_block_by_number(alloy::eips::BlockNumberOrTag::Latest).await?.ok_or_eyre("block")?.header.timestamp;
    let day = Duration::from_hours(24);
    let grant = Grant::builder(session.key())
        .expires_in(now, Duration::from_hours(72))
        .policy(
            hook,
            Policy::new()
                // Only transfers to alice or bob, at most 60 a call...
                .allow_call_if::<IToken::transferCall>(
                    token,
                    [arg(0).one_of([alice, bob]), arg(1).at_most(U256::from(60))],
                )
                // ... 100 a day and 150 in all.
                .token_limit(token, SpendCaps::periodic(U256::from(100), day).with_lifetime(U256::from(150)))
                // Plain ETH to the shop, at most 5 wei a payment, 8 a day.
                .allow_transfers_to_if(shop, [value().at_most(U256::from(5))])
                .native_limit(NativeCaps {
                    per_period: Some(U256::from(8)),
                    period: Some(day),
                    ..NativeCaps::default()
                })
                .usage(UsageLimits { max_per_batch: Some(2), ..UsageLimits::default() }),
        )
        .build()?;
    ensure!(grant.settings.hook() == hook, "the settings name the hook the policy is for");

    // One EIP-7702 transaction: delegation, grant, policy.
    let eoa = PrivateKeySigner::random();
    relayed.anvil_set_balance(eoa.address(), U256::from(10u128.pow(19))).await?;
    let as_eoa = ProviderBuilder::new().wallet(EthereumWallet::from(eoa.clone())).connect_http(url.clone());
    let owner = Account::at(eoa.address(), &as_eoa);
    owner.delegate(&eoa, keyward, &grant.calls).await?;
    let minted = IToken::mintCall { to: eoa.address(), amount: U256::from(1_000) };
    relayed
        .send_transaction(
            alloy::rpc::types::TransactionRequest::default().to(token).input(Bytes::from(minted.abi_encode()).into()),
        )
        .await?
        .get_receipt()
        .await?;
    let p = owner.policy(hook, grant.key_hash).await?;
    ensure!(p.active && p.rules.len() == 2 && p.tokens.len() == 1 && p.native.enabled, "{p:?}");
    ensure!(p.tokens[0].limits.perPeriod.to::<u64>() == 100 && p.tokens[0].limits.lifetime.to::<u64>() == 150);

    let agent = Account::at(eoa.address(), &relayed);
    let run = |calls: Vec<Call>| {
        let agent = &agent;
        let session = &session;
        async move { agent.execute_relayed(session, &calls).await }
    };

    // Per-call argument cap: 60 accepted, 61 refused (condition 1); recipients: carol refused (condition 0).
    run(vec![transfer(token, alice, 60)]).await?;
    let e = run(vec![transfer(token, bob, 61)]).await.expect_err("61 > 60 a call");
    ensure!(condition(&e) == Some(U256::from(1)), "{e}");
    let e = run(vec![transfer(token, carol, 1)]).await.expect_err("carol is not a recipient");
    ensure!(condition(&e) == Some(U256::ZERO), "{e}");
    // Daily cap: 100 reached exactly, one more refused as a per-period spend.
    run(vec![transfer(token, bob, 40)]).await?;
    let e = run(vec![transfer(token, alice, 1)]).await.expect_err("over 100 today");
    ensure!(spend_kind(&e) == Some((token, 1)), "{e}");
    // In words, with the policy as the hook reports it and the chain's time.
    explains_daily_cap(&owner, &agent, hook, grant.key_hash, token, &e).await?;
    // Another call of the token is not allowed at all.
    let approve = Call {
        to: token,
        value: U256::ZERO,
        data: IToken::approveCall { spender: alice, amount: U256::from(1) }.abi_encode().into(),
    };
    let e = run(vec![approve]).await.expect_err("approve is not allowed");
    ensure!(matches!(policy_error(&e), Some(IPolicyHookErrors::CallNotAllowed(_))), "{e}");

    // Native: 5 wei a payment accepted, 6 refused by the value condition; 8 a day.
    run(vec![pay(shop, 5)]).await?;
    let e = run(vec![pay(shop, 6)]).await.expect_err("6 > 5 a payment");
    ensure!(condition(&e) == Some(U256::ZERO), "{e}");
    run(vec![pay(shop, 3)]).await?;
    let e = run(vec![pay(shop, 1)]).await.expect_err("over 8 today");
    ensure!(spend_kind(&e) == Some((Address::ZERO, 1)), "{e}");
    // Calls per batch: 2 accepted, 3 refused.
    run(vec![pay(shop, 0), pay(shop, 0)]).await?;
    let e = run(vec![pay(shop, 0), pay(shop, 0), pay(shop, 0)]).await.expect_err("3 calls in a batch");
    ensure!(matches!(policy_error(&e), Some(IPolicyHookErrors::CallLimitExceeded(c)) if c.kind == 3), "{e}");

    // A day later the daily caps reset; the lifetime cap (150) is what stops the token now.
    relayed.anvil_increase_time(86_400).await?;
    relayed.anvil_mine(Some(1), None).await?;
    run(vec![transfer(token, alice, 50)]).await?;
    let e = run(vec![transfer(token, alice, 1)]).await.expect_err("over 150 in all");
    ensure!(spend_kind(&e) == Some((token, 2)), "{e}");
    run(vec![pay(shop, 5)]).await?;

    let balance = |who| {
        let relayed = &relayed;
        async move {
            let out = relayed
                .call(
                    alloy::rpc::types::TransactionRequest::default()
                        .to(token)
                        .input(Bytes::from(IToken::balanceOfCall { owner: who }.abi_encode()).into()),
                )
                .await?;
            eyre::Ok(U256::from_be_slice(&out))
        }
    };
    ensure!(balance(alice).await? == U256::from(110) && balance(bob).await? == U256::from(40));
    ensure!(balance(carol).await? == U256::ZERO);
    ensure!(relayed.get_balance(shop).await? == U256::from(13));
    Ok(())
}

/// The refusal in words, with the policy as the hook reports it and the chain's time: in token units, what is left,
/// when it resets; and the retry time is that reset.
async fn explains_daily_cap<P: Provider, Q: Provider>(
    owner: &Account<P>,
    agent: &Account<Q>,
    hook: Address,
    key_hash: alloy::primitives::B256,
    token: Address,
    e: &Error,
) -> Result<()> {
    let tokens = Tokens::new().with("TT", token, 0);
    let p = owner.policy(hook, key_hash).await?;
    let at = agent.now().await?;
    let ctx = explain::Context::new(&tokens).with_policy(&p).at(at);
    let reset = p.tokens[0].spend.windowStart.to::<u64>() + 86_400;
    let words = explain::sentence(e, &ctx);
    ensure!(
        words
            == format!(
                "spend limit exceeded: 1 TT attempted, 0 TT left this period (resets in {})",
                keyward::units::format_duration_short(Duration::from_secs(reset - at))
            ),
        "{words}"
    );
    ensure!(explain::retry(e, &ctx) == explain::Retry::At(reset));
    Ok(())
}
