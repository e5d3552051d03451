import { expect } from "chai";
import * as ort from "onnxruntime-node";
import { executeProgram } from "../../core/graph/execute";
import type { ConvOp, Op } from "../../core/graph/program";
import { validateProgram } from "../../core/graph/validate";
import type { FloatGraph } from "../../core/modelImport/graph/floatGraph";
import { formatGraphReport } from "../../core/modelImport/graph/graphReport";
import { type ImportedGraphModel, importGraphModel } from "../../core/modelImport/graph/importGraphModel";
import { quantiseGraph } from "../../core/modelImport/graph/quantiseGraph";
import { readFloatGraph } from "../../core/modelImport/graph/readFloatGraph";
import { writeFloatGraphOnnx } from "../../core/modelImport/graph/writeFloatGraphOnnx";
import { UnsupportedModelError } from "../../core/onnx/floatModel";
import { DataType, OnnxFormatError, attribute } from "../../core/onnx/onnxProto";
import { quantiseInput } from "../../core/quantise";
import { Rng } from "../../core/rng";
import { TorchStyleOnnx } from "../../scripts/lib/torchStyleOnnx";
import { expectThrows } from "../helpers/expectThrows";

/**
 * The float-graph importer (core/modelImport/graph/): float ONNX graphs written here the way
 * PyTorch's exporter writes them (`/module/Op` node names, `<node>_output_0` tensors, weights
 * as initializers or `Constant` nodes), and as tf2onnx and paddle2onnx write theirs (h), read,
 * checked against onnxruntime on the original file, quantised into a GraphProgram and measured.
 */

const size = (dims: readonly number[]) => dims.reduce((a, b) => a * b, 1);
const samples = (rng: Rng, n: number, shape: readonly number[]) => Array.from({ length: n }, () => Float32Array.from({ length: size(shape) }, () => rng.normal()));

/** Runs an ONNX model in onnxruntime on a batch of samples; returns its (first) output, batch end to end. */
async function runOrt(bytes: Uint8Array, inputName: string, xs: readonly Float32Array[], shape: readonly number[]): Promise<Float32Array> {
  const session = await ort.InferenceSession.create(bytes);
  try {
    const data = new Float32Array(xs.length * size(shape));
    xs.forEach((x, k) => data.set(x, k * size(shape)));
    const out = await session.run({ [inputName]: new ort.Tensor("float32", data, [xs.length, ...shape]) });
    return out[session.outputNames[0]].data as Float32Array;
  } finally {
    await session.release();
  }
}

const maxAbsDiff = (a: ArrayLike<number>, b: ArrayLike<number>) => {
  expect(a.length).to.equal(b.length);
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i] - b[i]));
  return m;
};

const kinds = (graph: FloatGraph) => graph.nodes.map((n) => n.kind);

/** Softmax of each row of `width` logits. */
function softmaxRows(logits: Float32Array, width: number): Float32Array {
  const out = new Float32Array(logits.length);
  for (let k = 0; k < logits.length; k += width) {
    const row = logits.subarray(k, k + width);
    const m = Math.max(...row);
    const e = Array.from(row, (v) => Math.exp(v - m));
    const sum = e.reduce((a, b) => a + b, 0);
    e.forEach((v, j) => (out[k + j] = v / sum));
  }
  return out;
}

/** Prints the report once per model when REPORT=1 (the numbers quoted in the change's report). */
const show = (title: string, imported: ImportedGraphModel) => {
  if (process.env.REPORT) console.log([title, ...formatGraphReport(imported.report), ...imported.warnings.map((w) => `  warning: ${w}`)].join("\n"));
};

/** (a) LeNet-like: Conv+BatchNormalization+Relu+MaxPool twice, Flatten, Gemm+Relu, Gemm. */
function lenet(rng: Rng): Uint8Array {
  const b = new TorchStyleOnnx(rng);
  let x = b.conv("conv1", "input", 1, 6, 5, { pad: 2, bias: false });
  x = b.batchNorm("bn1", x, 6);
  x = b.op("Relu", "relu1", [x]);
  x = b.maxPool("pool1", x, 2);
  x = b.conv("conv2", x, 6, 12, 3);
  x = b.batchNorm("bn2", x, 12);
  x = b.op("Relu", "relu2", [x]);
  x = b.maxPool("pool2", x, 2);
  x = b.op("Flatten", "", [x], [attribute("axis", 1)]);
  x = b.gemm("fc1", x, 12 * 3 * 3, 32);
  x = b.op("Relu", "relu3", [x]);
  x = b.gemm("fc2", x, 32, 10, { output: "output" });
  return b.build(["batch", 1, 16, 16], x, ["batch", 10]);
}

