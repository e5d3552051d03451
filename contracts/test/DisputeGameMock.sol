// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {IJobMarketForGames} from "../interfaces/IJobMarket.sol";
import {IStaking} from "../interfaces/IStaking.sol";
import {LibDisputeCost} from "../lib/LibDisputeCost.sol";
import {Job} from "../types/Job.sol";

/// @notice Stands in for the dispute game in the market and staking tests: forwards the calls the real
///         game will make, so the market's side of the interface is tested on its own.
contract DisputeGameMock {
    IJobMarketForGames public market;
    IStaking public staking;
    address public registry;
    /// @notice What the market reads when it binds the game (0 by default: the market's own floor rules).
    uint256 public coverGasPrice;
    uint256 public challengerRewardBps = 5_000;

    function bind(IJobMarketForGames market_, IStaking staking_, address registry_) external {
        market = market_;
        staking = staking_;
        registry = registry_;
    }

    /// @dev Takes effect on a market bound after the call (the market reads both when it binds the game).
    function setCosts(uint256 coverGasPrice_, uint256 challengerRewardBps_) external {
        coverGasPrice = coverGasPrice_;
        challengerRewardBps = challengerRewardBps_;
    }

    /// @notice The smallest collateral the market asks of a job on a model of this shape, by the same formula.
    function minCollateralFor(uint256 layerCount, uint256 maxWidth) external view returns (uint256) {
        return LibDisputeCost.minCollateral(layerCount, maxWidth, coverGasPrice, challengerRewardBps);
    }

    function hold(uint256 jobId, Job calldata job) external {
        market.holdFinality(jobId, job);
    }

    function release(uint256 jobId, uint32 attempt) external {
        market.releaseFinality(jobId, attempt);
    }

    /// @dev What the game does when the node loses its only game: reject the result, then slash its
    ///      collateral to `to`, recorded as the job's compensation when `to` is the requester.
    function nodeLost(uint256 jobId, Job calldata job, address to) external returns (bool reopened) {
        reopened = market.rejectResult(jobId, job);
        if (reopened) {
            staking.slash(job.node, job.collateral, to);
            if (to == job.requester) market.recordCompensation(jobId, job.collateral);
        }
    }

    function slash(address node, uint256 amount, address to) external {
        staking.slash(node, amount, to);
    }
}
