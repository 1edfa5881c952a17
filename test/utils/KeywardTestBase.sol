// SPDX-License-Identifier: MIT
pragma solidity ^0.8.30;

import {Keyward} from "../../contracts/Keyward.sol";
import {
    BatchedCall,
    Call,
    IKeyward,
    Key,
    KeyType,
    PackedUserOperation,
    SignedBatchedCall
} from "../../contracts/interfaces/IKeyward.sol";
import {IPolicyHook, Limits, RuleState} from "../../contracts/interfaces/IPolicyHook.sol";
import {MockHook} from "./MockHook.sol";
import {SponsorPaymaster} from "./SponsorPaymaster.sol";
import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";
import {Test} from "forge-std/Test.sol";

/// @notice The EntryPoint v0.8 functions the tests use.
interface IEntryPointV8 {
    function handleOps(PackedUserOperation[] calldata ops, address payable beneficiary) external;
    function getUserOpHash(PackedUserOperation calldata userOp) external view returns (bytes32);
    function getNonce(address sender, uint192 key) external view returns (uint256);
    function depositTo(address account) external payable;
    function balanceOf(address account) external view returns (uint256);
}

/// @notice WebAuthn assertion, encoded as Calibur and Keyward expect it.
struct WebAuthnAuth {
    bytes authenticatorData;
    string clientDataJSON;
    uint256 challengeIndex;
    uint256 typeIndex;
    uint256 r;
    uint256 s;
}

/// @notice A key the tests can sign with.
struct TestKey {
    Key key;
    bytes32 keyHash;
    uint256 privateKey;
    address signer;
}

