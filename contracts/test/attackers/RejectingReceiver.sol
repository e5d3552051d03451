// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

/// @notice An account that refuses ETH: its receive() reverts. It forwards arbitrary calls (with value),
///         so a test can make it stake, unstake and withdraw, and see how a contract paying it copes.
contract RejectingReceiver {
    error RejectingReceiverRefused(uint256 amount);

    /// @notice Calls `target` with `data` and msg.value; bubbles a revert up unchanged.
    function call(address target, bytes calldata data) external payable returns (bytes memory result) {
        bool ok;
        (ok, result) = target.call{value: msg.value}(data);
        if (!ok) {
            assembly {
                revert(add(result, 32), mload(result))
            }
        }
    }

    receive() external payable {
        revert RejectingReceiverRefused(msg.value);
    }
}
