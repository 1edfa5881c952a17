//! A real ERC-4337 bundler end to end: Pimlico's Alto (pinned in package.json) on the testkit's anvil, driven by
//! `keyward::bundler`. Operations by the root key and by a session key go estimate → fees → send → receipt; every
//! refusal is asserted on the typed error Alto's real answer becomes (code, AA code, decoded revert, kind), never
//! on a message; and Alto listens on 127.0.0.1 only.

use std::time::{Duration, Instant};

use alloy::{
    eips::eip7702::Authorization,
    primitives::{Address, B256, Bytes, U256},
    providers::{DynProvider, Provider},
    signers::{SignerSync, local::PrivateKeySigner},
    sol_types::SolEvent,
};
use eyre::{OptionExt, Result, ensure};
use keyward::{
    KeySigner, ROOT_KEY_HASH, Secp256k1Signer, Settings,
    bindings::{
        Call,
        IKeyward::{self, IKeywardErrors},
        policy::IPolicyHook::IPolicyHookErrors,
    },
    bundler::{
        AaCode, BundlerClient, BundlerError, Eip7702Auth, ErrorKind, Factory, FeeSource, Revert, UserOperation, code,
    },
    client::Account,
    encode,
    policy::{self, EMPTY_CALLDATA},
    userop::{self, ENTRY_POINT_V08, UserOpBuilder},
};
use keyward_testkit::{Bundler, BundlerOptions, Testnet};

use crate::{hook, pay};

/// How long a bundle may take to land (Alto polls every block time; the machine is slow).
const RECEIPT_TIMEOUT: Duration = Duration::from_mins(1);

/// A chain, Alto on it, and a client.
struct Ctx {
    net: Testnet,
    alto: Bundler,
    bundler: BundlerClient,
    chain_id: u64,
}

impl Ctx {
    async fn start() -> Result<Self> {
        let net = Testnet::start().await?;
        let alto = Bundler::start(&net).await?;
        eprintln!("alto: answered {:?} after spawn", alto.startup_time());
        let bundler = alto.client().with_request_timeout(Duration::from_mins(1));
        let chain_id = net.provider().get_chain_id().await?;
        Ok(Self { net, alto, bundler, chain_id })
    }

    fn node(&self) -> &DynProvider {
        self.net.provider()
    }

    /// `signer` signs `op`'s v0.8 userOpHash.
    fn signed(&self, mut op: UserOperation, signer: &Signer) -> Result<UserOperation> {
        op.signature = signer.sign(op.hash(ENTRY_POINT_V08, self.chain_id, None))?;
        Ok(op)
    }

    /// The way a wallet prepares an operation: sign (a signature of the final shape for the estimate), estimate,
    /// take the bundler's fees, sign for real.
    async fn prepare(&self, op: UserOperation, signer: &Signer) -> Result<UserOperation> {
        let op = self.signed(op, signer)?;
        let gas = self.bundler.estimate_user_operation_gas(&op).await?;
        let fees = self.bundler.fees(self.node()).await?;
        ensure!(fees.source == FeeSource::Bundler, "Alto prices operations itself");
        self.signed(op.with_gas(&gas).with_fees(fees.fees), signer)
    }

    /// Gas limits set by hand (what the estimate would have refused is then up to `eth_sendUserOperation`).
    async fn unestimated(&self, op: UserOperation, signer: &Signer) -> Result<UserOperation> {
        let fees = self.bundler.fees(self.node()).await?.fees;
        let by_hand = keyward::bundler::GasEstimate {
            pre_verification_gas: U256::from(100_000),
            verification_gas_limit: 1_000_000,
            call_gas_limit: 1_000_000,
            paymaster_verification_gas_limit: None,
            paymaster_post_op_gas_limit: None,
        };
        self.signed(op.with_gas(&by_hand).with_fees(fees), signer)
    }
}

/// Who signs an operation.
enum Signer {
    /// The EOA itself, key hash 0.
    Root(PrivateKeySigner),
    /// A registered key.
    Key(Secp256k1Signer),
}

impl Signer {
    fn sign(&self, hash: B256) -> Result<Bytes> {
        Ok(match self {
            // abi.encode(bytes32(0), bytes sig, bytes hookData "")
            Self::Root(eoa) => {
                userop::wrap_signature(ROOT_KEY_HASH, Secp256k1Signer(eoa.clone()).sign_digest(hash)?, Bytes::new())
            }
            Self::Key(key) => key.sign_user_op(hash, Bytes::new())?,
        })
    }
}

