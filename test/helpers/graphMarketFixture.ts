import { readFileSync } from "node:fs";
import path from "node:path";
import { expect } from "chai";
import { ethers } from "hardhat";
import { time } from "@nomicfoundation/hardhat-network-helpers";
import type { HardhatEthersSigner } from "@nomicfoundation/hardhat-ethers/signers";
import type { ContractTransactionResponse } from "ethers";
import { int8Bytes, toHex } from "../../core/bytes";
import type { Job } from "../../core/jobState";
import { initKeccak } from "../../core/keccak";
import { loadMnist } from "../../core/mnist";
import { importGraphModel } from "../../core/modelImport/graph/importGraphModel";
import { quantiseInput } from "../../core/quantise";
import { type GraphProgram, sizeOf } from "../../core/graph/program";
import { GraphTraceProvider } from "../../core/graph/traceProvider";
import { type GraphGameTrace, gameTraceOf } from "../../core/graph/game/gameTrace";
import { type GraphDisputeShape, graphDisputeShape } from "../../core/graph/game/disputeShape";
import type { DisputeGame, GraphDisputes, JobMarket, ModelRegistry, Staking } from "../../typechain-types";
import { CONFIG, FEE, UNBONDING_DELAY, jobFrom, registerMnist } from "./marketFixture";
import { GAME } from "./gameFixture";
import { deployGraphGame } from "./graphGameActors";
import { expectEscrowBalanced } from "../contracts/adversarial/escrow";

/**
 * The job market with both dispute games bound (the Dense DisputeGame and the graph game's payouts,
 * GraphDisputes, over GraphDisputeGame), for test/graph/graphDisputes.test.ts: deployment, graph models
 * as registered subjects (their program, an honest run and its dispute shape), jobs on them driven to a
 * submitted result, and the check that GraphDisputes holds exactly what it owes.
 */

/** Both games' pricing (the market requires the graph game's to be the Dense game's): test/helpers/gameFixture.ts GAME. */
export const GRAPH_GAME = GAME;
/** What each node stakes in the fixture: enough for every job of the tests. */
export const GRAPH_NODE_STAKE = ethers.parseEther("20");

/** A graph program as the tests use it: its honest run on one input and what the registry records. */
export interface GraphSubject {
  readonly label: string;
  readonly program: GraphProgram;
  readonly input: Int8Array;
  readonly honest: GraphTraceProvider;
  /** The honest run's answers, for the planner. */
  readonly truth: GraphGameTrace;
  readonly shape: GraphDisputeShape;
  readonly inputSize: number;
  readonly outputSize: number;
  readonly root: `0x${string}`;
}

/** A subject from a program and an input. */
export function graphSubject(label: string, program: GraphProgram, input: Int8Array): GraphSubject {
  const honest = GraphTraceProvider.fromInput(program, input);
  return {
    label,
    program,
    input,
    honest,
    truth: gameTraceOf(honest),
    shape: graphDisputeShape(program),
    inputSize: sizeOf(program.inputShape),
    outputSize: honest.output.length,
    root: toHex(honest.model.root),
  };
}

let cnn: GraphSubject | undefined;
/** The CNN imported from models/mnist-cnn/float.onnx (calibrated on 100 training digits) on the first test digit; imported once. */
export async function importedCnn(): Promise<GraphSubject> {
  if (!cnn) {
    await initKeccak();
    const { train, test } = loadMnist();
    const imported = await importGraphModel(readFileSync(path.join(__dirname, "../../models/mnist-cnn/float.onnx")), { calibration: train.slice(0, 100).map((x) => x.pixels) });
    cnn = graphSubject("CNN", imported.program, quantiseInput(test[0].pixels, imported.scales[0]));
  }
  return cnn;
}

/** The shape as the registry takes it (GraphShape). */
export function shapeArg(s: GraphDisputeShape) {
  return { opCount: s.opCount, leafCount: s.leafCount, maxTensorLeaves: s.maxTensorLeaves, maxRowChunks: s.maxRowChunks };
}

/**
 * Registry, staking, market, the Dense DisputeGame and the graph stack (verifiers, router, runner, GraphDisputeGame,
 * GraphDisputes), bound in the deployment order: staking.bind(market, denseGame), staking.bindGraphGame(graphDisputes),
 * market.bindDisputeGame(denseGame), market.bindGraphGame(graphDisputes). `subjects` are registered as graph models
 * (ids 1, 2, …), then the MNIST MLP as a Dense model; both nodes stake GRAPH_NODE_STAKE.
 */
