// SPDX-License-Identifier: MIT
pragma solidity ^0.8.30;

import {Call, GasBudget, IKeyward, PackedUserOperation} from "../contracts/interfaces/IKeyward.sol";
import {Condition, ConditionOp, IPolicyHook} from "../contracts/interfaces/IPolicyHook.sol";
import {Target} from "./utils/MockHook.sol";
import {Path, PolicyHookTestBase} from "./utils/PolicyHookTestBase.sol";
import {PolicyView} from "./utils/PolicyView.sol";
import {SponsorPaymaster} from "./utils/SponsorPaymaster.sol";

/// @notice Who pays for a PolicyHook key's ERC-4337 operations: a paymaster (one of at most 4 listed, or any when
/// none is listed), or the account within the key's gas budget (GAS_BUDGET settings flag); an operation the
/// account would pay for without that flag is refused in validation (`PaymasterRequired`).
contract PolicyHookPaymasterTest is PolicyHookTestBase {
    SponsorPaymaster internal sponsor2;

    function setUp() public override {
        super.setUp();
        sponsor2 = new SponsorPaymaster();
        vm.deal(address(this), address(this).balance + 1 ether);
        sponsor2.deposit{value: 1 ether}();
        allow(address(target), Target.bump.selector);
    }

    function _op(address paymaster) internal view returns (PackedUserOperation memory op) {
        op = userOp(one(address(target), 0, abi.encodeCall(Target.bump, ())));
        if (paymaster != address(0)) op.paymasterAndData = abi.encodePacked(paymaster, uint128(100_000), uint128(0));
        signUserOp(k, op);
    }

    function _setPaymasters(address[] memory pms) internal {
        cfg(abi.encodeCall(IPolicyHook.setPaymasters, (k.keyHash, pms)));
    }

    function _list(address a, address b, address c, address d, uint256 n) internal pure returns (address[] memory l) {
        l = new address[](n);
        address[4] memory all = [a, b, c, d];
        for (uint256 i; i < n; ++i) {
            l[i] = all[i];
        }
    }

    function test_paymaster_configurationBounds() public {
        vm.prank(account);
        vm.expectRevert(abi.encodeWithSelector(IPolicyHook.TooManyEntries.selector, 4));
        hook.setPaymasters(k.keyHash, new address[](5));
        address[] memory four = _list(address(1), address(2), address(3), address(4), 4);
        _setPaymasters(four);
        bytes memory raw = PolicyView.read(address(hook), account, k.keyHash);
        assertEq(PolicyView.length(raw, PolicyView.PAYMASTERS), 4);
        assertEq(PolicyView.element(raw, PolicyView.PAYMASTERS, 3), 4);
        // A zero address anywhere in the list is refused.
        for (uint256 i; i < 4; ++i) {
            four[i] = address(0);
            vm.prank(account);
            vm.expectRevert(IPolicyHook.InvalidConfiguration.selector);
            hook.setPaymasters(k.keyHash, four);
            four[i] = address(uint160(i + 1));
        }
        // Shrinking the list clears what was past its end.
        _setPaymasters(_list(address(9), address(0), address(0), address(0), 1));
        raw = PolicyView.read(address(hook), account, k.keyHash);
        assertEq(PolicyView.length(raw, PolicyView.PAYMASTERS), 1);
        assertEq(PolicyView.element(raw, PolicyView.PAYMASTERS, 0), 9);
        _setPaymasters(new address[](0));
        assertEq(PolicyView.length(PolicyView.read(address(hook), account, k.keyHash), PolicyView.PAYMASTERS), 0);
    }

    function test_paymaster_listedPassesUnlistedRefused() public {
        _setPaymasters(_list(address(sponsor), address(0), address(0), address(0), 1));
        handle(_op(address(sponsor)));
        assertEq(target.counter(), 1);
        PackedUserOperation memory op = _op(address(sponsor2));
        vm.expectRevert(
            validationRefusal(abi.encodeWithSelector(IPolicyHook.PaymasterNotAllowed.selector, address(sponsor2)))
        );
        handle(op);
        // The last of four listed paymasters passes; a fifth one that is not listed does not.
        _setPaymasters(_list(address(1), address(2), address(3), address(sponsor2), 4));
        handle(_op(address(sponsor2)));
        assertEq(target.counter(), 2);
        op = _op(address(sponsor));
        vm.expectRevert(
            validationRefusal(abi.encodeWithSelector(IPolicyHook.PaymasterNotAllowed.selector, address(sponsor)))
        );
        handle(op);
    }

    /// @dev No paymaster is allowed until one is listed (an ERC-20 paymaster the account approved would turn gas
    /// into token spending); ANY_TARGET in the list admits any paymaster.
    function test_paymaster_emptyListAllowsNone_anyTargetAllowsAny() public {
        _setPaymasters(new address[](0));
        PackedUserOperation memory op = _op(address(sponsor));
        vm.expectRevert(
            validationRefusal(abi.encodeWithSelector(IPolicyHook.PaymasterNotAllowed.selector, address(sponsor)))
        );
        handle(op);
        _setPaymasters(_list(hook.ANY_TARGET(), address(0), address(0), address(0), 1));
        handle(_op(address(sponsor)));
        handle(_op(address(sponsor2)));
        assertEq(target.counter(), 2);
    }

    function test_paymaster_accountPaysOnlyUnderGasBudget() public {
        PackedUserOperation memory op = _op(address(0));
        vm.expectRevert(validationRefusal(abi.encodeWithSelector(IPolicyHook.PaymasterRequired.selector)));
        handle(op);
        // With the GAS_BUDGET flag and a budget, the account pays (from its balance) within that budget.
        rootCall(abi.encodeCall(IKeyward.update, (k.keyHash, policySettings(hook, 0) | FLAG_GAS_BUDGET)));
        rootCall(abi.encodeCall(IKeyward.setGasBudget, (k.keyHash, GasBudget(0, 0, 1 ether))));
        op = userOp(one(address(target), 0, abi.encodeCall(Target.bump, ())));
        op.gasFees = bytes32((uint256(1 gwei) << 128) | 1 gwei);
        signUserOp(k, op);
        uint256 before = account.balance;
        handle(op);
        assertEq(target.counter(), 1);
        assertLt(account.balance, before, "the account paid");
        // A paymaster list still narrows sponsored operations of a key with a gas budget.
        _setPaymasters(_list(address(sponsor), address(0), address(0), address(0), 1));
        op = _op(address(sponsor2));
        vm.expectRevert(
            validationRefusal(abi.encodeWithSelector(IPolicyHook.PaymasterNotAllowed.selector, address(sponsor2)))
        );
        handle(op);
    }
}

