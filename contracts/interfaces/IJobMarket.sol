// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {Job} from "../types/Job.sol";
import {IStaking} from "./IStaking.sol";

/// @notice The job market as dapps use it.
interface IJobMarket {
    /// @notice Posts a job for `modelId` on `input`, escrowing msg.value as the fee.
    function postJob(
        uint64 modelId,
        bytes calldata input,
        address consumer,
        uint32 callbackGasLimit,
        uint96 collateral,
        uint40 expiresAt
    ) external payable returns (uint256 jobId);

    /// @notice Cancels an open job of the caller's and credits its fee back.
    function cancelJob(uint256 jobId, Job calldata job) external;

    /// @notice Pays out everything credited to the caller (refunds, fees that could not be sent).
    function withdraw() external;

    /// @notice ETH credited to `account`, waiting for {withdraw}.
    function credits(address account) external view returns (uint256);

    /// @notice keccak256(abi.encode(job)) of the job's current state.
    function jobHash(uint256 jobId) external view returns (bytes32);

    /// @notice keccak256(abi.encode(job)): what the market stores for a job.
    function hashJob(Job memory job) external pure returns (bytes32);

    /// @notice The staking contract, where forfeited and slashed collateral is credited.
    function staking() external view returns (IStaking);

    /// @notice Total collateral credited (in staking) to the requester of `jobId` for it: forfeited by nodes
    ///         that missed their deadline and slashed from nodes that lost a dispute. A requester that serves
    ///         several users (a consumer contract) passes each job's compensation on to its user.
    function compensation(uint256 jobId) external view returns (uint256);
}

/// @notice What the dispute game needs from the job market: hold finality while games are open,
///         release it, and reject a result whose node lost. Only the bound dispute game may call these.
interface IJobMarketForGames {
    /// @notice Registers an open game on the job's current result; it must be inside its challenge window.
    function holdFinality(uint256 jobId, Job calldata job) external;

    /// @notice Ends a game on `attempt` that the node won (or that ended without a verdict).
    function releaseFinality(uint256 jobId, uint32 attempt) external;

    /// @notice Ends a game on `attempt` that the node lost. The first such call reopens the job
    ///         (its fee stays escrowed) and bars the node from serving it again; later ones only release
    ///         their hold.
    /// @return reopened Whether this call rejected the result.
    function rejectResult(uint256 jobId, Job calldata job) external returns (bool reopened);

    /// @notice Records `amount` of slashed collateral credited (in staking) to the job's requester.
    function recordCompensation(uint256 jobId, uint256 amount) external;

    /// @notice Games still open on a job's attempt.
    function openDisputes(uint256 jobId, uint32 attempt) external view returns (uint256);
}
