// SPDX-License-Identifier: MIT
pragma solidity ^0.8.30;

import {Test, Vm} from "forge-std/Test.sol";

/// @notice The tests deploy the release bytecode (out-release/, `make build`): it must exist and be newer than every
/// contract source, or the suite would test bytecode that no longer matches the code.
contract ReleaseArtifactsTest is Test {
    string[4] internal artifacts = [
        "out-release/Keyward.sol/Keyward.json",
        "out-release/KeywardExtension.sol/KeywardExtension.json",
        "out-release/PolicyHook.sol/PolicyHook.json",
        "out-release/PolicyHookExtension.sol/PolicyHookExtension.json"
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
        }
        // forge rewrites its cache on every release build that compiles anything (an artifact whose contract did not
        // change keeps its old file): the cache is at least as new as the newest source after `make release`.
        string memory cache = "cache-release/solidity-files-cache.json";
        assertTrue(vm.exists(cache), "no release build: run `make build`");
        assertGe(
            vm.fsMetadata(cache).modified,
            newestSource,
            "the release build is older than the contracts: run `make build`"
        );
    }

    function test_release_isTheIRPipeline() public view {
        string memory json = vm.readFile("out-release/Keyward.sol/Keyward.json");
        assertTrue(vm.parseJsonBool(json, ".metadata.settings.viaIR"), "release artifacts come from the IR pipeline");
    }
}
