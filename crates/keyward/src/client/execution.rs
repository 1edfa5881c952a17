//! A key's batches outside ERC-4337: the direct path (the key's own transaction), Calibur's `execute(BatchedCall)`,
//! and relayed signed batches in nonce lanes.

use alloy::{
    network::TransactionBuilder,
    primitives::{Address, B256, Bytes, TxHash, U256, aliases::U192},
    providers::Provider,
    rpc::types::TransactionRequest,
    sol_types::SolCall,
};

use crate::{
    Error, KeySigner,
    bindings::{BatchedCall, Call, IKeyward, SignedBatchedCall},
    client::Account,
    encode,
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

impl<P: Provider> Account<P> {
    /// ERC-7821 `execute` sent by the provider's wallet, which must be a registered secp256k1 key (its
    /// transaction is the signature).
    pub async fn execute_direct(&self, calls: &[Call]) -> Result<TxHash, Error> {
        self.send_tx(TransactionRequest::default().with_to(self.address).with_input(encode::execute(calls, true))).await
    }

    /// A batch with Calibur's `execute(BatchedCall)` (selector `0x99e1d016`, what Calibur clients send), sent by the
    /// provider's wallet: the EOA itself (root), or a registered secp256k1 key (its transaction is the signature).
    pub async fn execute_batch(&self, calls: &[Call], revert_on_failure: bool) -> Result<TxHash, Error> {
        let input = encode::execute_batch(calls, revert_on_failure);
        self.send_tx(TransactionRequest::default().with_to(self.address).with_input(input)).await
    }

    /// The relayed path: `signer` signs a batch in its reserved nonce lane 0; the provider's wallet relays it.
    pub async fn execute_relayed(&self, signer: &dyn KeySigner, calls: &[Call]) -> Result<TxHash, Error> {
        let (batch, signature) = self.signed_batch(signer, calls, Lane::default()).await?;
        self.relay(batch, signature).await
    }

    /// The relayed path with co-signatures (the PolicyHook's step-up and consensus): `signer` signs the batch in
    /// its reserved nonce lane 0, each of `co_signers` (the root's [`crate::RootSigner`] or registered keys)
    /// co-signs the batch's EIP-712 digest ([`crate::cosign::digest`]), and the hook data carries the batch and the
    /// co-signatures (`abi.encode(SignedBatchedCall, CoSignature[])`); the provider's wallet relays it. A key with
    /// co-signers relays through this even when a batch needs none (`co_signers` empty): the hook reads the batch
    /// from the hook data (without it, `CoSignedBatchMismatch`).
    pub async fn execute_relayed_co_signed(
        &self,
        signer: &dyn KeySigner,
        calls: &[Call],
        co_signers: &[&dyn KeySigner],
    ) -> Result<TxHash, Error> {
        let key_hash = signer.key_hash();
        let lane = self.lane_key(key_hash, Lane::default()).await?;
        let seq: U256 = self.view(self.address, IKeyward::getSeqCall { key: U256::from(lane) }).await?;
        let batch = SignedBatchedCall {
            batchedCall: BatchedCall { calls: calls.to_vec(), revertOnFailure: true },
            nonce: (U256::from(lane) << 64) | seq,
            keyHash: key_hash,
            executor: Address::ZERO,
            deadline: U256::ZERO,
        };
        let domain = self.domain().await?;
        let operation = crate::eip712::signed_batch_digest(&batch, &domain);
        let signatures =
            co_signers.iter().map(|c| crate::cosign::sign(*c, &domain, operation)).collect::<Result<Vec<_>, _>>()?;
        let hook_data = crate::cosign::relayed_hook_data(&batch, &signatures);
        let signature = signer.sign_batch(&batch, &domain, hook_data)?;
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
        self.send_tx(TransactionRequest::default().with_to(self.address).with_input(input)).await
    }

    /// The lane key `lane` stands for, for the key `key_hash`.
    pub async fn lane_key(&self, key_hash: B256, lane: Lane) -> Result<U192, Error> {
        match lane {
            Lane::Reserved(index) => self.reserved_lane(key_hash, index).await,
            Lane::Key(key) => Ok(key),
        }
    }
}
