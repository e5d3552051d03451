import type { FloatGraph, FloatGraphLayer } from "../../core/onnx/floatGraphWriter";
import { floatGraphShapes } from "../../core/onnx/floatGraphWriter";
import { Rng } from "../../core/rng";

/**
 * A small, deterministic float32 CNN trainer: Conv2d (stride, padding), BatchNorm (batch
 * statistics in training, running mean and variance for inference, as PyTorch's BatchNorm2d),
 * ReLU, MaxPool, Flatten, Dense and softmax cross-entropy, trained by mini-batch SGD with momentum,
 * weight decay and a cosine learning-rate schedule, with optional seeded random shifts of the
 * training images. One thread, one seeded PRNG ({@link Rng}) and a fixed order for every sum, so
 * the same configuration on the same samples gives the same weights bit for bit.
 *
 * Number formats:
 * - Float32Array (float32): the model itself (weights, biases, BatchNorm scales, shifts and running
 *   statistics), the momentum buffers, and everything that flows through the network: activations,
 *   their gradients, the im2col matrices, BatchNorm's normalised values.
 * - float64: every sum. A dot product, a matrix-product row, a BatchNorm statistic, the loss, is
 *   accumulated in a JavaScript number or a Float64Array scratch row, in a fixed order, and rounded
 *   to float32 once when it is stored. Parameter gradients are Float64Array: they are sums over the
 *   batch, rounded to float32 when the optimiser folds them into the momentum.
 * JavaScript evaluates `a * b + c` as two rounded double operations (no fused multiply-add), so
 * nothing here depends on the CPU's vector width.
 *
 * Convolutions are an im2col matrix per image times the weight matrix, looped so that the inner
 * loop runs along contiguous rows.
 */

/** One layer of the network, in order; the first takes the [C, H, W] input image. */
export type LayerSpec =
  /** A square convolution; `bias` false (the default) for one followed by BatchNorm, whose shift makes a bias redundant. */
  | { readonly kind: "conv"; readonly name: string; readonly out: number; readonly kernel: number; readonly stride?: number; readonly pad?: number; readonly bias?: boolean }
  | { readonly kind: "batchnorm"; readonly name: string }
  | { readonly kind: "relu"; readonly name: string }
  /** A square max pool, no padding; stride = kernel unless given. */
  | { readonly kind: "maxpool"; readonly name: string; readonly kernel: number; readonly stride?: number }
  | { readonly kind: "flatten"; readonly name: string }
  | { readonly kind: "dense"; readonly name: string; readonly out: number };

export interface CnnTrainingConfig {
  /** The input image: [channels, height, width]. */
  readonly inputShape: readonly [number, number, number];
  readonly layers: readonly LayerSpec[];
  readonly epochs: number;
  readonly batchSize: number;
  /** The peak learning rate: reached after `warmupEpochs` (linear from 0), then cosine to 0. */
  readonly learningRate: number;
  readonly warmupEpochs: number;
  readonly momentum: number;
  /** L2 weight decay on Conv and Dense weights (not on biases or BatchNorm). */
  readonly weightDecay: number;
  /** Augmentation: each training image moves by a random whole number of pixels in [−maxShift, maxShift] along each axis (0: none). */
  readonly maxShift: number;
  /** PyTorch's BatchNorm momentum: running = (1 − m) · running + m · batch statistic. */
  readonly bnMomentum: number;
  readonly bnEpsilon: number;
  readonly seed: number;
}

export interface Sample {
  /** The image, row-major [C, H, W]. */
  readonly x: ArrayLike<number>;
  readonly label: number;
}

export interface EpochStats {
  readonly epoch: number;
  /** Mean cross-entropy over the epoch's (augmented) training batches. */
  readonly loss: number;
  /** The fraction of the epoch's training images classified right while training. */
  readonly trainAccuracy: number;
  readonly learningRate: number;
}

export interface TrainedCnn {
  readonly graph: FloatGraph;
  readonly history: readonly EpochStats[];
}

// ---------------------------------------------------------------------------------------------
// Tensors and layers

/** A batch of [C, H, W] values, row-major [N, C, H, W]; a vector is [C, 1, 1]. */
interface Tensor {
  readonly data: Float32Array;
  readonly n: number;
  readonly c: number;
  readonly h: number;
  readonly w: number;
}

interface Shape {
  readonly c: number;
  readonly h: number;
  readonly w: number;
}

/** A trained array with its batch gradient. */
interface Param {
  readonly value: Float32Array;
  readonly grad: Float64Array;
  readonly velocity: Float32Array;
  readonly decay: boolean;
}

