// SPDX-License-Identifier: MIT
pragma solidity ^0.8.30;

import {IExecutionHook} from "../contracts/interfaces/IHook.sol";
import {Call, IKeyward, Key, KeyType} from "../contracts/interfaces/IKeyward.sol";
import {
    Condition,
    ConditionOp,
    IPolicyHook,
    Limits,
    RuleState,
    SignatureMode
} from "../contracts/interfaces/IPolicyHook.sol";
import {TestKey} from "./utils/KeywardTestBase.sol";
import {MockHook, Target} from "./utils/MockHook.sol";
import {PolicyHookTestBase} from "./utils/PolicyHookTestBase.sol";
import {MockPermit2, RecordingTarget} from "./utils/PolicyMocks.sol";
import {PolicyView} from "./utils/PolicyView.sol";

/// @notice A contract that forwards calls (the "multicall" routing attack).
contract Router {
    error RoutedCallFailed();

    function route(address to, bytes memory data) external {
        (bool ok,) = to.call(data);
        if (!ok) revert RoutedCallFailed();
    }
}

/// @notice Call permissions and argument conditions: every rule's boundary on both sides.
contract PolicyHookRulesTest is PolicyHookTestBase {
    // ------------------------------------------------------------------------------------------------------------
    // Call permissions
    // ------------------------------------------------------------------------------------------------------------

    function test_rules_defaultDeny() public {
        asKeyExpectRevert(
            transferCall(R, 1),
            abi.encodeWithSelector(IPolicyHook.CallNotAllowed.selector, address(usdc), usdc.transfer.selector)
        );
    }

    function test_rules_exactAllow() public {
        allow(address(usdc), usdc.transfer.selector);
        asKey(transferCall(R, 5));
        assertEq(usdc.balanceOf(R), 5);
        // Another selector on the same target is still denied.
        asKeyExpectRevert(
            one(address(usdc), 0, abi.encodeCall(usdc.approve, (R, 1))),
            abi.encodeWithSelector(IPolicyHook.CallNotAllowed.selector, address(usdc), usdc.approve.selector)
        );
    }

    function test_rules_wildcards() public {
        allow(address(target), hook.ANY_SELECTOR());
        asKey(one(address(target), 0, abi.encodeCall(Target.bump, ())));
        allow(hook.ANY_TARGET(), usdc.transfer.selector);
        asKey(transferCall(R, 1));
        assertEq(target.counter(), 1);
        assertEq(usdc.balanceOf(R), 1);
    }

    function test_rules_emptyCalldataNeedsExplicitPermission() public {
        allow(hook.ANY_TARGET(), hook.ANY_SELECTOR());
        cfg(abi.encodeCall(IPolicyHook.setNativeLimits, (k.keyHash, true, 0, Limits(0, 0, 0))));
        asKeyExpectRevert(
            one(R, 1 ether, ""), abi.encodeWithSelector(IPolicyHook.CallNotAllowed.selector, R, bytes4(0))
        );
        allow(R, hook.EMPTY_CALLDATA());
        asKey(one(R, 1 ether, ""));
        assertEq(R.balance, 1 ether);
    }

    function test_rules_denyBeatsAllow() public {
        allow(hook.ANY_TARGET(), hook.ANY_SELECTOR());
        allow(address(usdc), usdc.transfer.selector);
        deny(address(usdc), hook.ANY_SELECTOR());
        asKeyExpectRevert(
            transferCall(R, 1),
            abi.encodeWithSelector(IPolicyHook.CallDenied.selector, address(usdc), usdc.transfer.selector)
        );
        deny(hook.ANY_TARGET(), Target.bump.selector);
        asKeyExpectRevert(
            one(address(target), 0, abi.encodeCall(Target.bump, ())),
            abi.encodeWithSelector(IPolicyHook.CallDenied.selector, address(target), Target.bump.selector)
        );
        // Removing the deny restores the allow.
        cfg(abi.encodeCall(IPolicyHook.setCallRule, (k.keyHash, address(usdc), hook.ANY_SELECTOR(), RuleState.None)));
        asKey(transferCall(R, 1));
    }

    function test_rules_neverTheAccountOrTheHook() public {
        // An admin key with the hook: the account allows its self-calls, the hook does not.
        TestKey memory admin = secp256k1Key("admin");
        grant(admin, settingsOf(address(hook), 0, true, 0) | FLAG_AFTER_ON_FAILURE);
        rootExecute(
            one(
                address(hook),
                0,
                abi.encodeCall(
                    IPolicyHook.setCallRule, (admin.keyHash, hook.ANY_TARGET(), hook.ANY_SELECTOR(), RuleState.Allow)
                )
            )
        );
        address[2] memory forbidden = [address(account), address(hook)];
        for (uint256 i; i < 2; ++i) {
            vm.prank(admin.signer);
            vm.expectRevert(abi.encodeWithSelector(IPolicyHook.SelfCallDenied.selector, forbidden[i]));
            acct.execute(
                MODE_REVERT,
                abi.encode(
                    one(
                        forbidden[i],
                        0,
                        abi.encodeCall(
                            IPolicyHook.setUsageLimits,
                            (admin.keyHash, 0, 0, 0, 0) // e.g. lift its own limits
                        )
                    )
                )
            );
        }
    }

    // ------------------------------------------------------------------------------------------------------------
    // Argument conditions
    // ------------------------------------------------------------------------------------------------------------

    function _conditions(Condition[] memory cs) internal {
        cfg(abi.encodeCall(IPolicyHook.setConditions, (k.keyHash, address(usdc), usdc.transfer.selector, cs)));
    }

    function _one(bytes32 v) internal pure returns (bytes32[] memory a) {
        a = new bytes32[](1);
        a[0] = v;
    }

    function test_conditions_onlyToRAtMostA() public {
        allow(address(usdc), usdc.transfer.selector);
        Condition[] memory cs = new Condition[](2);
        cs[0] = Condition(ConditionOp.Equal, 0, 160, _one(bytes32(uint256(uint160(R)))));
        cs[1] = Condition(ConditionOp.LessOrEqual, 1, 0, _one(bytes32(uint256(100e6))));
        _conditions(cs);
        asKey(transferCall(R, 100e6));
        asKeyExpectRevert(transferCall(R, 100e6 + 1), abi.encodeWithSelector(IPolicyHook.ConditionFailed.selector, 1));
        asKeyExpectRevert(transferCall(OTHER, 1), abi.encodeWithSelector(IPolicyHook.ConditionFailed.selector, 0));
        assertEq(usdc.balanceOf(R), 100e6);
    }

    function test_conditions_notEqualGreaterOrEqualInSet() public {
        allow(address(usdc), usdc.transfer.selector);
        bytes32[] memory set = new bytes32[](2);
        set[0] = bytes32(uint256(uint160(R)));
        set[1] = bytes32(uint256(uint160(OTHER)));
        Condition[] memory cs = new Condition[](3);
        cs[0] = Condition(ConditionOp.InSet, 0, 160, set);
        cs[1] = Condition(ConditionOp.GreaterOrEqual, 1, 256, _one(bytes32(uint256(10))));
        cs[2] = Condition(ConditionOp.NotEqual, 1, 0, _one(bytes32(uint256(13))));
        _conditions(cs);
        asKey(transferCall(R, 10));
        asKey(transferCall(OTHER, 12));
        asKeyExpectRevert(transferCall(R, 9), abi.encodeWithSelector(IPolicyHook.ConditionFailed.selector, 1));
        asKeyExpectRevert(transferCall(R, 13), abi.encodeWithSelector(IPolicyHook.ConditionFailed.selector, 2));
        asKeyExpectRevert(
            transferCall(address(0xc), 10), abi.encodeWithSelector(IPolicyHook.ConditionFailed.selector, 0)
        );
        // Calldata too short for the condition's argument.
        asKeyExpectRevert(
            one(address(usdc), 0, abi.encodeWithSelector(usdc.transfer.selector, R)),
            abi.encodeWithSelector(IPolicyHook.ConditionFailed.selector, 1)
        );
    }

    function test_conditions_configurationErrors() public {
        Condition[] memory cs = new Condition[](1);
        cs[0] = Condition(ConditionOp.Equal, 0, 160, _one(bytes32(0)));
        // Conditions need an Allow rule.
        vm.prank(account);
        vm.expectRevert(IPolicyHook.InvalidConfiguration.selector);
        hook.setConditions(k.keyHash, address(usdc), usdc.transfer.selector, cs);
        allow(address(usdc), usdc.transfer.selector);
        cs[0] = Condition(ConditionOp.Equal, 0, 160, new bytes32[](2)); // Equal takes one value
        vm.prank(account);
        vm.expectRevert(IPolicyHook.InvalidConfiguration.selector);
        hook.setConditions(k.keyHash, address(usdc), usdc.transfer.selector, cs);
        cs[0] = Condition(ConditionOp.Less, 0, 257, _one(bytes32(0))); // no type is wider than a word
        vm.prank(account);
        vm.expectRevert(IPolicyHook.InvalidConfiguration.selector);
        hook.setConditions(k.keyHash, address(usdc), usdc.transfer.selector, cs);
        cs[0] = Condition(ConditionOp.None, 0, 0, _one(bytes32(0))); // no operation
        vm.prank(account);
        vm.expectRevert(IPolicyHook.InvalidConfiguration.selector);
        hook.setConditions(k.keyHash, address(usdc), usdc.transfer.selector, cs);
        cs[0] = Condition(ConditionOp.InSet, 0, 160, new bytes32[](0)); // a set needs a value
        vm.prank(account);
        vm.expectRevert(IPolicyHook.InvalidConfiguration.selector);
        hook.setConditions(k.keyHash, address(usdc), usdc.transfer.selector, cs);
        cs[0] = Condition(ConditionOp.Greater, 0, 256, _one(bytes32(0))); // 256 and 8 values are the boundaries
        vm.prank(account);
        hook.setConditions(k.keyHash, address(usdc), usdc.transfer.selector, cs);
        cs[0] = Condition(ConditionOp.InSet, 0, 160, new bytes32[](8));
        vm.prank(account);
        hook.setConditions(k.keyHash, address(usdc), usdc.transfer.selector, cs);
        assertEq(PolicyView.conditionValueCount(PolicyView.read(address(hook), account, k.keyHash), 0, 0), 8);
        cs[0] = Condition(ConditionOp.InSet, 0, 160, new bytes32[](9));
        vm.prank(account);
        vm.expectRevert(abi.encodeWithSelector(IPolicyHook.TooManyEntries.selector, 8));
        hook.setConditions(k.keyHash, address(usdc), usdc.transfer.selector, cs);
        vm.prank(account);
        vm.expectRevert(abi.encodeWithSelector(IPolicyHook.TooManyEntries.selector, 8));
        hook.setConditions(k.keyHash, address(usdc), usdc.transfer.selector, new Condition[](9));
    }
}

