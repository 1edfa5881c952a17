// SPDX-License-Identifier: MIT
pragma solidity ^0.8.30;

import {IKeyward} from "../contracts/interfaces/IKeyward.sol";
import {Deploy} from "../script/Deploy.s.sol";
import {Test} from "forge-std/Test.sol";

contract DeployTest is Test {
    /// @dev The deterministic deployment proxy's runtime code (as on anvil and mainnet).
    bytes internal constant PROXY_CODE =
        hex"7fffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffe03601600081602082378035828234f58015156039578182fd5b8082525050506014600cf3";

    function test_deploy_isDeterministicAndIdempotent() public {
        vm.etch(0x4e59b44847b379578588920cA78FbF26c0B4956C, PROXY_CODE);
        Deploy script = new Deploy();
        address predicted = script.predict(script.keywardCode());
        (address first, address hook) = script.run();
        assertEq(first, predicted);
        // Calibur's flags: AFTER_VALIDATE_USER_OP | AFTER_IS_VALID_SIGNATURE | BEFORE_EXECUTE | AFTER_EXECUTE.
        assertEq(uint160(hook) & 0x1f, 0x1e, "hook address carries the PolicyHook's flags (0x1e)");
        assertGt(hook.code.length, 0);
        assertGt(first.code.length, 0);
        // The release bytecode (out-release/), as the tests and the Rust crates deploy it.
        assertEq(keccak256(script.keywardCode()), keccak256(vm.getCode("out-release/Keyward.sol/Keyward.json")));
        (,,,,, bytes32 salt,) = IKeyward(first).eip712Domain();
        assertEq(salt, bytes32(uint256(uint160(first))), "implementation address baked into the EIP-712 salt");
        uint256 nonceBefore = vm.getNonce(address(script));
        (address second, address hook2) = script.run();
        assertEq(second, first);
        assertEq(hook2, hook);
        assertEq(vm.getNonce(address(script)), nonceBefore);
    }

    function test_deploy_withoutDeployer_reverts() public {
        vm.etch(0x4e59b44847b379578588920cA78FbF26c0B4956C, "");
        Deploy script = new Deploy();
        vm.expectRevert(Deploy.DeployerMissing.selector);
        script.run();
    }
}