const param = (value: Float32Array, decay: boolean): Param => ({ value, grad: new Float64Array(value.length), velocity: new Float32Array(value.length), decay });

/** A reusable buffer: the first `length` values of `buf`, or a new larger one. */
class Scratch<T extends Float32Array | Float64Array | Int32Array> {
  private buf: T | undefined;
  constructor(private readonly make: (n: number) => T) {}
  get(length: number): T {
    if (!this.buf || this.buf.length < length) this.buf = this.make(length);
    return this.buf.subarray(0, length) as T;
  }
}
const f32 = () => new Scratch((n) => new Float32Array(n));
const f64 = () => new Scratch((n) => new Float64Array(n));

interface Layer {
  readonly params: readonly Param[];
  outShape(s: Shape): Shape;
  forward(x: Tensor, training: boolean): Tensor;
  /** The gradient of the loss with respect to the layer's input; adds the parameters' gradients to their `grad`. Skips the input gradient (returns undefined) when `needInput` is false. */
  backward(dy: Tensor, needInput: boolean): Tensor | undefined;
  toGraph(): FloatGraphLayer;
}

class Conv2d implements Layer {
  readonly params: Param[];
  private x!: Tensor;
  private cols = f32();
  private out = f32();
  private dx = f32();
  private dxAcc = f64();
  private dcol = f64();
  private readonly kk: number;

  constructor(
    readonly name: string,
    readonly cin: number,
    readonly cout: number,
    readonly k: number,
    readonly stride: number,
    readonly pad: number,
    readonly weight: Float32Array,
    readonly bias: Float32Array | undefined,
  ) {
    this.kk = cin * k * k;
    this.params = [param(weight, true), ...(bias ? [param(bias, false)] : [])];
  }

  outShape(s: Shape): Shape {
    return { c: this.cout, h: Math.floor((s.h + 2 * this.pad - this.k) / this.stride) + 1, w: Math.floor((s.w + 2 * this.pad - this.k) / this.stride) + 1 };
  }

  /** The im2col matrix of image `n`: row r = (c·k + i)·k + j, column p = oy·outW + ox. */
  private im2col(x: Tensor, n: number, oh: number, ow: number, col: Float32Array): void {
    const { k, stride, pad } = this;
    const P = oh * ow;
    const plane = x.h * x.w;
    for (let c = 0; c < x.c; c++) {
      const base = (n * x.c + c) * plane;
      for (let i = 0; i < k; i++) {
        for (let j = 0; j < k; j++) {
          const row = ((c * k + i) * k + j) * P;
          for (let oy = 0; oy < oh; oy++) {
            const iy = oy * stride - pad + i;
            const o = row + oy * ow;
            if (iy < 0 || iy >= x.h) {
              col.fill(0, o, o + ow);
              continue;
            }
            const src = base + iy * x.w;
            for (let ox = 0; ox < ow; ox++) {
              const ix = ox * stride - pad + j;
              col[o + ox] = ix >= 0 && ix < x.w ? x.data[src + ix] : 0;
            }
          }
        }
      }
    }
  }

  forward(x: Tensor): Tensor {
    const { h: oh, w: ow } = this.outShape(x);
    const P = oh * ow;
    const K = this.kk;
    const M = this.cout;
    const cols = this.cols.get(x.n * K * P);
    const out = this.out.get(x.n * M * P);
    for (let n = 0; n < x.n; n++) {
      const col = cols.subarray(n * K * P, (n + 1) * K * P);
      this.im2col(x, n, oh, ow, col);
      matmul(this.weight, col, this.bias, out.subarray(n * M * P, (n + 1) * M * P), M, K, P);
    }
    this.x = x;
    return { data: out, n: x.n, c: M, h: oh, w: ow };
  }

  backward(dy: Tensor, needInput: boolean): Tensor | undefined {
    const x = this.x;
    const P = dy.h * dy.w;
    const K = this.kk;
    const M = this.cout;
    const cols = this.cols.get(x.n * K * P);
    const gw = this.params[0].grad;
    const gb = this.bias ? this.params[1].grad : undefined;
    const dx = needInput ? this.dx.get(x.n * x.c * x.h * x.w) : undefined;
    const dcol = this.dcol.get(K * P);
    const dxAcc = this.dxAcc.get(x.c * x.h * x.w);
    for (let n = 0; n < x.n; n++) {
      const col = cols.subarray(n * K * P, (n + 1) * K * P);
      const g = dy.data.subarray(n * M * P, (n + 1) * M * P);
      if (gb) {
        for (let m = 0; m < M; m++) {
          let s = 0;
          for (let p = m * P, e = p + P; p < e; p++) s += g[p];
          gb[m] += s;
        }
      }
      addMatmulTransposed(g, col, gw, M, K, P);
      if (!dx) continue;
      // The gradient of the im2col matrix, then col2im adds each value back where im2col took it from.
      matmulTransposedLeft(this.weight, g, dcol, M, K, P);
      this.col2im(dcol, dxAcc, x, dy.h, dy.w);
      dx.set(dxAcc, n * x.c * x.h * x.w);
    }
    return dx && { data: dx, n: x.n, c: x.c, h: x.h, w: x.w };
  }

