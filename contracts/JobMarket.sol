// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {IDisputeGameForMarket} from "./interfaces/IDisputeGame.sol";
import {IInferenceConsumer} from "./interfaces/IInferenceConsumer.sol";
import {IJobMarket, IJobMarketForGames} from "./interfaces/IJobMarket.sol";
import {IModelRegistry, GraphShape} from "./interfaces/IModelRegistry.sol";
import {IStaking} from "./interfaces/IStaking.sol";
import {LibDisputeCost} from "./lib/LibDisputeCost.sol";
import {LibGraphDisputeCost} from "./lib/graph/LibGraphDisputeCost.sol";
import {LibMerkle} from "./lib/LibMerkle.sol";
import {Job, JobStatus} from "./types/Job.sol";

/// @notice The game staking lets slash, read once when the market binds its game.
interface IStakingBinding {
    function disputeGame() external view returns (address);
    function graphGame() external view returns (address);
}

/// @title JobMarket
/// @notice Dapps post inference jobs with an escrowed fee; staked nodes take them, locking collateral,
///         and submit the output with a trace root whose leaf 0 is the job's input root and whose leaf L
///         opens to the output. A result is readable at once (soft) and final after the challenge window
///         if every dispute game on it went to the node; then anyone may finalise it, which pays the node,
///         releases its collateral and calls the consumer back without letting the callback block it.
/// @dev Only keccak256(abi.encode(job)) is stored; each call passes the job back. JobPosted carries the
///      whole job and every later event the fields it changed, so the current job can be rebuilt from
///      the logs (core/jobState.ts) and checked against jobHash. Every path ends with the fee paid or refunded: a job nobody takes
///      expires, the requester may cancel an open job, a node that misses its deadline forfeits its
///      collateral to the requester and the job reopens, a result rejected by a dispute reopens the job
///      (and the node that lost may not take it again). Collateral that reaches a requester for a job is
///      recorded per job ({compensation}), so a consumer contract can pass it on to whoever paid.
contract JobMarket is IJobMarket, IJobMarketForGames {
    /// @notice Deployment parameters; fixed for the life of the market, so no change can reach a game
    ///         in flight.
    struct Config {
        /// @dev Seconds after a submission during which a dispute may be opened.
        uint40 challengeWindow;
        /// @dev Seconds a node has, after taking a job, to submit its result.
        uint40 deliveryWindow;
        /// @dev Upper bound on any dispute game's length; the staking unbonding delay must exceed
        ///      challengeWindow + maxDisputeDuration.
        uint40 maxDisputeDuration;
        /// @dev Seconds a reopened job stays open for a new node (at least).
        uint40 reopenWindow;
        /// @dev Smallest collateral a job may ask for.
        uint96 minCollateral;
        /// @dev Largest callback gas limit a job may ask for.
        uint32 maxCallbackGasLimit;
    }

    /// @notice Gas kept back, beyond the callback's own limit, for the call and the work after it.
    uint256 public constant CALLBACK_GAS_RESERVE = 20_000;
    /// @notice The longest window (challenge, delivery, reopening, dispute): a year, so that every deadline
    ///         stays far inside uint40.
    uint256 public constant MAX_WINDOW = 365 days;
    /// @notice The largest callback gas limit a deployment may allow: a third of a 30M-gas block, so a
    ///         finalisation with the whole limit always fits in a block.
    uint256 public constant MAX_CALLBACK_GAS_LIMIT = 10_000_000;

    error JobMarketUnknownJob(uint256 jobId);
    error JobMarketJobMismatch(uint256 jobId, bytes32 have, bytes32 stored);
    error JobMarketWrongStatus(uint256 jobId, JobStatus have, JobStatus need);
    error JobMarketZeroFee();
    error JobMarketFeeTooLarge(uint256 fee);
    error JobMarketInputLength(uint64 modelId, uint256 have, uint256 need);
    error JobMarketModelRetired(uint64 modelId);
    error JobMarketCollateralTooLow(uint256 have, uint256 min);
    error JobMarketCallbackGasTooHigh(uint256 have, uint256 max);
    error JobMarketExpiryInPast(uint256 expiresAt, uint256 now_);
    error JobMarketJobExpired(uint256 jobId, uint256 expiresAt, uint256 now_);
    error JobMarketNotExpired(uint256 jobId, uint256 expiresAt, uint256 now_);
    error JobMarketNotRequester(uint256 jobId, address caller, address requester);
    error JobMarketNotNode(uint256 jobId, address caller, address node);
    error JobMarketDeadlinePassed(uint256 jobId, uint256 deadline, uint256 now_);
    error JobMarketDeadlineNotReached(uint256 jobId, uint256 deadline, uint256 now_);
    error JobMarketOutputLength(uint256 jobId, uint256 have, uint256 need);
    error JobMarketInvalidInputProof(uint256 jobId, bytes32 traceRoot);
    error JobMarketInvalidOutputProof(uint256 jobId, bytes32 traceRoot, bytes32 outputRoot);
    error JobMarketOutputMismatch(uint256 jobId, bytes32 have, bytes32 outputRoot);
    error JobMarketDisputesOpen(uint256 jobId, uint32 attempt, uint256 openDisputes);
    error JobMarketNoOpenDispute(uint256 jobId, uint32 attempt);
    error JobMarketInsufficientGas(uint256 have, uint256 need);
    error JobMarketUnauthorized(address caller);
    error JobMarketAlreadyBound();
    error JobMarketZeroAddress();
    error JobMarketInvalidParameter(string name, uint256 value, uint256 min, uint256 max);
    error JobMarketBindingMismatch(string what, address have, address need);
    error JobMarketNodeBarred(uint256 jobId, address node);
    error JobMarketGameNotBound();
    error JobMarketUnbondingTooShort(uint256 unbondingDelay, uint256 need);
    error JobMarketNothingToWithdraw(address account);
    error JobMarketTransferFailed(address to, uint256 amount);

    event DisputeGameBound(address indexed disputeGame);
    event GraphGameBound(address indexed graphGame);
    event JobPosted(uint256 indexed jobId, uint64 indexed modelId, address indexed requester, Job job, bytes input);
    event JobCancelled(uint256 indexed jobId);
    event JobExpired(uint256 indexed jobId);
    event JobTaken(uint256 indexed jobId, address indexed node, uint32 attempt, uint40 deadline);
    event ResultSubmitted(
        uint256 indexed jobId,
        address indexed node,
        uint32 attempt,
        bytes32 traceRoot,
        bytes32 outputRoot,
        uint40 challengeDeadline,
        bytes output
    );
    event JobReopened(uint256 indexed jobId, address indexed formerNode, uint40 expiresAt, bool byDispute);
    event JobFinalized(uint256 indexed jobId, address indexed node, uint32 attempt, bool feePaid, bool callbackSucceeded);
    event FeeCredited(address indexed account, uint256 amount);
    event FinalityHeld(uint256 indexed jobId, uint32 indexed attempt, uint256 openDisputes);
    event FinalityReleased(uint256 indexed jobId, uint32 indexed attempt, uint256 openDisputes);
    event NodeBarred(uint256 indexed jobId, address indexed node);
    event RequesterCompensated(uint256 indexed jobId, uint256 amount, uint256 total);
    event Withdrawn(address indexed account, uint256 amount);

    IModelRegistry public immutable registry;
    /// @inheritdoc IJobMarket
    IStaking public immutable staking;
    uint256 public immutable challengeWindow;
    uint256 public immutable deliveryWindow;
    uint256 public immutable maxDisputeDuration;
    uint256 public immutable reopenWindow;
    uint256 public immutable minCollateral;
    uint256 public immutable maxCallbackGasLimit;
    address private immutable _deployer;

    /// @notice The dispute game allowed to hold finality and reject results (Dense models).
    address public disputeGame;
    /// @notice The graph models' dispute game (GraphDisputes), allowed the same; zero until bound. Each game
    ///         opens games only on its own kind of model, so each holds and releases only its own.
    address public graphGame;
    /// @dev The game's coverGasPrice and challengerRewardBps, read once when it is bound and kept in the
    ///      game's slot, so pricing a job's smallest collateral costs no call and no other storage read.
    uint64 private _coverGasPrice;
    uint16 private _rewardBps;
    /// @dev The next job id. Starts at 1 in the constructor so the first post pays for a warm slot
    ///      update, not a fresh one.
    uint256 private _nextJobId;
    /// @inheritdoc IJobMarket
    mapping(uint256 jobId => bytes32) public jobHash;
    /// @notice Games still open on a job's attempt; the attempt cannot finalise while any is.
    mapping(uint256 jobId => mapping(uint32 attempt => uint256)) public openDisputes;
    /// @notice Gas a fee transfer to a node may use before the fee is credited instead.
    uint256 public constant FEE_TRANSFER_GAS = 2300;

    /// @inheritdoc IJobMarket
    mapping(address account => uint256) public credits;
    /// @inheritdoc IJobMarket
    mapping(uint256 jobId => uint256) public compensation;
    /// @notice Nodes that lost a dispute on a job; they may not take it again.
    mapping(uint256 jobId => mapping(address node => bool)) public barred;

    /// @param registry_ The model registry.
    /// @param staking_ The staking contract, whose unbonding delay must exceed
    ///        challengeWindow + maxDisputeDuration.
    /// @param config The deployment parameters.
    constructor(IModelRegistry registry_, IStaking staking_, Config memory config) {
        if (address(registry_) == address(0) || address(staking_) == address(0)) revert JobMarketZeroAddress();
        _checkParameter("challengeWindow", config.challengeWindow, 1, MAX_WINDOW);
        _checkParameter("deliveryWindow", config.deliveryWindow, 1, MAX_WINDOW);
        _checkParameter("maxDisputeDuration", config.maxDisputeDuration, 1, MAX_WINDOW);
        _checkParameter("reopenWindow", config.reopenWindow, 1, MAX_WINDOW);
        _checkParameter("minCollateral", config.minCollateral, 1, type(uint96).max);
        _checkParameter("maxCallbackGasLimit", config.maxCallbackGasLimit, 0, MAX_CALLBACK_GAS_LIMIT);
        uint256 need = uint256(config.challengeWindow) + config.maxDisputeDuration;
        uint256 delay = staking_.unbondingDelay();
        if (delay <= need) revert JobMarketUnbondingTooShort(delay, need + 1);
        registry = registry_;
        staking = staking_;
        challengeWindow = config.challengeWindow;
        deliveryWindow = config.deliveryWindow;
        maxDisputeDuration = config.maxDisputeDuration;
        reopenWindow = config.reopenWindow;
        minCollateral = config.minCollateral;
        maxCallbackGasLimit = config.maxCallbackGasLimit;
        _deployer = msg.sender;
        _nextJobId = 1;
    }

    /// @notice Binds the dispute game, once, by the deployer, after staking was bound to it. The game must
    ///         be bound to this market, its staking contract and its registry, and be the game staking lets
    ///         slash.
    /// @param disputeGame_ The dispute game contract.
    function bindDisputeGame(address disputeGame_) external {
        if (msg.sender != _deployer) revert JobMarketUnauthorized(msg.sender);
        if (disputeGame != address(0)) revert JobMarketAlreadyBound();
        if (disputeGame_ == address(0)) revert JobMarketZeroAddress();
        IDisputeGameForMarket g = IDisputeGameForMarket(disputeGame_);
        _checkGameBinding(g);
        address slasher = IStakingBinding(address(staking)).disputeGame();
        if (slasher != disputeGame_) revert JobMarketBindingMismatch("staking game", slasher, disputeGame_);
        // The game bounds both at its deployment (coverGasPrice < 2^64, challengerRewardBps ≤ 5,000).
        _coverGasPrice = uint64(g.coverGasPrice());
        _rewardBps = uint16(g.challengerRewardBps());
        disputeGame = disputeGame_;
        emit DisputeGameBound(disputeGame_);
    }

    /// @notice Binds the graph models' dispute game, once, by the deployer, after {bindDisputeGame} and after
    ///         staking bound it. It must be bound to this market, its staking and its registry, and price its
    ///         bonds and rewards as the Dense game does (one cover gas price and reward share for the market).
    /// @param graphGame_ The graph game's payouts contract (GraphDisputes).
    function bindGraphGame(address graphGame_) external {
        if (msg.sender != _deployer) revert JobMarketUnauthorized(msg.sender);
        if (disputeGame == address(0)) revert JobMarketGameNotBound();
        if (graphGame != address(0)) revert JobMarketAlreadyBound();
        if (graphGame_ == address(0)) revert JobMarketZeroAddress();
        IDisputeGameForMarket g = IDisputeGameForMarket(graphGame_);
        _checkGameBinding(g);
        address slasher = IStakingBinding(address(staking)).graphGame();
        if (slasher != graphGame_) revert JobMarketBindingMismatch("staking graph game", slasher, graphGame_);
        if (g.coverGasPrice() != _coverGasPrice || g.challengerRewardBps() != _rewardBps) {
            revert JobMarketBindingMismatch("pricing", graphGame_, disputeGame);
        }
        graphGame = graphGame_;
        emit GraphGameBound(graphGame_);
    }

    /// @notice The smallest collateral a job on `modelId` may lock: minCollateral, and what makes the reward
    ///         from a caught node cover an honest challenger's gas in the longest game on the model
    ///         (LibDisputeCost for a Dense model, LibGraphDisputeCost for a graph model).
    /// @param modelId A registered model.
    /// @return The collateral, wei.
    function minCollateralOf(uint64 modelId) external view returns (uint256) {
        (,, uint16 layerCount,, uint32 maxWidth) = registry.modelShape(modelId);
        return _minCollateral(modelId, layerCount, maxWidth);
    }

    // ----------------------------------------------------------------------------------------------
    // Requesters
    // ----------------------------------------------------------------------------------------------

    /// @inheritdoc IJobMarket
    /// @param modelId A registered, not retired model.
    /// @param input The input vector, one int8 per byte, exactly the model's input size; emitted in
    ///        JobPosted, only its Merkle root is stored.
    /// @param consumer Contract to call back with the final result (address(0) for none).
    /// @param callbackGasLimit Gas for that callback, at most maxCallbackGasLimit.
    /// @param collateral Stake the node must lock: at least minCollateral, and at least what makes the
    ///        reward from a caught node cover an honest challenger's gas on this model
    ///        (LibDisputeCost.minCollateral at the game's cover gas price and reward share).
    /// @param expiresAt Latest time a node may take the job; after it the fee can be refunded.
    function postJob(
        uint64 modelId,
        bytes calldata input,
        address consumer,
        uint32 callbackGasLimit,
        uint96 collateral,
        uint40 expiresAt
    ) external payable returns (uint256 jobId) {
        if (msg.value == 0) revert JobMarketZeroFee();
        if (msg.value > type(uint96).max) revert JobMarketFeeTooLarge(msg.value);
        if (callbackGasLimit > maxCallbackGasLimit) revert JobMarketCallbackGasTooHigh(callbackGasLimit, maxCallbackGasLimit);
        if (expiresAt <= block.timestamp) revert JobMarketExpiryInPast(expiresAt, block.timestamp);
        Job memory job = _newJob(modelId, input, collateral);
        job.consumer = consumer;
        job.callbackGasLimit = callbackGasLimit;
        job.collateral = collateral;
        job.expiresAt = expiresAt;
        jobId = _nextJobId++;
        _store(jobId, job);
        emit JobPosted(jobId, modelId, msg.sender, job, input);
    }

    /// @dev An open job of the caller's for `modelId` on `input`, with the fee sent and the model's shape;
    ///      checks the collateral against the model's smallest.
    function _newJob(uint64 modelId, bytes calldata input, uint96 collateral) private view returns (Job memory job) {
        (uint32 inputSize, uint32 outputSize, uint16 layerCount, bool retired, uint32 maxWidth) =
            registry.modelShape(modelId);
        if (retired) revert JobMarketModelRetired(modelId);
        if (input.length != inputSize) revert JobMarketInputLength(modelId, input.length, inputSize);
        uint256 need = _minCollateral(modelId, layerCount, maxWidth);
        if (collateral < need) revert JobMarketCollateralTooLow(collateral, need);
        job.requester = msg.sender;
        job.modelId = modelId;
        job.outputSize = outputSize;
        job.layerCount = layerCount;
        job.fee = uint96(msg.value);
        job.status = JobStatus.Open;
        job.inputRoot = LibMerkle.rootOfBytes(input);
    }

    /// @inheritdoc IJobMarket
    /// @param jobId The job; the caller must be its requester.
    /// @param job The job as it is now.
    function cancelJob(uint256 jobId, Job calldata job) external {
        Job memory j = _load(jobId, job, JobStatus.Open);
        if (msg.sender != j.requester) revert JobMarketNotRequester(jobId, msg.sender, j.requester);
        j.status = JobStatus.Cancelled;
        _store(jobId, j);
        credits[j.requester] += j.fee;
        emit JobCancelled(jobId);
    }

    /// @notice Closes a job nobody took before it expired and credits its fee back to the requester.
    ///         Anyone may call it.
    /// @param jobId The job.
    /// @param job The job as it is now.
    function expireJob(uint256 jobId, Job calldata job) external {
        Job memory j = _load(jobId, job, JobStatus.Open);
        if (block.timestamp <= j.expiresAt) revert JobMarketNotExpired(jobId, j.expiresAt, block.timestamp);
        j.status = JobStatus.Expired;
        _store(jobId, j);
        credits[j.requester] += j.fee;
        emit JobExpired(jobId);
    }

    // ----------------------------------------------------------------------------------------------
    // Nodes
    // ----------------------------------------------------------------------------------------------

    /// @notice Takes an open job, locking the job's collateral from the caller's free stake. A node that lost
    ///         a dispute on the job may not take it again.
    /// @param jobId The job.
    /// @param job The job as it is now.
    function takeJob(uint256 jobId, Job calldata job) external {
        Job memory j = _load(jobId, job, JobStatus.Open);
        if (block.timestamp > j.expiresAt) revert JobMarketJobExpired(jobId, j.expiresAt, block.timestamp);
        // Only a job taken before can have a barred node (the first take skips the lookup).
        if (j.attempt != 0 && barred[jobId][msg.sender]) revert JobMarketNodeBarred(jobId, msg.sender);
        j.status = JobStatus.Taken;
        j.node = msg.sender;
        j.attempt += 1;
        j.deadline = uint40(block.timestamp + deliveryWindow);
        _store(jobId, j);
        staking.lock(msg.sender, j.collateral);
        emit JobTaken(jobId, msg.sender, j.attempt, j.deadline);
    }

    /// @notice Submits the result of a taken job; the challenge window opens.
    /// @param jobId The job; the caller must be the node that took it.
    /// @param job The job as it is now.
    /// @param output The model's output, one int8 per byte.
    /// @param traceRoot Root over the activation roots [r_0, …, r_L].
    /// @param inputProof Proof that leaf 0 of traceRoot is the job's input root.
    /// @param outputProof Proof that leaf L of traceRoot is the Merkle root of `output`.
    function submitResult(
        uint256 jobId,
        Job calldata job,
        bytes calldata output,
        bytes32 traceRoot,
        bytes32[] calldata inputProof,
        bytes32[] calldata outputProof
    ) external {
        Job memory j = _load(jobId, job, JobStatus.Taken);
        if (msg.sender != j.node) revert JobMarketNotNode(jobId, msg.sender, j.node);
        if (block.timestamp > j.deadline) revert JobMarketDeadlinePassed(jobId, j.deadline, block.timestamp);
        j.traceRoot = traceRoot;
        j.outputRoot = _checkTrace(jobId, j, output, inputProof, outputProof);
        j.status = JobStatus.Submitted;
        j.deadline = uint40(block.timestamp + challengeWindow);
        _store(jobId, j);
        emit ResultSubmitted(jobId, msg.sender, j.attempt, j.traceRoot, j.outputRoot, j.deadline, output);
    }

    /// @notice Reopens a job whose node missed its delivery deadline; the node's collateral is credited
    ///         to the requester. Anyone may call it.
    /// @param jobId The job.
    /// @param job The job as it is now.
    function reclaimJob(uint256 jobId, Job calldata job) external {
        Job memory j = _load(jobId, job, JobStatus.Taken);
        if (block.timestamp <= j.deadline) revert JobMarketDeadlineNotReached(jobId, j.deadline, block.timestamp);
        address formerNode = j.node;
        j.missedDeadlines += 1;
        _reopen(jobId, j);
        emit JobReopened(jobId, formerNode, j.expiresAt, false);
        _compensate(jobId, j.collateral);
        staking.forfeit(formerNode, j.collateral, j.requester);
    }

    /// @notice Finalises a result after its challenge window once every game on it went to the node:
    ///         pays the fee to the node (credits it if the node cannot take a plain transfer), unlocks its
    ///         collateral and calls the consumer back with the
    ///         job's gas limit. The callback's success or failure never undoes the finalisation. Anyone
    ///         may call it.
    /// @param jobId The job.
    /// @param job The job as it is now.
    /// @param output The submitted output (from ResultSubmitted): it must have the model's output size, and
    ///        when the job has a consumer, the output root (outputs that differ only in trailing zero bytes
    ///        share a root, so the size is checked first).
    function finalize(uint256 jobId, Job calldata job, bytes calldata output) external {
        Job memory j = _load(jobId, job, JobStatus.Submitted);
        if (block.timestamp < j.deadline) revert JobMarketDeadlineNotReached(jobId, j.deadline, block.timestamp);
        uint256 open = openDisputes[jobId][j.attempt];
        if (open != 0) revert JobMarketDisputesOpen(jobId, j.attempt, open);
        if (output.length != j.outputSize) revert JobMarketOutputLength(jobId, output.length, j.outputSize);
        if (j.consumer != address(0)) {
            bytes32 have = LibMerkle.rootOfBytes(output);
            if (have != j.outputRoot) revert JobMarketOutputMismatch(jobId, have, j.outputRoot);
        }
        j.status = JobStatus.Finalized;
        _store(jobId, j);
        staking.unlock(j.node, j.collateral);
        bool paid = _pay(j.node, j.fee);
        bool ok = _callBack(jobId, j, output);
        emit JobFinalized(jobId, j.node, j.attempt, paid, ok);
    }

    // ----------------------------------------------------------------------------------------------
    // Everyone
    // ----------------------------------------------------------------------------------------------

    /// @inheritdoc IJobMarket
    function withdraw() external {
        uint256 amount = credits[msg.sender];
        if (amount == 0) revert JobMarketNothingToWithdraw(msg.sender);
        credits[msg.sender] = 0;
        emit Withdrawn(msg.sender, amount);
        (bool ok,) = msg.sender.call{value: amount}("");
        if (!ok) revert JobMarketTransferFailed(msg.sender, amount);
    }

    /// @notice Number of jobs posted; ids run from 1 to jobCount.
    function jobCount() external view returns (uint256) {
        return _nextJobId - 1;
    }

    /// @inheritdoc IJobMarket
    function hashJob(Job memory job) public pure returns (bytes32) {
        return keccak256(abi.encode(job));
    }

    // ----------------------------------------------------------------------------------------------
    // The dispute game
    // ----------------------------------------------------------------------------------------------

    /// @inheritdoc IJobMarketForGames
    function holdFinality(uint256 jobId, Job calldata job) external {
        _onlyGame();
        Job memory j = _load(jobId, job, JobStatus.Submitted);
        if (block.timestamp >= j.deadline) revert JobMarketDeadlinePassed(jobId, j.deadline, block.timestamp);
        uint256 open = ++openDisputes[jobId][j.attempt];
        emit FinalityHeld(jobId, j.attempt, open);
    }

    /// @inheritdoc IJobMarketForGames
    function releaseFinality(uint256 jobId, uint32 attempt) external {
        _onlyGame();
        _release(jobId, attempt);
    }

    /// @inheritdoc IJobMarketForGames
    function rejectResult(uint256 jobId, Job calldata job) external returns (bool reopened) {
        _onlyGame();
        _release(jobId, job.attempt);
        if (hashJob(job) != jobHash[jobId] || job.status != JobStatus.Submitted) return false;
        Job memory j = job;
        address formerNode = j.node;
        _reopen(jobId, j);
        barred[jobId][formerNode] = true;
        emit JobReopened(jobId, formerNode, j.expiresAt, true);
        emit NodeBarred(jobId, formerNode);
        return true;
    }

    /// @inheritdoc IJobMarketForGames
    function recordCompensation(uint256 jobId, uint256 amount) external {
        _onlyGame();
        _compensate(jobId, amount);
    }

    // ----------------------------------------------------------------------------------------------
    // Internals
    // ----------------------------------------------------------------------------------------------

    /// @dev The one place a job's state is written.
    function _store(uint256 jobId, Job memory job) private {
        jobHash[jobId] = hashJob(job);
    }

    /// @dev Checks that `job` is the stored state of `jobId` and in status `need`; returns a copy to edit.
    function _load(uint256 jobId, Job calldata job, JobStatus need) private view returns (Job memory j) {
        bytes32 stored = jobHash[jobId];
        if (stored == bytes32(0)) revert JobMarketUnknownJob(jobId);
        j = job;
        bytes32 have = hashJob(j);
        if (have != stored) revert JobMarketJobMismatch(jobId, have, stored);
        if (j.status != need) revert JobMarketWrongStatus(jobId, j.status, need);
    }

    /// @dev Checks a submission against `j.traceRoot`: leaf 0 is the job's input root and leaf L the root
    ///      of `output`, which has the model's output size. Returns the output root.
    function _checkTrace(
        uint256 jobId,
        Job memory j,
        bytes calldata output,
        bytes32[] calldata inputProof,
        bytes32[] calldata outputProof
    ) private pure returns (bytes32 outputRoot) {
        if (output.length != j.outputSize) revert JobMarketOutputLength(jobId, output.length, j.outputSize);
        uint256 depth = LibMerkle.depthFor(uint256(j.layerCount) + 1);
        if (!LibMerkle.verify(j.traceRoot, j.inputRoot, 0, inputProof, depth)) {
            revert JobMarketInvalidInputProof(jobId, j.traceRoot);
        }
        outputRoot = LibMerkle.rootOfBytes(output);
        if (!LibMerkle.verify(j.traceRoot, outputRoot, j.layerCount, outputProof, depth)) {
            revert JobMarketInvalidOutputProof(jobId, j.traceRoot, outputRoot);
        }
    }

    /// @dev Puts a taken or submitted job back on offer for another node, its fee still escrowed.
    function _reopen(uint256 jobId, Job memory j) private {
        j.status = JobStatus.Open;
        j.node = address(0);
        j.deadline = 0;
        j.traceRoot = bytes32(0);
        j.outputRoot = bytes32(0);
        uint256 openUntil = block.timestamp + reopenWindow;
        if (j.expiresAt < openUntil) j.expiresAt = uint40(openUntil);
        _store(jobId, j);
    }

    /// @dev The one place a job's compensation grows.
    function _compensate(uint256 jobId, uint256 amount) private {
        uint256 total = compensation[jobId] + amount;
        compensation[jobId] = total;
        emit RequesterCompensated(jobId, amount, total);
    }

    function _checkParameter(string memory name, uint256 value, uint256 min, uint256 max) private pure {
        if (value < min || value > max) revert JobMarketInvalidParameter(name, value, min, max);
    }

    function _release(uint256 jobId, uint32 attempt) private {
        uint256 open = openDisputes[jobId][attempt];
        if (open == 0) revert JobMarketNoOpenDispute(jobId, attempt);
        openDisputes[jobId][attempt] = open - 1;
        emit FinalityReleased(jobId, attempt, open - 1);
    }

    /// @dev Sends a node its fee with a 2300-gas stipend; if the node does not accept it (a contract that
    ///      reverts or needs more gas) the fee is credited for {withdraw}, so a node can never block its
    ///      own finalisation, nor spend the finaliser's gas.
    function _pay(address to, uint256 amount) private returns (bool sent) {
        (sent,) = to.call{value: amount, gas: FEE_TRANSFER_GAS}("");
        if (!sent) {
            credits[to] += amount;
            emit FeeCredited(to, amount);
        }
    }

    /// @dev Calls the consumer with exactly the job's gas limit and copies no return data, so neither a
    ///      revert, an out-of-gas nor a huge return can make finalisation fail. The caller must supply
    ///      enough gas for the full limit (EIP-150 forwards at most 63/64 of what is left).
    function _callBack(uint256 jobId, Job memory j, bytes calldata output) private returns (bool ok) {
        if (j.consumer == address(0)) return true;
        uint256 limit = j.callbackGasLimit;
        uint256 need = limit + limit / 63 + CALLBACK_GAS_RESERVE;
        if (gasleft() < need) revert JobMarketInsufficientGas(gasleft(), need);
        bytes memory data = abi.encodeCall(IInferenceConsumer.onInferenceResult, (jobId, output));
        address consumer = j.consumer;
        assembly ("memory-safe") {
            ok := call(limit, consumer, 0, add(data, 0x20), mload(data), 0, 0)
        }
    }

    /// @dev msg.sender is never zero, so an unbound graph game matches nobody.
    function _onlyGame() private view {
        if (msg.sender != disputeGame && msg.sender != graphGame) revert JobMarketUnauthorized(msg.sender);
    }

    function _checkGameBinding(IDisputeGameForMarket g) private view {
        if (g.market() != address(this)) revert JobMarketBindingMismatch("market", g.market(), address(this));
        if (g.staking() != address(staking)) revert JobMarketBindingMismatch("staking", g.staking(), address(staking));
        if (g.registry() != address(registry)) {
            revert JobMarketBindingMismatch("registry", g.registry(), address(registry));
        }
    }

    /// @dev A job's smallest collateral on a model of this shape; a graph model (no widest layer) needs the
    ///      graph game bound, any model the Dense game (which fixes the pricing).
    function _minCollateral(uint64 modelId, uint16 layerCount, uint32 maxWidth) private view returns (uint256 need) {
        if (disputeGame == address(0)) revert JobMarketGameNotBound();
        if (maxWidth == 0) {
            if (graphGame == address(0)) revert JobMarketGameNotBound();
            GraphShape memory shape = registry.graphShape(modelId);
            need = LibGraphDisputeCost.minCollateral(shape, _coverGasPrice, _rewardBps);
        } else {
            need = LibDisputeCost.minCollateral(layerCount, maxWidth, _coverGasPrice, _rewardBps);
        }
        if (need < minCollateral) need = minCollateral;
    }
}
