//! The account functions Calibur clients and routers call beyond the basics, and the nonce and gas rules of the
//! redesign, driven from Rust against the real contracts on anvil: Calibur's `execute(BatchedCall)` by the root and
//! by a key's address, `invalidateNonce` and `updateSalt` killing what was signed before, ERC-7914 native
//! allowances, reserved nonce lanes by default (another key cannot burn them; open lanes stay open), and the gas
//! window of a key with a gas budget.

use alloy::{
    network::TransactionBuilder,
    primitives::{
        Address, B256, Bytes, U256,
        aliases::{U96, U192},
    },
    providers::{DynProvider, Provider, ext::AnvilApi},
    rpc::types::TransactionRequest,
    signers::local::PrivateKeySigner,
    sol_types::{SolCall, SolInterface, SolValue},
};
use eyre::{Result, ensure};

use crate::fixture::{Chain, grant, pay};
use keyward::{
    Error, KeySigner, P256KeySigner, RootSigner, Secp256k1Signer, Settings,
    bindings::{Call, IKeyward, IKeyward::IKeywardErrors},
    client::{Account, KeyEvent, Lane, Pricing, UserOpRequest, UserOpRoute},
    eip712, encode, lanes,
    userop::{self, ENTRY_POINT_V08, UserOpBuilder},
};

/// The account's error an `eth_call` from `provider` reverts with.
#[allow(clippy::redundant_closure_for_method_calls)] // the payload type is not re-exported without `json-rpc`
async fn revert_of(provider: &DynProvider, to: Address, input: Bytes) -> Result<IKeywardErrors> {
    let e = provider.call(TransactionRequest::default().with_to(to).with_input(input)).await.expect_err("reverts");
    let data = e.as_error_resp().and_then(|p| p.as_revert_data()).ok_or_else(|| eyre::eyre!("no revert data: {e}"))?;
    Ok(IKeywardErrors::abi_decode(&data)?)
}

#[tokio::test]
#[ignore = "spawns anvil from node_modules: `make test` runs it"]
async fn calibur_batch_by_the_root_and_by_a_key_address() -> Result<()> {
    let session = Secp256k1Signer(PrivateKeySigner::random());
    let chain = Chain::start(&[grant(&session, Settings::builder().build()?)]).await?;
    let user = chain.user();
    let to = Address::repeat_byte(0x71);
    // The root: the EOA's transaction to itself with `execute(BatchedCall)`.
    user.execute_batch(&pay(to, 1), true).await?;
    ensure!(chain.balance(to).await? == U256::from(1));
    // A registered secp256k1 key: its own transaction is the signature.
    let as_key = Account::at(user.address(), chain.funded(&session.0).await?);
    let from = chain.relayer.get_block_number().await? + 1;
    as_key.execute_batch(&pay(to, 2), true).await?;
    ensure!(chain.balance(to).await? == U256::from(3));
    let events = user.key_events(from).await?;
    ensure!(matches!(events.as_slice(), [KeyEvent::Used { key_hash, .. }] if *key_hash == session.key_hash()));
    // ... but it is not an admin: no self-calls, on this path as on every other.
    let e = as_key.execute_batch(&[encode::self_call(encode::revoke_all())], true).await.expect_err("non-admin");
    ensure!(matches!(e, Error::Keyward(IKeywardErrors::OnlyAdminCanSelfCall(_))), "{e}");
    // Continue on failure: the failing self-call (an unknown key) is skipped, the payment goes through.
    let calls = [encode::self_call(encode::revoke(B256::repeat_byte(9))), pay(to, 4).remove(0)];
    user.execute_batch(&calls, false).await?;
    ensure!(chain.balance(to).await? == U256::from(7));
    // Anyone else is refused.
    let stranger = PrivateKeySigner::random();
    let e = Account::at(user.address(), chain.funded(&stranger).await?)
        .execute_batch(&pay(to, 1), true)
        .await
        .expect_err("a stranger");
    ensure!(matches!(e, Error::Keyward(IKeywardErrors::Unauthorized(_))), "{e}");
    Ok(())
}

