//! ERC-7715 on a chain: a request granted in one root batch, the granted permissions read back from the PolicyHook's
//! views (`wallet_getGrantedExecutionPermissions`), a permission revoked by its `context`.

use alloy::{
    network::TransactionBuilder,
    primitives::{Address, B256, Bytes, TxHash},
    providers::Provider,
    rpc::types::{Filter, TransactionRequest},
    sol_types::SolEvent,
};

use crate::{
    Error, KeyExt,
    bindings::{
        Call, Key,
        policy::{IPolicyHook, StreamPolicy},
    },
    client::{Account, revert::node},
    erc7715::{
        self, GrantTarget, GrantedExecutionPermissions, OnChainKey, PermissionGrant, PermissionRequest,
        PermissionResponse,
    },
};

impl<P: Provider> Account<P> {
    /// Where a request would be granted now: this account, its chain, `hook`, the latest block's time.
    pub async fn grant_target(&self, hook: Address) -> Result<GrantTarget, Error> {
        Ok(GrantTarget { account: self.address, chain_id: self.chain_id().await?, hook, now: self.now().await? })
    }

    /// `wallet_requestExecutionPermissions` for one request: maps it to a grant under the PolicyHook at `hook`
    /// (exactly, or an [`erc7715::Erc7715Error`]) and sends the batch as root (the provider's wallet must hold the
    /// EOA's key). Returns the grant and the response.
    pub async fn request_execution_permission(
        &self,
        request: &PermissionRequest,
        hook: Address,
    ) -> Result<PermissionGrant, Error> {
        let granted = request.to_grant(&self.grant_target(hook).await?)?;
        self.execute_as_root(&granted.grant.calls).await?;
        Ok(granted)
    }

    /// `wallet_revokeExecutionPermission`: revokes the key `context` names (root).
    pub async fn revoke_execution_permission(&self, context: &[u8]) -> Result<TxHash, Error> {
        self.execute_as_root(&[erc7715::revoke_call(self.address, context)?]).await
    }

    /// ERC-7710: `redeemDelegations` of `calls` (one ERC-7579 batch) under the permission `context` names, sent by the
    /// provider's wallet, which must be the permission's session account (the key). Needs an account implementation
    /// with `redeemDelegations`.
    pub async fn redeem(&self, context: &Bytes, calls: &[Call]) -> Result<TxHash, Error> {
        let tx =
            TransactionRequest::default().with_to(self.address).with_input(erc7715::redeem_call_data(context, calls));
        self.send_tx(tx).await
    }

    /// `wallet_getGrantedExecutionPermissions`: every registered key under the PolicyHook at `hook` whose grant is
    /// an ERC-7715 permission, read back as its response (keys of other shapes are left out).
    pub async fn execution_permissions(&self, hook: Address) -> Result<GrantedExecutionPermissions, Error> {
        let mut out = Vec::new();
        for info in self.keys().await? {
            if info.settings.hook() != hook {
                continue;
            }
            if let Some(r) = self.execution_permission(hook, &info.key).await? {
                out.push(r);
            }
        }
        Ok(out)
    }

    /// The ERC-7715 permission `key` holds under the PolicyHook at `hook`, read from the chain (`None`: the key is
    /// not registered with the hook, or its grant is not one an ERC-7715 request makes).
    pub async fn execution_permission(&self, hook: Address, key: &Key) -> Result<Option<PermissionResponse>, Error> {
        let key_hash = key.hash();
        if !self.view(self.address, crate::bindings::IKeyward::isRegisteredCall { keyHash: key_hash }).await? {
            return Ok(None);
        }
        let settings = self.settings(key_hash).await?;
        if settings.hook() != hook {
            return Ok(None);
        }
        let policy = self.policy(hook, key_hash).await?;
        let native_stream = self.stream(hook, key_hash, Address::ZERO).await?;
        let token = policy.tokens.first().map(|t| t.token);
        let token_stream = match token {
            Some(t) => Some(self.stream(hook, key_hash, t).await?),
            None => None,
        };
        let caps_start = self.caps_start(hook, key_hash, token.unwrap_or(Address::ZERO)).await?;
        Ok(erc7715::response_from_chain(&OnChainKey {
            account: self.address,
            chain_id: self.chain_id().await?,
            hook,
            key,
            settings,
            policy: &policy,
            native_stream: &native_stream,
            token_stream: token_stream.as_ref(),
            caps_start,
        }))
    }

    /// The hook's `getStream(account, keyHash, asset)` (asset 0: native value).
    pub async fn stream(&self, hook: Address, key_hash: B256, asset: Address) -> Result<StreamPolicy, Error> {
        self.view(hook, IPolicyHook::getStreamCall { account: self.address, keyHash: key_hash, asset }).await
    }

    /// The start time of `asset`'s caps when their latest configuration was anchored (`setNativeLimitsFrom` /
    /// `setTokenLimitFrom`: `NativeLimitsSet` / `TokenLimitSet` followed by `LimitsStartSet`); `None` when it was not
    /// (a configuration from its own time), so that an older anchor (of an earlier configuration or registration)
    /// is never read for a newer one.
    async fn caps_start(&self, hook: Address, key_hash: B256, asset: Address) -> Result<Option<u64>, Error> {
        use IPolicyHook::{LimitsStartSet, NativeLimitsSet, TokenLimitSet};
        let filter = Filter::new()
            .address(hook)
            .event_signature(vec![
                LimitsStartSet::SIGNATURE_HASH,
                NativeLimitsSet::SIGNATURE_HASH,
                TokenLimitSet::SIGNATURE_HASH,
            ])
            .topic1(self.address.into_word())
            .topic2(key_hash)
            .from_block(0);
        let logs = self.provider.get_logs(&filter).await.map_err(node("eth_getLogs"))?;
        for log in logs.iter().rev() {
            if let Ok(e) = LimitsStartSet::decode_log(&log.inner) {
                if e.data.asset == asset {
                    return Ok(Some(e.data.startTime.to::<u64>()));
                }
            } else if let Ok(e) = TokenLimitSet::decode_log(&log.inner) {
                if e.data.token == asset {
                    return Ok(None);
                }
            } else if asset == Address::ZERO && NativeLimitsSet::decode_log(&log.inner).is_ok() {
                return Ok(None);
            }
        }
        Ok(None)
    }
}
