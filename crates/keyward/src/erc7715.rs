//! ERC-7715 execution permissions (the January 2026 text, and MetaMask's `@metamask/7715-permission-types`): the
//! request and response of `wallet_requestExecutionPermissions`, the answers of
//! `wallet_getSupportedExecutionPermissions` and `wallet_getGrantedExecutionPermissions`, the parameter of
//! `wallet_revokeExecutionPermission`; and how a request becomes ONE Keyward grant batch, how a granted key reads
//! back as the same response, and how its `context` revokes it.
//!
//! - Permission types: `native-token-` and `erc20-token-` `periodic`, `allowance` and `stream`. Rules: `expiry`
//!   (the key's expiration) and `payee` (the recipient must be in the list). Anything else (another permission type,
//!   `token-approval-revocation`, the `redeemer` rule, an unknown field in a permission's or rule's `data`) is an
//!   [`Erc7715Error`] naming it, never a weaker grant.
//! - Where the ERC's example and its type disagree, both spellings are read and the type's is written:
//!   `ruleTypes` (the example writes `rulesTypes`) and `allowanceAmount` (the example writes `allowance`).
//! - Keyward never adjusts a request: whatever `isAdjustmentAllowed` says, the grant is exactly what was asked, or
//!   an error. An absent `startTime` means "from when it is granted": the mapping fixes it to the time it is given
//!   ([`GrantTarget::now`]) and the response says so.
//! - The grant: the key is the request's `to` as a secp256k1 key (the session account that redeems), under the
//!   PolicyHook: ERC-20 `transfer` on the token (to the payees only, with a `payee` rule) or plain native transfers
//!   (to the payees only, or to anyone), and the permission's cap on the asset: periodic windows anchored at
//!   `startTime`, a lifetime allowance from `startTime`, or a stream.
//! - ERC-7710: the account itself is the `delegationManager` a response names; `context` is
//!   `abi.encode(address account, bytes32 keyHash)` ([`context`]).
//!
//! ```
//! use alloy::primitives::{address, U256};
//! use keyward::erc7715::{GrantTarget, PermissionRequest};
//!
//! let json = r#"{
//!   "chainId": "0x7a69",
//!   "to": "0x00000000000000000000000000000000000000bb",
//!   "permission": {
//!     "type": "native-token-allowance",
//!     "isAdjustmentAllowed": false,
//!     "data": { "allowance": "0xde0b6b3a7640000" }
//!   },
//!   "rules": [{ "type": "expiry", "data": { "timestamp": 1900000000 } }]
//! }"#;
//! let request = PermissionRequest::from_json(json)?;
//! let target = GrantTarget {
//!     account: address!("0x00000000000000000000000000000000000000aa"),
//!     chain_id: 31_337,
//!     hook: address!("0x000000000000000000000000000000000000c01e"),
//!     now: 1_800_000_000,
//! };
//! let granted = request.to_grant(&target)?;
//! assert_eq!(granted.grant.settings.expiration(), 1_900_000_000);
//! assert_eq!(granted.response.delegation_manager, target.account);
//! // Written back in the type's spelling.
//! assert!(serde_json::to_string(&granted.response)?.contains("\"allowanceAmount\":\"0xde0b6b3a7640000\""));
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

use std::{collections::BTreeMap, fmt, time::Duration};

use alloy::{
    primitives::{Address, B256, Bytes, U256},
    sol_types::{SolCall, SolValue},
};
use serde::{Deserialize, Deserializer, Serialize};
use serde_json::{Map, Value};

use crate::{
    KeyExt, Settings,
    bindings::{
        Call, Key, KeyType,
        policy::{ConditionOp, Policy as HookPolicy, RuleState, StreamPolicy},
    },
    encode,
    grant::{Grant, GrantError, NativeCaps, Policy, SpendCaps, StreamCaps, arg},
    policy::{ANY_TARGET, EMPTY_CALLDATA},
};

/// The ERC-20 function an `erc20-token-*` permission allows, and ERC-7710's redemption entry point.
#[allow(missing_docs, unreachable_pub)]
mod abi {
    alloy::sol! {
        interface IERC20 {
            function transfer(address to, uint256 amount) external returns (bool);
        }
        interface IERC7710 {
            function redeemDelegations(
                bytes[] calldata permissionContexts,
                bytes32[] calldata modes,
                bytes[] calldata executionCallDatas
            ) external;
        }
    }
}
use abi::{IERC20, IERC7710};

/// The JSON-RPC method that asks for permissions (params: an array of [`PermissionRequest`]).
pub const REQUEST_METHOD: &str = "wallet_requestExecutionPermissions";
/// The JSON-RPC method that revokes one (params: [`RevokeExecutionPermission`]).
pub const REVOKE_METHOD: &str = "wallet_revokeExecutionPermission";
/// The JSON-RPC method that lists what the wallet supports ([`SupportedExecutionPermissions`]).
pub const SUPPORTED_METHOD: &str = "wallet_getSupportedExecutionPermissions";
/// The JSON-RPC method that lists the granted, unrevoked permissions ([`GrantedExecutionPermissions`]).
pub const GRANTED_METHOD: &str = "wallet_getGrantedExecutionPermissions";

/// The permission types Keyward grants.
pub const PERMISSION_TYPES: [&str; 6] = [
    "native-token-periodic",
    "native-token-allowance",
    "native-token-stream",
    "erc20-token-periodic",
    "erc20-token-allowance",
    "erc20-token-stream",
];

/// The rule types Keyward enforces.
pub const RULE_TYPES: [&str; 2] = ["expiry", "payee"];

/// Why a request cannot be read or granted. Each names what it is about; none is ever turned into a weaker grant.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Erc7715Error {
    /// Not JSON of the request's shape (a missing `to`, a `chainId` that is not hex, ...).
    #[error("not an ERC-7715 request")]
    Json(#[source] serde_json::Error),
    /// A permission type Keyward does not grant (`token-approval-revocation`, `erc20-token-revocation`, ...).
    #[error("permission type {permission_type:?} is not one Keyward can enforce (it grants {})", PERMISSION_TYPES.join(", "))]
    UnsupportedPermission {
        /// The type asked for.
        permission_type: String,
    },
    /// A rule type Keyward does not enforce (`redeemer`: the key is already the only redeemer; anything unknown).
    #[error("rule type {rule_type:?} is not one Keyward can enforce (it enforces {})", RULE_TYPES.join(", "))]
    UnsupportedRule {
        /// The rule asked for.
        rule_type: String,
    },
    /// A field of a permission's or rule's `data` that Keyward does not know: it could be a constraint it would
    /// drop.
    #[error("{within}: field {field:?} is not one Keyward knows, so it cannot enforce it")]
    UnsupportedField {
        /// The permission or rule type.
        within: String,
        /// The field.
        field: String,
    },
    /// A required field is missing.
    #[error("{within}: field {field:?} is required")]
    MissingField {
        /// The permission or rule type.
        within: String,
        /// The field.
        field: &'static str,
    },
    /// A field of the wrong type (an amount that is not hex, a time that is not a number, both `allowance` and
    /// `allowanceAmount`, ...).
    #[error("{within}: invalid data")]
    InvalidData {
        /// The permission or rule type.
        within: String,
        /// What serde said.
        #[source]
        source: serde_json::Error,
    },
    /// The same rule type twice.
    #[error("rule {rule_type:?} is given twice")]
    DuplicateRule {
        /// The rule type.
        rule_type: String,
    },
    /// A `payee` rule without addresses (it would allow no transfer at all).
    #[error("the payee rule lists no address")]
    EmptyPayees,
    /// The same payee twice.
    #[error("payee {payee} is listed twice")]
    DuplicatePayee {
        /// The payee.
        payee: Address,
    },
    /// The request is for another chain.
    #[error("the request is for chain {requested}, the account is on chain {chain}")]
    WrongChain {
        /// The request's `chainId`.
        requested: U256,
        /// The account's chain.
        chain: u64,
    },
    /// The request's `from` is another account.
    #[error("the request is for account {requested}, not {account}")]
    WrongAccount {
        /// The request's `from`.
        requested: Address,
        /// The account asked.
        account: Address,
    },
    /// A `to` that cannot be a session account: the zero address (nothing sends from it), or the account itself (it
    /// already holds everything as the root).
    #[error("the session account {to} cannot hold the permission: {reason}")]
    InvalidSessionAccount {
        /// The request's `to`.
        to: Address,
        /// Why.
        reason: &'static str,
    },
    /// An expiry that has already passed.
    #[error("the expiry {expiry} is not after now ({now})")]
    ExpiryNotInFuture {
        /// The rule's timestamp.
        expiry: u64,
        /// The time of the grant.
        now: u64,
    },
    /// The grant cannot be built as asked (an amount past the hook's `uint96`, a zero amount or period, more payees
    /// than the hook holds, ...).
    #[error("the permission cannot be granted exactly as asked")]
    Grant(#[from] GrantError),
    /// A `context` that is not `abi.encode(address account, bytes32 keyHash)`.
    #[error("invalid permission context ({len} bytes): {reason}")]
    InvalidContext {
        /// Its length.
        len: usize,
        /// What is wrong.
        reason: &'static str,
    },
    /// A `context` of another account.
    #[error("the context is for account {context_account}, not {account}")]
    ContextForAnotherAccount {
        /// The account the context names.
        context_account: Address,
        /// The account asked.
        account: Address,
    },
}

// ------------------------------------------------------------------------------------------------------------------
// Permissions and rules
// ------------------------------------------------------------------------------------------------------------------

/// What a permission lets the key move.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Asset {
    /// Native value (`native-token-*`).
    Native,
    /// An ERC-20 token (`erc20-token-*`, `data.tokenAddress`).
    Erc20(Address),
}

