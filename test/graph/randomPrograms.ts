import type { Constant, GraphProgram, Op, Pads, Pair, Shape } from "../../core/graph/program";
import { sizeOf } from "../../core/graph/program";
import { hardSigmoidTable, hardSwishTable } from "../../core/graph/tables";
import { validateProgram } from "../../core/graph/validate";
import { MULTIPLIER_MAX, SHIFT_MAX } from "../../core/intSemantics";
import { Rng } from "../../core/rng";

/**
 * Seeded random graph programs for the differential test: random op mixes over small
 * shapes (convolutions with every stride, padding, dilation and grouping, pools, residual
 * and squeeze-and-excitation blocks, tables, layout ops), requantisation from tame to
 * extreme, weights and biases up to the accumulator bound. Every program passes validation:
 * a proposal that fails it is dropped and another is drawn.
 */

type Requant = { multiplier: number; shift: number };

class ProgramBuilder {
  readonly constants: Constant[] = [];
  readonly ops: Op[] = [];
  shapes: Shape[];

  constructor(
    readonly rng: Rng,
    readonly inputShape: Shape,
  ) {
    this.shapes = [inputShape];
  }

  get program(): GraphProgram {
    return { inputShape: this.inputShape, constants: this.constants, ops: this.ops };
  }

  int8(shape: Shape, data: Int8Array): number {
    this.constants.push({ dtype: "int8", shape, data });
    return this.constants.length - 1;
  }

  int32(shape: Shape, data: Int32Array): number {
    this.constants.push({ dtype: "int32", shape, data });
    return this.constants.length - 1;
  }

  /** Appends `op`; `nConstants` is the constant count before the op's own constants were added; keeps it if the program still validates. Returns the new value id or undefined. */
  tryAdd(make: () => Op, nConstants = this.constants.length): number | undefined {
    const op = make();
    this.ops.push(op);
    try {
      this.shapes = validateProgram(this.program);
      return this.ops.length;
    } catch {
      this.ops.pop();
      this.constants.length = nConstants;
      return undefined;
    }
  }

  /** A value id, biased towards recent values. */
  pick(filter: (s: Shape) => boolean = () => true): number | undefined {
    const ids = this.shapes.map((_, i) => i).filter((i) => filter(this.shapes[i]));
    if (ids.length === 0) return undefined;
    return this.rng.float() < 0.6 ? ids[ids.length - 1 - Math.min(ids.length - 1, this.rng.int(0, 1))] : ids[this.rng.int(0, ids.length - 1)];
  }

  // ---- random parameters ----

  weights(n: number): Int8Array {
    const style = this.rng.int(0, 5);
    const w = new Int8Array(n);
    for (let i = 0; i < n; i++) {
      if (style === 0) w[i] = this.rng.int(-3, 3);
      else if (style === 1 && this.rng.float() < 0.5) w[i] = 0;
      else w[i] = this.rng.float() < 0.05 ? (this.rng.float() < 0.5 ? -128 : 127) : this.rng.int(-128, 127);
    }
    return w;
  }

  /** Biases: mostly small, sometimes as large as the accumulator bound allows for the row. */
  biases(weights: Int8Array, rows: number): Int32Array {
    const rowLength = weights.length / rows;
    const big = this.rng.float() < 0.15;
    return Int32Array.from({ length: rows }, (_, r) => {
      let absW = 0;
      for (let t = 0; t < rowLength; t++) absW += Math.abs(weights[r * rowLength + t]);
      const room = 2 ** 31 - 1 - 128 * absW;
      const mag = big ? (this.rng.float() < 0.5 ? room : this.rng.int(0, room)) : this.rng.int(0, Math.min(room, 20000));
      return this.rng.float() < 0.5 ? -mag : mag;
    });
  }

  /** A multiplier/shift pair mapping values of about `spread` onto int8, or an extreme or tie-prone one. */
  requant(spread: number, target = 40): Requant {
    const u = this.rng.float();
    if (u < 0.1) return { multiplier: this.rng.int(0, 7), shift: this.rng.int(1, 4) }; // small: many exact ties
    if (u < 0.17) return [{ multiplier: MULTIPLIER_MAX, shift: SHIFT_MAX }, { multiplier: MULTIPLIER_MAX, shift: 1 }, { multiplier: 0, shift: 1 }, { multiplier: 1, shift: SHIFT_MAX }][this.rng.int(0, 3)];
    const ratio = (target / Math.max(1, spread)) * 2 ** (this.rng.float() * 3 - 1.5);
    let shift = this.rng.int(8, 46);
    while (shift > 1 && ratio * 2 ** shift > MULTIPLIER_MAX) shift--;
    return { multiplier: Math.min(MULTIPLIER_MAX, Math.max(0, Math.round(ratio * 2 ** shift))), shift };
  }

