import { argmax } from "../../argmax";
import { isNearTie, num, pct } from "../quantisationReport";
import type { OpKind } from "../../graph/program";
import type { OrtGraphRunner } from "../../graph/ortGraphRunner";
import { checkSamples, quantiseInput } from "../../quantise";
import { type Calibration, describeCalibration } from "./calibrate";
import { type FloatGraphRunner, batchesOf } from "./floatGraphRunner";
import type { QuantisedGraph } from "./quantiseGraph";

/**
 * What quantisation cost a graph model, measured on the owner's data: accuracy (with labels)
 * or argmax agreement of the integer program against the float graph, the output error after
 * dequantisation, and per op the share of its calibration activations pinned at a clamp
 * bound and its largest error on the evaluated samples. The integer program runs in
 * onnxruntime (OrtGraphRunner, bit-exact with executeProgram), the float graph too
 * (FloatGraphRunner); both in fixed batches, so a report is reproducible.
 */

export interface GraphOpReport {
  /** The program value the op makes. */
  readonly value: number;
  readonly kind: OpKind;
  /** The ONNX nodes the op stands for. */
  readonly nodes: readonly string[];
  readonly shape: readonly number[];
  /** Real value of one step of the op's output. */
  readonly scale: number;
  /** The output's int8 bounds that count as saturation, or undefined when the op cannot saturate (MaxPool, layout ops). */
  readonly bounds?: readonly [number, number];
  /** Activations at a bound on the calibration data (the upper one, and the lower one unless it is a ReLU's 0), of `activations`. */
  readonly saturated: number;
  /** The op's activations on the calibration data: samples × elements. */
  readonly activations: number;
  /** The largest |integer · scale − float| of the op's value on the evaluated samples. */
  readonly maxError: number;
}

export interface GraphQuantisationReport {
  readonly evaluated: { readonly set: "held-out" | "calibration"; readonly size: number };
  readonly calibration: { readonly method: string; readonly samples: number };
  /** With labels: the share of evaluated samples each model classifies right (argmax, lowest index on a tie). */
  readonly accuracy?: { readonly float: number; readonly integer: number };
  /** The share of evaluated samples where the integer program picks the float graph's class. */
  readonly agreement: number;
  /** |dequantised integer output − float output| over every output of every evaluated sample. */
  readonly outputError: { readonly max: number; readonly mean: number };
  /** The float output's largest magnitude on the evaluated samples, to read the errors against. */
  readonly outputRange: number;
  readonly ops: readonly GraphOpReport[];
  /** Evaluated samples (0-based) whose two largest integer outputs are at most one step apart. */
  readonly nearTies: { readonly count: number; readonly first: readonly number[] };
}

export interface GraphEvaluation {
  readonly inputs: readonly ArrayLike<number>[];
  readonly labels?: readonly number[];
  /** False when these are the calibration samples again. Default true. */
  readonly heldOut?: boolean;
}

const BATCH = 64;
const NEAR_TIES_LISTED = 10;

