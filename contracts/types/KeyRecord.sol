// SPDX-License-Identifier: MIT
pragma solidity ^0.8.30;

import {KeyType} from "../interfaces/IKeyward.sol";
import {Settings, SettingsLib} from "./Settings.sol";

/// @dev A registered key's stored word: its settings (without validAfter, kept in a side slot when set) and the
/// registry's bookkeeping, so every path reads one slot for a key:
///
///   bit 255       232 231 230       210 209 208 207 206        201 200 199          160 159               0
///       | grant (24)  | P | index (21)  |type | vA | flags (6)    |adm|  expiration   |        hook        |
///
/// - hook, expiration, admin, flags: the settings word's bits 0-200 and 248-253.
/// - vA: the key has a validAfter (stored beside the word; most keys have none and pay no read for it).
/// - type: the key type + 1; 0 means "not registered" (a cleared word).
/// - index: the key's position in the key list.
/// - P: the key is paused (`pauseKey`); outside the settings bits, so `update` never clears it, and a new
///   registration starts unpaused. Every path reads this word anyway: checking it costs no storage read.
/// - grant: the registration's number in the current key epoch (part of the key's `keyId`).
type KeyRecord is uint256;

using KeyRecordLib for KeyRecord global;

/// @title KeyRecordLib
/// @notice Getters and setters for the stored key word.
library KeyRecordLib {
    uint256 private constant CORE_MASK = (1 << 201) - 1; // hook, expiration, admin
    uint256 private constant FLAGS_SHIFT = 201;
    uint256 private constant VALID_AFTER_BIT = 207;
    uint256 private constant TYPE_SHIFT = 208;
    uint256 private constant INDEX_SHIFT = 210;
    uint256 private constant PAUSED_BIT = 231;
    uint256 private constant GRANT_SHIFT = 232;
    uint256 private constant SETTINGS_MASK = (1 << TYPE_SHIFT) - 1;

    /// @dev The largest list index (and so the most keys registered at once), and the most registrations per epoch.
    uint256 internal constant MAX_INDEX = (1 << 21) - 1;
    uint256 internal constant MAX_GRANT = (1 << 24) - 1;

    /// @dev A registered key's word. `settings` must be canonical; `index` <= MAX_INDEX, `grant` <= MAX_GRANT.
    function pack(Settings s, KeyType t, uint256 i, uint256 g) internal pure returns (KeyRecord) {
        return KeyRecord.wrap(
            _settingsBits(s) | ((uint256(uint8(t)) + 1) << TYPE_SHIFT) | (i << INDEX_SHIFT) | (g << GRANT_SHIFT)
        );
    }

    /// @dev The same registration with other settings.
    function withSettings(KeyRecord r, Settings s) internal pure returns (KeyRecord) {
        return KeyRecord.wrap((KeyRecord.unwrap(r) & ~SETTINGS_MASK) | _settingsBits(s));
    }

    /// @dev The same registration, paused or not.
    function withPaused(KeyRecord r, bool paused) internal pure returns (KeyRecord) {
        uint256 raw = KeyRecord.unwrap(r) & ~uint256(1 << PAUSED_BIT);
        return KeyRecord.wrap(paused ? raw | (1 << PAUSED_BIT) : raw);
    }

    function isPaused(KeyRecord r) internal pure returns (bool) {
        return (KeyRecord.unwrap(r) >> PAUSED_BIT) & 1 == 1;
    }

    /// @dev The same registration at another list index.
    function withIndex(KeyRecord r, uint256 i) internal pure returns (KeyRecord) {
        return KeyRecord.wrap((KeyRecord.unwrap(r) & ~(MAX_INDEX << INDEX_SHIFT)) | (i << INDEX_SHIFT));
    }

    function isRegistered(KeyRecord r) internal pure returns (bool) {
        return (KeyRecord.unwrap(r) >> TYPE_SHIFT) & 3 != 0;
    }

    /// @dev The key type of a registered key.
    function keyType(KeyRecord r) internal pure returns (KeyType) {
        return KeyType(((KeyRecord.unwrap(r) >> TYPE_SHIFT) & 3) - 1);
    }

    function index(KeyRecord r) internal pure returns (uint256) {
        return (KeyRecord.unwrap(r) >> INDEX_SHIFT) & MAX_INDEX;
    }

    function grant(KeyRecord r) internal pure returns (uint256) {
        return KeyRecord.unwrap(r) >> GRANT_SHIFT;
    }

    function hasValidAfter(KeyRecord r) internal pure returns (bool) {
        return (KeyRecord.unwrap(r) >> VALID_AFTER_BIT) & 1 == 1;
    }

    /// @dev The settings word, given the key's validAfter (0 when `hasValidAfter` is false).
    function settings(KeyRecord r, uint256 validAfter) internal pure returns (Settings) {
        uint256 raw = KeyRecord.unwrap(r);
        return Settings.wrap(
            (raw & CORE_MASK) | (((raw >> FLAGS_SHIFT) & SettingsLib.FLAGS_MASK) << SettingsLib.FLAGS_SHIFT)
                | (validAfter << SettingsLib.VALID_AFTER_SHIFT)
        );
    }

    function _settingsBits(Settings s) private pure returns (uint256) {
        return (Settings.unwrap(s) & CORE_MASK) | (s.flags() << FLAGS_SHIFT)
            | (s.validAfter() == 0 ? 0 : 1 << VALID_AFTER_BIT);
    }
}
