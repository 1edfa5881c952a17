//! Calibur client recipe (issue 12; seed 004's agent-permissions recipe, which targets Uniswap's Calibur): the
//! account receives exactly what a Calibur client sends, byte for byte as the recipe builds it, with none of this
//! crate's conveniences on the way:
//! - the grant: the owner's transaction to itself with Calibur's `execute(BatchedCall)` (`0x99e1d016`) holding
//!   `register(Key)` and `update(keyHash, settings)` as self-calls (`to` zero), settings packed as the recipe packs
//!   them (non-admin, a 5-minute expiration, no hook);
//! - the agent's tick: a user operation through the EntryPoint v0.8, nonce key 0, `callData` = `executeUserOp`'s
//!   selector ++ `abi.encode(BatchedCall)` of an ERC-20 transfer and a mint, `signature` =
//!   `abi.encode(keyHash, sig, "")` over the `userOpHash`, gas paid by a paymaster;
//! - a renewal (`update` with a new expiration) and a revocation (`revoke`), each in the same `execute(BatchedCall)`.
//!
//! Each step's on-chain effect is checked, and the operation is refused after expiry and after revocation.

use alloy::{
    network::TransactionBuilder,
    primitives::{Address, B256, Bytes, U256},
    providers::Provider,
    rpc::types::TransactionRequest,
    signers::{SignerSync, local::PrivateKeySigner},
    sol_types::{SolCall, SolValue},
};
use eyre::{Result, ensure};
use keyward::{
    KeyExt, Settings,
    bindings::{BatchedCall, Call, IKeyward, Key, KeyType, PackedUserOperation},
    client::{Account, KeyEvent},
    encode,
    userop::{self, ENTRY_POINT_V08},
};
use keyward_testkit::Testnet;

/// Calibur's `execute(BatchedCall)`.
const EXECUTE_BATCHED_CALL: [u8; 4] = [0x99, 0xe1, 0xd0, 0x16];
/// `executeUserOp`'s selector, as the recipe hard-codes it.
const EXECUTE_USER_OP: [u8; 4] = [0x8d, 0xd7, 0x71, 0x2f];

/// The recipe's `packSettings`: `(admin << 200) | (expiration << 160) | hook`.
fn pack_settings(admin: bool, expiration: u64, hook: Address) -> U256 {
    (U256::from(u8::from(admin)) << 200) | (U256::from(expiration) << 160) | U256::from_be_slice(hook.as_slice())
}

/// The recipe's `encodeExecute(calls)`: `execute(BatchedCall{calls, revertOnFailure: true})`.
fn encode_execute(calls: Vec<Call>) -> Bytes {
    IKeyward::execute_0Call { batchedCall: BatchedCall { calls, revertOnFailure: true } }.abi_encode().into()
}

/// The recipe's `encodeSelfCall(data)`.
fn self_call(data: Vec<u8>) -> Call {
    Call { to: Address::ZERO, value: U256::ZERO, data: data.into() }
}

/// The owner's transaction to its own account.
async fn send_as_owner(account: &Account<alloy::providers::DynProvider>, data: Bytes) -> Result<B256> {
    let tx = TransactionRequest::default().with_to(account.address()).with_input(data);
    let receipt = account.provider().send_transaction(tx).await?.get_receipt().await?;
    ensure!(receipt.status(), "the owner's transaction reverted");
    Ok(receipt.transaction_hash)
}

/// The agent's user operation, built as the recipe's session account builds it (viem `toSmartAccount` with Calibur's
/// `encodeCalls`, the EntryPoint's `getNonce(sender, 0)`, a paymaster) and signed with the session key.
async fn agent_user_op(
    net: &Testnet,
    account: Address,
    agent: &PrivateKeySigner,
    calls: Vec<Call>,
    paymaster: Address,
) -> Result<PackedUserOperation> {
    let bundler = net.relayed(account);
    let nonce = bundler.entry_point_nonce(ENTRY_POINT_V08).await?;
    let mut call_data = EXECUTE_USER_OP.to_vec();
    call_data.extend_from_slice(&BatchedCall { calls: calls.clone(), revertOnFailure: true }.abi_encode());
    ensure!(call_data == encode::execute_user_op_call_data(&calls, true).to_vec(), "the crate encodes it the same");
    let mut op = PackedUserOperation {
        sender: account,
        nonce,
        initCode: Bytes::new(),
        callData: call_data.into(),
        accountGasLimits: userop::pack_gas_limits(300_000, 300_000),
        preVerificationGas: U256::from(60_000),
        gasFees: userop::pack_gas_fees(1_000_000_000, 2_000_000_000),
        paymasterAndData: userop::paymaster_and_data(paymaster, 100_000, 50_000, &[]),
        signature: Bytes::new(),
    };
    let chain_id = net.provider().get_chain_id().await?;
    let hash = userop::user_op_hash(&op, ENTRY_POINT_V08, chain_id, None);
    let key_hash = Key::secp256k1(agent.address()).hash();
    let sig = Bytes::from(agent.sign_hash_sync(&hash)?.as_bytes().to_vec());
    op.signature = (key_hash, sig, Bytes::new()).abi_encode_params().into();
    Ok(op)
}

