import { argmax } from "../argmax";
import { type FloatModel, runFloat } from "../onnx/floatModel";
import { type QuantisedModel, quantiseInput } from "../quantise";
import { runReference } from "../referenceExecutor";

/**
 * What quantisation cost a model, measured on the owner's own data: accuracy or agreement of the
 * integer model against the float one, the error after dequantisation, how often each layer's
 * activations pin at their clamp bounds, and the samples whose integer class is a coin toss.
 */

export interface LayerReport {
  readonly layer: number;
  readonly nIn: number;
  readonly nOut: number;
  readonly relu: boolean;
  readonly activationScale: number;
  readonly weightScale: number;
  readonly multiplier: number;
  readonly shift: number;
  /** Activations at a clamp bound on the calibration data (only the upper one for a ReLU layer), of `activations`. */
  readonly saturated: number;
  readonly activations: number;
  /** The largest |integer · scale − float| of this layer's activations on the evaluated samples. */
  readonly maxError: number;
}

export interface QuantisationReport {
  readonly evaluated: { readonly set: "held-out" | "calibration"; readonly size: number };
  /** With labels: the share of evaluated samples each model classifies right. */
  readonly accuracy?: { readonly float: number; readonly integer: number };
  /** The share of evaluated samples where the integer model picks the float model's class. */
  readonly agreement: number;
  /** |dequantised integer output − float output| over the evaluated samples: largest and mean. */
  readonly outputError: { readonly max: number; readonly mean: number };
  readonly layers: readonly LayerReport[];
  /** Evaluated samples whose two largest integer outputs are at most one step apart. */
  readonly nearTies: { readonly count: number; readonly first: readonly number[] };
}

export interface Evaluation {
  readonly inputs: readonly ArrayLike<number>[];
  readonly labels?: readonly number[];
  readonly heldOut: boolean;
}

/** How many near-tie sample indices the report lists. */
const NEAR_TIES_LISTED = 10;

/** Measures `quantised` against `float` (see {@link QuantisationReport}). */
export function computeReport(float: FloatModel, quantised: QuantisedModel, calibration: readonly ArrayLike<number>[], evaluation: Evaluation): QuantisationReport {
  const { model, scales, weightScales } = quantised;
  const L = model.layers.length;
  const saturated = new Array<number>(L).fill(0);
  for (const x of calibration) {
    const trace = runReference(model, quantiseInput(x, scales[0]));
    model.layers.forEach((layer, i) => {
      for (const v of trace[i + 1]) if (v === layer.clampHi || (layer.clampLo < 0 && v === layer.clampLo)) saturated[i]++;
    });
  }

  const layerError = new Array<number>(L).fill(0);
  let agree = 0;
  let right = { float: 0, integer: 0 };
  let errorSum = 0;
  let errorMax = 0;
  const ties: number[] = [];
  evaluation.inputs.forEach((x, k) => {
    const acts = runFloat(float, x);
    const trace = runReference(model, quantiseInput(x, scales[0]));
    for (let l = 1; l <= L; l++) {
      const f = acts[l - 1];
      for (let j = 0; j < f.length; j++) layerError[l - 1] = Math.max(layerError[l - 1], Math.abs(trace[l][j] * scales[l] - f[j]));
    }
    const fOut = acts[L - 1];
    const iOut = trace[L];
    for (let j = 0; j < fOut.length; j++) {
      const e = Math.abs(iOut[j] * scales[L] - fOut[j]);
      errorSum += e;
      errorMax = Math.max(errorMax, e);
    }
    const fClass = argmax(fOut);
    const iClass = argmax(iOut);
    if (fClass === iClass) agree++;
    const label = evaluation.labels?.[k];
    if (label !== undefined) right = { float: right.float + (fClass === label ? 1 : 0), integer: right.integer + (iClass === label ? 1 : 0) };
    if (iOut.length > 1) {
      const sorted = Array.from(iOut).sort((a, b) => b - a);
      if (sorted[0] - sorted[1] <= 1) ties.push(k);
    }
  });

  const n = evaluation.inputs.length;
  const outputs = n * model.layers[L - 1].nOut;
  return {
    evaluated: { set: evaluation.heldOut ? "held-out" : "calibration", size: n },
    accuracy: evaluation.labels ? { float: right.float / n, integer: right.integer / n } : undefined,
    agreement: agree / n,
    outputError: { max: errorMax, mean: outputs > 0 ? errorSum / outputs : 0 },
    layers: model.layers.map((layer, i) => ({
      layer: i + 1,
      nIn: layer.nIn,
      nOut: layer.nOut,
      relu: layer.clampLo === 0,
      activationScale: scales[i + 1],
      weightScale: weightScales[i],
      multiplier: layer.multiplier,
      shift: layer.shift,
      saturated: saturated[i],
      activations: calibration.length * layer.nOut,
      maxError: layerError[i],
    })),
    nearTies: { count: ties.length, first: ties.slice(0, NEAR_TIES_LISTED) },
  };
}

const pct = (x: number) => `${(100 * x).toFixed(2)} %`;
const num = (x: number) => x.toPrecision(4);

/** The report as the lines a terminal prints. */
export function formatReport(r: QuantisationReport): string[] {
  const lines = [`quantisation report (evaluated on ${r.evaluated.size} ${r.evaluated.set} samples)`];
  if (r.accuracy) lines.push(`  float accuracy    ${pct(r.accuracy.float)}`, `  integer accuracy  ${pct(r.accuracy.integer)}  (${r.accuracy.integer >= r.accuracy.float ? "+" : "−"}${(100 * Math.abs(r.accuracy.integer - r.accuracy.float)).toFixed(2)} points)`);
  lines.push(`  argmax agreement  ${pct(r.agreement)} of samples: the integer model picks the float model's class`);
  lines.push(`  output error      largest ${num(r.outputError.max)}, mean ${num(r.outputError.mean)} (|integer × scale − float|)`);
  const tieList = r.nearTies.first.length > 0 ? `: samples ${r.nearTies.first.join(", ")}${r.nearTies.count > r.nearTies.first.length ? ", …" : ""}` : "";
  lines.push(`  near-ties         ${r.nearTies.count} samples whose top two integer outputs are ≤ 1 step apart${tieList}`);
  const header = ["layer", "shape", "act. scale", "weight scale", "multiplier", "shift", "saturated (calibration)", "largest error"];
  const rows = r.layers.map((l) => [
    `${l.layer}${l.relu ? " relu" : ""}`,
    `${l.nIn}→${l.nOut}`,
    num(l.activationScale),
    num(l.weightScale),
    String(l.multiplier),
    String(l.shift),
    `${l.saturated} of ${l.activations} (${pct(l.activations > 0 ? l.saturated / l.activations : 0)})`,
    num(l.maxError),
  ]);
  const widths = header.map((h, c) => Math.max(h.length, ...rows.map((row) => row[c].length)));
  const line = (cells: string[]) => `  ${cells.map((cell, c) => cell.padEnd(widths[c])).join("  ")}`.trimEnd();
  lines.push(line(header), ...rows.map(line));
  return lines;
}
