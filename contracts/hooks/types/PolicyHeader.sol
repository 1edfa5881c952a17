// SPDX-License-Identifier: MIT
pragma solidity ^0.8.30;

/// @dev The first word of a key's policy, read on every callback (and, being the first slot of the policy, storage
/// associated with the account under ERC-7562):
///
///   bit 255 248 247        232 231     224 223    216 215    208 207       168 167      128 127    96 95     64 63   32 31    0
///       |  pm  | maxPerBatch  |  (free)   |sigMode |  flags   | windowStart  |  period    |inWindow|maxPerP.|used  |maxCalls|
///
/// - maxCalls / used: lifetime call cap (0 = none) and calls counted so far.
/// - maxPerPeriod / inWindow / period / windowStart: calls-per-period cap, count in the current window, window
///   length (seconds) and start.
/// - flags: HAS_DENY (a deny rule exists), HAS_TOKENS (a token limit exists), NATIVE (native value enabled),
///   CO_SIGN (co-signers or a step-up threshold are set).
/// - sigMode: the ERC-1271 scope (`SignatureMode`).
/// - maxPerBatch: the most calls one batch may make (0 = no cap).
/// - pm: how many paymasters are listed (0 = any paymaster).
type PolicyHeader is uint256;

using PolicyHeaderLib for PolicyHeader global;

/// @title PolicyHeaderLib
/// @notice Getters and setters for the policy header word.
library PolicyHeaderLib {
    uint256 private constant U32 = type(uint32).max;
    uint256 private constant U40 = type(uint40).max;
    uint256 private constant U8 = type(uint8).max;
    uint256 private constant U16 = type(uint16).max;

    uint256 private constant USED_SHIFT = 32;
    uint256 private constant MAX_PER_PERIOD_SHIFT = 64;
    uint256 private constant IN_WINDOW_SHIFT = 96;
    uint256 private constant PERIOD_SHIFT = 128;
    uint256 private constant WINDOW_START_SHIFT = 168;
    uint256 private constant FLAGS_SHIFT = 208;
    uint256 private constant SIG_MODE_SHIFT = 216;
    uint256 private constant MAX_PER_BATCH_SHIFT = 232;
    uint256 private constant PAYMASTERS_SHIFT = 248;

    uint256 internal constant HAS_DENY = 1;
    uint256 internal constant HAS_TOKENS = 2;
    uint256 internal constant NATIVE = 4;
    uint256 internal constant CO_SIGN = 8;

    function maxCalls(PolicyHeader h) internal pure returns (uint256) {
        return PolicyHeader.unwrap(h) & U32;
    }

    function used(PolicyHeader h) internal pure returns (uint256) {
        return (PolicyHeader.unwrap(h) >> USED_SHIFT) & U32;
    }

    function maxPerPeriod(PolicyHeader h) internal pure returns (uint256) {
        return (PolicyHeader.unwrap(h) >> MAX_PER_PERIOD_SHIFT) & U32;
    }

    function inWindow(PolicyHeader h) internal pure returns (uint256) {
        return (PolicyHeader.unwrap(h) >> IN_WINDOW_SHIFT) & U32;
    }

    function period(PolicyHeader h) internal pure returns (uint256) {
        return (PolicyHeader.unwrap(h) >> PERIOD_SHIFT) & U40;
    }

    function windowStart(PolicyHeader h) internal pure returns (uint256) {
        return (PolicyHeader.unwrap(h) >> WINDOW_START_SHIFT) & U40;
    }

    function flags(PolicyHeader h) internal pure returns (uint256) {
        return (PolicyHeader.unwrap(h) >> FLAGS_SHIFT) & U8;
    }

    function hasFlag(PolicyHeader h, uint256 flag) internal pure returns (bool) {
        return (PolicyHeader.unwrap(h) >> FLAGS_SHIFT) & flag != 0;
    }

    function signatureMode(PolicyHeader h) internal pure returns (uint8) {
        return uint8(PolicyHeader.unwrap(h) >> SIG_MODE_SHIFT);
    }

    function maxPerBatch(PolicyHeader h) internal pure returns (uint256) {
        return (PolicyHeader.unwrap(h) >> MAX_PER_BATCH_SHIFT) & U16;
    }

    function paymasterCount(PolicyHeader h) internal pure returns (uint256) {
        return PolicyHeader.unwrap(h) >> PAYMASTERS_SHIFT;
    }

    /// @dev The call caps, with their counts restarted in a window starting at `start`.
    function withUsageLimits(PolicyHeader h, uint256 calls, uint256 perPeriod, uint256 length, uint256 start)
        internal
        pure
        returns (PolicyHeader)
    {
        uint256 cleared = PolicyHeader.unwrap(h) & ~((uint256(1) << FLAGS_SHIFT) - 1);
        return PolicyHeader.wrap(
            cleared | calls | (perPeriod << MAX_PER_PERIOD_SHIFT) | (length << PERIOD_SHIFT)
                | (start << WINDOW_START_SHIFT)
        );
    }

    /// @dev The counts after one more call in the window starting at `start` (which may have rolled over).
    function withCount(PolicyHeader h, uint256 usedCount, uint256 windowCount, uint256 start)
        internal
        pure
        returns (PolicyHeader)
    {
        uint256 mask = (U32 << USED_SHIFT) | (U32 << IN_WINDOW_SHIFT) | (U40 << WINDOW_START_SHIFT);
        return PolicyHeader.wrap(
            (PolicyHeader.unwrap(h) & ~mask) | (usedCount << USED_SHIFT) | (windowCount << IN_WINDOW_SHIFT)
                | (start << WINDOW_START_SHIFT)
        );
    }

    function withFlag(PolicyHeader h, uint256 flag, bool on) internal pure returns (PolicyHeader) {
        uint256 bit = flag << FLAGS_SHIFT;
        return PolicyHeader.wrap(on ? PolicyHeader.unwrap(h) | bit : PolicyHeader.unwrap(h) & ~bit);
    }

    function withSignatureMode(PolicyHeader h, uint8 mode) internal pure returns (PolicyHeader) {
        return PolicyHeader.wrap((PolicyHeader.unwrap(h) & ~(U8 << SIG_MODE_SHIFT)) | (uint256(mode) << SIG_MODE_SHIFT));
    }

    function withMaxPerBatch(PolicyHeader h, uint256 max) internal pure returns (PolicyHeader) {
        return
            PolicyHeader.wrap((PolicyHeader.unwrap(h) & ~(U16 << MAX_PER_BATCH_SHIFT)) | (max << MAX_PER_BATCH_SHIFT));
    }

    function withPaymasterCount(PolicyHeader h, uint256 count) internal pure returns (PolicyHeader) {
        return PolicyHeader.wrap((PolicyHeader.unwrap(h) & ~(U8 << PAYMASTERS_SHIFT)) | (count << PAYMASTERS_SHIFT));
    }
}
