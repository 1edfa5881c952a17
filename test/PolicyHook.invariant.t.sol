// SPDX-License-Identifier: MIT
pragma solidity ^0.8.30;

import {PolicyHook} from "../contracts/hooks/PolicyHook.sol";
import {Call, IKeyward} from "../contracts/interfaces/IKeyward.sol";
import {Limits} from "../contracts/interfaces/IPolicyHook.sol";
import {KeywardTestBase, TestKey} from "./utils/KeywardTestBase.sol";
import {MockERC20} from "./utils/MockERC20.sol";

/// @notice Shared setup: a session key allowed to transfer one token, capped per period and in total.
abstract contract SpendSetup is KeywardTestBase {
    PolicyHook internal hook;
    MockERC20 internal token;
    TestKey internal k;
    address internal constant R = address(0xa11ce);
    uint96 internal constant PER_PERIOD = 1000;
    uint96 internal constant LIFETIME = 3500;
    uint40 internal constant PERIOD = 3600;
    uint256 internal t0;

    function _setUpSpend() internal {
        hook = deployPolicyHook();
        token = new MockERC20();
        token.mint(account, 1e30);
        k = secp256k1Key("session");
        t0 = block.timestamp;
        rootExecute(tokenSpendingKey(hook, k, address(token), Limits(PER_PERIOD, LIFETIME, PERIOD), 0));
    }

    /// @dev The key sends `amounts` in one batch; true when it went through.
    function _send(uint256[] memory amounts, bool continueOnFailure) internal returns (bool ok) {
        Call[] memory calls = new Call[](amounts.length);
        for (uint256 i; i < amounts.length; ++i) {
            calls[i] = Call(address(token), 0, abi.encodeCall(token.transfer, (R, amounts[i])));
        }
        vm.prank(k.signer);
        (ok,) = account.call(
            abi.encodeWithSignature(
                "execute(bytes32,bytes)", continueOnFailure ? MODE_CONTINUE : MODE_REVERT, abi.encode(calls)
            )
        );
    }
}

/// @notice Fuzzes the spend accounting against a simple model.
contract PolicyHookSpendFuzzTest is SpendSetup {
    function setUp() public override {
        super.setUp();
        _setUpSpend();
    }

    function testFuzz_spend_matchesModel(uint16[12] memory amounts, uint16[12] memory gaps) public {
        uint256 total;
        uint256 window;
        uint256 inWindow;
        for (uint256 i; i < 12; ++i) {
            vm.warp(block.timestamp + (gaps[i] % 2000));
            uint256 w = (block.timestamp - t0) / PERIOD;
            if (w != window) (window, inWindow) = (w, 0);
            uint256 amount = amounts[i] % 1200;
            bool expected = inWindow + amount <= PER_PERIOD && total + amount <= LIFETIME;
            uint256[] memory one_ = new uint256[](1);
            one_[0] = amount;
            assertEq(_send(one_, false), expected, "hook and model disagree");
            if (expected) (inWindow, total) = (inWindow + amount, total + amount);
        }
        assertEq(token.balanceOf(R), total);
        assertEq(hook.getToken(account, k.keyHash, address(token)).spend.total, total);
    }
}

/// @notice Drives transfers, batches, failing calls and time jumps; records what actually left the account.
contract SpendHandler is SpendSetup {
    mapping(uint256 window => uint256) public spentIn;
    uint256 public maxWindow;
    uint256 public totalSpent;

    constructor(
        IKeyward acct_,
        address payable account_,
        PolicyHook hook_,
        MockERC20 token_,
        TestKey memory k_,
        uint256 t0_
    ) {
        account = account_;
        hook = hook_;
        token = token_;
        k = k_;
        t0 = t0_;
        acct_;
    }

    function _record(uint256 beforeBalance) internal {
        uint256 moved = token.balanceOf(R) - beforeBalance;
        uint256 w = (block.timestamp - t0) / PERIOD;
        spentIn[w] += moved;
        totalSpent += moved;
        if (w > maxWindow) maxWindow = w;
    }

    function send(uint16 amount) external {
        uint256 b = token.balanceOf(R);
        uint256[] memory a = new uint256[](1);
        a[0] = amount % 1500;
        _send(a, false);
        _record(b);
    }

    function sendMany(uint8 n, uint16 each, bool continueOnFailure) external {
        uint256 b = token.balanceOf(R);
        uint256[] memory a = new uint256[](n % 12);
        for (uint256 i; i < a.length; ++i) {
            a[i] = each % 400;
        }
        _send(a, continueOnFailure);
        _record(b);
    }

    function warp(uint16 dt) external {
        vm.warp(block.timestamp + (dt % 5000));
    }
}

contract PolicyHookSpendInvariantTest is SpendSetup {
    SpendHandler internal handler;

    function setUp() public override {
        super.setUp();
        _setUpSpend();
        handler = new SpendHandler(acct, account, hook, token, k, t0);
        targetContract(address(handler));
        bytes4[] memory selectors = new bytes4[](3);
        selectors[0] = SpendHandler.send.selector;
        selectors[1] = SpendHandler.sendMany.selector;
        selectors[2] = SpendHandler.warp.selector;
        targetSelector(FuzzSelector(address(handler), selectors));
    }

    /// @notice Spent within any period never exceeds the period cap, however calls are split or batched.
    function invariant_periodCapHolds() public view {
        for (uint256 w; w <= handler.maxWindow(); ++w) {
            assertLe(handler.spentIn(w), PER_PERIOD);
        }
    }

    /// @notice The total never exceeds the lifetime cap, and the hook's books match what left the account.
    function invariant_lifetimeCapHoldsAndBooksMatch() public view {
        assertLe(handler.totalSpent(), LIFETIME);
        assertEq(hook.getToken(account, k.keyHash, address(token)).spend.total, handler.totalSpent());
    }
}
