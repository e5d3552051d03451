// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {LibDenseStep} from "./LibDenseStep.sol";
import {LibMerkle} from "./LibMerkle.sol";

/// @title LibDisputeCost
/// @notice Upper bounds on the gas each side of a dispute game spends on a model, from the model's shape
///         alone (its layer count L and its widest layer W): the length of every dissection follows from
///         them, and so does the size of every move. The game sizes the challenger's bond from the node's
///         bound (a lying challenger pays the honest node's gas) and the smallest collateral of a job from
///         the challenger's bound (the reward from a caught node pays the honest challenger's gas), each
///         times a gas price fixed at deployment (docs/dispute-game.md, "Who pays for a game").
/// @dev Each constant is a measured move's gas (npm run bench, test/contracts/disputeCost.test.ts) rounded
///      up with room to spare; the test plays the longest game of models at the corners of the shape space
///      and checks every side's real gas against these bounds (and that no bound exceeds twice it).
library LibDisputeCost {
    /// @notice A shape beyond what a registry entry can hold (layer count above 2^16 − 1, width above 2^32 − 1).
    error LibDisputeCostShapeOutOfRange(uint256 layerCount, uint256 maxWidth);

    /// @notice Sub-ranges one dissection move cuts a range into (at most ARITY − 1 values revealed).
    uint256 internal constant ARITY = 64;
    /// @notice Tree levels one reveal of the descent opens.
    uint256 internal constant LEVELS_PER_MOVE = 4;

    // Per-move bounds, gas (intrinsic gas and calldata included).
    uint256 internal constant CHALLENGE = 400_000;
    uint256 internal constant REVEAL_ROOTS = 95_000;
    uint256 internal constant REVEAL_ROOTS_PER_ROOT = 3_000;
    uint256 internal constant PICK_ROOTS = 170_000;
    uint256 internal constant PICK_ROOTS_PER_ROOT = 1_200;
    uint256 internal constant REVEAL_NODES = 100_000;
    uint256 internal constant PICK_NODE = 130_000;
    uint256 internal constant STATE_ACCUMULATOR = 160_000;
    uint256 internal constant POST_SUMS = 70_000;
    uint256 internal constant POST_SUMS_PER_SUM = 2_000;
    uint256 internal constant PICK_SUMS = 70_000;
    uint256 internal constant PICK_SUMS_PER_SUM = 1_500;
    /// @dev The challenger's last move: the step or a timeout, whichever ends the game, with the settlement
    ///      of the attempt (two slashes, the reward's transfer, the requester's compensation, the rejection).
    uint256 internal constant LAST_MOVE = 340_000;
    /// @dev Claiming a reward share and withdrawing credits.
    uint256 internal constant PAYOUT = 100_000;
    /// @dev The node's last move: the step or a timeout against a challenger that stopped (no settlement).
    uint256 internal constant ASSERTER_LAST_MOVE = 150_000;
    /// @dev Withdrawing a credit.
    uint256 internal constant WITHDRAW = 40_000;
    /// @dev Gas per level of a Merkle proof in calldata and its verification (32 bytes at 16 gas, a keccak).
    uint256 internal constant PER_PROOF_LEVEL = 1_000;

    /// @notice The shape of the longest game on a model, as the moves count it.
    struct Length {
        uint256 rootRounds; // revealRoots / pickRoots pairs
        uint256 rootsRevealed; // inner split points opened over all those rounds
        uint256 traceDepth; // proof depth of a root against T
        uint256 descentRounds; // revealNodes / pickNode pairs (a one-leaf activation still takes one pick)
        uint256 sumRounds; // postSums / pickSums pairs
        uint256 sumsRevealed; // inner split points posted over all those rounds
        uint256 stepProofLevels; // every proof the last moves carry: descriptor, bias, weight, input
    }

    /// @notice A k-ary dissection of [0, n] down to one unit, the longest way: its moves, and the inner
    ///         split points revealed over all of them (min(ARITY, w) − 1 for a range of width w, the widest
    ///         sub-range ⌈w / ARITY⌉ wide next).
    function dissection(uint256 n) internal pure returns (uint256 rounds, uint256 revealed) {
        unchecked {
            for (uint256 w = n; w > 1; w = (w + ARITY - 1) / ARITY) {
                ++rounds;
                revealed += (w < ARITY ? w : ARITY) - 1;
            }
        }
    }

    /// @notice The longest game on a model of `layerCount` layers whose widest layer is `maxWidth`.
    /// @dev Reverts with {LibDisputeCostShapeOutOfRange} beyond a registry entry's types, so that no sum or
    ///      product below can overflow.
    function lengthOf(uint256 layerCount, uint256 maxWidth) internal pure returns (Length memory n) {
        if (layerCount > type(uint16).max || maxWidth > type(uint32).max) revert LibDisputeCostShapeOutOfRange(layerCount, maxWidth);
        uint256 chunks = LibDenseStep.chunkCount(maxWidth);
        if (chunks == 0) chunks = 1;
        uint256 activationDepth = LibMerkle.depthFor(chunks);
        (n.rootRounds, n.rootsRevealed) = dissection(layerCount);
        n.traceDepth = LibMerkle.depthFor(layerCount + 1);
        n.descentRounds = (activationDepth + LEVELS_PER_MOVE - 1) / LEVELS_PER_MOVE;
        (n.sumRounds, n.sumsRevealed) = dissection(chunks);
        n.stepProofLevels = LibMerkle.depthFor(layerCount) // descriptor
            + LibMerkle.depthFor((maxWidth + LibDenseStep.BIASES_PER_LEAF - 1) / LibDenseStep.BIASES_PER_LEAF) // bias
            + LibMerkle.depthFor(maxWidth * chunks) // weight
            + activationDepth; // input
    }

    /// @notice Gas the node spends defending the longest game on the model against a lying challenger:
    ///         every reveal, the stated accumulator, every posted sum, the step (or the timeout) and the
    ///         withdrawal of the bond it wins.
    function asserterGas(uint256 layerCount, uint256 maxWidth) internal pure returns (uint256) {
        Length memory n = lengthOf(layerCount, maxWidth);
        unchecked {
            return n.rootRounds * REVEAL_ROOTS + n.rootsRevealed * (REVEAL_ROOTS_PER_ROOT + n.traceDepth * PER_PROOF_LEVEL)
            + n.descentRounds * REVEAL_NODES + STATE_ACCUMULATOR + n.sumRounds * POST_SUMS + n.sumsRevealed * POST_SUMS_PER_SUM
            + ASSERTER_LAST_MOVE + WITHDRAW + n.stepProofLevels * PER_PROOF_LEVEL;
        }
    }

    /// @notice Gas an honest challenger spends to catch a node that defends its lie to the end: the
    ///         challenge, every pick, the step (or the timeout) with the attempt's settlement, and claiming
    ///         and withdrawing its reward and bond.
    function challengerGas(uint256 layerCount, uint256 maxWidth) internal pure returns (uint256) {
        Length memory n = lengthOf(layerCount, maxWidth);
        uint256 picks = n.rootRounds == 0 ? 1 : n.rootRounds; // a one-layer model still picks its layer
        uint256 nodePicks = n.descentRounds == 0 ? 1 : n.descentRounds;
        // Each pick answers the values revealed for its range, both ends included.
        unchecked {
            return CHALLENGE + picks * PICK_ROOTS + (n.rootsRevealed + 2 * picks) * PICK_ROOTS_PER_ROOT + nodePicks * PICK_NODE
            + n.sumRounds * PICK_SUMS + (n.sumsRevealed + 2 * n.sumRounds) * PICK_SUMS_PER_SUM + LAST_MOVE + PAYOUT
            + n.stepProofLevels * PER_PROOF_LEVEL;
        }
    }

    /// @notice The smallest collateral on a model of this shape whose reward pool (`rewardBps` of it) pays
    ///         one honest challenger's gas in the longest game at `coverGasPrice`: ⌈challengerGas · price ·
    ///         10,000 / rewardBps⌉.
    function minCollateral(uint256 layerCount, uint256 maxWidth, uint256 coverGasPrice, uint256 rewardBps)
        internal
        pure
        returns (uint256)
    {
        return (challengerGas(layerCount, maxWidth) * coverGasPrice * 10_000 + rewardBps - 1) / rewardBps;
    }
}
