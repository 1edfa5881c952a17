//! `keyward watch` following a chain through an RPC outage: a TCP proxy between the watcher and anvil is taken
//! down (open connections cut, new ones refused) and brought back on the same port.

use std::{
    io::{BufRead, BufReader},
    net::SocketAddr,
    process::{Child, Command, Stdio},
    sync::mpsc::{self, Receiver},
    time::{Duration, Instant},
};

use alloy::providers::Provider;
use eyre::{OptionExt, Result, ensure};
use keyward::{KeySigner, Secp256k1Signer, Settings};
use keyward_testkit::Testnet;
use tokio::{
    net::{TcpSocket, TcpStream},
    task::{JoinHandle, JoinSet},
};

/// A TCP proxy that can be taken down and brought back on the same port.
struct Proxy {
    addr: SocketAddr,
    upstream: SocketAddr,
    task: Option<JoinHandle<()>>,
}

impl Proxy {
    /// Must run inside a tokio runtime (the proxy is a task).
    fn start(upstream: SocketAddr) -> Result<Self> {
        let mut proxy = Self { addr: "127.0.0.1:0".parse()?, upstream, task: None };
        proxy.up()?;
        Ok(proxy)
    }

    /// Listens again on the same address (the first call picks a free port).
    fn up(&mut self) -> Result<()> {
        let socket = TcpSocket::new_v4()?;
        socket.set_reuseaddr(true)?;
        socket.bind(self.addr)?;
        let listener = socket.listen(64)?;
        self.addr = listener.local_addr()?;
        let upstream = self.upstream;
        self.task = Some(tokio::spawn(async move {
            // Dropping the set (when this task is aborted) aborts every open connection.
            let mut conns = JoinSet::new();
            while let Ok((mut inbound, _)) = listener.accept().await {
                conns.spawn(async move {
                    if let Ok(mut outbound) = TcpStream::connect(upstream).await {
                        let _ = tokio::io::copy_bidirectional(&mut inbound, &mut outbound).await;
                    }
                });
                while conns.try_join_next().is_some() {}
            }
        }));
        Ok(())
    }

    /// Closes the listener and cuts every open connection.
    async fn down(&mut self) {
        if let Some(task) = self.task.take() {
            task.abort();
            let _ = task.await;
        }
    }
}

/// Lines the child prints, collected by a thread.
fn lines(stream: impl std::io::Read + Send + 'static) -> Receiver<String> {
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stream).lines().map_while(Result::ok) {
            if tx.send(line).is_err() {
                break;
            }
        }
    });
    rx
}

