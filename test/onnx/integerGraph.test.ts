import { expect } from "chai";
import * as ort from "onnxruntime-node";
import type { DenseLayer, IntegerModel } from "../../core/model";
import { ModelValidationError } from "../../core/model";
import { buildIntegerOnnx, readIntegerModel } from "../../core/onnx/integerGraph";
import { readFileSync } from "node:fs";
import path from "node:path";
import { MNIST_MODEL_DIR } from "../../core/modelFiles";
import { writeFloatOnnx } from "../../core/onnx/floatOnnxWriter";
import { DataType, OnnxFormatError, attribute, encodeModel, floatTensor, int32Tensor, int64Tensor, int8Tensor, node, onnx, valueInfo } from "../../core/onnx/onnxProto";
import { randomFloatModel } from "../helpers/randomModels";
import { OrtTraceRunner } from "../../core/onnx/ortTraceRunner";
import { runReference } from "../../core/referenceExecutor";
import { Rng } from "../../core/rng";
import { type RequantStyle, syntheticInputs, syntheticModel } from "../../scripts/lib/syntheticModel";
import { expectThrows } from "../helpers/expectThrows";

/**
 * The canonical integer ONNX form: buildIntegerOnnx and readIntegerModel are inverse, and
 * any file that is not exactly what buildIntegerOnnx writes for its constants is refused
 * with a message that says what is wrong, before onnxruntime ever sees it.
 */

function randomModel(rng: Rng, style: RequantStyle = "scaled"): IntegerModel {
  const depth = rng.int(1, 4);
  const sizes = Array.from({ length: depth + 1 }, () => rng.int(1, 40));
  return syntheticModel(rng, { sizes, style });
}

const SMALL: IntegerModel = syntheticModel(new Rng(0x5a11), { sizes: [5, 4, 3], style: "scaled" });

/** Decodes `bytes`, lets `edit` change the protobuf, re-encodes. */
function edited(bytes: Uint8Array, edit: (graph: onnx.GraphProto, model: onnx.ModelProto) => void): Uint8Array {
  const model = onnx.ModelProto.decode(bytes);
  edit(model.graph as onnx.GraphProto, model);
  return onnx.ModelProto.encode(model).finish();
}

function replaceInitializer(graph: onnx.GraphProto, tensor: onnx.ITensorProto): void {
  const i = graph.initializer.findIndex((t) => t.name === tensor.name);
  expect(i, `initializer ${tensor.name}`).to.be.at.least(0);
  graph.initializer[i] = onnx.TensorProto.create(tensor);
}

const NOT_CANONICAL = /integer model: the graph is not the canonical graph of its constants/;

/** The refusal of a float model read as an integer graph: what the file is, and how to quantise it. */
const floatRefusal = (producer: string, evidence: string) =>
  `this looks like a float ONNX model, not Refute's integer graph (producer "${producer}", ${evidence}): import and quantise it first: ` +
  "readFloatModel (core/onnx/floatModel.ts), then quantise with calibration inputs (core/quantise.ts), then buildIntegerOnnx (core/onnx/integerGraph.ts) writes integer.onnx, " +
  "as scripts/build-reference-model.ts does for models/mnist-mlp";

