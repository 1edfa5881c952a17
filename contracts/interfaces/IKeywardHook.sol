// SPDX-License-Identifier: MIT
pragma solidity ^0.8.30;

// Self-contained on purpose: the Rust crates generate bindings from this file with alloy's `sol!`.

/// @title IKeywardHook
/// @notice A key's policy hook. Which callbacks the account makes is chosen by the low 5 bits of the hook's
/// address (as in Uniswap v4), so a disabled callback costs nothing:
///
///   bit 0 (0x01) VALIDATE       `onValidate`    relayed execute, ERC-4337 validation and direct execute
///   bit 1 (0x02) SIGNATURE      `onSignature`   ERC-1271 by a non-admin key (without it, denied)
///   bit 2 (0x04) BEFORE         `beforeExecute` before each call of a batch
///   bit 3 (0x08) AFTER          `afterExecute`  after each call of a batch
///   bit 4 (0x10) AFTER_FAILURE  `afterExecute`  after each failed call only (to roll back what `beforeExecute`
///                                               charged; cheaper than AFTER when success needs no check)
///
/// @dev `keyId` identifies one grant of a key on one account: it changes when a revoked key is registered again,
/// so state a hook keeps under (account, keyId) never survives a revocation. The account is `msg.sender`.
/// The root key never calls a hook. `hookData` is not signed: treat it as an untrusted hint.
interface IKeywardHook {
    /// @notice Narrows or vetoes a signed operation after its signature verified (STATICCALL; ERC-7562 rules apply:
    /// no TIMESTAMP, only storage associated with the account).
    /// @param digest The signed digest (ERC-4337 userOpHash or the signed batch's EIP-712 digest; 0 on the direct
    /// path, where the key's own transaction is the signature).
    /// @return validationData ERC-4337 layout: bits 0-159 nonzero rejects; validUntil bits 160-207 (0 = no bound);
    /// validAfter bits 208-255. The account intersects it with the key's own window.
    function onValidate(bytes32 keyId, bytes32 digest, bytes calldata hookData)
        external
        view
        returns (uint256 validationData);

    /// @notice Approves an ERC-1271 signature by a non-admin key (STATICCALL). Must return
    /// `IKeywardHook.onSignature.selector` to approve; anything else denies.
    /// @param hash The hash the application asked about.
    /// @param appDomainSeparator The ERC-7739 application domain (TypedDataSign), or 0 for PersonalSign.
    function onSignature(bytes32 keyId, bytes32 hash, bytes32 appDomainSeparator, bytes calldata hookData)
        external
        view
        returns (bytes4);

    /// @notice Runs before each call of a batch executed by the key; reverts to refuse it.
    /// @return context Passed to `afterExecute`.
    function beforeExecute(bytes32 keyId, address to, uint256 value, bytes calldata data)
        external
        returns (bytes memory context);

    /// @notice Runs after each call of a batch executed by the key. Must return
    /// `IKeywardHook.afterExecute.selector`.
    function afterExecute(bytes32 keyId, bool success, bytes calldata context) external returns (bytes4);
}
