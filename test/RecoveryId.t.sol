// SPDX-License-Identifier: MIT
pragma solidity ^0.8.30;

import {IKeyward, PackedUserOperation, SignedBatchedCall} from "../contracts/interfaces/IKeyward.sol";
import {TestKey} from "./utils/KeywardTestBase.sol";
import {PathsTestBase} from "./utils/PathsTestBase.sol";

/// @notice secp256k1 signatures whose v is the bare recovery id (0 / 1) are accepted wherever v = 27 / 28 are (issue
/// 16): relayed, ERC-4337, ERC-1271 and verifyKeySignature, for the root and for a registered key; v = 2 or 29 never.
contract RecoveryIdTest is PathsTestBase {
    TestKey internal key;

    function setUp() public override {
        super.setUp();
        key = secp256k1Key("v01");
        grant(key, 1 << 200); // admin, so that ERC-1271 answers for it without a hook
    }

    /// @dev `sig` (65 bytes, v 27 / 28) with v replaced: `delta` subtracted (27 -> 0) or added.
    function _withV(bytes memory sig, int16 delta) internal pure returns (bytes memory out) {
        out = bytes.concat(sig);
        out[64] = bytes1(uint8(uint16(int16(uint16(uint8(out[64]))) + delta)));
    }

    function _relayed(TestKey memory k, int16 delta) internal returns (bool ok, bytes memory ret) {
        SignedBatchedCall memory b = signedBatch(_bump(), k.keyHash, acct.getSeq(0));
        bytes memory sig = abi.encode(_withV(sign(k, acct.hashSignedBatchedCall(b)), delta), bytes(""));
        (ok, ret) = account.call(
            abi.encodeWithSignature(
                "execute((((address,uint256,bytes)[],bool),uint256,bytes32,address,uint256),bytes)", b, sig
            )
        );
    }

    function _validate(TestKey memory k, int16 delta) internal returns (uint256 vd) {
        PackedUserOperation memory op = sponsored(userOp(_bump()));
        op.signature = abi.encode(k.keyHash, _withV(sign(k, entryPoint.getUserOpHash(op)), delta), bytes(""));
        (bool ok, bytes memory ret) = tryValidate(op);
        assertTrue(ok, "validateUserOp");
        vd = abi.decode(ret, (uint256));
    }

    function _checkEveryPath(TestKey memory k, int16 delta, bool expected, string memory label) internal {
        uint256 before = target.counter();
        (bool ok, bytes memory ret) = _relayed(k, delta);
        if (expected) assertTrue(ok, string.concat(label, ": relayed"));
        else assertRefused(ok, ret, abi.encodeWithSelector(IKeyward.InvalidSignature.selector), label);
        assertEq(_validate(k, delta), expected ? 0 : 1, string.concat(label, ": ERC-4337"));
        _check1271(k, delta, expected, label);
        _checkCoSign(k, delta, expected, label);
        assertEq(target.counter(), before + (expected ? 1 : 0));
    }

    function _check1271(TestKey memory k, int16 delta, bool expected, string memory label) internal view {
        bytes32 h = keccak256(abi.encode("1271", label));
        bytes memory sig = k.keyHash == bytes32(0) ? _withV(sign(k, h), delta) : _personalSignWithV(k, h, delta);
        assertEq(acct.isValidSignature(h, sig), expected ? MAGIC_1271 : FAIL_1271, string.concat(label, ": ERC-1271"));
    }

    function _checkCoSign(TestKey memory k, int16 delta, bool expected, string memory label) internal view {
        bytes32 d = keccak256(abi.encode("co-sign", label));
        bytes memory sig = _withV(sign(k, d), delta);
        (bool valid,,) = acct.verifyKeySignature(k.keyHash, d, sig);
        assertEq(valid, expected, string.concat(label, ": verifyKeySignature"));
    }

    /// @dev A key's ERC-1271 signature: ERC-7739 PersonalSign wrapped as `abi.encode(keyHash, sig, hookData)`.
    function _personalSignWithV(TestKey memory k, bytes32 h, int16 delta) internal view returns (bytes memory) {
        (bytes32 keyHash, bytes memory sig, bytes memory hookData) =
            abi.decode(personalSign(k, h), (bytes32, bytes, bytes));
        return abi.encode(keyHash, _withV(sig, delta), hookData);
    }

    function test_recoveryId_zeroOne_acceptedOnEveryPath_key() public {
        _checkEveryPath(key, 0, true, "v 27/28");
        _checkEveryPath(key, -27, true, "v 0/1");
    }

    function test_recoveryId_zeroOne_acceptedOnEveryPath_root() public {
        _checkEveryPath(rootTestKey(), 0, true, "root v 27/28");
        _checkEveryPath(rootTestKey(), -27, true, "root v 0/1");
    }

    /// @dev Only 0 and 1 are added: v = 2 / 3 (recovery id + 2) and 29 / 30 stay invalid everywhere.
    function test_recoveryId_otherValues_refusedOnEveryPath() public {
        _checkEveryPath(key, -25, false, "v 2/3");
        _checkEveryPath(key, 2, false, "v 29/30");
        _checkEveryPath(rootTestKey(), -25, false, "root v 2/3");
    }
}
