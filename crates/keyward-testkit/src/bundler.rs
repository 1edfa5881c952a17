//! A real ERC-4337 bundler on the testkit's chain: Pimlico's Alto (npm `@pimlico/alto`, pinned in the Keyward
//! checkout's `package.json`), listening on 127.0.0.1 only and stopped on drop.

use std::{
    fs::File,
    io::{Read, Seek, SeekFrom},
    path::{Path, PathBuf},
    process::{Child, Command, ExitStatus, Stdio},
    time::{Duration, Instant},
};

use alloy::{
    hex,
    primitives::{Address, U256},
    signers::local::PrivateKeySigner,
    transports::http::reqwest::Url,
};
use keyward::{bundler::BundlerClient, client::UserOpRoute, userop::ENTRY_POINT_V08};

use crate::Testnet;

/// The node preload that keeps Alto on 127.0.0.1 (Alto hard-codes `0.0.0.0`) and makes it exit with its parent:
/// `tools/alto-localhost.cjs` in the Keyward checkout, embedded so the testkit works from any directory (each
/// [`Bundler`] writes it next to its log and removes it when dropped).
pub const ALTO_LOCALHOST_PRELOAD: &str = include_str!("../../../tools/alto-localhost.cjs");

const ALTO_SCRIPT: &str = "node_modules/@pimlico/alto/esm/cli/alto.js";

/// Everything that can go wrong starting Alto.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum AltoError {
    /// Alto is not installed.
    #[error(
        "Alto (npm @pimlico/alto) not found, looked for {ALTO_SCRIPT} above {searched:?}: run `make setup` (npm ci) in the Keyward checkout, or set ALTO_BIN to Alto's esm/cli/alto.js"
    )]
    AltoNotFound {
        /// The directories searched upwards from.
        searched: Vec<PathBuf>,
    },
    /// Node.js is not installed.
    #[error("node not found on PATH: install Node.js >= 20 (Alto runs on it), or set NODE_BIN")]
    NodeNotFound,
    /// A file or process operation failed.
    #[error("{what}")]
    Io {
        /// What was being done.
        what: &'static str,
        /// The error.
        #[source]
        source: std::io::Error,
    },
    /// Alto exited while starting.
    #[error("Alto exited with {status} while starting; the end of its log ({log}):\n{tail}")]
    Exited {
        /// Its exit status.
        status: ExitStatus,
        /// Its log file.
        log: PathBuf,
        /// The last lines of the log.
        tail: String,
    },
    /// Alto did not answer in time.
    #[error("Alto did not answer within {waited:?}; the end of its log ({log}):\n{tail}")]
    StartTimeout {
        /// How long it was given.
        waited: Duration,
        /// Its log file.
        log: PathBuf,
        /// The last lines of the log.
        tail: String,
    },
    /// Alto listened somewhere else than 127.0.0.1, or answered not as a bundler for EntryPoint v0.8 should.
    #[error("Alto started wrongly: {answer} (its log: {log})")]
    Probe {
        /// What it answered.
        answer: String,
        /// Its log file.
        log: PathBuf,
    },
    /// Funding Alto's accounts on the chain failed.
    #[error(transparent)]
    Chain(#[from] crate::Error),
}

fn io(what: &'static str) -> impl FnOnce(std::io::Error) -> AltoError {
    move |source| AltoError::Io { what, source }
}

/// Alto's CLI script: `ALTO_BIN`, then `node_modules/@pimlico/alto/esm/cli/alto.js` searched from the current
/// directory and from this crate's workspace upwards (where `make setup` / `npm ci` puts it).
pub fn alto_path() -> Result<PathBuf, AltoError> {
    if let Some(p) = std::env::var_os("ALTO_BIN") {
        return Ok(p.into());
    }
    let starts: Vec<PathBuf> =
        [std::env::current_dir().ok(), Some(PathBuf::from(env!("CARGO_MANIFEST_DIR")))].into_iter().flatten().collect();
    for start in &starts {
        for dir in start.ancestors() {
            let p = dir.join(ALTO_SCRIPT);
            if p.exists() {
                return Ok(p);
            }
        }
    }
    Err(AltoError::AltoNotFound { searched: starts })
}

