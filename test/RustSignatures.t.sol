// SPDX-License-Identifier: MIT
pragma solidity ^0.8.30;

import {Keyward} from "../contracts/Keyward.sol";
import {IKeyward, Key, KeyType} from "../contracts/interfaces/IKeyward.sol";
import {KeyLib} from "../contracts/libraries/KeyLib.sol";
import {KeywardTestBase} from "./utils/KeywardTestBase.sol";

struct RustCase {
    Key key;
    bytes32 digest;
    bytes raw;
    bytes personal;
    bytes32 contentsHash;
    bytes typed;
}

contract KeyVerifier {
    function verify(Key calldata key, bytes32 digest, bytes calldata sig) external view returns (bool) {
        if (key.keyType == KeyType.Secp256k1) return KeyLib.verifySecp256k1(KeyLib.hash(key), digest, sig);
        (uint256 x, uint256 y) = abi.decode(key.publicKey, (uint256, uint256));
        return KeyLib.verify(key.keyType, x, y, digest, sig);
    }
}

/// @notice Signatures made by the Rust crate (secp256k1, P256, WebAuthn) verified by the contracts. Reads
/// `target/vectors/rust_signatures.hex`, written by the cargo test `write_rust_signatures_for_solidity`; `make test`
/// runs cargo first, then this contract.
contract RustSignaturesTest is KeywardTestBase {
    function test_rustSignatures_verifyOnChain() public {
        // The same account as test/Vectors.t.sol: same deployer nonce, same label.
        Keyward implementation_ = newImplementation();
        address eoa = makeAddr("vectors");
        delegate(eoa, address(implementation_));
        IKeyward a = IKeyward(eoa);
        bytes memory blob = vm.parseBytes(vm.readFile("target/vectors/rust_signatures.hex"));
        (bytes32 app, RustCase[] memory cases) = abi.decode(blob, (bytes32, RustCase[]));
        assertEq(cases.length, 60);
        KeyVerifier verifier = new KeyVerifier();
        for (uint256 i; i < cases.length; ++i) {
            RustCase memory c = cases[i];
            assertTrue(verifier.verify(c.key, c.digest, c.raw), "raw signature");
            assertFalse(verifier.verify(c.key, keccak256(abi.encode(c.digest)), c.raw), "bound to its digest");
            if (!a.isRegistered(a.hashKey(c.key))) {
                vm.prank(eoa);
                a.grant(c.key, 1 << 200);
            }
            assertEq(a.isValidSignature(c.digest, c.personal), bytes4(0x1626ba7e), "ERC-1271 PersonalSign");
            bytes32 appHash = keccak256(abi.encodePacked(hex"1901", app, c.contentsHash));
            assertEq(a.isValidSignature(appHash, c.typed), bytes4(0x1626ba7e), "ERC-1271 TypedDataSign");
        }
    }
}