/// How much a permission lets the key move (amounts in base units).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Allowance {
    /// `*-periodic`: at most `period_amount` per window of `period_duration` seconds, windows following each other
    /// from `start_time`.
    Periodic {
        /// `periodAmount`.
        period_amount: U256,
        /// `periodDuration` (seconds).
        period_duration: u64,
        /// `startTime` (unix seconds).
        start_time: Option<u64>,
    },
    /// `*-allowance`: at most `allowance_amount` in all, from `start_time`.
    Total {
        /// `allowanceAmount` (the ERC's example: `allowance`).
        allowance_amount: U256,
        /// `startTime`.
        start_time: Option<u64>,
    },
    /// `*-stream`: `initial_amount` at `start_time`, then `amount_per_second`, never more than `max_amount` in all.
    Stream {
        /// `initialAmount`.
        initial_amount: Option<U256>,
        /// `maxAmount`.
        max_amount: Option<U256>,
        /// `amountPerSecond`.
        amount_per_second: U256,
        /// `startTime`.
        start_time: Option<u64>,
    },
}

impl Allowance {
    /// `startTime`.
    pub const fn start_time(&self) -> Option<u64> {
        match self {
            Self::Periodic { start_time, .. } | Self::Total { start_time, .. } | Self::Stream { start_time, .. } => {
                *start_time
            }
        }
    }

    const fn with_start_time(mut self, start: Option<u64>) -> Self {
        match &mut self {
            Self::Periodic { start_time, .. } | Self::Total { start_time, .. } | Self::Stream { start_time, .. } => {
                *start_time = start;
            }
        }
        self
    }

    const fn shape(&self) -> &'static str {
        match self {
            Self::Periodic { .. } => "periodic",
            Self::Total { .. } => "allowance",
            Self::Stream { .. } => "stream",
        }
    }
}

/// A permission: its type (asset and allowance), `isAdjustmentAllowed` and MetaMask's `justification`.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "RawPermission", into = "RawPermission")]
pub struct Permission {
    /// The asset.
    pub asset: Asset,
    /// The allowance.
    pub allowance: Allowance,
    /// `isAdjustmentAllowed` (Keyward never adjusts: see the module's documentation).
    pub is_adjustment_allowed: bool,
    /// `data.justification`: shown to the user, not enforced, not kept on chain.
    pub justification: Option<String>,
}

impl Permission {
    /// The ERC-7715 type, e.g. `erc20-token-periodic`.
    pub fn permission_type(&self) -> String {
        let asset = match self.asset {
            Asset::Native => "native-token",
            Asset::Erc20(_) => "erc20-token",
        };
        format!("{asset}-{}", self.allowance.shape())
    }
}

/// A rule of a request.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "RawRule", into = "RawRule")]
pub enum Rule {
    /// `expiry {timestamp}`: the key's last valid second.
    Expiry {
        /// Unix seconds.
        timestamp: u64,
    },
    /// `payee {addresses}`: the recipient of every transfer must be one of these.
    Payee {
        /// The recipients.
        addresses: Vec<Address>,
    },
}

impl Rule {
    /// The rule's type.
    pub const fn rule_type(&self) -> &'static str {
        match self {
            Self::Expiry { .. } => "expiry",
            Self::Payee { .. } => "payee",
        }
    }
}

/// One request of `wallet_requestExecutionPermissions`.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "RawRequest", into = "RawRequest")]
pub struct PermissionRequest {
    /// `chainId`.
    pub chain_id: U256,
    /// `from`: the account asked (optional).
    pub from: Option<Address>,
    /// `to`: the session account that will redeem (the key granted).
    pub to: Address,
    /// `permission`.
    pub permission: Permission,
    /// `rules` (at most one of each type).
    pub rules: Vec<Rule>,
}

/// An account to deploy before redeeming (`dependencies[]`; Keyward accounts are EIP-7702 EOAs: none).
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Dependency {
    /// `factory`.
    pub factory: Address,
    /// `factoryData`.
    pub factory_data: Bytes,
}

/// The answer to one request: the permission as granted, its `context`, the accounts to deploy first, and the
/// ERC-7710 manager that redeems it (a Keyward account is its own).
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PermissionResponse {
    /// The request as granted.
    #[serde(flatten)]
    pub request: PermissionRequest,
    /// `context`: passed to `redeemDelegations` (see [`context`]).
    pub context: Bytes,
    /// `dependencies`.
    #[serde(default)]
    pub dependencies: Vec<Dependency>,
    /// `delegationManager`: the account.
    pub delegation_manager: Address,
}

/// The parameter of `wallet_revokeExecutionPermission`.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RevokeExecutionPermission {
    /// `permissionContext`.
    pub permission_context: Bytes,
}

/// What `wallet_getSupportedExecutionPermissions` says of one permission type.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SupportedPermission {
    /// `chainIds`.
    pub chain_ids: Vec<U256>,
    /// `ruleTypes` (the ERC's example writes `rulesTypes`, read too).
    #[serde(alias = "rulesTypes")]
    pub rule_types: Vec<String>,
}

/// The answer of `wallet_getSupportedExecutionPermissions`, by permission type.
pub type SupportedExecutionPermissions = BTreeMap<String, SupportedPermission>;

/// The answer of `wallet_getGrantedExecutionPermissions`.
pub type GrantedExecutionPermissions = Vec<PermissionResponse>;

/// What Keyward supports on `chain_ids`: the six permission types, each with the `expiry` and `payee` rules.
pub fn supported(chain_ids: &[u64]) -> SupportedExecutionPermissions {
    PERMISSION_TYPES
        .iter()
        .map(|t| {
            let info = SupportedPermission {
                chain_ids: chain_ids.iter().map(|c| U256::from(*c)).collect(),
                rule_types: RULE_TYPES.iter().map(|r| (*r).to_owned()).collect(),
            };
            ((*t).to_owned(), info)
        })
        .collect()
}

// ------------------------------------------------------------------------------------------------------------------
// The JSON shapes, and their checks
// ------------------------------------------------------------------------------------------------------------------

#[derive(Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
struct RawRequest {
    chain_id: U256,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    from: Option<Address>,
    to: Address,
    permission: RawPermission,
    #[serde(default, deserialize_with = "null_as_empty")]
    rules: Vec<RawRule>,
}

#[derive(Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
struct RawPermission {
    #[serde(rename = "type")]
    kind: String,
    is_adjustment_allowed: bool,
    #[serde(default)]
    data: Map<String, Value>,
}

#[derive(Clone, Serialize, Deserialize)]
struct RawRule {
    #[serde(rename = "type")]
    kind: String,
    #[serde(default)]
    data: Map<String, Value>,
}

fn null_as_empty<'de, D: Deserializer<'de>, T: Deserialize<'de>>(d: D) -> Result<Vec<T>, D::Error> {
    Ok(Option::<Vec<T>>::deserialize(d)?.unwrap_or_default())
}

/// Every field of a permission's `data`, read leniently; which are allowed and required is checked per type.
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct PermissionData {
    #[serde(default, deserialize_with = "hex_amount")]
    period_amount: Option<U256>,
    period_duration: Option<u64>,
    #[serde(default, alias = "allowance", deserialize_with = "hex_amount")]
    allowance_amount: Option<U256>,
    #[serde(default, deserialize_with = "hex_amount")]
    initial_amount: Option<U256>,
    #[serde(default, deserialize_with = "hex_amount")]
    max_amount: Option<U256>,
    #[serde(default, deserialize_with = "hex_amount")]
    amount_per_second: Option<U256>,
    start_time: Option<u64>,
    token_address: Option<Address>,
    justification: Option<String>,
}

/// An amount as the types write it: a `0x`-prefixed hex string (a JSON number or a decimal string is refused:
/// `"100"` could be read either way).
fn hex_amount<'de, D: Deserializer<'de>>(d: D) -> Result<Option<U256>, D::Error> {
    use serde::de::Error as _;
    let Some(s) = Option::<String>::deserialize(d)? else { return Ok(None) };
    let digits = s
        .strip_prefix("0x")
        .or_else(|| s.strip_prefix("0X"))
        .filter(|d| !d.is_empty())
        .ok_or_else(|| D::Error::custom(format!("amount {s:?} is not 0x-prefixed hex")))?;
    U256::from_str_radix(digits, 16).map(Some).map_err(|e| D::Error::custom(format!("amount {s:?}: {e}")))
}

fn check_fields(within: &str, data: &Map<String, Value>, allowed: &[&str]) -> Result<(), Erc7715Error> {
    match data.keys().find(|k| !allowed.contains(&k.as_str())) {
        Some(field) => Err(Erc7715Error::UnsupportedField { within: within.to_owned(), field: field.clone() }),
        None => Ok(()),
    }
}