/// An unsigned operation of `calls` at the account's next EntryPoint nonce (lane 0).
async fn op_of(account: &Account<DynProvider>, calls: &[Call]) -> Result<UserOperation> {
    let nonce = account.entry_point_nonce(ENTRY_POINT_V08).await?;
    Ok(op_at(account.address(), nonce, calls))
}

fn op_at(sender: Address, nonce: U256, calls: &[Call]) -> UserOperation {
    (&UserOpBuilder::new(sender, nonce).calls(calls.iter().cloned()).build_for_estimate()).into()
}

#[tokio::test]
async fn root_and_session_key_operations_through_alto() -> Result<()> {
    let ctx = Ctx::start().await?;
    let merchant = Address::repeat_byte(0x4d);
    let session = Secp256k1Signer(PrivateKeySigner::random());
    let kh = session.key_hash();
    // The account pays this key's gas, within a lifetime gas budget (no per-period cap, so no gas window).
    let settings = ctx.net.policy_settings().gas_budget(true).build()?;
    let (eoa, account) = ctx
        .net
        .new_account(&[
            Testnet::grant_call(&session.key(), settings),
            encode::self_call(encode::set_gas_budget(kh, encode::gas_budget(0, 0, 10u128.pow(18))?)),
            hook(policy::allow(kh, merchant, EMPTY_CALLDATA)),
            hook(policy::native_limits(
                kh,
                &policy::NativeCaps {
                    per_call: Some(U256::from(1_000)),
                    per_period: Some(U256::from(10_000)),
                    period: Some(std::time::Duration::from_hours(24)),
                    lifetime: None,
                },
            )?),
        ])
        .await?;
    // A real EIP-7702 delegation: the EOA's code is the designator.
    let code = ctx.node().get_code_at(account.address()).await?;
    ensure!(code[..3] == [0xef, 0x01, 0x00] && code[3..] == *ctx.net.keyward.as_slice(), "delegated EOA");
    ensure!(ctx.bundler.supported_entry_points().await? == vec![ENTRY_POINT_V08]);
    ensure!(ctx.bundler.chain_id().await? == ctx.chain_id);

    // The root key (key hash 0): estimate, fees, send, receipt.
    let root = Signer::Root(eoa);
    let t = Instant::now();
    let op = ctx.prepare(op_of(&account, &pay(merchant, 700)).await?, &root).await?;
    let prepared = t.elapsed();
    let t = Instant::now();
    let hash = ctx.bundler.send_user_operation(&op).await?;
    // Alto's userOpHash (viem's) is the crate's own v0.8 hash.
    ensure!(hash == op.hash(ENTRY_POINT_V08, ctx.chain_id, None), "userOpHash");
    let receipt = ctx.bundler.wait_for_receipt(hash, RECEIPT_TIMEOUT).await?;
    eprintln!("alto: root op estimated+priced in {prepared:?}, sent to mined receipt in {:?}", t.elapsed());
    ensure!(receipt.success && receipt.actual_gas_cost > U256::ZERO, "{receipt:?}");
    ensure!(
        receipt.sender == account.address() && receipt.user_op_hash == hash && receipt.entry_point == ENTRY_POINT_V08
    );
    ensure!(receipt.receipt.from == ctx.alto.executor(), "sent by Alto's executor");
    ensure!(receipt.receipt.status == Some(1) && receipt.revert().is_none());
    ensure!(ctx.node().get_balance(merchant).await? == U256::from(700));
    // The mined operation, as the bundle carried it.
    let mined = ctx.bundler.get_user_operation_by_hash(hash).await?.ok_or_eyre("mined operation")?;
    ensure!(mined.user_operation == op && mined.transaction_hash == receipt.receipt.transaction_hash);
    ensure!(ctx.bundler.get_user_operation_by_hash(B256::repeat_byte(9)).await?.is_none());
    ensure!(ctx.bundler.get_user_operation_receipt(B256::repeat_byte(9)).await?.is_none());

    // A session key under the PolicyHook: the same way, and the account says which key was used.
    let key = Signer::Key(session);
    let t = Instant::now();
    let op = ctx.prepare(op_of(&account, &pay(merchant, 300)).await?, &key).await?;
    let hash = ctx.bundler.send_user_operation(&op).await?;
    let receipt = ctx.bundler.wait_for_receipt(hash, RECEIPT_TIMEOUT).await?;
    eprintln!("alto: session-key op estimate to receipt in {:?}", t.elapsed());
    ensure!(receipt.success && receipt.actual_gas_cost > U256::ZERO, "{receipt:?}");
    ensure!(ctx.node().get_balance(merchant).await? == U256::from(1_000));
    let used = receipt
        .logs
        .iter()
        .filter(|l| l.address == account.address() && l.topics.first() == Some(&IKeyward::KeyUsed::SIGNATURE_HASH))
        .count();
    ensure!(used == 1 && receipt.logs.iter().any(|l| l.topics.get(1) == Some(&kh)), "KeyUsed(keyHash) in the receipt");
    Ok(())
}

