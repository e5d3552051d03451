// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

/// @notice What the job market and staking ask of the dispute game: the contracts it is bound to (checked
///         when they bind it) and the smallest collateral of a job on a model of a given shape.
interface IDisputeGameForMarket {
    function market() external view returns (address);

    function staking() external view returns (address);

    function registry() external view returns (address);

    /// @notice The smallest collateral that makes the reward from a caught node cover an honest
    ///         challenger's gas in the longest game on a model of this shape.
    function minCollateralFor(uint256 layerCount, uint256 maxWidth) external view returns (uint256);
}
