// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

/// @notice What the job market and the dispute game ask of the staking contract.
interface IStaking {
    /// @notice ETH credited to `account` (forfeited or slashed collateral), waiting for {withdraw}.
    function credits(address account) external view returns (uint256);

    /// @notice Pays out everything credited to the caller.
    function withdraw() external;

    /// @notice Time between an unstake request and the withdrawal.
    function unbondingDelay() external view returns (uint256);

    /// @notice Moves `amount` of `node`'s free stake to locked collateral. Job market only.
    function lock(address node, uint256 amount) external;

    /// @notice Moves `amount` of `node`'s locked collateral back to free stake. Job market only.
    function unlock(address node, uint256 amount) external;

    /// @notice Takes `amount` of `node`'s locked collateral for a missed delivery and credits it to `to`.
    ///         Job market only.
    function forfeit(address node, uint256 amount, address to) external;

    /// @notice Takes `amount` of `node`'s locked collateral for a lost dispute and credits it to `to`.
    ///         Dispute game only.
    function slash(address node, uint256 amount, address to) external;
}
