// SPDX-License-Identifier: MIT
pragma solidity ^0.8.30;

import {KeyType} from "../../contracts/interfaces/IKeyward.sol";
import {KeyRecord, KeyRecordLib} from "../../contracts/types/KeyRecord.sol";
import {Settings, SettingsLib} from "../../contracts/types/Settings.sol";
import {Test} from "forge-std/Test.sol";

/// @notice The stored key word (types/KeyRecord.sol) as a library: packing a canonical settings word with the
/// registry's bookkeeping gives every field back, setters touch only their field, and the settings read back never
/// carry a bookkeeping bit.
contract KeyRecordTest is Test {
    uint256 internal constant MAX_INDEX = (1 << 21) - 1;
    uint256 internal constant PAUSED_BIT = 231;
    uint256 internal constant MAX_GRANT = (1 << 24) - 1;

    /// @dev A canonical settings word from any word (reserved bits cleared).
    function _canonical(uint256 raw) internal pure returns (Settings s) {
        s = Settings.wrap(raw & ~SettingsLib.RESERVED_MASK);
        assertTrue(s.isCanonical());
    }

    function testFuzz_keyRecord_packRoundTrip(uint256 raw, uint8 t, uint256 index, uint256 grant) public pure {
        Settings s = _canonical(raw);
        KeyType keyType = KeyType(t % 3);
        index = bound(index, 0, MAX_INDEX);
        grant = bound(grant, 0, MAX_GRANT);
        KeyRecord r = KeyRecordLib.pack(s, keyType, index, grant);
        assertTrue(r.isRegistered());
        assertEq(uint8(r.keyType()), uint8(keyType));
        assertEq(r.index(), index);
        assertEq(r.grant(), grant);
        assertEq(r.hasValidAfter(), s.validAfter() != 0);
        // The settings word comes back whole when given the validAfter kept beside the record.
        assertEq(Settings.unwrap(r.settings(s.validAfter())), Settings.unwrap(s));
        // Without it (no validAfter stored) everything but validAfter comes back.
        Settings noVa = r.settings(0);
        assertEq(noVa.hook(), s.hook());
        assertEq(noVa.expiration(), s.expiration());
        assertEq(noVa.isAdmin(), s.isAdmin());
        assertEq(noVa.flags(), s.flags());
        assertEq(noVa.validAfter(), 0);
        assertTrue(noVa.isCanonical(), "no bookkeeping bit leaks into the settings");
    }

    function testFuzz_keyRecord_withSettingsKeepsTheRegistration(
        uint256 raw1,
        uint256 raw2,
        uint8 t,
        uint256 index,
        uint256 grant
    ) public pure {
        index = bound(index, 0, MAX_INDEX);
        grant = bound(grant, 0, MAX_GRANT);
        KeyType keyType = KeyType(t % 3);
        Settings s2 = _canonical(raw2);
        KeyRecord r = KeyRecordLib.pack(_canonical(raw1), keyType, index, grant).withSettings(s2);
        assertEq(uint8(r.keyType()), uint8(keyType));
        assertEq(r.index(), index);
        assertEq(r.grant(), grant);
        assertEq(r.hasValidAfter(), s2.validAfter() != 0, "the validAfter bit follows the new settings");
        assertEq(Settings.unwrap(r.settings(s2.validAfter())), Settings.unwrap(s2));
        // Same word as packing the new settings directly.
        assertEq(KeyRecord.unwrap(r), KeyRecord.unwrap(KeyRecordLib.pack(s2, keyType, index, grant)));
    }

    function testFuzz_keyRecord_withIndexKeepsEverythingElse(uint256 raw, uint8 t, uint256 i1, uint256 i2, uint256 g)
        public
        pure
    {
        Settings s = _canonical(raw);
        i1 = bound(i1, 0, MAX_INDEX);
        i2 = bound(i2, 0, MAX_INDEX);
        g = bound(g, 0, MAX_GRANT);
        KeyType keyType = KeyType(t % 3);
        KeyRecord r = KeyRecordLib.pack(s, keyType, i1, g).withIndex(i2);
        assertEq(KeyRecord.unwrap(r), KeyRecord.unwrap(KeyRecordLib.pack(s, keyType, i2, g)));
        assertEq(r.index(), i2);
    }

    /// @dev The pause bit: a new registration starts unpaused; `withPaused` writes only bit 231; `withSettings` and
    /// `withIndex` keep it; it never shows in the settings word.
    function testFuzz_keyRecord_pauseBit(uint256 raw1, uint256 raw2, uint8 t, uint256 index, uint256 grant, bool p)
        public
        pure
    {
        index = bound(index, 0, MAX_INDEX);
        grant = bound(grant, 0, MAX_GRANT);
        Settings s1 = _canonical(raw1);
        KeyRecord r = KeyRecordLib.pack(s1, KeyType(t % 3), index, grant);
        assertFalse(r.isPaused(), "a new registration is not paused");
        KeyRecord q = r.withPaused(p);
        assertEq(q.isPaused(), p);
        assertEq(KeyRecord.unwrap(q) & ~uint256(1 << PAUSED_BIT), KeyRecord.unwrap(r), "only the pause bit");
        assertEq(q.withPaused(false).isPaused(), false);
        Settings s2 = _canonical(raw2);
        assertEq(q.withSettings(s2).isPaused(), p, "update keeps the pause");
        assertEq(q.withIndex(MAX_INDEX - index).isPaused(), p, "a move in the list keeps the pause");
        assertEq(q.withIndex(MAX_INDEX - index).index(), MAX_INDEX - index);
        assertEq(q.index(), index);
        assertEq(q.grant(), grant);
        assertEq(Settings.unwrap(q.settings(s1.validAfter())), Settings.unwrap(s1), "not in the settings word");
    }

    /// @dev Extremes: every field at its maximum and at zero, next to each other.
    function test_keyRecord_fieldBoundaries() public pure {
        Settings full = Settings.wrap(type(uint256).max & ~SettingsLib.RESERVED_MASK);
        KeyRecord r = KeyRecordLib.pack(full, KeyType.Secp256k1, MAX_INDEX, MAX_GRANT).withPaused(true);
        assertTrue(r.isPaused());
        assertEq(r.index(), MAX_INDEX);
        assertEq(r.grant(), MAX_GRANT);
        assertEq(uint8(r.keyType()), uint8(KeyType.Secp256k1));
        assertEq(Settings.unwrap(r.settings(full.validAfter())), Settings.unwrap(full));
        KeyRecord z = KeyRecordLib.pack(Settings.wrap(0), KeyType.P256, 0, 0);
        assertTrue(z.isRegistered(), "a P256 key with empty settings at index 0 is registered");
        assertEq(uint8(z.keyType()), uint8(KeyType.P256));
        assertEq(z.index(), 0);
        assertEq(z.grant(), 0);
        assertEq(Settings.unwrap(z.settings(0)), 0);
        assertFalse(KeyRecord.wrap(0).isRegistered(), "a cleared word is not registered");
        // withIndex on a full record only changes the index bits.
        assertEq(r.withIndex(0).grant(), MAX_GRANT);
        assertEq(r.withIndex(0).index(), 0);
        assertEq(Settings.unwrap(r.withIndex(0).settings(full.validAfter())), Settings.unwrap(full));
    }
}
