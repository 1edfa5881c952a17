//! What a failure means and what to do about it: [`ErrorKind`] (refused by policy / key expired or revoked /
//! transient / misuse), the same on every route (`handleOps` through a node, or a bundler); [`Revert`], revert data
//! decoded into the account's or the PolicyHook's Solidity errors; [`AaCode`], the EntryPoint's `AAxx` codes.
//!
//! ```
//! use keyward::{Error, ErrorKind};
//!
//! fn what_next(e: &Error) -> &'static str {
//!     match e.kind() {
//!         ErrorKind::RefusedByPolicy => "refused: e.revert() says why; wait for the policy's next window",
//!         ErrorKind::KeyExpiredOrRevoked => "stop: ask the owner for a new grant",
//!         ErrorKind::Transient => "retry later",
//!         ErrorKind::Misuse => "a bug: fix the request",
//!     }
//! }
//! assert_eq!(what_next(&Error::ZeroFees), "a bug: fix the request");
//! ```

use alloy::{primitives::Bytes, sol_types::SolInterface};

use crate::{
    Error,
    bindings::{IKeyward::IKeywardErrors, policy::IPolicyHook::IPolicyHookErrors},
};

/// What a caller should do about an error ([`Error::kind`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ErrorKind {
    /// The account, its key's hook (e.g. the PolicyHook), a paymaster or a called contract refused what the
    /// operation does: sending it again unchanged will not help (a per-period limit may reset later).
    /// [`Error::revert`] has the decoded reason.
    RefusedByPolicy,
    /// The key cannot act for the account now: expired, not valid yet, revoked, or never registered. The account
    /// answers a wrong signature and an unknown key the same way in ERC-4337 validation (`SIG_VALIDATION_FAILED`,
    /// `AA24`), so a wrong signature lands here too; `client::Account::status` tells the cases apart.
    KeyExpiredOrRevoked,
    /// Try again later: the network, a timeout, throttling, an operation of the same nonce still in a mempool, a
    /// fee no longer accepted, a gas window that moved on.
    Transient,
    /// The request is wrong and must be fixed: invalid input, a missing fee or gas limit, a nonce the EntryPoint does
    /// not expect, an account that cannot pay its prefund, the wrong wallet, an unsupported EntryPoint.
    Misuse,
}

/// An EntryPoint error code such as `AA24` (the number only: 10 to 99).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct AaCode(pub u8);

impl AaCode {
    /// The first `AA` followed by two digits in `message`, as Alto itself finds it (`getAAError`).
    pub fn parse(message: &str) -> Option<Self> {
        let b = message.as_bytes();
        b.windows(4).enumerate().find_map(|(i, w)| {
            let boundary = i == 0 || !b[i - 1].is_ascii_alphanumeric();
            let after = b.get(i + 4).is_none_or(|c| !c.is_ascii_alphanumeric());
            (boundary && after && &w[..2] == b"AA" && w[2].is_ascii_digit() && w[3].is_ascii_digit())
                .then(|| Self((w[2] - b'0') * 10 + (w[3] - b'0')))
        })
    }

    /// The EntryPoint v0.8 reason that goes with the code (its `FailedOp` strings), or `"unknown"`.
    pub fn description(self) -> &'static str {
        match self.0 {
            10 => "sender already constructed",
            13 => "initCode failed or OOG",
            14 => "initCode must return sender",
            15 => "initCode must create sender",
            20 => "account not deployed",
            21 => "didn't pay prefund",
            22 => "expired or not due",
            23 | 33 => "reverted",
            24 | 34 => "signature error",
            25 => "invalid account nonce",
            26 => "over verificationGasLimit",
            30 => "paymaster not deployed",
            31 => "paymaster deposit too low",
            32 => "paymaster expired or not due",
            36 => "over paymasterVerificationGasLimit",
            90 => "invalid beneficiary",
            91 => "failed send to beneficiary",
            92 => "internal call only",
            93 => "invalid paymasterAndData",
            94 => "gas values overflow",
            95 => "out of gas",
            97 => "should call from EntryPoint",
            98 => "invalid paymaster",
            99 => "initCode too small",
            _ => "unknown",
        }
    }

    /// The classification of the code alone.
    pub fn kind(self) -> ErrorKind {
        match self.0 {
            // The account's time range, or its signature check (a revoked key fails it like a wrong signature).
            22 | 24 => ErrorKind::KeyExpiredOrRevoked,
            // The account's or the paymaster's validation reverted: it refused the operation.
            23 | 33 => ErrorKind::RefusedByPolicy,
            // The bundle went wrong (beneficiary, bundle gas), not the operation.
            90 | 91 | 95 => ErrorKind::Transient,
            _ => ErrorKind::Misuse,
        }
    }
}

