// SPDX-License-Identifier: MIT
pragma solidity 0.8.37;

import {Condition, RuleState} from "../../interfaces/IPolicyHook.sol";
import {HooksLib} from "../../libraries/HooksLib.sol";
import {Caps} from "../types/Caps.sol";
import {PolicyHeader} from "../types/PolicyHeader.sol";
import {SpendState} from "../types/SpendState.sol";

/// @title PolicyStorage
/// @notice The PolicyHook's storage (one ERC-7201 namespace, shared by `PolicyHook` and `PolicyHookExtension`, which
/// runs by DELEGATECALL), keyed by (key registration `keyId`, account), and the trailing words every callback reads.
abstract contract PolicyStorage {
    /// @dev A limited token's caps and spending: two adjacent slots, read together.
    struct TokenState {
        Caps caps;
        SpendState spend;
    }

    struct Rule {
        RuleState state;
        uint8 conditionCount;
        uint16 index; // position + 1 in `ruleIds`
    }

    /// @dev The first five slots (header and paymasters) are what validation reads: storage associated with the
    /// account (`keccak256(account || x) + n`) under ERC-7562. New fields go at the end (the layout is shared with
    /// deployed policies and with the test probes).
    struct KeyPolicy {
        PolicyHeader header;
        address[4] paymasters;
        Caps nativeCaps;
        uint256 nativePerCall;
        SpendState nativeSpend;
        mapping(address token => TokenState) tokenStates;
        address[] tokens;
        mapping(bytes32 ruleId => Rule) rules;
        mapping(bytes32 ruleId => Condition[]) conditions;
        bytes32[] ruleIds;
        bytes32[] domains;
    }

    /// @custom:storage-location erc7201:keyward.hooks.policy.v2
    struct HookStorage {
        mapping(bytes32 keyId => mapping(address account => KeyPolicy)) policies;
    }

    /// @dev keccak256(abi.encode(uint256(keccak256("keyward.hooks.policy.v2")) - 1)) & ~bytes32(uint256(0xff))
    bytes32 internal constant STORAGE_SLOT = 0xc3995fef6f58cd9e5c0b060a15f2ac491d3b2e822621434e9800db1019303d00;

    /// @dev The callbacks the hook's address must enable: AFTER_VALIDATE_USER_OP | AFTER_IS_VALID_SIGNATURE |
    /// BEFORE_EXECUTE | AFTER_EXECUTE (0x1e).
    uint160 internal constant HOOK_FLAGS = HooksLib.AFTER_VALIDATE_USER_OP | HooksLib.AFTER_IS_VALID_SIGNATURE
        | HooksLib.BEFORE_EXECUTE | HooksLib.AFTER_EXECUTE;

    uint256 internal constant MAX_RULE_COUNT = 64;
    uint256 internal constant MAX_CONDITION_COUNT = 8;
    uint256 internal constant MAX_SET_VALUE_COUNT = 8;
    uint256 internal constant MAX_TOKEN_COUNT = 16;
    uint256 internal constant MAX_DOMAIN_COUNT = 8;
    uint256 internal constant MAX_PAYMASTER_COUNT = 4;

    /// @dev Whether this code runs at an address whose low 5 bits are the hook's flags.
    function _atFlagAddress() internal view returns (bool) {
        return uint160(address(this)) & HooksLib.ALL == HOOK_FLAGS;
    }

    function _policy(address account, bytes32 keyId) internal view returns (KeyPolicy storage p) {
        HookStorage storage $;
        assembly ("memory-safe") {
            $.slot := STORAGE_SLOT
        }
        p = $.policies[keyId][account];
    }
}
