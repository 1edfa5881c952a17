// ERC-7710 redemption built by MetaMask's smart-accounts-kit, run by a Keyward account on anvil (issue 15).
//
// The kit's own encoders build `redeemDelegations(bytes[],bytes32[],bytes[])` and its ERC-7579 executions (single
// and batch) for a Keyward permission context, `abi.encode(address account, bytes32 keyHash)`; the delegate key sends
// the calldata to the account. Checked: a payment runs under the key; a self-call outside the key's scope, an expired
// key (valid at its expiration second, refused one second later), a context naming another key or another account,
// and a caller that is no key are refused, with the account's custom error, and move nothing. Also checked: the kit's
// `sendTransactionWithDelegation` refuses any delegationManager but MetaMask's for the chain (anvil runs with
// Sepolia's chain id so the kit has an environment for it), and sends to the account once that is overridden.
//
// Run: `make test-js` (needs out-release/, `make release`). Exit code non-zero on any failure.

import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { readFileSync } from "node:fs";
import { createServer } from "node:net";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

// The kit reports usage to MetaMask unless DO_NOT_TRACK (or CI) is set; a test sends nothing anywhere. It reads the
// variable lazily, on its first call; the kit is imported below, after this line, to be safe.
process.env.DO_NOT_TRACK = "1";

const {
  createPublicClient,
  createTestClient,
  createWalletClient,
  decodeErrorResult,
  defineChain,
  encodeAbiParameters,
  encodeFunctionData,
  http,
  keccak256,
  parseEther,
  parseEventLogs,
} = await import("viem");
const { generatePrivateKey, privateKeyToAccount } = await import("viem/accounts");
const { ExecutionMode, createExecution, getSmartAccountsEnvironment, PREFERRED_VERSION } = await import(
  "@metamask/smart-accounts-kit"
);
const { DelegationManager } = await import("@metamask/smart-accounts-kit/contracts");
const { erc7710WalletActions } = await import("@metamask/smart-accounts-kit/actions");
const { encodeExecutionCalldatas, overrideDeployedEnvironment } = await import("@metamask/smart-accounts-kit/utils");

const ROOT = join(dirname(fileURLToPath(import.meta.url)), "..", "..");
const ANVIL = join(ROOT, "node_modules/@foundry-rs/anvil-linux-amd64/bin/anvil");
const artifact = (p) => JSON.parse(readFileSync(join(ROOT, "out-release", p), "utf8"));
const keyward = artifact("Keyward.sol/Keyward.json");
// The account's whole external ABI (the core's functions, the extension's, every custom error).
const abi = artifact("IKeyward.sol/IKeyward.json").abi;

// Sepolia's id: the kit pins a DelegationManager for it (see the sendTransactionWithDelegation check).
const CHAIN_ID = 11155111;
// anvil's first default account (its well-known test key): funds everyone with plain transfers.
const FUNDER = privateKeyToAccount("0xac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80");
const SECP256K1 = 2;
const GAS = 1_000_000n;

// ---------------------------------------------------------------------------------------------------------------
// anvil on 127.0.0.1, a random free port, killed at exit
// ---------------------------------------------------------------------------------------------------------------

