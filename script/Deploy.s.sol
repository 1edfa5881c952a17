// SPDX-License-Identifier: MIT
pragma solidity ^0.8.30;

import {Script, console} from "forge-std/Script.sol";

/// @title Deploy
/// @notice Deploys Keyward and the PolicyHook through the standard CREATE2 deployer, so the addresses are the same
/// on every chain. A rerun finds the code in place and does nothing. The hook's salt is mined so that the low 5 bits
/// of its address carry its callback flags (0x1e: AFTER_VALIDATE_USER_OP | AFTER_IS_VALID_SIGNATURE | BEFORE_EXECUTE |
/// AFTER_EXECUTE).
/// @dev `make build`, then `forge script script/Deploy.s.sol --rpc-url $ETH_RPC_URL --broadcast --private-key ...`.
/// It deploys the release bytecode (out-release/, contracts/ compiled through the IR pipeline), the bytecode the
/// tests run and the Rust crates embed.
contract Deploy is Script {
    /// @notice The deterministic deployment proxy (present on anvil and most chains).
    address internal constant CREATE2_DEPLOYER = 0x4e59b44847b379578588920cA78FbF26c0B4956C;
    /// @notice The salt of every Keyward deployment.
    bytes32 internal constant SALT = keccak256("keyward.v1");
    /// @notice Where the PolicyHook salt search starts.
    bytes32 internal constant HOOK_SALT_BASE = keccak256("keyward.policy-hook.v1");
    /// @notice The PolicyHook's callback flags (low 5 address bits).
    uint160 internal constant POLICY_HOOK_FLAGS = 0x1e;

    /// @notice The release artifacts (`make build`).
    string internal constant KEYWARD_ARTIFACT = "out-release/Keyward.sol/Keyward.json";
    string internal constant POLICY_HOOK_ARTIFACT = "out-release/PolicyHook.sol/PolicyHook.json";

    error DeployerMissing();
    error DeploymentFailed();

    /// @notice Deploys (or finds) Keyward and the PolicyHook and prints their addresses.
    function run() external returns (address keyward, address policyHook) {
        keyward = deploy(SALT, keywardCode());
        policyHook = deploy(policyHookSalt(), policyHookCode());
        console.log("Keyward", keyward);
        console.log("PolicyHook", policyHook);
    }

    /// @notice Keyward's release creation code.
    function keywardCode() public view returns (bytes memory) {
        return vm.getCode(KEYWARD_ARTIFACT);
    }

    /// @notice The PolicyHook's release creation code.
    function policyHookCode() public view returns (bytes memory) {
        return vm.getCode(POLICY_HOOK_ARTIFACT);
    }

    /// @notice The CREATE2 address of `creationCode` under `SALT`.
    function predict(bytes memory creationCode) public pure returns (address) {
        return predict(SALT, creationCode);
    }

    /// @notice The CREATE2 address of `creationCode` under `salt`.
    function predict(bytes32 salt, bytes memory creationCode) public pure returns (address) {
        return address(
            uint160(uint256(keccak256(abi.encodePacked(bytes1(0xff), CREATE2_DEPLOYER, salt, keccak256(creationCode)))))
        );
    }

    /// @notice The first salt from `HOOK_SALT_BASE` whose PolicyHook address ends in its flags (about 32 tries).
    function policyHookSalt() public view returns (bytes32 salt) {
        bytes32 codeHash = keccak256(policyHookCode());
        for (uint256 i;; ++i) {
            salt = bytes32(uint256(HOOK_SALT_BASE) + i);
            address addr =
                address(uint160(uint256(keccak256(abi.encodePacked(bytes1(0xff), CREATE2_DEPLOYER, salt, codeHash)))));
            if (uint160(addr) & 0x1f == POLICY_HOOK_FLAGS) return salt;
        }
    }

    /// @notice Deploys `creationCode` under `salt` through the CREATE2 deployer unless it is already there.
    function deploy(bytes32 salt, bytes memory creationCode) public returns (address addr) {
        addr = predict(salt, creationCode);
        if (addr.code.length != 0) return addr;
        if (CREATE2_DEPLOYER.code.length == 0) revert DeployerMissing();
        vm.broadcast();
        (bool ok,) = CREATE2_DEPLOYER.call(abi.encodePacked(salt, creationCode));
        if (!ok || addr.code.length == 0) revert DeploymentFailed();
    }
}
