// SPDX-License-Identifier: MIT
pragma solidity ^0.8.30;

import {Test, Vm} from "forge-std/Test.sol";

/// @notice The tests deploy the release bytecode (out-release/, `make build`): it must exist and be newer than every
/// contract source, or the suite would test bytecode that no longer matches the code.
contract ReleaseArtifactsTest is Test {
    string[3] internal artifacts = [
        "out-release/Keyward.sol/Keyward.json",
        "out-release/KeywardExtension.sol/KeywardExtension.json",
        "out-release/PolicyHook.sol/PolicyHook.json"
    ];

    function test_release_artifactsAreFresh() public view {
        uint256 newestSource;
        Vm.DirEntry[] memory entries = vm.readDir("contracts", 4);
        for (uint256 i; i < entries.length; ++i) {
            if (entries[i].isDir) continue;
            uint256 modified = vm.fsMetadata(entries[i].path).modified;
            if (modified > newestSource) newestSource = modified;
        }
        assertGt(newestSource, 0, "no contract sources found");
        for (uint256 i; i < artifacts.length; ++i) {
            assertTrue(vm.exists(artifacts[i]), string.concat(artifacts[i], " is missing: run `make build`"));
            assertGe(
                vm.fsMetadata(artifacts[i]).modified,
                newestSource,
                string.concat(artifacts[i], " is older than the contracts: run `make build`")
            );
        }
    }

    function test_release_isTheIRPipeline() public view {
        string memory json = vm.readFile("out-release/Keyward.sol/Keyward.json");
        assertTrue(vm.parseJsonBool(json, ".metadata.settings.viaIR"), "release artifacts come from the IR pipeline");
    }
}
