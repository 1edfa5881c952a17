// SPDX-License-Identifier: MIT
pragma solidity 0.8.37;

import {IKeyward, KeyType} from "../interfaces/IKeyward.sol";
import {KeyLib} from "../libraries/KeyLib.sol";
import {Header} from "../types/Header.sol";
import {KeyRecord} from "../types/KeyRecord.sol";
import {Settings} from "../types/Settings.sol";
import {AccountState} from "./AccountState.sol";

/// @title KeyRegistry
/// @notice How the registry is read: keys live under the key epoch (`revokeAll` moves to a new one in one write);
/// each key is one stored word (`KeyRecord`) plus its validAfter and P256 coordinates when it has them, and an entry
/// in the key list (a secp256k1 key's signer address, or another key's hash).
abstract contract KeyRegistry is AccountState {
    /// @dev The current registration of `keyHash` (its record is 0 when there is none).
    function _stored(bytes32 keyHash) internal view returns (KeyStorage storage) {
        Layout storage $ = _state();
        return $.keys[$.header.epoch()][keyHash];
    }

    /// @dev A registered key's settings word (reads validAfter only when the key has one).
    function _settingsOf(KeyRecord record, KeyStorage storage stored) internal view returns (Settings) {
        return record.settings(record.hasValidAfter() ? stored.validAfter : 0);
    }

    /// @dev Loads a registered key for one of the paths; `ok` false when it is not registered. `paused`: the key
    /// is paused, by itself or with every key (read from the two words every path reads anyway).
    function _load(bytes32 keyHash)
        internal
        view
        returns (bool ok, bool paused, Settings settings, bytes32 keyId, KeyStorage storage stored)
    {
        Layout storage $ = _state();
        Header header = $.header;
        uint256 epoch = header.epoch();
        stored = $.keys[epoch][keyHash];
        KeyRecord record = stored.record;
        if (!record.isRegistered()) return (false, false, settings, keyId, stored);
        settings = _settingsOf(record, stored);
        keyId = _keyId(keyHash, epoch, record.grant());
        paused = record.isPaused() || header.allPaused();
        ok = true;
    }

    /// @dev The `keyId` of a registered key; reverts `KeyDoesNotExist` otherwise.
    function _keyIdOfRegistered(bytes32 keyHash) internal view returns (bytes32) {
        Layout storage $ = _state();
        uint256 epoch = $.header.epoch();
        KeyRecord record = $.keys[epoch][keyHash].record;
        if (!record.isRegistered()) revert IKeyward.KeyDoesNotExist();
        return _keyId(keyHash, epoch, record.grant());
    }

    /// @dev `keccak256(abi.encode(address(this), keyHash, epoch, grant))`.
    function _keyId(bytes32 keyHash, uint256 epoch, uint256 grantNumber) internal view returns (bytes32 id) {
        assembly ("memory-safe") {
            let m := mload(0x40)
            mstore(m, address())
            mstore(add(m, 0x20), keyHash)
            mstore(add(m, 0x40), epoch)
            mstore(add(m, 0x60), grantNumber)
            id := keccak256(m, 0x80)
        }
    }

    /// @dev The key hash behind a list entry: a signer address (no key hash is below 2^160 but with probability
    /// 2^-96, and then its record, whose type tells, settles it) or a key hash.
    function _entryKeyHash(uint256 entry, mapping(bytes32 => KeyStorage) storage keys)
        internal
        view
        returns (bytes32 keyHash)
    {
        if (entry >> 160 == 0) {
            keyHash = KeyLib.hashSecp256k1(address(uint160(entry)));
            KeyRecord r = keys[keyHash].record;
            if (r.isRegistered() && r.keyType() == KeyType.Secp256k1) return keyHash;
        }
        return bytes32(entry);
    }

    /// @dev Whether `signature` is `keyHash`'s signature of `digest` (the root's when `keyHash` is 0).
    function _verify(bytes32 keyHash, KeyStorage storage stored, bytes32 digest, bytes calldata signature)
        internal
        view
        returns (bool)
    {
        if (keyHash == KeyLib.ROOT_KEY_HASH) return KeyLib.recover(digest, signature) == address(this);
        KeyType keyType = stored.record.keyType();
        if (keyType == KeyType.Secp256k1) return KeyLib.verifySecp256k1(keyHash, digest, signature);
        return KeyLib.verify(keyType, stored.x, stored.y, digest, signature);
    }

    /// @dev Reverts unless `block.timestamp` is inside the key's window [validAfter, expiration].
    function _checkWindow(Settings settings) internal view {
        uint40 expiration = settings.expiration();
        if (expiration != 0 && block.timestamp > expiration) revert IKeyward.KeyExpired(expiration);
        uint40 validAfter = settings.validAfter();
        if (block.timestamp < validAfter) revert IKeyward.KeyNotYetValid(validAfter);
    }

    /// @dev Whether `block.timestamp` is inside the key's window.
    function _isWithin(Settings settings) internal view returns (bool) {
        uint40 expiration = settings.expiration();
        return (expiration == 0 || block.timestamp <= expiration) && block.timestamp >= settings.validAfter();
    }
}
