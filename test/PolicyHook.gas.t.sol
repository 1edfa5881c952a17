// SPDX-License-Identifier: MIT
pragma solidity ^0.8.30;

import {Call, PackedUserOperation} from "../contracts/interfaces/IKeyward.sol";
import {IPolicyHook, Limits, Stream} from "../contracts/interfaces/IPolicyHook.sol";
import {KeywardTestBase, TestKey} from "./utils/KeywardTestBase.sol";
import {MockERC20} from "./utils/MockERC20.sol";

/// @notice PolicyHook gas, same method and groups as `Keyward.gas.t.sol`: a session key with a target+selector
/// allowlist, a daily ERC-20 limit and a call cap, against the same ERC-20 transfer by the root key.
contract PolicyHookGasTest is KeywardTestBase {
    IPolicyHook internal hook;
    MockERC20 internal token;
    TestKey internal k;
    address internal constant RECIPIENT = address(0xbeef01);
    string internal group = vm.envOr("GAS_GROUP", string("Keyward"));

    function setUp() public override {
        super.setUp();
        hook = deployPolicyHook();
        token = new MockERC20();
        token.mint(account, 1000 ether);
        token.mint(RECIPIENT, 1 ether);
        k = secp256k1Key("session");
    }

    function _typicalPolicy() internal view returns (Call[] memory) {
        return tokenSpendingKey(hook, k, address(token), Limits(100 ether, 0, 1 days), 1000);
    }

    /// @dev The typical policy with a token stream instead of the daily limit: 100 tokens at once, then about one a
    /// minute, at most 1,000.
    function _streamPolicy() internal view returns (Call[] memory calls) {
        calls = _typicalPolicy();
        calls[2].data = abi.encodeCall(
            IPolicyHook.setTokenStream,
            (k.keyHash, address(token), Stream(100 ether, uint96(1 ether) / 60, 1000 ether, 0))
        );
    }

    function _transfer(uint256 amount) internal view returns (Call[] memory) {
        return one(address(token), 0, abi.encodeCall(token.transfer, (RECIPIENT, amount)));
    }

    function _cool() internal {
        // The extension's address without calling the implementation (a call would warm it again).
        vm.cool(vm.computeCreateAddress(address(implementation), 1));
        vm.cool(account);
        vm.cool(address(implementation));
        vm.cool(address(sponsor));
        vm.cool(address(token));
        vm.cool(address(hook));
        vm.cool(RECIPIENT);
        vm.cool(ENTRY_POINT);
        vm.cool(address(0xbeef));
    }

    function test_gas_policy_grantWithTypicalPolicy() public {
        bytes memory data = abi.encode(_typicalPolicy());
        _cool();
        vm.prank(account);
        vm.startSnapshotGas(group, "policy_grantWithTypicalPolicy");
        acct.execute(MODE_REVERT, data);
        vm.stopSnapshotGas();
        assertEq(hook.getUsage(account, k.keyHash).maxCalls, 1000);
    }

    function test_gas_policy_guardedTransfer_direct() public {
        rootExecute(_typicalPolicy());
        vm.prank(k.signer);
        acct.execute(MODE_REVERT, abi.encode(_transfer(1 ether))); // steady state: the day's first spend is done
        bytes memory data = abi.encode(_transfer(1 ether));
        _cool();
        vm.prank(k.signer);
        vm.startSnapshotGas(group, "policy_guardedTransfer_direct");
        acct.execute(MODE_REVERT, data);
        vm.stopSnapshotGas();
        assertEq(token.balanceOf(RECIPIENT), 3 ether);
    }

    /// @dev The same transfer as `policy_guardedTransfer_direct` under a token stream.
    function test_gas_policy_streamTransfer_direct() public {
        rootExecute(_streamPolicy());
        assertEq(_guardedDirect("policy_streamTransfer_direct"), 3 ether);
    }

    /// @dev Issue 15: the stream costs no more than the periodic cap on the hot path (same transfer, same steady
    /// state: the first spend done, a minute later).
    function test_gas_policy_streamCostsNoMoreThanPeriodic() public {
        uint256 snap = vm.snapshotState();
        rootExecute(_typicalPolicy());
        uint256 periodic = _measureDirect();
        vm.revertToState(snap);
        rootExecute(_streamPolicy());
        uint256 stream = _measureDirect();
        emit log_named_uint("periodic cap, direct transfer", periodic);
        emit log_named_uint("stream, direct transfer", stream);
        assertLe(stream, periodic, "the stream costs no more than the periodic cap");
    }

    function _measureDirect() internal returns (uint256 used) {
        vm.prank(k.signer);
        acct.execute(MODE_REVERT, abi.encode(_transfer(1 ether)));
        vm.warp(block.timestamp + 60);
        bytes memory data = abi.encode(_transfer(1 ether));
        _cool();
        vm.prank(k.signer);
        uint256 g = gasleft();
        acct.execute(MODE_REVERT, data);
        used = g - gasleft();
    }

    function _guardedDirect(string memory name) internal returns (uint256) {
        vm.prank(k.signer);
        acct.execute(MODE_REVERT, abi.encode(_transfer(1 ether)));
        vm.warp(block.timestamp + 60);
        bytes memory data = abi.encode(_transfer(1 ether));
        _cool();
        vm.prank(k.signer);
        vm.startSnapshotGas(group, name);
        acct.execute(MODE_REVERT, data);
        vm.stopSnapshotGas();
        return token.balanceOf(RECIPIENT);
    }

    function test_gas_policy_rejectedTransfer_direct() public {
        rootExecute(_typicalPolicy());
        vm.prank(k.signer);
        acct.execute(MODE_REVERT, abi.encode(_transfer(100 ether)));
        bytes memory data = abi.encodeWithSignature("execute(bytes32,bytes)", MODE_REVERT, abi.encode(_transfer(1)));
        _cool();
        vm.prank(k.signer);
        vm.startSnapshotGas(group, "policy_rejectedTransfer_direct");
        (bool ok,) = account.call(data);
        vm.stopSnapshotGas();
        assertFalse(ok, "over the daily limit");
    }

    /// @dev Both sides sponsored by the same paymaster (a PolicyHook key does not make the account pay gas unless
    /// it has a gas budget), so the ratio compares like with like.
    function _handleOps(string memory name, TestKey memory signer) internal {
        PackedUserOperation memory warm = sponsored(userOp(_transfer(1 ether)));
        signUserOp(signer, warm);
        handle(warm);
        PackedUserOperation memory op = sponsored(userOp(_transfer(1 ether)));
        signUserOp(signer, op);
        PackedUserOperation[] memory ops = new PackedUserOperation[](1);
        ops[0] = op;
        _cool();
        vm.startSnapshotGas(group, name);
        entryPoint.handleOps(ops, payable(address(0xbeef)));
        vm.stopSnapshotGas();
        assertEq(token.balanceOf(RECIPIENT), 3 ether);
    }

    function test_gas_policy_guardedTransfer_handleOps() public {
        rootExecute(_typicalPolicy());
        _handleOps("policy_guardedTransfer_handleOps", k);
    }

    function test_gas_policy_streamTransfer_handleOps() public {
        rootExecute(_streamPolicy());
        _handleOps("policy_streamTransfer_handleOps", k);
    }

    /// @dev The baseline of the ratio goal, measured in this same file and setup.
    function test_gas_policy_rootTransfer_handleOps() public {
        _handleOps("policy_rootTransfer_handleOps", rootTestKey());
    }
}
