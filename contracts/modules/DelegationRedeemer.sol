// SPDX-License-Identifier: MIT
pragma solidity 0.8.37;

import {Call, IKeyward} from "../interfaces/IKeyward.sol";
import {HooksLib} from "../libraries/HooksLib.sol";
import {Executor} from "./Executor.sol";

/// @title DelegationRedeemer
/// @notice ERC-7710 on the account itself: the account is the `delegationManager` of the permissions it grants. The
/// delegate (a registered secp256k1 key) calls `redeemDelegations` from its own address; each permission context is
/// `abi.encode(address account, bytes32 keyHash)` and must name this account and the caller's own key, so a context
/// cannot be redeemed by another key or on another account. The calls run exactly as the key's direct path runs
/// them: registration, pause, window and schedule, the AFTER_VERIFY_SIGNATURE hook (digest 0), the execution hooks
/// around every call (operation word 0), the self-call rule, `KeyUsed` per execution.
/// @dev Executions are ERC-7579's with the default exec type (revert on failure): mode `0x00..` single,
/// `abi.encodePacked(target, value, callData)`; mode `0x01 00..` batch, `abi.encode(Execution[])`, the same layout
/// as `Call[]`. Every other mode reverts `UnsupportedRedemptionMode(mode)`.
abstract contract DelegationRedeemer is Executor {
    bytes32 private constant MODE_SINGLE = bytes32(0);
    bytes32 private constant MODE_BATCH = bytes32(uint256(0x01) << 248);

    /// @notice ERC-7710: runs `executionCallDatas[i]` in `modes[i]` for the key `permissionContexts[i]` names, which
    /// must be the caller's (see the contract's notice). All or nothing.
    function redeemDelegations(
        bytes[] calldata permissionContexts,
        bytes32[] calldata modes,
        bytes[] calldata executionCallDatas
    ) external {
        uint256 n = modes.length;
        if (n == 0 || permissionContexts.length != n || executionCallDatas.length != n) {
            revert IKeyward.RedemptionLengthMismatch();
        }
        HooksLib.KeyContext memory k = _authorizeCaller();
        for (uint256 i; i < n; ++i) {
            bytes calldata context = permissionContexts[i];
            if (
                context.length != 64 || bytes32(context[0:32]) != bytes32(uint256(uint160(address(this))))
                    || bytes32(context[32:64]) != k.keyHash
            ) revert IKeyward.InvalidPermissionContext(i);
            bytes32 mode = modes[i];
            bytes calldata data = executionCallDatas[i];
            if (mode == MODE_BATCH) {
                Call[] calldata calls;
                assembly ("memory-safe") {
                    let p := add(data.offset, calldataload(data.offset))
                    calls.length := calldataload(p)
                    calls.offset := add(p, 0x20)
                }
                _executeKey(calls, true, k);
            } else if (mode == MODE_SINGLE) {
                if (data.length < 52) revert IKeyward.MalformedExecution(i);
                emit IKeyward.KeyUsed(k.keyHash);
                _executeKeyCall(
                    address(bytes20(data[0:20])), uint256(bytes32(data[20:52])), data[52:], true, k, 1 << 128
                );
            } else {
                revert IKeyward.UnsupportedRedemptionMode(mode);
            }
        }
    }
}
