//! Integration tests of the keyward crate (one binary, a module per area).

#[cfg(feature = "client")]
mod account_abi;
#[cfg(feature = "client")]
mod agent;
#[cfg(feature = "client")]
mod anvil;
#[cfg(feature = "client")]
#[path = "../support/chain.rs"]
mod chain;
#[cfg(feature = "client")]
mod cosign;
mod decoders;
mod differential;
#[cfg(feature = "client")]
mod erc7715;
#[cfg(feature = "client")]
mod events;
#[cfg(feature = "client")]
mod fixture;
#[cfg(feature = "client")]
mod grant;
#[cfg(feature = "client")]
mod owner;
#[cfg(feature = "client")]
mod pause;
#[cfg(feature = "client")]
mod user_ops;
