//! Deterministic addresses: Keyward and the PolicyHook through the standard CREATE2 deployer, with the same salts
//! as `script/Deploy.s.sol`, so Rust and forge agree on every chain.

use alloy::primitives::{Address, B256, Bytes, U256, address, keccak256};

/// The deterministic deployment proxy (present on anvil and most chains).
pub const CREATE2_DEPLOYER: Address = address!("0x4e59b44847b379578588920ca78fbf26c0b4956c");

/// Keyward's salt: `keccak256("keyward.v1")`.
pub fn keyward_salt() -> B256 {
    keccak256("keyward.v1")
}

/// The CREATE2 address of `creation_code` under `salt` through [`CREATE2_DEPLOYER`].
pub fn create2_address(salt: B256, creation_code: &[u8]) -> Address {
    CREATE2_DEPLOYER.create2(salt, keccak256(creation_code))
}

/// The first salt from `keccak256("keyward.policy-hook.v1")` upwards whose PolicyHook address carries exactly its
/// flags ([`crate::hooks::POLICY_HOOK_FLAGS`], 0x1e) in its low 5 bits: its constructor reverts `WrongHookAddress`
/// anywhere else. About 32 tries.
pub fn policy_hook_salt() -> B256 {
    mine_policy_hook_salt(crate::hooks::POLICY_HOOK_FLAGS)
}

/// The first salt from `keccak256("keyward.policy-hook.v1")` upwards whose PolicyHook address's low 5 bits are
/// 0x1f ([`crate::hooks::POLICY_HOOK_COSIGN_FLAGS`]): the PolicyHook's flags plus `afterVerifySignature`, which
/// co-signatures (step-up, consensus) need (at 0x1e the hook refuses them: `CoSignaturesUnavailable`). Every key
/// of this hook pays the `afterVerifySignature` call on the relayed path. About 32 tries.
pub fn policy_hook_salt_cosign() -> B256 {
    mine_policy_hook_salt(crate::hooks::POLICY_HOOK_COSIGN_FLAGS)
}

fn mine_policy_hook_salt(flags: u8) -> B256 {
    let base = U256::from_be_bytes(keccak256("keyward.policy-hook.v1").0);
    let code_hash = keccak256(crate::policy_hook_bytecode());
    let mut i = U256::ZERO;
    loop {
        let salt = B256::from(base.wrapping_add(i));
        if CREATE2_DEPLOYER.create2(salt, code_hash).0[19] & crate::hooks::ALL == flags {
            return salt;
        }
        i += U256::from(1);
    }
}

/// The calldata of a CREATE2 deployment: `salt ++ creation_code`.
pub fn create2_call_data(salt: B256, creation_code: &[u8]) -> Bytes {
    [salt.as_slice(), creation_code].concat().into()
}

/// Keyward's address on every chain.
pub fn keyward_address() -> Address {
    create2_address(keyward_salt(), &crate::keyward_bytecode())
}

/// The PolicyHook's address on every chain.
pub fn policy_hook_address() -> Address {
    create2_address(policy_hook_salt(), &crate::policy_hook_bytecode())
}

/// The co-signing PolicyHook's address on every chain (flags 0x1f, see [`policy_hook_salt_cosign`]).
pub fn policy_hook_address_cosign() -> Address {
    create2_address(policy_hook_salt_cosign(), &crate::policy_hook_bytecode())
}

#[cfg(test)]
mod tests {
    #[test]
    fn hook_address_carries_its_flags() {
        assert_eq!(crate::hooks::flags(super::policy_hook_address()), 0x1e);
        assert_eq!(crate::hooks::flags(super::policy_hook_address_cosign()), 0x1f);
    }
}
