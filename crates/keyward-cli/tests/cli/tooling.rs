//! Owner tooling on a local chain: `prune` (every expired key revoked in one transaction, the key list shrinking
//! to the live keys) and `grant --pop` (a key's proof of possession checked before anything is sent).

use alloy::{primitives::Bytes, providers::Provider, signers::local::PrivateKeySigner};
use eyre::{Result, ensure};
use keyward::{KeySigner, P256KeySigner, Secp256k1Signer, client::KeyStatus};
use keyward_testkit::Testnet;

use crate::{keyward_env, stderr, stdout};

/// `keyward prune` on both sides of a key's expiry: at its last valid second it stays, one second later it goes;
/// never-expiring and live keys stay; with nothing expired nothing is sent.
#[tokio::test]
async fn test_prune_revokes_every_expired_key_in_one_transaction() -> Result<()> {
    let net = Testnet::start().await?;
    let (eoa, account) = net.new_account(&[]).await?;
    let (url, acct) = (net.url().to_string(), account.address().to_string());
    let pk = alloy::primitives::hex::encode_prefixed(eoa.to_bytes());
    let run = |args: &[&str]| keyward_env(&url, &pk, args);
    let keys: Vec<Secp256k1Signer> = (0..5).map(|_| Secp256k1Signer(PrivateKeySigner::random())).collect();
    let t0 = net.now().await?;
    let (soon, later, live) = (t0 + 100, t0 + 200, t0 + 10_000);
    // Two keys expiring at `soon`, one at `later`, one live, one never expiring.
    for (k, expiry) in keys.iter().zip([Some(soon), Some(soon), Some(later), Some(live), None]) {
        let addr = k.0.address().to_string();
        let at = expiry.map(|t| t.to_string());
        let window: Vec<&str> = at.as_deref().map_or(vec!["--never-expires"], |t| vec!["--expires-at", t]);
        let o = run(&[&["grant", "--account", &acct, "--public-key", &addr][..], &window].concat());
        ensure!(o.status.success(), "{}", stderr(&o));
    }
    let listed = || async {
        let o = run(&["--json", "keys", "--account", &acct]);
        ensure!(o.status.success(), "{}", stderr(&o));
        let mut hashes: Vec<String> = stdout(&o)
            .lines()
            .map(|l| {
                Ok(serde_json::from_str::<serde_json::Value>(l)?["keyHash"].as_str().unwrap_or_default().to_owned())
            })
            .collect::<Result<_>>()?;
        hashes.sort();
        Ok::<_, eyre::Report>(hashes)
    };
    let hashes = |idx: &[usize]| {
        let mut h: Vec<String> = idx.iter().map(|&i| keys[i].key_hash().to_string()).collect();
        h.sort();
        h
    };
    let prune = || -> Result<serde_json::Value> {
        let o = run(&["--json", "prune", "--account", &acct]);
        ensure!(o.status.success(), "{}", stderr(&o));
        Ok(serde_json::from_str(stdout(&o).trim())?)
    };

    // Nothing expired yet: nothing sent.
    let p = prune()?;
    ensure!(p["tx"].is_null() && p["revoked"].as_array().is_some_and(Vec::is_empty), "{p}");
    // At `soon` the first two are still valid (their last second): they stay.
    net.warp_to(soon).await?;
    ensure!(prune()?["tx"].is_null());
    ensure!(listed().await? == hashes(&[0, 1, 2, 3, 4]));
    // One second later both are expired: revoked together, in one transaction.
    net.warp_to(soon + 1).await?;
    let p = prune()?;
    let tx: alloy::primitives::TxHash = p["tx"].as_str().unwrap_or_default().parse()?;
    let mut revoked: Vec<String> =
        p["revoked"].as_array().into_iter().flatten().filter_map(|v| v.as_str().map(str::to_owned)).collect();
    revoked.sort();
    ensure!(revoked == hashes(&[0, 1]), "{p}");
    ensure!(net.provider().get_transaction_receipt(tx).await?.is_some_and(|r| r.status()), "one mined transaction");
    ensure!(listed().await? == hashes(&[2, 3, 4]), "the list shrinks to the unexpired keys");
    for k in &keys[..2] {
        ensure!(account.status(k.key_hash()).await? == KeyStatus::Revoked);
    }
    // The third key past its expiry: revoked; the live and the never-expiring key stay.
    net.warp_to(later + 1).await?;
    let p = prune()?;
    ensure!(p["revoked"].as_array().is_some_and(|r| r.len() == 1), "{p}");
    ensure!(listed().await? == hashes(&[3, 4]));
    ensure!(prune()?["tx"].is_null(), "a second prune sends nothing");
    // Without the owner's key: one line, nothing changed.
    let o = std::process::Command::new(env!("CARGO_BIN_EXE_keyward"))
        .args(["prune", "--account", &acct])
        .env("ETH_RPC_URL", &url)
        .env_remove("KEYWARD_PRIVATE_KEY")
        .output()?;
    ensure!(o.status.code() == Some(1) && stderr(&o).lines().count() == 1, "{}", stderr(&o));
    Ok(())
}

