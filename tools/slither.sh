#!/usr/bin/env bash
# Static analysis: slither (pinned, from PyPI, in .venv-slither) over contracts/, medium and high impact only.
# Every finding must be explained in tools/slither-triage.json; a new one fails the build.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
venv="$root/.venv-slither"
# shellcheck source=tools/venv.sh
. "$root/tools/venv.sh"
pinned_tool "$venv" slither-analyzer 0.11.6 slither
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
report="$tmp/slither.json" # slither refuses to overwrite an existing file
"$venv/bin/slither" . --foundry-compile-all --filter-paths "node_modules|test/|script/" \
  --exclude-informational --exclude-low --exclude-optimization --json "$report" >/dev/null 2>&1 || true
python3 - "$report" "$root/tools/slither-triage.json" <<'PY'
import json, re, sys
report = json.load(open(sys.argv[1]))
if not report.get("success", False):
    sys.exit("slither: the analysis did not run: " + str(report.get("error")))
triage = {(t["check"], t["finding"]): t["reason"] for t in json.load(open(sys.argv[2]))}
seen, new = set(), []
for d in report["results"].get("detectors", []):
    first = d["description"].strip().splitlines()[0]
    key = (d["check"], re.sub(r"\s*\(contracts/[^)]*\)", "", first).strip())
    seen.add(key)
    if key not in triage:
        new.append(f"[{d['impact']}] {d['check']}: {key[1]}")
if new:
    sys.exit("slither: findings without a triage entry (tools/slither-triage.json):\n  " + "\n  ".join(new))
stale = [k for k in triage if k not in seen]
print(f"slither: {len(seen)} medium/high findings, all triaged" + (f"; {len(stale)} triage entries no longer match" if stale else ""))
PY
