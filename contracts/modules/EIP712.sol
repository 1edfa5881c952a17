// SPDX-License-Identifier: MIT
pragma solidity 0.8.37;

import {AccountState} from "./AccountState.sol";

/// @title EIP712
/// @notice The account's EIP-712 domain: name "Keyward", version "1", the chain, the account, and a salt of the
/// owner's 96-bit prefix and the implementation's address (re-delegating elsewhere, or a new prefix, invalidates
/// every outstanding signature). Computed on every use, never cached: it changes with the salt.
abstract contract EIP712 is AccountState {
    bytes32 internal constant DOMAIN_TYPEHASH =
        keccak256("EIP712Domain(string name,string version,uint256 chainId,address verifyingContract,bytes32 salt)");
    bytes32 internal constant NAME_HASH = keccak256("Keyward");
    bytes32 internal constant VERSION_HASH = keccak256("1");

    /// @dev The `Keyward` implementation's address, part of the salt.
    address internal immutable IMPLEMENTATION;

    constructor(address implementation) {
        IMPLEMENTATION = implementation;
    }

    /// @dev `(prefix << 160) | implementation`.
    function _salt() internal view returns (bytes32) {
        return bytes32((uint256(_state().header.saltPrefix()) << 160) | uint160(IMPLEMENTATION));
    }

    function _domainSeparator() internal view returns (bytes32) {
        return keccak256(abi.encode(DOMAIN_TYPEHASH, NAME_HASH, VERSION_HASH, block.chainid, address(this), _salt()));
    }

    function _hashTypedData(bytes32 structHash) internal view returns (bytes32) {
        return _toTypedDataHash(_domainSeparator(), structHash);
    }

    function _toTypedDataHash(bytes32 separator, bytes32 structHash) internal pure returns (bytes32 digest) {
        assembly ("memory-safe") {
            let m := mload(0x40)
            mstore(m, hex"1901")
            mstore(add(m, 0x02), separator)
            mstore(add(m, 0x22), structHash)
            digest := keccak256(m, 0x42)
        }
    }
}
