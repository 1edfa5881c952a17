// SPDX-License-Identifier: MIT
pragma solidity ^0.8.30;

import {PolicyHook} from "../contracts/hooks/PolicyHook.sol";
import {Call, IKeyward} from "../contracts/interfaces/IKeyward.sol";
import {Condition, ConditionOp, IPolicyHook, Limits, RuleState} from "../contracts/interfaces/IPolicyHook.sol";
import {TestKey} from "./utils/KeywardTestBase.sol";
import {MockERC20} from "./utils/MockERC20.sol";
import {MockHook, Target} from "./utils/MockHook.sol";
import {Path, PolicyHookTestBase} from "./utils/PolicyHookTestBase.sol";
import {MaskingToken, MockERC20ETH, MockPermit2, RecordingTarget} from "./utils/PolicyMocks.sol";
import {PolicyView} from "./utils/PolicyView.sol";

/// @notice Issue 13 #2: Permit2 on a token without limits. Every Permit2 entry point that moves or approves a token
/// must name a limited token and is counted; the batch and signature entry points are refused; lockdown and the
/// nonce invalidations (they only take permissions away) pass. The mock at the canonical address really moves
/// tokens, so a call the hook let through would show up in balances and allowances.
contract PolicyHookPermit2Test is PolicyHookTestBase {
    MockPermit2 internal permit2;
    MockERC20 internal other; // a token the key has no limit for
    address internal constant THIEF = address(0x7417);

    function setUp() public override {
        super.setUp();
        permit2 = deployPermit2();
        other = new MockERC20();
        other.mint(account, 1_000_000e6);
        allow(PERMIT2, permit2.approve.selector);
        allow(PERMIT2, permit2.transferFrom.selector);
        tokenLimit(address(usdc), 100e6, DAY, 0);
    }

    function _approve2(address token, address spender, uint160 amount) internal view returns (Call[] memory) {
        return one(PERMIT2, 0, abi.encodeCall(permit2.approve, (token, spender, amount, uint48(block.timestamp + DAY))));
    }

    function _transferFrom2(address from, address to, uint160 amount, address token)
        internal
        view
        returns (Call[] memory)
    {
        return one(PERMIT2, 0, abi.encodeCall(permit2.transferFrom, (from, to, amount, token)));
    }

    /// @dev The attack: approve the unlisted token to a thief, who pulls it through Permit2 (on b65280f the hook
    /// counted nothing for a Permit2 call naming a token without limits, and both steps went through).
    function test_permit2_unlistedTokenApproveRefused() public {
        asKeyExpectRevert(
            _approve2(address(other), THIEF, type(uint160).max),
            abi.encodeWithSelector(IPolicyHook.UncountedTokenCall.selector, address(other), permit2.approve.selector)
        );
        assertEq(permit2.allowance(account, address(other), THIEF), 0);
        vm.prank(THIEF);
        vm.expectRevert(abi.encodeWithSelector(MockPermit2.InsufficientAllowance.selector, 0));
        permit2.transferFrom(account, THIEF, 1, address(other));
        // The same approval by the root does work: the refusal above is the hook's.
        rootExecute(_approve2(address(other), THIEF, 5));
        vm.prank(THIEF);
        permit2.transferFrom(account, THIEF, 5, address(other));
        assertEq(other.balanceOf(THIEF), 5);
    }

    /// @dev The key's own Permit2 `transferFrom` of an unlisted token is refused, even with a Permit2 allowance in
    /// place (set by the root) that would let it through.
    function test_permit2_unlistedTokenTransferFromRefused() public {
        rootExecute(_approve2(address(other), account, type(uint160).max));
        asKeyExpectRevert(
            _transferFrom2(account, THIEF, 1, address(other)),
            abi.encodeWithSelector(
                IPolicyHook.UncountedTokenCall.selector, address(other), permit2.transferFrom.selector
            )
        );
        // Even from someone else's allowance (not the account's money): the token must be limited.
        vm.prank(OTHER);
        permit2.approve(address(other), account, 1, uint48(block.timestamp + DAY));
        asKeyExpectRevert(
            _transferFrom2(OTHER, THIEF, 1, address(other)),
            abi.encodeWithSelector(
                IPolicyHook.UncountedTokenCall.selector, address(other), permit2.transferFrom.selector
            )
        );
        assertEq(other.balanceOf(THIEF), 0);
        // A key with no token limit at all cannot name even its "own" token.
        cfg(abi.encodeCall(IPolicyHook.setTokenLimit, (k.keyHash, address(usdc), false, Limits(0, 0, 0))));
        asKeyExpectRevert(
            _approve2(address(usdc), THIEF, 1),
            abi.encodeWithSelector(IPolicyHook.UncountedTokenCall.selector, address(usdc), permit2.approve.selector)
        );
    }

    /// @dev Permit2 `approve` of the limited token counts its amount: both sides of the daily cap; what was
    /// approved is then really pulled by the spender.
    function test_permit2_approveCountedAtTheCap() public {
        asKeyExpectRevert(
            _approve2(address(usdc), THIEF, 100e6 + 1),
            abi.encodeWithSelector(IPolicyHook.SpendLimitExceeded.selector, address(usdc), 1, 100e6 + 1, 100e6)
        );
        asKey(_approve2(address(usdc), THIEF, 60e6));
        asKey(_approve2(address(usdc), THIEF, 40e6)); // exactly the cap (approvals add up: each is spending)
        asKeyExpectRevert(
            _approve2(address(usdc), THIEF, 1),
            abi.encodeWithSelector(IPolicyHook.SpendLimitExceeded.selector, address(usdc), 1, 100e6 + 1, 100e6)
        );
        assertEq(hook.getToken(account, k.keyHash, address(usdc)).spend.total, 100e6);
        vm.prank(THIEF);
        permit2.transferFrom(account, THIEF, 40e6, address(usdc));
        assertEq(usdc.balanceOf(THIEF), 40e6);
    }

    /// @dev Permit2 single `transferFrom` out of the account counts its amount: both sides of the daily cap.
    function test_permit2_transferFromCountedAtTheCap() public {
        rootExecute(_approve2(address(usdc), account, type(uint160).max));
        asKey(_transferFrom2(account, R, 60e6, address(usdc)));
        asKeyExpectRevert(
            _transferFrom2(account, R, 40e6 + 1, address(usdc)),
            abi.encodeWithSelector(IPolicyHook.SpendLimitExceeded.selector, address(usdc), 1, 100e6 + 1, 100e6)
        );
        asKey(_transferFrom2(account, R, 40e6, address(usdc)));
        assertEq(usdc.balanceOf(R), 100e6);
        assertEq(hook.getToken(account, k.keyHash, address(usdc)).spend.inWindow, 100e6);
        // Pulling someone else's tokens (who approved the account) is not the account's spending.
        usdc.mint(OTHER, 10e6);
        vm.prank(OTHER);
        permit2.approve(address(usdc), account, 10e6, uint48(block.timestamp + DAY));
        asKey(_transferFrom2(OTHER, R, 10e6, address(usdc)));
        assertEq(usdc.balanceOf(R), 110e6);
        assertEq(hook.getToken(account, k.keyHash, address(usdc)).spend.inWindow, 100e6);
    }

    /// @dev The batch `transferFrom` and every signature entry point are refused, whatever token they name (here
    /// the limited one), even under an ANY_SELECTOR allow for Permit2.
    function test_permit2_batchAndSignatureEntryPointsRefused() public {
        allow(PERMIT2, hook.ANY_SELECTOR());
        string[7] memory signatures = [
            "transferFrom((address,address,uint160,address)[])",
            "permit(address,((address,uint160,uint48,uint48),address,uint256),bytes)",
            "permit(address,((address,uint160,uint48,uint48)[],address,uint256),bytes)",
            "permitTransferFrom(((address,uint256),uint256,uint256),(address,uint256),address,bytes)",
            "permitTransferFrom(((address,uint256)[],uint256,uint256),(address,uint256)[],address,bytes)",
            "permitWitnessTransferFrom(((address,uint256),uint256,uint256),(address,uint256),address,bytes32,string,bytes)",
            "permitWitnessTransferFrom(((address,uint256)[],uint256,uint256),(address,uint256)[],address,bytes32,string,bytes)"
        ];
        for (uint256 i; i < signatures.length; ++i) {
            bytes4 sel = bytes4(keccak256(bytes(signatures[i])));
            bytes memory data = abi.encodePacked(sel, abi.encode(address(usdc), account, R, uint256(1e6)));
            asKeyExpectRevert(
                one(PERMIT2, 0, data), abi.encodeWithSelector(IPolicyHook.UncountedTokenCall.selector, PERMIT2, sel)
            );
        }
        assertEq(permit2.unexpected(), 0);
        assertEq(hook.getToken(account, k.keyHash, address(usdc)).spend.total, 0);
    }

    /// @dev Lockdown and the nonce invalidations only take permissions away: allowed, counted nowhere.
    function test_permit2_lockdownAndInvalidationsAllowed() public {
        allow(PERMIT2, hook.ANY_SELECTOR());
        asKey(_approve2(address(usdc), THIEF, 10e6));
        MockPermit2.TokenSpenderPair[] memory pairs = new MockPermit2.TokenSpenderPair[](1);
        pairs[0] = MockPermit2.TokenSpenderPair(address(usdc), THIEF);
        Call[] memory calls = new Call[](3);
        calls[0] = Call(PERMIT2, 0, abi.encodeCall(permit2.lockdown, (pairs)));
        calls[1] = Call(PERMIT2, 0, abi.encodeCall(permit2.invalidateNonces, (address(usdc), THIEF, 1)));
        calls[2] = Call(PERMIT2, 0, abi.encodeCall(permit2.invalidateUnorderedNonces, (0, 1)));
        asKey(calls);
        assertEq(permit2.lockdowns(), 1);
        assertEq(permit2.invalidations(), 2);
        assertEq(permit2.allowance(account, address(usdc), THIEF), 0);
        assertEq(hook.getToken(account, k.keyHash, address(usdc)).spend.total, 10e6);
    }
}

