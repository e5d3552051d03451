/**
 * The integer semantics of a Refute model, defined once (docs/integer-semantics.md).
 *
 * Every executor (the TypeScript reference, the ONNX graph that onnxruntime runs, the
 * Solidity one-step verifier) computes exactly these functions. Nothing here uses a
 * floating-point value in a way that could round.
 */

export const INT8_MIN = -128;
export const INT8_MAX = 127;
export const INT32_MIN = -(2 ** 31);
export const INT32_MAX = 2 ** 31 - 1;
/** The largest |w·x| of two int8 values: (-128)·(-128). */
export const MAX_ABS_PRODUCT = 128 * 128;

/** Requantisation multiplier range: 0 ≤ multiplier ≤ MULTIPLIER_MAX. */
export const MULTIPLIER_MAX = 2 ** 31 - 1;
/** Requantisation shift range: SHIFT_MIN ≤ shift ≤ SHIFT_MAX. */
export const SHIFT_MIN = 1;
export const SHIFT_MAX = 62;

/**
 * The requantisation of an int32 accumulator: round(acc · multiplier / 2^shift),
 * ties rounded towards +∞, i.e. floor((acc·multiplier + 2^(shift-1)) / 2^shift).
 *
 * |acc·multiplier| < 2^62, so the sum fits a signed 64-bit integer in every executor.
 * The result is not yet clamped; see {@link clamp}.
 */
export function requantise(acc: number, multiplier: number, shift: number): bigint {
  const s = BigInt(shift);
  return (BigInt(acc) * BigInt(multiplier) + (1n << (s - 1n))) >> s; // bigint >> is a floor
}

/** Clamps a requantised value into [lo, hi] (ReLU is lo = 0), giving the int8 output. */
export function clamp(value: bigint, lo: number, hi: number): number {
  if (value < BigInt(lo)) return lo;
  if (value > BigInt(hi)) return hi;
  return Number(value);
}

/** The largest |accumulator| a layer can reach: max |bias| + fanIn · 128². */
export function accumulatorBound(fanIn: number, maxAbsBias: number): number {
  return maxAbsBias + fanIn * MAX_ABS_PRODUCT;
}

/** True when no input can push a layer's accumulator, or any partial sum of it, outside int32. */
export function accumulatorFitsInt32(fanIn: number, maxAbsBias: number): boolean {
  return accumulatorBound(fanIn, maxAbsBias) <= INT32_MAX;
}
