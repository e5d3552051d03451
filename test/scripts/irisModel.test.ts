import { expect } from "chai";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { argmax } from "../../core/argmax";
import { readFloatModel, runFloat } from "../../core/onnx/floatModel";
import { IRIS_FILES, irisSplit, trainIris } from "../../scripts/train-iris";

describe("the iris example model (scripts/train-iris.ts)", () => {
  let a: string;
  let b: string;
  before(() => {
    a = mkdtempSync(path.join(os.tmpdir(), "refute-iris-"));
    b = mkdtempSync(path.join(os.tmpdir(), "refute-iris-"));
    trainIris(a);
    trainIris(b);
  });
  after(() => [a, b].forEach((d) => rmSync(d, { recursive: true, force: true })));

  it("is reproduced byte for byte: the float ONNX file and the sample files", () => {
    for (const file of IRIS_FILES) expect(readFileSync(path.join(a, file)).equals(readFileSync(path.join(b, file))), file).to.equal(true);
  });

  it("is exported the way PyTorch writes a Linear layer (MatMul + Add) and classifies held-out flowers", () => {
    const bytes = readFileSync(path.join(a, "float.onnx"));
    const float = readFloatModel(bytes);
    expect(float.layers.map((l) => [l.node, l.nIn, l.nOut, l.relu])).to.deep.equal([["fc1/matmul", 4, 16, true], ["fc2/matmul", 16, 3, false]]);
    const { heldOut } = irisSplit();
    const right = heldOut.filter((f) => argmax(runFloat(float, f.x).at(-1)!) === f.label).length;
    expect(right / heldOut.length).to.be.at.least(0.9);
    expect(readFileSync(path.join(a, "held-out-labels.csv"), "utf8").trim().split("\n")).to.have.length(heldOut.length + 1);
  });
});