/// Node.js: `NODE_BIN`, then `node` on `PATH`.
pub fn node_path() -> Result<PathBuf, AltoError> {
    if let Some(p) = std::env::var_os("NODE_BIN") {
        return Ok(p.into());
    }
    std::env::var_os("PATH")
        .and_then(|paths| std::env::split_paths(&paths).map(|d| d.join("node")).find(|p| p.is_file()))
        .ok_or(AltoError::NodeNotFound)
}

fn tail(path: &Path, lines: usize) -> String {
    let mut text = String::new();
    if let Ok(mut f) = File::open(path) {
        let len = f.metadata().map_or(0, |m| m.len());
        let _ = f.seek(SeekFrom::Start(len.saturating_sub(16 * 1024)));
        let _ = f.read_to_string(&mut text);
    }
    let all: Vec<&str> = text.lines().collect();
    all[all.len().saturating_sub(lines)..].join("\n")
}

/// Alto's command line, each flag with its reason.
#[allow(clippy::too_many_arguments)]
fn alto_command(
    net: &Testnet,
    options: &BundlerOptions,
    node: &Path,
    alto: &Path,
    preload: &Path,
    listen_file: &Path,
    executor: &PrivateKeySigner,
    utility: &PrivateKeySigner,
) -> Command {
    let key = |s: &PrivateKeySigner| format!("0x{}", hex::encode(s.to_bytes()));
    let mut cmd = Command::new(node);
    cmd.arg("-r").arg(preload).arg(alto);
    cmd.args(["--entrypoints", &ENTRY_POINT_V08.to_string()]);
    cmd.args(["--executor-private-keys", &key(executor)]);
    cmd.args(["--utility-private-key", &key(utility)]);
    // anvil's endpoint says `localhost`; anvil listens on 127.0.0.1, so say that (no IPv6 detour).
    let mut rpc = net.url();
    let _ = rpc.set_host(Some("127.0.0.1"));
    cmd.args(["--rpc-url", rpc.as_str()]);
    // Any free port: the preload writes the one the kernel gave to `listen_file`.
    cmd.args(["--port", "0"]);
    // Its ERC-7562 tracer needs geth's debug_traceCall JS tracers, which anvil does not have.
    cmd.args(["--safe-mode", "false"]);
    // EntryPointSimulations 0.7/0.8/0.9 and PimlicoSimulations through the CREATE2 deployer, by the utility key.
    cmd.args(["--deploy-simulations-contract", "true"]);
    // The test funds both accounts itself: no balance polling, no refills.
    cmd.args(["--utility-wallet-monitor", "false", "--refilling-wallets", "false"]);
    // debug_bundler_* (sendBundleNow, dumpMempool, clearState...) for tests.
    cmd.args(["--enable-debug-endpoints", "true"]);
    cmd.args(["--json", "--log-level", options.log_level]);
    cmd.args(&options.extra_args);
    // Alto reads ALTO_* variables as options (yargs `.env("ALTO")`) and a .env file: neither may leak in.
    for (k, _) in std::env::vars_os() {
        if k.to_string_lossy().starts_with("ALTO_") {
            cmd.env_remove(k);
        }
    }
    cmd.env_remove("SENTRY_DSN").env("DOTENV_CONFIG_PATH", "/dev/null").env("KEYWARD_ALTO_EXIT_WITH_PARENT", "1");
    cmd.env("KEYWARD_ALTO_LISTEN_FILE", listen_file);
    cmd
}

/// How to start Alto.
#[derive(Clone, Debug)]
#[must_use]
pub struct BundlerOptions {
    startup_timeout: Duration,
    log_level: &'static str,
    extra_args: Vec<String>,
}

