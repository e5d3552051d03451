// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

/// @notice Where a job is in its life.
/// @dev Open → Taken → Submitted → Finalized is the happy path. Open → Cancelled (by the requester) or
///      Expired (not taken in time) refund the fee. Taken → Open when the node misses its deadline, and
///      Submitted → Open when a dispute game rejects the result: the job reopens with its fee still escrowed.
enum JobStatus {
    None,
    Open,
    Taken,
    Submitted,
    Finalized,
    Cancelled,
    Expired
}

/// @notice Everything the market knows about a job. The market stores only keccak256(abi.encode(job))
///         and every call that acts on a job passes the struct back (the Chainlink Functions pattern):
///         one storage slot per job, and every event carries the job as it is after the change.
struct Job {
    /// @dev Who posted the job and is refunded.
    address requester;
    /// @dev The registered model (ModelRegistry id).
    uint64 modelId;
    /// @dev Copied from the registry at posting, so later steps need not read it.
    uint32 outputSize;
    uint16 layerCount;
    /// @dev Contract called back with the final result; address(0) for none.
    address consumer;
    /// @dev Gas the consumer's callback receives.
    uint32 callbackGasLimit;
    /// @dev Escrowed fee, paid to the node at finalisation.
    uint96 fee;
    /// @dev Stake the node locks while it holds the job; what it loses if it fails or cheats.
    uint96 collateral;
    /// @dev Open: latest time a node may take the job.
    uint40 expiresAt;
    /// @dev Taken: time by which the result must be submitted. Submitted: end of the challenge window.
    uint40 deadline;
    /// @dev How many times the job was taken; binds a result, and the games on it, to one attempt.
    uint32 attempt;
    /// @dev How many attempts ended with the node missing its deadline (each forfeited `collateral` to
    ///      the requester).
    uint32 missedDeadlines;
    JobStatus status;
    /// @dev The node serving the current attempt; address(0) while open.
    address node;
    /// @dev Merkle root of the input bytes (r_0), computed on-chain at posting.
    bytes32 inputRoot;
    /// @dev Trace root T over [r_0, …, r_L] of the submitted result; zero until then.
    bytes32 traceRoot;
    /// @dev Merkle root r_L of the submitted output bytes; zero until then.
    bytes32 outputRoot;
}
