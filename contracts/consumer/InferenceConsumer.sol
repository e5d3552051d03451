// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {IInferenceConsumer} from "../interfaces/IInferenceConsumer.sol";
import {IJobMarket} from "../interfaces/IJobMarket.sol";
import {IStaking} from "../interfaces/IStaking.sol";
import {Job, JobStatus} from "../types/Job.sol";

/// @title InferenceConsumer
/// @notice Base contract for dapps that post inference jobs and act on their final results. It posts
///         jobs with itself as requester and consumer, accepts callbacks only from the market and only
///         for jobs it posted, and passes on to the account that paid for each job every wei that comes
///         back for it: the fee of a job that expired or was cancelled ({refund}), and the collateral that
///         nodes forfeited or were slashed on it ({claimCompensation}, from the market's per-job record).
///         Payers withdraw what they are owed ({withdraw}). ETH reaches the contract only from the market
///         and staking, so none arrives that no payer is owed. How to build on it: docs/consumer-tutorial.md.
abstract contract InferenceConsumer is IInferenceConsumer {
    error InferenceConsumerNotMarket(address caller);
    error InferenceConsumerUnknownJob(uint256 jobId);
    error InferenceConsumerJobMismatch(uint256 jobId);
    error InferenceConsumerNotRefundable(uint256 jobId, JobStatus status);
    error InferenceConsumerNothingOwed(address account);
    error InferenceConsumerUnexpectedPayment(address from);
    error InferenceConsumerTransferFailed(address to, uint256 amount);

    event Refunded(uint256 indexed jobId, address indexed payer, uint256 amount);
    event Compensated(uint256 indexed jobId, address indexed payer, uint256 amount);
    event Withdrawn(address indexed payer, uint256 amount);

    /// @notice The job market this consumer posts to.
    IJobMarket public immutable market;
    /// @notice The staking contract that credits forfeited and slashed collateral.
    IStaking public immutable staking;
    /// @notice Jobs this contract posted whose result has not arrived yet (and that were not refunded).
    mapping(uint256 jobId => bool) public pending;
    /// @notice Who paid for each job this contract posted.
    mapping(uint256 jobId => address) public payerOf;
    /// @notice The part of each job's compensation (IJobMarket.compensation) already passed on to its payer.
    mapping(uint256 jobId => uint256) public compensationPassedOn;
    /// @notice ETH owed to each payer (refunds, compensation), withdrawn with {withdraw}.
    mapping(address payer => uint256) public owed;

    constructor(IJobMarket market_) {
        market = market_;
        staking = market_.staking();
    }

    /// @notice Refunds, forfeits and slashes come back from the market and staking as plain transfers;
    ///         nothing else is accepted.
    receive() external payable {
        if (msg.sender != address(market) && msg.sender != address(staking)) {
            revert InferenceConsumerUnexpectedPayment(msg.sender);
        }
    }

    /// @inheritdoc IInferenceConsumer
    function onInferenceResult(uint256 jobId, bytes calldata output) external {
        if (msg.sender != address(market)) revert InferenceConsumerNotMarket(msg.sender);
        if (!pending[jobId]) revert InferenceConsumerUnknownJob(jobId);
        delete pending[jobId];
        _onInferenceResult(jobId, output);
    }

    /// @notice Credits the fee of a job that expired or was cancelled to whoever paid for it. Anyone may
    ///         call it.
    /// @param jobId A job this contract posted.
    /// @param job The job as the market holds it now.
    function refund(uint256 jobId, Job calldata job) external {
        _checkJob(jobId, job);
        if (!pending[jobId] || (job.status != JobStatus.Expired && job.status != JobStatus.Cancelled)) {
            revert InferenceConsumerNotRefundable(jobId, job.status);
        }
        delete pending[jobId];
        address payer = payerOf[jobId];
        owed[payer] += job.fee;
        emit Refunded(jobId, payer, job.fee);
        _collectCredits();
    }

    /// @notice Credits to whoever paid for a job the collateral that nodes forfeited (missed deadlines) or
    ///         were slashed (lost disputes) on it, less what was passed on before. Anyone may call it.
    /// @param jobId A job this contract posted.
    function claimCompensation(uint256 jobId) external {
        address payer = payerOf[jobId];
        if (payer == address(0)) revert InferenceConsumerUnknownJob(jobId);
        uint256 total = market.compensation(jobId);
        uint256 amount = total - compensationPassedOn[jobId];
        if (amount == 0) revert InferenceConsumerNothingOwed(payer);
        compensationPassedOn[jobId] = total;
        owed[payer] += amount;
        emit Compensated(jobId, payer, amount);
        _collectCredits();
    }

    /// @notice Sends the caller what it is owed.
    function withdraw() external {
        uint256 amount = owed[msg.sender];
        if (amount == 0) revert InferenceConsumerNothingOwed(msg.sender);
        owed[msg.sender] = 0;
        emit Withdrawn(msg.sender, amount);
        (bool ok,) = msg.sender.call{value: amount}("");
        if (!ok) revert InferenceConsumerTransferFailed(msg.sender, amount);
    }

    /// @dev Posts a job with this contract as requester and consumer, paying `fee` from its balance on
    ///      behalf of `payer`, to whom every refund and compensation of the job goes. `input` is the model's
    ///      input, one int8 per byte, exactly its input size (JobMarketInputLength otherwise); it is in
    ///      memory so that a contract can build it there, and a `bytes calldata` argument passed through is
    ///      copied to memory.
    function _requestInference(
        uint64 modelId,
        bytes memory input,
        uint32 callbackGasLimit,
        uint96 collateral,
        uint40 expiresAt,
        uint256 fee,
        address payer
    ) internal returns (uint256 jobId) {
        jobId = market.postJob{value: fee}(modelId, input, address(this), callbackGasLimit, collateral, expiresAt);
        pending[jobId] = true;
        payerOf[jobId] = payer;
    }

    /// @dev Pulls into this contract's balance what the market (refunds) and staking (forfeited and slashed
    ///      collateral) credited to it.
    function _collectCredits() internal {
        if (market.credits(address(this)) != 0) market.withdraw();
        if (staking.credits(address(this)) != 0) staking.withdraw();
    }

    function _checkJob(uint256 jobId, Job calldata job) internal view {
        if (payerOf[jobId] == address(0) || market.hashJob(job) != market.jobHash(jobId)) {
            revert InferenceConsumerJobMismatch(jobId);
        }
    }

    /// @dev Acts on the final output of a job this contract posted.
    function _onInferenceResult(uint256 jobId, bytes calldata output) internal virtual;
}
