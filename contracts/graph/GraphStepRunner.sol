// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {IStepVerifier} from "../interfaces/IStepVerifier.sol";
import {LibMerkle} from "../lib/LibMerkle.sol";
import {LibDenseStep} from "../lib/LibDenseStep.sol";
import {LibGraphIndex} from "../lib/graph/LibGraphIndex.sol";
import {LibGraphStep} from "../lib/graph/LibGraphStep.sol";
import {
    STAGE_COPY,
    OpLeaf,
    OpOpening,
    LeafOpening,
    TensorOpening,
    StepOpenings,
    StepPosition
} from "./GraphGameTypes.sol";

/// @title GraphStepRunner
/// @notice The last move of a graph program's dispute (docs/dispute-game.md, "Graph programs"), apart from the
///         game's phases and clocks: given where the game stands (the agreed prefix root P_{i−1}, the disputed op,
///         stage and element), it computes the one value in dispute from operands opened against agreed roots, and
///         the game compares it with the claim. Which elements are operands comes from the op's index maps
///         (LibGraphIndex: a chunk's terms and padded cells, its weight leaf, broadcasting, views), never from a
///         party; the arithmetic is the op's verifier's (behind the {router}). Stateless: a revert means the
///         caller's openings do not hold, never that a claim is false.
/// @dev Why a contract of its own: the index maps and the openings would not fit in the game's 24 KB, and the game
///      then never names an op (Optimism's game and its VM are split the same way). An operand of value v at
///      element j is read as follows:
///  - while v is a layout op's value (a view, not committed), its model leaf (in `ops`) maps j to an element of one
///    of its inputs, at most {MAX_VIEW_HOPS} times; every operand at one view is mapped in one batch
///    (LibGraphIndex.viewSources checks the view's descriptor and shapes once);
///  - v is then the input (trace leaf 0) or an op's value, whose last stage is trace leaf firstLeaf + stages − 1
///    (the op's model leaf, in `ops`, and the router's stageKinds);
///  - that leaf's root is opened under P_{i−1} and the element's word under that root (32 int8 a word, the tree's
///    depth from the tensor's size, which the reading op's shapes give; the input's tree is binary, as the market
///    computes it, a value's paged: LibMerkle.verifyPaged).
contract GraphStepRunner {
    /// @notice The most views one operand is followed through: each costs about 28k gas for one element (its model
    ///         leaf opened and its map checked), so 8 keep a step under 500k; a model folder with a longer chain is
    ///         refused (core/graph/disputeLimits.ts).
    uint256 public constant MAX_VIEW_HOPS = 8;

    /// @notice The step verifier every step goes through: a StepRouter.
    IStepVerifier public immutable router;

    /// @notice An op leaf in `ops` does not open against the model root at its value.
    error GraphStepRunnerInvalidOpLeaf(uint256 value);
    /// @notice An operand is read from value `value`, whose op leaf is not among the openings.
    error GraphStepRunnerMissingOp(uint256 value);
    /// @notice A tensor root does not open under the agreed prefix root at trace leaf `traceLeaf`.
    error GraphStepRunnerInvalidTensorRoot(uint256 traceLeaf);
    /// @notice Trace leaf `traceLeaf` is not before the disputed leaf `leaf`: it is not agreed.
    error GraphStepRunnerTensorNotAgreed(uint256 traceLeaf, uint256 leaf);
    /// @notice An operand lies in trace leaf `traceLeaf`, which is not among the openings.
    error GraphStepRunnerMissingTensor(uint256 traceLeaf);
    /// @notice An operand lies in leaf `index` of trace leaf `traceLeaf`'s tree, which is not among the openings.
    error GraphStepRunnerMissingLeaf(uint256 traceLeaf, uint256 index);
    /// @notice Leaf `index` does not open under trace leaf `traceLeaf`'s root.
    error GraphStepRunnerInvalidLeaf(uint256 traceLeaf, uint256 index);
    /// @notice The weight leaf given is `index` (or does not open); the chunk reads leaf `expected`.
    error GraphStepRunnerInvalidWeightLeaf(uint256 expected, uint256 index);
    /// @notice The bias leaf given is `index` (or does not open); the row reads leaf `expected`.
    error GraphStepRunnerInvalidBiasLeaf(uint256 expected, uint256 index);
    /// @notice Following value `value` through views took more than {MAX_VIEW_HOPS} hops.
    error GraphStepRunnerViewChainTooLong(uint256 value);
    /// @notice Trace leaf `leaf` is not one of the op's stages (its first is `firstLeaf`, it has `stages`).
    error GraphStepRunnerNotAStage(uint256 leaf, uint256 firstLeaf, uint256 stages);
    /// @notice A layout op has no committed stage: trace leaf `leaf` cannot be its.
    error GraphStepRunnerViewHasNoStage(uint256 leaf);
    /// @notice The router gave stage `stage` a kind or width the game does not know.
    error GraphStepRunnerUnknownStage(uint256 stage, uint256 kind, uint256 bits);
    /// @notice The position's kind is not 1 (reduce), 2 (elementwise) or 3 (copy).
    error GraphStepRunnerUnknownKind(uint256 kind);

    /// @dev An opened op: its descriptor and shapes in memory (LibGraphIndex reads memory) and its last stage's leaf.
    struct Known {
        uint256 value;
        bytes32[] descriptor;
        uint256[] shapes;
        uint256 firstLeaf;
        uint256 lastLeaf; // 0 until computed (a computed stage is never leaf 0)
        bool isView;
        uint256[][] decoded; // its shapes decoded, once needed
        uint256[] inputSizes; // its inputs' sizes, once needed
    }

    /// @dev An opened tensor's leaves in memory (read many times, each verified at its first use).
    struct Tensor {
        uint256 traceLeaf;
        uint256 position; // in the openings
        uint256[] indices;
        bytes32[] words;
        bool[] checked;
    }

    /// @dev What a step has opened.
    struct Env {
        Known[] ops;
        Tensor[] tensors;
    }

    /// @dev Operands in the making: term t is element j[t] of value v[t] (of size[t] elements), hops[t] views in.
    struct Terms {
        uint256[] v;
        uint256[] j;
        uint256[] size;
        uint256[] hops;
    }

    /// @param router_ The step verifier (a StepRouter listing a verifier for every computing op).
    constructor(IStepVerifier router_) {
        router = router_;
    }

    // ------------------------------------------------------------------------------------------------
    // What a trace leaf is
    // ------------------------------------------------------------------------------------------------

    /// @notice What trace leaf `leaf` is, given the model leaf of the op it belongs to (checked by the caller against
    ///         the model root): its stage, the stage's kind and element width, the size of its tensor and, for a
    ///         reduce stage, the width of its folds and the chunks of a row (⌈R/T⌉, LibGraphIndex.chunkCount; a
    ///         finished reduce has one more, its finishing step). The output leaf is a copy of the last value,
    ///         whatever its op.
    /// @param op The op's model leaf.
    /// @param leaf The trace leaf.
    /// @param output Whether `leaf` is the output leaf (the last; then `op` must be the last op).
    /// @return stage The stage's index in the op's stages (0 for the output leaf).
    /// @return kind 1 reduce, 2 elementwise, 3 copy, 4 finished reduce.
    /// @return bits 8 or 32: the type of the stage's elements.
    /// @return foldBits A reduce stage: the type of its running folds (a finished reduce's: 32); otherwise 0.
    /// @return elements The size of the stage's tensor (the op's value's).
    /// @return chunks A reduce stage: ⌈R/T⌉, and one more for a finished reduce; otherwise 0.
    function stageAt(OpLeaf calldata op, uint256 leaf, bool output)
        external
        view
        returns (uint256 stage, uint256 kind, uint256 bits, uint256 foldBits, uint256 elements, uint256 chunks)
    {
        bytes32[] memory d = op.descriptor;
        uint256[] memory shapes = op.shapes;
        elements = LibGraphIndex.sizeOf(LibGraphIndex.shapeAt(shapes, LibGraphIndex.inputCount(d)));
        if (output) return (0, STAGE_COPY, 8, 0, elements, 0);
        if (LibGraphIndex.isView(d)) revert GraphStepRunnerViewHasNoStage(leaf);
        (uint256[] memory kinds, uint256[] memory widths) = router.stageKinds(op.descriptor);
        uint256 first = op.firstLeaf;
        if (leaf < first || leaf - first >= kinds.length) revert GraphStepRunnerNotAStage(leaf, first, kinds.length);
        stage = leaf - first;
        (kind, bits) = (kinds[stage], widths[stage]);
        bool finished = kind == LibGraphStep.STAGE_FINISHED_REDUCE;
        bool known = (kind == LibGraphStep.STAGE_REDUCE || kind == LibGraphStep.STAGE_ELEMENTWISE || finished)
            && (bits == 8 || bits == 32);
        if (!known) revert GraphStepRunnerUnknownStage(stage, kind, bits);
        if (kind != LibGraphStep.STAGE_ELEMENTWISE) {
            chunks = LibGraphIndex.chunkCount(LibGraphIndex.reduction(d, shapes));
            (foldBits, chunks) = finished ? (32, chunks + 1) : (bits, chunks);
        }
    }

    // ------------------------------------------------------------------------------------------------
    // The step
    // ------------------------------------------------------------------------------------------------

    /// @notice The value in dispute at `p`, from operands opened in `o`: for a reduce stage the running fold after
    ///         chunk `p.chunk` (from `p.accBefore`, or at chunk 0 from the row's start, which it computes itself),
    ///         and for a finished reduce past its last chunk the element made from the whole fold `p.accBefore`;
    ///         for an elementwise stage the element; for the output leaf the last value's element.
    /// @param p Where the game stands (the game's own state).
    /// @param op The disputed op's model leaf (checked by the caller against the model root).
    /// @param o The openings.
    /// @return value The value the claim must equal.
    function run(StepPosition calldata p, OpLeaf calldata op, StepOpenings calldata o)
        external
        view
        returns (int256 value)
    {
        Env memory env = _open(p, op, o);
        Known memory self = env.ops[0];
        if (p.kind == STAGE_COPY) return _valueElements(env, o, _one(p.opValue), _one(p.element), _one(p.elements), 0)[0];
        IStepVerifier.StepContext memory ctx = IStepVerifier.StepContext({
            descriptor: self.descriptor,
            constantRoots: op.constantRoots,
            stage: p.stage,
            element: p.element,
            elements: p.elements
        });
        if (p.kind == LibGraphStep.STAGE_REDUCE || p.kind == LibGraphStep.STAGE_FINISHED_REDUCE) {
            return _fold(env, o, p, self, ctx);
        }
        if (p.kind == LibGraphStep.STAGE_ELEMENTWISE) return _elementwise(env, o, p, self, ctx);
        revert GraphStepRunnerUnknownKind(p.kind);
    }

    /// @dev The fold of chunk p.chunk of row p.element: its terms and padded cells from LibGraphIndex, each input read
    ///      from the op's input (slot 0), the weights from the chunk's weight leaf (a sum of products), s_0 at chunk 0
    ///      from the verifier's foldInit (with the row's bias for a sum of products). A finished reduce's chunk past
    ///      the row's last is its finishing step: the verifier's step of the whole fold p.accBefore.
    function _fold(
        Env memory env,
        StepOpenings calldata o,
        StepPosition calldata p,
        Known memory self,
        IStepVerifier.StepContext memory ctx
    ) private view returns (int256) {
        LibGraphIndex.Reduction memory g = LibGraphIndex.reduction(self.descriptor, self.shapes);
        if (p.kind == LibGraphStep.STAGE_FINISHED_REDUCE && p.chunk == LibGraphIndex.chunkCount(g)) {
            int256[] memory whole = new int256[](1);
            whole[0] = p.accBefore;
            return router.step(ctx, whole, o.witness);
        }
        (uint256 from, uint256 to) = LibGraphIndex.chunkRange(g, p.chunk);
        (uint256[] memory terms, uint256 padded,) = LibGraphIndex.termsOf(g, p.element, from, to);
        int256[] memory inputs = _chunkInputs(env, o, self, terms, padded);
        (int256[] memory weights, int256[] memory init) = _chunkConstants(o, p, self, g, ctx.constantRoots, from, terms.length);
        int256 accBefore = p.chunk == 0 ? router.foldInit(ctx, init) : p.accBefore;
        return router.foldChunk(ctx, accBefore, inputs, weights, padded);
    }

    /// @dev The chunk's input elements, read from the op's input (slot 0); padded cells stay 0 (the verifier ignores them).
    function _chunkInputs(Env memory env, StepOpenings calldata o, Known memory self, uint256[] memory terms, uint256 padded)
        private
        view
        returns (int256[] memory)
    {
        uint256 n = terms.length;
        uint256 source = LibGraphIndex.inputValue(self.descriptor, 0);
        uint256 size = _inputSizes(self)[0];
        uint256[] memory values = new uint256[](n);
        uint256[] memory sizes = new uint256[](n);
        for (uint256 t; t < n; ++t) (values[t], sizes[t]) = (source, size);
        return _valueElements(env, o, values, terms, sizes, padded);
    }

    /// @dev A sum of products: the chunk's weights (byte (from + t) mod 32 of its weight leaf is term from + t's
    ///      weight) and, at chunk 0, the operands of foldInit (the bias of the row's output channel); a sum or a max:
    ///      no weights, no operands.
    function _chunkConstants(
        StepOpenings calldata o,
        StepPosition calldata p,
        Known memory self,
        LibGraphIndex.Reduction memory g,
        bytes32[] memory constantRoots,
        uint256 from,
        uint256 n
    ) private pure returns (int256[] memory weights, int256[] memory init) {
        if (!LibGraphIndex.hasWeights(g)) return (weights, init);
        (uint256 row, uint256 leaf) = LibGraphIndex.weightLeafOf(g, p.element, p.chunk);
        // The weight constant's tree: one row per output channel, each in ⌈R/32⌉ leaves (constantTree).
        uint256[][] memory shapes = _decoded(self);
        uint256 weightRows = shapes[2][0];
        _checkConstantLeaf(o.weight, constantRoots[0], leaf, weightRows * g.rowLeaves, false);
        weights = new int256[](n);
        uint256 offset = from % LibGraphIndex.CHUNK_TERMS;
        for (uint256 t; t < n; ++t) weights[t] = LibDenseStep.elementAt(o.weight.word, offset + t);
        if (p.chunk == 0) {
            uint256 biases = LibGraphIndex.sizeOf(shapes[3]);
            _checkConstantLeaf(o.bias, constantRoots[1], row / 8, (biases + 7) / 8, true);
            init = new int256[](1);
            init[0] = LibDenseStep.biasAt(o.bias.word, row);
        }
    }

    /// @dev An elementwise element: its inputs read where LibGraphIndex.elementInputs says (broadcasting), each
    ///      followed through views.
    function _elementwise(
        Env memory env,
        StepOpenings calldata o,
        StepPosition calldata p,
        Known memory self,
        IStepVerifier.StepContext memory ctx
    ) private view returns (int256) {
        uint256[] memory at = LibGraphIndex.elementInputs(self.descriptor, self.shapes, p.element);
        uint256[] memory values = new uint256[](at.length);
        uint256[] memory sizes = _inputSizes(self);
        for (uint256 k; k < at.length; ++k) values[k] = LibGraphIndex.inputValue(self.descriptor, k);
        return router.step(ctx, _valueElements(env, o, values, at, sizes, 0), o.witness);
    }

    // ------------------------------------------------------------------------------------------------
    // Openings
    // ------------------------------------------------------------------------------------------------

    /// @dev Checks every op leaf against the model root and every tensor root under P_{i−1}; the disputed op is
    ///      entry 0 of the table (the caller checked it).
    function _open(StepPosition calldata p, OpLeaf calldata op, StepOpenings calldata o)
        private
        pure
        returns (Env memory env)
    {
        uint256 count = o.ops.length;
        env.ops = new Known[](count + 1);
        env.ops[0] = _known(p.opValue, op);
        for (uint256 k; k < count; ++k) {
            OpOpening calldata q = o.ops[k];
            Known memory known = _known(q.value, q.leaf);
            bytes32 hash =
                LibGraphIndex.opLeafHash(known.descriptor, q.leaf.constantRoots, known.shapes, known.firstLeaf);
            if (!LibMerkle.verify(p.modelRoot, hash, q.value, q.proof, p.modelDepth)) {
                revert GraphStepRunnerInvalidOpLeaf(q.value);
            }
            env.ops[k + 1] = known;
        }
        uint256 tensors = o.tensors.length;
        env.tensors = new Tensor[](tensors);
        for (uint256 t; t < tensors; ++t) {
            TensorOpening calldata x = o.tensors[t];
            if (x.traceLeaf >= p.leaf) revert GraphStepRunnerTensorNotAgreed(x.traceLeaf, p.leaf);
            if (!LibMerkle.verify(p.prefix, x.root, x.traceLeaf, x.proof, p.prefixDepth)) {
                revert GraphStepRunnerInvalidTensorRoot(x.traceLeaf);
            }
            LeafOpening[] calldata leaves = x.leaves;
            Tensor memory m = Tensor({
                traceLeaf: x.traceLeaf,
                position: t,
                indices: new uint256[](leaves.length),
                words: new bytes32[](leaves.length),
                checked: new bool[](leaves.length)
            });
            for (uint256 q; q < leaves.length; ++q) {
                (m.indices[q], m.words[q]) = (leaves[q].index, leaves[q].word);
            }
            env.tensors[t] = m;
        }
    }

    function _known(uint256 value, OpLeaf calldata leaf) private pure returns (Known memory k) {
        k.value = value;
        k.descriptor = leaf.descriptor;
        k.shapes = leaf.shapes;
        k.firstLeaf = leaf.firstLeaf;
        k.isView = LibGraphIndex.isView(k.descriptor);
    }

    /// @dev Element j[t] of int8 value v[t] (of size[t] elements) for every term t not in `skip`, each followed
    ///      through views to a committed tensor. Terms are taken in groups at the same value: a group at a view is
    ///      mapped in one batch (LibGraphIndex.viewSources checks the view's descriptor and shapes once), a group at a
    ///      committed tensor is read leaf by leaf. The arrays are worked in place.
    function _valueElements(
        Env memory env,
        StepOpenings calldata o,
        uint256[] memory v,
        uint256[] memory j,
        uint256[] memory size,
        uint256 skip
    ) private view returns (int256[] memory out) {
        uint256 n = v.length;
        Terms memory x = Terms({v: v, j: j, size: size, hops: new uint256[](n)});
        out = new int256[](n);
        uint256 pending = ((1 << n) - 1) & ~skip; // n ≤ 32
        while (pending != 0) {
            (uint256[] memory where, uint256 group) = _gather(x, pending);
            uint256 value = v[where[0]];
            if (value == 0) {
                _read(env, o, 0, x, where, out); // the input
            } else {
                Known memory k = _op(env, value);
                if (k.isView) {
                    _hop(k, x, where);
                    continue;
                }
                _read(env, o, _lastLeaf(k), x, where, out);
            }
            pending &= ~group;
        }
    }

    /// @dev The pending terms at the value of the first pending term: their positions and their bits.
    function _gather(Terms memory x, uint256 pending) private pure returns (uint256[] memory where, uint256 group) {
        uint256[] memory v = x.v;
        uint256 n = v.length;
        where = new uint256[](n);
        assembly ("memory-safe") {
            // The first pending term's value, then every pending term at it (n ≤ 32, so every shift is in range).
            let at := 0
            for {} iszero(and(shr(at, pending), 1)) {} { at := add(at, 1) }
            let value := mload(add(v, shl(5, add(at, 1))))
            let count := 0
            for { let t := at } lt(t, n) { t := add(t, 1) } {
                if and(and(shr(t, pending), 1), eq(mload(add(v, shl(5, add(t, 1)))), value)) {
                    group := or(group, shl(t, 1))
                    count := add(count, 1)
                    mstore(add(where, shl(5, count)), t)
                }
            }
            mstore(where, count) // shrink: the words past it stay allocated, unused
        }
    }

    /// @dev Maps the terms `where` (all at the view `k`) to their sources, in one batch.
    function _hop(Known memory k, Terms memory x, uint256[] memory where) private pure {
        uint256 count = where.length;
        uint256[] memory j = x.j;
        uint256[] memory elements = new uint256[](count);
        assembly ("memory-safe") {
            for { let q := 0 } lt(q, count) { q := add(q, 1) } {
                let at := shl(5, add(q, 1))
                mstore(add(elements, at), mload(add(j, shl(5, add(mload(add(where, at)), 1)))))
            }
        }
        (uint256[] memory slots, uint256[] memory sources, uint256[] memory indices) =
            LibGraphIndex.viewSources(k.descriptor, k.shapes, elements);
        uint256[] memory sizes = _inputSizes(k);
        (uint256[] memory v, uint256[] memory size, uint256[] memory hops) = (x.v, x.size, x.hops);
        uint256 tooLong = type(uint256).max;
        assembly ("memory-safe") {
            // Every index is in range: where[q] < n = the length of v, j, size and hops; slots[q] < sizes' length
            // (viewSources returns an input slot of the view, and sizes has one entry per input).
            for { let q := 0 } lt(q, count) { q := add(q, 1) } {
                let at := shl(5, add(q, 1))
                let t := shl(5, add(mload(add(where, at)), 1))
                let h := add(mload(add(hops, t)), 1)
                if gt(h, MAX_VIEW_HOPS) {
                    tooLong := mload(add(v, t))
                    break
                }
                mstore(add(hops, t), h)
                mstore(add(v, t), mload(add(sources, at)))
                mstore(add(j, t), mload(add(indices, at)))
                mstore(add(size, t), mload(add(sizes, shl(5, add(mload(add(slots, at)), 1)))))
            }
        }
        if (tooLong != type(uint256).max) revert GraphStepRunnerViewChainTooLong(tooLong);
    }

    /// @dev Reads the terms `where` (elements j of one int8 tensor of `size` elements, 32 a word, at trace leaf
    ///      `traceLeaf`) from its opened words into `out`.
    function _read(
        Env memory env,
        StepOpenings calldata o,
        uint256 traceLeaf,
        Terms memory x,
        uint256[] memory where,
        int256[] memory out
    ) private pure {
        Tensor memory m = _tensor(env, traceLeaf);
        uint256[] memory j = x.j;
        uint256 leaves = ((x.size[where[0]] - 1) >> 5) + 1;
        uint256 last = type(uint256).max;
        bytes32 word;
        for (uint256 q; q < where.length;) {
            uint256 t;
            uint256 e;
            assembly ("memory-safe") {
                t := mload(add(where, shl(5, add(q, 1))))
                e := mload(add(j, shl(5, add(t, 1))))
            }
            if (e >> 5 != last) {
                last = e >> 5;
                word = _leafWord(o, m, last, leaves);
            }
            int256 value = LibDenseStep.elementAt(word, e & 31);
            assembly ("memory-safe") {
                mstore(add(out, shl(5, add(t, 1))), value)
                q := add(q, 1)
            }
        }
    }

    /// @dev The opened tensor at trace leaf `traceLeaf`.
    function _tensor(Env memory env, uint256 traceLeaf) private pure returns (Tensor memory) {
        Tensor[] memory tensors = env.tensors;
        for (uint256 t; t < tensors.length; ++t) {
            if (tensors[t].traceLeaf == traceLeaf) return tensors[t];
        }
        revert GraphStepRunnerMissingTensor(traceLeaf);
    }

    /// @dev Leaf `index` of an opened tensor (a tree of `leaves` words: the input's binary, a value's paged), checked
    ///      under its root at its first use.
    function _leafWord(StepOpenings calldata o, Tensor memory m, uint256 index, uint256 leaves)
        private
        pure
        returns (bytes32)
    {
        uint256[] memory indices = m.indices;
        uint256 q;
        while (q < indices.length && indices[q] != index) ++q;
        if (q == indices.length) revert GraphStepRunnerMissingLeaf(m.traceLeaf, index);
        if (!m.checked[q]) {
            TensorOpening calldata x = o.tensors[m.position];
            bytes32[] calldata proof = x.leaves[q].proof;
            bool valid = m.traceLeaf == 0
                ? LibMerkle.verify(x.root, m.words[q], index, proof, LibMerkle.depthFor(leaves))
                : LibMerkle.verifyPaged(x.root, m.words[q], index, proof, LibMerkle.pagedDepthFor(leaves));
            if (!valid) revert GraphStepRunnerInvalidLeaf(m.traceLeaf, index);
            m.checked[q] = true;
        }
        return m.words[q];
    }

    /// @dev A one-element array.
    function _one(uint256 a) private pure returns (uint256[] memory one) {
        one = new uint256[](1);
        one[0] = a;
    }

    /// @dev An opened op's shapes, decoded once.
    function _decoded(Known memory k) private pure returns (uint256[][] memory shapes) {
        shapes = k.decoded;
        if (shapes.length == 0) {
            shapes = LibGraphIndex.decodeShapes(k.shapes);
            k.decoded = shapes;
        }
    }

    /// @dev The sizes of an opened op's inputs, computed once.
    function _inputSizes(Known memory k) private pure returns (uint256[] memory sizes) {
        sizes = k.inputSizes;
        if (sizes.length == 0) {
            uint256[][] memory shapes = _decoded(k);
            uint256 n = LibGraphIndex.inputCount(k.descriptor);
            sizes = new uint256[](n);
            for (uint256 s; s < n; ++s) sizes[s] = LibGraphIndex.sizeOf(shapes[s]);
            k.inputSizes = sizes;
        }
    }

    /// @dev The op of value v among the opened ones.
    function _op(Env memory env, uint256 v) private pure returns (Known memory) {
        Known[] memory ops = env.ops;
        for (uint256 k; k < ops.length; ++k) {
            if (ops[k].value == v) return ops[k];
        }
        revert GraphStepRunnerMissingOp(v);
    }

    /// @dev The trace leaf of a computing op's last stage (its value): firstLeaf + stages − 1.
    function _lastLeaf(Known memory k) private view returns (uint256) {
        if (k.lastLeaf == 0) {
            (uint256[] memory kinds,) = router.stageKinds(k.descriptor);
            k.lastLeaf = k.firstLeaf + kinds.length - 1;
        }
        return k.lastLeaf;
    }

    /// @dev A constant's leaf `expected` opened under its root, in a tree of `leaves` leaves.
    function _checkConstantLeaf(LeafOpening calldata leaf, bytes32 root, uint256 expected, uint256 leaves, bool bias)
        private
        pure
    {
        bool ok = leaf.index == expected
            && LibMerkle.verify(root, leaf.word, expected, leaf.proof, LibMerkle.depthFor(leaves));
        if (ok) return;
        if (bias) revert GraphStepRunnerInvalidBiasLeaf(expected, leaf.index);
        revert GraphStepRunnerInvalidWeightLeaf(expected, leaf.index);
    }
}
