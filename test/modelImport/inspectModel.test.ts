import { expect } from "chai";
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { initKeccak } from "../../core/keccak";
import { type ImportedModel, importModel, writeModelFolder } from "../../core/modelImport/importModel";
import { formatInspection, inspectPath } from "../../core/modelImport/inspectModel";
import type { FloatModel } from "../../core/onnx/floatModel";
import { writeFloatOnnx } from "../../core/onnx/floatOnnxWriter";
import { OnnxFormatError } from "../../core/onnx/onnxProto";
import { Rng } from "../../core/rng";
import { expectThrows } from "../helpers/expectThrows";
import { randomFloatModel } from "../helpers/randomModels";

/** The float identity on two inputs: its integer form has weights 127, bias 0 and a known accumulator bound. */
const identity = (): FloatModel => ({ inputSize: 2, layers: [{ nIn: 2, nOut: 2, weights: Float32Array.of(1, 0, 0, 1), bias: Float32Array.of(0, 0), relu: false, node: "fc1" }] });

type Json = Record<string, unknown>;

describe("model inspection (core/modelImport/inspectModel.ts)", () => {
  let dir: string;
  let small: ImportedModel;
  before(async () => {
    await initKeccak();
    dir = mkdtempSync(path.join(os.tmpdir(), "refute-inspect-"));
    const rng = new Rng(3);
    const calibration = Array.from({ length: 12 }, () => Array.from({ length: 6 }, () => rng.normal()));
    small = importModel(writeFloatOnnx(randomFloatModel(rng, [6, 5, 3]), { inputShape: [2, 3] }), { name: "small", calibration });
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  /** A fresh folder of the small model, with `edit` applied to its parsed descriptor.json. */
  const folder = (name: string, edit?: (d: Json) => void) => {
    const target = path.join(dir, name);
    writeModelFolder(target, small);
    if (edit) {
      const d = JSON.parse(readFileSync(path.join(target, "descriptor.json"), "utf8")) as Json;
      edit(d);
      writeFileSync(path.join(target, "descriptor.json"), JSON.stringify(d));
    }
    return target;
  };
  const problems = (target: string) => inspectPath(target).problems;
  const meta = (d: Json) => d.meta as Json;
  const layer = (d: Json, i: number) => (d.layers as Json[])[i];

  describe("a good model", () => {
    it("shows a folder: name, input shape, parameters, root, scales, each layer's constants and accumulator margin; its files agree", () => {
      const target = path.join(dir, "identity");
      const imported = importModel(writeFloatOnnx(identity()), { name: "id", calibration: [[1, -1]] });
      writeModelFolder(target, imported);
      const i = inspectPath(target);
      expect(i.problems).to.deep.equal([]);
      const [{ multiplier, shift }] = imported.model.layers;
      // Fan-in 2, bias 0: the bound is 2 · 128² = 32768 of 2^31 − 1.
      expect(formatInspection(i)).to.deep.equal([
        `${target} (model folder)`,
        "  name         id",
        "  input        2 values (shape [2])",
        "  parameters   6",
        `  model root   ${imported.descriptor.modelRoot}`,
        `  input scale  ${1 / 127} (q = clamp(round(x / scale), −128, 127))`,
        `  output scale ${1 / 127}`,
        "  layer 1: dense 2→2, 6 parameters",
        `    requantise × ${multiplier} / 2^${shift} (= ${(multiplier / 2 ** shift).toPrecision(6)}), clamp [-128, 127]`,
        "    accumulator bound 32768 of 2147483647 (0.00 % used; headroom 2147450879; max |bias| 0)",
        "  files agree: integer.onnx, descriptor.json and float.onnx describe one model",
      ]);
      expect((multiplier / 2 ** shift).toPrecision(6)).to.equal("0.00787402"); // 1/127: weights 127, in and out at 1/127
    });

    it("gives the accumulator bound from the largest |bias| and the fan-in, for every layer", () => {
      const i = inspectPath(folder("good"));
      expect(i.problems).to.deep.equal([]);
      expect(i.files).to.deep.equal(["integer.onnx", "descriptor.json", "float.onnx"]);
      expect(i.layers.map((l) => [l.nIn, l.nOut, l.relu, l.parameters])).to.deep.equal([[6, 5, true, 35], [5, 3, false, 18]]);
      expect(i.parameters).to.equal(small.descriptor.parameterCount);
      small.model.layers.forEach((l, k) => {
        const maxAbsBias = Math.max(...Array.from(l.bias, Math.abs));
        expect(i.layers[k].integer, `layer ${k + 1}`).to.deep.equal({ multiplier: l.multiplier, shift: l.shift, clampLo: l.clampLo, clampHi: l.clampHi, maxAbsBias, accumulatorBound: maxAbsBias + l.nIn * 16384 });
      });
      expect(i.inputShape).to.deep.equal([2, 3]);
    });

    it("a folder without float.onnx agrees too", () => {
      const target = folder("no-float");
      rmSync(path.join(target, "float.onnx"));
      const i = inspectPath(target);
      expect(i.problems).to.deep.equal([]);
      expect(formatInspection(i).at(-1)).to.equal("  files agree: integer.onnx and descriptor.json describe one model");
    });

    it("shows a lone integer.onnx with its root, and a lone float model without one", () => {
      const target = folder("single");
      const integer = inspectPath(path.join(target, "integer.onnx"));
      expect([integer.kind, integer.modelRoot, integer.problems]).to.deep.equal(["integer model", small.descriptor.modelRoot, []]);
      expect(formatInspection(integer)[0]).to.equal(`${path.join(target, "integer.onnx")} (integer model)`);
      const float = inspectPath(path.join(target, "float.onnx"));
      expect(formatInspection(float)).to.deep.equal([
        `${path.join(target, "float.onnx")} (float model)`,
        "  input        6 values (shape [2, 3])",
        "  parameters   53",
        "  layer 1: dense 6→5 + relu, 35 parameters",
        "  layer 2: dense 5→3, 18 parameters",
      ]);
    });

    it("throws for a path that does not exist and a single file that is not ONNX", () => {
      expect(expectThrows(() => inspectPath(path.join(dir, "nowhere")), Error).message).to.equal(`${path.join(dir, "nowhere")} does not exist`);
      writeFileSync(path.join(dir, "junk.onnx"), "not a model");
      expectThrows(() => inspectPath(path.join(dir, "junk.onnx")), OnnxFormatError, /^malformed ONNX file: /);
    });
  });

  describe("a folder whose files disagree lists every problem, one line each", () => {
    it("descriptor fields that differ from integer.onnx: sizes, parameter count, root, layer constants and roots", () => {
      const root = small.descriptor.modelRoot;
      const target = folder("edited", (d) => {
        d.modelRoot = `0x${"00".repeat(32)}`;
        d.inputSize = 7;
        d.parameterCount = 1;
        delete d.layerCount;
        layer(d, 0).shift = 3;
        layer(d, 1).weightRoot = `0x${"11".repeat(32)}`;
        layer(d, 1).clampLo = 0;
      });
      const [l1, l2] = small.descriptor.layers;
      expect(problems(target)).to.deep.equal([
        "descriptor.json inputSize is 7, integer.onnx gives 6",
        "descriptor.json layerCount is nothing, integer.onnx gives 2",
        "descriptor.json parameterCount is 1, integer.onnx gives 53",
        `descriptor.json modelRoot is "0x${"00".repeat(32)}", integer.onnx gives "${root}"`,
        `descriptor.json layer 1 shift is 3, integer.onnx gives ${l1.shift}`,
        "descriptor.json layer 2 clampLo is 0, integer.onnx gives -128",
        `descriptor.json layer 2 weightRoot is "0x${"11".repeat(32)}", integer.onnx gives "${l2.weightRoot}"`,
      ]);
      const lines = formatInspection(inspectPath(target));
      expect(lines.slice(-8)).to.deep.equal(["  7 problem(s):", ...problems(target).map((p) => `    - ${p}`)]);
    });

    it("roots in upper-case hex are the same roots", () => {
      expect(problems(folder("upper", (d) => (d.modelRoot = `0x${(d.modelRoot as string).slice(2).toUpperCase()}`)))).to.deep.equal([]);
    });

    it("a descriptor with a layer too many, or a layer that is not an object", () => {
      expect(problems(folder("extra-layer", (d) => (d.layers as Json[]).push({ op: "dense" })))).to.deep.equal(["descriptor.json lists 3 layers, integer.onnx has 2"]);
      expect(problems(folder("layer-not-object", (d) => ((d.layers as unknown[])[1] = 5)))).to.deep.equal(["descriptor.json layer 2 is 5, not an object"]);
      expect(problems(folder("one-layer", (d) => (d.layers as Json[]).pop()))).to.deep.equal(["descriptor.json lists 1 layers, integer.onnx has 2"]);
    });

    it("meta.inputScale missing, zero, negative or not a number; meta.inputShape of the wrong size or not a shape", () => {
      const why = "nobody can quantise an input for the model";
      expect(problems(folder("no-scale", (d) => delete meta(d).inputScale))).to.deep.equal([`descriptor.json has no positive meta.inputScale (got nothing): ${why}`]);
      expect(problems(folder("zero-scale", (d) => (meta(d).inputScale = 0)))).to.deep.equal([`descriptor.json has no positive meta.inputScale (got 0): ${why}`]);
      expect(problems(folder("negative-scale", (d) => (meta(d).inputScale = -0.5)))).to.deep.equal([`descriptor.json has no positive meta.inputScale (got -0.5): ${why}`]);
      expect(problems(folder("string-scale", (d) => (meta(d).inputScale = "0.01")))).to.deep.equal([`descriptor.json has no positive meta.inputScale (got "0.01"): ${why}`]);
      expect(problems(folder("no-meta", (d) => delete d.meta))).to.deep.equal([`descriptor.json has no positive meta.inputScale (got nothing): ${why}`]);
      expect(problems(folder("wrong-shape", (d) => (meta(d).inputShape = [28, 28])))).to.deep.equal(["descriptor.json meta.inputShape [28, 28] holds 784 values, integer.onnx takes 6"]);
      expect(problems(folder("bad-shape", (d) => (meta(d).inputShape = "2x3")))).to.deep.equal(['descriptor.json meta.inputShape is "2x3", not a list of positive sizes']);
    });

    it("a float.onnx with other layers, another activation, or that does not read", () => {
      const other = folder("other-float");
      writeFileSync(path.join(other, "float.onnx"), writeFloatOnnx(randomFloatModel(new Rng(1), [6, 4, 3])));
      expect(problems(other)).to.deep.equal(["float.onnx has layers 6→4 relu, 4→3; integer.onnx has 6→5 relu, 5→3"]);
      const noRelu = folder("float-without-relu");
      writeFileSync(path.join(noRelu, "float.onnx"), writeFloatOnnx(randomFloatModel(new Rng(1), [6, 5, 3], [false, false])));
      expect(problems(noRelu)).to.deep.equal(["float.onnx has layers 6→5, 5→3; integer.onnx has 6→5 relu, 5→3"]);
      const junk = folder("junk-float");
      writeFileSync(path.join(junk, "float.onnx"), "junk");
      expect(problems(junk)).to.have.length(1);
      expect(problems(junk)[0]).to.match(/^float\.onnx is refused: malformed ONNX file: /);
    });

    it("missing or unreadable files: each is named, and what can be read is still shown", () => {
      const noInteger = folder("no-integer");
      rmSync(path.join(noInteger, "integer.onnx"));
      const i = inspectPath(noInteger);
      expect(i.problems).to.deep.equal(["cannot read integer.onnx: ENOENT"]);
      expect([i.layers.length, i.modelRoot, i.inputScale]).to.deep.equal([2, undefined, small.scales[0]]);
      expect(formatInspection(i).slice(-2)).to.deep.equal(["  1 problem(s):", "    - cannot read integer.onnx: ENOENT"]);

      const noDescriptor = folder("no-descriptor");
      rmSync(path.join(noDescriptor, "descriptor.json"));
      expect(problems(noDescriptor)).to.deep.equal(["cannot read descriptor.json: ENOENT"]);
      expect(inspectPath(noDescriptor).modelRoot).to.equal(small.descriptor.modelRoot);

      const empty = path.join(dir, "empty");
      mkdirSync(empty);
      expect(problems(empty)).to.deep.equal(["cannot read integer.onnx: ENOENT", "cannot read descriptor.json: ENOENT"]);

      const corrupt = folder("corrupt");
      writeFileSync(path.join(corrupt, "integer.onnx"), "junk");
      writeFileSync(path.join(corrupt, "descriptor.json"), "{ not json");
      const [integerProblem, descriptorProblem] = problems(corrupt);
      expect(integerProblem).to.match(/^integer\.onnx is refused: malformed ONNX file: /);
      expect(descriptorProblem).to.match(/^descriptor\.json is refused: .*JSON/);
      expect(problems(corrupt)).to.have.length(2);

      const notObject = folder("array-descriptor");
      writeFileSync(path.join(notObject, "descriptor.json"), "[]");
      expect(problems(notObject)).to.deep.equal(["descriptor.json is refused: not a JSON object"]);
    });

    it("another model's integer.onnx: the root and every committed layer field that differs", () => {
      const target = folder("swapped");
      const rng = new Rng(77);
      const calibration = Array.from({ length: 12 }, () => Array.from({ length: 6 }, () => rng.normal()));
      const other = importModel(writeFloatOnnx(randomFloatModel(rng, [6, 5, 3])), { name: "other", calibration });
      writeFileSync(path.join(target, "integer.onnx"), other.integerOnnx);
      const expected = [`descriptor.json modelRoot is "${small.descriptor.modelRoot}", integer.onnx gives "${other.descriptor.modelRoot}"`];
      small.descriptor.layers.forEach((mine, k) => {
        const theirs = other.descriptor.layers[k];
        for (const key of ["multiplier", "shift", "weightRoot", "biasRoot", "descriptorHash"] as const) {
          if (mine[key] !== theirs[key]) expected.push(`descriptor.json layer ${k + 1} ${key} is ${JSON.stringify(mine[key])}, integer.onnx gives ${JSON.stringify(theirs[key])}`);
        }
      });
      expect(expected.length).to.be.at.least(7);
      expect(problems(target)).to.deep.equal(expected);
    });
  });
});