#[tokio::test]
#[ignore = "spawns anvil from node_modules: `make test` runs it"]
async fn invalidate_nonce_kills_a_pending_relayed_batch() -> Result<()> {
    let key = P256KeySigner::from_bytes(&[21; 32])?;
    let chain = Chain::start(&[grant(&key, Settings::builder().build()?)]).await?;
    let (user, relayer) = (chain.user(), chain.relayed());
    let to = Address::repeat_byte(0x72);
    let lane = relayer.reserved_lane(key.key_hash(), 0).await?;
    // Signed and handed to a relayer, not yet sent.
    let (pending, signature) = relayer.signed_batch(&key, &pay(to, 1), Lane::default()).await?;
    ensure!(pending.nonce == lanes::nonce(lane, 0));
    let from = chain.relayer.get_block_number().await? + 1;
    user.invalidate_nonce(lanes::nonce(lane, 1)).await?;
    ensure!(relayer.seq(lane).await? == 1);
    let e = relayer.relay(pending, signature).await.expect_err("invalidated");
    ensure!(matches!(e, Error::Keyward(IKeywardErrors::InvalidNonce(_))), "{e}");
    ensure!(chain.balance(to).await? == U256::ZERO);
    let events = user.key_events(from).await?;
    ensure!(
        matches!(events.as_slice(), [KeyEvent::NonceInvalidated { nonce, .. }] if *nonce == lanes::nonce(lane, 1)),
        "{events:?}"
    );
    // The key's next batch uses the next sequence and goes through.
    relayer.execute_relayed(&key, &pay(to, 1)).await?;
    ensure!(chain.balance(to).await? == U256::from(1) && relayer.seq(lane).await? == 2);
    // Only forward, and at most 65,535 at once.
    let e = user.invalidate_nonce(lanes::nonce(lane, 2)).await.expect_err("not forward");
    ensure!(matches!(e, Error::Keyward(IKeywardErrors::InvalidNonce(_))), "{e}");
    let e = user.invalidate_nonce(lanes::nonce(lane, 2 + 65_536)).await.expect_err("too far");
    ensure!(matches!(e, Error::Keyward(IKeywardErrors::ExcessiveInvalidation(_))), "{e}");
    Ok(())
}

#[tokio::test]
#[ignore = "spawns anvil from node_modules: `make test` runs it"]
async fn update_salt_kills_pending_signatures() -> Result<()> {
    let key = P256KeySigner::from_bytes(&[22; 32])?;
    let admin = P256KeySigner::from_bytes(&[23; 32])?;
    let chain = Chain::start(&[
        grant(&key, Settings::builder().build()?),
        grant(&admin, Settings::builder().admin(true).build()?),
    ])
    .await?;
    let (user, relayer) = (chain.user(), chain.relayed());
    let to = Address::repeat_byte(0x73);
    let chain_id = chain.relayer.get_chain_id().await?;
    ensure!(relayer.domain().await? == eip712::account_domain(user.address(), chain_id, chain.keyward));
    // Outstanding: a signed batch and an ERC-1271 signature.
    let (pending, signature) = relayer.signed_batch(&key, &pay(to, 1), Lane::default()).await?;
    let message = B256::repeat_byte(0x5a);
    let erc1271 = admin.sign_1271_personal(message, &relayer.domain().await?, Bytes::new())?;
    let is_valid = |sig: Bytes| {
        let provider = chain.relayer.clone();
        let account = user.address();
        async move {
            let input = IKeyward::isValidSignatureCall { hash: message, signature: sig }.abi_encode();
            let out = provider.call(TransactionRequest::default().with_to(account).with_input(input)).await?;
            eyre::Ok(out[..4] == [0x16, 0x26, 0xba, 0x7e])
        }
    };
    ensure!(is_valid(erc1271.clone()).await?, "valid before the new salt");
    let from = chain.relayer.get_block_number().await? + 1;
    user.update_salt(U96::from(1)).await?;
    ensure!(matches!(user.key_events(from).await?.as_slice(), [KeyEvent::DomainChanged { .. }]));
    let e = relayer.relay(pending, signature).await.expect_err("signed under the old salt");
    ensure!(matches!(e, Error::Keyward(IKeywardErrors::InvalidSignature(_))), "{e}");
    ensure!(!is_valid(erc1271).await?, "the ERC-1271 signature stopped verifying");
    // The new domain: the prefix in the salt's high 96 bits; the client reads it and signs anew.
    let domain = eip712::account_domain_with_salt_prefix(user.address(), chain_id, chain.keyward, U96::from(1));
    ensure!(relayer.domain().await? == domain);
    let separator = chain
        .relayer
        .call(
            TransactionRequest::default()
                .with_to(user.address())
                .with_input(IKeyward::domainSeparatorCall {}.abi_encode()),
        )
        .await?;
    ensure!(separator[..] == eip712::domain_separator(&domain)[..]);
    relayer.execute_relayed(&key, &pay(to, 1)).await?;
    ensure!(is_valid(admin.sign_1271_personal(message, &domain, Bytes::new())?).await?);
    ensure!(chain.balance(to).await? == U256::from(1));
    Ok(())
}