  private col2im(dcol: Float64Array, dx: Float64Array, x: Shape, oh: number, ow: number): void {
    const { k, stride, pad } = this;
    const P = oh * ow;
    dx.fill(0);
    for (let c = 0; c < x.c; c++) {
      const base = c * x.h * x.w;
      for (let i = 0; i < k; i++) {
        for (let j = 0; j < k; j++) {
          const row = ((c * k + i) * k + j) * P;
          for (let oy = 0; oy < oh; oy++) {
            const iy = oy * stride - pad + i;
            if (iy < 0 || iy >= x.h) continue;
            const dst = base + iy * x.w;
            const o = row + oy * ow;
            for (let ox = 0; ox < ow; ox++) {
              const ix = ox * stride - pad + j;
              if (ix >= 0 && ix < x.w) dx[dst + ix] += dcol[o + ox];
            }
          }
        }
      }
    }
  }

  toGraph(): FloatGraphLayer {
    const { stride: s, pad: p, k } = this;
    return {
      op: "Conv",
      module: this.name,
      inChannels: this.cin,
      outChannels: this.cout,
      kernelShape: [k, k],
      strides: [s, s],
      pads: [p, p, p, p],
      dilations: [1, 1],
      group: 1,
      weight: this.weight.slice(),
      ...(this.bias ? { bias: this.bias.slice() } : {}),
    };
  }
}

// ---------------------------------------------------------------------------------------------
// Matrix products of the convolutions. Each output is one float64 sum, from its first term to its
// last in order (the bias first); the loops are blocked (2 rows × 4 columns, or 4 rows) so that
// each value loaded is used several times, which does not change any sum's order.

/** out[m][p] = bias[m] + Σ_r a[m][r] · b[r][p], for a [M×K] and b [K×P], rounded to float32. */
function matmul(a: Float32Array, b: Float32Array, bias: Float32Array | undefined, out: Float32Array, M: number, K: number, P: number): void {
  const M2 = M - (M % 2);
  const P4 = P - (P % 4);
  for (let m = 0; m < M2; m += 2) {
    const a0 = m * K;
    const a1 = a0 + K;
    const b0 = bias ? bias[m] : 0;
    const b1 = bias ? bias[m + 1] : 0;
    for (let p = 0; p < P4; p += 4) {
      let s0 = b0, s1 = b0, s2 = b0, s3 = b0, t0 = b1, t1 = b1, t2 = b1, t3 = b1;
      for (let r = 0; r < K; r++) {
        const u = a[a0 + r];
        const v = a[a1 + r];
        const o = r * P + p;
        const c0 = b[o], c1 = b[o + 1], c2 = b[o + 2], c3 = b[o + 3];
        s0 += u * c0; s1 += u * c1; s2 += u * c2; s3 += u * c3;
        t0 += v * c0; t1 += v * c1; t2 += v * c2; t3 += v * c3;
      }
      const o = m * P + p;
      out[o] = s0; out[o + 1] = s1; out[o + 2] = s2; out[o + 3] = s3;
      out[o + P] = t0; out[o + P + 1] = t1; out[o + P + 2] = t2; out[o + P + 3] = t3;
    }
  }
  // What the blocks left: the last row when M is odd, the last columns when P is not a multiple of 4.
  for (let m = 0; m < M; m++) {
    for (let p = m < M2 ? P4 : 0; p < P; p++) {
      let s = bias ? bias[m] : 0;
      for (let r = 0; r < K; r++) s += a[m * K + r] * b[r * P + p];
      out[m * P + p] = s;
    }
  }
}

