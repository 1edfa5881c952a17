// SPDX-License-Identifier: MIT
pragma solidity ^0.8.30;

import {
    BatchedCall,
    Call,
    IKeyward,
    PackedUserOperation,
    SignedBatchedCall
} from "../contracts/interfaces/IKeyward.sol";
import {KeywardTestBase, TestKey} from "./utils/KeywardTestBase.sol";
import {MockHook, Target} from "./utils/MockHook.sol";

/// @notice Issue 13, items 8-11, each as the attack (or the wrong answer) the old code allowed: gas starvation of a
/// continue-on-failure batch, the revert reason of a failed call under an after-hook, keyIds shared across
/// accounts, and a target re-entering the relayed execute.
contract AttacksTest is KeywardTestBase {
    string internal constant RELAYED_EXECUTE =
        "execute((((address,uint256,bytes)[],bool),uint256,bytes32,address,uint256),bytes)";

    event UserOperationRevertReason(
        bytes32 indexed userOpHash, address indexed sender, uint256 nonce, bytes revertReason
    );

    Target internal target;
    TestKey internal k;

    function setUp() public override {
        super.setUp();
        target = new Target();
        k = secp256k1Key("session");
    }

    function _call(bytes memory data) internal view returns (Call memory) {
        return Call(address(target), 0, data);
    }

    function _continueBatch(Call[] memory calls, uint256 nonce) internal view returns (SignedBatchedCall memory b) {
        b = signedBatch(calls, k.keyHash, nonce);
        b.batchedCall.revertOnFailure = false;
    }

    // ------------------------------------------------------------------------------------------------------------
    // Item 8: gas starvation
    // ------------------------------------------------------------------------------------------------------------

    /// @dev A call that runs out of gas fails the whole continue-on-failure batch (CallOutOfGas), whatever gas the
    /// relayer gave: the nonce is not spent and no call of the batch stays done. On b65280f the batch succeeded
    /// with the nonce spent and the intent lost.
    function test_gasStarvation_outOfGasCallFailsTheBatch() public {
        grant(k, 0);
        Call[] memory calls = new Call[](3);
        calls[0] = _call(abi.encodeCall(Target.bump, ()));
        calls[1] = _call(abi.encodeCall(Target.burn, ()));
        calls[2] = calls[0];
        SignedBatchedCall memory b = _continueBatch(calls, 0);
        bytes memory sig = signBatch(k, b);
        vm.expectRevert(abi.encodeWithSelector(IKeyward.CallOutOfGas.selector, 1));
        acct.execute{gas: 1_000_000}(b, sig);
        vm.expectRevert(abi.encodeWithSelector(IKeyward.CallOutOfGas.selector, 1));
        acct.execute(b, sig); // with all the gas there is
        assertEq(acct.getSeq(0), 0, "the nonce is not spent");
        assertEq(target.counter(), 0, "nothing of the batch stays done");
        // The same for the root's relayed batch, and on the direct path.
        b.keyHash = bytes32(0);
        sig = signBatch(rootTestKey(), b);
        vm.expectRevert(abi.encodeWithSelector(IKeyward.CallOutOfGas.selector, 1));
        acct.execute{gas: 1_000_000}(b, sig);
        vm.prank(k.signer);
        vm.expectRevert(abi.encodeWithSelector(IKeyward.CallOutOfGas.selector, 1));
        acct.execute{gas: 1_000_000}(MODE_CONTINUE, abi.encode(calls));
    }

    /// @dev A call that fails with gas to spare is still skipped in continue mode (the batch succeeds, the nonce is
    /// spent): only out-of-gas failures fail the batch.
    function test_gasStarvation_ordinaryFailureIsSkipped() public {
        grant(k, 0);
        Call[] memory calls = new Call[](3);
        calls[0] = _call(abi.encodeCall(Target.bump, ()));
        calls[1] = _call(abi.encodeCall(Target.fail, (3)));
        calls[2] = calls[0];
        SignedBatchedCall memory b = _continueBatch(calls, 0);
        acct.execute{gas: 1_000_000}(b, signBatch(k, b));
        assertEq(acct.getSeq(0), 1);
        assertEq(target.counter(), 2);
    }

    /// @dev A starving relayer, swept over gas limits: a continue-on-failure batch of one call either reverts, or
    /// runs with its call done; never "succeeds" with the nonce spent and the call lost. Some limits do starve the
    /// call (CallOutOfGas), so the sweep covers the case; with an afterExecute hook (skipped after a starved call)
    /// too.
    function test_gasStarvation_sweep_noLimitSpendsTheNonceWithoutTheCall() public {
        _sweep(0);
    }

    function test_gasStarvation_sweep_withAfterExecuteHook() public {
        MockHook hook = deployHook(0x18);
        _sweep(settingsOf(address(hook), 0, false, 0));
    }

    function _sweep(uint256 settings) internal {
        grant(k, settings);
        SignedBatchedCall memory b = _continueBatch(one(address(target), 0, abi.encodeCall(Target.bump, ())), 0);
        bytes memory sig = signBatch(k, b);
        uint256 starved;
        bool done;
        for (uint256 g = 60_000; g < 500_000 && !done; g += 1000) {
            try acct.execute{gas: g}(b, sig) {
                assertEq(target.counter(), 1, "a batch that succeeded made its call");
                assertEq(acct.getSeq(0), 1);
                done = true;
            } catch (bytes memory err) {
                assertEq(acct.getSeq(0), 0, "a refused batch spends no nonce");
                if (err.length >= 4 && bytes4(err) == IKeyward.CallOutOfGas.selector) ++starved;
            }
        }
        assertTrue(done, "enough gas runs the batch");
        assertGt(starved, 0, "some limits starved the call");
    }

    // ------------------------------------------------------------------------------------------------------------
    // Item 9: CallFailed carries the failed call's revert data
    // ------------------------------------------------------------------------------------------------------------

    /// @dev In a revert-on-failure batch of a key whose hook has afterExecute (with or without the on-failure flag),
    /// a failed call reverts CallFailed(its own revert data) and afterExecute is not asked: a hook that would refuse
    /// or answer a wrong selector does not replace the reason (on b65280f the after-hook's answer did). Direct,
    /// relayed and ERC-4337 (executeUserOp, and the EntryPoint's recorded reason).
    function test_callFailed_carriesTheCallsRevertData_underAfterHook() public {
        MockHook hook = deployHook(0x18);
        bytes memory expected =
            abi.encodeWithSelector(IKeyward.CallFailed.selector, abi.encodeWithSelector(Target.Boom.selector, 7));
        Call[] memory failing = one(address(target), 0, abi.encodeCall(Target.fail, (7)));
        Call[] memory mixed = new Call[](2);
        mixed[0] = _call(abi.encodeCall(Target.bump, ()));
        mixed[1] = failing[0];
        uint256[2] memory settings =
            [settingsOf(address(hook), 0, false, 0), settingsOf(address(hook), 0, false, 0) | FLAG_AFTER_ON_FAILURE];
        for (uint256 i; i < 2; ++i) {
            if (i == 0) grant(k, settings[i]);
            else rootCall(abi.encodeCall(IKeyward.update, (k.keyHash, settings[i])));
            // 0: approving (the mixed batch's successful call is checked by it); 1, 2: refusing, wrong selector.
            for (uint256 answer; answer <= 2; ++answer) {
                hook.setAnswer(4, MockHook.Answer(answer));
                Call[] memory calls = answer == 0 ? mixed : failing;
                _expectCallFailedOnEveryPath(calls, expected);
            }
        }
        // Through the EntryPoint the receipt reports the call's own reason.
        PackedUserOperation memory op = sponsored(userOp(failing));
        signUserOp(k, op);
        vm.expectEmit(false, false, false, true, ENTRY_POINT);
        emit UserOperationRevertReason(bytes32(0), address(0), op.nonce, expected);
        handle(op);
        assertEq(target.counter(), 0);
    }

    function _expectCallFailedOnEveryPath(Call[] memory calls, bytes memory expected) internal {
        vm.prank(k.signer);
        vm.expectRevert(expected);
        acct.execute(MODE_REVERT, abi.encode(calls));
        SignedBatchedCall memory b = signedBatch(calls, k.keyHash, 0);
        bytes memory sig = signBatch(k, b);
        vm.expectRevert(expected);
        acct.execute(b, sig);
        PackedUserOperation memory op = sponsored(userOp(calls));
        signUserOp(k, op);
        vm.prank(ENTRY_POINT);
        vm.expectRevert(expected);
        acct.executeUserOp(op, bytes32(0));
    }

    // ------------------------------------------------------------------------------------------------------------
    // Item 10: keyId includes the account
    // ------------------------------------------------------------------------------------------------------------

    /// @dev The same key granted first on two accounts (same epoch 0, same grant number 1) has two keyIds, and each
    /// account's hook calls carry its own; keyId = keccak256(abi.encode(account, keyHash, epoch, grant)). On
    /// b65280f both were equal, so a hook keyed by keyId alone shared state between the accounts.
    function test_keyId_differsAcrossAccounts() public {
        address other = makeAddr("second account");
        delegate(other, address(implementation));
        IKeyward acct2 = IKeyward(other);
        MockHook hook = deployHook(0x08);
        uint256 s = settingsOf(address(hook), 0, false, 0);
        grant(k, s);
        vm.prank(other);
        acct2.grant(k.key, s);
        bytes32 id1 = acct.keyIdOf(k.keyHash);
        bytes32 id2 = acct2.keyIdOf(k.keyHash);
        assertTrue(id1 != id2);
        assertEq(id1, keccak256(abi.encode(account, k.keyHash, uint256(0), uint256(1))));
        assertEq(id2, keccak256(abi.encode(other, k.keyHash, uint256(0), uint256(1))));
        vm.prank(k.signer);
        acct.execute(MODE_REVERT, abi.encode(one(address(target), 0, abi.encodeCall(Target.bump, ()))));
        assertEq(hook.lastKeyId(), id1);
        vm.prank(k.signer);
        acct2.execute(MODE_REVERT, abi.encode(one(address(target), 0, abi.encodeCall(Target.bump, ()))));
        assertEq(hook.lastKeyId(), id2);
    }

    // ------------------------------------------------------------------------------------------------------------
    // Item 11: re-entering the relayed execute
    // ------------------------------------------------------------------------------------------------------------

    /// @dev A call target re-entering the relayed execute in the middle of a relayed batch is refused with
    /// Reentrancy(); the inner batch's nonce is not spent, and it runs on its own once the first completes (on
    /// b65280f it ran nested, as the account, while the outer batch was still executing).
    function test_reentrancy_targetCannotNestARelayedBatch() public {
        grant(k, 0);
        SignedBatchedCall memory inner =
            signedBatch(one(address(target), 0, abi.encodeCall(Target.bump, ())), k.keyHash, 1);
        bytes memory innerSig = signBatch(k, inner);
        bytes memory reenter = abi.encodeWithSignature(RELAYED_EXECUTE, inner, innerSig);
        Call[] memory outerCalls = one(address(target), 0, abi.encodeCall(Target.callBack, (account, reenter)));
        // Revert on failure: the outer batch reverts with the nested refusal as its reason.
        SignedBatchedCall memory outer = signedBatch(outerCalls, k.keyHash, 0);
        bytes memory outerSig = signBatch(k, outer);
        vm.expectRevert(
            abi.encodeWithSelector(IKeyward.CallFailed.selector, abi.encodeWithSelector(IKeyward.Reentrancy.selector))
        );
        acct.execute(outer, outerSig);
        // Continue on failure: the outer batch completes, the nested one did not run.
        outer = _continueBatch(outerCalls, 0);
        acct.execute(outer, signBatch(k, outer));
        assertEq(acct.getSeq(0), 1);
        assertEq(target.counter(), 0, "the nested batch did not run");
        // Once the first batch completed, the inner one runs on its own, in the same transaction.
        acct.execute(inner, innerSig);
        assertEq(target.counter(), 1);
        assertEq(acct.getSeq(0), 2);
    }

    /// @dev The lock is per relayed batch: a second relayed batch after the first works, and a root batch's target
    /// cannot nest one either.
    function test_reentrancy_sequentialRelayedBatchesWork() public {
        grant(k, 0);
        for (uint256 i; i < 3; ++i) {
            SignedBatchedCall memory b =
                signedBatch(one(address(target), 0, abi.encodeCall(Target.bump, ())), k.keyHash, i);
            acct.execute(b, signBatch(k, b));
        }
        assertEq(target.counter(), 3);
        SignedBatchedCall memory inner =
            signedBatch(one(address(target), 0, abi.encodeCall(Target.bump, ())), k.keyHash, 4);
        bytes memory reenter = abi.encodeWithSignature(RELAYED_EXECUTE, inner, signBatch(k, inner));
        SignedBatchedCall memory rootOuter =
            signedBatch(one(address(target), 0, abi.encodeCall(Target.callBack, (account, reenter))), bytes32(0), 3);
        bytes memory rootSig = signBatch(rootTestKey(), rootOuter);
        vm.expectRevert(
            abi.encodeWithSelector(IKeyward.CallFailed.selector, abi.encodeWithSelector(IKeyward.Reentrancy.selector))
        );
        acct.execute(rootOuter, rootSig);
        assertEq(target.counter(), 3);
    }
}
