import { readFileSync } from "node:fs";
import path from "node:path";
import { ethers } from "hardhat";
import type { EventLog, Interface, LogDescription, Signer } from "ethers";
import { toHex } from "../../core/bytes";
import { commitTrace } from "../../core/commitments";
import { initKeccak } from "../../core/keccak";
import { readIntegerModel } from "../../core/onnx/integerGraph";
import { type IntegerModel, modelShape } from "../../core/model";
import { runReference } from "../../core/referenceExecutor";
import type { DigitClassifier, DisputeGameMock, JobMarket, ModelRegistry, Staking } from "../../typechain-types";
import { type Job, applyJobEvent, toJobEvent } from "../../core/jobState";

/** Deployment parameters used by the contract tests. */
export const CONFIG = {
  challengeWindow: 3600,
  deliveryWindow: 600,
  maxDisputeDuration: 86_400,
  reopenWindow: 3600,
  minCollateral: ethers.parseEther("0.01"),
  maxCallbackGasLimit: 2_000_000,
};
export const UNBONDING_DELAY = CONFIG.challengeWindow + CONFIG.maxDisputeDuration + 3600;
export const FEE = ethers.parseEther("0.001");
export const COLLATERAL = ethers.parseEther("0.1");
export const NODE_STAKE = ethers.parseEther("1");

const MODEL_DIR = path.join(__dirname, "..", "..", "models", "mnist-mlp");

export interface MnistModel {
  readonly model: IntegerModel;
  readonly root: string;
}

let mnist: MnistModel | undefined;
/** The committed reference model and its root (read once). */
export function mnistModel(): MnistModel {
  if (!mnist) {
    const descriptor = JSON.parse(readFileSync(path.join(MODEL_DIR, "descriptor.json"), "utf8"));
    mnist = { model: readIntegerModel(readFileSync(path.join(MODEL_DIR, "integer.onnx"))), root: descriptor.modelRoot };
  }
  return mnist;
}

/**
 * Registry, staking, market and a mock dispute game, bound together; no model registered yet. `coverGasPrice`
 * (default 0: the market's minCollateral rules) is the mock's, read by the market when it binds the game.
 */
export async function deployBound(coverGasPrice = 0n) {
  await initKeccak();
  const [deployer, requester, node, other, ...rest] = await ethers.getSigners();
  const registry = (await ethers.deployContract("ModelRegistry")) as unknown as ModelRegistry;
  const staking = (await ethers.deployContract("Staking", [UNBONDING_DELAY])) as unknown as Staking;
  const market = (await ethers.deployContract("JobMarket", [await registry.getAddress(), await staking.getAddress(), CONFIG])) as unknown as JobMarket;
  const game = (await ethers.deployContract("DisputeGameMock")) as unknown as DisputeGameMock;
  if (coverGasPrice !== 0n) await game.setCosts(coverGasPrice, 5_000n);
  await game.bind(await market.getAddress(), await staking.getAddress(), await registry.getAddress());
  await staking.bind(await market.getAddress(), await game.getAddress());
  await market.bindDisputeGame(await game.getAddress());
  return { deployer, requester, node, other, rest, registry, staking, market, game };
}

/** Registers the MNIST model (the committed root and its shape) from `from`; returns the transaction. */
export async function registerMnist(registry: ModelRegistry, from?: Signer, uri = "models/mnist-mlp") {
  const { model, root } = mnistModel();
  const shape = modelShape(model);
  const r = from ? registry.connect(from) : registry;
  return r.registerModel(root, shape.inputSize, shape.outputSize, shape.layerCount, shape.maxWidth, uri);
}

/** Registry, staking, market and a mock dispute game, bound together; the MNIST model registered. */
export async function deployMarket(coverGasPrice = 0n) {
  const { deployer, requester, node, other, rest, registry, staking, market, game } = await deployBound(coverGasPrice);
  await registerMnist(registry);
  const modelId = 1n;
  const classifier = (await ethers.deployContract("DigitClassifier", [await market.getAddress(), modelId])) as unknown as DigitClassifier;
  return { deployer, requester, node, other, rest, registry, staking, market, game, classifier, modelId };
}

/** The market's ABI, looked up once: reading the artifact costs ~10 ms a call. */
let marketInterface: Interface | undefined;

/** Market events of a transaction folded into the job they change (core/jobState.ts), starting from `job`. */
export async function jobFrom(
  tx: Promise<{ wait(): Promise<unknown> }> | { wait(): Promise<unknown> },
  job?: Job,
): Promise<{ jobId: bigint; job: Job }> {
  const receipt = (await (await tx).wait()) as { logs: EventLog[] };
  marketInterface ??= (await ethers.getContractAt("JobMarket", ethers.ZeroAddress)).interface;
  const market = { interface: marketInterface };
  let jobId: bigint | undefined;
  let current = job;
  for (const log of receipt.logs) {
    let parsed;
    try {
      parsed = market.interface.parseLog(log);
    } catch {
      continue;
    }
    if (!parsed) continue;
    const change = jobEventOf(parsed);
    if (!change) continue;
    jobId = change.jobId;
    current = applyJobEvent(current, change.event);
  }
  if (jobId === undefined || !current) throw new Error("no job event in the transaction");
  return { jobId, job: current };
}

/** A log parsed by the market's ethers interface as a job change (core/jobState.ts), if it is one. */
export function jobEventOf(parsed: LogDescription): ReturnType<typeof toJobEvent> {
  const args = Object.fromEntries(parsed.fragment.inputs.map((input, i) => [input.name, input.name === "job" ? parsed.args[i].toObject() : parsed.args[i]]));
  return toJobEvent(parsed.name, args);
}

/** An int8 MNIST-like input (pixels 0..127) from a seed, as bytes. */
export function mnistInput(seed: number): Uint8Array {
  const x = new Int8Array(784);
  let s = seed >>> 0;
  for (let i = 0; i < 784; i++) {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    x[i] = (s >>> 24) % 3 === 0 ? (s >>> 8) & 127 : 0;
  }
  return new Uint8Array(x.buffer);
}

/** The honest result for `input`: output bytes, trace root and the two proofs submitResult needs. */
export function honestResult(input: Uint8Array) {
  const { model } = mnistModel();
  const trace = runReference(model, new Int8Array(input.buffer, input.byteOffset, input.length));
  const c = commitTrace(trace);
  const L = model.layers.length;
  const out = trace[L];
  return {
    output: new Uint8Array(out.buffer, out.byteOffset, out.length),
    traceRoot: toHex(c.root),
    inputProof: c.tree.proof(0).map(toHex),
    outputProof: c.tree.proof(L).map(toHex),
    trace,
  };
}