/** (b) MobileNet-style block: stem Conv+BN+HardSwish (spelled), depthwise Conv+BN+Relu, SE, pointwise Conv+BN, residual Add, HardSwish (·1/6), GAP, Flatten, Gemm. */
function mobileNetBlock(rng: Rng): Uint8Array {
  const b = new TorchStyleOnnx(rng);
  let stem = b.conv("stem.conv", "input", 3, 16, 3, { stride: 2, pad: 1, bias: false });
  stem = b.batchNorm("stem.bn", stem, 16);
  stem = b.hardSwishSpelled("stem.act", stem);
  let dw = b.conv("block.dw", stem, 16, 16, 3, { pad: 1, group: 16, bias: false });
  dw = b.batchNorm("block.dw_bn", dw, 16);
  dw = b.op("Relu", "block.dw_act", [dw]);
  let se = b.op("GlobalAveragePool", "block.se.avgpool", [dw]);
  se = b.conv("block.se.fc1", se, 16, 8, 1);
  se = b.op("Relu", "block.se.relu", [se]);
  se = b.conv("block.se.fc2", se, 8, 16, 1);
  se = b.op("HardSigmoid", "block.se.gate", [se], [attribute("alpha", 1 / 6, "float"), attribute("beta", 0.5, "float")]);
  const scaled = b.op("Mul", "block.se", [dw, se]);
  let pw = b.conv("block.pw", scaled, 16, 16, 1, { bias: false });
  pw = b.batchNorm("block.pw_bn", pw, 16);
  let x = b.op("Add", "block", [stem, pw]);
  x = b.hardSwishSpelled("head.act", x, true);
  x = b.op("GlobalAveragePool", "head.avgpool", [x]);
  x = b.op("Flatten", "head", [x], [attribute("axis", 1)]);
  x = b.gemm("head.fc", x, 16, 10, { output: "output" });
  return b.build(["batch", 3, 16, 16], x, ["batch", 10]);
}

/**
 * (c) Opset 11 as older exporters write it: weights as Constant nodes, Clip with min/max as
 * inputs, x.view(x.size(0), -1) as Shape → Gather → Unsqueeze → Concat → Reshape, a final Softmax.
 */
function opset11Model(rng: Rng, inputDims: readonly (number | string)[] = ["batch", 1, 8, 8]): Uint8Array {
  const b = new TorchStyleOnnx(rng, 11);
  let x = b.conv("conv", "input", 1, 4, 3, { pad: 1, constants: true });
  x = b.op("Clip", "act", [x, b.constant([], Float32Array.of(0)), b.constant([], Float32Array.of(6))]);
  const shape = b.op("Shape", "", [x]);
  const batch = b.op("Gather", "", [shape, b.constant([], BigInt64Array.of(0n))], [attribute("axis", 0)]);
  const unsqueezed = b.op("Unsqueeze", "", [batch], [attribute("axes", [0])]);
  const target = b.op("Concat", "", [unsqueezed, b.constant([1], BigInt64Array.of(-1n))], [attribute("axis", 0)]);
  x = b.op("Reshape", "", [x, target]);
  x = b.gemm("fc", x, 4 * 8 * 8, 5, { constants: true });
  x = b.op("Softmax", "", [x], [attribute("axis", 1)], "output");
  return b.build(inputDims, x, ["batch", 5]);
}

