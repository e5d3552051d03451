import { expect } from "chai";
import { createHash } from "node:crypto";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import * as ort from "onnxruntime-node";
import { type Digit, type MnistSplit, loadMnist } from "../../core/mnist";
import { type FloatGraph, type FloatGraphLayer, writeFloatGraphOnnx } from "../../core/onnx/floatGraphWriter";
import { attributeValue, decodeModel, type onnx, tensorValues, toNumber } from "../../core/onnx/onnxProto";
import { predict } from "../../scripts/lib/cnnTrainer";
import { CNN_CONFIG, CNN_MODEL_DIR, CNN_QUICK_CONFIG, type CnnTrainingReport, type CnnTrainingResult, trainCnnModel } from "../../scripts/train-cnn";

/**
 * The convolutional MNIST reference model (scripts/train-cnn.ts). The full training takes minutes,
 * so the reproducibility check trains the quick configuration (1 epoch on 1,000 digits) twice; the
 * committed models/mnist-cnn is checked against the script's default configuration, its own
 * train.json and onnxruntime.
 */
describe("the convolutional MNIST reference model (scripts/train-cnn.ts)", () => {
  let split: MnistSplit;
  let dirs: string[];
  let first: CnnTrainingResult;

  before(() => {
    split = loadMnist();
    dirs = [0, 1].map(() => mkdtempSync(path.join(os.tmpdir(), "refute-cnn-")));
    first = trainCnnModel(dirs[0], CNN_QUICK_CONFIG, () => {}, split);
    trainCnnModel(dirs[1], CNN_QUICK_CONFIG, () => {}, split);
  });
  after(() => dirs.forEach((d) => rmSync(d, { recursive: true, force: true })));

  it("is reproduced byte for byte by the script: float.onnx, and train.json but for its times", () => {
    const [a, b] = dirs.map((d) => readFileSync(path.join(d, "float.onnx")));
    expect(a.equals(b)).to.equal(true);
    expect(a.equals(Buffer.from(first.floatOnnx))).to.equal(true);
    const [ra, rb] = dirs.map((d) => withoutTimes(JSON.parse(readFileSync(path.join(d, "train.json"), "utf8"))));
    expect(ra).to.deep.equal(rb);
    expect(ra.config).to.deep.equal(json(CNN_QUICK_CONFIG));
    expect(ra.data.trainDigits).to.equal(1000);
  });

  it("runs in onnxruntime as the trainer's own forward pass computes it (logits within 1e-4)", async () => {
    const digits = split.test.slice(0, 16);
    const { diff } = await compareWithOnnxruntime(first.floatOnnx, first.graph, digits);
    console.log(`      largest |onnxruntime − trainer| logit difference on ${digits.length} held-out digits: ${diff.toExponential(2)}`);
    expect(diff).to.be.at.most(1e-4);
  });

  it("is exported the way PyTorch's exporter writes the network (nodes, names, attributes, initializers)", () => {
    const model = decodeModel(first.floatOnnx);
    const opset = (model.opsetImport ?? []).find((o) => !o.domain);
    expect(toNumber(opset?.version)).to.be.at.least(13);
    const graph = model.graph!;
    const nodes = (graph.node ?? []).map((n) => `${n.name}: ${n.opType}(${(n.input ?? []).join(", ")}) → ${(n.output ?? []).join(", ")}`);
    expect(nodes).to.deep.equal([
      "/conv1/Conv: Conv(input, conv1.weight) → /conv1/Conv_output_0",
      "/bn1/BatchNormalization: BatchNormalization(/conv1/Conv_output_0, bn1.weight, bn1.bias, bn1.running_mean, bn1.running_var) → /bn1/BatchNormalization_output_0",
      "/relu1/Relu: Relu(/bn1/BatchNormalization_output_0) → /relu1/Relu_output_0",
      "/pool1/MaxPool: MaxPool(/relu1/Relu_output_0) → /pool1/MaxPool_output_0",
      "/conv2/Conv: Conv(/pool1/MaxPool_output_0, conv2.weight) → /conv2/Conv_output_0",
      "/bn2/BatchNormalization: BatchNormalization(/conv2/Conv_output_0, bn2.weight, bn2.bias, bn2.running_mean, bn2.running_var) → /bn2/BatchNormalization_output_0",
      "/relu2/Relu: Relu(/bn2/BatchNormalization_output_0) → /relu2/Relu_output_0",
      "/pool2/MaxPool: MaxPool(/relu2/Relu_output_0) → /pool2/MaxPool_output_0",
      "/flatten/Flatten: Flatten(/pool2/MaxPool_output_0) → /flatten/Flatten_output_0",
      "/fc1/Gemm: Gemm(/flatten/Flatten_output_0, fc1.weight, fc1.bias) → /fc1/Gemm_output_0",
      "/relu3/Relu: Relu(/fc1/Gemm_output_0) → /relu3/Relu_output_0",
      "/fc2/Gemm: Gemm(/relu3/Relu_output_0, fc2.weight, fc2.bias) → output",
    ]);
    const attrs = (name: string) => Object.fromEntries((graph.node!.find((n) => n.name === name)!.attribute ?? []).map((a) => [a.name, a.ints?.length ? a.ints.map(toNumber) : a.type === 1 ? a.f : toNumber(a.i)]));
    expect(attrs("/conv1/Conv")).to.deep.equal({ dilations: [1, 1], group: 1, kernel_shape: [5, 5], pads: [2, 2, 2, 2], strides: [1, 1] });
    expect(attrs("/conv2/Conv")).to.deep.equal({ dilations: [1, 1], group: 1, kernel_shape: [5, 5], pads: [0, 0, 0, 0], strides: [1, 1] });
    expect(attrs("/bn1/BatchNormalization").momentum).to.be.closeTo(0.9, 1e-7);
    expect(attrs("/bn1/BatchNormalization").epsilon).to.be.closeTo(1e-5, 1e-12);
    expect(attrs("/pool1/MaxPool")).to.deep.equal({ ceil_mode: 0, dilations: [1, 1], kernel_shape: [2, 2], pads: [0, 0, 0, 0], strides: [2, 2] });
    expect(attrs("/flatten/Flatten")).to.deep.equal({ axis: 1 });
    expect(attrs("/fc1/Gemm")).to.deep.equal({ alpha: 1, beta: 1, transB: 1 });
    const dims = Object.fromEntries((graph.initializer ?? []).map((t) => [t.name, (t.dims ?? []).map(toNumber)]));
    expect(dims).to.deep.equal({
      "conv1.weight": [8, 1, 5, 5],
      "bn1.weight": [8],
      "bn1.bias": [8],
      "bn1.running_mean": [8],
      "bn1.running_var": [8],
      "conv2.weight": [16, 8, 5, 5],
      "bn2.weight": [16],
      "bn2.bias": [16],
      "bn2.running_mean": [16],
      "bn2.running_var": [16],
      "fc1.weight": [64, 400],
      "fc1.bias": [64],
      "fc2.weight": [10, 64],
      "fc2.bias": [10],
    });
    const io = (v: onnx.IValueInfoProto) => [v.name, v.type?.tensorType?.elemType, (v.type?.tensorType?.shape?.dim ?? []).map((d) => toNumber(d.dimValue))];
    expect(graph.input!.map(io)).to.deep.equal([["input", 1, [1, 1, 28, 28]]]);
    expect(graph.output!.map(io)).to.deep.equal([["output", 1, [1, 10]]]);
  });

  describe("the committed model (models/mnist-cnn)", () => {
    let report: CnnTrainingReport;
    let bytes: Buffer;
    before(() => {
      bytes = readFileSync(path.join(CNN_MODEL_DIR, "float.onnx"));
      report = JSON.parse(readFileSync(path.join(CNN_MODEL_DIR, "train.json"), "utf8"));
    });

    it("was trained with the script's default configuration, and float.onnx is the file train.json describes", () => {
      expect(report.config).to.deep.equal(json(CNN_CONFIG));
      expect(report.data.trainDigits).to.equal(split.train.length);
      expect(report.data.heldOutDigits).to.equal(split.test.length);
      expect(report.floatOnnx).to.deep.equal({ bytes: bytes.length, sha256: createHash("sha256").update(bytes).digest("hex") });
      console.log(`      ${report.parameters} parameters, float held-out accuracy ${(100 * report.floatAccuracy).toFixed(2)} %, trained in ${report.trainingSeconds} s`);
      expect(report.floatAccuracy).to.be.at.least(0.985);
    });

    it("reads back into the trainer's graph, which writes the same bytes and has the recorded held-out accuracy", () => {
      const graph = readFloatGraph(bytes);
      expect(Buffer.from(writeFloatGraphOnnx(graph)).equals(bytes)).to.equal(true);
      const logits = predict(
        graph,
        split.test.map((d) => d.pixels),
      );
      const right = logits.filter((z, i) => argmax(z) === split.test[i].label).length;
      expect(right / split.test.length).to.equal(report.floatAccuracy);
    });

    it("runs in onnxruntime as the trainer's forward pass computes it on every held-out digit (logits within 1e-4)", async () => {
      const { diff, right } = await compareWithOnnxruntime(bytes, readFloatGraph(bytes), split.test);
      console.log(`      onnxruntime: held-out accuracy ${(100 * right / split.test.length).toFixed(2)} %, largest logit difference ${diff.toExponential(2)}`);
      expect(diff).to.be.at.most(1e-4);
      expect(Math.abs(right / split.test.length - report.floatAccuracy)).to.be.at.most(0.001);
    });
  });
});

