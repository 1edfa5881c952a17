//! A client for ERC-4337 bundlers (feature `bundler`, which `client` turns on): typed EntryPoint v0.8 / v0.9
//! user operations in the JSON bundlers take, `eth_estimateUserOperationGas`, `eth_sendUserOperation`,
//! `eth_getUserOperationReceipt`, `eth_getUserOperationByHash`, `eth_supportedEntryPoints`, fee caps
//! (`pimlico_getUserOperationGasPrice`, else the node's fee history or gas price) and a receipt wait.
//!
//! Errors are the crate's [`crate::Error`]: a bundler's JSON-RPC error is [`crate::Error::Bundler`] with its code,
//! the EntryPoint's AA code and the revert data decoded into the account's and the PolicyHook's errors
//! ([`Revert`]); [`crate::Error::kind`] is the one [`ErrorKind`] to branch on, as on the `handleOps` route.
//!
//! `client::Account::prepare` and `client::Account::send` do all of the below in two calls; this module is the
//! bundler's own API.
//!
//! ```no_run
//! use std::time::Duration;
//!
//! use alloy::primitives::{Address, Bytes, U256};
//! use keyward::{
//!     KeySigner, Secp256k1Signer,
//!     bundler::{BundlerClient, ErrorKind, UserOperation},
//!     userop::{self, ENTRY_POINT_V08, UserOpBuilder},
//! };
//!
//! # async fn run(node: alloy::providers::DynProvider, account: Address, nonce: U256, session: Secp256k1Signer)
//! # -> Result<(), Box<dyn std::error::Error>> {
//! let bundler = BundlerClient::new("http://127.0.0.1:4337".parse()?);
//! let chain_id = 31_337;
//! // Estimate with a stub signature of the right shape, price, then sign once and send.
//! let mut op = UserOperation::from(UserOpBuilder::new(account, nonce).build_for_estimate());
//! op.signature = userop::wrap_signature(session.key_hash(), session.stub_signature()?, Bytes::new());
//! let gas = bundler.estimate_user_operation_gas(&op).await?;
//! let fees = bundler.fees(&node).await?.fees;
//! let mut op = op.with_gas(&gas).with_fees(fees);
//! op.signature = session.sign_user_op(op.hash(ENTRY_POINT_V08, chain_id, None), Bytes::new())?;
//! match bundler.send_user_operation(&op).await {
//!     Ok(hash) => {
//!         let receipt = bundler.wait_for_receipt(hash, Duration::from_secs(30)).await?;
//!         assert!(receipt.success);
//!     }
//!     Err(e) if e.kind() == ErrorKind::KeyExpiredOrRevoked => { /* ask the user for a new grant */ }
//!     Err(e) => return Err(e.into()),
//! }
//! # Ok(()) }
//! ```

mod client;
mod error;
pub mod types;

pub use client::{BundlerClient, DEFAULT_POLL_INTERVAL, DEFAULT_REQUEST_TIMEOUT, node_fees};
pub use error::{AaCode, BundlerError, ErrorKind, Revert, RpcError, code, decode_revert};
pub use types::{
    BundleReceipt, Eip7702Auth, Factory, FeeQuote, FeeSource, Fees, GasEstimate, GasPriceTiers, Log, UserOperation,
    UserOperationByHash, UserOperationReceipt,
};
