//! What can go wrong talking to a bundler, and a classification a caller can branch on.
//!
//! The JSON-RPC codes are ERC-7769's, as Alto 0.0.20 uses them (`ERC7769Errors` in its `types/utils`); the AA
//! code comes from the message (the EntryPoint's `FailedOp` reason, which Alto passes on), and the revert data from
//! the `data` field when a bundler sets it, else from the message (Alto writes it there as hex).

use alloy::primitives::{Bytes, hex};

pub use crate::failure::{AaCode, ErrorKind, Revert, decode_revert};

/// The bundler client's errors are the crate's one [`crate::Error`] (its `Transport`, `Http`, `Bundler`,
/// `BundlerDecode`, `ReceiptTimeout` and `Node` variants); this name is kept for code written against it.
pub type BundlerError = crate::Error;

/// JSON-RPC error codes bundlers answer with (ERC-7769; the values Alto 0.0.20 uses).
pub mod code {
    /// The request is malformed or the method unknown (Alto: a method outside its schema).
    pub const INVALID_REQUEST: i64 = -32601;
    /// Invalid fields: bad parameters, unsupported EntryPoint, a mempool conflict, a fee under the floor.
    pub const INVALID_FIELDS: i64 = -32602;
    /// Validation failed in simulation (an `AAxx` reason from the EntryPoint, a nonce Alto refuses, ...).
    pub const SIMULATE_VALIDATION: i64 = -32500;
    /// The paymaster's validation failed (AA30, AA33, AA36).
    pub const SIMULATE_PAYMASTER_VALIDATION: i64 = -32501;
    /// A banned opcode or storage access (ERC-7562), or an entity used in two roles in the mempool.
    pub const OPCODE_VALIDATION: i64 = -32502;
    /// Outside its time range: expired, expires within seconds, or not valid yet (also AA32).
    pub const EXPIRES_SHORTLY: i64 = -32503;
    /// An entity is throttled or banned (reputation).
    pub const REPUTATION: i64 = -32504;
    /// An entity's stake or unstake delay is too low.
    pub const INSUFFICIENT_STAKE: i64 = -32505;
    /// An unsupported signature aggregator (declared by Alto 0.0.20, not thrown by it).
    pub const UNSUPPORTED_AGGREGATOR: i64 = -32506;
    /// The account's signature (or the paymaster's) was refused (AA24, AA34, or `SIG_VALIDATION_FAILED`).
    pub const INVALID_SIGNATURE: i64 = -32507;
    /// The paymaster's deposit is too low (AA31).
    pub const PAYMASTER_DEPOSIT_TOO_LOW: i64 = -32508;
    /// The execution phase reverted during estimation.
    pub const USER_OPERATION_REVERTED: i64 = -32521;
    /// Internal JSON-RPC error.
    pub const INTERNAL: i64 = -32603;
}

/// Messages Alto 0.0.20 answers for a state that passes (its mempool, its fee floor, its gas checks), quoted from
/// its sources: `store/createMempoolStore`, `mempool/mempool`, `rpc/rpcHandler` and `eth_sendUserOperation`.
const TRANSIENT_MESSAGES: &[&str] = &[
    "Already known",
    "already present in mempool",
    "already being processed",
    "already has an inflight EIP-7702 authorization",
    "currently in mempool",
    "Maximum number of parallel user operations",
    "Maximum number of queued user operations",
    "bump the gas price",
    "use pimlico_getUserOperationGasPrice",
    "preVerificationGas is not enough",
];

/// A JSON-RPC error object from the bundler, with what can be read from it.
#[derive(Clone, Debug, PartialEq)]
pub struct RpcError {
    /// The method called.
    pub method: &'static str,
    /// The JSON-RPC code (see [`code`]); `None` when the bundler sent none (Alto: an internal error, HTTP 500).
    pub code: Option<i64>,
    /// The message.
    pub message: String,
    /// The `data` field, when set.
    pub data: Option<serde_json::Value>,
    /// The HTTP status of the answer.
    pub http_status: u16,
}

impl RpcError {
    /// The EntryPoint's AA code in the message, if any.
    pub fn aa_code(&self) -> Option<AaCode> {
        AaCode::parse(&self.message)
    }

