import { expect } from "chai";
import { ethers } from "hardhat";
import { time } from "@nomicfoundation/hardhat-network-helpers";
import { toHex } from "../../core/bytes";
import { NO_DESCRIPTOR, Phase, Reason, descriptorArg, toGameState } from "../../core/dispute/gameState";
import { type Move, pickNodeMove, pickRootsMove, pickSumsMove, revealRootsMove } from "../../core/dispute/planner";
import { type Job, JobStatus, hashJob } from "../../core/jobState";
import type { TraceProvider } from "../../core/traceProvider";
import { Rng } from "../../core/rng";
import { modelShape } from "../../core/model";
import { COLLATERAL, NODE_STAKE, jobFrom, mnistModel } from "../helpers/marketFixture";
import { GAME, type GameFixture, attemptOf, deployGame, expectGameBalanced, rewardPool, submittedJob } from "../helpers/gameFixture";
import { type Played, honest, playGame, refuse, scripted } from "../helpers/gameActors";
import { withSums } from "../../core/dispute/lies";

async function open(f: GameFixture, jobId: bigint, job: Job, challenger = f.challenger) {
  const tx = await f.game.connect(challenger).challenge(jobId, job, { value: f.bond });
  const gas = (await tx.wait())!.gasUsed;
  const gameId = await f.game.gameIdOf(jobId, job.attempt, challenger.address);
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
  const { gameId: g2 } = await open(f, jobId, job, second);
  return { f, second, jobId, job, asserted, g1, g2 };
}

function printGas(title: string, openGas: bigint, played: Played) {
  const all = [["challenge", openGas] as const, ...played.moves.map((m) => [m.name, m.gas] as const)];
  console.log(`      gas (${title}): ${all.map(([n, g]) => `${n} ${g}`).join(", ")}; total ${all.reduce((s, [, g]) => s + g, 0n)} in ${all.length} transactions`);
}

/** The state and revealed values of a game, for a hand-made move. */
async function ctxOf(f: GameFixture, gameId: string, revealed?: `0x${string}`[] | bigint[]) {
  const state = toGameState(await f.game.getGame(gameId));
  return { state, ctx: { gameId: gameId as `0x${string}`, now: BigInt(await time.latest()), clockBudget: BigInt(GAME.clockBudget), revealed } };
}

function send(f: GameFixture, signer: GameFixture["node"], move: Move) {
  return f.game.connect(signer).getFunction(move.functionName)(...move.args);
}

