// SPDX-License-Identifier: MIT
pragma solidity ^0.8.30;

import {Call, IKeyward, PackedUserOperation, SignedBatchedCall} from "../contracts/interfaces/IKeyward.sol";
import {KeywardTestBase, TestKey} from "./utils/KeywardTestBase.sol";
import {Target} from "./utils/MockHook.sol";

/// @notice Issue 13, items 5 and 13: nonce lanes. The root and every key registration own lanes no other key can
/// use (relayed batches and ERC-4337 nonces alike); open lanes (high 160 bits zero, lane 0 among them) stay usable
/// by every key, as in Calibur. Since a key's lanes derive from its keyId, a batch or operation signed in a
/// reserved lane never runs again after the key is revoked and granted again; in an open lane it still does (the
/// documented limitation, proven here so the documentation stays true).
contract LanesTest is KeywardTestBase {
    Target internal target;
    TestKey internal a;
    TestKey internal b;

    function setUp() public override {
        super.setUp();
        target = new Target();
        a = secp256k1Key("a");
        b = p256Key("b");
        grant(a, 0);
        grant(b, 0);
    }

    function _bump() internal view returns (Call[] memory) {
        return one(address(target), 0, abi.encodeCall(Target.bump, ()));
    }

    /// @dev The next nonce of lane `lane` (the 192-bit lane key) for relayed batches.
    function _relayedNonce(uint256 lane) internal view returns (uint256) {
        return (lane << 64) | acct.getSeq(lane);
    }

    function _signedIn(TestKey memory k, uint256 nonce)
        internal
        view
        returns (SignedBatchedCall memory batch, bytes memory sig)
    {
        batch = signedBatch(_bump(), k.keyHash, nonce);
        sig = signBatch(k, batch);
    }

    /// @dev A user operation of `k` in ERC-4337 nonce lane `lane` (EntryPoint's 192-bit nonce key).
    function _opIn(TestKey memory k, uint192 lane) internal view returns (PackedUserOperation memory op) {
        op = userOp(_bump());
        op.nonce = entryPoint.getNonce(account, lane);
        signUserOp(k, op);
    }

    function _mem(TestKey storage k) internal view returns (TestKey memory) {
        return k;
    }

    function _expectAA23(bytes memory inner) internal {
        vm.expectRevert(abi.encodeWithSignature("FailedOpWithRevert(uint256,string,bytes)", 0, "AA23 reverted", inner));
    }

    // ------------------------------------------------------------------------------------------------------------
    // reservedLane
    // ------------------------------------------------------------------------------------------------------------

    function testFuzz_reservedLane_values(uint32 index) public view {
        uint192 tag = uint192(0x4b575244) << 160; // "KWRD"
        assertEq(
            acct.reservedLane(bytes32(0), index),
            tag | (uint192(uint128(uint160(address(account)))) << 32) | index,
            "root: the low 128 bits of the account's address"
        );
        assertEq(
            acct.reservedLane(a.keyHash, index),
            tag | (uint192(uint128(uint256(acct.keyIdOf(a.keyHash)))) << 32) | index,
            "a key: the low 128 bits of its keyId"
        );
        assertTrue(acct.reservedLane(a.keyHash, index) != acct.reservedLane(b.keyHash, index));
    }

    function test_reservedLane_unknownKey_reverts() public {
        vm.expectRevert(IKeyward.KeyDoesNotExist.selector);
        acct.reservedLane(keccak256("nobody"), 0);
        rootCall(abi.encodeCall(IKeyward.revoke, (a.keyHash)));
        vm.expectRevert(IKeyward.KeyDoesNotExist.selector);
        acct.reservedLane(a.keyHash, 0);
    }

    // ------------------------------------------------------------------------------------------------------------
    // Relayed batches
    // ------------------------------------------------------------------------------------------------------------

    /// @dev A session key cannot spend a nonce in the root's reserved lane or in another key's, at any index; the
    /// refusal spends nothing.
    function test_relayedLanes_foreignReservedLane_reverts() public {
        uint256[4] memory foreign = [
            uint256(acct.reservedLane(bytes32(0), 0)),
            acct.reservedLane(bytes32(0), type(uint32).max),
            acct.reservedLane(b.keyHash, 0),
            acct.reservedLane(b.keyHash, 7)
        ];
        for (uint256 i; i < foreign.length; ++i) {
            (SignedBatchedCall memory batch, bytes memory sig) = _signedIn(a, foreign[i] << 64);
            vm.expectRevert(IKeyward.NonceLaneReserved.selector);
            acct.execute(batch, sig);
            assertEq(acct.getSeq(foreign[i]), 0);
        }
        // The root cannot use a key's lane either.
        (SignedBatchedCall memory rootBatch, bytes memory rootSig) =
            _signedIn(rootTestKey(), uint256(acct.reservedLane(a.keyHash, 0)) << 64);
        vm.expectRevert(IKeyward.NonceLaneReserved.selector);
        acct.execute(rootBatch, rootSig);
        assertEq(target.counter(), 0);
    }

    /// @dev The owner bits must match exactly: one more or one less than a key's lane id is not its lane.
    function test_relayedLanes_ownerBitsMustMatchExactly() public {
        uint256 own = acct.reservedLane(a.keyHash, 0);
        uint256[2] memory near = [own + (uint256(1) << 32), own - (uint256(1) << 32)];
        for (uint256 i; i < 2; ++i) {
            (SignedBatchedCall memory batch, bytes memory sig) = _signedIn(a, near[i] << 64);
            vm.expectRevert(IKeyward.NonceLaneReserved.selector);
            acct.execute(batch, sig);
        }
        (SignedBatchedCall memory ok, bytes memory okSig) = _signedIn(a, own << 64);
        acct.execute(ok, okSig);
        assertEq(target.counter(), 1);
    }

    /// @dev Each key (and the root) uses its own reserved lanes, and every key uses the open lanes: lane 0 and any
    /// lane whose high 160 bits are zero.
    function test_relayedLanes_ownAndOpenLanes_work() public {
        TestKey[3] memory ks = [_mem(a), _mem(b), rootTestKey()]; // the root's keyHash is 0
        for (uint256 i; i < ks.length; ++i) {
            bytes32 h = ks[i].keyHash;
            uint256[4] memory lanes = [uint256(acct.reservedLane(h, 0)), acct.reservedLane(h, 3), 0, type(uint32).max];
            for (uint256 j; j < lanes.length; ++j) {
                (SignedBatchedCall memory batch, bytes memory sig) = _signedIn(ks[i], _relayedNonce(lanes[j]));
                acct.execute(batch, sig);
            }
        }
        assertEq(target.counter(), 12);
        assertEq(acct.getSeq(0), 3, "lane 0 is shared by every key (Calibur's layout)");
        assertEq(acct.getSeq(type(uint32).max), 3);
        assertEq(acct.getSeq(acct.reservedLane(a.keyHash, 0)), 1);
    }

    // ------------------------------------------------------------------------------------------------------------
    // ERC-4337
    // ------------------------------------------------------------------------------------------------------------

    /// @dev validateUserOp refuses a nonce in a lane reserved for someone else (also with an invalid signature: the
    /// lane is checked first), directly and through the EntryPoint (AA23, nothing spent).
    function test_userOpLanes_foreignReservedLane_reverts() public {
        uint192[3] memory foreign =
            [acct.reservedLane(bytes32(0), 0), acct.reservedLane(b.keyHash, 0), acct.reservedLane(b.keyHash, 9)];
        for (uint256 i; i < foreign.length; ++i) {
            PackedUserOperation memory op = _opIn(a, foreign[i]);
            bytes32 h = entryPoint.getUserOpHash(op);
            vm.prank(ENTRY_POINT);
            vm.expectRevert(IKeyward.NonceLaneReserved.selector);
            acct.validateUserOp(op, h, 0);
            op.signature = abi.encode(a.keyHash, sign(a, keccak256("wrong")), bytes(""));
            vm.prank(ENTRY_POINT);
            vm.expectRevert(IKeyward.NonceLaneReserved.selector);
            acct.validateUserOp(op, h, 0);
            op = _opIn(a, foreign[i]);
            _expectAA23(abi.encodeWithSelector(IKeyward.NonceLaneReserved.selector));
            handle(op);
            assertEq(entryPoint.getNonce(account, foreign[i]), uint256(foreign[i]) << 64, "nothing spent");
        }
        // The root in a key's lane.
        PackedUserOperation memory rootOp = _opIn(rootTestKey(), acct.reservedLane(a.keyHash, 0));
        _expectAA23(abi.encodeWithSelector(IKeyward.NonceLaneReserved.selector));
        handle(rootOp);
        assertEq(target.counter(), 0);
    }

    function test_userOpLanes_ownAndOpenLanes_work() public {
        TestKey[3] memory ks = [_mem(a), _mem(b), rootTestKey()];
        for (uint256 i; i < ks.length; ++i) {
            uint192[3] memory lanes = [acct.reservedLane(ks[i].keyHash, 0), uint192(0), uint192(5)];
            for (uint256 j; j < lanes.length; ++j) {
                handle(_opIn(ks[i], lanes[j]));
            }
        }
        assertEq(target.counter(), 9);
        assertEq(entryPoint.getNonce(account, 0), 3);
        assertEq(entryPoint.getNonce(account, 5), (uint256(5) << 64) | 3);
    }

    // ------------------------------------------------------------------------------------------------------------
    // Revival (item 13)
    // ------------------------------------------------------------------------------------------------------------

    /// @dev Relayed: a batch signed in the key's reserved lane before its revocation never runs after the same key
    /// is granted again (its new keyId gives it new lanes); one signed in an open lane does (documented).
    function test_revival_relayed_reservedLaneClosed_openLaneDocumented() public {
        uint256 oldLane = acct.reservedLane(a.keyHash, 0);
        (SignedBatchedCall memory reserved, bytes memory reservedSig) = _signedIn(a, oldLane << 64);
        (SignedBatchedCall memory open, bytes memory openSig) = _signedIn(a, _relayedNonce(0));
        rootCall(abi.encodeCall(IKeyward.revoke, (a.keyHash)));
        vm.expectRevert(IKeyward.KeyDoesNotExist.selector);
        acct.execute(reserved, reservedSig);
        grant(a, 0);
        assertTrue(acct.reservedLane(a.keyHash, 0) != oldLane, "new registration, new lanes");
        vm.expectRevert(IKeyward.NonceLaneReserved.selector);
        acct.execute(reserved, reservedSig);
        // The limitation: a batch in an open lane is a Calibur batch, bound to the key hash and the nonce only.
        acct.execute(open, openSig);
        assertEq(target.counter(), 1);
    }

    function test_revival_relayed_afterRevokeAll() public {
        (SignedBatchedCall memory reserved, bytes memory reservedSig) =
            _signedIn(a, uint256(acct.reservedLane(a.keyHash, 0)) << 64);
        rootCall(abi.encodeCall(IKeyward.revokeAll, ()));
        grant(a, 0);
        vm.expectRevert(IKeyward.NonceLaneReserved.selector);
        acct.execute(reserved, reservedSig);
        assertEq(target.counter(), 0);
    }

    /// @dev ERC-4337 (no deadline exists there): the same, through the EntryPoint.
    function test_revival_userOp_reservedLaneClosed_openLaneDocumented() public {
        uint192 oldLane = acct.reservedLane(a.keyHash, 0);
        PackedUserOperation memory reserved = _opIn(a, oldLane);
        PackedUserOperation memory open = _opIn(a, 0);
        rootCall(abi.encodeCall(IKeyward.revoke, (a.keyHash)));
        vm.expectRevert(abi.encodeWithSignature("FailedOp(uint256,string)", 0, "AA24 signature error"));
        handle(reserved);
        grant(a, 0);
        _expectAA23(abi.encodeWithSelector(IKeyward.NonceLaneReserved.selector));
        handle(reserved);
        handle(open); // documented limitation: an open-lane operation signed before the revocation runs
        assertEq(target.counter(), 1);
        // After revokeAll too.
        PackedUserOperation memory reserved2 = _opIn(a, acct.reservedLane(a.keyHash, 0));
        rootCall(abi.encodeCall(IKeyward.revokeAll, ()));
        grant(a, 0);
        _expectAA23(abi.encodeWithSelector(IKeyward.NonceLaneReserved.selector));
        handle(reserved2);
        assertEq(target.counter(), 1);
    }
}
