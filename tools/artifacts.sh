#!/usr/bin/env bash
# The Rust crates embed contract bytecode (crates/*/artifacts/) so they build without forge.
#   tools/artifacts.sh write   copy it from a fresh forge build (release contracts from out-release/, test helpers
#                              from out/)
#   tools/artifacts.sh check   fail when a committed copy no longer matches the fresh build
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
# name:field:crate:out  (creation bytecode; Keyward and the PolicyHook are the release build, the IR pipeline's
# out-release/, the bytecode that ships; the test token and paymaster come from the default build)
artifacts="Keyward:bytecode:keyward:out-release PolicyHook:bytecode:keyward:out-release MockERC20:bytecode:keyward-testkit:out SponsorPaymaster:bytecode:keyward-testkit:out MockHook:bytecode:keyward-testkit:out"
fresh() { node -p "require('$root/$3/$1.sol/$1.json').$2.object"; }
case "${1:-}" in
  write)
    for a in $artifacts; do
      IFS=: read -r name field crate out <<< "$a"
      mkdir -p "$root/crates/$crate/artifacts"
      fresh "$name" "$field" "$out" > "$root/crates/$crate/artifacts/$name.$field.hex"
      echo "artifacts: wrote crates/$crate/artifacts/$name.$field.hex"
    done ;;
  check)
    for a in $artifacts; do
      IFS=: read -r name field crate out <<< "$a"
      if ! cmp -s <(fresh "$name" "$field" "$out") "$root/crates/$crate/artifacts/$name.$field.hex"; then
        echo "artifacts: crates/$crate/artifacts/$name.$field.hex is stale: run 'make artifacts' and commit it" >&2
        exit 1
      fi
    done
    # The Rust bindings come from the interface files: every external function of the contracts must be in them.
    # The account is Keyward plus KeywardExtension (its fallback DELEGATECALLs the extension), so IKeyward is checked
    # against the union of both; Keyward's creation code contains the extension's, so only Keyward is embedded. The
    # same holds for PolicyHook plus PolicyHookExtension against IPolicyHook and IHook.
    node -e '
      const ids = (n) => Object.keys(require(process.argv[1] + "/out/" + n + ".sol/" + n + ".json").methodIdentifiers);
      const receivers = ["onERC721Received(", "onERC1155Received(", "onERC1155BatchReceived("];
      const hookConstants = ["ANY_TARGET()", "ANY_SELECTOR()", "EMPTY_CALLDATA()", "VALUE_ARG()", "PERMIT2()",
        "ERC20_ETH()", "FLAGS()", "MAX_"];
      const pairs = [
        [["Keyward", "KeywardExtension"], ["IKeyward"], [...receivers, "EXTENSION()"]],
        [["PolicyHook", "PolicyHookExtension"], ["IPolicyHook", "IHook"], [...hookConstants, "EXTENSION()"]],
      ];
      let bad = [];
      for (const [contracts, ifaces, extra] of pairs) {
        const known = new Set(ifaces.flatMap(ids));
        for (const c of contracts) {
          for (const f of ids(c)) if (!known.has(f) && !extra.some((e) => f.startsWith(e))) bad.push(c + "." + f);
        }
      }
      // The other direction: a function in IKeyward that neither contract has would be a binding that reverts.
      const account = new Set(["Keyward", "KeywardExtension"].flatMap(ids));
      for (const f of ids("IKeyward")) if (!account.has(f)) bad.push("IKeyward." + f + " (in no contract)");
      const hook = new Set(["PolicyHook", "PolicyHookExtension"].flatMap(ids));
      for (const f of [...ids("IPolicyHook"), ...ids("IHook")]) if (!hook.has(f)) bad.push(f + " (in no PolicyHook contract)");
      if (bad.length) { console.error("artifacts: not in the interface files (the Rust ABI): " + bad.join(", ")); process.exit(1); }
    ' "$root"
    echo "artifacts: Rust-side bytecode and ABI match the fresh forge build" ;;
  *) echo "usage: tools/artifacts.sh write|check" >&2; exit 2 ;;
esac
