// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {OP_DENSE, OP_CONV} from "../lib/graph/GraphOpCodes.sol";
import {IStepVerifier} from "../interfaces/IStepVerifier.sol";
import {LibGraphStep} from "../lib/graph/LibGraphStep.sol";

/// @title MacStepVerifier
/// @notice The multiply-accumulate family: Dense (op 1) and Conv (op 2), docs/graph-semantics.md §5.1 and §11.
///         One stage, `out`: a finished reduce (a sum of products folded in int32, then requantised to int8).
/// @dev Operands (core/graph/step.ts builds them; ctx.constantRoots = [weight root, bias root] and, with per-channel
///      requantisation, the root of the op's requantisation constant, which {step} opens):
///  - {foldInit} of row o: [bias[c]], c = o's output channel (Dense: o; Conv: o / (OH·OW));
///  - {foldChunk} of row o, chunk k: inputs[t] = the input element of term 32k + t, weights[t] = the weight
///    W[c·R + 32k + t]; a Conv window cell outside the image is a padded cell (bit t of `padded`);
///  - {step} of `out` element o, the row's last "chunk": [s_R], the row's whole fold; with one pair the multiplier and shift are the descriptor's and there is no
///    witness; with L > 1 channels they are (m_c, s_c), c = o / (elements / L), from the witness: leaf ⌊c/4⌋ of the
///    requantisation constant (int32 [L, 2], 4 channels a leaf) and its siblings, checked against constantRoots[2].
///  Only the fields a step uses are range-checked (multiplier, shift, clamp); geometry fields only shape
///  the descriptor's length. Model validation guarantees every range for programs the tooling produces.
contract MacStepVerifier is IStepVerifier {
    /// @inheritdoc IStepVerifier
    function opCodes() external pure returns (uint256[] memory codes) {
        codes = new uint256[](2);
        codes[0] = OP_DENSE;
        codes[1] = OP_CONV;
    }

    /// @inheritdoc IStepVerifier
    function stageKinds(bytes32[] calldata descriptor)
        external
        pure
        returns (uint256[] memory kinds, uint256[] memory bits)
    {
        _layout(descriptor);
        (kinds, bits) = _stages();
    }

    /// @inheritdoc IStepVerifier
    /// @dev operands = [bias of the row's output channel], int32.
    function foldInit(StepContext calldata ctx, int256[] calldata operands) external pure returns (int256) {
        _check(ctx, LibGraphStep.STAGE_REDUCE);
        LibGraphStep.checkOperandCount(operands, 1);
        return LibGraphStep.int32Operand(operands, 0);
    }

    /// @inheritdoc IStepVerifier
    function foldChunk(
        StepContext calldata ctx,
        int256 accBefore,
        int256[] calldata inputs,
        int256[] calldata weights,
        uint256 padded
    ) external pure returns (int256) {
        _check(ctx, LibGraphStep.STAGE_REDUCE);
        return LibGraphStep.foldProducts(accBefore, inputs, weights, padded);
    }

    /// @inheritdoc IStepVerifier
    /// @dev operands = [s_R], the row's whole fold, int32; result = clamp(requantise(s_R, m_c, s_c), lo, hi); witness: none for
    ///      one pair, else the opening of channel c's pair (LibGraphStep.requantisedOutputOpened).
    function step(StepContext calldata ctx, int256[] calldata operands, bytes32[] calldata witness)
        external
        pure
        returns (int256)
    {
        (uint256 mAt, uint256 channels, uint256 loAt) = _check(ctx, LibGraphStep.STAGE_ELEMENTWISE);
        if (channels > 1) return LibGraphStep.requantisedOutputOpened(ctx, operands, witness, channels, loAt);
        if (witness.length != 0) revert LibGraphStep.GraphStepWitnessLength(0, witness.length);
        return LibGraphStep.requantisedOutput(ctx, operands, mAt, loAt);
    }

    /// @dev out (a finished reduce, int8).
    function _stages() private pure returns (uint256[] memory kinds, uint256[] memory bits) {
        kinds = new uint256[](1);
        bits = new uint256[](1);
        (kinds[0], bits[0]) = (LibGraphStep.STAGE_FINISHED_REDUCE, 8);
    }

    /// @dev The descriptor, the constant roots, the element and the stage's kind.
    function _check(StepContext calldata ctx, uint256 kind)
        private
        pure
        returns (uint256 mAt, uint256 channels, uint256 loAt)
    {
        uint256 code;
        (code, mAt, channels, loAt) = _layout(ctx.descriptor);
        LibGraphStep.checkConstantRoots(ctx, channels > 1 ? 3 : 2);
        LibGraphStep.checkElement(ctx);
        (uint256[] memory kinds,) = _stages();
        LibGraphStep.checkStage(code, ctx.stage, kinds, kind);
    }

    /// @dev Checks the descriptor's structure. Dense: 1, [1, x], weight, bias, L, [m, s if L = 1], lo, hi.
    ///      Conv: 2, [1, x], weight, bias, strides ×2, pads ×4, dilations ×2, groups, L, [m, s if L = 1], lo, hi.
    ///      Returns the multiplier's word (L = 1), L and the clampLo word.
    function _layout(bytes32[] calldata d)
        private
        pure
        returns (uint256 code, uint256 mAt, uint256 channels, uint256 loAt)
    {
        code = LibGraphStep.opCode(d);
        uint256 listAt; // the requantisation channel count's word
        if (code == OP_DENSE) listAt = 5;
        else if (code == OP_CONV) listAt = 14;
        else revert LibGraphStep.GraphStepUnsupportedOp(code);
        uint256 length = d.length;
        // The shortest well-formed descriptor has L > 1 channels: listAt + 3 words.
        if (length <= listAt) revert LibGraphStep.GraphStepDescriptorLength(code, listAt + 3, length);
        if (uint256(d[1]) != 1) revert LibGraphStep.GraphStepArity(code, uint256(d[1]));
        channels = uint256(d[listAt]);
        if (channels == 0) revert LibGraphStep.GraphStepRequantChannels(0);
        mAt = listAt + 1;
        loAt = channels == 1 ? listAt + 3 : listAt + 1;
        if (loAt + 2 != length) revert LibGraphStep.GraphStepDescriptorLength(code, loAt + 2, length);
    }
}
