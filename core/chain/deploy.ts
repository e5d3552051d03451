import { type Abi, type Hash, type Hex, getAddress, parseEther, parseEventLogs, parseGwei } from "viem";
import { digitClassifierAbi, disputeGameAbi, graphDisputesAbi, jobMarketAbi, modelRegistryAbi, stakingAbi } from "../abi";
import { deployGraphGame } from "../graph/game/gameClient";
import { initKeccak } from "../keccak";
import { modelShape } from "../model";
import { MNIST_MODEL_DIR, loadModelDir } from "../modelFiles";
import { ARTIFACTS_DIR, readArtifact } from "./artifacts";
import { decodeError } from "./contractError";
import { type Deployment, type DeploymentParameters, PARAMETER_NAMES } from "./deployment";
import { registrationArgs } from "./modelRegistration";
import type { RefutePublicClient, RefuteWalletClient } from "./rpcClients";

/**
 * Deploys the whole Refute system with viem from the compiled artifacts: ModelRegistry, Staking,
 * JobMarket, DisputeGame (Dense models), the graph game's stack (step verifiers, StepRouter,
 * GraphStepRunner, GraphDisputeGame) and its market binding GraphDisputes, their bindings, the MNIST
 * reference model's registration and the DigitClassifier example dapp on it. Works on any EVM chain the wallet client can send to.
 */

/**
 * The standard profile, what `npm run deploy` uses unless told otherwise: windows of minutes, long
 * enough for a watcher on a public testnet RPC (seconds of latency, 12-second blocks) to see a result
 * and re-execute it, and a dispute to be played out; amounts small next to Hardhat's 10,000 ETH
 * accounts. (Its name is older than the profiles: it is the default on any chain, not the `local`
 * profile, {@link LOCAL_DEV_PARAMETERS}.) The contracts enforce
 * unbondingDelay > challengeWindow + maxDisputeDuration and 2·clockBudget + 12 ≤ maxDisputeDuration.
 */
export const LOCAL_PARAMETERS: DeploymentParameters = {
  unbondingDelay: 4_500n, // 75 min: challenge window + longest dispute + 10 min
  challengeWindow: 300n, // 5 min to dispute a result
  deliveryWindow: 120n, // 2 min for a node to deliver after taking a job
  maxDisputeDuration: 3_600n, // 1 h bound on a dispute game
  reopenWindow: 300n, // a reopened job stays open at least 5 min
  minCollateral: parseEther("0.05"), // above every model's own smallest at the cover gas price below (MNIST: ~0.03)
  maxCallbackGasLimit: 2_000_000n,
  coverGasPrice: parseGwei("10"), // bonds and collateral cover each side's gas in the longest game up to 10 gwei
  clockBudget: 1_500n, // 25 min per party: 2 × 1,500 + 12 ≤ 3,600
  challengerRewardBps: 5_000n, // half of a caught node's collateral shared by the challengers that won (the cap)
};

/**
 * The `local` profile, for development on one machine (`npx hardhat node` on loopback, daemons and
 * SDK beside it): a result is final 30 s after it is submitted, a taken job reopens 60 s after a
 * node missed it, a dispute lasts at most 5 min. Too short for a public chain, where a watcher may
 * not see a result inside 30 s. 2·120 + 12 ≤ 300 and 600 > 30 + 300. Amounts as in the standard profile.
 */
export const LOCAL_DEV_PARAMETERS: DeploymentParameters = {
  ...LOCAL_PARAMETERS,
  unbondingDelay: 600n, // 10 min: challenge window + longest dispute + 4.5 min
  challengeWindow: 30n, // 30 s to dispute a result
  deliveryWindow: 60n, // 1 min for a node to deliver after taking a job
  maxDisputeDuration: 300n, // 5 min bound on a dispute game
  reopenWindow: 30n, // a reopened job stays open at least 30 s
  clockBudget: 120n, // 2 min per party: 2 × 120 + 12 ≤ 300
};

/** Named sets of deployment parameters (`npm run deploy -- --profile NAME`); `standard` is the default. */
export const DEPLOY_PROFILES = {
  standard: { parameters: LOCAL_PARAMETERS, summary: "the default: windows of minutes, for any chain" },
  local: { parameters: LOCAL_DEV_PARAMETERS, summary: "local development: a result is final 30 s after submission" },
} as const satisfies Record<string, { parameters: DeploymentParameters; summary: string }>;

export type DeployProfile = keyof typeof DEPLOY_PROFILES;

/** The profile `npm run deploy` uses without --profile. */
export const DEFAULT_DEPLOY_PROFILE: DeployProfile = "standard";

/** Bound the DisputeGame keeps between two clocks and a dispute's length (DisputeGame.BLOCK_MARGIN). */
const BLOCK_MARGIN = 12n;

/**
 * The rules between parameters that the contracts check at deployment, as sentences (none: the set
 * is consistent), so a command can refuse a bad set before sending anything.
 */
