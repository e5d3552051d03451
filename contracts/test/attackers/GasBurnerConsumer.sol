// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {IInferenceConsumer} from "../../interfaces/IInferenceConsumer.sol";

/// @notice Attacker: a consumer whose callback loops until it runs out of gas, trying to spend the
///         finaliser's gas or block finalisation.
contract GasBurnerConsumer is IInferenceConsumer {
    function onInferenceResult(uint256, bytes calldata) external pure {
        assembly {
            for {} 1 {} {}
        }
    }
}
