// SPDX-License-Identifier: MIT
pragma solidity 0.8.37;

import {IKeyward} from "../../interfaces/IKeyward.sol";
import {
    CallRule,
    Limits,
    NativePolicy,
    Policy,
    RuleState,
    SignatureMode,
    Spend,
    Stream,
    StreamPolicy,
    TokenPolicy,
    UsagePolicy
} from "../../interfaces/IPolicyHook.sol";
import {AllowanceLib} from "../libraries/AllowanceLib.sol";
import {RuleLib} from "../libraries/RuleLib.sol";
import {Caps} from "../types/Caps.sol";
import {PolicyHeader, PolicyHeaderLib} from "../types/PolicyHeader.sol";
import {SpendState} from "../types/SpendState.sol";
import {PolicyStorage} from "./PolicyStorage.sol";

/// @title PolicyViews
/// @notice Reads a key's policy (its current registration) for apps and tools. Runs in `PolicyHookExtension`, by
/// DELEGATECALL from the hook.
abstract contract PolicyViews is PolicyStorage {
    function _policyOf(address account, bytes32 keyHash) internal view returns (KeyPolicy storage) {
        return _policy(account, IKeyward(account).keyIdOf(keyHash));
    }

    /// @notice The whole policy of `account`'s key `keyHash` (see `IPolicyHook.getPolicy`).
    function getPolicy(address account, bytes32 keyHash) external view returns (Policy memory policy) {
        KeyPolicy storage p = _policyOf(account, keyHash);
        policy.active = isActive(account, keyHash);
        uint256 n = p.ruleIds.length;
        policy.rules = new CallRule[](n);
        for (uint256 i; i < n; ++i) {
            bytes32 id = p.ruleIds[i];
            (address target, bytes4 selector) = RuleLib.target(id);
            policy.rules[i] = CallRule(target, selector, p.rules[id].state, p.conditions[id]);
        }
        policy.native = _native(p);
        n = p.tokens.length;
        policy.tokens = new TokenPolicy[](n);
        for (uint256 i; i < n; ++i) {
            policy.tokens[i] = _token(p, p.tokens[i]);
        }
        policy.usage = _usage(p.header);
        policy.signatureMode = SignatureMode(p.header.signatureMode());
        policy.signatureDomains = p.domains;
        n = p.header.paymasterCount();
        policy.paymasters = new address[](n);
        for (uint256 i; i < n; ++i) {
            policy.paymasters[i] = p.paymasters[i];
        }
    }

    /// @notice The key's rules without their conditions (see `IPolicyHook.getCallRules`).
    function getCallRules(address account, bytes32 keyHash)
        external
        view
        returns (address[] memory targets, bytes4[] memory selectors, RuleState[] memory states)
    {
        KeyPolicy storage p = _policyOf(account, keyHash);
        uint256 n = p.ruleIds.length;
        targets = new address[](n);
        selectors = new bytes4[](n);
        states = new RuleState[](n);
        for (uint256 i; i < n; ++i) {
            bytes32 id = p.ruleIds[i];
            (targets[i], selectors[i]) = RuleLib.target(id);
            states[i] = p.rules[id].state;
        }
    }

    /// @notice The key's call caps and counts.
    function getUsage(address account, bytes32 keyHash) external view returns (UsagePolicy memory) {
        return _usage(_policyOf(account, keyHash).header);
    }

    /// @notice The key's caps and spending in `token` (zero limits when the token is not limited).
    function getToken(address account, bytes32 keyHash, address token) external view returns (TokenPolicy memory) {
        return _token(_policyOf(account, keyHash), token);
    }

    /// @notice The key's native value caps and spending.
    function getNative(address account, bytes32 keyHash) external view returns (NativePolicy memory) {
        return _native(_policyOf(account, keyHash));
    }

    /// @notice The stream of `asset` (0: native value) and what it may spend now (see `IPolicyHook.getStream`).
    function getStream(address account, bytes32 keyHash, address asset) external view returns (StreamPolicy memory s) {
        KeyPolicy storage p = _policyOf(account, keyHash);
        (Caps caps, SpendState spend) = asset == address(0)
            ? (p.nativeCaps, p.nativeSpend)
            : (p.tokenStates[asset].caps, p.tokenStates[asset].spend);
        if (!spend.isStream()) return s;
        if (asset == address(0) && !p.header.hasFlag(PolicyHeaderLib.NATIVE)) return s;
        s.streaming = true;
        s.stream = Stream(
            uint96(spend.initialAmount()),
            uint96(caps.amountPerSecond()),
            uint96(caps.maxAmount()),
            uint40(spend.windowStart())
        );
        s.spent = uint96(spend.total());
        s.available = AllowanceLib.available(caps, spend, block.timestamp);
    }

    /// @notice Whether `account`'s key `keyHash` is registered with settings that name this hook.
    /// @dev A low-level call: `try` does not catch the failed decoding of an empty answer (an address without code,
    /// a contract whose fallback answers nothing), and this view must answer false for those, not revert.
    function isActive(address account, bytes32 keyHash) public view returns (bool active) {
        bytes4 selector = IKeyward.getKeySettings.selector;
        assembly ("memory-safe") {
            mstore(0x00, selector)
            mstore(0x04, keyHash)
            let ok := staticcall(gas(), account, 0x00, 0x24, 0x00, 0x20)
            active := and(and(ok, gt(returndatasize(), 0x1f)), eq(and(mload(0x00), sub(shl(160, 1), 1)), address()))
        }
    }

    function _token(KeyPolicy storage p, address token) private view returns (TokenPolicy memory) {
        TokenState storage state = p.tokenStates[token];
        Caps caps = state.caps;
        SpendState spend = state.spend;
        return TokenPolicy(token, _limits(caps, spend), _spent(spend));
    }

    function _native(KeyPolicy storage p) private view returns (NativePolicy memory) {
        SpendState spend = p.nativeSpend;
        return NativePolicy(
            p.header.hasFlag(PolicyHeaderLib.NATIVE),
            uint128(p.nativePerCall),
            _limits(p.nativeCaps, spend),
            _spent(spend)
        );
    }

    function _usage(PolicyHeader h) private pure returns (UsagePolicy memory) {
        return UsagePolicy(
            uint32(h.maxCalls()),
            uint32(h.used()),
            uint32(h.maxPerPeriod()),
            uint32(h.inWindow()),
            uint40(h.period()),
            uint40(h.windowStart()),
            uint16(h.maxPerBatch())
        );
    }

    /// @dev Periodic caps as configured; a stream shows its maximum as the lifetime cap (its rate and initial amount
    /// are in `getStream`).
    function _limits(Caps c, SpendState s) private pure returns (Limits memory) {
        if (s.isStream()) return Limits(0, uint96(c.maxAmount()), 0);
        return Limits(uint96(c.perPeriod()), uint96(c.lifetime()), uint40(c.period()));
    }

    function _spent(SpendState s) private pure returns (Spend memory) {
        if (s.isStream()) return Spend(0, uint96(s.total()), uint40(s.windowStart()));
        return Spend(uint96(s.inWindow()), uint96(s.total()), uint40(s.windowStart()));
    }
}