/// `keyward grant --pop`: the key's own proof for this account and chain is accepted (secp256k1 with v = 27/28
/// or 0/1, P256); another key's signature, a proof for another account or for another chain is refused in one
/// line before anything is sent.
#[tokio::test]
async fn test_grant_pop_refuses_a_wrong_proof_before_sending() -> Result<()> {
    let net = Testnet::start().await?;
    let (eoa, account) = net.new_account(&[]).await?;
    let (url, acct) = (net.url().to_string(), account.address().to_string());
    let pk = alloy::primitives::hex::encode_prefixed(eoa.to_bytes());
    let run = |args: &[&str]| keyward_env(&url, &pk, args);
    let chain_id = net.provider().get_chain_id().await?;
    let grant = |kind: &str, public: &str, proof: &Bytes| -> Result<std::process::Output> {
        let proof = proof.to_string();
        Ok(run(&[
            "grant",
            "--account",
            &acct,
            "--type",
            kind,
            "--public-key",
            public,
            "--expires-in",
            "1h",
            "--pop",
            &proof,
        ]))
    };
    let key = Secp256k1Signer(PrivateKeySigner::random());
    let addr = key.0.address().to_string();
    let count = || async { account.keys().await.map(|k| k.len()) };

    let refused = |o: &std::process::Output| {
        o.status.code() == Some(1)
            && stderr(o).lines().count() == 1
            && stderr(o).contains("did not prove possession")
            && stderr(o).contains("was not signed by key")
    };
    // Another key's signature over the right digest.
    let impostor = Secp256k1Signer(PrivateKeySigner::random());
    let forged = impostor.sign_digest(keyward::pop::digest(account.address(), chain_id, key.key_hash()))?;
    ensure!(refused(&grant("secp256k1", &addr, &forged)?), "another key");
    // The key's proof for another account, and for another chain.
    let elsewhere = keyward::pop::sign(&key, alloy::primitives::Address::repeat_byte(1), chain_id)?;
    ensure!(refused(&grant("secp256k1", &addr, &elsewhere)?), "another account");
    let other_chain = keyward::pop::sign(&key, account.address(), chain_id + 1)?;
    ensure!(refused(&grant("secp256k1", &addr, &other_chain)?), "another chain");
    // Not a signature at all.
    let o = grant("secp256k1", &addr, &Bytes::from(vec![1u8; 10]))?;
    ensure!(o.status.code() == Some(1) && stderr(&o).contains("65 bytes expected"), "{}", stderr(&o));
    ensure!(count().await? == 0, "nothing was granted");

    // The key's own proof, as a wallet producing v = 0/1 gives it: granted.
    let mut proof = keyward::pop::sign(&key, account.address(), chain_id)?.to_vec();
    proof[64] -= 27;
    let o = grant("secp256k1", &addr, &proof.into())?;
    ensure!(o.status.success(), "{}", stderr(&o));
    ensure!(account.status(key.key_hash()).await? == KeyStatus::Active);
    // A P256 key with its proof.
    let p = P256KeySigner::from_bytes(&[0x21; 32])?;
    let xy = p.key().publicKey;
    let o = grant("p256", &xy.to_string(), &keyward::pop::sign(&p, account.address(), chain_id)?)?;
    ensure!(o.status.success(), "{}", stderr(&o));
    ensure!(count().await? == 2);

    // The holder's side: `keyward key prove` (offline) makes the proof the owner passes to `grant --pop`.
    let dir = std::env::temp_dir().join(format!("keyward-cli-pop-{}", std::process::id()));
    std::fs::create_dir_all(&dir)?;
    let key_file = dir.join("session.key");
    let holder = PrivateKeySigner::random();
    std::fs::write(&key_file, alloy::primitives::hex::encode_prefixed(holder.to_bytes()))?;
    let prove = |account: &str, chain: u64| {
        std::process::Command::new(env!("CARGO_BIN_EXE_keyward"))
            .args(["key", "prove", "--account", account, "--chain-id", &chain.to_string()])
            .arg("--session-key-file")
            .arg(&key_file)
            .output()
    };
    let holder_addr = holder.address().to_string();
    let o = prove(&acct, chain_id + 1)?;
    ensure!(o.status.success(), "{}", stderr(&o));
    let o = grant("secp256k1", &holder_addr, &stdout(&o).trim().parse()?)?;
    ensure!(refused(&o), "a proof made for another chain: {}", stderr(&o));
    let o = prove(&acct, chain_id)?;
    let proof = stdout(&o);
    ensure!(!proof.contains(&alloy::primitives::hex::encode(holder.to_bytes())), "the secret is never printed");
    let o = grant("secp256k1", &holder_addr, &proof.trim().parse()?)?;
    ensure!(o.status.success(), "{}", stderr(&o));
    ensure!(count().await? == 3);
    std::fs::remove_dir_all(&dir)?;
    Ok(())
}

