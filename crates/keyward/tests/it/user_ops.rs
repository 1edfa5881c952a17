//! `Account::prepare` and `Account::send` on the `handleOps` route against the real EntryPoint v0.8 on anvil: gas
//! estimated by simulation with a stub signature for every key type, fees from an explicit source, one signature,
//! a simulation that keeps refused operations off the chain, and every failure typed and classified. (The bundler
//! route runs against Alto in `keyward-testkit`'s scenarios.)

use alloy::{
    primitives::{Address, B256, Bytes, U256},
    providers::Provider,
    signers::local::PrivateKeySigner,
};
use eyre::{Result, bail, ensure};
use keyward::{
    Error, ErrorKind, KeySigner, P256KeySigner, RootSigner, Secp256k1Signer, Settings, WebAuthnSigner,
    bindings::{IKeyward::IKeywardErrors, policy::IPolicyHook::IPolicyHookErrors},
    bundler::{FeeSource, Fees, GasEstimate},
    client::{Lane, Paymaster, Pricing, UserOpRequest, UserOpRoute},
    encode, lanes,
    policy::{self, EMPTY_CALLDATA},
    userop::ENTRY_POINT_V08,
};

use crate::fixture::{Chain, expiring, grant, pay, transfer};

fn route() -> UserOpRoute {
    UserOpRoute::handle_ops(ENTRY_POINT_V08)
}

#[tokio::test]
#[ignore = "spawns anvil from node_modules: `make test` runs it"]
async fn test_prepare_and_send_estimate_sign_once_and_pay_at_node_fees_for_every_key_type() -> Result<()> {
    let secp = Secp256k1Signer(PrivateKeySigner::random());
    let p256 = P256KeySigner::from_bytes(&[31; 32])?;
    let webauthn = WebAuthnSigner::new(P256KeySigner::from_bytes(&[32; 32])?.0, "wallet.keyward.test");
    let settings = Settings::builder().build()?;
    let chain = Chain::start(&[grant(&secp, settings), grant(&p256, settings), grant(&webauthn, settings)]).await?;
    let account = chain.relayed();
    let shop = Address::repeat_byte(0x61);
    let root = RootSigner(chain.eoa.clone());
    let signers: [&dyn KeySigner; 4] = [&secp, &p256, &webauthn, &root];
    for (i, signer) in signers.into_iter().enumerate() {
        let prepared = account.prepare(&route(), UserOpRequest::new(signer, pay(shop, 10), Pricing::Node)).await?;
        let op = &prepared.op;
        // Estimated and priced, nothing left at zero; in the key's own reserved lane 0, signed over the final op.
        ensure!(
            op.verification_gas_limit > 40_000 && op.call_gas_limit > 21_000 && op.pre_verification_gas > U256::ZERO
        );
        ensure!(op.max_fee_per_gas > 0 && prepared.fee_source == FeeSource::NodeFeeHistory, "{prepared:?}");
        ensure!(prepared.simulated && prepared.key_hash == signer.key_hash() && prepared.gas_window.is_none());
        let lane = account.reserved_lane(signer.key_hash(), 0).await?;
        ensure!(op.nonce == lanes::nonce(lane, 0), "reserved lane 0 of key {i}");
        ensure!(op.signature.len() > 32 && B256::from_slice(&op.signature[..32]) == signer.key_hash());
        let receipt = account.send(&route(), &prepared).await?;
        ensure!(receipt.user_op_hash == prepared.user_op_hash && receipt.sender == account.address());
        ensure!(receipt.nonce == op.nonce && receipt.paymaster.is_none());
        // The account paid the submitter at the operation's fees, never more than its maximum cost.
        ensure!(receipt.actual_gas_cost > U256::ZERO && receipt.actual_gas_cost <= prepared.max_cost(), "{receipt:?}");
        let tx = chain.relayer.get_transaction_receipt(receipt.transaction_hash).await?;
        ensure!(tx.is_some_and(|t| t.block_number == Some(receipt.block_number)));
    }
    ensure!(chain.balance(shop).await? == U256::from(40), "one payment per key");
    Ok(())
}

