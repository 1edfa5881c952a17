// SPDX-License-Identifier: MIT
pragma solidity 0.8.37;

import {IKeyward} from "../interfaces/IKeyward.sol";
import {AccountState} from "../modules/AccountState.sol";

/// @title Multicall
/// @notice Several calls to the account in one: each item runs as a DELEGATECALL to the account's own code, so it
/// keeps the caller and applies its own authorization; the first failure reverts everything with its data. The
/// EntryPoint may not use it: an item would reach `executeUserOp` or `validateUserOp` as if the EntryPoint itself
/// called them with an operation it never validated. No item may read `msg.value` (none does): it would count
/// the same value once per item.
abstract contract Multicall is AccountState {
    /// @notice Runs each item as a call to this account by the same caller; the first failure reverts everything.
    function multicall(bytes[] calldata data) external payable returns (bytes[] memory results) {
        if (msg.sender == _entryPoint()) revert IKeyward.Unauthorized();
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
