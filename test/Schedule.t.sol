// SPDX-License-Identifier: MIT
pragma solidity ^0.8.30;

import {Call, GasBudget, IKeyward, PackedUserOperation} from "../contracts/interfaces/IKeyward.sol";
import {ScheduleLib} from "../contracts/libraries/ScheduleLib.sol";
import {SettingsLib} from "../contracts/types/Settings.sol";
import {TestKey} from "./utils/KeywardTestBase.sol";
import {MockHook} from "./utils/MockHook.sol";
import {PathsTestBase} from "./utils/PathsTestBase.sol";

/// @dev ScheduleLib with calldata-free entry points for fuzzing.
contract ScheduleLibHarness {
    function isActive(uint256 schedule, uint256 t) external pure returns (bool) {
        return ScheduleLib.isActive(schedule, t);
    }
}

/// @notice Recurring weekly schedules in UTC (issue 16): a SCHEDULED key acts only inside its schedule, on every
/// path; both sides of each edge, weekends included. ERC-4337 validation reads no TIMESTAMP: the operation names its
/// occurrence and the validationData is narrowed to it.
contract ScheduleTest is PathsTestBase {
    /// @dev Monday 2027-01-18 00:00:00 UTC.
    uint256 internal constant MONDAY = 1_800_230_400;
    uint256 internal constant DAY = 86_400;
    uint256 internal constant HOUR = 3600;
    uint8 internal constant WEEKDAYS = 0x1f;
    uint256 internal constant SCHEDULED = uint256(1) << 251;

    TestKey internal key;
    MockHook internal hook;
    uint256 internal keySettings;

    function setUp() public override {
        super.setUp();
        key = secp256k1Key("office-hours");
        // A hook that approves ERC-1271 signatures, so that every path accepts the key inside its schedule.
        hook = deployHook(0x04);
        keySettings = settingsOf(address(hook), 0, false, 0) | SCHEDULED;
        grant(key, keySettings);
        // Monday to Friday, 09:00 for 8 hours (09:00:00 through 16:59:59 UTC).
        _setSchedule(key.keyHash, WEEKDAYS, uint32(9 * HOUR), uint32(8 * HOUR));
    }

    function _setSchedule(bytes32 keyHash, uint8 days_, uint32 start, uint32 duration) internal {
        rootCall(abi.encodeCall(IKeyward.setSchedule, (keyHash, days_, start, duration)));
    }

    /// @dev A user operation of `k` naming the occurrence that starts at `occurrence` (fifth head word).
    function _scheduledOp(TestKey memory k, Call[] memory calls, uint256 occurrence)
        internal
        view
        returns (PackedUserOperation memory op)
    {
        op = sponsored(userOp(calls));
        op.signature = abi.encode(k.keyHash, sign(k, entryPoint.getUserOpHash(op)), bytes(""), uint256(0), occurrence);
    }

    function _occurrenceVd(uint256 occurrence, uint256 duration) internal pure returns (uint256) {
        return ((occurrence + duration - 1) << 160) | ((occurrence - 1) << 208);
    }

    /// @dev At `t`: every path accepts the key (`expected`) or refuses it, with the same error where there is one.
    function _assertAt(uint256 t, bool expected, string memory label) internal {
        vm.warp(t);
        bytes memory outside = abi.encodeWithSelector(IKeyward.OutsideSchedule.selector, t);
        uint256 before = target.counter();
        (bool ok, bytes memory ret) = tryDirect(key, _bump());
        if (expected) assertTrue(ok, string.concat(label, ": direct"));
        else assertRefused(ok, ret, outside, string.concat(label, ": direct"));
        (ok, ret) = tryRelayed(key, _bump());
        if (expected) assertTrue(ok, string.concat(label, ": relayed"));
        else assertRefused(ok, ret, outside, string.concat(label, ": relayed"));
        assertEq(signs1271(key), expected, string.concat(label, ": ERC-1271"));
        // ERC-4337: the operation names the latest occurrence; the EntryPoint enforces its bounds.
        (bool found, bool active, uint256 first,) = acct.scheduleOccurrence(key.keyHash, t);
        assertEq(active, expected, string.concat(label, ": scheduleOccurrence"));
        if (found) {
            PackedUserOperation memory op = _scheduledOp(key, _bump(), first);
            (ok, ret) = tryValidate(op);
            assertTrue(ok, string.concat(label, ": validation names the occurrence"));
            assertEq(abi.decode(ret, (uint256)), _occurrenceVd(first, 8 * HOUR), string.concat(label, ": vd"));
            (ok, ret) = tryExecuteUserOp(op);
            if (expected) assertTrue(ok, string.concat(label, ": executeUserOp"));
            else assertRefused(ok, ret, outside, string.concat(label, ": executeUserOp"));
            // Undo that run (it already counted) and take the whole EntryPoint flow.
            (ok, ret) = tryHandleOps(_scheduledOp(key, _bump(), first));
            if (expected) {
                assertTrue(ok, string.concat(label, ": handleOps"));
            } else {
                bytes memory aa22 = abi.encodeWithSignature("FailedOp(uint256,string)", 0, "AA22 expired or not due");
                assertRefused(ok, ret, aa22, string.concat(label, ": handleOps"));
            }
        }
        bytes32 d = keccak256("co-sign");
        (bool valid,,) = acct.verifyKeySignature(key.keyHash, d, sign(key, d));
        assertFalse(valid, string.concat(label, ": verifyKeySignature never answers for a scheduled key"));
        assertEq(target.counter(), before + (expected ? (found ? 4 : 2) : 0), string.concat(label, ": runs"));
    }

    // ------------------------------------------------------------------------------------------------------------
    // Edges on every path
    // ------------------------------------------------------------------------------------------------------------

    function test_schedule_mondayEdges_everyPath() public {
        _assertAt(MONDAY + 9 * HOUR - 1, false, "Mon 08:59:59");
        _assertAt(MONDAY + 9 * HOUR, true, "Mon 09:00:00");
        _assertAt(MONDAY + 17 * HOUR - 1, true, "Mon 16:59:59");
        _assertAt(MONDAY + 17 * HOUR, false, "Mon 17:00:00");
        _assertAt(MONDAY, false, "Mon 00:00:00");
    }

    function test_schedule_midweekAndFridayEdges_everyPath() public {
        _assertAt(MONDAY + 2 * DAY + 12 * HOUR, true, "Wed 12:00");
        _assertAt(MONDAY + 2 * DAY + 3 * HOUR, false, "Wed 03:00");
        _assertAt(MONDAY + 4 * DAY + 9 * HOUR - 1, false, "Fri 08:59:59");
        _assertAt(MONDAY + 4 * DAY + 9 * HOUR, true, "Fri 09:00:00");
        _assertAt(MONDAY + 4 * DAY + 17 * HOUR - 1, true, "Fri 16:59:59");
        _assertAt(MONDAY + 4 * DAY + 17 * HOUR, false, "Fri 17:00:00");
    }

    function test_schedule_weekendRefused_nextMondayAccepted_everyPath() public {
        _assertAt(MONDAY + 5 * DAY + 9 * HOUR, false, "Sat 09:00");
        _assertAt(MONDAY + 5 * DAY + 12 * HOUR, false, "Sat 12:00");
        _assertAt(MONDAY + 6 * DAY + 16 * HOUR, false, "Sun 16:00");
        _assertAt(MONDAY + 7 * DAY - 1, false, "Sun 23:59:59");
        _assertAt(MONDAY + 7 * DAY + 9 * HOUR - 1, false, "next Mon 08:59:59");
        _assertAt(MONDAY + 7 * DAY + 9 * HOUR, true, "next Mon 09:00:00");
    }

    // ------------------------------------------------------------------------------------------------------------
    // ERC-4337: the operation names its occurrence
    // ------------------------------------------------------------------------------------------------------------

    /// @dev Attack: a missing occurrence, a Saturday "occurrence", a start one second off, or another day's time:
    /// validation reverts InvalidOccurrence (whatever the time: validation reads none).
    function test_schedule_validation_invalidOccurrence_refused() public {
        uint256[5] memory bad = [
            MONDAY + 5 * DAY + 9 * HOUR, // Saturday 09:00: not a scheduled day
            MONDAY + 9 * HOUR + 1, // one second after the start
            MONDAY + 9 * HOUR - 1, // one second before
            MONDAY + 10 * HOUR, // the right day, the wrong time
            0
        ];
        for (uint256 i; i < bad.length; ++i) {
            (bool ok, bytes memory ret) = tryValidate(_scheduledOp(key, _bump(), bad[i]));
            assertRefused(ok, ret, abi.encodeWithSelector(IKeyward.InvalidOccurrence.selector, bad[i]), "bad");
        }
        // The four-word envelope (gas window only) names no occurrence.
        PackedUserOperation memory op = sponsored(userOp(_bump()));
        op.signature = abi.encode(key.keyHash, sign(key, entryPoint.getUserOpHash(op)), bytes(""), uint256(0));
        (bool ok2, bytes memory ret2) = tryValidate(op);
        assertRefused(ok2, ret2, abi.encodeWithSelector(IKeyward.InvalidOccurrence.selector, 0), "four words");
        // Calibur's three-word envelope neither.
        (ok2, ret2) = tryValidate(signedOp(key, _bump()));
        assertRefused(ok2, ret2, abi.encodeWithSelector(IKeyward.InvalidOccurrence.selector, 0), "three words");
    }

    /// @dev Attack: any occurrence word, huge ones included, is accepted only when it is an occurrence's start, and
    /// otherwise reverts InvalidOccurrence (never a panic).
    function testFuzz_schedule_validation_anyOccurrenceWord(uint256 occurrence) public {
        (bool ok, bytes memory ret) = tryValidate(_scheduledOp(key, _bump(), occurrence));
        bool isStart = occurrence >= 9 * HOUR && occurrence <= type(uint48).max && (occurrence - 9 * HOUR) % DAY == 0
            && ((occurrence - 9 * HOUR) / DAY + 3) % 7 < 5 && occurrence + 8 * HOUR - 1 <= type(uint48).max;
        if (isStart) {
            assertTrue(ok);
            assertEq(abi.decode(ret, (uint256)), _occurrenceVd(occurrence, 8 * HOUR));
        } else {
            assertRefused(ok, ret, abi.encodeWithSelector(IKeyward.InvalidOccurrence.selector, occurrence), "refused");
        }
    }

    /// @dev A key with both SCHEDULED and GAS_BUDGET, unsponsored: the envelope names the gas window (fourth word)
    /// and the occurrence (fifth); validationData is the intersection of the occurrence, the gas window and the key.
    function test_schedule_withGasBudget_bothWindowsIntersect() public {
        uint256 period = 1 days;
        rootCall(abi.encodeCall(IKeyward.update, (key.keyHash, keySettings | (uint256(1) << 250))));
        rootCall(abi.encodeCall(IKeyward.setGasBudget, (key.keyHash, GasBudget(1 ether, uint40(period), 1 ether))));
        uint256 occ = MONDAY + 7 * DAY + 9 * HOUR;
        // The gas window of Monday (day-aligned): it holds the whole occurrence, so the occurrence is the answer.
        uint256 window = occ / period;
        PackedUserOperation memory op = userOp(_bump());
        op.gasFees = bytes32((uint256(1 gwei) << 128) | 1 gwei);
        op.signature = abi.encode(key.keyHash, sign(key, entryPoint.getUserOpHash(op)), bytes(""), window, occ);
        (bool ok, bytes memory ret) = tryValidate(op);
        assertTrue(ok, "validation");
        assertEq(abi.decode(ret, (uint256)), _occurrenceVd(occ, 8 * HOUR));
        // A gas window that ends inside the occurrence (a 12-hour period: 00:00-11:59:59) narrows it.
        rootCall(abi.encodeCall(IKeyward.setGasBudget, (key.keyHash, GasBudget(1 ether, 12 hours, 1 ether))));
        window = occ / 12 hours;
        op.signature = abi.encode(key.keyHash, sign(key, entryPoint.getUserOpHash(op)), bytes(""), window, occ);
        (ok, ret) = tryValidate(op);
        assertTrue(ok, "validation 12h");
        assertEq(abi.decode(ret, (uint256)), ((window * 12 hours + 12 hours - 1) << 160) | ((occ - 1) << 208));
    }

    /// @dev The occurrence's bounds intersect the key's own window: an expiration inside the occurrence wins, and
    /// so does a validAfter inside it.
    function test_schedule_validation_intersectsKeyWindow() public {
        uint256 occ = MONDAY + 7 * DAY + 9 * HOUR;
        uint256 expiration = occ + HOUR;
        rootCall(abi.encodeCall(IKeyward.update, (key.keyHash, keySettings | (expiration << 160))));
        (bool ok, bytes memory ret) = tryValidate(_scheduledOp(key, _bump(), occ));
        assertTrue(ok);
        assertEq(abi.decode(ret, (uint256)), (expiration << 160) | ((occ - 1) << 208));
        uint256 validAfter = occ + 2 * HOUR;
        rootCall(abi.encodeCall(IKeyward.update, (key.keyHash, keySettings | (validAfter << 208))));
        (ok, ret) = tryValidate(_scheduledOp(key, _bump(), occ));
        assertEq(abi.decode(ret, (uint256)), ((occ + 8 * HOUR - 1) << 160) | ((validAfter - 1) << 208));
    }

    // ------------------------------------------------------------------------------------------------------------
    // Schedules across midnight and the week's end
    // ------------------------------------------------------------------------------------------------------------

    /// @dev Friday 22:00 for 60 hours (through Monday 09:59:59), and Sunday 23:00 for 2 hours (into Monday).
    function test_schedule_acrossWeekendAndWeekWrap() public {
        _setSchedule(key.keyHash, 1 << 4, uint32(22 * HOUR), uint32(60 * HOUR));
        uint256 fri = MONDAY + 4 * DAY;
        uint256[4] memory yes = [fri + 22 * HOUR, fri + DAY + 12 * HOUR, fri + 2 * DAY + 23 * HOUR, fri + 82 * HOUR - 1];
        uint256[3] memory no = [fri + 22 * HOUR - 1, fri + 82 * HOUR, fri + 4 * DAY];
        for (uint256 i; i < yes.length; ++i) {
            vm.warp(yes[i]);
            (bool ok,) = tryDirect(key, _bump());
            assertTrue(ok, "inside");
        }
        for (uint256 i; i < no.length; ++i) {
            vm.warp(no[i]);
            (bool ok, bytes memory ret) = tryDirect(key, _bump());
            assertRefused(ok, ret, abi.encodeWithSelector(IKeyward.OutsideSchedule.selector, no[i]), "outside");
        }
        // The occurrence that covers Monday 09:00 is Friday's: validation accepts it and ends at Monday 09:59:59.
        (bool ok2, bytes memory ret2) = tryValidate(_scheduledOp(key, _bump(), fri + 22 * HOUR));
        assertTrue(ok2);
        assertEq(abi.decode(ret2, (uint256)), _occurrenceVd(fri + 22 * HOUR, 60 * HOUR));
        // Sunday 23:00 for 2 hours: Monday 00:59:59 inside, 01:00:00 outside.
        _setSchedule(key.keyHash, 1 << 6, uint32(23 * HOUR), uint32(2 * HOUR));
        vm.warp(MONDAY + 7 * DAY + HOUR - 1);
        (ok2,) = tryDirect(key, _bump());
        assertTrue(ok2, "Mon 00:59:59");
        vm.warp(MONDAY + 7 * DAY + HOUR);
        (ok2,) = tryDirect(key, _bump());
        assertFalse(ok2, "Mon 01:00:00");
    }

    // ------------------------------------------------------------------------------------------------------------
    // State and input
    // ------------------------------------------------------------------------------------------------------------

    /// @dev A SCHEDULED key without a schedule never acts (fail closed); a key granted again starts without one;
    /// without the flag the stored schedule does not apply; the pause still applies inside the schedule.
    function test_schedule_stateRules() public {
        vm.warp(MONDAY + 10 * HOUR);
        (bool ok,) = tryDirect(key, _bump());
        assertTrue(ok);
        _setSchedule(key.keyHash, 0, 0, 0);
        (ok,) = tryDirect(key, _bump());
        assertFalse(ok, "no schedule: never");
        _setSchedule(key.keyHash, WEEKDAYS, uint32(9 * HOUR), uint32(8 * HOUR));
        rootCall(abi.encodeCall(IKeyward.revoke, (key.keyHash)));
        grant(key, keySettings);
        (uint8 d, uint32 s, uint32 l) = acct.getSchedule(key.keyHash);
        assertEq(d + s + l, 0, "a new registration starts without a schedule");
        (ok,) = tryDirect(key, _bump());
        assertFalse(ok);
        // Without the flag the schedule is not read: the key acts on Saturday.
        _setSchedule(key.keyHash, WEEKDAYS, uint32(9 * HOUR), uint32(8 * HOUR));
        rootCall(abi.encodeCall(IKeyward.update, (key.keyHash, keySettings & ~SCHEDULED)));
        vm.warp(MONDAY + 5 * DAY);
        (ok,) = tryDirect(key, _bump());
        assertTrue(ok, "unscheduled");
        // Inside the schedule, a pause still refuses it.
        rootCall(abi.encodeCall(IKeyward.update, (key.keyHash, keySettings)));
        vm.warp(MONDAY + 7 * DAY + 10 * HOUR);
        rootCall(abi.encodeCall(IKeyward.pauseKey, (key.keyHash)));
        (ok,) = tryDirect(key, _bump());
        assertFalse(ok, "paused");
    }

    function test_schedule_badInput_clearErrors() public {
        uint8[5] memory days_ = [0, 0x80, WEEKDAYS, WEEKDAYS, WEEKDAYS];
        uint32[5] memory starts = [uint32(0), 0, 86_400, 0, 0];
        uint32[5] memory durations = [uint32(HOUR), uint32(HOUR), uint32(HOUR), 0, 7 * 86_400 + 1];
        for (uint256 i; i < 5; ++i) {
            vm.prank(account);
            vm.expectRevert(IKeyward.InvalidSchedule.selector);
            acct.setSchedule(key.keyHash, days_[i], starts[i], durations[i]);
        }
        (uint8 d,,) = acct.getSchedule(key.keyHash);
        assertEq(d, WEEKDAYS, "unchanged");
        // The largest accepted values.
        vm.prank(account);
        acct.setSchedule(key.keyHash, 0x7f, 86_399, 7 * 86_400);
        vm.prank(account);
        vm.expectRevert(IKeyward.CannotUpdateRootKey.selector);
        acct.setSchedule(bytes32(0), WEEKDAYS, 0, 1);
        vm.prank(account);
        vm.expectRevert(IKeyward.KeyDoesNotExist.selector);
        acct.setSchedule(keccak256("unknown"), WEEKDAYS, 0, 1);
        vm.expectRevert(IKeyward.Unauthorized.selector);
        acct.setSchedule(key.keyHash, WEEKDAYS, 0, 1);
        // A key cannot widen its own schedule (a self-call).
        (bool ok, bytes memory ret) =
            tryDirect(key, one(account, 0, abi.encodeCall(IKeyward.setSchedule, (key.keyHash, 0x7f, 0, 7 * 86_400))));
        assertRefused(ok, ret, abi.encodeWithSelector(IKeyward.OnlyAdminCanSelfCall.selector), "self-widen");
    }

    function test_schedule_event() public {
        vm.expectEmit(address(acct));
        emit IKeyward.ScheduleSet(key.keyHash, 0x60, 0, 86_400);
        _setSchedule(key.keyHash, 0x60, 0, 86_400);
    }

    // ------------------------------------------------------------------------------------------------------------
    // The arithmetic
    // ------------------------------------------------------------------------------------------------------------

    /// @dev `isActive` (latest occurrence only) agrees with a brute force over every occurrence of the last 8 days.
    function testFuzz_schedule_isActiveMatchesBruteForce(uint8 days_, uint32 start, uint32 duration, uint40 t)
        public
        pure
    {
        days_ = uint8(bound(days_, 1, 0x7f));
        start = uint32(bound(start, 0, DAY - 1));
        duration = uint32(bound(duration, 1, 7 * DAY));
        uint256 schedule = ScheduleLib.pack(days_, start, duration);
        bool expected;
        uint256 today = uint256(t) / DAY;
        for (uint256 k; k <= 8 && k <= today; ++k) {
            uint256 day = today - k;
            if ((days_ >> ((day + 3) % 7)) & 1 == 0) continue;
            uint256 occ = day * DAY + start;
            if (occ <= t && t < occ + duration) expected = true;
        }
        assertEq(ScheduleLib.isActive(schedule, t), expected);
    }

    /// @dev Every accepted occurrence covers exactly [occurrence, occurrence + duration - 1], and the schedule admits
    /// both ends; the second after is admitted only when another occurrence begins by then.
    function testFuzz_schedule_occurrenceBounds(uint8 days_, uint32 start, uint32 duration, uint32 dayIndex) public {
        days_ = uint8(bound(days_, 1, 0x7f));
        start = uint32(bound(start, 0, DAY - 1));
        duration = uint32(bound(duration, 1, 7 * DAY));
        uint256 schedule = ScheduleLib.pack(days_, start, duration);
        uint256 day = bound(dayIndex, 1, 100_000);
        uint256 occ = day * DAY + start;
        (bool ok, uint256 vd) = ScheduleLib.occurrenceValidationData(schedule, occ);
        assertEq(ok, (days_ >> ((day + 3) % 7)) & 1 == 1);
        if (!ok) return;
        assertEq(vd, _occurrenceVd(occ, duration));
        ScheduleLibHarness h = new ScheduleLibHarness();
        assertTrue(h.isActive(schedule, occ));
        assertTrue(h.isActive(schedule, occ + duration - 1));
        (bool off,) = ScheduleLib.occurrenceValidationData(schedule, occ + 1);
        assertFalse(off);
    }

    /// @dev Sanity of the constants: MONDAY is a Monday in the weekday rule, and the flag is bit 251.
    function test_schedule_constants() public pure {
        assertEq(((MONDAY / DAY) + 3) % 7, 0);
        assertEq(SCHEDULED, SettingsLib.SCHEDULED << 248);
    }
}
