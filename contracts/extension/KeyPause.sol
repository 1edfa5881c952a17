// SPDX-License-Identifier: MIT
pragma solidity 0.8.37;

import {IKeyward} from "../interfaces/IKeyward.sol";
import {KeyLib} from "../libraries/KeyLib.sol";
import {KeyRegistry} from "../modules/KeyRegistry.sol";
import {Header} from "../types/Header.sol";
import {KeyRecord} from "../types/KeyRecord.sol";

/// @title KeyPause
/// @notice A reversible circuit breaker: the account itself (root, or an admin key's batch) pauses one key or every
/// non-root key, and resumes them later; nothing else about a key changes (settings, hook state, gas budget, nonce
/// lanes, schedule all stay). A paused key is refused on every path; the root never is. Pausing every key pauses
/// admin keys too, so a paused admin cannot resume itself.
/// @dev A key's pause is a bit of its stored record outside the settings bits (`update` keeps it, `revoke` clears it
/// with the record, a new registration starts unpaused); the pause of every key is a bit of the header (kept across
/// `revokeAll`). Both words are read by every key path anyway, so a key that is never paused pays nothing for it.
abstract contract KeyPause is KeyRegistry {
    /// @notice Pauses one key (a no-op when it is paused already).
    function pauseKey(bytes32 keyHash) external onlyThis {
        _setKeyPaused(keyHash, true);
    }

    /// @notice Resumes one key paused by `pauseKey` (a no-op when it is not). A key stays refused while every key
    /// is paused (`pauseAll`).
    function resumeKey(bytes32 keyHash) external onlyThis {
        _setKeyPaused(keyHash, false);
    }

    /// @notice Pauses every non-root key, admin keys included, and every key granted until `resumeAll`.
    function pauseAll() external onlyThis {
        Layout storage $ = _state();
        Header header = $.header;
        if (header.allPaused()) return;
        $.header = header.withAllPaused(true);
        emit IKeyward.AllKeysPaused();
    }

    /// @notice Ends `pauseAll`; keys paused one by one stay paused.
    function resumeAll() external onlyThis {
        Layout storage $ = _state();
        Header header = $.header;
        if (!header.allPaused()) return;
        $.header = header.withAllPaused(false);
        emit IKeyward.AllKeysResumed();
    }

    /// @notice Whether the key is refused for being paused (by itself or with every key); false for the root.
    function isPaused(bytes32 keyHash) external view returns (bool) {
        (bool key, bool all) = pauseStatus(keyHash);
        return key || all;
    }

    /// @notice The key's own pause (`pauseKey`) and the pause of every key (`pauseAll`); the root's own is always
    /// false. Reverts `KeyDoesNotExist` for a key that is not registered.
    function pauseStatus(bytes32 keyHash) public view returns (bool key, bool all) {
        if (keyHash == KeyLib.ROOT_KEY_HASH) return (false, false);
        Layout storage $ = _state();
        Header header = $.header;
        KeyRecord record = $.keys[header.epoch()][keyHash].record;
        if (!record.isRegistered()) revert IKeyward.KeyDoesNotExist();
        return (record.isPaused(), header.allPaused());
    }

    function _setKeyPaused(bytes32 keyHash, bool paused) private {
        if (keyHash == KeyLib.ROOT_KEY_HASH) revert IKeyward.CannotPauseRootKey();
        KeyStorage storage stored = _stored(keyHash);
        KeyRecord record = stored.record;
        if (!record.isRegistered()) revert IKeyward.KeyDoesNotExist();
        if (record.isPaused() == paused) return;
        stored.record = record.withPaused(paused);
        if (paused) emit IKeyward.KeyPaused(keyHash);
        else emit IKeyward.KeyResumed(keyHash);
    }
}
