// SPDX-License-Identifier: MIT
pragma solidity ^0.8.30;

import {PackedUserOperation} from "../../contracts/interfaces/IKeyward.sol";

interface IEntryPointDeposit {
    function depositTo(address account) external payable;
}

/// @notice A test paymaster that sponsors every operation from its EntryPoint deposit (for local scenarios only).
contract SponsorPaymaster {
    address internal constant ENTRY_POINT = 0x4337084D9E255Ff0702461CF8895CE9E3b5Ff108;

    error NotEntryPoint();

    /// @notice Sponsors any operation: empty context, so no postOp.
    function validatePaymasterUserOp(PackedUserOperation calldata, bytes32, uint256)
        external
        view
        returns (bytes memory context, uint256 validationData)
    {
        if (msg.sender != ENTRY_POINT) revert NotEntryPoint();
        return ("", 0);
    }

    /// @notice Unused (empty context).
    function postOp(uint8, bytes calldata, uint256, uint256) external view {
        if (msg.sender != ENTRY_POINT) revert NotEntryPoint();
    }

    /// @notice Adds to this paymaster's EntryPoint deposit.
    function deposit() external payable {
        IEntryPointDeposit(ENTRY_POINT).depositTo{value: msg.value}(address(this));
    }
}