fn required<T>(within: &str, field: &'static str, v: Option<T>) -> Result<T, Erc7715Error> {
    v.ok_or_else(|| Erc7715Error::MissingField { within: within.to_owned(), field })
}

impl TryFrom<RawPermission> for Permission {
    type Error = Erc7715Error;

    fn try_from(raw: RawPermission) -> Result<Self, Erc7715Error> {
        let kind = raw.kind.as_str();
        let (erc20, shape) = match kind.split_once("-token-") {
            Some(("native", shape)) if ["periodic", "allowance", "stream"].contains(&shape) => (false, shape),
            Some(("erc20", shape)) if ["periodic", "allowance", "stream"].contains(&shape) => (true, shape),
            _ => return Err(Erc7715Error::UnsupportedPermission { permission_type: raw.kind }),
        };
        let mut allowed = vec!["startTime", "justification"];
        allowed.extend_from_slice(match shape {
            "periodic" => &["periodAmount", "periodDuration"][..],
            "allowance" => &["allowanceAmount", "allowance"][..],
            _ => &["initialAmount", "maxAmount", "amountPerSecond"][..],
        });
        if erc20 {
            allowed.push("tokenAddress");
        }
        check_fields(kind, &raw.data, &allowed)?;
        let d: PermissionData = serde_json::from_value(Value::Object(raw.data.clone()))
            .map_err(|source| Erc7715Error::InvalidData { within: kind.to_owned(), source })?;
        let asset = if erc20 { Asset::Erc20(required(kind, "tokenAddress", d.token_address)?) } else { Asset::Native };
        let allowance = match shape {
            "periodic" => Allowance::Periodic {
                period_amount: required(kind, "periodAmount", d.period_amount)?,
                period_duration: required(kind, "periodDuration", d.period_duration)?,
                start_time: d.start_time,
            },
            "allowance" => Allowance::Total {
                allowance_amount: required(kind, "allowanceAmount", d.allowance_amount)?,
                start_time: d.start_time,
            },
            _ => Allowance::Stream {
                initial_amount: d.initial_amount,
                max_amount: d.max_amount,
                amount_per_second: required(kind, "amountPerSecond", d.amount_per_second)?,
                start_time: d.start_time,
            },
        };
        Ok(Self { asset, allowance, is_adjustment_allowed: raw.is_adjustment_allowed, justification: d.justification })
    }
}

fn put(data: &mut Map<String, Value>, key: &str, v: impl Serialize) {
    // Serializing U256, Address, u64 and String into a JSON value cannot fail.
    data.insert(key.to_owned(), serde_json::to_value(v).unwrap_or(Value::Null));
}

impl From<Permission> for RawPermission {
    fn from(p: Permission) -> Self {
        let mut data = Map::new();
        match p.allowance {
            Allowance::Periodic { period_amount, period_duration, .. } => {
                put(&mut data, "periodAmount", period_amount);
                put(&mut data, "periodDuration", period_duration);
            }
            Allowance::Total { allowance_amount, .. } => put(&mut data, "allowanceAmount", allowance_amount),
            Allowance::Stream { initial_amount, max_amount, amount_per_second, .. } => {
                if let Some(v) = initial_amount {
                    put(&mut data, "initialAmount", v);
                }
                if let Some(v) = max_amount {
                    put(&mut data, "maxAmount", v);
                }
                put(&mut data, "amountPerSecond", amount_per_second);
            }
        }
        if let Some(t) = p.allowance.start_time() {
            put(&mut data, "startTime", t);
        }
        if let Asset::Erc20(token) = p.asset {
            put(&mut data, "tokenAddress", token);
        }
        if let Some(j) = &p.justification {
            put(&mut data, "justification", j);
        }
        Self { kind: p.permission_type(), is_adjustment_allowed: p.is_adjustment_allowed, data }
    }
}

#[derive(Deserialize)]
struct ExpiryData {
    timestamp: u64,
}

#[derive(Deserialize)]
struct PayeeData {
    addresses: Vec<Address>,
}

impl TryFrom<RawRule> for Rule {
    type Error = Erc7715Error;

    fn try_from(raw: RawRule) -> Result<Self, Erc7715Error> {
        let kind = raw.kind.as_str();
        let invalid = |source| Erc7715Error::InvalidData { within: kind.to_owned(), source };
        match kind {
            "expiry" => {
                check_fields(kind, &raw.data, &["timestamp"])?;
                if !raw.data.contains_key("timestamp") {
                    return Err(Erc7715Error::MissingField { within: kind.to_owned(), field: "timestamp" });
                }
                let d: ExpiryData = serde_json::from_value(Value::Object(raw.data.clone())).map_err(invalid)?;
                Ok(Self::Expiry { timestamp: d.timestamp })
            }
            "payee" => {
                check_fields(kind, &raw.data, &["addresses"])?;
                if !raw.data.contains_key("addresses") {
                    return Err(Erc7715Error::MissingField { within: kind.to_owned(), field: "addresses" });
                }
                let d: PayeeData = serde_json::from_value(Value::Object(raw.data.clone())).map_err(invalid)?;
                if d.addresses.is_empty() {
                    return Err(Erc7715Error::EmptyPayees);
                }
                for (i, a) in d.addresses.iter().enumerate() {
                    if d.addresses[..i].contains(a) {
                        return Err(Erc7715Error::DuplicatePayee { payee: *a });
                    }
                }
                Ok(Self::Payee { addresses: d.addresses })
            }
            _ => Err(Erc7715Error::UnsupportedRule { rule_type: raw.kind }),
        }
    }
}

impl From<Rule> for RawRule {
    fn from(r: Rule) -> Self {
        let mut data = Map::new();
        let kind = r.rule_type().to_owned();
        match r {
            Rule::Expiry { timestamp } => put(&mut data, "timestamp", timestamp),
            Rule::Payee { addresses } => put(&mut data, "addresses", addresses),
        }
        Self { kind, data }
    }
}

impl TryFrom<RawRequest> for PermissionRequest {
    type Error = Erc7715Error;

    fn try_from(raw: RawRequest) -> Result<Self, Erc7715Error> {
        let permission = Permission::try_from(raw.permission)?;
        let rules = raw.rules.into_iter().map(Rule::try_from).collect::<Result<Vec<_>, _>>()?;
        for (i, r) in rules.iter().enumerate() {
            if rules[..i].iter().any(|o| o.rule_type() == r.rule_type()) {
                return Err(Erc7715Error::DuplicateRule { rule_type: r.rule_type().to_owned() });
            }
        }
        Ok(Self { chain_id: raw.chain_id, from: raw.from, to: raw.to, permission, rules })
    }
}

impl From<PermissionRequest> for RawRequest {
    fn from(r: PermissionRequest) -> Self {
        Self {
            chain_id: r.chain_id,
            from: r.from,
            to: r.to,
            permission: r.permission.into(),
            rules: r.rules.into_iter().map(Into::into).collect(),
        }
    }
}

impl fmt::Display for PermissionRequest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} for {} on chain {}", self.permission.permission_type(), self.to, self.chain_id)
    }
}

impl PermissionRequest {
    /// One request from JSON, with typed errors (an unknown permission or rule type, an unknown field, ...).
    pub fn from_json(json: &str) -> Result<Self, Erc7715Error> {
        let raw: RawRequest = serde_json::from_str(json).map_err(Erc7715Error::Json)?;
        Self::try_from(raw)
    }

    /// The requests of `wallet_requestExecutionPermissions`' params: a JSON array of requests, or one request.
    pub fn list_from_json(json: &str) -> Result<Vec<Self>, Erc7715Error> {
        let value: Value = serde_json::from_str(json).map_err(Erc7715Error::Json)?;
        let items = match value {
            Value::Array(items) => items,
            one => vec![one],
        };
        items
            .into_iter()
            .map(|v| Self::try_from(serde_json::from_value::<RawRequest>(v).map_err(Erc7715Error::Json)?))
            .collect()
    }

    /// The `expiry` rule's timestamp.
    pub fn expiry(&self) -> Option<u64> {
        self.rules.iter().find_map(|r| match r {
            Rule::Expiry { timestamp } => Some(*timestamp),
            Rule::Payee { .. } => None,
        })
    }

    /// The `payee` rule's addresses.
    pub fn payees(&self) -> Option<&[Address]> {
        self.rules.iter().find_map(|r| match r {
            Rule::Payee { addresses } => Some(addresses.as_slice()),
            Rule::Expiry { .. } => None,
        })
    }
}

// ------------------------------------------------------------------------------------------------------------------
// Requests become grants
// ------------------------------------------------------------------------------------------------------------------

/// Where a request is granted.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct GrantTarget {
    /// The Keyward account (the EOA).
    pub account: Address,
    /// Its chain.
    pub chain_id: u64,
    /// The PolicyHook.
    pub hook: Address,
    /// The time of the grant (unix seconds): an absent `startTime` means this one, and the expiry must be later.
    pub now: u64,
}

/// A request as a grant, and the response that says what it grants.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PermissionGrant {
    /// The grant: its `calls` are the one batch the account runs (as root or an admin key).
    pub grant: Grant,
    /// The response: the request as granted (`from` set to the account, `startTime` to when it starts), its
    /// context and manager.
    pub response: PermissionResponse,
}

