import { expect } from "chai";
import { loadFixture } from "@nomicfoundation/hardhat-network-helpers";
import type { ContractTransactionResponse } from "ethers";
import type { ModelCommitment } from "../../core/commitments";
import { commitModel } from "../../core/commitments";
import { Reason, type Role } from "../../core/dispute/gameState";
import { propagatingLie, withSums } from "../../core/dispute/lies";
import type { DisputeTrace } from "../../core/dispute/planner";
import { initKeccak } from "../../core/keccak";
import { type IntegerModel, modelShape } from "../../core/model";
import { Rng } from "../../core/rng";
import { TraceProvider } from "../../core/traceProvider";
import { syntheticModel } from "../../scripts/lib/syntheticModel";
import { type Actor, type Played, honest, playGame } from "../helpers/gameActors";
import { type GameFixture, deployGame, mnistCommitment, submitJob } from "../helpers/gameFixture";
import { mnistInput, mnistModel } from "../helpers/marketFixture";
import { type GamePath, costlyElements, longestLayers, lyingChallenger, quittingNode, collateralFor, registerShape, timingOutNode } from "../helpers/disputeCostGames";

/**
 * Issue 10 item 6: the challenger's bond and a job's smallest collateral are sized from upper bounds on each
 * side's gas in the longest game on the model (LibDisputeCost, DisputeGame.gasBounds). For models at the
 * corners of the shape space (one layer narrow and wide, MNIST, two 4096-wide layers, 64 and 65 narrow
 * layers) this plays the longest game for each side on the Hardhat network and checks the gas that side
 * really pays (the sum of its receipts) against the bound, both ways: real ≤ bound (the bond and the
 * reward cover it) and, on each side's longest game, bound ≤ 3 × real (a regression of the formula that
 * inflates bonds and collateral is caught). After the run it prints each side's real gas against its bound
 * and the largest gas of every move kind; DISPUTE_COST_MOVES=1 also prints every game move by move.
 *
 * - challenger: a node that lies about the element with the longest descent and the most partial sums and
 *   defends its lie to the step; the honest challenger pays the challenge, every pick, the step (with the
 *   attempt's settlement), claimReward and withdraw. Variant: the node stops before its last move and the
 *   challenger ends the game by timeout.
 * - node: an honest node against a challenger that disputes its correct result down to the step and never
 *   steps; the node pays every reveal, the stated accumulator, every posted sum, the step and withdraw.
 *   Variant: the node times the challenger out at the step instead of stepping.
 */

const MAX_LOOSENESS = 2;

interface Shape {
  readonly name: string;
  readonly model: IntegerModel;
  readonly commitment: ModelCommitment;
  readonly input: Int8Array;
  /** The deployment's MNIST model (registered by deployGame); the others are registered by the fixture. */
  readonly mnist?: boolean;
}

interface Built extends Shape {
  readonly truth: TraceProvider;
  /** Cached: the lie of the lying node (the longest layer whose single-element lie reaches the output). */
  lie?: { readonly path: GamePath; readonly j: number; readonly trace: DisputeTrace; readonly output: Int8Array };
}

interface Row {
  readonly model: string;
  readonly layers: number;
  readonly maxWidth: number;
  readonly side: string;
  readonly path: string;
  readonly real: bigint;
  readonly bound: bigint;
}

interface MoveGas {
  readonly model: string;
  readonly side: string;
  readonly by: string;
  readonly name: string;
  readonly gas: bigint;
}

function synthetic(seed: number, sizes: number[]): Omit<Shape, "name"> {
  const rng = new Rng(seed);
  const model = syntheticModel(rng, { sizes, style: "scaled" });
  return { model, input: rng.int8Array(sizes[0]), commitment: commitModel(model) };
}

/**
 * The corners of the shape space: one layer narrow and wide (two reveals of the descent), MNIST (fan-in 784:
 * 24 sums), 2 × 4096 (two rounds of descent and of sums; building and committing it takes ~3 s), and 64 and
 * 65 narrow layers (63 roots in one round; two rounds of root dissection).
 */
