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
    ensure!(text.contains("refused, daily limit reached") && text.contains("AA22") && text.contains("revoked the key"));
    ensure!(start.elapsed().as_secs() < 30);
    // --json: one JSON object per step, in order, with transaction hashes and the reason of each refusal.
    let o = keyward(&["--json", "demo"]);
    ensure!(o.status.success(), "{}", stderr(&o));
    let steps: Vec<serde_json::Value> = stdout(&o).lines().map(serde_json::from_str).collect::<Result<_, _>>()?;
    let actions: Vec<&str> = steps.iter().filter_map(|v| v["action"].as_str()).collect();
    ensure!(
        actions
            == ["started", "delegatedAndGranted", "paid", "paid", "paid", "refused", "refused", "revoked", "watched"],
        "{actions:?}"
    );
    let is_tx = |v: &serde_json::Value| v["tx"].as_str().is_some_and(|t| t.len() == 66 && t.starts_with("0x"));
    ensure!(steps.iter().filter(|v| v["action"] == "paid").all(is_tx) && is_tx(&steps[1]) && is_tx(&steps[7]));
    ensure!(
        steps[5]["reason"] == "daily limit reached"
            && steps[5]["error"].as_str().is_some_and(|e| e.contains("SpendLimitExceeded"))
    );
    ensure!(steps[6]["reason"] == "key expired" && steps[6]["error"].as_str().is_some_and(|e| e.contains("AA22")));
    ensure!(steps[8]["uses"] == 3 && steps[8]["events"] == 6, "{}", steps[8]);
    Ok(())
}