describe("DisputeGame (MNIST)", () => {
  it("an honest node beats a challenger who disputes a correct result (descent through layer 1)", async () => {
    const f = await deployGame();
    const { jobId, job, honest: trace } = await submittedJob(f, 7);
    const { gameId, gas: openGas } = await open(f, jobId, job);
    // The lying challenger disputes layer 1, leaf 1, element 5 of it (j = 37), then the last chunk.
    const liar = scripted("challenger", trace, {
      [Phase.PickRoots]: (s, ctx) => pickRootsMove(s, trace, ctx, 0),
      [Phase.PickNode]: (s, ctx) => pickNodeMove(s, trace, ctx, 1, 5),
      [Phase.PickSums]: (s, ctx) => pickSumsMove(s, ctx, ctx.revealed!.length - 2),
      [Phase.Step]: refuse,
    });
    const played = await playGame(f.game, gameId, { signer: f.node, actor: honest("asserter", trace) }, { signer: f.challenger, actor: liar });
    printGas("honest node wins, layer 1", openGas, played);
    expect(played.reverts).to.deep.equal([]);
    expect(played.state.asserterWon).to.equal(true);
    expect(played.state.index).to.equal(37n);
    expect(played.moves.at(-1)!.by).to.equal("asserter"); // the challenger never steps; the node does
    expect(await f.game.credits(f.node.address)).to.equal(f.bond);
    expect(await f.market.openDisputes(jobId, job.attempt)).to.equal(0n);
    // Nobody won against the node: nothing settles, nothing is slashed, there is no reward.
    expect(await attemptOf(f, jobId, job.attempt)).to.deep.equal({ winners: 0, claimed: 0, settled: false });
    expect((await f.staking.accountOf(f.node.address)).locked).to.equal(COLLATERAL);
    await expect(f.game.claimReward(gameId)).to.be.revertedWithCustomError(f.game, "DisputeGameNoReward").withArgs(gameId);
    await expect(f.game.connect(f.node).withdraw()).to.changeEtherBalance(f.node, f.bond);
    expect(await ethers.provider.getBalance(await f.game.getAddress())).to.equal(0n);
  });

  it("an honest challenger beats a node that lied about one output element (slash at settlement, reward claimed, job reopened)", async () => {
    const f = await deployGame();
    const j0 = 3;
    const { jobId, job, honest: trace, asserted } = await submittedJob(f, 11, (t) => {
      const y = t[t.length - 1][j0];
      t[t.length - 1][j0] = y < 127 ? y + 1 : y - 1;
      return t;
    });
    const { gameId, gas: openGas } = await open(f, jobId, job);
    // The liar states an accumulator consistent with its lie: honest sums up to s_{R-1}, then the jump.
    const played = await playGame(
      f.game,
      gameId,
      { signer: f.node, actor: honest("asserter", withSums(asserted, "jumpLast")) },
      { signer: f.challenger, actor: honest("challenger", trace) },
    );
    printGas("lying node loses, layer 3", openGas, played);
    const g = played.state;
    expect(g.asserterWon).to.equal(false);
    expect(g.layer).to.equal(3n);
    expect(g.index).to.equal(BigInt(j0));
    // The only game on the attempt: its resolution settles it. The whole collateral is slashed once: the
    // pool into the game (for the winner to claim), the rest to the requester as the job's compensation.
    const pool = rewardPool();
    await expect(played.last!).to.emit(f.game, "AttemptSettled").withArgs(jobId, job.attempt, 1n, pool, COLLATERAL - pool);
    expect(await attemptOf(f, jobId, job.attempt)).to.deep.equal({ winners: 1, claimed: 0, settled: true });
    expect(await f.game.credits(f.challenger.address)).to.equal(f.bond);
    expect(await f.staking.credits(f.challenger.address)).to.equal(0n);
    expect(await f.staking.credits(await f.game.getAddress())).to.equal(0n);
    expect(await f.staking.credits(f.requester.address)).to.equal(COLLATERAL - pool);
    expect(await f.market.compensation(jobId)).to.equal(COLLATERAL - pool);
    const [free, locked] = await f.staking.accountOf(f.node.address);
    expect([free, locked]).to.deep.equal([NODE_STAKE - COLLATERAL, 0n]);
    expect(await ethers.provider.getBalance(await f.game.getAddress())).to.equal(f.bond + pool);
    const { job: reopened } = await jobFrom(played.last!, job);
    expect(reopened.status).to.equal(JobStatus.Open);
    expect(await f.market.jobHash(jobId)).to.equal(hashJob(reopened));
    await expect(f.game.connect(f.challenger).claimReward(gameId)).to.emit(f.game, "RewardClaimed").withArgs(gameId, f.challenger.address, pool);
    expect(await attemptOf(f, jobId, job.attempt)).to.deep.equal({ winners: 1, claimed: 1, settled: true });
    await expectGameBalanced(f);
    await expect(f.game.connect(f.challenger).withdraw()).to.changeEtherBalance(f.challenger, f.bond + pool);
    expect(await ethers.provider.getBalance(await f.game.getAddress())).to.equal(0n);
  });

  it("a challenger naming a zero padding position loses at once", async () => {
    const f = await deployGame();
    const { jobId, job, honest: trace } = await submittedJob(f, 3);
    const { gameId } = await open(f, jobId, job);
    // Output layer: 10 elements in one leaf; position 20 is padding.
    const liar = scripted("challenger", trace, {
      [Phase.PickRoots]: (s, ctx) => pickRootsMove(s, trace, ctx, 2),
      [Phase.PickNode]: (s, ctx) => pickNodeMove(s, trace, ctx, 0, 20),
    });
    const played = await playGame(f.game, gameId, { signer: f.node, actor: honest("asserter", trace) }, { signer: f.challenger, actor: liar });
    expect(played.state.asserterWon).to.equal(true);
    expect((await f.game.queryFilter(f.game.filters.GameResolved(gameId)))[0].args.reason).to.equal(BigInt(Reason.ZeroPadding));
  });

  it("a node that refuses to move loses on timeout; a challenger that stops moving loses on timeout", async () => {
    const f = await deployGame();
    const { jobId, job } = await submittedJob(f, 5);
    const { gameId } = await open(f, jobId, job);
    await expect(f.game.timeout(gameId)).to.be.revertedWithCustomError(f.game, "DisputeGameClockNotExpired");
    await time.increase(GAME.clockBudget + 1);
    const tx = f.game.connect(f.other).timeout(gameId);
    await expect(tx).to.emit(f.game, "GameResolved").withArgs(gameId, false, Reason.Timeout, true);
    console.log(`      gas: timeout (node loses, attempt settled) ${(await (await tx).wait())!.gasUsed}`);
    const pool = rewardPool();
    await expect(tx).to.emit(f.game, "AttemptSettled").withArgs(jobId, job.attempt, 1n, pool, COLLATERAL - pool);
    expect(await f.staking.credits(f.requester.address)).to.equal(COLLATERAL - pool);
    expect(await f.game.credits(f.challenger.address)).to.equal(f.bond);
    await f.game.connect(f.challenger).claimReward(gameId);
    expect(await f.game.credits(f.challenger.address)).to.equal(f.bond + pool);
    expect(await f.staking.credits(f.challenger.address)).to.equal(0n);

    const g = await deployGame();
    const second = await submittedJob(g, 6);
    const { gameId: id2 } = await open(g, second.jobId, second.job);
    const { state, ctx } = await ctxOf(g, id2);
    await send(g, g.node, revealRootsMove(state, second.honest, ctx));
    expect((await g.game.getGame(id2)).phase).to.equal(BigInt(Phase.PickRoots));
    await time.increase(GAME.clockBudget + 1);
    await expect(g.game.timeout(id2)).to.emit(g.game, "GameResolved").withArgs(id2, true, Reason.Timeout, false);
    expect(await g.game.credits(g.node.address)).to.equal(g.bond);
    expect(await g.market.openDisputes(second.jobId, second.job.attempt)).to.equal(0n);
    expect(await attemptOf(g, second.jobId, second.job.attempt)).to.deep.equal({ winners: 0, claimed: 0, settled: false });
  });

  it("refuses moves by the wrong party, in the wrong phase, stale or malformed, after resolution, and a second game by one challenger", async () => {
    const f = await deployGame();
    const { jobId, job, honest: trace } = await submittedJob(f, 9);
    await expect(f.game.connect(f.challenger).challenge(jobId, job, { value: 1n })).to.be.revertedWithCustomError(f.game, "DisputeGameWrongBond").withArgs(1n, f.bond);
    await expect(f.game.connect(f.challenger).challenge(jobId, job, { value: f.bond + 1n })).to.be.revertedWithCustomError(f.game, "DisputeGameWrongBond").withArgs(f.bond + 1n, f.bond);
    const { gameId } = await open(f, jobId, job);
    await expect(f.game.connect(f.challenger).challenge(jobId, job, { value: f.bond })).to.be.revertedWithCustomError(f.game, "DisputeGameExists").withArgs(gameId);
    let { state, ctx } = await ctxOf(f, gameId);
    const reveal = revealRootsMove(state, trace, ctx) as Extract<Move, { functionName: "revealRoots" }>;
    const [, lo, hi, roots, proofs] = reveal.args;
    await expect(send(f, f.challenger, reveal)).to.be.revertedWithCustomError(f.game, "DisputeGameNotMover").withArgs(gameId, f.challenger.address, f.node.address);
    await expect(f.game.connect(f.challenger).pickRoots(gameId, roots, 0, NO_DESCRIPTOR, []))
      .to.be.revertedWithCustomError(f.game, "DisputeGameWrongPhase")
      .withArgs(gameId, Phase.RevealRoots, Phase.PickRoots);
    // A root with a wrong proof, a stale range, a wrong count.
    await expect(f.game.connect(f.node).revealRoots(gameId, lo, hi, [roots[1], roots[0]], proofs)).to.be.revertedWithCustomError(f.game, "DisputeGameInvalidRootProof");
    await expect(f.game.connect(f.node).revealRoots(gameId, lo + 1n, hi, roots, proofs)).to.be.revertedWithCustomError(f.game, "DisputeGameStaleRange").withArgs(gameId, lo + 1n, hi, lo, hi);
    await expect(f.game.connect(f.node).revealRoots(gameId, lo, hi, roots.slice(1), proofs.slice(1))).to.be.revertedWithCustomError(f.game, "DisputeGameBadLength").withArgs(1n, 2n);
    await send(f, f.node, reveal);
    const all = [job.inputRoot, ...roots, job.outputRoot] as `0x${string}`[];
    ({ state, ctx } = await ctxOf(f, gameId, all));
    const pick = pickRootsMove(state, trace, ctx, 0);
    await expect(send(f, f.node, pick)).to.be.revertedWithCustomError(f.game, "DisputeGameNotMover").withArgs(gameId, f.node.address, f.challenger.address);
    // A stale answer (roots other than those revealed), a sub-range that does not exist, another layer's descriptor.
    await expect(f.game.connect(f.challenger).pickRoots(gameId, [all[1], ...all.slice(1)], 0, NO_DESCRIPTOR, [])).to.be.revertedWithCustomError(f.game, "DisputeGameStaleAnswer");
    await expect(f.game.connect(f.challenger).pickRoots(gameId, all, 3, NO_DESCRIPTOR, [])).to.be.revertedWithCustomError(f.game, "DisputeGameIndexOutOfRange").withArgs(3n, 3n);
    const other = trace.descriptor(2);
    await expect(f.game.connect(f.challenger).pickRoots(gameId, all, 0, descriptorArg(other.descriptor), other.opening.proof.map(toHex)))
      .to.be.revertedWithCustomError(f.game, "DisputeGameInvalidDescriptor")
      .withArgs(gameId, 1n);
    const liar = scripted("challenger", trace, {
      [Phase.PickRoots]: (s, c) => pickRootsMove(s, trace, c, 1),
      [Phase.PickNode]: (s, c) => pickNodeMove(s, trace, c, 0, 1),
      [Phase.PickSums]: (s, c) => pickSumsMove(s, c, 1),
    });
    const played = await playGame(f.game, gameId, { signer: f.node, actor: honest("asserter", trace) }, { signer: f.challenger, actor: liar });
    expect(played.state.asserterWon).to.equal(true);
    await expect(send(f, f.node, reveal)).to.be.revertedWithCustomError(f.game, "DisputeGameAlreadyResolved").withArgs(gameId);
    await expect(f.game.timeout(gameId)).to.be.revertedWithCustomError(f.game, "DisputeGameAlreadyResolved").withArgs(gameId);
    await expect(f.game.timeout(ethers.ZeroHash)).to.be.revertedWithCustomError(f.game, "DisputeGameUnknown").withArgs(ethers.ZeroHash);
    await expect(f.game.connect(f.other).withdraw()).to.be.revertedWithCustomError(f.game, "DisputeGameNothingToWithdraw");
  });

  describe("immediate losses of the asserter", () => {
    async function lie(seed: number, asserter: (trace: TraceProvider) => Parameters<typeof playGame>[2]["actor"], reason: Reason) {
      const f = await deployGame();
      const { jobId, job, honest: trace } = await submittedJob(f, seed);
      const { gameId } = await open(f, jobId, job);
      // A challenger disputing a correct result (layer 1, element 0), against a node that then lies in its answers.
      const challenger = scripted("challenger", trace, {
        [Phase.PickRoots]: (s, c) => pickRootsMove(s, trace, c, 0),
        [Phase.PickNode]: (s, c) => pickNodeMove(s, trace, c, 0, 0),
        [Phase.PickSums]: (s, c) => pickSumsMove(s, c, 0),
      });
      const played = await playGame(f.game, gameId, { signer: f.node, actor: asserter(trace) }, { signer: f.challenger, actor: challenger });
      expect(played.state.asserterWon).to.equal(false);
      const logs = await f.game.queryFilter(f.game.filters.GameResolved(gameId));
      expect(logs[0].args.reason).to.equal(BigInt(reason));
      expect(logs[0].args.resultRejected).to.equal(true);
    }
    const withAcc = (acc: (honestAcc: bigint) => bigint) => (trace: TraceProvider) =>
      scripted("asserter", trace, {
        [Phase.StateAccumulator]: (_s, _c, planned) => {
          const m = planned() as Extract<Move, { functionName: "stateAccumulator" }>;
          const [id, j, d, a, leaf, proof] = m.args;
          return { functionName: "stateAccumulator", args: [id, j, d, acc(a), leaf, proof] };
        },
      });
    it("an accumulator whose output is not y_j", () => lie(21, withAcc((a) => a + 1_000_000n), Reason.WrongOutput));
    it("an accumulator outside int32", () => lie(22, withAcc(() => 2n ** 31n), Reason.AccumulatorNotInt32));
    it("a partial sum outside int32", () =>
      lie(
        24,
        (trace) =>
          scripted("asserter", trace, {
            [Phase.PostSums]: (_s, _c, planned) => {
              const m = planned() as Extract<Move, { functionName: "postSums" }>;
              const [id, lo, hi, sums] = m.args;
              return { functionName: "postSums", args: [id, lo, hi, [sums[0], -(2n ** 31n) - 1n, ...sums.slice(2)]] };
            },
          }),
        Reason.SumNotInt32,
      ));
  });

  it("refuses a move after the mover's clock ran out", async () => {
    const f = await deployGame();
    const { jobId, job, honest: trace } = await submittedJob(f, 31);
    const { gameId } = await open(f, jobId, job);
    await time.increase(GAME.clockBudget + 1);
    const { state, ctx } = await ctxOf(f, gameId);
    await expect(send(f, f.node, revealRootsMove(state, trace, ctx))).to.be.revertedWithCustomError(f.game, "DisputeGameClockExpired");
  });

  it("parallel games: the first loss rejects the result, the last resolution slashes once; both winners share the pool", async () => {
    const { f, second, jobId, job, g1, g2 } = await twoGamesOnALie(41);
    expect(await f.market.openDisputes(jobId, job.attempt)).to.equal(2n);
    // The node refuses to answer either game.
    await time.increase(GAME.clockBudget + 1);
    const first = f.game.timeout(g1);
    await expect(first).to.emit(f.game, "GameResolved").withArgs(g1, false, Reason.Timeout, true);
    await expect(first).to.not.emit(f.game, "AttemptSettled");
    // The result is rejected (the job reopened), but nothing is slashed while a game on the attempt runs.
    expect(await attemptOf(f, jobId, job.attempt)).to.deep.equal({ winners: 1, claimed: 0, settled: false });
    expect((await f.staking.accountOf(f.node.address)).locked).to.equal(COLLATERAL);
    expect(await f.staking.credits(f.requester.address)).to.equal(0n);
    await expect(f.game.claimReward(g1)).to.be.revertedWithCustomError(f.game, "DisputeGameNotSettled").withArgs(jobId, job.attempt);
    const pool = rewardPool();
    const last = f.game.timeout(g2);
    await expect(last).to.emit(f.game, "GameResolved").withArgs(g2, false, Reason.Timeout, false);
    await expect(last).to.emit(f.game, "AttemptSettled").withArgs(jobId, job.attempt, 2n, pool, COLLATERAL - pool);
    expect((await f.staking.accountOf(f.node.address)).locked).to.equal(0n);
    expect(await f.staking.credits(f.requester.address)).to.equal(COLLATERAL - pool);
    expect(await f.staking.credits(f.challenger.address)).to.equal(0n);
    expect(await f.staking.credits(second.address)).to.equal(0n);
    expect(await f.market.openDisputes(jobId, job.attempt)).to.equal(0n);
    await f.game.claimReward(g1);
    await f.game.claimReward(g2);
    expect(await f.game.credits(f.challenger.address)).to.equal(f.bond + pool / 2n);
    expect(await f.game.credits(second.address)).to.equal(f.bond + pool - pool / 2n);
    expect(await attemptOf(f, jobId, job.attempt)).to.deep.equal({ winners: 2, claimed: 2, settled: true });
    await expectGameBalanced(f);
  });

  it("a game the node wins on a result another game already rejected: its bond goes to the node, and its end settles the attempt", async () => {
    const { f, second, jobId, job, asserted, g1, g2 } = await twoGamesOnALie(43);
    // In the second game the node answers and the challenger then stops; in the first the node never answers.
    const { state, ctx } = await ctxOf(f, g2);
    await send(f, f.node, revealRootsMove(state, asserted, ctx));
    await time.increase(GAME.clockBudget + 1);
    await expect(f.game.timeout(g1)).to.emit(f.game, "GameResolved").withArgs(g1, false, Reason.Timeout, true);
    expect((await f.staking.accountOf(f.node.address)).locked).to.equal(COLLATERAL);
    const pool = rewardPool();
    const last = f.game.timeout(g2);
    await expect(last).to.emit(f.game, "GameResolved").withArgs(g2, true, Reason.Timeout, false);
    await expect(last).to.emit(f.game, "AttemptSettled").withArgs(jobId, job.attempt, 1n, pool, COLLATERAL - pool);
    expect(await f.game.credits(second.address)).to.equal(0n);
    expect(await f.game.credits(f.node.address)).to.equal(f.bond);
    expect((await f.staking.accountOf(f.node.address)).locked).to.equal(0n);
    expect(await f.staking.credits(f.requester.address)).to.equal(COLLATERAL - pool);
    expect(await f.market.openDisputes(jobId, job.attempt)).to.equal(0n);
    // The one winner takes the whole pool; the game the node won has none.
    await expect(f.game.claimReward(g2)).to.be.revertedWithCustomError(f.game, "DisputeGameNoReward").withArgs(g2);
    await f.game.claimReward(g1);
    expect(await f.game.credits(f.challenger.address)).to.equal(f.bond + pool);
    await expectGameBalanced(f);
  });

  it("refuses a clock budget the market's dispute duration cannot hold", async () => {
    const f = await deployGame();
    const maxDuration = await f.market.maxDisputeDuration();
    await expect(
      ethers.deployContract("DisputeGame", [await f.market.getAddress(), await f.staking.getAddress(), await f.registry.getAddress(), GAME.coverGasPrice, maxDuration / 2n, GAME.challengerRewardBps]),
    )
      .to.be.revertedWithCustomError(f.game, "DisputeGameClockTooLong")
      .withArgs(maxDuration / 2n, maxDuration);
    const longest = (maxDuration - 12n) / 2n; // 2 × clockBudget + BLOCK_MARGIN fits
    await ethers.deployContract("DisputeGame", [await f.market.getAddress(), await f.staking.getAddress(), await f.registry.getAddress(), GAME.coverGasPrice, longest, GAME.challengerRewardBps]);
  });
});

