// SPDX-License-Identifier: MIT
pragma solidity ^0.8.30;

import {CalldataLib} from "./CalldataLib.sol";

/// @title ERC7739Lib
/// @notice ERC-7739 defensive rehashing: the TypedDataSign envelope and digest, and the nested PersonalSign struct.
/// @dev What this code deliberately does not check: that `contentsHash` is the hash of a struct of the described
/// type (the application computed `hash` from it; the signer signed the type name it was shown), and lower-case
/// first letters are rejected as the ERC asks.
library ERC7739Lib {
    bytes32 internal constant PERSONAL_SIGN_TYPEHASH = keccak256("PersonalSign(bytes prefixed)");

    /// @dev `signature = abi.encode(bytes innerSig, bytes32 appSeparator, bytes32 contentsHash, string
    /// contentsDescr)`; `ok` false when it does not decode as one.
    function decodeTypedDataSign(bytes calldata signature)
        internal
        pure
        returns (bool ok, bytes calldata inner, bytes32 appSeparator, bytes32 contentsHash, bytes calldata descr)
    {
        bool ok1;
        bool ok2;
        bool ok3;
        (ok, inner) = CalldataLib.tryBytes(signature, 0);
        (ok1, appSeparator) = CalldataLib.tryWord(signature, 1);
        (ok2, contentsHash) = CalldataLib.tryWord(signature, 2);
        (ok3, descr) = CalldataLib.tryBytes(signature, 3);
        ok = ok && ok1 && ok2 && ok3;
    }

    /// @dev The TypedDataSign struct hash for the account's domain fields, or 0 when `contentsDescr` is malformed.
    /// Implicit mode: the description is the contents type, whose name runs up to the first "(". Explicit mode:
    /// the type followed by the name, which runs after the last ")".
    function typedDataSignStructHash(
        bytes32 contentsHash,
        bytes calldata descr,
        bytes32 nameHash,
        bytes32 versionHash,
        bytes32 salt
    ) internal view returns (bytes32) {
        uint256 n = descr.length;
        if (n == 0) return 0;
        bytes calldata name;
        bytes calldata contentsType;
        if (descr[n - 1] == ")") {
            uint256 i;
            while (i < n && descr[i] != "(") ++i;
            name = descr[0:i];
            contentsType = descr;
        } else {
            uint256 i = n;
            while (i > 0 && descr[i - 1] != ")") --i;
            if (i == 0) return 0;
            name = descr[i:n];
            contentsType = descr[0:i];
        }
        if (!isValidContentsName(name)) return 0;
        bytes32 typeHash = keccak256(
            abi.encodePacked(
                "TypedDataSign(",
                name,
                " contents,string name,string version,uint256 chainId,address verifyingContract,bytes32 salt)",
                contentsType
            )
        );
        return keccak256(abi.encode(typeHash, contentsHash, nameHash, versionHash, block.chainid, address(this), salt));
    }

    /// @dev ERC-7739: not empty, not starting with a lower-case letter, none of `, )(` or NUL.
    function isValidContentsName(bytes calldata name) internal pure returns (bool) {
        if (name.length == 0) return false;
        bytes1 first = name[0];
        if (first >= "a" && first <= "z") return false;
        for (uint256 i; i < name.length; ++i) {
            bytes1 c = name[i];
            if (c == "," || c == " " || c == ")" || c == "(" || c == 0x00) return false;
        }
        return true;
    }

    /// @dev The nested PersonalSign struct hash of `hash`.
    function personalSignStructHash(bytes32 hash) internal pure returns (bytes32) {
        return keccak256(abi.encode(PERSONAL_SIGN_TYPEHASH, hash));
    }
}
