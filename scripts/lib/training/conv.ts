import type { Node } from "./layers";
import { addMatmulTransposed, matmul, matmulTransposedLeft } from "./matmul";
import { type Param, type Shape, type Tensor, f32, f64, param } from "./tensor";

/**
 * A square convolution with stride, zero padding and groups (depthwise included), computed one of
 * two ways:
 *
 * - as matrix products, image by image: the weight [out × in·k·k] times the image's im2col matrix
 *   [in·k·k × outH·outW] (row (c·k + i)·k + j, column oy·outW + ox; a pointwise convolution's input
 *   is its own im2col matrix, so it is not copied). A weight's gradient is summed over one image's
 *   positions, then added; the input's gradient is the im2col matrix's, added back where im2col took
 *   each value from (col2im). Groups are not supported this way.
 * - by direct loops over each output's kernel window: every product is added to the weight's
 *   gradient as it is made, and to the input's in output order.
 *
 * The outputs are the same sums either way (the bias, then input channel, kernel row and kernel
 * column in order; padding adds nothing), but the gradients are rounded in different orders, so a
 * model trains to the same bits only the way it was trained: pointwise convolutions (1×1, stride 1,
 * no padding, one group) always take the matrix products, the others the direct loops unless
 * `im2col` asks for the matrix products (faster for a dense k×k convolution).
 */
export class Conv implements Node {
  readonly params: Param[];
  private readonly perGroupIn: number;
  private readonly perGroupOut: number;
  /** The matrix products (otherwise the direct loops). */
  private readonly matrix: boolean;
  /** A 1×1, stride-1, unpadded convolution of one group: its input is its own im2col matrix. */
  private readonly pointwise: boolean;
  private x!: Tensor;
  private cols = f32();
  private out = f32();
  private dx = f32();
  private acc = f64();
  private dcol = f64();

  constructor(
    readonly cin: number,
    readonly cout: number,
    readonly k: number,
    readonly stride: number,
    readonly pad: number,
    readonly groups: number,
    readonly weight: Float32Array,
    readonly bias: Float32Array | undefined,
    im2col = false,
  ) {
    this.perGroupIn = cin / groups;
    this.perGroupOut = cout / groups;
    this.pointwise = k === 1 && stride === 1 && pad === 0 && groups === 1;
    this.matrix = this.pointwise || im2col;
    if (this.matrix && groups !== 1) throw new Error("a grouped convolution runs as direct loops, not im2col matrix products");
    this.params = [param(weight, true), ...(bias ? [param(bias, false)] : [])];
  }

  outShape([s]: readonly Shape[]): Shape {
    if (s.c !== this.cin) throw new Error(`conv expects ${this.cin} channels, got ${s.c}`);
    const size = (n: number) => Math.floor((n + 2 * this.pad - this.k) / this.stride) + 1;
    return { c: this.cout, h: size(s.h), w: size(s.w) };
  }

  forward([x]: readonly Tensor[]): Tensor {
    const { h: oh, w: ow } = this.outShape([x]);
    const out = this.out.get(x.n * this.cout * oh * ow);
    if (this.matrix) this.forwardMatrix(x, oh, ow, out);
    else this.forwardDirect(x, oh, ow, out);
    this.x = x;
    return { data: out, n: x.n, c: this.cout, h: oh, w: ow };
  }

  backward(dy: Tensor, [needInput]: readonly boolean[]): (Tensor | undefined)[] {
    const x = this.x;
    const dx = needInput ? this.dx.get(x.data.length) : undefined;
    if (this.matrix) this.backwardMatrix(dy, dx);
    else this.backwardDirect(dy, dx);
    return [dx && { data: dx, n: x.n, c: x.c, h: x.h, w: x.w }];
  }

  values(): Record<string, Float32Array> {
    return { weight: this.weight.slice(), ...(this.bias ? { bias: this.bias.slice() } : {}) };
  }

  // -------------------------------------------------------------------------------------------
  // Matrix products

  /** The batch's im2col matrices, one after another (the input itself for a pointwise convolution); kept for the backward pass. */
  private columns(x: Tensor, oh: number, ow: number, fill: boolean): Float32Array {
    if (this.pointwise) return x.data;
    const K = this.cin * this.k * this.k;
    const P = oh * ow;
    const cols = this.cols.get(x.n * K * P);
    if (fill) for (let n = 0; n < x.n; n++) this.im2col(x, n, oh, ow, cols.subarray(n * K * P, (n + 1) * K * P));
    return cols;
  }

  private forwardMatrix(x: Tensor, oh: number, ow: number, out: Float32Array): void {
    const P = oh * ow;
    const K = this.cin * this.k * this.k;
    const M = this.cout;
    const cols = this.columns(x, oh, ow, true);
    for (let n = 0; n < x.n; n++) matmul(this.weight, cols.subarray(n * K * P, (n + 1) * K * P), this.bias, out.subarray(n * M * P, (n + 1) * M * P), M, K, P);
  }

