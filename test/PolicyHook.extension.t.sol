// SPDX-License-Identifier: MIT
pragma solidity ^0.8.30;

import {PolicyHook} from "../contracts/hooks/PolicyHook.sol";
import {IHook, IValidationHook} from "../contracts/interfaces/IHook.sol";
import {IPolicyHook, Limits, RuleState, Stream} from "../contracts/interfaces/IPolicyHook.sol";
import {Target} from "./utils/MockHook.sol";
import {PolicyHookTestBase} from "./utils/PolicyHookTestBase.sol";
import {PolicyView} from "./utils/PolicyView.sol";

/// @notice The PolicyHook's split (issue 15/16 room): the hook keeps the callbacks, its fallback runs the
/// configuration and views in `PolicyHookExtension` by DELEGATECALL on the hook's storage. Every `IPolicyHook`
/// function is answered at the hook's address, unknown selectors are refused, the extension called directly touches
/// only its own storage, and both runtimes fit EIP-170 with room to spare.
contract PolicyHookExtensionTest is PolicyHookTestBase {
    uint256 internal constant EIP170 = 24_576;

    function _extension() internal view returns (address) {
        return PolicyHook(address(hook)).EXTENSION();
    }

    /// @dev The release runtimes (the fixture deploys out-release/): both well under the limit.
    function test_extension_sizesFitWithHeadroom() public {
        emit log_named_uint("PolicyHook runtime", address(hook).code.length);
        emit log_named_uint("PolicyHookExtension runtime", _extension().code.length);
        assertLt(address(hook).code.length, EIP170 - 6000, "hook: at least 6 kB of headroom");
        assertLt(_extension().code.length, EIP170 - 2000, "extension: at least 2 kB of headroom");
    }

    /// @dev Every view and constant of `IPolicyHook` answers at the hook's address (through the fallback).
    function test_extension_everyViewAnswersAtTheHook() public {
        allow(address(target), Target.bump.selector);
        (address[] memory targets,,) = hook.getCallRules(account, k.keyHash);
        assertEq(targets.length, 1);
        assertTrue(hook.isActive(account, k.keyHash));
        assertEq(hook.getUsage(account, k.keyHash).maxCalls, 0);
        assertEq(hook.getToken(account, k.keyHash, address(usdc)).limits.lifetime, 0);
        assertFalse(hook.getNative(account, k.keyHash).enabled);
        assertFalse(hook.getStream(account, k.keyHash, address(0)).streaming);
        assertTrue(PolicyView.active(PolicyView.read(address(hook), account, k.keyHash)));
        assertEq(hook.ANY_TARGET(), address(type(uint160).max));
        assertEq(hook.ANY_SELECTOR(), bytes4(0xffffffff));
        assertEq(hook.EMPTY_CALLDATA(), bytes4(0));
        assertEq(hook.VALUE_ARG(), type(uint16).max);
        assertEq(hook.PERMIT2(), PERMIT2);
        assertEq(hook.ERC20_ETH(), ERC20_ETH);
        assertEq(hook.FLAGS(), 0x1e);
        assertEq(hook.MAX_RULES(), 64);
        assertEq(hook.MAX_CONDITIONS(), 8);
        assertEq(hook.MAX_SET_VALUES(), 8);
        assertEq(hook.MAX_TOKENS(), 16);
        assertEq(hook.MAX_DOMAINS(), 8);
        assertEq(hook.MAX_PAYMASTERS(), 4);
    }

    /// @dev Configuration through the hook writes the hook's storage (the callbacks see it) and the events come
    /// from the hook's address.
    function test_extension_configurationActsOnTheHooksStorage() public {
        vm.expectEmit(address(hook));
        emit IPolicyHook.CallRuleSet(account, k.keyHash, address(target), Target.bump.selector, RuleState.Allow);
        allow(address(target), Target.bump.selector);
        asKey(one(address(target), 0, abi.encodeCall(Target.bump, ())));
        assertEq(target.counter(), 1);
    }

    function test_extension_unknownSelectorRefused() public {
        (bool ok, bytes memory err) = address(hook).call(abi.encodeWithSignature("nothingHere(uint256)", 1));
        assertFalse(ok);
        assertEq(err, abi.encodeWithSelector(IPolicyHook.FnSelectorNotRecognized.selector));
        // Value is refused (no payable function, and the fallback is not payable).
        vm.deal(address(this), 1 ether);
        (ok,) = address(hook).call{value: 1}("");
        assertFalse(ok);
    }

    /// @dev Attack: configure the extension directly, or through a contract delegating to it, hoping to reach the
    /// hook's books. The extension's own address carries no flags (refused), and even a copy placed at a flag
    /// address only writes its own storage, which no callback of the hook reads.
    function test_extension_directCallsTouchOnlyTheirOwnStorage() public {
        address ext = _extension();
        vm.prank(account);
        (bool ok, bytes memory err) =
            ext.call(abi.encodeCall(IPolicyHook.setTokenLimit, (k.keyHash, address(usdc), true, Limits(0, 1, 0))));
        assertFalse(ok);
        if (uint160(ext) & 0x1f != 0x1e) {
            assertEq(err, abi.encodeWithSelector(IPolicyHook.WrongHookAddress.selector));
        } else {
            assertEq(err, abi.encodeWithSelector(IPolicyHook.HookNotInSettings.selector, k.keyHash));
        }
        // A copy of the extension's code at another flag address: the key's settings name the hook, not it.
        address copy = address(uint160(uint256(keccak256("extension copy"))) & ~uint160(0xff) | 0x1e);
        vm.etch(copy, ext.code);
        vm.prank(account);
        vm.expectRevert(abi.encodeWithSelector(IPolicyHook.HookNotInSettings.selector, k.keyHash));
        IPolicyHook(copy).setTokenStream(k.keyHash, address(usdc), Stream(1, 1, 0, 0));
    }

    /// @dev The hook's own creation code refuses every address but a flag address (the extension is created only
    /// then), and the created extension is the one its fallback runs.
    function test_extension_createdByTheHook() public view {
        assertGt(_extension().code.length, 0);
        assertTrue(_extension() != address(hook));
        // The hook's ABI without the fallback: the callbacks only.
        assertEq(
            IHook(address(hook)).afterVerifySignature(bytes32(0), bytes32(0), ""),
            IValidationHook.afterVerifySignature.selector
        );
    }
}
