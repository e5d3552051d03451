// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {IInferenceConsumer} from "../../interfaces/IInferenceConsumer.sol";

/// @notice Attacker: a consumer whose callback returns (or reverts with) `size` bytes of return data,
///         trying to make the caller pay for copying it (a returndata bomb).
contract ReturnBombConsumer is IInferenceConsumer {
    uint256 public immutable size;
    bool public immutable viaRevert;

    constructor(uint256 size_, bool viaRevert_) {
        size = size_;
        viaRevert = viaRevert_;
    }

    function onInferenceResult(uint256, bytes calldata) external view {
        uint256 n = size;
        bool r = viaRevert;
        assembly {
            if r { revert(0, n) }
            return(0, n)
        }
    }
}
