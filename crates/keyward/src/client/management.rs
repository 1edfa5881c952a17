//! The owner's side: EIP-7702 delegation (signed by any alloy signer, unsigned for a wallet app, or as an
//! authorization a user operation carries), and root batches: grants, updates, revocations, budgets, nonces, salt.
//!
//! Root batches are sent by the provider's wallet, from the account: configure the provider with a wallet holding
//! the EOA's key (any alloy wallet: `EthereumWallet` over a local key, a Ledger, a Trezor, an AWS or GCP KMS key,
//! ...). A wallet without it fails with [`Error::WalletCannotSign`] before anything is sent.

use alloy::{
    consensus::{SignableTransaction, TxEnvelope},
    eips::{
        eip2718::Encodable2718,
        eip7702::{Authorization, SignedAuthorization},
    },
    network::{TransactionBuilder, TransactionBuilder7702, TxSigner},
    primitives::{Address, B256, Signature, TxHash, U256, aliases::U96},
    providers::Provider,
    rpc::types::TransactionRequest,
    signers::Signer,
};

use crate::{
    Error, Settings,
    bindings::{Call, GasBudget, Key},
    client::{
        Account, KeyStatus,
        revert::{call_error, node},
    },
    encode,
};

/// The gas limit of a self-sent delegation running `calls` root calls. It is set, not estimated: estimating a
/// delegation the sender sends itself trips over the nonce its own transaction uses. Only gas used is paid.
fn delegation_gas_limit(calls: usize) -> u64 {
    let calls = u64::try_from(calls).unwrap_or(u64::MAX);
    200_000u64.saturating_mul(calls).saturating_add(1_000_000)
}

/// A key that never expires, has no hook and is not an admin: valid forever with nothing limiting it.
fn is_unbounded(settings: Settings) -> bool {
    settings.expiration() == 0 && settings.hook() == Address::ZERO && !settings.is_admin()
}

/// What [`Account::prune`] did: the keys it revoked and the transaction, `None` when no key had expired.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Pruned {
    /// The expired keys, revoked.
    pub revoked: Vec<B256>,
    /// The one transaction that revoked them.
    pub tx: Option<TxHash>,
}

/// An EIP-7702 delegation for a wallet app to sign: the EOA signs the authorization's
/// [`signature_hash`](UnsignedDelegation::signature_hash), then the type-4 transaction
/// ([`with_signature`](UnsignedDelegation::with_signature)) it sends to itself, which runs the first calls as
/// root. The transaction carries no fees: the wallet prices it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct UnsignedDelegation {
    /// The authorization: the implementation, the chain, and the EOA's nonce after this transaction's own
    /// (the sender is the authority, so its transaction uses `nonce` and the authorization `nonce + 1`).
    pub authorization: Authorization,
    /// The transaction from the EOA to itself (nonce, chain, gas limit and call data set; no fees, no
    /// authorization list yet).
    pub transaction: TransactionRequest,
}

impl UnsignedDelegation {
    /// What the EOA signs for the authorization.
    pub fn signature_hash(&self) -> B256 {
        self.authorization.signature_hash()
    }

    /// The transaction with the signed authorization, for the wallet to price, sign and send.
    pub fn with_signature(self, signature: Signature) -> TransactionRequest {
        self.transaction.with_authorization_list(vec![self.authorization.into_signed(signature)])
    }
}

