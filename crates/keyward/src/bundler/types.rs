//! The JSON a bundler takes and gives for EntryPoint v0.8 (and v0.9): the unpacked user operation, gas estimates,
//! fee tiers, receipts. Field names and encodings are the ones Alto validates (`hex` quantities, `0x`-prefixed
//! data, `"0x7702"` as the EIP-7702 factory marker); optional fields are left out when unset.

use alloy::{
    eips::eip7702::SignedAuthorization,
    primitives::{Address, B256, Bytes, U256},
};
use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::{
    bindings::PackedUserOperation,
    bundler::error::{Revert, decode_revert},
    userop,
};

/// The EIP-7702 `initCode` marker: `0x7702` padded with zeros to 20 bytes (EntryPoint v0.8+).
pub const EIP7702_MARKER: Address = Address::new([0x77, 0x02, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0]);

/// The v0.9 magic that ends a `paymasterAndData` carrying a `paymasterSignature`.
pub const PAYMASTER_SIG_MAGIC: [u8; 8] = [0x22, 0xe3, 0x25, 0xa2, 0x97, 0x43, 0x96, 0x56];

/// `factory` of an unpacked user operation.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Factory {
    /// A factory contract that deploys the sender.
    Contract(Address),
    /// The EIP-7702 marker (`"0x7702"` in JSON): the sender is an EOA delegated by `eip7702Auth` (or already).
    Eip7702,
}

impl Serialize for Factory {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self {
            Self::Contract(a) => a.serialize(s),
            Self::Eip7702 => s.serialize_str("0x7702"),
        }
    }
}

impl<'de> Deserialize<'de> for Factory {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        if s == "0x7702" {
            return Ok(Self::Eip7702);
        }
        let a: Address = s.parse().map_err(serde::de::Error::custom)?;
        Ok(if a == EIP7702_MARKER { Self::Eip7702 } else { Self::Contract(a) })
    }
}

/// A signed EIP-7702 authorization as bundlers take it in `eip7702Auth`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Eip7702Auth {
    /// The delegate (Alto also accepts `contractAddress`).
    #[serde(alias = "contractAddress")]
    pub address: Address,
    /// The chain id (0: any chain).
    pub chain_id: U256,
    /// The authority's account nonce.
    #[serde(with = "alloy::serde::quantity")]
    pub nonce: u64,
    /// Signature `r`.
    pub r: B256,
    /// Signature `s`.
    pub s: B256,
    /// Signature parity (0 or 1).
    #[serde(with = "alloy::serde::quantity")]
    pub y_parity: u8,
}

impl From<&SignedAuthorization> for Eip7702Auth {
    fn from(a: &SignedAuthorization) -> Self {
        Self {
            address: a.address,
            chain_id: a.chain_id,
            nonce: a.nonce,
            r: a.r().into(),
            s: a.s().into(),
            y_parity: a.y_parity(),
        }
    }
}

/// An unpacked ERC-4337 user operation (EntryPoint v0.7/v0.8 JSON, plus v0.9's `paymasterSignature`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct UserOperation {
    /// The account.
    pub sender: Address,
    /// The nonce: key in the high 192 bits, sequence in the low 64.
    pub nonce: U256,
    /// A factory deploying the sender, or the EIP-7702 marker.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub factory: Option<Factory>,
    /// The factory's call data (or, with the EIP-7702 marker, an initialization call for the delegate).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub factory_data: Option<Bytes>,
    /// The call the EntryPoint makes to the account (for Keyward, `executeUserOp(...)`).
    pub call_data: Bytes,
    /// Gas for the call.
    #[serde(with = "alloy::serde::quantity")]
    pub call_gas_limit: u128,
    /// Gas for validation (and deployment).
    #[serde(with = "alloy::serde::quantity")]
    pub verification_gas_limit: u128,
    /// Gas paid to the bundler for what the EntryPoint cannot meter (calldata, the 7702 authorization...).
    pub pre_verification_gas: U256,
    /// Fee cap per gas.
    #[serde(with = "alloy::serde::quantity")]
    pub max_fee_per_gas: u128,
    /// Tip cap per gas.
    #[serde(with = "alloy::serde::quantity")]
    pub max_priority_fee_per_gas: u128,
    /// A paymaster paying for the operation.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub paymaster: Option<Address>,
    /// Gas for the paymaster's validation.
    #[serde(default, skip_serializing_if = "Option::is_none", with = "alloy::serde::quantity::opt")]
    pub paymaster_verification_gas_limit: Option<u128>,
    /// Gas for the paymaster's `postOp`.
    #[serde(default, skip_serializing_if = "Option::is_none", with = "alloy::serde::quantity::opt")]
    pub paymaster_post_op_gas_limit: Option<u128>,
    /// The paymaster's data.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub paymaster_data: Option<Bytes>,
    /// EntryPoint v0.9 only: a paymaster signature outside the userOpHash. Leave unset for v0.8.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub paymaster_signature: Option<Bytes>,
    /// The account's signature (for Keyward, `abi.encode(keyHash, signature, hookData)`).
    pub signature: Bytes,
    /// An EIP-7702 authorization the bundler puts in its transaction (with `factory` = the marker).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub eip7702_auth: Option<Eip7702Auth>,
}

