import { BIASES_PER_LEAF, ELEMENTS_PER_LEAF, type LayerCommitment } from "./commitments";
import { INT8_MAX, INT8_MIN, INT32_MAX, INT32_MIN, MULTIPLIER_MAX, SHIFT_MAX, SHIFT_MIN, clamp, requantise } from "./intSemantics";
import { type MerkleTree, WORD_BYTES, treeDepth, verifyProof } from "./merkle";
import type { DenseLayer } from "./model";

/**
 * The one-step verifier of a Dense layer (docs/integer-semantics.md §7) in TypeScript: the twin
 * of contracts/lib/LibDenseStep.sol, function for function, and the witness builder that the
 * dispute kit uses to answer a step. test/core/denseStep.differential.test.ts keeps the two
 * together bit for bit.
 *
 * For output j of a layer with fan-in nIn and R = chunkCount(nIn) chunks of 32 elements:
 *   s_0 = bias_j,  s_{k+1} = s_k + Σ_{t < validInChunk(nIn, k)} W[j][32k+t] · x[32k+t],  s_R = acc_j.
 * Where the Solidity library reverts, these functions throw a RangeError.
 */

/** The fields of a Dense descriptor, as LibDenseStep.DenseDescriptor (the order it is hashed in). */
export interface DenseDescriptor {
  readonly nIn: number;
  readonly nOut: number;
  readonly multiplier: number;
  readonly shift: number;
  readonly clampLo: number;
  readonly clampHi: number;
  readonly weightRoot: Uint8Array;
  readonly biasRoot: Uint8Array;
}

/** What the output step reads from a layer or descriptor. */
export type Requantisation = Pick<DenseLayer, "multiplier" | "shift" | "clampLo" | "clampHi">;

/** The descriptor of `layer` with the roots of its `commitment` (core/commitments.ts commitLayer). */
export function denseDescriptor(layer: DenseLayer, commitment: LayerCommitment): DenseDescriptor {
  const { nIn, nOut, multiplier, shift, clampLo, clampHi } = layer;
  return { nIn, nOut, multiplier, shift, clampLo, clampHi, weightRoot: commitment.weights.root, biasRoot: commitment.biases.root };
}

function checkLeaf(leaf: Uint8Array, what: string): void {
  if (leaf.length !== WORD_BYTES) throw new RangeError(`${what} must be ${WORD_BYTES} bytes, got ${leaf.length}`);
}

function checkIndex(n: number, what: string): void {
  if (!Number.isSafeInteger(n) || n < 0) throw new RangeError(`${what} must be a non-negative safe integer, got ${n}`);
}

/** Element `t` (0 … 31) of an activation or weight leaf: byte t as an int8. */
export function elementAt(leaf: Uint8Array, t: number): number {
  checkLeaf(leaf, "a leaf");
  if (!Number.isInteger(t) || t < 0 || t >= ELEMENTS_PER_LEAF) throw new RangeError(`element ${t} outside 0..31`);
  return (leaf[t] << 24) >> 24;
}

/** ceil(nIn / 32): R, the leaves of one weight row (0 for nIn = 0, where a tree still has one leaf). */
export function chunkCount(nIn: number): number {
  checkIndex(nIn, "a length");
  return Math.ceil(nIn / ELEMENTS_PER_LEAF);
}

/** min(32, nIn − 32k), the elements of chunk `k` inside the vector; throws for k ≥ chunkCount(nIn). */
export function validInChunk(nIn: number, k: number): number {
  checkIndex(k, "a chunk");
  if (k >= chunkCount(nIn)) throw new RangeError(`chunk ${k} does not exist for a fan-in of ${nIn}`);
  return Math.min(ELEMENTS_PER_LEAF, nIn - ELEMENTS_PER_LEAF * k);
}

/** True when `v` is an integer in int32. */
export function isInt32(v: number | bigint): boolean {
  if (typeof v === "bigint") return v >= BigInt(INT32_MIN) && v <= BigInt(INT32_MAX);
  return Number.isInteger(v) && v >= INT32_MIN && v <= INT32_MAX;
}

/**
 * One accumulation step: partialSum + Σ_{t < valid} elementAt(weightLeaf, t) · elementAt(inputLeaf, t).
 * Bytes at positions ≥ valid never count. Throws unless partialSum is int32 and 0 ≤ valid ≤ 32.
 */
export function accumulate(partialSum: number, weightLeaf: Uint8Array, inputLeaf: Uint8Array, valid: number): number {
  checkLeaf(weightLeaf, "a weight leaf");
  checkLeaf(inputLeaf, "an input leaf");
  if (!Number.isInteger(valid) || valid < 0 || valid > ELEMENTS_PER_LEAF) throw new RangeError(`valid ${valid} outside 0..32`);
  if (!isInt32(partialSum)) throw new RangeError(`partial sum ${partialSum} outside int32`);
  let sum = partialSum;
  for (let t = 0; t < valid; t++) sum += ((weightLeaf[t] << 24) >> 24) * ((inputLeaf[t] << 24) >> 24);
  return sum;
}

