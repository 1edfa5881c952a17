// SPDX-License-Identifier: MIT
pragma solidity ^0.8.30;

import {Keyward} from "../../contracts/Keyward.sol";
import {
    IExecutionHook,
    IHook,
    IValidationHook,
    PackedUserOperation as HookUserOp
} from "../../contracts/interfaces/IHook.sol";
import {
    BatchedCall,
    Call,
    IKeyward,
    Key,
    KeyType,
    PackedUserOperation,
    SignedBatchedCall
} from "../../contracts/interfaces/IKeyward.sol";
import {KeyLib} from "../../contracts/libraries/KeyLib.sol";
import {Settings, SettingsLib} from "../../contracts/types/Settings.sol";
import {Test} from "forge-std/Test.sol";

/// @dev Exposes KeyLib's hashing for the checks.
contract KeyLibHarness {
    function hashKey(Key calldata key) external pure returns (bytes32) {
        return KeyLib.hash(key);
    }

    function hashSecp256k1(address signer) external pure returns (bytes32) {
        return KeyLib.hashSecp256k1(signer);
    }
}

/// @dev A hook that approves everything and does every callback: the most permissive policy there is.
contract AllowAllHook is IHook {
    function afterVerifySignature(bytes32, bytes32, bytes calldata) external pure returns (bytes4) {
        return IValidationHook.afterVerifySignature.selector;
    }

    function afterValidateUserOp(bytes32, HookUserOp calldata, bytes32, uint256, bytes calldata)
        external
        pure
        returns (bytes4)
    {
        return IValidationHook.afterValidateUserOp.selector;
    }

    function afterIsValidSignature(bytes32, bytes32, bytes calldata) external pure returns (bytes4) {
        return IValidationHook.afterIsValidSignature.selector;
    }

    function beforeExecute(bytes32, address, uint256, bytes calldata) external pure returns (bytes4, bytes memory) {
        return (IExecutionHook.beforeExecute.selector, "");
    }

    function afterExecute(bytes32, bool, bytes calldata, bytes calldata) external pure returns (bytes4) {
        return IExecutionHook.afterExecute.selector;
    }
}

