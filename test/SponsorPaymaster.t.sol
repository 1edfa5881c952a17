// SPDX-License-Identifier: MIT
pragma solidity ^0.8.30;

import {PackedUserOperation} from "../contracts/interfaces/IKeyward.sol";
import {KeywardTestBase, TestKey} from "./utils/KeywardTestBase.sol";
import {SponsorPaymaster} from "./utils/SponsorPaymaster.sol";

contract SponsorPaymasterTest is KeywardTestBase {
    function test_paymaster_sponsorsAndLeavesAccountEthUntouched() public {
        SponsorPaymaster pm = new SponsorPaymaster();
        pm.deposit{value: 1 ether}();
        TestKey memory k = secp256k1Key("k");
        grant(k, 0);
        PackedUserOperation memory op = userOp(one(address(0xbeef99), 0, ""));
        op.gasFees = bytes32((uint256(1 gwei) << 128) | 1 gwei);
        op.paymasterAndData = abi.encodePacked(address(pm), uint128(100_000), uint128(0));
        signUserOp(k, op);
        uint256 before = account.balance;
        handle(op);
        assertEq(account.balance, before, "the account paid nothing");
        assertLt(entryPoint.balanceOf(address(pm)), 1 ether, "the paymaster paid");
    }
}
