// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {GraphShape} from "../../interfaces/IModelRegistry.sol";
import {LibDisputeCost} from "../LibDisputeCost.sol";
import {LibMerkle} from "../LibMerkle.sol";

/// @title LibGraphDisputeCost
/// @notice Upper bounds on the gas each side spends in the longest market-bound game on a graph model, from its
///         registered {GraphShape} alone: the prefix dissection over the trace's n leaves, the descent through
///         the largest committed tensor, the fold dissection over the longest row, and the step, which the
///         registry's rule caps at MAX_STEP_GAS. GraphDisputes sizes the challenger's bond from the node's bound
///         and the market a job's smallest collateral from the challenger's (docs/dispute-game.md, "Who pays for
///         a game"), as LibDisputeCost does for Dense models.
/// @dev Each constant is the largest measured move (docs/dispute-game.md, "Graph programs", Gas) rounded up with
///      room; test/graph/graphDisputes.test.ts plays the longest games on the reference shapes and checks every
///      side's real gas against these bounds.
library LibGraphDisputeCost {
    /// @notice The most gas one step may take: a model whose worst step exceeds it is not served (nodes estimate
    ///         every op's worst step before serving; docs/dispute-game.md).
    uint256 internal constant MAX_STEP_GAS = 500_000;

    // Per-move bounds, gas (intrinsic gas and calldata included).
    /// @dev GraphDisputes.challenge: the game's open (its state, about eight fresh words), the dispute record (four
    ///      words: the job's hash, not the job), the bond and the market's hold; measured 323,074 on the CNN.
    uint256 internal constant CHALLENGE = 400_000;
    uint256 internal constant REVEAL_PREFIXES = 80_000;
    uint256 internal constant REVEAL_PREFIXES_PER_ROOT = 2_500;
    uint256 internal constant PICK_PREFIXES = 75_000;
    uint256 internal constant PICK_PREFIXES_PER_ROOT = 1_500;
    /// @dev revealLeaf: the extension, the op's model leaf (up to 17 descriptor words and its shapes) and the
    ///      runner's stageAt; proof levels are added per level.
    uint256 internal constant REVEAL_LEAF = 200_000;
    uint256 internal constant REVEAL_NODES = 100_000;
    uint256 internal constant PICK_NODE = 90_000;
    uint256 internal constant POST_FOLDS = 75_000;
    uint256 internal constant POST_FOLDS_PER_FOLD = 2_000;
    uint256 internal constant PICK_FOLDS = 70_000;
    uint256 internal constant PICK_FOLDS_PER_FOLD = 1_500;
    /// @dev GraphDisputes.settle when the node lost: the bond's credit, the rejection (the job reopened, the node
    ///      barred) and the attempt's settlement (two slashes, the reward's transfer, the compensation).
    uint256 internal constant SETTLE_LOST = 300_000;
    /// @dev GraphDisputes.settle when the node won: the bond's credit and the release of finality.
    uint256 internal constant SETTLE_WON = 150_000;

    /// @notice The longest market-bound game on a graph model, as the moves count it.
    struct Length {
        uint256 prefixRounds; // revealPrefixes / pickPrefixes pairs
        uint256 prefixesRevealed; // inner split points revealed over all those rounds
        uint256 leafProofLevels; // revealLeaf's extension proof and the op's model proof
        uint256 descentRounds; // revealNodes / pickNode pairs (a one-leaf tensor still takes one pick)
        uint256 foldRounds; // postFolds / pickFolds pairs
        uint256 foldsRevealed; // inner split points posted over all those rounds
    }

    /// @notice The longest game on a model of this shape.
    function lengthOf(GraphShape memory s) internal pure returns (Length memory n) {
        (n.prefixRounds, n.prefixesRevealed) = LibDisputeCost.dissection(uint256(s.leafCount) - 1);
        n.leafProofLevels = LibMerkle.depthFor(s.leafCount) + LibMerkle.depthFor(uint256(s.opCount) + 1);
        // A value's tree is paged (at least as deep as a binary tree of the same words, which the input's and the
        // output's are), and the descent takes ⌈depth / 4⌉ reveals either way (GraphDisputeGame.levelsAt).
        uint256 depth = LibMerkle.pagedDepthFor(s.maxTensorLeaves);
        n.descentRounds = (depth + LibDisputeCost.LEVELS_PER_MOVE - 1) / LibDisputeCost.LEVELS_PER_MOVE;
        (n.foldRounds, n.foldsRevealed) = LibDisputeCost.dissection(s.maxRowChunks);
    }

    /// @notice Gas the node spends defending the longest game against a lying challenger: every reveal, every
    ///         posted fold, the step (the planner has the node run it when it holds), the settlement it calls
    ///         and the withdrawal of the bond it wins.
    function asserterGas(GraphShape memory s) internal pure returns (uint256) {
        Length memory n = lengthOf(s);
        unchecked {
            return n.prefixRounds * REVEAL_PREFIXES + n.prefixesRevealed * REVEAL_PREFIXES_PER_ROOT + REVEAL_LEAF
            + n.leafProofLevels * LibDisputeCost.PER_PROOF_LEVEL + n.descentRounds * REVEAL_NODES
            + n.foldRounds * POST_FOLDS + n.foldsRevealed * POST_FOLDS_PER_FOLD + MAX_STEP_GAS + SETTLE_WON
            + LibDisputeCost.WITHDRAW;
        }
    }

    /// @notice Gas an honest challenger spends to catch a node that defends its lie to the end: the challenge,
    ///         every pick (each answers the values revealed for its range, both ends included), the step, the
    ///         settlement, and claiming and withdrawing its reward and bond.
    function challengerGas(GraphShape memory s) internal pure returns (uint256) {
        Length memory n = lengthOf(s);
        uint256 nodePicks = n.descentRounds == 0 ? 1 : n.descentRounds;
        unchecked {
            return CHALLENGE + n.prefixRounds * PICK_PREFIXES
            + (n.prefixesRevealed + 2 * n.prefixRounds) * PICK_PREFIXES_PER_ROOT + nodePicks * PICK_NODE
            + n.foldRounds * PICK_FOLDS + (n.foldsRevealed + 2 * n.foldRounds) * PICK_FOLDS_PER_FOLD + MAX_STEP_GAS
            + SETTLE_LOST + LibDisputeCost.PAYOUT;
        }
    }

    /// @notice The smallest collateral on a model of this shape whose reward pool (`rewardBps` of it) pays one
    ///         honest challenger's gas in the longest game at `coverGasPrice`.
    function minCollateral(GraphShape memory s, uint256 coverGasPrice, uint256 rewardBps)
        internal
        pure
        returns (uint256)
    {
        return (challengerGas(s) * coverGasPrice * 10_000 + rewardBps - 1) / rewardBps;
    }
}
