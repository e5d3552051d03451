// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {IStepVerifier} from "../interfaces/IStepVerifier.sol";

/// @title GraphStepHarness
/// @notice Calls an {IStepVerifier} (the {StepRouter} in the tests) on many cases in one eth_call, for
///         test/graph/stepVerifiers.differential.test.ts; not deployed in production.
/// @dev Each case is one external call under try/catch: a revert is returned with its data instead of failing
///      the batch, and the gas of every call (gasleft() around it, the call's own cost) comes back too.
contract GraphStepHarness {
    /// @notice One {IStepVerifier.foldInit} call.
    struct InitCase {
        IStepVerifier.StepContext ctx;
        int256[] operands;
    }

    /// @notice One {IStepVerifier.foldChunk} call.
    struct ChunkCase {
        IStepVerifier.StepContext ctx;
        int256 accBefore;
        int256[] inputs;
        int256[] weights;
        uint256 padded;
    }

    /// @notice One {IStepVerifier.step} call.
    struct StepCase {
        IStepVerifier.StepContext ctx;
        int256[] operands;
        bytes32[] witness;
    }

    /// @notice What one call gave: its value, or its revert data; and its gas.
    struct Outcome {
        bool ok;
        int256 value;
        bytes err;
        uint256 gas;
    }

    /// @notice {IStepVerifier.foldInit} of each case.
    /// @param v The verifier.
    /// @param cases The calls.
    /// @return out One outcome per case.
    function foldInitBatch(IStepVerifier v, InitCase[] calldata cases) external view returns (Outcome[] memory out) {
        out = new Outcome[](cases.length);
        for (uint256 i; i < cases.length; ++i) {
            uint256 g = gasleft();
            try v.foldInit(cases[i].ctx, cases[i].operands) returns (int256 r) {
                out[i].ok = true;
                out[i].value = r;
            } catch (bytes memory err) {
                out[i].err = err;
            }
            out[i].gas = g - gasleft();
        }
    }

    /// @notice {IStepVerifier.foldChunk} of each case.
    /// @param v The verifier.
    /// @param cases The calls.
    /// @return out One outcome per case.
    function foldChunkBatch(IStepVerifier v, ChunkCase[] calldata cases) external view returns (Outcome[] memory out) {
        out = new Outcome[](cases.length);
        for (uint256 i; i < cases.length; ++i) {
            ChunkCase calldata c = cases[i];
            uint256 g = gasleft();
            try v.foldChunk(c.ctx, c.accBefore, c.inputs, c.weights, c.padded) returns (int256 r) {
                out[i].ok = true;
                out[i].value = r;
            } catch (bytes memory err) {
                out[i].err = err;
            }
            out[i].gas = g - gasleft();
        }
    }

    /// @notice {IStepVerifier.step} of each case.
    /// @param v The verifier.
    /// @param cases The calls.
    /// @return out One outcome per case.
    function stepBatch(IStepVerifier v, StepCase[] calldata cases) external view returns (Outcome[] memory out) {
        out = new Outcome[](cases.length);
        for (uint256 i; i < cases.length; ++i) {
            uint256 g = gasleft();
            try v.step(cases[i].ctx, cases[i].operands, cases[i].witness) returns (int256 r) {
                out[i].ok = true;
                out[i].value = r;
            } catch (bytes memory err) {
                out[i].err = err;
            }
            out[i].gas = g - gasleft();
        }
    }

    /// @notice {IStepVerifier.stageKinds} of each descriptor.
    /// @param v The verifier.
    /// @param descriptors The descriptors.
    /// @return kinds The stage kinds of each.
    /// @return bits The stage widths of each.
    function stageKindsBatch(IStepVerifier v, bytes32[][] calldata descriptors)
        external
        view
        returns (uint256[][] memory kinds, uint256[][] memory bits)
    {
        kinds = new uint256[][](descriptors.length);
        bits = new uint256[][](descriptors.length);
        for (uint256 i; i < descriptors.length; ++i) {
            (kinds[i], bits[i]) = v.stageKinds(descriptors[i]);
        }
    }
}
