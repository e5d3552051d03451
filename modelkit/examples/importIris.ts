/**
 * The worked example of docs/models.md ("From TypeScript"), run by test/modelkit/docs.test.ts:
 * import the iris model that `npm run train:iris` wrote, print the report, write the model folder.
 */
import { readFileSync } from "node:fs";
import path from "node:path";
import { formatReport, importModel, initKeccak, loadModelDir, readLabels, readSamples, writeModelFolder } from "../index";

export async function importIris(from: string, outDir: string): Promise<string> {
  await initKeccak();
  const floatOnnx = readFileSync(path.join(from, "float.onnx"));
  const calibration = readSamples(path.join(from, "calibration.csv"), 4);
  const heldOut = readSamples(path.join(from, "held-out.csv"), 4);
  const labels = readLabels(path.join(from, "held-out-labels.csv"), heldOut.length, 3);

  const imported = importModel(floatOnnx, { name: "iris", calibration, evaluation: { inputs: heldOut, labels, heldOut: true } });
  console.log(formatReport(imported.report).join("\n"));
  writeModelFolder(outDir, imported);

  // What a node will check: the graph commits to the root in the descriptor.
  return loadModelDir(outDir).root;
}
