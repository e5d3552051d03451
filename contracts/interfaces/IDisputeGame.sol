// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

/// @notice What the job market and staking ask of the dispute game: the contracts it is bound to (checked
///         when they bind it) and the two parameters of a job's smallest collateral, which the market reads
///         once, when it binds the game, and applies with LibDisputeCost.minCollateral.
interface IDisputeGameForMarket {
    function market() external view returns (address);

    function staking() external view returns (address);

    function registry() external view returns (address);

    /// @notice Wei per gas up to which a job's smallest collateral covers an honest challenger's gas.
    function coverGasPrice() external view returns (uint256);

    /// @notice The share of a caught node's collateral, in basis points, that the winners share.
    function challengerRewardBps() external view returns (uint256);
}
