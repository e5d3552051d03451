// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {LibMerkle} from "../lib/LibMerkle.sol";

/// @title MerkleHarness
/// @notice Exposes {LibMerkle} to tests (test/merkle.differential.test.ts); not deployed in production.
contract MerkleHarness {
    /// @notice One opening to check with {verifyBatch}.
    struct Opening {
        bytes32 root;
        bytes32 leaf;
        uint256 index;
        bytes32[] proof;
        uint256 depth;
    }

    /// @notice {LibMerkle.computeRoot}.
    function computeRoot(bytes32 leaf, uint256 index, bytes32[] calldata proof) external pure returns (bytes32) {
        return LibMerkle.computeRoot(leaf, index, proof);
    }

    /// @notice {LibMerkle.verify}.
    function verify(bytes32 root, bytes32 leaf, uint256 index, bytes32[] calldata proof, uint256 depth)
        external
        pure
        returns (bool)
    {
        return LibMerkle.verify(root, leaf, index, proof, depth);
    }

    /// @notice {LibMerkle.verifyExtension}.
    function verifyExtension(bytes32 prev, bytes32 next, bytes32 leaf, uint256 index, bytes32[] calldata proof, uint256 depth)
        external
        pure
        returns (bool)
    {
        return LibMerkle.verifyExtension(prev, next, leaf, index, proof, depth);
    }

    /// @notice {LibMerkle.depthFor}.
    function depthFor(uint256 leafCount) external pure returns (uint256) {
        return LibMerkle.depthFor(leafCount);
    }

    /// @notice {LibMerkle.rootOfBytes}.
    function rootOfBytes(bytes calldata data) external pure returns (bytes32) {
        return LibMerkle.rootOfBytes(data);
    }

    /// @notice {LibMerkle.rootOfWords}.
    function rootOfWords(bytes32[] memory leaves) external pure returns (bytes32) {
        return LibMerkle.rootOfWords(leaves);
    }

    /// @notice {LibMerkle.rootOfBytes} of each item, in one call.
    function rootOfBytesBatch(bytes[] calldata items) external pure returns (bytes32[] memory roots) {
        roots = new bytes32[](items.length);
        for (uint256 i; i < items.length; ++i) {
            roots[i] = LibMerkle.rootOfBytes(items[i]);
        }
    }

    /// @notice {LibMerkle.rootOfWords} of each item, in one call; also checks each item is left unchanged.
    function rootOfWordsBatch(bytes32[][] memory items) external pure returns (bytes32[] memory roots) {
        roots = new bytes32[](items.length);
        for (uint256 i; i < items.length; ++i) {
            bytes32 before = keccak256(abi.encodePacked(items[i]));
            roots[i] = LibMerkle.rootOfWords(items[i]);
            require(keccak256(abi.encodePacked(items[i])) == before, "rootOfWords changed its input");
        }
    }

    /// @notice {LibMerkle.verify} and {LibMerkle.computeRoot} of each opening, in one call.
    function verifyBatch(Opening[] calldata openings) external pure returns (bool[] memory ok, bytes32[] memory roots) {
        ok = new bool[](openings.length);
        roots = new bytes32[](openings.length);
        for (uint256 i; i < openings.length; ++i) {
            Opening calldata o = openings[i];
            ok[i] = LibMerkle.verify(o.root, o.leaf, o.index, o.proof, o.depth);
            roots[i] = LibMerkle.computeRoot(o.leaf, o.index, o.proof);
        }
    }

    /// @notice {LibMerkle.verifyPaged} of each opening (`depth` in word levels), in one call.
    function verifyPagedBatch(Opening[] calldata openings) external pure returns (bool[] memory ok) {
        ok = new bool[](openings.length);
        for (uint256 i; i < openings.length; ++i) {
            Opening calldata o = openings[i];
            ok[i] = LibMerkle.verifyPaged(o.root, o.leaf, o.index, o.proof, o.depth);
        }
    }

    /// @notice {LibMerkle.pagedDepthFor} of each word count, in one call.
    function pagedDepthForBatch(uint256[] calldata words) external pure returns (uint256[] memory depths) {
        depths = new uint256[](words.length);
        for (uint256 i; i < words.length; ++i) {
            depths[i] = LibMerkle.pagedDepthFor(words[i]);
        }
    }

    /// @notice {LibMerkle.depthFor} of each count, in one call.
    function depthForBatch(uint256[] calldata leafCounts) external pure returns (uint256[] memory depths) {
        depths = new uint256[](leafCounts.length);
        for (uint256 i; i < leafCounts.length; ++i) {
            depths[i] = LibMerkle.depthFor(leafCounts[i]);
        }
    }

    /// @notice Execution gas of {LibMerkle.rootOfBytes} alone (no call or calldata overhead), and its result.
    function gasOfRootOfBytes(bytes calldata data) external view returns (uint256 gasUsed, bytes32 root) {
        uint256 start = gasleft();
        root = LibMerkle.rootOfBytes(data);
        gasUsed = start - gasleft();
    }
}
