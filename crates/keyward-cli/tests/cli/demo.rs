//! `keyward demo`, as text and as JSON lines.

use eyre::{Result, ensure};

use crate::{keyward, stderr, stdout};

/// `keyward demo` finishes and narrates each step.
#[test]
fn demo_runs() -> Result<()> {
    let start = std::time::Instant::now();
    let o = keyward(&["demo"]);
    ensure!(o.status.success(), "{}", stderr(&o));
    let text = stdout(&o);
    ensure!(
        text.contains("refused, daily limit reached")
            && text.contains("KeyExpired")
            && text.contains("revoked the key")
    );
    ensure!(text.contains("the agent stopped: the session key expired"));
    ensure!(text.contains("daily gas budget of 0.01 ETH"));
    // The pause and the step-up, in words.
    ensure!(text.contains("the owner paused the second agent's key") && text.contains("the owner resumed the key"));
    ensure!(text.contains("the agent's next run is refused") && text.contains("is paused by the account's owner"));
    ensure!(text.contains("refused without the owner's co-signature") && text.contains("needs 1 co-signature(s)"));
    ensure!(text.contains("with the owner's co-signature over the operation"));
    ensure!(start.elapsed().as_secs() < 30);
    // --json: one JSON object per step, in order, with transaction hashes and the reason of each refusal.
    let o = keyward(&["--json", "demo"]);
    ensure!(o.status.success(), "{}", stderr(&o));
    let steps: Vec<serde_json::Value> = stdout(&o).lines().map(serde_json::from_str).collect::<Result<_, _>>()?;
    let actions: Vec<&str> = steps.iter().filter_map(|v| v["action"].as_str()).collect();
    // The agent pays three times, is refused by the daily limit until the key expires, then stops by itself.
    let agent: Vec<&str> = actions.iter().copied().skip(2).take_while(|a| *a != "stopped").collect();
    ensure!(agent[..3] == ["paid", "paid", "paid"] && agent[3..].iter().all(|a| *a == "refused") && agent.len() > 3);
    let stop = 2 + agent.len();
    ensure!(actions[..2] == ["started", "delegatedAndGranted"], "{actions:?}");
    ensure!(
        actions[stop..]
            == [
                "stopped",
                "policy",
                "refused",
                "revoked",
                "watched",
                // The second agent: paid, paused (its next run refused), resumed (it pays again), then a payment
                // above its step-up threshold refused without the owner's co-signature and accepted with it.
                "grantedStepUp",
                "paid",
                "paused",
                "refused",
                "resumed",
                "paid",
                "stepUpRefused",
                "coSigned"
            ],
        "{actions:?}"
    );
    let is_tx = |v: &serde_json::Value| v["tx"].as_str().is_some_and(|t| t.len() == 66 && t.starts_with("0x"));
    ensure!(steps.iter().filter(|v| v["action"] == "paid").all(is_tx) && is_tx(&steps[1]) && is_tx(&steps[stop + 3]));
    let refusals = &steps[5..stop];
    ensure!(refusals.iter().all(|v| v["reason"] == "daily limit reached"
        && v["error"].as_str().is_some_and(|e| e.contains("SpendLimitExceeded"))
        && v["revert"].as_str().is_some_and(|e| e.contains("SpendLimitExceeded"))));
    // Chain time: the last refusal is at most at the expiry (valid through its second), the stop after it.
    let expires_in = 300;
    ensure!(refusals.iter().all(|v| v["at"].as_u64().is_some_and(|t| t <= expires_in)));
    ensure!(steps[stop]["reason"] == "the session key expired" && steps[stop]["at"].as_u64() > Some(expires_in));
    ensure!(steps[stop + 1]["spentTodayWei"] == steps[stop + 1]["dailyLimitWei"], "{}", steps[stop + 1]);
    let after = &steps[stop + 2];
    ensure!(after["reason"] == "key expired" && after["error"].as_str().is_some_and(|e| e.contains("KeyExpired")));
    // One event for the grant (its three logs), three uses, the revocation.
    ensure!(steps[stop + 4]["uses"] == 3 && steps[stop + 4]["events"] == 5, "{}", steps[stop + 4]);
    // The grant carries the gas budget (GAS_BUDGET flag and setGasBudget in the same batch), and step 4 shows it.
    ensure!(steps[1]["gasBudgetPerDayWei"] == "10000000000000000", "{}", steps[1]);
    ensure!(steps[stop + 1]["gasBudgetPerDayWei"] == "10000000000000000", "{}", steps[stop + 1]);
    ensure!(steps[stop + 1]["gasChargedTodayWei"].is_string(), "{}", steps[stop + 1]);
    // The pause: the owner's transactions, and the refusal typed and in words (the agent retries next run).
    let second = &steps[stop + 5..];
    ensure!(is_tx(&second[0]) && is_tx(&second[2]) && is_tx(&second[4]), "{second:?}");
    ensure!(second[2]["keyHash"] == second[0]["keyHash"] && second[4]["keyHash"] == second[0]["keyHash"]);
    let paused = &second[3];
    ensure!(paused["reason"] == "key paused" && paused["retry"]["kind"] == "nextRun", "{paused}");
    ensure!(paused["error"].as_str().is_some_and(|e| e.contains("KeyIsPaused")), "{paused}");
    ensure!(paused["words"].as_str().is_some_and(|w| w.contains("paused by the account's owner")), "{paused}");
    // The step-up: refused without a co-signature (none counted of one), accepted with the root's.
    let refused = &second[6];
    ensure!(refused["error"].as_str().is_some_and(|e| e.contains("CoSignaturesRequired")), "{refused}");
    ensure!(is_tx(&second[7]) && second[7]["coSigner"] == "root", "{}", second[7]);
    ensure!(second[7]["valueWei"] == "3000000000000000" && second[0]["stepUpWei"] == "2000000000000000");
    Ok(())
}

