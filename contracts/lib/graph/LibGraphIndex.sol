// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {OP_DENSE, OP_CONV, OP_MAX_POOL, OP_AVG_POOL, OP_GLOBAL_AVG_POOL, OP_ADD, OP_MUL, OP_CLAMP, OP_TABLE, OP_FLATTEN, OP_RESHAPE, OP_TRANSPOSE, OP_CONCAT, OP_SLICE, OP_LAYOUT_MIN, OP_LAYOUT_MAX} from "./GraphOpCodes.sol";

/// @title LibGraphIndex
/// @notice The index maps of graph programs on-chain (docs/graph-semantics.md, "Index maps on-chain"): which
///         elements a step must open, computed from the op's descriptor words and the shapes its model leaf
///         binds, never taken from a party. Bit-exact twin of core/graph/reductions.ts (`reductionOf(…).input`
///         and `.weight`), core/graph/geometry.ts (`broadcastIndexMap`) and core/graph/views.ts (`viewMap`).
/// @dev **Inputs.**
///  - `descriptor`: the op's canonical descriptor words (core/graph/descriptor.ts), op code first.
///  - `shapes`: a flat word list, each shape as its rank and then its dimensions, exactly the words the model
///    leaf hashes (core/graph/commitments.ts `shapeWords`): the shapes of the op's inputs in descriptor order,
///    then the shape of its value, then (optionally) the shapes of the constants it reads in descriptor order
///    (Dense, Conv: weight, bias; Table: table). **Conv needs its weight's shape** `[M, C/G, kH, kW]`: the kernel
///    size is in neither the descriptor nor the input/output shapes (with a stride > 1 several kernels give the
///    same output size), so a Conv call takes the four shapes input, value, weight, bias; the other ops take the
///    constants' shapes or leave them out, and check them when given. {opLeafHash} hashes these words as the model
///    leaf does, so the game checks them against the op's leaf before it calls anything here.
///  Every field and shape is checked as far as the maps use it (ranks, dimensions, the window's output size,
///  groups, broadcasting, permutations, slice bounds), with custom errors carrying the values; dimensions and
///  geometric fields are at most 2^32 − 1 and tensors at most 2^64 − 1 elements, so no arithmetic here overflows.
///  Shapes are read in place: a shape returned by {shapeAt} or {decodeShapes} is a view into `shapes` (its rank
///  word is the array's length word) and must not be written.
///  Everything is pure and internal; a revert means the caller passed something malformed, never a false claim.
library LibGraphIndex {
    /// @notice The input index of a padded cell (a window cell outside the image): never an element to open.
    uint256 internal constant PADDED = type(uint256).max;
    /// @notice Terms of one chunk of a reduction row, and of one 32-byte leaf of weights.
    uint256 internal constant CHUNK_TERMS = 32;
    /// @notice Terms of one chunk of a narrow Conv (less than 3 wide, or a window row wider than a word): each term of
    ///         such a window may be in another word of the input (another channel's plane, another row, a cell a
    ///         dilation away), so a chunk of 32 would open up to 32 words. Divides 32, so a chunk never straddles a
    ///         weight leaf.
    uint256 internal constant NARROW_CHUNK_TERMS = 8;
    /// @notice A Conv kernel narrower than this takes chunks of {NARROW_CHUNK_TERMS}.
    uint256 internal constant NARROW_KERNEL_WIDTH = 3;
    /// @notice The most terms one {terms} call maps (the padded mask is one word).
    uint256 internal constant MAX_TERMS = 256;
    /// @notice The largest rank of a shape.
    uint256 internal constant MAX_RANK = 16;
    /// @notice The largest dimension, and the largest geometric field (kernel, stride, pad, dilation, groups, …).
    uint256 internal constant MAX_FIELD = 2 ** 32 - 1;
    /// @notice The most elements of a tensor.
    uint256 internal constant MAX_SIZE = 2 ** 64 - 1;

    /// @notice The descriptor has no words.
    error GraphIndexDescriptorEmpty();
    /// @notice The function does not map op `opCode` (a reduce map asked of an Add, a view map of a Conv, …).
    error GraphIndexWrongOp(uint256 opCode);
    /// @notice The descriptor has `actual` words; its fields make `expected`.
    error GraphIndexDescriptorLength(uint256 opCode, uint256 expected, uint256 actual);
    /// @notice The op's inputs list has `inputs` entries, not the op's arity.
    error GraphIndexArity(uint256 opCode, uint256 inputs);
    /// @notice The list whose length word is word `word` has `n` entries, more than the descriptor's `length` words hold.
    error GraphIndexListLength(uint256 opCode, uint256 word, uint256 n, uint256 length);
    /// @notice Descriptor word `word` holds `value`, outside the field's range.
    error GraphIndexField(uint256 opCode, uint256 word, int256 value);
    /// @notice The shape starting at word `at` has rank `rank`: 0, above 16, or past the list's `length` words.
    error GraphIndexShapeRank(uint256 at, uint256 rank, uint256 length);
    /// @notice Dimension `axis` of shape `shape` is `dim`: 0 or above 2^32 − 1.
    error GraphIndexShapeDim(uint256 shape, uint256 axis, uint256 dim);
    /// @notice Shape `shape` has more than 2^64 − 1 elements.
    error GraphIndexShapeSize(uint256 shape);
    /// @notice `actual` shapes given; the op takes `expected` (its inputs and value, then its constants').
    error GraphIndexShapeCount(uint256 opCode, uint256 expected, uint256 actual);
    /// @notice Shape `shape` has rank `actual`; the op needs `expected` there.
    error GraphIndexShapeRankMismatch(uint256 opCode, uint256 shape, uint256 expected, uint256 actual);
    /// @notice Dimension `axis` of shape `shape` is `actual`; the op's fields and other shapes make it `expected`.
    error GraphIndexShapeMismatch(uint256 opCode, uint256 shape, uint256 axis, uint256 expected, uint256 actual);
    /// @notice A view of `actual` elements over an input of `expected` (Reshape).
    error GraphIndexSizeMismatch(uint256 opCode, uint256 expected, uint256 actual);
    /// @notice Row `row` of a reduce stage with `rows` rows.
    error GraphIndexRowOutOfRange(uint256 row, uint256 rows);
    /// @notice Terms [from, to) are not 1 … 256 terms of a row of `rowLength`.
    error GraphIndexTermRange(uint256 from, uint256 to, uint256 rowLength);
    /// @notice Chunk `chunk` of a row of `chunks` chunks.
    error GraphIndexChunkOutOfRange(uint256 chunk, uint256 chunks);
    /// @notice Element `element` of a tensor of `elements`.
    error GraphIndexElementOutOfRange(uint256 element, uint256 elements);
    /// @notice Input slot `slot` of an op with `inputs` inputs.
    error GraphIndexSlotOutOfRange(uint256 slot, uint256 inputs);
    /// @notice Op `opCode` has no weights (a pool).
    error GraphIndexNoWeights(uint256 opCode);

    /// @notice A reduce stage's geometry, decoded and checked once: what {termsOf} needs for any row.
    /// @dev Term t of row o reads (Dense) input t, weight o·R + t; (GlobalAvgPool) input o·R + t; (Conv, pools) the
    ///      window cell of channel ⌊m / Mg⌋·Cg + ⌊t / kernel⌋, m = ⌊o / plane⌋, at window offset t mod kernel, and
    ///      (Conv) weight m·R + t. Pools have Cg = Mg = 1.
    struct Reduction {
        uint256 opCode;
        /// @notice The output's elements: one row each.
        uint256 rows;
        /// @notice R: terms per row, padded cells included.
        uint256 rowLength;
        /// @notice Leaves of one weight row (⌈R/32⌉) for Dense and Conv; 0 for a pool.
        uint256 rowLeaves;
        /// @notice T: terms of one chunk ({NARROW_CHUNK_TERMS} for a Conv less than {NARROW_KERNEL_WIDTH} wide or
        ///         whose window row spans more than a word, dW·(kW − 1) ≥ 32; {CHUNK_TERMS} otherwise).
        uint256 chunkLength;
        uint256 H;
        uint256 W;
        uint256 OW;
        /// @notice OH·OW.
        uint256 plane;
        uint256 kW;
        /// @notice kH·kW.
        uint256 kernel;
        uint256 sH;
        uint256 sW;
        uint256 pT;
        uint256 pL;
        uint256 dH;
        uint256 dW;
        /// @notice Input channels per group (Conv), 1 for pools.
        uint256 Cg;
        /// @notice Output channels per group (Conv), 1 for pools.
        uint256 Mg;
    }

    // ------------------------------------------------------------------------------------------------
    // Descriptors and shapes
    // ------------------------------------------------------------------------------------------------

    /// @notice The op code: the descriptor's first word.
    /// @param d The descriptor words.
    /// @return The op code.
    function opCode(bytes32[] memory d) internal pure returns (uint256) {
        if (d.length == 0) revert GraphIndexDescriptorEmpty();
        return uint256(d[0]);
    }

    /// @notice Whether the op is a layout op (its value is a view, not committed).
    /// @param d The descriptor words.
    /// @return True for op codes 32 … 63.
    function isView(bytes32[] memory d) internal pure returns (bool) {
        uint256 code = opCode(d);
        return code >= OP_LAYOUT_MIN && code <= OP_LAYOUT_MAX;
    }

    /// @notice The number of the op's inputs (the length of its inputs list, word 1).
    /// @param d The descriptor words.
    /// @return n The input count.
    function inputCount(bytes32[] memory d) internal pure returns (uint256 n) {
        uint256 code = opCode(d);
        if (d.length < 2) revert GraphIndexDescriptorLength(code, 2, d.length);
        n = uint256(d[1]);
        if (n > d.length - 2) revert GraphIndexDescriptorLength(code, n + 2, d.length);
    }

    /// @notice The value id of input `slot` (word 2 + slot).
    /// @param d The descriptor words.
    /// @param slot The input's position in the op's inputs list.
    /// @return The value id.
    function inputValue(bytes32[] memory d, uint256 slot) internal pure returns (uint256) {
        uint256 n = inputCount(d);
        if (slot >= n) revert GraphIndexSlotOutOfRange(slot, n);
        return uint256(d[2 + slot]);
    }

    /// @notice The op's model leaf (core/graph/commitments.ts commitGraphModel):
    ///         keccak256(descriptor ‖ constant roots ‖ shape words ‖ first trace leaf), all 32-byte words.
    /// @param descriptor The descriptor words.
    /// @param constantRoots The roots of the constants the op reads, in descriptor order.
    /// @param shapes The shape words (rank, dims…, for each shape) as the leaf holds them.
    /// @param firstLeaf The trace leaf of the op's first committed stage.
    /// @return The leaf.
    function opLeafHash(
        bytes32[] memory descriptor,
        bytes32[] memory constantRoots,
        uint256[] memory shapes,
        uint256 firstLeaf
    ) internal pure returns (bytes32) {
        return keccak256(abi.encodePacked(descriptor, constantRoots, shapes, firstLeaf));
    }

    /// @notice The number of shapes in a shape word list, each checked (rank 1 … 16 inside the list, dimensions
    ///         1 … 2^32 − 1, at most 2^64 − 1 elements).
    /// @param words The shape words.
    /// @return n The shape count.
    function shapeCount(uint256[] memory words) internal pure returns (uint256 n) {
        uint256 at;
        uint256 length = words.length;
        while (at < length) {
            uint256 rank = words[at];
            if (rank == 0 || rank > MAX_RANK || rank > length - at - 1) revert GraphIndexShapeRank(at, rank, length);
            uint256 size = 1;
            for (uint256 a; a < rank; ++a) {
                uint256 dim = words[at + 1 + a];
                if (dim == 0 || dim > MAX_FIELD) revert GraphIndexShapeDim(n, a, dim);
                size *= dim; // < 2^64 · 2^32
                if (size > MAX_SIZE) revert GraphIndexShapeSize(n);
            }
            at += 1 + rank;
            ++n;
        }
    }

    /// @notice Every shape of a shape word list, checked as {shapeCount} does; each is a view into `words`.
    /// @param words The shape words.
    /// @return shapes The shapes, in order.
    function decodeShapes(uint256[] memory words) internal pure returns (uint256[][] memory shapes) {
        shapes = new uint256[][](shapeCount(words));
        uint256 at;
        for (uint256 k; k < shapes.length; ++k) {
            shapes[k] = _view(words, at);
            at += 1 + words[at];
        }
    }

    /// @notice Shape `k` of a shape word list (a view into `words`), the list checked as {shapeCount} does.
    /// @param words The shape words.
    /// @param k The shape's position.
    /// @return shape Its dimensions.
    function shapeAt(uint256[] memory words, uint256 k) internal pure returns (uint256[] memory shape) {
        uint256 n = shapeCount(words);
        if (k >= n) revert GraphIndexSlotOutOfRange(k, n);
        uint256 at;
        for (uint256 j; j < k; ++j) at += 1 + words[at];
        shape = _view(words, at);
    }

    /// @notice Shapes as words: for each, its rank and then its dimensions (the inverse of {decodeShapes}).
    /// @param shapes The shapes.
    /// @return words The shape words.
    function encodeShapes(uint256[][] memory shapes) internal pure returns (uint256[] memory words) {
        uint256 length;
        for (uint256 k; k < shapes.length; ++k) length += 1 + shapes[k].length;
        words = new uint256[](length);
        uint256 at;
        for (uint256 k; k < shapes.length; ++k) {
            uint256[] memory s = shapes[k];
            words[at++] = s.length;
            for (uint256 a; a < s.length; ++a) words[at++] = s[a];
        }
    }

    /// @notice The elements of a tensor of `shape` (its dimensions checked by the decoder: no overflow).
    /// @param shape The dimensions.
    /// @return n The product of the dimensions.
    function sizeOf(uint256[] memory shape) internal pure returns (uint256 n) {
        n = 1;
        unchecked {
            for (uint256 a; a < shape.length; ++a) n *= shape[a];
        }
    }

    // ------------------------------------------------------------------------------------------------
    // Reduce stages: Dense, Conv, MaxPool, AvgPool, GlobalAvgPool
    // ------------------------------------------------------------------------------------------------

    /// @notice Decodes and checks the geometry of an op's reduce stage (its first stage).
    /// @dev Reverts with {GraphIndexWrongOp} for ops without one.
    /// @param d The descriptor words.
    /// @param shapeWords The shape words: input, value, then the constants' (Conv: weight and bias required).
    /// @return g The geometry.
    function reduction(bytes32[] memory d, uint256[] memory shapeWords) internal pure returns (Reduction memory g) {
        uint256 code = opCode(d);
        uint256[][] memory s = decodeShapes(shapeWords);
        g.opCode = code;
        if (code == OP_DENSE) _dense(d, s, g);
        else if (code == OP_CONV) _conv(d, s, g);
        else if (code == OP_MAX_POOL || code == OP_AVG_POOL) _pool(d, s, g);
        else if (code == OP_GLOBAL_AVG_POOL) _globalPool(d, s, g);
        else revert GraphIndexWrongOp(code);
        // A narrow Conv (core/graph/reductions.ts isNarrowConv): a kernel less than 3 wide, or a window row wider than a
        // word, so that each term may be in another word of the input.
        bool narrow = code == OP_CONV && (g.kW < NARROW_KERNEL_WIDTH || g.dW * (g.kW - 1) >= CHUNK_TERMS);
        g.chunkLength = narrow ? NARROW_CHUNK_TERMS : CHUNK_TERMS;
    }

    /// @notice R, the terms of every row of the op's reduce stage (padded cells included).
    /// @param d The descriptor words.
    /// @param shapeWords The shape words.
    /// @return The row length.
    function rowLength(bytes32[] memory d, uint256[] memory shapeWords) internal pure returns (uint256) {
        return reduction(d, shapeWords).rowLength;
    }

    /// @notice Whether a reduce op's terms carry weights (a sum of products: Dense, Conv).
    /// @param g The geometry.
    /// @return True for Dense and Conv.
    function hasWeights(Reduction memory g) internal pure returns (bool) {
        return g.opCode == OP_DENSE || g.opCode == OP_CONV;
    }

    /// @notice Terms [from, to) of row `row`: each term's input element (or {PADDED}), a mask with bit t − from set
    ///         for each padded term t, and (Dense, Conv) each term's weight element; identical to
    ///         `reductionOf(…).input(row, t)` and `.weight(row, t)`.
    /// @param d The descriptor words.
    /// @param shapeWords The shape words.
    /// @param row The row (the reduce stage's element).
    /// @param from The first term.
    /// @param to One past the last term (1 … 256 terms).
    /// @return inputs Flat indices into the op's input value, {PADDED} for a padded cell.
    /// @return padded Bit t − from set: term t is a padded cell.
    /// @return weights Flat indices into the weight constant (empty for pools).
    function terms(bytes32[] memory d, uint256[] memory shapeWords, uint256 row, uint256 from, uint256 to)
        internal
        pure
        returns (uint256[] memory inputs, uint256 padded, uint256[] memory weights)
    {
        return termsOf(reduction(d, shapeWords), row, from, to);
    }

    /// @notice Chunk `chunk` of row `row`: terms [T·chunk, min(R, T·chunk + T)) (T = {Reduction}.chunkLength), as
    ///         {terms} gives them.
    /// @param d The descriptor words.
    /// @param shapeWords The shape words.
    /// @param row The row.
    /// @param chunk The chunk (0 … ⌈R/T⌉ − 1).
    /// @return inputs Flat input indices, {PADDED} for a padded cell.
    /// @return padded Bit t set: term T·chunk + t is a padded cell.
    /// @return weights Flat weight indices (empty for pools).
    function chunkTerms(bytes32[] memory d, uint256[] memory shapeWords, uint256 row, uint256 chunk)
        internal
        pure
        returns (uint256[] memory inputs, uint256 padded, uint256[] memory weights)
    {
        Reduction memory g = reduction(d, shapeWords);
        (uint256 from, uint256 to) = chunkRange(g, chunk);
        return termsOf(g, row, from, to);
    }

    /// @notice The weight leaf a chunk of row `row` reads under the weight constant's root (core/graph/commitments.ts
    ///         constantTree: one row per output channel, each in ⌈R/32⌉ whole leaves): term t's weight is byte t mod 32
    ///         of leaf ⌊t/32⌋ of the row, and a chunk's terms are all in one leaf (T divides 32).
    /// @param d The descriptor words (Dense or Conv).
    /// @param shapeWords The shape words.
    /// @param row The row.
    /// @param chunk The chunk.
    /// @return weightRow The weight row (the output channel: Dense j, Conv m = ⌊row / (OH·OW)⌋).
    /// @return leaf The leaf index: weightRow·⌈R/32⌉ + ⌊T·chunk/32⌋.
    function chunkWeightLeaf(bytes32[] memory d, uint256[] memory shapeWords, uint256 row, uint256 chunk)
        internal
        pure
        returns (uint256 weightRow, uint256 leaf)
    {
        return weightLeafOf(reduction(d, shapeWords), row, chunk);
    }

    /// @notice The chunks of one row: ⌈R/T⌉.
    /// @param g The geometry.
    /// @return The chunk count.
    function chunkCount(Reduction memory g) internal pure returns (uint256) {
        return (g.rowLength + g.chunkLength - 1) / g.chunkLength;
    }

    /// @notice The terms of chunk `chunk`: [T·chunk, min(R, T·chunk + T)).
    /// @param g The geometry.
    /// @param chunk The chunk.
    /// @return from The first term.
    /// @return to One past the last.
    function chunkRange(Reduction memory g, uint256 chunk) internal pure returns (uint256 from, uint256 to) {
        uint256 chunks = chunkCount(g);
        if (chunk >= chunks) revert GraphIndexChunkOutOfRange(chunk, chunks);
        from = chunk * g.chunkLength;
        to = from + g.chunkLength < g.rowLength ? from + g.chunkLength : g.rowLength;
    }

    /// @notice {chunkWeightLeaf} on decoded geometry.
    /// @param g The geometry.
    /// @param row The row.
    /// @param chunk The chunk.
    /// @return weightRow The weight row.
    /// @return leaf The leaf index.
    function weightLeafOf(Reduction memory g, uint256 row, uint256 chunk)
        internal
        pure
        returns (uint256 weightRow, uint256 leaf)
    {
        if (!hasWeights(g)) revert GraphIndexNoWeights(g.opCode);
        if (row >= g.rows) revert GraphIndexRowOutOfRange(row, g.rows);
        (uint256 from,) = chunkRange(g, chunk);
        weightRow = g.opCode == OP_DENSE ? row : row / g.plane;
        leaf = weightRow * g.rowLeaves + from / CHUNK_TERMS;
    }

    /// @notice {terms} on decoded geometry (decode once, map many rows).
    /// @param g The geometry.
    /// @param row The row.
    /// @param from The first term.
    /// @param to One past the last term.
    /// @return inputs Flat input indices, {PADDED} for a padded cell.
    /// @return padded Bit t − from set: term t is a padded cell.
    /// @return weights Flat weight indices (empty for pools).
    function termsOf(Reduction memory g, uint256 row, uint256 from, uint256 to)
        internal
        pure
        returns (uint256[] memory inputs, uint256 padded, uint256[] memory weights)
    {
        if (row >= g.rows) revert GraphIndexRowOutOfRange(row, g.rows);
        if (from >= to || to > g.rowLength || to - from > MAX_TERMS) revert GraphIndexTermRange(from, to, g.rowLength);
        uint256 n = to - from;
        inputs = new uint256[](n);
        weights = new uint256[](hasWeights(g) ? n : 0);
        uint256 code = g.opCode;
        unchecked {
            // Every index below is below a tensor's size (< 2^64): no overflow.
            if (code == OP_DENSE) {
                for (uint256 k; k < n; ++k) inputs[k] = from + k;
            } else if (code == OP_GLOBAL_AVG_POOL) {
                uint256 base = row * g.rowLength + from;
                for (uint256 k; k < n; ++k) inputs[k] = base + k;
            } else {
                padded = _windowTerms(g, row, from, inputs);
            }
            if (weights.length != 0) {
                // The weights of row o are contiguous: W[c·R + t], c the row's output channel.
                uint256 base = (code == OP_DENSE ? row : row / g.plane) * g.rowLength + from;
                for (uint256 k; k < n; ++k) weights[k] = base + k;
            }
        }
    }

    /// @dev The window cells of terms [from, from + inputs.length) of row `row` (Conv, MaxPool, AvgPool): channel
    ///      ⌊m / Mg⌋·Cg + ⌊t / kernel⌋ with m = ⌊row / plane⌋, input row oy·sH − pT + ky·dH and column
    ///      ox·sW − pL + kx·dW (ky, kx the window offset t mod kernel), a padded cell outside 0 … H−1 × 0 … W−1.
    function _windowTerms(Reduction memory g, uint256 row, uint256 from, uint256[] memory inputs)
        private
        pure
        returns (uint256 padded)
    {
        unchecked {
            uint256 y0; // window row 0 is y0 − pT
            uint256 x0; // window column 0 is x0 − pL
            {
                uint256 p = row % g.plane;
                y0 = (p / g.OW) * g.sH;
                x0 = (p % g.OW) * g.sW;
            }
            uint256 cBase = (row / g.plane / g.Mg) * g.Cg;
            for (uint256 k; k < inputs.length; ++k) {
                uint256 index = _cell(g, y0, x0, cBase, from + k);
                inputs[k] = index;
                if (index == PADDED) padded |= 1 << k;
            }
        }
    }

    /// @dev The input element of term t of a window whose row 0 is y0 − pT and column 0 is x0 − pL, in channel
    ///      cBase + ⌊t / kernel⌋, or {PADDED}.
    function _cell(Reduction memory g, uint256 y0, uint256 x0, uint256 cBase, uint256 t)
        private
        pure
        returns (uint256)
    {
        unchecked {
            uint256 r = t % g.kernel;
            uint256 iy = y0 + (r / g.kW) * g.dH;
            uint256 ix = x0 + (r % g.kW) * g.dW;
            if (iy < g.pT || ix < g.pL) return PADDED;
            iy -= g.pT;
            ix -= g.pL;
            if (iy >= g.H || ix >= g.W) return PADDED;
            return ((cBase + t / g.kernel) * g.H + iy) * g.W + ix;
        }
    }

    /// @dev Dense: 1, [1, x], weight, bias, L, [m, s if L = 1], lo, hi. Shapes [nIn], [nOut] (+ [nOut, nIn], [nOut],
    ///      and [L, 2] for L > 1).
    function _dense(bytes32[] memory d, uint256[][] memory s, Reduction memory g) private pure {
        uint256 channels = _checkRequantised(d, OP_DENSE, 5);
        _shapeCount(OP_DENSE, s.length, 1, channels > 1 ? 3 : 2, false);
        _requantShape(OP_DENSE, s, channels);
        uint256 nIn = _rank(OP_DENSE, s, 0, 1)[0];
        uint256 nOut = _rank(OP_DENSE, s, 1, 1)[0];
        if (s.length > 2) {
            _expectDim(OP_DENSE, s, 2, 0, nOut, 2);
            _expectDim(OP_DENSE, s, 2, 1, nIn, 2);
            _expectDim(OP_DENSE, s, 3, 0, nOut, 1);
        }
        g.rows = nOut;
        g.rowLength = nIn;
        g.rowLeaves = (nIn + CHUNK_TERMS - 1) / CHUNK_TERMS;
    }

    /// @dev Conv: 2, [1, x], weight, bias, sH, sW, pT, pL, pB, pR, dH, dW, groups, L, [m, s if L = 1], lo, hi.
    ///      Shapes [C, H, W], [M, OH, OW], [M, C/G, kH, kW], [M] (and [L, 2] for L > 1).
    function _conv(bytes32[] memory d, uint256[][] memory s, Reduction memory g) private pure {
        uint256 channels = _checkRequantised(d, OP_CONV, 14);
        _shapeCount(OP_CONV, s.length, 1, channels > 1 ? 3 : 2, true);
        _requantShape(OP_CONV, s, channels);
        uint256[] memory x = _rank(OP_CONV, s, 0, 3);
        uint256[] memory y = _rank(OP_CONV, s, 1, 3);
        uint256[] memory w = _rank(OP_CONV, s, 2, 4);
        uint256 groups = _field(d, OP_CONV, 13, 1);
        uint256 M = y[0];
        if (x[0] % groups != 0) revert GraphIndexShapeMismatch(OP_CONV, 0, 0, (x[0] / groups + 1) * groups, x[0]);
        if (M % groups != 0) revert GraphIndexShapeMismatch(OP_CONV, 1, 0, (M / groups + 1) * groups, M);
        _expectDim(OP_CONV, s, 2, 0, M, 4);
        _expectDim(OP_CONV, s, 2, 1, x[0] / groups, 4);
        _expectDim(OP_CONV, s, 3, 0, M, 1);
        _window(d, OP_CONV, x, y, w[2], w[3], 5, g);
        g.Cg = x[0] / groups;
        g.Mg = M / groups;
        g.rows = M * g.plane;
        g.rowLength = g.Cg * g.kernel;
        g.rowLeaves = (g.rowLength + CHUNK_TERMS - 1) / CHUNK_TERMS;
    }

    /// @dev MaxPool: 3, [1, x], kH, kW, sH, sW, pT, pL, pB, pR, dH, dW. AvgPool: the same, then m, s, lo, hi.
    ///      Shapes [C, H, W], [C, OH, OW].
    function _pool(bytes32[] memory d, uint256[][] memory s, Reduction memory g) private pure {
        uint256 code = g.opCode;
        _checkFixed(d, code, code == OP_MAX_POOL ? 13 : 17, 1);
        _shapeCount(code, s.length, 1, 0, false);
        uint256[] memory x = _rank(code, s, 0, 3);
        uint256[] memory y = _rank(code, s, 1, 3);
        _expectDim(code, s, 1, 0, x[0], 3);
        _window(d, code, x, y, _field(d, code, 3, 1), _field(d, code, 4, 1), 5, g);
        g.Cg = 1;
        g.Mg = 1;
        g.rows = x[0] * g.plane;
        g.rowLength = g.kernel;
    }

    /// @dev GlobalAvgPool: 5, [1, x], m, s, lo, hi. Shapes [C, H, W], [C, 1, 1].
    function _globalPool(bytes32[] memory d, uint256[][] memory s, Reduction memory g) private pure {
        _checkFixed(d, OP_GLOBAL_AVG_POOL, 7, 1);
        _shapeCount(OP_GLOBAL_AVG_POOL, s.length, 1, 0, false);
        uint256[] memory x = _rank(OP_GLOBAL_AVG_POOL, s, 0, 3);
        _rank(OP_GLOBAL_AVG_POOL, s, 1, 3);
        _expectDim(OP_GLOBAL_AVG_POOL, s, 1, 0, x[0], 3);
        _expectDim(OP_GLOBAL_AVG_POOL, s, 1, 1, 1, 3);
        _expectDim(OP_GLOBAL_AVG_POOL, s, 1, 2, 1, 3);
        g.rows = x[0];
        g.rowLength = x[1] * x[2];
    }

    /// @dev The sliding window of Conv and the pools: strides at `at`, pads at `at` + 2, dilations at `at` + 6; the
    ///      output's H and W must be ⌊(n + pb + pe − d·(k − 1) − 1) / s⌋ + 1 (geometry.ts windowOutputSize).
    function _window(
        bytes32[] memory d,
        uint256 code,
        uint256[] memory x,
        uint256[] memory y,
        uint256 kH,
        uint256 kW,
        uint256 at,
        Reduction memory g
    ) private pure {
        g.H = x[1];
        g.W = x[2];
        g.kW = kW;
        g.kernel = kH * kW;
        g.sH = _field(d, code, at, 1);
        g.sW = _field(d, code, at + 1, 1);
        g.pT = _field(d, code, at + 2, 0);
        g.pL = _field(d, code, at + 3, 0);
        g.dH = _field(d, code, at + 6, 1);
        g.dW = _field(d, code, at + 7, 1);
        uint256 OH = _outputSize(g.H, kH, g.sH, g.pT, _field(d, code, at + 4, 0), g.dH);
        uint256 OW = _outputSize(g.W, kW, g.sW, g.pL, _field(d, code, at + 5, 0), g.dW);
        if (y[1] != OH) revert GraphIndexShapeMismatch(code, 1, 1, OH, y[1]);
        if (y[2] != OW) revert GraphIndexShapeMismatch(code, 1, 2, OW, y[2]);
        g.OW = OW;
        g.plane = OH * OW;
    }

    /// @dev ⌊(n + pb + pe − d·(k − 1) − 1) / s⌋ + 1, or 0 where no window fits. All arguments < 2^32.
    function _outputSize(uint256 n, uint256 k, uint256 s, uint256 pb, uint256 pe, uint256 dil)
        private
        pure
        returns (uint256)
    {
        uint256 span = dil * (k - 1) + 1;
        uint256 room = n + pb + pe;
        return room < span ? 0 : (room - span) / s + 1;
    }

    /// @dev Dense/Conv structure: exactly the fixed words before the requantisation channel count L (at `listAt`),
    ///      then the multiplier and the shift when L = 1 (none for L > 1: they are the op's requantisation
    ///      constant), and two clamp words; one input. Returns L.
    function _checkRequantised(bytes32[] memory d, uint256 code, uint256 listAt) private pure returns (uint256 channels) {
        uint256 length = d.length;
        if (length < listAt + 3) revert GraphIndexDescriptorLength(code, listAt + 3, length);
        if (uint256(d[1]) != 1) revert GraphIndexArity(code, uint256(d[1]));
        channels = _field(d, code, listAt, 1);
        uint256 loAt = channels == 1 ? listAt + 3 : listAt + 1;
        if (loAt + 2 != length) revert GraphIndexDescriptorLength(code, loAt + 2, length);
    }

    /// @dev With L > 1 channels and the constants' shapes given, the requantisation constant's shape (shape 4) is [L, 2].
    function _requantShape(uint256 code, uint256[][] memory s, uint256 channels) private pure {
        if (channels == 1 || s.length < 5) return;
        _expectDim(code, s, 4, 0, channels, 2);
        _expectDim(code, s, 4, 1, 2, 2);
    }

    // ------------------------------------------------------------------------------------------------
    // Elementwise ops: Add, Mul (broadcasting), Clamp, Table
    // ------------------------------------------------------------------------------------------------

    /// @notice Output element `element` of an Add, Mul, Clamp or Table reads element `index[k]` of its input k
    ///         (`broadcastIndexMap(inShape_k, outShape)(element)`; Clamp and Table: the element itself).
    /// @param d The descriptor words.
    /// @param shapeWords The shape words: the inputs', the value's (Table: optionally the table's, [256]).
    /// @param element The output element.
    /// @return index One flat index per input, in descriptor order.
    function elementInputs(bytes32[] memory d, uint256[] memory shapeWords, uint256 element)
        internal
        pure
        returns (uint256[] memory index)
    {
        uint256 code = opCode(d);
        uint256[][] memory s = decodeShapes(shapeWords);
        if (code == OP_ADD || code == OP_MUL) {
            _checkFixed(d, code, code == OP_ADD ? 10 : 8, 2);
            _shapeCount(code, s.length, 2, 0, false);
            uint256[] memory out = s[2];
            uint256 rank = out.length;
            _rank(code, s, 0, rank);
            _rank(code, s, 1, rank);
            for (uint256 a; a < rank; ++a) {
                (uint256 da, uint256 db) = (s[0][a], s[1][a]);
                uint256 want = da > db ? da : db;
                if (out[a] != want) revert GraphIndexShapeMismatch(code, 2, a, want, out[a]);
                if (da != want && da != 1) revert GraphIndexShapeMismatch(code, 0, a, want, da);
                if (db != want && db != 1) revert GraphIndexShapeMismatch(code, 1, a, want, db);
            }
            uint256 size = sizeOf(out);
            if (element >= size) revert GraphIndexElementOutOfRange(element, size);
            index = new uint256[](2);
            index[0] = broadcastIndex(s[0], out, element);
            index[1] = broadcastIndex(s[1], out, element);
            return index;
        }
        if (code == OP_CLAMP || code == OP_TABLE) {
            _checkFixed(d, code, code == OP_CLAMP ? 5 : 4, 1);
            _shapeCount(code, s.length, 1, code == OP_TABLE ? 1 : 0, false);
            _sameShape(code, s, 1, s[0]);
            if (s.length > 2) {
                _rank(code, s, 2, 1);
                _expectDim(code, s, 2, 0, 256, 1);
            }
            uint256 size = sizeOf(s[1]);
            if (element >= size) revert GraphIndexElementOutOfRange(element, size);
            index = new uint256[](1);
            index[0] = element;
            return index;
        }
        revert GraphIndexWrongOp(code);
    }

    /// @notice The element of an operand of `shape` that broadcasting reads for output element `i` of `outShape`
    ///         (geometry.ts broadcastIndexMap): coordinate a is kept where the operand has the dimension, 0 where
    ///         it has 1. The shapes must broadcast (same rank, each operand dimension equal or 1); unchecked here.
    /// @param shape The operand's dimensions.
    /// @param outShape The output's dimensions.
    /// @param i The output element.
    /// @return j The operand's flat index.
    function broadcastIndex(uint256[] memory shape, uint256[] memory outShape, uint256 i)
        internal
        pure
        returns (uint256 j)
    {
        if (sizeOf(shape) == sizeOf(outShape)) return i;
        unchecked {
            uint256 stride = 1;
            for (uint256 a = outShape.length; a > 0;) {
                --a;
                uint256 dim = outShape[a];
                uint256 coord = i % dim;
                i /= dim;
                if (shape[a] != 1) j += coord * stride;
                stride *= shape[a];
            }
        }
    }

    // ------------------------------------------------------------------------------------------------
    // Layout ops (views): Flatten, Reshape, Transpose, Concat, Slice
    // ------------------------------------------------------------------------------------------------

    /// @notice Element `element` of a layout op's value is element `index` of its input `slot` (value `value`):
    ///         views.ts viewMap. To reach a committed tensor, repeat with the input's op while it is a view.
    /// @param d The descriptor words.
    /// @param shapeWords The shape words: the inputs', then the value's.
    /// @param element The view's element.
    /// @return slot The input's position in the op's inputs list.
    /// @return value The input's value id.
    /// @return index The flat index in that input.
    function viewSource(bytes32[] memory d, uint256[] memory shapeWords, uint256 element)
        internal
        pure
        returns (uint256 slot, uint256 value, uint256 index)
    {
        uint256 code = opCode(d);
        uint256[][] memory s = decodeShapes(shapeWords);
        if (code == OP_CONCAT) {
            (uint256 n, uint256 axis) = _concatCheck(d, s);
            uint256 size = sizeOf(s[n]);
            if (element >= size) revert GraphIndexElementOutOfRange(element, size);
            (slot, index) = _concat(s, n, axis, element);
        } else {
            if (code == OP_FLATTEN) _flatten(d, s);
            else if (code == OP_RESHAPE) _reshape(d, s);
            else if (code == OP_TRANSPOSE) _transposeCheck(d, s);
            else if (code == OP_SLICE) _sliceCheck(d, s);
            else revert GraphIndexWrongOp(code);
            uint256 size = sizeOf(s[1]);
            if (element >= size) revert GraphIndexElementOutOfRange(element, size);
            if (code == OP_TRANSPOSE) index = _transpose(d, s, element);
            else if (code == OP_SLICE) index = _slice(d, s, element);
            else index = element;
        }
        value = uint256(d[2 + slot]);
    }

    /// @notice {viewSource} of many elements of one layout op's value: the descriptor and shapes are decoded and
    ///         checked once, then each element is mapped (a step whose operands sit behind a view maps up to 32).
    /// @param d The descriptor words.
    /// @param shapeWords The shape words: the inputs', then the value's.
    /// @param elements The view's elements.
    /// @return slots Each element's input slot.
    /// @return values Each element's input value id.
    /// @return indices Each element's flat index in that input.
    function viewSources(bytes32[] memory d, uint256[] memory shapeWords, uint256[] memory elements)
        internal
        pure
        returns (uint256[] memory slots, uint256[] memory values, uint256[] memory indices)
    {
        opCode(d); // refuses an empty descriptor before anything else, as {viewSource}
        uint256[][] memory s = decodeShapes(shapeWords);
        uint256[3] memory how = _viewCheck(d, s);
        uint256 count = elements.length;
        slots = new uint256[](count);
        indices = new uint256[](count);
        _viewMapAll(d, s, how, elements, slots, indices);
        values = new uint256[](count);
        for (uint256 q; q < count;) {
            values[q] = uint256(d[2 + slots[q]]);
            unchecked {
                ++q;
            }
        }
    }

    /// @dev {viewSources}' maps, in one pass: each element checked in range and mapped as {viewSource} maps it, the
    ///      op's geometry (a Transpose's input strides, a Concat's inner size) computed once.
    function _viewMapAll(
        bytes32[] memory d,
        uint256[][] memory s,
        uint256[3] memory how,
        uint256[] memory elements,
        uint256[] memory slots,
        uint256[] memory indices
    ) private pure {
        uint256 size = sizeOf(s[how[1]]);
        uint256 code = how[0];
        uint256[] memory inStrides = code == OP_TRANSPOSE ? _transposeStrides(s[0]) : new uint256[](0);
        uint256 inner = code == OP_CONCAT ? _concatInner(s[how[1]], how[2]) : 1;
        for (uint256 q; q < elements.length;) {
            uint256 e = elements[q];
            if (e >= size) revert GraphIndexElementOutOfRange(e, size);
            if (code == OP_CONCAT) (slots[q], indices[q]) = _concatWith(s, how[1], how[2], inner, e);
            else if (code == OP_TRANSPOSE) indices[q] = _transposeWith(d, s[1], inStrides, e);
            else if (code == OP_SLICE) indices[q] = _slice(d, s, e);
            else indices[q] = e;
            unchecked {
                ++q;
            }
        }
    }

    /// @dev {viewSources}' checks, as {viewSource} makes them: [the op code, the input count n (the value's shape is
    ///      shape n), a Concat's axis].
    function _viewCheck(bytes32[] memory d, uint256[][] memory s) private pure returns (uint256[3] memory how) {
        uint256 code = opCode(d);
        (how[0], how[1]) = (code, 1);
        if (code == OP_CONCAT) (how[1], how[2]) = _concatCheck(d, s);
        else if (code == OP_FLATTEN) _flatten(d, s);
        else if (code == OP_RESHAPE) _reshape(d, s);
        else if (code == OP_TRANSPOSE) _transposeCheck(d, s);
        else if (code == OP_SLICE) _sliceCheck(d, s);
        else revert GraphIndexWrongOp(code);
    }

    /// @dev Flatten: 32, [1, x]. Shapes s, [size(s)].
    function _flatten(bytes32[] memory d, uint256[][] memory s) private pure {
        _checkFixed(d, OP_FLATTEN, 3, 1);
        _shapeCount(OP_FLATTEN, s.length, 1, 0, false);
        _rank(OP_FLATTEN, s, 1, 1);
        _expectDim(OP_FLATTEN, s, 1, 0, sizeOf(s[0]), 1);
    }

    /// @dev Reshape: 33, [1, x], [n, dims…]. Shapes s, dims (same size).
    function _reshape(bytes32[] memory d, uint256[][] memory s) private pure {
        uint256 n = _listLength(d, OP_RESHAPE, 3);
        _shapeCount(OP_RESHAPE, s.length, 1, 0, false);
        _rank(OP_RESHAPE, s, 1, n);
        for (uint256 a; a < n; ++a) _expectDim(OP_RESHAPE, s, 1, a, _field(d, OP_RESHAPE, 4 + a, 1), n);
        uint256 size = sizeOf(s[0]);
        if (sizeOf(s[1]) != size) revert GraphIndexSizeMismatch(OP_RESHAPE, size, sizeOf(s[1]));
    }

    /// @dev Transpose: 34, [1, x], [r, perm…]. Shapes s, [s[perm[0]], …]; perm a permutation of 0 … r − 1.
    function _transposeCheck(bytes32[] memory d, uint256[][] memory s) private pure {
        uint256 r = _listLength(d, OP_TRANSPOSE, 3);
        _shapeCount(OP_TRANSPOSE, s.length, 1, 0, false);
        _rank(OP_TRANSPOSE, s, 0, r);
        _rank(OP_TRANSPOSE, s, 1, r);
        uint256 seen;
        for (uint256 a; a < r; ++a) {
            uint256 p = uint256(d[4 + a]);
            if (p >= r || (seen >> p) & 1 != 0) revert GraphIndexField(OP_TRANSPOSE, 4 + a, int256(uint256(d[4 + a])));
            seen |= 1 << p;
            _expectDim(OP_TRANSPOSE, s, 1, a, s[0][p], r);
        }
    }

    /// @dev Output coordinates o → input index Σ_a o[a]·inStride[perm[a]].
    function _transpose(bytes32[] memory d, uint256[][] memory s, uint256 i) private pure returns (uint256) {
        return _transposeWith(d, s[1], _transposeStrides(s[0]), i);
    }

    /// @dev The row-major strides of the input `x` of a Transpose.
    function _transposeStrides(uint256[] memory x) private pure returns (uint256[] memory inStrides) {
        uint256 r = x.length;
        inStrides = new uint256[](r);
        unchecked {
            uint256 st = 1;
            for (uint256 a = r; a > 0;) {
                --a;
                inStrides[a] = st;
                st *= x[a];
            }
        }
    }

    /// @dev {_transpose} of output element i of shape `y`, the input's strides given. The perm words d[4 …] are a
    ///      permutation of 0 … r − 1 and every dimension of y is at least 1 ({_transposeCheck}): every read is in range.
    function _transposeWith(bytes32[] memory d, uint256[] memory y, uint256[] memory inStrides, uint256 i)
        private
        pure
        returns (uint256 index)
    {
        assembly ("memory-safe") {
            for { let a := mload(y) } a {} {
                let dim := mload(add(y, shl(5, a))) // y[a − 1]
                let perm := mload(add(d, shl(5, add(a, 4)))) // d[4 + a − 1]
                index := add(index, mul(mod(i, dim), mload(add(inStrides, shl(5, add(perm, 1))))))
                i := div(i, dim)
                a := sub(a, 1)
            }
        }
    }

    /// @dev Concat: 35, [n, x…], axis. Shapes s_0 … s_{n−1}, out: same rank, equal off `axis`, out[axis] = Σ s_k[axis].
    ///      Returns the input count and the axis.
    function _concatCheck(bytes32[] memory d, uint256[][] memory s) private pure returns (uint256 n, uint256 axis) {
        uint256 length = d.length;
        if (length < 4) revert GraphIndexDescriptorLength(OP_CONCAT, 4, length);
        n = uint256(d[1]);
        if (n == 0 || n > length - 3) revert GraphIndexArity(OP_CONCAT, n);
        if (length != n + 3) revert GraphIndexDescriptorLength(OP_CONCAT, n + 3, length);
        _shapeCount(OP_CONCAT, s.length, n, 0, false);
        uint256[] memory out = s[n];
        uint256 rank = out.length;
        axis = uint256(d[n + 2]);
        if (axis >= rank) revert GraphIndexField(OP_CONCAT, n + 2, int256(axis));
        uint256 along;
        for (uint256 k; k < n; ++k) {
            _rank(OP_CONCAT, s, k, rank);
            for (uint256 a; a < rank; ++a) if (a != axis) _expectDim(OP_CONCAT, s, k, a, out[a], rank);
            along += s[k][axis];
        }
        if (out[axis] != along) revert GraphIndexShapeMismatch(OP_CONCAT, n, axis, along, out[axis]);
    }

    /// @dev Element (outer, c, inner) of the output, c its coordinate along the axis, reads input k with
    ///      offset_k ≤ c < offset_k + s_k[axis] at (outer·s_k[axis] + c − offset_k)·inner + inner position.
    function _concat(uint256[][] memory s, uint256 n, uint256 axis, uint256 i)
        private
        pure
        returns (uint256 slot, uint256 index)
    {
        return _concatWith(s, n, axis, _concatInner(s[n], axis), i);
    }

    /// @dev The elements of one step along `axis` of the output `out`: the product of the dimensions after it.
    function _concatInner(uint256[] memory out, uint256 axis) private pure returns (uint256 inner) {
        inner = 1;
        unchecked {
            for (uint256 a = axis + 1; a < out.length; ++a) inner *= out[a];
        }
    }

    /// @dev {_concat} of element i, `inner` given.
    function _concatWith(uint256[][] memory s, uint256 n, uint256 axis, uint256 inner, uint256 i)
        private
        pure
        returns (uint256 slot, uint256 index)
    {
        unchecked {
            uint256 along = s[n][axis];
            uint256 c = (i / inner) % along;
            uint256 offset;
            while (c >= offset + s[slot][axis]) offset += s[slot++][axis];
            index = ((i / (inner * along)) * s[slot][axis] + c - offset) * inner + i % inner;
        }
    }

    /// @dev Slice: 36, [1, x], [r, starts…], [r, steps…], [r, sizes…]. Shapes s, sizes. On every axis 0 ≤ start < s[a],
    ///      step ≠ 0 and the last index start + (size − 1)·step inside 0 … s[a] − 1.
    function _sliceCheck(bytes32[] memory d, uint256[][] memory s) private pure {
        uint256 length = d.length;
        if (length < 4) revert GraphIndexDescriptorLength(OP_SLICE, 4, length);
        if (uint256(d[1]) != 1) revert GraphIndexArity(OP_SLICE, uint256(d[1]));
        uint256 stepsAt = _listEnd(d, OP_SLICE, 3);
        uint256 sizesAt = _listEnd(d, OP_SLICE, stepsAt);
        uint256 end = _listEnd(d, OP_SLICE, sizesAt);
        if (end != length) revert GraphIndexDescriptorLength(OP_SLICE, end, length);
        _shapeCount(OP_SLICE, s.length, 1, 0, false);
        uint256[] memory x = s[0];
        uint256 r = x.length;
        if (uint256(d[3]) != r) revert GraphIndexField(OP_SLICE, 3, int256(uint256(d[3])));
        if (uint256(d[stepsAt]) != r) revert GraphIndexField(OP_SLICE, stepsAt, int256(uint256(d[stepsAt])));
        if (uint256(d[sizesAt]) != r) revert GraphIndexField(OP_SLICE, sizesAt, int256(uint256(d[sizesAt])));
        _rank(OP_SLICE, s, 1, r);
        for (uint256 a; a < r; ++a) {
            int256 start = int256(_field(d, OP_SLICE, 4 + a, 0));
            int256 step = _signedField(d, OP_SLICE, stepsAt + 1 + a);
            uint256 count = _field(d, OP_SLICE, sizesAt + 1 + a, 1);
            _expectDim(OP_SLICE, s, 1, a, count, r);
            int256 last = start + int256(count - 1) * step; // |·| < 2^65
            if (start >= int256(x[a])) revert GraphIndexField(OP_SLICE, 4 + a, start);
            if (last < 0 || last >= int256(x[a])) revert GraphIndexField(OP_SLICE, stepsAt + 1 + a, step);
        }
    }

    /// @dev Input index Σ_a (starts[a] + o[a]·steps[a])·inStride[a] (every term inside its axis: checked).
    function _slice(bytes32[] memory d, uint256[][] memory s, uint256 i) private pure returns (uint256 index) {
        uint256[] memory x = s[0];
        uint256[] memory y = s[1];
        uint256 r = x.length;
        uint256 stepsAt = 4 + r;
        unchecked {
            uint256 stride = 1;
            for (uint256 a = r; a > 0;) {
                --a;
                int256 coord = int256(i % y[a]);
                i /= y[a];
                int256 at = int256(uint256(d[4 + a])) + coord * int256(uint256(d[stepsAt + 1 + a]));
                index += uint256(at) * stride;
                stride *= x[a];
            }
        }
    }

    // ------------------------------------------------------------------------------------------------
    // Helpers
    // ------------------------------------------------------------------------------------------------

    /// @dev The shape starting at word `at` of `words`, in place: its rank word is the array's length word.
    function _view(uint256[] memory words, uint256 at) private pure returns (uint256[] memory shape) {
        assembly ("memory-safe") {
            shape := add(words, mul(add(at, 1), 0x20))
        }
    }

    /// @dev Exactly `length` words and `arity` inputs.
    function _checkFixed(bytes32[] memory d, uint256 code, uint256 length, uint256 arity) private pure {
        if (d.length != length) revert GraphIndexDescriptorLength(code, length, d.length);
        if (uint256(d[1]) != arity) revert GraphIndexArity(code, uint256(d[1]));
    }

    /// @dev One input and one list at word 3 that ends the descriptor; returns the list's length.
    function _listLength(bytes32[] memory d, uint256 code, uint256 at) private pure returns (uint256 n) {
        uint256 length = d.length;
        if (length <= at) revert GraphIndexDescriptorLength(code, at + 1, length);
        if (uint256(d[1]) != 1) revert GraphIndexArity(code, uint256(d[1]));
        uint256 end = _listEnd(d, code, at);
        if (end != length) revert GraphIndexDescriptorLength(code, end, length);
        n = uint256(d[at]);
    }

    /// @dev The word after the list whose length word is at `at` (which must exist, as must the list).
    function _listEnd(bytes32[] memory d, uint256 code, uint256 at) private pure returns (uint256) {
        uint256 length = d.length;
        if (at >= length) revert GraphIndexDescriptorLength(code, at + 1, length);
        uint256 n = uint256(d[at]);
        if (n > length - at - 1) revert GraphIndexListLength(code, at, n, length);
        return at + 1 + n;
    }

    /// @dev Word `at` as a field in min … 2^32 − 1 (a negative word is far above: refused).
    function _field(bytes32[] memory d, uint256 code, uint256 at, uint256 min) private pure returns (uint256 v) {
        v = uint256(d[at]);
        if (v < min || v > MAX_FIELD) revert GraphIndexField(code, at, int256(v));
    }

    /// @dev Word `at` as a non-zero signed field with |v| ≤ 2^32 − 1.
    function _signedField(bytes32[] memory d, uint256 code, uint256 at) private pure returns (int256 v) {
        v = int256(uint256(d[at]));
        if (v == 0 || v > int256(MAX_FIELD) || v < -int256(MAX_FIELD)) revert GraphIndexField(code, at, v);
    }

    /// @dev `count` shapes: the inputs' and the value's, then (if `required`, or if given) the constants'.
    function _shapeCount(uint256 code, uint256 count, uint256 inputs, uint256 constants, bool required)
        private
        pure
    {
        uint256 base = inputs + 1;
        if (count == base + constants && constants > 0) return;
        if (count == base && !required) return;
        revert GraphIndexShapeCount(code, required ? base + constants : base, count);
    }

    /// @dev Shape `k`, which must have rank `rank`.
    function _rank(uint256 code, uint256[][] memory s, uint256 k, uint256 rank)
        private
        pure
        returns (uint256[] memory shape)
    {
        shape = s[k];
        if (shape.length != rank) revert GraphIndexShapeRankMismatch(code, k, rank, shape.length);
    }

    /// @dev Shape `k` has rank `rank` and dimension `axis` equal to `want`.
    function _expectDim(uint256 code, uint256[][] memory s, uint256 k, uint256 axis, uint256 want, uint256 rank)
        private
        pure
    {
        uint256[] memory shape = _rank(code, s, k, rank);
        if (shape[axis] != want) revert GraphIndexShapeMismatch(code, k, axis, want, shape[axis]);
    }

    /// @dev Shape `k` equals `want`.
    function _sameShape(uint256 code, uint256[][] memory s, uint256 k, uint256[] memory want) private pure {
        _rank(code, s, k, want.length);
        for (uint256 a; a < want.length; ++a) _expectDim(code, s, k, a, want[a], want.length);
    }
}
