#![doc = include_str!("../README.md")]

use std::path::{Path, PathBuf};

use alloy::{
    eips::BlockNumberOrTag,
    network::{EthereumWallet, TransactionBuilder},
    node_bindings::{Anvil, AnvilInstance},
    primitives::{Address, B256, Bytes, U256, hex},
    providers::{DynProvider, Provider, ProviderBuilder, ext::AnvilApi},
    rpc::types::TransactionRequest,
    signers::local::PrivateKeySigner,
    sol,
    sol_types::SolCall,
};
use keyward::{bindings::Call, client::Account, deploy, encode, userop::ENTRY_POINT_V08};

pub mod bundler;
pub use bundler::{AltoError, BundledTestnet, Bundler, BundlerOptions, BundlerRequest};

sol! {
    /// The test token's functions.
    interface ITestToken {
        function mint(address to, uint256 amount) external;
        function balanceOf(address owner) external view returns (uint256);
        function transfer(address to, uint256 amount) external returns (bool);
    }
}

const MOCK_ERC20: &str = include_str!("../artifacts/MockERC20.bytecode.hex");
const MOCK_HOOK: &str = include_str!("../artifacts/MockHook.bytecode.hex");

/// Runtime code of a hostile hook that reverts every callback (`PUSH0 PUSH0 REVERT`), for
/// [`Testnet::install_hook`].
pub const REVERTING_HOOK: [u8; 3] = [0x5f, 0x5f, 0xfd];
/// Runtime code of a hostile hook that burns all the gas it is given in every callback (`JUMPDEST PUSH0 JUMP`), for
/// [`Testnet::install_hook`].
pub const GAS_BURNING_HOOK: [u8; 3] = [0x5b, 0x5f, 0x56];

sol! {
    /// The recording hook's counters ([`Testnet::deploy_recording_hook`], the contracts' `test/utils/MockHook.sol`):
    /// `callCount(i)` is how many times callback `i` ran (3 `beforeExecute`, 4 `afterExecute`; the validation
    /// callbacks are views and record nothing).
    interface IRecordingHook {
        function callCount(uint256 callback) external view returns (uint256);
        function lastKeyHash() external view returns (bytes32);
    }
}
const SPONSOR_PAYMASTER: &str = include_str!("../artifacts/SponsorPaymaster.bytecode.hex");

sol! {
    /// The test paymaster's deposit function.
    interface ISponsorPaymaster {
        function deposit() external payable;
    }
}

/// Everything that can go wrong setting up or driving the local chain.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// No anvil binary was found.
    #[error(
        "anvil not found: set ANVIL_BIN, run `npm ci` in the Keyward checkout (node_modules/@foundry-rs), or install foundry so `anvil` is on PATH"
    )]
    AnvilNotFound,
    /// Reading an artifact failed.
    #[error("artifact {path}: {reason}")]
    Artifact {
        /// The file.
        path: PathBuf,
        /// What went wrong.
        reason: String,
    },
    /// An RPC call failed.
    #[error("rpc: {0}")]
    Rpc(String),
    /// A Keyward client call failed.
    #[error(transparent)]
    Keyward(#[from] keyward::Error),
}

fn rpc(e: impl std::fmt::Display) -> Error {
    Error::Rpc(e.to_string())
}

/// The anvil binary: `ANVIL_BIN`, then the native binary npm installs under `node_modules` (searched from the
/// current directory and from this crate's workspace upwards), then `anvil` on `PATH`.
pub fn anvil_path() -> Result<PathBuf, Error> {
    if let Some(p) = std::env::var_os("ANVIL_BIN") {
        return Ok(p.into());
    }
    let arch = if cfg!(target_arch = "x86_64") { "amd64" } else { "arm64" };
    let os = if cfg!(target_os = "macos") { "darwin" } else { "linux" };
    let rel = format!("node_modules/@foundry-rs/anvil-{os}-{arch}/bin/anvil");
    let starts = [std::env::current_dir().ok(), Some(PathBuf::from(env!("CARGO_MANIFEST_DIR")))];
    for start in starts.into_iter().flatten() {
        for dir in start.ancestors() {
            let p = dir.join(&rel);
            if p.exists() {
                return Ok(p);
            }
        }
    }
    std::env::var_os("PATH")
        .and_then(|paths| std::env::split_paths(&paths).map(|d| d.join("anvil")).find(|p| p.exists()))
        .ok_or(Error::AnvilNotFound)
}

