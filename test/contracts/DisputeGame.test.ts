import { expect } from "chai";
import { ethers } from "hardhat";
import { time } from "@nomicfoundation/hardhat-network-helpers";
import type { ContractTransactionResponse } from "ethers";
import { toHex } from "../../core/bytes";
import { chunkCount, output } from "../../core/denseStep";
import { type Job, JobStatus, hashJob } from "../../core/jobState";
import type { TraceProvider } from "../../core/traceProvider";
import { COLLATERAL, jobFrom } from "../helpers/marketFixture";
import { GAME, type GameFixture, deployGame, descriptorArg, submittedJob } from "../helpers/gameFixture";

/** Phase numbers of DisputeGame.Phase. */
const Phase = { RevealRoots: 1n, PickLayer: 2n, RevealNodes: 3n, PickNode: 4n, StateAccumulator: 5n, PostSums: 6n, PickChunk: 7n, Step: 8n, Resolved: 9n };

type Gas = [string, bigint][];

/** Choices a (possibly lying) side makes instead of the honest ones. */
interface Script {
  /** Challenger: the layer to dispute (default: the first whose root differs). */
  layer?: number;
  /** Challenger: (i, t) to pick at each level (default: the first differing). */
  pick?: (nodes: string[], childHeight: number) => { i: number; t: number };
  /** Challenger: the chunk to dispute (default: the first differing s_{k+1}). */
  chunk?: (sums: bigint[]) => number;
  /** Asserter: the accumulator to state (default: honest). */
  acc?: (l: number, j: number, honestAcc: number) => number;
  /** Asserter: s_0 … s_{R-1} to post (default: honest). */
  sums?: (honest: bigint[]) => bigint[];
  /** Stop after this many moves (a side that refuses to go on). */
  stopAfter?: number;
}

async function gasOf(tx: Promise<ContractTransactionResponse>): Promise<bigint> {
  return (await (await tx).wait())!.gasUsed;
}

/**
 * Plays a game to the end: `a` is the asserter's view (the node's trace), `c` the challenger's (honest
 * re-execution). Returns the gas of each move and the last transaction.
 */