fn or_empty(b: Option<&Bytes>) -> &[u8] {
    b.map_or(&[], |b| b.as_ref())
}

fn high(word: B256) -> u128 {
    u128::from_be_bytes(word[..16].try_into().expect("16 bytes"))
}

fn low(word: B256) -> u128 {
    u128::from_be_bytes(word[16..].try_into().expect("16 bytes"))
}

/// Whether `init_code` is the EIP-7702 marker exactly as EntryPoint v0.8 decides it: at least 2 bytes, and its
/// first 20 bytes (zero-padded) are `0x7702` followed by zeros.
pub fn is_eip7702_init_code(init_code: &[u8]) -> bool {
    if init_code.len() < 2 {
        return false;
    }
    let mut start = [0u8; 20];
    let n = init_code.len().min(20);
    start[..n].copy_from_slice(&init_code[..n]);
    start == EIP7702_MARKER.0
}

impl From<&PackedUserOperation> for UserOperation {
    /// Unpacks an EntryPoint v0.8 operation (a v0.9 `paymasterSignature` suffix stays in `paymasterData`).
    fn from(op: &PackedUserOperation) -> Self {
        let (factory, factory_data) = if op.initCode.is_empty() {
            (None, None)
        } else if is_eip7702_init_code(&op.initCode) {
            let data = op.initCode.get(20..).filter(|d| !d.is_empty()).map(Bytes::copy_from_slice);
            (Some(Factory::Eip7702), data)
        } else {
            let mut factory = [0u8; 20];
            let n = op.initCode.len().min(20);
            factory[..n].copy_from_slice(&op.initCode[..n]);
            let data = Bytes::copy_from_slice(op.initCode.get(20..).unwrap_or_default());
            (Some(Factory::Contract(Address::from(factory))), Some(data))
        };
        let pd = &op.paymasterAndData;
        let (paymaster, pm_verification, pm_post_op, paymaster_data) = if pd.len() >= 52 {
            (
                Some(Address::from_slice(&pd[..20])),
                Some(u128::from_be_bytes(pd[20..36].try_into().expect("16 bytes"))),
                Some(u128::from_be_bytes(pd[36..52].try_into().expect("16 bytes"))),
                Some(Bytes::copy_from_slice(&pd[52..])),
            )
        } else {
            (None, None, None, None)
        };
        Self {
            sender: op.sender,
            nonce: op.nonce,
            factory,
            factory_data,
            call_data: op.callData.clone(),
            call_gas_limit: low(op.accountGasLimits),
            verification_gas_limit: high(op.accountGasLimits),
            pre_verification_gas: op.preVerificationGas,
            max_fee_per_gas: low(op.gasFees),
            max_priority_fee_per_gas: high(op.gasFees),
            paymaster,
            paymaster_verification_gas_limit: pm_verification,
            paymaster_post_op_gas_limit: pm_post_op,
            paymaster_data,
            paymaster_signature: None,
            signature: op.signature.clone(),
            eip7702_auth: None,
        }
    }
}

