//! A delegated-agent runtime for services (feature `client`): a [`Job`] run on a schedule under a session key, like
//! a DCA cron, over ERC-4337 (`handleOps` or a bundler, [`Route::UserOp`]) or relayed batches.
//!
//! - The job computes its calls when a run is due ([`Job`], [`from_fn`]): a DCA amount can change every run.
//! - The state (runs, the next due time, the last refusal, why it stopped) lives in a [`Store`]: the embedded
//!   default is one JSON file ([`FileStore`]); a service plugs its database in. A network error or a restart loses
//!   nothing.
//! - Runs follow the chain's clock (block timestamps) on a fixed grid from the first run (`first + k * interval`),
//!   so a run that lands a few seconds late does not shift the next ones.
//! - Every run is simulated before it is sent: a refusal (the PolicyHook's caps, the account's gas budget, a call
//!   the policy does not allow) is a typed [`Refusal`] in words with [`Retry`], when the same run could pass
//!   again, read from the policy's window: the agent waits until then instead of retrying every tick.
//! - The agent stops for good with a typed [`StopReason`] when its key expires or is revoked, when a refusal can
//!   never pass again (a lifetime cap used up), or when its job says it is finished.
//! - [`AgentCredential`] is what the owner's side hands an agent: the grant's public
//!   [`crate::grant::SessionCredential`] (account, chain, EntryPoint, key, window, hook) with the key's secret.
//!
//! ```no_run
//! use std::time::Duration;
//! use alloy::providers::DynProvider;
//! use keyward::{
//!     Error,
//!     agent::{Agent, AgentCredential, FileStore, Route, RunReport},
//!     bindings::Call,
//!     client::{Account, Pricing},
//!     userop::ENTRY_POINT_V08,
//! };
//!
//! # async fn run(provider: DynProvider, credential_json: &str, calls: Vec<Call>) -> Result<(), Error> {
//! let credential = AgentCredential::from_json(credential_json)?;
//! let account = Account::at(credential.account(), provider);
//! credential.check(&account).await?;
//! let agent = Agent::new(
//!     account,
//!     credential.signer()?,
//!     calls,
//!     Duration::from_secs(60),
//!     Route::handle_ops(ENTRY_POINT_V08, Pricing::Node),
//!     FileStore::new("dca.json"),
//! );
//! let stop = agent.run_until_stopped(Duration::from_secs(5), |report| match report {
//!     RunReport::Refused { refusal, .. } => println!("refused: {} (retry: {:?})", refusal.words, refusal.retry),
//!     other => println!("{other:?}"),
//! }).await?;
//! println!("stopped: {stop}");
//! # Ok(()) }
//! ```

use std::time::Duration;

use alloy::{
    primitives::{Address, Bytes, TxHash},
    providers::Provider,
    sol_types::SolInterface,
};
use serde::{Deserialize, Serialize};

use crate::{
    Error, ErrorKind, Flags, KeySigner, Settings,
    bindings::IKeyward::IKeywardErrors,
    bundler::BundlerClient,
    client::{Account, KeyStatus, Pricing, UserOpRequest, UserOpRoute, status_at},
    explain::{self, Retry},
    failure::{Revert, decode_revert},
    units::Tokens,
};

mod credential;
mod job;
mod store;

pub use credential::{AgentCredential, SessionSecret};
pub use job::{FnJob, Job, RunContext, Step, from_fn};
pub use store::{FileStore, MemoryStore, Store};

/// A refused run, as the agent keeps it: when, why in words, when the same run could pass, and the revert.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Refusal {
    /// The chain time of the refusal.
    pub at: u64,
    /// The refusal in words ([`explain::sentence`]), amounts in the agent's token units.
    pub words: String,
    /// When the same run could pass again ([`explain::retry`], from the policy's window).
    pub retry: Retry,
    /// The revert data behind it, when the refusal carried one (decode it with [`Refusal::revert`]).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub revert_data: Option<Bytes>,
    /// The EntryPoint's AA code, when the refusal carried one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub aa_code: Option<u8>,
}

impl Refusal {
    /// The revert, decoded into the account's or the PolicyHook's error.
    pub fn revert(&self) -> Option<Revert> {
        self.revert_data.as_ref().map(|d| decode_revert(d))
    }
}

/// Why an agent stopped for good.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "reason", rename_all = "camelCase", rename_all_fields = "camelCase")]
pub enum StopReason {
    /// The key's window ended.
    Expired {
        /// Its last valid second.
        expiration: u64,
    },
    /// The key is no longer registered on the account (revoked, or the account revoked every key).
    Revoked {
        /// The chain time the agent found it gone.
        seen_at: u64,
    },
    /// A refusal that no later run can avoid (a lifetime cap used up, a call count exhausted).
    Exhausted(Refusal),
    /// The job said it is finished ([`Step::Finish`]).
    Finished {
        /// Successful runs.
        runs: u64,
    },
}

