// SPDX-License-Identifier: MIT
pragma solidity 0.8.37;

import {IPolicyHook} from "../interfaces/IPolicyHook.sol";
import {CallSpendLib} from "./libraries/CallSpendLib.sol";
import {ConditionLib} from "./libraries/ConditionLib.sol";
import {RuleLib} from "./libraries/RuleLib.sol";
import {PolicyConfig} from "./policy/PolicyConfig.sol";
import {PolicyViews} from "./policy/PolicyViews.sol";

/// @title PolicyHookExtension
/// @notice The PolicyHook's configuration and views. `PolicyHook` creates it in its constructor and runs it by
/// DELEGATECALL from its fallback, so it acts on the hook's storage, at the hook's address, with the account as
/// `msg.sender`; the hook's own code keeps only the callbacks (the hot path), well under the EIP-170 limit.
/// @dev Called directly (not through the hook), configuration is refused unless this contract's own address
/// carries the hook's flags, and then only for keys whose settings name this contract: it only ever touches its
/// own storage, which no callback reads.
contract PolicyHookExtension is PolicyConfig, PolicyViews {
    /// @notice Wildcard target of a rule (and, in `setPaymasters`, any paymaster).
    address public constant ANY_TARGET = RuleLib.ANY_TARGET;
    /// @notice Wildcard selector of a rule (an allow never covers calls without data; a deny covers them too).
    bytes4 public constant ANY_SELECTOR = RuleLib.ANY_SELECTOR;
    /// @notice The rule selector of calls without data (plain ETH transfers).
    bytes4 public constant EMPTY_CALLDATA = RuleLib.EMPTY_CALLDATA;
    /// @notice A condition's `argIndex` that compares the call's value.
    uint16 public constant VALUE_ARG = ConditionLib.VALUE_ARG;
    /// @notice The canonical Permit2.
    address public constant PERMIT2 = CallSpendLib.PERMIT2;
    /// @notice Uniswap's ERC20ETH: an ERC-20 face for native value (through ERC-7914).
    address public constant ERC20_ETH = CallSpendLib.ERC20_ETH;
    /// @notice The callbacks the hook's address must enable (its low 5 bits, 0x1e).
    uint160 public constant FLAGS = HOOK_FLAGS;
    /// @notice The most call rules a key may have.
    uint256 public constant MAX_RULES = MAX_RULE_COUNT;
    /// @notice The most conditions a rule may have.
    uint256 public constant MAX_CONDITIONS = MAX_CONDITION_COUNT;
    /// @notice The most values an `InSet` condition may list.
    uint256 public constant MAX_SET_VALUES = MAX_SET_VALUE_COUNT;
    /// @notice The most limited tokens (periodic or streamed) a key may have.
    uint256 public constant MAX_TOKENS = MAX_TOKEN_COUNT;
    /// @notice The most ERC-1271 application domains a key may list.
    uint256 public constant MAX_DOMAINS = MAX_DOMAIN_COUNT;
    /// @notice The most paymasters a key may list.
    uint256 public constant MAX_PAYMASTERS = MAX_PAYMASTER_COUNT;

    /// @notice Refuses calls to functions the hook does not have.
    fallback() external {
        revert IPolicyHook.FnSelectorNotRecognized();
    }
}
