//! End to end on a real anvil (osaka): EIP-7702 delegation with a first grant in one transaction, then a session
//! key's operation built in Rust on each path (direct, relayed, ERC-4337 through the real EntryPoint v0.8), key
//! listing, the event stream, and typed contract errors.

use alloy::{
    network::EthereumWallet,
    node_bindings::Anvil,
    primitives::{Address, B256, Bytes, U256},
    providers::{Provider, ProviderBuilder, ext::AnvilApi},
    signers::local::PrivateKeySigner,
};
use eyre::{OptionExt, Result, ensure};

use crate::chain::{anvil_path, deploy, deploy_policy_hook, place_entry_point};
use keyward::{
    KeySigner, P256KeySigner, Secp256k1Signer, Settings, WebAuthnSigner,
    bindings::{Call, IKeyward::IKeywardErrors},
    bundler::GasEstimate,
    client::{Account, KeyEvent, KeyStatus, Pricing, UserOpRequest, UserOpRoute},
    userop::ENTRY_POINT_V08,
};

#[tokio::test]
#[ignore = "spawns anvil from node_modules: `make test` runs it"]
async fn session_key_on_every_path() -> Result<()> {
    let anvil = Anvil::at(anvil_path()?).spawn();
    let url = anvil.endpoint_url();
    let relayer_key: PrivateKeySigner = anvil.keys()[0].clone().into();
    let relayed = ProviderBuilder::new().wallet(EthereumWallet::from(relayer_key)).connect_http(url.clone());

    // Keyward from the committed artifact; EntryPoint v0.8 from the official artifact, placed at its address.
    let keyward = deploy(&relayed, keyward::keyward_bytecode()).await?;
    place_entry_point(&relayed).await?;

    // The user's EOA delegates and grants a 1-hour secp256k1 session key in one transaction.
    let eoa = PrivateKeySigner::random();
    relayed.anvil_set_balance(eoa.address(), U256::from(10u128.pow(19))).await?;
    let as_eoa = ProviderBuilder::new().wallet(EthereumWallet::from(eoa.clone())).connect_http(url.clone());
    let user = Account::at(eoa.address(), &as_eoa);
    let session = Secp256k1Signer(PrivateKeySigner::random());
    let now =
        relayed.get_block_by_number(alloy::eips::BlockNumberOrTag::Latest).await?.ok_or_eyre("block")?.header.timestamp;
    let settings = Settings::builder().expires_in(now, std::time::Duration::from_hours(1)).build()?;
    let first_block = relayed.get_block_number().await?;
    user.delegate(&eoa, keyward, &[keyward::encode::self_call(keyward::encode::grant(&session.key(), settings))])
        .await?;
    let code = relayed.get_code_at(eoa.address()).await?;
    ensure!(code[..3] == [0xef, 0x01, 0x00] && code[3..] == *keyward.as_slice(), "EIP-7702 designator");

    // More keys: P256 and WebAuthn, granted by the root.
    let p256 = P256KeySigner::from_bytes(&[5; 32])?;
    let webauthn = WebAuthnSigner::new(P256KeySigner::from_bytes(&[6; 32])?.0, "keyward.test");
    user.grant(&p256.key(), settings).await?;
    user.grant(&webauthn.key(), settings).await?;
    let keys = user.keys().await?;
    ensure!(keys.len() == 3 && keys.iter().all(|k| k.status == KeyStatus::Active));
    ensure!(keys.iter().all(|k| k.time_left.is_some_and(|t| t <= 3600 && t > 3500)));

    let recipient = Address::repeat_byte(0x77);
    let pay = [Call { to: recipient, value: U256::from(1), data: Bytes::new() }];

    // Direct: the session key's own transaction.
    relayed.anvil_set_balance(session.0.address(), U256::from(10u128.pow(18))).await?;
    let as_session = ProviderBuilder::new().wallet(EthereumWallet::from(session.0.clone())).connect_http(url.clone());
    Account::at(eoa.address(), &as_session).execute_direct(&pay).await?;
    // Relayed: P256 signature, any relayer.
    let via_relayer = Account::at(eoa.address(), &relayed);
    via_relayer.execute_relayed(&p256, &pay).await?;
    // ERC-4337: WebAuthn signature through handleOps.
    via_relayer.execute_user_op(&webauthn, &pay, ENTRY_POINT_V08).await?;
    ensure!(relayed.get_balance(recipient).await? == U256::from(3), "one wei per path");
    // A user operation whose execution would revert is refused before sending (simulated): no transaction.
    let before = relayed.get_block_number().await?;
    let failing =
        [Call { to: ENTRY_POINT_V08, value: U256::ZERO, data: Bytes::from_static(&[0xde, 0xad, 0xbe, 0xef]) }];
    let refused = via_relayer.execute_user_op(&webauthn, &failing, ENTRY_POINT_V08).await.expect_err("simulated");
    ensure!(matches!(refused, keyward::Error::Keyward(IKeywardErrors::CallFailed(_))), "{refused}");
    ensure!(relayed.get_block_number().await? == before, "nothing was sent");
    // Sent anyway, it is mined (handleOps reports the failed execution) but leaves no KeyUsed.
    let route = UserOpRoute::handle_ops(ENTRY_POINT_V08);
    let explicit_gas = GasEstimate {
        pre_verification_gas: U256::from(60_000),
        verification_gas_limit: 600_000,
        call_gas_limit: 300_000,
        paymaster_verification_gas_limit: None,
        paymaster_post_op_gas_limit: None,
    };
    let unsimulated = UserOpRequest::new(&webauthn, failing.clone(), Pricing::Node).gas(explicit_gas).skip_simulation();
    let op = via_relayer.prepare(&route, unsimulated).await?;
    ensure!(!op.simulated);
    let e = via_relayer.send(&route, &op).await.expect_err("the call reverts");
    ensure!(
        matches!(&e, keyward::Error::UserOpReverted { user_op_hash, .. } if *user_op_hash == op.user_op_hash),
        "{e}"
    );
    ensure!(e.kind() == keyward::ErrorKind::RefusedByPolicy, "{e:?}");
    ensure!(relayed.get_block_number().await? == before + 1, "the failed operation was mined");
    let used_by: Vec<B256> = user
        .key_events(first_block)
        .await?
        .into_iter()
        .filter_map(|e| if let KeyEvent::Used { key_hash, .. } = e { Some(key_hash) } else { None })
        .collect();
    ensure!(used_by == [session.key_hash(), p256.key_hash(), webauthn.key_hash()], "one KeyUsed per executed batch");

    // Nonce lanes: batches signed in lanes 0 and 7 before either is sent land in either order; a replay fails.
    let lane = |n: u64| alloy::primitives::aliases::U192::from(n);
    let (b0, s0) = via_relayer.signed_batch(&p256, &pay, lane(0)).await?;
    let (b7, s7) = via_relayer.signed_batch(&p256, &pay, lane(7)).await?;
    ensure!(b7.nonce == U256::from(7) << 64, "lane 7, sequence 0");
    via_relayer.relay(b7.clone(), s7.clone()).await?;
    via_relayer.relay(b0, s0).await?;
    let replay = via_relayer.relay(b7, s7).await.expect_err("replay");
    ensure!(matches!(replay, keyward::Error::Keyward(IKeywardErrors::InvalidNonce(_))), "{replay}");
    // ERC-4337: an operation in EntryPoint lane 3 does not wait for lane 0.
    let op3 =
        via_relayer.prepare(&route, UserOpRequest::new(&webauthn, pay.clone(), Pricing::Node).lane(lane(3))).await?;
    ensure!(op3.op.nonce >> 64 == U256::from(3));
    via_relayer.handle_ops(vec![op3.packed()], ENTRY_POINT_V08).await?;
    ensure!(
        via_relayer.entry_point_nonce_in_lane(ENTRY_POINT_V08, lane(3)).await? == (U256::from(3) << 64) + U256::from(1)
    );
    ensure!(relayed.get_balance(recipient).await? == U256::from(6), "three more wei");

    // A non-admin key cannot manage keys: the typed error comes back.
    let err = Account::at(eoa.address(), &as_session)
        .execute_direct(&[keyward::encode::self_call(keyward::encode::revoke_all())])
        .await
        .expect_err("non-admin self-call");
    ensure!(matches!(err, keyward::Error::Keyward(IKeywardErrors::OnlyAdminCanSelfCall(_))), "{err}");

    // Revoke: every path refuses, and the events tell the story once each.
    user.revoke(session.key_hash()).await?;
    ensure!(user.status(session.key_hash()).await? == KeyStatus::Revoked);
    let err = Account::at(eoa.address(), &as_session).execute_direct(&pay).await.expect_err("revoked");
    ensure!(matches!(err, keyward::Error::Keyward(IKeywardErrors::Unauthorized(_))), "{err}");
    let events = user.key_events(first_block).await?;
    let registered = events.iter().filter(|e| matches!(e, KeyEvent::Granted { .. })).count();
    let revoked: Vec<B256> = events
        .iter()
        .filter_map(|e| if let KeyEvent::Revoked { key_hash, .. } = e { Some(*key_hash) } else { None })
        .collect();
    ensure!(registered == 3, "three grants, {registered} Granted events");
    ensure!(revoked == vec![session.key_hash()], "exactly one revocation");
    Ok(())
}