#[tokio::test]
async fn an_eoa_delegates_inside_its_first_user_operation() -> Result<()> {
    let ctx = Ctx::start().await?;
    let merchant = Address::repeat_byte(0x51);
    // A plain EOA with ETH and no code: the bundler's transaction carries its EIP-7702 authorization.
    let eoa = PrivateKeySigner::random();
    ctx.net.fund(eoa.address(), U256::from(10u128.pow(18))).await?;
    ensure!(ctx.node().get_code_at(eoa.address()).await?.is_empty());
    let auth = Authorization {
        chain_id: U256::from(ctx.chain_id),
        address: ctx.net.keyward,
        nonce: ctx.node().get_transaction_count(eoa.address()).await?,
    };
    let auth = auth.clone().into_signed(eoa.sign_hash_sync(&auth.signature_hash())?);
    let mut op = op_at(eoa.address(), U256::ZERO, &pay(merchant, 9));
    op.factory = Some(Factory::Eip7702);
    op.eip7702_auth = Some(Eip7702Auth::from(&auth));
    // The userOpHash covers the delegate (EntryPoint v0.8's EIP-7702 rule); the root key signs it.
    let op = ctx.prepare(op, &Signer::Root(eoa.clone())).await?;
    let hash = ctx.bundler.send_user_operation(&op).await?;
    ensure!(hash == op.hash(ENTRY_POINT_V08, ctx.chain_id, Some(ctx.net.keyward)));
    let receipt = ctx.bundler.wait_for_receipt(hash, RECEIPT_TIMEOUT).await?;
    ensure!(receipt.success, "{receipt:?}");
    let code = ctx.node().get_code_at(eoa.address()).await?;
    ensure!(code[..3] == [0xef, 0x01, 0x00] && code[3..] == *ctx.net.keyward.as_slice(), "delegated by the bundle");
    ensure!(ctx.node().get_balance(merchant).await? == U256::from(9));
    Ok(())
}

