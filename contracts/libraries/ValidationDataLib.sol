// SPDX-License-Identifier: MIT
pragma solidity ^0.8.30;

/// @title ValidationDataLib
/// @notice ERC-4337 validationData: bits 0-159 authorizer (0 valid, 1 signature failure), bits 160-207 validUntil
/// (0 = no bound), bits 208-255 validAfter.
library ValidationDataLib {
    uint256 internal constant SIG_FAILED = 1;
    uint256 private constant UINT48_MASK = (1 << 48) - 1;

    function validUntil(uint256 vd) internal pure returns (uint256) {
        return (vd >> 160) & UINT48_MASK;
    }

    function validAfter(uint256 vd) internal pure returns (uint256) {
        return vd >> 208;
    }

    /// @dev Intersects two validation results: any failure fails, the later validAfter and the earlier nonzero
    /// validUntil win. An authorizer other than 0 or 1 (an aggregator) is treated as failure.
    function intersect(uint256 a, uint256 b) internal pure returns (uint256) {
        uint256 failed = (uint160(a) | uint160(b)) == 0 ? 0 : SIG_FAILED;
        uint256 untilA = validUntil(a);
        uint256 untilB = validUntil(b);
        uint256 until = untilA == 0 ? untilB : (untilB == 0 || untilA < untilB ? untilA : untilB);
        uint256 afterA = validAfter(a);
        uint256 afterB = validAfter(b);
        uint256 after_ = afterA > afterB ? afterA : afterB;
        return failed | (until << 160) | (after_ << 208);
    }
}
