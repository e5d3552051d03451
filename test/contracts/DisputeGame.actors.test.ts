import { expect } from "chai";
import { ethers } from "hardhat";
import { loadFixture, time } from "@nomicfoundation/hardhat-network-helpers";
import { int8Bytes } from "../../core/bytes";
import type { ModelCommitment } from "../../core/commitments";
import { Phase, Reason, type Role, splitPoints } from "../../core/dispute/gameState";
import { type DisputeTrace, type Move, pickNodeMove, pickRootsMove, pickSumsMove, revealedRoots } from "../../core/dispute/planner";
import type { Job } from "../../core/jobState";
import type { DenseLayer, IntegerModel } from "../../core/model";
import { Rng } from "../../core/rng";
import { TraceProvider } from "../../core/traceProvider";
import { syntheticModel } from "../../scripts/lib/syntheticModel";
import { COLLATERAL, mnistInput, mnistModel } from "../helpers/marketFixture";
import { GAME, type GameFixture, attemptOf, deployGame, expectGameBalanced, mnistCommitment, registerModel, rewardPool, submitJob } from "../helpers/gameFixture";
import { type Actor, type Overrides, type Played, honest, once, playGame, refuse, scripted } from "../helpers/gameActors";
import { type SumLie, lieAt, propagatingLie, withPadding, withSums } from "../../core/dispute/lies";

/**
 * The actor catalogue of issue 4: an honest node against lying challengers and a lying node against an
 * honest challenger, over every strategy the issue names, on the MNIST model, a model with padded hidden
 * layers and a model deep and wide enough for several dissection rounds. The honest side wins every game;
 * after every game the contracts hold exactly what they owe (expectGameBalanced: the game's balance is its
 * credits, the bonds of open games and the unclaimed reward shares of settled attempts; market and staking
 * escrow balance).
 */

interface TestModel {
  readonly model: IntegerModel;
  readonly commitment: ModelCommitment;
  readonly modelId: bigint;
  readonly input: (seed: number) => Int8Array;
}

const tally = { games: 0, strategies: new Set<string>(), moves: 0 };

async function world() {
  const f = await deployGame();
  const mnist: TestModel = {
    model: mnistModel().model,
    commitment: mnistCommitment(),
    modelId: f.modelId,
    input: (seed) => new Int8Array(mnistInput(seed).buffer),
  };
  const rng = new Rng(20261125);
  // Hidden layers of 40 and 24 outputs: the last leaf of each has padding.
  const paddedModel = syntheticModel(rng, { sizes: [64, 40, 24, 10], style: "scaled" });
  // 71 layers (two rounds of root dissection) and a fan-in of 2,100 (R = 66: two rounds of sums): a random
  // first layer, then 69 layers that rotate 12 values and one that keeps 10 of them, so that a change in
  // any layer reaches the output.
  const first = syntheticModel(rng, { sizes: [2100, 12], style: "scaled" }).layers[0];
  const copy = (nOut: number, from: (j: number) => number): DenseLayer => ({
    op: "dense",
    nIn: 12,
    nOut,
    weights: Int8Array.from({ length: nOut * 12 }, (_, i) => (from(Math.floor(i / 12)) === i % 12 ? 1 : 0)),
    bias: new Int32Array(nOut),
    multiplier: 2,
    shift: 1, // floor((2·acc + 1) / 2) = acc
    clampLo: -128,
    clampHi: 127,
  });
  const deepModel: IntegerModel = { inputSize: 2100, layers: [first, ...Array<DenseLayer>(69).fill(copy(12, (j) => (j + 1) % 12)), copy(10, (j) => j)] };
  // One layer (the game starts at the layer pick) with 600 outputs: a 19-leaf tree, two reveals deep.
  const singleModel = syntheticModel(rng, { sizes: [40, 600], style: "scaled" });
  const single: TestModel = { model: singleModel, ...(await registerModel(f, singleModel, "single")), input: (seed) => new Rng(seed).int8Array(40) };
  const padded: TestModel = { model: paddedModel, ...(await registerModel(f, paddedModel, "padded")), input: (seed) => new Rng(seed).int8Array(64) };
  const deep: TestModel = { model: deepModel, ...(await registerModel(f, deepModel, "deep")), input: (seed) => new Rng(seed).int8Array(2100) };
  return { f, mnist, padded, deep, single };
}

