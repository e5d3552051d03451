import { argmax } from "../argmax";
import type { IntegerModel } from "../model";
import { type FloatModel, runFloat } from "../onnx/floatModel";
import { type QuantisedModel, checkSamples, quantiseInput } from "../quantise";
import { type Trace, runReference } from "../referenceExecutor";

/**
 * What quantisation cost a model, measured on the owner's own data: accuracy or agreement of the
 * integer model against the float one, the error after dequantisation, how often each layer's
 * activations pin at their clamp bounds, and the samples whose integer class is a coin toss.
 * Everything is computed in a fixed order from the inputs alone, so a report is reproducible.
 */

export interface LayerReport {
  /** 1-based, as in the descriptor and in error messages. */
  readonly layer: number;
  readonly op: "dense";
  readonly nIn: number;
  readonly nOut: number;
  readonly relu: boolean;
  /** Real value of one step of the layer's output. */
  readonly activationScale: number;
  /** Real value of one step of the layer's weights. */
  readonly weightScale: number;
  readonly multiplier: number;
  readonly shift: number;
  readonly clampLo: number;
  readonly clampHi: number;
  /** Activations at a clamp bound on the calibration data (clampHi, and clampLo unless it is ReLU's 0), of `activations`. */
  readonly saturated: number;
  /** The layer's activations on the calibration data: samples × nOut. */
  readonly activations: number;
  /** The largest |integer · activationScale − float| of this layer's activations on the evaluated samples. */
  readonly maxError: number;
}

export interface QuantisationReport {
  readonly evaluated: { readonly set: "held-out" | "calibration"; readonly size: number };
  /** With labels: the share of evaluated samples each model classifies right. */
  readonly accuracy?: { readonly float: number; readonly integer: number };
  /** The share of evaluated samples where the integer model picks the float model's class. */
  readonly agreement: number;
  /** |dequantised integer output − float output| over every output of every evaluated sample: largest and mean. */
  readonly outputError: { readonly max: number; readonly mean: number };
  readonly layers: readonly LayerReport[];
  /** Evaluated samples (0-based indices) whose two largest integer outputs are at most one step apart. */
  readonly nearTies: { readonly count: number; readonly first: readonly number[] };
}

/** The samples a report evaluates: held-out ones, or the calibration ones again; labels (if known) are their classes. */
export interface Evaluation {
  readonly inputs: readonly ArrayLike<number>[];
  readonly labels?: readonly number[];
  readonly heldOut: boolean;
}

/** How many near-tie sample indices the report lists. */
export const NEAR_TIES_LISTED = 10;

/**
 * Measures `quantised` against `float` (see {@link QuantisationReport}): saturation on the
 * `calibration` samples (what set the scales), everything else on `evaluation`. The integer model
 * runs bit-exactly (runReference) on each input quantised at the input scale; classes are argmax
 * with the lowest index winning a tie, as on chain. Throws a RangeError for an evaluation sample of
 * the wrong length or not finite (the calibration ones too), labels that are not one per sample, or
 * a label that is not a class.
 */
