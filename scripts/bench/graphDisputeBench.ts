import { existsSync, readFileSync } from "node:fs";
import path from "node:path";
import hre from "hardhat";
import { type Address, type EIP1193Provider, createPublicClient, createWalletClient, custom } from "viem";
import { hardhat } from "viem/chains";
import type { RefutePublicClient, RefuteWalletClient } from "../../core/chain/rpcClients";
import { OrtGraphRunner } from "../../core/graph/ortGraphRunner";
import { type GraphProgram, isLayout, sizeOf } from "../../core/graph/program";
import { opStages } from "../../core/graph/stages";
import { GraphTraceProvider } from "../../core/graph/traceProvider";
import { GraphReason, STAGE_REDUCE } from "../../core/graph/game/gameState";
import { gameTraceOf } from "../../core/graph/game/gameTrace";
import { type FoldLie, liar } from "../../core/graph/game/lies";
import { type GraphGameActor, type GraphPlayedMove, deployGraphGame, openGraphGame, playGraphGame } from "../../core/graph/game/gameClient";
import { leafInfo, programFacts } from "../../core/graph/game/stepOpenings";
import { initKeccak } from "../../core/keccak";
import { treeDepth } from "../../core/merkle";
import { loadMnist } from "../../core/mnist";
import { importGraphModel } from "../../core/modelImport/graph/importGraphModel";
import { quantiseInput } from "../../core/quantise";
import { Rng } from "../../core/rng";
import { BIG_CONV_NET, bigConvNet, parameterCount } from "../lib/bigConvNet";
import { table } from "./timing";

/**
 * The worst-case dispute of a graph program per op kind, played automatically on Hardhat's in-process
 * chain through the viem client of the graph game (core/graph/game/gameClient.ts): for each op kind a
 * model has (and its output leaf), a lying asserter (core/graph/game/lies.ts) with one wrong element
 * in a stage of that kind, defending the lie to the step, against the honest challenger. The lie is
 * put where the game is longest: the stage with the deepest tensor tree (the descent), the one with
 * the longest row (the fold dissection, the step at chunk 0: a full chunk and the bias), the one whose
 * operands are read through the most views, and the one the two dissections together make longest;
 * each is played and the game with the most gas is the row. Every transaction's gas is recorded (the
 * open included, each a transaction of its own); any above 500k gas is flagged, not hidden.
 *
 * Models: the imported CNN (models/mnist-cnn, 200 calibration digits), the imported MobileNet-style
 * model (models/mobilenet-style) and the VGG-like network of over 10M parameters
 * (scripts/lib/bigConvNet.ts, random int8 input, its trace from onnxruntime). Quick: the CNN only.
 */

export const GAS_TARGET = 500_000n;
const CLOCK = 3_600n;
const CALIBRATION = 200;
const MODELS = path.join(__dirname, "..", "..", "models");

export interface GraphDisputeRun {
  readonly model: string;
  /** The op kind of the lied stage, or "output" for the output leaf. */
  readonly kind: string;
  /** Why this leaf was chosen (descent, row, views, longest). */
  readonly why: readonly string[];
  readonly leaf: number;
  readonly element: number;
  readonly where: string;
  readonly moves: readonly (GraphPlayedMove | { readonly by: "opener"; readonly name: "open"; readonly gas: bigint })[];
  readonly transactions: number;
  readonly totalGas: bigint;
  readonly largest: { readonly name: string; readonly gas: bigint };
  readonly asserterWon: boolean;
  readonly reason: string;
  /** The step's computed value equals the honest run's there. */
  readonly stepMatchesHonest: boolean;
  readonly seconds: number;
}

export interface GraphDisputeModelRun {
  readonly model: string;
  readonly parameters: number;
  readonly leafCount: number;
  /** The program's computing op kinds, in the order they first appear (views left out). */
  readonly opKinds: readonly string[];
  /** Every game played, in order. */
  readonly games: readonly GraphDisputeRun[];
  /** The worst game (most gas) of each op kind, in the program's order, the output last. */
  readonly rows: readonly GraphDisputeRun[];
  /** Transactions above GAS_TARGET over all its games. */
  readonly overTarget: readonly { readonly kind: string; readonly where: string; readonly move: string; readonly gas: bigint }[];
  readonly setupSeconds: number;
}

