import type { Opening } from "../../traceProvider";
import type { GraphModelCommitment, TensorTree } from "../commitments";
import type { GraphTrace } from "../execute";
import type { GraphProgram } from "../program";
import type { GraphTraceProvider } from "../traceProvider";

/**
 * What one side of a graph dispute reads of its own run: a {@link GraphTraceProvider}'s answers,
 * plus the inner nodes of a leaf's tensor tree that the descent reveals. A side that lies answers
 * from a lying run (core/graph/game/lies.ts), with some answers replaced ({@link overrideTrace}).
 */
export interface GraphGameTrace {
  readonly program: GraphProgram;
  readonly model: GraphModelCommitment;
  /** The run the answers come from (the operands of a step are read from it). */
  readonly trace: GraphTrace;
  /** n, the leaves of the prefix tree. */
  readonly leafCount: number;
  /** T = P_{n−1}. */
  readonly traceRoot: Uint8Array;
  /** Leaf 0: the input's root. */
  readonly inputRoot: Uint8Array;
  /** P_i. */
  prefixRoot(i: number): Uint8Array;
  /** v_i and the siblings that show P_i extending P_{i−1} by it. */
  extension(i: number): Opening;
  /** v_j opened under P_i (j ≤ i). */
  rootUnder(j: number, i: number): Opening;
  /** The node at `height` and `index` of leaf i's tensor tree (height 0: its words; a paged tree has none at heights 1 and 2). */
  tensorNode(i: number, height: number, index: number): Uint8Array;
  /** Leaf k of leaf i's tensor tree with its proof. */
  tensorLeaf(i: number, k: number): Opening;
  /** Element e of leaf i's tensor (the output leaf: of the output value). */
  element(i: number, e: number): number;
  /** The running fold of row o of reduce leaf i at every chunk boundary, s_0 … s_R'. */
  partialFolds(i: number, o: number): readonly number[];
  /** The trace leaf of (value, stage). */
  leafOf(value: number, stage?: string): number;
}

/** Leaf i's tensor tree in a provider: the committed stage's (paged but the input's), or the output's (binary) for the last leaf. */
export function tensorTreeOf(provider: GraphTraceProvider, i: number): TensorTree {
  provider.leaf(i); // range check
  return i === provider.leafCount - 1 ? provider.commitment.output : provider.commitment.committed[i].tree;
}

/** A provider's answers as a {@link GraphGameTrace}. */
export function gameTraceOf(provider: GraphTraceProvider): GraphGameTrace {
  return {
    program: provider.program,
    model: provider.model,
    trace: provider.trace,
    leafCount: provider.leafCount,
    traceRoot: provider.traceRoot,
    inputRoot: provider.extension(0).value,
    prefixRoot: (i) => provider.prefixRoot(i),
    extension: (i) => provider.extension(i),
    rootUnder: (j, i) => provider.rootUnder(j, i),
    tensorNode: (i, height, index) => tensorTreeOf(provider, i).node(height, index),
    tensorLeaf: (i, k) => provider.tensorLeaf(i, k),
    element: (i, e) => provider.element(i, e),
    partialFolds: (i, o) => provider.partialFolds(i, o),
    leafOf: (value, stage) => (value === 0 ? 0 : provider.leafOf(value, stage)),
  };
}

/** `base` with some of its answers replaced. */
export function overrideTrace(base: GraphGameTrace, o: Partial<GraphGameTrace>): GraphGameTrace {
  return { ...base, ...o };
}