const SHAPES: { readonly name: string; readonly make: () => Omit<Shape, "name"> }[] = [
  { name: "1 layer 4→10", make: () => synthetic(1, [4, 10]) },
  { name: "1 layer 40→600", make: () => synthetic(2, [40, 600]) },
  { name: "MNIST 784-128-64-10", make: () => ({ model: mnistModel().model, commitment: mnistCommitment(), input: new Int8Array(mnistInput(7).buffer), mnist: true }) },
  { name: "2 × 4096", make: () => synthetic(3, [4096, 4096, 4096]) },
  { name: "64 layers × 8", make: () => synthetic(4, Array<number>(65).fill(8)) },
  { name: "65 layers × 8", make: () => synthetic(5, Array<number>(66).fill(8)) },
];

const built: Built[] = [];
const modelIds = new Map<string, bigint>();
const rows: Row[] = [];
const moveGas: MoveGas[] = [];

/** The game contracts with every shape registered (a fresh chain for every game: first writes cost the most). */
async function world(): Promise<GameFixture> {
  const f = await deployGame();
  for (const s of built) modelIds.set(s.name, s.mnist ? f.modelId : await registerShape(f, s.model, s.commitment.root, s.name));
  return f;
}

async function gasOf(tx: Promise<ContractTransactionResponse>): Promise<bigint> {
  return (await (await tx).wait())!.gasUsed;
}

async function reasonOf(f: GameFixture, gameId: string): Promise<Reason> {
  const logs = await f.game.queryFilter(f.game.filters.GameResolved(gameId));
  return Number(logs[0].args.reason) as Reason;
}

function count(played: Played, name: string, by?: Role): number {
  return played.moves.filter((m) => m.name === name && (by === undefined || m.by === by)).length;
}

function describePath(p: GamePath, model: IntegerModel, j: number): string {
  const { nIn, nOut } = model.layers[p.layer - 1];
  return `layer ${p.layer} (${nIn}→${nOut}), j = ${j}: ${p.rootRounds} root rounds (${p.rootsRevealed} roots), ${p.descentRounds} descent, ${p.sumRounds} sum rounds (${p.sumsPosted} sums)`;
}

/** The lying node's trace: a single wrong element of the longest layer whose lie reaches the output, sums jumping at the last chunk. */
function lieOf(s: Built): NonNullable<Built["lie"]> {
  if (s.lie) return s.lie;
  const layers = longestLayers(s.model);
  for (const path of layers) {
    const found = propagatingLie(s.model, s.truth.trace, path.layer, costlyElements(s.model, s.truth.trace, path.layer));
    if (!found) continue;
    const lying = TraceProvider.fromTrace(s.model, s.commitment, found.trace);
    s.lie = { path, j: found.j, trace: withSums(lying, "jumpLast"), output: lying.output };
    return s.lie;
  }
  throw new Error(`${s.name}: no single-element lie reaches the output`);
}

/**
 * Checks a side's real gas against its bound; the step variant is that side's longest game (the timeout
 * variants are shorter), so the bound's looseness is checked there.
 */
async function record(f: GameFixture, s: Built, side: string, ending: "step" | "timeout", path: string, real: bigint, played: Played, extra: Omit<MoveGas, "side">[]) {
  const { layerCount, maxWidth } = modelShape(s.model);
  const [asserterBound, challengerBound] = await f.game.gasBounds(layerCount, maxWidth);
  const bound = side.startsWith("node") ? asserterBound : challengerBound;
  rows.push({ model: s.name, layers: layerCount, maxWidth, side, path, real, bound });
  for (const m of played.moves) moveGas.push({ model: s.name, side, by: m.by, name: m.name, gas: m.gas });
  moveGas.push(...extra.map((m) => ({ ...m, side })));
  expect(real, `${s.name}, ${side}: real gas ${real} exceeds the bound ${bound}`).to.be.at.most(bound);
  if (ending === "step") expect(bound, `${s.name}, ${side}: the bound ${bound} is over ${MAX_LOOSENESS} × the real gas ${real}`).to.be.at.most(real * BigInt(MAX_LOOSENESS));
}

