// SPDX-License-Identifier: MIT
pragma solidity ^0.8.30;

import {Keyward} from "../contracts/Keyward.sol";
import {PolicyHook} from "../contracts/hooks/PolicyHook.sol";
import {
    BatchedCall,
    Call,
    Key,
    KeyType,
    PackedUserOperation,
    SignedBatchedCall
} from "../contracts/interfaces/IKeyward.sol";
import {Settings} from "../contracts/types/Settings.sol";
import {Deploy} from "../script/Deploy.s.sol";
import {KeywardTestBase} from "./utils/KeywardTestBase.sol";

/// @notice Exposes internals the differential vectors need.
contract KeywardHarness is Keyward {
    function typedDataSignDigest(bytes32 appSeparator, bytes32 contentsHash, bytes calldata descr)
        external
        view
        returns (bytes32)
    {
        return _typedDataSignDigest(appSeparator, contentsHash, descr);
    }

    function readSettings(uint256 raw)
        external
        pure
        returns (address hook, uint40 expiration, bool admin, uint40 validAfter, uint256 vd, bool canonical)
    {
        Settings s = Settings.wrap(raw);
        return (s.hook(), s.expiration(), s.isAdmin(), s.validAfter(), s.validationData(), s.isCanonical());
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

    KeywardHarness internal h;

    function setUp() public override {
        super.setUp();
        KeywardHarness harness = new KeywardHarness();
        address eoa = makeAddr("vectors");
        delegate(eoa, address(harness));
        h = KeywardHarness(payable(eoa));
        vm.createDir("target/vectors", true);
        vm.writeFile(
            "target/vectors/meta.hex", vm.toString(abi.encode(Meta(eoa, address(harness), block.chainid, ENTRY_POINT)))
        );
    }

    /// @notice The deployment addresses forge's script computes, for the Rust `deploy` module to match.
    function test_vectors_deployAddresses() public {
        Deploy script = new Deploy();
        bytes32 hookSalt = script.policyHookSalt();
        address hook = script.predict(hookSalt, type(PolicyHook).creationCode);
        vm.writeFile(
            "target/vectors/deploy.hex",
            vm.toString(abi.encode(script.predict(type(Keyward).creationCode), hookSalt, hook))
        );
        assertEq(uint160(hook) & 0x1f, 0x16);
    }

    function _write(string memory name, bytes memory data) internal {
        string memory path = string.concat("target/vectors/", name, ".hex");
        vm.writeFile(path, vm.toString(data));
        assertGt(bytes(vm.readFile(path)).length, 2 * N);
    }

    function test_vectors_settings() public {
        SettingsCase[] memory cases = new SettingsCase[](N);
        for (uint256 i; i < N; ++i) {
            // Mostly canonical, a quarter with reserved bits.
            uint256 raw = _rand(i, 1);
            if (i % 4 != 0) raw &= ~((uint256(0xff) << 248) | (uint256(0x7f) << 201));
            SettingsCase memory sc;
            sc.raw = raw;
            (sc.hook, sc.expiration, sc.admin, sc.validAfter, sc.validationData, sc.canonical) = h.readSettings(raw);
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
            typed[i] = TypedCase(app, contents, descr, h.typedDataSignDigest(app, contents, bytes(descr)));
        }
        assertEq(typed[4].digest, bytes32(0), "a malformed description yields 0");
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
