// SPDX-License-Identifier: MIT
pragma solidity ^0.8.30;

import {BatchedCall, Call, GasBudget, IKeyward, PackedUserOperation} from "../../contracts/interfaces/IKeyward.sol";
import {IPolicyHook} from "../../contracts/interfaces/IPolicyHook.sol";
import {KeywardTestBase, TestKey} from "../utils/KeywardTestBase.sol";

interface IEntryPointV07 {
    function handleOps(PackedUserOperation[] calldata ops, address payable beneficiary) external;
    function getUserOpHash(PackedUserOperation calldata userOp) external view returns (bytes32);
    function getNonce(address sender, uint192 key) external view returns (uint256);
    function balanceOf(address account) external view returns (uint256);
}

/// @notice Found in review (fixed): GAS_BUDGET charged `(vgl + cgl + pvg) * maxFeePerGas`, which bounds the charge only under
/// EntryPoint v0.8 (AA98 refuses a zero paymaster). The account accepts any EntryPoint (`updateEntryPoint`), and
/// EntryPoint v0.7 (same PackedUserOperation, same `validateUserOp`/`executeUserOp` selectors) accepts
/// `paymasterAndData = address(0) ++ pmVerificationGasLimit ++ pmPostOpGasLimit`: no paymaster, so the ACCOUNT pays,
/// `isSponsored` is false so the budget is charged without the paymaster gas limits, yet v0.7 adds them to the
/// prefund and charges 10% of the unused `callGasLimit + paymasterPostOpGasLimit` as a penalty. Now the maximum cost
/// counts the paymaster gas limits whenever `paymasterAndData` carries them, paymaster or not.
contract ReviewEntryPointV07BudgetTest is KeywardTestBase {
    address internal constant EP07 = 0x0000000071727De22E5E9d8BAf0edAc6f37da032;
    address internal constant BUNDLER = address(0xb0d1e5);

    function test_gasBudget_v07ZeroPaymasterGasLimitsAreCharged() public {
        deployCodeTo(
            "node_modules/@pimlico/alto/esm/contracts/EntryPointFilterOpsOverride.sol/EntryPointFilterOpsOverride07.json",
            EP07
        );
        IEntryPointV07 ep = IEntryPointV07(EP07);
        IPolicyHook hook = deployPolicyHook();
        TestKey memory k = secp256k1Key("budgeted policy key");
        uint256 fee = 10 gwei;
        uint256 opGas = 150_000 + 50_000 + 50_000;
        uint256 budget = opGas * fee; // exactly one operation's charge

        Call[] memory setup = new Call[](3);
        setup[0] = Call(address(0), 0, abi.encodeCall(IKeyward.updateEntryPoint, (EP07)));
        setup[1] =
            Call(address(0), 0, abi.encodeCall(IKeyward.grant, (k.key, policySettings(hook, 0) | FLAG_GAS_BUDGET)));
        setup[2] =
            Call(address(0), 0, abi.encodeCall(IKeyward.setGasBudget, (k.keyHash, GasBudget(0, 0, uint96(budget)))));
        rootExecute(setup);

        PackedUserOperation memory op;
        op.sender = account;
        op.nonce = ep.getNonce(account, 0);
        op.callData = abi.encodePacked(IKeyward.executeUserOp.selector, abi.encode(BatchedCall(new Call[](0), true)));
        op.accountGasLimits = bytes32((uint256(150_000) << 128) | 50_000);
        op.preVerificationGas = 50_000;
        op.gasFees = bytes32((fee << 128) | fee);
        // No paymaster, but a 25M post-op gas limit (fits a block).
        op.paymasterAndData = abi.encodePacked(address(0), uint128(0), uint128(25_000_000));
        (uint8 v, bytes32 r, bytes32 s) = vm.sign(k.privateKey, ep.getUserOpHash(op));
        op.signature = abi.encode(k.keyHash, abi.encodePacked(r, s, v), bytes(""));

        uint256 before = account.balance + ep.balanceOf(account);
        PackedUserOperation[] memory ops = new PackedUserOperation[](1);
        ops[0] = op;
        vm.prank(BUNDLER, BUNDLER);
        (bool ok,) = address(ep).call(abi.encodeCall(IEntryPointV07.handleOps, (ops, payable(BUNDLER))));
        uint256 paid = before - account.balance - ep.balanceOf(account);
        // The zero paymaster's gas limits count in the key's budget: the operation is refused in validation.
        assertFalse(ok, "refused: the paymaster gas limits are charged to the budget");
        emit log_named_uint("budget (wei)", budget);
        emit log_named_uint("account paid (wei)", paid);
        assertLe(paid, budget, "the account paid more gas than the key's whole lifetime budget");
    }
}
