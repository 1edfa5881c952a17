//! `keyward exec --bundler URL`: a session key's call as a user operation through a real bundler (Pimlico's Alto on
//! anvil, [`BundledTestnet`]), with no sender key; a refusal is one line with its class and decoded reason, and the
//! refused operation never reaches `eth_sendUserOperation`.

use std::process::Command;

use alloy::{
    primitives::{Address, U256},
    providers::Provider,
};
use eyre::{Result, ensure};
use keyward::{KeySigner, P256KeySigner, encode, policy};
use keyward_testkit::{BundledTestnet, Testnet};

use crate::{stderr, stdout};

#[tokio::test]
async fn test_exec_bundler_pays_and_a_refusal_is_one_line_and_never_sent() -> Result<()> {
    let chain = BundledTestnet::start().await?;
    let net = &chain.net;
    let session = P256KeySigner::from_bytes(&[9; 32])?;
    let kh = session.key_hash();
    let shop = Address::repeat_byte(0x5f);
    let hook = |data| policy::to_hook(net.policy_hook, data);
    let (_, account) = net
        .new_account(&[
            Testnet::grant_call(&session.key(), net.policy_settings().gas_budget(true).build()?),
            encode::self_call(encode::set_gas_budget(kh, encode::gas_budget(0, 0, 10u128.pow(17))?)),
            hook(policy::allow(kh, shop, policy::EMPTY_CALLDATA)),
            hook(policy::native_limits(
                kh,
                &policy::NativeCaps {
                    per_call: Some(U256::from(100)),
                    per_period: Some(U256::from(1_000)),
                    period: Some(std::time::Duration::from_hours(24)),
                    lifetime: None,
                },
            )?),
        ])
        .await?;
    let dir = std::env::temp_dir().join(format!("keyward-cli-bundler-{}", std::process::id()));
    std::fs::create_dir_all(&dir)?;
    let key_file = dir.join("session.key");
    std::fs::write(&key_file, format!("0x{}", "09".repeat(32)))?;
    let (url, acct, bundler) = (net.url().to_string(), account.address().to_string(), chain.bundler.url().to_string());
    let shop_arg = shop.to_string();
    // No KEYWARD_PRIVATE_KEY: the session key signs, the account pays the bundler.
    let run = |extra: &[&str]| {
        Command::new(env!("CARGO_BIN_EXE_keyward"))
            .args(["--json", "exec", "--account", &acct, "--key-type", "p256"])
            .args(extra)
            .arg(&shop_arg)
            .env("ETH_RPC_URL", &url)
            .env("KEYWARD_SESSION_KEY_FILE", &key_file)
            .env_remove("KEYWARD_PRIVATE_KEY")
            .output()
    };
    let sends = || chain.bundler.requests().iter().filter(|r| r.method == "eth_sendUserOperation").count();

    // At the per-call cap: estimated, priced and bundled by Alto, mined.
    let o = run(&["--bundler", &bundler, "--value", "100"])?;
    ensure!(o.status.success(), "{}", stderr(&o));
    let v: serde_json::Value = serde_json::from_str(stdout(&o).trim())?;
    ensure!(v["keyHash"] == kh.to_string() && v["userOpHash"].as_str().is_some_and(|h| h.len() == 66), "{v}");
    let receipt = net.provider().get_transaction_receipt(v["tx"].as_str().unwrap_or_default().parse()?).await?;
    ensure!(receipt.is_some_and(|r| r.status() && r.from == chain.bundler.executor()), "Alto's executor sent it");
    ensure!(net.provider().get_balance(shop).await? == U256::from(100));
    ensure!(sends() == 1);

    // One wei over it: refused in Alto's estimate, one line naming the class and the PolicyHook's error, exit 1.
    let o = run(&["--bundler", &bundler, "--value", "101"])?;
    let err = stderr(&o);
    ensure!(o.status.code() == Some(1) && err.lines().count() == 1, "{err}");
    ensure!(err.starts_with("error: refused by the key's policy or the account, nothing was sent: "), "{err}");
    ensure!(err.contains("SpendLimitExceeded") && err.contains("attempted: 101"), "{err}");
    ensure!(sends() == 1, "the refused operation was never sent");
    ensure!(net.provider().get_balance(shop).await? == U256::from(100));

    // Misuse: a bundler on the relayed path; a receipt timeout without a bundler (a usage error, exit 2).
    let o = run(&["--bundler", &bundler, "--via", "relayed", "--value", "1"])?;
    ensure!(o.status.code() == Some(1) && stderr(&o).contains("cannot go --via relayed"), "{}", stderr(&o));
    let o = run(&["--receipt-timeout", "5", "--value", "1"])?;
    ensure!(o.status.code() == Some(2) && stderr(&o).contains("--bundler"), "{}", stderr(&o));
    ensure!(sends() == 1);
    std::fs::remove_dir_all(&dir)?;
    Ok(())
}