/// `keyward demo --bundler`: the same story with the agent paying through Alto, refused by the same daily cap in
/// Alto's estimate (nothing sent), stopping at the expiry.
#[test]
fn demo_runs_through_alto() -> Result<()> {
    let o = keyward(&["--json", "demo", "--bundler"]);
    ensure!(o.status.success(), "{}", stderr(&o));
    let steps: Vec<serde_json::Value> = stdout(&o).lines().map(serde_json::from_str).collect::<Result<_, _>>()?;
    let actions: Vec<&str> = steps.iter().filter_map(|v| v["action"].as_str()).collect();
    let agent: Vec<&str> = actions.iter().copied().skip(2).take_while(|a| *a != "stopped").collect();
    ensure!(agent.len() > 3 && agent[..3] == ["paid", "paid", "paid"] && agent[3..].iter().all(|a| *a == "refused"));
    // The first agent pays through Alto (the second one through handleOps: the chain is a day ahead of Alto's
    // clock by then).
    let first = |v: &&serde_json::Value| v["step"].as_str().is_some_and(|n| n.starts_with("3."));
    ensure!(
        steps.iter().filter(first).filter(|v| v["action"] == "paid").all(|v| v["route"] == "the Alto bundler"),
        "{steps:?}"
    );
    let refused = steps.iter().find(|v| v["action"] == "refused").cloned().unwrap_or_default();
    ensure!(refused["revert"].as_str().is_some_and(|e| e.contains("SpendLimitExceeded")), "{refused}");
    ensure!(refused["retry"]["kind"] == "at", "{refused}");
    ensure!(actions.contains(&"stopped") && actions.contains(&"watched"), "{actions:?}");
    // The pause and the step-up, through Alto too.
    ensure!(actions.ends_with(&["paused", "refused", "resumed", "paid", "stepUpRefused", "coSigned"]), "{actions:?}");
    Ok(())
}
