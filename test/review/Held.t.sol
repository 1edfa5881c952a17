// SPDX-License-Identifier: MIT
pragma solidity ^0.8.30;

import {IExecutionHook} from "../../contracts/interfaces/IHook.sol";
import {Call} from "../../contracts/interfaces/IKeyward.sol";
import {Condition, ConditionOp, IPolicyHook, Limits, RuleState} from "../../contracts/interfaces/IPolicyHook.sol";
import {Path, PolicyHookTestBase} from "../utils/PolicyHookTestBase.sol";

/// @notice Review: attacks that HELD (kept as regression tests; all pass on today's code).
contract ReviewHeldTest is PolicyHookTestBase {
    /// @dev Fast-allow bits follow every rule change: conditions added, rule removed, deny, token re-enabled.
    function test_held_fastBitFollowsRuleChanges() public {
        allow(address(usdc), usdc.transfer.selector);
        tokenLimit(address(usdc), 0, 0, 1000e6);
        expectRun(Path.UserOp, transferCall(OTHER, 1e6), "");

        bytes32[] memory vals = new bytes32[](1);
        vals[0] = bytes32(uint256(uint160(R)));
        Condition[] memory cs = new Condition[](1);
        cs[0] = Condition(ConditionOp.Equal, 0, 160, vals);
        cfg(abi.encodeCall(IPolicyHook.setConditions, (k.keyHash, address(usdc), usdc.transfer.selector, cs)));
        for (uint256 p; p < 4; ++p) {
            expectRun(
                Path(p), transferCall(OTHER, 1e6), abi.encodeWithSelector(IPolicyHook.ConditionFailed.selector, 0)
            );
        }
        expectRun(Path.Direct, transferCall(R, 1e6), "");

        cfg(abi.encodeCall(IPolicyHook.setCallRule, (k.keyHash, address(usdc), usdc.transfer.selector, RuleState.None)));
        expectRun(
            Path.Direct,
            transferCall(R, 1e6),
            abi.encodeWithSelector(IPolicyHook.CallNotAllowed.selector, address(usdc), usdc.transfer.selector)
        );
        // Disable and re-enable the limit while a plain allow exists: the bit comes back only with the rule.
        allow(address(usdc), usdc.transfer.selector);
        cfg(abi.encodeCall(IPolicyHook.setTokenLimit, (k.keyHash, address(usdc), false, _noLimits())));
        tokenLimit(address(usdc), 0, 0, 2e6);
        expectRun(Path.Direct, transferCall(R, 2e6), "");
        expectRun(
            Path.Direct,
            transferCall(R, 1),
            abi.encodeWithSelector(IPolicyHook.SpendLimitExceeded.selector, address(usdc), 2, 2e6 + 1, 2e6)
        );
    }

    function _noLimits() internal pure returns (Limits memory l) {}

    /// @dev Anyone can call the hook's callbacks with any trailer, but state is keyed by msg.sender: a forged
    /// refund lands in the caller's own namespace, never the account's.
    function test_held_forgedTrailerOnlyTouchesTheCallersNamespace() public {
        tokenLimit(address(usdc), 0, 0, 10e6);
        allow(address(usdc), usdc.transfer.selector);
        expectRun(Path.Direct, transferCall(R, 10e6), "");
        bytes32 keyId = acct.keyIdOf(k.keyHash);
        bytes memory context = abi.encode(uint256(0), uint256(uint160(address(usdc))) | (uint256(10e6) << 160));
        bytes memory data = abi.encodePacked(
            abi.encodeCall(IExecutionHook.afterExecute, (k.keyHash, false, bytes(""), context)),
            abi.encode(keyId, uint256(0), uint256(0))
        );
        (bool ok,) = address(hook).call(data);
        assertTrue(ok);
        assertEq(hook.getToken(account, k.keyHash, address(usdc)).spend.total, 10e6, "refund reached the account");
    }
}

