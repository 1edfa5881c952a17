//! Reading the account: its keys with their status, settings, PolicyHook policies, gas budgets, nonce lanes,
//! native allowances, its EIP-712 domain and the chain's time.

use alloy::{
    primitives::{Address, B256, U256, aliases::U192},
    providers::Provider,
};

use crate::{
    Error, KeyExt, Settings,
    bindings::{GasBudget, GasSpent, IKeyward, Key},
    client::{Account, revert::node},
};

/// Where a key stands at a given time.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum KeyStatus {
    /// Usable now.
    Active,
    /// Past its expiration second.
    Expired,
    /// Before its validAfter second.
    NotYetValid,
    /// Not registered (never, or revoked).
    Revoked,
}

/// A registered key with its settings and status.
#[derive(Clone, Debug)]
pub struct KeyInfo {
    /// The public key.
    pub key: Key,
    /// Its hash.
    pub key_hash: B256,
    /// Its settings.
    pub settings: Settings,
    /// Its status at `now`.
    pub status: KeyStatus,
    /// Seconds until it expires (`None`: never).
    pub time_left: Option<u64>,
}

/// The status of `settings` at unix time `now`.
pub fn status_at(settings: Settings, now: u64) -> KeyStatus {
    let expiration = settings.expiration();
    if expiration != 0 && now > expiration {
        KeyStatus::Expired
    } else if now < settings.valid_after() {
        KeyStatus::NotYetValid
    } else {
        KeyStatus::Active
    }
}

impl<P: Provider> Account<P> {
    /// The registered keys with their status and time left, at the latest block's time.
    pub async fn keys(&self) -> Result<Vec<KeyInfo>, Error> {
        let now = self.now().await?;
        let count: U256 = self.view(self.address, IKeyward::keyCountCall {}).await?;
        let mut out = Vec::with_capacity(count.saturating_to::<usize>());
        for i in 0..count.saturating_to::<u64>() {
            let key: Key = self.view(self.address, IKeyward::keyAtCall { index: U256::from(i) }).await?;
            let key_hash = key.hash();
            let settings = self.settings(key_hash).await?;
            let expiration = settings.expiration();
            out.push(KeyInfo {
                key,
                key_hash,
                settings,
                status: status_at(settings, now),
                time_left: (expiration != 0).then(|| expiration.saturating_sub(now)),
            });
        }
        Ok(out)
    }

    /// A registered key's settings (`KeyDoesNotExist` otherwise; the root's are admin, no expiry, no hook).
    pub async fn settings(&self, key_hash: B256) -> Result<Settings, Error> {
        let raw: U256 = self.view(self.address, IKeyward::getKeySettingsCall { keyHash: key_hash }).await?;
        Settings::try_from(raw)
    }

    /// A key's status now (`Revoked` when it is not registered).
    pub async fn status(&self, key_hash: B256) -> Result<KeyStatus, Error> {
        if !self.view(self.address, IKeyward::isRegisteredCall { keyHash: key_hash }).await? {
            return Ok(KeyStatus::Revoked);
        }
        Ok(status_at(self.settings(key_hash).await?, self.now().await?))
    }

    /// The PolicyHook policy of `key_hash` on this account, read from `hook` (rules with conditions, native and
    /// token caps with what was spent, call counts, ERC-1271 scope). A key the account does not know reverts with
    /// `KeyDoesNotExist`.
    pub async fn policy(&self, hook: Address, key_hash: B256) -> Result<crate::bindings::policy::Policy, Error> {
        self.view(
            hook,
            crate::bindings::policy::IPolicyHook::getPolicyCall { account: self.address, keyHash: key_hash },
        )
        .await
    }

    /// The identity of this registration of a key (`keyIdOf`; `KeyDoesNotExist` for unknown keys, 0 for the root).
    pub async fn key_id(&self, key_hash: B256) -> Result<B256, Error> {
        self.view(self.address, IKeyward::keyIdOfCall { keyHash: key_hash }).await
    }

    /// The reserved nonce lane `index` of a key (`reservedLane`; the root's for [`crate::ROOT_KEY_HASH`], computed
    /// without a call, so it works before the EOA is delegated).
    pub async fn reserved_lane(&self, key_hash: B256, index: u32) -> Result<U192, Error> {
        if key_hash == crate::ROOT_KEY_HASH {
            return Ok(crate::lanes::lane_key(crate::lanes::root_lane_id(self.address), index));
        }
        self.view(self.address, IKeyward::reservedLaneCall { keyHash: key_hash, index }).await
    }

    /// The next sequence number of relayed-batch nonce lane `lane_key` (`getSeq`).
    pub async fn seq(&self, lane_key: U192) -> Result<u64, Error> {
        let seq: U256 = self.view(self.address, IKeyward::getSeqCall { key: U256::from(lane_key) }).await?;
        Ok(seq.saturating_to())
    }

    /// A key's ERC-4337 gas budget and what was charged against it (`gasBudget`).
    pub async fn gas_budget(&self, key_hash: B256) -> Result<(GasBudget, GasSpent), Error> {
        let r = self.view(self.address, IKeyward::gasBudgetCall { keyHash: key_hash }).await?;
        Ok((r.budget, r.spent))
    }

    /// ERC-7914: the persistent native allowance of `spender`.
    pub async fn native_allowance(&self, spender: Address) -> Result<U256, Error> {
        self.view(self.address, IKeyward::nativeAllowanceCall { spender }).await
    }

    /// The latest block's timestamp.
    pub async fn now(&self) -> Result<u64, Error> {
        let block = self
            .provider
            .get_block_by_number(alloy::eips::BlockNumberOrTag::Latest)
            .await
            .map_err(node("eth_getBlockByNumber"))?
            .ok_or(Error::UnexpectedAnswer { method: "eth_getBlockByNumber", problem: "no latest block" })?;
        Ok(block.header.timestamp)
    }

    /// The account's EIP-712 domain (chain and implementation read from the chain).
    pub async fn domain(&self) -> Result<alloy::dyn_abi::Eip712Domain, Error> {
        let d = self.view(self.address, IKeyward::eip712DomainCall {}).await?;
        Ok(alloy::dyn_abi::Eip712Domain::new(
            Some(d.name.into()),
            Some(d.version.into()),
            Some(d.chainId),
            Some(d.verifyingContract),
            Some(d.salt),
        ))
    }
}
