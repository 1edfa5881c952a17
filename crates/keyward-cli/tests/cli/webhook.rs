//! `keyward watch --webhook`: grants, revocations and uses delivered as signed POSTs to a local endpoint
//! (127.0.0.1) that is down for a while, fails a few more requests, recovers, and checks every signature. Every
//! event arrives exactly once after deduplication by id, none is lost across a watcher killed during the outage.

use std::{
    collections::HashSet,
    process::{Child, Command, Stdio},
    sync::{Arc, Mutex},
    time::{Duration, SystemTime, UNIX_EPOCH},
};

use alloy::{
    primitives::{Address, Bytes, U256},
    signers::local::PrivateKeySigner,
};
use eyre::{Result, bail, ensure};
use keyward::{KeySigner, Secp256k1Signer, Settings, bindings::Call, webhook};
use keyward_testkit::Testnet;
use tokio::{
    io::{AsyncReadExt, AsyncWriteExt},
    net::{TcpListener, TcpStream},
};

const SECRET: &str = "whsec-test-4f1c";

/// What the endpoint saw.
#[derive(Default)]
struct State {
    /// Requests to answer 503 before recovering (`usize::MAX`: down).
    fail: usize,
    /// Every request.
    attempts: usize,
    /// Requests whose signature did not verify (answered 400).
    bad_signatures: usize,
    /// Accepted events, once each, in arrival order.
    delivered: Vec<serde_json::Value>,
    ids: HashSet<String>,
    /// Accepted requests for an id already delivered (deduplicated, answered 200).
    duplicates: usize,
}

/// A minimal HTTP/1.1 endpoint: one request per connection, answered and closed.
async fn serve(listener: TcpListener, state: Arc<Mutex<State>>) {
    while let Ok((stream, _)) = listener.accept().await {
        let state = state.clone();
        tokio::spawn(async move {
            let _ = handle(stream, &state).await;
        });
    }
}

async fn handle(mut stream: TcpStream, state: &Mutex<State>) -> Result<()> {
    let mut buf = Vec::new();
    let mut chunk = [0u8; 4096];
    let head_end = loop {
        let n = stream.read(&mut chunk).await?;
        if n == 0 {
            bail!("closed");
        }
        buf.extend_from_slice(&chunk[..n]);
        if let Some(i) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            break i + 4;
        }
    };
    let head = String::from_utf8_lossy(&buf[..head_end]).to_string();
    let header = |name: &str| {
        head.lines()
            .filter_map(|l| l.split_once(':'))
            .find(|(k, _)| k.trim().eq_ignore_ascii_case(name))
            .map(|(_, v)| v.trim().to_owned())
            .unwrap_or_default()
    };
    let len: usize = header("content-length").parse().unwrap_or(0);
    while buf.len() < head_end + len {
        let n = stream.read(&mut chunk).await?;
        if n == 0 {
            break;
        }
        buf.extend_from_slice(&chunk[..n]);
    }
    let body = &buf[head_end..head_end + len];
    let now = SystemTime::now().duration_since(UNIX_EPOCH)?.as_secs();
    let status = {
        let mut s = state.lock().map_err(|_| eyre::eyre!("poisoned"))?;
        s.attempts += 1;
        let checked = webhook::verify(
            SECRET.as_bytes(),
            &header(webhook::TIMESTAMP_HEADER),
            &header(webhook::SIGNATURE_HEADER),
            body,
            now,
            webhook::DEFAULT_TOLERANCE,
        );
        if checked.is_err() {
            s.bad_signatures += 1;
            400
        } else if s.fail > 0 {
            s.fail = s.fail.saturating_sub(usize::from(s.fail != usize::MAX));
            503
        } else {
            let event: serde_json::Value = serde_json::from_slice(body)?;
            let id = header(webhook::ID_HEADER);
            ensure!(event["id"] == id.as_str(), "the id header is the body's id");
            if s.ids.insert(id) {
                s.delivered.push(event);
            } else {
                s.duplicates += 1;
            }
            200
        }
    };
    let reason = if status == 200 { "OK" } else { "No" };
    stream
        .write_all(format!("HTTP/1.1 {status} {reason}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n").as_bytes())
        .await?;
    Ok(())
}

