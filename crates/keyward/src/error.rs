use alloy::primitives::{Address, Bytes, U256};

use crate::bindings::{IKeyward::IKeywardErrors, policy::IPolicyHook::IPolicyHookErrors};

/// Everything that can go wrong in this crate.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// A settings word has reserved bits (201-207, 251-253 reserved for future flags, or 254-255) set.
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
    /// The signing backend failed.
    #[error("signing failed: {0}")]
    Signing(String),
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
    #[error("agent store: {0}")]
    Store(String),
    /// A grant or policy that cannot be built as given.
    #[error(transparent)]
    Grant(#[from] crate::grant::GrantError),
    /// An amount, duration or call spec that does not parse.
    #[error(transparent)]
    Units(#[from] crate::units::UnitsError),
    /// The RPC failed.
    #[error("rpc: {0}")]
    Rpc(String),
}