describe("integer ONNX graph", () => {
  describe("buildIntegerOnnx → readIntegerModel", () => {
    it("round-trips 60 seeded synthetic models exactly, every field, and builds identical bytes each time", () => {
      const rng = new Rng(0x1a7e6e4);
      for (let m = 0; m < 60; m++) {
        const model = randomModel(rng, m % 3 === 2 ? "extreme" : "scaled");
        const label = `model ${m} (${model.inputSize}-${model.layers.map((l) => l.nOut).join("-")})`;
        const bytes = buildIntegerOnnx(model);
        const read = readIntegerModel(bytes);
        expect(read.inputSize, label).to.equal(model.inputSize);
        expect(read.layers.length, label).to.equal(model.layers.length);
        read.layers.forEach((layer, i) => {
          const want = model.layers[i];
          for (const key of Object.keys(want) as (keyof DenseLayer)[]) expect(layer[key], `${label} layer ${i + 1} ${key}`).to.deep.equal(want[key]);
          expect(Object.keys(layer).sort(), label).to.deep.equal(Object.keys(want).sort());
          expect(layer.weights, label).to.be.instanceOf(Int8Array);
          expect(layer.bias, label).to.be.instanceOf(Int32Array);
        });
        expect(buildIntegerOnnx(model), label).to.deep.equal(bytes);
        expect(buildIntegerOnnx(read), `${label}: rebuilt from what was read`).to.deep.equal(bytes);
      }
    });

    it("keeps the extremes: multiplier 2^31−1, shift 62 and 1, clamp ranges, int32 bias bounds", () => {
      const layers: DenseLayer[] = [
        { op: "dense", nIn: 3, nOut: 2, weights: Int8Array.of(-128, 127, 0, 1, -1, -128), bias: Int32Array.of(-(2 ** 31 - 1) + 3 * 16384, 2 ** 31 - 1 - 3 * 16384), multiplier: 2 ** 31 - 1, shift: 62, clampLo: -128, clampHi: 127 },
        { op: "dense", nIn: 2, nOut: 1, weights: Int8Array.of(5, -7), bias: Int32Array.of(0), multiplier: 0, shift: 1, clampLo: 3, clampHi: 3 },
      ];
      const model: IntegerModel = { inputSize: 3, layers };
      expect(readIntegerModel(buildIntegerOnnx(model))).to.deep.equal(model);
    });

    it("a decode/encode round trip of the protobuf alone keeps the file canonical (so the edits below are the only change)", () => {
      const bytes = buildIntegerOnnx(SMALL);
      const same = edited(bytes, () => {});
      expect(same).to.deep.equal(bytes);
      expect(readIntegerModel(same)).to.deep.equal(SMALL);
    });
  });

  describe("readIntegerModel refuses, saying which", () => {
    const bytes = buildIntegerOnnx(SMALL);

    it("malformed bytes: garbage, empty, and every truncation", () => {
      const rng = new Rng(0xbad);
      for (let k = 0; k < 30; k++) expectThrows(() => readIntegerModel(Uint8Array.from({ length: rng.int(1, 300) }, () => rng.int(0, 255))), OnnxFormatError, /malformed ONNX file/);
      expectThrows(() => readIntegerModel(new Uint8Array(0)), OnnxFormatError, /malformed ONNX file: it has no graph/);
      let malformed = 0;
      for (let cut = 0; cut < bytes.length; cut++) {
        // A cut between two top-level fields still decodes; the canonical check catches it instead.
        const e = expectThrows(() => readIntegerModel(bytes.subarray(0, cut)), OnnxFormatError);
        if (/malformed ONNX file/.test(e.message)) malformed++;
        else expect(e.message, `cut at ${cut}`).to.match(NOT_CANONICAL);
      }
      expect(malformed).to.be.at.least(bytes.length - 2);
    });

    it("a file whose nodes were edited: an op type, an attribute, a node's input, the node order", () => {
      const edits: [string, (g: onnx.GraphProto, m: onnx.ModelProto) => void][] = [
        ["Div → Mul", (g) => (g.node.find((n) => n.opType === "Div")!.opType = "Mul")],
        ["Mod fmod 0 → 1", (g) => (g.node.find((n) => n.opType === "Mod")!.attribute = [onnx.AttributeProto.create(attribute("fmod", 1))])],
        ["Cast to int32", (g) => (g.node.find((n) => n.opType === "Cast")!.attribute = [onnx.AttributeProto.create(attribute("to", onnx.TensorProto.DataType.INT32))])],
        ["Where reads hi for lo", (g) => (g.node.find((n) => n.name === "l1/raise_to_lo")!.input![1] = "l1.hi")],
        ["two nodes swapped", (g) => ([g.node[3], g.node[4]] = [g.node[4], g.node[3]])],
        ["a node removed", (g) => g.node.splice(g.node.findIndex((n) => n.name === "l2/below_lo"), 1)],
        ["a node renamed", (g) => (g.node[0].name = "l1/matmul_")],
        ["an output dropped", (g) => g.output.pop()],
        ["producer changed", (_, m) => (m.producerName = "someone-else")],
      ];
      for (const [label, edit] of edits) {
        const file = edited(bytes, edit);
        expect(file, label).to.not.deep.equal(bytes);
        expectThrows(() => readIntegerModel(file), OnnxFormatError, NOT_CANONICAL);
      }
    });

    it("an extra initializer, or a missing one", () => {
      expectThrows(() => readIntegerModel(edited(bytes, (g) => g.initializer.push(onnx.TensorProto.create(int64Tensor("extra", [], BigInt64Array.of(1n)))))), OnnxFormatError, NOT_CANONICAL);
      for (const name of ["l1.bias", "l1.multiplier", "l1.divisor", "l1.lo", "l2.hi"]) {
        const file = edited(bytes, (g) => g.initializer.splice(g.initializer.findIndex((t) => t.name === name), 1));
        expectThrows(() => readIntegerModel(file), OnnxFormatError, new RegExp(`integer model: initializer ${name.replace(".", "\\.")} is missing`));
      }
      // Without l2.weight the reader sees one layer, and the rest of the file does not match it.
      expectThrows(() => readIntegerModel(edited(bytes, (g) => g.initializer.splice(g.initializer.findIndex((t) => t.name === "l2.weight"), 1))), OnnxFormatError, NOT_CANONICAL);
    });

    it("a float ONNX model: says it is one, not Refute's integer graph, and how to import and quantise it", () => {
      // Before: a flat float model gave "layer 0: a model needs at least one layer" (ModelValidationError),
      // one with a [batch, 1, 28, 28] input 'integer model: graph input "input" must be [batch, n]'.
      const float = randomFloatModel(new Rng(0xf10a7), [6, 5, 3]);
      const cases: [string, Uint8Array, string][] = [
        ["flat Gemm", writeFloatOnnx(float), floatRefusal("refute-trainer", 'input "input" is float32')],
        ["flat MatMul + Add", writeFloatOnnx(float, { style: "matmul-add" }), floatRefusal("refute-trainer", 'input "input" is float32')],
        ["[batch, 1, 2, 3] with Flatten", writeFloatOnnx(float, { inputShape: [1, 2, 3] }), floatRefusal("refute-trainer", 'input "input" is float32')],
        ["models/mnist-mlp/float.onnx", readFileSync(path.join(MNIST_MODEL_DIR, "float.onnx")), floatRefusal("refute-trainer", 'input "input" is float32')],
        [
          // PyTorch names a Linear called l1 "l1.weight": a float32 one is still a float model.
          "an int8 input but float32 weights named l1.weight",
          encodeModel(
            {
              node: [node("Gemm", "gemm", ["input", "l1.weight"], ["y"], [attribute("transB", 1)])],
              initializer: [floatTensor("l1.weight", [2, 3], new Float32Array(6))],
              input: [valueInfo("input", DataType.INT8, ["batch", 3])],
              output: [valueInfo("y", DataType.FLOAT, ["batch", 2])],
            },
            "pytorch",
          ),
          floatRefusal("pytorch", "initializer l1.weight is float32"),
        ],
      ];
      for (const [label, file, message] of cases) {
        const e = expectThrows(() => readIntegerModel(file), OnnxFormatError);
        expect(e.message, label).to.equal(message);
      }
    });

    it("a graph that is neither float nor Refute's: says it has no layer constants, not that a model needs a layer", () => {
      const foreign = encodeModel(
        {
          node: [node("MatMulInteger", "mm", ["input", "w"], ["y"])],
          initializer: [int8Tensor("w", [3, 2], new Int8Array(6))],
          input: [valueInfo("input", DataType.INT8, ["batch", 3])],
          output: [valueInfo("y", DataType.INT32, ["batch", 2])],
        },
        "another-quantiser",
      );
      const noLayer = 'integer model: it has no initializer l1.weight (producer "another-quantiser"), so it is not Refute\'s integer graph as buildIntegerOnnx writes it';
      expect(expectThrows(() => readIntegerModel(foreign), OnnxFormatError).message).to.equal(noLayer);
      // also when its input is not called "input" (the first thing the reader used to check)
      const renamed = edited(foreign, (g) => {
        g.input[0].name = "x";
        g.node[0].input![0] = "x";
      });
      expect(expectThrows(() => readIntegerModel(renamed), OnnxFormatError).message).to.equal(noLayer);
      // Our own file with its input retyped to float32 is still recognised as ours, and refused as edited.
      const retyped = edited(bytes, (g) => (g.input[0].type!.tensorType!.elemType = DataType.FLOAT));
      expectThrows(() => readIntegerModel(retyped), OnnxFormatError, NOT_CANONICAL);
    });

    it("a divisor that is not a power of two", () => {
      for (const d of [3n, 6n, 0n, -4n]) {
        const file = edited(bytes, (g) => replaceInitializer(g, int64Tensor("l2.divisor", [], BigInt64Array.of(d))));
        expectThrows(() => readIntegerModel(file), OnnxFormatError, new RegExp(`layer 2 divisor ${d} is not a power of two`));
      }
    });

    it("an initializer of the wrong data type or rank", () => {
      const w = SMALL.layers[0];
      expectThrows(
        () => readIntegerModel(edited(bytes, (g) => replaceInitializer(g, int32Tensor("l1.weight", [w.nIn, w.nOut], new Int32Array(w.nIn * w.nOut))))),
        OnnxFormatError,
        new RegExp(`initializer l1\\.weight has data type ${onnx.TensorProto.DataType.INT32}, expected ${onnx.TensorProto.DataType.INT8}`),
      );
      expectThrows(
        () => readIntegerModel(edited(bytes, (g) => replaceInitializer(g, int8Tensor("l1.bias", [w.nOut], new Int8Array(w.nOut))))),
        OnnxFormatError,
        /initializer l1\.bias has data type 3, expected 6/,
      );
      expectThrows(
        () => readIntegerModel(edited(bytes, (g) => replaceInitializer(g, int32Tensor("l2.multiplier", [], Int32Array.of(SMALL.layers[1].multiplier))))),
        OnnxFormatError,
        /initializer l2\.multiplier has data type 6, expected 7/,
      );
      expectThrows(
        () => readIntegerModel(edited(bytes, (g) => replaceInitializer(g, int64Tensor("l1.multiplier", [1], BigInt64Array.of(BigInt(w.multiplier)))))),
        OnnxFormatError,
        /initializer l1\.multiplier has rank 1, expected 0/,
      );
    });

    it("constants that break the integer semantics or do not line up → ModelValidationError naming the layer", () => {
      // divisor 1 is 2^0: shift 0
      let e = expectThrows(() => readIntegerModel(edited(bytes, (g) => replaceInitializer(g, int64Tensor("l2.divisor", [], BigInt64Array.of(1n))))), ModelValidationError, /^layer 2: shift 0 outside 1\.\.62/);
      expect((e as ModelValidationError).layer).to.equal(2);
      const loAboveHi = (g: onnx.GraphProto) => {
        replaceInitializer(g, int64Tensor("l1.lo", [], BigInt64Array.of(100n)));
        replaceInitializer(g, int64Tensor("l1.hi", [], BigInt64Array.of(50n)));
      };
      e = expectThrows(() => readIntegerModel(edited(bytes, loAboveHi)), ModelValidationError, /^layer 1: clamp \[100, 50\] is not a range/);
      expect((e as ModelValidationError).layer).to.equal(1);
      // layer 2's weight one input wider than layer 1's output
      const l2 = SMALL.layers[1];
      e = expectThrows(
        () => readIntegerModel(edited(bytes, (g) => replaceInitializer(g, int8Tensor("l2.weight", [l2.nIn + 1, l2.nOut], new Int8Array((l2.nIn + 1) * l2.nOut))))),
        ModelValidationError,
        /^layer 2: expects 5 inputs but the previous layer gives 4/,
      );
    });
  });

  describe("buildIntegerOnnx validates the model first", () => {
    const layer = (over: Partial<DenseLayer>): DenseLayer => ({ ...SMALL.layers[1], ...over });
    const withLayer2 = (over: Partial<DenseLayer>): IntegerModel => ({ inputSize: SMALL.inputSize, layers: [SMALL.layers[0], layer(over)] });

    it("shift 0 or 63, clamp lo > hi, multiplier above 2^31−1, layer size mismatch, bias count", () => {
      const cases: [IntegerModel, RegExp][] = [
        [withLayer2({ shift: 0 }), /^layer 2: shift 0 outside 1\.\.62/],
        [withLayer2({ shift: 63 }), /^layer 2: shift 63 outside 1\.\.62/],
        [withLayer2({ clampLo: 10, clampHi: 5 }), /^layer 2: clamp \[10, 5\] is not a range inside \[-128, 127\]/],
        [withLayer2({ multiplier: 2 ** 31 }), /^layer 2: multiplier 2147483648 outside 0\.\.2147483647/],
        [withLayer2({ nIn: 7, weights: new Int8Array(7 * 3) }), /^layer 2: expects 7 inputs but the previous layer gives 4/],
        [withLayer2({ bias: new Int32Array(2) }), /^layer 2: has 2 biases, needs 3/],
      ];
      for (const [model, pattern] of cases) {
        const e = expectThrows(() => buildIntegerOnnx(model), ModelValidationError, pattern);
        expect((e as ModelValidationError).layer).to.equal(2);
      }
    });

    it("accumulator overflow: fan-in 100000 with a bias that fits alone but not with 100000·16384", () => {
      const nIn = 100_000;
      const room = 2 ** 31 - 1 - nIn * 16384; // 509083647
      const model = (bias: number): IntegerModel => ({
        inputSize: 4,
        layers: [
          { op: "dense", nIn: 4, nOut: nIn, weights: new Int8Array(4 * nIn), bias: new Int32Array(nIn), multiplier: 1, shift: 1, clampLo: -128, clampHi: 127 },
          { op: "dense", nIn, nOut: 1, weights: new Int8Array(nIn), bias: Int32Array.of(bias), multiplier: 1, shift: 1, clampLo: -128, clampHi: 127 },
        ],
      });
      expect(() => buildIntegerOnnx(model(-room))).to.not.throw();
      const e = expectThrows(() => buildIntegerOnnx(model(-(room + 1))), ModelValidationError, /^layer 2: accumulator could overflow int32: max\|bias\| 509083648 \+ fan-in 100000/);
      expect((e as ModelValidationError).layer).to.equal(2);
    });
  });

  describe("OrtTraceRunner", () => {
    it("load refuses a non-canonical file before opening a session", async () => {
      const factory = ort.InferenceSession as unknown as { create: (...args: unknown[]) => Promise<ort.InferenceSession> };
      const original = factory.create;
      let created = 0;
      factory.create = (...args: unknown[]) => {
        created++;
        return original.apply(ort.InferenceSession, args);
      };
      try {
        // Mod with fmod=1 is still a graph onnxruntime would run, with C semantics for negatives.
        const file = edited(buildIntegerOnnx(SMALL), (g) => (g.node.find((n) => n.opType === "Mod")!.attribute = [onnx.AttributeProto.create(attribute("fmod", 1))]));
        let error: unknown;
        await OrtTraceRunner.load(file).catch((e) => (error = e));
        expect(error).to.be.instanceOf(OnnxFormatError);
        expect((error as Error).message).to.match(NOT_CANONICAL);
        expect(created, "sessions opened for the edited file").to.equal(0);
        // The same file does open in onnxruntime directly, so it is the check that refused it.
        const session = await ort.InferenceSession.create(file);
        await session.release();
        expect(created).to.equal(1);
        // and the canonical file loads through the runner
        const runner = await OrtTraceRunner.load(buildIntegerOnnx(SMALL));
        await runner.release();
        expect(created).to.equal(2);
      } finally {
        factory.create = original;
      }
    });

    it("runBatch refuses an input of the wrong length with a RangeError; a right one matches the reference", async () => {
      const runner = await OrtTraceRunner.load(buildIntegerOnnx(SMALL));
      try {
        for (const [length, batch] of [[9, 2], [11, 2], [0, 1], [5, 2]]) {
          let error: unknown;
          await runner.runBatch(new Int8Array(length), batch).catch((e) => (error = e));
          expect(error, `${length} values for a batch of ${batch}`).to.be.instanceOf(RangeError);
          expect((error as Error).message).to.equal(`expected ${batch} inputs of 5 elements (${batch * 5}), got ${length}`);
        }
        let error: unknown;
        await runner.run(new Int8Array(4)).catch((e) => (error = e));
        expect(error).to.be.instanceOf(RangeError);
        const inputs = syntheticInputs(new Rng(7), 5, 3);
        const trace = await runner.runBatch(inputs, 3);
        for (let k = 0; k < 3; k++) {
          const ref = runReference(SMALL, inputs.subarray(k * 5, (k + 1) * 5));
          expect(trace.map((t, l) => Array.from(t.subarray(k * ref[l].length, (k + 1) * ref[l].length)))).to.deep.equal(ref.map((t) => Array.from(t)));
        }
      } finally {
        await runner.release();
      }
    });
  });
});