async function play(f: GameFixture, gameId: string, a: TraceProvider, c: TraceProvider, script: Script = {}) {
  const { game, node, challenger } = f;
  const gas: Gas = [];
  let last: Promise<ContractTransactionResponse> | undefined;
  const move = async (name: string, tx: Promise<ContractTransactionResponse>) => {
    last = tx;
    gas.push([name, await gasOf(tx)]);
  };
  const L = a.layerCount;
  let layer = 0;
  let revealed: string[] = [];
  let sums: bigint[] = [];
  for (let n = 0; ; n++) {
    if (script.stopAfter !== undefined && n >= script.stopAfter) break;
    const g = await game.getGame(gameId);
    const phase = g.phase;
    if (phase === Phase.Resolved) break;
    if (phase === Phase.RevealRoots) {
      const roots = Array.from({ length: L + 1 }, (_, l) => a.activationRoot(l));
      revealed = roots.map((r) => toHex(r.value));
      await move("revealRoots", game.connect(node).revealRoots(gameId, revealed, roots.map((r) => r.proof.map(toHex))));
    } else if (phase === Phase.PickLayer) {
      if (revealed.length === 0) revealed = Array.from({ length: L + 1 }, (_, l) => toHex(a.activationRoot(l).value));
      layer = script.layer ?? revealed.findIndex((r, l) => r !== toHex(c.activationRoot(l).value));
      const { descriptor, opening } = c.descriptor(layer);
      await move("pickLayer", game.connect(challenger).pickLayer(gameId, revealed, layer, descriptorArg(descriptor), opening.proof.map(toHex)));
      const g2 = await game.getGame(gameId);
      if (g2.phase === Phase.PickNode) revealed = [g2.node];
    } else if (phase === Phase.RevealNodes) {
      const h = Number(g.height);
      const levels = Math.min(4, h);
      const childH = h - levels;
      const first = Number(g.index) << levels;
      revealed = Array.from({ length: 1 << levels }, (_, i) => toHex(a.activationNode(layer, childH, first + i)));
      await move(`revealNodes(h=${childH})`, game.connect(node).revealNodes(gameId, g.node, revealed));
    } else if (phase === Phase.PickNode) {
      const childH = Number(g.childHeight);
      const levels = Number(g.height) - childH;
      const first = Number(g.index) << levels;
      let choice = script.pick?.(revealed, childH);
      if (!choice) {
        const i = revealed.findIndex((v, i) => v !== toHex(c.activationNode(layer, childH, first + i)));
        let t = 0;
        if (childH === 0) {
          const mine = c.activationNode(layer, 0, first + i);
          const theirs = ethers.getBytes(revealed[i]);
          t = theirs.findIndex((b, t) => b !== mine[t]);
        }
        choice = { i, t };
      }
      const { descriptor } = c.descriptor(layer);
      await move(childH === 0 ? "pickNode(leaf+element)" : "pickNode", game.connect(challenger).pickNode(gameId, revealed, choice.i, choice.t, descriptorArg(descriptor)));
    } else if (phase === Phase.StateAccumulator) {
      const j = Number(g.index);
      const honest = a.partialSums(layer, j);
      const acc = script.acc ? script.acc(layer, j, honest[honest.length - 1]) : honest[honest.length - 1];
      await move("stateAccumulator", game.connect(node).stateAccumulator(gameId, j, descriptorArg(a.descriptor(layer).descriptor), acc));
    } else if (phase === Phase.PostSums) {
      const j = Number(g.index);
      const R = chunkCount(a.descriptor(layer).descriptor.nIn);
      const honestSums = a.partialSums(layer, j).slice(0, R).map(BigInt);
      const s = script.sums ? script.sums(honestSums) : honestSums;
      const bias = a.bias(layer, j);
      await move("postSums", game.connect(node).postSums(gameId, g.acc, descriptorArg(a.descriptor(layer).descriptor), toHex(bias.leaf), bias.proof.map(toHex), s));
      sums = [...s, g.acc];
    } else if (phase === Phase.PickChunk) {
      const j = Number(g.index);
      const mine = c.partialSums(layer, j).map(BigInt);
      const k = script.chunk ? script.chunk(sums) : sums.findIndex((s, k) => k > 0 && s !== mine[k]) - 1;
      await move("pickChunk", game.connect(challenger).pickChunk(gameId, sums, k));
    } else if (phase === Phase.Step) {
      const w = c.step(layer, Number(g.index), Number(g.chunk));
      await move(
        "step",
        game.connect(challenger).step(gameId, descriptorArg(c.descriptor(layer).descriptor), toHex(w.weightLeaf), w.weightProof.map(toHex), toHex(w.inputLeaf), w.inputProof.map(toHex)),
      );
    } else throw new Error(`unexpected phase ${phase}`);
  }
  return { gas, last };
}

async function open(f: GameFixture, jobId: bigint, job: Job) {
  const tx = f.game.connect(f.challenger).challenge(jobId, job, { value: GAME.challengerBond });
  const gas = await gasOf(tx);
  const gameId = await f.game.gameIdOf(jobId, job.attempt, f.challenger.address);
  return { gameId, gas };
}

/** A node that lied about output element 0, and two challengers (f.challenger, then `second`) on it. */
async function twoGamesOnALie(seed: number) {
  const f = await deployGame();
  const [second] = f.rest;
  const { jobId, job, asserted } = await submittedJob(f, seed, (t) => {
    const y = t[t.length - 1][0];
    t[t.length - 1][0] = y < 127 ? y + 1 : y - 1;
    return t;
  });
  const { gameId: g1 } = await open(f, jobId, job);
  await f.game.connect(second).challenge(jobId, job, { value: GAME.challengerBond });
  const g2 = await f.game.gameIdOf(jobId, job.attempt, second.address);
  return { f, second, jobId, job, asserted, g1, g2 };
}

function printGas(title: string, gas: Gas) {
  console.log(`      gas (${title}): ${gas.map(([n, g]) => `${n} ${g}`).join(", ")}; total ${gas.reduce((s, [, g]) => s + g, 0n)}`);
}

/** The smallest int32 accumulator whose output is `y` (output is non-decreasing in acc). */
function accFor(y: number, d: Parameters<typeof output>[1]): number {
  let lo = -(2 ** 31);
  let hi = 2 ** 31 - 1;
  while (lo < hi) {
    const mid = Math.floor((lo + hi) / 2);
    if (output(mid, d) >= y) hi = mid;
    else lo = mid + 1;
  }
  if (output(lo, d) !== y) throw new Error(`no accumulator gives ${y}`);
  return lo;
}

