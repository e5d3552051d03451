import { type FloatGraphRunner, batchesOf } from "./floatGraphRunner";

/**
 * Activation calibration: for every tensor of the float graph, the real magnitude that its
 * int8 scale maps to 127 (symmetric quantisation, scale = range / 127).
 *
 * - `maxAbs`: the largest |value| seen on the calibration samples. Nothing seen saturates.
 * - `percentile`: the p-th percentile of |value| over all elements of all samples (from a
 *   2048-bin histogram over [0, maxAbs], a second pass), which trades clipping the rare
 *   largest values for a finer step everywhere else. The graph's output is always calibrated
 *   by its maximum, so that the top logit is never clipped.
 *
 * The default is maxAbs. Measured on the tests' models (test/modelImport/graphImport.test.ts,
 * random weights, 8 seeds, 64 calibration and 500 held-out samples each): argmax agreement
 * LeNet-like 98.55 % (max-abs) / 98.63 % (99.99th) / 98.15 % (99.9th), MobileNet-style block
 * 98.80 % / 98.72 % / 98.67 %; mean output error / output range 0.0051 / 0.0050 / 0.0060 and
 * 0.0069 / 0.0056 / 0.0070. The 99.99th percentile only lowers the mean error a little (the
 * agreement is the same within noise) and the 99.9th is worse on both, so the default is the
 * one that never clips, needs one pass, and does not depend on estimating a tail from a small
 * calibration set; the percentile stays an option for models with rare outlier activations.
 */
export type CalibrationMethod = { readonly kind: "maxAbs" } | { readonly kind: "percentile"; readonly percentile: number };

export const DEFAULT_CALIBRATION: CalibrationMethod = { kind: "maxAbs" };

export interface Calibration {
  readonly method: CalibrationMethod;
  readonly samples: number;
  /** The real magnitude each tensor's scale maps to 127. */
  readonly ranges: ReadonlyMap<string, number>;
  /** The largest |value| of each tensor on the calibration samples. */
  readonly maxAbs: ReadonlyMap<string, number>;
}

const BINS = 2048;
const BATCH = 32;

/** Runs the float graph on `samples` and calibrates every tensor; throws a RangeError naming the tensor and sample when an activation is not finite. */
export async function calibrate(runner: FloatGraphRunner, samples: readonly ArrayLike<number>[], method: CalibrationMethod = DEFAULT_CALIBRATION): Promise<Calibration> {
  if (method.kind === "percentile" && !(method.percentile > 0 && method.percentile <= 100)) throw new RangeError(`percentile ${method.percentile} must be in (0, 100]`);
  const maxAbs = new Map(runner.tensors.map((t) => [t, 0]));
  for (const { start, batch, data } of batchesOf(samples, runner.inputSize, BATCH)) {
    const values = await runner.runBatch(data, batch);
    for (const [t, v] of values) {
      let m = maxAbs.get(t)!;
      for (let i = 0; i < v.length; i++) {
        const a = Math.abs(v[i]);
        if (!(a <= Number.MAX_VALUE)) throw new RangeError(`float tensor ${t} is ${v[i]} on calibration sample ${start + Math.floor((i * batch) / v.length)}`);
        if (a > m) m = a;
      }
      maxAbs.set(t, m);
    }
  }
  if (method.kind === "maxAbs") return { method, samples: samples.length, ranges: maxAbs, maxAbs };

  const histograms = new Map(runner.tensors.map((t) => [t, new Float64Array(BINS)]));
  for (const { batch, data } of batchesOf(samples, runner.inputSize, BATCH)) {
    const values = await runner.runBatch(data, batch);
    for (const [t, v] of values) {
      const h = histograms.get(t)!;
      const m = maxAbs.get(t)!;
      if (m === 0) continue;
      for (let i = 0; i < v.length; i++) h[Math.min(BINS - 1, Math.floor((Math.abs(v[i]) / m) * BINS))]++;
    }
  }
  const ranges = new Map<string, number>();
  for (const t of runner.tensors) {
    const m = maxAbs.get(t)!;
    if (t === runner.graph.output || m === 0) {
      ranges.set(t, m);
      continue;
    }
    const h = histograms.get(t)!;
    const total = h.reduce((a, b) => a + b, 0);
    const target = (method.percentile / 100) * total;
    let seen = 0;
    let bin = 0;
    while (bin < BINS - 1 && seen + h[bin] < target) seen += h[bin++];
    ranges.set(t, ((bin + 1) / BINS) * m);
  }
  return { method, samples: samples.length, ranges, maxAbs };
}

export function describeCalibration(method: CalibrationMethod): string {
  return method.kind === "maxAbs" ? "max-abs" : `${method.percentile}th percentile of |x| (output: max-abs)`;
}
