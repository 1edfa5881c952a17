//! Snapshot tests: the command line's help and its error lines, compared with the files in `tests/cli/snapshots/`.
//! A change to what users see fails here until the snapshot is refreshed on purpose:
//! `KEYWARD_BLESS=1 cargo test -p keyward-cli --test cli snapshots` rewrites them; review the diff and commit it.

use std::{fmt::Write as _, path::PathBuf};

use eyre::{Result, bail, ensure};

use crate::{keyward, stderr, stdout};

fn snapshot(name: &str, actual: &str) -> Result<()> {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/cli/snapshots").join(format!("{name}.txt"));
    if std::env::var_os("KEYWARD_BLESS").is_some() {
        std::fs::create_dir_all(path.parent().unwrap_or(&path))?;
        std::fs::write(&path, actual)?;
        return Ok(());
    }
    let Ok(expected) = std::fs::read_to_string(&path) else {
        bail!("no snapshot {}: run with KEYWARD_BLESS=1 to write it", path.display());
    };
    ensure!(expected == actual, "{name} changed; expected:\n{expected}\nactual:\n{actual}");
    Ok(())
}

/// `--help` of the top level and of the commands people read most.
#[test]
fn help() -> Result<()> {
    for (name, args) in [
        ("help", &["--help"][..]),
        ("help-grant", &["grant", "--help"]),
        ("help-exec", &["exec", "--help"]),
        ("help-watch", &["watch", "--help"]),
        ("help-settings-encode", &["settings", "encode", "--help"]),
        ("help-encode", &["encode", "--help"]),
        ("help-encode-execute-batch", &["encode", "execute-batch", "--help"]),
    ] {
        let o = keyward(args);
        ensure!(o.status.success() && o.stderr.is_empty(), "{args:?}");
        snapshot(name, &stdout(&o))?;
    }
    Ok(())
}

/// Every bad-input class of the offline commands and their exit codes, one case per line.
#[test]
fn errors() -> Result<()> {
    let cases: [&[&str]; 18] = [
        &["settings", "decode", "0x8000000000000000000000000000000000000000000000000000000000000000"],
        &["settings", "decode", "0x0000000000000000000000000000000000000000000000000000000000000000ff"],
        &["settings", "decode", "12"],
        &["settings", "decode", "0xzz"],
        &["settings", "encode", "--expires-at", "1099511627776"],
        &["settings", "encode", "--valid-after", "1099511627776"],
        &["key", "hash", "--public-key", "0x1234"],
        &["key", "hash", "--type", "p256", "--public-key", "0x1234"],
        &["key", "hash", "--public-key", "hello"],
        &["encode", "execute", "0x12", "0x"],
        &["encode", "revoke", "0x12"],
        &["settings", "decode", "0x1000000000000000000000000000000000000000000000000000000000000000"],
        &["settings", "decode", "0x0000000000000000000000000000000000000000000000000000000000000020"],
        &["settings", "encode", "--flags", "FAST"],
        &["encode", "execute-batch", "0xaa:0x"],
        &[
            "encode",
            "invalidate-nonce",
            "--lane",
            "6277101735386680763835789423207666416102355444464034512896",
            "--seq",
            "1",
        ],
        &[
            "encode",
            "set-gas-budget",
            "0x80b9be6ff49051eca0a9e2532bde9ceb67a892390800e4b09ee9c59b3dd0df5a",
            "--per-period",
            "1",
        ],
        &["keys", "--account", "0x0000000000000000000000000000000000000001", "--rpc-url", "http://127.0.0.1:1"],
    ];
    let mut out = String::new();
    for args in cases {
        let o = keyward(args);
        ensure!(o.stdout.is_empty(), "{args:?} printed to stdout");
        let code = o.status.code().unwrap_or(-1);
        // Usage errors (exit 2) are clap's: keep their first line.
        let first = stderr(&o).lines().next().unwrap_or_default().to_owned();
        writeln!(out, "$ keyward {}\nexit {code}: {first}", args.join(" "))?;
    }
    snapshot("errors", &out)
}
