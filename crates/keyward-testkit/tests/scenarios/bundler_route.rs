//! The crate's one-call API through a real bundler: `Account::prepare` and `Account::send` over
//! `UserOpRoute::Bundler` to Pimlico's Alto on anvil ([`BundledTestnet`]). The seed 004 DCA flow: the owner grants a
//! session key with a daily token cap and a daily gas budget in one transaction; the agent pays through the bundler
//! (estimate with a stub signature, the bundler's fees, one signature, send, receipt); a payment over the cap, an
//! expired key and a revoked key are refused while preparing, typed and classified, and never reach
//! `eth_sendUserOperation`.

use alloy::{
    hex,
    primitives::{Address, U256, aliases::U192},
    providers::DynProvider,
};
use eyre::{OptionExt, Result, ensure};
use keyward::{
    ErrorKind, KeySigner, P256KeySigner, Revert,
    bindings::{IKeyward::IKeywardErrors, policy::IPolicyHook::IPolicyHookErrors},
    bundler::FeeSource,
    client::{Account, Lane, Pricing, UserOpRequest},
    encode, lanes, policy,
    userop::ENTRY_POINT_V08,
};
use keyward_testkit::{BundledTestnet, Testnet};

use crate::hook;

/// `transfer(address,uint256)`.
const TRANSFER: [u8; 4] = [0xa9, 0x05, 0x9c, 0xbb];

/// How many `eth_sendUserOperation` requests Alto has received.
fn sends(chain: &BundledTestnet) -> usize {
    chain.bundler.requests().iter().filter(|r| r.method == "eth_sendUserOperation").count()
}

/// The DCA agent's payment: `amount` of `token` to `pool`, signed by `key`, through the bundler at its fees.
fn buy(key: &P256KeySigner, token: Address, pool: Address, amount: u64) -> UserOpRequest<'_> {
    UserOpRequest::new(key, [Testnet::transfer_call(token, pool, U256::from(amount))], Pricing::Bundler)
}

/// Who refused an operation while it was prepared.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Asked {
    /// The bundler's `eth_estimateUserOperationGas` (the account or its hook reverted in the simulation).
    Bundler,
    /// The node, before the bundler was asked (the key no longer has a lane).
    Node,
}

/// What a refused operation must not change: Alto's count of `eth_sendUserOperation`, the key's EntryPoint nonce
/// (in `lane`), the pool's token balance.
struct Watch<'a> {
    chain: &'a BundledTestnet,
    account: &'a Account<DynProvider>,
    lane: U192,
    token: Address,
    pool: Address,
}

impl Watch<'_> {
    /// (sends, nonce, pool balance, estimates asked).
    async fn state(&self) -> Result<(usize, U256, U256, usize)> {
        Ok((
            sends(self.chain),
            self.account.entry_point_nonce_in_lane(ENTRY_POINT_V08, self.lane).await?,
            self.chain.net.balance_of(self.token, self.pool).await?,
            self.chain.bundler.requests().iter().filter(|r| r.method == "eth_estimateUserOperationGas").count(),
        ))
    }
}

/// A refusal found while preparing: nothing reached `eth_sendUserOperation`, the EntryPoint nonce did not move, the
/// pool received nothing. `Asked::Bundler`: the bundler's estimate was asked once, with the key's stub signature
/// (never a real one), and refused; `Asked::Node`: the node refused first, the bundler was asked nothing.
async fn assert_never_sent(
    watch: &Watch<'_>,
    key: &P256KeySigner,
    before: (usize, U256, U256, usize),
    asked: Asked,
) -> Result<()> {
    let chain = watch.chain;
    let now = watch.state().await?;
    ensure!(now.0 == before.0, "a refused operation reached eth_sendUserOperation");
    ensure!(now.1 == before.1 && now.2 == before.2, "a refused operation changed the chain");
    if asked == Asked::Node {
        ensure!(now.3 == before.3, "the node refused first: the bundler was asked nothing");
        return Ok(());
    }
    ensure!(now.3 == before.3 + 1, "the refusal came from the bundler's estimate");
    let estimate = chain
        .bundler
        .requests()
        .into_iter()
        .rfind(|r| r.method == "eth_estimateUserOperationGas")
        .ok_or_eyre("the bundler was asked for an estimate")?;
    let signature = estimate.params[0]["signature"].as_str().ok_or_eyre("the estimated operation's signature")?;
    let stub = hex::encode(key.stub_signature()?);
    ensure!(signature.contains(&stub), "the estimate carried the key's stub signature: {signature}");
    Ok(())
}

