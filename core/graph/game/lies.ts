import { INT32_MAX, INT32_MIN, INT8_MAX } from "../../intSemantics";
import { MerkleTree, WORD_BYTES } from "../../merkle";
import { PagedTree } from "../../pagedTree";
import { PrefixTree } from "../../prefixTree";
import type { GraphModelCommitment } from "../commitments";
import { type GraphTrace, type TraceTensor, runOp } from "../execute";
import { STAGE_FINISHED_REDUCE, requantWitness, step, stepContext } from "../step";
import { GraphTraceProvider } from "../traceProvider";
import { type GraphGameTrace, gameTraceOf, overrideTrace, tensorTreeOf } from "./gameTrace";
import { leafInfo, programFacts } from "./stepOpenings";

/**
 * Lies about a graph program's run, as runs the planner plays consistently (the liar answers every
 * question from its lie): the graph twin of core/dispute/lies.ts. Used by the game's actor tests
 * and its worst-case measurements; a dishonest asserter commits to such a run, a dishonest
 * challenger disputes an honest run from one.
 */

/** Where a lie is: trace leaf `leaf` (1 … n − 1; n − 1 is the output leaf), element `element`. */
export interface LieSite {
  readonly leaf: number;
  readonly element: number;
  /** The value claimed there; by default a nearby other value of the stage's type. */
  readonly value?: number;
  /**
   * Recompute everything after the lie from it (the lie stays consistent to the output; it may
   * still be masked before it, by a ReLU or a max-pool); otherwise only this one element is wrong.
   */
  readonly propagate?: boolean;
}

/** Another value than `y` of the type of `tensor`: y + 1, or y − 1 at the top of the range. */
export function otherValue(y: number, tensor: TraceTensor): number {
  const max = tensor instanceof Int8Array ? INT8_MAX : INT32_MAX;
  return y < max ? y + 1 : y - 1;
}

/** The run `honest` with a lie at `site` (its trace rebuilt and recommitted). */
export function lyingRun(honest: GraphTraceProvider, site: LieSite): GraphTraceProvider {
  const { program, model } = honest;
  const trace = honest.trace;
  const { shapes } = programFacts(program);
  const tensors = trace.tensors.slice();
  const values = trace.values.slice();
  const last = values.length - 1;
  if (!Number.isSafeInteger(site.leaf) || site.leaf < 1 || site.leaf >= honest.leafCount) throw new RangeError(`leaf ${site.leaf} is not a disputable leaf of 1..${honest.leafCount - 1}`);
  const output = site.leaf === honest.leafCount - 1;
  if (output) {
    const out = Int8Array.from(values[last]);
    out[site.element] = site.value ?? otherValue(out[site.element], out);
    values[last] = out;
    return rebuilt(program, model, { tensors, layout: trace.layout, values });
  }
  const leaf = honest.leaf(site.leaf);
  if (leaf.kind !== "stage") throw new RangeError(`leaf ${site.leaf} is not a stage`);
  const at = trace.layout.indexOf(leaf.entry);
  const lied = leaf.tensor.slice() as TraceTensor;
  lied[site.element] = site.value ?? otherValue(lied[site.element], lied);
  tensors[at] = lied;
  if (!site.propagate) return rebuilt(program, model, { tensors, layout: trace.layout, values });
  // Every later op, from the lied value (every op's one committed stage is its value).
  if (!leaf.entry.final) throw new RangeError(`leaf ${site.leaf} is not its op's value: a propagated lie starts at a value`);
  const v = leaf.entry.value;
  values[v] = lied as Int8Array;
  let position = at + 1;
  for (let u = v + 1; u < values.length; u++) {
    const op = program.ops[u - 1];
    const out = runOp(program, op, op.inputs.map((w) => values[w]), op.inputs.map((w) => shapes[w]), shapes[u]);
    out.forEach((t, s) => (tensors[position + s] = t));
    position += out.length;
    values[u] = out[out.length - 1] as Int8Array;
  }
  return rebuilt(program, model, { tensors, layout: trace.layout, values });
}

function rebuilt(program: GraphTraceProvider["program"], model: GraphModelCommitment, trace: GraphTrace): GraphTraceProvider {
  return GraphTraceProvider.fromTrace(program, trace, model);
}

/**
 * How a liar about a reduce element makes the running folds s_0 … s_R' of its row, whose last must
 * be its claim (the element in its tree):
 * - "jumpLast": the folds recomputed from the (agreed) inputs, the claim only at the end (a finished
 *   reduce: the lie is in its finishing step);
 * - "jumpFirst": the whole difference from s_1 on (a max: the claim from s_1 on);
 * - "spread": the difference spread evenly over the chunks (a max: as jumpFirst);
 * - "outOfRange": s_1 outside the folds' type.
 * A finished reduce's liar aims its folds at a whole fold s_R whose finish is the claim
 * ({@link finishedFrom}), and finishes it honestly; when no fold finishes to the claim (outside the
 * clamp, or between two steps of the requantisation) it lies in the finishing step instead.
 */
export type FoldLie = "jumpLast" | "jumpFirst" | "spread" | "outOfRange";