/** (e) Pools and layout ops: AveragePool and MaxPool branches, Concat, Transpose, Slice, Flatten, Gemm. */
function layoutModel(rng: Rng): Uint8Array {
  const b = new TorchStyleOnnx(rng);
  const a = b.op("Relu", "act", [b.conv("conv", "input", 2, 4, 3, { pad: 1 })]);
  const avg = b.op("AveragePool", "avg", [a], [attribute("kernel_shape", [2, 2]), attribute("strides", [2, 2]), attribute("pads", [1, 1, 1, 1]), attribute("count_include_pad", 1)]);
  const max = b.op("MaxPool", "max", [a], [attribute("kernel_shape", [2, 2]), attribute("strides", [2, 2]), attribute("pads", [1, 1, 1, 1])]);
  let x = b.op("Concat", "", [avg, max], [attribute("axis", 1)]); // [8, 5, 5]
  x = b.op("Transpose", "", [x], [attribute("perm", [0, 1, 3, 2])]);
  const i64 = (...v: bigint[]) => b.constant([v.length], BigInt64Array.from(v));
  x = b.op("Slice", "", [x, i64(1n), i64(4n), i64(3n), i64(1n)]); // [8, 5, 3]
  x = b.op("Flatten", "", [x], [attribute("axis", 1)]);
  x = b.gemm("fc", x, 8 * 5 * 3, 6, { output: "output" });
  return b.build(["batch", 2, 8, 8], x, ["batch", 6]);
}

