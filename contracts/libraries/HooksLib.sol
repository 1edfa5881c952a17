// SPDX-License-Identifier: MIT
pragma solidity ^0.8.30;

import {IExecutionHook, IValidationHook} from "../interfaces/IHook.sol";
import {IKeyward, PackedUserOperation} from "../interfaces/IKeyward.sol";
import {Settings} from "../types/Settings.sol";

/// @title HooksLib
/// @notice The one place that knows which callback each hook-address bit enables (Uniswap Calibur's flags), and
/// how the account calls each callback: Calibur's arguments, then Keyward's trailing words (validation callbacks:
/// keyId, settings, extra; execution callbacks: keyId, settings, extra, operation; see `IHook.sol`).
/// @dev Every callback must answer its own selector; anything else (including an address without code, which
/// answers nothing) reverts `InvalidHookResponse`, so no flag can fail open. A hook's own revert is bubbled.
library HooksLib {
    /// @dev The key a callback is about: Calibur's `keyHash` argument, and Keyward's trailing `keyId` and settings;
    /// `operation` is the digest that authorized the batch (ERC-4337: the `userOpHash`; relayed: the EIP-712 digest
    /// the key signed; direct path and ERC-7710 redemption: 0), the fourth trailing word of execution callbacks.
    struct KeyContext {
        bytes32 keyHash;
        bytes32 keyId;
        Settings settings;
        bytes32 operation;
    }

    uint160 internal constant AFTER_VERIFY_SIGNATURE = 1 << 0;
    uint160 internal constant AFTER_VALIDATE_USER_OP = 1 << 1;
    uint160 internal constant AFTER_IS_VALID_SIGNATURE = 1 << 2;
    uint160 internal constant BEFORE_EXECUTE = 1 << 3;
    uint160 internal constant AFTER_EXECUTE = 1 << 4;
    /// @dev Every flag.
    uint160 internal constant ALL = 0x1f;

    /// @dev Whether `hook`'s address enables `flag`.
    function has(address hook, uint160 flag) internal pure returns (bool) {
        return uint160(hook) & flag != 0;
    }

    /// @dev Whether `hook`'s address enables any callback.
    function hasAny(address hook) internal pure returns (bool) {
        return uint160(hook) & ALL != 0;
    }

    // ------------------------------------------------------------------------------------------------------------
    // Validation callbacks (STATICCALL)
    // ------------------------------------------------------------------------------------------------------------

    /// @dev `afterVerifySignature`: reverts when the hook refuses.
    function afterVerifySignature(address hook, KeyContext memory k, bytes32 digest, bytes calldata hookData)
        internal
        view
    {
        bytes4 selector = IValidationHook.afterVerifySignature.selector;
        _staticExpect(hook, _withTrailer(abi.encodeWithSelector(selector, k.keyHash, digest, hookData), k, 0), selector);
    }

    /// @dev `afterValidateUserOp`: reverts when the hook refuses. The user operation is copied as the EntryPoint
    /// encoded it (it is the last argument of `validateUserOp`, so its encoding runs to the end of calldata).
    function afterValidateUserOp(
        address hook,
        KeyContext memory k,
        PackedUserOperation calldata userOp,
        bytes32 userOpHash,
        uint256 validationData,
        bytes calldata hookData
    ) internal view {
        bytes memory data;
        assembly ("memory-safe") {
            data := mload(0x40)
            let opSize := sub(calldatasize(), userOp)
            let p := add(data, 0x20)
            mstore(p, shl(224, 0x9e364dba)) // IValidationHook.afterValidateUserOp.selector
            mstore(add(p, 0x04), mload(k))
            mstore(add(p, 0x24), 0xa0)
            mstore(add(p, 0x44), userOpHash)
            mstore(add(p, 0x64), validationData)
            mstore(add(p, 0x84), add(0xa0, opSize))
            calldatacopy(add(p, 0xa4), userOp, opSize)
            let q := add(add(p, 0xa4), opSize)
            mstore(q, hookData.length)
            calldatacopy(add(q, 0x20), hookData.offset, hookData.length)
            mstore(add(add(q, 0x20), hookData.length), 0)
            let end := add(add(q, 0x20), and(add(hookData.length, 0x1f), not(0x1f)))
            mstore(data, sub(end, p))
            mstore(0x40, end)
        }
        _staticExpect(hook, _withTrailer(data, k, 0), IValidationHook.afterValidateUserOp.selector);
    }

    /// @dev `afterIsValidSignature`: whether the hook approves (a revert or a wrong answer is a refusal).
    function approvesSignature(
        address hook,
        KeyContext memory k,
        bytes32 digest,
        bytes calldata hookData,
        bytes32 appSeparator
    ) internal view returns (bool approved) {
        bytes4 selector = IValidationHook.afterIsValidSignature.selector;
        bytes memory data =
            _withTrailer(abi.encodeWithSelector(selector, k.keyHash, digest, hookData), k, uint256(appSeparator));
        assembly ("memory-safe") {
            mstore(0x00, 0)
            let ok := staticcall(gas(), hook, add(data, 0x20), mload(data), 0x00, 0x20)
            approved := and(ok, and(gt(returndatasize(), 0x1f), eq(mload(0x00), selector)))
        }
    }

    // ------------------------------------------------------------------------------------------------------------
    // Execution callbacks
    // ------------------------------------------------------------------------------------------------------------

    /// @dev `beforeExecute`, encoded by hand (it runs before every call): returns the hook's context.
    /// `callInfo` is `(batchLength << 128) | callIndex`; the trailer is keyId, settings, callInfo, operation.
    function beforeExecute(
        address hook,
        KeyContext memory k,
        address to,
        uint256 value,
        bytes calldata data,
        uint256 callInfo
    ) internal returns (bytes memory context) {
        assembly ("memory-safe") {
            let m := mload(0x40)
            mstore(m, shl(224, 0xec9b4ee4)) // IExecutionHook.beforeExecute.selector
            mstore(add(m, 0x04), mload(k))
            mstore(add(m, 0x24), to)
            mstore(add(m, 0x44), value)
            mstore(add(m, 0x64), 0x80)
            mstore(add(m, 0x84), data.length)
            calldatacopy(add(m, 0xa4), data.offset, data.length)
            mstore(add(add(m, 0xa4), data.length), 0) // zero the padding
            // The trailer: keyId, settings, callInfo, operation.
            let t := add(add(m, 0xa4), and(add(data.length, 0x1f), not(0x1f)))
            mstore(t, mload(add(k, 0x20)))
            mstore(add(t, 0x20), mload(add(k, 0x40)))
            mstore(add(t, 0x40), callInfo)
            mstore(add(t, 0x60), mload(add(k, 0x60)))
            if iszero(call(gas(), hook, 0, m, sub(add(t, 0x80), m), 0x00, 0x00)) {
                returndatacopy(m, 0x00, returndatasize())
                revert(m, returndatasize())
            }
            // Answer: abi.encode(bytes4 selector, bytes context) = selector | 0x40 | length | data.
            t := returndatasize()
            if lt(t, 0x60) {
                mstore(0x00, 0x1e048e1d) // InvalidHookResponse()
                revert(0x1c, 0x04)
            }
            returndatacopy(m, 0x00, t)
            let len := mload(add(m, 0x40))
            if iszero(
                and(
                    and(eq(mload(m), shl(224, 0xec9b4ee4)), eq(mload(add(m, 0x20)), 0x40)),
                    iszero(gt(len, sub(t, 0x60)))
                )
            ) {
                mstore(0x00, 0x1e048e1d) // InvalidHookResponse()
                revert(0x1c, 0x04)
            }
            context := add(m, 0x40)
            mstore(0x40, add(context, and(add(add(len, 0x20), 0x1f), not(0x1f))))
        }
    }

    /// @dev `afterExecute`: reverts when the hook refuses. Trailer: keyId, settings, callInfo, operation.
    function afterExecute(
        address hook,
        KeyContext memory k,
        bool success,
        bytes memory output,
        bytes memory context,
        uint256 callInfo
    ) internal {
        bytes4 selector = IExecutionHook.afterExecute.selector;
        bytes memory data =
            _withTrailer(abi.encodeWithSelector(selector, k.keyHash, success, output, context), k, callInfo);
        assembly ("memory-safe") {
            // The fourth word: the operation.
            let len := mload(data)
            let t := add(add(data, 0x20), len)
            mstore(t, mload(add(k, 0x60)))
            mstore(data, add(len, 0x20))
            mstore(0x40, and(add(t, 0x3f), not(0x1f)))
        }
        bool valid;
        assembly ("memory-safe") {
            mstore(0x00, 0)
            if iszero(call(gas(), hook, 0, add(data, 0x20), mload(data), 0x00, 0x20)) {
                let m := mload(0x40)
                returndatacopy(m, 0x00, returndatasize())
                revert(m, returndatasize())
            }
            valid := and(gt(returndatasize(), 0x1f), eq(mload(0x00), selector))
        }
        if (!valid) revert IKeyward.InvalidHookResponse();
    }

    // ------------------------------------------------------------------------------------------------------------
    // Internals
    // ------------------------------------------------------------------------------------------------------------

    /// @dev Appends the trailer (keyId, settings, extra) to `data`, the last memory allocated.
    function _withTrailer(bytes memory data, KeyContext memory k, uint256 extra) private pure returns (bytes memory) {
        assembly ("memory-safe") {
            let len := mload(data)
            let t := add(add(data, 0x20), len)
            mstore(t, mload(add(k, 0x20)))
            mstore(add(t, 0x20), mload(add(k, 0x40)))
            mstore(add(t, 0x40), extra)
            mstore(data, add(len, 0x60))
            mstore(0x40, and(add(t, 0x7f), not(0x1f)))
        }
        return data;
    }

    function _staticExpect(address hook, bytes memory data, bytes4 selector) private view {
        bool valid;
        assembly ("memory-safe") {
            mstore(0x00, 0)
            if iszero(staticcall(gas(), hook, add(data, 0x20), mload(data), 0x00, 0x20)) {
                let m := mload(0x40)
                returndatacopy(m, 0x00, returndatasize())
                revert(m, returndatasize())
            }
            valid := and(gt(returndatasize(), 0x1f), eq(mload(0x00), selector))
        }
        if (!valid) revert IKeyward.InvalidHookResponse();
    }
}
