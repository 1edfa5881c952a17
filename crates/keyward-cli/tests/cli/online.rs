//! Online commands against a local chain (the testkit's anvil).

use std::process::Command;

use alloy::{primitives::B256, providers::Provider};
use eyre::{Result, ensure};
use keyward::{KeySigner, Secp256k1Signer};
use keyward_testkit::Testnet;

use crate::{keyward_env, stderr, stdout};

/// grant, keys, revoke, watch against a local chain; the private key comes from the environment, never printed.
#[tokio::test]
async fn online_commands() -> Result<()> {
    let net = Testnet::start().await?;
    let (eoa, account) = net.new_account(&[]).await?;
    let session = Secp256k1Signer(alloy::signers::local::PrivateKeySigner::random());
    let url = net.url().to_string();
    let acct = account.address().to_string();
    let pk = alloy::primitives::hex::encode_prefixed(eoa.to_bytes());
    let run = |args: &[&str]| keyward_env(&url, &pk, args);
    let addr = session.0.address().to_string();
    let o = run(&["grant", "--account", &acct, "--public-key", &addr, "--expires-in", "3600"]);
    ensure!(o.status.success(), "{}", stderr(&o));
    ensure!(!stdout(&o).contains(&pk[2..]), "the key is never echoed");
    let kh = session.key_hash();
    let o = run(&["--json", "keys", "--account", &acct]);
    let line: serde_json::Value = serde_json::from_str(stdout(&o).lines().next().unwrap_or_default())?;
    ensure!(line["keyHash"] == kh.to_string() && line["status"] == "Active", "{line}");
    // One use of the key on the direct path: a KeyUsed event the watcher reports with its transaction.
    let shop = alloy::primitives::Address::repeat_byte(0x5e);
    let call = keyward::bindings::Call {
        to: shop,
        value: alloy::primitives::U256::ZERO,
        data: alloy::primitives::Bytes::default(),
    };
    let used_tx = net.as_key(account.address(), &session.0).await?.execute_direct(&[call]).await?;
    let o = run(&["revoke", "--account", &acct, &kh.to_string()]);
    ensure!(o.status.success(), "revoke {kh}: {} (keys: {})", stderr(&o), stdout(&run(&["keys", "--account", &acct])));
    // An EntryPoint change is reported too (security-relevant: it decides who may validate operations).
    let new_entry_point = alloy::primitives::Address::repeat_byte(0xe9);
    let update = keyward::encode::self_call(keyward::encode::update_entry_point(new_entry_point));
    account.execute_as_root(&[update]).await?;
    let o = run(&["watch", "--account", &acct, "--once"]);
    let events: Vec<serde_json::Value> = stdout(&o).lines().map(serde_json::from_str).collect::<Result<_, _>>()?;
    let kinds: Vec<&str> = events.iter().filter_map(|e| e["event"].as_str()).collect();
    // One event per grant (the account logs Registered and KeySettingsUpdated), with the key and its window.
    ensure!(kinds == ["granted", "used", "revoked", "entryPointUpdated"], "{kinds:?}");
    ensure!(events[0]["keyHash"] == kh.to_string() && events[0]["keyType"] == "Secp256k1", "{}", events[0]);
    ensure!(events[0]["expiration"].as_u64().is_some_and(|t| t > 0) && events[0]["validAfter"] == 0, "{}", events[0]);
    ensure!(events[3]["entryPoint"] == new_entry_point.to_string().to_lowercase(), "{}", events[3]);
    ensure!(events[1]["keyHash"] == kh.to_string() && events[1]["tx"] == used_tx.to_string(), "{}", events[1]);
    ensure!(events.iter().all(|e| e["tx"].as_str().is_some_and(|t| t.len() == 66) && e["block"].is_u64()));
    // Filtered to another key: only the account-wide event is left.
    let other = B256::repeat_byte(7).to_string();
    let o = run(&["watch", "--account", &acct, "--once", "--key-hash", &other]);
    let kinds: Vec<serde_json::Value> = stdout(&o).lines().map(serde_json::from_str).collect::<Result<_, _>>()?;
    ensure!(kinds.len() == 1 && kinds[0]["event"] == "entryPointUpdated", "{kinds:?}");
    let o = run(&["watch", "--account", &acct, "--once", "--key-hash", &kh.to_string()]);
    ensure!(stdout(&o).lines().count() == 4, "all four concern the session key or the whole account");
    // Paged one block per query, the history is the same.
    let o = run(&["watch", "--account", &acct, "--once", "--max-blocks", "1"]);
    let paged: Vec<serde_json::Value> = stdout(&o).lines().map(serde_json::from_str).collect::<Result<_, _>>()?;
    ensure!(paged == events, "paged {paged:?}");
    let o = run(&["watch", "--account", &acct, "--once", "--max-blocks", "0"]);
    ensure!(o.status.code() == Some(2), "--max-blocks 0 is a usage error");
    // With confirmations, the EntryPoint change (in the last block) is not reported yet.
    let o = run(&["watch", "--account", &acct, "--once", "--confirmations", "1"]);
    let kinds: Vec<String> = stdout(&o)
        .lines()
        .map(|l| {
            serde_json::from_str::<serde_json::Value>(l).map(|v| v["event"].as_str().unwrap_or_default().to_owned())
        })
        .collect::<Result<_, _>>()?;
    ensure!(kinds == ["granted", "used", "revoked"], "{kinds:?}");
    // Revoking an unknown key: the account's typed error, one line.
    let o = run(&["revoke", "--account", &acct, &B256::repeat_byte(1).to_string()]);
    ensure!(o.status.code() == Some(1) && stderr(&o).contains("KeyDoesNotExist"), "{}", stderr(&o));
    // Without a private key, commands that send say so.
    let o = Command::new(env!("CARGO_BIN_EXE_keyward"))
        .args(["revoke-all", "--account", &acct, "--rpc-url", &url])
        .env_remove("KEYWARD_PRIVATE_KEY")
        .output()?;
    ensure!(stderr(&o) == "error: a private key is needed: set KEYWARD_PRIVATE_KEY or --private-key-file\n");
    Ok(())
}

