// SPDX-License-Identifier: MIT
pragma solidity ^0.8.30;

import {Call, IKeyward, PackedUserOperation, SignedBatchedCall} from "../contracts/interfaces/IKeyward.sol";
import {KeywardTestBase, TestKey} from "./utils/KeywardTestBase.sol";
import {MockHook, Target} from "./utils/MockHook.sol";

/// @notice One test per failure mode of `shared/reference/landscape.md` section 5 that the account core can show.
/// Modes 10-12 (policy state, spend accounting, policy limits) belong to the policy hooks.
contract FailureModesTest is KeywardTestBase {
    Target internal target;
    bytes4 internal constant MAGIC = 0x1626ba7e;

    function setUp() public override {
        super.setUp();
        target = new Target();
    }

    function _bump() internal view returns (Call[] memory) {
        return one(address(target), 0, abi.encodeCall(Target.bump, ()));
    }

    /// @dev Tries `k` on all four paths; returns how many accepted.
    function _acceptedPaths(TestKey memory k) internal returns (uint256 n) {
        uint256 before = target.counter();
        // direct
        vm.prank(k.signer);
        try acct.execute(MODE_REVERT, abi.encode(_bump())) {} catch {}
        // relayed
        SignedBatchedCall memory b = signedBatch(_bump(), k.keyHash, acct.getSeq(0));
        bytes memory sig = signBatch(k, b);
        try acct.execute(b, sig) {} catch {}
        // ERC-4337
        PackedUserOperation memory op = userOp(_bump());
        signUserOp(k, op);
        PackedUserOperation[] memory ops = new PackedUserOperation[](1);
        ops[0] = op;
        try entryPoint.handleOps(ops, payable(address(0xbeef))) {} catch {}
        n = target.counter() - before;
        // ERC-1271
        bytes32 h = keccak256(abi.encode(block.timestamp, n));
        if (acct.isValidSignature(h, personalSign(k, h)) == MAGIC) ++n;
    }

    /// Mode 1: stale state after revoke and re-register.
    function test_mode01_reRegisteredKeyRevivesNothing() public {
        MockHook hook = deployHook(0xf);
        TestKey memory k = secp256k1Key("k");
        grant(k, settingsOf(address(hook), 0, true, 0));
        bytes32 id1 = acct.keyIdOf(k.keyHash);
        rootCall(abi.encodeCall(IKeyward.revoke, (k.keyHash)));
        rootCall(abi.encodeCall(IKeyward.register, (k.key)));
        assertEq(acct.getKeySettings(k.keyHash), 0, "settings do not revive");
        assertTrue(acct.keyIdOf(k.keyHash) != id1, "hook state is keyed by a new identity");
        // Same after revokeAll.
        bytes32 id2 = acct.keyIdOf(k.keyHash);
        rootCall(abi.encodeCall(IKeyward.revokeAll, ()));
        rootCall(abi.encodeCall(IKeyward.register, (k.key)));
        assertTrue(acct.keyIdOf(k.keyHash) != id2);
    }

    /// Mode 2: revocation checked on some paths only.
    function test_mode02_revocationHoldsOnEveryPath() public {
        TestKey memory k = secp256k1Key("k");
        grant(k, 1 << 200);
        assertEq(_acceptedPaths(k), 4, "all four paths before revoke");
        rootCall(abi.encodeCall(IKeyward.revoke, (k.keyHash)));
        assertEq(_acceptedPaths(k), 0, "no path after revoke");
        grant(k, 1 << 200);
        rootCall(abi.encodeCall(IKeyward.revokeAll, ()));
        assertEq(_acceptedPaths(k), 0, "no path after revokeAll");
    }

    /// Mode 3: EIP-7702 storage hazards: namespaced storage, and slot 0 written by another implementation.
    function test_mode03_namespacedStorageSurvivesForeignWrites() public {
        assertEq(
            keccak256(abi.encode(uint256(keccak256("keyward.account.v2")) - 1)) & ~bytes32(uint256(0xff)),
            bytes32(0x1076cd6b71505057374da297140aa7db56153a63bd050936b89a9cd15467dc00)
        );
        assertEq(acct.CUSTOM_STORAGE_ROOT(), 0x1076cd6b71505057374da297140aa7db56153a63bd050936b89a9cd15467dc00);
        TestKey memory k = secp256k1Key("k");
        grant(k, 1 << 200);
        // Another implementation used slots 0..9 while delegated.
        for (uint256 i; i < 10; ++i) {
            vm.store(account, bytes32(i), bytes32(type(uint256).max));
        }
        assertTrue(acct.isRegistered(k.keyHash));
        assertEq(acct.keyCount(), 1);
        assertEq(acct.ENTRY_POINT(), ENTRY_POINT);
        assertEq(_acceptedPaths(k), 4);
    }

    /// Mode 4: expiry boundaries agree on every path (valid at T, rejected at T+1; validAfter likewise).
    function test_mode04_boundariesAgreeAcrossPaths() public {
        TestKey memory k = secp256k1Key("k");
        uint40 start = uint40(block.timestamp + 100);
        uint40 end = uint40(block.timestamp + 200);
        grant(k, settingsOf(address(0), end, true, start));
        vm.warp(start - 1);
        assertEq(_acceptedPaths(k), 0, "before validAfter");
        vm.warp(start);
        assertEq(_acceptedPaths(k), 4, "at validAfter");
        vm.warp(end);
        assertEq(_acceptedPaths(k), 4, "at expiration");
        vm.warp(uint256(end) + 1);
        assertEq(_acceptedPaths(k), 0, "after expiration");
    }

    /// Mode 4, fuzzed: both edges of any window, on every path.
    function testFuzz_mode04_boundariesAgreeAcrossPaths(uint32 startIn, uint32 length) public {
        uint40 start = uint40(block.timestamp + 1 + (startIn % 100_000));
        uint40 end = start + uint40(length % 100_000);
        TestKey memory k = secp256k1Key("k");
        grant(k, settingsOf(address(0), end, true, start));
        vm.warp(start - 1);
        assertEq(_acceptedPaths(k), 0);
        vm.warp(end);
        assertEq(_acceptedPaths(k), 4);
        vm.warp(uint256(end) + 1);
        assertEq(_acceptedPaths(k), 0);
    }

    /// Mode 5: an expiring admin key never becomes a ~35k-year key through validationData packing.
    function testFuzz_mode05_validationDataCarriesOnlyTheWindow(uint40 end, uint40 start) public {
        TestKey memory k = secp256k1Key("k");
        // Hook bits 0xabc1: a callback (AFTER_VERIFY_SIGNATURE) that is not made on this path. A hook address with no
        // flag at all (0xabc0 before the redesign) is now refused at grant.
        grant(k, settingsOf(address(0xabc1), end, true, start));
        PackedUserOperation memory op = userOp(_bump());
        signUserOp(k, op);
        bytes32 h = entryPoint.getUserOpHash(op);
        vm.prank(ENTRY_POINT);
        uint256 vd = acct.validateUserOp(op, h, 0);
        assertEq(vd, (uint256(end) << 160) | (uint256(start == 0 ? 0 : start - 1) << 208));
    }

    /// Mode 6: ERC-4337 validation does not read TIMESTAMP: the answer is the same at any time.
    function test_mode06_validationIndependentOfTimestamp() public {
        TestKey memory k = secp256k1Key("k");
        grant(k, settingsOf(address(0), uint40(block.timestamp + 10), false, uint40(block.timestamp + 5)));
        PackedUserOperation memory op = userOp(_bump());
        signUserOp(k, op);
        bytes32 h = entryPoint.getUserOpHash(op);
        vm.prank(ENTRY_POINT);
        uint256 early = acct.validateUserOp(op, h, 0);
        vm.warp(block.timestamp + 1000);
        vm.prank(ENTRY_POINT);
        assertEq(acct.validateUserOp(op, h, 0), early);
    }

    /// Mode 7: a session key cannot sign an ERC-1271 message (e.g. Permit2) past its execution guards.
    function test_mode07_sessionKeyCannotSignPermits() public {
        TestKey memory k = secp256k1Key("k");
        grant(k, 0);
        (bytes32 h, bytes memory sig) = typedDataSign(
            k,
            keccak256("Permit2 domain"),
            keccak256("PermitSingle"),
            "PermitSingle(PermitDetails details,address spender,uint256 sigDeadline)PermitDetails(address token,uint160 amount,uint48 expiration,uint48 nonce)"
        );
        assertEq(acct.isValidSignature(h, sig), bytes4(0xffffffff));
    }

    /// Mode 8: escalation through self-calls: a non-admin key reaches no self-call on any path.
    function test_mode08_noSelfCallForNonAdminOnAnyPath() public {
        TestKey memory k = secp256k1Key("k");
        TestKey memory evil = secp256k1Key("evil");
        grant(k, 0);
        Call[] memory calls = one(address(0), 0, abi.encodeCall(IKeyward.grant, (evil.key, 1 << 200)));
        vm.prank(k.signer);
        vm.expectRevert(IKeyward.OnlyAdminCanSelfCall.selector);
        acct.execute(MODE_REVERT, abi.encode(calls));
        SignedBatchedCall memory b = signedBatch(calls, k.keyHash, 0);
        bytes memory sig = signBatch(k, b);
        vm.expectRevert(IKeyward.OnlyAdminCanSelfCall.selector);
        acct.execute(b, sig);
        PackedUserOperation memory op = userOp(calls);
        signUserOp(k, op);
        handle(op); // the EntryPoint records the failed execution
        // Calling key management straight from the EntryPoint fails too: a key's operation may only call
        // `executeUserOp`, so it is refused in validation.
        op = userOp(calls);
        op.callData = abi.encodeCall(IKeyward.grant, (evil.key, 1 << 200));
        signUserOp(k, op);
        vm.expectRevert(
            abi.encodeWithSignature(
                "FailedOpWithRevert(uint256,string,bytes)",
                0,
                "AA23 reverted",
                abi.encodeWithSelector(IKeyward.InvalidUserOpCallData.selector)
            )
        );
        handle(op);
        assertFalse(acct.isRegistered(evil.keyHash));
    }

    /// Mode 9: unsigned hookData: a relayer can change it without invalidating the signature, so the account never
    /// lets it widen anything: it only reaches the hook, which may only narrow or veto.
    function test_mode09_hookDataIsOnlyAHint() public {
        MockHook hook = deployHook(0x1);
        TestKey memory k = secp256k1Key("k");
        grant(k, settingsOf(address(hook), uint40(block.timestamp + 10), false, 0));
        SignedBatchedCall memory b = signedBatch(_bump(), k.keyHash, 0);
        bytes memory inner = sign(k, acct.hashSignedBatchedCall(b));
        vm.warp(block.timestamp + 11);
        // Whatever hookData says, the key's own expiry still applies.
        vm.expectRevert(abi.encodeWithSelector(IKeyward.KeyExpired.selector, uint40(block.timestamp - 1)));
        acct.execute(b, abi.encode(inner, abi.encode(type(uint256).max)));
    }

    /// Mode 13: hook re-entrancy: neither a hook nor a target re-enters key management.
    function test_mode13_noReentryIntoKeyManagement() public {
        MockHook hook = deployHook(0xf);
        hook.setReenter(true);
        TestKey memory k = secp256k1Key("k");
        grant(k, settingsOf(address(hook), 0, false, 0));
        vm.prank(k.signer);
        vm.expectRevert(IKeyward.Unauthorized.selector);
        acct.execute(MODE_REVERT, abi.encode(_bump()));
        assertEq(acct.keyCount(), 1);
    }
}