/** out[m][r] += Σ_p g[m][p] · b[r][p], for g [M×P] and b [K×P] (a weight gradient). */
function addMatmulTransposed(g: Float32Array, b: Float32Array, out: Float64Array, M: number, K: number, P: number): void {
  const M4 = M - (M % 4);
  for (let m = 0; m < M4; m += 4) {
    const g0 = m * P, g1 = g0 + P, g2 = g1 + P, g3 = g2 + P;
    for (let r = 0; r < K; r++) {
      const row = r * P;
      let s0 = 0, s1 = 0, s2 = 0, s3 = 0;
      for (let p = 0; p < P; p++) {
        const c = b[row + p];
        s0 += g[g0 + p] * c; s1 += g[g1 + p] * c; s2 += g[g2 + p] * c; s3 += g[g3 + p] * c;
      }
      out[m * K + r] += s0; out[(m + 1) * K + r] += s1; out[(m + 2) * K + r] += s2; out[(m + 3) * K + r] += s3;
    }
  }
  for (let m = M4; m < M; m++) {
    for (let r = 0; r < K; r++) {
      let s = 0;
      for (let p = 0; p < P; p++) s += g[m * P + p] * b[r * P + p];
      out[m * K + r] += s;
    }
  }
}

/** out[r][p] = Σ_m a[m][r] · g[m][p], for a [M×K] and g [M×P] (the gradient of an im2col matrix). */
function matmulTransposedLeft(a: Float32Array, g: Float32Array, out: Float64Array, M: number, K: number, P: number): void {
  const P4 = P - (P % 4);
  for (let r = 0; r < K; r++) {
    const row = r * P;
    for (let p = 0; p < P4; p += 4) {
      let s0 = 0, s1 = 0, s2 = 0, s3 = 0;
      for (let m = 0; m < M; m++) {
        const u = a[m * K + r];
        const o = m * P + p;
        s0 += u * g[o]; s1 += u * g[o + 1]; s2 += u * g[o + 2]; s3 += u * g[o + 3];
      }
      out[row + p] = s0; out[row + p + 1] = s1; out[row + p + 2] = s2; out[row + p + 3] = s3;
    }
    for (let p = P4; p < P; p++) {
      let s = 0;
      for (let m = 0; m < M; m++) s += a[m * K + r] * g[m * P + p];
      out[row + p] = s;
    }
  }
}

class BatchNorm implements Layer {
  readonly params: Param[];
  private xhat = f32();
  private out = f32();
  private dx = f32();
  private invStd!: Float64Array;
  private shape!: Tensor;

  constructor(
    readonly name: string,
    readonly gamma: Float32Array,
    readonly beta: Float32Array,
    readonly runningMean: Float32Array,
    readonly runningVar: Float32Array,
    readonly momentum: number,
    readonly epsilon: number,
  ) {
    this.params = [param(gamma, false), param(beta, false)];
  }

  outShape(s: Shape): Shape {
    return s;
  }

  forward(x: Tensor, training: boolean): Tensor {
    const plane = x.h * x.w;
    const count = x.n * plane;
    const out = this.out.get(x.data.length);
    const xhat = this.xhat.get(x.data.length);
    this.invStd = new Float64Array(x.c);
    for (let c = 0; c < x.c; c++) {
      let mean: number;
      let variance: number;
      if (training) {
        let s = 0;
        for (let n = 0; n < x.n; n++) for (let o = (n * x.c + c) * plane, e = o + plane; o < e; o++) s += x.data[o];
        mean = s / count;
        let v = 0;
        for (let n = 0; n < x.n; n++) for (let o = (n * x.c + c) * plane, e = o + plane; o < e; o++) v += (x.data[o] - mean) * (x.data[o] - mean);
        variance = v / count;
        // PyTorch keeps the unbiased variance as the running one.
        this.runningMean[c] = (1 - this.momentum) * this.runningMean[c] + this.momentum * mean;
        this.runningVar[c] = (1 - this.momentum) * this.runningVar[c] + (this.momentum * v) / Math.max(count - 1, 1);
      } else {
        mean = this.runningMean[c];
        variance = this.runningVar[c];
      }
      const inv = 1 / Math.sqrt(variance + this.epsilon);
      this.invStd[c] = inv;
      const g = this.gamma[c];
      const b = this.beta[c];
      for (let n = 0; n < x.n; n++) {
        for (let o = (n * x.c + c) * plane, e = o + plane; o < e; o++) {
          const h = (x.data[o] - mean) * inv;
          xhat[o] = h;
          out[o] = g * h + b;
        }
      }
    }
    this.shape = x;
    return { ...x, data: out };
  }

