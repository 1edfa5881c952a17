// SPDX-License-Identifier: MIT
pragma solidity ^0.8.30;

import {PackedUserOperation} from "../../contracts/interfaces/IHook.sol";
import {IPolicyHook} from "../../contracts/interfaces/IPolicyHook.sol";

/// @notice Runs the PolicyHook's code (at `IMPL`) on its own storage: placed with `vm.etch` at a configured hook's
/// address, it answers every callback as the hook does, one DELEGATECALL away. The baseline of the
/// validation-time measurement (the probe below pays the same hop).
contract PolicyPassThrough {
    address internal immutable IMPL;

    constructor(address impl) {
        IMPL = impl;
    }

    function _delegate() internal {
        address impl = IMPL;
        assembly ("memory-safe") {
            calldatacopy(0x00, 0x00, calldatasize())
            let ok := delegatecall(gas(), impl, 0x00, calldatasize(), 0x00, 0x00)
            returndatacopy(0x00, 0x00, returndatasize())
            if iszero(ok) { revert(0x00, returndatasize()) }
            return(0x00, returndatasize())
        }
    }

    fallback() external payable {
        _delegate();
    }
}

/// @notice A measurement probe, not a proposal for the hook: the PolicyHook with a call-rule check added to its
/// ERC-4337 validation callback. Before the hook's own check (who pays), it walks the operation's batch
/// (`executeUserOp.selector ++ abi.encode(BatchedCall)`) and refuses any call that no allow rule covers or that a
/// deny covers (target/selector only, no conditions, no spending), reading the PolicyHook's rules where the hook
/// keeps them (the same ERC-7201 layout, copied below).
contract PolicyValidatingProbe is PolicyPassThrough {
    uint8 private constant ALLOW = 1;
    uint8 private constant DENY = 2;
    address private constant ANY_TARGET = address(type(uint160).max);
    bytes4 private constant ANY_SELECTOR = 0xffffffff;
    uint256 private constant EMPTY_BIT = 1 << 32;
    uint256 private constant HAS_DENY = 1 << 208;
    bytes4 private constant EXECUTE_USER_OP = 0x8dd7712f;
    bytes32 private constant STORAGE_SLOT = 0xc3995fef6f58cd9e5c0b060a15f2ac491d3b2e822621434e9800db1019303d00;

    struct Rule {
        uint8 state;
        uint8 conditionCount;
        uint16 index;
    }

    struct TokenState {
        uint256 caps;
        uint256 spend;
    }

    /// @dev PolicyHook's `KeyPolicy`, field for field (value types as uint256), up to `rules`.
    struct KeyPolicy {
        uint256 header;
        address[4] paymasters;
        uint256 nativeCaps;
        uint256 nativePerCall;
        uint256 nativeSpend;
        mapping(address => TokenState) tokenStates;
        address[] tokens;
        mapping(bytes32 => Rule) rules;
    }

    struct HookStorage {
        mapping(bytes32 keyId => mapping(address account => KeyPolicy)) policies;
    }

    constructor(address impl) PolicyPassThrough(impl) {}

    function afterValidateUserOp(bytes32, PackedUserOperation calldata userOp, bytes32, uint256, bytes calldata)
        external
    {
        bytes32 keyId;
        assembly ("memory-safe") {
            keyId := calldataload(sub(calldatasize(), 0x60))
        }
        HookStorage storage $;
        assembly ("memory-safe") {
            $.slot := STORAGE_SLOT
        }
        KeyPolicy storage p = $.policies[keyId][msg.sender];
        _checkBatch(p, userOp.callData);
        _delegate();
    }

    function _checkBatch(KeyPolicy storage p, bytes calldata callData) private view {
        if (callData.length < 4 || bytes4(callData[0:4]) != EXECUTE_USER_OP) return;
        bool hasDeny = p.header & HAS_DENY != 0;
        uint256 n;
        uint256 calls; // calldata offset of the Call[] data (its element offsets)
        assembly ("memory-safe") {
            let batch := add(add(callData.offset, 4), calldataload(add(callData.offset, 4)))
            let arr := add(batch, calldataload(batch))
            n := calldataload(arr)
            calls := add(arr, 0x20)
        }
        for (uint256 i; i < n; ++i) {
            address to;
            uint256 len;
            bytes4 sel;
            assembly ("memory-safe") {
                let c := add(calls, calldataload(add(calls, mul(i, 0x20))))
                to := calldataload(c)
                let data := add(c, calldataload(add(c, 0x40)))
                len := calldataload(data)
                sel := and(calldataload(add(data, 0x20)), shl(224, 0xffffffff))
            }
            if (to == address(0) || to == msg.sender || to == address(this)) {
                revert IPolicyHook.SelfCallDenied(to);
            }
            bool empty = len == 0;
            if (len > 0 && len < 4) sel &= bytes4(~(type(uint32).max >> (8 * len)));
            if (!_allowed(p, hasDeny, to, sel, empty)) revert IPolicyHook.CallNotAllowed(to, sel);
        }
    }

    function _id(address target, bytes4 selector, bool empty) private pure returns (bytes32) {
        return bytes32((uint256(uint160(target)) << 96) | (empty ? EMPTY_BIT : 0) | uint256(uint32(selector)));
    }

    /// @dev The PolicyHook's matching (deny beats every allow; ANY_SELECTOR allows never cover empty calls).
    function _allowed(KeyPolicy storage p, bool hasDeny, address to, bytes4 sel, bool empty)
        private
        view
        returns (bool)
    {
        uint8 exact = p.rules[_id(to, sel, empty)].state;
        if (!hasDeny && exact == ALLOW) return true;
        uint8 anySel = p.rules[_id(to, ANY_SELECTOR, false)].state;
        uint8 anyTarget = p.rules[_id(ANY_TARGET, sel, empty)].state;
        uint8 anyAny = p.rules[_id(ANY_TARGET, ANY_SELECTOR, false)].state;
        if (hasDeny && (exact == DENY || anySel == DENY || anyTarget == DENY || anyAny == DENY)) return false;
        return exact == ALLOW || (!empty && anySel == ALLOW) || anyTarget == ALLOW || (!empty && anyAny == ALLOW);
    }
}