#[tokio::test]
#[ignore = "spawns anvil from node_modules: `make test` runs it"]
async fn native_allowance_round_trip() -> Result<()> {
    let chain = Chain::start(&[]).await?;
    let user = chain.user();
    let account = user.address();
    let spender = PrivateKeySigner::random();
    let spender_provider = chain.funded(&spender).await?;
    let to = Address::repeat_byte(0x74);
    let from = chain.relayer.get_block_number().await? + 1;
    user.approve_native(spender.address(), U256::from(1_000)).await?;
    ensure!(user.native_allowance(spender.address()).await? == U256::from(1_000));
    let events = user.key_events(from).await?;
    ensure!(matches!(events.as_slice(), [KeyEvent::NativeApproved { spender: s, value, .. }]
        if *s == spender.address() && *value == U256::from(1_000)));
    // The spender moves 600 wei out of the account, then cannot move more than what is left.
    let transfer = |amount: u64| -> Bytes {
        IKeyward::transferFromNativeCall { from: account, recipient: to, amount: U256::from(amount) }
            .abi_encode()
            .into()
    };
    let tx = TransactionRequest::default().with_to(account).with_input(transfer(600));
    ensure!(spender_provider.send_transaction(tx).await?.get_receipt().await?.status());
    ensure!(chain.balance(to).await? == U256::from(600));
    ensure!(user.native_allowance(spender.address()).await? == U256::from(400));
    let e = revert_of(&spender_provider, account, transfer(500)).await?;
    ensure!(matches!(e, IKeywardErrors::AllowanceExceeded(_)), "{e:?}");
    // Withdrawn: nothing more moves.
    user.approve_native(spender.address(), U256::ZERO).await?;
    ensure!(user.native_allowance(spender.address()).await?.is_zero());
    let e = revert_of(&spender_provider, account, transfer(1)).await?;
    ensure!(matches!(e, IKeywardErrors::AllowanceExceeded(_)), "{e:?}");
    // Transient: an allowance for the same transaction only (here the account itself spends it in the batch).
    let transient = [
        encode::self_call(encode::approve_native_transient(account, U256::from(5))),
        Call {
            to: account,
            value: U256::ZERO,
            data: IKeyward::transferFromNativeTransientCall { from: account, recipient: to, amount: U256::from(5) }
                .abi_encode()
                .into(),
        },
    ];
    user.execute_batch(&transient, true).await?;
    ensure!(chain.balance(to).await? == U256::from(605));
    let left = chain
        .relayer
        .call(
            TransactionRequest::default()
                .with_to(account)
                .with_input(IKeyward::transientNativeAllowanceCall { spender: account }.abi_encode()),
        )
        .await?;
    ensure!(U256::abi_decode(&left)?.is_zero(), "gone after the transaction");
    Ok(())
}

