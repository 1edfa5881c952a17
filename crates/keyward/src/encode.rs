//! Call-data encoders for the account's management and execution functions.
//!
//! Management calls are made by the account to itself: wrap them in a [`Call`] to the account (or to
//! `Address::ZERO`, which means "self") and execute them as the root or an admin key.

use alloy::{
    primitives::{Address, B256, Bytes, U256},
    sol_types::{SolCall, SolValue},
};

use crate::{
    Settings,
    bindings::{BatchedCall, Call, IKeyward, Key, SignedBatchedCall},
};

/// ERC-7821 mode: batch, revert on the first failing call.
pub const MODE_REVERT_ON_FAILURE: B256 = B256::new({
    let mut m = [0u8; 32];
    m[0] = 0x01;
    m
});

/// ERC-7821 mode: batch, skip failing calls.
pub const MODE_CONTINUE_ON_FAILURE: B256 = B256::new({
    let mut m = [0u8; 32];
    m[0] = 0x01;
    m[1] = 0x01;
    m
});

/// `register(Key)`: registers with empty settings (Calibur semantics).
pub fn register(key: &Key) -> Bytes {
    IKeyward::registerCall { key: key.clone() }.abi_encode().into()
}

/// `grant(Key, uint256)`: registers with settings in one step.
pub fn grant(key: &Key, settings: Settings) -> Bytes {
    IKeyward::grantCall { key: key.clone(), settings: settings.to_u256() }.abi_encode().into()
}

/// `update(bytes32, uint256)`.
pub fn update(key_hash: B256, settings: Settings) -> Bytes {
    IKeyward::updateCall { keyHash: key_hash, settings: settings.to_u256() }.abi_encode().into()
}

/// `revoke(bytes32)`.
pub fn revoke(key_hash: B256) -> Bytes {
    IKeyward::revokeCall { keyHash: key_hash }.abi_encode().into()
}

/// `revokeAll()`.
pub fn revoke_all() -> Bytes {
    IKeyward::revokeAllCall {}.abi_encode().into()
}

/// `updateEntryPoint(entryPoint)`; `Address::ZERO` disables ERC-4337.
pub fn update_entry_point(entry_point: Address) -> Bytes {
    IKeyward::updateEntryPointCall { entryPoint: entry_point }.abi_encode().into()
}

/// A call from the account to itself (target `address(0)` means self).
pub fn self_call(data: Bytes) -> Call {
    Call { to: Address::ZERO, value: U256::ZERO, data }
}

/// ERC-7821 `execute(mode, abi.encode(calls))`.
pub fn execute(calls: &[Call], revert_on_failure: bool) -> Bytes {
    let mode = if revert_on_failure { MODE_REVERT_ON_FAILURE } else { MODE_CONTINUE_ON_FAILURE };
    let execution_data: Bytes = calls.to_vec().abi_encode().into();
    IKeyward::execute_0Call { mode, executionData: execution_data }.abi_encode().into()
}

/// `executeUserOp.selector ++ abi.encode(BatchedCall)`: the call data of a user operation.
pub fn execute_user_op_call_data(calls: &[Call], revert_on_failure: bool) -> Bytes {
    let batch = BatchedCall { calls: calls.to_vec(), revertOnFailure: revert_on_failure };
    let mut out = IKeyward::executeUserOpCall::SELECTOR.to_vec();
    out.extend_from_slice(&batch.abi_encode());
    out.into()
}

/// `execute(SignedBatchedCall, abi.encode(signature, hookData))`: the relayed path.
pub fn execute_signed(batch: &SignedBatchedCall, signature: Bytes, hook_data: Bytes) -> Bytes {
    IKeyward::execute_1Call {
        signedBatchedCall: batch.clone(),
        wrappedSignature: (signature, hook_data).abi_encode_params().into(),
    }
    .abi_encode()
    .into()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{KeyExt, bindings::IKeyward::IKeywardCalls};
    use alloy::{primitives::address, sol_types::SolInterface};

    /// Calibur's selectors (`shared/reference/calibur.md` 3.2): a Calibur client works unchanged.
    #[test]
    fn selectors_match_calibur() {
        let want: [(&str, [u8; 4]); 9] = [
            ("execute(bytes32,bytes)", IKeyward::execute_0Call::SELECTOR),
            ("execute(SignedBatchedCall,bytes)", IKeyward::execute_1Call::SELECTOR),
            ("executeUserOp", IKeyward::executeUserOpCall::SELECTOR),
            ("validateUserOp", IKeyward::validateUserOpCall::SELECTOR),
            ("isValidSignature", IKeyward::isValidSignatureCall::SELECTOR),
            ("register", IKeyward::registerCall::SELECTOR),
            ("update", IKeyward::updateCall::SELECTOR),
            ("revoke", IKeyward::revokeCall::SELECTOR),
            ("updateEntryPoint", IKeyward::updateEntryPointCall::SELECTOR),
        ];
        let calibur: [[u8; 4]; 9] = [
            [0xe9, 0xae, 0x5c, 0x53],
            [0xc3, 0xc1, 0x6e, 0xe4],
            [0x8d, 0xd7, 0x71, 0x2f],
            [0x19, 0x82, 0x2f, 0x7c],
            [0x16, 0x26, 0xba, 0x7e],
            [0x30, 0xb1, 0xfa, 0x3b],
            [0xa5, 0x8b, 0xb8, 0x4a],
            [0xb7, 0x5c, 0x7d, 0xc6],
            [0x1b, 0x71, 0xbb, 0x6e],
        ];
        for ((name, ours), theirs) in want.iter().zip(calibur) {
            assert_eq!(*ours, theirs, "{name}");
        }
    }

    #[test]
    fn encoders_decode_back_through_the_bindings() {
        let key = Key::secp256k1(address!("0x00000000000000000000000000000000000000aa"));
        let settings = Settings::builder().admin(true).expires_at(99).build().unwrap();
        let data = grant(&key, settings);
        match IKeywardCalls::abi_decode(&data).unwrap() {
            IKeywardCalls::grant(c) => {
                assert_eq!(c.key, key);
                assert_eq!(c.settings, settings.to_u256());
            }
            other => panic!("decoded as {other:?}"),
        }
        let calls = vec![self_call(revoke(key.hash())), self_call(revoke_all())];
        let data = execute(&calls, false);
        let IKeywardCalls::execute_0(c) = IKeywardCalls::abi_decode(&data).unwrap() else { panic!("not execute") };
        assert_eq!(c.mode, MODE_CONTINUE_ON_FAILURE);
        assert_eq!(<Vec<Call>>::abi_decode(&c.executionData).unwrap(), calls);
        let uo = execute_user_op_call_data(&calls, true);
        assert_eq!(uo[..4], IKeyward::executeUserOpCall::SELECTOR);
        assert_eq!(BatchedCall::abi_decode(&uo[4..]).unwrap().calls, calls);
    }
}
