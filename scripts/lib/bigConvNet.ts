import { INT8_MAX } from "../../core/intSemantics";
import type { Constant, GraphProgram, Op, Shape } from "../../core/graph/program";
import { sizeOf } from "../../core/graph/program";
import { fixedPoint } from "../../core/quantise";
import { Rng } from "../../core/rng";

/**
 * A large integer convolutional network built in memory from a seed, for benchmarks that need a
 * realistic size (the commitment overhead of issue 13 asks for at least 10M parameters): a VGG-like
 * stack of 3×3 convolutions (pad 1, ReLU) in stages, each stage ending in a 2×2 max pool, then
 * global average pooling and a Dense classifier.
 *
 * Weights are random int8 (normal, clamped to ±127, as symmetric per-channel quantisation leaves
 * trained weights), biases random int32 of about a fifth of the accumulator's spread, and every
 * requantisation is chosen per output channel from the second moment its accumulator has on the
 * inputs the layer is expected to see, so that a pre-activation spreads over about ±TARGET_STD and
 * the int8 values neither all saturate nor all vanish (the benchmark prints the measured shares).
 * The expected moments are propagated analytically through the convolutions and by a small seeded
 * simulation through ReLU and max pooling; the program is a deterministic function of the seed.
 */

export interface BigConvNetSpec {
  /** [C, H, W]. */
  readonly inputShape: readonly [number, number, number];
  /** Output channels of each 3×3 convolution, stage by stage; a 2×2 max pool ends every stage. */
  readonly stages: readonly (readonly number[])[];
  readonly classes: number;
}

/** 13 convolutions up to 512 channels on a 3×32×32 input (VGG-16's convolutional body), 14.7M parameters. */
export const BIG_CONV_NET: BigConvNetSpec = {
  inputShape: [3, 32, 32],
  stages: [[64, 64], [128, 128], [256, 256, 256], [512, 512, 512], [512, 512, 512]],
  classes: 10,
};

/** The standard deviation a pre-activation is scaled to, in int8 steps. */
export const TARGET_STD = 40;

/** First and second moment of the elements of a value. */
interface Moments {
  readonly mean: number;
  readonly square: number;
}

/** Uniform random int8 (what the benchmark feeds): mean −½, E[x²] = (128² + 127² + …)/256. */
const UNIFORM_INT8: Moments = { mean: -0.5, square: 5461.5 };

export function bigConvNet(seed = 0xb16c0, spec: BigConvNetSpec = BIG_CONV_NET): GraphProgram {
  const rng = new Rng(seed);
  const constants: Constant[] = [];
  const ops: Op[] = [];
  const constant = (c: Constant) => constants.push(c) - 1;
  let shape: Shape = spec.inputShape;
  let moments = UNIFORM_INT8;
  const relu = reluMoments(rng);
  const pooled = maxPoolMoments(rng);

  /** A weight of `weightShape` ([rows, …fan-in]), its bias and per-row requantisation. */
  const layer = (weightShape: readonly number[]) => {
    const rows = weightShape[0];
    const fanIn = sizeOf(weightShape) / rows;
    const weight = Int8Array.from({ length: rows * fanIn }, () => Math.max(-INT8_MAX, Math.min(INT8_MAX, Math.round(rng.normal() * 32))));
    const bias = new Int32Array(rows);
    const multiplier: number[] = [];
    const shift: number[] = [];
    for (let r = 0; r < rows; r++) {
      let sum = 0;
      let squares = 0;
      for (let i = r * fanIn; i < (r + 1) * fanIn; i++) {
        sum += weight[i];
        squares += weight[i] * weight[i];
      }
      // E[acc] = μ·Σw (+ bias), Var[acc] = (E[x²] − μ²)·Σw² for independent inputs.
      const spread = Math.sqrt((moments.square - moments.mean ** 2) * squares);
      bias[r] = Math.round(rng.normal() * 0.2 * spread);
      const mean = moments.mean * sum + bias[r];
      const q = fixedPoint(TARGET_STD / Math.sqrt(spread ** 2 + mean ** 2));
      multiplier.push(q.multiplier);
      shift.push(q.shift);
    }
    return { weight: constant({ dtype: "int8", shape: weightShape, data: weight }), bias: constant({ dtype: "int32", shape: [rows], data: bias }), multiplier, shift };
  };

  for (const stage of spec.stages) {
    for (const out of stage) {
      const [c, h, w] = shape;
      const l = layer([out, c, 3, 3]);
      ops.push({ kind: "conv", inputs: [ops.length], weight: l.weight, bias: l.bias, multiplier: l.multiplier, shift: l.shift, clampLo: 0, clampHi: INT8_MAX, strides: [1, 1], pads: [1, 1, 1, 1], dilations: [1, 1], groups: 1 });
      shape = [out, h, w];
      moments = relu;
    }
    ops.push({ kind: "maxPool", inputs: [ops.length], kernel: [2, 2], strides: [2, 2], pads: [0, 0, 0, 0], dilations: [1, 1] });
    shape = [shape[0], Math.floor(shape[1] / 2), Math.floor(shape[2] / 2)];
    moments = pooled;
  }
  const gap = fixedPoint(1 / (shape[1] * shape[2]));
  ops.push({ kind: "globalAvgPool", inputs: [ops.length], multiplier: gap.multiplier, shift: gap.shift, clampLo: -128, clampHi: INT8_MAX });
  ops.push({ kind: "flatten", inputs: [ops.length] });
  const head = layer([spec.classes, shape[0]]);
  ops.push({ kind: "dense", inputs: [ops.length], weight: head.weight, bias: head.bias, multiplier: head.multiplier, shift: head.shift, clampLo: -128, clampHi: INT8_MAX });
  return { inputShape: [...spec.inputShape], constants, ops };
}

/** Weights and biases of a program's Conv and Dense ops (lookup tables left out). */
export function parameterCount(program: GraphProgram): number {
  const ids = new Set(program.ops.flatMap((op) => (op.kind === "conv" || op.kind === "dense" ? [op.weight, op.bias] : [])));
  return [...ids].reduce((n, c) => n + sizeOf(program.constants[c].shape), 0);
}

/** Moments of clamp(round(N(0, TARGET_STD²)), 0, 127): a ReLU output. */
function reluMoments(rng: Rng): Moments {
  return simulate(() => relu(rng));
}

/** Moments of the maximum of 4 ReLU outputs (a 2×2 max pool, neighbours taken as independent). */
function maxPoolMoments(rng: Rng): Moments {
  return simulate(() => Math.max(relu(rng), relu(rng), relu(rng), relu(rng)));
}

const relu = (rng: Rng) => Math.max(0, Math.min(INT8_MAX, Math.round(rng.normal() * TARGET_STD)));

function simulate(draw: () => number, n = 20_000): Moments {
  let sum = 0;
  let squares = 0;
  for (let i = 0; i < n; i++) {
    const v = draw();
    sum += v;
    squares += v * v;
  }
  return { mean: sum / n, square: squares / n };
}