impl From<PackedUserOperation> for UserOperation {
    fn from(op: PackedUserOperation) -> Self {
        Self::from(&op)
    }
}

impl From<&UserOperation> for PackedUserOperation {
    /// Packs the operation as the EntryPoint takes it. The EIP-7702 marker becomes `0x7702` padded to 20 bytes;
    /// a `paymasterSignature` (v0.9) is appended as `signature ‖ uint16 length ‖ magic`.
    fn from(op: &UserOperation) -> Self {
        let init_code: Bytes = match op.factory {
            None => Bytes::new(),
            Some(Factory::Contract(f)) => [f.as_slice(), or_empty(op.factory_data.as_ref())].concat().into(),
            Some(Factory::Eip7702) => [EIP7702_MARKER.as_slice(), or_empty(op.factory_data.as_ref())].concat().into(),
        };
        let paymaster_and_data = match op.paymaster {
            None => Bytes::new(),
            Some(pm) => {
                let mut pd = userop::paymaster_and_data(
                    pm,
                    op.paymaster_verification_gas_limit.unwrap_or_default(),
                    op.paymaster_post_op_gas_limit.unwrap_or_default(),
                    or_empty(op.paymaster_data.as_ref()),
                )
                .to_vec();
                if let Some(sig) = &op.paymaster_signature {
                    pd.extend_from_slice(sig);
                    pd.extend_from_slice(&u16::try_from(sig.len()).unwrap_or(u16::MAX).to_be_bytes());
                    pd.extend_from_slice(&PAYMASTER_SIG_MAGIC);
                }
                pd.into()
            }
        };
        Self {
            sender: op.sender,
            nonce: op.nonce,
            initCode: init_code,
            callData: op.call_data.clone(),
            accountGasLimits: userop::pack_gas_limits(op.verification_gas_limit, op.call_gas_limit),
            preVerificationGas: op.pre_verification_gas,
            gasFees: userop::pack_gas_fees(op.max_priority_fee_per_gas, op.max_fee_per_gas),
            paymasterAndData: paymaster_and_data,
            signature: op.signature.clone(),
        }
    }
}

impl From<UserOperation> for PackedUserOperation {
    fn from(op: UserOperation) -> Self {
        Self::from(&op)
    }
}

impl UserOperation {
    /// The packed form the EntryPoint takes.
    pub fn packed(&self) -> PackedUserOperation {
        self.into()
    }

    /// `EntryPoint.getUserOpHash` for v0.8 (see [`userop::user_op_hash`]). With the EIP-7702 marker the hash
    /// covers the sender's delegate: `eip7702_delegate`, else the one `eip7702Auth` delegates to (as bundlers do).
    pub fn hash(&self, entry_point: Address, chain_id: u64, eip7702_delegate: Option<Address>) -> B256 {
        let delegate = eip7702_delegate.or(self.eip7702_auth.map(|a| a.address));
        userop::user_op_hash(&self.packed(), entry_point, chain_id, delegate)
    }

    /// Takes the gas limits of an estimate (the paymaster's only when the operation has a paymaster).
    #[must_use]
    pub fn with_gas(mut self, estimate: &GasEstimate) -> Self {
        self.pre_verification_gas = estimate.pre_verification_gas;
        self.verification_gas_limit = estimate.verification_gas_limit;
        self.call_gas_limit = estimate.call_gas_limit;
        if self.paymaster.is_some() {
            self.paymaster_verification_gas_limit =
                estimate.paymaster_verification_gas_limit.or(self.paymaster_verification_gas_limit);
            self.paymaster_post_op_gas_limit =
                estimate.paymaster_post_op_gas_limit.or(self.paymaster_post_op_gas_limit);
        }
        self
    }

    /// Takes fee caps.
    #[must_use]
    pub fn with_fees(mut self, fees: Fees) -> Self {
        self.max_fee_per_gas = fees.max_fee_per_gas;
        self.max_priority_fee_per_gas = fees.max_priority_fee_per_gas;
        self
    }
}

