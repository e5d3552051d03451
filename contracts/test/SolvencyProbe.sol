// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

/// @notice Reads many getters and balances in one eth_call, for the dispute solvency invariant
///         (test/contracts/solvency.disputes.invariant.test.ts), which reads the whole state of the market, staking,
///         the dispute game and the consumer contracts after every transaction through their own getters.
/// @dev Calldata: a sequence of entries, each a 20-byte address, a 2-byte length n and n bytes of call data. An
///      entry with n = 0 appends the address's balance (one word); any other appends the data returned by a
///      static call of the address with those bytes (which must succeed). Returns the concatenation, raw.
///      A failed call reverts with one word: the offset of its call data.
contract SolvencyProbe {
    fallback() external {
        // Not memory-safe (writes from 0 up) and never returns to Solidity.
        assembly {
            let p := 0
            let o := 0
            let end := calldatasize()
            for {} lt(p, end) {} {
                let w := calldataload(p)
                let target := shr(96, w)
                let n := and(shr(80, w), 0xffff)
                p := add(p, 22)
                switch n
                case 0 {
                    mstore(o, balance(target))
                    o := add(o, 32)
                }
                default {
                    calldatacopy(o, p, n)
                    if iszero(staticcall(gas(), target, o, n, 0, 0)) {
                        mstore(0, p)
                        revert(0, 32)
                    }
                    let r := returndatasize()
                    returndatacopy(o, 0, r)
                    o := add(o, r)
                    p := add(p, n)
                }
            }
            return(0, o)
        }
    }
}

/// @notice Raw storage reads for the same test, many contracts in one eth_call: run with eth_call with this code put in
///         place of each contract read (a state override), so that no getter is called (the test node's cost is per
///         call frame, and this runs after every transaction). The test checks it against {SolvencyProbe} (the
///         contracts' getters) once in every sequence.
/// @dev Calldata: a sequence of entries, each a 20-byte address, a 2-byte count n and n 32-byte storage slots. An
///      entry with n = 0 appends the address's balance; one for this address appends the n slots read here; one for
///      another address (which must run this code too) appends the n slots read there, by a static call with the
///      entry itself. A failed call reverts with one word: the offset of its entry.
contract SolvencySlotReader {
    fallback() external {
        // Not memory-safe (writes from 0 up) and never returns to Solidity.
        assembly {
            let p := 0
            let o := 0
            let end := calldatasize()
            for {} lt(p, end) {} {
                let w := calldataload(p)
                let target := shr(96, w)
                let n := and(shr(80, w), 0xffff)
                switch n
                case 0 {
                    mstore(o, balance(target))
                    o := add(o, 32)
                    p := add(p, 22)
                }
                default {
                    let size := add(22, shl(5, n))
                    switch eq(target, address())
                    case 1 {
                        for {
                            let q := add(p, 22)
                            let e := add(p, size)
                        } lt(q, e) {
                            q := add(q, 32)
                        } {
                            mstore(o, sload(calldataload(q)))
                            o := add(o, 32)
                        }
                    }
                    default {
                        calldatacopy(o, p, size)
                        if iszero(staticcall(gas(), target, o, size, o, shl(5, n))) {
                            mstore(0, p)
                            revert(0, 32)
                        }
                        o := add(o, shl(5, n))
                    }
                    p := add(p, size)
                }
            }
            return(0, o)
        }
    }
}
