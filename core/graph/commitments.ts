import { int8Bytes } from "../bytes";
import { activationTree, biasTree, int32Words, rowPaddedTree } from "../commitments";
import { keccak256 } from "../keccak";
import { MerkleTree, WORD_BYTES, toLeaves } from "../merkle";
import { PagedTree } from "../pagedTree";
import { PrefixTree } from "../prefixTree";
import { encodeDescriptor } from "./descriptor";
import type { GraphTrace, TraceTensor } from "./execute";
import type { Constant, GraphProgram, Op, Shape } from "./program";
import { type TraceEntry, opStages } from "./stages";
import { validateProgram } from "./validate";

/**
 * The commitments of a graph program and of its runs (docs/graph-semantics.md §10, on top of
 * docs/commitments.md): how tensors become leaves, the model root that binds every op and constant,
 * and the trace root, a prefix commitment over the roots of the committed stages.
 */

/** The version word of the program header: a model root of another layout can never equal one of this. */
export const GRAPH_COMMITMENT_VERSION = 1n;

/** A tree of a trace: binary (core/merkle.ts) or paged (core/pagedTree.ts). */
export type TensorTree = MerkleTree | PagedTree;

/**
 * A committed tensor's tree. Its words hold int8 elements 32 a word (as activations), int32 elements 8
 * a word, 4 bytes big-endian each (as biases). The input's tree is binary: it is the job's input root,
 * which the market computes from the input's bytes. A value's tree is paged (core/pagedTree.ts: a
 * quarter of the hashing, docs/graph-semantics.md §9).
 */
export function tensorTree(t: TraceTensor, paged: boolean): TensorTree {
  if (!paged) return t instanceof Int8Array ? activationTree(t) : biasTree(t);
  return PagedTree.fromLeaves(t instanceof Int8Array ? toLeaves(int8Bytes(t)) : int32Words(t));
}

/**
 * A constant's tree. int8 constants are rows over their first dimension (a weight tensor's output
 * channel; a 1-D constant such as a table is one row), each row in whole leaves of its own, so a
 * chunk of 32 terms of a reduction row reads one leaf of weights; int32 constants as biases.
 */
export function constantTree(c: Constant): MerkleTree {
  if (c.dtype === "int32") return biasTree(c.data);
  const rows = c.shape.length > 1 ? c.shape[0] : 1;
  return rowPaddedTree(c.data, rows, c.data.length / rows);
}

/**
 * A Dense or Conv op's per-channel requantisation as a constant derived from the op (docs/graph-semantics.md
 * §7, §10): an int32 [L, 2] of (multiplier, shift) for each output channel c, committed as int32 constants
 * are (8 values a leaf: channels 4q … 4q + 3 in leaf q), so that a step opens the one pair it needs. None for
 * one pair for the whole tensor, which the descriptor holds itself, nor for any other op.
 */
export function requantConstant(op: Op): Constant | undefined {
  if ((op.kind !== "dense" && op.kind !== "conv") || op.multiplier.length <= 1) return undefined;
  const channels = op.multiplier.length;
  if (op.shift.length !== channels) throw new RangeError(`${op.kind}: ${channels} multipliers but ${op.shift.length} shifts`);
  const data = new Int32Array(2 * channels);
  for (let c = 0; c < channels; c++) {
    const [m, s] = [op.multiplier[c], op.shift[c]];
    if (!Number.isSafeInteger(m) || !Number.isSafeInteger(s) || (m | 0) !== m || (s | 0) !== s) throw new RangeError(`${op.kind}: channel ${c}'s multiplier ${m} and shift ${s} must be int32`);
    data[2 * c] = m;
    data[2 * c + 1] = s;
  }
  return { dtype: "int32", shape: [channels, 2], data };
}

const REQUANT_TREES = new WeakMap<Op, MerkleTree | null>();

/** The tree of the op's {@link requantConstant} (cached per op object), or undefined when it has none. */
export function requantTree(op: Op): MerkleTree | undefined {
  let tree = REQUANT_TREES.get(op);
  if (tree === undefined) {
    const c = requantConstant(op);
    tree = c ? constantTree(c) : null;
    REQUANT_TREES.set(op, tree);
  }
  return tree ?? undefined;
}

/**
 * The roots of the constants an op reads, in the order its model leaf holds them: those its descriptor
 * names ({@link constantsOf}), then its derived {@link requantConstant}'s. `constantTrees` by constant id.
 */
export function constantRootsOf(program: GraphProgram, op: Op, constantTrees?: readonly MerkleTree[]): Uint8Array[] {
  const roots = constantsOf(op).map((c) => (constantTrees ? constantTrees[c] : constantTree(program.constants[c])).root);
  const requant = requantTree(op);
  return requant ? [...roots, requant.root] : roots;
}

/** The constants an op reads, in the order its descriptor names them. */
export function constantsOf(op: Op): number[] {
  switch (op.kind) {
    case "dense":
    case "conv":
      return [op.weight, op.bias];
    case "table":
      return [op.table];
    default:
      return [];
  }
}

