import { expect } from "chai";
import * as ort from "onnxruntime-node";
import { type FloatModel, SUPPORTED_FLOAT_OPS, UnsupportedModelError, readFloatModel, runFloat } from "../../core/onnx/floatModel";
import { writeFloatOnnx } from "../../core/onnx/floatOnnxWriter";
import { DataType, OnnxFormatError, attribute, encodeModel, floatTensor, int8Tensor, node, type onnx, valueInfo } from "../../core/onnx/onnxProto";
import { Rng } from "../../core/rng";
import { expectThrows } from "../helpers/expectThrows";
import { randomFloatModel } from "../helpers/randomModels";

/** ReLU on the hidden layers and, at random, on the last. */
const randomRelu = (rng: Rng, sizes: readonly number[]) => sizes.slice(1).map((_, i) => i + 2 < sizes.length || rng.float() < 0.5);

/**
 * readFloatModel: the float ONNX files a training framework exports (Gemm, MatMul + Add,
 * Relu, Flatten) come back as the same Dense layers, and everything else is refused with an
 * error that names the node and the problem.
 */


function randomInputs(rng: Rng, size: number, count: number): Float32Array[] {
  return Array.from({ length: count }, () => Float32Array.from({ length: size }, () => rng.normal()));
}

/** Runs the float file in onnxruntime on `inputs` (each of `shape` after the batch); one output vector per input. */
async function runOrt(bytes: Uint8Array, inputs: Float32Array[], shape: readonly number[]): Promise<Float32Array[]> {
  const session = await ort.InferenceSession.create(bytes, { logSeverityLevel: 3 }); // 3: errors only (an initializer listed as an input warns)
  try {
    const size = inputs[0].length;
    const batch = new Float32Array(inputs.length * size);
    inputs.forEach((x, k) => batch.set(x, k * size));
    const out = (await session.run({ [session.inputNames[0]]: new ort.Tensor("float32", batch, [inputs.length, ...shape]) }))[session.outputNames[0]];
    const data = out.data as Float32Array;
    const n = data.length / inputs.length;
    return inputs.map((_, k) => data.slice(k * n, (k + 1) * n));
  } finally {
    await session.release();
  }
}

/** onnxruntime (float32) against runFloat (double) on the imported model: within 1e-4 of the output vector's largest magnitude. */
async function expectOrtAgrees(bytes: Uint8Array, shape: readonly number[], rng: Rng, label: string): Promise<void> {
  const model = readFloatModel(bytes);
  const inputs = randomInputs(rng, model.inputSize, 16);
  const got = await runOrt(bytes, inputs, shape);
  inputs.forEach((x, k) => {
    const want = runFloat(model, x).at(-1)!;
    expect(got[k].length, label).to.equal(want.length);
    const scale = Math.max(1e-3, ...Array.from(want, Math.abs));
    want.forEach((w, j) => expect(Math.abs(got[k][j] - w), `${label}: input ${k}, output ${j}: ort ${got[k][j]}, runFloat ${w}`).to.be.at.most(1e-4 * scale));
  });
}

function expectSameLayers(got: FloatModel, want: FloatModel, label: string): void {
  expect(got.inputSize, label).to.equal(want.inputSize);
  expect(got.layers.length, label).to.equal(want.layers.length);
  got.layers.forEach((layer, i) => {
    const w = want.layers[i];
    expect([layer.nIn, layer.nOut, layer.relu], `${label} layer ${i + 1}`).to.deep.equal([w.nIn, w.nOut, w.relu]);
    expect(layer.weights, `${label} layer ${i + 1} weights`).to.deep.equal(w.weights);
    expect(layer.bias, `${label} layer ${i + 1} bias`).to.deep.equal(w.bias);
  });
}

/** A float graph with input `x` of shape [batch, ...inputShape] and one output `y` (unless told otherwise). */
function floatGraph(
  nodes: onnx.INodeProto[],
  initializer: onnx.ITensorProto[],
  options: { inputShape?: readonly number[]; output?: string | string[]; extraInputs?: onnx.IValueInfoProto[] } = {},
): Uint8Array {
  const outputs = [options.output ?? "y"].flat();
  return encodeModel(
    {
      name: "hand_made",
      node: nodes,
      initializer,
      input: [valueInfo("x", DataType.FLOAT, ["batch", ...(options.inputShape ?? [4])]), ...(options.extraInputs ?? [])],
      output: outputs.map((o) => valueInfo(o, DataType.FLOAT, ["batch", 3])),
    },
    "refute-test",
  );
}