/** The game, market and staking contracts hold exactly what they owe (test/helpers/gameFixture.ts). */
const expectAllBalanced = expectGameBalanced;

async function challenge(f: GameFixture, jobId: bigint, job: Job, challenger = f.challenger): Promise<string> {
  await (await f.game.connect(challenger).challenge(jobId, job, { value: await f.game.bondFor(job.modelId) })).wait();
  return f.game.gameIdOf(jobId, job.attempt, challenger.address);
}

function reasonOf(f: GameFixture, gameId: string): Promise<Reason> {
  return f.game.queryFilter(f.game.filters.GameResolved(gameId)).then((logs) => Number(logs[0].args.reason) as Reason);
}

/** Moves the chain past the job's challenge deadline (if it is not already). */
async function pastDeadline(job: Job) {
  if (BigInt(await time.latest()) <= job.deadline) await time.increaseTo(job.deadline + 1n);
}

function record(strategy: string, played: Played) {
  tally.games++;
  tally.strategies.add(strategy);
  tally.moves += played.moves.length;
}

// ------------------------------------------------------------------------------------------------
// A lying node against an honest challenger
// ------------------------------------------------------------------------------------------------

interface Lie {
  /** The trace the node commits to and answers from. */
  readonly asserted: DisputeTrace;
  /** The output it submits. */
  readonly output: Int8Array;
  readonly overrides?: Overrides;
  readonly delay?: number;
}

async function lyingNode(strategy: string, pick: (w: Awaited<ReturnType<typeof world>>) => TestModel, seed: number, lie: (honest: TraceProvider, m: TestModel) => Lie, reasons: Reason[], revert?: string) {
  const w = await loadFixture(world);
  const { f } = w;
  const m = pick(w);
  const input = m.input(seed);
  const truth = TraceProvider.fromInput(m.model, m.commitment, input);
  const { asserted, output, overrides, delay } = lie(truth, m);
  const { jobId, job } = await submitJob(f, m.modelId, input, asserted, output);
  const gameId = await challenge(f, jobId, job);
  const node: Actor = overrides ? scripted("asserter", asserted, overrides) : honest("asserter", asserted);
  const played = await playGame(f.game, gameId, { signer: f.node, actor: node, delay }, { signer: f.challenger, actor: honest("challenger", truth) });
  expect(played.state.asserterWon, `${strategy}: the lying node won`).to.equal(false);
  expect(reasons).to.include(await reasonOf(f, gameId), strategy);
  if (revert) expect(played.reverts.map((r) => r.error)).to.include(revert);
  // Payouts: the bond back; the only game on the attempt settles it: the collateral slashed once, the pool
  // into the game for the challenger to claim, the rest to the requester; the job reopened.
  const bond = await f.game.bondFor(m.modelId);
  const pool = rewardPool();
  expect(await attemptOf(f, jobId, job.attempt)).to.deep.equal({ winners: 1, claimed: 0, settled: true });
  expect(await f.game.credits(f.challenger.address)).to.equal(bond);
  expect(await f.staking.credits(f.challenger.address)).to.equal(0n);
  expect(await f.staking.credits(f.requester.address)).to.equal(COLLATERAL - pool);
  expect(await f.market.compensation(jobId)).to.equal(COLLATERAL - pool);
  expect((await f.staking.accountOf(f.node.address)).locked).to.equal(0n);
  expect(await f.market.jobHash(jobId)).to.not.equal(ethers.ZeroHash);
  const reopened = await f.market.queryFilter(f.market.filters.JobReopened(jobId));
  expect(reopened).to.have.length(1);
  expect(reopened[0].args.byDispute).to.equal(true);
  await expectAllBalanced(f); // the pool unclaimed
  await f.game.connect(f.other).claimReward(gameId); // anyone may claim; the challenger is credited
  expect(await f.game.credits(f.challenger.address)).to.equal(bond + pool);
  await expectAllBalanced(f, { escrow: false }); // a claim moves nothing in the market or staking
  record(strategy, played);
  return played;
}