export interface GraphModelCommitment {
  /** One tree per constant, by constant id. */
  readonly constants: readonly MerkleTree[];
  /** Leaf 0: the header (version, input shape); leaf k: op k's hash (op k makes value k). */
  readonly leaves: readonly Uint8Array[];
  readonly tree: MerkleTree;
  /** The model root. */
  readonly root: Uint8Array;
}

/** What op k's model leaf hashes, field by field. */
export interface OpLeaf {
  readonly op: Op;
  /** The roots of the constants it reads, in the order its descriptor names them, then its derived requantisation constant's (constantRootsOf). */
  readonly constantRoots: readonly Uint8Array[];
  /** The shapes of its inputs, of its value, then of its constants in the order of constantRoots (a Conv's kernel size is only there). */
  readonly shapes: readonly Shape[];
  /** The trace leaf of its first committed stage (a layout op has none: the next op's). */
  readonly firstLeaf: number;
}

/** The fields of every op's model leaf, in op order. */
export function opLeaves(program: GraphProgram, constants: readonly MerkleTree[] = program.constants.map(constantTree)): OpLeaf[] {
  const shapes = validateProgram(program);
  let firstLeaf = 1; // leaf 0 of a trace is the input
  return program.ops.map((op, k) => {
    const ids = constantsOf(op);
    const requant = requantConstant(op);
    const constantShapes = [...ids.map((c) => program.constants[c].shape), ...(requant ? [requant.shape] : [])];
    const leaf = { op, constantRoots: constantRootsOf(program, op, constants), shapes: [...op.inputs.map((v) => shapes[v]), shapes[k + 1], ...constantShapes], firstLeaf };
    firstLeaf += opStages(op, shapes[k + 1]).filter((stage) => stage.committed).length;
    return leaf;
  });
}

/** Shapes as words: for each, its rank and then its dimensions. */
function shapeWords(shapes: readonly Shape[]): Uint8Array {
  return wordBytes(shapes.flatMap((s) => [BigInt(s.length), ...s.map(BigInt)]));
}

/** keccak256 of 32-byte big-endian two's-complement words. */
function hashWords(words: readonly bigint[]): Uint8Array {
  return keccak256(wordBytes(words));
}

/** 32-byte big-endian two's-complement words. */
function wordBytes(words: readonly bigint[]): Uint8Array {
  const bytes = new Uint8Array(words.length * WORD_BYTES);
  words.forEach((w, k) => {
    let v = BigInt.asUintN(256, w);
    for (let i = WORD_BYTES - 1; i >= 0; i--, v >>= 8n) bytes[k * WORD_BYTES + i] = Number(v & 0xffn);
  });
  return bytes;
}

/**
 * The model root: a tree over the header `keccak256(version, rank, dims…)` and, for each op in
 * order, `keccak256(descriptor ‖ the roots of the constants it reads (a per-channel Dense or Conv: and of its
 * derived requantisation constant) ‖ the shapes of its inputs, of
 * its value and of its constants ‖ the trace leaf of its first committed stage)`. Every field of every op, every
 * constant byte and every shape are bound by it. The shapes and the first leaf follow from the
 * program (validation derives them); they are in each op's leaf so that the game can tell which op
 * and stage a trace leaf is, and a step's index maps need no walk over the graph.
 */
export function commitGraphModel(program: GraphProgram): GraphModelCommitment {
  const constants = program.constants.map(constantTree);
  const header = hashWords([GRAPH_COMMITMENT_VERSION, BigInt(program.inputShape.length), ...program.inputShape.map(BigInt)]);
  const opHashes = opLeaves(program, constants).map((leaf) => keccak256(Buffer.concat([encodeDescriptor(leaf.op), ...leaf.constantRoots, shapeWords(leaf.shapes), wordBytes([BigInt(leaf.firstLeaf)])])));
  const leaves = [header, ...opHashes];
  const tree = MerkleTree.fromLeaves(Buffer.concat(leaves));
  return { constants, leaves, tree, root: tree.root };
}

export interface GraphTraceCommitment {
  /** The committed tensors in trace order (views left out): what each is, and its tree (the input's binary, a value's paged). */
  readonly committed: readonly { readonly entry: TraceEntry; readonly tree: TensorTree }[];
  /** The output value's tree (the program's last value, a view's too). */
  readonly output: MerkleTree;
  /**
   * The prefix tree over the roots: leaf 0 the input, then every committed stage in trace order,
   * then the output value again, so that the output root is always the last leaf whatever the
   * last op is (a layout op's value is otherwise not committed).
   */
  readonly prefix: PrefixTree;
  /** The trace root: the last prefix root. */
  readonly root: Uint8Array;
}

/** The trace commitment of one run. */
export function commitGraphTrace(trace: GraphTrace): GraphTraceCommitment {
  const committed = trace.layout.flatMap((entry, i) => (entry.stage.committed ? [{ entry, tree: tensorTree(trace.tensors[i], entry.value > 0) }] : []));
  const output = activationTree(trace.values[trace.values.length - 1]);
  const prefix = new PrefixTree([...committed.map((c) => c.tree.root), output.root]);
  return { committed, output, prefix, root: prefix.root(prefix.length - 1) };
}
