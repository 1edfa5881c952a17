//! Types and calls generated with alloy's `sol!` from the project's own Solidity interface files, the one source
//! of the ABI: `contracts/interfaces/IKeyward.sol` (the account, its extension included), `IHook.sol` (Calibur's
//! hook interface) and `IPolicyHook.sol`.
//!
//! `IKeyward.sol` and `IHook.sol` each declare `struct PackedUserOperation`, so the hook interface lives in its own
//! module, [`hook`]; the two structs convert into each other with `From`.
#![allow(missing_docs, unreachable_pub, clippy::pedantic)]

alloy::sol!(
    #[sol(all_derives)]
    "../../contracts/interfaces/IKeyward.sol"
);

/// Calibur's hook interface (`IValidationHook`, `IExecutionHook`, `IHook`). Which callbacks the account makes is
/// chosen by the low 5 bits of the hook's address: see [`crate::hooks`].
pub mod hook {
    alloy::sol!(
        #[sol(all_derives)]
        "../../contracts/interfaces/IHook.sol"
    );
}

/// The policy hook's interface and types.
pub mod policy {
    alloy::sol!(
        #[sol(all_derives)]
        "../../contracts/interfaces/IPolicyHook.sol"
    );
}

impl From<PackedUserOperation> for hook::PackedUserOperation {
    fn from(op: PackedUserOperation) -> Self {
        Self {
            sender: op.sender,
            nonce: op.nonce,
            initCode: op.initCode,
            callData: op.callData,
            accountGasLimits: op.accountGasLimits,
            preVerificationGas: op.preVerificationGas,
            gasFees: op.gasFees,
            paymasterAndData: op.paymasterAndData,
            signature: op.signature,
        }
    }
}

impl From<hook::PackedUserOperation> for PackedUserOperation {
    fn from(op: hook::PackedUserOperation) -> Self {
        Self {
            sender: op.sender,
            nonce: op.nonce,
            initCode: op.initCode,
            callData: op.callData,
            accountGasLimits: op.accountGasLimits,
            preVerificationGas: op.preVerificationGas,
            gasFees: op.gasFees,
            paymasterAndData: op.paymasterAndData,
            signature: op.signature,
        }
    }
}