impl std::fmt::Display for StopReason {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Expired { .. } => f.write_str("the session key expired"),
            Self::Revoked { .. } => f.write_str("the session key was revoked"),
            Self::Exhausted(r) => write!(f, "no later run can pass: {}", r.words),
            Self::Finished { runs } => write!(f, "the job finished after {runs} runs"),
        }
    }
}

/// What the agent remembers between runs.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct AgentState {
    /// Successful runs.
    pub runs: u64,
    /// Chain time of the last successful run.
    pub last_run: Option<u64>,
    /// Its transaction.
    pub last_tx: Option<TxHash>,
    /// The chain time from which the next run is due (`None`: at once).
    #[serde(default)]
    pub next_due: Option<u64>,
    /// Failed attempts (the network, the job's own errors, anything not a refusal).
    pub failures: u64,
    /// Runs the account, its hook or the EntryPoint refused (a spend limit, a call not allowed, ...). Found in
    /// simulation, so nothing was sent and no gas was spent.
    #[serde(default)]
    pub refusals: u64,
    /// The last refusal.
    #[serde(default)]
    pub last_refusal: Option<Refusal>,
    /// Why the agent stopped for good, once it has.
    pub stopped: Option<StopReason>,
}

/// How the agent submits its runs.
#[derive(Clone, Debug)]
pub enum Route {
    /// ERC-4337: each run is prepared (estimated, signed once, simulated) and sent ([`Account::prepare`],
    /// [`Account::send`]) over `handleOps` or a bundler, at fees from `pricing` (no default: fees are money).
    UserOp {
        /// `handleOps` at an EntryPoint, or a bundler.
        route: Box<UserOpRoute>,
        /// Where the fees come from.
        pricing: Pricing,
    },
    /// A signed batch, relayed by the provider's wallet.
    Relayed,
}

impl Route {
    /// `handleOps` at `entry_point`, sent by the provider's wallet.
    pub fn handle_ops(entry_point: Address, pricing: Pricing) -> Self {
        Self::UserOp { route: Box::new(UserOpRoute::handle_ops(entry_point)), pricing }
    }

    /// A bundler; each run waits up to `receipt_timeout` for its operation to be mined.
    pub fn bundler(client: BundlerClient, receipt_timeout: Duration, pricing: Pricing) -> Self {
        Self::UserOp { route: Box::new(UserOpRoute::bundler(client, receipt_timeout)), pricing }
    }
}

/// What one tick did.
#[derive(Debug)]
pub enum RunReport {
    /// The job ran.
    Executed {
        /// Its run number (1-based).
        run: u64,
        /// Its transaction (the bundle's, on the user-operation route).
        tx: TxHash,
    },
    /// The job had nothing to do this time ([`Step::Skip`]).
    Skipped {
        /// The next due time.
        next_due: u64,
    },
    /// Not due yet.
    NotDue {
        /// The due time.
        at: u64,
        /// Seconds until then.
        in_secs: u64,
    },
    /// The attempt failed (the network, the job, a request the node refused): the state is unchanged but for the
    /// failure count, and the next tick retries. [`Error::kind`] says whether waiting can help.
    Failed(Error),
    /// The account, the key's hook or the EntryPoint refused the run: nothing was sent. The agent waits until
    /// `refusal.retry` (or one interval) before the next attempt.
    Refused {
        /// The refusal, as kept in the state.
        refusal: Refusal,
        /// The error.
        error: Error,
    },
    /// The agent stopped for good.
    Stopped(StopReason),
}

/// A job on a schedule under a session key.
pub struct Agent<P, J, S> {
    account: Account<P>,
    signer: Box<dyn KeySigner>,
    job: J,
    interval: Duration,
    route: Route,
    store: S,
    tokens: Tokens,
}

impl<P: Provider, J, S> std::fmt::Debug for Agent<P, J, S> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Agent")
            .field("account", &self.account.address())
            .field("key_hash", &self.signer.key_hash())
            .field("interval", &self.interval)
            .field("route", &self.route)
            .finish_non_exhaustive()
    }
}

/// The first grid point after `now`, on the grid `due + k * interval` (k >= 1).
pub fn next_on_grid(due: u64, interval: u64, now: u64) -> u64 {
    if interval == 0 {
        return now;
    }
    let k = now.saturating_sub(due) / interval + 1;
    due.saturating_add(k.saturating_mul(interval))
}

