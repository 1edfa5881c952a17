// SPDX-License-Identifier: MIT
pragma solidity ^0.8.30;

import {PackedUserOperation} from "../../contracts/interfaces/IKeyward.sol";
import {Test} from "forge-std/Test.sol";
import {Vm} from "forge-std/Vm.sol";

/// @notice One breach of an ERC-7562 validation rule found in a recorded trace.
/// @param rule The ERC-7562 rule id, e.g. "OP-011", "STO-021".
/// @param opcode The opcode that broke the rule (0 for findings that are not about one opcode, e.g. EREP-050).
/// @param contractAddr The frame's context address (`address(this)`: whose storage and balance the code sees).
/// @param codeAddr The address whose code ran (differs from `contractAddr` under DELEGATECALL / CALLCODE).
/// @param depth The frame depth relative to the validated entity: 1 is the entity's own validation frame.
/// @param description What happened, in words (no program counters).
struct ERC7562Violation {
    string rule;
    uint8 opcode;
    address contractAddr;
    address codeAddr;
    uint256 depth;
    string description;
}

/// @notice Who is validated and under which EntryPoint, for `ERC7562.check`.
/// @param sender The user operation's sender (the account).
/// @param entryPoint The EntryPoint the operation is for.
/// @param entity The entity whose validation frame is checked: the sender, or the paymaster.
/// @param maxAssociatedOffset The largest `n` accepted in an associated slot `keccak256(A || x) + n` (ERC-7562
/// says 0..128; the eth-infinitism reference bundler accepts only n < 128, i.e. pass 127 to match it).
struct ERC7562Scope {
    address sender;
    address entryPoint;
    address entity;
    uint256 maxAssociatedOffset;
}

/// @notice Where a validation frame lies in a recorded trace.
/// @param found Whether the call into the entity was found.
/// @param callIndex The index of the CALL step that entered the entity.
/// @param start The first step executed inside the entity (the first step of the window).
/// @param end One past the last step inside the entity or any frame below it.
/// @param callerDepth The depth of the frame that made the call (the window holds deeper steps only).
struct ERC7562Frame {
    bool found;
    uint256 callIndex;
    uint256 start;
    uint256 end;
    uint256 callerDepth;
}

/// @notice The outcome of one traced validation call.
/// @param found Whether the validation frame was found in the trace (always true for the direct entries).
/// @param success Whether the traced call succeeded (the direct call, or `handleOps` as a whole).
/// @param returnData What the traced call returned (validationData, or the `handleOps` revert data).
/// @param steps The number of steps executed inside the validated entity and below it (0 means nothing was checked).
/// @param violations Every distinct breach found (empty: the validation is ERC-7562-clean for this input).
struct ERC7562Trace {
    bool found;
    bool success;
    bytes returnData;
    uint256 steps;
    ERC7562Violation[] violations;
}

/// @dev The ERC-4337 v0.7/v0.8 entity interfaces the checker calls.
interface IERC7562Account {
    function validateUserOp(PackedUserOperation calldata userOp, bytes32 userOpHash, uint256 missingAccountFunds)
        external
        returns (uint256 validationData);
}

interface IERC7562Paymaster {
    function validatePaymasterUserOp(PackedUserOperation calldata userOp, bytes32 userOpHash, uint256 maxCost)
        external
        returns (bytes memory context, uint256 validationData);
}

interface IERC7562EntryPoint {
    function handleOps(PackedUserOperation[] calldata ops, address payable beneficiary) external;
    function getUserOpHash(PackedUserOperation calldata userOp) external view returns (bytes32);
    function depositTo(address account) external payable;
}

