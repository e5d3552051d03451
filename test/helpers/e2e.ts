import type { ChildProcess } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { type Address, type Hex, type Log as ViemLog, type TestClient, createTestClient, parseEventLogs } from "viem";
import { digitClassifierAbi, disputeGameAbi, jobMarketAbi, stakingAbi } from "../../core/abi";
import { toHex } from "../../core/bytes";
import type { ChainActor } from "../../core/chain/actor";
import { deploySystem } from "../../core/chain/deploy";
import { type Deployment, type DeploymentParameters, writeDeployment } from "../../core/chain/deployment";
import { type DevAccount, type LocalChain, startLocalChain } from "../../core/chain/localChain";
import { type RefuteWalletClient, type RpcClients, connectRpc, walletFor } from "../../core/chain/rpcClients";
import { initKeccak } from "../../core/keccak";
import { MNIST_MODEL_DIR, loadModelDir } from "../../core/modelFiles";
import { runReference } from "../../core/referenceExecutor";
import type { LogRecord } from "../../core/service/logger";
import { type Daemon, startDaemon } from "../../scripts/demo/daemons";
import { eventually } from "./eventually";

/**
 * End-to-end harness: a Hardhat node in a child process with Refute deployed on it, and the real node
 * and watcher daemons as child processes (scripts/demo/daemons.ts) whose JSON log records the test
 * reads. Time moves with evm_increaseTime + evm_mine; every wait polls a condition with a deadline.
 */

/**
 * Windows for the end-to-end tests. Results are disputed in real time (seconds), so the challenge
 * window only has to outlast the watcher's reaction; tests then jump past it. The clocks are long so
 * that no jump can make a player time out; the contracts' rules still hold (2·600 + 12 ≤ 1,300 and
 * 1,400 > 60 + 1,300).
 */
export const E2E_PARAMETERS: Partial<DeploymentParameters> = {
  challengeWindow: 60n,
  deliveryWindow: 600n,
  reopenWindow: 600n,
  clockBudget: 600n,
  maxDisputeDuration: 1_300n,
  unbondingDelay: 1_400n,
};

/** How long a test waits for a daemon to do something it should do within a few rounds. */
export const WAIT_MS = 30_000;

// Every daemon a test starts is killed when the test process ends, however it ends.
const live = new Set<ChildProcess>();
process.once("exit", () => {
  for (const child of live) child.kill("SIGKILL");
});

export interface DaemonOptions {
  /** The daemon's RPC endpoint (default: the chain's). */
  readonly rpcUrl?: string;
  /** Milliseconds between its rounds (default 100). */
  readonly pollMs?: number;
  /** Extra flags (the RPC URL and deployment file are added). */
  readonly args?: readonly string[];
  /** Extra REFUTE_* variables. */
  readonly env?: Readonly<Record<string, string>>;
  /** Print every log line (debugging a test). */
  readonly echo?: boolean;
}

/** A daemon child process with everything it printed: its JSON log records and its other lines. */
export class DaemonProcess {
  readonly records: LogRecord[] = [];
  /** Lines that are not log records (stderr, a crash). */
  readonly otherLines: string[] = [];
  readonly daemon: Daemon;
  /** Resolves with the exit code and signal. */
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;

  constructor(
    readonly name: string,
    kind: "node" | "watcher",
    args: readonly string[],
    env: Readonly<Record<string, string>>,
    echo = false,
  ) {
    this.daemon = startDaemon({
      name,
      kind,
      args,
      env,
      onLog: (_n, r) => {
        this.records.push(r);
        if (echo) console.log(`      [${name}] ${JSON.stringify(r)}`);
      },
      onOther: (_n, line) => {
        this.otherLines.push(line);
        if (echo) console.log(`      [${name}] ${line}`);
      },
    });
    const child = this.daemon.child;
    live.add(child);
    this.exited = new Promise((resolve) =>
      child.once("exit", (code, signal) => {
        live.delete(child);
        resolve({ code, signal });
      }),
    );
  }

  get ready(): Promise<LogRecord> {
    return this.daemon.ready;
  }

  /** The API URL from the "ready" record. */
  async apiUrl(): Promise<string> {
    return String((await this.ready).api).replace(/\/$/, "");
  }

  /** Records with this message whose fields include `fields` (compared as strings: bigints are logged as decimal strings). */
  find(msg: string, fields: Readonly<Record<string, unknown>> = {}): LogRecord[] {
    return this.records.filter((r) => r.msg === msg && Object.entries(fields).every(([k, v]) => String(r[k]) === String(v)));
  }