#[tokio::test]
async fn refusals_by_the_key_are_classified() -> Result<()> {
    let ctx = Ctx::start().await?;
    let merchant = Address::repeat_byte(0x4e);
    let session = Secp256k1Signer(PrivateKeySigner::random());
    let kh = session.key_hash();
    let (eoa, account) = ctx.net.new_account(&[Testnet::grant_call(&session.key(), Settings::default())]).await?;
    let key = Signer::Key(session.clone());

    // A bad signature: the root key's operation signed by another key. The estimate does not check signatures
    // (Keyward answers SIG_VALIDATION_FAILED without reverting); sending does.
    let stranger = Signer::Root(PrivateKeySigner::random());
    let op = ctx.prepare(op_of(&account, &pay(merchant, 1)).await?, &stranger).await?;
    let e = ctx.bundler.send_user_operation(&op).await.expect_err("a stranger's signature");
    eprintln!("alto: bad signature, send: {e}");
    ensure!(e.code() == Some(code::INVALID_SIGNATURE) && e.aa_code() == Some(AaCode(24)), "{e:?}");
    ensure!(e.kind() == ErrorKind::KeyExpiredOrRevoked, "{e:?}");

    // An expired key: the root moves its expiration into the past.
    let now = ctx.net.now().await?;
    account.update(kh, Settings::builder().expires_at(now - 60).build()?).await?;
    let e = ctx
        .bundler
        .estimate_user_operation_gas(&ctx.signed(op_of(&account, &pay(merchant, 1)).await?, &key)?)
        .await
        .expect_err("expired key at estimation");
    eprintln!("alto: expired key, estimate: {e}");
    ensure!(e.kind() == ErrorKind::KeyExpiredOrRevoked, "{e:?}");
    ensure!(matches!(e.revert(), Some(Revert::Account(IKeywardErrors::KeyExpired(_)))), "{e:?}");
    let op = ctx.unestimated(op_of(&account, &pay(merchant, 1)).await?, &key).await?;
    let e = ctx.bundler.send_user_operation(&op).await.expect_err("expired key at send");
    eprintln!("alto: expired key, send: {e}");
    ensure!(e.code() == Some(code::SIMULATE_VALIDATION) && e.aa_code() == Some(AaCode(22)), "{e:?}");
    ensure!(e.kind() == ErrorKind::KeyExpiredOrRevoked, "{e:?}");

    // Usable again once the root restores its settings; then revoked.
    account.update(kh, Settings::default()).await?;
    let hash =
        ctx.bundler.send_user_operation(&ctx.prepare(op_of(&account, &pay(merchant, 1)).await?, &key).await?).await?;
    ensure!(ctx.bundler.wait_for_receipt(hash, RECEIPT_TIMEOUT).await?.success);
    account.revoke(kh).await?;
    let e = ctx
        .bundler
        .estimate_user_operation_gas(&ctx.signed(op_of(&account, &pay(merchant, 1)).await?, &key)?)
        .await
        .expect_err("revoked key at estimation");
    eprintln!("alto: revoked key, estimate: {e}");
    ensure!(e.kind() == ErrorKind::KeyExpiredOrRevoked, "{e:?}");
    ensure!(matches!(e.revert(), Some(Revert::Account(IKeywardErrors::KeyDoesNotExist(_)))), "{e:?}");
    let op = ctx.unestimated(op_of(&account, &pay(merchant, 1)).await?, &key).await?;
    let e = ctx.bundler.send_user_operation(&op).await.expect_err("revoked key at send");
    eprintln!("alto: revoked key, send: {e}");
    ensure!(e.code() == Some(code::INVALID_SIGNATURE) && e.aa_code() == Some(AaCode(24)), "{e:?}");
    ensure!(e.kind() == ErrorKind::KeyExpiredOrRevoked, "{e:?}");

    // The root key still works: nothing above was the account's fault.
    let root = Signer::Root(eoa);
    let hash =
        ctx.bundler.send_user_operation(&ctx.prepare(op_of(&account, &pay(merchant, 5)).await?, &root).await?).await?;
    ensure!(ctx.bundler.wait_for_receipt(hash, RECEIPT_TIMEOUT).await?.success);
    Ok(())
}

