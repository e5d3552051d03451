// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

// The op codes of graph programs (core/graph/program.ts OP_CODES), fixed forever: the first word of an op's
// descriptor (docs/graph-semantics.md §7). Computing ops take 1 … 31; layout ops (views: nothing to step)
// take 32 … 63. Defined once here for every contract that reads a descriptor.

uint256 constant OP_DENSE = 1;
uint256 constant OP_CONV = 2;
uint256 constant OP_MAX_POOL = 3;
uint256 constant OP_AVG_POOL = 4;
uint256 constant OP_GLOBAL_AVG_POOL = 5;
uint256 constant OP_ADD = 6;
uint256 constant OP_MUL = 7;
uint256 constant OP_CLAMP = 8;
uint256 constant OP_TABLE = 9;
uint256 constant OP_COMPUTE_MAX = 31;
uint256 constant OP_FLATTEN = 32;
uint256 constant OP_RESHAPE = 33;
uint256 constant OP_TRANSPOSE = 34;
uint256 constant OP_CONCAT = 35;
uint256 constant OP_SLICE = 36;
uint256 constant OP_LAYOUT_MIN = 32;
uint256 constant OP_LAYOUT_MAX = 63;
