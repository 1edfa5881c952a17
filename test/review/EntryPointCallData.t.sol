// SPDX-License-Identifier: MIT
pragma solidity ^0.8.30;

import {
    BatchedCall,
    Call,
    GasBudget,
    GasSpent,
    IKeyward,
    PackedUserOperation
} from "../../contracts/interfaces/IKeyward.sol";
import {KeywardTestBase, TestKey} from "../utils/KeywardTestBase.sol";
import {PolicyHookTestBase} from "../utils/PolicyHookTestBase.sol";
import {SponsorPaymaster} from "../utils/SponsorPaymaster.sol";

/// @notice Found in review (fixed): the EntryPoint calls the account with a user operation's raw `callData` whenever
/// it does not start with `executeUserOp`'s selector, so every function guarded by `onlyEntryPoint` was reachable by
/// any key whose operation validated, with arguments the key chose, and no execution hook ran. Now a registered key's
/// operation must call `executeUserOp` (`InvalidUserOpCallData`) and `multicall` refuses the EntryPoint. Each test
/// performs the original exploit and asserts it is refused and changed nothing.
contract ReviewEntryPointCallDataTest is PolicyHookTestBase {
    address internal constant THIEF = address(0x7417);

    /// @dev An operation for the root key (keyHash 0) that was never signed: its signature is only the key hash.
    function _forgedRootOp(Call[] memory calls) internal view returns (PackedUserOperation memory forged) {
        forged.sender = account;
        forged.callData = abi.encodePacked(IKeyward.executeUserOp.selector, abi.encode(BatchedCall(calls, true)));
        forged.signature = abi.encode(bytes32(0), bytes(""), bytes(""));
    }

    /// @dev The session key `k` (PolicyHook, no call rule at all: it may call nothing) signs a sponsored operation
    /// whose callData is `multicall([executeUserOp(forged root op)])`. The EntryPoint passed it as it was; the
    /// extension's multicall DELEGATECALLed the account's own code, so `msg.sender` is still the EntryPoint and
    /// `executeUserOp` ran the forged operation's calls as the ROOT (keyHash read from the forged signature).
    function test_multicallExecuteUserOp_forgedRootBatchRefused() public {
        TestKey memory attackerAdmin = secp256k1Key("attacker admin");
        Call[] memory rootCalls = new Call[](2);
        rootCalls[0] = Call(THIEF, 90 ether, "");
        // Make the attacker's own key an admin: a permanent takeover.
        rootCalls[1] = Call(address(0), 0, abi.encodeCall(IKeyward.grant, (attackerAdmin.key, uint256(1) << 200)));

        bytes[] memory items = new bytes[](1);
        items[0] = abi.encodeCall(IKeyward.executeUserOp, (_forgedRootOp(rootCalls), bytes32(0)));

        // The attacker needs no one's cooperation: its own "sponsor anything" paymaster with a small deposit (the
        // PolicyHook accepts any paymaster unless the owner listed some; a listed one works the same way).
        vm.deal(THIEF, 1 ether);
        vm.startPrank(THIEF);
        SponsorPaymaster own = new SponsorPaymaster();
        own.deposit{value: 0.1 ether}();
        vm.stopPrank();

        PackedUserOperation memory op = userOp(new Call[](0));
        op.paymasterAndData = abi.encodePacked(address(own), uint128(100_000), uint128(0));
        op.callData = abi.encodeCall(IKeyward.multicall, (items));
        signUserOp(k, op);
        (bool ok, bytes memory reason) = handleOutcome(op);

        // The promise: a key with no allowed call can do nothing. It must not have moved ETH or granted an admin.
        assertEq(THIEF.balance, 0.9 ether, "session key moved the account's ETH as the root");
        assertFalse(acct.isRegistered(attackerAdmin.keyHash), "session key granted an admin key");
        assertFalse(ok, string(reason));
    }

    /// @dev Without multicall: the op's callData is `validateUserOp(forged, hash, missingAccountFunds)` itself.
    /// `onlyEntryPoint` passed (the EntryPoint is the caller) and no execution hook ran, so a key that may call
    /// nothing (a) moved the account's whole ETH balance into its EntryPoint deposit (`missingAccountFunds` is paid
    /// to the caller) and (b) wrote ANOTHER key's gas-budget state, claiming the last gas window (2^40 - 1) so every
    /// honest operation of the victim key reverted `StaleGasWindow`.
    function test_rawValidateUserOp_refusedAndTouchesNothing() public {
        // The victim: a budgeted agent key of the same account.
        TestKey memory agent = secp256k1Key("budgeted agent");
        grant(agent, settingsOf(address(0), 0, false, 0) | FLAG_GAS_BUDGET);
        rootCall(abi.encodeCall(IKeyward.setGasBudget, (agent.keyHash, GasBudget(0.01 ether, 1 hours, 1 ether))));

        PackedUserOperation memory forged;
        forged.sender = account;
        forged.signature = abi.encode(agent.keyHash, bytes(""), bytes(""), uint256(type(uint40).max));

        uint256 balanceBefore = account.balance;
        PackedUserOperation memory op = sponsored(userOp(new Call[](0)));
        op.callData = abi.encodeCall(IKeyward.validateUserOp, (forged, bytes32(0), 99 ether));
        signUserOp(k, op);
        (bool attackOk, bytes memory attackErr) = handleOutcome(op);
        assertFalse(attackOk, "refused in validation");
        assertEq(
            attackErr,
            abi.encodeWithSignature(
                "FailedOpWithRevert(uint256,string,bytes)",
                0,
                "AA23 reverted",
                abi.encodeWithSelector(IKeyward.InvalidUserOpCallData.selector)
            )
        );
        uint256 balanceAfterAttack = account.balance;

        (, GasSpent memory spent) = acct.gasBudget(agent.keyHash);
        emit log_named_uint("agent gas window after the attack", spent.window);
        emit log_named_uint("account EntryPoint deposit", entryPoint.balanceOf(account));

        // The agent's next honest operation, charged to the current window.
        PackedUserOperation memory honest = userOp(new Call[](0));
        honest.nonce = entryPoint.getNonce(account, 1);
        honest.gasFees = bytes32((uint256(1 gwei) << 128) | 1 gwei);
        bytes memory sig = sign(agent, entryPoint.getUserOpHash(honest));
        honest.signature = abi.encode(agent.keyHash, sig, bytes(""), block.timestamp / 1 hours);
        (bool honestOk, bytes memory honestErr) = handleOutcome(honest);
        emit log_named_bytes("honest agent op", honestErr);

        assertEq(balanceAfterAttack, balanceBefore, "a key with no rights moved the account's ETH into the deposit");
        assertEq(spent.window, 0, "a key wrote another key's gas budget state");
        assertTrue(honestOk, "the budgeted key is bricked");
    }
}