/// A session key scoped by the PolicyHook, configured in the same batch as the grant: only the shop, at most
/// 2 wei per day in ETH, at most 3 calls. Refusals come back as typed policy errors.
#[tokio::test]
#[ignore = "spawns anvil from node_modules: `make test` runs it"]
async fn policy_guarded_session_key() -> Result<()> {
    use keyward::{
        bindings::policy::IPolicyHook::IPolicyHookErrors,
        encode,
        hooks::POLICY_HOOK_FLAGS,
        policy::{self, EMPTY_CALLDATA},
    };

    let anvil = Anvil::at(anvil_path()?).spawn();
    let url = anvil.endpoint_url();
    let relayer_key: PrivateKeySigner = anvil.keys()[0].clone().into();
    let relayed = ProviderBuilder::new().wallet(EthereumWallet::from(relayer_key)).connect_http(url.clone());
    let keyward = deploy(&relayed, keyward::keyward_bytecode()).await?;
    place_entry_point(&relayed).await?;
    // The hook's constructor insists on an address carrying its flags: the mined CREATE2 salt gives one. Its runtime
    // code works at any address carrying them too (what the testkit and forge fixture rely on).
    let hook = deploy_policy_hook(&relayed).await?;
    let flagged = Address::from_word(B256::from(U256::from(0x00c0_ffee_0000_u64 | u64::from(POLICY_HOOK_FLAGS))));
    relayed.anvil_set_code(flagged, relayed.get_code_at(hook).await?).await?;
    let hook = flagged;

    let eoa = PrivateKeySigner::random();
    relayed.anvil_set_balance(eoa.address(), U256::from(10u128.pow(19))).await?;
    let as_eoa = ProviderBuilder::new().wallet(EthereumWallet::from(eoa.clone())).connect_http(url.clone());
    let user = Account::at(eoa.address(), &as_eoa);
    let session = P256KeySigner::from_bytes(&[8; 32])?;
    let kh = session.key_hash();
    let shop = Address::repeat_byte(0x5e);
    let settings = Settings::builder().policy_hook(hook).build()?;
    user.delegate(
        &eoa,
        keyward,
        &[
            encode::self_call(encode::grant(&session.key(), settings)),
            policy::to_hook(hook, policy::allow(kh, shop, EMPTY_CALLDATA)),
            policy::to_hook(
                hook,
                policy::native_limits(
                    kh,
                    &policy::NativeCaps {
                        per_period: Some(U256::from(2)),
                        period: Some(std::time::Duration::from_hours(24)),
                        ..policy::NativeCaps::default()
                    },
                )?,
            ),
            policy::to_hook(
                hook,
                policy::usage_limits(
                    kh,
                    &policy::UsageLimits { max_calls: Some(3), ..policy::UsageLimits::default() },
                )?,
            ),
        ],
    )
    .await?;

    let via_relayer = Account::at(eoa.address(), &relayed);
    let pay = |to: Address| [Call { to, value: U256::from(1), data: Bytes::new() }];
    via_relayer.execute_relayed(&session, &pay(shop)).await?;
    via_relayer.execute_relayed(&session, &pay(shop)).await?;
    let over = via_relayer.execute_relayed(&session, &pay(shop)).await.expect_err("third wei in a day");
    ensure!(matches!(over, keyward::Error::Policy(IPolicyHookErrors::SpendLimitExceeded(_))), "{over}");
    let elsewhere =
        via_relayer.execute_relayed(&session, &pay(Address::repeat_byte(1))).await.expect_err("not the shop");
    ensure!(matches!(elsewhere, keyward::Error::Policy(IPolicyHookErrors::CallNotAllowed(_))), "{elsewhere}");
    ensure!(relayed.get_balance(shop).await? == U256::from(2));
    // ERC-4337: without a paymaster or a gas budget the hook refuses account-paid gas (found before sending).
    let e = via_relayer.execute_user_op(&session, &pay(shop), ENTRY_POINT_V08).await.expect_err("no paymaster");
    ensure!(matches!(e, keyward::Error::Policy(IPolicyHookErrors::PaymasterRequired(_))), "{e}");
    // A policy for a key whose settings do not name the hook is refused, not stored where it would not apply.
    let plain = P256KeySigner::from_bytes(&[9; 32])?;
    user.grant_unbounded(&plain.key(), Settings::builder().build()?).await?;
    let e = user
        .execute_as_root(&[policy::to_hook(hook, policy::allow(plain.key_hash(), shop, EMPTY_CALLDATA))])
        .await
        .expect_err("the key's settings do not name the hook");
    ensure!(matches!(e, keyward::Error::Policy(IPolicyHookErrors::HookNotInSettings(_))), "{e}");
    ensure!(user.policy(hook, kh).await?.active && !user.policy(hook, plain.key_hash()).await?.active);
    Ok(())
}

