// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

/// @notice Attacker: a node operated through a contract whose receive() misbehaves, trying to block its
///         own finalisation or spend the finaliser's gas. It stakes, takes and submits through {execute}.
///         Mode 0 accepts ETH; 1 reverts; 2 loops until out of gas; 3 burns about 50k gas, then accepts
///         (fails on a 2300 stipend, works with a full-gas call).
contract AttackerNode {
    error AttackerNodeRejects(uint256 value);

    uint8 public immutable mode;

    constructor(uint8 mode_) {
        mode = mode_;
    }

    /// @notice Calls `target` as this contract; bubbles a revert.
    function execute(address target, uint256 value, bytes calldata data) external payable returns (bytes memory ret) {
        bool ok;
        (ok, ret) = target.call{value: value}(data);
        if (!ok) {
            assembly {
                revert(add(ret, 0x20), mload(ret))
            }
        }
    }

    receive() external payable {
        uint8 m = mode;
        if (m == 1) revert AttackerNodeRejects(msg.value);
        if (m == 2) {
            assembly {
                for {} 1 {} {}
            }
        }
        if (m == 3) {
            uint256 stop = gasleft() - 50_000;
            while (gasleft() > stop) {}
        }
    }
}