impl<P: Provider> Account<P> {
    /// EIP-7702: `owner` (the EOA's key in any alloy signer: a local key, a Ledger, a KMS key...) delegates the
    /// account to `implementation` and runs `calls` as root, in one type-4 transaction it signs and sends itself
    /// (e.g. a first grant, so a key never waits for a second transaction). The provider needs no wallet; fees come
    /// from the node's fee history, the gas limit is fixed (1,000,000 plus 200,000 a call; only gas used is paid).
    ///
    /// Fails with [`Error::WrongWallet`], sending nothing, when `owner` is not the account.
    pub async fn delegate<S>(&self, owner: &S, implementation: Address, calls: &[Call]) -> Result<TxHash, Error>
    where
        S: Signer + TxSigner<Signature> + Send + Sync + ?Sized,
    {
        self.check_owner(Signer::address(owner))?;
        let unsigned = self.delegation_request(implementation, calls).await?;
        let auth_signature = owner.sign_hash(&unsigned.signature_hash()).await.map_err(Error::signing)?;
        let fees = self.provider.estimate_eip1559_fees().await.map_err(node("eth_feeHistory"))?;
        let request = unsigned
            .with_signature(auth_signature)
            .with_max_fee_per_gas(fees.max_fee_per_gas)
            .with_max_priority_fee_per_gas(fees.max_priority_fee_per_gas);
        let mut tx =
            request.build_7702().map_err(|_| Error::InvalidRequest("an EIP-7702 transaction needs every field"))?;
        let signature = owner.sign_transaction(&mut tx).await.map_err(Error::signing)?;
        let raw = TxEnvelope::from(tx.into_signed(signature)).encoded_2718();
        let pending =
            self.provider.send_raw_transaction(&raw).await.map_err(|e| call_error("eth_sendRawTransaction", e))?;
        let receipt = pending.get_receipt().await.map_err(Error::Confirmation)?;
        if !receipt.status() {
            return Err(Error::TransactionReverted { tx: receipt.transaction_hash });
        }
        Ok(receipt.transaction_hash)
    }

    /// The delegation [`Self::delegate`] sends, unsigned, for a wallet app: the authorization to sign (for
    /// `nonce + 1`, since the EOA's own transaction carries it) and the transaction to itself running `calls` as
    /// root. The wallet signs [`UnsignedDelegation::signature_hash`], then prices, signs and sends
    /// [`UnsignedDelegation::with_signature`].
    pub async fn delegation_request(
        &self,
        implementation: Address,
        calls: &[Call],
    ) -> Result<UnsignedDelegation, Error> {
        let chain_id = self.chain_id().await?;
        let nonce = self.provider.get_transaction_count(self.address).await.map_err(node("eth_getTransactionCount"))?;
        let authorization = Authorization { chain_id: U256::from(chain_id), address: implementation, nonce: nonce + 1 };
        let transaction = TransactionRequest::default()
            .with_from(self.address)
            .with_to(self.address)
            .with_input(encode::execute(calls, true))
            .with_nonce(nonce)
            .with_chain_id(chain_id)
            .with_gas_limit(delegation_gas_limit(calls.len()));
        Ok(UnsignedDelegation { authorization, transaction })
    }

    /// An authorization for someone else to carry (a bundler in a user operation's `eip7702Auth`, or a relayer's
    /// type-4 transaction), for the EOA's current nonce: sign its `signature_hash()` with the EOA's key, or use
    /// [`Self::sign_authorization`].
    pub async fn sponsored_authorization(&self, implementation: Address) -> Result<Authorization, Error> {
        let chain_id = self.chain_id().await?;
        let nonce = self.provider.get_transaction_count(self.address).await.map_err(node("eth_getTransactionCount"))?;
        Ok(Authorization { chain_id: U256::from(chain_id), address: implementation, nonce })
    }

    /// [`Self::sponsored_authorization`], signed by `owner` (any alloy signer): what
    /// `UserOpRequest::eip7702_authorization` puts in a user operation for gasless onboarding. Fails with
    /// [`Error::WrongWallet`] when `owner` is not the account.
    pub async fn sign_authorization<S>(&self, owner: &S, implementation: Address) -> Result<SignedAuthorization, Error>
    where
        S: Signer + Send + Sync + ?Sized,
    {
        self.check_owner(owner.address())?;
        let auth = self.sponsored_authorization(implementation).await?;
        let signature = owner.sign_hash(&auth.signature_hash()).await.map_err(Error::signing)?;
        Ok(auth.into_signed(signature))
    }

    fn check_owner(&self, wallet: Address) -> Result<(), Error> {
        if wallet != self.address {
            return Err(Error::WrongWallet { account: self.address, wallet });
        }
        Ok(())
    }

