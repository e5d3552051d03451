import { expect } from "chai";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { toHex } from "../../core/bytes";
import { commitModel } from "../../core/commitments";
import { initKeccak } from "../../core/keccak";
import { ModelValidationError } from "../../core/model";
import { IMPORTER_META_KEYS, type ImportedModel, MODEL_FOLDER_FILES, importModel, writeModelFolder } from "../../core/modelImport/importModel";
import { inputScaleOf, loadModelDir } from "../../core/modelFiles";
import { type FloatModel, UnsupportedModelError } from "../../core/onnx/floatModel";
import { writeFloatOnnx } from "../../core/onnx/floatOnnxWriter";
import { readIntegerModel } from "../../core/onnx/integerGraph";
import { OnnxFormatError, decodeModel, encodeModel } from "../../core/onnx/onnxProto";
import { Rng } from "../../core/rng";
import { expectThrows } from "../helpers/expectThrows";
import { randomFloatModel } from "../helpers/randomModels";

/** The float identity on two inputs. */
const identity = (): FloatModel => ({ inputSize: 2, layers: [{ nIn: 2, nOut: 2, weights: Float32Array.of(1, 0, 0, 1), bias: Float32Array.of(0, 0), relu: false, node: "fc1" }] });

describe("model import (core/modelImport/importModel.ts)", () => {
  let dir: string;
  before(async () => {
    await initKeccak();
    dir = mkdtempSync(path.join(os.tmpdir(), "refute-import-"));
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  describe("a float model with calibration and labelled held-out samples", () => {
    const rng = new Rng(9);
    const float = writeFloatOnnx(randomFloatModel(rng, [12, 10, 4]), { inputShape: [3, 4], style: "matmul-add" });
    const rows = (n: number) => Array.from({ length: n }, () => Array.from({ length: 12 }, () => rng.normal()));
    const calibration = rows(16);
    const heldOut = rows(9);
    const labels = heldOut.map((_, k) => k % 4);
    let imported: ImportedModel;
    before(() => (imported = importModel(float, { name: "small", calibration, evaluation: { inputs: heldOut, labels, heldOut: true }, meta: { dataset: "synthetic" } })));

    it("gives an integer graph that reads back as the quantised model and commits to the descriptor's root", () => {
      const back = readIntegerModel(imported.integerOnnx);
      expect(back).to.deep.equal(imported.model);
      expect(imported.descriptor.modelRoot).to.equal(toHex(commitModel(back).root));
      expect(imported.floatOnnx).to.equal(float);
      expect(imported.float.inputShape).to.deep.equal([3, 4]);
      expect(imported.scales).to.have.length(3);
    });

    it("records the input scale, output scale, input shape, every activation scale and the report's headline numbers in meta", () => {
      const { report, scales } = imported;
      expect(imported.descriptor.name).to.equal("small");
      expect(imported.descriptor.meta).to.deep.equal({
        inputScale: scales[0],
        outputScale: scales[2],
        inputShape: [3, 4],
        dataset: "synthetic",
        activationScales: scales,
        quantisation: {
          calibrationSize: 16,
          evaluated: { set: "held-out", size: 9 },
          accuracy: report.accuracy,
          argmaxAgreement: report.agreement,
          maxOutputError: report.outputError.max,
          meanOutputError: report.outputError.mean,
          nearTies: report.nearTies.count,
        },
        files: { float: "float.onnx", integer: "integer.onnx" },
      });
      expect(Object.keys(imported.descriptor.meta).filter((k) => k !== "dataset")).to.deep.equal([...IMPORTER_META_KEYS]);
      expect(report.evaluated).to.deep.equal({ set: "held-out", size: 9 });
      expect(report.accuracy).to.have.keys("float", "integer");
    });

    it("writes a folder (creating its parents) that loadModelDir accepts, with pretty JSON and the float model as given", () => {
      const out = path.join(dir, "nested", "deeper", "small");
      writeModelFolder(out, imported);
      const files = loadModelDir(out);
      expect(files.root).to.equal(imported.descriptor.modelRoot);
      expect(inputScaleOf(files)).to.equal(imported.scales[0]);
      expect(files.model).to.deep.equal(imported.model);
      expect(readFileSync(path.join(out, "descriptor.json"), "utf8")).to.equal(`${JSON.stringify(imported.descriptor, null, 2)}\n`);
      expect(readFileSync(path.join(out, "float.onnx")).equals(Buffer.from(float))).to.equal(true);
      expect(readFileSync(path.join(out, "integer.onnx")).equals(Buffer.from(imported.integerOnnx))).to.equal(true);
      expect([...MODEL_FOLDER_FILES].sort()).to.deep.equal(["descriptor.json", "float.onnx", "integer.onnx"]);
    });

    it("is deterministic: the same inputs give the same bytes", () => {
      const again = importModel(float, { name: "small", calibration, evaluation: { inputs: heldOut, labels, heldOut: true }, meta: { dataset: "synthetic" } });
      expect(Buffer.from(again.integerOnnx).equals(Buffer.from(imported.integerOnnx))).to.equal(true);
      expect(JSON.stringify(again.descriptor)).to.equal(JSON.stringify(imported.descriptor));
    });
  });

  it("without an evaluation set reports on the calibration samples, unlabelled; a 2-D input's shape is [inputSize]", () => {
    const calibration = [[1, -1], [0.5, 0.5]];
    const imported = importModel(writeFloatOnnx(identity()), { name: "id", calibration });
    expect(imported.report.evaluated).to.deep.equal({ set: "calibration", size: 2 });
    expect(imported.report).to.not.have.property("accuracy");
    expect(imported.descriptor.meta.inputShape).to.deep.equal([2]);
    expect(imported.descriptor.meta.quantisation).to.deep.equal({
      calibrationSize: 2,
      evaluated: { set: "calibration", size: 2 },
      argmaxAgreement: 1,
      maxOutputError: imported.report.outputError.max,
      meanOutputError: imported.report.outputError.mean,
      nearTies: 1,
    });
  });

  describe("refuses, in one line", () => {
    const onnx = writeFloatOnnx(identity());
    const refused = (f: () => unknown, cls: new (...args: never[]) => Error, message: string | RegExp) => {
      const e = expectThrows(f, cls);
      if (typeof message === "string") expect(e.message).to.equal(message);
      else expect(e.message).to.match(message);
    };

    it("a file that is not ONNX, and an integer graph given as the float model", () => {
      refused(() => importModel(Buffer.from("not a model"), { name: "x", calibration: [[1, 2]] }), OnnxFormatError, /^malformed ONNX file: /);
      const integer = importModel(onnx, { name: "x", calibration: [[1, 2]] }).integerOnnx;
      refused(() => importModel(integer, { name: "x", calibration: [[1, 2]] }), OnnxFormatError, "this is Refute's integer graph (an integer.onnx): import takes the float ONNX model to quantise");
    });

    it("an unsupported op, naming the node", () => {
      const model = decodeModel(onnx);
      model.graph!.node![0].opType = "Conv";
      model.graph!.node![0].name = "conv1";
      refused(() => importModel(encodeModel(model.graph!, "test"), { name: "x", calibration: [[1, 2]] }), UnsupportedModelError, "node conv1: op Conv is not supported (supported: Gemm, MatMul, Add, Relu, Flatten)");
    });

    it("calibration that is empty, of the wrong length or not finite", () => {
      refused(() => importModel(onnx, { name: "x", calibration: [] }), RangeError, "calibration needs at least one input");
      refused(() => importModel(onnx, { name: "x", calibration: [[1, 2], [1, 2, 3]] }), RangeError, "calibration sample 1 has 3 values, the model expects 2");
      refused(() => importModel(onnx, { name: "x", calibration: [[1, Number.NaN]] }), RangeError, "calibration sample 0 has NaN at position 1: every calibration value must be a finite number");
    });

    it("evaluation samples and labels that do not fit", () => {
      const evaluate = (inputs: number[][], labels?: number[]) => () => importModel(onnx, { name: "x", calibration: [[1, 2]], evaluation: { inputs, labels, heldOut: true } });
      refused(evaluate([[1, 2]], [0, 1]), RangeError, "2 labels for 1 evaluated samples");
      refused(evaluate([[1, 2]], [2]), RangeError, "label 0 is 2; labels are class indices 0..1");
      refused(evaluate([[1]]), RangeError, "evaluation sample 0 has 1 values, the model expects 2");
      refused(evaluate([[1, Infinity]]), RangeError, "evaluation sample 0 has Infinity at position 1: every evaluation value must be a finite number");
    });

    it("meta that would overwrite a key the importer writes", () => {
      refused(() => importModel(onnx, { name: "x", calibration: [[1, 2]], meta: { inputScale: 1 } }), RangeError, "meta.inputScale is written by the importer; give the extra meta another key");
    });

    it("a float model the integer semantics cannot hold, naming the layer", () => {
      // A bias of 1e9 at an accumulator scale of (1/127)·(1/127) is far outside int32.
      const big: FloatModel = { inputSize: 2, layers: [{ ...identity().layers[0], bias: Float32Array.of(1e9, 0) }] };
      refused(() => importModel(writeFloatOnnx(big), { name: "x", calibration: [[1, 1]] }), ModelValidationError, /^layer 1: quantised bias \d+ outside int32/);
    });
  });
});