#[tokio::test]
async fn calibur_client_recipe() -> Result<()> {
    let net = Testnet::start().await?;
    let usdc = net.deploy_token().await?;
    let reward = net.deploy_token().await?;
    let paymaster = net.deploy_paymaster(U256::from(10u128.pow(18))).await?;
    let treasury = Address::repeat_byte(0x7e);
    // The user's EOA, delegated to Keyward (where the recipe's is delegated to Calibur) with nothing else.
    let (_, user) = net.new_account(&[]).await?;
    let account = user.address();
    net.mint(usdc, account, U256::from(1_000_000)).await?;
    let agent = PrivateKeySigner::random();

    // Steps 1-2: register the agent's address as a secp256k1 key and set its settings, in one transaction.
    let agent_key = Key { keyType: KeyType::Secp256k1, publicKey: agent.address().into_word().to_vec().into() };
    let key_hash = agent_key.hash();
    let expiration = net.now().await? + 300;
    let settings = pack_settings(false, expiration, Address::ZERO);
    let register = IKeyward::registerCall { key: agent_key.clone() }.abi_encode();
    let update = IKeyward::updateCall { keyHash: key_hash, settings }.abi_encode();
    let grant = encode_execute(vec![self_call(register), self_call(update)]);
    ensure!(grant[..4] == EXECUTE_BATCHED_CALL);
    let from_block = net.provider().get_block_number().await?;
    let granted_in = send_as_owner(&user, grant).await?;
    ensure!(user.settings(key_hash).await?.to_u256() == settings, "the recipe's word is a Keyward word");
    let keys = user.keys().await?;
    ensure!(keys.len() == 1 && keys[0].key == agent_key && !keys[0].settings.is_admin(), "{keys:?}");
    ensure!(keys[0].settings.hook() == Address::ZERO && keys[0].settings.expiration() == expiration);
    let events = user.key_events(from_block).await?;
    ensure!(
        // Calibur's register then update, in one batch: one grant, with the settings the update wrote.
        matches!(events.as_slice(), [
            KeyEvent::Granted { key, key_hash: a, settings: s, tx, .. },
        ] if *key == agent_key && *a == key_hash && s.to_u256() == settings && *tx == granted_in),
        "{events:?}"
    );

    // Steps 3-6: the agent's DCA tick: transfer USDC out, mint tokens back, one sponsored operation.
    let tick = vec![
        Testnet::transfer_call(usdc, treasury, U256::from(100)),
        Testnet::mint_call(reward, account, U256::from(7)),
    ];
    let bundler = net.relayed(account);
    let eth_before = net.provider().get_balance(account).await?;
    let op = agent_user_op(&net, account, &agent, tick.clone(), paymaster).await?;
    ensure!(op.nonce == U256::ZERO, "nonce key 0, first operation");
    let from_block = net.provider().get_block_number().await? + 1;
    bundler.handle_ops(vec![op], ENTRY_POINT_V08).await?;
    ensure!(net.balance_of(usdc, treasury).await? == U256::from(100));
    ensure!(net.balance_of(reward, account).await? == U256::from(7));
    ensure!(net.provider().get_balance(account).await? == eth_before, "the paymaster paid the gas");
    ensure!(bundler.entry_point_nonce(ENTRY_POINT_V08).await? == U256::from(1));
    let events = user.key_events(from_block).await?;
    ensure!(matches!(events.as_slice(), [KeyEvent::Used { key_hash: k, .. }] if *k == key_hash), "{events:?}");

    // Expiry: past the 5 minutes the same operation is refused by the EntryPoint's time range.
    net.warp_to(expiration + 1).await?;
    let op = agent_user_op(&net, account, &agent, tick.clone(), paymaster).await?;
    let e = bundler.handle_ops(vec![op], ENTRY_POINT_V08).await.expect_err("expired");
    ensure!(e.to_string().contains("AA22"), "{e}");
    ensure!(net.balance_of(usdc, treasury).await? == U256::from(100), "nothing moved");

    // Renewal: `update` with a new expiration, in the same kind of batch; the agent works again.
    let renewed = pack_settings(false, net.now().await? + 300, Address::ZERO);
    let update = IKeyward::updateCall { keyHash: key_hash, settings: renewed }.abi_encode();
    send_as_owner(&user, encode_execute(vec![self_call(update)])).await?;
    ensure!(user.settings(key_hash).await? == Settings::try_from(renewed)?);
    let op = agent_user_op(&net, account, &agent, tick.clone(), paymaster).await?;
    ensure!(op.nonce == U256::from(1));
    bundler.handle_ops(vec![op], ENTRY_POINT_V08).await?;
    ensure!(net.balance_of(usdc, treasury).await? == U256::from(200));
    ensure!(net.balance_of(reward, account).await? == U256::from(14));

    // Revocation: `revoke`; the key is gone and its operation is refused (an unknown key's signature is invalid).
    let revoke = IKeyward::revokeCall { keyHash: key_hash }.abi_encode();
    send_as_owner(&user, encode_execute(vec![self_call(revoke)])).await?;
    ensure!(user.keys().await?.is_empty());
    let op = agent_user_op(&net, account, &agent, tick, paymaster).await?;
    let e = bundler.handle_ops(vec![op], ENTRY_POINT_V08).await.expect_err("revoked");
    ensure!(e.to_string().contains("AA24"), "{e}");
    ensure!(net.balance_of(usdc, treasury).await? == U256::from(200), "nothing moved");
    Ok(())
}