fn entry_point_creation_code() -> Result<Bytes, Error> {
    let rel = "node_modules/@account-abstraction/contracts/artifacts/EntryPoint.json";
    let path = anvil_path()?
        .ancestors()
        .map(|d| d.join(rel))
        .chain(Path::new(env!("CARGO_MANIFEST_DIR")).ancestors().map(|d| d.join(rel)))
        .find(|p| p.exists())
        .ok_or_else(|| Error::Artifact { path: rel.into(), reason: "not found (run `npm ci`)".into() })?;
    let fail = |reason: String| Error::Artifact { path: path.clone(), reason };
    let json: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&path).map_err(|e| fail(e.to_string()))?)
            .map_err(|e| fail(e.to_string()))?;
    let code = json["bytecode"].as_str().ok_or_else(|| fail("no bytecode".into()))?;
    Ok(hex::decode(code).map_err(|e| fail(e.to_string()))?.into())
}

/// A local chain with Keyward ready: anvil (osaka), the real EntryPoint v0.8 at its canonical address, and Keyward
/// and the PolicyHook deployed through the CREATE2 deployer at their addresses on every chain
/// ([`keyward::deploy`]; the PolicyHook's salt is mined so that its address carries its callback flags 0x1e, which
/// its constructor insists on). Dropping it stops anvil.
pub struct Testnet {
    anvil: AnvilInstance,
    provider: DynProvider,
    /// The Keyward implementation EOAs delegate to.
    pub keyward: Address,
    /// The PolicyHook (its address's low 5 bits are [`keyward::hooks::POLICY_HOOK_FLAGS`]).
    pub policy_hook: Address,
}

impl std::fmt::Debug for Testnet {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Testnet")
            .field("url", &self.anvil.endpoint())
            .field("keyward", &self.keyward)
            .field("policy_hook", &self.policy_hook)
            .finish_non_exhaustive()
    }
}

impl Testnet {
    /// Starts anvil and deploys everything.
    pub async fn start() -> Result<Self, Error> {
        Self::spawn(Anvil::at(anvil_path()?)).await
    }

    /// [`Testnet::start`] with another chain id than anvil's 31337 (a second chain next to the first: same
    /// Keyward and PolicyHook addresses, another EIP-712 domain).
    pub async fn start_with_chain_id(chain_id: u64) -> Result<Self, Error> {
        Self::spawn(Anvil::at(anvil_path()?).chain_id(chain_id)).await
    }

    async fn spawn(anvil: Anvil) -> Result<Self, Error> {
        let anvil = anvil.try_spawn().map_err(rpc)?;
        let funder: PrivateKeySigner = anvil.keys()[0].clone().into();
        let provider =
            ProviderBuilder::new().wallet(EthereumWallet::from(funder)).connect_http(anvil.endpoint_url()).erased();
        let mut net = Self { anvil, provider, keyward: Address::ZERO, policy_hook: Address::ZERO };
        net.keyward = net.create2(deploy::keyward_salt(), keyward::keyward_bytecode()).await?;
        net.policy_hook = net.create2(deploy::policy_hook_salt(), keyward::policy_hook_bytecode()).await?;
        debug_assert_eq!(keyward::hooks::flags(net.policy_hook), keyward::hooks::POLICY_HOOK_FLAGS);
        let ep = net.deploy(entry_point_creation_code()?).await?;
        let ep_code = net.provider.get_code_at(ep).await.map_err(rpc)?;
        net.provider.anvil_set_code(ENTRY_POINT_V08, ep_code).await.map_err(rpc)?;
        Ok(net)
    }

    /// The RPC URL.
    pub fn url(&self) -> alloy::transports::http::reqwest::Url {
        self.anvil.endpoint_url()
    }

    /// The funded anvil account behind [`Testnet::provider`].
    pub fn funder(&self) -> PrivateKeySigner {
        self.anvil.keys()[0].clone().into()
    }

    /// A provider whose wallet is a funded anvil account (a relayer or bundler).
    pub fn provider(&self) -> &DynProvider {
        &self.provider
    }

    /// A provider whose wallet is `signer`.
    pub fn provider_for(&self, signer: &PrivateKeySigner) -> DynProvider {
        ProviderBuilder::new().wallet(EthereumWallet::from(signer.clone())).connect_http(self.url()).erased()
    }

    /// Deploys `creation_code`; returns the address.
    pub async fn deploy(&self, creation_code: Bytes) -> Result<Address, Error> {
        let tx = TransactionRequest::default().with_deploy_code(creation_code);
        let receipt = self.provider.send_transaction(tx).await.map_err(rpc)?.get_receipt().await.map_err(rpc)?;
        receipt.contract_address.ok_or_else(|| Error::Rpc("deployment created no contract".into()))
    }

