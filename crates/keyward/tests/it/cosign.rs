//! Step-up co-signatures on anvil (issue 16): a key whose payments above a threshold need the root's co-signature,
//! written with the grant builder (`Policy::co_signers`, `Policy::step_up`) for the PolicyHook at its 0x1f address.
//! At the threshold it pays alone; one wei above it is refused (typed `CoSignaturesRequired`) on ERC-4337 and the
//! relayed path, and accepted with the root's co-signature (`UserOpRequest::co_signed_by`,
//! `Account::execute_relayed_co_signed`). The Rust co-sign digest equals the hook's `coSignDigest` view.

use std::time::Duration;

use alloy::{
    primitives::{Address, B256, Bytes, U256},
    providers::Provider,
    rpc::types::TransactionRequest,
    signers::local::PrivateKeySigner,
    sol_types::SolCall,
};
use eyre::{Result, ensure};
use keyward::{
    Error, GrantError, KeySigner, P256KeySigner, ROOT_KEY_HASH, RootSigner, Secp256k1Signer,
    bindings::policy::IPolicyHook::{self, IPolicyHookErrors},
    client::{Pricing, UserOpRequest, UserOpRoute},
    cosign,
    grant::{Grant, Policy, SpendCaps},
    userop::ENTRY_POINT_V08,
};

use crate::fixture::{Chain, pay};

fn route() -> UserOpRoute {
    UserOpRoute::handle_ops(ENTRY_POINT_V08)
}

fn required(e: &Error) -> Option<(U256, U256)> {
    match e {
        Error::Policy(IPolicyHookErrors::CoSignaturesRequired(c)) => Some((c.required, c.counted)),
        _ => None,
    }
}

