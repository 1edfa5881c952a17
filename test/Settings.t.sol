// SPDX-License-Identifier: MIT
pragma solidity ^0.8.30;

import {ValidationDataLib} from "../contracts/libraries/ValidationDataLib.sol";
import {Settings, SettingsLib} from "../contracts/types/Settings.sol";
import {Test} from "forge-std/Test.sol";

contract SettingsTest is Test {
    function testFuzz_settings_fieldsRoundTrip(
        address hook,
        uint40 expiration,
        bool admin,
        uint40 validAfter,
        uint8 flagBits
    ) public pure {
        uint256 flags = flagBits & 0x0f;
        uint256 raw = uint256(uint160(hook)) | (uint256(expiration) << 160) | (admin ? uint256(1) << 200 : 0)
            | (uint256(validAfter) << 208) | (flags << 248);
        Settings s = Settings.wrap(raw);
        assertEq(s.hook(), hook);
        assertEq(s.expiration(), expiration);
        assertEq(s.isAdmin(), admin);
        assertEq(s.validAfter(), validAfter);
        assertEq(s.flags(), flags);
        assertEq(s.hasFlag(SettingsLib.AFTER_EXECUTE_ON_FAILURE), flags & 1 != 0);
        assertEq(s.hasFlag(SettingsLib.SPONSORED_ONLY), flags & 2 != 0);
        assertEq(s.hasFlag(SettingsLib.GAS_BUDGET), flags & 4 != 0);
        assertEq(s.hasFlag(SettingsLib.SCHEDULED), flags & 8 != 0);
        assertTrue(s.isCanonical());
    }

    /// @dev Reserved: bits 201-207 and 252-255 (bits 248-251 are the flags; 252-253 are room for more).
    function testFuzz_settings_canonicalIffReservedBitsClear(uint256 raw) public pure {
        bool reservedClear = (raw >> 201) & 0x7f == 0 && raw >> 252 == 0;
        assertEq(Settings.wrap(raw).isCanonical(), reservedClear);
    }

    function testFuzz_settings_validationDataHasNoOtherBits(uint256 raw) public pure {
        Settings s = Settings.wrap(raw);
        uint256 vd = s.validationData();
        // Authorizer field empty; validUntil exactly the expiration; validAfter exactly one before (or 0).
        assertEq(uint160(vd), 0);
        assertEq(ValidationDataLib.validUntil(vd), s.expiration());
        assertEq(ValidationDataLib.validAfter(vd), s.validAfter() == 0 ? 0 : uint256(s.validAfter()) - 1);
        // In particular neither the admin bit nor the flags (bits 248-253, inside validAfter's field) leak.
        assertEq(vd, Settings.wrap(raw & ~((uint256(0x3f) << 248) | (uint256(1) << 200))).validationData());
    }

    function test_settings_expiringAdminStaysExpiring() public pure {
        Settings s = Settings.wrap((uint256(1) << 200) | (uint256(1000) << 160));
        assertEq(ValidationDataLib.validUntil(s.validationData()), 1000);
        assertEq(Settings.unwrap(SettingsLib.ROOT), 1 << 200);
        assertEq(SettingsLib.ROOT.validationData(), 0);
    }

    function testFuzz_intersect_isTheNarrowestWindow(
        uint48 untilA,
        uint48 afterA,
        uint48 untilB,
        uint48 afterB,
        bool failA
    ) public pure {
        uint256 a = (failA ? 1 : 0) | (uint256(untilA) << 160) | (uint256(afterA) << 208);
        uint256 b = (uint256(untilB) << 160) | (uint256(afterB) << 208);
        uint256 c = ValidationDataLib.intersect(a, b);
        assertEq(uint160(c), failA ? 1 : 0);
        uint256 expectUntil = untilA == 0 ? untilB : untilB == 0 ? untilA : (untilA < untilB ? untilA : untilB);
        assertEq(ValidationDataLib.validUntil(c), expectUntil);
        assertEq(ValidationDataLib.validAfter(c), afterA > afterB ? afterA : afterB);
        assertEq(ValidationDataLib.intersect(a, b), ValidationDataLib.intersect(b, a));
    }

    function test_intersect_aggregatorCountsAsFailure() public pure {
        assertEq(uint160(ValidationDataLib.intersect(uint256(uint160(address(0xabc))), 0)), 1);
    }
}
