// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {IJobMarketForGames} from "../interfaces/IJobMarket.sol";
import {IStaking} from "../interfaces/IStaking.sol";
import {IModelRegistry, GraphShape} from "../interfaces/IModelRegistry.sol";
import {Job} from "../types/Job.sol";
import {LibGraphDisputeCost} from "../lib/graph/LibGraphDisputeCost.sol";
import {GraphDisputeGame} from "./GraphDisputeGame.sol";

/// @notice What the payouts read of the market once, at deployment (as DisputeGame does).
interface IGraphMarketDeployment {
    function maxDisputeDuration() external view returns (uint256);
    function staking() external view returns (IStaking);
    function registry() external view returns (IModelRegistry);
}

/// @title GraphDisputes
/// @notice Binds the graph dispute game to the job market (docs/dispute-game.md, "Graph programs", "The market
///         binding"): a challenger disputes the submitted result of a job on a graph model by posting a bond;
///         this contract opens a GraphDisputeGame game on it (the claim from the registry and the job: the model
///         root, op count and trace leaf count, the job's input root and the node's trace root; the node is the
///         asserter), and holds the job's finality. The parties play the game on GraphDisputeGame itself. Once
///         the game has its verdict, anyone calls {settle}, and the payouts follow the Dense game's rules: the
///         bond goes to the winner's side; a node that lost any game on an attempt is barred from the job and,
///         once every game on the attempt has settled, loses its whole collateral, challengerRewardBps of it
///         shared equally by the challengers that won ({claimReward}) and the rest to the requester.
/// @dev The market and staking bind this contract as their second game (bindGraphGame). It opens games only on
///      graph models (a registry entry without a widest layer), and the Dense game refuses those, so each game
///      holds and releases only its own jobs' finality.
contract GraphDisputes {
    /// @notice One market-bound game (four storage words): the job as it was disputed, by its hash (the job itself is
    ///         in DisputeOpened and passed back to {settle}), what the payouts need of it, the challenger and its bond.
    struct Dispute {
        uint256 jobId;
        bytes32 jobHash; // keccak256(abi.encode(job)) as disputed
        address challenger;
        uint96 bond;
        uint96 collateral; // the attempt's collateral (the reward pool is a share of it)
        uint32 attempt;
        bool settled; // the verdict was applied
        bool asserterWon;
        bool rewardClaimed; // the challenger's share of the attempt's reward pool was credited
    }

    /// @notice The games on one attempt of a job, as far as payouts go (as DisputeGame.Attempt).
    struct Attempt {
        uint32 winners; // settled games on the attempt that the node lost
        uint32 claimed; // winners whose share of the reward pool was credited
        bool settled; // every game settled and the collateral slashed
    }

    /// @notice Seconds allowed beyond the two clocks for the resolving block and the settlement.
    uint256 public constant BLOCK_MARGIN = 12;
    /// @notice The largest share of a caught node's collateral that challengers may share (as DisputeGame).
    uint256 public constant MAX_REWARD_BPS = 5_000;

    IJobMarketForGames public immutable market;
    IStaking public immutable staking;
    IModelRegistry public immutable registry;
    /// @notice The rules: every game this contract opens is played there.
    GraphDisputeGame public immutable game;
    /// @notice Wei per gas up to which bonds and the smallest collateral cover each side's gas.
    uint256 public immutable coverGasPrice;
    /// @notice Seconds each side may spend on its moves in one game.
    uint256 public immutable clockBudget;
    uint256 public immutable challengerRewardBps;

    /// @notice The market-bound games, by their id in {game}.
    mapping(bytes32 gameId => Dispute) internal _disputes;
    /// @notice Payout state of each attempt, by {attemptIdOf}.
    mapping(bytes32 attemptId => Attempt) public attempts;
    /// @notice ETH credited to an account (bonds, rewards), waiting for {withdraw}.
    mapping(address account => uint256) public credits;

    error GraphDisputesNotGraphModel(uint64 modelId);
    error GraphDisputesWrongBond(uint256 have, uint256 need);
    error GraphDisputesUnknown(bytes32 gameId);
    error GraphDisputesJobMismatch(bytes32 gameId, bytes32 have, bytes32 need);
    error GraphDisputesNotResolved(bytes32 gameId);
    error GraphDisputesAlreadySettled(bytes32 gameId);
    error GraphDisputesNoReward(bytes32 gameId);
    error GraphDisputesNotSettled(uint256 jobId, uint32 attempt);
    error GraphDisputesRewardClaimed(bytes32 gameId);
    error GraphDisputesUnexpectedPayment(address from);
    error GraphDisputesNothingToWithdraw(address account);
    error GraphDisputesTransferFailed(address to, uint256 amount);
    error GraphDisputesInvalidParameter(string name, uint256 value, uint256 min, uint256 max);
    error GraphDisputesBindingMismatch(string what, address have, address need);
    error GraphDisputesClockTooLong(uint256 clockBudget, uint256 maxDisputeDuration);

    event DisputeOpened(
        bytes32 indexed gameId,
        uint256 indexed jobId,
        uint32 attempt,
        address indexed challenger,
        address node,
        uint256 bond,
        Job job
    );
    event DisputeSettled(bytes32 indexed gameId, uint256 indexed jobId, bool asserterWon, bool resultRejected);
    event AttemptSettled(
        uint256 indexed jobId, uint32 indexed attempt, uint256 winners, uint256 rewardPool, uint256 requesterShare
    );
    event RewardClaimed(bytes32 indexed gameId, address indexed challenger, uint256 amount);
    event Credited(address indexed account, uint256 amount);
    event Withdrawn(address indexed account, uint256 amount);

    /// @param market_ The job market; it must use `staking_` and `registry_`.
    /// @param staking_ The staking contract holding the nodes' collateral.
    /// @param registry_ The model registry.
    /// @param game_ The graph dispute game this contract opens games on.
    /// @param coverGasPrice_ Wei per gas up to which bonds and the smallest collateral cover each side's gas in
    ///        the longest game on a model (LibGraphDisputeCost), 1 … 2^64 − 1; the market requires the Dense
    ///        game's.
    /// @param clockBudget_ Seconds each side may spend on its moves in one game, at least 1; two of them and
    ///        BLOCK_MARGIN fit in the market's maxDisputeDuration.
    /// @param challengerRewardBps_ Share of a caught node's collateral (basis points) shared by the challengers
    ///        that won, 1 … MAX_REWARD_BPS; the market requires the Dense game's.
    constructor(
        IJobMarketForGames market_,
        IStaking staking_,
        IModelRegistry registry_,
        GraphDisputeGame game_,
        uint256 coverGasPrice_,
        uint256 clockBudget_,
        uint256 challengerRewardBps_
    ) {
        IGraphMarketDeployment m = IGraphMarketDeployment(address(market_));
        if (address(m.staking()) != address(staking_)) {
            revert GraphDisputesBindingMismatch("staking", address(staking_), address(m.staking()));
        }
        if (address(m.registry()) != address(registry_)) {
            revert GraphDisputesBindingMismatch("registry", address(registry_), address(m.registry()));
        }
        if (address(game_).code.length == 0) revert GraphDisputesBindingMismatch("game", address(game_), address(0));
        _checkParameter("coverGasPrice", coverGasPrice_, 1, type(uint64).max);
        _checkParameter("clockBudget", clockBudget_, 1, type(uint32).max);
        _checkParameter("challengerRewardBps", challengerRewardBps_, 1, MAX_REWARD_BPS);
        uint256 maxDuration = m.maxDisputeDuration();
        if (2 * clockBudget_ + BLOCK_MARGIN > maxDuration) revert GraphDisputesClockTooLong(clockBudget_, maxDuration);
        market = market_;
        staking = staking_;
        registry = registry_;
        game = game_;
        coverGasPrice = coverGasPrice_;
        clockBudget = clockBudget_;
        challengerRewardBps = challengerRewardBps_;
    }

    /// @notice Only staking sends ETH here: the reward pool of a settled attempt.
    receive() external payable {
        if (msg.sender != address(staking)) revert GraphDisputesUnexpectedPayment(msg.sender);
    }

    // ------------------------------------------------------------------------------------------------
    // Costs
    // ------------------------------------------------------------------------------------------------

    /// @notice Upper bounds on each side's gas in the longest game on a graph model of this shape.
    /// @param shape The model's registered shape.
    /// @return asserterGas The node's, defending against a lying challenger.
    /// @return challengerGas An honest challenger's, against a node that defends its lie to the end.
    function gasBounds(GraphShape calldata shape) external pure returns (uint256 asserterGas, uint256 challengerGas) {
        return (LibGraphDisputeCost.asserterGas(shape), LibGraphDisputeCost.challengerGas(shape));
    }

    /// @notice The bond a challenger posts on a job for `modelId`, a graph model: the node's gas in the longest
    ///         game on it (LibGraphDisputeCost.asserterGas) at {coverGasPrice}.
    /// @param modelId A registered graph model.
    /// @return The bond, wei.
    function bondFor(uint64 modelId) public view returns (uint256) {
        return LibGraphDisputeCost.asserterGas(_graphShape(modelId)) * coverGasPrice;
    }

    // ------------------------------------------------------------------------------------------------
    // Opening and settling
    // ------------------------------------------------------------------------------------------------

    /// @notice This contract's key for the game `challenger` opens on `attempt` of `jobId`.
    /// @param jobId The job.
    /// @param attempt The attempt whose result is disputed.
    /// @param challenger The challenger.
    /// @return keccak256(abi.encode(jobId, attempt, challenger)).
    function keyOf(uint256 jobId, uint32 attempt, address challenger) public pure returns (bytes32) {
        return keccak256(abi.encode(jobId, attempt, challenger));
    }

    /// @notice The id in {game} of the game `challenger` opens on `attempt` of `jobId`.
    /// @param jobId The job.
    /// @param attempt The attempt.
    /// @param challenger The challenger.
    /// @return game.gameIdOf(this, keyOf(jobId, attempt, challenger)).
    function gameIdOf(uint256 jobId, uint32 attempt, address challenger) public view returns (bytes32) {
        return game.gameIdOf(address(this), keyOf(jobId, attempt, challenger));
    }

    /// @notice The id of the payout record of `attempt` of `jobId`.
    /// @param jobId The job.
    /// @param attempt The attempt.
    /// @return keccak256(abi.encode(jobId, attempt)).
    function attemptIdOf(uint256 jobId, uint32 attempt) public pure returns (bytes32) {
        return keccak256(abi.encode(jobId, attempt));
    }

    /// @notice Disputes the submitted result of `jobId`, a job on a graph model, posting exactly {bondFor} its
    ///         model: opens the game on {game} (the node asserts its trace root, the caller challenges it) and
    ///         holds the job's finality. The market checks `job` against its hash, that it is submitted and inside
    ///         its challenge window. One game per challenger and attempt.
    /// @param jobId The job.
    /// @param job The job as the market stores it.
    /// @return gameId The game's id in {game}.
    function challenge(uint256 jobId, Job calldata job) external payable returns (bytes32 gameId) {
        GraphShape memory shape = _graphShape(job.modelId);
        uint256 bond = LibGraphDisputeCost.asserterGas(shape) * coverGasPrice;
        if (msg.value != bond) revert GraphDisputesWrongBond(msg.value, bond);
        GraphDisputeGame.Claim memory claim = GraphDisputeGame.Claim({
            modelRoot: registry.modelRoot(job.modelId),
            opCount: shape.opCount,
            leafCount: shape.leafCount,
            inputRoot: job.inputRoot,
            traceRoot: job.traceRoot
        });
        // The game refuses a second opening under the same key (GraphGameExists).
        gameId = game.open(keyOf(jobId, job.attempt, msg.sender), claim, job.node, msg.sender, clockBudget);
        Dispute storage d = _disputes[gameId];
        d.jobId = jobId;
        d.jobHash = keccak256(abi.encode(job));
        d.challenger = msg.sender;
        d.bond = uint96(bond); // < 2^96: asserterGas < 2^32 and coverGasPrice < 2^64 (checked at deployment)
        d.collateral = job.collateral;
        d.attempt = job.attempt;
        emit DisputeOpened(gameId, jobId, job.attempt, msg.sender, job.node, bond, job);
        market.holdFinality(jobId, job);
    }

    /// @notice Applies the verdict of a resolved game, once; anyone may call it. The bond goes to the winner's
    ///         side (back to the challenger, or to the node). A loss of the node's makes the market reject the
    ///         result (the first reopens the job and bars the node from it). When this is the attempt's last open
    ///         game and the node lost any game on it, the attempt settles: the whole collateral is slashed, the
    ///         reward pool into this contract for the winners to claim, the rest to the requester. Effects first,
    ///         then the market and staking calls (trusted, bound contracts).
    /// @param gameId A game this contract opened.
    /// @param job The job as it was disputed (from DisputeOpened).
    function settle(bytes32 gameId, Job calldata job) external {
        Dispute storage d = _disputes[gameId];
        if (d.challenger == address(0)) revert GraphDisputesUnknown(gameId);
        if (d.settled) revert GraphDisputesAlreadySettled(gameId);
        bytes32 have = keccak256(abi.encode(job));
        if (have != d.jobHash) revert GraphDisputesJobMismatch(gameId, have, d.jobHash);
        (bool resolved, bool asserterWon,) = game.verdict(gameId);
        if (!resolved) revert GraphDisputesNotResolved(gameId);
        d.settled = true;
        d.asserterWon = asserterWon;
        uint256 jobId = d.jobId;
        Attempt storage a = attempts[attemptIdOf(jobId, job.attempt)];
        address payee = asserterWon ? job.node : d.challenger;
        uint256 bond = d.bond;
        credits[payee] += bond;
        emit Credited(payee, bond);
        if (!asserterWon) a.winners += 1;
        // This game is one of the market's open holds on the attempt: the last one settles it.
        bool settles = a.winners != 0 && market.openDisputes(jobId, job.attempt) == 1;
        if (settles) a.settled = true;

        bool rejected;
        if (asserterWon) market.releaseFinality(jobId, job.attempt);
        else rejected = market.rejectResult(jobId, job);
        emit DisputeSettled(gameId, jobId, asserterWon, rejected);
        if (settles) _settleAttempt(jobId, job, a.winners);
    }

    /// @notice Credits a challenger that won its game its share of the attempt's reward pool, once the attempt
    ///         has settled: challengerRewardBps of the node's collateral, shared equally by the winners (the last
    ///         to claim also takes the rounding remainder). Anyone may call it.
    /// @param gameId A game the challenger won.
    function claimReward(bytes32 gameId) external {
        Dispute storage d = _disputes[gameId];
        if (d.challenger == address(0)) revert GraphDisputesUnknown(gameId);
        if (!d.settled || d.asserterWon) revert GraphDisputesNoReward(gameId);
        if (d.rewardClaimed) revert GraphDisputesRewardClaimed(gameId);
        uint32 attempt = d.attempt;
        Attempt storage a = attempts[attemptIdOf(d.jobId, attempt)];
        if (!a.settled) revert GraphDisputesNotSettled(d.jobId, attempt);
        d.rewardClaimed = true;
        uint256 pool = _rewardPool(d.collateral);
        uint256 share = pool / a.winners;
        if (++a.claimed == a.winners) share = pool - share * (a.winners - 1);
        address challenger = d.challenger;
        credits[challenger] += share;
        emit RewardClaimed(gameId, challenger, share);
        emit Credited(challenger, share);
    }

    /// @notice Pays out everything credited to the caller.
    function withdraw() external {
        uint256 amount = credits[msg.sender];
        if (amount == 0) revert GraphDisputesNothingToWithdraw(msg.sender);
        credits[msg.sender] = 0;
        emit Withdrawn(msg.sender, amount);
        (bool ok,) = msg.sender.call{value: amount}("");
        if (!ok) revert GraphDisputesTransferFailed(msg.sender, amount);
    }

    /// @notice A market-bound game (challenger zero for an unknown id).
    /// @param gameId The game's id in {game}.
    /// @return The dispute.
    function getDispute(bytes32 gameId) external view returns (Dispute memory) {
        return _disputes[gameId];
    }

    // ------------------------------------------------------------------------------------------------
    // Internals
    // ------------------------------------------------------------------------------------------------

    /// @dev A graph model's shape; a Dense model (it has a widest layer) is the Dense game's.
    function _graphShape(uint64 modelId) private view returns (GraphShape memory shape) {
        shape = registry.graphShape(modelId);
        if (shape.opCount == 0) revert GraphDisputesNotGraphModel(modelId);
    }

    /// @dev challengerRewardBps of a collateral: what the winners of an attempt share.
    function _rewardPool(uint256 collateral) private view returns (uint256) {
        return collateral * challengerRewardBps / 10_000;
    }

    /// @dev Slashes the node's whole collateral for the attempt: the reward pool to this contract (pulled at once,
    ///      so the winners' claims are paid from this contract's balance), the rest to the requester, recorded by
    ///      the market as the job's compensation.
    function _settleAttempt(uint256 jobId, Job calldata job, uint256 winners) private {
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
        if (value < min || value > max) revert GraphDisputesInvalidParameter(name, value, min, max);
    }
}
