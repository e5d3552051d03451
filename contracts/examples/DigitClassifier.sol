// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {InferenceConsumer} from "../consumer/InferenceConsumer.sol";
import {IJobMarket} from "../interfaces/IJobMarket.sol";
import {Job} from "../types/Job.sol";

/// @title DigitClassifier
/// @notice An example dapp on the MNIST model: anyone submits a handwritten digit (784 int8 pixels) with
///         a fee; when the result is final the contract records the predicted digit (the first index of
///         the largest of the ten int8 outputs) and adds it to the submitter's tally. Refunds and the
///         collateral of nodes that missed a deadline or lost a dispute on a submitter's job go to that
///         submitter (InferenceConsumer).
contract DigitClassifier is InferenceConsumer {
    error DigitClassifierWrongOutput(uint256 length);
    error DigitClassifierNotUser(uint256 jobId, address caller, address user);

    event DigitRequested(uint256 indexed jobId, address indexed user);
    event DigitClassified(uint256 indexed jobId, address indexed user, uint8 digit);

    uint32 public constant CALLBACK_GAS_LIMIT = 100_000;
    /// @notice The registered MNIST model.
    uint64 public immutable modelId;

    /// @notice The predicted digit plus one (0 while pending).
    mapping(uint256 jobId => uint8) public digitPlusOne;
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
        jobId = _requestInference(modelId, image, CALLBACK_GAS_LIMIT, collateral, expiresAt, msg.value, msg.sender);
        emit DigitRequested(jobId, msg.sender);
    }

    /// @notice Cancels the caller's job while no node has taken it; the fee becomes refundable.
    /// @param jobId The job.
    /// @param job The job as the market holds it now.
    function cancel(uint256 jobId, Job calldata job) external {
        if (msg.sender != payerOf[jobId]) revert DigitClassifierNotUser(jobId, msg.sender, payerOf[jobId]);
        market.cancelJob(jobId, job);
    }

    /// @notice How often `user`'s images were classified as `digit`.
    function tally(address user, uint8 digit) external view returns (uint256) {
        return _tally[user][digit];
    }

    function _onInferenceResult(uint256 jobId, bytes calldata output) internal override {
        if (output.length != 10) revert DigitClassifierWrongOutput(output.length);
        uint8 best = 0;
        for (uint8 i = 1; i < 10; i++) {
            if (int8(uint8(output[i])) > int8(uint8(output[best]))) best = i;
        }
        digitPlusOne[jobId] = best + 1;
        address user = payerOf[jobId];
        _tally[user][best] += 1;
        emit DigitClassified(jobId, user, best);
    }
}
