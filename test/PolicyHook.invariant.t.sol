// SPDX-License-Identifier: MIT
pragma solidity ^0.8.30;

import {Keyward} from "../contracts/Keyward.sol";
import {Call, IKeyward} from "../contracts/interfaces/IKeyward.sol";
import {IPolicyHook, Limits, RuleState} from "../contracts/interfaces/IPolicyHook.sol";
import {IEntryPointV8, KeywardTestBase, TestKey} from "./utils/KeywardTestBase.sol";
import {MockERC20} from "./utils/MockERC20.sol";
import {Target} from "./utils/MockHook.sol";
import {Path, PolicyHookTestBase} from "./utils/PolicyHookTestBase.sol";
import {AllowanceToken, MockERC20ETH, MockPermit2, Rejecter} from "./utils/PolicyMocks.sol";
import {SponsorPaymaster} from "./utils/SponsorPaymaster.sol";

/// @notice Shared setup of the fuzz test: a session key allowed to transfer one token, capped per period and in
/// total.
abstract contract SpendSetup is KeywardTestBase {
    IPolicyHook internal hook;
    MockERC20 internal token;
    TestKey internal k;
    address internal constant R = address(0xa11ce);
    uint96 internal constant PER_PERIOD = 1000;
    uint96 internal constant LIFETIME = 3500;
    uint40 internal constant PERIOD = 3600;
    uint256 internal t0;

    function _setUpSpend() internal {
        hook = deployPolicyHook();
        token = new MockERC20();
        token.mint(account, 1e30);
        k = secp256k1Key("session");
        t0 = block.timestamp;
        rootExecute(tokenSpendingKey(hook, k, address(token), Limits(PER_PERIOD, LIFETIME, PERIOD), 0));
    }

    /// @dev The key sends `amounts` in one batch; true when it went through.
    function _send(uint256[] memory amounts, bool continueOnFailure) internal returns (bool ok) {
        Call[] memory calls = new Call[](amounts.length);
        for (uint256 i; i < amounts.length; ++i) {
            calls[i] = Call(address(token), 0, abi.encodeCall(token.transfer, (R, amounts[i])));
        }
        vm.prank(k.signer);
        (ok,) = account.call(
            abi.encodeWithSignature(
                "execute(bytes32,bytes)", continueOnFailure ? MODE_CONTINUE : MODE_REVERT, abi.encode(calls)
            )
        );
    }
}

/// @notice Fuzzes the spend accounting against a simple model.
contract PolicyHookSpendFuzzTest is SpendSetup {
    function setUp() public override {
        super.setUp();
        _setUpSpend();
    }

    function testFuzz_spend_matchesModel(uint16[12] memory amounts, uint16[12] memory gaps) public {
        uint256 total;
        uint256 window;
        uint256 inWindow;
        for (uint256 i; i < 12; ++i) {
            vm.warp(block.timestamp + (gaps[i] % 2000));
            uint256 w = (block.timestamp - t0) / PERIOD;
            if (w != window) (window, inWindow) = (w, 0);
            uint256 amount = amounts[i] % 1200;
            bool expected = inWindow + amount <= PER_PERIOD && total + amount <= LIFETIME;
            uint256[] memory one_ = new uint256[](1);
            one_[0] = amount;
            assertEq(_send(one_, false), expected, "hook and model disagree");
            if (expected) (inWindow, total) = (inWindow + amount, total + amount);
        }
        assertEq(token.balanceOf(R), total);
        assertEq(hook.getToken(account, k.keyHash, address(token)).spend.total, total);
    }
}

