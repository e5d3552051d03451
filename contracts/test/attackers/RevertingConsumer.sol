// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {IInferenceConsumer} from "../../interfaces/IInferenceConsumer.sol";

/// @notice Attacker: a consumer whose callback always reverts, trying to block finalisation.
contract RevertingConsumer is IInferenceConsumer {
    error RevertingConsumerNo(uint256 jobId);

    function onInferenceResult(uint256 jobId, bytes calldata) external pure {
        revert RevertingConsumerNo(jobId);
    }
}
