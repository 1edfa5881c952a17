//! The account's key events, as a resumable stream: [`Account::events`] reads them page by page (block ranges),
//! follows new blocks, retries RPC failures with backoff from where it stopped, and keeps a serializable
//! [`Cursor`] so a service can stop and resume exactly. One grant is one [`KeyEvent::Granted`] (the account logs
//! `Registered`, `KeySettingsUpdated` and, in the same batch, often `GasBudgetSet`).
//!
//! ```no_run
//! use alloy::{primitives::B256, providers::DynProvider};
//! use keyward::{ErrorKind, client::{Account, Cursor, EventFilter, EventKind, KeyEvent}};
//!
//! # async fn run(account: Account<DynProvider>, key_hash: B256, saved: Option<Cursor>) -> Result<(), keyward::Error> {
//! let mut events = account
//!     .events()
//!     .from_cursor(saved.unwrap_or(Cursor::at_block(0)))
//!     .filter(EventFilter::all().key(key_hash).kinds([EventKind::Granted, EventKind::Revoked, EventKind::Used]))
//!     .follow(true);
//! while let Some(event) = events.next().await {
//!     match event {
//!         Ok(KeyEvent::Granted { settings, .. }) => println!("granted until {}", settings.expiration()),
//!         Ok(other) => println!("{other:?}"),
//!         // The stream retries with backoff from its cursor; this is only news.
//!         Err(e) if e.kind() == ErrorKind::Transient => eprintln!("retrying: {e}"),
//!         Err(e) => return Err(e),
//!     }
//!     let _save_me = serde_json::to_string(&events.cursor());
//! }
//! # Ok(()) }
//! ```

use std::{collections::VecDeque, time::Duration};

use alloy::{
    primitives::{Address, B256, TxHash, U256},
    providers::Provider,
    rpc::types::{Filter, Log},
    sol_types::{SolEvent, SolEventInterface},
};
use serde::{Deserialize, Serialize};

use crate::{
    Error, ErrorKind, Settings,
    bindings::{GasBudget, IKeyward, IKeyward::IKeywardEvents, Key},
    client::{Account, revert::node},
};

