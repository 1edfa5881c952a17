//! `keyward`: a thin command line over the keyward crates, one module per group of commands (`cmd/`). Amounts,
//! durations and call rules are typed in human units (`eth:0.001`, `usdc:100`, `5m`, `usdc:transfer(address,uint256)`).
//! Every failure is one line on stderr and exit code 1; a refusal by the account or its policy is said in words.

use std::process::ExitCode;

use clap::{Parser, Subcommand};
use eyre::Result;

mod args;
mod cmd;
mod demo;

use args::Online;
use cmd::{agent, erc7715, exec, offline, owner, read, watch};

/// Keyward: delegated permissions on EIP-7702 / ERC-4337 accounts.
#[derive(Parser)]
#[command(name = "keyward", version, about)]
struct Cli {
    /// Print JSON instead of text.
    #[arg(long, global = true)]
    json: bool,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Pack or explain a settings word (offline).
    #[command(subcommand)]
    Settings(offline::SettingsCmd),
    /// Key utilities (offline).
    #[command(subcommand)]
    Key(offline::KeyCmd),
    /// Call data for the account's functions, as hex (offline).
    #[command(subcommand)]
    Encode(offline::EncodeCmd),
    /// Deploy Keyward and the PolicyHook through the CREATE2 deployer (a rerun changes nothing).
    Deploy(owner::DeployArgs),
    /// Delegate the sender's EOA to Keyward with EIP-7702 (the account is the sender).
    Delegate(owner::DelegateArgs),
    /// List the account's keys with status and time left.
    Keys(Online),
    /// Grant a key with its window and, with policy flags, its PolicyHook policy, in one transaction.
    ///
    /// For example `--expiry 5m --allow 0xShop:receive --daily-limit eth:0.003`, or `--token
    /// tt=0xToken@6 --allow tt:transfer(address,uint256) --cap tt:100 --period 1d --total-cap tt:500`; or an ERC-7715
    /// request with `--request FILE.json`.
    Grant(Box<owner::GrantArgs>),
    /// The account's ERC-7715 permissions (`wallet_getGrantedExecutionPermissions`): every key under the PolicyHook
    /// whose grant is one, read back from the chain as its response (JSON).
    Permissions(erc7715::PermissionsArgs),
    /// Write a key's settings (sent by the account's own EOA).
    Update(owner::UpdateArgs),
    /// Execute one call as a session key, through ERC-4337 (`handleOps`, or `--bundler URL`) or the relayed path.
    Exec(exec::ExecArgs),
    /// Show a key's PolicyHook policy: rules, caps and what was spent, call counts, ERC-1271 scope.
    Policy(read::PolicyArgs),
    /// Revoke a key (sent by the account's own EOA).
    Revoke(owner::RevokeArgs),
    /// Revoke every non-root key ("log out everywhere").
    RevokeAll(Online),
    /// Pause a key, or every non-root key with `--all` (reversible: `resume`; settings and policy state are kept,
    /// the root is never paused).
    Pause(owner::PauseArgs),
    /// Resume a paused key, or every key paused by `pause --all` with `--all`.
    Resume(owner::PauseArgs),
    /// Revoke every expired key in one transaction, so the key list shrinks to the live keys.
    Prune(Online),
    /// Set a key's ERC-4337 gas budget (sent by the account's own EOA; spending restarts).
    SetGasBudget(owner::SetGasBudgetArgs),
    /// Show a key's ERC-4337 gas budget and what was charged against it.
    GasBudget(read::GasBudgetArgs),
    /// Move a nonce lane forward, cancelling the signed batches below the new nonce (sent by the account's EOA).
    InvalidateNonce(owner::InvalidateNonceArgs),
    /// Set a new EIP-712 salt prefix: every outstanding signature of the account stops verifying.
    UpdateSalt(owner::UpdateSaltArgs),
    /// Print key and account events (grants, updates, revocations, uses, gas budgets, EntryPoint, nonce, salt and
    /// native-allowance changes) as JSON lines, then follow new blocks.
    Watch(watch::WatchArgs),
    /// Print the agent credential of a granted session key (account, chain, key, window, hook, secret) as JSON.
    Credential(agent::CredentialArgs),
    /// Run the agent runtime with a credential: a call every interval of chain time, refusals in words with when to
    /// retry, stopping when the key expires or is revoked (`--once`: one tick, for cron).
    Agent(Box<agent::AgentArgs>),
    /// Run the demo on a local anvil it starts itself (`--json`: one JSON line per step).
    Demo {
        /// The agent pays through Pimlico's Alto bundler (started on the demo's chain, on 127.0.0.1) instead of
        /// `handleOps`.
        #[arg(long)]
        bundler: bool,
    },
}

