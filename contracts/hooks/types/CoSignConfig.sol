// SPDX-License-Identifier: MIT
pragma solidity ^0.8.30;

/// @dev A key's co-signature settings (issue 16: step-up and consensus), in one word:
///
///   bit 255     136 135    128 127    120 119    112 111    104 103  97  96  95                    0
///       | (free)   | tokens   | stepUp   | quorum   | signers  | (free) | N |   nativeThreshold     |
///
/// - nativeThreshold / N: a call moving more than nativeThreshold native value needs co-signatures, when N is set.
/// - signers: how many designated co-signers (`KeyPolicy.coSigners`, at most 8).
/// - quorum: how many distinct co-signers every operation needs (consensus; 0 = none).
/// - stepUp: how many an operation needs when a call is above a threshold (0 reads as 1).
/// - tokens: how many tokens have a threshold (`KeyPolicy.stepUpTokens`, at most 4).
type CoSignConfig is uint256;

using CoSignConfigLib for CoSignConfig global;

/// @title CoSignConfigLib
/// @notice Getters and setters for the co-signature settings word.
library CoSignConfigLib {
    uint256 private constant U96 = type(uint96).max;
    uint256 private constant NATIVE_BIT = 1 << 96;
    uint256 private constant SIGNERS_SHIFT = 104;
    uint256 private constant QUORUM_SHIFT = 112;
    uint256 private constant STEP_UP_SHIFT = 120;
    uint256 private constant TOKENS_SHIFT = 128;

    function nativeStepUp(CoSignConfig c) internal pure returns (bool) {
        return CoSignConfig.unwrap(c) & NATIVE_BIT != 0;
    }

    function nativeThreshold(CoSignConfig c) internal pure returns (uint256) {
        return CoSignConfig.unwrap(c) & U96;
    }

    function signerCount(CoSignConfig c) internal pure returns (uint256) {
        return (CoSignConfig.unwrap(c) >> SIGNERS_SHIFT) & 0xff;
    }

    function quorum(CoSignConfig c) internal pure returns (uint256) {
        return (CoSignConfig.unwrap(c) >> QUORUM_SHIFT) & 0xff;
    }

    /// @dev Co-signers needed above a threshold (at least 1).
    function stepUpSigners(CoSignConfig c) internal pure returns (uint256 n) {
        n = (CoSignConfig.unwrap(c) >> STEP_UP_SHIFT) & 0xff;
        if (n == 0) n = 1;
    }

    /// @dev As configured (0 when never set).
    function stepUpSignersRaw(CoSignConfig c) internal pure returns (uint256) {
        return (CoSignConfig.unwrap(c) >> STEP_UP_SHIFT) & 0xff;
    }

    function tokenCount(CoSignConfig c) internal pure returns (uint256) {
        return (CoSignConfig.unwrap(c) >> TOKENS_SHIFT) & 0xff;
    }

    /// @dev Whether anything needs co-signatures (the policy header's CO_SIGN flag mirrors it).
    function isSet(CoSignConfig c) internal pure returns (bool) {
        return quorum(c) != 0 || nativeStepUp(c) || tokenCount(c) != 0;
    }

    function withSigners(CoSignConfig c, uint256 count, uint256 quorum_, uint256 stepUp)
        internal
        pure
        returns (CoSignConfig)
    {
        uint256 mask =
            (uint256(0xff) << SIGNERS_SHIFT) | (uint256(0xff) << QUORUM_SHIFT) | (uint256(0xff) << STEP_UP_SHIFT);
        return CoSignConfig.wrap(
            (CoSignConfig.unwrap(c) & ~mask) | (count << SIGNERS_SHIFT) | (quorum_ << QUORUM_SHIFT)
                | (stepUp << STEP_UP_SHIFT)
        );
    }

    /// @dev `threshold` < 2^96.
    function withNative(CoSignConfig c, bool on, uint256 threshold) internal pure returns (CoSignConfig) {
        uint256 w = CoSignConfig.unwrap(c) & ~(U96 | NATIVE_BIT);
        return CoSignConfig.wrap(on ? w | NATIVE_BIT | threshold : w);
    }

    function withTokenCount(CoSignConfig c, uint256 count) internal pure returns (CoSignConfig) {
        return CoSignConfig.wrap((CoSignConfig.unwrap(c) & ~(uint256(0xff) << TOKENS_SHIFT)) | (count << TOKENS_SHIFT));
    }
}
