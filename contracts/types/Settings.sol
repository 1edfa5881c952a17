// SPDX-License-Identifier: MIT
pragma solidity ^0.8.30;

/// @dev A key's settings, as `getKeySettings`, `grant` and `update` carry them:
///
///   bit 255     252 251  248 247            208 207    201 200 199          160 159                0
///       |   zero    | flags |   validAfter     |  zero   |adm|  expiration   |        hook         |
///       |           |(4 bit)|   uint40         |         |   |  uint40       |      address        |
///
/// Bits 0-200 are Uniswap Calibur's layout (a Calibur client's word is a Keyward word). Keyward adds `validAfter`
/// (where ERC-4337 validationData keeps validAfter) and the flags below; bits 201-207 and 252-255 must be zero.
///
/// Flags (bit 248 + n):
///   0 AFTER_EXECUTE_ON_FAILURE  the hook's `afterExecute` runs only after calls that failed (a hook that only
///                               rolls back what `beforeExecute` charged needs nothing after a success)
///   1 SPONSORED_ONLY            ERC-4337 operations signed by the key must name a paymaster
///   2 GAS_BUDGET                the account pays the key's ERC-4337 gas only within its gas budget
///                               (`setGasBudget`); without a budget it pays none
///   3 SCHEDULED                 the key may act only inside its recurring weekly schedule in UTC (`setSchedule`,
///                               `ScheduleLib`); without a schedule it may never act
type Settings is uint256;

using SettingsLib for Settings global;

/// @title SettingsLib
/// @notice Getters and checks for the settings word.
library SettingsLib {
    uint256 internal constant HOOK_MASK = (1 << 160) - 1;
    uint256 internal constant UINT40_MASK = (1 << 40) - 1;
    uint256 internal constant EXPIRATION_SHIFT = 160;
    uint256 internal constant ADMIN_BIT = 200;
    uint256 internal constant VALID_AFTER_SHIFT = 208;
    uint256 internal constant FLAGS_SHIFT = 248;
    uint256 internal constant FLAGS_MASK = 0x0f;

    uint256 internal constant AFTER_EXECUTE_ON_FAILURE = 1 << 0;
    uint256 internal constant SPONSORED_ONLY = 1 << 1;
    uint256 internal constant GAS_BUDGET = 1 << 2;
    uint256 internal constant SCHEDULED = 1 << 3;

    /// @dev Bits 201-207 and 252-255 (room for two more flags, 252-253, kept zero until they mean something).
    uint256 internal constant RESERVED_MASK = (0x0f << 252) | (0x7f << 201);

    /// @dev The root key's settings: admin, never expires, no hook.
    Settings internal constant ROOT = Settings.wrap(1 << 200);

    function hook(Settings s) internal pure returns (address h) {
        h = address(uint160(Settings.unwrap(s)));
    }

    function expiration(Settings s) internal pure returns (uint40 e) {
        e = uint40(Settings.unwrap(s) >> EXPIRATION_SHIFT);
    }

    function isAdmin(Settings s) internal pure returns (bool a) {
        a = (Settings.unwrap(s) >> ADMIN_BIT) & 1 == 1;
    }

    function validAfter(Settings s) internal pure returns (uint40 v) {
        v = uint40(Settings.unwrap(s) >> VALID_AFTER_SHIFT);
    }

    /// @dev The six flag bits, as `flags & SPONSORED_ONLY` etc. test them.
    function flags(Settings s) internal pure returns (uint256 f) {
        f = (Settings.unwrap(s) >> FLAGS_SHIFT) & FLAGS_MASK;
    }

    function hasFlag(Settings s, uint256 flag) internal pure returns (bool) {
        return (Settings.unwrap(s) >> FLAGS_SHIFT) & flag != 0;
    }

    function isCanonical(Settings s) internal pure returns (bool) {
        return Settings.unwrap(s) & RESERVED_MASK == 0;
    }

    /// @dev ERC-4337 validationData for a valid signature: validUntil = expiration, validAfter = validAfter - 1.
    /// The key is valid from its validAfter second through its expiration second on every path, and EntryPoint
    /// v0.8 treats validAfter as exclusive (`block.timestamp <= validAfter` is out of range), so the account packs
    /// the second before. Only these two fields are copied: the admin bit (inside the validUntil field) never leaks.
    function validationData(Settings s) internal pure returns (uint256 vd) {
        uint256 raw = Settings.unwrap(s);
        uint256 start = (raw >> VALID_AFTER_SHIFT) & UINT40_MASK;
        vd = (raw & (UINT40_MASK << EXPIRATION_SHIFT)) | (start == 0 ? 0 : (start - 1) << VALID_AFTER_SHIFT);
    }
}