impl std::fmt::Display for AaCode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "AA{:02}", self.0)
    }
}

/// Revert data decoded into the account's or the PolicyHook's Solidity errors.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Revert {
    /// One of the account's errors (`CallFailed(reason)` when a call in the batch reverted).
    Account(IKeywardErrors),
    /// One of the PolicyHook's errors: the key's policy refused.
    Policy(IPolicyHookErrors),
    /// Anything else (a target's own error, `Error(string)`, another hook...).
    Other(Bytes),
}

impl Revert {
    /// Whether the account reverted because the key is unknown (revoked), expired or not valid yet.
    pub fn is_key_unusable(&self) -> bool {
        matches!(
            self,
            Self::Account(
                IKeywardErrors::KeyDoesNotExist(_) | IKeywardErrors::KeyExpired(_) | IKeywardErrors::KeyNotYetValid(_)
            )
        )
    }

    /// The classification of a revert: an unusable key, or else a refusal of what the operation does, except for
    /// the account's errors that say the request itself is wrong (see [`account_error_kind`]).
    pub fn kind(&self) -> ErrorKind {
        match self {
            Self::Account(e) => account_error_kind(e),
            Self::Policy(_) | Self::Other(_) => ErrorKind::RefusedByPolicy,
        }
    }
}

/// The classification of one of the account's errors.
pub fn account_error_kind(e: &IKeywardErrors) -> ErrorKind {
    use IKeywardErrors as E;
    match e {
        // The key: unknown (revoked or never granted), outside its window, or a signature the account refuses.
        E::KeyDoesNotExist(_)
        | E::KeyExpired(_)
        | E::KeyNotYetValid(_)
        | E::Unauthorized(_)
        | E::InvalidSignature(_) => ErrorKind::KeyExpiredOrRevoked,
        // What the operation does, refused by the account's own rules or by a call in it.
        E::CallFailed(_)
        | E::OnlyAdminCanSelfCall(_)
        | E::PaymasterRequired(_)
        | E::GasBudgetExceeded(_)
        | E::AllowanceExceeded(_)
        | E::InvalidHookResponse(_)
        // The owner paused the key: refused until resumed (its agent tries again later, it is not a misuse).
        | E::KeyIsPaused(_) => ErrorKind::RefusedByPolicy,
        // The key used a later gas window since: prepare again (the client names the current one).
        E::StaleGasWindow(_) => ErrorKind::Transient,
        _ => ErrorKind::Misuse,
    }
}

/// The one decoder of revert data: the account's errors, then the PolicyHook's, both from the `sol!` bindings of
/// `contracts/interfaces` (no selector is written by hand).
pub fn decode_revert(data: &[u8]) -> Revert {
    if let Ok(e) = IKeywardErrors::abi_decode(data) {
        return Revert::Account(e);
    }
    if let Ok(e) = IPolicyHookErrors::abi_decode(data) {
        return Revert::Policy(e);
    }
    Revert::Other(Bytes::copy_from_slice(data))
}

