// SPDX-License-Identifier: MIT
pragma solidity 0.8.37;

import {GasBudget, GasSpent, IKeyward} from "../interfaces/IKeyward.sol";
import {Header} from "../types/Header.sol";
import {KeyRecord} from "../types/KeyRecord.sol";

/// @title AccountState
/// @notice The account's storage (one ERC-7201 namespace, shared by `Keyward` and `KeywardExtension`, which runs
/// by DELEGATECALL) and the one authorization every management function shares: the account calling itself (the
/// root's own transaction, or an admin key's batch).
abstract contract AccountState {
    /// @dev One registration of a key: its stored word, and the validAfter and P256 coordinates when it has them.
    struct KeyStorage {
        KeyRecord record;
        uint256 validAfter;
        uint256 x;
        uint256 y;
    }

    /// @dev A key registration's ERC-4337 gas budget and spending (keyed by `keyId`, so a new registration starts
    /// empty).
    struct GasAccount {
        GasBudget budget;
        GasSpent spent;
    }

    /// @custom:storage-location erc7201:keyward.account.v2
    struct Layout {
        Header header;
        /// @dev The EntryPoint, when `header.entryPointOverridden()`.
        address entryPoint;
        mapping(uint256 epoch => mapping(bytes32 keyHash => KeyStorage)) keys;
        /// @dev The key list: a secp256k1 key's signer address, or another key's hash.
        mapping(uint256 epoch => mapping(uint256 index => uint256 entry)) keyList;
        mapping(uint256 laneKey => uint256 seq) nonces;
        mapping(bytes32 keyId => GasAccount) gas;
        mapping(address spender => uint256) nativeAllowance;
        /// @dev A key registration's weekly schedule (`ScheduleLib`; keyed by `keyId`, so a new registration starts
        /// without one). Read only for keys whose settings carry SCHEDULED.
        mapping(bytes32 keyId => uint256 schedule) schedules;
    }

    /// @dev keccak256(abi.encode(uint256(keccak256("keyward.account.v2")) - 1)) & ~bytes32(uint256(0xff))
    bytes32 internal constant STORAGE_ROOT = 0x1076cd6b71505057374da297140aa7db56153a63bd050936b89a9cd15467dc00;

    /// @dev ERC-4337 EntryPoint v0.8, the default.
    address internal constant DEFAULT_ENTRY_POINT = 0x4337084D9E255Ff0702461CF8895CE9E3b5Ff108;

    function _state() internal pure returns (Layout storage $) {
        assembly ("memory-safe") {
            $.slot := STORAGE_ROOT
        }
    }

    modifier onlyThis() {
        if (msg.sender != address(this)) revert IKeyward.Unauthorized();
        _;
    }

    /// @dev The EntryPoint the account trusts (`address(0)`: ERC-4337 off).
    function _entryPoint() internal view returns (address) {
        Layout storage $ = _state();
        return $.header.entryPointOverridden() ? $.entryPoint : DEFAULT_ENTRY_POINT;
    }
}
