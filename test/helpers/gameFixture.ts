import { expect } from "chai";
import { ethers } from "hardhat";
import { time } from "@nomicfoundation/hardhat-network-helpers";
import { int8Bytes, toHex } from "../../core/bytes";
import { type ModelCommitment, commitModel } from "../../core/commitments";
import type { DisputeTrace } from "../../core/dispute/planner";
import { type IntegerModel, modelShape } from "../../core/model";
import { initKeccak } from "../../core/keccak";
import type { Job } from "../../core/jobState";
import { TraceProvider } from "../../core/traceProvider";
import type { Trace } from "../../core/referenceExecutor";
import type { DigitClassifier, DisputeGame, JobMarket, ModelRegistry, Staking } from "../../typechain-types";
import { COLLATERAL, CONFIG, FEE, NODE_STAKE, UNBONDING_DELAY, jobFrom, mnistInput, mnistModel } from "./marketFixture";
import { expectEscrowBalanced } from "../contracts/adversarial/escrow";

/** Dispute game parameters used by the game tests. */
export const GAME = {
  coverGasPrice: ethers.parseUnits("20", "gwei"),
  clockBudget: 3600,
  challengerRewardBps: 5000n,
};

let modelCommitment: ModelCommitment | undefined;
/** The MNIST model's commitment (computed once); its root is the registered one. */
export function mnistCommitment(): ModelCommitment {
  if (!modelCommitment) {
    const { model, root } = mnistModel();
    modelCommitment = commitModel(model);
    if (toHex(modelCommitment.root) !== root.toLowerCase()) throw new Error("the MNIST commitment does not match descriptor.json");
  }
  return modelCommitment;
}

/** challengerRewardBps of a collateral: the reward pool the winners of an attempt share (DisputeGame._rewardPool). */
export function rewardPool(collateral: bigint = COLLATERAL, bps: bigint = GAME.challengerRewardBps): bigint {
  return (collateral * bps) / 10_000n;
}

/**
 * Registry, staking, market and the real DisputeGame, bound together; the MNIST model registered.
 * `bond` is the challenger bond of a game on the MNIST model (DisputeGame.bondFor).
 */
export async function deployGame(challengerRewardBps: bigint = GAME.challengerRewardBps, coverGasPrice: bigint = GAME.coverGasPrice) {
  await initKeccak();
  const [deployer, requester, node, challenger, other, ...rest] = await ethers.getSigners();
  const registry = (await ethers.deployContract("ModelRegistry")) as unknown as ModelRegistry;
  const staking = (await ethers.deployContract("Staking", [UNBONDING_DELAY])) as unknown as Staking;
  const market = (await ethers.deployContract("JobMarket", [await registry.getAddress(), await staking.getAddress(), CONFIG])) as unknown as JobMarket;
  const game = (await ethers.deployContract("DisputeGame", [
    await market.getAddress(),
    await staking.getAddress(),
    await registry.getAddress(),
    coverGasPrice,
    GAME.clockBudget,
    challengerRewardBps,
  ])) as unknown as DisputeGame;
  await staking.bind(await market.getAddress(), await game.getAddress());
  await market.bindDisputeGame(await game.getAddress());
  const { model, root } = mnistModel();
  const shape = modelShape(model);
  await registry.registerModel(root, shape.inputSize, shape.outputSize, shape.layerCount, shape.maxWidth, "models/mnist-mlp");
  const modelId = 1n;
  const classifier = (await ethers.deployContract("DigitClassifier", [await market.getAddress(), modelId])) as unknown as DigitClassifier;
  const bond = await game.bondFor(modelId);
  return { deployer, requester, node, challenger, other, rest, registry, staking, market, game, classifier, modelId, bond };
}

export type GameFixture = Awaited<ReturnType<typeof deployGame>>;

/** Registers `model` (its root committed here) as the next model id. */
export async function registerModel(f: GameFixture, model: IntegerModel, uri = "test-model") {
  const commitment = commitModel(model);
  const shape = modelShape(model);
  const tx = await f.registry.registerModel(toHex(commitment.root), shape.inputSize, shape.outputSize, shape.layerCount, shape.maxWidth, uri);
  await tx.wait();
  const modelId = await f.registry.modelCount();
  return { modelId, commitment };
}

/**
 * Posts a job on `input` for `modelId` with `collateral`, has the node take it and submit `output` with the
 * trace root of `asserted` (the honest trace or a lie, committed consistently by the caller). The node
 * stakes first if its free stake does not cover the collateral.
 */
export async function submitJob(f: GameFixture, modelId: bigint, input: Int8Array, asserted: DisputeTrace, output: Int8Array, collateral: bigint = COLLATERAL) {
  const { requester, node, staking, market } = f;
  if ((await staking.accountOf(node.address))[0] < collateral) await staking.connect(node).stake({ value: collateral > NODE_STAKE ? collateral : NODE_STAKE });
  const expiresAt = (await time.latest()) + 3600;
  let { jobId, job } = await jobFrom(market.connect(requester).postJob(modelId, int8Bytes(input), ethers.ZeroAddress, 0, collateral, expiresAt, { value: FEE }));
  ({ job } = await jobFrom(market.connect(node).takeJob(jobId, job), job));
  const L = asserted.layerCount;
  const submit = market
    .connect(node)
    .submitResult(jobId, job, int8Bytes(output), toHex(asserted.traceRoot), asserted.activationRoot(0).proof.map(toHex), asserted.activationRoot(L).proof.map(toHex));
  ({ job } = await jobFrom(submit, job));
  return { jobId, job: job as Job };
}