    /// A root batch: the EOA's transaction to itself with ERC-7821 `execute`, checked with `eth_call` first (a
    /// revert comes back typed, nothing sent). The provider's wallet signs it as the account.
    pub async fn execute_as_root(&self, calls: &[Call]) -> Result<TxHash, Error> {
        self.send_as_owner(TransactionRequest::default().with_to(self.address).with_input(encode::execute(calls, true)))
            .await
    }

    /// Grants `key` with `settings` (root). Settings that make a key valid forever with no hook and no admin
    /// rights (an unbounded key, e.g. `Settings::default()`) are refused with [`Error::InvalidRequest`] before
    /// anything is sent: give the key an expiry (`Settings::builder().expires_in(..)`, or the grant builder) or a
    /// hook, or say it explicitly with [`Account::grant_unbounded`].
    pub async fn grant(&self, key: &Key, settings: Settings) -> Result<TxHash, Error> {
        if is_unbounded(settings) {
            return Err(Error::InvalidRequest(
                "a never-expiring key with no hook: give it an expiry or a hook, or use grant_unbounded to mean it",
            ));
        }
        self.grant_unbounded(key, settings).await
    }

    /// Grants `key` with `settings` as given (root), including a never-expiring key with no hook, said explicitly.
    pub async fn grant_unbounded(&self, key: &Key, settings: Settings) -> Result<TxHash, Error> {
        self.execute_as_root(&[encode::self_call(encode::grant(key, settings))]).await
    }

    /// Writes a key's settings (root).
    pub async fn update(&self, key_hash: B256, settings: Settings) -> Result<TxHash, Error> {
        self.execute_as_root(&[encode::self_call(encode::update(key_hash, settings))]).await
    }

    /// Revokes a key (root).
    pub async fn revoke(&self, key_hash: B256) -> Result<TxHash, Error> {
        self.execute_as_root(&[encode::self_call(encode::revoke(key_hash))]).await
    }

    /// Revokes every key that has expired at the latest block's time, in one transaction (root), so the key list
    /// shrinks to the live keys (not-yet-valid and never-expiring keys stay). Sends nothing when no key has
    /// expired. A key expired at the latest block is still expired when the transaction is mined.
    pub async fn prune(&self) -> Result<Pruned, Error> {
        let revoked: Vec<B256> =
            self.keys().await?.into_iter().filter(|k| k.status == KeyStatus::Expired).map(|k| k.key_hash).collect();
        if revoked.is_empty() {
            return Ok(Pruned { revoked, tx: None });
        }
        let calls: Vec<Call> = revoked.iter().map(|kh| encode::self_call(encode::revoke(*kh))).collect();
        let tx = self.execute_as_root(&calls).await?;
        Ok(Pruned { revoked, tx: Some(tx) })
    }

    /// Pauses a key (root): refused on every path (`KeyIsPaused`) until [`Account::resume_key`], keeping its
    /// settings, hook state, gas books and nonce lanes.
    pub async fn pause_key(&self, key_hash: B256) -> Result<TxHash, Error> {
        self.execute_as_root(&[encode::self_call(encode::pause_key(key_hash))]).await
    }

    /// Resumes a key paused by [`Account::pause_key`] (root); it stays refused while [`Account::pause_all`] holds.
    pub async fn resume_key(&self, key_hash: B256) -> Result<TxHash, Error> {
        self.execute_as_root(&[encode::self_call(encode::resume_key(key_hash))]).await
    }

    /// Pauses every non-root key, admin keys and keys granted later included, until [`Account::resume_all`]
    /// (root). The root is never paused.
    pub async fn pause_all(&self) -> Result<TxHash, Error> {
        self.execute_as_root(&[encode::self_call(encode::pause_all())]).await
    }

    /// Ends [`Account::pause_all`] (root); keys paused one by one stay paused.
    pub async fn resume_all(&self) -> Result<TxHash, Error> {
        self.execute_as_root(&[encode::self_call(encode::resume_all())]).await
    }

    /// Revokes every non-root key (root).
    pub async fn revoke_all(&self) -> Result<TxHash, Error> {
        self.execute_as_root(&[encode::self_call(encode::revoke_all())]).await
    }

