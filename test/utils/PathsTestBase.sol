// SPDX-License-Identifier: MIT
pragma solidity ^0.8.30;

import {
    BatchedCall,
    Call,
    IKeyward,
    PackedUserOperation,
    SignedBatchedCall
} from "../../contracts/interfaces/IKeyward.sol";
import {KeywardTestBase, TestKey} from "./KeywardTestBase.sol";
import {Target} from "./MockHook.sol";

/// @notice Runs one batch of a key on each execution path and reports what happened (success, or the revert data),
/// so a test can assert that a rule holds on every path with the same error.
abstract contract PathsTestBase is KeywardTestBase {
    bytes4 internal constant MAGIC_1271 = 0x1626ba7e;
    bytes4 internal constant FAIL_1271 = 0xffffffff;
    /// @dev ERC-7579 execution modes (callType, execType, 30 zero bytes).
    bytes32 internal constant MODE_7579_SINGLE = bytes32(0);
    bytes32 internal constant MODE_7579_BATCH = bytes32(uint256(0x01) << 248);
    bytes32 internal constant MODE_7579_SINGLE_TRY = bytes32(uint256(0x0001) << 240);
    bytes32 internal constant MODE_7579_BATCH_TRY = bytes32(uint256(0x0101) << 240);

    Target internal target;

    function setUp() public virtual override {
        super.setUp();
        target = new Target();
    }

    function _bump() internal view returns (Call[] memory) {
        return one(address(target), 0, abi.encodeCall(Target.bump, ()));
    }

    /// @dev The key's own transaction: ERC-7821 `execute` from its address.
    function tryDirect(TestKey memory k, Call[] memory calls) internal returns (bool ok, bytes memory ret) {
        vm.prank(k.signer);
        (ok, ret) = account.call(abi.encodeWithSignature("execute(bytes32,bytes)", MODE_REVERT, abi.encode(calls)));
    }

    /// @dev A batch the key signed, relayed by this contract (next sequence of the open lane 0).
    function tryRelayed(TestKey memory k, Call[] memory calls) internal returns (bool ok, bytes memory ret) {
        SignedBatchedCall memory b = signedBatch(calls, k.keyHash, acct.getSeq(0));
        bytes memory sig = signBatch(k, b);
        (ok, ret) = account.call(
            abi.encodeWithSignature(
                "execute((((address,uint256,bytes)[],bool),uint256,bytes32,address,uint256),bytes)", b, sig
            )
        );
    }

    /// @dev A signed user operation of `calls`, sponsored by the fixture's paymaster.
    function signedOp(TestKey memory k, Call[] memory calls) internal view returns (PackedUserOperation memory op) {
        op = sponsored(userOp(calls));
        signUserOp(k, op);
    }

    /// @dev `validateUserOp` as the EntryPoint: the validationData, or the revert data.
    function tryValidate(PackedUserOperation memory op) internal returns (bool ok, bytes memory ret) {
        bytes32 h = entryPoint.getUserOpHash(op);
        vm.prank(ENTRY_POINT);
        (ok, ret) = account.call(abi.encodeCall(IKeyward.validateUserOp, (op, h, 0)));
    }

    /// @dev `executeUserOp` as the EntryPoint (what runs after validation, perhaps after other operations).
    function tryExecuteUserOp(PackedUserOperation memory op) internal returns (bool ok, bytes memory ret) {
        bytes32 h = entryPoint.getUserOpHash(op);
        vm.prank(ENTRY_POINT);
        (ok, ret) = account.call(abi.encodeCall(IKeyward.executeUserOp, (op, h)));
    }

    /// @dev The whole ERC-4337 flow through the EntryPoint's `handleOps`.
    function tryHandleOps(PackedUserOperation memory op) internal returns (bool ok, bytes memory ret) {
        PackedUserOperation[] memory ops = new PackedUserOperation[](1);
        ops[0] = op;
        (ok, ret) = ENTRY_POINT.call(abi.encodeCall(entryPoint.handleOps, (ops, payable(address(0xbeef)))));
    }

    /// @dev ERC-1271 with a nested PersonalSign by the key.
    function signs1271(TestKey memory k) internal view returns (bool) {
        bytes32 h = keccak256(abi.encode("1271", block.timestamp));
        return acct.isValidSignature(h, personalSign(k, h)) == MAGIC_1271;
    }

    /// @dev ERC-7710 redemption by the key's address of one batch in ERC-7579 batch mode, with `context`.
    function tryRedeem(TestKey memory k, bytes memory context, Call[] memory calls)
        internal
        returns (bool ok, bytes memory ret)
    {
        bytes[] memory contexts = new bytes[](1);
        contexts[0] = context;
        bytes32[] memory modes = new bytes32[](1);
        modes[0] = MODE_7579_BATCH;
        bytes[] memory datas = new bytes[](1);
        datas[0] = abi.encode(calls);
        vm.prank(k.signer);
        (ok, ret) = account.call(
            abi.encodeWithSignature("redeemDelegations(bytes[],bytes32[],bytes[])", contexts, modes, datas)
        );
    }

    /// @dev The ERC-4337 revert a bundler reports when validation reverted with `inner`.
    function aa23(bytes memory inner) internal pure returns (bytes memory) {
        return abi.encodeWithSignature("FailedOpWithRevert(uint256,string,bytes)", 0, "AA23 reverted", inner);
    }

    function assertRefused(bool ok, bytes memory ret, bytes memory expected, string memory label) internal pure {
        assertFalse(ok, label);
        assertEq(ret, expected, label);
    }
}
