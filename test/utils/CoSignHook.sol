// SPDX-License-Identifier: MIT
pragma solidity ^0.8.30;

import {IValidationHook, PackedUserOperation} from "../../contracts/interfaces/IHook.sol";
import {IKeyward} from "../../contracts/interfaces/IKeyward.sol";

/// @notice A validation hook (deploy at an address whose low 5 bits are 0x02) that requires a co-signature of the
/// operation by another key of the account: `hookData = abi.encode(bytes32 coKeyHash, bytes coSignature)` over the
/// `userOpHash`, checked with the account's `verifyKeySignature` (what a step-up or consensus policy does).
contract CoSignHook {
    error CoSignatureMissing();

    function afterValidateUserOp(bytes32, PackedUserOperation calldata, bytes32 userOpHash, uint256, bytes calldata hd)
        external
        view
        returns (bytes4)
    {
        if (hd.length < 64) revert CoSignatureMissing();
        (bytes32 coKeyHash, bytes memory coSig) = abi.decode(hd, (bytes32, bytes));
        (bool valid,,) = IKeyward(msg.sender).verifyKeySignature(coKeyHash, userOpHash, coSig);
        if (!valid) revert CoSignatureMissing();
        return IValidationHook.afterValidateUserOp.selector;
    }
}
