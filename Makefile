# Keyward: one entry point for setup, build, test, lint and demo.
# Needs only Rust (cargo), Node >= 20 and npm; everything else comes from npm (see package.json).

SHELL := /bin/bash
.DEFAULT_GOAL := test

PLATFORM := $(shell node -p "process.platform + '-' + (process.arch === 'x64' ? 'amd64' : process.arch)")
# The native Foundry binaries: the npm wrappers in node_modules/.bin swallow exit codes.
FOUNDRY_BIN := $(CURDIR)/node_modules/@foundry-rs
FORGE := $(FOUNDRY_BIN)/forge-$(PLATFORM)/bin/forge
ANVIL := $(FOUNDRY_BIN)/anvil-$(PLATFORM)/bin/anvil
CAST := $(FOUNDRY_BIN)/cast-$(PLATFORM)/bin/cast
export ANVIL_BIN := $(ANVIL)
export FOUNDRY_PROFILE ?= default

STAMP := node_modules/.keyward-setup

.PHONY: setup release build test test-js verify artifacts demo invariants lint fmt snapshot clean versions

## setup: install the pinned toolchain and Solidity deps (npm ci); quick when already done
setup: $(STAMP)

$(STAMP): package.json package-lock.json
	npm ci --no-audit --no-fund --loglevel=error
	@$(FORGE) --version | head -1
	@touch $@

versions: setup
	@$(FORGE) --version | head -1; $(ANVIL) --version | head -1; $(CAST) --version | head -1; tools/solc --version | tail -1

## release: the bytecode that ships: contracts/ through the IR pipeline into out-release/ (tests deploy it)
release: setup
	FOUNDRY_PROFILE=release $(FORGE) build --skip test --skip script

## build: compile contracts (release and test builds) and crates
build: release
	$(FORGE) build
	cargo build --workspace --all-targets --all-features

## test: everything: solc adapter, forge tests, cargo tests, symbolic checks
test: release
	tools/test-solc.sh
	$(FORGE) build
	tools/artifacts.sh check
	$(FORGE) test --no-match-contract 'RustSignaturesTest|ERC7562Test'
	ERC7562_REQUIRE_TRACER=true $(FORGE) test --match-path test/ERC7562.t.sol -vvv
	cargo test --workspace --all-features -- --include-ignored
	$(FORGE) test --match-contract RustSignaturesTest
	node test/js/metamask-7710.mjs
	tools/halmos.sh

## test-js: MetaMask's smart-accounts-kit encodes ERC-7710 redeemDelegations for a Keyward context; the delegate
## sends it to the account on an anvil the script starts itself (needs the release build)
test-js: release
	node test/js/metamask-7710.mjs

## verify: the halmos symbolic checks of test/symbolic/ alone (about 20 minutes on 2 cores since the pause, schedule and redemption paths: the no-self-call checks explore 4,700-19,500 paths each; halmos is pinned, from PyPI)
verify: setup
	tools/halmos.sh

## artifacts: refresh the bytecode the Rust crates embed
artifacts: release
	$(FORGE) build
	tools/artifacts.sh write

## demo: `keyward demo`: a session key on a local anvil it starts itself (delegate and grant in one transaction,
## an agent paying until the daily limit and then the expiry stop it, revoke)
demo: setup
	cargo run -q -p keyward-cli -- demo

## invariants: the invariant suites under several fixed seeds (CI runs this with the `ci` profile's depth)
invariants: release
	for seed in 0x1 0x2a 0xdecafbad; do $(FORGE) test --match-test invariant --fuzz-seed $$seed || exit 1; done

## lint: formatting, clippy, and slither (every medium/high finding must be triaged in tools/slither-triage.json)
lint: setup
	$(FORGE) fmt --check
	cargo fmt --all --check
	cargo clippy --workspace --all-targets --all-features -- -D warnings
	tools/slither.sh

## fmt: format Solidity and Rust
fmt: setup
	$(FORGE) fmt
	cargo fmt --all

## snapshot: refresh the committed gas snapshots (callee gas, then whole-transaction gas)
snapshot: release
	$(FORGE) test --match-contract GasTest
	GAS_GROUP=KeywardTx $(FORGE) test --isolate --match-contract GasTest

clean:
	rm -rf out cache out-release cache-release target node_modules
