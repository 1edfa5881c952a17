//! One call to prepare a session key's user operation and one to send it, over either route:
//!
//! - [`Account::prepare`] fills the nonce (the key's reserved lane 0 unless told otherwise) and the gas window,
//!   takes fees from the [`Pricing`] the caller chose, estimates gas with a stub signature (the bundler's
//!   `eth_estimateUserOperationGas`, or on the `handleOps` route by simulation on the node), signs once, and by
//!   default simulates the signed operation (validation as the EntryPoint runs it, then execution): an operation
//!   the account, the key's hook or the EntryPoint refuses is a typed [`Error`] and is never sent.
//! - [`Account::send`] submits it (`handleOps` from the provider's wallet, or the bundler's
//!   `eth_sendUserOperation`), waits for it to be mined and returns a [`UserOpReceipt`]; an operation mined with a
//!   reverted execution is [`Error::UserOpReverted`] with the decoded revert.
//!
//! Every failure is classified by [`Error::kind`] the same way on both routes.

use std::time::Duration;

use alloy::{
    dyn_abi::Eip712Domain,
    eips::eip7702::SignedAuthorization,
    network::TransactionBuilder,
    primitives::{Address, B256, Bytes, TxHash, U256},
    providers::Provider,
    rpc::types::TransactionRequest,
    sol_types::SolCall,
};

use crate::{
    Error, KeySigner, ROOT_KEY_HASH,
    bindings::{Call, IKeyward, PackedUserOperation, policy::CoSignature},
    bundler::{
        self, BundlerClient, Eip7702Auth, Factory, FeeSource, Fees, GasEstimate, UserOperation, UserOperationReceipt,
    },
    client::{
        Account, Lane,
        revert::call_error,
        user_ops::{IEntryPoint, handle_ops_call_data, user_op_outcomes},
    },
    cosign, encode, userop,
};

/// What the EntryPoint itself spends in an operation's validation on top of the account's `validateUserOp`
/// (copying and hashing the operation, the nonce write, the prefund check), added to the simulated estimate on
/// the `handleOps` route; the EntryPoint refuses an operation whose validation passes its verificationGasLimit
/// (AA26), which the simulation of the signed operation then reports.
pub const ENTRY_POINT_VALIDATION_OVERHEAD: u128 = 40_000;

/// Where a user operation goes.
#[derive(Clone, Debug)]
pub enum UserOpRoute {
    /// `entry_point.handleOps([op], beneficiary)` in a transaction of the provider's wallet, which is paid back as
    /// the beneficiary at the operation's fees: a local chain, a test, or a backend acting as its own bundler.
    HandleOps {
        /// The EntryPoint (v0.8).
        entry_point: Address,
    },
    /// An ERC-4337 bundler (its client's EntryPoint), which prices, checks and bundles the operation.
    Bundler {
        /// The bundler.
        client: BundlerClient,
        /// How long [`Account::send`] waits for the operation to be mined.
        receipt_timeout: Duration,
    },
}

impl UserOpRoute {
    /// The `handleOps` route.
    pub fn handle_ops(entry_point: Address) -> Self {
        Self::HandleOps { entry_point }
    }

    /// The bundler route; [`Account::send`] waits up to `receipt_timeout` for the receipt.
    pub fn bundler(client: BundlerClient, receipt_timeout: Duration) -> Self {
        Self::Bundler { client, receipt_timeout }
    }

    /// The EntryPoint the route submits to.
    pub fn entry_point(&self) -> Address {
        match self {
            Self::HandleOps { entry_point } => *entry_point,
            Self::Bundler { client, .. } => client.entry_point(),
        }
    }

    fn client(&self) -> Option<&BundlerClient> {
        match self {
            Self::HandleOps { .. } => None,
            Self::Bundler { client, .. } => Some(client),
        }
    }
}

