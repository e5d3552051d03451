import { expect } from "chai";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { toHex } from "../../core/bytes";
import { commitModel } from "../../core/commitments";
import { initKeccak } from "../../core/keccak";
import { readIntegerModel } from "../../core/onnx/integerGraph";
import { MNIST_MODEL_DIR, MODEL_FILES, REFERENCE_MODEL_CONFIG, type ReferenceModelResult, buildReferenceModel } from "../../scripts/build-reference-model";

describe("the reference MNIST model (scripts/build-reference-model.ts)", () => {
  let outDir: string;
  let rebuilt: ReferenceModelResult;

  before(async () => {
    await initKeccak();
    outDir = mkdtempSync(path.join(os.tmpdir(), "refute-model-"));
    rebuilt = await buildReferenceModel(outDir, REFERENCE_MODEL_CONFIG);
  });

  after(() => rmSync(outDir, { recursive: true, force: true }));

  it("is reproduced byte for byte by the script: float ONNX, integer ONNX and descriptor", () => {
    for (const file of MODEL_FILES) {
      expect(readFileSync(path.join(outDir, file)).equals(readFileSync(path.join(MNIST_MODEL_DIR, file))), file).to.equal(true);
    }
  });

  it("classifies the held-out digits: integer at least 94 %, within 1 point of the float model", () => {
    console.log(`      held-out accuracy: float ${(100 * rebuilt.floatAccuracy).toFixed(2)} %, integer ${(100 * rebuilt.integerAccuracy).toFixed(2)} %`);
    expect(rebuilt.integerAccuracy).to.be.at.least(0.94);
    expect(Math.abs(rebuilt.floatAccuracy - rebuilt.integerAccuracy)).to.be.at.most(0.01);
  });

  it("publishes the model root that the integer file commits to", () => {
    const descriptor = JSON.parse(readFileSync(path.join(MNIST_MODEL_DIR, "descriptor.json"), "utf8"));
    const model = readIntegerModel(readFileSync(path.join(MNIST_MODEL_DIR, "integer.onnx")));
    expect(descriptor.modelRoot).to.equal(toHex(commitModel(model).root));
    expect(descriptor.modelRoot).to.equal(rebuilt.modelRoot);
    expect([descriptor.inputSize, descriptor.outputSize, descriptor.layerCount]).to.deep.equal([784, 10, 3]);
  });
});
