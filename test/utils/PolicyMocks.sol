// SPDX-License-Identifier: MIT
pragma solidity ^0.8.30;

import {IKeyward} from "../../contracts/interfaces/IKeyward.sol";

interface IERC20Like {
    function transferFrom(address from, address to, uint256 amount) external returns (bool);
}

/// @notice A Permit2-like allowance manager for tests, deployed at the canonical Permit2 address. It implements
/// what the PolicyHook tests need with Permit2's selectors: `approve` and the single `transferFrom` (which pulls
/// through the owner's ERC-20 allowance to this contract, so calls really move tokens), `lockdown` and the two
/// nonce invalidations (no-ops that count). Every other call lands in the fallback and is counted in `unexpected`:
/// a call the hook should have refused that reaches the mock shows up there.
contract MockPermit2 {
    struct TokenSpenderPair {
        address token;
        address spender;
    }

    mapping(address owner => mapping(address token => mapping(address spender => uint160))) public allowance;
    uint256 public lockdowns;
    uint256 public invalidations;
    uint256 public unexpected;

    error InsufficientAllowance(uint256 amount);

    /// @notice Permit2 `approve(address,address,uint160,uint48)` (0x87517c45).
    function approve(address token, address spender, uint160 amount, uint48) external {
        allowance[msg.sender][token][spender] = amount;
    }

    /// @notice Permit2 `transferFrom(address,address,uint160,address)` (0x36c78516): spends the caller's allowance
    /// from `from`, then moves `token` with the ERC-20 allowance `from` gave this contract.
    function transferFrom(address from, address to, uint160 amount, address token) external {
        uint160 allowed = allowance[from][token][msg.sender];
        if (allowed < amount) revert InsufficientAllowance(allowed);
        if (allowed != type(uint160).max) allowance[from][token][msg.sender] = allowed - amount;
        require(IERC20Like(token).transferFrom(from, to, amount), "transferFrom");
    }

    /// @notice Permit2 `lockdown((address,address)[])` (0xcc53287f): only takes allowances away.
    function lockdown(TokenSpenderPair[] calldata pairs) external {
        for (uint256 i; i < pairs.length; ++i) {
            allowance[msg.sender][pairs[i].token][pairs[i].spender] = 0;
        }
        ++lockdowns;
    }

    /// @notice Permit2 `invalidateNonces(address,address,uint48)` (0x65d9723c).
    function invalidateNonces(address, address, uint48) external {
        ++invalidations;
    }

    /// @notice Permit2 `invalidateUnorderedNonces(uint256,uint256)` (0x3ff9dcb1).
    function invalidateUnorderedNonces(uint256, uint256) external {
        ++invalidations;
    }

    fallback() external payable {
        ++unexpected;
    }
}

/// @notice An ERC20ETH-like token for tests (written for these tests, behaving like Uniswap's ERC20ETH where the
/// PolicyHook cares): balances are native balances; moving value pulls it out of the owner with ERC-7914
/// `transferFromNative(owner, address(this), amount)` (so the owner must have approved this contract natively)
/// and forwards it. `transferFrom` by someone other than the owner also needs an ERC-20 allowance from the owner.
contract MockERC20ETH {
    mapping(address owner => mapping(address spender => uint256)) public allowance;

    error InsufficientAllowance(uint256 allowance);
    error ForwardFailed();

    function balanceOf(address owner) external view returns (uint256) {
        return owner.balance;
    }

    function transfer(address to, uint256 amount) external returns (bool) {
        _move(msg.sender, to, amount);
        return true;
    }

    function transferFrom(address from, address to, uint256 amount) external returns (bool) {
        if (from != msg.sender) {
            uint256 allowed = allowance[from][msg.sender];
            if (allowed < amount) revert InsufficientAllowance(allowed);
            if (allowed != type(uint256).max) allowance[from][msg.sender] = allowed - amount;
        }
        _move(from, to, amount);
        return true;
    }

    function approve(address spender, uint256 amount) external returns (bool) {
        allowance[msg.sender][spender] = amount;
        return true;
    }

    function increaseAllowance(address spender, uint256 added) external returns (bool) {
        allowance[msg.sender][spender] += added;
        return true;
    }

    function _move(address from, address to, uint256 amount) private {
        IKeyward(from).transferFromNative(from, address(this), amount);
        (bool ok,) = to.call{value: amount}("");
        if (!ok) revert ForwardFailed();
    }

    receive() external payable {}
}

/// @notice Records every call it gets, whatever its data (a contract whose selector-0x00000000 function, like
/// Seaport's `fulfillBasicOrder_efficient_6GL6yc`, would run on such calls).
contract RecordingTarget {
    uint256 public calls;
    bytes public lastData;
    uint256 public lastValue;

    fallback() external payable {
        ++calls;
        lastData = msg.data;
        lastValue = msg.value;
    }
}

/// @notice A token that masks its address arguments instead of rejecting dirty high bits (as tokens compiled
/// before ABI coder v2 validation, or written in assembly, do): `transfer(to | dirt << 160, amount)` pays `to`.
contract MaskingToken {
    mapping(address => uint256) public balanceOf;

    function mint(address to, uint256 amount) external {
        balanceOf[to] += amount;
    }

    fallback(bytes calldata data) external returns (bytes memory) {
        require(data.length >= 68 && bytes4(data[0:4]) == 0xa9059cbb, "transfer only");
        (uint256 toWord, uint256 amount) = abi.decode(data[4:], (uint256, uint256));
        address to = address(uint160(toWord));
        balanceOf[msg.sender] -= amount;
        balanceOf[to] += amount;
        return abi.encode(true);
    }
}

/// @notice A plain ERC-20 with `increaseAllowance` (Solady's and OpenZeppelin 5's tokens have none), for the
/// counted-selector tests. `transferFrom` always needs an allowance, also from the owner itself (as OpenZeppelin).
contract AllowanceToken {
    mapping(address => uint256) public balanceOf;
    mapping(address owner => mapping(address spender => uint256)) public allowance;

    function mint(address to, uint256 amount) external {
        balanceOf[to] += amount;
    }

    function transfer(address to, uint256 amount) external returns (bool) {
        _move(msg.sender, to, amount);
        return true;
    }

    function transferFrom(address from, address to, uint256 amount) external returns (bool) {
        uint256 allowed = allowance[from][msg.sender];
        require(allowed >= amount, "allowance");
        if (allowed != type(uint256).max) allowance[from][msg.sender] = allowed - amount;
        _move(from, to, amount);
        return true;
    }

    function approve(address spender, uint256 amount) external returns (bool) {
        allowance[msg.sender][spender] = amount;
        return true;
    }

    function increaseAllowance(address spender, uint256 added) external returns (bool) {
        allowance[msg.sender][spender] += added;
        return true;
    }

    function _move(address from, address to, uint256 amount) private {
        require(balanceOf[from] >= amount, "balance");
        balanceOf[from] -= amount;
        balanceOf[to] += amount;
    }
}

/// @notice Refuses native value (no receive or fallback): native transfers to it fail.
contract Rejecter {}
