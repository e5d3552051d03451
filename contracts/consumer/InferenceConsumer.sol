// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {IInferenceConsumer} from "../interfaces/IInferenceConsumer.sol";
import {IJobMarket} from "../interfaces/IJobMarket.sol";
import {IStaking} from "../interfaces/IStaking.sol";

/// @title InferenceConsumer
/// @notice Base contract for dapps that post inference jobs and act on their final results. It posts
///         jobs with itself as requester and consumer, accepts callbacks only from the market and only
///         for jobs it posted, and collects what the market and staking credit to it (refunds of jobs
///         that expired or were cancelled, collateral forfeited by nodes that missed a deadline).
abstract contract InferenceConsumer is IInferenceConsumer {
    error InferenceConsumerNotMarket(address caller);
    error InferenceConsumerUnknownJob(uint256 jobId);

    /// @notice The job market this consumer posts to.
    IJobMarket public immutable market;
    /// @notice Jobs this contract posted whose result has not arrived yet.
    mapping(uint256 jobId => bool) public pending;

    constructor(IJobMarket market_) {
        market = market_;
    }

    /// @notice Refunds and other credits come back from the market as plain ETH transfers.
    receive() external payable virtual {}

    /// @inheritdoc IInferenceConsumer
    function onInferenceResult(uint256 jobId, bytes calldata output) external {
        if (msg.sender != address(market)) revert InferenceConsumerNotMarket(msg.sender);
        if (!pending[jobId]) revert InferenceConsumerUnknownJob(jobId);
        delete pending[jobId];
        _onInferenceResult(jobId, output);
    }

    /// @dev Posts a job with this contract as requester and consumer, paying `fee` from its balance.
    function _requestInference(
        uint64 modelId,
        bytes calldata input,
        uint32 callbackGasLimit,
        uint96 collateral,
        uint40 expiresAt,
        uint256 fee
    ) internal returns (uint256 jobId) {
        jobId = market.postJob{value: fee}(modelId, input, address(this), callbackGasLimit, collateral, expiresAt);
        pending[jobId] = true;
    }

    /// @dev Pulls into this contract's balance what the market (refunds) and staking (collateral forfeited
    ///      by nodes that missed a deadline on this contract's jobs) credited to it. Returns the amount.
    function _collectCredits() internal returns (uint256 collected) {
        uint256 before = address(this).balance;
        if (market.credits(address(this)) != 0) market.withdraw();
        IStaking staking = market.staking();
        if (staking.credits(address(this)) != 0) staking.withdraw();
        collected = address(this).balance - before;
    }

    /// @dev Acts on the final output of a job this contract posted.
    function _onInferenceResult(uint256 jobId, bytes calldata output) internal virtual;
}