/** Copies of `args` with one bit flipped in one 32-byte word (every word after the game id, `bits` bits each). */
function flippedWords(args: readonly unknown[], rng: Rng, bits: number): unknown[][] {
  const variants: unknown[][] = [];
  const walk = (value: unknown, replace: (v: unknown) => unknown[]): void => {
    if (typeof value === "string" && /^0x[0-9a-fA-F]{64}$/.test(value)) {
      for (let b = 0; b < bits; b++) {
        const bit = rng.int(0, 255);
        const word = BigInt(value) ^ (1n << BigInt(bit));
        variants.push(replace(`0x${word.toString(16).padStart(64, "0")}`));
      }
    } else if (Array.isArray(value)) {
      value.forEach((v, i) => walk(v, (x) => replace(value.map((y, k) => (k === i ? x : y)))));
    } else if (value && typeof value === "object") {
      for (const [k, v] of Object.entries(value)) walk(v, (x) => replace({ ...value, [k]: x }));
    }
  };
  args.forEach((a, i) => {
    if (i > 0) walk(a, (x) => args.map((y, k) => (k === i ? x : y)));
  });
  return variants;
}

describe("DisputeGame proofs", () => {
  it("refuses every move whose roots, nodes, leaves, descriptor or proofs have a bit flipped", async () => {
    const f = await deployGame();
    const { jobId, job, honest: trace } = await submittedJob(f, 61);
    const { gameId } = await open(f, jobId, job);
    const rng = new Rng(61);
    const flips = new Map<string, number>();
    const probe = (signer: GameFixture["node"]) => async (move: Move) => {
      const method = f.game.connect(signer).getFunction(move.functionName);
      for (const args of flippedWords(move.args, rng, 3)) {
        let reverted = false;
        await method.staticCall(...args).catch(() => (reverted = true));
        expect(reverted, `${move.functionName} with a flipped bit`).to.equal(true);
        flips.set(move.functionName, (flips.get(move.functionName) ?? 0) + 1);
      }
    };
    // The challenger disputes layer 1 of a correct result and calls the step itself.
    const liar = scripted("challenger", trace, {
      [Phase.PickRoots]: (s, ctx) => pickRootsMove(s, trace, ctx, 0),
      [Phase.PickNode]: (s, ctx) => pickNodeMove(s, trace, ctx, 2, 9),
      [Phase.PickSums]: (s, ctx) => pickSumsMove(s, ctx, 7),
    });
    const played = await playGame(f.game, gameId, { signer: f.node, actor: honest("asserter", trace), inspect: probe(f.node) }, { signer: f.challenger, actor: liar, inspect: probe(f.challenger) });
    expect(played.state.asserterWon).to.equal(true);
    for (const name of ["revealRoots", "pickRoots", "revealNodes", "pickNode", "stateAccumulator", "step"]) expect(flips.get(name) ?? 0, name).to.be.greaterThan(0);
    console.log(`      flipped bits refused: ${[...flips].map(([n, c]) => `${n} ${c}`).join(", ")}; total ${[...flips.values()].reduce((a, b) => a + b, 0)}`);
  });
});

