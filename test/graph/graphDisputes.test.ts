import { readFileSync } from "node:fs";
import path from "node:path";
import { expect } from "chai";
import { ethers } from "hardhat";
import { loadFixture, time } from "@nomicfoundation/hardhat-network-helpers";
import { anyValue } from "@nomicfoundation/hardhat-chai-matchers/withArgs";
import type { HardhatEthersSigner } from "@nomicfoundation/hardhat-ethers/signers";
import { bytesEqual, int8Bytes, toHex } from "../../core/bytes";
import { activationTree } from "../../core/commitments";
import { JobStatus, hashJob } from "../../core/jobState";
import { sizeOf } from "../../core/graph/program";
import { GraphPhase, GraphReason, toGraphGameState } from "../../core/graph/game/gameState";
import { STAGE_FINISHED_REDUCE } from "../../core/graph/step";
import { type FoldLie, type LieSite, liar } from "../../core/graph/game/lies";
import { leafInfo, programFacts } from "../../core/graph/game/stepOpenings";
import { treeDepth } from "../../core/merkle";
import { Rng, randomProgram } from "./randomPrograms";
import { type GraphActor, type GraphPlayed, honestGraph, playGraphGame, refuseGraph, scriptedGraph } from "../helpers/graphGameActors";
import { CONFIG, FEE, UNBONDING_DELAY, jobFrom, mnistInput } from "../helpers/marketFixture";
import {
  GRAPH_GAME,
  GRAPH_NODE_STAKE,
  type GraphMarket,
  type GraphSubject,
  attemptIdOf,
  deployGraphMarket,
  disputedJob,
  expectGraphDisputesBalanced,
  gasOf,
  graphSubject,
  importedCnn,
  postGraphJob,
  rewardPoolOf,
  shapeArg,
  submissionOf,
  takeAndSubmit,
} from "../helpers/graphMarketFixture";

/**
 * GraphDisputes (contracts/graph/GraphDisputes.sol): the graph dispute game bound to the job market. Graph models
 * (the CNN imported from models/mnist-cnn/float.onnx and a seeded random program) are registered with their dispute
 * shape; jobs on them are priced by LibGraphDisputeCost, and a node's graph trace root passes the market's submission
 * check. Challenges open GraphDisputeGame games that the planner plays to the end; settling pays the bond to the
 * winner's side and, when the node lost, rejects the result, bars the node and slashes its collateral (the reward
 * pool to the challengers that won, the rest to the requester), to the wei. The refusals carry their values; the
 * bindings and the constructor are checked; and the longest games on the CNN stay inside each side's gas bound
 * (LibGraphDisputeCost), printed as a table. GRAPH_DISPUTES_SEED replays another seed.
 */
const SEED = Number(process.env.GRAPH_DISPUTES_SEED ?? 0x6d15) >>> 0;
const { coverGasPrice: PRICE, clockBudget: CLOCK, challengerRewardBps: BPS } = GRAPH_GAME;
const MAX_UINT32 = 2n ** 32n - 1n;
const fmt = (n: bigint | number) => n.toLocaleString("en-US");

/** A small seeded random program with a reduce op (Dense or Conv) and at least five trace leaves. */
function randomSubject(seed: number): GraphSubject {
  const rng = new Rng(seed);
  for (let k = 0; k < 200; k++) {
    const program = randomProgram(rng, { ops: 5 });
    const input = rng.int8Array(sizeOf(program.inputShape));
    if (!program.ops.some((op) => op.kind === "conv" || op.kind === "dense")) continue;
    const s = graphSubject(`random #${k}`, program, input);
    if (s.honest.leafCount >= 5 && s.outputSize >= 2) return s;
  }
  throw new Error(`seed ${seed}: no suitable random program in 200 draws`);
}

/** An element of the CNN's first conv value that is below its max-pool window's maximum: a lie there (one lower) is masked. */
function maskedSite(s: GraphSubject): LieSite {
  const pool = s.program.ops[1];
  if (pool.kind !== "maxPool" || pool.inputs[0] !== 1) throw new Error("op 2 of the CNN is a max-pool of op 1's value");
  const [, H, W] = programFacts(s.program).shapes[1];
  const [kh, kw] = pool.kernel;
  const [sh, sw] = pool.strides;
  const v = s.honest.trace.values[1];
  for (let e = 0; e < v.length; e++) {
    const c = Math.floor(e / (H * W));
    const y = Math.floor((e % (H * W)) / W);
    const x = e % W;
    const [wy, wx] = [Math.floor(y / sh) * sh, Math.floor(x / sw) * sw];
    if (y - wy >= kh || x - wx >= kw) continue;
    let max = -129;
    for (let dy = 0; dy < kh; dy++) for (let dx = 0; dx < kw; dx++) if (wy + dy < H && wx + dx < W) max = Math.max(max, v[c * H * W + (wy + dy) * W + wx + dx]);
    if (v[e] > -128 && v[e] < max) return { leaf: s.honest.leafOf(1, "out"), element: e, value: v[e] - 1, propagate: true };
  }
  throw new Error("no element below its window's maximum");
}

/** The per-move constants of LibGraphDisputeCost.sol and LibDisputeCost.sol, read from the sources (for the gas table). */
function costConstants(): Map<string, bigint> {
  const out = new Map<string, bigint>();
  for (const file of ["lib/graph/LibGraphDisputeCost.sol", "lib/LibDisputeCost.sol"]) {
    const source = readFileSync(path.join(__dirname, "../../contracts", file), "utf8");
    const prefix = file.includes("Graph") ? "" : "LibDisputeCost.";
    for (const m of source.matchAll(/uint256 internal constant (\w+) = ([\d_]+);/g)) out.set(prefix + m[1], BigInt(m[2].replace(/_/g, "")));
  }
  return out;
}

