import { transpose } from "../matrix";
import { DataType, attribute, encodeModel, int32Tensor, int64Tensor, int8Tensor, node, type onnx, valueInfo } from "../onnx/onnxProto";
import type { GraphProgram, Op, Shape } from "./program";
import { traceLayout, traceName } from "./stages";
import { validateProgram } from "./validate";

/**
 * The ONNX form of a graph program (docs/graph-semantics.md §6): an integer graph that
 * onnxruntime 1.30 (CPU) runs bit-exactly, with every tensor of the trace (each stage of
 * each value, views included) as a graph output named by traceName (`v3`), all
 * with the batch as their first dimension. Only integer kernels are used, each checked
 * against BigInt or the reference in test/graph/ortKernels.test.ts:
 *   Conv        ConvInteger (int8 × int8 → int32) + Add bias
 *   Dense       MatMulInteger + Add bias
 *   AvgPool     ConvInteger with an all-ones depthwise kernel (group = C): the window sum
 *   GlobalAvg   Cast<int32> + ReduceSum over H, W
 *   MaxPool     MaxPool on int8 (padded cells never win)
 *   requantise  int64 Mul, Add, Mod (fmod = 0), Sub, Div: floor((v·m + 2^(s−1)) / 2^s)
 *   clamp       int64 Less/Where, Greater/Where, then Cast<int8> (not Clip/Min/Max: see
 *               docs/integer-semantics.md §6; Where has no int8 kernel)
 *   Table       Cast<int32> + Add 128 + Gather on the int8 table
 *   layout      Flatten, Reshape, Transpose, Concat, Slice with constant arguments
 * The bytes are a deterministic function of the program.
 */
export const GRAPH_INPUT_NAME = "input";
export const GRAPH_PRODUCER = "refute-integer-graph";

type Dims = readonly number[];

class Builder {
  readonly nodes: onnx.INodeProto[] = [];
  readonly initializer: onnx.ITensorProto[] = [];

  constructor(private readonly prefix: string) {}

  name(what: string): string {
    return `${this.prefix}/${what}`;
  }

  int64(what: string, dims: Dims, values: readonly bigint[]): string {
    this.initializer.push(int64Tensor(this.name(what), dims, BigInt64Array.from(values)));
    return this.name(what);
  }

  int32(what: string, dims: Dims, values: Int32Array): string {
    this.initializer.push(int32Tensor(this.name(what), dims, values));
    return this.name(what);
  }

  int8(what: string, dims: Dims, values: Int8Array): string {
    this.initializer.push(int8Tensor(this.name(what), dims, values));
    return this.name(what);
  }

  /** Adds a node; returns its (first) output name. `out` is a full name, or a local name under the prefix. */
  op(opType: string, inputs: string[], out: string, attrs: onnx.IAttributeProto[] = [], full = false): string {
    const output = full ? out : this.name(out);
    this.nodes.push(node(opType, `${this.prefix}/${opType}:${out}`, inputs, [output], attrs));
    return output;
  }

  cast(input: string, to: number, out: string, full = false): string {
    return this.op("Cast", [input], out, [attribute("to", to)], full);
  }

  /**
   * floor((v·m + 2^(s−1)) / 2^s) over the int64 tensor `v`; m and s per channel along the
   * broadcast shape `dims` ([] for one pair). The truncating Div is exact: Mod with fmod = 0
   * takes the divisor's sign, so num − Mod(num, 2^s) is a multiple of 2^s.
   */
  requantise(v: string, multiplier: readonly number[], shift: readonly number[], dims: Dims, tag: string): string {
    const m = this.int64(`${tag}multiplier`, dims, multiplier.map(BigInt));
    const half = this.int64(`${tag}half`, dims, shift.map((s) => 1n << BigInt(s - 1)));
    const divisor = this.int64(`${tag}divisor`, dims, shift.map((s) => 1n << BigInt(s)));
    const scaled = this.op("Mul", [v, m], `${tag}scaled`);
    const num = this.op("Add", [scaled, half], `${tag}num`);
    const rem = this.op("Mod", [num, divisor], `${tag}rem`, [attribute("fmod", 0)]);
    const aligned = this.op("Sub", [num, rem], `${tag}aligned`);
    return this.op("Div", [aligned, divisor], `${tag}q`);
  }