  clampRange(): { clampLo: number; clampHi: number } {
    const u = this.rng.float();
    if (u < 0.5) return { clampLo: -128, clampHi: 127 };
    if (u < 0.8) return { clampLo: 0, clampHi: 127 };
    const a = this.rng.int(-128, 127);
    const b = this.rng.int(-128, 127);
    return { clampLo: Math.min(a, b), clampHi: Math.max(a, b) };
  }

  pads(maxPad: number): Pads {
    if (this.rng.float() < 0.3) return [0, 0, 0, 0];
    return [this.rng.int(0, maxPad), this.rng.int(0, maxPad), this.rng.int(0, maxPad), this.rng.int(0, maxPad)];
  }

  pair(lo: number, hi: number, pSame = 0.6): Pair {
    const a = this.rng.int(lo, hi);
    return this.rng.float() < pSame ? [a, a] : [a, this.rng.int(lo, hi)];
  }

  // ---- ops ----

  conv(x: number, opts: { M?: number; kernel?: Pair; strides?: Pair; pads?: Pads; dilations?: Pair; groups?: number } = {}): number | undefined {
    const [C] = this.shapes[x];
    const divisors = Array.from({ length: C }, (_, i) => i + 1).filter((d) => C % d === 0);
    const groups = opts.groups ?? (this.rng.float() < 0.3 ? C : divisors[this.rng.int(0, divisors.length - 1)]);
    const M = opts.M ?? groups * this.rng.int(1, groups === C ? 2 : Math.max(1, Math.floor(6 / groups)));
    const [kH, kW] = opts.kernel ?? this.pair(1, 3);
    const n = M * (C / groups) * kH * kW;
    const mark = this.constants.length;
    const w = this.weights(n);
    const weight = this.int8([M, C / groups, kH, kW], w);
    const bias = this.int32([M], this.biases(w, M));
    const perChannel = this.rng.float() < 0.4;
    const rq = Array.from({ length: perChannel ? M : 1 }, () => this.requant(Math.sqrt((C / groups) * kH * kW) * 70 * 70));
    return this.tryAdd(() => ({
      kind: "conv",
      inputs: [x],
      weight,
      bias,
      strides: opts.strides ?? this.pair(1, 3),
      pads: opts.pads ?? this.pads(2),
      dilations: opts.dilations ?? (this.rng.float() < 0.25 ? this.pair(1, 2) : [1, 1]),
      groups,
      multiplier: rq.map((r) => r.multiplier),
      shift: rq.map((r) => r.shift),
      ...this.clampRange(),
    }), mark);
  }

  dense(x: number): number | undefined {
    const nIn = this.shapes[x][0];
    const nOut = this.rng.int(1, 24);
    const mark = this.constants.length;
    const w = this.weights(nOut * nIn);
    const weight = this.int8([nOut, nIn], w);
    const bias = this.int32([nOut], this.biases(w, nOut));
    const rq = Array.from({ length: this.rng.float() < 0.3 ? nOut : 1 }, () => this.requant(Math.sqrt(nIn) * 70 * 70));
    return this.tryAdd(() => ({ kind: "dense", inputs: [x], weight, bias, multiplier: rq.map((r) => r.multiplier), shift: rq.map((r) => r.shift), ...this.clampRange() }), mark);
  }

  pool(x: number, kind: "maxPool" | "avgPool"): number | undefined {
    const kernel = this.pair(1, 3);
    const pads: Pads = this.rng.float() < 0.4 ? [0, 0, 0, 0] : [this.rng.int(0, kernel[0] - 1), this.rng.int(0, kernel[1] - 1), this.rng.int(0, kernel[0] - 1), this.rng.int(0, kernel[1] - 1)];
    const common = { inputs: [x] as [number], kernel, strides: this.pair(1, 3), pads, dilations: (this.rng.float() < 0.2 ? this.pair(1, 2) : [1, 1]) as Pair };
    if (kind === "maxPool") return this.tryAdd(() => ({ kind, ...common }));
    return this.tryAdd(() => ({ kind, ...common, ...this.requant(kernel[0] * kernel[1] * 60), ...this.clampRange() }));
  }