interface Model {
  readonly name: string;
  readonly honest: GraphTraceProvider;
  readonly setupSeconds: number;
}

/** A candidate leaf to lie at, and the reasons it was chosen. */
interface Candidate {
  readonly kind: string;
  readonly leaf: number;
  readonly element: number;
  readonly how: FoldLie;
  readonly why: string[];
  readonly where: string;
}

/** Views (layout ops) between op `v`'s inputs and the values that compute them. */
function viewHops(program: GraphProgram, v: number): number {
  const op = program.ops[v - 1];
  let hops = 0;
  const walk = (w: number, depth: number): void => {
    if (w === 0 || depth > 16) return;
    const u = program.ops[w - 1];
    if (!isLayout(u)) return;
    hops++;
    for (const x of u.inputs) walk(x, depth + 1);
  };
  for (const w of op.inputs) walk(w, 0);
  return hops;
}

/** An element in the middle of a stage's tensor: the centre pixel of the middle channel for [C, H, W] (no padded terms). */
function middleElement(shape: readonly number[]): number {
  if (shape.length === 3) {
    const [C, H, W] = shape;
    return Math.floor(C / 2) * H * W + Math.floor(H / 2) * W + Math.floor(W / 2);
  }
  return Math.floor(sizeOf(shape) / 2);
}

/** The leaves to lie at, per op kind: the deepest tree, the longest row, the most views, the longest estimated game. */
export function worstCandidates(honest: GraphTraceProvider, quick = false): Candidate[] {
  const { program, leafCount } = honest;
  const { shapes } = programFacts(program);
  const byKind = new Map<string, { leaf: number; depth: number; chunks: number; hops: number; moves: number; where: string; element: number }[]>();
  for (let leaf = 1; leaf < leafCount; leaf++) {
    const info = leafInfo(program, leafCount, leaf);
    const output = leaf === leafCount - 1;
    const op = program.ops[info.opValue - 1];
    const kind = output ? "output" : op.kind;
    const perLeaf = info.bits === 8 ? 32 : 8;
    const depth = treeDepth(Math.max(1, Math.ceil(info.elements / perLeaf)));
    const chunks = info.kind === STAGE_REDUCE ? info.chunks : 0;
    const hops = output ? 0 : viewHops(program, info.opValue);
    // Moves beyond the prefix dissection: reveal + pick per 4 levels, post + pick per 64-ary fold round.
    const moves = 2 * Math.ceil(depth / 4) + (chunks > 1 ? 2 * Math.ceil(Math.log(chunks) / Math.log(64) - 1e-9) : 0);
    const stage = output ? "output" : opStages(op, shapes[info.opValue])[info.stage].name;
    const where = `leaf ${leaf}, op ${info.opValue} \`${stage}\`${chunks ? `, ${chunks} chunk${chunks > 1 ? "s" : ""}` : ""}${hops ? `, ${hops} view${hops > 1 ? "s" : ""}` : ""}`;
    const list = byKind.get(kind) ?? [];
    list.push({ leaf, depth, chunks, hops, moves, where, element: middleElement(output ? shapes[program.ops.length] : shapes[info.opValue]) });
    byKind.set(kind, list);
  }
  const out: Candidate[] = [];
  for (const [kind, list] of byKind) {
    const best = (why: string, score: (c: (typeof list)[number]) => number[]) => {
      const sorted = [...list].sort((a, b) => {
        const x = score(a);
        const y = score(b);
        for (let k = 0; k < x.length; k++) if (x[k] !== y[k]) return y[k] - x[k];
        return a.leaf - b.leaf;
      });
      return { c: sorted[0], why };
    };
    const picks = [
      best("longest", (c) => [c.moves, c.chunks, c.hops, c.depth]),
      ...(quick ? [] : [best("descent", (c) => [c.depth, c.chunks]), best("row", (c) => [c.chunks, c.depth]), best("views", (c) => [c.hops, c.chunks, c.depth])]),
    ].filter((p) => p.why !== "views" || p.c.hops > 0);
    const seen = new Map<number, Candidate>();
    for (const { c, why } of picks) {
      const known = seen.get(c.leaf);
      if (known) known.why.push(why);
      else seen.set(c.leaf, { kind, leaf: c.leaf, element: c.element, how: "jumpFirst", why: [why], where: c.where });
    }
    out.push(...seen.values());
  }
  return out;
}

