//! Turnkey delegated access (seed 003): "only to this address"; value and argument conditions; default deny;
//! explicit deny beats allow; a validity window, both edges.

use alloy::{
    network::TransactionBuilder,
    primitives::{Address, U256},
    providers::Provider,
    rpc::types::TransactionRequest,
    sol_types::SolCall,
};
use eyre::{Result, ensure};
use keyward::{
    Error, KeySigner, P256KeySigner, Settings,
    bindings::{
        IKeyward::IKeywardErrors,
        policy::{ConditionOp, IPolicyHook::IPolicyHookErrors},
    },
    policy::{self, ANY_SELECTOR},
};
use keyward_testkit::Testnet;

use crate::hook;

const TRANSFER: [u8; 4] = [0xa9, 0x05, 0x9c, 0xbb];

#[tokio::test]
async fn only_to_this_address_with_conditions_and_denies() -> Result<()> {
    let net = Testnet::start().await?;
    let token = net.deploy_token().await?;
    let treasury = Address::repeat_byte(0x7e);
    let key = P256KeySigner::from_bytes(&[4; 32])?;
    let kh = key.key_hash();
    let settings = net.policy_settings().build()?;
    let (_, account) = net
        .new_account(&[
            Testnet::grant_call(&key.key(), settings),
            hook(policy::allow(kh, token, TRANSFER)),
            hook(policy::conditions(
                kh,
                token,
                TRANSFER,
                vec![
                    policy::address_condition(ConditionOp::Equal, 0, treasury),
                    policy::uint_condition(ConditionOp::LessOrEqual, 1, U256::from(1000)),
                ],
            )),
        ])
        .await?;
    net.mint(token, account.address(), U256::from(10_000)).await?;
    let api = net.relayed(account.address());
    let denied = |e: &Error| matches!(e, Error::Policy(_));

    api.execute_relayed(&key, &[Testnet::transfer_call(token, treasury, U256::from(1000))]).await?;
    let e = api
        .execute_relayed(&key, &[Testnet::transfer_call(token, treasury, U256::from(1001))])
        .await
        .expect_err(">1000");
    ensure!(matches!(e, Error::Policy(IPolicyHookErrors::ConditionFailed(_))), "{e}");
    let e = api.execute_relayed(&key, &[Testnet::transfer_call(token, Address::repeat_byte(1), U256::from(1))]).await;
    ensure!(e.as_ref().is_err_and(denied), "only to the treasury: {e:?}");
    // Default deny: anything else, including ETH.
    let e = api.execute_relayed(&key, &crate::pay(treasury, 1)).await;
    ensure!(matches!(e, Err(Error::Policy(IPolicyHookErrors::CallNotAllowed(_)))), "{e:?}");
    // Explicit deny beats the allow.
    account.execute_as_root(&[hook(policy::deny(kh, token, ANY_SELECTOR))]).await?;
    let e = api.execute_relayed(&key, &[Testnet::transfer_call(token, treasury, U256::from(1))]).await;
    ensure!(matches!(e, Err(Error::Policy(IPolicyHookErrors::CallDenied(_)))), "{e:?}");
    ensure!(net.balance_of(token, treasury).await? == U256::from(1000));
    Ok(())
}

#[tokio::test]
async fn validity_window_both_edges() -> Result<()> {
    let net = Testnet::start().await?;
    let key = P256KeySigner::from_bytes(&[5; 32])?;
    let start = net.now().await? + 100;
    let end = start + 100;
    let settings = Settings::builder().valid_after(start).expires_at(end).build()?;
    let (_, account) = net.new_account(&[Testnet::grant_call(&key.key(), settings)]).await?;
    let api = net.relayed(account.address());
    let to = Address::repeat_byte(2);
    net.warp_to(start - 1).await?;
    let e = api.execute_relayed(&key, &crate::pay(to, 1)).await;
    ensure!(matches!(e, Err(Error::Keyward(IKeywardErrors::KeyNotYetValid(_)))), "{e:?}");
    net.warp_to(start).await?;
    api.execute_relayed(&key, &crate::pay(to, 1)).await?;
    net.warp_to(end - 1).await?;
    // The transaction lands in the block at `end`: still valid through that second.
    api.execute_relayed(&key, &crate::pay(to, 1)).await?;
    net.warp_to(end + 1).await?;
    let e = api.execute_relayed(&key, &crate::pay(to, 1)).await;
    ensure!(matches!(e, Err(Error::Keyward(IKeywardErrors::KeyExpired(_)))), "{e:?}");
    Ok(())
}

/// Root users are outside the delegated user's policy: a hook that records every execution callback sees nothing
/// of the root's own batches on any path (ERC-7821 `execute` and Calibur's `execute(BatchedCall)` sent by the EOA,
/// a batch the root signs for a relayer, a user operation the root signs), while each call of the delegated key's
/// batches reaches it.
#[tokio::test]
async fn recording_hook_sees_nothing_of_the_roots_execution() -> Result<()> {
    const BEFORE: u8 = 3;
    const AFTER: u8 = 4;
    let net = Testnet::start().await?;
    let recorder = net.deploy_recording_hook().await?;
    let token = net.deploy_token().await?;
    let to = Address::repeat_byte(0x3f);
    let key = P256KeySigner::from_bytes(&[41; 32])?;
    let settings = Settings::builder().hook(recorder).build()?;
    let (eoa, account) = net.new_account(&[Testnet::grant_call(&key.key(), settings)]).await?;
    let root = keyward::RootSigner(eoa);
    let counts = || async {
        eyre::Ok((net.recorded_calls(recorder, BEFORE).await?, net.recorded_calls(recorder, AFTER).await?))
    };
    ensure!(counts().await? == (0, 0));

    // The root's own batches: two calls each, on both root entry points.
    let root_calls = [crate::pay(to, 1)[0].clone(), Testnet::mint_call(token, account.address(), U256::from(5))];
    account.execute_as_root(&root_calls).await?;
    account.execute_batch(&root_calls, true).await?;
    let relayer = net.relayed(account.address());
    relayer.execute_relayed(&root, &root_calls).await?;
    relayer.execute_user_op(&root, &root_calls, keyward::userop::ENTRY_POINT_V08).await?;
    ensure!(net.balance_of(token, account.address()).await? == U256::from(20), "the root's batches ran");
    ensure!(counts().await? == (0, 0), "the hook saw the root's execution");

    // The delegated key's batch of two calls: two beforeExecute and two afterExecute, naming the key.
    relayer.execute_relayed(&key, &root_calls).await?;
    ensure!(counts().await? == (2, 2), "the key's calls reach the hook: {:?}", counts().await?);
    let input = keyward_testkit::IRecordingHook::lastKeyHashCall {}.abi_encode();
    let out = net.provider().call(TransactionRequest::default().with_to(recorder).with_input(input)).await?;
    ensure!(out[..] == key.key_hash()[..], "the hook saw the key");
    // And the root again after it: still nothing more.
    account.execute_as_root(&root_calls).await?;
    ensure!(counts().await? == (2, 2));
    Ok(())
}