/// A grant, update, revocation, use or account-wide change seen in the account's events, with where it is: its
/// block, transaction and log index (the last of its logs, for a grant).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum KeyEvent {
    /// A key was registered: `Registered(keyHash, key)`, with the `KeySettingsUpdated` of the same grant (settings
    /// all zero after Calibur's bare `register`, until an `update`) and the `GasBudgetSet` that follows them in the
    /// same transaction, when there is one.
    Granted {
        /// The public key.
        key: Key,
        /// The key hash.
        key_hash: B256,
        /// Its settings: window (`valid_after`..=`expiration`), hook, flags.
        settings: Settings,
        /// The gas budget set in the same batch.
        gas_budget: Option<GasBudget>,
        /// Block number.
        block: u64,
        /// Transaction hash.
        tx: TxHash,
        /// Log index (of its last log).
        log_index: u64,
    },
    /// `KeySettingsUpdated(keyHash, settings)` outside a grant.
    SettingsUpdated {
        /// The key hash.
        key_hash: B256,
        /// The new settings.
        settings: Settings,
        /// Block number.
        block: u64,
        /// Transaction hash.
        tx: TxHash,
        /// Log index.
        log_index: u64,
    },
    /// `Revoked(keyHash)`.
    Revoked {
        /// The key hash.
        key_hash: B256,
        /// Block number.
        block: u64,
        /// Transaction hash.
        tx: TxHash,
        /// Log index.
        log_index: u64,
    },
    /// `AllKeysRevoked(epoch)`.
    AllRevoked {
        /// The new key epoch.
        epoch: U256,
        /// Block number.
        block: u64,
        /// Transaction hash.
        tx: TxHash,
        /// Log index.
        log_index: u64,
    },
    /// `KeyUsed(keyHash)`: the key executed a batch (direct, relayed or ERC-4337); one per batch.
    Used {
        /// The key hash.
        key_hash: B256,
        /// Block number.
        block: u64,
        /// Transaction hash.
        tx: TxHash,
        /// Log index.
        log_index: u64,
    },
    /// `EntryPointUpdated(newEntryPoint)`: the account now trusts another ERC-4337 EntryPoint (zero: none).
    EntryPointUpdated {
        /// The new EntryPoint.
        entry_point: Address,
        /// Block number.
        block: u64,
        /// Transaction hash.
        tx: TxHash,
        /// Log index.
        log_index: u64,
    },
    /// `GasBudgetSet(keyHash, budget)` outside a grant: what the account may pay in ERC-4337 gas for the key.
    GasBudgetSet {
        /// The key hash.
        key_hash: B256,
        /// The new budget (spending restarts).
        budget: GasBudget,
        /// Block number.
        block: u64,
        /// Transaction hash.
        tx: TxHash,
        /// Log index.
        log_index: u64,
    },
    /// `NonceInvalidated(nonce)`: a nonce lane moved forward; signed batches below `nonce` in it never run.
    NonceInvalidated {
        /// The lane's next nonce.
        nonce: U256,
        /// Block number.
        block: u64,
        /// Transaction hash.
        tx: TxHash,
        /// Log index.
        log_index: u64,
    },
    /// `EIP712DomainChanged()`: a new salt prefix (`updateSalt`); every outstanding signature stopped verifying.
    DomainChanged {
        /// Block number.
        block: u64,
        /// Transaction hash.
        tx: TxHash,
        /// Log index.
        log_index: u64,
    },
    /// `ApproveNative(owner, spender, value)`: ERC-7914, `spender` may move `value` wei out of the account.
    NativeApproved {
        /// The spender.
        spender: Address,
        /// The allowance (`U256::MAX`: unlimited).
        value: U256,
        /// Block number.
        block: u64,
        /// Transaction hash.
        tx: TxHash,
        /// Log index.
        log_index: u64,
    },
}

/// The kind of a [`KeyEvent`], to filter on.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum EventKind {
    /// [`KeyEvent::Granted`].
    Granted,
    /// [`KeyEvent::SettingsUpdated`].
    SettingsUpdated,
    /// [`KeyEvent::Revoked`].
    Revoked,
    /// [`KeyEvent::AllRevoked`].
    AllRevoked,
    /// [`KeyEvent::Used`].
    Used,
    /// [`KeyEvent::EntryPointUpdated`].
    EntryPointUpdated,
    /// [`KeyEvent::GasBudgetSet`].
    GasBudgetSet,
    /// [`KeyEvent::NonceInvalidated`].
    NonceInvalidated,
    /// [`KeyEvent::DomainChanged`].
    DomainChanged,
    /// [`KeyEvent::NativeApproved`].
    NativeApproved,
}

impl KeyEvent {
    /// Its block, transaction and log index.
    pub fn position(&self) -> (u64, TxHash, u64) {
        match self {
            Self::Granted { block, tx, log_index, .. }
            | Self::SettingsUpdated { block, tx, log_index, .. }
            | Self::Revoked { block, tx, log_index, .. }
            | Self::AllRevoked { block, tx, log_index, .. }
            | Self::Used { block, tx, log_index, .. }
            | Self::EntryPointUpdated { block, tx, log_index, .. }
            | Self::GasBudgetSet { block, tx, log_index, .. }
            | Self::NonceInvalidated { block, tx, log_index, .. }
            | Self::DomainChanged { block, tx, log_index }
            | Self::NativeApproved { block, tx, log_index, .. } => (*block, *tx, *log_index),
        }
    }

    /// The block the event is in.
    pub fn block(&self) -> u64 {
        self.position().0
    }

