// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {LibMerkle} from "../lib/LibMerkle.sol";
import {LibDenseStep} from "../lib/LibDenseStep.sol";
import {LibGraphIndex} from "../lib/graph/LibGraphIndex.sol";
import {LibGraphStep} from "../lib/graph/LibGraphStep.sol";
import {GraphStepRunner} from "./GraphStepRunner.sol";
import {OpLeaf, StepOpenings, StepPosition} from "./GraphGameTypes.sol";

/// @title GraphDisputeGame
/// @notice The dispute game on a claimed run of a graph program (docs/dispute-game.md, "Graph programs"): the rules
///         alone, with chess clocks and a recorded verdict. The trace is a prefix commitment over the roots of the
///         input, every committed stage and the output (docs/commitments.md §5); the asserter claims its root T over
///         n leaves, the challenger disputes it. The game then:
///         1. dissects the prefix roots P_0 (agreed: the input root, computed here) … P_{n−1} = T (disputed), k-ary,
///            down to one leaf i (P_{i−1} agreed, P_i disputed);
///         2. has the asserter reveal the leaf's root v_i with the proof that P_i extends P_{i−1} by it, and open the
///            model leaf of the op it belongs to (which says the stage, its kind and its tensor's size);
///         3. descends v_i's tree (up to 4 levels, 16 nodes a move; a value's tree is paged, its words hashed 8 at a
///            time, LibMerkle.verifyPaged) to one element the challenger names, or a padding element (decided at once);
///         4. for a reduce stage, dissects the row's running fold s_0 … s_R' (one value per chunk of 32 or 8 terms, and
///            for a finished reduce one more: its element, made from s_R' by one step) down to one chunk;
///         5. runs the one step ({GraphStepRunner}: operands at positions LibGraphIndex computes, opened under
///            P_{i−1}, weights under their constant roots, the arithmetic of the op's verifier behind a StepRouter)
///            and compares the result with the claim. The output leaf's step checks that it copies the last value.
///         Every obligation to reveal is the asserter's; the challenger only chooses. Every move names what it answers.
/// @dev Not yet bound to a market: anyone may {open} a game under a key of its own (the game id is
///      keccak256(opener, key)), and the verdict is recorded and emitted for the opener to act on. Bonds, slashing
///      and payouts are the market binding's, as is passing the job's input root and a registered graph model's
///      root, op count and trace leaf count (the game trusts its opener for these).
contract GraphDisputeGame {
    /// @notice Where a game is. The side to move follows from the phase.
    enum Phase {
        None,
        RevealPrefixes, // asserter: the prefix roots at the split points of [lo, hi]
        PickPrefixes, // challenger: the sub-range [P_a agreed, P_b disputed]
        RevealLeaf, // asserter: v_i, its extension proof, and the op's model leaf
        RevealNodes, // asserter: up to 4 levels under the disputed node of v_i's tree
        PickNode, // challenger: the first differing node (at the leaves: an element or padding)
        PostFolds, // asserter: the running folds at the split points of [lo, hi] (chunks)
        PickFolds, // challenger: the sub-range [s_a agreed, s_b disputed]
        Step, // anyone: the step (charged to the challenger's clock)
        Resolved
    }

    /// @notice Why a game ended.
    enum Reason {
        None,
        NonZeroPadding, // the named padding element of the asserter's tree is not zero
        ZeroPadding, // the challenger named a padding element that is zero
        FoldOutOfRange, // a posted fold is outside the stage's type
        StepHeld, // the step recomputed the claim
        StepFailed, // it did not
        Timeout
    }

    /// @notice The opening of a game: what the asserter claims, over which model.
    /// @param modelRoot The graph model root (core/graph/commitments.ts commitGraphModel).
    /// @param opCount The model's ops: its tree has opCount + 1 leaves (the header, then op k at leaf k).
    /// @param leafCount n, the leaves of the trace's prefix tree (input, committed stages, output).
    /// @param inputRoot The input's root: leaf 0, agreed.
    /// @param traceRoot The asserter's trace root T = P_{n−1}, disputed.
    struct Claim {
        bytes32 modelRoot;
        uint256 opCount;
        uint256 leafCount;
        bytes32 inputRoot;
        bytes32 traceRoot;
    }

    /// @notice A game's state (nine storage words).
    struct Game {
        address asserter;
        uint40 lastMove;
        Phase phase;
        Reason reason;
        bool asserterWon;
        uint8 height; // the disputed node's height in v_i's tree
        uint8 childHeight; // the revealed nodes' height
        uint8 stage; // the leaf's stage in its op
        address challenger;
        uint40 asserterUsed;
        uint40 challengerUsed;
        uint8 kind; // 1 reduce, 2 elementwise, 3 copy (the output leaf), 4 finished reduce
        uint8 bits; // 8 or 32: the leaf's elements
        uint8 foldBits; // a reduce stage: 8 or 32, its folds
        uint32 clockBudget;
        uint32 leafCount;
        uint32 opCount;
        uint32 lo; // the range under dissection: prefix leaves, then chunks
        uint32 hi;
        uint32 leaf; // i, once the prefix dissection ends
        uint32 opValue; // the op the leaf belongs to (its model leaf)
        uint32 chunks; // a reduce stage: chunks of a row
        bytes32 modelRoot;
        bytes32 agreed; // P_lo; once the leaf is revealed, P_{i−1}
        bytes32 disputed; // P_hi; then v_i; then the disputed node of its tree (at the leaves: the leaf)
        bytes32 claimsHash; // keccak256(abi.encode(values)) of the last revealed prefixes, nodes or folds
        bytes32 opLeafHash; // the op's model leaf
        uint64 index; // the disputed node's index at its height; after the pick at the leaves: the element
        uint64 elements; // the size of the leaf's tensor
        int32 claim; // the disputed element's value in the asserter's tree
        int32 foldLow; // s_lo, agreed (unused at lo = 0: the step computes s_0)
        int32 foldHigh; // s_hi, disputed
    }

    /// @notice How many sub-ranges one dissection move makes (at most 63 values revealed), as DisputeGame.
    uint256 public constant ARITY = 64;
    /// @notice The most tree levels one reveal opens (2^4 = 16 nodes).
    uint256 public constant LEVELS_PER_MOVE = 4;
    /// @notice The largest leaf count, op count, clock budget and chunk count of a row (stored in 32 bits).
    uint256 public constant MAX_FIELD = type(uint32).max;

    /// @notice Computes every step (index maps, openings, the StepRouter).
    GraphStepRunner public immutable stepRunner;

    mapping(bytes32 gameId => Game) internal _games;

    error GraphGameInvalidParameter(string name, uint256 value, uint256 min, uint256 max);
    error GraphGameInvalidParties(address asserter, address challenger);
    error GraphGameExists(bytes32 gameId);
    error GraphGameUnknown(bytes32 gameId);
    error GraphGameWrongPhase(bytes32 gameId, Phase have, Phase need);
    error GraphGameAlreadyResolved(bytes32 gameId);
    error GraphGameNotMover(bytes32 gameId, address caller, address mover);
    error GraphGameClockExpired(bytes32 gameId, bool asserter, uint256 used, uint256 budget);
    error GraphGameClockNotExpired(bytes32 gameId, bool asserter, uint256 used, uint256 budget);
    error GraphGameBadLength(uint256 have, uint256 need);
    error GraphGameStaleRange(bytes32 gameId, uint256 lo, uint256 hi, uint256 expectedLo, uint256 expectedHi);
    error GraphGameStaleAnswer(bytes32 gameId, bytes32 have, bytes32 expected);
    error GraphGameIndexOutOfRange(uint256 index, uint256 count);
    error GraphGameInvalidExtension(bytes32 gameId, uint256 leaf, bytes32 root);
    error GraphGameWrongOp(bytes32 gameId, uint256 leaf, uint256 opValue);
    error GraphGameInvalidOpLeaf(bytes32 gameId, uint256 opValue);
    error GraphGameNodesMismatch(bytes32 gameId, bytes32 computed, bytes32 node);

    event GameOpened(
        bytes32 indexed gameId,
        address indexed asserter,
        address indexed challenger,
        address opener,
        bytes32 modelRoot,
        bytes32 traceRoot,
        uint256 leafCount
    );
    event PrefixesRevealed(bytes32 indexed gameId, uint256 lo, uint256 hi, bytes32[] roots);
    event PrefixesPicked(bytes32 indexed gameId, uint256 lo, uint256 hi, bytes32 agreed, bytes32 disputed);
    event LeafRevealed(
        bytes32 indexed gameId, uint256 leaf, bytes32 root, uint256 opValue, uint256 stage, uint256 kind, uint256 depth
    );
    event NodesRevealed(bytes32 indexed gameId, uint256 height, uint256 firstIndex, bytes32[] nodes);
    event NodePicked(bytes32 indexed gameId, uint256 height, uint256 index, bytes32 node);
    event ElementPicked(bytes32 indexed gameId, uint256 element, int256 claim, uint256 chunks);
    event FoldsPosted(bytes32 indexed gameId, uint256 lo, uint256 hi, int256[] folds);
    event FoldsPicked(bytes32 indexed gameId, uint256 lo, uint256 hi, int256 agreed, int256 disputed);
    event StepRun(bytes32 indexed gameId, int256 computed, int256 claimed);
    event GameResolved(bytes32 indexed gameId, bool asserterWon, Reason reason);

    /// @param runner_ The step runner (bound to a StepRouter).
    constructor(GraphStepRunner runner_) {
        stepRunner = runner_;
    }

    // ------------------------------------------------------------------------------------------------
    // Opening
    // ------------------------------------------------------------------------------------------------

    /// @notice The id of the game `opener` opens under `key`.
    /// @param opener Who opened it (a market, later).
    /// @param key The opener's own name for it (a market: its job, attempt and challenger).
    /// @return keccak256(abi.encode(opener, key)).
    function gameIdOf(address opener, bytes32 key) public pure returns (bytes32) {
        return keccak256(abi.encode(opener, key));
    }

    /// @notice Split point i of [lo, hi] cut into m sub-ranges: lo + ⌊(hi − lo)·i / m⌋, m = min(ARITY, hi − lo).
    /// @param lo The range's start.
    /// @param hi The range's end.
    /// @param m The number of sub-ranges.
    /// @param i The point, 0 … m.
    /// @return The point.
    function splitPoint(uint256 lo, uint256 hi, uint256 m, uint256 i) public pure returns (uint256) {
        return lo + (hi - lo) * i / m;
    }

    /// @notice How many levels one reveal opens under a node at `height` (in word levels) of a tensor's tree: up to
    ///         {LEVELS_PER_MOVE}; a paged tree (a value's) has no nodes inside a page, so a reveal either stops at the
    ///         pages (height 3) or opens the words of one or two pages (heights 3 and 4 open to the words). The
    ///         descent takes as many reveals as ⌈height / 4⌉.
    /// @param height The node's height.
    /// @param paged Whether the tree is paged (every trace leaf but the output leaf).
    /// @return levels The levels opened.
    function levelsAt(uint256 height, bool paged) public pure returns (uint256 levels) {
        if (height <= LEVELS_PER_MOVE) return height;
        if (paged && height - LEVELS_PER_MOVE < LibMerkle.PAGE_LEVELS) return height - LibMerkle.PAGE_LEVELS;
        return LEVELS_PER_MOVE;
    }

    /// @notice P_0: the prefix root of a trace of `leafCount` leaves with `inputRoot` at leaf 0 and zeros after it.
    /// @param inputRoot The input's root.
    /// @param leafCount The trace's leaves.
    /// @return root The prefix root.
    function inputPrefix(bytes32 inputRoot, uint256 leafCount) public pure returns (bytes32 root) {
        uint256 depth = LibMerkle.depthFor(leafCount);
        bytes32 zero;
        root = inputRoot;
        for (uint256 h; h < depth; ++h) {
            root = keccak256(abi.encode(root, zero));
            zero = keccak256(abi.encode(zero, zero));
        }
    }

    /// @notice Opens a game on `claim` between `asserter` (who claimed T and must open everything) and `challenger`
    ///         (who disputes T). Each side gets `clockBudget` seconds for all its moves.
    /// @param key The opener's name for the game; the id is {gameIdOf}(msg.sender, key).
    /// @param claim The model and the claimed trace.
    /// @param asserter The side that claimed T.
    /// @param challenger The side that disputes it.
    /// @param clockBudget Seconds each side may spend, 1 … 2^32 − 1.
    /// @return gameId The game.
    function open(bytes32 key, Claim calldata claim, address asserter, address challenger, uint256 clockBudget)
        external
        returns (bytes32 gameId)
    {
        _checkParameter("leafCount", claim.leafCount, 2, MAX_FIELD);
        _checkParameter("opCount", claim.opCount, 1, MAX_FIELD - 1);
        _checkParameter("clockBudget", clockBudget, 1, MAX_FIELD);
        if (asserter == address(0) || challenger == address(0) || asserter == challenger) {
            revert GraphGameInvalidParties(asserter, challenger);
        }
        gameId = gameIdOf(msg.sender, key);
        Game storage g = _games[gameId];
        if (g.phase != Phase.None) revert GraphGameExists(gameId);
        uint256 last = claim.leafCount - 1;
        g.asserter = asserter;
        g.lastMove = uint40(block.timestamp);
        g.phase = last == 1 ? Phase.RevealLeaf : Phase.RevealPrefixes;
        g.challenger = challenger;
        g.clockBudget = uint32(clockBudget);
        g.leafCount = uint32(claim.leafCount);
        g.opCount = uint32(claim.opCount);
        g.hi = uint32(last);
        g.leaf = uint32(last);
        g.modelRoot = claim.modelRoot;
        g.agreed = inputPrefix(claim.inputRoot, claim.leafCount);
        g.disputed = claim.traceRoot;
        emit GameOpened(gameId, asserter, challenger, msg.sender, claim.modelRoot, claim.traceRoot, claim.leafCount);
    }

    // ------------------------------------------------------------------------------------------------
    // Prefix dissection
    // ------------------------------------------------------------------------------------------------

    /// @notice Asserter: reveals its prefix roots at the inner split points of the disputed range [lo, hi].
    /// @param gameId The game.
    /// @param lo The range's start (what this move answers).
    /// @param hi The range's end.
    /// @param roots P_p for the m − 1 inner split points p, m = min(ARITY, hi − lo).
    function revealPrefixes(bytes32 gameId, uint256 lo, uint256 hi, bytes32[] calldata roots) external {
        Game storage g = _move(gameId, Phase.RevealPrefixes);
        uint256 m = _checkRange(gameId, g, lo, hi, roots.length);
        bytes32[] memory all = new bytes32[](m + 1);
        (all[0], all[m]) = (g.agreed, g.disputed);
        for (uint256 i = 1; i < m; ++i) {
            all[i] = roots[i - 1];
        }
        g.claimsHash = keccak256(abi.encode(all));
        g.phase = Phase.PickPrefixes;
        emit PrefixesRevealed(gameId, lo, hi, all);
    }

    /// @notice Challenger: names the sub-range i whose first prefix root it agrees with and whose last it disputes.
    ///         One leaf wide, [i − 1, i], the asserter reveals leaf i next.
    /// @param gameId The game.
    /// @param roots The roots revealed for [lo, hi], ends included (what this move answers).
    /// @param i The sub-range, 0 … roots.length − 2.
    function pickPrefixes(bytes32 gameId, bytes32[] calldata roots, uint256 i) external {
        Game storage g = _move(gameId, Phase.PickPrefixes);
        (uint256 lo, uint256 hi) = _pick(gameId, g, keccak256(abi.encode(roots)), roots.length, i);
        g.agreed = roots[i];
        g.disputed = roots[i + 1];
        g.leaf = uint32(hi);
        g.phase = hi - lo > 1 ? Phase.RevealPrefixes : Phase.RevealLeaf;
        emit PrefixesPicked(gameId, lo, hi, roots[i], roots[i + 1]);
    }

    // ------------------------------------------------------------------------------------------------
    // The disputed leaf and its tree
    // ------------------------------------------------------------------------------------------------

    /// @notice Asserter: reveals v_i, the root at the disputed leaf i, with the proof that P_i extends P_{i−1} by it
    ///         (LibMerkle.verifyExtension), and opens the model leaf of the op i belongs to (for the output leaf, the
    ///         last op), which gives the stage, its kind, its width and its tensor's size.
    /// @param gameId The game.
    /// @param root v_i.
    /// @param extension The siblings of leaf i, the same under P_{i−1} (a zero there) and P_i.
    /// @param opValue The op's value id: its leaf in the model tree.
    /// @param op The op's model leaf.
    /// @param modelProof Its proof against the model root.
    function revealLeaf(
        bytes32 gameId,
        bytes32 root,
        bytes32[] calldata extension,
        uint256 opValue,
        OpLeaf calldata op,
        bytes32[] calldata modelProof
    ) external {
        Game storage g = _move(gameId, Phase.RevealLeaf);
        uint256 i = g.leaf;
        bool output = i == uint256(g.leafCount) - 1;
        if (!LibMerkle.verifyExtension(g.agreed, g.disputed, root, i, extension, LibMerkle.depthFor(g.leafCount))) {
            revert GraphGameInvalidExtension(gameId, i, root);
        }
        if (opValue == 0 || opValue > g.opCount || (output && opValue != g.opCount)) {
            revert GraphGameWrongOp(gameId, i, opValue);
        }
        bytes32 leafHash = LibGraphIndex.opLeafHash(op.descriptor, op.constantRoots, op.shapes, op.firstLeaf);
        if (!LibMerkle.verify(g.modelRoot, leafHash, opValue, modelProof, LibMerkle.depthFor(uint256(g.opCount) + 1))) {
            revert GraphGameInvalidOpLeaf(gameId, opValue);
        }
        g.opLeafHash = leafHash;
        g.opValue = uint32(opValue);
        g.disputed = root;
        uint256 depth = _enterLeaf(g, op, i, output);
        emit LeafRevealed(gameId, i, root, opValue, g.stage, g.kind, depth);
    }

    /// @dev Records what leaf i is (the runner reads the op's leaf) and starts the descent of its tree; returns the
    ///      tree's depth.
    function _enterLeaf(Game storage g, OpLeaf calldata op, uint256 i, bool output) private returns (uint256 depth) {
        (uint256 stage, uint256 kind, uint256 bits, uint256 foldBits, uint256 elements, uint256 chunks) =
            stepRunner.stageAt(op, i, output);
        // Rows of more than 2^37 terms do not fit the game's 32-bit chunk counter (a registry refuses such models).
        if (chunks > MAX_FIELD) revert GraphGameInvalidParameter("chunks", chunks, 0, MAX_FIELD);
        uint256 perLeaf = bits == 8 ? 32 : 8;
        uint256 words = (elements + perLeaf - 1) / perLeaf;
        // A value's tree is paged; the output leaf's is binary (the market computes it from the output's bytes).
        depth = output ? LibMerkle.depthFor(words) : LibMerkle.pagedDepthFor(words);
        g.stage = uint8(stage);
        g.kind = uint8(kind);
        g.bits = uint8(bits);
        g.foldBits = uint8(foldBits);
        g.elements = uint64(elements);
        g.chunks = uint32(chunks);
        g.height = uint8(depth);
        g.index = 0;
        if (depth == 0) {
            // One leaf: the root is the leaf; the challenger names an element of it next.
            bytes32[] memory one = new bytes32[](1);
            one[0] = g.disputed;
            g.childHeight = 0;
            g.claimsHash = keccak256(abi.encode(one));
            g.phase = Phase.PickNode;
        } else {
            g.phase = Phase.RevealNodes;
        }
    }

    /// @notice Asserter: reveals the 2^h nodes h levels under the disputed node of v_i's tree ({levelsAt}: up to 4,
    ///         never stopping inside a page of a paged tree, whose words hash 8 at a time).
    /// @param gameId The game.
    /// @param node The disputed node (what this move answers).
    /// @param nodes The nodes, left to right; they must hash up to `node`.
    function revealNodes(bytes32 gameId, bytes32 node, bytes32[] calldata nodes) external {
        Game storage g = _move(gameId, Phase.RevealNodes);
        if (node != g.disputed) revert GraphGameStaleAnswer(gameId, node, g.disputed);
        bool paged = g.leaf != g.leafCount - 1;
        uint256 levels = levelsAt(g.height, paged);
        uint256 count = 1 << levels;
        if (nodes.length != count) revert GraphGameBadLength(nodes.length, count);
        bytes32[16] memory buf;
        for (uint256 i; i < count; ++i) {
            buf[i] = nodes[i];
        }
        if (paged && levels == g.height) {
            // The words of 1 or 2 pages: each page hashes as one message of 256 bytes.
            assembly ("memory-safe") {
                mstore(buf, keccak256(buf, 0x100))
                if eq(count, 16) { mstore(add(buf, 0x20), keccak256(add(buf, 0x100), 0x100)) }
            }
            count >>= LibMerkle.PAGE_LEVELS;
        }
        for (uint256 c = count; c > 1; c >>= 1) {
            for (uint256 i; i < c / 2; ++i) {
                buf[i] = keccak256(abi.encode(buf[2 * i], buf[2 * i + 1]));
            }
        }
        if (buf[0] != node) revert GraphGameNodesMismatch(gameId, buf[0], node);
        g.childHeight = uint8(g.height - levels);
        g.claimsHash = keccak256(abi.encode(nodes));
        g.phase = Phase.PickNode;
        emit NodesRevealed(gameId, g.childHeight, uint256(g.index) << levels, nodes);
    }

    /// @notice Challenger: names the first revealed node that differs from its own. At the leaves it also names the
    ///         position `t` of the differing element in the leaf (0 … 31 for int8, 0 … 7 for int32): an element of
    ///         the tensor, whose value becomes the claim, or a padding element, decided at once (a non-zero one loses
    ///         the asserter the game, a zero one the challenger).
    /// @param gameId The game.
    /// @param nodes The nodes revealed (what this move answers).
    /// @param i The disputed one, 0 … nodes.length − 1.
    /// @param t The element's position in the leaf (ignored above the leaves).
    function pickNode(bytes32 gameId, bytes32[] calldata nodes, uint256 i, uint256 t) external {
        Game storage g = _move(gameId, Phase.PickNode);
        bytes32 have = keccak256(abi.encode(nodes));
        if (have != g.claimsHash) revert GraphGameStaleAnswer(gameId, have, g.claimsHash);
        if (i >= nodes.length) revert GraphGameIndexOutOfRange(i, nodes.length);
        uint256 levels = g.height - g.childHeight;
        uint256 index = (uint256(g.index) << levels) + i;
        bytes32 picked = nodes[i];
        g.disputed = picked;
        g.height = g.childHeight;
        g.index = uint64(index);
        emit NodePicked(gameId, g.childHeight, index, picked);
        if (g.childHeight > 0) {
            g.phase = Phase.RevealNodes;
            return;
        }
        uint256 perLeaf = g.bits == 8 ? 32 : 8;
        if (t >= perLeaf) revert GraphGameIndexOutOfRange(t, perLeaf);
        uint256 e = index * perLeaf + t;
        int256 value = perLeaf == 32 ? LibDenseStep.elementAt(picked, t) : LibDenseStep.biasAt(picked, t);
        if (e >= g.elements) {
            // Padding: the asserter's tree must hold zero past the tensor's end.
            _resolve(gameId, g, value == 0, value == 0 ? Reason.ZeroPadding : Reason.NonZeroPadding);
            return;
        }
        uint256 chunks = g.chunks;
        g.index = uint64(e);
        g.claim = int32(value);
        if (chunks != 0) {
            // A reduce stage (plain or finished): dissect its row's running fold.
            g.lo = 0;
            g.hi = uint32(chunks);
            g.foldHigh = int32(value);
            g.phase = chunks == 1 ? Phase.Step : Phase.PostFolds;
        } else {
            g.phase = Phase.Step;
        }
        emit ElementPicked(gameId, e, value, chunks);
    }

    // ------------------------------------------------------------------------------------------------
    // Fold dissection (reduce stages)
    // ------------------------------------------------------------------------------------------------

    /// @notice Asserter: posts the running fold of the disputed row at the inner split points of [lo, hi] (chunk
    ///         boundaries: s_p is the fold after p chunks). It loses at once if one is outside the stage's type.
    /// @param gameId The game.
    /// @param lo The range's start (what this move answers).
    /// @param hi The range's end.
    /// @param folds s_p for the m − 1 inner split points p, m = min(ARITY, hi − lo).
    function postFolds(bytes32 gameId, uint256 lo, uint256 hi, int256[] calldata folds) external {
        Game storage g = _move(gameId, Phase.PostFolds);
        uint256 m = _checkRange(gameId, g, lo, hi, folds.length);
        int256[] memory all = new int256[](m + 1);
        // s_0 is the model's (the step computes it): at lo = 0 the first value is a placeholder 0.
        (all[0], all[m]) = (lo == 0 ? int256(0) : int256(g.foldLow), int256(g.foldHigh));
        for (uint256 i = 1; i < m; ++i) {
            all[i] = folds[i - 1];
        }
        g.claimsHash = keccak256(abi.encode(all));
        emit FoldsPosted(gameId, lo, hi, all);
        bool int8Folds = g.foldBits == 8;
        for (uint256 i; i < folds.length; ++i) {
            bool inType = int8Folds ? LibGraphStep.isInt8(folds[i]) : LibDenseStep.isInt32(folds[i]);
            if (!inType) return _resolve(gameId, g, false, Reason.FoldOutOfRange);
        }
        g.phase = Phase.PickFolds;
    }

    /// @notice Challenger: names the sub-range i whose first fold it agrees with and whose last it disputes. One
    ///         chunk wide, [k, k + 1], the step decides.
    /// @param gameId The game.
    /// @param folds The folds posted for [lo, hi], ends included (what this move answers).
    /// @param i The sub-range, 0 … folds.length − 2.
    function pickFolds(bytes32 gameId, int256[] calldata folds, uint256 i) external {
        Game storage g = _move(gameId, Phase.PickFolds);
        (uint256 lo, uint256 hi) = _pick(gameId, g, keccak256(abi.encode(folds)), folds.length, i);
        g.foldLow = int32(folds[i]); // in type: checked when posted (or the placeholder 0, or the claim)
        g.foldHigh = int32(folds[i + 1]);
        g.phase = hi - lo > 1 ? Phase.PostFolds : Phase.Step;
        emit FoldsPicked(gameId, lo, hi, folds[i], folds[i + 1]);
    }

    // ------------------------------------------------------------------------------------------------
    // The step and the clocks
    // ------------------------------------------------------------------------------------------------

    /// @notice Anyone: the step. {GraphStepRunner.run} computes the disputed value from operands opened in
    ///         `openings` (positions from LibGraphIndex, arithmetic from the StepRouter): for a reduce stage the fold
    ///         after chunk lo from s_lo, for an elementwise stage the element, for the output leaf the last value's
    ///         element. Equal to the claim: the asserter wins; otherwise the challenger. Charged to the challenger's
    ///         clock. Openings that do not hold are refused (the call reverts).
    /// @param gameId The game.
    /// @param op The disputed op's model leaf (as revealed).
    /// @param openings The operands' openings.
    function step(bytes32 gameId, OpLeaf calldata op, StepOpenings calldata openings) external {
        Game storage g = _games[gameId];
        _checkPhase(gameId, g, Phase.Step);
        _tick(gameId, g, false);
        bytes32 leafHash = LibGraphIndex.opLeafHash(op.descriptor, op.constantRoots, op.shapes, op.firstLeaf);
        if (leafHash != g.opLeafHash) revert GraphGameStaleAnswer(gameId, leafHash, g.opLeafHash);
        bool reduce = g.chunks != 0;
        StepPosition memory p = StepPosition({
            modelRoot: g.modelRoot,
            modelDepth: LibMerkle.depthFor(uint256(g.opCount) + 1),
            prefix: g.agreed,
            prefixDepth: LibMerkle.depthFor(g.leafCount),
            leaf: g.leaf,
            opValue: g.opValue,
            stage: g.stage,
            kind: g.kind,
            element: g.index,
            elements: g.elements,
            chunk: reduce ? g.lo : 0,
            accBefore: g.foldLow
        });
        int256 computed = stepRunner.run(p, op, openings);
        int256 claimed = reduce ? int256(g.foldHigh) : int256(g.claim);
        emit StepRun(gameId, computed, claimed);
        if (computed == claimed) _resolve(gameId, g, true, Reason.StepHeld);
        else _resolve(gameId, g, false, Reason.StepFailed);
    }

    /// @notice Anyone: ends the game against the side to move once its clock has run out.
    /// @param gameId The game.
    function timeout(bytes32 gameId) external {
        Game storage g = _games[gameId];
        Phase p = g.phase;
        if (p == Phase.None) revert GraphGameUnknown(gameId);
        if (p == Phase.Resolved) revert GraphGameAlreadyResolved(gameId);
        bool asserter = _asserterMoves(p);
        uint256 used = (asserter ? g.asserterUsed : g.challengerUsed) + (block.timestamp - g.lastMove);
        if (used <= g.clockBudget) revert GraphGameClockNotExpired(gameId, asserter, used, g.clockBudget);
        if (asserter) g.asserterUsed = uint40(used);
        else g.challengerUsed = uint40(used);
        _resolve(gameId, g, !asserter, Reason.Timeout);
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

    /// @notice The verdict of a game: whether it is resolved, who won and why.
    /// @param gameId The game.
    /// @return resolved True once the game has ended.
    /// @return asserterWon The asserter won (meaningful once resolved).
    /// @return reason Why it ended.
    function verdict(bytes32 gameId) external view returns (bool resolved, bool asserterWon, Reason reason) {
        Game storage g = _games[gameId];
        return (g.phase == Phase.Resolved, g.asserterWon, g.reason);
    }

    /// @notice Seconds left on each side's clock now (the side to move is charged the time since the last move).
    /// @param gameId The game.
    /// @return asserterLeft The asserter's seconds left.
    /// @return challengerLeft The challenger's seconds left.
    function clocks(bytes32 gameId) external view returns (uint256 asserterLeft, uint256 challengerLeft) {
        Game storage g = _games[gameId];
        uint256 a = g.asserterUsed;
        uint256 c = g.challengerUsed;
        if (g.phase != Phase.Resolved && g.phase != Phase.None) {
            if (_asserterMoves(g.phase)) a += block.timestamp - g.lastMove;
            else c += block.timestamp - g.lastMove;
        }
        uint256 budget = g.clockBudget;
        asserterLeft = a >= budget ? 0 : budget - a;
        challengerLeft = c >= budget ? 0 : budget - c;
    }

    // ------------------------------------------------------------------------------------------------
    // Internals
    // ------------------------------------------------------------------------------------------------

    function _asserterMoves(Phase p) private pure returns (bool) {
        return p == Phase.RevealPrefixes || p == Phase.RevealLeaf || p == Phase.RevealNodes || p == Phase.PostFolds;
    }

    function _checkPhase(bytes32 gameId, Game storage g, Phase need) private view {
        Phase p = g.phase;
        if (p == Phase.None) revert GraphGameUnknown(gameId);
        if (p == Phase.Resolved) revert GraphGameAlreadyResolved(gameId);
        if (p != need) revert GraphGameWrongPhase(gameId, p, need);
    }

    /// @dev Checks the phase and the mover, and charges the mover's clock.
    function _move(bytes32 gameId, Phase need) private returns (Game storage g) {
        g = _games[gameId];
        _checkPhase(gameId, g, need);
        bool asserter = _asserterMoves(need);
        address mover = asserter ? g.asserter : g.challenger;
        if (msg.sender != mover) revert GraphGameNotMover(gameId, msg.sender, mover);
        _tick(gameId, g, asserter);
    }

    function _tick(bytes32 gameId, Game storage g, bool asserter) private {
        uint256 used = (asserter ? g.asserterUsed : g.challengerUsed) + (block.timestamp - g.lastMove);
        if (used > g.clockBudget) revert GraphGameClockExpired(gameId, asserter, used, g.clockBudget);
        if (asserter) g.asserterUsed = uint40(used);
        else g.challengerUsed = uint40(used);
        g.lastMove = uint40(block.timestamp);
    }

    /// @dev A reveal names the range it answers and carries one value per inner split point; returns m.
    function _checkRange(bytes32 gameId, Game storage g, uint256 lo, uint256 hi, uint256 count)
        private
        view
        returns (uint256 m)
    {
        if (lo != g.lo || hi != g.hi) revert GraphGameStaleRange(gameId, lo, hi, g.lo, g.hi);
        m = hi - lo < ARITY ? hi - lo : ARITY;
        if (count != m - 1) revert GraphGameBadLength(count, m - 1);
    }

    /// @dev A pick answers the last revealed values (ends included) and narrows [lo, hi] to sub-range i.
    function _pick(bytes32 gameId, Game storage g, bytes32 have, uint256 count, uint256 i)
        private
        returns (uint256 lo, uint256 hi)
    {
        if (have != g.claimsHash) revert GraphGameStaleAnswer(gameId, have, g.claimsHash);
        uint256 m = count - 1;
        if (i >= m) revert GraphGameIndexOutOfRange(i, m);
        (uint256 oldLo, uint256 oldHi) = (g.lo, g.hi);
        lo = splitPoint(oldLo, oldHi, m, i);
        hi = splitPoint(oldLo, oldHi, m, i + 1);
        g.lo = uint32(lo);
        g.hi = uint32(hi);
    }

    /// @dev The one place a game ends: the verdict recorded, then the event.
    function _resolve(bytes32 gameId, Game storage g, bool asserterWon, Reason reason) private {
        g.phase = Phase.Resolved;
        g.asserterWon = asserterWon;
        g.reason = reason;
        emit GameResolved(gameId, asserterWon, reason);
    }

    function _checkParameter(string memory name, uint256 value, uint256 min, uint256 max) private pure {
        if (value < min || value > max) revert GraphGameInvalidParameter(name, value, min, max);
    }
}
