// SPDX-License-Identifier: MIT
pragma solidity 0.8.37;

/// @title Multicall
/// @notice Several calls to the account in one: each item runs as a DELEGATECALL to the account's own code, so it
/// keeps the caller and applies its own authorization; the first failure reverts everything with its data.
abstract contract Multicall {
    /// @notice Runs each item as a call to this account by the same caller; the first failure reverts everything.
    function multicall(bytes[] calldata data) external payable returns (bytes[] memory results) {
        results = new bytes[](data.length);
        for (uint256 i; i < data.length; ++i) {
            (bool success, bytes memory result) = address(this).delegatecall(data[i]);
            if (!success) {
                assembly ("memory-safe") {
                    revert(add(result, 0x20), mload(result))
                }
            }
            results[i] = result;
        }
    }
}
