// SPDX-License-Identifier: MIT
pragma solidity 0.8.37;

import {IKeyward} from "../interfaces/IKeyward.sol";
import {KeyLib} from "../libraries/KeyLib.sol";
import {NonceLaneLib} from "../libraries/NonceLaneLib.sol";
import {AccountState} from "./AccountState.sol";

/// @title NonceManager
/// @notice Nonces of relayed signed batches, in Calibur's layout (one sequence per 192-bit lane key, shared by
/// every key) with Keyward's reserved lanes (`NonceLaneLib`), which the ERC-4337 path enforces on the EntryPoint's
/// nonces too.
abstract contract NonceManager is AccountState {
    /// @dev The lane id of a key: the account's address for the root, else from its `keyId`.
    function _laneId(bytes32 keyHash, bytes32 keyId) internal view returns (uint128) {
        return keyHash == KeyLib.ROOT_KEY_HASH ? NonceLaneLib.rootLaneId(address(this)) : NonceLaneLib.laneId(keyId);
    }

    /// @dev Spends `nonce` for a key with lane id `laneId`.
    function _useNonce(uint256 nonce, uint128 laneId) internal {
        if (!NonceLaneLib.mayUse(nonce, laneId)) revert IKeyward.NonceLaneReserved();
        mapping(uint256 => uint256) storage nonces = _state().nonces;
        uint256 laneKey = nonce >> 64;
        uint256 seq = nonces[laneKey];
        if (uint64(nonce) != seq) revert IKeyward.InvalidNonce();
        nonces[laneKey] = seq + 1;
    }
}