#[tokio::test]
async fn policy_reverts_misuse_and_mempool_conflicts_are_classified() -> Result<()> {
    let ctx = Ctx::start().await?;
    let merchant = Address::repeat_byte(0x4f);
    let token = ctx.net.deploy_token().await?;
    let session = Secp256k1Signer(PrivateKeySigner::random());
    let kh = session.key_hash();
    let settings = ctx.net.policy_settings().gas_budget(true).build()?;
    let (eoa, account) = ctx
        .net
        .new_account(&[
            Testnet::grant_call(&session.key(), settings),
            encode::self_call(encode::set_gas_budget(kh, encode::gas_budget(0, 0, 10u128.pow(18))?)),
            hook(policy::allow(kh, merchant, EMPTY_CALLDATA)),
            hook(policy::native_limits(
                kh,
                &policy::NativeCaps {
                    per_call: Some(U256::from(100)),
                    per_period: Some(U256::from(1_000)),
                    period: Some(std::time::Duration::from_hours(24)),
                    lifetime: None,
                },
            )?),
        ])
        .await?;
    let key = Signer::Key(session);
    let root = Signer::Root(eoa);

    // The PolicyHook refuses during execution: -32521 at estimation, its error decoded.
    let e = ctx
        .bundler
        .estimate_user_operation_gas(&ctx.signed(op_of(&account, &pay(merchant, 101)).await?, &key)?)
        .await
        .expect_err("over the per-call cap");
    eprintln!("alto: policy refusal, estimate: {e}");
    ensure!(e.code() == Some(code::USER_OPERATION_REVERTED) && e.kind() == ErrorKind::RefusedByPolicy, "{e:?}");
    match e.revert() {
        Some(Revert::Policy(IPolicyHookErrors::SpendLimitExceeded(x))) => {
            ensure!(x.kind == 0 && x.attempted == U256::from(101) && x.limit == U256::from(100), "{x:?}");
        }
        other => eyre::bail!("expected SpendLimitExceeded, got {other:?}"),
    }
    // A call the policy does not allow at all.
    let e = ctx
        .bundler
        .estimate_user_operation_gas(&ctx.signed(op_of(&account, &pay(Address::repeat_byte(0x50), 1)).await?, &key)?)
        .await
        .expect_err("not an allowed target");
    ensure!(matches!(e.revert(), Some(Revert::Policy(IPolicyHookErrors::CallNotAllowed(_)))), "{e:?}");
    ensure!(e.kind() == ErrorKind::RefusedByPolicy);

    // A call that reverts in its target (a token transfer without balance): the account's CallFailed.
    let transfer = Testnet::transfer_call(token, merchant, U256::from(5));
    let e = ctx
        .bundler
        .estimate_user_operation_gas(&ctx.signed(op_of(&account, &[transfer]).await?, &root)?)
        .await
        .expect_err("a reverting call");
    eprintln!("alto: reverting call, estimate: {e}");
    ensure!(matches!(e.revert(), Some(Revert::Account(IKeywardErrors::CallFailed(_)))), "{e:?}");
    ensure!(e.kind() == ErrorKind::RefusedByPolicy);

    // Nonces: one operation mined, then its nonce again (too low), and one far ahead (too high).
    let first = ctx.prepare(op_of(&account, &pay(merchant, 1)).await?, &root).await?;
    let hash = ctx.bundler.send_user_operation(&first).await?;
    ensure!(ctx.bundler.wait_for_receipt(hash, RECEIPT_TIMEOUT).await?.success);
    let next = account.entry_point_nonce(ENTRY_POINT_V08).await?;
    let low = ctx.unestimated(op_at(account.address(), first.nonce, &pay(merchant, 2)), &root).await?;
    let e = ctx.bundler.send_user_operation(&low).await.expect_err("nonce too low");
    eprintln!("alto: nonce too low: {e}");
    ensure!(e.aa_code() == Some(AaCode(25)) && e.kind() == ErrorKind::Misuse, "{e:?}");
    // One ahead with nothing queued before it: the EntryPoint's simulation refuses it too.
    let gap = ctx.unestimated(op_at(account.address(), next + U256::from(1), &pay(merchant, 2)), &root).await?;
    let e = ctx.bundler.send_user_operation(&gap).await.expect_err("nonce gap");
    ensure!(e.aa_code() == Some(AaCode(25)) && e.kind() == ErrorKind::Misuse, "{e:?}");
    let high = ctx.unestimated(op_at(account.address(), next + U256::from(11), &pay(merchant, 2)), &root).await?;
    let e = ctx.bundler.send_user_operation(&high).await.expect_err("nonce too high");
    eprintln!("alto: nonce too high: {e}");
    ensure!(e.aa_code() == Some(AaCode(25)) && e.kind() == ErrorKind::Misuse, "{e:?}");

    // Mempool conflicts are transient: Alto bundles by hand for a moment, so the first operation waits in its
    // mempool while the same one, then another with the same nonce and the same fees, arrive.
    let ok: String = ctx.bundler.request("debug_bundler_setBundlingMode", ["manual"]).await?;
    ensure!(ok == "ok");
    let pending = ctx.prepare(op_of(&account, &pay(merchant, 3)).await?, &root).await?;
    let hash = ctx.bundler.send_user_operation(&pending).await?;
    let e = ctx.bundler.send_user_operation(&pending).await.expect_err("the same operation again");
    eprintln!("alto: same operation twice: {e}");
    ensure!(e.code() == Some(code::INVALID_FIELDS) && e.kind() == ErrorKind::Transient, "{e:?}");
    let rival = ctx.signed(
        op_at(account.address(), pending.nonce, &pay(merchant, 4))
            .with_gas(&gas_of(&pending))
            .with_fees(fees_of(&pending)),
        &root,
    )?;
    let e = ctx.bundler.send_user_operation(&rival).await.expect_err("same nonce, same fees");
    eprintln!("alto: same nonce, same fees: {e}");
    ensure!(e.aa_code() == Some(AaCode(25)) && e.kind() == ErrorKind::Transient, "{e:?}");
    let ok: String = ctx.bundler.request("debug_bundler_sendBundleNow", [(); 0]).await?;
    ensure!(ok == "ok");
    ensure!(ctx.bundler.wait_for_receipt(hash, RECEIPT_TIMEOUT).await?.success);
    let ok: String = ctx.bundler.request("debug_bundler_setBundlingMode", ["auto"]).await?;
    ensure!(ok == "ok");

    // An account that cannot pay its prefund (no paymaster, no balance): AA21.
    ctx.net.fund(account.address(), U256::ZERO).await?;
    let broke = ctx.unestimated(op_of(&account, &pay(merchant, 0)).await?, &root).await?;
    let e = ctx.bundler.send_user_operation(&broke).await.expect_err("no prefund");
    eprintln!("alto: no prefund: {e}");
    ensure!(e.aa_code() == Some(AaCode(21)) && e.kind() == ErrorKind::Misuse, "{e:?}");

    // Invalid parameters: an EntryPoint Alto does not serve.
    let other_ep = ctx.alto.client().with_entry_point(Address::repeat_byte(0x37));
    let e = other_ep.send_user_operation(&broke).await.expect_err("unsupported EntryPoint");
    ensure!(e.code() == Some(code::INVALID_FIELDS) && e.kind() == ErrorKind::Misuse, "{e:?}");
    Ok(())
}