export function parameterRuleProblems(p: DeploymentParameters): string[] {
  const problems: string[] = [];
  if (p.unbondingDelay <= p.challengeWindow + p.maxDisputeDuration) {
    problems.push(`unbondingDelay (${p.unbondingDelay}) must exceed challengeWindow + maxDisputeDuration (${p.challengeWindow} + ${p.maxDisputeDuration})`);
  }
  if (2n * p.clockBudget + BLOCK_MARGIN > p.maxDisputeDuration) {
    problems.push(`2·clockBudget + ${BLOCK_MARGIN} (${2n * p.clockBudget + BLOCK_MARGIN}) must not exceed maxDisputeDuration (${p.maxDisputeDuration})`);
  }
  return problems;
}

/** The URI registered for the MNIST reference model's files (core/modelFiles.ts MNIST_MODEL_DIR). */
export const MNIST_MODEL_URI = "models/mnist-mlp";

export interface DeploySystemOptions {
  readonly publicClient: RefutePublicClient;
  /** Sends every transaction; its account becomes the deployer (the only one allowed to bind). */
  readonly walletClient: RefuteWalletClient;
  /** Overrides of {@link LOCAL_PARAMETERS}. */
  readonly parameters?: Partial<DeploymentParameters>;
  /** Folder with the model's descriptor.json and integer.onnx (default: the MNIST reference model). */
  readonly modelDir?: string;
  /** URI registered for the model's files. */
  readonly modelUri?: string;
  readonly artifactsDir?: string;
  /** One line per step. */
  readonly onProgress?: (line: string) => void;
}

/** A deployment step failed: the message names the step and the decoded cause. */
export class DeploymentError extends Error {
  constructor(
    readonly step: string,
    cause: unknown,
  ) {
    super(`deployment failed at "${step}": ${cause instanceof Error ? cause.message.split("\n")[0] : String(cause)}`, { cause });
    this.name = "DeploymentError";
  }
}

/** Bit width of each parameter's constructor argument, read from the generated ABIs. */
function parameterWidths(): Map<string, number> {
  const widths = new Map<string, number>();
  const visit = (inputs: readonly { name?: string; type: string; components?: readonly unknown[] }[]) => {
    for (const input of inputs) {
      if (input.components) visit(input.components as typeof inputs);
      const m = /^uint(\d+)$/.exec(input.type);
      if (m && input.name) widths.set(input.name.replace(/_$/, ""), Number(m[1]));
    }
  };
  for (const abi of [stakingAbi, jobMarketAbi, disputeGameAbi] as readonly Abi[]) {
    for (const item of abi) if (item.type === "constructor") visit(item.inputs);
  }
  return widths;
}

/** {@link LOCAL_PARAMETERS} with `overrides`, each checked against its constructor argument's type. */
export function resolveParameters(overrides: Partial<DeploymentParameters> = {}): DeploymentParameters {
  const widths = parameterWidths();
  for (const name of Object.keys(overrides)) {
    if (!(PARAMETER_NAMES as readonly string[]).includes(name)) throw new DeploymentError("parameters", `unknown parameter ${name}; known: ${PARAMETER_NAMES.join(", ")}`);
  }
  const out = { ...LOCAL_PARAMETERS, ...overrides };
  for (const name of PARAMETER_NAMES) {
    const v = out[name];
    const bits = widths.get(name);
    if (bits === undefined) throw new DeploymentError("parameters", `parameter ${name} is no constructor argument of Staking, JobMarket or DisputeGame`);
    if (typeof v !== "bigint" || v < 0n || v >= 1n << BigInt(bits)) {
      throw new DeploymentError("parameters", `parameter ${name} must be a bigint in uint${bits} range (0..${(1n << BigInt(bits)) - 1n}), got ${String(v)}`);
    }
  }
  return out;
}

/** The model in `dir` (core/modelFiles.ts: its root checked against the graph) with its shape as the registry records it. */
export async function readModelToRegister(dir: string) {
  await initKeccak();
  const files = loadModelDir(dir);
  const shape = modelShape(files.model);
  const entry = {
    root: files.root,
    inputSize: BigInt(shape.inputSize),
    outputSize: BigInt(shape.outputSize),
    layerCount: BigInt(shape.layerCount),
    maxWidth: BigInt(shape.maxWidth),
  };
  return { files, entry };
}

