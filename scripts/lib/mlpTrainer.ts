import type { FloatModel } from "../../core/onnx/floatModel";
import { Rng } from "../../core/rng";

/**
 * A small, deterministic MLP trainer: ReLU hidden layers, softmax cross-entropy, SGD with
 * momentum and a cosine learning-rate schedule, all in double precision with a seeded
 * PRNG, so the same configuration gives the same weights bit for bit.
 */
export interface TrainingConfig {
  readonly sizes: readonly number[];
  readonly epochs: number;
  readonly batchSize: number;
  readonly learningRate: number;
  readonly momentum: number;
  readonly weightDecay: number;
  readonly seed: number;
}

export interface Sample {
  readonly x: ArrayLike<number>;
  readonly label: number;
}

interface Params {
  w: Float64Array[];
  b: Float64Array[];
}

export function trainMlp(samples: readonly Sample[], config: TrainingConfig, log: (line: string) => void = () => {}): FloatModel {
  const { sizes } = config;
  const rng = new Rng(config.seed);
  const L = sizes.length - 1;
  const params: Params = { w: [], b: [] };
  for (let l = 0; l < L; l++) {
    const std = Math.sqrt(2 / sizes[l]);
    params.w.push(Float64Array.from({ length: sizes[l] * sizes[l + 1] }, () => rng.normal() * std));
    params.b.push(new Float64Array(sizes[l + 1]));
  }
  const zeros = (p: Params): Params => ({ w: p.w.map((a) => new Float64Array(a.length)), b: p.b.map((a) => new Float64Array(a.length)) });
  const velocity = zeros(params);
  const grad = zeros(params);
  const acts = sizes.map((n) => new Float64Array(n));
  const deltas = sizes.map((n) => new Float64Array(n));
  const order = samples.map((_, i) => i);
  const steps = config.epochs * Math.ceil(samples.length / config.batchSize);
  let step = 0;

  for (let epoch = 0; epoch < config.epochs; epoch++) {
    rng.shuffle(order);
    let loss = 0;
    for (let start = 0; start < order.length; start += config.batchSize) {
      const batch = order.slice(start, start + config.batchSize);
      grad.w.forEach((g) => g.fill(0));
      grad.b.forEach((g) => g.fill(0));
      for (const idx of batch) {
        loss += forward(params, sizes, samples[idx], acts);
        backward(params, sizes, samples[idx].label, acts, deltas, grad);
      }
      const lr = (config.learningRate * (1 + Math.cos((Math.PI * step) / steps))) / 2;
      step++;
      for (let l = 0; l < L; l++) {
        update(params.w[l], grad.w[l], velocity.w[l], lr, config.momentum, config.weightDecay, batch.length);
        update(params.b[l], grad.b[l], velocity.b[l], lr, config.momentum, 0, batch.length);
      }
    }
    log(`epoch ${epoch + 1}/${config.epochs}: mean loss ${(loss / samples.length).toFixed(4)}`);
  }

  return {
    inputSize: sizes[0],
    layers: params.w.map((w, l) => ({
      nIn: sizes[l],
      nOut: sizes[l + 1],
      weights: Float32Array.from(w),
      bias: Float32Array.from(params.b[l]),
      relu: l < L - 1,
      node: `fc${l + 1}`,
    })),
  };
}

/** Fills `acts` (acts[0] = x, acts[L] = softmax probabilities) and returns the sample's cross-entropy. */
function forward(p: Params, sizes: readonly number[], { x, label }: Sample, acts: Float64Array[]): number {
  const L = sizes.length - 1;
  for (let i = 0; i < sizes[0]; i++) acts[0][i] = x[i];
  for (let l = 0; l < L; l++) {
    const nIn = sizes[l];
    const w = p.w[l];
    const a = acts[l];
    const out = acts[l + 1];
    for (let j = 0; j < sizes[l + 1]; j++) {
      let s = p.b[l][j];
      const row = j * nIn;
      for (let i = 0; i < nIn; i++) s += w[row + i] * a[i];
      out[j] = l < L - 1 && s < 0 ? 0 : s;
    }
  }
  softmaxInPlace(acts[L]);
  return -Math.log(Math.max(acts[L][label], 1e-300));
}

/** Turns logits into probabilities in place. */
function softmaxInPlace(z: Float64Array): void {
  let max = -Infinity;
  for (const v of z) max = Math.max(max, v);
  let sum = 0;
  for (let i = 0; i < z.length; i++) {
    z[i] = Math.exp(z[i] - max);
    sum += z[i];
  }
  for (let i = 0; i < z.length; i++) z[i] /= sum;
}

function backward(p: Params, sizes: readonly number[], label: number, acts: Float64Array[], deltas: Float64Array[], grad: Params): void {
  const L = sizes.length - 1;
  const out = deltas[L];
  for (let j = 0; j < sizes[L]; j++) out[j] = acts[L][j] - (j === label ? 1 : 0);
  for (let l = L - 1; l >= 0; l--) {
    const nIn = sizes[l];
    const d = deltas[l + 1];
    const a = acts[l];
    const gw = grad.w[l];
    const w = p.w[l];
    const below = deltas[l];
    below.fill(0);
    for (let j = 0; j < sizes[l + 1]; j++) {
      const dj = d[j];
      if (dj === 0) continue;
      grad.b[l][j] += dj;
      const row = j * nIn;
      for (let i = 0; i < nIn; i++) {
        gw[row + i] += dj * a[i];
        below[i] += dj * w[row + i];
      }
    }
    if (l > 0) for (let i = 0; i < nIn; i++) if (a[i] <= 0) below[i] = 0;
  }
}

function update(param: Float64Array, g: Float64Array, v: Float64Array, lr: number, momentum: number, decay: number, n: number): void {
  for (let i = 0; i < param.length; i++) {
    v[i] = momentum * v[i] + g[i] / n + decay * param[i];
    param[i] -= lr * v[i];
  }
}
