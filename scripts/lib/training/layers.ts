import { type Param, type Shape, type Tensor, f32, f64, i32, param } from "./tensor";

/**
 * The trainer's nodes other than the convolution (scripts/lib/training/conv.ts): BatchNorm, the
 * element-wise activations, max and global average pooling, residual Add and gating Mul, Flatten and
 * Dense. Each keeps what its backward pass needs from its forward pass and reuses its buffers.
 */

/** One node of a network: its inputs' tensors in, one tensor out. */
export interface Node {
  readonly params: readonly Param[];
  outShape(inputs: readonly Shape[]): Shape;
  forward(inputs: readonly Tensor[], training: boolean): Tensor;
  /** The gradients of the loss with respect to each input (undefined where `needInput` is false); adds the parameters' gradients to their `grad`. */
  backward(dy: Tensor, needInput: readonly boolean[]): (Tensor | undefined)[];
  /** Copies of its trained values, by name (none for a node without parameters). */
  values(): Record<string, Float32Array>;
}

/** A node without trained values. */
abstract class WithoutParams {
  readonly params: readonly Param[] = [];
  values(): Record<string, Float32Array> {
    return {};
  }
}

/** BatchNorm as PyTorch's BatchNorm2d: batch statistics in training (updating the running ones), the running mean and variance for inference. */
export class BatchNorm implements Node {
  readonly params: Param[];
  private xhat = f32();
  private out = f32();
  private dx = f32();
  private invStd!: Float64Array;
  private x!: Tensor;

  constructor(
    readonly gamma: Float32Array,
    readonly beta: Float32Array,
    readonly runningMean: Float32Array,
    readonly runningVar: Float32Array,
    readonly momentum: number,
    readonly epsilon: number,
  ) {
    this.params = [param(gamma, false), param(beta, false)];
  }

  outShape([s]: readonly Shape[]): Shape {
    return s;
  }

  forward([x]: readonly Tensor[], training: boolean): Tensor {
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
      for (let n = 0; n < x.n; n++) {
        for (let o = (n * x.c + c) * plane, e = o + plane; o < e; o++) {
          const h = (x.data[o] - mean) * inv;
          xhat[o] = h;
          out[o] = this.gamma[c] * h + this.beta[c];
        }
      }
    }
    this.x = x;
    return { ...x, data: out };
  }

  backward(dy: Tensor, [needInput]: readonly boolean[]): (Tensor | undefined)[] {
    const x = this.x;
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
    return [dx && { ...x, data: dx }];
  }

  values(): Record<string, Float32Array> {
    return { scale: this.gamma.slice(), bias: this.beta.slice(), mean: this.runningMean.slice(), variance: this.runningVar.slice() };
  }
}

/** ONNX HardSigmoid's α as the file stores it (float32 1/6), so that training and inference agree. */
const ALPHA = Math.fround(1 / 6);

/** ReLU, HardSwish x·clip(x + 3, 0, 6)/6 or HardSigmoid clip(α·x + ½, 0, 1), with their derivatives (one loop each: no call per element). */
export class Elementwise extends WithoutParams implements Node {
  private out = f32();
  private dx = f32();
  private x!: Tensor;
  constructor(private readonly kind: "relu" | "hardSwish" | "hardSigmoid") {
    super();
  }
  outShape([s]: readonly Shape[]): Shape {
    return s;
  }
  forward([x]: readonly Tensor[]): Tensor {
    const out = this.out.get(x.data.length);
    const xd = x.data;
    if (this.kind === "relu") for (let i = 0; i < out.length; i++) out[i] = xd[i] > 0 ? xd[i] : 0;
    else if (this.kind === "hardSwish") for (let i = 0; i < out.length; i++) out[i] = (xd[i] * Math.min(6, Math.max(0, xd[i] + 3))) / 6;
    else for (let i = 0; i < out.length; i++) out[i] = Math.min(1, Math.max(0, ALPHA * xd[i] + 0.5));
    this.x = x;
    return { ...x, data: out };
  }
  backward(dy: Tensor): (Tensor | undefined)[] {
    const dx = this.dx.get(dy.data.length);
    const [xd, dd] = [this.x.data, dy.data];
    if (this.kind === "relu") for (let i = 0; i < dx.length; i++) dx[i] = xd[i] > 0 ? dd[i] : 0;
    else if (this.kind === "hardSwish") for (let i = 0; i < dx.length; i++) dx[i] = xd[i] <= -3 ? 0 : xd[i] >= 3 ? dd[i] : (dd[i] * (2 * xd[i] + 3)) / 6;
    else {
      for (let i = 0; i < dx.length; i++) {
        const v = ALPHA * xd[i] + 0.5;
        dx[i] = v > 0 && v < 1 ? dd[i] * ALPHA : 0;
      }
    }
    return [{ ...dy, data: dx }];
  }
}

