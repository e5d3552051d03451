// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {LibMerkle} from "./LibMerkle.sol";

/// @title LibDenseStep
/// @notice The one-step verifier of a Dense layer (docs/integer-semantics.md §7): pure functions of
///         their arguments, no state. The dispute game supplies the leaves, the proofs and the claims.
/// @dev The TypeScript twin is core/denseStep.ts; test/core/denseStep.differential.test.ts keeps the two
///      together bit for bit. Leaf layouts are those of docs/commitments.md §2:
///  - activation leaf k holds elements 32k … 32k+31, byte t (0 = most significant, `leaf[t]`) is element
///    32k+t as a two's-complement int8, bytes past the vector's length are zero;
///  - row j of the weights takes R = ceil(nIn/32) leaves of its own: leaf j·R + k holds W[j][32k … 32k+31];
///  - bias leaf k holds biases 8k … 8k+7, each a big-endian two's-complement int32.
///  Partial sums: s_0 = bias_j, s_{k+1} = s_k + Σ_{t < valid} W[j][32k+t]·x[32k+t], s_R = acc_j, where
///  valid = min(32, nIn − 32k) masks out the padding of the last chunk.
library LibDenseStep {
    /// @notice The op code of a Dense layer, the first field of its descriptor.
    uint256 internal constant OP_DENSE = 1;
    /// @notice int8 elements in one 32-byte leaf.
    uint256 internal constant ELEMENTS_PER_LEAF = 32;
    /// @notice int32 biases in one 32-byte leaf.
    uint256 internal constant BIASES_PER_LEAF = 8;
    /// @notice The largest requantisation multiplier, 2^31 − 1.
    uint256 internal constant MULTIPLIER_MAX = 2 ** 31 - 1;
    /// @notice The smallest requantisation shift.
    uint256 internal constant SHIFT_MIN = 1;
    /// @notice The largest requantisation shift.
    uint256 internal constant SHIFT_MAX = 62;

    /// @notice The fields of a Dense layer's descriptor, in the order they are hashed.
    /// @param nIn Fan-in: the length of the input activation.
    /// @param nOut The number of outputs.
    /// @param multiplier Requantisation multiplier m, 0 … 2^31 − 1.
    /// @param shift Requantisation shift s, 1 … 62.
    /// @param clampLo Lower clamp bound (0 for ReLU), int8.
    /// @param clampHi Upper clamp bound, int8, at least clampLo.
    /// @param weightRoot Root of the weight tree (nOut·R leaves, output-major).
    /// @param biasRoot Root of the bias tree (ceil(nOut/8) leaves).
    struct DenseDescriptor {
        uint256 nIn;
        uint256 nOut;
        uint256 multiplier;
        uint256 shift;
        int256 clampLo;
        int256 clampHi;
        bytes32 weightRoot;
        bytes32 biasRoot;
    }

    /// @notice An element index `t` of a leaf is not in 0 … 31.
    error LibDenseStepElementOutOfRange(uint256 t);
    /// @notice Chunk `k` does not exist for a fan-in of `nIn` (k ≥ ceil(nIn/32)).
    error LibDenseStepChunkOutOfRange(uint256 nIn, uint256 k);
    /// @notice A step multiplies at most 32 element pairs; `valid` is more.
    error LibDenseStepValidOutOfRange(uint256 valid);
    /// @notice A partial sum given to {accumulate} is outside int32 (a false claim by §4 of the semantics).
    error LibDenseStepPartialSumOutOfRange(int256 partialSum);
    /// @notice An accumulator given to {requantise} is outside int32.
    error LibDenseStepAccumulatorOutOfRange(int256 acc);
    /// @notice A requantisation multiplier above 2^31 − 1.
    error LibDenseStepMultiplierOutOfRange(uint256 multiplier);
    /// @notice A requantisation shift outside 1 … 62.
    error LibDenseStepShiftOutOfRange(uint256 shift);
    /// @notice Clamp bounds that are not a range lo ≤ hi inside int8.
    error LibDenseStepClampOutOfRange(int256 clampLo, int256 clampHi);
    /// @notice The weight leaf index j·R + k does not fit 256 bits.
    error LibDenseStepIndexOverflow(uint256 nIn, uint256 j, uint256 k);
    /// @notice The weight tree's leaf count nOut·R does not fit 256 bits.
    error LibDenseStepShapeTooLarge(uint256 nIn, uint256 nOut);

    // ------------------------------------------------------------------------------------------------
    // Descriptor
    // ------------------------------------------------------------------------------------------------

    /// @notice The layer's leaf in the model tree: keccak256(abi.encode(OP_DENSE, nIn, nOut, multiplier,
    ///         shift, clampLo, clampHi, weightRoot, biasRoot)), as core/commitments.ts commitLayer.
    /// @param d The descriptor.
    /// @return The descriptor hash.
    function descriptorHash(DenseDescriptor memory d) internal pure returns (bytes32) {
        return keccak256(
            abi.encode(OP_DENSE, d.nIn, d.nOut, d.multiplier, d.shift, d.clampLo, d.clampHi, d.weightRoot, d.biasRoot)
        );
    }

    // ------------------------------------------------------------------------------------------------
    // Leaves
    // ------------------------------------------------------------------------------------------------

    /// @notice Element `t` of an activation or weight leaf: byte t (0 = most significant) as an int8.
    /// @dev Reverts with {LibDenseStepElementOutOfRange} for t ≥ 32.
    /// @param leaf The 32-byte leaf.
    /// @param t The byte position, 0 … 31.
    /// @return v The element, −128 … 127.
    function elementAt(bytes32 leaf, uint256 t) internal pure returns (int256 v) {
        if (t >= ELEMENTS_PER_LEAF) revert LibDenseStepElementOutOfRange(t);
        assembly ("memory-safe") {
            v := signextend(0, byte(t, leaf))
        }
    }

    /// @notice The number of chunks (leaves) of a vector of `nIn` int8 elements: ceil(nIn/32).
    /// @dev This is R, the leaves of one weight row, and the leaves of a non-empty activation. 0 for nIn = 0.
    /// @param nIn The vector length.
    /// @return The chunk count.
    function chunkCount(uint256 nIn) internal pure returns (uint256) {
        unchecked {
            return (nIn >> 5) + (nIn & 31 == 0 ? 0 : 1);
        }
    }

    /// @notice The elements of chunk `k` that lie inside a vector of `nIn`: min(32, nIn − 32k).
    /// @dev Reverts with {LibDenseStepChunkOutOfRange} when k ≥ chunkCount(nIn). At least 1 otherwise.
    /// @param nIn The vector length (the fan-in).
    /// @param k The chunk.
    /// @return The number of valid elements, 1 … 32.
    function validInChunk(uint256 nIn, uint256 k) internal pure returns (uint256) {
        if (k >= chunkCount(nIn)) revert LibDenseStepChunkOutOfRange(nIn, k);
        unchecked {
            uint256 rest = nIn - (k << 5); // k < ceil(nIn/32), so 32k < nIn
            return rest < ELEMENTS_PER_LEAF ? rest : ELEMENTS_PER_LEAF;
        }
    }

    /// @notice Bias `j`: the big-endian int32 at bytes 4·(j mod 8) … 4·(j mod 8) + 3 of its bias leaf ⌊j/8⌋.
    /// @param biasLeaf The bias leaf ⌊j/8⌋.
    /// @param j The output index (only j mod 8 is used).
    /// @return v The bias, −2^31 … 2^31 − 1.
    function biasAt(bytes32 biasLeaf, uint256 j) internal pure returns (int256 v) {
        assembly ("memory-safe") {
            // The int32 of slot i = j mod 8 ends at byte 4i + 3, which is 8·(28 − 4i) = 224 − 32i bits from the bottom.
            v := signextend(3, shr(sub(224, shl(5, and(j, 7))), biasLeaf))
        }
    }

    /// @notice Whether `v` lies in int32.
    /// @param v The value.
    /// @return ok True when −2^31 ≤ v ≤ 2^31 − 1.
    function isInt32(int256 v) internal pure returns (bool ok) {
        assembly ("memory-safe") {
            ok := eq(signextend(3, v), v)
        }
    }

    // ------------------------------------------------------------------------------------------------
    // Accumulation step
    // ------------------------------------------------------------------------------------------------

    /// @notice One accumulation step: partialSum + Σ_{t < valid} elementAt(weightLeaf, t)·elementAt(inputLeaf, t).
    /// @dev Bytes at positions ≥ `valid` never contribute, whatever either leaf holds there. Reverts with
    ///      {LibDenseStepValidOutOfRange} for valid > 32 and with {LibDenseStepPartialSumOutOfRange} when
    ///      partialSum is outside int32 (the game treats such a claim as false before calling this). The
    ///      result is exact: |Σ| ≤ 32·2^14 = 2^19, so int256 cannot overflow.
    ///
    ///      Branch-free SWAR, no loop:
    ///      - offset binary: an int8 byte b xor 0x80 is b + 128 in 0 … 255, so with u = w + 128, v = x + 128
    ///        Σ w·x = Σ u·v − 128·(Σu + Σv) + 32·128²; masked weights are 0 (u = 128), adding exactly 0;
    ///      - Σu + Σv: bytes added pairwise into sixteen 16-bit lanes, summed by one multiplication;
    ///      - Σ u·v: split each word into four groups of eight bytes (positions ≡ r mod 4) in 32-bit lanes;
    ///        with the input's lanes in reverse order, the top 32-bit lane of the (mod 2^256) product of
    ///        the two groups is their dot product (a polynomial product's middle coefficient). Each
    ///        coefficient is at most 8·255² < 2^32, and the four products' lanes at most 32·255² < 2^32,
    ///        so no lane carries into the next.
    /// @param partialSum The claimed s_k, int32.
    /// @param weightLeaf Weight leaf j·R + k.
    /// @param inputLeaf Input activation leaf k.
    /// @param valid The number of positions that count, validInChunk(nIn, k), 0 … 32.
    /// @return sum s_{k+1}.
    function accumulate(int256 partialSum, bytes32 weightLeaf, bytes32 inputLeaf, uint256 valid)
        internal
        pure
        returns (int256 sum)
    {
        if (valid > ELEMENTS_PER_LEAF) revert LibDenseStepValidOutOfRange(valid);
        if (!isInt32(partialSum)) revert LibDenseStepPartialSumOutOfRange(partialSum);
        assembly ("memory-safe") {
            let offset := 0x8080808080808080808080808080808080808080808080808080808080808080
            // Keep the first `valid` weight bytes (all for 32, none for 0), then go to offset binary.
            let u := xor(and(weightLeaf, not(shr(shl(3, valid), not(0)))), offset)
            let v := xor(inputLeaf, offset)

            // Σu + Σv: sixteen 16-bit lanes of at most 4·255, then their total (≤ 16320) in the top lane.
            let m8 := 0x00ff00ff00ff00ff00ff00ff00ff00ff00ff00ff00ff00ff00ff00ff00ff00ff
            let lanes := add(add(and(u, m8), and(shr(8, u), m8)), add(and(v, m8), and(shr(8, v), m8)))
            let byteSum := shr(240, mul(lanes, 0x0001000100010001000100010001000100010001000100010001000100010001))

            // Reverse the order of v's eight 32-bit lanes (bytes inside a lane keep their order).
            v := or(shr(128, v), shl(128, v))
            let m64 := 0x0000000000000000ffffffffffffffff0000000000000000ffffffffffffffff
            v := or(and(shr(64, v), m64), shl(64, and(v, m64)))
            let m32 := 0x00000000ffffffff00000000ffffffff00000000ffffffff00000000ffffffff
            v := or(and(shr(32, v), m32), shl(32, and(v, m32)))

            // Group r (byte positions 4b + r) shifted down by 8·(3 − r): lane 7 − b of u holds u_{4b+r} and,
            // after the reversal, lane b of v holds v_{4b+r}; the top lane of the product is Σ_b u·v.
            let mb := 0x000000ff000000ff000000ff000000ff000000ff000000ff000000ff000000ff
            let products := add(
                add(mul(and(shr(24, u), mb), and(shr(24, v), mb)), mul(and(shr(16, u), mb), and(shr(16, v), mb))),
                add(mul(and(shr(8, u), mb), and(shr(8, v), mb)), mul(and(u, mb), and(v, mb)))
            )
            // Σ w·x = Σ u·v − 128·(Σu + Σv) + 32·16384, in two's complement.
            sum := add(partialSum, sub(add(shr(224, products), 524288), shl(7, byteSum)))
        }
    }

    // ------------------------------------------------------------------------------------------------
    // Output step
    // ------------------------------------------------------------------------------------------------

    /// @notice Requantisation: floor((acc·m + 2^(s−1)) / 2^s), the signed `>>` rounding towards −∞
    ///         (round to nearest, ties towards +∞; docs/integer-semantics.md §3).
    /// @dev Reverts with {LibDenseStepAccumulatorOutOfRange}, {LibDenseStepMultiplierOutOfRange} or
    ///      {LibDenseStepShiftOutOfRange} outside acc ∈ int32, m ≤ 2^31 − 1, 1 ≤ s ≤ 62. Inside them
    ///      |acc·m| < 2^62 and 2^(s−1) ≤ 2^61, so nothing overflows.
    /// @param acc The accumulator, int32.
    /// @param multiplier m.
    /// @param shift s.
    /// @return The requantised value, not yet clamped (up to ±2^61).
    function requantise(int256 acc, uint256 multiplier, uint256 shift) internal pure returns (int256) {
        if (!isInt32(acc)) revert LibDenseStepAccumulatorOutOfRange(acc);
        if (multiplier > MULTIPLIER_MAX) revert LibDenseStepMultiplierOutOfRange(multiplier);
        if (shift < SHIFT_MIN || shift > SHIFT_MAX) revert LibDenseStepShiftOutOfRange(shift);
        unchecked {
            return (acc * int256(multiplier) + int256(uint256(1) << (shift - 1))) >> shift;
        }
    }

    /// @notice The output of a Dense element: min(hi, max(lo, requantise(acc, m, s))).
    /// @dev Reverts as {requantise} does, and with {LibDenseStepClampOutOfRange} unless
    ///      −128 ≤ clampLo ≤ clampHi ≤ 127.
    /// @param acc The accumulator acc_j = s_R, int32.
    /// @param d The layer's descriptor (multiplier, shift and clamp bounds are used).
    /// @return y The int8 output element.
    function output(int256 acc, DenseDescriptor memory d) internal pure returns (int256 y) {
        int256 lo = d.clampLo;
        int256 hi = d.clampHi;
        if (lo < -128 || hi > 127 || lo > hi) revert LibDenseStepClampOutOfRange(lo, hi);
        y = requantise(acc, d.multiplier, d.shift);
        if (y < lo) y = lo;
        else if (y > hi) y = hi;
    }

    // ------------------------------------------------------------------------------------------------
    // Leaf indices and proofs
    // ------------------------------------------------------------------------------------------------

    /// @notice The index of weight leaf k of row j: j·R + k with R = chunkCount(nIn).
    /// @dev Reverts with {LibDenseStepChunkOutOfRange} for k ≥ R (which would name a leaf of another row)
    ///      and with {LibDenseStepIndexOverflow} when the index does not fit 256 bits.
    /// @param nIn The fan-in.
    /// @param j The output (row).
    /// @param k The chunk.
    /// @return The leaf index in the weight tree.
    function weightLeafIndex(uint256 nIn, uint256 j, uint256 k) internal pure returns (uint256) {
        uint256 r = chunkCount(nIn);
        if (k >= r) revert LibDenseStepChunkOutOfRange(nIn, k);
        unchecked {
            if (j > (type(uint256).max - k) / r) revert LibDenseStepIndexOverflow(nIn, j, k);
            return j * r + k;
        }
    }

    /// @notice Whether `proof` opens `leaf` as weight leaf k of row j of the layer `d`.
    /// @dev False unless j < nOut and k < R; the tree has nOut·R leaves, so its depth is
    ///      depthFor(nOut·R). Reverts with {LibDenseStepShapeTooLarge} when nOut·R does not fit 256 bits.
    /// @param d The layer's descriptor (nIn, nOut and weightRoot are used).
    /// @param j The output (row).
    /// @param k The chunk.
    /// @param leaf The claimed weight leaf.
    /// @param proof Its siblings from the leaf up.
    /// @return True when the opening is valid.
    function verifyWeightLeaf(DenseDescriptor memory d, uint256 j, uint256 k, bytes32 leaf, bytes32[] calldata proof)
        internal
        pure
        returns (bool)
    {
        uint256 r = chunkCount(d.nIn);
        uint256 nOut = d.nOut;
        if (j >= nOut || k >= r) return false;
        unchecked {
            if (nOut > type(uint256).max / r) revert LibDenseStepShapeTooLarge(d.nIn, nOut);
            // j < nOut and k < r, so the index is below nOut·r, which fits.
            return LibMerkle.verify(d.weightRoot, leaf, j * r + k, proof, LibMerkle.depthFor(nOut * r));
        }
    }

    /// @notice Whether `proof` opens `leaf` as the bias leaf ⌊j/8⌋ that holds bias j of the layer `d`.
    /// @dev False unless j < nOut; the tree has ceil(nOut/8) leaves.
    /// @param d The layer's descriptor (nOut and biasRoot are used).
    /// @param j The output.
    /// @param leaf The claimed bias leaf ⌊j/8⌋.
    /// @param proof Its siblings from the leaf up.
    /// @return True when the opening is valid.
    function verifyBiasLeaf(DenseDescriptor memory d, uint256 j, bytes32 leaf, bytes32[] calldata proof)
        internal
        pure
        returns (bool)
    {
        uint256 nOut = d.nOut;
        if (j >= nOut) return false;
        unchecked {
            uint256 leaves = (nOut >> 3) + (nOut & 7 == 0 ? 0 : 1);
            return LibMerkle.verify(d.biasRoot, leaf, j >> 3, proof, LibMerkle.depthFor(leaves));
        }
    }

    /// @notice Whether `proof` opens `leaf` as leaf k of an activation vector of `size` elements with root `root`.
    /// @dev The tree has max(1, ceil(size/32)) leaves (an empty vector is one zero leaf, as core/merkle.ts
    ///      leavesFor); false unless k is one of them.
    /// @param root The activation root.
    /// @param size The vector's length.
    /// @param k The leaf (chunk).
    /// @param leaf The claimed leaf.
    /// @param proof Its siblings from the leaf up.
    /// @return True when the opening is valid.
    function verifyActivationLeaf(bytes32 root, uint256 size, uint256 k, bytes32 leaf, bytes32[] calldata proof)
        internal
        pure
        returns (bool)
    {
        uint256 leaves = chunkCount(size);
        if (leaves == 0) leaves = 1;
        if (k >= leaves) return false;
        return LibMerkle.verify(root, leaf, k, proof, LibMerkle.depthFor(leaves));
    }

    /// @notice Whether every byte of activation leaf k at an element position ≥ size (32k + t ≥ size) is zero.
    /// @dev The padding step. True for any leaf of a full chunk; a leaf wholly past the end must be zero.
    /// @param leaf The leaf.
    /// @param size The vector's length.
    /// @param k The leaf's index.
    /// @return True when the padding is zero.
    function paddingIsZero(bytes32 leaf, uint256 size, uint256 k) internal pure returns (bool) {
        uint256 valid;
        if (k < chunkCount(size)) {
            unchecked {
                uint256 rest = size - (k << 5);
                valid = rest < ELEMENTS_PER_LEAF ? rest : ELEMENTS_PER_LEAF;
            }
        }
        // The low 32 − valid bytes are padding (none when valid = 32: the shift by 256 gives 0).
        return uint256(leaf) & (type(uint256).max >> (valid << 3)) == 0;
    }
}
