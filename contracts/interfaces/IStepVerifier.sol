// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

/// @title IStepVerifier
/// @notice The one step of a graph program's dispute (docs/graph-semantics.md §11): given an op's descriptor
///         and the operands the game has already opened, compute the one value in dispute. The game compares
///         it with the asserter's claim; the verifier never sees a claim and never decides who wins.
/// @dev Why this shape:
///  - **The game knows stage kinds, never op kinds.** A committed stage is a reduce stage (settled by
///    dissecting its running fold s_0 … s_R down to one chunk of at most 32 terms, then {foldChunk}), an
///    elementwise stage (settled by one {step}) or a finished reduce (a reduce whose int32 fold is not committed:
///    its element is {step} applied to the row's whole fold s_R, the dissection's last "chunk", so a wrong chunk
///    or a wrong requantisation of an agreed s_R is found by the same dissection). Which one, and its element
///    type, the game asks of {stageKinds}. Op codes are read only by {StepRouter}, which forwards to the verifier listed for the
///    descriptor's first word; adding an op is deploying its verifier and listing it there.
///  - **Descriptor words as they are committed.** `descriptor` is exactly the canonical encoding of
///    core/graph/descriptor.ts (op code first, 32-byte big-endian two's-complement words), so the game hashes
///    the same words it passes; each verifier checks the op code, the arity and the exact length.
///  - **Plain numbers in, one number out.** Operands are elements the game has opened against agreed roots
///    (trace prefix roots, constant roots) at the positions the op's index maps give (core/graph/step.ts
///    builds them off-chain: reduction rows, broadcasting, views resolved). Their order is documented per
///    op by each verifier and by core/graph/step.ts. Reductions get their terms as two arrays (inputs,
///    weights) and a mask of padded cells, which never take part.
///  - **Data-dependent openings stay inside the verifier.** A Table step reads the table at x + 128, a
///    position the game cannot know before x is opened; the verifier checks that entry itself against the
///    constant's root (`constantRoots`, the roots the descriptor hash commits next to the descriptor words,
///    in descriptor order), from a leaf and proof in `witness`. The `out` step of a Dense or Conv with
///    per-channel requantisation does the same for the channel's (multiplier, shift), a leaf of the op's
///    requantisation constant (the root after the weight's and the bias's). Every other step has an empty witness.
///  - **Per-channel requantisation needs the element's channel**, the first coordinate of the op's output:
///    channel = element / (elements / channels). `elements` is the size of the stage's tensor, which the game
///    knows for every committed tensor (it opens elements of it), so no shape is needed on-chain.
///  Everything is pure: no state, no claims, revert (custom errors with values) on operands outside their
///  type or a malformed context. A revert means the caller passed something wrong, not that a claim is false.
interface IStepVerifier {
    /// @notice Where in the trace a step is, and the op it belongs to.
    /// @param descriptor The op's canonical descriptor words (core/graph/descriptor.ts), op code first.
    /// @param constantRoots Roots of the op's constants, one per constant id in the descriptor, in order, then a
    ///        per-channel Dense's or Conv's requantisation constant (Dense, Conv: weight, bias[, requantisation];
    ///        Table: table; others: none).
    /// @param stage The stage's index in the op's stage list (core/graph/stages.ts opStages).
    /// @param element The flat index of the disputed element of the stage's tensor (a reduce stage: the row).
    /// @param elements The number of elements of the stage's tensor (every stage has the op's output shape).
    struct StepContext {
        bytes32[] descriptor;
        bytes32[] constantRoots;
        uint256 stage;
        uint256 element;
        uint256 elements;
    }

    /// @notice The op codes this verifier computes.
    /// @return codes The op codes, each 1 … 31.
    function opCodes() external view returns (uint256[] memory codes);

    /// @notice The stages of the op, in order: their kind (1 = reduce, 2 = elementwise, 4 = finished reduce) and
    ///         their element type in bits (8 = int8, 32 = int32). A claimed stage value outside its type is false;
    ///         a reduce's folds have its element type, a finished reduce's are int32.
    /// @param descriptor The op's descriptor words.
    /// @return kinds One kind per stage.
    /// @return bits One width per stage.
    function stageKinds(bytes32[] calldata descriptor)
        external
        view
        returns (uint256[] memory kinds, uint256[] memory bits);

    /// @notice The start s_0 of the fold of row `ctx.element` of reduce stage `ctx.stage`.
    /// @param ctx The step's context.
    /// @param operands A sum of products: [bias of the row's output channel] (int32); a sum or a max: [].
    /// @return s0 The fold's start: the bias, 0 (sum) or −128 (max).
    function foldInit(StepContext calldata ctx, int256[] calldata operands) external view returns (int256 s0);

    /// @notice One chunk of the fold of row `ctx.element` of reduce stage `ctx.stage`: terms
    ///         [32k, min(R, 32k + 32)) folded onto the agreed s_{32k}.
    /// @param ctx The step's context.
    /// @param accBefore The agreed running value before the chunk (int32 for sums, int8 for a max).
    /// @param inputs The chunk's input elements, term order, 1 … 32 of them (int8).
    /// @param weights A sum of products: the weights of the same terms (int8); otherwise empty.
    /// @param padded Bit t set: term t is a padded cell and does not take part (its entries are ignored).
    /// @return accAfter The running value after the chunk.
    function foldChunk(
        StepContext calldata ctx,
        int256 accBefore,
        int256[] calldata inputs,
        int256[] calldata weights,
        uint256 padded
    ) external view returns (int256 accAfter);

    /// @notice Element `ctx.element` of elementwise stage `ctx.stage` from its opened operands, or of finished reduce
    ///         stage `ctx.stage` from its row's whole fold (operands [s_R]).
    /// @param ctx The step's context.
    /// @param operands The operands in the order the op's verifier documents.
    /// @param witness Openings the verifier checks itself (a Table entry's leaf and proof, a per-channel Dense's or
    ///        Conv's requantisation leaf and proof); otherwise empty.
    /// @return result The element's value.
    function step(StepContext calldata ctx, int256[] calldata operands, bytes32[] calldata witness)
        external
        view
        returns (int256 result);
}
