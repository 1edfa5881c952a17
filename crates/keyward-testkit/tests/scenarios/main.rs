//! The seed products' promises (`shared/seeds/`), each proven as a real flow on anvil, both sides of every
//! boundary. One binary, a module per product.

mod alto;
mod bundler_route;
mod calibur;
mod dynamic;
mod okto;
mod openfort;
mod turnkey;

use alloy::primitives::{Address, Bytes, U256};
use keyward::bindings::Call;

/// A plain ETH payment.
pub(crate) fn pay(to: Address, wei: u64) -> [Call; 1] {
    [Call { to, value: U256::from(wei), data: Bytes::new() }]
}

/// The hook call that applies one PolicyHook configuration.
pub(crate) fn hook(data: Bytes) -> Call {
    keyward::policy::to_hook(keyward::deploy::policy_hook_address(), data)
}
