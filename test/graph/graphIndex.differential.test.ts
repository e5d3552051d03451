import { expect } from "chai";
import { ethers } from "hardhat";
import type { GraphIndexHarness } from "../../typechain-types";
import { commitGraphModel, constantTree, constantsOf, opLeaves, requantConstant } from "../../core/graph/commitments";
import { descriptorWords } from "../../core/graph/descriptor";
import { broadcastIndexMap } from "../../core/graph/geometry";
import { type Constant, type GraphProgram, type Op, type Shape, isLayout, sizeOf } from "../../core/graph/program";
import { type ReducingOp, reductionOf } from "../../core/graph/reductions";
import { validateProgram } from "../../core/graph/validate";
import { resolveElement, viewMap } from "../../core/graph/views";
import { initKeccak } from "../../core/keccak";
import { Rng, describeProgram, randomProgram } from "./randomPrograms";

/**
 * contracts/lib/graph/LibGraphIndex.sol (through contracts/test/GraphIndexHarness.sol) against the TypeScript
 * index maps: `reductionOf(…).input/weight` (every reduce op's chunks and arbitrary term ranges, the padded-cell
 * masks, the weight leaf each chunk reads, checked against the weight constant's tree), `broadcastIndexMap`
 * (Add, Mul; Clamp and Table as the identity), `viewMap` (every layout op) and `resolveElement` (chains of
 * views walked on-chain as the game would), and the model leaf of every op against `commitGraphModel`. On seeded
 * random programs (test/graph/randomPrograms.ts) and on a hand-made program that holds every edge case at
 * least once. GRAPH_INDEX_SEED and GRAPH_INDEX_PROGRAMS override the seed and the number of random programs.
 */
const SEED = Number(process.env.GRAPH_INDEX_SEED ?? 0x61d3) >>> 0;
const PROGRAMS = Number(process.env.GRAPH_INDEX_PROGRAMS ?? 120);
/** Queries per eth_call. */
const BATCH = 96;
const PADDED = ethers.MaxUint256;
const GAS_CEILING = 500_000n;

type Harness = GraphIndexHarness;

/** One op of one program, with everything both sides need. */
interface OpCase {
  readonly program: GraphProgram;
  readonly shapes: readonly Shape[];
  readonly k: number;
  readonly op: Op;
  /** For a failure message. */
  readonly label: string;
  readonly descriptor: string[];
  /** Inputs' and value's shapes (what today's model leaf holds), then the constants' shapes. */
  readonly shapeWords: bigint[];
  /** The inputs' and value's shapes only. */
  readonly leafShapeWords: bigint[];
}

function descriptorHex(op: Op): string[] {
  return descriptorWords(op).map((w) => ethers.toBeHex(BigInt.asUintN(256, w), 32));
}

function shapeWordsOf(shapes: readonly Shape[]): bigint[] {
  return shapes.flatMap((s) => [BigInt(s.length), ...s.map(BigInt)]);
}

function opCase(program: GraphProgram, shapes: readonly Shape[], k: number, label: string): OpCase {
  const op = program.ops[k];
  const leaf = [...op.inputs.map((v) => shapes[v]), shapes[k + 1]];
  const requant = requantConstant(op);
  const constants = [...constantsOf(op).map((c) => program.constants[c].shape), ...(requant ? [requant.shape] : [])];
  return { program, shapes, k, op, label: `${label} op ${k} (${op.kind})`, descriptor: descriptorHex(op), shapeWords: shapeWordsOf([...leaf, ...constants]), leafShapeWords: shapeWordsOf(leaf) };
}

/** Counts comparisons; keeps the first mismatches for the failure message. */
class Tally {
  compared = 0;
  mismatches = 0;
  readonly messages: string[] = [];
  readonly features = new Map<string, number>();

  check(ok: boolean, what: () => string): void {
    this.compared++;
    if (ok) return;
    this.mismatches++;
    if (this.messages.length < 12) this.messages.push(what());
  }

  feature(name: string): void {
    this.features.set(name, (this.features.get(name) ?? 0) + 1);
  }
}

function sample(rng: Rng, n: number, count: number, always: number[] = []): number[] {
  const picked = new Set(always.filter((i) => i >= 0 && i < n));
  if (n <= count + picked.size) return Array.from({ length: n }, (_, i) => i);
  while (picked.size < count + always.length && picked.size < n) picked.add(rng.int(0, n - 1));
  return [...picked];
}

function chunksOf<T>(items: T[], size: number): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < items.length; i += size) out.push(items.slice(i, i + size));
  return out;
}

const asIndex = (i: number): bigint => (i < 0 ? PADDED : BigInt(i));

// ------------------------------------------------------------------------------------------------
// Per op kind
// ------------------------------------------------------------------------------------------------