/// Where the fee caps of an operation come from. There is no default: fees are money.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Pricing {
    /// The bundler's own price (`pimlico_getUserOperationGasPrice`, standard tier: what Alto accepts), or the
    /// node's when the bundler has no such method ([`BundlerClient::fees`]). The bundler route only.
    Bundler,
    /// The node's fee history (alloy's EIP-1559 estimator), else its `eth_gasPrice`.
    Node,
    /// These caps (a nonzero fee cap, a priority fee no higher).
    Fixed(Fees),
    /// Zero fees, explicitly: whoever submits the operation pays its gas and is not paid back (a local chain or a
    /// submitter that sponsors; bundlers refuse such operations).
    Zero,
}

/// A paymaster for an operation.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Paymaster {
    /// The paymaster contract.
    pub address: Address,
    /// Its data.
    pub data: Bytes,
    /// Gas for its validation (`None`: estimated by the bundler; the `handleOps` route needs it set).
    pub verification_gas_limit: Option<u128>,
    /// Gas for its `postOp` (`None`: estimated by the bundler; the `handleOps` route needs it set).
    pub post_op_gas_limit: Option<u128>,
}

/// What to prepare: a key's calls, how to price them, and the options. Built with [`UserOpRequest::new`].
///
/// ```no_run
/// use alloy::{primitives::{Address, U256}, providers::DynProvider};
/// use keyward::{Error, ErrorKind, P256KeySigner, bindings::Call, client::{Account, Pricing, UserOpRequest, UserOpRoute}};
///
/// # async fn run(account: Account<DynProvider>, session: P256KeySigner) -> Result<(), Error> {
/// let route = UserOpRoute::handle_ops(keyward::userop::ENTRY_POINT_V08);
/// let pay = Call { to: Address::repeat_byte(0x5e), value: U256::from(1_000), data: Default::default() };
/// match account.prepare(&route, UserOpRequest::new(&session, [pay], Pricing::Node)).await {
///     Ok(op) => println!("paid: {:?}", account.send(&route, &op).await?),
///     Err(e) if e.kind() == ErrorKind::RefusedByPolicy => println!("refused, nothing sent: {:?}", e.revert()),
///     Err(e) => return Err(e),
/// }
/// # Ok(()) }
/// ```
#[derive(Clone)]
#[must_use]
pub struct UserOpRequest<'a> {
    signer: &'a dyn KeySigner,
    calls: Vec<Call>,
    pricing: Pricing,
    revert_on_failure: bool,
    lane: Lane,
    nonce: Option<U256>,
    gas: Option<GasEstimate>,
    paymaster: Option<Paymaster>,
    hook_data: Bytes,
    co_signers: Vec<&'a dyn KeySigner>,
    authorization: Option<SignedAuthorization>,
    simulate: bool,
}

impl std::fmt::Debug for UserOpRequest<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("UserOpRequest")
            .field("key_hash", &self.signer.key_hash())
            .field("calls", &self.calls)
            .field("pricing", &self.pricing)
            .field("lane", &self.lane)
            .field("nonce", &self.nonce)
            .field("gas", &self.gas)
            .field("paymaster", &self.paymaster)
            .field("co_signers", &self.co_signers.iter().map(|s| s.key_hash()).collect::<Vec<_>>())
            .field("authorization", &self.authorization)
            .field("simulate", &self.simulate)
            .finish_non_exhaustive()
    }
}

impl<'a> UserOpRequest<'a> {
    /// `calls` as one batch signed by `signer`, priced by `pricing`; by default in the key's reserved lane 0, gas
    /// estimated, no paymaster, simulated before it is returned, the batch reverting as a whole when a call fails.
    pub fn new(signer: &'a dyn KeySigner, calls: impl IntoIterator<Item = Call>, pricing: Pricing) -> Self {
        Self {
            signer,
            calls: calls.into_iter().collect(),
            pricing,
            revert_on_failure: true,
            lane: Lane::default(),
            nonce: None,
            gas: None,
            paymaster: None,
            hook_data: Bytes::new(),
            co_signers: Vec::new(),
            authorization: None,
            simulate: true,
        }
    }

    /// The EntryPoint nonce lane ([`Lane::Reserved`] index, or an explicit lane key).
    pub fn lane(mut self, lane: impl Into<Lane>) -> Self {
        self.lane = lane.into();
        self
    }

