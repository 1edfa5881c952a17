//! The `keyward` binary, run as a user would: exact outputs for the offline commands, one-line errors with a
//! non-zero exit for bad input (also under random input), the online commands against a local chain, the watcher
//! across an RPC outage, and the demo.

mod bundler;
mod demo;
mod offline;
mod online;
mod props;
mod snapshots;
mod tooling;
mod watch;
mod webhook;

use std::process::{Command, Output};

/// `keyward` with none of its environment variables set (they would show in `--help` and change defaults).
fn keyward(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_keyward"))
        .args(args)
        .env_remove("ETH_RPC_URL")
        .env_remove("KEYWARD_PRIVATE_KEY")
        .env_remove("KEYWARD_SESSION_KEY_FILE")
        .output()
        .expect("the binary runs")
}

/// `keyward` with the RPC URL and the sender's private key in the environment, as cast users set them.
fn keyward_env(url: &str, private_key: &str, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_keyward"))
        .args(args)
        .env("ETH_RPC_URL", url)
        .env("KEYWARD_PRIVATE_KEY", private_key)
        .output()
        .expect("the binary runs")
}

fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}