async function checkReduce(h: Harness, c: OpCase, rng: Rng, t: Tally): Promise<void> {
  const op = c.op as ReducingOp;
  const r = reductionOf(c.program, op, c.shapes[op.inputs[0]]);
  const R = r.rowLength;
  const T = r.chunkTerms;
  const chunks = Math.ceil(R / T);
  const withWeights = op.kind === "dense" || op.kind === "conv";
  const info = await h.reductionInfo(c.descriptor, c.shapeWords);
  t.check(
    info.rows === BigInt(r.rows) && info.rowLength === BigInt(R) && info.weights === withWeights && info.chunkLength === BigInt(T) && info.chunks === BigInt(chunks),
    () => `${c.label}: rows/rowLength/weights/chunkLength/chunks ${info.rows}/${info.rowLength}/${info.weights}/${info.chunkLength}/${info.chunks}, expected ${r.rows}/${R}/${withWeights}/${T}/${chunks}`,
  );
  if (chunks > 1) t.feature("row of several chunks");
  if (R % T !== 0 && chunks > 1) t.feature("partial last chunk");
  if (T === 8 && chunks > 1) t.feature("narrow conv: several 8-term chunks in one weight leaf");
  if (T === 8 && R > 32) t.feature("narrow conv: a row over several weight leaves");
  if (T === 8 && op.kind === "conv" && c.program.constants[op.weight].shape[3] >= 3) t.feature("narrow conv: a window row wider than a word (dilated)");

  // Rows: the first, the last, random ones, and rows holding padded cells (first, last, one more).
  const paddedRows: number[] = [];
  const scan = r.rows * R <= 60_000 ? Array.from({ length: r.rows }, (_, o) => o) : sample(rng, r.rows, 300);
  for (const o of scan) {
    for (let k = 0; k < R; k++) {
      if (r.input(o, k) < 0) {
        paddedRows.push(o);
        break;
      }
    }
  }
  if (paddedRows.length > 0) t.feature(`${op.kind} rows with padded cells`);
  const rows = sample(rng, r.rows, 5, [0, r.rows - 1, ...(paddedRows.length ? [paddedRows[0], paddedRows[paddedRows.length - 1], paddedRows[rng.int(0, paddedRows.length - 1)]] : [])]);
  const queries: [number, number][] = [];
  for (const o of rows) for (const k of sample(rng, chunks, 1, [0, chunks - 1])) queries.push([o, k]);

  const weightConstant = withWeights ? c.program.constants[(op as { weight: number }).weight] : undefined;
  const weightTree = weightConstant ? constantTree(weightConstant) : undefined;
  for (const batch of chunksOf(queries, BATCH)) {
    const got = await h.chunkBatch(c.descriptor, c.shapeWords, batch.flat());
    let at = 0;
    let wAt = 0;
    batch.forEach(([o, k], q) => {
      const from = T * k;
      const to = Math.min(R, from + T);
      const n = to - from;
      const where = () => `${c.label} row ${o} chunk ${k}`;
      t.check(got.counts[q] === BigInt(n), () => `${where()}: ${got.counts[q]} terms, expected ${n}`);
      let mask = 0n;
      for (let j = 0; j < n; j++) {
        const input = r.input(o, from + j);
        if (input < 0) mask |= 1n << BigInt(j);
        t.check(got.inputs[at + j] === asIndex(input), () => `${where()} term ${from + j}: input ${got.inputs[at + j]}, expected ${input}`);
        if (withWeights) t.check(got.weights[wAt + j] === BigInt(r.weight(o, from + j)), () => `${where()} term ${from + j}: weight ${got.weights[wAt + j]}, expected ${r.weight(o, from + j)}`);
      }
      t.check(got.padded[q] === mask, () => `${where()}: padded mask ${got.padded[q].toString(2)}, expected ${mask.toString(2)}`);
      if (mask !== 0n && mask !== (1n << BigInt(n)) - 1n) t.feature("chunk mixing padded and real cells");
      if (weightTree && weightConstant) {
        // The leaf the library names holds the row's weights of terms 32⌊from/32⌋ …, in term order, then zeros:
        // the chunk's weights from byte from mod 32.
        const weightRow = Number(got.leaves[2 * q]);
        const leaf = Number(got.leaves[2 * q + 1]);
        const expectedRow = Math.floor(r.weight(o, from) / R);
        const expectedLeaf = expectedRow * Math.ceil(R / 32) + Math.floor(from / 32);
        t.check(weightRow === expectedRow && leaf === expectedLeaf, () => `${where()}: weight row/leaf ${weightRow}/${leaf}, expected ${expectedRow}/${expectedLeaf}`);
        const bytes = weightTree.leaf(leaf);
        const first = from - (from % 32);
        let same = true;
        for (let j = 0; j < 32; j++) same &&= bytes[j] === (first + j < R ? weightConstant.data[r.weight(o, first + j)] & 0xff : 0);
        t.check(same, () => `${where()}: leaf ${leaf} of the weight tree does not hold the chunk's weights`);
      }
      at += n;
      if (withWeights) wAt += n;
    });
    t.check(at === got.inputs.length && wAt === got.weights.length, () => `${c.label}: batch returned ${got.inputs.length} inputs and ${got.weights.length} weights, expected ${at} and ${wAt}`);
  }

  // Arbitrary term ranges, not chunk-aligned (1 … min(R, 256) terms), and whole rows up to 256 terms.
  const ranges: [number, number, number][] = [];
  for (let q = 0; q < 4; q++) {
    const o = rows[rng.int(0, rows.length - 1)];
    const len = rng.int(1, Math.min(R, 256));
    const from = rng.int(0, R - len);
    ranges.push([o, from, from + len]);
  }
  if (R <= 256) for (const o of rows.slice(0, 3)) ranges.push([o, 0, R]);
  const got = await h.termsBatch(c.descriptor, c.shapeWords, ranges.flat());
  let at = 0;
  ranges.forEach(([o, from, to], q) => {
    let mask = 0n;
    for (let term = from; term < to; term++, at++) {
      const input = r.input(o, term);
      if (input < 0) mask |= 1n << BigInt(term - from);
      t.check(got.inputs[at] === asIndex(input), () => `${c.label} row ${o} terms [${from}, ${to}) term ${term}: input ${got.inputs[at]}, expected ${input}`);
      if (withWeights) t.check(got.weights[at] === BigInt(r.weight(o, term)), () => `${c.label} row ${o} term ${term}: weight ${got.weights[at]}, expected ${r.weight(o, term)}`);
    }
    t.check(got.padded[q] === mask, () => `${c.label} row ${o} terms [${from}, ${to}): mask ${got.padded[q].toString(2)}, expected ${mask.toString(2)}`);
  });
  t.check(got.inputs.length === at && got.weights.length === (withWeights ? at : 0), () => `${c.label}: term batch lengths`);
}

