// SPDX-License-Identifier: MIT
pragma solidity ^0.8.30;

// Self-contained on purpose: the Rust crates generate their bindings from this file with alloy's `sol!`,
// so every type, event and error of the account's external ABI is declared here and nowhere else.

/// @notice The kinds of key an account can register. Values match Uniswap's Calibur.
enum KeyType {
    P256,
    WebAuthnP256,
    Secp256k1
}

/// @notice A public key. Secp256k1: `abi.encode(address)`. P256 and WebAuthnP256: `abi.encode(x, y)`.
struct Key {
    KeyType keyType;
    bytes publicKey;
}

/// @notice One call of a batch. `to == address(0)` means the account itself.
struct Call {
    address to;
    uint256 value;
    bytes data;
}

/// @notice A batch of calls; with `revertOnFailure` false a failing call is skipped.
struct BatchedCall {
    Call[] calls;
    bool revertOnFailure;
}

/// @notice A batch signed by a key for anyone (`executor == address(0)`) or one executor to relay.
/// @dev `nonce`: high 192 bits select a lane of `keyHash`, low 64 bits are the sequence in that lane.
/// `deadline`: 0 means none; otherwise valid through that second.
struct SignedBatchedCall {
    BatchedCall batchedCall;
    uint256 nonce;
    bytes32 keyHash;
    address executor;
    uint256 deadline;
}

/// @notice ERC-4337 v0.7/v0.8 packed user operation.
struct PackedUserOperation {
    address sender;
    uint256 nonce;
    bytes initCode;
    bytes callData;
    bytes32 accountGasLimits;
    uint256 preVerificationGas;
    bytes32 gasFees;
    bytes paymasterAndData;
    bytes signature;
}

/// @title IKeyward
/// @notice The Keyward account: a key registry with packed settings and four execution paths (direct ERC-7821,
/// relayed signed batch, ERC-4337, ERC-1271). Its ABI for keys, execution, ERC-4337 and ERC-1271 matches
/// Uniswap's Calibur.
/// @dev Settings word: hook bits 0-159, expiration bits 160-199 (uint40, 0 = never, valid through that second),
/// admin bit 200, validAfter bits 208-247 (uint40, 0 = none). Bits 201-207 and 248-255 must be zero.
interface IKeyward {
    // ----------------------------------------------------------------------------------------------------
    // Events
    // ----------------------------------------------------------------------------------------------------

    /// @notice A key was registered.
    event Registered(bytes32 indexed keyHash, Key key);
    /// @notice A key's settings were written.
    event KeySettingsUpdated(bytes32 indexed keyHash, uint256 settings);
    /// @notice A key was revoked.
    event Revoked(bytes32 indexed keyHash);
    /// @notice Every non-root key was revoked at once; `epoch` is the new key epoch.
    event AllKeysRevoked(uint256 epoch);
    /// @notice A registered (non-root) key executed a batch, on any path (direct, relayed, ERC-4337). Emitted once
    /// per batch that did not revert; the root key's own batches emit nothing.
    event KeyUsed(bytes32 indexed keyHash);
    /// @notice The ERC-4337 EntryPoint was changed (`address(0)` disables ERC-4337).
    event EntryPointUpdated(address indexed newEntryPoint);

    // ----------------------------------------------------------------------------------------------------
    // Errors
    // ----------------------------------------------------------------------------------------------------

    /// @notice The caller may not do this.
    error Unauthorized();
    /// @notice Only the EntryPoint may call this.
    error NotEntryPoint();
    /// @notice The ERC-7821 mode is not one of the two batch modes.
    error UnsupportedExecutionMode();
    /// @notice A call failed in a batch that reverts on failure.
    error CallFailed(bytes reason);
    /// @notice The signature does not verify for the key.
    error InvalidSignature();
    /// @notice The signed batch's deadline has passed.
    error SignatureExpired();
    /// @notice The signed batch names another executor.
    error WrongExecutor();
    /// @notice No key with this hash is registered.
    error KeyDoesNotExist();
    /// @notice The key expired at `expiration` (it was valid through that second).
    error KeyExpired(uint40 expiration);
    /// @notice The key is not valid before `validAfter`.
    error KeyNotYetValid(uint40 validAfter);
    /// @notice The root key's settings are fixed.
    error CannotUpdateRootKey();
    /// @notice The account's own address is the root key; it cannot be registered.
    error CannotRegisterRootKey();
    /// @notice The key is already registered; revoke it first to grant it afresh.
    error KeyAlreadyRegistered(bytes32 keyHash);
    /// @notice The public key is malformed for its key type.
    error InvalidPublicKey();
    /// @notice Reserved settings bits (201-207, 248-255) are set.
    error NonCanonicalSettings(uint256 settings);
    /// @notice A non-admin key tried to make the account call itself.
    error OnlyAdminCanSelfCall();
    /// @notice The nonce's sequence is not the next one in its lane.
    error InvalidNonce();
    /// @notice The key's hook rejected the operation.
    error HookRejected();
    /// @notice The key's hook answered with something other than what the interface requires.
    error InvalidHookResponse();
    /// @notice `keyAt` was given an index at or past `keyCount`.
    error IndexOutOfBounds();
    /// @notice The account has reached the maximum number of registrations (2^31) or key epochs (2^32).
    error TooManyKeys();

    // ----------------------------------------------------------------------------------------------------
    // Key management (callable only by the account itself: root, or an admin key through a self-call)
    // ----------------------------------------------------------------------------------------------------

    /// @notice Registers `key` with empty settings (non-admin, never expires, no hook). Registering a key that is
    /// already registered changes nothing (Calibur semantics).
    function register(Key calldata key) external;