  globalAvgPool(x: number): number | undefined {
    const [, H, W] = this.shapes[x];
    return this.tryAdd(() => ({ kind: "globalAvgPool", inputs: [x], ...this.requant(H * W * 60), ...this.clampRange() }));
  }

  add(a: number, b: number): number | undefined {
    const ra = this.requant(1, 0.6);
    const rb = this.requant(1, 0.6);
    return this.tryAdd(() => ({ kind: "add", inputs: [a, b], multiplierA: ra.multiplier, shiftA: ra.shift, multiplierB: rb.multiplier, shiftB: rb.shift, ...this.clampRange() }));
  }

  mul(a: number, b: number): number | undefined {
    return this.tryAdd(() => ({ kind: "mul", inputs: [a, b], ...this.requant(70 * 70), ...this.clampRange() }));
  }

  table(x: number): number | undefined {
    const u = this.rng.float();
    const s = 0.02 + this.rng.float() * 0.1;
    const data = u < 0.3 ? hardSigmoidTable(s, 1 / 127) : u < 0.6 ? hardSwishTable(s, s) : this.rng.int8Array(256);
    const mark = this.constants.length;
    const table = this.int8([256], data);
    return this.tryAdd(() => ({ kind: "table", inputs: [x], table }), mark);
  }

  clamp(x: number): number | undefined {
    const { clampLo, clampHi } = this.clampRange();
    return this.tryAdd(() => ({ kind: "clamp", inputs: [x], lo: clampLo, hi: clampHi }));
  }

  /** A residual block: x + conv(x) with "same" padding (a 3×3 or 1×1 kernel, C → C channels). */
  residual(x: number): number | undefined {
    const C = this.shapes[x][0];
    const k = this.rng.float() < 0.7 ? 3 : 1;
    const p = (k - 1) / 2;
    const branch = this.conv(x, { M: C, kernel: [k, k], strides: [1, 1], pads: [p, p, p, p], dilations: [1, 1], groups: this.rng.float() < 0.3 ? C : 1 });
    if (branch === undefined) return undefined;
    return this.add(x, branch);
  }

  /** Squeeze and excitation: x · hardSigmoid(conv1×1(globalAvgPool(x))), the gate broadcast over H × W. */
  squeezeExcite(x: number): number | undefined {
    const C = this.shapes[x][0];
    const pooled = this.globalAvgPool(x);
    if (pooled === undefined) return undefined;
    const fc = this.conv(pooled, { M: C, kernel: [1, 1], strides: [1, 1], pads: [0, 0, 0, 0], dilations: [1, 1], groups: 1 });
    if (fc === undefined) return undefined;
    const gate = this.table(fc);
    if (gate === undefined) return undefined;
    return this.rng.float() < 0.5 ? this.mul(x, gate) : this.mul(gate, x);
  }

  /** A value with the same shape as x, or one that broadcasts with it, if there is one. */
  partner(x: number): number {
    const s = this.shapes[x];
    const same = this.shapes.map((_, i) => i).filter((i) => this.shapes[i].length === s.length && this.shapes[i].every((d, a) => d === s[a] || d === 1 || s[a] === 1));
    return same[this.rng.int(0, same.length - 1)];
  }

  layout(x: number): number | undefined {
    const s = this.shapes[x];
    const n = sizeOf(s);
    const u = this.rng.int(0, 4);
    if (u === 0) return this.tryAdd(() => ({ kind: "flatten", inputs: [x] }));
    if (u === 1) return this.tryAdd(() => ({ kind: "reshape", inputs: [x], shape: this.factorise(n) }));
    if (u === 2) return this.tryAdd(() => ({ kind: "transpose", inputs: [x], perm: this.rng.shuffle(s.map((_, a) => a)) }));
    if (u === 3) {
      const axis = this.rng.int(0, s.length - 1);
      const others = this.shapes.map((_, i) => i).filter((i) => this.shapes[i].length === s.length && this.shapes[i].every((d, a) => a === axis || d === s[a]));
      const inputs = Array.from({ length: this.rng.int(2, 3) }, () => others[this.rng.int(0, others.length - 1)]);
      return this.tryAdd(() => ({ kind: "concat", inputs, axis }));
    }
    const starts: number[] = [];
    const steps: number[] = [];
    const sizes: number[] = [];
    for (const d of s) {
      const step = this.rng.float() < 0.5 ? 1 : this.rng.float() < 0.5 ? this.rng.int(2, 3) : -this.rng.int(1, 2);
      const start = this.rng.int(0, d - 1);
      const room = step > 0 ? Math.floor((d - 1 - start) / step) + 1 : Math.floor(start / -step) + 1;
      starts.push(start);
      steps.push(step);
      sizes.push(this.rng.int(1, room));
    }
    return this.tryAdd(() => ({ kind: "slice", inputs: [x], starts, steps, sizes }));
  }

