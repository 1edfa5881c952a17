#!/usr/bin/env bash
# Symbolic checks: halmos (pinned, from PyPI, in .venv-halmos) proves every `check_` function of the
# `*SymbolicTest` contracts in test/symbolic/ for all inputs. It builds into target/halmos so forge's own
# out/ and cache/ stay untouched. Fails when a check fails, or when fewer checks ran than the files declare.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
venv="$root/.venv-halmos"
version=0.3.3
if ! "$venv/bin/halmos" --version 2>/dev/null | grep -qx "halmos $version"; then
  python3 -m venv "$venv"
  "$venv/bin/pip" install --quiet --disable-pip-version-check "halmos==$version"
fi
plat=$(node -p "process.platform + '-' + (process.arch === 'x64' ? 'amd64' : process.arch)")
export PATH="$root/node_modules/@foundry-rs/forge-$plat/bin:$PATH"
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
