import type { Opening } from "../traceProvider";
import { type GraphModelCommitment, type GraphTraceCommitment, commitGraphModel, commitGraphTrace } from "./commitments";
import { type GraphTrace, type TraceTensor, executeProgram } from "./execute";
import type { GraphProgram, Op } from "./program";
import { type Reduction, type ReducingOp, chunkCountOf, chunkRange, foldTerms, reductionOf } from "./reductions";
import { type TraceEntry, traceLayout } from "./stages";
import { validateProgram } from "./validate";

/** What one leaf of the trace's prefix tree is. */
export type TraceLeaf =
  | { readonly kind: "stage"; readonly entry: TraceEntry; readonly tensor: TraceTensor }
  | { readonly kind: "output"; readonly tensor: Int8Array };

/**
 * Everything one side of a dispute over a graph program may have to claim, open or prove about one
 * job, from deterministic re-execution (the graph twin of core/traceProvider.ts). Leaves are the
 * prefix tree's (core/graph/commitments.ts): 0 the input, then every committed stage in trace
 * order, last the output value.
 */
export class GraphTraceProvider {
  private readonly leaves: TraceLeaf[];
  private readonly partials = new Map<string, readonly number[]>();

  private constructor(
    readonly program: GraphProgram,
    readonly model: GraphModelCommitment,
    readonly trace: GraphTrace,
    readonly commitment: GraphTraceCommitment,
  ) {
    this.leaves = [
      ...commitment.committed.map(({ entry }): TraceLeaf => ({ kind: "stage", entry, tensor: trace.tensors[trace.layout.indexOf(entry)] })),
      { kind: "output", tensor: trace.values[trace.values.length - 1] },
    ];
  }

  /** Re-executes `program` on `input` with the reference executor and commits the trace. */
  static fromInput(program: GraphProgram, input: Int8Array, model: GraphModelCommitment = commitGraphModel(program)): GraphTraceProvider {
    return GraphTraceProvider.fromTrace(program, executeProgram(program, input), model);
  }

  /** Commits a trace computed elsewhere (onnxruntime); its layout must be the program's. */
  static fromTrace(program: GraphProgram, trace: GraphTrace, model: GraphModelCommitment = commitGraphModel(program)): GraphTraceProvider {
    const expected = traceLayout(program);
    if (trace.layout.length !== expected.length || trace.tensors.length !== expected.length) throw new RangeError(`a trace of this program has ${expected.length} tensors, got ${trace.tensors.length}`);
    if (model.leaves.length !== program.ops.length + 1) throw new RangeError("the model commitment is not this program's");
    return new GraphTraceProvider(program, model, trace, commitGraphTrace(trace));
  }

  /** Leaves of the prefix tree. */
  get leafCount(): number {
    return this.leaves.length;
  }

  /** The trace root: the last prefix root. */
  get traceRoot(): Uint8Array {
    return this.commitment.root;
  }

  /** The program's output value. */
  get output(): Int8Array {
    return this.trace.values[this.trace.values.length - 1];
  }

  /** What leaf `i` is. */
  leaf(i: number): TraceLeaf {
    this.check(i);
    return this.leaves[i];
  }

  /** The leaf of (value, stage); value 0's only stage is "out", as is every op's last. */
  leafOf(value: number, stage = "out"): number {
    const i = this.leaves.findIndex((l) => l.kind === "stage" && l.entry.value === value && l.entry.stage.name === stage);
    if (i < 0) throw new RangeError(`value ${value} has no committed stage ${JSON.stringify(stage)}`);
    return i;
  }

  /** `P_i`, the prefix root up to leaf `i`. */
  prefixRoot(i: number): Uint8Array {
    this.check(i);
    return this.commitment.prefix.root(i);
  }

  /** Leaf `i`'s tensor root with the siblings that show `P_i` extending `P_{i−1}` by it. */
  extension(i: number): Opening {
    this.check(i);
    return { value: this.commitment.prefix.word(i), index: i, proof: this.commitment.prefix.extensionProof(i) };
  }

  /** Leaf `j`'s tensor root opened under `P_i` (j ≤ i): what a step of leaf i + 1 reads, however far back. */
  rootUnder(j: number, i: number): Opening {
    return { value: this.commitment.prefix.word(j), index: j, proof: this.commitment.prefix.openingProof(j, i) };
  }

  /** Leaf `k` of leaf `i`'s tensor tree, opened against the tensor's root. */
  tensorLeaf(i: number, k: number): Opening {
    const tree = this.tensorTree(i);
    return { value: tree.leaf(k), index: k, proof: tree.proof(k) };
  }

  /** Element `e` of leaf `i`'s tensor. */
  element(i: number, e: number): number {
    const t = this.leaf(i).tensor;
    if (!Number.isSafeInteger(e) || e < 0 || e >= t.length) throw new RangeError(`element ${e} outside 0..${t.length - 1} of leaf ${i}`);
    return t[e];
  }

  /**
   * The running fold of element `o` of reduce leaf `i` at every chunk boundary: s at terms 0, T,
   * 2T, …, R (T the reduction's chunkTerms), and for a finished reduce then its element, made from
   * s_R by the stage's finish (a requantisation). The first is the row's start (bias, 0 or −128),
   * the last the element itself; a dispute over the element dissects this list down to one chunk.
   */
  partialFolds(i: number, o: number): readonly number[] {
    const key = `${i}:${o}`;
    const cached = this.partials.get(key);
    if (cached) return cached;
    const { reduction, x, weights } = this.reductionAt(i);
    if (!Number.isSafeInteger(o) || o < 0 || o >= reduction.rows) throw new RangeError(`element ${o} outside 0..${reduction.rows - 1} of leaf ${i}`);
    const folds = [reduction.init(o)];
    for (let k = 0; k < chunkCountOf(reduction); k++) {
      const { from, to } = chunkRange(reduction, k);
      folds.push(foldTerms(reduction, x, weights, o, folds[folds.length - 1], from, to));
    }
    const leaf = this.leaf(i);
    if (leaf.kind === "stage" && leaf.entry.stage.finish) folds.push(leaf.tensor[o]);
    this.partials.set(key, folds);
    return folds;
  }

  /** The reduction of reduce leaf `i`, with its input value and weights. */
  private reductionAt(i: number): { reduction: Reduction; x: Int8Array; weights?: Int8Array } {
    const leaf = this.leaf(i);
    if (leaf.kind !== "stage" || leaf.entry.stage.kind !== "reduce") throw new RangeError(`leaf ${i} is not a reduce stage`);
    const op = this.program.ops[leaf.entry.value - 1] as ReducingOp & Op;
    const shapes = validateProgram(this.program);
    const reduction = reductionOf(this.program, op, shapes[op.inputs[0]]);
    const weights = op.kind === "dense" || op.kind === "conv" ? (this.program.constants[op.weight].data as Int8Array) : undefined;
    return { reduction, x: this.trace.values[op.inputs[0]], weights };
  }

  private tensorTree(i: number) {
    this.check(i);
    return i === this.leaves.length - 1 ? this.commitment.output : this.commitment.committed[i].tree;
  }

  private check(i: number): void {
    if (!Number.isSafeInteger(i) || i < 0 || i >= this.leaves.length) throw new RangeError(`leaf ${i} outside 0..${this.leaves.length - 1}`);
  }
}
