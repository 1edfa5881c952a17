// SPDX-License-Identifier: MIT
pragma solidity 0.8.37;

import {GasBudget, GasSpent, IKeyward, Key, KeyType} from "../interfaces/IKeyward.sol";
import {KeyLib} from "../libraries/KeyLib.sol";
import {KeyRegistry} from "../modules/KeyRegistry.sol";
import {Header} from "../types/Header.sol";
import {KeyRecord} from "../types/KeyRecord.sol";
import {Settings} from "../types/Settings.sol";

/// @title KeyViews
/// @notice The registry's views: keys, their number and order, the key epoch, gas budgets.
abstract contract KeyViews is KeyRegistry {
    /// @notice The registered key with this hash; `keyHash == 0` is the root key (the account's own address).
    function getKey(bytes32 keyHash) public view returns (Key memory key) {
        if (keyHash == KeyLib.ROOT_KEY_HASH) return Key(KeyType.Secp256k1, abi.encode(address(this)));
        Layout storage $ = _state();
        uint256 epoch = $.header.epoch();
        KeyStorage storage stored = $.keys[epoch][keyHash];
        KeyRecord record = stored.record;
        if (!record.isRegistered()) revert IKeyward.KeyDoesNotExist();
        key.keyType = record.keyType();
        key.publicKey = key.keyType == KeyType.Secp256k1
            ? abi.encode(address(uint160($.keyList[epoch][record.index()])))
            : abi.encode(stored.x, stored.y);
    }

    /// @notice Whether a key with this hash is registered (the root key is not "registered").
    function isRegistered(bytes32 keyHash) external view returns (bool) {
        return _stored(keyHash).record.isRegistered();
    }

    /// @notice The number of registered keys.
    function keyCount() external view returns (uint256) {
        return _state().header.count();
    }

    /// @notice The registered key at `index` (< `keyCount()`); order changes when keys are revoked.
    function keyAt(uint256 index) external view returns (Key memory) {
        Layout storage $ = _state();
        Header header = $.header;
        if (index >= header.count()) revert IKeyward.IndexOutOfBounds();
        uint256 epoch = header.epoch();
        return getKey(_entryKeyHash($.keyList[epoch][index], $.keys[epoch]));
    }

    /// @notice The key epoch: incremented by `revokeAll`.
    function keyEpoch() external view returns (uint256) {
        return _state().header.epoch();
    }

    /// @notice The key hash of `key`: `keccak256(abi.encode(key.keyType, keccak256(key.publicKey)))`.
    function hashKey(Key calldata key) external pure returns (bytes32) {
        return KeyLib.hash(key);
    }

    /// @notice Whether `signature` is `keyHash`'s signature of `digest`, and the key's window (see
    /// `IKeyward.verifyKeySignature`). Reads no TIMESTAMP, calls no hook and never reverts on a bad signature.
    function verifyKeySignature(bytes32 keyHash, bytes32 digest, bytes calldata signature)
        external
        view
        returns (bool valid, uint40 validAfter, uint40 validUntil)
    {
        if (keyHash == KeyLib.ROOT_KEY_HASH) {
            if (KeyLib.recover(digest, signature) != address(this)) return (false, 0, 0);
            return (true, 0, type(uint40).max);
        }
        (bool registered, bool paused, Settings settings,, KeyStorage storage stored) = _load(keyHash);
        if (!registered || paused || !_verify(keyHash, stored, digest, signature)) return (false, 0, 0);
        uint40 expiration = settings.expiration();
        return (true, settings.validAfter(), expiration == 0 ? type(uint40).max : expiration);
    }

    /// @notice A key's ERC-4337 gas budget and what was charged against it.
    function gasBudget(bytes32 keyHash) external view returns (GasBudget memory, GasSpent memory) {
        GasAccount storage account = _state().gas[_keyIdOfRegistered(keyHash)];
        return (account.budget, account.spent);
    }
}
