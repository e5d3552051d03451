// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

/// @notice What bounds a dispute on a graph model (docs/dispute-game.md, "Graph programs"): the game's length
///         follows from these, so the bonds and the smallest collateral that cover its gas do.
struct GraphShape {
    /// @dev The program's ops: the model tree has opCount + 1 leaves (the header, then op k at leaf k).
    uint32 opCount;
    /// @dev n, the leaves of a run's trace (the input, every committed stage, the output).
    uint32 leafCount;
    /// @dev The most leaves of one committed tensor's tree: bounds the descent.
    uint32 maxTensorLeaves;
    /// @dev The most chunks of 32 terms in one row of a reduce stage: bounds the fold dissection.
    uint32 maxRowChunks;
}

/// @notice A registered model: its commitment and the sizes the market needs.
struct Model {
    /// @dev Merkle root over the layer descriptors (docs/commitments.md).
    bytes32 root;
    address owner;
    /// @dev Sizes are at most ModelRegistry.MAX_VECTOR_SIZE (2^16), so 24 bits hold them and the owner,
    ///      the sizes, the layer count, the retired flag and the widest layer share one storage slot.
    uint24 inputSize;
    uint24 outputSize;
    uint16 layerCount;
    /// @dev A retired model takes no new jobs; jobs already posted go on.
    bool retired;
    /// @dev A Dense model's widest layer input or output: bounds the length of a dispute on the model. Zero
    ///      marks a graph model, whose layerCount is its trace's last leaf (leafCount − 1) and whose dispute
    ///      bounds are in `graph`.
    uint24 maxWidth;
    /// @dev A graph model's shape; zero for a Dense model.
    GraphShape graph;
    /// @dev Where the model files can be fetched.
    string uri;
}

interface IModelRegistry {
    /// @notice The model registered under `modelId`; reverts for an unknown id.
    function getModel(uint64 modelId) external view returns (Model memory);

    /// @notice The shape the job market and the dispute game need, read from one storage slot; reverts for
    ///         an unknown id.
    function modelShape(uint64 modelId)
        external
        view
        returns (uint32 inputSize, uint32 outputSize, uint16 layerCount, bool retired, uint32 maxWidth);

    /// @notice A graph model's shape (all zero for a Dense model); reverts for an unknown id.
    function graphShape(uint64 modelId) external view returns (GraphShape memory);

    /// @notice The model root alone (the dispute game opens descriptors against it without reading the
    ///         owner-chosen URI); reverts for an unknown id.
    function modelRoot(uint64 modelId) external view returns (bytes32);
}
