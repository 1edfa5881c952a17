// SPDX-License-Identifier: MIT
pragma solidity 0.8.37;

import {IExecutionHook, IHook, IValidationHook, PackedUserOperation} from "../interfaces/IHook.sol";
import {IPolicyHook, SignatureMode} from "../interfaces/IPolicyHook.sol";
import {HooksLib} from "../libraries/HooksLib.sol";
import {Settings, SettingsLib} from "../types/Settings.sol";
import {PolicyHookExtension} from "./PolicyHookExtension.sol";
import {RuleLib} from "./libraries/RuleLib.sol";
import {PolicyCounting} from "./policy/PolicyCounting.sol";
import {PolicyRules} from "./policy/PolicyRules.sol";
import {Caps} from "./types/Caps.sol";
import {PolicyHeader, PolicyHeaderLib} from "./types/PolicyHeader.sol";

/// @title PolicyHook
/// @notice Turns a session key into a scoped delegate. One deployment serves every account; each account
/// configures its own keys (msg.sender is the account), and state lives under (keyId, account). It speaks Uniswap
/// Calibur's hook interface and reads Keyward's trailing words (`keyId`, settings, extra; see `IHook.sol`). Its ABI
/// is `IPolicyHook` and `IHook`: this contract holds the callbacks (the hot path); the configuration and views live
/// in `PolicyHookExtension` (`EXTENSION`), which its fallback runs by DELEGATECALL on this hook's storage.
/// @dev Deployed at an address whose low 5 bits are 0x1e (AFTER_VALIDATE_USER_OP | AFTER_IS_VALID_SIGNATURE |
/// BEFORE_EXECUTE | AFTER_EXECUTE); it refuses to deploy or be configured elsewhere. Grant its keys with the
/// AFTER_EXECUTE_ON_FAILURE settings flag: `afterExecute` only gives back what a failed call was charged.
///
/// What is counted, per call made by the key (`CallSpendLib`): native value (every call's `value`, and Uniswap's
/// ERC20ETH directly or through Permit2); a limited token's `transfer`, `transferFrom(account, ..)`, `approve` and
/// `increaseAllowance` (any other selector on a limited token is refused); Permit2 `approve` / `transferFrom` naming
/// a limited token (other tokens, the batch and the signature entry points are refused); EntryPoint withdrawals only
/// to the account. Each asset is capped per period and lifetime (windows anchored at a start time) or by a stream
/// (`AllowanceLib`). What is not counted: tokens moved by contracts the key is allowed to call (a router pulling an
/// allowance that existed before the grant, a vault withdrawing to someone else, a non-canonical EntryPoint the
/// account was switched to), fee-on-transfer differences, ERC-721/1155. Allow such targets only with argument
/// conditions, or not at all.
///
/// ERC-4337 gas: an operation the account pays for (no paymaster) is refused unless the key's settings carry the
/// GAS_BUDGET flag, under which the account itself charges the key's gas budget; a paymaster must be listed
/// (`setPaymasters`, none by default; ANY_TARGET admits any). Read in validation: the policy's first slots only
/// (ERC-7562 associated storage).
contract PolicyHook is IHook, PolicyRules, PolicyCounting {
    /// @notice Where the hook's configuration and views live (run by DELEGATECALL from the fallback).
    address public immutable EXTENSION;

    constructor() {
        if (!_atFlagAddress()) revert IPolicyHook.WrongHookAddress();
        EXTENSION = address(new PolicyHookExtension());
    }

    /// @notice Runs the configuration and views (`IPolicyHook`) in `EXTENSION`, on this hook's storage.
    fallback() external {
        address extension = EXTENSION;
        assembly ("memory-safe") {
            calldatacopy(0x00, 0x00, calldatasize())
            let ok := delegatecall(gas(), extension, 0x00, calldatasize(), 0x00, 0x00)
            returndatacopy(0x00, 0x00, returndatasize())
            if iszero(ok) { revert(0x00, returndatasize()) }
            return(0x00, returndatasize())
        }
    }

    /// @dev Keyward's trailing words of a callback: keyId, settings, extra.
    function _trailer() private pure returns (bytes32 keyId, Settings settings, uint256 extra) {
        assembly ("memory-safe") {
            let end := calldatasize()
            keyId := calldataload(sub(end, 0x60))
            settings := calldataload(sub(end, 0x40))
            extra := calldataload(sub(end, 0x20))
        }
    }

    // ------------------------------------------------------------------------------------------------------------
    // Validation callbacks
    // ------------------------------------------------------------------------------------------------------------

    /// @inheritdoc IValidationHook
    /// @dev Who pays: a listed paymaster (`setPaymasters`; ANY_TARGET in the list admits any), or the account within
    /// the key's gas budget (GAS_BUDGET flag, enforced by the account). Reads the header and the paymaster list, the
    /// policy's first slots (storage associated with the account).
    function afterValidateUserOp(bytes32, PackedUserOperation calldata userOp, bytes32, uint256, bytes calldata)
        external
        view
        returns (bytes4)
    {
        (bytes32 keyId, Settings settings,) = _trailer();
        bytes calldata pmd = userOp.paymasterAndData;
        address paymaster = pmd.length >= 20 ? address(bytes20(pmd[0:20])) : address(0);
        if (paymaster == address(0)) {
            if (!settings.hasFlag(SettingsLib.GAS_BUDGET)) revert IPolicyHook.PaymasterRequired();
        } else {
            // Only a listed paymaster (or any, when the list holds ANY_TARGET): an ERC-20 paymaster the account once
            // approved would otherwise turn gas into token spending outside every cap.
            KeyPolicy storage p = _policy(msg.sender, keyId);
            uint256 n = p.header.paymasterCount();
            uint256 i;
            while (i < n && p.paymasters[i] != paymaster && p.paymasters[i] != RuleLib.ANY_TARGET) ++i;
            if (i == n) revert IPolicyHook.PaymasterNotAllowed(paymaster);
        }
        return IValidationHook.afterValidateUserOp.selector;
    }

    /// @inheritdoc IValidationHook
    /// @dev The ERC-1271 scope: off, any message, or only TypedDataSign messages of the listed application domains
    /// (Keyward's trailing `extra` word is the application's domain separator, 0 for PersonalSign).
    function afterIsValidSignature(bytes32, bytes32, bytes calldata) external view returns (bytes4) {
        (bytes32 keyId,, uint256 appSeparator) = _trailer();
        KeyPolicy storage p = _policy(msg.sender, keyId);
        uint8 mode = p.header.signatureMode();
        if (mode == uint8(SignatureMode.Any)) return IValidationHook.afterIsValidSignature.selector;
        if (mode == uint8(SignatureMode.Domains) && appSeparator != 0) {
            bytes32[] storage domains = p.domains;
            for (uint256 i; i < domains.length; ++i) {
                if (domains[i] == bytes32(appSeparator)) return IValidationHook.afterIsValidSignature.selector;
            }
        }
        return bytes4(0);
    }

    /// @inheritdoc IValidationHook
    /// @dev Not enabled by this hook's address flags; answers "no objection" if called anyway.
    function afterVerifySignature(bytes32, bytes32, bytes calldata) external pure returns (bytes4) {
        return IValidationHook.afterVerifySignature.selector;
    }

    // ------------------------------------------------------------------------------------------------------------
    // Execution callbacks
    // ------------------------------------------------------------------------------------------------------------

    /// @inheritdoc IExecutionHook
    function beforeExecute(bytes32, address to, uint256 value, bytes calldata data)
        external
        returns (bytes4, bytes memory context)
    {
        if (to == msg.sender || to == address(this)) revert IPolicyHook.SelfCallDenied(to);
        (KeyPolicy storage p, PolicyHeader header, Caps caps) = _admit(to, value, data);
        bool counted = _chargeUsage(p, header);
        (uint256 native, uint256 tokenWord) = _chargeSpending(p, header, caps, to, value, data);
        // Two words for `afterExecute`: native with bit 255 = counted; token | amount << 160 (amount < 2^96).
        if (counted || native != 0 || tokenWord >> 160 != 0) {
            context = abi.encode(native | (counted ? 1 << 255 : 0), tokenWord);
        }
        return (IExecutionHook.beforeExecute.selector, context);
    }

    /// @dev The key's policy, the batch cap, and the rules with the matched rule's conditions. Returns the target's
    /// caps when it is a limited token: read once, they also say when its exact allow rule needs no look-up.
    function _admit(address to, uint256 value, bytes calldata data)
        private
        view
        returns (KeyPolicy storage p, PolicyHeader header, Caps caps)
    {
        (bytes32 keyId,, uint256 callInfo) = _trailer();
        p = _policy(msg.sender, keyId);
        header = p.header;
        uint256 maxPerBatch = header.maxPerBatch();
        if (maxPerBatch != 0 && callInfo >> 128 > maxPerBatch) revert IPolicyHook.CallLimitExceeded(3, maxPerBatch);
        bytes4 selector = RuleLib.selectorOf(data);
        if (header.hasFlag(PolicyHeaderLib.HAS_TOKENS)) caps = p.tokenStates[to].caps;
        if (header.hasFlag(PolicyHeaderLib.HAS_DENY) || caps.fast() & RuleLib.fastBit(selector) == 0) {
            (bytes32 matched, uint256 conditionCount) = _match(p, header, to, selector, data.length == 0);
            if (conditionCount != 0) _checkConditions(p.conditions[matched], value, data);
        }
    }

    /// @inheritdoc IExecutionHook
    /// @dev On failure, gives back what `beforeExecute` charged (a failed call does not use up any cap).
    function afterExecute(bytes32, bool success, bytes calldata, bytes calldata context) external returns (bytes4) {
        if (!success && context.length != 0) {
            (bytes32 keyId,,) = _trailer();
            (uint256 w0, uint256 w1) = abi.decode(context, (uint256, uint256));
            _refundCall(_policy(msg.sender, keyId), w0, w1);
        }
        return IExecutionHook.afterExecute.selector;
    }
}
