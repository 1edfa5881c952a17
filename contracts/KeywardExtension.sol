// SPDX-License-Identifier: MIT
pragma solidity 0.8.37;

import {AccountSettings} from "./extension/AccountSettings.sol";
import {AccountViews} from "./extension/AccountViews.sol";
import {ERC7914} from "./extension/ERC7914.sol";
import {KeyPause} from "./extension/KeyPause.sol";
import {KeyViews} from "./extension/KeyViews.sol";
import {Multicall} from "./extension/Multicall.sol";
import {IKeyward} from "./interfaces/IKeyward.sol";
import {EIP712} from "./modules/EIP712.sol";

/// @title KeywardExtension
/// @notice The account's less frequent functions: views, the account's own settings (revoke all, EntryPoint, salt,
/// nonce lanes, gas budgets), pausing keys, ERC-7914 native allowances and multicall. `Keyward` creates it in its
/// constructor and runs it by DELEGATECALL from its fallback, so it acts on the account's storage as the account; it
/// keeps the hot paths of `Keyward` under the EIP-170 code size limit with the optimizer tuned for runtime gas.
/// @dev Called directly (not through an account), it only ever touches its own, empty storage.
contract KeywardExtension is KeyViews, KeyPause, AccountSettings, AccountViews, ERC7914, Multicall {
    /// @dev `msg.sender` is the `Keyward` implementation creating it (part of the EIP-712 salt).
    constructor() EIP712(msg.sender) {}

    /// @notice Refuses calls to functions the account does not have.
    fallback() external {
        revert IKeyward.FnSelectorNotRecognized();
    }
}
