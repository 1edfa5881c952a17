#![doc = include_str!("../README.md")]

// What the account is and how its words are built (no chain needed).
pub mod bindings;
pub mod encode;
pub mod hooks;
pub mod key;
pub mod lanes;
pub mod policy;
pub mod settings;
pub mod userop;

// Writing a grant as people think of it: human amounts and durations, a builder that cannot forget the hook.
pub mod grant;
pub mod units;

// Permissions in the ecosystem's language: ERC-7715 requests and responses, as grants and read back.
pub mod erc7715;

// Signing for every path (relayed batches, ERC-4337, ERC-1271 with ERC-7739).
pub mod cosign;
pub mod eip712;
pub mod pop;
pub mod signer;

// Deployment (CREATE2 salts and addresses, the embedded bytecode below).
pub mod deploy;

// Talking to a chain: the account (feature `client`), a bundler (feature `bundler`), a delegated agent.
#[cfg(feature = "client")]
pub mod agent;
#[cfg(feature = "bundler")]
pub mod bundler;
#[cfg(feature = "client")]
pub mod client;
#[cfg(feature = "client")]
pub mod webhook;

// One error enum for the crate, and what a failure means (the same on every route).
mod error;
pub mod failure;

// Refusals in words, and when to retry.
pub mod explain;

pub use error::{BoxError, Error};

/// The repository README's Rust quick start, compiled as a doc test so it cannot drift from the API.
#[cfg(doctest)]
#[doc = include_str!("../../../README.md")]
mod readme_quick_start {}
pub use failure::{AaCode, ErrorKind, Revert};
pub use grant::{Grant, GrantBuilder, GrantError, Policy};
pub use key::{KeyExt, ROOT_KEY_HASH};
pub use settings::{Flags, Settings, SettingsBuilder};
pub use signer::{KeySigner, P256KeySigner, RootSigner, Secp256k1Signer, WebAuthnSigner};

/// Keyward's creation bytecode (hex, `0x`-prefixed), committed under `artifacts/` so this crate builds without
/// forge; `make test` fails when it no longer matches a fresh forge build. It also holds `KeywardExtension`'s
/// creation code (Keyward's constructor creates the extension), so it is the only account artifact.
pub const KEYWARD_BYTECODE_HEX: &str = include_str!("../artifacts/Keyward.bytecode.hex");

/// The PolicyHook's creation bytecode (hex); [`deploy`] finds the CREATE2 salt that puts it at an address whose
/// low 5 bits are [`hooks::POLICY_HOOK_FLAGS`] (its constructor reverts anywhere else).
pub const POLICY_HOOK_BYTECODE_HEX: &str = include_str!("../artifacts/PolicyHook.bytecode.hex");

/// Keyward's creation bytecode.
///
/// # Panics
/// Never in a released crate: the committed artifact is checked to be valid hex by this crate's tests.
pub fn keyward_bytecode() -> alloy::primitives::Bytes {
    KEYWARD_BYTECODE_HEX.trim().parse().expect("the committed artifact is valid hex")
}

/// The PolicyHook's creation bytecode.
///
/// # Panics
/// Never in a released crate: the committed artifact is checked to be valid hex by this crate's tests.
pub fn policy_hook_bytecode() -> alloy::primitives::Bytes {
    POLICY_HOOK_BYTECODE_HEX.trim().parse().expect("the committed artifact is valid hex")
}

#[cfg(test)]
mod artifact_tests {
    #[test]
    fn bytecode_parses_and_has_no_metadata_tail() {
        let code = super::keyward_bytecode();
        assert!(code.len() > 1000);
        assert!(super::policy_hook_bytecode().len() > 1000);
        // cbor_metadata = false: no CBOR metadata ("solc" version marker) anywhere.
        assert!(!code.windows(4).any(|w| w == b"solc"));
    }
}
