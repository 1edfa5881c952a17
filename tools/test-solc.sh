#!/usr/bin/env bash
# Tests the solc adapter (tools/solc): version line, forge compiling through it, a syntax error surfacing as a
# readable forge error, and two clean builds giving byte-identical bytecode.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
plat=$(node -p "process.platform + '-' + (process.arch === 'x64' ? 'amd64' : process.arch)")
# The native binary: the npm wrapper in node_modules/.bin exits 0 even when forge fails.
forge="$root/node_modules/@foundry-rs/forge-$plat/bin/forge"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
fail() { echo "test-solc: FAIL: $*" >&2; exit 1; }

# 1. --version: the line forge parses, with the pinned version.
pinned=$(node -p "require('$root/package.json').devDependencies.solc")
"$root/tools/solc" --version | grep -qx "Version: $pinned+commit\.[0-9a-f]*\..*" || fail "--version does not print Version: $pinned+commit..."
"$root/tools/solc" --bogus >/dev/null 2>&1 && fail "an unsupported flag must exit non-zero"

# 2. forge compiles through the adapter, resolving a remapped import from disk.
mkdir -p "$tmp/p/src"
cat > "$tmp/p/foundry.toml" <<TOML
[profile.default]
src = "src"
solc = "$root/tools/solc"
offline = true
evm_version = "osaka"
bytecode_hash = "none"
cbor_metadata = false
remappings = ["solady/=$root/node_modules/solady/src/"]
allow_paths = ["$root/node_modules"]
TOML
cat > "$tmp/p/src/A.sol" <<'SOL'
// SPDX-License-Identifier: MIT
pragma solidity ^0.8.30;
import {LibBit} from "solady/utils/LibBit.sol";
contract A { function f(uint256 x) external pure returns (uint256) { return LibBit.popCount(x); } }
SOL
(cd "$tmp/p" && "$forge" build >"$tmp/out.log" 2>&1) || { cat "$tmp/out.log"; fail "forge build through the adapter failed"; }
code=$(node -p "require('$tmp/p/out/A.sol/A.json').deployedBytecode.object")
[ ${#code} -gt 100 ] || fail "no deployed bytecode for A"
case "$code" in *a164736f6c6343*|*a264697066735822*) fail "bytecode carries a CBOR metadata tail";; esac

# 3. A syntax error is a readable forge error naming file and line.
printf '// SPDX-License-Identifier: MIT\npragma solidity ^0.8.30;\ncontract B { function g( }\n' > "$tmp/p/src/B.sol"
if (cd "$tmp/p" && "$forge" build >"$tmp/err.log" 2>&1); then fail "forge build accepted a syntax error"; fi
grep -q "Expected type name" "$tmp/err.log" || { cat "$tmp/err.log"; fail "the parser message is missing from forge output"; }
grep -q "src/B.sol:3" "$tmp/err.log" || { cat "$tmp/err.log"; fail "error does not name src/B.sol:3"; }
rm "$tmp/p/src/B.sol"

# 4. Two clean builds of the project give byte-identical bytecode.
if ls "$root"/contracts/*.sol >/dev/null 2>&1; then
  for n in 1 2; do
    (cd "$root" && "$forge" build --force --skip test --skip script --out "$tmp/out$n" --cache-path "$tmp/cache$n" >/dev/null 2>&1) || fail "project build $n failed"
    find "$tmp/out$n" -name '*.json' ! -name '*build-info*' -path '*.sol/*' | sort | while read -r f; do
      node -e "const j=require('$f'); process.stdout.write(j.bytecode.object + j.deployedBytecode.object + '\n')"
    done > "$tmp/bytecode$n"
  done
  [ -s "$tmp/bytecode1" ] || fail "no project bytecode collected"
  cmp -s "$tmp/bytecode1" "$tmp/bytecode2" || fail "two clean builds differ"
fi
echo "test-solc: ok (version $pinned, forge build, readable syntax error, reproducible bytecode)"
