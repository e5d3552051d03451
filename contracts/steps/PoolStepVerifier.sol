// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {OP_MAX_POOL, OP_AVG_POOL, OP_GLOBAL_AVG_POOL} from "../lib/graph/GraphOpCodes.sol";
import {IStepVerifier} from "../interfaces/IStepVerifier.sol";
import {LibGraphStep} from "../lib/graph/LibGraphStep.sol";

/// @title PoolStepVerifier
/// @notice The pooling family, docs/graph-semantics.md §5.1 and §11:
///  - MaxPool (op 3): stage 0 `out` (reduce, max, int8);
///  - AvgPool (op 4), GlobalAvgPool (op 5): stage 0 `out` (a finished reduce: a sum folded in int32, then
///    requantised to int8).
/// @dev Operands (core/graph/step.ts builds them; no constants, so ctx.constantRoots = []):
///  - {foldInit}: [] (s_0 is −128 for a max, 0 for a sum);
///  - {foldChunk} of row o, chunk k: inputs[t] = the input element of window term 32k + t, no weights; a window
///    cell outside the image is a padded cell (bit t of `padded`): a max ignores it (padding never wins), a sum
///    adds nothing for it (padded cells count as zeros, and the divisor is in the multiplier);
///  - {step} of an average's `out` element o, the row's last "chunk": [s_R], the row's whole sum; result
///    clamp(requantise(s_R, m, s), lo, hi).
contract PoolStepVerifier is IStepVerifier {
    /// @inheritdoc IStepVerifier
    function opCodes() external pure returns (uint256[] memory codes) {
        codes = new uint256[](3);
        codes[0] = OP_MAX_POOL;
        codes[1] = OP_AVG_POOL;
        codes[2] = OP_GLOBAL_AVG_POOL;
    }

    /// @inheritdoc IStepVerifier
    function stageKinds(bytes32[] calldata descriptor)
        external
        pure
        returns (uint256[] memory kinds, uint256[] memory bits)
    {
        (kinds, bits) = _stages(_layout(descriptor));
    }

    /// @inheritdoc IStepVerifier
    /// @dev operands = []; −128 for MaxPool, 0 for the sums.
    function foldInit(StepContext calldata ctx, int256[] calldata operands) external pure returns (int256) {
        uint256 code = _check(ctx, LibGraphStep.STAGE_REDUCE);
        LibGraphStep.checkOperandCount(operands, 0);
        return code == OP_MAX_POOL ? int256(-128) : int256(0);
    }

    /// @inheritdoc IStepVerifier
    function foldChunk(
        StepContext calldata ctx,
        int256 accBefore,
        int256[] calldata inputs,
        int256[] calldata weights,
        uint256 padded
    ) external pure returns (int256) {
        uint256 code = _check(ctx, LibGraphStep.STAGE_REDUCE);
        if (code == OP_MAX_POOL) return LibGraphStep.foldMax(accBefore, inputs, weights, padded);
        return LibGraphStep.foldSum(accBefore, inputs, weights, padded);
    }

    /// @inheritdoc IStepVerifier
    /// @dev operands = [s_R], the row's whole sum, int32; no witness. MaxPool has no step.
    function step(StepContext calldata ctx, int256[] calldata operands, bytes32[] calldata witness)
        external
        pure
        returns (int256)
    {
        uint256 code = _check(ctx, LibGraphStep.STAGE_ELEMENTWISE);
        // _check let only a finished reduce through: MaxPool's one stage is a plain reduce.
        if (witness.length != 0) revert LibGraphStep.GraphStepWitnessLength(0, witness.length);
        // AvgPool: multiplier, shift, lo, hi are words 13 … 16; GlobalAvgPool: words 3 … 6.
        uint256 mAt = code == OP_AVG_POOL ? 13 : 3;
        return LibGraphStep.requantisedOutput(ctx, operands, mAt, mAt + 2);
    }

    /// @dev MaxPool: out (reduce, int8); the averages: out (a finished reduce, int8).
    function _stages(uint256 code) private pure returns (uint256[] memory kinds, uint256[] memory bits) {
        kinds = new uint256[](1);
        bits = new uint256[](1);
        kinds[0] = code == OP_MAX_POOL ? LibGraphStep.STAGE_REDUCE : LibGraphStep.STAGE_FINISHED_REDUCE;
        bits[0] = 8;
    }

    /// @dev The descriptor, the constant roots, the element and the stage's kind; returns the op code.
    function _check(StepContext calldata ctx, uint256 kind) private pure returns (uint256 code) {
        code = _layout(ctx.descriptor);
        LibGraphStep.checkConstantRoots(ctx, 0);
        LibGraphStep.checkElement(ctx);
        (uint256[] memory kinds,) = _stages(code);
        LibGraphStep.checkStage(code, ctx.stage, kinds, kind);
    }

    /// @dev MaxPool: 3, [1, x], kernel ×2, strides ×2, pads ×4, dilations ×2 (13 words); AvgPool: the same
    ///      and multiplier, shift, lo, hi (17 words); GlobalAvgPool: 5, [1, x], multiplier, shift, lo, hi (7 words).
    function _layout(bytes32[] calldata d) private pure returns (uint256 code) {
        code = LibGraphStep.opCode(d);
        uint256 length;
        if (code == OP_MAX_POOL) length = 13;
        else if (code == OP_AVG_POOL) length = 17;
        else if (code == OP_GLOBAL_AVG_POOL) length = 7;
        else revert LibGraphStep.GraphStepUnsupportedOp(code);
        LibGraphStep.checkFixed(d, code, length, 1);
    }
}
