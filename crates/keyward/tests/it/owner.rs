//! The owner's side on anvil: EIP-7702 delegation signed by any alloy signer (a stand-in for a KMS or hardware
//! signer, through a provider without a wallet), unsigned for a wallet app, an authorization for a sponsor, and
//! every wrong-wallet case refused with a typed error before anything is sent.

use alloy::{
    network::{EthereumWallet, TransactionBuilder, TxSigner},
    primitives::{Address, B256, ChainId, Signature, U256},
    providers::{Provider, ProviderBuilder, ext::AnvilApi},
    signers::{Signer, local::PrivateKeySigner},
};
use eyre::{Result, bail, ensure};
use keyward::{Error, ErrorKind, KeySigner, Secp256k1Signer, Settings, client::Account, encode};

use crate::fixture::{Chain, grant};

/// An alloy signer this crate knows nothing about: it only implements alloy's `Signer` and `TxSigner` (as a KMS,
/// Ledger or Turnkey signer does).
struct Remote(PrivateKeySigner);

#[async_trait::async_trait]
impl Signer for Remote {
    async fn sign_hash(&self, hash: &B256) -> alloy::signers::Result<Signature> {
        self.0.sign_hash(hash).await
    }

    fn address(&self) -> Address {
        Signer::address(&self.0)
    }

    fn chain_id(&self) -> Option<ChainId> {
        None
    }

    fn set_chain_id(&mut self, _: Option<ChainId>) {}
}

#[async_trait::async_trait]
impl TxSigner<Signature> for Remote {
    fn address(&self) -> Address {
        Signer::address(&self.0)
    }

    async fn sign_transaction(
        &self,
        tx: &mut dyn alloy::consensus::SignableTransaction<Signature>,
    ) -> alloy::signers::Result<Signature> {
        TxSigner::sign_transaction(&self.0, tx).await
    }
}

fn designator(keyward: Address) -> Vec<u8> {
    [&[0xef, 0x01, 0x00][..], keyward.as_slice()].concat()
}

#[tokio::test]
#[ignore = "spawns anvil from node_modules: `make test` runs it"]
async fn test_delegate_takes_any_alloy_signer_and_needs_no_provider_wallet() -> Result<()> {
    let chain = Chain::start(&[]).await?;
    let owner = Remote(PrivateKeySigner::random());
    let eoa = Signer::address(&owner);
    chain.relayer.anvil_set_balance(eoa, U256::from(10u128.pow(18))).await?;
    // A provider with no wallet at all: the owner signs the authorization and the transaction.
    let bare = ProviderBuilder::new().connect_http(chain.url.clone());
    let account = Account::at(eoa, &bare);
    let session = Secp256k1Signer(PrivateKeySigner::random());
    account.delegate(&owner, chain.keyward, &[grant(&session, Settings::default())]).await?;
    ensure!(chain.relayer.get_code_at(eoa).await?.to_vec() == designator(chain.keyward), "delegated");
    ensure!(account.keys().await?.iter().any(|k| k.key_hash == session.key_hash()), "granted in the same transaction");
    Ok(())
}

#[tokio::test]
#[ignore = "spawns anvil from node_modules: `make test` runs it"]
async fn test_delegate_from_another_wallet_is_refused_before_sending() -> Result<()> {
    let chain = Chain::start(&[]).await?;
    let eoa = PrivateKeySigner::random();
    let stranger = PrivateKeySigner::random();
    chain.relayer.anvil_set_balance(eoa.address(), U256::from(10u128.pow(18))).await?;
    let account = Account::at(eoa.address(), chain.provider_for(&eoa));
    let block = chain.relayer.get_block_number().await?;
    match account.delegate(&stranger, chain.keyward, &[]).await {
        Err(e @ Error::WrongWallet { .. }) => {
            let Error::WrongWallet { account: a, wallet } = &e else { unreachable!() };
            ensure!(*a == eoa.address() && *wallet == stranger.address() && e.kind() == ErrorKind::Misuse, "{e}");
            ensure!(e.to_string().contains("is not the account"), "{e}");
        }
        other => bail!("expected WrongWallet, got {other:?}"),
    }
    let e = account.sign_authorization(&stranger, chain.keyward).await.expect_err("another key");
    ensure!(matches!(e, Error::WrongWallet { wallet, .. } if wallet == stranger.address()), "{e}");
    ensure!(chain.relayer.get_block_number().await? == block, "nothing was sent");
    ensure!(chain.relayer.get_code_at(eoa.address()).await?.is_empty());
    ensure!(chain.relayer.get_transaction_count(eoa.address()).await? == 0);
    Ok(())
}

