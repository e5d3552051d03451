// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {LibDenseStep} from "../lib/LibDenseStep.sol";

/// @title DenseStepHarness
/// @notice Exposes {LibDenseStep} to tests (test/core/denseStep.differential.test.ts); not deployed in production.
/// @dev Batch variants check many cases in one eth_call; a revert anywhere fails the whole batch.
contract DenseStepHarness {
    /// @notice One accumulation step for {accumulateBatch}.
    struct AccumulateCase {
        int256 partialSum;
        bytes32 weightLeaf;
        bytes32 inputLeaf;
        uint256 valid;
    }

    /// @notice A whole weight row: the chained steps s_0 = bias, s_{k+1} = accumulate(s_k, …).
    struct Row {
        int256 bias;
        uint256 nIn;
        bytes32[] weightLeaves;
        bytes32[] inputLeaves;
    }

    /// @notice One output step for {outputBatch}.
    struct OutputCase {
        int256 acc;
        LibDenseStep.DenseDescriptor d;
    }

    /// @notice One weight-leaf opening for {verifyWeightLeafBatch}.
    struct WeightOpening {
        LibDenseStep.DenseDescriptor d;
        uint256 j;
        uint256 k;
        bytes32 leaf;
        bytes32[] proof;
    }

    /// @notice One bias-leaf opening for {verifyBiasLeafBatch}.
    struct BiasOpening {
        LibDenseStep.DenseDescriptor d;
        uint256 j;
        bytes32 leaf;
        bytes32[] proof;
    }

    /// @notice One activation-leaf opening for {verifyActivationLeafBatch}.
    struct ActivationOpening {
        bytes32 root;
        uint256 size;
        uint256 k;
        bytes32 leaf;
        bytes32[] proof;
    }

    /// @notice One padding check for {paddingIsZeroBatch}.
    struct PaddingCase {
        bytes32 leaf;
        uint256 size;
        uint256 k;
    }

    // ---- single calls -------------------------------------------------------------------------------

    /// @notice {LibDenseStep.OP_DENSE}.
    function opDense() external pure returns (uint256) {
        return LibDenseStep.OP_DENSE;
    }

    /// @notice {LibDenseStep.descriptorHash}.
    function descriptorHash(LibDenseStep.DenseDescriptor memory d) external pure returns (bytes32) {
        return LibDenseStep.descriptorHash(d);
    }

    /// @notice {LibDenseStep.elementAt}.
    function elementAt(bytes32 leaf, uint256 t) external pure returns (int256) {
        return LibDenseStep.elementAt(leaf, t);
    }

    /// @notice {LibDenseStep.chunkCount}.
    function chunkCount(uint256 nIn) external pure returns (uint256) {
        return LibDenseStep.chunkCount(nIn);
    }

    /// @notice {LibDenseStep.validInChunk}.
    function validInChunk(uint256 nIn, uint256 k) external pure returns (uint256) {
        return LibDenseStep.validInChunk(nIn, k);
    }

    /// @notice {LibDenseStep.accumulate}.
    function accumulate(int256 partialSum, bytes32 weightLeaf, bytes32 inputLeaf, uint256 valid)
        external
        pure
        returns (int256)
    {
        return LibDenseStep.accumulate(partialSum, weightLeaf, inputLeaf, valid);
    }

    /// @notice {LibDenseStep.biasAt}.
    function biasAt(bytes32 biasLeaf, uint256 j) external pure returns (int256) {
        return LibDenseStep.biasAt(biasLeaf, j);
    }

    /// @notice {LibDenseStep.requantise}.
    function requantise(int256 acc, uint256 multiplier, uint256 shift) external pure returns (int256) {
        return LibDenseStep.requantise(acc, multiplier, shift);
    }

    /// @notice {LibDenseStep.output}.
    function output(int256 acc, LibDenseStep.DenseDescriptor memory d) external pure returns (int256) {
        return LibDenseStep.output(acc, d);
    }

    /// @notice {LibDenseStep.isInt32}.
    function isInt32(int256 v) external pure returns (bool) {
        return LibDenseStep.isInt32(v);
    }

    /// @notice {LibDenseStep.weightLeafIndex}.
    function weightLeafIndex(uint256 nIn, uint256 j, uint256 k) external pure returns (uint256) {
        return LibDenseStep.weightLeafIndex(nIn, j, k);
    }

    /// @notice {LibDenseStep.verifyWeightLeaf}.
    function verifyWeightLeaf(
        LibDenseStep.DenseDescriptor memory d,
        uint256 j,
        uint256 k,
        bytes32 leaf,
        bytes32[] calldata proof
    ) external pure returns (bool) {
        return LibDenseStep.verifyWeightLeaf(d, j, k, leaf, proof);
    }

    /// @notice {LibDenseStep.verifyBiasLeaf}.
    function verifyBiasLeaf(LibDenseStep.DenseDescriptor memory d, uint256 j, bytes32 leaf, bytes32[] calldata proof)
        external
        pure
        returns (bool)
    {
        return LibDenseStep.verifyBiasLeaf(d, j, leaf, proof);
    }

    /// @notice {LibDenseStep.verifyActivationLeaf}.
    function verifyActivationLeaf(bytes32 root, uint256 size, uint256 k, bytes32 leaf, bytes32[] calldata proof)
        external
        pure
        returns (bool)
    {
        return LibDenseStep.verifyActivationLeaf(root, size, k, leaf, proof);
    }

    /// @notice {LibDenseStep.paddingIsZero}.
    function paddingIsZero(bytes32 leaf, uint256 size, uint256 k) external pure returns (bool) {
        return LibDenseStep.paddingIsZero(leaf, size, k);
    }

    // ---- batches ------------------------------------------------------------------------------------

    /// @notice {LibDenseStep.descriptorHash} of each descriptor.
    function descriptorHashBatch(LibDenseStep.DenseDescriptor[] memory ds) external pure returns (bytes32[] memory h) {
        h = new bytes32[](ds.length);
        for (uint256 i; i < ds.length; ++i) {
            h[i] = LibDenseStep.descriptorHash(ds[i]);
        }
    }

    /// @notice All 32 elements ({LibDenseStep.elementAt}) of each leaf.
    function elementsBatch(bytes32[] calldata leaves) external pure returns (int256[32][] memory out) {
        out = new int256[32][](leaves.length);
        for (uint256 i; i < leaves.length; ++i) {
            for (uint256 t; t < 32; ++t) {
                out[i][t] = LibDenseStep.elementAt(leaves[i], t);
            }
        }
    }

    /// @notice {LibDenseStep.chunkCount} of each length and {LibDenseStep.validInChunk} of each (length, k) pair.
    function chunksBatch(uint256[] calldata nIns, uint256[] calldata ks)
        external
        pure
        returns (uint256[] memory counts, uint256[] memory valids)
    {
        counts = new uint256[](nIns.length);
        valids = new uint256[](nIns.length);
        for (uint256 i; i < nIns.length; ++i) {
            counts[i] = LibDenseStep.chunkCount(nIns[i]);
            valids[i] = LibDenseStep.validInChunk(nIns[i], ks[i]);
        }
    }

    /// @notice {LibDenseStep.accumulate} of each case.
    function accumulateBatch(AccumulateCase[] calldata cases) external pure returns (int256[] memory sums) {
        sums = new int256[](cases.length);
        for (uint256 i; i < cases.length; ++i) {
            AccumulateCase calldata c = cases[i];
            sums[i] = LibDenseStep.accumulate(c.partialSum, c.weightLeaf, c.inputLeaf, c.valid);
        }
    }

    /// @notice The chained partial sums s_0 … s_R of each row, every step through {LibDenseStep.accumulate}
    ///         with {LibDenseStep.validInChunk}.
    function accumulateRows(Row[] calldata rows) external pure returns (int256[][] memory sums) {
        sums = new int256[][](rows.length);
        for (uint256 i; i < rows.length; ++i) {
            Row calldata row = rows[i];
            uint256 r = LibDenseStep.chunkCount(row.nIn);
            require(row.weightLeaves.length == r && row.inputLeaves.length == r, "row needs R leaves of each");
            int256[] memory s = new int256[](r + 1);
            s[0] = row.bias;
            for (uint256 k; k < r; ++k) {
                s[k + 1] = LibDenseStep.accumulate(
                    s[k], row.weightLeaves[k], row.inputLeaves[k], LibDenseStep.validInChunk(row.nIn, k)
                );
            }
            sums[i] = s;
        }
    }

    /// @notice {LibDenseStep.biasAt} of each (leaf, j) pair.
    function biasAtBatch(bytes32[] calldata leaves, uint256[] calldata js) external pure returns (int256[] memory out) {
        out = new int256[](leaves.length);
        for (uint256 i; i < leaves.length; ++i) {
            out[i] = LibDenseStep.biasAt(leaves[i], js[i]);
        }
    }

    /// @notice {LibDenseStep.isInt32} of each value.
    function isInt32Batch(int256[] calldata vs) external pure returns (bool[] memory out) {
        out = new bool[](vs.length);
        for (uint256 i; i < vs.length; ++i) {
            out[i] = LibDenseStep.isInt32(vs[i]);
        }
    }

    /// @notice {LibDenseStep.requantise} and {LibDenseStep.output} of each case.
    function outputBatch(OutputCase[] memory cases) external pure returns (int256[] memory q, int256[] memory y) {
        q = new int256[](cases.length);
        y = new int256[](cases.length);
        for (uint256 i; i < cases.length; ++i) {
            OutputCase memory c = cases[i];
            q[i] = LibDenseStep.requantise(c.acc, c.d.multiplier, c.d.shift);
            y[i] = LibDenseStep.output(c.acc, c.d);
        }
    }

    /// @notice {LibDenseStep.weightLeafIndex} of each (nIn, j, k).
    function weightLeafIndexBatch(uint256[] calldata nIns, uint256[] calldata js, uint256[] calldata ks)
        external
        pure
        returns (uint256[] memory out)
    {
        out = new uint256[](nIns.length);
        for (uint256 i; i < nIns.length; ++i) {
            out[i] = LibDenseStep.weightLeafIndex(nIns[i], js[i], ks[i]);
        }
    }

    /// @notice {LibDenseStep.verifyWeightLeaf} of each opening.
    function verifyWeightLeafBatch(WeightOpening[] calldata os) external pure returns (bool[] memory ok) {
        ok = new bool[](os.length);
        for (uint256 i; i < os.length; ++i) {
            WeightOpening calldata o = os[i];
            ok[i] = LibDenseStep.verifyWeightLeaf(o.d, o.j, o.k, o.leaf, o.proof);
        }
    }

    /// @notice {LibDenseStep.verifyBiasLeaf} of each opening.
    function verifyBiasLeafBatch(BiasOpening[] calldata os) external pure returns (bool[] memory ok) {
        ok = new bool[](os.length);
        for (uint256 i; i < os.length; ++i) {
            BiasOpening calldata o = os[i];
            ok[i] = LibDenseStep.verifyBiasLeaf(o.d, o.j, o.leaf, o.proof);
        }
    }

    /// @notice {LibDenseStep.verifyActivationLeaf} of each opening.
    function verifyActivationLeafBatch(ActivationOpening[] calldata os) external pure returns (bool[] memory ok) {
        ok = new bool[](os.length);
        for (uint256 i; i < os.length; ++i) {
            ActivationOpening calldata o = os[i];
            ok[i] = LibDenseStep.verifyActivationLeaf(o.root, o.size, o.k, o.leaf, o.proof);
        }
    }

    /// @notice {LibDenseStep.paddingIsZero} of each case.
    function paddingIsZeroBatch(PaddingCase[] calldata cs) external pure returns (bool[] memory ok) {
        ok = new bool[](cs.length);
        for (uint256 i; i < cs.length; ++i) {
            ok[i] = LibDenseStep.paddingIsZero(cs[i].leaf, cs[i].size, cs[i].k);
        }
    }

    // ---- gas ----------------------------------------------------------------------------------------

    /// @notice Execution gas of {LibDenseStep.accumulate} alone (arguments already on the stack), and its result.
    function gasOfAccumulate(int256 partialSum, bytes32 weightLeaf, bytes32 inputLeaf, uint256 valid)
        external
        view
        returns (uint256 gasUsed, int256 sum)
    {
        uint256 start = gasleft();
        sum = LibDenseStep.accumulate(partialSum, weightLeaf, inputLeaf, valid);
        gasUsed = start - gasleft();
    }

    /// @notice Execution gas of {LibDenseStep.verifyWeightLeaf} alone (descriptor already decoded into memory,
    ///         proof read from calldata), and its result.
    function gasOfVerifyWeightLeaf(
        LibDenseStep.DenseDescriptor memory d,
        uint256 j,
        uint256 k,
        bytes32 leaf,
        bytes32[] calldata proof
    ) external view returns (uint256 gasUsed, bool ok) {
        uint256 start = gasleft();
        ok = LibDenseStep.verifyWeightLeaf(d, j, k, leaf, proof);
        gasUsed = start - gasleft();
    }

    /// @notice Execution gas of {LibDenseStep.output} alone, and its result.
    function gasOfOutput(int256 acc, LibDenseStep.DenseDescriptor memory d)
        external
        view
        returns (uint256 gasUsed, int256 y)
    {
        uint256 start = gasleft();
        y = LibDenseStep.output(acc, d);
        gasUsed = start - gasleft();
    }
}