    /// Sets a key's ERC-4337 gas budget (root); see [`encode::gas_budget`].
    pub async fn set_gas_budget(&self, key_hash: B256, budget: GasBudget) -> Result<TxHash, Error> {
        self.execute_as_root(&[encode::self_call(encode::set_gas_budget(key_hash, budget))]).await
    }

    /// Moves a nonce lane forward (root): every signed batch below `new_nonce` in its lane never runs.
    pub async fn invalidate_nonce(&self, new_nonce: U256) -> Result<TxHash, Error> {
        self.execute_as_root(&[encode::self_call(encode::invalidate_nonce(new_nonce))]).await
    }

    /// Sets a new EIP-712 salt prefix (root): every outstanding signature of the account stops verifying.
    pub async fn update_salt(&self, prefix: U96) -> Result<TxHash, Error> {
        self.execute_as_root(&[encode::self_call(encode::update_salt(prefix))]).await
    }

    /// ERC-7914: lets `spender` move up to `amount` wei out of the account (root).
    pub async fn approve_native(&self, spender: Address, amount: U256) -> Result<TxHash, Error> {
        self.execute_as_root(&[encode::self_call(encode::approve_native(spender, amount))]).await
    }
}

#[cfg(test)]
mod tests {
    use alloy::signers::{SignerSync, local::PrivateKeySigner};

    use super::*;

    /// The guard of [`Account::grant`]: only a never-expiring, hook-less, non-admin key is refused, before anything
    /// is sent (the provider points at a closed port, so any other outcome is an RPC failure).
    #[tokio::test]
    async fn test_grant_refuses_an_unbounded_key_unless_said() {
        use crate::KeyExt;
        let provider =
            alloy::providers::ProviderBuilder::new().connect_http("http://127.0.0.1:9".parse().unwrap()).erased();
        let account = Account::at(Address::repeat_byte(0xac), provider);
        let key = Key::secp256k1(Address::repeat_byte(0x11));
        let refused =
            |r: Result<TxHash, Error>| matches!(r, Err(Error::InvalidRequest(m)) if m.contains("grant_unbounded"));
        assert!(refused(account.grant(&key, Settings::default()).await));
        assert!(refused(account.grant(&key, Settings::builder().build().unwrap()).await));
        // An expiry (even the farthest), a hook, or admin rights: not refused by the guard (it goes on to the node).
        for bounded in [
            Settings::builder().expires_at(1).build().unwrap(),
            Settings::builder().expires_at((1 << 40) - 1).build().unwrap(),
            Settings::builder().hook(Address::with_last_byte(0x1f)).build().unwrap(),
            Settings::builder().admin(true).build().unwrap(),
        ] {
            assert!(!refused(account.grant(&key, bounded).await), "{bounded}");
            assert!(!is_unbounded(bounded));
        }
        // Said explicitly: not refused by the guard.
        assert!(!refused(account.grant_unbounded(&key, Settings::default()).await));
    }

    #[test]
    fn test_unsigned_delegation_carries_the_signed_authorization() {
        let eoa = PrivateKeySigner::random();
        let authorization =
            Authorization { chain_id: U256::from(31_337), address: Address::repeat_byte(0x44), nonce: 8 };
        let unsigned = UnsignedDelegation {
            authorization: authorization.clone(),
            transaction: TransactionRequest::default().with_to(eoa.address()).with_nonce(7),
        };
        assert_eq!(unsigned.signature_hash(), authorization.signature_hash());
        let signature = eoa.sign_hash_sync(&unsigned.signature_hash()).unwrap();
        let tx = unsigned.with_signature(signature);
        let list = tx.authorization_list.clone().unwrap();
        assert_eq!(list.len(), 1);
        let authority = list[0].signature().unwrap().recover_address_from_prehash(&list[0].inner().signature_hash());
        assert_eq!(authority.unwrap(), eoa.address());
        assert_eq!((list[0].nonce, tx.nonce), (8, Some(7)));
    }

    #[test]
    fn test_delegation_gas_limit_grows_with_calls() {
        assert_eq!(delegation_gas_limit(0), 1_000_000);
        assert_eq!(delegation_gas_limit(2), 1_400_000);
        assert_eq!(delegation_gas_limit(usize::MAX), u64::MAX, "saturates instead of overflowing");
    }
}
