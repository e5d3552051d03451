// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {InferenceConsumer} from "../consumer/InferenceConsumer.sol";
import {IJobMarket} from "../interfaces/IJobMarket.sol";
import {IModelRegistry} from "../interfaces/IModelRegistry.sol";
import {Job} from "../types/Job.sol";

/// @notice The job market's registry getter (JobMarket.registry), which IJobMarket does not list.
interface IJobMarketRegistry {
    function registry() external view returns (IModelRegistry);
}

/// @title DrawTheDigit
/// @notice The example of docs/consumer-tutorial.md: a drawing game on the MNIST model. The contract asks
///         for a digit ({digitAsked}); a player draws it on a 28×28 one-bit grid, sent as 28 row bitmaps,
///         and pays the fee. The contract renders the grid into the model's 784 int8 pixels in memory and
///         requests an inference, so a player can send only a one-bit drawing in full ink, never an
///         arbitrary int8 vector crafted to fool the model. When the result is final, a drawing read as
///         the digit it was asked for scores a point for its player, and a match for the digit asked now
///         moves on to the next digit. Refunds and compensation for a player's job go to that player
///         (InferenceConsumer).
contract DrawTheDigit is InferenceConsumer {
    error DrawTheDigitWrongModel(uint64 modelId, uint32 inputSize, uint32 outputSize);
    error DrawTheDigitInvalidInputScale(uint256 inputScale);
    error DrawTheDigitRowTooWide(uint256 row, uint32 bits);
    error DrawTheDigitNotPlayer(uint256 jobId, address caller, address player);

    event DrawingSubmitted(uint256 indexed jobId, address indexed player, uint8 asked);
    event DrawingJudged(uint256 indexed jobId, address indexed player, uint8 asked, uint8 digit, bool matched);

    /// @notice Pixels per side of the grid.
    uint256 public constant SIDE = 28;
    /// @notice The model's input size: one int8 per pixel, row-major.
    uint256 public constant PIXELS = SIDE * SIDE;
    /// @notice The model's output size: one int8 score per digit.
    uint256 public constant DIGITS = 10;
    /// @notice Gas the market gives {onInferenceResult}; the worst case uses about 60k.
    uint32 public constant CALLBACK_GAS_LIMIT = 100_000;

    /// @notice The registered MNIST model.
    uint64 public immutable modelId;
    /// @notice The int8 of an inked pixel: intensity 1.0 quantised at the model's input scale.
    int8 public immutable ink;

    /// @notice The digit the contract asks for now.
    uint8 public digitAsked;
    /// @notice The digit each job's player was asked for.
    mapping(uint256 jobId => uint8) public askedOf;
    /// @notice Drawings of each player read as the digit they were asked for.
    mapping(address player => uint256) public score;

    /// @param market_ The job market.
    /// @param modelId_ A registered model with 784 inputs and 10 outputs (MNIST).
    /// @param inputScale_ The model's input scale (descriptor.json meta.inputScale) with 18 decimals.
    constructor(IJobMarket market_, uint64 modelId_, uint256 inputScale_) InferenceConsumer(market_) {
        IModelRegistry registry = IJobMarketRegistry(address(market_)).registry();
        (uint32 inputSize, uint32 outputSize,,,) = registry.modelShape(modelId_);
        if (inputSize != PIXELS || outputSize != DIGITS) revert DrawTheDigitWrongModel(modelId_, inputSize, outputSize);
        if (inputScale_ == 0) revert DrawTheDigitInvalidInputScale(inputScale_);
        int8 ink_ = quantise(1e18, inputScale_); // intensity 1.0
        if (ink_ == 0) revert DrawTheDigitInvalidInputScale(inputScale_);
        modelId = modelId_;
        ink = ink_;
    }

    /// @notice Submits a drawing of the digit asked for now ({digitAsked}); msg.value is the fee.
    /// @param rows The grid, top row first; bit 27 of a row is its leftmost pixel, bit 0 its rightmost.
    /// @param collateral Stake the serving node must lock.
    /// @param expiresAt Latest time a node may take the job.
    /// @return jobId The market's job id.
    function draw(uint32[28] calldata rows, uint96 collateral, uint40 expiresAt)
        external
        payable
        returns (uint256 jobId)
    {
        bytes memory input = render(rows);
        uint8 asked = digitAsked;
        jobId = _requestInference(modelId, input, CALLBACK_GAS_LIMIT, collateral, expiresAt, msg.value, msg.sender);
        askedOf[jobId] = asked;
        emit DrawingSubmitted(jobId, msg.sender, asked);
    }

    /// @notice The model input for a grid: one int8 per pixel, row-major, {ink} where a bit is set and 0
    ///         elsewhere. Reverts if a row has a bit set above its 28 pixels.
    /// @param rows The grid, as {draw} takes it.
    /// @return input PIXELS bytes.
    function render(uint32[28] calldata rows) public view returns (bytes memory input) {
        input = new bytes(PIXELS); // all zero: a blank pixel is 0
        bytes1 inked = bytes1(uint8(ink));
        for (uint256 r = 0; r < SIDE; ++r) {
            uint256 bits = rows[r];
            if (bits == 0) continue;
            if (bits >> SIDE != 0) revert DrawTheDigitRowTooWide(r, rows[r]);
            uint256 i = r * SIDE; // the row's leftmost pixel
            unchecked {
                for (uint256 mask = 1 << (SIDE - 1); mask != 0; mask >>= 1) {
                    if (bits & mask != 0) input[i] = inked;
                    ++i;
                }
            }
        }
    }

    /// @notice The int8 the model reads for the real value `x` at input scale `scale`, both with 18
    ///         decimals and x ≥ 0: q = min(round(x / scale), 127), halves rounded up.
    /// @param x The value.
    /// @param scale The input scale, above 0.
    /// @return q The quantised value.
    function quantise(uint256 x, uint256 scale) public pure returns (int8 q) {
        uint256 rounded = (2 * x + scale) / (2 * scale);
        q = rounded > 127 ? int8(127) : int8(uint8(rounded));
    }

    /// @notice Cancels the caller's job while no node has taken it; the fee becomes refundable.
    /// @param jobId The job.
    /// @param job The job as the market holds it now.
    function cancel(uint256 jobId, Job calldata job) external {
        address player = payerOf[jobId];
        if (msg.sender != player) revert DrawTheDigitNotPlayer(jobId, msg.sender, player);
        market.cancelJob(jobId, job);
    }

    /// @dev The final output. The digit is the first index of the largest int8. Nothing here can revert:
    ///      the output has the model's 10 values (checked at deployment, enforced by the market), and
    ///      there is no external call.
    function _onInferenceResult(uint256 jobId, bytes calldata output) internal override {
        uint8 digit = _argmax(output);
        uint8 asked = askedOf[jobId];
        address player = payerOf[jobId];
        bool matched = digit == asked;
        if (matched) {
            score[player] += 1;
            if (asked == digitAsked) digitAsked = uint8((asked + 1) % DIGITS);
        }
        emit DrawingJudged(jobId, player, asked, digit, matched);
    }

    /// @dev The first index of the largest value, each byte read as an int8.
    function _argmax(bytes calldata output) private pure returns (uint8 best) {
        for (uint256 i = 1; i < output.length; ++i) {
            if (int8(uint8(output[i])) > int8(uint8(output[best]))) best = uint8(i);
        }
    }
}
