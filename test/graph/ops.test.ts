import { expect } from "chai";
import { type GraphTrace, executeProgram } from "../../core/graph/execute";
import { OrtGraphRunner } from "../../core/graph/ortGraphRunner";
import type { Constant, GraphProgram, Op } from "../../core/graph/program";
import { sizeOf } from "../../core/graph/program";
import { foldRow, foldTerms, reductionOf } from "../../core/graph/reductions";
import { opStages, traceLayout, traceName } from "../../core/graph/stages";
import { hardSigmoidTable, hardSwishTable, tableOf } from "../../core/graph/tables";
import { validateProgram } from "../../core/graph/validate";
import { resolveElement } from "../../core/graph/views";
import type { DenseLayer } from "../../core/model";
import { denseForward } from "../../core/referenceExecutor";
import { clamp, requantise } from "../../core/intSemantics";
import { Rng } from "../../core/rng";

/**
 * The semantics of each op on hand-computed cases (docs/graph-semantics.md §5), checked on
 * both executors: every case runs through the reference executor and through onnxruntime,
 * which must agree on every tensor of the trace before the expected numbers are compared.
 */

const i8 = (shape: number[], data: number[]): Constant => ({ dtype: "int8", shape, data: Int8Array.from(data) });
const i32 = (shape: number[], data: number[]): Constant => ({ dtype: "int32", shape, data: Int32Array.from(data) });
const FULL = { clampLo: -128, clampHi: 127 };

/** Runs `program` on each input with both executors; fails on any disagreement; returns the reference traces. */
async function both(program: GraphProgram, ...inputs: number[][]): Promise<GraphTrace[]> {
  const n = sizeOf(program.inputShape);
  const batch = Int8Array.from(inputs.flat());
  const runner = await OrtGraphRunner.create(program);
  const ort = await runner.runBatch(batch, inputs.length);
  await runner.release();
  return inputs.map((_, k) => {
    const trace = executeProgram(program, batch.subarray(k * n, (k + 1) * n));
    trace.layout.forEach((e, t) => {
      const m = sizeOf(e.stage.shape);
      expect(Array.from(ort[t].subarray(k * m, (k + 1) * m)), `onnxruntime vs reference, input ${k}, ${traceName(e)}`).to.deep.equal(Array.from(trace.tensors[t]));
    });
    return trace;
  });
}

/** The tensor named `name` (`v1`) of a trace, as plain numbers. */
function tensor(trace: GraphTrace, name: string): number[] {
  const t = trace.layout.findIndex((e) => traceName(e) === name);
  expect(t, name).to.be.at.least(0);
  return Array.from(trace.tensors[t]);
}

/** The whole fold of every row of the reduction that makes value v (a finished reduce's, which no trace holds). */
function rowFolds(program: GraphProgram, trace: GraphTrace, v: number): number[] {
  const op = program.ops[v - 1];
  if (op.kind !== "dense" && op.kind !== "conv" && op.kind !== "avgPool" && op.kind !== "globalAvgPool") throw new TypeError(`value ${v} is not a finished reduce`);
  const shapes = validateProgram(program);
  const r = reductionOf(program, op, shapes[op.inputs[0]]);
  const weights = op.kind === "dense" || op.kind === "conv" ? (program.constants[op.weight].data as Int8Array) : undefined;
  return Array.from({ length: r.rows }, (_, o) => foldRow(r, trace.values[op.inputs[0]], weights, o));
}

function conv(fields: Partial<Extract<Op, { kind: "conv" }>> = {}): Op {
  return { kind: "conv", inputs: [0], weight: 0, bias: 1, strides: [1, 1], pads: [0, 0, 0, 0], dilations: [1, 1], groups: 1, multiplier: [1], shift: [1], ...FULL, ...fields };
}

