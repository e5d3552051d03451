import type { DisputeTrace } from "./planner";
import { type Requantisation, output } from "../denseStep";
import { WORD_BYTES, MerkleTree } from "../merkle";
import type { IntegerModel } from "../model";
import { type Trace, runReference } from "../referenceExecutor";
import type { TraceProvider } from "../traceProvider";

/**
 * Lies a dishonest node tells, as traces and trace wrappers the dispute kit's planner plays
 * consistently: the node answers every question from its lie. Used by the actor tests, the
 * benchmarks' worst-case disputes and the node's explicit cheat modes (demos and tests only).
 */

/** The smallest int32 accumulator whose output is `y` (output is non-decreasing in acc). */
export function accFor(y: number, d: Requantisation): number {
  let lo = -(2 ** 31);
  let hi = 2 ** 31 - 1;
  while (lo < hi) {
    const mid = Math.floor((lo + hi) / 2);
    if (output(mid, d) >= y) hi = mid;
    else lo = mid + 1;
  }
  if (output(lo, d) !== y) throw new Error(`no accumulator gives ${y}`);
  return lo;
}

/** Another int8 value than `y` that the layer can output (inside its clamp range). */
export function otherValue(y: number, d: Requantisation): number {
  return y < d.clampHi ? y + 1 : y - 1;
}

/**
 * The honest trace with element j of activation l changed (to `value`, by default the nearest other
 * value); with `downstream` the later layers are recomputed from the lie (the lie stays consistent to
 * the output), else they stay honest.
 */
export function lieAt(model: IntegerModel, honest: Trace, l: number, j: number, downstream: boolean, value?: number): Trace {
  const trace: Trace = honest.map((a) => Int8Array.from(a));
  trace[l][j] = value ?? otherValue(trace[l][j], model.layers[l - 1]);
  if (downstream && l < model.layers.length) {
    const rest = runReference({ inputSize: trace[l].length, layers: model.layers.slice(l) }, trace[l]);
    for (let k = 1; k < rest.length; k++) trace[l + k] = rest[k];
  }
  return trace;
}

/** How a node lying about y_j makes its partial sums s_0 … s_R (s_0 is forced to the bias). */
export type SumLie =
  /** the honest sums: acc_j does not give y_j, so the stated accumulator loses at once */
  | "honest"
  /** honest up to s_{R−1}, then s_R = an accumulator that gives y_j */
  | "jumpLast"
  /** the whole difference added from s_1 on */
  | "jumpFirst"
  /** the difference spread evenly over the chunks */
  | "spread"
  /** s_1 outside int32 */
  | "outOfRange";

/** `base` (the node's lie) answering partial sums consistent with its claimed elements as `how`. */
export function withSums(base: TraceProvider, how: SumLie): DisputeTrace {
  return override(base, {
    partialSums(l, j) {
      const sums = [...base.partialSums(l, j)];
      const d = base.descriptor(l).descriptor;
      const R = sums.length - 1;
      const claimed = base.element(l, j);
      if (how === "honest" || output(sums[R], d) === claimed) return sums;
      const delta = accFor(claimed, d) - sums[R];
      if (how === "outOfRange") return sums.map((s, k) => (k === 1 ? 2 ** 31 : k === R ? s + delta : s));
      return sums.map((s, k) => {
        if (k === 0) return s;
        if (how === "jumpLast") return k === R ? s + delta : s;
        if (how === "jumpFirst") return s + delta;
        return s + Math.round((delta * k) / R);
      });
    },
  });
}

/**
 * The honest trace with a non-zero byte at padding position `t` of the last leaf of activation l
 * (n_l must not be a multiple of 32): activation tree, root r_l and trace root recomputed.
 */
export function withPadding(base: TraceProvider, l: number, value: number): DisputeTrace {
  const n = base.trace[l].length;
  if (n % WORD_BYTES === 0) throw new Error(`activation ${l} has no padding`);
  const honestTree = base.commitment.activations[l];
  const leafCount = Math.ceil(n / WORD_BYTES);
  const leaves = new Uint8Array(leafCount * WORD_BYTES);
  for (let k = 0; k < leafCount; k++) leaves.set(honestTree.leaf(k), k * WORD_BYTES);
  leaves[n] = value & 0xff;
  const tree = MerkleTree.fromLeaves(leaves);
  const roots = new Uint8Array((base.layerCount + 1) * WORD_BYTES);
  for (let p = 0; p <= base.layerCount; p++) roots.set(p === l ? tree.root : base.activationRoot(p).value, p * WORD_BYTES);
  const traceTree = MerkleTree.fromLeaves(roots);
  return override(base, {
    traceRoot: traceTree.root,
    activationRoot: (p) => ({ value: traceTree.leaf(p), index: p, proof: traceTree.proof(p) }),
    activationNode: (p, h, i) => (p === l ? tree.node(h, i) : base.activationNode(p, h, i)),
  });
}

/** `base` with some of its answers replaced. */
export function override(base: DisputeTrace, o: Partial<DisputeTrace>): DisputeTrace {
  return {
    layerCount: base.layerCount,
    traceRoot: o.traceRoot ?? base.traceRoot,
    activationRoot: o.activationRoot ?? ((l) => base.activationRoot(l)),
    activationNode: o.activationNode ?? ((l, h, i) => base.activationNode(l, h, i)),
    descriptor: o.descriptor ?? ((l) => base.descriptor(l)),
    bias: o.bias ?? ((l, j) => base.bias(l, j)),
    partialSums: o.partialSums ?? ((l, j) => base.partialSums(l, j)),
    step: o.step ?? ((l, j, k) => base.step(l, j, k)),
  };
}

/**
 * A single-element lie in layer l that reaches the output: the first element j (from `order`) whose
 * change to the farthest value survives the later layers (saturated layers absorb small changes).
 * The watcher disputes wrong outputs, so only such a lie starts a game. Undefined when none does.
 */
export function propagatingLie(model: IntegerModel, honest: Trace, l: number, order?: readonly number[]): { j: number; value: number; trace: Trace } | undefined {
  const { clampLo, clampHi } = model.layers[l - 1];
  const out = honest[honest.length - 1];
  for (const j of order ?? honest[l].keys()) {
    const value = honest[l][j] - clampLo > clampHi - honest[l][j] ? clampLo : clampHi;
    const trace = lieAt(model, honest, l, j, true, value);
    if (trace[trace.length - 1].some((y, i) => y !== out[i])) return { j, value, trace };
  }
  return undefined;
}