async function checkElementwise(h: Harness, c: OpCase, rng: Rng, t: Tally): Promise<void> {
  const out = c.shapes[c.k + 1];
  const size = sizeOf(out);
  const maps = c.op.kind === "add" || c.op.kind === "mul" ? c.op.inputs.map((v) => broadcastIndexMap(c.shapes[v], out)) : [(i: number) => i];
  if (maps.length === 2) {
    const [a, b] = c.op.inputs.map((v) => c.shapes[v]);
    if (sizeOf(a) !== sizeOf(b)) t.feature(`${c.op.kind} broadcast`);
    if (out.length === 3 && [a, b].some((s) => s[0] > 1 && s[1] === 1 && s[2] === 1 && (out[1] > 1 || out[2] > 1))) t.feature("broadcast over channels ([C,1,1])");
    if ([a, b].every((s) => sizeOf(s) < size)) t.feature("both operands broadcast");
  }
  for (const elements of chunksOf(sample(rng, size, 40, [0, size - 1]), BATCH * 2)) {
    const got = await h.elementBatch(c.descriptor, c.shapeWords, elements);
    t.check(got.length === elements.length * maps.length, () => `${c.label}: ${got.length} indices for ${elements.length} elements`);
    elements.forEach((i, q) =>
      maps.forEach((map, slot) => {
        const g = got[q * maps.length + slot];
        t.check(g === BigInt(map(i)), () => `${c.label} element ${i} input ${slot}: ${g}, expected ${map(i)}`);
      }),
    );
  }
}

async function checkView(h: Harness, c: OpCase, rng: Rng, t: Tally): Promise<void> {
  const out = c.shapes[c.k + 1];
  const size = sizeOf(out);
  const map = viewMap(c.op, c.op.inputs.map((v) => c.shapes[v]), out);
  if (c.op.kind === "slice" && c.op.steps.some((s) => s < 0)) t.feature("slice with a negative step");
  if (c.op.kind === "concat") t.feature(`concat along axis ${c.op.axis} of rank ${out.length}`);
  t.feature(c.op.kind);
  for (const elements of chunksOf(sample(rng, size, 120, [0, size - 1]), BATCH * 2)) {
    const got = await h.viewBatch(c.descriptor, c.shapeWords, elements);
    elements.forEach((i, q) => {
      const { slot, index } = map(i);
      const value = c.op.inputs[slot];
      t.check(got.slots[q] === BigInt(slot) && got.sources[q] === BigInt(value) && got.indices[q] === BigInt(index), () => `${c.label} element ${i}: (slot ${got.slots[q]}, value ${got.sources[q]}, index ${got.indices[q]}), expected (${slot}, ${value}, ${index})`);
    });
  }
}

/** Every op's model leaf, and elements of views resolved to a committed tensor on-chain. */
async function checkProgram(h: Harness, program: GraphProgram, shapes: readonly Shape[], cases: OpCase[], rng: Rng, t: Tally, label: string): Promise<void> {
  const leaves = opLeaves(program);
  const model = commitGraphModel(program);
  const got = await h.opLeafHashBatch(
    cases.map((c) => c.descriptor),
    leaves.map((l) => l.constantRoots.map((root) => ethers.hexlify(root))),
    cases.map((c) => c.shapeWords),
    leaves.map((l) => l.firstLeaf),
  );
  cases.forEach((c, k) => t.check(got[k] === ethers.hexlify(model.leaves[k + 1]), () => `${c.label}: model leaf ${got[k]}, expected ${ethers.hexlify(model.leaves[k + 1])}`));

  const values: number[] = [];
  const elements: number[] = [];
  program.ops.forEach((op, k) => {
    const n = isLayout(op) ? 12 : 1;
    for (let q = 0; q < n; q++) {
      values.push(k + 1);
      elements.push(rng.int(0, sizeOf(shapes[k + 1]) - 1));
    }
  });
  const resolved = await h.resolveBatch(
    cases.map((c) => c.descriptor),
    cases.map((c) => c.shapeWords),
    values,
    elements,
  );
  values.forEach((v, q) => {
    const want = resolveElement(program, shapes, v, elements[q]);
    if (resolved.hops[q] > 1n) t.feature("chain of views");
    t.check(resolved.outValues[q] === BigInt(want.value) && resolved.outIndices[q] === BigInt(want.index), () => `${label} value ${v} element ${elements[q]}: resolved to (${resolved.outValues[q]}, ${resolved.outIndices[q]}), expected (${want.value}, ${want.index})`);
  });
}

