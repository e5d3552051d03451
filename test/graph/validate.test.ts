import { expect } from "chai";
import { buildGraphOnnx } from "../../core/graph/onnxGraph";
import { executeProgram } from "../../core/graph/execute";
import type { Constant, GraphProgram, Op } from "../../core/graph/program";
import { GraphValidationError, validateProgram } from "../../core/graph/validate";
import { expectThrows } from "../helpers/expectThrows";

/**
 * The refusals of validateProgram (docs/graph-semantics.md §3): each names the value and the
 * op, and says which rule. The accumulator bounds are checked at their exact edges.
 */

const i8 = (shape: number[], fill = 1): Constant => ({ dtype: "int8", shape, data: new Int8Array(shape.reduce((a, b) => a * b, 1)).fill(fill) });
const i32 = (shape: number[], data: number[]): Constant => ({ dtype: "int32", shape, data: Int32Array.from(data) });
const FULL = { clampLo: -128, clampHi: 127 };

const CONV: Op = { kind: "conv", inputs: [0], weight: 0, bias: 1, strides: [1, 1], pads: [1, 1, 1, 1], dilations: [1, 1], groups: 1, multiplier: [1], shift: [8], ...FULL };
/** A valid program: conv → maxPool → globalAvgPool → flatten → dense, plus residual add, mul, table. */
const BASE: GraphProgram = {
  inputShape: [2, 4, 4],
  constants: [i8([3, 2, 3, 3]), i32([3], [0, 1, 2]), i8([5, 3]), i32([5], [0, 0, 0, 0, 0]), i8([256])],
  ops: [
    CONV, // v1 [3, 4, 4]
    { kind: "maxPool", inputs: [1], kernel: [2, 2], strides: [2, 2], pads: [0, 0, 0, 0], dilations: [1, 1] }, // v2 [3, 2, 2]
    { kind: "globalAvgPool", inputs: [2], multiplier: 1, shift: 2, ...FULL }, // v3 [3, 1, 1]
    { kind: "flatten", inputs: [3] }, // v4 [3]
    { kind: "dense", inputs: [4], weight: 2, bias: 3, multiplier: [1], shift: [4], ...FULL }, // v5 [5]
    { kind: "add", inputs: [1, 3], multiplierA: 1, shiftA: 1, multiplierB: 1, shiftB: 1, ...FULL }, // v6 [3, 4, 4]
    { kind: "mul", inputs: [6, 3], multiplier: 1, shift: 7, ...FULL }, // v7
    { kind: "table", inputs: [7], table: 4 }, // v8
  ],
};

/** BASE with op `v` (1-based value id) replaced by `fields` merged in, and optionally other constants. */
function withOp(v: number, fields: Record<string, unknown>, constants?: Constant[]): GraphProgram {
  return { ...BASE, constants: constants ?? BASE.constants, ops: BASE.ops.map((op, k) => (k + 1 === v ? ({ ...op, ...fields } as Op) : op)) };
}

function refused(program: GraphProgram, value: number, op: string, ...patterns: RegExp[]): GraphValidationError {
  const e = expectThrows(() => validateProgram(program), GraphValidationError, new RegExp(`^value ${value} \\(${op}\\): `), ...patterns) as GraphValidationError;
  expect(e.value).to.equal(value);
  expect(e.op).to.equal(op);
  return e;
}