const json = <T>(x: T): T => JSON.parse(JSON.stringify(x));

function withoutTimes(report: CnnTrainingReport): CnnTrainingReport {
  return { ...report, trainingSeconds: 0, totalSeconds: 0, epochs: report.epochs.map((e) => ({ ...e, seconds: 0 })) };
}

function argmax(z: ArrayLike<number>): number {
  let best = 0;
  for (let i = 1; i < z.length; i++) if (z[i] > z[best]) best = i;
  return best;
}

/** The largest |onnxruntime logit − trainer logit| over `digits`, run one at a time (the file's batch is 1), and how many onnxruntime classifies right. */
async function compareWithOnnxruntime(bytes: Uint8Array, graph: FloatGraph, digits: readonly Digit[]): Promise<{ diff: number; right: number }> {
  const session = await ort.InferenceSession.create(bytes, { logSeverityLevel: 3 });
  const ours = predict(
    graph,
    digits.map((d) => d.pixels),
  );
  let diff = 0;
  let right = 0;
  for (let i = 0; i < digits.length; i++) {
    const out = await session.run({ input: new ort.Tensor("float32", Float32Array.from(digits[i].pixels), [1, 1, 28, 28]) });
    const theirs = out.output.data as Float32Array;
    expect(theirs.length).to.equal(10);
    for (let k = 0; k < 10; k++) diff = Math.max(diff, Math.abs(theirs[k] - ours[i][k]));
    if (argmax(theirs) === digits[i].label) right++;
  }
  await session.release();
  return { diff, right };
}

