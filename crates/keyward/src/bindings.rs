//! Types and calls generated with alloy's `sol!` from the project's own Solidity interface files, the one source
//! of the ABI: `contracts/interfaces/IKeyward.sol`, `IKeywardHook.sol` and `IPolicyHook.sol`.
#![allow(missing_docs, unreachable_pub, clippy::pedantic)]

alloy::sol!(
    #[sol(all_derives)]
    "../../contracts/interfaces/IKeyward.sol"
);

/// The hook interface.
pub mod hook {
    alloy::sol!(
        #[sol(all_derives)]
        "../../contracts/interfaces/IKeywardHook.sol"
    );
}

/// The policy hook's interface and types.
pub mod policy {
    alloy::sol!(
        #[sol(all_derives)]
        "../../contracts/interfaces/IPolicyHook.sol"
    );
}
