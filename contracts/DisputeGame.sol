// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {IJobMarket, IJobMarketForGames} from "./interfaces/IJobMarket.sol";
import {IStaking} from "./interfaces/IStaking.sol";
import {IModelRegistry} from "./interfaces/IModelRegistry.sol";
import {Job} from "./types/Job.sol";
import {LibMerkle} from "./lib/LibMerkle.sol";
import {LibDenseStep} from "./lib/LibDenseStep.sol";

/// @notice The market's dispute duration bound (JobMarket.maxDisputeDuration), read once at deployment.
interface IMarketDisputeDuration {
    function maxDisputeDuration() external view returns (uint256);
}

/// @title DisputeGame
/// @notice The bisection game on a submitted result of a Dense MLP (docs/dispute-game.md), first cut:
///         all activation roots in one move (L ≤ 64), the disputed activation tree revealed up to 4 levels
///         (16 nodes) per move, all partial sums in one move (R ≤ 64), then one step decided by LibDenseStep.
///         The asserter is the job's node, the challenger the game's creator. Every obligation to reveal is
///         the asserter's; the challenger only chooses.
contract DisputeGame {
    /// @notice Where a game is. The side to move follows from the phase.
    enum Phase {
        None,
        RevealRoots, // asserter: r_0 … r_L against T
        PickLayer, // challenger: the first disputed layer l
        RevealNodes, // asserter: up to 4 levels under the disputed node of r_l's tree
        PickNode, // challenger: the first differing revealed node (at the leaves: an element or padding position)
        StateAccumulator, // asserter: acc_j with output(acc_j) == y_j
        PostSums, // asserter: s_0 (the bias) and s_1 … s_{R-1}
        PickChunk, // challenger: the first k with s_k agreed and s_{k+1} disputed
        Step, // anyone: one accumulation step (charged to the challenger's clock)
        Resolved
    }

    /// @notice Why a game ended.
    enum Reason {
        None,
        WrongOutput, // output(acc_j) != y_j
        AccumulatorNotInt32,
        WrongBias, // s_0 != bias_j
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
        uint16 layer; // l
        uint8 height; // height of the disputed node in r_l's tree
        uint8 childHeight; // height of the revealed nodes
        uint256 index; // index of the disputed node at its height; after PickNode at the leaves: the element j
        bytes32 node; // the disputed node (at the leaves: the disputed leaf)
        bytes32 prevRoot; // the agreed r_{l-1}
        bytes32 rootsHash; // keccak256(abi.encode(r_0 … r_L)), then of the revealed nodes
        bytes32 descriptorHash; // layer l's descriptor hash (opened against the model root)
        bytes32 sumsHash; // keccak256(abi.encode(s_0 … s_R))
        int256 acc; // acc_j
        int256 y; // y_j
        int256 sumBefore; // s_k
        int256 sumAfter; // s_{k+1}
        uint256 chunk; // k
    }

    /// @notice The most activation roots (L + 1) or partial sums (R − 1 … R) one move may carry.
    uint256 public constant MAX_PER_MOVE = 64;
    /// @notice Seconds allowed beyond the two clocks for the resolving block.
    uint256 public constant BLOCK_MARGIN = 12;
    /// @notice The most tree levels one reveal opens (2^4 = 16 nodes).
    uint256 public constant LEVELS_PER_MOVE = 4;

    IJobMarketForGames public immutable market;
    IStaking public immutable staking;
    IModelRegistry public immutable registry;
    uint256 public immutable challengerBond;
    uint256 public immutable clockBudget;
    uint256 public immutable challengerRewardBps;

    mapping(bytes32 gameId => Game) internal _games;
    /// @notice ETH credited to an account (bonds), waiting for {withdraw}.
    mapping(address account => uint256) public credits;

    error DisputeGameWrongBond(uint256 have, uint256 need);
    error DisputeGameExists(bytes32 gameId);
    error DisputeGameUnknown(bytes32 gameId);
    error DisputeGameWrongPhase(bytes32 gameId, Phase have, Phase need);
    error DisputeGameAlreadyResolved(bytes32 gameId);
    error DisputeGameNotMover(bytes32 gameId, address caller, address mover);
    error DisputeGameClockExpired(bytes32 gameId, bool asserter, uint256 used, uint256 budget);
    error DisputeGameClockNotExpired(bytes32 gameId, bool asserter, uint256 used, uint256 budget);
    error DisputeGameTooManyLayers(uint256 layerCount, uint256 max);
    error DisputeGameTooManyChunks(uint256 chunks, uint256 max);
    error DisputeGameBadLength(uint256 have, uint256 need);
    error DisputeGameInvalidRootProof(bytes32 gameId, uint256 index, bytes32 root);
    error DisputeGameStaleAnswer(bytes32 gameId, bytes32 have, bytes32 expected);
    error DisputeGameLayerOutOfRange(uint256 layer, uint256 layerCount);
    error DisputeGameInvalidDescriptor(bytes32 gameId, uint256 layer);
    error DisputeGameNodesMismatch(bytes32 gameId, bytes32 computed, bytes32 node);
    error DisputeGameIndexOutOfRange(uint256 index, uint256 count);
    error DisputeGameInvalidBiasProof(bytes32 gameId, uint256 j);
    error DisputeGameInvalidWeightProof(bytes32 gameId, uint256 j, uint256 k);
    error DisputeGameInvalidInputProof(bytes32 gameId, uint256 k);
    error DisputeGameBadParameter();
    error DisputeGameClockTooLong(uint256 clockBudget, uint256 maxDisputeDuration);
    error DisputeGameNothingToWithdraw(address account);
    error DisputeGameTransferFailed(address to, uint256 amount);

    event GameStarted(bytes32 indexed gameId, uint256 indexed jobId, uint32 attempt, address indexed challenger, address node);
    event RootsRevealed(bytes32 indexed gameId, bytes32[] roots);
    event LayerPicked(bytes32 indexed gameId, uint256 layer, bytes32 prevRoot, bytes32 disputedRoot, uint256 depth);
    event NodesRevealed(bytes32 indexed gameId, uint256 height, uint256 firstIndex, bytes32[] nodes);
    event NodePicked(bytes32 indexed gameId, uint256 height, uint256 index, bytes32 node);
    event ElementPicked(bytes32 indexed gameId, uint256 j, int256 y, bytes32 leaf);
    event AccumulatorStated(bytes32 indexed gameId, uint256 j, int256 acc);
    event SumsPosted(bytes32 indexed gameId, int256[] sums);
    event ChunkPicked(bytes32 indexed gameId, uint256 k, int256 before, int256 after_);
    event GameResolved(bytes32 indexed gameId, bool asserterWon, Reason reason, bool resultRejected);
    event Credited(address indexed account, uint256 amount);
    event Withdrawn(address indexed account, uint256 amount);

    /// @param market_ The job market this game is bound to.
    /// @param staking_ The staking contract holding the nodes' collateral.
    /// @param registry_ The model registry.
    /// @param challengerBond_ The exact bond a challenger posts.
    /// @param clockBudget_ Seconds each side may spend on its moves in one game.
    /// @param challengerRewardBps_ Share of slashed collateral (basis points) to the winning challenger.
    constructor(
        IJobMarketForGames market_,
        IStaking staking_,
        IModelRegistry registry_,
        uint256 challengerBond_,
        uint256 clockBudget_,
        uint256 challengerRewardBps_
    ) {
        if (challengerRewardBps_ > 10_000 || clockBudget_ == 0 || clockBudget_ > type(uint40).max) {
            revert DisputeGameBadParameter();
        }
        // A game lasts at most 2 × clockBudget (each side's clock) plus the block that resolves it; the
        // market's unbonding check assumes it ends within maxDisputeDuration.
        uint256 maxDuration = IMarketDisputeDuration(address(market_)).maxDisputeDuration();
        if (2 * clockBudget_ + BLOCK_MARGIN > maxDuration) {
            revert DisputeGameClockTooLong(clockBudget_, maxDuration);
        }
        market = market_;
        staking = staking_;
        registry = registry_;
        challengerBond = challengerBond_;
        clockBudget = clockBudget_;
        challengerRewardBps = challengerRewardBps_;
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

    /// @notice Opens a game on the submitted result of `jobId`, posting exactly {challengerBond}. The market
    ///         checks `job` against its hash, that it is submitted and inside its challenge window.
    /// @param jobId The job.
    /// @param job The job as the market stores it.
    /// @return gameId keccak256(abi.encode(jobId, job.attempt, msg.sender)).
    function challenge(uint256 jobId, Job calldata job) external payable returns (bytes32 gameId) {
        if (msg.value != challengerBond) revert DisputeGameWrongBond(msg.value, challengerBond);
        if (job.layerCount + 1 > MAX_PER_MOVE) revert DisputeGameTooManyLayers(job.layerCount, MAX_PER_MOVE - 1);
        gameId = gameIdOf(jobId, job.attempt, msg.sender);
        Game storage g = _games[gameId];
        if (g.phase != Phase.None) revert DisputeGameExists(gameId);
        g.job = job;
        g.jobId = jobId;
        g.challenger = msg.sender;
        g.phase = Phase.RevealRoots;
        g.lastMove = uint40(block.timestamp);
        emit GameStarted(gameId, jobId, job.attempt, msg.sender, job.node);
        market.holdFinality(jobId, job);
    }

    // ------------------------------------------------------------------------------------------------
    // Moves
    // ------------------------------------------------------------------------------------------------

    /// @notice Asserter: reveals r_0 … r_L, each proved against the trace root T at its index.
    /// @param gameId The game.
    /// @param roots The L + 1 activation roots.
    /// @param proofs Their proofs against T (depth depthFor(L + 1)).
    function revealRoots(bytes32 gameId, bytes32[] calldata roots, bytes32[][] calldata proofs) external {
        Game storage g = _move(gameId, Phase.RevealRoots);
        uint256 n = uint256(g.job.layerCount) + 1;
        if (roots.length != n) revert DisputeGameBadLength(roots.length, n);
        if (proofs.length != n) revert DisputeGameBadLength(proofs.length, n);
        uint256 depth = LibMerkle.depthFor(n);
        bytes32 traceRoot = g.job.traceRoot;
        for (uint256 i; i < n; ++i) {
            if (!LibMerkle.verify(traceRoot, roots[i], i, proofs[i], depth)) {
                revert DisputeGameInvalidRootProof(gameId, i, roots[i]);
            }
        }
        g.rootsHash = keccak256(abi.encode(roots));
        g.phase = Phase.PickLayer;
        emit RootsRevealed(gameId, roots);
    }

    /// @notice Challenger: names the first layer `l` whose root r_l it disputes (r_{l-1} agreed) and opens
    ///         layer l's descriptor against the model root (the model is public).
    /// @param gameId The game.
    /// @param roots The roots the asserter revealed (what this move answers).
    /// @param layer l, 1 … L.
    /// @param d Layer l's descriptor.
    /// @param descriptorProof Its proof against the model root at index l − 1.
    function pickLayer(
        bytes32 gameId,
        bytes32[] calldata roots,
        uint256 layer,
        LibDenseStep.DenseDescriptor calldata d,
        bytes32[] calldata descriptorProof
    ) external {
        Game storage g = _move(gameId, Phase.PickLayer);
        bytes32 have = keccak256(abi.encode(roots));
        if (have != g.rootsHash) revert DisputeGameStaleAnswer(gameId, have, g.rootsHash);
        uint256 layerCount = g.job.layerCount;
        if (layer == 0 || layer > layerCount) revert DisputeGameLayerOutOfRange(layer, layerCount);
        g.descriptorHash = _openDescriptor(gameId, g, layer, d, descriptorProof);
        g.layer = uint16(layer);
        g.prevRoot = roots[layer - 1];
        g.node = roots[layer];
        uint256 depth = _activationDepth(d.nOut);
        g.height = uint8(depth);
        g.index = 0;
        if (depth == 0) {
            // One leaf: the root is the leaf; the challenger names a position in it next.
            g.childHeight = 0;
            g.rootsHash = keccak256(abi.encode(_one(roots[layer])));
            g.phase = Phase.PickNode;
        } else {
            g.phase = Phase.RevealNodes;
        }
        emit LayerPicked(gameId, layer, g.prevRoot, g.node, depth);
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
        g.rootsHash = keccak256(abi.encode(nodes));
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
        if (have != g.rootsHash) revert DisputeGameStaleAnswer(gameId, have, g.rootsHash);
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

    /// @notice Asserter: states acc_j of the disputed element; it loses at once unless acc_j is int32 and
    ///         output(acc_j) == y_j.
    /// @param gameId The game.
    /// @param j The element (what this move answers).
    /// @param d Layer l's descriptor.
    /// @param acc acc_j.
    function stateAccumulator(bytes32 gameId, uint256 j, LibDenseStep.DenseDescriptor calldata d, int256 acc)
        external
    {
        Game storage g = _move(gameId, Phase.StateAccumulator);
        if (j != g.index) revert DisputeGameStaleAnswer(gameId, bytes32(j), bytes32(g.index));
        _checkDescriptor(gameId, g, d);
        emit AccumulatorStated(gameId, j, acc);
        if (!LibDenseStep.isInt32(acc)) { _resolve(gameId, g, false, Reason.AccumulatorNotInt32); return; }
        if (LibDenseStep.output(acc, d) != g.y) { _resolve(gameId, g, false, Reason.WrongOutput); return; }
        g.acc = acc;
        g.phase = Phase.PostSums;
    }

    /// @notice Asserter: posts s_0 (opened as bias j against the bias root) and s_1 … s_{R-1}; s_R = acc_j.
    ///         It loses at once if s_0 is not the bias or a sum is not int32.
    /// @param gameId The game.
    /// @param acc acc_j (what this move answers).
    /// @param d Layer l's descriptor.
    /// @param biasLeaf Bias leaf ⌊j/8⌋.
    /// @param biasProof Its proof against the bias root.
    /// @param sums s_0 … s_{R-1}.
    function postSums(
        bytes32 gameId,
        int256 acc,
        LibDenseStep.DenseDescriptor calldata d,
        bytes32 biasLeaf,
        bytes32[] calldata biasProof,
        int256[] calldata sums
    ) external {
        Game storage g = _move(gameId, Phase.PostSums);
        if (acc != g.acc) revert DisputeGameStaleAnswer(gameId, bytes32(uint256(acc)), bytes32(uint256(g.acc)));
        _checkDescriptor(gameId, g, d);
        uint256 r = LibDenseStep.chunkCount(d.nIn);
        if (sums.length != r) revert DisputeGameBadLength(sums.length, r);
        uint256 j = g.index;
        if (!LibDenseStep.verifyBiasLeaf(d, j, biasLeaf, biasProof)) revert DisputeGameInvalidBiasProof(gameId, j);
        int256[] memory all = new int256[](r + 1);
        for (uint256 k; k < r; ++k) {
            all[k] = sums[k];
        }
        all[r] = acc;
        g.sumsHash = keccak256(abi.encode(all));
        emit SumsPosted(gameId, all);
        if (sums[0] != LibDenseStep.biasAt(biasLeaf, j)) { _resolve(gameId, g, false, Reason.WrongBias); return; }
        for (uint256 k = 1; k < r; ++k) {
            if (!LibDenseStep.isInt32(sums[k])) { _resolve(gameId, g, false, Reason.SumNotInt32); return; }
        }
        g.phase = Phase.PickChunk;
    }

    /// @notice Challenger: names the first k with s_k agreed and s_{k+1} disputed.
    /// @param gameId The game.
    /// @param sums s_0 … s_R as posted (what this move answers).
    /// @param k The chunk, 0 … R − 1.
    function pickChunk(bytes32 gameId, int256[] calldata sums, uint256 k) external {
        Game storage g = _move(gameId, Phase.PickChunk);
        bytes32 have = keccak256(abi.encode(sums));
        if (have != g.sumsHash) revert DisputeGameStaleAnswer(gameId, have, g.sumsHash);
        if (k + 1 >= sums.length) revert DisputeGameIndexOutOfRange(k, sums.length - 1);
        g.chunk = k;
        g.sumBefore = sums[k];
        g.sumAfter = sums[k + 1];
        g.phase = Phase.Step;
        emit ChunkPicked(gameId, k, sums[k], sums[k + 1]);
    }

    /// @notice Anyone: the accumulation step k of element j. The asserter wins when LibDenseStep.accumulate
    ///         recomputes s_{k+1} from s_k, the weight leaf j·R + k and input leaf k of the agreed r_{l-1};
    ///         the challenger wins otherwise. Charged to the challenger's clock.
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
        uint256 k = g.chunk;
        if (!LibDenseStep.verifyWeightLeaf(d, j, k, weightLeaf, weightProof)) {
            revert DisputeGameInvalidWeightProof(gameId, j, k);
        }
        if (!LibDenseStep.verifyActivationLeaf(g.prevRoot, d.nIn, k, inputLeaf, inputProof)) {
            revert DisputeGameInvalidInputProof(gameId, k);
        }
        int256 after_ = LibDenseStep.accumulate(g.sumBefore, weightLeaf, inputLeaf, LibDenseStep.validInChunk(d.nIn, k));
        if (after_ == g.sumAfter) _resolve(gameId, g, true, Reason.StepHeld);
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
        _resolve(gameId, g, !asserter, Reason.Timeout);
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
        bytes32 modelRoot = registry.getModel(g.job.modelId).root;
        if (!LibMerkle.verify(modelRoot, dh, layer - 1, proof, LibMerkle.depthFor(g.job.layerCount))) {
            revert DisputeGameInvalidDescriptor(gameId, layer);
        }
        // First cut: all partial sums in one move. Refused here, at the challenger's choice, so that an
        // honest asserter can never be timed out by a layer this version cannot dissect.
        uint256 r = LibDenseStep.chunkCount(d.nIn);
        if (r > MAX_PER_MOVE) revert DisputeGameTooManyChunks(r, MAX_PER_MOVE);
    }

    /// @dev Depth of the tree of an activation of `size` elements (max(1, ceil(size/32)) leaves).
    function _activationDepth(uint256 size) private pure returns (uint256) {
        uint256 leaves = LibDenseStep.chunkCount(size);
        return LibMerkle.depthFor(leaves == 0 ? 1 : leaves);
    }

    function _one(bytes32 x) private pure returns (bytes32[] memory a) {
        a = new bytes32[](1);
        a[0] = x;
    }

    /// @dev Ends the game. Effects first, then the market and staking calls (both trusted, bound contracts).
    ///      Asserter loses: the market rejects the result; if this game is the first to do so, the node's
    ///      collateral for the attempt is slashed in Staking, credited there directly: the reward share to the
    ///      challenger, the rest to the requester; the challenger's bond is credited here. If another game
    ///      already rejected the result, only the bond is returned. Challenger loses: its bond is credited to
    ///      the node and the hold on finality released.
    function _resolve(bytes32 gameId, Game storage g, bool asserterWon, Reason reason) private {
        g.phase = Phase.Resolved;
        g.asserterWon = asserterWon;
        Job memory job = g.job;
        address challenger = g.challenger;
        uint256 bond = challengerBond;
        if (asserterWon) {
            // Only the one storage write that can change a job under an open game is another game's
            // rejectResult: if the job moved on, its result was already rejected and is no longer the
            // node's to defend, so this game ends without a verdict and the bond goes back.
            bool stands = IJobMarket(address(market)).jobHash(g.jobId) == keccak256(abi.encode(job));
            address payee = stands ? job.node : challenger;
            credits[payee] += bond;
            emit Credited(payee, bond);
            emit GameResolved(gameId, true, reason, false);
            market.releaseFinality(g.jobId, job.attempt);
            return;
        }
        credits[challenger] += bond;
        emit Credited(challenger, bond);
        bool rejected = market.rejectResult(g.jobId, job);
        emit GameResolved(gameId, false, reason, rejected);
        if (rejected) {
            uint256 reward = uint256(job.collateral) * challengerRewardBps / 10_000;
            if (reward > 0) staking.slash(job.node, reward, challenger);
            if (job.collateral > reward) staking.slash(job.node, job.collateral - reward, job.requester);
        }
    }
}