/// The account and the PolicyHook refuse in simulation: the operation is a typed refusal and nothing is sent.
#[tokio::test]
#[ignore = "spawns anvil from node_modules: `make test` runs it"]
async fn test_prepare_returns_policy_refusals_typed_and_never_sends_them() -> Result<()> {
    let chain = Chain::start(&[]).await?;
    let hook = chain.policy_hook().await?;
    let session = P256KeySigner::from_bytes(&[33; 32])?;
    let kh = session.key_hash();
    let shop = Address::repeat_byte(0x62);
    let user = chain.user();
    user.execute_as_root(&[
        grant(&session, Settings::builder().policy_hook(hook).gas_budget(true).build()?),
        encode::self_call(encode::set_gas_budget(kh, encode::gas_budget(0, 0, 10u128.pow(18))?)),
        policy::to_hook(hook, policy::allow(kh, shop, EMPTY_CALLDATA)),
        policy::to_hook(
            hook,
            policy::native_limits(
                kh,
                &policy::NativeCaps {
                    per_call: Some(U256::from(100)),
                    per_period: Some(U256::from(1_000)),
                    period: Some(std::time::Duration::from_hours(24)),
                    lifetime: None,
                },
            )?,
        ),
    ])
    .await?;
    let account = chain.relayed();
    let before = (
        chain.relayer.get_block_number().await?,
        account.entry_point_nonce_in_lane(ENTRY_POINT_V08, account.reserved_lane(kh, 0).await?).await?,
    );
    let after = || async {
        eyre::Ok((
            chain.relayer.get_block_number().await?,
            account.entry_point_nonce_in_lane(ENTRY_POINT_V08, account.reserved_lane(kh, 0).await?).await?,
        ))
    };

    // Over the per-call cap.
    let e =
        account.prepare(&route(), UserOpRequest::new(&session, pay(shop, 101), Pricing::Node)).await.expect_err("cap");
    match &e {
        Error::Policy(IPolicyHookErrors::SpendLimitExceeded(x)) => {
            ensure!(x.attempted == U256::from(101) && x.limit == U256::from(100), "{x:?}");
        }
        other => bail!("expected SpendLimitExceeded, got {other:?}"),
    }
    ensure!(e.kind() == ErrorKind::RefusedByPolicy && matches!(e.revert(), Some(keyward::Revert::Policy(_))));
    // A target the policy does not allow.
    let e = account
        .prepare(&route(), UserOpRequest::new(&session, pay(Address::repeat_byte(1), 1), Pricing::Node))
        .await
        .expect_err("target");
    ensure!(matches!(e, Error::Policy(IPolicyHookErrors::CallNotAllowed(_))) && e.kind() == ErrorKind::RefusedByPolicy);
    // Account-paid gas past the key's gas budget: refused by the account in validation.
    user.set_gas_budget(kh, encode::gas_budget(0, 0, 1_000)?).await?;
    let before = (before.0 + 1, before.1);
    let e =
        account.prepare(&route(), UserOpRequest::new(&session, pay(shop, 1), Pricing::Node)).await.expect_err("budget");
    ensure!(matches!(e, Error::Keyward(IKeywardErrors::GasBudgetExceeded(_))), "{e:?}");
    ensure!(e.kind() == ErrorKind::RefusedByPolicy);
    // Nothing was sent: no block beyond the budget change, the key's lane never moved.
    ensure!(after().await? == before, "a refusal was sent");
    // The same operation at zero fees (explicitly) charges nothing and runs.
    let prepared = account.prepare(&route(), UserOpRequest::new(&session, pay(shop, 100), Pricing::Zero)).await?;
    ensure!(prepared.fee_source == FeeSource::Explicit && prepared.max_cost() == U256::ZERO);
    let receipt = account.send(&route(), &prepared).await?;
    ensure!(receipt.actual_gas_cost == U256::ZERO && chain.balance(shop).await? == U256::from(100));
    Ok(())
}