export async function deployGraphMarket(subjects: readonly GraphSubject[]) {
  await initKeccak();
  const [deployer, requester, node, challenger, challenger2, other, node2, ...rest] = await ethers.getSigners();
  const registry = (await ethers.deployContract("ModelRegistry")) as unknown as ModelRegistry;
  const staking = (await ethers.deployContract("Staking", [UNBONDING_DELAY])) as unknown as Staking;
  const market = (await ethers.deployContract("JobMarket", [await registry.getAddress(), await staking.getAddress(), CONFIG])) as unknown as JobMarket;
  const denseGame = (await ethers.deployContract("DisputeGame", [
    await market.getAddress(),
    await staking.getAddress(),
    await registry.getAddress(),
    GRAPH_GAME.coverGasPrice,
    GRAPH_GAME.clockBudget,
    GRAPH_GAME.challengerRewardBps,
  ])) as unknown as DisputeGame;
  const graph = await deployGraphGame();
  const disputes = (await ethers.deployContract("GraphDisputes", [
    await market.getAddress(),
    await staking.getAddress(),
    await registry.getAddress(),
    await graph.game.getAddress(),
    GRAPH_GAME.coverGasPrice,
    GRAPH_GAME.clockBudget,
    GRAPH_GAME.challengerRewardBps,
  ])) as unknown as GraphDisputes;
  await staking.bind(await market.getAddress(), await denseGame.getAddress());
  await staking.bindGraphGame(await disputes.getAddress());
  await market.bindDisputeGame(await denseGame.getAddress());
  await market.bindGraphGame(await disputes.getAddress());
  const modelIds: bigint[] = [];
  for (const s of subjects) {
    await (await registry.registerGraphModel(s.root, s.inputSize, s.outputSize, shapeArg(s.shape), `test/${s.label}`)).wait();
    modelIds.push(await registry.modelCount());
  }
  await (await registerMnist(registry)).wait();
  const denseModelId = await registry.modelCount();
  for (const n of [node, node2]) await staking.connect(n).stake({ value: GRAPH_NODE_STAKE });
  return { deployer, requester, node, challenger, challenger2, other, node2, rest, registry, staking, market, denseGame, graph, disputes, modelIds, denseModelId };
}

export type GraphMarket = Awaited<ReturnType<typeof deployGraphMarket>>;

/** The gas a transaction used. */
export async function gasOf(tx: Promise<ContractTransactionResponse> | ContractTransactionResponse): Promise<bigint> {
  return (await (await tx).wait())!.gasUsed;
}

/** Posts a job on `subject`'s input for `modelId` with `collateral` (default: the market's smallest for the model). */
export async function postGraphJob(f: GraphMarket, modelId: bigint, subject: GraphSubject, options: { collateral?: bigint; requester?: HardhatEthersSigner } = {}) {
  const collateral = options.collateral ?? (await f.market.minCollateralOf(modelId));
  const expiresAt = (await time.latest()) + 3600;
  return jobFrom(f.market.connect(options.requester ?? f.requester).postJob(modelId, int8Bytes(subject.input), ethers.ZeroAddress, 0, collateral, expiresAt, { value: FEE }));
}

/** What submitResult takes for the run `claimed`: its output bytes, trace root, and leaves 0 and n − 1 opened under it. */
export function submissionOf(claimed: GraphGameTrace) {
  const n = claimed.leafCount;
  const values = claimed.trace.values;
  return {
    output: int8Bytes(values[values.length - 1]),
    traceRoot: toHex(claimed.traceRoot),
    inputProof: claimed.rootUnder(0, n - 1).proof.map(toHex),
    outputProof: claimed.rootUnder(n - 1, n - 1).proof.map(toHex),
  };
}

/** `node` takes the open job and submits the run `claimed` (honest or a lie). */
export async function takeAndSubmit(f: GraphMarket, jobId: bigint, job: Job, claimed: GraphGameTrace, node: HardhatEthersSigner = f.node): Promise<Job> {
  ({ job } = await jobFrom(f.market.connect(node).takeJob(jobId, job), job));
  const s = submissionOf(claimed);
  ({ job } = await jobFrom(f.market.connect(node).submitResult(jobId, job, s.output, s.traceRoot, s.inputProof, s.outputProof), job));
  return job;
}

/** GraphDisputes.attemptIdOf. */
export function attemptIdOf(jobId: bigint, attempt: bigint | number): string {
  return ethers.keccak256(ethers.AbiCoder.defaultAbiCoder().encode(["uint256", "uint32"], [jobId, attempt]));
}

/** challengerRewardBps of a collateral: what the winners of an attempt share. */
export function rewardPoolOf(collateral: bigint): bigint {
  return (collateral * GRAPH_GAME.challengerRewardBps) / 10_000n;
}