    /// An explicit full nonce (`lane << 64 | sequence`) instead of the lane's next one.
    pub fn nonce(mut self, nonce: U256) -> Self {
        self.nonce = Some(nonce);
        self
    }

    /// Explicit gas limits instead of an estimate (each nonzero but the pre-verification gas).
    pub fn gas(mut self, gas: GasEstimate) -> Self {
        self.gas = Some(gas);
        self
    }

    /// A paymaster pays the gas.
    pub fn paymaster(mut self, paymaster: Paymaster) -> Self {
        self.paymaster = Some(paymaster);
        self
    }

    /// Data for the key's hook (the signature envelope's `hookData`).
    pub fn hook_data(mut self, hook_data: Bytes) -> Self {
        self.hook_data = hook_data;
        self
    }

    /// A co-signature by `co_signer` (the root's [`crate::RootSigner`], or a registered key of the account) for
    /// the PolicyHook's step-up and consensus: it signs the operation's `userOpHash` under the account's domain
    /// ([`crate::cosign::digest`]) once the operation is final, and the co-signatures become the hook data
    /// (`abi.encode(CoSignature[])`). Call once per co-signer; not with [`Self::hook_data`].
    pub fn co_signed_by(mut self, co_signer: &'a dyn KeySigner) -> Self {
        self.co_signers.push(co_signer);
        self
    }

    /// Whether a failing call reverts the batch (default) or is skipped.
    pub fn revert_on_failure(mut self, revert: bool) -> Self {
        self.revert_on_failure = revert;
        self
    }

    /// Gasless onboarding: the operation carries the EOA's signed EIP-7702 authorization
    /// (`Account::sign_authorization`), which the bundler puts in its transaction (`eip7702Auth`, with the
    /// `0x7702` factory marker; EntryPoint v0.8 hashes the delegate in). The root signs such an operation (there
    /// is no other key yet), and its calls can grant the first session key. The bundler route only.
    pub fn eip7702_authorization(mut self, authorization: SignedAuthorization) -> Self {
        self.authorization = Some(authorization);
        self
    }

    /// Returns the signed operation without simulating it (it is simulated by default: a refused operation is an
    /// error and never sent). For operations meant to fail on chain, or when the simulation is done elsewhere.
    pub fn skip_simulation(mut self) -> Self {
        self.simulate = false;
        self
    }
}

/// A signed operation, ready for [`Account::send`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PreparedUserOp {
    /// The operation (the bundler JSON form; [`PreparedUserOp::packed`] for `handleOps`).
    pub op: UserOperation,
    /// Its EntryPoint v0.8 hash (what the key signed).
    pub user_op_hash: B256,
    /// The EntryPoint.
    pub entry_point: Address,
    /// The chain.
    pub chain_id: u64,
    /// The signing key (`ROOT_KEY_HASH` for the root).
    pub key_hash: B256,
    /// The gas window the signature names (keys with a periodic gas budget).
    pub gas_window: Option<u64>,
    /// Where its fees came from.
    pub fee_source: FeeSource,
    /// Whether it was simulated after signing (an operation carrying an EIP-7702 authorization for an EOA not yet
    /// delegated is simulated by the bundler's estimate only: the node cannot apply the authorization).
    pub simulated: bool,
}

impl PreparedUserOp {
    /// The packed form the EntryPoint takes.
    pub fn packed(&self) -> PackedUserOperation {
        self.op.packed()
    }

    /// The most the operation can cost its payer (the account, or the paymaster): every gas limit at the fee cap.
    pub fn max_cost(&self) -> U256 {
        let op = &self.op;
        let gas = U256::from(op.verification_gas_limit)
            + U256::from(op.call_gas_limit)
            + op.pre_verification_gas
            + U256::from(op.paymaster_verification_gas_limit.unwrap_or_default())
            + U256::from(op.paymaster_post_op_gas_limit.unwrap_or_default());
        gas * U256::from(op.max_fee_per_gas)
    }
}