/// Waits (yielding to the proxy's tasks) until `events` holds `n` events, or fails after `timeout`.
async fn wait_for(
    rx: &Receiver<String>,
    events: &mut Vec<serde_json::Value>,
    n: usize,
    timeout: Duration,
) -> Result<()> {
    let start = Instant::now();
    while events.len() < n {
        while let Ok(line) = rx.try_recv() {
            events.push(serde_json::from_str(&line)?);
        }
        ensure!(start.elapsed() < timeout, "waited {timeout:?} for {n} events, got {events:?}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    Ok(())
}

struct KillOnDrop(Child);

impl Drop for KillOnDrop {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// The watcher reports what happened while its RPC was unreachable once it is back: nothing skipped, nothing
/// repeated, and it says on stderr that it is retrying.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn survives_an_rpc_outage() -> Result<()> {
    let net = Testnet::start().await?;
    let (_, account) = net.new_account(&[]).await?;
    let anvil_port = net.url().port().ok_or_eyre("anvil port")?;
    let mut proxy = Proxy::start(SocketAddr::from(([127, 0, 0, 1], anvil_port)))?;
    let from = net.provider().get_block_number().await?;

    let mut child = Command::new(env!("CARGO_BIN_EXE_keyward"))
        .args(["watch", "--account", &account.address().to_string(), "--from-block", &from.to_string()])
        .args(["--rpc-url", &format!("http://{}", proxy.addr)])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()?;
    let out = lines(child.stdout.take().ok_or_eyre("stdout")?);
    let err = lines(child.stderr.take().ok_or_eyre("stderr")?);
    let _child = KillOnDrop(child);

    // A grant while the RPC is up.
    let session = Secp256k1Signer(alloy::signers::local::PrivateKeySigner::random());
    account.grant_unbounded(&session.key(), Settings::default()).await?;
    let mut events = Vec::new();
    wait_for(&out, &mut events, 1, Duration::from_secs(20)).await?;

    // Outage: a revocation happens meanwhile; the watcher cannot see it and says it retries.
    proxy.down().await;
    account.revoke(session.key_hash()).await?;
    tokio::time::sleep(Duration::from_millis(2500)).await;
    ensure!(out.try_recv().is_err(), "nothing can be reported during the outage");
    let retries: Vec<String> = err.try_iter().collect();
    ensure!(retries.iter().any(|l| l.starts_with("watch: ") && l.ends_with("(retrying)")), "stderr: {retries:?}");

    // Back on the same port: the revocation arrives, exactly once.
    proxy.up()?;
    wait_for(&out, &mut events, 2, Duration::from_secs(20)).await?;
    tokio::time::sleep(Duration::from_millis(2500)).await;
    events.extend(out.try_iter().map(|l| serde_json::from_str(&l)).collect::<Result<Vec<_>, _>>()?);
    let kinds: Vec<&str> = events.iter().filter_map(|e| e["event"].as_str()).collect();
    ensure!(kinds == ["granted", "revoked"], "{kinds:?}");
    ensure!(events.iter().all(|e| e["keyHash"] == session.key_hash().to_string()));
    Ok(())
}

/// `watch --once --cursor-file`: a second run starts where the first stopped (nothing repeated), a later run prints
/// exactly what happened in between (nothing skipped), and a damaged cursor file is a one-line error.
#[tokio::test]
async fn test_watch_cursor_file_resumes_without_skipping_or_repeating() -> Result<()> {
    let net = Testnet::start().await?;
    let (_, account) = net.new_account(&[]).await?;
    let dir = std::env::temp_dir().join(format!("keyward-cli-cursor-{}", std::process::id()));
    std::fs::create_dir_all(&dir)?;
    let cursor = dir.join("cursor.json");
    let (url, acct, path) = (net.url().to_string(), account.address().to_string(), cursor.display().to_string());
    let watch = || -> Result<Vec<serde_json::Value>> {
        let o = Command::new(env!("CARGO_BIN_EXE_keyward"))
            .args(["watch", "--once", "--account", &acct, "--rpc-url", &url, "--cursor-file", &path])
            .output()?;
        ensure!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
        Ok(String::from_utf8(o.stdout)?.lines().map(serde_json::from_str).collect::<Result<_, _>>()?)
    };
    let events = |kinds: &[serde_json::Value]| kinds.iter().map(|e| e["event"].to_string()).collect::<Vec<_>>();

    let first = Secp256k1Signer(alloy::signers::local::PrivateKeySigner::random());
    account.grant_unbounded(&first.key(), Settings::default()).await?;
    let seen = watch()?;
    ensure!(events(&seen) == [r#""granted""#], "{seen:?}");
    ensure!(cursor.exists(), "the cursor was saved");
    // Nothing new: nothing printed again.
    ensure!(watch()?.is_empty(), "a rerun repeats nothing");
    // Two things happen while no watcher runs: the next run prints exactly them, in order.
    let second = Secp256k1Signer(alloy::signers::local::PrivateKeySigner::random());
    account.grant_unbounded(&second.key(), Settings::default()).await?;
    account.revoke(first.key_hash()).await?;
    let seen = watch()?;
    ensure!(events(&seen) == [r#""granted""#, r#""revoked""#], "{seen:?}");
    ensure!(seen[0]["keyHash"] == second.key_hash().to_string() && seen[1]["keyHash"] == first.key_hash().to_string());
    ensure!(watch()?.is_empty());

    // A damaged cursor: one line, exit 1, the file left for the user.
    std::fs::write(&cursor, "not json")?;
    let o = Command::new(env!("CARGO_BIN_EXE_keyward"))
        .args(["watch", "--once", "--account", &acct, "--rpc-url", &url, "--cursor-file", &path])
        .output()?;
    let err = String::from_utf8_lossy(&o.stderr);
    ensure!(o.status.code() == Some(1) && err.lines().count() == 1 && err.contains("is not a watch cursor"), "{err}");
    std::fs::remove_dir_all(&dir)?;
    Ok(())
}
