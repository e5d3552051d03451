// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {OP_COMPUTE_MAX} from "../lib/graph/GraphOpCodes.sol";
import {IStepVerifier} from "../interfaces/IStepVerifier.sol";
import {LibGraphStep} from "../lib/graph/LibGraphStep.sol";

/// @title StepRouter
/// @notice The one step verifier the dispute game calls: forwards each call to the verifier listed for the
///         descriptor's op code (its first word). The list is fixed at deployment; adding an op is deploying
///         its verifier and a router that lists it, never editing the game (docs/graph-semantics.md §11).
/// @dev The router is itself an {IStepVerifier}; its answers and reverts are the listed verifier's, unchanged.
///      The constructor checks every entry: op codes 1 … 31 (computing ops; layout ops are views and have no
///      step), each listed once, each verifier a contract that names the code among its {opCodes}.
contract StepRouter is IStepVerifier {
    /// @notice The constructor's two lists differ in length, or are empty.
    error StepRouterLists(uint256 opCodes, uint256 verifiers);
    /// @notice A listed op code is not a computing op's (1 … 31).
    error StepRouterOpCodeOutOfRange(uint256 opCode);
    /// @notice An op code is listed twice.
    error StepRouterDuplicateOp(uint256 opCode);
    /// @notice A listed verifier has no code.
    error StepRouterNotAContract(uint256 opCode, address verifier);
    /// @notice A listed verifier does not name the op code among its {opCodes}.
    error StepRouterVerifierRefusesOp(uint256 opCode, address verifier);
    /// @notice No verifier is listed for the descriptor's op code.
    error StepRouterUnknownOp(uint256 opCode);

    mapping(uint256 opCode => IStepVerifier) private _verifiers;
    uint256[] private _opCodes;

    /// @notice Lists `verifiers_[i]` for op code `opCodes_[i]`, once and for all.
    /// @param opCodes_ The op codes, each 1 … 31 and listed once.
    /// @param verifiers_ Their verifiers, each naming its op code among its {opCodes}.
    constructor(uint256[] memory opCodes_, IStepVerifier[] memory verifiers_) {
        if (opCodes_.length != verifiers_.length || opCodes_.length == 0) {
            revert StepRouterLists(opCodes_.length, verifiers_.length);
        }
        for (uint256 i; i < opCodes_.length; ++i) {
            uint256 code = opCodes_[i];
            IStepVerifier v = verifiers_[i];
            if (code == 0 || code > OP_COMPUTE_MAX) revert StepRouterOpCodeOutOfRange(code);
            if (address(_verifiers[code]) != address(0)) revert StepRouterDuplicateOp(code);
            if (address(v).code.length == 0) revert StepRouterNotAContract(code, address(v));
            uint256[] memory claimed = v.opCodes();
            bool named;
            for (uint256 j; j < claimed.length && !named; ++j) {
                named = claimed[j] == code;
            }
            if (!named) revert StepRouterVerifierRefusesOp(code, address(v));
            _verifiers[code] = v;
            _opCodes.push(code);
        }
    }

    /// @notice The verifier listed for `opCode`, or the zero address.
    /// @param opCode The op code.
    /// @return The verifier.
    function verifierOf(uint256 opCode) external view returns (IStepVerifier) {
        return _verifiers[opCode];
    }

    /// @inheritdoc IStepVerifier
    function opCodes() external view returns (uint256[] memory codes) {
        return _opCodes;
    }

    /// @inheritdoc IStepVerifier
    function stageKinds(bytes32[] calldata descriptor)
        external
        view
        returns (uint256[] memory kinds, uint256[] memory bits)
    {
        return _route(descriptor).stageKinds(descriptor);
    }

    /// @inheritdoc IStepVerifier
    function foldInit(StepContext calldata ctx, int256[] calldata operands) external view returns (int256) {
        return _route(ctx.descriptor).foldInit(ctx, operands);
    }

    /// @inheritdoc IStepVerifier
    function foldChunk(
        StepContext calldata ctx,
        int256 accBefore,
        int256[] calldata inputs,
        int256[] calldata weights,
        uint256 padded
    ) external view returns (int256) {
        return _route(ctx.descriptor).foldChunk(ctx, accBefore, inputs, weights, padded);
    }

    /// @inheritdoc IStepVerifier
    function step(StepContext calldata ctx, int256[] calldata operands, bytes32[] calldata witness)
        external
        view
        returns (int256)
    {
        return _route(ctx.descriptor).step(ctx, operands, witness);
    }

    /// @dev The verifier of the descriptor's op code; reverts with {StepRouterUnknownOp} when none is listed.
    function _route(bytes32[] calldata descriptor) private view returns (IStepVerifier v) {
        uint256 code = LibGraphStep.opCode(descriptor);
        v = _verifiers[code];
        if (address(v) == address(0)) revert StepRouterUnknownOp(code);
    }
}
