//! Turnkey delegated access (seed 003): "only to this address"; value and argument conditions; default deny;
//! explicit deny beats allow; a validity window, both edges.

use alloy::primitives::{Address, U256};
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
