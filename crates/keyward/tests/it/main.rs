//! Integration tests of the keyward crate (one binary, a module per area).

#[cfg(feature = "client")]
mod anvil;
mod decoders;
mod differential;