impl Error {
    /// What to do about this error (see [`ErrorKind`]), the same whichever route an operation took.
    pub fn kind(&self) -> ErrorKind {
        match self {
            Self::Keyward(e) => account_error_kind(e),
            Self::Policy(_) | Self::Reverted(_) => ErrorKind::RefusedByPolicy,
            Self::UserOpRejected(reason) => AaCode::parse(reason).map_or(ErrorKind::Misuse, AaCode::kind),
            Self::UserOpReverted { revert, .. } => revert.as_deref().map_or(ErrorKind::RefusedByPolicy, Revert::kind),
            Self::TransactionReverted { .. } => ErrorKind::Transient,
            #[cfg(feature = "bundler")]
            Self::Node { source, .. } | Self::WalletCannotSign { source, .. } => node_error_kind(source),
            #[cfg(feature = "bundler")]
            Self::Confirmation { .. } | Self::Transport { .. } | Self::ReceiptTimeout { .. } => ErrorKind::Transient,
            #[cfg(feature = "bundler")]
            Self::Bundler(e) => e.kind(),
            #[cfg(feature = "bundler")]
            Self::Http { status, .. } if *status == 429 || *status >= 500 => ErrorKind::Transient,
            _ => ErrorKind::Misuse,
        }
    }

    /// The revert behind this error, decoded, when there is one: the account's or the PolicyHook's error (or the
    /// raw data), on either route.
    pub fn revert(&self) -> Option<Revert> {
        match self {
            Self::Keyward(e) => Some(Revert::Account(e.clone())),
            Self::Policy(e) => Some(Revert::Policy(e.clone())),
            Self::Reverted(data) => Some(decode_revert(data)),
            Self::UserOpReverted { revert, .. } => revert.as_deref().cloned(),
            #[cfg(feature = "bundler")]
            Self::Bundler(e) => e.revert(),
            _ => None,
        }
    }

    /// The EntryPoint's AA code, when the failure carries one (a `FailedOp` reason on the `handleOps` route, or a
    /// bundler's answer).
    pub fn aa_code(&self) -> Option<AaCode> {
        match self {
            Self::UserOpRejected(reason) => AaCode::parse(reason),
            #[cfg(feature = "bundler")]
            Self::Bundler(e) => e.aa_code(),
            _ => None,
        }
    }
}

/// A node's failure: no answer, a server error or throttling is transient; a JSON-RPC error answer (a transaction
/// the node refuses, a malformed request) or an answer that does not parse is misuse.
#[cfg(feature = "bundler")]
fn node_error_kind(e: &alloy::transports::TransportError) -> ErrorKind {
    use alloy::transports::RpcError;
    match e {
        RpcError::Transport(_) => ErrorKind::Transient,
        // Limits exceeded (-32005, as geth and most providers answer), rate limits, internal errors.
        RpcError::ErrorResp(p) if matches!(p.code, -32005 | -32603 | 429) => ErrorKind::Transient,
        _ => ErrorKind::Misuse,
    }
}

#[cfg(test)]
mod tests {
    use alloy::{
        primitives::{Address, B256, U256},
        sol_types::SolError,
    };

    use super::*;
    use crate::bindings::{IKeyward, policy::IPolicyHook};

    #[test]
    fn test_aa_code_parse_finds_codes_like_alto() {
        assert_eq!(
            AaCode::parse("UserOperation reverted during simulation with reason: AA21 didn't pay prefund"),
            Some(AaCode(21))
        );
        assert_eq!(AaCode::parse("AA25 invalid account nonce"), Some(AaCode(25)));
        assert_eq!(AaCode::parse("no code here, AAA12 nor AA1"), None);
        assert_eq!(AaCode(24).to_string(), "AA24");
        assert_eq!(AaCode(22).description(), "expired or not due");
    }

