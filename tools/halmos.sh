#!/usr/bin/env bash
# Symbolic checks: halmos (pinned, from PyPI, in .venv-halmos) proves every `check_` function of the
# `*SymbolicTest` contracts in test/symbolic/ for all inputs. It builds into target/halmos so forge's own
# out/ and cache/ stay untouched. Fails when a check fails, or when fewer checks ran than the files declare.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
venv="$root/.venv-halmos"
# shellcheck source=tools/venv.sh
. "$root/tools/venv.sh"
pinned_tool "$venv" halmos 0.3.3 halmos
export FOUNDRY_OUT=target/halmos/out FOUNDRY_CACHE_PATH=target/halmos/cache
log=$(mktemp)
trap 'rm -f "$log"' EXIT
status=0
"$venv/bin/halmos" --forge-build-out "$FOUNDRY_OUT" --match-contract 'SymbolicTest$' --no-status 2>&1 | tee "$log" || status=$?
declared=$(grep -ho 'function check_' test/symbolic/*.sol | wc -l)
passed=$(grep -c 'PASS.*check_' "$log" || true)
if [ "$status" -ne 0 ] || grep -q 'FAIL' "$log" || [ "$passed" -ne "$declared" ]; then
  echo "halmos: $passed of $declared symbolic checks passed" >&2
  exit 1
fi
echo "halmos: all $declared symbolic checks proved"
