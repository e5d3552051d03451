import { type Address, type EIP1193Provider, createPublicClient, createTestClient, createWalletClient, custom, parseEther } from "viem";
import { hardhat } from "viem/chains";
import { stakingAbi } from "../core/abi";
import { type ChainActor, type Log, send } from "../core/chain/actor";
import { deploySystem } from "../core/chain/deploy";
import type { Deployment, DeploymentParameters } from "../core/chain/deployment";
import { registerGraphModel } from "../core/chain/graphModelRegistration";
import { registerModel } from "../core/chain/modelRegistration";
import { initKeccak } from "../core/keccak";
import { MNIST_MODEL_DIR } from "../core/modelFiles";
import { type ModelFolder, readModelFolder } from "../core/modelFolders";
import { Metrics } from "../core/service/metrics";
import { Watcher, watchedModelOf } from "../challenger/watcher";
import { RefuteClient } from "../client/refuteClient";
import { NodeOperator } from "../node/nodeOperator";
import { type CheatMode, type NodeModel, nodeModelOf } from "../node/resultComputer";

/**
 * Refute inside a Hardhat test (docs/models.md, "Testing a dapp"): the whole system deployed on the
 * test's own chain, models registered, and a node and a watcher that run in the test's process, one
 * round at a time when the test says so. Nothing runs in the background, so a test stays deterministic:
 * post a job, `await kit.serve()`, move time, `await kit.serve()` again.
 *
 *   const kit = await RefuteTestKit.deploy(hre.network.provider);
 *   const modelId = await kit.registerModel("models/iris");
 *   await kit.startNode({ models: [modelId] });
 *   await kit.startWatcher({ models: [modelId] });
 */

const SILENT: Log = { debug() {}, info() {}, warn() {}, error() {} };

export interface TestKitOptions {
  /** Overrides of the deployment parameters (core/chain/deploy.ts LOCAL_PARAMETERS). */
  readonly parameters?: Partial<DeploymentParameters>;
  /** Where the compiled contracts are (default: this repository's artifacts/). */
  readonly artifactsDir?: string;
}

export interface NodeOptions {
  /** Registered model ids to serve (each registered through this kit). */
  readonly models: readonly bigint[];
  /** The node's account (default: the next unused test account). */
  readonly account?: Address;
  /** ETH to stake (default 100). */
  readonly stake?: bigint;
  /** For tests of disputes: how the node lies. */
  readonly cheat?: CheatMode;
}

export interface WatcherOptions {
  readonly models: readonly bigint[];
  readonly account?: Address;
  /** Share of results re-executed (default 1). */
  readonly samplingRate?: number;
}

export class RefuteTestKit {
  private readonly models = new Map<bigint, ModelFolder>();
  private readonly workers: (NodeOperator | Watcher)[] = [];
  private readonly served: NodeModel[] = [];
  /** Accounts a node or watcher acts as (the deployer's is kept out). */
  private readonly used = new Set<Address>();

  private constructor(
    private readonly provider: EIP1193Provider,
    readonly deployment: Deployment,
    /** The chain's funded accounts; [0] deployed the system. */
    readonly accounts: readonly Address[],
  ) {}

  /** Deploys the system on the chain behind `provider` (Hardhat's: `hre.network.provider`). */
  static async deploy(provider: EIP1193Provider, options: TestKitOptions = {}): Promise<RefuteTestKit> {
    await initKeccak();
    const accounts = await createWalletClient({ chain: hardhat, transport: custom(provider) }).getAddresses();
    const deployment = await deploySystem({ publicClient: publicClientOf(provider), walletClient: walletOf(provider, accounts[0]), parameters: options.parameters, artifactsDir: options.artifactsDir });
    const kit = new RefuteTestKit(provider, deployment, accounts);
    kit.models.set(deployment.model.id, readModelFolder(MNIST_MODEL_DIR)); // deploySystem registers the reference model
    return kit;
  }

  get publicClient() {
    return publicClientOf(this.provider);
  }

  private wallet(account: Address) {
    return walletOf(this.provider, account);
  }

  /** A chain actor for `account`, to send transactions the way the daemons do. */
  actor(account: Address): ChainActor {
    return { publicClient: this.publicClient, walletClient: this.wallet(account), deployment: this.deployment, log: SILENT };
  }

