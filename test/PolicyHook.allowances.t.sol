// SPDX-License-Identifier: MIT
pragma solidity ^0.8.30;

import {AllowanceLib} from "../contracts/hooks/libraries/AllowanceLib.sol";
import {Caps, CapsLib} from "../contracts/hooks/types/Caps.sol";
import {SpendState, SpendStateLib} from "../contracts/hooks/types/SpendState.sol";
import {Call, IKeyward} from "../contracts/interfaces/IKeyward.sol";
import {IPolicyHook, Limits, Stream, StreamPolicy} from "../contracts/interfaces/IPolicyHook.sol";
import {Path, PolicyHookTestBase} from "./utils/PolicyHookTestBase.sol";
import {AllowanceToken, MockERC20ETH, MockPermit2} from "./utils/PolicyMocks.sol";
import {Test} from "forge-std/Test.sol";

/// @notice `AllowanceLib` behind an external boundary (so reverts can be expected).
contract AllowanceHarness {
    function charge(Caps caps, SpendState s, uint256 amount, uint256 timestamp) external pure returns (SpendState) {
        return AllowanceLib.charge(caps, s, address(0xa55e7), amount, timestamp);
    }

    function refund(SpendState s, uint256 amount) external pure returns (SpendState) {
        return AllowanceLib.refund(s, amount);
    }

    function released(Caps caps, SpendState s, uint256 timestamp) external pure returns (uint256) {
        return AllowanceLib.released(caps, s, timestamp);
    }

    function available(Caps caps, SpendState s, uint256 timestamp) external pure returns (uint256) {
        return AllowanceLib.available(caps, s, timestamp);
    }
}