/// A mined operation whose execution succeeded.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct UserOpReceipt {
    /// The operation.
    pub user_op_hash: B256,
    /// The bundle transaction.
    pub transaction_hash: TxHash,
    /// Its block.
    pub block_number: u64,
    /// The account.
    pub sender: Address,
    /// The operation's nonce.
    pub nonce: U256,
    /// The paymaster, when one paid.
    pub paymaster: Option<Address>,
    /// What the payer was charged, in wei.
    pub actual_gas_cost: U256,
    /// Gas charged.
    pub actual_gas_used: U256,
}

impl UserOpReceipt {
    fn from_bundler(r: &UserOperationReceipt) -> Result<Self, Error> {
        if !r.success {
            return Err(Error::UserOpReverted {
                user_op_hash: r.user_op_hash,
                transaction_hash: r.receipt.transaction_hash,
                revert: r.revert().map(Box::new),
            });
        }
        Ok(Self {
            user_op_hash: r.user_op_hash,
            transaction_hash: r.receipt.transaction_hash,
            block_number: r.receipt.block_number,
            sender: r.sender,
            nonce: r.nonce,
            paymaster: r.paymaster.filter(|p| *p != Address::ZERO),
            actual_gas_cost: r.actual_gas_cost,
            actual_gas_used: r.actual_gas_used,
        })
    }
}

/// Refuses fee caps that are zero or upside down.
fn checked_fees(fees: Fees) -> Result<Fees, Error> {
    if fees.max_fee_per_gas == 0 {
        return Err(Error::ZeroFees);
    }
    if fees.max_priority_fee_per_gas > fees.max_fee_per_gas {
        return Err(Error::FeesInverted {
            max_fee_per_gas: fees.max_fee_per_gas,
            max_priority_fee_per_gas: fees.max_priority_fee_per_gas,
        });
    }
    Ok(fees)
}

/// The signature envelope: key hash, raw signature, hook data, and the gas window when the key names one.
fn envelope(key_hash: B256, signature: Bytes, hook_data: Bytes, window: Option<u64>) -> Bytes {
    match window {
        Some(w) => userop::wrap_signature_in_window(key_hash, signature, hook_data, w),
        None => userop::wrap_signature(key_hash, signature, hook_data),
    }
}

/// Hook data with the co-signers' stub signatures, for gas estimation (the hook counts none of them then).
fn stub_co_signatures(co_signers: &[&dyn KeySigner]) -> Result<Bytes, Error> {
    let stubs = co_signers
        .iter()
        .map(|c| Ok(CoSignature { keyHash: c.key_hash(), signature: c.stub_signature()? }))
        .collect::<Result<Vec<_>, Error>>()?;
    Ok(cosign::user_op_hook_data(&stubs))
}

/// Hook data with the co-signers' signatures of `user_op_hash` under the account's `domain`.
fn co_signatures(co_signers: &[&dyn KeySigner], domain: &Eip712Domain, user_op_hash: B256) -> Result<Bytes, Error> {
    let signatures =
        co_signers.iter().map(|c| cosign::sign(*c, domain, user_op_hash)).collect::<Result<Vec<_>, Error>>()?;
    Ok(cosign::user_op_hook_data(&signatures))
}

/// Refuses an operation whose gas limits were not all set (explicit gas without a limit, an estimate without the
/// paymaster's).
fn check_gas(op: &UserOperation) -> Result<(), Error> {
    if op.verification_gas_limit == 0 {
        return Err(Error::MissingGasLimit { field: "verificationGasLimit" });
    }
    if op.call_gas_limit == 0 {
        return Err(Error::MissingGasLimit { field: "callGasLimit" });
    }
    if op.paymaster.is_some() {
        if op.paymaster_verification_gas_limit.is_none_or(|g| g == 0) {
            return Err(Error::MissingGasLimit { field: "paymasterVerificationGasLimit" });
        }
        if op.paymaster_post_op_gas_limit.is_none() {
            return Err(Error::MissingGasLimit { field: "paymasterPostOpGasLimit" });
        }
    }
    Ok(())
}