impl<P: Provider, J: Job, S: Store> Agent<P, J, S> {
    /// An agent running `job` every `interval` on `account` as `signer`, over `route`, remembering in `store`.
    pub fn new(
        account: Account<P>,
        signer: Box<dyn KeySigner>,
        job: J,
        interval: Duration,
        route: Route,
        store: S,
    ) -> Self {
        Self { account, signer, job, interval, route, store, tokens: Tokens::new() }
    }

    /// Token names and decimals for refusals in words.
    #[must_use]
    pub fn with_tokens(mut self, tokens: Tokens) -> Self {
        self.tokens = tokens;
        self
    }

    /// The account.
    pub fn account(&self) -> &Account<P> {
        &self.account
    }

    /// The saved state.
    pub async fn state(&self) -> Result<AgentState, Error> {
        self.store.load().await
    }

    /// One scheduling step: stop if the key is gone, wait if not due, otherwise compute the job's calls and run
    /// them once. Errors of the store are returned; everything else is a [`RunReport`].
    pub async fn tick(&self) -> Result<RunReport, Error> {
        let mut state = self.store.load().await?;
        if let Some(why) = &state.stopped {
            return Ok(RunReport::Stopped(why.clone()));
        }
        let now = match self.account.now().await {
            Ok(t) => t,
            Err(e) => return self.fail(&mut state, e).await,
        };
        let settings = match self.key(now).await {
            Ok(Ok(settings)) => settings,
            Ok(Err(stop)) => return self.stop(&mut state, stop).await,
            Err(e) => return self.fail(&mut state, e).await,
        };
        // Not valid yet: due at validAfter.
        let due = state.next_due.unwrap_or(0).max(settings.valid_after());
        if now < due {
            return Ok(RunReport::NotDue { at: due, in_secs: due - now });
        }
        let interval = self.interval.as_secs();
        let next = next_on_grid(state.next_due.unwrap_or(now), interval, now);
        let ctx = RunContext { run: state.runs + 1, now, last_run: state.last_run, account: self.account.address() };
        let calls = match self.job.step(&ctx).await {
            Ok(Step::Run(calls)) => calls,
            Ok(Step::Skip) => {
                state.next_due = Some(next);
                self.store.save(&state).await?;
                return Ok(RunReport::Skipped { next_due: next });
            }
            Ok(Step::Finish) => {
                let runs = state.runs;
                return self.stop(&mut state, StopReason::Finished { runs }).await;
            }
            Err(e) => return self.fail(&mut state, Error::Job(e)).await,
        };
        match self.send(calls).await {
            Ok(tx) => {
                state.runs += 1;
                state.last_run = Some(now);
                state.last_tx = Some(tx);
                state.next_due = Some(next);
                self.store.save(&state).await?;
                Ok(RunReport::Executed { run: state.runs, tx })
            }
            Err(e) => match e.kind() {
                ErrorKind::RefusedByPolicy => self.refused(&mut state, e, now, settings, next).await,
                ErrorKind::KeyExpiredOrRevoked => match self.key(now).await {
                    Ok(Err(stop)) => self.stop(&mut state, stop).await,
                    // The latest block is still inside the window, but the block the run would land in is not
                    // (the expiry second): the key has expired for every later run.
                    Ok(Ok(s)) if matches!(e.revert(), Some(Revert::Account(IKeywardErrors::KeyExpired(_)))) => {
                        self.stop(&mut state, StopReason::Expired { expiration: s.expiration() }).await
                    }
                    // The key looks usable at the latest block: a boundary second, or a signature the account does
                    // not take. Kept as a refusal (retried next interval), never a silent loop.
                    Ok(Ok(_)) => self.refused(&mut state, e, now, settings, next).await,
                    Err(read) => self.fail(&mut state, read).await,
                },
                ErrorKind::Transient | ErrorKind::Misuse => self.fail(&mut state, e).await,
            },
        }
    }

    /// The key's settings when it can act now, else why the agent stops.
    async fn key(&self, now: u64) -> Result<Result<Settings, StopReason>, Error> {
        let key_hash = self.signer.key_hash();
        if self.account.status(key_hash).await? == KeyStatus::Revoked {
            return Ok(Err(StopReason::Revoked { seen_at: now }));
        }
        let settings = self.account.settings(key_hash).await?;
        Ok(match status_at(settings, now) {
            KeyStatus::Expired => Err(StopReason::Expired { expiration: settings.expiration() }),
            _ => Ok(settings),
        })
    }