/// `eth_estimateUserOperationGas`'s answer.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct GasEstimate {
    /// Pre-verification gas.
    pub pre_verification_gas: U256,
    /// Verification gas limit.
    #[serde(with = "alloy::serde::quantity")]
    pub verification_gas_limit: u128,
    /// Call gas limit.
    #[serde(with = "alloy::serde::quantity")]
    pub call_gas_limit: u128,
    /// The paymaster's verification gas limit (when the bundler gives one).
    #[serde(default, skip_serializing_if = "Option::is_none", with = "alloy::serde::quantity::opt")]
    pub paymaster_verification_gas_limit: Option<u128>,
    /// The paymaster's `postOp` gas limit (when the bundler gives one).
    #[serde(default, skip_serializing_if = "Option::is_none", with = "alloy::serde::quantity::opt")]
    pub paymaster_post_op_gas_limit: Option<u128>,
}

/// EIP-1559 fee caps per gas.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Fees {
    /// `maxFeePerGas`.
    #[serde(with = "alloy::serde::quantity")]
    pub max_fee_per_gas: u128,
    /// `maxPriorityFeePerGas`.
    #[serde(with = "alloy::serde::quantity")]
    pub max_priority_fee_per_gas: u128,
}

/// `pimlico_getUserOperationGasPrice`'s answer: three tiers of fee caps.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct GasPriceTiers {
    /// Cheapest.
    pub slow: Fees,
    /// The default.
    pub standard: Fees,
    /// Fastest.
    pub fast: Fees,
}

/// Where [`Fees`] came from.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FeeSource {
    /// The bundler's own price (`pimlico_getUserOperationGasPrice`, standard tier): what it accepts.
    Bundler,
    /// The node's fee history (`eth_feeHistory`, alloy's EIP-1559 estimator).
    NodeFeeHistory,
    /// The node's `eth_gasPrice`, for both caps.
    NodeGasPrice,
    /// Given by the caller (`client::Pricing::Fixed`, or zero with `client::Pricing::Zero`).
    Explicit,
}

/// Fee caps and their source.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct FeeQuote {
    /// The caps.
    pub fees: Fees,
    /// Where they came from.
    pub source: FeeSource,
}

/// A log in a user operation receipt.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Log {
    /// The emitting contract.
    pub address: Address,
    /// Topics.
    pub topics: Vec<B256>,
    /// Data.
    pub data: Bytes,
    /// Block number.
    #[serde(with = "alloy::serde::quantity")]
    pub block_number: u64,
    /// Transaction hash.
    pub transaction_hash: B256,
    /// Index in the block.
    #[serde(with = "alloy::serde::quantity")]
    pub log_index: u64,
}

/// The bundle transaction's receipt inside a user operation receipt (Alto reports a subset of the node's).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct BundleReceipt {
    /// The bundle transaction.
    pub transaction_hash: B256,
    /// Its block.
    pub block_hash: B256,
    /// Its block number.
    #[serde(with = "alloy::serde::quantity")]
    pub block_number: u64,
    /// The bundler's executor account.
    pub from: Address,
    /// The EntryPoint.
    #[serde(default)]
    pub to: Option<Address>,
    /// Gas used by the whole bundle.
    #[serde(with = "alloy::serde::quantity")]
    pub gas_used: u64,
    /// The gas price paid.
    #[serde(default, with = "alloy::serde::quantity::opt")]
    pub effective_gas_price: Option<u128>,
    /// `1` when the bundle transaction succeeded (it does even when an operation's execution reverts).
    #[serde(default, with = "alloy::serde::quantity::opt")]
    pub status: Option<u64>,
    /// Every log of the bundle.
    #[serde(default)]
    pub logs: Vec<Log>,
}

/// `eth_getUserOperationReceipt`'s answer.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct UserOperationReceipt {
    /// The operation.
    pub user_op_hash: B256,
    /// The EntryPoint.
    pub entry_point: Address,
    /// The account.
    pub sender: Address,
    /// The operation's nonce.
    pub nonce: U256,
    /// The paymaster, when one paid.
    #[serde(default)]
    pub paymaster: Option<Address>,
    /// What the payer was charged, in wei.
    pub actual_gas_cost: U256,
    /// Gas charged.
    pub actual_gas_used: U256,
    /// Whether the execution phase succeeded (validation always did: the operation is on chain).
    pub success: bool,
    /// The execution's revert data when it failed.
    #[serde(default)]
    pub reason: Option<Bytes>,
    /// The operation's own logs.
    #[serde(default)]
    pub logs: Vec<Log>,
    /// The bundle transaction's receipt.
    pub receipt: BundleReceipt,
}