    /// The transaction the event is in.
    pub fn tx(&self) -> TxHash {
        self.position().1
    }

    /// Its kind.
    pub fn kind(&self) -> EventKind {
        match self {
            Self::Granted { .. } => EventKind::Granted,
            Self::SettingsUpdated { .. } => EventKind::SettingsUpdated,
            Self::Revoked { .. } => EventKind::Revoked,
            Self::AllRevoked { .. } => EventKind::AllRevoked,
            Self::Used { .. } => EventKind::Used,
            Self::EntryPointUpdated { .. } => EventKind::EntryPointUpdated,
            Self::GasBudgetSet { .. } => EventKind::GasBudgetSet,
            Self::NonceInvalidated { .. } => EventKind::NonceInvalidated,
            Self::DomainChanged { .. } => EventKind::DomainChanged,
            Self::NativeApproved { .. } => EventKind::NativeApproved,
        }
    }

    /// The key the event is about, when it is about one key.
    pub fn key_hash(&self) -> Option<B256> {
        match self {
            Self::Granted { key_hash, .. }
            | Self::SettingsUpdated { key_hash, .. }
            | Self::Revoked { key_hash, .. }
            | Self::Used { key_hash, .. }
            | Self::GasBudgetSet { key_hash, .. } => Some(*key_hash),
            _ => None,
        }
    }

    /// Whether the event concerns key `key_hash`: its own events, and the account-wide ones, which affect every
    /// key (revoke-all, EntryPoint, nonce and salt changes, native allowances).
    pub fn concerns(&self, key_hash: B256) -> bool {
        self.key_hash().is_none_or(|k| k == key_hash)
    }

    /// The cursor just after this event.
    fn next_cursor(&self) -> Cursor {
        let (block, _, log_index) = self.position();
        Cursor { block, log_index: log_index + 1 }
    }
}

/// Which events a stream yields: some kinds (default: all), about one key (default: any).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[must_use]
pub struct EventFilter {
    kinds: Option<Vec<EventKind>>,
    key_hash: Option<B256>,
}

impl EventFilter {
    /// Every event.
    pub fn all() -> Self {
        Self::default()
    }

    /// Only these kinds.
    pub fn kinds(mut self, kinds: impl IntoIterator<Item = EventKind>) -> Self {
        self.kinds = Some(kinds.into_iter().collect());
        self
    }

    /// Only what concerns this key ([`KeyEvent::concerns`]: its own events and the account-wide ones).
    pub fn key(mut self, key_hash: impl Into<Option<B256>>) -> Self {
        self.key_hash = key_hash.into();
        self
    }

    /// Whether `event` passes.
    pub fn matches(&self, event: &KeyEvent) -> bool {
        self.kinds.as_ref().is_none_or(|k| k.contains(&event.kind())) && self.key_hash.is_none_or(|k| event.concerns(k))
    }
}

/// Where a stream stands: the next event is at or after log `log_index` of block `block`. Serializable (JSON:
/// `{"block":12,"logIndex":3}`), to resume a stream after a restart exactly where it stopped.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Cursor {
    /// The first block not read completely.
    pub block: u64,
    /// The first log index in `block` not yet yielded.
    pub log_index: u64,
}

impl Cursor {
    /// The start of block `block`.
    pub fn at_block(block: u64) -> Self {
        Self { block, log_index: 0 }
    }

    /// Whether an event at `position` is at or after the cursor.
    fn admits(self, block: u64, log_index: u64) -> bool {
        (block, log_index) >= (self.block, self.log_index)
    }
}

/// One decoded log with its position.
struct Decoded {
    event: IKeywardEvents,
    block: u64,
    tx: TxHash,
    log_index: u64,
}

