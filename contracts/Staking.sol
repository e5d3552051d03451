// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {IDisputeGameForMarket} from "./interfaces/IDisputeGame.sol";
import {IJobMarket} from "./interfaces/IJobMarket.sol";
import {IStaking} from "./interfaces/IStaking.sol";

/// @title Staking
/// @notice Node operators' ETH stake. Stake is free (can back new jobs), locked (collateral of jobs in
///         flight) or unbonding (on its way out). Only the job market locks, unlocks and forfeits
///         collateral (a missed delivery); only the dispute games slash it (a lost dispute: the Dense game
///         and, once bound, the graph game's payouts, GraphDisputes). Amounts
///         taken are credited to their recipient, who withdraws them (pull payments).
/// @dev The unbonding delay is fixed at deployment and must exceed the challenge window plus the longest
///      dispute (the job market checks this when it is deployed), so stake cannot leave while a result it
///      backs can still be disputed. The market and the game are bound once, by the deployer.
contract Staking is IStaking {
    error StakingZeroAmount();
    error StakingInsufficientFreeStake(address account, uint256 have, uint256 need);
    error StakingInsufficientLockedStake(address account, uint256 have, uint256 need);
    error StakingNothingUnbonding(address account);
    error StakingStillUnbonding(address account, uint256 readyAt, uint256 now_);
    error StakingNothingToWithdraw(address account);
    error StakingTransferFailed(address to, uint256 amount);
    error StakingUnauthorized(address caller);
    error StakingAlreadyBound();
    error StakingZeroAddress();
    error StakingAmountTooLarge(uint256 amount);
    error StakingBindingMismatch(string what, address have, address need);

    event Bound(address indexed market, address indexed disputeGame);
    event GraphGameBound(address indexed graphGame);
    event Staked(address indexed account, uint256 amount, uint256 free);
    event UnstakeRequested(address indexed account, uint256 amount, uint256 unbonding, uint256 readyAt);
    event Unstaked(address indexed account, uint256 amount);
    event CollateralLocked(address indexed account, uint256 amount, uint256 locked);
    event CollateralUnlocked(address indexed account, uint256 amount, uint256 locked);
    event CollateralForfeited(address indexed account, address indexed to, uint256 amount);
    event StakeSlashed(address indexed account, address indexed to, uint256 amount);
    event Withdrawn(address indexed account, uint256 amount);

    struct Account {
        uint128 free;
        uint128 locked;
        uint128 unbonding;
        uint40 unbondingReadyAt;
    }

    /// @inheritdoc IStaking
    uint256 public immutable unbondingDelay;
    address private immutable _deployer;
    /// @notice The job market allowed to lock, unlock and forfeit.
    address public market;
    /// @notice The dispute game allowed to slash.
    address public disputeGame;
    /// @notice The graph models' dispute game (GraphDisputes), also allowed to slash; zero until bound.
    address public graphGame;

    mapping(address account => Account) private _accounts;
    /// @inheritdoc IStaking
    mapping(address account => uint256) public credits;

    /// @param unbondingDelay_ Seconds between {requestUnstake} and {withdrawUnstaked}.
    constructor(uint256 unbondingDelay_) {
        unbondingDelay = unbondingDelay_;
        _deployer = msg.sender;
    }

    /// @notice Binds the job market and the dispute game, once, by the deployer. Both must be bound to this
    ///         contract, and the game to the market.
    /// @param market_ The job market.
    /// @param disputeGame_ The dispute game.
    function bind(address market_, address disputeGame_) external {
        if (msg.sender != _deployer) revert StakingUnauthorized(msg.sender);
        if (market != address(0)) revert StakingAlreadyBound();
        if (market_ == address(0) || disputeGame_ == address(0)) revert StakingZeroAddress();
        address marketStaking = address(IJobMarket(market_).staking());
        if (marketStaking != address(this)) revert StakingBindingMismatch("market staking", marketStaking, address(this));
        _checkGame(disputeGame_, market_);
        market = market_;
        disputeGame = disputeGame_;
        emit Bound(market_, disputeGame_);
    }

    /// @notice Binds the graph models' dispute game, once, by the deployer, after {bind}. It must be bound to
    ///         this contract and to the same market.
    /// @param graphGame_ The graph game's payouts contract (GraphDisputes).
    function bindGraphGame(address graphGame_) external {
        if (msg.sender != _deployer) revert StakingUnauthorized(msg.sender);
        if (graphGame != address(0)) revert StakingAlreadyBound();
        if (graphGame_ == address(0)) revert StakingZeroAddress();
        address market_ = market;
        if (market_ == address(0)) revert StakingBindingMismatch("market", market_, graphGame_);
        _checkGame(graphGame_, market_);
        graphGame = graphGame_;
        emit GraphGameBound(graphGame_);
    }

    /// @notice Adds msg.value to the caller's free stake.
    function stake() external payable {
        if (msg.value == 0) revert StakingZeroAmount();
        if (msg.value > type(uint128).max) revert StakingAmountTooLarge(msg.value);
        Account storage a = _accounts[msg.sender];
        a.free += uint128(msg.value);
        emit Staked(msg.sender, msg.value, a.free);
    }

    /// @notice Starts unbonding `amount` of the caller's free stake; the whole unbonding amount becomes
    ///         withdrawable `unbondingDelay` seconds after the latest request.
    /// @param amount Wei to unbond; at most the free stake (locked collateral cannot leave).
    function requestUnstake(uint256 amount) external {
        if (amount == 0) revert StakingZeroAmount();
        Account storage a = _accounts[msg.sender];
        if (amount > a.free) revert StakingInsufficientFreeStake(msg.sender, a.free, amount);
        a.free -= uint128(amount);
        a.unbonding += uint128(amount);
        uint256 readyAt = block.timestamp + unbondingDelay;
        a.unbondingReadyAt = uint40(readyAt);
        emit UnstakeRequested(msg.sender, amount, a.unbonding, readyAt);
    }

    /// @notice Sends the caller's unbonded stake once its delay has passed.
    function withdrawUnstaked() external {
        Account storage a = _accounts[msg.sender];
        uint256 amount = a.unbonding;
        if (amount == 0) revert StakingNothingUnbonding(msg.sender);
        if (block.timestamp < a.unbondingReadyAt) {
            revert StakingStillUnbonding(msg.sender, a.unbondingReadyAt, block.timestamp);
        }
        a.unbonding = 0;
        a.unbondingReadyAt = 0;
        emit Unstaked(msg.sender, amount);
        _send(msg.sender, amount);
    }

    /// @inheritdoc IStaking
    function withdraw() external {
        uint256 amount = credits[msg.sender];
        if (amount == 0) revert StakingNothingToWithdraw(msg.sender);
        credits[msg.sender] = 0;
        emit Withdrawn(msg.sender, amount);
        _send(msg.sender, amount);
    }

    /// @inheritdoc IStaking
    function lock(address node, uint256 amount) external {
        _onlyMarket();
        Account storage a = _accounts[node];
        if (amount > a.free) revert StakingInsufficientFreeStake(node, a.free, amount);
        a.free -= uint128(amount);
        a.locked += uint128(amount);
        emit CollateralLocked(node, amount, a.locked);
    }

    /// @inheritdoc IStaking
    function unlock(address node, uint256 amount) external {
        _onlyMarket();
        Account storage a = _takeLocked(node, amount);
        a.free += uint128(amount);
        emit CollateralUnlocked(node, amount, a.locked);
    }

    /// @inheritdoc IStaking
    function forfeit(address node, uint256 amount, address to) external {
        _onlyMarket();
        _creditLocked(node, amount, to);
        emit CollateralForfeited(node, to, amount);
    }

    /// @inheritdoc IStaking
    function slash(address node, uint256 amount, address to) external {
        // msg.sender is never zero, so an unbound graph game matches nobody.
        if (msg.sender != disputeGame && msg.sender != graphGame) revert StakingUnauthorized(msg.sender);
        _creditLocked(node, amount, to);
        emit StakeSlashed(node, to, amount);
    }

    /// @notice An account's free, locked and unbonding stake and when the unbonding stake is ready.
    function accountOf(address account)
        external
        view
        returns (uint256 free, uint256 locked, uint256 unbonding, uint256 unbondingReadyAt)
    {
        Account storage a = _accounts[account];
        return (a.free, a.locked, a.unbonding, a.unbondingReadyAt);
    }

    /// @dev Moves locked collateral to a recipient's credit: forfeits and slashes alike.
    function _creditLocked(address node, uint256 amount, address to) private {
        if (to == address(0)) revert StakingZeroAddress();
        _takeLocked(node, amount);
        credits[to] += amount;
    }

    /// @dev The one place locked collateral decreases.
    function _takeLocked(address node, uint256 amount) private returns (Account storage a) {
        a = _accounts[node];
        if (amount > a.locked) revert StakingInsufficientLockedStake(node, a.locked, amount);
        a.locked -= uint128(amount);
    }

    function _checkGame(address game_, address market_) private view {
        IDisputeGameForMarket game = IDisputeGameForMarket(game_);
        if (game.staking() != address(this)) revert StakingBindingMismatch("game staking", game.staking(), address(this));
        if (game.market() != market_) revert StakingBindingMismatch("game market", game.market(), market_);
    }

    function _onlyMarket() private view {
        if (msg.sender != market) revert StakingUnauthorized(msg.sender);
    }

    function _send(address to, uint256 amount) private {
        (bool ok,) = to.call{value: amount}("");
        if (!ok) revert StakingTransferFailed(to, amount);
    }
}