function clientsOf(provider: EIP1193Provider, account: Address): { publicClient: RefutePublicClient; walletClient: RefuteWalletClient } {
  return {
    publicClient: createPublicClient({ chain: hardhat, transport: custom(provider), pollingInterval: 10 }) as unknown as RefutePublicClient,
    walletClient: createWalletClient({ chain: hardhat, transport: custom(provider), account, pollingInterval: 10 }) as unknown as RefuteWalletClient,
  };
}

async function importedModel(name: string, file: string, digits: ReturnType<typeof loadMnist>): Promise<Model | undefined> {
  if (!existsSync(file)) return undefined;
  const t0 = Date.now();
  const imported = await importGraphModel(readFileSync(file), { calibration: digits.train.slice(0, CALIBRATION).map((d) => d.pixels) });
  const honest = GraphTraceProvider.fromInput(imported.program, quantiseInput(digits.test[0].pixels, imported.scales[0]));
  return { name, honest, setupSeconds: (Date.now() - t0) / 1000 };
}

async function bigModel(): Promise<Model> {
  const t0 = Date.now();
  const program = bigConvNet();
  const input = new Rng(7).int8Array(sizeOf(program.inputShape));
  const runner = await OrtGraphRunner.create(program);
  try {
    const honest = GraphTraceProvider.fromTrace(program, await runner.run(input));
    return { name: `VGG-like ${BIG_CONV_NET.stages.flat().length} conv (random int8)`, honest, setupSeconds: (Date.now() - t0) / 1000 };
  } finally {
    await runner.release();
  }
}

const fmtGas = (n: bigint) => n.toLocaleString("en-US");

export async function benchGraphDisputes(options: { quick: boolean }): Promise<{ table: string; results: GraphDisputeModelRun[] }> {
  await initKeccak();
  await hre.run("compile", { quiet: true });
  const provider = hre.network.provider as unknown as EIP1193Provider;
  const [deployer, opener, asserter, challenger] = (await createWalletClient({ chain: hardhat, transport: custom(provider) }).getAddresses()) as Address[];
  const d = clientsOf(provider, deployer);
  const contracts = await deployGraphGame(d.publicClient, d.walletClient);
  const actor = (account: Address): GraphGameActor => ({ ...clientsOf(provider, account), game: contracts.game });

  const digits = loadMnist();
  const loaders: (() => Promise<Model | undefined>)[] = [
    () => importedModel("mnist-cnn (LeNet, imported)", path.join(MODELS, "mnist-cnn", "float.onnx"), digits),
    ...(options.quick ? [] : [() => importedModel("mobilenet-style (imported)", path.join(MODELS, "mobilenet-style", "float.onnx"), digits), bigModel]),
  ];
  const results: GraphDisputeModelRun[] = [];
  let key = 0;
  for (const load of loaders) {
    const m = await load();
    if (!m) continue;
    const honestTrace = gameTraceOf(m.honest);
    const games: GraphDisputeRun[] = [];
    for (const c of worstCandidates(m.honest, options.quick)) {
      const t0 = Date.now();
      const lie = liar(m.honest, { leaf: c.leaf, element: c.element }, c.how);
      const opened = await openGraphGame(actor(opener), `graph bench ${key++}`, lie, { asserter, challenger }, CLOCK);
      const played = await playGraphGame(opened.gameId, opened.blockNumber, { asserter: { actor: actor(asserter), trace: lie }, challenger: { actor: actor(challenger), trace: honestTrace } });
      const moves = [{ by: "opener" as const, name: "open" as const, gas: opened.gasUsed }, ...played.moves];
      const largest = moves.reduce((a, x) => (x.gas > a.gas ? x : a));
      // The value the chain computed at the step is the honest run's there.
      const info = leafInfo(m.honest.program, m.honest.leafCount, Number(played.state.leaf));
      const truth =
        info.kind === STAGE_REDUCE ? BigInt(honestTrace.partialFolds(Number(played.state.leaf), Number(played.state.index))[Number(played.state.lo) + 1]) : BigInt(honestTrace.element(Number(played.state.leaf), Number(played.state.index)));
      games.push({
        model: m.name,
        kind: c.kind,
        why: c.why,
        leaf: c.leaf,
        element: c.element,
        where: c.where,
        moves,
        transactions: moves.length,
        totalGas: moves.reduce((a, x) => a + x.gas, 0n),
        largest: { name: largest.name, gas: largest.gas },
        asserterWon: played.state.asserterWon,
        reason: GraphReason[played.state.reason],
        stepMatchesHonest: played.stepped !== undefined && played.stepped.computed === truth,
        seconds: (Date.now() - t0) / 1000,
      });
    }
    const rows: GraphDisputeRun[] = [];
    for (const g of games) {
      const k = rows.findIndex((r) => r.kind === g.kind);
      if (k < 0) rows.push(g);
      else if (g.totalGas > rows[k].totalGas) rows[k] = g;
    }
    const overTarget = games.flatMap((g) => g.moves.filter((x) => x.gas > GAS_TARGET).map((x) => ({ kind: g.kind, where: g.where, move: x.name, gas: x.gas })));
    const opKinds = [...new Set(m.honest.program.ops.filter((op) => !isLayout(op)).map((op) => op.kind))];
    results.push({ model: m.name, parameters: parameterCount(m.honest.program), leafCount: m.honest.leafCount, opKinds, games, rows, overTarget, setupSeconds: m.setupSeconds });
  }
  return { results, table: graphDisputeTables(results) };
}

