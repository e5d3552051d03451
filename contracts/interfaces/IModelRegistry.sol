// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

/// @notice A registered model: its commitment and the sizes the market needs.
struct Model {
    /// @dev Merkle root over the layer descriptors (docs/commitments.md).
    bytes32 root;
    address owner;
    uint32 inputSize;
    uint32 outputSize;
    uint16 layerCount;
    /// @dev A retired model takes no new jobs; jobs already posted go on.
    bool retired;
    /// @dev Where the model files can be fetched.
    string uri;
}

interface IModelRegistry {
    /// @notice The model registered under `modelId`; reverts for an unknown id.
    function getModel(uint64 modelId) external view returns (Model memory);

    /// @notice The sizes the job market needs, read from one storage slot; reverts for an unknown id.
    function modelShape(uint64 modelId)
        external
        view
        returns (uint32 inputSize, uint32 outputSize, uint16 layerCount, bool retired);
}
