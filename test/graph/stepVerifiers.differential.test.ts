import { expect } from "chai";
import { readFileSync } from "node:fs";
import path from "node:path";
import { type ErrorFragment, Interface } from "ethers";
import { ethers } from "hardhat";
import type { GraphStepHarness, StepRouter } from "../../typechain-types";
import { descriptorWords } from "../../core/graph/descriptor";
import { constantTree, requantTree } from "../../core/graph/commitments";
import { type Op, type OpKind, OP_CODES, isLayout, sizeOf } from "../../core/graph/program";
import { opStages } from "../../core/graph/stages";
import * as S from "../../core/graph/step";
import { hardSwishTable } from "../../core/graph/tables";
import { GraphTraceProvider } from "../../core/graph/traceProvider";
import { validateProgram } from "../../core/graph/validate";
import { INT32_MAX, INT32_MIN, MULTIPLIER_MAX, SHIFT_MAX } from "../../core/intSemantics";
import { initKeccak } from "../../core/keccak";
import { loadMnist } from "../../core/mnist";
import { importGraphModel } from "../../core/modelImport/graph/importGraphModel";
import { quantiseInput } from "../../core/quantise";
import { chunks, flipBit, hex } from "../helpers/bytes";
import { Rng, describeProgram, randomInputs, randomProgram } from "./randomPrograms";

/**
 * The Solidity step verifiers (contracts/steps/, behind StepRouter, called through
 * contracts/test/GraphStepHarness.sol) against their TypeScript twin core/graph/step.ts and the
 * reference executor's traces: on seeded random programs (test/graph/randomPrograms.ts), for random
 * elements of every stage of every op, the row's start, every chunk of its fold and every
 * elementwise step are computed from operands opened in the trace, and Solidity, TypeScript and the
 * trace must give the same number. Refusals must be the same custom error with the same values.
 * GRAPH_STEP_SEED and GRAPH_STEP_PROGRAMS replay another seed or change the count.
 */
const SEED = Number(process.env.GRAPH_STEP_SEED ?? 0x5733e9) >>> 0;
const PROGRAMS = Number(process.env.GRAPH_STEP_PROGRAMS ?? 300);
/** Held-out digits whose CNN traces are checked. */
const CNN_DIGITS = 12;
/** Elements of each stage of each op (plus the first and the last, sometimes). */
const ELEMENTS_PER_STAGE = 3;
const GAS_LIMIT = 500_000;
const COMPUTING_KINDS = ["dense", "conv", "maxPool", "avgPool", "globalAvgPool", "add", "mul", "clamp", "table"] as const satisfies readonly OpKind[];
type ComputingKind = (typeof COMPUTING_KINDS)[number];
const pick = <T>(rng: Rng, items: readonly T[]): T => items[rng.int(0, items.length - 1)];

const word = (w: bigint): string => ethers.toBeHex(BigInt.asUintN(256, w), 32);
const words = (op: Op): string[] => descriptorWords(op).map(word);

type Expectation = { readonly value: number } | { readonly error: string; readonly args: readonly bigint[] };

interface AbiCtx {
  descriptor: string[];
  constantRoots: string[];
  stage: number;
  element: number;
  elements: number;
}

interface BaseCase {
  readonly label: string;
  readonly kind: OpKind;
  /** The TypeScript twin's context; absent when the case cannot be expressed as an op (a malformed descriptor). */
  readonly ctx?: S.StepContext;
  readonly abi: AbiCtx;
  readonly expect?: Expectation;
}
type Case =
  | (BaseCase & { readonly entry: "init"; readonly operands: bigint[] })
  | (BaseCase & { readonly entry: "chunk"; readonly accBefore: bigint; readonly inputs: bigint[]; readonly weights: bigint[]; readonly padded: bigint })
  | (BaseCase & { readonly entry: "step"; readonly operands: bigint[]; readonly witness: Uint8Array[] });

type Outcome = { readonly value: number } | { readonly error: string; readonly args: readonly bigint[] };

function abiCtx(ctx: S.StepContext): AbiCtx {
  return { descriptor: words(ctx.op), constantRoots: ctx.constantRoots.map(hex), stage: ctx.stage, element: ctx.element, elements: ctx.elements };
}

/** The TypeScript twin on one case. */
function twin(c: Case): Outcome | undefined {
  if (!c.ctx) return undefined;
  try {
    if (c.entry === "init") return { value: S.foldInit(c.ctx, c.operands) };
    if (c.entry === "chunk") return { value: S.foldChunk(c.ctx, c.accBefore, c.inputs, c.weights, c.padded) };
    return { value: S.step(c.ctx, c.operands, c.witness) };
  } catch (e) {
    if (e instanceof S.StepRefused) return { error: e.error, args: e.args };
    throw e;
  }
}

const show = (o: Outcome | undefined): string => (o === undefined ? "—" : "value" in o ? String(o.value) : `${o.error}(${o.args.join(", ")})`);
const same = (a: Outcome, b: Outcome): boolean =>
  "value" in a ? "value" in b && a.value === b.value : "error" in b && a.error === b.error && a.args.length === b.args.length && a.args.every((v, i) => v === b.args[i]);

/** Solidity, TypeScript and the expectation agree: undefined, or what differs. */
function disagreement(c: Case, sol: Outcome, ts: Outcome | undefined): string | undefined {
  const wrong = (c.expect && !same(c.expect, sol)) || (ts && !same(ts, sol)) || (c.expect && ts && !same(c.expect, ts));
  return wrong ? `${c.label}: Solidity ${show(sol)}, TypeScript ${show(ts)}, expected ${c.expect ? show(c.expect) : "agreement"}` : undefined;
}