impl<P: Provider> Account<P> {
    /// Refuses an EIP-7702 authorization that cannot work: not on the bundler route, not signed by the root, or
    /// not by this account's EOA.
    fn check_authorization(
        &self,
        authorization: Option<&SignedAuthorization>,
        bundler: bool,
        key_hash: B256,
    ) -> Result<(), Error> {
        if let Some(auth) = authorization {
            if !bundler {
                return Err(Error::InvalidRequest(
                    "an EIP-7702 authorization in a user operation needs the bundler route (its transaction carries it)",
                ));
            }
            if key_hash != ROOT_KEY_HASH {
                return Err(Error::InvalidRequest(
                    "the operation that delegates the account must be signed by its root key",
                ));
            }
            let authority = auth
                .signature()
                .and_then(|s| s.recover_address_from_prehash(&auth.inner().signature_hash()))
                .map_err(Error::signing)?;
            if authority != self.address {
                return Err(Error::WrongWallet { account: self.address, wallet: authority });
            }
        }
        Ok(())
    }

    /// Prepares `request` for `route`: nonce, gas window, fees from its [`Pricing`], gas estimated with a stub
    /// signature (or as given), signed once, then simulated (unless [`UserOpRequest::skip_simulation`]). A refusal
    /// found on the way (the PolicyHook's, the account's, the EntryPoint's) is returned as a typed error and nothing
    /// is sent; [`Error::kind`] says whether it is the policy, the key, the network or the request.
    ///
    /// The simulation runs at the node's time. A bundler also checks the key's window against its own clock with a
    /// margin (Alto refuses an operation whose key expires within 5 seconds): such an operation prepares, then
    /// [`Self::send`] fails with the bundler's `-32503`, classified [`ErrorKind::KeyExpiredOrRevoked`], and it is
    /// never mined.
    ///
    /// [`ErrorKind::KeyExpiredOrRevoked`]: crate::ErrorKind::KeyExpiredOrRevoked
    pub async fn prepare(&self, route: &UserOpRoute, request: UserOpRequest<'_>) -> Result<PreparedUserOp, Error> {
        let bundler = route.client();
        let entry_point = route.entry_point();
        if bundler.is_none() && request.pricing == Pricing::Bundler {
            return Err(Error::InvalidRequest("Pricing::Bundler needs the bundler route"));
        }
        let signer = request.signer;
        let key_hash = signer.key_hash();
        self.check_authorization(request.authorization.as_ref(), bundler.is_some(), key_hash)?;
        let (fees, fee_source) = match request.pricing {
            Pricing::Bundler => {
                let client = bundler.ok_or(Error::InvalidRequest("Pricing::Bundler needs the bundler route"))?;
                let quote = client.fees(&self.provider).await?;
                (checked_fees(quote.fees)?, quote.source)
            }
            Pricing::Node => {
                let quote = bundler::node_fees(&self.provider).await?;
                (checked_fees(quote.fees)?, quote.source)
            }
            Pricing::Fixed(fees) => (checked_fees(fees)?, FeeSource::Explicit),
            Pricing::Zero => (Fees::default(), FeeSource::Explicit),
        };
        let chain_id = self.chain_id().await?;
        let nonce = if let Some(nonce) = request.nonce {
            nonce
        } else {
            let lane = self.lane_key(key_hash, request.lane).await?;
            self.entry_point_nonce_in_lane(entry_point, lane).await?
        };
        let window = self.gas_window(key_hash).await?;
        let co_signing = !request.co_signers.is_empty();
        if co_signing && !request.hook_data.is_empty() {
            return Err(Error::InvalidRequest(
                "co-signatures are the hook data: give co_signed_by or hook_data, not both",
            ));
        }
        let stub_hook_data =
            if co_signing { stub_co_signatures(&request.co_signers)? } else { request.hook_data.clone() };
        let paymaster = request.paymaster.clone();
        let mut op = UserOperation {
            sender: self.address,
            nonce,
            factory: request.authorization.as_ref().map(|_| Factory::Eip7702),
            factory_data: None,
            call_data: encode::execute_user_op_call_data(&request.calls, request.revert_on_failure),
            call_gas_limit: 0,
            verification_gas_limit: 0,
            pre_verification_gas: U256::ZERO,
            max_fee_per_gas: fees.max_fee_per_gas,
            max_priority_fee_per_gas: fees.max_priority_fee_per_gas,
            paymaster: paymaster.as_ref().map(|p| p.address),
            paymaster_verification_gas_limit: paymaster.as_ref().and_then(|p| p.verification_gas_limit),
            paymaster_post_op_gas_limit: paymaster.as_ref().and_then(|p| p.post_op_gas_limit),
            paymaster_data: paymaster.as_ref().map(|p| p.data.clone()),
            paymaster_signature: None,
            signature: envelope(key_hash, signer.stub_signature()?, stub_hook_data, window),
            eip7702_auth: request.authorization.as_ref().map(Eip7702Auth::from),
        };
        let delegate = request.authorization.as_ref().map(|a| a.address);
        let gas = match (request.gas, bundler) {
            (Some(gas), _) => gas,
            (None, Some(client)) => client.estimate_user_operation_gas(&op).await?,
            (None, None) => {
                let estimate = self.estimate_by_simulation(&op, entry_point, chain_id).await;
                match estimate {
                    Ok(gas) => gas,
                    Err(e) => return Err(self.attribute(e, &[key_hash]).await),
                }
            }
        };
        op = op.with_gas(&gas);
        check_gas(&op)?;
        let user_op_hash = op.hash(entry_point, chain_id, delegate);
        let hook_data = if co_signing {
            co_signatures(&request.co_signers, &self.domain().await?, user_op_hash)?
        } else {
            request.hook_data
        };
        op.signature = envelope(key_hash, signer.sign_digest(user_op_hash)?, hook_data, window);
        let simulated = if request.simulate {
            self.simulate_signed(&op, entry_point, key_hash, user_op_hash).await?
        } else {
            false
        };
        Ok(PreparedUserOp {
            op,
            user_op_hash,
            entry_point,
            chain_id,
            key_hash,
            gas_window: window,
            fee_source,
            simulated,
        })
    }

