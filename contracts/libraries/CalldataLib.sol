// SPDX-License-Identifier: MIT
pragma solidity ^0.8.30;

/// @title CalldataLib
/// @notice Bounds-checked reads of ABI-encoded values straight from calldata, without copying to memory.
/// @dev The `try*` functions never revert: malformed input yields `ok == false`, so signature checks can answer
/// "invalid" (ERC-4337's SIG_VALIDATION_FAILED, ERC-1271's failure value) instead of reverting.
library CalldataLib {
    /// @dev Offsets and lengths above this are rejected; it keeps every addition below far from overflow.
    uint256 private constant MAX_OFFSET = 0xffffffff;

    /// @dev The 32-byte word at `index` of `data`'s head, or `ok == false` when out of range.
    function tryWord(bytes calldata data, uint256 index) internal pure returns (bool ok, bytes32 word) {
        uint256 start = index * 32;
        if (data.length < start + 32) return (false, 0);
        assembly ("memory-safe") {
            word := calldataload(add(data.offset, start))
        }
        ok = true;
    }

    /// @dev The dynamic `bytes`/`string` whose offset is head word `index` of `data`.
    function tryBytes(bytes calldata data, uint256 index) internal pure returns (bool ok, bytes calldata out) {
        out = data[0:0];
        (bool found, bytes32 word) = tryWord(data, index);
        uint256 offset = uint256(word);
        if (!found || offset > MAX_OFFSET || data.length < offset + 32) return (false, out);
        uint256 length;
        assembly ("memory-safe") {
            length := calldataload(add(data.offset, offset))
        }
        if (length > MAX_OFFSET || data.length < offset + 32 + length) return (false, out);
        out = data[offset + 32:offset + 32 + length];
        ok = true;
    }

    /// @dev The tuple whose offset is head word `index` of `data` (a nested dynamic struct), as a slice whose own
    /// head starts at its first byte.
    function tryTuple(bytes calldata data, uint256 index) internal pure returns (bool ok, bytes calldata out) {
        out = data[0:0];
        (bool found, bytes32 word) = tryWord(data, index);
        uint256 offset = uint256(word);
        if (!found || offset > MAX_OFFSET || data.length < offset) return (false, out);
        out = data[offset:];
        ok = true;
    }
}