/// @notice VALUE_ARG conditions (all comparisons at both sides of the boundary) and the per-batch call cap, on the
/// direct, relayed and ERC-4337 paths.
contract PolicyHookValueAndBatchTest is PolicyHookTestBase {
    uint256 internal constant V = 1000;

    function setUp() public override {
        super.setUp();
        allow(address(target), Target.bump.selector);
        nativeLimits(true, 0, 0, 0, 0);
    }

    function _valueCondition(address to, bytes4 sel, ConditionOp op) internal {
        bytes32[] memory values = new bytes32[](op == ConditionOp.InSet ? 2 : 1);
        values[0] = bytes32(V);
        if (values.length == 2) values[1] = bytes32(V + 1);
        Condition[] memory cs = new Condition[](1);
        cs[0] = Condition(op, hook.VALUE_ARG(), 0, values);
        cfg(abi.encodeCall(IPolicyHook.setConditions, (k.keyHash, to, sel, cs)));
    }

    function test_valueConditions_everyComparisonAtTheBoundary() public {
        ConditionOp[7] memory ops = [
            ConditionOp.Equal,
            ConditionOp.NotEqual,
            ConditionOp.LessOrEqual,
            ConditionOp.GreaterOrEqual,
            ConditionOp.Less,
            ConditionOp.Greater,
            ConditionOp.InSet
        ];
        // Whether V - 1, V, V + 1 pass each op (InSet: {V, V + 1}).
        bool[3][7] memory passes = [
            [false, true, false],
            [true, false, true],
            [true, true, false],
            [false, true, true],
            [true, false, false],
            [false, false, true],
            [false, true, true]
        ];
        bytes memory failed = abi.encodeWithSelector(IPolicyHook.ConditionFailed.selector, 0);
        uint256 cases;
        uint256 successes;
        for (uint256 i; i < ops.length; ++i) {
            _valueCondition(address(target), Target.bump.selector, ops[i]);
            for (uint256 p; p < 3; ++p) {
                for (uint256 j; j < 3; ++j) {
                    uint256 value = V - 1 + j;
                    expectRun(
                        Path(p),
                        one(address(target), value, abi.encodeCall(Target.bump, ())),
                        passes[i][j] ? bytes("") : failed
                    );
                    if (passes[i][j]) {
                        ++successes;
                        assertEq(target.lastValue(), value);
                    }
                    ++cases;
                }
            }
        }
        assertEq(cases, 63);
        assertEq(target.counter(), successes);
        assertEq(successes, 33); // 11 of the 21 (op, value) pairs pass, on 3 paths
    }

    /// @dev A value condition on the plain-ETH rule: "at most 1 ether to R a call".
    function test_valueConditions_onPlainTransfers() public {
        allow(R, hook.EMPTY_CALLDATA());
        bytes32[] memory values = new bytes32[](1);
        values[0] = bytes32(uint256(1 ether));
        Condition[] memory cs = new Condition[](1);
        cs[0] = Condition(ConditionOp.LessOrEqual, hook.VALUE_ARG(), 0, values);
        cfg(abi.encodeCall(IPolicyHook.setConditions, (k.keyHash, R, hook.EMPTY_CALLDATA(), cs)));
        for (uint256 p; p < 3; ++p) {
            expectRun(Path(p), one(R, 1 ether, ""), "");
            expectRun(Path(p), one(R, 1 ether + 1, ""), abi.encodeWithSelector(IPolicyHook.ConditionFailed.selector, 0));
        }
        assertEq(R.balance, 3 ether);
    }

    function _bumps(uint256 n) internal view returns (Call[] memory calls) {
        calls = new Call[](n);
        for (uint256 i; i < n; ++i) {
            calls[i] = Call(address(target), 0, abi.encodeCall(Target.bump, ()));
        }
    }

    function test_maxPerBatch_atNAndNPlusOneOnEveryPath() public {
        usageLimits(0, 0, 0, 3);
        bytes memory over = abi.encodeWithSelector(IPolicyHook.CallLimitExceeded.selector, 3, 3);
        for (uint256 p; p < 4; ++p) {
            expectRun(Path(p), _bumps(3), "");
            expectRun(Path(p), _bumps(4), over);
            // In a continue-on-failure batch, failing calls count too.
            Call[] memory mixed = _bumps(4);
            mixed[1] = Call(address(target), 0, abi.encodeCall(Target.fail, (1)));
            allow(address(target), Target.fail.selector);
            (bool ok, bytes memory err) = run(Path(p), k, mixed, false);
            assertFalse(ok);
            assertEq(err, over);
        }
        assertEq(target.counter(), 12);
        // A cap of 1, and 0 for none.
        usageLimits(0, 0, 0, 1);
        expectRun(Path.Direct, _bumps(1), "");
        expectRun(Path.Direct, _bumps(2), abi.encodeWithSelector(IPolicyHook.CallLimitExceeded.selector, 3, 1));
        usageLimits(0, 0, 0, 0);
        expectRun(Path.Direct, _bumps(20), "");
        assertEq(target.counter(), 33);
    }
}
