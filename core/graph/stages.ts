import type { GraphProgram, Op, Shape } from "./program";
import { validateProgram } from "./validate";

/**
 * The stage structure of every op (docs/graph-semantics.md §4): the unit the dispute game
 * bisects over. An op is one or more stages; each stage produces one tensor:
 *  - "reduce": element o = a fold (sum of products, sum or max) over a row of terms that
 *    core/graph/reductions.ts enumerates; settled by dissecting the running fold into chunks.
 *    A reduce with a `finish` is a *finished reduce*: its fold runs in int32 and is never
 *    committed, and element o = finish(the row's whole fold), the dissection's last "chunk"
 *    (a Dense's, Conv's or average's requantisation);
 *  - "elementwise": element i = a fixed function of a few opened elements (of earlier stages,
 *    of the op's inputs and of constants) at index-mapped positions; settled by one step;
 *  - "view": element i = one input element at a fixed index (layout ops); no computation and
 *    not committed: opening element i of a view opens its source element instead.
 * The last stage of an op is the op's value (int8); earlier stages, if an op ever has some, are
 * its committed intermediates.
 */

export type StageKind = "reduce" | "elementwise" | "view";
export type Combine = "sumOfProducts" | "sum" | "max";

/** What a stage's element formula opens: an earlier value, an earlier stage of the same op, or a constant. */
export type StageSource = { readonly value: number } | { readonly stage: string } | { readonly constant: number };

export interface Stage {
  /** "acc", "sum" or "out"; unique within its op; "out" is always the last. */
  readonly name: string;
  readonly kind: StageKind;
  /** For reduce stages: how the row's terms fold. */
  readonly combine?: Combine;
  /**
   * For a finished reduce: the formula of its element from the row's whole fold `s`; its folds are
   * int32 whatever the element's type.
   */
  readonly finish?: string;
  /** The type of the stage's elements (what is committed). */
  readonly dtype: "int8" | "int32";
  readonly shape: Shape;
  /** False only for views. */
  readonly committed: boolean;
  readonly reads: readonly StageSource[];
  /** The element formula in the spec's notation. */
  readonly formula: string;
}

/** The stages of `op`, whose value has shape `outShape`. */
export function opStages(op: Op, outShape: Shape): Stage[] {
  const value = (id: number): StageSource => ({ value: id });
  const out = (kind: StageKind, reads: StageSource[], formula: string, combine?: Combine, finish?: string): Stage => ({
    name: "out",
    kind,
    ...(combine ? { combine } : {}),
    ...(finish ? { finish } : {}),
    dtype: "int8",
    shape: outShape,
    committed: kind !== "view",
    reads,
    formula,
  });
  const requantised = (combine: Combine, reads: StageSource[], fold: string, per: string) => out("reduce", reads, fold, combine, `clamp(requantise(s, m${per}, s${per}), lo, hi)`);
  switch (op.kind) {
    case "dense":
      return [requantised("sumOfProducts", [value(op.inputs[0]), { constant: op.weight }, { constant: op.bias }], "bias[j] + Σ_i W[j][i]·x[i]", "[j]")];
    case "conv":
      return [requantised("sumOfProducts", [value(op.inputs[0]), { constant: op.weight }, { constant: op.bias }], "bias[m] + Σ_{c,ky,kx} W[m][c][ky][kx]·x[g·C/G + c][oy·sH − pT + ky·dH][ox·sW − pL + kx·dW]  (padded cells: 0)", "[m]")];
    case "maxPool":
      return [out("reduce", [value(op.inputs[0])], "max(−128, max over in-bounds window cells x[c][oy·sH − pT + ky·dH][ox·sW − pL + kx·dW])", "max")];
    case "avgPool":
      return [requantised("sum", [value(op.inputs[0])], "Σ_{ky,kx} x[c][oy·sH − pT + ky·dH][ox·sW − pL + kx·dW]  (padded cells: 0, and they count)", "")];
    case "globalAvgPool":
      return [requantised("sum", [value(op.inputs[0])], "Σ_{y,x} x[c][y][x]", "")];
    case "add":
      return [out("elementwise", op.inputs.map(value), "clamp(requantise(a[bA(i)], mA, sA) + requantise(b[bB(i)], mB, sB), lo, hi)")];
    case "mul":
      return [out("elementwise", op.inputs.map(value), "clamp(requantise(a[bA(i)]·b[bB(i)], m, s), lo, hi)")];
    case "clamp":
      return [out("elementwise", [value(op.inputs[0])], "min(hi, max(lo, x[i]))")];
    case "table":
      return [out("elementwise", [value(op.inputs[0]), { constant: op.table }], "T[x[i] + 128]")];
    case "flatten":
    case "reshape":
      return [out("view", [value(op.inputs[0])], "x[i]")];
    case "transpose":
      return [out("view", [value(op.inputs[0])], "x[index of the output coordinates permuted back]")];
    case "concat":
      return [out("view", op.inputs.map(value), "x_k[i with the axis coordinate less the sizes of x_0 … x_(k−1)]")];
    case "slice":
      return [out("view", [value(op.inputs[0])], "x[starts + coordinates·steps]")];
  }
}

/** One tensor of a trace: a stage of a value (value 0, the input, has the single stage "out"). */
export interface TraceEntry {
  readonly value: number;
  readonly stage: Stage;
  /** True for the last stage of the value (its int8 value). */
  readonly final: boolean;
}

/**
 * Every tensor a run produces, in trace order: the input, then each op's stages in order.
 * The committed ones are what a trace commitment will cover; the views are listed too, so
 * that executors can be compared on them.
 */
export function traceLayout(program: GraphProgram, shapes: Shape[] = validateProgram(program)): TraceEntry[] {
  const entries: TraceEntry[] = [
    { value: 0, final: true, stage: { name: "out", kind: "elementwise", dtype: "int8", shape: shapes[0], committed: true, reads: [], formula: "the input" } },
  ];
  program.ops.forEach((op, k) => {
    const stages = opStages(op, shapes[k + 1]);
    stages.forEach((stage, i) => entries.push({ value: k + 1, stage, final: i === stages.length - 1 }));
  });
  return entries;
}

/** The name of a trace tensor in the ONNX form and in messages: `v5` for a value, `v5.<stage>` for an intermediate stage. */
export function traceName(entry: Pick<TraceEntry, "value" | "final"> & { stage: Pick<Stage, "name"> }): string {
  return entry.final ? `v${entry.value}` : `v${entry.value}.${entry.stage.name}`;
}