/// The account's logs, decoded and merged: a `Registered` with the `KeySettingsUpdated` of the same key that
/// follows it in the same transaction (and then a `GasBudgetSet` of the key) is one [`KeyEvent::Granted`].
fn merge(logs: Vec<Decoded>) -> Result<Vec<KeyEvent>, Error> {
    let mut out = Vec::with_capacity(logs.len());
    let mut logs = logs.into_iter().peekable();
    while let Some(Decoded { event, block, tx, log_index }) = logs.next() {
        out.push(match event {
            IKeywardEvents::Registered(e) => {
                let same_grant = |d: &Decoded| d.tx == tx && d.block == block;
                let mut settings = Settings::default();
                let mut gas_budget = None;
                let mut last = log_index;
                if let Some(next) = logs.next_if(|d| {
                    same_grant(d) && matches!(&d.event, IKeywardEvents::KeySettingsUpdated(u) if u.keyHash == e.keyHash)
                }) {
                    if let IKeywardEvents::KeySettingsUpdated(u) = next.event {
                        settings = Settings::try_from(u.settings)?;
                    }
                    last = next.log_index;
                    if let Some(next) = logs.next_if(|d| {
                        same_grant(d) && matches!(&d.event, IKeywardEvents::GasBudgetSet(b) if b.keyHash == e.keyHash)
                    }) {
                        if let IKeywardEvents::GasBudgetSet(b) = next.event {
                            gas_budget = Some(b.budget);
                        }
                        last = next.log_index;
                    }
                }
                KeyEvent::Granted { key: e.key, key_hash: e.keyHash, settings, gas_budget, block, tx, log_index: last }
            }
            IKeywardEvents::KeySettingsUpdated(e) => KeyEvent::SettingsUpdated {
                key_hash: e.keyHash,
                settings: Settings::try_from(e.settings)?,
                block,
                tx,
                log_index,
            },
            IKeywardEvents::Revoked(e) => KeyEvent::Revoked { key_hash: e.keyHash, block, tx, log_index },
            IKeywardEvents::AllKeysRevoked(e) => KeyEvent::AllRevoked { epoch: e.epoch, block, tx, log_index },
            IKeywardEvents::KeyUsed(e) => KeyEvent::Used { key_hash: e.keyHash, block, tx, log_index },
            IKeywardEvents::EntryPointUpdated(e) => {
                KeyEvent::EntryPointUpdated { entry_point: e.newEntryPoint, block, tx, log_index }
            }
            IKeywardEvents::GasBudgetSet(e) => {
                KeyEvent::GasBudgetSet { key_hash: e.keyHash, budget: e.budget, block, tx, log_index }
            }
            IKeywardEvents::NonceInvalidated(e) => KeyEvent::NonceInvalidated { nonce: e.nonce, block, tx, log_index },
            IKeywardEvents::EIP712DomainChanged(_) => KeyEvent::DomainChanged { block, tx, log_index },
            IKeywardEvents::ApproveNative(e) => {
                KeyEvent::NativeApproved { spender: e.spender, value: e.value, block, tx, log_index }
            }
            // Not in the filter.
            _ => continue,
        });
    }
    Ok(out)
}

/// The topics of the events the stream reads.
fn topics() -> Vec<B256> {
    vec![
        IKeyward::Registered::SIGNATURE_HASH,
        IKeyward::KeySettingsUpdated::SIGNATURE_HASH,
        IKeyward::Revoked::SIGNATURE_HASH,
        IKeyward::AllKeysRevoked::SIGNATURE_HASH,
        IKeyward::KeyUsed::SIGNATURE_HASH,
        IKeyward::EntryPointUpdated::SIGNATURE_HASH,
        IKeyward::GasBudgetSet::SIGNATURE_HASH,
        IKeyward::NonceInvalidated::SIGNATURE_HASH,
        IKeyward::EIP712DomainChanged::SIGNATURE_HASH,
        IKeyward::ApproveNative::SIGNATURE_HASH,
    ]
}