/// @notice Native value, ERC-20 limits and usage caps.
contract PolicyHookLimitsTest is PolicyHookTestBase {
    // ------------------------------------------------------------------------------------------------------------
    // Native value
    // ------------------------------------------------------------------------------------------------------------

    function test_native_disabledByDefault() public {
        allow(R, hook.EMPTY_CALLDATA());
        asKeyExpectRevert(one(R, 1, ""), abi.encodeWithSelector(IPolicyHook.NativeValueNotAllowed.selector));
    }

    function test_native_perCallPerPeriodLifetime() public {
        allow(R, hook.EMPTY_CALLDATA());
        cfg(abi.encodeCall(IPolicyHook.setNativeLimits, (k.keyHash, true, 1 ether, Limits(2 ether, 3 ether, DAY))));
        asKeyExpectRevert(
            one(R, 1 ether + 1, ""),
            abi.encodeWithSelector(IPolicyHook.SpendLimitExceeded.selector, address(0), 0, 1 ether + 1, 1 ether)
        );
        asKey(one(R, 1 ether, ""));
        asKey(one(R, 1 ether, ""));
        asKeyExpectRevert(
            one(R, 1, ""),
            abi.encodeWithSelector(IPolicyHook.SpendLimitExceeded.selector, address(0), 1, 2 ether + 1, 2 ether)
        );
        vm.warp(block.timestamp + DAY);
        asKey(one(R, 1 ether, ""));
        asKeyExpectRevert(
            one(R, 1, ""),
            abi.encodeWithSelector(IPolicyHook.SpendLimitExceeded.selector, address(0), 2, 3 ether + 1, 3 ether)
        );
        assertEq(R.balance, 3 ether);
    }

    // ------------------------------------------------------------------------------------------------------------
    // ERC-20 limits
    // ------------------------------------------------------------------------------------------------------------

    function test_erc20_dailyLimitBoundaryAndRollover() public {
        allow(address(usdc), usdc.transfer.selector);
        uint256 t0 = block.timestamp;
        tokenLimit(address(usdc), 100e6, DAY, 0);
        asKey(transferCall(R, 60e6));
        asKey(transferCall(R, 40e6)); // exactly the limit L
        asKeyExpectRevert(
            transferCall(R, 1),
            abi.encodeWithSelector(IPolicyHook.SpendLimitExceeded.selector, address(usdc), 1, 100e6 + 1, 100e6)
        );
        vm.warp(t0 + DAY - 1); // last second of the window
        asKeyExpectRevert(
            transferCall(R, 1),
            abi.encodeWithSelector(IPolicyHook.SpendLimitExceeded.selector, address(usdc), 1, 100e6 + 1, 100e6)
        );
        vm.warp(t0 + DAY); // the boundary second: a new window
        asKey(transferCall(R, 100e6));
        assertEq(usdc.balanceOf(R), 200e6);
    }

    function test_erc20_lifetimeLimit() public {
        allow(address(usdc), usdc.transfer.selector);
        tokenLimit(address(usdc), 0, 0, 150e6);
        asKey(transferCall(R, 150e6));
        asKeyExpectRevert(
            transferCall(R, 1),
            abi.encodeWithSelector(IPolicyHook.SpendLimitExceeded.selector, address(usdc), 2, 150e6 + 1, 150e6)
        );
    }

    function test_erc20_manySmallTransfersInOneBatch() public {
        allow(address(usdc), usdc.transfer.selector);
        tokenLimit(address(usdc), 100e6, DAY, 0);
        Call[] memory calls = new Call[](11);
        for (uint256 i; i < 11; ++i) {
            calls[i] = transferCall(R, 10e6)[0];
        }
        asKeyExpectRevert(
            calls, abi.encodeWithSelector(IPolicyHook.SpendLimitExceeded.selector, address(usdc), 1, 110e6, 100e6)
        );
        assembly {
            mstore(calls, 10)
        }
        asKey(calls);
        assertEq(usdc.balanceOf(R), 100e6);
    }

    function test_erc20_approveThenTransferFromIsCounted() public {
        allow(address(usdc), hook.ANY_SELECTOR());
        tokenLimit(address(usdc), 100e6, DAY, 0);
        // Approving counts as spending: the spender can move it later without the key.
        asKey(one(address(usdc), 0, abi.encodeCall(usdc.approve, (OTHER, 80e6))));
        asKeyExpectRevert(
            transferCall(R, 21e6),
            abi.encodeWithSelector(IPolicyHook.SpendLimitExceeded.selector, address(usdc), 1, 101e6, 100e6)
        );
        // increaseAllowance too, and transferFrom out of the account.
        asKeyExpectRevert(
            one(address(usdc), 0, abi.encodeWithSelector(0x39509351, OTHER, 21e6)),
            abi.encodeWithSelector(IPolicyHook.SpendLimitExceeded.selector, address(usdc), 1, 101e6, 100e6)
        );
        asKeyExpectRevert(
            one(address(usdc), 0, abi.encodeCall(usdc.transferFrom, (account, R, 21e6))),
            abi.encodeWithSelector(IPolicyHook.SpendLimitExceeded.selector, address(usdc), 1, 101e6, 100e6)
        );
    }

    function test_erc20_unknownSelectorOnLimitedTokenRefused() public {
        allow(address(usdc), hook.ANY_SELECTOR());
        tokenLimit(address(usdc), 100e6, DAY, 0);
        asKeyExpectRevert(
            one(
                address(usdc),
                0,
                abi.encodeWithSignature("permit(address,address,uint256,uint256,uint8,bytes32,bytes32)")
            ),
            abi.encodeWithSelector(IPolicyHook.UncountedTokenCall.selector, address(usdc), bytes4(0xd505accf))
        );
    }

    function test_erc20_permit2ApprovalIsCounted() public {
        MockPermit2 permit2 = deployPermit2();
        assertEq(hook.PERMIT2(), address(permit2));
        allow(address(permit2), hook.ANY_SELECTOR());
        tokenLimit(address(usdc), 100e6, DAY, 0);
        bytes memory approve2 =
            abi.encodeCall(permit2.approve, (address(usdc), OTHER, 101e6, uint48(block.timestamp + 1)));
        vm.prank(k.signer);
        vm.expectRevert(abi.encodeWithSelector(IPolicyHook.SpendLimitExceeded.selector, address(usdc), 1, 101e6, 100e6));
        acct.execute(MODE_CONTINUE, abi.encode(one(address(permit2), 0, approve2)));
        // At the cap it goes through and is booked.
        approve2 = abi.encodeCall(permit2.approve, (address(usdc), OTHER, 100e6, uint48(block.timestamp + 1)));
        asKey(one(address(permit2), 0, approve2));
        assertEq(permit2.allowance(account, address(usdc), OTHER), 100e6);
        assertEq(hook.getToken(account, k.keyHash, address(usdc)).spend.inWindow, 100e6);
    }

    function test_erc20_routingThroughAnotherContractNeedsPermission() public {
        Router router = new Router();
        allow(address(usdc), usdc.transfer.selector);
        tokenLimit(address(usdc), 100e6, DAY, 0);
        bytes memory inner = abi.encodeCall(usdc.transfer, (R, 1e6));
        bytes memory routed = abi.encodeCall(Router.route, (address(usdc), inner));
        bytes memory err =
            abi.encodeWithSelector(IPolicyHook.CallNotAllowed.selector, address(router), Router.route.selector);
        asKeyExpectRevert(one(address(router), 0, routed), err);
    }

    // ------------------------------------------------------------------------------------------------------------
    // Usage caps
    // ------------------------------------------------------------------------------------------------------------

    function test_usage_totalCap() public {
        allow(address(target), Target.bump.selector);
        usageLimits(3, 0, 0, 0);
        Call[] memory bump = one(address(target), 0, abi.encodeCall(Target.bump, ()));
        for (uint256 i; i < 3; ++i) {
            asKey(bump);
        }
        asKeyExpectRevert(bump, abi.encodeWithSelector(IPolicyHook.CallLimitExceeded.selector, 2, 3));
    }

    function test_usage_rateLimitRollsOverAtBoundary() public {
        allow(address(target), Target.bump.selector);
        uint256 t0 = block.timestamp;
        usageLimits(0, 2, 60, 0);
        Call[] memory bump = one(address(target), 0, abi.encodeCall(Target.bump, ()));
        asKey(bump);
        asKey(bump);
        vm.warp(t0 + 59);
        asKeyExpectRevert(bump, abi.encodeWithSelector(IPolicyHook.CallLimitExceeded.selector, 1, 2));
        vm.warp(t0 + 60);
        asKey(bump);
        assertEq(target.counter(), 3);
    }

    function test_failedCallUsesNothing() public {
        allow(address(usdc), usdc.transfer.selector);
        tokenLimit(address(usdc), 100e6, DAY, 0);
        usageLimits(1, 0, 0, 0);
        // Leave the account 50 USDC, then a 60 USDC transfer (within the cap) fails on balance.
        rootExecute(transferCall(OTHER, usdc.balanceOf(account) - 50e6));
        // Continue-on-failure: the transfer fails, so neither the call nor the amount counts.
        vm.prank(k.signer);
        acct.execute(MODE_CONTINUE, abi.encode(transferCall(R, 60e6)));
        assertEq(hook.getUsage(account, k.keyHash).used, 0);
        assertEq(hook.getToken(account, k.keyHash, address(usdc)).spend.total, 0);
        asKey(transferCall(R, 50e6));
        assertEq(hook.getUsage(account, k.keyHash).used, 1);
        assertEq(hook.getToken(account, k.keyHash, address(usdc)).spend.total, 50e6);
    }
}