#[tokio::test]
async fn test_bundler_route_dca_session_key_pays_until_refused_and_refusals_are_never_sent() -> Result<()> {
    let chain = BundledTestnet::start().await?;
    let net = &chain.net;
    let token = net.deploy_token().await?;
    let pool = Address::repeat_byte(0xd1);
    let key = P256KeySigner::from_bytes(&[44; 32])?;
    let kh = key.key_hash();
    // Alto checks an operation's time range against the wall clock, which anvil's chain time follows here.
    let settings = net.policy_settings().gas_budget(true).expires_at(net.now().await? + 3_600).build()?;
    // The owner's one transaction: grant, a daily gas budget (0.1 ETH), only `token.transfer`, at most 1,000 a day.
    let (_eoa, account) = net
        .new_account(&[
            Testnet::grant_call(&key.key(), settings),
            encode::self_call(encode::set_gas_budget(kh, encode::gas_budget(10u128.pow(17), 86_400, 0)?)),
            hook(policy::allow(kh, token, TRANSFER)),
            hook(policy::token_limit(
                kh,
                token,
                &policy::SpendCaps::periodic(U256::from(1_000), std::time::Duration::from_hours(24)),
            )?),
        ])
        .await?;
    net.mint(token, account.address(), U256::from(1_000_000)).await?;
    let route = chain.route();
    let lane = account.lane_key(kh, Lane::Reserved(0)).await?;
    let watch = Watch { chain: &chain, account: &account, lane, token, pool };

    // Two runs of 400: prepared (estimate, bundler fees, signed once, simulated), sent, mined.
    for run in 1..=2u64 {
        let op = account.prepare(&route, buy(&key, token, pool, 400)).await?;
        ensure!(op.fee_source == FeeSource::Bundler && op.simulated && op.key_hash == kh, "{op:?}");
        ensure!(op.op.max_fee_per_gas > 0 && op.op.max_priority_fee_per_gas <= op.op.max_fee_per_gas, "fees");
        ensure!(op.op.call_gas_limit > 0 && op.op.verification_gas_limit > 0, "estimated gas");
        ensure!(op.gas_window.is_some(), "a daily gas budget names its window");
        ensure!(op.op.nonce == lanes::nonce(lane, run - 1), "the key's reserved lane, in order");
        let receipt = account.send(&route, &op).await?;
        ensure!(receipt.user_op_hash == op.user_op_hash && receipt.sender == account.address(), "{receipt:?}");
        ensure!(receipt.actual_gas_cost > U256::ZERO && receipt.paymaster.is_none(), "the account paid its gas");
        ensure!(net.balance_of(token, pool).await? == U256::from(400 * run));
        ensure!(sends(&chain) == usize::try_from(run)?, "one eth_sendUserOperation per run");
    }

    // 201 more would be 1,001 today: refused by the PolicyHook in the bundler's estimate, its error decoded.
    let before = watch.state().await?;
    let e = account.prepare(&route, buy(&key, token, pool, 201)).await.expect_err("over the daily cap");
    eprintln!("bundler route: over the cap: {e}");
    ensure!(e.kind() == ErrorKind::RefusedByPolicy, "{e:?}");
    match e.revert() {
        Some(Revert::Policy(IPolicyHookErrors::SpendLimitExceeded(x))) => {
            ensure!(x.asset == token && x.limit == U256::from(1_000), "{x:?}");
            ensure!(x.attempted == U256::from(1_001), "{x:?}");
        }
        other => eyre::bail!("expected the PolicyHook's SpendLimitExceeded, got {other:?} from {e:?}"),
    }
    assert_never_sent(&watch, &key, before, Asked::Bundler).await?;
    // The boundary's other side: exactly the 200 left.
    let op = account.prepare(&route, buy(&key, token, pool, 200)).await?;
    account.send(&route, &op).await?;
    ensure!(net.balance_of(token, pool).await? == U256::from(1_000));
    // The cap is now spent: 1 more is refused.
    let before = watch.state().await?;
    let e = account.prepare(&route, buy(&key, token, pool, 1)).await.expect_err("the cap is spent");
    ensure!(e.kind() == ErrorKind::RefusedByPolicy, "{e:?}");
    ensure!(matches!(e.revert(), Some(Revert::Policy(IPolicyHookErrors::SpendLimitExceeded(_)))), "{e:?}");
    assert_never_sent(&watch, &key, before, Asked::Bundler).await?;
    // A call the policy never allowed (the token's mint): refused, and never sent.
    let before = watch.state().await?;
    let mint = UserOpRequest::new(&key, [Testnet::mint_call(token, pool, U256::from(1))], Pricing::Bundler);
    let e = account.prepare(&route, mint).await.expect_err("not an allowed call");
    eprintln!("bundler route: not allowed: {e}");
    ensure!(e.kind() == ErrorKind::RefusedByPolicy, "{e:?}");
    ensure!(matches!(e.revert(), Some(Revert::Policy(IPolicyHookErrors::CallNotAllowed(_)))), "{e:?}");
    assert_never_sent(&watch, &key, before, Asked::Bundler).await?;
    Ok(())
}