/// deploy (idempotent, same CREATE2 addresses as the testkit), delegate, and grant with policy flags.
#[tokio::test]
async fn deploy_delegate_and_grant_with_policy() -> Result<()> {
    use alloy::primitives::{Address, Bytes, U256};
    use keyward::bindings::{Call, policy::IPolicyHook::IPolicyHookErrors};

    let net = Testnet::start().await?;
    let url = net.url().to_string();
    let eoa = alloy::signers::local::PrivateKeySigner::random();
    net.fund(eoa.address(), U256::from(10u128.pow(19))).await?;
    let pk = alloy::primitives::hex::encode_prefixed(eoa.to_bytes());
    let run = |args: &[&str]| keyward_env(&url, &pk, args);
    let o = run(&["--json", "deploy"]);
    ensure!(o.status.success(), "{}", stderr(&o));
    let v: serde_json::Value = serde_json::from_slice(&o.stdout)?;
    let same = |field: &str, a: Address| v[field].as_str().is_some_and(|s| s.parse::<Address>().is_ok_and(|x| x == a));
    ensure!(same("keyward", net.keyward) && same("policyHook", net.policy_hook), "{v}");
    let acct = eoa.address().to_string();
    let o = run(&["delegate", "--account", &acct]);
    ensure!(o.status.success(), "{}", stderr(&o));
    let session = Secp256k1Signer(alloy::signers::local::PrivateKeySigner::random());
    let shop = Address::repeat_byte(0x5e);
    let allow = format!("{shop}:0x00000000");
    let o = run(&[
        "grant",
        "--account",
        &acct,
        "--public-key",
        &session.0.address().to_string(),
        "--expires-in",
        "1h",
        "--allow",
        &allow,
        "--max-calls",
        "2",
    ]);
    ensure!(o.status.success(), "{}", stderr(&o));
    // The key works twice (ETH needs a native policy; a zero-value call does not), then the call cap refuses it.
    let as_key = net.as_key(eoa.address(), &session.0).await?;
    let call = [Call { to: shop, value: U256::ZERO, data: Bytes::new() }];
    as_key.execute_direct(&call).await?;
    as_key.execute_direct(&call).await?;
    let e = as_key.execute_direct(&call).await.expect_err("third call");
    ensure!(matches!(e, keyward::Error::Policy(IPolicyHookErrors::CallLimitExceeded(_))), "{e}");
    // `policy` shows what the grant configured and what was used, read from the hook in the key's settings.
    let kh = session.key_hash().to_string();
    let o = run(&["--json", "policy", "--account", &acct, &kh]);
    ensure!(o.status.success(), "{}", stderr(&o));
    let p: serde_json::Value = serde_json::from_slice(&o.stdout)?;
    ensure!(p["hook"] == net.policy_hook.to_string().to_lowercase(), "{p}");
    ensure!(p["rules"].as_array().is_some_and(|r| r.len() == 1), "{p}");
    ensure!(p["rules"][0]["target"] == shop.to_string().to_lowercase() && p["rules"][0]["state"] == "allow", "{p}");
    ensure!(p["usage"]["maxCalls"] == 2 && p["usage"]["used"] == 2 && p["native"]["enabled"] == false, "{p}");
    let o = run(&["policy", "--account", &acct, &kh]);
    ensure!(stdout(&o).contains("calls 2 of 2") && stdout(&o).contains("rule allow"), "{}", stdout(&o));
    // A key without a hook, and an unknown key: one line each.
    let plain = Secp256k1Signer(alloy::signers::local::PrivateKeySigner::random());
    // A grant must say when the key expires, or that it never does.
    let o = run(&["grant", "--account", &acct, "--public-key", &plain.0.address().to_string()]);
    ensure!(o.status.code() == Some(1) && stderr(&o).contains("--never-expires"), "{}", stderr(&o));
    let o = run(&["grant", "--account", &acct, "--public-key", &plain.0.address().to_string(), "--never-expires"]);
    ensure!(o.status.success(), "{}", stderr(&o));
    let o = run(&["policy", "--account", &acct, &plain.key_hash().to_string()]);
    ensure!(o.status.code() == Some(1) && stderr(&o).contains("has no hook") && stderr(&o).lines().count() == 1);
    let o = run(&["policy", "--account", &acct, &alloy::primitives::B256::repeat_byte(3).to_string()]);
    ensure!(o.status.code() == Some(1) && stderr(&o).contains("KeyDoesNotExist"), "{}", stderr(&o));
    let o = run(&[
        "grant",
        "--account",
        &acct,
        "--public-key",
        &session.0.address().to_string(),
        "--expires-in",
        "1h",
        "--allow",
        "nonsense",
    ]);
    ensure!(
        o.status.code() == Some(1)
            && stderr(&o) == "error: --allow \"nonsense\": call \"nonsense\": expected TARGET:FUNCTION\n",
        "{}",
        stderr(&o)
    );
    Ok(())
}