    /// @notice Registers `key` together with `settings` in one step, so the key never exists without its limits.
    /// @dev Reverts `KeyAlreadyRegistered` if the key exists: revoke first, which gives the new grant fresh state.
    function grant(Key calldata key, uint256 settings) external;

    /// @notice Writes a registered key's settings.
    function update(bytes32 keyHash, uint256 settings) external;

    /// @notice Revokes a key on every path at once.
    function revoke(bytes32 keyHash) external;

    /// @notice Revokes every non-root key at once ("log out everywhere"); also the safe step before re-delegating.
    function revokeAll() external;

    /// @notice Sets the ERC-4337 EntryPoint; `address(0)` disables ERC-4337.
    function updateEntryPoint(address entryPoint) external;

    // ----------------------------------------------------------------------------------------------------
    // Key views
    // ----------------------------------------------------------------------------------------------------

    /// @notice The registered key with this hash; `keyHash == 0` is the root key (the account's own address).
    function getKey(bytes32 keyHash) external view returns (Key memory);

    /// @notice The key's settings; the root key's are `1 << 200` (admin, never expires, no hook).
    function getKeySettings(bytes32 keyHash) external view returns (uint256);

    /// @notice Whether a key with this hash is registered (the root key is not "registered").
    function isRegistered(bytes32 keyHash) external view returns (bool);

    /// @notice The number of registered keys.
    function keyCount() external view returns (uint256);

    /// @notice The registered key at `index` (< `keyCount()`); order changes when keys are revoked.
    function keyAt(uint256 index) external view returns (Key memory);

    /// @notice The identity hooks see for this key: fresh on every registration, so re-registering a revoked
    /// key starts with empty hook state. Reverts `KeyDoesNotExist` for unknown keys; 0 for the root.
    function keyIdOf(bytes32 keyHash) external view returns (bytes32);

    /// @notice The key epoch: incremented by `revokeAll`.
    function keyEpoch() external view returns (uint256);

    /// @notice The key hash of `key`: `keccak256(abi.encode(key.keyType, keccak256(key.publicKey)))`.
    function hashKey(Key calldata key) external pure returns (bytes32);

    // ----------------------------------------------------------------------------------------------------
    // Execution
    // ----------------------------------------------------------------------------------------------------

    /// @notice ERC-7821 execute. Callers: the account itself (root) or a registered secp256k1 key's address.
    /// @param mode `0x01000000..00` (revert on failure) or `0x01010000..00` (continue on failure).
    /// @param executionData `abi.encode(Call[])`.
    function execute(bytes32 mode, bytes calldata executionData) external payable;

    /// @notice Executes a batch signed by a key, relayed by anyone (or only `executor` when set).
    /// @dev Nonce lanes belong to the key hash and survive revocation, so an executed batch never replays. A batch
    /// signed but never submitted before a revocation becomes valid again if the same public key is registered
    /// again: use `deadline`, or a fresh key, for grants that may be renewed.
    /// @param wrappedSignature `abi.encode(bytes signature, bytes hookData)`; `hookData` is not signed.
    function execute(SignedBatchedCall calldata signedBatchedCall, bytes calldata wrappedSignature) external payable;

    /// @notice Whether `mode` is supported by ERC-7821 `execute`.
    function supportsExecutionMode(bytes32 mode) external pure returns (bool);

    /// @notice The next sequence number of lane `key` of the root key (Calibur's single view).
    function getSeq(uint256 key) external view returns (uint256);

    /// @notice The next sequence number of lane `key` of `keyHash`.
    function getSeq(bytes32 keyHash, uint256 key) external view returns (uint256);

    /// @notice The EIP-712 digest of a signed batch under this account's domain.
    function hashSignedBatchedCall(SignedBatchedCall calldata signedBatchedCall) external view returns (bytes32);

    // ----------------------------------------------------------------------------------------------------
    // ERC-4337 v0.8
    // ----------------------------------------------------------------------------------------------------

    /// @notice The EntryPoint this account trusts (`address(0)`: ERC-4337 disabled).
    function ENTRY_POINT() external view returns (address);

    /// @notice ERC-4337 validation. `userOp.signature = abi.encode(bytes32 keyHash, bytes signature, bytes hookData)`.
    /// @return validationData `validUntil` = key expiration, `validAfter` = key validAfter - 1 (EntryPoint treats
    /// validAfter as exclusive; the key is valid from its validAfter second), intersected with the hook's answer.
    function validateUserOp(PackedUserOperation calldata userOp, bytes32 userOpHash, uint256 missingAccountFunds)
        external
        returns (uint256 validationData);

    /// @notice ERC-4337 execution: `userOp.callData = executeUserOp.selector ++ abi.encode(BatchedCall)`.
    function executeUserOp(PackedUserOperation calldata userOp, bytes32 userOpHash) external;

    // ----------------------------------------------------------------------------------------------------
    // ERC-1271, ERC-5267, EIP-712
    // ----------------------------------------------------------------------------------------------------

    /// @notice ERC-1271 with ERC-7739 rehashing. `signature` is a raw 64/65-byte root signature, or
    /// `abi.encode(bytes32 keyHash, bytes signature, bytes hookData)`.
    function isValidSignature(bytes32 hash, bytes calldata signature) external view returns (bytes4);

    /// @notice ERC-5267.
    function eip712Domain()
        external
        view
        returns (
            bytes1 fields,
            string memory name,
            string memory version,
            uint256 chainId,
            address verifyingContract,
            bytes32 salt,
            uint256[] memory extensions
        );

    /// @notice The account's EIP-712 domain separator.
    function domainSeparator() external view returns (bytes32);

    /// @notice `keccak256("\x19\x01" ++ domainSeparator() ++ structHash)`.
    function hashTypedData(bytes32 structHash) external view returns (bytes32);
}
