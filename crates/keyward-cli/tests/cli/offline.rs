//! Offline commands: exact outputs, and one-line errors for bad input.

use eyre::{Result, ensure};

use crate::{keyward, stderr, stdout};

/// Offline commands print exactly this.
#[test]
fn offline_outputs() -> Result<()> {
    let cases: [(&[&str], &str); 12] = [
        (
            &["settings", "encode", "--expires-at", "1900000000", "--admin"],
            "0x0000000000000100713fb3000000000000000000000000000000000000000000\n",
        ),
        (
            &["settings", "decode", "0x0000000000000100713fb3000000000000000000000000000000000000000000"],
            "hook 0x0000000000000000000000000000000000000000\nexpiration 1900000000\nadmin true\nvalidAfter 0\nflags NONE\n",
        ),
        (
            &["key", "hash", "--public-key", "0x06625BeDF38e5DDC773c9eDbF4ed6C05497E50B1"],
            "0x80b9be6ff49051eca0a9e2532bde9ceb67a892390800e4b09ee9c59b3dd0df5a\n",
        ),
        (&["encode", "revoke-all"], "0xa340fff4\n"),
        (
            &["encode", "revoke", "0x80b9be6ff49051eca0a9e2532bde9ceb67a892390800e4b09ee9c59b3dd0df5a"],
            "0xb75c7dc680b9be6ff49051eca0a9e2532bde9ceb67a892390800e4b09ee9c59b3dd0df5a\n",
        ),
        (
            &["--json", "key", "hash", "--public-key", "0x06625BeDF38e5DDC773c9eDbF4ed6C05497E50B1"],
            "{\"keyHash\":\"0x80b9be6ff49051eca0a9e2532bde9ceb67a892390800e4b09ee9c59b3dd0df5a\"}\n",
        ),
        // The flags sit in bits 248-250.
        (
            &["settings", "encode", "--flags", "AFTER_EXECUTE_ON_FAILURE|GAS_BUDGET"],
            "0x0500000000000000000000000000000000000000000000000000000000000000\n",
        ),
        (
            &["settings", "decode", "0x020000000000000000000000000000000000000000000000000000000000001e"],
            "hook 0x000000000000000000000000000000000000001e\nexpiration 0\nadmin false\nvalidAfter 0\nflags SPONSORED_ONLY\n",
        ),
        // Calibur's batch: execute(BatchedCall{[(0xaa.., 1 wei, 0x)], revertOnFailure: true}).
        (
            &["encode", "execute-batch", "0x00000000000000000000000000000000000000aa:0x:1"],
            concat!(
                "0x99e1d016",
                "0000000000000000000000000000000000000000000000000000000000000020",
                "0000000000000000000000000000000000000000000000000000000000000040",
                "0000000000000000000000000000000000000000000000000000000000000001",
                "0000000000000000000000000000000000000000000000000000000000000001",
                "0000000000000000000000000000000000000000000000000000000000000020",
                "00000000000000000000000000000000000000000000000000000000000000aa",
                "0000000000000000000000000000000000000000000000000000000000000001",
                "0000000000000000000000000000000000000000000000000000000000000060",
                "0000000000000000000000000000000000000000000000000000000000000000\n",
            ),
        ),
        (
            &["encode", "invalidate-nonce", "--lane", "7", "--seq", "3"],
            "0xb70e36f00000000000000000000000000000000000000000000000070000000000000003\n",
        ),
        (
            &["encode", "update-salt", "1"],
            "0x2abbf4690000000000000000000000000000000000000000000000000000000000000001\n",
        ),
        (
            &["encode", "approve-native", "0x00000000000000000000000000000000000000bb", "5", "--transient"],
            "0x25e5c24300000000000000000000000000000000000000000000000000000000000000bb0000000000000000000000000000000000000000000000000000000000000005\n",
        ),
    ];
    for (args, want) in cases {
        let o = keyward(args);
        ensure!(o.status.success(), "{args:?}: {}", stderr(&o));
        ensure!(stdout(&o) == want, "{args:?}: got {:?}", stdout(&o));
    }
    // The settings JSON explains every field, validationData included.
    let o = keyward(&["--json", "settings", "encode", "--expires-at", "100", "--valid-after", "10"]);
    let v: serde_json::Value = serde_json::from_slice(&o.stdout)?;
    ensure!(v["expiration"] == 100 && v["validAfter"] == 10 && v["admin"] == false);
    ensure!(v["validationData"].as_str().is_some_and(|s| s.ends_with(&format!("{:0>40}", "")) && s.len() == 66));
    Ok(())
}

/// Bad input: one line on stderr, exit code 1 (2 for usage errors, as clap does), nothing on stdout.
#[test]
fn bad_input_is_one_line_and_non_zero() -> Result<()> {
    let cases: [(&[&str], &str); 6] = [
        (
            &["settings", "decode", "0x8000000000000000000000000000000000000000000000000000000000000000"],
            "error: non-canonical settings: reserved bits 0x8000000000000000000000000000000000000000000000000000000000000000 are set\n",
        ),
        (&["settings", "decode", "12"], "error: invalid hex \"12\": missing 0x prefix\n"),
        (&["settings", "decode", "0xzz"], "error: invalid hex \"0xzz\": not a hex number\n"),
        (&["key", "hash", "--public-key", "0x1234"], "error: a secp256k1 key is a 20-byte address, got 2 bytes\n"),
        (
            &["key", "hash", "--type", "p256", "--public-key", "0x1234"],
            "error: a P256 key is x ++ y, 64 bytes, got 2 bytes\n",
        ),
        (
            &["settings", "encode", "--expires-at", "1099511627776"],
            "error: expiration 1099511627776 does not fit in 40 bits\n",
        ),
    ];
    for (args, want) in cases {
        let o = keyward(args);
        ensure!(o.status.code() == Some(1), "{args:?} exited {:?}", o.status.code());
        ensure!(stderr(&o) == want, "{args:?}: got {:?}", stderr(&o));
        ensure!(o.stdout.is_empty());
    }
    let o = keyward(&[
        "keys",
        "--account",
        "0x0000000000000000000000000000000000000001",
        "--rpc-url",
        "http://127.0.0.1:1",
    ]);
    ensure!(o.status.code() == Some(1));
    ensure!(
        stderr(&o).starts_with("error: RPC at http://127.0.0.1:1 is unreachable") && stderr(&o).lines().count() == 1
    );
    let o = keyward(&["encode", "revoke", "0x12"]);
    ensure!(o.status.code() == Some(2), "clap usage error");
    ensure!(keyward(&["--help"]).status.success() && stdout(&keyward(&["--help"])).contains("revoke-all"));
    Ok(())
}