/** A square max pool without padding; the first of equal values wins, and takes the whole gradient. */
export class MaxPool extends WithoutParams implements Node {
  private out = f32();
  private dx = f32();
  private argmax = i32();
  private x!: Tensor;
  constructor(
    readonly k: number,
    readonly stride: number,
  ) {
    super();
  }
  outShape([s]: readonly Shape[]): Shape {
    return { c: s.c, h: Math.floor((s.h - this.k) / this.stride) + 1, w: Math.floor((s.w - this.k) / this.stride) + 1 };
  }
  forward([x]: readonly Tensor[]): Tensor {
    const { h: oh, w: ow } = this.outShape([x]);
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
  backward(dy: Tensor): (Tensor | undefined)[] {
    const dx = this.dx.get(this.x.data.length);
    const arg = this.argmax.get(dy.data.length);
    dx.fill(0);
    for (let o = 0; o < dy.data.length; o++) dx[arg[o]] += dy.data[o];
    return [{ ...this.x, data: dx }];
  }
}

/** The mean of each channel: [C, H, W] → [C, 1, 1]. */
export class GlobalAvgPool extends WithoutParams implements Node {
  private out = f32();
  private dx = f32();
  private x!: Tensor;
  outShape([s]: readonly Shape[]): Shape {
    return { c: s.c, h: 1, w: 1 };
  }
  forward([x]: readonly Tensor[]): Tensor {
    const plane = x.h * x.w;
    const out = this.out.get(x.n * x.c);
    for (let i = 0; i < x.n * x.c; i++) {
      let s = 0;
      for (let o = i * plane, e = o + plane; o < e; o++) s += x.data[o];
      out[i] = s / plane;
    }
    this.x = x;
    return { data: out, n: x.n, c: x.c, h: 1, w: 1 };
  }
  backward(dy: Tensor): (Tensor | undefined)[] {
    const x = this.x;
    const plane = x.h * x.w;
    const dx = this.dx.get(x.data.length);
    for (let i = 0; i < x.n * x.c; i++) dx.fill(dy.data[i] / plane, i * plane, (i + 1) * plane);
    return [{ ...x, data: dx }];
  }
}

/** a + b (same shape), or a · b with b a [C, 1, 1] gate broadcast over a's positions. */
export class Binary extends WithoutParams implements Node {
  private out = f32();
  private da = f32();
  private db = f32();
  private a!: Tensor;
  private b!: Tensor;
  constructor(private readonly kind: "add" | "mul") {
    super();
  }
  outShape([a, b]: readonly Shape[]): Shape {
    const ok = this.kind === "add" ? a.c === b.c && a.h === b.h && a.w === b.w : a.c === b.c && b.h === 1 && b.w === 1;
    if (!ok) throw new Error(`${this.kind}: shapes ${JSON.stringify(a)} and ${JSON.stringify(b)} do not fit`);
    return a;
  }
  forward([a, b]: readonly Tensor[]): Tensor {
    const out = this.out.get(a.data.length);
    if (this.kind === "add") for (let i = 0; i < out.length; i++) out[i] = a.data[i] + b.data[i];
    else {
      const plane = a.h * a.w;
      for (let i = 0; i < out.length; i++) out[i] = a.data[i] * b.data[Math.floor(i / plane)];
    }
    this.a = a;
    this.b = b;
    return { ...a, data: out };
  }
  backward(dy: Tensor, [needA, needB]: readonly boolean[]): (Tensor | undefined)[] {
    if (this.kind === "add") return [needA ? dy : undefined, needB ? dy : undefined];
    const { a, b } = this;
    const plane = a.h * a.w;
    const da = this.da.get(a.data.length);
    const db = this.db.get(b.data.length);
    for (let j = 0; j < b.data.length; j++) {
      let s = 0;
      for (let o = j * plane, e = o + plane; o < e; o++) {
        s += dy.data[o] * a.data[o];
        da[o] = dy.data[o] * b.data[j];
      }
      db[j] = s;
    }
    return [needA ? { ...a, data: da } : undefined, needB ? { ...b, data: db } : undefined];
  }
}

/** [C, H, W] → [C·H·W, 1, 1], row-major (the values are not copied). */
export class Flatten extends WithoutParams implements Node {
  private x!: Tensor;
  outShape([s]: readonly Shape[]): Shape {
    return { c: s.c * s.h * s.w, h: 1, w: 1 };
  }
  forward([x]: readonly Tensor[]): Tensor {
    this.x = x;
    return { data: x.data, n: x.n, c: x.c * x.h * x.w, h: 1, w: 1 };
  }
  backward(dy: Tensor): (Tensor | undefined)[] {
    return [{ ...this.x, data: dy.data }];
  }
}

/** A fully connected layer as PyTorch's Linear: weight [out, in], output-major. */
export class Dense implements Node {
  readonly params: Param[];
  private x!: Tensor;
  private out = f32();
  private dx = f32();
  private acc = f64();
  constructor(
    readonly nIn: number,
    readonly nOut: number,
    readonly weight: Float32Array,
    readonly bias: Float32Array,
  ) {
    this.params = [param(weight, true), param(bias, false)];
  }
  outShape([s]: readonly Shape[]): Shape {
    if (s.c * s.h * s.w !== this.nIn || s.h !== 1 || s.w !== 1) throw new Error(`dense expects a flat vector of ${this.nIn}`);
    return { c: this.nOut, h: 1, w: 1 };
  }
  forward([x]: readonly Tensor[]): Tensor {
    const { nIn, nOut, weight: w } = this;
    const out = this.out.get(x.n * nOut);
    for (let n = 0; n < x.n; n++) {
      for (let o = 0; o < nOut; o++) {
        let s = this.bias[o];
        for (let i = 0; i < nIn; i++) s += w[o * nIn + i] * x.data[n * nIn + i];
        out[n * nOut + o] = s;
      }
    }
    this.x = x;
    return { data: out, n: x.n, c: nOut, h: 1, w: 1 };
  }
  backward(dy: Tensor, [needInput]: readonly boolean[]): (Tensor | undefined)[] {
    const { nIn, nOut, weight: w, x } = this;
    const [gw, gb] = [this.params[0].grad, this.params[1].grad];
    const dx = needInput ? this.dx.get(x.n * nIn) : undefined;
    const acc = this.acc.get(nIn);
    for (let n = 0; n < x.n; n++) {
      acc.fill(0);
      for (let o = 0; o < nOut; o++) {
        const g = dy.data[n * nOut + o];
        gb[o] += g;
        for (let i = 0; i < nIn; i++) {
          gw[o * nIn + i] += g * x.data[n * nIn + i];
          acc[i] += g * w[o * nIn + i];
        }
      }
      if (dx) dx.set(acc, n * nIn);
    }
    return [dx && { data: dx, n: x.n, c: nIn, h: 1, w: 1 }];
  }
  values(): Record<string, Float32Array> {
    return { weight: this.weight.slice(), bias: this.bias.slice() };
  }
}