/// @notice Native value through Uniswap's ERC20ETH (ERC-7914): with the root's native approval of ERC20ETH in
/// place, a key moves ETH only within its native caps, by ERC20ETH directly or through Permit2, counted together
/// with plain value; `approveNative` stays admin-only on every path. (At b65280f the account had no ERC-7914, so
/// the route did not exist; the hook counted no ERC20ETH call.)
contract PolicyHookERC20ETHTest is PolicyHookTestBase {
    MockPermit2 internal permit2;
    MockERC20ETH internal eth20;
    address internal constant THIEF = address(0x7417);

    function setUp() public override {
        super.setUp();
        permit2 = deployPermit2();
        eth20 = deployERC20ETH();
        // The root lets ERC20ETH pull native value, and Permit2 pull ERC20ETH, with the account's own allowance for
        // Permit2 transfers it starts itself.
        Call[] memory calls = new Call[](3);
        calls[0] = Call(account, 0, abi.encodeCall(IKeyward.approveNative, (ERC20_ETH, type(uint256).max)));
        calls[1] = Call(ERC20_ETH, 0, abi.encodeCall(eth20.approve, (PERMIT2, type(uint256).max)));
        calls[2] = Call(
            PERMIT2, 0, abi.encodeCall(permit2.approve, (ERC20_ETH, account, type(uint160).max, type(uint48).max))
        );
        rootExecute(calls);
        allow(ERC20_ETH, hook.ANY_SELECTOR());
        allow(PERMIT2, hook.ANY_SELECTOR());
        allow(R, hook.EMPTY_CALLDATA());
    }

    /// @dev Every route that moves or approves native value, `amount` each.
    function _routes(uint256 amount) internal view returns (Call[] memory c) {
        c = new Call[](7);
        c[0] = Call(ERC20_ETH, 0, abi.encodeCall(eth20.transfer, (R, amount)));
        c[1] = Call(ERC20_ETH, 0, abi.encodeCall(eth20.transferFrom, (account, R, amount)));
        c[2] = Call(ERC20_ETH, 0, abi.encodeCall(eth20.approve, (OTHER, amount)));
        c[3] = Call(ERC20_ETH, 0, abi.encodeCall(eth20.increaseAllowance, (OTHER, amount)));
        c[4] = Call(PERMIT2, 0, abi.encodeCall(permit2.approve, (ERC20_ETH, OTHER, uint160(amount), type(uint48).max)));
        c[5] = Call(PERMIT2, 0, abi.encodeCall(permit2.transferFrom, (account, R, uint160(amount), ERC20_ETH)));
        c[6] = Call(R, amount, "");
    }

    function test_erc20eth_rootRoutesReallyMoveEth() public {
        Call[] memory routes = _routes(1 ether);
        rootExecute(one(routes[0].to, 0, routes[0].data));
        rootExecute(one(routes[1].to, 0, routes[1].data));
        rootExecute(one(routes[5].to, 0, routes[5].data));
        assertEq(R.balance, 3 ether);
        assertEq(account.balance, 97 ether);
    }

    function test_erc20eth_nativeDisabledBlocksEveryRoute() public {
        Call[] memory routes = _routes(1 ether);
        for (uint256 i; i < routes.length; ++i) {
            asKeyExpectRevert(
                one(routes[i].to, routes[i].value, routes[i].data),
                abi.encodeWithSelector(IPolicyHook.NativeValueNotAllowed.selector)
            );
        }
        assertEq(R.balance, 0);
        assertEq(account.balance, 100 ether);
        assertEq(eth20.allowance(account, OTHER), 0);
        assertEq(permit2.allowance(account, ERC20_ETH, OTHER), 0);
    }

    /// @dev Each route at both sides of the per-call cap, on every path.
    function test_erc20eth_perCallCapOnEveryRouteAndPath() public {
        nativeLimits(true, 1 ether, 0, 0, 0);
        bytes memory over =
            abi.encodeWithSelector(IPolicyHook.SpendLimitExceeded.selector, address(0), 0, 1 ether + 1, 1 ether);
        Call[] memory atCap = _routes(1 ether);
        Call[] memory pastCap = _routes(1 ether + 1);
        for (uint256 p; p < 3; ++p) {
            for (uint256 i; i < atCap.length; ++i) {
                expectRun(Path(p), one(pastCap[i].to, pastCap[i].value, pastCap[i].data), over);
                expectRun(Path(p), one(atCap[i].to, atCap[i].value, atCap[i].data), "");
            }
        }
        // transfer, transferFrom, Permit2 transferFrom and plain value move 1 ether each, on 3 paths.
        assertEq(R.balance, 12 ether);
        assertEq(hook.getNative(account, k.keyHash).spend.total, 21 ether);
    }

    /// @dev ERC20ETH routes and plain value share the period and lifetime caps, at both sides of each cap and of
    /// the period edge.
    function test_erc20eth_periodAndLifetimeCapsShared() public {
        uint256 t0 = block.timestamp;
        nativeLimits(true, 0, 2 ether, DAY, 3 ether);
        Call[] memory routes = _routes(0.5 ether);
        asKey(one(routes[0].to, 0, routes[0].data)); // ERC20ETH.transfer 0.5
        asKey(one(R, 0.5 ether, "")); // plain value 0.5
        asKey(one(routes[2].to, 0, routes[2].data)); // ERC20ETH.approve 0.5
        bytes memory data = abi.encodeCall(permit2.transferFrom, (account, R, uint160(0.5 ether + 1), ERC20_ETH));
        asKeyExpectRevert(
            one(PERMIT2, 0, data),
            abi.encodeWithSelector(IPolicyHook.SpendLimitExceeded.selector, address(0), 1, 2 ether + 1, 2 ether)
        );
        asKey(one(routes[5].to, 0, routes[5].data)); // Permit2 transferFrom 0.5: exactly 2 ether in the window
        vm.warp(t0 + DAY - 1);
        asKeyExpectRevert(
            one(R, 1, ""),
            abi.encodeWithSelector(IPolicyHook.SpendLimitExceeded.selector, address(0), 1, 2 ether + 1, 2 ether)
        );
        vm.warp(t0 + DAY);
        routes = _routes(1 ether);
        asKey(one(routes[4].to, 0, routes[4].data)); // Permit2 approve 1: exactly 3 ether in total
        bytes memory lifetime =
            abi.encodeWithSelector(IPolicyHook.SpendLimitExceeded.selector, address(0), 2, 3 ether + 1, 3 ether);
        routes = _routes(1);
        for (uint256 i; i < routes.length; ++i) {
            asKeyExpectRevert(one(routes[i].to, routes[i].value, routes[i].data), lifetime);
        }
        assertEq(R.balance, 1.5 ether);
        assertEq(hook.getNative(account, k.keyHash).spend.total, 3 ether);
        assertEq(hook.getNative(account, k.keyHash).spend.inWindow, 1 ether);
    }

    /// @dev A failed ERC20ETH call gives back what it was charged (continue-on-failure batch).
    function test_erc20eth_failedRouteRefunded() public {
        nativeLimits(true, 0, 2 ether, DAY, 0);
        // More than the account's allowance to ERC20ETH lets it pull: the call fails inside ERC20ETH.
        rootExecute(one(account, 0, abi.encodeCall(IKeyward.approveNative, (ERC20_ETH, 1 ether))));
        Call[] memory calls = new Call[](2);
        calls[0] = Call(ERC20_ETH, 0, abi.encodeCall(eth20.transfer, (R, 1.5 ether)));
        calls[1] = Call(ERC20_ETH, 0, abi.encodeCall(eth20.transfer, (R, 1 ether)));
        (bool ok,) = run(Path.Direct, k, calls, false);
        assertTrue(ok);
        assertEq(R.balance, 1 ether);
        assertEq(hook.getNative(account, k.keyHash).spend.inWindow, 1 ether);
    }

    /// @dev `approveNative` (and its transient twin) stay admin-only: a non-admin key allowed everything, with native
    /// value enabled, cannot set a native allowance on any path.
    function test_erc20eth_approveNativeIsAdminOnlyOnEveryPath() public {
        allow(hook.ANY_TARGET(), hook.ANY_SELECTOR());
        nativeLimits(true, 0, 0, 0, 0);
        _approveNativeRefused(abi.encodeCall(IKeyward.approveNative, (THIEF, type(uint256).max)));
        _approveNativeRefused(abi.encodeCall(IKeyward.approveNativeTransient, (THIEF, type(uint256).max)));
        assertEq(IKeyward(account).nativeAllowance(THIEF), 0);
        // An admin key under the PolicyHook is stopped by the hook (no self-calls through a policy).
        TestKey memory admin = secp256k1Key("admin");
        grant(admin, settingsOf(address(hook), 0, true, 0) | FLAG_AFTER_ON_FAILURE);
        (bool ok, bytes memory err) =
            run(Path.Direct, admin, one(account, 0, abi.encodeCall(IKeyward.approveNative, (THIEF, 1))), true);
        assertFalse(ok);
        assertEq(err, abi.encodeWithSelector(IPolicyHook.SelfCallDenied.selector, account));
    }

    function _approveNativeRefused(bytes memory approval) internal {
        bytes memory onlyAdmin = abi.encodeWithSelector(IKeyward.OnlyAdminCanSelfCall.selector);
        for (uint256 p; p < 3; ++p) {
            expectRun(Path(p), one(account, 0, approval), onlyAdmin);
            expectRun(Path(p), one(address(0), 0, approval), onlyAdmin);
        }
        // Straight from the key's address, alone or in a multicall.
        vm.prank(k.signer);
        (bool ok, bytes memory err) = account.call(approval);
        assertFalse(ok);
        assertEq(err, abi.encodeWithSelector(IKeyward.Unauthorized.selector));
        bytes[] memory items = new bytes[](1);
        items[0] = approval;
        vm.prank(k.signer);
        (ok, err) = account.call(abi.encodeCall(IKeyward.multicall, (items)));
        assertFalse(ok);
        assertEq(err, abi.encodeWithSelector(IKeyward.Unauthorized.selector));
    }
}

