// SPDX-License-Identifier: MIT
pragma solidity ^0.8.30;

// Self-contained on purpose: the Rust crates generate bindings from this file with alloy's `sol!`.

/// @notice ERC-4337 v0.7/v0.8 packed user operation.
struct PackedUserOperation {
    address sender;
    uint256 nonce;
    bytes initCode;
    bytes callData;
    bytes32 accountGasLimits;
    uint256 preVerificationGas;
    bytes32 gasFees;
    bytes paymasterAndData;
    bytes signature;
}

/// @title IValidationHook
/// @notice The validation callbacks of a key's hook: Uniswap Calibur's interface, unchanged. They are called with
/// STATICCALL and may only revert (or answer anything but their selector) to refuse.
interface IValidationHook {
    /// @notice After `validateUserOp` computed `validationData` (also when the signature is invalid, so gas
    /// estimation with a stub signature is faithful). A revert refuses the operation (ERC-7562 rules apply).
    function afterValidateUserOp(
        bytes32 keyHash,
        PackedUserOperation calldata userOp,
        bytes32 userOpHash,
        uint256 validationData,
        bytes calldata hookData
    ) external view returns (bytes4 selector);

    /// @notice After a wrapped ERC-1271 signature verified and the key is inside its window; `digest` is the hash
    /// the application asked about. Refusing makes `isValidSignature` answer the failure value.
    function afterIsValidSignature(bytes32 keyHash, bytes32 digest, bytes calldata hookData)
        external
        view
        returns (bytes4 selector);

    /// @notice After a relayed batch's signature verified and the key is inside its window; `digest` is the
    /// batch's EIP-712 digest. Keyward also calls it on the direct path (the key's own transaction), with `digest`
    /// 0 and empty `hookData`.
    function afterVerifySignature(bytes32 keyHash, bytes32 digest, bytes calldata hookData)
        external
        view
        returns (bytes4 selector);
}

/// @title IExecutionHook
/// @notice The execution callbacks of a key's hook: Uniswap Calibur's interface, unchanged.
interface IExecutionHook {
    /// @notice Before each call of a batch the key executes; a revert refuses the call (and the batch). Keyward
    /// appends keyId, settings, `(batchLength << 128) | callIndex` and the operation (see `IHook`).
    /// @return selector Must be `beforeExecute.selector`.
    /// @return context Passed to `afterExecute`.
    function beforeExecute(bytes32 keyHash, address to, uint256 value, bytes calldata data)
        external
        returns (bytes4 selector, bytes memory context);

    /// @notice After each call of a batch the key executes (with the AFTER_EXECUTE_ON_FAILURE settings flag: only
    /// after calls that failed). `output` is the call's return or revert data. Trailer as for `beforeExecute`.
    /// @return selector Must be `afterExecute.selector`.
    function afterExecute(bytes32 keyHash, bool success, bytes calldata output, bytes calldata beforeExecuteData)
        external
        returns (bytes4 selector);
}

/// @title IHook
/// @notice A key's hook. Which callbacks the account makes is chosen by the low 5 bits of the hook's address, as
/// in Uniswap Calibur (and Uniswap v4), so a disabled callback costs nothing:
///
///   bit 0 (0x01) AFTER_VERIFY_SIGNATURE   relayed batches (and Keyward's direct path)
///   bit 1 (0x02) AFTER_VALIDATE_USER_OP   ERC-4337 validation
///   bit 2 (0x04) AFTER_IS_VALID_SIGNATURE ERC-1271 (a non-admin key's signature needs an approving hook)
///   bit 3 (0x08) BEFORE_EXECUTE           before each call of a batch
///   bit 4 (0x10) AFTER_EXECUTE            after each call of a batch
///
/// Keyward extension, invisible to a Calibur hook: after the ABI-encoded arguments of every callback, the account
/// appends trailing words (ABI decoders ignore trailing calldata, as ERC-2771's appended sender shows): three after
/// the validation callbacks, four after the execution callbacks (`beforeExecute`, `afterExecute`):
///
///   keyId      this registration of the key (`IKeyward.keyIdOf`): fresh on every registration and per account,
///              so state kept under (account, keyId) never survives a revocation
///   settings   the key's settings word (flags, window)
///   extra      ERC-1271: the ERC-7739 application domain separator (0 for nested PersonalSign);
///              execution: `(batchLength << 128) | callIndex`; otherwise 0
///   operation  execution callbacks only: the digest that authorized the batch. ERC-4337: the `userOpHash` (as the
///              EntryPoint handed it to `executeUserOp`); relayed batch: the EIP-712 digest the key signed
///              (`IKeyward.hashSignedBatchedCall`); direct path and ERC-7710 redemption (unsigned, the caller is the
///              key): 0. The validation callbacks already receive the digest as an argument.
///
/// Read the trailer from the end of calldata: execution callbacks `keyId = calldataload(calldatasize() - 0x80)`,
/// `settings` at -0x60, `extra` at -0x40, `operation` at -0x20; validation callbacks `keyId` at -0x60, `settings`
/// at -0x40, `extra` at -0x20. The account is `msg.sender`. The root key never calls a hook. `hookData` is not
/// signed: treat it as an untrusted hint. A hook may check a co-signature by another key of the account with
/// `IKeyward.verifyKeySignature` (a view; no TIMESTAMP) over a digest built with `IKeyward.hashTypedData`.
interface IHook is IValidationHook, IExecutionHook {}
