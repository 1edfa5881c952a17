//! A delegated-agent runtime (feature `client`): runs a job on a schedule under a session key, like a DCA cron.
//!
//! State lives in a small JSON file (written atomically: temp file, then rename), so an RPC error or a restart
//! loses nothing: the next run picks up the run count, the last run time and the stop reason. The schedule follows
//! the chain's clock (block timestamps). The agent stops for good, and says why, when its key expires or is revoked.

use std::{
    path::{Path, PathBuf},
    time::Duration,
};

use alloy::{
    primitives::{Address, TxHash},
    providers::Provider,
};
use serde::{Deserialize, Serialize};

use crate::{
    Error, KeySigner,
    bindings::Call,
    client::{Account, KeyStatus},
};

/// What the agent remembers between runs.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct AgentState {
    /// Successful runs.
    pub runs: u64,
    /// Chain time of the last successful run.
    pub last_run: Option<u64>,
    /// Its transaction.
    pub last_tx: Option<TxHash>,
    /// Failed attempts (RPC errors and other transient failures).
    pub failures: u64,
    /// Runs the account, its hook or the EntryPoint refused (a spend limit, a call not allowed, ...). Found in
    /// simulation, so nothing was sent and no gas was spent.
    #[serde(default)]
    pub refusals: u64,
    /// Why the agent stopped for good, once it has.
    pub stopped: Option<String>,
}

/// The agent's embedded store: one JSON file.
#[derive(Clone, Debug)]
pub struct FileStore {
    path: PathBuf,
}

impl FileStore {
    /// A store at `path` (created on first save).
    pub fn new(path: impl AsRef<Path>) -> Self {
        Self { path: path.as_ref().to_owned() }
    }

    /// The saved state, or a fresh one when there is none yet.
    pub fn load(&self) -> Result<AgentState, Error> {
        match std::fs::read_to_string(&self.path) {
            Ok(text) => serde_json::from_str(&text).map_err(|e| Error::Store(format!("{}: {e}", self.path.display()))),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(AgentState::default()),
            Err(e) => Err(Error::Store(format!("{}: {e}", self.path.display()))),
        }
    }

    /// Saves atomically.
    pub fn save(&self, state: &AgentState) -> Result<(), Error> {
        let tmp = self.path.with_extension("tmp");
        let text = serde_json::to_string_pretty(state).map_err(|e| Error::Store(e.to_string()))?;
        std::fs::write(&tmp, text).map_err(|e| Error::Store(format!("{}: {e}", tmp.display())))?;
        std::fs::rename(&tmp, &self.path).map_err(|e| Error::Store(format!("{}: {e}", self.path.display())))
    }
}

/// How the agent submits its job.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Route {
    /// ERC-4337 through `handleOps` at this EntryPoint.
    UserOp(Address),
    /// A signed batch, relayed by the provider's wallet.
    Relayed,
}

/// What one tick did.
#[derive(Debug)]
pub enum RunReport {
    /// The job ran.
    Executed {
        /// Its run number (1-based).
        run: u64,
        /// Its transaction.
        tx: TxHash,
    },
    /// Not due yet: seconds until the next run.
    NotDue(u64),
    /// The attempt failed (an RPC error, ...); state is unchanged but for the failure count, and the next tick
    /// retries.
    Failed(String),
    /// The account, the key's hook or the EntryPoint refused the run (a spend limit, a call not allowed, a call
    /// cap): nothing was sent. The next tick tries again, since limits may reset with their period.
    Refused(Error),
    /// The agent stopped for good.
    Stopped(String),
}

/// A job on a schedule under a session key.
pub struct Agent<P> {
    account: Account<P>,
    signer: Box<dyn KeySigner + Send + Sync>,
    job: Vec<Call>,
    interval: Duration,
    route: Route,
    store: FileStore,
}

impl<P: Provider> Agent<P> {
    /// An agent running `job` every `interval` on `account` as `signer`, remembering in `store`.
    pub fn new(
        account: Account<P>,
        signer: Box<dyn KeySigner + Send + Sync>,
        job: Vec<Call>,
        interval: Duration,
        route: Route,
        store: FileStore,
    ) -> Self {
        Self { account, signer, job, interval, route, store }
    }