/// @notice Issue 13 #3: a "pay anyone in ETH" key (EMPTY_CALLDATA for ANY_TARGET, native enabled) cannot make a
/// call whose selector is 0x00000000 (Seaport's `fulfillBasicOrder_efficient_6GL6yc`) nor send 1-3 bytes of data.
/// (At b65280f a selector of 0 or data shorter than 4 bytes matched the EMPTY_CALLDATA rule, so all of these went
/// through.)
contract PolicyHookEmptyCalldataTest is PolicyHookTestBase {
    RecordingTarget internal seaport;

    function setUp() public override {
        super.setUp();
        seaport = new RecordingTarget();
        allow(hook.ANY_TARGET(), hook.EMPTY_CALLDATA());
        nativeLimits(true, 0, 0, 0, 0);
    }

    function test_emptyCalldata_zeroSelectorCallRefused() public {
        assertEq(
            bytes4(
                keccak256(
                    "fulfillBasicOrder_efficient_6GL6yc((address,uint256,uint256,address,address,address,uint256,uint256,uint8,uint256,uint256,bytes32,uint256,bytes32,bytes32,uint256,(uint256,address)[],bytes))"
                )
            ),
            bytes4(0)
        );
        bytes memory order = abi.encodePacked(bytes4(0), abi.encode(address(usdc), uint256(1e6), R, uint256(7)));
        bytes memory err = abi.encodeWithSelector(IPolicyHook.CallNotAllowed.selector, address(seaport), bytes4(0));
        for (uint256 p; p < 3; ++p) {
            expectRun(Path(p), one(address(seaport), 0, order), err);
            expectRun(Path(p), one(address(seaport), 1 ether, order), err);
            expectRun(Path(p), one(address(seaport), 0, hex"00000000"), err);
        }
        assertEq(seaport.calls(), 0);
    }

    function test_emptyCalldata_oneToThreeBytesRefused() public {
        bytes[6] memory shorts = [bytes(hex"00"), hex"0000", hex"000000", hex"ab", hex"abcd", hex"abcdef"];
        bytes4[6] memory padded = [bytes4(0), bytes4(0), bytes4(0), bytes4(0xab000000), 0xabcd0000, 0xabcdef00];
        for (uint256 i; i < shorts.length; ++i) {
            asKeyExpectRevert(
                one(address(seaport), 1, shorts[i]),
                abi.encodeWithSelector(IPolicyHook.CallNotAllowed.selector, address(seaport), padded[i])
            );
        }
        assertEq(seaport.calls(), 0);
    }

    function test_emptyCalldata_plainEthStillWorks() public {
        for (uint256 p; p < 3; ++p) {
            expectRun(Path(p), one(address(seaport), 1 ether, ""), "");
        }
        assertEq(seaport.calls(), 3);
        assertEq(seaport.lastData().length, 0);
        assertEq(address(seaport).balance, 3 ether);
    }

    /// @dev A real selector-0 call is covered by an ANY_SELECTOR allow (and only by one).
    function test_emptyCalldata_zeroSelectorNeedsAnySelector() public {
        allow(address(seaport), hook.ANY_SELECTOR());
        asKey(one(address(seaport), 0, hex"00000000"));
        assertEq(seaport.calls(), 1);
    }
}