async function checkWholeProgram(h: Harness, program: GraphProgram, rng: Rng, t: Tally, label: string): Promise<void> {
  const shapes = validateProgram(program);
  const cases = program.ops.map((_, k) => opCase(program, shapes, k, label));
  for (const c of cases) {
    const op = c.op;
    if (op.kind === "conv") {
      const [, Cg, kH, kW] = c.program.constants[op.weight].shape;
      const C = Cg * op.groups;
      t.feature("conv");
      if (op.groups === C && C > 1) t.feature("conv depthwise");
      if (op.groups > 1 && op.groups < C) t.feature("conv grouped");
      if (op.dilations.some((d) => d > 1)) t.feature("conv dilated");
      if (op.strides[0] > kH || op.strides[1] > kW) t.feature("conv stride > kernel");
      if (op.pads[0] !== op.pads[2] || op.pads[1] !== op.pads[3]) t.feature("conv asymmetric pads");
    } else if (op.kind === "maxPool" || op.kind === "avgPool" || op.kind === "dense" || op.kind === "globalAvgPool" || op.kind === "add" || op.kind === "mul" || op.kind === "clamp" || op.kind === "table") {
      t.feature(op.kind);
    }
    switch (op.kind) {
      case "dense":
      case "conv":
      case "maxPool":
      case "avgPool":
      case "globalAvgPool":
        await checkReduce(h, c, rng, t);
        break;
      case "add":
      case "mul":
      case "clamp":
      case "table":
        await checkElementwise(h, c, rng, t);
        break;
      default:
        await checkView(h, c, rng, t);
    }
  }
  await checkProgram(h, program, shapes, cases, rng, t, label);
}

// ------------------------------------------------------------------------------------------------
// The hand-made program: every edge case at least once
// ------------------------------------------------------------------------------------------------

function int8(rng: Rng, shape: Shape): Constant {
  return { dtype: "int8", shape, data: Int8Array.from({ length: sizeOf(shape) }, () => rng.int(-3, 3)) };
}

function int32(shape: Shape): Constant {
  return { dtype: "int32", shape, data: Int32Array.from({ length: sizeOf(shape) }, (_, i) => i * 7 - 3) };
}

const RQ = { multiplier: [1 << 20], shift: [30], clampLo: -128, clampHi: 127 };

/**
 * Input [4, 9, 8]. v1 depthwise conv (stride > kernel on both axes, asymmetric pads, dilation), v2 grouped conv,
 * v3 conv of 60-term rows (a chunk of 32, then 28), v4 MaxPool, v5 dilated AvgPool, v6 GlobalAvgPool (72-term rows),
 * v7/v8 Mul by the [4,1,1] gate on either side, v9/v10 slices (v10 with negative steps on every axis), v11 Add of
 * [1,9,8] and [4,1,8] (both operands broadcast), v12–v14 concat along axes 0, 1, 2, v15 transpose, v16 slice with
 * mixed steps, v17 flatten, v18 Dense of 80-term rows, v19 reshape, v20 clamp, v21 table, v22 transpose, v23 a
 * conv 2 wide of 48-term rows (six chunks of 8 terms over two weight leaves), v24 transpose, v25 a 3-wide conv
 * dilated by 16 across the width (its window rows span 33 columns: 24-term rows in chunks of 8).
 */
