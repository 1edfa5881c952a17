#!/usr/bin/env bash
# The Rust crates embed Keyward's creation bytecode (crates/keyward/artifacts/) so they build without forge.
#   tools/artifacts.sh write   copy it from a fresh forge build (out/)
#   tools/artifacts.sh check   fail when the committed copy no longer matches the fresh build
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
dir="$root/crates/keyward/artifacts"
fresh() { node -p "require('$root/out/Keyward.sol/Keyward.json').bytecode.object"; }
case "${1:-}" in
  write) fresh > "$dir/Keyward.bytecode.hex"; echo "artifacts: wrote $dir/Keyward.bytecode.hex" ;;
  check)
    if ! cmp -s <(fresh) "$dir/Keyward.bytecode.hex"; then
      echo "artifacts: crates/keyward/artifacts/Keyward.bytecode.hex is stale: run 'make artifacts' and commit it" >&2
      exit 1
    fi
    echo "artifacts: Rust-side bytecode matches the fresh forge build" ;;
  *) echo "usage: tools/artifacts.sh write|check" >&2; exit 2 ;;
esac