/// @notice Issue 15, the allowance arithmetic alone: streams (initial amount, then a rate up to a maximum) and
/// periodic windows anchored at a start time, each boundary on both sides, and both against a model.
contract AllowanceLibTest is Test {
    AllowanceHarness internal lib;
    address internal constant ASSET = address(0xa55e7);
    uint256 internal constant S = 1_800_000_000; // a start time

    function setUp() public {
        lib = new AllowanceHarness();
    }

    function _stream(uint256 initial, uint256 rate, uint256 max) internal pure returns (Caps, SpendState) {
        return (CapsLib.pack(rate, max, 0, 1), SpendStateLib.packStream(initial, 0, S));
    }

    function _exceeded(uint256 attempted, uint256 limit) internal pure returns (bytes memory) {
        return abi.encodeWithSelector(IPolicyHook.SpendLimitExceeded.selector, ASSET, 3, attempted, limit);
    }

    function test_allowanceLib_streamReleasesInitialThenRatePerSecondUpToMax() public view {
        (Caps caps, SpendState s) = _stream(10, 3, 40);
        assertEq(lib.released(caps, s, S - 1), 0, "nothing before the start");
        assertEq(lib.released(caps, s, S), 10, "the initial amount at the start");
        assertEq(lib.released(caps, s, S + 1), 13);
        assertEq(lib.released(caps, s, S + 9), 37, "one second before the maximum");
        assertEq(lib.released(caps, s, S + 10), 40, "the maximum");
        assertEq(lib.released(caps, s, S + 11), 40, "never past the maximum");
        assertEq(lib.released(caps, s, type(uint40).max), 40);
        // No maximum: the rate goes on.
        (caps, s) = _stream(10, 3, 0);
        assertEq(lib.released(caps, s, S + 1000), 3010);
    }

    function test_allowanceLib_streamSpendsExactlyTheAvailableNotOneMore() public {
        (Caps caps, SpendState s) = _stream(10, 3, 40);
        vm.expectRevert(abi.encodeWithSelector(IPolicyHook.AllowanceNotStarted.selector, ASSET, S));
        lib.charge(caps, s, 1, S - 1);
        vm.expectRevert(_exceeded(11, 10));
        lib.charge(caps, s, 11, S);
        s = lib.charge(caps, s, 10, S);
        assertEq(s.total(), 10);
        assertEq(s.initialAmount(), 10, "the initial amount is configuration, not spending");
        vm.expectRevert(_exceeded(11, 10));
        lib.charge(caps, s, 1, S);
        // Accrued at S + 4: 22 released, 12 available; one second earlier 19 (9 available).
        vm.expectRevert(_exceeded(20, 19));
        lib.charge(caps, s, 10, S + 3);
        assertEq(lib.available(caps, s, S + 3), 9);
        assertEq(lib.available(caps, s, S + 4), 12);
        s = lib.charge(caps, s, 12, S + 4);
        vm.expectRevert(_exceeded(23, 22));
        lib.charge(caps, s, 1, S + 4);
        // The maximum, reached at S + 10: 18 more, never 19.
        vm.expectRevert(_exceeded(41, 40));
        lib.charge(caps, s, 19, S + 1 days);
        s = lib.charge(caps, s, 18, S + 1 days);
        assertEq(s.total(), 40);
        assertEq(lib.available(caps, s, type(uint40).max), 0);
    }

    function test_allowanceLib_streamRefundGivesBackSpendingOnly() public view {
        (Caps caps, SpendState s) = _stream(10, 0, 0);
        s = lib.charge(caps, s, 7, S);
        s = lib.refund(s, 7);
        assertEq(s.total(), 0);
        assertEq(s.initialAmount(), 10);
        assertTrue(s.isStream());
        assertEq(s.windowStart(), S);
        // Never below zero, and never into the initial amount.
        s = lib.refund(s, 100);
        assertEq(s.total(), 0);
        assertEq(s.initialAmount(), 10);
        assertEq(lib.available(caps, s, S), 10);
    }

    /// @dev A huge rate with no maximum: the counter refuses past 2^96 - 1 instead of wrapping.
    function test_allowanceLib_streamCounterCannotWrap() public {
        uint256 u96 = type(uint96).max;
        (Caps caps, SpendState s) = _stream(0, u96, 0);
        uint256 late = S + 1_000_000;
        s = lib.charge(caps, s, u96, late);
        vm.expectRevert(abi.encodeWithSelector(IPolicyHook.SpendLimitExceeded.selector, ASSET, 2, u96 + 1, u96));
        lib.charge(caps, s, 1, late);
    }

    function test_allowanceLib_periodicWindowsAnchoredAtTheStart() public {
        uint256 period = 100;
        Caps caps = CapsLib.pack(50, 0, period, 1);
        SpendState s = SpendStateLib.pack(0, 0, S);
        bytes memory perPeriod = abi.encodeWithSelector(IPolicyHook.SpendLimitExceeded.selector, ASSET, 1, 51, 50);
        vm.expectRevert(abi.encodeWithSelector(IPolicyHook.AllowanceNotStarted.selector, ASSET, S));
        lib.charge(caps, s, 1, S - 1);
        s = lib.charge(caps, s, 50, S);
        vm.expectRevert(perPeriod);
        lib.charge(caps, s, 1, S + period - 1);
        s = lib.charge(caps, s, 50, S + period);
        assertEq(s.windowStart(), S + period);
        vm.expectRevert(perPeriod);
        lib.charge(caps, s, 1, S + 2 * period - 1);
        // Skipping windows: the next one starts on the grid, not at the spend.
        s = lib.charge(caps, s, 10, S + 7 * period + 33);
        assertEq(s.windowStart(), S + 7 * period);
        assertEq(s.inWindow(), 10);
        assertEq(lib.available(caps, s, S + 7 * period + 99), 40);
        assertEq(lib.available(caps, s, S + 8 * period), 50);
        assertEq(lib.available(caps, s, S - 1), 0);
    }

    /// @dev A stream against a model of ERC-7715's text: released = min(initial + rate * elapsed, max), a spend
    /// passes iff spent + amount <= released.
    function testFuzz_allowanceLib_streamMatchesModel(
        uint64 initial,
        uint64 rate,
        uint64 maxExtra,
        bool hasMax,
        uint64[8] memory amounts,
        uint16[8] memory gaps
    ) public {
        uint256 max = hasMax ? uint256(initial) + maxExtra : 0;
        (Caps caps, SpendState s) = _stream(initial, rate, max);
        uint256 t = S - 3;
        uint256 spent;
        for (uint256 i; i < 8; ++i) {
            t += gaps[i] % 500;
            uint256 released = t < S ? 0 : uint256(initial) + uint256(rate) * (t - S);
            if (max != 0 && released > max) released = max;
            assertEq(lib.released(caps, s, t), released, "released");
            uint256 amount = amounts[i] % (uint256(initial) + uint256(rate) * 50 + 2);
            bool ok = t >= S && spent + amount <= released;
            try lib.charge(caps, s, amount, t) returns (SpendState next) {
                assertTrue(ok, "the library allowed what the model refuses");
                s = next;
                spent += amount;
            } catch {
                assertFalse(ok, "the library refused what the model allows");
            }
            assertEq(s.total(), spent);
        }
    }

    /// @dev Anchored periodic and lifetime caps against a model: windows [S + kP, S + (k+1)P).
    function testFuzz_allowanceLib_periodicMatchesModel(
        uint32 perPeriod,
        uint32 lifetime,
        uint16 period,
        uint32[8] memory amounts,
        uint16[8] memory gaps
    ) public {
        period = uint16(bound(period, 1, 1000));
        perPeriod = uint32(bound(perPeriod, 1, type(uint32).max));
        Caps caps = CapsLib.pack(perPeriod, lifetime, period, 1);
        SpendState s = SpendStateLib.pack(0, 0, S);
        uint256 t = S - 2;
        (uint256 window, uint256 inWindow, uint256 total) = (0, 0, 0);
        for (uint256 i; i < 8; ++i) {
            t += gaps[i] % 1500;
            uint256 amount = amounts[i] % (uint256(perPeriod) + 2);
            bool ok;
            if (t >= S) {
                uint256 w = (t - S) / period;
                if (w != window) (window, inWindow) = (w, 0);
                ok = inWindow + amount <= perPeriod && (lifetime == 0 || total + amount <= lifetime);
            }
            try lib.charge(caps, s, amount, t) returns (SpendState next) {
                assertTrue(ok, "the library allowed what the model refuses");
                s = next;
                (inWindow, total) = (inWindow + amount, total + amount);
                assertEq(s.windowStart(), S + window * period, "window on the grid");
            } catch {
                assertFalse(ok, "the library refused what the model allows");
            }
        }
        assertEq(s.total(), total);
    }
}

