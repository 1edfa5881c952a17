// SPDX-License-Identifier: MIT
pragma solidity 0.8.37;

import {SignedBatchedCall} from "../interfaces/IKeyward.sol";
import {KeyLib} from "../libraries/KeyLib.sol";
import {NonceLaneLib} from "../libraries/NonceLaneLib.sol";
import {SignedBatchLib} from "../libraries/SignedBatchLib.sol";
import {EIP712} from "../modules/EIP712.sol";
import {KeyRegistry} from "../modules/KeyRegistry.sol";
import {NonceManager} from "../modules/NonceManager.sol";

/// @title AccountViews
/// @notice Views of the account's nonces, EIP-712 domain (ERC-5267), ERC-4337 and ERC-7821 support, and ERC-7201
/// storage namespace.
abstract contract AccountViews is KeyRegistry, NonceManager, EIP712 {
    bytes32 internal constant MODE_REVERT_ON_FAILURE = bytes32(uint256(0x01) << 248);
    bytes32 internal constant MODE_CONTINUE_ON_FAILURE = bytes32(uint256(0x0101) << 240);

    /// @notice The next sequence number of nonce lane `key` (the low 192 bits of `key`).
    function getSeq(uint256 key) external view returns (uint256) {
        return _state().nonces[uint192(key)];
    }

    /// @notice Calibur's name for `getSeq`.
    function nonceSequenceNumber(uint256 key) external view returns (uint256) {
        return _state().nonces[uint192(key)];
    }

    /// @notice The reserved nonce lane `index` of `keyHash` (see `NonceLaneLib`).
    function reservedLane(bytes32 keyHash, uint32 index) external view returns (uint192) {
        bytes32 keyId = keyHash == KeyLib.ROOT_KEY_HASH ? bytes32(0) : _keyIdOfRegistered(keyHash);
        return NonceLaneLib.lane(_laneId(keyHash, keyId), index);
    }

    /// @notice ERC-5267.
    function eip712Domain()
        external
        view
        returns (bytes1, string memory, string memory, uint256, address, bytes32, uint256[] memory)
    {
        return (hex"1f", "Keyward", "1", block.chainid, address(this), _salt(), new uint256[](0));
    }

    /// @notice The account's EIP-712 domain separator.
    function domainSeparator() external view returns (bytes32) {
        return _domainSeparator();
    }

    /// @notice `abi.encode(nameHash, versionHash, chainId, verifyingContract, salt)`.
    function domainBytes() external view returns (bytes memory) {
        return abi.encode(NAME_HASH, VERSION_HASH, block.chainid, address(this), _salt());
    }

    /// @notice `keccak256("\x19\x01" ++ domainSeparator() ++ structHash)`.
    function hashTypedData(bytes32 structHash) external view returns (bytes32) {
        return _hashTypedData(structHash);
    }

    /// @notice The EIP-712 digest of a signed batch under this account's domain.
    function hashSignedBatchedCall(SignedBatchedCall calldata signedBatchedCall) external view returns (bytes32) {
        return _hashTypedData(SignedBatchLib.hash(signedBatchedCall));
    }

    /// @notice The EntryPoint this account trusts (`address(0)`: ERC-4337 disabled).
    function ENTRY_POINT() external view returns (address) {
        return _entryPoint();
    }

    /// @notice Whether `mode` is one of the two ERC-7821 batch modes `execute` supports.
    function supportsExecutionMode(bytes32 mode) external pure returns (bool) {
        return mode == MODE_REVERT_ON_FAILURE || mode == MODE_CONTINUE_ON_FAILURE;
    }

    /// @notice ERC-7201: the storage namespace.
    function namespaceAndVersion() external pure returns (string memory) {
        return "keyward.account.v2";
    }

    /// @notice ERC-7201: the storage root.
    function CUSTOM_STORAGE_ROOT() external pure returns (bytes32) {
        return STORAGE_ROOT;
    }
}