/// `exec` as a session key on both signed paths; an expired key gets the EntryPoint's reason in one line.
#[tokio::test]
async fn exec_as_a_session_key() -> Result<()> {
    use alloy::primitives::{Address, U256};
    use keyward::{KeySigner, P256KeySigner, Settings};

    let net = Testnet::start().await?;
    let session = P256KeySigner::from_bytes(&[3; 32])?;
    let end = net.now().await? + 100;
    let settings = Settings::builder().expires_at(end).build()?;
    let (_, account) = net.new_account(&[Testnet::grant_call(&session.key(), settings)]).await?;
    let dir = std::env::temp_dir().join(format!("keyward-cli-{}", std::process::id()));
    std::fs::create_dir_all(&dir)?;
    let key_file = dir.join("session.key");
    std::fs::write(&key_file, format!("0x{}", "03".repeat(32)))?;
    // The relayer pays gas: the funded anvil account.
    let relayer = alloy::primitives::hex::encode_prefixed(net.funder().to_bytes());
    let shop = Address::repeat_byte(0x5e).to_string();
    let acct = account.address().to_string();
    let url = net.url().to_string();
    let run = |via: &str, lane: &str| {
        Command::new(env!("CARGO_BIN_EXE_keyward"))
            .args([
                "exec",
                "--account",
                &acct,
                "--via",
                via,
                "--key-type",
                "p256",
                "--value",
                "1",
                "--lane",
                lane,
                &shop,
            ])
            .env("ETH_RPC_URL", &url)
            .env("KEYWARD_PRIVATE_KEY", &relayer)
            .env("KEYWARD_SESSION_KEY_FILE", &key_file)
            .output()
            .expect("runs")
    };
    for via in ["relayed", "4337"] {
        let o = run(via, "0");
        ensure!(o.status.success(), "{via}: {}", stderr(&o));
        ensure!(stdout(&o).contains(&session.key_hash().to_string()));
        // Another nonce lane works beside lane 0.
        let o = run(via, "5");
        ensure!(o.status.success(), "{via} lane 5: {}", stderr(&o));
    }
    ensure!(net.provider().get_balance(Address::repeat_byte(0x5e)).await? == U256::from(4));
    ensure!(
        account
            .entry_point_nonce_in_lane(keyward::userop::ENTRY_POINT_V08, alloy::primitives::aliases::U192::from(5))
            .await?
            == (U256::from(5) << 64) + U256::from(1)
    );
    net.warp_to(end + 1).await?;
    let o = run("4337", "0");
    ensure!(
        // Found in the estimate, before anything is signed or sent: the account's own error, with the expiry.
        o.status.code() == Some(1)
            && stderr(&o).contains(&format!("KeyExpired {{ expiration: {end} }}"))
            && stderr(&o).lines().count() == 1,
        "{}",
        stderr(&o)
    );
    std::fs::remove_dir_all(&dir)?;
    Ok(())
}

