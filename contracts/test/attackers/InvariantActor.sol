// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {Staking} from "../../Staking.sol";
import {JobMarket} from "../../JobMarket.sol";

/// @notice A node run through a contract, for the solvency invariant test (test/contracts/solvency.invariant.test.ts).
///         It spends its own balance (funded at deployment), so its balance moves only by what the market
///         and the staking contract pay it or take from it; its operator pays the gas. It never accepts a
///         2300-gas stipend, so a fee pushed to it at finalisation is always credited instead, and it accepts
///         full-gas transfers (withdrawals) only while `accepting`, so a withdrawal to it can be made to fail.
contract InvariantActor {
    error InvariantActorRejects(uint256 value);

    /// @notice Whether full-gas transfers are accepted.
    bool public accepting;

    constructor() payable {}

    function setAccepting(bool accepting_) external {
        accepting = accepting_;
    }

    /// @notice Calls `target` as this contract, sending `value` from this contract's balance; bubbles a revert.
    function execute(address target, uint256 value, bytes calldata data) external {
        (bool ok, bytes memory ret) = target.call{value: value}(data);
        if (!ok) {
            assembly ("memory-safe") {
                revert(add(ret, 0x20), mload(ret))
            }
        }
    }

    receive() external payable {
        // gasleft() first: a stipend transfer is refused without touching storage.
        if (gasleft() < 10_000 || !accepting) revert InvariantActorRejects(msg.value);
    }
}

/// @notice Reads, in one call and through the contracts' own getters, everything the solvency invariant compares;
///         the test checks its faster {SlotReader} against this once in every sequence.
contract InvariantLens {
    struct State {
        uint256 marketBalance;
        uint256 stakingBalance;
        uint256 jobCount;
        uint256[] balances;
        uint256[] marketCredits;
        uint256[] stakingCredits;
        uint256[] free;
        uint256[] locked;
        uint256[] unbonding;
        uint256[] unbondingReadyAt;
        bytes32[] jobHashes;
        uint256[] openDisputes;
        uint256[] compensation;
        bool[] barred;
    }

    /// @param accounts Accounts whose balances, credits and stakes are read.
    /// @param jobCount Jobs 1..jobCount whose hashes are read.
    /// @param disputeJobs,disputeAttempts (job, attempt) pairs whose open dispute counts are read.
    /// @param nodes Accounts whose bar from each of jobs 1..jobCount is read (job-major: job 1's nodes first).
    function read(
        JobMarket market,
        Staking staking,
        address[] calldata accounts,
        uint256 jobCount,
        uint256[] calldata disputeJobs,
        uint32[] calldata disputeAttempts,
        address[] calldata nodes
    ) external view returns (State memory s) {
        uint256 n = accounts.length;
        s.marketBalance = address(market).balance;
        s.stakingBalance = address(staking).balance;
        s.jobCount = market.jobCount();
        s.balances = new uint256[](n);
        s.marketCredits = new uint256[](n);
        s.stakingCredits = new uint256[](n);
        s.free = new uint256[](n);
        s.locked = new uint256[](n);
        s.unbonding = new uint256[](n);
        s.unbondingReadyAt = new uint256[](n);
        for (uint256 i = 0; i < n; i++) {
            address a = accounts[i];
            s.balances[i] = a.balance;
            s.marketCredits[i] = market.credits(a);
            s.stakingCredits[i] = staking.credits(a);
            (s.free[i], s.locked[i], s.unbonding[i], s.unbondingReadyAt[i]) = staking.accountOf(a);
        }
        s.jobHashes = new bytes32[](jobCount);
        s.compensation = new uint256[](jobCount);
        s.barred = new bool[](jobCount * nodes.length);
        for (uint256 i = 0; i < jobCount; i++) {
            s.jobHashes[i] = market.jobHash(i + 1);
            s.compensation[i] = market.compensation(i + 1);
            for (uint256 k = 0; k < nodes.length; k++) {
                s.barred[i * nodes.length + k] = market.barred(i + 1, nodes[k]);
            }
        }
        s.openDisputes = new uint256[](disputeJobs.length);
        for (uint256 i = 0; i < disputeJobs.length; i++) {
            s.openDisputes[i] = market.openDisputes(disputeJobs[i], disputeAttempts[i]);
        }
    }
}

/// @notice Raw storage reads for the invariant test, run with eth_call with this contract's code put in place of
///         the market's and the staking contract's (a state override), so that one call reads every slot the
///         invariant needs without calling into either contract. Written in assembly because the test node's
///         cost is per opcode and this runs after every transaction. The test checks it against the getters.
/// @dev Calldata, in 32-byte words: `other` (an address, or 0), n, n slots of this address, m, m slots of `other`,
///      b, b addresses. Returns, one word each, the n values, the m values (read by calling `other`, which must
///      run this code too) and the b balances.
contract SlotReader {
    fallback() external {
        // Not memory-safe (it writes from 0 up and at 0x4000), and never returns to Solidity.
        assembly {
            let other := calldataload(0)
            let n := calldataload(32)
            let p := 64
            let o := 0
            for {
                let end := add(p, shl(5, n))
            } lt(p, end) {
                p := add(p, 32)
            } {
                mstore(o, sload(calldataload(p)))
                o := add(o, 32)
            }
            let m := calldataload(p)
            p := add(p, 32)
            let size := shl(5, m)
            if other {
                // [0][m][m slots][0][0]: read those slots there and nothing else.
                let q := 0x4000
                mstore(q, 0)
                mstore(add(q, 32), m)
                calldatacopy(add(q, 64), p, size)
                mstore(add(add(q, 64), size), 0)
                mstore(add(add(q, 96), size), 0)
                if iszero(staticcall(gas(), other, q, add(128, size), o, size)) { revert(0, 0) }
                o := add(o, size)
            }
            p := add(p, size)
            let b := calldataload(p)
            p := add(p, 32)
            for {
                let end := add(p, shl(5, b))
            } lt(p, end) {
                p := add(p, 32)
            } {
                mstore(o, balance(calldataload(p)))
                o := add(o, 32)
            }
            return(0, o)
        }
    }
}