describe("DisputeGame payouts", () => {
  it("re-entrancy on a payout finds nothing: a re-entered withdraw, timeout and claimReward fail, bond and reward are paid once", async () => {
    const f = await deployGame();
    const attacker = await ethers.deployContract("ReentrantChallenger");
    const { jobId, job } = await submittedJob(f, 51, (t) => {
      t[3][1] = t[3][1] < 127 ? t[3][1] + 1 : t[3][1] - 1;
      return t;
    });
    const gameAddress = await f.game.getAddress();
    await attacker.execute(gameAddress, f.bond, f.game.interface.encodeFunctionData("challenge", [jobId, job]), { value: f.bond });
    const gameId = await f.game.gameIdOf(jobId, job.attempt, await attacker.getAddress());
    // The node never answers; the attacker wins on time, is credited its bond and claims its reward.
    await time.increase(GAME.clockBudget + 1);
    await f.game.timeout(gameId);
    expect(await f.game.credits(await attacker.getAddress())).to.equal(f.bond);
    const pool = rewardPool();
    await attacker.execute(gameAddress, 0, f.game.interface.encodeFunctionData("claimReward", [gameId]));
    expect(await f.game.credits(await attacker.getAddress())).to.equal(f.bond + pool);
    const calls = [f.game.interface.encodeFunctionData("withdraw"), f.game.interface.encodeFunctionData("timeout", [gameId]), f.game.interface.encodeFunctionData("claimReward", [gameId])];
    await attacker.arm(gameAddress, calls);
    const before = await ethers.provider.getBalance(gameAddress);
    await attacker.execute(gameAddress, 0, f.game.interface.encodeFunctionData("withdraw"));
    expect(await attacker.outcomes()).to.deep.equal([false, false, false]);
    expect(await attacker.received()).to.equal(f.bond + pool);
    expect(await ethers.provider.getBalance(gameAddress)).to.equal(before - f.bond - pool);
    expect(await f.game.credits(await attacker.getAddress())).to.equal(0n);
    await expectGameBalanced(f);
  });

  it("a challenger that refuses ETH cannot block the resolution; its credit waits", async () => {
    const f = await deployGame();
    const refuser = await ethers.deployContract("RejectingReceiver");
    const { jobId, job } = await submittedJob(f, 52);
    const gameAddress = await f.game.getAddress();
    await refuser.call(gameAddress, f.game.interface.encodeFunctionData("challenge", [jobId, job]), { value: f.bond });
    const gameId = await f.game.gameIdOf(jobId, job.attempt, await refuser.getAddress());
    await time.increase(GAME.clockBudget + 1);
    // The node's result was correct but it never answered: it loses on time, and the attempt settles.
    await expect(f.game.timeout(gameId)).to.emit(f.game, "GameResolved");
    const pool = rewardPool();
    await f.game.claimReward(gameId);
    await expect(refuser.call(gameAddress, f.game.interface.encodeFunctionData("withdraw"))).to.be.revertedWithCustomError(f.game, "DisputeGameTransferFailed");
    expect(await f.game.credits(await refuser.getAddress())).to.equal(f.bond + pool);
    expect(await ethers.provider.getBalance(gameAddress)).to.equal(f.bond + pool);
    await expectGameBalanced(f);
  });
});