describe("graph program validation", () => {
  it("accepts the base program and gives every value's shape", () => {
    expect(validateProgram(BASE)).to.deep.equal([[2, 4, 4], [3, 4, 4], [3, 2, 2], [3, 1, 1], [3], [5], [3, 4, 4], [3, 4, 4], [3, 4, 4]]);
  });

  it("the executors validate first", () => {
    const bad = withOp(1, { groups: 3 });
    expectThrows(() => executeProgram(bad, new Int8Array(32)), GraphValidationError, /groups 3 does not divide the 2 input channels/);
    expectThrows(() => buildGraphOnnx(bad), GraphValidationError, /groups 3/);
  });

  describe("the accumulator bound, at its edge", () => {
    it("Dense: |bias| + 128·Σ|w| = 2^31 − 1 passes, one more is refused, naming the output channel", () => {
      const nIn = 131071; // 131071 · 16384 = 2^31 − 16384
      const program = (bias: number): GraphProgram => ({
        inputShape: [nIn],
        constants: [i8([2, nIn], -128), i32([2], [0, bias])],
        ops: [{ kind: "dense", inputs: [0], weight: 0, bias: 1, multiplier: [1], shift: [1], ...FULL }],
      });
      expect(() => validateProgram(program(16383))).to.not.throw();
      expect(() => validateProgram(program(-16383))).to.not.throw();
      refused(program(16384), 1, "dense", /accumulator of output channel 1 could overflow int32: \|bias\| 16384 \+ 128 × Σ\|w\| 16777088 = 2147483648 > 2147483647/);
      refused(program(-16384), 1, "dense", /output channel 1/);
    });

    it("Dense: the bound counts the weights, so small weights allow a larger fan-in than 131 071", () => {
      const nIn = 140000;
      const p: GraphProgram = { inputShape: [nIn], constants: [i8([1, nIn], 1), i32([1], [0])], ops: [{ kind: "dense", inputs: [0], weight: 0, bias: 1, multiplier: [1], shift: [1], ...FULL }] };
      expect(() => validateProgram(p)).to.not.throw();
    });

    it("Conv: per output channel, over C/groups · kH · kW weights", () => {
      // depthwise over 2 channels with a 256×256 kernel of −128 … one channel at 2^31 − 2^24 + bias
      const kernel = new Int8Array(2 * 256 * 256).fill(-128);
      const program = (bias: number): GraphProgram => ({
        inputShape: [2, 256, 256],
        constants: [{ dtype: "int8", shape: [2, 1, 256, 256], data: kernel }, i32([2], [bias, 0])],
        ops: [{ ...CONV, pads: [0, 0, 0, 0], groups: 2 } as Op],
      });
      expect(() => validateProgram(program(2 ** 24 - 1))).to.not.throw(); // 65536 · 16384 = 2^30; 2^30 + 2^24 − 1 fits
      const big = { ...program(0) };
      const full = new Int8Array(2 * 2 * 256 * 256).fill(-128);
      refused(
        { ...big, constants: [{ dtype: "int8", shape: [2, 2, 256, 256], data: full }, i32([2], [0, 0])], ops: [{ ...CONV, pads: [0, 0, 0, 0] } as Op] },
        1,
        "conv",
        /accumulator of output channel 0 could overflow int32: \|bias\| 0 \+ 128 × Σ\|w\| 16777216 = 2147483648/,
      );
    });

    it("AvgPool and GlobalAvgPool: 128 · window ≤ 2^31 − 1", () => {
      const pool = (kernel: [number, number]): GraphProgram => ({
        inputShape: [1, 4096, 4096],
        constants: [],
        ops: [{ kind: "avgPool", inputs: [0], kernel, strides: [1, 1], pads: [0, 0, 0, 0], dilations: [1, 1], multiplier: 1, shift: 1, ...FULL }],
      });
      expect(() => validateProgram(pool([4096, 4095]))).to.not.throw();
      refused(pool([4096, 4096]), 1, "avgPool", /window sum could overflow int32: 128 × 16777216 > 2147483647/);
      const global = (H: number): GraphProgram => ({ inputShape: [1, H, 4096], constants: [], ops: [{ kind: "globalAvgPool", inputs: [0], multiplier: 1, shift: 1, ...FULL }] });
      expect(() => validateProgram(global(4095))).to.not.throw();
      refused(global(4096), 1, "globalAvgPool", /channel sum could overflow int32/);
    });
  });

  describe("ranges", () => {
    it("multiplier, shift and clamp ranges, per op", () => {
      refused(withOp(1, { multiplier: [2 ** 31] }), 1, "conv", /multiplier 2147483648 outside 0 … 2147483647/);
      refused(withOp(1, { shift: [0] }), 1, "conv", /shift 0 outside 1 … 62/);
      refused(withOp(5, { shift: [63] }), 5, "dense", /shift 63 outside 1 … 62/);
      refused(withOp(5, { multiplier: [-1] }), 5, "dense", /multiplier -1 outside/);
      refused(withOp(1, { multiplier: [1, 2], shift: [1, 2] }), 1, "conv", /1 or 3 \(one per output channel\)/);
      refused(withOp(1, { multiplier: [1, 2, 3], shift: [1] }), 1, "conv", /two lists of the same length/);
      refused(withOp(3, { clampLo: 5, clampHi: 4 }), 3, "globalAvgPool", /clamp \[5, 4\] is not a range inside \[-128, 127\]/);
      refused(withOp(6, { clampHi: 128 }), 6, "add", /clamp \[-128, 128\]/);
      refused(withOp(6, { shiftB: 0 }), 6, "add", /operand B shift 0/);
      refused(withOp(7, { multiplier: 1.5 }), 7, "mul", /multiplier 1.5 outside/);
      refused({ ...BASE, ops: [{ kind: "clamp", inputs: [0], lo: -129, hi: 0 }] }, 1, "clamp", /clamp \[-129, 0\]/);
    });

    it("constants: dtype, shape and length", () => {
      refused(withOp(5, { weight: 9 }), 5, "dense", /weight constant 9 does not exist/);
      refused(withOp(5, { bias: 2 }), 5, "dense", /bias constant 2 is int8, expected int32/);
      refused(withOp(5, { weight: 0 }), 5, "dense", /weight constant 0 has shape \[3,2,3,3\], expected \[3,3\]/);
      refused(withOp(8, { table: 2 }), 8, "table", /table constant 2 has shape \[5,3\], expected \[256\]/);
      const short = [...BASE.constants];
      short[1] = { dtype: "int32", shape: [3], data: Int32Array.of(1, 2) };
      expectThrows(() => validateProgram({ ...BASE, constants: short }), GraphValidationError, /^value 0 \(constant 1\): has 2 elements, its shape \[3\] needs 3/);
      const wrongType = [...BASE.constants];
      wrongType[0] = { dtype: "int8", shape: [3, 2, 3, 3], data: new Int32Array(54) as unknown as Int8Array };
      expectThrows(() => validateProgram({ ...BASE, constants: wrongType }), GraphValidationError, /constant 0\): an int8 constant holds an Int8Array/);
    });
  });

  describe("the graph", () => {
    it("inputs must be earlier values; arity; unknown ops; an empty program; the input shape", () => {
      refused(withOp(2, { inputs: [2] }), 2, "maxPool", /input 2 is not an earlier value \(0 … 1\)/);
      refused(withOp(2, { inputs: [5] }), 2, "maxPool", /input 5 is not an earlier value/);
      refused(withOp(6, { inputs: [1] }), 6, "add", /takes 2 inputs, got 1/);
      refused(withOp(3, { kind: "softmax" }), 3, "softmax", /unknown op kind "softmax"/);
      refused(withOp(2, { countIncludePad: 0 }), 2, "maxPool", /field "countIncludePad" is not part of a maxPool descriptor/);
      expectThrows(() => validateProgram({ ...BASE, ops: [] }), GraphValidationError, /^value 0 \(program\): a program needs at least one op/);
      expectThrows(() => validateProgram({ ...BASE, inputShape: [2, 0, 4] }), GraphValidationError, /input shape must be a non-empty list of positive integers/);
    });

    it("shapes: rank, groups, kernels that do not fit, broadcasting", () => {
      refused(withOp(5, { inputs: [3] }), 5, "dense", /expects a rank-1 input, value 3 has shape \[3,1,1\]/);
      refused(withOp(1, { groups: 2 }), 1, "conv", /groups 2 does not divide the 3 output channels/);
      refused(withOp(1, { pads: [0, 0, 0, 0], dilations: [2, 2] }), 1, "conv", /the 3×3 kernel \(dilations \[2,2\], pads \[0,0,0,0\]\) does not fit the 4×4 input/);
      refused(withOp(1, { strides: [0, 1] }), 1, "conv", /strides 0 outside 1/);
      refused(withOp(1, { pads: [1, 1, 1] }), 1, "conv", /pads must be a list of 4 integers/);
      refused(withOp(6, { inputs: [1, 2] }), 6, "add", /shapes \[3,4,4\] and \[3,2,2\] do not broadcast/);
      refused(withOp(7, { inputs: [5, 1] }), 7, "mul", /shapes \[5\] and \[3,4,4\] do not broadcast/);
    });

    it("pools: pads smaller than the kernel; a max window must hold a real cell", () => {
      refused(withOp(2, { pads: [2, 0, 0, 0] }), 2, "maxPool", /pads \[2,0,0,0\] must each be smaller than the kernel 2×2/);
      // a 2×1 window with dilation 3 and pad 1 over a height-2 input: rows −1 and 2, both outside
      const p: GraphProgram = { inputShape: [1, 2, 2], constants: [], ops: [{ kind: "maxPool", inputs: [0], kernel: [2, 1], strides: [1, 1], pads: [1, 0, 1, 0], dilations: [3, 1] }] };
      refused(p, 1, "maxPool", /some window holds only padding/);
      const avg: GraphProgram = { ...p, ops: [{ ...(p.ops[0] as object), kind: "avgPool", multiplier: 1, shift: 1, ...FULL } as Op] };
      expect(validateProgram(avg)[1]).to.deep.equal([1, 1, 2]); // an average over padding alone is 0: allowed
    });

    it("layout ops: reshape size, permutation, concat agreement, slice ranges", () => {
      refused(withOp(4, { kind: "reshape", shape: [2, 2] }), 4, "reshape", /cannot reshape \[3,1,1\] \(3 elements\) to \[2,2\] \(4\)/);
      refused(withOp(4, { kind: "transpose", perm: [0, 0, 1] }), 4, "transpose", /perm \[0,0,1\] is not a permutation of 0 … 2/);
      refused(withOp(4, { kind: "transpose", perm: [0, 1] }), 4, "transpose", /perm must be a list of 3 integers/);
      refused(withOp(4, { kind: "concat", inputs: [3, 2], axis: 1 }), 4, "concat", /do not agree off axis 1/);
      refused(withOp(4, { kind: "concat", inputs: [3, 3], axis: 3 }), 4, "concat", /axis 3 outside 0 … 2/);
      refused(withOp(4, { kind: "slice", starts: [0, 0, 0], steps: [1, 1, 1], sizes: [4, 1, 1] }), 4, "slice", /axis 0: indices 0, 0 \+ 1·i … 3 leave 0 … 2/);
      refused(withOp(4, { kind: "slice", starts: [1, 0, 0], steps: [-1, 1, 1], sizes: [3, 1, 1] }), 4, "slice", /axis 0: indices 1, 1 \+ -1·i … -1 leave/);
      refused(withOp(4, { kind: "slice", starts: [1, 0, 0], steps: [0, 1, 1], sizes: [1, 1, 1] }), 4, "slice", /step of axis 0 is 0/);
    });
  });
});
