import type { Pads, Pair, Shape } from "./program";
import { sizeOf, stridesOf } from "./program";

/**
 * Index arithmetic shared by every executor and (later) the step verifiers: window sizes,
 * window positions, broadcasting. Pure functions of shapes and attributes.
 */

/** Output length of a sliding window along one axis (ONNX floor mode): ⌊(n + pb + pe − d·(k−1) − 1) / s⌋ + 1, or ≤ 0 when none fits. */
export function windowOutputSize(n: number, kernel: number, stride: number, padBegin: number, padEnd: number, dilation: number): number {
  return Math.floor((n + padBegin + padEnd - dilation * (kernel - 1) - 1) / stride) + 1;
}

/** A 2-D sliding window over [C, H, W] giving [·, OH, OW]. */
export interface Window2d {
  readonly H: number;
  readonly W: number;
  readonly kH: number;
  readonly kW: number;
  readonly strides: Pair;
  readonly pads: Pads;
  readonly dilations: Pair;
  readonly OH: number;
  readonly OW: number;
}

export function window2d(H: number, W: number, kernel: Pair, strides: Pair, pads: Pads, dilations: Pair): Window2d {
  return {
    H,
    W,
    kH: kernel[0],
    kW: kernel[1],
    strides,
    pads,
    dilations,
    OH: windowOutputSize(H, kernel[0], strides[0], pads[0], pads[2], dilations[0]),
    OW: windowOutputSize(W, kernel[1], strides[1], pads[1], pads[3], dilations[1]),
  };
}

/** Input row of window row `ky` for output row `oy`: oy·sH − padTop + ky·dH (may fall outside 0 … H−1: a padded cell). */
export function windowRow(w: Window2d, oy: number, ky: number): number {
  return oy * w.strides[0] - w.pads[0] + ky * w.dilations[0];
}

/** Input column of window column `kx` for output column `ox`: ox·sW − padLeft + kx·dW. */
export function windowCol(w: Window2d, ox: number, kx: number): number {
  return ox * w.strides[1] - w.pads[1] + kx * w.dilations[1];
}

/** Flat index of input cell (c, iy, ix) in [C, H, W], or −1 for a padded cell. */
export function cellIndex(w: Window2d, c: number, iy: number, ix: number): number {
  if (iy < 0 || iy >= w.H || ix < 0 || ix >= w.W) return -1;
  return (c * w.H + iy) * w.W + ix;
}

/**
 * True when every window holds at least one cell of the input (not only padding). The rows
 * and columns are independent, so it is checked per axis.
 */
export function everyWindowTouchesInput(w: Window2d): boolean {
  const axis = (n: number, out: number, k: number, pos: (o: number, kk: number) => number) => {
    for (let o = 0; o < out; o++) {
      let hit = false;
      for (let kk = 0; kk < k && !hit; kk++) {
        const p = pos(o, kk);
        hit = p >= 0 && p < n;
      }
      if (!hit) return false;
    }
    return true;
  };
  return axis(w.H, w.OH, w.kH, (o, k) => windowRow(w, o, k)) && axis(w.W, w.OW, w.kW, (o, k) => windowCol(w, o, k));
}

/** The shape two operands broadcast to (same rank; each dimension equal, or 1 on one side), or undefined. */
export function broadcastShape(a: Shape, b: Shape): number[] | undefined {
  if (a.length !== b.length) return undefined;
  const out: number[] = [];
  for (let i = 0; i < a.length; i++) {
    if (a[i] !== b[i] && a[i] !== 1 && b[i] !== 1) return undefined;
    out.push(Math.max(a[i], b[i]));
  }
  return out;
}

/**
 * The map from an output element of `outShape` to the element of an operand of `shape` that
 * broadcasting reads: coordinate a is kept where the operand has the dimension, 0 where it has 1.
 */
export function broadcastIndexMap(shape: Shape, outShape: Shape): (i: number) => number {
  if (sizeOf(shape) === sizeOf(outShape)) return (i) => i;
  const outStrides = stridesOf(outShape);
  const inStrides = stridesOf(shape);
  return (i) => {
    let j = 0;
    for (let a = 0; a < outShape.length; a++) {
      const coord = Math.floor(i / outStrides[a]) % outShape[a];
      if (shape[a] !== 1) j += coord * inStrides[a];
    }
    return j;
  };
}
