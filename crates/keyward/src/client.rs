//! A typed client for a Keyward account over an alloy provider (feature `client`).
//!
//! The provider's wallet decides who sends: the EOA itself for management (`grant`, `revoke`, ...), a session key
//! for [`Account::execute_direct`], or any funded relayer for [`Account::execute_relayed`] and
//! [`Account::execute_user_op`].
//!
//! Nonces: relayed batches and user operations of a key use the key's own reserved lane 0 by default
//! ([`Lane::Reserved`], see [`crate::lanes`]), which no other key can use or burn; an explicit lane key (open lanes,
//! lane 0 among them, are shared by every key, as in Calibur) is still possible with the `*_in_lane` methods.
//! User operations of a key whose settings carry [`crate::Flags::GAS_BUDGET`] name the current gas window.

use alloy::{
    eips::eip7702::Authorization,
    network::{TransactionBuilder, TransactionBuilder7702},
    primitives::{Address, B256, Bytes, TxHash, U256, aliases::U192},
    providers::Provider,
    rpc::types::{Filter, TransactionRequest},
    signers::{SignerSync, local::PrivateKeySigner},
    sol,
    sol_types::{SolCall, SolEvent, SolEventInterface, SolInterface, SolValue},
};

use crate::{
    Error, Flags, KeyExt, KeySigner, ROOT_KEY_HASH, Settings,
    bindings::{BatchedCall, Call, GasBudget, GasSpent, IKeyward, Key, PackedUserOperation, SignedBatchedCall},
    encode, userop,
};

/// The nonce lane of a relayed batch or a user operation.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Lane {
    /// The signing key's own lane `index` (`IKeyward.reservedLane`): only that key may use it, so no other key can
    /// burn its pending batches or operations. The default is index 0.
    Reserved(u32),
    /// An explicit 192-bit lane key. Open lanes (every lane key without the reserved "KWRD" tag, lane 0 among them)
    /// are usable by every key, as in Calibur; a lane reserved for another key reverts `NonceLaneReserved`.
    Key(U192),
}

impl Default for Lane {
    fn default() -> Self {
        Self::Reserved(0)
    }
}

impl From<U192> for Lane {
    fn from(lane_key: U192) -> Self {
        Self::Key(lane_key)
    }
}

sol! {
    /// The EntryPoint v0.8 view the client uses.
    interface IEntryPoint {
        function getNonce(address sender, uint192 key) external view returns (uint256 nonce);
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

/// Where a key stands at a given time.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum KeyStatus {
    /// Usable now.
    Active,
    /// Past its expiration second.
    Expired,
    /// Before its validAfter second.
    NotYetValid,
    /// Not registered (never, or revoked).
    Revoked,
}

/// A registered key with its settings and status.
#[derive(Clone, Debug)]
pub struct KeyInfo {
    /// The public key.
    pub key: Key,
    /// Its hash.
    pub key_hash: B256,
    /// Its settings.
    pub settings: Settings,
    /// Its status at `now`.
    pub status: KeyStatus,
    /// Seconds until it expires (`None`: never).
    pub time_left: Option<u64>,
}

/// A grant, update, revocation, use or EntryPoint change seen in the account's events.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum KeyEvent {
    /// `Registered(keyHash, key)`.
    Registered {
        /// The key hash.
        key_hash: B256,
        /// Block number.
        block: u64,
        /// Transaction hash.
        tx: B256,
    },
    /// `KeySettingsUpdated(keyHash, settings)`.
    SettingsUpdated {
        /// The key hash.
        key_hash: B256,
        /// The new settings word.
        settings: U256,
        /// Block number.
        block: u64,
        /// Transaction hash.
        tx: B256,
    },
    /// `Revoked(keyHash)`.
    Revoked {
        /// The key hash.
        key_hash: B256,
        /// Block number.
        block: u64,
        /// Transaction hash.
        tx: B256,
    },
    /// `AllKeysRevoked(epoch)`.
    AllRevoked {
        /// The new key epoch.
        epoch: U256,
        /// Block number.
        block: u64,
        /// Transaction hash.
        tx: B256,
    },
    /// `KeyUsed(keyHash)`: the key executed a batch (direct, relayed or ERC-4337); one per batch.
    Used {
        /// The key hash.
        key_hash: B256,
        /// Block number.
        block: u64,
        /// Transaction hash.
        tx: B256,
    },
    /// `EntryPointUpdated(newEntryPoint)`: the account now trusts another ERC-4337 EntryPoint (zero: none).
    EntryPointUpdated {
        /// The new EntryPoint.
        entry_point: Address,
        /// Block number.
        block: u64,
        /// Transaction hash.
        tx: B256,
    },
    /// `GasBudgetSet(keyHash, budget)`: what the account may pay in ERC-4337 gas for the key.
    GasBudgetSet {
        /// The key hash.
        key_hash: B256,
        /// The new budget (spending restarts).
        budget: GasBudget,
        /// Block number.
        block: u64,
        /// Transaction hash.
        tx: B256,
    },
    /// `NonceInvalidated(nonce)`: a nonce lane moved forward; signed batches below `nonce` in it never run.
    NonceInvalidated {
        /// The lane's next nonce.
        nonce: U256,
        /// Block number.
        block: u64,
        /// Transaction hash.
        tx: B256,
    },
    /// `EIP712DomainChanged()`: a new salt prefix (`updateSalt`); every outstanding signature stopped verifying.
    DomainChanged {
        /// Block number.
        block: u64,
        /// Transaction hash.
        tx: B256,
    },
    /// `ApproveNative(owner, spender, value)`: ERC-7914, `spender` may move `value` wei out of the account.
    NativeApproved {
        /// The spender.
        spender: Address,
        /// The allowance (`U256::MAX`: unlimited).
        value: U256,
        /// Block number.
        block: u64,
        /// Transaction hash.
        tx: B256,
    },
}

