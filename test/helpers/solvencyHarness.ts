import { expect } from "chai";
import { type Interface, toQuantity } from "ethers";
import { type Job, JobStatus, hashJob } from "../../core/jobState";
import { Rng } from "../../core/rng";
import { jobFrom } from "./marketFixture";

/**
 * What the two solvency invariants (test/contracts/solvency.invariant.test.ts, with a mock game, and
 * test/contracts/solvency.disputes.invariant.test.ts, with the real DisputeGame) share: the raw JSON-RPC sender
 * (each transaction mined alone at a chosen time, its gas charged to the model), the per-kind ok/reverted
 * bookkeeping, the seeded random choices, the failure context with its replay line, and the summary lines.
 */

export type Hex = `0x${string}`;

export type Rpc = <T>(method: string, params?: unknown[]) => Promise<T>;

/** A JSON-RPC caller on `provider` (hardhat's network.provider). */
export const rpcOf =
  (provider: { request(args: { method: string; params?: unknown[] }): Promise<unknown> }) =>
  <T>(method: string, params: unknown[] = []) =>
    provider.request({ method, params }) as Promise<T>;

export interface RawReceipt {
  status: string;
  gasUsed: string;
  effectiveGasPrice: string;
  logs: { address: string; topics: string[]; data: string }[];
}

export const isLive = (s: JobStatus) => s === JobStatus.Open || s === JobStatus.Taken || s === JobStatus.Submitted;
export const isHeld = (s: JobStatus) => s === JobStatus.Taken || s === JobStatus.Submitted;
export const max = (a: bigint, b: bigint) => (a > b ? a : b);
export const jsonOf = (x: unknown) => JSON.stringify(x, (_, v) => (typeof v === "bigint" ? v.toString() : v));

/** Gas limit of every transaction (no estimate, so a rejected one is really mined). */
export const GAS = toQuantity(5_000_000);

/** The counters both invariants keep and print. */
export interface SolvencyStats {
  sequences: number;
  actions: number[];
  timeJumps: number;
  boundaryProbes: number;
  settleTxs: number;
  txs: number;
  expectedReverts: number;
  byKind: Map<string, { ok: number; reverted: number }>;
  jobsPosted: number;
  outcomes: Map<string, number>;
}

export function newSolvencyStats(): SolvencyStats {
  return {
    sequences: 0,
    actions: [],
    timeJumps: 0,
    boundaryProbes: 0,
    settleTxs: 0,
    txs: 0,
    expectedReverts: 0,
    byKind: new Map(),
    jobsPosted: 0,
    outcomes: new Map(),
  };
}

/** Runs `count` sequences from `first` on, each from the `base` snapshot; returns the milliseconds taken. */
export async function runSeeds(base: { restore(): Promise<void> }, first: number, count: number, run: (seed: number) => Promise<void>): Promise<number> {
  const t0 = Date.now();
  for (let k = 0; k < count; k++) {
    await base.restore();
    await run(first + k);
  }
  return Date.now() - t0;
}

/** A summary line, indented under the test's title. */
export const summaryLine = (s: string) => console.log(`      ${s}`);

/** The ok/reverted counts per kind of transaction, by kind. */
export const byKindLine = (stats: SolvencyStats) =>
  `ok/reverted: ${[...stats.byKind.entries()]
    .sort((x, y) => x[0].localeCompare(y[0]))
    .map(([k, v]) => `${k} ${v.ok}/${v.reverted}`)
    .join(", ")}`;

/** The jobs posted and how they ended. */
export const outcomesLine = (stats: SolvencyStats) => `${stats.jobsPosted} jobs posted; ${[...stats.outcomes.entries()].map(([k, v]) => `${k} ${v}`).join(", ")}`;

/** What the model keeps of an account's ETH. */
export interface GasAccount {
  balance: bigint;
  /** Gas paid (receipt gasUsed × effectiveGasPrice). */
  gas: bigint;
}

/** What the model keeps of a job (and both invariants fold and store alike). */
export interface JobLike {
  readonly id: bigint;
  job: Job;
  hash: string;
  readonly versions: Job[];
  /** Open games per attempt (index 0 unused). */
  readonly disputes: number[];
}

/** How a sequence logs: the snapshot's time (logged times are counted from it), the replay command's tail and how many recent steps a failure lists. */
export interface SequenceOptions {
  readonly baseTime: bigint;
  /** After `SOLVENCY_SEQUENCES=1` in the replay line ("" or " npx hardhat test FILE"). */
  readonly command: string;
  /** How many of the last steps a failure prints. */
  readonly recent: number;
}

/** A pending time limit, and the action it decides (sent at the time the probe jumps to). */
export interface Boundary {
  kind: string;
  at: bigint;
  what: string;
  probe: () => Promise<unknown>;
}

/** One seeded sequence's common part: its random choices, its log, its checks, and sending a transaction. */
export abstract class SolvencySequence<J extends JobLike, A extends GasAccount> {
  readonly rng: Rng;
  readonly jobs: J[] = [];
  readonly log: string[] = [];
  phase = "random";
  /** The transaction after which the slot reader is checked against the getters. */
  crossCheckAt = 0;
  txCount = 0;
  /** The model's clock: the next transaction is mined at now + 1. */
  abstract now: bigint;
  abstract readonly model: A[];

  constructor(
    readonly seed: number,
    protected readonly stats: SolvencyStats,
    private readonly options: SequenceOptions
  ) {
    this.rng = new Rng(seed);
  }

