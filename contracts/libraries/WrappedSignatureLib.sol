// SPDX-License-Identifier: MIT
pragma solidity ^0.8.30;

import {CalldataLib} from "./CalldataLib.sol";

/// @title WrappedSignatureLib
/// @notice The signature envelopes of Calibur's paths, read from calldata without copying; malformed input yields
/// `ok == false` so a path can answer "invalid" instead of reverting.
library WrappedSignatureLib {
    /// @dev `abi.encode(bytes32 keyHash, bytes signature, bytes hookData)` (ERC-4337 and ERC-1271).
    function decodeWithKeyHash(bytes calldata wrapped)
        internal
        pure
        returns (bool ok, bytes32 keyHash, bytes calldata signature, bytes calldata hookData)
    {
        bool ok1;
        bool ok2;
        (ok, keyHash) = CalldataLib.tryWord(wrapped, 0);
        (ok1, signature) = CalldataLib.tryBytes(wrapped, 1);
        (ok2, hookData) = CalldataLib.tryBytes(wrapped, 2);
        ok = ok && ok1 && ok2;
    }

    /// @dev `abi.encode(bytes signature, bytes hookData)` (relayed batches).
    function decode(bytes calldata wrapped)
        internal
        pure
        returns (bool ok, bytes calldata signature, bytes calldata hookData)
    {
        bool ok1;
        (ok, signature) = CalldataLib.tryBytes(wrapped, 0);
        (ok1, hookData) = CalldataLib.tryBytes(wrapped, 1);
        ok = ok && ok1;
    }

    /// @dev The optional fourth head word of an ERC-4337 envelope (the gas window an operation is charged to):
    /// present when the head has four words, i.e. the first offset is at least 0x80.
    function gasWindow(bytes calldata wrapped) internal pure returns (bool present, uint256 window) {
        (bool ok, bytes32 first) = CalldataLib.tryWord(wrapped, 1);
        if (!ok || uint256(first) < 0x80) return (false, 0);
        bytes32 word;
        (present, word) = CalldataLib.tryWord(wrapped, 3);
        window = uint256(word);
    }

    /// @dev The optional fifth head word of an ERC-4337 envelope (the start of the schedule occurrence a SCHEDULED
    /// key's operation runs in): present when the head has five words, i.e. the first offset is at least 0xa0.
    function occurrence(bytes calldata wrapped) internal pure returns (bool present, uint256 start) {
        (bool ok, bytes32 first) = CalldataLib.tryWord(wrapped, 1);
        if (!ok || uint256(first) < 0xa0) return (false, 0);
        bytes32 word;
        (present, word) = CalldataLib.tryWord(wrapped, 4);
        start = uint256(word);
    }
}
