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

/** Registry, staking, market and the real DisputeGame, bound together; the MNIST model registered. */
export async function deployGame(challengerRewardBps: bigint = GAME.challengerRewardBps) {
  await initKeccak();
  const [deployer, requester, node, challenger, other, ...rest] = await ethers.getSigners();
  const registry = (await ethers.deployContract("ModelRegistry")) as unknown as ModelRegistry;
  const staking = (await ethers.deployContract("Staking", [UNBONDING_DELAY])) as unknown as Staking;
  const market = (await ethers.deployContract("JobMarket", [await registry.getAddress(), await staking.getAddress(), CONFIG])) as unknown as JobMarket;
  const game = (await ethers.deployContract("DisputeGame", [
    await market.getAddress(),
    await staking.getAddress(),
    await registry.getAddress(),
    GAME.coverGasPrice,
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
  return { deployer, requester, node, challenger, other, rest, registry, staking, market, game, classifier, modelId };
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
 * Posts a job on `input` for `modelId`, has the node take it and submit `output` with the trace root of
 * `asserted` (the honest trace or a lie, committed consistently by the caller).
 */
export async function submitJob(f: GameFixture, modelId: bigint, input: Int8Array, asserted: DisputeTrace, output: Int8Array) {
  const { requester, node, staking, market } = f;
  if ((await staking.accountOf(node.address))[0] < COLLATERAL) await staking.connect(node).stake({ value: NODE_STAKE });
  const expiresAt = (await time.latest()) + 3600;
  let { jobId, job } = await jobFrom(market.connect(requester).postJob(modelId, int8Bytes(input), ethers.ZeroAddress, 0, COLLATERAL, expiresAt, { value: FEE }));
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
export async function submittedJob(f: GameFixture, seed: number, lie?: (honest: Trace) => Trace) {
  const { model } = mnistModel();
  const mc = mnistCommitment();
  const input = mnistInput(seed);
  const honest = TraceProvider.fromInput(model, mc, new Int8Array(input.buffer, input.byteOffset, input.length));
  const trace = lie ? lie(honest.trace.map((a) => Int8Array.from(a))) : honest.trace;
  const asserted = TraceProvider.fromTrace(model, mc, trace);
  const { jobId, job } = await submitJob(f, f.modelId, honest.trace[0], asserted, asserted.output);
  return { jobId, job, honest, asserted };
}
