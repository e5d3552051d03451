import { GraphValidationError, validateProgram } from "../../graph/validate";
import { hardSigmoidTable, hardSwishTable, realFunctionTable } from "../../graph/tables";
import type { Constant, GraphProgram, Op, OpKind } from "../../graph/program";
import { INT8_MAX, INT8_MIN, INT32_MAX } from "../../intSemantics";
import { UnsupportedModelError } from "../../onnx/floatModel";
import { fixedPoint } from "../../quantise";
import type { FloatConv, FloatDense, FloatGraph, FloatNode } from "./floatGraph";

/**
 * Post-training quantisation of a float graph (floatGraph.ts) into an integer GraphProgram
 * (docs/graph-semantics.md):
 *
 * - Activations: one symmetric int8 scale per tensor, S = range / 127, the range from
 *   calibration (calibrate.ts). Ops that cannot change a scale share it with their input:
 *   MaxPool, a Clip not fused into a layer, and the layout ops; a Concat's inputs and output
 *   all share one (the largest range of the group), because a view cannot requantise.
 * - Conv / Dense: per-output-channel weight scales S_w[m] = max|W[m]| / 127, int32 biases at
 *   S_in·S_w[m], a multiplier/shift per channel for S_in·S_w[m] / S_out (core/quantise.ts's
 *   fixedPoint, the one implementation). A channel whose bias would not leave room in the
 *   accumulator bound |bias| + 128·Σ|w| ≤ 2³¹−1 gets a coarser weight scale (with a warning);
 *   a layer whose fan-in alone breaks the bound is refused, naming the node.
 * - Relu / ReLU6 / Clip right after a Conv, Dense, Add, Mul or pool whose output nothing else
 *   reads become that op's clamp: [round(lo / S_out), round(hi / S_out)] inside int8.
 * - Add: each operand requantised to the output scale (S_a / S_out, S_b / S_out); Mul: one
 *   multiplier for S_a·S_b / S_out; AvgPool / GlobalAvgPool: S_in / (S_out · count), the
 *   1/count folded into the multiplier.
 * - HardSigmoid, HardSwish: 256-entry tables (core/graph/tables.ts) from S_in to S_out.
 */

export interface QuantisedOp {
  /** The program value it makes (op k makes value k + 1). */
  readonly value: number;
  readonly kind: OpKind;
  /** The ONNX nodes it stands for (with a fused Relu/Clip). */
  readonly sources: readonly string[];
  /** The float tensor its value approximates. */
  readonly tensor: string;
  /** Per-output-channel weight scales (Conv, Dense). */
  readonly weightScales?: readonly number[];
}

export interface QuantisedGraph {
  readonly program: GraphProgram;
  /** Real value of one step of each program value (index = value id; 0 is the input). */
  readonly scales: readonly number[];
  /** The float tensor of each program value (index = value id). */
  readonly tensors: readonly string[];
  /** One entry per op, in program order. */
  readonly ops: readonly QuantisedOp[];
  readonly warnings: readonly string[];
}

/** Kinds whose op ends in a requantisation with a clamp, so that a following Relu/Clip folds into it. */
const CLAMPING = new Set(["conv", "dense", "add", "mul", "avgPool", "globalAvgPool"]);
/** Kinds whose output has the scale of their input(s). */
const SCALE_PRESERVING = new Set(["maxPool", "clip", "flatten", "reshape", "transpose", "concat", "slice"]);

/**
 * Quantises `graph` with `ranges[t]`, the real magnitude each float tensor's scale maps to 127
 * (calibrate.ts). Throws UnsupportedModelError naming the node when an op cannot be quantised
 * within the integer semantics (an accumulator that could overflow, a scale ratio no
 * multiplier/shift can express), and validates the program before returning it.
 */
