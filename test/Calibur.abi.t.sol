// SPDX-License-Identifier: MIT
pragma solidity ^0.8.30;

import {Keyward} from "../contracts/Keyward.sol";
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
import {Target} from "./utils/MockHook.sol";
import {Vm} from "forge-std/Vm.sol";

/// @notice Calibur's ABI on Keyward (issue 12): `execute(BatchedCall)`, `multicall`, `invalidateNonce`,
/// `updateSalt`, `domainBytes`, the ERC-7201 views, the extension split (unknown selectors, `EXTENSION()`), and that
/// every function of `IKeyward` is answered by the account. ERC-7914 is in test/ERC7914.t.sol.
contract CaliburAbiTest is KeywardTestBase {
    bytes4 internal constant CALIBUR_EXECUTE_BATCH = 0x99e1d016;
    bytes32 internal constant ROOT = 0x1076cd6b71505057374da297140aa7db56153a63bd050936b89a9cd15467dc00;

    Target internal target;

    function setUp() public override {
        super.setUp();
        target = new Target();
    }

    function _bump() internal view returns (Call[] memory) {
        return one(address(target), 0, abi.encodeCall(Target.bump, ()));
    }

    /// @dev `execute(BatchedCall)` called by `caller` with Calibur's selector, as raw calldata.
    function _caliburExecute(address caller, Call[] memory calls, bool revertOnFailure)
        internal
        returns (bool ok, bytes memory ret)
    {
        vm.prank(caller);
        (ok, ret) = account.call(abi.encodeWithSelector(CALIBUR_EXECUTE_BATCH, BatchedCall(calls, revertOnFailure)));
    }

    // ------------------------------------------------------------------------------------------------------------
    // execute(BatchedCall)
    // ------------------------------------------------------------------------------------------------------------

    function test_executeBatchedCall_hasCaliburSelector() public pure {
        assertEq(bytes4(keccak256("execute(((address,uint256,bytes)[],bool))")), CALIBUR_EXECUTE_BATCH);
    }

    function test_executeBatchedCall_root() public {
        Call[] memory calls = new Call[](2);
        calls[0] = Call(address(target), 1 ether, abi.encodeCall(Target.bump, ()));
        calls[1] = Call(address(0), 0, abi.encodeCall(IKeyward.register, (secp256k1Key("via self").key)));
        (bool ok,) = _caliburExecute(account, calls, true);
        assertTrue(ok);
        assertEq(target.counter(), 1);
        assertEq(target.lastCaller(), account);
        assertEq(address(target).balance, 1 ether);
        assertTrue(acct.isRegistered(secp256k1Key("via self").keyHash), "the root may call the account itself");
    }

    function test_executeBatchedCall_revertOnFailureFlag() public {
        Call[] memory calls = new Call[](3);
        calls[0] = _bump()[0];
        calls[1] = Call(address(target), 0, abi.encodeCall(Target.fail, (9)));
        calls[2] = _bump()[0];
        (bool ok, bytes memory ret) = _caliburExecute(account, calls, true);
        assertFalse(ok);
        assertEq(
            ret, abi.encodeWithSelector(IKeyward.CallFailed.selector, abi.encodeWithSelector(Target.Boom.selector, 9))
        );
        assertEq(target.counter(), 0);
        (ok,) = _caliburExecute(account, calls, false);
        assertTrue(ok);
        assertEq(target.counter(), 2, "continue on failure skips the failed call");
    }

    function test_executeBatchedCall_registeredSecp256k1Key() public {
        TestKey memory k = secp256k1Key("session");
        grant(k, 0);
        vm.expectEmit(account);
        emit IKeyward.KeyUsed(k.keyHash);
        (bool ok,) = _caliburExecute(k.signer, _bump(), true);
        assertTrue(ok);
        assertEq(target.counter(), 1);
        assertEq(target.lastCaller(), account);
    }

    function test_executeBatchedCall_unregisteredOrRevokedKey_reverts() public {
        TestKey memory k = secp256k1Key("session");
        (bool ok, bytes memory ret) = _caliburExecute(k.signer, _bump(), true);
        assertFalse(ok);
        assertEq(ret, abi.encodeWithSelector(IKeyward.Unauthorized.selector));
        grant(k, 0);
        rootCall(abi.encodeCall(IKeyward.revoke, (k.keyHash)));
        (ok, ret) = _caliburExecute(k.signer, _bump(), true);
        assertFalse(ok);
        assertEq(ret, abi.encodeWithSelector(IKeyward.Unauthorized.selector));
        // A P256 key has no address to call from: the x coordinate's address is just an outsider.
        TestKey memory p = p256Key("p");
        grant(p, 1 << 200);
        (uint256 x,) = abi.decode(p.key.publicKey, (uint256, uint256));
        (ok, ret) = _caliburExecute(address(uint160(x)), _bump(), true);
        assertFalse(ok);
        assertEq(target.counter(), 0);
    }

    function test_executeBatchedCall_expiryBoundary() public {
        TestKey memory k = secp256k1Key("session");
        uint40 end = uint40(block.timestamp + 100);
        grant(k, settingsOf(address(0), end, false, 0));
        vm.warp(end);
        (bool ok,) = _caliburExecute(k.signer, _bump(), true);
        assertTrue(ok, "valid through its expiration second");
        vm.warp(uint256(end) + 1);
        bytes memory ret;
        (ok, ret) = _caliburExecute(k.signer, _bump(), true);
        assertFalse(ok);
        assertEq(ret, abi.encodeWithSelector(IKeyward.KeyExpired.selector, end));
        assertEq(target.counter(), 1);
    }

    function test_executeBatchedCall_validAfterBoundary() public {
        TestKey memory k = secp256k1Key("session");
        uint40 start = uint40(block.timestamp + 100);
        grant(k, settingsOf(address(0), 0, false, start));
        vm.warp(uint256(start) - 1);
        (bool ok, bytes memory ret) = _caliburExecute(k.signer, _bump(), true);
        assertFalse(ok);
        assertEq(ret, abi.encodeWithSelector(IKeyward.KeyNotYetValid.selector, start));
        vm.warp(start);
        (ok,) = _caliburExecute(k.signer, _bump(), true);
        assertTrue(ok, "valid from its validAfter second");
        assertEq(target.counter(), 1);
    }

    function test_executeBatchedCall_nonAdminKey_cannotSelfCall() public {
        TestKey memory k = secp256k1Key("session");
        TestKey memory other = secp256k1Key("other");
        grant(k, 0);
        (bool ok, bytes memory ret) =
            _caliburExecute(k.signer, one(address(0), 0, abi.encodeCall(IKeyward.register, (other.key))), false);
        assertFalse(ok);
        assertEq(ret, abi.encodeWithSelector(IKeyward.OnlyAdminCanSelfCall.selector));
        assertFalse(acct.isRegistered(other.keyHash));
    }

    // ------------------------------------------------------------------------------------------------------------
    // multicall
    // ------------------------------------------------------------------------------------------------------------

    function test_multicall_root_runsEveryItemAsTheCaller() public {
        TestKey memory a = secp256k1Key("a");
        TestKey memory b = p256Key("b");
        bytes[] memory items = new bytes[](3);
        items[0] = abi.encodeCall(IKeyward.register, (a.key));
        items[1] = abi.encodeCall(IKeyward.grant, (b.key, 1 << 200));
        items[2] = abi.encodeCall(IKeyward.keyCount, ());
        vm.prank(account);
        bytes[] memory results = acct.multicall(items);
        assertTrue(acct.isRegistered(a.keyHash));
        assertEq(acct.getKeySettings(b.keyHash), 1 << 200);
        assertEq(results.length, 3);
        assertEq(results[0].length, 0);
        assertEq(abi.decode(results[2], (uint256)), 2, "items run in order and return their data");
    }

    /// @dev Items keep `msg.sender`: a key's own multicall of `execute(BatchedCall)` runs as that key (KeyUsed
    /// names it); an outsider's item is refused as the outsider.
    function test_multicall_itemsKeepMsgSender() public {
        TestKey memory k = secp256k1Key("session");
        grant(k, 0);
        bytes[] memory items = new bytes[](2);
        items[0] = abi.encodeWithSelector(CALIBUR_EXECUTE_BATCH, BatchedCall(_bump(), true));
        items[1] = abi.encodeWithSignature("execute(bytes32,bytes)", MODE_REVERT, abi.encode(_bump()));
        vm.recordLogs();
        vm.prank(k.signer);
        acct.multicall(items);
        Vm.Log[] memory logs = vm.getRecordedLogs();
        uint256 uses;
        for (uint256 i; i < logs.length; ++i) {
            if (logs[i].topics[0] == IKeyward.KeyUsed.selector && logs[i].topics[1] == k.keyHash) ++uses;
        }
        assertEq(uses, 2);
        assertEq(target.counter(), 2);
        vm.prank(address(0xdead));
        vm.expectRevert(IKeyward.Unauthorized.selector);
        acct.multicall(items);
    }

    function test_multicall_failingItem_revertsAllWithItsData() public {
        TestKey memory a = secp256k1Key("a");
        bytes[] memory items = new bytes[](3);
        items[0] = abi.encodeCall(IKeyward.register, (a.key));
        items[1] = abi.encodeCall(IKeyward.grant, (a.key, 0)); // already registered by item 0
        items[2] = abi.encodeCall(IKeyward.revokeAll, ());
        vm.prank(account);
        vm.expectRevert(abi.encodeWithSelector(IKeyward.KeyAlreadyRegistered.selector, a.keyHash));
        acct.multicall(items);
        assertFalse(acct.isRegistered(a.keyHash), "item 0 rolled back");
        assertEq(acct.keyEpoch(), 0, "item 2 never ran");
        // Unknown selectors inside a multicall revert with FnSelectorNotRecognized.
        items = new bytes[](1);
        items[0] = hex"deadbeef";
        vm.prank(account);
        vm.expectRevert(IKeyward.FnSelectorNotRecognized.selector);
        acct.multicall(items);
    }

    /// @dev No path lets a non-admin key reach a management function through multicall: calling it from its own
    /// address (items run as the key: Unauthorized), putting it in its batch (a self-call: OnlyAdminCanSelfCall), or
    /// wrapping its own batch in it. An admin key can.
    function test_multicall_nonAdminKey_cannotReachAdminFunctions() public {
        TestKey memory k = secp256k1Key("session");
        TestKey memory evil = secp256k1Key("evil");
        grant(k, 0);
        bytes[] memory items = new bytes[](1);
        items[0] = abi.encodeCall(IKeyward.grant, (evil.key, 1 << 200));
        vm.prank(k.signer);
        vm.expectRevert(IKeyward.Unauthorized.selector);
        acct.multicall(items);
        Call[] memory viaBatch = one(address(0), 0, abi.encodeCall(IKeyward.multicall, (items)));
        (bool ok, bytes memory ret) = _caliburExecute(k.signer, viaBatch, false);
        assertFalse(ok);
        assertEq(ret, abi.encodeWithSelector(IKeyward.OnlyAdminCanSelfCall.selector));
        SignedBatchedCall memory b = signedBatch(viaBatch, k.keyHash, 0);
        bytes memory sig = signBatch(k, b);
        vm.expectRevert(IKeyward.OnlyAdminCanSelfCall.selector);
        acct.execute(b, sig);
        bytes[] memory wrapped = new bytes[](1);
        wrapped[0] = abi.encodeWithSelector(CALIBUR_EXECUTE_BATCH, BatchedCall(viaBatch, true));
        vm.prank(k.signer);
        vm.expectRevert(IKeyward.OnlyAdminCanSelfCall.selector);
        acct.multicall(wrapped);
        assertFalse(acct.isRegistered(evil.keyHash));
        // An admin key reaches it through a self-call.
        TestKey memory admin = secp256k1Key("admin");
        grant(admin, 1 << 200);
        (ok,) = _caliburExecute(admin.signer, viaBatch, true);
        assertTrue(ok);
        assertEq(acct.getKeySettings(evil.keyHash), 1 << 200);
    }

    // ------------------------------------------------------------------------------------------------------------
    // invalidateNonce
    // ------------------------------------------------------------------------------------------------------------

    function test_invalidateNonce_movesTheLaneForward() public {
        uint256 lane = 7;
        vm.expectEmit(account);
        emit IKeyward.NonceInvalidated((lane << 64) | 5);
        rootCall(abi.encodeCall(IKeyward.invalidateNonce, ((lane << 64) | 5)));
        assertEq(acct.getSeq(lane), 5);
        assertEq(acct.nonceSequenceNumber(lane), 5);
        assertEq(acct.getSeq(0), 0, "other lanes untouched");
    }

    function test_invalidateNonce_mustBeStrictlyGreater() public {
        uint256 lane = 3;
        vm.startPrank(account);
        vm.expectRevert(IKeyward.InvalidNonce.selector);
        acct.invalidateNonce(lane << 64); // == current (0)
        acct.invalidateNonce((lane << 64) | 1); // current + 1
        vm.expectRevert(IKeyward.InvalidNonce.selector);
        acct.invalidateNonce((lane << 64) | 1); // == current
        vm.expectRevert(IKeyward.InvalidNonce.selector);
        acct.invalidateNonce(lane << 64); // below
        vm.stopPrank();
        assertEq(acct.getSeq(lane), 1);
    }

    function test_invalidateNonce_atMost65535AtOnce() public {
        uint256 lane = 9;
        vm.startPrank(account);
        acct.invalidateNonce((lane << 64) | 10);
        vm.expectRevert(IKeyward.ExcessiveInvalidation.selector);
        acct.invalidateNonce((lane << 64) | (10 + 65_536));
        acct.invalidateNonce((lane << 64) | (10 + 65_535));
        vm.stopPrank();
        assertEq(acct.getSeq(lane), 10 + 65_535);
    }

    function test_invalidateNonce_onlyTheAccount() public {
        vm.prank(address(0xdead));
        vm.expectRevert(IKeyward.Unauthorized.selector);
        acct.invalidateNonce(1);
        TestKey memory k = secp256k1Key("session");
        grant(k, 0);
        vm.prank(k.signer);
        vm.expectRevert(IKeyward.Unauthorized.selector);
        acct.invalidateNonce(1);
        (bool ok, bytes memory ret) =
            _caliburExecute(k.signer, one(address(0), 0, abi.encodeCall(IKeyward.invalidateNonce, (1))), true);
        assertFalse(ok);
        assertEq(ret, abi.encodeWithSelector(IKeyward.OnlyAdminCanSelfCall.selector));
        assertEq(acct.getSeq(0), 0);
        // An admin key may (through a self-call).
        TestKey memory admin = secp256k1Key("admin");
        grant(admin, 1 << 200);
        (ok,) = _caliburExecute(admin.signer, one(address(0), 0, abi.encodeCall(IKeyward.invalidateNonce, (1))), true);
        assertTrue(ok);
        assertEq(acct.getSeq(0), 1);
    }

    function test_invalidateNonce_killsAPendingSignedBatch() public {
        TestKey memory k = secp256k1Key("session");
        grant(k, 0);
        uint256 lane = acct.reservedLane(k.keyHash, 0);
        SignedBatchedCall memory b = signedBatch(_bump(), k.keyHash, lane << 64);
        bytes memory sig = signBatch(k, b);
        rootCall(abi.encodeCall(IKeyward.invalidateNonce, ((lane << 64) | 1)));
        vm.expectRevert(IKeyward.InvalidNonce.selector);
        acct.execute(b, sig);
        // The next sequence in that lane still works.
        _relayNext(k, lane);
        assertEq(target.counter(), 1);
    }

    function _relayNext(TestKey memory k, uint256 lane) internal {
        SignedBatchedCall memory b = signedBatch(_bump(), k.keyHash, (lane << 64) | acct.getSeq(lane));
        bytes memory sig = signBatch(k, b);
        acct.execute(b, sig);
    }

    // ------------------------------------------------------------------------------------------------------------
    // updateSalt, domainBytes, eip712Domain
    // ------------------------------------------------------------------------------------------------------------

    function _domainEvents(Vm.Log[] memory logs) internal view returns (uint256 n) {
        for (uint256 i; i < logs.length; ++i) {
            if (logs[i].emitter == account && logs[i].topics[0] == IKeyward.EIP712DomainChanged.selector) ++n;
        }
    }

    function test_updateSalt_emitsOnlyWhenChanged() public {
        vm.recordLogs();
        rootCall(abi.encodeCall(IKeyward.updateSalt, (0)));
        assertEq(_domainEvents(vm.getRecordedLogs()), 0, "same prefix: no event");
        rootCall(abi.encodeCall(IKeyward.updateSalt, (5)));
        assertEq(_domainEvents(vm.getRecordedLogs()), 1);
        rootCall(abi.encodeCall(IKeyward.updateSalt, (5)));
        assertEq(_domainEvents(vm.getRecordedLogs()), 0, "same prefix again: no event");
        rootCall(abi.encodeCall(IKeyward.updateSalt, (type(uint96).max)));
        assertEq(_domainEvents(vm.getRecordedLogs()), 1);
    }

    function test_updateSalt_domainViewsReflectIt() public {
        uint96 prefix = 0xabcdef;
        bytes32 implSalt = bytes32(uint256(uint160(address(implementation))));
        (,,,,, bytes32 salt,) = acct.eip712Domain();
        assertEq(salt, implSalt);
        rootCall(abi.encodeCall(IKeyward.updateSalt, (prefix)));
        (bytes1 fields, string memory name, string memory version, uint256 chainId, address verifying, bytes32 s2,) =
            acct.eip712Domain();
        bytes32 expected = bytes32((uint256(prefix) << 160) | uint160(address(implementation)));
        assertEq(s2, expected);
        assertEq(fields, hex"1f");
        assertEq(name, "Keyward");
        assertEq(version, "1");
        assertEq(chainId, block.chainid);
        assertEq(verifying, account);
        assertEq(acct.domainBytes(), abi.encode(keccak256("Keyward"), keccak256("1"), block.chainid, account, expected));
        assertEq(
            acct.domainSeparator(),
            keccak256(
                abi.encode(
                    keccak256(
                        "EIP712Domain(string name,string version,uint256 chainId,address verifyingContract,bytes32 salt)"
                    ),
                    keccak256("Keyward"),
                    keccak256("1"),
                    block.chainid,
                    account,
                    expected
                )
            )
        );
    }

    function test_updateSalt_invalidatesOutstandingRelayedSignatures() public {
        TestKey memory k = secp256k1Key("session");
        grant(k, 0);
        SignedBatchedCall memory b = signedBatch(_bump(), k.keyHash, 0);
        bytes memory sig = signBatch(k, b);
        SignedBatchedCall memory rootBatch = signedBatch(_bump(), bytes32(0), 0);
        bytes memory rootSig = signBatch(rootTestKey(), rootBatch);
        rootCall(abi.encodeCall(IKeyward.updateSalt, (1)));
        vm.expectRevert(IKeyward.InvalidSignature.selector);
        acct.execute(b, sig);
        vm.expectRevert(IKeyward.InvalidSignature.selector);
        acct.execute(rootBatch, rootSig);
        // Signed under the new domain, it runs.
        acct.execute(b, signBatch(k, b));
        assertEq(target.counter(), 1);
    }

    function test_updateSalt_invalidatesOutstandingERC1271Signatures() public {
        TestKey memory admin = p256Key("admin");
        grant(admin, 1 << 200);
        bytes32 h = keccak256("message");
        bytes memory rootPersonal = personalSign(rootTestKey(), h);
        bytes memory adminPersonal = personalSign(admin, h);
        (bytes32 th, bytes memory typed) =
            typedDataSign(admin, keccak256("app"), keccak256("contents"), "Mail(address to,string contents)");
        assertEq(acct.isValidSignature(h, rootPersonal), bytes4(0x1626ba7e));
        assertEq(acct.isValidSignature(h, adminPersonal), bytes4(0x1626ba7e));
        assertEq(acct.isValidSignature(th, typed), bytes4(0x1626ba7e));
        rootCall(abi.encodeCall(IKeyward.updateSalt, (42)));
        assertEq(acct.isValidSignature(h, rootPersonal), bytes4(0xffffffff));
        assertEq(acct.isValidSignature(h, adminPersonal), bytes4(0xffffffff));
        assertEq(acct.isValidSignature(th, typed), bytes4(0xffffffff));
        // A fresh signature under the new salt verifies. (A raw 65-byte root signature of `h` is the EOA's own
        // ECDSA signature and no domain is involved: it stays valid, as in Calibur.)
        assertEq(acct.isValidSignature(h, personalSign(admin, h)), bytes4(0x1626ba7e));
        (uint8 v, bytes32 r, bytes32 s) = vm.sign(rootKey, h);
        assertEq(acct.isValidSignature(h, abi.encodePacked(r, s, v)), bytes4(0x1626ba7e));
    }

    function test_updateSalt_onlyTheAccount() public {
        vm.prank(address(0xdead));
        vm.expectRevert(IKeyward.Unauthorized.selector);
        acct.updateSalt(1);
        TestKey memory k = secp256k1Key("session");
        grant(k, 0);
        (bool ok, bytes memory ret) =
            _caliburExecute(k.signer, one(address(0), 0, abi.encodeCall(IKeyward.updateSalt, (1))), true);
        assertFalse(ok);
        assertEq(ret, abi.encodeWithSelector(IKeyward.OnlyAdminCanSelfCall.selector));
        (,,,,, bytes32 salt,) = acct.eip712Domain();
        assertEq(uint256(salt) >> 160, 0);
    }

    // ------------------------------------------------------------------------------------------------------------
    // ERC-7201
    // ------------------------------------------------------------------------------------------------------------

    function test_namespaceAndVersion_rootMatchesERC7201() public {
        string memory ns = acct.namespaceAndVersion();
        assertEq(ns, "keyward.account.v2");
        bytes32 formula = keccak256(abi.encode(uint256(keccak256(bytes(ns))) - 1)) & ~bytes32(uint256(0xff));
        assertEq(acct.CUSTOM_STORAGE_ROOT(), formula);
        assertEq(formula, ROOT);
        // It is where the account keeps its state: the header word (key count in bits 130-151) moves on a grant.
        assertEq(vm.load(account, ROOT), bytes32(0));
        grant(secp256k1Key("k"), 0);
        assertEq((uint256(vm.load(account, ROOT)) >> 130) & ((1 << 22) - 1), 1);
    }

    // ------------------------------------------------------------------------------------------------------------
    // The extension
    // ------------------------------------------------------------------------------------------------------------

    function test_extension_isTheContractKeywardCreated() public {
        address ext = acct.EXTENSION();
        assertEq(ext, vm.computeCreateAddress(address(implementation), 1));
        assertEq(implementation.EXTENSION(), ext);
        assertGt(ext.code.length, 0);
        Keyward other = newImplementation();
        assertTrue(other.EXTENSION() != ext, "each implementation creates its own");
    }

    function test_unknownSelector_revertsFnSelectorNotRecognized() public {
        bytes[4] memory unknown = [
            bytes(hex"deadbeef"),
            abi.encodeWithSignature("getSeq(bytes32,uint256)", bytes32(0), 0), // the old two-argument view is gone
            abi.encodeWithSignature("onValidate(bytes32,bytes32,bytes)", bytes32(0), bytes32(0), bytes("")),
            bytes(hex"01") // shorter than a selector
        ];
        for (uint256 i; i < unknown.length; ++i) {
            (bool ok, bytes memory ret) = account.call(unknown[i]);
            assertFalse(ok);
            assertEq(ret, abi.encodeWithSelector(IKeyward.FnSelectorNotRecognized.selector));
        }
        // Empty calldata is a plain transfer (receive).
        (bool sent,) = account.call{value: 1}("");
        assertTrue(sent);
    }

    /// @dev Called directly, the extension only ever touches its own (empty) storage: its views see no keys, its
    /// settings functions answer to itself only, and nothing of the account's storage is read or written.
    function test_extension_calledDirectly_touchesOnlyItsOwnStorage() public {
        TestKey memory k = secp256k1Key("k");
        grant(k, 1 << 200);
        IKeyward ext = IKeyward(acct.EXTENSION());
        bytes32 header = vm.load(account, ROOT);
        vm.record();
        assertEq(ext.keyCount(), 0);
        assertFalse(ext.isRegistered(k.keyHash));
        assertEq(ext.getSeq(0), 0);
        vm.expectRevert(IKeyward.Unauthorized.selector);
        ext.updateEntryPoint(address(0xdead));
        vm.expectRevert(IKeyward.Unauthorized.selector);
        ext.approveNative(address(this), 1);
        // revokeAll lives in the account's core, not in the extension.
        vm.expectRevert(IKeyward.FnSelectorNotRecognized.selector);
        ext.revokeAll();
        vm.startPrank(address(ext));
        ext.updateSalt(7);
        ext.updateEntryPoint(address(0xdead));
        ext.invalidateNonce(1);
        vm.stopPrank();
        (bytes32[] memory reads, bytes32[] memory writes) = vm.accesses(account);
        assertEq(reads.length + writes.length, 0, "the account's storage is untouched");
        (, writes) = vm.accesses(address(ext));
        assertGt(writes.length, 0, "the extension wrote its own storage");
        assertEq(vm.load(account, ROOT), header);
        assertEq(acct.keyEpoch(), 0);
        assertEq(acct.getSeq(0), 0);
        assertEq(acct.ENTRY_POINT(), ENTRY_POINT);
        assertEq(ext.ENTRY_POINT(), address(0xdead));
        (,,,, address verifying, bytes32 salt,) = ext.eip712Domain();
        assertEq(verifying, address(ext));
        assertEq(uint256(salt) >> 160, 7);
        assertTrue(acct.isRegistered(k.keyHash));
    }

    // ------------------------------------------------------------------------------------------------------------
    // Every function of IKeyward is answered
    // ------------------------------------------------------------------------------------------------------------

    /// @dev Every external function of IKeyward, by signature (the list is checked against the compiled interface).
    function _signatures() internal pure returns (string[54] memory s) {
        s = [
            "register((uint8,bytes))",
            "grant((uint8,bytes),uint256)",
            "update(bytes32,uint256)",
            "revoke(bytes32)",
            "revokeAll()",
            "updateEntryPoint(address)",
            "setGasBudget(bytes32,(uint96,uint40,uint96))",
            "getKey(bytes32)",
            "getKeySettings(bytes32)",
            "isRegistered(bytes32)",
            "keyCount()",
            "keyAt(uint256)",
            "keyIdOf(bytes32)",
            "keyEpoch()",
            "hashKey((uint8,bytes))",
            "gasBudget(bytes32)",
            "getSeq(uint256)",
            "nonceSequenceNumber(uint256)",
            "reservedLane(bytes32,uint32)",
            "invalidateNonce(uint256)",
            "execute(((address,uint256,bytes)[],bool))",
            "execute(bytes32,bytes)",
            "execute((((address,uint256,bytes)[],bool),uint256,bytes32,address,uint256),bytes)",
            "supportsExecutionMode(bytes32)",
            "hashSignedBatchedCall((((address,uint256,bytes)[],bool),uint256,bytes32,address,uint256))",
            "multicall(bytes[])",
            "ENTRY_POINT()",
            "validateUserOp((address,uint256,bytes,bytes,bytes32,uint256,bytes32,bytes,bytes),bytes32,uint256)",
            "executeUserOp((address,uint256,bytes,bytes,bytes32,uint256,bytes32,bytes,bytes),bytes32)",
            "isValidSignature(bytes32,bytes)",
            "eip712Domain()",
            "domainSeparator()",
            "domainBytes()",
            "hashTypedData(bytes32)",
            "updateSalt(uint96)",
            "EXTENSION()",
            "namespaceAndVersion()",
            "CUSTOM_STORAGE_ROOT()",
            "approveNative(address,uint256)",
            "approveNativeTransient(address,uint256)",
            "transferFromNative(address,address,uint256)",
            "transferFromNativeTransient(address,address,uint256)",
            "nativeAllowance(address)",
            "transientNativeAllowance(address)",
            "onERC721Received(address,address,uint256,bytes)",
            "onERC1155Received(address,address,uint256,uint256,bytes)",
            "onERC1155BatchReceived(address,address,uint256[],uint256[],bytes)",
            "verifyKeySignature(bytes32,bytes32,bytes)",
            "pauseKey(bytes32)",
            "resumeKey(bytes32)",
            "pauseAll()",
            "resumeAll()",
            "isPaused(bytes32)",
            "pauseStatus(bytes32)"
        ];
    }

    uint256 internal constant FUNCTION_COUNT = 54;

    /// @dev The listed functions are exactly the compiled interface's (its artifact's method identifiers).
    function test_selectors_listIsTheWholeInterface() public view {
        string memory json = vm.readFile("out/IKeyward.sol/IKeyward.json");
        string[] memory compiled = vm.parseJsonKeys(json, ".methodIdentifiers");
        assertEq(compiled.length, FUNCTION_COUNT, "IKeyward's function count changed: update the list");
        string[54] memory listed = _signatures();
        for (uint256 i; i < compiled.length; ++i) {
            bool found;
            for (uint256 j; j < FUNCTION_COUNT; ++j) {
                if (keccak256(bytes(listed[j])) == keccak256(bytes(compiled[i]))) found = true;
            }
            assertTrue(found, compiled[i]);
        }
    }

    /// @dev Each function is answered by the account (core or extension): called with zeroed arguments (every offset
    /// 0, so dynamic arguments decode as empty), whatever it answers is not FnSelectorNotRecognized (what the
    /// extension's fallback says for a selector neither contract has).
    function test_selectors_everyFunctionIsAnswered() public {
        string[54] memory listed = _signatures();
        for (uint256 i; i < FUNCTION_COUNT; ++i) {
            bytes memory data = abi.encodePacked(bytes4(keccak256(bytes(listed[i]))), new bytes(0x200));
            vm.prank(account);
            (bool ok, bytes memory ret) = account.call(data);
            if (!ok) {
                assertTrue(
                    ret.length < 4 || bytes4(ret) != IKeyward.FnSelectorNotRecognized.selector,
                    string.concat("not answered: ", listed[i])
                );
            }
        }
        // The check can fail: a selector nobody has is refused.
        (bool okUnknown, bytes memory retUnknown) =
            account.call(abi.encodePacked(bytes4(keccak256("notAFunction()")), new bytes(0x200)));
        assertFalse(okUnknown);
        assertEq(bytes4(retUnknown), IKeyward.FnSelectorNotRecognized.selector);
    }

    /// @dev Calibur's ERC-4337 entry points have the v0.7/v0.8 selectors Calibur has.
    function test_selectors_erc4337AndErc1271AreStandard() public pure {
        assertEq(IKeyward.validateUserOp.selector, bytes4(0x19822f7c));
        assertEq(IKeyward.executeUserOp.selector, bytes4(0x8dd7712f));
        assertEq(IKeyward.isValidSignature.selector, bytes4(0x1626ba7e));
        assertEq(IKeyward.multicall.selector, bytes4(0xac9650d8));
    }
}
