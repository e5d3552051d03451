// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

/// @notice Implemented by contracts that receive final inference results (docs/consumer-tutorial.md).
interface IInferenceConsumer {
    /// @notice Called by the job market, from `finalize`, once `jobId`'s result is final (its challenge
    ///         window over and no dispute on it open), with exactly the callback gas limit the requester
    ///         chose. A revert or an out-of-gas here does not undo the finalisation: the node is paid and
    ///         the market does not call again.
    /// @param jobId The job.
    /// @param output The model's output, one int8 per byte, exactly the model's output size.
    function onInferenceResult(uint256 jobId, bytes calldata output) external;
}
