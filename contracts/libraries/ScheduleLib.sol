// SPDX-License-Identifier: MIT
pragma solidity ^0.8.30;

/// @title ScheduleLib
/// @notice A key's recurring weekly schedule in UTC (settings flag SCHEDULED), packed in one word:
///
///   bits 0-6 days (bit 0 Monday ... bit 6 Sunday) | bits 8-31 start (seconds after 00:00 UTC, < 86,400) |
///   bits 32-63 duration (seconds, 1 through 604,800)
///
/// On each chosen day an occurrence starts at `start` and lasts `duration` seconds: the key may act from the
/// occurrence's first second through `start + duration - 1` (e.g. Monday to Friday 09:00 for 8 hours: 09:00:00
/// through 16:59:59). An occurrence may run past midnight and into the next days (Friday 22:00 for 60 hours ends
/// Monday 09:59:59); overlapping occurrences join. The word 0 is "no schedule": a scheduled key without one is
/// never valid (fail closed).
library ScheduleLib {
    uint256 internal constant DAY = 86_400;
    uint256 internal constant WEEK = 7 * DAY;
    uint256 private constant DAYS_MASK = 0x7f;
    uint256 private constant START_SHIFT = 8;
    uint256 private constant START_MASK = (1 << 24) - 1;
    uint256 private constant DURATION_SHIFT = 32;
    uint256 private constant DURATION_MASK = (1 << 32) - 1;
    /// @dev Unix day 0 (1970-01-01) was a Thursday: weekday (Monday 0) of day `d` is `(d + 3) % 7`.
    uint256 private constant EPOCH_WEEKDAY = 3;

    /// @dev Whether (days, start, duration) is a schedule: at least one day, start inside the day, duration 1 second
    /// through a week.
    function isValid(uint256 days_, uint256 start, uint256 duration) internal pure returns (bool) {
        return days_ != 0 && days_ <= DAYS_MASK && start < DAY && duration != 0 && duration <= WEEK;
    }

    function pack(uint256 days_, uint256 start, uint256 duration) internal pure returns (uint256) {
        return days_ | (start << START_SHIFT) | (duration << DURATION_SHIFT);
    }

    function unpack(uint256 schedule) internal pure returns (uint8 days_, uint32 start, uint32 duration) {
        days_ = uint8(schedule & DAYS_MASK);
        start = uint32((schedule >> START_SHIFT) & START_MASK);
        duration = uint32((schedule >> DURATION_SHIFT) & DURATION_MASK);
    }

    /// @dev The start of the latest occurrence that began at or before `t` (`found` false when none did): the key
    /// may act at `t` exactly when `found && t - occurrence < duration`.
    function latest(uint256 schedule, uint256 t) internal pure returns (bool found, uint256 occurrence) {
        (uint8 days_, uint32 start,) = unpack(schedule);
        if (days_ == 0 || t < start) return (false, 0);
        uint256 d = (t - start) / DAY;
        // The latest chosen day at or before day d: at most a week back.
        for (uint256 k; k < 7 && k <= d; ++k) {
            uint256 day = d - k;
            if ((days_ >> ((day + EPOCH_WEEKDAY) % 7)) & 1 == 1) return (true, day * DAY + start);
        }
    }

    /// @dev Whether the schedule admits second `t`.
    function isActive(uint256 schedule, uint256 t) internal pure returns (bool) {
        (bool found, uint256 occurrence) = latest(schedule, t);
        return found && t - occurrence < (schedule >> DURATION_SHIFT) & DURATION_MASK;
    }

    /// @dev Whether `occurrence` is the start of an occurrence of the schedule, and its last second.
    function occurrenceEnd(uint256 schedule, uint256 occurrence) internal pure returns (bool ok, uint256 last) {
        (uint8 days_, uint32 start, uint32 duration) = unpack(schedule);
        // Past uint48 (validationData's width) nothing is an occurrence, and the end below cannot overflow.
        if (days_ == 0 || occurrence < start || occurrence > type(uint48).max || (occurrence - start) % DAY != 0) {
            return (false, 0);
        }
        uint256 day = (occurrence - start) / DAY;
        if ((days_ >> ((day + EPOCH_WEEKDAY) % 7)) & 1 == 0) return (false, 0);
        last = occurrence + duration - 1;
        ok = last <= type(uint48).max;
    }

    /// @dev ERC-4337 validationData bounds of the occurrence starting at `occurrence` (validAfter packed one second
    /// early: EntryPoint treats it as exclusive); `ok` false when it is not an occurrence of the schedule.
    function occurrenceValidationData(uint256 schedule, uint256 occurrence)
        internal
        pure
        returns (bool ok, uint256 vd)
    {
        uint256 last;
        (ok, last) = occurrenceEnd(schedule, occurrence);
        if (!ok || last == 0) return (false, 0);
        vd = (last << 160) | ((occurrence == 0 ? 0 : occurrence - 1) << 208);
    }
}
