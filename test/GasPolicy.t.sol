// SPDX-License-Identifier: MIT
pragma solidity ^0.8.30;

import {Call, GasBudget, GasSpent, IKeyward, PackedUserOperation} from "../contracts/interfaces/IKeyward.sol";
import {IPolicyHook, RuleState} from "../contracts/interfaces/IPolicyHook.sol";
import {GasBudgetLib} from "../contracts/libraries/GasBudgetLib.sol";
import {KeywardTestBase, TestKey} from "./utils/KeywardTestBase.sol";
import {Target} from "./utils/MockHook.sol";

/// @notice Issue 13, item 1: gas is spend. What a session key can make the account pay in ERC-4337 fees (from its
/// balance or its EntryPoint deposit) is bounded: the PolicyHook refuses operations the account would pay for
/// (unless the key has a gas budget), SPONSORED_ONLY makes the account itself require a paymaster, GAS_BUDGET
/// charges each operation's maximum cost to a per-period and lifetime budget. Hook-less keys without flags keep
/// Calibur's semantics.
contract GasPolicyTest is KeywardTestBase {
    bytes32 internal constant ROOT = 0x1076cd6b71505057374da297140aa7db56153a63bd050936b89a9cd15467dc00;
    uint40 internal constant PERIOD = 1 hours;
    /// @dev (verificationGasLimit + callGasLimit + preVerificationGas) of the fixture's user operations.
    uint256 internal constant OP_GAS = 1_000_000 + 1_000_000 + 50_000;
    uint256 internal constant FEE = 1 gwei;
    uint256 internal constant COST = OP_GAS * FEE;

    Target internal target;
    TestKey internal k;
    address internal attacker;

    function setUp() public override {
        super.setUp();
        target = new Target();
        k = secp256k1Key("agent");
        attacker = k.signer;
    }

    function _bump() internal view returns (Call[] memory) {
        return one(address(target), 0, abi.encodeCall(Target.bump, ()));
    }

    /// @dev An unsponsored operation by `k` paying `fee` per gas, charged to `window` (no window word when
    /// `window` is type(uint256).max).
    function _op(uint256 fee, uint256 window) internal view returns (PackedUserOperation memory op) {
        op = userOp(_bump());
        op.gasFees = bytes32((fee << 128) | fee);
        bytes memory sig = sign(k, entryPoint.getUserOpHash(op));
        op.signature = window == type(uint256).max
            ? abi.encode(k.keyHash, sig, bytes(""))
            : abi.encode(k.keyHash, sig, bytes(""), window);
    }

    function _validate(PackedUserOperation memory op) internal returns (uint256) {
        bytes32 h = entryPoint.getUserOpHash(op);
        vm.prank(ENTRY_POINT);
        return acct.validateUserOp(op, h, 0);
    }

    function _expectValidateRevert(PackedUserOperation memory op, bytes memory err) internal {
        bytes32 h = entryPoint.getUserOpHash(op);
        vm.prank(ENTRY_POINT);
        vm.expectRevert(err);
        acct.validateUserOp(op, h, 0);
    }

    function _expectAA23(bytes memory inner) internal {
        vm.expectRevert(abi.encodeWithSignature("FailedOpWithRevert(uint256,string,bytes)", 0, "AA23 reverted", inner));
    }

    function _setBudget(uint96 perPeriod, uint40 period, uint96 lifetime) internal {
        rootCall(abi.encodeCall(IKeyward.setGasBudget, (k.keyHash, GasBudget(perPeriod, period, lifetime))));
    }

    function _spent() internal view returns (GasSpent memory spent) {
        (, spent) = acct.gasBudget(k.keyHash);
    }

    function _window() internal view returns (uint256) {
        return block.timestamp / PERIOD;
    }

    /// @dev validationData of gas window `w`: valid from w * PERIOD through (w + 1) * PERIOD - 1.
    function _windowVd(uint256 w) internal pure returns (uint256) {
        return (((w + 1) * PERIOD - 1) << 160) | ((w == 0 ? 0 : w * PERIOD - 1) << 208);
    }

    /// @dev The account's gas-account slots for `keyHash` (budget, then spent): `gas` is the 6th field of the
    /// namespace's layout.
    function _gasSlot(bytes32 keyHash) internal view returns (bytes32) {
        return keccak256(abi.encode(acct.keyIdOf(keyHash), uint256(ROOT) + 5));
    }

    // ------------------------------------------------------------------------------------------------------------
    // The attack: a session key bundling its own operation with a huge fee
    // ------------------------------------------------------------------------------------------------------------

    /// @dev The issue's exploit: a PolicyHook key with native value disabled (the default) signs an operation with
    /// a huge preVerificationGas and fee and submits it itself as the beneficiary. On b65280f it validated and the
    /// account paid the prefund (97 of its 100 ETH, then its EntryPoint deposit). Now the PolicyHook refuses it in
    /// validation (no paymaster, no gas budget): nothing moves.
    function test_gasAttack_policyHookKey_cannotTakeTheAccountsEth() public {
        IPolicyHook hook = deployPolicyHook();
        Call[] memory setup = new Call[](3);
        setup[0] = Call(address(0), 0, abi.encodeCall(IKeyward.grant, (k.key, policySettings(hook, 0))));
        setup[1] = Call(
            address(hook),
            0,
            abi.encodeCall(IPolicyHook.setCallRule, (k.keyHash, address(target), Target.bump.selector, RuleState.Allow))
        );
        setup[2] = allowSponsorCall(hook, k);
        rootExecute(setup);
        entryPoint.depositTo{value: 5 ether}(account);
        uint256 balance = account.balance;
        uint256 deposit = entryPoint.balanceOf(account);
        PackedUserOperation memory op = userOp(_bump());
        op.preVerificationGas = 95_000_000;
        op.gasFees = bytes32((uint256(1000 gwei) << 128) | 1000 gwei); // max cost ~97 ETH
        signUserOp(k, op);
        _expectAA23(abi.encodeWithSelector(IPolicyHook.PaymasterRequired.selector));
        vm.prank(attacker, attacker);
        entryPoint.handleOps(_ops(op), payable(attacker));
        assertEq(account.balance, balance, "the account's ETH");
        assertEq(entryPoint.balanceOf(account), deposit, "the account's deposit");
        assertEq(attacker.balance, 0, "the attacker got nothing");
        // The same operation behind a paymaster is the paymaster's cost, never the account's.
        op = sponsored(userOp(_bump()));
        op.gasFees = bytes32((uint256(1 gwei) << 128) | 1 gwei);
        signUserOp(k, op);
        vm.prank(attacker, attacker);
        entryPoint.handleOps(_ops(op), payable(attacker));
        assertEq(target.counter(), 1);
        assertEq(account.balance, balance);
        assertEq(entryPoint.balanceOf(account), deposit);
    }

    /// @dev The same attack by a key with a gas budget: at most its budget, so a 97 ETH operation is refused.
    function test_gasAttack_budgetedKey_boundedByItsBudget() public {
        grant(k, FLAG_GAS_BUDGET);
        _setBudget(0.01 ether, PERIOD, 0.05 ether);
        uint256 balance = account.balance;
        PackedUserOperation memory op = userOp(_bump());
        op.preVerificationGas = 95_000_000;
        op.gasFees = bytes32((uint256(1000 gwei) << 128) | 1000 gwei);
        bytes memory sig = sign(k, entryPoint.getUserOpHash(op));
        op.signature = abi.encode(k.keyHash, sig, bytes(""), _window());
        uint256 cost = (2_000_000 + 95_000_000) * 1000 gwei;
        _expectAA23(abi.encodeWithSelector(IKeyward.GasBudgetExceeded.selector, 2, cost, 0.05 ether));
        vm.prank(attacker, attacker);
        entryPoint.handleOps(_ops(op), payable(attacker));
        assertEq(account.balance, balance);
        assertEq(attacker.balance, 0);
    }

    function _ops(PackedUserOperation memory op) internal pure returns (PackedUserOperation[] memory ops) {
        ops = new PackedUserOperation[](1);
        ops[0] = op;
    }

    // ------------------------------------------------------------------------------------------------------------
    // The PolicyHook's default, and hook-less keys
    // ------------------------------------------------------------------------------------------------------------

    function test_policyHook_requiresPaymasterUnlessGasBudget() public {
        IPolicyHook hook = deployPolicyHook();
        grant(k, policySettings(hook, 0));
        _expectValidateRevert(_op(0, type(uint256).max), abi.encodeWithSelector(IPolicyHook.PaymasterRequired.selector));
        // Sponsored by a paymaster it may not use (none is listed yet): refused.
        PackedUserOperation memory op = sponsored(userOp(_bump()));
        signUserOp(k, op);
        _expectValidateRevert(op, abi.encodeWithSelector(IPolicyHook.PaymasterNotAllowed.selector, address(sponsor)));
        // Sponsored by a listed paymaster: fine.
        Call[] memory list = new Call[](1);
        list[0] = allowSponsorCall(hook, k);
        rootExecute(list);
        assertEq(_validate(op), 0);
        // With GAS_BUDGET in the settings the hook leaves it to the account's budget.
        rootCall(abi.encodeCall(IKeyward.update, (k.keyHash, policySettings(hook, 0) | FLAG_GAS_BUDGET)));
        _setBudget(uint96(COST), PERIOD, 0);
        assertEq(_validate(_op(FEE, _window())), _windowVd(_window()));
        assertEq(_spent().total, COST);
    }

    /// @dev A hook-less key without flags is unrestricted anyway: it pays as in Calibur (the account sends the
    /// prefund) and nothing is recorded for it.
    function test_hooklessKey_keepsCaliburSemantics() public {
        grant(k, 0);
        uint256 balance = account.balance;
        PackedUserOperation memory op = _op(FEE, type(uint256).max);
        vm.record();
        bytes32 h = entryPoint.getUserOpHash(op);
        vm.prank(ENTRY_POINT);
        assertEq(acct.validateUserOp(op, h, COST), 0);
        (, bytes32[] memory writes) = vm.accesses(account);
        assertEq(writes.length, 0, "no storage write in validation");
        assertEq(account.balance, balance - COST, "the account paid the prefund");
    }

    // ------------------------------------------------------------------------------------------------------------
    // SPONSORED_ONLY
    // ------------------------------------------------------------------------------------------------------------

    function test_sponsoredOnly_refusesUnsponsoredOperations() public {
        grant(k, FLAG_SPONSORED_ONLY);
        bytes memory err = abi.encodeWithSelector(IKeyward.PaymasterRequired.selector);
        _expectValidateRevert(_op(0, type(uint256).max), err);
        _expectValidateRevert(_op(FEE, type(uint256).max), err);
        // A zero paymaster address, or fewer than 20 bytes, is no paymaster.
        PackedUserOperation memory op = userOp(_bump());
        op.paymasterAndData = abi.encodePacked(address(0), uint128(100_000), uint128(0));
        signUserOp(k, op);
        _expectValidateRevert(op, err);
        op.paymasterAndData = abi.encodePacked(bytes19(bytes20(address(sponsor))));
        signUserOp(k, op);
        _expectValidateRevert(op, err);
        // Through the EntryPoint.
        op = _op(FEE, type(uint256).max);
        _expectAA23(err);
        handle(op);
        // Sponsored: accepted, and the account pays nothing.
        uint256 balance = account.balance;
        op = sponsored(userOp(_bump()));
        op.gasFees = bytes32((FEE << 128) | FEE);
        signUserOp(k, op);
        handle(op);
        assertEq(target.counter(), 1);
        assertEq(account.balance, balance);
    }

    /// @dev SPONSORED_ONLY wins over a gas budget.
    function test_sponsoredOnly_beatsGasBudget() public {
        grant(k, FLAG_SPONSORED_ONLY | FLAG_GAS_BUDGET);
        _setBudget(1 ether, PERIOD, 1 ether);
        _expectValidateRevert(_op(FEE, _window()), abi.encodeWithSelector(IKeyward.PaymasterRequired.selector));
        assertEq(_spent().total, 0);
    }

    /// @dev A sponsored operation of a key with a gas policy reads and writes nothing for it (no storage write at
    /// all in validation; the gas-account slots are not even read).
    function test_gasPolicy_sponsoredOperationWritesNothing() public {
        uint256[3] memory flags = [FLAG_SPONSORED_ONLY, FLAG_GAS_BUDGET, FLAG_SPONSORED_ONLY | FLAG_GAS_BUDGET];
        for (uint256 i; i < flags.length; ++i) {
            k = secp256k1Key(string(abi.encode("agent", i)));
            grant(k, flags[i]);
            _setBudget(1 ether, PERIOD, 1 ether);
            bytes32 slot = _gasSlot(k.keyHash);
            assertTrue(vm.load(account, slot) != 0, "the gas-account slot is where the budget lives");
            PackedUserOperation memory op = sponsored(userOp(_bump()));
            op.gasFees = bytes32((FEE << 128) | FEE);
            signUserOp(k, op);
            bytes32 h = entryPoint.getUserOpHash(op);
            vm.record();
            vm.prank(ENTRY_POINT);
            assertEq(acct.validateUserOp(op, h, 0), 0);
            (bytes32[] memory reads, bytes32[] memory writes) = vm.accesses(account);
            assertEq(writes.length, 0, "no storage write");
            for (uint256 j; j < reads.length; ++j) {
                assertTrue(reads[j] != slot && reads[j] != bytes32(uint256(slot) + 1), "gas account not read");
            }
            assertEq(_spent().total, 0);
        }
    }

    // ------------------------------------------------------------------------------------------------------------
    // GAS_BUDGET
    // ------------------------------------------------------------------------------------------------------------

    function test_gasBudget_chargesTheMaximumCost() public {
        grant(k, FLAG_GAS_BUDGET);
        _setBudget(1 ether, PERIOD, 2 ether);
        uint256 w = _window();
        PackedUserOperation memory op = _op(FEE, w);
        op.preVerificationGas = 70_000; // every gas field counts
        op.signature = abi.encode(k.keyHash, sign(k, entryPoint.getUserOpHash(op)), bytes(""), w);
        _validate(op);
        GasSpent memory spent = _spent();
        uint256 cost = (OP_GAS + 20_000) * FEE;
        assertEq(spent.total, cost);
        assertEq(spent.inWindow, cost);
        assertEq(spent.window, w);
        // Through the EntryPoint the account pays at most what was charged.
        uint256 balance = account.balance;
        uint256 deposit = entryPoint.balanceOf(account);
        handle(_op(FEE, w));
        assertEq(target.counter(), 1);
        assertLe(balance + deposit - account.balance - entryPoint.balanceOf(account), COST);
        assertEq(_spent().total, cost + COST);
    }

    /// @dev The per-period cap at its edge: an operation that brings the window's spending to exactly the cap
    /// passes, one more wei over it is refused.
    function test_gasBudget_perPeriodBoundary() public {
        grant(k, FLAG_GAS_BUDGET);
        uint256 w = _window();
        _setBudget(uint96(2 * COST), PERIOD, 0);
        _validate(_op(FEE, w));
        _validate(_op(FEE, w)); // exactly the cap
        assertEq(_spent().inWindow, 2 * COST);
        _expectValidateRevert(
            _op(FEE, w), abi.encodeWithSelector(IKeyward.GasBudgetExceeded.selector, 1, 3 * COST, 2 * COST)
        );
        _setBudget(uint96(2 * COST - 1), PERIOD, 0);
        _validate(_op(FEE, w));
        _expectValidateRevert(
            _op(FEE, w), abi.encodeWithSelector(IKeyward.GasBudgetExceeded.selector, 1, 2 * COST, 2 * COST - 1)
        );
    }

    function test_gasBudget_lifetimeBoundary() public {
        grant(k, FLAG_GAS_BUDGET);
        _setBudget(0, 0, uint96(2 * COST));
        // No per-period cap: validationData is the key's own (not narrowed), the window word is ignored.
        assertEq(_validate(_op(FEE, type(uint256).max)), 0);
        assertEq(_validate(_op(FEE, 12_345)), 0);
        assertEq(_spent().total, 2 * COST);
        _expectValidateRevert(
            _op(FEE, type(uint256).max),
            abi.encodeWithSelector(IKeyward.GasBudgetExceeded.selector, 2, 3 * COST, 2 * COST)
        );
        _setBudget(0, 0, uint96(COST - 1));
        _expectValidateRevert(
            _op(FEE, type(uint256).max), abi.encodeWithSelector(IKeyward.GasBudgetExceeded.selector, 2, COST, COST - 1)
        );
    }

    /// @dev A new window starts its per-period spending at zero; the lifetime total keeps counting.
    function test_gasBudget_newWindowResetsPeriodNotLifetime() public {
        grant(k, FLAG_GAS_BUDGET);
        uint256 w = _window();
        _setBudget(uint96(COST), PERIOD, uint96(3 * COST));
        _validate(_op(FEE, w));
        _expectValidateRevert(
            _op(FEE, w), abi.encodeWithSelector(IKeyward.GasBudgetExceeded.selector, 1, 2 * COST, COST)
        );
        assertEq(_validate(_op(FEE, w + 1)), _windowVd(w + 1));
        assertEq(_spent().inWindow, COST);
        assertEq(_spent().window, w + 1);
        _validate(_op(FEE, w + 2));
        assertEq(_spent().total, 3 * COST);
        _expectValidateRevert(
            _op(FEE, w + 3), abi.encodeWithSelector(IKeyward.GasBudgetExceeded.selector, 2, 4 * COST, 3 * COST)
        );
    }

    /// @dev The window the operation names bounds its validationData: both edges, through the EntryPoint (which
    /// reads validAfter as exclusive and validUntil as inclusive).
    function test_gasBudget_windowEdgesThroughEntryPoint() public {
        grant(k, FLAG_GAS_BUDGET);
        _setBudget(1 ether, PERIOD, 0);
        uint256 w = _window() + 1;
        uint256 start = w * PERIOD;
        uint256 end = (w + 1) * PERIOD - 1;
        assertEq(_validate(_op(FEE, w)), _windowVd(w));
        vm.warp(start - 1);
        PackedUserOperation memory op = _op(FEE, w);
        vm.expectRevert(abi.encodeWithSignature("FailedOp(uint256,string)", 0, "AA22 expired or not due"));
        handle(op);
        vm.warp(start);
        handle(op);
        vm.warp(end);
        handle(_op(FEE, w));
        vm.warp(end + 1);
        op = _op(FEE, w);
        vm.expectRevert(abi.encodeWithSignature("FailedOp(uint256,string)", 0, "AA22 expired or not due"));
        handle(op);
        assertEq(target.counter(), 2);
        // Without the window word, an operation is charged to the window last used, and bounded by it.
        assertEq(_validate(_op(FEE, type(uint256).max)), _windowVd(w));
    }

    /// @dev EntryPoint v0.8's reading of validationData's time range at `t`.
    function _entryPointAccepts(uint256 vd, uint256 t) internal pure returns (bool) {
        uint256 until = uint48(vd >> 160);
        return t > vd >> 208 && (until == 0 || t <= until);
    }

    /// @dev validationData holds 48-bit times: a window whose start lies past 2^48 - 1 seconds must never be valid,
    /// else an operation naming such a window (a fresh one, whose spending starts at zero) would run now and
    /// escape the per-period cap, every time with a new far window. Found while writing these tests: the window's
    /// start was shifted into the validAfter field without a bound, and its high bits fell off.
    function test_gasBudget_farFutureWindow_cannotEscapeThePeriodCap() public {
        grant(k, FLAG_GAS_BUDGET);
        _setBudget(uint96(COST), PERIOD, 0); // a per-period cap only
        uint256 w = _window();
        handle(_op(FEE, w)); // the window's whole budget
        _expectValidateRevert(
            _op(FEE, w), abi.encodeWithSelector(IKeyward.GasBudgetExceeded.selector, 1, 2 * COST, COST)
        );
        uint256 far = (uint256(1) << 48) / PERIOD + 1; // starts just past 2^48 seconds; a valid uint40 window
        assertFalse(_entryPointAccepts(GasBudgetLib.windowValidationData(far, PERIOD), block.timestamp));
        PackedUserOperation memory op = _op(FEE, far);
        vm.expectRevert(abi.encodeWithSignature("FailedOp(uint256,string)", 0, "AA22 expired or not due"));
        handle(op);
        assertEq(target.counter(), 1);
        assertEq(_spent().window, w);
    }

    /// @dev For every window and period, the validationData of a gas window accepts exactly the seconds of that
    /// window that 48-bit times can express (and nothing when the window starts beyond them).
    function testFuzz_windowValidationData_isExactlyTheWindow(uint40 window, uint40 period, uint48 t) public pure {
        vm.assume(period != 0 && t != 0);
        uint256 vd = GasBudgetLib.windowValidationData(window, period);
        uint256 start = uint256(window) * period;
        uint256 end = start + period - 1;
        assertEq(uint160(vd), 0);
        assertEq(_entryPointAccepts(vd, t), t >= start && t <= end, "accepted exactly inside the window");
    }

    /// @dev A budget whose window was never named: an operation without the window word is charged to window 0,
    /// which ended in 1970, so the EntryPoint refuses it as expired.
    function test_gasBudget_noWindowWordOnAFreshBudget_isExpired() public {
        grant(k, FLAG_GAS_BUDGET);
        _setBudget(1 ether, PERIOD, 0);
        assertEq(_validate(_op(FEE, type(uint256).max)), _windowVd(0));
        PackedUserOperation memory op = _op(FEE, type(uint256).max);
        vm.expectRevert(abi.encodeWithSignature("FailedOp(uint256,string)", 0, "AA22 expired or not due"));
        handle(op);
    }

    /// @dev The window's bounds intersect the key's own window.
    function test_gasBudget_windowIntersectsTheKeysWindow() public {
        uint256 w = _window();
        uint40 expiration = uint40(w * PERIOD + 100);
        grant(k, settingsOf(address(0), expiration, false, 0) | FLAG_GAS_BUDGET);
        _setBudget(1 ether, PERIOD, 0);
        assertEq(_validate(_op(FEE, w)), (uint256(expiration) << 160) | ((w * PERIOD - 1) << 208));
    }

    function test_gasBudget_staleWindow_reverts() public {
        grant(k, FLAG_GAS_BUDGET);
        _setBudget(1 ether, PERIOD, 0);
        uint256 w = _window();
        _validate(_op(FEE, w + 1));
        _expectValidateRevert(_op(FEE, w), abi.encodeWithSelector(IKeyward.StaleGasWindow.selector, w, w + 1));
        _validate(_op(FEE, w + 1)); // the current one is fine
        uint256 huge = uint256(type(uint40).max) + 1;
        _expectValidateRevert(_op(FEE, huge), abi.encodeWithSelector(IKeyward.StaleGasWindow.selector, huge, w + 1));
        _validate(_op(FEE, type(uint40).max)); // the largest window a budget can record
        assertEq(_spent().window, type(uint40).max);
    }

    function test_gasBudget_zeroBudgetAllowsNothing() public {
        grant(k, FLAG_GAS_BUDGET);
        bytes memory err = abi.encodeWithSelector(IKeyward.GasBudgetExceeded.selector, 2, COST, 0);
        _expectValidateRevert(_op(FEE, _window()), err); // never set
        _setBudget(0, 0, 0);
        _expectValidateRevert(_op(FEE, _window()), err); // set to zero
        // A free operation (fee 0) costs nothing, but a zero budget still allows nothing.
        _expectValidateRevert(_op(0, _window()), abi.encodeWithSelector(IKeyward.GasBudgetExceeded.selector, 2, 0, 0));
    }

    function test_setGasBudget_resetsSpendingAndEmits() public {
        grant(k, FLAG_GAS_BUDGET);
        _setBudget(uint96(COST), PERIOD, uint96(COST));
        _validate(_op(FEE, _window()));
        assertEq(_spent().total, COST);
        GasBudget memory b = GasBudget(uint96(COST), PERIOD, uint96(COST));
        vm.expectEmit(account);
        emit IKeyward.GasBudgetSet(k.keyHash, b);
        _setBudget(b.perPeriod, b.period, b.lifetime);
        GasSpent memory spent = _spent();
        assertEq(spent.total, 0);
        assertEq(spent.inWindow, 0);
        assertEq(spent.window, 0);
        (GasBudget memory stored,) = acct.gasBudget(k.keyHash);
        assertEq(stored.perPeriod, b.perPeriod);
        assertEq(stored.period, b.period);
        assertEq(stored.lifetime, b.lifetime);
        _validate(_op(FEE, _window()));
    }

    function test_setGasBudget_errors() public {
        vm.startPrank(account);
        vm.expectRevert(IKeyward.KeyDoesNotExist.selector);
        acct.setGasBudget(k.keyHash, GasBudget(0, 0, 1));
        vm.stopPrank();
        grant(k, FLAG_GAS_BUDGET);
        vm.startPrank(account);
        vm.expectRevert(IKeyward.InvalidGasBudget.selector);
        acct.setGasBudget(k.keyHash, GasBudget(1, 0, 0));
        acct.setGasBudget(k.keyHash, GasBudget(0, 0, 1)); // no per-period cap: no period needed
        acct.setGasBudget(k.keyHash, GasBudget(1, 1, 0));
        vm.stopPrank();
        vm.prank(address(0xdead));
        vm.expectRevert(IKeyward.Unauthorized.selector);
        acct.setGasBudget(k.keyHash, GasBudget(0, 0, 100 ether));
        // The key itself cannot raise its own budget.
        vm.prank(k.signer);
        vm.expectRevert(IKeyward.OnlyAdminCanSelfCall.selector);
        acct.execute(
            MODE_REVERT,
            abi.encode(one(address(0), 0, abi.encodeCall(IKeyward.setGasBudget, (k.keyHash, GasBudget(0, 0, 1 ether)))))
        );
        (GasBudget memory b,) = acct.gasBudget(k.keyHash);
        assertEq(b.period, 1);
    }

    /// @dev A revoked and re-granted key (or one re-granted after revokeAll) starts with no budget.
    function test_gasBudget_reRegisteredKeyStartsWithNone() public {
        grant(k, FLAG_GAS_BUDGET);
        _setBudget(1 ether, PERIOD, 1 ether);
        _validate(_op(FEE, _window()));
        rootCall(abi.encodeCall(IKeyward.revoke, (k.keyHash)));
        grant(k, FLAG_GAS_BUDGET);
        (GasBudget memory b, GasSpent memory spent) = acct.gasBudget(k.keyHash);
        assertEq(b.lifetime, 0);
        assertEq(b.perPeriod, 0);
        assertEq(spent.total, 0);
        _expectValidateRevert(
            _op(FEE, _window()), abi.encodeWithSelector(IKeyward.GasBudgetExceeded.selector, 2, COST, 0)
        );
        _setBudget(1 ether, PERIOD, 1 ether);
        rootCall(abi.encodeCall(IKeyward.revokeAll, ()));
        grant(k, FLAG_GAS_BUDGET);
        (b,) = acct.gasBudget(k.keyHash);
        assertEq(b.lifetime, 0);
    }

    /// @dev `(gas) * maxFeePerGas` overflowing reverts (no wrapped, tiny cost).
    function test_gasBudget_costOverflowReverts() public {
        grant(k, FLAG_GAS_BUDGET);
        _setBudget(type(uint96).max, PERIOD, type(uint96).max);
        PackedUserOperation memory op = userOp(_bump());
        op.accountGasLimits = bytes32(type(uint256).max);
        op.gasFees = bytes32(uint256(type(uint128).max));
        op.signature = abi.encode(k.keyHash, sign(k, entryPoint.getUserOpHash(op)), bytes(""), _window());
        _expectValidateRevert(op, abi.encodeWithSignature("Panic(uint256)", 0x11));
    }

    /// @dev A PolicyHook key with a gas budget goes through the EntryPoint without a paymaster, within its budget.
    function test_gasBudget_underPolicyHook_throughEntryPoint() public {
        IPolicyHook hook = deployPolicyHook();
        Call[] memory setup = new Call[](3);
        setup[0] =
            Call(address(0), 0, abi.encodeCall(IKeyward.grant, (k.key, policySettings(hook, 0) | FLAG_GAS_BUDGET)));
        setup[1] = Call(
            address(hook),
            0,
            abi.encodeCall(IPolicyHook.setCallRule, (k.keyHash, address(target), Target.bump.selector, RuleState.Allow))
        );
        setup[2] =
            Call(address(0), 0, abi.encodeCall(IKeyward.setGasBudget, (k.keyHash, GasBudget(0, 0, uint96(COST)))));
        rootExecute(setup);
        handle(_op(FEE, type(uint256).max));
        assertEq(target.counter(), 1);
        PackedUserOperation memory op = _op(FEE, type(uint256).max);
        _expectAA23(abi.encodeWithSelector(IKeyward.GasBudgetExceeded.selector, 2, 2 * COST, COST));
        handle(op);
    }
}