fn gas_of(op: &UserOperation) -> keyward::bundler::GasEstimate {
    keyward::bundler::GasEstimate {
        pre_verification_gas: op.pre_verification_gas,
        verification_gas_limit: op.verification_gas_limit,
        call_gas_limit: op.call_gas_limit,
        paymaster_verification_gas_limit: None,
        paymaster_post_op_gas_limit: None,
    }
}

fn fees_of(op: &UserOperation) -> keyward::bundler::Fees {
    keyward::bundler::Fees {
        max_fee_per_gas: op.max_fee_per_gas,
        max_priority_fee_per_gas: op.max_priority_fee_per_gas,
    }
}

#[tokio::test]
async fn fees_fall_back_to_the_node_and_waits_time_out() -> Result<()> {
    let net = Testnet::start().await?;
    // A bundler without Pimlico's gas price method (Alto serving only the standard methods).
    let standard = "eth_supportedEntryPoints,eth_chainId,eth_estimateUserOperationGas,eth_sendUserOperation,\
                    eth_getUserOperationReceipt,eth_getUserOperationByHash";
    let alto = Bundler::start_with(&net, BundlerOptions::default().arg("--rpc-methods").arg(standard)).await?;
    let bundler = alto.client();
    let e = bundler.user_operation_gas_price().await.expect_err("not served");
    ensure!(e.rpc().is_some_and(keyward::bundler::RpcError::is_unsupported_method), "{e:?}");
    let quote = bundler.fees(net.provider()).await?;
    ensure!(quote.source == FeeSource::NodeFeeHistory, "{quote:?}");
    ensure!(quote.fees.max_fee_per_gas >= quote.fees.max_priority_fee_per_gas && quote.fees.max_fee_per_gas > 0);
    // A receipt that never comes: a typed, transient timeout.
    let e = bundler
        .wait_for_receipt(B256::repeat_byte(1), Duration::from_millis(600))
        .await
        .expect_err("no such operation");
    ensure!(matches!(e, BundlerError::ReceiptTimeout { .. }) && e.kind() == ErrorKind::Transient, "{e:?}");
    // A bundler that is gone: a transport error, transient.
    let url = alto.url().clone();
    drop(alto);
    let e = BundlerClient::new(url).supported_entry_points().await.expect_err("stopped");
    ensure!(matches!(e, BundlerError::Transport { .. }) && e.kind() == ErrorKind::Transient, "{e:?}");
    Ok(())
}