impl KeyEvent {
    /// The block the event is in.
    #[must_use]
    pub fn block(&self) -> u64 {
        match self {
            Self::Registered { block, .. }
            | Self::SettingsUpdated { block, .. }
            | Self::Revoked { block, .. }
            | Self::AllRevoked { block, .. }
            | Self::Used { block, .. }
            | Self::EntryPointUpdated { block, .. }
            | Self::GasBudgetSet { block, .. }
            | Self::NonceInvalidated { block, .. }
            | Self::DomainChanged { block, .. }
            | Self::NativeApproved { block, .. } => *block,
        }
    }
}

/// The status of `settings` at unix time `now`.
pub fn status_at(settings: Settings, now: u64) -> KeyStatus {
    let expiration = settings.expiration();
    if expiration != 0 && now > expiration {
        KeyStatus::Expired
    } else if now < settings.valid_after() {
        KeyStatus::NotYetValid
    } else {
        KeyStatus::Active
    }
}

/// A Keyward account at `address`.
#[derive(Clone, Debug)]
pub struct Account<P> {
    address: Address,
    provider: P,
}

fn rpc_error(e: impl std::fmt::Display) -> Error {
    Error::Rpc(e.to_string())
}

/// The revert data an RPC error carries, if any.
#[allow(clippy::redundant_closure_for_method_calls)] // the payload type is not re-exported without `json-rpc`
fn revert_data(e: &alloy::transports::TransportError) -> Option<Bytes> {
    e.as_error_resp().and_then(|p| p.as_revert_data())
}