#[tokio::test]
async fn test_bundler_route_expired_and_revoked_keys_are_typed_and_never_sent() -> Result<()> {
    let chain = BundledTestnet::start().await?;
    let net = &chain.net;
    let token = net.deploy_token().await?;
    let pool = Address::repeat_byte(0xd2);
    let key = P256KeySigner::from_bytes(&[45; 32])?;
    let kh = key.key_hash();
    let settings = || net.policy_settings().gas_budget(true);
    let (_eoa, account) = net
        .new_account(&[
            Testnet::grant_call(&key.key(), settings().build()?),
            encode::self_call(encode::set_gas_budget(kh, encode::gas_budget(0, 0, 10u128.pow(17))?)),
            hook(policy::allow(kh, token, TRANSFER)),
        ])
        .await?;
    net.mint(token, account.address(), U256::from(1_000)).await?;
    let route = chain.route();
    let lane = account.lane_key(kh, Lane::Reserved(0)).await?;
    let watch = Watch { chain: &chain, account: &account, lane, token, pool };
    let op = account.prepare(&route, buy(&key, token, pool, 1)).await?;
    account.send(&route, &op).await?;

    // Expired: the owner moves the key's expiration a minute into the past.
    let expired_at = net.now().await? - 60;
    account.update(kh, settings().expires_at(expired_at).build()?).await?;
    let before = watch.state().await?;
    let e = account.prepare(&route, buy(&key, token, pool, 1)).await.expect_err("expired key");
    eprintln!("bundler route: expired key: {e}");
    ensure!(e.kind() == ErrorKind::KeyExpiredOrRevoked, "{e:?}");
    match e.revert() {
        Some(Revert::Account(IKeywardErrors::KeyExpired(x))) => {
            ensure!(x.expiration.to::<u64>() == expired_at, "{x:?}");
        }
        other => eyre::bail!("expected the account's KeyExpired, got {other:?} from {e:?}"),
    }
    assert_never_sent(&watch, &key, before, Asked::Bundler).await?;

    // Usable again when the owner restores it, then revoked.
    account.update(kh, settings().build()?).await?;
    let op = account.prepare(&route, buy(&key, token, pool, 2)).await?;
    account.send(&route, &op).await?;
    ensure!(net.balance_of(token, pool).await? == U256::from(3));
    account.revoke(kh).await?;
    let before = watch.state().await?;
    let e = account.prepare(&route, buy(&key, token, pool, 1)).await.expect_err("revoked key");
    eprintln!("bundler route: revoked key: {e}");
    ensure!(e.kind() == ErrorKind::KeyExpiredOrRevoked, "{e:?}");
    ensure!(matches!(e.revert(), Some(Revert::Account(IKeywardErrors::KeyDoesNotExist(_)))), "{e:?}");
    assert_never_sent(&watch, &key, before, Asked::Node).await?;
    // Told its old lane explicitly, the client asks the bundler, whose estimate the account refuses the same way.
    let e = account.prepare(&route, buy(&key, token, pool, 1).lane(Lane::Key(lane))).await.expect_err("revoked key");
    eprintln!("bundler route: revoked key, explicit lane: {e}");
    ensure!(e.kind() == ErrorKind::KeyExpiredOrRevoked, "{e:?}");
    ensure!(matches!(e.revert(), Some(Revert::Account(IKeywardErrors::KeyDoesNotExist(_)))), "{e:?}");
    assert_never_sent(&watch, &key, before, Asked::Bundler).await?;
    let before = watch.state().await?;

    // A key that was never granted, signing for this account: the same class, never sent.
    let stranger = P256KeySigner::from_bytes(&[46; 32])?;
    let e = account.prepare(&route, buy(&stranger, token, pool, 1)).await.expect_err("unknown key");
    eprintln!("bundler route: unknown key: {e}");
    ensure!(e.kind() == ErrorKind::KeyExpiredOrRevoked, "{e:?}");
    assert_never_sent(&watch, &stranger, before, Asked::Node).await?;
    Ok(())
}

