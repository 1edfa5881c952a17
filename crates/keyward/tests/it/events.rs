//! The key-event stream on anvil: one `Granted` per grant, filters, paging, confirmations, a serialized cursor that
//! resumes exactly, following new blocks, and an RPC outage (a TCP proxy taken down and brought back) that is
//! reported, retried with backoff and resumed without a skip or a repeat.

use std::{net::SocketAddr, time::Duration};

use alloy::{
    primitives::{Address, aliases::U96},
    providers::{Provider, ProviderBuilder},
    signers::local::PrivateKeySigner,
};
use eyre::{OptionExt, Result, bail, ensure};
use futures_util::StreamExt;
use keyward::{
    ErrorKind, KeySigner, P256KeySigner, Secp256k1Signer, Settings,
    client::{Account, Cursor, EventFilter, EventKind, KeyEvent},
    encode,
};
use tokio::{
    net::{TcpSocket, TcpStream},
    task::{JoinHandle, JoinSet},
};

use crate::fixture::{Chain, grant, pay};

/// A chain with history: a grant with a gas budget in one batch, two grants in one transaction, a use, an update,
/// a revocation, a salt change. Returns the chain, the first block and the two keys of interest.
async fn history() -> Result<(Chain, u64, Secp256k1Signer, P256KeySigner)> {
    let chain = Chain::start(&[]).await?;
    let from = chain.relayer.get_block_number().await?;
    let a = Secp256k1Signer(PrivateKeySigner::random());
    let b = P256KeySigner::from_bytes(&[41; 32])?;
    let c = P256KeySigner::from_bytes(&[42; 32])?;
    let user = chain.user();
    let budget = encode::gas_budget(1_000, 60, 0)?;
    let settings = Settings::builder().gas_budget(true).expires_at(chain.now().await? + 3_600).build()?;
    user.execute_as_root(&[grant(&a, settings), encode::self_call(encode::set_gas_budget(a.key_hash(), budget))])
        .await?;
    user.execute_as_root(&[grant(&b, Settings::default()), grant(&c, Settings::default())]).await?;
    Account::at(user.address(), chain.funded(&a.0).await?).execute_direct(&pay(Address::repeat_byte(9), 1)).await?;
    user.update(b.key_hash(), Settings::builder().expires_at(2_000_000_000).build()?).await?;
    user.revoke(a.key_hash()).await?;
    user.update_salt(U96::from(7)).await?;
    Ok((chain, from, a, b))
}

async fn collect<P: Provider + Clone>(mut s: keyward::client::KeyEventStream<P>) -> Result<Vec<KeyEvent>> {
    let mut out = Vec::new();
    while let Some(e) = s.next().await {
        out.push(e?);
    }
    Ok(out)
}

#[tokio::test]
#[ignore = "spawns anvil from node_modules: `make test` runs it"]
async fn test_event_stream_merges_grants_filters_and_pages() -> Result<()> {
    use EventKind::*;
    let (chain, from, a, b) = history().await?;
    let account = chain.relayed();
    let all = collect(account.events().from_block(from)).await?;
    let kinds: Vec<EventKind> = all.iter().map(KeyEvent::kind).collect();
    ensure!(kinds == [Granted, Granted, Granted, Used, SettingsUpdated, Revoked, DomainChanged], "{kinds:?}");
    match &all[0] {
        KeyEvent::Granted { key, key_hash, settings, gas_budget: Some(budget), .. } => {
            ensure!(*key == a.key() && *key_hash == a.key_hash() && settings.has_flag(keyward::Flags::GAS_BUDGET));
            ensure!(budget.period.to::<u64>() == 60, "{budget:?}");
        }
        other => bail!("the first grant with its budget: {other:?}"),
    }
    // Two grants in one transaction: two events, same transaction, in log order.
    ensure!(all[1].tx() == all[2].tx() && all[1].position().2 < all[2].position().2);
    // The same through the Vec API and through `futures` streams.
    ensure!(account.key_events(from).await? == all);
    let streamed: Vec<KeyEvent> =
        account.events().from_block(from).into_stream().map(|e| e.expect("no failure")).collect().await;
    ensure!(streamed == all);
    // Paged one block per read, the history is the same.
    ensure!(collect(account.events().from_block(from).page_size(1)).await? == all);
    // Filtered: one key (its events and the account-wide ones), some kinds.
    let of_b = collect(account.events().from_block(from).filter(EventFilter::all().key(b.key_hash()))).await?;
    let kinds: Vec<EventKind> = of_b.iter().map(KeyEvent::kind).collect();
    ensure!(kinds == [Granted, SettingsUpdated, DomainChanged], "{kinds:?}");
    let revocations = collect(account.events().from_block(from).filter(EventFilter::all().kinds([Revoked]))).await?;
    ensure!(matches!(revocations.as_slice(), [KeyEvent::Revoked { key_hash, .. }] if *key_hash == a.key_hash()));
    // With one confirmation, the last block's event waits.
    let confirmed = collect(account.events().from_block(from).confirmations(1)).await?;
    ensure!(confirmed.as_slice() == &all[..all.len() - 1], "{confirmed:?}");
    Ok(())
}

