import { clamp, requantise } from "../intSemantics";
import { broadcastIndexMap } from "./geometry";
import { type GraphProgram, type Op, type Shape, isLayout, sizeOf } from "./program";
import { foldRow, reductionOf } from "./reductions";
import { type TraceEntry, traceLayout } from "./stages";
import { validateProgram } from "./validate";
import { viewMap } from "./views";

/**
 * The TypeScript reference executor of graph programs (docs/graph-semantics.md): every op
 * written as plain loops over the element formulas, every stage of the trace computed.
 * Accumulators and sums are numbers (exact: validation bounds them by 2³¹−1); requantisation
 * goes through core/intSemantics.ts, the one definition of the rounding rule.
 */

export type TraceTensor = Int8Array | Int32Array;

export interface GraphTrace {
  /** The tensors of the run, in the order of {@link layout}. */
  readonly tensors: TraceTensor[];
  /** What each tensor is: value, stage, dtype, shape (traceLayout). */
  readonly layout: TraceEntry[];
  /** values[v]: the int8 value v, views included (value 0: the input). */
  readonly values: Int8Array[];
}

/** Runs `program` on one input (shape program.inputShape, flattened row-major). */
export function executeProgram(program: GraphProgram, input: Int8Array): GraphTrace {
  const shapes = validateProgram(program);
  if (input.length !== sizeOf(shapes[0])) throw new RangeError(`input has ${input.length} elements, the program expects [${shapes[0]}] = ${sizeOf(shapes[0])}`);
  const values: Int8Array[] = [input];
  const tensors: TraceTensor[] = [input];
  program.ops.forEach((op, k) => {
    const stages = runOp(program, op, op.inputs.map((v) => values[v]), op.inputs.map((v) => shapes[v]), shapes[k + 1]);
    tensors.push(...stages);
    values.push(stages[stages.length - 1] as Int8Array);
  });
  return { tensors, layout: traceLayout(program, shapes), values };
}

/** The stage tensors of one op, in stage order; the last is the op's int8 value. */
export function runOp(program: GraphProgram, op: Op, xs: Int8Array[], inShapes: Shape[], outShape: Shape): TraceTensor[] {
  const n = sizeOf(outShape);
  const x = xs[0];
  if (isLayout(op)) {
    const map = viewMap(op, inShapes, outShape);
    const out = new Int8Array(n);
    for (let i = 0; i < n; i++) {
      const { slot, index } = map(i);
      out[i] = xs[slot][index];
    }
    return [out];
  }
  switch (op.kind) {
    case "dense":
    case "conv":
    case "avgPool":
    case "globalAvgPool": {
      const r = reductionOf(program, op, inShapes[0]);
      const weights = op.kind === "dense" || op.kind === "conv" ? (program.constants[op.weight].data as Int8Array) : undefined;
      const multiplier = typeof op.multiplier === "number" ? [op.multiplier] : op.multiplier;
      const shift = typeof op.shift === "number" ? [op.shift] : op.shift;
      const perChannel = n / (multiplier.length === 1 ? n : multiplier.length); // elements per output channel
      const out = new Int8Array(n);
      for (let o = 0; o < n; o++) {
        const c = multiplier.length === 1 ? 0 : Math.floor(o / perChannel);
        out[o] = clamp(requantise(foldRow(r, x, weights, o), multiplier[c], shift[c]), op.clampLo, op.clampHi);
      }
      return [out];
    }
    case "maxPool": {
      const r = reductionOf(program, op, inShapes[0]);
      const out = new Int8Array(n);
      for (let o = 0; o < n; o++) out[o] = foldRow(r, x, undefined, o);
      return [out];
    }
    case "add":
    case "mul": {
      const [a, b] = xs;
      const ia = broadcastIndexMap(inShapes[0], outShape);
      const ib = broadcastIndexMap(inShapes[1], outShape);
      const out = new Int8Array(n);
      for (let i = 0; i < n; i++) {
        const q =
          op.kind === "add"
            ? requantise(a[ia(i)], op.multiplierA, op.shiftA) + requantise(b[ib(i)], op.multiplierB, op.shiftB)
            : requantise(a[ia(i)] * b[ib(i)], op.multiplier, op.shift);
        out[i] = clamp(q, op.clampLo, op.clampHi);
      }
      return [out];
    }
    case "clamp":
      return [x.map((v) => Math.min(op.hi, Math.max(op.lo, v)))];
    case "table": {
      const table = program.constants[op.table].data as Int8Array;
      return [x.map((v) => table[v + 128])];
    }
  }
  throw new TypeError(`no executor for op ${op.kind}`);
}
