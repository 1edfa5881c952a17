#!/usr/bin/env bash
# The Rust crates embed the contracts' bytecode (crates/keyward/artifacts/) so they build without forge.
#   tools/artifacts.sh write   copy it from a fresh forge build (out/)
#   tools/artifacts.sh check   fail when a committed copy no longer matches the fresh build
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
dir="$root/crates/keyward/artifacts"
# name:field  (creation bytecode for Keyward, runtime code for PolicyHook, which is placed with anvil_setCode)
artifacts="Keyward:bytecode PolicyHook:deployedBytecode"
fresh() { node -p "require('$root/out/$1.sol/$1.json').$2.object"; }
case "${1:-}" in
  write)
    for a in $artifacts; do
      fresh "${a%%:*}" "${a##*:}" > "$dir/${a%%:*}.${a##*:}.hex"
      echo "artifacts: wrote $dir/${a%%:*}.${a##*:}.hex"
    done ;;
  check)
    for a in $artifacts; do
      if ! cmp -s <(fresh "${a%%:*}" "${a##*:}") "$dir/${a%%:*}.${a##*:}.hex"; then
        echo "artifacts: crates/keyward/artifacts/${a%%:*}.${a##*:}.hex is stale: run 'make artifacts' and commit it" >&2
        exit 1
      fi
    done
    echo "artifacts: Rust-side bytecode matches the fresh forge build" ;;
  *) echo "usage: tools/artifacts.sh write|check" >&2; exit 2 ;;
esac