/// @notice ERC-1271 scope, isolation, re-registration, bounds, events and views.
contract PolicyHookScopeTest is PolicyHookTestBase {
    // ------------------------------------------------------------------------------------------------------------
    // ERC-1271 scope
    // ------------------------------------------------------------------------------------------------------------

    function test_signatures_offAnyDomains() public {
        bytes32 app = keccak256("Uniswap app");
        (bytes32 h, bytes memory sig) = typedDataSign(k, app, keccak256("order"), "Order(uint256 amount)");
        bytes32 ph = keccak256("personal");
        bytes memory psig = personalSign(k, ph);
        assertEq(acct.isValidSignature(h, sig), bytes4(0xffffffff), "off by default");
        bytes32[] memory domains = new bytes32[](1);
        domains[0] = app;
        cfg(abi.encodeCall(IPolicyHook.setSignaturePolicy, (k.keyHash, SignatureMode.Domains, domains)));
        assertEq(acct.isValidSignature(h, sig), bytes4(0x1626ba7e), "listed domain");
        assertEq(acct.isValidSignature(ph, psig), bytes4(0xffffffff), "personal sign is not under a domain");
        (bytes32 h2, bytes memory sig2) =
            typedDataSign(k, keccak256("other app"), keccak256("o"), "Order(uint256 amount)");
        assertEq(acct.isValidSignature(h2, sig2), bytes4(0xffffffff), "unlisted domain");
        cfg(abi.encodeCall(IPolicyHook.setSignaturePolicy, (k.keyHash, SignatureMode.Any, new bytes32[](0))));
        assertEq(acct.isValidSignature(ph, psig), bytes4(0x1626ba7e));
    }

    // ------------------------------------------------------------------------------------------------------------
    // Isolation, re-registration, bounds, views
    // ------------------------------------------------------------------------------------------------------------

    function test_isolation_accountsShareTheHookButNotState() public {
        (address eoaB, uint256 keyB) = makeAddrAndKey("accountB");
        delegate(eoaB, address(implementation));
        keyB;
        // Account B registers the same session key and allows everything.
        vm.startPrank(eoaB);
        IKeyward(eoaB).grant(k.key, policySettings(hook, 0));
        hook.setCallRule(k.keyHash, hook.ANY_TARGET(), hook.ANY_SELECTOR(), RuleState.Allow);
        vm.stopPrank();
        // A is untouched.
        asKeyExpectRevert(
            transferCall(R, 1),
            abi.encodeWithSelector(IPolicyHook.CallNotAllowed.selector, address(usdc), usdc.transfer.selector)
        );
        (address[] memory targetsA,,) = hook.getCallRules(account, k.keyHash);
        (address[] memory targetsB,,) = hook.getCallRules(eoaB, k.keyHash);
        assertEq(targetsA.length, 0);
        assertEq(targetsB.length, 1);
    }

    function test_isolation_directCallsToTheHookTouchOnlyTheCaller() public {
        allow(address(target), Target.bump.selector);
        usageLimits(1, 0, 0, 0);
        Call[] memory bump = one(address(target), 0, abi.encodeCall(Target.bump, ()));
        asKey(bump);
        assertEq(hook.getUsage(account, k.keyHash).used, 1);
        // An attacker replays the hook's callbacks with A's keyId in Keyward's trailer, to burn or give back A's
        // counts: it only reads and writes its own (msg.sender) namespace.
        bytes memory trailer = abi.encode(acct.keyIdOf(k.keyHash), policySettings(hook, 0), uint256(1) << 128);
        vm.startPrank(address(0xbad));
        (bool ok, bytes memory err) = address(hook)
            .call(
                abi.encodePacked(
                    abi.encodeCall(IExecutionHook.beforeExecute, (k.keyHash, address(target), 0, bump[0].data)), trailer
                )
            );
        assertFalse(ok);
        assertEq(
            err, abi.encodeWithSelector(IPolicyHook.CallNotAllowed.selector, address(target), Target.bump.selector)
        );
        bytes memory refund = abi.encode(uint256(1) << 255, uint256(0)); // "give back one counted call"
        (ok,) = address(hook)
            .call(
                abi.encodePacked(abi.encodeCall(IExecutionHook.afterExecute, (k.keyHash, false, "", refund)), trailer)
            );
        assertTrue(ok);
        vm.stopPrank();
        assertEq(hook.getUsage(account, k.keyHash).used, 1);
        asKeyExpectRevert(bump, abi.encodeWithSelector(IPolicyHook.CallLimitExceeded.selector, 2, 1));
        // Configuring for a key the caller does not have reverts.
        vm.prank(address(0xbad));
        vm.expectRevert();
        hook.setCallRule(k.keyHash, address(usdc), usdc.transfer.selector, RuleState.Allow);
    }

    function test_reRegisteredKeyStartsEmpty() public {
        allow(hook.ANY_TARGET(), hook.ANY_SELECTOR());
        tokenLimit(address(usdc), 100e6, DAY, 0);
        asKey(transferCall(R, 100e6));
        rootCall(abi.encodeCall(IKeyward.revoke, (k.keyHash)));
        grant(k, policySettings(hook, 0));
        asKeyExpectRevert(
            transferCall(R, 1),
            abi.encodeWithSelector(IPolicyHook.CallNotAllowed.selector, address(usdc), usdc.transfer.selector)
        );
        (address[] memory targets,,) = hook.getCallRules(account, k.keyHash);
        assertEq(targets.length, 0);
        assertEq(hook.getToken(account, k.keyHash, address(usdc)).limits.perPeriod, 0);
    }

    function test_bounds() public {
        for (uint256 i; i < 64; ++i) {
            allow(address(uint160(0x1000 + i)), bytes4(0x12345678));
        }
        vm.prank(account);
        vm.expectRevert(abi.encodeWithSelector(IPolicyHook.TooManyEntries.selector, 64));
        hook.setCallRule(k.keyHash, address(0x2000), bytes4(0x12345678), RuleState.Allow);
        for (uint256 i; i < 16; ++i) {
            tokenLimit(address(uint160(0x3000 + i)), 1, 1, 0);
        }
        vm.prank(account);
        vm.expectRevert(abi.encodeWithSelector(IPolicyHook.TooManyEntries.selector, 16));
        hook.setTokenLimit(k.keyHash, address(0x4000), true, Limits(1, 0, 1));
        vm.prank(account);
        vm.expectRevert(abi.encodeWithSelector(IPolicyHook.TooManyEntries.selector, 8));
        hook.setSignaturePolicy(k.keyHash, SignatureMode.Domains, new bytes32[](9));
        vm.prank(account);
        vm.expectRevert(IPolicyHook.InvalidConfiguration.selector);
        hook.setTokenLimit(k.keyHash, address(0x4000), true, Limits(1, 0, 0)); // per-period cap without a period
        vm.prank(account);
        vm.expectRevert(abi.encodeWithSelector(IPolicyHook.TooManyEntries.selector, 4));
        hook.setPaymasters(k.keyHash, new address[](5));
        // The boundaries themselves are accepted: 8 domains.
        vm.prank(account);
        hook.setSignaturePolicy(k.keyHash, SignatureMode.Domains, new bytes32[](8));
        bytes memory raw = PolicyView.read(address(hook), account, k.keyHash);
        assertEq(PolicyView.length(raw, PolicyView.DOMAINS), 8);
        assertEq(PolicyView.length(raw, PolicyView.RULES), 64);
        assertEq(PolicyView.length(raw, PolicyView.TOKENS), 16);
    }

    function test_events_andViews() public {
        vm.expectEmit(address(hook));
        emit IPolicyHook.CallRuleSet(account, k.keyHash, address(usdc), usdc.transfer.selector, RuleState.Allow);
        allow(address(usdc), usdc.transfer.selector);
        vm.expectEmit(address(hook));
        emit IPolicyHook.TokenLimitSet(account, k.keyHash, address(usdc), true, Limits(5, 9, DAY));
        tokenLimit(address(usdc), 5, DAY, 9);
        vm.expectEmit(address(hook));
        emit IPolicyHook.UsageLimitsSet(account, k.keyHash, 10, 2, 60, 7);
        usageLimits(10, 2, 60, 7);
        address[] memory pms = new address[](1);
        pms[0] = address(sponsor);
        vm.expectEmit(address(hook));
        emit IPolicyHook.PaymastersSet(account, k.keyHash, pms);
        cfg(abi.encodeCall(IPolicyHook.setPaymasters, (k.keyHash, pms)));
        (address[] memory targets, bytes4[] memory selectors, RuleState[] memory states) =
            hook.getCallRules(account, k.keyHash);
        assertEq(targets.length, 1);
        assertEq(targets[0], address(usdc));
        assertEq(selectors[0], usdc.transfer.selector);
        assertEq(uint8(states[0]), uint8(RuleState.Allow));
        assertEq(hook.getToken(account, k.keyHash, address(usdc)).limits.perPeriod, 5);
        assertEq(hook.getToken(account, k.keyHash, address(usdc)).limits.lifetime, 9);
        assertEq(hook.getUsage(account, k.keyHash).maxCalls, 10);
        assertEq(hook.getUsage(account, k.keyHash).maxPerPeriod, 2);
        assertEq(hook.getUsage(account, k.keyHash).maxPerBatch, 7);
        // The full view, as UIs and the Rust side read it.
        bytes memory raw = PolicyView.read(address(hook), account, k.keyHash);
        assertTrue(PolicyView.active(raw));
        assertEq(PolicyView.length(raw, PolicyView.RULES), 1);
        (address ruleTarget, bytes4 ruleSelector, uint8 ruleState,) = PolicyView.rule(raw, 0);
        assertEq(ruleTarget, address(usdc));
        assertEq(ruleSelector, usdc.transfer.selector);
        assertEq(ruleState, uint8(RuleState.Allow));
        assertEq(PolicyView.length(raw, PolicyView.TOKENS), 1);
        assertEq(PolicyView.tokenWord(raw, 0, 0), uint160(address(usdc)));
        assertEq(PolicyView.tokenWord(raw, 0, 2), 9); // lifetime
        assertEq(PolicyView.word(raw, PolicyView.MAX_PER_BATCH), 7);
        assertEq(PolicyView.length(raw, PolicyView.PAYMASTERS), 1);
        assertEq(PolicyView.element(raw, PolicyView.PAYMASTERS, 0), uint160(address(sponsor)));
        assertEq(PolicyView.word(raw, PolicyView.NATIVE_ENABLED), 0);
        // Removing a token.
        cfg(abi.encodeCall(IPolicyHook.setTokenLimit, (k.keyHash, address(usdc), false, Limits(0, 0, 0))));
        assertEq(hook.getToken(account, k.keyHash, address(usdc)).limits.perPeriod, 0);
    }

    /// @dev `isActive` answers false, never reverts, for whatever is not a Keyward account with that key: an address
    /// without code (an EOA that dropped its delegation), a contract without `getKeySettings`, one that answers
    /// nothing, an unknown key.
    function test_views_isActiveFalseForNonAccounts() public {
        RecordingTarget silent = new RecordingTarget();
        address[3] memory notAccounts = [address(0x1234), address(target), address(silent)];
        for (uint256 i; i < notAccounts.length; ++i) {
            (bool ok, bytes memory ret) =
                address(hook).staticcall(abi.encodeCall(hook.isActive, (notAccounts[i], k.keyHash)));
            assertTrue(ok, "isActive reverted");
            assertEq(ret, abi.encode(false));
        }
        assertFalse(hook.isActive(account, keccak256("unknown key")));
        assertTrue(hook.isActive(account, k.keyHash));
    }

    function test_configuration_onlyForRegisteredKeysNotRoot() public {
        vm.prank(account);
        vm.expectRevert(IKeyward.KeyDoesNotExist.selector);
        hook.setCallRule(keccak256("nobody"), address(usdc), usdc.transfer.selector, RuleState.Allow);
        vm.prank(account);
        vm.expectRevert(IPolicyHook.InvalidConfiguration.selector);
        hook.setCallRule(bytes32(0), address(usdc), usdc.transfer.selector, RuleState.Allow);
    }

    /// @notice Grant and configure in one batch: the key never exists without its limits.
    function test_grantAndConfigureAtomically() public {
        TestKey memory k2 = secp256k1Key("k2");
        Call[] memory calls = new Call[](3);
        calls[0] = Call(address(0), 0, abi.encodeCall(IKeyward.grant, (k2.key, policySettings(hook, 0))));
        calls[1] = Call(
            address(hook),
            0,
            abi.encodeCall(
                IPolicyHook.setCallRule, (k2.keyHash, address(usdc), usdc.transfer.selector, RuleState.Allow)
            )
        );
        calls[2] = Call(
            address(hook),
            0,
            abi.encodeCall(IPolicyHook.setTokenLimit, (k2.keyHash, address(usdc), true, Limits(50e6, 0, DAY)))
        );
        rootExecute(calls);
        vm.prank(k2.signer);
        vm.expectRevert(abi.encodeWithSelector(IPolicyHook.SpendLimitExceeded.selector, address(usdc), 1, 51e6, 50e6));
        acct.execute(MODE_REVERT, abi.encode(transferCall(R, 51e6)));
    }
}
