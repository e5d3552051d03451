import { INT8_MAX, INT8_MIN, INT32_MAX, INT32_MIN, MULTIPLIER_MAX, SHIFT_MAX, SHIFT_MIN } from "./intSemantics";
import { type DenseLayer, type IntegerModel, ModelValidationError, validateModel } from "./model";
import { type FloatModel, runFloat } from "./onnx/floatModel";

/**
 * Post-training quantisation of a float model into the integer form
 * (docs/integer-semantics.md §5): symmetric int8 activations and weights, one scale per
 * tensor, int32 biases at the accumulator's scale, and a multiplier/shift pair per layer.
 */
export interface QuantisedModel {
  readonly model: IntegerModel;
  /** Real value of one step of each activation: scales[0] the input, scales[l] layer l. */
  readonly scales: readonly number[];
  /** Real value of one step of each layer's weights: weightScales[l − 1] for layer l. */
  readonly weightScales: readonly number[];
}

/**
 * Calibrates activation scales on `calibration` inputs (the largest magnitude seen maps to
 * 127) and quantises every layer. Throws a RangeError naming the sample (and the position in
 * it) for calibration data that is empty, of the wrong length or not finite, and throws if
 * the result breaks the integer semantics (for example a bias too large for the accumulator bound).
 */
export function quantise(float: FloatModel, calibration: readonly ArrayLike<number>[]): QuantisedModel {
  checkSamples(calibration, float.inputSize, "calibration");
  checkFiniteWeights(float);
  const maxAbs = new Array<number>(float.layers.length + 1).fill(0);
  calibration.forEach((x, k) => {
    maxAbs[0] = Math.max(maxAbs[0], maxAbsOf(x));
    runFloat(float, x).forEach((a, l) => {
      const m = maxAbsOf(a);
      // Finite inputs and weights can still overflow a double; a NaN or infinite maximum would
      // silently become scale 1 or a NaN requantisation scale further on.
      if (!Number.isFinite(m)) throw new ModelValidationError(l + 1, `float activation is not finite (${m}) on calibration sample ${k}`);
      maxAbs[l + 1] = Math.max(maxAbs[l + 1], m);
    });
  });
  const scales = maxAbs.map(scaleFor);
  const weightScales = float.layers.map((layer) => scaleFor(maxAbsOf(layer.weights)));
  const layers = float.layers.map((layer, i): DenseLayer => {
    const wScale = weightScales[i];
    const accScale = scales[i] * wScale;
    const { multiplier, shift } = requantisationFor(i + 1, accScale / scales[i + 1]);
    // Checked before Int32Array.from, which would silently wrap an out-of-range bias modulo 2^32.
    const bias = Array.from(layer.bias, (b) => Math.round(b / accScale));
    const outside = bias.find((b) => !(b >= INT32_MIN && b <= INT32_MAX));
    if (outside !== undefined) throw new ModelValidationError(i + 1, `quantised bias ${outside} outside int32 (float bias too large for the accumulator scale ${accScale})`);
    return {
      op: "dense",
      nIn: layer.nIn,
      nOut: layer.nOut,
      weights: Int8Array.from(layer.weights, (w) => clampRound(w / wScale, -INT8_MAX, INT8_MAX)),
      bias: Int32Array.from(bias),
      multiplier,
      shift,
      clampLo: layer.relu ? 0 : INT8_MIN,
      clampHi: INT8_MAX,
    };
  });
  const model: IntegerModel = { inputSize: float.inputSize, layers };
  validateModel(model);
  return { model, scales, weightScales };
}

/**
 * The one check of model inputs given as real numbers (calibration data, an evaluation set), before
 * anything is computed from them: at least one sample, each a list of exactly `inputSize` finite
 * numbers. In calibration a NaN would otherwise vanish in the maximum (every scale it reaches
 * becomes 1) and an infinity would surface much later as a NaN requantisation scale; the
 * RangeError names the set (`what`), the sample and the position instead.
 */
export function checkSamples(samples: readonly ArrayLike<number>[], inputSize: number, what: string): void {
  if (samples.length === 0) throw new RangeError(`${what} needs at least one input`);
  for (let k = 0; k < samples.length; k++) {
    const x = samples[k] as unknown;
    if (x === null || typeof x !== "object" || !Number.isSafeInteger((x as ArrayLike<number>).length)) {
      throw new RangeError(`${what} sample ${k} is not a list of numbers (got ${describeValue(x)})`);
    }
    const values = x as ArrayLike<number>;
    if (values.length !== inputSize) throw new RangeError(`${what} sample ${k} has ${values.length} values, the model expects ${inputSize}`);
    for (let i = 0; i < values.length; i++) {
      if (!Number.isFinite(values[i])) {
        throw new RangeError(`${what} sample ${k} has ${describeValue(values[i])} at position ${i}: every ${what} value must be a finite number`);
      }
    }
  }
}

/** Float weights and biases must be finite too: a NaN weight would also quantise with scale 1. */
function checkFiniteWeights(float: FloatModel): void {
  float.layers.forEach((layer, i) => {
    for (const [what, values] of [["weight", layer.weights], ["bias", layer.bias]] as const) {
      const at = values.findIndex((v) => !Number.isFinite(v));
      if (at >= 0) throw new ModelValidationError(i + 1, `float ${what} ${at} of node ${layer.node} is ${values[at]}, not a finite number`);
    }
  });
}

function describeValue(v: unknown): string {
  if (typeof v === "string") return JSON.stringify(v);
  if (typeof v === "bigint") return `${v}n`;
  if (v !== null && typeof v === "object") return Array.isArray(v) ? "an array" : "an object";
  return String(v); // numbers, undefined, null, booleans
}

/** Quantises a real input vector at `scale` into int8 (round half up, then clamp). */
export function quantiseInput(x: ArrayLike<number>, scale: number): Int8Array {
  return Int8Array.from(x, (v) => clampRound(v / scale, INT8_MIN, INT8_MAX));
}

/**
 * multiplier / 2^shift closest to `real` with the largest shift whose multiplier still
 * fits: the most precise pair the integer semantics allows.
 */
export function fixedPoint(real: number): { multiplier: number; shift: number } {
  if (!(real >= 0) || !Number.isFinite(real)) throw new RangeError(`requantisation scale must be a finite non-negative number, got ${real}`);
  for (let shift = SHIFT_MAX; shift >= SHIFT_MIN; shift--) {
    const multiplier = Math.round(real * 2 ** shift);
    if (multiplier <= MULTIPLIER_MAX) return { multiplier, shift };
  }
  throw new RangeError(`requantisation scale ${real} is too large: it needs a multiplier above ${MULTIPLIER_MAX} even with shift ${SHIFT_MIN}`);
}

function requantisationFor(layer: number, real: number): { multiplier: number; shift: number } {
  try {
    return fixedPoint(real);
  } catch (err) {
    throw new ModelValidationError(layer, (err as Error).message);
  }
}

function scaleFor(maxAbs: number): number {
  return maxAbs > 0 ? maxAbs / INT8_MAX : 1;
}

function maxAbsOf(values: ArrayLike<number>): number {
  let m = 0;
  for (let i = 0; i < values.length; i++) m = Math.max(m, Math.abs(values[i]));
  return m;
}

function clampRound(v: number, lo: number, hi: number): number {
  return Math.min(hi, Math.max(lo, Math.round(v)));
}