impl PermissionRequest {
    /// The grant that enforces this request on `target`'s account, exactly, and the response naming it; or why it
    /// cannot be granted exactly.
    pub fn to_grant(&self, target: &GrantTarget) -> Result<PermissionGrant, Erc7715Error> {
        if self.chain_id != U256::from(target.chain_id) {
            return Err(Erc7715Error::WrongChain { requested: self.chain_id, chain: target.chain_id });
        }
        if let Some(from) = self.from
            && from != target.account
        {
            return Err(Erc7715Error::WrongAccount { requested: from, account: target.account });
        }
        if self.to == Address::ZERO {
            return Err(Erc7715Error::InvalidSessionAccount {
                to: self.to,
                reason: "nothing sends from the zero address",
            });
        }
        if self.to == target.account {
            return Err(Erc7715Error::InvalidSessionAccount {
                to: self.to,
                reason: "it is the account itself, which already holds everything as the root",
            });
        }
        let start = self.permission.allowance.start_time().unwrap_or(target.now);
        let mut policy = Policy::new();
        match self.permission.asset {
            Asset::Erc20(token) => {
                policy = match self.payees() {
                    Some(p) => policy.allow_call_if::<IERC20::transferCall>(token, [arg(0).one_of(p.iter().copied())]),
                    None => policy.allow_call::<IERC20::transferCall>(token),
                };
                policy = match self.permission.allowance {
                    Allowance::Periodic { period_amount, period_duration, .. } => policy.token_limit_from(
                        token,
                        SpendCaps::periodic(period_amount, Duration::from_secs(period_duration)),
                        start,
                    ),
                    Allowance::Total { allowance_amount, .. } => {
                        policy.token_limit_from(token, SpendCaps::total(allowance_amount), start)
                    }
                    Allowance::Stream { initial_amount, max_amount, amount_per_second, .. } => policy.token_stream(
                        token,
                        StreamCaps {
                            initial_amount: initial_amount.unwrap_or_default(),
                            amount_per_second,
                            max_amount,
                            start: Some(start),
                        },
                    ),
                };
            }
            Asset::Native => {
                policy = match self.payees() {
                    Some(p) => p.iter().fold(policy, |policy, payee| policy.allow_transfers_to(*payee)),
                    None => policy.allow_transfers_to(ANY_TARGET),
                };
                policy = match self.permission.allowance {
                    Allowance::Periodic { period_amount, period_duration, .. } => policy.native_limit_from(
                        NativeCaps {
                            per_period: Some(period_amount),
                            period: Some(Duration::from_secs(period_duration)),
                            ..NativeCaps::default()
                        },
                        start,
                    ),
                    Allowance::Total { allowance_amount, .. } => policy.native_limit_from(
                        NativeCaps { lifetime: Some(allowance_amount), ..NativeCaps::default() },
                        start,
                    ),
                    Allowance::Stream { initial_amount, max_amount, amount_per_second, .. } => policy.native_stream(
                        None,
                        StreamCaps {
                            initial_amount: initial_amount.unwrap_or_default(),
                            amount_per_second,
                            max_amount,
                            start: Some(start),
                        },
                    ),
                };
            }
        }
        let builder = Grant::builder(Key::secp256k1(self.to));
        let builder = match self.expiry() {
            Some(expiry) if expiry <= target.now => {
                return Err(Erc7715Error::ExpiryNotInFuture { expiry, now: target.now });
            }
            Some(expiry) => builder.expires_at(expiry),
            None => builder.never_expires(),
        };
        let grant = builder.policy(target.hook, policy).build()?;
        let mut request = self.clone();
        request.from = Some(target.account);
        request.permission.allowance = request.permission.allowance.with_start_time(Some(start));
        let response = PermissionResponse {
            request,
            context: context(target.account, grant.key_hash),
            dependencies: Vec::new(),
            delegation_manager: target.account,
        };
        Ok(PermissionGrant { grant, response })
    }
}

// ------------------------------------------------------------------------------------------------------------------
// Context and revocation
// ------------------------------------------------------------------------------------------------------------------

/// The ERC-7710 `context` of `account`'s key `key_hash`: `abi.encode(address account, bytes32 keyHash)`. The one
/// place this encoding is written; [`parse_context`] reads it.
pub fn context(account: Address, key_hash: B256) -> Bytes {
    (account, key_hash).abi_encode_params().into()
}

/// The account and key hash a [`context`] names.
pub fn parse_context(context: &[u8]) -> Result<(Address, B256), Erc7715Error> {
    let invalid = |reason| Erc7715Error::InvalidContext { len: context.len(), reason };
    if context.len() != 64 {
        return Err(invalid("it must be abi.encode(address account, bytes32 keyHash), 64 bytes"));
    }
    if context[..12].iter().any(|b| *b != 0) {
        return Err(invalid("the account word has bits set above its 160"));
    }
    let account = Address::from_slice(&context[12..32]);
    let key_hash = B256::from_slice(&context[32..64]);
    if key_hash == B256::ZERO {
        return Err(invalid("the key hash is the root's"));
    }
    Ok((account, key_hash))
}

/// The call (from `account` to itself, run as root or an admin key) that revokes the permission `context` names:
/// `revoke(keyHash)`.
pub fn revoke_call(account: Address, context: &[u8]) -> Result<Call, Erc7715Error> {
    let (context_account, key_hash) = parse_context(context)?;
    if context_account != account {
        return Err(Erc7715Error::ContextForAnotherAccount { context_account, account });
    }
    Ok(encode::self_call(encode::revoke(key_hash)))
}

// ------------------------------------------------------------------------------------------------------------------
// ERC-7710 redemption
// ------------------------------------------------------------------------------------------------------------------

/// ERC-7579 mode: one call, default exec type (revert on failure).
pub const MODE_SINGLE: B256 = B256::ZERO;
/// ERC-7579 mode: a batch, default exec type (revert on failure).
pub const MODE_BATCH: B256 = B256::new({
    let mut m = [0u8; 32];
    m[0] = 0x01;
    m
});

/// ERC-7579 single execution: `abi.encodePacked(target, value, callData)`.
pub fn execution_single(call: &Call) -> Bytes {
    let mut out = Vec::with_capacity(52 + call.data.len());
    out.extend_from_slice(call.to.as_slice());
    out.extend_from_slice(&call.value.to_be_bytes::<32>());
    out.extend_from_slice(&call.data);
    out.into()
}

/// ERC-7579 batch execution: `abi.encode(Execution[])` (`Execution` is `(address target, uint256 value, bytes
/// callData)`, the layout of [`Call`]).
pub fn execution_batch(calls: &[Call]) -> Bytes {
    calls.to_vec().abi_encode().into()
}

/// `redeemDelegations(contexts, modes, executionCallDatas)` with one batch for one permission: what the session
/// account (the request's `to`) sends to the account, the `delegationManager`.
pub fn redeem_call_data(context: &Bytes, calls: &[Call]) -> Bytes {
    IERC7710::redeemDelegationsCall {
        permissionContexts: vec![context.clone()],
        modes: vec![MODE_BATCH],
        executionCallDatas: vec![execution_batch(calls)],
    }
    .abi_encode()
    .into()
}

// ------------------------------------------------------------------------------------------------------------------
// Granted keys read back
// ------------------------------------------------------------------------------------------------------------------

/// A key as the chain holds it: what [`response_from_chain`] reads an ERC-7715 permission from.
#[derive(Clone, Debug)]
pub struct OnChainKey<'a> {
    /// The account.
    pub account: Address,
    /// The chain.
    pub chain_id: u64,
    /// The PolicyHook the settings must name.
    pub hook: Address,
    /// The key.
    pub key: &'a Key,
    /// Its settings.
    pub settings: Settings,
    /// Its policy (`getPolicy`).
    pub policy: &'a HookPolicy,
    /// The stream of native value (`getStream(account, keyHash, 0)`).
    pub native_stream: &'a StreamPolicy,
    /// The stream of the policy's one token, if it has one (`getStream(account, keyHash, token)`).
    pub token_stream: Option<&'a StreamPolicy>,
    /// The start time of the asset's caps (the `LimitsStartSet` event; a periodic window's start moves on as
    /// windows pass, so it cannot come from the views). `None`: the current window's start.
    pub caps_start: Option<u64>,
}

fn amount(v: U256) -> Option<U256> {
    (!v.is_zero()).then_some(v)
}

fn from_stream(s: &StreamPolicy) -> Allowance {
    Allowance::Stream {
        initial_amount: amount(U256::from(s.stream.initialAmount)),
        max_amount: amount(U256::from(s.stream.maxAmount)),
        amount_per_second: U256::from(s.stream.amountPerSecond),
        start_time: Some(s.stream.startTime.to()),
    }
}

fn from_limits(l: &crate::bindings::policy::Limits, start: u64) -> Option<Allowance> {
    let (per, life, period) = (U256::from(l.perPeriod), U256::from(l.lifetime), l.period.to::<u64>());
    match (per.is_zero(), life.is_zero(), period) {
        (false, true, p) if p != 0 => {
            Some(Allowance::Periodic { period_amount: per, period_duration: p, start_time: Some(start) })
        }
        (true, false, 0) => Some(Allowance::Total { allowance_amount: life, start_time: Some(start) }),
        _ => None,
    }
}