#[tokio::test]
async fn alto_failing_to_start_is_a_typed_error_with_its_log() -> Result<()> {
    let net = Testnet::start().await?;
    let e = Bundler::start_with(&net, BundlerOptions::default().arg("--chain-type").arg("no-such-chain"))
        .await
        .expect_err("an invalid option");
    let keyward_testkit::AltoError::Exited { status, log, tail } = &e else { eyre::bail!("{e:?}") };
    ensure!(!status.success() && tail.contains("no-such-chain"), "{e}");
    // The log of a failed start is kept for the developer; this test has read it.
    std::fs::remove_file(log)?;
    Ok(())
}

/// The `LISTEN` sockets of `port` from /proc/net/tcp and tcp6, as (file, local address hex).
#[cfg(target_os = "linux")]
fn listeners(port: u16) -> Result<Vec<(&'static str, String)>> {
    let mut out = Vec::new();
    for file in ["/proc/net/tcp", "/proc/net/tcp6"] {
        let Ok(text) = std::fs::read_to_string(file) else { continue };
        for line in text.lines().skip(1) {
            let cols: Vec<&str> = line.split_whitespace().collect();
            let (Some(local), Some(state)) = (cols.get(1), cols.get(3)) else { continue };
            let (addr, p) = local.split_once(':').ok_or_eyre("local address")?;
            if *state == "0A" && u16::from_str_radix(p, 16)? == port {
                out.push((file, addr.to_owned()));
            }
        }
    }
    Ok(out)
}

#[cfg(target_os = "linux")]
#[tokio::test]
async fn alto_listens_on_loopback_only_and_stops_on_drop() -> Result<()> {
    let net = Testnet::start().await?;
    let alto = Bundler::start(&net).await?;
    ensure!(alto.url().host_str() == Some("127.0.0.1"));
    // The kernel's view: one listening socket on the port, bound to 127.0.0.1 (0100007F), none on IPv6.
    let sockets = listeners(alto.port())?;
    ensure!(sockets == vec![("/proc/net/tcp", "0100007F".to_owned())], "Alto listens on {sockets:?}");
    ensure!(alto.client().supported_entry_points().await? == vec![ENTRY_POINT_V08]);
    // Without the preload, the same call Alto makes binds every interface: the preload is what changes it.
    let script = "const s=require('http').createServer();s.listen({port:0,host:'0.0.0.0'},()=>{console.log(s.address().address);s.close()})";
    let node = keyward_testkit::bundler::node_path()?;
    let run = |preload: bool| -> Result<String> {
        let mut cmd = std::process::Command::new(&node);
        if preload {
            let path = std::env::temp_dir().join(format!("keyward-alto-preload-test-{}.cjs", std::process::id()));
            std::fs::write(&path, keyward_testkit::bundler::ALTO_LOCALHOST_PRELOAD)?;
            cmd.arg("-r").arg(path);
        }
        let out = cmd.args(["-e", script]).output();
        if preload {
            let _ = std::fs::remove_file(
                std::env::temp_dir().join(format!("keyward-alto-preload-test-{}.cjs", std::process::id())),
            );
        }
        let out = out?;
        ensure!(out.status.success(), "node: {}", String::from_utf8_lossy(&out.stderr));
        Ok(String::from_utf8(out.stdout)?.trim().to_owned())
    };
    ensure!(run(false)? == "0.0.0.0" && run(true)? == "127.0.0.1");
    // Dropping the Bundler kills Alto and reaps it: the process, and so its socket, are gone.
    let pid = alto.pid();
    drop(alto);
    ensure!(!std::path::Path::new(&format!("/proc/{pid}")).exists(), "Alto still runs");
    Ok(())
}