/// @notice Issue 13 #4: deny beats every allow, wildcards included, for a normal call and for a plain ETH transfer.
/// The whole matrix: a deny at each of the four rules that cover the call, against every non-empty set of allows
/// at those four rules (an allow at the deny's own rule is that rule: the deny replaces it). (At b65280f a deny on
/// (ANY_TARGET, ANY_SELECTOR) was never checked, and a deny on (X, ANY_SELECTOR) did not cover plain ETH to X.)
contract PolicyHookDenyMatrixTest is PolicyHookTestBase {
    function _rule(uint256 position, address to, bytes4 sel) internal view returns (address, bytes4) {
        address anyTarget = hook.ANY_TARGET();
        bytes4 anySel = hook.ANY_SELECTOR();
        if (position == 0) return (to, sel);
        if (position == 1) return (to, anySel);
        if (position == 2) return (anyTarget, sel);
        return (anyTarget, anySel);
    }

    function _set(uint256 position, bytes4 sel, RuleState state) internal {
        (address t, bytes4 s) = _rule(position, address(target), sel);
        cfg(abi.encodeCall(IPolicyHook.setCallRule, (k.keyHash, t, s, state)));
    }

    function test_denyMatrix_denyBeatsEveryAllow() public {
        nativeLimits(true, 0, 0, 0, 0);
        uint256 cases;
        uint256 controlsAllowed;
        for (uint256 kind; kind < 2; ++kind) {
            for (uint256 allows = 1; allows < 16; ++allows) {
                (uint256 n, bool allowed) = _matrixRow(kind == 1, allows);
                cases += n;
                if (allowed) ++controlsAllowed;
            }
        }
        assertEq(cases, 2 * 15 * 4);
        assertEq(controlsAllowed, 15 + 12); // every set allows the normal call; 12 of 15 cover the empty one
    }

    /// @dev One set of allows (bit i: an allow at rule position i), then a deny at each position in turn.
    function _matrixRow(bool empty, uint256 allows) internal returns (uint256 cases, bool controlAllowed) {
        bytes4 sel = empty ? hook.EMPTY_CALLDATA() : Target.bump.selector;
        Call[] memory call_ =
            empty ? one(address(target), 1, "") : one(address(target), 0, abi.encodeCall(Target.bump, ()));
        uint256 snapshot = vm.snapshotState();
        for (uint256 a; a < 4; ++a) {
            if (allows & (1 << a) != 0) _set(a, sel, RuleState.Allow);
        }
        // Control: with these allows and an unrelated deny, the call goes through unless only ANY_SELECTOR allows
        // cover it and it has no data.
        cfg(abi.encodeCall(IPolicyHook.setCallRule, (k.keyHash, OTHER, sel, RuleState.Deny)));
        (bool ok, bytes memory err) = run(Path.Direct, call_);
        if (!empty || allows & 0x5 != 0) {
            // (X, EMPTY) or (ANY, EMPTY) cover an empty call
            assertTrue(ok, "control: allowed");
            controlAllowed = true;
        } else {
            assertEq(err, abi.encodeWithSelector(IPolicyHook.CallNotAllowed.selector, address(target), sel));
        }
        bytes memory denied = abi.encodeWithSelector(IPolicyHook.CallDenied.selector, address(target), sel);
        uint256 withAllows = vm.snapshotState();
        for (uint256 d; d < 4; ++d) {
            _set(d, sel, RuleState.Deny);
            (ok, err) = run(Path.Direct, call_);
            assertFalse(ok, "deny must win");
            assertEq(err, denied);
            ++cases;
            vm.revertToState(withAllows);
        }
        vm.revertToState(snapshot);
    }

    /// @dev A deny on the empty rule does not cover a real call, and a deny on a selector does not cover plain ETH
    /// (the rules are different): denies cover exactly the calls their rule covers.
    function test_denyMatrix_deniesCoverOnlyTheirCalls() public {
        nativeLimits(true, 0, 0, 0, 0);
        allow(address(target), hook.ANY_SELECTOR());
        allow(address(target), hook.EMPTY_CALLDATA());
        deny(address(target), hook.EMPTY_CALLDATA());
        asKey(one(address(target), 0, abi.encodeCall(Target.bump, ())));
        asKeyExpectRevert(
            one(address(target), 1, ""),
            abi.encodeWithSelector(IPolicyHook.CallDenied.selector, address(target), bytes4(0))
        );
        cfg(abi.encodeCall(IPolicyHook.setCallRule, (k.keyHash, address(target), bytes4(0), RuleState.Allow)));
        deny(address(target), Target.bump.selector);
        asKey(one(address(target), 1, ""));
        asKeyExpectRevert(
            one(address(target), 0, abi.encodeCall(Target.bump, ())),
            abi.encodeWithSelector(IPolicyHook.CallDenied.selector, address(target), Target.bump.selector)
        );
        assertEq(target.counter(), 1);
    }
}

