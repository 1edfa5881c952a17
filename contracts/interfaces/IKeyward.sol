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
/// @dev `nonce`: high 192 bits select a lane, low 64 bits are the sequence in that lane. `deadline`: 0 means none;
/// otherwise valid through that second.
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

/// @notice What the account may pay in ERC-4337 gas for one key (a key whose settings carry the GAS_BUDGET flag).
/// Each operation is charged its maximum cost `(verificationGasLimit + callGasLimit + preVerificationGas) *
/// maxFeePerGas` at validation. `perPeriod` (with `period` seconds, windows aligned to multiples of `period` since
/// the Unix epoch) and `lifetime` are caps in wei; 0 means no cap in that dimension, and a budget with both 0 allows
/// nothing.
struct GasBudget {
    uint96 perPeriod;
    uint40 period;
    uint96 lifetime;
}

/// @notice What a key's operations were charged: in the window `window` (the window's index, `start / period`) and
/// in total.
struct GasSpent {
    uint40 window;
    uint96 inWindow;
    uint96 total;
}

/// @title IKeyward
/// @notice The Keyward account: a key registry with packed settings and five execution paths (direct ERC-7821 and
/// Calibur batch, relayed signed batch, ERC-4337, ERC-1271) that enforce the same rules. Its external ABI is a
/// superset of Uniswap Calibur's: same selectors, encodings, events, key hash, settings bits 0-200 and hook
/// interface (see `IHook.sol`).
/// @dev Settings word: see `types/Settings.sol`.
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
    /// @notice A key was paused: refused on every path until `resumeKey` (its settings and state are kept).
    event KeyPaused(bytes32 indexed keyHash);
    /// @notice A key paused by `pauseKey` was resumed.
    event KeyResumed(bytes32 indexed keyHash);
    /// @notice Every non-root key was paused (`pauseAll`), admin keys included.
    event AllKeysPaused();
    /// @notice `pauseAll` ended; keys paused one by one stay paused.
    event AllKeysResumed();
    /// @notice A registered (non-root) key executed a batch, on any path. Emitted once per batch that did not
    /// revert; the root key's own batches emit nothing.
    event KeyUsed(bytes32 indexed keyHash);
    /// @notice The ERC-4337 EntryPoint was changed (`address(0)` disables ERC-4337).
    event EntryPointUpdated(address indexed newEntryPoint);
    /// @notice A nonce lane was moved forward to `nonce` (its key in the high 192 bits, the next sequence in the low
    /// 64).
    event NonceInvalidated(uint256 nonce);
    /// @notice ERC-5267: the EIP-712 domain changed (a new salt prefix).
    event EIP712DomainChanged();
    /// @notice A key's ERC-4337 gas budget was set (spending restarts from zero).
    event GasBudgetSet(bytes32 indexed keyHash, GasBudget budget);
    /// @notice ERC-7914: a persistent native allowance was set.
    event ApproveNative(address indexed owner, address indexed spender, uint256 value);
    /// @notice ERC-7914: a transient native allowance was set.
    event ApproveNativeTransient(address indexed owner, address indexed spender, uint256 value);
    /// @notice ERC-7914: native value moved under a persistent allowance.
    event TransferFromNative(address indexed from, address indexed to, uint256 value);
    /// @notice ERC-7914: native value moved under a transient allowance.
    event TransferFromNativeTransient(address indexed from, address indexed to, uint256 value);
    /// @notice ERC-7914: a persistent allowance below the maximum was spent down to `value`.
    event NativeAllowanceUpdated(address indexed spender, uint256 value);

    // ----------------------------------------------------------------------------------------------------
    // Errors
    // ----------------------------------------------------------------------------------------------------

    /// @notice The caller may not do this.
    error Unauthorized();
    /// @notice Only the EntryPoint may call this.
    error NotEntryPoint();
    /// @notice The ERC-7821 mode is not one of the two batch modes.
    error UnsupportedExecutionMode();
    /// @notice A call failed in a batch that reverts on failure; `reason` is that call's revert data.
    error CallFailed(bytes reason);
    /// @notice A call failed for lack of gas (it had at most 1/64 of the batch's gas left): the whole batch fails,
    /// so a relayer cannot spend a signed batch while starving its calls.
    error CallOutOfGas(uint256 index);
    /// @notice The signature does not verify for the key.
    error InvalidSignature();
    /// @notice The signed batch's deadline has passed.
    error SignatureExpired();
    /// @notice The signed batch names another executor.
    error WrongExecutor();
    /// @notice A relayed batch tried to run inside another relayed batch.
    error Reentrancy();
    /// @notice No key with this hash is registered.
    error KeyDoesNotExist();
    /// @notice The key expired at `expiration` (it was valid through that second).
    error KeyExpired(uint40 expiration);
    /// @notice The key is not valid before `validAfter`.
    error KeyNotYetValid(uint40 validAfter);
    /// @notice The key is paused (by `pauseKey`, or with every key by `pauseAll`): refused on every path.
    error KeyIsPaused(bytes32 keyHash);
    /// @notice The root key (the EOA itself) cannot be paused.
    error CannotPauseRootKey();
    /// @notice The root key's settings are fixed.
    error CannotUpdateRootKey();
    /// @notice The account's own address is the root key; it cannot be registered.
    error CannotRegisterRootKey();
    /// @notice The key is already registered; revoke it first to grant it afresh.
    error KeyAlreadyRegistered(bytes32 keyHash);
    /// @notice The public key is malformed for its key type.
    error InvalidPublicKey();
    /// @notice Reserved settings bits (201-207, 251-255) are set.
    error NonCanonicalSettings(uint256 settings);
    /// @notice The hook's address enables no callback (its low 5 bits are zero): it would enforce nothing.
    error HookWithoutCallbacks(address hook);
    /// @notice A non-admin key tried to make the account call itself.
    error OnlyAdminCanSelfCall();
    /// @notice The nonce's sequence is not the next one in its lane.
    error InvalidNonce();
    /// @notice `invalidateNonce` may skip at most 65,535 sequence numbers at once.
    error ExcessiveInvalidation();
    /// @notice The nonce lane is reserved for another key (its lane key starts with "KWRD" and names another lane id).
    error NonceLaneReserved();
    /// @notice The key's hook answered with something other than its own selector.
    error InvalidHookResponse();
    /// @notice A registered key's ERC-4337 operation must call `executeUserOp` (the EntryPoint then hands the account
    /// the validated operation itself).
    error InvalidUserOpCallData();
    /// @notice The key may only send ERC-4337 operations that a paymaster pays for.
    error PaymasterRequired();
    /// @notice The operation's maximum gas cost would pass the key's gas budget: `kind` 1 per period, 2 lifetime.
    error GasBudgetExceeded(uint8 kind, uint256 attempted, uint256 limit);
    /// @notice A gas budget with a per-period cap needs a period.
    error InvalidGasBudget();
    /// @notice The operation claims a gas window before the one the key last used.
    error StaleGasWindow(uint256 window, uint256 current);
    /// @notice `keyAt` was given an index at or past `keyCount`.
    error IndexOutOfBounds();
    /// @notice The account has reached the maximum number of keys, registrations per epoch or key epochs.
    error TooManyKeys();
    /// @notice ERC-7914: the spender's allowance is too small.
    error AllowanceExceeded();
    /// @notice ERC-7914: `from` is not this account.
    error IncorrectSender();
    /// @notice ERC-7914: the native transfer failed.
    error TransferNativeFailed();
    /// @notice A call with a selector the account does not have.
    error FnSelectorNotRecognized();

    // ----------------------------------------------------------------------------------------------------
    // Key management (callable only by the account itself: root, or an admin key through a self-call)
    // ----------------------------------------------------------------------------------------------------

    /// @notice Registers `key` with empty settings (non-admin, never expires, no hook). Registering a key that is
    /// already registered changes nothing (Calibur semantics).
    function register(Key calldata key) external;

    /// @notice Registers `key` together with `settings` in one step, so the key never exists without its limits.
    /// @dev Reverts `KeyAlreadyRegistered` if the key exists: revoke first, which gives the new grant fresh state.
    function grant(Key calldata key, uint256 settings) external;

    /// @notice Replaces a registered key's settings word (every field, validAfter and flags included).
    function update(bytes32 keyHash, uint256 settings) external;

    /// @notice Revokes a key on every path at once.
    function revoke(bytes32 keyHash) external;

    /// @notice Revokes every non-root key at once ("log out everywhere"); also the safe step before re-delegating.
    function revokeAll() external;

    /// @notice Pauses one key: refused on every path (direct, relayed, ERC-4337 validation and execution, ERC-1271
    /// answers `0xffffffff`, ERC-7710 redemption, `verifyKeySignature` answers false) until `resumeKey`; its
    /// settings, hook state, gas budget, schedule and nonce lanes are kept, and `update` does not resume it. A no-op
    /// for a paused key. Reverts `CannotPauseRootKey` for key hash 0, `KeyDoesNotExist` for an unknown key.
    function pauseKey(bytes32 keyHash) external;

    /// @notice Resumes a key paused by `pauseKey` (a no-op when it is not paused). It stays refused while `pauseAll`
    /// holds.
    function resumeKey(bytes32 keyHash) external;

    /// @notice Pauses every non-root key at once, admin keys included (so a paused admin cannot resume itself), and
    /// every key granted before `resumeAll` (it holds across `revokeAll`). The root is never paused. A no-op when
    /// already paused.
    function pauseAll() external;

    /// @notice Ends `pauseAll`; keys paused one by one stay paused. A no-op when not paused.
    function resumeAll() external;

    /// @notice Sets the ERC-4337 EntryPoint; `address(0)` disables ERC-4337.
    function updateEntryPoint(address entryPoint) external;

    /// @notice Sets what the account may pay in ERC-4337 gas for a key whose settings carry the GAS_BUDGET flag.
    /// Spending restarts from zero.
    function setGasBudget(bytes32 keyHash, GasBudget calldata budget) external;

    // ----------------------------------------------------------------------------------------------------
    // Key views
    // ----------------------------------------------------------------------------------------------------

    /// @notice The registered key with this hash; `keyHash == 0` is the root key (the account's own address).
    function getKey(bytes32 keyHash) external view returns (Key memory);

    /// @notice The key's settings; the root key's are `1 << 200` (admin, never expires, no hook).
    function getKeySettings(bytes32 keyHash) external view returns (uint256);

    /// @notice Whether a key with this hash is registered (the root key is not "registered").
    function isRegistered(bytes32 keyHash) external view returns (bool);

    /// @notice Whether the key is refused for being paused (by `pauseKey` or `pauseAll`); false for the root.
    /// Reverts `KeyDoesNotExist` for a key that is not registered.
    function isPaused(bytes32 keyHash) external view returns (bool);

    /// @notice The key's own pause (`pauseKey`) and the pause of every key (`pauseAll`); either refuses the key.
    /// Both false for the root. Reverts `KeyDoesNotExist` for a key that is not registered.
    function pauseStatus(bytes32 keyHash) external view returns (bool key, bool all);

    /// @notice The number of registered keys.
    function keyCount() external view returns (uint256);

    /// @notice The registered key at `index` (< `keyCount()`); order changes when keys are revoked.
    function keyAt(uint256 index) external view returns (Key memory);

    /// @notice The identity of this registration of the key: `keccak256(abi.encode(account, keyHash, epoch,
    /// grant number))`, fresh on every registration and different on every account. Hooks receive it after their
    /// arguments (see `IHook.sol`). Reverts `KeyDoesNotExist` for unknown keys; 0 for the root.
    function keyIdOf(bytes32 keyHash) external view returns (bytes32);

    /// @notice The key epoch: incremented by `revokeAll`.
    function keyEpoch() external view returns (uint256);

    /// @notice The key hash of `key`: `keccak256(abi.encode(key.keyType, keccak256(key.publicKey)))`.
    function hashKey(Key calldata key) external pure returns (bytes32);

    /// @notice Whether `signature` is `keyHash`'s signature of `digest`, and the window in which the key may act, for a
    /// hook or a contract that checks a co-signature (e.g. in ERC-4337 validation: this view reads no TIMESTAMP; the
    /// caller checks the window later, e.g. by narrowing its validationData to it).
    /// @dev `keyHash` 0 is the root: a 65-byte (or 64-byte ERC-2098) ECDSA signature by the account's own address,
    /// window 0 through `type(uint40).max`. Otherwise a registered, unpaused key of this account, with its key type's
    /// raw signature as on the relayed path (secp256k1: 65 or 64 bytes; P256: `abi.encode(r, s)` over `sha256(digest)`;
    /// WebAuthn: an encoded assertion whose challenge is `digest`), window [validAfter, expiration] (an expiration of
    /// 0, never, reads `type(uint40).max`). No hook is called. Never reverts on a bad, malformed or unknown signature
    /// or key: it answers `(false, 0, 0)`.
    /// @return valid Whether the signature verifies for a key that may sign (registered, not paused).
    /// @return validAfter The first second the key may act.
    /// @return validUntil The last second the key may act.
    function verifyKeySignature(bytes32 keyHash, bytes32 digest, bytes calldata signature)
        external
        view
        returns (bool valid, uint40 validAfter, uint40 validUntil);

    /// @notice A key's ERC-4337 gas budget and what was charged against it.
    function gasBudget(bytes32 keyHash) external view returns (GasBudget memory budget, GasSpent memory spent);

    // ----------------------------------------------------------------------------------------------------
    // Nonces (relayed batches; the same lane rule applies to ERC-4337 nonces)
    // ----------------------------------------------------------------------------------------------------

    /// @notice The next sequence number of nonce lane `key` (the low 192 bits of `key`).
    function getSeq(uint256 key) external view returns (uint256);

    /// @notice Calibur's name for `getSeq`.
    function nonceSequenceNumber(uint256 key) external view returns (uint256);

    /// @notice A nonce lane only `keyHash` may use: the 192-bit lane key `"KWRD" (32 bits) | lane id (128) | index
    /// (32)`, where the lane id is the low 128 bits of the key's `keyId` (the root key's: of the account's address).
    /// Every lane key without the "KWRD" tag (lane 0 among them) is open to every key, as in Calibur.
    function reservedLane(bytes32 keyHash, uint32 index) external view returns (uint192);

    /// @notice Moves lane `newNonce >> 64` forward so that its next sequence is `uint64(newNonce)`, invalidating
    /// every signed batch with a lower sequence in that lane (at most 65,535 at once).
    function invalidateNonce(uint256 newNonce) external;

    // ----------------------------------------------------------------------------------------------------
    // Execution
    // ----------------------------------------------------------------------------------------------------

    /// @notice Executes a batch. Callers: the account itself (root) or a registered secp256k1 key's address (its
    /// transaction is the signature).
    function execute(BatchedCall calldata batchedCall) external payable;

    /// @notice ERC-7821 execute, with the same callers as `execute(BatchedCall)`.
    /// @param mode `0x01000000..00` (revert on failure) or `0x01010000..00` (continue on failure).
    /// @param executionData `abi.encode(Call[])`.
    function execute(bytes32 mode, bytes calldata executionData) external payable;

    /// @notice Executes a batch signed by a key, relayed by anyone (or only `executor` when set).
    /// @param wrappedSignature `abi.encode(bytes signature, bytes hookData)`; `hookData` is not signed.
    function execute(SignedBatchedCall calldata signedBatchedCall, bytes calldata wrappedSignature) external payable;

    /// @notice Whether `mode` is supported by ERC-7821 `execute`.
    function supportsExecutionMode(bytes32 mode) external pure returns (bool);

    /// @notice The EIP-712 digest of a signed batch under this account's domain.
    function hashSignedBatchedCall(SignedBatchedCall calldata signedBatchedCall) external view returns (bytes32);

    /// @notice Runs each item as a call to this account by the same caller (each with its own authorization);
    /// the first failure reverts everything with its revert data. Refused to the EntryPoint.
    function multicall(bytes[] calldata data) external payable returns (bytes[] memory results);

    // ----------------------------------------------------------------------------------------------------
    // ERC-4337 v0.8
    // ----------------------------------------------------------------------------------------------------

    /// @notice The EntryPoint this account trusts (`address(0)`: ERC-4337 disabled).
    function ENTRY_POINT() external view returns (address);

    /// @notice ERC-4337 validation. `userOp.signature = abi.encode(bytes32 keyHash, bytes signature, bytes hookData)`,
    /// optionally with a fourth head word: the gas window the operation is charged to (keys with a gas budget).
    /// @return validationData `validUntil` = key expiration, `validAfter` = key validAfter - 1 (EntryPoint treats
    /// validAfter as exclusive; the key is valid from its validAfter second), narrowed to the gas window when the
    /// account pays from a budget; exactly 1 when the signature is invalid or the key unknown.
    function validateUserOp(PackedUserOperation calldata userOp, bytes32 userOpHash, uint256 missingAccountFunds)
        external
        returns (uint256 validationData);

    /// @notice ERC-4337 execution: `userOp.callData = executeUserOp.selector ++ abi.encode(BatchedCall)`. A
    /// registered key's operation can have no other call data; the root's may.
    function executeUserOp(PackedUserOperation calldata userOp, bytes32 userOpHash) external;

    // ----------------------------------------------------------------------------------------------------
    // ERC-1271, ERC-5267, EIP-712, ERC-7201
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

    /// @notice `abi.encode(nameHash, versionHash, chainId, verifyingContract, salt)` (ERC-7739 TypedDataSign fields).
    function domainBytes() external view returns (bytes memory);

    /// @notice `keccak256("\x19\x01" ++ domainSeparator() ++ structHash)`.
    function hashTypedData(bytes32 structHash) external view returns (bytes32);

    /// @notice Sets the high 96 bits of the EIP-712 salt: every outstanding EIP-712 and ERC-1271 signature of the
    /// account stops verifying.
    function updateSalt(uint96 prefix) external;

    /// @notice Where the account's less frequent functions live (`KeywardExtension`, run by DELEGATECALL from the
    /// account's fallback).
    function EXTENSION() external view returns (address);

    /// @notice ERC-7201: the storage namespace.
    function namespaceAndVersion() external pure returns (string memory);

    /// @notice ERC-7201: the storage root.
    function CUSTOM_STORAGE_ROOT() external pure returns (bytes32);

    // ----------------------------------------------------------------------------------------------------
    // ERC-7914 native allowances
    // ----------------------------------------------------------------------------------------------------

    /// @notice Lets `spender` move up to `amount` wei out of the account (`type(uint256).max`: unlimited).
    function approveNative(address spender, uint256 amount) external returns (bool);

    /// @notice Like `approveNative`, for the current transaction only.
    function approveNativeTransient(address spender, uint256 amount) external returns (bool);

    /// @notice Sends `amount` wei from the account (`from` must be the account) to `recipient`, spending the
    /// caller's persistent allowance.
    function transferFromNative(address from, address recipient, uint256 amount) external returns (bool);

    /// @notice Like `transferFromNative`, spending the caller's transient allowance.
    function transferFromNativeTransient(address from, address recipient, uint256 amount) external returns (bool);

    /// @notice The persistent native allowance of `spender`.
    function nativeAllowance(address spender) external view returns (uint256);

    /// @notice The transient native allowance of `spender`.
    function transientNativeAllowance(address spender) external view returns (uint256);

    // ----------------------------------------------------------------------------------------------------
    // Receivers
    // ----------------------------------------------------------------------------------------------------

    /// @notice ERC-721 receiver: accepts every token.
    function onERC721Received(address, address, uint256, bytes calldata) external pure returns (bytes4);

    /// @notice ERC-1155 receiver: accepts every token.
    function onERC1155Received(address, address, uint256, uint256, bytes calldata) external pure returns (bytes4);

    /// @notice ERC-1155 batch receiver: accepts every token.
    function onERC1155BatchReceived(address, address, uint256[] calldata, uint256[] calldata, bytes calldata)
        external
        pure
        returns (bytes4);
}