/// A key with a periodic gas budget: the operation names the day's window and is charged its maximum cost.
#[tokio::test]
#[ignore = "spawns anvil from node_modules: `make test` runs it"]
async fn test_prepare_names_the_gas_window_and_the_budget_is_charged_the_max_cost() -> Result<()> {
    let session = P256KeySigner::from_bytes(&[34; 32])?;
    let kh = session.key_hash();
    let chain = Chain::start(&[
        grant(&session, Settings::builder().gas_budget(true).build()?),
        encode::self_call(encode::set_gas_budget(kh, encode::gas_budget(10u128.pow(17), 86_400, 0)?)),
    ])
    .await?;
    let account = chain.relayed();
    let prepared =
        account.prepare(&route(), UserOpRequest::new(&session, pay(Address::repeat_byte(2), 1), Pricing::Node)).await?;
    let today = chain.now().await? / 86_400;
    ensure!(prepared.gas_window == Some(today), "{prepared:?}");
    account.send(&route(), &prepared).await?;
    let (_, spent) = account.gas_budget(kh).await?;
    ensure!(spent.window.to::<u64>() == today && U256::from(spent.inWindow) == prepared.max_cost(), "{spent:?}");
    Ok(())
}

/// An expired or revoked key: typed, classified as such, nothing sent; valid up to its expiration second.
#[tokio::test]
#[ignore = "spawns anvil from node_modules: `make test` runs it"]
async fn test_prepare_classifies_expired_and_revoked_keys() -> Result<()> {
    let chain = Chain::start(&[]).await?;
    let now = chain.now().await?;
    let (expiring_key, revoked_key) = (P256KeySigner::from_bytes(&[35; 32])?, P256KeySigner::from_bytes(&[36; 32])?);
    chain
        .user()
        .execute_as_root(&[grant(&expiring_key, expiring(now, 100)?), grant(&revoked_key, Settings::default())])
        .await?;
    let account = chain.relayed();
    let to = Address::repeat_byte(3);
    // Valid before its expiration...
    let ok = account.prepare(&route(), UserOpRequest::new(&expiring_key, pay(to, 1), Pricing::Node)).await?;
    account.send(&route(), &ok).await?;
    // ...refused after it.
    chain.warp(200).await?;
    let e = account
        .prepare(&route(), UserOpRequest::new(&expiring_key, pay(to, 1), Pricing::Node))
        .await
        .expect_err("expired");
    ensure!(e.kind() == ErrorKind::KeyExpiredOrRevoked, "{e:?}");
    ensure!(
        matches!(e, Error::Keyward(IKeywardErrors::KeyExpired(_))) || e.aa_code().is_some_and(|c| c.0 == 22),
        "{e:?}"
    );
    // Prepared while valid, sent after: the EntryPoint refuses in validation (AA22), nothing mined.
    chain.user().revoke(revoked_key.key_hash()).await?;
    let e = account
        .prepare(&route(), UserOpRequest::new(&revoked_key, pay(to, 1), Pricing::Node))
        .await
        .expect_err("revoked");
    ensure!(e.kind() == ErrorKind::KeyExpiredOrRevoked, "{e:?}");
    ensure!(chain.balance(to).await? == U256::from(1));
    Ok(())
}