/// @notice Issue 13 #6: a condition on an address argument with dirty high bits. With `bits` 160 every comparison
/// fails on a word with bits above 160, so a token that masks its arguments cannot be used to slip past; with
/// `bits` 0 the raw word is compared (documented: give the argument's width for typed arguments). (At b65280f
/// conditions had no width and compared the raw word: the NotEqual attack below went through.)
contract PolicyHookDirtyWordsTest is PolicyHookTestBase {
    MaskingToken internal mt;
    address internal constant BLOCKED = address(0xb10c);
    uint256 internal constant DIRT = uint256(1) << 200;

    function setUp() public override {
        super.setUp();
        mt = new MaskingToken();
        mt.mint(account, 1000);
        allow(address(mt), bytes4(0xa9059cbb));
    }

    function _condition(ConditionOp op, uint16 bits, uint256 v) internal {
        bytes32[] memory values = new bytes32[](op == ConditionOp.InSet ? 2 : 1);
        values[0] = bytes32(v);
        if (values.length == 2) values[1] = bytes32(uint256(1));
        Condition[] memory cs = new Condition[](1);
        cs[0] = Condition(op, 0, bits, values);
        cfg(abi.encodeCall(IPolicyHook.setConditions, (k.keyHash, address(mt), bytes4(0xa9059cbb), cs)));
    }

    function _pay(uint256 toWord) internal pure returns (bytes memory) {
        return abi.encodeWithSelector(bytes4(0xa9059cbb), toWord, uint256(1));
    }

    /// @dev The attack: "anyone but BLOCKED", paid to BLOCKED with dirty high bits.
    function test_dirtyWords_notEqualAttackRefusedWithWidth() public {
        _condition(ConditionOp.NotEqual, 160, uint160(BLOCKED));
        asKeyExpectRevert(
            one(address(mt), 0, _pay(uint160(BLOCKED) | DIRT)),
            abi.encodeWithSelector(IPolicyHook.ConditionFailed.selector, 0)
        );
        asKeyExpectRevert(
            one(address(mt), 0, _pay(uint160(BLOCKED))), abi.encodeWithSelector(IPolicyHook.ConditionFailed.selector, 0)
        );
        asKey(one(address(mt), 0, _pay(uint160(R))));
        assertEq(mt.balanceOf(BLOCKED), 0);
        assertEq(mt.balanceOf(R), 1);
    }

    /// @dev Documented: with `bits` 0 the raw word is compared, and the masking token pays BLOCKED.
    function test_dirtyWords_zeroWidthComparesTheRawWord() public {
        _condition(ConditionOp.NotEqual, 0, uint160(BLOCKED));
        asKey(one(address(mt), 0, _pay(uint160(BLOCKED) | DIRT)));
        assertEq(mt.balanceOf(BLOCKED), 1);
    }

    /// @dev Every op, with a value the clean address satisfies: the dirty word fails under `bits` 160 (both sides:
    /// 2^160 - 1 is still an address, 2^160 is not); under `bits` 0 the ops that can fail open do.
    function test_dirtyWords_everyOpFailsOnDirtyWords() public {
        uint256 a = uint160(R);
        ConditionOp[7] memory ops = [
            ConditionOp.Equal,
            ConditionOp.NotEqual,
            ConditionOp.LessOrEqual,
            ConditionOp.GreaterOrEqual,
            ConditionOp.InSet,
            ConditionOp.Less,
            ConditionOp.Greater
        ];
        // Values each op accepts for the clean word `a`.
        uint256[7] memory values = [a, a + 1, a, a, a, a + 1, a - 1];
        // Whether the raw dirty word `a | DIRT` passes each op (bits 0): the ops that fail open.
        bool[7] memory rawPasses = [false, true, false, true, false, false, true];
        bytes memory failed = abi.encodeWithSelector(IPolicyHook.ConditionFailed.selector, 0);
        for (uint256 i; i < ops.length; ++i) {
            _condition(ops[i], 160, values[i]);
            asKey(one(address(mt), 0, _pay(a)));
            asKeyExpectRevert(one(address(mt), 0, _pay(a | DIRT)), failed);
            asKeyExpectRevert(one(address(mt), 0, _pay(a | (uint256(1) << 160))), failed);
            _condition(ops[i], 0, values[i]);
            (bool ok,) = run(Path.Direct, one(address(mt), 0, _pay(a | DIRT)));
            assertEq(ok, rawPasses[i], "raw word comparison");
        }
        // The widest address passes the width check itself.
        _condition(ConditionOp.GreaterOrEqual, 160, 0);
        asKey(one(address(mt), 0, _pay(type(uint160).max)));
    }

    /// @dev Other widths: a bool (`bits` 1) and a uint96 amount.
    function test_dirtyWords_otherWidths() public {
        bytes32[] memory one_ = new bytes32[](1);
        one_[0] = bytes32(uint256(1));
        Condition[] memory cs = new Condition[](2);
        cs[0] = Condition(ConditionOp.GreaterOrEqual, 1, 1, one_); // amount as a bool: 0 or 1
        one_ = new bytes32[](1);
        cs[1] = Condition(ConditionOp.GreaterOrEqual, 0, 96, one_); // `to` as a uint96
        cfg(abi.encodeCall(IPolicyHook.setConditions, (k.keyHash, address(mt), bytes4(0xa9059cbb), cs)));
        bytes memory data = abi.encodeWithSelector(bytes4(0xa9059cbb), uint256(type(uint96).max), uint256(1));
        asKey(one(address(mt), 0, data));
        data = abi.encodeWithSelector(bytes4(0xa9059cbb), uint256(type(uint96).max), uint256(3));
        asKeyExpectRevert(one(address(mt), 0, data), abi.encodeWithSelector(IPolicyHook.ConditionFailed.selector, 0));
        data = abi.encodeWithSelector(bytes4(0xa9059cbb), uint256(type(uint96).max) + 1, uint256(1));
        asKeyExpectRevert(one(address(mt), 0, data), abi.encodeWithSelector(IPolicyHook.ConditionFailed.selector, 1));
    }
}

