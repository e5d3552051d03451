import { expect } from "chai";
import { ethers } from "hardhat";
import { loadFixture, time } from "@nomicfoundation/hardhat-network-helpers";
import type { ContractTransactionResponse } from "ethers";
import { int8Bytes, toHex } from "../../core/bytes";
import { Phase, Reason, toGameState } from "../../core/dispute/gameState";
import { type Move, pickNodeMove, pickRootsMove, pickSumsMove, revealRootsMove } from "../../core/dispute/planner";
import { lieAt, propagatingLie, withSums } from "../../core/dispute/lies";
import { type Job, JobStatus, hashJob } from "../../core/jobState";
import { modelShape } from "../../core/model";
import { TraceProvider } from "../../core/traceProvider";
import { COLLATERAL, FEE, NODE_STAKE, UNBONDING_DELAY, jobFrom, mnistInput, mnistModel } from "../helpers/marketFixture";
import { GAME, type GameFixture, attemptIdOf, attemptOf, deployGame, expectGameBalanced, mnistCommitment, registerModel, rewardPool, submitJob } from "../helpers/gameFixture";
import { type Played, honest, playGame, refuse, scripted } from "../helpers/gameActors";

/**
 * Issue 10: who pays for a game. Every game has its own verdict and its bond goes to its winner's side; the
 * node's collateral is slashed once, in full, when the last game on the attempt resolves and any game went
 * against it; the winners share the reward pool (challengerRewardBps ≤ 5000 of the collateral, claimed
 * with claimReward) and the requester gets the rest. So a node that challenges itself from a sybil can
 * neither settle the attempt early nor take the reward alone (finding 1). Also: the layer pick does not
 * read the model's URI (finding 7), the game's deployment checks (finding 8), and a node that lost a game
 * on a job may not take it again (finding 2).
 */

type Signer = GameFixture["node"];

/**
 * A MNIST job whose node lied about element `j` of layer `l` (later layers recomputed from the lie, so
 * the output is wrong). `defends` answers from the lie to the step (it loses the step); `folds` states
 * the honest accumulator of its wrong element and loses at once (WrongOutput).
 */
async function lyingJob(f: GameFixture, seed: number, l = 3, j = 1) {
  const { model } = mnistModel();
  const mc = mnistCommitment();
  const input = mnistInput(seed);
  const truth = TraceProvider.fromInput(model, mc, new Int8Array(input.buffer, input.byteOffset, input.length));
  const lying = TraceProvider.fromTrace(model, mc, lieAt(model, truth.trace, l, j, true));
  const { jobId, job } = await submitJob(f, f.modelId, truth.trace[0], lying, lying.output);
  return { jobId, job, truth, lying, defends: withSums(lying, "jumpLast"), folds: withSums(lying, "honest") };
}

async function challenge(f: GameFixture, jobId: bigint, job: Job, challenger: Signer): Promise<string> {
  await (await f.game.connect(challenger).challenge(jobId, job, { value: f.bond })).wait();
  return f.game.gameIdOf(jobId, job.attempt, challenger.address);
}

function reasonOf(f: GameFixture, gameId: string): Promise<Reason> {
  return f.game.queryFilter(f.game.filters.GameResolved(gameId)).then((logs) => Number(logs[0].args.reason) as Reason);
}

/** A challenger that disputes layer 1 of the node's result (which the lying node computed honestly): it loses the step. */
function disputesLayerOne(trace: TraceProvider) {
  return scripted("challenger", trace, {
    [Phase.PickRoots]: (s, c) => pickRootsMove(s, trace, c, 0),
    [Phase.PickNode]: (s, c) => pickNodeMove(s, trace, c, 0, 0),
    [Phase.PickSums]: (s, c) => pickSumsMove(s, c, 0),
  });
}

/** The node's stake (free + locked + unbonding) plus everything credited to `accounts` in staking and the game. */
async function holdings(f: GameFixture, node: Signer, accounts: Signer[]): Promise<bigint> {
  const [free, locked, unbonding] = await f.staking.accountOf(node.address);
  let total = free + locked + unbonding;
  for (const a of accounts) total += (await f.staking.credits(a.address)) + (await f.game.credits(a.address));
  return total;
}

// ------------------------------------------------------------------------------------------------
// Finding 1: a node that challenges itself
// ------------------------------------------------------------------------------------------------

