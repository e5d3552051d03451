// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {IJobMarketForGames} from "../interfaces/IJobMarket.sol";
import {IStaking} from "../interfaces/IStaking.sol";
import {Job} from "../types/Job.sol";

/// @notice Stands in for the dispute game in the market and staking tests: forwards the calls the real
///         game will make, so the market's side of the interface is tested on its own.
contract DisputeGameMock {
    IJobMarketForGames public market;
    IStaking public staking;
    address public registry;
    /// @notice What {minCollateralFor} answers for every shape.
    uint256 public minCollateral;

    function bind(IJobMarketForGames market_, IStaking staking_, address registry_) external {
        market = market_;
        staking = staking_;
        registry = registry_;
    }

    function setMinCollateral(uint256 minCollateral_) external {
        minCollateral = minCollateral_;
    }

    function minCollateralFor(uint256, uint256) external view returns (uint256) {
        return minCollateral;
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