  backward(dy: Tensor, needInput: boolean): Tensor | undefined {
    const x = this.shape;
    const plane = x.h * x.w;
    const count = x.n * plane;
    const xhat = this.xhat.get(x.data.length);
    const dx = needInput ? this.dx.get(x.data.length) : undefined;
    for (let c = 0; c < x.c; c++) {
      let sdy = 0;
      let sdyx = 0;
      for (let n = 0; n < x.n; n++) {
        for (let o = (n * x.c + c) * plane, e = o + plane; o < e; o++) {
          sdy += dy.data[o];
          sdyx += dy.data[o] * xhat[o];
        }
      }
      this.params[0].grad[c] += sdyx;
      this.params[1].grad[c] += sdy;
      if (!dx) continue;
      const f = (this.gamma[c] * this.invStd[c]) / count;
      for (let n = 0; n < x.n; n++) {
        for (let o = (n * x.c + c) * plane, e = o + plane; o < e; o++) dx[o] = f * (count * dy.data[o] - sdy - xhat[o] * sdyx);
      }
    }
    return dx && { ...x, data: dx };
  }

  toGraph(): FloatGraphLayer {
    return {
      op: "BatchNormalization",
      module: this.name,
      scale: this.gamma.slice(),
      bias: this.beta.slice(),
      mean: this.runningMean.slice(),
      variance: this.runningVar.slice(),
      // As the file stores them (float32 attributes), so that inference here and in onnxruntime use one epsilon.
      epsilon: Math.fround(this.epsilon),
      momentum: Math.fround(1 - this.momentum),
    };
  }
}

class Relu implements Layer {
  readonly params: Param[] = [];
  private out = f32();
  private dx = f32();
  private y!: Tensor;
  constructor(readonly name: string) {}
  outShape(s: Shape): Shape {
    return s;
  }
  forward(x: Tensor): Tensor {
    const out = this.out.get(x.data.length);
    for (let i = 0; i < out.length; i++) out[i] = x.data[i] > 0 ? x.data[i] : 0;
    this.y = { ...x, data: out };
    return this.y;
  }
  backward(dy: Tensor): Tensor {
    const dx = this.dx.get(dy.data.length);
    const y = this.y.data;
    for (let i = 0; i < dx.length; i++) dx[i] = y[i] > 0 ? dy.data[i] : 0;
    return { ...dy, data: dx };
  }
  toGraph(): FloatGraphLayer {
    return { op: "Relu", module: this.name };
  }
}

class MaxPool implements Layer {
  readonly params: Param[] = [];
  private out = f32();
  private dx = f32();
  private argmax = new Scratch((n) => new Int32Array(n));
  private x!: Tensor;
  constructor(
    readonly name: string,
    readonly k: number,
    readonly stride: number,
  ) {}
  outShape(s: Shape): Shape {
    return { c: s.c, h: Math.floor((s.h - this.k) / this.stride) + 1, w: Math.floor((s.w - this.k) / this.stride) + 1 };
  }
  forward(x: Tensor): Tensor {
    const { h: oh, w: ow } = this.outShape(x);
    const out = this.out.get(x.n * x.c * oh * ow);
    const arg = this.argmax.get(out.length);
    let o = 0;
    for (let nc = 0; nc < x.n * x.c; nc++) {
      const base = nc * x.h * x.w;
      for (let oy = 0; oy < oh; oy++) {
        for (let ox = 0; ox < ow; ox++, o++) {
          let best = -Infinity;
          let at = -1;
          for (let i = 0; i < this.k; i++) {
            const row = base + (oy * this.stride + i) * x.w + ox * this.stride;
            for (let j = 0; j < this.k; j++) {
              if (x.data[row + j] > best || at < 0) {
                best = x.data[row + j];
                at = row + j;
              }
            }
          }
          out[o] = best;
          arg[o] = at;
        }
      }
    }
    this.x = x;
    return { data: out, n: x.n, c: x.c, h: oh, w: ow };
  }
  backward(dy: Tensor): Tensor {
    const dx = this.dx.get(this.x.data.length);
    const arg = this.argmax.get(dy.data.length);
    dx.fill(0);
    for (let o = 0; o < dy.data.length; o++) dx[arg[o]] += dy.data[o];
    return { ...this.x, data: dx };
  }
  toGraph(): FloatGraphLayer {
    return { op: "MaxPool", module: this.name, kernelShape: [this.k, this.k], strides: [this.stride, this.stride], pads: [0, 0, 0, 0] };
  }
}