describe("float graph import (core/modelImport/graph)", function () {
  this.timeout(60_000);

  describe("(a) a LeNet-like CNN with BatchNormalization", () => {
    const rng = new Rng(0x1e7e7);
    const bytes = lenet(rng);
    const shape = [1, 16, 16];
    let imported: ImportedGraphModel;
    before(async () => {
      imported = await importGraphModel(bytes, { calibration: samples(rng, 64, shape), evaluation: { inputs: samples(rng, 300, shape) } });
      show("(a) LeNet-like", imported);
    });

    it("folds BatchNormalization into the Conv before it exactly in float (onnxruntime, original vs folded: ≤ 1e-4)", async () => {
      const graph = readFloatGraph(bytes);
      expect(kinds(graph)).to.deep.equal(["conv", "clip", "maxPool", "conv", "clip", "maxPool", "flatten", "dense", "clip", "dense"]);
      expect(graph.nodes[0].sources).to.deep.equal(["/conv1/Conv", "/bn1/BatchNormalization"]);
      expect(graph.warnings).to.deep.equal([]);
      const xs = samples(new Rng(5), 32, shape);
      const original = await runOrt(bytes, "input", xs, shape);
      const folded = await runOrt(writeFloatGraphOnnx(graph), "input", xs, shape);
      expect(maxAbsDiff(original, folded)).to.be.at.most(1e-4);
    });

    it("quantises to a valid program with Relu fused into each layer's clamp, whose argmax agrees with float on ≥ 95 % of random inputs", () => {
      const { program, report } = imported;
      validateProgram(program);
      expect(program.ops.map((o) => o.kind)).to.deep.equal(["conv", "maxPool", "conv", "maxPool", "flatten", "dense", "dense"]);
      const conv = program.ops[0] as ConvOp;
      expect(conv.clampLo).to.equal(0);
      expect(conv.multiplier).to.have.length(6); // per output channel
      expect(report.evaluated).to.deep.equal({ set: "held-out", size: 300 });
      expect(report.agreement).to.be.at.least(0.95);
      expect(report.outputError.mean).to.be.below(0.02 * report.outputRange);
      expect(report.outputError.max).to.be.below(0.1 * report.outputRange);
      expect(report.ops.map((o) => o.nodes[0])).to.deep.equal(["/conv1/Conv", "/pool1/MaxPool", "/conv2/Conv", "/pool2/MaxPool", "/Flatten", "/fc1/Gemm", "/fc2/Gemm"]);
    });

    it("runs the same in the reference executor as the report measured (one sample, dequantised close to float)", async () => {
      const x = samples(new Rng(77), 1, shape)[0];
      const out = executeProgram(imported.program, quantiseInput(x, imported.scales[0])).values.at(-1)!;
      const f = await runOrt(bytes, "input", [x], shape);
      const s = imported.scales.at(-1)!;
      expect(maxAbsDiff(Array.from(out, (v) => v * s), f)).to.be.at.most(imported.report.outputError.max + 4 * s);
    });
  });

  describe("(b) a MobileNet-style block: depthwise, squeeze-and-excitation, HardSwish spelled out, residual", () => {
    const rng = new Rng(0xb10c);
    const bytes = mobileNetBlock(rng);
    const shape = [3, 16, 16];

    it("reads the spellings as HardSwish and HardSigmoid, exactly (onnxruntime, original vs read: ≤ 1e-4)", async () => {
      const graph = readFloatGraph(bytes);
      expect(kinds(graph)).to.deep.equal(["conv", "hardSwish", "conv", "clip", "globalAvgPool", "conv", "clip", "conv", "hardSigmoid", "mul", "conv", "add", "hardSwish", "globalAvgPool", "flatten", "dense"]);
      expect(graph.nodes[1].sources).to.deep.equal(["/stem.act/Add", "/stem.act/Clip", "/stem.act/Mul", "/stem.act/Div"]);
      expect(graph.nodes[12].sources).to.deep.equal(["/head.act/Add", "/head.act/Clip", "/head.act/Mul", "/head.act/Mul_1"]);
      const xs = samples(new Rng(6), 32, shape);
      expect(maxAbsDiff(await runOrt(bytes, "input", xs, shape), await runOrt(writeFloatGraphOnnx(graph), "input", xs, shape))).to.be.at.most(1e-4);
    });

    it("imports and validates; the integer output tracks float", async () => {
      const imported = await importGraphModel(bytes, { calibration: samples(rng, 64, shape), evaluation: { inputs: samples(rng, 300, shape) } });
      show("(b) MobileNet-style block", imported);
      const { program, report } = imported;
      validateProgram(program);
      expect(program.ops.map((o) => o.kind)).to.deep.equal(["conv", "table", "conv", "globalAvgPool", "conv", "conv", "table", "mul", "conv", "add", "table", "globalAvgPool", "flatten", "dense"]);
      const dw = program.ops[2] as { groups: number; clampLo: number };
      expect([dw.groups, dw.clampLo]).to.deep.equal([16, 0]);
      expect(report.agreement).to.be.at.least(0.9);
      expect(report.outputError.mean).to.be.below(0.05 * report.outputRange);
    });
  });

  describe("(c) opset 11: Constant weights, Clip inputs, a shape subgraph, a final Softmax", () => {
    const rng = new Rng(0xc11);
    const bytes = opset11Model(rng);
    const shape = [1, 8, 8];

    it("folds the shape subgraph, reads Clip's min/max inputs and drops the Softmax with a warning", async () => {
      const graph = readFloatGraph(bytes);
      expect(kinds(graph)).to.deep.equal(["conv", "clip", "flatten", "dense"]);
      expect(graph.nodes[1]).to.include({ lo: 0, hi: 6 });
      expect(graph.warnings).to.have.length(1);
      expect(graph.warnings[0]).to.match(/node \/Softmax: the final Softmax is dropped: it does not change the argmax/);
      const xs = samples(new Rng(7), 16, shape);
      const probabilities = await runOrt(bytes, "input", xs, shape);
      expect(maxAbsDiff(probabilities, softmaxRows(await runOrt(writeFloatGraphOnnx(graph), "input", xs, shape), 5))).to.be.at.most(1e-5);
    });

    it("imports with ReLU6 as the conv's clamp and reports the dropped Softmax", async () => {
      const imported = await importGraphModel(bytes, { calibration: samples(rng, 32, shape), evaluation: { inputs: samples(rng, 100, shape), labels: Array.from({ length: 100 }, (_, k) => k % 5) } });
      expect(imported.program.ops.map((o) => o.kind)).to.deep.equal(["conv", "flatten", "dense"]);
      const conv = imported.program.ops[0] as { clampLo: number; clampHi: number };
      expect(conv.clampLo).to.equal(0);
      expect(conv.clampHi).to.equal(Math.min(127, Math.round(6 / imported.scales[1])));
      expect(imported.warnings.join("\n")).to.match(/final Softmax is dropped/);
      expect(imported.report.accuracy).to.have.keys("float", "integer");
      expect(imported.report.agreement).to.be.at.least(0.9);
    });
  });

  describe("(d) refusals", () => {
    const rng = new Rng(0xd);

    it("an unsupported op, naming the node and the op", () => {
      const b = new TorchStyleOnnx(rng);
      const x = b.op("Erf", "layer3", [b.conv("conv", "input", 1, 2, 3)]);
      const bytes = b.build(["batch", 1, 6, 6], b.op("Flatten", "", [x], [attribute("axis", 1)], "output"), ["batch", 32]);
      expectThrows(() => readFloatGraph(bytes), UnsupportedModelError, /^node \/layer3\/Erf: op Erf is not supported \(supported: Conv, BatchNormalization, .*\)$/);
    });

    it("a BatchNormalization that does not follow a Conv, naming it and what precedes it", () => {
      const b = new TorchStyleOnnx(rng);
      let x = b.op("Relu", "act", [b.conv("conv", "input", 1, 2, 3)]);
      x = b.batchNorm("bn", x, 2);
      const bytes = b.build(["batch", 1, 6, 6], b.op("Flatten", "", [x], [attribute("axis", 1)], "output"), ["batch", 32]);
      expectThrows(() => readFloatGraph(bytes), UnsupportedModelError, /^node \/bn\/BatchNormalization: op BatchNormalization: must follow a Conv .* Relu node \/act\/Relu/);
      const c = new TorchStyleOnnx(rng);
      const bytes2 = c.build(["batch", 1, 6, 6], c.op("Flatten", "", [c.batchNorm("bn", "input", 1)], [attribute("axis", 1)], "output"), ["batch", 36]);
      expectThrows(() => readFloatGraph(bytes2), UnsupportedModelError, /node \/bn\/BatchNormalization: .* is the graph input/);
    });

    it("a constant Add that cannot be folded into a layer, and a Softmax that is not the last op", () => {
      const b = new TorchStyleOnnx(rng);
      let x = b.op("Relu", "act", [b.conv("conv", "input", 1, 2, 3)]);
      x = b.op("Add", "", [x, b.constant([], Float32Array.of(1))]);
      const bytes = b.build(["batch", 1, 6, 6], b.op("Flatten", "", [x], [attribute("axis", 1)], "output"), ["batch", 32]);
      expectThrows(() => readFloatGraph(bytes), UnsupportedModelError, /^node \/Add: op Add: a constant operand is supported only right after a Conv, Gemm or MatMul .* the output of Relu node \/act\/Relu/);
      const c = new TorchStyleOnnx(rng);
      const s = c.op("Softmax", "", [c.gemm("fc", c.op("Flatten", "", ["input"], [attribute("axis", 1)]), 4, 3)], [attribute("axis", 1)]);
      const bytes2 = c.build(["batch", 4], c.gemm("fc2", s, 3, 2, { output: "output" }), ["batch", 2]);
      expectThrows(() => readFloatGraph(bytes2), UnsupportedModelError, /^node \/Softmax: op Softmax: it is supported only as the model's last op/);
    });

    it("a dynamic input shape the shape subgraph cannot be folded for, unless the caller gives the shape", () => {
      const bytes = opset11Model(new Rng(1), ["batch", 1, "height", "width"]);
      expectThrows(() => readFloatGraph(bytes), OnnxFormatError, /input input has the dynamic dimension "height" at axis 2/, /give it/);
      expect(kinds(readFloatGraph(bytes, { inputShape: [1, 8, 8] }))).to.deep.equal(["conv", "clip", "flatten", "dense"]);
      expectThrows(() => readFloatGraph(bytes, { inputShape: [1, 8] }), OnnxFormatError, /does not fit/);
    });

    it("a shape computed from the activations' values, naming the node", () => {
      const b = new TorchStyleOnnx(rng);
      const x = b.conv("conv", "input", 1, 2, 3);
      const flat = b.op("Flatten", "", [x], [attribute("axis", 1)]);
      const picked = b.op("Gather", "", [flat, b.constant([2], BigInt64Array.of(0n, 1n))], [attribute("axis", 1)]);
      const target = b.op("Cast", "", [picked], [attribute("to", DataType.INT64)]);
      const bytes = b.build(["batch", 1, 6, 6], b.op("Reshape", "", [x, target], [], "output"), ["batch", 32]);
      expectThrows(() => readFloatGraph(bytes), UnsupportedModelError, /^node \/Gather: op Gather reads the activation \/Flatten_output_0: it is supported only in shape subgraphs that fold to constants/);
    });

    it("a layer whose fan-in alone breaks the int32 accumulator bound, naming it", () => {
      const nIn = 132_105; // 128 × 127 × 132105 > 2³¹ − 1
      const graph: FloatGraph = {
        input: { name: "x", shape: [nIn] },
        nodes: [{ kind: "dense", weight: new Float32Array(nIn).fill(0.01), nIn, nOut: 1, bias: new Float32Array(1), sources: ["/wide/Gemm"], inputs: ["x"], output: "y", shape: [1] }],
        output: "y",
        warnings: [],
        opset: 17,
      };
      expectThrows(() => quantiseGraph(graph, new Map([["x", 1], ["y", 1]])), UnsupportedModelError, /^node \/wide\/Gemm: a fan-in of 132105 products is too large for the int32 accumulator/);
    });
  });

  describe("(e) pools and layout ops", () => {
    const rng = new Rng(0xe);
    const bytes = layoutModel(rng);
    const shape = [2, 8, 8];

    it("maps AveragePool, Concat, Transpose and Slice to the IR, exactly in float and within int8 error in the program", async () => {
      const graph = readFloatGraph(bytes);
      expect(kinds(graph)).to.deep.equal(["conv", "clip", "avgPool", "maxPool", "concat", "transpose", "slice", "flatten", "dense"]);
      const xs = samples(new Rng(8), 16, shape);
      expect(maxAbsDiff(await runOrt(bytes, "input", xs, shape), await runOrt(writeFloatGraphOnnx(graph), "input", xs, shape))).to.be.at.most(1e-4);
      const imported = await importGraphModel(bytes, { calibration: samples(rng, 32, shape), evaluation: { inputs: samples(rng, 100, shape) } });
      show("(e) pools and layout", imported);
      expect(imported.program.ops.map((o) => o.kind)).to.deep.equal(["conv", "avgPool", "maxPool", "concat", "transpose", "slice", "flatten", "dense"]);
      // The Concat's inputs share one scale: a view cannot requantise.
      expect(imported.scales[2]).to.equal(imported.scales[3]);
      expect(imported.scales[4]).to.equal(imported.scales[3]);
      expect(imported.report.agreement).to.be.at.least(0.9);
    });
  });

  describe("(f) opset 13 spellings: Squeeze axes as an input, MatMul + Add, HardSigmoid spelled out, x · HardSigmoid(x)", () => {
    /** conv → Relu → GlobalAveragePool → Squeeze(axes input) → MatMul + Add, then clip(y + 3, 0, 6)/6, times y when `swish`. */
    const model = (swish: boolean) => {
      const b = new TorchStyleOnnx(new Rng(0xf), 13);
      let x = b.op("Relu", "act", [b.conv("conv", "input", 2, 4, 3)]);
      x = b.op("GlobalAveragePool", "pool", [x]);
      x = b.op("Squeeze", "", [x, b.constant([2], BigInt64Array.of(2n, 3n))]);
      x = b.op("MatMul", "fc", [x, b.init("fc.weight", [4, 6], b.randn(24, 0.7))]);
      const y = b.op("Add", "fc", [x, b.init("fc.bias", [6], b.randn(6, 0.1))]);
      const plus = b.op("Add", "gate", [y, b.constant([], Float32Array.of(3))]);
      const clipped = b.op("Clip", "gate", [plus, b.constant([], Float32Array.of(0)), b.constant([], Float32Array.of(6))]);
      const h = b.op("Div", "gate", [clipped, b.constant([], Float32Array.of(6))], [], swish ? undefined : "output");
      return b.build(["batch", 2, 6, 6], swish ? b.op("Mul", "swish", [y, h], [], "output") : h, ["batch", 6]);
    };

    it("reads them exactly (onnxruntime, original vs read: ≤ 1e-5) and quantises them to tables", async () => {
      const shape = [2, 6, 6];
      const xs = samples(new Rng(9), 16, shape);
      for (const swish of [false, true]) {
        const bytes = model(swish);
        const graph = readFloatGraph(bytes);
        expect(kinds(graph)).to.deep.equal(["conv", "clip", "globalAvgPool", "flatten", "dense", swish ? "hardSwish" : "hardSigmoid"]);
        const dense = graph.nodes[4] as FloatGraph["nodes"][number] & { kind: "dense" };
        expect(dense.sources).to.deep.equal(["/fc/MatMul", "/fc/Add"]);
        expect(dense.bias.some((v) => v !== 0)).to.equal(true);
        const last = graph.nodes[5] as FloatGraph["nodes"][number] & { alpha: number; beta: number };
        expect([last.alpha, last.beta]).to.deep.equal([1 / 6, 0.5]);
        expect(maxAbsDiff(await runOrt(bytes, "input", xs, shape), await runOrt(writeFloatGraphOnnx(graph), "input", xs, shape))).to.be.at.most(1e-5);
        const imported = await importGraphModel(bytes, { calibration: samples(new Rng(10), 32, shape) });
        expect(imported.program.ops.map((o) => o.kind)).to.deep.equal(["conv", "globalAvgPool", "flatten", "dense", "table"]);
      }
    });
  });

  describe("(g) quantiseGraph on hand-made float graphs", () => {
    const dense = (name: string, input: string, output: string, weight: Float32Array, bias: Float32Array, nIn: number, nOut: number): FloatGraph["nodes"][number] => ({
      kind: "dense",
      weight,
      nIn,
      nOut,
      bias,
      sources: [name],
      inputs: [input],
      output,
      shape: [nOut],
    });

    it("fuses a Relu after a residual Add into the Add's clamp, each operand requantised to the output scale", () => {
      const graph: FloatGraph = {
        input: { name: "x", shape: [4] },
        nodes: [
          dense("/fc/Gemm", "x", "y", Float32Array.from({ length: 16 }, (_, i) => (i % 5) - 2), new Float32Array(4), 4, 4),
          { kind: "add", sources: ["/Add"], inputs: ["x", "y"], output: "s", shape: [4] },
          { kind: "clip", lo: 0, hi: Infinity, sources: ["/Relu"], inputs: ["s"], output: "r", shape: [4] },
        ],
        output: "r",
        warnings: [],
        opset: 17,
      };
      const q = quantiseGraph(graph, new Map([["x", 2], ["y", 8], ["s", 9], ["r", 6]]));
      expect(q.program.ops.map((o) => o.kind)).to.deep.equal(["dense", "add"]);
      const add = q.program.ops[1] as Extract<Op, { kind: "add" }>;
      expect([add.clampLo, add.clampHi]).to.deep.equal([0, 127]);
      expect(add.multiplierA / 2 ** add.shiftA).to.be.closeTo(2 / 6, 1e-9);
      expect(add.multiplierB / 2 ** add.shiftB).to.be.closeTo(8 / 6, 1e-9);
      expect(q.ops[1].sources).to.deep.equal(["/Add", "/Relu"]);
    });

    it("gives a channel whose bias would overflow the accumulator at its weights' scale a coarser weight scale, with a warning", () => {
      const weight = Float32Array.of(1e-9, -1e-9, 0.5, 0.25);
      const graph: FloatGraph = { input: { name: "x", shape: [2] }, nodes: [dense("/fc/Gemm", "x", "y", weight, Float32Array.of(5, 5), 2, 2)], output: "y", warnings: [], opset: 17 };
      const q = quantiseGraph(graph, new Map([["x", 1], ["y", 10]]));
      validateProgram(q.program);
      expect(q.warnings).to.have.length(1);
      expect(q.warnings[0]).to.match(/^node \/fc\/Gemm: output channel 0's bias 5 would not fit the int32 accumulator/);
      const bias = q.program.constants[(q.program.ops[0] as Extract<Op, { kind: "dense" }>).bias].data;
      expect(bias[0] * (1 / 127) * q.ops[0].weightScales![0]).to.be.closeTo(5, 1e-3); // the bias still means 5
    });
  });

  describe("(h) other exporters: tf2onnx (an NHWC input, Keras's flatten order) and paddle2onnx (Reshape [0, −1], Softmax on axis −1)", () => {
    /** As tf2onnx writes a Keras CNN: NHWC in, Transpose to NCHW, Conv, Relu, MaxPool, Transpose back before the Reshape [−1, K] (Keras flattens NHWC), MatMul + Add. */
    const tf2onnx = () => {
      const b = new TorchStyleOnnx(new Rng(0x7f), 13);
      let x = b.op("Transpose", "sequential/conv2d/Conv2D__6", ["input"], [attribute("perm", [0, 3, 1, 2])]);
      x = b.op("Relu", "sequential/conv2d/Relu", [b.conv("sequential/conv2d", x, 2, 4, 3, { pad: 1 })]);
      x = b.maxPool("sequential/max_pooling2d", x, 2);
      x = b.op("Transpose", "sequential/max_pooling2d/MaxPool__16", [x], [attribute("perm", [0, 2, 3, 1])]);
      x = b.op("Reshape", "sequential/flatten", [x, b.constant([2], BigInt64Array.of(-1n, 64n))]);
      x = b.op("MatMul", "sequential/dense", [x, b.init("sequential/dense/MatMul/ReadVariableOp:0", [64, 5], b.randn(320, 0.2))]);
      x = b.op("Add", "sequential/dense", [x, b.init("sequential/dense/BiasAdd/ReadVariableOp:0", [5], b.randn(5, 0.1))], [], "output");
      return b.build(["unk__20", 8, 8, 2], x, ["unk__20", 5]);
    };
    /** As paddle2onnx writes a Paddle CNN: Conv + BatchNormalization + Relu, MaxPool, Reshape [0, −1] (0: keep the batch dim), MatMul + Add, Softmax on axis −1. */
    const paddle2onnx = () => {
      const b = new TorchStyleOnnx(new Rng(0x9d), 11);
      let x = b.batchNorm("batch_norm_0", b.conv("conv2d_0", "input", 1, 4, 3, { pad: 1 }), 4);
      x = b.maxPool("pool2d_0", b.op("Relu", "relu_0", [x]), 2);
      x = b.op("Reshape", "reshape2_0", [x, b.constant([2], BigInt64Array.of(0n, -1n))]);
      x = b.op("MatMul", "linear_0", [x, b.init("linear_0.w_0", [64, 5], b.randn(320, 0.2))]);
      x = b.op("Add", "linear_0", [x, b.init("linear_0.b_0", [5], b.randn(5, 0.1))]);
      x = b.op("Softmax", "softmax_0", [x], [attribute("axis", -1)], "output");
      return b.build(["p2o.DynamicDimension.0", 1, 8, 8], x, ["p2o.DynamicDimension.0", 5]);
    };

    it("tf2onnx: the input's Transpose and the one before the flatten are views of the program, exactly in float and the program tracks it", async () => {
      const bytes = tf2onnx();
      const shape = [8, 8, 2];
      const graph = readFloatGraph(bytes);
      expect(kinds(graph)).to.deep.equal(["transpose", "conv", "clip", "maxPool", "transpose", "flatten", "dense"]);
      const xs = samples(new Rng(0x7e), 16, shape);
      expect(maxAbsDiff(await runOrt(bytes, "input", xs, shape), await runOrt(writeFloatGraphOnnx(graph), "input", xs, shape))).to.be.at.most(1e-4);
      const imported = await importGraphModel(bytes, { calibration: samples(new Rng(0x7d), 32, shape), evaluation: { inputs: samples(new Rng(0x7c), 100, shape) } });
      show("(h) tf2onnx", imported);
      expect(imported.program.inputShape).to.deep.equal(shape);
      expect(imported.program.ops.map((o) => o.kind)).to.deep.equal(["transpose", "conv", "maxPool", "transpose", "flatten", "dense"]);
      const perms = imported.program.ops.flatMap((op) => (op.kind === "transpose" ? [op.perm] : []));
      expect(perms).to.deep.equal([[2, 0, 1], [1, 2, 0]]); // NHWC → CHW, and CHW → HWC before Keras's flatten
      expect(imported.report.agreement).to.be.at.least(0.9);
    });

    it("paddle2onnx: folds the BatchNormalization, reads Reshape [0, −1] as a flatten and drops the Softmax on axis −1 with a warning", async () => {
      const bytes = paddle2onnx();
      const shape = [1, 8, 8];
      const graph = readFloatGraph(bytes);
      expect(kinds(graph)).to.deep.equal(["conv", "clip", "maxPool", "flatten", "dense"]);
      expect(graph.warnings.join("\n")).to.match(/node \/softmax_0\/Softmax: the final Softmax is dropped/);
      const xs = samples(new Rng(0x9c), 16, shape);
      expect(maxAbsDiff(await runOrt(bytes, "input", xs, shape), softmaxRows(await runOrt(writeFloatGraphOnnx(graph), "input", xs, shape), 5))).to.be.at.most(1e-4);
      const imported = await importGraphModel(bytes, { calibration: samples(new Rng(0x9b), 32, shape), evaluation: { inputs: samples(new Rng(0x9a), 100, shape) } });
      show("(h) paddle2onnx", imported);
      expect(imported.program.ops.map((o) => o.kind)).to.deep.equal(["conv", "maxPool", "flatten", "dense"]);
      expect(imported.report.agreement).to.be.at.least(0.9);
    });
  });
});
