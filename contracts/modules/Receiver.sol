// SPDX-License-Identifier: MIT
pragma solidity 0.8.37;

import {AccountState} from "./AccountState.sol";

/// @title Receiver
/// @notice Receives ETH and every ERC-721 / ERC-1155 token.
abstract contract Receiver is AccountState {
    /// @notice Accepts ETH.
    receive() external payable {}

    /// @notice ERC-721 receiver: accepts every token.
    function onERC721Received(address, address, uint256, bytes calldata) external pure returns (bytes4) {
        return this.onERC721Received.selector;
    }

    /// @notice ERC-1155 receiver: accepts every token.
    function onERC1155Received(address, address, uint256, uint256, bytes calldata) external pure returns (bytes4) {
        return this.onERC1155Received.selector;
    }

    /// @notice ERC-1155 batch receiver: accepts every token.
    function onERC1155BatchReceived(address, address, uint256[] calldata, uint256[] calldata, bytes calldata)
        external
        pure
        returns (bytes4)
    {
        return this.onERC1155BatchReceived.selector;
    }
}
