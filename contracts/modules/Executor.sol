// SPDX-License-Identifier: MIT
pragma solidity 0.8.37;

import {BatchedCall, Call, IKeyward} from "../interfaces/IKeyward.sol";
import {HooksLib} from "../libraries/HooksLib.sol";
import {KeyLib} from "../libraries/KeyLib.sol";
import {Settings, SettingsLib} from "../types/Settings.sol";
import {KeyRegistry} from "./KeyRegistry.sol";

/// @title Executor
/// @notice Runs batches: the root's (no hook, self-calls allowed) and a registered key's (self-calls only for admin
/// keys, the key's execution hooks around every call, `KeyUsed` once per batch). Direct entry points: Calibur's
/// `execute(BatchedCall)` and ERC-7821 `execute(mode, data)`, for the account itself or a registered secp256k1 key
/// calling from its own address.
abstract contract Executor is KeyRegistry {
    bytes32 internal constant MODE_REVERT_ON_FAILURE = bytes32(uint256(0x01) << 248);
    bytes32 internal constant MODE_CONTINUE_ON_FAILURE = bytes32(uint256(0x0101) << 240);

    /// @notice Executes a batch for the account itself or a registered secp256k1 key calling from its address.
    function execute(BatchedCall calldata batchedCall) external payable {
        _executeDirect(batchedCall.calls, batchedCall.revertOnFailure);
    }

    /// @notice ERC-7821 execute (batch modes only), for the same callers as `execute(BatchedCall)`.
    function execute(bytes32 mode, bytes calldata executionData) external payable {
        bool revertOnFailure;
        if (mode == MODE_REVERT_ON_FAILURE) revertOnFailure = true;
        else if (mode != MODE_CONTINUE_ON_FAILURE) revert IKeyward.UnsupportedExecutionMode();
        Call[] calldata calls;
        assembly ("memory-safe") {
            let p := add(executionData.offset, calldataload(executionData.offset))
            calls.length := calldataload(p)
            calls.offset := add(p, 0x20)
        }
        _executeDirect(calls, revertOnFailure);
    }

    /// @dev The direct path: the account itself, or a registered secp256k1 key whose own transaction is the
    /// signature (its window, and its AFTER_VERIFY_SIGNATURE hook with digest 0 and no hook data, apply as on the
    /// signed paths).
    function _executeDirect(Call[] calldata calls, bool revertOnFailure) internal {
        if (msg.sender == address(this)) return _executeRoot(calls, revertOnFailure);
        bytes32 keyHash = KeyLib.hashSecp256k1(msg.sender);
        (bool ok, bool paused, Settings settings, bytes32 keyId,) = _load(keyHash);
        if (!ok) revert IKeyward.Unauthorized();
        if (paused) revert IKeyward.KeyIsPaused(keyHash);
        _checkWindow(settings);
        HooksLib.KeyContext memory k = HooksLib.KeyContext(keyHash, keyId, settings, 0);
        address hook = settings.hook();
        if (HooksLib.has(hook, HooksLib.AFTER_VERIFY_SIGNATURE)) {
            HooksLib.afterVerifySignature(hook, k, bytes32(0), msg.data[0:0]);
        }
        _executeKey(calls, revertOnFailure, k);
    }

    /// @dev The root key's batch: no hook, self-calls allowed.
    function _executeRoot(Call[] calldata calls, bool revertOnFailure) internal {
        for (uint256 i; i < calls.length; ++i) {
            Call calldata c = calls[i];
            address to = c.to == address(0) ? address(this) : c.to;
            uint256 gasBefore = gasleft();
            if (!_call(to, c.value, c.data)) _onFailure(revertOnFailure, gasBefore, i, _returnData());
        }
    }

    /// @dev A registered key's batch. `KeyUsed` costs about 1,150 gas per batch and lets watchers see every use of
    /// a key on every path from the account's own logs.
    function _executeKey(Call[] calldata calls, bool revertOnFailure, HooksLib.KeyContext memory k) internal {
        emit IKeyward.KeyUsed(k.keyHash);
        uint256 n = calls.length;
        for (uint256 i; i < n; ++i) {
            _executeKeyCall(calls[i], revertOnFailure, k, (n << 128) | i);
        }
    }

    /// @dev One call of a key's batch, between the key's execution hooks.
    function _executeKeyCall(Call calldata c, bool revertOnFailure, HooksLib.KeyContext memory k, uint256 callInfo)
        private
    {
        address to = c.to == address(0) ? address(this) : c.to;
        Settings settings = k.settings;
        if (to == address(this) && !settings.isAdmin()) revert IKeyward.OnlyAdminCanSelfCall();
        address hook = settings.hook();
        bytes memory context;
        if (HooksLib.has(hook, HooksLib.BEFORE_EXECUTE)) {
            context = HooksLib.beforeExecute(hook, k, to, c.value, c.data, callInfo);
        }
        uint256 gasBefore = gasleft();
        if (_call(to, c.value, c.data)) {
            if (HooksLib.has(hook, HooksLib.AFTER_EXECUTE) && !settings.hasFlag(SettingsLib.AFTER_EXECUTE_ON_FAILURE)) {
                HooksLib.afterExecute(hook, k, true, _returnData(), context, callInfo);
            }
            return;
        }
        bytes memory output = _returnData();
        // In a reverting batch nothing needs rolling back: report the call's own revert data.
        if (HooksLib.has(hook, HooksLib.AFTER_EXECUTE) && !revertOnFailure && gasleft() > gasBefore / 63) {
            HooksLib.afterExecute(hook, k, false, output, context, callInfo);
        }
        _onFailure(revertOnFailure, gasBefore, uint128(callInfo), output);
    }

    /// @dev A failed call: the batch reverts when it must, or when the call ran out of gas (it had at most 1/64 of
    /// the gas before it left, so a relayer or bundler could have starved it on purpose).
    function _onFailure(bool revertOnFailure, uint256 gasBefore, uint256 index, bytes memory output) private view {
        if (revertOnFailure) revert IKeyward.CallFailed(output);
        if (gasleft() <= gasBefore / 63) revert IKeyward.CallOutOfGas(index);
    }

    /// @dev A call without copying its return data.
    function _call(address to, uint256 value, bytes calldata data) internal returns (bool success) {
        assembly ("memory-safe") {
            let m := mload(0x40)
            calldatacopy(m, data.offset, data.length)
            success := call(gas(), to, value, m, data.length, codesize(), 0x00)
        }
    }

    /// @dev The last call's return data.
    function _returnData() internal pure returns (bytes memory data) {
        assembly ("memory-safe") {
            data := mload(0x40)
            mstore(data, returndatasize())
            returndatacopy(add(data, 0x20), 0x00, returndatasize())
            mstore(0x40, add(add(data, 0x20), and(add(returndatasize(), 0x1f), not(0x1f))))
        }
    }
}
