import { INT32_MAX, MAX_ABS_PRODUCT, MULTIPLIER_MAX, SHIFT_MAX, SHIFT_MIN } from "../../core/intSemantics";
import type { DenseLayer, IntegerModel } from "../../core/model";
import { fixedPoint } from "../../core/quantise";
import type { Rng } from "../../core/rng";

/**
 * Random integer models for differential tests and benchmarks. Every model obeys the
 * integer semantics (it passes validateModel); the requantisation styles stress different
 * parts of it.
 */
export type RequantStyle =
  /** outputs spread over the int8 range, as a trained model's are */
  | "scaled"
  /** any multiplier and shift: mostly saturated or zero outputs, extreme products */
  | "extreme";

export interface SyntheticModelOptions {
  readonly sizes: readonly number[];
  readonly style: RequantStyle;
  /** Probability that a hidden layer has ReLU; other layers clamp to a random range or to int8. */
  readonly reluRate?: number;
}

export function syntheticModel(rng: Rng, options: SyntheticModelOptions): IntegerModel {
  const { sizes } = options;
  const layers: DenseLayer[] = [];
  for (let l = 0; l + 1 < sizes.length; l++) {
    const nIn = sizes[l];
    const nOut = sizes[l + 1];
    const biasRoom = Math.min(INT32_MAX - nIn * MAX_ABS_PRODUCT, 1 << 20);
    const { multiplier, shift } = requant(rng, options.style, nIn);
    const clampKind = rng.float();
    const relu = l + 2 < sizes.length && clampKind < (options.reluRate ?? 0.5);
    const lo = relu ? 0 : clampKind < 0.85 ? -128 : rng.int(-128, 0);
    layers.push({
      op: "dense",
      nIn,
      nOut,
      weights: rng.int8Array(nIn * nOut),
      bias: Int32Array.from({ length: nOut }, () => rng.int(-biasRoom, biasRoom)),
      multiplier,
      shift,
      clampLo: lo,
      clampHi: relu || clampKind < 0.85 ? 127 : rng.int(lo, 127),
    });
  }
  return { inputSize: sizes[0], layers };
}

function requant(rng: Rng, style: RequantStyle, nIn: number): { multiplier: number; shift: number } {
  switch (style) {
    case "scaled":
      // Random int8 products sum to about 128²/3·√nIn in magnitude; map a few of those to 127.
      return fixedPoint((127 * (0.5 + rng.float())) / ((MAX_ABS_PRODUCT / 3) * Math.sqrt(nIn) * 2));
    case "extreme":
      return { multiplier: rng.float() < 0.1 ? MULTIPLIER_MAX : rng.int(0, MULTIPLIER_MAX), shift: rng.int(SHIFT_MIN, SHIFT_MAX) };
  }
}

/** Random int8 inputs for `model`, with the extremes (all −128, all 127, alternating) first. */
export function syntheticInputs(rng: Rng, size: number, count: number): Int8Array {
  const batch = new Int8Array(size * count);
  for (let k = 0; k < count; k++) {
    for (let i = 0; i < size; i++) {
      batch[k * size + i] = k === 0 ? -128 : k === 1 ? 127 : k === 2 ? (i % 2 === 0 ? -128 : 127) : rng.int(-128, 127);
    }
  }
  return batch;
}