fn decode(log: &Log) -> Result<Decoded, Error> {
    let event =
        IKeywardEvents::decode_log(&log.inner).map_err(|source| Error::Decode { what: "a key event", source })?.data;
    Ok(Decoded {
        event,
        block: log.block_number.unwrap_or_default(),
        tx: log.transaction_hash.unwrap_or_default(),
        log_index: log.log_index.unwrap_or_default(),
    })
}

/// How long to wait after consecutive failures: doubling from `initial` up to `max`.
#[derive(Clone, Copy, Debug)]
struct Backoff {
    initial: Duration,
    max: Duration,
    next: Duration,
}

impl Backoff {
    fn new(initial: Duration, max: Duration) -> Self {
        Self { initial, max, next: initial }
    }

    fn step(&mut self) -> Duration {
        let wait = self.next.min(self.max);
        self.next = (wait * 2).min(self.max);
        wait
    }

    fn reset(&mut self) {
        self.next = self.initial;
    }
}

/// The account's key events as a resumable stream, built by [`Account::events`] (see the module docs).
///
/// [`KeyEventStream::next`] yields events in chain order. A transient failure ([`ErrorKind::Transient`]: no answer,
/// a server error, throttling) is yielded as an `Err` item and the stream goes on: it waits (doubling from 0.5 s
/// up to 30 s by default) and reads again from its cursor, so nothing is skipped or repeated. A node refusing a
/// page (too many blocks or logs) is asked for half as many blocks, silently, down to one block. Any other failure
/// (a node refusing a one-block read, an event that does not decode) is yielded and ends the stream. Without
/// [`KeyEventStream::follow`] the stream ends once it has read up to the (confirmed) head.
/// [`KeyEventStream::into_stream`] gives a `futures` `Stream`.
#[must_use]
pub struct KeyEventStream<P> {
    account: Account<P>,
    filter: EventFilter,
    cursor: Cursor,
    page_size: u64,
    confirmations: u64,
    follow: bool,
    poll_interval: Duration,
    backoff: Backoff,
    buffer: VecDeque<KeyEvent>,
    page_end: Cursor,
    wait: Option<Duration>,
    done: bool,
}

impl<P> std::fmt::Debug for KeyEventStream<P> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("KeyEventStream")
            .field("account", &self.account.address)
            .field("filter", &self.filter)
            .field("cursor", &self.cursor)
            .field("page_size", &self.page_size)
            .field("confirmations", &self.confirmations)
            .field("follow", &self.follow)
            .finish_non_exhaustive()
    }
}

/// Most blocks per `eth_getLogs` by default (providers cap the range; 2,000 passes most).
pub const DEFAULT_PAGE_SIZE: u64 = 2_000;

impl<P: Provider + Clone> Account<P> {
    /// The account's key events from block 0, every kind, read up to the head in pages of
    /// [`DEFAULT_PAGE_SIZE`] blocks (set a start, a filter, confirmations, following... on the stream).
    pub fn events(&self) -> KeyEventStream<P> {
        KeyEventStream {
            account: self.clone(),
            filter: EventFilter::all(),
            cursor: Cursor::default(),
            page_size: DEFAULT_PAGE_SIZE,
            confirmations: 0,
            follow: false,
            poll_interval: Duration::from_secs(1),
            backoff: Backoff::new(Duration::from_millis(500), Duration::from_secs(30)),
            buffer: VecDeque::new(),
            page_end: Cursor::default(),
            wait: None,
            done: false,
        }
    }
}

impl<P: Provider> Account<P> {
    /// The key events from `from_block` to the latest block, in order (one read; [`Self::events`] pages, follows
    /// and resumes).
    pub async fn key_events(&self, from_block: u64) -> Result<Vec<KeyEvent>, Error> {
        self.read_key_events(Filter::new().from_block(from_block)).await
    }

    /// The key events in blocks `from_block..=to_block`, in order.
    pub async fn key_events_between(&self, from_block: u64, to_block: u64) -> Result<Vec<KeyEvent>, Error> {
        self.read_key_events(Filter::new().from_block(from_block).to_block(to_block)).await
    }

