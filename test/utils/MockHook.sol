// SPDX-License-Identifier: MIT
pragma solidity ^0.8.30;

import {IExecutionHook, IHook, IValidationHook, PackedUserOperation} from "../../contracts/interfaces/IHook.sol";
import {IKeyward, Key, KeyType} from "../../contracts/interfaces/IKeyward.sol";

/// @notice A scriptable Calibur-interface hook for tests: answers as told (approve, refuse by revert, or a wrong
/// selector), records every callback with Keyward's trailing words, and can try to attack the account.
contract MockHook is IHook {
    enum Answer {
        Approve,
        Revert,
        WrongSelector
    }

    /// @dev Indexed by the callback's flag bit (0 afterVerifySignature ... 4 afterExecute).
    Answer[5] public answers;
    bool public reenterOnBefore;

    uint256[5] public calls;
    bytes32 public lastKeyHash;
    bytes32 public lastKeyId;
    uint256 public lastSettings;
    uint256 public lastExtra;
    /// @dev The fourth trailing word of the last execution callback: the digest that authorized the batch.
    bytes32 public lastOperation;
    bytes32 public lastDigest;
    bytes public lastHookData;
    address public lastTo;
    uint256 public lastValue;
    bytes public lastData;
    bool public lastSuccess;
    bytes public lastOutput;
    bytes public lastContext;
    uint256 public lastValidationData;
    bytes32 public lastUserOpHash;

    error Refused(uint256 callback);

    function setAnswer(uint256 callback, Answer answer) external {
        answers[callback] = answer;
    }

    function setReenter(bool on) external {
        reenterOnBefore = on;
    }

    function callCount(uint256 callback) external view returns (uint256) {
        return calls[callback];
    }

    function _answer(uint256 callback, bytes4 selector) private view returns (bytes4) {
        Answer a = answers[callback];
        if (a == Answer.Revert) revert Refused(callback);
        return a == Answer.WrongSelector ? bytes4(0xdeadbeef) : selector;
    }

    /// @dev The four words Keyward appends after the ABI arguments of an execution callback.
    function _trailer() private pure returns (bytes32 keyId, uint256 settings, uint256 extra, bytes32 operation) {
        assembly {
            keyId := calldataload(sub(calldatasize(), 0x80))
            settings := calldataload(sub(calldatasize(), 0x60))
            extra := calldataload(sub(calldatasize(), 0x40))
            operation := calldataload(sub(calldatasize(), 0x20))
        }
    }

    function afterVerifySignature(bytes32 keyHash, bytes32 digest, bytes calldata hookData)
        external
        view
        returns (bytes4)
    {
        // View callbacks cannot record; tests read `answers` and what the account did.
        keyHash;
        digest;
        hookData;
        return _answer(0, IValidationHook.afterVerifySignature.selector);
    }

    function afterValidateUserOp(bytes32, PackedUserOperation calldata, bytes32, uint256, bytes calldata)
        external
        view
        returns (bytes4)
    {
        return _answer(1, IValidationHook.afterValidateUserOp.selector);
    }

    function afterIsValidSignature(bytes32, bytes32, bytes calldata) external view returns (bytes4) {
        return _answer(2, IValidationHook.afterIsValidSignature.selector);
    }

    function beforeExecute(bytes32 keyHash, address to, uint256 value, bytes calldata data)
        external
        returns (bytes4, bytes memory)
    {
        ++calls[3];
        bytes4 answer = _answer(3, IExecutionHook.beforeExecute.selector);
        if (reenterOnBefore) {
            // msg.sender is the account: try to register a key through it.
            IKeyward(msg.sender).register(Key(KeyType.Secp256k1, abi.encode(address(0xbad))));
        }
        (lastKeyId, lastSettings, lastExtra, lastOperation) = _trailer();
        lastKeyHash = keyHash;
        lastTo = to;
        lastValue = value;
        lastData = data;
        return (answer, abi.encode(calls[3]));
    }

    function afterExecute(bytes32 keyHash, bool success, bytes calldata output, bytes calldata context)
        external
        returns (bytes4)
    {
        ++calls[4];
        (lastKeyId, lastSettings, lastExtra, lastOperation) = _trailer();
        lastKeyHash = keyHash;
        lastSuccess = success;
        lastOutput = output;
        lastContext = context;
        return _answer(4, IExecutionHook.afterExecute.selector);
    }
}

/// @notice A hook whose view callbacks report what they saw by reverting with it, so tests can read the arguments
/// and Keyward's trailing words of a STATICCALL (`Seen` is caught with `vm.expectRevert`).
contract ProbeHook {
    error Seen(bytes32 keyHash, bytes32 digest, bytes hookData, bytes32 keyId, uint256 settings, uint256 extra);
    error SeenUserOp(bytes32 keyHash, bytes32 userOpHash, uint256 validationData, bytes32 keyId, uint256 settings);

    function _trailer() private pure returns (bytes32 keyId, uint256 settings, uint256 extra) {
        assembly {
            keyId := calldataload(sub(calldatasize(), 0x60))
            settings := calldataload(sub(calldatasize(), 0x40))
            extra := calldataload(sub(calldatasize(), 0x20))
        }
    }

    function afterVerifySignature(bytes32 keyHash, bytes32 digest, bytes calldata hookData)
        external
        pure
        returns (bytes4)
    {
        (bytes32 keyId, uint256 settings, uint256 extra) = _trailer();
        revert Seen(keyHash, digest, hookData, keyId, settings, extra);
    }

    function afterValidateUserOp(
        bytes32 keyHash,
        PackedUserOperation calldata,
        bytes32 userOpHash,
        uint256 validationData,
        bytes calldata
    ) external pure returns (bytes4) {
        (bytes32 keyId, uint256 settings,) = _trailer();
        revert SeenUserOp(keyHash, userOpHash, validationData, keyId, settings);
    }

    function afterIsValidSignature(bytes32 keyHash, bytes32 digest, bytes calldata hookData)
        external
        pure
        returns (bytes4)
    {
        (bytes32 keyId, uint256 settings, uint256 extra) = _trailer();
        revert Seen(keyHash, digest, hookData, keyId, settings, extra);
    }
}

/// @notice Target contract for tests.
contract Target {
    uint256 public counter;
    address public lastCaller;
    uint256 public lastValue;

    error Boom(uint256 code);

    function bump() external payable returns (uint256) {
        lastCaller = msg.sender;
        lastValue = msg.value;
        return ++counter;
    }

    function fail(uint256 code) external pure {
        revert Boom(code);
    }

    /// @dev Burns all the gas it is given.
    function burn() external pure {
        while (true) {}
    }

    /// @dev Calls back into `account` with `data` (re-entrancy probe); bubbles the revert.
    function callBack(address account, bytes calldata data) external {
        (bool ok, bytes memory ret) = account.call(data);
        if (!ok) {
            assembly {
                revert(add(ret, 0x20), mload(ret))
            }
        }
    }

    receive() external payable {}
}