    /// Deploys `creation_code` under `salt` through the CREATE2 deployer; returns the address.
    pub async fn create2(&self, salt: B256, creation_code: Bytes) -> Result<Address, Error> {
        let addr = deploy::create2_address(salt, &creation_code);
        let tx = TransactionRequest::default()
            .with_to(deploy::CREATE2_DEPLOYER)
            .with_input(deploy::create2_call_data(salt, &creation_code));
        self.provider.send_transaction(tx).await.map_err(rpc)?.get_receipt().await.map_err(rpc)?;
        if self.provider.get_code_at(addr).await.map_err(rpc)?.is_empty() {
            return Err(Error::Rpc(format!("CREATE2 deployment to {addr} left no code")));
        }
        Ok(addr)
    }

    /// Sets `address`'s balance.
    pub async fn fund(&self, address: Address, wei: U256) -> Result<(), Error> {
        self.provider.anvil_set_balance(address, wei).await.map_err(rpc)
    }

    /// A fresh EOA with 10 ETH, delegated to Keyward with EIP-7702 and running `first_calls` as root in the same
    /// transaction (e.g. a first grant). Returns the EOA's key and the account.
    pub async fn new_account(&self, first_calls: &[Call]) -> Result<(PrivateKeySigner, Account<DynProvider>), Error> {
        let eoa = PrivateKeySigner::random();
        let account = self.new_account_for(&eoa, first_calls).await?;
        Ok((eoa, account))
    }

    /// [`Testnet::new_account`] for a given EOA (the same account on two chains): funds it with 10 ETH, delegates it
    /// to Keyward and runs `first_calls` as root in the same transaction.
    pub async fn new_account_for(
        &self,
        eoa: &PrivateKeySigner,
        first_calls: &[Call],
    ) -> Result<Account<DynProvider>, Error> {
        self.fund(eoa.address(), U256::from(10u128.pow(19))).await?;
        let account = Account::at(eoa.address(), self.provider_for(eoa));
        account.delegate(eoa, self.keyward, first_calls).await?;
        Ok(account)
    }

    /// Places `runtime_code` at a fresh address whose low 5 bits are `flags` (the callbacks the account makes,
    /// [`keyward::hooks`]), e.g. [`REVERTING_HOOK`] or [`GAS_BURNING_HOOK`]; returns the address.
    pub async fn install_hook(&self, runtime_code: &[u8], flags: u8) -> Result<Address, Error> {
        let mut hook = PrivateKeySigner::random().address();
        hook.0[19] = (hook.0[19] & !keyward::hooks::ALL) | (flags & keyward::hooks::ALL);
        self.provider.anvil_set_code(hook, Bytes::copy_from_slice(runtime_code)).await.map_err(rpc)?;
        Ok(hook)
    }

    /// A hook that approves every callback and counts the execution callbacks ([`IRecordingHook`]), at an address
    /// enabling all five callbacks.
    pub async fn deploy_recording_hook(&self) -> Result<Address, Error> {
        let code: Bytes = MOCK_HOOK.trim().parse().map_err(|e: hex::FromHexError| Error::Rpc(e.to_string()))?;
        let deployed = self.deploy(code).await?;
        let runtime = self.provider.get_code_at(deployed).await.map_err(rpc)?;
        self.install_hook(&runtime, keyward::hooks::ALL).await
    }

    /// How many times the recording hook's callback `callback` ran (3 `beforeExecute`, 4 `afterExecute`).
    pub async fn recorded_calls(&self, hook: Address, callback: u8) -> Result<u64, Error> {
        let input = IRecordingHook::callCountCall { callback: U256::from(callback) }.abi_encode();
        let out =
            self.provider.call(TransactionRequest::default().with_to(hook).with_input(input)).await.map_err(rpc)?;
        Ok(IRecordingHook::callCountCall::abi_decode_returns(&out).map_err(rpc)?.saturating_to())
    }

    /// The same account, driven by the funded relayer.
    pub fn relayed(&self, account: Address) -> Account<DynProvider> {
        Account::at(account, self.provider.clone())
    }

    /// The same account, driven by `signer`'s own transactions (a session key on the direct path).
    pub async fn as_key(&self, account: Address, signer: &PrivateKeySigner) -> Result<Account<DynProvider>, Error> {
        self.fund(signer.address(), U256::from(10u128.pow(18))).await?;
        Ok(Account::at(account, self.provider_for(signer)))
    }

