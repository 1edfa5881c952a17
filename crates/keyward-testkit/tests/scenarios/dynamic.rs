//! Dynamic delegated access (seed 002): a delegated key signs transactions, and messages only where allowed; it
//! cannot register, update or revoke keys or change policies; it is bound to one account; grant and revoke each
//! produce exactly one record in the event stream.

use alloy::{
    primitives::{Address, Bytes},
    providers::Provider,
    signers::local::PrivateKeySigner,
};
use eyre::{Result, ensure};
use keyward::{
    Error, KeySigner, Secp256k1Signer,
    bindings::{IKeyward::IKeywardErrors, policy::SignatureMode},
    client::KeyEvent,
    eip712, encode,
    policy::{self, ANY_SELECTOR, ANY_TARGET},
};
use keyward_testkit::Testnet;

use crate::{hook, pay};

#[tokio::test]
async fn delegated_key_signs_only_what_it_may() -> Result<()> {
    let net = Testnet::start().await?;
    let delegated = Secp256k1Signer(PrivateKeySigner::random());
    let kh = delegated.key_hash();
    let app_domain = Testnet::hash("dapp.example EIP-712 domain");
    let from = net.provider().get_block_number().await?;
    let settings = net.policy_settings().build()?;
    let (_, account) = net
        .new_account(&[
            Testnet::grant_call(&delegated.key(), settings),
            hook(policy::allow(kh, ANY_TARGET, ANY_SELECTOR)),
            hook(policy::signature_policy(kh, SignatureMode::Domains, vec![app_domain])),
        ])
        .await?;

    // Transactions: yes (a contract call through the key's own transaction).
    let as_key = net.as_key(account.address(), &delegated.0).await?;
    let token = net.deploy_token().await?;
    net.mint(token, account.address(), alloy::primitives::U256::from(10)).await?;
    as_key
        .execute_direct(&[Testnet::transfer_call(token, Address::repeat_byte(9), alloy::primitives::U256::from(3))])
        .await?;
    ensure!(net.balance_of(token, Address::repeat_byte(9)).await? == alloy::primitives::U256::from(3));

    // Messages: only typed data under the allowed application domain.
    let domain = account.domain().await?;
    let contents = Testnet::hash("order 42");
    let ok = delegated.sign_1271_typed(app_domain, contents, "Order(uint256 id)", &domain, Bytes::new())?;
    let other = Testnet::hash("another app");
    let denied = delegated.sign_1271_typed(other, contents, "Order(uint256 id)", &domain, Bytes::new())?;
    let personal = delegated.sign_1271_personal(contents, &domain, Bytes::new())?;
    let check = |hash, sig: Bytes| {
        let account = &account;
        async move {
            let call = keyward::bindings::IKeyward::isValidSignatureCall { hash, signature: sig };
            let tx = alloy::rpc::types::TransactionRequest::default()
                .to(account.address())
                .input(alloy::sol_types::SolCall::abi_encode(&call).into());
            let out = account.provider().call(tx).await?;
            eyre::Ok(out[..4] == [0x16, 0x26, 0xba, 0x7e])
        }
    };
    ensure!(check(eip712::app_hash(app_domain, contents), ok).await?, "allowed domain");
    ensure!(!check(eip712::app_hash(other, contents), denied).await?, "other domain");
    ensure!(!check(contents, personal).await?, "plain messages");

    // No key management, no policy changes, whatever the wildcard says.
    let e = as_key.execute_direct(&[encode::self_call(encode::revoke_all())]).await.expect_err("self-call");
    ensure!(matches!(e, Error::Keyward(IKeywardErrors::OnlyAdminCanSelfCall(_))), "{e}");
    let loosen = policy::usage_limits(kh, &policy::UsageLimits { max_calls: Some(u32::MAX), ..Default::default() })?;
    let e = as_key.execute_direct(&[hook(loosen)]).await.expect_err("policy change");
    ensure!(matches!(e, Error::Policy(_)), "{e}");

    // Bound to one account: the same key on another account is nobody there.
    let (_, other_account) = net.new_account(&[]).await?;
    let e = net.relayed(other_account.address()).execute_relayed(&delegated, &pay(Address::repeat_byte(1), 0)).await;
    ensure!(matches!(e, Err(Error::Keyward(IKeywardErrors::KeyDoesNotExist(_)))), "{e:?}");

    // Grant and revoke: exactly one record each in the event stream.
    account.revoke(kh).await?;
    let events = account.key_events(from).await?;
    let grants = events.iter().filter(|e| matches!(e, KeyEvent::Granted { key_hash, .. } if *key_hash == kh)).count();
    let revokes = events.iter().filter(|e| matches!(e, KeyEvent::Revoked { key_hash, .. } if *key_hash == kh)).count();
    ensure!(grants == 1 && revokes == 1, "{events:?}");
    Ok(())
}