#[tokio::test]
#[ignore = "spawns anvil from node_modules: `make test` runs it"]
async fn test_step_up_needs_the_roots_co_signature_above_the_threshold() -> Result<()> {
    let chain = Chain::start(&[]).await?;
    let hook = crate::chain::deploy_policy_hook_cosign(&chain.relayer).await?;
    ensure!(keyward::hooks::flags(hook) == 0x1f && hook == keyward::deploy::policy_hook_address_cosign());
    let session = P256KeySigner::from_bytes(&[41; 32])?;
    let shop = Address::repeat_byte(0x5c);
    let now = chain.now().await?;
    let grant = Grant::builder(session.key())
        .expires_in(now, Duration::from_hours(1))
        .gas_budget(SpendCaps::total(U256::from(10u128.pow(18))))
        .policy(
            hook,
            Policy::new()
                .allow_transfers_to(shop)
                .native_unlimited()
                .co_signers([ROOT_KEY_HASH], 0, 1)
                .step_up(Address::ZERO, U256::from(50)),
        )
        .build()?;
    let kh = grant.key_hash;
    chain.user().execute_as_root(&grant.calls).await?;
    let account = chain.relayed();
    let root = RootSigner(chain.eoa.clone());

    // The digest a co-signer signs, in Rust and by the hook's view, for any operation.
    let operation = B256::repeat_byte(0x77);
    let view = IPolicyHook::coSignDigestCall { account: account.address(), operation }.abi_encode();
    let out = chain.relayer.call(TransactionRequest::default().to(hook).input(Bytes::from(view).into())).await?;
    ensure!(B256::from_slice(&out) == cosign::digest(&account.domain().await?, operation), "co-sign digest differs");

    // ERC-4337: at the threshold alone; one wei above it refused without a co-signature, accepted with the root's.
    let ok = account.prepare(&route(), UserOpRequest::new(&session, pay(shop, 50), Pricing::Node)).await?;
    account.send(&route(), &ok).await?;
    let e = account
        .prepare(&route(), UserOpRequest::new(&session, pay(shop, 51), Pricing::Node))
        .await
        .expect_err("51 > 50 needs a co-signature");
    ensure!(required(&e) == Some((U256::from(1), U256::ZERO)), "{e:?}");
    // A key that is not a designated co-signer does not count.
    let stranger = Secp256k1Signer(PrivateKeySigner::random());
    let e = account
        .prepare(&route(), UserOpRequest::new(&session, pay(shop, 51), Pricing::Node).co_signed_by(&stranger))
        .await
        .expect_err("not a co-signer");
    ensure!(matches!(e, Error::Policy(IPolicyHookErrors::CoSignerNotDesignated(_))), "{e:?}");
    let co_signed = account
        .prepare(&route(), UserOpRequest::new(&session, pay(shop, 51), Pricing::Node).co_signed_by(&root))
        .await?;
    account.send(&route(), &co_signed).await?;
    ensure!(chain.balance(shop).await? == U256::from(101));

    // Relayed: a co-signing key's batch must come with itself in the hook data (for the hook to see its calls),
    // even under the threshold; then the same as above.
    let e = account.execute_relayed(&session, &pay(shop, 50)).await.expect_err("relayed without the batch");
    ensure!(matches!(e, Error::Policy(IPolicyHookErrors::CoSignedBatchMismatch(_))), "{e:?}");
    account.execute_relayed_co_signed(&session, &pay(shop, 50), &[]).await?;
    let e = account.execute_relayed_co_signed(&session, &pay(shop, 51), &[]).await.expect_err("none given");
    ensure!(required(&e) == Some((U256::from(1), U256::ZERO)), "{e:?}");
    account.execute_relayed_co_signed(&session, &pay(shop, 51), &[&root]).await?;
    let e = account
        .execute_relayed_co_signed(&session, &pay(shop, 51), &[&stranger])
        .await
        .expect_err("relayed, not a co-signer");
    ensure!(matches!(e, Error::Policy(IPolicyHookErrors::CoSignerNotDesignated(_))), "{e:?}");
    ensure!(chain.balance(shop).await? == U256::from(202));
    ensure!(account.policy(hook, kh).await?.active);

    // Attack: the root's co-signature over another operation, carried as raw hook data, is refused; so is the one
    // of the operation that just ran, replayed onto the next (same calls, next nonce).
    let domain = account.domain().await?;
    let other = cosign::sign(&root, &domain, B256::repeat_byte(0x66))?;
    let e = account
        .prepare(
            &route(),
            UserOpRequest::new(&session, pay(shop, 51), Pricing::Node).hook_data(cosign::user_op_hook_data(&[other])),
        )
        .await
        .expect_err("a co-signature over another operation");
    ensure!(matches!(e, Error::Policy(IPolicyHookErrors::InvalidCoSignature(_))), "{e:?}");
    let replayed = cosign::sign(&root, &domain, co_signed.user_op_hash)?;
    let e = account
        .prepare(
            &route(),
            UserOpRequest::new(&session, pay(shop, 51), Pricing::Node)
                .hook_data(cosign::user_op_hook_data(&[replayed])),
        )
        .await
        .expect_err("a co-signature replayed onto the next operation");
    ensure!(matches!(e, Error::Policy(IPolicyHookErrors::InvalidCoSignature(_))), "{e:?}");
    // Hook data and co_signed_by together are a misuse, refused before anything is signed.
    let e = account
        .prepare(
            &route(),
            UserOpRequest::new(&session, pay(shop, 51), Pricing::Node)
                .hook_data(Bytes::from(vec![1]))
                .co_signed_by(&root),
        )
        .await
        .expect_err("both");
    ensure!(matches!(e, Error::InvalidRequest(_)), "{e:?}");
    ensure!(chain.balance(shop).await? == U256::from(202), "nothing refused was paid");
    Ok(())
}