  /** Waits for the first record with this message and fields. */
  waitFor(msg: string, fields: Readonly<Record<string, unknown>> = {}, timeoutMs = WAIT_MS): Promise<LogRecord> {
    const shown = Object.entries(fields).map(([k, v]) => `${k}=${String(v)}`).join(" ");
    return waitUntil(() => this.find(msg, fields)[0], `${this.name} to log "${msg}" ${shown}`, [this], timeoutMs);
  }

  /** SIGTERM and the exit code; SIGKILL if it has not exited after `killAfterMs` (its own shutdown allows 10 s). */
  async stop(killAfterMs = 12_000): Promise<number | null> {
    if (!live.has(this.daemon.child)) return (await this.exited).code;
    this.daemon.child.kill("SIGTERM");
    const timer = setTimeout(() => this.daemon.child.kill("SIGKILL"), killAfterMs);
    const { code } = await this.exited;
    clearTimeout(timer);
    return code;
  }

  /** SIGKILL: the process ends at once, mid-whatever. */
  async kill(): Promise<void> {
    this.daemon.child.kill("SIGKILL");
    await this.exited;
  }

  /** The last lines, for failure messages. */
  tail(n = 8): string {
    const lines = [...this.records.map((r) => JSON.stringify(r)), ...this.otherLines].slice(-n);
    return lines.map((l) => `    ${this.name}: ${l.slice(0, 400)}`).join("\n");
  }
}

/** A local chain with Refute deployed, a deployment file for the daemons, and the helpers a test needs. */
export class E2eSystem {
  private readonly daemons: DaemonProcess[] = [];

  private constructor(
    readonly chain: LocalChain,
    readonly clients: RpcClients,
    readonly testClient: TestClient,
    readonly deployment: Deployment,
    readonly deploymentFile: string,
    private readonly dir: string,
  ) {}

  static async start(parameters: Partial<DeploymentParameters> = E2E_PARAMETERS): Promise<E2eSystem> {
    await initKeccak();
    const chain = await startLocalChain();
    try {
      const clients = await connectRpc(chain.rpcUrl, { pollingIntervalMs: 50 });
      const testClient = createTestClient({ mode: "hardhat", chain: clients.chain, transport: clients.transport });
      const deployment = await deploySystem({ publicClient: clients.publicClient, walletClient: walletFor(clients, chain.accounts[0].privateKey), parameters });
      const dir = mkdtempSync(path.join(os.tmpdir(), "refute-e2e-"));
      const deploymentFile = path.join(dir, "deployment.json");
      writeDeployment(deploymentFile, deployment);
      return new E2eSystem(chain, clients, testClient, deployment, deploymentFile, dir);
    } catch (e) {
      await chain.stop();
      throw e;
    }
  }

  get publicClient() {
    return this.clients.publicClient;
  }

  get accounts(): readonly DevAccount[] {
    return this.chain.accounts;
  }

  /** A temporary folder removed with the system. */
  get tmpDir(): string {
    return this.dir;
  }

  wallet(account: DevAccount): RefuteWalletClient {
    return walletFor(this.clients, account.privateKey);
  }

  /** A {@link ChainActor} for the test itself (to send moves with core/chain/actor.ts). */
  actor(account: DevAccount): ChainActor {
    const quiet = () => undefined;
    return { publicClient: this.publicClient, walletClient: this.wallet(account), deployment: this.deployment, log: { debug: quiet, info: quiet, warn: quiet, error: quiet } };
  }

  /** Starts a daemon as `account` on this chain (its key in REFUTE_PRIVATE_KEY, never in argv). */
  startDaemon(name: string, kind: "node" | "watcher", account: DevAccount, options: DaemonOptions = {}): DaemonProcess {
    const args = ["--rpc-url", options.rpcUrl ?? this.chain.rpcUrl, "--deployment", this.deploymentFile, "--poll-ms", String(options.pollMs ?? 100), ...(options.args ?? [])];
    const d = new DaemonProcess(name, kind, args, { REFUTE_PRIVATE_KEY: account.privateKey, ...options.env }, options.echo);
    this.daemons.push(d);
    return d;
  }

  /** Moves the chain's clock forward and mines a block with the new time. */
  async increaseTime(seconds: bigint): Promise<void> {
    await this.testClient.increaseTime({ seconds: Number(seconds) });
    await this.testClient.mine({ blocks: 1 });
  }

