// SPDX-License-Identifier: MIT
pragma solidity ^0.8.30;

import {Keyward} from "../contracts/Keyward.sol";
import {
    BatchedCall,
    Call,
    Key,
    KeyType,
    PackedUserOperation,
    SignedBatchedCall
} from "../contracts/interfaces/IKeyward.sol";
import {IKeyward} from "../contracts/interfaces/IKeyward.sol";
import {ERC7739Lib} from "../contracts/libraries/ERC7739Lib.sol";
import {Settings} from "../contracts/types/Settings.sol";
import {Deploy} from "../script/Deploy.s.sol";
import {KeywardTestBase} from "./utils/KeywardTestBase.sol";

/// @notice The ERC-7739 TypedDataSign digest as the account computes it (`ERC7739Lib` with the account's domain
/// fields), for the differential vectors. Run under the vectors account's address (a temporary EIP-7702 delegation),
/// since the library hashes `address(this)` as the verifying contract.
contract ERC7739Digest {
    bytes32 internal constant NAME_HASH = keccak256("Keyward");
    bytes32 internal constant VERSION_HASH = keccak256("1");

    function typedDataSignDigest(bytes32 appSeparator, bytes32 contentsHash, bytes calldata descr, bytes32 salt)
        external
        view
        returns (bytes32)
    {
        bytes32 structHash = ERC7739Lib.typedDataSignStructHash(contentsHash, descr, NAME_HASH, VERSION_HASH, salt);
        if (structHash == 0) return 0;
        return keccak256(abi.encodePacked(hex"1901", appSeparator, structHash));
    }
}

struct SettingsCase {
    uint256 raw;
    address hook;
    uint40 expiration;
    bool admin;
    uint40 validAfter;
    uint256 validationData;
    bool canonical;
}

struct KeyCase {
    Key key;
    bytes32 keyHash;
}

struct BatchCase {
    SignedBatchedCall batch;
    bytes32 digest;
}

struct PersonalCase {
    bytes32 hash;
    bytes32 digest;
}

struct TypedCase {
    bytes32 appSeparator;
    bytes32 contentsHash;
    string contentsDescr;
    bytes32 digest;
}

struct UserOpCase {
    PackedUserOperation op;
    bytes32 userOpHash;
}

struct Meta {
    address account;
    address implementation;
    uint256 chainId;
    address entryPoint;
}

