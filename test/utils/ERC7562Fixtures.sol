// SPDX-License-Identifier: MIT
pragma solidity ^0.8.30;

import {PackedUserOperation} from "../../contracts/interfaces/IKeyward.sol";

// Fixtures for test/ERC7562.t.sol: contracts whose validation code breaks (or carefully keeps) one ERC-7562 rule
// each, so the checker's findings can be pinned one rule at a time. None of them is meant for deployment.

/// @notice A contract with ordinary and account-associated storage, read and written by the fixtures below.
contract ERC7562Store {
    /// @dev Slot 0: a global word, associated with nobody.
    uint256 public global;

    /// @dev Slot 1: `byKeyThenAccount[key][account]` lives at keccak256(account || keccak256(key || 1)): its preimage
    /// starts with the account, so it is associated with the account.
    mapping(bytes32 key => mapping(address account => uint256)) public byKeyThenAccount;

    /// @dev Slot 2: `byAccountThenKey[account][key]` lives at keccak256(key || keccak256(account || 2)): the outer
    /// preimage starts with the key, so it is not associated with the account (ERC-7562 has no nesting rule).
    mapping(address account => mapping(bytes32 key => uint256)) public byAccountThenKey;

    /// @dev Base slot 3: word `n` of `who`'s bucket is keccak256(who || 3) + n.
    uint256 internal constant BUCKETS = 3;

    receive() external payable {}

    function writeGlobal(uint256 v) external {
        global = v;
    }

    /// @notice Reads word `n` of `who`'s bucket: slot keccak256(abi.encode(who, 3)) + n.
    function readBucket(address who, uint256 n) external view returns (uint256 v) {
        assembly ("memory-safe") {
            mstore(0x00, who)
            mstore(0x20, BUCKETS)
            v := sload(add(keccak256(0x00, 0x40), n))
        }
    }

    function writeBucket(address who, uint256 n, uint256 value) external {
        assembly ("memory-safe") {
            mstore(0x00, who)
            mstore(0x20, BUCKETS)
            sstore(add(keccak256(0x00, 0x40), n), value)
        }
    }
}

/// @notice A Calibur-interface hook whose `afterValidateUserOp` does one thing chosen by its `hookData`:
/// `abi.encode(uint8 mode, address target, uint256 arg)` (the mode comes from calldata, so choosing it reads no
/// storage). Deploy it at an address whose low 5 bits are 0x02 (AFTER_VALIDATE_USER_OP only). Calibur's validation
/// callbacks may only refuse: each mode uses what it reads in a condition that refuses (`Unexpected`) only in a case
/// the tests never reach, so the opcode runs and the validation passes.
contract ERC7562ProbeHook {
    uint8 internal constant CLEAN = 0;
    uint8 internal constant TIMESTAMP = 1;
    uint8 internal constant NUMBER = 2;
    uint8 internal constant READ_GLOBAL = 3;
    uint8 internal constant BALANCE = 4;
    uint8 internal constant CREATE = 5;
    uint8 internal constant READ_BUCKET = 6;
    uint8 internal constant READ_KEY_THEN_ACCOUNT = 7;
    uint8 internal constant READ_ACCOUNT_THEN_KEY = 8;
    uint8 internal constant GASLEFT = 9;
    uint8 internal constant OUT_OF_GAS = 10;
    uint8 internal constant CALL_NO_CODE = 11;
    uint8 internal constant ENTRY_POINT_VIEW = 12;
    uint8 internal constant OWN_TRANSIENT = 13;
    uint8 internal constant ACCOUNT_VIEW = 14;

    bytes4 internal constant OK = 0x9e364dba; // IValidationHook.afterValidateUserOp.selector

    error Unexpected();

    /// @dev Called by Keyward with STATICCALL. Not declared `view`: the CREATE mode must compile (it then fails
    /// at run time with a static-call violation, after the checker has seen the CREATE).
    function afterValidateUserOp(bytes32, PackedUserOperation calldata, bytes32, uint256, bytes calldata hookData)
        external
        returns (bytes4)
    {
        if (_refuses(hookData)) revert Unexpected();
        return OK;
    }

    function _refuses(bytes calldata hookData) private returns (bool) {
        if (hookData.length < 96) return false;
        (uint8 mode, address target, uint256 arg) = abi.decode(hookData, (uint8, address, uint256));
        if (mode == TIMESTAMP) return block.timestamp == 0;
        if (mode == NUMBER) return block.number == 0;
        if (mode == READ_GLOBAL) return ERC7562Store(payable(target)).global() == 42;
        if (mode == BALANCE) return target.balance == 42;
        if (mode == CREATE) return address(new ERC7562Store()) == address(0);
        if (mode == READ_BUCKET) return ERC7562Store(payable(target)).readBucket(msg.sender, arg) == 42;
        if (mode == READ_KEY_THEN_ACCOUNT) {
            return ERC7562Store(payable(target)).byKeyThenAccount(bytes32(arg), msg.sender) == 42;
        }
        if (mode == READ_ACCOUNT_THEN_KEY) {
            return ERC7562Store(payable(target)).byAccountThenKey(msg.sender, bytes32(arg)) == 42;
        }
        if (mode == GASLEFT) return gasleft() == 42;
        if (mode == OUT_OF_GAS) {
            // A bounded call that always runs out of gas; the hook survives it (the caller sees `false`).
            (bool ok,) = address(this).staticcall{gas: 20_000}(abi.encodeCall(this.spin, ()));
            return ok;
        }
        if (mode == CALL_NO_CODE) {
            (bool ok,) = target.staticcall(abi.encodeWithSignature("anything()"));
            return ok && !ok;
        }
        if (mode == ENTRY_POINT_VIEW) {
            // e.g. reading the account's deposit: a call into the EntryPoint other than depositTo.
            (bool ok,) = target.staticcall(abi.encodeWithSignature("balanceOf(address)", msg.sender));
            return !ok;
        }
        if (mode == OWN_TRANSIENT) {
            uint256 v;
            assembly ("memory-safe") {
                v := tload(0)
            }
            return v == 42;
        }
        if (mode == ACCOUNT_VIEW) {
            // Reading the account's own storage through one of its views (STO-010, wherever the code runs).
            (bool ok,) = msg.sender.staticcall(abi.encodeWithSignature("keyCount()"));
            return !ok;
        }
        return false;
    }

    /// @dev Burns whatever gas it is given.
    function spin() external pure {
        uint256 i;
        while (true) {
            unchecked {
                ++i;
            }
        }
    }
}