class Flatten implements Layer {
  readonly params: Param[] = [];
  private x!: Tensor;
  constructor(readonly name: string) {}
  outShape(s: Shape): Shape {
    return { c: s.c * s.h * s.w, h: 1, w: 1 };
  }
  forward(x: Tensor): Tensor {
    this.x = x;
    return { data: x.data, n: x.n, c: x.c * x.h * x.w, h: 1, w: 1 };
  }
  backward(dy: Tensor): Tensor {
    return { ...this.x, data: dy.data };
  }
  toGraph(): FloatGraphLayer {
    return { op: "Flatten", module: this.name };
  }
}

class Dense implements Layer {
  readonly params: Param[];
  private x!: Tensor;
  private out = f32();
  private dx = f32();
  private acc = f64();
  constructor(
    readonly name: string,
    readonly nIn: number,
    readonly nOut: number,
    readonly weight: Float32Array,
    readonly bias: Float32Array,
  ) {
    this.params = [param(weight, true), param(bias, false)];
  }
  outShape(s: Shape): Shape {
    if (s.c * s.h * s.w !== this.nIn || s.h !== 1 || s.w !== 1) throw new Error(`${this.name}: expects a flat vector of ${this.nIn}`);
    return { c: this.nOut, h: 1, w: 1 };
  }
  forward(x: Tensor): Tensor {
    const { nIn, nOut, weight: w } = this;
    const out = this.out.get(x.n * nOut);
    for (let n = 0; n < x.n; n++) {
      const xi = n * nIn;
      for (let o = 0; o < nOut; o++) {
        let s = this.bias[o];
        const row = o * nIn;
        for (let i = 0; i < nIn; i++) s += w[row + i] * x.data[xi + i];
        out[n * nOut + o] = s;
      }
    }
    this.x = x;
    return { data: out, n: x.n, c: nOut, h: 1, w: 1 };
  }
  backward(dy: Tensor, needInput: boolean): Tensor | undefined {
    const { nIn, nOut, weight: w } = this;
    const x = this.x;
    const [gw, gb] = [this.params[0].grad, this.params[1].grad];
    const dx = needInput ? this.dx.get(x.n * nIn) : undefined;
    const acc = this.acc.get(nIn);
    for (let n = 0; n < x.n; n++) {
      const xi = n * nIn;
      acc.fill(0);
      for (let o = 0; o < nOut; o++) {
        const g = dy.data[n * nOut + o];
        gb[o] += g;
        const row = o * nIn;
        for (let i = 0; i < nIn; i++) {
          gw[row + i] += g * x.data[xi + i];
          acc[i] += g * w[row + i];
        }
      }
      if (dx) dx.set(acc, xi);
    }
    return dx && { data: dx, n: x.n, c: nIn, h: 1, w: 1 };
  }
  toGraph(): FloatGraphLayer {
    return { op: "Gemm", module: this.name, nIn: this.nIn, nOut: this.nOut, weight: this.weight.slice(), bias: this.bias.slice() };
  }
}

// ---------------------------------------------------------------------------------------------
// Networks

/** A network: its layers in order, each with the shape it produces. */
class Network {
  constructor(
    readonly inputShape: Shape,
    readonly layers: readonly Layer[],
  ) {}

  get params(): Param[] {
    return this.layers.flatMap((l) => l.params);
  }

  forward(x: Tensor, training: boolean): Tensor {
    let t = x;
    for (const layer of this.layers) t = layer.forward(t, training);
    return t;
  }

  backward(dLogits: Tensor): void {
    let g: Tensor | undefined = dLogits;
    for (let i = this.layers.length - 1; i >= 0 && g; i--) g = this.layers[i].backward(g, i > 0);
  }
}

/** A fresh network for `config`: He-normal Conv and Dense weights, zero biases, BatchNorm scale 1 and shift 0. */
function initialNetwork(config: CnnTrainingConfig, rng: Rng): Network {
  const [c, h, w] = config.inputShape;
  let shape: Shape = { c, h, w };
  const layers: Layer[] = [];
  const heNormal = (n: number, fanIn: number) => {
    const std = Math.sqrt(2 / fanIn);
    return Float32Array.from({ length: n }, () => rng.normal() * std);
  };
  for (const spec of config.layers) {
    let layer: Layer;
    switch (spec.kind) {
      case "conv": {
        const fanIn = shape.c * spec.kernel * spec.kernel;
        const weight = heNormal(spec.out * fanIn, fanIn);
        layer = new Conv2d(spec.name, shape.c, spec.out, spec.kernel, spec.stride ?? 1, spec.pad ?? 0, weight, spec.bias ? new Float32Array(spec.out) : undefined);
        break;
      }
      case "batchnorm":
        layer = new BatchNorm(spec.name, new Float32Array(shape.c).fill(1), new Float32Array(shape.c), new Float32Array(shape.c), new Float32Array(shape.c).fill(1), config.bnMomentum, config.bnEpsilon);
        break;
      case "relu":
        layer = new Relu(spec.name);
        break;
      case "maxpool":
        layer = new MaxPool(spec.name, spec.kernel, spec.stride ?? spec.kernel);
        break;
      case "flatten":
        layer = new Flatten(spec.name);
        break;
      case "dense": {
        const nIn = shape.c * shape.h * shape.w;
        layer = new Dense(spec.name, nIn, spec.out, heNormal(spec.out * nIn, nIn), new Float32Array(spec.out));
        break;
      }
    }
    shape = layer.outShape(shape);
    if (shape.h < 1 || shape.w < 1) throw new Error(`layer ${spec.name} leaves an empty image`);
    layers.push(layer);
  }
  return new Network({ c, h, w }, layers);
}