export function computeReport(float: FloatModel, quantised: QuantisedModel, calibration: readonly ArrayLike<number>[], evaluation: Evaluation): QuantisationReport {
  const { model, scales, weightScales } = quantised;
  checkSamples(calibration, model.inputSize, "calibration");
  checkEvaluation(evaluation, model);
  const L = model.layers.length;
  const saturated = new Array<number>(L).fill(0);
  for (const x of calibration) {
    const trace = runInteger(model, scales, x);
    model.layers.forEach((layer, i) => {
      for (const v of trace[i + 1]) if (v === layer.clampHi || (layer.clampLo < 0 && v === layer.clampLo)) saturated[i]++;
    });
  }

  const layerError = new Array<number>(L).fill(0);
  let agree = 0;
  const right = { float: 0, integer: 0 };
  let errorSum = 0;
  let errorMax = 0;
  const ties: number[] = [];
  evaluation.inputs.forEach((x, k) => {
    const acts = runFloat(float, x);
    const trace = runInteger(model, scales, x);
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
    if (label !== undefined) {
      if (fClass === label) right.float++;
      if (iClass === label) right.integer++;
    }
    if (isNearTie(iOut)) ties.push(k);
  });

  const n = evaluation.inputs.length;
  return {
    evaluated: { set: evaluation.heldOut ? "held-out" : "calibration", size: n },
    ...(evaluation.labels ? { accuracy: { float: right.float / n, integer: right.integer / n } } : {}),
    agreement: agree / n,
    outputError: { max: errorMax, mean: errorSum / (n * model.layers[L - 1].nOut) },
    layers: model.layers.map((layer, i) => ({
      layer: i + 1,
      op: layer.op,
      nIn: layer.nIn,
      nOut: layer.nOut,
      relu: layer.clampLo === 0,
      activationScale: scales[i + 1],
      weightScale: weightScales[i],
      multiplier: layer.multiplier,
      shift: layer.shift,
      clampLo: layer.clampLo,
      clampHi: layer.clampHi,
      saturated: saturated[i],
      activations: calibration.length * layer.nOut,
      maxError: layerError[i],
    })),
    nearTies: { count: ties.length, first: ties.slice(0, NEAR_TIES_LISTED) },
  };
}

function checkEvaluation(evaluation: Evaluation, model: IntegerModel): void {
  checkSamples(evaluation.inputs, model.inputSize, "evaluation");
  const { labels } = evaluation;
  if (!labels) return;
  if (labels.length !== evaluation.inputs.length) throw new RangeError(`${labels.length} labels for ${evaluation.inputs.length} evaluated samples`);
  const classes = model.layers[model.layers.length - 1].nOut;
  const bad = labels.findIndex((l) => !Number.isInteger(l) || l < 0 || l >= classes);
  if (bad >= 0) throw new RangeError(`label ${bad} is ${labels[bad]}; labels are class indices 0..${classes - 1}`);
}

function runInteger(model: IntegerModel, scales: readonly number[], x: ArrayLike<number>): Trace {
  return runReference(model, quantiseInput(x, scales[0]));
}

/** The two largest outputs at most one step apart (a single output is never a tie). */
export function isNearTie(out: Int8Array | Int32Array): boolean {
  if (out.length < 2) return false;
  let first = -Infinity;
  let second = -Infinity;
  for (const v of out) {
    if (v > first) [first, second] = [v, first];
    else if (v > second) second = v;
  }
  return first - second <= 1;
}

export const pct = (x: number) => `${(100 * x).toFixed(2)} %`;
export const num = (x: number) => x.toPrecision(4);

/**
 * The report as the lines a terminal prints: the headline numbers, then one aligned table row
 * per layer.
 */
export function formatReport(r: QuantisationReport): string[] {
  const lines = [`quantisation report (evaluated on ${r.evaluated.size} ${r.evaluated.set} samples)`];
  if (r.accuracy) {
    const delta = r.accuracy.integer - r.accuracy.float;
    lines.push(`  float accuracy    ${pct(r.accuracy.float)}`, `  integer accuracy  ${pct(r.accuracy.integer)}  (${delta >= 0 ? "+" : "−"}${(100 * Math.abs(delta)).toFixed(2)} points)`);
  }
  lines.push(`  argmax agreement  ${pct(r.agreement)} of samples: the integer model picks the float model's class`);
  lines.push(`  output error      largest ${num(r.outputError.max)}, mean ${num(r.outputError.mean)} (|integer × scale − float|)`);
  const tieList = r.nearTies.first.length > 0 ? `: samples ${r.nearTies.first.join(", ")}${r.nearTies.count > r.nearTies.first.length ? ", …" : ""}` : "";
  lines.push(`  near-ties         ${r.nearTies.count} samples whose top two integer outputs are ≤ 1 step apart${tieList}`);
  const header = ["layer", "op", "shape", "clamp", "act. scale", "weight scale", "multiplier", "shift", "saturated (calibration)", "largest error"];
  const rows = r.layers.map((l) => [
    String(l.layer),
    `${l.op}${l.relu ? "+relu" : ""}`,
    `${l.nIn}→${l.nOut}`,
    `[${l.clampLo}, ${l.clampHi}]`,
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