    /// Sends a prepared operation over `route` and waits for it to be mined: `handleOps` from the provider's wallet
    /// (its transaction's receipt), or the bundler's `eth_sendUserOperation` then its receipt (up to the route's
    /// timeout, [`Error::ReceiptTimeout`] after). A mined operation whose execution reverted is
    /// [`Error::UserOpReverted`].
    pub async fn send(&self, route: &UserOpRoute, prepared: &PreparedUserOp) -> Result<UserOpReceipt, Error> {
        if route.entry_point() != prepared.entry_point {
            return Err(Error::InvalidRequest("the operation was prepared for another EntryPoint"));
        }
        match route {
            UserOpRoute::HandleOps { entry_point } => {
                let tx = self.handle_ops_tx(vec![prepared.packed()], *entry_point).await?;
                let receipt = match self.send_checked(tx).await {
                    Ok(r) => r,
                    Err(e) => return Err(self.attribute(e, &[prepared.key_hash]).await),
                };
                let outcome = user_op_outcomes(&receipt, *entry_point).into_iter().find(|o| match o {
                    Ok(event) => event.userOpHash == prepared.user_op_hash,
                    Err(Error::UserOpReverted { user_op_hash, .. }) => *user_op_hash == prepared.user_op_hash,
                    Err(_) => false,
                });
                let event = outcome.ok_or(Error::UnexpectedAnswer {
                    method: "handleOps",
                    problem: "the receipt has no UserOperationEvent for the operation",
                })??;
                Ok(UserOpReceipt {
                    user_op_hash: event.userOpHash,
                    transaction_hash: receipt.transaction_hash,
                    block_number: receipt.block_number.unwrap_or_default(),
                    sender: event.sender,
                    nonce: event.nonce,
                    paymaster: Some(event.paymaster).filter(|p| *p != Address::ZERO),
                    actual_gas_cost: event.actualGasCost,
                    actual_gas_used: event.actualGasUsed,
                })
            }
            UserOpRoute::Bundler { client, receipt_timeout } => {
                let hash = client.send_user_operation(&prepared.op).await?;
                UserOpReceipt::from_bundler(&client.wait_for_receipt(hash, *receipt_timeout).await?)
            }
        }
    }