/// Requests that cannot work are typed misuse, found before anything is sent.
#[tokio::test]
#[ignore = "spawns anvil from node_modules: `make test` runs it"]
async fn test_prepare_refuses_misuse_with_typed_errors() -> Result<()> {
    let session = Secp256k1Signer(PrivateKeySigner::random());
    let chain = Chain::start(&[grant(&session, Settings::default())]).await?;
    let account = chain.relayed();
    let calls = || pay(Address::repeat_byte(4), 1);
    let misuse = |e: &Error| e.kind() == ErrorKind::Misuse;
    let req = |pricing| UserOpRequest::new(&session, calls(), pricing);

    let e = account.prepare(&route(), req(Pricing::Bundler)).await.expect_err("no bundler");
    ensure!(matches!(e, Error::InvalidRequest(_)) && misuse(&e), "{e:?}");
    let fees = |max_fee_per_gas, max_priority_fee_per_gas| Fees { max_fee_per_gas, max_priority_fee_per_gas };
    let e = account.prepare(&route(), req(Pricing::Fixed(fees(0, 0)))).await.expect_err("zero fees");
    ensure!(matches!(e, Error::ZeroFees) && misuse(&e), "{e:?}");
    let e = account.prepare(&route(), req(Pricing::Fixed(fees(1, 2)))).await.expect_err("inverted");
    ensure!(matches!(e, Error::FeesInverted { .. }) && misuse(&e), "{e:?}");
    let no_call_gas = GasEstimate {
        pre_verification_gas: U256::from(50_000),
        verification_gas_limit: 300_000,
        call_gas_limit: 0,
        paymaster_verification_gas_limit: None,
        paymaster_post_op_gas_limit: None,
    };
    let e = account.prepare(&route(), req(Pricing::Node).gas(no_call_gas)).await.expect_err("no call gas");
    ensure!(matches!(e, Error::MissingGasLimit { field: "callGasLimit" }) && misuse(&e), "{e:?}");
    let paymaster = Paymaster {
        address: Address::repeat_byte(0x99),
        data: Bytes::new(),
        verification_gas_limit: None,
        post_op_gas_limit: None,
    };
    let e = account.prepare(&route(), req(Pricing::Node).paymaster(paymaster)).await.expect_err("paymaster gas");
    ensure!(matches!(e, Error::MissingGasLimit { field: "paymasterVerificationGasLimit" }), "{e:?}");
    // An authorization for a user operation needs a bundler to carry it.
    let auth = chain.user().sign_authorization(&chain.eoa, chain.keyward).await?;
    let root = RootSigner(chain.eoa.clone());
    let e = account
        .prepare(&route(), UserOpRequest::new(&root, calls(), Pricing::Node).eip7702_authorization(auth))
        .await
        .expect_err("handleOps cannot carry it");
    ensure!(matches!(e, Error::InvalidRequest(_)), "{e:?}");
    // A lane reserved for another key: the account refuses it in validation.
    let root_lane = account.reserved_lane(keyward::ROOT_KEY_HASH, 0).await?;
    let e = account.prepare(&route(), req(Pricing::Node).lane(Lane::Key(root_lane))).await.expect_err("root's lane");
    ensure!(matches!(e, Error::Keyward(IKeywardErrors::NonceLaneReserved(_))) && misuse(&e), "{e:?}");
    // A prepared operation sent to another EntryPoint.
    let prepared = account.prepare(&route(), req(Pricing::Node)).await?;
    let e = account.send(&UserOpRoute::handle_ops(Address::repeat_byte(0x37)), &prepared).await.expect_err("other EP");
    ensure!(matches!(e, Error::InvalidRequest(_)), "{e:?}");
    // Sent twice: the second is refused by the EntryPoint (AA25), typed.
    account.send(&route(), &prepared).await?;
    let e = account.send(&route(), &prepared).await.expect_err("replayed");
    ensure!(e.aa_code().is_some_and(|c| c.0 == 25) && misuse(&e), "{e:?}");
    Ok(())
}

/// A failing call found in the estimate: typed as what the target answered, nothing sent; sent anyway without
/// the simulation, it is mined with its execution reverted and reported as such.
#[tokio::test]
#[ignore = "spawns anvil from node_modules: `make test` runs it"]
async fn test_send_reports_a_mined_revert_with_its_reason() -> Result<()> {
    let session = Secp256k1Signer(PrivateKeySigner::random());
    let chain = Chain::start(&[grant(&session, Settings::default())]).await?;
    let account = chain.relayed();
    // More than the account has: the transfer fails inside the batch.
    let too_much = vec![transfer(Address::repeat_byte(5), u64::MAX)];
    let e = account
        .prepare(&route(), UserOpRequest::new(&session, too_much.clone(), Pricing::Node))
        .await
        .expect_err("too much");
    ensure!(
        matches!(e, Error::Keyward(IKeywardErrors::CallFailed(_))) && e.kind() == ErrorKind::RefusedByPolicy,
        "{e:?}"
    );
    let gas = GasEstimate {
        pre_verification_gas: U256::from(60_000),
        verification_gas_limit: 300_000,
        call_gas_limit: 200_000,
        paymaster_verification_gas_limit: None,
        paymaster_post_op_gas_limit: None,
    };
    let prepared = account
        .prepare(&route(), UserOpRequest::new(&session, too_much, Pricing::Node).gas(gas).skip_simulation())
        .await?;
    match account.send(&route(), &prepared).await {
        Err(e @ Error::UserOpReverted { .. }) => {
            ensure!(e.kind() == ErrorKind::RefusedByPolicy, "{e:?}");
            ensure!(matches!(e.revert(), Some(keyward::Revert::Account(IKeywardErrors::CallFailed(_)))), "{e:?}");
        }
        other => bail!("expected UserOpReverted, got {other:?}"),
    }
    Ok(())
}