/** `base` answering folds that end at its claimed elements, made as `how`. */
export function withFolds(base: GraphGameTrace, how: FoldLie): GraphGameTrace {
  return overrideTrace(base, {
    partialFolds(i, o) {
      const honest = base.partialFolds(i, o);
      const claimed = base.element(i, o);
      const info = leafInfo(base.program, base.leafCount, i);
      const finished = info.kind === STAGE_FINISHED_REDUCE;
      const folds = finished ? honest.slice(0, -1) : [...honest]; // s_0 … s_R
      const R = folds.length - 1;
      const target = finished ? (how === "jumpLast" ? null : finishedFrom(base, i, o, claimed)) : claimed;
      if (target === null || folds[R] === target) return finished ? [...folds, claimed] : folds;
      const isMax = info.foldBits === 8;
      const delta = target - folds[R];
      const lied = folds.map((s, k) => {
        if (k === 0) return s;
        if (k === R) return target;
        switch (how) {
          case "jumpLast":
            return s;
          case "jumpFirst":
            return isMax ? target : s + delta;
          case "spread":
            return isMax ? target : s + Math.round((delta * k) / R);
          case "outOfRange":
            return k === 1 ? (isMax ? 128 : 2 ** 31) : s;
        }
      });
      return finished ? [...lied, claimed] : lied;
    },
  });
}

/**
 * The least whole fold that finished reduce leaf i's element o finishes to `claimed`, or null
 * if none does. The finish (a clamped requantisation with a multiplier ≥ 0) does not decrease, so the least such
 * fold is found by bisection over int32.
 */
export function finishedFrom(trace: GraphGameTrace, i: number, o: number, claimed: number): number | null {
  const { program } = trace;
  const { shapes } = programFacts(program);
  const info = leafInfo(program, trace.leafCount, i);
  const ctx = stepContext(program, shapes, info.opValue, info.stage, o, trace.model.constants);
  const witness = requantWitness(ctx.op, o, ctx.elements);
  const finish = (s: number) => step(ctx, [s], witness);
  let lo = INT32_MIN;
  let hi = INT32_MAX;
  if (finish(hi) < claimed) return null;
  while (lo < hi) {
    const mid = Math.floor((lo + hi) / 2);
    if (finish(mid) < claimed) lo = mid + 1;
    else hi = mid;
  }
  return finish(lo) === claimed ? lo : null;
}

/**
 * The honest run with a non-zero padding element in leaf i's tensor tree: element `position` (at or
 * past the tensor's size, inside its tree) holds `value`; the tree, the prefix roots and the trace
 * root recomputed. The challenger names that element, and the asserter loses at once.
 */
export function withPadding(honest: GraphTraceProvider, i: number, position: number, value = 1): GraphGameTrace {
  const base = gameTraceOf(honest);
  const { bits, elements } = leafInfo(honest.program, honest.leafCount, i);
  const perLeaf = bits === 8 ? 32 : 8;
  const honestTree = tensorTreeOf(honest, i);
  const capacity = perLeaf * 2 ** honestTree.depth;
  if (!(position >= elements && position < capacity)) throw new RangeError(`element ${position} is not padding of leaf ${i} (${elements} elements in a tree of ${capacity})`);
  const leafCount = Math.max(honestTree.leafCount, Math.floor(position / perLeaf) + 1);
  const bytes = new Uint8Array(leafCount * WORD_BYTES);
  for (let k = 0; k < honestTree.leafCount; k++) bytes.set(honestTree.leaf(k), k * WORD_BYTES);
  // int8: byte position; int32: the element's lowest byte (big-endian), so the element reads `value & 0xff`.
  bytes[bits === 8 ? position : 4 * position + 3] = value & 0xff;
  const tree = honestTree instanceof PagedTree ? PagedTree.fromLeaves(bytes) : MerkleTree.fromLeaves(bytes);
  if (tree.depth !== honestTree.depth) throw new RangeError(`element ${position} would deepen leaf ${i}'s tree`);
  const prefix = new PrefixTree(Array.from({ length: honest.leafCount }, (_, k) => (k === i ? tree.root : honest.extension(k).value)));
  return overrideTrace(base, {
    traceRoot: prefix.root(honest.leafCount - 1),
    prefixRoot: (k) => prefix.root(k),
    extension: (k) => ({ value: prefix.word(k), index: k, proof: prefix.extensionProof(k) }),
    rootUnder: (j, k) => ({ value: prefix.word(j), index: j, proof: prefix.openingProof(j, k) }),
    tensorNode: (k, height, index) => (k === i ? tree.node(height, index) : base.tensorNode(k, height, index)),
    tensorLeaf: (k, leaf) => (k === i ? { value: tree.leaf(leaf), index: leaf, proof: tree.proof(leaf) } : base.tensorLeaf(k, leaf)),
  });
}

/** A run's answers with a lie at `site` and folds made as `how`. */
export function liar(honest: GraphTraceProvider, site: LieSite, how: FoldLie = "jumpLast"): GraphGameTrace {
  return withFolds(gameTraceOf(lyingRun(honest, site)), how);
}