/// @notice Symbolic checks (halmos, `make verify`) of the account: the key-hash formula, canonical settings at
/// registration, and that a non-admin key can never make the account call itself, on every execution path.
/// forge does not run `check_` functions.
contract KeywardSymbolicTest is Test {
    address private constant ENTRY_POINT = 0x4337084D9E255Ff0702461CF8895CE9E3b5Ff108;
    bytes32 private constant MODE_REVERT = bytes32(uint256(0x01) << 248);
    bytes32 private constant MODE_CONTINUE = bytes32(uint256(0x0101) << 240);
    address private constant SESSION = address(0x5E5510);

    IKeyward private acct;
    KeyLibHarness private lib;

    function setUp() public {
        acct = IKeyward(address(new Keyward()));
        lib = new KeyLibHarness();
        vm.deal(address(acct), 10 ether);
    }

    // ------------------------------------------------------------------------------------------------------------
    // Key hash
    // ------------------------------------------------------------------------------------------------------------

    /// @dev The key hash is `keccak256(abi.encode(keyType, keccak256(publicKey)))` (Calibur's formula) for every
    /// key type and public key, through the library and through the account's view.
    function check_keyHash_isCaliburFormula(uint8 keyType, bytes calldata publicKey) public view {
        vm.assume(keyType <= uint8(KeyType.Secp256k1));
        Key memory key = Key(KeyType(keyType), publicKey);
        bytes32 expected = keccak256(abi.encode(keyType, keccak256(publicKey)));
        assert(lib.hashKey(key) == expected);
        assert(acct.hashKey(key) == expected);
    }

    /// @dev The direct path finds a secp256k1 key by its caller's address with a shortcut: it names the same key
    /// that registration stored, for every address.
    function check_keyHash_secp256k1ShortcutMatches(address signer) public view {
        Key memory key = Key(KeyType.Secp256k1, abi.encode(signer));
        assert(lib.hashSecp256k1(signer) == lib.hashKey(key));
    }

    // ------------------------------------------------------------------------------------------------------------
    // Canonical settings
    // ------------------------------------------------------------------------------------------------------------

    /// @dev grant stores exactly the settings it was given when they are acceptable (canonical, and a hook, if
    /// any, that enables at least one callback); otherwise it reverts with NonCanonicalSettings or
    /// HookWithoutCallbacks and registers nothing.
    function check_grant_canonicalOrNothing(uint256 settings) public {
        Key memory key = Key(KeyType.Secp256k1, abi.encode(SESSION));
        bytes32 keyHash = lib.hashKey(key);
        vm.prank(address(acct));
        (bool ok, bytes memory ret) = address(acct).call(abi.encodeCall(IKeyward.grant, (key, settings)));
        Settings s = Settings.wrap(settings);
        if (_acceptable(s)) {
            assert(ok);
            assert(acct.getKeySettings(keyHash) == settings);
            assert(acct.keyCount() == 1);
        } else {
            assert(!ok);
            bytes memory expected = s.isCanonical()
                ? abi.encodeWithSelector(IKeyward.HookWithoutCallbacks.selector, s.hook())
                : abi.encodeWithSelector(IKeyward.NonCanonicalSettings.selector, settings);
            assert(keccak256(ret) == keccak256(expected));
            assert(!acct.isRegistered(keyHash));
            assert(acct.keyCount() == 0);
        }
    }

    /// @dev update follows the same rule and leaves the old settings in place when it refuses.
    function check_update_canonicalOrNothing(uint256 settings) public {
        bytes32 keyHash = _grantSession(0);
        vm.prank(address(acct));
        (bool ok,) = address(acct).call(abi.encodeCall(IKeyward.update, (keyHash, settings)));
        assert(ok == _acceptable(Settings.wrap(settings)));
        assert(acct.getKeySettings(keyHash) == (ok ? settings : 0));
    }

    /// @dev What grant and update accept: canonical, and no hook or a hook whose address enables a callback.
    function _acceptable(Settings s) private pure returns (bool) {
        return s.isCanonical() && (s.hook() == address(0) || uint160(s.hook()) & 0x1f != 0);
    }

    // ------------------------------------------------------------------------------------------------------------
    // No self-call by a non-admin key
    // ------------------------------------------------------------------------------------------------------------

    /// @dev Direct path (the key's own address calls execute): for any non-admin settings without a hook, any
    /// two-call batch in either mode whose calls reach the account (`to` is the account or address(0)) reverts.
    function check_nonAdmin_direct_noSelfCall(
        uint256 settings,
        bool continueOnFailure,
        address to0,
        address to1,
        bytes4 selector
    ) public {
        _grantSession(_nonAdmin(settings));
        Call[] memory calls = _calls(to0, to1, selector);
        _assertOnlyOutsideCalls(_directAsSession(continueOnFailure, calls), settings, to0, to1);
    }

    /// @dev ERC-4337 execution path (the EntryPoint calls executeUserOp after validation).
    function check_nonAdmin_userOp_noSelfCall(
        uint256 settings,
        bool continueOnFailure,
        address to0,
        address to1,
        bytes4 selector
    ) public {
        bytes32 keyHash = _grantSession(_nonAdmin(settings));
        BatchedCall memory batch = BatchedCall(_calls(to0, to1, selector), !continueOnFailure);
        PackedUserOperation memory op;
        op.sender = address(acct);
        op.callData = abi.encodeWithSelector(IKeyward.executeUserOp.selector, batch);
        op.signature = abi.encode(keyHash, bytes(""), bytes(""));
        vm.prank(ENTRY_POINT);
        (bool ok,) = address(acct).call(abi.encodeCall(IKeyward.executeUserOp, (op, bytes32(0))));
        _assertOnlyOutsideCalls(ok, settings, to0, to1);
    }

    /// @dev Relayed path: a batch signed by the key (any signature the key's address recovers from).
    function check_nonAdmin_relayed_noSelfCall(
        uint256 settings,
        bool continueOnFailure,
        address to0,
        address to1,
        bytes4 selector
    ) public {
        uint256 pk = 0x5e5510;
        address signer = vm.addr(pk);
        Key memory key = Key(KeyType.Secp256k1, abi.encode(signer));
        vm.prank(address(acct));
        acct.grant(key, _nonAdmin(settings));
        SignedBatchedCall memory b = SignedBatchedCall(
            BatchedCall(_calls(to0, to1, selector), !continueOnFailure), 0, lib.hashKey(key), address(0), 0
        );
        bytes memory wrapped = _signRelayed(pk, signer, b);
        (bool ok,) = address(acct)
            .call(
                abi.encodeWithSignature(
                    "execute((((address,uint256,bytes)[],bool),uint256,bytes32,address,uint256),bytes)", b, wrapped
                )
            );
        _assertOnlyOutsideCalls(ok, settings, to0, to1);
    }

    /// @dev Even under a hook that approves everything and runs every callback (validate, before, after, after
    /// failure), a non-admin key reaches no self-call: the account refuses before it asks the hook.
    function check_nonAdmin_permissiveHook_noSelfCall(
        uint256 settings,
        bool continueOnFailure,
        address to0,
        address to1,
        bytes4 selector
    ) public {
        address hook = address(uint160(0xa110000000000000000000000000000000000000) | 0x1f);
        vm.etch(hook, address(new AllowAllHook()).code);
        Settings s = Settings.wrap(settings);
        vm.assume(s.isCanonical() && !s.isAdmin());
        settings = (settings & ~uint256(type(uint160).max)) | uint160(hook);
        _grantSession(settings);
        Call[] memory calls = _calls(to0, to1, selector);
        vm.assume(to0 != hook && to1 != hook);
        _assertOnlyOutsideCalls(_directAsSession(continueOnFailure, calls), settings, to0, to1);
    }

    // ------------------------------------------------------------------------------------------------------------
    // Helpers
    // ------------------------------------------------------------------------------------------------------------

    /// @dev ERC-7821 execute from the session key's own address; whether it succeeded.
    function _directAsSession(bool continueOnFailure, Call[] memory calls) private returns (bool ok) {
        vm.prank(SESSION);
        (ok,) = address(acct)
            .call(
                abi.encodeWithSignature(
                    "execute(bytes32,bytes)", continueOnFailure ? MODE_CONTINUE : MODE_REVERT, abi.encode(calls)
                )
            );
    }

    /// @dev The key's wrapped signature of `b`. halmos models ecrecover as an uninterpreted function: with a
    /// symbolic digest it does not know that the key's own signature recovers its address (ECDSA's correctness),
    /// and without that the non-vacuity assertion fails on an "invalid signature"; it is stated here. The safety
    /// assertion (a self-call never succeeds) does not depend on it.
    function _signRelayed(uint256 pk, address signer, SignedBatchedCall memory b) private returns (bytes memory) {
        bytes32 digest = acct.hashSignedBatchedCall(b);
        (uint8 v, bytes32 r, bytes32 s) = vm.sign(pk, digest);
        // vm.sign's v is 27 or 28 (symbolic here): without this, halmos explores v = 0 / 1, which the account reads
        // as 27 / 28 (a different ecrecover term than the one assumed below).
        vm.assume(v == 27 || v == 28);
        vm.assume(ecrecover(digest, v, r, s) == signer);
        return abi.encode(abi.encodePacked(r, s, v), bytes(""));
    }

    function _nonAdmin(uint256 settings) private pure returns (uint256) {
        Settings s = Settings.wrap(settings);
        vm.assume(s.isCanonical() && !s.isAdmin() && s.hook() == address(0));
        return settings;
    }

    function _grantSession(uint256 settings) private returns (bytes32 keyHash) {
        Key memory key = Key(KeyType.Secp256k1, abi.encode(SESSION));
        vm.prank(address(acct));
        acct.grant(key, settings);
        keyHash = lib.hashKey(key);
    }

    /// @dev Two calls with symbolic targets; the data is a symbolic selector (e.g. revokeAll or grant).
    function _calls(address to0, address to1, bytes4 selector) private pure returns (Call[] memory calls) {
        calls = new Call[](2);
        calls[0] = Call(to0, 0, abi.encodePacked(selector));
        calls[1] = Call(to1, 0, abi.encodePacked(selector));
    }

    /// @dev A batch reaching the account fails. Non-vacuity: a batch of two plain calls (targets with no code,
    /// outside the precompile range) by a key inside its validity window succeeds, so the path really executes.
    function _assertOnlyOutsideCalls(bool ok, uint256 settings, address to0, address to1) private view {
        if (_reachesSelf(to0) || _reachesSelf(to1)) {
            assert(!ok);
        } else if (_plain(to0) && _plain(to1) && _live(Settings.wrap(settings))) {
            assert(ok);
        }
    }

    function _plain(address to) private view returns (bool) {
        return uint160(to) > 0xffff && to.code.length == 0;
    }

    /// @dev Inside its window, and not SCHEDULED (a scheduled key has no schedule here, so it never acts).
    function _live(Settings s) private view returns (bool) {
        return s.validAfter() <= block.timestamp && (s.expiration() == 0 || block.timestamp <= s.expiration())
            && !s.hasFlag(SettingsLib.SCHEDULED);
    }

    function _reachesSelf(address to) private view returns (bool) {
        return to == address(0) || to == address(acct);
    }
}