describe("graph step verifiers: Solidity vs core/graph/step.ts vs the trace (differential)", function () {
  let harness: GraphStepHarness;
  let router: StepRouter;
  let errors: Interface;
  const verifierAddress = new Map<OpKind, string>();

  /**
   * Runs every case through the harness against `target` (the router unless told), `batch` cases an
   * eth_call, and returns Solidity's outcomes with each call's execution gas (the first call of a batch
   * finds the verifier's and the router's accounts and storage cold, as a game's transaction would).
   */
  async function solidity(cases: readonly Case[], target: string | StepRouter = router, batch = 120): Promise<{ outcome: Outcome; gas: number }[]> {
    const out: { outcome: Outcome; gas: number }[] = new Array(cases.length);
    const byEntry = { init: [] as number[], chunk: [] as number[], step: [] as number[] };
    cases.forEach((c, i) => byEntry[c.entry].push(i));
    const decode = (r: { ok: boolean; value: bigint; err: string }): Outcome => {
      if (r.ok) return { value: Number(r.value) };
      const parsed = errors.parseError(r.err);
      if (!parsed) return { error: `undecoded ${r.err}`, args: [] };
      return { error: parsed.name, args: parsed.args.map((a: unknown) => (typeof a === "bigint" ? a : BigInt(a as string))) };
    };
    for (const entry of ["init", "chunk", "step"] as const) {
      for (const ids of chunks(byEntry[entry], batch)) {
        const results =
          entry === "init"
            ? await harness.foldInitBatch(target, ids.map((i) => { const c = cases[i] as Extract<Case, { entry: "init" }>; return { ctx: c.abi, operands: c.operands }; }))
            : entry === "chunk"
              ? await harness.foldChunkBatch(target, ids.map((i) => { const c = cases[i] as Extract<Case, { entry: "chunk" }>; return { ctx: c.abi, accBefore: c.accBefore, inputs: c.inputs, weights: c.weights, padded: c.padded }; }))
              : await harness.stepBatch(target, ids.map((i) => { const c = cases[i] as Extract<Case, { entry: "step" }>; return { ctx: c.abi, operands: c.operands, witness: c.witness.map(hex) }; }));
        results.forEach((r, j) => (out[ids[j]] = { outcome: decode(r), gas: Number(r.gas) }));
      }
    }
    return out;
  }

  /** Runs `cases` on both sides; returns the disagreements. */
  async function check(cases: readonly Case[]): Promise<string[]> {
    const sol = await solidity(cases);
    const problems: string[] = [];
    cases.forEach((c, i) => {
      const d = disagreement(c, sol[i].outcome, twin(c));
      if (d) problems.push(d);
    });
    return problems;
  }

  before(async function () {
    await initKeccak();
    const deploy = async (name: string) => {
      const c = await (await ethers.getContractFactory(name)).deploy();
      await c.waitForDeployment();
      return c;
    };
    const mac = await deploy("MacStepVerifier");
    const pool = await deploy("PoolStepVerifier");
    const elementwise = await deploy("ElementwiseStepVerifier");
    const codes = COMPUTING_KINDS.map((k) => OP_CODES[k]);
    const verifierOf = (k: OpKind) => (k === "dense" || k === "conv" ? mac : k === "maxPool" || k === "avgPool" || k === "globalAvgPool" ? pool : elementwise);
    for (const k of COMPUTING_KINDS) verifierAddress.set(k, await verifierOf(k).getAddress());
    router = (await (await ethers.getContractFactory("StepRouter")).deploy(codes, await Promise.all(COMPUTING_KINDS.map((k) => verifierOf(k).getAddress())))) as unknown as StepRouter;
    await router.waitForDeployment();
    harness = (await deploy("GraphStepHarness")) as unknown as GraphStepHarness;
    const fragments = new Map<string, ErrorFragment>();
    for (const c of [mac, pool, elementwise, router]) for (const f of c.interface.fragments) if (f.type === "error") fragments.set(f.format(), f as ErrorFragment);
    errors = new Interface([...fragments.values()]);
    console.log(`      graph step seed: ${SEED} (GRAPH_STEP_SEED=${SEED} replays it), ${PROGRAMS} programs`);
  });

  /** The positions checked on one trace: what a test collects them into. */
  interface Collection {
    readonly rng: Rng;
    readonly cases: Case[];
    readonly perKind: Map<string, number>;
    readonly features: Set<string>;
    readonly stageKindChecks: { op: Op; label: string }[];
  }
  /** The tally key of an op kind's last entry: a max's chunks, a finished reduce's finishing step, an elementwise step. */
  const lastEntry = (kind: string): string => `${kind} ${kind === "maxPool" ? "chunk" : ["dense", "conv", "avgPool", "globalAvgPool"].includes(kind) ? "finish" : "step"}`;
  const collection = (seed: number): Collection => ({ rng: new Rng(seed), cases: [], perKind: new Map(), features: new Set(), stageKindChecks: [] });

  /**
   * Adds to `into` the cases of `provider`'s trace: for random elements of every stage of every
   * computing op (sometimes the first and the last too), the row's start and every chunk of a
   * reduce stage, or the elementwise step, each with the trace's value as the expected answer.
   */
  function collectCases(into: Collection, provider: GraphTraceProvider, where: string): void {
    const { rng, cases, features, stageKindChecks } = into;
    const count = (key: string) => into.perKind.set(key, (into.perKind.get(key) ?? 0) + 1);
    const program = provider.program;
    {
      const p = where;
      const trace = provider.trace;
      const shapes = validateProgram(program);
      const trees = provider.model.constants;
      program.ops.forEach((op, k) => {
        if (isLayout(op)) return;
        const value = k + 1;
        const n = sizeOf(shapes[value]);
        stageKindChecks.push({ op, label: `${p} v${value}` });
        opStages(op, shapes[value]).forEach((stage, s) => {
          const picks = new Set<number>();
          for (let e = 0; e < ELEMENTS_PER_STAGE; e++) picks.add(rng.int(0, n - 1));
          if (rng.float() < 0.3) picks.add(0).add(n - 1);
          for (const element of picks) {
            const label = `${p} v${value} (${op.kind}) stage ${stage.name} element ${element}`;
            const ctx = S.stepContext(program, shapes, value, s, element, trees);
            const abi = abiCtx(ctx);
            const tensor = trace.tensors[trace.layout.findIndex((e) => e.value === value && e.stage.name === stage.name)];
            if (stage.kind === "reduce") {
              const folds = provider.partialFolds(provider.leafOf(value, stage.name), element);
              expect(folds[folds.length - 1], label).to.equal(tensor[element]);
              const init = S.foldInitSources(program, shapes, value, s, element).map((src) => BigInt(S.readSource(program, trace, src)));
              cases.push({ entry: "init", label: `${label} s_0`, kind: op.kind, ctx, abi, operands: init, expect: { value: folds[0] } });
              count(`${op.kind} init`);
              const chunkTotal = S.chunkCount(program, shapes, value, s);
              expect(chunkTotal, label).to.equal(folds.length - (stage.finish ? 2 : 1));
              if (stage.finish) {
                // The finishing step: the element from the row's whole fold.
                const witness = S.requantWitness(op, element, ctx.elements);
                cases.push({ entry: "step", label: `${label} finish`, kind: op.kind, ctx, abi, operands: [BigInt(folds[chunkTotal])], witness, expect: { value: tensor[element] } });
                count(`${op.kind} finish`);
                if (op.kind === "conv" && op.multiplier.length > 1) features.add("conv per-channel requantisation");
                if (op.kind === "dense" && op.multiplier.length > 1) features.add("dense per-channel requantisation");
              }
              for (let c = 0; c < chunkTotal; c++) {
                const operands = S.chunkOperands(program, trace, S.chunkSources(program, shapes, value, s, element, c));
                const inputs = operands.inputs.map(BigInt);
                const weights = operands.weights.map(BigInt);
                if (operands.padded !== 0n) {
                  features.add(`${op.kind} padded chunk`);
                  // Padded cells are ignored whatever they hold: sometimes fill them with garbage, in range or not.
                  if (rng.float() < 0.5) {
                    inputs.forEach((_, t) => {
                      if ((operands.padded >> BigInt(t)) & 1n) {
                        inputs[t] = BigInt(pick(rng, [rng.int(-128, 127), 1000, -129, 128]));
                        if (weights.length) weights[t] = BigInt(pick(rng, [rng.int(-128, 127), -5000, 255]));
                      }
                    });
                  }
                }
                if (inputs.length === 32) features.add(`${op.kind} full chunk`);
                cases.push({ entry: "chunk", label: `${label} chunk ${c}/${chunkTotal}`, kind: op.kind, ctx, abi, accBefore: BigInt(folds[c]), inputs, weights, padded: operands.padded, expect: { value: folds[c + 1] } });
                count(`${op.kind} chunk`);
              }
            } else {
              const operands = S.stepSources(program, shapes, value, s, element).map((src) => BigInt(S.readSource(program, trace, src)));
              const witness = op.kind === "table" ? S.tableWitness(program, op, Number(operands[0]), trees[op.table]) : [];
              cases.push({ entry: "step", label, kind: op.kind, ctx, abi, operands, witness, expect: { value: tensor[element] } });
              count(`${op.kind} step`);
              if ((op.kind === "mul" || op.kind === "add") && op.inputs.some((v) => sizeOf(shapes[v]) !== n)) features.add(`${op.kind} broadcast`);
              if (op.inputs.some((v) => v > 0 && isLayout(program.ops[v - 1]))) features.add("operand behind a view");
            }
          }
        });
      });
    }
  }

  /** Checks the stage lists and every collected case on both sides; returns the disagreements and prints the tally. */
  async function checkCollection(into: Collection, what: string, started: number): Promise<string[]> {
    const { cases, perKind, features, stageKindChecks } = into;
    const kindProblems: string[] = [];
    for (const batch of chunks(stageKindChecks, 200)) {
      const [kinds, bits] = await harness.stageKindsBatch(router, batch.map((b) => words(b.op)));
      batch.forEach((b, i) => {
        const want = S.stageKinds(b.op);
        const got = { kinds: kinds[i].map(Number), bits: bits[i].map(Number) };
        if (JSON.stringify(got) !== JSON.stringify(want)) kindProblems.push(`${b.label} ${b.op.kind}: Solidity ${JSON.stringify(got)}, TypeScript ${JSON.stringify(want)}`);
      });
    }
    expect(kindProblems.slice(0, 10), `${what}: ${kindProblems.length} stage lists disagree`).to.deep.equal([]);
    const problems = await check(cases);
    const seconds = (Date.now() - started) / 1000;
    const table = [...perKind].sort().map(([k, v]) => `${k} ${v}`).join(", ");
    console.log(`      ${what}: ${cases.length} positions (${stageKindChecks.length} ops) checked in ${seconds.toFixed(1)} s: ${problems.length} mismatches`);
    console.log(`      ${table}`);
    if (features.size > 0) console.log(`      features: ${[...features].sort().join(", ")}`);
    return problems;
  }

  it("on seeded random programs: every stage kind, every row start, every chunk of random rows and random elementwise steps agree with the trace", async function () {
    const started = Date.now();
    const into = collection(SEED);
    const programs: string[] = [];
    for (let p = 0; p < PROGRAMS; p++) {
      const program = randomProgram(into.rng);
      programs.push(describeProgram(program));
      collectCases(into, GraphTraceProvider.fromInput(program, randomInputs(into.rng, program, 1)), `seed ${SEED} program ${p}`);
    }
    const { cases, perKind, features } = into;
    const problems = await checkCollection(into, `${PROGRAMS} random programs`, started);
    if (problems.length > 0) {
      const p = Number(/program (\d+)/.exec(problems[0])?.[1] ?? 0);
      expect.fail(`seed ${SEED} (GRAPH_STEP_SEED=${SEED} replays it): ${problems.length} of ${cases.length} positions disagree:\n  ${problems.slice(0, 10).join("\n  ")}\nprogram ${p}:\n${programs[p]}`);
    }
    for (const kind of COMPUTING_KINDS) expect(perKind.get(lastEntry(kind)) ?? 0, `seed ${SEED}: ${kind} steps`).to.be.greaterThan(5);
    for (const f of ["conv padded chunk", "maxPool padded chunk", "avgPool padded chunk", "conv per-channel requantisation", "mul broadcast", "operand behind a view"]) {
      expect(features.has(f), `seed ${SEED}: no ${f} among the random programs`).to.equal(true);
    }
  });

  it("on the convolutional MNIST model (models/mnist-cnn, imported): held-out digits' traces agree at every stage", async function () {
    const started = Date.now();
    const { train, test } = loadMnist();
    const pixels = (digits: readonly { pixels: Float32Array }[]) => digits.map((d) => d.pixels);
    const imported = await importGraphModel(readFileSync(path.join(__dirname, "../../models/mnist-cnn/float.onnx")), { calibration: pixels(train.slice(0, 200)) });
    const into = collection(SEED ^ 0xc22);
    const digits = test.slice(0, CNN_DIGITS);
    digits.forEach((d, k) => collectCases(into, GraphTraceProvider.fromInput(imported.program, quantiseInput(d.pixels, imported.scales[0])), `CNN held-out digit ${k}`));
    const problems = await checkCollection(into, `the CNN on ${digits.length} held-out digits`, started);
    expect(problems.slice(0, 10), `${problems.length} of ${into.cases.length} positions disagree`).to.deep.equal([]);
    for (const kind of ["conv", "maxPool", "dense"]) expect(into.perKind.get(lastEntry(kind)) ?? 0, kind).to.be.greaterThan(0);
  });

  // ---- refusals ----------------------------------------------------------------------------------

  /** Hand-made ops of every kind (their constants' roots: random words, except the Table's real one). */
  const table = hardSwishTable(0.05, 0.05);
  const tableRoot = () => constantTree({ dtype: "int8", shape: [256], data: table }).root;
  const sample: { [K in ComputingKind]: Extract<Op, { kind: K }> } = {
    dense: { kind: "dense", inputs: [0], weight: 0, bias: 1, multiplier: [MULTIPLIER_MAX], shift: [SHIFT_MAX], clampLo: -128, clampHi: 127 },
    conv: { kind: "conv", inputs: [0], weight: 0, bias: 1, strides: [1, 1], pads: [1, 1, 1, 1], dilations: [1, 1], groups: 1, multiplier: [1 << 30, 3], shift: [31, 2], clampLo: -100, clampHi: 100 },
    maxPool: { kind: "maxPool", inputs: [0], kernel: [6, 6], strides: [1, 1], pads: [0, 0, 0, 0], dilations: [1, 1] },
    avgPool: { kind: "avgPool", inputs: [0], kernel: [6, 6], strides: [1, 1], pads: [0, 0, 0, 0], dilations: [1, 1], multiplier: 7, shift: 8, clampLo: -128, clampHi: 127 },
    globalAvgPool: { kind: "globalAvgPool", inputs: [0], multiplier: MULTIPLIER_MAX, shift: 40, clampLo: 0, clampHi: 127 },
    add: { kind: "add", inputs: [1, 2], multiplierA: MULTIPLIER_MAX, shiftA: 31, multiplierB: 3, shiftB: 1, clampLo: -128, clampHi: 127 },
    mul: { kind: "mul", inputs: [1, 2], multiplier: MULTIPLIER_MAX, shift: 45, clampLo: -128, clampHi: 127 },
    clamp: { kind: "clamp", inputs: [0], lo: 0, hi: 6 },
    table: { kind: "table", inputs: [0], table: 0 },
  };
  /** Dense, Conv: random weight and bias roots, and the real root of a per-channel op's requantisation constant. */
  const roots = (op: Op): Uint8Array[] => {
    if (op.kind === "table") return [tableRoot()];
    if (op.kind !== "dense" && op.kind !== "conv") return [];
    const requant = requantTree(op);
    return [new Uint8Array(32).fill(1), new Uint8Array(32).fill(2), ...(requant ? [requant.root] : [])];
  };
  const ctxOf = (op: Op, stage: number, element = 0, elements = 64): S.StepContext => ({ op, constantRoots: roots(op), stage, element, elements });
  const refusal = (error: string, ...args: (number | bigint)[]): Expectation => ({ error, args: args.map(BigInt) });
  const tableWitness = (x: number) => {
    const tree = constantTree({ dtype: "int8", shape: [256], data: table });
    const leaf = (x + 128) >> 5;
    return [tree.leaf(leaf), ...tree.proof(leaf)];
  };
  /** A step; the witness of a per-channel Dense or Conv is its right one unless given. */
  const stepCase = (label: string, op: Op, operands: (number | bigint)[], expectation?: Expectation, over: Partial<S.StepContext> = {}, given?: Uint8Array[]): Case => {
    const stage = over.stage ?? opStages(op, []).length - 1;
    const ctx = { ...ctxOf(op, stage), ...over };
    const witness = given ?? S.requantWitness(op, ctx.element, ctx.elements);
    return { entry: "step", label, kind: op.kind, ctx, abi: abiCtx(ctx), operands: operands.map(BigInt), witness, expect: expectation };
  };
  const chunkCase = (label: string, op: Op, accBefore: number | bigint, inputs: (number | bigint)[], weights: (number | bigint)[], padded: bigint, expectation?: Expectation, over: Partial<S.StepContext> = {}): Case => {
    const ctx = { ...ctxOf(op, 0), ...over };
    return { entry: "chunk", label, kind: op.kind, ctx, abi: abiCtx(ctx), accBefore: BigInt(accBefore), inputs: inputs.map(BigInt), weights: weights.map(BigInt), padded, expect: expectation };
  };
  const initCase = (label: string, op: Op, operands: (number | bigint)[], expectation?: Expectation, over: Partial<S.StepContext> = {}): Case => {
    const ctx = { ...ctxOf(op, 0), ...over };
    return { entry: "init", label, kind: op.kind, ctx, abi: abiCtx(ctx), operands: operands.map(BigInt), expect: expectation };
  };
  /** A case whose descriptor words are `descriptor`, which no op encodes: Solidity only. */
  const raw = (c: Case, descriptor: string[], expectation: Expectation): Case => ({ ...c, ctx: undefined, abi: { ...c.abi, descriptor }, expect: expectation });
  const full = (v: number) => new Array<number>(32).fill(v);

  it("refuses operands outside int8/int32, bad chunks, stages, elements, channels, witnesses and constant roots, in both languages", async function () {
    const { dense, conv, maxPool, avgPool, globalAvgPool, add, mul, clamp } = sample;
    // 8 channels of 8 elements: channel 5 (element 40) is in leaf 1 of the requantisation constant's 2 leaves.
    const conv8: Op = { ...conv, multiplier: [1, 2, 3, 4, 5, 6, 7, 8].map((m) => m << 20), shift: new Array(8).fill(30) };
    const conv8Witness = (element: number) => S.requantWitness(conv8, element, 64);
    const cases: Case[] = [
      // operands outside their type
      stepCase("add a = 128", add, [128, 0], refusal("GraphStepOperandOutOfRange", 0, 128)),
      stepCase("add b = −129", add, [0, -129], refusal("GraphStepOperandOutOfRange", 1, -129)),
      stepCase("mul a = 2^255 − 1", mul, [(1n << 255n) - 1n, 1], refusal("GraphStepOperandOutOfRange", 0, (1n << 255n) - 1n)),
      stepCase("clamp x = 200", clamp, [200], refusal("GraphStepOperandOutOfRange", 0, 200)),
      stepCase("table x = −129", sample.table, [-129], refusal("GraphStepOperandOutOfRange", 0, -129), {}, tableWitness(-128)),
      stepCase("dense out acc = 2^31", dense, [2n ** 31n], refusal("GraphStepOperandOutOfRange", 0, 2n ** 31n)),
      stepCase("avgPool out sum = −2^31 − 1", avgPool, [INT32_MIN - 1], refusal("GraphStepOperandOutOfRange", 0, INT32_MIN - 1)),
      initCase("dense bias = 2^31", dense, [2n ** 31n], refusal("GraphStepOperandOutOfRange", 0, 2n ** 31n)),
      chunkCase("dense input 128", dense, 0, [1, 128], [1, 1], 0n, refusal("GraphStepInputOutOfRange", 1, 128)),
      chunkCase("conv weight −129", conv, 0, [1, 2, 3], [1, 1, -129], 0n, refusal("GraphStepWeightOutOfRange", 2, -129)),
      chunkCase("avgPool input −200", avgPool, 0, [-200], [], 0n, refusal("GraphStepInputOutOfRange", 0, -200)),
      chunkCase("maxPool input 128", maxPool, -128, [0, 0, 128], [], 0n, refusal("GraphStepInputOutOfRange", 2, 128)),
      chunkCase("dense partial sum 2^31", dense, 2n ** 31n, [1], [1], 0n, refusal("GraphStepPartialOutOfRange", 2n ** 31n)),
      chunkCase("globalAvgPool partial sum −2^31 − 1", globalAvgPool, INT32_MIN - 1, [1], [], 0n, refusal("GraphStepPartialOutOfRange", INT32_MIN - 1)),
      chunkCase("maxPool partial max 128", maxPool, 128, [1], [], 0n, refusal("GraphStepPartialOutOfRange", 128)),
      // chunk shapes
      chunkCase("dense 33 terms", dense, 0, new Array(33).fill(1), new Array(33).fill(1), 0n, refusal("GraphStepChunkLength", 33)),
      chunkCase("sum of no terms", avgPool, 0, [], [], 0n, refusal("GraphStepChunkLength", 0)),
      chunkCase("conv 3 inputs, 2 weights", conv, 0, [1, 2, 3], [1, 2], 0n, refusal("GraphStepWeightCount", 3, 2)),
      chunkCase("maxPool with weights", maxPool, 0, [1, 2], [1, 2], 0n, refusal("GraphStepWeightCount", 2, 2)),
      chunkCase("padded bit past the chunk", conv, 0, [1, 2, 3], [1, 2, 3], 0b1001n, refusal("GraphStepPaddedMask", 0b1001, 3)),
      // masked entries are ignored, even out of range
      chunkCase("conv padded garbage ignored", conv, 5, [1, 1000, 3], [2, -7000, 4], 0b010n, { value: 5 + 2 + 12 }),
      chunkCase("maxPool padding never wins", maxPool, -128, [-100, 127, -50], [], 0b010n, { value: -50 }),
      // stages and elements
      stepCase("dense stage 1", dense, [0], refusal("GraphStepStageOutOfRange", 1, 1), { stage: 1 }),
      chunkCase("dense chunk of stage 1", dense, 0, [1], [1], 0n, refusal("GraphStepStageOutOfRange", 1, 1), { stage: 1 }),
      stepCase("conv finishing step: its one stage folds and steps", conv, [1000], undefined, { stage: 0 }),
      initCase("avgPool start of its finished reduce", avgPool, [], { value: 0 }),
      stepCase("maxPool step", maxPool, [0], refusal("GraphStepWrongStageKind", 3, 0, 1), { stage: 0 }),
      initCase("add has no fold", add, [], refusal("GraphStepWrongStageKind", 6, 0, 2)),
      chunkCase("table has no fold", sample.table, 0, [1], [], 0n, refusal("GraphStepWrongStageKind", 9, 0, 2)),
      stepCase("element = elements", clamp, [0], refusal("GraphStepElementOutOfRange", 64, 64), { element: 64 }),
      chunkCase("element past the end", dense, 0, [1], [1], 0n, refusal("GraphStepElementOutOfRange", 70, 64), { element: 70 }),
      stepCase("2 channels do not divide 63 elements", conv, [0], refusal("GraphStepChannels", 63, 2), { elements: 63 }),
      // operand counts, witnesses, constant roots
      stepCase("add with one operand", add, [1], refusal("GraphStepOperandCount", 2, 1)),
      initCase("dense start without its bias", dense, [], refusal("GraphStepOperandCount", 1, 0)),
      initCase("maxPool start with an operand", maxPool, [5], refusal("GraphStepOperandCount", 0, 1)),
      stepCase("table without witness", sample.table, [3], refusal("GraphStepWitnessLength", 4, 0)),
      stepCase("table witness of 3 words", sample.table, [3], refusal("GraphStepWitnessLength", 4, 3), {}, tableWitness(3).slice(0, 3)),
      stepCase("table leaf of another entry", sample.table, [3], refusal("GraphStepTableOpening", 131), {}, tableWitness(-128)),
      stepCase("table leaf with a flipped bit", sample.table, [3], refusal("GraphStepTableOpening", 131), {}, [flipBit(tableWitness(3)[0], 77), ...tableWitness(3).slice(1)]),
      stepCase("table under another root", sample.table, [3], refusal("GraphStepTableOpening", 131), { constantRoots: [new Uint8Array(32)] }, tableWitness(3)),
      stepCase("mul with a witness", mul, [1, 1], refusal("GraphStepWitnessLength", 0, 1), {}, [new Uint8Array(32)]),
      stepCase("dense with one constant root", dense, [0], refusal("GraphStepConstantRoots", 2, 1), { constantRoots: [new Uint8Array(32)] }),
      stepCase("clamp with a constant root", clamp, [0], refusal("GraphStepConstantRoots", 0, 1), { constantRoots: [new Uint8Array(32)] }),
      // descriptor fields out of range (the ops validation would refuse)
      stepCase("multiplier 2^31", { ...dense, multiplier: [2 ** 31] }, [5], refusal("GraphStepMultiplierOutOfRange", 2 ** 31)),
      stepCase("multiplier −1", { ...avgPool, multiplier: -1 }, [5], refusal("GraphStepMultiplierOutOfRange", -1)),
      stepCase("shift 0", { ...mul, shift: 0 }, [5, 5], refusal("GraphStepShiftOutOfRange", 0)),
      stepCase("shift 63 (operand b)", { ...add, shiftB: 63 }, [5, 5], refusal("GraphStepShiftOutOfRange", 63)),
      stepCase("clamp lo > hi", { ...clamp, lo: 5, hi: 4 }, [0], refusal("GraphStepClampOutOfRange", 5, 4)),
      stepCase("clamp hi 128", { ...globalAvgPool, clampHi: 128 }, [0], refusal("GraphStepClampOutOfRange", 0, 128)),
      stepCase("per-channel multiplier of channel 1 out of range", { ...conv, multiplier: [1, -1] }, [5], refusal("GraphStepMultiplierOutOfRange", -1), { element: 40 }),
      stepCase("per-channel shift of channel 0 out of range", { ...conv, shift: [63, 2] }, [5], refusal("GraphStepShiftOutOfRange", 63), { element: 3 }),
      // per-channel requantisation: channel c's pair opened under the requantisation constant's root
      stepCase("conv8 channel 5", conv8, [1 << 10], { value: 6 }, { element: 40 }),
      stepCase("conv8 without its witness", conv8, [5], refusal("GraphStepWitnessLength", 2, 0), { element: 40 }, []),
      stepCase("conv8 witness without its sibling", conv8, [5], refusal("GraphStepWitnessLength", 2, 1), { element: 40 }, conv8Witness(40).slice(0, 1)),
      stepCase("conv8 leaf of channels 0–3 for channel 5", conv8, [5], refusal("GraphStepRequantOpening", 5), { element: 40 }, conv8Witness(0)),
      stepCase("conv8 leaf with a flipped bit", conv8, [5], refusal("GraphStepRequantOpening", 5), { element: 40 }, [flipBit(conv8Witness(40)[0], 3), conv8Witness(40)[1]]),
      stepCase("conv8 under another root", conv8, [5], refusal("GraphStepRequantOpening", 5), { element: 40, constantRoots: [...roots(conv8).slice(0, 2), new Uint8Array(32)] }),
      stepCase("conv8 with two constant roots", conv8, [5], refusal("GraphStepConstantRoots", 3, 2), { element: 40, constantRoots: roots(conv8).slice(0, 2) }),
      stepCase("conv8 operand checked before the opening", conv8, [2n ** 31n], refusal("GraphStepOperandOutOfRange", 0, 2n ** 31n), { element: 40 }, conv8Witness(0)),
      stepCase("dense (one pair) with a witness", dense, [5], refusal("GraphStepWitnessLength", 0, 1), {}, [new Uint8Array(32)]),
    ];
    // Descriptors that no op encodes: Solidity only.
    const d = words(dense);
    const c = words(conv);
    const tooLong = [...d, word(0n)];
    cases.push(
      raw(stepCase("dense with an extra word", dense, [0]), tooLong, refusal("GraphStepDescriptorLength", 1, d.length, tooLong.length)),
      raw(stepCase("conv missing its clampHi", conv, [0]), c.slice(0, -1), refusal("GraphStepDescriptorLength", 2, c.length, c.length - 1)),
      raw(stepCase("dense cut inside its fields", dense, [0]), d.slice(0, 4), refusal("GraphStepDescriptorLength", 1, 8, 4)),
      raw(stepCase("dense claiming 9 channels with an inline pair", dense, [0]), [...d.slice(0, 5), word(9n), ...d.slice(6)], refusal("GraphStepDescriptorLength", 1, 8, d.length)),
      raw(stepCase("dense with a huge channel count", dense, [0]), [...d.slice(0, 5), word(-1n), ...d.slice(6)], refusal("GraphStepDescriptorLength", 1, 8, d.length)),
      raw(stepCase("dense with 0 channels", dense, [0]), [...d.slice(0, 5), word(0n), ...d.slice(8)], refusal("GraphStepRequantChannels", 0)),
      raw(stepCase("conv with 2 channels and an inline pair", conv, [0]), [...c.slice(0, 15), word(1n), word(1n), ...c.slice(15)], refusal("GraphStepDescriptorLength", 2, 17, c.length + 2)),
      raw(stepCase("dense with two inputs", dense, [0]), [word(1n), word(2n), word(0n), word(0n), ...d.slice(4, -1)], refusal("GraphStepArity", 1, 2)),
      raw(stepCase("add with one input", add, [0, 0]), [word(6n), word(1n), ...words(add).slice(3), word(0n)], refusal("GraphStepArity", 6, 1)),
      raw(stepCase("clamp with an extra word", clamp, [0]), [...words(clamp), word(0n)], refusal("GraphStepDescriptorLength", 8, 5, 6)),
      raw(stepCase("maxPool without dilations", maxPool, [0], undefined, { stage: 0 }), words(maxPool).slice(0, 11), refusal("GraphStepDescriptorLength", 3, 13, 11)),
      raw(stepCase("empty descriptor", clamp, [0]), [], refusal("GraphStepDescriptorEmpty")),
      raw(stepCase("unknown op code 10", clamp, [0]), [word(10n), ...words(clamp).slice(1)], refusal("StepRouterUnknownOp", 10)),
      raw(stepCase("a view (flatten, 32)", clamp, [0]), [word(32n), word(1n), word(0n)], refusal("StepRouterUnknownOp", 32)),
      raw(stepCase("op code 2^255", clamp, [0]), [word(1n << 255n), ...words(clamp).slice(1)], refusal("StepRouterUnknownOp", 1n << 255n)),
    );
    const problems = await check(cases);
    expect(problems, `seed ${SEED}`).to.deep.equal([]);
    // The TypeScript twin refuses layout ops as the verifiers do.
    expect(() => S.stageKinds({ kind: "flatten", inputs: [0] })).to.throw(S.StepRefused, /GraphStepUnsupportedOp\(32\)/);
    console.log(`      ${cases.length} refusals agree`);
  });

  it("reverts with the same errors outside try/catch: the router, a verifier given another family's op, a router built wrongly", async function () {
    const ctx = abiCtx(ctxOf(sample.add, 0));
    const elementwise = await ethers.getContractAt("ElementwiseStepVerifier", await router.verifierOf(6));
    await expect(router.step(ctx, [128, 0], [])).to.be.revertedWithCustomError(elementwise, "GraphStepOperandOutOfRange").withArgs(0, 128);
    await expect(router.step({ ...ctx, descriptor: [word(11n)] }, [], [])).to.be.revertedWithCustomError(router, "StepRouterUnknownOp").withArgs(11);
    await expect(router.stageKinds([word(33n), word(1n), word(0n), word(1n), word(5n)])).to.be.revertedWithCustomError(router, "StepRouterUnknownOp").withArgs(33);
    const mac = await ethers.getContractAt("MacStepVerifier", await router.verifierOf(1));
    await expect(mac.step(ctx, [1, 1], [])).to.be.revertedWithCustomError(mac, "GraphStepUnsupportedOp").withArgs(6);
    await expect(mac.stageKinds(words(sample.table))).to.be.revertedWithCustomError(mac, "GraphStepUnsupportedOp").withArgs(9);
    const pool = await ethers.getContractAt("PoolStepVerifier", await router.verifierOf(3));
    await expect(pool.foldInit(abiCtx(ctxOf(sample.dense, 0)), [1])).to.be.revertedWithCustomError(pool, "GraphStepUnsupportedOp").withArgs(1);
    expect((await router.opCodes()).map(Number)).to.deep.equal(COMPUTING_KINDS.map((k) => OP_CODES[k]));
    expect(await router.verifierOf(32)).to.equal(ethers.ZeroAddress);
    for (const [k, v] of [[1, mac], [3, pool]] as const) expect((await v.opCodes()).map(Number)).to.include(k);

    const factory = await ethers.getContractFactory("StepRouter");
    const [macAddress, poolAddress, ewAddress] = [await mac.getAddress(), await pool.getAddress(), await router.verifierOf(6)];
    const [eoa] = await ethers.getSigners();
    await expect(factory.deploy([1, 2], [macAddress])).to.be.revertedWithCustomError(router, "StepRouterLists").withArgs(2, 1);
    await expect(factory.deploy([], [])).to.be.revertedWithCustomError(router, "StepRouterLists").withArgs(0, 0);
    await expect(factory.deploy([0], [macAddress])).to.be.revertedWithCustomError(router, "StepRouterOpCodeOutOfRange").withArgs(0);
    await expect(factory.deploy([32], [macAddress])).to.be.revertedWithCustomError(router, "StepRouterOpCodeOutOfRange").withArgs(32);
    await expect(factory.deploy([1, 1], [macAddress, macAddress])).to.be.revertedWithCustomError(router, "StepRouterDuplicateOp").withArgs(1);
    await expect(factory.deploy([1], [eoa.address])).to.be.revertedWithCustomError(router, "StepRouterNotAContract").withArgs(1, eoa.address);
    await expect(factory.deploy([6], [macAddress])).to.be.revertedWithCustomError(router, "StepRouterVerifierRefusesOp").withArgs(6, macAddress);
    await expect(factory.deploy([1, 4], [macAddress, ewAddress])).to.be.revertedWithCustomError(router, "StepRouterVerifierRefusesOp").withArgs(4, ewAddress);
    // A router listing only some ops answers for those and refuses the rest.
    const partial = await factory.deploy([4], [poolAddress]);
    await expect(partial.stageKinds(words(sample.dense))).to.be.revertedWithCustomError(router, "StepRouterUnknownOp").withArgs(1);
    expect((await partial.stageKinds(words(sample.avgPool))).map((a) => a.map(Number))).to.deep.equal([[4], [8]]); // one finished reduce, int8
  });

  it("stays under 500k gas a transaction: a 32-term chunk and a step of every op kind, and per-channel descriptors by size", async function () {
    const { dense, conv, maxPool, avgPool, globalAvgPool, add, mul, clamp } = sample;
    // Worst cases: full chunks of extreme values (every calldata byte non-zero), extreme requantisation.
    const worst: Case[] = [
      initCase("dense s_0", dense, [INT32_MIN]),
      initCase("conv s_0", conv, [INT32_MAX]),
      initCase("maxPool s_0", maxPool, []),
      initCase("avgPool s_0", avgPool, []),
      initCase("globalAvgPool s_0", globalAvgPool, []),
      chunkCase("dense 32 terms", dense, INT32_MIN + 32 * 16384, full(-128), full(-128), 0n),
      chunkCase("conv 32 terms", conv, -(2 ** 30), full(-128), full(-127), 0n),
      chunkCase("maxPool 32 terms", maxPool, -128, full(-1), [], 0n),
      chunkCase("avgPool 32 terms", avgPool, INT32_MIN + 32 * 128, full(-128), [], 0n),
      chunkCase("globalAvgPool 32 terms", globalAvgPool, -1, full(-128), [], 0n),
      stepCase("dense out", dense, [INT32_MIN]),
      stepCase("conv out (2 channels)", conv, [INT32_MIN], undefined, { element: 63 }),
      stepCase("avgPool out", avgPool, [INT32_MIN]),
      stepCase("globalAvgPool out", globalAvgPool, [INT32_MAX]),
      stepCase("add", add, [-128, -128]),
      stepCase("mul", mul, [-128, -128]),
      stepCase("clamp", clamp, [-128]),
      stepCase("table", sample.table, [-1], undefined, {}, tableWitness(-1)),
    ];
    const problems = await check(worst);
    expect(problems, `seed ${SEED}`).to.deep.equal([]);

    /** Gas of one router transaction alone (eth_estimateGas: intrinsic, calldata at the EIP-7623 floor, execution). */
    const txGas = async (c: Case): Promise<number> => {
      if (c.entry === "init") return Number(await router.foldInit.estimateGas(c.abi, c.operands));
      if (c.entry === "chunk") return Number(await router.foldChunk.estimateGas(c.abi, c.accBefore, c.inputs, c.weights, c.padded));
      return Number(await router.step.estimateGas(c.abi, c.operands, c.witness.map(hex)));
    };
    const lines: string[] = [];
    for (const c of worst) {
      // One call an eth_call: every account and slot cold, as in a game's transaction.
      const [direct] = await solidity([c], verifierAddress.get(c.kind)!, 1);
      const [routed] = await solidity([c], router, 1);
      const tx = await txGas(c);
      const entry = c.entry === "init" ? "foldInit" : c.entry === "chunk" ? "foldChunk(32)" : "step";
      lines.push(`      ${c.kind.padEnd(14)} ${entry.padEnd(14)} ${String(direct.gas).padStart(9)} ${String(routed.gas).padStart(9)} ${String(tx).padStart(9)}`);
      expect(routed.gas, `${c.label}: ${routed.gas} gas through the router`).to.be.lessThan(GAS_LIMIT);
      expect(tx, `${c.label}: ${tx} gas as a transaction`).to.be.lessThan(GAS_LIMIT);
    }
    console.log(`      gas of the worst case of each op and entry, called from a contract (the verifier alone, through the router) and as a router transaction alone`);
    console.log(`      ${"op".padEnd(14)} ${"entry".padEnd(14)} ${"verifier".padStart(9)} ${"router".padStart(9)} ${"tx alone".padStart(9)}`);
    console.log(lines.join("\n"));

    // Per-channel requantisation: the descriptor holds the channel count, the step opens one leaf of the
    // requantisation constant (a witness of 1 + ⌈log2(⌈L/4⌉)⌉ words).
    const sizes: string[] = [];
    for (const channels of [1, 64, 256, 512, 1024, 4096]) {
      const op: Op = { ...conv, multiplier: new Array(channels).fill(MULTIPLIER_MAX), shift: new Array(channels).fill(SHIFT_MAX) };
      const c = stepCase(`conv out, ${channels} channels`, op, [INT32_MIN], undefined, { element: channels * 4 - 1, elements: channels * 4 });
      const [problem] = await check([c]);
      expect(problem).to.equal(undefined);
      const [routed] = await solidity([c], router, 1);
      const t = await txGas(c);
      sizes.push(`${channels}: ${routed.gas} / ${t}`);
      expect(t, `conv out step with ${channels} channels`).to.be.lessThan(GAS_LIMIT);
    }
    console.log(`      conv out step by requantisation channels (channels: router / tx alone): ${sizes.join(", ")}`);
  });
});