/** (a) A lying node defends its lie to the end; the honest challenger catches it by the step or by timeout. */
async function challengerSide(s: Built, ending: "step" | "timeout") {
  const f = await loadFixture(world);
  const modelId = modelIds.get(s.name)!;
  const lie = lieOf(s);
  // The lie is on a layer as long as the model's longest game.
  const longest = longestLayers(s.model)[0];
  expect([lie.path.rootRounds, lie.path.descentRounds, lie.path.sumRounds]).to.deep.equal([longest.rootRounds, longest.descentRounds, longest.sumRounds]);
  const { jobId, job } = await submitJob(f, modelId, s.input, lie.trace, lie.output, await collateralFor(f, s.model));
  const bond = await f.game.bondFor(modelId);
  const challengeGas = await gasOf(f.game.connect(f.challenger).challenge(jobId, job, { value: bond }));
  const gameId = await f.game.gameIdOf(jobId, job.attempt, f.challenger.address);
  const node: Actor = ending === "step" ? honest("asserter", lie.trace) : quittingNode(lie.trace);
  const played = await playGame(f.game, gameId, { signer: f.node, actor: node }, { signer: f.challenger, actor: honest("challenger", s.truth) });
  expect(played.reverts, "no move reverted").to.deep.equal([]);
  expect(played.state.asserterWon, "the lying node lost").to.equal(false);
  expect(await reasonOf(f, gameId)).to.equal(ending === "step" ? Reason.StepFailed : Reason.Timeout);
  const p = lie.path;
  const lastPickSkipped = ending === "timeout" && p.sumRounds > 0 ? 1 : 0;
  expect(count(played, "pickRoots", "challenger")).to.equal(Math.max(1, p.rootRounds));
  expect(count(played, "pickNode", "challenger")).to.equal(Math.max(1, p.descentRounds));
  expect(count(played, "pickSums", "challenger")).to.equal(p.sumRounds - lastPickSkipped);
  expect(count(played, ending, "challenger")).to.equal(1);
  const claimGas = await gasOf(f.game.connect(f.challenger).claimReward(gameId));
  const withdrawGas = await gasOf(f.game.connect(f.challenger).withdraw());
  const moves = played.moves.filter((m) => m.by === "challenger").reduce((sum, m) => sum + m.gas, 0n);
  const extra: Omit<MoveGas, "side">[] = [
    { model: s.name, by: "challenger", name: "challenge", gas: challengeGas },
    { model: s.name, by: "challenger", name: "claimReward", gas: claimGas },
    { model: s.name, by: "challenger", name: "withdraw", gas: withdrawGas },
  ];
  await record(f, s, `challenger (${ending})`, ending, describePath(p, s.model, lie.j), challengeGas + moves + claimGas + withdrawGas, played, extra);
}

/** (b) A lying challenger drags a correct result to the step; the honest node steps (or times it out) and withdraws the bond. */
async function nodeSide(s: Built, ending: "step" | "timeout") {
  const f = await loadFixture(world);
  const modelId = modelIds.get(s.name)!;
  const path = longestLayers(s.model)[0];
  const j = costlyElements(s.model, s.truth.trace, path.layer)[0];
  const { jobId, job } = await submitJob(f, modelId, s.input, s.truth, s.truth.output, await collateralFor(f, s.model));
  const bond = await f.game.bondFor(modelId);
  await gasOf(f.game.connect(f.challenger).challenge(jobId, job, { value: bond }));
  const gameId = await f.game.gameIdOf(jobId, job.attempt, f.challenger.address);
  const node: Actor = ending === "step" ? honest("asserter", s.truth) : timingOutNode(s.truth);
  const played = await playGame(f.game, gameId, { signer: f.node, actor: node }, { signer: f.challenger, actor: lyingChallenger(s.truth, path.layer, j) });
  expect(played.reverts, "no move reverted").to.deep.equal([]);
  expect(played.state.asserterWon, "the honest node won").to.equal(true);
  expect(await reasonOf(f, gameId)).to.equal(ending === "step" ? Reason.StepHeld : Reason.Timeout);
  expect(count(played, "revealRoots", "asserter")).to.equal(path.rootRounds);
  expect(count(played, "revealNodes", "asserter")).to.equal(path.descentRounds);
  expect(count(played, "stateAccumulator", "asserter")).to.equal(1);
  expect(count(played, "postSums", "asserter")).to.equal(path.sumRounds);
  expect(count(played, ending, "asserter")).to.equal(1);
  expect(await f.game.credits(f.node.address)).to.equal(bond);
  const withdrawGas = await gasOf(f.game.connect(f.node).withdraw());
  const moves = played.moves.filter((m) => m.by === "asserter").reduce((sum, m) => sum + m.gas, 0n);
  await record(f, s, `node (${ending})`, ending, describePath(path, s.model, j), moves + withdrawGas, played, [{ model: s.name, by: "asserter", name: "withdraw", gas: withdrawGas }]);
}

