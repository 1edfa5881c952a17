// SPDX-License-Identifier: MIT
pragma solidity 0.8.37;

import {IKeyward} from "../interfaces/IKeyward.sol";
import {AccountState} from "../modules/AccountState.sol";

/// @title ERC7914
/// @notice Native allowances (draft ERC-7914, as Uniswap's Calibur and `ERC20ETH` use them): the account lets a
/// spender pull native value, persistently or for the current transaction. Only the account itself (root or an
/// admin key) approves; any spender with an allowance pulls, and `from` must be the account. A maximal persistent
/// allowance is never spent down. The persistent and transient allowances are separate and both usable.
abstract contract ERC7914 is AccountState {
    /// @dev keccak256("keyward.account.native-allowance") - 1: the seed of transient allowance slots
    /// (`keccak256(spender, seed)`), namespaced like the persistent storage.
    uint256 private constant TRANSIENT_SEED = 0xa26044325ddeaf8916b5ec4f2f2a329e372f4ec47d152cd74926ff97005e7268;

    /// @notice Lets `spender` move up to `amount` wei out of the account (`type(uint256).max`: unlimited).
    function approveNative(address spender, uint256 amount) external onlyThis returns (bool) {
        _state().nativeAllowance[spender] = amount;
        emit IKeyward.ApproveNative(address(this), spender, amount);
        return true;
    }

    /// @notice Like `approveNative`, for the current transaction only.
    function approveNativeTransient(address spender, uint256 amount) external onlyThis returns (bool) {
        _setTransient(spender, amount);
        emit IKeyward.ApproveNativeTransient(address(this), spender, amount);
        return true;
    }

    /// @notice Sends `amount` wei from the account (`from`) to `recipient`, spending the caller's allowance.
    function transferFromNative(address from, address recipient, uint256 amount) external returns (bool) {
        if (amount == 0) return true;
        if (from != address(this)) revert IKeyward.IncorrectSender();
        mapping(address => uint256) storage allowances = _state().nativeAllowance;
        uint256 allowance = allowances[msg.sender];
        if (allowance < amount) revert IKeyward.AllowanceExceeded();
        if (allowance != type(uint256).max) {
            unchecked {
                allowances[msg.sender] = allowance - amount;
                emit IKeyward.NativeAllowanceUpdated(msg.sender, allowance - amount);
            }
        }
        _send(recipient, amount);
        emit IKeyward.TransferFromNative(address(this), recipient, amount);
        return true;
    }

    /// @notice Like `transferFromNative`, spending the caller's transient allowance.
    function transferFromNativeTransient(address from, address recipient, uint256 amount) external returns (bool) {
        if (amount == 0) return true;
        if (from != address(this)) revert IKeyward.IncorrectSender();
        uint256 allowance = transientNativeAllowance(msg.sender);
        if (allowance < amount) revert IKeyward.AllowanceExceeded();
        if (allowance != type(uint256).max) {
            unchecked {
                _setTransient(msg.sender, allowance - amount);
            }
        }
        _send(recipient, amount);
        emit IKeyward.TransferFromNativeTransient(address(this), recipient, amount);
        return true;
    }

    /// @notice The persistent native allowance of `spender`.
    function nativeAllowance(address spender) external view returns (uint256) {
        return _state().nativeAllowance[spender];
    }

    /// @notice The transient native allowance of `spender`.
    function transientNativeAllowance(address spender) public view returns (uint256 amount) {
        assembly ("memory-safe") {
            mstore(0x00, spender)
            mstore(0x20, TRANSIENT_SEED)
            amount := tload(keccak256(0x00, 0x40))
        }
    }

    function _setTransient(address spender, uint256 amount) private {
        assembly ("memory-safe") {
            mstore(0x00, spender)
            mstore(0x20, TRANSIENT_SEED)
            tstore(keccak256(0x00, 0x40), amount)
        }
    }

    function _send(address recipient, uint256 amount) private {
        bool ok;
        assembly ("memory-safe") {
            ok := call(gas(), recipient, amount, codesize(), 0x00, codesize(), 0x00)
        }
        if (!ok) revert IKeyward.TransferNativeFailed();
    }
}