/**
 * Posts a job on MNIST input `seed`, has the node take it and submit the result given by `trace`
 * (the honest trace, or a lie with T recomputed consistently). Returns the job and the node's provider.
 */
export async function submittedJob(f: GameFixture, seed: number, lie?: (honest: Trace) => Trace, collateral: bigint = COLLATERAL) {
  const { model } = mnistModel();
  const mc = mnistCommitment();
  const input = mnistInput(seed);
  const honest = TraceProvider.fromInput(model, mc, new Int8Array(input.buffer, input.byteOffset, input.length));
  const trace = lie ? lie(honest.trace.map((a) => Int8Array.from(a))) : honest.trace;
  const asserted = TraceProvider.fromTrace(model, mc, trace);
  const { jobId, job } = await submitJob(f, f.modelId, honest.trace[0], asserted, asserted.output, collateral);
  return { jobId, job, honest, asserted };
}

/** The payout record of an attempt (DisputeGame.attempts), as plain numbers and a flag. */
export async function attemptOf(f: GameFixture, jobId: bigint, attempt: bigint | number) {
  const a = await f.game.attempts(attemptIdOf(jobId, attempt));
  return { winners: Number(a.winners), claimed: Number(a.claimed), settled: a.settled };
}

/**
 * The game contract holds exactly what it owes: its balance is every account's credit, plus the bond of
 * every open game (bondFor its model), plus the reward shares not yet claimed of every settled attempt. Every account's credit
 * is what the Credited and Withdrawn events say; no attempt's claims exceed its pool, and an attempt whose
 * winners have all claimed has paid out its pool to the wei. The game keeps nothing in staking (the pool is
 * pulled at settlement), and (unless `escrow` is false) the market and staking contracts hold exactly what
 * they owe.
 */
export async function expectGameBalanced(f: GameFixture, { escrow = true } = {}): Promise<void> {
  const { game } = f;
  const gameAddress = await game.getAddress();
  const logs = await ethers.provider.getLogs({ address: gameAddress, fromBlock: 0, toBlock: "latest" });
  const open = new Set<string>();
  const owed = new Map<string, bigint>();
  const attemptOfGame = new Map<string, string>();
  const settled = new Map<string, { pool: bigint; winners: bigint; claimed: bigint; claims: number }>();
  for (const log of logs) {
    const e = game.interface.parseLog(log);
    if (!e) continue;
    if (e.name === "GameStarted") {
      open.add(e.args.gameId);
      attemptOfGame.set(e.args.gameId, attemptIdOf(e.args.jobId, e.args.attempt));
    } else if (e.name === "GameResolved") {
      open.delete(e.args.gameId);
    } else if (e.name === "Credited") {
      owed.set(e.args.account, (owed.get(e.args.account) ?? 0n) + (e.args.amount as bigint));
    } else if (e.name === "Withdrawn") {
      owed.set(e.args.account, (owed.get(e.args.account) ?? 0n) - (e.args.amount as bigint));
    } else if (e.name === "AttemptSettled") {
      const id = attemptIdOf(e.args.jobId, e.args.attempt);
      expect(settled.has(id), `attempt ${e.args.jobId}/${e.args.attempt} settled twice`).to.equal(false);
      settled.set(id, { pool: e.args.rewardPool, winners: e.args.winners, claimed: 0n, claims: 0 });
    } else if (e.name === "RewardClaimed") {
      const s = settled.get(attemptOfGame.get(e.args.gameId)!);
      expect(s, "a reward claimed on an attempt that did not settle").to.not.equal(undefined);
      s!.claimed += e.args.amount as bigint;
      s!.claims += 1;
    }
  }
  let credits = 0n;
  for (const [account, amount] of owed) {
    expect(await game.credits(account), `credit of ${account} vs. its events`).to.equal(amount);
    credits += amount;
  }
  let bonds = 0n;
  for (const id of open) {
    const g = await game.getGame(id);
    expect(g.bond, "an open game's bond vs. bondFor its model").to.equal(await game.bondFor(g.job.modelId));
    bonds += g.bond;
  }
  let unclaimed = 0n;
  for (const [id, s] of settled) {
    const a = await game.attempts(id);
    expect(a.settled).to.equal(true);
    expect(a.winners).to.equal(s.winners);
    expect(a.claimed).to.equal(BigInt(s.claims));
    expect(s.claimed, "claims vs. the pool").to.be.at.most(s.pool);
    if (BigInt(s.claims) === s.winners) expect(s.claimed, "every winner claimed: the pool is paid out").to.equal(s.pool);
    unclaimed += s.pool - s.claimed;
  }
  expect(await ethers.provider.getBalance(gameAddress), "game balance vs. credits + open bonds + unclaimed rewards").to.equal(credits + bonds + unclaimed);
  expect(await f.staking.credits(gameAddress), "the game's credit in staking").to.equal(0n);
  if (escrow) await expectEscrowBalanced(f.market, f.staking);
}

/** DisputeGame.attemptIdOf: keccak256(abi.encode(jobId, attempt)). */
export function attemptIdOf(jobId: bigint, attempt: bigint | number): string {
  return ethers.keccak256(ethers.AbiCoder.defaultAbiCoder().encode(["uint256", "uint32"], [jobId, attempt]));
}
