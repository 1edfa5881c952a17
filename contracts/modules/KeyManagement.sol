// SPDX-License-Identifier: MIT
pragma solidity 0.8.37;

import {IKeyward, Key, KeyType} from "../interfaces/IKeyward.sol";
import {HooksLib} from "../libraries/HooksLib.sol";
import {KeyLib} from "../libraries/KeyLib.sol";
import {Header, HeaderLib} from "../types/Header.sol";
import {KeyRecord, KeyRecordLib} from "../types/KeyRecord.sol";
import {Settings, SettingsLib} from "../types/Settings.sol";
import {KeyRegistry} from "./KeyRegistry.sol";

/// @title KeyManagement
/// @notice Registering, granting, updating and revoking keys, one or all (the account itself only), and the two
/// views hooks read on-chain (settings and `keyId`).
abstract contract KeyManagement is KeyRegistry {
    /// @notice Registers `key` with empty settings (Calibur semantics: an existing key is left as it is).
    function register(Key calldata key) external onlyThis {
        _register(key, Settings.wrap(0), false);
    }

    /// @notice Registers `key` with `settings` in one step; reverts `KeyAlreadyRegistered` for an existing key.
    function grant(Key calldata key, uint256 settings) external onlyThis {
        _register(key, _checked(settings), true);
    }

    /// @notice Replaces a registered key's settings word.
    function update(bytes32 keyHash, uint256 settings) external onlyThis {
        if (keyHash == KeyLib.ROOT_KEY_HASH) revert IKeyward.CannotUpdateRootKey();
        Settings s = _checked(settings);
        KeyStorage storage stored = _stored(keyHash);
        KeyRecord record = stored.record;
        if (!record.isRegistered()) revert IKeyward.KeyDoesNotExist();
        stored.record = record.withSettings(s);
        if (s.validAfter() != 0) stored.validAfter = s.validAfter();
        emit IKeyward.KeySettingsUpdated(keyHash, settings);
    }

    /// @notice Revokes a key on every path at once.
    function revoke(bytes32 keyHash) external onlyThis {
        Layout storage $ = _state();
        Header header = $.header;
        uint256 epoch = header.epoch();
        mapping(bytes32 => KeyStorage) storage keys = $.keys[epoch];
        KeyRecord record = keys[keyHash].record;
        if (!record.isRegistered()) revert IKeyward.KeyDoesNotExist();
        uint256 index = record.index();
        uint256 last = header.count() - 1;
        if (index != last) {
            // The last key moves into the freed place. Its old slot, already read, is cleared (the refund pays for
            // the write); a revoked last key's slot is left as it is (past the end, never read).
            mapping(uint256 => uint256) storage list = $.keyList[epoch];
            uint256 moved = list[last];
            list[index] = moved;
            list[last] = 0;
            KeyStorage storage movedKey = keys[_entryKeyHash(moved, keys)];
            movedKey.record = movedKey.record.withIndex(index);
        }
        // A cleared word unregisters the key on every path; its side slots are never read without it.
        keys[keyHash].record = KeyRecord.wrap(0);
        $.header = header.withCount(last);
        emit IKeyward.Revoked(keyHash);
    }

    /// @notice Revokes every non-root key at once ("log out everywhere"); also the safe step before re-delegating.
    function revokeAll() external onlyThis {
        Layout storage $ = _state();
        Header header = $.header;
        uint256 epoch = header.epoch() + 1;
        // A wrapped epoch would bring back the keys of epoch 0.
        if (epoch > HeaderLib.MAX_EPOCH) revert IKeyward.TooManyKeys();
        $.header = header.withEpoch(epoch).withCount(0).withGrants(0);
        emit IKeyward.AllKeysRevoked(epoch);
    }

    /// @notice The key's settings word; the root key's are `1 << 200`.
    function getKeySettings(bytes32 keyHash) external view returns (uint256) {
        if (keyHash == KeyLib.ROOT_KEY_HASH) return Settings.unwrap(SettingsLib.ROOT);
        KeyStorage storage stored = _stored(keyHash);
        KeyRecord record = stored.record;
        if (!record.isRegistered()) revert IKeyward.KeyDoesNotExist();
        return Settings.unwrap(_settingsOf(record, stored));
    }

    /// @notice The identity of this registration of the key (0 for the root).
    function keyIdOf(bytes32 keyHash) external view returns (bytes32) {
        if (keyHash == KeyLib.ROOT_KEY_HASH) return bytes32(0);
        return _keyIdOfRegistered(keyHash);
    }

    /// @dev Validates a settings word from outside: canonical, and a hook that enables at least one callback.
    function _checked(uint256 settings) internal pure returns (Settings s) {
        s = Settings.wrap(settings);
        if (!s.isCanonical()) revert IKeyward.NonCanonicalSettings(settings);
        address hook = s.hook();
        if (hook != address(0) && !HooksLib.hasAny(hook)) revert IKeyward.HookWithoutCallbacks(hook);
    }

    function _register(Key calldata key, Settings settings, bool isGrant) internal {
        bytes32 keyHash = KeyLib.hash(key);
        Layout storage $ = _state();
        Header header = $.header;
        uint256 epoch = header.epoch();
        KeyStorage storage stored = $.keys[epoch][keyHash];
        if (stored.record.isRegistered()) {
            if (isGrant) revert IKeyward.KeyAlreadyRegistered(keyHash);
            return;
        }
        uint256 entry = _storePublicKey(key, stored);
        uint256 index = header.count();
        uint256 grantNumber = header.grants() + 1;
        if (index >= KeyRecordLib.MAX_INDEX || grantNumber > KeyRecordLib.MAX_GRANT) revert IKeyward.TooManyKeys();

        $.keyList[epoch][index] = entry;
        stored.record = KeyRecordLib.pack(settings, key.keyType, index, grantNumber);
        if (settings.validAfter() != 0) stored.validAfter = settings.validAfter();
        $.header = header.withCount(index + 1).withGrants(grantNumber);
        emit IKeyward.Registered(keyHash, key);
        if (isGrant) emit IKeyward.KeySettingsUpdated(keyHash, Settings.unwrap(settings));
    }

    /// @dev Checks the public key's encoding and returns the key's list entry: a secp256k1 key's signer address
    /// (nothing else is stored), or the key hash of a P256 / WebAuthn key, whose (x, y) go to `stored`.
    function _storePublicKey(Key calldata key, KeyStorage storage stored) internal returns (uint256 entry) {
        bytes calldata pk = key.publicKey;
        if (key.keyType == KeyType.Secp256k1) {
            if (pk.length != 32) revert IKeyward.InvalidPublicKey();
            entry = uint256(bytes32(pk));
            if (entry >> 160 != 0 || entry == 0) revert IKeyward.InvalidPublicKey();
            if (entry == uint160(address(this))) revert IKeyward.CannotRegisterRootKey();
            return entry;
        }
        if (pk.length != 64) revert IKeyward.InvalidPublicKey();
        uint256 x = uint256(bytes32(pk[0:32]));
        uint256 y = uint256(bytes32(pk[32:64]));
        if (x == 0 || y == 0) revert IKeyward.InvalidPublicKey();
        stored.x = x;
        stored.y = y;
        entry = uint256(KeyLib.hash(key));
    }
}
