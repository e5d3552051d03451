// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {InferenceConsumer} from "../consumer/InferenceConsumer.sol";
import {IJobMarket} from "../interfaces/IJobMarket.sol";

/// @title DigitClassifier
/// @notice An example dapp on the MNIST model: anyone submits a handwritten digit (784 int8 pixels) with
///         a fee; when the result is final the contract records the predicted digit (the first index of
///         the largest of the ten int8 outputs) for the submitter and emits it. Users who get back a digit
///         of their choosing collect a badge count, so a result is something the contract acts on.
contract DigitClassifier is InferenceConsumer {
    error DigitClassifierWrongOutput(uint256 length);

    event DigitRequested(uint256 indexed jobId, address indexed user);
    event DigitClassified(uint256 indexed jobId, address indexed user, uint8 digit);

    /// @notice The registered MNIST model.
    uint64 public immutable modelId;
    uint32 public constant CALLBACK_GAS_LIMIT = 100_000;

    /// @notice Who submitted each job.
    mapping(uint256 jobId => address) public userOf;
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
        jobId = _requestInference(modelId, image, CALLBACK_GAS_LIMIT, collateral, expiresAt, msg.value);
        userOf[jobId] = msg.sender;
        emit DigitRequested(jobId, msg.sender);
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
        address user = userOf[jobId];
        _tally[user][best] += 1;
        emit DigitClassified(jobId, user, best);
    }
}