  private backwardMatrix(dy: Tensor, dx: Float32Array | undefined): void {
    const x = this.x;
    const P = dy.h * dy.w;
    const K = this.cin * this.k * this.k;
    const M = this.cout;
    const cols = this.columns(x, dy.h, dy.w, false);
    const gw = this.params[0].grad;
    const gb = this.bias ? this.params[1].grad : undefined;
    const image = x.c * x.h * x.w;
    const dcol = this.dcol.get(K * P);
    const dxAcc = this.pointwise ? dcol : this.acc.get(image);
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
      matmulTransposedLeft(this.weight, g, dcol, M, K, P);
      if (!this.pointwise) this.col2im(dcol, dxAcc, x, dy.h, dy.w);
      dx.set(dxAcc, n * image);
    }
  }

  /** The im2col matrix of image `n` into `col`. */
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

  /** One image's input gradient from its im2col matrix's: each value added back where im2col took it from. */
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

  // -------------------------------------------------------------------------------------------
  // Direct loops

  private forwardDirect(x: Tensor, oh: number, ow: number, out: Float32Array): void {
    const { k, stride, pad, perGroupIn, weight: wd } = this;
    const xd = x.data;
    for (let n = 0; n < x.n; n++) {
      for (let m = 0; m < this.cout; m++) {
        const g = Math.floor(m / this.perGroupOut);
        const b = this.bias ? this.bias[m] : 0;
        for (let oy = 0; oy < oh; oy++) {
          // The kernel rows and columns that land inside the image (padded cells add nothing).
          const y0 = oy * stride - pad;
          const kyLo = Math.max(0, -y0);
          const kyHi = Math.min(k, x.h - y0);
          for (let ox = 0; ox < ow; ox++) {
            const x0 = ox * stride - pad;
            const kxLo = Math.max(0, -x0);
            const kxHi = Math.min(k, x.w - x0);
            let s = b;
            for (let ci = 0; ci < perGroupIn; ci++) {
              const plane = (n * this.cin + g * perGroupIn + ci) * x.h;
              const wBase = (m * perGroupIn + ci) * k;
              for (let ky = kyLo; ky < kyHi; ky++) {
                const xRow = (plane + y0 + ky) * x.w + x0;
                const wRow = (wBase + ky) * k;
                for (let kx = kxLo; kx < kxHi; kx++) s += wd[wRow + kx] * xd[xRow + kx];
              }
            }
            out[((n * this.cout + m) * oh + oy) * ow + ox] = s;
          }
        }
      }
    }
  }

  private backwardDirect(dy: Tensor, dx: Float32Array | undefined): void {
    const x = this.x;
    const P = dy.h * dy.w;
    const gw = this.params[0].grad;
    const gb = this.bias ? this.params[1].grad : undefined;
    if (gb) {
      for (let n = 0; n < x.n; n++) {
        for (let m = 0; m < this.cout; m++) {
          let s = 0;
          for (let p = (n * this.cout + m) * P, e = p + P; p < e; p++) s += dy.data[p];
          gb[m] += s;
        }
      }
    }
    const { k, stride, pad, perGroupIn, weight: wd } = this;
    const xd = x.data;
    const plane = x.h * x.w;
    const dxAcc = this.acc.get(this.cin * plane);
    for (let n = 0; n < x.n; n++) {
      dxAcc.fill(0);
      const image = n * this.cin * plane;
      for (let m = 0; m < this.cout; m++) {
        const g = Math.floor(m / this.perGroupOut);
        for (let oy = 0; oy < dy.h; oy++) {
          const y0 = oy * stride - pad;
          const kyLo = Math.max(0, -y0);
          const kyHi = Math.min(k, x.h - y0);
          for (let ox = 0; ox < dy.w; ox++) {
            const x0 = ox * stride - pad;
            const kxLo = Math.max(0, -x0);
            const kxHi = Math.min(k, x.w - x0);
            const d = dy.data[((n * this.cout + m) * dy.h + oy) * dy.w + ox];
            for (let ci = 0; ci < perGroupIn; ci++) {
              const c = g * perGroupIn + ci;
              const wBase = (m * perGroupIn + ci) * k;
              for (let ky = kyLo; ky < kyHi; ky++) {
                const at = c * plane + (y0 + ky) * x.w + x0;
                const wRow = (wBase + ky) * k;
                for (let kx = kxLo; kx < kxHi; kx++) {
                  gw[wRow + kx] += d * xd[image + at + kx];
                  dxAcc[at + kx] += wd[wRow + kx] * d;
                }
              }
            }
          }
        }
      }
      if (dx) dx.set(dxAcc, image);
    }
  }
}
