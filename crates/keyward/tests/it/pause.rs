//! The reversible pause on anvil (issue 16): the root pauses one key (`Account::pause_key`) or every key
//! (`Account::pause_all`); the key is refused with a typed `KeyIsPaused` on the relayed path and on ERC-4337, and
//! pays again after `resume_key` / `resume_all`, its settings kept.

use alloy::primitives::{Address, U256};
use eyre::{Result, ensure};
use keyward::{
    Error, KeySigner, P256KeySigner,
    bindings::IKeyward::IKeywardErrors,
    client::{Pricing, UserOpRequest, UserOpRoute},
    encode,
    userop::ENTRY_POINT_V08,
};

use crate::fixture::{Chain, grant, pay};

fn paused(e: &Error) -> Option<alloy::primitives::B256> {
    match e {
        Error::Keyward(IKeywardErrors::KeyIsPaused(p)) => Some(p.keyHash),
        _ => None,
    }
}

#[tokio::test]
#[ignore = "spawns anvil from node_modules: `make test` runs it"]
async fn test_pause_key_refuses_typed_and_resume_restores() -> Result<()> {
    let chain = Chain::start(&[]).await?;
    let session = P256KeySigner::from_bytes(&[43; 32])?;
    let kh = session.key_hash();
    let now = chain.now().await?;
    let user = chain.user();
    let settings = keyward::Settings::builder().expires_at(now + 3_600).gas_budget(true).build()?;
    user.execute_as_root(&[
        grant(&session, settings),
        encode::self_call(encode::set_gas_budget(kh, encode::gas_budget(0, 0, 10u128.pow(18))?)),
    ])
    .await?;
    let account = chain.relayed();
    let shop = Address::repeat_byte(0x5d);
    let route = UserOpRoute::handle_ops(ENTRY_POINT_V08);
    account.execute_relayed(&session, &pay(shop, 1)).await?;

    // Paused: refused on the relayed path and on ERC-4337, typed, with the key's hash.
    user.pause_key(kh).await?;
    let e = account.execute_relayed(&session, &pay(shop, 1)).await.expect_err("paused");
    ensure!(paused(&e) == Some(kh), "{e:?}");
    // Refused by the owner's rule, not a misuse: an agent tries again at its next run.
    ensure!(e.kind() == keyward::ErrorKind::RefusedByPolicy, "{:?}", e.kind());
    let e =
        account.prepare(&route, UserOpRequest::new(&session, pay(shop, 1), Pricing::Node)).await.expect_err("paused");
    ensure!(paused(&e) == Some(kh), "{e:?}");
    // Resumed: it pays again, settings kept.
    user.resume_key(kh).await?;
    account.execute_relayed(&session, &pay(shop, 1)).await?;
    let op = account.prepare(&route, UserOpRequest::new(&session, pay(shop, 1), Pricing::Node)).await?;
    account.send(&route, &op).await?;

    // Every key: the same, until resume_all.
    user.pause_all().await?;
    let e = account.execute_relayed(&session, &pay(shop, 1)).await.expect_err("all paused");
    ensure!(paused(&e) == Some(kh), "{e:?}");
    user.resume_all().await?;
    account.execute_relayed(&session, &pay(shop, 1)).await?;
    ensure!(chain.balance(shop).await? == U256::from(4));
    Ok(())
}