/// The ERC-7715 permission a key holds, read from the chain; `None` when the key is not one an ERC-7715 request
/// makes (another key type, an admin key, other rules or caps, call counts, signatures, paymasters, ...).
/// `isAdjustmentAllowed` reads as false and `justification` as absent: the chain keeps neither.
pub fn response_from_chain(k: &OnChainKey<'_>) -> Option<PermissionResponse> {
    let (s, p) = (k.settings, k.policy);
    if k.key.keyType != KeyType::Secp256k1 || s.is_admin() || s.valid_after() != 0 || s.hook() != k.hook {
        return None;
    }
    let to = Address::abi_decode(&k.key.publicKey).ok()?;
    if !p.active
        || p.usage.maxCalls != 0
        || p.usage.maxPerPeriod != 0
        || p.usage.maxPerBatch != 0
        || p.signatureMode != crate::bindings::policy::SignatureMode::Off
        || !p.signatureDomains.is_empty()
        || !p.paymasters.is_empty()
    {
        return None;
    }
    let (asset, allowance, payees) = match (p.native.enabled, p.tokens.as_slice()) {
        (true, []) => {
            if p.native.perCall != 0 || p.rules.is_empty() {
                return None;
            }
            let mut targets = Vec::new();
            for r in &p.rules {
                if r.selector.0 != EMPTY_CALLDATA || r.state != RuleState::Allow || !r.conditions.is_empty() {
                    return None;
                }
                targets.push(r.target);
            }
            let payees = match targets.as_slice() {
                [ANY_TARGET] => None,
                t if t.contains(&ANY_TARGET) => return None,
                t => Some(t.to_vec()),
            };
            let allowance = if k.native_stream.streaming {
                from_stream(k.native_stream)
            } else {
                let start = k.caps_start.unwrap_or(p.native.spend.windowStart.to());
                from_limits(&p.native.limits, start)?
            };
            (Asset::Native, allowance, payees)
        }
        (false, [token]) => {
            let [rule] = p.rules.as_slice() else { return None };
            if rule.target != token.token
                || rule.selector.0 != IERC20::transferCall::SELECTOR
                || rule.state != RuleState::Allow
            {
                return None;
            }
            let payees = match rule.conditions.as_slice() {
                [] => None,
                [c] if c.op == ConditionOp::InSet && c.argIndex == 0 && c.bits == 160 => {
                    Some(c.values.iter().map(|w| Address::from_word(*w)).collect())
                }
                _ => return None,
            };
            let allowance = match k.token_stream {
                Some(s) if s.streaming => from_stream(s),
                _ => {
                    let start = k.caps_start.unwrap_or(token.spend.windowStart.to());
                    from_limits(&token.limits, start)?
                }
            };
            (Asset::Erc20(token.token), allowance, payees)
        }
        _ => return None,
    };
    let mut rules = Vec::new();
    if s.expiration() != 0 {
        rules.push(Rule::Expiry { timestamp: s.expiration() });
    }
    if let Some(addresses) = payees {
        rules.push(Rule::Payee { addresses });
    }
    let key_hash = k.key.hash();
    Some(PermissionResponse {
        request: PermissionRequest {
            chain_id: U256::from(k.chain_id),
            from: Some(k.account),
            to,
            permission: Permission { asset, allowance, is_adjustment_allowed: false, justification: None },
            rules,
        },
        context: context(k.account, key_hash),
        dependencies: Vec::new(),
        delegation_manager: k.account,
    })
}

impl PermissionResponse {
    /// This response as the chain keeps it, so as [`response_from_chain`] reads it back: `isAdjustmentAllowed`
    /// false, no `justification`, an `initialAmount` of 0 left out, the `expiry` rule before the `payee` rule.
    #[must_use]
    pub fn as_stored(&self) -> Self {
        let mut r = self.clone();
        r.request.permission.is_adjustment_allowed = false;
        r.request.permission.justification = None;
        if let Allowance::Stream { initial_amount, .. } = &mut r.request.permission.allowance
            && initial_amount.is_some_and(|v| v.is_zero())
        {
            *initial_amount = None;
        }
        r.request.rules.sort_by_key(|rule| matches!(rule, Rule::Payee { .. }));
        r
    }
}

#[cfg(test)]
#[allow(
    clippy::many_single_char_names,
    clippy::too_many_lines,
    reason = "each test reads top to bottom: a request, its grant, its refusals"
)]
mod tests {
    use super::*;
    use crate::{
        bindings::policy::IPolicyHook::IPolicyHookCalls,
        grant::{CapOf, GrantError},
    };
    use alloy::{primitives::address, sol_types::SolInterface};

    const HOOK: Address = address!("0x000000000000000000000000000000000000c01e");
    const ACCOUNT: Address = address!("0xacc0acc0acc0acc0acc0acc0acc0acc0acc0acc0");
    const SESSION: Address = address!("0x5a1e5a1e5a1e5a1e5a1e5a1e5a1e5a1e5a1e5a1e");
    const TOKEN: Address = address!("0x70c0000000000000000000000000000000000001");
    const NOW: u64 = 1_893_000_000;

    macro_rules! fixture {
        ($name:literal) => {
            include_str!(concat!("../tests/fixtures/erc7715/", $name, ".json"))
        };
    }

    fn target() -> GrantTarget {
        GrantTarget { account: ACCOUNT, chain_id: 31_337, hook: HOOK, now: NOW }
    }

    fn one(json: &str) -> PermissionRequest {
        let mut all = PermissionRequest::list_from_json(json).unwrap();
        assert_eq!(all.len(), 1);
        all.remove(0)
    }

    fn json_err(json: &str) -> Erc7715Error {
        PermissionRequest::from_json(json).expect_err("must be refused")
    }

    fn with_data(kind: &str, data: &str) -> String {
        format!(
            r#"{{"chainId":"0x7a69","to":"{SESSION}","permission":{{"type":"{kind}","isAdjustmentAllowed":false,"data":{data}}},"rules":[]}}"#
        )
    }

    fn with_rules(rules: &str) -> String {
        format!(
            r#"{{"chainId":"0x7a69","to":"{SESSION}","permission":{{"type":"native-token-allowance","isAdjustmentAllowed":false,"data":{{"allowanceAmount":"0x1"}}}},"rules":{rules}}}"#
        )
    }

    fn hook_calls(g: &PermissionGrant) -> Vec<IPolicyHookCalls> {
        g.grant.calls[1..].iter().map(|c| IPolicyHookCalls::abi_decode(&c.data).unwrap()).collect()
    }

    fn grant_err(r: &PermissionRequest) -> Erc7715Error {
        r.to_grant(&target()).expect_err("must be refused")
    }