describe("DisputeGame edge cases", () => {
  it("refuses malformed moves: proof and node counts, indices out of range, an unknown game", async () => {
    const f = await deployGame();
    const { jobId, job, honest: trace } = await submittedJob(f, 71);
    const { gameId } = await open(f, jobId, job);
    let { state, ctx } = await ctxOf(f, gameId);
    const reveal = revealRootsMove(state, trace, ctx) as Extract<Move, { functionName: "revealRoots" }>;
    const [, lo, hi, roots, proofs] = reveal.args;
    await expect(f.game.connect(f.node).revealRoots(gameId, lo, hi, roots, proofs.slice(1))).to.be.revertedWithCustomError(f.game, "DisputeGameBadLength").withArgs(1n, 2n);
    await send(f, f.node, reveal);
    ({ state, ctx } = await ctxOf(f, gameId, [job.inputRoot, ...roots, job.outputRoot] as `0x${string}`[]));
    await send(f, f.challenger, pickRootsMove(state, trace, ctx, 0));
    ({ state, ctx } = await ctxOf(f, gameId));
    const nodes = [0, 1, 2, 3].map((i) => toHex(trace.activationNode(1, 0, i)));
    await expect(f.game.connect(f.node).revealNodes(gameId, state.node, nodes.slice(1))).to.be.revertedWithCustomError(f.game, "DisputeGameBadLength").withArgs(3n, 4n);
    await f.game.connect(f.node).revealNodes(gameId, state.node, nodes);
    const d = descriptorArg(trace.descriptor(1).descriptor);
    await expect(f.game.connect(f.challenger).pickNode(gameId, nodes, 4, 0, d)).to.be.revertedWithCustomError(f.game, "DisputeGameIndexOutOfRange").withArgs(4n, 4n);
    await expect(f.game.connect(f.challenger).pickNode(gameId, nodes, 0, 32, d)).to.be.revertedWithCustomError(f.game, "DisputeGameIndexOutOfRange").withArgs(32n, 32n);
    const unknown = ethers.id("no such game");
    await expect(f.game.connect(f.challenger).pickNode(unknown, nodes, 0, 0, d)).to.be.revertedWithCustomError(f.game, "DisputeGameUnknown").withArgs(unknown);
  });

  it("reports both clocks, charging the side to move", async () => {
    const f = await deployGame();
    const { jobId, job } = await submittedJob(f, 72);
    const { gameId } = await open(f, jobId, job);
    await time.increase(100);
    const [asserterLeft, challengerLeft] = await f.game.clocks(gameId);
    expect(asserterLeft).to.equal(BigInt(GAME.clockBudget - 100));
    expect(challengerLeft).to.equal(BigInt(GAME.clockBudget));
    await time.increase(GAME.clockBudget);
    expect((await f.game.clocks(gameId))[0]).to.equal(0n);
    await f.game.timeout(gameId);
    expect(await f.game.clocks(gameId)).to.deep.equal([0n, BigInt(GAME.clockBudget)]);
  });

  it("refuses a reward share of 0 or above 50 % and a zero clock, naming the parameter and its bounds", async () => {
    const f = await deployGame();
    const args = (bps: bigint, budget: number) => [f.market.getAddress(), f.staking.getAddress(), f.registry.getAddress(), GAME.coverGasPrice, budget, bps];
    const maxBps = await f.game.MAX_REWARD_BPS();
    expect(maxBps).to.equal(5000n);
    for (const bps of [0n, maxBps + 1n, 10_000n, 10_001n]) {
      await expect(ethers.deployContract("DisputeGame", await Promise.all(args(bps, 60))))
        .to.be.revertedWithCustomError(f.game, "DisputeGameInvalidParameter")
        .withArgs("challengerRewardBps", bps, 1n, maxBps);
    }
    await expect(ethers.deployContract("DisputeGame", await Promise.all(args(1n, 0))))
      .to.be.revertedWithCustomError(f.game, "DisputeGameInvalidParameter")
      .withArgs("clockBudget", 0n, 1n, 2n ** 32n - 1n);
  });

  for (const bps of [1n, 5000n]) {
    it(`slashes the whole collateral once when the reward share is ${bps} bps: the pool to the winner, the rest to the requester`, async () => {
      const f = await deployGame(bps);
      expect(await f.game.challengerRewardBps()).to.equal(bps);
      // The smallest collateral grows as the share shrinks: the pool must still cover a challenger's gas.
      const shape = modelShape(mnistModel().model);
      const least = await f.game.minCollateralFor(shape.layerCount, shape.maxWidth);
      const collateral = least > COLLATERAL ? least : COLLATERAL;
      const { jobId, job } = await submittedJob(
        f,
        73,
        (t) => {
          t[3][0] = t[3][0] < 127 ? t[3][0] + 1 : t[3][0] - 1;
          return t;
        },
        collateral,
      );
      const [freeBefore] = await f.staking.accountOf(f.node.address);
      const { gameId } = await open(f, jobId, job);
      await time.increase(GAME.clockBudget + 1);
      const pool = rewardPool(collateral, bps);
      expect(pool).to.be.greaterThan(0n);
      await expect(f.game.timeout(gameId)).to.emit(f.game, "AttemptSettled").withArgs(jobId, job.attempt, 1n, pool, collateral - pool);
      expect(await f.staking.credits(f.challenger.address)).to.equal(0n);
      expect(await f.staking.credits(f.requester.address)).to.equal(collateral - pool);
      expect(await f.market.compensation(jobId)).to.equal(collateral - pool);
      expect(await f.staking.accountOf(f.node.address)).to.deep.equal([freeBefore, 0n, 0n, 0n]);
      await f.game.claimReward(gameId);
      expect(await f.game.credits(f.challenger.address)).to.equal(f.bond + pool);
      await expectGameBalanced(f);
    });
  }
});