/// A grant with a daily gas budget under the PolicyHook (its flags in the settings), `exec` through ERC-4337 naming
/// the gas window by itself, and the account-settings one-liners: gas budgets, nonce invalidation, salt.
#[tokio::test]
async fn gas_budgets_lanes_and_salt() -> Result<()> {
    use alloy::primitives::{Address, U256, aliases::U96};

    let net = Testnet::start().await?;
    let (eoa, account) = net.new_account(&[]).await?;
    let session = Secp256k1Signer(alloy::signers::local::PrivateKeySigner::random());
    let kh = session.key_hash().to_string();
    let url = net.url().to_string();
    let acct = account.address().to_string();
    let pk = alloy::primitives::hex::encode_prefixed(eoa.to_bytes());
    let run = |args: &[&str]| keyward_env(&url, &pk, args);
    let shop = Address::repeat_byte(0x5e);
    let allow = format!("{shop}:0x00000000");
    let o = run(&[
        "grant",
        "--account",
        &acct,
        "--public-key",
        &session.0.address().to_string(),
        "--expiry",
        "1d",
        "--allow",
        &allow,
        "--gas-budget-per-day",
        "eth:0.001",
    ]);
    ensure!(o.status.success(), "{}", stderr(&o));
    let o = run(&["--json", "keys", "--account", &acct]);
    let listed: serde_json::Value = serde_json::from_str(stdout(&o).lines().next().unwrap_or_default())?;
    ensure!(listed["flags"] == "AFTER_EXECUTE_ON_FAILURE|GAS_BUDGET", "{listed}");
    let o = run(&["--json", "gas-budget", "--account", &acct, &kh]);
    let b: serde_json::Value = serde_json::from_slice(&o.stdout)?;
    ensure!(b["perPeriod"] == "1000000000000000" && b["period"] == 86_400 && b["lifetime"] == "0", "{b}");

    // exec through ERC-4337: account-paid gas within the budget, the window named by the client.
    let dir = std::env::temp_dir().join(format!("keyward-cli-gas-{}", std::process::id()));
    std::fs::create_dir_all(&dir)?;
    let key_file = dir.join("session.key");
    std::fs::write(&key_file, alloy::primitives::hex::encode_prefixed(session.0.to_bytes()))?;
    let relayer = alloy::primitives::hex::encode_prefixed(net.funder().to_bytes());
    let o = Command::new(env!("CARGO_BIN_EXE_keyward"))
        .args(["exec", "--account", &acct, "--via", "4337", &shop.to_string()])
        .env("ETH_RPC_URL", &url)
        .env("KEYWARD_PRIVATE_KEY", &relayer)
        .env("KEYWARD_SESSION_KEY_FILE", &key_file)
        .output()?;
    std::fs::remove_dir_all(&dir)?;
    ensure!(o.status.success(), "{}", stderr(&o));
    let (_, spent) = account.gas_budget(session.key_hash()).await?;
    ensure!(spent.window.to::<u64>() == net.now().await? / 86_400, "{spent:?}");
    // The operation used the key's reserved lane, not the open lane 0.
    let lane = account.reserved_lane(session.key_hash(), 0).await?;
    let ep = keyward::userop::ENTRY_POINT_V08;
    ensure!(account.entry_point_nonce_in_lane(ep, lane).await? == keyward::lanes::nonce(lane, 1));

    // set-gas-budget: a lifetime cap alone; spending restarts.
    let o = run(&["set-gas-budget", "--account", &acct, &kh, "--lifetime", "5"]);
    ensure!(o.status.success(), "{}", stderr(&o));
    let (budget, spent) = account.gas_budget(session.key_hash()).await?;
    ensure!(budget.lifetime.to::<u64>() == 5 && budget.perPeriod.is_zero() && spent.window.is_zero());
    let o = run(&["set-gas-budget", "--account", &acct, &kh, "--per-period", "5"]);
    ensure!(o.status.code() == Some(1) && stderr(&o).contains("a per-period cap needs a period"), "{}", stderr(&o));

    // invalidate-nonce: the key's reserved relayed lane moves to sequence 3.
    let o = run(&["invalidate-nonce", "--account", &acct, "--lane", &U256::from(lane).to_string(), "--seq", "3"]);
    ensure!(o.status.success(), "{}", stderr(&o));
    ensure!(account.seq(lane).await? == 3);

    // update-salt: the account's EIP-712 salt carries the new prefix.
    let o = run(&["update-salt", "--account", &acct, "7"]);
    ensure!(o.status.success(), "{}", stderr(&o));
    let salt = account.domain().await?.salt.unwrap_or_default();
    ensure!(U256::from_be_bytes(salt.0) >> 160 == U256::from(U96::from(7)), "{salt}");
    Ok(())
}

