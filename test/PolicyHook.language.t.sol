// SPDX-License-Identifier: MIT
pragma solidity ^0.8.30;

import {ConditionLib} from "../contracts/hooks/libraries/ConditionLib.sol";
import {Call} from "../contracts/interfaces/IKeyward.sol";
import {Condition, ConditionOp, IPolicyHook} from "../contracts/interfaces/IPolicyHook.sol";
import {Target} from "./utils/MockHook.sol";
import {Path, PolicyHookTestBase} from "./utils/PolicyHookTestBase.sol";
import {MaskingToken} from "./utils/PolicyMocks.sol";
import {Test} from "forge-std/Test.sol";

/// @notice `ConditionLib` behind an external boundary (calldata arguments).
contract ConditionHarness {
    function holds(ConditionOp op, uint256 arg, uint256 v) external pure returns (bool) {
        return ConditionLib.holds(op, arg, v);
    }

    function fits(uint256 arg, uint256 bits) external pure returns (bool) {
        return ConditionLib.fits(arg, bits);
    }

    function argument(uint256 argIndex, uint256 value, bytes calldata data) external pure returns (bool, uint256) {
        return ConditionLib.argument(argIndex, value, data);
    }
}

/// @notice A payable function with arguments: a rule can condition both its value and its arguments.
contract PayableSink {
    address public lastTo;
    uint256 public lastAmount;
    uint256 public received;

    function pay(address to, uint256 amount) external payable {
        lastTo = to;
        lastAmount = amount;
        received += msg.value;
    }
}

/// @notice Issue 16, the policy language: the six comparisons (<, >, <=, >=, ==, !=) on both sides of their
/// boundary, the argument read (the call's value or a static word) and the width check, alone.
contract ConditionLibTest is Test {
    ConditionHarness internal lib;
    uint256 internal constant V = 1000;

    function setUp() public {
        lib = new ConditionHarness();
    }

    function test_conditionLib_sixComparisonsOnBothSides() public view {
        ConditionOp[6] memory ops = [
            ConditionOp.Less,
            ConditionOp.Greater,
            ConditionOp.LessOrEqual,
            ConditionOp.GreaterOrEqual,
            ConditionOp.Equal,
            ConditionOp.NotEqual
        ];
        // Whether V - 1, V, V + 1 compare true against V.
        bool[3][6] memory expected = [
            [true, false, false],
            [false, false, true],
            [true, true, false],
            [false, true, true],
            [false, true, false],
            [true, false, true]
        ];
        for (uint256 i; i < 6; ++i) {
            for (uint256 j; j < 3; ++j) {
                assertEq(lib.holds(ops[i], V - 1 + j, V), expected[i][j]);
            }
        }
        // The ends of the word: unsigned comparisons, no wrap.
        assertTrue(lib.holds(ConditionOp.Less, 0, 1));
        assertFalse(lib.holds(ConditionOp.Less, 0, 0));
        assertFalse(lib.holds(ConditionOp.Greater, type(uint256).max, type(uint256).max));
        assertTrue(lib.holds(ConditionOp.Greater, type(uint256).max, type(uint256).max - 1));
        assertFalse(lib.holds(ConditionOp.Less, type(uint256).max, 0), "no signed reading");
        // None and InSet are not single-value comparisons.
        assertFalse(lib.holds(ConditionOp.None, V, V));
        assertFalse(lib.holds(ConditionOp.InSet, V, V));
    }

    function testFuzz_conditionLib_holdsMatchesModel(uint8 opRaw, uint256 arg, uint256 v) public view {
        ConditionOp op = ConditionOp(bound(opRaw, 0, 7));
        bool model;
        if (op == ConditionOp.Equal) model = arg == v;
        else if (op == ConditionOp.NotEqual) model = arg != v;
        else if (op == ConditionOp.LessOrEqual) model = arg <= v;
        else if (op == ConditionOp.GreaterOrEqual) model = arg >= v;
        else if (op == ConditionOp.Less) model = arg < v;
        else if (op == ConditionOp.Greater) model = arg > v;
        assertEq(lib.holds(op, arg, v), model);
    }

    function test_conditionLib_fitsWidthOnBothSides() public view {
        assertTrue(lib.fits(type(uint160).max, 160));
        assertFalse(lib.fits(uint256(type(uint160).max) + 1, 160));
        assertTrue(lib.fits(1, 1));
        assertFalse(lib.fits(2, 1));
        assertTrue(lib.fits(type(uint96).max, 96));
        assertFalse(lib.fits(uint256(type(uint96).max) + 1, 96));
        // 0 and 256: the whole word.
        assertTrue(lib.fits(type(uint256).max, 0));
        assertTrue(lib.fits(type(uint256).max, 256));
    }

    function test_conditionLib_argumentReadsValueOrStaticWord() public view {
        bytes memory data = abi.encodeWithSelector(bytes4(0x12345678), uint256(7), uint256(8));
        (bool ok, uint256 arg) = lib.argument(ConditionLib.VALUE_ARG, 42, data);
        assertTrue(ok);
        assertEq(arg, 42, "VALUE_ARG reads the call's value");
        (ok, arg) = lib.argument(ConditionLib.VALUE_ARG, 42, "");
        assertTrue(ok, "the value needs no calldata");
        assertEq(arg, 42);
        (ok, arg) = lib.argument(1, 42, data);
        assertTrue(ok);
        assertEq(arg, 8);
        // Exactly long enough, and one byte short.
        (ok,) = lib.argument(2, 0, data);
        assertFalse(ok);
        bytes memory short = new bytes(4 + 63);
        (ok,) = lib.argument(1, 0, short);
        assertFalse(ok);
        (ok, arg) = lib.argument(1, 0, new bytes(4 + 64));
        assertTrue(ok);
        assertEq(arg, 0);
    }
}