/// @notice Issue 15 on chain: token and native streams and anchored periodic caps, on every path, counted on every
/// route today's caps count (value, ERC20ETH, Permit2, approve, increaseAllowance, transferFrom from the account).
contract PolicyHookAllowancesTest is PolicyHookTestBase {
    MockPermit2 internal permit2;
    MockERC20ETH internal eth20;
    /// @dev A token with every counted selector (increaseAllowance, transferFrom by the owner itself).
    AllowanceToken internal tok;

    function setUp() public override {
        super.setUp();
        permit2 = deployPermit2();
        eth20 = deployERC20ETH();
        tok = new AllowanceToken();
        tok.mint(account, 1_000_000e6);
        Call[] memory setup = new Call[](3);
        setup[0] = Call(address(tok), 0, abi.encodeCall(tok.approve, (PERMIT2, type(uint256).max)));
        setup[1] = Call(address(tok), 0, abi.encodeCall(tok.approve, (account, type(uint256).max)));
        setup[2] = Call(
            PERMIT2, 0, abi.encodeCall(permit2.approve, (address(tok), account, type(uint160).max, type(uint48).max))
        );
        rootExecute(setup);
        allow(address(tok), hook.ANY_SELECTOR());
        Call[] memory calls = new Call[](4);
        calls[0] = Call(account, 0, abi.encodeCall(IKeyward.approveNative, (ERC20_ETH, type(uint256).max)));
        calls[1] = Call(ERC20_ETH, 0, abi.encodeCall(eth20.approve, (PERMIT2, type(uint256).max)));
        calls[2] = Call(
            PERMIT2, 0, abi.encodeCall(permit2.approve, (ERC20_ETH, account, type(uint160).max, type(uint48).max))
        );
        calls[3] = Call(address(usdc), 0, abi.encodeCall(usdc.approve, (PERMIT2, type(uint256).max)));
        rootExecute(calls);
        rootExecute(
            one(
                PERMIT2,
                0,
                abi.encodeCall(permit2.approve, (address(usdc), account, type(uint160).max, type(uint48).max))
            )
        );
        allow(address(usdc), hook.ANY_SELECTOR());
        allow(ERC20_ETH, hook.ANY_SELECTOR());
        allow(PERMIT2, hook.ANY_SELECTOR());
        allow(R, hook.EMPTY_CALLDATA());
    }

    function tokenStream(uint96 initial, uint96 rate, uint96 max, uint40 start) internal {
        cfg(abi.encodeCall(IPolicyHook.setTokenStream, (k.keyHash, address(usdc), Stream(initial, rate, max, start))));
    }

    function nativeStream(uint128 perCall, uint96 initial, uint96 rate, uint96 max, uint40 start) internal {
        cfg(abi.encodeCall(IPolicyHook.setNativeStream, (k.keyHash, perCall, Stream(initial, rate, max, start))));
    }

    function _streamed(address asset, uint256 attempted, uint256 limit) internal pure returns (bytes memory) {
        return abi.encodeWithSelector(IPolicyHook.SpendLimitExceeded.selector, asset, 3, attempted, limit);
    }

    function _notStarted(address asset, uint256 start) internal pure returns (bytes memory) {
        return abi.encodeWithSelector(IPolicyHook.AllowanceNotStarted.selector, asset, start);
    }

    /// @dev Every route that moves or approves `amount` of `tok` from the account.
    function _tokenRoutes(uint256 amount) internal view returns (Call[] memory c) {
        c = new Call[](6);
        c[0] = Call(address(tok), 0, abi.encodeCall(tok.transfer, (R, amount)));
        c[1] = Call(address(tok), 0, abi.encodeCall(tok.approve, (OTHER, amount)));
        c[2] = Call(address(tok), 0, abi.encodeCall(tok.increaseAllowance, (OTHER, amount)));
        c[3] = Call(address(tok), 0, abi.encodeCall(tok.transferFrom, (account, R, amount)));
        c[4] = Call(PERMIT2, 0, abi.encodeCall(permit2.approve, (address(tok), OTHER, uint160(amount), 0)));
        c[5] = Call(PERMIT2, 0, abi.encodeCall(permit2.transferFrom, (account, R, uint160(amount), address(tok))));
    }

    /// @dev Every route that moves or approves `amount` of native value.
    function _nativeRoutes(uint256 amount) internal view returns (Call[] memory c) {
        c = new Call[](7);
        c[0] = Call(R, amount, "");
        c[1] = Call(ERC20_ETH, 0, abi.encodeCall(eth20.transfer, (R, amount)));
        c[2] = Call(ERC20_ETH, 0, abi.encodeCall(eth20.transferFrom, (account, R, amount)));
        c[3] = Call(ERC20_ETH, 0, abi.encodeCall(eth20.approve, (OTHER, amount)));
        c[4] = Call(ERC20_ETH, 0, abi.encodeCall(eth20.increaseAllowance, (OTHER, amount)));
        c[5] = Call(PERMIT2, 0, abi.encodeCall(permit2.approve, (ERC20_ETH, OTHER, uint160(amount), 0)));
        c[6] = Call(PERMIT2, 0, abi.encodeCall(permit2.transferFrom, (account, R, uint160(amount), ERC20_ETH)));
    }

    function _one(Call memory c) internal pure returns (Call[] memory calls) {
        calls = new Call[](1);
        calls[0] = c;
    }

    // ------------------------------------------------------------------------------------------------------------
    // Streams
    // ------------------------------------------------------------------------------------------------------------

    /// @dev The token stream's boundaries on every path: nothing before the start, the initial amount at it, the
    /// accrued amount one second before and at a time, exactly the available amount but not one more, the maximum.
    function test_stream_tokenBoundariesOnEveryPath() public {
        uint40 s = uint40(block.timestamp + 100);
        tokenStream(10e6, 1e6, 50e6, s);
        for (uint256 p; p < 4; ++p) {
            uint256 snap = vm.snapshotState();
            vm.warp(s - 1);
            expectRun(Path(p), transferCall(R, 1), _notStarted(address(usdc), s));
            vm.warp(s);
            expectRun(Path(p), transferCall(R, 10e6 + 1), _streamed(address(usdc), 10e6 + 1, 10e6));
            expectRun(Path(p), transferCall(R, 10e6), "");
            vm.warp(s + 4); // released 14: 4 available; at s + 5, 5
            expectRun(Path(p), transferCall(R, 5e6), _streamed(address(usdc), 15e6, 14e6));
            vm.warp(s + 5);
            expectRun(Path(p), transferCall(R, 5e6), "");
            expectRun(Path(p), transferCall(R, 1), _streamed(address(usdc), 15e6 + 1, 15e6));
            vm.warp(s + 39); // released 49 (one second before the maximum)
            expectRun(Path(p), transferCall(R, 35e6), _streamed(address(usdc), 50e6, 49e6));
            vm.warp(s + 10 days); // released 50: the maximum
            expectRun(Path(p), transferCall(R, 35e6), "");
            expectRun(Path(p), transferCall(R, 1), _streamed(address(usdc), 50e6 + 1, 50e6));
            assertEq(usdc.balanceOf(R), 50e6);
            StreamPolicy memory view_ = hook.getStream(account, k.keyHash, address(usdc));
            assertEq(view_.spent, 50e6);
            assertEq(view_.available, 0);
            vm.revertToState(snap);
        }
    }

    /// @dev Every counted route draws the same token stream, at its boundary.
    function test_stream_everyTokenRouteDrawsTheStream() public {
        cfg(abi.encodeCall(IPolicyHook.setTokenStream, (k.keyHash, address(tok), Stream(6e6, 0, 0, 0))));
        Call[] memory routes = _tokenRoutes(1e6);
        for (uint256 i; i < routes.length; ++i) {
            asKey(_one(routes[i]));
        }
        assertEq(hook.getStream(account, k.keyHash, address(tok)).spent, 6e6);
        assertEq(tok.balanceOf(R), 3e6); // transfer, transferFrom, Permit2 transferFrom
        Call[] memory more = _tokenRoutes(1);
        for (uint256 i; i < more.length; ++i) {
            asKeyExpectRevert(_one(more[i]), _streamed(address(tok), 6e6 + 1, 6e6));
        }
        // A transferFrom of someone else's tokens is not the account's spending (as with periodic caps).
        tok.mint(OTHER, 5e6);
        vm.prank(OTHER);
        tok.approve(account, 5e6);
        asKey(one(address(tok), 0, abi.encodeCall(tok.transferFrom, (OTHER, R, 5e6))));
        assertEq(tok.balanceOf(R), 8e6);
    }

    /// @dev A native stream: plain value, ERC20ETH and Permit2 naming ERC20ETH draw it; the per-call cap stays.
    function test_stream_nativeEveryRouteOnEveryPath() public {
        uint40 s = uint40(block.timestamp);
        nativeStream(2 ether, 7 ether, 0.5 ether, 0, 0);
        Call[] memory routes = _nativeRoutes(1 ether);
        bytes memory perCall =
            abi.encodeWithSelector(IPolicyHook.SpendLimitExceeded.selector, address(0), 0, 2 ether + 1, 2 ether);
        expectRun(Path.Direct, one(R, 2 ether + 1, ""), perCall);
        for (uint256 i; i < routes.length; ++i) {
            expectRun(Path(i % 4), _one(routes[i]), "");
        }
        expectRun(Path.UserOp, one(R, 1, ""), _streamed(address(0), 7 ether + 1, 7 ether));
        vm.warp(s + 1);
        expectRun(Path.Relayed, _one(_nativeRoutes(0.5 ether)[6]), "");
        expectRun(Path.Direct, _one(_nativeRoutes(1)[1]), _streamed(address(0), 7.5 ether + 1, 7.5 ether));
        StreamPolicy memory v = hook.getStream(account, k.keyHash, address(0));
        assertTrue(v.streaming);
        assertEq(v.stream.startTime, s, "start time 0 is the configuration's time");
        assertEq(v.spent, 7.5 ether);
        assertEq(v.available, 0);
        assertEq(hook.getNative(account, k.keyHash).perCall, 2 ether);
        assertEq(hook.getNative(account, k.keyHash).spend.total, 7.5 ether);
    }

    /// @dev A failed call gives back what it drew, never more: failing again and again mints no allowance and
    /// uses none.
    function test_stream_failedCallsGiveBackOnlyTheirDraw() public {
        tokenStream(10e6, 0, 0, 0);
        rootExecute(one(address(usdc), 0, abi.encodeCall(usdc.transfer, (OTHER, usdc.balanceOf(account) - 4e6))));
        Call[] memory calls = new Call[](3);
        calls[0] = transferCall(R, 5e6)[0]; // fails: the account holds 4
        calls[1] = transferCall(R, 5e6)[0];
        calls[2] = transferCall(R, 3e6)[0]; // moves in the first run only
        for (uint256 i; i < 5; ++i) {
            (bool ok,) = run(Path.Direct, k, calls, false);
            assertTrue(ok);
        }
        assertEq(usdc.balanceOf(R), 3e6);
        StreamPolicy memory v = hook.getStream(account, k.keyHash, address(usdc));
        assertEq(v.spent, 3e6, "only what moved stays drawn");
        assertEq(v.stream.initialAmount, 10e6);
        assertEq(v.available, 7e6);
        // Funded again: exactly the rest, not one more.
        usdc.mint(account, 100e6);
        asKeyExpectRevert(transferCall(R, 7e6 + 1), _streamed(address(usdc), 10e6 + 1, 10e6));
        asKey(transferCall(R, 7e6));
    }

    function test_stream_configuration() public {
        // A maximum below the initial amount, ERC20ETH or a wildcard as a token: refused, nothing stored.
        bytes memory bad = abi.encodeWithSelector(IPolicyHook.InvalidConfiguration.selector);
        bytes memory wrapped = abi.encodeWithSelector(IKeyward.CallFailed.selector, bad);
        Call[] memory c = one(
            address(hook),
            0,
            abi.encodeCall(IPolicyHook.setTokenStream, (k.keyHash, address(usdc), Stream(10, 1, 9, 0)))
        );
        vm.prank(account);
        vm.expectRevert(wrapped);
        acct.execute(MODE_REVERT, abi.encode(c));
        c[0].data = abi.encodeCall(IPolicyHook.setTokenStream, (k.keyHash, ERC20_ETH, Stream(1, 1, 0, 0)));
        vm.prank(account);
        vm.expectRevert(wrapped);
        acct.execute(MODE_REVERT, abi.encode(c));
        c[0].data = abi.encodeCall(IPolicyHook.setNativeStream, (k.keyHash, 0, Stream(10, 1, 9, 0)));
        vm.prank(account);
        vm.expectRevert(wrapped);
        acct.execute(MODE_REVERT, abi.encode(c));
        assertFalse(hook.getStream(account, k.keyHash, address(usdc)).streaming);
        // Maximum equal to the initial amount is a fixed allowance; the event echoes the resolved start time.
        vm.expectEmit(address(hook));
        emit IPolicyHook.TokenStreamSet(account, k.keyHash, address(usdc), Stream(5, 0, 5, uint40(block.timestamp)));
        tokenStream(5, 0, 5, 0);
        // The periodic views show a stream's maximum as its lifetime cap.
        Limits memory limits = hook.getToken(account, k.keyHash, address(usdc)).limits;
        assertEq(limits.lifetime, 5);
        assertEq(limits.perPeriod, 0);
        assertEq(limits.period, 0);
        // Replacing the stream by periodic caps (and back) restarts spending, like any limit change.
        asKey(transferCall(R, 5));
        tokenLimit(address(usdc), 100, DAY, 0);
        assertFalse(hook.getStream(account, k.keyHash, address(usdc)).streaming);
        asKey(transferCall(R, 100));
        tokenStream(5, 0, 0, 0);
        asKey(transferCall(R, 5));
        // Removing the token removes its stream (the token is then unlimited: allowed by its rules, uncounted).
        cfg(abi.encodeCall(IPolicyHook.setTokenLimit, (k.keyHash, address(usdc), false, Limits(0, 0, 0))));
        assertFalse(hook.getStream(account, k.keyHash, address(usdc)).streaming);
        // Native: disabling turns the stream off too.
        nativeStream(0, 1 ether, 0, 0, 0);
        assertTrue(hook.getStream(account, k.keyHash, address(0)).streaming);
        nativeLimits(false, 0, 0, 0, 0);
        assertFalse(hook.getStream(account, k.keyHash, address(0)).streaming);
        asKeyExpectRevert(one(R, 1, ""), abi.encodeWithSelector(IPolicyHook.NativeValueNotAllowed.selector));
    }

    /// @dev Attack: before a stream starts, no route gets anything out (token and native).
    function test_streamAttack_beforeTheStartNoRouteSpends() public {
        uint40 s = uint40(block.timestamp + 1 hours);
        cfg(abi.encodeCall(IPolicyHook.setTokenStream, (k.keyHash, address(tok), Stream(10e6, 1, 0, s))));
        nativeStream(0, 1 ether, 1, 0, s);
        Call[] memory routes = _tokenRoutes(1);
        for (uint256 i; i < routes.length; ++i) {
            asKeyExpectRevert(_one(routes[i]), _notStarted(address(tok), s));
        }
        routes = _nativeRoutes(1);
        for (uint256 i; i < routes.length; ++i) {
            asKeyExpectRevert(_one(routes[i]), _notStarted(address(0), s));
        }
        assertEq(hook.getStream(account, k.keyHash, address(tok)).available, 0);
        vm.warp(s);
        assertEq(hook.getStream(account, k.keyHash, address(tok)).available, 10e6);
        assertEq(hook.getStream(account, k.keyHash, address(0)).available, 1 ether);
    }

    /// @dev Attack: the key resets its own stream through the hook's configuration: the hook is never callable by
    /// its keys.
    function test_streamAttack_keyCannotReconfigureItsStream() public {
        tokenStream(1e6, 0, 0, 0);
        allow(address(hook), hook.ANY_SELECTOR());
        Call[] memory reset = one(
            address(hook),
            0,
            abi.encodeCall(
                IPolicyHook.setTokenStream, (k.keyHash, address(usdc), Stream(type(uint96).max, type(uint96).max, 0, 0))
            )
        );
        for (uint256 p; p < 4; ++p) {
            expectRun(Path(p), reset, abi.encodeWithSelector(IPolicyHook.SelfCallDenied.selector, address(hook)));
        }
        assertEq(hook.getStream(account, k.keyHash, address(usdc)).stream.initialAmount, 1e6);
    }

    /// @dev Fuzz on chain: random transfers and waits against the stream model.
    function testFuzz_stream_onChainMatchesModel(uint32[6] memory amounts, uint16[6] memory gaps) public {
        uint256 s = block.timestamp + 10;
        tokenStream(1000, 7, 5000, uint40(s));
        uint256 spent;
        for (uint256 i; i < 6; ++i) {
            vm.warp(block.timestamp + gaps[i] % 400);
            uint256 t = block.timestamp;
            uint256 released = t < s ? 0 : 1000 + 7 * (t - s);
            if (released > 5000) released = 5000;
            uint256 amount = amounts[i] % 1500;
            // A zero amount spends nothing, so it passes at any time (as under periodic caps).
            bool ok = amount == 0 || (t >= s && spent + amount <= released);
            (bool done,) = run(Path.Direct, transferCall(R, amount));
            assertEq(done, ok, "hook and model disagree");
            if (ok) spent += amount;
        }
        assertEq(usdc.balanceOf(R), spent);
    }

    // ------------------------------------------------------------------------------------------------------------
    // Periodic caps anchored at a start time
    // ------------------------------------------------------------------------------------------------------------

    /// @dev Windows from the start time, both sides of each edge, on every path; nothing before the start.
    function test_anchored_tokenWindowEdgesOnEveryPath() public {
        uint40 s = uint40(block.timestamp + 3 hours);
        vm.expectEmit(address(hook));
        emit IPolicyHook.LimitsStartSet(account, k.keyHash, address(usdc), s);
        cfg(abi.encodeCall(IPolicyHook.setTokenLimitFrom, (k.keyHash, address(usdc), Limits(100e6, 0, DAY), s)));
        bytes memory full =
            abi.encodeWithSelector(IPolicyHook.SpendLimitExceeded.selector, address(usdc), 1, 100e6 + 1, 100e6);
        for (uint256 p; p < 4; ++p) {
            uint256 snap = vm.snapshotState();
            vm.warp(s - 1);
            expectRun(Path(p), transferCall(R, 1), _notStarted(address(usdc), s));
            vm.warp(s);
            expectRun(Path(p), transferCall(R, 100e6), "");
            expectRun(Path(p), transferCall(R, 1), full);
            vm.warp(s + DAY - 1);
            expectRun(Path(p), transferCall(R, 1), full);
            vm.warp(s + DAY);
            expectRun(Path(p), transferCall(R, 100e6), "");
            vm.warp(s + 2 * DAY - 1);
            expectRun(Path(p), transferCall(R, 1), full);
            vm.warp(s + 2 * DAY);
            expectRun(Path(p), transferCall(R, 1), "");
            assertEq(hook.getToken(account, k.keyHash, address(usdc)).spend.windowStart, s + 2 * DAY);
            vm.revertToState(snap);
        }
    }

    /// @dev A start time in the past aligns the windows (say, to midnight): the window edge is not configuration
    /// time plus a period.
    function test_anchored_pastStartAlignsTheWindows() public {
        uint256 t0 = block.timestamp;
        uint40 midnight = uint40(t0 - (t0 % DAY));
        cfg(abi.encodeCall(IPolicyHook.setTokenLimitFrom, (k.keyHash, address(usdc), Limits(100e6, 0, DAY), midnight)));
        asKey(transferCall(R, 100e6));
        bytes memory full =
            abi.encodeWithSelector(IPolicyHook.SpendLimitExceeded.selector, address(usdc), 1, 100e6 + 1, 100e6);
        vm.warp(midnight + DAY - 1);
        asKeyExpectRevert(transferCall(R, 1), full);
        vm.warp(midnight + DAY); // before configuration time + a day
        assertLt(block.timestamp, t0 + DAY);
        asKey(transferCall(R, 100e6));
        // The unanchored setter keeps today's meaning: windows from the configuration's time.
        tokenLimit(address(usdc), 100e6, DAY, 0);
        assertEq(hook.getToken(account, k.keyHash, address(usdc)).spend.windowStart, block.timestamp);
    }

    /// @dev Native value, anchored: every route, both sides of the start and of the first window edge.
    function test_anchored_nativeWindowEdgesEveryRoute() public {
        uint40 s = uint40(block.timestamp + 1 days);
        cfg(abi.encodeCall(IPolicyHook.setNativeLimitsFrom, (k.keyHash, true, 0, Limits(7 ether, 0, 1 hours), s)));
        Call[] memory routes = _nativeRoutes(1 ether);
        vm.warp(s - 1);
        for (uint256 i; i < routes.length; ++i) {
            asKeyExpectRevert(_one(routes[i]), _notStarted(address(0), s));
        }
        vm.warp(s);
        for (uint256 i; i < routes.length; ++i) {
            asKey(_one(routes[i]));
        }
        bytes memory full =
            abi.encodeWithSelector(IPolicyHook.SpendLimitExceeded.selector, address(0), 1, 7 ether + 1, 7 ether);
        asKeyExpectRevert(one(R, 1, ""), full);
        vm.warp(s + 1 hours - 1);
        asKeyExpectRevert(one(R, 1, ""), full);
        vm.warp(s + 1 hours);
        asKey(one(R, 7 ether, ""));
        assertEq(hook.getNative(account, k.keyHash).spend.windowStart, s + 1 hours);
    }

    /// @dev A lifetime-only allowance (ERC-7715 `*-allowance` with a `startTime`): nothing before the start, then
    /// the total.
    function test_anchored_lifetimeOnlyWaitsForTheStart() public {
        uint40 s = uint40(block.timestamp + 60);
        cfg(abi.encodeCall(IPolicyHook.setTokenLimitFrom, (k.keyHash, address(usdc), Limits(0, 5e6, 0), s)));
        vm.warp(s - 1);
        asKeyExpectRevert(transferCall(R, 1), _notStarted(address(usdc), s));
        vm.warp(s);
        asKey(transferCall(R, 5e6));
        asKeyExpectRevert(
            transferCall(R, 1),
            abi.encodeWithSelector(IPolicyHook.SpendLimitExceeded.selector, address(usdc), 2, 5e6 + 1, 5e6)
        );
    }

    /// @dev Configuration errors of the anchored setters: a per-period cap needs a period.
    function test_anchored_configuration() public {
        bytes memory wrapped = abi.encodeWithSelector(
            IKeyward.CallFailed.selector, abi.encodeWithSelector(IPolicyHook.InvalidConfiguration.selector)
        );
        Call[] memory c = one(
            address(hook),
            0,
            abi.encodeCall(IPolicyHook.setTokenLimitFrom, (k.keyHash, address(usdc), Limits(1, 0, 0), 0))
        );
        vm.prank(account);
        vm.expectRevert(wrapped);
        acct.execute(MODE_REVERT, abi.encode(c));
        c[0].data = abi.encodeCall(IPolicyHook.setNativeLimitsFrom, (k.keyHash, true, 0, Limits(1, 0, 0), 0));
        vm.prank(account);
        vm.expectRevert(wrapped);
        acct.execute(MODE_REVERT, abi.encode(c));
        // Start time 0: now.
        cfg(abi.encodeCall(IPolicyHook.setTokenLimitFrom, (k.keyHash, address(usdc), Limits(1, 0, DAY), 0)));
        assertEq(hook.getToken(account, k.keyHash, address(usdc)).spend.windowStart, block.timestamp);
    }
}