function edgeProgram(rng: Rng): GraphProgram {
  const constants: Constant[] = [
    int8(rng, [8, 1, 3, 2]),
    int32([8]),
    int8(rng, [6, 2, 3, 3]),
    int32([6]),
    int8(rng, [3, 4, 3, 5]),
    int32([3]),
    int8(rng, [5, 80]),
    int32([5]),
    { dtype: "int8", shape: [256], data: Int8Array.from({ length: 256 }, (_, i) => (i * 37) % 256) },
    int8(rng, [2, 8, 3, 2]),
    int32([2]),
    int8(rng, [2, 4, 2, 3]),
    int32([2]),
  ];
  const ops: Op[] = [
    { kind: "conv", inputs: [0], weight: 0, bias: 1, strides: [4, 3], pads: [2, 0, 1, 3], dilations: [2, 1], groups: 4, ...RQ },
    { kind: "conv", inputs: [0], weight: 2, bias: 3, strides: [1, 2], pads: [1, 2, 0, 1], dilations: [1, 2], groups: 2, ...RQ },
    { kind: "conv", inputs: [0], weight: 4, bias: 5, strides: [2, 2], pads: [2, 2, 2, 2], dilations: [1, 1], groups: 1, ...RQ },
    { kind: "maxPool", inputs: [0], kernel: [3, 3], strides: [2, 2], pads: [1, 1, 1, 1], dilations: [1, 1] },
    { kind: "avgPool", inputs: [0], kernel: [2, 3], strides: [1, 3], pads: [1, 0, 0, 2], dilations: [2, 1], multiplier: 1, shift: 3, clampLo: -128, clampHi: 127 },
    { kind: "globalAvgPool", inputs: [0], multiplier: 1, shift: 6, clampLo: -128, clampHi: 127 },
    { kind: "mul", inputs: [0, 6], multiplier: 1, shift: 7, clampLo: -128, clampHi: 127 },
    { kind: "mul", inputs: [6, 0], multiplier: 1, shift: 7, clampLo: -128, clampHi: 127 },
    { kind: "slice", inputs: [0], starts: [1, 0, 0], steps: [1, 1, 1], sizes: [1, 9, 8] },
    { kind: "slice", inputs: [0], starts: [3, 8, 7], steps: [-1, -1, -1], sizes: [4, 1, 8] },
    { kind: "add", inputs: [9, 10], multiplierA: 1, shiftA: 1, multiplierB: 1, shiftB: 1, clampLo: -128, clampHi: 127 },
    { kind: "concat", inputs: [0, 11], axis: 0 },
    { kind: "concat", inputs: [0, 7], axis: 1 },
    { kind: "concat", inputs: [0, 11, 8], axis: 2 },
    { kind: "transpose", inputs: [14], perm: [2, 0, 1] },
    { kind: "slice", inputs: [15], starts: [23, 1, 8], steps: [-2, 2, -3], sizes: [12, 2, 3] },
    { kind: "flatten", inputs: [4] },
    { kind: "dense", inputs: [17], weight: 6, bias: 7, ...RQ },
    { kind: "reshape", inputs: [16], shape: [6, 12] },
    { kind: "clamp", inputs: [19], lo: -20, hi: 30 },
    { kind: "table", inputs: [20], table: 8 },
    { kind: "transpose", inputs: [21], perm: [1, 0] },
    { kind: "conv", inputs: [12], weight: 9, bias: 10, strides: [1, 1], pads: [1, 0, 1, 1], dilations: [1, 1], groups: 1, ...RQ },
    { kind: "transpose", inputs: [23], perm: [0, 2, 1] },
    { kind: "conv", inputs: [14], weight: 11, bias: 12, strides: [1, 1], pads: [0, 5, 0, 5], dilations: [1, 16], groups: 1, ...RQ },
  ];
  return { inputShape: [4, 9, 8], constants, ops };
}

// ------------------------------------------------------------------------------------------------

