// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

/// @notice Implemented by contracts that receive final inference results.
interface IInferenceConsumer {
    /// @notice Called by the job market once `jobId`'s result is final, with the callback gas limit the
    ///         requester chose. A revert here does not undo the finalisation.
    /// @param jobId The job.
    /// @param output The model's output, one int8 per byte.
    function onInferenceResult(uint256 jobId, bytes calldata output) external;
}
