// SPDX-License-Identifier: MIT
pragma solidity 0.8.37;

import {IKeyward} from "../interfaces/IKeyward.sol";
import {KeyLib} from "../libraries/KeyLib.sol";
import {ScheduleLib} from "../libraries/ScheduleLib.sol";
import {KeyRegistry} from "../modules/KeyRegistry.sol";

/// @title KeySchedule
/// @notice Recurring weekly schedules in UTC: a key whose settings carry SCHEDULED may act only inside its schedule,
/// on every path (direct, relayed, ERC-4337 where the operation names its occurrence, ERC-1271; `verifyKeySignature`
/// answers false for it, as it reads no TIMESTAMP). See `ScheduleLib` for the encoding.
/// @dev Stored per registration (`keyId`): a key registered again starts without a schedule.
abstract contract KeySchedule is KeyRegistry {
    /// @notice Sets a key's weekly schedule (`days` bit 0 Monday ... bit 6 Sunday; `start` seconds after 00:00 UTC;
    /// `duration` seconds, at most a week); all three 0 clears it. It applies while the key's settings carry
    /// SCHEDULED. Reverts `InvalidSchedule` for anything else, `KeyDoesNotExist` for an unknown key,
    /// `CannotUpdateRootKey` for the root.
    function setSchedule(bytes32 keyHash, uint8 days_, uint32 start, uint32 duration) external onlyThis {
        if (keyHash == KeyLib.ROOT_KEY_HASH) revert IKeyward.CannotUpdateRootKey();
        bytes32 keyId = _keyIdOfRegistered(keyHash);
        bool clear = days_ == 0 && start == 0 && duration == 0;
        if (!clear && !ScheduleLib.isValid(days_, start, duration)) revert IKeyward.InvalidSchedule();
        _state().schedules[keyId] = ScheduleLib.pack(days_, start, duration);
        emit IKeyward.ScheduleSet(keyHash, days_, start, duration);
    }

    /// @notice A key's weekly schedule (all 0: none).
    function getSchedule(bytes32 keyHash) external view returns (uint8 days_, uint32 start, uint32 duration) {
        return ScheduleLib.unpack(_state().schedules[_keyIdOfRegistered(keyHash)]);
    }

    /// @notice The latest occurrence of a key's schedule that started at or before `timestamp` (its first and last
    /// second; `found` false when none did) and whether `timestamp` is inside it. An ERC-4337 operation of a
    /// SCHEDULED key names `first` as the fifth head word of its signature envelope.
    function scheduleOccurrence(bytes32 keyHash, uint256 timestamp)
        external
        view
        returns (bool found, bool active, uint256 first, uint256 last)
    {
        uint256 schedule = _state().schedules[_keyIdOfRegistered(keyHash)];
        (found, first) = ScheduleLib.latest(schedule, timestamp);
        if (!found) return (false, false, 0, 0);
        (, last) = ScheduleLib.occurrenceEnd(schedule, first);
        active = timestamp <= last;
    }
}
