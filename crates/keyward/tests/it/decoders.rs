//! Property tests for every decoder that takes outside input: malformed input gives a typed error, never a panic.

use alloy::{
    primitives::{Bytes, U256},
    sol_types::{SolInterface, SolValue},
};
use keyward::{
    Settings,
    bindings::{IKeyward::IKeywardCalls, PackedUserOperation, SignedBatchedCall},
};
use proptest::prelude::*;

/// Bits 201-207 and 252-255 (248-251 are the flags).
const RESERVED: U256 = U256::from_limbs([0, 0, 0, 0xf000_0000_0000_fe00]);

proptest! {
    #[test]
    fn settings_from_any_word_is_canonical_or_a_typed_error(limbs in any::<[u64; 4]>()) {
        let raw = U256::from_limbs(limbs);
        match Settings::try_from(raw) {
            Ok(s) => prop_assert_eq!(s.to_u256(), raw),
            Err(keyward::Error::NonCanonicalSettings { reserved }) => prop_assert_eq!(reserved, raw & RESERVED),
            Err(keyward::Error::HookWithoutCallbacks { hook }) => {
                prop_assert!(raw & RESERVED == U256::ZERO && !hook.is_zero() && !keyward::hooks::has_any(hook));
            }
            Err(e) => prop_assert!(false, "unexpected error {e}"),
        }
    }

    #[test]
    fn settings_from_any_string_never_panics(s in ".{0,80}") {
        let _ = s.parse::<Settings>();
    }

    #[test]
    fn settings_from_hex_round_trips(limbs in any::<[u64; 4]>()) {
        // Canonical: no reserved bit, and a hook (if any) with at least one callback bit.
        let raw = (U256::from_limbs(limbs) & !RESERVED) | U256::from(1);
        let s = Settings::try_from(raw).expect("canonical");
        prop_assert_eq!(s.to_string().parse::<Settings>().expect("parses"), s);
        let json = serde_json::to_string(&s).expect("serializes");
        prop_assert_eq!(serde_json::from_str::<Settings>(&json).expect("deserializes"), s);
    }

    #[test]
    fn call_data_and_user_ops_from_any_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..600)) {
        let _ = IKeywardCalls::abi_decode(&bytes);
        let _ = PackedUserOperation::abi_decode(&bytes);
        let _ = SignedBatchedCall::abi_decode(&bytes);
        let _ = <(alloy::primitives::B256, Bytes, Bytes)>::abi_decode_params(&bytes);
        let _ = <(alloy::primitives::B256, Bytes, Bytes, U256)>::abi_decode_params(&bytes);
    }
}
