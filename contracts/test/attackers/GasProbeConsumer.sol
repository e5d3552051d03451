// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {IInferenceConsumer} from "../../interfaces/IInferenceConsumer.sol";

/// @notice Records the gas its callback received, to tell whether a finaliser can starve it.
contract GasProbeConsumer is IInferenceConsumer {
    /// @notice gasleft() at the start of the last callback (0 if none completed).
    uint256 public seen;
    uint256 public calls;

    function onInferenceResult(uint256, bytes calldata) external {
        uint256 g = gasleft();
        seen = g;
        calls += 1;
    }
}