    /// The revert data: the `data` field when it holds hex (or `{ revertData }` / `{ data }`), else the hex Alto
    /// writes in the message after an execution revert (-32521) or after `AAxx reverted`.
    pub fn revert_data(&self) -> Option<Bytes> {
        let from_data = match &self.data {
            Some(serde_json::Value::String(s)) => parse_hex(s),
            Some(serde_json::Value::Object(o)) => {
                o.get("revertData").or_else(|| o.get("data")).and_then(|v| v.as_str()).and_then(parse_hex)
            }
            _ => None,
        };
        from_data.or_else(|| {
            let tokens: Vec<&str> = self.message.split_whitespace().collect();
            if self.code == Some(code::USER_OPERATION_REVERTED) {
                return tokens.last().and_then(|t| parse_hex(t));
            }
            tokens
                .windows(3)
                .find_map(|w| (AaCode::parse(w[0]).is_some() && w[1] == "reverted").then(|| parse_hex(w[2])).flatten())
        })
    }

    /// The revert decoded into the account's or the PolicyHook's errors.
    pub fn revert(&self) -> Option<Revert> {
        self.revert_data().map(|d| decode_revert(&d))
    }

    /// Whether the bundler does not know the method.
    pub fn is_unsupported_method(&self) -> bool {
        matches!(self.http_status, 404 | 405)
            || self.code == Some(-32601)
            || (self.code == Some(code::INVALID_FIELDS) && self.message.starts_with("Method not supported"))
    }

    /// The classification (see [`ErrorKind`]).
    pub fn kind(&self) -> ErrorKind {
        let revert = self.revert();
        if revert.as_ref().is_some_and(Revert::is_key_unusable) {
            return ErrorKind::KeyExpiredOrRevoked;
        }
        if self.code == Some(code::USER_OPERATION_REVERTED) {
            return ErrorKind::RefusedByPolicy;
        }
        if TRANSIENT_MESSAGES.iter().any(|m| self.message.contains(m)) {
            return ErrorKind::Transient;
        }
        if let Some(aa) = self.aa_code() {
            return aa.kind();
        }
        match self.code {
            Some(code::INVALID_SIGNATURE) if self.message.to_ascii_lowercase().contains("paymaster") => {
                ErrorKind::Misuse
            }
            Some(code::INVALID_SIGNATURE | code::EXPIRES_SHORTLY) => ErrorKind::KeyExpiredOrRevoked,
            Some(code::SIMULATE_PAYMASTER_VALIDATION) => ErrorKind::RefusedByPolicy,
            // No code (Alto's internal errors), internal and server errors, throttling.
            None | Some(code::REPUTATION | code::INTERNAL | -32099..=-32000) => ErrorKind::Transient,
            Some(_) => ErrorKind::Misuse,
        }
    }
}

fn parse_hex(s: &str) -> Option<Bytes> {
    let s = s.trim_end_matches(['.', ',', ')', '"']);
    let digits = s.strip_prefix("0x")?;
    if digits.len() % 2 != 0 {
        return None;
    }
    hex::decode(digits).ok().map(Bytes::from)
}

impl std::fmt::Display for RpcError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.code {
            Some(c) => write!(f, "{} failed ({c}): {}", self.method, self.message),
            None => write!(f, "{} failed (HTTP {}): {}", self.method, self.http_status, self.message),
        }
    }
}

impl std::error::Error for RpcError {}

impl crate::Error {
    /// The bundler's JSON-RPC error, when a bundler answered with one.
    pub fn rpc(&self) -> Option<&RpcError> {
        match self {
            Self::Bundler(e) => Some(e),
            _ => None,
        }
    }

    /// The bundler's JSON-RPC code, when a bundler answered with one.
    pub fn code(&self) -> Option<i64> {
        self.rpc().and_then(|e| e.code)
    }
}

#[cfg(test)]
mod tests {
    use alloy::sol_types::SolError;

    use super::*;
    use crate::bindings::{
        IKeyward::{self, IKeywardErrors},
        policy::IPolicyHook::{self, IPolicyHookErrors},
    };

    fn rpc(code: Option<i64>, message: &str) -> RpcError {
        RpcError { method: "eth_sendUserOperation", code, message: message.into(), data: None, http_status: 200 }
    }