impl UserOperationReceipt {
    /// The execution's revert, decoded into the account's or the PolicyHook's errors, when it failed with data.
    pub fn revert(&self) -> Option<Revert> {
        self.reason.as_ref().filter(|r| !r.is_empty()).map(|r| decode_revert(r))
    }
}

/// `eth_getUserOperationByHash`'s answer: a mined operation and where it is.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct UserOperationByHash {
    /// The operation as the bundle carried it.
    pub user_operation: UserOperation,
    /// The EntryPoint.
    pub entry_point: Address,
    /// The block.
    #[serde(with = "alloy::serde::quantity")]
    pub block_number: u64,
    /// Its hash.
    pub block_hash: B256,
    /// The bundle transaction.
    pub transaction_hash: B256,
}

#[cfg(test)]
mod tests {
    use alloy::primitives::{address, bytes};

    use super::*;

    fn sample() -> UserOperation {
        UserOperation {
            sender: address!("0x00000000000000000000000000000000000000aa"),
            nonce: U256::from(7) << 64,
            factory: None,
            factory_data: None,
            call_data: bytes!("0x12345678"),
            call_gas_limit: 100_000,
            verification_gas_limit: 200_000,
            pre_verification_gas: U256::from(50_000),
            max_fee_per_gas: 3_000_000_000,
            max_priority_fee_per_gas: 1_000_000_000,
            paymaster: None,
            paymaster_verification_gas_limit: None,
            paymaster_post_op_gas_limit: None,
            paymaster_data: None,
            paymaster_signature: None,
            signature: bytes!("0xabcd"),
            eip7702_auth: None,
        }
    }

    #[test]
    fn json_matches_the_rpc_shape() {
        let json = serde_json::to_value(sample()).unwrap();
        assert_eq!(
            json,
            serde_json::json!({
                "sender": "0x00000000000000000000000000000000000000aa",
                "nonce": "0x70000000000000000",
                "callData": "0x12345678",
                "callGasLimit": "0x186a0",
                "verificationGasLimit": "0x30d40",
                "preVerificationGas": "0xc350",
                "maxFeePerGas": "0xb2d05e00",
                "maxPriorityFeePerGas": "0x3b9aca00",
                "signature": "0xabcd",
            })
        );
        let back: UserOperation = serde_json::from_value(json).unwrap();
        assert_eq!(back, sample());
    }

    #[test]
    fn packing_round_trips_with_paymaster_and_factory() {
        let mut op = sample();
        op.factory = Some(Factory::Contract(Address::repeat_byte(0xfa)));
        op.factory_data = Some(bytes!("0x0102"));
        op.paymaster = Some(Address::repeat_byte(0x99));
        op.paymaster_verification_gas_limit = Some(30_000);
        op.paymaster_post_op_gas_limit = Some(40_000);
        op.paymaster_data = Some(bytes!("0xdead"));
        let packed = op.packed();
        assert_eq!(packed.initCode.len(), 22);
        assert_eq!(packed.accountGasLimits, userop::pack_gas_limits(200_000, 100_000));
        assert_eq!(packed.gasFees, userop::pack_gas_fees(1_000_000_000, 3_000_000_000));
        assert_eq!(UserOperation::from(&packed), op);
    }

    #[test]
    fn eip7702_marker_packs_padded_and_serializes_short() {
        let mut op = sample();
        op.factory = Some(Factory::Eip7702);
        let packed = op.packed();
        assert_eq!(packed.initCode.as_ref(), EIP7702_MARKER.as_slice());
        assert_eq!(UserOperation::from(&packed), op);
        let json = serde_json::to_value(&op).unwrap();
        assert_eq!(json["factory"], "0x7702");
        assert_eq!(serde_json::from_value::<UserOperation>(json).unwrap(), op);
        // What EntryPoint v0.8 reads as the marker: at least 2 bytes, zero-padded to 20.
        assert!(is_eip7702_init_code(&[0x77, 0x02]));
        assert!(!is_eip7702_init_code(&[0x77]));
        assert!(!is_eip7702_init_code(&[0x77, 0x02, 1]));
    }