describe("DisputeGame (MNIST)", () => {
  it("an honest node beats a challenger who disputes a correct result (descent through layer 1)", async () => {
    const f = await deployGame();
    const { jobId, job, honest } = await submittedJob(f, 7);
    const { gameId, gas: openGas } = await open(f, jobId, job);
    // The lying challenger disputes layer 1, leaf 1, element 5 of it (j = 37), then chunk 0.
    const { gas } = await play(f, gameId, honest, honest, { layer: 1, pick: () => ({ i: 1, t: 5 }), chunk: () => 0 });
    printGas("honest node wins, layer 1", [["challenge", openGas], ...gas]);
    const g = await f.game.getGame(gameId);
    expect(g.phase).to.equal(Phase.Resolved);
    expect(g.asserterWon).to.equal(true);
    expect(await f.game.credits(f.node.address)).to.equal(GAME.challengerBond);
    expect(await f.market.openDisputes(jobId, job.attempt)).to.equal(0n);
    // The node withdraws the bond.
    await expect(f.game.connect(f.node).withdraw()).to.changeEtherBalance(f.node, GAME.challengerBond);
  });

  it("an honest challenger beats a node that lied about one output element (slash, reward, job reopened)", async () => {
    const f = await deployGame();
    const L = 3;
    const j0 = 3;
    let liedY = 0;
    const { jobId, job, honest, asserted } = await submittedJob(f, 11, (t) => {
      const hi = 127;
      const y = t[t.length - 1][j0];
      liedY = y < hi ? y + 1 : y - 1;
      t[t.length - 1][j0] = liedY;
      return t;
    });
    expect(asserted.layerCount).to.equal(L);
    const { gameId, gas: openGas } = await open(f, jobId, job);
    const { gas, last } = await play(f, gameId, asserted, honest, {
      // The liar states an accumulator consistent with its lie, then the honest sums up to s_{R-1}.
      acc: (l) => accFor(liedY, honest.descriptor(l).descriptor),
    });
    printGas("lying node loses, layer 3", [["challenge", openGas], ...gas]);
    const g = await f.game.getGame(gameId);
    expect(g.asserterWon).to.equal(false);
    expect(g.layer).to.equal(BigInt(L));
    expect(g.index).to.equal(BigInt(j0));
    const reward = (COLLATERAL * GAME.challengerRewardBps) / 10_000n;
    expect(await f.game.credits(f.challenger.address)).to.equal(GAME.challengerBond);
    expect(await f.staking.credits(f.challenger.address)).to.equal(reward);
    expect(await f.staking.credits(f.requester.address)).to.equal(COLLATERAL - reward);
    const [, locked] = await f.staking.accountOf(f.node.address);
    expect(locked).to.equal(0n);
    const { job: reopened } = await jobFrom(last!, job);
    expect(reopened.status).to.equal(JobStatus.Open);
    expect(await f.market.jobHash(jobId)).to.equal(hashJob(reopened));
    await expect(f.game.connect(f.challenger).withdraw()).to.changeEtherBalance(f.challenger, GAME.challengerBond);
  });

  it("a challenger naming a zero padding position loses at once", async () => {
    const f = await deployGame();
    const { jobId, job, honest } = await submittedJob(f, 3);
    const { gameId } = await open(f, jobId, job);
    // Output layer: 10 elements in one leaf; position 20 is padding.
    await play(f, gameId, honest, honest, { layer: 3, pick: () => ({ i: 0, t: 20 }) });
    const g = await f.game.getGame(gameId);
    expect(g.asserterWon).to.equal(true);
  });

  it("a node that refuses to move loses on timeout", async () => {
    const f = await deployGame();
    const { jobId, job } = await submittedJob(f, 5);
    const { gameId } = await open(f, jobId, job);
    await expect(f.game.timeout(gameId)).to.be.revertedWithCustomError(f.game, "DisputeGameClockNotExpired");
    await time.increase(GAME.clockBudget + 1);
    const tx = f.game.connect(f.other).timeout(gameId);
    await expect(tx).to.emit(f.game, "GameResolved").withArgs(gameId, false, 9n, true);
    console.log(`      gas: timeout (node loses) ${await gasOf(tx)}`);
    const reward = (COLLATERAL * GAME.challengerRewardBps) / 10_000n;
    expect(await f.staking.credits(f.challenger.address)).to.equal(reward);
    expect(await f.game.credits(f.challenger.address)).to.equal(GAME.challengerBond);
  });

  it("a challenger that stops moving loses on timeout", async () => {
    const f = await deployGame();
    const { jobId, job, honest } = await submittedJob(f, 6);
    const { gameId } = await open(f, jobId, job);
    await play(f, gameId, honest, honest, { stopAfter: 1 }); // the node reveals the roots
    expect((await f.game.getGame(gameId)).phase).to.equal(Phase.PickLayer);
    await time.increase(GAME.clockBudget + 1);
    await expect(f.game.timeout(gameId)).to.emit(f.game, "GameResolved").withArgs(gameId, true, 9n, false);
    expect(await f.game.credits(f.node.address)).to.equal(GAME.challengerBond);
    expect(await f.market.openDisputes(jobId, job.attempt)).to.equal(0n);
  });

  it("refuses moves by the wrong party, in the wrong phase, after resolution, and a second game by one challenger", async () => {
    const f = await deployGame();
    const { jobId, job, honest } = await submittedJob(f, 9);
    await expect(f.game.connect(f.challenger).challenge(jobId, job, { value: 1n })).to.be.revertedWithCustomError(f.game, "DisputeGameWrongBond").withArgs(1n, GAME.challengerBond);
    const { gameId } = await open(f, jobId, job);
    await expect(f.game.connect(f.challenger).challenge(jobId, job, { value: GAME.challengerBond })).to.be.revertedWithCustomError(f.game, "DisputeGameExists").withArgs(gameId);
    const L = honest.layerCount;
    const roots = Array.from({ length: L + 1 }, (_, l) => honest.activationRoot(l));
    const values = roots.map((r) => toHex(r.value));
    const proofs = roots.map((r) => r.proof.map(toHex));
    await expect(f.game.connect(f.challenger).revealRoots(gameId, values, proofs))
      .to.be.revertedWithCustomError(f.game, "DisputeGameNotMover")
      .withArgs(gameId, f.challenger.address, f.node.address);
    const { descriptor, opening } = honest.descriptor(1);
    await expect(f.game.connect(f.challenger).pickLayer(gameId, values, 1, descriptorArg(descriptor), opening.proof.map(toHex)))
      .to.be.revertedWithCustomError(f.game, "DisputeGameWrongPhase")
      .withArgs(gameId, Phase.RevealRoots, Phase.PickLayer);
    // A root with a wrong proof.
    const bad = [...values];
    bad[1] = values[2];
    await expect(f.game.connect(f.node).revealRoots(gameId, bad, proofs)).to.be.revertedWithCustomError(f.game, "DisputeGameInvalidRootProof");
    await f.game.connect(f.node).revealRoots(gameId, values, proofs);
    await expect(f.game.connect(f.node).pickLayer(gameId, values, 1, descriptorArg(descriptor), opening.proof.map(toHex)))
      .to.be.revertedWithCustomError(f.game, "DisputeGameNotMover")
      .withArgs(gameId, f.node.address, f.challenger.address);
    // A stale answer (roots other than those revealed).
    await expect(f.game.connect(f.challenger).pickLayer(gameId, bad, 1, descriptorArg(descriptor), opening.proof.map(toHex))).to.be.revertedWithCustomError(f.game, "DisputeGameStaleAnswer");
    // Another layer's descriptor.
    const other = honest.descriptor(2);
    await expect(f.game.connect(f.challenger).pickLayer(gameId, values, 1, descriptorArg(other.descriptor), other.opening.proof.map(toHex)))
      .to.be.revertedWithCustomError(f.game, "DisputeGameInvalidDescriptor")
      .withArgs(gameId, 1n);
    await play(f, gameId, honest, honest, { layer: 2, pick: (_n, h) => ({ i: 0, t: h === 0 ? 1 : 0 }), chunk: () => 1 });
    expect((await f.game.getGame(gameId)).asserterWon).to.equal(true);
    await expect(f.game.connect(f.node).revealRoots(gameId, values, proofs)).to.be.revertedWithCustomError(f.game, "DisputeGameAlreadyResolved").withArgs(gameId);
    await expect(f.game.timeout(gameId)).to.be.revertedWithCustomError(f.game, "DisputeGameAlreadyResolved").withArgs(gameId);
    await expect(f.game.connect(f.other).withdraw()).to.be.revertedWithCustomError(f.game, "DisputeGameNothingToWithdraw");
  });

  describe("immediate losses of the asserter", () => {
    async function lie(seed: number, script: Script, reason: bigint) {
      const f = await deployGame();
      const { jobId, job, honest } = await submittedJob(f, seed);
      const { gameId } = await open(f, jobId, job);
      // A challenger disputing a correct result, against a node that then lies in its answers.
      await play(f, gameId, honest, honest, { layer: 1, pick: () => ({ i: 0, t: 0 }), chunk: () => 0, ...script });
      const g = await f.game.getGame(gameId);
      expect(g.phase).to.equal(Phase.Resolved);
      expect(g.asserterWon).to.equal(false);
      const logs = await f.game.queryFilter(f.game.filters.GameResolved(gameId));
      expect(logs[0].args.reason).to.equal(reason);
      expect(logs[0].args.resultRejected).to.equal(true);
    }
    it("an accumulator whose output is not y_j", () => lie(21, { acc: (_l, _j, acc) => acc + 1_000_000 }, 1n));
    it("an accumulator outside int32", () => lie(22, { acc: () => 2 ** 31 }, 2n));
    it("s_0 other than the bias", () => lie(23, { sums: (s) => [s[0] + 1n, ...s.slice(1)] }, 3n));
    it("a partial sum outside int32", () => lie(24, { sums: (s) => [s[0], 2n ** 31n, ...s.slice(2)] }, 5n));
  });

  it("refuses a move after the mover's clock ran out", async () => {
    const f = await deployGame();
    const { jobId, job, honest } = await submittedJob(f, 31);
    const { gameId } = await open(f, jobId, job);
    await time.increase(GAME.clockBudget + 1);
    const L = honest.layerCount;
    const roots = Array.from({ length: L + 1 }, (_, l) => honest.activationRoot(l));
    await expect(f.game.connect(f.node).revealRoots(gameId, roots.map((r) => toHex(r.value)), roots.map((r) => r.proof.map(toHex)))).to.be.revertedWithCustomError(
      f.game,
      "DisputeGameClockExpired",
    );
  });

  it("parallel games: the first the node loses slashes, a later one only returns its bond", async () => {
    const { f, second, jobId, job, asserted, g1, g2 } = await twoGamesOnALie(41);
    expect(await f.market.openDisputes(jobId, job.attempt)).to.equal(2n);
    // The node refuses to answer either game.
    await time.increase(GAME.clockBudget + 1);
    await f.game.timeout(g1);
    await expect(f.game.timeout(g2)).to.emit(f.game, "GameResolved").withArgs(g2, false, 9n, false);
    const reward = (COLLATERAL * GAME.challengerRewardBps) / 10_000n;
    expect(await f.staking.credits(f.challenger.address)).to.equal(reward);
    expect(await f.staking.credits(second.address)).to.equal(0n);
    expect(await f.game.credits(second.address)).to.equal(GAME.challengerBond);
    expect(await f.market.openDisputes(jobId, job.attempt)).to.equal(0n);
    expect(asserted.layerCount).to.equal(3);
  });

  it("a game the node would win on a result another game already rejected ends without a verdict: the bond goes back", async () => {
    const { f, second, jobId, job, asserted, g1, g2 } = await twoGamesOnALie(43);
    // In the second game the node answers and the challenger then stops; in the first the node never answers.
    const roots = Array.from({ length: asserted.layerCount + 1 }, (_, l) => asserted.activationRoot(l));
    await f.game.connect(f.node).revealRoots(g2, roots.map((r) => toHex(r.value)), roots.map((r) => r.proof.map(toHex)));
    await time.increase(GAME.clockBudget + 1);
    await expect(f.game.timeout(g1)).to.emit(f.game, "GameResolved").withArgs(g1, false, 9n, true);
    await expect(f.game.timeout(g2)).to.emit(f.game, "GameResolved").withArgs(g2, true, 9n, false);
    expect(await f.game.credits(second.address)).to.equal(GAME.challengerBond);
    expect(await f.game.credits(f.node.address)).to.equal(0n);
    expect(await f.market.openDisputes(jobId, job.attempt)).to.equal(0n);
  });

  it("refuses a clock budget the market's dispute duration cannot hold", async () => {
    const f = await deployGame();
    const maxDuration = await f.market.maxDisputeDuration();
    await expect(
      ethers.deployContract("DisputeGame", [await f.market.getAddress(), await f.staking.getAddress(), await f.registry.getAddress(), GAME.challengerBond, maxDuration / 2n, 0]),
    ).to.be.revertedWithCustomError(f.game, "DisputeGameClockTooLong");
  });
});
