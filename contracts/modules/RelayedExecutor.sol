// SPDX-License-Identifier: MIT
pragma solidity 0.8.37;

import {IKeyward, SignedBatchedCall} from "../interfaces/IKeyward.sol";
import {HooksLib} from "../libraries/HooksLib.sol";
import {KeyLib} from "../libraries/KeyLib.sol";
import {SignedBatchLib} from "../libraries/SignedBatchLib.sol";
import {WrappedSignatureLib} from "../libraries/WrappedSignatureLib.sol";
import {Settings, SettingsLib} from "../types/Settings.sol";
import {EIP712} from "./EIP712.sol";
import {Executor} from "./Executor.sol";
import {NonceManager} from "./NonceManager.sol";

/// @title RelayedExecutor
/// @notice Calibur's signed batches: anyone (or the named executor) submits a batch a key signed under the account's
/// EIP-712 domain. Checked in order: executor, deadline, key (registered, not paused), nonce (and its lane), signature,
/// window, the key's AFTER_VERIFY_SIGNATURE hook. A relayed batch cannot run inside another one (a transient lock), so
/// a call target cannot nest a second signed batch in the first.
abstract contract RelayedExecutor is Executor, NonceManager, EIP712 {
    /// @dev keccak256("keyward.account.relayed-lock") - 1: the transient lock's slot.
    uint256 private constant LOCK_SLOT = 0x1cc003126e51c73741db732a86fcb598196cd582e1f8f7fc64e7668ecbb56ac3;

    /// @notice Executes a batch signed by a key, relayed by anyone (or only `executor` when set).
    function execute(SignedBatchedCall calldata signedBatchedCall, bytes calldata wrappedSignature) external payable {
        address executor = signedBatchedCall.executor;
        if (executor != address(0) && executor != msg.sender) revert IKeyward.WrongExecutor();
        uint256 deadline = signedBatchedCall.deadline;
        if (deadline != 0 && block.timestamp > deadline) revert IKeyward.SignatureExpired();
        assembly ("memory-safe") {
            if tload(LOCK_SLOT) {
                mstore(0x00, 0xab143c06) // IKeyward.Reentrancy()
                revert(0x1c, 0x04)
            }
            tstore(LOCK_SLOT, 1)
        }
        HooksLib.KeyContext memory k = _authorizeSigned(signedBatchedCall, wrappedSignature);
        if (k.keyHash == KeyLib.ROOT_KEY_HASH) {
            _executeRoot(signedBatchedCall.batchedCall.calls, signedBatchedCall.batchedCall.revertOnFailure);
        } else {
            _executeKey(signedBatchedCall.batchedCall.calls, signedBatchedCall.batchedCall.revertOnFailure, k);
        }
        assembly ("memory-safe") {
            tstore(LOCK_SLOT, 0)
        }
    }

    /// @dev Key lookup, nonce, signature, window and validation hook of a signed batch.
    function _authorizeSigned(SignedBatchedCall calldata signedBatchedCall, bytes calldata wrapped)
        internal
        returns (HooksLib.KeyContext memory k)
    {
        bytes32 keyHash = signedBatchedCall.keyHash;
        k.keyHash = keyHash;
        k.settings = SettingsLib.ROOT;
        KeyStorage storage stored = _stored(keyHash);
        if (keyHash != KeyLib.ROOT_KEY_HASH) {
            bool registered;
            bool paused;
            (registered, paused, k.settings, k.keyId, stored) = _load(keyHash);
            if (!registered) revert IKeyward.KeyDoesNotExist();
            if (paused) revert IKeyward.KeyIsPaused(keyHash);
        }
        _useNonce(signedBatchedCall.nonce, _laneId(keyHash, k.keyId));
        bytes32 digest = _hashTypedData(SignedBatchLib.hash(signedBatchedCall));
        k.operation = digest;
        (bool ok, bytes calldata signature, bytes calldata hookData) = WrappedSignatureLib.decode(wrapped);
        if (!ok || !_verify(keyHash, stored, digest, signature)) revert IKeyward.InvalidSignature();
        _checkWindow(k.settings);
        address hook = k.settings.hook();
        if (HooksLib.has(hook, HooksLib.AFTER_VERIFY_SIGNATURE)) {
            HooksLib.afterVerifySignature(hook, k, digest, hookData);
        }
    }
}