#[test]
fn test_policy_co_signers_bounds_are_typed() {
    let cosign_hook = Address::with_last_byte(0x1f);
    let plain_hook = Address::with_last_byte(0x1e);
    let kh = B256::repeat_byte(9);
    let signers = |n: u8| (1..=n).map(B256::with_last_byte).collect::<Vec<_>>();
    let calls = |p: Policy, hook| p.calls(kh, hook);
    // 8 co-signers accepted, 9 refused.
    assert!(calls(Policy::new().co_signers(signers(8), 8, 8), cosign_hook).is_ok());
    assert_eq!(
        calls(Policy::new().co_signers(signers(9), 1, 1), cosign_hook).unwrap_err(),
        GrantError::TooMany { what: "co-signers", max: 8, got: 9 }
    );
    // Quorum and step-up signers at most the co-signers.
    assert!(matches!(
        calls(Policy::new().co_signers(signers(2), 3, 1), cosign_hook),
        Err(GrantError::InvalidCoSigners { .. })
    ));
    assert!(matches!(
        calls(Policy::new().co_signers(signers(2), 0, 3), cosign_hook),
        Err(GrantError::InvalidCoSigners { .. })
    ));
    // Never the key itself, never twice.
    assert!(matches!(
        calls(Policy::new().co_signers([kh], 1, 1), cosign_hook),
        Err(GrantError::InvalidCoSigners { .. })
    ));
    let twice = [B256::with_last_byte(1), B256::with_last_byte(1)];
    assert!(matches!(
        calls(Policy::new().co_signers(twice, 1, 1), cosign_hook),
        Err(GrantError::InvalidCoSigners { .. })
    ));
    // A 0x1e hook refuses co-signatures.
    assert_eq!(
        calls(Policy::new().co_signers(signers(1), 1, 1), plain_hook).unwrap_err(),
        GrantError::CoSignaturesUnavailable { hook: plain_hook }
    );
    // A step-up needs co-signers; 4 tokens accepted, 5 refused; a threshold fits 96 bits.
    assert!(matches!(
        calls(Policy::new().step_up(Address::ZERO, U256::from(1)), cosign_hook),
        Err(GrantError::InvalidCoSigners { .. })
    ));
    let with_tokens = |n: u8| {
        (1..=n).fold(Policy::new().co_signers(signers(1), 0, 1), |p, i| {
            p.step_up(Address::with_last_byte(i), U256::from(1))
        })
    };
    assert!(calls(with_tokens(4), cosign_hook).is_ok());
    assert_eq!(
        calls(with_tokens(5), cosign_hook).unwrap_err(),
        GrantError::TooMany { what: "step-up tokens", max: 4, got: 5 }
    );
    let max = U256::from(u128::MAX >> 32);
    assert!(calls(Policy::new().co_signers(signers(1), 0, 1).step_up(Address::ZERO, max), cosign_hook).is_ok());
    assert!(matches!(
        calls(Policy::new().co_signers(signers(1), 0, 1).step_up(Address::ZERO, max + U256::from(1)), cosign_hook),
        Err(GrantError::InvalidStepUp { .. })
    ));
    assert!(matches!(
        calls(Policy::new().co_signers(signers(1), 0, 1).step_up(keyward::policy::PERMIT2, U256::from(1)), cosign_hook),
        Err(GrantError::InvalidStepUp { .. })
    ));
}

/// Consensus: 2 of {a registered co-signing key, the root} on every operation; one co-signer given twice counts once.
#[tokio::test]
#[ignore = "spawns anvil from node_modules: `make test` runs it"]
async fn test_consensus_needs_two_distinct_co_signers() -> Result<()> {
    let chain = Chain::start(&[]).await?;
    let hook = crate::chain::deploy_policy_hook_cosign(&chain.relayer).await?;
    let session = P256KeySigner::from_bytes(&[44; 32])?;
    let service = Secp256k1Signer(PrivateKeySigner::random());
    let shop = Address::repeat_byte(0x5b);
    let now = chain.now().await?;
    let grant = Grant::builder(session.key())
        .expires_in(now, Duration::from_hours(1))
        .gas_budget(SpendCaps::total(U256::from(10u128.pow(18))))
        .policy(
            hook,
            Policy::new().allow_transfers_to(shop).native_unlimited().co_signers(
                [service.key_hash(), ROOT_KEY_HASH],
                2,
                0,
            ),
        )
        .build()?;
    // The policy service's key: registered, valid past the session key's window, no hook, not an admin.
    let service_settings = keyward::Settings::builder().expires_at(now + 7_200).build()?;
    let mut calls = vec![crate::fixture::grant(&service, service_settings)];
    calls.extend(grant.calls.iter().cloned());
    chain.user().execute_as_root(&calls).await?;
    let account = chain.relayed();
    let root = RootSigner(chain.eoa.clone());
    // One co-signer, or the same one twice: one counted of two.
    let e = co_signed_payment(&account, &session, shop, vec![&root]).await.expect_err("one of two");
    ensure!(required(&e) == Some((U256::from(2), U256::from(1))), "{e:?}");
    let e = co_signed_payment(&account, &session, shop, vec![&root, &root]).await.expect_err("the root twice");
    ensure!(required(&e) == Some((U256::from(2), U256::from(1))), "{e:?}");
    // Both: accepted (in either order).
    co_signed_payment(&account, &session, shop, vec![&service, &root]).await?;
    co_signed_payment(&account, &session, shop, vec![&root, &service]).await?;
    ensure!(chain.balance(shop).await? == U256::from(2));
    Ok(())
}

/// One payment of 1 wei to `to` by `session` over ERC-4337, co-signed by `co_signers`.
async fn co_signed_payment(
    account: &keyward::client::Account<alloy::providers::DynProvider>,
    session: &dyn KeySigner,
    to: Address,
    co_signers: Vec<&dyn KeySigner>,
) -> Result<keyward::client::UserOpReceipt, Error> {
    let mut req = UserOpRequest::new(session, pay(to, 1), Pricing::Node);
    for c in co_signers {
        req = req.co_signed_by(c);
    }
    let prepared = account.prepare(&route(), req).await?;
    account.send(&route(), &prepared).await
}
