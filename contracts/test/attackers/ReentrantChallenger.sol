// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

/// @notice Attacker: a challenger contract that, when paid, calls back into the paying contract (the
///         dispute game's withdraw again, a timeout, …) with the armed calls, recording each outcome.
contract ReentrantChallenger {
    bytes[] private _calls;
    address private _target;
    bool[] public oks;
    uint256 public received;

    /// @notice The calls to make into `target` when ETH next arrives.
    function arm(address target, bytes[] calldata calls) external {
        _target = target;
        delete _calls;
        for (uint256 i = 0; i < calls.length; i++) _calls.push(calls[i]);
    }

    /// @notice Calls `target` as this contract with `value` (to challenge, move, withdraw); bubbles a revert.
    function execute(address target, uint256 value, bytes calldata data) external payable returns (bytes memory ret) {
        bool ok;
        (ok, ret) = target.call{value: value}(data);
        if (!ok) {
            assembly {
                revert(add(ret, 0x20), mload(ret))
            }
        }
    }

    function outcomes() external view returns (bool[] memory) {
        return oks;
    }

    receive() external payable {
        received += msg.value;
        uint256 n = _calls.length;
        for (uint256 i = 0; i < n; i++) {
            (bool ok,) = _target.call(_calls[i]);
            oks.push(ok);
        }
        delete _calls;
    }
}