/** Bias j: the big-endian int32 at bytes 4·(j mod 8) … +4 of its bias leaf ⌊j/8⌋. */
export function biasAt(biasLeaf: Uint8Array, j: number): number {
  checkLeaf(biasLeaf, "a bias leaf");
  checkIndex(j, "an output");
  return new DataView(biasLeaf.buffer, biasLeaf.byteOffset, WORD_BYTES).getInt32(4 * (j % BIASES_PER_LEAF), false);
}

/**
 * core/intSemantics requantise, with the ranges the Solidity verifier enforces: throws unless acc
 * is int32, 0 ≤ multiplier ≤ 2^31 − 1 and 1 ≤ shift ≤ 62.
 */
export function requantiseChecked(acc: number, multiplier: number, shift: number): bigint {
  if (!isInt32(acc)) throw new RangeError(`accumulator ${acc} outside int32`);
  if (!Number.isInteger(multiplier) || multiplier < 0 || multiplier > MULTIPLIER_MAX) throw new RangeError(`multiplier ${multiplier} outside 0..${MULTIPLIER_MAX}`);
  if (!Number.isInteger(shift) || shift < SHIFT_MIN || shift > SHIFT_MAX) throw new RangeError(`shift ${shift} outside ${SHIFT_MIN}..${SHIFT_MAX}`);
  return requantise(acc, multiplier, shift);
}

/**
 * The output step: clamp(requantise(acc, m, s), lo, hi) through core/intSemantics. Throws where
 * LibDenseStep.output reverts (see {@link requantiseChecked}; clamp bounds not lo ≤ hi in int8).
 */
export function output(acc: number, d: Requantisation): number {
  const { clampLo: lo, clampHi: hi } = d;
  if (!Number.isInteger(lo) || !Number.isInteger(hi) || lo < INT8_MIN || hi > INT8_MAX || lo > hi) {
    throw new RangeError(`clamp [${lo}, ${hi}] is not a range inside [${INT8_MIN}, ${INT8_MAX}]`);
  }
  return clamp(requantiseChecked(acc, d.multiplier, d.shift), lo, hi);
}

/** Index of weight leaf k of row j: j·R + k; throws for k ≥ R (that would be a leaf of another row). */
export function weightLeafIndex(nIn: number, j: number, k: number): number {
  checkIndex(j, "an output");
  checkIndex(k, "a chunk");
  const r = chunkCount(nIn);
  if (k >= r) throw new RangeError(`chunk ${k} does not exist for a fan-in of ${nIn}`);
  const index = j * r + k;
  if (!Number.isSafeInteger(index)) throw new RangeError(`weight leaf index of row ${j}, chunk ${k} is not a safe integer`);
  return index;
}

/** Index of the bias leaf that holds bias j: ⌊j/8⌋. */
export function biasLeafIndex(j: number): number {
  checkIndex(j, "an output");
  return Math.floor(j / BIASES_PER_LEAF);
}

/** Leaves of an activation vector of `size` elements: max(1, ceil(size/32)), as core/merkle leavesFor. */
export function activationLeafCount(size: number): number {
  return Math.max(1, chunkCount(size));
}

const safeIndex = (n: number): boolean => Number.isSafeInteger(n) && n >= 0;

/** Whether `proof` opens `leaf` as weight leaf k of row j of `d` (false unless j < nOut, k < R). */
export function verifyWeightLeaf(d: DenseDescriptor, j: number, k: number, leaf: Uint8Array, proof: readonly Uint8Array[]): boolean {
  const r = chunkCount(d.nIn);
  if (!safeIndex(j) || !safeIndex(k) || j >= d.nOut || k >= r) return false;
  return verifyProof(d.weightRoot, leaf, j * r + k, proof, treeDepth(d.nOut * r));
}

/** Whether `proof` opens `leaf` as the bias leaf ⌊j/8⌋ of `d` (false unless j < nOut). */
export function verifyBiasLeaf(d: DenseDescriptor, j: number, leaf: Uint8Array, proof: readonly Uint8Array[]): boolean {
  if (!safeIndex(j) || j >= d.nOut) return false;
  return verifyProof(d.biasRoot, leaf, biasLeafIndex(j), proof, treeDepth(Math.ceil(d.nOut / BIASES_PER_LEAF)));
}

/** Whether `proof` opens `leaf` as leaf k of an activation of `size` elements with root `root`. */
export function verifyActivationLeaf(root: Uint8Array, size: number, k: number, leaf: Uint8Array, proof: readonly Uint8Array[]): boolean {
  const leaves = activationLeafCount(size);
  if (!safeIndex(k) || k >= leaves) return false;
  return verifyProof(root, leaf, k, proof, treeDepth(leaves));
}