describe("LibGraphIndex: the index maps on-chain agree with core/graph bit for bit", () => {
  let h: Harness;

  before(async () => {
    await initKeccak();
    h = (await (await ethers.getContractFactory("GraphIndexHarness")).deploy()) as unknown as Harness;
  });

  it(`on the hand-made program and ${PROGRAMS} seeded random programs (seed ${SEED}): every reduce chunk, term range, broadcast, view, chain of views and model leaf compared`, async () => {
    const started = Date.now();
    const t = new Tally();
    const rng = new Rng(SEED);
    let label = `seed ${SEED} (0x${SEED.toString(16)}) hand-made program`;
    let program = edgeProgram(rng);
    let ops = 0;
    try {
      await checkWholeProgram(h, program, rng, t, label);
      ops += program.ops.length;
      for (let p = 0; p < PROGRAMS; p++) {
        program = randomProgram(rng);
        label = `seed ${SEED} (0x${SEED.toString(16)}) program ${p}`;
        await checkWholeProgram(h, program, rng, t, label);
        ops += program.ops.length;
      }
    } catch (e) {
      throw new Error(`${label} (replay: GRAPH_INDEX_SEED=${SEED}): ${(e as Error).message}\n${describeProgram(program)}`);
    }
    const seconds = (Date.now() - started) / 1000;
    console.log(`      ${t.compared} positions compared over ${ops} ops of ${PROGRAMS + 1} programs, ${t.mismatches} mismatches, ${seconds.toFixed(1)} s (seed ${SEED})`);
    console.log(`      features: ${[...t.features].map(([f, n]) => `${f} ×${n}`).join(", ")}`);
    expect(t.mismatches, `seed ${SEED} (replay: GRAPH_INDEX_SEED=${SEED}):\n${t.messages.join("\n")}`).to.equal(0);
    const required = [
      "conv depthwise",
      "conv grouped",
      "conv dilated",
      "conv stride > kernel",
      "conv asymmetric pads",
      "conv rows with padded cells",
      "maxPool rows with padded cells",
      "avgPool rows with padded cells",
      "row of several chunks",
      "partial last chunk",
      "narrow conv: several 8-term chunks in one weight leaf",
      "narrow conv: a row over several weight leaves",
      "narrow conv: a window row wider than a word (dilated)",
      "chunk mixing padded and real cells",
      "dense",
      "globalAvgPool",
      "broadcast over channels ([C,1,1])",
      "both operands broadcast",
      "clamp",
      "table",
      "flatten",
      "reshape",
      "transpose",
      "slice with a negative step",
      "concat along axis 0 of rank 3",
      "concat along axis 1 of rank 3",
      "concat along axis 2 of rank 3",
      "concat along axis 0 of rank 1",
      "chain of views",
    ];
    expect(required.filter((f) => !t.features.has(f)), "features never reached").to.deep.equal([]);
  });

  describe("refuses malformed descriptors and shapes with custom errors", () => {
    const rng = new Rng(7);
    const program = edgeProgram(rng);
    const shapes = validateProgram(program);
    const c = (k: number) => opCase(program, shapes, k, "edge");
    const conv = c(0);
    const big = c(2);
    const maxPool = c(3);
    const add = c(10);
    const concat = c(13);
    const transpose = c(14);
    const slice = c(15);
    const reshape = c(18);
    const word = (v: bigint) => ethers.toBeHex(BigInt.asUintN(256, v), 32);

    it("the wrong op for the function", async () => {
      await expect(h.chunkTerms(add.descriptor, add.shapeWords, 0, 0)).to.be.revertedWithCustomError(h, "GraphIndexWrongOp").withArgs(6);
      await expect(h.elementInputs(conv.descriptor, conv.shapeWords, 0)).to.be.revertedWithCustomError(h, "GraphIndexWrongOp").withArgs(2);
      await expect(h.viewSource(add.descriptor, add.shapeWords, 0)).to.be.revertedWithCustomError(h, "GraphIndexWrongOp").withArgs(6);
      await expect(h.chunkWeightLeaf(maxPool.descriptor, maxPool.shapeWords, 0, 0)).to.be.revertedWithCustomError(h, "GraphIndexNoWeights").withArgs(3);
      await expect(h.chunkTerms([], conv.shapeWords, 0, 0)).to.be.revertedWithCustomError(h, "GraphIndexDescriptorEmpty");
    });

    it("descriptors of the wrong length, arity or field range", async () => {
      await expect(h.chunkTerms(conv.descriptor.slice(0, -1), conv.shapeWords, 0, 0)).to.be.revertedWithCustomError(h, "GraphIndexDescriptorLength").withArgs(2, 19, 18);
      await expect(h.chunkTerms([...conv.descriptor, word(0n)], conv.shapeWords, 0, 0)).to.be.revertedWithCustomError(h, "GraphIndexDescriptorLength").withArgs(2, 19, 20);
      const twoInputs = [...add.descriptor];
      twoInputs[1] = word(3n);
      await expect(h.elementInputs(twoInputs, add.shapeWords, 0)).to.be.revertedWithCustomError(h, "GraphIndexArity").withArgs(6, 3);
      const negativePad = [...conv.descriptor];
      negativePad[7] = word(-1n);
      await expect(h.chunkTerms(negativePad, conv.shapeWords, 0, 0)).to.be.revertedWithCustomError(h, "GraphIndexField").withArgs(2, 7, -1);
      const zeroStride = [...maxPool.descriptor];
      zeroStride[5] = word(0n);
      await expect(h.chunkTerms(zeroStride, maxPool.shapeWords, 0, 0)).to.be.revertedWithCustomError(h, "GraphIndexField").withArgs(3, 5, 0);
      const channels = [...conv.descriptor];
      channels[14] = word(100n); // 100 channels: no inline pair, so two words too many
      await expect(h.chunkTerms(channels, conv.shapeWords, 0, 0)).to.be.revertedWithCustomError(h, "GraphIndexDescriptorLength").withArgs(2, 17, 19);
      const noChannels = [...conv.descriptor];
      noChannels[14] = word(0n);
      await expect(h.chunkTerms(noChannels, conv.shapeWords, 0, 0)).to.be.revertedWithCustomError(h, "GraphIndexField").withArgs(2, 14, 0);
      const notPerm = [...transpose.descriptor];
      notPerm[5] = notPerm[4];
      await expect(h.viewSource(notPerm, transpose.shapeWords, 0)).to.be.revertedWithCustomError(h, "GraphIndexField").withArgs(34, 5, 2);
      const outside = [...slice.descriptor];
      outside[8] = word(-3n); // steps of axis 0: 23 − 11·3 < 0
      await expect(h.viewSource(outside, slice.shapeWords, 0)).to.be.revertedWithCustomError(h, "GraphIndexField").withArgs(36, 8, -3);
      const zeroStep = [...slice.descriptor];
      zeroStep[8] = word(0n);
      await expect(h.viewSource(zeroStep, slice.shapeWords, 0)).to.be.revertedWithCustomError(h, "GraphIndexField").withArgs(36, 8, 0);
      const badAxis = [...concat.descriptor];
      badAxis[5] = word(3n);
      await expect(h.viewSource(badAxis, concat.shapeWords, 0)).to.be.revertedWithCustomError(h, "GraphIndexField").withArgs(35, 5, 3);
      await expect(h.inputValue(add.descriptor, 2)).to.be.revertedWithCustomError(h, "GraphIndexSlotOutOfRange").withArgs(2, 2);
    });

    it("a per-channel Dense or Conv: the requantisation constant's shape [L, 2] after the weight's and the bias's", async () => {
      const op = { ...(conv.op as Extract<Op, { kind: "conv" }>), multiplier: new Array(8).fill(1 << 20), shift: new Array(8).fill(30) };
      const perChannel = opCase({ ...program, ops: program.ops.map((o, k) => (k === 0 ? op : o)) }, shapes, 0, "per-channel");
      expect(perChannel.descriptor.length).to.equal(17);
      expect(perChannel.shapeWords.slice(-3)).to.deep.equal([2n, 8n, 2n]);
      await h.chunkTerms(perChannel.descriptor, perChannel.shapeWords, 0, 0);
      await expect(h.chunkTerms(perChannel.descriptor, perChannel.leafShapeWords, 0, 0)).to.be.revertedWithCustomError(h, "GraphIndexShapeCount").withArgs(2, 5, 2);
      await expect(h.chunkTerms(perChannel.descriptor, conv.shapeWords, 0, 0)).to.be.revertedWithCustomError(h, "GraphIndexShapeCount").withArgs(2, 5, 4);
      const wide = [...perChannel.shapeWords];
      wide[wide.length - 1] = 3n;
      await expect(h.chunkTerms(perChannel.descriptor, wide, 0, 0)).to.be.revertedWithCustomError(h, "GraphIndexShapeMismatch").withArgs(2, 4, 1, 2, 3);
      const fewer = [...perChannel.shapeWords];
      fewer[fewer.length - 2] = 4n;
      await expect(h.chunkTerms(perChannel.descriptor, fewer, 0, 0)).to.be.revertedWithCustomError(h, "GraphIndexShapeMismatch").withArgs(2, 4, 0, 8, 4);
    });

    it("shapes that are malformed or do not fit the op", async () => {
      // Conv without its weight's shape: the kernel is in neither the descriptor nor the value shapes.
      await expect(h.chunkTerms(conv.descriptor, conv.leafShapeWords, 0, 0)).to.be.revertedWithCustomError(h, "GraphIndexShapeCount").withArgs(2, 4, 2);
      const words = [...conv.shapeWords];
      words[6] += 1n; // OH
      await expect(h.chunkTerms(conv.descriptor, words, 0, 0)).to.be.revertedWithCustomError(h, "GraphIndexShapeMismatch").withArgs(2, 1, 1, 2, 3);
      const cg = [...conv.shapeWords];
      cg[10] = 2n; // weight [8, 2, 3, 2] with C/G = 1
      await expect(h.chunkTerms(conv.descriptor, cg, 0, 0)).to.be.revertedWithCustomError(h, "GraphIndexShapeMismatch").withArgs(2, 2, 1, 1, 2);
      await expect(h.chunkTerms(conv.descriptor, [...conv.shapeWords, 5n], 0, 0)).to.be.revertedWithCustomError(h, "GraphIndexShapeRank").withArgs(conv.shapeWords.length, 5, conv.shapeWords.length + 1);
      const zeroDim = [...conv.shapeWords];
      zeroDim[2] = 0n;
      await expect(h.chunkTerms(conv.descriptor, zeroDim, 0, 0)).to.be.revertedWithCustomError(h, "GraphIndexShapeDim").withArgs(0, 1, 0);
      await expect(h.decodeShapes([0n])).to.be.revertedWithCustomError(h, "GraphIndexShapeRank").withArgs(0, 0, 1);
      await expect(h.decodeShapes([3n, 1n << 40n, 1n, 1n])).to.be.revertedWithCustomError(h, "GraphIndexShapeDim").withArgs(0, 0, 1n << 40n);
      await expect(h.decodeShapes([3n, 1n << 31n, 1n << 31n, 8n])).to.be.revertedWithCustomError(h, "GraphIndexShapeSize").withArgs(0);
      // Add of [1,9,8] and [4,1,8] claimed to make [4,9,7].
      const addWords = [...add.shapeWords];
      addWords[11] = 7n;
      await expect(h.elementInputs(add.descriptor, addWords, 0)).to.be.revertedWithCustomError(h, "GraphIndexShapeMismatch").withArgs(6, 2, 2, 8, 7);
      const reshapeWords = [...reshape.shapeWords];
      reshapeWords[reshapeWords.length - 1] = 11n;
      await expect(h.viewSource(reshape.descriptor, reshapeWords, 0)).to.be.revertedWithCustomError(h, "GraphIndexShapeMismatch").withArgs(33, 1, 1, 12, 11);
      await expect(h.viewSource(concat.descriptor, concat.leafShapeWords.slice(4), 0)).to.be.revertedWithCustomError(h, "GraphIndexShapeCount").withArgs(35, 4, 3);
    });

    it("rows, chunks, term ranges and elements out of range", async () => {
      const r = reductionOf(program, big.op as ReducingOp, shapes[0]);
      await expect(h.chunkTerms(big.descriptor, big.shapeWords, r.rows, 0)).to.be.revertedWithCustomError(h, "GraphIndexRowOutOfRange").withArgs(r.rows, r.rows);
      await expect(h.chunkTerms(big.descriptor, big.shapeWords, 0, 2)).to.be.revertedWithCustomError(h, "GraphIndexChunkOutOfRange").withArgs(2, 2);
      await expect(h.chunkWeightLeaf(big.descriptor, big.shapeWords, 0, 2)).to.be.revertedWithCustomError(h, "GraphIndexChunkOutOfRange").withArgs(2, 2);
      await expect(h.terms(big.descriptor, big.shapeWords, 0, 5, 5)).to.be.revertedWithCustomError(h, "GraphIndexTermRange").withArgs(5, 5, 60);
      await expect(h.terms(big.descriptor, big.shapeWords, 0, 0, 61)).to.be.revertedWithCustomError(h, "GraphIndexTermRange").withArgs(0, 61, 60);
      const size = sizeOf(shapes[11]);
      await expect(h.elementInputs(add.descriptor, add.shapeWords, size)).to.be.revertedWithCustomError(h, "GraphIndexElementOutOfRange").withArgs(size, size);
      const cSize = sizeOf(shapes[14]);
      await expect(h.viewSource(concat.descriptor, concat.shapeWords, cSize)).to.be.revertedWithCustomError(h, "GraphIndexElementOutOfRange").withArgs(cSize, cSize);
      await expect(h.shapeAt(add.shapeWords, 3)).to.be.revertedWithCustomError(h, "GraphIndexSlotOutOfRange").withArgs(3, 3);
    });

    it("shape words round-trip", async () => {
      const decoded = await h.decodeShapes(concat.shapeWords);
      expect(decoded.map((s) => s.map(Number))).to.deep.equal([...concat.op.inputs.map((v) => shapes[v]), shapes[14]]);
      expect(await h.encodeShapes(decoded.map((s) => [...s]))).to.deep.equal(concat.shapeWords);
      expect((await h.shapeAt(concat.shapeWords, 2)).map(Number)).to.deep.equal(shapes[8]);
    });
  });

  it("gas of one chunk, one broadcast element and one view element", async () => {
    const rng = new Rng(11);
    const program = edgeProgram(rng);
    const shapes = validateProgram(program);
    const c = (k: number) => opCase(program, shapes, k, "edge");
    const rowWithPadding = (k: number) => {
      const op = program.ops[k] as ReducingOp;
      const r = reductionOf(program, op, shapes[op.inputs[0]]);
      for (let o = 0; o < r.rows; o++) for (let t = 0; t < Math.min(32, r.rowLength); t++) if (r.input(o, t) < 0) return o;
      return 0;
    };
    const rows: [string, bigint][] = [];
    const chunk = async (name: string, k: number) => {
      const x = c(k);
      const [gas] = await h.gasChunk(x.descriptor, x.shapeWords, rowWithPadding(k), 0);
      rows.push([name, gas]);
    };
    await chunk("Conv chunk, 32 terms (C 4, 3×5 kernel, pads 2; row with padded cells)", 2);
    await chunk("Conv chunk, depthwise (6 terms, dilated, stride > kernel)", 0);
    await chunk("Dense chunk, 32 terms", 17);
    await chunk("MaxPool chunk, 9 terms", 3);
    await chunk("GlobalAvgPool chunk, 32 terms", 5);
    const leaf = c(2);
    rows.push(["Conv chunk's weight leaf", (await h.gasWeightLeaf(leaf.descriptor, leaf.shapeWords, 5, 1))[0]]);
    const element = async (name: string, k: number, i: number) => {
      const x = c(k);
      rows.push([name, (await h.gasElement(x.descriptor, x.shapeWords, i))[0]]);
    };
    await element("Mul element, [4,9,8] × [4,1,1] gate", 6, 200);
    await element("Add element, [1,9,8] + [4,1,8]", 10, 200);
    await element("Clamp element", 19, 50);
    const view = async (name: string, k: number, i: number) => {
      const x = c(k);
      rows.push([name, (await h.gasView(x.descriptor, x.shapeWords, i))[0]]);
    };
    await view("Transpose element, rank 3", 14, 500);
    await view("Slice element, rank 3, negative steps", 15, 40);
    await view("Concat element, 3 inputs along axis 2", 13, 250);
    await view("Reshape element", 18, 40);
    const ls = opLeaves(program)[2];
    rows.push(["Conv model leaf hash", (await h.gasLeafHash(leaf.descriptor, ls.constantRoots.map((r) => ethers.hexlify(r)), leaf.shapeWords, ls.firstLeaf))[0]]);
    console.log("      gas (library call from calldata, copies included):");
    for (const [name, gas] of rows) console.log(`        ${name.padEnd(72)} ${gas.toString().padStart(7)}`);
    for (const [name, gas] of rows) expect(gas, name).to.be.lessThan(GAS_CEILING);
  });
});