#[tokio::test]
#[ignore = "spawns anvil from node_modules: `make test` runs it"]
async fn reserved_lanes_by_default() -> Result<()> {
    let a = P256KeySigner::from_bytes(&[24; 32])?;
    let b = P256KeySigner::from_bytes(&[25; 32])?;
    let settings = Settings::builder().build()?;
    let chain = Chain::start(&[grant(&a, settings), grant(&b, settings)]).await?;
    let (user, relayer) = (chain.user(), chain.relayed());
    let to = Address::repeat_byte(0x75);
    // A key's default lane is its reserved lane 0: "KWRD" | the low 128 bits of its keyId | 0.
    let lane_a = relayer.reserved_lane(a.key_hash(), 0).await?;
    ensure!(lane_a == lanes::lane_key(lanes::key_lane_id(relayer.key_id(a.key_hash()).await?), 0));
    let (batch_a, sig_a) = relayer.signed_batch(&a, &pay(to, 1), Lane::default()).await?;
    ensure!(lanes::lane_key_of(batch_a.nonce) == lane_a);
    // B cannot use (and so cannot burn) A's lane, relayed or through the EntryPoint.
    let (batch_b, sig_b) = relayer.signed_batch(&b, &pay(to, 1), lane_a).await?;
    let e = relayer.relay(batch_b, sig_b).await.expect_err("A's lane");
    ensure!(matches!(e, Error::Keyward(IKeywardErrors::NonceLaneReserved(_))), "{e}");
    let e = relayer.execute_user_op_in_lane(&b, &pay(to, 1), ENTRY_POINT_V08, lane_a).await.expect_err("A's lane");
    ensure!(matches!(e, Error::Keyward(IKeywardErrors::NonceLaneReserved(_))), "{e}");
    // A's pending batch is intact; A's operations use A's lane by default.
    relayer.relay(batch_a, sig_a).await?;
    relayer.execute_user_op(&a, &pay(to, 1), ENTRY_POINT_V08).await?;
    ensure!(relayer.entry_point_nonce_in_lane(ENTRY_POINT_V08, lane_a).await? == lanes::nonce(lane_a, 1));
    // Open lanes (lane 0 among them) stay open to every key, as in Calibur.
    relayer.execute_user_op_in_lane(&b, &pay(to, 1), ENTRY_POINT_V08, U192::ZERO).await?;
    relayer.execute_user_op_in_lane(&a, &pay(to, 1), ENTRY_POINT_V08, U192::ZERO).await?;
    let (open, sig) = relayer.signed_batch(&b, &pay(to, 1), lanes::open_lane(0)).await?;
    relayer.relay(open, sig).await?;
    // So is any lane key a Calibur client picks, however large, as long as it does not carry the "KWRD" tag.
    let random_lane = U192::MAX >> 8;
    relayer.execute_user_op_in_lane(&b, &pay(to, 1), ENTRY_POINT_V08, random_lane).await?;
    ensure!(chain.balance(to).await? == U256::from(6));
    // The root has its own lanes (lane id = the low 128 bits of the account's address), its default on both paths.
    let root = RootSigner(chain.eoa.clone());
    let root_lane = lanes::lane_key(lanes::root_lane_id(user.address()), 0);
    ensure!(relayer.reserved_lane(keyward::ROOT_KEY_HASH, 0).await? == root_lane);
    let (batch, sig) = relayer.signed_batch(&root, &pay(to, 1), Lane::default()).await?;
    ensure!(lanes::lane_key_of(batch.nonce) == root_lane);
    relayer.relay(batch, sig).await?;
    relayer.execute_user_op(&root, &pay(to, 1), ENTRY_POINT_V08).await?;
    ensure!(relayer.entry_point_nonce_in_lane(ENTRY_POINT_V08, root_lane).await? == lanes::nonce(root_lane, 1));
    let (batch, sig) = relayer.signed_batch(&a, &pay(to, 1), root_lane).await?;
    let e = relayer.relay(batch, sig).await.expect_err("the root's lane");
    ensure!(matches!(e, Error::Keyward(IKeywardErrors::NonceLaneReserved(_))), "{e}");
    ensure!(chain.balance(to).await? == U256::from(8));
    // Granted again after a revocation, a key gets new lanes: what it signed before never runs.
    let (old, old_sig) = relayer.signed_batch(&a, &pay(to, 1), Lane::default()).await?;
    user.revoke(a.key_hash()).await?;
    user.grant_unbounded(&a.key(), settings).await?;
    ensure!(relayer.reserved_lane(a.key_hash(), 0).await? != lane_a);
    let e = relayer.relay(old, old_sig).await.expect_err("signed before the revocation");
    ensure!(matches!(e, Error::Keyward(IKeywardErrors::NonceLaneReserved(_))), "{e}");
    relayer.execute_relayed(&a, &pay(to, 1)).await?;
    ensure!(chain.balance(to).await? == U256::from(9));
    Ok(())
}