    async fn read_key_events(&self, filter: Filter) -> Result<Vec<KeyEvent>, Error> {
        let filter = filter.address(self.address).event_signature(topics());
        let logs = self.provider.get_logs(&filter).await.map_err(node("eth_getLogs"))?;
        merge(logs.iter().map(decode).collect::<Result<_, _>>()?)
    }
}

/// What one read did.
enum Read {
    /// A page was read (its events, if any, are buffered).
    Page,
    /// Nothing new up to the confirmed head.
    CaughtUp,
    /// The node refused the page: read half as many blocks.
    Smaller,
}

impl<P: Provider> KeyEventStream<P> {
    /// Starts at block `block` (default 0).
    pub fn from_block(self, block: u64) -> Self {
        self.from_cursor(Cursor::at_block(block))
    }

    /// Starts at a saved cursor ([`KeyEventStream::cursor`]): resumes exactly after the last event yielded.
    pub fn from_cursor(mut self, cursor: Cursor) -> Self {
        self.cursor = cursor;
        self.page_end = cursor;
        self.buffer.clear();
        self
    }

    /// Yields only what `filter` admits.
    pub fn filter(mut self, filter: EventFilter) -> Self {
        self.filter = filter;
        self
    }

    /// Reads at most `blocks` blocks per `eth_getLogs` (at least 1; default [`DEFAULT_PAGE_SIZE`]). A node's error
    /// answer to a read halves it (down to 1) before the next read.
    pub fn page_size(mut self, blocks: u64) -> Self {
        self.page_size = blocks.max(1);
        self
    }

    /// Yields an event only once `confirmations` blocks are on top of its block (reorg safety; default 0).
    pub fn confirmations(mut self, confirmations: u64) -> Self {
        self.confirmations = confirmations;
        self
    }

    /// Whether to follow new blocks once caught up (default `false`: the stream ends at the head).
    pub fn follow(mut self, follow: bool) -> Self {
        self.follow = follow;
        self
    }

    /// How long to wait for new blocks when following (default 1 s).
    pub fn poll_interval(mut self, interval: Duration) -> Self {
        self.poll_interval = interval;
        self
    }

    /// The wait after a failure: `initial`, doubling up to `max` while failures go on (default 0.5 s to 30 s).
    pub fn backoff(mut self, initial: Duration, max: Duration) -> Self {
        self.backoff = Backoff::new(initial, max.max(initial));
        self
    }

    /// Where the stream stands: after the last event it yielded (or the last block it read completely). Save it
    /// and pass it to [`KeyEventStream::from_cursor`] to resume.
    pub fn cursor(&self) -> Cursor {
        self.cursor
    }

    /// The next event, `None` when the stream has ended (caught up without following, or after a failure that
    /// retrying cannot fix). A failure to read is yielded as `Err` and retried on the next call, after the backoff.
    pub async fn next(&mut self) -> Option<Result<KeyEvent, Error>> {
        loop {
            if let Some(event) = self.buffer.pop_front() {
                self.cursor = if self.buffer.is_empty() { self.page_end } else { event.next_cursor() };
                return Some(Ok(event));
            }
            if self.done {
                return None;
            }
            if let Some(wait) = self.wait.take() {
                tokio::time::sleep(wait).await;
            }
            match self.read().await {
                Ok(Read::Page) => self.backoff.reset(),
                Ok(Read::Smaller) => {}
                Ok(Read::CaughtUp) => {
                    self.backoff.reset();
                    if !self.follow {
                        self.done = true;
                        return None;
                    }
                    self.wait = Some(self.poll_interval);
                }
                Err(e) => {
                    if e.kind() == ErrorKind::Transient {
                        self.wait = Some(self.backoff.step());
                    } else {
                        self.done = true;
                    }
                    return Some(Err(e));
                }
            }
        }
    }

