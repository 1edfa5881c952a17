// SPDX-License-Identifier: MIT
pragma solidity 0.8.37;

import {BatchedCall, GasBudget, GasSpent, IKeyward, PackedUserOperation} from "../interfaces/IKeyward.sol";
import {GasBudgetLib} from "../libraries/GasBudgetLib.sol";
import {HooksLib} from "../libraries/HooksLib.sol";
import {KeyLib} from "../libraries/KeyLib.sol";
import {NonceLaneLib} from "../libraries/NonceLaneLib.sol";
import {ValidationDataLib} from "../libraries/ValidationDataLib.sol";
import {WrappedSignatureLib} from "../libraries/WrappedSignatureLib.sol";
import {Settings, SettingsLib} from "../types/Settings.sol";
import {Executor} from "./Executor.sol";
import {NonceManager} from "./NonceManager.sol";

/// @title ERC4337Account
/// @notice ERC-4337 v0.8: validation (signature, window, nonce lane, gas policy, the key's AFTER_VALIDATE_USER_OP
/// hook) and execution (the key is re-checked: an earlier operation in the bundle may have revoked it). On by
/// default with the canonical EntryPoint v0.8; `updateEntryPoint(address(0))` turns it off.
/// @dev Gas policy, checked by the account itself in validation without TIMESTAMP and with storage of the account
/// only: a key with SPONSORED_ONLY must name a paymaster; a key with GAS_BUDGET may make the account pay only
/// within its budget (each operation charged its maximum cost, in the gas window it names); other keys pay as in
/// Calibur. A sponsored operation reads and writes nothing for this.
abstract contract ERC4337Account is Executor, NonceManager {
    using ValidationDataLib for uint256;

    modifier onlyEntryPoint() {
        if (msg.sender != _entryPoint() || msg.sender == address(0)) revert IKeyward.NotEntryPoint();
        _;
    }

    /// @notice ERC-4337 validation (see `IKeyward.validateUserOp`).
    function validateUserOp(PackedUserOperation calldata userOp, bytes32 userOpHash, uint256 missingAccountFunds)
        external
        onlyEntryPoint
        returns (uint256 validationData)
    {
        validationData = _validateUserOp(userOp, userOpHash);
        if (missingAccountFunds != 0) {
            assembly ("memory-safe") {
                // The EntryPoint checks the deposit; a failed transfer is its concern.
                pop(call(gas(), caller(), missingAccountFunds, codesize(), 0x00, codesize(), 0x00))
            }
        }
    }

    function _validateUserOp(PackedUserOperation calldata userOp, bytes32 userOpHash) internal returns (uint256 vd) {
        (bool ok, bytes32 keyHash, bytes calldata signature,) = WrappedSignatureLib.decodeWithKeyHash(userOp.signature);
        if (!ok) return ValidationDataLib.SIG_FAILED;
        if (keyHash == KeyLib.ROOT_KEY_HASH) {
            if (!NonceLaneLib.mayUse(userOp.nonce, NonceLaneLib.rootLaneId(address(this)))) {
                revert IKeyward.NonceLaneReserved();
            }
            return KeyLib.recover(userOpHash, signature) == address(this) ? 0 : ValidationDataLib.SIG_FAILED;
        }
        (bool registered, bool paused, Settings settings, bytes32 keyId, KeyStorage storage stored) = _load(keyHash);
        if (!registered) return ValidationDataLib.SIG_FAILED;
        if (paused) revert IKeyward.KeyIsPaused(keyHash);
        // A registered key's operation runs only through `executeUserOp`, to which the EntryPoint passes the
        // validated operation itself. Any other call data would reach the account as a plain call from the
        // EntryPoint (`multicall` into `executeUserOp` with a forged operation, or `validateUserOp` itself).
        if (userOp.callData.length < 4 || bytes4(userOp.callData[0:4]) != this.executeUserOp.selector) {
            revert IKeyward.InvalidUserOpCallData();
        }
        if (!NonceLaneLib.mayUse(userOp.nonce, NonceLaneLib.laneId(keyId))) revert IKeyward.NonceLaneReserved();
        bool valid = _verify(keyHash, stored, userOpHash, signature);
        vd = settings.validationData();
        if (settings.flags() & (SettingsLib.SPONSORED_ONLY | SettingsLib.GAS_BUDGET) != 0) {
            if (!GasBudgetLib.isSponsored(userOp)) {
                if (settings.hasFlag(SettingsLib.SPONSORED_ONLY)) revert IKeyward.PaymasterRequired();
                // Charged whatever the signature, so that estimation with a stub signature measures the write; an
                // invalid signature fails the whole bundle, which undoes it (and only `executeUserOp` call data,
                // which the EntryPoint wraps itself, reaches the account after validation).
                vd = _chargeGas(userOp, keyId, vd);
            }
        }
        // An invalid signature is exactly SIG_VALIDATION_FAILED (no time range), as Calibur answers.
        if (!valid) vd = ValidationDataLib.SIG_FAILED;
        // The hook runs even after a failed signature, so that gas estimation with a stub signature is faithful.
        _afterValidate(userOp, userOpHash, vd, keyHash, keyId, settings);
    }

    function _afterValidate(
        PackedUserOperation calldata userOp,
        bytes32 userOpHash,
        uint256 vd,
        bytes32 keyHash,
        bytes32 keyId,
        Settings settings
    ) private view {
        address hook = settings.hook();
        if (!HooksLib.has(hook, HooksLib.AFTER_VALIDATE_USER_OP)) return;
        (,,, bytes calldata hookData) = WrappedSignatureLib.decodeWithKeyHash(userOp.signature);
        HooksLib.afterValidateUserOp(
            hook, HooksLib.KeyContext(keyHash, keyId, settings, userOpHash), userOp, userOpHash, vd, hookData
        );
    }

    /// @dev A signed, unsponsored operation of a key with GAS_BUDGET: charges its maximum cost to the key's budget
    /// and narrows `vd` to the gas window it was charged to.
    function _chargeGas(PackedUserOperation calldata userOp, bytes32 keyId, uint256 vd) internal returns (uint256) {
        GasAccount storage account = _state().gas[keyId];
        GasBudget memory budget = account.budget;
        GasSpent memory spent = account.spent;
        uint256 cost = GasBudgetLib.maxCost(userOp);
        uint256 total = spent.total + cost;
        if (budget.lifetime == 0 && budget.perPeriod == 0) revert IKeyward.GasBudgetExceeded(2, total, 0);
        if (budget.lifetime != 0 && total > budget.lifetime) {
            revert IKeyward.GasBudgetExceeded(2, total, budget.lifetime);
        }
        uint256 window = spent.window;
        uint256 inWindow = spent.inWindow;
        if (budget.perPeriod != 0) {
            (bool claimed, uint256 claim) = WrappedSignatureLib.gasWindow(userOp.signature);
            if (claimed && claim != window) {
                if (claim < window) revert IKeyward.StaleGasWindow(claim, window);
                if (claim > type(uint40).max) revert IKeyward.StaleGasWindow(claim, window);
                (window, inWindow) = (claim, 0);
            }
            inWindow += cost;
            if (inWindow > budget.perPeriod) revert IKeyward.GasBudgetExceeded(1, inWindow, budget.perPeriod);
            vd = vd.intersect(GasBudgetLib.windowValidationData(window, budget.period));
        }
        if (total > type(uint96).max) revert IKeyward.GasBudgetExceeded(2, total, type(uint96).max);
        account.spent = GasSpent(uint40(window), uint96(inWindow), uint96(total));
        return vd;
    }

    /// @notice ERC-4337 execution: `userOp.callData = executeUserOp.selector ++ abi.encode(BatchedCall)`. The key's
    /// execution hooks see `userOpHash` as the operation (the fourth trailing word).
    function executeUserOp(PackedUserOperation calldata userOp, bytes32 userOpHash) external onlyEntryPoint {
        BatchedCall calldata batch;
        bytes calldata callData = userOp.callData;
        assembly ("memory-safe") {
            batch := add(add(callData.offset, 4), calldataload(add(callData.offset, 4)))
        }
        bytes32 keyHash = bytes32(userOp.signature[0:32]);
        if (keyHash == KeyLib.ROOT_KEY_HASH) return _executeRoot(batch.calls, batch.revertOnFailure);
        // Re-checked at execution: an operation earlier in the bundle may have revoked or updated the key.
        (bool registered, bool paused, Settings settings, bytes32 keyId,) = _load(keyHash);
        if (!registered) revert IKeyward.KeyDoesNotExist();
        if (paused) revert IKeyward.KeyIsPaused(keyHash);
        _checkWindow(settings);
        _executeKey(batch.calls, batch.revertOnFailure, HooksLib.KeyContext(keyHash, keyId, settings, userOpHash));
    }
}