/// Seconds since the Unix epoch by the wall clock (Alto's clock).
fn wall_clock() -> Result<u64> {
    Ok(std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH)?.as_secs())
}

/// Sleeps until the wall clock reads `t`, then mines a block at `t` so that the chain agrees with Alto's clock.
async fn wait_until(net: &Testnet, t: u64) -> Result<()> {
    while wall_clock()? < t {
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    }
    net.warp_to(t.max(net.now().await? + 1)).await?;
    Ok(())
}

/// A key that expires by the clock, not by an update: paid well before its expiry; within Alto's 5-second margin the
/// operation is refused as expiring too soon (at the send) or as expired, never mined; after it, the estimate
/// refuses it with the account's `KeyExpired` carrying the key's expiry, and nothing is sent.
#[tokio::test]
async fn test_bundler_route_key_expiring_by_the_clock_is_refused_typed() -> Result<()> {
    let chain = BundledTestnet::start().await?;
    let net = &chain.net;
    let token = net.deploy_token().await?;
    let pool = Address::repeat_byte(0xd3);
    let key = P256KeySigner::from_bytes(&[47; 32])?;
    let kh = key.key_hash();
    let expires_at = wall_clock()?.max(net.now().await?) + 20;
    let settings = net.policy_settings().gas_budget(true).expires_at(expires_at).build()?;
    let (_eoa, account) = net
        .new_account(&[
            Testnet::grant_call(&key.key(), settings),
            encode::self_call(encode::set_gas_budget(kh, encode::gas_budget(0, 0, 10u128.pow(17))?)),
            hook(policy::allow(kh, token, TRANSFER)),
        ])
        .await?;
    net.mint(token, account.address(), U256::from(1_000)).await?;
    let route = chain.route();
    let lane = account.lane_key(kh, Lane::Reserved(0)).await?;
    let watch = Watch { chain: &chain, account: &account, lane, token, pool };

    // Well before the expiry: paid.
    ensure!(wall_clock()? + 8 < expires_at, "the setup took too long for this test's clock");
    let op = account.prepare(&route, buy(&key, token, pool, 1)).await?;
    account.send(&route, &op).await?;
    ensure!(net.balance_of(token, pool).await? == U256::from(1));

    // Three seconds before it: Alto refuses an operation that expires within 5 seconds (or, on a slow machine, the
    // key has expired by then): the same class either way, and nothing is mined.
    wait_until(net, expires_at - 3).await?;
    let before = watch.state().await?;
    let refused = match account.prepare(&route, buy(&key, token, pool, 1)).await {
        Ok(op) => account.send(&route, &op).await.expect_err("expires within Alto's margin"),
        Err(e) => e,
    };
    eprintln!("bundler route: expiring in 3s: {refused}");
    ensure!(refused.kind() == ErrorKind::KeyExpiredOrRevoked, "{refused:?}");
    ensure!(
        refused.code() == Some(keyward::bundler::code::EXPIRES_SHORTLY)
            || matches!(refused.revert(), Some(Revert::Account(IKeywardErrors::KeyExpired(_)))),
        "{refused:?}"
    );
    ensure!(watch.state().await?.1 == before.1 && net.balance_of(token, pool).await? == U256::from(1), "not mined");

    // After it: the bundler's estimate refuses it, with the expiry; never sent.
    wait_until(net, expires_at + 1).await?;
    let before = watch.state().await?;
    let e = account.prepare(&route, buy(&key, token, pool, 1)).await.expect_err("expired");
    eprintln!("bundler route: expired by the clock: {e}");
    ensure!(e.kind() == ErrorKind::KeyExpiredOrRevoked, "{e:?}");
    match e.revert() {
        Some(Revert::Account(IKeywardErrors::KeyExpired(x))) => {
            ensure!(x.expiration.to::<u64>() == expires_at, "{x:?}");
        }
        other => eyre::bail!("expected the account's KeyExpired, got {other:?} from {e:?}"),
    }
    assert_never_sent(&watch, &key, before, Asked::Bundler).await?;
    Ok(())
}