/** The network of a float graph (copies of its arrays), for inference. Supports what the trainer writes. */
function networkOf(graph: FloatGraph): Network {
  floatGraphShapes(graph); // checks every size
  const [c, h, w] = graph.inputShape;
  const layers = graph.layers.map((l): Layer => {
    const unsupported = (what: string): never => {
      throw new Error(`layer ${l.module} (${l.op}): ${what} is not supported by the trainer`);
    };
    switch (l.op) {
      case "Conv": {
        const [k, kW] = l.kernelShape;
        const [s, sW] = l.strides;
        const [p] = l.pads;
        if (k !== kW || s !== sW || l.pads.some((v) => v !== p)) unsupported("a non-square kernel, stride or padding");
        if (l.group !== 1 || l.dilations.some((d) => d !== 1)) unsupported("a grouped or dilated convolution");
        return new Conv2d(l.module, l.inChannels, l.outChannels, k, s, p, l.weight.slice(), l.bias?.slice());
      }
      case "BatchNormalization":
        return new BatchNorm(l.module, l.scale.slice(), l.bias.slice(), l.mean.slice(), l.variance.slice(), 1 - l.momentum, l.epsilon);
      case "Relu":
        return new Relu(l.module);
      case "MaxPool":
        if (l.kernelShape[0] !== l.kernelShape[1] || l.strides[0] !== l.strides[1] || l.pads.some((v) => v !== 0)) unsupported("a non-square or padded pool");
        return new MaxPool(l.module, l.kernelShape[0], l.strides[0]);
      case "Flatten":
        return new Flatten(l.module);
      case "Gemm":
        return new Dense(l.module, l.nIn, l.nOut, l.weight.slice(), l.bias.slice());
    }
  });
  return new Network({ c, h, w }, layers);
}

function batchTensor(net: Network, images: readonly ArrayLike<number>[], data: Float32Array): Tensor {
  const { c, h, w } = net.inputShape;
  const size = c * h * w;
  images.forEach((x, n) => {
    if (x.length !== size) throw new Error(`an input has ${x.length} values, the network expects ${size}`);
    data.set(x, n * size);
  });
  return { data: data.subarray(0, images.length * size), n: images.length, c, h, w };
}

/** Writes `x` moved by (dy, dx) pixels into `out`, zeros where nothing moves in. */
function shiftInto(x: ArrayLike<number>, s: Shape, dy: number, dx: number, out: Float32Array, at: number): void {
  for (let c = 0; c < s.c; c++) {
    for (let y = 0; y < s.h; y++) {
      const sy = y - dy;
      const o = at + (c * s.h + y) * s.w;
      if (sy < 0 || sy >= s.h) {
        out.fill(0, o, o + s.w);
        continue;
      }
      const src = (c * s.h + sy) * s.w;
      for (let x0 = 0; x0 < s.w; x0++) {
        const sx = x0 - dx;
        out[o + x0] = sx >= 0 && sx < s.w ? x[src + sx] : 0;
      }
    }
  }
}

/**
 * Softmax cross-entropy of a batch of logits: writes d(mean loss)/d(logits) into `grad` and
 * returns the summed loss and the number of right answers.
 */
