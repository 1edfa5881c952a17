// SPDX-License-Identifier: MIT
pragma solidity 0.8.37;

import {KeywardExtension} from "./KeywardExtension.sol";
import {DelegationRedeemer} from "./modules/DelegationRedeemer.sol";
import {EIP712} from "./modules/EIP712.sol";
import {ERC1271} from "./modules/ERC1271.sol";
import {ERC4337Account} from "./modules/ERC4337Account.sol";
import {KeyManagement} from "./modules/KeyManagement.sol";
import {Receiver} from "./modules/Receiver.sol";
import {RelayedExecutor} from "./modules/RelayedExecutor.sol";

/// @title Keyward
/// @notice The account an EOA delegates to with EIP-7702: a registry of keys, each with one packed settings word
/// (hook, expiration, admin flag, validAfter, flags), and execution paths that enforce the same rules: direct
/// (Calibur batch and ERC-7821), relayed signed batches, ERC-4337 v0.8 and ERC-1271 (with ERC-7739). Its external
/// ABI (`IKeyward`) and hook interface (`IHook`) are a superset of Uniswap Calibur's.
/// @dev No constructor arguments and no initializer: a freshly delegated EOA works at once and is its own root key
/// (key hash 0). This contract holds every path and the key writes; the views and the account's rarer settings
/// live in `KeywardExtension`, which it creates and reaches through its fallback. Composed of modules
/// (`modules/`, `extension/`), pure libraries (`libraries/`) and packed value types (`types/`); storage lives in
/// one ERC-7201 namespace (`AccountState`).
contract Keyward is KeyManagement, RelayedExecutor, ERC4337Account, DelegationRedeemer, ERC1271, Receiver {
    /// @notice Where the account's other functions live (run by DELEGATECALL).
    address public immutable EXTENSION;

    constructor() EIP712(address(this)) {
        EXTENSION = address(new KeywardExtension());
    }

    /// @notice Runs every other function of the account in `EXTENSION`, as the account.
    fallback() external payable {
        address extension = EXTENSION;
        assembly ("memory-safe") {
            calldatacopy(0x00, 0x00, calldatasize())
            let ok := delegatecall(gas(), extension, 0x00, calldatasize(), 0x00, 0x00)
            returndatacopy(0x00, 0x00, returndatasize())
            if iszero(ok) { revert(0x00, returndatasize()) }
            return(0x00, returndatasize())
        }
    }
}