/// Gasless onboarding through the bundler: an EOA with no ETH and no code signs an EIP-7702 authorization; one user
/// operation, signed by its root key and paid by a paymaster, carries it (`eip7702Auth`), delegates the EOA and
/// grants a session key; the session key's next operation, also sponsored, pays. The EOA never sends a transaction.
#[tokio::test]
async fn test_bundler_route_gasless_onboarding_delegates_and_grants_in_one_user_operation() -> Result<()> {
    use alloy::{providers::Provider, signers::local::PrivateKeySigner};
    use keyward::{RootSigner, Settings, client::Paymaster};

    let chain = BundledTestnet::start().await?;
    let net = &chain.net;
    let sponsor = net.deploy_paymaster(U256::from(10u128.pow(18))).await?;
    let paymaster = Paymaster {
        address: sponsor,
        data: alloy::primitives::Bytes::new(),
        verification_gas_limit: None,
        post_op_gas_limit: None,
    };
    let shop = Address::repeat_byte(0xd4);
    let eoa = PrivateKeySigner::random();
    let node = net.provider();
    ensure!(node.get_balance(eoa.address()).await?.is_zero() && node.get_code_at(eoa.address()).await?.is_empty());
    // The account has tokens to pay with, no ETH.
    let token = net.deploy_token().await?;
    net.mint(token, eoa.address(), U256::from(50)).await?;
    let account = Account::at(eoa.address(), node.clone());
    let route = chain.route();

    let session = P256KeySigner::from_bytes(&[48; 32])?;
    let authorization = account.sign_authorization(&eoa, net.keyward).await?;
    let root = RootSigner(eoa.clone());
    let onboarding =
        UserOpRequest::new(&root, [Testnet::grant_call(&session.key(), Settings::default())], Pricing::Bundler)
            .paymaster(paymaster.clone())
            .eip7702_authorization(authorization);
    let op = account.prepare(&route, onboarding).await?;
    // The node cannot apply the authorization: the bundler's estimate was the simulation.
    ensure!(!op.simulated && op.op.eip7702_auth.is_some() && op.op.paymaster == Some(sponsor), "{op:?}");
    let receipt = account.send(&route, &op).await?;
    ensure!(receipt.paymaster == Some(sponsor), "{receipt:?}");
    let code = node.get_code_at(eoa.address()).await?;
    ensure!(code[..3] == [0xef, 0x01, 0x00] && code[3..] == *net.keyward.as_slice(), "delegated by the bundle");
    ensure!(account.keys().await?.iter().any(|k| k.key_hash == session.key_hash()), "the key was granted with it");
    ensure!(node.get_transaction_count(eoa.address()).await? == 1, "only the authorization used the EOA's nonce");

    // The session key pays (sponsored too); the EOA still has no ETH.
    let pay = UserOpRequest::new(&session, [Testnet::transfer_call(token, shop, U256::from(20))], Pricing::Bundler)
        .paymaster(paymaster);
    let op = account.prepare(&route, pay).await?;
    ensure!(op.simulated, "delegated now: simulated on the node first");
    let receipt = account.send(&route, &op).await?;
    ensure!(receipt.paymaster == Some(sponsor) && net.balance_of(token, shop).await? == U256::from(20));
    ensure!(node.get_balance(eoa.address()).await?.is_zero(), "gasless: the account paid no ETH");

    // The authorization is for the root key only: a session key cannot carry one.
    let again = account.sign_authorization(&eoa, net.keyward).await?;
    let e = account
        .prepare(&route, UserOpRequest::new(&session, [], Pricing::Bundler).eip7702_authorization(again))
        .await
        .expect_err("a session key carrying an authorization");
    ensure!(e.kind() == ErrorKind::Misuse, "{e:?}");
    Ok(())
}