/// @notice What the invariant suite's policy allows and caps (assets: 0 native, 1 token A, 2 token B).
abstract contract PolicyCaps {
    uint128 internal constant NATIVE_PER_CALL = 0.4 ether;
    uint256 internal constant NATIVE = 0;
    uint256 internal constant TOKEN_A = 1;
    uint256 internal constant TOKEN_B = 2;
    uint256 internal constant ASSETS = 3;
    uint32 internal constant MAX_CALLS = 20;
    uint32 internal constant MAX_PER_PERIOD = 10;
    uint40 internal constant CALL_PERIOD = 4 hours;
    uint16 internal constant MAX_PER_BATCH = 4;
    /// @dev Kinds of call the handler makes (see `PolicyHandler._plan`).
    uint256 internal constant KINDS = 15;

    function _limits(uint256 asset) internal pure returns (Limits memory) {
        if (asset == NATIVE) return Limits(1 ether, 2 ether, 1 hours);
        if (asset == TOKEN_A) return Limits(1000e6, 1500e6, 1 days);
        return Limits(300, 600, 2 hours);
    }

    /// @dev The largest amount the handler tries in one call of each asset (past the per-call and period caps).
    function _maxAmount(uint256 asset) internal pure returns (uint256) {
        if (asset == NATIVE) return 0.45 ether;
        if (asset == TOKEN_A) return 600e6;
        return 200;
    }
}

/// @notice The deployed pieces the handler drives.
struct Fixture {
    IKeyward acct;
    address payable account;
    uint256 rootKey;
    IEntryPointV8 entryPoint;
    SponsorPaymaster sponsor;
    IPolicyHook hook;
    AllowanceToken tokenA;
    AllowanceToken tokenB;
    MockPermit2 permit2;
    MockERC20ETH eth20;
    Target target;
    Rejecter rejecter;
    TestKey k;
    uint256 t0;
}

