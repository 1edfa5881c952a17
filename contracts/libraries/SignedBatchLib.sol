// SPDX-License-Identifier: MIT
pragma solidity ^0.8.30;

import {Call, SignedBatchedCall} from "../interfaces/IKeyward.sol";

/// @title SignedBatchLib
/// @notice EIP-712 struct hashes of Calibur's signed batch types.
library SignedBatchLib {
    bytes32 internal constant CALL_TYPEHASH = keccak256("Call(address to,uint256 value,bytes data)");
    bytes32 internal constant BATCHED_CALL_TYPEHASH =
        keccak256("BatchedCall(Call[] calls,bool revertOnFailure)Call(address to,uint256 value,bytes data)");
    bytes32 internal constant SIGNED_BATCHED_CALL_TYPEHASH = keccak256(
        "SignedBatchedCall(BatchedCall batchedCall,uint256 nonce,bytes32 keyHash,address executor,uint256 deadline)"
        "BatchedCall(Call[] calls,bool revertOnFailure)Call(address to,uint256 value,bytes data)"
    );

    /// @dev `hashStruct(SignedBatchedCall)`.
    function hash(SignedBatchedCall calldata s) internal pure returns (bytes32) {
        Call[] calldata calls = s.batchedCall.calls;
        bytes32[] memory hashes = new bytes32[](calls.length);
        for (uint256 i; i < calls.length; ++i) {
            hashes[i] = keccak256(abi.encode(CALL_TYPEHASH, calls[i].to, calls[i].value, keccak256(calls[i].data)));
        }
        bytes32 batchHash = keccak256(
            abi.encode(BATCHED_CALL_TYPEHASH, keccak256(abi.encodePacked(hashes)), s.batchedCall.revertOnFailure)
        );
        return
            keccak256(abi.encode(SIGNED_BATCHED_CALL_TYPEHASH, batchHash, s.nonce, s.keyHash, s.executor, s.deadline));
    }
}
