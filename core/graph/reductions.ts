import { ELEMENTS_PER_LEAF } from "../commitments";
import { INT8_MIN } from "../intSemantics";
import { cellIndex, window2d, windowCol, windowRow } from "./geometry";
import type { ConvOp, DenseOp, GraphProgram, MaxPoolOp, AvgPoolOp, GlobalAvgPoolOp, Shape } from "./program";
import type { Combine } from "./stages";

/** Terms of one chunk of a row, and of one leaf of weights (int8, 32 a leaf). */
export const CHUNK_TERMS = ELEMENTS_PER_LEAF;
/**
 * Terms of one chunk of a narrow Conv ({@link isNarrowConv}): each term of such a window may be in
 * another word of the input (another channel's plane, another row of it, or a cell a dilation away),
 * so a chunk of 32 would open up to 32 words in one step. It divides 32: a chunk's weights stay in
 * one leaf.
 */
export const NARROW_CHUNK_TERMS = 8;
export const NARROW_KERNEL_WIDTH = 3;

/**
 * Whether a Conv with a kernel `kW` wide and a dilation `dW` along the width takes chunks of
 * {@link NARROW_CHUNK_TERMS}: a kernel less than {@link NARROW_KERNEL_WIDTH} wide, or a window row that
 * spans more than a word (`dW·(kW − 1) ≥ 32`: its cells are in different words).
 */
export function isNarrowConv(kW: number, dW: number): boolean {
  return kW < NARROW_KERNEL_WIDTH || dW * (kW - 1) >= CHUNK_TERMS;
}

/**
 * The rows of every reduce stage (docs/graph-semantics.md §4.1): for output element o, the
 * canonical list of terms t = 0 … rowLength−1, each naming one input element (or a padded
 * cell) and, for a sum of products, one weight. The reference executor folds whole rows;
 * the dispute game folds one chunk of a row ({@link foldTerms} over {@link chunkRange}).
 * Weights are laid out so that the weights of row o are contiguous: term t of row o uses
 * weight element o'·rowLength + t, o' the row's output channel.
 */
export interface Reduction {
  readonly combine: Combine;
  /** Output elements: one row each. */
  readonly rows: number;
  /** Terms per row, padded cells included (they are masked, not skipped in the numbering). */
  readonly rowLength: number;
  /** T: terms of one chunk of the dispute ({@link NARROW_CHUNK_TERMS} or {@link CHUNK_TERMS}). */
  readonly chunkTerms: number;
  /** The fold's starting value s_0 of row o: the bias (sum of products), 0 (sum) or −128 (max). */
  init(o: number): number;
  /** Flat index into the input value of term t of row o, or −1 for a padded cell. */
  input(o: number, t: number): number;
  /** Flat index into the weight constant of term t of row o (sum of products only; −1 otherwise). */
  weight(o: number, t: number): number;
}

export type ReducingOp = DenseOp | ConvOp | MaxPoolOp | AvgPoolOp | GlobalAvgPoolOp;

