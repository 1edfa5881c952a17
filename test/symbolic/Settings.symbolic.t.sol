// SPDX-License-Identifier: MIT
pragma solidity ^0.8.30;

import {ValidationDataLib} from "../../contracts/libraries/ValidationDataLib.sol";
import {Settings, SettingsLib} from "../../contracts/types/Settings.sol";
import {Test} from "forge-std/Test.sol";

/// @notice Symbolic checks (halmos, `make verify`) of the settings word and the ERC-4337 validationData packing.
/// Every `check_` function is proved for all inputs, not sampled: halmos explores each path with a solver.
/// forge does not run `check_` functions; the fuzz twins are in test/Settings.t.sol.
contract SettingsSymbolicTest is Test {
    // ------------------------------------------------------------------------------------------------------------
    // Packing
    // ------------------------------------------------------------------------------------------------------------

    /// @dev Packing the five fields and reading them back gives the fields, and the word is canonical.
    function check_settings_fieldsRoundTrip(
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
        assert(s.hook() == hook);
        assert(s.expiration() == expiration);
        assert(s.isAdmin() == admin);
        assert(s.validAfter() == validAfter);
        assert(s.flags() == flags);
        assert(s.isCanonical());
    }

    /// @dev A word is canonical exactly when bits 201-207 and 252-255 are clear, and then the five fields (hook,
    /// expiration, admin, validAfter, flags) are the whole word: nothing else can hide in a canonical settings word.
    function check_settings_canonicalIsExactlyTheFields(uint256 raw) public pure {
        Settings s = Settings.wrap(raw);
        bool reservedClear = (raw >> 201) & 0x7f == 0 && raw >> 252 == 0;
        assert(s.isCanonical() == reservedClear);
        if (s.isCanonical()) {
            uint256 repacked = uint256(uint160(s.hook())) | (uint256(s.expiration()) << 160)
                | (s.isAdmin() ? uint256(1) << 200 : 0) | (uint256(s.validAfter()) << 208) | (s.flags() << 248);
            assert(repacked == raw);
        }
    }

    /// @dev Any single reserved bit makes a word non-canonical, whatever the other bits are.
    function check_settings_anyReservedBitIsRejected(uint256 raw, uint8 bit) public pure {
        vm.assume((bit >= 201 && bit <= 207) || bit >= 252);
        assert(!Settings.wrap(raw | (uint256(1) << bit)).isCanonical());
    }

    // ------------------------------------------------------------------------------------------------------------
    // validationData
    // ------------------------------------------------------------------------------------------------------------

    /// @dev No settings bit leaks into the validationData: the authorizer is 0 (valid), validUntil is exactly the
    /// expiration (the admin bit never widens it), validAfter is exactly one second before the key's validAfter.
    function check_validationData_onlyTheWindow(uint256 raw) public pure {
        Settings s = Settings.wrap(raw);
        uint256 vd = s.validationData();
        assert(uint160(vd) == 0);
        assert(ValidationDataLib.validUntil(vd) == s.expiration());
        assert(ValidationDataLib.validAfter(vd) == (s.validAfter() == 0 ? 0 : uint256(s.validAfter()) - 1));
        // Bits 200-207 (admin and reserved bits sit there in the settings) are clear in validUntil's field.
        assert((vd >> 200) & 0xff == 0);
    }

    /// @dev Under EntryPoint v0.8's reading (valid when validAfter < now <= validUntil, validUntil 0 = none), the
    /// packed window is exactly the key's [validAfter, expiration] window, for every second.
    function check_validationData_windowMatchesTheKey(uint256 raw, uint48 now_) public pure {
        vm.assume(now_ > 0); // no block has timestamp 0; at 0 the EntryPoint accepts nothing
        Settings s = Settings.wrap(raw);
        uint256 vd = s.validationData();
        uint256 until = ValidationDataLib.validUntil(vd);
        bool entryPointAccepts = now_ > ValidationDataLib.validAfter(vd) && (until == 0 || now_ <= until);
        bool keyWindow = now_ >= s.validAfter() && (s.expiration() == 0 || now_ <= s.expiration());
        assert(entryPointAccepts == keyWindow);
    }

    /// @dev The root's settings: admin, no expiry, no hook, validationData 0.
    function check_validationData_root() public pure {
        assert(SettingsLib.ROOT.isAdmin());
        assert(SettingsLib.ROOT.validationData() == 0);
        assert(SettingsLib.ROOT.hook() == address(0));
    }

    /// @dev Intersection never widens: a failure on either side fails, the result's window lies inside both.
    function check_intersect_neverWidens(uint256 a, uint256 b, uint48 now_) public pure {
        uint256 c = ValidationDataLib.intersect(a, b);
        if (uint160(a) != 0 || uint160(b) != 0) assert(uint160(c) == 1);
        else assert(uint160(c) == 0);
        if (_within(c, now_)) assert(_within(a, now_) && _within(b, now_));
    }

    function _within(uint256 vd, uint48 now_) private pure returns (bool) {
        uint256 until = ValidationDataLib.validUntil(vd);
        return now_ > ValidationDataLib.validAfter(vd) && (until == 0 || now_ <= until);
    }
}