/// @notice A stand-alone ERC-4337 account (not Keyward) whose `validateUserOp` does one thing chosen by its
/// signature: `abi.encode(uint8 mode, address target, uint256 arg)`. For the rules a Keyward hook cannot break
/// because Keyward calls hooks with STATICCALL (storage writes, value transfers, deposits).
contract ERC7562ProbeAccount {
    uint8 internal constant CLEAN = 0;
    uint8 internal constant WRITE_GLOBAL = 1;
    uint8 internal constant WRITE_BUCKET = 2;
    uint8 internal constant SEND_VALUE = 3;
    uint8 internal constant DEPOSIT_SELF = 4;
    uint8 internal constant DEPOSIT_OTHER = 5;
    uint8 internal constant WRITE_OWN = 6;
    uint8 internal constant SELFBALANCE = 7;

    address internal immutable ENTRY_POINT;
    uint256 internal own;

    constructor(address entryPoint) {
        ENTRY_POINT = entryPoint;
    }

    receive() external payable {}

    function validateUserOp(PackedUserOperation calldata op, bytes32, uint256 missingAccountFunds)
        external
        returns (uint256)
    {
        require(msg.sender == ENTRY_POINT, "not from EntryPoint");
        (uint8 mode, address target, uint256 arg) = abi.decode(op.signature, (uint8, address, uint256));
        if (mode == WRITE_GLOBAL) ERC7562Store(payable(target)).writeGlobal(arg);
        if (mode == WRITE_BUCKET) ERC7562Store(payable(target)).writeBucket(address(this), arg, 1);
        if (mode == SEND_VALUE) {
            (bool ok,) = payable(target).call{value: arg}("");
            require(ok, "send");
        }
        if (mode == DEPOSIT_SELF) IERC7562FixtureDeposit(ENTRY_POINT).depositTo{value: arg}(address(this));
        if (mode == DEPOSIT_OTHER) IERC7562FixtureDeposit(ENTRY_POINT).depositTo{value: arg}(target);
        if (mode == WRITE_OWN) own = arg;
        if (mode == SELFBALANCE && address(this).balance == 42) return 1;
        if (missingAccountFunds != 0) {
            (bool ok,) = payable(msg.sender).call{value: missingAccountFunds}("");
            ok;
        }
        return 0;
    }
}

interface IERC7562FixtureDeposit {
    function depositTo(address account) external payable;
}

/// @notice Shows what `Vm.DebugStep` records (test_debugStep_semantics).
contract ERC7562TraceProbe {
    uint256 public word;
    mapping(address => uint256) public perAccount;

    function run(address who, ERC7562TraceLib lib) external returns (uint256 r) {
        r = word; // SLOAD slot 0
        perAccount[who] = 5; // KECCAK256(who || 1), SSTORE
        (bool ok,) = address(lib).delegatecall(abi.encodeCall(ERC7562TraceLib.touch, (7)));
        require(ok);
        r += lib.touch(9); // CALL
    }
}

contract ERC7562TraceLib {
    uint256 public word;

    function touch(uint256 v) external returns (uint256) {
        word = v;
        return v;
    }
}

/// @notice A paymaster whose `validatePaymasterUserOp` does one thing chosen by the byte after the v0.8 paymaster
/// fields (`paymasterAndData[52]`): 0 sponsors cleanly, 1 reads TIMESTAMP, 2 returns a context, 3 counts in its
/// own storage (allowed to staked paymasters only).
contract ERC7562ProbePaymaster {
    address internal immutable ENTRY_POINT;
    uint256 internal counter;

    constructor(address entryPoint) {
        ENTRY_POINT = entryPoint;
    }

    function validatePaymasterUserOp(PackedUserOperation calldata op, bytes32, uint256)
        external
        returns (bytes memory context, uint256 validationData)
    {
        require(msg.sender == ENTRY_POINT, "not from EntryPoint");
        uint8 mode = op.paymasterAndData.length > 52 ? uint8(op.paymasterAndData[52]) : 0;
        if (mode == 1 && block.timestamp == 0) return ("", 1);
        if (mode == 2) return (hex"01", 0);
        if (mode == 3) ++counter;
        return ("", 0);
    }

    function postOp(uint8, bytes calldata, uint256, uint256) external view {
        require(msg.sender == ENTRY_POINT, "not from EntryPoint");
    }

    function deposit() external payable {
        IERC7562FixtureDeposit(ENTRY_POINT).depositTo{value: msg.value}(address(this));
    }
}
