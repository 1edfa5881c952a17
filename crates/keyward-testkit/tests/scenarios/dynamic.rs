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

/// The reshare ceremony is a rotation: one root transaction revokes the old delegated key and grants the new one.
/// In the block that carries it, a batch of the old key (after the rotation) is refused and one of the new key is
/// accepted: there is no moment when both work, nor one when neither does.
#[tokio::test]
async fn rotation_in_one_transaction() -> Result<()> {
    use alloy::{
        network::TransactionBuilder, primitives::U256, providers::ext::AnvilApi, rpc::types::TransactionRequest,
    };
    use keyward::Settings;

    let net = Testnet::start().await?;
    let merchant = Address::repeat_byte(0x4d);
    let old = Secp256k1Signer(PrivateKeySigner::random());
    let new = Secp256k1Signer(PrivateKeySigner::random());
    let settings = Settings::builder().build()?;
    let (_, account) = net.new_account(&[Testnet::grant_call(&old.key(), settings)]).await?;
    let as_old = net.as_key(account.address(), &old.0).await?;
    let as_new = net.as_key(account.address(), &new.0).await?;
    as_old.execute_direct(&pay(merchant, 1)).await?;

    // One block: the rotation first (sent first and with the highest tip, so first under either of anvil's orderings,
    // arrival or fees; asserted below), then a payment by each key.
    let tx = |input: Bytes, tip: u128| {
        TransactionRequest::default()
            .with_to(account.address())
            .with_input(input)
            .with_gas_limit(1_000_000)
            .with_max_fee_per_gas(100_000_000_000)
            .with_max_priority_fee_per_gas(tip)
    };
    let rotate = encode::execute(
        &[Testnet::grant_call(&new.key(), settings), encode::self_call(encode::revoke(old.key_hash()))],
        true,
    );
    let payment = encode::execute(&pay(merchant, 10), true);
    net.provider().anvil_set_auto_mine(false).await?;
    let rotation = account.provider().send_transaction(tx(rotate, 3_000_000_000)).await?;
    let by_old = as_old.provider().send_transaction(tx(payment.clone(), 2_000_000_000)).await?;
    let by_new = as_new.provider().send_transaction(tx(payment, 2_000_000_000)).await?;
    net.provider().anvil_mine(Some(1), None).await?;
    net.provider().anvil_set_auto_mine(true).await?;
    let (rotation, by_old, by_new) =
        (rotation.get_receipt().await?, by_old.get_receipt().await?, by_new.get_receipt().await?);
    ensure!(
        rotation.block_number == by_old.block_number && by_old.block_number == by_new.block_number,
        "one block: {:?} {:?} {:?}",
        rotation.block_number,
        by_old.block_number,
        by_new.block_number
    );
    ensure!(
        rotation.transaction_index < by_old.transaction_index && rotation.transaction_index < by_new.transaction_index,
        "the rotation comes first in the block"
    );
    ensure!(rotation.status(), "the rotation went through");
    ensure!(!by_old.status(), "the old key is refused in the rotation's block");
    ensure!(by_new.status(), "the new key is accepted in the rotation's block");
    ensure!(net.provider().get_balance(merchant).await? == U256::from(11), "1 before, then 10 by the new key only");
    // Afterwards, the old key's refusal is typed; the account lists the new key alone.
    let e = as_old.execute_direct(&pay(merchant, 1)).await.expect_err("rotated out");
    ensure!(matches!(e, Error::Keyward(_)), "{e}");
    let keys = account.keys().await?;
    ensure!(keys.len() == 1 && keys[0].key_hash == new.key_hash(), "{keys:?}");
    Ok(())
}

/// "Each wallet has its own API key, scoped only to that wallet", on every chain it is on: the same EOA delegated
/// on two chains with the same key (same account, same key, same nonce lane), a batch and a user operation signed
/// for one chain are refused on the other, and run where they were signed for.
#[tokio::test]
async fn operation_signed_for_one_chain_is_refused_on_another() -> Result<()> {
    use alloy::primitives::U256;
    use keyward::{KeySigner as _, P256KeySigner, Settings, client::Lane, userop::ENTRY_POINT_V08};

    let a = Testnet::start().await?;
    let b = Testnet::start_with_chain_id(31_338).await?;
    ensure!(a.provider().get_chain_id().await? == 31_337 && b.provider().get_chain_id().await? == 31_338);
    ensure!(a.keyward == b.keyward, "Keyward at the same address on both chains");
    let eoa = PrivateKeySigner::random();
    let key = P256KeySigner::from_bytes(&[31; 32])?;
    let grant = [Testnet::grant_call(&key.key(), Settings::builder().build()?)];
    let on_a = a.relayed(a.new_account_for(&eoa, &grant).await?.address());
    let on_b = b.relayed(b.new_account_for(&eoa, &grant).await?.address());
    let merchant = Address::repeat_byte(0x5d);
    let calls = pay(merchant, 7);

    // Relayed: the batch signed under chain A's domain.
    let (batch, signature) = on_a.signed_batch(&key, &calls, Lane::default()).await?;
    let (batch_b, _) = on_b.signed_batch(&key, &calls, Lane::default()).await?;
    ensure!(batch == batch_b, "the same batch, the same nonce: only the chain differs");
    let e = on_b.relay(batch.clone(), signature.clone()).await.expect_err("signed for chain A");
    ensure!(matches!(e, Error::Keyward(IKeywardErrors::InvalidSignature(_))), "{e}");
    ensure!(b.provider().get_balance(merchant).await?.is_zero());
    on_a.relay(batch, signature).await?;
    ensure!(a.provider().get_balance(merchant).await? == U256::from(7));
    on_b.execute_relayed(&key, &calls).await?;
    ensure!(b.provider().get_balance(merchant).await? == U256::from(7), "signed for B, it runs on B");

    // ERC-4337: the userOpHash commits to the chain id.
    let op = keyward::userop::UserOpBuilder::new(on_a.address(), on_a.entry_point_nonce(ENTRY_POINT_V08).await?)
        .call(calls[0].clone())
        .gas_limits(1_000_000, 1_000_000)
        .pre_verification_gas(60_000)
        .fees(1_000_000_000, 2_000_000_000)
        .build()?;
    ensure!(op.nonce == on_b.entry_point_nonce(ENTRY_POINT_V08).await?);
    let op = on_a.sign_user_op(op, &key, ENTRY_POINT_V08).await?;
    let e = on_b.handle_ops(vec![op.clone()], ENTRY_POINT_V08).await.expect_err("signed for chain A");
    ensure!(e.to_string().contains("AA24"), "signature error: {e}");
    ensure!(b.provider().get_balance(merchant).await? == U256::from(7), "nothing moved on B");
    on_a.handle_ops(vec![op], ENTRY_POINT_V08).await?;
    ensure!(a.provider().get_balance(merchant).await? == U256::from(14));
    Ok(())
}
