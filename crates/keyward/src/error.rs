use alloy::primitives::{Address, B256, Bytes, TxHash, U256};

use crate::{
    bindings::{IKeyward::IKeywardErrors, policy::IPolicyHook::IPolicyHookErrors},
    failure::Revert,
};

/// A boxed error from a signing backend or another library, kept as the source.
pub type BoxError = Box<dyn std::error::Error + Send + Sync + 'static>;

/// Everything that can go wrong in this crate: one enum, whose variants a caller can match, with every underlying
/// error kept as its `source()`. [`Error::kind`] classifies any of them (refused by policy, key expired or revoked,
/// transient, misuse) and [`Error::revert`] decodes the revert behind it, on every route.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// A settings word has reserved bits (201-207, 252-253 reserved for future flags, or 254-255) set.
    #[error("non-canonical settings: reserved bits {reserved:#x} are set")]
    NonCanonicalSettings {
        /// The offending bits.
        reserved: U256,
    },
    /// A nonzero hook whose address enables no callback (its low 5 bits are zero): it would enforce nothing, and
    /// the account refuses it (`HookWithoutCallbacks`).
    #[error("hook {hook} enables no callback (the low 5 bits of its address are zero): the account refuses it")]
    HookWithoutCallbacks {
        /// The hook.
        hook: Address,
    },
    /// Settings flags that are not names or bits this crate knows.
    #[error("invalid settings flags {input:?}: {reason}")]
    InvalidFlags {
        /// What was given.
        input: String,
        /// What is wrong with it.
        reason: &'static str,
    },
    /// A gas budget the account would refuse (`InvalidGasBudget`) or that does not fit its fields.
    #[error("invalid gas budget: {0}")]
    InvalidGasBudget(&'static str),
    /// A time field does not fit in 40 bits.
    #[error("{field} {value} does not fit in 40 bits")]
    TimeOutOfRange {
        /// `expiration` or `validAfter`.
        field: &'static str,
        /// The rejected value.
        value: u64,
    },
    /// Malformed hex input.
    #[error("invalid hex {input:?}: {reason}")]
    InvalidHex {
        /// What was given.
        input: String,
        /// What is wrong with it.
        reason: &'static str,
    },
    /// An ERC-7739 contents description the contract would reject.
    #[error("invalid ERC-7739 contents description")]
    InvalidContentsDescription,
    /// The signing backend failed (or was given an invalid key).
    #[error("signing failed")]
    Signing(#[source] BoxError),
    /// The account reverted with one of its own errors.
    #[error("the account reverted: {0:?}")]
    Keyward(IKeywardErrors),
    /// The key's PolicyHook refused the call.
    #[error("the policy hook refused: {0:?}")]
    Policy(IPolicyHookErrors),
    /// The EntryPoint rejected a user operation (`FailedOp`), e.g. "AA22 expired or not due".
    #[error("the EntryPoint rejected the user operation: {0}")]
    UserOpRejected(String),
    /// A revert that is not one of the account's errors (e.g. from a hook or a target).
    #[error("reverted with {0}")]
    Reverted(Bytes),
    /// The agent's store could not be read or written.
    #[error("agent store {location}")]
    Store {
        /// Where (a file path, a table).
        location: String,
        /// The store's error.
        #[source]
        source: BoxError,
    },
    /// An agent's job could not compute its calls.
    #[error("the agent's job failed")]
    Job(#[source] BoxError),
    /// A session credential that does not hold together (its secret is not the key it names, a chain or account
    /// other than the one it is used on, a grant on chain that differs from it).
    #[error("invalid session credential: {0}")]
    InvalidCredential(&'static str),
    /// A credential's JSON does not parse, or what it says does not hold together.
    #[error("invalid session credential JSON")]
    CredentialJson(#[source] BoxError),
    /// A grant or policy that cannot be built as given.
    #[error(transparent)]
    Grant(#[from] crate::grant::GrantError),
    /// An ERC-7715 request that cannot be granted exactly, or a context that names no key of the account.
    #[error(transparent)]
    Erc7715(#[from] crate::erc7715::Erc7715Error),
    /// An amount, duration or call spec that does not parse.
    #[error(transparent)]
    Units(#[from] crate::units::UnitsError),
    /// A user operation lacks a gas limit: set it (`UserOpBuilder::gas`), or estimate it
    /// (`client::Account::prepare`). Nothing is filled in silently.
    #[error("the user operation has no {field}: set it or estimate it")]
    MissingGasLimit {
        /// `verificationGasLimit`, `callGasLimit` or `preVerificationGas`.
        field: &'static str,
    },
    /// A user operation with zero fees, without the explicit opt-in (`UserOpBuilder::zero_fees`,
    /// `client::Pricing::Zero`): whoever submits it would pay its gas and get nothing back.
    #[error("the user operation has zero fees: set fees, or opt in with zero_fees()")]
    ZeroFees,
    /// A priority fee above the fee cap.
    #[error("maxPriorityFeePerGas {max_priority_fee_per_gas} is above maxFeePerGas {max_fee_per_gas}")]
    FeesInverted {
        /// The fee cap.
        max_fee_per_gas: u128,
        /// The priority fee cap.
        max_priority_fee_per_gas: u128,
    },
    /// A request that cannot work as given (e.g. the bundler's fees on the `handleOps` route).
    #[error("invalid request: {0}")]
    InvalidRequest(&'static str),
    /// The owner's wallet is not the account: an EIP-7702 authorization and the root's transactions must come from
    /// the account's own key (the EOA).
    #[error(
        "wallet {wallet} is not the account {account}: delegation and root calls must be signed by the account's own key"
    )]
    WrongWallet {
        /// The account (the EOA).
        account: Address,
        /// The wallet's address.
        wallet: Address,
    },
    /// The provider's wallet could not sign a transaction from the account (it does not hold the EOA's key, or its
    /// signer failed). Nothing was sent.
    #[cfg(feature = "bundler")]
    #[error("the provider's wallet cannot sign for the account {account} (it must hold the EOA's key)")]
    WalletCannotSign {
        /// The account (the EOA).
        account: Address,
        /// The provider's error.
        #[source]
        source: alloy::transports::TransportError,
    },
    /// A transaction was mined but reverted (its simulation had passed: the state changed in between).
    #[error("transaction {tx} reverted")]
    TransactionReverted {
        /// The transaction.
        tx: TxHash,
    },
    /// A user operation was mined but its execution reverted (validation passed, so the gas was paid).
    #[error("user operation {user_op_hash} (transaction {transaction_hash}) reverted: {revert:?}")]
    UserOpReverted {
        /// The operation.
        user_op_hash: B256,
        /// The bundle transaction.
        transaction_hash: TxHash,
        /// The execution's revert, decoded, when the EntryPoint reported one.
        revert: Option<Box<Revert>>,
    },
    /// A contract answer that does not decode as its ABI says.
    #[error("decoding {what}")]
    Decode {
        /// What was decoded (a function signature, an event).
        what: &'static str,
        /// The ABI decoder's error.
        #[source]
        source: alloy::sol_types::Error,
    },
    /// A node answered without what was asked for (e.g. no latest block).
    #[error("{method}: {problem}")]
    UnexpectedAnswer {
        /// The method called.
        method: &'static str,
        /// What was missing.
        problem: &'static str,
    },
    /// A node request failed (no answer, or a JSON-RPC error without revert data).
    #[cfg(feature = "bundler")]
    #[error("node request {method}")]
    Node {
        /// The method called.
        method: &'static str,
        /// The transport's error.
        #[source]
        source: alloy::transports::TransportError,
    },
    /// Waiting for a sent transaction's receipt failed.
    #[cfg(feature = "bundler")]
    #[error("waiting for a transaction receipt")]
    Confirmation(#[source] alloy::providers::PendingTransactionError),
    /// A bundler request did not get an answer (connection refused, timeout, ...).
    #[cfg(feature = "bundler")]
    #[error("bundler request {method}")]
    Transport {
        /// The method called.
        method: &'static str,
        /// The HTTP client's error.
        #[source]
        source: alloy::transports::http::reqwest::Error,
    },
    /// A bundler's HTTP error without a JSON-RPC error in its body.
    #[cfg(feature = "bundler")]
    #[error("bundler request {method}: HTTP {status}: {body}")]
    Http {
        /// The method called.
        method: &'static str,
        /// The HTTP status.
        status: u16,
        /// The body, as text.
        body: String,
    },
    /// The bundler answered with a JSON-RPC error: its code, AA code and decoded revert are in the
    /// [`crate::bundler::RpcError`].
    #[cfg(feature = "bundler")]
    #[error(transparent)]
    Bundler(Box<crate::bundler::RpcError>),
    /// A bundler's answer is not the JSON expected.
    #[cfg(feature = "bundler")]
    #[error("bundler request {method}: unexpected answer")]
    BundlerDecode {
        /// The method called.
        method: &'static str,
        /// The JSON error.
        #[source]
        source: serde_json::Error,
    },
    /// Waiting for a user operation's receipt gave up.
    #[cfg(feature = "bundler")]
    #[error("no receipt for user operation {user_op_hash} after {waited:?}")]
    ReceiptTimeout {
        /// The operation.
        user_op_hash: B256,
        /// How long it waited.
        waited: std::time::Duration,
    },
}

impl Error {
    /// A signing backend's error, kept as the source.
    pub fn signing(e: impl std::error::Error + Send + Sync + 'static) -> Self {
        Self::Signing(Box::new(e))
    }
}
