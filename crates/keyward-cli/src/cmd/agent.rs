//! `keyward credential` (what an agent is handed, read from the chain) and `keyward agent` (the library's agent
//! runtime: one tick per invocation for a cron, or a loop until the agent stops).

use std::{path::PathBuf, time::Duration};

use alloy::primitives::{Address, Bytes};
use clap::Args;
use eyre::{Result, WrapErr, bail};
use keyward::{
    KeyExt,
    agent::{Agent, AgentCredential, FileStore, Route, RunReport, Step, from_fn},
    bindings::Call,
    bundler::BundlerClient,
    client::{KeyStatus, Pricing},
    grant::SessionCredential,
    units::format_duration,
    userop::ENTRY_POINT_V08,
};
use serde_json::json;

use crate::args::{Online, SessionKeyArgs, duration, native_value, out};

/// `keyward credential`.
#[derive(Args)]
pub(crate) struct CredentialArgs {
    #[command(flatten)]
    online: Online,
    #[command(flatten)]
    session: SessionKeyArgs,
    /// Write the credential to this file (created readable by its owner only) instead of printing it.
    #[arg(long, value_name = "FILE")]
    out: Option<PathBuf>,
}

/// The agent credential of a granted session key: account, chain, EntryPoint, the key with its window and hook as
/// the chain has them, and the key's secret.
pub(crate) async fn credential(a: CredentialArgs) -> Result<()> {
    let (account, chain_id) = a.online.connect(false).await?;
    let secret = a.session.secret()?;
    let key = a.session.signer()?.key();
    let key_hash = key.hash();
    if account.status(key_hash).await? == KeyStatus::Revoked {
        bail!("key {key_hash} is not registered on {}", account.address());
    }
    let settings = account.settings(key_hash).await?;
    let session = SessionCredential {
        version: SessionCredential::VERSION,
        account: account.address(),
        chain_id,
        entry_point: ENTRY_POINT_V08,
        key_type: key.keyType.into(),
        public_key: key.publicKey.clone(),
        key_hash,
        hook: (settings.hook() != Address::ZERO).then(|| settings.hook()),
        valid_after: settings.valid_after(),
        expiration: (settings.expiration() != 0).then(|| settings.expiration()),
    };
    let json = session.with_secret(secret)?.to_json();
    match a.out {
        Some(path) => {
            write_private(&path, &json)?;
            eprintln!("wrote the credential of {key_hash} to {}", path.display());
        }
        None => println!("{json}"),
    }
    Ok(())
}

/// Writes `text` to a new file only its owner can read.
fn write_private(path: &PathBuf, text: &str) -> Result<()> {
    use std::io::Write as _;
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    let mut file = options.open(path).wrap_err_with(|| format!("creating {}", path.display()))?;
    file.write_all(text.as_bytes()).wrap_err_with(|| format!("writing {}", path.display()))
}

/// `keyward agent`.
#[derive(Args)]
pub(crate) struct AgentArgs {
    /// RPC URL.
    #[arg(long, env = "ETH_RPC_URL", default_value = "http://127.0.0.1:8545")]
    rpc_url: String,
    /// Who sends `handleOps` and pays its gas up front (repaid by the account); not needed with --bundler.
    #[arg(long, env = "KEYWARD_PRIVATE_KEY", hide_env_values = true)]
    private_key: Option<String>,
    /// The agent credential (`keyward credential`): account, chain, key and its secret.
    #[arg(long, env = "KEYWARD_AGENT_CREDENTIAL", value_name = "FILE")]
    credential: PathBuf,
    /// The job's target.
    #[arg(long)]
    to: Address,
    /// The job's value each run: `eth:0.001`, `gwei:30`, or wei.
    #[arg(long, default_value = "0", value_name = "AMOUNT")]
    value: String,
    /// The job's call data (0x hex).
    #[arg(long, default_value = "0x")]
    data: Bytes,
    /// How often the job runs, in chain time: `1m`, `1h`, `1d`.
    #[arg(long, value_name = "DURATION", value_parser = duration)]
    every: Duration,
    /// The agent's state (runs, next due time, last refusal, why it stopped), a JSON file.
    #[arg(long, value_name = "FILE")]
    state: PathBuf,
    /// Stop after this many successful runs.
    #[arg(long, value_name = "N")]
    max_runs: Option<u64>,
    /// Send through this ERC-4337 bundler (at its fees) instead of `handleOps`.
    #[arg(long, value_name = "URL")]
    bundler: Option<String>,
    /// One tick and exit (for cron: the state file keeps the schedule); otherwise loop until the agent stops.
    #[arg(long)]
    once: bool,
    /// Time between ticks when looping.
    #[arg(long, default_value = "5s", value_name = "DURATION", value_parser = duration)]
    poll: Duration,
}

