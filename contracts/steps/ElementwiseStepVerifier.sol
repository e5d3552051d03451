// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {OP_ADD, OP_MUL, OP_CLAMP, OP_TABLE} from "../lib/graph/GraphOpCodes.sol";
import {IStepVerifier} from "../interfaces/IStepVerifier.sol";
import {LibDenseStep} from "../lib/LibDenseStep.sol";
import {LibGraphStep} from "../lib/graph/LibGraphStep.sol";
import {LibMerkle} from "../lib/LibMerkle.sol";

/// @title ElementwiseStepVerifier
/// @notice The elementwise family, docs/graph-semantics.md §5.2, §5.3 and §11: Add (op 6), Mul (op 7), Clamp
///         (op 8) and Table (op 9), each one stage `out` (elementwise, int8), settled by one {step}.
/// @dev Operands of element i (core/graph/step.ts builds them; broadcasting and views resolved by the game):
///  - Add: [a[bA(i)], b[bB(i)]] → clamp(requantise(a, mA, sA) + requantise(b, mB, sB), lo, hi);
///  - Mul: [a[bA(i)], b[bB(i)]] → clamp(requantise(a·b, m, s), lo, hi);
///  - Clamp: [x[i]] → min(hi, max(lo, x));
///  - Table: [x[i]] → T[x + 128]. The entry is read here, not opened by the game: witness = [leaf, three
///    siblings], leaf ⌊(x+128)/32⌋ of the table's 8-leaf tree (32 int8 entries per leaf, byte t = entry
///    32·leaf + t), checked against ctx.constantRoots[0], the table's root.
///  No op of this family has a reduce stage: {foldInit} and {foldChunk} always revert.
contract ElementwiseStepVerifier is IStepVerifier {
    /// @notice The depth of a table's tree: 256 entries in 8 leaves of 32.
    uint256 internal constant TABLE_DEPTH = 3;

    /// @inheritdoc IStepVerifier
    function opCodes() external pure returns (uint256[] memory codes) {
        codes = new uint256[](4);
        codes[0] = OP_ADD;
        codes[1] = OP_MUL;
        codes[2] = OP_CLAMP;
        codes[3] = OP_TABLE;
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
    /// @dev Always reverts: every op here is one elementwise stage.
    function foldInit(StepContext calldata ctx, int256[] calldata) external pure returns (int256) {
        _check(ctx, LibGraphStep.STAGE_REDUCE);
        return 0; // unreachable: _check reverts
    }

    /// @inheritdoc IStepVerifier
    /// @dev Always reverts: every op here is one elementwise stage.
    function foldChunk(StepContext calldata ctx, int256, int256[] calldata, int256[] calldata, uint256)
        external
        pure
        returns (int256)
    {
        _check(ctx, LibGraphStep.STAGE_REDUCE);
        return 0; // unreachable: _check reverts
    }

    /// @inheritdoc IStepVerifier
    function step(StepContext calldata ctx, int256[] calldata operands, bytes32[] calldata witness)
        external
        pure
        returns (int256)
    {
        uint256 code = _check(ctx, LibGraphStep.STAGE_ELEMENTWISE);
        bytes32[] calldata d = ctx.descriptor;
        uint256 witnessWords = code == OP_TABLE ? 1 + TABLE_DEPTH : 0;
        if (witness.length != witnessWords) revert LibGraphStep.GraphStepWitnessLength(witnessWords, witness.length);
        if (code == OP_ADD) {
            // 6, [2, a, b], mA, sA, mB, sB, lo, hi
            LibGraphStep.checkOperandCount(operands, 2);
            int256 a = LibGraphStep.int8Operand(operands, 0);
            int256 b = LibGraphStep.int8Operand(operands, 1);
            int256 q = LibGraphStep.requantise(a, LibGraphStep.word(d, 4), LibGraphStep.word(d, 5))
                + LibGraphStep.requantise(b, LibGraphStep.word(d, 6), LibGraphStep.word(d, 7));
            return LibGraphStep.clamp(q, LibGraphStep.word(d, 8), LibGraphStep.word(d, 9));
        }
        if (code == OP_MUL) {
            // 7, [2, a, b], m, s, lo, hi
            LibGraphStep.checkOperandCount(operands, 2);
            int256 a = LibGraphStep.int8Operand(operands, 0);
            int256 b = LibGraphStep.int8Operand(operands, 1);
            int256 q = LibGraphStep.requantise(a * b, LibGraphStep.word(d, 4), LibGraphStep.word(d, 5));
            return LibGraphStep.clamp(q, LibGraphStep.word(d, 6), LibGraphStep.word(d, 7));
        }
        LibGraphStep.checkOperandCount(operands, 1);
        int256 x = LibGraphStep.int8Operand(operands, 0);
        if (code == OP_CLAMP) {
            // 8, [1, x], lo, hi
            return LibGraphStep.clamp(x, LibGraphStep.word(d, 3), LibGraphStep.word(d, 4));
        }
        // Table: 9, [1, x], table
        uint256 entry = uint256(x + 128);
        bytes32 leaf = witness[0];
        if (!LibMerkle.verify(ctx.constantRoots[0], leaf, entry >> 5, witness[1:], TABLE_DEPTH)) {
            revert LibGraphStep.GraphStepTableOpening(entry);
        }
        return LibDenseStep.elementAt(leaf, entry & 31);
    }

    /// @dev One stage: out (elementwise, int8).
    function _stages() private pure returns (uint256[] memory kinds, uint256[] memory bits) {
        kinds = new uint256[](1);
        bits = new uint256[](1);
        (kinds[0], bits[0]) = (LibGraphStep.STAGE_ELEMENTWISE, 8);
    }

    /// @dev The descriptor, the constant roots, the element and the stage's kind; returns the op code.
    function _check(StepContext calldata ctx, uint256 kind) private pure returns (uint256 code) {
        code = _layout(ctx.descriptor);
        LibGraphStep.checkConstantRoots(ctx, code == OP_TABLE ? 1 : 0);
        LibGraphStep.checkElement(ctx);
        (uint256[] memory kinds,) = _stages();
        LibGraphStep.checkStage(code, ctx.stage, kinds, kind);
    }

    /// @dev Add: 10 words, Mul: 8, Clamp: 5, Table: 4 (see {step}); Add and Mul take two inputs.
    function _layout(bytes32[] calldata d) private pure returns (uint256 code) {
        code = LibGraphStep.opCode(d);
        if (code == OP_ADD) LibGraphStep.checkFixed(d, code, 10, 2);
        else if (code == OP_MUL) LibGraphStep.checkFixed(d, code, 8, 2);
        else if (code == OP_CLAMP) LibGraphStep.checkFixed(d, code, 5, 1);
        else if (code == OP_TABLE) LibGraphStep.checkFixed(d, code, 4, 1);
        else revert LibGraphStep.GraphStepUnsupportedOp(code);
    }
}
