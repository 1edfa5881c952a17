// SPDX-License-Identifier: MIT
pragma solidity ^0.8.30;

import {Call, PackedUserOperation} from "../../contracts/interfaces/IKeyward.sol";
import {IPolicyHook} from "../../contracts/interfaces/IPolicyHook.sol";
import {PolicyHookTestBase} from "../utils/PolicyHookTestBase.sol";

interface IERC20Pull {
    function transferFrom(address from, address to, uint256 amount) external returns (bool);
}

/// @notice An ERC-20 paymaster as deployed in practice (Pimlico's ERC20 paymaster, Circle's USDC paymaster): it
/// pays the gas in ETH and, in postOp, takes the actual gas cost in tokens from the sender through the allowance
/// the user gave it once.
contract TokenPaymaster {
    address internal constant ENTRY_POINT = 0x4337084D9E255Ff0702461CF8895CE9E3b5Ff108;
    IERC20Pull public immutable token;
    /// @dev Token units per ETH (a 6-decimal stablecoin at 3,000 per ETH).
    uint256 public constant PRICE = 3000e6;

    constructor(IERC20Pull token_) {
        token = token_;
    }

    function validatePaymasterUserOp(PackedUserOperation calldata userOp, bytes32, uint256)
        external
        view
        returns (bytes memory context, uint256 validationData)
    {
        require(msg.sender == ENTRY_POINT, "entry point");
        return (abi.encode(userOp.sender), 0);
    }

    function postOp(uint8, bytes calldata context, uint256 actualGasCost, uint256) external {
        require(msg.sender == ENTRY_POINT, "entry point");
        address sender = abi.decode(context, (address));
        require(token.transferFrom(sender, address(this), actualGasCost * PRICE / 1e18), "pay");
    }

    function deposit() external payable {
        (bool ok,) = ENTRY_POINT.call{value: msg.value}(abi.encodeWithSignature("depositTo(address)", address(this)));
        require(ok);
    }
}

/// @notice Found in review (fixed): the PolicyHook's old default ("any paymaster") let a key choose a token paymaster
/// the owner had an allowance with. The key bundled its own operation with a huge preVerificationGas and fee: the
/// bundler (the key's holder) was paid the gas in ETH, and the paymaster took it back in the account's tokens, far
/// past the key's cap on that very token (issue 13 #1, gas is spend, through a paymaster). Now a PolicyHook key may
/// use no paymaster until the owner lists one (`setPaymasters`).
contract ReviewTokenPaymasterTest is PolicyHookTestBase {
    TokenPaymaster internal tpm;
    address internal constant ATTACKER = address(0xa77ac4e5);

    function setUp() public override {
        super.setUp();
        tpm = new TokenPaymaster(IERC20Pull(address(usdc)));
        vm.deal(address(this), 100 ether);
        tpm.deposit{value: 50 ether}();
        // The owner uses the token paymaster for its own operations: one max approval (as wallets do).
        rootExecute(one(address(usdc), 0, abi.encodeCall(usdc.approve, (address(tpm), type(uint256).max))));
        // The session key: may transfer at most 10 USDC in its lifetime, no native value, no gas from the account.
        allow(address(usdc), usdc.transfer.selector);
        tokenLimit(address(usdc), 0, 0, 10e6);
    }

    function test_tokenPaymaster_unlistedRefusedByDefault() public {
        uint256 usdcBefore = usdc.balanceOf(account);
        PackedUserOperation memory op = userOp(transferCall(R, 1e6));
        op.preVerificationGas = 5_000_000;
        op.gasFees = bytes32((uint256(1000 gwei) << 128) | 1000 gwei);
        op.paymasterAndData = abi.encodePacked(address(tpm), uint128(100_000), uint128(100_000));
        signUserOp(k, op);
        PackedUserOperation[] memory ops = new PackedUserOperation[](1);
        ops[0] = op;
        vm.prank(ATTACKER, ATTACKER);
        (bool ok, bytes memory err) =
            address(entryPoint).call(abi.encodeCall(entryPoint.handleOps, (ops, payable(ATTACKER))));
        // Refused in validation: the token paymaster is not one the key may use (none is, until listed).
        assertFalse(ok);
        assertEq(
            err,
            abi.encodeWithSignature(
                "FailedOpWithRevert(uint256,string,bytes)",
                0,
                "AA23 reverted",
                abi.encodeWithSelector(IPolicyHook.PaymasterNotAllowed.selector, address(tpm))
            )
        );

        uint256 taken = usdcBefore - usdc.balanceOf(account);
        emit log_named_decimal_uint("USDC taken from the account", taken, 6);
        emit log_named_decimal_uint("ETH paid to the key's bundler", ATTACKER.balance, 18);
        assertLe(taken, 10e6, "the key made the account pay more USDC than its lifetime cap");
    }

    /// @dev Listing another paymaster does not admit the token paymaster either.
    function test_tokenPaymaster_listingAnotherDoesNotAdmitIt() public {
        address[] memory pms = new address[](1);
        pms[0] = address(sponsor);
        cfg(abi.encodeCall(IPolicyHook.setPaymasters, (k.keyHash, pms)));
        PackedUserOperation memory op = userOp(transferCall(R, 1e6));
        op.paymasterAndData = abi.encodePacked(address(tpm), uint128(100_000), uint128(100_000));
        signUserOp(k, op);
        (bool ok,) = handleOutcome(op);
        assertFalse(ok);
    }
}
