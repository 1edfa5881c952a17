// SPDX-License-Identifier: MIT
pragma solidity 0.8.37;

import {GasBudget, GasSpent, IKeyward} from "../interfaces/IKeyward.sol";
import {KeyRegistry} from "../modules/KeyRegistry.sol";
import {Header} from "../types/Header.sol";

/// @title AccountSettings
/// @notice The account's own settings, changed only by the account itself (root, or an admin key's batch): the
/// EntryPoint, the EIP-712 salt, nonce lanes, and a key's gas budget.
abstract contract AccountSettings is KeyRegistry {
    /// @notice Sets the ERC-4337 EntryPoint; `address(0)` disables ERC-4337.
    function updateEntryPoint(address entryPoint) external onlyThis {
        Layout storage $ = _state();
        $.entryPoint = entryPoint;
        $.header = $.header.withEntryPointOverridden();
        emit IKeyward.EntryPointUpdated(entryPoint);
    }

    /// @notice Sets the high 96 bits of the EIP-712 salt: every outstanding EIP-712 and ERC-1271 signature stops
    /// verifying.
    function updateSalt(uint96 prefix) external onlyThis {
        Layout storage $ = _state();
        Header header = $.header;
        if (header.saltPrefix() != prefix) {
            $.header = header.withSaltPrefix(prefix);
            emit IKeyward.EIP712DomainChanged();
        }
    }

    /// @notice Moves lane `newNonce >> 64` forward to sequence `uint64(newNonce)` (at most 65,535 at once).
    function invalidateNonce(uint256 newNonce) external onlyThis {
        mapping(uint256 => uint256) storage nonces = _state().nonces;
        uint256 laneKey = newNonce >> 64;
        uint256 current = nonces[laneKey];
        uint256 target = uint64(newNonce);
        if (target <= current) revert IKeyward.InvalidNonce();
        if (target - current > type(uint16).max) revert IKeyward.ExcessiveInvalidation();
        nonces[laneKey] = target;
        emit IKeyward.NonceInvalidated(newNonce);
    }

    /// @notice Sets a key's ERC-4337 gas budget (used when its settings carry GAS_BUDGET); spending restarts.
    function setGasBudget(bytes32 keyHash, GasBudget calldata budget) external onlyThis {
        if (budget.perPeriod != 0 && budget.period == 0) revert IKeyward.InvalidGasBudget();
        GasAccount storage account = _state().gas[_keyIdOfRegistered(keyHash)];
        account.budget = budget;
        account.spent = GasSpent(0, 0, 0);
        emit IKeyward.GasBudgetSet(keyHash, budget);
    }
}
