// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {IModelRegistry, Model, GraphShape} from "./interfaces/IModelRegistry.sol";

/// @title ModelRegistry
/// @notice Models by id: the model root that commits to every layer (a Dense chain) or every op (a graph
///         program), the input and output sizes, what bounds a dispute on it (a Dense model's layer count and
///         widest layer; a graph model's {GraphShape}), where the files are, and who owns the entry. A model's commitment
///         never changes; its owner can only retire it (no new jobs) or hand the entry over.
/// @dev Registration never claims a root: anyone may register any root, and each registration is its own
///      entry with its own id and owner. A third party can neither take a model (its entry is not the
///      owner's) nor block one (a wrong-shaped entry under the same root leaves the owner free to register
///      the right one). Dapps bind to the id their model owner registered.
contract ModelRegistry is IModelRegistry {
    /// @notice Largest input or output, in int8 elements (bytes): bounds the on-chain input root's gas.
    uint256 public constant MAX_VECTOR_SIZE = 1 << 16;
    /// @notice Most layers a model may have: bounds the length of a dispute game.
    uint256 public constant MAX_LAYERS = 1024;
    /// @notice Most ops a graph model may have.
    uint256 public constant MAX_GRAPH_OPS = 1 << 16;
    /// @notice Most leaves of a graph model's trace: a job holds the last leaf's index in 16 bits.
    uint256 public constant MAX_TRACE_LEAVES = 1 << 16;

    error ModelRegistryZeroRoot();
    error ModelRegistryInvalidSize(uint256 inputSize, uint256 outputSize, uint256 max);
    error ModelRegistryInvalidLayerCount(uint256 layerCount, uint256 max);
    error ModelRegistryInvalidWidth(uint256 maxWidth, uint256 inputSize, uint256 outputSize, uint256 max);
    error ModelRegistryInvalidGraphShape(string what, uint256 value, uint256 min, uint256 max);
    error ModelRegistryUnknownModel(uint64 modelId);
    error ModelRegistryNotOwner(uint64 modelId, address caller, address owner);
    error ModelRegistryZeroOwner(uint64 modelId);

    event ModelRegistered(
        uint64 indexed modelId,
        bytes32 indexed root,
        address indexed owner,
        uint32 inputSize,
        uint32 outputSize,
        uint16 layerCount,
        uint32 maxWidth,
        string uri
    );
    event GraphModelRegistered(
        uint64 indexed modelId,
        bytes32 indexed root,
        address indexed owner,
        uint32 inputSize,
        uint32 outputSize,
        GraphShape shape,
        string uri
    );
    event ModelRetired(uint64 indexed modelId);
    event ModelOwnershipTransferred(uint64 indexed modelId, address indexed from, address indexed to);

    /// @notice Number of models registered; ids run from 1 to modelCount.
    uint64 public modelCount;
    mapping(uint64 modelId => Model) private _models;

    /// @notice Registers a model; the caller owns the entry.
    /// @param root Model root (Merkle root over the layer descriptors).
    /// @param inputSize Input length in int8 elements, 1..MAX_VECTOR_SIZE.
    /// @param outputSize Output length in int8 elements, 1..MAX_VECTOR_SIZE.
    /// @param layerCount Number of layers, 1..MAX_LAYERS.
    /// @param maxWidth The widest layer input or output (fan-in or fan-out), at least the input and output
    ///        sizes and at most MAX_VECTOR_SIZE: it bounds a dispute's length, so the bonds and collateral
    ///        that cover its gas. Nodes check it against the model's files before serving.
    /// @param uri Where the model files are.
    /// @return modelId The new model's id.
    function registerModel(
        bytes32 root,
        uint32 inputSize,
        uint32 outputSize,
        uint16 layerCount,
        uint32 maxWidth,
        string calldata uri
    ) external returns (uint64 modelId) {
        _checkCommon(root, inputSize, outputSize);
        if (layerCount == 0 || layerCount > MAX_LAYERS) revert ModelRegistryInvalidLayerCount(layerCount, MAX_LAYERS);
        if (maxWidth < inputSize || maxWidth < outputSize || maxWidth > MAX_VECTOR_SIZE) {
            revert ModelRegistryInvalidWidth(maxWidth, inputSize, outputSize, MAX_VECTOR_SIZE);
        }

        modelId = _store(root, inputSize, outputSize, layerCount, maxWidth, uri);
        emit ModelRegistered(modelId, root, msg.sender, inputSize, outputSize, layerCount, maxWidth, uri);
    }

    /// @notice Registers a graph program (docs/graph-semantics.md); the caller owns the entry. Its layer count
    ///         is the trace's last leaf (leafCount − 1), where the market checks the output, and its widest layer
    ///         is zero, which marks a graph model. The shape is the owner's word, like a Dense model's sizes:
    ///         nodes check it against the model's files before serving (a wrong one makes an entry no node
    ///         serves, or bonds that do not cover a game).
    /// @param root Graph model root (the header and every op's leaf).
    /// @param inputSize Input length in int8 elements, 1..MAX_VECTOR_SIZE.
    /// @param outputSize Output length in int8 elements, 1..MAX_VECTOR_SIZE.
    /// @param shape opCount 1..MAX_GRAPH_OPS, leafCount 2..MAX_TRACE_LEAVES, maxTensorLeaves at least the
    ///        input's and the output's leaves (32 int8 a leaf), maxRowChunks at least 1.
    /// @param uri Where the model files are.
    /// @return modelId The new model's id.
    function registerGraphModel(
        bytes32 root,
        uint32 inputSize,
        uint32 outputSize,
        GraphShape calldata shape,
        string calldata uri
    ) external returns (uint64 modelId) {
        _checkCommon(root, inputSize, outputSize);
        _checkShape("opCount", shape.opCount, 1, MAX_GRAPH_OPS);
        _checkShape("leafCount", shape.leafCount, 2, MAX_TRACE_LEAVES);
        uint256 ioLeaves = ((inputSize > outputSize ? inputSize : outputSize) + 31) / 32;
        _checkShape("maxTensorLeaves", shape.maxTensorLeaves, ioLeaves, type(uint32).max);
        _checkShape("maxRowChunks", shape.maxRowChunks, 1, type(uint32).max);
        modelId = _store(root, inputSize, outputSize, uint16(shape.leafCount - 1), 0, uri);
        _models[modelId].graph = shape;
        emit GraphModelRegistered(modelId, root, msg.sender, inputSize, outputSize, shape, uri);
    }

    /// @notice Stops new jobs for a model; jobs already posted are served and disputed as before.
    /// @param modelId The model; the caller must own it.
    function retireModel(uint64 modelId) external {
        _onlyOwner(modelId).retired = true;
        emit ModelRetired(modelId);
    }

    /// @notice Hands a model entry to `newOwner`.
    /// @param modelId The model; the caller must own it.
    /// @param newOwner The new owner, not zero.
    function transferModelOwnership(uint64 modelId, address newOwner) external {
        Model storage model = _onlyOwner(modelId);
        if (newOwner == address(0)) revert ModelRegistryZeroOwner(modelId);
        model.owner = newOwner;
        emit ModelOwnershipTransferred(modelId, msg.sender, newOwner);
    }

    /// @inheritdoc IModelRegistry
    function getModel(uint64 modelId) external view returns (Model memory) {
        return _existing(modelId);
    }

    /// @inheritdoc IModelRegistry
    function modelShape(uint64 modelId)
        external
        view
        returns (uint32 inputSize, uint32 outputSize, uint16 layerCount, bool retired, uint32 maxWidth)
    {
        Model storage model = _existing(modelId);
        return (model.inputSize, model.outputSize, model.layerCount, model.retired, model.maxWidth);
    }

    /// @inheritdoc IModelRegistry
    function graphShape(uint64 modelId) external view returns (GraphShape memory) {
        return _existing(modelId).graph;
    }

    /// @inheritdoc IModelRegistry
    function modelRoot(uint64 modelId) external view returns (bytes32) {
        return _existing(modelId).root;
    }

    /// @dev A registered model always has an owner (transfers to zero are refused), and the owner
    ///      shares a slot with the sizes: one read answers both "does it exist" and "what shape".
    function _existing(uint64 modelId) private view returns (Model storage model) {
        model = _models[modelId];
        if (model.owner == address(0)) revert ModelRegistryUnknownModel(modelId);
    }

    function _checkCommon(bytes32 root, uint32 inputSize, uint32 outputSize) private pure {
        if (root == bytes32(0)) revert ModelRegistryZeroRoot();
        if (inputSize == 0 || outputSize == 0 || inputSize > MAX_VECTOR_SIZE || outputSize > MAX_VECTOR_SIZE) {
            revert ModelRegistryInvalidSize(inputSize, outputSize, MAX_VECTOR_SIZE);
        }
    }

    function _checkShape(string memory what, uint256 value, uint256 min, uint256 max) private pure {
        if (value < min || value > max) revert ModelRegistryInvalidGraphShape(what, value, min, max);
    }

    /// @dev A new entry of the caller's (the graph shape, if any, is written by the caller).
    function _store(
        bytes32 root,
        uint32 inputSize,
        uint32 outputSize,
        uint16 layerCount,
        uint32 maxWidth,
        string calldata uri
    ) private returns (uint64 modelId) {
        modelId = ++modelCount;
        Model storage model = _models[modelId];
        model.root = root;
        model.owner = msg.sender;
        model.inputSize = uint24(inputSize);
        model.outputSize = uint24(outputSize);
        model.layerCount = layerCount;
        model.maxWidth = uint24(maxWidth);
        model.uri = uri;
    }

    function _onlyOwner(uint64 modelId) private view returns (Model storage model) {
        model = _existing(modelId);
        if (model.owner != msg.sender) revert ModelRegistryNotOwner(modelId, msg.sender, model.owner);
    }
}
