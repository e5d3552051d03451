import { expect } from "chai";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { toHex } from "../../core/bytes";
import { commitModel } from "../../core/commitments";
import { initKeccak } from "../../core/keccak";
import { importModel, writeModelFolder } from "../../core/modelImport/importModel";
import { formatInspection, inspectPath } from "../../core/modelImport/inspectModel";
import { formatReport } from "../../core/modelImport/quantisationReport";
import { inputScaleOf, loadModelDir } from "../../core/modelFiles";
import { UnsupportedModelError } from "../../core/onnx/floatModel";
import { writeFloatOnnx } from "../../core/onnx/floatOnnxWriter";
import { readIntegerModel } from "../../core/onnx/integerGraph";
import { OnnxFormatError, decodeModel, encodeModel } from "../../core/onnx/onnxProto";
import { Rng } from "../../core/rng";
import { expectThrows } from "../helpers/expectThrows";
import { randomFloatModel } from "../helpers/randomModels";

describe("model import, quantisation report and inspection (core/modelImport)", () => {
  let dir: string;
  before(async () => {
    await initKeccak();
    dir = mkdtempSync(path.join(os.tmpdir(), "refute-import-"));
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  /** The identity on two inputs: every number of the report can be worked out by hand. */
  const identity = () => writeFloatOnnx({ inputSize: 2, layers: [{ nIn: 2, nOut: 2, weights: Float32Array.of(1, 0, 0, 1), bias: Float32Array.of(0, 0), relu: false, node: "fc1" }] });

  describe("the quantisation report", () => {
    it("counts saturation, near-ties, agreement and accuracy on a model whose answers are known", () => {
      // Input scale 1/127: [1, −1] quantises to [127, −127] and the identity keeps it, so one output of four
      // on the calibration data sits at the upper clamp; [0.5, 0.5] gives two equal outputs: a tie.
      const { report } = importModel(identity(), { name: "id", calibration: [[1, -1], [0.5, 0.5]], evaluation: { inputs: [[1, -1], [0.5, 0.5]], labels: [0, 1], heldOut: true } });
      expect(report.evaluated).to.deep.equal({ set: "held-out", size: 2 });
      expect(report.accuracy).to.deep.equal({ float: 0.5, integer: 0.5 });
      expect(report.agreement).to.equal(1);
      expect(report.layers.map((l) => [l.saturated, l.activations, l.relu])).to.deep.equal([[1, 4, false]]);
      expect(report.nearTies).to.deep.equal({ count: 1, first: [1] });
      expect(report.outputError.max).to.be.below(1 / 127);
      const text = formatReport(report).join("\n");
      expect(text).to.include("float accuracy    50.00 %").and.include("integer accuracy  50.00 %").and.include("near-ties         1 samples").and.include("1 of 4 (25.00 %)");
    });

    it("gives argmax agreement and no accuracy without labels, evaluated on the calibration samples", () => {
      const rng = new Rng(5);
      const float = writeFloatOnnx(randomFloatModel(rng, [6, 8, 3]));
      const calibration = Array.from({ length: 20 }, () => Array.from({ length: 6 }, () => rng.normal()));
      const { report } = importModel(float, { name: "r", calibration });
      expect(report.evaluated).to.deep.equal({ set: "calibration", size: 20 });
      expect(report.accuracy).to.equal(undefined);
      expect(report.agreement).to.be.within(0.8, 1);
      expect(formatReport(report).join("\n")).to.not.include("accuracy");
    });
  });

  describe("the model folder", () => {
    it("is written so that nodes accept it: the graph commits to the descriptor's root, meta.inputScale is set", () => {
      const rng = new Rng(9);
      const float = writeFloatOnnx(randomFloatModel(rng, [12, 10, 4]), { inputShape: [3, 4] });
      const calibration = Array.from({ length: 16 }, () => Array.from({ length: 12 }, () => rng.normal()));
      const imported = importModel(float, { name: "small", calibration, meta: { dataset: "synthetic" } });
      const out = path.join(dir, "small");
      writeModelFolder(out, imported);
      const files = loadModelDir(out);
      expect(files.root).to.equal(toHex(commitModel(readIntegerModel(readFileSync(path.join(out, "integer.onnx")))).root));
      expect(files.descriptor.name).to.equal("small");
      expect(inputScaleOf(files)).to.equal(imported.scales[0]);
      expect(files.descriptor.meta).to.deep.include({ inputShape: [3, 4], dataset: "synthetic", activationScales: imported.scales });
      expect(readFileSync(path.join(out, "float.onnx")).equals(Buffer.from(float))).to.equal(true);
      expect(inspectPath(out).problems).to.deep.equal([]);
    });
  });

  describe("refuses, in one line", () => {
    it("a file that is not ONNX", () => expectThrows(() => importModel(Buffer.from("not a model"), { name: "x", calibration: [[1]] }), OnnxFormatError, /^malformed ONNX file/));
    it("an unsupported op, naming the node", () => {
      const model = decodeModel(identity());
      model.graph!.node![0].opType = "Conv";
      model.graph!.node![0].name = "conv1";
      expectThrows(() => importModel(encodeModel(model.graph!, "test"), { name: "x", calibration: [[1, 2]] }), UnsupportedModelError, /^node conv1: op Conv is not supported/);
    });
    it("calibration rows of the wrong length or not finite", () => {
      expectThrows(() => importModel(identity(), { name: "x", calibration: [[1, 2, 3]] }), RangeError, /calibration sample 0 has 3 values, the model expects 2/);
      expectThrows(() => importModel(identity(), { name: "x", calibration: [[1, Number.NaN]] }), RangeError, /calibration sample 0 has NaN at position 1/);
    });
    it("labels that do not match the evaluated samples", () =>
      expectThrows(() => importModel(identity(), { name: "x", calibration: [[1, 2]], evaluation: { inputs: [[1, 2]], labels: [0, 1], heldOut: false } }), RangeError, /^2 labels for 1 evaluated samples$/));
  });

  describe("inspect", () => {
    let folder: string;
    before(() => {
      folder = path.join(dir, "to-break");
      writeModelFolder(folder, importModel(identity(), { name: "id", calibration: [[1, -1]] }));
    });
    const broken = (name: string, edit: (d: Record<string, unknown>) => void) => {
      const target = path.join(dir, name);
      writeModelFolder(target, importModel(identity(), { name: "id", calibration: [[1, -1]] }));
      const d = JSON.parse(readFileSync(path.join(target, "descriptor.json"), "utf8"));
      edit(d);
      writeFileSync(path.join(target, "descriptor.json"), JSON.stringify(d));
      return inspectPath(target);
    };

    it("shows ops, shapes, parameters, the root, quantisation constants and the accumulator margin", () => {
      const i = inspectPath(folder);
      expect(i.problems).to.deep.equal([]);
      const text = formatInspection(i).join("\n");
      expect(text).to.include("layer 1: dense 2→2, 6 parameters").and.include(`model root   ${i.modelRoot}`).and.include("files agree");
      // Fan-in 2: the bound is max|bias| + 2·128² = 32768 of 2^31 − 1.
      expect(text).to.match(/accumulator bound 32768 of 2147483647 \(0\.00 % used; headroom 2147450879; max \|bias\| 0\)/);
      expect(formatInspection(inspectPath(path.join(folder, "float.onnx")))[0]).to.include("(float model)");
      expect(inspectPath(path.join(folder, "integer.onnx")).modelRoot).to.equal(i.modelRoot);
    });

    it("lists every way the files disagree", () => {
      const i = broken("edited", (d) => {
        d.modelRoot = `0x${"00".repeat(32)}`;
        (d.layers as Record<string, unknown>[])[0].shift = 3;
        (d.meta as Record<string, unknown>).inputScale = undefined;
      });
      expect(i.problems).to.have.length(3);
      expect(i.problems[0]).to.match(/^descriptor\.json has no positive meta\.inputScale/);
      expect(i.problems[1]).to.match(/^descriptor\.json modelRoot is "0x0{64}", integer\.onnx gives "0x[0-9a-f]{64}"$/);
      expect(i.problems[2]).to.match(/^descriptor\.json layer 1 shift is 3, integer\.onnx gives \d+$/);
      expect(formatInspection(i).join("\n")).to.include("3 problem(s):");
    });

    it("names a float.onnx whose layers differ, and a missing integer.onnx", () => {
      const target = path.join(dir, "mixed");
      writeModelFolder(target, importModel(identity(), { name: "id", calibration: [[1, -1]] }));
      writeFileSync(path.join(target, "float.onnx"), writeFloatOnnx(randomFloatModel(new Rng(1), [2, 3])));
      expect(inspectPath(target).problems).to.deep.equal(["float.onnx has layers 2→3, integer.onnx 2→2"]);
      rmSync(path.join(target, "integer.onnx"));
      expect(inspectPath(target).problems).to.deep.equal(["cannot read integer.onnx: ENOENT"]);
    });
  });
});