/**
 * GraphDisputes holds exactly what it owes: its balance is every account's credit (as its Credited and Withdrawn
 * events say, and as `credits` reads), plus the bond of every game not yet settled, plus the shares not yet claimed
 * of every settled attempt's reward pool (an attempt whose winners all claimed has paid out its pool to the wei);
 * it keeps nothing in staking. With `escrow`, the market and staking hold exactly what they owe too, and the Dense
 * game (no Dense dispute here) holds nothing.
 */
export async function expectGraphDisputesBalanced(f: GraphMarket, { escrow = true } = {}): Promise<{ owed: bigint }> {
  const { disputes } = f;
  const address = await disputes.getAddress();
  const logs = await ethers.provider.getLogs({ address, fromBlock: 0, toBlock: "latest" });
  const open = new Map<string, bigint>();
  const attemptOfGame = new Map<string, string>();
  const owed = new Map<string, bigint>();
  const settled = new Map<string, { pool: bigint; winners: bigint; claimed: bigint; claims: bigint }>();
  for (const log of logs) {
    const e = disputes.interface.parseLog(log);
    if (!e) continue;
    if (e.name === "DisputeOpened") {
      open.set(e.args.gameId, e.args.bond);
      attemptOfGame.set(e.args.gameId, attemptIdOf(e.args.jobId, e.args.attempt));
    } else if (e.name === "DisputeSettled") {
      expect(open.has(e.args.gameId), `game ${e.args.gameId} settled twice or never opened`).to.equal(true);
      open.delete(e.args.gameId);
    } else if (e.name === "Credited") {
      owed.set(e.args.account, (owed.get(e.args.account) ?? 0n) + (e.args.amount as bigint));
    } else if (e.name === "Withdrawn") {
      owed.set(e.args.account, (owed.get(e.args.account) ?? 0n) - (e.args.amount as bigint));
    } else if (e.name === "AttemptSettled") {
      const id = attemptIdOf(e.args.jobId, e.args.attempt);
      expect(settled.has(id), `attempt ${e.args.jobId}/${e.args.attempt} settled twice`).to.equal(false);
      settled.set(id, { pool: e.args.rewardPool, winners: e.args.winners, claimed: 0n, claims: 0n });
    } else if (e.name === "RewardClaimed") {
      const s = settled.get(attemptOfGame.get(e.args.gameId)!);
      expect(s, "a reward claimed on an attempt that did not settle").to.not.equal(undefined);
      s!.claimed += e.args.amount as bigint;
      s!.claims += 1n;
    }
  }
  let credits = 0n;
  for (const [account, amount] of owed) {
    expect(await disputes.credits(account), `credit of ${account} vs. its events`).to.equal(amount);
    credits += amount;
  }
  let bonds = 0n;
  for (const [gameId, bond] of open) {
    expect((await disputes.getDispute(gameId)).bond, "an open game's bond").to.equal(bond);
    bonds += bond;
  }
  let unclaimed = 0n;
  for (const [id, s] of settled) {
    const a = await disputes.attempts(id);
    expect([a.settled, a.winners, a.claimed]).to.deep.equal([true, s.winners, s.claims]);
    expect(s.claimed, "claims vs. the pool").to.be.at.most(s.pool);
    if (s.claims === s.winners) expect(s.claimed, "every winner claimed: the pool is paid out").to.equal(s.pool);
    unclaimed += s.pool - s.claimed;
  }
  const total = credits + bonds + unclaimed;
  expect(await ethers.provider.getBalance(address), "GraphDisputes' balance vs. credits + open bonds + unclaimed rewards").to.equal(total);
  expect(await f.staking.credits(address), "GraphDisputes' credit in staking").to.equal(0n);
  if (escrow) {
    await expectEscrowBalanced(f.market, f.staking);
    expect(await ethers.provider.getBalance(await f.denseGame.getAddress()), "the Dense game's balance").to.equal(0n);
  }
  return { owed: total };
}

/** The job as game `gameId` disputed it (its DisputeOpened event): what GraphDisputes.settle takes back. */
export async function disputedJob({ disputes }: { readonly disputes: GraphDisputes }, gameId: string) {
  const [log] = await disputes.queryFilter(disputes.filters.DisputeOpened(gameId));
  if (!log) throw new Error(`no DisputeOpened for ${gameId}`);
  // ethers gives the struct as a Result; its plain object is the tuple the call takes back.
  return (log.args.job as unknown as { toObject(deep: boolean): unknown }).toObject(true) as Parameters<GraphDisputes["settle"]>[1];
}
