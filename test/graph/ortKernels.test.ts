import { expect } from "chai";
import * as ort from "onnxruntime-node";
import { DataType, attribute, encodeModel, int32Tensor, int64Tensor, int8Tensor, node, type onnx, valueInfo } from "../../core/onnx/onnxProto";
import { Rng } from "../../core/rng";

/**
 * Every onnxruntime kernel the graph form (core/graph/onnxGraph.ts) builds on, checked on
 * its own against an independent computation (BigInt, or plain loops written here), before
 * the differential test checks whole programs: the int64 arithmetic with the broadcasting
 * shapes the graph uses (per-channel [M,1,1] and [n] operands, tensors long enough for the
 * vectorised paths), ConvInteger and MatMulInteger on int8 × int8 with the saturation-prone
 * extremes and a fan-in at the accumulator bound, MaxPool on int8 with padding, ReduceSum on
 * int32, Gather on an int8 table.
 */

type Feed = { name: string; type: "int8" | "int32" | "int64"; dims: number[]; data: Int8Array | Int32Array | BigInt64Array };
const ELEM = { int8: DataType.INT8, int32: DataType.INT32, int64: DataType.INT64 } as const;

async function run(nodes: onnx.INodeProto[], feeds: Feed[], outType: number, initializer: onnx.ITensorProto[] = []): Promise<ArrayLike<number | bigint | boolean>> {
  const bytes = encodeModel(
    {
      name: "kernel",
      node: nodes,
      initializer,
      input: feeds.map((f) => valueInfo(f.name, ELEM[f.type], f.dims)),
      output: [{ name: "y", type: { tensorType: { elemType: outType } } }],
    },
    "refute-test",
  );
  const session = await ort.InferenceSession.create(bytes, { graphOptimizationLevel: "all" });
  try {
    const result = await session.run(Object.fromEntries(feeds.map((f) => [f.name, new ort.Tensor(f.type, f.data, f.dims)])));
    return result.y.data as ArrayLike<number | bigint | boolean>;
  } finally {
    await session.release();
  }
}

function random64(rng: Rng, bits: number, positive = false): bigint {
  const v = ((BigInt(rng.uint32()) << 32n) | BigInt(rng.uint32())) & ((1n << BigInt(bits)) - 1n);
  if (positive) return v === 0n ? 1n : v;
  return rng.float() < 0.5 ? -v : v;
}

const sizeOf = (dims: readonly number[]) => dims.reduce((a, b) => a * b, 1);

/** Index into an operand of `shape` (same rank as `out`, 1 where broadcast) for flat output index i. */
function broadcastIndex(i: number, out: readonly number[], shape: readonly number[]): number {
  let j = 0;
  let stride = 1;
  let rest = i;
  const coords = new Array<number>(out.length);
  for (let a = out.length - 1; a >= 0; a--) {
    coords[a] = rest % out[a];
    rest = Math.floor(rest / out[a]);
  }
  for (let a = shape.length - 1; a >= 0; a--) {
    const off = out.length - shape.length;
    j += (shape[a] === 1 ? 0 : coords[a + off]) * stride;
    stride *= shape[a];
  }
  return j;
}