  ctx(what: string): string {
    return (
      `seed ${this.seed} (replay: SOLVENCY_SEED=${this.seed} SOLVENCY_SEQUENCES=1${this.options.command}), ${this.phase} step ${this.log.length}: ${what}\n` +
      `  recent steps (t = seconds since the snapshot):\n    ${this.log.slice(-this.options.recent).join("\n    ")}\n`
    );
  }

  eq<T>(have: T, want: T, what: string) {
    if (have !== want) expect(have, this.ctx(what)).to.equal(want);
  }

  fail(what: string): never {
    throw new Error(this.ctx(what));
  }

  /**
   * Sends `data` to `to` with `value` from `sender` (through `actor`'s execute where `viaActor`), mined alone at `t`;
   * returns its receipt (a failure if it was not mined).
   */
  async mineAlone(
    rpc: Rpc,
    p: { viaActor: boolean; sender: string; actor: { address: string; iface: Interface }; to: string; data: string; value: bigint },
    t: bigint,
    label: string
  ): Promise<RawReceipt> {
    const tx = p.viaActor
      ? { from: p.sender, to: p.actor.address, data: p.actor.iface.encodeFunctionData("execute", [p.to, p.value, p.data]), gas: GAS }
      : { from: p.sender, to: p.to, data: p.data, value: toQuantity(p.value), gas: GAS };
    const hash = await rpc<string>("eth_sendTransaction", [tx]);
    await rpc("evm_mine", [Number(t)]);
    const r = await rpc<RawReceipt | null>("eth_getTransactionReceipt", [hash]);
    if (!r) this.fail(`${label}: not mined`);
    return r;
  }

  /**
   * Counts a mined transaction: checks it succeeded or reverted as predicted (`ok`), charges its gas to `payer`;
   * where it succeeded, takes `value` from `from` and applies the predicted change. Returns the outcome and the gas.
   */
  async book(
    kind: string,
    label: string,
    r: RawReceipt,
    ok: boolean,
    from: number,
    payer: number,
    value: bigint,
    apply: () => Promise<void> | void
  ): Promise<{ succeeded: boolean; gas: bigint }> {
    const stats = this.stats;
    stats.txs++;
    const succeeded = r.status === "0x1";
    this.eq(succeeded, ok, `${label}: expected ${ok ? "success" : "a revert"}, got ${succeeded ? "success" : "a revert"}`);
    let k = stats.byKind.get(kind);
    if (!k) stats.byKind.set(kind, (k = { ok: 0, reverted: 0 }));
    const gas = BigInt(r.gasUsed) * BigInt(r.effectiveGasPrice);
    this.model[payer].balance -= gas;
    this.model[payer].gas += gas;
    if (succeeded) {
      k.ok++;
      this.model[from].balance -= value;
      await apply();
    } else {
      k.reverted++;
      stats.expectedReverts++;
    }
    return { succeeded, gas };
  }

  /** Folds the transaction's market events into the job (jobFrom) and checks the result against `want`. */
  async fold(r: RawReceipt, j: J | undefined, want: Job, label: string): Promise<Job> {
    const { jobId, job } = await jobFrom({ wait: async () => ({ logs: r.logs }) }, j?.job);
    this.eq(jobId, j ? j.id : BigInt(this.jobs.length + 1), `${label}: job id in the events`);
    if (jsonOf(job) !== jsonOf(want)) expect(job, this.ctx(`${label}: job folded from the events != job the model expects`)).to.deep.equal(want);
    return job;
  }

  setJob(j: J, job: Job) {
    j.job = job;
    j.hash = hashJob(job);
    j.versions.push(job);
    while (j.disputes.length <= Number(job.attempt)) j.disputes.push(0);
  }

  outcome(name: string) {
    this.stats.outcomes.set(name, (this.stats.outcomes.get(name) ?? 0) + 1);
  }

  // ------------------------------------------------------------------------------------------
  // Random choices
  // ------------------------------------------------------------------------------------------

  pick<T>(xs: readonly T[]): T {
    return xs[this.rng.int(0, xs.length - 1)];
  }

  chance(p: number): boolean {
    return this.rng.float() < p;
  }

  wei(lo: number, hi: number): bigint {
    return BigInt(this.rng.int(lo, hi));
  }

  // ------------------------------------------------------------------------------------------
  // Running
  // ------------------------------------------------------------------------------------------

  /** The time limits pending after the next transaction. */
  abstract boundaries(): Boundary[];

  /** Time jumps to one second before, at or after a pending limit, and the action that limit decides runs then. */
  async boundaryProbe() {
    // A kind of limit first, then one of that kind, so that the rarer kinds come up as often.
    const all = this.boundaries();
    const kind = this.pick([...new Set(all.map((x) => x.kind))]);
    const b = this.pick(all.filter((x) => x.kind === kind));
    const at = b.at + BigInt(this.rng.int(-1, 1));
    this.log.push(`[time] next transaction at t=${at - this.options.baseTime} (${b.what} ${at < b.at ? "- 1" : at > b.at ? "+ 1" : "exactly"})`);
    this.now = at - 1n;
    this.stats.boundaryProbes++;
    await b.probe();
  }

  abstract timeJump(): void;
  abstract randomAction(): Promise<unknown>;
  abstract settle(): Promise<void>;

  /** `n` random steps (a time jump with probability `jumpChance`, else a random action), then settling. */
  protected async runSteps(n: number, jumpChance: number) {
    const stats = this.stats;
    for (let i = 0; i < n; i++) {
      if (this.chance(jumpChance)) {
        this.timeJump();
        stats.timeJumps++;
      } else await this.randomAction();
    }
    stats.actions.push(n);
    const before = stats.txs;
    await this.settle();
    stats.settleTxs += stats.txs - before;
    stats.sequences++;
  }
}