    /// Reads the next page towards the confirmed head.
    async fn read(&mut self) -> Result<Read, Error> {
        let provider = &self.account.provider;
        let head = provider.get_block_number().await.map_err(node("eth_blockNumber"))?;
        let Some(confirmed) = head.checked_sub(self.confirmations) else { return Ok(Read::CaughtUp) };
        let from = self.cursor.block;
        if confirmed < from {
            return Ok(Read::CaughtUp);
        }
        let to = confirmed.min(from.saturating_add(self.page_size - 1));
        let filter =
            Filter::new().address(self.account.address).event_signature(topics()).from_block(from).to_block(to);
        let logs = match provider.get_logs(&filter).await {
            Ok(logs) => logs,
            // A provider refusing the range (too many blocks or results): half as many blocks, until one.
            Err(e) if e.as_error_resp().is_some() && self.page_size > 1 => {
                self.page_size /= 2;
                return Ok(Read::Smaller);
            }
            Err(e) => return Err(Error::Node { method: "eth_getLogs", source: e }),
        };
        let cursor = self.cursor;
        let events = merge(logs.iter().map(decode).collect::<Result<_, _>>()?)?;
        self.buffer = events
            .into_iter()
            .filter(|e| {
                let (block, _, log_index) = e.position();
                cursor.admits(block, log_index) && self.filter.matches(e)
            })
            .collect();
        self.page_end = Cursor::at_block(to + 1);
        if self.buffer.is_empty() {
            self.cursor = self.page_end;
        }
        Ok(Read::Page)
    }

    /// The same as a `futures` [`Stream`](futures_core::Stream).
    pub fn into_stream(self) -> impl futures_core::Stream<Item = Result<KeyEvent, Error>> {
        futures_util::stream::unfold(self, |mut s| async move { s.next().await.map(|item| (item, s)) })
    }
}

#[cfg(test)]
mod tests {
    use alloy::primitives::{Bytes, aliases::U40};

    use super::*;
    use crate::{KeyExt, bindings::KeyType};

    fn key(n: u8) -> Key {
        Key { keyType: KeyType::Secp256k1, publicKey: Bytes::from(Address::repeat_byte(n).into_word().to_vec()) }
    }

    fn at(event: IKeywardEvents, block: u64, tx: u8, log_index: u64) -> Decoded {
        Decoded { event, block, tx: B256::repeat_byte(tx), log_index }
    }

    fn registered(k: &Key) -> IKeywardEvents {
        IKeywardEvents::Registered(IKeyward::Registered { keyHash: k.hash(), key: k.clone() })
    }

    fn settings_updated(k: &Key, settings: Settings) -> IKeywardEvents {
        IKeywardEvents::KeySettingsUpdated(IKeyward::KeySettingsUpdated {
            keyHash: k.hash(),
            settings: settings.into(),
        })
    }

    fn budget() -> GasBudget {
        GasBudget {
            perPeriod: alloy::primitives::aliases::U96::from(5),
            period: U40::from(60),
            lifetime: alloy::primitives::aliases::U96::ZERO,
        }
    }