  /** The decoded events of the market, the game, the staking contract and the classifier since the deployment. */
  async events() {
    const c = this.deployment.contracts;
    const logs: ViemLog[] = await this.publicClient.getLogs({ address: [c.jobMarket, c.disputeGame, c.staking, c.digitClassifier], fromBlock: this.deployment.startBlock });
    return {
      market: parseEventLogs({ abi: jobMarketAbi, logs: logs.filter((l) => l.address.toLowerCase() === c.jobMarket.toLowerCase()) }),
      game: parseEventLogs({ abi: disputeGameAbi, logs: logs.filter((l) => l.address.toLowerCase() === c.disputeGame.toLowerCase()) }),
      staking: parseEventLogs({ abi: stakingAbi, logs: logs.filter((l) => l.address.toLowerCase() === c.staking.toLowerCase()) }),
      classifier: parseEventLogs({ abi: digitClassifierAbi, logs: logs.filter((l) => l.address.toLowerCase() === c.digitClassifier.toLowerCase()) }),
    };
  }

  /** Posts `input` through the DigitClassifier dapp as `user`; returns the market's job id. */
  async classify(user: DevAccount, input: Int8Array, fee: bigint, collateral: bigint): Promise<bigint> {
    const expiresAt = (await this.publicClient.getBlock()).timestamp + 3_600n;
    const hash = await this.wallet(user).writeContract({
      address: this.deployment.contracts.digitClassifier,
      abi: digitClassifierAbi,
      functionName: "classify",
      args: [toHex(new Uint8Array(input.buffer, input.byteOffset, input.length)), collateral, Number(expiresAt)],
      value: fee,
    });
    const receipt = await this.publicClient.waitForTransactionReceipt({ hash });
    if (receipt.status !== "success") throw new Error(`classify reverted in ${hash}`);
    const [requested] = parseEventLogs({ abi: digitClassifierAbi, logs: receipt.logs, eventName: "DigitRequested" });
    return requested.args.jobId;
  }

  /** Staking.accountOf: [free, locked, …]. */
  async stakeOf(account: Address): Promise<{ free: bigint; locked: bigint }> {
    const [free, locked] = await this.publicClient.readContract({ address: this.deployment.contracts.staking, abi: stakingAbi, functionName: "accountOf", args: [account] });
    return { free, locked };
  }

  /** What `account` has paid in gas for every transaction it sent since the deployment. */
  async gasSpentBy(account: Address): Promise<bigint> {
    const head = await this.publicClient.getBlockNumber();
    let spent = 0n;
    for (let n = this.deployment.startBlock; n <= head; n++) {
      const block = await this.publicClient.getBlock({ blockNumber: n, includeTransactions: true });
      for (const tx of block.transactions) {
        if (tx.from.toLowerCase() !== account.toLowerCase()) continue;
        const receipt = await this.publicClient.getTransactionReceipt({ hash: tx.hash });
        spent += receipt.gasUsed * receipt.effectiveGasPrice;
      }
    }
    return spent;
  }

  /** Stops every daemon started here (SIGTERM), then the chain; removes the temporary folder. */
  async stop(): Promise<void> {
    await Promise.all(this.daemons.map((d) => d.stop()));
    await this.chain.stop();
    rmSync(this.dir, { recursive: true, force: true });
  }
}

/** {@link eventually}, with the last lines of `daemons` in the error when it times out. */
export async function waitUntil<T>(check: () => T | undefined | false | Promise<T | undefined | false>, what: string, daemons: readonly DaemonProcess[], timeoutMs = WAIT_MS): Promise<T> {
  try {
    return await eventually(check, what, timeoutMs, 25);
  } catch (e) {
    throw new Error(`${(e as Error).message}\n${daemons.map((d) => d.tail()).join("\n")}`);
  }
}

/** The events of one name, typed. */
export function named<E extends { eventName: string }, N extends E["eventName"]>(events: readonly E[], name: N): Extract<E, { eventName: N }>[] {
  return events.filter((e): e is Extract<E, { eventName: N }> => e.eventName === name);
}

/** The MNIST reference model, loaded once (after {@link E2eSystem.start}, which initialises keccak). */
export function mnist() {
  return loadModelDir(MNIST_MODEL_DIR);
}

/** The reference executor's output for `input`, as the bytes a node submits. */
export function referenceOutput(input: Int8Array): Hex {
  const trace = runReference(mnist().model, input);
  const out = trace[trace.length - 1];
  return toHex(new Uint8Array(out.buffer, out.byteOffset, out.length));
}