/// `keyward pause` / `resume`: a paused key is refused (KeyIsPaused) and keeps its registration; `resume` restores
/// it; `--all` pauses every non-root key (the root still acts) until `resume --all`; a bad key hash or both forms at
/// once is a usage error and sends nothing.
#[tokio::test]
async fn test_pause_and_resume_from_the_command_line() -> Result<()> {
    use alloy::primitives::U256;
    use keyward::bindings::IKeyward;

    let net = Testnet::start().await?;
    let (eoa, account) = net.new_account(&[]).await?;
    let token = net.deploy_token().await?;
    net.mint(token, account.address(), U256::from(1_000u64)).await?;
    let (url, acct) = (net.url().to_string(), account.address().to_string());
    let pk = alloy::primitives::hex::encode_prefixed(eoa.to_bytes());
    let run = |args: &[&str]| keyward_env(&url, &pk, args);
    let session = PrivateKeySigner::random();
    let kh = Secp256k1Signer(session.clone()).key_hash().to_string();
    let addr = session.address().to_string();
    let o = run(&["grant", "--account", &acct, "--public-key", &addr, "--expiry", "1h"]);
    ensure!(o.status.success(), "{}", stderr(&o));
    let is_paused = || async {
        let call = IKeyward::isPausedCall { keyHash: kh.parse()? };
        let tx = alloy::rpc::types::TransactionRequest::default()
            .to(account.address())
            .input(alloy::sol_types::SolCall::abi_encode(&call).into());
        let out = net.provider().call(tx).await?;
        Ok::<_, eyre::Report>(out.last() == Some(&1))
    };
    let as_key = net.as_key(account.address(), &session).await?;
    let one = [Testnet::transfer_call(token, eoa.address(), U256::from(1u64))];
    let pay = || as_key.execute_direct(&one);
    let paused = |e: keyward::Error| e.to_string().contains("KeyIsPaused");

    let o = run(&["--json", "pause", "--account", &acct, &kh]);
    ensure!(o.status.success(), "{}", stderr(&o));
    ensure!(is_paused().await?, "paused on chain");
    ensure!(pay().await.is_err_and(paused), "a paused key is refused");
    ensure!(account.status(kh.parse()?).await? != KeyStatus::Revoked, "still registered");
    let o = run(&["resume", "--account", &acct, &kh]);
    ensure!(o.status.success() && stdout(&o).starts_with("resumed "), "{}", stderr(&o));
    ensure!(!is_paused().await?, "resumed on chain");
    pay().await?;

    let o = run(&["pause", "--account", &acct, "--all"]);
    ensure!(o.status.success(), "{}", stderr(&o));
    ensure!(pay().await.is_err_and(paused), "pause --all covers the key");
    account.execute_as_root(&one).await?;
    let o = run(&["resume", "--account", &acct, "--all"]);
    ensure!(o.status.success(), "{}", stderr(&o));
    pay().await?;

    // Usage errors: no key and no --all, or both; nothing sent.
    let block = net.provider().get_block_number().await?;
    for args in [&["pause", "--account", &acct][..], &["pause", "--account", &acct, &kh, "--all"][..]] {
        let o = run(args);
        ensure!(o.status.code() == Some(2), "{args:?}: {}", stderr(&o));
    }
    ensure!(net.provider().get_block_number().await? == block);
    Ok(())
}
