// SPDX-License-Identifier: MIT
pragma solidity 0.8.37;

import {PackedUserOperation} from "../../interfaces/IHook.sol";
import {BatchedCall, Call, IKeyward, SignedBatchedCall} from "../../interfaces/IKeyward.sol";
import {CoSignature, IPolicyHook} from "../../interfaces/IPolicyHook.sol";
import {SignedBatchLib} from "../../libraries/SignedBatchLib.sol";
import {CallSpendLib} from "../libraries/CallSpendLib.sol";
import {RuleLib} from "../libraries/RuleLib.sol";
import {CoSignConfig} from "../types/CoSignConfig.sol";
import {PolicyStorage} from "./PolicyStorage.sol";

/// @title PolicyCoSign
/// @notice Step-up and consensus (issue 16): which calls need co-signatures by the key's designated co-signers,
/// and the check of the co-signatures an operation carries in its hook data.
/// @dev Checked in validation, where the hook data is: ERC-4337 `afterValidateUserOp` (the batch is the
/// operation's `executeUserOp` call data) and, for relayed batches, `afterVerifySignature` (the hook data starts
/// with the signed batch, which must hash to the digest the key signed). Execution callbacks see the operation
/// (Keyward's fourth trailing word): 0 means the batch was not signed (direct path), and then no call that needs
/// co-signatures runs. Only a hook at a 0x1f address may hold such a policy, so every signed path reaches a
/// validation callback first. ERC-4337 validation has no clock: a co-signer counts there only when its window
/// covers the operation's whole window (`validationData`); a relayed batch checks it against the block's time.
abstract contract PolicyCoSign is PolicyStorage {
    /// @dev How many distinct co-signers the call needs: the quorum, or more when it moves more than a threshold.
    function _coSignersNeeded(
        KeyPolicy storage p,
        CoSignConfig c,
        address to,
        uint256 value,
        bytes calldata data,
        address account
    ) internal view returns (uint256 needed) {
        needed = c.quorum();
        if (_aboveThreshold(p, c, to, value, data, account)) {
            uint256 stepUp = c.stepUpSigners();
            if (stepUp > needed) needed = stepUp;
        }
    }

    /// @dev Whether the call moves more than a step-up threshold, counted as the caps count (value, ERC20ETH and
    /// Permit2 naming it as native value; a threshold token's transfer, transferFrom from the account, approve and
    /// increaseAllowance, directly or through Permit2; any other selector on a threshold token is refused).
    function _aboveThreshold(
        KeyPolicy storage p,
        CoSignConfig c,
        address to,
        uint256 value,
        bytes calldata data,
        address account
    ) private view returns (bool) {
        bytes4 selector = RuleLib.selectorOf(data);
        uint256 native = value;
        address token;
        uint256 amount;
        (bool direct,) = _threshold(p, c, to);
        if (direct) {
            (token, amount) = (to, CallSpendLib.tokenAmount(to, selector, data, account));
        } else {
            uint256 more;
            (more, token, amount,) = CallSpendLib.spending(to, selector, data, account);
            native += more;
        }
        if (c.nativeStepUp() && native > c.nativeThreshold()) return true;
        if (amount != 0) {
            (bool listed, uint256 threshold) = _threshold(p, c, token);
            if (listed && amount > threshold) return true;
        }
        return false;
    }

    function _threshold(KeyPolicy storage p, CoSignConfig c, address token)
        private
        view
        returns (bool listed, uint256 threshold)
    {
        uint256 n = c.tokenCount();
        for (uint256 i; i < n; ++i) {
            uint256 w = p.stepUpTokens[i];
            if (address(uint160(w)) == token) return (true, w >> 160);
        }
    }

    /// @dev The most co-signers any call of `calls` needs.
    function _batchNeeds(KeyPolicy storage p, CoSignConfig c, Call[] calldata calls)
        private
        view
        returns (uint256 needed)
    {
        for (uint256 i; i < calls.length; ++i) {
            uint256 n = _coSignersNeeded(p, c, calls[i].to, calls[i].value, calls[i].data, msg.sender);
            if (n > needed) needed = n;
        }
    }

    /// @dev ERC-4337: the operation's calls (its `executeUserOp` call data) against the co-signatures in the hook
    /// data (`abi.encode(CoSignature[])`). Not strict after a failed signature (gas estimation with stub
    /// signatures): the operation fails anyway, and the same work is done.
    function _checkUserOp(
        KeyPolicy storage p,
        PackedUserOperation calldata userOp,
        bytes32 userOpHash,
        uint256 validationData,
        bytes calldata hookData
    ) internal view {
        CoSignConfig c = p.coSign;
        uint256 needed = _batchNeeds(p, c, _userOpCalls(userOp.callData));
        if (needed == 0) return;
        bool strict = uint160(validationData) != 1;
        uint256 count = _count(p, c, userOpHash, _signaturesAt(hookData, 0), _window(validationData), strict);
        if (strict && count < needed) revert IPolicyHook.CoSignaturesRequired(needed, count);
    }

    /// @dev The calls of `executeUserOp` call data (`selector ++ abi.encode(BatchedCall)`).
    function _userOpCalls(bytes calldata callData) private pure returns (Call[] calldata) {
        if (callData.length < 36) revert IPolicyHook.CoSignedBatchMismatch();
        BatchedCall calldata batch;
        assembly ("memory-safe") {
            batch := add(add(callData.offset, 4), calldataload(add(callData.offset, 4)))
        }
        return batch.calls;
    }

    /// @dev The operation's window from its validation data, as `validAfter << 40 | validUntil` (an unbounded
    /// end reads `type(uint40).max`, as `verifyKeySignature` answers for keys that never expire).
    function _window(uint256 validationData) private pure returns (uint256) {
        uint256 validUntil = uint48(validationData >> 160);
        if (validUntil == 0 || validUntil > type(uint40).max) validUntil = type(uint40).max;
        return (uint256(uint48(validationData >> 208)) << 40) | validUntil;
    }

    /// @dev Relayed: the hook data is `abi.encode(SignedBatchedCall, CoSignature[])`; the batch must be the one
    /// the key signed (`digest`).
    function _checkRelayed(KeyPolicy storage p, bytes32 digest, bytes calldata hookData) internal view {
        if (hookData.length < 0x40) revert IPolicyHook.CoSignedBatchMismatch();
        SignedBatchedCall calldata signed;
        assembly ("memory-safe") {
            signed := add(hookData.offset, calldataload(hookData.offset))
        }
        if (IKeyward(msg.sender).hashTypedData(SignedBatchLib.hash(signed)) != digest) {
            revert IPolicyHook.CoSignedBatchMismatch();
        }
        CoSignConfig c = p.coSign;
        uint256 needed = _batchNeeds(p, c, signed.batchedCall.calls);
        if (needed == 0) return;
        uint256 now_ = block.timestamp;
        uint256 count = _count(p, c, digest, _signaturesAt(hookData, 0x20), (now_ << 40) | now_, true);
        if (count < needed) revert IPolicyHook.CoSignaturesRequired(needed, count);
    }

    /// @dev The `CoSignature[]` whose offset is the hook data's word at `head` (none in empty hook data).
    function _signaturesAt(bytes calldata hookData, uint256 head) private pure returns (CoSignature[] calldata sigs) {
        if (hookData.length == 0) {
            assembly ("memory-safe") {
                sigs.offset := hookData.offset
                sigs.length := 0
            }
            return sigs;
        }
        if (hookData.length < head + 0x20) revert IPolicyHook.CoSignedBatchMismatch();
        uint256 rel = uint256(bytes32(hookData[head:head + 0x20]));
        // The array's length word must lie inside the hook data.
        if (rel > hookData.length - 0x20) revert IPolicyHook.CoSignedBatchMismatch();
        assembly ("memory-safe") {
            let start := add(hookData.offset, rel)
            sigs.length := calldataload(start)
            sigs.offset := add(start, 0x20)
        }
        if (sigs.length > MAX_CO_SIGNER_COUNT * 2) revert IPolicyHook.TooManyEntries(MAX_CO_SIGNER_COUNT * 2);
    }

    /// @dev Distinct designated co-signers with a valid signature of `operation` whose window covers `window`
    /// (`notBefore << 40 | notAfter`): a signer named twice counts once; an undesignated signer or an invalid
    /// signature reverts (when `strict`).
    function _count(
        KeyPolicy storage p,
        CoSignConfig c,
        bytes32 operation,
        CoSignature[] calldata sigs,
        uint256 window,
        bool strict
    ) private view returns (uint256 count) {
        if (sigs.length == 0) return 0;
        bytes32 digest = IKeyward(msg.sender).hashTypedData(keccak256(abi.encode(COSIGN_TYPEHASH, operation)));
        uint256 n = c.signerCount();
        uint256 seen;
        for (uint256 i; i < sigs.length; ++i) {
            bytes32 who = sigs[i].keyHash;
            uint256 j = _indexOf(p, n, who);
            if (j == n) {
                if (strict) revert IPolicyHook.CoSignerNotDesignated(who);
                continue;
            }
            if (seen & (1 << j) != 0) continue;
            if (!_verifies(who, digest, sigs[i].signature, window)) {
                if (strict) revert IPolicyHook.InvalidCoSignature(who);
                continue;
            }
            seen |= 1 << j;
            ++count;
        }
    }

    /// @dev `who`'s place among the `n` designated co-signers (`n` when it is not one).
    function _indexOf(KeyPolicy storage p, uint256 n, bytes32 who) private view returns (uint256 j) {
        while (j < n && p.coSigners[j] != who) ++j;
    }

    /// @dev Whether `who` (0: the root) signed `digest`, may sign (registered, not paused) and its window covers
    /// `window`.
    function _verifies(bytes32 who, bytes32 digest, bytes calldata signature, uint256 window)
        private
        view
        returns (bool)
    {
        (bool valid, uint40 validAfter, uint40 validUntil) =
            IKeyward(msg.sender).verifyKeySignature(who, digest, signature);
        return valid && validAfter <= window >> 40 && validUntil >= uint40(window);
    }
}