function softmaxCrossEntropy(logits: Tensor, labels: readonly number[], grad: Float32Array): { loss: number; right: number } {
  const k = logits.c;
  let loss = 0;
  let right = 0;
  const p = new Float64Array(k);
  for (let n = 0; n < logits.n; n++) {
    const z = logits.data.subarray(n * k, (n + 1) * k);
    let max = -Infinity;
    let arg = 0;
    for (let i = 0; i < k; i++) {
      if (z[i] > max) {
        max = z[i];
        arg = i;
      }
    }
    if (arg === labels[n]) right++;
    let sum = 0;
    for (let i = 0; i < k; i++) {
      p[i] = Math.exp(z[i] - max);
      sum += p[i];
    }
    loss += Math.log(sum) - (z[labels[n]] - max);
    for (let i = 0; i < k; i++) grad[n * k + i] = (p[i] / sum - (i === labels[n] ? 1 : 0)) / logits.n;
  }
  return { loss, right };
}

/** The learning rate of step `step` of `total`: linear warm-up, then cosine to 0. */
export function learningRateAt(config: CnnTrainingConfig, step: number, total: number, warmupSteps: number): number {
  if (step < warmupSteps) return (config.learningRate * (step + 1)) / warmupSteps;
  return (config.learningRate * (1 + Math.cos((Math.PI * (step - warmupSteps)) / Math.max(total - warmupSteps, 1)))) / 2;
}

/**
 * Trains a network on `samples` and returns it as a float graph named `name`, with the epochs'
 * statistics. `onEpoch` is called after each epoch with the statistics and the graph so far (for
 * progress lines and held-out checks; it must not change the graph).
 */
export function trainCnn(
  samples: readonly Sample[],
  config: CnnTrainingConfig,
  name: string,
  onEpoch: (stats: EpochStats, graph: () => FloatGraph) => void = () => {},
): TrainedCnn {
  const rng = new Rng(config.seed);
  const net = initialNetwork(config, rng);
  const toGraph = (): FloatGraph => ({ name, inputShape: [...config.inputShape] as [number, number, number], layers: net.layers.map((l) => l.toGraph()) });
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
      batch.forEach((idx, n) => {
        const dy = config.maxShift > 0 ? rng.int(-config.maxShift, config.maxShift) : 0;
        const dx = config.maxShift > 0 ? rng.int(-config.maxShift, config.maxShift) : 0;
        shiftInto(samples[idx].x, net.inputShape, dy, dx, input, n * size);
      });
      const x: Tensor = { data: input.subarray(0, batch.length * size), n: batch.length, c, h, w };
      for (const p of params) p.grad.fill(0);
      const logits = net.forward(x, true);
      const dLogits = new Float32Array(logits.data.length);
      const r = softmaxCrossEntropy(
        logits,
        batch.map((i) => samples[i].label),
        dLogits,
      );
      loss += r.loss;
      right += r.right;
      net.backward({ ...logits, data: dLogits });
      lr = learningRateAt(config, step, total, warmup);
      step++;
      // SGD with momentum as PyTorch's: v = μ·v + (g + λ·w), w −= lr·v.
      for (const p of params) {
        const decay = p.decay ? config.weightDecay : 0;
        for (let i = 0; i < p.value.length; i++) {
          p.velocity[i] = config.momentum * p.velocity[i] + p.grad[i] + decay * p.value[i];
          p.value[i] -= lr * p.velocity[i];
        }
      }
    }
    const stats = { epoch: epoch + 1, loss: loss / samples.length, trainAccuracy: right / samples.length, learningRate: lr };
    history.push(stats);
    onEpoch(stats, toGraph);
  }
  return { graph: toGraph(), history };
}

/** The logits of each input under `graph` (BatchNorm with its running statistics): the trainer's own float forward pass. */
export function predict(graph: FloatGraph, inputs: readonly ArrayLike<number>[], batchSize = 100): Float32Array[] {
  const net = networkOf(graph);
  const { c, h, w } = net.inputShape;
  const buffer = new Float32Array(batchSize * c * h * w);
  const out: Float32Array[] = [];
  for (let start = 0; start < inputs.length; start += batchSize) {
    const logits = net.forward(batchTensor(net, inputs.slice(start, start + batchSize), buffer), false);
    for (let n = 0; n < logits.n; n++) out.push(logits.data.slice(n * logits.c, (n + 1) * logits.c));
  }
  return out;
}

/** The fraction of `samples` that `graph` classifies right (the lowest index wins a tie). */
export function accuracy(graph: FloatGraph, samples: readonly Sample[]): number {
  const logits = predict(
    graph,
    samples.map((s) => s.x),
  );
  let right = 0;
  logits.forEach((z, i) => {
    let arg = 0;
    for (let k = 1; k < z.length; k++) if (z[k] > z[arg]) arg = k;
    if (arg === samples[i].label) right++;
  });
  return right / samples.length;
}