export async function computeGraphReport(
  quantised: QuantisedGraph,
  float: FloatGraphRunner,
  integer: OrtGraphRunner,
  calibration: Calibration,
  calibrationInputs: readonly ArrayLike<number>[],
  evaluation: GraphEvaluation,
): Promise<GraphQuantisationReport> {
  const { program, scales, tensors, ops } = quantised;
  const inputSize = float.inputSize;
  checkSamples(evaluation.inputs, inputSize, "evaluation");
  const outValue = program.ops.length;
  const classes = (integer.layout.find((e) => e.value === outValue && e.final)?.stage.shape ?? []).reduce((a, b) => a * b, 1);
  if (evaluation.labels) {
    if (evaluation.labels.length !== evaluation.inputs.length) throw new RangeError(`${evaluation.labels.length} labels for ${evaluation.inputs.length} evaluated samples`);
    const bad = evaluation.labels.findIndex((l) => !Number.isInteger(l) || l < 0 || l >= classes);
    if (bad >= 0) throw new RangeError(`label ${bad} is ${evaluation.labels[bad]}; labels are class indices 0..${classes - 1}`);
  }
  // Where each value lies in the runner's trace.
  const valueEntry = new Map<number, number>();
  integer.layout.forEach((e, i) => e.final && valueEntry.set(e.value, i));
  const runInteger = async (data: Float32Array, batch: number) => {
    const q = quantiseInput(data, scales[0]);
    return integer.runBatch(q, batch);
  };
  const bounds = program.ops.map((op): readonly [number, number] | undefined => {
    if ("clampLo" in op) return [op.clampLo, op.clampHi];
    if (op.kind === "clamp") return [op.lo, op.hi];
    if (op.kind === "table") return [-128, 127];
    return undefined;
  });

  // Saturation on the calibration samples.
  const saturated = new Array<number>(program.ops.length).fill(0);
  for (const { batch, data } of batchesOf(calibrationInputs, inputSize, BATCH)) {
    const trace = await runInteger(data, batch);
    program.ops.forEach((_, k) => {
      const b = bounds[k];
      if (!b) return;
      const [lo, hi] = b;
      for (const v of trace[valueEntry.get(k + 1)!]) if (v === hi || (lo < 0 && v === lo)) saturated[k]++;
    });
  }

  // Errors and classes on the evaluated samples.
  const maxError = new Array<number>(program.ops.length).fill(0);
  let agree = 0;
  const right = { float: 0, integer: 0 };
  let errorSum = 0;
  let errorMax = 0;
  let outputRange = 0;
  const ties: number[] = [];
  for (const { start, batch, data } of batchesOf(evaluation.inputs, inputSize, BATCH)) {
    const f = await float.runBatch(data, batch);
    const trace = await runInteger(data, batch);
    for (let v = 1; v <= outValue; v++) {
      const fv = f.get(tensors[v])!;
      const iv = trace[valueEntry.get(v)!];
      let m = maxError[v - 1];
      for (let i = 0; i < fv.length; i++) m = Math.max(m, Math.abs(iv[i] * scales[v] - fv[i]));
      maxError[v - 1] = m;
    }
    const fOut = f.get(tensors[outValue])!;
    const iOut = trace[valueEntry.get(outValue)!];
    for (let k = 0; k < batch; k++) {
      const off = k * classes;
      for (let j = 0; j < classes; j++) {
        const e = Math.abs(iOut[off + j] * scales[outValue] - fOut[off + j]);
        errorSum += e;
        errorMax = Math.max(errorMax, e);
        outputRange = Math.max(outputRange, Math.abs(fOut[off + j]));
      }
      const fClass = argmax(fOut, off, classes);
      const iClass = argmax(iOut, off, classes);
      if (fClass === iClass) agree++;
      const label = evaluation.labels?.[start + k];
      if (label !== undefined) {
        if (fClass === label) right.float++;
        if (iClass === label) right.integer++;
      }
      if (isNearTie(iOut.subarray(off, off + classes))) ties.push(start + k);
    }
  }

  const n = evaluation.inputs.length;
  return {
    evaluated: { set: evaluation.heldOut === false ? "calibration" : "held-out", size: n },
    calibration: { method: describeCalibration(calibration.method), samples: calibration.samples },
    ...(evaluation.labels ? { accuracy: { float: right.float / n, integer: right.integer / n } } : {}),
    agreement: agree / n,
    outputError: { max: errorMax, mean: errorSum / (n * classes) },
    outputRange,
    ops: ops.map((o, k) => {
      const shape = integer.layout[valueEntry.get(o.value)!].stage.shape;
      return {
        value: o.value,
        kind: o.kind,
        nodes: o.sources,
        shape,
        scale: scales[o.value],
        ...(bounds[k] ? { bounds: bounds[k] } : {}),
        saturated: saturated[k],
        activations: calibrationInputs.length * shape.reduce((a, b) => a * b, 1),
        maxError: maxError[k],
      };
    }),
    nearTies: { count: ties.length, first: ties.slice(0, NEAR_TIES_LISTED) },
  };
}

/** The report as the lines a terminal prints: headline numbers, then one aligned row per op. */
export function formatGraphReport(r: GraphQuantisationReport): string[] {
  const lines = [`quantisation report (evaluated on ${r.evaluated.size} ${r.evaluated.set} samples; activations calibrated by ${r.calibration.method} on ${r.calibration.samples} samples)`];
  if (r.accuracy) {
    const delta = r.accuracy.integer - r.accuracy.float;
    lines.push(`  float accuracy    ${pct(r.accuracy.float)}`, `  integer accuracy  ${pct(r.accuracy.integer)}  (${delta >= 0 ? "+" : "−"}${(100 * Math.abs(delta)).toFixed(2)} points)`);
  }
  lines.push(`  argmax agreement  ${pct(r.agreement)} of samples: the integer program picks the float model's class`);
  lines.push(`  output error      largest ${num(r.outputError.max)}, mean ${num(r.outputError.mean)} (|integer × scale − float|; float outputs reach ±${num(r.outputRange)})`);
  const tieList = r.nearTies.first.length > 0 ? `: samples ${r.nearTies.first.join(", ")}${r.nearTies.count > r.nearTies.first.length ? ", …" : ""}` : "";
  lines.push(`  near-ties         ${r.nearTies.count} samples whose top two integer outputs are ≤ 1 step apart${tieList}`);
  const header = ["value", "op", "nodes", "shape", "scale", "saturated (calibration)", "largest error"];
  const rows = r.ops.map((o) => [
    String(o.value),
    o.kind,
    o.nodes.join(" + "),
    `[${o.shape}]`,
    num(o.scale),
    o.bounds ? `${o.saturated} of ${o.activations} (${pct(o.activations > 0 ? o.saturated / o.activations : 0)})` : "–",
    num(o.maxError),
  ]);
  const widths = header.map((h, c) => Math.max(h.length, ...rows.map((row) => row[c].length)));
  const line = (cells: string[]) => `  ${cells.map((cell, c) => cell.padEnd(widths[c])).join("  ")}`.trimEnd();
  lines.push(line(header), ...rows.map(line));
  return lines;
}
