// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {IInferenceConsumer} from "../../interfaces/IInferenceConsumer.sol";

/// @notice Attacker: from its callback, replays calls into the market (finalize again, withdraw, …).
///         Strict: the first failing call's revert is bubbled, so the callback itself fails.
///         Lenient: every call's success and return data are recorded and the callback succeeds.
///         It can also act as a requester through {execute}.
contract ReentrantConsumer is IInferenceConsumer {
    address public immutable market;
    bool public strict;
    bytes[] private _calls;
    bool[] public oks;
    bytes[] public results;
    uint256 public received;

    constructor(address market_) {
        market = market_;
    }

    /// @notice The calls to make into the market from the next callback.
    function arm(bytes[] calldata calls, bool strict_) external {
        delete _calls;
        for (uint256 i = 0; i < calls.length; i++) _calls.push(calls[i]);
        strict = strict_;
    }

    function resultCount() external view returns (uint256) {
        return results.length;
    }

    function onInferenceResult(uint256, bytes calldata) external {
        uint256 n = _calls.length;
        for (uint256 i = 0; i < n; i++) {
            (bool ok, bytes memory ret) = market.call(_calls[i]);
            if (!ok && strict) {
                assembly {
                    revert(add(ret, 0x20), mload(ret))
                }
            }
            oks.push(ok);
            results.push(ret);
        }
    }

    /// @notice Calls `target` as this contract (to post, cancel, withdraw …); bubbles a revert.
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
        received += msg.value;
    }
}