/** Deploys and binds every contract, registers the model and deploys the example dapp on it. */
export async function deploySystem(options: DeploySystemOptions): Promise<Deployment> {
  const { publicClient, walletClient } = options;
  const log = options.onProgress ?? (() => undefined);
  const parameters = resolveParameters(options.parameters);
  const artifactsDir = options.artifactsDir ?? ARTIFACTS_DIR;
  const account = walletClient.account;
  const chainId = await publicClient.getChainId();
  if (walletClient.chain.id !== chainId) throw new DeploymentError("connect", `the wallet client is for chain ${walletClient.chain.id}, the RPC answers ${chainId}`);
  const model = await step("read the model", () => readModelToRegister(options.modelDir ?? MNIST_MODEL_DIR));

  const confirm = async (what: string, send: () => Promise<Hash>) =>
    step(what, async () => {
      const receipt = await publicClient.waitForTransactionReceipt({ hash: await send() });
      if (receipt.status !== "success") throw new Error(`transaction ${receipt.transactionHash} reverted`);
      log(`${what}: ${receipt.contractAddress ?? receipt.transactionHash} (block ${receipt.blockNumber}, gas ${receipt.gasUsed})`);
      return receipt;
    });
  const deploy = async (name: string, deployTx: (bytecode: Hex) => Promise<Hash>) => {
    const bytecode = readArtifact(name, artifactsDir).bytecode;
    const receipt = await confirm(`deploy ${name}`, () => deployTx(bytecode));
    if (!receipt.contractAddress) throw new DeploymentError(`deploy ${name}`, `no contract address in receipt ${receipt.transactionHash}`);
    return { address: getAddress(receipt.contractAddress), blockNumber: receipt.blockNumber };
  };

  const registry = await deploy("ModelRegistry", (bytecode) => walletClient.deployContract({ abi: modelRegistryAbi, bytecode, args: [] }));
  const staking = await deploy("Staking", (bytecode) => walletClient.deployContract({ abi: stakingAbi, bytecode, args: [parameters.unbondingDelay] }));
  const config = {
    challengeWindow: Number(parameters.challengeWindow),
    deliveryWindow: Number(parameters.deliveryWindow),
    maxDisputeDuration: Number(parameters.maxDisputeDuration),
    reopenWindow: Number(parameters.reopenWindow),
    minCollateral: parameters.minCollateral,
    maxCallbackGasLimit: Number(parameters.maxCallbackGasLimit),
  };
  const market = await deploy("JobMarket", (bytecode) => walletClient.deployContract({ abi: jobMarketAbi, bytecode, args: [registry.address, staking.address, config] }));
  const game = await deploy("DisputeGame", (bytecode) =>
    walletClient.deployContract({
      abi: disputeGameAbi,
      bytecode,
      args: [market.address, staking.address, registry.address, parameters.coverGasPrice, parameters.clockBudget, parameters.challengerRewardBps],
    }),
  );
  const graphStack = await step("deploy the graph game (verifiers, router, runner, game)", () => deployGraphGame(publicClient, walletClient, artifactsDir));
  log(`deploy GraphDisputeGame: ${graphStack.game}`);
  const graphDisputes = await deploy("GraphDisputes", (bytecode) =>
    walletClient.deployContract({
      abi: graphDisputesAbi,
      bytecode,
      args: [market.address, staking.address, registry.address, graphStack.game, parameters.coverGasPrice, parameters.clockBudget, parameters.challengerRewardBps],
    }),
  );
  await confirm("bind staking to the market and the game", () =>
    walletClient.writeContract({ address: staking.address, abi: stakingAbi, functionName: "bind", args: [market.address, game.address] }),
  );
  await confirm("bind staking to the graph game", () =>
    walletClient.writeContract({ address: staking.address, abi: stakingAbi, functionName: "bindGraphGame", args: [graphDisputes.address] }),
  );
  await confirm("bind the market to the game", () =>
    walletClient.writeContract({ address: market.address, abi: jobMarketAbi, functionName: "bindDisputeGame", args: [game.address] }),
  );
  await confirm("bind the market to the graph game", () =>
    walletClient.writeContract({ address: market.address, abi: jobMarketAbi, functionName: "bindGraphGame", args: [graphDisputes.address] }),
  );
  const uri = options.modelUri ?? MNIST_MODEL_URI;
  const registered = await confirm("register the model", () =>
    walletClient.writeContract({
      address: registry.address,
      abi: modelRegistryAbi,
      functionName: "registerModel",
      args: registrationArgs(model.files, uri),
    }),
  );
  const [event] = parseEventLogs({ abi: modelRegistryAbi, logs: registered.logs, eventName: "ModelRegistered" });
  if (!event) throw new DeploymentError("register the model", `no ModelRegistered event in ${registered.transactionHash}`);
  const modelId = event.args.modelId;
  const classifier = await deploy("DigitClassifier", (bytecode) => walletClient.deployContract({ abi: digitClassifierAbi, bytecode, args: [market.address, modelId] }));

  return {
    chainId,
    deployer: account.address,
    startBlock: registry.blockNumber,
    contracts: {
      modelRegistry: registry.address,
      staking: staking.address,
      jobMarket: market.address,
      disputeGame: game.address,
      graphDisputes: graphDisputes.address,
      graphDisputeGame: graphStack.game,
      digitClassifier: classifier.address,
    },
    model: { id: modelId, ...model.entry, uri },
    parameters,
  };
}

/** Runs one step; any failure becomes a {@link DeploymentError} naming the step, with reverts decoded. */
async function step<T>(name: string, run: () => Promise<T>): Promise<T> {
  try {
    return await run();
  } catch (e) {
    if (e instanceof DeploymentError) throw e;
    throw new DeploymentError(name, decodeError(e));
  }
}