interface SelfChallenge {
  readonly f: GameFixture;
  readonly jobId: bigint;
  readonly job: Job;
  /** What the node (with its sybil) had at submission, less what it has after every claim. */
  readonly coalitionLoss: bigint;
  /** How much of the node's own stake went. */
  readonly stakeLoss: bigint;
  /** Each winner's reward share, by name. */
  readonly shares: Record<string, bigint>;
}

/**
 * A lying node N and, as asked, an honest watcher H and N's own sybil S challenging its result. S's game
 * is played at once, N folding into a loss in a few moves, while N stalls H's game for most of its clock
 * and then defends its lie to the step, which H wins.
 */
async function selfChallenge(who: { honest: boolean; sybil: boolean }): Promise<SelfChallenge> {
  const f = await loadFixture(deployGame);
  const N = f.node;
  const H = f.challenger;
  const S = f.rest[0];
  const pool = rewardPool();
  const { jobId, job, truth, lying, defends, folds } = await lyingJob(f, 501);
  const coalition = who.sybil ? [N, S] : [N];
  const before = await holdings(f, N, coalition);
  const gH = who.honest ? await challenge(f, jobId, job, H) : undefined;
  const gS = who.sybil ? await challenge(f, jobId, job, S) : undefined;
  const bondsPaid = who.sybil ? f.bond : 0n;

  if (gS) {
    const played = await playGame(f.game, gS, { signer: N, actor: honest("asserter", folds) }, { signer: S, actor: honest("challenger", truth) });
    expect(played.state.asserterWon).to.equal(false);
    expect(await reasonOf(f, gS)).to.equal(Reason.WrongOutput);
    expect(played.moves.length, "the sybil's game is over in a few moves").to.be.at.most(5);
    await expect(played.last!).to.emit(f.game, "GameResolved").withArgs(gS, false, Reason.WrongOutput, true);
    if (gH) {
      // The result is rejected (the job reopened) but H's game still runs: nothing is slashed, nothing to claim.
      await expect(played.last!).to.not.emit(f.game, "AttemptSettled");
      expect(await attemptOf(f, jobId, job.attempt)).to.deep.equal({ winners: 1, claimed: 0, settled: false });
      expect(await f.staking.accountOf(N.address)).to.deep.equal([NODE_STAKE - COLLATERAL, COLLATERAL, 0n, 0n]);
      expect(await f.staking.credits(f.requester.address)).to.equal(0n);
      expect(await f.market.compensation(jobId)).to.equal(0n);
      expect(await f.market.openDisputes(jobId, job.attempt)).to.equal(1n);
      await expect(f.game.claimReward(gS)).to.be.revertedWithCustomError(f.game, "DisputeGameNotSettled").withArgs(jobId, job.attempt);
      // The node cannot finalise its result either way: the job it submitted is gone, the one now stored is open.
      await expect(f.market.finalize(jobId, job, int8Bytes(lying.output))).to.be.revertedWithCustomError(f.market, "JobMarketJobMismatch");
      const { job: reopened } = await jobFrom(played.last!, job);
      await expect(f.market.finalize(jobId, reopened, int8Bytes(lying.output)))
        .to.be.revertedWithCustomError(f.market, "JobMarketWrongStatus")
        .withArgs(jobId, JobStatus.Open, JobStatus.Submitted);
    }
  }

  if (gH) {
    // N stalls H's game until 300 s of its clock are left, then defends its lie to the step.
    const [left] = await f.game.clocks(gH);
    await time.increase(Number(left) - 300);
    const played = await playGame(f.game, gH, { signer: N, actor: honest("asserter", defends) }, { signer: H, actor: honest("challenger", truth) });
    expect(played.state.asserterWon).to.equal(false);
    expect(await reasonOf(f, gH)).to.equal(Reason.StepFailed);
    expect(played.state.asserterUsed, "the node used most of its clock").to.be.greaterThan((BigInt(GAME.clockBudget) * 9n) / 10n);
    await expect(played.last!).to.emit(f.game, "GameResolved").withArgs(gH, false, Reason.StepFailed, !gS);
  }

  // The last game settled the attempt: the whole collateral slashed once, the pool shared by the winners.
  const winners = (gH ? 1 : 0) + (gS ? 1 : 0);
  const settled = await f.game.queryFilter(f.game.filters.AttemptSettled(jobId));
  expect(settled.map((e) => [...e.args])).to.deep.equal([[jobId, job.attempt, BigInt(winners), pool, COLLATERAL - pool]]);
  expect(await f.staking.accountOf(N.address)).to.deep.equal([NODE_STAKE - COLLATERAL, 0n, 0n, 0n]);
  expect(await f.staking.credits(f.requester.address)).to.equal(COLLATERAL - pool);
  expect(await f.market.compensation(jobId)).to.equal(COLLATERAL - pool);
  expect(await f.market.openDisputes(jobId, job.attempt)).to.equal(0n);
  expect(await ethers.provider.getBalance(await f.game.getAddress())).to.equal(BigInt(winners) * f.bond + pool);

  // Each winner claims (anyone may call it); the last claimer takes the rounding remainder.
  const shares: Record<string, bigint> = {};
  const claims: [string, string, Signer][] = [];
  if (gS) claims.push(["sybil", gS, S]);
  if (gH) claims.push(["honest", gH, H]);
  let paid = 0n;
  for (const [k, [name, id, who]] of claims.entries()) {
    const share = k === claims.length - 1 ? pool - paid : pool / BigInt(winners);
    await expect(f.game.connect(f.other).claimReward(id)).to.emit(f.game, "RewardClaimed").withArgs(id, who.address, share);
    expect(await f.game.credits(who.address)).to.equal(f.bond + share);
    shares[name] = share;
    paid += share;
  }
  expect(paid).to.equal(pool);
  expect(await attemptOf(f, jobId, job.attempt)).to.deep.equal({ winners, claimed: winners, settled: true });
  expect(await f.game.credits(N.address)).to.equal(0n);
  await expectGameBalanced(f);

  const after = await holdings(f, N, coalition);
  const [free] = await f.staking.accountOf(N.address);
  return { f, jobId, job, coalitionLoss: before - after + bondsPaid, stakeLoss: NODE_STAKE - free, shares };
}