/// Turns a revert into a typed [`Error::Keyward`] when it is one of the account's errors, or [`Error::Policy`]
/// when it is one of the PolicyHook's. `PaymasterRequired()` is both (same selector): it decodes as the account's,
/// and the user-operation paths attribute it to the hook when the key's settings do not carry SPONSORED_ONLY.
fn revert_error<E: std::fmt::Display>(e: &E, data: Option<Bytes>) -> Error {
    if let Some(data) = data {
        if let Ok(decoded) = IKeyward::IKeywardErrors::abi_decode(&data) {
            // A failing call inside a batch (e.g. a management self-call): report what failed inside.
            if let IKeyward::IKeywardErrors::CallFailed(inner) = &decoded
                && !inner.reason.is_empty()
            {
                return revert_error(e, Some(inner.reason.clone()));
            }
            return Error::Keyward(decoded);
        }
        if let Ok(decoded) = crate::bindings::policy::IPolicyHook::IPolicyHookErrors::abi_decode(&data) {
            return Error::Policy(decoded);
        }
        match IEntryPoint::IEntryPointErrors::abi_decode(&data) {
            Ok(IEntryPoint::IEntryPointErrors::FailedOp(f)) => return Error::UserOpRejected(f.reason),
            Ok(IEntryPoint::IEntryPointErrors::FailedOpWithRevert(f)) => {
                // Validation reverted (e.g. "AA23 reverted"): the account's or the hook's own error, when it is one.
                return match revert_error(e, Some(f.inner)) {
                    typed @ (Error::Keyward(_) | Error::Policy(_)) => typed,
                    _ => Error::UserOpRejected(f.reason),
                };
            }
            Err(_) => {}
        }
        return Error::Reverted(data);
    }
    rpc_error(e)
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

    async fn view<C: SolCall>(&self, to: Address, call: C) -> Result<C::Return, Error> {
        let tx = TransactionRequest::default().with_to(to).with_input(call.abi_encode());
        let out = self.provider.call(tx).await.map_err(|e| revert_error(&e, revert_data(&e)))?;
        C::abi_decode_returns(&out).map_err(|e| Error::Rpc(format!("decoding {}: {e}", C::SIGNATURE)))
    }

    /// The PolicyHook policy of `key_hash` on this account, read from `hook` (rules with conditions, native and
    /// token caps with what was spent, call counts, ERC-1271 scope). A key the account does not know reverts with
    /// `KeyDoesNotExist`.
    pub async fn policy(&self, hook: Address, key_hash: B256) -> Result<crate::bindings::policy::Policy, Error> {
        self.view(
            hook,
            crate::bindings::policy::IPolicyHook::getPolicyCall { account: self.address, keyHash: key_hash },
        )
        .await
    }

    /// Sends `tx` and waits for its receipt; a revert becomes a typed error (checked with `eth_call` first).
    async fn send(&self, tx: TransactionRequest) -> Result<TxHash, Error> {
        Ok(self.send_receipt(tx).await?.transaction_hash)
    }

    async fn send_receipt(&self, tx: TransactionRequest) -> Result<alloy::rpc::types::TransactionReceipt, Error> {
        self.check(&tx).await?;
        self.send_checked(tx).await
    }

    /// `eth_call` of `tx`: its revert as a typed error.
    async fn check(&self, tx: &TransactionRequest) -> Result<(), Error> {
        self.provider.call(tx.clone()).await.map(drop).map_err(|e| revert_error(&e, revert_data(&e)))
    }

    /// Sends a transaction [`Self::check`] already ran and waits for its receipt.
    async fn send_checked(&self, tx: TransactionRequest) -> Result<alloy::rpc::types::TransactionReceipt, Error> {
        let receipt =
            self.provider.send_transaction(tx).await.map_err(rpc_error)?.get_receipt().await.map_err(rpc_error)?;
        if !receipt.status() {
            return Err(Error::Rpc(format!("transaction {} reverted", receipt.transaction_hash)));
        }
        Ok(receipt)
    }

    /// A root batch: the EOA's transaction to itself with ERC-7821 `execute` (the provider's wallet must be the EOA).
    pub async fn execute_as_root(&self, calls: &[Call]) -> Result<TxHash, Error> {
        self.send(TransactionRequest::default().with_to(self.address).with_input(encode::execute(calls, true))).await
    }

    /// A batch with Calibur's `execute(BatchedCall)` (selector `0x99e1d016`, what Calibur clients send), sent by the
    /// provider's wallet: the EOA itself (root), or a registered secp256k1 key (its transaction is the signature).
    pub async fn execute_batch(&self, calls: &[Call], revert_on_failure: bool) -> Result<TxHash, Error> {
        let input = encode::execute_batch(calls, revert_on_failure);
        self.send(TransactionRequest::default().with_to(self.address).with_input(input)).await
    }

    /// Grants `key` with `settings` (root).
    pub async fn grant(&self, key: &Key, settings: Settings) -> Result<TxHash, Error> {
        self.execute_as_root(&[encode::self_call(encode::grant(key, settings))]).await
    }

    /// Writes a key's settings (root).
    pub async fn update(&self, key_hash: B256, settings: Settings) -> Result<TxHash, Error> {
        self.execute_as_root(&[encode::self_call(encode::update(key_hash, settings))]).await
    }

    /// Revokes a key (root).
    pub async fn revoke(&self, key_hash: B256) -> Result<TxHash, Error> {
        self.execute_as_root(&[encode::self_call(encode::revoke(key_hash))]).await
    }

    /// Revokes every non-root key (root).
    pub async fn revoke_all(&self) -> Result<TxHash, Error> {
        self.execute_as_root(&[encode::self_call(encode::revoke_all())]).await
    }

    /// Sets a key's ERC-4337 gas budget (root); see [`encode::gas_budget`].
    pub async fn set_gas_budget(&self, key_hash: B256, budget: GasBudget) -> Result<TxHash, Error> {
        self.execute_as_root(&[encode::self_call(encode::set_gas_budget(key_hash, budget))]).await
    }

    /// Moves a nonce lane forward (root): every signed batch below `new_nonce` in its lane never runs.
    pub async fn invalidate_nonce(&self, new_nonce: U256) -> Result<TxHash, Error> {
        self.execute_as_root(&[encode::self_call(encode::invalidate_nonce(new_nonce))]).await
    }

    /// Sets a new EIP-712 salt prefix (root): every outstanding signature of the account stops verifying.
    pub async fn update_salt(&self, prefix: alloy::primitives::aliases::U96) -> Result<TxHash, Error> {
        self.execute_as_root(&[encode::self_call(encode::update_salt(prefix))]).await
    }

    /// ERC-7914: lets `spender` move up to `amount` wei out of the account (root).
    pub async fn approve_native(&self, spender: Address, amount: U256) -> Result<TxHash, Error> {
        self.execute_as_root(&[encode::self_call(encode::approve_native(spender, amount))]).await
    }

    /// The identity of this registration of a key (`keyIdOf`; `KeyDoesNotExist` for unknown keys, 0 for the root).
    pub async fn key_id(&self, key_hash: B256) -> Result<B256, Error> {
        self.view(self.address, IKeyward::keyIdOfCall { keyHash: key_hash }).await
    }

    /// The reserved nonce lane `index` of a key (`reservedLane`; the root's for [`ROOT_KEY_HASH`]).
    pub async fn reserved_lane(&self, key_hash: B256, index: u32) -> Result<U192, Error> {
        self.view(self.address, IKeyward::reservedLaneCall { keyHash: key_hash, index }).await
    }

    /// The lane key `lane` stands for, for the key `key_hash`.
    pub async fn lane_key(&self, key_hash: B256, lane: Lane) -> Result<U192, Error> {
        match lane {
            Lane::Reserved(index) => self.reserved_lane(key_hash, index).await,
            Lane::Key(key) => Ok(key),
        }
    }

    /// The next sequence number of relayed-batch nonce lane `lane_key` (`getSeq`).
    pub async fn seq(&self, lane_key: U192) -> Result<u64, Error> {
        let seq: U256 = self.view(self.address, IKeyward::getSeqCall { key: U256::from(lane_key) }).await?;
        Ok(seq.saturating_to())
    }

    /// A key's ERC-4337 gas budget and what was charged against it (`gasBudget`).
    pub async fn gas_budget(&self, key_hash: B256) -> Result<(GasBudget, GasSpent), Error> {
        let r = self.view(self.address, IKeyward::gasBudgetCall { keyHash: key_hash }).await?;
        Ok((r.budget, r.spent))
    }

    /// ERC-7914: the persistent native allowance of `spender`.
    pub async fn native_allowance(&self, spender: Address) -> Result<U256, Error> {
        self.view(self.address, IKeyward::nativeAllowanceCall { spender }).await
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
        let period: u64 = budget.period.to();
        if period == 0 {
            return Ok(None);
        }
        Ok(userop::gas_window(self.now().await?, period))
    }

    /// EIP-7702: the EOA (`eoa`, which must be the provider's wallet too) delegates to `implementation` and runs
    /// `calls` as root, in one type-4 transaction (e.g. a first grant, so a key never waits for a second tx).
    pub async fn delegate_and_execute(
        &self,
        eoa: &PrivateKeySigner,
        implementation: Address,
        calls: &[Call],
    ) -> Result<TxHash, Error> {
        let chain_id = self.provider.get_chain_id().await.map_err(rpc_error)?;
        let nonce = self.provider.get_transaction_count(eoa.address()).await.map_err(rpc_error)?;
        // The sender is the authority, so its nonce is already used by the transaction itself: sign nonce + 1.
        let auth = Authorization { chain_id: U256::from(chain_id), address: implementation, nonce: nonce + 1 };
        let signature = eoa.sign_hash_sync(&auth.signature_hash()).map_err(|e| Error::Signing(e.to_string()))?;
        let tx = TransactionRequest::default()
            .with_to(eoa.address())
            .with_input(encode::execute(calls, true))
            .with_authorization_list(vec![auth.into_signed(signature)])
            .with_nonce(nonce)
            // Gas is set, not estimated: estimating a self-sponsored delegation trips over its own nonce bump.
            .with_gas_limit(1_000_000 + 200_000 * u64::try_from(calls.len()).unwrap_or(u64::MAX / 400_000));
        let receipt =
            self.provider.send_transaction(tx).await.map_err(rpc_error)?.get_receipt().await.map_err(rpc_error)?;
        if !receipt.status() {
            return Err(Error::Rpc(format!("delegation transaction {} reverted", receipt.transaction_hash)));
        }
        Ok(receipt.transaction_hash)
    }

    /// The registered keys with their status and time left, at the latest block's time.
    pub async fn keys(&self) -> Result<Vec<KeyInfo>, Error> {
        let now = self.now().await?;
        let count: U256 = self.view(self.address, IKeyward::keyCountCall {}).await?;
        let mut out = Vec::with_capacity(count.to::<usize>());
        for i in 0..count.to::<u64>() {
            let key: Key = self.view(self.address, IKeyward::keyAtCall { index: U256::from(i) }).await?;
            let key_hash = key.hash();
            let raw: U256 = self.view(self.address, IKeyward::getKeySettingsCall { keyHash: key_hash }).await?;
            let settings = Settings::try_from(raw)?;
            let expiration = settings.expiration();
            out.push(KeyInfo {
                key,
                key_hash,
                settings,
                status: status_at(settings, now),
                time_left: (expiration != 0).then(|| expiration.saturating_sub(now)),
            });
        }
        Ok(out)
    }

    /// A registered key's settings (`KeyDoesNotExist` otherwise; the root's are admin, no expiry, no hook).
    pub async fn settings(&self, key_hash: B256) -> Result<Settings, Error> {
        let raw: U256 = self.view(self.address, IKeyward::getKeySettingsCall { keyHash: key_hash }).await?;
        Settings::try_from(raw)
    }

    /// A key's status now (`Revoked` when it is not registered).
    pub async fn status(&self, key_hash: B256) -> Result<KeyStatus, Error> {
        if !self.view(self.address, IKeyward::isRegisteredCall { keyHash: key_hash }).await? {
            return Ok(KeyStatus::Revoked);
        }
        let raw: U256 = self.view(self.address, IKeyward::getKeySettingsCall { keyHash: key_hash }).await?;
        Ok(status_at(Settings::try_from(raw)?, self.now().await?))
    }

    /// The latest block's timestamp.
    pub async fn now(&self) -> Result<u64, Error> {
        let block = self
            .provider
            .get_block_by_number(alloy::eips::BlockNumberOrTag::Latest)
            .await
            .map_err(rpc_error)?
            .ok_or_else(|| Error::Rpc("no latest block".into()))?;
        Ok(block.header.timestamp)
    }

    /// The account's EIP-712 domain (chain and implementation read from the chain).
    pub async fn domain(&self) -> Result<alloy::dyn_abi::Eip712Domain, Error> {
        let d = self.view(self.address, IKeyward::eip712DomainCall {}).await?;
        Ok(alloy::dyn_abi::Eip712Domain::new(
            Some(d.name.into()),
            Some(d.version.into()),
            Some(d.chainId),
            Some(d.verifyingContract),
            Some(d.salt),
        ))
    }

    /// ERC-7821 `execute` sent by the provider's wallet, which must be a registered secp256k1 key (its
    /// transaction is the signature).
    pub async fn execute_direct(&self, calls: &[Call]) -> Result<TxHash, Error> {
        self.execute_as_root(calls).await
    }

    /// The relayed path: `signer` signs a batch in its reserved nonce lane 0; the provider's wallet relays it.
    pub async fn execute_relayed(&self, signer: &dyn KeySigner, calls: &[Call]) -> Result<TxHash, Error> {
        let (batch, signature) = self.signed_batch(signer, calls, Lane::default()).await?;
        self.relay(batch, signature).await
    }

    /// A batch of `calls` signed by `signer` in nonce lane `lane` (any relayer, no deadline), to hand to a relayer
    /// or to [`Self::relay`]. Each lane has its own sequence, so batches in different lanes are independent: an
    /// agent can keep several in flight and they land in any order. `lane` is [`Lane::Reserved`] (the key's own) or
    /// an explicit lane key (a `U192`; open lanes are shared by every key).
    pub async fn signed_batch(
        &self,
        signer: &dyn KeySigner,
        calls: &[Call],
        lane: impl Into<Lane>,
    ) -> Result<(SignedBatchedCall, Bytes), Error> {
        let key_hash = signer.key_hash();
        let lane = self.lane_key(key_hash, lane.into()).await?;
        let seq: U256 = self.view(self.address, IKeyward::getSeqCall { key: U256::from(lane) }).await?;
        let batch = SignedBatchedCall {
            batchedCall: BatchedCall { calls: calls.to_vec(), revertOnFailure: true },
            nonce: (U256::from(lane) << 64) | seq,
            keyHash: key_hash,
            executor: Address::ZERO,
            deadline: U256::ZERO,
        };
        let signature = signer.sign_batch(&batch, &self.domain().await?, Bytes::new())?;
        Ok((batch, signature))
    }

    /// Relays a signed batch with the provider's wallet.
    pub async fn relay(&self, batch: SignedBatchedCall, signature: Bytes) -> Result<TxHash, Error> {
        let input = IKeyward::execute_2Call { signedBatchedCall: batch, wrappedSignature: signature }.abi_encode();
        self.send(TransactionRequest::default().with_to(self.address).with_input(input)).await
    }

    /// Builds and signs a user operation of `calls` for `signer` in its reserved EntryPoint nonce lane 0.
    pub async fn user_op(
        &self,
        signer: &dyn KeySigner,
        calls: &[Call],
        entry_point: Address,
    ) -> Result<PackedUserOperation, Error> {
        self.user_op_in_lane(signer, calls, entry_point, Lane::default()).await
    }

    /// Builds and signs a user operation of `calls` for `signer` in EntryPoint nonce lane `lane` (the nonce's
    /// 192-bit key; [`Lane::Reserved`] is the key's own): operations in different lanes do not wait for each other.
    pub async fn user_op_in_lane(
        &self,
        signer: &dyn KeySigner,
        calls: &[Call],
        entry_point: Address,
        lane: impl Into<Lane>,
    ) -> Result<PackedUserOperation, Error> {
        let lane = self.lane_key(signer.key_hash(), lane.into()).await?;
        let mut builder =
            userop::UserOpBuilder::new(self.address, self.entry_point_nonce_in_lane(entry_point, lane).await?);
        for call in calls {
            builder = builder.call(call.clone());
        }
        self.sign_user_op(builder.build(), signer, entry_point).await
    }

    /// The next EntryPoint nonce of this account in the open lane 0, to start a [`userop::UserOpBuilder`] (Calibur
    /// clients' lane; [`Self::entry_point_nonce_in_lane`] with [`Self::reserved_lane`] for a key's own).
    pub async fn entry_point_nonce(&self, entry_point: Address) -> Result<U256, Error> {
        self.entry_point_nonce_in_lane(entry_point, U192::ZERO).await
    }

    /// The next EntryPoint nonce of this account in lane `lane` (the full nonce: `lane << 64 | sequence`).
    pub async fn entry_point_nonce_in_lane(&self, entry_point: Address, lane: U192) -> Result<U256, Error> {
        self.view(entry_point, IEntryPoint::getNonceCall { sender: self.address, key: lane }).await
    }

    /// Signs a built operation (fees, paymaster, ... as the builder set them) for `signer`. For a key whose
    /// settings carry [`Flags::GAS_BUDGET`], the signature names the current gas window ([`Self::gas_window`]).
    pub async fn sign_user_op(
        &self,
        mut op: PackedUserOperation,
        signer: &dyn KeySigner,
        entry_point: Address,
    ) -> Result<PackedUserOperation, Error> {
        let chain_id = self.provider.get_chain_id().await.map_err(rpc_error)?;
        let window = self.gas_window(signer.key_hash()).await?;
        let hash = userop::user_op_hash(&op, entry_point, chain_id, None);
        op.signature = signer.sign_user_op_in_window(hash, Bytes::new(), window)?;
        Ok(op)
    }

    /// Sends signed operations through `entry_point.handleOps` with the provider's wallet as bundler.
    pub async fn handle_ops(&self, ops: Vec<PackedUserOperation>, entry_point: Address) -> Result<TxHash, Error> {
        let key_hashes: Vec<B256> = ops.iter().filter_map(signature_key_hash).collect();
        let tx = self.handle_ops_tx(ops, entry_point).await?;
        if let Err(e) = self.check(&tx).await {
            return Err(self.attribute(e, &key_hashes).await);
        }
        handle_ops_outcome(&self.send_checked(tx).await?)
    }

    /// `PaymasterRequired()` is an error of the account (a key with SPONSORED_ONLY) and of the PolicyHook (a key
    /// without a gas budget) with the same selector: it is the hook's unless one of the keys carries SPONSORED_ONLY.
    async fn attribute(&self, e: Error, key_hashes: &[B256]) -> Error {
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

    async fn handle_ops_tx(
        &self,
        ops: Vec<PackedUserOperation>,
        entry_point: Address,
    ) -> Result<TransactionRequest, Error> {
        let beneficiary = self.provider.get_accounts().await.map_err(rpc_error)?.first().copied().unwrap_or_default();
        Ok(TransactionRequest::default().with_to(entry_point).with_input(handle_ops_call_data(ops, beneficiary)))
    }

    /// ERC-4337: sends `calls` as a user operation signed by `signer` (in its reserved lane 0, naming the gas window
    /// when its settings carry GAS_BUDGET) through `entry_point.handleOps`, with the provider's wallet as bundler and
    /// beneficiary (local chains; use a bundler elsewhere).
    ///
    /// Both phases are simulated first, in the EntryPoint's order: validation (an `eth_call` of `handleOps`: a bad
    /// signature or an expired key gets the EntryPoint's reason, e.g. `AA22`), then execution
    /// ([`Self::simulate_user_op`]: a spend limit or a call the hook does not allow gets its typed error). A refused
    /// operation is never sent, so a refusal costs no gas.
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
        let op = self.user_op_in_lane(signer, calls, entry_point, lane).await?;
        let tx = self.handle_ops_tx(vec![op.clone()], entry_point).await?;
        if let Err(e) = self.check(&tx).await {
            return Err(self.attribute(e, &[signer.key_hash()]).await);
        }
        self.simulate_user_op(&op, entry_point).await?;
        handle_ops_outcome(&self.send_checked(tx).await?)
    }

    /// Simulates the execution phase of `op` (an `eth_call` of the account's `executeUserOp` from `entry_point`,
    /// on the latest state) and returns the typed error the account or its hook would revert with. The signature is
    /// not checked here: that is the validation phase, which the EntryPoint runs in `handleOps`.
    pub async fn simulate_user_op(&self, op: &PackedUserOperation, entry_point: Address) -> Result<(), Error> {
        let input = IKeyward::executeUserOpCall { userOp: op.clone(), userOpHash: B256::ZERO }.abi_encode();
        let tx = TransactionRequest::default().with_from(entry_point).with_to(self.address).with_input(input);
        match self.provider.call(tx).await {
            Ok(_) => Ok(()),
            Err(e) => Err(revert_error(&e, revert_data(&e))),
        }
    }

    /// Grants, updates, revocations, uses, EntryPoint changes, gas budgets, nonce invalidations, salt changes and
    /// native approvals from `from_block` to the latest block, in order.
    pub async fn key_events(&self, from_block: u64) -> Result<Vec<KeyEvent>, Error> {
        self.read_key_events(Filter::new().from_block(from_block)).await
    }

    /// The same events in blocks `from_block..=to_block`, in order.
    pub async fn key_events_between(&self, from_block: u64, to_block: u64) -> Result<Vec<KeyEvent>, Error> {
        self.read_key_events(Filter::new().from_block(from_block).to_block(to_block)).await
    }

    async fn read_key_events(&self, filter: Filter) -> Result<Vec<KeyEvent>, Error> {
        let filter = filter.address(self.address).event_signature(vec![
            IKeyward::Registered::SIGNATURE_HASH,
            IKeyward::KeySettingsUpdated::SIGNATURE_HASH,
            IKeyward::Revoked::SIGNATURE_HASH,
            IKeyward::AllKeysRevoked::SIGNATURE_HASH,
            IKeyward::KeyUsed::SIGNATURE_HASH,
            IKeyward::EntryPointUpdated::SIGNATURE_HASH,
            IKeyward::GasBudgetSet::SIGNATURE_HASH,
            IKeyward::NonceInvalidated::SIGNATURE_HASH,
            IKeyward::EIP712DomainChanged::SIGNATURE_HASH,
            IKeyward::ApproveNative::SIGNATURE_HASH,
        ]);
        let logs = self.provider.get_logs(&filter).await.map_err(rpc_error)?;
        let mut out = Vec::with_capacity(logs.len());
        for log in logs {
            let block = log.block_number.unwrap_or_default();
            let tx = log.transaction_hash.unwrap_or_default();
            let decoded = IKeyward::IKeywardEvents::decode_log(&log.inner).map_err(|e| Error::Rpc(e.to_string()))?;
            out.push(match decoded.data {
                IKeyward::IKeywardEvents::Registered(e) => KeyEvent::Registered { key_hash: e.keyHash, block, tx },
                IKeyward::IKeywardEvents::KeySettingsUpdated(e) => {
                    KeyEvent::SettingsUpdated { key_hash: e.keyHash, settings: e.settings, block, tx }
                }
                IKeyward::IKeywardEvents::Revoked(e) => KeyEvent::Revoked { key_hash: e.keyHash, block, tx },
                IKeyward::IKeywardEvents::AllKeysRevoked(e) => KeyEvent::AllRevoked { epoch: e.epoch, block, tx },
                IKeyward::IKeywardEvents::KeyUsed(e) => KeyEvent::Used { key_hash: e.keyHash, block, tx },
                IKeyward::IKeywardEvents::EntryPointUpdated(e) => {
                    KeyEvent::EntryPointUpdated { entry_point: e.newEntryPoint, block, tx }
                }
                IKeyward::IKeywardEvents::GasBudgetSet(e) => {
                    KeyEvent::GasBudgetSet { key_hash: e.keyHash, budget: e.budget, block, tx }
                }
                IKeyward::IKeywardEvents::NonceInvalidated(e) => {
                    KeyEvent::NonceInvalidated { nonce: e.nonce, block, tx }
                }
                IKeyward::IKeywardEvents::EIP712DomainChanged(_) => KeyEvent::DomainChanged { block, tx },
                IKeyward::IKeywardEvents::ApproveNative(e) => {
                    KeyEvent::NativeApproved { spender: e.spender, value: e.value, block, tx }
                }
                // Not in the filter.
                _ => continue,
            });
        }
        Ok(out)
    }
}