  /** A random shape with n elements, rank 1 to 3 (rank 3 [C, H, W] lets convolutions follow). */
  factorise(n: number): number[] {
    const divisors = (m: number) => Array.from({ length: m }, (_, i) => i + 1).filter((d) => m % d === 0);
    const rank = this.rng.int(1, 3);
    const dims: number[] = [];
    let rest = n;
    for (let a = 0; a < rank - 1; a++) {
      const ds = divisors(rest);
      const d = ds[this.rng.int(0, ds.length - 1)];
      dims.push(d);
      rest /= d;
    }
    dims.push(rest);
    return dims;
  }
}

export interface RandomProgramOptions {
  /** Ops to aim for (proposals that fail validation are redrawn). */
  readonly ops?: number;
}

/** One random program; the same rng state gives the same program. */
export function randomProgram(rng: Rng, options: RandomProgramOptions = {}): GraphProgram {
  const image = rng.float() < 0.8;
  const large = rng.float() < 0.15;
  const inputShape = image ? (large ? [rng.int(1, 8), rng.int(8, 16), rng.int(8, 16)] : [rng.int(1, 5), rng.int(1, 9), rng.int(1, 9)]) : [rng.int(1, large ? 300 : 40)];
  const b = new ProgramBuilder(rng, inputShape);
  const target = options.ops ?? rng.int(3, 9);
  for (let tries = 0; b.ops.length < target && tries < 200; tries++) {
    const x = b.pick()!;
    const s = b.shapes[x];
    const u = rng.float();
    if (s.length === 3) {
      if (u < 0.25) b.conv(x);
      else if (u < 0.33) b.pool(x, "maxPool");
      else if (u < 0.41) b.pool(x, "avgPool");
      else if (u < 0.45) b.globalAvgPool(x);
      else if (u < 0.53) b.residual(x);
      else if (u < 0.6) b.squeezeExcite(x);
      else if (u < 0.66) b.add(x, b.partner(x));
      else if (u < 0.71) b.mul(x, b.partner(x));
      else if (u < 0.76) b.table(x);
      else if (u < 0.8) b.clamp(x);
      else b.layout(x);
    } else if (s.length === 1) {
      if (u < 0.35) b.dense(x);
      else if (u < 0.45) b.table(x);
      else if (u < 0.5) b.clamp(x);
      else if (u < 0.58) b.add(x, b.partner(x));
      else if (u < 0.64) b.mul(x, b.partner(x));
      else b.layout(x);
    } else {
      if (u < 0.15) b.table(x);
      else if (u < 0.25) b.add(x, b.partner(x));
      else if (u < 0.3) b.mul(x, b.partner(x));
      else b.layout(x);
    }
  }
  if (b.ops.length === 0) b.clamp(0);
  return b.program;
}

/** `batch` inputs for `program`, end to end: the extremes (all −128, all 127, alternating) first, then random ones. */
export function randomInputs(rng: Rng, program: GraphProgram, batch: number): Int8Array {
  const n = sizeOf(program.inputShape);
  const out = new Int8Array(n * batch);
  for (let k = 0; k < batch; k++) {
    const item = out.subarray(k * n, (k + 1) * n);
    if (k === 0) item.fill(-128);
    else if (k === 1) item.fill(127);
    else if (k === 2) item.forEach((_, i) => (item[i] = i % 2 ? -128 : 127));
    else item.set(rng.int8Array(n));
  }
  return out;
}

/** A readable dump of a program for a failure message: its ops and constant shapes (not their data). */
export function describeProgram(program: GraphProgram): string {
  const ops = program.ops.map((op, k) => `  v${k + 1} = ${JSON.stringify(op)}`).join("\n");
  const constants = program.constants.map((c, k) => `c${k}:${c.dtype}[${c.shape}]`).join(" ");
  return `input [${program.inputShape}]\n${ops}\n  constants ${constants}`;
}

export { Rng };