/// @notice Issue 16, the policy language on chain: conditions on the call's value and on its arguments with every
/// comparison on both sides of the boundary, both kinds on one rule, the width check on values and arguments
/// (dirty words refused on every path), and the per-batch call cap across rules.
contract PolicyHookLanguageTest is PolicyHookTestBase {
    uint256 internal constant V = 1000;
    PayableSink internal sink;

    function setUp() public override {
        super.setUp();
        sink = new PayableSink();
        vm.deal(account, 100 ether);
        nativeLimits(true, 0, 0, 0, 0);
        allow(address(usdc), usdc.transfer.selector);
        allow(address(sink), PayableSink.pay.selector);
        allow(address(target), Target.bump.selector);
    }

    function _values(uint256 v) internal pure returns (bytes32[] memory values) {
        values = new bytes32[](1);
        values[0] = bytes32(v);
    }

    function _conditions(address to, bytes4 sel, Condition[] memory cs) internal {
        cfg(abi.encodeCall(IPolicyHook.setConditions, (k.keyHash, to, sel, cs)));
    }

    function _condition(address to, bytes4 sel, ConditionOp op, uint16 argIndex, uint16 bits, uint256 v) internal {
        Condition[] memory cs = new Condition[](1);
        cs[0] = Condition(op, argIndex, bits, _values(v));
        _conditions(to, sel, cs);
    }

    function _failed(uint256 index) internal pure returns (bytes memory) {
        return abi.encodeWithSelector(IPolicyHook.ConditionFailed.selector, index);
    }

    /// @dev An argument (the transfer's amount) under each of the six comparisons, at V - 1, V and V + 1, on every
    /// path.
    function test_argConditions_sixComparisonsBothSidesOnEveryPath() public {
        ConditionOp[6] memory ops = [
            ConditionOp.Less,
            ConditionOp.Greater,
            ConditionOp.LessOrEqual,
            ConditionOp.GreaterOrEqual,
            ConditionOp.Equal,
            ConditionOp.NotEqual
        ];
        bool[3][6] memory passes = [
            [true, false, false],
            [false, false, true],
            [true, true, false],
            [false, true, true],
            [false, true, false],
            [true, false, true]
        ];
        uint256 moved;
        for (uint256 i; i < 6; ++i) {
            _condition(address(usdc), usdc.transfer.selector, ops[i], 1, 0, V);
            for (uint256 p; p < 4; ++p) {
                for (uint256 j; j < 3; ++j) {
                    uint256 amount = V - 1 + j;
                    expectRun(Path(p), transferCall(R, amount), passes[i][j] ? bytes("") : _failed(0));
                    if (passes[i][j]) moved += amount;
                }
            }
        }
        assertEq(usdc.balanceOf(R), moved);
        // 9 of the 18 (op, amount) pairs pass (three at each amount), on 4 paths.
        assertEq(moved, 4 * 3 * ((V - 1) + V + (V + 1)));
    }

    /// @dev One rule conditions the value and two arguments: each must hold, and each failure names its condition.
    function test_valueAndArgConditions_allMustHoldOnEveryPath() public {
        Condition[] memory cs = new Condition[](3);
        cs[0] = Condition(ConditionOp.Less, hook.VALUE_ARG(), 0, _values(1 ether)); // value < 1 ether
        cs[1] = Condition(ConditionOp.Equal, 0, 160, _values(uint160(R))); // to == R
        cs[2] = Condition(ConditionOp.Greater, 1, 0, _values(5)); // amount > 5
        _conditions(address(sink), PayableSink.pay.selector, cs);
        for (uint256 p; p < 3; ++p) {
            expectRun(Path(p), _pay(1 ether - 1, R, 6), "");
            expectRun(Path(p), _pay(1 ether, R, 6), _failed(0));
            expectRun(Path(p), _pay(0, OTHER, 6), _failed(1));
            expectRun(Path(p), _pay(0, R, 5), _failed(2));
        }
        assertEq(sink.received(), 3 * (1 ether - 1));
        assertEq(sink.lastTo(), R);
        assertEq(sink.lastAmount(), 6);
    }

    function _pay(uint256 value, address to, uint256 amount) internal view returns (Call[] memory) {
        return one(address(sink), value, abi.encodeCall(PayableSink.pay, (to, amount)));
    }

    /// @dev A value condition with a width: a value above the type fails, whatever the comparison.
    function test_valueConditions_widthOnBothSides() public {
        _condition(address(target), Target.bump.selector, ConditionOp.GreaterOrEqual, hook.VALUE_ARG(), 64, 0);
        vm.deal(account, 100 ether);
        expectRun(Path.Direct, one(address(target), type(uint64).max, abi.encodeCall(Target.bump, ())), "");
        expectRun(
            Path.Relayed,
            one(address(target), uint256(type(uint64).max) + 1, abi.encodeCall(Target.bump, ())),
            _failed(0)
        );
        assertEq(target.lastValue(), type(uint64).max);
    }

    /// @dev "At most 1 ether a call, to anyone": a value condition on the wildcard rule of plain transfers.
    function test_valueConditions_onTheWildcardPlainTransferRule() public {
        allow(hook.ANY_TARGET(), hook.EMPTY_CALLDATA());
        _condition(hook.ANY_TARGET(), hook.EMPTY_CALLDATA(), ConditionOp.LessOrEqual, hook.VALUE_ARG(), 0, 1 ether);
        for (uint256 p; p < 3; ++p) {
            expectRun(Path(p), one(R, 1 ether, ""), "");
            expectRun(Path(p), one(OTHER, 1 ether, ""), "");
            expectRun(Path(p), one(OTHER, 1 ether + 1, ""), _failed(0));
        }
        assertEq(R.balance, 3 ether);
        assertEq(OTHER.balance, 3 ether);
    }

    /// @dev Attack: "anything but BLOCKED, below a bound" with the recipient word's high bits dirty, on every path:
    /// refused under the address width for the strict comparisons too; the clean word passes.
    function test_dirtyWords_strictComparisonsRefusedOnEveryPath() public {
        MaskingToken mt = new MaskingToken();
        mt.mint(account, 100);
        allow(address(mt), bytes4(0xa9059cbb));
        uint256 a = uint160(R);
        uint256 dirty = a | (uint256(1) << 160);
        ConditionOp[2] memory ops = [ConditionOp.Less, ConditionOp.Greater];
        uint256[2] memory bounds = [a + 1, a - 1];
        for (uint256 i; i < 2; ++i) {
            _condition(address(mt), bytes4(0xa9059cbb), ops[i], 0, 160, bounds[i]);
            for (uint256 p; p < 4; ++p) {
                expectRun(Path(p), one(address(mt), 0, abi.encodeWithSelector(0xa9059cbb, a, 1)), "");
                expectRun(Path(p), one(address(mt), 0, abi.encodeWithSelector(0xa9059cbb, dirty, 1)), _failed(0));
            }
        }
        assertEq(mt.balanceOf(R), 8);
    }

    /// @dev The per-batch cap counts every call of the batch, whatever rule admits it (value, argument, plain),
    /// at N and N + 1 on every path; a refused batch moves nothing.
    function test_maxPerBatch_countsCallsOfEveryRule() public {
        allow(R, hook.EMPTY_CALLDATA());
        usageLimits(0, 0, 0, 3);
        Call[] memory calls = new Call[](4);
        calls[0] = transferCall(R, 1)[0];
        calls[1] = _pay(1, R, 1)[0];
        calls[2] = Call(R, 1, "");
        calls[3] = Call(address(target), 0, abi.encodeCall(Target.bump, ()));
        Call[] memory three = new Call[](3);
        for (uint256 i; i < 3; ++i) {
            three[i] = calls[i];
        }
        bytes memory over = abi.encodeWithSelector(IPolicyHook.CallLimitExceeded.selector, 3, 3);
        for (uint256 p; p < 4; ++p) {
            expectRun(Path(p), three, "");
            expectRun(Path(p), calls, over);
        }
        assertEq(usdc.balanceOf(R), 4);
        assertEq(sink.received(), 4);
        assertEq(target.counter(), 0);
    }

    /// @dev On chain against the model: a random value under a random comparison.
    function testFuzz_valueConditions_matchModel(uint8 opRaw, uint64 value, uint64 bound_) public {
        ConditionOp op = ConditionOp(bound(opRaw, 0, 7));
        if (op == ConditionOp.None) op = ConditionOp.Greater;
        if (op == ConditionOp.InSet) op = ConditionOp.Less;
        _condition(address(target), Target.bump.selector, op, hook.VALUE_ARG(), 0, bound_);
        bool model = op == ConditionOp.Equal
            ? value == bound_
            : op == ConditionOp.NotEqual
                ? value != bound_
                : op == ConditionOp.LessOrEqual
                    ? value <= bound_
                    : op == ConditionOp.GreaterOrEqual
                        ? value >= bound_
                        : op == ConditionOp.Less ? value < bound_ : value > bound_;
        vm.deal(account, uint256(type(uint64).max) + 1);
        (bool ok, bytes memory err) = run(Path.Direct, one(address(target), value, abi.encodeCall(Target.bump, ())));
        assertEq(ok, model, "hook and model disagree");
        if (!ok) assertEq(err, _failed(0));
    }
}
