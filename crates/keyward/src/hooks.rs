//! Hook flags: which callbacks the account makes is chosen by the low 5 bits of the hook's ADDRESS, as in Uniswap
//! Calibur (and Uniswap v4), so a disabled callback costs nothing. The one place in Rust that knows them (the
//! Solidity side's is `contracts/libraries/HooksLib.sol`).
//!
//! ```text
//! bit 0 (0x01) AFTER_VERIFY_SIGNATURE    relayed batches (and Keyward's direct path by a key)
//! bit 1 (0x02) AFTER_VALIDATE_USER_OP    ERC-4337 validation
//! bit 2 (0x04) AFTER_IS_VALID_SIGNATURE  ERC-1271 (a non-admin key's signature needs an approving hook)
//! bit 3 (0x08) BEFORE_EXECUTE            before each call of a batch
//! bit 4 (0x10) AFTER_EXECUTE             after each call of a batch (only after failed calls with the
//!                                        AFTER_EXECUTE_ON_FAILURE settings flag)
//! ```
//!
//! A nonzero hook whose address enables no callback is refused by the account (`HookWithoutCallbacks`).

use alloy::primitives::Address;

/// `afterVerifySignature`: relayed batches, after the signature and the key's window (also on the direct path).
pub const AFTER_VERIFY_SIGNATURE: u8 = 0x01;
/// `afterValidateUserOp`: ERC-4337 validation (called even for invalid signatures; a revert refuses the op).
pub const AFTER_VALIDATE_USER_OP: u8 = 0x02;
/// `afterIsValidSignature`: ERC-1271 (a refusal is the failure value, never a revert).
pub const AFTER_IS_VALID_SIGNATURE: u8 = 0x04;
/// `beforeExecute`: before each call of a batch.
pub const BEFORE_EXECUTE: u8 = 0x08;
/// `afterExecute`: after each call of a batch.
pub const AFTER_EXECUTE: u8 = 0x10;
/// Every flag.
pub const ALL: u8 = 0x1f;
/// The PolicyHook's flags: AFTER_VALIDATE_USER_OP | AFTER_IS_VALID_SIGNATURE | BEFORE_EXECUTE | AFTER_EXECUTE. Its
/// constructor reverts `WrongHookAddress()` at an address whose low 5 bits are anything else.
pub const POLICY_HOOK_FLAGS: u8 = AFTER_VALIDATE_USER_OP | AFTER_IS_VALID_SIGNATURE | BEFORE_EXECUTE | AFTER_EXECUTE;
/// The co-signing PolicyHook's flags (0x1f): [`POLICY_HOOK_FLAGS`] plus [`AFTER_VERIFY_SIGNATURE`], which the
/// PolicyHook needs to accept co-signers and step-up thresholds (`setCoSigners`, `setStepUp`).
pub const POLICY_HOOK_COSIGN_FLAGS: u8 = POLICY_HOOK_FLAGS | AFTER_VERIFY_SIGNATURE;

/// The callback flags `hook`'s address enables (its low 5 bits).
pub fn flags(hook: Address) -> u8 {
    hook.0[19] & ALL
}

/// Whether `hook`'s address enables `flag` (one of the constants of this module).
pub fn has(hook: Address, flag: u8) -> bool {
    flags(hook) & flag != 0
}

/// Whether `hook`'s address enables any callback. The account refuses a nonzero hook that enables none.
pub fn has_any(hook: Address) -> bool {
    flags(hook) != 0
}

/// The names of the flags `hook`'s address enables, lowest bit first.
pub fn names(hook: Address) -> Vec<&'static str> {
    const NAMES: [(u8, &str); 5] = [
        (AFTER_VERIFY_SIGNATURE, "AFTER_VERIFY_SIGNATURE"),
        (AFTER_VALIDATE_USER_OP, "AFTER_VALIDATE_USER_OP"),
        (AFTER_IS_VALID_SIGNATURE, "AFTER_IS_VALID_SIGNATURE"),
        (BEFORE_EXECUTE, "BEFORE_EXECUTE"),
        (AFTER_EXECUTE, "AFTER_EXECUTE"),
    ];
    NAMES.iter().filter(|(f, _)| has(hook, *f)).map(|(_, n)| *n).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn policy_hook_flags_are_calibur_bits_1_to_4() {
        assert_eq!(POLICY_HOOK_FLAGS, 0x1e);
        let hook = Address::with_last_byte(0x3e);
        assert_eq!(flags(hook), 0x1e);
        assert!(!has(hook, AFTER_VERIFY_SIGNATURE) && has(hook, AFTER_EXECUTE));
        assert_eq!(
            names(hook),
            ["AFTER_VALIDATE_USER_OP", "AFTER_IS_VALID_SIGNATURE", "BEFORE_EXECUTE", "AFTER_EXECUTE"]
        );
        assert!(!has_any(Address::with_last_byte(0x20)));
    }
}