impl Default for BundlerOptions {
    fn default() -> Self {
        Self { startup_timeout: Duration::from_mins(3), log_level: "info", extra_args: Vec::new() }
    }
}

impl BundlerOptions {
    /// How long Alto may take to answer (default 3 minutes). Node loading Alto's modules is most of its start: about
    /// 2 s on an idle 2-core machine, a minute when the cores are busy with other builds; its own start (chain id,
    /// deploying its simulation contracts, gas price) is about half a second.
    pub fn startup_timeout(mut self, timeout: Duration) -> Self {
        self.startup_timeout = timeout;
        self
    }

    /// Alto's `--log-level` (`trace` ... `fatal`; default `info`, one JSON line per request in the log file).
    pub fn log_level(mut self, level: &'static str) -> Self {
        self.log_level = level;
        self
    }

    /// More Alto options, appended to the command line (a later flag overrides an earlier one).
    pub fn arg(mut self, arg: impl Into<String>) -> Self {
        self.extra_args.push(arg.into());
        self
    }
}

/// One JSON-RPC request Alto received ([`Bundler::requests`]).
#[derive(Clone, Debug, PartialEq)]
pub struct BundlerRequest {
    /// The method, e.g. `eth_sendUserOperation`.
    pub method: String,
    /// Its parameters as sent (`Null` when there were none).
    pub params: serde_json::Value,
}

/// The requests in one line of Alto's JSON log: its `incoming request` lines carry the raw body (a JSON string; a
/// batch is an array).
fn incoming(line: &serde_json::Value) -> Vec<BundlerRequest> {
    if line.get("module").and_then(|m| m.as_str()) != Some("rpc")
        || line.get("msg").and_then(|m| m.as_str()) != Some("incoming request")
    {
        return Vec::new();
    }
    let body = match line.get("data") {
        Some(serde_json::Value::String(raw)) => serde_json::from_str(raw).unwrap_or_default(),
        Some(other) => other.clone(),
        None => serde_json::Value::Null,
    };
    let one = |v: &serde_json::Value| {
        let method = v.get("method")?.as_str()?.to_owned();
        Some(BundlerRequest { method, params: v.get("params").cloned().unwrap_or_default() })
    };
    match &body {
        serde_json::Value::Array(batch) => batch.iter().filter_map(one).collect(),
        single => one(single).into_iter().collect(),
    }
}

/// Alto running against a [`Testnet`], for EntryPoint v0.8 at its canonical address. Dropping it stops Alto.
///
/// ```rust,no_run
/// # async fn run() -> Result<(), Box<dyn std::error::Error>> {
/// use keyward_testkit::{Testnet, bundler::Bundler};
///
/// let net = Testnet::start().await?;
/// let bundler = Bundler::start(&net).await?;
/// let client = bundler.client();
/// assert_eq!(client.supported_entry_points().await?, vec![keyward::userop::ENTRY_POINT_V08]);
/// # Ok(()) }
/// ```
///
/// Alto checks an operation's `validUntil` / `validAfter` against the wall clock, not the chain's: after
/// [`Testnet::warp`] the two differ, so time-travel tests should go through `handleOps` directly.
#[derive(Debug)]
pub struct Bundler {
    child: Child,
    url: Url,
    port: u16,
    log: PathBuf,
    preload: PathBuf,
    listen_file: PathBuf,
    startup: Duration,
    executor: Address,
    utility: Address,
    keep_log: bool,
}

impl Bundler {
    /// Starts Alto with the default options.
    pub async fn start(net: &Testnet) -> Result<Self, AltoError> {
        Self::start_with(net, BundlerOptions::default()).await
    }

