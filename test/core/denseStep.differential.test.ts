import { readFileSync } from "node:fs";
import path from "node:path";
import { expect } from "chai";
import { ethers } from "hardhat";
import type { DenseStepHarness } from "../../typechain-types";
import { bytesEqual } from "../../core/bytes";
import { activationTree, commitLayer, type LayerCommitment } from "../../core/commitments";
import {
  type DenseDescriptor,
  accumulate,
  activationLeafCount,
  biasAt,
  biasWitness,
  chunkCount,
  denseDescriptor,
  elementAt,
  isInt32,
  output,
  paddingIsZero,
  partialSums,
  requantiseChecked,
  stepWitness,
  validInChunk,
  verifyActivationLeaf,
  verifyBiasLeaf,
  verifyWeightLeaf,
  weightLeafIndex,
} from "../../core/denseStep";
import { INT32_MAX, INT32_MIN, MAX_ABS_PRODUCT, MULTIPLIER_MAX, SHIFT_MAX, SHIFT_MIN, clamp, requantise } from "../../core/intSemantics";
import { initKeccak } from "../../core/keccak";
import { MerkleTree, WORD_BYTES, treeDepth } from "../../core/merkle";
import { type DenseLayer, type IntegerModel, OP_DENSE, validateModel } from "../../core/model";
import { readIntegerModel } from "../../core/onnx/integerGraph";
import { denseAccumulator, denseForward } from "../../core/referenceExecutor";
import { Rng as SeededRng } from "../../core/rng";
import { syntheticModel } from "../../scripts/lib/syntheticModel";
import { chunks, flipBit, hex } from "../helpers/bytes";

/**
 * Differential tests: contracts/lib/LibDenseStep.sol (through contracts/test/DenseStepHarness.sol)
 * against core/denseStep.ts, core/intSemantics.ts, core/commitments.ts and the reference executor, on
 * the same seeded inputs (docs/integer-semantics.md §7). Set DENSE_STEP_TEST_SEED to replay another seed.
 */

const SEED = Number(process.env.DENSE_STEP_TEST_SEED ?? 0xd5e5_7e9) >>> 0;
const MODEL_DIR = path.join(__dirname, "..", "..", "models", "mnist-mlp");

/** The project's seeded generator, with each test mixing its own label into the seed. */
class Rng {
  private readonly rng: SeededRng;

  constructor(label: string) {
    let h = 0x811c9dc5; // FNV-1a of the label
    for (let i = 0; i < label.length; i++) h = Math.imul(h ^ label.charCodeAt(i), 0x01000193);
    this.rng = new SeededRng((SEED ^ h) >>> 0);
  }

  /** Uniform integer in [lo, hi], both included. */
  int(lo: number, hi: number): number {
    return this.rng.int(lo, hi);
  }

  float(): number {
    return this.rng.float();
  }

  pick<T>(items: readonly T[]): T {
    return items[this.int(0, items.length - 1)];
  }

  bytes(n: number): Uint8Array {
    const out = new Uint8Array(n);
    for (let i = 0; i < n; i++) out[i] = this.rng.uint32() & 0xff;
    return out;
  }

  /** int8 values, a third of them drawn from the extremes −128, 127, −1, 0, 1. */
  int8s(n: number): Int8Array {
    const out = new Int8Array(n);
    for (let i = 0; i < n; i++) out[i] = this.float() < 0.33 ? this.pick([-128, 127, -1, 0, 1]) : this.int(-128, 127);
    return out;
  }

  int32(): number {
    return this.int(INT32_MIN, INT32_MAX);
  }

  generator(): SeededRng {
    return this.rng;
  }
}




function fill(byte: number): Uint8Array {
  return new Uint8Array(WORD_BYTES).fill(byte);
}

/** The descriptor as the harness's ABI tuple. */
function abiDescriptor(d: DenseDescriptor) {
  return { ...d, weightRoot: hex(d.weightRoot), biasRoot: hex(d.biasRoot) };
}

/** A descriptor with only the requantisation fields set, for the output step. */
function requantDescriptor(multiplier: number | bigint, shift: number | bigint, clampLo: number, clampHi: number) {
  return { nIn: 0, nOut: 0, multiplier, shift, clampLo, clampHi, weightRoot: ethers.ZeroHash, biasRoot: ethers.ZeroHash };
}

let mnistCache: { model: IntegerModel; commitments: LayerCommitment[] } | undefined;

/** The reference MNIST model (models/mnist-mlp/integer.onnx) and its layer commitments, read once. */
function mnistModel(): { model: IntegerModel; commitments: LayerCommitment[] } {
  if (mnistCache === undefined) {
    const model = readIntegerModel(readFileSync(path.join(MODEL_DIR, "integer.onnx")));
    mnistCache = { model, commitments: model.layers.map(commitLayer) };
  }
  return mnistCache;
}

interface Fixture {
  readonly label: string;
  readonly layer: DenseLayer;
  readonly commitment: LayerCommitment;
  readonly d: DenseDescriptor;
  /** Inputs: all −128, all 127, alternating, then random ones; each with its activation tree. */
  readonly inputs: readonly { readonly x: Int8Array; readonly tree: MerkleTree }[];
}

/**
 * A layer whose accumulators reach the int32 bound: biases at ±(2^31 − 1 − nIn·16384), rows of all −128,
 * all 127, alternating extremes and random extremes. With the all −128 input, row 0 gives exactly 2^31 − 1.
 */
function boundLayer(rng: Rng, nIn: number, nOut: number): DenseLayer {
  const room = INT32_MAX - nIn * MAX_ABS_PRODUCT;
  const weights = new Int8Array(nIn * nOut);
  const bias = new Int32Array(nOut);
  for (let j = 0; j < nOut; j++) {
    for (let i = 0; i < nIn; i++) {
      const kind = j % 4;
      weights[j * nIn + i] = kind === 0 ? -128 : kind === 1 ? 127 : kind === 2 ? (i % 2 === 0 ? -128 : 127) : rng.pick([-128, 127, -128, 127, 0, rng.int(-128, 127)]);
    }
    bias[j] = j % 3 === 0 ? room : j % 3 === 1 ? -room : rng.int(-room, room);
  }
  const lo = rng.pick([-128, 0, rng.int(-128, 127)]);
  return {
    op: "dense",
    nIn,
    nOut,
    weights,
    bias,
    multiplier: rng.pick([MULTIPLIER_MAX, 1, rng.int(0, MULTIPLIER_MAX)]),
    shift: rng.int(SHIFT_MIN, SHIFT_MAX),
    clampLo: lo,
    clampHi: rng.int(lo, 127),
  };
}

function fixture(rng: Rng, label: string, layer: DenseLayer, randomInputs: number): Fixture {
  validateModel({ inputSize: layer.nIn, layers: [layer] });
  const commitment = commitLayer(layer);
  const xs: Int8Array[] = [
    new Int8Array(layer.nIn).fill(-128),
    new Int8Array(layer.nIn).fill(127),
    Int8Array.from({ length: layer.nIn }, (_, i) => (i % 2 === 0 ? -128 : 127)),
  ];
  for (let r = 0; r < randomInputs; r++) xs.push(rng.int8s(layer.nIn));
  return { label, layer, commitment, d: denseDescriptor(layer, commitment), inputs: xs.map((x) => ({ x, tree: activationTree(x) })) };
}