/// @title ERC7562
/// @notice Checks a recorded debug trace (`vm.startDebugTraceRecording`) of an ERC-4337 validation frame against
/// the ERC-7562 validation scope rules that apply to an unstaked entity, and reports every breach.
///
/// What forge's `Vm.DebugStep` holds (verified by experiment with forge 1.7.1, see test/ERC7562.t.sol):
/// `stack` holds only the opcode's inputs, top of stack first (SLOAD: [slot]; SSTORE/TSTORE: [slot, value];
/// KECCAK256: [offset, size]; CALL: [gas, to, value, inOffset, inSize, outOffset, outSize]; STATICCALL and
/// DELEGATECALL: [gas, to, inOffset, inSize, outOffset, outSize]; EXTCODE*: [address]); `memoryInput` holds the
/// memory the opcode reads (KECCAK256: the preimage; *CALL: the calldata); `contractAddr` is the frame's context
/// address (the caller under DELEGATECALL, the EOA for an EIP-7702 delegated account); `depth` is the call depth
/// (the test contract's frame is 1); `isOutOfGas` is set on the step that ran out of gas.
///
/// Rules checked (unstaked account / paymaster, no factory):
/// - OP-011 blocked opcodes: ORIGIN, GASPRICE, BLOCKHASH, COINBASE, TIMESTAMP, NUMBER, PREVRANDAO, GASLIMIT,
///   BASEFEE, BLOBHASH, BLOBBASEFEE, CREATE, INVALID, SELFDESTRUCT, and BALANCE / SELFBALANCE (OP-080 allows those
///   two to staked entities only).
/// - OP-012 GAS not immediately followed by a *CALL in the same frame.
/// - OP-013 unassigned opcodes (Osaka opcode table).
/// - OP-020 out of gas in any frame.
/// - OP-031 CREATE2 (only a factory may create the sender; factories are not traced here).
/// - OP-041 / OP-062 *CALL or EXTCODE* on an address without code, other than the allowed precompiles (0x01-0x0a and
///   the P256 precompile 0x100) and the sender itself.
/// - OP-051..054 EntryPoint access: only EXTCODESIZE followed by ISZERO, `depositTo(sender)` and the fallback (empty
///   calldata) from the sender; anything else is OP-054.
/// - OP-061 CALL / CALLCODE with value to anything but the EntryPoint.
/// - STO-010 / STO-021 / OP-070 storage and transient storage: the sender's own always; in any other contract only
///   slots associated with the sender (slot == A, or slot == keccak256(A || x) + n, n <= maxAssociatedOffset, where
///   the keccak preimage starting with the left-padded sender was hashed by a KECCAK256 inside the window);
///   the EntryPoint's own bookkeeping under `depositTo` is not checked (as in the reference bundler). A breach is
///   reported as STO-021 (STO-031 when an unstaked paymaster touches its own storage).
/// Not checked: COD-010 (code unchanged between two validations: needs two runs), STO-040/041 and the reputation
/// rules (mempool-wide), staked-entity exceptions, the factory phase.
library ERC7562 {
    Vm private constant vm = Vm(address(uint160(uint256(keccak256("hevm cheat code")))));

    uint256 internal constant DEFAULT_MAX_ASSOCIATED_OFFSET = 128;

    uint8 internal constant OP_KECCAK256 = 0x20;
    uint8 internal constant OP_BALANCE = 0x31;
    uint8 internal constant OP_EXTCODESIZE = 0x3b;
    uint8 internal constant OP_EXTCODECOPY = 0x3c;
    uint8 internal constant OP_EXTCODEHASH = 0x3f;
    uint8 internal constant OP_SELFBALANCE = 0x47;
    uint8 internal constant OP_SLOAD = 0x54;
    uint8 internal constant OP_SSTORE = 0x55;
    uint8 internal constant OP_GAS = 0x5a;
    uint8 internal constant OP_TLOAD = 0x5c;
    uint8 internal constant OP_TSTORE = 0x5d;
    uint8 internal constant OP_ISZERO = 0x15;
    uint8 internal constant OP_CREATE = 0xf0;
    uint8 internal constant OP_CALL = 0xf1;
    uint8 internal constant OP_CALLCODE = 0xf2;
    uint8 internal constant OP_DELEGATECALL = 0xf4;
    uint8 internal constant OP_CREATE2 = 0xf5;
    uint8 internal constant OP_STATICCALL = 0xfa;

    /// @dev Working state of one `check`.
    struct Walk {
        ERC7562Scope scope;
        uint256 callerDepth;
        bytes32[] bases;
        address[] codeAt;
        ERC7562Violation[] items;
        bytes32[] keys;
        uint256 count;
    }

    // --------------------------------------------------------------------------------------------------------
    // Locating frames
    // --------------------------------------------------------------------------------------------------------

    /// @notice The first CALL at or after `from` made by `caller` (any caller when 0) to `target` whose calldata
    /// starts with `selector`, and the window of steps executed inside it.
    function findFrame(Vm.DebugStep[] memory steps, uint256 from, address caller, address target, bytes4 selector)
        internal
        pure
        returns (ERC7562Frame memory f)
    {
        for (uint256 i = from; i < steps.length; ++i) {
            Vm.DebugStep memory s = steps[i];
            if (s.opcode != OP_CALL || s.stack.length < 7) continue;
            if (address(uint160(s.stack[1])) != target) continue;
            if (caller != address(0) && s.contractAddr != caller) continue;
            if (s.memoryInput.length < 4 || bytes4(s.memoryInput) != selector) continue;
            f.found = true;
            f.callIndex = i;
            f.callerDepth = s.depth;
            f.start = i + 1;
            uint256 j = i + 1;
            while (j < steps.length && steps[j].depth > s.depth) ++j;
            f.end = j;
            return f;
        }
    }

    /// @notice The scope of an account's validation with the default association bound.
    function accountScope(address sender, address entryPoint) internal pure returns (ERC7562Scope memory) {
        return ERC7562Scope(sender, entryPoint, sender, DEFAULT_MAX_ASSOCIATED_OFFSET);
    }

    /// @notice The scope of a paymaster's validation with the default association bound.
    function paymasterScope(address sender, address entryPoint, address paymaster)
        internal
        pure
        returns (ERC7562Scope memory)
    {
        return ERC7562Scope(sender, entryPoint, paymaster, DEFAULT_MAX_ASSOCIATED_OFFSET);
    }

    // --------------------------------------------------------------------------------------------------------
    // Checking a window
    // --------------------------------------------------------------------------------------------------------

    /// @notice Every distinct ERC-7562 breach in the steps of `frame` (the entity's frame and all frames below it).
    function check(Vm.DebugStep[] memory steps, ERC7562Frame memory frame, ERC7562Scope memory scope)
        internal
        view
        returns (ERC7562Violation[] memory out)
    {
        if (!frame.found || frame.start >= frame.end) return out;
        Walk memory w;
        w.scope = scope;
        w.callerDepth = frame.callerDepth;
        w.bases = associatedBases(steps, frame.start, frame.end, scope.sender);
        uint256 maxDepth;
        for (uint256 i = frame.start; i < frame.end; ++i) {
            if (steps[i].depth > maxDepth) maxDepth = steps[i].depth;
        }
        w.codeAt = new address[](maxDepth - frame.callerDepth + 2);
        w.codeAt[1] = scope.entity;
        w.items = new ERC7562Violation[](8);
        w.keys = new bytes32[](8);
        for (uint256 i = frame.start; i < frame.end; ++i) {
            _step(w, steps, i, frame.end);
        }
        out = new ERC7562Violation[](w.count);
        for (uint256 i; i < w.count; ++i) {
            out[i] = w.items[i];
        }
    }

    /// @notice The outputs of every KECCAK256 in `steps[start:end]` whose preimage starts with the left-padded
    /// `who`: the bases of the slots associated with `who`.
    function associatedBases(Vm.DebugStep[] memory steps, uint256 start, uint256 end, address who)
        internal
        pure
        returns (bytes32[] memory bases)
    {
        bytes32 padded = bytes32(uint256(uint160(who)));
        uint256 n;
        for (uint256 i = start; i < end; ++i) {
            Vm.DebugStep memory s = steps[i];
            if (s.opcode == OP_KECCAK256 && s.memoryInput.length >= 32 && bytes32(s.memoryInput) == padded) ++n;
        }
        bases = new bytes32[](n);
        n = 0;
        for (uint256 i = start; i < end; ++i) {
            Vm.DebugStep memory s = steps[i];
            if (s.opcode == OP_KECCAK256 && s.memoryInput.length >= 32 && bytes32(s.memoryInput) == padded) {
                bases[n++] = keccak256(s.memoryInput);
            }
        }
    }

    /// @notice Whether `slot` is associated with `who` (ERC-7562 "associated storage") given the keccak outputs
    /// `bases` seen in the trace: `slot == who`, or `slot == base + n` with `n <= maxOffset`.
    function isAssociated(bytes32[] memory bases, address who, uint256 slot, uint256 maxOffset)
        internal
        pure
        returns (bool)
    {
        if (slot == uint256(uint160(who))) return true;
        for (uint256 i; i < bases.length; ++i) {
            unchecked {
                if (slot - uint256(bases[i]) <= maxOffset) return true;
            }
        }
        return false;
    }

    function _step(Walk memory w, Vm.DebugStep[] memory steps, uint256 i, uint256 end) private view {
        Vm.DebugStep memory s = steps[i];
        uint8 op = s.opcode;
        if (s.isOutOfGas) {
            _add(w, s, "OP-020", string.concat(opcodeName(op), " ran out of gas (out-of-gas reverts are forbidden)"));
        }
        if (op == OP_BALANCE || op == OP_SELFBALANCE) {
            _add(w, s, "OP-011", string.concat(opcodeName(op), " reads a balance (OP-080: staked entities only)"));
        } else if (isBanned(op)) {
            _add(w, s, "OP-011", string.concat(opcodeName(op), " is a blocked opcode in validation"));
        } else if (op == OP_GAS) {
            bool ok = i + 1 < end && steps[i + 1].depth == s.depth && isCall(steps[i + 1].opcode);
            if (!ok) _add(w, s, "OP-012", "GAS not immediately followed by a *CALL");
        } else if (op == OP_CREATE2) {
            _add(w, s, "OP-031", "CREATE2 outside the sender's deployment by its factory");
        } else if (op == OP_SLOAD || op == OP_SSTORE || op == OP_TLOAD || op == OP_TSTORE) {
            _storage(w, s);
        } else if (isCall(op)) {
            _call(w, s);
            if (i + 1 < end && steps[i + 1].depth == s.depth + 1) {
                w.codeAt[s.depth + 1 - w.callerDepth] = address(uint160(s.stack[1]));
            }
        } else if (op == OP_EXTCODESIZE || op == OP_EXTCODECOPY || op == OP_EXTCODEHASH) {
            bool thenIsZero = i + 1 < end && steps[i + 1].depth == s.depth && steps[i + 1].opcode == OP_ISZERO;
            _extcode(w, s, thenIsZero);
        } else if (!isAssigned(op)) {
            _add(w, s, "OP-013", string.concat(opcodeName(op), " is not an assigned opcode"));
        }
    }

    function _storage(Walk memory w, Vm.DebugStep memory s) private pure {
        address owner = s.contractAddr;
        ERC7562Scope memory sc = w.scope;
        // STO-010: the account's own storage. The EntryPoint's bookkeeping (depositTo) is the EntryPoint's concern.
        if (owner == sc.sender || owner == sc.entryPoint) return;
        uint256 slot = s.stack[0];
        // STO-021 (OP-070 for transient storage): storage associated with the sender in another contract.
        if (isAssociated(w.bases, sc.sender, slot, sc.maxAssociatedOffset)) return;
        bool write = s.opcode == OP_SSTORE || s.opcode == OP_TSTORE;
        bool isTransient = s.opcode == OP_TLOAD || s.opcode == OP_TSTORE;
        string memory what = string.concat(
            write ? "write to " : "read of ",
            isTransient ? "transient slot " : "slot ",
            vm.toString(bytes32(slot)),
            " of ",
            vm.toString(owner)
        );
        if (owner == sc.entity) {
            _add(w, s, "STO-031", string.concat(what, ": an entity's own storage needs a stake"));
        } else {
            _add(w, s, "STO-021", string.concat(what, ": not associated with the sender"));
        }
    }

    function _call(Walk memory w, Vm.DebugStep memory s) private view {
        ERC7562Scope memory sc = w.scope;
        uint8 op = s.opcode;
        address to = address(uint160(s.stack[1]));
        uint256 value = (op == OP_CALL || op == OP_CALLCODE) ? s.stack[2] : 0;
        if (to == sc.entryPoint) {
            _entryPointCall(w, s, value);
            return;
        }
        if (value != 0) {
            _add(
                w,
                s,
                "OP-061",
                string.concat(
                    opcodeName(op),
                    " with value ",
                    vm.toString(value),
                    " to ",
                    vm.toString(to),
                    ": only the EntryPoint may receive value"
                )
            );
        }
        _codeAccess(w, s, to);
    }

    /// @dev OP-052: `depositTo(sender)` from the sender; OP-053: the fallback (empty calldata) from the sender;
    /// OP-054: any other call into the EntryPoint.
    function _entryPointCall(Walk memory w, Vm.DebugStep memory s, uint256 value) private pure {
        ERC7562Scope memory sc = w.scope;
        bytes memory data = s.memoryInput;
        bool fromSender = s.contractAddr == sc.sender && (s.opcode == OP_CALL);
        bool fallback_ = data.length == 0;
        bool deposit = data.length == 36 && bytes4(data) == IERC7562EntryPoint.depositTo.selector
            && _word(data, 4) == uint256(uint160(sc.sender));
        if (fromSender && (fallback_ || deposit)) return;
        string memory what = data.length >= 4 ? vm.toString(abi.encodePacked(bytes4(data))) : string("fallback");
        _add(
            w,
            s,
            "OP-054",
            string.concat(
                opcodeName(s.opcode),
                " into the EntryPoint (",
                what,
                ", value ",
                vm.toString(value),
                "): only depositTo(sender) or the fallback, from the sender"
            )
        );
    }

    function _extcode(Walk memory w, Vm.DebugStep memory s, bool thenIsZero) private view {
        address target = address(uint160(s.stack[0]));
        if (target == w.scope.entryPoint) {
            // OP-051: EXTCODESIZE ISZERO (the check before depositTo) is the only code access allowed.
            if (s.opcode == OP_EXTCODESIZE && thenIsZero) return;
            _add(
                w,
                s,
                "OP-054",
                string.concat(opcodeName(s.opcode), " on the EntryPoint (only EXTCODESIZE followed by ISZERO)")
            );
            return;
        }
        _codeAccess(w, s, target);
    }

    /// @dev OP-041 / OP-042 / OP-062: the target must have code, be the sender, or be an allowed precompile.
    function _codeAccess(Walk memory w, Vm.DebugStep memory s, address target) private view {
        if (target == w.scope.sender || isAllowedPrecompile(target) || target.code.length != 0) return;
        if (isKnownPrecompile(target)) {
            _add(
                w,
                s,
                "OP-062",
                string.concat(opcodeName(s.opcode), " on precompile ", vm.toString(target), ", which is not allowed")
            );
        } else {
            _add(
                w,
                s,
                "OP-041",
                string.concat(opcodeName(s.opcode), " on ", vm.toString(target), ", an address without code")
            );
        }
    }

    function _add(Walk memory w, Vm.DebugStep memory s, string memory rule, string memory description) private pure {
        uint256 depth = s.depth - w.callerDepth;
        address code = depth < w.codeAt.length ? w.codeAt[depth] : address(0);
        bytes32 key = keccak256(abi.encode(rule, s.opcode, s.contractAddr, code, depth, description));
        for (uint256 k; k < w.count; ++k) {
            if (w.keys[k] == key) return;
        }
        if (w.count == w.items.length) {
            ERC7562Violation[] memory grown = new ERC7562Violation[](w.count * 2);
            bytes32[] memory grownKeys = new bytes32[](w.count * 2);
            for (uint256 k; k < w.count; ++k) {
                grown[k] = w.items[k];
                grownKeys[k] = w.keys[k];
            }
            w.items = grown;
            w.keys = grownKeys;
        }
        w.items[w.count] = ERC7562Violation(rule, s.opcode, s.contractAddr, code, depth, description);
        w.keys[w.count] = key;
        ++w.count;
    }

    function _word(bytes memory data, uint256 offset) private pure returns (uint256 v) {
        assembly ("memory-safe") {
            v := mload(add(add(data, 0x20), offset))
        }
    }

    // --------------------------------------------------------------------------------------------------------
    // Opcode tables
    // --------------------------------------------------------------------------------------------------------

    /// @notice OP-011's blocked opcodes other than BALANCE / SELFBALANCE (OP-080) and GAS (OP-012).
    function isBanned(uint8 op) internal pure returns (bool) {
        return op == 0x32 // ORIGIN
            || op == 0x3a // GASPRICE
            || (op >= 0x40 && op <= 0x45) // BLOCKHASH COINBASE TIMESTAMP NUMBER PREVRANDAO GASLIMIT
            || op == 0x48 // BASEFEE
            || op == 0x49 // BLOBHASH
            || op == 0x4a // BLOBBASEFEE
            || op == OP_CREATE || op == 0xfe // INVALID
            || op == 0xff; // SELFDESTRUCT
    }

    function isCall(uint8 op) internal pure returns (bool) {
        return op == OP_CALL || op == OP_CALLCODE || op == OP_DELEGATECALL || op == OP_STATICCALL;
    }

    /// @notice Whether `op` is assigned on Osaka (including CLZ, EIP-7939).
    function isAssigned(uint8 op) internal pure returns (bool) {
        return op <= 0x0b || (op >= 0x10 && op <= 0x1e) || op == 0x20 || (op >= 0x30 && op <= 0x4a)
            || (op >= 0x50 && op <= 0xa4) || (op >= 0xf0 && op <= 0xf5) || op == 0xfa || op >= 0xfd;
    }

    /// @notice OP-062: the computation-only precompiles a validation may call: 0x01-0x0a and P256VERIFY (0x100,
    /// RIP-7212 / EIP-7951), which Keyward's P256 and WebAuthn keys need.
    function isAllowedPrecompile(address a) internal pure returns (bool) {
        uint160 n = uint160(a);
        return (n >= 1 && n <= 0x0a) || n == 0x100;
    }

    /// @notice Precompiles that exist on Osaka but are not allowed by OP-062 (the BLS12-381 set 0x0b-0x11).
    function isKnownPrecompile(address a) internal pure returns (bool) {
        uint160 n = uint160(a);
        return n >= 0x0b && n <= 0x11;
    }

    /// @notice A readable name for the opcodes the checker reports.
    function opcodeName(uint8 op) internal pure returns (string memory) {
        if (op == 0x31) return "BALANCE";
        if (op == 0x32) return "ORIGIN";
        if (op == 0x3a) return "GASPRICE";
        if (op == 0x3b) return "EXTCODESIZE";
        if (op == 0x3c) return "EXTCODECOPY";
        if (op == 0x3f) return "EXTCODEHASH";
        if (op == 0x40) return "BLOCKHASH";
        if (op == 0x41) return "COINBASE";
        if (op == 0x42) return "TIMESTAMP";
        if (op == 0x43) return "NUMBER";
        if (op == 0x44) return "PREVRANDAO";
        if (op == 0x45) return "GASLIMIT";
        if (op == 0x47) return "SELFBALANCE";
        if (op == 0x48) return "BASEFEE";
        if (op == 0x49) return "BLOBHASH";
        if (op == 0x4a) return "BLOBBASEFEE";
        if (op == 0x54) return "SLOAD";
        if (op == 0x55) return "SSTORE";
        if (op == 0x5a) return "GAS";
        if (op == 0x5c) return "TLOAD";
        if (op == 0x5d) return "TSTORE";
        if (op == 0xf0) return "CREATE";
        if (op == 0xf1) return "CALL";
        if (op == 0xf2) return "CALLCODE";
        if (op == 0xf4) return "DELEGATECALL";
        if (op == 0xf5) return "CREATE2";
        if (op == 0xfa) return "STATICCALL";
        if (op == 0xfe) return "INVALID";
        if (op == 0xff) return "SELFDESTRUCT";
        return string.concat("opcode ", vm.toString(abi.encodePacked(op)));
    }

    // --------------------------------------------------------------------------------------------------------
    // Reporting
    // --------------------------------------------------------------------------------------------------------

    /// @notice One line: "[OP-011] TIMESTAMP is a blocked opcode in validation (context 0x.., code 0x.., depth 2)".
    function format(ERC7562Violation memory v) internal pure returns (string memory) {
        return string.concat(
            "[",
            v.rule,
            "] ",
            v.description,
            " (context ",
            vm.toString(v.contractAddr),
            v.codeAddr != v.contractAddr && v.codeAddr != address(0)
                ? string.concat(", code ", vm.toString(v.codeAddr))
                : string(""),
            ", depth ",
            vm.toString(v.depth),
            ")"
        );
    }

    /// @notice All violations, one per line.
    function format(ERC7562Violation[] memory vs) internal pure returns (string memory out) {
        for (uint256 i; i < vs.length; ++i) {
            out = string.concat(out, i == 0 ? "" : "\n", format(vs[i]));
        }
    }

    /// @notice How many of `vs` break `rule`.
    function count(ERC7562Violation[] memory vs, string memory rule) internal pure returns (uint256 n) {
        bytes32 h = keccak256(bytes(rule));
        for (uint256 i; i < vs.length; ++i) {
            if (keccak256(bytes(vs[i].rule)) == h) ++n;
        }
    }
}