    #[test]
    fn paymaster_signature_is_appended_the_v09_way() {
        let mut op = sample();
        op.paymaster = Some(Address::repeat_byte(0x99));
        op.paymaster_data = Some(Bytes::new());
        op.paymaster_signature = Some(bytes!("0x0a0b0c"));
        let pd = op.packed().paymasterAndData;
        assert_eq!(pd.len(), 52 + 3 + 2 + 8);
        assert_eq!(&pd[52..55], &[0x0a, 0x0b, 0x0c]);
        assert_eq!(&pd[55..57], &[0, 3]);
        assert_eq!(&pd[57..], &PAYMASTER_SIG_MAGIC);
        assert!(serde_json::to_value(&op).unwrap().get("paymasterSignature").is_some());
    }

    #[test]
    fn eip7702_auth_is_the_signed_authorization() {
        use alloy::{
            eips::eip7702::Authorization,
            signers::{SignerSync, local::PrivateKeySigner},
        };
        let eoa = PrivateKeySigner::random();
        let auth = Authorization { chain_id: U256::from(31_337), address: Address::repeat_byte(0x44), nonce: 3 };
        let signed = auth.clone().into_signed(eoa.sign_hash_sync(&auth.signature_hash()).unwrap());
        let json = serde_json::to_value(Eip7702Auth::from(&signed)).unwrap();
        assert_eq!(json["chainId"], "0x7a69");
        assert_eq!(json["nonce"], "0x3");
        assert!(json["yParity"] == "0x0" || json["yParity"] == "0x1");
        assert_eq!(json["r"].as_str().unwrap().len(), 66);
        // Alto also names the delegate `contractAddress`.
        let mut alias = json.clone();
        alias["contractAddress"] = alias.as_object_mut().unwrap().remove("address").unwrap();
        let back: Eip7702Auth = serde_json::from_value(alias).unwrap();
        assert_eq!(back, Eip7702Auth::from(&signed));
    }

    #[test]
    fn hash_is_the_crates_v08_hash() {
        let op = sample();
        let ep = userop::ENTRY_POINT_V08;
        assert_eq!(op.hash(ep, 31_337, None), userop::user_op_hash(&op.packed(), ep, 31_337, None));
    }

    #[test]
    fn receipt_parses_altos_shape() {
        // Alto 0.0.20's shape: every number a hex quantity, `status` 0x1, a subset of the node's receipt.
        let json = serde_json::json!({
            "userOpHash": B256::repeat_byte(1), "entryPoint": userop::ENTRY_POINT_V08,
            "sender": Address::repeat_byte(2), "nonce": "0x0", "actualGasCost": "0x1234", "actualGasUsed": "0x99",
            "success": false, "reason": "0x08c379a0", "logs": [],
            "receipt": {
                "transactionHash": B256::repeat_byte(3), "transactionIndex": "0x0", "blockHash": B256::repeat_byte(4),
                "blockNumber": "0x10", "from": Address::repeat_byte(5), "to": userop::ENTRY_POINT_V08,
                "cumulativeGasUsed": "0x100", "gasUsed": "0x100", "contractAddress": null,
                "logs": [{"logIndex": "0x0", "transactionIndex": "0x0", "transactionHash": B256::repeat_byte(3),
                          "blockHash": B256::repeat_byte(4), "blockNumber": "0x10", "address": Address::repeat_byte(6),
                          "data": "0x", "topics": [B256::repeat_byte(7)]}],
                "logsBloom": format!("0x{}", "0".repeat(512)), "status": "0x1", "effectiveGasPrice": "0x3b9aca00"
            }
        });
        let r: UserOperationReceipt = serde_json::from_value(json).unwrap();
        assert_eq!(r.actual_gas_cost, U256::from(0x1234));
        assert_eq!(r.receipt.status, Some(1));
        assert_eq!(r.receipt.logs.len(), 1);
        assert!(matches!(r.revert(), Some(Revert::Other(_))));
    }
}