    #[test]
    fn test_error_kind_classifies_every_route_alike() {
        use ErrorKind::*;
        let expired = Error::Keyward(IKeywardErrors::KeyExpired(IKeyward::KeyExpired {
            expiration: alloy::primitives::aliases::U40::from(5),
        }));
        assert_eq!(expired.kind(), KeyExpiredOrRevoked);
        assert_eq!(
            Error::Keyward(IKeywardErrors::KeyDoesNotExist(IKeyward::KeyDoesNotExist {})).kind(),
            KeyExpiredOrRevoked
        );
        let spend = IPolicyHookErrors::SpendLimitExceeded(IPolicyHook::SpendLimitExceeded {
            asset: Address::ZERO,
            kind: 1,
            attempted: U256::from(2),
            limit: U256::from(1),
        });
        assert_eq!(Error::Policy(spend.clone()).kind(), RefusedByPolicy);
        assert_eq!(Error::Policy(spend.clone()).revert(), Some(Revert::Policy(spend.clone())));
        assert_eq!(Error::UserOpRejected("AA22 expired or not due".into()).kind(), KeyExpiredOrRevoked);
        assert_eq!(Error::UserOpRejected("AA24 signature error".into()).kind(), KeyExpiredOrRevoked);
        assert_eq!(Error::UserOpRejected("AA25 invalid account nonce".into()).kind(), Misuse);
        assert_eq!(Error::UserOpRejected("AA23 reverted".into()).aa_code(), Some(AaCode(23)));
        assert_eq!(Error::UserOpRejected("no code".into()).kind(), Misuse);
        // A mined operation whose execution reverted: its revert decides.
        let reverted =
            |revert| Error::UserOpReverted { user_op_hash: B256::ZERO, transaction_hash: B256::ZERO, revert };
        assert_eq!(reverted(Some(Box::new(Revert::Policy(spend)))).kind(), RefusedByPolicy);
        let gone = Revert::Account(IKeywardErrors::KeyDoesNotExist(IKeyward::KeyDoesNotExist {}));
        assert_eq!(reverted(Some(Box::new(gone))).kind(), KeyExpiredOrRevoked);
        assert_eq!(reverted(None).kind(), RefusedByPolicy);
        // Raw revert data decodes through the bindings.
        let data = IKeyward::GasBudgetExceeded { kind: 1, attempted: U256::from(9), limit: U256::from(1) }.abi_encode();
        let raw = Error::Reverted(data.into());
        assert!(matches!(raw.revert(), Some(Revert::Account(IKeywardErrors::GasBudgetExceeded(_)))));
        assert_eq!(
            Error::Keyward(IKeywardErrors::StaleGasWindow(IKeyward::StaleGasWindow {
                window: U256::ZERO,
                current: U256::from(1)
            }))
            .kind(),
            Transient
        );
        assert_eq!(Error::Keyward(IKeywardErrors::InvalidNonce(IKeyward::InvalidNonce {})).kind(), Misuse);
        // Input errors are the caller's to fix.
        assert_eq!(Error::ZeroFees.kind(), Misuse);
        assert_eq!(Error::MissingGasLimit { field: "callGasLimit" }.kind(), Misuse);
        assert_eq!(Error::WrongWallet { account: Address::ZERO, wallet: Address::repeat_byte(1) }.kind(), Misuse);
        assert_eq!(Error::TransactionReverted { tx: B256::ZERO }.kind(), Transient);
        assert_eq!(Error::InvalidContentsDescription.revert(), None);
    }

    #[test]
    fn test_decode_revert_reads_account_then_policy_errors() {
        let policy = IPolicyHook::CallLimitExceeded { kind: 1, limit: U256::from(3) }.abi_encode();
        assert!(matches!(decode_revert(&policy), Revert::Policy(IPolicyHookErrors::CallLimitExceeded(_))));
        let gone = IKeyward::KeyDoesNotExist {}.abi_encode();
        assert!(decode_revert(&gone).is_key_unusable());
        assert_eq!(decode_revert(&gone).kind(), ErrorKind::KeyExpiredOrRevoked);
        assert_eq!(decode_revert(&[1, 2, 3]), Revert::Other(Bytes::from_static(&[1, 2, 3])));
        assert_eq!(decode_revert(&[1, 2, 3]).kind(), ErrorKind::RefusedByPolicy);
    }
}
