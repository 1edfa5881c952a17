// SPDX-License-Identifier: MIT
pragma solidity ^0.8.30;

import {IKeyward, Key, KeyType} from "../../contracts/interfaces/IKeyward.sol";
import {IKeywardHook} from "../../contracts/interfaces/IKeywardHook.sol";

/// @notice A scriptable hook for tests: answers as told, records what it saw, and can try to attack the account.
contract MockHook is IKeywardHook {
    uint256 public validationData;
    bool public approveSignatures;
    bool public rejectExecution;
    bool public reenterOnBefore;
    bytes4 public afterAnswer = IKeywardHook.afterExecute.selector;

    uint256 public beforeCount;
    uint256 public afterCount;
    bytes32 public lastKeyId;
    address public lastTo;
    uint256 public lastValue;
    bytes public lastData;
    bool public lastSuccess;
    bytes32 public lastAppSeparator;

    error Rejected();

    function set(uint256 vd, bool approve, bool reject) external {
        validationData = vd;
        approveSignatures = approve;
        rejectExecution = reject;
    }

    function setAfterAnswer(bytes4 answer) external {
        afterAnswer = answer;
    }

    function setReenter(bool on) external {
        reenterOnBefore = on;
    }

    function onValidate(bytes32, bytes32, bytes calldata) external view returns (uint256) {
        return validationData;
    }

    function onSignature(bytes32, bytes32, bytes32, bytes calldata) external view returns (bytes4) {
        return approveSignatures ? IKeywardHook.onSignature.selector : bytes4(0);
    }

    function beforeExecute(bytes32 keyId, address to, uint256 value, bytes calldata data)
        external
        returns (bytes memory)
    {
        if (rejectExecution) revert Rejected();
        if (reenterOnBefore) {
            // msg.sender is the account: try to register a key through it.
            IKeyward(msg.sender).register(Key(KeyType.Secp256k1, abi.encode(address(0xbad))));
        }
        ++beforeCount;
        lastKeyId = keyId;
        lastTo = to;
        lastValue = value;
        lastData = data;
        return abi.encode(beforeCount);
    }

    function afterExecute(bytes32, bool success, bytes calldata context) external returns (bytes4) {
        require(abi.decode(context, (uint256)) == beforeCount, "context");
        ++afterCount;
        lastSuccess = success;
        return afterAnswer;
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
