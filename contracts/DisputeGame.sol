// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {IJobMarketForGames} from "./interfaces/IJobMarket.sol";
import {IStaking} from "./interfaces/IStaking.sol";
import {IModelRegistry} from "./interfaces/IModelRegistry.sol";
import {Job} from "./types/Job.sol";
import {LibMerkle} from "./lib/LibMerkle.sol";
import {LibDenseStep} from "./lib/LibDenseStep.sol";
import {LibDisputeCost} from "./lib/LibDisputeCost.sol";

/// @notice What the game reads of the market once, at deployment, to check that both are bound to the same
///         contracts and that a game fits the market's dispute duration bound.
interface IMarketDeployment {
    function maxDisputeDuration() external view returns (uint256);
    function staking() external view returns (IStaking);
    function registry() external view returns (IModelRegistry);
}

/// @title DisputeGame
/// @notice The bisection game on a submitted result of a Dense MLP (docs/dispute-game.md): a k-ary
///         dissection of the activation roots r_0 … r_L (up to 63 roots revealed a move), the descent through
///         the disputed activation tree (4 levels, 16 nodes a move), the element, a k-ary dissection of its
///         partial sums s_0 … s_R (up to 63 sums a move), then one step decided by LibDenseStep. The asserter
///         is the job's node, the challenger the game's creator. Every obligation to reveal is the asserter's;
///         the challenger only chooses.
///
///         Payouts (docs/dispute-game.md, "Who pays for a game"): each game's bond goes to its winner's side
///         (back to a winning challenger, to the node otherwise). What a caught node loses does not depend
///         on who caught it: once every game on an attempt has resolved and at least one went against the
///         node, its whole collateral is slashed once; a reward pool of challengerRewardBps (at most
///         MAX_REWARD_BPS) is shared equally by every challenger that won a game on the attempt, and the
///         rest compensates the requester. A challenger of the node's own that wins quickly therefore
///         neither ends the honest challengers' games nor takes their share alone.
/// @dev The bond of a game and the smallest collateral of a job are sized from the model's shape by
///      LibDisputeCost and a gas price fixed at deployment, so each side's gas in the longest game on the
///      model is covered up to that price.
contract DisputeGame {
    /// @notice Where a game is. The side to move follows from the phase.
    enum Phase {
        None,
        RevealRoots, // asserter: the roots at the split points of [lo, hi], against T
        PickRoots, // challenger: the sub-range [r_a agreed, r_b disputed]; one layer wide: the disputed layer l
        RevealNodes, // asserter: up to 4 levels under the disputed node of r_l's tree
        PickNode, // challenger: the first differing revealed node (at the leaves: an element or padding position)
        StateAccumulator, // asserter: acc_j with output(acc_j) == y_j, and the bias s_0 = bias_j
        PostSums, // asserter: the partial sums at the split points of [lo, hi]
        PickSums, // challenger: the sub-range [s_a agreed, s_b disputed]
        Step, // anyone: one accumulation step (charged to the challenger's clock)
        Resolved
    }

    /// @notice Why a game ended.
    enum Reason {
        None,
        WrongOutput, // output(acc_j) != y_j
        AccumulatorNotInt32,
        NonZeroPadding,
        SumNotInt32,
        StepHeld, // the step recomputed s_{k+1}
        StepFailed, // it did not
        ZeroPadding, // the challenger named a padding position that is zero
        Timeout
    }

    struct Game {
        Job job;
        uint256 jobId;
        address challenger;
        Phase phase;
        uint40 lastMove;
        uint40 asserterUsed;
        uint40 challengerUsed;
        bool asserterWon;
        bool rewardClaimed; // the challenger's share of the attempt's reward pool was credited
        uint16 layer; // l, once picked
        uint8 height; // height of the disputed node in r_l's tree
        uint8 childHeight; // height of the revealed nodes
        uint32 lo; // the range under dissection: roots (layers) r_lo … r_hi, then partial sums s_lo … s_hi
        uint32 hi;
        uint96 bond; // what the challenger posted
        uint256 index; // index of the disputed node at its height; after PickNode at the leaves: the element j
        bytes32 prevRoot; // r_lo, agreed (set by a pick; before: the job's input root); once the layer is picked: r_{l-1}
        bytes32 node; // r_hi, disputed (idem, output root); then the disputed node of r_l's tree (at the leaves: the leaf)
        bytes32 claimsHash; // keccak256(abi.encode(values)) of the last revealed roots, nodes or sums
        bytes32 descriptorHash; // layer l's descriptor hash (opened against the model root)
        int256 acc; // acc_j
        int256 y; // y_j
        int256 sumLow; // s_lo, agreed
        int256 sumHigh; // s_hi, disputed
    }

    /// @notice The games on one attempt of a job, as far as payouts go.
    struct Attempt {
        uint32 winners; // games on the attempt that the node lost
        uint32 claimed; // winners whose share of the reward pool was credited
        bool settled; // every game resolved and the collateral slashed
    }

    /// @notice How many sub-ranges one dissection move splits a range into (at most 63 values revealed).
    uint256 public constant ARITY = LibDisputeCost.ARITY;
    /// @notice Seconds allowed beyond the two clocks for the resolving block.
    uint256 public constant BLOCK_MARGIN = 12;
    /// @notice The most tree levels one reveal opens (2^4 = 16 nodes).
    uint256 public constant LEVELS_PER_MOVE = LibDisputeCost.LEVELS_PER_MOVE;
    /// @notice The largest share of a caught node's collateral that challengers may share: the rest always
    ///         goes to the requester, so a node that challenges itself still loses at least half.
    uint256 public constant MAX_REWARD_BPS = 5_000;

    IJobMarketForGames public immutable market;
    IStaking public immutable staking;
    IModelRegistry public immutable registry;
    /// @notice Wei per gas up to which bonds and the smallest collateral cover each side's gas.
    uint256 public immutable coverGasPrice;
    uint256 public immutable clockBudget;
    uint256 public immutable challengerRewardBps;

    mapping(bytes32 gameId => Game) internal _games;
    /// @notice Payout state of each attempt, by {attemptIdOf}.
    mapping(bytes32 attemptId => Attempt) public attempts;
    /// @notice ETH credited to an account (bonds, rewards), waiting for {withdraw}.
    mapping(address account => uint256) public credits;

    error DisputeGameWrongBond(uint256 have, uint256 need);
    error DisputeGameNotDense(uint64 modelId);
    error DisputeGameExists(bytes32 gameId);
    error DisputeGameUnknown(bytes32 gameId);
    error DisputeGameWrongPhase(bytes32 gameId, Phase have, Phase need);
    error DisputeGameAlreadyResolved(bytes32 gameId);
    error DisputeGameNotMover(bytes32 gameId, address caller, address mover);
    error DisputeGameClockExpired(bytes32 gameId, bool asserter, uint256 used, uint256 budget);
    error DisputeGameClockNotExpired(bytes32 gameId, bool asserter, uint256 used, uint256 budget);
    error DisputeGameBadLength(uint256 have, uint256 need);
    error DisputeGameStaleRange(bytes32 gameId, uint256 lo, uint256 hi, uint256 expectedLo, uint256 expectedHi);
    error DisputeGameInvalidRootProof(bytes32 gameId, uint256 index, bytes32 root);
    error DisputeGameStaleAnswer(bytes32 gameId, bytes32 have, bytes32 expected);
    error DisputeGameInvalidDescriptor(bytes32 gameId, uint256 layer);
    error DisputeGameNodesMismatch(bytes32 gameId, bytes32 computed, bytes32 node);
    error DisputeGameIndexOutOfRange(uint256 index, uint256 count);
    error DisputeGameInvalidBiasProof(bytes32 gameId, uint256 j);
    error DisputeGameInvalidWeightProof(bytes32 gameId, uint256 j, uint256 k);
    error DisputeGameInvalidInputProof(bytes32 gameId, uint256 k);
    error DisputeGameInvalidParameter(string name, uint256 value, uint256 min, uint256 max);
    error DisputeGameBindingMismatch(string what, address have, address need);
    error DisputeGameClockTooLong(uint256 clockBudget, uint256 maxDisputeDuration);
    error DisputeGameNoReward(bytes32 gameId);
    error DisputeGameNotSettled(uint256 jobId, uint32 attempt);
    error DisputeGameRewardClaimed(bytes32 gameId);
    error DisputeGameUnexpectedPayment(address from);
    error DisputeGameNothingToWithdraw(address account);
    error DisputeGameTransferFailed(address to, uint256 amount);

    event GameStarted(bytes32 indexed gameId, uint256 indexed jobId, uint32 attempt, address indexed challenger, address node);
    event RootsRevealed(bytes32 indexed gameId, uint256 lo, uint256 hi, bytes32[] roots);
    event RootsPicked(bytes32 indexed gameId, uint256 lo, uint256 hi, bytes32 agreed, bytes32 disputed);
    event LayerPicked(bytes32 indexed gameId, uint256 layer, bytes32 prevRoot, bytes32 disputedRoot, uint256 depth);
    event NodesRevealed(bytes32 indexed gameId, uint256 height, uint256 firstIndex, bytes32[] nodes);
    event NodePicked(bytes32 indexed gameId, uint256 height, uint256 index, bytes32 node);
    event ElementPicked(bytes32 indexed gameId, uint256 j, int256 y, bytes32 leaf);
    event AccumulatorStated(bytes32 indexed gameId, uint256 j, int256 acc);
    event SumsPosted(bytes32 indexed gameId, uint256 lo, uint256 hi, int256[] sums);
    event SumsPicked(bytes32 indexed gameId, uint256 lo, uint256 hi, int256 agreed, int256 disputed);
    event GameResolved(bytes32 indexed gameId, bool asserterWon, Reason reason, bool resultRejected);
    event AttemptSettled(
        uint256 indexed jobId, uint32 indexed attempt, uint256 winners, uint256 rewardPool, uint256 requesterShare
    );
    event RewardClaimed(bytes32 indexed gameId, address indexed challenger, uint256 amount);
    event Credited(address indexed account, uint256 amount);
    event Withdrawn(address indexed account, uint256 amount);

    /// @param market_ The job market this game is bound to; it must use `staking_` and `registry_`.
    /// @param staking_ The staking contract holding the nodes' collateral.
    /// @param registry_ The model registry.
    /// @param coverGasPrice_ Wei per gas up to which a bond covers the node's gas in the longest game on a
    ///        model, and the reward at a job's smallest collateral the honest challenger's; at least 1.
    /// @param clockBudget_ Seconds each side may spend on its moves in one game, at least 1.
    /// @param challengerRewardBps_ Share of a caught node's collateral (basis points) shared by the
    ///        challengers that won, 1 … MAX_REWARD_BPS.
    constructor(
        IJobMarketForGames market_,
        IStaking staking_,
        IModelRegistry registry_,
        uint256 coverGasPrice_,
        uint256 clockBudget_,
        uint256 challengerRewardBps_
    ) {
        IMarketDeployment m = IMarketDeployment(address(market_));
        if (address(m.staking()) != address(staking_)) {
            revert DisputeGameBindingMismatch("staking", address(staking_), address(m.staking()));
        }
        if (address(m.registry()) != address(registry_)) {
            revert DisputeGameBindingMismatch("registry", address(registry_), address(m.registry()));
        }
        _checkParameter("coverGasPrice", coverGasPrice_, 1, type(uint64).max);
        _checkParameter("clockBudget", clockBudget_, 1, type(uint32).max);
        _checkParameter("challengerRewardBps", challengerRewardBps_, 1, MAX_REWARD_BPS);
        // A game lasts at most 2 × clockBudget (each side's clock) plus the block that resolves it; the
        // market's unbonding check assumes it ends within maxDisputeDuration.
        uint256 maxDuration = m.maxDisputeDuration();
        if (2 * clockBudget_ + BLOCK_MARGIN > maxDuration) {
            revert DisputeGameClockTooLong(clockBudget_, maxDuration);
        }
        market = market_;
        staking = staking_;
        registry = registry_;
        coverGasPrice = coverGasPrice_;
        clockBudget = clockBudget_;
        challengerRewardBps = challengerRewardBps_;
    }

    /// @notice Only staking sends ETH here: the reward pool of a settled attempt.
    receive() external payable {
        if (msg.sender != address(staking)) revert DisputeGameUnexpectedPayment(msg.sender);
    }

    // ------------------------------------------------------------------------------------------------
    // Costs
    // ------------------------------------------------------------------------------------------------

    /// @notice Upper bounds on each side's gas in the longest game on a model of this shape (LibDisputeCost).
    /// @param layerCount The model's layer count.
    /// @param maxWidth The model's widest layer.
    /// @return asserterGas The node's, defending against a lying challenger.
    /// @return challengerGas An honest challenger's, against a node that defends its lie to the end.
    function gasBounds(uint256 layerCount, uint256 maxWidth)
        external
        pure
        returns (uint256 asserterGas, uint256 challengerGas)
    {
        return (LibDisputeCost.asserterGas(layerCount, maxWidth), LibDisputeCost.challengerGas(layerCount, maxWidth));
    }

    /// @notice The bond a challenger posts on a job for `modelId`, a Dense model: the node's gas in the longest game on the
    ///         model (LibDisputeCost.asserterGas) at {coverGasPrice}.
    /// @param modelId A registered model.
    /// @return The bond, wei.
    function bondFor(uint64 modelId) public view returns (uint256) {
        (,, uint16 layerCount,, uint32 maxWidth) = registry.modelShape(modelId);
        // A graph model (no widest layer) is GraphDisputes': this game cannot open its ops.
        if (maxWidth == 0) revert DisputeGameNotDense(modelId);
        return LibDisputeCost.asserterGas(layerCount, maxWidth) * coverGasPrice;
    }

    /// @notice The smallest collateral of a job on a model of this shape: the reward it yields to one
    ///         honest challenger covers that challenger's gas in the longest game (LibDisputeCost.challengerGas)
    ///         at {coverGasPrice}.
    /// @param layerCount The model's layer count.
    /// @param maxWidth The model's widest layer.
    /// @return The collateral, wei.
    function minCollateralFor(uint256 layerCount, uint256 maxWidth) external view returns (uint256) {
        return LibDisputeCost.minCollateral(layerCount, maxWidth, coverGasPrice, challengerRewardBps);
    }

    // ------------------------------------------------------------------------------------------------
    // Opening
    // ------------------------------------------------------------------------------------------------

    /// @notice The id of the game `challenger` opens on `attempt` of `jobId`.
    /// @param jobId The job.
    /// @param attempt The attempt whose result is disputed.
    /// @param challenger The challenger.
    /// @return keccak256(abi.encode(jobId, attempt, challenger)).
    function gameIdOf(uint256 jobId, uint32 attempt, address challenger) public pure returns (bytes32) {
        return keccak256(abi.encode(jobId, attempt, challenger));
    }

    /// @notice Split point i of [lo, hi] cut into m sub-ranges: lo + ⌊(hi − lo)·i / m⌋, with
    ///         m = min(ARITY, hi − lo), so every sub-range is at least one wide.
    /// @param lo The range's start.
    /// @param hi The range's end.
    /// @param m The number of sub-ranges.
    /// @param i The point, 0 … m.
    /// @return The index of the point.
    function splitPoint(uint256 lo, uint256 hi, uint256 m, uint256 i) public pure returns (uint256) {
        return lo + (hi - lo) * i / m;
    }

    /// @notice The id of the payout record of `attempt` of `jobId`.
    /// @param jobId The job.
    /// @param attempt The attempt.
    /// @return keccak256(abi.encode(jobId, attempt)).
    function attemptIdOf(uint256 jobId, uint32 attempt) public pure returns (bytes32) {
        return keccak256(abi.encode(jobId, attempt));
    }

    /// @notice Opens a game on the submitted result of `jobId`, posting exactly {bondFor} the job's model.
    ///         The market checks `job` against its hash, that it is submitted and inside its challenge window.
    /// @param jobId The job.
    /// @param job The job as the market stores it.
    /// @return gameId keccak256(abi.encode(jobId, job.attempt, msg.sender)).
    function challenge(uint256 jobId, Job calldata job) external payable returns (bytes32 gameId) {
        uint256 bond = bondFor(job.modelId);
        if (msg.value != bond) revert DisputeGameWrongBond(msg.value, bond);
        gameId = gameIdOf(jobId, job.attempt, msg.sender);
        Game storage g = _games[gameId];
        if (g.phase != Phase.None) revert DisputeGameExists(gameId);
        g.job = job;
        g.jobId = jobId;
        g.challenger = msg.sender;
        g.bond = uint96(bond); // < 2^96: asserterGas < 2^32 and coverGasPrice < 2^64 (checked at deployment)
        g.lastMove = uint40(block.timestamp);
        // r_0 (computed by the market) is agreed; the challenger disputes r_L. Both are in the job, so the
        // range's end roots are read from it while an end is 0 or L ({_rangeEnds}).
        g.hi = job.layerCount;
        if (job.layerCount == 1) {
            // Nothing between r_0 and r_1 to reveal: the challenger names layer 1 (opening its descriptor).
            bytes32[] memory ends = new bytes32[](2);
            (ends[0], ends[1]) = (job.inputRoot, job.outputRoot);
            g.claimsHash = keccak256(abi.encode(ends));
            g.phase = Phase.PickRoots;
        } else {
            g.phase = Phase.RevealRoots;
        }
        emit GameStarted(gameId, jobId, job.attempt, msg.sender, job.node);
        market.holdFinality(jobId, job);
    }

    // ------------------------------------------------------------------------------------------------
    // Moves
    // ------------------------------------------------------------------------------------------------

    /// @notice Asserter: reveals the activation roots at the split points of the disputed range [lo, hi]
    ///         ({splitPoint}), each proved against the trace root T at its index.
    /// @param gameId The game.
    /// @param lo The range's start (what this move answers).
    /// @param hi The range's end.
    /// @param roots r_p for the m − 1 inner split points p, m = min(ARITY, hi − lo).
    /// @param proofs Their proofs against T (depth depthFor(L + 1)).
    function revealRoots(bytes32 gameId, uint256 lo, uint256 hi, bytes32[] calldata roots, bytes32[][] calldata proofs)
        external
    {
        Game storage g = _move(gameId, Phase.RevealRoots);
        uint256 m = _checkRange(gameId, g, lo, hi, roots.length);
        if (proofs.length != m - 1) revert DisputeGameBadLength(proofs.length, m - 1);
        uint256 depth = LibMerkle.depthFor(uint256(g.job.layerCount) + 1);
        bytes32 traceRoot = g.job.traceRoot;
        bytes32[] memory all = new bytes32[](m + 1);
        (all[0], all[m]) = _rangeEnds(g, lo, hi);
        for (uint256 i = 1; i < m; ++i) {
            uint256 p = splitPoint(lo, hi, m, i);
            if (!LibMerkle.verify(traceRoot, roots[i - 1], p, proofs[i - 1], depth)) {
                revert DisputeGameInvalidRootProof(gameId, p, roots[i - 1]);
            }
            all[i] = roots[i - 1];
        }
        g.claimsHash = keccak256(abi.encode(all));
        g.phase = Phase.PickRoots;
        emit RootsRevealed(gameId, lo, hi, all);
    }

    /// @notice Challenger: names the sub-range i whose first root it agrees with and whose last it disputes.
    ///         When that sub-range is one layer l wide, opens layer l's descriptor against the model root
    ///         (the model is public) and the descent through r_l's tree begins.
    /// @param gameId The game.
    /// @param roots The roots revealed for [lo, hi], both ends included (what this move answers).
    /// @param i The sub-range, 0 … roots.length − 2.
    /// @param d Layer l's descriptor (read only when the sub-range is one layer wide).
    /// @param descriptorProof Its proof against the model root at index l − 1 (idem).
    function pickRoots(
        bytes32 gameId,
        bytes32[] calldata roots,
        uint256 i,
        LibDenseStep.DenseDescriptor calldata d,
        bytes32[] calldata descriptorProof
    ) external {
        Game storage g = _move(gameId, Phase.PickRoots);
        (uint256 lo, uint256 hi) = _pick(gameId, g, keccak256(abi.encode(roots)), roots.length, i);
        g.prevRoot = roots[i];
        g.node = roots[i + 1];
        emit RootsPicked(gameId, lo, hi, roots[i], roots[i + 1]);
        if (hi - lo > 1) {
            g.phase = Phase.RevealRoots;
            return;
        }
        g.descriptorHash = _openDescriptor(gameId, g, hi, d, descriptorProof);
        g.layer = uint16(hi);
        uint256 depth = _activationDepth(d.nOut);
        g.height = uint8(depth);
        if (depth == 0) {
            // One leaf: the root is the leaf; the challenger names a position in it next.
            bytes32[] memory one = new bytes32[](1);
            one[0] = g.node;
            g.childHeight = 0;
            g.claimsHash = keccak256(abi.encode(one));
            g.phase = Phase.PickNode;
        } else {
            g.phase = Phase.RevealNodes;
        }
        emit LayerPicked(gameId, hi, g.prevRoot, g.node, depth);
    }

    /// @notice Asserter: reveals the 2^h nodes h = min(4, height) levels under the disputed node.
    /// @param gameId The game.
    /// @param node The disputed node (what this move answers).
    /// @param nodes The nodes, left to right; they must hash up to `node`.
    function revealNodes(bytes32 gameId, bytes32 node, bytes32[] calldata nodes) external {
        Game storage g = _move(gameId, Phase.RevealNodes);
        if (node != g.node) revert DisputeGameStaleAnswer(gameId, node, g.node);
        uint256 levels = g.height < LEVELS_PER_MOVE ? g.height : LEVELS_PER_MOVE;
        uint256 count = 1 << levels;
        if (nodes.length != count) revert DisputeGameBadLength(nodes.length, count);
        bytes32[16] memory buf;
        for (uint256 i; i < count; ++i) {
            buf[i] = nodes[i];
        }
        for (uint256 c = count; c > 1; c >>= 1) {
            for (uint256 i; i < c / 2; ++i) {
                buf[i] = keccak256(abi.encode(buf[2 * i], buf[2 * i + 1]));
            }
        }
        if (buf[0] != node) revert DisputeGameNodesMismatch(gameId, buf[0], node);
        g.childHeight = uint8(g.height - levels);
        g.claimsHash = keccak256(abi.encode(nodes));
        g.phase = Phase.PickNode;
        emit NodesRevealed(gameId, g.childHeight, g.index << levels, nodes);
    }

    /// @notice Challenger: names the first revealed node that differs from its own. When the revealed nodes
    ///         are leaves, also names the position `t` (0 … 31) of the differing element in that leaf: an
    ///         element j = 32·leaf + t < n_l, or a padding position, which is decided at once.
    /// @param gameId The game.
    /// @param nodes The nodes the asserter revealed (what this move answers).
    /// @param i The disputed one, 0 … nodes.length − 1.
    /// @param t The position in the leaf (ignored above the leaves).
    /// @param d Layer l's descriptor (only read at the leaves, for n_l = nOut).
    function pickNode(
        bytes32 gameId,
        bytes32[] calldata nodes,
        uint256 i,
        uint256 t,
        LibDenseStep.DenseDescriptor calldata d
    ) external {
        Game storage g = _move(gameId, Phase.PickNode);
        bytes32 have = keccak256(abi.encode(nodes));
        if (have != g.claimsHash) revert DisputeGameStaleAnswer(gameId, have, g.claimsHash);
        if (i >= nodes.length) revert DisputeGameIndexOutOfRange(i, nodes.length);
        uint256 levels = g.height - g.childHeight;
        uint256 index = (g.index << levels) + i;
        bytes32 picked = nodes[i];
        g.node = picked;
        g.height = g.childHeight;
        g.index = index;
        emit NodePicked(gameId, g.childHeight, index, picked);
        if (g.childHeight > 0) {
            g.phase = Phase.RevealNodes;
            return;
        }
        // A leaf: name a position in it.
        if (t >= LibDenseStep.ELEMENTS_PER_LEAF) revert DisputeGameIndexOutOfRange(t, LibDenseStep.ELEMENTS_PER_LEAF);
        _checkDescriptor(gameId, g, d);
        uint256 j = (index << 5) + t;
        if (j >= d.nOut) {
            // Padding: the asserter's leaf must be zero past the vector's end.
            if (!LibDenseStep.paddingIsZero(picked, d.nOut, index)) _resolve(gameId, g, false, Reason.NonZeroPadding);
            else _resolve(gameId, g, true, Reason.ZeroPadding);
            return;
        }
        g.index = j;
        g.y = LibDenseStep.elementAt(picked, t);
        g.phase = Phase.StateAccumulator;
        emit ElementPicked(gameId, j, g.y, picked);
    }

    /// @notice Asserter: states acc_j of the disputed element and opens bias_j (= s_0) against the bias root;
    ///         it loses at once unless acc_j is int32 and output(acc_j) == y_j. The partial sums s_0 … s_R
    ///         (s_R = acc_j) are then dissected over [0, R].
    /// @param gameId The game.
    /// @param j The element (what this move answers).
    /// @param d Layer l's descriptor.
    /// @param acc acc_j.
    /// @param biasLeaf Bias leaf ⌊j/8⌋.
    /// @param biasProof Its proof against the bias root.
    function stateAccumulator(
        bytes32 gameId,
        uint256 j,
        LibDenseStep.DenseDescriptor calldata d,
        int256 acc,
        bytes32 biasLeaf,
        bytes32[] calldata biasProof
    ) external {
        Game storage g = _move(gameId, Phase.StateAccumulator);
        if (j != g.index) revert DisputeGameStaleAnswer(gameId, bytes32(j), bytes32(g.index));
        _checkDescriptor(gameId, g, d);
        if (!LibDenseStep.verifyBiasLeaf(d, j, biasLeaf, biasProof)) revert DisputeGameInvalidBiasProof(gameId, j);
        emit AccumulatorStated(gameId, j, acc);
        if (!LibDenseStep.isInt32(acc)) return _resolve(gameId, g, false, Reason.AccumulatorNotInt32);
        if (LibDenseStep.output(acc, d) != g.y) return _resolve(gameId, g, false, Reason.WrongOutput);
        uint256 r = LibDenseStep.chunkCount(d.nIn);
        g.acc = acc;
        g.lo = 0;
        g.hi = uint32(r);
        g.sumLow = LibDenseStep.biasAt(biasLeaf, j);
        g.sumHigh = acc;
        g.phase = r == 1 ? Phase.Step : Phase.PostSums;
    }

    /// @notice Asserter: posts the partial sums at the split points of the disputed range [lo, hi]
    ///         ({splitPoint}); it loses at once if one is not int32.
    /// @param gameId The game.
    /// @param lo The range's start (what this move answers).
    /// @param hi The range's end.
    /// @param sums s_p for the m − 1 inner split points p, m = min(ARITY, hi − lo).
    function postSums(bytes32 gameId, uint256 lo, uint256 hi, int256[] calldata sums) external {
        Game storage g = _move(gameId, Phase.PostSums);
        uint256 m = _checkRange(gameId, g, lo, hi, sums.length);
        int256[] memory all = new int256[](m + 1);
        (all[0], all[m]) = (g.sumLow, g.sumHigh);
        for (uint256 i = 1; i < m; ++i) {
            all[i] = sums[i - 1];
        }
        g.claimsHash = keccak256(abi.encode(all));
        emit SumsPosted(gameId, lo, hi, all);
        for (uint256 i; i < sums.length; ++i) {
            if (!LibDenseStep.isInt32(sums[i])) return _resolve(gameId, g, false, Reason.SumNotInt32);
        }
        g.phase = Phase.PickSums;
    }

    /// @notice Challenger: names the sub-range i whose first sum it agrees with and whose last it disputes.
    ///         One chunk wide, [k, k + 1], the step decides.
    /// @param gameId The game.
    /// @param sums The sums posted for [lo, hi], both ends included (what this move answers).
    /// @param i The sub-range, 0 … sums.length − 2.
    function pickSums(bytes32 gameId, int256[] calldata sums, uint256 i) external {
        Game storage g = _move(gameId, Phase.PickSums);
        (uint256 lo, uint256 hi) = _pick(gameId, g, keccak256(abi.encode(sums)), sums.length, i);
        g.sumLow = sums[i];
        g.sumHigh = sums[i + 1];
        g.phase = hi - lo > 1 ? Phase.PostSums : Phase.Step;
        emit SumsPicked(gameId, lo, hi, sums[i], sums[i + 1]);
    }

    /// @notice Anyone: the accumulation step k = lo of element j. The asserter wins when
    ///         LibDenseStep.accumulate recomputes s_{k+1} from s_k, the weight leaf j·R + k and input leaf k of
    ///         the agreed r_{l-1}; the challenger wins otherwise. Charged to the challenger's clock.
    /// @param gameId The game.
    /// @param d Layer l's descriptor.
    /// @param weightLeaf Weight leaf j·R + k.
    /// @param weightProof Its proof against the weight root.
    /// @param inputLeaf Leaf k of a_{l-1}.
    /// @param inputProof Its proof against r_{l-1}.
    function step(
        bytes32 gameId,
        LibDenseStep.DenseDescriptor calldata d,
        bytes32 weightLeaf,
        bytes32[] calldata weightProof,
        bytes32 inputLeaf,
        bytes32[] calldata inputProof
    ) external {
        Game storage g = _games[gameId];
        _checkPhase(gameId, g, Phase.Step);
        _tick(gameId, g, false);
        _checkDescriptor(gameId, g, d);
        uint256 j = g.index;
        uint256 k = g.lo;
        if (!LibDenseStep.verifyWeightLeaf(d, j, k, weightLeaf, weightProof)) {
            revert DisputeGameInvalidWeightProof(gameId, j, k);
        }
        if (!LibDenseStep.verifyActivationLeaf(g.prevRoot, d.nIn, k, inputLeaf, inputProof)) {
            revert DisputeGameInvalidInputProof(gameId, k);
        }
        int256 after_ = LibDenseStep.accumulate(g.sumLow, weightLeaf, inputLeaf, LibDenseStep.validInChunk(d.nIn, k));
        if (after_ == g.sumHigh) _resolve(gameId, g, true, Reason.StepHeld);
        else _resolve(gameId, g, false, Reason.StepFailed);
    }

    /// @notice Anyone: ends the game against the side to move once its clock has run out.
    /// @param gameId The game.
    function timeout(bytes32 gameId) external {
        Game storage g = _games[gameId];
        Phase p = g.phase;
        if (p == Phase.None) revert DisputeGameUnknown(gameId);
        if (p == Phase.Resolved) revert DisputeGameAlreadyResolved(gameId);
        bool asserter = _asserterMoves(p);
        uint256 used = (asserter ? g.asserterUsed : g.challengerUsed) + (block.timestamp - g.lastMove);
        if (used <= clockBudget) revert DisputeGameClockNotExpired(gameId, asserter, used, clockBudget);
        // The clock as it stood at the end ({clocks} reads 0 left for the side that ran out).
        if (asserter) g.asserterUsed = uint40(used);
        else g.challengerUsed = uint40(used);
        _resolve(gameId, g, !asserter, Reason.Timeout);
    }

    /// @notice Credits a challenger that won its game its share of the attempt's reward pool, once every game
    ///         on the attempt has resolved: challengerRewardBps of the node's collateral, shared equally by
    ///         the winners (the last to claim also takes the rounding remainder). Anyone may call it.
    /// @param gameId A game the challenger won.
    function claimReward(bytes32 gameId) external {
        Game storage g = _games[gameId];
        if (g.phase == Phase.None) revert DisputeGameUnknown(gameId);
        if (g.phase != Phase.Resolved || g.asserterWon) revert DisputeGameNoReward(gameId);
        if (g.rewardClaimed) revert DisputeGameRewardClaimed(gameId);
        uint32 attempt = g.job.attempt;
        Attempt storage a = attempts[attemptIdOf(g.jobId, attempt)];
        if (!a.settled) revert DisputeGameNotSettled(g.jobId, attempt);
        g.rewardClaimed = true;
        uint256 pool = _rewardPool(g.job.collateral);
        uint256 share = pool / a.winners;
        if (++a.claimed == a.winners) share = pool - share * (a.winners - 1);
        address challenger = g.challenger;
        credits[challenger] += share;
        emit RewardClaimed(gameId, challenger, share);
        emit Credited(challenger, share);
    }

    /// @notice Pays out everything credited to the caller.
    function withdraw() external {
        uint256 amount = credits[msg.sender];
        if (amount == 0) revert DisputeGameNothingToWithdraw(msg.sender);
        credits[msg.sender] = 0;
        emit Withdrawn(msg.sender, amount);
        (bool ok,) = msg.sender.call{value: amount}("");
        if (!ok) revert DisputeGameTransferFailed(msg.sender, amount);
    }

    // ------------------------------------------------------------------------------------------------
    // Views
    // ------------------------------------------------------------------------------------------------

    /// @notice The state of a game.
    /// @param gameId The game.
    /// @return The game (phase None for an unknown id).
    function getGame(bytes32 gameId) external view returns (Game memory) {
        return _games[gameId];
    }

    /// @notice Seconds left on each side's clock now (the side to move is charged the time since the last move).
    /// @param gameId The game.
    /// @return asserterLeft The node's seconds left.
    /// @return challengerLeft The challenger's seconds left.
    function clocks(bytes32 gameId) external view returns (uint256 asserterLeft, uint256 challengerLeft) {
        Game storage g = _games[gameId];
        uint256 a = g.asserterUsed;
        uint256 c = g.challengerUsed;
        if (g.phase != Phase.Resolved && g.phase != Phase.None) {
            if (_asserterMoves(g.phase)) a += block.timestamp - g.lastMove;
            else c += block.timestamp - g.lastMove;
        }
        asserterLeft = a >= clockBudget ? 0 : clockBudget - a;
        challengerLeft = c >= clockBudget ? 0 : clockBudget - c;
    }

    // ------------------------------------------------------------------------------------------------
    // Internals
    // ------------------------------------------------------------------------------------------------

    function _asserterMoves(Phase p) private pure returns (bool) {
        return p == Phase.RevealRoots || p == Phase.RevealNodes || p == Phase.StateAccumulator || p == Phase.PostSums;
    }

    function _checkPhase(bytes32 gameId, Game storage g, Phase need) private view {
        Phase p = g.phase;
        if (p == Phase.None) revert DisputeGameUnknown(gameId);
        if (p == Phase.Resolved) revert DisputeGameAlreadyResolved(gameId);
        if (p != need) revert DisputeGameWrongPhase(gameId, p, need);
    }

    /// @dev Checks the phase and the mover, and charges the mover's clock.
    function _move(bytes32 gameId, Phase need) private returns (Game storage g) {
        g = _games[gameId];
        _checkPhase(gameId, g, need);
        bool asserter = _asserterMoves(need);
        address mover = asserter ? g.job.node : g.challenger;
        if (msg.sender != mover) revert DisputeGameNotMover(gameId, msg.sender, mover);
        _tick(gameId, g, asserter);
    }

    function _tick(bytes32 gameId, Game storage g, bool asserter) private {
        uint256 used = (asserter ? g.asserterUsed : g.challengerUsed) + (block.timestamp - g.lastMove);
        if (used > clockBudget) revert DisputeGameClockExpired(gameId, asserter, used, clockBudget);
        if (asserter) g.asserterUsed = uint40(used);
        else g.challengerUsed = uint40(used);
        g.lastMove = uint40(block.timestamp);
    }

    function _checkDescriptor(bytes32 gameId, Game storage g, LibDenseStep.DenseDescriptor calldata d) private view {
        if (LibDenseStep.descriptorHash(d) != g.descriptorHash) revert DisputeGameInvalidDescriptor(gameId, g.layer);
    }

    /// @dev Opens layer `layer`'s descriptor against the model root; returns its hash.
    function _openDescriptor(
        bytes32 gameId,
        Game storage g,
        uint256 layer,
        LibDenseStep.DenseDescriptor calldata d,
        bytes32[] calldata proof
    ) private view returns (bytes32 dh) {
        dh = LibDenseStep.descriptorHash(d);
        bytes32 modelRoot = registry.modelRoot(g.job.modelId);
        if (!LibMerkle.verify(modelRoot, dh, layer - 1, proof, LibMerkle.depthFor(g.job.layerCount))) {
            revert DisputeGameInvalidDescriptor(gameId, layer);
        }
    }

    /// @dev Depth of the tree of an activation of `size` elements (max(1, ceil(size/32)) leaves).
    function _activationDepth(uint256 size) private pure returns (uint256) {
        uint256 leaves = LibDenseStep.chunkCount(size);
        return LibMerkle.depthFor(leaves == 0 ? 1 : leaves);
    }

    /// @dev A reveal names the range it answers and carries one value per inner split point; returns m.
    function _checkRange(bytes32 gameId, Game storage g, uint256 lo, uint256 hi, uint256 count)
        private
        view
        returns (uint256 m)
    {
        if (lo != g.lo || hi != g.hi) revert DisputeGameStaleRange(gameId, lo, hi, g.lo, g.hi);
        m = _arity(lo, hi);
        if (count != m - 1) revert DisputeGameBadLength(count, m - 1);
    }

    /// @dev A pick answers the last revealed values (both ends included) and narrows [lo, hi] to sub-range i.
    function _pick(bytes32 gameId, Game storage g, bytes32 have, uint256 count, uint256 i)
        private
        returns (uint256 lo, uint256 hi)
    {
        if (have != g.claimsHash) revert DisputeGameStaleAnswer(gameId, have, g.claimsHash);
        uint256 m = count - 1;
        if (i >= m) revert DisputeGameIndexOutOfRange(i, m);
        (uint256 oldLo, uint256 oldHi) = (g.lo, g.hi);
        lo = splitPoint(oldLo, oldHi, m, i);
        hi = splitPoint(oldLo, oldHi, m, i + 1);
        g.lo = uint32(lo);
        g.hi = uint32(hi);
    }

    /// @dev r_lo and r_hi of the roots range: the job's input and output roots at 0 and L, else the stored ones.
    function _rangeEnds(Game storage g, uint256 lo, uint256 hi) private view returns (bytes32 low, bytes32 high) {
        low = lo == 0 ? g.job.inputRoot : g.prevRoot;
        high = hi == g.job.layerCount ? g.job.outputRoot : g.node;
    }

    function _arity(uint256 lo, uint256 hi) private pure returns (uint256) {
        return hi - lo < ARITY ? hi - lo : ARITY;
    }

    /// @dev challengerRewardBps of a collateral: what the winners of an attempt share.
    function _rewardPool(uint256 collateral) private view returns (uint256) {
        return collateral * challengerRewardBps / 10_000;
    }

    /// @dev Ends the game. The bond goes to the winner's side: back to the challenger, or to the node. A loss
    ///      of the node's makes the market reject the result (the first such loss reopens the job and bars the
    ///      node from it). When this was the attempt's last open game and the node lost any game on it, the
    ///      attempt settles: the whole collateral is slashed, the reward pool into this contract for the
    ///      winners to claim ({claimReward}), the rest to the requester. Effects first, then the market and
    ///      staking calls (both trusted, bound contracts).
    function _resolve(bytes32 gameId, Game storage g, bool asserterWon, Reason reason) private {
        g.phase = Phase.Resolved;
        g.asserterWon = asserterWon;
        Job memory job = g.job;
        uint256 jobId = g.jobId;
        Attempt storage a = attempts[attemptIdOf(jobId, job.attempt)];
        address payee = asserterWon ? job.node : g.challenger;
        uint256 bond = g.bond;
        credits[payee] += bond;
        emit Credited(payee, bond);
        if (!asserterWon) a.winners += 1;
        // This game is one of the market's open holds on the attempt: the last one settles it.
        bool settles = a.winners != 0 && market.openDisputes(jobId, job.attempt) == 1;
        if (settles) a.settled = true;

        bool rejected;
        if (asserterWon) market.releaseFinality(jobId, job.attempt);
        else rejected = market.rejectResult(jobId, job);
        emit GameResolved(gameId, asserterWon, reason, rejected);
        if (settles) _settle(jobId, job, a.winners);
    }

    /// @dev Slashes the node's whole collateral for the attempt: the reward pool to this contract (pulled at
    ///      once, so the winners' claims are paid from this contract's balance), the rest to the requester,
    ///      recorded by the market as the job's compensation.
    function _settle(uint256 jobId, Job memory job, uint256 winners) private {
        uint256 pool = _rewardPool(job.collateral);
        uint256 rest = job.collateral - pool;
        emit AttemptSettled(jobId, job.attempt, winners, pool, rest);
        if (rest > 0) {
            staking.slash(job.node, rest, job.requester);
            market.recordCompensation(jobId, rest);
        }
        if (pool > 0) {
            staking.slash(job.node, pool, address(this));
            staking.withdraw();
        }
    }

    function _checkParameter(string memory name, uint256 value, uint256 min, uint256 max) private pure {
        if (value < min || value > max) revert DisputeGameInvalidParameter(name, value, min, max);
    }
}