async fn until(what: &str, mut f: impl FnMut() -> bool) -> Result<()> {
    for _ in 0..300 {
        if f() {
            return Ok(());
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    bail!("timed out waiting for {what}")
}

// Multi-threaded: the endpoint keeps answering while the test waits on a watcher process.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn test_watch_webhook_delivers_each_event_once_across_an_outage_and_a_restart() -> Result<()> {
    let net = Testnet::start().await?;
    let (_, account) = net.new_account(&[]).await?;
    let listener = TcpListener::bind("127.0.0.1:0").await?;
    let endpoint = format!("http://{}/hooks/keyward", listener.local_addr()?);
    let state = Arc::new(Mutex::new(State { fail: usize::MAX, ..State::default() }));
    let server = tokio::spawn(serve(listener, state.clone()));
    let get = |f: &dyn Fn(&State) -> usize| state.lock().map_or(0, |s| f(&s));

    let dir = std::env::temp_dir().join(format!("keyward-cli-webhook-{}", std::process::id()));
    std::fs::create_dir_all(&dir)?;
    let (secret_file, cursor) = (dir.join("secret"), dir.join("cursor.json"));
    std::fs::write(&secret_file, format!("{SECRET}\n"))?;
    let (url, acct) = (net.url().to_string(), account.address().to_string());
    let watcher = |extra: &[&str], secret: &std::path::Path, cursor: &std::path::Path| {
        let mut c = Command::new(env!("CARGO_BIN_EXE_keyward"));
        c.args(["watch", "--account", &acct, "--rpc-url", &url, "--webhook", &endpoint])
            .arg("--webhook-secret-file")
            .arg(secret)
            .arg("--cursor-file")
            .arg(cursor)
            .args(extra)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        c
    };
    let kill = |mut child: Child| -> Result<()> {
        child.kill()?;
        child.wait()?;
        Ok(())
    };

    // Key A: granted with a window and a hook, used once, revoked; key B granted.
    let a = Secp256k1Signer(PrivateKeySigner::random());
    let b = Secp256k1Signer(PrivateKeySigner::random());
    let t0 = net.now().await?;
    account.grant(&a.key(), Settings::builder().valid_after(t0).expires_at(t0 + 3_600).build()?).await?;
    let pay = Call { to: Address::repeat_byte(0x5e), value: U256::ZERO, data: Bytes::new() };
    net.as_key(account.address(), &a.0).await?.execute_direct(&[pay]).await?;
    account.revoke(a.key_hash()).await?;
    account.grant(&b.key(), net.policy_settings().expires_at(t0 + 7_200).build()?).await?;

    // The endpoint is down: the watcher retries with backoff, delivers nothing, and is killed mid-outage.
    let child = watcher(&[], &secret_file, &cursor).spawn()?;
    until("two failed attempts", || get(&|s| s.attempts) >= 2).await?;
    kill(child)?;
    ensure!(get(&|s| s.delivered.len()) == 0 && get(&|s| s.bad_signatures) == 0);
    ensure!(!cursor.exists(), "nothing delivered, so the cursor did not move");

    // A watcher with the wrong secret: every request refused by the endpoint, nothing accepted.
    let wrong = dir.join("wrong-secret");
    std::fs::write(&wrong, "not-the-secret")?;
    state.lock().map_err(|_| eyre::eyre!("poisoned"))?.fail = 0;
    let child = watcher(&[], &wrong, &dir.join("other-cursor.json")).spawn()?;
    until("a refused signature", || get(&|s| s.bad_signatures) >= 1).await?;
    kill(child)?;
    ensure!(get(&|s| s.delivered.len()) == 0, "a wrongly signed event is never accepted");

    // Restarted; the endpoint fails two more requests, then recovers: everything so far, once, in order.
    state.lock().map_err(|_| eyre::eyre!("poisoned"))?.fail = 2;
    let before = get(&|s| s.attempts);
    let o = watcher(&["--once"], &secret_file, &cursor).output()?;
    ensure!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    ensure!(String::from_utf8_lossy(&o.stderr).matches("retrying in").count() == 2, "two retries reported");
    ensure!(get(&|s| s.attempts) == before + 2 + 4, "two failures, then one request per event");
    let kinds = |s: &State| s.delivered.iter().map(|e| e["type"].as_str().unwrap_or("").to_owned()).collect::<Vec<_>>();
    let seen = state.lock().map(|s| kinds(&s)).unwrap_or_default();
    ensure!(seen == ["delegation.created", "delegation.used", "delegation.revoked", "delegation.created"], "{seen:?}");
    {
        let s = state.lock().map_err(|_| eyre::eyre!("poisoned"))?;
        let created = &s.delivered[0];
        ensure!(created["data"]["keyHash"] == a.key_hash().to_string(), "{created}");
        ensure!(
            created["data"]["validAfter"].as_u64() == Some(t0)
                && created["data"]["expiration"].as_u64() == Some(t0 + 3_600)
        );
        ensure!(created["data"]["hook"] == Address::ZERO.to_string(), "{created}");
        ensure!(s.delivered[3]["data"]["hook"] == net.policy_hook.to_string().to_lowercase(), "B's hook");
        ensure!(s.delivered[1]["data"]["keyHash"] == a.key_hash().to_string());
        ensure!(s.delivered.iter().all(|e| e["account"] == acct.to_lowercase() && e["chainId"].is_u64()));
    }

    // More while no watcher runs: B revoked with every key. The next run delivers exactly that; a rerun nothing.
    account.revoke_all().await?;
    let o = watcher(&["--once"], &secret_file, &cursor).output()?;
    ensure!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let o = watcher(&["--once"], &secret_file, &cursor).output()?;
    ensure!(o.status.success() && o.stdout.is_empty(), "a rerun repeats nothing");
    let s = state.lock().map_err(|_| eyre::eyre!("poisoned"))?;
    ensure!(
        s.delivered.len() == 5
            && s.delivered[4]["type"] == "delegation.revoked"
            && s.delivered[4]["data"]["allKeys"] == true
    );
    ensure!(s.duplicates == 0, "no event was delivered twice");
    ensure!(s.bad_signatures >= 1, "the wrong-secret watcher was refused");
    drop(s);

    // Misuse: a webhook without a cursor file or a secret is a usage error.
    let o = Command::new(env!("CARGO_BIN_EXE_keyward"))
        .args(["watch", "--account", &acct, "--rpc-url", &url, "--once", "--webhook", &endpoint])
        .output()?;
    ensure!(o.status.code() == Some(2), "{}", String::from_utf8_lossy(&o.stderr));
    server.abort();
    std::fs::remove_dir_all(&dir)?;
    Ok(())
}
