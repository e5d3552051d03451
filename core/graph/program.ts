import { OP_DENSE } from "../model";

/**
 * The integer graph program (docs/graph-semantics.md): the types, the op codes and nothing else.
 *
 * A program is an input shape, a list of constants and a topologically ordered list of ops.
 * Value 0 is the program input; op k (0-based) produces value k + 1 from earlier values
 * (`inputs`, value ids) and constants (constant ids). Every value is an int8 tensor; the
 * intermediate stages of an op (an int32 accumulator, a sum) are int32 tensors that belong
 * to the op's value (core/graph/stages.ts). The last value is the program's output.
 *
 * Shapes carry no batch dimension: an image is [C, H, W], a vector [n]. The ONNX form adds
 * the batch in front (core/graph/onnxGraph.ts).
 *
 * Every op is a plain JSON-able descriptor: numbers and arrays of numbers, constants by id.
 */

export type Shape = readonly number[];

/** A constant tensor: weights, biases, lookup tables. */
export type Constant =
  | { readonly dtype: "int8"; readonly shape: Shape; readonly data: Int8Array }
  | { readonly dtype: "int32"; readonly shape: Shape; readonly data: Int32Array };

/** y = clamp(requantise(acc, m, s), lo, hi) over a reduction: one multiplier/shift per output channel, or one for all. */
interface RequantisedPerChannel {
  /** One entry (the whole tensor) or one per output channel. */
  readonly multiplier: readonly number[];
  /** Same length as `multiplier`. */
  readonly shift: readonly number[];
  readonly clampLo: number;
  readonly clampHi: number;
}

interface Requantised {
  readonly multiplier: number;
  readonly shift: number;
  readonly clampLo: number;
  readonly clampHi: number;
}

/** Height and width pairs: [h, w]. */
export type Pair = readonly [number, number];
/** Four-sided padding in ONNX order: [top, left, bottom, right]. */
export type Pads = readonly [number, number, number, number];

/** Today's Dense layer as a graph op: input [nIn], weight int8 [nOut, nIn] (output-major), bias int32 [nOut]. */
export interface DenseOp extends RequantisedPerChannel {
  readonly kind: "dense";
  readonly inputs: readonly [number];
  readonly weight: number;
  readonly bias: number;
}

/** 2-D convolution, NCHW: input [C, H, W], weight int8 [M, C/groups, kH, kW], bias int32 [M]. */
export interface ConvOp extends RequantisedPerChannel {
  readonly kind: "conv";
  readonly inputs: readonly [number];
  readonly weight: number;
  readonly bias: number;
  readonly strides: Pair;
  readonly pads: Pads;
  readonly dilations: Pair;
  readonly groups: number;
}

/** Max pooling over [C, H, W]; padded cells never win (they are not part of the window). */
export interface MaxPoolOp {
  readonly kind: "maxPool";
  readonly inputs: readonly [number];
  readonly kernel: Pair;
  readonly strides: Pair;
  readonly pads: Pads;
  readonly dilations: Pair;
}

/** Average pooling over [C, H, W]: the window sum (padded cells count, as zeros), requantised; 1/count is folded into the multiplier. */
export interface AvgPoolOp extends Requantised {
  readonly kind: "avgPool";
  readonly inputs: readonly [number];
  readonly kernel: Pair;
  readonly strides: Pair;
  readonly pads: Pads;
  readonly dilations: Pair;
}

/** Global average pooling: [C, H, W] → [C, 1, 1], the channel sum requantised. */
export interface GlobalAvgPoolOp extends Requantised {
  readonly kind: "globalAvgPool";
  readonly inputs: readonly [number];
}

/** Residual add: clamp(requantise(a, mA, sA) + requantise(b, mB, sB)), with broadcasting. */
export interface AddOp {
  readonly kind: "add";
  readonly inputs: readonly [number, number];
  readonly multiplierA: number;
  readonly shiftA: number;
  readonly multiplierB: number;
  readonly shiftB: number;
  readonly clampLo: number;
  readonly clampHi: number;
}

/** Elementwise product: clamp(requantise(a·b, m, s)), with broadcasting (a [C, H, W] times b [C, 1, 1]). */
export interface MulOp extends Requantised {
  readonly kind: "mul";
  readonly inputs: readonly [number, number];
}