/** The float graph of a file written by writeFloatGraphOnnx (the module name is the node name's first part). */
function readFloatGraph(bytes: Uint8Array): FloatGraph {
  const g = decodeModel(bytes).graph!;
  const inits = new Map((g.initializer ?? []).map((t) => [t.name!, tensorValues(t)]));
  const data = (name: string) => inits.get(name)!.data as Float32Array;
  const ints = (n: onnx.INodeProto, name: string) => (n.attribute ?? []).find((a) => a.name === name)!.ints!.map(toNumber);
  const inputDims = g.input![0].type!.tensorType!.shape!.dim!.map((d) => toNumber(d.dimValue));
  const layers = (g.node ?? []).map((n): FloatGraphLayer => {
    const module = n.name!.split("/")[1];
    const input = (i: number) => n.input![i];
    switch (n.opType) {
      case "Conv": {
        const dims = inits.get(input(1))!.dims;
        const group = attributeValue(n, "group", 1);
        return {
          op: "Conv",
          module,
          inChannels: dims[1] * group,
          outChannels: dims[0],
          kernelShape: ints(n, "kernel_shape") as [number, number],
          strides: ints(n, "strides") as [number, number],
          pads: ints(n, "pads") as [number, number, number, number],
          dilations: ints(n, "dilations") as [number, number],
          group,
          weight: data(input(1)),
          ...(n.input!.length > 2 ? { bias: data(input(2)) } : {}),
        };
      }
      case "BatchNormalization":
        return {
          op: "BatchNormalization",
          module,
          scale: data(input(1)),
          bias: data(input(2)),
          mean: data(input(3)),
          variance: data(input(4)),
          epsilon: attributeValue(n, "epsilon", 1e-5),
          momentum: attributeValue(n, "momentum", 0.9),
        };
      case "MaxPool":
        return { op: "MaxPool", module, kernelShape: ints(n, "kernel_shape") as [number, number], strides: ints(n, "strides") as [number, number], pads: ints(n, "pads") as [number, number, number, number] };
      case "Gemm": {
        const dims = inits.get(input(1))!.dims;
        return { op: "Gemm", module, nIn: dims[1], nOut: dims[0], weight: data(input(1)), bias: data(input(2)) };
      }
      case "Relu":
      case "Flatten":
        return { op: n.opType, module };
      default:
        throw new Error(`unexpected op ${n.opType}`);
    }
  });
  return { name: g.name!, inputShape: inputDims.slice(1) as [number, number, number], layers };
}
