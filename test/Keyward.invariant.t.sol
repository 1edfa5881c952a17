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
import {IEntryPointV8, KeywardTestBase, TestKey} from "./utils/KeywardTestBase.sol";
import {Target} from "./utils/MockHook.sol";

/// @notice Drives the account with random grants, revocations, time jumps and attempts by every key on every path,
/// against a model of which keys exist and what they may do.
contract KeywardHandler is KeywardTestBase {
    uint256 internal constant N = 5;
    TestKey[N] internal keys;
    Target public target;

    // The model.
    bool[N] public registered;
    uint256[N] public settings;
    uint256 public modelCount;

    // Ghosts.
    uint256 public violations;
    uint256 public successes;
    string public lastViolation;

    constructor(IKeyward acct_, address payable account_, uint256 rootKey_, Target target_) {
        acct = acct_;
        account = account_;
        rootKey = rootKey_;
        target = target_;
        entryPoint = IEntryPointV8(ENTRY_POINT);
        keys[0] = secp256k1Key("k0");
        keys[1] = secp256k1Key("k1");
        keys[2] = secp256k1Key("k2");
        keys[3] = secp256k1Key("k3");
        keys[4] = p256Key("k4");
    }

    function keyHashOf(uint256 i) external view returns (bytes32) {
        return keys[i].keyHash;
    }

    function _violation(string memory what) internal {
        ++violations;
        lastViolation = what;
    }

    function _active(uint256 i) internal view returns (bool) {
        if (!registered[i]) return false;
        uint256 exp = uint40(settings[i] >> 160);
        uint256 start = uint40(settings[i] >> 208);
        return (exp == 0 || block.timestamp <= exp) && block.timestamp >= start;
    }

    // ------------------------------------------------------------------------------------------------------------
    // Root actions (the only ones allowed to change the model)
    // ------------------------------------------------------------------------------------------------------------

    function rootGrant(uint256 i, bool admin, uint16 expIn, uint16 startIn, bool noExpiry) external {
        i %= N;
        if (registered[i]) return;
        uint40 exp = noExpiry ? 0 : uint40(block.timestamp + expIn);
        uint40 start = startIn % 3 == 0 ? 0 : uint40(block.timestamp + (startIn % 200));
        uint256 s = settingsOf(address(0), exp, admin, start);
        rootCall(abi.encodeCall(IKeyward.grant, (keys[i].key, s)));
        registered[i] = true;
        settings[i] = s;
        ++modelCount;
    }

    function rootRevoke(uint256 i) external {
        i %= N;
        if (!registered[i]) return;
        rootCall(abi.encodeCall(IKeyward.revoke, (keys[i].keyHash)));
        registered[i] = false;
        --modelCount;
    }

    function rootRevokeAll(uint8 dice) external {
        if (dice % 8 != 0) return;
        rootCall(abi.encodeCall(IKeyward.revokeAll, ()));
        for (uint256 i; i < N; ++i) {
            registered[i] = false;
        }
        modelCount = 0;
    }

    function rootExecutes() external {
        uint256 before = target.counter();
        rootExecute(one(address(target), 0, abi.encodeCall(Target.bump, ())));
        if (target.counter() != before + 1) _violation("root could not execute");
    }

    function warp(uint16 dt) external {
        vm.warp(block.timestamp + (dt % 400));
    }

    // ------------------------------------------------------------------------------------------------------------
    // Key attempts (must never change the model)
    // ------------------------------------------------------------------------------------------------------------

    function _selfGrantCall(uint256 i) internal view returns (Call[] memory) {
        // Try to grant key (i+1) as admin: key management by a non-admin must always fail.
        return one(address(0), 0, abi.encodeCall(IKeyward.grant, (keys[(i + 1) % N].key, 1 << 200)));
    }

    /// @dev The direct path, through ERC-7821 `execute(bytes32,bytes)` or Calibur's `execute(BatchedCall)`.
    function keyDirect(uint256 i, bool selfCall, bool caliburAbi) external {
        i %= 4; // secp256k1 keys only
        Call[] memory calls = selfCall ? _selfGrantCall(i) : one(address(target), 0, abi.encodeCall(Target.bump, ()));
        bool admin = (settings[i] >> 200) & 1 == 1;
        bytes memory data = caliburAbi
            ? abi.encodeWithSignature("execute(((address,uint256,bytes)[],bool))", BatchedCall(calls, true))
            : abi.encodeWithSignature("execute(bytes32,bytes)", MODE_REVERT, abi.encode(calls));
        vm.prank(keys[i].signer);
        (bool ok,) = address(acct).call(data);
        if (ok) {
            if (!_active(i)) _violation("inactive key executed directly");
            if (selfCall && !admin) _violation("non-admin self-call succeeded (direct)");
            if (selfCall) _undoSelfGrant(i);
            ++successes;
        } else if (_active(i) && !selfCall) {
            _violation("active key refused (direct)");
        }
    }

    function keyRelayed(uint256 i, bool selfCall) external {
        i %= N;
        Call[] memory calls = selfCall ? _selfGrantCall(i) : one(address(target), 0, abi.encodeCall(Target.bump, ()));
        bool admin = (settings[i] >> 200) & 1 == 1;
        SignedBatchedCall memory b = signedBatch(calls, keys[i].keyHash, acct.getSeq(0));
        bytes memory sig = signBatch(keys[i], b);
        try acct.execute(b, sig) {
            if (!_active(i)) _violation("inactive key executed (relayed)");
            if (selfCall && !admin) _violation("non-admin self-call succeeded (relayed)");
            if (selfCall) _undoSelfGrant(i);
            ++successes;
        } catch {
            if (_active(i) && !selfCall) _violation("active key refused (relayed)");
        }
    }

    /// @dev ERC-4337 through the real EntryPoint: an inactive key is refused at validation (handleOps reverts), an
    /// active one executes; a non-admin key's self-call fails at execution and changes nothing.
    function keyUserOp(uint256 i, bool selfCall) external {
        i %= N;
        uint256 j = (i + 1) % N;
        Call[] memory calls = selfCall ? _selfGrantCall(i) : one(address(target), 0, abi.encodeCall(Target.bump, ()));
        bool admin = (settings[i] >> 200) & 1 == 1;
        PackedUserOperation memory op = userOp(calls);
        signUserOp(keys[i], op);
        PackedUserOperation[] memory ops = new PackedUserOperation[](1);
        ops[0] = op;
        uint256 before = target.counter();
        bool jWasRegistered = acct.isRegistered(keys[j].keyHash);
        try entryPoint.handleOps(ops, payable(address(0xbeef))) {
            if (!_active(i)) _violation("inactive key validated (4337)");
            if (!selfCall && target.counter() != before + 1) _violation("active key's operation did not run (4337)");
            if (selfCall && !admin && acct.isRegistered(keys[j].keyHash) != jWasRegistered) {
                _violation("non-admin self-call succeeded (4337)");
            }
            if (selfCall && admin) _undoSelfGrant(i);
            ++successes;
        } catch {
            if (_active(i)) _violation("active key refused (4337)");
        }
    }

    /// @dev The account's other management functions (Calibur's additions): a non-admin key never reaches them, on
    /// the direct or relayed path or through multicall from its own address; an admin key may (these change
    /// nothing the model tracks).
    function keyEscalates(uint256 i, uint8 what, uint8 path) external {
        i %= N;
        bytes[4] memory calls = [
            abi.encodeCall(IKeyward.approveNative, (keys[i].signer, type(uint256).max)),
            abi.encodeCall(IKeyward.updateSalt, (uint96(uint256(keccak256(abi.encode(i, what))) >> 160))),
            abi.encodeCall(IKeyward.invalidateNonce, ((uint256(77) << 64) | (acct.getSeq(77) + 1))),
            abi.encodeCall(IKeyward.approveNativeTransient, (keys[i].signer, 1))
        ];
        bytes memory data = calls[what % 4];
        bool admin = (settings[i] >> 200) & 1 == 1;
        bool ok;
        path %= 3;
        if (path == 0 && i < 4) {
            vm.prank(keys[i].signer);
            (ok,) = address(acct)
                .call(
                    abi.encodeWithSignature("execute(bytes32,bytes)", MODE_REVERT, abi.encode(one(address(0), 0, data)))
                );
        } else if (path == 1) {
            SignedBatchedCall memory b = signedBatch(one(address(0), 0, data), keys[i].keyHash, acct.getSeq(0));
            bytes memory sig = signBatch(keys[i], b);
            try acct.execute(b, sig) {
                ok = true;
            } catch {}
        } else {
            bytes[] memory items = new bytes[](1);
            items[0] = data;
            vm.prank(keys[i].signer);
            try acct.multicall(items) {
                ok = true;
            } catch {}
            if (ok) _violation("a key's own multicall reached a management function");
            return;
        }
        if (ok && !(admin && _active(i))) _violation("management function reached by a non-admin or inactive key");
        if (ok) ++successes;
    }

    function keySigns(uint256 i, bytes32 h) external {
        i %= N;
        bool admin = (settings[i] >> 200) & 1 == 1;
        bytes4 result = acct.isValidSignature(h, personalSign(keys[i], h));
        bool expected = _active(i) && admin;
        if ((result == 0x1626ba7e) != expected) _violation("1271 answer disagrees with the model");
    }

    /// @dev An admin's successful self-grant is legitimate: fold it into the model.
    function _undoSelfGrant(uint256 i) internal {
        uint256 j = (i + 1) % N;
        if (!registered[j]) {
            registered[j] = true;
            settings[j] = 1 << 200;
            ++modelCount;
        }
    }
}