/** A table per model: op kind, where the lie is, transactions, total gas, largest transaction; flags above 500k. */
export function graphDisputeTables(runs: readonly GraphDisputeModelRun[]): string {
  const parts: string[] = [];
  for (const r of runs) {
    const rows = r.rows.map((g) => [
      g.kind,
      `${g.where} (${g.why.join(", ")})`,
      g.transactions,
      fmtGas(g.totalGas),
      `${fmtGas(g.largest.gas)} ${g.largest.name}${g.largest.gas > GAS_TARGET ? " **> 500k**" : ""}`,
      g.asserterWon ? `**asserter** (${g.reason})` : `challenger (${g.reason})`,
    ]);
    parts.push(
      `**${r.model}** (${r.parameters.toLocaleString("en-US")} parameters, ${r.leafCount} trace leaves; ${r.games.length} games, setup ${r.setupSeconds.toFixed(1)} s, games ${r.games.reduce((a, g) => a + g.seconds, 0).toFixed(1)} s)\n\n` +
        table(["lie in", "worst game (the lie's leaf, why it was chosen)", "txs", "total gas", "largest transaction", "won by"], rows),
    );
    const over = r.overTarget.map((o) => `${o.kind} (${o.where}): ${o.move} ${fmtGas(o.gas)}`);
    parts.push(over.length ? `Above 500k gas: ${over.join("; ")}.` : "No transaction above 500k gas.");
  }
  return parts.join("\n\n");
}

/** Move by move, the worst game of each row of a model. */
export function graphDisputeMoves(run: GraphDisputeModelRun): string {
  return run.rows.map((g) => `- ${g.kind} (${g.where}): ${g.moves.map((m) => `${m.name} ${fmtGas(m.gas)}`).join(", ")}`).join("\n");
}

//   npx hardhat run scripts/bench/graphDisputeBench.ts                      # full
//   GRAPH_BENCH_QUICK=1 npx hardhat run scripts/bench/graphDisputeBench.ts  # the CNN only
if (require.main === module) {
  const quick = process.env.GRAPH_BENCH_QUICK === "1" || process.argv.includes("--quick");
  const started = Date.now();
  benchGraphDisputes({ quick })
    .then((r) => {
      console.log(`## Graph programs: the worst-case dispute per op kind (Hardhat network)\n\n${r.table}\n`);
      for (const run of r.results) console.log(`${run.model}, the worst game of each row move by move:\n\n${graphDisputeMoves(run)}\n`);
      console.log(`(${((Date.now() - started) / 1000).toFixed(1)} s)`);
    })
    .catch((e) => {
      console.error(e);
      process.exitCode = 1;
    });
}
