#![doc = include_str!("../README.md")]

#[cfg(feature = "client")]
pub mod agent;
pub mod bindings;
#[cfg(feature = "bundler")]
pub mod bundler;
#[cfg(feature = "client")]
pub mod client;
pub mod deploy;
pub mod eip712;
pub mod encode;
mod error;
pub mod explain;
pub mod grant;
pub mod hooks;
pub mod key;
pub mod lanes;
pub mod policy;
pub mod settings;
pub mod signer;
pub mod units;
pub mod userop;

pub use error::Error;
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
