// SPDX-License-Identifier: MIT
pragma solidity 0.8.37;

import {
    BatchedCall,
    Call,
    IKeyward,
    Key,
    KeyType,
    PackedUserOperation,
    SignedBatchedCall
} from "./interfaces/IKeyward.sol";
import {IKeywardHook} from "./interfaces/IKeywardHook.sol";
import {CalldataLib} from "./libraries/CalldataLib.sol";
import {KeyLib} from "./libraries/KeyLib.sol";
import {ValidationDataLib} from "./libraries/ValidationDataLib.sol";
import {Settings, SettingsLib} from "./types/Settings.sol";

/// @title Keyward
/// @notice The account an EOA delegates to with EIP-7702: a registry of keys, each with one packed settings word
/// (hook, expiration, admin flag, validAfter), and four execution paths that enforce the same rules: direct
/// ERC-7821 `execute`, relayed signed batches, ERC-4337 v0.8 and ERC-1271 (with ERC-7739).
/// @dev No constructor arguments and no initializer: a freshly delegated EOA works at once and is its own root key
/// (key hash 0). Storage lives in one ERC-7201 namespace. Keys are stored per key epoch, so `revokeAll` is one
/// write, and each registration gets a fresh `keyId` for its hook, so a revoked key never revives hook state.
contract Keyward is IKeyward {
    using ValidationDataLib for uint256;

    // ------------------------------------------------------------------------------------------------------------
    // Constants
    // ------------------------------------------------------------------------------------------------------------

    /// @dev ERC-4337 EntryPoint v0.8, the default.
    address internal constant DEFAULT_ENTRY_POINT = 0x4337084D9E255Ff0702461CF8895CE9E3b5Ff108;

    bytes32 internal constant MODE_REVERT_ON_FAILURE = bytes32(uint256(0x01) << 248);
    bytes32 internal constant MODE_CONTINUE_ON_FAILURE = bytes32(uint256(0x0101) << 240);

    bytes32 internal constant CALL_TYPEHASH = keccak256("Call(address to,uint256 value,bytes data)");
    bytes32 internal constant BATCHED_CALL_TYPEHASH =
        keccak256("BatchedCall(Call[] calls,bool revertOnFailure)Call(address to,uint256 value,bytes data)");
    bytes32 internal constant SIGNED_BATCHED_CALL_TYPEHASH = keccak256(
        "SignedBatchedCall(BatchedCall batchedCall,uint256 nonce,bytes32 keyHash,address executor,uint256 deadline)"
        "BatchedCall(Call[] calls,bool revertOnFailure)Call(address to,uint256 value,bytes data)"
    );
    bytes32 internal constant DOMAIN_TYPEHASH =
        keccak256("EIP712Domain(string name,string version,uint256 chainId,address verifyingContract,bytes32 salt)");
    bytes32 internal constant PERSONAL_SIGN_TYPEHASH = keccak256("PersonalSign(bytes prefixed)");
    /// @dev Marks a verified nested PersonalSign in `_verify7739` (no domain separator can be all ones in practice).
    bytes32 internal constant PERSONAL = bytes32(type(uint256).max);
    bytes32 internal constant NAME_HASH = keccak256("Keyward");
    bytes32 internal constant VERSION_HASH = keccak256("1");

    bytes4 internal constant ERC1271_MAGIC = 0x1626ba7e;
    bytes4 internal constant ERC1271_FAIL = 0xffffffff;
    bytes32 internal constant ERC7739_DETECTION_HASH =
        0x7739773977397739773977397739773977397739773977397739773977397739;
    bytes4 internal constant ERC7739_SUPPORT = 0x77390001;

    uint256 internal constant HOOK_VALIDATE = 1 << 0;
    uint256 internal constant HOOK_SIGNATURE = 1 << 1;
    uint256 internal constant HOOK_BEFORE_EXECUTE = 1 << 2;
    uint256 internal constant HOOK_AFTER_EXECUTE = 1 << 3;
    uint256 internal constant HOOK_AFTER_FAILURE = 1 << 4;

    // ------------------------------------------------------------------------------------------------------------
    // Storage (ERC-7201)
    // ------------------------------------------------------------------------------------------------------------

    /// @dev header: entryPoint bits 0-159 | epoch 160-191 | keyCount 192-223 | grants 224-254 | epOverride 255.
    /// meta:   signer address (secp256k1) bits 0-159 | grant number 160-191 | list index 192-223 |
    ///         keyType + 1 bits 224-231 (0: not registered).
    struct KeyRecord {
        uint256 settings;
        uint256 meta;
        uint256 x;
        uint256 y;
    }

    /// @custom:storage-location erc7201:keyward.account.v1
    struct AccountStorage {
        uint256 header;
        mapping(uint256 epoch => mapping(bytes32 keyHash => KeyRecord)) keys;
        mapping(uint256 epoch => mapping(uint256 index => bytes32 keyHash)) keyList;
        mapping(bytes32 keyHash => mapping(uint256 lane => uint256 seq)) nonces;
    }

    /// @dev keccak256(abi.encode(uint256(keccak256("keyward.account.v1")) - 1)) & ~bytes32(uint256(0xff))
    bytes32 internal constant STORAGE_SLOT = 0x899ba7d5f4e670354d3c6b4c56ba97c18984d0b046169949785f78527d929100;

    uint256 private constant EPOCH_SHIFT = 160;
    uint256 private constant COUNT_SHIFT = 192;
    uint256 private constant GRANTS_SHIFT = 224;
    uint256 private constant EP_OVERRIDE_BIT = 1 << 255;
    uint256 private constant U32 = 0xffffffff;
    uint256 private constant GRANTS_MAX = (1 << 31) - 1;

    uint256 private constant META_GRANT_SHIFT = 160;
    uint256 private constant META_INDEX_SHIFT = 192;
    uint256 private constant META_TYPE_SHIFT = 224;

    /// @dev The implementation's own address, part of the EIP-712 salt: re-delegating elsewhere invalidates every
    /// outstanding signature.
    address internal immutable IMPLEMENTATION = address(this);

    function _storage() internal pure returns (AccountStorage storage $) {
        assembly ("memory-safe") {
            $.slot := STORAGE_SLOT
        }
    }

    // ------------------------------------------------------------------------------------------------------------
    // Modifiers
    // ------------------------------------------------------------------------------------------------------------

    modifier onlyThis() {
        if (msg.sender != address(this)) revert Unauthorized();
        _;
    }

    modifier onlyEntryPoint() {
        if (msg.sender != _entryPoint(_storage().header) || msg.sender == address(0)) revert NotEntryPoint();
        _;
    }

    // ------------------------------------------------------------------------------------------------------------
    // Receiving
    // ------------------------------------------------------------------------------------------------------------

    /// @notice Accepts ETH.
    receive() external payable {}

    /// @notice ERC-721 receiver hook: accepts every token.
    function onERC721Received(address, address, uint256, bytes calldata) external pure returns (bytes4) {
        return this.onERC721Received.selector;
    }

    /// @notice ERC-1155 receiver hook: accepts every token.
    function onERC1155Received(address, address, uint256, uint256, bytes calldata) external pure returns (bytes4) {
        return this.onERC1155Received.selector;
    }

    /// @notice ERC-1155 batch receiver hook: accepts every token.
    function onERC1155BatchReceived(address, address, uint256[] calldata, uint256[] calldata, bytes calldata)
        external
        pure
        returns (bytes4)
    {
        return this.onERC1155BatchReceived.selector;
    }

    // ------------------------------------------------------------------------------------------------------------
    // Key management
    // ------------------------------------------------------------------------------------------------------------

    /// @inheritdoc IKeyward
    function register(Key calldata key) external onlyThis {
        _register(key, 0, false);
    }

    /// @inheritdoc IKeyward
    function grant(Key calldata key, uint256 settings) external onlyThis {
        _register(key, settings, true);
    }

    /// @inheritdoc IKeyward
    function update(bytes32 keyHash, uint256 settings) external onlyThis {
        if (keyHash == KeyLib.ROOT_KEY_HASH) revert CannotUpdateRootKey();
        if (!Settings.wrap(settings).isCanonical()) revert NonCanonicalSettings(settings);
        KeyRecord storage rec = _record(keyHash);
        if (rec.meta == 0) revert KeyDoesNotExist();
        rec.settings = settings;
        emit KeySettingsUpdated(keyHash, settings);
    }

    /// @inheritdoc IKeyward
    function revoke(bytes32 keyHash) external onlyThis {
        AccountStorage storage $ = _storage();
        uint256 header = $.header;
        uint256 epoch = _epoch(header);
        KeyRecord storage rec = $.keys[epoch][keyHash];
        uint256 meta = rec.meta;
        if (meta == 0) revert KeyDoesNotExist();
        uint256 index = (meta >> META_INDEX_SHIFT) & U32;
        uint256 last = ((header >> COUNT_SHIFT) & U32) - 1;
        mapping(uint256 => bytes32) storage list = $.keyList[epoch];
        if (index != last) {
            bytes32 moved = list[last];
            list[index] = moved;
            KeyRecord storage movedRec = $.keys[epoch][moved];
            movedRec.meta = (movedRec.meta & ~(U32 << META_INDEX_SHIFT)) | (index << META_INDEX_SHIFT);
        }
        delete list[last];
        // Clearing `meta` unregisters the key on every path. Settings and P256 coordinates are left in place: no
        // path reads them without a registered `meta`, and every registration overwrites them.
        rec.meta = 0;
        $.header = (header & ~(U32 << COUNT_SHIFT)) | (last << COUNT_SHIFT);
        emit Revoked(keyHash);
    }

    /// @inheritdoc IKeyward
    function revokeAll() external onlyThis {
        AccountStorage storage $ = _storage();
        uint256 header = $.header;
        uint256 epoch = _epoch(header) + 1;
        // A wrapped epoch would bring back the keys of epoch 0.
        if (epoch > U32) revert TooManyKeys();
        // New epoch, empty list; entry point and grant counter are kept.
        $.header = (header & ~((U32 << EPOCH_SHIFT) | (U32 << COUNT_SHIFT))) | ((epoch & U32) << EPOCH_SHIFT);
        emit AllKeysRevoked(epoch);
    }

    /// @inheritdoc IKeyward
    function updateEntryPoint(address entryPoint) external onlyThis {
        AccountStorage storage $ = _storage();
        $.header = ($.header & ~uint256(type(uint160).max)) | EP_OVERRIDE_BIT | uint160(entryPoint);
        emit EntryPointUpdated(entryPoint);
    }

    function _register(Key calldata key, uint256 settings, bool isGrant) internal {
        if (!Settings.wrap(settings).isCanonical()) revert NonCanonicalSettings(settings);
        bytes32 keyHash = KeyLib.hash(key);
        AccountStorage storage $ = _storage();
        uint256 header = $.header;
        uint256 epoch = _epoch(header);
        KeyRecord storage rec = $.keys[epoch][keyHash];
        if (rec.meta != 0) {
            if (isGrant) revert KeyAlreadyRegistered(keyHash);
            return;
        }
        uint256 signer = _storePublicKey(key, rec);
        uint256 count = (header >> COUNT_SHIFT) & U32;
        uint256 grants = ((header >> GRANTS_SHIFT) & GRANTS_MAX) + 1;
        if (grants > GRANTS_MAX) revert TooManyKeys();

        $.keyList[epoch][count] = keyHash;
        rec.meta = signer | (grants << META_GRANT_SHIFT) | (count << META_INDEX_SHIFT)
            | ((uint256(uint8(key.keyType)) + 1) << META_TYPE_SHIFT);
        rec.settings = settings;
        $.header = (header & ~((U32 << COUNT_SHIFT) | (GRANTS_MAX << GRANTS_SHIFT))) | ((count + 1) << COUNT_SHIFT)
            | (grants << GRANTS_SHIFT);
        emit Registered(keyHash, key);
        if (isGrant) emit KeySettingsUpdated(keyHash, settings);
    }

    /// @dev Checks the public key's encoding. Secp256k1: returns the signer address (nothing else is stored).
    /// P256 and WebAuthnP256: stores (x, y) in `rec`, returns 0.
    function _storePublicKey(Key calldata key, KeyRecord storage rec) internal returns (uint256 signer) {
        bytes calldata pk = key.publicKey;
        if (key.keyType == KeyType.Secp256k1) {
            if (pk.length != 32) revert InvalidPublicKey();
            signer = uint256(bytes32(pk));
            if (signer >> 160 != 0 || signer == 0) revert InvalidPublicKey();
            if (signer == uint160(address(this))) revert CannotRegisterRootKey();
            return signer;
        }
        if (pk.length != 64) revert InvalidPublicKey();
        uint256 x = uint256(bytes32(pk[0:32]));
        uint256 y = uint256(bytes32(pk[32:64]));
        if (x == 0 || y == 0) revert InvalidPublicKey();
        rec.x = x;
        rec.y = y;
    }

    // ------------------------------------------------------------------------------------------------------------
    // Key views
    // ------------------------------------------------------------------------------------------------------------

    /// @inheritdoc IKeyward
    function getKey(bytes32 keyHash) public view returns (Key memory key) {
        if (keyHash == KeyLib.ROOT_KEY_HASH) return Key(KeyType.Secp256k1, abi.encode(address(this)));
        KeyRecord storage rec = _record(keyHash);
        uint256 meta = rec.meta;
        if (meta == 0) revert KeyDoesNotExist();
        key.keyType = KeyType((meta >> META_TYPE_SHIFT) - 1);
        key.publicKey = key.keyType == KeyType.Secp256k1 ? abi.encode(address(uint160(meta))) : abi.encode(rec.x, rec.y);
    }

    /// @inheritdoc IKeyward
    function getKeySettings(bytes32 keyHash) external view returns (uint256) {
        if (keyHash == KeyLib.ROOT_KEY_HASH) return Settings.unwrap(SettingsLib.ROOT);
        KeyRecord storage rec = _record(keyHash);
        if (rec.meta == 0) revert KeyDoesNotExist();
        return rec.settings;
    }

    /// @inheritdoc IKeyward
    function isRegistered(bytes32 keyHash) external view returns (bool) {
        return _record(keyHash).meta != 0;
    }

    /// @inheritdoc IKeyward
    function keyCount() external view returns (uint256) {
        return (_storage().header >> COUNT_SHIFT) & U32;
    }

    /// @inheritdoc IKeyward
    function keyAt(uint256 index) external view returns (Key memory) {
        AccountStorage storage $ = _storage();
        uint256 header = $.header;
        if (index >= (header >> COUNT_SHIFT) & U32) revert IndexOutOfBounds();
        return getKey($.keyList[_epoch(header)][index]);
    }

    /// @inheritdoc IKeyward
    function keyIdOf(bytes32 keyHash) external view returns (bytes32) {
        if (keyHash == KeyLib.ROOT_KEY_HASH) return bytes32(0);
        uint256 meta = _record(keyHash).meta;
        if (meta == 0) revert KeyDoesNotExist();
        return _keyId(keyHash, meta);
    }

    /// @inheritdoc IKeyward
    function keyEpoch() external view returns (uint256) {
        return _epoch(_storage().header);
    }

    /// @inheritdoc IKeyward
    function hashKey(Key calldata key) external pure returns (bytes32) {
        return KeyLib.hash(key);
    }

    // ------------------------------------------------------------------------------------------------------------
    // Execution: direct (ERC-7821)
    // ------------------------------------------------------------------------------------------------------------

    /// @inheritdoc IKeyward
    function supportsExecutionMode(bytes32 mode) external pure returns (bool) {
        return mode == MODE_REVERT_ON_FAILURE || mode == MODE_CONTINUE_ON_FAILURE;
    }

    /// @inheritdoc IKeyward
    function execute(bytes32 mode, bytes calldata executionData) external payable {
        bool revertOnFailure;
        if (mode == MODE_REVERT_ON_FAILURE) revertOnFailure = true;
        else if (mode != MODE_CONTINUE_ON_FAILURE) revert UnsupportedExecutionMode();
        Call[] calldata calls;
        assembly ("memory-safe") {
            let p := add(executionData.offset, calldataload(executionData.offset))
            calls.length := calldataload(p)
            calls.offset := add(p, 0x20)
        }
        if (msg.sender == address(this)) {
            _executeRoot(calls, revertOnFailure);
            return;
        }
        // A registered secp256k1 key calling from its own address: its transaction is the signature.
        bytes32 keyHash = KeyLib.hashSecp256k1(msg.sender);
        (Settings settings, uint256 meta) = _loadKey(keyHash);
        if (meta == 0) revert Unauthorized();
        uint256 vd = settings.validationData();
        address hook = settings.hook();
        bytes32 keyId;
        if (hook != address(0)) {
            keyId = _keyId(keyHash, meta);
            if (uint160(hook) & HOOK_VALIDATE != 0) {
                vd = vd.intersect(IKeywardHook(hook).onValidate(keyId, bytes32(0), ""));
            }
        }
        _checkValidity(vd);
        _executeBatch(calls, revertOnFailure, settings, keyHash, keyId);
    }

    // ------------------------------------------------------------------------------------------------------------
    // Execution: relayed signed batch
    // ------------------------------------------------------------------------------------------------------------

    /// @inheritdoc IKeyward
    function execute(SignedBatchedCall calldata signedBatchedCall, bytes calldata wrappedSignature) external payable {
        address executor = signedBatchedCall.executor;
        if (executor != address(0) && executor != msg.sender) revert WrongExecutor();
        uint256 deadline = signedBatchedCall.deadline;
        if (deadline != 0 && block.timestamp > deadline) revert SignatureExpired();
        bytes32 keyHash = signedBatchedCall.keyHash;
        (Settings settings, bytes32 keyId) = _authorizeSigned(signedBatchedCall, keyHash, wrappedSignature);
        BatchedCall calldata batch = signedBatchedCall.batchedCall;
        if (keyHash == KeyLib.ROOT_KEY_HASH) _executeRoot(batch.calls, batch.revertOnFailure);
        else _executeBatch(batch.calls, batch.revertOnFailure, settings, keyHash, keyId);
    }

    /// @dev Key lookup, nonce, signature and validation hook of a signed batch.
    function _authorizeSigned(SignedBatchedCall calldata signedBatchedCall, bytes32 keyHash, bytes calldata wrapped)
        internal
        returns (Settings settings, bytes32 keyId)
    {
        AccountStorage storage $ = _storage();
        settings = SettingsLib.ROOT;
        uint256 meta;
        KeyRecord storage rec = $.keys[0][bytes32(0)];
        if (keyHash != KeyLib.ROOT_KEY_HASH) {
            rec = _record(keyHash);
            meta = rec.meta;
            if (meta == 0) revert KeyDoesNotExist();
            settings = Settings.wrap(rec.settings);
        }
        _useNonce($, keyHash, signedBatchedCall.nonce);

        bytes32 digest = _hashTypedData(_hashSignedBatchedCall(signedBatchedCall));
        {
            (bool ok, bytes calldata signature) = CalldataLib.tryBytes(wrapped, 0);
            if (!ok || !_verify(keyHash, meta, rec, digest, signature)) revert InvalidSignature();
        }
        uint256 vd = settings.validationData();
        address hook = settings.hook();
        if (hook != address(0)) {
            keyId = _keyId(keyHash, meta);
            if (uint160(hook) & HOOK_VALIDATE != 0) {
                (bool found, bytes calldata hookData) = CalldataLib.tryBytes(wrapped, 1);
                if (!found) revert InvalidSignature();
                vd = vd.intersect(IKeywardHook(hook).onValidate(keyId, digest, hookData));
            }
        }
        _checkValidity(vd);
    }

    /// @inheritdoc IKeyward
    function getSeq(uint256 key) external view returns (uint256) {
        return _storage().nonces[KeyLib.ROOT_KEY_HASH][key];
    }

    /// @inheritdoc IKeyward
    function getSeq(bytes32 keyHash, uint256 key) external view returns (uint256) {
        return _storage().nonces[keyHash][key];
    }

    /// @inheritdoc IKeyward
    function hashSignedBatchedCall(SignedBatchedCall calldata signedBatchedCall) external view returns (bytes32) {
        return _hashTypedData(_hashSignedBatchedCall(signedBatchedCall));
    }

    // ------------------------------------------------------------------------------------------------------------
    // ERC-4337
    // ------------------------------------------------------------------------------------------------------------

    /// @inheritdoc IKeyward
    function ENTRY_POINT() external view returns (address) {
        return _entryPoint(_storage().header);
    }

    /// @inheritdoc IKeyward
    function validateUserOp(PackedUserOperation calldata userOp, bytes32 userOpHash, uint256 missingAccountFunds)
        external
        onlyEntryPoint
        returns (uint256 validationData)
    {
        validationData = _validateUserOp(userOp.signature, userOpHash);
        if (missingAccountFunds != 0) {
            assembly ("memory-safe") {
                // The EntryPoint checks the deposit; a failed transfer is its concern.
                pop(call(gas(), caller(), missingAccountFunds, codesize(), 0x00, codesize(), 0x00))
            }
        }
    }

    function _validateUserOp(bytes calldata wrapped, bytes32 userOpHash) internal view returns (uint256 vd) {
        (bool ok, bytes32 keyHash, bytes calldata signature,) = _decodeWrapped(wrapped);
        if (!ok) return ValidationDataLib.SIG_FAILED;
        if (keyHash == KeyLib.ROOT_KEY_HASH) {
            return KeyLib.recover(userOpHash, signature) == address(this) ? 0 : ValidationDataLib.SIG_FAILED;
        }
        KeyRecord storage rec = _record(keyHash);
        uint256 meta = rec.meta;
        if (meta == 0) return ValidationDataLib.SIG_FAILED;
        Settings settings = Settings.wrap(rec.settings);
        vd = settings.validationData();
        if (!_verify(keyHash, meta, rec, userOpHash, signature)) vd |= ValidationDataLib.SIG_FAILED;
        address hook = settings.hook();
        // The hook runs even after a failed signature so that gas estimation with a dummy signature is faithful.
        if (uint160(hook) & HOOK_VALIDATE != 0) {
            (,,, bytes calldata hookData) = _decodeWrapped(wrapped);
            vd = vd.intersect(IKeywardHook(hook).onValidate(_keyId(keyHash, meta), userOpHash, hookData));
        }
    }

    /// @inheritdoc IKeyward
    function executeUserOp(PackedUserOperation calldata userOp, bytes32) external onlyEntryPoint {
        BatchedCall calldata batch;
        bytes calldata callData = userOp.callData;
        assembly ("memory-safe") {
            batch := add(add(callData.offset, 4), calldataload(add(callData.offset, 4)))
        }
        bytes32 keyHash = bytes32(userOp.signature[0:32]);
        if (keyHash == KeyLib.ROOT_KEY_HASH) {
            _executeRoot(batch.calls, batch.revertOnFailure);
            return;
        }
        // Re-checked at execution: an operation earlier in the bundle may have revoked or updated the key.
        (Settings settings, uint256 meta) = _loadKey(keyHash);
        if (meta == 0) revert KeyDoesNotExist();
        _checkValidity(settings.validationData());
        address hook = settings.hook();
        _executeBatch(
            batch.calls,
            batch.revertOnFailure,
            settings,
            keyHash,
            hook == address(0) ? bytes32(0) : _keyId(keyHash, meta)
        );
    }

    // ------------------------------------------------------------------------------------------------------------
    // ERC-1271 with ERC-7739
    // ------------------------------------------------------------------------------------------------------------

    /// @inheritdoc IKeyward
    function isValidSignature(bytes32 hash, bytes calldata signature) external view returns (bytes4) {
        uint256 len = signature.length;
        if (len == 0) return hash == ERC7739_DETECTION_HASH ? ERC7739_SUPPORT : ERC1271_FAIL;
        if (len == 64 || len == 65) {
            return KeyLib.recover(hash, signature) == address(this) ? ERC1271_MAGIC : ERC1271_FAIL;
        }
        return _isValidWrappedSignature(hash, signature) ? ERC1271_MAGIC : ERC1271_FAIL;
    }

    function _isValidWrappedSignature(bytes32 hash, bytes calldata wrapped) internal view returns (bool) {
        (bool ok, bytes32 keyHash) = CalldataLib.tryWord(wrapped, 0);
        if (!ok) return false;
        (bool usable, Settings settings, uint256 meta, KeyRecord storage rec) = _signer1271(keyHash);
        if (!usable) return false;
        address hook = settings.hook();
        // A non-admin key signs only what its hook approves: otherwise a Permit2 signature would move funds past
        // every execution policy.
        if (uint160(hook) & HOOK_SIGNATURE == 0) {
            return settings.isAdmin() && _verify7739(keyHash, meta, rec, hash, wrapped) != bytes32(0);
        }
        bytes32 outcome = _verify7739(keyHash, meta, rec, hash, wrapped);
        if (outcome == bytes32(0)) return false;
        return
            _hookApprovesSignature(
                hook, _keyId(keyHash, meta), hash, outcome == PERSONAL ? bytes32(0) : outcome, wrapped
            );
    }

    /// @dev The key behind an ERC-1271 signature, if it is the root or registered and inside its validity window.
    function _signer1271(bytes32 keyHash)
        internal
        view
        returns (bool usable, Settings settings, uint256 meta, KeyRecord storage rec)
    {
        AccountStorage storage $ = _storage();
        if (keyHash == KeyLib.ROOT_KEY_HASH) return (true, SettingsLib.ROOT, 0, $.keys[0][bytes32(0)]);
        rec = _record(keyHash);
        meta = rec.meta;
        if (meta == 0) return (false, settings, meta, rec);
        settings = Settings.wrap(rec.settings);
        usable = _isWithin(settings.validationData());
    }

    /// @dev The SIGNATURE hook's answer; a revert or any answer other than its selector denies.
    function _hookApprovesSignature(
        address hook,
        bytes32 keyId,
        bytes32 hash,
        bytes32 appSeparator,
        bytes calldata wrapped
    ) internal view returns (bool) {
        (,,, bytes calldata hookData) = _decodeWrapped(wrapped);
        (bool success, bytes memory ret) =
            hook.staticcall(abi.encodeCall(IKeywardHook.onSignature, (keyId, hash, appSeparator, hookData)));
        return success && ret.length >= 32 && bytes4(abi.decode(ret, (bytes32))) == IKeywardHook.onSignature.selector;
    }

    /// @dev ERC-7739: TypedDataSign first (when the signature decodes as one and `hash` matches it), then nested
    /// PersonalSign. Returns the application's domain separator when TypedDataSign verified, `PERSONAL` when
    /// PersonalSign verified, 0 when neither did.
    function _verify7739(bytes32 keyHash, uint256 meta, KeyRecord storage rec, bytes32 hash, bytes calldata wrapped)
        internal
        view
        returns (bytes32 outcome)
    {
        (, bytes calldata signature) = CalldataLib.tryBytes(wrapped, 1);
        outcome = _verifyTypedDataSign(keyHash, meta, rec, hash, signature);
        if (outcome != 0) return outcome;
        bytes32 personal = _hashTypedData(keccak256(abi.encode(PERSONAL_SIGN_TYPEHASH, hash)));
        if (_verify(keyHash, meta, rec, personal, signature)) return PERSONAL;
    }

    /// @dev The application's domain separator if `signature` is a TypedDataSign blob for `hash` that verifies.
    function _verifyTypedDataSign(
        bytes32 keyHash,
        uint256 meta,
        KeyRecord storage rec,
        bytes32 hash,
        bytes calldata signature
    ) internal view returns (bytes32) {
        (bool ok, bytes calldata inner, bytes32 separator, bytes32 contentsHash, bytes calldata descr) =
            _decodeTypedDataSign(signature);
        if (!ok || hash != _toTypedDataHash(separator, contentsHash)) return 0;
        bytes32 digest = _typedDataSignDigest(separator, contentsHash, descr);
        if (digest == 0 || !_verify(keyHash, meta, rec, digest, inner)) return 0;
        return separator;
    }

    /// @dev `signature = abi.encode(bytes innerSig, bytes32 appSeparator, bytes32 contentsHash, string contentsDescr)`.
    function _decodeTypedDataSign(bytes calldata signature)
        internal
        pure
        returns (bool ok, bytes calldata inner, bytes32 appSeparator, bytes32 contentsHash, bytes calldata descr)
    {
        bool ok1;
        bool ok2;
        bool ok3;
        (ok, inner) = CalldataLib.tryBytes(signature, 0);
        (ok1, appSeparator) = CalldataLib.tryWord(signature, 1);
        (ok2, contentsHash) = CalldataLib.tryWord(signature, 2);
        (ok3, descr) = CalldataLib.tryBytes(signature, 3);
        ok = ok && ok1 && ok2 && ok3;
    }

    /// @dev The ERC-7739 TypedDataSign digest, or 0 when `contentsDescr` is malformed. Implicit mode: the
    /// description is the contents type, whose name runs up to the first "(". Explicit mode: the type followed by the
    /// name, which runs after the last ")".
    function _typedDataSignDigest(bytes32 appSeparator, bytes32 contentsHash, bytes calldata descr)
        internal
        view
        returns (bytes32)
    {
        uint256 n = descr.length;
        if (n == 0) return 0;
        bytes calldata name;
        bytes calldata contentsType;
        if (descr[n - 1] == ")") {
            uint256 i;
            while (i < n && descr[i] != "(") ++i;
            name = descr[0:i];
            contentsType = descr;
        } else {
            uint256 i = n;
            while (i > 0 && descr[i - 1] != ")") --i;
            if (i == 0) return 0;
            name = descr[i:n];
            contentsType = descr[0:i];
        }
        if (!_isValidContentsName(name)) return 0;
        bytes32 typeHash = keccak256(
            abi.encodePacked(
                "TypedDataSign(",
                name,
                " contents,string name,string version,uint256 chainId,address verifyingContract,bytes32 salt)",
                contentsType
            )
        );
        bytes32 structHash = keccak256(
            abi.encode(typeHash, contentsHash, NAME_HASH, VERSION_HASH, block.chainid, address(this), _salt())
        );
        return _toTypedDataHash(appSeparator, structHash);
    }

    /// @dev ERC-7739: not empty, not starting with a lower-case letter, none of `, )(` or NUL.
    function _isValidContentsName(bytes calldata name) internal pure returns (bool) {
        if (name.length == 0) return false;
        bytes1 first = name[0];
        if (first >= "a" && first <= "z") return false;
        for (uint256 i; i < name.length; ++i) {
            bytes1 c = name[i];
            if (c == "," || c == " " || c == ")" || c == "(" || c == 0x00) return false;
        }
        return true;
    }

    // ------------------------------------------------------------------------------------------------------------
    // EIP-712 / ERC-5267
    // ------------------------------------------------------------------------------------------------------------

    /// @inheritdoc IKeyward
    function eip712Domain()
        external
        view
        returns (bytes1, string memory, string memory, uint256, address, bytes32, uint256[] memory)
    {
        return (hex"1f", "Keyward", "1", block.chainid, address(this), _salt(), new uint256[](0));
    }

    /// @inheritdoc IKeyward
    function domainSeparator() public view returns (bytes32) {
        return keccak256(abi.encode(DOMAIN_TYPEHASH, NAME_HASH, VERSION_HASH, block.chainid, address(this), _salt()));
    }

    /// @inheritdoc IKeyward
    function hashTypedData(bytes32 structHash) external view returns (bytes32) {
        return _hashTypedData(structHash);
    }

    function _salt() internal view returns (bytes32) {
        return bytes32(uint256(uint160(IMPLEMENTATION)));
    }

    function _hashTypedData(bytes32 structHash) internal view returns (bytes32) {
        return _toTypedDataHash(domainSeparator(), structHash);
    }

    function _toTypedDataHash(bytes32 separator, bytes32 structHash) internal pure returns (bytes32 digest) {
        assembly ("memory-safe") {
            let m := mload(0x40)
            mstore(m, hex"1901")
            mstore(add(m, 0x02), separator)
            mstore(add(m, 0x22), structHash)
            digest := keccak256(m, 0x42)
        }
    }

    function _hashSignedBatchedCall(SignedBatchedCall calldata s) internal pure returns (bytes32) {
        Call[] calldata calls = s.batchedCall.calls;
        bytes32[] memory hashes = new bytes32[](calls.length);
        for (uint256 i; i < calls.length; ++i) {
            hashes[i] = keccak256(abi.encode(CALL_TYPEHASH, calls[i].to, calls[i].value, keccak256(calls[i].data)));
        }
        bytes32 batchHash = keccak256(
            abi.encode(BATCHED_CALL_TYPEHASH, keccak256(abi.encodePacked(hashes)), s.batchedCall.revertOnFailure)
        );
        return
            keccak256(abi.encode(SIGNED_BATCHED_CALL_TYPEHASH, batchHash, s.nonce, s.keyHash, s.executor, s.deadline));
    }

    // ------------------------------------------------------------------------------------------------------------
    // Internals
    // ------------------------------------------------------------------------------------------------------------

    /// @dev `abi.encode(bytes32 keyHash, bytes signature, bytes hookData)`, as ERC-4337 and ERC-1271 carry it.
    function _decodeWrapped(bytes calldata wrapped)
        internal
        pure
        returns (bool ok, bytes32 keyHash, bytes calldata signature, bytes calldata hookData)
    {
        bool ok1;
        bool ok2;
        (ok, keyHash) = CalldataLib.tryWord(wrapped, 0);
        (ok1, signature) = CalldataLib.tryBytes(wrapped, 1);
        (ok2, hookData) = CalldataLib.tryBytes(wrapped, 2);
        ok = ok && ok1 && ok2;
    }

    function _entryPoint(uint256 header) internal pure returns (address) {
        return header & EP_OVERRIDE_BIT == 0 ? DEFAULT_ENTRY_POINT : address(uint160(header));
    }

    function _epoch(uint256 header) internal pure returns (uint256) {
        return (header >> EPOCH_SHIFT) & U32;
    }

    function _keyId(bytes32 keyHash, uint256 meta) internal pure returns (bytes32 id) {
        uint256 grantNumber = (meta >> META_GRANT_SHIFT) & U32;
        assembly ("memory-safe") {
            mstore(0x00, keyHash)
            mstore(0x20, grantNumber)
            id := keccak256(0x00, 0x40)
        }
    }

    /// @dev The record of `keyHash` in the current key epoch.
    function _record(bytes32 keyHash) internal view returns (KeyRecord storage rec) {
        AccountStorage storage $ = _storage();
        rec = $.keys[_epoch($.header)][keyHash];
    }

    /// @dev Settings and meta of a registered key in the current epoch (meta 0: not registered).
    function _loadKey(bytes32 keyHash) internal view returns (Settings settings, uint256 meta) {
        KeyRecord storage rec = _record(keyHash);
        meta = rec.meta;
        if (meta != 0) settings = Settings.wrap(rec.settings);
    }

    function _verify(bytes32 keyHash, uint256 meta, KeyRecord storage rec, bytes32 digest, bytes calldata signature)
        internal
        view
        returns (bool)
    {
        if (keyHash == KeyLib.ROOT_KEY_HASH) return KeyLib.recover(digest, signature) == address(this);
        KeyType keyType = KeyType((meta >> META_TYPE_SHIFT) - 1);
        if (keyType == KeyType.Secp256k1) {
            return KeyLib.verify(keyHash, keyType, 0, 0, digest, signature);
        }
        return KeyLib.verify(keyHash, keyType, rec.x, rec.y, digest, signature);
    }

    function _useNonce(AccountStorage storage $, bytes32 keyHash, uint256 nonce) internal {
        mapping(uint256 => uint256) storage lanes = $.nonces[keyHash];
        uint256 lane = nonce >> 64;
        uint256 seq = lanes[lane];
        if (uint64(nonce) != seq) revert InvalidNonce();
        lanes[lane] = seq + 1;
    }

    /// @dev Whether `block.timestamp` lies in the window of `vd` (EntryPoint semantics) and no authorizer failed.
    function _isWithin(uint256 vd) internal view returns (bool) {
        uint256 until = vd.validUntil();
        return uint160(vd) == 0 && (until == 0 || block.timestamp <= until) && block.timestamp > vd.validAfter();
    }

    function _checkValidity(uint256 vd) internal view {
        if (uint160(vd) != 0) revert HookRejected();
        uint256 until = vd.validUntil();
        if (until != 0 && block.timestamp > until) revert KeyExpired(uint40(until));
        // EntryPoint semantics: valid strictly after validAfter (the settings' validAfter second minus one).
        uint256 after_ = vd.validAfter();
        if (block.timestamp <= after_) revert KeyNotYetValid(uint40(after_ + 1));
    }

    /// @dev The root key's batch: no hook, self-calls allowed.
    function _executeRoot(Call[] calldata calls, bool revertOnFailure) internal {
        for (uint256 i; i < calls.length; ++i) {
            Call calldata c = calls[i];
            address to = c.to == address(0) ? address(this) : c.to;
            if (!_call(to, c.value, c.data) && revertOnFailure) _revertCallFailed();
        }
    }

    /// @dev A registered key's batch: self-calls only for admins; the hook sees every call. `KeyUsed` costs about
    /// 1,150 gas per batch and lets watchers see every use of a key on every path from the account's own logs.
    function _executeBatch(
        Call[] calldata calls,
        bool revertOnFailure,
        Settings settings,
        bytes32 keyHash,
        bytes32 keyId
    ) internal {
        emit KeyUsed(keyHash);
        bool admin = settings.isAdmin();
        address hook = settings.hook();
        uint256 flags = uint160(hook);
        for (uint256 i; i < calls.length; ++i) {
            Call calldata c = calls[i];
            address to = c.to == address(0) ? address(this) : c.to;
            if (to == address(this) && !admin) revert OnlyAdminCanSelfCall();
            bytes memory context;
            if (flags & HOOK_BEFORE_EXECUTE != 0) {
                context = _beforeExecute(hook, keyId, to, c.value, c.data);
            }
            bool success = _call(to, c.value, c.data);
            if (flags & (HOOK_AFTER_EXECUTE | HOOK_AFTER_FAILURE) != 0) {
                if (!success || flags & HOOK_AFTER_EXECUTE != 0) _afterExecute(hook, keyId, success, context);
            }
            if (!success && revertOnFailure) _revertCallFailed();
        }
    }

    function _afterExecute(address hook, bytes32 keyId, bool success, bytes memory context) internal {
        if (IKeywardHook(hook).afterExecute(keyId, success, context) != IKeywardHook.afterExecute.selector) {
            revert InvalidHookResponse();
        }
    }

    /// @dev `IKeywardHook.beforeExecute` without the high-level call's extra EXTCODESIZE and ABI re-encoding.
    /// Bubbles the hook's revert; a malformed answer (not an ABI-encoded `bytes`, e.g. from an account without
    /// code) reverts `InvalidHookResponse`.
    function _beforeExecute(address hook, bytes32 keyId, address to, uint256 value, bytes calldata data)
        internal
        returns (bytes memory context)
    {
        bytes4 selector = IKeywardHook.beforeExecute.selector;
        bool valid;
        assembly ("memory-safe") {
            let m := mload(0x40)
            mstore(m, selector)
            mstore(add(m, 0x04), keyId)
            mstore(add(m, 0x24), to)
            mstore(add(m, 0x44), value)
            mstore(add(m, 0x64), 0x80)
            mstore(add(m, 0x84), data.length)
            calldatacopy(add(m, 0xa4), data.offset, data.length)
            if iszero(call(gas(), hook, 0, m, add(0xa4, data.length), 0x00, 0x00)) {
                returndatacopy(m, 0x00, returndatasize())
                revert(m, returndatasize())
            }
            // Answer: abi.encode(bytes) = offset 0x20 | length | data.
            let size := returndatasize()
            if gt(size, 0x3f) {
                returndatacopy(m, 0x00, size)
                let len := mload(add(m, 0x20))
                valid := and(eq(mload(m), 0x20), iszero(gt(add(len, 0x40), size)))
                context := add(m, 0x20)
                mstore(0x40, add(context, and(add(add(len, 0x20), 0x1f), not(0x1f))))
            }
        }
        if (!valid) revert InvalidHookResponse();
    }

    /// @dev A call without copying its return data.
    function _call(address to, uint256 value, bytes calldata data) internal returns (bool success) {
        assembly ("memory-safe") {
            let m := mload(0x40)
            calldatacopy(m, data.offset, data.length)
            success := call(gas(), to, value, m, data.length, codesize(), 0x00)
        }
    }

    /// @dev Reverts `CallFailed(returndata of the last call)`.
    function _revertCallFailed() internal pure {
        assembly ("memory-safe") {
            let m := mload(0x40)
            mstore(m, 0xa5fa8d2b) // CallFailed(bytes)
            mstore(add(m, 0x20), 0x20)
            mstore(add(m, 0x40), returndatasize())
            returndatacopy(add(m, 0x60), 0x00, returndatasize())
            revert(add(m, 0x1c), add(0x44, and(add(returndatasize(), 0x1f), not(0x1f))))
        }
    }
}