    /// Gas limits by simulation on the node, the operation carrying a stub signature: the account's
    /// `validateUserOp` and `executeUserOp` as the EntryPoint calls them (`eth_estimateGas` from the EntryPoint,
    /// which counts the transaction's own 21,000 and call data on top), plus the EntryPoint's validation overhead
    /// ([`ENTRY_POINT_VALIDATION_OVERHEAD`]) and the pre-verification gas of [`userop::pre_verification_gas`].
    /// With fees, validation is measured again at the estimated limits, so that a gas budget's charge (a storage
    /// write that costs more when the amount is not zero) and the prefund transfer are in it.
    async fn estimate_by_simulation(
        &self,
        op: &UserOperation,
        entry_point: Address,
        chain_id: u64,
    ) -> Result<GasEstimate, Error> {
        let first = self.estimate_validation(op, entry_point, chain_id, U256::ZERO).await?;
        let packed = op.packed();
        let hash = op.hash(entry_point, chain_id, None);
        let call = IKeyward::executeUserOpCall { userOp: packed.clone(), userOpHash: hash }.abi_encode();
        let call_gas = self.estimate_from(entry_point, call).await?;
        let mut gas = GasEstimate {
            pre_verification_gas: U256::from(userop::pre_verification_gas(&packed)),
            verification_gas_limit: first + ENTRY_POINT_VALIDATION_OVERHEAD,
            call_gas_limit: u128::from(call_gas),
            paymaster_verification_gas_limit: None,
            paymaster_post_op_gas_limit: None,
        };
        if op.max_fee_per_gas != 0 {
            let priced = op.clone().with_gas(&gas);
            let missing = if priced.paymaster.is_some() {
                U256::ZERO
            } else {
                let max_cost = (U256::from(priced.verification_gas_limit)
                    + U256::from(priced.call_gas_limit)
                    + priced.pre_verification_gas)
                    * U256::from(priced.max_fee_per_gas);
                let deposit = self.view(entry_point, IEntryPoint::balanceOfCall { account: self.address }).await?;
                max_cost.saturating_sub(deposit)
            };
            let second = self.estimate_validation(&priced, entry_point, chain_id, missing).await?;
            gas.verification_gas_limit = first.max(second) + ENTRY_POINT_VALIDATION_OVERHEAD;
        }
        Ok(gas)
    }

    /// `eth_estimateGas` of the account's `validateUserOp(op, hash, missing)` from the EntryPoint.
    async fn estimate_validation(
        &self,
        op: &UserOperation,
        entry_point: Address,
        chain_id: u64,
        missing: U256,
    ) -> Result<u128, Error> {
        let input = IKeyward::validateUserOpCall {
            userOp: op.packed(),
            userOpHash: op.hash(entry_point, chain_id, None),
            missingAccountFunds: missing,
        }
        .abi_encode();
        Ok(u128::from(self.estimate_from(entry_point, input).await?))
    }

    async fn estimate_from(&self, from: Address, input: Vec<u8>) -> Result<u64, Error> {
        let tx = TransactionRequest::default().with_from(from).with_to(self.address).with_input(input);
        self.provider.estimate_gas(tx).await.map_err(|e| call_error("eth_estimateGas", e))
    }

