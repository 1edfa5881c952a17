// SPDX-License-Identifier: MIT
pragma solidity ^0.8.30;

import {
    BatchedCall,
    Call,
    IKeyward,
    Key,
    KeyType,
    PackedUserOperation,
    SignedBatchedCall
} from "../contracts/interfaces/IKeyward.sol";
import {KeywardTestBase, TestKey} from "./utils/KeywardTestBase.sol";
import {MockHook, Target} from "./utils/MockHook.sol";
import {Vm} from "forge-std/Vm.sol";

/// @notice Key registry and direct (ERC-7821) execution.
contract KeywardTest is KeywardTestBase {
    Target internal target;

    uint160 internal constant ALL_HOOK_FLAGS = 0x1f;
    /// @dev The execution callbacks only (BEFORE_EXECUTE | AFTER_EXECUTE).
    uint160 internal constant EXECUTION_FLAGS = 0x18;

    function setUp() public override {
        super.setUp();
        target = new Target();
    }

    // ------------------------------------------------------------------------------------------------------------
    // register / grant
    // ------------------------------------------------------------------------------------------------------------

    function test_register_secp256k1_storesKeyWithEmptySettings() public {
        TestKey memory k = secp256k1Key("alice");
        vm.expectEmit(address(acct));
        emit IKeyward.Registered(k.keyHash, k.key);
        rootCall(abi.encodeCall(IKeyward.register, (k.key)));
        assertTrue(acct.isRegistered(k.keyHash));
        assertEq(acct.getKeySettings(k.keyHash), 0);
        assertEq(acct.keyCount(), 1);
        Key memory got = acct.getKey(k.keyHash);
        assertEq(uint8(got.keyType), uint8(KeyType.Secp256k1));
        assertEq(got.publicKey, k.key.publicKey);
        assertEq(acct.keyAt(0).publicKey, k.key.publicKey);
    }

    function test_register_p256AndWebAuthn_storeCoordinates() public {
        TestKey memory p = p256Key("p");
        TestKey memory w = webAuthnKey("w");
        rootCall(abi.encodeCall(IKeyward.register, (p.key)));
        rootCall(abi.encodeCall(IKeyward.register, (w.key)));
        assertEq(acct.getKey(p.keyHash).publicKey, p.key.publicKey);
        assertEq(uint8(acct.getKey(w.keyHash).keyType), uint8(KeyType.WebAuthnP256));
        assertEq(acct.getKey(w.keyHash).publicKey, w.key.publicKey);
        // Same public key, different type: different key hash.
        assertTrue(p.keyHash != keccak256(abi.encode(KeyType.WebAuthnP256, keccak256(p.key.publicKey))));
    }

    function test_register_existingKey_changesNothing() public {
        TestKey memory k = secp256k1Key("alice");
        grant(k, settingsOf(address(0), 5000, false, 0));
        bytes32 id = acct.keyIdOf(k.keyHash);
        vm.recordLogs();
        rootCall(abi.encodeCall(IKeyward.register, (k.key)));
        assertEq(vm.getRecordedLogs().length, 0);
        assertEq(acct.getKeySettings(k.keyHash), settingsOf(address(0), 5000, false, 0));
        assertEq(acct.keyIdOf(k.keyHash), id);
        assertEq(acct.keyCount(), 1);
    }

    function test_register_rootAddress_reverts() public {
        vm.prank(account);
        vm.expectRevert(IKeyward.CannotRegisterRootKey.selector);
        acct.register(Key(KeyType.Secp256k1, abi.encode(account)));
    }

    function test_register_malformedPublicKeys_revert() public {
        bytes[6] memory bad = [
            abi.encodePacked(address(1)), // 20 bytes, not abi.encode(address)
            abi.encode(uint256(1) << 160), // upper bits set
            abi.encode(address(0)),
            abi.encode(uint256(1)),
            abi.encode(uint256(0), uint256(1)),
            abi.encode(uint256(1), uint256(0))
        ];
        KeyType[6] memory types =
            [KeyType.Secp256k1, KeyType.Secp256k1, KeyType.Secp256k1, KeyType.P256, KeyType.P256, KeyType.WebAuthnP256];
        for (uint256 i; i < bad.length; ++i) {
            vm.prank(account);
            vm.expectRevert(IKeyward.InvalidPublicKey.selector);
            acct.register(Key(types[i], bad[i]));
        }
        assertEq(acct.keyCount(), 0);
    }

    function test_register_fromOutsider_reverts() public {
        TestKey memory k = secp256k1Key("alice");
        vm.prank(address(0xdead));
        vm.expectRevert(IKeyward.Unauthorized.selector);
        acct.register(k.key);
        vm.prank(k.signer);
        vm.expectRevert(IKeyward.Unauthorized.selector);
        acct.grant(k.key, 1 << 200);
    }

    function test_grant_writesKeyAndSettingsAtomically() public {
        TestKey memory k = secp256k1Key("alice");
        uint256 s = settingsOf(address(0xabc), 1_900_000_000, true, 1_700_000_000);
        vm.expectEmit(address(acct));
        emit IKeyward.Registered(k.keyHash, k.key);
        vm.expectEmit(address(acct));
        emit IKeyward.KeySettingsUpdated(k.keyHash, s);
        grant(k, s);
        assertEq(acct.getKeySettings(k.keyHash), s);
    }

    function test_grant_registeredKey_reverts() public {
        TestKey memory k = secp256k1Key("alice");
        grant(k, 0);
        vm.prank(account);
        vm.expectRevert(abi.encodeWithSelector(IKeyward.KeyAlreadyRegistered.selector, k.keyHash));
        acct.grant(k.key, 1 << 200);
    }

    /// @dev Reserved bits are 201-207 and 251-255 (bits 248-250 are the flags since the redesign).
    function testFuzz_grant_reservedBits_revert(uint8 bit) public {
        vm.assume((bit >= 201 && bit <= 207) || bit >= 254);
        TestKey memory k = secp256k1Key("alice");
        uint256 s = uint256(1) << bit;
        vm.prank(account);
        vm.expectRevert(abi.encodeWithSelector(IKeyward.NonCanonicalSettings.selector, s));
        acct.grant(k.key, s);
        assertFalse(acct.isRegistered(k.keyHash));
    }

    /// @dev Both sides of every reserved range: 200|201, 207|208, 250|251 (flags end at 250), 255; bit 0 is a
    /// hook address with a callback flag.
    function test_grant_reservedBitBoundaries() public {
        uint256[6] memory ok = [uint256(200), 208, 247, 248, 250, 0];
        uint256[6] memory bad = [uint256(201), 207, 251, 253, 254, 255];
        for (uint256 i; i < ok.length; ++i) {
            TestKey memory k = secp256k1Key(string(abi.encode("ok", i)));
            grant(k, uint256(1) << ok[i]);
            assertEq(acct.getKeySettings(k.keyHash), uint256(1) << ok[i]);
        }
        for (uint256 i; i < bad.length; ++i) {
            TestKey memory b = secp256k1Key(string(abi.encode("bad", i)));
            vm.prank(account);
            vm.expectRevert(abi.encodeWithSelector(IKeyward.NonCanonicalSettings.selector, uint256(1) << bad[i]));
            acct.grant(b.key, uint256(1) << bad[i]);
            assertFalse(acct.isRegistered(b.keyHash));
        }
    }

    /// @dev A hook address that enables no callback (low 5 bits 0) would enforce nothing: refused by grant and
    /// update (bit 159 alone is such an address; bit 0..4 alone are not).
    function test_grant_hookWithoutCallbacks_reverts() public {
        TestKey memory k = secp256k1Key("alice");
        address[3] memory silent = [address(uint160(1) << 159), address(0x20), address(0xabc0)];
        for (uint256 i; i < silent.length; ++i) {
            vm.prank(account);
            vm.expectRevert(abi.encodeWithSelector(IKeyward.HookWithoutCallbacks.selector, silent[i]));
            acct.grant(k.key, settingsOf(silent[i], 0, false, 0));
        }
        assertFalse(acct.isRegistered(k.keyHash));
        grant(k, settingsOf(address(0x21), 0, false, 0));
        for (uint256 i; i < silent.length; ++i) {
            vm.prank(account);
            vm.expectRevert(abi.encodeWithSelector(IKeyward.HookWithoutCallbacks.selector, silent[i]));
            acct.update(k.keyHash, settingsOf(silent[i], 0, true, 0));
        }
        assertEq(acct.getKeySettings(k.keyHash), settingsOf(address(0x21), 0, false, 0));
    }

    // ------------------------------------------------------------------------------------------------------------
    // update / revoke / revokeAll
    // ------------------------------------------------------------------------------------------------------------

    function test_update_writesSettings() public {
        TestKey memory k = secp256k1Key("alice");
        grant(k, 0);
        vm.expectEmit(address(acct));
        emit IKeyward.KeySettingsUpdated(k.keyHash, 1 << 200);
        rootCall(abi.encodeCall(IKeyward.update, (k.keyHash, 1 << 200)));
        assertEq(acct.getKeySettings(k.keyHash), 1 << 200);
    }

    /// @dev validAfter lives beside the key's word (only when set): clearing it, setting it again, and a revoked
    /// key granted again never read a stale one.
    function test_update_validAfterFollowsTheSettingsWord() public {
        TestKey memory k = secp256k1Key("alice");
        uint40 later = uint40(block.timestamp + 1000);
        grant(k, settingsOf(address(0), 0, false, later));
        vm.prank(k.signer);
        vm.expectRevert(abi.encodeWithSelector(IKeyward.KeyNotYetValid.selector, later));
        acct.execute(MODE_REVERT, abi.encode(one(address(target), 0, abi.encodeCall(Target.bump, ()))));
        rootCall(abi.encodeCall(IKeyward.update, (k.keyHash, settingsOf(address(0), 0, false, 0))));
        assertEq(acct.getKeySettings(k.keyHash), 0, "validAfter cleared");
        _directAs(k, one(address(target), 0, abi.encodeCall(Target.bump, ())));
        rootCall(abi.encodeCall(IKeyward.update, (k.keyHash, settingsOf(address(0), 0, true, later + 1))));
        assertEq(acct.getKeySettings(k.keyHash), settingsOf(address(0), 0, true, later + 1));
        rootCall(abi.encodeCall(IKeyward.revoke, (k.keyHash)));
        grant(k, 0);
        assertEq(acct.getKeySettings(k.keyHash), 0, "no stale validAfter after revoke and grant");
        _directAs(k, one(address(target), 0, abi.encodeCall(Target.bump, ())));
        assertEq(target.counter(), 2);
    }

    function test_update_errors() public {
        vm.startPrank(account);
        vm.expectRevert(IKeyward.CannotUpdateRootKey.selector);
        acct.update(bytes32(0), 0);
        vm.expectRevert(IKeyward.KeyDoesNotExist.selector);
        acct.update(keccak256("nobody"), 0);
        vm.stopPrank();
        TestKey memory k = secp256k1Key("alice");
        grant(k, 0);
        vm.prank(account);
        vm.expectRevert(abi.encodeWithSelector(IKeyward.NonCanonicalSettings.selector, uint256(1) << 255));
        acct.update(k.keyHash, uint256(1) << 255);
        assertEq(acct.getKeySettings(k.keyHash), 0);
    }

    function test_revoke_keepsEnumerationDense() public {
        TestKey[4] memory ks = [secp256k1Key("a"), secp256k1Key("b"), p256Key("c"), secp256k1Key("d")];
        for (uint256 i; i < 4; ++i) {
            grant(ks[i], 0);
        }
        vm.expectEmit(address(acct));
        emit IKeyward.Revoked(ks[1].keyHash);
        rootCall(abi.encodeCall(IKeyward.revoke, (ks[1].keyHash)));
        assertEq(acct.keyCount(), 3);
        assertFalse(acct.isRegistered(ks[1].keyHash));
        // The last key moved into the hole; every remaining key is listed once.
        bytes32[3] memory want = [ks[0].keyHash, ks[3].keyHash, ks[2].keyHash];
        for (uint256 i; i < 3; ++i) {
            assertEq(acct.hashKey(acct.keyAt(i)), want[i]);
        }
        rootCall(abi.encodeCall(IKeyward.revoke, (ks[2].keyHash))); // the last one
        rootCall(abi.encodeCall(IKeyward.revoke, (ks[0].keyHash)));
        assertEq(acct.keyCount(), 1);
        assertEq(acct.hashKey(acct.keyAt(0)), ks[3].keyHash);
        vm.expectRevert(IKeyward.IndexOutOfBounds.selector);
        acct.keyAt(1);
    }

    function test_revoke_errors() public {
        vm.startPrank(account);
        vm.expectRevert(IKeyward.KeyDoesNotExist.selector);
        acct.revoke(bytes32(0));
        vm.expectRevert(IKeyward.KeyDoesNotExist.selector);
        acct.revoke(keccak256("nobody"));
        vm.stopPrank();
    }

    function test_revoke_thenRegisterAgain_startsFresh() public {
        TestKey memory k = secp256k1Key("alice");
        grant(k, settingsOf(address(0xabc), 0, true, 0));
        bytes32 id1 = acct.keyIdOf(k.keyHash);
        rootCall(abi.encodeCall(IKeyward.revoke, (k.keyHash)));
        vm.expectRevert(IKeyward.KeyDoesNotExist.selector);
        acct.getKeySettings(k.keyHash);
        vm.expectRevert(IKeyward.KeyDoesNotExist.selector);
        acct.keyIdOf(k.keyHash);
        rootCall(abi.encodeCall(IKeyward.register, (k.key)));
        assertEq(acct.getKeySettings(k.keyHash), 0, "old settings must not revive");
        assertTrue(acct.keyIdOf(k.keyHash) != id1, "hooks must see a new key identity");
    }

    function test_revokeAll_removesEveryKeyAtOnce() public {
        TestKey memory a = secp256k1Key("a");
        TestKey memory b = p256Key("b");
        grant(a, 1 << 200);
        grant(b, 0);
        uint256 epoch = acct.keyEpoch();
        vm.expectEmit(address(acct));
        emit IKeyward.AllKeysRevoked(epoch + 1);
        rootCall(abi.encodeCall(IKeyward.revokeAll, ()));
        assertEq(acct.keyCount(), 0);
        assertFalse(acct.isRegistered(a.keyHash));
        assertFalse(acct.isRegistered(b.keyHash));
        // The revoked admin key can no longer act directly.
        vm.prank(a.signer);
        vm.expectRevert(IKeyward.Unauthorized.selector);
        acct.execute(MODE_REVERT, abi.encode(one(address(target), 0, abi.encodeCall(Target.bump, ()))));
        // Re-registering after revokeAll starts empty; the root still works.
        rootCall(abi.encodeCall(IKeyward.register, (a.key)));
        assertEq(acct.getKeySettings(a.keyHash), 0);
        assertEq(acct.keyCount(), 1);
        rootExecute(one(address(target), 0, abi.encodeCall(Target.bump, ())));
        assertEq(target.counter(), 1);
    }

    function test_redelegation_afterRevokeAll_bringsNothingBack() public {
        TestKey memory a = secp256k1Key("a");
        grant(a, 1 << 200);
        rootCall(abi.encodeCall(IKeyward.revokeAll, ()));
        delegate(account, address(0)); // EOA leaves, storage stays
        delegate(account, address(implementation)); // and comes back
        assertFalse(acct.isRegistered(a.keyHash));
        assertEq(acct.keyCount(), 0);
    }

    /// @dev The header word (types/Header.sol) at the namespace root: grants in bits 152-175, count in 130-151,
    /// epoch in 96-127. Each counter at its maximum refuses one more, one below it still works.
    function test_counters_overflowReverts() public {
        bytes32 slot = 0x1076cd6b71505057374da297140aa7db56153a63bd050936b89a9cd15467dc00;
        TestKey memory k = secp256k1Key("alice");
        // grants counter at its maximum (2^24 - 1): the next registration would be number 2^24.
        vm.store(account, slot, bytes32(uint256((1 << 24) - 1) << 152));
        vm.prank(account);
        vm.expectRevert(IKeyward.TooManyKeys.selector);
        acct.grant(k.key, 0);
        vm.store(account, slot, bytes32(uint256((1 << 24) - 2) << 152));
        grant(k, 0);
        assertTrue(acct.isRegistered(k.keyHash));
        // key count at its maximum list index (2^21 - 1: the stored word keeps 21 bits of index beside the pause
        // bit); one below it still works.
        TestKey memory k2 = secp256k1Key("bob");
        vm.store(account, slot, bytes32(uint256((1 << 21) - 1) << 130));
        vm.prank(account);
        vm.expectRevert(IKeyward.TooManyKeys.selector);
        acct.grant(k2.key, 0);
        vm.store(account, slot, bytes32(uint256((1 << 21) - 2) << 130));
        grant(k2, 0);
        assertEq(acct.keyCount(), (1 << 21) - 1);
        assertFalse(acct.isPaused(k2.keyHash), "the last index does not spill into the pause bit");
        // epoch at its maximum
        vm.store(account, slot, bytes32(uint256(type(uint32).max) << 96));
        vm.prank(account);
        vm.expectRevert(IKeyward.TooManyKeys.selector);
        acct.revokeAll();
        assertEq(acct.keyEpoch(), type(uint32).max);
        vm.store(account, slot, bytes32(uint256(type(uint32).max - 1) << 96));
        rootCall(abi.encodeCall(IKeyward.revokeAll, ()));
        assertEq(acct.keyEpoch(), type(uint32).max);
    }

    // ------------------------------------------------------------------------------------------------------------
    // Views
    // ------------------------------------------------------------------------------------------------------------

    function test_views_rootKey() public view {
        Key memory root = acct.getKey(bytes32(0));
        assertEq(uint8(root.keyType), uint8(KeyType.Secp256k1));
        assertEq(root.publicKey, abi.encode(account));
        assertEq(acct.getKeySettings(bytes32(0)), 1 << 200);
        assertFalse(acct.isRegistered(bytes32(0)));
        assertEq(acct.keyIdOf(bytes32(0)), bytes32(0));
    }

    function testFuzz_hashKey_matchesCaliburFormula(uint8 t, bytes memory publicKey) public view {
        KeyType keyType = KeyType(t % 3);
        assertEq(acct.hashKey(Key(keyType, publicKey)), keccak256(abi.encode(uint8(keyType), keccak256(publicKey))));
    }

    function test_getKey_unknown_reverts() public {
        vm.expectRevert(IKeyward.KeyDoesNotExist.selector);
        acct.getKey(keccak256("x"));
    }

    function test_updateEntryPoint_overridesAndDisables() public {
        assertEq(acct.ENTRY_POINT(), ENTRY_POINT);
        vm.expectEmit(address(acct));
        emit IKeyward.EntryPointUpdated(address(0x1234));
        rootCall(abi.encodeCall(IKeyward.updateEntryPoint, (address(0x1234))));
        assertEq(acct.ENTRY_POINT(), address(0x1234));
        rootCall(abi.encodeCall(IKeyward.updateEntryPoint, (address(0))));
        assertEq(acct.ENTRY_POINT(), address(0));
        PackedUserOperation memory op = userOp(new Call[](0));
        vm.prank(address(0));
        vm.expectRevert(IKeyward.NotEntryPoint.selector);
        acct.executeUserOp(op, bytes32(0));
        vm.prank(ENTRY_POINT);
        vm.expectRevert(IKeyward.NotEntryPoint.selector);
        acct.validateUserOp(op, bytes32(0), 0);
    }

    function test_receivers() public {
        (bool ok,) = account.call{value: 1 ether}("");
        assertTrue(ok);
        assertEq(acct.onERC721Received(address(0), address(0), 0, ""), acct.onERC721Received.selector);
        assertEq(acct.onERC1155Received(address(0), address(0), 0, 0, ""), acct.onERC1155Received.selector);
        assertEq(
            acct.onERC1155BatchReceived(address(0), address(0), new uint256[](0), new uint256[](0), ""),
            acct.onERC1155BatchReceived.selector
        );
    }

    // ------------------------------------------------------------------------------------------------------------
    // execute (ERC-7821), root
    // ------------------------------------------------------------------------------------------------------------

    function test_execute_root_batchWithValue() public {
        Call[] memory calls = new Call[](2);
        calls[0] = Call(address(target), 1 ether, abi.encodeCall(Target.bump, ()));
        calls[1] = Call(address(target), 0, abi.encodeCall(Target.bump, ()));
        rootExecute(calls);
        assertEq(target.counter(), 2);
        assertEq(address(target).balance, 1 ether);
        assertEq(target.lastCaller(), account);
    }

    function test_execute_revertMode_bubblesCallFailed() public {
        vm.prank(account);
        vm.expectRevert(
            abi.encodeWithSelector(IKeyward.CallFailed.selector, abi.encodeWithSelector(Target.Boom.selector, 7))
        );
        acct.execute(MODE_REVERT, abi.encode(one(address(target), 0, abi.encodeCall(Target.fail, (7)))));
    }

    function test_execute_continueMode_skipsFailures() public {
        Call[] memory calls = new Call[](3);
        calls[0] = Call(address(target), 0, abi.encodeCall(Target.bump, ()));
        calls[1] = Call(address(target), 0, abi.encodeCall(Target.fail, (1)));
        calls[2] = Call(address(target), 0, abi.encodeCall(Target.bump, ()));
        vm.prank(account);
        acct.execute(MODE_CONTINUE, abi.encode(calls));
        assertEq(target.counter(), 2);
    }

    function test_execute_unsupportedModes_revert() public {
        bytes32[3] memory modes =
            [bytes32(0), bytes32(uint256(0x01000000000078210001) << 176), bytes32(uint256(0x02) << 248)];
        for (uint256 i; i < 3; ++i) {
            assertFalse(acct.supportsExecutionMode(modes[i]));
            vm.prank(account);
            vm.expectRevert(IKeyward.UnsupportedExecutionMode.selector);
            acct.execute(modes[i], abi.encode(new Call[](0)));
        }
        assertTrue(acct.supportsExecutionMode(MODE_REVERT));
        assertTrue(acct.supportsExecutionMode(MODE_CONTINUE));
    }

    function test_execute_targetZero_meansSelf() public {
        TestKey memory k = secp256k1Key("alice");
        rootExecute(one(address(0), 0, abi.encodeCall(IKeyward.register, (k.key))));
        assertTrue(acct.isRegistered(k.keyHash));
    }

    function test_execute_outsider_reverts() public {
        vm.prank(address(0xdead));
        vm.expectRevert(IKeyward.Unauthorized.selector);
        acct.execute(MODE_REVERT, abi.encode(one(address(target), 0, "")));
    }

    // ------------------------------------------------------------------------------------------------------------
    // execute (ERC-7821), a key calling from its own address
    // ------------------------------------------------------------------------------------------------------------

    function _directAs(TestKey memory k, Call[] memory calls) internal {
        vm.prank(k.signer);
        acct.execute(MODE_REVERT, abi.encode(calls));
    }

    function test_execute_sessionKey_direct() public {
        TestKey memory k = secp256k1Key("alice");
        grant(k, 0);
        _directAs(k, one(address(target), 0, abi.encodeCall(Target.bump, ())));
        assertEq(target.counter(), 1);
        assertEq(target.lastCaller(), account);
    }

    /// @dev `KeyUsed(keyHash)` logs of the account in `logs`.
    function _keyUses(Vm.Log[] memory logs, bytes32 keyHash) internal view returns (uint256 n) {
        for (uint256 i; i < logs.length; ++i) {
            Vm.Log memory l = logs[i];
            if (l.emitter == account && l.topics[0] == IKeyward.KeyUsed.selector) {
                assertEq(l.topics.length, 2);
                assertEq(l.data.length, 0);
                if (l.topics[1] == keyHash) ++n;
            }
        }
    }

    function test_keyUsed_oncePerBatchOnEveryPath() public {
        TestKey memory k = secp256k1Key("alice");
        grant(k, 0);
        Call[] memory two = new Call[](2);
        two[0] = Call(address(target), 0, abi.encodeCall(Target.bump, ()));
        two[1] = two[0];
        // Direct: one event for a two-call batch.
        vm.recordLogs();
        _directAs(k, two);
        assertEq(_keyUses(vm.getRecordedLogs(), k.keyHash), 1, "direct");
        // Relayed.
        SignedBatchedCall memory b = signedBatch(two, k.keyHash, acct.getSeq(0));
        bytes memory sig = signBatch(k, b);
        vm.recordLogs();
        acct.execute(b, sig);
        assertEq(_keyUses(vm.getRecordedLogs(), k.keyHash), 1, "relayed");
        // ERC-4337.
        PackedUserOperation memory op = userOp(two);
        signUserOp(k, op);
        vm.recordLogs();
        handle(op);
        assertEq(_keyUses(vm.getRecordedLogs(), k.keyHash), 1, "4337");
        assertEq(target.counter(), 6);
    }

    function test_keyUsed_notForRootBatches() public {
        TestKey memory k = secp256k1Key("alice");
        grant(k, 0);
        vm.recordLogs();
        rootExecute(one(address(target), 0, abi.encodeCall(Target.bump, ())));
        Vm.Log[] memory logs = vm.getRecordedLogs();
        for (uint256 i; i < logs.length; ++i) {
            assertTrue(logs[i].topics[0] != IKeyward.KeyUsed.selector, "root batches emit nothing");
        }
        // A batch that reverts leaves no KeyUsed in the receipt (its frame's logs are discarded; forge's recorder
        // keeps them, so this is checked on anvil: crates/keyward/tests/it/anvil.rs).
    }

    function test_execute_nonAdmin_cannotSelfCall() public {
        TestKey memory k = secp256k1Key("alice");
        TestKey memory other = secp256k1Key("other");
        grant(k, 0);
        address[2] memory selves = [address(account), address(0)];
        for (uint256 i; i < 2; ++i) {
            vm.prank(k.signer);
            vm.expectRevert(IKeyward.OnlyAdminCanSelfCall.selector);
            acct.execute(MODE_REVERT, abi.encode(one(selves[i], 0, abi.encodeCall(IKeyward.grant, (other.key, 0)))));
            // Not even a plain value transfer to itself, and not in continue-on-failure mode.
            vm.prank(k.signer);
            vm.expectRevert(IKeyward.OnlyAdminCanSelfCall.selector);
            acct.execute(MODE_CONTINUE, abi.encode(one(selves[i], 1, "")));
        }
        assertFalse(acct.isRegistered(other.keyHash));
    }

    function test_execute_admin_canSelfCall() public {
        TestKey memory k = secp256k1Key("alice");
        TestKey memory other = secp256k1Key("other");
        grant(k, 1 << 200);
        _directAs(k, one(address(0), 0, abi.encodeCall(IKeyward.grant, (other.key, 0))));
        assertTrue(acct.isRegistered(other.keyHash));
    }

    function testFuzz_execute_expiryBoundary(uint40 expiration) public {
        expiration = uint40(bound(expiration, block.timestamp, type(uint40).max - 1));
        TestKey memory k = secp256k1Key("alice");
        grant(k, settingsOf(address(0), expiration, false, 0));
        vm.warp(expiration);
        _directAs(k, one(address(target), 0, abi.encodeCall(Target.bump, ())));
        vm.warp(uint256(expiration) + 1);
        vm.prank(k.signer);
        vm.expectRevert(abi.encodeWithSelector(IKeyward.KeyExpired.selector, expiration));
        acct.execute(MODE_REVERT, abi.encode(one(address(target), 0, abi.encodeCall(Target.bump, ()))));
        assertEq(target.counter(), 1);
    }

    function testFuzz_execute_validAfterBoundary(uint40 validAfter) public {
        validAfter = uint40(bound(validAfter, block.timestamp + 1, type(uint40).max));
        TestKey memory k = secp256k1Key("alice");
        grant(k, settingsOf(address(0), 0, false, validAfter));
        vm.warp(uint256(validAfter) - 1);
        vm.prank(k.signer);
        vm.expectRevert(abi.encodeWithSelector(IKeyward.KeyNotYetValid.selector, validAfter));
        acct.execute(MODE_REVERT, abi.encode(one(address(target), 0, abi.encodeCall(Target.bump, ()))));
        vm.warp(validAfter);
        _directAs(k, one(address(target), 0, abi.encodeCall(Target.bump, ())));
        assertEq(target.counter(), 1);
    }

    // ------------------------------------------------------------------------------------------------------------
    // Hooks on the direct path
    // ------------------------------------------------------------------------------------------------------------

    function test_hook_executionCallbacksSeeKeyIdentityAndCall() public {
        MockHook hook = deployHook(ALL_HOOK_FLAGS);
        TestKey memory k = secp256k1Key("alice");
        uint256 s = settingsOf(address(hook), 0, false, 0);
        grant(k, s);
        Call[] memory calls = new Call[](2);
        calls[0] = Call(address(target), 3, abi.encodeCall(Target.bump, ()));
        calls[1] = Call(address(target), 0, abi.encodeCall(Target.fail, (2)));
        vm.prank(k.signer);
        acct.execute(MODE_CONTINUE, abi.encode(calls));
        assertEq(hook.callCount(3), 2);
        assertEq(hook.callCount(4), 2);
        assertEq(hook.lastKeyHash(), k.keyHash, "Calibur's keyHash argument");
        assertEq(hook.lastKeyId(), acct.keyIdOf(k.keyHash), "Keyward's trailing keyId");
        assertEq(hook.lastSettings(), s);
        assertEq(hook.lastExtra(), (uint256(2) << 128) | 1, "batch length 2, call index 1");
        assertEq(hook.lastTo(), address(target));
        assertEq(hook.lastData(), abi.encodeCall(Target.fail, (2)));
        assertFalse(hook.lastSuccess());
        assertEq(hook.lastOutput(), abi.encodeWithSelector(Target.Boom.selector, 2), "afterExecute sees the revert");
        assertEq(abi.decode(hook.lastContext(), (uint256)), 2, "beforeExecute's context reaches afterExecute");
    }

    /// @dev A hook whose address enables no execution callback is not asked about calls, however it would answer.
    /// (A hook with no flag at all is refused at grant: test_grant_hookWithoutCallbacks_reverts.)
    function test_hook_executionFlagsOff_noExecutionCallbacks() public {
        MockHook hook = deployHook(0x04); // AFTER_IS_VALID_SIGNATURE only
        hook.setAnswer(3, MockHook.Answer.Revert); // would refuse every call if asked
        hook.setAnswer(4, MockHook.Answer.Revert);
        TestKey memory k = secp256k1Key("alice");
        grant(k, settingsOf(address(hook), 0, false, 0));
        _directAs(k, one(address(target), 0, abi.encodeCall(Target.bump, ())));
        assertEq(target.counter(), 1);
        assertEq(hook.callCount(3), 0);
        assertEq(hook.callCount(4), 0);
    }

    function test_hook_rejection_revertsBatch() public {
        MockHook hook = deployHook(ALL_HOOK_FLAGS);
        hook.setAnswer(3, MockHook.Answer.Revert);
        TestKey memory k = secp256k1Key("alice");
        grant(k, settingsOf(address(hook), 0, false, 0));
        vm.prank(k.signer);
        vm.expectRevert(abi.encodeWithSelector(MockHook.Refused.selector, 3));
        acct.execute(MODE_CONTINUE, abi.encode(one(address(target), 0, abi.encodeCall(Target.bump, ()))));
        assertEq(target.counter(), 0);
    }

    function test_hook_wrongAfterAnswer_reverts() public {
        MockHook hook = deployHook(ALL_HOOK_FLAGS);
        hook.setAnswer(4, MockHook.Answer.WrongSelector);
        TestKey memory k = secp256k1Key("alice");
        grant(k, settingsOf(address(hook), 0, false, 0));
        vm.prank(k.signer);
        vm.expectRevert(IKeyward.InvalidHookResponse.selector);
        acct.execute(MODE_REVERT, abi.encode(one(address(target), 0, abi.encodeCall(Target.bump, ()))));
    }

    function test_hook_withoutCode_isAnInvalidResponse() public {
        // A hook address with a callback flag but no code (an EOA) must not pass silently: BEFORE_EXECUTE (0x08),
        // AFTER_EXECUTE (0x10) and, on the direct path, AFTER_VERIFY_SIGNATURE (0x01).
        uint160[3] memory flags = [uint160(0x08), 0x10, 0x01];
        for (uint256 i; i < flags.length; ++i) {
            TestKey memory k = secp256k1Key(string(abi.encode("alice", i)));
            grant(k, settingsOf(address(uint160(0x1234500000000000000000000000000000000000) | flags[i]), 0, false, 0));
            vm.prank(k.signer);
            vm.expectRevert(IKeyward.InvalidHookResponse.selector);
            acct.execute(MODE_REVERT, abi.encode(one(address(target), 0, abi.encodeCall(Target.bump, ()))));
        }
        assertEq(target.counter(), 0);
    }

    /// @dev The AFTER_EXECUTE_ON_FAILURE settings flag (it was the hook address bit 0x10 before the redesign):
    /// beforeExecute before every call, afterExecute only after the failed one.
    function test_hook_afterFailureFlag_runsOnlyOnFailedCalls() public {
        MockHook hook = deployHook(EXECUTION_FLAGS);
        TestKey memory k = secp256k1Key("alice");
        grant(k, settingsOf(address(hook), 0, false, 0) | FLAG_AFTER_ON_FAILURE);
        Call[] memory calls = new Call[](2);
        calls[0] = Call(address(target), 0, abi.encodeCall(Target.bump, ()));
        calls[1] = Call(address(target), 0, abi.encodeCall(Target.fail, (1)));
        vm.prank(k.signer);
        acct.execute(MODE_CONTINUE, abi.encode(calls));
        assertEq(hook.callCount(3), 2);
        assertEq(hook.callCount(4), 1);
        assertFalse(hook.lastSuccess());
        assertEq(hook.lastExtra(), (uint256(2) << 128) | 1);
    }

    /// @dev Before the redesign a validation hook could narrow the key's window (onValidate's validationData). With
    /// Calibur's interface it can only refuse: afterVerifySignature (0x01) runs on the direct path too, with
    /// digest 0, and a revert or a wrong answer stops the batch; the key's own window still applies.
    function test_hook_afterVerifySignatureOnDirectPath_canOnlyRefuse() public {
        MockHook hook = deployHook(ALL_HOOK_FLAGS);
        TestKey memory k = secp256k1Key("alice");
        uint40 end = uint40(block.timestamp + 10);
        grant(k, settingsOf(address(hook), end, false, 0));
        hook.setAnswer(0, MockHook.Answer.Revert);
        vm.prank(k.signer);
        vm.expectRevert(abi.encodeWithSelector(MockHook.Refused.selector, 0));
        acct.execute(MODE_REVERT, abi.encode(one(address(target), 0, abi.encodeCall(Target.bump, ()))));
        hook.setAnswer(0, MockHook.Answer.WrongSelector);
        vm.prank(k.signer);
        vm.expectRevert(IKeyward.InvalidHookResponse.selector);
        acct.execute(MODE_REVERT, abi.encode(one(address(target), 0, abi.encodeCall(Target.bump, ()))));
        hook.setAnswer(0, MockHook.Answer.Approve);
        vm.warp(end);
        _directAs(k, one(address(target), 0, abi.encodeCall(Target.bump, ())));
        vm.warp(uint256(end) + 1);
        vm.prank(k.signer);
        vm.expectRevert(abi.encodeWithSelector(IKeyward.KeyExpired.selector, end));
        acct.execute(MODE_REVERT, abi.encode(one(address(target), 0, abi.encodeCall(Target.bump, ()))));
        assertEq(target.counter(), 1);
    }

    function test_hook_cannotReenterKeyManagement() public {
        MockHook hook = deployHook(ALL_HOOK_FLAGS);
        hook.setReenter(true);
        TestKey memory k = secp256k1Key("alice");
        grant(k, settingsOf(address(hook), 0, true, 0)); // even for an admin key
        vm.prank(k.signer);
        vm.expectRevert(IKeyward.Unauthorized.selector);
        acct.execute(MODE_REVERT, abi.encode(one(address(target), 0, abi.encodeCall(Target.bump, ()))));
    }

    function test_target_cannotReenterAsAccount() public {
        TestKey memory k = secp256k1Key("alice");
        TestKey memory other = secp256k1Key("other");
        grant(k, 0);
        bytes[3] memory probes = [
            abi.encodeCall(IKeyward.grant, (other.key, 1 << 200)),
            abi.encodeWithSignature(
                "execute(bytes32,bytes)",
                MODE_REVERT,
                abi.encode(one(address(0), 0, abi.encodeCall(IKeyward.grant, (other.key, 1 << 200))))
            ),
            abi.encodeWithSignature(
                "execute(((address,uint256,bytes)[],bool))",
                BatchedCall(one(address(0), 0, abi.encodeCall(IKeyward.grant, (other.key, 1 << 200))), true)
            )
        ];
        for (uint256 i; i < probes.length; ++i) {
            vm.prank(k.signer);
            vm.expectRevert(
                abi.encodeWithSelector(
                    IKeyward.CallFailed.selector, abi.encodeWithSelector(IKeyward.Unauthorized.selector)
                )
            );
            acct.execute(
                MODE_REVERT, abi.encode(one(address(target), 0, abi.encodeCall(Target.callBack, (account, probes[i]))))
            );
        }
        assertFalse(acct.isRegistered(other.keyHash));
    }
}