/** The padding step: every byte of activation leaf k at an element position 32k + t ≥ size is zero. */
export function paddingIsZero(leaf: Uint8Array, size: number, k: number): boolean {
  checkLeaf(leaf, "an activation leaf");
  checkIndex(size, "a length");
  checkIndex(k, "a leaf index");
  const valid = Math.max(0, Math.min(ELEMENTS_PER_LEAF, size - ELEMENTS_PER_LEAF * k));
  for (let t = valid; t < ELEMENTS_PER_LEAF; t++) if (leaf[t] !== 0) return false;
  return true;
}

/**
 * The partial sums of output j, straight from the layer's arrays (not through the leaves):
 * [s_0 = bias_j, s_1, …, s_R = acc_j], R = chunkCount(nIn).
 */
export function partialSums(layer: DenseLayer, x: Int8Array, j: number): number[] {
  if (x.length !== layer.nIn) throw new RangeError(`input has ${x.length} elements, the layer expects ${layer.nIn}`);
  if (!Number.isInteger(j) || j < 0 || j >= layer.nOut) throw new RangeError(`output ${j} outside 0..${layer.nOut - 1}`);
  const sums = [layer.bias[j]];
  const row = j * layer.nIn;
  let s = layer.bias[j];
  for (let k = 0; k < chunkCount(layer.nIn); k++) {
    const end = Math.min(layer.nIn, ELEMENTS_PER_LEAF * (k + 1));
    for (let i = ELEMENTS_PER_LEAF * k; i < end; i++) s += layer.weights[row + i] * x[i];
    sums.push(s);
  }
  return sums;
}

/** The int8 vector of `size` elements held by an activation tree's leaves (the padding is ignored). */
export function activationFromTree(tree: MerkleTree, size: number): Int8Array {
  if (tree.leafCount !== activationLeafCount(size)) throw new RangeError(`an activation of ${size} elements has ${activationLeafCount(size)} leaves, the tree ${tree.leafCount}`);
  const x = new Int8Array(size);
  for (let k = 0; k < chunkCount(size); k++) {
    const leaf = tree.leaf(k);
    for (let t = 0; t < validInChunk(size, k); t++) x[ELEMENTS_PER_LEAF * k + t] = (leaf[t] << 24) >> 24;
  }
  return x;
}

/** Everything the accumulation step k of output j needs (docs/integer-semantics.md §7). */
export interface StepWitness {
  readonly j: number;
  readonly k: number;
  /** validInChunk(nIn, k). */
  readonly valid: number;
  /** weightLeafIndex(nIn, j, k) = j·R + k. */
  readonly weightIndex: number;
  readonly weightLeaf: Uint8Array;
  readonly weightProof: Uint8Array[];
  /** Input activation leaf k. */
  readonly inputLeaf: Uint8Array;
  readonly inputProof: Uint8Array[];
  /** s_k. */
  readonly before: number;
  /** s_{k+1} = accumulate(s_k, weightLeaf, inputLeaf, valid). */
  readonly after: number;
}

/**
 * The witness of accumulation step k of output j: the weight leaf j·R + k and its proof against the
 * layer's weight root, input leaf k and its proof against `xTree` (the tree of the layer's input
 * activation), and the honest s_k, s_{k+1}. Throws when the trees do not fit the layer's shape or
 * the commitment's weights are not the layer's.
 */
export function stepWitness(layer: DenseLayer, commitment: LayerCommitment, xTree: MerkleTree, j: number, k: number): StepWitness {
  const r = chunkCount(layer.nIn);
  if (commitment.weights.leafCount !== layer.nOut * r) throw new RangeError(`the weight tree has ${commitment.weights.leafCount} leaves, the layer ${layer.nOut * r}`);
  const valid = validInChunk(layer.nIn, k);
  const weightIndex = weightLeafIndex(layer.nIn, j, k);
  const sums = partialSums(layer, activationFromTree(xTree, layer.nIn), j);
  const witness: StepWitness = {
    j,
    k,
    valid,
    weightIndex,
    weightLeaf: commitment.weights.leaf(weightIndex),
    weightProof: commitment.weights.proof(weightIndex),
    inputLeaf: xTree.leaf(k),
    inputProof: xTree.proof(k),
    before: sums[k],
    after: sums[k + 1],
  };
  if (accumulate(witness.before, witness.weightLeaf, witness.inputLeaf, valid) !== witness.after) {
    throw new RangeError(`the commitment's weight leaf ${weightIndex} does not hold the layer's row ${j}, chunk ${k}`);
  }
  return witness;
}

/** The bias leaf ⌊j/8⌋ of output j and its proof against the layer's bias root. */
export function biasWitness(commitment: LayerCommitment, j: number): { readonly leaf: Uint8Array; readonly proof: Uint8Array[]; readonly bias: number } {
  const index = biasLeafIndex(j);
  const leaf = commitment.biases.leaf(index);
  return { leaf, proof: commitment.biases.proof(index), bias: biasAt(leaf, j) };
}