/// @notice Issue 13 #7: a PolicyHook at an address whose low 5 bits are not 0x1e refuses to exist, and its runtime
/// placed there anyway refuses configuration. (At b65280f the hook never checked its own address.)
contract PolicyHookAddressTest is PolicyHookTestBase {
    function _base() internal pure returns (uint160) {
        return uint160(uint256(keccak256("wrong place"))) & ~uint160(0xff);
    }

    function test_address_newAtNonFlagAddressReverts() public {
        uint64 nonce = vm.getNonce(address(this));
        while (uint160(vm.computeCreateAddress(address(this), nonce)) & 0x1f == 0x1e) {
            ++nonce;
        }
        vm.setNonce(address(this), nonce);
        vm.expectRevert(IPolicyHook.WrongHookAddress.selector);
        new PolicyHook();
    }

    /// @dev The constructor at every low-5-bit pattern: only 0x1e deploys (with any bits above).
    function test_address_constructorAcceptsOnlyItsFlags() public {
        bytes memory initcode = vm.getCode("PolicyHook.sol:PolicyHook");
        uint256 deployed;
        for (uint160 f; f < 64; ++f) {
            address where = address(_base() | f);
            vm.etch(where, initcode);
            (bool ok, bytes memory ret) = where.call("");
            if (f & 0x1f == 0x1e) {
                assertTrue(ok, "flags 0x1e deploy");
                ++deployed;
            } else {
                assertFalse(ok);
                assertEq(ret, abi.encodeWithSelector(IPolicyHook.WrongHookAddress.selector));
            }
        }
        assertEq(deployed, 2); // 0x1e and 0x3e
    }

    function test_address_etchedRuntimeRefusesConfiguration() public {
        uint160[5] memory wrongFlags = [uint160(0x0e), 0x16, 0x1a, 0x1c, 0x1f];
        for (uint256 i; i < wrongFlags.length; ++i) {
            address wrong = address(_base() | wrongFlags[i]);
            vm.etch(wrong, address(hook).code);
            TestKey memory k2 = secp256k1Key(string.concat("k", vm.toString(i)));
            grant(k2, settingsOf(wrong, 0, false, 0) | FLAG_AFTER_ON_FAILURE);
            vm.prank(account);
            vm.expectRevert(IPolicyHook.WrongHookAddress.selector);
            IPolicyHook(wrong).setCallRule(k2.keyHash, address(usdc), usdc.transfer.selector, RuleState.Allow);
            vm.prank(account);
            vm.expectRevert(IPolicyHook.WrongHookAddress.selector);
            IPolicyHook(wrong).setTokenLimit(k2.keyHash, address(usdc), true, Limits(1, 1, 1));
        }
    }
}