#[tokio::test]
#[ignore = "spawns anvil from node_modules: `make test` runs it"]
async fn gas_window_is_filled_for_a_gas_budget_key() -> Result<()> {
    const HOUR: u64 = 3_600;
    let budgeted = P256KeySigner::from_bytes(&[26; 32])?;
    let plain = P256KeySigner::from_bytes(&[27; 32])?;
    let kh = budgeted.key_hash();
    let budget = encode::gas_budget(10u128.pow(16), HOUR, 10u128.pow(17))?;
    let chain = Chain::start(&[
        grant(&budgeted, Settings::builder().gas_budget(true).build()?),
        encode::self_call(encode::set_gas_budget(kh, budget.clone())),
        grant(&plain, Settings::builder().build()?),
    ])
    .await?;
    let relayer = chain.relayed();
    let to = Address::repeat_byte(0x76);
    // Start 10 s into an hour, so no operation here straddles a window boundary.
    let now = relayer.now().await?;
    chain.relayer.anvil_set_next_block_timestamp((now / HOUR + 1) * HOUR + 10).await?;
    chain.relayer.anvil_mine(Some(1), None).await?;
    let window = relayer.now().await? / HOUR;
    ensure!(relayer.gas_budget(kh).await?.0 == budget);

    // The client names the window (a fourth head word) for the budgeted key, and only for it.
    let route = UserOpRoute::handle_ops(ENTRY_POINT_V08);
    let unsent = UserOpRequest::new(&budgeted, pay(to, 1), Pricing::Zero).skip_simulation();
    let op = relayer.prepare(&route, unsent).await?.op;
    let (k, _, _, w) = <(B256, Bytes, Bytes, U256)>::abi_decode_params(&op.signature)?;
    ensure!(k == kh && w == U256::from(window) && U256::from_be_slice(&op.signature[32..64]) == U256::from(0x80));
    let unsent = UserOpRequest::new(&plain, pay(to, 1), Pricing::Zero).skip_simulation();
    let op = relayer.prepare(&route, unsent).await?.op;
    ensure!(U256::from_be_slice(&op.signature[32..64]) == U256::from(0x60), "three head words");

    // With fees, the account charges the operation's maximum cost to that window.
    let priced = |lane: U192| {
        let relayer = &relayer;
        let budgeted = &budgeted;
        async move {
            let nonce = relayer.entry_point_nonce_in_lane(ENTRY_POINT_V08, lane).await?;
            let op = UserOpBuilder::new(relayer.address(), nonce)
                .call(pay(to, 1).remove(0))
                .gas_limits(1_000_000, 1_000_000)
                .pre_verification_gas(50_000)
                .fees(1_000_000_000, 1_000_000_000)
                .build()?;
            eyre::Ok(relayer.sign_user_op(op, budgeted, ENTRY_POINT_V08).await?)
        }
    };
    let lane = relayer.reserved_lane(kh, 0).await?;
    let cost = U256::from(2_050_000u64) * U256::from(1_000_000_000u64);
    relayer.handle_ops(vec![priced(lane).await?], ENTRY_POINT_V08).await?;
    let (_, spent) = relayer.gas_budget(kh).await?;
    ensure!(spent.window.to::<u64>() == window, "{spent:?}");
    ensure!(U256::from(spent.inWindow) == cost && U256::from(spent.total) == cost, "{spent:?}");
    // The next hour is a new window: the client names it, and the window's spending starts afresh.
    chain.relayer.anvil_set_next_block_timestamp((window + 1) * HOUR + 10).await?;
    chain.relayer.anvil_mine(Some(1), None).await?;
    relayer.handle_ops(vec![priced(lane).await?], ENTRY_POINT_V08).await?;
    let (_, spent) = relayer.gas_budget(kh).await?;
    ensure!(spent.window.to::<u64>() == window + 1 && U256::from(spent.inWindow) == cost, "{spent:?}");
    ensure!(U256::from(spent.total) == cost * U256::from(2), "{spent:?}");
    // An operation naming an earlier window is refused (the window is not signed, but it cannot go back).
    let mut stale =
        UserOpBuilder::new(relayer.address(), relayer.entry_point_nonce_in_lane(ENTRY_POINT_V08, lane).await?)
            .call(pay(to, 1).remove(0))
            .gas_limits(1_000_000, 1_000_000)
            .pre_verification_gas(50_000)
            .zero_fees()
            .build()?;
    let hash = userop::user_op_hash(&stale, ENTRY_POINT_V08, chain.relayer.get_chain_id().await?, None);
    stale.signature = budgeted.sign_user_op_in_window(hash, Bytes::new(), Some(window))?;
    let e = relayer.handle_ops(vec![stale], ENTRY_POINT_V08).await.expect_err("stale window");
    ensure!(matches!(&e, Error::Keyward(IKeywardErrors::StaleGasWindow(s)) if s.window == U256::from(window)), "{e}");
    ensure!(chain.balance(to).await? == U256::from(2));
    Ok(())
}