    #[test]
    fn test_erc7715_reads_both_allowance_spellings_and_writes_the_types() {
        let erc = one(fixture!("erc-native-token-allowance"));
        let mm = PermissionRequest::from_json(&with_data("native-token-allowance", r#"{"allowanceAmount":"0x1f4"}"#))
            .unwrap();
        let amount = U256::from(500);
        assert_eq!(erc.permission.allowance, Allowance::Total { allowance_amount: amount, start_time: None });
        assert_eq!(mm.permission.allowance, erc.permission.allowance);
        let out = serde_json::to_string(&erc).unwrap();
        assert!(out.contains(r#""allowanceAmount":"0x1f4""#) && !out.contains(r#""allowance":"#), "{out}");
        // Both spellings at once: the request is ambiguous, refused.
        let both = with_data("native-token-allowance", r#"{"allowance":"0x1","allowanceAmount":"0x2"}"#);
        assert!(
            matches!(json_err(&both), Erc7715Error::InvalidData { within, .. } if within == "native-token-allowance")
        );
    }

    #[test]
    fn test_erc7715_supported_reads_rules_types_and_writes_rule_types() {
        let s: SupportedExecutionPermissions = serde_json::from_str(fixture!("erc-supported")).unwrap();
        assert_eq!(s["native-token-allowance"].rule_types, ["expiry"]);
        assert_eq!(s["native-token-allowance"].chain_ids, [U256::from(1), U256::from(31_337)]);
        assert_eq!(s["erc20-token-periodic"].rule_types, ["expiry", "payee"]);
        let out = serde_json::to_string(&s).unwrap();
        assert!(out.contains("\"ruleTypes\"") && !out.contains("rulesTypes"), "{out}");
        let ours = supported(&[31_337]);
        assert_eq!(ours.len(), 6);
        assert_eq!(ours["erc20-token-stream"].chain_ids, [U256::from(31_337)]);
        assert_eq!(ours["erc20-token-stream"].rule_types, ["expiry", "payee"]);
        let out = serde_json::to_value(&ours).unwrap();
        assert_eq!(out["native-token-periodic"]["chainIds"][0], "0x7a69");
    }

    #[test]
    fn test_erc7715_fixtures_parse_and_round_trip_through_json() {
        for json in [
            fixture!("erc-native-token-allowance"),
            fixture!("metamask-native-token-periodic"),
            fixture!("metamask-native-token-stream"),
            fixture!("metamask-erc20-token-periodic"),
            fixture!("metamask-erc20-token-allowance"),
            fixture!("metamask-erc20-token-stream"),
        ] {
            let r = one(json);
            let again = PermissionRequest::from_json(&serde_json::to_string(&r).unwrap()).unwrap();
            assert_eq!(again, r);
            assert_eq!(serde_json::from_str::<PermissionRequest>(&serde_json::to_string(&r).unwrap()).unwrap(), r);
        }
        let p = one(fixture!("metamask-native-token-periodic"));
        assert_eq!(p.from, Some(ACCOUNT));
        assert_eq!(p.permission.justification.as_deref(), Some("Pay the weekly subscription"));
        assert_eq!(p.expiry(), Some(1_893_456_000));
        assert_eq!(p.payees(), Some(&[Address::with_last_byte(0xb1)][..]));
        let s = one(fixture!("metamask-erc20-token-stream"));
        assert_eq!(s.permission.asset, Asset::Erc20(TOKEN));
        assert_eq!(
            s.permission.allowance,
            Allowance::Stream {
                initial_amount: Some(U256::ZERO),
                max_amount: Some(U256::from(500)),
                amount_per_second: U256::from(5),
                start_time: Some(1_893_400_000),
            }
        );
        // A response: the request's fields beside context, dependencies and manager.
        let g = p.to_grant(&target()).unwrap();
        let json = serde_json::to_value(&g.response).unwrap();
        assert_eq!(json["delegationManager"], serde_json::to_value(ACCOUNT).unwrap());
        assert_eq!(json["dependencies"], serde_json::json!([]));
        assert_eq!(json["permission"]["type"], "native-token-periodic");
        assert_eq!(serde_json::from_value::<PermissionResponse>(json).unwrap(), g.response);
        // Rules may be null or absent (older MetaMask types).
        let no_rules = with_rules("null");
        assert!(PermissionRequest::from_json(&no_rules).unwrap().rules.is_empty());
    }

    #[test]
    fn test_erc7715_refuses_permission_types_it_cannot_enforce() {
        let e = json_err(fixture!("metamask-token-approval-revocation"));
        assert!(
            matches!(&e, Erc7715Error::UnsupportedPermission { permission_type } if permission_type == "token-approval-revocation")
        );
        assert!(e.to_string().contains("token-approval-revocation"), "{e}");
        for kind in ["erc20-token-revocation", "native-token-transfer", "erc721-token-periodic", "erc20-token-", "x"] {
            assert!(
                matches!(json_err(&with_data(kind, "{}")), Erc7715Error::UnsupportedPermission { permission_type } if permission_type == kind),
                "{kind}"
            );
        }
        assert!(matches!(json_err("{\"chainId\":1}"), Erc7715Error::Json(_)));
    }

    #[test]
    fn test_erc7715_refuses_rules_it_cannot_enforce() {
        let e = json_err(fixture!("metamask-redeemer-rule"));
        assert!(matches!(&e, Erc7715Error::UnsupportedRule { rule_type } if rule_type == "redeemer"));
        assert!(e.to_string().contains("redeemer"));
        let e = json_err(&with_rules(r#"[{"type":"gas-limit","data":{"limit":"0x1"}}]"#));
        assert!(matches!(e, Erc7715Error::UnsupportedRule { rule_type } if rule_type == "gas-limit"));
        let twice = r#"[{"type":"expiry","data":{"timestamp":1}},{"type":"expiry","data":{"timestamp":2}}]"#;
        assert!(
            matches!(json_err(&with_rules(twice)), Erc7715Error::DuplicateRule { rule_type } if rule_type == "expiry")
        );
        let b1 = Address::with_last_byte(0xb1);
        let dup = format!(r#"[{{"type":"payee","data":{{"addresses":["{b1}","{b1}"]}}}}]"#);
        assert!(matches!(json_err(&with_rules(&dup)), Erc7715Error::DuplicatePayee { payee } if payee == b1));
        let empty = r#"[{"type":"payee","data":{"addresses":[]}}]"#;
        assert!(matches!(json_err(&with_rules(empty)), Erc7715Error::EmptyPayees));
        let extra = r#"[{"type":"expiry","data":{"timestamp":1,"grace":5}}]"#;
        assert!(
            matches!(json_err(&with_rules(extra)), Erc7715Error::UnsupportedField { within, field } if within == "expiry" && field == "grace")
        );
        let missing = r#"[{"type":"expiry","data":{}}]"#;
        assert!(matches!(json_err(&with_rules(missing)), Erc7715Error::MissingField { field: "timestamp", .. }));
        let bad = r#"[{"type":"expiry","data":{"timestamp":"soon"}}]"#;
        assert!(matches!(json_err(&with_rules(bad)), Erc7715Error::InvalidData { .. }));
    }

    #[test]
    fn test_erc7715_refuses_unknown_missing_and_malformed_fields() {
        let unknown = |kind: &str, data: &str, field: &str| {
            let e = json_err(&with_data(kind, data));
            assert!(
                matches!(&e, Erc7715Error::UnsupportedField { within, field: f } if within == kind && f == field),
                "{kind} {data}: {e:?}"
            );
        };
        // A constraint Keyward does not know would be dropped: refused, named.
        unknown("native-token-periodic", r#"{"periodAmount":"0x1","periodDuration":1,"maxCalls":3}"#, "maxCalls");
        // A token address on a native permission.
        unknown(
            "native-token-allowance",
            &format!(r#"{{"allowanceAmount":"0x1","tokenAddress":"{TOKEN}"}}"#),
            "tokenAddress",
        );
        // Fields of another shape.
        unknown(
            "erc20-token-allowance",
            &format!(r#"{{"periodAmount":"0x1","tokenAddress":"{TOKEN}"}}"#),
            "periodAmount",
        );
        unknown("native-token-stream", r#"{"amountPerSecond":"0x1","allowance":"0x1"}"#, "allowance");
        let missing = |kind: &str, data: &str, field: &str| {
            let e = json_err(&with_data(kind, data));
            assert!(matches!(&e, Erc7715Error::MissingField { field: f, .. } if *f == field), "{kind}: {e:?}");
        };
        missing("erc20-token-periodic", r#"{"periodAmount":"0x1","periodDuration":1}"#, "tokenAddress");
        missing("native-token-periodic", r#"{"periodDuration":1}"#, "periodAmount");
        missing("native-token-periodic", r#"{"periodAmount":"0x1"}"#, "periodDuration");
        missing("native-token-allowance", "{}", "allowanceAmount");
        missing("native-token-stream", r#"{"initialAmount":"0x1"}"#, "amountPerSecond");
        for data in [
            r#"{"allowanceAmount":12}"#,
            r#"{"allowanceAmount":"12"}"#,
            r#"{"allowanceAmount":"0x"}"#,
            r#"{"allowanceAmount":"0x1","startTime":-1}"#,
            r#"{"allowanceAmount":"0x1","startTime":"0x5"}"#,
        ] {
            assert!(matches!(json_err(&with_data("native-token-allowance", data)), Erc7715Error::InvalidData { .. }));
        }
        let e = json_err(&with_data("native-token-allowance", r#"{"allowanceAmount":"lots"}"#));
        assert!(std::error::Error::source(&e).is_some(), "the serde error is kept as the source");
    }

    #[test]
    fn test_erc7715_maps_each_type_to_one_exact_grant_batch() {
        let g = one(fixture!("metamask-erc20-token-periodic")).to_grant(&target()).unwrap();
        assert_eq!(g.grant.key, Key::secp256k1(SESSION));
        assert_eq!((g.grant.settings.hook(), g.grant.settings.expiration()), (HOOK, 1_893_456_000));
        assert!(!g.grant.settings.is_admin());
        let calls = hook_calls(&g);
        let [
            IPolicyHookCalls::setCallRule(r),
            IPolicyHookCalls::setConditions(c),
            IPolicyHookCalls::setTokenLimitFrom(l),
        ] = calls.as_slice()
        else {
            panic!("{calls:?}")
        };
        assert_eq!((r.target, r.selector.0, r.state), (TOKEN, IERC20::transferCall::SELECTOR, RuleState::Allow));
        assert_eq!((c.conditions[0].op, c.conditions[0].argIndex, c.conditions[0].bits), (ConditionOp::InSet, 0, 160));
        let payees = [Address::with_last_byte(0xb1), Address::with_last_byte(0xb2)].map(|a| a.into_word());
        assert_eq!(c.conditions[0].values, payees);
        assert_eq!((l.token, l.startTime.to::<u64>()), (TOKEN, 1_893_400_000));
        assert_eq!(
            (l.limits.perPeriod.to::<u64>(), l.limits.period.to::<u64>(), l.limits.lifetime.to::<u64>()),
            (10_000, 86_400, 0)
        );

        let g = one(fixture!("metamask-erc20-token-stream")).to_grant(&target()).unwrap();
        let calls = hook_calls(&g);
        let [IPolicyHookCalls::setCallRule(r), IPolicyHookCalls::setTokenStream(s)] = calls.as_slice() else {
            panic!("{calls:?}")
        };
        assert_eq!(r.target, TOKEN);
        assert_eq!(
            (s.stream.initialAmount.to::<u64>(), s.stream.amountPerSecond.to::<u64>(), s.stream.maxAmount.to::<u64>()),
            (0, 5, 500)
        );
        assert_eq!(s.stream.startTime.to::<u64>(), 1_893_400_000);

        let g = one(fixture!("metamask-erc20-token-allowance")).to_grant(&target()).unwrap();
        let calls = hook_calls(&g);
        let [IPolicyHookCalls::setCallRule(_), IPolicyHookCalls::setTokenLimitFrom(l)] = calls.as_slice() else {
            panic!("{calls:?}")
        };
        // No startTime: from the time of the grant, and the response says so.
        assert_eq!(
            (l.limits.lifetime.to::<u64>(), l.limits.perPeriod.to::<u64>(), l.startTime.to::<u64>()),
            (1_000, 0, NOW)
        );
        assert_eq!(g.response.request.permission.allowance.start_time(), Some(NOW));
        assert_eq!(g.response.request.from, Some(ACCOUNT));

        let g = one(fixture!("metamask-native-token-periodic")).to_grant(&target()).unwrap();
        let calls = hook_calls(&g);
        let [IPolicyHookCalls::setCallRule(r), IPolicyHookCalls::setNativeLimitsFrom(n)] = calls.as_slice() else {
            panic!("{calls:?}")
        };
        assert_eq!((r.target, r.selector.0), (Address::with_last_byte(0xb1), EMPTY_CALLDATA));
        assert!(n.enabled && n.perCall == 0);
        assert_eq!(
            (n.limits.perPeriod.to::<u64>(), n.limits.period.to::<u64>(), n.startTime.to::<u64>()),
            (1_000, 3_600, 1_893_400_000)
        );

        let g = one(fixture!("metamask-native-token-stream")).to_grant(&target()).unwrap();
        let calls = hook_calls(&g);
        let [IPolicyHookCalls::setCallRule(r), IPolicyHookCalls::setNativeStream(s)] = calls.as_slice() else {
            panic!("{calls:?}")
        };
        // No payee rule: plain transfers to anyone.
        assert_eq!((r.target, r.selector.0), (ANY_TARGET, EMPTY_CALLDATA));
        assert_eq!((s.perCall, s.stream.initialAmount.to::<u64>(), s.stream.maxAmount.to::<u64>()), (0, 100, 1_000));

        let g = one(fixture!("erc-native-token-allowance")).to_grant(&target()).unwrap();
        let calls = hook_calls(&g);
        let [IPolicyHookCalls::setCallRule(_), IPolicyHookCalls::setNativeLimitsFrom(n)] = calls.as_slice() else {
            panic!("{calls:?}")
        };
        assert_eq!((n.limits.lifetime.to::<u64>(), n.limits.period.to::<u64>()), (500, 0));
        assert_eq!(g.response.context, context(ACCOUNT, g.grant.key_hash));
    }

    #[test]
    fn test_erc7715_grants_exactly_or_refuses_whatever_adjustment_allows() {
        let base = one(fixture!("metamask-native-token-stream"));
        assert!(base.permission.is_adjustment_allowed);
        let mut r = base.clone();
        r.chain_id = U256::from(1);
        assert!(matches!(grant_err(&r), Erc7715Error::WrongChain { chain: 31_337, .. }));
        let mut r = base.clone();
        r.from = Some(Address::with_last_byte(9));
        assert!(matches!(grant_err(&r), Erc7715Error::WrongAccount { account: ACCOUNT, .. }));
        for to in [Address::ZERO, ACCOUNT] {
            let mut r = base.clone();
            r.to = to;
            assert!(matches!(grant_err(&r), Erc7715Error::InvalidSessionAccount { to: t, .. } if t == to));
        }
        // Expiry: at now refused, one second later granted.
        let expiring = |t| {
            let mut r = base.clone();
            r.rules = vec![Rule::Expiry { timestamp: t }];
            r
        };
        assert!(matches!(grant_err(&expiring(NOW)), Erc7715Error::ExpiryNotInFuture { expiry: NOW, now: NOW }));
        assert_eq!(expiring(NOW + 1).to_grant(&target()).unwrap().grant.settings.expiration(), NOW + 1);
        // No expiry rule: a key that never expires, said explicitly.
        let mut r = base.clone();
        r.rules.clear();
        assert_eq!(r.to_grant(&target()).unwrap().grant.settings.expiration(), 0);

        let stream = |initial: Option<u64>, max: Option<U256>, rate: u64| {
            let mut r = base.clone();
            r.permission.allowance = Allowance::Stream {
                initial_amount: initial.map(U256::from),
                max_amount: max,
                amount_per_second: U256::from(rate),
                start_time: None,
            };
            r
        };
        let over96 = U256::from(1) << 96;
        let max96 = over96 - U256::from(1);
        let g = |e: Erc7715Error| match e {
            Erc7715Error::Grant(g) => g,
            other => panic!("{other:?}"),
        };
        let n = CapOf::Native;
        assert!(stream(None, Some(max96), 1).to_grant(&target()).is_ok());
        assert_eq!(
            g(grant_err(&stream(None, Some(over96), 1))),
            GrantError::CapTooLarge { cap: n, field: "max_amount", value: over96, max: max96 }
        );
        assert_eq!(
            g(grant_err(&stream(None, Some(U256::ZERO), 1))),
            GrantError::ZeroCap { cap: n, field: "max_amount" }
        );
        assert_eq!(
            g(grant_err(&stream(Some(10), Some(U256::from(9)), 1))),
            GrantError::StreamMaxBelowInitial { cap: n, initial: U256::from(10), max: U256::from(9) }
        );
        assert!(stream(Some(10), Some(U256::from(10)), 0).to_grant(&target()).is_ok());
        assert_eq!(g(grant_err(&stream(Some(0), None, 0))), GrantError::EmptyStream { cap: n });

        let erc20 = one(fixture!("metamask-erc20-token-periodic"));
        let periodic = |amount: U256, duration: u64| {
            let mut r = erc20.clone();
            r.permission.allowance =
                Allowance::Periodic { period_amount: amount, period_duration: duration, start_time: Some(NOW) };
            r
        };
        let t = CapOf::Token(TOKEN);
        assert!(periodic(max96, 1).to_grant(&target()).is_ok());
        assert_eq!(
            g(grant_err(&periodic(over96, 1))),
            GrantError::CapTooLarge { cap: t, field: "per_period", value: over96, max: max96 }
        );
        assert_eq!(g(grant_err(&periodic(U256::ZERO, 1))), GrantError::ZeroCap { cap: t, field: "per_period" });
        assert!(matches!(
            g(grant_err(&periodic(U256::from(1), 0))),
            GrantError::InvalidPeriod { reason: "is zero", .. }
        ));
        let mut r = periodic(U256::from(1), 1);
        r.permission.allowance = r.permission.allowance.with_start_time(Some(1 << 40));
        assert_eq!(g(grant_err(&r)), GrantError::TimeOutOfRange { field: "startTime", value: 1 << 40 });
        r.permission.allowance = r.permission.allowance.with_start_time(Some(0));
        assert_eq!(g(grant_err(&r)), GrantError::ZeroStartTime);
        let mut r = erc20.clone();
        r.permission.asset = Asset::Erc20(Address::ZERO);
        assert!(matches!(g(grant_err(&r)), GrantError::InvalidToken { .. }));
        // Payees: 8 fit one condition, 9 do not (the hook's InSet bound): refused, not truncated.
        let payees = |n: u8| {
            let mut r = erc20.clone();
            r.rules = vec![Rule::Payee { addresses: (1..=n).map(Address::with_last_byte).collect() }];
            r
        };
        assert!(payees(8).to_grant(&target()).is_ok());
        assert!(matches!(g(grant_err(&payees(9))), GrantError::TooMany { max: 8, got: 9, .. }));
        let mut native = payees(65);
        native.permission = base.permission.clone();
        assert!(matches!(g(grant_err(&native)), GrantError::TooMany { what: "call rules", max: 64, got: 65 }));
        // isAdjustmentAllowed changes nothing: the same batch either way.
        let mut strict = base.clone();
        strict.permission.is_adjustment_allowed = false;
        assert_eq!(strict.to_grant(&target()).unwrap().grant, base.to_grant(&target()).unwrap().grant);
        let e = grant_err(&periodic(U256::ZERO, 1));
        assert!(std::error::Error::source(&e).is_some(), "the grant error is kept as the source");
    }

    /// The chain's state after granting `r` (what the hook's views would answer), before any spending.
    fn on_chain(g: &PermissionGrant) -> (HookPolicy, StreamPolicy, Option<StreamPolicy>) {
        use crate::bindings::policy::{CallRule, Limits, NativePolicy, Spend, Stream, TokenPolicy};
        let mut p = HookPolicy {
            active: true,
            rules: Vec::new(),
            native: NativePolicy::default(),
            tokens: Vec::new(),
            usage: crate::bindings::policy::UsagePolicy::default(),
            signatureMode: crate::bindings::policy::SignatureMode::Off,
            signatureDomains: Vec::new(),
            paymasters: Vec::new(),
        };
        let (mut native_stream, mut token_stream) = (StreamPolicy::default(), None);
        let spend = |start: alloy::primitives::aliases::U40| Spend { windowStart: start, ..Spend::default() };
        for call in hook_calls(g) {
            match call {
                IPolicyHookCalls::setCallRule(r) => p.rules.push(CallRule {
                    target: r.target,
                    selector: r.selector,
                    state: r.state,
                    conditions: Vec::new(),
                }),
                IPolicyHookCalls::setConditions(c) => {
                    p.rules.last_mut().unwrap().conditions = c.conditions;
                }
                IPolicyHookCalls::setTokenLimitFrom(t) => {
                    p.tokens.push(TokenPolicy { token: t.token, limits: t.limits, spend: spend(t.startTime) });
                }
                IPolicyHookCalls::setTokenStream(t) => {
                    p.tokens.push(TokenPolicy {
                        token: t.token,
                        limits: Limits { lifetime: t.stream.maxAmount, ..Limits::default() },
                        spend: spend(t.stream.startTime),
                    });
                    token_stream = Some(StreamPolicy { streaming: true, stream: t.stream, ..StreamPolicy::default() });
                }
                IPolicyHookCalls::setNativeLimitsFrom(n) => {
                    p.native =
                        NativePolicy { enabled: true, perCall: n.perCall, limits: n.limits, spend: spend(n.startTime) };
                }
                IPolicyHookCalls::setNativeStream(n) => {
                    p.native = NativePolicy { enabled: true, perCall: n.perCall, ..NativePolicy::default() };
                    let stream = Stream { ..n.stream };
                    native_stream = StreamPolicy { streaming: true, stream, ..StreamPolicy::default() };
                }
                other => panic!("{other:?}"),
            }
        }
        if p.tokens.is_empty() {
            token_stream = None;
        } else if token_stream.is_none() {
            token_stream = Some(StreamPolicy::default());
        }
        (p, native_stream, token_stream)
    }

    fn read(
        g: &PermissionGrant,
        settings: Settings,
        key: &Key,
        p: &HookPolicy,
        n: &StreamPolicy,
        t: Option<&StreamPolicy>,
    ) -> Option<PermissionResponse> {
        response_from_chain(&OnChainKey {
            account: ACCOUNT,
            chain_id: 31_337,
            hook: HOOK,
            key,
            settings,
            policy: p,
            native_stream: n,
            token_stream: t,
            caps_start: g.response.request.permission.allowance.start_time(),
        })
    }

    #[test]
    fn test_erc7715_reads_back_each_type_and_only_its_shapes() {
        for json in [
            fixture!("erc-native-token-allowance"),
            fixture!("metamask-native-token-periodic"),
            fixture!("metamask-native-token-stream"),
            fixture!("metamask-erc20-token-periodic"),
            fixture!("metamask-erc20-token-allowance"),
            fixture!("metamask-erc20-token-stream"),
        ] {
            let g = one(json).to_grant(&target()).unwrap();
            let (p, n, t) = on_chain(&g);
            let key = &g.grant.key;
            let s = g.grant.settings;
            let back = read(&g, s, key, &p, &n, t.as_ref());
            assert_eq!(back, Some(g.response.as_stored()), "{json}");
            // Not an ERC-7715 grant: each of these is left out rather than misread.
            let not = |s: Settings, key: &Key, p: &HookPolicy| read(&g, s, key, p, &n, t.as_ref()).is_none();
            let b = || Settings::builder().expires_at(s.expiration()).policy_hook(HOOK);
            assert!(not(b().admin(true).build().unwrap(), key, &p), "admin");
            assert!(not(b().valid_after(1).build().unwrap(), key, &p), "validAfter");
            let other = Settings::builder().expires_at(s.expiration()).hook(Address::with_last_byte(0x3e)).build();
            assert!(not(other.unwrap(), key, &p), "another hook");
            assert!(not(s, &Key::p256(U256::from(1), U256::from(2)), &p), "a P256 key");
            let mut q = p.clone();
            q.usage.maxCalls = 3;
            assert!(not(s, key, &q), "call counts");
            let mut q = p.clone();
            q.paymasters = vec![Address::with_last_byte(7)];
            assert!(not(s, key, &q), "paymasters");
            let mut q = p.clone();
            q.signatureMode = crate::bindings::policy::SignatureMode::Any;
            assert!(not(s, key, &q), "signatures");
            let mut q = p.clone();
            q.rules.push(q.rules[0].clone());
            q.rules.last_mut().unwrap().target = Address::with_last_byte(0x99);
            q.rules.last_mut().unwrap().selector = alloy::primitives::FixedBytes([1, 2, 3, 4]);
            assert!(not(s, key, &q), "another rule");
            let mut q = p.clone();
            q.active = false;
            assert!(not(s, key, &q), "inactive");
            let mut q = p.clone();
            if q.tokens.is_empty() {
                q.native.perCall = 1;
                assert!(not(s, key, &q), "a per-call cap");
                let mut q = p.clone();
                q.tokens.push(crate::bindings::policy::TokenPolicy { token: TOKEN, ..Default::default() });
                assert!(not(s, key, &q), "native and a token");
            } else {
                q.native.enabled = true;
                assert!(not(s, key, &q), "a token and native value");
                let mut q = p.clone();
                q.rules[0].conditions = vec![crate::policy::uint_condition(ConditionOp::LessOrEqual, 1, U256::from(5))];
                assert!(not(s, key, &q), "a condition on the amount");
            }
        }
    }

    #[test]
    fn test_erc7715_redemption_encodes_erc7579_executions() {
        let call = Call { to: TOKEN, value: U256::from(7), data: Bytes::from_static(&[0xa9, 0x05, 0x9c, 0xbb, 1]) };
        let single = execution_single(&call);
        assert_eq!(single.len(), 20 + 32 + 5);
        assert_eq!(
            (&single[..20], U256::from_be_slice(&single[20..52]), &single[52..]),
            (TOKEN.as_slice(), U256::from(7), &call.data[..])
        );
        let batch = execution_batch(&[call.clone(), call.clone()]);
        // abi.encode(Execution[]): the offset of the array first, as the account reads it.
        assert_eq!(U256::from_be_slice(&batch[..32]), U256::from(32));
        assert_eq!(U256::from_be_slice(&batch[32..64]), U256::from(2));
        assert_eq!(<Vec<Call>>::abi_decode(&batch).unwrap(), vec![call.clone(), call.clone()]);
        let c = context(ACCOUNT, B256::repeat_byte(3));
        let data = redeem_call_data(&c, std::slice::from_ref(&call));
        assert_eq!(data[..4], alloy::primitives::keccak256("redeemDelegations(bytes[],bytes32[],bytes[])")[..4]);
        let decoded = IERC7710::redeemDelegationsCall::abi_decode(&data).unwrap();
        assert_eq!(decoded.permissionContexts, [c]);
        assert_eq!(decoded.modes, [MODE_BATCH]);
        assert_eq!(MODE_BATCH[0], 1);
        assert!(MODE_BATCH[1..].iter().all(|b| *b == 0));
        assert_eq!(decoded.executionCallDatas, [execution_batch(&[call])]);
    }

    #[test]
    fn test_erc7715_context_names_the_key_and_revokes_it() {
        let kh = B256::repeat_byte(0x42);
        let c = context(ACCOUNT, kh);
        assert_eq!(c.len(), 64);
        assert_eq!(c, (ACCOUNT, kh).abi_encode().into_iter().collect::<Bytes>());
        assert_eq!(parse_context(&c).unwrap(), (ACCOUNT, kh));
        let call = revoke_call(ACCOUNT, &c).unwrap();
        assert_eq!(call, encode::self_call(encode::revoke(kh)));
        assert!(matches!(
            revoke_call(Address::with_last_byte(1), &c),
            Err(Erc7715Error::ContextForAnotherAccount { context_account: ACCOUNT, .. })
        ));
        assert!(matches!(parse_context(&c[..63]), Err(Erc7715Error::InvalidContext { len: 63, .. })));
        let mut longer = c.to_vec();
        longer.push(0);
        assert!(matches!(parse_context(&longer), Err(Erc7715Error::InvalidContext { len: 65, .. })));
        let mut dirty = c.to_vec();
        dirty[0] = 1;
        assert!(matches!(parse_context(&dirty), Err(Erc7715Error::InvalidContext { .. })));
        assert!(matches!(parse_context(&context(ACCOUNT, B256::ZERO)), Err(Erc7715Error::InvalidContext { .. })));
        let revoke: RevokeExecutionPermission =
            serde_json::from_str(&format!(r#"{{"permissionContext":"{c}"}}"#)).unwrap();
        assert_eq!(revoke.permission_context, c);
    }

    #[test]
    fn test_erc7715_as_stored_keeps_only_what_the_chain_holds() {
        let g = one(fixture!("metamask-erc20-token-stream")).to_grant(&target()).unwrap();
        let mut r = g.response.clone();
        r.request.rules.reverse();
        let stored = r.as_stored();
        assert!(!stored.request.permission.is_adjustment_allowed && stored.request.permission.justification.is_none());
        assert!(matches!(stored.request.permission.allowance, Allowance::Stream { initial_amount: None, .. }));
        assert!(matches!(stored.request.rules[0], Rule::Expiry { .. }));
    }
}