/** The node's trace: element j of layer l changed (later layers recomputed when `downstream`), sums as `how`. */
function liarAt(l: number, j: number, how: SumLie, downstream = true, value?: number) {
  return (truth: TraceProvider, m: TestModel): Lie => {
    const lying = TraceProvider.fromTrace(m.model, m.commitment, lieAt(m.model, truth.trace, l, j, downstream, value));
    return { asserted: withSums(lying, how), output: lying.output };
  };
}

/**
 * A lie at layer l that reaches the output (the first element whose change survives the later layers):
 * the watcher disputes wrong outputs, and the dissection follows the wrong root downwards from r_L.
 */
function propagating(l: number, how: SumLie) {
  return (truth: TraceProvider, m: TestModel): Lie => {
    const lie = propagatingLie(m.model, truth.trace, l);
    if (!lie) throw new Error(`no single change in layer ${l} reaches the output`);
    return liarAt(l, lie.j, how, true, lie.value)(truth, m);
  };
}

describe("DisputeGame actors: the honest side wins every strategy", () => {
  after(() => console.log(`      actor catalogue: ${tally.games} games, ${tally.strategies.size} strategies, ${tally.moves} moves`));

  describe("a lying node against an honest challenger", () => {
    const mnist = (w: Awaited<ReturnType<typeof world>>) => w.mnist;
    const sumLies: [SumLie, Reason[]][] = [
      ["honest", [Reason.WrongOutput]],
      ["jumpLast", [Reason.StepFailed]],
      ["jumpFirst", [Reason.StepFailed]],
      ["spread", [Reason.StepFailed, Reason.SumNotInt32]],
    ];
    for (const l of [1, 2, 3]) {
      for (const [how, reasons] of sumLies) {
        it(`wrong at layer ${l}, partial sums ${how}`, () => lyingNode(`wrong at a layer, sums ${how}`, mnist, 100 + 10 * l + reasons.length, liarAt(l, 5 + l, how), reasons));
      }
    }
    it("a single wrong element in layer 1 (later layers left honest)", () => lyingNode("single wrong element", mnist, 131, liarAt(1, 77, "jumpLast", false), [Reason.StepFailed]));
    it("a single wrong element in layer 2 (later layers left honest)", () => lyingNode("single wrong element", mnist, 132, liarAt(2, 63, "spread", false), [Reason.StepFailed, Reason.SumNotInt32]));
    it("a lazy node: random outputs", () =>
      lyingNode("lazy random output", mnist, 133, (truth, m) => {
        const rng = new Rng(133);
        const trace = truth.trace.map((a) => Int8Array.from(a));
        trace[3] = trace[3].map(() => rng.int(-128, 127));
        const lying = TraceProvider.fromTrace(m.model, m.commitment, trace);
        return { asserted: withSums(lying, "jumpFirst"), output: lying.output };
      }, [Reason.StepFailed, Reason.WrongOutput]));
    it("a partial sum outside int32", () => lyingNode("sum outside int32", mnist, 134, liarAt(1, 3, "outOfRange"), [Reason.SumNotInt32]));
    it("a non-zero padding byte in hidden layer 1", () =>
      lyingNode("non-zero padding", (w) => w.padded, 135, (truth) => ({ asserted: withPadding(truth, 1, 7), output: truth.output }), [Reason.NonZeroPadding]));
    it("a non-zero padding byte in hidden layer 2", () =>
      lyingNode("non-zero padding", (w) => w.padded, 136, (truth) => ({ asserted: withPadding(truth, 2, -1), output: truth.output }), [Reason.NonZeroPadding]));

    for (const phase of [Phase.RevealRoots, Phase.RevealNodes, Phase.StateAccumulator, Phase.PostSums]) {
      it(`refuses to open in ${Phase[phase]}`, () =>
        lyingNode("refuses to open", mnist, 140 + phase, (t, m) => ({ ...liarAt(1, 9, "jumpLast")(t, m), overrides: { [phase]: refuse } }), [Reason.Timeout]));
    }
    it("lets its clock run out by playing slowly", () =>
      lyingNode("clock run-out", mnist, 150, (t, m) => ({ ...liarAt(1, 11, "jumpLast")(t, m), delay: Math.floor(GAME.clockBudget * 0.45) }), [Reason.Timeout], "DisputeGameClockExpired"));

    // Answering with another value than the one committed: the contract refuses the answer; the node can
    // then only answer honestly about its lie (and lose) or not at all (and lose on time).
    const otherValue: [string, Phase, (move: Move) => Move, string][] = [
      ["roots not in T", Phase.RevealRoots, (mv) => withArgs(mv, (a) => [a[0], a[1], a[2], [...(a[3] as string[])].reverse(), a[4]]), "DisputeGameInvalidRootProof"],
      ["nodes that do not hash to the disputed node", Phase.RevealNodes, (mv) => withArgs(mv, (a) => [a[0], a[1], [...(a[2] as string[])].reverse()]), "DisputeGameNodesMismatch"],
      ["the accumulator of another element", Phase.StateAccumulator, (mv) => withArgs(mv, (a) => [a[0], (a[1] as bigint) + 1n, ...a.slice(2)]), "DisputeGameStaleAnswer"],
      ["sums for another range", Phase.PostSums, (mv) => withArgs(mv, (a) => [a[0], (a[1] as bigint) + 1n, ...a.slice(2)]), "DisputeGameStaleRange"],
    ];
    for (const [what, phase, bad, error] of otherValue) {
      it(`answers with ${what}`, () =>
        lyingNode("answers another value than committed", mnist, 160 + phase, (t, m) => ({ ...liarAt(1, 13, "jumpLast")(t, m), overrides: { [phase]: once((_s, _c, planned) => bad(planned()!)) } }), [Reason.Timeout], error));
    }

    describe("one layer with 600 outputs (no roots to reveal, a descent of two reveals)", () => {
      const single = (w: Awaited<ReturnType<typeof world>>) => w.single;
      it("wrong output element: the challenger names layer 1 at once", async () => {
        const played = await lyingNode("wrong output", single, 180, propagating(1, "jumpLast"), [Reason.StepFailed]);
        expect(played.moves.filter((m) => m.name === "revealRoots")).to.have.length(0);
        expect(played.moves.filter((m) => m.name === "revealNodes")).to.have.length(2);
      });
      it("a lazy node", () =>
        lyingNode("lazy random output", single, 181, (truth, m) => {
          const rng = new Rng(181);
          const trace = [truth.trace[0], Int8Array.from({ length: 600 }, () => rng.int(-128, 127))];
          const lying = TraceProvider.fromTrace(m.model, m.commitment, trace);
          return { asserted: lying, output: lying.output };
        }, [Reason.StepFailed, Reason.WrongOutput]));
    });

    describe("several dissection rounds (71 layers, fan-in 2,100)", () => {
      const deep = (w: Awaited<ReturnType<typeof world>>) => w.deep;
      it("wrong at layer 1: two rounds of partial sums", async () => {
        // jumpLast breaks the last chunk: [64, 66] after the first round of 64 sub-ranges of [0, 66].
        const played = await lyingNode("wrong at a layer, sums jumpLast", deep, 170, propagating(1, "jumpLast"), [Reason.StepFailed]);
        expect(played.moves.filter((m) => m.name === "postSums")).to.have.length(2);
      });
      // The first sub-range of [0, 71] that is two layers wide: its upper end is decided in a second round.
      const twoWide = splitPoints(0, 71).find((p, i, points) => i > 0 && p - points[i - 1] === 2)!;
      it(`wrong at layer ${twoWide}: two rounds of roots`, async () => {
        const played = await lyingNode("wrong at a layer, sums spread", deep, 171, propagating(twoWide, "spread"), [Reason.StepFailed, Reason.SumNotInt32]);
        expect(played.moves.filter((m) => m.name === "revealRoots")).to.have.length(2);
        expect(played.state.layer).to.equal(BigInt(twoWide));
      });
      it("wrong output (layer 71)", () => lyingNode("wrong output", deep, 172, propagating(71, "jumpLast"), [Reason.StepFailed]));
    });
  });

  // ----------------------------------------------------------------------------------------------
  // An honest node against a lying challenger
  // ----------------------------------------------------------------------------------------------

  describe("an honest node against a lying challenger", () => {
    async function lyingChallenger(strategy: string, pick: (w: Awaited<ReturnType<typeof world>>) => TestModel, seed: number, liar: (truth: TraceProvider) => { overrides: Overrides; delay?: number }, reasons: Reason[]) {
      const w = await loadFixture(world);
      const { f } = w;
      const m = pick(w);
      const truth = TraceProvider.fromInput(m.model, m.commitment, m.input(seed));
      const { jobId, job } = await submitJob(f, m.modelId, truth.trace[0], truth, truth.output);
      const gameId = await challenge(f, jobId, job);
      const { overrides, delay } = liar(truth);
      const played = await playGame(f.game, gameId, { signer: f.node, actor: honest("asserter", truth) }, { signer: f.challenger, actor: scripted("challenger", truth, overrides), delay });
      expect(played.state.asserterWon, `${strategy}: the lying challenger won`).to.equal(true);
      expect(reasons).to.include(await reasonOf(f, gameId), strategy);
      expect(await f.game.credits(f.node.address)).to.equal(await f.game.bondFor(m.modelId));
      expect(await f.market.openDisputes(jobId, job.attempt)).to.equal(0n);
      expect(await attemptOf(f, jobId, job.attempt)).to.deep.equal({ winners: 0, claimed: 0, settled: false });
      // The result stands and finalises after its window.
      await pastDeadline(job);
      await f.market.finalize(jobId, job, int8Bytes(truth.output));
      await expectAllBalanced(f);
      record(strategy, played);
      return played;
    }

    /** Picks: a sub-range of roots, a node and position, a chunk, chosen by `rng` among those the contract accepts. */
    function randomPicks(truth: TraceProvider, rng: Rng, layerChoice?: number): Overrides {
      return {
        [Phase.PickRoots]: (s, c) => {
          const { points } = revealedRoots(s, c);
          const i = layerChoice !== undefined ? Math.max(0, points.findIndex((p) => p >= layerChoice) - 1) : rng.int(0, points.length - 2);
          return pickRootsMove(s, truth, c, i);
        },
        [Phase.PickNode]: (s, c) => {
          const n = Number(s.height) === Number(s.childHeight) ? 1 : c.revealed!.length;
          const i = rng.int(0, n - 1);
          const leaf = (Number(s.index) << (Number(s.height) - Number(s.childHeight))) + i;
          const size = truth.descriptor(Number(s.layer)).descriptor.nOut;
          return pickNodeMove(s, truth, c, i, Number(s.childHeight) > 0 ? 0 : rng.int(0, Math.min(31, size - 1 - leaf * 32)));
        },
        [Phase.PickSums]: (s, c) => pickSumsMove(s, c, rng.int(0, c.revealed!.length - 2)),
      };
    }

    const mnist = (w: Awaited<ReturnType<typeof world>>) => w.mnist;
    for (const layer of [1, 2, 3]) {
      for (const seed of [1, 2]) {
        it(`disputes correct roots and names a correct element: layer ${layer}, seed ${seed}`, () =>
          lyingChallenger("disputes correct roots, names a correct element", mnist, 200 + 10 * layer + seed, (t) => ({ overrides: randomPicks(t, new Rng(seed * 7 + layer), layer) }), [Reason.StepHeld]));
      }
    }
    it("names a zero padding position of the output", () =>
      lyingChallenger("names a padding position", mnist, 221, (t) => ({ overrides: { ...randomPicks(t, new Rng(1), 3), [Phase.PickNode]: (s, c) => pickNodeMove(s, t, c, 0, 31) } }), [Reason.ZeroPadding]));
    it("names a zero padding position of a hidden layer", () =>
      lyingChallenger("names a padding position", (w) => w.padded, 222, (t) => ({ overrides: { ...randomPicks(t, new Rng(2), 1), [Phase.PickNode]: (s, c) => pickNodeMove(s, t, c, 1, 20) } }), [Reason.ZeroPadding]));
    for (const phase of [Phase.PickRoots, Phase.PickNode, Phase.PickSums]) {
      it(`stops moving in ${Phase[phase]}`, () =>
        lyingChallenger("refuses to move", mnist, 230 + phase, (t) => ({ overrides: { ...randomPicks(t, new Rng(phase), 1), [phase]: refuse } }), [Reason.Timeout]));
    }
    it("never calls the step: the node does, and wins", async () => {
      const played = await lyingChallenger("never steps", mnist, 240, (t) => ({ overrides: { ...randomPicks(t, new Rng(3), 2), [Phase.Step]: refuse } }), [Reason.StepHeld]);
      expect(played.moves.at(-1)).to.include({ by: "asserter" as Role, name: "step" });
    });
    it("calls the step with a forged input leaf: refused; the node steps and wins", async () => {
      const played = await lyingChallenger(
        "forged step",
        mnist,
        241,
        (t) => ({
          overrides: {
            ...randomPicks(t, new Rng(4), 1),
            [Phase.Step]: once((_s, _c, planned) => withArgs(planned()!, (a) => [...a.slice(0, 4), `0x${"01".repeat(32)}`, a[5]])),
          },
        }),
        [Reason.StepHeld],
      );
      expect(played.reverts.map((r) => r.error)).to.include("DisputeGameInvalidInputProof");
    });
    it("plays so slowly that its clock runs out", () =>
      lyingChallenger("clock run-out", mnist, 242, (t) => ({ overrides: randomPicks(t, new Rng(5), 1), delay: Math.floor(GAME.clockBudget * 0.45) }), [Reason.Timeout]));
    it("disputes a correct result of the one-layer model (two reveals deep)", () =>
      lyingChallenger("disputes correct roots, names a correct element", (w) => w.single, 244, (t) => ({ overrides: randomPicks(t, new Rng(7), 1) }), [Reason.StepHeld, Reason.ZeroPadding]));
    it("disputes a correct result of the 71-layer model (two rounds of roots and of sums)", () =>
      lyingChallenger("disputes correct roots, names a correct element", (w) => w.deep, 243, (t) => ({ overrides: randomPicks(t, new Rng(6), 1) }), [Reason.StepHeld]));
  });

  // ----------------------------------------------------------------------------------------------
  // Several challengers on one result
  // ----------------------------------------------------------------------------------------------

  describe("several challengers on one result", () => {
    it("a sacrificial challenger next to an honest one: the node wins the first, loses the second; the result never finalises", async () => {
      const { f, mnist } = await loadFixture(world);
      const truth = TraceProvider.fromInput(mnist.model, mnist.commitment, mnist.input(300));
      const lying = TraceProvider.fromTrace(mnist.model, mnist.commitment, lieAt(mnist.model, truth.trace, 3, 1, true));
      const asserted = withSums(lying, "jumpLast");
      const { jobId, job } = await submitJob(f, mnist.modelId, truth.trace[0], asserted, lying.output);
      const [accomplice] = f.rest;
      const sacrificial = await challenge(f, jobId, job, accomplice);
      const real = await challenge(f, jobId, job);
      // The accomplice gives up at once; its game goes to the node.
      const p1 = await playGame(f.game, sacrificial, { signer: f.node, actor: honest("asserter", asserted) }, { signer: accomplice, actor: scripted("challenger", truth, { [Phase.PickRoots]: refuse }) });
      expect(p1.state.asserterWon).to.equal(true);
      await pastDeadline(job);
      await expect(f.market.finalize(jobId, job, int8Bytes(lying.output))).to.be.revertedWithCustomError(f.market, "JobMarketDisputesOpen");
      const p2 = await playGame(f.game, real, { signer: f.node, actor: honest("asserter", asserted) }, { signer: f.challenger, actor: honest("challenger", truth) });
      expect(p2.state.asserterWon).to.equal(false);
      expect(await f.game.credits(f.node.address)).to.equal(f.bond); // the accomplice's bond
      // The honest game was the last open one: it settles the attempt, and its challenger is the only winner.
      expect(await attemptOf(f, jobId, job.attempt)).to.deep.equal({ winners: 1, claimed: 0, settled: true });
      expect(await f.staking.credits(f.requester.address)).to.equal(COLLATERAL - rewardPool());
      await expectAllBalanced(f);
      await f.game.claimReward(real);
      expect(await f.game.credits(f.challenger.address)).to.equal(f.bond + rewardPool());
      await expectAllBalanced(f, { escrow: false });
      record("sacrificial challenger", p1);
      record("sacrificial challenger", p2);
    });

    it("eight challengers on a lie (four honest, four lying): one slash after the last game, four winners share the pool, the liars' bonds to the node", async () => {
      const { f, mnist } = await loadFixture(world);
      const truth = TraceProvider.fromInput(mnist.model, mnist.commitment, mnist.input(301));
      const lying = TraceProvider.fromTrace(mnist.model, mnist.commitment, lieAt(mnist.model, truth.trace, 2, 40, true));
      const asserted = withSums(lying, "spread");
      const { jobId, job } = await submitJob(f, mnist.modelId, truth.trace[0], asserted, lying.output);
      const challengers = f.rest.slice(0, 8);
      const ids = [];
      for (const c of challengers) ids.push(await challenge(f, jobId, job, c));
      expect(await f.market.openDisputes(jobId, job.attempt)).to.equal(8n);
      const outcomes: boolean[] = [];
      for (let k = 0; k < 8; k++) {
        // Nothing is slashed while a game on the attempt is open.
        expect((await f.staking.accountOf(f.node.address)).locked).to.equal(COLLATERAL);
        const liar = k % 2 === 1;
        const actor = liar
          ? scripted("challenger", truth, { [Phase.PickRoots]: (s, c) => pickRootsMove(s, truth, c, 0), [Phase.PickNode]: (s, c) => pickNodeMove(s, truth, c, 0, 0), [Phase.PickSums]: (s, c) => pickSumsMove(s, c, 0) })
          : honest("challenger", truth);
        const played = await playGame(f.game, ids[k], { signer: f.node, actor: honest("asserter", asserted) }, { signer: challengers[k], actor });
        outcomes.push(played.state.asserterWon);
        record(liar ? "many challengers (lying)" : "many challengers (honest)", played);
      }
      // Every game has its verdict: the honest challengers won, the liars lost. The first game (honest)
      // rejected the result; the last one settled the attempt, once.
      expect(outcomes).to.deep.equal([false, true, false, true, false, true, false, true]);
      const resolved = await f.game.queryFilter(f.game.filters.GameResolved());
      expect(resolved.filter((e) => e.args.resultRejected)).to.have.length(1);
      const settled = await f.game.queryFilter(f.game.filters.AttemptSettled(jobId));
      const pool = rewardPool();
      expect(settled.map((e) => [...e.args])).to.deep.equal([[jobId, job.attempt, 4n, pool, COLLATERAL - pool]]);
      expect(settled[0].transactionHash).to.equal(resolved.at(-1)!.transactionHash);
      expect((await f.staking.accountOf(f.node.address)).locked).to.equal(0n);
      expect(await f.staking.credits(f.requester.address)).to.equal(COLLATERAL - pool);
      expect(await f.market.openDisputes(jobId, job.attempt)).to.equal(0n);
      await expectAllBalanced(f);
      for (let k = 0; k < 8; k++) {
        if (k % 2 === 0) await f.game.claimReward(ids[k]);
        else await expect(f.game.claimReward(ids[k])).to.be.revertedWithCustomError(f.game, "DisputeGameNoReward").withArgs(ids[k]);
      }
      for (let k = 0; k < 8; k++) expect(await f.game.credits(challengers[k].address)).to.equal(k % 2 === 0 ? f.bond + pool / 4n : 0n);
      expect(await f.game.credits(f.node.address)).to.equal(4n * f.bond);
      await expectAllBalanced(f);
    });

    it("six lying challengers on a correct result: all lose, the node collects six bonds, the result finalises after the last game", async () => {
      const { f, mnist } = await loadFixture(world);
      const truth = TraceProvider.fromInput(mnist.model, mnist.commitment, mnist.input(302));
      const { jobId, job } = await submitJob(f, mnist.modelId, truth.trace[0], truth, truth.output);
      const challengers = f.rest.slice(0, 6);
      const ids = [];
      for (const c of challengers) ids.push(await challenge(f, jobId, job, c));
      // The node plays every game as it comes (its clocks all run from the challenges).
      for (let k = 0; k < 6; k++) {
        if (k === 5) {
          await pastDeadline(job);
          await expect(f.market.finalize(jobId, job, int8Bytes(truth.output))).to.be.revertedWithCustomError(f.market, "JobMarketDisputesOpen");
        }
        const picks: Overrides = { [Phase.PickRoots]: (s, c) => pickRootsMove(s, truth, c, k % 3), [Phase.PickNode]: (s, c) => pickNodeMove(s, truth, c, 0, k), [Phase.PickSums]: (s, c) => pickSumsMove(s, c, 0) };
        const played = await playGame(f.game, ids[k], { signer: f.node, actor: honest("asserter", truth) }, { signer: challengers[k], actor: scripted("challenger", truth, picks) });
        expect(played.state.asserterWon, `game ${k}: ${Reason[await reasonOf(f, ids[k])]}`).to.equal(true);
        record("many challengers on a correct result", played);
      }
      await f.market.finalize(jobId, job, int8Bytes(truth.output));
      expect(await f.game.credits(f.node.address)).to.equal(6n * f.bond);
      expect(await attemptOf(f, jobId, job.attempt)).to.deep.equal({ winners: 0, claimed: 0, settled: false });
      await expectAllBalanced(f);
      const before = await ethers.provider.getBalance(await f.game.getAddress());
      await f.game.connect(f.node).withdraw();
      expect(await ethers.provider.getBalance(await f.game.getAddress())).to.equal(before - 6n * f.bond);
    });
  });
});

/** `move` with its arguments replaced (a lie the contract must refuse). */
function withArgs(move: Move, f: (args: readonly unknown[]) => unknown[]): Move {
  return { functionName: move.functionName, args: f(move.args) } as unknown as Move;
}