    /// Deploys a mintable ERC-20 test token.
    pub async fn deploy_token(&self) -> Result<Address, Error> {
        let code: Bytes = MOCK_ERC20.trim().parse().map_err(|e: hex::FromHexError| Error::Rpc(e.to_string()))?;
        self.deploy(code).await
    }

    /// Deploys a paymaster that sponsors every operation, with `deposit` wei at the EntryPoint.
    pub async fn deploy_paymaster(&self, deposit: U256) -> Result<Address, Error> {
        let code: Bytes = SPONSOR_PAYMASTER.trim().parse().map_err(|e: hex::FromHexError| Error::Rpc(e.to_string()))?;
        let paymaster = self.deploy(code).await?;
        let tx = TransactionRequest::default()
            .with_to(paymaster)
            .with_value(deposit)
            .with_input(ISponsorPaymaster::depositCall {}.abi_encode());
        self.provider.send_transaction(tx).await.map_err(rpc)?.get_receipt().await.map_err(rpc)?;
        Ok(paymaster)
    }

    /// Mints `amount` of `token` to `to`.
    pub async fn mint(&self, token: Address, to: Address, amount: U256) -> Result<(), Error> {
        let input = ITestToken::mintCall { to, amount }.abi_encode();
        let tx = TransactionRequest::default().with_to(token).with_input(input);
        self.provider.send_transaction(tx).await.map_err(rpc)?.get_receipt().await.map_err(rpc)?;
        Ok(())
    }

    /// `token.balanceOf(owner)`.
    pub async fn balance_of(&self, token: Address, owner: Address) -> Result<U256, Error> {
        let input = ITestToken::balanceOfCall { owner }.abi_encode();
        let out =
            self.provider.call(TransactionRequest::default().with_to(token).with_input(input)).await.map_err(rpc)?;
        ITestToken::balanceOfCall::abi_decode_returns(&out).map_err(rpc)
    }

    /// A call of `token.mint(to, amount)` (the test token mints to anyone).
    pub fn mint_call(token: Address, to: Address, amount: U256) -> Call {
        Call { to: token, value: U256::ZERO, data: ITestToken::mintCall { to, amount }.abi_encode().into() }
    }

    /// Settings that put a key under this chain's PolicyHook as it expects ([`keyward::SettingsBuilder::policy_hook`]:
    /// the hook and AFTER_EXECUTE_ON_FAILURE). For ERC-4337 add a paymaster or `.gas_budget(true)` with a budget.
    pub fn policy_settings(&self) -> keyward::SettingsBuilder {
        keyward::Settings::builder().policy_hook(self.policy_hook)
    }

    /// A call of `token.transfer(to, amount)`.
    pub fn transfer_call(token: Address, to: Address, amount: U256) -> Call {
        Call { to: token, value: U256::ZERO, data: ITestToken::transferCall { to, amount }.abi_encode().into() }
    }

    /// The latest block's timestamp.
    pub async fn now(&self) -> Result<u64, Error> {
        let block = self.provider.get_block_by_number(BlockNumberOrTag::Latest).await.map_err(rpc)?;
        Ok(block.ok_or_else(|| Error::Rpc("no block".into()))?.header.timestamp)
    }

    /// Moves time: the next block is mined `secs` later.
    pub async fn warp(&self, secs: u64) -> Result<(), Error> {
        self.provider.anvil_increase_time(secs).await.map_err(rpc)?;
        self.provider.anvil_mine(Some(1), None).await.map_err(rpc)
    }

    /// Sets the next block's timestamp exactly and mines it.
    pub async fn warp_to(&self, timestamp: u64) -> Result<(), Error> {
        self.provider.anvil_set_next_block_timestamp(timestamp).await.map_err(rpc)?;
        self.provider.anvil_mine(Some(1), None).await.map_err(rpc)
    }

    /// Snapshots the chain; [`Testnet::revert`] goes back to it.
    pub async fn snapshot(&self) -> Result<U256, Error> {
        self.provider.anvil_snapshot().await.map_err(rpc)
    }

    /// Reverts to a snapshot.
    pub async fn revert(&self, id: U256) -> Result<bool, Error> {
        self.provider.anvil_revert(id).await.map_err(rpc)
    }

    /// Grant call data for `encode::self_call`, re-exported for brevity.
    pub fn grant_call(key: &keyward::bindings::Key, settings: keyward::Settings) -> Call {
        encode::self_call(encode::grant(key, settings))
    }

    /// A hash for tests that need one.
    pub fn hash(tag: &str) -> B256 {
        alloy::primitives::keccak256(tag)
    }
}
