//! A typed client for a Keyward account over an alloy provider (feature `client`), one file per concern:
//!
//! | concern | file | what |
//! |---|---|---|
//! | keys | `keys.rs` | [`Account::keys`], [`Account::status`], settings, policies, gas budgets, nonce lanes, time |
//! | management | `management.rs` | the owner's side: [`Account::delegate`] (EIP-7702, any alloy signer, or unsigned for a wallet app, or an authorization for a user operation), [`Account::execute_as_root`], grants, revocations |
//! | execution | `execution.rs` | a key's batches: direct, Calibur's batch, relayed ([`Lane`]) |
//! | user operations | `user_ops.rs`, `prepare.rs` | ERC-4337: [`Account::prepare`] and [`Account::send`] over `handleOps` or a bundler ([`UserOpRoute`]), explicit [`Pricing`], [`Account::execute_user_op`] |
//! | ERC-7715 | `permissions.rs` | [`Account::request_execution_permission`], [`Account::execution_permissions`] (read back from the PolicyHook), [`Account::revoke_execution_permission`] |
//! | events | `events.rs` | [`Account::events`], a resumable [`KeyEventStream`] with a filter and a serializable [`Cursor`] |
//! | errors | `revert.rs` | reverts turned into [`crate::Error`]'s typed variants |
//!
//! Who sends: the owner's side is sent by the provider's wallet, which must hold the EOA's key (any alloy wallet:
//! a local key, a Ledger, a KMS key...), except [`Account::delegate`], which signs with the signer it is given. A
//! session key's direct batches are sent by the provider's wallet as that key; relayed batches and `handleOps` by
//! any funded wallet.
//!
//! Nonces: relayed batches and user operations of a key use the key's own reserved lane 0 by default
//! ([`Lane::Reserved`], see [`crate::lanes`]), which no other key can use or burn; an explicit lane key (open lanes,
//! lane 0 among them, are shared by every key, as in Calibur) is still possible. User operations of a key whose
//! settings carry [`crate::Flags::GAS_BUDGET`] name the current gas window.

use alloy::{
    network::TransactionBuilder,
    primitives::{Address, TxHash},
    providers::Provider,
    rpc::types::{TransactionReceipt, TransactionRequest},
    sol_types::SolCall,
};

use crate::Error;

mod events;
mod execution;
mod keys;
mod management;
mod permissions;
mod prepare;
mod revert;
mod user_ops;

pub use events::{Cursor, DEFAULT_PAGE_SIZE, EventFilter, EventKind, KeyEvent, KeyEventStream};
pub use execution::Lane;
pub use keys::{KeyInfo, KeyStatus, status_at};
pub use management::{Pruned, UnsignedDelegation};
pub use prepare::{
    ENTRY_POINT_VALIDATION_OVERHEAD, Paymaster, PreparedUserOp, Pricing, UserOpReceipt, UserOpRequest, UserOpRoute,
};
pub use user_ops::{IEntryPoint, handle_ops_call_data};

use revert::{call_error, node};

/// A Keyward account at `address`, driven through `provider`.
#[derive(Clone, Debug)]
pub struct Account<P> {
    address: Address,
    provider: P,
}

impl<P: Provider> Account<P> {
    /// The account at `address`, reached through `provider`.
    pub fn at(address: Address, provider: P) -> Self {
        Self { address, provider }
    }

    /// The account's address (the EOA).
    pub fn address(&self) -> Address {
        self.address
    }

    /// The provider.
    pub fn provider(&self) -> &P {
        &self.provider
    }

    /// `eth_call` of a view of `to`, decoded; a revert becomes a typed error.
    async fn view<C: SolCall>(&self, to: Address, call: C) -> Result<C::Return, Error> {
        let tx = TransactionRequest::default().with_to(to).with_input(call.abi_encode());
        let out = self.provider.call(tx).await.map_err(|e| call_error("eth_call", e))?;
        C::abi_decode_returns(&out).map_err(|source| Error::Decode { what: C::SIGNATURE, source })
    }

    /// `eth_call` of `tx`: its revert as a typed error.
    async fn check(&self, tx: &TransactionRequest) -> Result<(), Error> {
        self.provider.call(tx.clone()).await.map(drop).map_err(|e| call_error("eth_call", e))
    }

    /// Sends `tx` with the provider's wallet after checking it with `eth_call`, and waits for its receipt.
    async fn send_tx(&self, tx: TransactionRequest) -> Result<TxHash, Error> {
        self.check(&tx).await?;
        Ok(self.send_checked(tx).await?.transaction_hash)
    }

    /// Sends a root transaction: from the account itself, so the provider's wallet must sign with the EOA's key
    /// ([`Error::WalletCannotSign`] otherwise, before anything is sent).
    async fn send_as_owner(&self, tx: TransactionRequest) -> Result<TxHash, Error> {
        let tx = tx.with_from(self.address);
        self.check(&tx).await?;
        let pending = self.provider.send_transaction(tx).await.map_err(|e| match e {
            e @ alloy::transports::RpcError::LocalUsageError(_) => {
                Error::WalletCannotSign { account: self.address, source: e }
            }
            e => call_error("eth_sendTransaction", e),
        })?;
        let receipt = pending.get_receipt().await.map_err(Error::Confirmation)?;
        if !receipt.status() {
            return Err(Error::TransactionReverted { tx: receipt.transaction_hash });
        }
        Ok(receipt.transaction_hash)
    }

    /// Sends a transaction [`Self::check`] already ran and waits for its receipt.
    async fn send_checked(&self, tx: TransactionRequest) -> Result<TransactionReceipt, Error> {
        let pending = self.provider.send_transaction(tx).await.map_err(|e| call_error("eth_sendTransaction", e))?;
        let receipt = pending.get_receipt().await.map_err(Error::Confirmation)?;
        if !receipt.status() {
            return Err(Error::TransactionReverted { tx: receipt.transaction_hash });
        }
        Ok(receipt)
    }

    /// The chain id.
    async fn chain_id(&self) -> Result<u64, Error> {
        self.provider.get_chain_id().await.map_err(node("eth_chainId"))
    }
}
