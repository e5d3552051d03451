import { expect } from "chai";
import { readFileSync } from "node:fs";
import path from "node:path";
import { initKeccak } from "../../core/keccak";
import type { ImportedModel } from "../../core/modelImport/importModel";
import { formatInspection, inspectPath } from "../../core/modelImport/inspectModel";
import { formatReport } from "../../core/modelImport/quantisationReport";
import { MNIST_MODEL_DIR, importReferenceModel } from "../../scripts/build-reference-model";

/**
 * The importer on the committed MNIST model, without training (test/scripts/referenceModel.test.ts
 * trains it from scratch): importing models/mnist-mlp/float.onnx with the reference calibration and
 * held-out digits gives the committed integer.onnx and descriptor.json byte for byte, and inspect
 * finds the folder consistent. Prints the report and the inspection.
 */
describe("the importer on the MNIST reference model (models/mnist-mlp)", () => {
  let imported: ImportedModel;
  before(async () => {
    await initKeccak();
    imported = importReferenceModel(readFileSync(path.join(MNIST_MODEL_DIR, "float.onnx")));
  });

  it("reproduces the committed integer.onnx and descriptor.json from the committed float.onnx", () => {
    expect(Buffer.from(imported.integerOnnx).equals(readFileSync(path.join(MNIST_MODEL_DIR, "integer.onnx")))).to.equal(true);
    expect(`${JSON.stringify(imported.descriptor, null, 2)}\n`).to.equal(readFileSync(path.join(MNIST_MODEL_DIR, "descriptor.json"), "utf8"));
    console.log(formatReport(imported.report).map((l) => `      ${l}`).join("\n"));
    const { accuracy } = imported.report;
    expect(accuracy!.integer).to.be.at.least(0.94);
    expect(imported.report.evaluated).to.deep.equal({ set: "held-out", size: 2000 });
  });

  it("inspects as a consistent folder", () => {
    const inspection = inspectPath(MNIST_MODEL_DIR);
    console.log(formatInspection(inspection).map((l) => `      ${l}`).join("\n"));
    expect(inspection.problems).to.deep.equal([]);
    expect(inspection.modelRoot).to.equal(imported.descriptor.modelRoot);
    expect(inspection.inputShape).to.deep.equal([1, 28, 28]);
  });
});
