import { encodeAbiParameters } from "viem";
import { int8Bytes, toHex } from "./bytes";
import { keccak256 } from "./keccak";
import { MerkleTree, WORD_BYTES, leavesFor, toLeaves } from "./merkle";
import { type DenseLayer, type IntegerModel, OP_DENSE } from "./model";
import type { Trace } from "./referenceExecutor";

/**
 * The commitment layout (docs/commitments.md): how activations, weights, biases and
 * layer descriptors become 32-byte leaves, and which trees are built over them.
 * Everything that hashes model or trace data goes through this module.
 */

/** int8 elements in one leaf. */
export const ELEMENTS_PER_LEAF = WORD_BYTES;
/** int32 biases in one leaf, 4 bytes each, big-endian. */
export const BIASES_PER_LEAF = WORD_BYTES / 4;

/** Activation leaves: element i is byte i % 32 of leaf ⌊i/32⌋; unused bytes are zero. */
export function activationTree(a: Int8Array): MerkleTree {
  return MerkleTree.fromLeaves(toLeaves(int8Bytes(a)));
}

/** Leaves that hold one weight row of `nIn` elements (the fan-in of one output). */
export function rowLeaves(nIn: number): number {
  return leavesFor(nIn);
}

/**
 * Weight leaves: row j (the weights of output j) fills rowLeaves(nIn) leaves of its own,
 * zero-padded, so weight w[j][i] is byte i % 32 of leaf j·rowLeaves(nIn) + ⌊i/32⌋ and a
 * leaf of weights lines up with a leaf of inputs.
 */
export function weightTree(layer: DenseLayer): MerkleTree {
  return rowPaddedTree(layer.weights, layer.nOut, layer.nIn);
}

/** int8 `values` as `rows` rows of `rowLength`, each row in whole leaves of its own (the weight layout). */
export function rowPaddedTree(values: Int8Array, rows: number, rowLength: number): MerkleTree {
  if (rows * rowLength !== values.length) throw new RangeError(`${values.length} values are not ${rows} rows of ${rowLength}`);
  const perRow = rowLeaves(rowLength) * WORD_BYTES;
  const leaves = new Uint8Array(rows * perRow);
  const bytes = int8Bytes(values);
  for (let j = 0; j < rows; j++) leaves.set(bytes.subarray(j * rowLength, (j + 1) * rowLength), j * perRow);
  return MerkleTree.fromLeaves(leaves);
}

/** Bias leaves: bias j is the big-endian int32 at bytes 4·(j % 8) of leaf ⌊j/8⌋. */
export function biasTree(bias: Int32Array): MerkleTree {
  return MerkleTree.fromLeaves(int32Words(bias));
}

/** int32 values 8 a 32-byte word, 4 bytes big-endian each, the last word zero-filled (biases' leaves). */
export function int32Words(values: Int32Array): Uint8Array {
  const bytes = new Uint8Array(leavesFor(values.length * 4) * WORD_BYTES);
  const view = new DataView(bytes.buffer);
  values.forEach((b, j) => view.setInt32(4 * j, b, false));
  return bytes;
}

/** The ABI tuple that a Dense descriptor hashes; the Solidity verifier encodes the same. */
export const DENSE_DESCRIPTOR_ABI = [
  { name: "op", type: "uint256" },
  { name: "nIn", type: "uint256" },
  { name: "nOut", type: "uint256" },
  { name: "multiplier", type: "uint256" },
  { name: "shift", type: "uint256" },
  { name: "clampLo", type: "int256" },
  { name: "clampHi", type: "int256" },
  { name: "weightRoot", type: "bytes32" },
  { name: "biasRoot", type: "bytes32" },
] as const;

export interface LayerCommitment {
  readonly weights: MerkleTree;
  readonly biases: MerkleTree;
  /** keccak256(abi.encode(descriptor)): the layer's leaf in the model tree. */
  readonly descriptorHash: Uint8Array;
}

export interface ModelCommitment {
  readonly layers: readonly LayerCommitment[];
  /** The tree over the descriptor hashes; its root is the model root. */
  readonly tree: MerkleTree;
  readonly root: Uint8Array;
}

export function commitLayer(layer: DenseLayer): LayerCommitment {
  const weights = weightTree(layer);
  const biases = biasTree(layer.bias);
  const encoded = encodeAbiParameters(DENSE_DESCRIPTOR_ABI, [
    BigInt(OP_DENSE),
    BigInt(layer.nIn),
    BigInt(layer.nOut),
    BigInt(layer.multiplier),
    BigInt(layer.shift),
    BigInt(layer.clampLo),
    BigInt(layer.clampHi),
    toHex(weights.root),
    toHex(biases.root),
  ]);
  return { weights, biases, descriptorHash: keccak256(Buffer.from(encoded.slice(2), "hex")) };
}

/** The model root: a tree over the layers' descriptor hashes, layer 1 at leaf 0. */
export function commitModel(model: IntegerModel): ModelCommitment {
  const layers = model.layers.map(commitLayer);
  const leaves = new Uint8Array(layers.length * WORD_BYTES);
  layers.forEach((c, i) => leaves.set(c.descriptorHash, i * WORD_BYTES));
  const tree = MerkleTree.fromLeaves(leaves);
  return { layers, tree, root: tree.root };
}

export interface TraceCommitment {
  /** One tree per activation: index 0 the input, index l the output of layer l. */
  readonly activations: readonly MerkleTree[];
  /** The tree over the activation roots [r_0, …, r_L]; its root is the trace root T. */
  readonly tree: MerkleTree;
  readonly root: Uint8Array;
}

export function commitTrace(trace: Trace): TraceCommitment {
  const activations = trace.map(activationTree);
  const leaves = new Uint8Array(activations.length * WORD_BYTES);
  activations.forEach((t, i) => leaves.set(t.root, i * WORD_BYTES));
  const tree = MerkleTree.fromLeaves(leaves);
  return { activations, tree, root: tree.root };
}