async fn run(cli: Cli) -> Result<()> {
    let j = cli.json;
    match cli.command {
        Command::Settings(c) => c.run(j),
        Command::Key(c) => c.run(j),
        Command::Encode(c) => c.run(j),
        Command::Deploy(a) => owner::deploy(a, j).await,
        Command::Delegate(a) => owner::delegate(a, j).await,
        Command::Keys(o) => read::keys(o, j).await,
        Command::Grant(a) => owner::grant(*a, j).await,
        Command::Permissions(a) => erc7715::permissions(a, j).await,
        Command::Update(a) => owner::update(a, j).await,
        Command::Exec(a) => exec::run(a, j).await,
        Command::Policy(a) => read::policy(a, j).await,
        Command::Revoke(a) => owner::revoke(a, j).await,
        Command::RevokeAll(o) => owner::revoke_all(o, j).await,
        Command::Pause(a) => owner::pause(a, true, j).await,
        Command::Resume(a) => owner::pause(a, false, j).await,
        Command::Prune(o) => owner::prune(o, j).await,
        Command::SetGasBudget(a) => owner::set_gas_budget(a, j).await,
        Command::GasBudget(a) => read::gas_budget(a, j).await,
        Command::InvalidateNonce(a) => owner::invalidate_nonce(a, j).await,
        Command::UpdateSalt(a) => owner::update_salt(a, j).await,
        Command::Watch(a) => watch::run(a).await,
        Command::Credential(a) => agent::credential(a).await,
        Command::Agent(a) => agent::agent(*a, j).await,
        Command::Demo { bundler } => demo::run(j, bundler).await,
    }
}

/// One line: a refusal by the account, its hook or the EntryPoint in words first, then the error and its causes.
fn one_line(e: &eyre::Report) -> String {
    let raw = format!("{e:#}").replace('\n', " ");
    let words = |k: &keyward::Error| {
        (k.revert().is_some() || k.aa_code().is_some())
            .then(|| keyward::explain::sentence(k, &keyward::explain::Context::default()))
    };
    // A failed user operation: its class and stage first, then the refusal in words, the decoded revert and the error.
    if let Some(f) = e.downcast_ref::<exec::Failed>() {
        let detail = keyward::explain::with_sources(&f.error).replace('\n', " ");
        let revert = f.error.revert().map(|r| format!("{r:?}")).filter(|r| !detail.contains(r.as_str()));
        let detail = revert.map_or_else(|| detail.clone(), |r| format!("{r}; {detail}"));
        return match words(&f.error) {
            Some(words) => format!("{}: {words} ({detail})", f.class),
            None => format!("{}: {detail}", f.class),
        };
    }
    match e.downcast_ref::<keyward::Error>().and_then(words) {
        Some(words) => format!("{words} ({raw})"),
        None => raw,
    }
}

#[tokio::main]
async fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => {
            let _ = e.print();
            return if e.use_stderr() { ExitCode::from(2) } else { ExitCode::SUCCESS };
        }
    };
    match run(cli).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {}", one_line(&e));
            ExitCode::FAILURE
        }
    }
}