/// `grant` in human units (`--expiry 5m`, `--cap eth:0.003 --period 1d`, `--total-cap`, a token by symbol with
/// `--token`, a call rule by signature), what the hook stores is exactly that; `exec --value eth:...` through
/// ERC-4337, and the policy's refusal as one line in words with a non-zero exit.
#[tokio::test]
async fn grant_in_human_units_and_refusal_in_words() -> Result<()> {
    use alloy::primitives::{Address, U256};

    let net = Testnet::start().await?;
    let (eoa, account) = net.new_account(&[]).await?;
    let token = net.deploy_token().await?;
    let session = Secp256k1Signer(alloy::signers::local::PrivateKeySigner::random());
    let url = net.url().to_string();
    let acct = account.address().to_string();
    let pk = alloy::primitives::hex::encode_prefixed(eoa.to_bytes());
    let run = |args: &[&str]| keyward_env(&url, &pk, args);
    let shop = Address::repeat_byte(0x5e);
    let receive = format!("{shop}:receive");
    let tt = format!("tt={token}@6");
    let o = run(&[
        "grant",
        "--account",
        &acct,
        "--public-key",
        &session.0.address().to_string(),
        "--expiry",
        "5m",
        "--token",
        &tt,
        "--allow",
        &receive,
        "--allow",
        "tt:transfer(address to, uint256 amount)",
        "--cap",
        "eth:0.003",
        "--period",
        "1d",
        "--total-cap",
        "eth:0.005",
        "--daily-limit",
        "tt:1.5",
        "--gas-budget-per-day",
        "eth:0.01",
    ]);
    ensure!(o.status.success(), "{}", stderr(&o));
    let kh = session.key_hash().to_string();
    let o = run(&["--json", "policy", "--account", &acct, &kh]);
    let p: serde_json::Value = serde_json::from_slice(&o.stdout)?;
    let native = &p["native"]["limits"];
    ensure!(native["perPeriod"] == "3000000000000000" && native["lifetime"] == "5000000000000000", "{p}");
    ensure!(p["tokens"][0]["limits"]["perPeriod"] == "1500000" && p["rules"].as_array().map(Vec::len) == Some(2));
    // As text, in the assets' units.
    let o = run(&["policy", "--account", &acct, &kh, "--token", &tt]);
    let text = stdout(&o);
    ensure!(
        text.contains("native: per call no cap, per period 0.003 ETH every 1d, lifetime 0.005 ETH; spent 0 ETH")
            && text.contains("token tt: per period 1.5 tt every 1d, lifetime no cap; spent 0 tt"),
        "{text}"
    );
    let o = run(&["--json", "keys", "--account", &acct]);
    let k: serde_json::Value = serde_json::from_str(stdout(&o).lines().next().unwrap_or_default())?;
    ensure!(k["timeLeft"].as_u64().is_some_and(|t| t > 250 && t <= 300), "{k}");
    let o = run(&["keys", "--account", &acct]);
    let row = stdout(&o).lines().nth(1).unwrap_or_default().to_owned();
    ensure!(row.contains("active") && (row.ends_with("5m") || row.contains("  4m")), "time left as a duration: {row}");

    let dir = std::env::temp_dir().join(format!("keyward-cli-units-{}", std::process::id()));
    std::fs::create_dir_all(&dir)?;
    let key_file = dir.join("session.key");
    std::fs::write(&key_file, alloy::primitives::hex::encode_prefixed(session.0.to_bytes()))?;
    let relayer = alloy::primitives::hex::encode_prefixed(net.funder().to_bytes());
    let exec = |value: &str| {
        Command::new(env!("CARGO_BIN_EXE_keyward"))
            .args(["exec", "--account", &acct, "--value", value, &shop.to_string()])
            .env("ETH_RPC_URL", &url)
            .env("KEYWARD_PRIVATE_KEY", &relayer)
            .env("KEYWARD_SESSION_KEY_FILE", &key_file)
            .output()
            .expect("runs")
    };
    let o = exec("eth:0.002");
    ensure!(o.status.success(), "{}", stderr(&o));
    ensure!(net.provider().get_balance(shop).await? == U256::from(2_000_000_000_000_000u64));
    let o = exec("eth:0.002");
    let line = stderr(&o);
    ensure!(
        o.status.code() == Some(1)
            && line.lines().count() == 1
            && line.starts_with(
                "error: refused by the key's policy or the account, nothing was sent: spend limit exceeded: this period's spending would reach 0.004 ETH, over its 0.003 ETH limit ("
            )
            && line.contains("SpendLimitExceeded"),
        "{line}"
    );
    let o = exec("usdc:1");
    ensure!(o.status.code() == Some(1) && stderr(&o).contains("--value"), "{}", stderr(&o));
    std::fs::remove_dir_all(&dir)?;
    Ok(())
}

