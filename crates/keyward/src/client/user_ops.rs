//! ERC-4337 building blocks over the node: EntryPoint nonces, signing a built operation, `handleOps` with the
//! provider's wallet as bundler, the execution-phase simulation, the gas window. [`Account::prepare`] and
//! [`Account::send`] (in `prepare.rs`) put them together; [`Account::execute_user_op`] is both in one call.

use alloy::{
    network::TransactionBuilder,
    primitives::{Address, B256, Bytes, TxHash, U256, aliases::U192},
    providers::Provider,
    rpc::types::{TransactionReceipt, TransactionRequest},
    sol,
    sol_types::{SolCall, SolValue},
};

use crate::{
    Error, Flags, KeySigner, ROOT_KEY_HASH,
    bindings::{Call, IKeyward, PackedUserOperation},
    client::{
        Account, Lane, Pricing, UserOpRequest, UserOpRoute,
        revert::{call_error, node},
    },
    failure::decode_revert,
    userop,
};

sol! {
    /// The EntryPoint v0.8 functions, events and errors the client uses.
    interface IEntryPoint {
        function getNonce(address sender, uint192 key) external view returns (uint256 nonce);
        function balanceOf(address account) external view returns (uint256);
        event UserOperationEvent(bytes32 indexed userOpHash, address indexed sender, address indexed paymaster, uint256 nonce, bool success, uint256 actualGasCost, uint256 actualGasUsed);
        event UserOperationRevertReason(bytes32 indexed userOpHash, address indexed sender, uint256 nonce, bytes revertReason);
        error FailedOp(uint256 opIndex, string reason);
        error FailedOpWithRevert(uint256 opIndex, string reason, bytes inner);
    }
}

/// `EntryPoint.handleOps(ops, beneficiary)` call data.
pub fn handle_ops_call_data(ops: Vec<PackedUserOperation>, beneficiary: Address) -> Bytes {
    let selector = alloy::primitives::keccak256(
        "handleOps((address,uint256,bytes,bytes,bytes32,uint256,bytes32,bytes,bytes)[],address)",
    );
    [&selector[..4], &(ops, beneficiary).abi_encode_params()].concat().into()
}

impl<P: Provider> Account<P> {
    /// ERC-4337 in one call: [`Self::prepare`] `calls` for `signer` in its reserved lane 0 (gas estimated by
    /// simulation, fees from the node's fee history, [`Pricing::Node`], signed once, both phases simulated: a
    /// refused operation is a typed error and is never sent), then [`Self::send`] it through
    /// `entry_point.handleOps` with the provider's wallet as bundler and beneficiary (it is paid back at those
    /// fees). Returns the bundle transaction; use `prepare` and `send` for a bundler, other fees or the receipt.
    pub async fn execute_user_op(
        &self,
        signer: &dyn KeySigner,
        calls: &[Call],
        entry_point: Address,
    ) -> Result<TxHash, Error> {
        self.execute_user_op_in_lane(signer, calls, entry_point, Lane::default()).await
    }

    /// [`Self::execute_user_op`] in EntryPoint nonce lane `lane`.
    pub async fn execute_user_op_in_lane(
        &self,
        signer: &dyn KeySigner,
        calls: &[Call],
        entry_point: Address,
        lane: impl Into<Lane>,
    ) -> Result<TxHash, Error> {
        let route = UserOpRoute::handle_ops(entry_point);
        let request = UserOpRequest::new(signer, calls.iter().cloned(), Pricing::Node).lane(lane);
        let prepared = self.prepare(&route, request).await?;
        Ok(self.send(&route, &prepared).await?.transaction_hash)
    }

    /// The next EntryPoint nonce of this account in the open lane 0 (Calibur clients' lane;
    /// [`Self::entry_point_nonce_in_lane`] with [`Self::reserved_lane`] for a key's own).
    pub async fn entry_point_nonce(&self, entry_point: Address) -> Result<U256, Error> {
        self.entry_point_nonce_in_lane(entry_point, U192::ZERO).await
    }

    /// The next EntryPoint nonce of this account in lane `lane` (the full nonce: `lane << 64 | sequence`).
    pub async fn entry_point_nonce_in_lane(&self, entry_point: Address, lane: U192) -> Result<U256, Error> {
        self.view(entry_point, IEntryPoint::getNonceCall { sender: self.address, key: lane }).await
    }

    /// Signs a built operation (gas, fees, paymaster... as the builder set them) for `signer`. For a key whose
    /// settings carry [`Flags::GAS_BUDGET`], the signature names the current gas window ([`Self::gas_window`]).
    pub async fn sign_user_op(
        &self,
        mut op: PackedUserOperation,
        signer: &dyn KeySigner,
        entry_point: Address,
    ) -> Result<PackedUserOperation, Error> {
        let chain_id = self.chain_id().await?;
        let window = self.gas_window(signer.key_hash()).await?;
        let hash = userop::user_op_hash(&op, entry_point, chain_id, None);
        op.signature = signer.sign_user_op_in_window(hash, Bytes::new(), window)?;
        Ok(op)
    }

    /// Sends signed operations through `entry_point.handleOps` with the provider's wallet as bundler, after an
    /// `eth_call` of the same (a validation failure comes back typed, nothing sent). A mined operation whose
    /// execution reverted is [`Error::UserOpReverted`].
    pub async fn handle_ops(&self, ops: Vec<PackedUserOperation>, entry_point: Address) -> Result<TxHash, Error> {
        let key_hashes: Vec<B256> = ops.iter().filter_map(signature_key_hash).collect();
        let tx = self.handle_ops_tx(ops, entry_point).await?;
        if let Err(e) = self.check(&tx).await {
            return Err(self.attribute(e, &key_hashes).await);
        }
        let receipt = self.send_checked(tx).await?;
        for outcome in user_op_outcomes(&receipt, entry_point) {
            outcome?;
        }
        Ok(receipt.transaction_hash)
    }

