// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {InferenceConsumer} from "../consumer/InferenceConsumer.sol";
import {IJobMarket} from "../interfaces/IJobMarket.sol";
import {Job, JobStatus} from "../types/Job.sol";

/// @title DigitClassifier
/// @notice An example dapp on the MNIST model: anyone submits a handwritten digit (784 int8 pixels) with
///         a fee; when the result is final the contract records the predicted digit (the first index of
///         the largest of the ten int8 outputs) and adds it to the submitter's tally. A job that expires
///         or that its submitter cancels is refunded to the submitter; collateral forfeited by a node
///         that missed its deadline on one of these jobs goes to the submitter of that job.
contract DigitClassifier is InferenceConsumer {
    error DigitClassifierWrongOutput(uint256 length);
    error DigitClassifierNotUser(uint256 jobId, address caller, address user);
    error DigitClassifierJobMismatch(uint256 jobId);
    error DigitClassifierNotRefundable(uint256 jobId, JobStatus status);
    error DigitClassifierNothingOwed(address account);
    error DigitClassifierTransferFailed(address to, uint256 amount);

    event DigitRequested(uint256 indexed jobId, address indexed user);
    event DigitClassified(uint256 indexed jobId, address indexed user, uint8 digit);
    event Refunded(uint256 indexed jobId, address indexed user, uint256 amount);
    event Compensated(uint256 indexed jobId, address indexed user, uint256 amount);
    event Withdrawn(address indexed user, uint256 amount);

    uint32 public constant CALLBACK_GAS_LIMIT = 100_000;
    /// @notice The registered MNIST model.
    uint64 public immutable modelId;

    /// @notice Who submitted each job.
    mapping(uint256 jobId => address) public userOf;
    /// @notice The predicted digit plus one (0 while pending).
    mapping(uint256 jobId => uint8) public digitPlusOne;
    /// @notice Missed deadlines of each job whose forfeited collateral was passed on to its user.
    mapping(uint256 jobId => uint32) public compensatedAttempts;
    /// @notice ETH owed to each user (refunds, compensation), withdrawn with {withdraw}.
    mapping(address user => uint256) public owed;
    /// @notice How many times each user's digits were classified as each digit.
    mapping(address user => uint256[10]) private _tally;

    constructor(IJobMarket market_, uint64 modelId_) InferenceConsumer(market_) {
        modelId = modelId_;
    }

    /// @notice Submits a digit for classification; msg.value is the fee.
    /// @param image 784 int8 pixels, row-major.
    /// @param collateral Stake the serving node must lock.
    /// @param expiresAt Latest time a node may take the job.
    /// @return jobId The market's job id.
    function classify(bytes calldata image, uint96 collateral, uint40 expiresAt) external payable returns (uint256 jobId) {
        jobId = _requestInference(modelId, image, CALLBACK_GAS_LIMIT, collateral, expiresAt, msg.value);
        userOf[jobId] = msg.sender;
        emit DigitRequested(jobId, msg.sender);
    }

    /// @notice Cancels the caller's job while no node has taken it; the fee becomes refundable.
    /// @param jobId The job.
    /// @param job The job as the market holds it now.
    function cancel(uint256 jobId, Job calldata job) external {
        if (msg.sender != userOf[jobId]) revert DigitClassifierNotUser(jobId, msg.sender, userOf[jobId]);
        market.cancelJob(jobId, job);
    }

    /// @notice Credits the fee of an expired or cancelled job to its user. Anyone may call it.
    /// @param jobId The job.
    /// @param job The job as the market holds it now.
    function refund(uint256 jobId, Job calldata job) external {
        _checkJob(jobId, job);
        if (!pending[jobId] || (job.status != JobStatus.Expired && job.status != JobStatus.Cancelled)) {
            revert DigitClassifierNotRefundable(jobId, job.status);
        }
        delete pending[jobId];
        _collectCredits();
        address user = userOf[jobId];
        owed[user] += job.fee;
        emit Refunded(jobId, user, job.fee);
    }

    /// @notice Credits a job's user with the collateral forfeited by nodes that missed their deadline on
    ///         it (`job.missedDeadlines` times `job.collateral`, less what was passed on before). Anyone
    ///         may call it.
    /// @param jobId The job.
    /// @param job The job as the market holds it now.
    function compensate(uint256 jobId, Job calldata job) external {
        _checkJob(jobId, job);
        uint32 done = compensatedAttempts[jobId];
        if (job.missedDeadlines == done) revert DigitClassifierNothingOwed(userOf[jobId]);
        uint256 amount = uint256(job.missedDeadlines - done) * job.collateral;
        compensatedAttempts[jobId] = job.missedDeadlines;
        _collectCredits();
        address user = userOf[jobId];
        owed[user] += amount;
        emit Compensated(jobId, user, amount);
    }

    /// @notice Sends the caller what it is owed.
    function withdraw() external {
        uint256 amount = owed[msg.sender];
        if (amount == 0) revert DigitClassifierNothingOwed(msg.sender);
        owed[msg.sender] = 0;
        emit Withdrawn(msg.sender, amount);
        (bool ok,) = msg.sender.call{value: amount}("");
        if (!ok) revert DigitClassifierTransferFailed(msg.sender, amount);
    }

    /// @notice How often `user`'s images were classified as `digit`.
    function tally(address user, uint8 digit) external view returns (uint256) {
        return _tally[user][digit];
    }

    function _checkJob(uint256 jobId, Job calldata job) private view {
        if (userOf[jobId] == address(0) || market.hashJob(job) != market.jobHash(jobId)) {
            revert DigitClassifierJobMismatch(jobId);
        }
    }

    function _onInferenceResult(uint256 jobId, bytes calldata output) internal override {
        if (output.length != 10) revert DigitClassifierWrongOutput(output.length);
        uint8 best = 0;
        for (uint8 i = 1; i < 10; i++) {
            if (int8(uint8(output[i])) > int8(uint8(output[best]))) best = i;
        }
        digitPlusOne[jobId] = best + 1;
        address user = userOf[jobId];
        _tally[user][best] += 1;
        emit DigitClassified(jobId, user, best);
    }
}