    /// Simulates a signed operation on the node: validation as the EntryPoint runs it (an `eth_call` of
    /// `handleOps`: the signature, the key's window, the nonce, the prefund, the gas policy, the hook), then its
    /// execution ([`Self::simulate_user_op`]; `handleOps` does not revert when execution does). Returns `false`
    /// when it could not: an EOA not delegated yet, whose authorization only the bundler's transaction applies.
    async fn simulate_signed(
        &self,
        op: &UserOperation,
        entry_point: Address,
        key_hash: B256,
        user_op_hash: B256,
    ) -> Result<bool, Error> {
        if op.eip7702_auth.is_some()
            && self.provider.get_code_at(self.address).await.map_err(|e| call_error("eth_getCode", e))?.is_empty()
        {
            return Ok(false);
        }
        let packed = op.packed();
        // Any beneficiary will do for a simulation; the account itself is one that exists.
        let tx = TransactionRequest::default()
            .with_to(entry_point)
            .with_input(handle_ops_call_data(vec![packed.clone()], self.address));
        let result = match self.check(&tx).await {
            Ok(()) => self.simulate_user_op_as(&packed, entry_point, user_op_hash).await,
            Err(e) => Err(e),
        };
        match result {
            Ok(()) => Ok(true),
            Err(e) => Err(self.attribute(e, &[key_hash]).await),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn test_checked_fees_refuses_zero_and_inverted_caps() {
        let fees = |max_fee_per_gas, max_priority_fee_per_gas| Fees { max_fee_per_gas, max_priority_fee_per_gas };
        assert!(matches!(checked_fees(fees(0, 0)), Err(Error::ZeroFees)));
        assert!(matches!(checked_fees(fees(1, 2)), Err(Error::FeesInverted { max_fee_per_gas: 1, .. })));
        assert_eq!(checked_fees(fees(2, 2)).unwrap(), fees(2, 2));
        assert_eq!(checked_fees(fees(2, 0)).unwrap(), fees(2, 0));
    }

    fn op() -> UserOperation {
        UserOperation {
            sender: Address::repeat_byte(1),
            nonce: U256::ZERO,
            factory: None,
            factory_data: None,
            call_data: Bytes::new(),
            call_gas_limit: 1,
            verification_gas_limit: 1,
            pre_verification_gas: U256::ZERO,
            max_fee_per_gas: 10,
            max_priority_fee_per_gas: 1,
            paymaster: None,
            paymaster_verification_gas_limit: None,
            paymaster_post_op_gas_limit: None,
            paymaster_data: None,
            paymaster_signature: None,
            signature: Bytes::new(),
            eip7702_auth: None,
        }
    }

    #[test]
    fn test_check_gas_names_the_missing_limit() {
        assert!(check_gas(&op()).is_ok());
        let field = |op: UserOperation| match check_gas(&op) {
            Err(Error::MissingGasLimit { field }) => field,
            other => panic!("{other:?}"),
        };
        assert_eq!(field(UserOperation { verification_gas_limit: 0, ..op() }), "verificationGasLimit");
        assert_eq!(field(UserOperation { call_gas_limit: 0, ..op() }), "callGasLimit");
        let sponsored = UserOperation { paymaster: Some(Address::repeat_byte(9)), ..op() };
        assert_eq!(field(sponsored.clone()), "paymasterVerificationGasLimit");
        let half = UserOperation { paymaster_verification_gas_limit: Some(5), ..sponsored };
        assert_eq!(field(half.clone()), "paymasterPostOpGasLimit");
        assert!(check_gas(&UserOperation { paymaster_post_op_gas_limit: Some(0), ..half }).is_ok());
    }

    #[test]
    fn test_max_cost_counts_every_limit_at_the_fee_cap() {
        let prepared = PreparedUserOp {
            op: UserOperation {
                verification_gas_limit: 100,
                call_gas_limit: 200,
                pre_verification_gas: U256::from(50),
                paymaster_verification_gas_limit: Some(30),
                paymaster_post_op_gas_limit: Some(20),
                ..op()
            },
            user_op_hash: B256::ZERO,
            entry_point: Address::ZERO,
            chain_id: 1,
            key_hash: B256::ZERO,
            gas_window: None,
            fee_source: FeeSource::Explicit,
            simulated: false,
        };
        assert_eq!(prepared.max_cost(), U256::from(400 * 10));
    }

    #[test]
    fn test_envelope_names_the_window_only_when_given() {
        let three = envelope(B256::repeat_byte(1), Bytes::from(vec![7; 65]), Bytes::new(), None);
        let four = envelope(B256::repeat_byte(1), Bytes::from(vec![7; 65]), Bytes::new(), Some(3));
        assert_eq!(U256::from_be_slice(&three[32..64]), U256::from(0x60));
        assert_eq!(U256::from_be_slice(&four[32..64]), U256::from(0x80));
    }
}