  /** min(hi, max(lo, v)) on int64 with Less/Where and Greater/Where, then Cast<int8> into `out`. */
  clampToInt8(v: string, lo: number, hi: number, out: string): string {
    const loT = this.int64("lo", [], [BigInt(lo)]);
    const hiT = this.int64("hi", [], [BigInt(hi)]);
    const below = this.op("Less", [v, loT], "is_below");
    const raised = this.op("Where", [below, loT, v], "at_least_lo");
    const above = this.op("Greater", [raised, hiT], "is_above");
    const clamped = this.op("Where", [above, hiT, raised], "clamped");
    return this.cast(clamped, DataType.INT8, out, true);
  }
}

/** Serialises `program` as its ONNX integer graph. */
export function buildGraphOnnx(program: GraphProgram): Uint8Array {
  const shapes = validateProgram(program);
  const layout = traceLayout(program, shapes);
  const nodes: onnx.INodeProto[] = [];
  const initializer: onnx.ITensorProto[] = [];
  const valueName = (v: number) => (v === 0 ? GRAPH_INPUT_NAME : `v${v}`);
  program.ops.forEach((op, k) => {
    const v = k + 1;
    const b = new Builder(`v${v}`);
    emitOp(b, program, op, op.inputs.map(valueName), op.inputs.map((i) => shapes[i]), shapes[v], v);
    nodes.push(...b.nodes);
    initializer.push(...b.initializer);
  });
  const outputs = layout.filter((e) => e.value > 0).map((e) => valueInfo(traceName(e), e.stage.dtype === "int8" ? DataType.INT8 : DataType.INT32, ["batch", ...e.stage.shape]));
  return encodeModel(
    { name: "refute_integer_graph", node: nodes, initializer, input: [valueInfo(GRAPH_INPUT_NAME, DataType.INT8, ["batch", ...shapes[0]])], output: outputs },
    GRAPH_PRODUCER,
  );
}