describe("GraphDisputes: the graph dispute game bound to the job market", function () {
  let cnn: GraphSubject;
  let small: GraphSubject;
  const CNN_ID = 1n;
  const SMALL_ID = 2n;
  const DENSE_ID = 3n;

  before(async function () {
    cnn = await importedCnn();
    small = randomSubject(SEED);
    console.log(`      graph disputes seed: ${SEED} (GRAPH_DISPUTES_SEED=${SEED} replays it); ${small.label}: ${small.program.ops.map((o) => o.kind).join(", ")}, shape ${JSON.stringify(small.shape)}`);
  });

  /** The stack with the CNN (id 1), the random program (id 2) and the MNIST MLP (id 3, Dense); one deployment, reverted to for each test. */
  async function stack(): Promise<GraphMarket> {
    return deployGraphMarket([cnn, small]);
  }

  /** Plays a game to its verdict on GraphDisputeGame: the node asserts, the challenger disputes; no move may be refused. */
  async function play(f: GraphMarket, gameId: string, nodeActor: GraphActor, challengerActor: GraphActor, node: HardhatEthersSigner = f.node, challenger: HardhatEthersSigner = f.challenger): Promise<GraphPlayed> {
    const played = await playGraphGame(f.graph.game, gameId as `0x${string}`, { signer: node, actor: nodeActor }, { signer: challenger, actor: challengerActor }, { errors: [f.graph.runner] });
    expect(played.state.phase).to.equal(GraphPhase.Resolved);
    expect(played.reverts, "refused moves").to.deep.equal([]);
    return played;
  }

  /** `who` challenges the submitted job with the right bond; returns the game id. */
  async function challenge(f: GraphMarket, jobId: bigint, job: Awaited<ReturnType<typeof postGraphJob>>["job"], who: HardhatEthersSigner = f.challenger) {
    const bond = await f.disputes.bondFor(job.modelId);
    const gameId = await f.disputes.gameIdOf(jobId, job.attempt, who.address);
    const tx = await f.disputes.connect(who).challenge(jobId, job, { value: bond });
    await expect(tx).to.emit(f.disputes, "DisputeOpened").withArgs(gameId, jobId, job.attempt, who.address, job.node, bond, anyValue);
    return { gameId, bond, tx };
  }

  const stakeOf = async (f: GraphMarket, a: HardhatEthersSigner) => {
    const [free, locked] = await f.staking.accountOf(a.address);
    return { free, locked };
  };

  // ------------------------------------------------------------------------------------------------
  // 1, 2: deployment and registration
  // ------------------------------------------------------------------------------------------------

  it("binds both games in the deployment order, with one pricing", async function () {
    const f = await loadFixture(stack);
    const [market, staking, registry, dense, disputes, game] = await Promise.all([f.market, f.staking, f.registry, f.denseGame, f.disputes, f.graph.game].map((c) => c.getAddress()));
    expect(await f.staking.market()).to.equal(market);
    expect(await f.staking.disputeGame()).to.equal(dense);
    expect(await f.staking.graphGame()).to.equal(disputes);
    expect(await f.market.disputeGame()).to.equal(dense);
    expect(await f.market.graphGame()).to.equal(disputes);
    expect([await f.disputes.market(), await f.disputes.staking(), await f.disputes.registry(), await f.disputes.game()]).to.deep.equal([market, staking, registry, game]);
    expect([await f.disputes.coverGasPrice(), await f.disputes.clockBudget(), await f.disputes.challengerRewardBps()]).to.deep.equal([PRICE, BigInt(CLOCK), BPS]);
    expect([await f.denseGame.coverGasPrice(), await f.denseGame.challengerRewardBps()]).to.deep.equal([PRICE, BPS]);
    expect((await f.market.queryFilter(f.market.filters.GraphGameBound())).map((e) => e.args.graphGame)).to.deep.equal([disputes]);
    expect((await f.staking.queryFilter(f.staking.filters.GraphGameBound())).map((e) => e.args.graphGame)).to.deep.equal([disputes]);
  });

  it("registers graph models with their dispute shape, reads them back, and refuses bad shapes with their bounds", async function () {
    const f = await loadFixture(stack);
    // The CNN: conv, max-pool, conv, max-pool, flatten, dense, dense; its leaves the input, every computing op's value and
    // the output; its largest tensor the first conv's value (8 × 28 × 28 int8 in 196 leaves), its longest row the first
    // dense's (400 terms: 13 chunks and the finishing step).
    expect(cnn.shape).to.deep.equal({ opCount: 7, leafCount: 8, maxTensorLeaves: 196, maxRowChunks: 14 });
    for (const [s, id] of [
      [cnn, CNN_ID],
      [small, SMALL_ID],
    ] as const) {
      const m = await f.registry.getModel(id);
      expect([m.root, m.owner, m.inputSize, m.outputSize, m.layerCount, m.retired, m.maxWidth, m.uri]).to.deep.equal([
        s.root,
        f.deployer.address,
        BigInt(s.inputSize),
        BigInt(s.outputSize),
        BigInt(s.shape.leafCount - 1),
        false,
        0n,
        `test/${s.label}`,
      ]);
      const expected = [s.shape.opCount, s.shape.leafCount, s.shape.maxTensorLeaves, s.shape.maxRowChunks].map(BigInt);
      expect([...m.graph]).to.deep.equal(expected);
      expect([...(await f.registry.graphShape(id))]).to.deep.equal(expected);
      expect([...(await f.registry.modelShape(id))]).to.deep.equal([BigInt(s.inputSize), BigInt(s.outputSize), BigInt(s.shape.leafCount - 1), false, 0n]);
      expect(await f.registry.modelRoot(id)).to.equal(s.root);
    }
    // A Dense model has a widest layer and no graph shape.
    expect([...(await f.registry.graphShape(DENSE_ID))]).to.deep.equal([0n, 0n, 0n, 0n]);
    expect((await f.registry.modelShape(DENSE_ID)).maxWidth).to.be.greaterThan(0n);

    const next = (await f.registry.modelCount()) + 1n;
    await expect(f.registry.connect(f.other).registerGraphModel(small.root, small.inputSize, small.outputSize, shapeArg(small.shape), "again"))
      .to.emit(f.registry, "GraphModelRegistered")
      .withArgs(next, small.root, f.other.address, small.inputSize, small.outputSize, [small.shape.opCount, small.shape.leafCount, small.shape.maxTensorLeaves, small.shape.maxRowChunks], "again");

    const s = cnn;
    const ioLeaves = BigInt(Math.ceil(Math.max(s.inputSize, s.outputSize) / 32));
    expect(ioLeaves).to.equal(25n); // the 784-pixel input
    type ShapePatch = Partial<Record<keyof ReturnType<typeof shapeArg>, number | bigint>>;
    const register = (patch: ShapePatch, sizes: [number, number] = [s.inputSize, s.outputSize], root: string = s.root) =>
      f.registry.registerGraphModel(root, sizes[0], sizes[1], { ...shapeArg(s.shape), ...patch }, "bad");
    const refused = (patch: ShapePatch, what: string, value: bigint, min: bigint, max: bigint) =>
      expect(register(patch)).to.be.revertedWithCustomError(f.registry, "ModelRegistryInvalidGraphShape").withArgs(what, value, min, max);
    await refused({ opCount: 0 }, "opCount", 0n, 1n, 65_536n);
    await refused({ opCount: 65_537 }, "opCount", 65_537n, 1n, 65_536n);
    await refused({ leafCount: 0 }, "leafCount", 0n, 2n, 65_536n);
    await refused({ leafCount: 1 }, "leafCount", 1n, 2n, 65_536n);
    await refused({ leafCount: 65_537 }, "leafCount", 65_537n, 2n, 65_536n);
    await refused({ maxTensorLeaves: 0 }, "maxTensorLeaves", 0n, ioLeaves, MAX_UINT32);
    await refused({ maxTensorLeaves: Number(ioLeaves) - 1 }, "maxTensorLeaves", ioLeaves - 1n, ioLeaves, MAX_UINT32);
    await refused({ maxRowChunks: 0 }, "maxRowChunks", 0n, 1n, MAX_UINT32);
    await expect(register({}, [0, 10])).to.be.revertedWithCustomError(f.registry, "ModelRegistryInvalidSize").withArgs(0n, 10n, 65_536n);
    await expect(register({}, [784, 65_537])).to.be.revertedWithCustomError(f.registry, "ModelRegistryInvalidSize").withArgs(784n, 65_537n, 65_536n);
    await expect(register({}, undefined, ethers.ZeroHash)).to.be.revertedWithCustomError(f.registry, "ModelRegistryZeroRoot");
    // The bounds themselves are accepted: the largest op and leaf counts (layerCount 65,535 fits its 16 bits), the fewest leaves.
    const edge = { opCount: 65_536, leafCount: 65_536, maxTensorLeaves: Number(ioLeaves), maxRowChunks: 1 };
    await (await register(edge)).wait();
    expect([...(await f.registry.modelShape(next + 1n))]).to.deep.equal([784n, 10n, 65_535n, false, 0n]);
    await register({ leafCount: 2, maxTensorLeaves: MAX_UINT32, maxRowChunks: MAX_UINT32 });
    expect((await f.registry.modelShape(next + 2n)).layerCount).to.equal(1n);
  });

  // ------------------------------------------------------------------------------------------------
  // 3: pricing and the honest submission
  // ------------------------------------------------------------------------------------------------

  it("prices a graph job by LibGraphDisputeCost, refuses one wei less, and accepts an honest graph trace root with its two proofs", async function () {
    const f = await loadFixture(stack);
    for (const [s, id] of [
      [cnn, CNN_ID],
      [small, SMALL_ID],
    ] as const) {
      const [asserterGas, challengerGas] = await f.disputes.gasBounds(shapeArg(s.shape));
      expect(await f.disputes.bondFor(id)).to.equal(asserterGas * PRICE);
      const need = await f.market.minCollateralOf(id);
      expect(need, "the graph pricing: the reward pool covers the challenger's bound").to.equal((challengerGas * PRICE * 10_000n + BPS - 1n) / BPS);
      expect(need > CONFIG.minCollateral, "the graph bound, not the market's floor, sets the collateral").to.equal(true);
      await expect(postGraphJob(f, id, s, { collateral: need - 1n })).to.be.revertedWithCustomError(f.market, "JobMarketCollateralTooLow").withArgs(need - 1n, need);

      let { jobId, job } = await postGraphJob(f, id, s);
      expect(job.collateral).to.equal(need);
      expect(job.layerCount, "layerCount: the trace's last leaf").to.equal(BigInt(s.honest.leafCount - 1));
      expect(job.inputRoot, "LibMerkle.rootOfBytes(input) is the graph trace's leaf 0").to.equal(toHex(s.truth.extension(0).value));
      ({ job } = await jobFrom(f.market.connect(f.node).takeJob(jobId, job), job));
      const honest = submissionOf(s.truth);
      // An output that is not the trace's last leaf is refused.
      const other = Uint8Array.from(honest.output);
      other[0] ^= 1;
      await expect(f.market.connect(f.node).submitResult(jobId, job, other, honest.traceRoot, honest.inputProof, honest.outputProof))
        .to.be.revertedWithCustomError(f.market, "JobMarketInvalidOutputProof")
        .withArgs(jobId, honest.traceRoot, toHex(activationTree(new Int8Array(other.buffer)).root));
      const tx = await f.market.connect(f.node).submitResult(jobId, job, honest.output, honest.traceRoot, honest.inputProof, honest.outputProof);
      const outputRoot = toHex(s.truth.extension(s.honest.leafCount - 1).value);
      await expect(tx).to.emit(f.market, "ResultSubmitted").withArgs(jobId, f.node.address, 1n, honest.traceRoot, outputRoot, anyValue, toHex(honest.output));
      ({ job } = await jobFrom(tx, job));
      expect([job.status, job.traceRoot, job.outputRoot]).to.deep.equal([JobStatus.Submitted, honest.traceRoot, outputRoot]);
      // Nobody disputes it: it finalises after the window and pays the fee.
      await time.increaseTo(job.deadline);
      const finalize = await f.market.connect(f.other).finalize(jobId, job, honest.output);
      await expect(finalize).to.changeEtherBalances([f.node, f.market], [FEE, -FEE]);
      await expect(finalize).to.emit(f.market, "JobFinalized").withArgs(jobId, f.node.address, 1n, true, true);
      expect(await stakeOf(f, f.node)).to.deep.equal({ free: GRAPH_NODE_STAKE, locked: 0n });
    }
    await expectGraphDisputesBalanced(f);
  });

  // ------------------------------------------------------------------------------------------------
  // 4: a lying node against an honest challenger
  // ------------------------------------------------------------------------------------------------

  for (const lie of [
    { name: "a lie in the last op's value that changes the output", changesOutput: true, site: () => ({ leaf: cnn.honest.leafCount - 2, element: 3, propagate: true }) },
    { name: "a lie in the first conv's value that the max-pool masks before the output", changesOutput: false, site: () => maskedSite(cnn) },
  ]) {
    it(`a lying node (${lie.name}) loses to an honest challenger: bond back and the reward pool, the rest to the requester, the job reopened`, async function () {
      const f = await loadFixture(stack);
      const { node, challenger, requester, other } = f;
      const site = lie.site();
      const claimed = liar(cnn.honest, site);
      const submission = submissionOf(claimed);
      expect(bytesEqual(submission.output, int8Bytes(cnn.honest.output)), "the lie's output vs. the honest one").to.equal(!lie.changesOutput);
      expect(submission.traceRoot).to.not.equal(toHex(cnn.truth.traceRoot));

      let { jobId, job } = await postGraphJob(f, CNN_ID, cnn);
      const collateral = job.collateral;
      const pool = rewardPoolOf(collateral);
      const rest = collateral - pool;
      job = await takeAndSubmit(f, jobId, job, claimed); // the market cannot tell a consistent lie from the truth
      expect(await stakeOf(f, node)).to.deep.equal({ free: GRAPH_NODE_STAKE - collateral, locked: collateral });

      const bond = await f.disputes.bondFor(CNN_ID);
      const gameId = await f.disputes.gameIdOf(jobId, job.attempt, challenger.address);
      expect(gameId).to.equal(await f.graph.game.gameIdOf(await f.disputes.getAddress(), await f.disputes.keyOf(jobId, job.attempt, challenger.address)));
      const open = await f.disputes.connect(challenger).challenge(jobId, job, { value: bond });
      await expect(open).to.changeEtherBalances([challenger, f.disputes], [-bond, bond]);
      await expect(open).to.emit(f.disputes, "DisputeOpened").withArgs(gameId, jobId, 1n, challenger.address, node.address, bond, anyValue);
      await expect(open).to.emit(f.market, "FinalityHeld").withArgs(jobId, 1n, 1n);
      // The game's claim: the registry's model, the job's input root (P_0 from it) and the node's trace root.
      const g = toGraphGameState(await f.graph.game.getGame(gameId));
      expect([g.asserter, g.challenger, g.modelRoot, g.opCount, g.leafCount, g.agreed, g.disputed, g.clockBudget]).to.deep.equal([
        node.address.toLowerCase(),
        challenger.address.toLowerCase(),
        cnn.root,
        7n,
        8n,
        toHex(cnn.truth.prefixRoot(0)),
        submission.traceRoot,
        BigInt(CLOCK),
      ]);
      const d = await f.disputes.getDispute(gameId);
      expect([d.jobId, d.challenger, d.bond, d.collateral, d.attempt, d.settled, d.jobHash]).to.deep.equal([jobId, challenger.address, bond, collateral, 1n, false, await f.market.jobHash(jobId)]);

      const played = await play(f, gameId, honestGraph("asserter", claimed), honestGraph("challenger", cnn.truth));
      expect([played.state.asserterWon, played.state.reason, Number(played.state.leaf)]).to.deep.equal([false, GraphReason.StepFailed, site.leaf]);

      const settle = await f.disputes.connect(other).settle(gameId, await disputedJob(f, gameId));
      await expect(settle).to.emit(f.disputes, "DisputeSettled").withArgs(gameId, jobId, false, true);
      await expect(settle).to.emit(f.disputes, "AttemptSettled").withArgs(jobId, 1n, 1n, pool, rest);
      await expect(settle).to.emit(f.disputes, "Credited").withArgs(challenger.address, bond);
      await expect(settle).to.emit(f.market, "NodeBarred").withArgs(jobId, node.address);
      await expect(settle).to.emit(f.market, "RequesterCompensated").withArgs(jobId, rest, rest);
      await expect(settle).to.changeEtherBalances([f.disputes, f.staking, f.market], [pool, -pool, 0n]);
      ({ job } = await jobFrom(settle, job));
      expect(job.status).to.equal(JobStatus.Open);
      expect(await f.market.jobHash(jobId)).to.equal(hashJob(job));
      expect(await f.market.barred(jobId, node.address)).to.equal(true);
      expect(await f.market.openDisputes(jobId, 1)).to.equal(0n);
      expect(await f.market.compensation(jobId)).to.equal(rest);
      expect(await f.staking.credits(requester.address)).to.equal(rest);
      expect(await stakeOf(f, node), "the node's locked collateral is gone").to.deep.equal({ free: GRAPH_NODE_STAKE - collateral, locked: 0n });
      expect(await f.disputes.credits(challenger.address)).to.equal(bond);
      expect([...(await f.disputes.attempts(attemptIdOf(jobId, 1)))]).to.deep.equal([1n, 0n, true]);
      expect([(await f.disputes.getDispute(gameId)).settled, (await f.disputes.getDispute(gameId)).asserterWon]).to.deep.equal([true, false]);
      await expectGraphDisputesBalanced(f);
      // The barred node cannot take the job again; another node can.
      await expect(f.market.connect(node).takeJob(jobId, job)).to.be.revertedWithCustomError(f.market, "JobMarketNodeBarred").withArgs(jobId, node.address);
      await f.market.connect(f.node2).takeJob.staticCall(jobId, job);

      // Anyone may claim the winner's reward for it; the winner withdraws bond and reward; the requester its compensation.
      await expect(f.disputes.connect(other).claimReward(gameId)).to.emit(f.disputes, "RewardClaimed").withArgs(gameId, challenger.address, pool);
      expect(await f.disputes.credits(challenger.address)).to.equal(bond + pool);
      await expect(f.disputes.connect(challenger).withdraw()).to.changeEtherBalances([challenger, f.disputes], [bond + pool, -(bond + pool)]);
      await expect(f.staking.connect(requester).withdraw()).to.changeEtherBalances([requester, f.staking], [rest, -rest]);
      expect((await expectGraphDisputesBalanced(f)).owed).to.equal(0n);
      expect(await ethers.provider.getBalance(f.disputes)).to.equal(0n);
      // Staking now holds exactly the two nodes' stakes less the slashed collateral.
      expect(await ethers.provider.getBalance(f.staking)).to.equal(2n * GRAPH_NODE_STAKE - collateral);
    });
  }

  // ------------------------------------------------------------------------------------------------
  // 5: an honest node against a lying challenger
  // ------------------------------------------------------------------------------------------------

  it("an honest node beats a lying challenger: the bond goes to the node, finality is released, the job finalises and pays the fee", async function () {
    const f = await loadFixture(stack);
    const { node, other } = f;
    const rng = new Rng(SEED ^ 0x55);
    const leaf = rng.int(1, small.honest.leafCount - 1);
    const wrong = liar(small.honest, { leaf, element: rng.int(0, leafInfo(small.program, small.honest.leafCount, leaf).elements - 1) }); // the challenger's own run
    let { jobId, job } = await postGraphJob(f, SMALL_ID, small);
    job = await takeAndSubmit(f, jobId, job, small.truth);
    const collateral = job.collateral;
    const { gameId, bond } = await challenge(f, jobId, job);
    expect(await stakeOf(f, node)).to.deep.equal({ free: GRAPH_NODE_STAKE - collateral, locked: collateral });
    const played = await play(f, gameId, honestGraph("asserter", small.truth), honestGraph("challenger", wrong));
    expect([played.state.asserterWon, played.state.reason]).to.deep.equal([true, GraphReason.StepHeld]);

    // The window ends while the game still holds finality: the verdict is not applied until settled.
    await time.increaseTo(job.deadline);
    await expect(f.market.finalize(jobId, job, submissionOf(small.truth).output)).to.be.revertedWithCustomError(f.market, "JobMarketDisputesOpen").withArgs(jobId, 1n, 1n);
    await expect(f.disputes.claimReward(gameId)).to.be.revertedWithCustomError(f.disputes, "GraphDisputesNoReward").withArgs(gameId);
    const settle = await f.disputes.connect(node).settle(gameId, await disputedJob(f, gameId));
    await expect(settle).to.emit(f.disputes, "DisputeSettled").withArgs(gameId, jobId, true, false);
    await expect(settle).to.emit(f.market, "FinalityReleased").withArgs(jobId, 1n, 0n);
    await expect(settle).to.emit(f.disputes, "Credited").withArgs(node.address, bond);
    await expect(settle).to.not.emit(f.disputes, "AttemptSettled");
    await expect(settle).to.not.emit(f.market, "JobReopened");
    expect(await f.disputes.credits(node.address)).to.equal(bond);
    expect([...(await f.disputes.attempts(attemptIdOf(jobId, 1)))]).to.deep.equal([0n, 0n, false]);
    expect(await f.market.barred(jobId, node.address)).to.equal(false);
    // A loser has no reward.
    await expect(f.disputes.claimReward(gameId)).to.be.revertedWithCustomError(f.disputes, "GraphDisputesNoReward").withArgs(gameId);

    const finalize = await f.market.connect(other).finalize(jobId, job, submissionOf(small.truth).output);
    await expect(finalize).to.emit(f.market, "JobFinalized").withArgs(jobId, node.address, 1n, true, true);
    await expect(finalize).to.changeEtherBalances([node, f.market], [FEE, -FEE]);
    expect(await stakeOf(f, node), "collateral unlocked").to.deep.equal({ free: GRAPH_NODE_STAKE, locked: 0n });
    await expect(f.disputes.connect(node).withdraw()).to.changeEtherBalances([node, f.disputes], [bond, -bond]);
    expect((await expectGraphDisputesBalanced(f)).owed).to.equal(0n);
    expect(await ethers.provider.getBalance(f.market)).to.equal(0n);
    expect(await ethers.provider.getBalance(f.staking)).to.equal(2n * GRAPH_NODE_STAKE);
  });

  // ------------------------------------------------------------------------------------------------
  // 6: two honest challengers against one lying node
  // ------------------------------------------------------------------------------------------------

  it("two honest challengers against one lying node: the attempt settles with the last game, the second claim takes the remainder", async function () {
    const f = await loadFixture(stack);
    const { node, challenger, challenger2, requester } = f;
    const rng = new Rng(SEED ^ 0x66);
    const leaf = rng.int(1, small.honest.leafCount - 1);
    const claimed = liar(small.honest, { leaf, element: rng.int(0, leafInfo(small.program, small.honest.leafCount, leaf).elements - 1), propagate: true });
    const need = await f.market.minCollateralOf(SMALL_ID);
    const collateral = need + ((3n - (need % 4n) + 4n) % 4n); // ≡ 3 (mod 4): an odd pool, which two winners cannot split evenly
    const pool = rewardPoolOf(collateral);
    const rest = collateral - pool;
    expect(pool % 2n).to.equal(1n);
    let { jobId, job } = await postGraphJob(f, SMALL_ID, small, { collateral });
    job = await takeAndSubmit(f, jobId, job, claimed);
    const submitted = job;
    const first = await challenge(f, jobId, job, challenger);
    const second = await challenge(f, jobId, job, challenger2);
    expect(await f.market.openDisputes(jobId, 1)).to.equal(2n);

    await play(f, first.gameId, honestGraph("asserter", claimed), honestGraph("challenger", small.truth));
    await expect(f.disputes.settle(second.gameId, await disputedJob(f, second.gameId))).to.be.revertedWithCustomError(f.disputes, "GraphDisputesNotResolved").withArgs(second.gameId);
    const settle1 = await f.disputes.settle(first.gameId, await disputedJob(f, first.gameId));
    await expect(settle1).to.emit(f.disputes, "DisputeSettled").withArgs(first.gameId, jobId, false, true);
    await expect(settle1).to.not.emit(f.disputes, "AttemptSettled");
    ({ job } = await jobFrom(settle1, job));
    expect(job.status, "the first loss reopens the job").to.equal(JobStatus.Open);
    expect(await f.market.barred(jobId, node.address)).to.equal(true);
    expect(await f.market.openDisputes(jobId, 1)).to.equal(1n);
    expect([...(await f.disputes.attempts(attemptIdOf(jobId, 1)))]).to.deep.equal([1n, 0n, false]);
    expect(await stakeOf(f, node), "nothing slashed while a game is open").to.deep.equal({ free: GRAPH_NODE_STAKE - collateral, locked: collateral });
    expect(await f.market.compensation(jobId)).to.equal(0n);
    await expect(f.disputes.claimReward(first.gameId)).to.be.revertedWithCustomError(f.disputes, "GraphDisputesNotSettled").withArgs(jobId, 1n);
    await expectGraphDisputesBalanced(f);

    // The second game goes on (its job as it was disputed), and the last settlement settles the attempt.
    await play(f, second.gameId, honestGraph("asserter", claimed), honestGraph("challenger", small.truth), node, challenger2);
    const settle2 = await f.disputes.settle(second.gameId, await disputedJob(f, second.gameId));
    await expect(settle2).to.emit(f.disputes, "DisputeSettled").withArgs(second.gameId, jobId, false, false);
    await expect(settle2).to.emit(f.disputes, "AttemptSettled").withArgs(jobId, 1n, 2n, pool, rest);
    await expect(settle2).to.changeEtherBalances([f.disputes, f.staking], [pool, -pool]);
    expect([...(await f.disputes.attempts(attemptIdOf(jobId, 1)))]).to.deep.equal([2n, 0n, true]);
    expect(await stakeOf(f, node)).to.deep.equal({ free: GRAPH_NODE_STAKE - collateral, locked: 0n });
    expect(await f.market.compensation(jobId)).to.equal(rest);
    expect(await f.market.openDisputes(jobId, 1)).to.equal(0n);
    expect(await f.market.jobHash(jobId), "the stale job changed nothing").to.equal(hashJob(job));
    expect(hashJob(submitted)).to.not.equal(hashJob(job));

    const half = pool / 2n;
    await expect(f.disputes.claimReward(first.gameId)).to.emit(f.disputes, "RewardClaimed").withArgs(first.gameId, challenger.address, half);
    await expect(f.disputes.claimReward(second.gameId)).to.emit(f.disputes, "RewardClaimed").withArgs(second.gameId, challenger2.address, pool - half);
    expect(pool - half).to.equal(half + 1n);
    await expect(f.disputes.claimReward(first.gameId)).to.be.revertedWithCustomError(f.disputes, "GraphDisputesRewardClaimed").withArgs(first.gameId);
    await expect(f.disputes.claimReward(second.gameId)).to.be.revertedWithCustomError(f.disputes, "GraphDisputesRewardClaimed").withArgs(second.gameId);
    expect([...(await f.disputes.attempts(attemptIdOf(jobId, 1)))]).to.deep.equal([2n, 2n, true]);
    await expectGraphDisputesBalanced(f);
    await expect(f.disputes.connect(challenger).withdraw()).to.changeEtherBalance(challenger, first.bond + half);
    await expect(f.disputes.connect(challenger2).withdraw()).to.changeEtherBalance(challenger2, second.bond + pool - half);
    await expect(f.staking.connect(requester).withdraw()).to.changeEtherBalance(requester, rest);
    expect((await expectGraphDisputesBalanced(f)).owed).to.equal(0n);
    expect(await ethers.provider.getBalance(f.disputes)).to.equal(0n);
  });

  // ------------------------------------------------------------------------------------------------
  // 7: refusals
  // ------------------------------------------------------------------------------------------------

  it("refuses settling, claiming and challenging out of turn, with their values", async function () {
    const f = await loadFixture(stack);
    const { node, challenger, other, requester } = f;
    const claimed = liar(small.honest, { leaf: small.honest.leafCount - 1, element: 0 });
    let { jobId, job } = await postGraphJob(f, SMALL_ID, small);
    job = await takeAndSubmit(f, jobId, job, claimed);
    const bond = await f.disputes.bondFor(SMALL_ID);
    const unknown = ethers.id("no such game");
    await expect(f.disputes.settle(unknown, job)).to.be.revertedWithCustomError(f.disputes, "GraphDisputesUnknown").withArgs(unknown);
    await expect(f.disputes.claimReward(unknown)).to.be.revertedWithCustomError(f.disputes, "GraphDisputesUnknown").withArgs(unknown);
    await expect(f.disputes.connect(other).withdraw()).to.be.revertedWithCustomError(f.disputes, "GraphDisputesNothingToWithdraw").withArgs(other.address);
    for (const value of [0n, bond - 1n, bond + 1n]) {
      await expect(f.disputes.connect(challenger).challenge(jobId, job, { value })).to.be.revertedWithCustomError(f.disputes, "GraphDisputesWrongBond").withArgs(value, bond);
    }
    // A job that is not the market's (a changed field) is refused by the market's hold.
    const forged = { ...job, fee: job.fee + 1n };
    await expect(f.disputes.connect(challenger).challenge(jobId, forged, { value: bond })).to.be.revertedWithCustomError(f.market, "JobMarketJobMismatch");
    const { gameId } = await challenge(f, jobId, job);
    await expect(f.disputes.connect(challenger).challenge(jobId, job, { value: bond })).to.be.revertedWithCustomError(f.graph.game, "GraphGameExists").withArgs(gameId);
    // The node cannot challenge its own result.
    await expect(f.disputes.connect(node).challenge(jobId, job, { value: bond })).to.be.revertedWithCustomError(f.graph.game, "GraphGameInvalidParties").withArgs(node.address, node.address);
    await expect(f.disputes.settle(gameId, await disputedJob(f, gameId))).to.be.revertedWithCustomError(f.disputes, "GraphDisputesNotResolved").withArgs(gameId);
    await expect(f.disputes.claimReward(gameId)).to.be.revertedWithCustomError(f.disputes, "GraphDisputesNoReward").withArgs(gameId);
    await play(f, gameId, honestGraph("asserter", claimed), honestGraph("challenger", small.truth));
    // settle takes back the job as disputed (its hash is what the dispute keeps).
    await expect(f.disputes.settle(gameId, forged)).to.be.revertedWithCustomError(f.disputes, "GraphDisputesJobMismatch").withArgs(gameId, hashJob(forged), hashJob(job));
    await f.disputes.settle(gameId, await disputedJob(f, gameId));
    await expect(f.disputes.settle(gameId, await disputedJob(f, gameId))).to.be.revertedWithCustomError(f.disputes, "GraphDisputesAlreadySettled").withArgs(gameId);

    // After the challenge window: the market's hold refuses, and nothing is opened.
    ({ jobId, job } = await postGraphJob(f, SMALL_ID, small));
    job = await takeAndSubmit(f, jobId, job, small.truth, f.node2);
    await time.increaseTo(job.deadline);
    await expect(f.disputes.connect(challenger).challenge(jobId, job, { value: bond }))
      .to.be.revertedWithCustomError(f.market, "JobMarketDeadlinePassed")
      .withArgs(jobId, job.deadline, (now: bigint) => now >= job.deadline);
    expect((await f.graph.game.getGame(await f.disputes.gameIdOf(jobId, 1, challenger.address))).phase).to.equal(BigInt(GraphPhase.None));

    // A Dense model is the Dense game's, and a graph model the graph game's.
    const dense = await jobFrom(
      f.market.connect(requester).postJob(DENSE_ID, mnistInput(1), ethers.ZeroAddress, 0, await f.market.minCollateralOf(DENSE_ID), (await time.latest()) + 3600, { value: FEE }),
    );
    await expect(f.disputes.bondFor(DENSE_ID)).to.be.revertedWithCustomError(f.disputes, "GraphDisputesNotGraphModel").withArgs(DENSE_ID);
    await expect(f.disputes.connect(challenger).challenge(dense.jobId, dense.job, { value: bond })).to.be.revertedWithCustomError(f.disputes, "GraphDisputesNotGraphModel").withArgs(DENSE_ID);
    ({ jobId, job } = await postGraphJob(f, CNN_ID, cnn));
    job = await takeAndSubmit(f, jobId, job, cnn.truth);
    await expect(f.denseGame.bondFor(CNN_ID)).to.be.revertedWithCustomError(f.denseGame, "DisputeGameNotDense").withArgs(CNN_ID);
    await expect(f.denseGame.connect(challenger).challenge(jobId, job, { value: 0 })).to.be.revertedWithCustomError(f.denseGame, "DisputeGameNotDense").withArgs(CNN_ID);

    // Only staking pays GraphDisputes; only the games hold finality and slash.
    await expect(other.sendTransaction({ to: await f.disputes.getAddress(), value: 1n })).to.be.revertedWithCustomError(f.disputes, "GraphDisputesUnexpectedPayment").withArgs(other.address);
    await expect(f.market.connect(other).holdFinality(jobId, job)).to.be.revertedWithCustomError(f.market, "JobMarketUnauthorized").withArgs(other.address);
    await expect(f.staking.connect(other).slash(node.address, 1n, other.address)).to.be.revertedWithCustomError(f.staking, "StakingUnauthorized").withArgs(other.address);
    await expectGraphDisputesBalanced(f);
  });

  it("refuses a graph game bound out of order, twice, by a stranger or with other pricing, and checks GraphDisputes' constructor", async function () {
    const f = await loadFixture(stack);
    const { other } = f;
    const [registry, game] = [await f.registry.getAddress(), await f.graph.game.getAddress()];
    // A second market on the same registry.
    const staking2 = await ethers.deployContract("Staking", [UNBONDING_DELAY]);
    const market2 = await ethers.deployContract("JobMarket", [registry, await staking2.getAddress(), CONFIG]);
    const [s2, m2] = [await staking2.getAddress(), await market2.getAddress()];
    const dense2 = await ethers.deployContract("DisputeGame", [m2, s2, registry, PRICE, CLOCK, BPS]);
    const otherPricing = await ethers.deployContract("GraphDisputes", [m2, s2, registry, game, PRICE * 2n, CLOCK, BPS]);
    const otherShare = await ethers.deployContract("GraphDisputes", [m2, s2, registry, game, PRICE, CLOCK, BPS - 1n]);
    const [g2, g3] = [await otherPricing.getAddress(), await otherShare.getAddress()];
    await expect(staking2.connect(other).getFunction("bindGraphGame")(g2)).to.be.revertedWithCustomError(staking2, "StakingUnauthorized").withArgs(other.address);
    await expect(staking2.getFunction("bindGraphGame")(g2)).to.be.revertedWithCustomError(staking2, "StakingBindingMismatch").withArgs("market", ethers.ZeroAddress, g2);
    await expect(market2.getFunction("bindGraphGame")(g2)).to.be.revertedWithCustomError(market2, "JobMarketGameNotBound");
    await staking2.getFunction("bind")(m2, await dense2.getAddress());
    await market2.getFunction("bindDisputeGame")(await dense2.getAddress());
    // The graph game not bound: no graph job can be priced or posted; a Dense job can.
    await expect(market2.getFunction("minCollateralOf")(CNN_ID)).to.be.revertedWithCustomError(market2, "JobMarketGameNotBound");
    const expiresAt = (await time.latest()) + 3600;
    await expect(market2.getFunction("postJob")(CNN_ID, int8Bytes(cnn.input), ethers.ZeroAddress, 0, ethers.parseEther("1"), expiresAt, { value: FEE })).to.be.revertedWithCustomError(
      market2,
      "JobMarketGameNotBound",
    );
    await market2.getFunction("postJob")(DENSE_ID, mnistInput(2), ethers.ZeroAddress, 0, ethers.parseEther("1"), expiresAt, { value: FEE });
    // Staking must have bound it first; then the pricing must be the Dense game's.
    await expect(market2.getFunction("bindGraphGame")(g2)).to.be.revertedWithCustomError(market2, "JobMarketBindingMismatch").withArgs("staking graph game", ethers.ZeroAddress, g2);
    await expect(staking2.getFunction("bindGraphGame")(g2)).to.emit(staking2, "GraphGameBound").withArgs(g2);
    await expect(staking2.getFunction("bindGraphGame")(g3)).to.be.revertedWithCustomError(staking2, "StakingAlreadyBound");
    await expect(market2.connect(other).getFunction("bindGraphGame")(g2)).to.be.revertedWithCustomError(market2, "JobMarketUnauthorized").withArgs(other.address);
    await expect(market2.getFunction("bindGraphGame")(g2)).to.be.revertedWithCustomError(market2, "JobMarketBindingMismatch").withArgs("pricing", g2, await dense2.getAddress());
    expect(await market2.getFunction("graphGame")()).to.equal(ethers.ZeroAddress);
    // The main market and staking are bound already.
    const disputes = await f.disputes.getAddress();
    await expect(f.market.bindGraphGame(disputes)).to.be.revertedWithCustomError(f.market, "JobMarketAlreadyBound");
    await expect(f.market.bindGraphGame(g3)).to.be.revertedWithCustomError(f.market, "JobMarketAlreadyBound");
    await expect(f.staking.bindGraphGame(disputes)).to.be.revertedWithCustomError(f.staking, "StakingAlreadyBound");
    await expect(f.staking.connect(other).bindGraphGame(disputes)).to.be.revertedWithCustomError(f.staking, "StakingUnauthorized").withArgs(other.address);

    // The constructor: bindings and every parameter's range.
    const factory = await ethers.getContractFactory("GraphDisputes");
    const [market, staking] = [await f.market.getAddress(), await f.staking.getAddress()];
    const args = { market, staking, registry, game, price: PRICE, clock: BigInt(CLOCK), bps: BPS };
    const deploy = (o: Partial<typeof args>) => {
      const a = { ...args, ...o };
      return factory.deploy(a.market, a.staking, a.registry, a.game, a.price, a.clock, a.bps);
    };
    await expect(deploy({ staking: s2 })).to.be.revertedWithCustomError(factory, "GraphDisputesBindingMismatch").withArgs("staking", s2, staking);
    await expect(deploy({ registry: other.address })).to.be.revertedWithCustomError(factory, "GraphDisputesBindingMismatch").withArgs("registry", other.address, registry);
    await expect(deploy({ game: other.address })).to.be.revertedWithCustomError(factory, "GraphDisputesBindingMismatch").withArgs("game", other.address, ethers.ZeroAddress);
    const U64 = 2n ** 64n - 1n;
    for (const [name, patch, value, min, max] of [
      ["coverGasPrice", { price: 0n }, 0n, 1n, U64],
      ["coverGasPrice", { price: U64 + 1n }, U64 + 1n, 1n, U64],
      ["clockBudget", { clock: 0n }, 0n, 1n, MAX_UINT32],
      ["clockBudget", { clock: MAX_UINT32 + 1n }, MAX_UINT32 + 1n, 1n, MAX_UINT32],
      ["challengerRewardBps", { bps: 0n }, 0n, 1n, 5_000n],
      ["challengerRewardBps", { bps: 5_001n }, 5_001n, 1n, 5_000n],
    ] as const) {
      await expect(deploy(patch)).to.be.revertedWithCustomError(factory, "GraphDisputesInvalidParameter").withArgs(name, value, min, max);
    }
    // Two clocks and the block margin must fit in the market's maxDisputeDuration.
    const longest = (BigInt(CONFIG.maxDisputeDuration) - 12n) / 2n;
    await expect(deploy({ clock: longest + 1n })).to.be.revertedWithCustomError(factory, "GraphDisputesClockTooLong").withArgs(longest + 1n, BigInt(CONFIG.maxDisputeDuration));
    const fits = await deploy({ clock: longest, price: U64, bps: 5_000n });
    expect(await fits.getFunction("clockBudget")()).to.equal(longest);
  });

  // ------------------------------------------------------------------------------------------------
  // 8: gas bounds on the CNN
  // ------------------------------------------------------------------------------------------------

  it("the longest games on the CNN stay inside each side's gas bound (LibGraphDisputeCost)", async function () {
    const f = await loadFixture(stack);
    const { node, challenger } = f;
    const [asserterBound, challengerBound] = await f.disputes.gasBounds(shapeArg(cnn.shape));
    const n = cnn.honest.leafCount;
    const infos = Array.from({ length: n - 1 }, (_, k) => ({ leaf: k + 1, ...leafInfo(cnn.program, n, k + 1) }));
    const longestRow = infos.reduce((a, b) => (b.chunks > a.chunks ? b : a));
    const leavesOf = (i: (typeof infos)[number]) => Math.ceil(i.elements / (i.bits === 8 ? 32 : 8));
    const largest = infos.reduce((a, b) => (leavesOf(b) > leavesOf(a) ? b : a));
    expect([longestRow.leaf, longestRow.kind, longestRow.chunks]).to.deep.equal([5, STAGE_FINISHED_REDUCE, cnn.shape.maxRowChunks]);
    expect([largest.leaf, leavesOf(largest), treeDepth(leavesOf(largest))]).to.deep.equal([1, cnn.shape.maxTensorLeaves, 8]);
    const requesters = f.rest.slice(0, 8);
    let r = 0;

    type Row = { side: "challenger" | "node"; game: string; gas: bigint; moves: { name: string; gas: bigint }[] };
    const rows: Row[] = [];
    const perMove = new Map<string, bigint>();
    const note = (moves: { name: string; gas: bigint }[]) => moves.forEach((m) => perMove.set(m.name, m.gas > (perMove.get(m.name) ?? 0n) ? m.gas : perMove.get(m.name)!));

    /** A lying node against an honest challenger: the challenger's challenge, picks, step, settle, claim and withdrawal. */
    async function nodeLies(label: string, site: LieSite, how: FoldLie) {
      const claimed = liar(cnn.honest, site, how);
      const requester = requesters[r++];
      let { jobId, job } = await postGraphJob(f, CNN_ID, cnn, { requester });
      job = await takeAndSubmit(f, jobId, job, claimed);
      const { gameId, tx } = await challenge(f, jobId, job);
      const played = await play(f, gameId, honestGraph("asserter", claimed), honestGraph("challenger", cnn.truth));
      expect([played.state.asserterWon, Number(played.state.leaf)]).to.deep.equal([false, site.leaf]);
      const moves = [
        { name: "challenge", gas: (await tx.wait())!.gasUsed },
        ...played.moves.filter((m) => m.by === "challenger").map((m) => ({ name: m.name, gas: m.gas })),
        { name: "settle (lost)", gas: await gasOf(f.disputes.connect(challenger).settle(gameId, await disputedJob(f, gameId))) },
        { name: "claimReward", gas: await gasOf(f.disputes.connect(challenger).claimReward(gameId)) },
        { name: "withdraw", gas: await gasOf(f.disputes.connect(challenger).withdraw()) },
      ];
      expect(moves.map((m) => m.name)).to.include("step");
      note(moves);
      note(played.moves.filter((m) => m.by === "asserter"));
      rows.push({ side: "challenger", game: label, gas: moves.reduce((a, m) => a + m.gas, 0n), moves });
      await f.staking.connect(requester).withdraw();
    }

    /** A lying challenger that never steps against an honest node: the node's reveals, posts, step, settle and withdrawal. */
    async function challengerLies(label: string, site: LieSite, how: FoldLie) {
      const wrong = liar(cnn.honest, site, how);
      let { jobId, job } = await postGraphJob(f, CNN_ID, cnn, { requester: requesters[r++] });
      job = await takeAndSubmit(f, jobId, job, cnn.truth);
      const { gameId } = await challenge(f, jobId, job);
      const played = await play(f, gameId, honestGraph("asserter", cnn.truth), scriptedGraph("challenger", wrong, { [GraphPhase.Step]: refuseGraph }));
      expect([played.state.asserterWon, played.state.reason, Number(played.state.leaf)]).to.deep.equal([true, GraphReason.StepHeld, site.leaf]);
      const moves = [
        ...played.moves.filter((m) => m.by === "asserter").map((m) => ({ name: m.name, gas: m.gas })),
        { name: "settle (won)", gas: await gasOf(f.disputes.connect(node).settle(gameId, await disputedJob(f, gameId))) },
        { name: "withdraw", gas: await gasOf(f.disputes.connect(node).withdraw()) },
      ];
      expect(moves.map((m) => m.name), "the node steps").to.include("step");
      note(moves);
      note(played.moves.filter((m) => m.by === "challenger"));
      rows.push({ side: "node", game: label, gas: moves.reduce((a, m) => a + m.gas, 0n), moves });
    }

    const rowSite: LieSite = { leaf: longestRow.leaf, element: longestRow.elements - 1 };
    const deepSite: LieSite = { leaf: largest.leaf, element: largest.elements - 1 };
    for (const how of ["jumpLast", "jumpFirst"] as const) await nodeLies(`node lies at leaf ${longestRow.leaf} (${longestRow.chunks} chunks), folds ${how}`, rowSite, how);
    await nodeLies(`node lies at leaf ${largest.leaf} (${leavesOf(largest)} leaves), last element`, deepSite, "jumpLast");
    for (const how of ["jumpLast", "jumpFirst"] as const) await challengerLies(`challenger lies at leaf ${longestRow.leaf}, folds ${how}, never steps`, rowSite, how);
    await challengerLies(`challenger lies at leaf ${largest.leaf}, last element, never steps`, deepSite, "jumpLast");

    const bound = (side: Row["side"]) => (side === "node" ? asserterBound : challengerBound);
    const line = (c: string[]) => `      ${c[0].padEnd(12)}${c[1].padEnd(58)}${c[2].padStart(12)}${c[3].padStart(12)}${c[4].padStart(8)}`;
    console.log(`\n      Gas of each side in the longest games on the CNN (shape ${JSON.stringify(cnn.shape)}) vs. GraphDisputes.gasBounds:`);
    console.log(line(["side", "game", "real gas", "bound", "ratio"]));
    for (const row of rows) console.log(line([row.side, row.game, fmt(row.gas), fmt(bound(row.side)), (Number(row.gas) / Number(bound(row.side))).toFixed(2)]));
    for (const side of ["challenger", "node"] as const) {
      const worst = rows.filter((x) => x.side === side).reduce((a, b) => (b.gas > a.gas ? b : a));
      console.log(`      worst ${side} game, move by move: ${worst.moves.map((m) => `${m.name} ${fmt(m.gas)}`).join(", ")}`);
    }
    // Each move against its per-move constant (the largest round of each dissection: its values counted as the bound counts them).
    const c = costConstants();
    const m = Math.min(64, cnn.shape.leafCount - 1);
    const k = Math.min(64, cnn.shape.maxRowChunks);
    const levels = treeDepth(cnn.shape.leafCount) + treeDepth(cnn.shape.opCount + 1);
    const moveBounds: Record<string, [bigint, string]> = {
      challenge: [c.get("CHALLENGE")!, "CHALLENGE"],
      revealPrefixes: [c.get("REVEAL_PREFIXES")! + BigInt(m - 1) * c.get("REVEAL_PREFIXES_PER_ROOT")!, `REVEAL_PREFIXES + ${m - 1} × PER_ROOT`],
      pickPrefixes: [c.get("PICK_PREFIXES")! + BigInt(m + 1) * c.get("PICK_PREFIXES_PER_ROOT")!, `PICK_PREFIXES + ${m + 1} × PER_ROOT`],
      revealLeaf: [c.get("REVEAL_LEAF")! + BigInt(levels) * c.get("LibDisputeCost.PER_PROOF_LEVEL")!, `REVEAL_LEAF + ${levels} × PER_PROOF_LEVEL`],
      revealNodes: [c.get("REVEAL_NODES")!, "REVEAL_NODES"],
      pickNode: [c.get("PICK_NODE")!, "PICK_NODE"],
      postFolds: [c.get("POST_FOLDS")! + BigInt(k - 1) * c.get("POST_FOLDS_PER_FOLD")!, `POST_FOLDS + ${k - 1} × PER_FOLD`],
      pickFolds: [c.get("PICK_FOLDS")! + BigInt(k + 1) * c.get("PICK_FOLDS_PER_FOLD")!, `PICK_FOLDS + ${k + 1} × PER_FOLD`],
      step: [c.get("MAX_STEP_GAS")!, "MAX_STEP_GAS"],
      "settle (lost)": [c.get("SETTLE_LOST")!, "SETTLE_LOST"],
      "settle (won)": [c.get("SETTLE_WON")!, "SETTLE_WON"],
      "claimReward + withdraw": [c.get("LibDisputeCost.PAYOUT")!, "LibDisputeCost.PAYOUT"],
      withdraw: [c.get("LibDisputeCost.WITHDRAW")!, "LibDisputeCost.WITHDRAW"],
    };
    for (const row of rows.filter((x) => x.side === "challenger")) {
      const payout = row.moves.filter((x) => x.name === "claimReward" || x.name === "withdraw").reduce((a, x) => a + x.gas, 0n);
      note([{ name: "claimReward + withdraw", gas: payout }]);
    }
    const nodeWithdraw = rows.filter((x) => x.side === "node").flatMap((x) => x.moves.filter((y) => y.name === "withdraw"));
    perMove.set("withdraw", nodeWithdraw.reduce((a, x) => (x.gas > a ? x.gas : a), 0n));
    perMove.delete("claimReward");
    const moveLine = (x: string[]) => `      ${x[0].padEnd(24)}${x[1].padStart(12)}${x[2].padStart(12)}${x[3].padStart(8)}  ${x[4]}`;
    console.log(`\n      The largest of each move over these games vs. its per-move bound (LibGraphDisputeCost):`);
    console.log(moveLine(["move", "real gas", "bound", "ratio", "constant"]));
    for (const [name, gas] of perMove) {
      const [b, what] = moveBounds[name];
      console.log(moveLine([name, fmt(gas), fmt(b), (Number(gas) / Number(b)).toFixed(2), what]));
    }
    for (const [name, gas] of perMove) expect(gas <= moveBounds[name][0], `${name} took ${gas} gas, over its bound ${moveBounds[name][1]} = ${moveBounds[name][0]}`).to.equal(true);
    for (const row of rows) expect(row.gas <= bound(row.side), `${row.side}: ${row.game} took ${row.gas} gas, over its bound ${bound(row.side)}`).to.equal(true);
    await expectGraphDisputesBalanced(f);
  });
});