#[tokio::test]
#[ignore = "spawns anvil from node_modules: `make test` runs it"]
async fn test_event_stream_resumes_from_a_serialized_cursor() -> Result<()> {
    let (chain, from, ..) = history().await?;
    let account = chain.relayed();
    let all = collect(account.events().from_block(from)).await?;
    // Stop after each number of events, save the cursor as JSON, resume in a new stream: nothing skipped or repeated
    // (the second grant of the two-grant transaction resumes inside a block).
    for stop in 0..=all.len() {
        let mut first = account.events().from_block(from);
        let mut seen = Vec::new();
        for _ in 0..stop {
            seen.push(first.next().await.ok_or_eyre("an event")??);
        }
        let saved = serde_json::to_string(&first.cursor())?;
        drop(first);
        let cursor: Cursor = serde_json::from_str(&saved)?;
        seen.extend(collect(account.events().from_cursor(cursor)).await?);
        ensure!(seen == all, "resumed after {stop} events from {saved}: {seen:?}");
    }
    Ok(())
}

/// A TCP proxy that can be taken down (open connections cut, new ones refused) and brought back on the same port.
struct Proxy {
    addr: SocketAddr,
    upstream: SocketAddr,
    task: Option<JoinHandle<()>>,
}

impl Proxy {
    fn start(upstream: SocketAddr) -> Result<Self> {
        let mut proxy = Self { addr: "127.0.0.1:0".parse()?, upstream, task: None };
        proxy.up()?;
        Ok(proxy)
    }

    fn up(&mut self) -> Result<()> {
        let socket = TcpSocket::new_v4()?;
        socket.set_reuseaddr(true)?;
        socket.bind(self.addr)?;
        let listener = socket.listen(64)?;
        self.addr = listener.local_addr()?;
        let upstream = self.upstream;
        self.task = Some(tokio::spawn(async move {
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

    async fn down(&mut self) {
        if let Some(task) = self.task.take() {
            task.abort();
            let _ = task.await;
        }
    }
}

/// What the reader task passes on: an event or a failure (its kind and message), and the cursor after it.
type Item = (Result<KeyEvent, (ErrorKind, String)>, Cursor);

async fn next_item(rx: &mut tokio::sync::mpsc::UnboundedReceiver<Item>) -> Result<Item> {
    tokio::time::timeout(Duration::from_secs(20), rx.recv()).await.ok().flatten().ok_or_eyre("nothing within 20 s")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "spawns anvil from node_modules: `make test` runs it"]
async fn test_event_stream_follows_through_an_rpc_outage() -> Result<()> {
    let chain = Chain::start(&[]).await?;
    let port = chain.url.port().ok_or_eyre("anvil port")?;
    let mut proxy = Proxy::start(SocketAddr::from(([127, 0, 0, 1], port)))?;
    let from = chain.relayer.get_block_number().await?;
    let through_proxy = ProviderBuilder::new().connect_http(format!("http://{}", proxy.addr).parse()?);
    let watched = Account::at(chain.eoa.address(), through_proxy);
    let mut stream = watched
        .events()
        .from_block(from)
        .follow(true)
        .poll_interval(Duration::from_millis(100))
        .backoff(Duration::from_millis(100), Duration::from_millis(400));
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
    let reader = tokio::spawn(async move {
        while let Some(item) = stream.next().await {
            let item = item.map_err(|e| (e.kind(), e.to_string()));
            if tx.send((item, stream.cursor())).is_err() {
                break;
            }
        }
    });
    let session = Secp256k1Signer(PrivateKeySigner::random());
    let user = chain.user();
    user.grant_unbounded(&session.key(), Settings::default()).await?;
    let (first, _) = next_item(&mut rx).await?;
    ensure!(matches!(first, Ok(KeyEvent::Granted { key_hash, .. }) if key_hash == session.key_hash()), "{first:?}");

    // Outage: a revocation happens meanwhile; the stream reports transient failures and keeps its cursor.
    proxy.down().await;
    user.revoke(session.key_hash()).await?;
    let mut failures = 0;
    let mut cursor_during = None;
    while failures < 2 {
        match next_item(&mut rx).await? {
            (Err((kind, message)), cursor) => {
                ensure!(kind == ErrorKind::Transient, "{message}");
                ensure!(cursor_during.is_none_or(|c| c == cursor), "the cursor does not move while failing");
                cursor_during = Some(cursor);
                failures += 1;
            }
            (Ok(e), _) => bail!("an event during the outage: {e:?}"),
        }
    }

    // Back on the same port: the revocation arrives, exactly once, then nothing more.
    proxy.up()?;
    let revoked = loop {
        match next_item(&mut rx).await? {
            (Err(_), _) => {}
            (Ok(e), _) => break e,
        }
    };
    ensure!(matches!(revoked, KeyEvent::Revoked { key_hash, .. } if key_hash == session.key_hash()), "{revoked:?}");
    user.update_salt(U96::from(1)).await?;
    let (after, _) = next_item(&mut rx).await?;
    ensure!(
        matches!(after, Ok(KeyEvent::DomainChanged { .. })),
        "then the next new event, nothing repeated: {after:?}"
    );
    reader.abort();
    proxy.down().await;
    Ok(())
}