/// The agent runtime on the bundler route: a DCA job whose amount grows each run pays through Alto at Alto's fees;
/// the PolicyHook's daily cap refuses a run in Alto's estimate (nothing sent), reported typed, in words, with the
/// window's reset as its retry time; revoking the key stops the agent, typed; a 5-minute key's agent stops as
/// expired, keeping its history.
#[tokio::test]
async fn agent_pays_through_alto_refusals_typed_revocation_stops() -> Result<()> {
    use keyward::{
        agent::{Agent, MemoryStore, Route, RunContext, RunReport, Step, StopReason, from_fn},
        client::Pricing,
        explain::Retry,
        grant::{Grant, NativeCaps, Policy, SpendCaps},
    };

    let ctx = Ctx::start().await?;
    let session = keyward::P256KeySigner::from_bytes(&[61; 32])?;
    let kh = session.key_hash();
    let shop = Address::repeat_byte(0x4f);
    let now = ctx.net.now().await?;
    let grant = Grant::builder(session.key())
        .expires_in(now, Duration::from_hours(24 * 7))
        .gas_budget(SpendCaps::total(U256::from(10u128.pow(18))))
        .policy(
            ctx.net.policy_hook,
            Policy::new().allow_transfers_to(shop).native_limit(NativeCaps {
                per_period: Some(U256::from(250)),
                period: Some(Duration::from_hours(24)),
                ..NativeCaps::default()
            }),
        )
        .build()?;
    let (_, account) = ctx.net.new_account(&grant.calls).await?;
    // 100 wei on run 1, then 120, then 140 (which would make 360 today).
    let job = from_fn(move |run: &RunContext| {
        let wei = 80 + 20 * run.run;
        Ok(Step::Run(vec![Call { to: shop, value: U256::from(wei), data: Bytes::new() }]))
    });
    let route = Route::bundler(
        ctx.alto.client().with_request_timeout(Duration::from_mins(1)),
        RECEIPT_TIMEOUT,
        Pricing::Bundler,
    );
    let agent = Agent::new(
        Account::at(account.address(), ctx.node().clone()),
        Box::new(session.clone()),
        job,
        Duration::from_mins(1),
        route,
        MemoryStore::new(),
    );
    ensure!(matches!(agent.tick().await?, RunReport::Executed { run: 1, .. }));
    ctx.net.warp(60).await?;
    ensure!(matches!(agent.tick().await?, RunReport::Executed { run: 2, .. }));
    ensure!(ctx.node().get_balance(shop).await? == U256::from(220));
    ctx.net.warp(60).await?;
    let block = ctx.node().get_block_number().await?;
    let RunReport::Refused { refusal, error } = agent.tick().await? else { eyre::bail!("expected a refusal") };
    eprintln!("alto: agent refusal: {} ({error})", refusal.words);
    ensure!(ctx.node().get_block_number().await? == block, "a refused run sends nothing");
    ensure!(error.kind() == ErrorKind::RefusedByPolicy, "{error:?}");
    ensure!(matches!(refusal.revert(), Some(Revert::Policy(IPolicyHookErrors::SpendLimitExceeded(s))) if s.kind == 1));
    let reset = account.policy(ctx.net.policy_hook, kh).await?.native.spend.windowStart.to::<u64>() + 86_400;
    ensure!(refusal.retry == Retry::At(reset), "{refusal:?}");
    ensure!(
        refusal
            .words
            .starts_with("spend limit exceeded: 0.00000000000000014 ETH attempted, 0.00000000000000003 ETH left"),
        "{}",
        refusal.words
    );
    ensure!(matches!(agent.tick().await?, RunReport::NotDue { at, .. } if at == reset));
    // Revoked: the agent stops for good, typed.
    account.revoke(kh).await?;
    ensure!(matches!(agent.tick().await?, RunReport::Stopped(StopReason::Revoked { .. })));
    ensure!(agent.state().await?.runs == 2);

    // Expiry: a 5-minute key pays through Alto, then its agent stops as expired, typed, keeping its history.
    let short = keyward::P256KeySigner::from_bytes(&[62; 32])?;
    let now = ctx.net.now().await?;
    let grant = Grant::builder(short.key()).expires_in(now, Duration::from_mins(5)).build()?;
    account.execute_as_root(&grant.calls).await?;
    let agent = Agent::new(
        Account::at(account.address(), ctx.node().clone()),
        Box::new(short),
        pay(shop, 7).to_vec(),
        Duration::from_mins(1),
        Route::bundler(
            ctx.alto.client().with_request_timeout(Duration::from_mins(1)),
            RECEIPT_TIMEOUT,
            Pricing::Bundler,
        ),
        MemoryStore::new(),
    );
    ensure!(matches!(agent.tick().await?, RunReport::Executed { run: 1, .. }));
    ctx.net.warp(301).await?;
    let r = agent.tick().await?;
    ensure!(matches!(r, RunReport::Stopped(StopReason::Expired { expiration }) if expiration == now + 300), "{r:?}");
    ensure!(agent.state().await?.runs == 1);
    Ok(())
}