/// The key hash a Keyward user operation's signature names (its first word).
fn signature_key_hash(op: &PackedUserOperation) -> Option<B256> {
    (op.signature.len() >= 32).then(|| B256::from_slice(&op.signature[..32]))
}

/// The outcome of a mined `handleOps`: it succeeds even when an operation's execution reverts, and the EntryPoint
/// reports that in its events.
fn handle_ops_outcome(receipt: &alloy::rpc::types::TransactionReceipt) -> Result<TxHash, Error> {
    for log in receipt.inner.logs() {
        if let Ok(event) = log.log_decode::<IEntryPoint::UserOperationRevertReason>() {
            return Err(revert_error(&"user operation reverted", Some(event.inner.data.revertReason)));
        }
        if let Ok(event) = log.log_decode::<IEntryPoint::UserOperationEvent>()
            && !event.inner.data.success
        {
            return Err(Error::UserOpRejected("the operation's execution reverted".into()));
        }
    }
    Ok(receipt.transaction_hash)
}

fn quantity(v: U256) -> String {
    format!("{v:#x}")
}

/// A packed user operation in the unpacked JSON form bundlers take (`eth_sendUserOperation`, EntryPoint v0.7/v0.8).
pub fn user_op_json(op: &PackedUserOperation) -> serde_json::Value {
    use serde_json::json;
    let high = |w: B256| U256::from_be_bytes(w.0) >> 128;
    let low = |w: B256| U256::from_be_bytes(w.0) & U256::from(u128::MAX);
    let mut v = json!({
        "sender": op.sender,
        "nonce": quantity(op.nonce),
        "callData": op.callData,
        "verificationGasLimit": quantity(high(op.accountGasLimits)),
        "callGasLimit": quantity(low(op.accountGasLimits)),
        "preVerificationGas": quantity(op.preVerificationGas),
        "maxPriorityFeePerGas": quantity(high(op.gasFees)),
        "maxFeePerGas": quantity(low(op.gasFees)),
        "signature": op.signature,
    });
    if op.initCode.len() >= 20 {
        v["factory"] = json!(Address::from_slice(&op.initCode[..20]));
        v["factoryData"] = json!(Bytes::copy_from_slice(&op.initCode[20..]));
    }
    if op.paymasterAndData.len() >= 52 {
        let pd = &op.paymasterAndData;
        v["paymaster"] = json!(Address::from_slice(&pd[..20]));
        v["paymasterVerificationGasLimit"] = json!(quantity(U256::from_be_slice(&pd[20..36])));
        v["paymasterPostOpGasLimit"] = json!(quantity(U256::from_be_slice(&pd[36..52])));
        v["paymasterData"] = json!(Bytes::copy_from_slice(&pd[52..]));
    }
    v
}

/// Submits `op` to a bundler (`eth_sendUserOperation`); returns the userOpHash the bundler answers.
pub async fn send_to_bundler<B: Provider>(
    bundler: &B,
    op: &PackedUserOperation,
    entry_point: Address,
) -> Result<B256, Error> {
    bundler
        .raw_request::<_, B256>("eth_sendUserOperation".into(), (user_op_json(op), entry_point))
        .await
        .map_err(rpc_error)
}