/// @notice Issue 13 #12: configuration for a key whose settings do not name this hook is refused, so a grant batch
/// that forgot the hook reverts whole; the views say whether the policy applies. (At b65280f the batch succeeded
/// and the views read back a cap that nothing enforced.)
contract PolicyHookSettingsTest is PolicyHookTestBase {
    function _grantBatch(TestKey memory k2, uint256 settings) internal view returns (Call[] memory calls) {
        calls = new Call[](3);
        calls[0] = Call(address(0), 0, abi.encodeCall(IKeyward.grant, (k2.key, settings)));
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
            abi.encodeCall(IPolicyHook.setTokenLimit, (k2.keyHash, address(usdc), true, Limits(0, 10e6, 0)))
        );
    }

    function test_settings_grantWithoutTheHookRevertsWhole() public {
        TestKey memory k2 = secp256k1Key("forgot the hook");
        uint256 keysBefore = IKeyward(account).keyCount();
        // A second PolicyHook instance at a flag address: naming it is not naming this one.
        address otherPolicy = address(uint160(uint256(keccak256("another policy hook"))) & ~uint160(0xffff) | 0x1e);
        deployCodeTo("PolicyHook.sol:PolicyHook", otherPolicy);
        uint256[3] memory wrongSettings = [
            uint256(0), // no hook: the key would be unrestricted
            settingsOf(address(deployHook(0x1e)), 0, false, 0) | FLAG_AFTER_ON_FAILURE,
            settingsOf(otherPolicy, 0, false, 0) | FLAG_AFTER_ON_FAILURE
        ];
        bytes memory err = abi.encodeWithSelector(
            IKeyward.CallFailed.selector, abi.encodeWithSelector(IPolicyHook.HookNotInSettings.selector, k2.keyHash)
        );
        for (uint256 i; i < wrongSettings.length; ++i) {
            vm.prank(account);
            vm.expectRevert(err);
            acct.execute(MODE_REVERT, abi.encode(_grantBatch(k2, wrongSettings[i])));
            assertFalse(IKeyward(account).isRegistered(k2.keyHash), "no key left behind");
            assertEq(IKeyward(account).keyCount(), keysBefore);
        }
        rootExecute(_grantBatch(k2, policySettings(hook, 0)));
        assertTrue(IKeyward(account).isRegistered(k2.keyHash));
        assertEq(hook.getToken(account, k2.keyHash, address(usdc)).limits.lifetime, 10e6);
    }

    /// @dev Documented: a root batch in continue-on-failure mode does not revert whole, so the grant stays while
    /// the refused policy calls are skipped; the key then has no hook, and the views say the policy is not active.
    function test_settings_continueModeGrantKeepsTheKeyWithoutPolicy() public {
        TestKey memory k2 = secp256k1Key("forgot the hook, continue mode");
        vm.prank(account);
        acct.execute(MODE_CONTINUE, abi.encode(_grantBatch(k2, 0)));
        assertTrue(IKeyward(account).isRegistered(k2.keyHash));
        assertFalse(hook.isActive(account, k2.keyHash));
        assertFalse(PolicyView.active(PolicyView.read(address(hook), account, k2.keyHash)));
        assertEq(hook.getToken(account, k2.keyHash, address(usdc)).limits.lifetime, 0);
    }

    function test_settings_activeFollowsTheSettings() public {
        allow(address(usdc), usdc.transfer.selector);
        tokenLimit(address(usdc), 0, 0, 10e6);
        assertTrue(hook.isActive(account, k.keyHash));
        assertTrue(PolicyView.active(PolicyView.read(address(hook), account, k.keyHash)));
        // Settings now name another hook: the policy no longer applies, and the views say so.
        MockHook mock = deployHook(0x1e);
        rootCall(abi.encodeCall(IKeyward.update, (k.keyHash, settingsOf(address(mock), 0, false, 0))));
        assertFalse(hook.isActive(account, k.keyHash));
        assertFalse(PolicyView.active(PolicyView.read(address(hook), account, k.keyHash)));
        asKey(transferCall(R, 11e6)); // the other hook approves; this policy's cap is not in force
        vm.prank(account);
        vm.expectRevert(abi.encodeWithSelector(IPolicyHook.HookNotInSettings.selector, k.keyHash));
        hook.setTokenLimit(k.keyHash, address(usdc), true, Limits(0, 1, 0));
        // Named again (same registration, same keyId): the policy applies again, with its books.
        rootCall(abi.encodeCall(IKeyward.update, (k.keyHash, policySettings(hook, 0))));
        assertTrue(hook.isActive(account, k.keyHash));
        assertTrue(PolicyView.active(PolicyView.read(address(hook), account, k.keyHash)));
        asKey(transferCall(R, 10e6));
        asKeyExpectRevert(
            transferCall(R, 1),
            abi.encodeWithSelector(IPolicyHook.SpendLimitExceeded.selector, address(usdc), 2, 10e6 + 1, 10e6)
        );
        // Revoked: inactive, and the whole-policy view has no registration to read.
        rootCall(abi.encodeCall(IKeyward.revoke, (k.keyHash)));
        assertFalse(hook.isActive(account, k.keyHash));
        (bool ok, bytes memory err) =
            address(hook).staticcall(abi.encodeCall(IPolicyHook.getPolicy, (account, k.keyHash)));
        assertFalse(ok);
        assertEq(err, abi.encodeWithSelector(IKeyward.KeyDoesNotExist.selector));
    }
}