/** Seeded layers of varied shape: fan-ins below, at and past multiples of 32, bias leaf counts around 8. */
function makeFixtures(): Fixture[] {
  const rng = new Rng("fixtures");
  const fanIns = [1, 2, 5, 17, 31, 32, 33, 63, 64, 65, 96, 100, 127, 128, 129, 255, 256, 257, 784];
  for (let i = 0; i < 8; i++) fanIns.push(rng.int(1, 400));
  const nOuts = [1, 3, 7, 8, 9, 16, 17, 24];
  const out: Fixture[] = [];
  fanIns.forEach((nIn, i) => {
    const nOut = nIn === 784 ? 16 : i < nOuts.length ? nOuts[i] : rng.int(1, 20);
    const style = i % 2 === 0 ? "scaled" : "extreme";
    const layer = syntheticModel(rng.generator(), { sizes: [nIn, nOut], style }).layers[0];
    out.push(fixture(rng, `${style} ${nIn}x${nOut}`, layer, 2));
  });
  for (const nIn of [1, 31, 32, 33, 70, 129, 784]) out.push(fixture(rng, `bound ${nIn}x9`, boundLayer(rng, nIn, 9), 1));
  return out;
}

describe("LibDenseStep vs core/denseStep.ts (differential)", function () {
  let harness: DenseStepHarness;
  let fixtures: Fixture[];

  before(async function () {
    await initKeccak();
    harness = await (await ethers.getContractFactory("DenseStepHarness")).deploy();
    await harness.waitForDeployment();
    fixtures = makeFixtures();
    console.log(`      dense step differential seed: ${SEED} (DENSE_STEP_TEST_SEED=${SEED} replays it), ${fixtures.length} layers`);
  });

  describe("leaves", function () {
    it("elementAt reads byte t as int8, for every t of random and extreme leaves, and rejects t ≥ 32", async function () {
      const rng = new Rng("elements");
      const leaves = [fill(0x80), fill(0x7f), fill(0xff), fill(0), fill(1)];
      for (let i = 0; i < 150; i++) leaves.push(rng.bytes(32));
      const got = await harness.elementsBatch(leaves.map(hex));
      const problems: string[] = [];
      leaves.forEach((leaf, i) => {
        const bytes = new Int8Array(leaf.buffer, leaf.byteOffset, 32);
        const sol = got[i].map(Number);
        for (let t = 0; t < 32; t++) {
          if (elementAt(leaf, t) !== bytes[t]) problems.push(`leaf ${i} byte ${t}: TS ${elementAt(leaf, t)}, int8 ${bytes[t]}`);
          if (sol[t] !== bytes[t]) problems.push(`leaf ${i} byte ${t}: Solidity ${sol[t]}, int8 ${bytes[t]}`);
        }
      });
      expect(problems.slice(0, 10), `${problems.length} elements disagree`).to.deep.equal([]);
      for (const t of [32n, 33n, 1n << 255n, ethers.MaxUint256]) {
        await expect(harness.elementAt(hex(leaves[5]), t)).to.be.revertedWithCustomError(harness, "LibDenseStepElementOutOfRange").withArgs(t);
      }
      expect(() => elementAt(leaves[5], 32)).to.throw(RangeError);
      expect(() => elementAt(leaves[5], -1)).to.throw(RangeError);
      console.log(`      ${leaves.length * 32} elements`);
    });

    it("chunkCount and validInChunk agree for every chunk of fan-ins 1..320 and large ones, and reject k ≥ R", async function () {
      const nIns: number[] = [];
      const ks: number[] = [];
      for (let nIn = 1; nIn <= 320; nIn++) {
        for (let k = 0; k < chunkCount(nIn); k++) nIns.push(nIn), ks.push(k);
      }
      for (const nIn of [784, 131_071, 2 ** 40 + 5, Number.MAX_SAFE_INTEGER]) nIns.push(nIn, nIn, nIn), ks.push(0, chunkCount(nIn) - 2, chunkCount(nIn) - 1);
      for (const batch of chunks(nIns.map((n, i) => [n, ks[i]] as const), 600)) {
        const [counts, valids] = await harness.chunksBatch(
          batch.map(([n]) => n),
          batch.map(([, k]) => k),
        );
        const problems: string[] = [];
        const [solCounts, solValids] = [counts.map(Number), valids.map(Number)];
        batch.forEach(([n, k], i) => {
          const expected = Math.min(32, n - 32 * k);
          const [c, v] = [chunkCount(n), validInChunk(n, k)];
          if (solCounts[i] !== Math.ceil(n / 32) || c !== Math.ceil(n / 32)) problems.push(`chunkCount(${n}): Solidity ${solCounts[i]}, TS ${c}`);
          if (solValids[i] !== expected || v !== expected) problems.push(`validInChunk(${n}, ${k}): Solidity ${solValids[i]}, TS ${v}, expected ${expected}`);
        });
        expect(problems.slice(0, 10), `${problems.length} pairs disagree`).to.deep.equal([]);
      }
      expect(await harness.chunkCount(0)).to.equal(0n);
      expect(chunkCount(0)).to.equal(0);
      expect(await harness.chunkCount(ethers.MaxUint256)).to.equal(1n << 251n);
      for (const [nIn, k] of [[1, 1], [32, 1], [33, 2], [784, 25], [0, 0]] as const) {
        await expect(harness.validInChunk(nIn, k)).to.be.revertedWithCustomError(harness, "LibDenseStepChunkOutOfRange").withArgs(nIn, k);
        expect(() => validInChunk(nIn, k)).to.throw(RangeError);
      }
      await expect(harness.validInChunk(64, ethers.MaxUint256)).to.be.revertedWithCustomError(harness, "LibDenseStepChunkOutOfRange");
      console.log(`      ${nIns.length} (fan-in, chunk) pairs`);
    });

    it("isInt32 holds exactly on −2^31 … 2^31 − 1", async function () {
      const values = [0n, 1n, -1n, 2n ** 31n - 1n, 2n ** 31n, -(2n ** 31n), -(2n ** 31n) - 1n, 2n ** 32n, 2n ** 255n - 1n, -(2n ** 255n), 2n ** 63n, -(2n ** 63n)];
      const got = await harness.isInt32Batch(values);
      values.forEach((v, i) => {
        const expected = v >= -(2n ** 31n) && v < 2n ** 31n;
        expect(got[i], `Solidity isInt32(${v})`).to.equal(expected);
        expect(isInt32(v), `TS isInt32(${v})`).to.equal(expected);
        if (v >= BigInt(Number.MIN_SAFE_INTEGER) && v <= BigInt(Number.MAX_SAFE_INTEGER)) expect(isInt32(Number(v))).to.equal(expected);
      });
      expect(isInt32(0.5)).to.equal(false);
    });

    it("biasAt reads every bias of every layer (negative and extreme ones too), with only j mod 8 used", async function () {
      const rng = new Rng("biases");
      const extremes = Int32Array.of(INT32_MIN, INT32_MAX, -1, 0, 1, 0x01020304, -0x01020304, -2, 0x7f, -0x80, 0x80, 0xff, -0x100, 0x10000, INT32_MIN + 1, INT32_MAX - 1, -12345678);
      const crafted: DenseLayer = { ...fixtures[0].layer, nOut: extremes.length, bias: extremes, weights: new Int8Array(fixtures[0].layer.nIn * extremes.length) };
      const cases: { leaf: Uint8Array; j: bigint; expected: number; label: string }[] = [];
      const tsProblems: string[] = [];
      for (const { label, layer, commitment } of [...fixtures.map((f) => ({ label: f.label, layer: f.layer, commitment: f.commitment })), { label: "extremes", layer: crafted, commitment: commitLayer(crafted) }]) {
        for (let j = 0; j < layer.nOut; j++) {
          const leaf = commitment.biases.leaf(j >> 3);
          cases.push({ leaf, j: BigInt(j), expected: layer.bias[j], label: `${label} bias ${j}` });
          if (biasAt(leaf, j) !== layer.bias[j] || biasWitness(commitment, j).bias !== layer.bias[j]) tsProblems.push(`${label} bias ${j}: TS ${biasAt(leaf, j)}`);
          // The same slot named by j + 8m, and by a j too large for a JS number (Solidity only).
          const m = rng.int(1, 1000);
          if (biasAt(leaf, j + 8 * m) !== layer.bias[j]) tsProblems.push(`${label} bias ${j} + 8·${m}: TS ${biasAt(leaf, j + 8 * m)}`);
          cases.push({ leaf, j: BigInt(j + 8 * m), expected: layer.bias[j], label: `${label} bias ${j} + 8·${m}` });
          cases.push({ leaf, j: (BigInt(rng.int(1, 2 ** 30)) << 200n) + BigInt(j % 8), expected: layer.bias[j], label: `${label} bias ${j % 8} + 2^200·m` });
        }
      }
      for (const batch of chunks(cases, 800)) {
        const got = await harness.biasAtBatch(
          batch.map((c) => hex(c.leaf)),
          batch.map((c) => c.j),
        );
        const sol = got.map(Number);
        const problems = batch.filter((c, i) => sol[i] !== c.expected).map((c) => `${c.label}: Solidity ${sol[batch.indexOf(c)]}, expected ${c.expected}`);
        expect(problems.slice(0, 10), `${problems.length} bias reads disagree`).to.deep.equal([]);
      }
      expect(tsProblems.slice(0, 10), `${tsProblems.length} TS bias reads disagree`).to.deep.equal([]);
      expect(cases.filter((c) => c.expected < 0).length).to.be.greaterThan(100);
      console.log(`      ${cases.length} bias reads (${cases.filter((c) => c.expected < 0).length} negative)`);
    });
  });

  describe("accumulation step", function () {
    interface StepCase {
      label: string;
      partialSum: number;
      weightLeaf: Uint8Array;
      inputLeaf: Uint8Array;
      valid: number;
      /** The sum from clean (zero-padded) leaves, when it is known independently. */
      expected?: number;
    }

    async function checkSteps(cases: StepCase[]): Promise<void> {
      const problems: string[] = [];
      for (const batch of chunks(cases, 500)) {
        const got = await harness.accumulateBatch(batch.map((c) => ({ partialSum: c.partialSum, weightLeaf: hex(c.weightLeaf), inputLeaf: hex(c.inputLeaf), valid: c.valid })));
        batch.forEach((c, i) => {
          const ts = accumulate(c.partialSum, c.weightLeaf, c.inputLeaf, c.valid);
          if (got[i] !== BigInt(ts)) problems.push(`${c.label}: Solidity ${got[i]}, TS ${ts}`);
          if (c.expected !== undefined && ts !== c.expected) problems.push(`${c.label}: TS ${ts}, expected ${c.expected}`);
        });
      }
      expect(problems.slice(0, 10), `${problems.length} of ${cases.length} steps disagree`).to.deep.equal([]);
    }

    it("agrees on 1,500 seeded random steps of the layers (honest, random and near-bound partial sums, garbage padding)", async function () {
      const rng = new Rng("random steps");
      const cases: StepCase[] = [];
      let padded = 0;
      for (let n = 0; n < 1500; n++) {
        const f = rng.pick(fixtures);
        const { layer, commitment } = f;
        const input = rng.pick(f.inputs);
        const j = rng.int(0, layer.nOut - 1);
        const R = chunkCount(layer.nIn);
        const k = rng.float() < 0.3 ? R - 1 : rng.int(0, R - 1);
        const valid = validInChunk(layer.nIn, k);
        const sums = partialSums(layer, input.x, j);
        const kind = rng.int(0, 4);
        const partialSum =
          kind === 0 ? sums[k] : kind === 1 ? rng.int32() : kind === 2 ? INT32_MAX - rng.int(0, 600_000) : kind === 3 ? INT32_MIN + rng.int(0, 600_000) : rng.pick([INT32_MAX, INT32_MIN, 0]);
        const weightLeaf = commitment.weights.leaf(weightLeafIndex(layer.nIn, j, k));
        const inputLeaf = input.tree.leaf(k);
        const expected = partialSum + (sums[k + 1] - sums[k]);
        const label = `${f.label} row ${j} chunk ${k} (valid ${valid}) from ${partialSum}`;
        cases.push({ label, partialSum, weightLeaf, inputLeaf, valid, expected });
        if (valid < 32) {
          // Garbage in both leaves' padding must change nothing.
          const w = Uint8Array.from(weightLeaf);
          const x = Uint8Array.from(inputLeaf);
          for (let t = valid; t < 32; t++) (w[t] = rng.int(1, 255)), (x[t] = rng.int(1, 255));
          cases.push({ label: `${label}, garbage padding`, partialSum, weightLeaf: w, inputLeaf: x, valid, expected });
          padded++;
        }
      }
      await checkSteps(cases);
      console.log(`      ${cases.length} steps (${padded} of them with garbage padding)`);
    });

    it("agrees on random leaves with every valid count 0..32 and on the extreme leaves", async function () {
      const rng = new Rng("random leaves");
      const cases: StepCase[] = [];
      for (let valid = 0; valid <= 32; valid++) {
        for (let n = 0; n < 15; n++) {
          cases.push({ label: `random leaves valid ${valid} #${n}`, partialSum: rng.pick([rng.int32(), INT32_MAX, INT32_MIN, 0]), weightLeaf: rng.bytes(32), inputLeaf: rng.bytes(32), valid });
        }
      }
      const extremes = [fill(0x80), fill(0x7f), fill(0xff), fill(0x01), fill(0)];
      for (const w of extremes) {
        for (const x of extremes) {
          for (const valid of [0, 1, 31, 32]) {
            for (const partialSum of [INT32_MAX, INT32_MIN, 0, -1]) {
              const expected = partialSum + valid * elementAt(w, 0) * elementAt(x, 0);
              cases.push({ label: `extreme ${w[0]}·${x[0]} valid ${valid} from ${partialSum}`, partialSum, weightLeaf: w, inputLeaf: x, valid, expected });
            }
          }
        }
      }
      await checkSteps(cases);
      // The largest step (-128 · -128 · 32) from the int32 bound leaves int32 but not int256.
      expect(await harness.accumulate(INT32_MAX, hex(fill(0x80)), hex(fill(0x80)), 32)).to.equal(BigInt(INT32_MAX) + 524_288n);
      console.log(`      ${cases.length} steps`);
    });

    it("chains the steps of whole rows to denseAccumulator (every row of small layers, real MNIST rows too)", async function () {
      const rng = new Rng("rows");
      interface RowCase {
        label: string;
        layer: DenseLayer;
        x: Int8Array;
        j: number;
        weightLeaves: Uint8Array[];
        inputLeaves: Uint8Array[];
      }
      const rows: RowCase[] = [];
      const addRows = (label: string, layer: DenseLayer, commitment: LayerCommitment, x: Int8Array, tree: MerkleTree, js: number[]): void => {
        const R = chunkCount(layer.nIn);
        for (const j of js) {
          const weightLeaves = Array.from({ length: R }, (_, k) => commitment.weights.leaf(weightLeafIndex(layer.nIn, j, k)));
          const inputLeaves = Array.from({ length: R }, (_, k) => tree.leaf(k));
          rows.push({ label: `${label} row ${j}`, layer, x, j, weightLeaves, inputLeaves });
        }
      };
      for (const f of fixtures) {
        for (const [i, input] of f.inputs.entries()) {
          const js = f.layer.nOut * chunkCount(f.layer.nIn) <= 200 ? Array.from({ length: f.layer.nOut }, (_, j) => j) : [0, f.layer.nOut - 1, rng.int(0, f.layer.nOut - 1)];
          addRows(`${f.label} input ${i}`, f.layer, f.commitment, input.x, input.tree, js);
        }
      }
      const mnist = mnistModel();
      let x = rng.int8s(mnist.model.inputSize);
      for (const [l, layer] of mnist.model.layers.entries()) {
        const commitment = mnist.commitments[l];
        addRows(`mnist layer ${l + 1}`, layer, commitment, x, activationTree(x), [0, 1, layer.nOut - 1, rng.int(0, layer.nOut - 1)]);
        x = denseForward(layer, x);
      }

      let steps = 0;
      let atBound = 0;
      const problems: string[] = [];
      for (const batch of chunks(rows, 120)) {
        const got = await harness.accumulateRows(batch.map((r) => ({ bias: r.layer.bias[r.j], nIn: r.layer.nIn, weightLeaves: r.weightLeaves.map(hex), inputLeaves: r.inputLeaves.map(hex) })));
        batch.forEach((r, i) => {
          const expected = partialSums(r.layer, r.x, r.j);
          const acc = denseAccumulator(r.layer, r.x, r.j);
          // The TS twin chained over the same leaves.
          const chained = [r.layer.bias[r.j]];
          r.weightLeaves.forEach((w, k) => chained.push(accumulate(chained[k], w, r.inputLeaves[k], validInChunk(r.layer.nIn, k))));
          const sol = got[i].map(Number);
          if (expected[0] !== r.layer.bias[r.j] || expected[expected.length - 1] !== acc) problems.push(`${r.label}: partialSums ends ${expected[0]} … ${expected[expected.length - 1]}, bias ${r.layer.bias[r.j]}, denseAccumulator ${acc}`);
          if (chained.join() !== expected.join()) problems.push(`${r.label}: TS chain ${chained.join()} != partialSums ${expected.join()}`);
          if (sol.join() !== expected.join()) problems.push(`${r.label}: Solidity chain ${sol.join()} != partialSums ${expected.join()}`);
          if (!expected.every((s) => isInt32(s))) problems.push(`${r.label}: a partial sum leaves int32`);
          if (acc === INT32_MAX) atBound++;
          steps += r.weightLeaves.length;
        });
      }
      expect(problems.slice(0, 10), `${problems.length} rows disagree`).to.deep.equal([]);
      expect(atBound, "rows whose accumulator is exactly 2^31 − 1").to.be.greaterThan(0);
      console.log(`      ${rows.length} rows, ${steps} chained steps (${atBound} rows end exactly at 2^31 − 1)`);
    });

    it("stepWitness gives openings that both verifiers accept and the honest s_k → s_{k+1}", async function () {
      const rng = new Rng("witness");
      const weightOpenings: Parameters<DenseStepHarness["verifyWeightLeafBatch"]>[0] = [];
      const activationOpenings: Parameters<DenseStepHarness["verifyActivationLeafBatch"]>[0] = [];
      const biasOpenings: Parameters<DenseStepHarness["verifyBiasLeafBatch"]>[0] = [];
      const steps: StepCase[] = [];
      for (let n = 0; n < 150; n++) {
        const f = rng.pick(fixtures);
        const input = rng.pick(f.inputs);
        const j = rng.int(0, f.layer.nOut - 1);
        const k = rng.int(0, chunkCount(f.layer.nIn) - 1);
        const w = stepWitness(f.layer, f.commitment, input.tree, j, k);
        const sums = partialSums(f.layer, input.x, j);
        expect([w.before, w.after], `${f.label} ${j}/${k}`).to.deep.equal([sums[k], sums[k + 1]]);
        expect(verifyWeightLeaf(f.d, j, k, w.weightLeaf, w.weightProof)).to.equal(true);
        expect(verifyActivationLeaf(input.tree.root, f.layer.nIn, k, w.inputLeaf, w.inputProof)).to.equal(true);
        const b = biasWitness(f.commitment, j);
        expect(verifyBiasLeaf(f.d, j, b.leaf, b.proof)).to.equal(true);
        weightOpenings.push({ d: abiDescriptor(f.d), j, k, leaf: hex(w.weightLeaf), proof: w.weightProof.map(hex) });
        activationOpenings.push({ root: hex(input.tree.root), size: f.layer.nIn, k, leaf: hex(w.inputLeaf), proof: w.inputProof.map(hex) });
        biasOpenings.push({ d: abiDescriptor(f.d), j, leaf: hex(b.leaf), proof: b.proof.map(hex) });
        steps.push({ label: `${f.label} witness ${j}/${k}`, partialSum: w.before, weightLeaf: w.weightLeaf, inputLeaf: w.inputLeaf, valid: w.valid, expected: w.after });
      }
      expect((await harness.verifyWeightLeafBatch(weightOpenings)).every((ok) => ok)).to.equal(true);
      expect((await harness.verifyActivationLeafBatch(activationOpenings)).every((ok) => ok)).to.equal(true);
      expect((await harness.verifyBiasLeafBatch(biasOpenings)).every((ok) => ok)).to.equal(true);
      await checkSteps(steps);

      // A commitment of another layer of the same shape, or a tree of another size, is refused.
      const f = fixtures.find((g) => g.layer.nIn === 100)!;
      const other = commitLayer({ ...f.layer, weights: f.layer.weights.map((v) => (v === 127 ? -128 : v + 1)) });
      expect(() => stepWitness(f.layer, other, f.inputs[3].tree, 0, 0)).to.throw(RangeError);
      expect(() => stepWitness(f.layer, f.commitment, activationTree(new Int8Array(200)), 0, 0)).to.throw(RangeError);
      expect(() => stepWitness(f.layer, f.commitment, f.inputs[0].tree, 0, chunkCount(f.layer.nIn))).to.throw(RangeError);
    });

    it("rejects valid > 32 and partial sums outside int32 (Solidity reverts, TS throws)", async function () {
      const w = hex(fill(0x11));
      for (const valid of [33n, 64n, ethers.MaxUint256]) {
        await expect(harness.accumulate(0, w, w, valid)).to.be.revertedWithCustomError(harness, "LibDenseStepValidOutOfRange").withArgs(valid);
      }
      for (const s of [2n ** 31n, -(2n ** 31n) - 1n, 2n ** 255n - 1n, -(2n ** 255n)]) {
        await expect(harness.accumulate(s, w, w, 32)).to.be.revertedWithCustomError(harness, "LibDenseStepPartialSumOutOfRange").withArgs(s);
      }
      expect(() => accumulate(0, fill(1), fill(1), 33)).to.throw(RangeError);
      expect(() => accumulate(2 ** 31, fill(1), fill(1), 32)).to.throw(RangeError);
      expect(() => accumulate(INT32_MIN - 1, fill(1), fill(1), 32)).to.throw(RangeError);
      expect(() => accumulate(0, new Uint8Array(31), fill(1), 1)).to.throw(RangeError);
    });
  });

  describe("output step", function () {
    interface OutputCase {
      label: string;
      acc: number;
      multiplier: number;
      shift: number;
      clampLo: number;
      clampHi: number;
    }

    /** A tie: acc·m is an odd multiple of 2^(s−1), so acc·m / 2^s is exactly halfway between integers. */
    function tie(rng: Rng): { acc: number; multiplier: number; shift: number } {
      const shift = rng.int(1, 61);
      const e1 = rng.int(Math.max(0, shift - 1 - 30), Math.min(30, shift - 1));
      const e2 = shift - 1 - e1;
      const odd = (max: number) => 2 * rng.int(0, Math.floor((max - 1) / 2)) + 1;
      const a = odd(Math.floor(INT32_MAX / 2 ** e1));
      const b = odd(Math.floor(MULTIPLIER_MAX / 2 ** e2));
      return { acc: (rng.float() < 0.5 ? -a : a) * 2 ** e1, multiplier: b * 2 ** e2, shift };
    }

    function clampRange(rng: Rng): [number, number] {
      const kind = rng.int(0, 4);
      if (kind === 0) return [0, 127];
      if (kind === 1) return [-128, 127];
      const lo = rng.int(-128, 127);
      return kind === 2 ? [lo, lo] : [lo, rng.int(lo, 127)];
    }

    it("requantise and output agree with intSemantics and the reference executor on 2,000+ cases, ties included", async function () {
      const rng = new Rng("outputs");
      const cases: OutputCase[] = [];
      const add = (label: string, acc: number, multiplier: number, shift: number, range = clampRange(rng)) =>
        cases.push({ label: `${label}: acc ${acc}, m ${multiplier}, s ${shift}, clamp [${range[0]}, ${range[1]}]`, acc, multiplier, shift, clampLo: range[0], clampHi: range[1] });
      const accs = () =>
        rng.pick([rng.int32(), rng.int32(), rng.int(-100_000, 100_000), rng.int(-300, 300), INT32_MAX, INT32_MIN, 0, 1, -1, INT32_MAX - rng.int(0, 1000), INT32_MIN + rng.int(0, 1000)]);
      const multipliers = () => rng.pick([rng.int(0, MULTIPLIER_MAX), rng.int(0, MULTIPLIER_MAX), rng.int(0, 1 << 20), MULTIPLIER_MAX, 0, 1, 2 ** 30]);
      for (let shift = SHIFT_MIN; shift <= SHIFT_MAX; shift++) {
        for (let n = 0; n < 20; n++) add("random", accs(), multipliers(), shift);
        for (const acc of [INT32_MAX, INT32_MIN]) for (const m of [MULTIPLIER_MAX, 0]) add("corner", acc, m, shift, [-128, 127]);
      }
      let ties = 0;
      for (let n = 0; n < 500; n++) {
        const t = tie(rng);
        add("tie", t.acc, t.multiplier, t.shift);
        ties++;
      }
      // The examples of docs/integer-semantics.md §3: 2.5 → 3, −2.5 → −2, −1.5 → −1; and −0.5 → 0 at s = 62.
      for (const [acc, expected] of [[5, 3], [-5, -2], [-3, -1], [3, 2], [1, 1], [-1, 0]] as const) {
        expect(requantise(acc, 1, 1)).to.equal(BigInt(expected));
        add(`§3 example ${acc}/2`, acc, 1, 1, [-128, 127]);
      }
      add("tie at s = 62", INT32_MIN, 2 ** 30, 62, [-128, 127]);
      ties += 7;

      const problems: string[] = [];
      for (const batch of chunks(cases, 500)) {
        const [qs, ys] = await harness.outputBatch(batch.map((c) => ({ acc: c.acc, d: requantDescriptor(c.multiplier, c.shift, c.clampLo, c.clampHi) })));
        batch.forEach((c, i) => {
          const q = requantise(c.acc, c.multiplier, c.shift);
          const y = clamp(q, c.clampLo, c.clampHi);
          const reference = denseForward(
            { op: "dense", nIn: 1, nOut: 1, weights: Int8Array.of(0), bias: Int32Array.of(c.acc), multiplier: c.multiplier, shift: c.shift, clampLo: c.clampLo, clampHi: c.clampHi },
            Int8Array.of(0),
          )[0];
          if (qs[i] !== q) problems.push(`${c.label}: Solidity requantise ${qs[i]}, intSemantics ${q}`);
          if (requantiseChecked(c.acc, c.multiplier, c.shift) !== q) problems.push(`${c.label}: requantiseChecked differs`);
          if (ys[i] !== BigInt(y)) problems.push(`${c.label}: Solidity output ${ys[i]}, clamp(requantise) ${y}`);
          if (output(c.acc, c) !== y) problems.push(`${c.label}: TS output ${output(c.acc, c)}, clamp(requantise) ${y}`);
          if (reference !== y) problems.push(`${c.label}: reference executor ${reference}, clamp(requantise) ${y}`);
          // The rounding rule itself, checked independently: |acc·m − q·2^s| ≤ 2^(s−1), a tie goes up.
          const num = BigInt(c.acc) * BigInt(c.multiplier);
          const diff = num - q * (1n << BigInt(c.shift));
          const half = 1n << BigInt(c.shift - 1);
          if (!(diff >= -half && diff < half)) problems.push(`${c.label}: q ${q} is not the nearest integer, ties up`);
          if (c.label.includes("tie") && diff !== -half) problems.push(`${c.label}: not a tie rounded towards +∞ (diff ${diff})`);
        });
      }
      expect(problems.slice(0, 10), `${problems.length} of ${cases.length} outputs disagree`).to.deep.equal([]);
      console.log(`      ${cases.length} output steps (${ties} exact ties), shifts ${SHIFT_MIN}..${SHIFT_MAX}`);
    });

    it("rejects accumulators outside int32, multipliers above 2^31 − 1, shifts outside 1..62 and bad clamp ranges", async function () {
      const ok = requantDescriptor(1000, 10, -128, 127);
      const revert = (call: Promise<unknown>, error: string) => expect(call).to.be.revertedWithCustomError(harness, error);
      for (const acc of [2n ** 31n, -(2n ** 31n) - 1n, 2n ** 200n]) {
        await revert(harness.requantise(acc, 1, 1), "LibDenseStepAccumulatorOutOfRange").withArgs(acc);
        await revert(harness.output(acc, ok), "LibDenseStepAccumulatorOutOfRange").withArgs(acc);
      }
      for (const m of [2n ** 31n, ethers.MaxUint256]) {
        await revert(harness.requantise(5, m, 1), "LibDenseStepMultiplierOutOfRange").withArgs(m);
        await revert(harness.output(5, { ...ok, multiplier: m }), "LibDenseStepMultiplierOutOfRange").withArgs(m);
      }
      for (const s of [0n, 63n, 256n, ethers.MaxUint256]) {
        await revert(harness.requantise(5, 1, s), "LibDenseStepShiftOutOfRange").withArgs(s);
        await revert(harness.output(5, { ...ok, shift: s }), "LibDenseStepShiftOutOfRange").withArgs(s);
      }
      for (const [lo, hi] of [[1, 0], [-129, 0], [0, 128], [-200, 200], [127, -128]] as const) {
        await revert(harness.output(5, { ...ok, clampLo: lo, clampHi: hi }), "LibDenseStepClampOutOfRange").withArgs(lo, hi);
        expect(() => output(5, { multiplier: 1000, shift: 10, clampLo: lo, clampHi: hi })).to.throw(RangeError);
      }
      expect(() => output(2 ** 31, { multiplier: 1, shift: 1, clampLo: -128, clampHi: 127 })).to.throw(RangeError);
      expect(() => requantiseChecked(5, 2 ** 31, 1)).to.throw(RangeError);
      expect(() => requantiseChecked(5, 1, 0)).to.throw(RangeError);
      expect(() => requantiseChecked(5, 1, 63)).to.throw(RangeError);
      // The edges of every range are accepted.
      expect(await harness.requantise(INT32_MIN, MULTIPLIER_MAX, 62)).to.equal(requantise(INT32_MIN, MULTIPLIER_MAX, 62));
      expect(await harness.requantise(INT32_MAX, MULTIPLIER_MAX, 1)).to.equal(requantise(INT32_MAX, MULTIPLIER_MAX, 1));
      expect(await harness.output(INT32_MIN, { ...ok, clampLo: -128, clampHi: -128 })).to.equal(-128n);
    });
  });

  describe("descriptor", function () {
    it("descriptorHash equals commitLayer's for every layer and the MNIST model's descriptor.json", async function () {
      const mnist = mnistModel();
      const published = JSON.parse(readFileSync(path.join(MODEL_DIR, "descriptor.json"), "utf8")) as { layers: { descriptorHash: string }[] };
      const all = [...fixtures.map((f) => ({ label: f.label, d: f.d, hash: hex(f.commitment.descriptorHash) }))];
      mnist.model.layers.forEach((layer, l) => {
        const c = mnist.commitments[l];
        expect(hex(c.descriptorHash)).to.equal(published.layers[l].descriptorHash);
        all.push({ label: `mnist layer ${l + 1}`, d: denseDescriptor(layer, c), hash: published.layers[l].descriptorHash });
      });
      const got = await harness.descriptorHashBatch(all.map((a) => abiDescriptor(a.d)));
      all.forEach((a, i) => expect(got[i], a.label).to.equal(a.hash));
      expect(await harness.descriptorHash(abiDescriptor(all[0].d))).to.equal(all[0].hash);
      expect(await harness.opDense()).to.equal(BigInt(OP_DENSE));
      expect(all.some((a) => a.d.clampLo < 0)).to.equal(true);
      console.log(`      ${all.length} descriptors`);
    });
  });

  describe("proofs", function () {
    interface Opening {
      label: string;
      kind: "weight" | "bias" | "activation";
      d: DenseDescriptor;
      /** Activation root and size (activation openings only). */
      root: Uint8Array;
      size: number;
      /** j for weight and bias openings; k for activation openings. */
      index: number;
      k: number;
      leaf: Uint8Array;
      proof: Uint8Array[];
    }

    /** Whether position `index` of `tree` holds something other than `leaf` (or does not exist). */
    function differsAt(tree: MerkleTree, index: number, leaf: Uint8Array): boolean {
      return index >= 2 ** tree.depth || !bytesEqual(tree.leaf(index), leaf);
    }

    function tsVerify(o: Opening): boolean {
      switch (o.kind) {
        case "weight":
          return verifyWeightLeaf(o.d, o.index, o.k, o.leaf, o.proof);
        case "bias":
          return verifyBiasLeaf(o.d, o.index, o.leaf, o.proof);
        case "activation":
          return verifyActivationLeaf(o.root, o.size, o.k, o.leaf, o.proof);
      }
    }

    async function checkOpenings(openings: Opening[], valid: boolean): Promise<void> {
      const problems: string[] = [];
      for (const kind of ["weight", "bias", "activation"] as const) {
        for (const batch of chunks(
          openings.filter((o) => o.kind === kind),
          300,
        )) {
          const proofOf = (o: Opening) => ({ leaf: hex(o.leaf), proof: o.proof.map(hex) });
          const oks =
            kind === "weight"
              ? await harness.verifyWeightLeafBatch(batch.map((o) => ({ d: abiDescriptor(o.d), j: o.index, k: o.k, ...proofOf(o) })))
              : kind === "bias"
                ? await harness.verifyBiasLeafBatch(batch.map((o) => ({ d: abiDescriptor(o.d), j: o.index, ...proofOf(o) })))
                : await harness.verifyActivationLeafBatch(batch.map((o) => ({ root: hex(o.root), size: o.size, k: o.k, ...proofOf(o) })));
          batch.forEach((o, i) => {
            if (oks[i] !== valid) problems.push(`${o.label}: Solidity gave ${oks[i]}`);
            if (tsVerify(o) !== valid) problems.push(`${o.label}: TS gave ${!valid}`);
          });
        }
      }
      expect(problems.slice(0, 10), `${problems.length} of ${openings.length} openings disagree`).to.deep.equal([]);
    }

    /** Bit flips of the leaf, of every sibling and of the root, and proofs one word longer or shorter. */
    function tampered(rng: Rng, o: Opening): Opening[] {
      const out: Opening[] = [];
      const add = (what: string, change: Partial<Opening>) => out.push({ ...o, ...change, label: `${o.label} ${what}` });
      for (let n = 0; n < 2; n++) {
        const bit = rng.int(0, 255);
        add(`leaf bit ${bit}`, { leaf: flipBit(o.leaf, bit) });
      }
      o.proof.forEach((sibling, h) => {
        const bit = rng.int(0, 255);
        const proof = o.proof.slice();
        proof[h] = flipBit(sibling, bit);
        add(`sibling ${h} bit ${bit}`, { proof });
      });
      const bit = rng.int(0, 255);
      if (o.kind === "weight") add(`weight root bit ${bit}`, { d: { ...o.d, weightRoot: flipBit(o.d.weightRoot, bit) } });
      if (o.kind === "bias") add(`bias root bit ${bit}`, { d: { ...o.d, biasRoot: flipBit(o.d.biasRoot, bit) } });
      if (o.kind === "activation") add(`root bit ${bit}`, { root: flipBit(o.root, bit) });
      add("proof + random word", { proof: [...o.proof, rng.bytes(32)] });
      add("proof + zero word", { proof: [...o.proof, new Uint8Array(32)] });
      if (o.proof.length > 0) {
        add("proof - last", { proof: o.proof.slice(0, -1) });
        add("proof - first", { proof: o.proof.slice(1) });
      }
      return out;
    }

    function weightOpening(f: Fixture, j: number, k: number, label = `${f.label} weight ${j}/${k}`): Opening {
      const index = weightLeafIndex(f.layer.nIn, j, k);
      return { label, kind: "weight", d: f.d, root: new Uint8Array(32), size: 0, index: j, k, leaf: f.commitment.weights.leaf(index), proof: f.commitment.weights.proof(index) };
    }

    function biasOpening(f: Fixture, j: number): Opening {
      const w = biasWitness(f.commitment, j);
      return { label: `${f.label} bias ${j}`, kind: "bias", d: f.d, root: new Uint8Array(32), size: 0, index: j, k: 0, leaf: w.leaf, proof: w.proof };
    }

    function activationOpening(label: string, tree: MerkleTree, size: number, k: number): Opening {
      return { label: `${label} activation ${size} leaf ${k}`, kind: "activation", d: fixtures[0].d, root: tree.root, size, index: 0, k, leaf: tree.leaf(k), proof: tree.proof(k) };
    }

    it("accept honest openings and reject tampered ones, wrong j/k and proofs of another length", async function () {
      const rng = new Rng("openings");
      const good: Opening[] = [];
      const bad: Opening[] = [];
      for (const f of fixtures) {
        const { nIn, nOut } = f.layer;
        const R = chunkCount(nIn);
        const depth = f.commitment.weights.depth;
        const picks: [number, number][] = [
          [0, 0],
          [nOut - 1, R - 1],
          [rng.int(0, nOut - 1), rng.int(0, R - 1)],
        ];
        for (const [j, k] of picks) {
          const o = weightOpening(f, j, k);
          good.push(o);
          bad.push(...tampered(rng, o));
          const wrong = (what: string, jj: number, kk: number) => bad.push({ ...o, label: `${o.label} ${what} (as ${jj}/${kk})`, index: jj, k: kk });
          // Another position is a false claim only where the tree holds another leaf (the bound layers'
          // constant rows repeat leaves and whole subtrees, and there the claim is true).
          if (nOut > 1 && differsAt(f.commitment.weights, (j === 0 ? 1 : j - 1) * R + k, o.leaf)) wrong("other row", j === 0 ? 1 : j - 1, k);
          if (R > 1 && differsAt(f.commitment.weights, j * R + (k === 0 ? 1 : k - 1), o.leaf)) wrong("other chunk", j, k === 0 ? 1 : k - 1);
          wrong("j = nOut", nOut, k);
          wrong("k = R", j, R);
          // Same leaf and proof, a descriptor whose tree is twice as deep or whose rows are longer.
          bad.push({ ...o, label: `${o.label} nOut doubled`, d: { ...f.d, nOut: 2 * nOut } });
          if (j > 0 && (treeDepth(nOut * (R + 1)) !== depth || differsAt(f.commitment.weights, j * (R + 1) + k, o.leaf))) {
            bad.push({ ...o, label: `${o.label} nIn + 32`, d: { ...f.d, nIn: nIn + 32 } });
          }
        }
        // Aliasing: chunk R of row j is leaf (j + 1)·R, an honest leaf of the next row; and rows past nOut
        // inside the padded tree are honest zero leaves. Both must be refused by the k < R and j < nOut checks.
        if (nOut > 1) {
          const next = weightOpening(f, 1, 0);
          bad.push({ ...next, label: `${f.label} row 1 chunk 0 claimed as row 0 chunk R`, index: 0, k: R });
        }
        if (nOut * R < 2 ** depth) {
          const index = nOut * R;
          bad.push({ label: `${f.label} padding leaf as row nOut`, kind: "weight", d: f.d, root: new Uint8Array(32), size: 0, index: nOut, k: 0, leaf: f.commitment.weights.leaf(index), proof: f.commitment.weights.proof(index) });
        }

        for (const j of new Set([0, nOut - 1, rng.int(0, nOut - 1)])) {
          const o = biasOpening(f, j);
          good.push(o);
          bad.push(...tampered(rng, o));
          if (j + 8 < nOut) bad.push({ ...o, label: `${o.label} as bias ${j + 8}`, index: j + 8 });
          if (j >= 8) bad.push({ ...o, label: `${o.label} as bias ${j - 8}`, index: j - 8 });
          bad.push({ ...o, label: `${o.label} nOut·16`, d: { ...f.d, nOut: 16 * nOut } });
        }
        // Biases past nOut in the last leaf: the leaf and proof are honest, the output does not exist.
        for (let j = nOut; j < 8 * Math.ceil(nOut / 8); j++) bad.push({ ...biasOpening(f, nOut - 1), label: `${f.label} bias leaf opened for j = ${j} ≥ nOut`, index: j });
        bad.push({ ...biasOpening(f, nOut - 1), label: `${f.label} bias j = nOut`, index: nOut });

        // One extreme and one random input per layer.
        for (const i of [0, f.inputs.length - 1]) {
          const input = f.inputs[i];
          const L = input.tree.leafCount;
          for (const k of new Set([0, L - 1, rng.int(0, L - 1)])) {
            const o = activationOpening(`${f.label} input ${i}`, input.tree, nIn, k);
            good.push(o);
            bad.push(...tampered(rng, o));
            const other = k === 0 ? 1 : k - 1;
            if (L > 1 && differsAt(input.tree, other, o.leaf)) bad.push({ ...o, label: `${o.label} as leaf ${other}`, k: other });
            bad.push({ ...o, label: `${o.label} as leaf ${L}`, k: L });
            bad.push({ ...o, label: `${o.label} size grown past the depth`, size: nIn + 32 * 2 ** input.tree.depth });
          }
          if (L < 2 ** input.tree.depth) bad.push({ ...activationOpening(`${f.label} input ${i}`, input.tree, nIn, 0), label: `${f.label} padding leaf ${L}`, k: L, leaf: input.tree.leaf(L), proof: input.tree.proof(L) });
        }
      }
      // Every leaf of some small activation trees, the empty vector (one zero leaf) included.
      const rng2 = new Rng("small activations");
      for (const size of [0, 1, 31, 32, 33, 64, 65, 100, 160, 161, 257]) {
        const tree = activationTree(rng2.int8s(size));
        for (let k = 0; k < activationLeafCount(size); k++) good.push(activationOpening("small", tree, size, k));
      }
      await checkOpenings(good, true);
      await checkOpenings(bad, false);
      const count = (list: Opening[], kind: Opening["kind"]) => list.filter((o) => o.kind === kind).length;
      console.log(
        `      honest: ${count(good, "weight")} weight, ${count(good, "bias")} bias, ${count(good, "activation")} activation; ` +
          `refused: ${count(bad, "weight")} weight, ${count(bad, "bias")} bias, ${count(bad, "activation")} activation`,
      );
    });

    it("refuses indices beyond a JS number, reverts on shapes that overflow, and checks weightLeafIndex", async function () {
      const f = fixtures.find((g) => g.layer.nIn === 65)!;
      const j = f.layer.nOut - 1;
      const o = weightOpening(f, j, 1);
      const d = abiDescriptor(f.d);
      const proof = o.proof.map(hex);
      const huge = 1n << 200n;
      expect(await harness.verifyWeightLeaf(d, j, 1, hex(o.leaf), proof)).to.equal(true);
      expect(await harness.verifyWeightLeaf(d, BigInt(j) + huge, 1, hex(o.leaf), proof)).to.equal(false);
      expect(await harness.verifyWeightLeaf(d, j, 1n + huge, hex(o.leaf), proof)).to.equal(false);
      expect(await harness.verifyWeightLeaf(d, ethers.MaxUint256, ethers.MaxUint256, hex(o.leaf), proof)).to.equal(false);
      // nIn = 0: no chunk exists.
      expect(await harness.verifyWeightLeaf({ ...d, nIn: 0 }, 0, 0, hex(o.leaf), proof)).to.equal(false);
      expect(verifyWeightLeaf({ ...f.d, nIn: 0 }, 0, 0, o.leaf, o.proof)).to.equal(false);
      // nOut·R past 2^256.
      await expect(harness.verifyWeightLeaf({ ...d, nOut: ethers.MaxUint256 }, j, 1, hex(o.leaf), proof))
        .to.be.revertedWithCustomError(harness, "LibDenseStepShapeTooLarge")
        .withArgs(f.layer.nIn, ethers.MaxUint256);
      const b = biasOpening(f, j);
      expect(await harness.verifyBiasLeaf(d, j, hex(b.leaf), b.proof.map(hex))).to.equal(true);
      expect(await harness.verifyBiasLeaf(d, BigInt(j) + huge, hex(b.leaf), b.proof.map(hex))).to.equal(false);
      const a = f.inputs[0].tree;
      expect(await harness.verifyActivationLeaf(hex(a.root), 65, 1n + huge, hex(a.leaf(1)), a.proof(1).map(hex))).to.equal(false);

      const nIns = [1, 31, 32, 33, 784, 100];
      const js = [0, 5, 7, 127, 127, 2 ** 40];
      const ks = [0, 0, 0, 1, 24, 3];
      const got = await harness.weightLeafIndexBatch(nIns, js, ks);
      nIns.forEach((n, i) => {
        expect(got[i]).to.equal(BigInt(js[i] * chunkCount(n) + ks[i]));
        expect(weightLeafIndex(n, js[i], ks[i])).to.equal(js[i] * chunkCount(n) + ks[i]);
      });
      await expect(harness.weightLeafIndex(65, 0, 3)).to.be.revertedWithCustomError(harness, "LibDenseStepChunkOutOfRange").withArgs(65, 3);
      await expect(harness.weightLeafIndex(0, 0, 0)).to.be.revertedWithCustomError(harness, "LibDenseStepChunkOutOfRange").withArgs(0, 0);
      await expect(harness.weightLeafIndex(65, ethers.MaxUint256, 0)).to.be.revertedWithCustomError(harness, "LibDenseStepIndexOverflow").withArgs(65, ethers.MaxUint256, 0);
      expect(await harness.weightLeafIndex(1, ethers.MaxUint256, 0)).to.equal(ethers.MaxUint256);
      expect(() => weightLeafIndex(65, 0, 3)).to.throw(RangeError);
    });
  });

  describe("padding step", function () {
    it("paddingIsZero holds on honest leaves and fails when any padding byte is set", async function () {
      const rng = new Rng("padding");
      const cases: { label: string; leaf: Uint8Array; size: number | bigint; k: number | bigint; expected: boolean }[] = [];
      const sizes = [0, 1, 2, 31, 32, 33, 63, 64, 65, 100, 127, 128, 129, 784];
      for (let n = 0; n < 10; n++) sizes.push(rng.int(1, 500));
      for (const size of sizes) {
        const tree = activationTree(rng.int8s(size));
        for (let k = 0; k <= activationLeafCount(size); k++) {
          const leaf = k < tree.leafCount ? tree.leaf(k) : new Uint8Array(32); // k = leafCount: a leaf past the end
          const valid = Math.max(0, Math.min(32, size - 32 * k));
          const label = `size ${size} leaf ${k}`;
          cases.push({ label: `${label} honest`, leaf, size, k, expected: true });
          for (let t = valid; t < 32; t++) {
            const bad = Uint8Array.from(leaf);
            bad[t] = rng.int(1, 255);
            cases.push({ label: `${label} padding byte ${t} = ${bad[t]}`, leaf: bad, size, k, expected: false });
          }
          if (valid > 0) {
            const t = rng.int(0, valid - 1);
            const changed = Uint8Array.from(leaf);
            changed[t] ^= rng.int(1, 255);
            cases.push({ label: `${label} element ${t} changed`, leaf: changed, size, k, expected: true });
            cases.push({ label: `${label} all elements 0xff`, leaf: Uint8Array.from(leaf, (v, i) => (i < valid ? 0xff : v)), size, k, expected: true });
          }
          if (valid < 32) cases.push({ label: `${label} all padding set`, leaf: Uint8Array.from(leaf, (v, i) => (i >= valid ? 0x80 : v)), size, k, expected: false });
        }
      }
      const solidityOnly = [
        { label: "k = 2^251 (32k wraps)", leaf: new Uint8Array(32), size: 784n, k: 1n << 251n, expected: true },
        { label: "k = 2^251, non-zero leaf", leaf: fill(1), size: 784n, k: 1n << 251n, expected: false },
        { label: "size 2^256 − 1, leaf 0", leaf: fill(0xff), size: ethers.MaxUint256, k: 0n, expected: true },
      ];
      const all = [...cases, ...solidityOnly];
      const problems: string[] = [];
      for (const batch of chunks(all, 800)) {
        const got = await harness.paddingIsZeroBatch(batch.map((c) => ({ leaf: hex(c.leaf), size: c.size, k: c.k })));
        batch.forEach((c, i) => {
          if (got[i] !== c.expected) problems.push(`${c.label}: Solidity gave ${got[i]}`);
        });
      }
      for (const c of cases) if (paddingIsZero(c.leaf, Number(c.size), Number(c.k)) !== c.expected) problems.push(`${c.label}: TS gave ${!c.expected}`);
      expect(problems.slice(0, 10), `${problems.length} of ${all.length} padding checks disagree`).to.deep.equal([]);
      console.log(`      ${all.length} padding checks (${all.filter((c) => !c.expected).length} with a padding byte set)`);
    });
  });

  describe("gas", function () {
    it("accumulate (valid = 32) and verifyWeightLeaf on the MNIST first layer (784 → 128), printed", async function () {
      const rng = new Rng("gas");
      const used: bigint[] = [];
      for (const [w, x] of [[rng.bytes(32), rng.bytes(32)], [fill(0x80), fill(0x80)], [fill(0x7f), fill(0x80)], [fill(0), fill(0)]]) {
        const [gas, sum] = await harness.gasOfAccumulate(-5, hex(w), hex(x), 32);
        expect(sum).to.equal(BigInt(accumulate(-5, w, x, 32)));
        used.push(gas);
      }
      const [gas17] = await harness.gasOfAccumulate(-5, hex(rng.bytes(32)), hex(rng.bytes(32)), 17);

      const mnist = mnistModel();
      const layer = mnist.model.layers[0];
      expect([layer.nIn, layer.nOut]).to.deep.equal([784, 128]);
      const commitment = mnist.commitments[0];
      const d = abiDescriptor(denseDescriptor(layer, commitment));
      const j = 127;
      const k = 24;
      const index = weightLeafIndex(layer.nIn, j, k);
      const leaf = hex(commitment.weights.leaf(index));
      const proof = commitment.weights.proof(index).map(hex);
      const [verifyGas, ok] = await harness.gasOfVerifyWeightLeaf(d, j, k, leaf, proof);
      expect(ok).to.equal(true);
      const transaction = await harness.verifyWeightLeaf.estimateGas(d, j, k, leaf, proof);
      const [outputGas] = await harness.gasOfOutput(123_456, d);
      console.log(
        `        gas accumulate(valid 32): ${used.join(" / ")} inside the library (branch-free: same for every leaf); valid 17: ${gas17}\n` +
          `        gas verifyWeightLeaf(MNIST layer 1, 784 -> 128: R = 25, ${128 * 25} leaves, depth ${proof.length}): ${verifyGas} inside the library, ` +
          `${transaction} for a whole transaction to the harness (21000 base + calldata included)\n` +
          `        gas output(acc, MNIST layer 1): ${outputGas}`,
      );
      expect(new Set(used.map(String)).size).to.equal(1);
    });
  });
});
