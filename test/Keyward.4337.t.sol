// SPDX-License-Identifier: MIT
pragma solidity ^0.8.30;

import {Call, IKeyward, PackedUserOperation} from "../contracts/interfaces/IKeyward.sol";
import {KeywardTestBase, TestKey} from "./utils/KeywardTestBase.sol";
import {MockHook, ProbeHook, Target} from "./utils/MockHook.sol";

/// @notice ERC-4337 through the real EntryPoint v0.8.
contract Keyward4337Test is KeywardTestBase {
    Target internal target;

    event UserOperationRevertReason(
        bytes32 indexed userOpHash, address indexed sender, uint256 nonce, bytes revertReason
    );

    function setUp() public override {
        super.setUp();
        target = new Target();
    }

    function _bump() internal view returns (Call[] memory) {
        return one(address(target), 0, abi.encodeCall(Target.bump, ()));
    }

    function _expectFailedOp(string memory reason) internal {
        vm.expectRevert(abi.encodeWithSignature("FailedOp(uint256,string)", 0, reason));
    }

    function test_4337_eachKeyTypeAndRoot() public {
        TestKey[3] memory ks = [secp256k1Key("s"), p256Key("p"), webAuthnKey("w")];
        for (uint256 i; i < 3; ++i) {
            grant(ks[i], 0);
            PackedUserOperation memory op = userOp(_bump());
            signUserOp(ks[i], op);
            handle(op);
        }
        PackedUserOperation memory rootOp = userOp(_bump());
        signUserOp(rootTestKey(), rootOp);
        handle(rootOp);
        assertEq(target.counter(), 4);
    }

    function test_4337_validationData_expiryAndValidAfterWithoutLeaks() public {
        TestKey memory k = secp256k1Key("s");
        // An expiring admin key: bit 200 lies inside validUntil and must not widen it. Its hook's address bits
        // (0xabc1: AFTER_VERIFY_SIGNATURE only, not called on this path) must not leak either.
        uint40 end = uint40(block.timestamp + 50);
        uint40 start = uint40(block.timestamp + 5);
        grant(k, settingsOf(address(0xabc1), end, true, start));
        PackedUserOperation memory op = userOp(_bump());
        signUserOp(k, op);
        bytes32 h = entryPoint.getUserOpHash(op);
        vm.prank(ENTRY_POINT);
        uint256 vd = acct.validateUserOp(op, h, 0);
        // validAfter is packed as start - 1: EntryPoint v0.8 reads it as exclusive.
        assertEq(vd, (uint256(end) << 160) | (uint256(start - 1) << 208));
        // Invalid signature: exactly SIG_VALIDATION_FAILED, no time range (Calibur's answer).
        op.signature = abi.encode(k.keyHash, sign(k, keccak256("x")), bytes(""));
        vm.prank(ENTRY_POINT);
        assertEq(acct.validateUserOp(op, h, 0), 1);
    }

    function test_4337_unknownOrMalformed_returnsFailureWithoutRevert() public {
        TestKey memory k = secp256k1Key("s");
        PackedUserOperation memory op = userOp(_bump());
        signUserOp(k, op);
        bytes32 h = entryPoint.getUserOpHash(op);
        vm.prank(ENTRY_POINT);
        assertEq(acct.validateUserOp(op, h, 0), 1, "unknown key");
        op.signature = hex"1234";
        vm.prank(ENTRY_POINT);
        assertEq(acct.validateUserOp(op, h, 0), 1, "malformed");
    }

    function test_4337_expiryBoundary() public {
        TestKey memory k = secp256k1Key("s");
        uint40 end = uint40(block.timestamp + 60);
        grant(k, settingsOf(address(0), end, false, 0));
        vm.warp(end);
        PackedUserOperation memory op = userOp(_bump());
        signUserOp(k, op);
        handle(op);
        vm.warp(uint256(end) + 1);
        op = userOp(_bump());
        signUserOp(k, op);
        _expectFailedOp("AA22 expired or not due");
        handle(op);
        assertEq(target.counter(), 1);
    }

    function test_4337_validAfterBoundary() public {
        TestKey memory k = secp256k1Key("s");
        uint40 start = uint40(block.timestamp + 60);
        grant(k, settingsOf(address(0), 0, false, start));
        vm.warp(uint256(start) - 1);
        PackedUserOperation memory op = userOp(_bump());
        signUserOp(k, op);
        _expectFailedOp("AA22 expired or not due");
        handle(op);
        vm.warp(start);
        handle(op);
        assertEq(target.counter(), 1);
    }

    function test_4337_invalidSignatureOrRevokedKey_rejected() public {
        TestKey memory k = secp256k1Key("s");
        grant(k, 0);
        PackedUserOperation memory op = userOp(_bump());
        op.signature = abi.encode(k.keyHash, sign(k, keccak256("wrong")), bytes(""));
        _expectFailedOp("AA24 signature error");
        handle(op);
        signUserOp(k, op);
        rootCall(abi.encodeCall(IKeyward.revoke, (k.keyHash)));
        _expectFailedOp("AA24 signature error");
        handle(op);
    }

    function test_4337_nonAdminSelfCall_failsAtExecution() public {
        TestKey memory k = secp256k1Key("s");
        grant(k, 0);
        TestKey memory other = secp256k1Key("o");
        PackedUserOperation memory op =
            userOp(one(address(0), 0, abi.encodeCall(IKeyward.grant, (other.key, 1 << 200))));
        signUserOp(k, op);
        vm.expectEmit(false, false, false, true, ENTRY_POINT);
        emit UserOperationRevertReason(
            bytes32(0), address(0), 0, abi.encodeWithSelector(IKeyward.OnlyAdminCanSelfCall.selector)
        );
        handle(op);
        assertFalse(acct.isRegistered(other.keyHash));
    }

    function test_4337_keyRevokedInsideBundle_isRejectedAtExecution() public {
        // Validation passed, then an earlier operation revoked the key: execution re-checks.
        TestKey memory k = secp256k1Key("s");
        grant(k, 0);
        PackedUserOperation memory op = userOp(_bump());
        signUserOp(k, op);
        rootCall(abi.encodeCall(IKeyward.revoke, (k.keyHash)));
        vm.prank(ENTRY_POINT);
        vm.expectRevert(IKeyward.KeyDoesNotExist.selector);
        acct.executeUserOp(op, bytes32(0));
    }

    /// @dev Before the redesign the validation hook could narrow validationData (onValidate); Calibur's
    /// afterValidateUserOp can only refuse. An approving hook leaves the key's window as it is; a revert bubbles out
    /// of validateUserOp (the EntryPoint reports AA23) and a wrong answer is InvalidHookResponse.
    function test_4337_hookCanOnlyRefuse() public {
        MockHook hook = deployHook(0x1f);
        TestKey memory k = secp256k1Key("s");
        uint40 end = uint40(block.timestamp + 1000);
        grant(k, settingsOf(address(hook), end, false, 0));
        PackedUserOperation memory op = userOp(_bump());
        signUserOp(k, op);
        bytes32 h = entryPoint.getUserOpHash(op);
        vm.prank(ENTRY_POINT);
        assertEq(acct.validateUserOp(op, h, 0), uint256(end) << 160, "the key's own window, not narrowed");
        hook.setAnswer(1, MockHook.Answer.Revert);
        vm.prank(ENTRY_POINT);
        vm.expectRevert(abi.encodeWithSelector(MockHook.Refused.selector, 1));
        acct.validateUserOp(op, h, 0);
        vm.expectRevert(
            abi.encodeWithSignature(
                "FailedOpWithRevert(uint256,string,bytes)",
                0,
                "AA23 reverted",
                abi.encodeWithSelector(MockHook.Refused.selector, 1)
            )
        );
        handle(op);
        hook.setAnswer(1, MockHook.Answer.WrongSelector);
        vm.prank(ENTRY_POINT);
        vm.expectRevert(IKeyward.InvalidHookResponse.selector);
        acct.validateUserOp(op, h, 0);
        hook.setAnswer(1, MockHook.Answer.Approve);
        handle(op);
        assertEq(target.counter(), 1);
        assertEq(hook.callCount(3), 1);
        assertEq(hook.lastKeyId(), acct.keyIdOf(k.keyHash));
    }

    /// @dev The hook sees the user operation hash and the validationData the account computed (with the failure
    /// bit for an invalid signature: it is called anyway), and Keyward's trailer.
    function test_4337_hookSeesUserOpHashAndValidationData() public {
        address probe = address(uint160(uint256(keccak256("4337 probe"))) & ~uint160(0xffff) | 0x02);
        deployCodeTo("MockHook.sol:ProbeHook", probe);
        TestKey memory k = secp256k1Key("s");
        uint40 end = uint40(block.timestamp + 1000);
        uint256 s = settingsOf(probe, end, false, 0);
        grant(k, s);
        PackedUserOperation memory op = userOp(_bump());
        signUserOp(k, op);
        bytes32 h = entryPoint.getUserOpHash(op);
        bytes32 keyId = acct.keyIdOf(k.keyHash);
        vm.prank(ENTRY_POINT);
        vm.expectRevert(
            abi.encodeWithSelector(ProbeHook.SeenUserOp.selector, k.keyHash, h, uint256(end) << 160, keyId, s)
        );
        acct.validateUserOp(op, h, 0);
        op.signature = abi.encode(k.keyHash, sign(k, keccak256("x")), bytes(""));
        vm.prank(ENTRY_POINT);
        vm.expectRevert(abi.encodeWithSelector(ProbeHook.SeenUserOp.selector, k.keyHash, h, uint256(1), keyId, s));
        acct.validateUserOp(op, h, 0);
    }

    function test_4337_paysPrefund() public {
        TestKey memory k = secp256k1Key("s");
        grant(k, 0);
        PackedUserOperation memory op = userOp(_bump());
        op.gasFees = bytes32((uint256(1 gwei) << 128) | 1 gwei);
        signUserOp(k, op);
        uint256 before = account.balance;
        handle(op);
        assertLt(account.balance, before);
        assertEq(target.counter(), 1);
    }

    function test_4337_onlyEntryPoint() public {
        PackedUserOperation memory op = userOp(_bump());
        vm.expectRevert(IKeyward.NotEntryPoint.selector);
        acct.validateUserOp(op, bytes32(0), 0);
        vm.expectRevert(IKeyward.NotEntryPoint.selector);
        acct.executeUserOp(op, bytes32(0));
    }
}