/// Root calls go through the provider's wallet, which must hold the EOA's key: one that does not is refused
/// before sending.
#[tokio::test]
#[ignore = "spawns anvil from node_modules: `make test` runs it"]
async fn test_root_calls_from_a_wallet_without_the_eoa_key_are_refused() -> Result<()> {
    let chain = Chain::start(&[]).await?;
    let relayer_wallet = Account::at(chain.eoa.address(), chain.relayer.clone());
    let session = Secp256k1Signer(PrivateKeySigner::random());
    let block = chain.relayer.get_block_number().await?;
    let e =
        relayer_wallet.grant_unbounded(&session.key(), Settings::default()).await.expect_err("not the EOA's wallet");
    ensure!(matches!(e, Error::WalletCannotSign { account, .. } if account == chain.eoa.address()), "{e:?}");
    ensure!(e.kind() == ErrorKind::Misuse, "{e:?}");
    ensure!(std::error::Error::source(&e).is_some(), "the wallet's error is kept as the source");
    ensure!(chain.relayer.get_block_number().await? == block, "nothing was sent");
    // The EOA's own wallet: the same call works.
    chain.user().grant_unbounded(&session.key(), Settings::default()).await?;
    Ok(())
}

/// A wallet app: the library hands over the unsigned authorization and transaction, the wallet signs both.
#[tokio::test]
#[ignore = "spawns anvil from node_modules: `make test` runs it"]
async fn test_delegation_request_is_signed_and_sent_by_a_wallet_app() -> Result<()> {
    let chain = Chain::start(&[]).await?;
    let eoa = PrivateKeySigner::random();
    chain.relayer.anvil_set_balance(eoa.address(), U256::from(10u128.pow(18))).await?;
    let bare = ProviderBuilder::new().connect_http(chain.url.clone());
    let account = Account::at(eoa.address(), &bare);
    let session = Secp256k1Signer(PrivateKeySigner::random());
    let unsigned = account.delegation_request(chain.keyward, &[grant(&session, Settings::default())]).await?;
    // The authorization is for the nonce after the transaction's own.
    ensure!(unsigned.transaction.nonce == Some(0) && unsigned.authorization.nonce == 1, "{unsigned:?}");
    ensure!(unsigned.authorization.address == chain.keyward);
    // The wallet app: signs the authorization hash, then prices, signs and sends the transaction.
    let auth_signature = eoa.sign_hash(&unsigned.signature_hash()).await?;
    let tx = unsigned.with_signature(auth_signature);
    let wallet_app = ProviderBuilder::new().wallet(EthereumWallet::from(eoa.clone())).connect_http(chain.url.clone());
    let receipt = wallet_app.send_transaction(tx.with_from(eoa.address())).await?.get_receipt().await?;
    ensure!(receipt.status());
    ensure!(chain.relayer.get_code_at(eoa.address()).await?.to_vec() == designator(chain.keyward));
    ensure!(account.keys().await?.len() == 1);
    // A sponsor's authorization (for a bundler or a relayer) is for the current nonce.
    let sponsored = account.sign_authorization(&eoa, chain.keyward).await?;
    ensure!(sponsored.nonce == chain.relayer.get_transaction_count(eoa.address()).await?);
    let authority = sponsored.signature()?.recover_address_from_prehash(&sponsored.inner().signature_hash())?;
    ensure!(authority == eoa.address());
    // Root calls after delegation through the EOA's wallet.
    let root = Account::at(eoa.address(), chain.provider_for(&eoa));
    root.execute_as_root(&[encode::self_call(encode::revoke(session.key_hash()))]).await?;
    ensure!(root.keys().await?.is_empty());
    Ok(())
}