describe("DisputeGame settlement (issue 10)", () => {
  describe("finding 1: a node that challenges itself", () => {
    it("its sybil's quick win settles nothing: the honest watcher's game goes on, then the whole collateral is slashed and the sybil and the watcher share the pool", async () => {
      const { coalitionLoss, stakeLoss, shares } = await selfChallenge({ honest: true, sybil: true });
      const pool = rewardPool();
      expect(shares).to.deep.equal({ sybil: pool / 2n, honest: pool - pool / 2n });
      expect(stakeLoss).to.equal(COLLATERAL);
      // What the node and its sybil lose together: the collateral less the sybil's half of the pool (its bond
      // came back), never less than collateral × (1 − bps / 10 000).
      expect(coalitionLoss).to.equal(COLLATERAL - pool / 2n);
      expect(coalitionLoss).to.be.at.least((COLLATERAL * (10_000n - GAME.challengerRewardBps)) / 10_000n);
    });

    it("without a sybil the node loses exactly the same collateral and the watcher takes the whole pool; a node that only challenges itself still loses collateral − pool", async () => {
      const pool = rewardPool();
      const withSybil = await selfChallenge({ honest: true, sybil: true });
      const alone = await selfChallenge({ honest: true, sybil: false });
      expect(alone.stakeLoss).to.equal(withSybil.stakeLoss);
      expect(alone.stakeLoss).to.equal(COLLATERAL);
      expect(alone.shares).to.deep.equal({ honest: pool });
      expect(alone.coalitionLoss).to.equal(COLLATERAL);
      const onlySybil = await selfChallenge({ honest: false, sybil: true });
      expect(onlySybil.stakeLoss).to.equal(COLLATERAL);
      expect(onlySybil.shares).to.deep.equal({ sybil: pool });
      expect(onlySybil.coalitionLoss).to.equal(COLLATERAL - pool);
      expect(onlySybil.coalitionLoss).to.be.at.least((COLLATERAL * (10_000n - GAME.challengerRewardBps)) / 10_000n);
    });

    it("a reward share above 5000 bps is refused at deployment, so the node's side always loses at least half", async () => {
      const f = await loadFixture(deployGame);
      const args = (bps: bigint) => [f.market.getAddress(), f.staking.getAddress(), f.registry.getAddress(), GAME.coverGasPrice, GAME.clockBudget, bps];
      for (const bps of [5001n, 7500n, 10_000n]) {
        await expect(ethers.deployContract("DisputeGame", await Promise.all(args(bps))))
          .to.be.revertedWithCustomError(f.game, "DisputeGameInvalidParameter")
          .withArgs("challengerRewardBps", bps, 1n, 5000n);
      }
      const highest = await ethers.deployContract("DisputeGame", await Promise.all(args(5000n)));
      expect(await highest.getFunction("challengerRewardBps")()).to.equal(5000n);
    });
  });

  // ----------------------------------------------------------------------------------------------
  // Several challengers
  // ----------------------------------------------------------------------------------------------

  describe("several challengers", () => {
    it("three honest winners and two sacrificial losers on a lie: one slash after the last game, the pool in thirds (the remainder to the last claimer), the losers' bonds to the node, every wei accounted for", async () => {
      const f = await loadFixture(deployGame);
      const pool = rewardPool();
      expect(pool % 3n, "the pool does not split evenly in three").to.not.equal(0n);
      const { jobId, job, truth, defends } = await lyingJob(f, 502);
      const [h1, x1, h2, h3, x2] = f.rest.slice(0, 5);
      const gameBefore = await ethers.provider.getBalance(await f.game.getAddress());
      const ids = new Map<Signer, string>();
      for (const c of [h1, x1, h2, h3, x2]) ids.set(c, await challenge(f, jobId, job, c));
      expect(await ethers.provider.getBalance(await f.game.getAddress())).to.equal(gameBefore + 5n * f.bond);
      // x1 disputes layer 1 (computed honestly) and loses the step; x2 stops moving and loses on time.
      const plays: [Signer, boolean][] = [
        [h1, false],
        [x1, true],
        [h2, false],
        [h3, false],
        [x2, true],
      ];
      let winners = 0;
      let last: ContractTransactionResponse | undefined;
      for (const [k, [c, nodeWins]] of plays.entries()) {
        const actor = nodeWins ? (c === x1 ? disputesLayerOne(truth) : scripted("challenger", truth, { [Phase.PickRoots]: refuse })) : honest("challenger", truth);
        const played: Played = await playGame(f.game, ids.get(c)!, { signer: f.node, actor: honest("asserter", defends) }, { signer: c, actor });
        expect(played.state.asserterWon, `game ${k}`).to.equal(nodeWins);
        if (!nodeWins) winners++;
        last = played.last;
        if (k < plays.length - 1) {
          expect((await f.staking.accountOf(f.node.address)).locked, `after game ${k}`).to.equal(COLLATERAL);
          expect(await attemptOf(f, jobId, job.attempt)).to.deep.equal({ winners, claimed: 0, settled: false });
          await expect(f.game.claimReward(ids.get(h1)!)).to.be.revertedWithCustomError(f.game, "DisputeGameNotSettled");
        }
      }
      expect([await reasonOf(f, ids.get(x1)!), await reasonOf(f, ids.get(x2)!)]).to.deep.equal([Reason.StepHeld, Reason.Timeout]);
      // The last game, which the node won, settled the attempt: exactly one slash of the whole collateral.
      await expect(last!).to.emit(f.game, "AttemptSettled").withArgs(jobId, job.attempt, 3n, pool, COLLATERAL - pool);
      expect(await f.game.queryFilter(f.game.filters.AttemptSettled())).to.have.length(1);
      const slashes = await f.staking.queryFilter(f.staking.filters.StakeSlashed(f.node.address));
      expect(slashes.map((e) => [e.args.to, e.args.amount])).to.deep.equal([
        [f.requester.address, COLLATERAL - pool],
        [await f.game.getAddress(), pool],
      ]);
      const rejections = (await f.game.queryFilter(f.game.filters.GameResolved())).filter((e) => e.args.resultRejected);
      expect(rejections.map((e) => e.args.gameId)).to.deep.equal([ids.get(h1)]);
      expect(await f.staking.accountOf(f.node.address)).to.deep.equal([NODE_STAKE - COLLATERAL, 0n, 0n, 0n]);
      expect(await f.staking.credits(f.requester.address)).to.equal(COLLATERAL - pool);
      expect(await f.market.compensation(jobId)).to.equal(COLLATERAL - pool);
      expect(await ethers.provider.getBalance(await f.game.getAddress())).to.equal(gameBefore + 5n * f.bond + pool);
      await expectGameBalanced(f);

      // The losers have nothing to claim; the winners a third each, the last the remainder.
      for (const x of [x1, x2]) await expect(f.game.claimReward(ids.get(x)!)).to.be.revertedWithCustomError(f.game, "DisputeGameNoReward").withArgs(ids.get(x)!);
      const third = pool / 3n;
      const expected = new Map([
        [h2, third],
        [h1, third],
        [h3, pool - 2n * third],
      ]);
      for (const [c, share] of expected) {
        await expect(f.game.connect(f.other).claimReward(ids.get(c)!)).to.emit(f.game, "RewardClaimed").withArgs(ids.get(c)!, c.address, share);
        expect(await f.game.credits(c.address)).to.equal(f.bond + share);
      }
      expect(pool - 2n * third).to.equal(third + (pool % 3n));
      for (const x of [x1, x2]) expect(await f.game.credits(x.address)).to.equal(0n);
      expect(await f.game.credits(f.node.address)).to.equal(2n * f.bond);
      expect(await attemptOf(f, jobId, job.attempt)).to.deep.equal({ winners: 3, claimed: 3, settled: true });
      await expectGameBalanced(f);

      // Everyone withdraws: the game is left with exactly what it had before the job.
      for (const [c, share] of expected) await expect(f.game.connect(c).withdraw()).to.changeEtherBalance(c, f.bond + share);
      await expect(f.game.connect(f.node).withdraw()).to.changeEtherBalance(f.node, 2n * f.bond);
      expect(await ethers.provider.getBalance(await f.game.getAddress())).to.equal(gameBefore);
      await expectGameBalanced(f);
    });
  });

  // ----------------------------------------------------------------------------------------------
  // Finding 7: the layer pick reads the model root only
  // ----------------------------------------------------------------------------------------------

  describe("finding 7: the layer pick reads the model root only", () => {
    it("finding 7: a model registered with a 20,000-byte URI costs the layer pick (pickRoots) the same gas as one with a short URI", async () => {
      const f = await loadFixture(deployGame);
      const { model } = mnistModel();
      const long = await registerModel(f, model, "x".repeat(20_000));
      expect((await f.registry.getModel(long.modelId)).uri.length).to.equal(20_000);
      expect((await f.registry.getModel(f.modelId)).uri.length).to.be.lessThan(32);
      const input = mnistInput(503);
      const truth = TraceProvider.fromInput(model, mnistCommitment(), new Int8Array(input.buffer, input.byteOffset, input.length));
      const gas: Record<string, { challenge: bigint; pick: bigint }> = {};
      for (const [name, modelId] of [
        ["short", f.modelId],
        ["long", long.modelId],
      ] as const) {
        const { jobId, job } = await submitJob(f, modelId, truth.trace[0], truth, truth.output);
        expect(await f.game.bondFor(modelId)).to.equal(f.bond);
        const open = await (await f.game.connect(f.challenger).challenge(jobId, job, { value: f.bond })).wait();
        const gameId = await f.game.gameIdOf(jobId, job.attempt, f.challenger.address);
        const ctx = async (revealed?: `0x${string}`[]) => ({ gameId: gameId as `0x${string}`, now: BigInt(await time.latest()), clockBudget: BigInt(GAME.clockBudget), revealed });
        const reveal = revealRootsMove(toGameState(await f.game.getGame(gameId)), truth, await ctx()) as Extract<Move, { functionName: "revealRoots" }>;
        await f.game.connect(f.node).revealRoots(...reveal.args);
        const all = [job.inputRoot, ...reveal.args[3], job.outputRoot] as `0x${string}`[];
        // The challenger picks layer 2 ([1, 2], one layer wide): the descriptor is opened against the model root.
        const pick = pickRootsMove(toGameState(await f.game.getGame(gameId)), truth, await ctx(all), 1) as Extract<Move, { functionName: "pickRoots" }>;
        const tx = await f.game.connect(f.challenger).pickRoots(...pick.args);
        await expect(tx).to.emit(f.game, "LayerPicked");
        gas[name] = { challenge: open!.gasUsed, pick: (await tx.wait())!.gasUsed };
      }
      console.log(`      gas, short URI vs. 20,000-byte URI: challenge ${gas.short.challenge} / ${gas.long.challenge}, pickRoots (layer pick) ${gas.short.pick} / ${gas.long.pick}`);
      const near = (a: bigint, b: bigint) => (a > b ? a - b : b - a);
      expect(near(gas.long.pick, gas.short.pick), "pickRoots with a long URI").to.be.at.most(300n);
      expect(near(gas.long.challenge, gas.short.challenge), "challenge with a long URI").to.be.at.most(300n);
    });
  });

  // ----------------------------------------------------------------------------------------------
  // Finding 8: what the game checks at deployment
  // ----------------------------------------------------------------------------------------------

  describe("finding 8: deployment checks", () => {
    it("finding 8: refuses a market bound to another staking or registry, and a gas price, clock or reward share out of bounds, naming each", async () => {
      const f = await loadFixture(deployGame);
      const market = await f.market.getAddress();
      const staking = await f.staking.getAddress();
      const registry = await f.registry.getAddress();
      const otherStaking = await (await ethers.deployContract("Staking", [UNBONDING_DELAY])).getAddress();
      const otherRegistry = await (await ethers.deployContract("ModelRegistry")).getAddress();
      const deploy = (s: string, r: string, price: bigint, clock: bigint, bps: bigint) => ethers.deployContract("DisputeGame", [market, s, r, price, clock, bps]);
      const ok = [GAME.coverGasPrice, BigInt(GAME.clockBudget), GAME.challengerRewardBps] as const;
      await expect(deploy(otherStaking, registry, ...ok)).to.be.revertedWithCustomError(f.game, "DisputeGameBindingMismatch").withArgs("staking", otherStaking, staking);
      await expect(deploy(staking, otherRegistry, ...ok)).to.be.revertedWithCustomError(f.game, "DisputeGameBindingMismatch").withArgs("registry", otherRegistry, registry);
      const U64 = 2n ** 64n - 1n;
      const U32 = 2n ** 32n - 1n;
      const bad: [string, bigint, bigint, bigint, bigint, bigint][] = [
        ["coverGasPrice", 0n, BigInt(GAME.clockBudget), GAME.challengerRewardBps, 1n, U64],
        ["coverGasPrice", U64 + 1n, BigInt(GAME.clockBudget), GAME.challengerRewardBps, 1n, U64],
        ["clockBudget", GAME.coverGasPrice, 0n, GAME.challengerRewardBps, 1n, U32],
        ["clockBudget", GAME.coverGasPrice, U32 + 1n, GAME.challengerRewardBps, 1n, U32],
        ["challengerRewardBps", GAME.coverGasPrice, BigInt(GAME.clockBudget), 0n, 1n, 5000n],
        ["challengerRewardBps", GAME.coverGasPrice, BigInt(GAME.clockBudget), 5001n, 1n, 5000n],
      ];
      for (const [name, price, clock, bps, min, max] of bad) {
        const value = name === "coverGasPrice" ? price : name === "clockBudget" ? clock : bps;
        await expect(deploy(staking, registry, price, clock, bps), `${name} ${value}`).to.be.revertedWithCustomError(f.game, "DisputeGameInvalidParameter").withArgs(name, value, min, max);
      }
      // A clock the market's dispute duration cannot hold, inside the parameter's own bounds.
      await expect(deploy(staking, registry, GAME.coverGasPrice, 86_400n, GAME.challengerRewardBps)).to.be.revertedWithCustomError(f.game, "DisputeGameClockTooLong").withArgs(86_400n, 86_400n);
      // Every bound itself is accepted.
      for (const [price, clock, bps] of [
        [1n, 1n, 1n],
        [U64, BigInt(GAME.clockBudget), 5000n],
      ] as const) {
        const g = await deploy(staking, registry, price, clock, bps);
        expect([await g.getFunction("coverGasPrice")(), await g.getFunction("clockBudget")(), await g.getFunction("challengerRewardBps")()]).to.deep.equal([price, clock, bps]);
      }
      // The bond and the smallest collateral follow from the model's shape and the gas price.
      const shape = modelShape(mnistModel().model);
      const [asserterGas, challengerGas] = await f.game.gasBounds(shape.layerCount, shape.maxWidth);
      expect(f.bond).to.equal(asserterGas * GAME.coverGasPrice);
      const least = await f.game.minCollateralFor(shape.layerCount, shape.maxWidth);
      expect(least).to.equal((challengerGas * GAME.coverGasPrice * 10_000n + GAME.challengerRewardBps - 1n) / GAME.challengerRewardBps);
      expect(least).to.be.at.most(COLLATERAL);
    });
  });

  // ----------------------------------------------------------------------------------------------
  // claimReward
  // ----------------------------------------------------------------------------------------------

  describe("claimReward", () => {
    it("claimReward: none for an unknown, open or node-won game, none before the attempt settles, once per game; anyone may call it, the challenger is credited", async () => {
      const f = await loadFixture(deployGame);
      const pool = rewardPool();
      const { jobId, job, truth, defends, folds } = await lyingJob(f, 504);
      const [a, b, c] = f.rest.slice(0, 3);
      const gA = await challenge(f, jobId, job, a);
      const gB = await challenge(f, jobId, job, b);
      const gC = await challenge(f, jobId, job, c);
      const unknown = ethers.id("no such game");
      await expect(f.game.claimReward(unknown)).to.be.revertedWithCustomError(f.game, "DisputeGameUnknown").withArgs(unknown);
      await expect(f.game.claimReward(gA)).to.be.revertedWithCustomError(f.game, "DisputeGameNoReward").withArgs(gA);
      // a wins (the node folds), b loses (it disputes layer 1), c is still open.
      expect((await playGame(f.game, gA, { signer: f.node, actor: honest("asserter", folds) }, { signer: a, actor: honest("challenger", truth) })).state.asserterWon).to.equal(false);
      expect((await playGame(f.game, gB, { signer: f.node, actor: honest("asserter", defends) }, { signer: b, actor: disputesLayerOne(truth) })).state.asserterWon).to.equal(true);
      await expect(f.game.claimReward(gA)).to.be.revertedWithCustomError(f.game, "DisputeGameNotSettled").withArgs(jobId, job.attempt);
      await expect(f.game.claimReward(gB)).to.be.revertedWithCustomError(f.game, "DisputeGameNoReward").withArgs(gB);
      await expect(f.game.claimReward(gC)).to.be.revertedWithCustomError(f.game, "DisputeGameNoReward").withArgs(gC);
      // c wins the step: the attempt settles with two winners.
      const pc = await playGame(f.game, gC, { signer: f.node, actor: honest("asserter", defends) }, { signer: c, actor: honest("challenger", truth) });
      expect(pc.state.asserterWon).to.equal(false);
      await expect(pc.last!).to.emit(f.game, "AttemptSettled").withArgs(jobId, job.attempt, 2n, pool, COLLATERAL - pool);
      expect(await f.game.attemptIdOf(jobId, job.attempt)).to.equal(attemptIdOf(jobId, job.attempt));
      // A stranger claims a's share: a is credited, the stranger is not.
      const claim = f.game.connect(f.other).claimReward(gA);
      await expect(claim).to.emit(f.game, "RewardClaimed").withArgs(gA, a.address, pool / 2n);
      await expect(claim).to.emit(f.game, "Credited").withArgs(a.address, pool / 2n);
      expect(await f.game.credits(a.address)).to.equal(f.bond + pool / 2n);
      expect(await f.game.credits(f.other.address)).to.equal(0n);
      expect((await f.game.getGame(gA)).rewardClaimed).to.equal(true);
      await expect(f.game.claimReward(gA)).to.be.revertedWithCustomError(f.game, "DisputeGameRewardClaimed").withArgs(gA);
      await expect(f.game.connect(a).claimReward(gA)).to.be.revertedWithCustomError(f.game, "DisputeGameRewardClaimed").withArgs(gA);
      await expect(f.game.claimReward(gB)).to.be.revertedWithCustomError(f.game, "DisputeGameNoReward").withArgs(gB);
      // Even the node may claim c's share for it.
      await expect(f.game.connect(f.node).claimReward(gC)).to.emit(f.game, "RewardClaimed").withArgs(gC, c.address, pool - pool / 2n);
      expect(await f.game.credits(c.address)).to.equal(f.bond + pool - pool / 2n);
      expect(await f.game.credits(f.node.address)).to.equal(f.bond); // b's bond
      await expect(f.game.claimReward(gC)).to.be.revertedWithCustomError(f.game, "DisputeGameRewardClaimed").withArgs(gC);
      expect(await attemptOf(f, jobId, job.attempt)).to.deep.equal({ winners: 2, claimed: 2, settled: true });
      await expectGameBalanced(f);
    });
  });

  // ----------------------------------------------------------------------------------------------
  // Finding 2: a node that lost may not serve the job again
  // ----------------------------------------------------------------------------------------------

  describe("finding 2: a node that lost may not serve the job again", () => {
    it("finding 2: after losing the game the node cannot retake the reopened job; another node takes it and finalises", async () => {
      const f = await loadFixture(deployGame);
      const { jobId, job, truth, defends } = await lyingJob(f, 505);
      const gameId = await challenge(f, jobId, job, f.challenger);
      const played = await playGame(f.game, gameId, { signer: f.node, actor: honest("asserter", defends) }, { signer: f.challenger, actor: honest("challenger", truth) });
      expect(played.state.asserterWon).to.equal(false);
      await expect(played.last!).to.emit(f.market, "NodeBarred").withArgs(jobId, f.node.address);
      expect(await f.market.barred(jobId, f.node.address)).to.equal(true);
      const { job: reopened } = await jobFrom(played.last!, job);
      expect(reopened.status).to.equal(JobStatus.Open);
      expect(await f.market.jobHash(jobId)).to.equal(hashJob(reopened));
      // The node still has free stake enough for the job, but is barred from it.
      expect((await f.staking.accountOf(f.node.address)).free).to.be.at.least(COLLATERAL);
      await expect(f.market.connect(f.node).takeJob(jobId, reopened)).to.be.revertedWithCustomError(f.market, "JobMarketNodeBarred").withArgs(jobId, f.node.address);
      // Another node takes the job (attempt 2), submits the honest result and, unchallenged, finalises.
      const second = f.other;
      await f.staking.connect(second).stake({ value: NODE_STAKE });
      let { job: current } = await jobFrom(f.market.connect(second).takeJob(jobId, reopened), reopened);
      expect(current.attempt).to.equal(2n);
      const L = truth.layerCount;
      ({ job: current } = await jobFrom(
        f.market.connect(second).submitResult(jobId, current, int8Bytes(truth.output), toHex(truth.traceRoot), truth.activationRoot(0).proof.map(toHex), truth.activationRoot(L).proof.map(toHex)),
        current,
      ));
      await time.increaseTo(current.deadline);
      const fin = f.market.connect(f.requester).finalize(jobId, current, int8Bytes(truth.output));
      await expect(fin).to.emit(f.market, "JobFinalized").withArgs(jobId, second.address, 2n, true, true);
      await expect(fin).to.changeEtherBalance(second, FEE);
      expect(await f.staking.accountOf(second.address)).to.deep.equal([NODE_STAKE, 0n, 0n, 0n]);
      // The first node paid for its lie once; the requester's compensation is on record.
      expect(await f.staking.accountOf(f.node.address)).to.deep.equal([NODE_STAKE - COLLATERAL, 0n, 0n, 0n]);
      expect(await f.market.compensation(jobId)).to.equal(COLLATERAL - rewardPool());
      await expectGameBalanced(f);
    });
  });

  // ----------------------------------------------------------------------------------------------
  // Gas of the longest MNIST game
  // ----------------------------------------------------------------------------------------------

  describe("gas", () => {
    it("gas of the longest MNIST game: a node that lied in layer 1 defends its lie to the step (settlement, claim and withdrawal included)", async () => {
      const f = await loadFixture(deployGame);
      const { model } = mnistModel();
      const mc = mnistCommitment();
      const input = mnistInput(506);
      const truth = TraceProvider.fromInput(model, mc, new Int8Array(input.buffer, input.byteOffset, input.length));
      const lie = propagatingLie(model, truth.trace, 1)!;
      const lying = TraceProvider.fromTrace(model, mc, lie.trace);
      const { jobId, job } = await submitJob(f, f.modelId, truth.trace[0], lying, lying.output);
      const open = await (await f.game.connect(f.challenger).challenge(jobId, job, { value: f.bond })).wait();
      const gameId = await f.game.gameIdOf(jobId, job.attempt, f.challenger.address);
      const played = await playGame(f.game, gameId, { signer: f.node, actor: honest("asserter", withSums(lying, "jumpLast")) }, { signer: f.challenger, actor: honest("challenger", truth) });
      expect(played.state.asserterWon).to.equal(false);
      expect(played.state.layer).to.equal(1n);
      expect(await reasonOf(f, gameId)).to.equal(Reason.StepFailed);
      await expect(played.last!).to.emit(f.game, "AttemptSettled");
      const claim = await (await f.game.connect(f.challenger).claimReward(gameId)).wait();
      const withdraw = await (await f.game.connect(f.challenger).withdraw()).wait();
      const moves = [{ by: "challenger", name: "challenge", gas: open!.gasUsed }, ...played.moves, { by: "challenger", name: "claimReward", gas: claim!.gasUsed }, { by: "challenger", name: "withdraw", gas: withdraw!.gasUsed }];
      expect(played.moves.map((m) => m.name)).to.deep.equal(["revealRoots", "pickRoots", "revealNodes", "pickNode", "stateAccumulator", "postSums", "pickSums", "step"]);
      const total = (by: string) => moves.filter((m) => m.by === by).reduce((s, m) => s + m.gas, 0n);
      const shape = modelShape(model);
      const [asserterBound, challengerBound] = await f.game.gasBounds(shape.layerCount, shape.maxWidth);
      console.log(`      gas (MNIST, layer 1 lie defended to the step): ${moves.map((m) => `${m.name} ${m.gas}`).join(", ")}`);
      console.log(`      gas totals: challenger ${total("challenger")} (bound ${challengerBound}), node ${total("asserter")} (its bound against a lying challenger ${asserterBound}); bond ${ethers.formatEther(f.bond)} ETH`);
    });
  });
});