    /// `PaymasterRequired()` is an error of the account (a key with SPONSORED_ONLY) and of the PolicyHook (a key
    /// without a gas budget) with the same selector: it is the hook's unless one of the keys carries SPONSORED_ONLY.
    pub(super) async fn attribute(&self, e: Error, key_hashes: &[B256]) -> Error {
        if !matches!(e, Error::Keyward(IKeyward::IKeywardErrors::PaymasterRequired(_))) {
            return e;
        }
        for key_hash in key_hashes.iter().filter(|k| **k != ROOT_KEY_HASH) {
            match self.settings(*key_hash).await {
                Ok(s) if s.has_flag(Flags::SPONSORED_ONLY) => return e,
                Ok(_) => {}
                Err(_) => return e,
            }
        }
        Error::Policy(crate::bindings::policy::IPolicyHook::IPolicyHookErrors::PaymasterRequired(
            crate::bindings::policy::IPolicyHook::PaymasterRequired {},
        ))
    }

    /// A `handleOps` transaction from the provider's wallet, which is also the beneficiary (its first account;
    /// the zero address when it has none, which the EntryPoint refuses with AA90).
    pub(super) async fn handle_ops_tx(
        &self,
        ops: Vec<PackedUserOperation>,
        entry_point: Address,
    ) -> Result<TransactionRequest, Error> {
        let beneficiary =
            self.provider.get_accounts().await.map_err(node("eth_accounts"))?.first().copied().unwrap_or_default();
        Ok(TransactionRequest::default().with_to(entry_point).with_input(handle_ops_call_data(ops, beneficiary)))
    }

    /// Simulates the execution phase of `op` (an `eth_call` of the account's `executeUserOp` from `entry_point`,
    /// on the latest state) and returns the typed error the account or its hook would revert with. The signature is
    /// not checked here: that is the validation phase, which the EntryPoint runs in `handleOps`.
    pub async fn simulate_user_op(&self, op: &PackedUserOperation, entry_point: Address) -> Result<(), Error> {
        self.simulate_user_op_as(op, entry_point, B256::ZERO).await
    }

    /// [`Self::simulate_user_op`] with the operation's `userOpHash`, which the key's execution hooks see as the
    /// operation (a PolicyHook key whose calls need co-signatures is refused with operation 0, the direct path's).
    pub async fn simulate_user_op_as(
        &self,
        op: &PackedUserOperation,
        entry_point: Address,
        user_op_hash: B256,
    ) -> Result<(), Error> {
        let input = IKeyward::executeUserOpCall { userOp: op.clone(), userOpHash: user_op_hash }.abi_encode();
        let tx = TransactionRequest::default().with_from(entry_point).with_to(self.address).with_input(input);
        self.provider.call(tx).await.map(drop).map_err(|e| call_error("eth_call", e))
    }

    /// The gas window a user operation of `key_hash` must name now: `Some(now / period)` when the key's settings
    /// carry [`Flags::GAS_BUDGET`] and its budget has a period, else `None` (the root and other keys name none).
    pub async fn gas_window(&self, key_hash: B256) -> Result<Option<u64>, Error> {
        if key_hash == ROOT_KEY_HASH {
            return Ok(None);
        }
        let settings = match self.settings(key_hash).await {
            Ok(s) => s,
            // An unknown key's operation is refused in validation anyway; the EntryPoint says why.
            Err(Error::Keyward(IKeyward::IKeywardErrors::KeyDoesNotExist(_))) => return Ok(None),
            Err(e) => return Err(e),
        };
        if !settings.has_flag(Flags::GAS_BUDGET) {
            return Ok(None);
        }
        let (budget, _) = self.gas_budget(key_hash).await?;
        let period: u64 = budget.period.saturating_to();
        if period == 0 {
            return Ok(None);
        }
        Ok(userop::gas_window(self.now().await?, period))
    }
}

/// The key hash a Keyward user operation's signature names (its first word).
pub(super) fn signature_key_hash(op: &PackedUserOperation) -> Option<B256> {
    (op.signature.len() >= 32).then(|| B256::from_slice(&op.signature[..32]))
}

/// What a mined `handleOps` says about each operation: it succeeds even when an operation's execution reverts,
/// and the EntryPoint reports that in its events (`UserOperationRevertReason`, then `UserOperationEvent`).
pub(super) fn user_op_outcomes(
    receipt: &TransactionReceipt,
    entry_point: Address,
) -> Vec<Result<IEntryPoint::UserOperationEvent, Error>> {
    let mut reasons: Vec<(B256, Bytes)> = Vec::new();
    let mut out = Vec::new();
    for log in receipt.inner.logs().iter().filter(|l| l.address() == entry_point) {
        if let Ok(event) = log.log_decode::<IEntryPoint::UserOperationRevertReason>() {
            reasons.push((event.inner.data.userOpHash, event.inner.data.revertReason.clone()));
        } else if let Ok(event) = log.log_decode::<IEntryPoint::UserOperationEvent>() {
            let event = event.inner.data;
            if event.success {
                out.push(Ok(event));
            } else {
                let revert =
                    reasons.iter().find(|(h, _)| *h == event.userOpHash).map(|(_, r)| Box::new(decode_revert(r)));
                out.push(Err(Error::UserOpReverted {
                    user_op_hash: event.userOpHash,
                    transaction_hash: receipt.transaction_hash,
                    revert,
                }));
            }
        }
    }
    out
}