export function quantiseGraph(graph: FloatGraph, ranges: ReadonlyMap<string, number>): QuantisedGraph {
  const producer = new Map(graph.nodes.map((n) => [n.output, n]));
  const consumers = new Map<string, number>([[graph.output, 1]]);
  for (const n of graph.nodes) for (const t of n.inputs) consumers.set(t, (consumers.get(t) ?? 0) + 1);

  // Clips folded into the op before them: producer node → the clip.
  const fusedInto = new Map<FloatNode, FloatNode & { kind: "clip" }>();
  const fused = new Set<FloatNode>();
  for (const n of graph.nodes) {
    if (n.kind !== "clip") continue;
    const p = producer.get(n.inputs[0]);
    if (p && CLAMPING.has(p.kind) && consumers.get(n.inputs[0]) === 1 && !fusedInto.has(p)) {
      fusedInto.set(p, n);
      fused.add(n);
    }
  }
  const outputTensor = (n: FloatNode) => fusedInto.get(n)?.output ?? n.output;

  // Scale groups: union-find over tensor names.
  const parent = new Map<string, string>();
  const find = (t: string): string => {
    let r = t;
    while (parent.has(r) && parent.get(r) !== r) r = parent.get(r)!;
    parent.set(t, r);
    return r;
  };
  const union = (a: string, b: string) => {
    const [ra, rb] = [find(a), find(b)];
    if (ra !== rb) parent.set(ra, rb);
  };
  for (const n of graph.nodes) {
    if (fused.has(n) || !SCALE_PRESERVING.has(n.kind)) continue;
    for (const t of n.inputs) union(t, n.output);
  }
  const rangeOf = (t: string) => {
    const r = ranges.get(t);
    if (r === undefined) throw new RangeError(`no calibrated range for tensor ${t}`);
    return r;
  };
  const groupRange = new Map<string, number>();
  for (const t of [graph.input.name, ...graph.nodes.map((n) => n.output)]) {
    const root = find(t);
    groupRange.set(root, Math.max(groupRange.get(root) ?? 0, rangeOf(t)));
  }
  const scaleOf = (t: string) => {
    const r = groupRange.get(find(t))!;
    return r > 0 ? r / INT8_MAX : 1;
  };

  const constants: Constant[] = [];
  const addConstant = (c: Constant) => constants.push(c) - 1;
  const ops: Op[] = [];
  const info: QuantisedOp[] = [];
  const warnings: string[] = [];
  const valueOf = new Map<string, number>([[graph.input.name, 0]]);
  const scales = [scaleOf(graph.input.name)];
  const tensors = [graph.input.name];

  for (const n of graph.nodes) {
    if (fused.has(n)) continue;
    const name = n.sources[0];
    const fail = (problem: string): never => {
      throw new UnsupportedModelError(name, problem);
    };
    const ratio = (real: number, what: string) => {
      try {
        return fixedPoint(real);
      } catch (err) {
        return fail(`${what}: ${(err as Error).message}`);
      }
    };
    const out = outputTensor(n);
    const sOut = scaleOf(out);
    const inputs = n.inputs.map((t) => valueOf.get(t)!);
    const sIn = n.inputs.map(scaleOf);
    const clip = fusedInto.get(n);
    const clamp = clip ? clampOf(clip.lo, clip.hi, sOut) : { lo: INT8_MIN, hi: INT8_MAX };
    let weightScales: number[] | undefined;
    let op: Op;
    switch (n.kind) {
      case "conv":
      case "dense": {
        const layer = quantiseLayer(n, sIn[0], sOut, fail, warnings);
        weightScales = layer.weightScales;
        const weight = addConstant({ dtype: "int8", shape: n.kind === "conv" ? n.weightShape : [n.nOut, n.nIn], data: layer.weight });
        const bias = addConstant({ dtype: "int32", shape: [layer.bias.length], data: layer.bias });
        const requant = { multiplier: layer.multiplier, shift: layer.shift, clampLo: clamp.lo, clampHi: clamp.hi };
        op =
          n.kind === "conv"
            ? { kind: "conv", inputs: [inputs[0]], weight, bias, strides: n.strides, pads: n.pads, dilations: n.dilations, groups: n.groups, ...requant }
            : { kind: "dense", inputs: [inputs[0]], weight, bias, ...requant };
        break;
      }
      case "maxPool":
        op = { kind: "maxPool", inputs: [inputs[0]], kernel: n.kernel, strides: n.strides, pads: n.pads, dilations: n.dilations };
        break;
      case "avgPool": {
        const { multiplier, shift } = ratio(sIn[0] / (sOut * n.kernel[0] * n.kernel[1]), "the average's scale ratio");
        op = { kind: "avgPool", inputs: [inputs[0]], kernel: n.kernel, strides: n.strides, pads: n.pads, dilations: n.dilations, multiplier, shift, clampLo: clamp.lo, clampHi: clamp.hi };
        break;
      }
      case "globalAvgPool": {
        const [, H, W] = shapeOf(graph, n.inputs[0]);
        const { multiplier, shift } = ratio(sIn[0] / (sOut * H * W), "the average's scale ratio");
        op = { kind: "globalAvgPool", inputs: [inputs[0]], multiplier, shift, clampLo: clamp.lo, clampHi: clamp.hi };
        break;
      }
      case "add": {
        const a = ratio(sIn[0] / sOut, "operand A's scale ratio");
        const b = ratio(sIn[1] / sOut, "operand B's scale ratio");
        op = { kind: "add", inputs: [inputs[0], inputs[1]], multiplierA: a.multiplier, shiftA: a.shift, multiplierB: b.multiplier, shiftB: b.shift, clampLo: clamp.lo, clampHi: clamp.hi };
        break;
      }
      case "mul": {
        const { multiplier, shift } = ratio((sIn[0] * sIn[1]) / sOut, "the product's scale ratio");
        op = { kind: "mul", inputs: [inputs[0], inputs[1]], multiplier, shift, clampLo: clamp.lo, clampHi: clamp.hi };
        break;
      }
      case "clip": {
        const c = clampOf(n.lo, n.hi, sOut);
        op = { kind: "clamp", inputs: [inputs[0]], lo: c.lo, hi: c.hi };
        break;
      }
      case "hardSigmoid":
        op = { kind: "table", inputs: [inputs[0]], table: addConstant({ dtype: "int8", shape: [256], data: hardSigmoidTable(sIn[0], sOut, n.alpha, n.beta) }) };
        break;
      case "hardSwish": {
        const { alpha, beta } = n;
        const table = alpha === 1 / 6 && beta === 0.5 ? hardSwishTable(sIn[0], sOut) : realFunctionTable((r) => r * Math.max(0, Math.min(1, alpha * r + beta)), sIn[0], sOut);
        op = { kind: "table", inputs: [inputs[0]], table: addConstant({ dtype: "int8", shape: [256], data: table }) };
        break;
      }
      case "flatten":
        op = { kind: "flatten", inputs: [inputs[0]] };
        break;
      case "reshape":
        op = { kind: "reshape", inputs: [inputs[0]], shape: [...n.shape] };
        break;
      case "transpose":
        op = { kind: "transpose", inputs: [inputs[0]], perm: [...n.perm] };
        break;
      case "concat":
        op = { kind: "concat", inputs, axis: n.axis };
        break;
      case "slice":
        op = { kind: "slice", inputs: [inputs[0]], starts: [...n.starts], steps: [...n.steps], sizes: [...n.sizes] };
        break;
    }
    ops.push(op);
    const value = ops.length;
    valueOf.set(out, value);
    scales.push(sOut);
    tensors.push(out);
    info.push({ value, kind: op.kind, sources: clip ? [...n.sources, ...clip.sources] : n.sources, tensor: out, ...(weightScales ? { weightScales } : {}) });
  }

  const program: GraphProgram = { inputShape: [...graph.input.shape], constants, ops };
  try {
    validateProgram(program);
  } catch (err) {
    if (!(err instanceof GraphValidationError)) throw err;
    const at = info[err.value - 1];
    throw new UnsupportedModelError(at ? at.sources[0] : graph.input.name, `the quantised program breaks the graph semantics: ${err.message}`);
  }
  if (valueOf.get(graph.output) !== ops.length) throw new Error(`internal: the output ${graph.output} is not the last value`);
  return { program, scales, tensors, ops: info, warnings };
}

