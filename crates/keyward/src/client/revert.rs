//! Node errors and reverts turned into [`Error`]'s typed variants: the account's errors ([`Error::Keyward`]), the
//! PolicyHook's ([`Error::Policy`]), the EntryPoint's `FailedOp` ([`Error::UserOpRejected`]), other revert data
//! ([`Error::Reverted`]); the transport's error is kept as the source of [`Error::Node`].

use alloy::{primitives::Bytes, sol_types::SolInterface, transports::TransportError};

use crate::{
    Error,
    bindings::{IKeyward::IKeywardErrors, policy::IPolicyHook::IPolicyHookErrors},
    client::user_ops::IEntryPoint::IEntryPointErrors,
};

/// A node failure of `method`, with the transport's error as its source.
pub(super) fn node(method: &'static str) -> impl FnOnce(TransportError) -> Error {
    move |source| Error::Node { method, source }
}

/// The revert data an RPC error carries, if any.
#[allow(clippy::redundant_closure_for_method_calls)] // the payload type is not re-exported without `json-rpc`
pub(super) fn revert_data(e: &TransportError) -> Option<Bytes> {
    e.as_error_resp().and_then(|p| p.as_revert_data())
}

/// A failed `eth_call`, `eth_estimateGas` or send: its revert, typed, when it carries revert data; otherwise the
/// node's error.
pub(super) fn call_error(method: &'static str, e: TransportError) -> Error {
    match revert_data(&e) {
        Some(data) => from_revert_data(data),
        None => Error::Node { method, source: e },
    }
}

/// Revert data as a typed error. A failing call inside a batch (`CallFailed(reason)`) is reported as what failed
/// inside; the EntryPoint's `FailedOp` as its reason, and `FailedOpWithRevert` as the account's or the hook's own
/// error when it is one. `PaymasterRequired()` is both the account's and the PolicyHook's (same selector): it
/// decodes as the account's, and the user-operation paths attribute it (`Account::attribute`).
pub(super) fn from_revert_data(data: Bytes) -> Error {
    if let Ok(decoded) = IKeywardErrors::abi_decode(&data) {
        if let IKeywardErrors::CallFailed(inner) = &decoded
            && !inner.reason.is_empty()
        {
            return from_revert_data(inner.reason.clone());
        }
        return Error::Keyward(decoded);
    }
    if let Ok(decoded) = IPolicyHookErrors::abi_decode(&data) {
        return Error::Policy(decoded);
    }
    match IEntryPointErrors::abi_decode(&data) {
        Ok(IEntryPointErrors::FailedOp(f)) => Error::UserOpRejected(f.reason),
        // Validation reverted (e.g. "AA23 reverted"): the account's or the hook's own error, when it is one.
        Ok(IEntryPointErrors::FailedOpWithRevert(f)) => match from_revert_data(f.inner) {
            typed @ (Error::Keyward(_) | Error::Policy(_)) => typed,
            _ => Error::UserOpRejected(f.reason),
        },
        Err(_) => Error::Reverted(data),
    }
}

#[cfg(test)]
mod tests {
    use alloy::{primitives::U256, sol_types::SolError};

    use super::*;
    use crate::{
        bindings::{IKeyward, policy::IPolicyHook},
        client::user_ops::IEntryPoint,
    };

    #[test]
    fn test_from_revert_data_types_every_layer() {
        let spend = IPolicyHook::CallLimitExceeded { kind: 0, limit: U256::from(3) }.abi_encode();
        assert!(matches!(
            from_revert_data(spend.clone().into()),
            Error::Policy(IPolicyHookErrors::CallLimitExceeded(_))
        ));
        // A call inside the batch: what failed inside.
        let wrapped = IKeyward::CallFailed { reason: spend.clone().into() }.abi_encode();
        assert!(matches!(from_revert_data(wrapped.into()), Error::Policy(IPolicyHookErrors::CallLimitExceeded(_))));
        let empty = IKeyward::CallFailed { reason: Bytes::new() }.abi_encode();
        assert!(matches!(from_revert_data(empty.into()), Error::Keyward(IKeywardErrors::CallFailed(_))));
        // The EntryPoint: its reason, or the account's own error under it.
        let failed =
            IEntryPoint::FailedOp { opIndex: U256::ZERO, reason: "AA22 expired or not due".into() }.abi_encode();
        match from_revert_data(failed.into()) {
            e @ Error::UserOpRejected(_) => assert_eq!(e.kind(), crate::ErrorKind::KeyExpiredOrRevoked),
            other => panic!("{other:?}"),
        }
        let inner =
            IKeyward::GasBudgetExceeded { kind: 1, attempted: U256::from(2), limit: U256::from(1) }.abi_encode();
        let with_revert = IEntryPoint::FailedOpWithRevert {
            opIndex: U256::ZERO,
            reason: "AA23 reverted".into(),
            inner: inner.into(),
        }
        .abi_encode();
        assert!(matches!(from_revert_data(with_revert.into()), Error::Keyward(IKeywardErrors::GasBudgetExceeded(_))));
        let opaque = IEntryPoint::FailedOpWithRevert {
            opIndex: U256::ZERO,
            reason: "AA23 reverted".into(),
            inner: Bytes::from_static(&[1, 2]),
        }
        .abi_encode();
        assert!(matches!(from_revert_data(opaque.into()), Error::UserOpRejected(r) if r == "AA23 reverted"));
        assert!(matches!(from_revert_data(Bytes::from_static(&[9])), Error::Reverted(_)));
    }
}