    async fn send(&self, calls: Vec<crate::bindings::Call>) -> Result<TxHash, Error> {
        match &self.route {
            Route::UserOp { route, pricing } => {
                let request = UserOpRequest::new(self.signer.as_ref(), calls, *pricing);
                let prepared = self.account.prepare(route, request).await?;
                Ok(self.account.send(route, &prepared).await?.transaction_hash)
            }
            Route::Relayed => self.account.execute_relayed(self.signer.as_ref(), &calls).await,
        }
    }

    /// A refusal: in words, with when to retry from the key's policy and gas budget as they stand (nothing was
    /// sent, so they are what the refused run saw).
    async fn refused(
        &self,
        state: &mut AgentState,
        error: Error,
        now: u64,
        settings: Settings,
        next: u64,
    ) -> Result<RunReport, Error> {
        let key_hash = self.signer.key_hash();
        let policy = match settings.hook() {
            Address::ZERO => None,
            hook => self.account.policy(hook, key_hash).await.ok(),
        };
        let gas =
            if settings.has_flag(Flags::GAS_BUDGET) { self.account.gas_budget(key_hash).await.ok() } else { None };
        let mut ctx = explain::Context::new(&self.tokens).at(now).with_settings(settings);
        if let Some(p) = &policy {
            ctx = ctx.with_policy(p);
        }
        if let Some((budget, spent)) = &gas {
            ctx = ctx.with_gas_budget(budget, spent);
        }
        let retry = explain::retry(&error, &ctx);
        let refusal = Refusal {
            at: now,
            words: explain::sentence(&error, &ctx),
            retry,
            revert_data: error.revert().and_then(|r| match r {
                Revert::Account(e) => Some(e.abi_encode().into()),
                Revert::Policy(e) => Some(e.abi_encode().into()),
                Revert::Other(data) => (!data.is_empty()).then_some(data),
            }),
            aa_code: error.aa_code().map(|c| c.0),
        };
        state.refusals += 1;
        state.last_refusal = Some(refusal.clone());
        match retry {
            Retry::Never => return self.stop(state, StopReason::Exhausted(refusal)).await,
            Retry::At(at) => state.next_due = Some(at.max(now + 1)),
            Retry::NextRun => state.next_due = Some(next),
        }
        self.store.save(state).await?;
        Ok(RunReport::Refused { refusal, error })
    }

    async fn stop(&self, state: &mut AgentState, why: StopReason) -> Result<RunReport, Error> {
        state.stopped = Some(why.clone());
        self.store.save(state).await?;
        Ok(RunReport::Stopped(why))
    }

    async fn fail(&self, state: &mut AgentState, e: Error) -> Result<RunReport, Error> {
        state.failures += 1;
        self.store.save(state).await?;
        Ok(RunReport::Failed(e))
    }

    /// Ticks every `poll` until the agent stops, reporting each tick; returns why it stopped.
    pub async fn run_until_stopped(
        &self,
        poll: Duration,
        mut report: impl FnMut(&RunReport),
    ) -> Result<StopReason, Error> {
        loop {
            let r = self.tick().await?;
            report(&r);
            if let RunReport::Stopped(why) = r {
                return Ok(why);
            }
            tokio::time::sleep(poll).await;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn test_next_on_grid_keeps_the_schedule() {
        // Runs at 0, 60, 120...: a run landing at 62 is followed by one at 120, not 122.
        assert_eq!(next_on_grid(60, 60, 62), 120);
        assert_eq!(next_on_grid(60, 60, 60), 120);
        assert_eq!(next_on_grid(60, 60, 119), 120);
        assert_eq!(next_on_grid(60, 60, 120), 180);
        // Down for a long time: no burst of catch-up runs, the next grid point after now.
        assert_eq!(next_on_grid(60, 60, 1_000), 1_020);
        assert_eq!(next_on_grid(5, 0, 9), 9);
    }

    #[test]
    fn test_stop_reason_and_refusal_serialize_typed() {
        let refusal = Refusal {
            at: 10,
            words: "spend limit exceeded".into(),
            retry: Retry::At(86_400),
            revert_data: None,
            aa_code: None,
        };
        let stop = StopReason::Exhausted(refusal.clone());
        let json = serde_json::to_string(&stop).unwrap();
        assert_eq!(serde_json::from_str::<StopReason>(&json).unwrap(), stop);
        let expired = serde_json::to_value(StopReason::Expired { expiration: 7 }).unwrap();
        assert_eq!(expired, serde_json::json!({"reason": "expired", "expiration": 7}));
        assert_eq!(
            serde_json::to_value(&refusal).unwrap(),
            serde_json::json!({"at": 10, "words": "spend limit exceeded", "retry": {"kind": "at", "at": 86_400}})
        );
        assert_eq!(StopReason::Revoked { seen_at: 1 }.to_string(), "the session key was revoked");
    }
}