    /// Starts Alto: two fresh accounts funded on the chain (its executor and its utility account, which deploys
    /// Alto's simulation contracts), `--port 0` on 127.0.0.1 (the kernel's free port, which the preload reports
    /// back), then waits until it answers `eth_supportedEntryPoints`.
    pub async fn start_with(net: &Testnet, options: BundlerOptions) -> Result<Self, AltoError> {
        let alto = alto_path()?;
        let node = node_path()?;
        // Fresh keys rather than anvil's own accounts: no nonce race with the testkit's funder (anvil account 0) or
        // with anything a test sends from the other anvil accounts, and two bundlers never share an executor.
        let executor = PrivateKeySigner::random();
        let utility = PrivateKeySigner::random();
        let hundred_eth = U256::from(100u128 * 10u128.pow(18));
        net.fund(executor.address(), hundred_eth).await?;
        net.fund(utility.address(), hundred_eth).await?;
        Self::spawn(net, &options, &node, &alto, &executor, &utility).await
    }

    async fn spawn(
        net: &Testnet,
        options: &BundlerOptions,
        node: &Path,
        alto: &Path,
        executor: &PrivateKeySigner,
        utility: &PrivateKeySigner,
    ) -> Result<Self, AltoError> {
        let nanos = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_nanos());
        let stem = std::env::temp_dir().join(format!("keyward-alto-{}-{nanos}", std::process::id()));
        let listen_file = stem.with_extension("addr");
        let log = stem.with_extension("log");
        let out = File::create(&log).map_err(io("creating Alto's log file"))?;
        let err = out.try_clone().map_err(io("creating Alto's log file"))?;
        // The preload next to the log, removed with the Bundler (node reads it once, at start).
        let preload = stem.with_extension("cjs");
        if let Err(e) = std::fs::write(&preload, ALTO_LOCALHOST_PRELOAD) {
            let _ = std::fs::remove_file(&log);
            return Err(io("writing Alto's preload")(e));
        }
        let mut cmd = alto_command(net, options, node, alto, &preload, &listen_file, executor, utility);
        cmd.stdin(Stdio::null()).stdout(out).stderr(err);
        let started = Instant::now();
        let child = match cmd.spawn() {
            Ok(child) => child,
            Err(e) => {
                let _ = std::fs::remove_file(&preload);
                let _ = std::fs::remove_file(&log);
                return Err(io("spawning node to run Alto")(e));
            }
        };
        let mut bundler = Self {
            child,
            url: "http://127.0.0.1/rpc".parse().expect("a valid URL"),
            port: 0,
            log,
            preload,
            listen_file,
            startup: Duration::ZERO,
            executor: executor.address(),
            utility: utility.address(),
            keep_log: std::env::var_os("KEYWARD_KEEP_ALTO_LOG").is_some(),
        };
        bundler.wait_until_ready(started, options.startup_timeout).await?;
        Ok(bundler)
    }

    /// Reads the port the preload reports, then probes `eth_supportedEntryPoints` until Alto answers, exits, or
    /// `timeout` passes (an error keeps the log).
    async fn wait_until_ready(&mut self, started: Instant, timeout: Duration) -> Result<(), AltoError> {
        let result = self.probe_until_ready(started, timeout).await;
        if result.is_err() {
            self.keep_log = true;
        }
        result
    }

    async fn probe_until_ready(&mut self, started: Instant, timeout: Duration) -> Result<(), AltoError> {
        let mut client: Option<BundlerClient> = None;
        loop {
            if let Some(status) = self.child.try_wait().map_err(io("waiting for Alto"))? {
                return Err(AltoError::Exited { status, log: self.log.clone(), tail: tail(&self.log, 40) });
            }
            if client.is_none()
                && let Ok(address) = std::fs::read_to_string(&self.listen_file)
            {
                let (host, port) = address.trim().rsplit_once(':').unwrap_or_default();
                let Ok(port) = port.parse::<u16>() else {
                    return Err(AltoError::Probe {
                        answer: format!("listening on {address:?}"),
                        log: self.log.clone(),
                    });
                };
                if host != "127.0.0.1" {
                    return Err(AltoError::Probe { answer: format!("listening on {host}"), log: self.log.clone() });
                }
                self.port = port;
                self.url = format!("http://127.0.0.1:{port}/rpc").parse().expect("a valid URL");
                client = Some(self.client().with_request_timeout(Duration::from_secs(5)));
            }
            if let Some(client) = &client {
                match client.supported_entry_points().await {
                    Ok(eps) if eps.contains(&ENTRY_POINT_V08) => {
                        self.startup = started.elapsed();
                        return Ok(());
                    }
                    Ok(eps) => {
                        return Err(AltoError::Probe { answer: format!("{eps:?}"), log: self.log.clone() });
                    }
                    // Up, but refusing the probe: waiting will not help.
                    Err(e @ keyward::Error::Bundler(_)) => {
                        return Err(AltoError::Probe { answer: e.to_string(), log: self.log.clone() });
                    }
                    // Not answering yet.
                    Err(_) => {}
                }
            }
            if started.elapsed() > timeout {
                let tail = tail(&self.log, 40);
                return Err(AltoError::StartTimeout { waited: timeout, log: self.log.clone(), tail });
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// The JSON-RPC URL (`http://127.0.0.1:PORT/rpc`).
    pub fn url(&self) -> &Url {
        &self.url
    }

    /// The port it listens on (127.0.0.1 only).
    pub fn port(&self) -> u16 {
        self.port
    }

    /// A client for it (EntryPoint v0.8).
    pub fn client(&self) -> BundlerClient {
        BundlerClient::new(self.url.clone())
    }

    /// The bundler route through it for [`keyward::client::Account::prepare`] and
    /// [`keyward::client::Account::send`]; `send` waits up to `receipt_timeout` for the receipt.
    pub fn route(&self, receipt_timeout: Duration) -> UserOpRoute {
        UserOpRoute::bundler(self.client(), receipt_timeout)
    }

    /// Every JSON-RPC request Alto has received so far, oldest first, read from its log (it logs each one at
    /// `--log-level info`, the default, or lower; at a higher level this is empty). A test asserts with it what
    /// reached the bundler, e.g. that an operation refused while preparing was never sent:
    /// `bundler.requests().iter().filter(|r| r.method == "eth_sendUserOperation")`.
    pub fn requests(&self) -> Vec<BundlerRequest> {
        let text = std::fs::read_to_string(&self.log).unwrap_or_default();
        text.lines()
            .filter_map(|line| serde_json::from_str::<serde_json::Value>(line).ok())
            .flat_map(|line| incoming(&line))
            .collect()
    }

    /// How long it took from spawning node to the first answer.
    pub fn startup_time(&self) -> Duration {
        self.startup
    }

    /// Its process id.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// The executor account that sends its bundles (and is the bundles' beneficiary).
    pub fn executor(&self) -> Address {
        self.executor
    }

    /// The utility account that deployed its simulation contracts.
    pub fn utility(&self) -> Address {
        self.utility
    }

    /// Its log file (JSON lines; removed on drop unless it failed to start, the thread panics, or
    /// `KEYWARD_KEEP_ALTO_LOG` is set).
    pub fn log_path(&self) -> &Path {
        &self.log
    }

    /// The last `lines` lines of its log.
    pub fn log_tail(&self, lines: usize) -> String {
        tail(&self.log, lines)
    }

    /// Stops Alto now (dropping does the same).
    pub fn stop(self) {
        drop(self);
    }
}

impl Drop for Bundler {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_file(&self.preload);
        let _ = std::fs::remove_file(&self.listen_file);
        if self.keep_log || std::thread::panicking() {
            eprintln!("Alto's log is kept at {}", self.log.display());
        } else {
            let _ = std::fs::remove_file(&self.log);
        }
    }
}

/// A local chain and a real bundler on it, for a test suite's ERC-4337 tests: [`Testnet::start`] then
/// [`Bundler::start`]. Dropping it stops Alto, then anvil.
///
/// ```rust,no_run
/// # async fn run() -> Result<(), Box<dyn std::error::Error>> {
/// use std::time::Duration;
/// use keyward::{Secp256k1Signer, KeySigner, bindings::Call, client::{Pricing, UserOpRequest}};
/// use keyward_testkit::{BundledTestnet, Testnet};
///
/// let chain = BundledTestnet::start().await?;
/// let session = Secp256k1Signer(alloy::signers::local::PrivateKeySigner::random());
/// let settings = chain.net.policy_settings().gas_budget(true).build()?;
/// let (_eoa, account) = chain.net.new_account(&[Testnet::grant_call(&session.key(), settings)]).await?;
/// let route = chain.route();
/// let pay = Call { to: alloy::primitives::Address::repeat_byte(1), value: alloy::primitives::U256::from(1), data: Default::default() };
/// let op = account.prepare(&route, UserOpRequest::new(&session, [pay], Pricing::Bundler)).await?;
/// let receipt = account.send(&route, &op).await?;
/// # Ok(()) }
/// ```
#[derive(Debug)]
pub struct BundledTestnet {
    /// Alto (declared first: dropped before the chain it watches).
    pub bundler: Bundler,
    /// The chain.
    pub net: Testnet,
}

impl BundledTestnet {
    /// How long [`BundledTestnet::route`]'s `send` waits for a receipt: Alto bundles on its next poll of the
    /// chain, in a second or two; a busy machine takes longer.
    pub const RECEIPT_TIMEOUT: Duration = Duration::from_mins(1);

    /// Starts anvil with Keyward, then Alto on it with the default options.
    pub async fn start() -> Result<Self, AltoError> {
        Self::start_with(BundlerOptions::default()).await
    }

    /// Starts anvil with Keyward, then Alto on it with `options`.
    pub async fn start_with(options: BundlerOptions) -> Result<Self, AltoError> {
        let net = Testnet::start().await?;
        let bundler = Bundler::start_with(&net, options).await?;
        Ok(Self { bundler, net })
    }

    /// The bundler route, waiting up to [`Self::RECEIPT_TIMEOUT`] for receipts.
    pub fn route(&self) -> UserOpRoute {
        self.bundler.route(Self::RECEIPT_TIMEOUT)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn requests_are_read_from_alto_incoming_request_lines() {
        let line = |data: &str| serde_json::json!({"level": "info", "module": "rpc", "data": data, "method": "x", "msg": "incoming request"});
        let one =
            incoming(&line(r#"{"jsonrpc":"2.0","id":1,"method":"eth_sendUserOperation","params":[{"a":1},"0x"]}"#));
        assert_eq!(one.len(), 1);
        assert_eq!(one[0].method, "eth_sendUserOperation");
        assert_eq!(one[0].params, serde_json::json!([{"a": 1}, "0x"]));
        let batch = incoming(&line(r#"[{"method":"eth_chainId"},{"method":"eth_supportedEntryPoints","params":[]}]"#));
        assert_eq!(
            batch.iter().map(|r| r.method.as_str()).collect::<Vec<_>>(),
            ["eth_chainId", "eth_supportedEntryPoints"]
        );
        assert_eq!(batch[0].params, serde_json::Value::Null);
        // Replies, node requests and other modules are not requests Alto received.
        let reply = serde_json::json!({"module": "rpc", "data": {"result": 1}, "msg": "sent reply"});
        assert!(incoming(&reply).is_empty());
        let node = serde_json::json!({"module": "public_client", "body": {"method": "eth_chainId"}, "msg": "received response"});
        assert!(incoming(&node).is_empty());
    }

    #[test]
    fn missing_tools_say_how_to_install_them() {
        let e = AltoError::AltoNotFound { searched: vec![PathBuf::from("/somewhere")] };
        assert!(e.to_string().contains("make setup") && e.to_string().contains("ALTO_BIN"), "{e}");
        assert!(AltoError::NodeNotFound.to_string().contains("NODE_BIN"));
    }

    #[test]
    fn the_embedded_preload_is_the_tools_file() {
        let file = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tools/alto-localhost.cjs");
        assert_eq!(std::fs::read_to_string(file).unwrap(), ALTO_LOCALHOST_PRELOAD);
    }
}