/// @title KeywardTestBase
/// @notice A reusable forge fixture: the real EntryPoint v0.8 (official artifact) at its canonical address, a
/// Keyward implementation, and an EOA delegated to it with EIP-7702; helpers to make keys of every type, sign for
/// every path, build user operations and run batches as the root.
abstract contract KeywardTestBase is Test {
    address internal constant ENTRY_POINT = 0x4337084D9E255Ff0702461CF8895CE9E3b5Ff108;
    bytes32 internal constant MODE_REVERT = bytes32(uint256(0x01) << 248);
    bytes32 internal constant MODE_CONTINUE = bytes32(uint256(0x0101) << 240);
    uint256 internal constant P256_N = 0xFFFFFFFF00000000FFFFFFFFFFFFFFFFBCE6FAADA7179E84F3B9CAC2FC632551;

    /// @dev Settings flags (bits 248+).
    uint256 internal constant FLAG_AFTER_ON_FAILURE = 1 << 248;
    uint256 internal constant FLAG_SPONSORED_ONLY = 1 << 249;
    uint256 internal constant FLAG_GAS_BUDGET = 1 << 250;
    /// @dev The PolicyHook's address flags: AFTER_VALIDATE_USER_OP | AFTER_IS_VALID_SIGNATURE | BEFORE | AFTER.
    uint160 internal constant POLICY_HOOK_FLAGS = 0x1e;

    IEntryPointV8 internal entryPoint;
    Keyward internal implementation;
    SponsorPaymaster internal sponsor;
    uint256 internal rootKey;
    address payable internal account;
    /// @dev The delegated account, typed as its full ABI (core and extension).
    IKeyward internal acct;

    /// @dev The release artifacts (`make build`: contracts/ through the IR pipeline, out-release/): the tests deploy
    /// the bytecode that ships. A team reusing this fixture can override `keywardCreationCode` and
    /// `policyHookArtifact` to point at its own build.
    string internal constant KEYWARD_ARTIFACT = "out-release/Keyward.sol/Keyward.json";
    string internal constant POLICY_HOOK_ARTIFACT = "out-release/PolicyHook.sol/PolicyHook.json";

    function keywardCreationCode() internal view virtual returns (bytes memory) {
        return vm.getCode(KEYWARD_ARTIFACT);
    }

    function policyHookArtifact() internal view virtual returns (string memory) {
        return POLICY_HOOK_ARTIFACT;
    }

    /// @dev A new Keyward implementation from the release bytecode.
    function newImplementation() internal returns (Keyward impl) {
        bytes memory code = keywardCreationCode();
        assembly {
            impl := create(0, add(code, 0x20), mload(code))
        }
        require(address(impl) != address(0), "Keyward deployment failed");
    }

    function setUp() public virtual {
        vm.warp(1_800_000_000);
        deployCodeTo("node_modules/@account-abstraction/contracts/artifacts/EntryPoint.json", ENTRY_POINT);
        entryPoint = IEntryPointV8(ENTRY_POINT);
        implementation = newImplementation();
        address eoa;
        (eoa, rootKey) = makeAddrAndKey("root");
        account = payable(eoa);
        delegate(account, address(implementation));
        acct = IKeyward(account);
        vm.deal(account, 100 ether);
        sponsor = new SponsorPaymaster();
        vm.deal(address(this), address(this).balance + 10 ether);
        sponsor.deposit{value: 10 ether}();
    }

    /// @dev EIP-7702: the EOA's code becomes the delegation designator.
    function delegate(address eoa, address impl) internal {
        vm.etch(eoa, abi.encodePacked(hex"ef0100", impl));
    }

    // ------------------------------------------------------------------------------------------------------------
    // Keys
    // ------------------------------------------------------------------------------------------------------------

    function secp256k1Key(string memory name) internal returns (TestKey memory k) {
        (k.signer, k.privateKey) = makeAddrAndKey(name);
        k.key = Key(KeyType.Secp256k1, abi.encode(k.signer));
        k.keyHash = keccak256(abi.encode(k.key.keyType, keccak256(k.key.publicKey)));
    }

    function p256Key(string memory name) internal view returns (TestKey memory k) {
        return _p256(name, KeyType.P256);
    }

    function webAuthnKey(string memory name) internal view returns (TestKey memory k) {
        return _p256(name, KeyType.WebAuthnP256);
    }

    function _p256(string memory name, KeyType t) private view returns (TestKey memory k) {
        k.privateKey = uint256(keccak256(bytes(name))) % (P256_N - 1) + 1;
        (uint256 x, uint256 y) = vm.publicKeyP256(k.privateKey);
        k.key = Key(t, abi.encode(x, y));
        k.keyHash = keccak256(abi.encode(k.key.keyType, keccak256(k.key.publicKey)));
    }

    function rootTestKey() internal view returns (TestKey memory k) {
        k.key = Key(KeyType.Secp256k1, abi.encode(account));
        k.privateKey = rootKey;
        k.signer = account;
    }

    /// @dev The raw signature of `digest` in the key's own format.
    function sign(TestKey memory k, bytes32 digest) internal view returns (bytes memory) {
        if (k.key.keyType == KeyType.Secp256k1) {
            (uint8 v, bytes32 r, bytes32 s) = vm.sign(k.privateKey, digest);
            return abi.encodePacked(r, s, v);
        }
        if (k.key.keyType == KeyType.P256) {
            (bytes32 r, bytes32 s) = vm.signP256(k.privateKey, sha256(abi.encodePacked(digest)));
            return abi.encode(r, _lowS(s));
        }
        return webAuthnAssertion(k, digest);
    }

    function _lowS(bytes32 s) private pure returns (bytes32) {
        return uint256(s) > P256_N / 2 ? bytes32(P256_N - uint256(s)) : s;
    }

    /// @dev A real WebAuthn assertion (user present, not verified) whose challenge is `digest`.
    function webAuthnAssertion(TestKey memory k, bytes32 digest) internal view returns (bytes memory) {
        bytes memory authenticatorData = abi.encodePacked(sha256("keyward.test"), uint8(0x01), uint32(7));
        string memory clientDataJSON = string.concat(
            '{"type":"webauthn.get","challenge":"',
            base64Url(abi.encodePacked(digest)),
            '","origin":"https://keyward.test","crossOrigin":false}'
        );
        bytes32 message = sha256(abi.encodePacked(authenticatorData, sha256(bytes(clientDataJSON))));
        (bytes32 r, bytes32 s) = vm.signP256(k.privateKey, message);
        return abi.encode(WebAuthnAuth(authenticatorData, clientDataJSON, 23, 1, uint256(r), uint256(_lowS(s))));
    }

    function base64Url(bytes memory data) internal pure returns (string memory) {
        bytes memory table = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
        bytes memory out = new bytes((data.length * 8 + 5) / 6);
        uint256 bits;
        uint256 acc;
        uint256 j;
        for (uint256 i; i < data.length; ++i) {
            acc = (acc << 8) | uint8(data[i]);
            bits += 8;
            while (bits >= 6) {
                bits -= 6;
                out[j++] = table[(acc >> bits) & 63];
            }
        }
        if (bits > 0) out[j++] = table[(acc << (6 - bits)) & 63];
        return string(out);
    }

    /// @dev Deploys a MockHook at an address whose low 5 bits are `flags` (which callbacks the account makes).
    function deployHook(uint160 flags) internal returns (MockHook hook) {
        address where = address((uint160(uint256(keccak256(abi.encode("hook", flags)))) & ~uint160(0xffff)) | flags);
        deployCodeTo("MockHook.sol:MockHook", where);
        hook = MockHook(where);
    }

    /// @dev Deploys the PolicyHook at an address carrying its flags (0x1e).
    function deployPolicyHook() internal returns (IPolicyHook hook) {
        address where = address((uint160(uint256(keccak256("policy hook"))) & ~uint160(0xffff)) | POLICY_HOOK_FLAGS);
        deployCodeTo(policyHookArtifact(), where);
        hook = IPolicyHook(where);
    }

    /// @dev The root batch that grants `k` under `hook` as a spending key for `token`: allowed to call
    /// `transfer` on it within `limits`, and, when `maxCalls` is not 0, at most `maxCalls` calls.
    function tokenSpendingKey(IPolicyHook hook, TestKey memory k, address token, Limits memory limits, uint32 maxCalls)
        internal
        view
        returns (Call[] memory calls)
    {
        calls = new Call[](maxCalls == 0 ? 4 : 5);
        calls[0] = Call(address(0), 0, abi.encodeCall(IKeyward.grant, (k.key, policySettings(hook, 0))));
        calls[1] = Call(
            address(hook),
            0,
            abi.encodeCall(IPolicyHook.setCallRule, (k.keyHash, token, IERC20.transfer.selector, RuleState.Allow))
        );
        calls[2] = Call(address(hook), 0, abi.encodeCall(IPolicyHook.setTokenLimit, (k.keyHash, token, true, limits)));
        calls[3] = allowSponsorCall(hook, k);
        if (maxCalls != 0) {
            calls[4] =
                Call(address(hook), 0, abi.encodeCall(IPolicyHook.setUsageLimits, (k.keyHash, maxCalls, 0, 0, 0)));
        }
    }

    /// @dev The PolicyHook call that lets `k` use the fixture's paymaster (a PolicyHook key may use no paymaster
    /// until one is listed).
    function allowSponsorCall(IPolicyHook hook, TestKey memory k) internal view returns (Call memory) {
        address[] memory pms = new address[](1);
        pms[0] = address(sponsor);
        return Call(address(hook), 0, abi.encodeCall(IPolicyHook.setPaymasters, (k.keyHash, pms)));
    }

    // ------------------------------------------------------------------------------------------------------------
    // Settings
    // ------------------------------------------------------------------------------------------------------------

    function settingsOf(address hook, uint40 expiration, bool admin, uint40 validAfter)
        internal
        pure
        returns (uint256)
    {
        return uint256(uint160(hook)) | (uint256(expiration) << 160) | (admin ? uint256(1) << 200 : 0)
            | (uint256(validAfter) << 208);
    }

    /// @dev A non-admin key under the PolicyHook as Keyward grants it: AFTER_EXECUTE only after failed calls.
    function policySettings(IPolicyHook hook, uint40 expiration) internal pure returns (uint256) {
        return settingsOf(address(hook), expiration, false, 0) | FLAG_AFTER_ON_FAILURE;
    }

    // ------------------------------------------------------------------------------------------------------------
    // Root operations
    // ------------------------------------------------------------------------------------------------------------

    function one(address to, uint256 value, bytes memory data) internal pure returns (Call[] memory calls) {
        calls = new Call[](1);
        calls[0] = Call(to, value, data);
    }

    function rootExecute(Call[] memory calls) internal {
        vm.prank(account);
        acct.execute(MODE_REVERT, abi.encode(calls));
    }

    function rootCall(bytes memory data) internal {
        rootExecute(one(account, 0, data));
    }

    function grant(TestKey memory k, uint256 settings) internal {
        rootCall(abi.encodeCall(IKeyward.grant, (k.key, settings)));
    }

    // ------------------------------------------------------------------------------------------------------------
    // Relayed path
    // ------------------------------------------------------------------------------------------------------------

    function signedBatch(Call[] memory calls, bytes32 keyHash, uint256 nonce)
        internal
        pure
        returns (SignedBatchedCall memory)
    {
        return SignedBatchedCall(BatchedCall(calls, true), nonce, keyHash, address(0), 0);
    }

    function signBatch(TestKey memory k, SignedBatchedCall memory b) internal view returns (bytes memory) {
        return abi.encode(sign(k, acct.hashSignedBatchedCall(b)), bytes(""));
    }

    // ------------------------------------------------------------------------------------------------------------
    // ERC-4337
    // ------------------------------------------------------------------------------------------------------------

    function userOp(Call[] memory calls) internal view returns (PackedUserOperation memory op) {
        op.sender = account;
        op.nonce = entryPoint.getNonce(account, 0);
        op.callData = abi.encodePacked(IKeyward.executeUserOp.selector, abi.encode(BatchedCall(calls, true)));
        op.accountGasLimits = bytes32((uint256(1_000_000) << 128) | 1_000_000);
        op.preVerificationGas = 50_000;
    }

    function signUserOp(TestKey memory k, PackedUserOperation memory op) internal view {
        op.signature = abi.encode(k.keyHash, sign(k, entryPoint.getUserOpHash(op)), bytes(""));
    }

    /// @dev Makes `sponsor` pay for `op` (sign after this: paymasterAndData is part of the user operation hash).
    function sponsored(PackedUserOperation memory op) internal view returns (PackedUserOperation memory) {
        op.paymasterAndData = abi.encodePacked(address(sponsor), uint128(100_000), uint128(0));
        return op;
    }

    function handle(PackedUserOperation memory op) internal {
        PackedUserOperation[] memory ops = new PackedUserOperation[](1);
        ops[0] = op;
        entryPoint.handleOps(ops, payable(address(0xbeef)));
    }

    // ------------------------------------------------------------------------------------------------------------
    // ERC-1271 / ERC-7739
    // ------------------------------------------------------------------------------------------------------------

    bytes32 internal constant PERSONAL_SIGN_TYPEHASH = keccak256("PersonalSign(bytes prefixed)");

    /// @dev A nested PersonalSign signature of `hash` by `k`, wrapped for `isValidSignature`.
    function personalSign(TestKey memory k, bytes32 hash) internal view returns (bytes memory) {
        bytes32 digest = acct.hashTypedData(keccak256(abi.encode(PERSONAL_SIGN_TYPEHASH, hash)));
        return abi.encode(k.keyHash, sign(k, digest), bytes(""));
    }

    /// @dev A TypedDataSign signature by `k` of `contents` (of type `contentsType`, implicit mode) under the
    /// application domain `appSeparator`; returns the hash the application asks about and the wrapped signature.
    function typedDataSign(TestKey memory k, bytes32 appSeparator, bytes32 contentsHash, string memory contentsType)
        internal
        view
        returns (bytes32 hash, bytes memory wrapped)
    {
        hash = keccak256(abi.encodePacked(hex"1901", appSeparator, contentsHash));
        bytes32 digest =
            keccak256(abi.encodePacked(hex"1901", appSeparator, _typedDataSignStruct(contentsHash, contentsType)));
        bytes memory inner = sign(k, digest);
        wrapped = abi.encode(k.keyHash, abi.encode(inner, appSeparator, contentsHash, contentsType), bytes(""));
    }

    function _typedDataSignStruct(bytes32 contentsHash, string memory contentsType) private view returns (bytes32) {
        bytes memory name = bytes(contentsType);
        uint256 n;
        while (name[n] != "(") ++n;
        bytes memory nameOnly = new bytes(n);
        for (uint256 i; i < n; ++i) {
            nameOnly[i] = name[i];
        }
        (, string memory dName, string memory dVersion, uint256 chainId, address verifying, bytes32 salt,) =
            acct.eip712Domain();
        bytes32 typeHash = keccak256(
            abi.encodePacked(
                "TypedDataSign(",
                nameOnly,
                " contents,string name,string version,uint256 chainId,address verifyingContract,bytes32 salt)",
                contentsType
            )
        );
        return keccak256(
            abi.encode(
                typeHash, contentsHash, keccak256(bytes(dName)), keccak256(bytes(dVersion)), chainId, verifying, salt
            )
        );
    }
}