/// @title ERC7562Checker
/// @notice A forge test mixin that proves an account's (and its hooks') ERC-4337 validation is ERC-7562-clean:
/// it runs the validation under `vm.startDebugTraceRecording`, walks every step of every frame below it and
/// returns the rule breaches (it never reverts on a breach; assert with `assertClean`).
///
/// Needs forge's tracer: run with `-vvv` (or FOUNDRY_VERBOSITY=3, or `verbosity = 3` in a foundry profile);
/// without it the recording cheatcode fails, `erc7562TracerAvailable()` returns false and the trace functions
/// revert with a hint.
///
/// Checking your own hook (assumed unstaked, like the account; Keyward calls Calibur's `afterValidateUserOp` only
/// when bit 0x02 of the hook's address is set, with STATICCALL, the whole user operation, `hookData` from the
/// signature and Keyward's three trailing words):
/// ```solidity
/// contract MyHookERC7562Test is KeywardTestBase, ERC7562Checker {
///     function test_myHookValidationIsClean() public {
///         // 1. Deploy the hook where the account will call afterValidateUserOp (low address bits 0x02).
///         address hook = address((uint160(uint256(keccak256("my hook"))) & ~uint160(0xffff)) | 0x02);
///         deployCodeTo("MyHook.sol:MyHook", hook);
///         // 2. Install it on a key, and configure it for the account (e.g. through rootExecute(...)).
///         TestKey memory k = secp256k1Key("session");
///         grant(k, settingsOf(hook, 0, false, 0));
///         // 3. Build and sign a user operation: signature = abi.encode(keyHash, sig, hookData).
///         PackedUserOperation memory op = userOp(one(target, 0, data));
///         op.signature = abi.encode(k.keyHash, sign(k, entryPoint.getUserOpHash(op)), myHookData);
///         // 4. Trace the validation (pranked as the EntryPoint) and assert no rule is broken.
///         ERC7562Trace memory t = traceValidateUserOp(op, ENTRY_POINT, 0);
///         assertClean(t, "my hook"); // fails listing every breach: "[STO-021] read of slot 0x.. of 0x.. ..."
///     }
/// }
/// ```
/// Repeat with an invalid signature, with `missingAccountFunds > 0`, with and without a paymaster (a key with the
/// GAS_BUDGET settings flag makes the account write its own storage: allowed, STO-010), through `traceHandleOps`,
/// and for every branch of your hook (each `hookData`, limits hit and not hit): the checker sees only the path the inputs take.
/// Storage a hook may read is the account's own (e.g. its views) and slots associated with the account: a
/// mapping keyed by the account (`m[account]`, `m[key][account]` and the first 129 words of a struct there), not
/// `m[account][key]`, whose slot hashes the key last.
abstract contract ERC7562Checker is Test {
    /// @dev The gas for a traced direct call when the operation sets no verification gas limit.
    uint256 internal constant ERC7562_DEFAULT_GAS = 10_000_000;

    string internal constant ERC7562_NO_TRACER =
        "ERC7562Checker: debug trace recording needs forge's tracer; run forge test with -vvv";

    /// @notice Whether `vm.startDebugTraceRecording` works in this run (forge started with -vvv or more).
    function erc7562TracerAvailable() internal returns (bool) {
        try vm.startDebugTraceRecording() {
            vm.stopAndReturnDebugTraceRecording();
            return true;
        } catch {
            return false;
        }
    }

    function _erc7562StartRecording() private {
        try vm.startDebugTraceRecording() {}
        catch {
            revert(ERC7562_NO_TRACER);
        }
    }

    // --------------------------------------------------------------------------------------------------------
    // Direct calls (pranked as the EntryPoint)
    // --------------------------------------------------------------------------------------------------------

    /// @notice Traces `op.sender.validateUserOp(op, entryPoint.getUserOpHash(op), missingAccountFunds)` called as
    /// the EntryPoint, with the op's verificationGasLimit as the EntryPoint gives it, and checks the account's
    /// frame and every frame below it. State changes of the call (e.g. the prefund sent to the EntryPoint) are
    /// kept, as the EntryPoint would keep them.
    function traceValidateUserOp(PackedUserOperation memory op, address entryPoint, uint256 missingAccountFunds)
        internal
        returns (ERC7562Trace memory)
    {
        return
            traceValidateUserOp(op, entryPoint, IERC7562EntryPoint(entryPoint).getUserOpHash(op), missingAccountFunds);
    }

    /// @notice As above with an explicit `userOpHash` (e.g. to trace a hash the signature does not match).
    function traceValidateUserOp(
        PackedUserOperation memory op,
        address entryPoint,
        bytes32 userOpHash,
        uint256 missingAccountFunds
    ) internal returns (ERC7562Trace memory t) {
        bytes memory data = abi.encodeCall(IERC7562Account.validateUserOp, (op, userOpHash, missingAccountFunds));
        _erc7562StartRecording();
        vm.prank(entryPoint);
        (t.success, t.returnData) = op.sender.call{gas: verificationGasLimitOf(op)}(data);
        Vm.DebugStep[] memory steps = vm.stopAndReturnDebugTraceRecording();
        _erc7562Fill(
            t,
            steps,
            ERC7562.findFrame(steps, 0, address(this), op.sender, IERC7562Account.validateUserOp.selector),
            ERC7562.accountScope(op.sender, entryPoint)
        );
    }

    /// @notice The violations of `traceValidateUserOp(op, entryPoint, missingAccountFunds)`.
    function checkValidateUserOp(PackedUserOperation memory op, address entryPoint, uint256 missingAccountFunds)
        internal
        returns (ERC7562Violation[] memory)
    {
        return traceValidateUserOp(op, entryPoint, missingAccountFunds).violations;
    }

    /// @notice Traces `paymaster.validatePaymasterUserOp(op, userOpHash, maxCost)` called as the EntryPoint (the
    /// paymaster is the first 20 bytes of `op.paymasterAndData`) and checks it as an unstaked paymaster; a
    /// non-empty context is reported as EREP-050.
    function traceValidatePaymasterUserOp(PackedUserOperation memory op, address entryPoint, uint256 maxCost)
        internal
        returns (ERC7562Trace memory t)
    {
        address paymaster = paymasterOf(op);
        bytes32 userOpHash = IERC7562EntryPoint(entryPoint).getUserOpHash(op);
        bytes memory data = abi.encodeCall(IERC7562Paymaster.validatePaymasterUserOp, (op, userOpHash, maxCost));
        _erc7562StartRecording();
        vm.prank(entryPoint);
        (t.success, t.returnData) = paymaster.call{gas: paymasterVerificationGasLimitOf(op)}(data);
        Vm.DebugStep[] memory steps = vm.stopAndReturnDebugTraceRecording();
        _erc7562Fill(
            t,
            steps,
            ERC7562.findFrame(steps, 0, address(this), paymaster, IERC7562Paymaster.validatePaymasterUserOp.selector),
            ERC7562.paymasterScope(op.sender, entryPoint, paymaster)
        );
        if (t.success && t.returnData.length >= 128) {
            (bytes memory context,) = abi.decode(t.returnData, (bytes, uint256));
            if (context.length != 0) _erc7562AppendContextViolation(t, paymaster);
        }
    }

    // --------------------------------------------------------------------------------------------------------
    // Through the EntryPoint
    // --------------------------------------------------------------------------------------------------------

    /// @notice Traces `entryPoint.handleOps([op], beneficiary)` (a revert is recorded, not bubbled) and checks
    /// the account's `validateUserOp` frame and, when `op` has a paymaster, its `validatePaymasterUserOp` frame:
    /// each is the EntryPoint's first CALL into that entity with that selector, so only the validation phase is
    /// checked (execution and postOp are not). `found` is false for a frame the EntryPoint never entered.
    function traceHandleOps(PackedUserOperation memory op, address entryPoint, address payable beneficiary)
        internal
        returns (ERC7562Trace memory account, ERC7562Trace memory paymaster)
    {
        Vm.DebugStep[] memory steps;
        (steps, account.success, account.returnData) = _erc7562RecordHandleOps(op, entryPoint, beneficiary);
        paymaster.success = account.success;
        paymaster.returnData = account.returnData;
        _erc7562Fill(
            account,
            steps,
            ERC7562.findFrame(steps, 0, entryPoint, op.sender, IERC7562Account.validateUserOp.selector),
            ERC7562.accountScope(op.sender, entryPoint)
        );
        address pm = paymasterOf(op);
        if (pm != address(0)) {
            _erc7562Fill(
                paymaster,
                steps,
                ERC7562.findFrame(steps, 0, entryPoint, pm, IERC7562Paymaster.validatePaymasterUserOp.selector),
                ERC7562.paymasterScope(op.sender, entryPoint, pm)
            );
        }
    }

    function _erc7562RecordHandleOps(PackedUserOperation memory op, address entryPoint, address payable beneficiary)
        private
        returns (Vm.DebugStep[] memory steps, bool success, bytes memory ret)
    {
        PackedUserOperation[] memory ops = new PackedUserOperation[](1);
        ops[0] = op;
        bytes memory data = abi.encodeCall(IERC7562EntryPoint.handleOps, (ops, beneficiary));
        _erc7562StartRecording();
        (success, ret) = entryPoint.call(data);
        steps = vm.stopAndReturnDebugTraceRecording();
    }

    // --------------------------------------------------------------------------------------------------------
    // Assertions
    // --------------------------------------------------------------------------------------------------------

    /// @notice Fails the test, listing every violation, unless `vs` is empty.
    function assertClean(ERC7562Violation[] memory vs, string memory label) internal pure {
        if (vs.length == 0) return;
        revert(string.concat(label, ": ", vm.toString(vs.length), " ERC-7562 violation(s)\n", ERC7562.format(vs)));
    }

    /// @notice Fails unless the traced frame was found, executed steps, and broke no rule.
    function assertClean(ERC7562Trace memory t, string memory label) internal pure {
        if (!t.found || t.steps == 0) revert(string.concat(label, ": the validation frame was not traced"));
        assertClean(t.violations, label);
    }

    /// @notice The gas the EntryPoint gives `validateUserOp`: the op's verificationGasLimit (high 128 bits of
    /// accountGasLimits), or `ERC7562_DEFAULT_GAS` when unset. Bounding the call matters: an INVALID or a
    /// static-call violation burns all the gas it is given, which would starve the checker.
    function verificationGasLimitOf(PackedUserOperation memory op) internal pure returns (uint256 g) {
        g = uint256(op.accountGasLimits) >> 128;
        if (g == 0) g = ERC7562_DEFAULT_GAS;
    }

    /// @notice The gas the EntryPoint gives `validatePaymasterUserOp`: paymasterAndData[20:36], or
    /// `ERC7562_DEFAULT_GAS` when unset.
    function paymasterVerificationGasLimitOf(PackedUserOperation memory op) internal pure returns (uint256 g) {
        bytes memory pnd = op.paymasterAndData;
        if (pnd.length >= 36) {
            assembly ("memory-safe") {
                g := shr(128, mload(add(pnd, 0x34)))
            }
        }
        if (g == 0) g = ERC7562_DEFAULT_GAS;
    }

    /// @notice The paymaster address of `op` (0 when it has none).
    function paymasterOf(PackedUserOperation memory op) internal pure returns (address) {
        return op.paymasterAndData.length >= 20 ? address(bytes20(op.paymasterAndData)) : address(0);
    }

    function _erc7562Fill(
        ERC7562Trace memory t,
        Vm.DebugStep[] memory steps,
        ERC7562Frame memory frame,
        ERC7562Scope memory scope
    ) private view {
        t.found = frame.found;
        t.steps = frame.found ? frame.end - frame.start : 0;
        t.violations = ERC7562.check(steps, frame, scope);
    }

    function _erc7562AppendContextViolation(ERC7562Trace memory t, address paymaster) private pure {
        ERC7562Violation[] memory vs = new ERC7562Violation[](t.violations.length + 1);
        for (uint256 i; i < t.violations.length; ++i) {
            vs[i] = t.violations[i];
        }
        vs[t.violations.length] = ERC7562Violation(
            "EREP-050", 0, paymaster, paymaster, 1, "an unstaked paymaster returned a non-empty context"
        );
        t.violations = vs;
    }
}
