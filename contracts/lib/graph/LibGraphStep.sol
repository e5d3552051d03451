// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {IStepVerifier} from "../../interfaces/IStepVerifier.sol";
import {LibDenseStep} from "../LibDenseStep.sol";
import {LibMerkle} from "../LibMerkle.sol";

/// @title LibGraphStep
/// @notice What the step verifiers of graph programs share (docs/graph-semantics.md §11): the
///         stage kinds, reading descriptor words, range checks with custom errors, the three folds of a chunk
///         and the requantise-and-clamp of an output stage.
/// @dev Requantisation is {LibDenseStep.requantise}, the one Solidity implementation of the rounding rule;
///      this library checks every range first, with its own errors, so that one never reverts here. The
///      TypeScript twin of everything is core/graph/step.ts.
library LibGraphStep {
    /// @notice A reduce stage: a fold over a row, dissected into chunks.
    uint256 internal constant STAGE_REDUCE = 1;
    /// @notice An elementwise stage: one step.
    uint256 internal constant STAGE_ELEMENTWISE = 2;
    /// @notice A finished reduce stage: a fold over a row (int32), dissected into chunks, then one more "chunk", the
    ///         step that makes the stage's element from the row's whole fold (a requantisation: the fold itself is
    ///         never committed). {foldInit}, {foldChunk} and {step} all apply to it.
    uint256 internal constant STAGE_FINISHED_REDUCE = 4;
    /// @notice The most terms of one chunk.
    uint256 internal constant CHUNK_TERMS = 32;

    /// @notice The descriptor has no words.
    error GraphStepDescriptorEmpty();
    /// @notice A verifier was given a descriptor of an op it does not compute.
    error GraphStepUnsupportedOp(uint256 opCode);
    /// @notice The descriptor has `actual` words; its fields make `expected`.
    error GraphStepDescriptorLength(uint256 opCode, uint256 expected, uint256 actual);
    /// @notice The op's inputs list has `inputs` entries, not the op's arity.
    error GraphStepArity(uint256 opCode, uint256 inputs);
    /// @notice A requantisation channel count of 0 (it is 1, or one per output channel).
    error GraphStepRequantChannels(uint256 channels);
    /// @notice A requantisation multiplier outside 0 … 2^31 − 1.
    error GraphStepMultiplierOutOfRange(int256 multiplier);
    /// @notice A requantisation shift outside 1 … 62.
    error GraphStepShiftOutOfRange(int256 shift);
    /// @notice Clamp bounds that are not a range lo ≤ hi inside int8.
    error GraphStepClampOutOfRange(int256 lo, int256 hi);
    /// @notice `constantRoots` has `actual` roots; the descriptor names `expected` constants.
    error GraphStepConstantRoots(uint256 expected, uint256 actual);
    /// @notice The op has no stage `stage`.
    error GraphStepStageOutOfRange(uint256 opCode, uint256 stage);
    /// @notice Stage `stage` is of kind `kind`, not the kind this entry settles.
    error GraphStepWrongStageKind(uint256 opCode, uint256 stage, uint256 kind);
    /// @notice The element is not inside the stage's tensor of `elements`.
    error GraphStepElementOutOfRange(uint256 element, uint256 elements);
    /// @notice `channels` per-channel multipliers do not divide a tensor of `elements`.
    error GraphStepChannels(uint256 elements, uint256 channels);
    /// @notice `actual` operands given, the step takes `expected`.
    error GraphStepOperandCount(uint256 expected, uint256 actual);
    /// @notice Operand `index` holds `value`, outside its type.
    error GraphStepOperandOutOfRange(uint256 index, int256 value);
    /// @notice A chunk of `terms` terms: it has 1 … 32.
    error GraphStepChunkLength(uint256 terms);
    /// @notice `weights` weights for `terms` terms (a sum of products has one per term, other folds none).
    error GraphStepWeightCount(uint256 terms, uint256 weights);
    /// @notice The padded mask has a bit at or above the chunk's `terms`.
    error GraphStepPaddedMask(uint256 padded, uint256 terms);
    /// @notice Input `index` of the chunk holds `value`, outside int8.
    error GraphStepInputOutOfRange(uint256 index, int256 value);
    /// @notice Weight `index` of the chunk holds `value`, outside int8.
    error GraphStepWeightOutOfRange(uint256 index, int256 value);
    /// @notice The running value before a chunk is outside the stage's type (a false claim by §3).
    error GraphStepPartialOutOfRange(int256 accBefore);
    /// @notice The witness has `actual` words, the step takes `expected`.
    error GraphStepWitnessLength(uint256 expected, uint256 actual);
    /// @notice The witness does not open the leaf that holds table entry `entry` under the table's root.
    error GraphStepTableOpening(uint256 entry);
    /// @notice The witness does not open the leaf that holds channel `channel`'s multiplier and shift under the
    ///         root of the op's requantisation constant.
    error GraphStepRequantOpening(uint256 channel);

    // ------------------------------------------------------------------------------------------------
    // Descriptor words
    // ------------------------------------------------------------------------------------------------

    /// @notice The op code: the descriptor's first word.
    /// @dev Reverts with {GraphStepDescriptorEmpty} for no words.
    /// @param d The descriptor words.
    /// @return The op code.
    function opCode(bytes32[] calldata d) internal pure returns (uint256) {
        if (d.length == 0) revert GraphStepDescriptorEmpty();
        return uint256(d[0]);
    }

    /// @notice Word `i` as a two's-complement int256.
    /// @param d The descriptor words.
    /// @param i The word's index (in range: callers check the length first).
    /// @return The signed value.
    function word(bytes32[] calldata d, uint256 i) internal pure returns (int256) {
        return int256(uint256(d[i]));
    }

    /// @notice Checks a descriptor whose every field has a fixed size: exactly `length` words, and an inputs
    ///         list (word 1) of `arity` entries.
    /// @param d The descriptor words.
    /// @param code The op code (already read).
    /// @param length The descriptor's words with `arity` inputs.
    /// @param arity The op's number of inputs.
    function checkFixed(bytes32[] calldata d, uint256 code, uint256 length, uint256 arity) internal pure {
        if (d.length != length) revert GraphStepDescriptorLength(code, length, d.length);
        if (uint256(d[1]) != arity) revert GraphStepArity(code, uint256(d[1]));
    }

    /// @notice Checks the number of constant roots the game passed.
    /// @param ctx The step's context.
    /// @param expected The constant ids in the op's descriptor.
    function checkConstantRoots(IStepVerifier.StepContext calldata ctx, uint256 expected) internal pure {
        if (ctx.constantRoots.length != expected) revert GraphStepConstantRoots(expected, ctx.constantRoots.length);
    }

    /// @notice Checks that the element lies in the stage's tensor.
    /// @param ctx The step's context.
    function checkElement(IStepVerifier.StepContext calldata ctx) internal pure {
        if (ctx.element >= ctx.elements) revert GraphStepElementOutOfRange(ctx.element, ctx.elements);
    }

    /// @notice Checks that stage `stage` of the op is of kind `want`, or a finished reduce (which both the folds and the
    ///         step settle), given the kinds of its stages.
    /// @param code The op code.
    /// @param stage The stage index.
    /// @param kinds The op's stage kinds, in order.
    /// @param want The kind the calling entry settles: {STAGE_REDUCE} (the folds) or {STAGE_ELEMENTWISE} (the step).
    /// @return kind The stage's kind.
    function checkStage(uint256 code, uint256 stage, uint256[] memory kinds, uint256 want)
        internal
        pure
        returns (uint256 kind)
    {
        if (stage >= kinds.length) revert GraphStepStageOutOfRange(code, stage);
        kind = kinds[stage];
        if (kind != want && kind != STAGE_FINISHED_REDUCE) revert GraphStepWrongStageKind(code, stage, kind);
    }

    // ------------------------------------------------------------------------------------------------
    // Ranges
    // ------------------------------------------------------------------------------------------------

    /// @notice Whether `v` lies in int8.
    /// @param v The value.
    /// @return ok True when −128 ≤ v ≤ 127.
    function isInt8(int256 v) internal pure returns (bool ok) {
        assembly ("memory-safe") {
            ok := eq(signextend(0, v), v)
        }
    }

    /// @notice Operand `i` of `operands`, which must be an int8.
    /// @param operands The operands.
    /// @param i The index (in range: callers check the count first).
    /// @return v The operand.
    function int8Operand(int256[] calldata operands, uint256 i) internal pure returns (int256 v) {
        v = operands[i];
        if (!isInt8(v)) revert GraphStepOperandOutOfRange(i, v);
    }

    /// @notice Operand `i` of `operands`, which must be an int32.
    /// @param operands The operands.
    /// @param i The index (in range: callers check the count first).
    /// @return v The operand.
    function int32Operand(int256[] calldata operands, uint256 i) internal pure returns (int256 v) {
        v = operands[i];
        if (!LibDenseStep.isInt32(v)) revert GraphStepOperandOutOfRange(i, v);
    }

    /// @notice Checks the number of operands.
    /// @param operands The operands.
    /// @param expected The number the step takes.
    function checkOperandCount(int256[] calldata operands, uint256 expected) internal pure {
        if (operands.length != expected) revert GraphStepOperandCount(expected, operands.length);
    }

    // ------------------------------------------------------------------------------------------------
    // Requantisation
    // ------------------------------------------------------------------------------------------------

    /// @notice Checks clamp bounds: −128 ≤ lo ≤ hi ≤ 127.
    /// @param lo The lower bound.
    /// @param hi The upper bound.
    function checkClamp(int256 lo, int256 hi) internal pure {
        if (lo < -128 || hi > 127 || lo > hi) revert GraphStepClampOutOfRange(lo, hi);
    }

    /// @notice requantise(v, m, s) = floor((v·m + 2^(s−1)) / 2^s), core/intSemantics.ts, after range checks.
    /// @dev Reverts with {GraphStepMultiplierOutOfRange} or {GraphStepShiftOutOfRange}. `v` must be int32
    ///      (callers check it as an operand).
    /// @param v The value, int32.
    /// @param m The multiplier, 0 … 2^31 − 1.
    /// @param s The shift, 1 … 62.
    /// @return The requantised value, not clamped.
    function requantise(int256 v, int256 m, int256 s) internal pure returns (int256) {
        if (m < 0 || m > int256(LibDenseStep.MULTIPLIER_MAX)) revert GraphStepMultiplierOutOfRange(m);
        if (s < int256(LibDenseStep.SHIFT_MIN) || s > int256(LibDenseStep.SHIFT_MAX)) revert GraphStepShiftOutOfRange(s);
        return LibDenseStep.requantise(v, uint256(m), uint256(s));
    }

    /// @notice min(hi, max(lo, q)) with the bounds checked.
    /// @param q The value.
    /// @param lo The lower bound.
    /// @param hi The upper bound.
    /// @return y The clamped value.
    function clamp(int256 q, int256 lo, int256 hi) internal pure returns (int256 y) {
        checkClamp(lo, hi);
        y = q < lo ? lo : q > hi ? hi : q;
    }

    /// @notice The output stage of a requantised reduction with one pair for the whole tensor:
    ///         clamp(requantise(acc, m, s), lo, hi), the multiplier at descriptor word `mAt`, the shift after it.
    /// @dev operands = [acc] (int32).
    /// @param ctx The step's context (the descriptor).
    /// @param operands [acc].
    /// @param mAt Index of the multiplier word (the shift follows).
    /// @param loAt Index of the clampLo word (clampHi follows).
    /// @return The int8 output element.
    function requantisedOutput(IStepVerifier.StepContext calldata ctx, int256[] calldata operands, uint256 mAt, uint256 loAt)
        internal
        pure
        returns (int256)
    {
        checkOperandCount(operands, 1);
        int256 acc = int32Operand(operands, 0);
        bytes32[] calldata d = ctx.descriptor;
        return clamp(requantise(acc, word(d, mAt), word(d, mAt + 1)), word(d, loAt), word(d, loAt + 1));
    }

    /// @notice The depth of the tree of a requantisation constant of `channels` channels: ⌈channels/4⌉ leaves.
    /// @param channels The channel count, at least 1.
    /// @return The depth.
    function requantDepth(uint256 channels) internal pure returns (uint256) {
        return LibMerkle.depthFor((channels - 1) / 4 + 1);
    }

    /// @notice The output stage of a requantised reduction with one pair per output channel:
    ///         clamp(requantise(acc, m_c, s_c), lo, hi), c = element / (elements / channels), (m_c, s_c) read from
    ///         the witness: leaf ⌊c/4⌋ of the op's requantisation constant (an int32 [channels, 2], 8 values a
    ///         leaf: m_c at slot 2(c mod 4), s_c after it) and its siblings, checked against ctx.constantRoots[2].
    /// @dev Checks, in order: channels divide elements ({GraphStepChannels}), the witness has
    ///      1 + depth words ({GraphStepWitnessLength}), operands = [acc] (int32), the opening
    ///      ({GraphStepRequantOpening}), then the ranges of m_c, s_c and the clamp bounds.
    /// @param ctx The step's context (element, elements, constant roots and the descriptor).
    /// @param operands [acc].
    /// @param witness [leaf ⌊c/4⌋, its siblings from the leaf up].
    /// @param channels The channel count, at least 2.
    /// @param loAt Index of the clampLo word (clampHi follows).
    /// @return The int8 output element.
    function requantisedOutputOpened(
        IStepVerifier.StepContext calldata ctx,
        int256[] calldata operands,
        bytes32[] calldata witness,
        uint256 channels,
        uint256 loAt
    ) internal pure returns (int256) {
        if (ctx.elements % channels != 0) revert GraphStepChannels(ctx.elements, channels);
        uint256 depth = requantDepth(channels); // channels ≤ elements
        if (witness.length != 1 + depth) revert GraphStepWitnessLength(1 + depth, witness.length);
        checkOperandCount(operands, 1);
        int256 acc = int32Operand(operands, 0);
        uint256 c = ctx.element / (ctx.elements / channels);
        bytes32 leaf = witness[0];
        if (!LibMerkle.verify(ctx.constantRoots[2], leaf, c >> 2, witness[1:], depth)) revert GraphStepRequantOpening(c);
        uint256 slot = (c & 3) << 1;
        int256 q = requantise(acc, LibDenseStep.biasAt(leaf, slot), LibDenseStep.biasAt(leaf, slot + 1));
        bytes32[] calldata d = ctx.descriptor;
        return clamp(q, word(d, loAt), word(d, loAt + 1));
    }

    // ------------------------------------------------------------------------------------------------
    // Chunks
    // ------------------------------------------------------------------------------------------------

    /// @notice Checks a chunk's shape: 1 … 32 terms, `weights` weights (one per term or none), no padded bit
    ///         at or above the term count.
    /// @param terms The chunk's input count.
    /// @param weights The chunk's weight count.
    /// @param withWeights Whether the fold is a sum of products.
    /// @param padded The padded mask.
    function checkChunk(uint256 terms, uint256 weights, bool withWeights, uint256 padded) internal pure {
        if (terms == 0 || terms > CHUNK_TERMS) revert GraphStepChunkLength(terms);
        if (weights != (withWeights ? terms : 0)) revert GraphStepWeightCount(terms, weights);
        if (padded >> terms != 0) revert GraphStepPaddedMask(padded, terms);
    }

    /// @notice acc + Σ_{t not padded} w_t · x_t (Dense, Conv).
    /// @dev acc must be int32 ({GraphStepPartialOutOfRange}); unpadded x_t, w_t int8. Exact: |Σ| ≤ 2^19.
    /// @param acc The running sum before the chunk.
    /// @param x The chunk's inputs.
    /// @param w The chunk's weights.
    /// @param padded The padded mask.
    /// @return The running sum after the chunk.
    function foldProducts(int256 acc, int256[] calldata x, int256[] calldata w, uint256 padded)
        internal
        pure
        returns (int256)
    {
        checkChunk(x.length, w.length, true, padded);
        if (!LibDenseStep.isInt32(acc)) revert GraphStepPartialOutOfRange(acc);
        for (uint256 t; t < x.length; ++t) {
            if ((padded >> t) & 1 != 0) continue;
            int256 xt = x[t];
            int256 wt = w[t];
            if (!isInt8(xt)) revert GraphStepInputOutOfRange(t, xt);
            if (!isInt8(wt)) revert GraphStepWeightOutOfRange(t, wt);
            unchecked {
                acc += wt * xt;
            }
        }
        return acc;
    }

    /// @notice acc + Σ_{t not padded} x_t (AvgPool, GlobalAvgPool).
    /// @dev acc must be int32; unpadded x_t int8.
    /// @param acc The running sum before the chunk.
    /// @param x The chunk's inputs.
    /// @param w The chunk's weights (must be empty).
    /// @param padded The padded mask.
    /// @return The running sum after the chunk.
    function foldSum(int256 acc, int256[] calldata x, int256[] calldata w, uint256 padded)
        internal
        pure
        returns (int256)
    {
        checkChunk(x.length, w.length, false, padded);
        if (!LibDenseStep.isInt32(acc)) revert GraphStepPartialOutOfRange(acc);
        for (uint256 t; t < x.length; ++t) {
            if ((padded >> t) & 1 != 0) continue;
            int256 xt = x[t];
            if (!isInt8(xt)) revert GraphStepInputOutOfRange(t, xt);
            unchecked {
                acc += xt;
            }
        }
        return acc;
    }

    /// @notice max(acc, max_{t not padded} x_t) (MaxPool): padded cells never win.
    /// @dev acc must be int8 (a running max of int8 values from −128); unpadded x_t int8.
    /// @param acc The running maximum before the chunk.
    /// @param x The chunk's inputs.
    /// @param w The chunk's weights (must be empty).
    /// @param padded The padded mask.
    /// @return The running maximum after the chunk.
    function foldMax(int256 acc, int256[] calldata x, int256[] calldata w, uint256 padded)
        internal
        pure
        returns (int256)
    {
        checkChunk(x.length, w.length, false, padded);
        if (!isInt8(acc)) revert GraphStepPartialOutOfRange(acc);
        for (uint256 t; t < x.length; ++t) {
            if ((padded >> t) & 1 != 0) continue;
            int256 xt = x[t];
            if (!isInt8(xt)) revert GraphStepInputOutOfRange(t, xt);
            if (xt > acc) acc = xt;
        }
        return acc;
    }
}