    #[test]
    fn test_merge_makes_one_granted_event_per_grant() {
        let (a, b) = (key(1), key(2));
        let s = Settings::builder().expires_at(1_900_000_000).build().unwrap();
        let logs = vec![
            at(registered(&a), 5, 1, 0),
            at(settings_updated(&a, s), 5, 1, 1),
            at(IKeywardEvents::GasBudgetSet(IKeyward::GasBudgetSet { keyHash: a.hash(), budget: budget() }), 5, 1, 2),
            // Calibur's bare register, then an update in another transaction: two events.
            at(registered(&b), 6, 2, 0),
            at(settings_updated(&b, s), 7, 3, 0),
            // A budget for another key right after a grant is not part of it.
            at(registered(&b), 8, 4, 0),
            at(settings_updated(&b, s), 8, 4, 1),
            at(IKeywardEvents::GasBudgetSet(IKeyward::GasBudgetSet { keyHash: a.hash(), budget: budget() }), 8, 4, 2),
        ];
        let events = merge(logs).unwrap();
        let kinds: Vec<EventKind> = events.iter().map(KeyEvent::kind).collect();
        assert_eq!(
            kinds,
            [
                EventKind::Granted,
                EventKind::Granted,
                EventKind::SettingsUpdated,
                EventKind::Granted,
                EventKind::GasBudgetSet
            ]
        );
        match &events[0] {
            KeyEvent::Granted { key, settings, gas_budget, log_index, .. } => {
                assert_eq!((key, *settings, gas_budget.clone(), *log_index), (&a, s, Some(budget()), 2));
            }
            other => panic!("{other:?}"),
        }
        match &events[1] {
            KeyEvent::Granted { settings, gas_budget: None, log_index: 0, .. } => {
                assert_eq!(*settings, Settings::default());
            }
            other => panic!("{other:?}"),
        }
        assert_eq!(events[3].position().2, 1);
        assert_eq!(events[4].key_hash(), Some(a.hash()));
    }

    #[test]
    fn test_merge_refuses_non_canonical_settings() {
        let a = key(1);
        let bad =
            IKeywardEvents::KeySettingsUpdated(IKeyward::KeySettingsUpdated { keyHash: a.hash(), settings: U256::MAX });
        assert!(matches!(merge(vec![at(bad, 1, 1, 0)]), Err(Error::NonCanonicalSettings { .. })));
    }

    #[test]
    fn test_filter_keeps_the_keys_events_and_account_wide_ones() {
        let (a, b) = (key(1), key(2));
        let used = |k: &Key| KeyEvent::Used { key_hash: k.hash(), block: 1, tx: B256::ZERO, log_index: 0 };
        let all_revoked = KeyEvent::AllRevoked { epoch: U256::from(1), block: 1, tx: B256::ZERO, log_index: 1 };
        let f = EventFilter::all().key(a.hash());
        assert!(f.matches(&used(&a)) && !f.matches(&used(&b)) && f.matches(&all_revoked));
        let f = EventFilter::all().kinds([EventKind::AllRevoked]);
        assert!(!f.matches(&used(&a)) && f.matches(&all_revoked));
        let f = EventFilter::all().key(b.hash()).kinds([EventKind::Used]);
        assert!(f.matches(&used(&b)) && !f.matches(&all_revoked) && !f.matches(&used(&a)));
        assert!(EventFilter::all().key(None).matches(&used(&b)));
    }

    #[test]
    fn test_cursor_serializes_and_admits_what_follows_it() {
        let c = Cursor { block: 12, log_index: 3 };
        assert_eq!(serde_json::to_string(&c).unwrap(), r#"{"block":12,"logIndex":3}"#);
        assert_eq!(serde_json::from_str::<Cursor>(r#"{"block":12,"logIndex":3}"#).unwrap(), c);
        assert!(!c.admits(12, 2) && c.admits(12, 3) && c.admits(13, 0) && !c.admits(11, 9));
        let e = KeyEvent::Revoked { key_hash: B256::ZERO, block: 12, tx: B256::ZERO, log_index: 3 };
        assert_eq!(e.next_cursor(), Cursor { block: 12, log_index: 4 });
    }

    #[test]
    fn test_backoff_doubles_up_to_its_cap_and_resets() {
        let mut b = Backoff::new(Duration::from_millis(500), Duration::from_secs(3));
        let waits: Vec<u128> = (0..5).map(|_| b.step().as_millis()).collect();
        assert_eq!(waits, [500, 1_000, 2_000, 3_000, 3_000]);
        b.reset();
        assert_eq!(b.step(), Duration::from_millis(500));
    }
}