contract KeywardInvariantTest is KeywardTestBase {
    KeywardHandler internal handler;

    function setUp() public override {
        super.setUp();
        Target target = new Target();
        handler = new KeywardHandler(acct, account, rootKey, target);
        targetContract(address(handler));
        bytes4[] memory selectors = new bytes4[](10);
        selectors[0] = KeywardHandler.rootGrant.selector;
        selectors[1] = KeywardHandler.rootRevoke.selector;
        selectors[2] = KeywardHandler.rootRevokeAll.selector;
        selectors[3] = KeywardHandler.rootExecutes.selector;
        selectors[4] = KeywardHandler.warp.selector;
        selectors[5] = KeywardHandler.keyDirect.selector;
        selectors[6] = KeywardHandler.keyRelayed.selector;
        selectors[7] = KeywardHandler.keySigns.selector;
        selectors[8] = KeywardHandler.keyUserOp.selector;
        selectors[9] = KeywardHandler.keyEscalates.selector;
        targetSelector(FuzzSelector(address(handler), selectors));
    }

    /// @notice The handler's checks are live: a scripted run succeeds on every path, and a key revoked behind the
    /// model's back is reported.
    function test_handler_detectsDrift() public {
        handler.rootGrant(0, false, 100, 0, false);
        handler.rootGrant(4, true, 100, 0, true);
        handler.keyDirect(0, false, false);
        handler.keyDirect(0, false, true);
        handler.keyRelayed(4, false);
        handler.keyRelayed(4, true); // admin self-grant of key 0: already registered, so grant reverts
        handler.keyUserOp(0, false);
        handler.keyUserOp(0, true); // a non-admin self-call: fails at execution, nothing changes
        handler.keySigns(4, keccak256("m"));
        handler.keyDirect(0, true, false);
        for (uint8 what; what < 4; ++what) {
            for (uint8 path; path < 3; ++path) {
                handler.keyEscalates(0, what, path); // non-admin: always refused
            }
            handler.keyEscalates(4, what, 1); // an active admin key (relayed): allowed
        }
        assertEq(handler.violations(), 0, handler.lastViolation());
        assertEq(handler.successes(), 9);
        assertEq(handler.target().counter(), 4);
        handler.warp(101);
        handler.keyDirect(0, false, true);
        handler.keyUserOp(0, false);
        assertEq(handler.violations(), 0, handler.lastViolation());
        // Drift: revoke key 4 without telling the model.
        rootCall(abi.encodeCall(IKeyward.revoke, (handler.keyHashOf(4))));
        handler.keyRelayed(4, false);
        assertEq(handler.violations(), 1);
    }

    /// @notice The account's key set and settings equal the model: nothing but the root (and admins, folded into the
    /// model) ever changed them.
    function invariant_keySetMatchesModel() public view {
        assertEq(acct.keyCount(), handler.modelCount());
        for (uint256 i; i < 5; ++i) {
            bytes32 h = handler.keyHashOf(i);
            assertEq(acct.isRegistered(h), handler.registered(i));
            if (handler.registered(i)) assertEq(acct.getKeySettings(h), handler.settings(i));
        }
    }

    /// @notice Revoked, expired and not-yet-valid keys never execute or sign; non-admin keys never self-call;
    /// active keys are never refused; the root always can.
    function invariant_noViolations() public view {
        assertEq(handler.violations(), 0, handler.lastViolation());
    }
}
