// SPDX-License-Identifier: MIT
pragma solidity ^0.8.30;

import {IKeyward} from "../contracts/interfaces/IKeyward.sol";
import {KeywardTestBase, TestKey} from "./utils/KeywardTestBase.sol";
import {MockHook} from "./utils/MockHook.sol";

/// @notice ERC-1271 with ERC-7739 nested typed data.
contract Keyward1271Test is KeywardTestBase {
    bytes4 internal constant MAGIC = 0x1626ba7e;
    bytes4 internal constant FAIL = 0xffffffff;
    bytes32 internal constant APP = keccak256("app domain separator");
    string internal constant PERMIT_TYPE =
        "Permit(address owner,address spender,uint256 value,uint256 nonce,uint256 deadline)";

    function test_1271_detection() public view {
        assertEq(
            acct.isValidSignature(0x7739773977397739773977397739773977397739773977397739773977397739, ""),
            bytes4(0x77390001)
        );
        assertEq(acct.isValidSignature(keccak256("x"), ""), FAIL);
    }

    function test_1271_rootRawSignature() public {
        bytes32 h = keccak256("hello");
        (uint8 v, bytes32 r, bytes32 s) = vm.sign(rootKey, h);
        assertEq(acct.isValidSignature(h, abi.encodePacked(r, s, v)), MAGIC);
        (, uint256 other) = makeAddrAndKey("other");
        (v, r, s) = vm.sign(other, h);
        assertEq(acct.isValidSignature(h, abi.encodePacked(r, s, v)), FAIL);
    }

    function test_1271_rootWrapped_personalAndTyped() public view {
        bytes32 h = keccak256("hello");
        assertEq(acct.isValidSignature(h, personalSign(rootTestKey(), h)), MAGIC);
        (bytes32 th, bytes memory sig) = typedDataSign(rootTestKey(), APP, keccak256("contents"), PERMIT_TYPE);
        assertEq(acct.isValidSignature(th, sig), MAGIC);
        // The typed signature is bound to its hash.
        assertEq(acct.isValidSignature(keccak256("other"), sig), FAIL);
    }

    function test_1271_adminKeys_eachType() public {
        TestKey[3] memory ks = [secp256k1Key("s"), p256Key("p"), webAuthnKey("w")];
        for (uint256 i; i < 3; ++i) {
            grant(ks[i], 1 << 200);
            bytes32 h = keccak256(abi.encode(i));
            assertEq(acct.isValidSignature(h, personalSign(ks[i], h)), MAGIC);
            (bytes32 th, bytes memory sig) = typedDataSign(ks[i], APP, keccak256(abi.encode("c", i)), PERMIT_TYPE);
            assertEq(acct.isValidSignature(th, sig), MAGIC);
        }
    }

    function test_1271_nonAdminWithoutHook_denied() public {
        // A trading key must not sign a Permit2/Permit message: that would bypass every spend limit.
        TestKey memory k = secp256k1Key("s");
        grant(k, 0);
        (bytes32 th, bytes memory sig) = typedDataSign(k, APP, keccak256("permit"), PERMIT_TYPE);
        assertEq(acct.isValidSignature(th, sig), FAIL);
        bytes32 h = keccak256("hello");
        assertEq(acct.isValidSignature(h, personalSign(k, h)), FAIL);
    }

    /// @dev AFTER_IS_VALID_SIGNATURE is bit 0x04 in Calibur's flags (it was 0x02); MockHook answers as scripted: a
    /// revert and a wrong selector both refuse (failure value, never a revert).
    function test_1271_nonAdminWithHook_onlyWhatHookApproves() public {
        MockHook hook = deployHook(0x04);
        TestKey memory k = secp256k1Key("s");
        grant(k, settingsOf(address(hook), 0, false, 0));
        bytes32 h = keccak256("hello");
        bytes memory sig = personalSign(k, h);
        hook.setAnswer(2, MockHook.Answer.Revert);
        assertEq(acct.isValidSignature(h, sig), FAIL);
        hook.setAnswer(2, MockHook.Answer.WrongSelector);
        assertEq(acct.isValidSignature(h, sig), FAIL);
        hook.setAnswer(2, MockHook.Answer.Approve);
        assertEq(acct.isValidSignature(h, sig), MAGIC);
        // The approval is for a valid signature only.
        assertEq(acct.isValidSignature(keccak256("other"), sig), FAIL);
        // A hook that vetoes an admin key's signature also wins.
        TestKey memory admin = secp256k1Key("admin");
        grant(admin, settingsOf(address(hook), 0, true, 0));
        assertEq(acct.isValidSignature(h, personalSign(admin, h)), MAGIC);
        hook.setAnswer(2, MockHook.Answer.Revert);
        assertEq(acct.isValidSignature(h, personalSign(admin, h)), FAIL);
    }

    /// @dev A non-admin key under a hook whose address does not enable AFTER_IS_VALID_SIGNATURE cannot sign.
    function test_1271_nonAdminWithHookWithout1271Flag_denied() public {
        MockHook hook = deployHook(0x1b); // every flag but 0x04
        TestKey memory k = secp256k1Key("s");
        grant(k, settingsOf(address(hook), 0, false, 0));
        bytes32 h = keccak256("hello");
        assertEq(acct.isValidSignature(h, personalSign(k, h)), FAIL);
    }

    function test_1271_expiryAndValidAfterBoundaries() public {
        TestKey memory k = secp256k1Key("s");
        uint40 start = uint40(block.timestamp + 10);
        uint40 end = uint40(block.timestamp + 20);
        grant(k, settingsOf(address(0), end, true, start));
        bytes32 h = keccak256("hello");
        bytes memory sig = personalSign(k, h);
        vm.warp(start - 1);
        assertEq(acct.isValidSignature(h, sig), FAIL);
        vm.warp(start);
        assertEq(acct.isValidSignature(h, sig), MAGIC);
        vm.warp(end);
        assertEq(acct.isValidSignature(h, sig), MAGIC);
        vm.warp(uint256(end) + 1);
        assertEq(acct.isValidSignature(h, sig), FAIL);
    }

    function test_1271_revokedUnknownMalformed_failWithoutRevert() public {
        TestKey memory k = secp256k1Key("s");
        bytes32 h = keccak256("hello");
        grant(k, 1 << 200);
        bytes memory sig = personalSign(k, h);
        assertEq(acct.isValidSignature(h, sig), MAGIC);
        rootCall(abi.encodeCall(IKeyward.revoke, (k.keyHash)));
        assertEq(acct.isValidSignature(h, sig), FAIL);
        assertEq(acct.isValidSignature(h, abi.encode(keccak256("nobody"), bytes("sig"), bytes(""))), FAIL);
        assertEq(acct.isValidSignature(h, hex"00112233"), FAIL);
        assertEq(acct.isValidSignature(h, abi.encode(bytes32(0), uint256(1) << 100, uint256(0))), FAIL);
    }

    function test_1271_invalidContentsNames_rejected() public view {
        string[4] memory bad = ["permit(uint256 a)", "(uint256 a)", "Per mit(uint256 a)", "Per,mit(uint256 a)"];
        for (uint256 i; i < bad.length; ++i) {
            (bytes32 th, bytes memory sig) = _typedNoNameCheck(bad[i]);
            assertEq(acct.isValidSignature(th, sig), FAIL, bad[i]);
        }
    }

    function _typedNoNameCheck(string memory contentsType) internal view returns (bytes32 th, bytes memory sig) {
        bytes memory t = bytes(contentsType);
        bool hasOpen;
        for (uint256 i; i < t.length; ++i) {
            if (t[i] == "(") hasOpen = true;
        }
        require(hasOpen);
        (th, sig) = typedDataSign(rootTestKey(), APP, keccak256("c"), contentsType);
    }

    function test_1271_explicitMode() public view {
        // contentsDescr = contentsType ++ contentsName; verified like implicit mode when the name is valid.
        TestKey memory root = rootTestKey();
        (bytes32 th, bytes memory wrapped) = typedDataSign(root, APP, keccak256("c"), PERMIT_TYPE);
        (bytes32 keyHash, bytes memory blob,) = abi.decode(wrapped, (bytes32, bytes, bytes));
        (bytes memory inner, bytes32 app, bytes32 contents,) = abi.decode(blob, (bytes, bytes32, bytes32, string));
        bytes memory explicitSig =
            abi.encode(keyHash, abi.encode(inner, app, contents, string.concat(PERMIT_TYPE, "Permit")), bytes(""));
        assertEq(acct.isValidSignature(th, explicitSig), MAGIC);
    }
}