/// @notice Drives the session key through every counted selector (ERC-20 transfer, transferFrom(account, ..),
/// approve, increaseAllowance; Permit2 approve and transferFrom; the ERC20ETH routes; plain value; value with a
/// call), both assets (native and two tokens) and every path (ERC-7821 and Calibur direct execute, relayed,
/// sponsored ERC-4337), in reverting and continue-on-failure batches with calls that fail after being charged,
/// batches past the per-batch cap, spenders pulling what was approved, and time jumps across every cap's windows.
/// It observes what each call really did (fresh recipients and spenders, balances and allowances) and keeps the
/// books a correct hook would keep.
contract PolicyHandler is PolicyHookTestBase, PolicyCaps {
    struct Planned {
        uint256 kind;
        uint256 asset; // NATIVE, TOKEN_A, TOKEN_B, or ASSETS for none
        uint256 amount;
        address who; // recipient or spender
        bool mustFail;
    }

    struct Approval {
        uint256 kind;
        uint256 asset;
        address spender;
    }

    AllowanceToken internal tokenA;
    AllowanceToken internal tokenB;
    MockPermit2 internal permit2;
    MockERC20ETH internal eth20;
    Rejecter internal rejecter;
    uint256 internal t0;
    uint256 internal fresh;
    Approval[] internal approvals;

    // The books a correct hook keeps, from what the calls really did.
    uint256[ASSETS] public booked;
    mapping(uint256 asset => mapping(uint256 window => uint256)) public bookedIn;
    uint256[ASSETS] public maxWindow;
    uint256[ASSETS] public movedByKey; // measured: the account's balance drop during the key's batches
    uint256[ASSETS] public movedModel; // observed at the recipients
    uint256[ASSETS] public approvedByKey; // observed allowances
    uint256[ASSETS] public pulled; // measured: the account's balance drop during spenders' pulls
    uint256 public callsMade;
    uint256 internal callsStart; // when the call caps were (re)set: their windows start there
    uint256 internal callsGeneration;
    mapping(uint256 generation => mapping(uint256 window => uint256)) internal callsInGen;
    uint256 public maxCallWindow;

    uint256 public violations;
    string public lastViolation;

    // Coverage.
    uint256[KINDS] public kindHits;
    uint256[4] public pathHits; // successful batches per path
    uint256 public continueBatches;
    uint256 public refunds; // charged calls that failed in a batch that went on
    uint256 public refusedBatches;
    uint256 public overBatchRefusals;
    mapping(bytes4 error => mapping(uint256 kind => uint256)) public capRefusals; // by error and cap kind
    uint256 public pulls;
    uint256 public warps;

    constructor(Fixture memory f) {
        acct = f.acct;
        account = f.account;
        rootKey = f.rootKey;
        entryPoint = f.entryPoint;
        sponsor = f.sponsor;
        hook = f.hook;
        tokenA = f.tokenA;
        tokenB = f.tokenB;
        permit2 = f.permit2;
        eth20 = f.eth20;
        target = f.target;
        rejecter = f.rejecter;
        k = f.k;
        t0 = f.t0;
        callsStart = f.t0;
    }

    function callsIn(uint256 window) public view returns (uint256) {
        return callsInGen[callsGeneration][window];
    }

    function _violation(string memory what) internal {
        ++violations;
        lastViolation = what;
    }

    function _window(uint256 asset) internal view returns (uint256) {
        return (block.timestamp - t0) / _limits(asset).period;
    }

    function _balance(uint256 asset, address who) internal view returns (uint256) {
        if (asset == NATIVE) return who.balance;
        return _token(asset).balanceOf(who);
    }

    function _token(uint256 asset) internal view returns (AllowanceToken) {
        return asset == TOKEN_A ? tokenA : tokenB;
    }

    function _balances() internal view returns (uint256[ASSETS] memory b) {
        for (uint256 a; a < ASSETS; ++a) {
            b[a] = _balance(a, account);
        }
    }

    function _fresh() internal returns (address) {
        return address(uint160(uint256(keccak256(abi.encode("policy handler", ++fresh)))));
    }

    // ------------------------------------------------------------------------------------------------------------
    // Actions
    // ------------------------------------------------------------------------------------------------------------

    /// @notice A batch of 1 to 5 calls of random kinds (up to one past the per-batch cap) on a random path.
    function batch(uint8 pathSel, bool continueOnFailure, uint8 n, uint256 seed) external {
        uint256[] memory kinds = new uint256[](1 + n % (MAX_PER_BATCH + 1));
        for (uint256 i; i < kinds.length; ++i) {
            kinds[i] = uint256(keccak256(abi.encode(seed, i, "kind"))) % KINDS;
        }
        batchOf(Path(pathSel % 4), continueOnFailure, kinds, seed, false);
    }

    /// @notice A batch of the given kinds; `small` keeps amounts tiny (scripted tests stay under the caps).
    function batchOf(Path path, bool continueOnFailure, uint256[] memory kinds, uint256 seed, bool small) public {
        Planned[] memory plan = new Planned[](kinds.length);
        Call[] memory calls = new Call[](kinds.length);
        for (uint256 i; i < kinds.length; ++i) {
            (plan[i], calls[i]) = _plan(kinds[i], uint256(keccak256(abi.encode(seed, i))), small);
        }
        uint256[ASSETS] memory before = _balances();
        (bool ok, bytes memory err) = run(path, k, calls, !continueOnFailure);
        uint256[ASSETS] memory afterwards = _balances();
        for (uint256 a; a < ASSETS; ++a) {
            if (afterwards[a] > before[a]) _violation("the account gained");
            else movedByKey[a] += before[a] - afterwards[a];
        }
        if (!ok) {
            ++refusedBatches;
            _countRefusal(err);
            if (kinds.length > MAX_PER_BATCH) {
                if (
                    keccak256(err)
                        != keccak256(abi.encodeWithSelector(IPolicyHook.CallLimitExceeded.selector, 3, MAX_PER_BATCH))
                ) {
                    _violation("a batch past the cap refused for another reason");
                }
                ++overBatchRefusals;
            }
            for (uint256 a; a < ASSETS; ++a) {
                if (afterwards[a] != before[a]) _violation("a refused batch moved value");
            }
            return;
        }
        ++pathHits[uint256(path)];
        if (continueOnFailure) ++continueBatches;
        if (kinds.length > MAX_PER_BATCH) _violation("a batch past the per-batch cap went through");
        for (uint256 i; i < plan.length; ++i) {
            _book(plan[i]);
        }
    }

    /// @dev Counts the hook's cap refusals (SpendLimitExceeded and CallLimitExceeded, by cap kind).
    function _countRefusal(bytes memory err) internal {
        if (err.length < 68) return;
        bytes4 sel = bytes4(err);
        uint256 kind;
        if (sel == IPolicyHook.SpendLimitExceeded.selector) {
            assembly {
                kind := mload(add(err, 0x44))
            }
        } else if (sel == IPolicyHook.CallLimitExceeded.selector) {
            assembly {
                kind := mload(add(err, 0x24))
            }
        } else {
            return;
        }
        ++capRefusals[sel][kind];
    }

    /// @dev What a call did, observed, and booked as a correct hook would.
    function _book(Planned memory p) internal {
        bool happened = _happened(p);
        if (happened == p.mustFail) {
            _violation(p.mustFail ? "a call that must fail went through" : "a call had no effect");
        }
        if (!happened) {
            ++refunds; // counted (and charged) in beforeExecute, given back after the failure
            return;
        }
        ++kindHits[p.kind];
        uint256 cw = (block.timestamp - callsStart) / CALL_PERIOD;
        ++callsMade;
        ++callsInGen[callsGeneration][cw];
        if (cw > maxCallWindow) maxCallWindow = cw;
        if (p.asset == ASSETS) return;
        if (p.asset == NATIVE && p.amount > NATIVE_PER_CALL) _violation("native per-call cap passed");
        uint256 w = _window(p.asset);
        booked[p.asset] += p.amount;
        bookedIn[p.asset][w] += p.amount;
        if (w > maxWindow[p.asset]) maxWindow[p.asset] = w;
        if (_isApproval(p.kind)) {
            approvedByKey[p.asset] += p.amount;
            approvals.push(Approval(p.kind, p.asset, p.who));
        } else {
            movedModel[p.asset] += p.amount;
        }
    }

    function _isApproval(uint256 kind) internal pure returns (bool) {
        return kind == 2 || kind == 3 || kind == 4 || kind == 8 || kind == 9 || kind == 10;
    }

    function _happened(Planned memory p) internal view returns (bool) {
        uint256 kind = p.kind;
        if (kind == 13) return true; // the batch went through, and bump never fails
        if (kind == 14) return false;
        if (kind == 2 || kind == 3) return _token(p.asset).allowance(account, p.who) == p.amount;
        if (kind == 4) return permit2.allowance(account, address(_token(p.asset)), p.who) == p.amount;
        if (kind == 8 || kind == 9) return eth20.allowance(account, p.who) == p.amount;
        if (kind == 10) return permit2.allowance(account, ERC20_ETH, p.who) == p.amount;
        return _balance(p.asset, p.who) == p.amount; // moves to a fresh recipient
    }

    /// @dev One call of kind `kind` (random parameters from `r`).
    function _plan(uint256 kind, uint256 r, bool small) internal returns (Planned memory p, Call memory c) {
        p.kind = kind;
        p.who = _fresh();
        if (kind <= 5) p.asset = (r >> 8) & 1 == 0 ? TOKEN_A : TOKEN_B;
        else if (kind <= 12) p.asset = NATIVE;
        else if (kind == 13) p.asset = (r >> 9) & 1 == 0 ? NATIVE : ASSETS;
        else p.asset = ASSETS;
        if (p.asset != ASSETS) p.amount = 1 + (r >> 16) % (small ? 10 : _maxAmount(p.asset));
        // Native moves sometimes go to a recipient that refuses them: the call fails after the hook charged it.
        if ((kind == 6 || kind == 7 || kind == 11 || kind == 12) && (r >> 128) % 5 == 0) {
            p.who = address(rejecter);
            p.mustFail = true;
        }
        address t = address(_token(p.asset));
        if (kind == 0) {
            c = Call(t, 0, abi.encodeCall(AllowanceToken.transfer, (p.who, p.amount)));
        } else if (kind == 1) {
            c = Call(t, 0, abi.encodeCall(AllowanceToken.transferFrom, (account, p.who, p.amount)));
        } else if (kind == 2) {
            c = Call(t, 0, abi.encodeCall(AllowanceToken.approve, (p.who, p.amount)));
        } else if (kind == 3) {
            c = Call(t, 0, abi.encodeCall(AllowanceToken.increaseAllowance, (p.who, p.amount)));
        } else if (kind == 4) {
            c = Call(PERMIT2, 0, abi.encodeCall(MockPermit2.approve, (t, p.who, uint160(p.amount), type(uint48).max)));
        } else if (kind == 5) {
            c = Call(PERMIT2, 0, abi.encodeCall(MockPermit2.transferFrom, (account, p.who, uint160(p.amount), t)));
        } else if (kind == 6) {
            c = Call(ERC20_ETH, 0, abi.encodeCall(MockERC20ETH.transfer, (p.who, p.amount)));
        } else if (kind == 7) {
            c = Call(ERC20_ETH, 0, abi.encodeCall(MockERC20ETH.transferFrom, (account, p.who, p.amount)));
        } else if (kind == 8) {
            c = Call(ERC20_ETH, 0, abi.encodeCall(MockERC20ETH.approve, (p.who, p.amount)));
        } else if (kind == 9) {
            c = Call(ERC20_ETH, 0, abi.encodeCall(MockERC20ETH.increaseAllowance, (p.who, p.amount)));
        } else if (kind == 10) {
            c = Call(
                PERMIT2, 0, abi.encodeCall(MockPermit2.approve, (ERC20_ETH, p.who, uint160(p.amount), type(uint48).max))
            );
        } else if (kind == 11) {
            c = Call(
                PERMIT2, 0, abi.encodeCall(MockPermit2.transferFrom, (account, p.who, uint160(p.amount), ERC20_ETH))
            );
        } else if (kind == 12) {
            c = Call(p.who, p.amount, "");
        } else if (kind == 13) {
            c = Call(address(target), p.amount, abi.encodeCall(Target.bump, ()));
        } else {
            c = Call(address(target), 0, abi.encodeCall(Target.fail, (1)));
        }
        if (kind == 14) p.mustFail = true;
        // Token B gave no allowance to the account itself: its transferFrom routes fail after being charged.
        if ((kind == 1 || kind == 5) && p.asset == TOKEN_B) p.mustFail = true;
    }

    /// @notice A spender the key approved pulls part of its allowance (outside the key's batches).
    function pull(uint256 i, uint256 r) external {
        if (approvals.length == 0) return;
        Approval memory ap = approvals[i % approvals.length];
        address t = ap.asset == NATIVE ? ERC20_ETH : address(_token(ap.asset));
        uint256 allowed;
        if (ap.kind == 2 || ap.kind == 3) allowed = _token(ap.asset).allowance(account, ap.spender);
        else if (ap.kind == 8 || ap.kind == 9) allowed = eth20.allowance(account, ap.spender);
        else allowed = permit2.allowance(account, t, ap.spender);
        if (allowed == 0) return;
        uint256 y = 1 + r % allowed;
        uint256 before = _balance(ap.asset, account);
        vm.prank(ap.spender);
        if (ap.kind == 2 || ap.kind == 3) _token(ap.asset).transferFrom(account, ap.spender, y);
        else if (ap.kind == 8 || ap.kind == 9) eth20.transferFrom(account, ap.spender, y);
        else permit2.transferFrom(account, ap.spender, uint160(y), t);
        pulled[ap.asset] += before - _balance(ap.asset, account);
        ++pulls;
    }

    /// @notice The root sets the call caps again (their counts restart): scripted tests use it to go on past the
    /// lifetime call cap. Not a fuzzing target.
    function rootResetCalls() external {
        usageLimits(MAX_CALLS, MAX_PER_PERIOD, CALL_PERIOD, MAX_PER_BATCH);
        callsMade = 0;
        callsStart = block.timestamp;
        ++callsGeneration;
        maxCallWindow = 0;
    }

    function warp(uint24 dt) external {
        vm.warp(block.timestamp + (dt % 3 hours));
        ++warps;
    }

    // ------------------------------------------------------------------------------------------------------------
    // Checks (the invariants, also callable by the non-vacuity test)
    // ------------------------------------------------------------------------------------------------------------

    function hookTotal(uint256 asset) public view returns (uint256) {
        if (asset == NATIVE) return hook.getNative(account, k.keyHash).spend.total;
        return hook.getToken(account, k.keyHash, address(_token(asset))).spend.total;
    }

    function hookInWindow(uint256 asset) public view returns (uint256) {
        if (asset == NATIVE) return hook.getNative(account, k.keyHash).spend.inWindow;
        return hook.getToken(account, k.keyHash, address(_token(asset))).spend.inWindow;
    }

    /// @notice The hook's books equal what the key's calls really did, per asset: moved out of the account
    /// (measured) plus approved (observed).
    function checkBooks() public view returns (bool, string memory) {
        for (uint256 a; a < ASSETS; ++a) {
            if (hookTotal(a) != booked[a]) {
                return (false, string.concat("hook books != effects, asset ", vm.toString(a)));
            }
            if (movedByKey[a] != movedModel[a]) return (false, "measured outflow != observed moves");
            if (booked[a] != movedByKey[a] + approvedByKey[a]) return (false, "books != moved + approved");
        }
        return (true, "");
    }

    /// @notice Per asset: every period window and the lifetime stay within the caps, and nothing left the account
    /// (by the key, or by a spender it approved) beyond what the hook counted.
    function checkCaps() public view returns (bool, string memory) {
        for (uint256 a; a < ASSETS; ++a) {
            Limits memory l = _limits(a);
            for (uint256 w; w <= maxWindow[a]; ++w) {
                if (bookedIn[a][w] > l.perPeriod) {
                    return (false, string.concat("period cap passed, asset ", vm.toString(a)));
                }
            }
            if (hookInWindow(a) > l.perPeriod) return (false, "hook's window over the cap");
            if (booked[a] > l.lifetime) return (false, "lifetime cap passed");
            if (movedByKey[a] + pulled[a] > hookTotal(a)) return (false, "value left the account uncounted");
        }
        return (true, "");
    }

    /// @notice Call caps: the hook counted exactly the calls that happened, within the lifetime and per-period caps.
    function checkCalls() public view returns (bool, string memory) {
        if (hook.getUsage(account, k.keyHash).used != callsMade) return (false, "hook's call count != calls made");
        if (callsMade > MAX_CALLS) return (false, "lifetime call cap passed");
        for (uint256 w; w <= maxCallWindow; ++w) {
            if (callsIn(w) > MAX_PER_PERIOD) return (false, "per-period call cap passed");
        }
        if (violations != 0) return (false, lastViolation);
        return (true, "");
    }
}

