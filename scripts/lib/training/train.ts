import { Rng } from "../../../core/rng";
import { shiftedBatch } from "./augment";
import { softmaxCrossEntropy } from "./loss";
import { type GraphNetworkConfig, type TrainedGraph, initialNetwork, trainedGraph } from "./network";
import { learningRateAt, sgdStep } from "./optimiser";

/**
 * The training loop: mini-batch SGD with momentum, weight decay and a cosine learning-rate schedule
 * on softmax cross-entropy, with seeded random shifts of the training images. One thread and one
 * seeded PRNG ({@link Rng}: the initial weights, then each epoch's shuffle and shifts), every sum in
 * a fixed order (scripts/lib/training/tensor.ts), so the same configuration on the same samples
 * gives the same weights bit for bit on any machine.
 */

export interface GraphTrainingConfig extends GraphNetworkConfig {
  readonly epochs: number;
  readonly batchSize: number;
  /** Peak learning rate, reached linearly after `warmupEpochs`, then cosine to 0. */
  readonly learningRate: number;
  readonly warmupEpochs: number;
  readonly momentum: number;
  /** L2 decay on Conv and Dense weights (not on biases or BatchNorm). */
  readonly weightDecay: number;
  /** Each training image moves by a random whole number of pixels in [−maxShift, maxShift] per axis. */
  readonly maxShift: number;
  readonly seed: number;
}

export interface Sample {
  /** Row-major [C, H, W]. */
  readonly x: ArrayLike<number>;
  readonly label: number;
}

export interface EpochStats {
  readonly epoch: number;
  /** Mean cross-entropy over the epoch's (augmented) training batches. */
  readonly loss: number;
  /** The fraction of the epoch's training images classified right while training. */
  readonly trainAccuracy: number;
  /** The learning rate of the epoch's last step. */
  readonly learningRate: number;
}

/** Trains a network on `samples`; `onEpoch` sees each epoch's statistics and the graph so far (for progress lines; it must not change it). */
export function trainGraph(samples: readonly Sample[], config: GraphTrainingConfig, onEpoch: (stats: EpochStats, graph: () => TrainedGraph) => void = () => {}): { graph: TrainedGraph; history: EpochStats[] } {
  const rng = new Rng(config.seed);
  const net = initialNetwork(config, rng);
  const params = net.params;
  const order = samples.map((_, i) => i);
  const stepsPerEpoch = Math.ceil(samples.length / config.batchSize);
  const total = config.epochs * stepsPerEpoch;
  const warmup = Math.round(config.warmupEpochs * stepsPerEpoch);
  const { c, h, w } = net.inputShape;
  const size = c * h * w;
  const input = new Float32Array(config.batchSize * size);
  const history: EpochStats[] = [];
  let step = 0;
  for (let epoch = 0; epoch < config.epochs; epoch++) {
    rng.shuffle(order);
    let loss = 0;
    let right = 0;
    let lr = 0;
    for (let start = 0; start < order.length; start += config.batchSize) {
      const batch = order.slice(start, start + config.batchSize);
      shiftedBatch(
        batch.map((i) => samples[i].x),
        net.inputShape,
        config.maxShift,
        rng,
        input,
      );
      for (const p of params) p.grad.fill(0);
      const logits = net.forward({ data: input.subarray(0, batch.length * size), n: batch.length, c, h, w }, true);
      const dLogits = new Float32Array(logits.data.length);
      const r = softmaxCrossEntropy(
        logits,
        batch.map((i) => samples[i].label),
        dLogits,
      );
      loss += r.loss;
      right += r.right;
      net.backward({ ...logits, data: dLogits });
      lr = learningRateAt(config.learningRate, step, total, warmup);
      step++;
      sgdStep(params, lr, config.momentum, config.weightDecay);
    }
    const stats = { epoch: epoch + 1, loss: loss / samples.length, trainAccuracy: right / samples.length, learningRate: lr };
    history.push(stats);
    onEpoch(stats, () => trainedGraph(net, config));
  }
  return { graph: trainedGraph(net, config), history };
}
