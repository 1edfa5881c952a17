//! Property tests of the command line under random arguments: the binary never panics; it succeeds, or fails with
//! exit code 1 and exactly one `error: ...` line on stderr (nothing on stdout), or exits 2 for a usage error.
//! Only offline commands and online commands that fail before sending are generated, so no case needs a chain.

use std::process::Output;

use proptest::{prelude::*, test_runner::TestCaseError};

use crate::keyward;

/// The contract every invocation keeps.
fn well_behaved(args: &[&str], o: &Output) -> Result<(), TestCaseError> {
    let err = String::from_utf8_lossy(&o.stderr);
    match o.status.code() {
        Some(0) => prop_assert!(err.is_empty(), "{args:?}: success with stderr {err:?}"),
        Some(1) => {
            prop_assert!(o.stdout.is_empty(), "{args:?}: failure with stdout");
            prop_assert!(err.starts_with("error: ") && err.ends_with('\n'), "{args:?}: {err:?}");
            prop_assert_eq!(err.lines().count(), 1, "{:?}: {:?}", args, err);
        }
        Some(2) => prop_assert!(err.starts_with("error: "), "{args:?}: usage error {err:?}"),
        other => prop_assert!(false, "{args:?}: exit {other:?} (a panic exits 101), stderr {err:?}"),
    }
    Ok(())
}

/// Strings a user might paste: hex of any length (with and without 0x, odd lengths, mixed case), numbers,
/// separators, unicode, and arbitrary text.
fn messy() -> impl Strategy<Value = String> {
    prop_oneof![
        proptest::collection::vec(any::<u8>(), 0..80).prop_map(|b| format!("0x{}", alloy::primitives::hex::encode(b))),
        "(0x)?[0-9a-fA-F]{0,70}",
        // Canonical-looking words: hook, expiration, admin bit, validAfter and flags in their places.
        (any::<[u8; 20]>(), any::<u32>(), any::<bool>(), any::<u32>(), 0u8..8).prop_map(|(h, e, a, v, f)| {
            let word = alloy::primitives::U256::from_be_slice(&h)
                | (alloy::primitives::U256::from(e) << 160)
                | (alloy::primitives::U256::from(u8::from(a)) << 200)
                | (alloy::primitives::U256::from(v) << 208)
                | (alloy::primitives::U256::from(f) << 248);
            format!("{word:#x}")
        }),
        "[0-9]{0,80}",
        "-?[0-9]{1,30}",
        "0x[0-9a-f]{40}:(0x[0-9a-f]{0,10}|any|[a-z]{0,5})",
        "[0-9a-zA-Z:x_ ]{0,40}",
        "\\PC{0,20}",
    ]
}

/// Arguments must not start with '-' here or clap reads them as flags (that case is the usage-error path).
fn value() -> impl Strategy<Value = String> {
    messy().prop_map(|s| if s.starts_with('-') { format!("0{s}") } else { s })
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 48, ..ProptestConfig::default() })]

    #[test]
    fn settings_decode(word in value()) {
        let args = ["settings", "decode", word.as_str()];
        let o = keyward(&args);
        well_behaved(&args, &o)?;
        if o.status.success() {
            // A word that decodes encodes back to itself.
            let text = String::from_utf8_lossy(&o.stdout).into_owned();
            let fields: Vec<&str> = text.lines().filter_map(|l| l.split_once(' ').map(|(_, v)| v)).collect();
            prop_assert_eq!(fields.len(), 5);
            let mut args = vec!["settings", "encode", "--hook", fields[0], "--expires-at", fields[1]];
            args.extend(["--valid-after", fields[3], "--flags", fields[4]]);
            if fields[2] == "true" {
                args.push("--admin");
            }
            let again = keyward(&args);
            prop_assert!(again.status.success(), "{:?}", args);
            let parse = |s: &str| alloy::primitives::U256::from_str_radix(s.trim().trim_start_matches("0x"), 16);
            prop_assert_eq!(parse(&String::from_utf8_lossy(&again.stdout)).ok(), parse(&word).ok());
        }
    }

    #[test]
    fn settings_encode(hook in value(), expires in value(), after in value(), admin in any::<bool>(), flags in value()) {
        let mut args = vec![
            "settings", "encode", "--hook", &hook, "--expires-at", &expires, "--valid-after", &after, "--flags", &flags,
        ];
        if admin {
            args.push("--admin");
        }
        well_behaved(&args, &keyward(&args))?;
    }

    #[test]
    fn key_hash(kind in prop::sample::select(vec!["secp256k1", "p256", "webauthn"]), public_key in value()) {
        let args = ["key", "hash", "--type", kind, "--public-key", &public_key];
        well_behaved(&args, &keyward(&args))?;
    }

    #[test]
    fn encode_commands(a in value(), b in value(), c in value()) {
        for args in [
            vec!["encode", "execute", &a, &b, "--value", &c],
            vec!["encode", "revoke", &a],
            vec!["encode", "update", &a, "--expires-in", &b],
            vec!["encode", "grant", "--public-key", &a, "--expires-at", &b],
            vec!["encode", "register", "--type", "p256", "--public-key", &a],
            vec!["encode", "execute-batch", &a, &b, "--continue-on-failure"],
            vec!["encode", "invalidate-nonce", "--lane", &a, "--seq", &b],
            vec!["encode", "update-salt", &a],
            vec!["encode", "approve-native", &a, &b],
            vec!["encode", "set-gas-budget", &a, "--per-period", &b, "--period", &c],
        ] {
            well_behaved(&args, &keyward(&args))?;
        }
    }

    /// `grant` parses every flag before it connects: bad flags fail on their own; good ones reach the (closed)
    /// RPC port and fail there, in one line either way.
    #[test]
    fn grant_policy_flags(allow in value(), limit in value(), calls in value(), public_key in value()) {
        let args = [
            "grant", "--rpc-url", "http://127.0.0.1:1", "--account", "0x0000000000000000000000000000000000000001",
            "--public-key", &public_key, "--allow", &allow, "--daily-limit", &limit, "--max-calls", &calls,
        ];
        let o = keyward(&args);
        well_behaved(&args, &o)?;
        prop_assert!(!o.status.success());
    }

    #[test]
    fn private_keys(key in value()) {
        let args = ["deploy", "--rpc-url", "http://127.0.0.1:1", "--private-key", &key];
        let o = keyward(&args);
        well_behaved(&args, &o)?;
        prop_assert!(!o.status.success());
        // The key is never echoed back, even when it is malformed.
        if key.len() >= 8 {
            prop_assert!(!String::from_utf8_lossy(&o.stderr).contains(&key), "{}", key);
        }
    }
}