/** A real clip range as an int8 clamp at scale `s`: ±∞ and anything outside int8 become the int8 bounds. */
function clampOf(lo: number, hi: number, s: number): { lo: number; hi: number } {
  const q = (v: number) => (v === Infinity ? INT8_MAX : v === -Infinity ? INT8_MIN : Math.min(INT8_MAX, Math.max(INT8_MIN, Math.round(v / s))));
  const [l, h] = [q(lo), q(hi)];
  return { lo: Math.min(l, h), hi: h };
}

function shapeOf(graph: FloatGraph, t: string): readonly number[] {
  return t === graph.input.name ? graph.input.shape : graph.nodes.find((n) => n.output === t)!.shape;
}

/** The largest |int8 weight| after quantisation (symmetric: −127 … 127). */
const WEIGHT_MAX = INT8_MAX;
/** |x| ≤ 128 in the accumulator bound. */
const MAX_ABS_INPUT = 128;

/**
 * Per-output-channel quantisation of a Conv or Dense layer: int8 weights, int32 biases and a
 * multiplier/shift per channel, with the accumulator bound |bias| + 128·Σ|w| ≤ 2³¹−1 met for
 * every channel.
 */
function quantiseLayer(
  n: FloatNode & (FloatConv | FloatDense),
  sIn: number,
  sOut: number,
  fail: (problem: string) => never,
  warnings: string[],
): { weight: Int8Array; bias: Int32Array; multiplier: number[]; shift: number[]; weightScales: number[] } {
  const channels = n.kind === "conv" ? n.weightShape[0] : n.nOut;
  const R = n.weight.length / channels;
  const worst = MAX_ABS_INPUT * WEIGHT_MAX * R;
  if (worst >= INT32_MAX) {
    fail(`a fan-in of ${R} products is too large for the int32 accumulator: 128 × 127 × ${R} = ${worst} > 2³¹−1 (docs/graph-semantics.md §3); split the layer`);
  }
  const weight = new Int8Array(n.weight.length);
  const bias = new Int32Array(channels);
  const multiplier: number[] = [];
  const shift: number[] = [];
  const weightScales: number[] = [];
  for (let m = 0; m < channels; m++) {
    const row = n.weight.subarray(m * R, (m + 1) * R);
    let maxAbs = 0;
    for (const w of row) maxAbs = Math.max(maxAbs, Math.abs(w));
    const b = n.bias[m];
    if (!Number.isFinite(maxAbs) || !Number.isFinite(b)) fail(`output channel ${m} has a weight or bias that is not a finite number`);
    if (maxAbs === 0 && b === 0) {
      // A dead channel: its output is 0 whatever the scale.
      weightScales.push(0);
      multiplier.push(0);
      shift.push(1);
      continue;
    }
    let sw = maxAbs / WEIGHT_MAX;
    // Room left for the bias once the weights take their worst case: raise the weight scale
    // (coarser weights, fewer accumulator steps per real unit) until the bias fits.
    const room = INT32_MAX - worst - 1;
    const needed = Math.abs(b) / (sIn * room);
    if (needed > sw) {
      if (maxAbs > 0) {
        warnings.push(
          `node ${n.sources[0]}: output channel ${m}'s bias ${b} would not fit the int32 accumulator at scale ${sIn} × ${sw}; its weight scale is raised ${(needed / sw).toPrecision(3)}× so that |bias| + 128·Σ|w| ≤ 2³¹−1`,
        );
      }
      sw = needed;
    }
    let sumAbs = 0;
    for (let t = 0; t < R; t++) {
      const q = Math.min(WEIGHT_MAX, Math.max(-WEIGHT_MAX, Math.round(row[t] / sw)));
      weight[m * R + t] = q;
      sumAbs += Math.abs(q);
    }
    const qb = Math.round(b / (sIn * sw));
    if (Math.abs(qb) + MAX_ABS_INPUT * sumAbs > INT32_MAX) {
      fail(`output channel ${m}: the accumulator bound |bias| + 128·Σ|w| = ${Math.abs(qb)} + 128 × ${sumAbs} exceeds 2³¹−1`);
    }
    bias[m] = qb;
    weightScales.push(sw);
    try {
      const r = fixedPoint((sIn * sw) / sOut);
      multiplier.push(r.multiplier);
      shift.push(r.shift);
    } catch (err) {
      fail(`output channel ${m}'s scale ratio ${sIn} × ${sw} / ${sOut}: ${(err as Error).message}`);
    }
  }
  return { weight, bias, multiplier, shift, weightScales };
}
