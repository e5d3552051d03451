// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {LibGraphIndex} from "../lib/graph/LibGraphIndex.sol";

/// @title GraphIndexHarness
/// @notice Exposes {LibGraphIndex} to test/graph/graphIndex.differential.test.ts: each library function once, batches
///         of many positions in one eth_call (each position through the library's full entry point: the
///         descriptor and shapes are decoded and checked anew every time, as a game would), the walk down a chain
///         of views as a game would do it, and the gas of single calls. Not deployed in production.
contract GraphIndexHarness {
    // ------------------------------------------------------------------------------------------------
    // Single calls
    // ------------------------------------------------------------------------------------------------

    function opLeafHash(
        bytes32[] calldata descriptor,
        bytes32[] calldata constantRoots,
        uint256[] calldata shapes,
        uint256 firstLeaf
    ) external pure returns (bytes32) {
        return LibGraphIndex.opLeafHash(descriptor, constantRoots, shapes, firstLeaf);
    }

    function decodeShapes(uint256[] calldata words) external pure returns (uint256[][] memory) {
        return LibGraphIndex.decodeShapes(words);
    }

    function encodeShapes(uint256[][] calldata shapes) external pure returns (uint256[] memory) {
        return LibGraphIndex.encodeShapes(shapes);
    }

    function shapeAt(uint256[] calldata words, uint256 k) external pure returns (uint256[] memory) {
        return LibGraphIndex.shapeAt(words, k);
    }

    function inputValue(bytes32[] calldata d, uint256 slot) external pure returns (uint256) {
        return LibGraphIndex.inputValue(d, slot);
    }

    function isView(bytes32[] calldata d) external pure returns (bool) {
        return LibGraphIndex.isView(d);
    }

    /// @notice The reduce stage's rows, row length, whether its terms carry weights, and its chunks' length and count.
    function reductionInfo(bytes32[] calldata d, uint256[] calldata shapes)
        external
        pure
        returns (uint256 rows, uint256 rowLength, bool weights, uint256 chunkLength, uint256 chunks)
    {
        LibGraphIndex.Reduction memory g = LibGraphIndex.reduction(d, shapes);
        return (
            g.rows, LibGraphIndex.rowLength(d, shapes), LibGraphIndex.hasWeights(g), g.chunkLength, LibGraphIndex.chunkCount(g)
        );
    }

    function terms(bytes32[] calldata d, uint256[] calldata shapes, uint256 row, uint256 from, uint256 to)
        external
        pure
        returns (uint256[] memory inputs, uint256 padded, uint256[] memory weights)
    {
        return LibGraphIndex.terms(d, shapes, row, from, to);
    }

    function chunkTerms(bytes32[] calldata d, uint256[] calldata shapes, uint256 row, uint256 chunk)
        external
        pure
        returns (uint256[] memory inputs, uint256 padded, uint256[] memory weights)
    {
        return LibGraphIndex.chunkTerms(d, shapes, row, chunk);
    }

    function chunkWeightLeaf(bytes32[] calldata d, uint256[] calldata shapes, uint256 row, uint256 chunk)
        external
        pure
        returns (uint256 weightRow, uint256 leaf)
    {
        return LibGraphIndex.chunkWeightLeaf(d, shapes, row, chunk);
    }

    function elementInputs(bytes32[] calldata d, uint256[] calldata shapes, uint256 element)
        external
        pure
        returns (uint256[] memory)
    {
        return LibGraphIndex.elementInputs(d, shapes, element);
    }

    function viewSource(bytes32[] calldata d, uint256[] calldata shapes, uint256 element)
        external
        pure
        returns (uint256 slot, uint256 value, uint256 index)
    {
        return LibGraphIndex.viewSource(d, shapes, element);
    }

    // ------------------------------------------------------------------------------------------------
    // Batches
    // ------------------------------------------------------------------------------------------------

    /// @notice What {chunkBatch} gives: the terms of every chunk concatenated (`counts[q]` each), the padded masks,
    ///         the weight indices concatenated, and (Dense, Conv) the weight row and leaf of each chunk, two words each.
    struct Chunks {
        uint256[] inputs;
        uint256[] counts;
        uint256[] padded;
        uint256[] weights;
        uint256[] leaves;
    }

    /// @notice Chunk `queries[2q + 1]` of row `queries[2q]` for every q.
    function chunkBatch(bytes32[] calldata d, uint256[] calldata shapes, uint256[] calldata queries)
        external
        pure
        returns (Chunks memory r)
    {
        uint256 n = queries.length / 2;
        uint256[][] memory ins = new uint256[][](n);
        uint256[][] memory ws = new uint256[][](n);
        r.counts = new uint256[](n);
        r.padded = new uint256[](n);
        bool withWeights = LibGraphIndex.hasWeights(LibGraphIndex.reduction(d, shapes));
        r.leaves = new uint256[](withWeights ? 2 * n : 0);
        for (uint256 q; q < n; ++q) {
            (ins[q], r.padded[q], ws[q]) = LibGraphIndex.chunkTerms(d, shapes, queries[2 * q], queries[2 * q + 1]);
            r.counts[q] = ins[q].length;
            if (withWeights) {
                (r.leaves[2 * q], r.leaves[2 * q + 1]) =
                    LibGraphIndex.chunkWeightLeaf(d, shapes, queries[2 * q], queries[2 * q + 1]);
            }
        }
        r.inputs = _flatten(ins);
        r.weights = _flatten(ws);
    }

    /// @notice Terms [from, to) of row `row` for every query (row, from, to) = queries[3q … 3q + 2], concatenated;
    ///         the padded masks.
    function termsBatch(bytes32[] calldata d, uint256[] calldata shapes, uint256[] calldata queries)
        external
        pure
        returns (uint256[] memory inputs, uint256[] memory padded, uint256[] memory weights)
    {
        uint256 n = queries.length / 3;
        uint256[][] memory ins = new uint256[][](n);
        uint256[][] memory ws = new uint256[][](n);
        padded = new uint256[](n);
        for (uint256 q; q < n; ++q) {
            (ins[q], padded[q], ws[q]) = LibGraphIndex.terms(d, shapes, queries[3 * q], queries[3 * q + 1], queries[3 * q + 2]);
        }
        inputs = _flatten(ins);
        weights = _flatten(ws);
    }

    /// @notice {LibGraphIndex.elementInputs} of every element, concatenated (one index per input each).
    function elementBatch(bytes32[] calldata d, uint256[] calldata shapes, uint256[] calldata elements)
        external
        pure
        returns (uint256[] memory indices)
    {
        uint256[][] memory all = new uint256[][](elements.length);
        for (uint256 q; q < elements.length; ++q) all[q] = LibGraphIndex.elementInputs(d, shapes, elements[q]);
        indices = _flatten(all);
    }

    /// @notice {LibGraphIndex.viewSource} of every element: input slot, source value id, index.
    function viewBatch(bytes32[] calldata d, uint256[] calldata shapes, uint256[] calldata elements)
        external
        pure
        returns (uint256[] memory slots, uint256[] memory sources, uint256[] memory indices)
    {
        uint256 n = elements.length;
        slots = new uint256[](n);
        sources = new uint256[](n);
        indices = new uint256[](n);
        for (uint256 q; q < n; ++q) {
            (slots[q], sources[q], indices[q]) = LibGraphIndex.viewSource(d, shapes, elements[q]);
        }
    }

    /// @notice Element `elements[q]` of value `values[q]` followed through views down to a committed tensor, as the
    ///         game would (core/graph/views.ts resolveElement): while the value's op is a layout op, map the element
    ///         with that op's descriptor and shapes. `ops[k]` and `shapes[k]` are op k's (it makes value k + 1).
    function resolveBatch(
        bytes32[][] calldata ops,
        uint256[][] calldata shapes,
        uint256[] calldata values,
        uint256[] calldata elements
    ) external pure returns (uint256[] memory outValues, uint256[] memory outIndices, uint256[] memory hops) {
        uint256 n = values.length;
        outValues = new uint256[](n);
        outIndices = new uint256[](n);
        hops = new uint256[](n);
        for (uint256 q; q < n; ++q) {
            (outValues[q], outIndices[q], hops[q]) = _resolve(ops, shapes, values[q], elements[q]);
        }
    }

    function _resolve(bytes32[][] calldata ops, uint256[][] calldata shapes, uint256 v, uint256 i)
        private
        pure
        returns (uint256, uint256, uint256 hops)
    {
        while (v > 0 && LibGraphIndex.isView(ops[v - 1])) {
            (, v, i) = LibGraphIndex.viewSource(ops[v - 1], shapes[v - 1], i);
            ++hops;
        }
        return (v, i, hops);
    }

    /// @notice {LibGraphIndex.opLeafHash} of several ops.
    function opLeafHashBatch(
        bytes32[][] calldata descriptors,
        bytes32[][] calldata constantRoots,
        uint256[][] calldata shapes,
        uint256[] calldata firstLeaves
    ) external pure returns (bytes32[] memory leaves) {
        leaves = new bytes32[](descriptors.length);
        for (uint256 k; k < descriptors.length; ++k) {
            leaves[k] = LibGraphIndex.opLeafHash(descriptors[k], constantRoots[k], shapes[k], firstLeaves[k]);
        }
    }

    // ------------------------------------------------------------------------------------------------
    // Gas: one call each, from calldata as a game holds them (the copy to memory included)
    // ------------------------------------------------------------------------------------------------

    function gasChunk(bytes32[] calldata d, uint256[] calldata shapes, uint256 row, uint256 chunk)
        external
        view
        returns (uint256 gasUsed, uint256 check)
    {
        uint256 before = gasleft();
        (uint256[] memory inputs, uint256 padded, uint256[] memory weights) =
            LibGraphIndex.chunkTerms(d, shapes, row, chunk);
        gasUsed = before - gasleft();
        check = inputs.length + padded + weights.length;
    }

    function gasWeightLeaf(bytes32[] calldata d, uint256[] calldata shapes, uint256 row, uint256 chunk)
        external
        view
        returns (uint256 gasUsed, uint256 check)
    {
        uint256 before = gasleft();
        (uint256 weightRow, uint256 leaf) = LibGraphIndex.chunkWeightLeaf(d, shapes, row, chunk);
        gasUsed = before - gasleft();
        check = weightRow + leaf;
    }

    function gasElement(bytes32[] calldata d, uint256[] calldata shapes, uint256 element)
        external
        view
        returns (uint256 gasUsed, uint256 check)
    {
        uint256 before = gasleft();
        uint256[] memory index = LibGraphIndex.elementInputs(d, shapes, element);
        gasUsed = before - gasleft();
        check = index[0];
    }

    function gasView(bytes32[] calldata d, uint256[] calldata shapes, uint256 element)
        external
        view
        returns (uint256 gasUsed, uint256 check)
    {
        uint256 before = gasleft();
        (uint256 slot, uint256 value, uint256 index) = LibGraphIndex.viewSource(d, shapes, element);
        gasUsed = before - gasleft();
        check = slot + value + index;
    }

    function gasLeafHash(
        bytes32[] calldata descriptor,
        bytes32[] calldata constantRoots,
        uint256[] calldata shapes,
        uint256 firstLeaf
    ) external view returns (uint256 gasUsed, bytes32 leaf) {
        uint256 before = gasleft();
        leaf = LibGraphIndex.opLeafHash(descriptor, constantRoots, shapes, firstLeaf);
        gasUsed = before - gasleft();
    }

    function _flatten(uint256[][] memory parts) private pure returns (uint256[] memory flat) {
        uint256 total;
        for (uint256 q; q < parts.length; ++q) total += parts[q].length;
        flat = new uint256[](total);
        uint256 at;
        for (uint256 q; q < parts.length; ++q) {
            for (uint256 k; k < parts[q].length; ++k) flat[at++] = parts[q][k];
        }
    }
}