/** The reduction of `op` (its first stage), whose input has shape `inShape`. */
export function reductionOf(program: GraphProgram, op: ReducingOp, inShape: Shape): Reduction {
  switch (op.kind) {
    case "dense": {
      const nIn = inShape[0];
      const bias = program.constants[op.bias].data;
      return { combine: "sumOfProducts", rows: bias.length, rowLength: nIn, chunkTerms: CHUNK_TERMS, init: (o) => bias[o], input: (_o, t) => t, weight: (o, t) => o * nIn + t };
    }
    case "conv": {
      const [, H, W] = inShape;
      const [M, Cg, kH, kW] = program.constants[op.weight].shape;
      const bias = program.constants[op.bias].data;
      const g = window2d(H, W, [kH, kW], op.strides, op.pads, op.dilations);
      const plane = g.OH * g.OW;
      const kernel = kH * kW;
      const Mg = M / op.groups;
      const rowLength = Cg * kernel;
      return {
        combine: "sumOfProducts",
        rows: M * plane,
        rowLength,
        chunkTerms: isNarrowConv(kW, op.dilations[1]) ? NARROW_CHUNK_TERMS : CHUNK_TERMS,
        init: (o) => bias[Math.floor(o / plane)],
        input: (o, t) => {
          const m = Math.floor(o / plane);
          const p = o % plane;
          const c = Math.floor(m / Mg) * Cg + Math.floor(t / kernel);
          const r = t % kernel;
          return cellIndex(g, c, windowRow(g, Math.floor(p / g.OW), Math.floor(r / kW)), windowCol(g, p % g.OW, r % kW));
        },
        weight: (o, t) => Math.floor(o / plane) * rowLength + t,
      };
    }
    case "maxPool":
    case "avgPool": {
      const [C, H, W] = inShape;
      const g = window2d(H, W, op.kernel, op.strides, op.pads, op.dilations);
      const plane = g.OH * g.OW;
      const kW = op.kernel[1];
      return {
        combine: op.kind === "maxPool" ? "max" : "sum",
        rows: C * plane,
        rowLength: op.kernel[0] * kW,
        chunkTerms: CHUNK_TERMS,
        init: () => (op.kind === "maxPool" ? INT8_MIN : 0),
        input: (o, t) => {
          const p = o % plane;
          return cellIndex(g, Math.floor(o / plane), windowRow(g, Math.floor(p / g.OW), Math.floor(t / kW)), windowCol(g, p % g.OW, t % kW));
        },
        weight: () => -1,
      };
    }
    case "globalAvgPool": {
      const [C, H, W] = inShape;
      const n = H * W;
      return { combine: "sum", rows: C, rowLength: n, chunkTerms: CHUNK_TERMS, init: () => 0, input: (o, t) => o * n + t, weight: () => -1 };
    }
  }
}

/** The chunks of one row: ⌈R / T⌉. */
export function chunkCountOf(r: Reduction): number {
  return Math.ceil(r.rowLength / r.chunkTerms);
}

/** The terms of chunk k: [T·k, min(R, T·k + T)); throws for a chunk outside the row. */
export function chunkRange(r: Reduction, k: number): { readonly from: number; readonly to: number } {
  if (!Number.isSafeInteger(k) || k < 0 || k >= chunkCountOf(r)) throw new RangeError(`chunk ${k} outside a row of ${r.rowLength} terms in chunks of ${r.chunkTerms}`);
  const from = k * r.chunkTerms;
  return { from, to: Math.min(r.rowLength, from + r.chunkTerms) };
}

/**
 * The weight leaf of chunk k of a row whose output channel is `channel` (core/graph/commitments.ts
 * constantTree: each channel's row in ⌈R/32⌉ whole leaves), and the byte of it that holds the
 * chunk's first weight: term t's weight is byte t mod 32 of the row's leaf ⌊t/32⌋.
 */
export function chunkWeightLeaf(r: Reduction, channel: number, k: number): { readonly leaf: number; readonly offset: number } {
  const { from } = chunkRange(r, k);
  return { leaf: channel * Math.ceil(r.rowLength / CHUNK_TERMS) + Math.floor(from / CHUNK_TERMS), offset: from % CHUNK_TERMS };
}

/**
 * The running fold of row o over terms [from, to), starting from s: the element formula of a
 * reduce stage, and of one chunk step of the dispute. Padded cells (input −1) do not take part.
 */
export function foldTerms(r: Reduction, x: Int8Array, weights: Int8Array | undefined, o: number, s: number, from: number, to: number): number {
  for (let t = from; t < to; t++) {
    const i = r.input(o, t);
    if (i < 0) continue;
    switch (r.combine) {
      case "sumOfProducts":
        s += weights![r.weight(o, t)] * x[i];
        break;
      case "sum":
        s += x[i];
        break;
      case "max":
        if (x[i] > s) s = x[i];
        break;
    }
  }
  return s;
}

/** The whole row o: s_R = fold of every term from s_0 = init(o). */
export function foldRow(r: Reduction, x: Int8Array, weights: Int8Array | undefined, o: number): number {
  return foldTerms(r, x, weights, o, r.init(o), 0, r.rowLength);
}