/// Bundler submission: a minimal JSON-RPC server stands in for the bundler and records the request.
#[tokio::test]
async fn user_op_goes_to_a_bundler_in_unpacked_form() -> Result<()> {
    use keyward::{
        bundler::{BundlerClient, UserOperation},
        encode,
        userop::UserOpBuilder,
    };
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let port = listener.local_addr()?.port();
    let server = tokio::spawn(async move {
        let (mut sock, _) = listener.accept().await?;
        let mut buf = vec![0u8; 65536];
        let mut got = Vec::new();
        loop {
            let n = sock.read(&mut buf).await?;
            got.extend_from_slice(&buf[..n]);
            let text = String::from_utf8_lossy(&got);
            if let Some(i) = text.find("\r\n\r\n") {
                let len: usize = text
                    .lines()
                    .find_map(|l| l.to_ascii_lowercase().strip_prefix("content-length:").map(|v| v.trim().parse()))
                    .transpose()?
                    .unwrap_or(0);
                if got.len() >= i + 4 + len {
                    let body = String::from_utf8_lossy(&got[i + 4..i + 4 + len]).to_string();
                    let reply = format!(r#"{{"jsonrpc":"2.0","id":0,"result":"0x{}"}}"#, "ab".repeat(32));
                    let resp = format!(
                        "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: {}\r\n\r\n{reply}",
                        reply.len()
                    );
                    sock.write_all(resp.as_bytes()).await?;
                    return Ok::<String, eyre::Report>(body);
                }
            }
            if n == 0 {
                eyre::bail!("connection closed early");
            }
        }
    });
    let bundler = BundlerClient::new(format!("http://127.0.0.1:{port}").parse()?);
    let mut op = UserOpBuilder::new(Address::repeat_byte(0xaa), U256::from(3))
        .call(encode::self_call(encode::revoke_all()))
        .gas_limits(100_000, 200_000)
        .pre_verification_gas(50_000)
        .fees(1, 2)
        .paymaster(Address::repeat_byte(0xbb), 70_000, 30_000, &[9])
        .build()?;
    op.signature = Bytes::from(vec![1, 2, 3]);
    let hash = bundler.send_user_operation(&UserOperation::from(&op)).await?;
    ensure!(hash == B256::repeat_byte(0xab));
    let body: serde_json::Value = serde_json::from_str(&server.await??)?;
    ensure!(body["method"] == "eth_sendUserOperation");
    let sent = &body["params"][0];
    ensure!(sent["sender"] == format!("{:#x}", Address::repeat_byte(0xaa)));
    ensure!(sent["nonce"] == "0x3" && sent["maxPriorityFeePerGas"] == "0x1" && sent["maxFeePerGas"] == "0x2");
    ensure!(sent["paymasterVerificationGasLimit"] == "0x11170" && sent["paymasterPostOpGasLimit"] == "0x7530");
    ensure!(sent["paymasterData"] == "0x09" && sent["signature"] == "0x010203");
    ensure!(body["params"][1] == format!("{ENTRY_POINT_V08:#x}"));
    Ok(())
}