function randomTensor(rng: Rng, name: string, dims: number[]): onnx.ITensorProto {
  return floatTensor(name, dims, Float32Array.from({ length: dims.reduce((a, b) => a * b, 1) }, () => rng.normal()));
}

/** Asserts that reading `bytes` throws `cls` and that the message matches every pattern. */
function expectReadError(bytes: Uint8Array, cls: typeof UnsupportedModelError | typeof OnnxFormatError, ...patterns: RegExp[]): Error {
  return expectThrows(() => readFloatModel(bytes), cls, ...patterns);
}

describe("readFloatModel", () => {
  describe("imports what writeFloatOnnx and exporters write", () => {
    const shapes: { sizes: number[]; inputShape: number[] }[] = [
      { sizes: [12, 20, 7], inputShape: [12] },
      { sizes: [30, 16, 16, 5], inputShape: [30] },
      { sizes: [1, 1], inputShape: [1] },
      { sizes: [36, 24, 10], inputShape: [1, 6, 6] },
      { sizes: [28, 9, 4, 3], inputShape: [1, 4, 7] },
    ];

    for (const style of ["gemm", "matmul-add"] as const) {
      it(`reads ${style} files back to exactly the same layers, with [n] and [1, h, w] (Flatten) inputs, and onnxruntime agrees`, async () => {
        const rng = new Rng(style === "gemm" ? 0xf10a7 : 0xf10a8);
        for (const { sizes, inputShape } of shapes) {
          const label = `${style} ${sizes.join("-")} input [${inputShape}]`;
          const model = randomFloatModel(rng, sizes, randomRelu(rng, sizes));
          const bytes = writeFloatOnnx(model, { style, inputShape });
          const read = readFloatModel(bytes);
          expectSameLayers(read, model, label);
          expect(read.layers.map((l) => l.node), label).to.deep.equal(read.layers.map((_, i) => `fc${i + 1}/${style === "gemm" ? "gemm" : "matmul"}`));
          await expectOrtAgrees(bytes, inputShape, rng, label);
        }
      });
    }

    it("Gemm with transB=0, alpha ≠ 1 and beta ≠ 1: weights scaled by alpha, bias by beta, as onnxruntime computes", async () => {
      const rng = new Rng(0xa1fa);
      const alpha = 0.37;
      const beta = -2.5;
      // fc1: Gemm(x, W1 [4, 5] input-major, b1), transB=0, alpha, beta; fc2: Gemm(h, W2 [3, 5], b2) with transB=1 and only beta.
      const w1 = randomTensor(rng, "W1", [4, 5]);
      const b1 = randomTensor(rng, "b1", [5]);
      const w2 = randomTensor(rng, "W2", [3, 5]);
      const b2 = randomTensor(rng, "b2", [1, 3]);
      const bytes = floatGraph(
        [
          node("Gemm", "fc1", ["x", "W1", "b1"], ["h"], [attribute("transB", 0), attribute("alpha", alpha, "float"), attribute("beta", beta, "float")]),
          node("Relu", "act1", ["h"], ["r"]),
          node("Gemm", "fc2", ["r", "W2", "b2"], ["y"], [attribute("transB", 1), attribute("beta", 0.5, "float")]),
        ],
        [w1, b1, w2, b2],
      );
      const model = readFloatModel(bytes);
      expect(model.inputSize).to.equal(4);
      expect(model.layers.map((l) => [l.node, l.nIn, l.nOut, l.relu])).to.deep.equal([
        ["fc1", 4, 5, true],
        ["fc2", 5, 3, false],
      ]);
      const W1 = new Float32Array(w1.rawData!.slice().buffer);
      const B1 = new Float32Array(b1.rawData!.slice().buffer);
      const W2 = new Float32Array(w2.rawData!.slice().buffer);
      const B2 = new Float32Array(b2.rawData!.slice().buffer);
      // Output-major: weights[j·nIn + i] = alpha · W1[i][j]; float attributes are float32 in the file.
      const a32 = Math.fround(alpha);
      const expected1 = new Float32Array(20);
      for (let j = 0; j < 5; j++) for (let i = 0; i < 4; i++) expected1[j * 4 + i] = a32 * W1[i * 5 + j];
      expect(model.layers[0].weights).to.deep.equal(expected1);
      expect(model.layers[0].bias).to.deep.equal(B1.map((b) => b * Math.fround(beta)));
      expect(model.layers[1].weights).to.deep.equal(W2);
      expect(model.layers[1].bias).to.deep.equal(B2.map((b) => b * 0.5));
      await expectOrtAgrees(bytes, [4], rng, "alpha/beta/transB=0");
    });

    it("Gemm without a bias input, Flatten after a layer, and a weight that is also listed as a graph input (old exporters)", async () => {
      const rng = new Rng(0xb1a5);
      const bytes = floatGraph(
        [node("Gemm", "fc1", ["x", "W"], ["h"], [attribute("transB", 1)]), node("Flatten", "flat", ["h"], ["y"], [attribute("axis", 1)])],
        [randomTensor(rng, "W", [3, 4])],
        { extraInputs: [valueInfo("W", DataType.FLOAT, [3, 4])] },
      );
      const model = readFloatModel(bytes);
      expect(model.layers).to.have.length(1);
      expect(model.layers[0].bias).to.deep.equal(new Float32Array(3));
      expect(model.layers[0].relu).to.equal(false);
      await expectOrtAgrees(bytes, [4], rng, "no bias");
    });
  });

  describe("refuses what it cannot import, naming the node and the problem", () => {
    const rng = new Rng(0xe7707);
    const W = () => randomTensor(rng, "W", [3, 4]); // Gemm transB=1: 4 → 3
    const b = () => randomTensor(rng, "b", [3]);
    const gemm = (name: string, input: string, output: string, weight = "W", bias = "b") => node("Gemm", name, [input, weight, bias], [output], [attribute("transB", 1)]);

    it("an unsupported op (Sigmoid, Conv) → UnsupportedModelError naming the op and listing the supported ones", () => {
      const supported = new RegExp(`supported: ${SUPPORTED_FLOAT_OPS.join(", ")}`);
      const sigmoid = expectReadError(
        floatGraph([gemm("fc1", "x", "h"), node("Sigmoid", "act1", ["h"], ["y"])], [W(), b()]),
        UnsupportedModelError,
        /^node act1: /,
        /op Sigmoid is not supported/,
        supported,
      );
      expect((sigmoid as UnsupportedModelError).node).to.equal("act1");
      const conv = expectReadError(
        floatGraph([node("Conv", "conv1", ["x", "K"], ["y"], [attribute("kernel_shape", [3, 3])])], [randomTensor(rng, "K", [2, 1, 3, 3])], { inputShape: [1, 6, 6] }),
        UnsupportedModelError,
        /^node conv1: op Conv is not supported/,
        supported,
      );
      expect((conv as UnsupportedModelError).problem).to.match(/^op Conv/);
      // A node without a name is named by its op and output.
      expectReadError(floatGraph([gemm("fc1", "x", "h"), node("Tanh", "", ["h"], ["y"])], [W(), b()]), UnsupportedModelError, /^node Tanh\(y\): op Tanh is not supported/);
    });

    it("a weight that is a graph input, or any tensor that is not an initializer", () => {
      expectReadError(
        floatGraph([gemm("fc1", "x", "y")], [b()], { extraInputs: [valueInfo("W", DataType.FLOAT, [3, 4])] }),
        UnsupportedModelError,
        /^node fc1: input W must be a constant initializer/,
      );
      expectReadError(
        floatGraph([node("MatMul", "mm1", ["x", "Wt"], ["m"]), node("Add", "add1", ["m", "bias_in"], ["y"])], [randomTensor(rng, "Wt", [4, 3])], {
          extraInputs: [valueInfo("bias_in", DataType.FLOAT, [3])],
        }),
        UnsupportedModelError,
        /^node add1: input bias_in must be a constant initializer/,
      );
      expectReadError(floatGraph([gemm("fc1", "x", "y", "nowhere")], [b()]), UnsupportedModelError, /^node fc1: input nowhere must be a constant initializer/);
      // An extra graph input that no node reads is still refused.
      expectReadError(
        floatGraph([gemm("fc1", "x", "y")], [W(), b()], { extraInputs: [valueInfo("unused", DataType.FLOAT, ["batch", 2])] }),
        OnnxFormatError,
        /expected one graph input, found 2/,
      );
    });

    it("a shape mismatch between layers names the node and both sizes", () => {
      const e = expectReadError(
        floatGraph([gemm("fc1", "x", "h"), gemm("fc2", "h", "y", "W2", "b2")], [W(), b(), randomTensor(rng, "W2", [3, 5]), randomTensor(rng, "b2", [3])]),
        UnsupportedModelError,
        /^node fc2: shape mismatch/,
        /expects 5 inputs but the layer receives 3/,
      );
      expect((e as UnsupportedModelError).node).to.equal("fc2");
      // The first layer against the input, through Flatten: 1×4×4 = 16, the weight wants 15.
      expectReadError(
        floatGraph([node("Flatten", "flat", ["x"], ["f"]), node("MatMul", "mm1", ["f", "Wt"], ["y"])], [randomTensor(rng, "Wt", [15, 3])], { inputShape: [1, 4, 4] }),
        UnsupportedModelError,
        /^node mm1: shape mismatch: the weight expects 15 inputs but the layer receives 16/,
      );
      // A bias of the wrong length.
      expectReadError(floatGraph([gemm("fc1", "x", "y", "W", "b4")], [W(), randomTensor(rng, "b4", [4])]), UnsupportedModelError, /^node fc1: bias b4 has shape \[4\], expected \[3\]/);
      // [nOut, 1] has the right length but would broadcast over the batch, not per output.
      expectReadError(floatGraph([gemm("fc1", "x", "y", "W", "b31")], [W(), randomTensor(rng, "b31", [3, 1])]), UnsupportedModelError, /^node fc1: bias b31 has shape \[3,1\], expected \[3\] or \[1, 3\]/);
    });

    it("an Add that is not the bias of the MatMul just before it", () => {
      const Wt = () => randomTensor(rng, "Wt", [4, 3]);
      const addOnly = /Add is supported only as the bias of the MatMul just before it/;
      // after Relu
      expectReadError(
        floatGraph([node("MatMul", "mm1", ["x", "Wt"], ["m"]), node("Relu", "act1", ["m"], ["r"]), node("Add", "add1", ["r", "b"], ["y"])], [Wt(), b()]),
        UnsupportedModelError,
        /^node add1: /,
        addOnly,
      );
      // after a Gemm, which has its own bias
      expectReadError(floatGraph([gemm("fc1", "x", "h"), node("Add", "add1", ["h", "b"], ["y"])], [W(), b()]), UnsupportedModelError, /^node add1: /, addOnly);
      // a second bias after MatMul + Add
      expectReadError(
        floatGraph([node("MatMul", "mm1", ["x", "Wt"], ["m"]), node("Add", "add1", ["m", "b"], ["a"]), node("Add", "add2", ["a", "b"], ["y"])], [Wt(), b()]),
        UnsupportedModelError,
        /^node add2: /,
        addOnly,
      );
      // first in the graph
      expectReadError(floatGraph([node("Add", "add0", ["x", "b4"], ["y"])], [randomTensor(rng, "b4", [4])]), UnsupportedModelError, /^node add0: /, addOnly);
      // Add of two activations: MatMul output plus itself, and a residual MatMul(x) + x
      expectReadError(
        floatGraph([node("MatMul", "mm1", ["x", "Wt"], ["m"]), node("Add", "add1", ["m", "m"], ["y"])], [Wt()]),
        UnsupportedModelError,
        /^node add1: input m must be a constant initializer/,
      );
      expectReadError(
        floatGraph([node("MatMul", "mm1", ["x", "Wsq"], ["m"]), node("Add", "residual", ["m", "x"], ["y"])], [randomTensor(rng, "Wsq", [4, 4])]),
        UnsupportedModelError,
        /^node residual: input x must be a constant initializer/,
      );
    });

    it("a Relu with no layer before it, first or after Flatten, or twice in a row", () => {
      const mustFollow = /Relu must follow a Gemm, MatMul or Add/;
      expectReadError(floatGraph([node("Relu", "act0", ["x"], ["r"]), gemm("fc1", "r", "y")], [W(), b()]), UnsupportedModelError, /^node act0: /, mustFollow);
      expectReadError(
        floatGraph([node("Flatten", "flat", ["x"], ["f"]), node("Relu", "act0", ["f"], ["r"]), gemm("fc1", "r", "y")], [W(), b()], { inputShape: [1, 2, 2] }),
        UnsupportedModelError,
        /^node act0: /,
        mustFollow,
      );
      expectReadError(floatGraph([gemm("fc1", "x", "h"), node("Relu", "act1", ["h"], ["r"]), node("Relu", "act2", ["r"], ["y"])], [W(), b()]), UnsupportedModelError, /^node act2: /, mustFollow);
    });

    it("a branch: a node reading a tensor that is not the running activation", () => {
      const e = expectReadError(
        floatGraph([gemm("fc1", "x", "h"), node("Relu", "act1", ["h"], ["r"]), gemm("fc2", "h", "y", "W2", "b")], [W(), b(), randomTensor(rng, "W2", [3, 3])]),
        UnsupportedModelError,
        /^node fc2: reads h, but only a chain is supported: expected r/,
      );
      expect((e as UnsupportedModelError).node).to.equal("fc2");
      expectReadError(floatGraph([gemm("fc1", "x", "h"), gemm("fc2", "x", "y")], [W(), b()]), UnsupportedModelError, /^node fc2: reads x, but only a chain is supported: expected h/);
      // two outputs from one node
      expectReadError(floatGraph([node("Gemm", "fc1", ["x", "W", "b"], ["y", "z"], [attribute("transB", 1)])], [W(), b()]), UnsupportedModelError, /^node fc1: must have one output, has 2/);
    });

    it("an input of rank > 2 without Flatten, Flatten with axis ≠ 1, transA=1", () => {
      expectReadError(
        floatGraph([node("MatMul", "mm1", ["x", "Wt"], ["y"])], [randomTensor(rng, "Wt", [4, 3])], { inputShape: [1, 2, 2] }),
        UnsupportedModelError,
        /^node mm1: the input has more than two dimensions: add a Flatten before the first layer/,
      );
      expectReadError(
        floatGraph([node("Flatten", "flat", ["x"], ["f"], [attribute("axis", 2)]), gemm("fc1", "f", "y")], [W(), b()], { inputShape: [1, 2, 2] }),
        UnsupportedModelError,
        /^node flat: only Flatten with axis=1 is supported/,
      );
      expectReadError(
        floatGraph([node("Gemm", "fc1", ["x", "Wa", "b"], ["y"], [attribute("transA", 1)])], [randomTensor(rng, "Wa", [4, 3]), b()]),
        UnsupportedModelError,
        /^node fc1: transA=1 is not supported/,
      );
    });

    it("a non-float initializer, or a weight that is not 2-D", () => {
      const e = expectReadError(
        floatGraph([gemm("fc1", "x", "y", "Wi")], [int8Tensor("Wi", [3, 4], new Int8Array(12).fill(1)), b()]),
        UnsupportedModelError,
        /^node fc1: initializer Wi must be float32, has data type 3/,
      );
      expect(DataType.INT8).to.equal(3);
      expect((e as UnsupportedModelError).problem).to.contain("float32");
      expectReadError(
        floatGraph([gemm("fc1", "x", "y", "W", "bi")], [W(), int8Tensor("bi", [3], new Int8Array(3))]),
        UnsupportedModelError,
        /^node fc1: initializer bi must be float32/,
      );
      expectReadError(floatGraph([node("MatMul", "mm1", ["x", "W3"], ["y"])], [randomTensor(rng, "W3", [4, 3, 1])]), UnsupportedModelError, /^node mm1: weight W3 must be 2-D, has shape \[4,3,1\]/);
    });

    it("malformed bytes: random garbage and truncated files → OnnxFormatError saying malformed", () => {
      const garbage = new Rng(0x6a7ba6e);
      for (let k = 0; k < 50; k++) {
        const bytes = Uint8Array.from({ length: garbage.int(1, 400) }, () => garbage.int(0, 255));
        expectReadError(bytes, OnnxFormatError, /malformed ONNX file/);
      }
      expectReadError(new Uint8Array(0), OnnxFormatError, /malformed ONNX file: it has no graph/);
      const whole = writeFloatOnnx(randomFloatModel(rng, [10, 8, 3], randomRelu(rng, [10, 8, 3])), { style: "matmul-add" });
      expect(readFloatModel(whole).layers).to.have.length(2);
      // Every cut inside the graph message. (Protobuf has no end marker: a cut exactly between two
      // top-level fields after the graph still decodes; the writer puts only the opset import there.)
      for (let cut = 1; cut < whole.length - 16; cut += 3) expectReadError(whole.subarray(0, cut), OnnxFormatError, /malformed ONNX file/);
    });

    it("a graph with no layers, and a graph whose output is not the end of the chain", () => {
      expectReadError(floatGraph([], [], { output: "x" }), OnnxFormatError, /it has no Gemm or MatMul layer/);
      expectReadError(floatGraph([node("Flatten", "flat", ["x"], ["y"])], []), OnnxFormatError, /it has no Gemm or MatMul layer/);
      expectReadError(
        floatGraph([gemm("fc1", "x", "h"), node("Relu", "act1", ["h"], ["y"])], [W(), b()], { output: "h" }),
        OnnxFormatError,
        /graph output must be the end of the chain \(y\), found \[h\]/,
      );
      expectReadError(
        floatGraph([gemm("fc1", "x", "h"), node("Relu", "act1", ["h"], ["y"])], [W(), b()], { output: ["h", "y"] }),
        OnnxFormatError,
        /graph output must be the end of the chain \(y\), found \[h,y\]/,
      );
    });
  });
});
