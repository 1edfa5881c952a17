// SPDX-License-Identifier: MIT
pragma solidity ^0.8.30;

import {IPolicyHook} from "../../interfaces/IPolicyHook.sol";
import {RuleLib} from "./RuleLib.sol";

/// @title CallSpendLib
/// @notice What one call made by a key moves or approves out of the account, as the PolicyHook counts it:
/// - a limited token: `transfer(to, amount)`, `transferFrom(account, to, amount)`, `approve(spender, amount)` and
///   `increaseAllowance(spender, amount)` count `amount`; any other selector is refused;
/// - Uniswap's ERC20ETH (`ERC20_ETH`, native value through ERC-7914): the same selectors count as native value;
/// - Permit2 (`PERMIT2`): `approve(token, ..)` and `transferFrom(account, .., token)` count against `token` (native
///   value when it is ERC20ETH); the batch and signature entry points are refused; `lockdown` and the nonce
///   invalidations (they only take permissions away) pass;
/// - the canonical EntryPoints (v0.8, v0.7, v0.6): `withdrawTo` / `withdrawStake` may only pay the account.
/// Reverts `UncountedTokenCall` for a call that would move value uncounted, `MalformedCalldata` when a counted
/// argument is missing.
library CallSpendLib {
    /// @dev The canonical Permit2.
    address internal constant PERMIT2 = 0x000000000022D473030F116dDEE9F6B43aC78BA3;
    /// @dev Uniswap's ERC20ETH: an ERC-20 face for native value (through ERC-7914).
    address internal constant ERC20_ETH = 0x00000000e20E49e6dCeE6e8283A0C090578F0fb9;

    bytes4 internal constant PERMIT2_APPROVE = 0x87517c45;
    bytes4 internal constant PERMIT2_TRANSFER_FROM = 0x36c78516;
    bytes4 internal constant PERMIT2_LOCKDOWN = 0xcc53287f;
    bytes4 internal constant PERMIT2_INVALIDATE_NONCES = 0x65d9723c;
    bytes4 internal constant PERMIT2_INVALIDATE_UNORDERED_NONCES = 0x3ff9dcb1;
    /// @dev The canonical ERC-4337 EntryPoints (v0.8, v0.7, v0.6): the account's deposit and stake there are its
    /// native value too; `withdrawTo` (0x205c2878) and `withdrawStake` (0xc23a5cea) may only pay the account.
    address internal constant ENTRY_POINT_V08 = 0x4337084D9E255Ff0702461CF8895CE9E3b5Ff108;
    address internal constant ENTRY_POINT_V07 = 0x0000000071727De22E5E9d8BAf0edAc6f37da032;
    address internal constant ENTRY_POINT_V06 = 0x5FF137D4b0FDCD49DcA30c7CF57E578a026d2789;

    /// @dev The amount an ERC-20 call on a counted token (or ERC20ETH) moves or approves from `account`.
    function tokenAmount(address token, bytes4 selector, bytes calldata data, address account)
        internal
        pure
        returns (uint256)
    {
        if (selector == RuleLib.TRANSFER || selector == RuleLib.APPROVE || selector == RuleLib.INCREASE_ALLOWANCE) {
            return arg(data, 1);
        }
        if (selector == RuleLib.TRANSFER_FROM) return address(uint160(arg(data, 0))) == account ? arg(data, 2) : 0;
        revert IPolicyHook.UncountedTokenCall(token, selector);
    }

    /// @dev What a call to something other than a limited token spends besides its value: native value through
    /// ERC20ETH (directly or by Permit2), or `amount` of `token` through Permit2 (`viaPermit2`: the caller must
    /// refuse the call unless `token` is limited, whatever the amount). Refuses EntryPoint withdrawals to anyone but
    /// `account`.
    function spending(address to, bytes4 selector, bytes calldata data, address account)
        internal
        pure
        returns (uint256 native, address token, uint256 amount, bool viaPermit2)
    {
        if (to == PERMIT2) {
            if (selector == PERMIT2_APPROVE) {
                (token, amount) = (address(uint160(arg(data, 0))), arg(data, 2));
            } else if (selector == PERMIT2_TRANSFER_FROM) {
                token = address(uint160(arg(data, 3)));
                if (address(uint160(arg(data, 0))) == account) amount = arg(data, 2);
            } else if (
                selector == PERMIT2_LOCKDOWN || selector == PERMIT2_INVALIDATE_NONCES
                    || selector == PERMIT2_INVALIDATE_UNORDERED_NONCES
            ) {
                return (0, address(0), 0, false);
            } else {
                revert IPolicyHook.UncountedTokenCall(PERMIT2, selector);
            }
            if (token == ERC20_ETH) return (amount, address(0), 0, false);
            return (0, token, amount, true);
        }
        if (to == ERC20_ETH) return (tokenAmount(to, selector, data, account), address(0), 0, false);
        // The account's deposit and stake at a canonical EntryPoint leave it only to the account itself (a word
        // missing from short calldata reads as another address).
        bool withdraws;
        assembly ("memory-safe") {
            if or(or(eq(to, ENTRY_POINT_V08), eq(to, ENTRY_POINT_V07)), eq(to, ENTRY_POINT_V06)) {
                let s := shr(224, selector)
                if or(eq(s, 0x205c2878), eq(s, 0xc23a5cea)) {
                    withdraws := iszero(eq(and(calldataload(add(data.offset, 4)), sub(shl(160, 1), 1)), account))
                }
            }
        }
        if (withdraws) revert IPolicyHook.UncountedTokenCall(to, selector);
    }

    /// @dev Static word `index` after the selector.
    function arg(bytes calldata data, uint256 index) internal pure returns (uint256) {
        uint256 pos = 4 + index * 32;
        if (data.length < pos + 32) revert IPolicyHook.MalformedCalldata();
        return uint256(bytes32(data[pos:pos + 32]));
    }
}
