// SPDX-License-Identifier: MIT
pragma solidity ^0.8.30;

import {Header, HeaderLib} from "../../contracts/types/Header.sol";
import {Test} from "forge-std/Test.sol";

/// @notice The account header word (types/Header.sol) as a library: each setter writes exactly its field's bits,
/// whatever the rest of the word holds, and each getter reads exactly them.
contract HeaderTest is Test {
    uint256 internal constant SALT_MASK = (1 << 96) - 1;
    uint256 internal constant EPOCH_MASK = ((1 << 32) - 1) << 96;
    uint256 internal constant COUNT_MASK = ((1 << 22) - 1) << 130;
    uint256 internal constant GRANTS_MASK = ((1 << 24) - 1) << 152;
    uint256 internal constant EP_MASK = 1 << 176;
    uint256 internal constant PA_MASK = 1 << 177;

    /// @dev The fields' bit ranges are disjoint and cover bits 0-177 but for 128-129 (epoch is 32 bits, 96-127;
    /// count starts at 130), and nothing above 177.
    function test_header_fieldMasksAreDisjointAndContiguous() public pure {
        uint256[6] memory masks = [SALT_MASK, EPOCH_MASK, COUNT_MASK, GRANTS_MASK, EP_MASK, PA_MASK];
        uint256 all;
        for (uint256 i; i < masks.length; ++i) {
            assertEq(all & masks[i], 0, "overlap");
            all |= masks[i];
        }
        assertEq(all, ((uint256(1) << 178) - 1) & ~(uint256(3) << 128));
        assertEq(HeaderLib.MAX_EPOCH, type(uint32).max);
    }

    function testFuzz_header_saltPrefix(uint256 raw, uint96 prefix) public pure {
        Header h = Header.wrap(raw).withSaltPrefix(prefix);
        assertEq(h.saltPrefix(), prefix);
        assertEq(Header.unwrap(h) & ~SALT_MASK, raw & ~SALT_MASK, "other bits untouched");
    }

    function testFuzz_header_epoch(uint256 raw, uint32 epoch) public pure {
        Header h = Header.wrap(raw).withEpoch(epoch);
        assertEq(h.epoch(), epoch);
        assertEq(Header.unwrap(h) & ~EPOCH_MASK, raw & ~EPOCH_MASK, "other bits untouched");
    }

    function testFuzz_header_count(uint256 raw, uint256 count) public pure {
        count = bound(count, 0, (1 << 22) - 1);
        Header h = Header.wrap(raw).withCount(count);
        assertEq(h.count(), count);
        assertEq(Header.unwrap(h) & ~COUNT_MASK, raw & ~COUNT_MASK, "other bits untouched");
    }

    function testFuzz_header_grants(uint256 raw, uint256 grants) public pure {
        grants = bound(grants, 0, (1 << 24) - 1);
        Header h = Header.wrap(raw).withGrants(grants);
        assertEq(h.grants(), grants);
        assertEq(Header.unwrap(h) & ~GRANTS_MASK, raw & ~GRANTS_MASK, "other bits untouched");
    }

    function testFuzz_header_entryPointOverridden(uint256 raw) public pure {
        Header h = Header.wrap(raw & ~EP_MASK);
        assertFalse(h.entryPointOverridden());
        h = h.withEntryPointOverridden();
        assertTrue(h.entryPointOverridden());
        assertEq(Header.unwrap(h), (raw & ~EP_MASK) | EP_MASK, "only bit 176");
        assertTrue(h.withEntryPointOverridden().entryPointOverridden(), "idempotent");
    }

    /// @dev The pause of every key: only bit 177, both ways, idempotent.
    function testFuzz_header_allPaused(uint256 raw, bool paused) public pure {
        Header h = Header.wrap(raw).withAllPaused(paused);
        assertEq(h.allPaused(), paused);
        assertEq(Header.unwrap(h) & ~PA_MASK, raw & ~PA_MASK, "other bits untouched");
        assertEq(Header.unwrap(h.withAllPaused(paused)), Header.unwrap(h), "idempotent");
        assertEq(h.withAllPaused(!paused).allPaused(), !paused);
        // The other setters keep it.
        assertEq(h.withEpoch(7).withCount(3).withGrants(9).withSaltPrefix(1).allPaused(), paused);
    }

    /// @dev Built from zero, every field reads back what was written, in any order of the setters.
    function testFuzz_header_allFieldsRoundTrip(uint96 prefix, uint32 epoch, uint256 count, uint256 grants, bool ep)
        public
        pure
    {
        count = bound(count, 0, (1 << 22) - 1);
        grants = bound(grants, 0, (1 << 24) - 1);
        Header h = Header.wrap(0).withGrants(grants).withSaltPrefix(prefix).withCount(count).withEpoch(epoch);
        if (ep) h = h.withEntryPointOverridden();
        assertEq(h.saltPrefix(), prefix);
        assertEq(h.epoch(), epoch);
        assertEq(h.count(), count);
        assertEq(h.grants(), grants);
        assertEq(h.entryPointOverridden(), ep);
        assertEq(
            Header.unwrap(h),
            uint256(prefix) | (uint256(epoch) << 96) | (count << 130) | (grants << 152) | (ep ? EP_MASK : 0)
        );
        // Rewriting one field leaves the others.
        Header h2 = h.withCount(0).withEpoch(0);
        assertEq(h2.saltPrefix(), prefix);
        assertEq(h2.grants(), grants);
        assertEq(h2.entryPointOverridden(), ep);
    }

    /// @dev The getters ignore bits outside their field (a word full of ones reads each field's maximum).
    function test_header_gettersMaskTheirField() public pure {
        Header h = Header.wrap(type(uint256).max);
        assertEq(h.saltPrefix(), type(uint96).max);
        assertEq(h.epoch(), type(uint32).max);
        assertEq(h.count(), (1 << 22) - 1);
        assertEq(h.grants(), (1 << 24) - 1);
        assertTrue(h.entryPointOverridden());
        assertTrue(h.allPaused());
        Header z = Header.wrap(~(SALT_MASK | EPOCH_MASK | COUNT_MASK | GRANTS_MASK | EP_MASK | PA_MASK));
        assertEq(z.saltPrefix(), 0);
        assertEq(z.epoch(), 0);
        assertEq(z.count(), 0);
        assertEq(z.grants(), 0);
        assertFalse(z.entryPointOverridden());
        assertFalse(z.allPaused());
    }
}