interface IStakeManager {
    function depositTo(address account) external payable;
    function balanceOf(address account) external view returns (uint256);
    function withdrawTo(address payable withdrawAddress, uint256 withdrawAmount) external;
    function addStake(uint32 unstakeDelaySec) external payable;
    function unlockStake() external;
    function withdrawStake(address payable withdrawAddress) external;
}

/// @notice The account's EntryPoint deposit and stake are its native value too: a key allowed to call the
/// EntryPoint (here through ANY_TARGET / ANY_SELECTOR) may withdraw them only back into the account, on every path,
/// whatever its native caps. (Found while migrating: the hook counted only `value` and ERC20ETH, so `withdrawTo`
/// drained the deposit to any address, even with native value disabled.)
contract PolicyHookEntryPointTest is PolicyHookTestBase {
    address internal constant THIEF = address(0x7417);
    IStakeManager internal ep;

    function setUp() public override {
        super.setUp();
        ep = IStakeManager(ENTRY_POINT);
        rootExecute(one(ENTRY_POINT, 5 ether, abi.encodeCall(ep.depositTo, (account))));
        allow(hook.ANY_TARGET(), hook.ANY_SELECTOR());
    }

    function test_entryPoint_withdrawToElsewhereRefused() public {
        bytes memory refused =
            abi.encodeWithSelector(IPolicyHook.UncountedTokenCall.selector, ENTRY_POINT, ep.withdrawTo.selector);
        Call[] memory drain = one(ENTRY_POINT, 0, abi.encodeCall(ep.withdrawTo, (payable(THIEF), 5 ether)));
        for (uint256 p; p < 3; ++p) {
            expectRun(Path(p), drain, refused);
        }
        nativeLimits(true, 0, 0, 0, 0); // native value enabled without caps changes nothing
        for (uint256 p; p < 3; ++p) {
            expectRun(Path(p), drain, refused);
        }
        // Too short to name a recipient: refused too.
        asKeyExpectRevert(one(ENTRY_POINT, 0, abi.encodePacked(ep.withdrawTo.selector)), refused);
        assertEq(ep.balanceOf(account), 5 ether);
        assertEq(THIEF.balance, 0);
    }

    function test_entryPoint_withdrawToTheAccountAllowed() public {
        uint256 before = account.balance;
        asKey(one(ENTRY_POINT, 0, abi.encodeCall(ep.withdrawTo, (payable(account), 3 ether))));
        assertEq(ep.balanceOf(account), 2 ether);
        assertEq(account.balance, before + 3 ether);
        assertEq(hook.getNative(account, k.keyHash).spend.total, 0);
    }

    /// @dev The stake too (it leaves whole).
    function test_entryPoint_withdrawStakeOnlyToTheAccount() public {
        rootExecute(one(ENTRY_POINT, 1 ether, abi.encodeCall(ep.addStake, (1))));
        asKey(one(ENTRY_POINT, 0, abi.encodeCall(ep.unlockStake, ())));
        vm.warp(block.timestamp + 2);
        asKeyExpectRevert(
            one(ENTRY_POINT, 0, abi.encodeCall(ep.withdrawStake, (payable(THIEF)))),
            abi.encodeWithSelector(IPolicyHook.UncountedTokenCall.selector, ENTRY_POINT, ep.withdrawStake.selector)
        );
        uint256 before = account.balance;
        asKey(one(ENTRY_POINT, 0, abi.encodeCall(ep.withdrawStake, (payable(account)))));
        assertEq(account.balance, before + 1 ether);
        assertEq(THIEF.balance, 0);
    }
}
