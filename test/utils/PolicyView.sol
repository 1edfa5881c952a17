// SPDX-License-Identifier: MIT
pragma solidity ^0.8.30;

import {IPolicyHook} from "../../contracts/interfaces/IPolicyHook.sol";

/// @notice Reads `IPolicyHook.getPolicy` from its returned bytes. Decoding `Policy` (or its `CallRule[]` and
/// `TokenPolicy[]`) with `abi.decode` is too deep for the legacy code generator, so this walks the ABI encoding.
/// @dev Head word indices of `Policy`: active 0, rules 1, native 2-9 (enabled 2, perCall 3, limits 4-6, spend
/// 7-9), tokens 10, usage 11-17 (maxPerBatch 17), signatureMode 18, signatureDomains 19, paymasters 20.
library PolicyView {
    uint256 internal constant ACTIVE = 0;
    uint256 internal constant RULES = 1;
    uint256 internal constant NATIVE_ENABLED = 2;
    uint256 internal constant TOKENS = 10;
    uint256 internal constant MAX_PER_BATCH = 17;
    uint256 internal constant SIGNATURE_MODE = 18;
    uint256 internal constant DOMAINS = 19;
    uint256 internal constant PAYMASTERS = 20;

    /// @dev Where the struct starts in the returned data (after the outer offset word).
    uint256 private constant S = 0x20;

    function read(address hook, address account, bytes32 keyHash) internal view returns (bytes memory raw) {
        bool ok;
        (ok, raw) = hook.staticcall(abi.encodeCall(IPolicyHook.getPolicy, (account, keyHash)));
        require(ok, "getPolicy reverted");
    }

    /// @dev The word at byte `pos` of the returned data.
    function _at(bytes memory raw, uint256 pos) private pure returns (uint256 w) {
        require(pos + 32 <= raw.length, "PolicyView: out of range");
        assembly ("memory-safe") {
            w := mload(add(add(raw, 0x20), pos))
        }
    }

    /// @dev Where the dynamic field at head word `i` starts (its length word).
    function _field(bytes memory raw, uint256 i) private pure returns (uint256) {
        return S + _at(raw, S + 32 * i);
    }

    /// @dev Head word `i` of the struct.
    function word(bytes memory raw, uint256 i) internal pure returns (uint256) {
        return _at(raw, S + 32 * i);
    }

    function active(bytes memory raw) internal pure returns (bool) {
        return word(raw, ACTIVE) != 0;
    }

    /// @dev The length of the array at head word `i` (rules, tokens, domains, paymasters).
    function length(bytes memory raw, uint256 i) internal pure returns (uint256) {
        return _at(raw, _field(raw, i));
    }

    /// @dev Element `j` of a one-word-element array (domains, paymasters).
    function element(bytes memory raw, uint256 i, uint256 j) internal pure returns (uint256) {
        return _at(raw, _field(raw, i) + 32 + 32 * j);
    }

    /// @dev Rule `j`: target, selector, state and how many conditions it has.
    function rule(bytes memory raw, uint256 j)
        internal
        pure
        returns (address target, bytes4 selector, uint8 state, uint256 conditionCount)
    {
        uint256 t = _rule(raw, j);
        target = address(uint160(_at(raw, t)));
        selector = bytes4(bytes32(_at(raw, t + 32)));
        state = uint8(_at(raw, t + 64));
        conditionCount = _at(raw, t + _at(raw, t + 96));
    }

    /// @dev How many values condition `c` of rule `j` has.
    function conditionValueCount(bytes memory raw, uint256 j, uint256 c) internal pure returns (uint256) {
        uint256 t = _rule(raw, j);
        uint256 conditions = t + _at(raw, t + 96) + 32;
        uint256 ct = conditions + _at(raw, conditions + 32 * c);
        return _at(raw, ct + _at(raw, ct + 96));
    }

    function _rule(bytes memory raw, uint256 j) private pure returns (uint256) {
        uint256 elements = _field(raw, RULES) + 32;
        return elements + _at(raw, elements + 32 * j);
    }

    /// @dev Token `j` (a static struct of 7 words: token, perPeriod, lifetime, period, inWindow, total, start).
    function tokenWord(bytes memory raw, uint256 j, uint256 w) internal pure returns (uint256) {
        return _at(raw, _field(raw, TOKENS) + 32 + 7 * 32 * j + 32 * w);
    }
}
