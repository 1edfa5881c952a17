// SPDX-License-Identifier: MIT
pragma solidity ^0.8.30;

import {Keyward} from "../contracts/Keyward.sol";
import {Script, console} from "forge-std/Script.sol";

/// @title Deploy
/// @notice Deploys Keyward through the standard CREATE2 deployer, so the address is the same on every chain.
/// A rerun finds the code in place and does nothing.
/// @dev `forge script script/Deploy.s.sol --rpc-url $ETH_RPC_URL --broadcast --private-key ...`
contract Deploy is Script {
    /// @notice The deterministic deployment proxy (present on anvil and most chains).
    address internal constant CREATE2_DEPLOYER = 0x4e59b44847b379578588920cA78FbF26c0B4956C;
    /// @notice The salt of every Keyward deployment.
    bytes32 internal constant SALT = keccak256("keyward.v1");

    error DeployerMissing();
    error DeploymentFailed();

    /// @notice Deploys (or finds) Keyward and prints its address.
    function run() external returns (address keyward) {
        keyward = deploy(type(Keyward).creationCode);
        console.log("Keyward", keyward);
    }

    /// @notice The CREATE2 address of `creationCode` under `SALT`.
    function predict(bytes memory creationCode) public pure returns (address) {
        return address(
            uint160(uint256(keccak256(abi.encodePacked(bytes1(0xff), CREATE2_DEPLOYER, SALT, keccak256(creationCode)))))
        );
    }

    /// @notice Deploys `creationCode` through the CREATE2 deployer unless it is already there.
    function deploy(bytes memory creationCode) public returns (address addr) {
        addr = predict(creationCode);
        if (addr.code.length != 0) return addr;
        if (CREATE2_DEPLOYER.code.length == 0) revert DeployerMissing();
        vm.broadcast();
        (bool ok,) = CREATE2_DEPLOYER.call(abi.encodePacked(SALT, creationCode));
        if (!ok || addr.code.length == 0) revert DeploymentFailed();
    }
}
