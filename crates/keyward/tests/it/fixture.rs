//! A local chain for this crate's anvil tests: anvil with Keyward and the EntryPoint v0.8, and a fresh EOA
//! delegated to Keyward that ran its first calls as root. (`keyward-testkit` does more, but it depends on this
//! crate, so this crate's own tests cannot use it.)

use alloy::{
    network::EthereumWallet,
    node_bindings::{Anvil, AnvilInstance},
    primitives::{Address, Bytes, U256},
    providers::{DynProvider, Provider, ProviderBuilder, ext::AnvilApi},
    signers::local::PrivateKeySigner,
};
use eyre::Result;
use keyward::{KeySigner, Settings, bindings::Call, client::Account, encode};

use crate::chain::{anvil_path, deploy, place_entry_point};

/// anvil with Keyward and the EntryPoint, and a fresh EOA delegated to Keyward that ran `first_calls` as root.
pub(crate) struct Chain {
    _anvil: AnvilInstance,
    pub(crate) relayer: DynProvider,
    pub(crate) url: alloy::transports::http::reqwest::Url,
    pub(crate) keyward: Address,
    pub(crate) eoa: PrivateKeySigner,
}

impl Chain {
    /// Starts anvil, deploys, and delegates a fresh EOA running `first_calls` as root.
    pub(crate) async fn start(first_calls: &[Call]) -> Result<Self> {
        let anvil = Anvil::at(anvil_path()?).spawn();
        let url = anvil.endpoint_url();
        let relayer_key: PrivateKeySigner = anvil.keys()[0].clone().into();
        let relayer =
            ProviderBuilder::new().wallet(EthereumWallet::from(relayer_key)).connect_http(url.clone()).erased();
        let keyward = deploy(&relayer, keyward::keyward_bytecode()).await?;
        place_entry_point(&relayer).await?;
        let eoa = PrivateKeySigner::random();
        relayer.anvil_set_balance(eoa.address(), U256::from(10u128.pow(19))).await?;
        let chain = Self { _anvil: anvil, relayer, url, keyward, eoa };
        chain.user().delegate(&chain.eoa, keyward, first_calls).await?;
        Ok(chain)
    }

    /// A provider whose wallet is `signer`.
    pub(crate) fn provider_for(&self, signer: &PrivateKeySigner) -> DynProvider {
        ProviderBuilder::new().wallet(EthereumWallet::from(signer.clone())).connect_http(self.url.clone()).erased()
    }

    /// The account driven by its own EOA (root).
    pub(crate) fn user(&self) -> Account<DynProvider> {
        Account::at(self.eoa.address(), self.provider_for(&self.eoa))
    }

    /// The account driven by the funded relayer (relayed batches, `handleOps`).
    pub(crate) fn relayed(&self) -> Account<DynProvider> {
        Account::at(self.eoa.address(), self.relayer.clone())
    }

    /// `signer` with 1 ETH, and a provider whose wallet it is.
    pub(crate) async fn funded(&self, signer: &PrivateKeySigner) -> Result<DynProvider> {
        self.relayer.anvil_set_balance(signer.address(), U256::from(10u128.pow(18))).await?;
        Ok(self.provider_for(signer))
    }

    /// `who`'s balance.
    pub(crate) async fn balance(&self, who: Address) -> Result<U256> {
        Ok(self.relayer.get_balance(who).await?)
    }
}

/// One plain ETH transfer, as a batch.
pub(crate) fn pay(to: Address, wei: u64) -> Vec<Call> {
    vec![Call { to, value: U256::from(wei), data: Bytes::new() }]
}

/// The root's grant of `signer`'s key with `settings`.
pub(crate) fn grant(signer: &dyn KeySigner, settings: Settings) -> Call {
    encode::self_call(encode::grant(&signer.key(), settings))
}

impl Chain {
    /// The latest block's timestamp.
    pub(crate) async fn now(&self) -> Result<u64> {
        Ok(self.relayed().now().await?)
    }

    /// Moves time: the next block is mined `secs` later.
    pub(crate) async fn warp(&self, secs: u64) -> Result<()> {
        self.relayer.anvil_increase_time(secs).await?;
        self.relayer.anvil_mine(Some(1), None).await?;
        Ok(())
    }

    /// Deploys the PolicyHook at its flagged CREATE2 address.
    pub(crate) async fn policy_hook(&self) -> Result<Address> {
        crate::chain::deploy_policy_hook(&self.relayer).await
    }
}

/// Settings that expire `secs` from `now`.
pub(crate) fn expiring(now: u64, secs: u64) -> Result<Settings> {
    Ok(Settings::builder().expires_at(now + secs).build()?)
}

/// A plain ETH transfer of `wei` to `to`, as one call.
pub(crate) fn transfer(to: Address, wei: u64) -> Call {
    Call { to, value: U256::from(wei), data: Bytes::new() }
}