    #[test]
    fn classification_of_altos_messages() {
        use ErrorKind::*;
        // Messages as Alto 0.0.20 writes them.
        let cases = [
            (
                code::SIMULATE_VALIDATION,
                "UserOperation reverted during simulation with reason: AA22 expired or not due",
                KeyExpiredOrRevoked,
            ),
            (
                code::INVALID_SIGNATURE,
                "UserOperation reverted during simulation with reason: AA24 signature error",
                KeyExpiredOrRevoked,
            ),
            (code::INVALID_SIGNATURE, "Invalid UserOp signature", KeyExpiredOrRevoked),
            (code::INVALID_SIGNATURE, "Invalid UserOp paymasterData", Misuse),
            (code::EXPIRES_SHORTLY, "UserOperation expires too soon, validUntil=1, now=2", KeyExpiredOrRevoked),
            (code::EXPIRES_SHORTLY, "User operation is not valid yet, validAfter=9, now=2", KeyExpiredOrRevoked),
            (
                code::SIMULATE_VALIDATION,
                "UserOperation failed validation with reason: AA25 invalid account nonce",
                Misuse,
            ),
            (
                code::SIMULATE_VALIDATION,
                "UserOperation reverted during simulation with reason: AA21 didn't pay prefund",
                Misuse,
            ),
            (
                code::INVALID_FIELDS,
                "AA25 invalid account nonce: User operation already present in mempool, bump the gas price by minimum 10%",
                Transient,
            ),
            (code::INVALID_FIELDS, "Already known", Transient),
            (
                code::INVALID_FIELDS,
                "maxFeePerGas must be at least 10 (current maxFeePerGas: 1) - use pimlico_getUserOperationGasPrice to get the current gas price",
                Transient,
            ),
            (
                code::INVALID_FIELDS,
                "EntryPoint 0x0000000071727De22E5E9d8BAf0edAc6f37da032 not supported, supported EntryPoints: x",
                Misuse,
            ),
            (code::REPUTATION, "paymaster 0x01 is throttled by the pimlico", Transient),
            (
                code::SIMULATE_PAYMASTER_VALIDATION,
                "UserOperation reverted during simulation with reason: AA33 reverted 0x",
                RefusedByPolicy,
            ),
            (
                code::PAYMASTER_DEPOSIT_TOO_LOW,
                "UserOperation reverted during simulation with reason: AA31 paymaster deposit too low",
                Misuse,
            ),
            (
                code::SIMULATE_VALIDATION,
                "UserOperation reverted during simulation with reason: AA23 reverted 0x",
                RefusedByPolicy,
            ),
            (-32601, "Validation error: Invalid discriminator value", Misuse),
        ];
        for (c, m, kind) in cases {
            assert_eq!(rpc(Some(c), m).kind(), kind, "{c} {m}");
        }
        assert_eq!(rpc(None, "Unknown error").kind(), Transient);
    }

    #[test]
    fn execution_reverts_decode_through_the_bindings() {
        let policy = IPolicyHook::CallLimitExceeded { kind: 1, limit: alloy::primitives::U256::from(3) }.abi_encode();
        let e = rpc(
            Some(code::USER_OPERATION_REVERTED),
            &format!("UserOperation reverted during simulation with reason: {}", Bytes::from(policy)),
        );
        assert!(matches!(e.revert(), Some(Revert::Policy(IPolicyHookErrors::CallLimitExceeded(_)))));
        assert_eq!(e.kind(), ErrorKind::RefusedByPolicy);

        // The account refusing a revoked key during execution: the key, not the policy.
        let gone = IKeyward::KeyDoesNotExist {}.abi_encode();
        let e = rpc(Some(code::USER_OPERATION_REVERTED), &Bytes::from(gone).to_string());
        assert_eq!(e.kind(), ErrorKind::KeyExpiredOrRevoked);

        // AA23 with the validation's revert data after "reverted".
        let inner = IKeyward::PaymasterRequired {}.abi_encode();
        let e = rpc(
            Some(code::SIMULATE_VALIDATION),
            &format!("UserOperation reverted during simulation with reason: AA23 reverted {}", Bytes::from(inner)),
        );
        assert!(matches!(e.revert(), Some(Revert::Account(IKeywardErrors::PaymasterRequired(_)))));
        assert_eq!(e.kind(), ErrorKind::RefusedByPolicy);

        // No revert data is read out of an address in a message.
        let e = rpc(Some(code::INVALID_FIELDS), "EntryPoint 0x0000000071727De22E5E9d8BAf0edAc6f37da032 not supported");
        assert_eq!(e.revert_data(), None);

        // The `data` field wins when a bundler sets it.
        let mut e = rpc(Some(code::USER_OPERATION_REVERTED), "execution reverted");
        e.data = Some(serde_json::json!({ "revertData": "0x1234" }));
        assert_eq!(e.revert(), Some(Revert::Other(Bytes::from_static(&[0x12, 0x34]))));
    }

    #[test]
    fn unsupported_methods_are_recognized() {
        assert!(rpc(Some(-32601), "Validation error: Invalid discriminator value").is_unsupported_method());
        assert!(rpc(Some(code::INVALID_FIELDS), "Method not supported").is_unsupported_method());
        assert!(!rpc(Some(code::INVALID_FIELDS), "Already known").is_unsupported_method());
    }
}