contract PolicyHookInvariantTest is PolicyHookTestBase, PolicyCaps {
    PolicyHandler internal handler;
    AllowanceToken internal tokenA;
    AllowanceToken internal tokenB;

    function setUp() public override {
        super.setUp();
        MockPermit2 permit2 = deployPermit2();
        MockERC20ETH eth20 = deployERC20ETH();
        tokenA = new AllowanceToken();
        tokenB = new AllowanceToken();
        tokenA.mint(account, 1e30);
        tokenB.mint(account, 1e30);
        // The root's standing approvals: ERC20ETH may pull native value, Permit2 may pull both tokens and ERC20ETH,
        // and the account may pull token A and ERC20ETH from itself (directly and through Permit2), not token B.
        Call[] memory calls = new Call[](7);
        calls[0] = Call(account, 0, abi.encodeCall(IKeyward.approveNative, (ERC20_ETH, type(uint256).max)));
        calls[1] = Call(ERC20_ETH, 0, abi.encodeCall(eth20.approve, (PERMIT2, type(uint256).max)));
        calls[2] = Call(address(tokenA), 0, abi.encodeCall(tokenA.approve, (PERMIT2, type(uint256).max)));
        calls[3] = Call(address(tokenB), 0, abi.encodeCall(tokenB.approve, (PERMIT2, type(uint256).max)));
        calls[4] = Call(address(tokenA), 0, abi.encodeCall(tokenA.approve, (account, type(uint256).max)));
        calls[5] = Call(
            PERMIT2, 0, abi.encodeCall(permit2.approve, (address(tokenA), account, type(uint160).max, type(uint48).max))
        );
        calls[6] = Call(
            PERMIT2, 0, abi.encodeCall(permit2.approve, (ERC20_ETH, account, type(uint160).max, type(uint48).max))
        );
        rootExecute(calls);
        // The policy: every counted selector allowed, every asset capped, call caps, one paymaster.
        allow(address(tokenA), hook.ANY_SELECTOR());
        allow(address(tokenB), hook.ANY_SELECTOR());
        allow(PERMIT2, hook.ANY_SELECTOR());
        allow(ERC20_ETH, hook.ANY_SELECTOR());
        allow(address(target), hook.ANY_SELECTOR());
        allow(hook.ANY_TARGET(), hook.EMPTY_CALLDATA());
        Limits memory n = _limits(NATIVE);
        nativeLimits(true, NATIVE_PER_CALL, n.perPeriod, n.period, n.lifetime);
        n = _limits(TOKEN_A);
        tokenLimit(address(tokenA), n.perPeriod, n.period, n.lifetime);
        n = _limits(TOKEN_B);
        tokenLimit(address(tokenB), n.perPeriod, n.period, n.lifetime);
        usageLimits(MAX_CALLS, MAX_PER_PERIOD, CALL_PERIOD, MAX_PER_BATCH);
        address[] memory pms = new address[](1);
        pms[0] = address(sponsor);
        cfg(abi.encodeCall(IPolicyHook.setPaymasters, (k.keyHash, pms)));

        handler = new PolicyHandler(
            Fixture(
                acct,
                account,
                rootKey,
                entryPoint,
                sponsor,
                hook,
                tokenA,
                tokenB,
                permit2,
                eth20,
                target,
                new Rejecter(),
                k,
                block.timestamp
            )
        );
        targetContract(address(handler));
        bytes4[] memory selectors = new bytes4[](4);
        selectors[0] = PolicyHandler.batch.selector;
        selectors[1] = PolicyHandler.batch.selector; // batches twice as often as the rest
        selectors[2] = PolicyHandler.pull.selector;
        selectors[3] = PolicyHandler.warp.selector;
        targetSelector(FuzzSelector(address(handler), selectors));
    }

    function _kinds(uint256 from, uint256 to) internal pure returns (uint256[] memory kinds) {
        kinds = new uint256[](to - from);
        for (uint256 i; i < kinds.length; ++i) {
            kinds[i] = from + i;
        }
    }

    function _allChecks() internal view {
        (bool ok, string memory why) = handler.checkBooks();
        assertTrue(ok, why);
        (ok, why) = handler.checkCaps();
        assertTrue(ok, why);
        (ok, why) = handler.checkCalls();
        assertTrue(ok, why);
    }

    /// @dev A seed whose first `n` calls all pick token A (`wantA`) or all token B (see `PolicyHandler._plan`).
    function _seedFor(bool wantA, uint256 n, uint256 from) internal pure returns (uint256 seed) {
        for (seed = from;; ++seed) {
            bool all = true;
            for (uint256 i; i < n && all; ++i) {
                all = ((uint256(keccak256(abi.encode(seed, i))) >> 8) & 1 == 0) == wantA;
            }
            if (all) return seed;
        }
    }

    /// @notice The handler reaches every counted selector on every path, in both batch modes, with refunds, spender
    /// pulls, refused over-long batches and windows crossed; the checks hold all along.
    function test_handler_reachesEverySelectorAndPath() public {
        uint256 seed;
        for (uint256 p; p < 4; ++p) {
            handler.rootResetCalls(); // the lifetime call cap (20) is below what a path uses here
            // Token kinds (0-5) once with token A and once with token B, then the native and plain kinds.
            for (uint256 t; t < 2; ++t) {
                seed = _seedFor(t == 0, 4, seed + 1);
                handler.batchOf(Path(p), true, _kinds(0, 4), seed, true);
                handler.warp(uint24(CALL_PERIOD));
                seed = _seedFor(t == 0, 2, seed + 1);
                handler.batchOf(Path(p), true, _kinds(4, 6), seed, true);
                handler.warp(uint24(CALL_PERIOD));
            }
            handler.rootResetCalls();
            for (uint256 from = 6; from < KINDS; from += MAX_PER_BATCH) {
                uint256 to = from + MAX_PER_BATCH > KINDS ? KINDS : from + MAX_PER_BATCH;
                handler.batchOf(Path(p), true, _kinds(from, to), ++seed, true);
                handler.warp(uint24(CALL_PERIOD));
            }
            handler.batchOf(Path(p), false, _kinds(0, MAX_PER_BATCH + 1), ++seed, true); // one past the cap
            handler.batchOf(Path(p), false, _kinds(12, 14), ++seed, true); // reverting mode
        }
        for (uint256 i; i < 8; ++i) {
            handler.pull(i, i);
        }
        handler.warp(uint24(1 days));
        handler.batchOf(Path.Direct, true, _kinds(0, 1), ++seed, true); // token A in a new day window
        _allChecks();
        for (uint256 kind; kind < KINDS - 1; ++kind) {
            assertGt(handler.kindHits(kind), 0, string.concat("kind never took effect: ", vm.toString(kind)));
        }
        assertEq(handler.kindHits(14), 0); // Target.fail never does
        for (uint256 p; p < 4; ++p) {
            assertGt(handler.pathHits(p), 0, "a path never ran");
        }
        assertGt(handler.continueBatches(), 0);
        assertGt(handler.refunds(), 4);
        assertEq(handler.overBatchRefusals(), 4);
        assertGt(handler.pulls(), 0);
        assertGt(handler.booked(NATIVE), 0);
        assertGt(handler.booked(TOKEN_A), 0);
        assertGt(handler.booked(TOKEN_B), 0);
        assertGt(handler.approvedByKey(NATIVE), 0);
        assertGt(handler.movedByKey(TOKEN_A), 0);
    }

    /// @notice Non-vacuity: a planted policy hole (the root quietly drops token A's limit, so its transfers are no
    /// longer counted) is caught by the books and caps checks.
    function test_handler_detectsAPlantedViolation() public {
        handler.batchOf(Path.Direct, false, _kinds(0, 1), 1, true);
        _allChecks();
        cfg(abi.encodeCall(IPolicyHook.setTokenLimit, (k.keyHash, address(tokenA), false, Limits(0, 0, 0))));
        uint256[] memory transferA = new uint256[](1); // kind 0 with a seed that picks token A
        uint256 seed = 1;
        while ((uint256(keccak256(abi.encode(seed, uint256(0)))) >> 8) & 1 != 0) {
            ++seed;
        }
        handler.batchOf(Path.Direct, false, transferA, seed, true);
        (bool ok,) = handler.checkBooks();
        assertFalse(ok, "books check missed uncounted moves");
        (ok,) = handler.checkCaps();
        assertFalse(ok, "caps check missed value leaving uncounted");
    }

    /// @notice The hook's books equal what the key's calls did, per asset.
    function invariant_booksEqualEffects() public view {
        (bool ok, string memory why) = handler.checkBooks();
        assertTrue(ok, why);
    }

    /// @notice Period and lifetime caps hold per asset, however calls are split, batched, failed or routed.
    function invariant_spendCapsHold() public view {
        (bool ok, string memory why) = handler.checkCaps();
        assertTrue(ok, why);
    }

    /// @notice Call caps hold and the handler saw no unexpected outcome.
    function invariant_callCapsHold() public view {
        (bool ok, string memory why) = handler.checkCalls();
        assertTrue(ok, why);
    }
}
