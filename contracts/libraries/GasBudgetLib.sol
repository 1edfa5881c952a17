// SPDX-License-Identifier: MIT
pragma solidity ^0.8.30;

import {PackedUserOperation} from "../interfaces/IKeyward.sol";

/// @title GasBudgetLib
/// @notice What an ERC-4337 operation can cost the account, and the time window of a gas-budget period, computed
/// without TIMESTAMP (banned in validation by ERC-7562).
library GasBudgetLib {
    /// @dev Whether a paymaster pays for the operation (EntryPoint v0.8 refuses a zero paymaster address, AA98; it
    /// is checked here too, so under another EntryPoint a zero paymaster is the account paying).
    function isSponsored(PackedUserOperation calldata userOp) internal pure returns (bool) {
        bytes calldata pmd = userOp.paymasterAndData;
        return pmd.length >= 20 && bytes20(pmd[0:20]) != bytes20(0);
    }

    /// @dev The most the EntryPoint can charge the account for an unsponsored operation: the required prefund
    /// `(verificationGasLimit + callGasLimit + paymasterVerificationGasLimit + paymasterPostOpGasLimit +
    /// preVerificationGas) * maxFeePerGas` (the actual charge, the unused-gas penalty included, never exceeds it).
    /// The paymaster limits count when `paymasterAndData` carries them with a zero paymaster, which EntryPoint v0.8
    /// refuses (AA98) but v0.7 charges to the account. Overflow reverts.
    function maxCost(PackedUserOperation calldata userOp) internal pure returns (uint256) {
        uint256 limits = uint256(userOp.accountGasLimits);
        uint256 gas = (limits >> 128) + uint128(limits) + userOp.preVerificationGas;
        bytes calldata pmd = userOp.paymasterAndData;
        if (pmd.length >= 52) gas += uint256(uint128(bytes16(pmd[20:36]))) + uint128(bytes16(pmd[36:52]));
        return gas * uint128(uint256(userOp.gasFees));
    }

    /// @dev validationData bounds of gas window `window` of `period` seconds: valid from `window * period` through
    /// `(window + 1) * period - 1` (validAfter packed one second early: EntryPoint treats it as exclusive). Both are
    /// 48-bit fields: a window that starts past `type(uint48).max`, or that ended at second 0 (window 0 of a 1-second
    /// period, whose validUntil 0 would read "no bound"), is never valid; it is never truncated into another one.
    function windowValidationData(uint256 window, uint256 period) internal pure returns (uint256) {
        uint256 start = window * period;
        uint256 end = start + period - 1;
        if (end == 0 || start > type(uint48).max) {
            return (uint256(type(uint48).max) << 208) | (uint256(type(uint48).max) << 160);
        }
        if (end > type(uint48).max) end = type(uint48).max;
        return (end << 160) | ((start == 0 ? 0 : start - 1) << 208);
    }
}
