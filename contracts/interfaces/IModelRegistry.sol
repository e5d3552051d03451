// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

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
    /// @dev The widest layer input or output: bounds the length of a dispute on the model.
    uint24 maxWidth;
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

    /// @notice The model root alone (the dispute game opens descriptors against it without reading the
    ///         owner-chosen URI); reverts for an unknown id.
    function modelRoot(uint64 modelId) external view returns (bytes32);
}