/// @notice Writes 1,000 random cases per kind, with the contracts' own answers (Keyward, its libraries and the real
/// EntryPoint v0.8), to `target/vectors/keyward.hex`; the Rust crate's differential test must agree byte for byte.
contract VectorsTest is KeywardTestBase {
    uint256 internal constant N = 1000;
    bytes32 internal constant SEED = keccak256("keyward vectors v1");

    function _rand(uint256 i, uint256 salt) internal pure returns (uint256) {
        return uint256(keccak256(abi.encode(SEED, i, salt)));
    }

    function _bytes(uint256 i, uint256 salt, uint256 maxLen) internal pure returns (bytes memory out) {
        uint256 len = _rand(i, salt) % (maxLen + 1);
        out = new bytes(len);
        for (uint256 j; j < len; j += 32) {
            bytes32 w = keccak256(abi.encode(SEED, i, salt, j));
            assembly {
                mstore(add(add(out, 0x20), j), w)
            }
        }
        assembly {
            mstore(0x40, add(add(out, 0x20), and(add(len, 0x3f), not(0x1f)))) // past the last written word
        }
    }

    IKeyward internal h;
    address internal vectorsImplementation;
    ERC7739Digest internal digester;

    function setUp() public override {
        super.setUp();
        // The same account as test/RustSignatures.t.sol: the first contract this test deploys after the fixture.
        vectorsImplementation = address(newImplementation());
        digester = new ERC7739Digest();
        address eoa = makeAddr("vectors");
        delegate(eoa, vectorsImplementation);
        h = IKeyward(payable(eoa));
        vm.createDir("target/vectors", true);
        vm.writeFile(
            "target/vectors/meta.hex",
            vm.toString(abi.encode(Meta(eoa, vectorsImplementation, block.chainid, ENTRY_POINT)))
        );
    }

    /// @dev The settings word's fields as the account's library reads them.
    function _readSettings(uint256 raw)
        internal
        pure
        returns (address hook, uint40 expiration, bool admin, uint40 validAfter, uint256 vd, bool canonical)
    {
        Settings s = Settings.wrap(raw);
        return (s.hook(), s.expiration(), s.isAdmin(), s.validAfter(), s.validationData(), s.isCanonical());
    }

    /// @dev TypedDataSign digests under the vectors account's domain: the library runs at the account's address.
    function _typedDigests(TypedCase[] memory typed) internal {
        (,,,,, bytes32 salt,) = h.eip712Domain();
        delegate(address(h), address(digester));
        for (uint256 i; i < typed.length; ++i) {
            typed[i].digest = ERC7739Digest(address(h))
                .typedDataSignDigest(typed[i].appSeparator, typed[i].contentsHash, bytes(typed[i].contentsDescr), salt);
        }
        delegate(address(h), vectorsImplementation);
    }

    /// @notice The deployment addresses forge's script computes, for the Rust `deploy` module to match.
    function test_vectors_deployAddresses() public {
        Deploy script = new Deploy();
        bytes32 hookSalt = script.policyHookSalt();
        address hook = script.predict(hookSalt, script.policyHookCode());
        vm.writeFile(
            "target/vectors/deploy.hex", vm.toString(abi.encode(script.predict(script.keywardCode()), hookSalt, hook))
        );
        assertEq(uint160(hook) & 0x1f, 0x1e);
    }

    function _write(string memory name, bytes memory data) internal {
        string memory path = string.concat("target/vectors/", name, ".hex");
        vm.writeFile(path, vm.toString(data));
        assertGt(bytes(vm.readFile(path)).length, 2 * N);
    }

    function test_vectors_settings() public {
        SettingsCase[] memory cases = new SettingsCase[](N);
        for (uint256 i; i < N; ++i) {
            // Mostly canonical (random flags in bits 248-250 included), a quarter with reserved bits.
            uint256 raw = _rand(i, 1);
            if (i % 4 != 0) raw &= ~((uint256(0x1f) << 251) | (uint256(0x7f) << 201));
            SettingsCase memory sc;
            sc.raw = raw;
            (sc.hook, sc.expiration, sc.admin, sc.validAfter, sc.validationData, sc.canonical) = _readSettings(raw);
            cases[i] = sc;
        }
        _write("settings", abi.encode(cases));
    }

    function test_vectors_keys() public {
        KeyCase[] memory cases = new KeyCase[](N);
        for (uint256 i; i < N; ++i) {
            Key memory key = Key(KeyType(_rand(i, 2) % 3), _bytes(i, 3, 96));
            cases[i] = KeyCase(key, h.hashKey(key));
        }
        _write("keys", abi.encode(cases));
    }

    function test_vectors_signedBatches() public {
        BatchCase[] memory cases = new BatchCase[](N);
        for (uint256 i; i < N; ++i) {
            uint256 n = _rand(i, 4) % 4;
            Call[] memory calls = new Call[](n);
            for (uint256 j; j < n; ++j) {
                calls[j] =
                    Call(address(uint160(_rand(i, 10 + j))), _rand(i, 20 + j) % 1e20, _bytes(i, 30 + j * 200, 80));
            }
            SignedBatchedCall memory b = SignedBatchedCall(
                BatchedCall(calls, _rand(i, 5) % 2 == 0),
                _rand(i, 6),
                bytes32(_rand(i, 7)),
                i % 3 == 0 ? address(0) : address(uint160(_rand(i, 8))),
                i % 5 == 0 ? 0 : _rand(i, 9) % 2 ** 40
            );
            cases[i] = BatchCase(b, h.hashSignedBatchedCall(b));
        }
        _write("batches", abi.encode(cases));
    }

    function test_vectors_erc7739() public {
        PersonalCase[] memory personal = new PersonalCase[](N);
        TypedCase[] memory typed = new TypedCase[](N);
        string[5] memory types = [
            "Mail(address to,string contents)",
            "Permit(address owner,address spender,uint256 value,uint256 nonce,uint256 deadline)",
            "Order(Item item,uint256 amount)Item(address token)",
            "A(uint256 x)",
            "(bad)"
        ];
        for (uint256 i; i < N; ++i) {
            bytes32 ph = bytes32(_rand(i, 1000));
            personal[i] = PersonalCase(ph, h.hashTypedData(keccak256(abi.encode(PERSONAL_SIGN_TYPEHASH, ph))));
            string memory descr = types[i % 5];
            if (i % 8 == 7) descr = string.concat(descr, "Mail"); // explicit mode
            bytes32 app = bytes32(_rand(i, 1001));
            bytes32 contents = bytes32(_rand(i, 1002));
            typed[i] = TypedCase(app, contents, descr, 0);
        }
        _typedDigests(typed);
        assertEq(typed[4].digest, bytes32(0), "a malformed description yields 0");
        // The library's digest is the one the account verifies: the vectors account's root signature over it
        // passes isValidSignature (checked for a sample of well-formed cases, implicit and explicit mode).
        (, uint256 vectorsKey) = makeAddrAndKey("vectors");
        for (uint256 i; i < N; i += 37) {
            TypedCase memory c = typed[i];
            if (c.digest == 0) continue;
            (uint8 v, bytes32 r, bytes32 sv) = vm.sign(vectorsKey, c.digest);
            bytes memory wrapped = abi.encode(
                bytes32(0),
                abi.encode(abi.encodePacked(r, sv, v), c.appSeparator, c.contentsHash, c.contentsDescr),
                bytes("")
            );
            bytes32 appHash = keccak256(abi.encodePacked(hex"1901", c.appSeparator, c.contentsHash));
            assertEq(h.isValidSignature(appHash, wrapped), bytes4(0x1626ba7e), c.contentsDescr);
        }
        _write("personal", abi.encode(personal));
        _write("typed", abi.encode(typed));
    }

    function test_vectors_userOps() public {
        UserOpCase[] memory cases = new UserOpCase[](N);
        for (uint256 i; i < N; ++i) {
            PackedUserOperation memory op;
            op.sender = address(uint160(_rand(i, 1100)));
            op.nonce = _rand(i, 1101);
            op.initCode = i % 10 == 0 ? _bytes(i, 1102, 60) : bytes("");
            if (op.initCode.length >= 2 && uint8(op.initCode[0]) == 0x77 && uint8(op.initCode[1]) == 0x02) {
                op.initCode[0] = 0x00; // EIP-7702 initCode needs a delegated sender: not in the random set
            }
            op.callData = _bytes(i, 1200, 120);
            op.accountGasLimits = bytes32(_rand(i, 1103));
            op.preVerificationGas = _rand(i, 1104) % 2 ** 64;
            op.gasFees = bytes32(_rand(i, 1105));
            op.paymasterAndData = i % 3 == 0 ? _bytes(i, 1400, 90) : bytes("");
            op.signature = _bytes(i, 1600, 70);
            cases[i] = UserOpCase(op, entryPoint.getUserOpHash(op));
        }
        _write("userops", abi.encode(cases));
    }
}
