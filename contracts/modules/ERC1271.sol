// SPDX-License-Identifier: MIT
pragma solidity 0.8.37;

import {IKeyward} from "../interfaces/IKeyward.sol";
import {ERC7739Lib} from "../libraries/ERC7739Lib.sol";
import {HooksLib} from "../libraries/HooksLib.sol";
import {KeyLib} from "../libraries/KeyLib.sol";
import {WrappedSignatureLib} from "../libraries/WrappedSignatureLib.sol";
import {Settings, SettingsLib} from "../types/Settings.sol";
import {EIP712} from "./EIP712.sol";
import {KeyRegistry} from "./KeyRegistry.sol";

/// @title ERC1271
/// @notice `isValidSignature` with ERC-7739 rehashing (TypedDataSign first, then nested PersonalSign), for the root
/// key (also a raw 64/65-byte signature) and registered keys inside their window. A non-admin key signs only what
/// its hook approves (AFTER_IS_VALID_SIGNATURE): otherwise a Permit2 or order signature would move funds past every
/// execution policy. Every refusal is the failure value `0xffffffff`, never a revert.
abstract contract ERC1271 is KeyRegistry, EIP712 {
    bytes4 internal constant ERC1271_MAGIC = 0x1626ba7e;
    bytes4 internal constant ERC1271_FAIL = 0xffffffff;
    bytes32 internal constant ERC7739_DETECTION_HASH =
        0x7739773977397739773977397739773977397739773977397739773977397739;
    bytes4 internal constant ERC7739_SUPPORT = 0x77390001;
    /// @dev Marks a verified nested PersonalSign (no application domain separator is all ones in practice).
    bytes32 private constant PERSONAL = bytes32(type(uint256).max);

    /// @notice ERC-1271: `0x1626ba7e` when `signature` is valid for `hash`, else `0xffffffff`.
    function isValidSignature(bytes32 hash, bytes calldata signature) external view returns (bytes4) {
        uint256 len = signature.length;
        if (len == 0) return hash == ERC7739_DETECTION_HASH ? ERC7739_SUPPORT : ERC1271_FAIL;
        if (len == 64 || len == 65) {
            return KeyLib.recover(hash, signature) == address(this) ? ERC1271_MAGIC : ERC1271_FAIL;
        }
        return _isValidWrapped(hash, signature) ? ERC1271_MAGIC : ERC1271_FAIL;
    }

    function _isValidWrapped(bytes32 hash, bytes calldata wrapped) internal view returns (bool) {
        (bool valid, Settings settings, bytes32 keyId, bytes32 outcome) = _verifyWrapped(hash, wrapped);
        if (!valid) return false;
        address hook = settings.hook();
        if (!HooksLib.has(hook, HooksLib.AFTER_IS_VALID_SIGNATURE)) return true;
        (, bytes32 keyHash,, bytes calldata hookData) = WrappedSignatureLib.decodeWithKeyHash(wrapped);
        return HooksLib.approvesSignature(
            hook,
            HooksLib.KeyContext(keyHash, keyId, settings, 0),
            hash,
            hookData,
            outcome == PERSONAL ? bytes32(0) : outcome
        );
    }

    /// @dev Whether the wrapped signature is valid for a key that may sign, before its hook's answer.
    function _verifyWrapped(bytes32 hash, bytes calldata wrapped)
        internal
        view
        returns (bool valid, Settings settings, bytes32 keyId, bytes32 outcome)
    {
        (bool ok, bytes32 keyHash, bytes calldata signature,) = WrappedSignatureLib.decodeWithKeyHash(wrapped);
        if (!ok) return (false, settings, keyId, 0);
        KeyStorage storage stored;
        (valid, settings, keyId, stored) = _signer(keyHash);
        if (!valid) return (false, settings, keyId, 0);
        outcome = _verify7739(keyHash, stored, hash, signature);
        valid = outcome != 0;
    }

    /// @dev The key behind a wrapped signature, if it may sign at all: the root, or a registered, unpaused key inside
    /// its window that is an admin or has a hook that decides (AFTER_IS_VALID_SIGNATURE).
    function _signer(bytes32 keyHash)
        internal
        view
        returns (bool usable, Settings settings, bytes32 keyId, KeyStorage storage stored)
    {
        stored = _stored(keyHash);
        if (keyHash == KeyLib.ROOT_KEY_HASH) return (true, SettingsLib.ROOT, 0, stored);
        bool paused;
        (usable, paused, settings, keyId, stored) = _load(keyHash);
        usable = usable && !paused && _isWithin(settings)
            && (settings.isAdmin() || HooksLib.has(settings.hook(), HooksLib.AFTER_IS_VALID_SIGNATURE));
    }

    /// @dev TypedDataSign first (when the signature decodes as one and `hash` matches it), then nested PersonalSign.
    /// Returns the application's domain separator when TypedDataSign verified, `PERSONAL` when PersonalSign did,
    /// 0 when neither did.
    function _verify7739(bytes32 keyHash, KeyStorage storage stored, bytes32 hash, bytes calldata signature)
        internal
        view
        returns (bytes32)
    {
        (bool ok, bytes calldata inner, bytes32 separator, bytes32 contentsHash, bytes calldata descr) =
            ERC7739Lib.decodeTypedDataSign(signature);
        if (ok && hash == _toTypedDataHash(separator, contentsHash)) {
            bytes32 structHash =
                ERC7739Lib.typedDataSignStructHash(contentsHash, descr, NAME_HASH, VERSION_HASH, _salt());
            if (structHash != 0 && _verify(keyHash, stored, _toTypedDataHash(separator, structHash), inner)) {
                return separator;
            }
        }
        if (_verify(keyHash, stored, _hashTypedData(ERC7739Lib.personalSignStructHash(hash)), signature)) {
            return PERSONAL;
        }
        return 0;
    }
}