const freePort = () =>
  new Promise((resolve, reject) => {
    const s = createServer();
    s.once("error", reject);
    s.listen(0, "127.0.0.1", () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
  });

const port = await freePort();
const anvil = spawn(
  ANVIL,
  ["--host", "127.0.0.1", "--port", String(port), "--hardfork", "osaka", "--chain-id", String(CHAIN_ID), "--silent"],
  { stdio: ["ignore", "ignore", "inherit"] },
);
let anvilExited = false;
anvil.on("exit", () => (anvilExited = true));
process.on("exit", () => anvil.kill());
// A failed assertion rejects the top-level await: node prints it and exits 1 (the exit handler stops anvil).
for (const sig of ["SIGINT", "SIGTERM"]) process.on(sig, () => process.exit(1));

const chain = defineChain({
  id: CHAIN_ID,
  name: "anvil (Sepolia's chain id)",
  nativeCurrency: { name: "Ether", symbol: "ETH", decimals: 18 },
  rpcUrls: { default: { http: [`http://127.0.0.1:${port}`] } },
});
const transport = http(`http://127.0.0.1:${port}`);
const pub = createPublicClient({ chain, transport, pollingInterval: 50 });
const testClient = createTestClient({ chain, transport, mode: "anvil" });
const wallet = (account) => createWalletClient({ account, chain, transport });

for (let i = 0; ; i++) {
  if (anvilExited) throw new Error("anvil exited before it answered");
  try {
    await pub.getChainId();
    break;
  } catch (e) {
    if (i > 200) throw e;
    await new Promise((r) => setTimeout(r, 50));
  }
}

// ---------------------------------------------------------------------------------------------------------------
// Helpers
// ---------------------------------------------------------------------------------------------------------------

const mined = async (hash) => pub.waitForTransactionReceipt({ hash });

const fund = async (to, value) => {
  const r = await mined(await wallet(FUNDER).sendTransaction({ to, value }));
  assert.equal(r.status, "success");
};

const newEoa = async (value = parseEther("1")) => {
  const eoa = privateKeyToAccount(generatePrivateKey());
  await fund(eoa.address, value);
  return eoa;
};

/** A secp256k1 key as Keyward registers it: `abi.encode(address)`, hash `keccak256(abi.encode(type, keccak256(pk)))`. */
const secp256k1Key = (address) => {
  const publicKey = encodeAbiParameters([{ type: "address" }], [address]);
  const keyHash = keccak256(encodeAbiParameters([{ type: "uint8" }, { type: "bytes32" }], [SECP256K1, keccak256(publicKey)]));
  return { key: { keyType: SECP256K1, publicKey }, keyHash };
};

/** Settings word: hook (bits 0-159, none here), expiration (160-199, 0 = never), not admin. */
const settings = (expiration) => BigInt(expiration) << 160n;

/** A Keyward permission context: `abi.encode(address account, bytes32 keyHash)` (what an ERC-7715 response carries). */
const contextFor = (account, keyHash) =>
  encodeAbiParameters([{ type: "address" }, { type: "bytes32" }], [account, keyHash]);

/** The root's batch, sent by the EOA to itself (optionally with its EIP-7702 authorization in the same transaction). */
const rootExecute = async (root, calls, authorizationList) => {
  const data = encodeFunctionData({
    abi,
    functionName: "execute",
    args: [{ calls: calls.map(([to, value, data]) => ({ to, value, data })), revertOnFailure: true }],
  });
  const r = await mined(await wallet(root).sendTransaction({ to: root.address, data, authorizationList, gas: GAS }));
  assert.equal(r.status, "success", "root execute");
  return r;
};

const grantCall = (k, s) => [
  "0x0000000000000000000000000000000000000000",
  0n,
  encodeFunctionData({ abi, functionName: "grant", args: [k.key, s] }),
];

/** A fresh EOA delegated to Keyward by EIP-7702 (viem's signAuthorization), granting `grants` in the same transaction. */
const newAccount = async (grants) => {
  const root = await newEoa(parseEther("10"));
  const authorization = await wallet(root).signAuthorization({ contractAddress: implementation, executor: "self" });
  await rootExecute(root, grants.map(([k, s]) => grantCall(k, s)), [authorization]);
  const code = await pub.getCode({ address: root.address });
  assert.equal(code, `0xef0100${implementation.slice(2).toLowerCase()}`, "EIP-7702 delegation designator");
  return root.address;
};

/** The kit's encoding of one redemption per entry: `entries` = [[context, mode, executions], ...]. */
const kitRedeem = (entries) =>
  DelegationManager.encode.redeemDelegations({
    delegations: entries.map(([context]) => context),
    modes: entries.map(([, mode]) => mode),
    executions: entries.map(([, , executions]) => executions),
  });

/** The delegate sends `data` to `to`; the receipt, and when it reverted the decoded custom error (from its trace). */
const send = async (from, to, data) => {
  const receipt = await mined(await wallet(from).sendTransaction({ to, data, gas: GAS }));
  if (receipt.status === "success") return { receipt };
  const trace = await pub.request({
    method: "debug_traceTransaction",
    params: [receipt.transactionHash, { tracer: "callTracer" }],
  });
  return { receipt, error: decodeErrorResult({ abi, data: trace.output }) };
};

const balance = (address) => pub.getBalance({ address });

const refused = async (label, from, to, data, errorName, args) => {
  const watched = [to, payee, payee2];
  const before = await Promise.all(watched.map(balance));
  const { receipt, error } = await send(from, to, data);
  assert.equal(receipt.status, "reverted", `${label}: must be refused`);
  assert.equal(error.errorName, errorName, `${label}: error`);
  if (args) assert.deepEqual(error.args, args, `${label}: error arguments`);
  const after = await Promise.all(watched.map(balance));
  assert.deepEqual(after, before, `${label}: nothing moved`);
  console.log(`ok - ${label}: refused ${errorName}`);
};

// ---------------------------------------------------------------------------------------------------------------
// Setup: Keyward's release bytecode, two accounts, the delegate key on both
// ---------------------------------------------------------------------------------------------------------------

const deployer = await newEoa();
const deployReceipt = await mined(
  await wallet(deployer).deployContract({ abi: keyward.abi, bytecode: keyward.bytecode.object }),
);
const implementation = deployReceipt.contractAddress;
assert.ok(implementation, "Keyward deployed");

const t0 = Number((await pub.getBlock()).timestamp);
const delegate = await newEoa(); // the dapp's session key: it signs and pays for its own redemptions
const other = await newEoa(); // another key of the same account
const stranger = await newEoa(); // no key at all
const expiring = await newEoa(); // a key with an expiry
const D = secp256k1Key(delegate.address);
const O = secp256k1Key(other.address);
const E = secp256k1Key(expiring.address);
const expiry = t0 + 1000;

const account = await newAccount([
  [D, settings(t0 + 86400)],
  [O, settings(t0 + 86400)],
  [E, settings(expiry)],
]);
const accountB = await newAccount([[D, settings(t0 + 86400)]]); // the same delegate, on another account
const payee = (await newEoa(0n)).address;
const payee2 = (await newEoa(0n)).address;
const ctx = contextFor(account, D.keyHash);

// ---------------------------------------------------------------------------------------------------------------
// Accepted: single, then single + batch in one redemption
// ---------------------------------------------------------------------------------------------------------------

{
  const data = kitRedeem([[ctx, ExecutionMode.SingleDefault, [createExecution({ target: payee, value: parseEther("1") })]]]);
  const [acct0, pay0] = await Promise.all([balance(account), balance(payee)]);
  const { receipt } = await send(delegate, account, data);
  assert.equal(receipt.status, "success", "single redemption");
  assert.equal(await balance(payee), pay0 + parseEther("1"), "payee paid");
  assert.equal(await balance(account), acct0 - parseEther("1"), "paid by the account");
  const used = parseEventLogs({ abi, logs: receipt.logs, eventName: "KeyUsed" });
  assert.equal(used.length, 1, "one KeyUsed");
  assert.equal(used[0].address.toLowerCase(), account.toLowerCase());
  assert.equal(used[0].args.keyHash, D.keyHash, "KeyUsed names the delegate's key");
  console.log("ok - kit-encoded single execution (ExecutionMode.SingleDefault) pays the payee under the key");
}

{
  // The kit picks the single encoding for one execution and the batch encoding for several
  // (encodeExecutionCalldata); a batch mode therefore goes with two or more executions.
  const batch = [
    createExecution({ target: payee, value: parseEther("0.25") }),
    createExecution({ target: payee2, value: parseEther("0.5"), callData: "0x" }),
  ];
  const single = [createExecution({ target: payee2, value: 7n })];
  const [encodedSingle, encodedBatch] = encodeExecutionCalldatas([single, batch]);
  assert.equal(encodedSingle.length, 2 + 2 * 52, "single: packed target ++ value ++ callData");
  assert.ok(encodedBatch.startsWith(`0x${"0".repeat(62)}20`), "batch: abi.encode(Execution[])");
  const data = kitRedeem([
    [ctx, ExecutionMode.SingleDefault, single],
    [ctx, ExecutionMode.BatchDefault, batch],
  ]);
  const [acct0, pay0, pay20] = await Promise.all([balance(account), balance(payee), balance(payee2)]);
  const { receipt } = await send(delegate, account, data);
  assert.equal(receipt.status, "success", "single + batch redemption");
  assert.equal(await balance(payee), pay0 + parseEther("0.25"));
  assert.equal(await balance(payee2), pay20 + parseEther("0.5") + 7n);
  assert.equal(await balance(account), acct0 - parseEther("0.75") - 7n);
  assert.equal(parseEventLogs({ abi, logs: receipt.logs, eventName: "KeyUsed" }).length, 2, "KeyUsed per execution");
  console.log("ok - kit-encoded single + batch (ExecutionMode.BatchDefault) in one redeemDelegations");
}

// ---------------------------------------------------------------------------------------------------------------
// Refused
// ---------------------------------------------------------------------------------------------------------------

const pay = (context, value = parseEther("0.1")) =>
  kitRedeem([[context, ExecutionMode.SingleDefault, [createExecution({ target: payee, value })]]]);

{
  // Outside the key's scope: a non-admin key making the account call itself (here: making itself admin).
  const escalate = encodeFunctionData({ abi, functionName: "update", args: [D.keyHash, settings(t0 + 86400) | (1n << 200n)] });
  const data = kitRedeem([[ctx, ExecutionMode.SingleDefault, [createExecution({ target: account, callData: escalate })]]]);
  await refused("self-call outside the key's scope", delegate, account, data, "OnlyAdminCanSelfCall");
  const s = await pub.readContract({ address: account, abi, functionName: "getKeySettings", args: [D.keyHash] });
  assert.equal(s, settings(t0 + 86400), "settings unchanged");
  // The batch form of the same call, behind a payment the key may make: all or nothing.
  const batch = kitRedeem([
    [
      ctx,
      ExecutionMode.BatchDefault,
      [createExecution({ target: payee, value: 1n }), createExecution({ target: account, callData: escalate })],
    ],
  ]);
  await refused("batch with a self-call (payment first)", delegate, account, batch, "OnlyAdminCanSelfCall");
}

await refused("context for another key of the account", delegate, account, pay(contextFor(account, O.keyHash)), "InvalidPermissionContext", [0n]);
await refused("another key redeeming the delegate's context", other, account, pay(ctx), "InvalidPermissionContext", [0n]);
await refused(
  "context for another account (same delegate key there)",
  delegate,
  account,
  pay(contextFor(accountB, D.keyHash)),
  "InvalidPermissionContext",
  [0n],
);
await refused("this account's context replayed on another account", delegate, accountB, pay(ctx), "InvalidPermissionContext", [0n]);
await refused(
  "second entry's context for another key (first entry valid)",
  delegate,
  account,
  kitRedeem([
    [ctx, ExecutionMode.SingleDefault, [createExecution({ target: payee, value: 1n })]],
    [contextFor(account, O.keyHash), ExecutionMode.SingleDefault, [createExecution({ target: payee, value: 1n })]],
  ]),
  "InvalidPermissionContext",
  [1n],
);
await refused("a caller that is no key", stranger, account, pay(ctx), "Unauthorized");
await refused(
  "ExecutionMode.SingleTry (not the default exec type)",
  delegate,
  account,
  kitRedeem([[ctx, ExecutionMode.SingleTry, [createExecution({ target: payee, value: 1n })]]]),
  "UnsupportedRedemptionMode",
  [ExecutionMode.SingleTry],
);

{
  // Control for the account binding: the context for account B, sent to B, runs there.
  const before = await balance(payee);
  const { receipt } = await send(delegate, accountB, pay(contextFor(accountB, D.keyHash)));
  assert.equal(receipt.status, "success", "B's own context on B");
  assert.equal(await balance(payee), before + parseEther("0.1"));
  console.log("ok - control: the other account's context runs on that account");
}

// Expiry: the key acts through its expiration second, and is refused the second after.
{
  const ctxE = contextFor(account, E.keyHash);
  await testClient.setNextBlockTimestamp({ timestamp: BigInt(expiry) });
  const before = await balance(payee);
  const { receipt } = await send(expiring, account, pay(ctxE, 5n));
  assert.equal(receipt.status, "success", "valid at its expiration second");
  assert.equal((await pub.getBlock({ blockNumber: receipt.blockNumber })).timestamp, BigInt(expiry));
  assert.equal(await balance(payee), before + 5n);
  console.log("ok - expiring key: redeemed at its expiration second");
  await testClient.setNextBlockTimestamp({ timestamp: BigInt(expiry + 1) });
  await refused("expiring key one second after its expiration", expiring, account, pay(ctxE, 5n), "KeyExpired", [expiry]);
}

// ---------------------------------------------------------------------------------------------------------------
// The kit's sendTransactionWithDelegation: pinned to MetaMask's DelegationManager for the chain
// ---------------------------------------------------------------------------------------------------------------

{
  const env = getSmartAccountsEnvironment(CHAIN_ID);
  assert.notEqual(env.DelegationManager.toLowerCase(), account.toLowerCase());
  const client = wallet(delegate).extend(erc7710WalletActions());
  const args = { to: payee, value: 3n, permissionContext: ctx, delegationManager: account, gas: GAS };
  await assert.rejects(client.sendTransactionWithDelegation(args), /Invalid DelegationManager: expected/);
  console.log(`ok - sendTransactionWithDelegation refuses the account as delegationManager (pins ${env.DelegationManager})`);
  // With the chain's environment overridden to name this account, the same action sends to the account and runs.
  overrideDeployedEnvironment(CHAIN_ID, PREFERRED_VERSION, { ...env, DelegationManager: account });
  const before = await balance(payee);
  const receipt = await mined(await client.sendTransactionWithDelegation(args));
  assert.equal(receipt.status, "success");
  assert.equal(receipt.to.toLowerCase(), account.toLowerCase(), "sent to the account");
  assert.equal(await balance(payee), before + 3n);
  console.log("ok - with overrideDeployedEnvironment naming the account, sendTransactionWithDelegation runs on Keyward");
}

console.log("metamask-7710: all passed");
// anvil (and the kit's idle analytics queue) would keep the event loop alive; the exit handler stops anvil.
process.exit(0);
