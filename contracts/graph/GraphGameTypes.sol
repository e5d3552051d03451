// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

// The calldata of the graph dispute game (docs/dispute-game.md, "Graph programs"), shared by GraphDisputeGame and
// GraphStepRunner. Every struct is something a party opens against a root the game already holds; none of it is
// taken on anyone's word.

// The kind of the output leaf's stage: element e of the output leaf is element e of the program's last value
// (followed through views), copied. Reduce (1) and elementwise (2) are IStepVerifier's kinds.
uint256 constant STAGE_COPY = 3;

/// @notice The fields op k's model leaf hashes (core/graph/commitments.ts commitGraphModel, LibGraphIndex.opLeafHash).
/// @param descriptor The op's canonical descriptor words, op code first.
/// @param constantRoots The roots of the constants it reads, in descriptor order.
/// @param shapes Its shape words: the inputs', the value's, then the constants' shapes, each as rank and dims.
/// @param firstLeaf The trace leaf of its first committed stage (a layout op: the next op's).
struct OpLeaf {
    bytes32[] descriptor;
    bytes32[] constantRoots;
    uint256[] shapes;
    uint256 firstLeaf;
}

/// @notice Op `value`'s model leaf (the op that makes value `value` is leaf `value` of the model tree) and its proof.
struct OpOpening {
    uint256 value;
    OpLeaf leaf;
    bytes32[] proof;
}

/// @notice Leaf `index` of a tree (a tensor's or a constant's) and its siblings from the leaf up.
struct LeafOpening {
    uint256 index;
    bytes32 word;
    bytes32[] proof;
}

/// @notice The root of trace leaf `traceLeaf` opened under the agreed prefix root, and leaves of its tensor tree.
struct TensorOpening {
    uint256 traceLeaf;
    bytes32 root;
    bytes32[] proof;
    LeafOpening[] leaves;
}

/// @notice Everything a step reads besides the disputed op's own leaf. Which elements it reads is computed on-chain
///         (LibGraphIndex); these are only the openings that hold them, in any order, each checked where it is used.
/// @param ops The model leaves of the ops whose values the operands are read from: each view on the way (a layout
///        op's value is not committed) and the op that computed the committed value at its end.
/// @param tensors The committed tensors the operands lie in, each opened under P_{i−1}, with the leaves read.
/// @param weight A sum of products: the chunk's weight leaf under the weight constant's root; otherwise unused.
/// @param bias A sum of products at chunk 0: the row's bias leaf under the bias constant's root; otherwise unused.
/// @param witness What the op's verifier checks itself (a Table entry's leaf and siblings; a per-channel Dense or
///        Conv `out` element's requantisation leaf and siblings); otherwise empty.
struct StepOpenings {
    OpOpening[] ops;
    TensorOpening[] tensors;
    LeafOpening weight;
    LeafOpening bias;
    bytes32[] witness;
}

/// @notice Where the step is, as the game has settled it (nothing here comes from a party).
/// @param modelRoot The graph model root.
/// @param modelDepth The depth of the model tree (header and one leaf per op).
/// @param prefix P_{i−1}, the agreed prefix root before the disputed leaf.
/// @param prefixDepth The depth of the trace's prefix tree.
/// @param leaf i, the disputed trace leaf.
/// @param opValue The value id of the op the leaf belongs to (its model leaf index).
/// @param stage The stage's index in the op's stages.
/// @param kind 1 reduce, 2 elementwise, 3 copy (the output leaf), 4 finished reduce.
/// @param element The disputed element (a reduce stage: the row).
/// @param elements The size of the stage's tensor.
/// @param chunk A reduce stage: the chunk k of the step, folding s_k into s_{k+1} (a finished reduce's chunk past
///        its row's last: its finishing step, making the element from s_k).
/// @param accBefore A reduce stage at chunk k > 0: the agreed s_k (at chunk 0 the step computes s_0 itself).
struct StepPosition {
    bytes32 modelRoot;
    uint256 modelDepth;
    bytes32 prefix;
    uint256 prefixDepth;
    uint256 leaf;
    uint256 opValue;
    uint256 stage;
    uint256 kind;
    uint256 element;
    uint256 elements;
    uint256 chunk;
    int256 accBefore;
}