    /// The saved state.
    pub fn state(&self) -> Result<AgentState, Error> {
        self.store.load()
    }

    /// One scheduling step: stop if the key is gone, wait if not due, otherwise run the job once.
    pub async fn tick(&self) -> Result<RunReport, Error> {
        let mut state = self.store.load()?;
        if let Some(why) = &state.stopped {
            return Ok(RunReport::Stopped(why.clone()));
        }
        let status = match self.account.status(self.signer.key_hash()).await {
            Ok(s) => s,
            Err(e) => return self.fail(&mut state, &e),
        };
        let stop = match status {
            KeyStatus::Revoked => Some("the session key was revoked"),
            KeyStatus::Expired => Some("the session key expired"),
            KeyStatus::NotYetValid | KeyStatus::Active => None,
        };
        if let Some(why) = stop {
            state.stopped = Some(why.to_owned());
            self.store.save(&state)?;
            return Ok(RunReport::Stopped(why.to_owned()));
        }
        let now = match self.account.now().await {
            Ok(t) => t,
            Err(e) => return self.fail(&mut state, &e),
        };
        if let Some(last) = state.last_run {
            let due = last + self.interval.as_secs();
            if now < due {
                return Ok(RunReport::NotDue(due - now));
            }
        }
        let result = match self.route {
            Route::UserOp(entry_point) => {
                self.account.execute_user_op(self.signer.as_ref(), &self.job, entry_point).await
            }
            Route::Relayed => self.account.execute_relayed(self.signer.as_ref(), &self.job).await,
        };
        match result {
            Ok(tx) => {
                state.runs += 1;
                state.last_run = Some(now);
                state.last_tx = Some(tx);
                self.store.save(&state)?;
                Ok(RunReport::Executed { run: state.runs, tx })
            }
            Err(e) => self.refused_or_failed(&mut state, e),
        }
    }

    fn fail(&self, state: &mut AgentState, e: &Error) -> Result<RunReport, Error> {
        state.failures += 1;
        self.store.save(state)?;
        Ok(RunReport::Failed(e.to_string()))
    }

    /// Refusals are told apart from transient failures: they come from the chain's rules, not from the network.
    fn refused_or_failed(&self, state: &mut AgentState, e: Error) -> Result<RunReport, Error> {
        match e {
            Error::Keyward(_) | Error::Policy(_) | Error::UserOpRejected(_) | Error::Reverted(_) => {
                state.refusals += 1;
                self.store.save(state)?;
                Ok(RunReport::Refused(e))
            }
            other => self.fail(state, &other),
        }
    }

    /// Ticks every `poll` until the agent stops, reporting each tick; returns why it stopped.
    pub async fn run_until_stopped(&self, poll: Duration, mut report: impl FnMut(&RunReport)) -> Result<String, Error> {
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

    fn temp(name: &str) -> PathBuf {
        std::env::temp_dir().join(format!("keyward-agent-unit-{}-{name}.json", std::process::id()))
    }

    #[test]
    fn store_round_trips_and_starts_empty() {
        let store = FileStore::new(temp("rt"));
        let _ = std::fs::remove_file(&store.path);
        assert_eq!(store.load().expect("fresh"), AgentState::default());
        let state = AgentState { runs: 3, last_run: Some(9), refusals: 2, failures: 1, ..AgentState::default() };
        store.save(&state).expect("save");
        assert_eq!(store.load().expect("load"), state);
        std::fs::remove_file(&store.path).expect("cleanup");
    }

    #[test]
    fn store_reads_files_written_before_refusals_existed() {
        let path = temp("old");
        std::fs::write(&path, r#"{"runs":4,"last_run":60,"last_tx":null,"failures":1,"stopped":null}"#).expect("write");
        let state = FileStore::new(&path).load().expect("old file loads");
        assert_eq!((state.runs, state.failures, state.refusals), (4, 1, 0));
        std::fs::remove_file(&path).expect("cleanup");
    }

    #[test]
    fn a_corrupt_store_is_a_typed_error() {
        let path = temp("bad");
        std::fs::write(&path, "{not json").expect("write");
        assert!(matches!(FileStore::new(&path).load(), Err(Error::Store(_))));
        std::fs::remove_file(&path).expect("cleanup");
    }
}