/** Clip, ReLU (lo = 0), ReLU6 (hi = the int8 image of 6): min(hi, max(lo, x)). */
export interface ClampOp {
  readonly kind: "clamp";
  readonly inputs: readonly [number];
  readonly lo: number;
  readonly hi: number;
}

/** Any int8 → int8 function as a 256-entry table (int8 constant [256]): y = table[x + 128]. HardSigmoid, HardSwish. */
export interface TableOp {
  readonly kind: "table";
  readonly inputs: readonly [number];
  readonly table: number;
}

/** Layout: [d0, d1, …] → [d0·d1·…], element order unchanged. */
export interface FlattenOp {
  readonly kind: "flatten";
  readonly inputs: readonly [number];
}

/** Layout: the same elements in the same row-major order under another shape. */
export interface ReshapeOp {
  readonly kind: "reshape";
  readonly inputs: readonly [number];
  readonly shape: readonly number[];
}

/** Layout: output dimension a is input dimension perm[a]. */
export interface TransposeOp {
  readonly kind: "transpose";
  readonly inputs: readonly [number];
  readonly perm: readonly number[];
}

/** Layout: the inputs laid one after another along `axis`; every other dimension agrees. */
export interface ConcatOp {
  readonly kind: "concat";
  readonly inputs: readonly number[];
  readonly axis: number;
}

/** Layout: on every axis a, output index i reads input index starts[a] + i·steps[a] (steps ≠ 0), for i < sizes[a]. */
export interface SliceOp {
  readonly kind: "slice";
  readonly inputs: readonly [number];
  readonly starts: readonly number[];
  readonly steps: readonly number[];
  readonly sizes: readonly number[];
}

export type Op =
  | DenseOp
  | ConvOp
  | MaxPoolOp
  | AvgPoolOp
  | GlobalAvgPoolOp
  | AddOp
  | MulOp
  | ClampOp
  | TableOp
  | FlattenOp
  | ReshapeOp
  | TransposeOp
  | ConcatOp
  | SliceOp;

export type OpKind = Op["kind"];
export type OpOf<K extends OpKind> = Extract<Op, { kind: K }>;

/** A whole program. Value 0 is the input; op k produces value k + 1; the last value is the output. */
export interface GraphProgram {
  readonly inputShape: Shape;
  readonly constants: readonly Constant[];
  readonly ops: readonly Op[];
}

/**
 * Op codes: the first word of every op's descriptor (core/graph/descriptor.ts), part of the
 * model commitment once integrated, so they never change. Dense keeps today's code 1.
 * Computing ops take 1–31, layout ops 32–63.
 */
export const OP_CODES: { readonly [K in OpKind]: number } = {
  dense: OP_DENSE,
  conv: 2,
  maxPool: 3,
  avgPool: 4,
  globalAvgPool: 5,
  add: 6,
  mul: 7,
  clamp: 8,
  table: 9,
  flatten: 32,
  reshape: 33,
  transpose: 34,
  concat: 35,
  slice: 36,
};

export const OP_KINDS = Object.keys(OP_CODES) as OpKind[];

/** Layout ops: index maps, not computation (their values are views, not committed). */
export const LAYOUT_KINDS: ReadonlySet<OpKind> = new Set(["flatten", "reshape", "transpose", "concat", "slice"]);

export function isLayout(op: Op): boolean {
  return LAYOUT_KINDS.has(op.kind);
}

/** The op kind with code `code`, or undefined. */
export function opKindOf(code: number): OpKind | undefined {
  return OP_KINDS.find((k) => OP_CODES[k] === code);
}

/** Elements of a tensor of `shape` (1 for a scalar shape []). */
export function sizeOf(shape: Shape): number {
  return shape.reduce((a, b) => a * b, 1);
}

/** Row-major strides of `shape`. */
export function stridesOf(shape: Shape): number[] {
  const s = new Array<number>(shape.length);
  let k = 1;
  for (let a = shape.length - 1; a >= 0; a--) {
    s[a] = k;
    k *= shape[a];
  }
  return s;
}