  /** The SDK's client acting as `account`. */
  client(account: Address = this.accounts[this.accounts.length - 1]): RefuteClient {
    return new RefuteClient({ publicClient: this.publicClient, walletClient: this.wallet(account), deployment: this.deployment });
  }

  /** Registers the model folder `dir`, a Dense model or a graph program (owner: the deployer), and returns its id. */
  async registerModel(dir: string, uri = dir): Promise<bigint> {
    const folder = readModelFolder(dir);
    const owner = this.actor(this.accounts[0]);
    const { modelId } = folder.kind === "graph" ? await registerGraphModel(owner, folder.files, uri) : await registerModel(owner, folder.files, uri);
    this.models.set(modelId, folder);
    return modelId;
  }

  /** A node operator that serves `models`, staked, ticking only in {@link serve}. */
  async startNode(options: NodeOptions): Promise<NodeOperator> {
    const actor = this.actor(this.useAccount(options.account));
    await send(actor, { address: this.deployment.contracts.staking, abi: stakingAbi, functionName: "stake", value: options.stake ?? parseEther("100") });
    const models = await Promise.all(options.models.map((modelId) => nodeModelOf(modelId, this.folderOf(modelId))));
    this.served.push(...models);
    const node = new NodeOperator(actor, { models, cheat: options.cheat ?? { kind: "none" } }, new Metrics());
    this.workers.push(node);
    return node;
  }

  /** A watcher that re-executes the results of `models` and disputes wrong ones. */
  startWatcher(options: WatcherOptions): Watcher {
    const account = this.useAccount(options.account);
    const models = options.models.map((modelId) => watchedModelOf(modelId, this.folderOf(modelId)));
    const watcher = new Watcher(this.actor(account), { models, samplingRate: options.samplingRate ?? 1, samplingSeed: `test-kit/${account}`, computeCost: 0n, collusion: 0 }, new Metrics());
    this.workers.push(watcher);
    return watcher;
  }

  /**
   * Runs rounds of every node and watcher until a round mines nothing new (each has taken, submitted,
   * disputed, moved, finalised and withdrawn what it could at the chain's current time). Throws if
   * they are still busy after `maxRounds`.
   */
  async serve(maxRounds = 200): Promise<void> {
    for (let round = 0; round < maxRounds; round++) {
      const before = await this.publicClient.getBlockNumber();
      for (const w of this.workers) await w.tick();
      if ((await this.publicClient.getBlockNumber()) === before) return;
    }
    throw new Error(`the nodes and watchers were still sending transactions after ${maxRounds} rounds`);
  }

  /** Moves the chain's clock forward by `seconds` and mines a block. */
  async increaseTime(seconds: bigint | number): Promise<void> {
    const test = createTestClient({ mode: "hardhat", chain: hardhat, transport: custom(this.provider) });
    await test.increaseTime({ seconds: Number(seconds) });
    await test.mine({ blocks: 1 });
  }

  /** Frees the onnxruntime sessions of the nodes started. */
  async stop(): Promise<void> {
    await Promise.all(this.served.splice(0).map((m) => m.runner?.release()));
    this.workers.length = 0;
  }

  private folderOf(modelId: bigint): ModelFolder {
    const folder = this.models.get(modelId);
    if (!folder) throw new Error(`model ${modelId} was not registered through this test kit (known: ${[...this.models.keys()].join(", ")})`);
    return folder;
  }

  /** `account`, or the first test account nobody uses yet; one account per node or watcher. */
  private useAccount(account?: Address): Address {
    const chosen = account ?? this.accounts.slice(1, -1).find((a) => !this.used.has(a));
    if (!chosen) throw new Error(`no unused test account left (${this.accounts.length} in all; the first deployed, the last is the client's)`);
    if (this.used.has(chosen)) throw new Error(`account ${chosen} already runs a node or watcher in this test kit`);
    this.used.add(chosen);
    return chosen;
  }
}

const publicClientOf = (provider: EIP1193Provider) => createPublicClient({ chain: hardhat, transport: custom(provider), pollingInterval: 10 });
const walletOf = (provider: EIP1193Provider, account: Address) => createWalletClient({ chain: hardhat, transport: custom(provider), account, pollingInterval: 10 });