function emitOp(b: Builder, program: GraphProgram, op: Op, xs: string[], inShapes: Shape[], outShape: Shape, v: number): void {
  const out = `v${v}`;
  const x = xs[0];
  const windowAttrs = (kernel: readonly number[], strides: readonly number[], pads: readonly number[], dilations: readonly number[]) => [
    attribute("kernel_shape", kernel),
    attribute("strides", strides),
    attribute("pads", pads),
    attribute("dilations", dilations),
  ];
  const requantiseClamp = (acc32: string, multiplier: readonly number[], shift: readonly number[], dims: Dims, lo: number, hi: number) => {
    const acc64 = b.cast(acc32, DataType.INT64, "acc64");
    b.clampToInt8(b.requantise(acc64, multiplier, shift, dims, ""), lo, hi, out);
  };
  switch (op.kind) {
    case "dense": {
      const w = program.constants[op.weight];
      const [nOut, nIn] = w.shape;
      const weight = b.int8("weight", [nIn, nOut], transpose(w.data as Int8Array, nOut, nIn));
      const bias = b.int32("bias", [nOut], program.constants[op.bias].data as Int32Array);
      const product = b.op("MatMulInteger", [x, weight], "product");
      requantiseClamp(b.op("Add", [product, bias], "acc"), op.multiplier, op.shift, op.multiplier.length === 1 ? [] : [nOut], op.clampLo, op.clampHi);
      return;
    }
    case "conv": {
      const w = program.constants[op.weight];
      const [M, , kH, kW] = w.shape;
      const weight = b.int8("weight", w.shape, w.data as Int8Array);
      const bias = b.int32("bias", [M, 1, 1], program.constants[op.bias].data as Int32Array);
      const product = b.op("ConvInteger", [x, weight], "product", [attribute("group", op.groups), ...windowAttrs([kH, kW], op.strides, op.pads, op.dilations)]);
      requantiseClamp(b.op("Add", [product, bias], "acc"), op.multiplier, op.shift, op.multiplier.length === 1 ? [] : [M, 1, 1], op.clampLo, op.clampHi);
      return;
    }
    case "maxPool":
      b.op("MaxPool", [x], out, windowAttrs(op.kernel, op.strides, op.pads, op.dilations), true);
      return;
    case "avgPool": {
      const C = inShapes[0][0];
      const [kH, kW] = op.kernel;
      const ones = b.int8("ones", [C, 1, kH, kW], new Int8Array(C * kH * kW).fill(1));
      const sum = b.op("ConvInteger", [x, ones], "sum", [attribute("group", C), ...windowAttrs(op.kernel, op.strides, op.pads, op.dilations)]);
      requantiseClamp(sum, [op.multiplier], [op.shift], [], op.clampLo, op.clampHi);
      return;
    }
    case "globalAvgPool": {
      const x32 = b.cast(x, DataType.INT32, "x32");
      const sum = b.op("ReduceSum", [x32, b.int64("axes", [2], [2n, 3n])], "sum", [attribute("keepdims", 1)]);
      requantiseClamp(sum, [op.multiplier], [op.shift], [], op.clampLo, op.clampHi);
      return;
    }
    case "add": {
      const a = b.requantise(b.cast(xs[0], DataType.INT64, "a64"), [op.multiplierA], [op.shiftA], [], "a_");
      const c = b.requantise(b.cast(xs[1], DataType.INT64, "b64"), [op.multiplierB], [op.shiftB], [], "b_");
      b.clampToInt8(b.op("Add", [a, c], "sum"), op.clampLo, op.clampHi, out);
      return;
    }
    case "mul": {
      const product = b.op("Mul", [b.cast(xs[0], DataType.INT64, "a64"), b.cast(xs[1], DataType.INT64, "b64")], "product");
      b.clampToInt8(b.requantise(product, [op.multiplier], [op.shift], [], ""), op.clampLo, op.clampHi, out);
      return;
    }
    case "clamp":
      b.clampToInt8(b.cast(x, DataType.INT64, "x64"), op.lo, op.hi, out);
      return;
    case "table": {
      const index = b.op("Add", [b.cast(x, DataType.INT32, "x32"), b.int32("offset", [], Int32Array.of(128))], "index");
      b.op("Gather", [b.int8("table", [256], program.constants[op.table].data as Int8Array), index], out, [attribute("axis", 0)], true);
      return;
    }
    case "flatten":
      b.op("Flatten", [x], out, [attribute("axis", 1)], true);
      return;
    case "reshape":
      b.op("Reshape", [x, b.int64("shape", [outShape.length + 1], [0n, ...outShape.map(BigInt)])], out, [], true);
      return;
    case "transpose":
      b.op("Transpose", [x], out, [attribute("perm", [0, ...op.perm.map((a) => a + 1)])], true);
      return;
    case "concat":
      b.op("Concat", xs, out, [attribute("axis", op.axis + 1)], true);
      return;
    case "slice": {
      const r = inShapes[0].length;
      // ONNX clamps `ends`; an end before index 0 (a negative step) is written as −(d+1), which ONNX reads as "past 0".
      const ends = op.starts.map((s, a) => {
        const e = s + op.sizes[a] * op.steps[a];
        return BigInt(e < 0 ? -(inShapes[0][a] + 1) : e);
      });
      const starts = b.int64("starts", [r], op.starts.map(BigInt));
      const endsT = b.int64("ends", [r], ends);
      const axes = b.int64("axes", [r], Array.from({ length: r }, (_, a) => BigInt(a + 1)));
      const steps = b.int64("steps", [r], op.steps.map(BigInt));
      b.op("Slice", [x, starts, endsT, axes, steps], out, [], true);
      return;
    }
  }
}
