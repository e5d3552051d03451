import { ethers } from "hardhat";
import { time } from "@nomicfoundation/hardhat-network-helpers";
import { toHex } from "../../core/bytes";
import { type ModelCommitment, commitModel } from "../../core/commitments";
import type { DenseDescriptor } from "../../core/denseStep";
import { initKeccak } from "../../core/keccak";
import type { Job } from "../../core/jobState";
import { TraceProvider } from "../../core/traceProvider";
import type { Trace } from "../../core/referenceExecutor";
import type { DigitClassifier, DisputeGame, JobMarket, ModelRegistry, Staking } from "../../typechain-types";
import { COLLATERAL, CONFIG, FEE, NODE_STAKE, UNBONDING_DELAY, jobFrom, mnistInput, mnistModel } from "./marketFixture";

/** Dispute game parameters used by the game tests. */
export const GAME = {
  challengerBond: ethers.parseEther("0.02"),
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
export async function deployGame() {
  await initKeccak();
  const [deployer, requester, node, challenger, other, ...rest] = await ethers.getSigners();
  const registry = (await ethers.deployContract("ModelRegistry")) as unknown as ModelRegistry;
  const staking = (await ethers.deployContract("Staking", [UNBONDING_DELAY])) as unknown as Staking;
  const market = (await ethers.deployContract("JobMarket", [await registry.getAddress(), await staking.getAddress(), CONFIG])) as unknown as JobMarket;
  const game = (await ethers.deployContract("DisputeGame", [
    await market.getAddress(),
    await staking.getAddress(),
    await registry.getAddress(),
    GAME.challengerBond,
    GAME.clockBudget,
    GAME.challengerRewardBps,
  ])) as unknown as DisputeGame;
  await staking.bind(await market.getAddress(), await game.getAddress());
  await market.bindDisputeGame(await game.getAddress());
  const { model, root } = mnistModel();
  await registry.registerModel(root, model.inputSize, model.layers[model.layers.length - 1].nOut, model.layers.length, "models/mnist-mlp");
  const modelId = 1n;
  const classifier = (await ethers.deployContract("DigitClassifier", [await market.getAddress(), modelId])) as unknown as DigitClassifier;
  return { deployer, requester, node, challenger, other, rest, registry, staking, market, game, classifier, modelId };
}

export type GameFixture = Awaited<ReturnType<typeof deployGame>>;

/** The descriptor as the contract's DenseDescriptor tuple. */
export function descriptorArg(d: DenseDescriptor) {
  return { nIn: d.nIn, nOut: d.nOut, multiplier: d.multiplier, shift: d.shift, clampLo: d.clampLo, clampHi: d.clampHi, weightRoot: toHex(d.weightRoot), biasRoot: toHex(d.biasRoot) };
}

/**
 * Posts a job on MNIST input `seed`, has the node take it and submit the result given by `trace`
 * (the honest trace, or a lie with T recomputed consistently). Returns the job and the node's provider.
 */
export async function submittedJob(f: GameFixture, seed: number, lie?: (honest: Trace) => Trace) {
  const { requester, node, staking, market, modelId } = f;
  const { model } = mnistModel();
  const mc = mnistCommitment();
  await staking.connect(node).stake({ value: NODE_STAKE });
  const input = mnistInput(seed);
  const honest = TraceProvider.fromInput(model, mc, new Int8Array(input.buffer, input.byteOffset, input.length));
  const trace = lie ? lie(honest.trace.map((a) => Int8Array.from(a))) : honest.trace;
  const asserted = TraceProvider.fromTrace(model, mc, trace);
  const expiresAt = (await time.latest()) + 3600;
  let { jobId, job } = await jobFrom(market.connect(requester).postJob(modelId, input, ethers.ZeroAddress, 0, COLLATERAL, expiresAt, { value: FEE }));
  ({ job } = await jobFrom(market.connect(node).takeJob(jobId, job), job));
  const L = asserted.layerCount;
  const out = asserted.output;
  const submit = market
    .connect(node)
    .submitResult(
      jobId,
      job,
      new Uint8Array(out.buffer, out.byteOffset, out.length),
      toHex(asserted.traceRoot),
      asserted.activationRoot(0).proof.map(toHex),
      asserted.activationRoot(L).proof.map(toHex),
    );
  ({ job } = await jobFrom(submit, job));
  return { jobId, job: job as Job, honest, asserted };
}