describe("graph ops: semantics on hand-computed cases", () => {
  describe("Conv", () => {
    it("3×3 input, 2×2 kernel, pads 1, stride 2: padded cells are zero; requantisation ties go towards +∞", async () => {
      const p: GraphProgram = { inputShape: [1, 3, 3], constants: [i8([1, 1, 2, 2], [1, 2, 3, 4]), i32([1], [0])], ops: [conv({ strides: [2, 2], pads: [1, 1, 1, 1] })] };
      const [t] = await both(p, [1, 2, 3, 4, 5, 6, 7, 8, 9]);
      // windows start at (2·oy − 1, 2·ox − 1): 1·4; 2·3 + 3·4; 4·2 + 7·4; 5·1 + 6·2 + 8·3 + 9·4
      expect(rowFolds(p, t, 1)).to.deep.equal([4, 18, 36, 77]);
      expect(tensor(t, "v1")).to.deep.equal([2, 9, 18, 39]); // 4/2 = 2, 18/2 = 9, 36/2 = 18, 77/2 = 38.5 → 39
    });

    it("dilation 2: the kernel reads every other cell", async () => {
      const p: GraphProgram = { inputShape: [1, 4, 4], constants: [i8([1, 1, 2, 2], [1, 1, 1, 1]), i32([1], [0])], ops: [conv({ dilations: [2, 2] })] };
      const [t] = await both(p, Array.from({ length: 16 }, (_, i) => i));
      expect(rowFolds(p, t, 1)).to.deep.equal([0 + 2 + 8 + 10, 1 + 3 + 9 + 11, 4 + 6 + 12 + 14, 5 + 7 + 13 + 15]);
    });

    it("stride 3 > kernel 2: cells between windows are skipped", async () => {
      const p: GraphProgram = { inputShape: [1, 5, 5], constants: [i8([1, 1, 2, 2], [1, 1, 1, 1]), i32([1], [0])], ops: [conv({ strides: [3, 3] })] };
      const [t] = await both(p, Array.from({ length: 25 }, (_, i) => i));
      expect(rowFolds(p, t, 1)).to.deep.equal([0 + 1 + 5 + 6, 3 + 4 + 8 + 9, 15 + 16 + 20 + 21, 18 + 19 + 23 + 24]);
    });

    it("depthwise (groups = channels), per-channel bias and requantisation, negative values", async () => {
      const p: GraphProgram = {
        inputShape: [2, 3, 3],
        constants: [i8([2, 1, 1, 1], [2, 3]), i32([2], [10, -10])],
        ops: [conv({ groups: 2, strides: [2, 2], multiplier: [1, 3], shift: [1, 2] })],
      };
      const x = [...Array.from({ length: 9 }, (_, i) => i + 1), ...Array.from({ length: 9 }, (_, i) => -(i + 1))];
      const [t] = await both(p, x);
      expect(rowFolds(p, t, 1)).to.deep.equal([12, 16, 24, 28, -13, -19, -31, -37]);
      // channel 0: ·1/2 → 6, 8, 12, 14; channel 1: ·3/4 → −9.75, −14.25, −23.25, −27.75 → −10, −14, −23, −28
      expect(tensor(t, "v1")).to.deep.equal([6, 8, 12, 14, -10, -14, -23, -28]);
    });

    it("groups 2 of 2 input channels each: a group reads only its own channels", async () => {
      // 4 input channels of 1×1, 2 output channels, each sums its own two inputs with weights 1, 10.
      const p: GraphProgram = { inputShape: [4, 1, 1], constants: [i8([2, 2, 1, 1], [1, 10, 1, 10]), i32([2], [0, 0])], ops: [conv({ groups: 2, multiplier: [2], shift: [1] })] };
      const [t] = await both(p, [1, 2, 3, 4]);
      expect(tensor(t, "v1")).to.deep.equal([21, 43]);
    });

    it("saturates at the clamp and at int8; the ReLU clamp floors at 0", async () => {
      const p: GraphProgram = {
        inputShape: [1, 1, 2],
        constants: [i8([1, 1, 1, 1], [-128]), i32([1], [0])],
        ops: [conv({ multiplier: [2 ** 31 - 1], shift: [1] }), conv({ clampLo: 0, clampHi: 127 })],
      };
      const [t] = await both(p, [-128, 127]);
      expect(rowFolds(p, t, 1)).to.deep.equal([16384, -16256]);
      expect(tensor(t, "v1")).to.deep.equal([127, -128]);
      expect(tensor(t, "v2")).to.deep.equal([127, 0]);
    });
  });

  describe("Dense", () => {
    it("rounds ties towards +∞: acc −5, −3, −1, 1, 3, 5 at ×½ give −2, −1, 0, 1, 2, 3", async () => {
      const p: GraphProgram = {
        inputShape: [1],
        constants: [i8([6, 1], [1, 1, 1, 1, 1, 1]), i32([6], [-5, -3, -1, 1, 3, 5])],
        ops: [{ kind: "dense", inputs: [0], weight: 0, bias: 1, multiplier: [1], shift: [1], ...FULL }],
      };
      const [t] = await both(p, [0]);
      expect(tensor(t, "v1")).to.deep.equal([-2, -1, 0, 1, 2, 3]);
    });

    it("is today's Dense layer: the same outputs as core/referenceExecutor on random layers", () => {
      const rng = new Rng(0xde45e);
      for (let k = 0; k < 40; k++) {
        const nIn = rng.int(1, 70);
        const nOut = rng.int(1, 20);
        const layer: DenseLayer = {
          op: "dense",
          nIn,
          nOut,
          weights: rng.int8Array(nIn * nOut),
          bias: Int32Array.from({ length: nOut }, () => rng.int(-50000, 50000)),
          multiplier: rng.int(1, 2 ** 31 - 1),
          shift: rng.int(20, 40),
          clampLo: rng.int(-128, 0),
          clampHi: rng.int(0, 127),
        };
        const p: GraphProgram = {
          inputShape: [nIn],
          constants: [{ dtype: "int8", shape: [nOut, nIn], data: layer.weights }, { dtype: "int32", shape: [nOut], data: layer.bias }],
          ops: [{ kind: "dense", inputs: [0], weight: 0, bias: 1, multiplier: [layer.multiplier], shift: [layer.shift], clampLo: layer.clampLo, clampHi: layer.clampHi }],
        };
        const x = rng.int8Array(nIn);
        expect(Array.from(executeProgram(p, x).values[1]), `layer ${k}`).to.deep.equal(Array.from(denseForward(layer, x)));
      }
    });
  });

  describe("pooling", () => {
    it("MaxPool: padded cells never win, even over −128 … −50", async () => {
      const p: GraphProgram = { inputShape: [1, 2, 2], constants: [], ops: [{ kind: "maxPool", inputs: [0], kernel: [2, 2], strides: [1, 1], pads: [1, 1, 0, 0], dilations: [1, 1] }] };
      const [a, b] = await both(p, [-50, -7, -9, -128], [-128, -128, -128, -128]);
      expect(tensor(a, "v1")).to.deep.equal([-50, -7, -9, -7]);
      expect(tensor(b, "v1")).to.deep.equal([-128, -128, -128, -128]);
    });

    it("MaxPool: stride 3 > kernel 2 and dilation 2", async () => {
      const x = Array.from({ length: 25 }, (_, i) => (i * 37) % 256 - 128);
      const p: GraphProgram = { inputShape: [1, 5, 5], constants: [], ops: [{ kind: "maxPool", inputs: [0], kernel: [2, 2], strides: [3, 3], pads: [0, 0, 0, 0], dilations: [2, 2] }] };
      const [t] = await both(p, x);
      const at = (r: number, c: number) => x[r * 5 + c];
      // windows at (0, 0) and (0, 3) would reach column 5 with dilation 2: only (0, 0) fits, 1×1 output
      expect(tensor(t, "v1")).to.deep.equal([Math.max(at(0, 0), at(0, 2), at(2, 0), at(2, 2))]);
    });

    it("AvgPool: padded cells count as zeros; 1/4 is multiplier 1, shift 2", async () => {
      const p: GraphProgram = {
        inputShape: [1, 2, 2],
        constants: [],
        ops: [{ kind: "avgPool", inputs: [0], kernel: [2, 2], strides: [1, 1], pads: [1, 1, 0, 0], dilations: [1, 1], multiplier: 1, shift: 2, ...FULL }],
      };
      const [t] = await both(p, [4, 8, 12, 16]);
      expect(rowFolds(p, t, 1)).to.deep.equal([4, 12, 16, 40]);
      expect(tensor(t, "v1")).to.deep.equal([1, 3, 4, 10]); // the corner window averages 4 cells, 3 of them padding: 4/4 = 1, not 4/1
    });

    it("GlobalAvgPool: a sum per channel, then the requantisation with its ties (−0.5 → 0, 1.5 → 2)", async () => {
      const p: GraphProgram = { inputShape: [2, 1, 2], constants: [], ops: [{ kind: "globalAvgPool", inputs: [0], multiplier: 1, shift: 2, ...FULL }] };
      const [t] = await both(p, [-1, -1, 3, 3]);
      expect(rowFolds(p, t, 1)).to.deep.equal([-2, 6]);
      expect(tensor(t, "v1")).to.deep.equal([0, 2]);
    });
  });

  describe("elementwise", () => {
    it("Add: each operand requantised on its own (ties up), then added, then clamped", async () => {
      const ops: Op[] = [
        { kind: "add", inputs: [0, 0], multiplierA: 3, shiftA: 1, multiplierB: 1, shiftB: 1, ...FULL },
        { kind: "add", inputs: [0, 0], multiplierA: 3, shiftA: 1, multiplierB: 1, shiftB: 1, clampLo: -5, clampHi: 5 },
      ];
      const [t] = await both({ inputShape: [4], constants: [], ops }, [10, -10, 3, -3]);
      // ×1.5: 15, −15, 4.5 → 5, −4.5 → −4;  ×0.5: 5, −5, 1.5 → 2, −1.5 → −1
      expect(tensor(t, "v1")).to.deep.equal([20, -20, 7, -5]);
      expect(tensor(t, "v2")).to.deep.equal([5, -5, 5, -5]);
    });

    it("Add: a residual branch with broadcasting and extreme multipliers (operands far beyond int32 before the clamp)", async () => {
      const p: GraphProgram = {
        inputShape: [2, 1, 2],
        constants: [],
        ops: [
          { kind: "globalAvgPool", inputs: [0], multiplier: 1, shift: 1, ...FULL },
          { kind: "add", inputs: [0, 1], multiplierA: 2 ** 31 - 1, shiftA: 1, multiplierB: 2 ** 31 - 1, shiftB: 1, ...FULL },
          { kind: "add", inputs: [0, 1], multiplierA: 1, shiftA: 62, multiplierB: 2, shiftB: 1, ...FULL },
        ],
      };
      const [t] = await both(p, [1, -1, -128, 127]);
      expect(tensor(t, "v1")).to.deep.equal([0, 0]); // (1 − 1)/2 = 0; (−128 + 127)/2 = −0.5 → 0
      expect(tensor(t, "v2")).to.deep.equal([127, -128, -128, 127]);
      expect(tensor(t, "v3")).to.deep.equal([0, 0, 0, 0]); // x / 2^62 rounds to 0; 2·0/2 = 0
    });

    it("Mul: squeeze-and-excitation scaling, a [2, 1, 1] gate broadcast over H × W", async () => {
      const p: GraphProgram = {
        inputShape: [2, 2, 2],
        constants: [],
        ops: [
          { kind: "maxPool", inputs: [0], kernel: [2, 2], strides: [1, 1], pads: [0, 0, 0, 0], dilations: [1, 1] },
          { kind: "mul", inputs: [0, 1], multiplier: 1, shift: 7, ...FULL },
        ],
      };
      const [t] = await both(p, [1, 2, 3, 64, -1, -2, -3, 127]);
      expect(tensor(t, "v1")).to.deep.equal([64, 127]);
      // ·64/128: 0.5 → 1, 1, 1.5 → 2, 32;  ·127/128: −0.99 → −1, −1.98 → −2, −2.98 → −3, 126.0 → 126
      expect(tensor(t, "v2")).to.deep.equal([1, 1, 2, 32, -1, -2, -3, 126]);
    });

    it("Clamp as ReLU6 (hi = the int8 image of 6)", async () => {
      const [t] = await both({ inputShape: [6], constants: [], ops: [{ kind: "clamp", inputs: [0], lo: 0, hi: 48 }] }, [-128, -1, 0, 5, 60, 127]);
      expect(tensor(t, "v1")).to.deep.equal([0, 0, 0, 5, 48, 48]);
    });

    it("Table: any int8 → int8 function, every input value", async () => {
      const negate = tableOf((x) => -x);
      const [t] = await both({ inputShape: [256], constants: [i8([256], Array.from(negate))], ops: [{ kind: "table", inputs: [0], table: 0 }] }, Array.from({ length: 256 }, (_, i) => i - 128));
      expect(tensor(t, "v1")).to.deep.equal(Array.from({ length: 256 }, (_, i) => Math.min(127, 128 - i)));
    });

    it("HardSigmoid and HardSwish tables: the known points", () => {
      const hs = hardSigmoidTable(0.1, 1 / 127); // r = x/10; relu6(r + 3)/6 in units of 1/127
      expect([hs[128 - 30], hs[128 - 31], hs[128], hs[128 + 30], hs[128 + 127]]).to.deep.equal([0, 0, 64, 127, 127]); // 0.5 · 127 = 63.5 → 64
      const sw = hardSwishTable(0.1, 0.1);
      expect([sw[128 - 128], sw[128 - 30], sw[128], sw[128 + 30], sw[128 + 127]]).to.deep.equal([0, 0, 0, 30, 127]);
      expect(sw[128 + 10]).to.equal(7); // r = 1: 1 · 4/6 = 0.667 → 6.67 → 7
      expect(sw[128 - 10]).to.equal(-3); // r = −1: −1 · 2/6 = −0.333 → −3.33 → −3
    });
  });

  describe("layout ops are index maps", () => {
    it("Transpose, Concat, Slice with a negative step, Reshape, Flatten", async () => {
      const p: GraphProgram = {
        inputShape: [2, 3],
        constants: [],
        ops: [
          { kind: "transpose", inputs: [0], perm: [1, 0] },
          { kind: "concat", inputs: [1, 1], axis: 1 },
          { kind: "slice", inputs: [0], starts: [1, 2], steps: [-1, -2], sizes: [2, 2] },
          { kind: "reshape", inputs: [0], shape: [3, 1, 2] },
          { kind: "flatten", inputs: [4] },
          { kind: "concat", inputs: [0], axis: 1 },
        ],
      };
      const [t] = await both(p, [0, 1, 2, 3, 4, 5]);
      expect(tensor(t, "v6")).to.deep.equal([0, 1, 2, 3, 4, 5]);
      expect(tensor(t, "v1")).to.deep.equal([0, 3, 1, 4, 2, 5]);
      expect(tensor(t, "v2")).to.deep.equal([0, 3, 0, 3, 1, 4, 1, 4, 2, 5, 2, 5]);
      expect(tensor(t, "v3")).to.deep.equal([5, 3, 2, 0]);
      expect(tensor(t, "v4")).to.deep.equal([0, 1, 2, 3, 4, 5]);
      expect(tensor(t, "v5")).to.deep.equal([0, 1, 2, 3, 4, 5]);
    });

    it("resolveElement follows chains of views down to a committed value", () => {
      const p: GraphProgram = {
        inputShape: [2, 3],
        constants: [],
        ops: [
          { kind: "clamp", inputs: [0], lo: -128, hi: 127 },
          { kind: "transpose", inputs: [1], perm: [1, 0] },
          { kind: "flatten", inputs: [2] },
          { kind: "concat", inputs: [3, 3], axis: 0 },
          { kind: "slice", inputs: [3], starts: [5], steps: [-1], sizes: [6] },
        ],
      };
      const shapes = validateProgram(p);
      const x = Int8Array.from([10, 11, 12, 13, 14, 15]);
      const trace = executeProgram(p, x);
      for (const v of [2, 3, 4, 5]) {
        trace.values[v].forEach((value, i) => {
          const at = resolveElement(p, shapes, v, i);
          expect(p.ops[at.value - 1]?.kind ?? "input", `v${v}[${i}]`).to.not.be.oneOf(["transpose", "flatten", "concat", "slice"]);
          expect(trace.values[at.value][at.index], `v${v}[${i}]`).to.equal(value);
        });
      }
      expect(resolveElement(p, shapes, 5, 0)).to.deep.equal({ value: 1, index: 5 }); // v5[0] = v3[5] = v2[2][1] = v1[1][2]
    });
  });

  describe("stages", () => {
    it("each op lists its stages: reductions, elementwise steps and views, with dtypes and commitment", () => {
      const p: GraphProgram = {
        inputShape: [1, 4, 4],
        constants: [i8([2, 1, 3, 3], new Array(18).fill(1)), i32([2], [0, 0])],
        ops: [
          conv({ pads: [1, 1, 1, 1] }),
          { kind: "maxPool", inputs: [1], kernel: [2, 2], strides: [2, 2], pads: [0, 0, 0, 0], dilations: [1, 1] },
          { kind: "globalAvgPool", inputs: [2], multiplier: 1, shift: 2, ...FULL },
          { kind: "flatten", inputs: [3] },
        ],
      };
      const layout = traceLayout(p);
      expect(layout.map((e) => `${traceName(e)}:${e.stage.kind}${e.stage.combine ? `/${e.stage.combine}` : ""}${e.stage.finish ? ", finished" : ""}:${e.stage.dtype}:[${e.stage.shape}]:${e.stage.committed ? "committed" : "view"}`)).to.deep.equal([
        "v0:elementwise:int8:[1,4,4]:committed",
        "v1:reduce/sumOfProducts, finished:int8:[2,4,4]:committed",
        "v2:reduce/max:int8:[2,2,2]:committed",
        "v3:reduce/sum, finished:int8:[2,1,1]:committed",
        "v4:view:int8:[2]:view",
      ]);
      expect(opStages(p.ops[0], [2, 4, 4])[0].reads).to.deep.equal([{ value: 0 }, { constant: 0 }, { constant: 1 }]);
      expect(opStages(p.ops[0], [2, 4, 4])[0].finish).to.equal("clamp(requantise(s, m[m], s[m]), lo, hi)");
    });

    it("a reduction folded one 32-term chunk at a time (the dispute's step) gives the whole row's value", () => {
      const rng = new Rng(0xc4);
      const weights = rng.int8Array(6 * 8 * 3 * 3);
      const p: GraphProgram = {
        inputShape: [8, 5, 5],
        constants: [{ dtype: "int8", shape: [6, 8, 3, 3], data: weights }, i32([6], [1, -2, 3, -4, 5, -6])],
        ops: [conv({ pads: [1, 0, 2, 1], strides: [2, 1], dilations: [1, 2] })],
      };
      const shapes = validateProgram(p);
      const x = rng.int8Array(200);
      const r = reductionOf(p, p.ops[0] as Extract<Op, { kind: "conv" }>, shapes[0]);
      expect(r.rowLength).to.equal(72);
      const out = executeProgram(p, x).values[1];
      for (let o = 0; o < r.rows; o++) {
        let s = r.init(o);
        for (let k = 0; k * 32 < r.rowLength; k++) s = foldTerms(r, x, weights, o, s, 32 * k, Math.min(r.rowLength, 32 * k + 32));
        expect(s).to.equal(foldRow(r, x, weights, o));
        expect(clamp(requantise(s, 1, 1), -128, 127), `row ${o} finished`).to.equal(out[o]); // multiplier 1, shift 1: s/2, ties up
      }
    });
  });
});