describe("onnxruntime kernels under the graph form", () => {
  describe("int64 arithmetic with the graph's broadcasting shapes, against BigInt", () => {
    const floorMod = (a: bigint, b: bigint) => ((a % b) + b) % b;
    const ops: [string, (a: bigint, b: bigint) => bigint | boolean, number, number, { positiveB?: boolean; bool?: boolean; fmod?: boolean }][] = [
      ["Mul", (a, b) => a * b, 31, 31, { positiveB: true }], // Cast(acc) · multiplier
      ["Mul", (a, b) => a * b, 8, 8, {}], // a · b of the Mul op
      ["Add", (a, b) => a + b, 62, 61, { positiveB: true }], // + 2^(s−1)
      ["Add", (a, b) => a + b, 38, 38, {}], // the residual Add of two requantised operands
      ["Mod", floorMod, 62, 62, { positiveB: true, fmod: true }],
      ["Sub", (a, b) => a - b, 62, 62, {}],
      ["Div", (a, b) => a / b, 62, 62, { positiveB: true }],
      ["Less", (a, b) => a < b, 62, 8, { bool: true }],
      ["Greater", (a, b) => a > b, 62, 8, { bool: true }],
    ];
    // [left shape, right shape]: per-channel conv constants, per-output dense constants, scalars, the SE broadcast, same shape.
    const shapes: [number[], number[]][] = [
      [[2, 3, 17, 14], [3, 1, 1]],
      [[1, 8, 239, 1], [8, 1, 1]],
      [[3, 1000], [1000]],
      [[5, 4096], []],
      [[2, 6, 9, 9], [2, 6, 1, 1]],
      [[2, 6, 1, 1], [2, 6, 9, 9]],
      [[4, 1003], [4, 1003]],
    ];
    for (const [op, f, bitsA, bitsB, opts] of ops) {
      it(`${op} (|a| < 2^${bitsA}, |b| < 2^${bitsB})`, async () => {
        const rng = new Rng(0x64 + bitsA);
        const wrong: string[] = [];
        for (const [sa, sb] of shapes) {
          const out = sa.length >= sb.length ? sa.map((d, a) => Math.max(d, sb[a - (sa.length - sb.length)] ?? 1)) : sb;
          const a = BigInt64Array.from({ length: sizeOf(sa) }, () => random64(rng, bitsA));
          const b = BigInt64Array.from({ length: sizeOf(sb) }, () => random64(rng, bitsB, opts.positiveB));
          const y = await run(
            [node(op, "op", ["a", "b"], ["y"], opts.fmod ? [attribute("fmod", 0)] : [])],
            [
              { name: "a", type: "int64", dims: sa, data: a },
              { name: "b", type: "int64", dims: sb, data: b },
            ],
            opts.bool ? DataType.BOOL : DataType.INT64,
          );
          expect(y.length).to.equal(sizeOf(out));
          for (let i = 0; i < y.length; i++) {
            const want = f(a[broadcastIndex(i, out, sa)], b[broadcastIndex(i, out, sb)]);
            const got = typeof want === "boolean" ? Boolean(y[i]) : BigInt(y[i] as bigint);
            if (got !== want) wrong.push(`[${sa}] ${op} [${sb}] at ${i}: ${got} ≠ ${want}`);
          }
        }
        expect(wrong.slice(0, 5)).to.deep.equal([]);
      });
    }

    it("Where picks int64 scalars over long tensors (the clamp)", async () => {
      const rng = new Rng(0x77);
      for (const n of [1, 17, 239, 4096]) {
        const q = BigInt64Array.from({ length: n }, () => random64(rng, 62));
        const lo = int64Tensor("lo", [], BigInt64Array.of(-7n));
        const hi = int64Tensor("hi", [], BigInt64Array.of(100n));
        const y = await run(
          [node("Less", "l", ["q", "lo"], ["b"]), node("Where", "w", ["b", "lo", "q"], ["r"]), node("Greater", "g", ["r", "hi"], ["c"]), node("Where", "w2", ["c", "hi", "r"], ["y"])],
          [{ name: "q", type: "int64", dims: [n], data: q }],
          DataType.INT64,
          [lo, hi],
        );
        q.forEach((v, i) => expect(BigInt(y[i] as bigint), `n ${n} i ${i}`).to.equal(v < -7n ? -7n : v > 100n ? 100n : v));
      }
    });
  });

  describe("ConvInteger on int8 × int8, against plain loops", () => {
    /** The convolution written out: padded cells are 0. */
    function conv(x: Int8Array, [B, C, H, W]: number[], w: Int8Array, [M, Cg, kH, kW]: number[], g: number, s: number[], p: number[], d: number[]): { y: number[]; dims: number[] } {
      const OH = Math.floor((H + p[0] + p[2] - d[0] * (kH - 1) - 1) / s[0]) + 1;
      const OW = Math.floor((W + p[1] + p[3] - d[1] * (kW - 1) - 1) / s[1]) + 1;
      const y: number[] = [];
      for (let b = 0; b < B; b++)
        for (let m = 0; m < M; m++)
          for (let oy = 0; oy < OH; oy++)
            for (let ox = 0; ox < OW; ox++) {
              let acc = 0;
              for (let c = 0; c < Cg; c++)
                for (let ky = 0; ky < kH; ky++)
                  for (let kx = 0; kx < kW; kx++) {
                    const iy = oy * s[0] - p[0] + ky * d[0];
                    const ix = ox * s[1] - p[1] + kx * d[1];
                    if (iy < 0 || iy >= H || ix < 0 || ix >= W) continue;
                    const ci = Math.floor(m / (M / g)) * Cg + c;
                    acc += x[((b * C + ci) * H + iy) * W + ix] * w[((m * Cg + c) * kH + ky) * kW + kx];
                  }
              y.push(acc);
            }
      return { y, dims: [B, M, OH, OW] };
    }

    const cases: { label: string; x: number[]; w: number[]; g: number; s: number[]; p: number[]; d: number[] }[] = [
      { label: "3×3, pads 1", x: [2, 3, 7, 6], w: [4, 3, 3, 3], g: 1, s: [1, 1], p: [1, 1, 1, 1], d: [1, 1] },
      { label: "stride 3 > kernel 2, asymmetric pads", x: [1, 2, 9, 8], w: [3, 2, 2, 2], g: 1, s: [3, 3], p: [0, 2, 1, 0], d: [1, 1] },
      { label: "dilation 2, stride (2, 1)", x: [2, 2, 9, 9], w: [2, 2, 3, 2], g: 1, s: [2, 1], p: [2, 1, 0, 1], d: [2, 2] },
      { label: "groups 2", x: [1, 4, 6, 6], w: [6, 2, 3, 3], g: 2, s: [1, 2], p: [1, 1, 1, 1], d: [1, 1] },
      { label: "depthwise (groups = channels), channel multiplier 2", x: [2, 5, 7, 7], w: [10, 1, 3, 3], g: 5, s: [1, 1], p: [1, 1, 1, 1], d: [1, 1] },
      { label: "pads larger than the kernel", x: [1, 2, 3, 3], w: [2, 2, 1, 1], g: 1, s: [1, 1], p: [3, 2, 3, 2], d: [1, 1] },
      { label: "1×1 on a 1×1 image, many channels", x: [3, 64, 1, 1], w: [16, 64, 1, 1], g: 1, s: [1, 1], p: [0, 0, 0, 0], d: [1, 1] },
    ];
    for (const c of cases) {
      it(c.label, async () => {
        const rng = new Rng(0xc0 + c.x[1]);
        for (const fill of ["random", "-128", "extremes"] as const) {
          const draw = () => (fill === "random" ? rng.int(-128, 127) : fill === "-128" ? -128 : rng.float() < 0.5 ? -128 : 127);
          const x = Int8Array.from({ length: sizeOf(c.x) }, draw);
          const w = Int8Array.from({ length: sizeOf(c.w) }, draw);
          const want = conv(x, c.x, w, c.w, c.g, c.s, c.p, c.d);
          const y = await run(
            [node("ConvInteger", "conv", ["x", "w"], ["y"], [attribute("group", c.g), attribute("kernel_shape", c.w.slice(2)), attribute("strides", c.s), attribute("pads", c.p), attribute("dilations", c.d)])],
            [{ name: "x", type: "int8", dims: c.x, data: x }],
            DataType.INT32,
            [int8Tensor("w", c.w, w)],
          );
          expect(Array.from(y as Int32Array), `${c.label}, ${fill}`).to.deep.equal(want.y);
        }
      });
    }

    it("sums a fan-in of 131,008 products of −128 · −128 (2,146,435,072) plus a bias to exactly 2^31 − 1", async () => {
      const dims = [1, 2047, 8, 8];
      const x = new Int8Array(sizeOf(dims)).fill(-128);
      const y = await run(
        [node("ConvInteger", "conv", ["x", "w"], ["p"]), node("Add", "bias", ["p", "b"], ["y"])],
        [{ name: "x", type: "int8", dims, data: x }],
        DataType.INT32,
        [int8Tensor("w", dims, new Int8Array(sizeOf(dims)).fill(-128)), int32Tensor("b", [1, 1, 1], Int32Array.of(2 ** 31 - 1 - 131008 * 16384))],
      );
      expect(Array.from(y as Int32Array)).to.deep.equal([2 ** 31 - 1]);
    });

    it("MatMulInteger: the same fan-in, with mixed-sign extremes", async () => {
      const rng = new Rng(0x33);
      const K = 131071;
      const x = Int8Array.from({ length: 2 * K }, (_, i) => (i < K ? -128 : rng.float() < 0.5 ? -128 : 127));
      const w = Int8Array.from({ length: K * 2 }, (_, i) => (i % 2 === 0 ? -128 : rng.float() < 0.5 ? -128 : 127));
      const y = await run([node("MatMulInteger", "mm", ["x", "w"], ["y"])], [{ name: "x", type: "int8", dims: [2, K], data: x }], DataType.INT32, [int8Tensor("w", [K, 2], w)]);
      const want = [0, 1].flatMap((r) => [0, 1].map((j) => Array.from({ length: K }, (_, k) => x[r * K + k] * w[k * 2 + j]).reduce((a, b) => a + b, 0)));
      expect(Array.from(y as Int32Array)).to.deep.equal(want);
      expect(want[0]).to.equal(K * 16384);
    });
  });

  it("MaxPool on int8: padded cells never win, with dilation and strides, on all-negative inputs", async () => {
    const rng = new Rng(0x9a);
    const dims = [2, 3, 7, 6];
    for (const [k, s, p, d] of [
      [[3, 3], [1, 1], [2, 2, 2, 2], [1, 1]],
      [[2, 3], [3, 2], [1, 0, 1, 2], [2, 1]],
      [[1, 1], [2, 2], [0, 0, 0, 0], [1, 1]],
    ]) {
      for (const negative of [true, false]) {
        const x = Int8Array.from({ length: sizeOf(dims) }, () => (negative ? rng.int(-128, -100) : rng.int(-128, 127)));
        const y = await run(
          [node("MaxPool", "pool", ["x"], ["y"], [attribute("kernel_shape", k), attribute("strides", s), attribute("pads", p), attribute("dilations", d)])],
          [{ name: "x", type: "int8", dims, data: x }],
          DataType.INT8,
        );
        const [B, C, H, W] = dims;
        const OH = Math.floor((H + p[0] + p[2] - d[0] * (k[0] - 1) - 1) / s[0]) + 1;
        const OW = Math.floor((W + p[1] + p[3] - d[1] * (k[1] - 1) - 1) / s[1]) + 1;
        const want: number[] = [];
        for (let bc = 0; bc < B * C; bc++)
          for (let oy = 0; oy < OH; oy++)
            for (let ox = 0; ox < OW; ox++) {
              let m = -Infinity;
              for (let ky = 0; ky < k[0]; ky++)
                for (let kx = 0; kx < k[1]; kx++) {
                  const iy = oy * s[0] - p[0] + ky * d[0];
                  const ix = ox * s[1] - p[1] + kx * d[1];
                  if (iy >= 0 && iy < H && ix >= 0 && ix < W) m = Math.max(m, x[(bc * H + iy) * W + ix]);
                }
              want.push(m);
            }
        expect(Array.from(y as Int8Array), `kernel ${k} strides ${s} pads ${p} dilations ${d}`).to.deep.equal(want);
      }
    }
  });

  it("ReduceSum on int32 over H, W: planes of 65,536 extremes", async () => {
    const dims = [2, 2, 256, 256];
    const x = new Int8Array(sizeOf(dims));
    x.subarray(0, 65536).fill(127);
    x.subarray(65536, 131072).fill(-128);
    const rng = new Rng(0x5);
    for (let i = 131072; i < x.length; i++) x[i] = rng.int(-128, 127);
    const y = await run(
      [node("Cast", "c", ["x"], ["x32"], [attribute("to", DataType.INT32)]), node("ReduceSum", "r", ["x32", "axes"], ["y"], [attribute("keepdims", 1)])],
      [{ name: "x", type: "int8", dims, data: x }],
      DataType.INT32,
      [int64Tensor("axes", [2], BigInt64Array.of(2n, 3n))],
    );
    const want = [0, 1, 2, 3].map((c) => x.subarray(c * 65536, (c + 1) * 65536).reduce((a, b) => a + b, 0));
    expect(Array.from(y as Int32Array)).to.deep.equal(want);
  });

  it("Gather on an int8 table with int32 indices x + 128, every x, on a long tensor", async () => {
    const rng = new Rng(0x7a);
    const table = rng.int8Array(256);
    const n = 4096;
    const x = Int8Array.from({ length: n }, (_, i) => (i < 256 ? i - 128 : rng.int(-128, 127)));
    const y = await run(
      [node("Cast", "c", ["x"], ["x32"], [attribute("to", DataType.INT32)]), node("Add", "a", ["x32", "off"], ["i"]), node("Gather", "g", ["t", "i"], ["y"], [attribute("axis", 0)])],
      [{ name: "x", type: "int8", dims: [1, n], data: x }],
      DataType.INT8,
      [int8Tensor("t", [256], table), int32Tensor("off", [], Int32Array.of(128))],
    );
    expect(Array.from(y as Int8Array)).to.deep.equal(Array.from(x, (v) => table[v + 128]));
  });
});