/// ERC-7715: `grant --request FILE.json` grants a request exactly and prints its response; `permissions` reads it
/// back from the chain as the same response; a request Keyward cannot enforce is one line naming it, nothing sent.
#[tokio::test]
async fn test_cli_erc7715_grant_request_and_permissions() -> Result<()> {
    use alloy::primitives::U256;
    use keyward::erc7715::{Allowance, PermissionResponse};

    let net = Testnet::start().await?;
    let (eoa, account) = net.new_account(&[]).await?;
    let token = net.deploy_token().await?;
    net.mint(token, account.address(), U256::from(1_000u64)).await?;
    let url = net.url().to_string();
    let acct = account.address().to_string();
    let pk = alloy::primitives::hex::encode_prefixed(eoa.to_bytes());
    let run = |args: &[&str]| keyward_env(&url, &pk, args);
    let session = alloy::signers::local::PrivateKeySigner::random();
    let expiry = net.now().await? + 3_600;
    let dir = std::env::temp_dir().join(format!("keyward-erc7715-{}", std::process::id()));
    std::fs::create_dir_all(&dir)?;
    // MetaMask's shape, as the params array of wallet_requestExecutionPermissions.
    let request = serde_json::json!([{
        "chainId": "0x7a69",
        "to": session.address(),
        "permission": {
            "type": "erc20-token-allowance",
            "isAdjustmentAllowed": false,
            "data": { "tokenAddress": token, "allowanceAmount": "0x64", "justification": "test" }
        },
        "rules": [{ "type": "expiry", "data": { "timestamp": expiry } }]
    }]);
    let file = dir.join("request.json");
    std::fs::write(&file, request.to_string())?;
    let o = run(&["--json", "grant", "--account", &acct, "--request", file.to_str().unwrap_or_default()]);
    ensure!(o.status.success(), "{}", stderr(&o));
    let responses: Vec<PermissionResponse> = serde_json::from_slice(&o.stdout)?;
    ensure!(responses.len() == 1);
    let response = &responses[0];
    ensure!(response.delegation_manager == account.address() && response.request.from == Some(account.address()));
    ensure!(
        matches!(response.request.permission.allowance, Allowance::Total { allowance_amount, .. } if allowance_amount == U256::from(100))
    );
    let o = run(&["--json", "permissions", "--account", &acct]);
    ensure!(o.status.success(), "{}", stderr(&o));
    let granted: Vec<PermissionResponse> = serde_json::from_slice(&o.stdout)?;
    ensure!(granted == [response.as_stored()], "{granted:?}");
    // The key holds the allowance on chain: 100, not 101.
    let as_key = net.as_key(account.address(), &session).await?;
    as_key.execute_direct(&[Testnet::transfer_call(token, eoa.address(), U256::from(100u64))]).await?;
    let e = as_key
        .execute_direct(&[Testnet::transfer_call(token, eoa.address(), U256::from(1u64))])
        .await
        .expect_err("past the allowance");
    ensure!(e.to_string().contains("SpendLimitExceeded"), "{e}");
    // Refused: a type Keyward cannot enforce, named in one line; nothing is granted.
    let refused = serde_json::json!({
        "chainId": "0x7a69",
        "to": session.address(),
        "permission": { "type": "token-approval-revocation", "isAdjustmentAllowed": false, "data": {} }
    });
    let bad = dir.join("refused.json");
    std::fs::write(&bad, refused.to_string())?;
    let o = run(&["grant", "--account", &acct, "--request", bad.to_str().unwrap_or_default()]);
    ensure!(o.status.code() == Some(1), "{}", stderr(&o));
    ensure!(stderr(&o).lines().count() == 1 && stderr(&o).contains("\"token-approval-revocation\""), "{}", stderr(&o));
    let o = run(&["--json", "permissions", "--account", &acct]);
    ensure!(serde_json::from_slice::<Vec<PermissionResponse>>(&o.stdout)?.len() == 1);
    std::fs::remove_dir_all(&dir)?;
    Ok(())
}