function printTables() {
  const k = (g: bigint) => g.toLocaleString("en-US");
  const ratio = (r: Row) => (Number(r.bound) / Number(r.real)).toFixed(2);
  const lines = [
    "| model | layers | maxWidth | side | real gas | bound | bound/real |",
    "|---|---|---|---|---|---|---|",
    ...rows.map((r) => `| ${r.model} | ${r.layers} | ${r.maxWidth} | ${r.side} | ${k(r.real)} | ${k(r.bound)} | ${ratio(r)} |`),
  ];
  console.log(`\n      Each side's gas in the longest game vs. LibDisputeCost's bound\n${lines.map((l) => `      ${l}`).join("\n")}`);
  console.log(`\n      Games played\n${rows.map((r) => `      ${r.model}, ${r.side}: ${r.path}`).join("\n")}`);
  // The largest measured gas of every move kind (for the per-move constants of LibDisputeCost).
  const kinds = new Map<string, MoveGas>();
  for (const m of moveGas) {
    const key = `${m.by} ${m.name}`;
    if (!kinds.has(key) || kinds.get(key)!.gas < m.gas) kinds.set(key, m);
  }
  const sorted = [...kinds.values()].sort((a, b) => a.by.localeCompare(b.by) || a.name.localeCompare(b.name));
  const kindLines = ["| by | move | max gas | on |", "|---|---|---|---|", ...sorted.map((m) => `| ${m.by} | ${m.name} | ${k(m.gas)} | ${m.model} |`)];
  if (process.env.DISPUTE_COST_MOVES) {
    for (const r of rows) {
      const ms = moveGas.filter((m) => m.model === r.model && m.side === r.side);
      console.log(`      ${r.model}, ${r.side}: ${ms.map((m) => `${m.by[0]}:${m.name} ${k(m.gas)}`).join(", ")}`);
    }
  }
  console.log(`\n      Largest measured gas per move kind\n${kindLines.map((l) => `      ${l}`).join("\n")}\n`);
}

describe("Dispute cost: each side's gas in the longest game is within LibDisputeCost's bounds", function () {
  before(async function () {
    await initKeccak();
    for (const { name, make } of SHAPES) {
      const s = make();
      built.push({ name, ...s, truth: TraceProvider.fromInput(s.model, s.commitment, s.input) });
    }
  });
  after(() => {
    if (rows.length > 0) printTables();
  });

  for (const { name } of SHAPES) {
    describe(name, () => {
      const shape = () => built.find((s) => s.name === name)!;
      it("challenger: a lying node defends to the step", () => challengerSide(shape(), "step"));
      it("challenger: a lying node stops before its last move, timeout", () => challengerSide(shape(), "timeout"));
      it("node: a lying challenger drags a correct result to the step, the node steps", () => nodeSide(shape(), "step"));
      it("node: a lying challenger never steps, the node times it out", () => nodeSide(shape(), "timeout"));
    });
  }
});