/// Runs the agent.
pub(crate) async fn agent(a: AgentArgs, j: bool) -> Result<()> {
    let text = std::fs::read_to_string(&a.credential)
        .wrap_err_with(|| format!("reading the credential {}", a.credential.display()))?;
    let credential = AgentCredential::from_json(&text)?;
    let online = Online {
        rpc_url: a.rpc_url.clone(),
        account: credential.account(),
        private_key: if a.bundler.is_some() { None } else { a.private_key.clone() },
        private_key_file: None,
    };
    let account = online.account(a.bundler.is_none()).await?;
    // Same chain, same account, the grant on chain as the credential says (a revoked key stops the agent below).
    credential.check(&account).await?;
    let route = match &a.bundler {
        Some(url) => {
            let client = BundlerClient::new(url.parse().wrap_err_with(|| format!("invalid bundler URL {url:?}"))?)
                .with_entry_point(credential.session.entry_point);
            Route::bundler(client, Duration::from_mins(2), Pricing::Bundler)
        }
        None => Route::handle_ops(credential.session.entry_point, Pricing::Node),
    };
    let call = Call { to: a.to, value: native_value("--value", &a.value)?, data: a.data.clone() };
    let max_runs = a.max_runs;
    let job = from_fn(move |run| {
        if max_runs.is_some_and(|m| run.run > m) {
            return Ok(Step::Finish);
        }
        Ok(Step::Run(vec![call.clone()]))
    });
    let agent = Agent::new(account, credential.signer()?, job, a.every, route, FileStore::new(&a.state));
    if a.once {
        return match agent.tick().await? {
            RunReport::Failed(e) => Err(e.into()),
            report => {
                print_report(j, &report);
                Ok(())
            }
        };
    }
    loop {
        let report = agent.tick().await?;
        print_report(j, &report);
        if matches!(report, RunReport::Stopped(_)) {
            return Ok(());
        }
        tokio::time::sleep(a.poll).await;
    }
}

/// One line per tick (a failed attempt on stderr: the loop goes on; `--once` exits with it instead).
fn print_report(j: bool, report: &RunReport) {
    match report {
        RunReport::Executed { run, tx } => {
            out(j, &json!({ "event": "executed", "run": run, "tx": tx }), &format!("run {run}: {tx}"));
        }
        RunReport::Skipped { next_due } => {
            out(j, &json!({ "event": "skipped", "nextDue": next_due }), &format!("skipped; next run at {next_due}"));
        }
        RunReport::NotDue { at, in_secs } => out(
            j,
            &json!({ "event": "notDue", "at": at, "inSecs": in_secs }),
            &format!("not due: next run in {}", format_duration(Duration::from_secs(*in_secs))),
        ),
        RunReport::Refused { refusal, .. } => {
            out(j, &json!({ "event": "refused", "refusal": refusal }), &format!("refused: {}", refusal.words));
        }
        RunReport::Failed(e) => {
            eprintln!("attempt failed: {}", keyward::explain::with_sources(e));
        }
        RunReport::Stopped(why) => out(j, &json!({ "event": "stopped", "stop": why }), &format!("stopped: {why}")),
    }
}
