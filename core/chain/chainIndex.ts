import { type Address, type Hex, type Log, type PublicClient, parseEventLogs } from "viem";
import { disputeGameAbi, graphDisputeGameAbi, graphDisputesAbi, jobMarketAbi } from "../abi";
import { type Job, JobStatus, applyJobEvent, toJob, toJobEvent } from "../jobState";
import type { DeployedContracts } from "./deployment";

/**
 * What the node and the watcher know about the chain, rebuilt from logs alone: every job of the
 * market (folded with core/jobState.ts, with its input and latest output bytes) and every dispute
 * game: the Dense game's, and the graph games GraphDisputes opened (their verdicts from
 * GraphDisputeGame, their payouts from GraphDisputes). A daemon that restarts builds a fresh index from the deployment block and has all it
 * needs; nothing is kept on disk.
 */

export interface IndexedJob {
  readonly jobId: bigint;
  readonly job: Job;
  /** The input bytes (JobPosted). */
  readonly input: Hex;
  /** The output bytes of the latest submission (ResultSubmitted), if any. */
  readonly output?: Hex;
}

export interface IndexedGame {
  /** Which game: DisputeGame (a Dense model) or a GraphDisputeGame game opened by GraphDisputes (a graph model). */
  readonly kind: "dense" | "graph";
  readonly gameId: Hex;
  readonly jobId: bigint;
  readonly attempt: bigint;
  readonly challenger: Address;
  readonly node: Address;
  /** The block it started in (where its log search begins). */
  readonly startBlock: bigint;
  /** Ended with its payouts applied (a graph game: settled by GraphDisputes.settle). */
  readonly resolved: boolean;
  readonly asserterWon?: boolean;
  /** Why it ended: DisputeGame.Reason, or GraphDisputeGame.Reason for a graph game. */
  readonly reason?: number;
  /** A graph game: the job as it was disputed (GraphDisputes.settle takes it back). */
  readonly job?: Job;
  /** A graph game whose rules have a verdict (GraphDisputeGame.GameResolved) that may not be settled yet. */
  readonly verdict?: { readonly asserterWon: boolean; readonly reason: number };
  readonly resultRejected?: boolean;
  /** Its challenger's share of the attempt's reward pool was credited (DisputeGame.claimReward). */
  readonly rewardClaimed?: boolean;
}

/** Blocks per eth_getLogs request (public RPCs cap the range). */
const DEFAULT_BATCH = 2_000n;

export class ChainIndex {
  private readonly jobMap = new Map<bigint, IndexedJob>();
  private readonly gameMap = new Map<Hex, IndexedGame>();
  private resolvedQueue: IndexedGame[] = [];
  /** `${jobId}/${attempt}` of every attempt whose games all resolved with the node slashed. */
  private readonly settled = new Set<string>();
  /** `${jobId}/${node}` of every node that lost a dispute on a job and may not take it again. */
  private readonly barred = new Set<string>();
  private next: bigint;

  private readonly market: Address;
  private readonly addresses: Address[];

  constructor(
    private readonly client: PublicClient,
    private readonly contracts: Pick<DeployedContracts, "jobMarket" | "disputeGame" | "graphDisputes" | "graphDisputeGame">,
    fromBlock: bigint,
    private readonly batch: bigint = DEFAULT_BATCH,
  ) {
    this.market = contracts.jobMarket;
    this.addresses = [contracts.jobMarket, contracts.disputeGame, contracts.graphDisputes, contracts.graphDisputeGame];
    this.next = fromBlock;
  }

  /** The last block folded in (−1 before the first sync). */
  get syncedTo(): bigint {
    return this.next - 1n;
  }

  jobs(): IterableIterator<IndexedJob> {
    return this.jobMap.values();
  }

  job(jobId: bigint): IndexedJob | undefined {
    return this.jobMap.get(jobId);
  }

  games(): IterableIterator<IndexedGame> {
    return this.gameMap.values();
  }

  game(gameId: Hex): IndexedGame | undefined {
    return this.gameMap.get(gameId);
  }

  /** Whether every game on `attempt` of `jobId` resolved and its node's collateral was slashed (rewards claimable). */
  attemptSettled(jobId: bigint, attempt: bigint): boolean {
    return this.settled.has(`${jobId}/${attempt}`);
  }

  /** Whether `node` lost a dispute on `jobId` (JobMarket.barred): the market refuses its takeJob. */
  isBarred(jobId: bigint, node: Address): boolean {
    return this.barred.has(`${jobId}/${node.toLowerCase()}`);
  }

  /** The games that ended since the last call, in chain order. */
  takeResolved(): IndexedGame[] {
    const games = this.resolvedQueue;
    this.resolvedQueue = [];
    return games;
  }

  /** Folds in the logs of the blocks after the last sync up to `toBlock` (default: the latest). */
  async sync(toBlock?: bigint): Promise<bigint> {
    const head = toBlock ?? (await this.client.getBlockNumber({ cacheTime: 0 }));
    while (this.next <= head) {
      const to = this.next + this.batch - 1n < head ? this.next + this.batch - 1n : head;
      const logs = await this.client.getLogs({ address: this.addresses, fromBlock: this.next, toBlock: to });
      this.apply(logs);
      this.next = to + 1n;
    }
    return head;
  }

  private apply(logs: readonly Log[]): void {
    const is = (a: Address, b: Address) => a.toLowerCase() === b.toLowerCase();
    const ordered = [...logs].sort((a, b) => (a.blockNumber === b.blockNumber ? (a.logIndex ?? 0) - (b.logIndex ?? 0) : (a.blockNumber ?? 0n) < (b.blockNumber ?? 0n) ? -1 : 1));
    for (const log of ordered) {
      if (is(log.address, this.market)) this.applyMarket(log);
      else if (is(log.address, this.contracts.disputeGame)) this.applyGame(log);
      else if (is(log.address, this.contracts.graphDisputes)) this.applyGraphDisputes(log);
      else this.applyGraphRules(log);
    }
  }

  private applyMarket(log: Log): void {
    const [decoded] = parseEventLogs({ abi: jobMarketAbi, logs: [log], strict: true });
    if (!decoded) return;
    if (decoded.eventName === "NodeBarred") this.barred.add(`${decoded.args.jobId}/${decoded.args.node.toLowerCase()}`);
    const change = toJobEvent(decoded.eventName, decoded.args as unknown as Record<string, unknown>);
    if (!change) return;
    const before = this.jobMap.get(change.jobId);
    const job = applyJobEvent(before?.job, change.event);
    const args = decoded.args as { input?: Hex; output?: Hex };
    const input = decoded.eventName === "JobPosted" ? args.input! : before!.input;
    const output = decoded.eventName === "ResultSubmitted" ? args.output : job.status === JobStatus.Open ? undefined : before?.output;
    this.jobMap.set(change.jobId, { jobId: change.jobId, job, input, output });
  }

  private applyGame(log: Log): void {
    const [decoded] = parseEventLogs({ abi: disputeGameAbi, logs: [log], strict: true });
    if (!decoded) return;
    if (decoded.eventName === "GameStarted") {
      const a = decoded.args;
      this.gameMap.set(a.gameId, { kind: "dense", gameId: a.gameId, jobId: a.jobId, attempt: BigInt(a.attempt), challenger: a.challenger, node: a.node, startBlock: log.blockNumber ?? 0n, resolved: false });
    } else if (decoded.eventName === "GameResolved") {
      const a = decoded.args;
      const g = this.gameMap.get(a.gameId);
      if (!g) return;
      const resolved = { ...g, resolved: true, asserterWon: a.asserterWon, reason: Number(a.reason), resultRejected: a.resultRejected };
      this.gameMap.set(a.gameId, resolved);
      this.resolvedQueue.push(resolved);
    } else {
      this.applyPayout(decoded);
    }
  }

  /** AttemptSettled and RewardClaimed, which both games emit alike. */
  private applyPayout(decoded: { eventName: string; args: unknown }): void {
    if (decoded.eventName === "AttemptSettled") {
      const a = decoded.args as { jobId: bigint; attempt: number | bigint };
      this.settled.add(`${a.jobId}/${a.attempt}`);
    } else if (decoded.eventName === "RewardClaimed") {
      const g = this.gameMap.get((decoded.args as { gameId: Hex }).gameId);
      if (g) this.gameMap.set(g.gameId, { ...g, rewardClaimed: true });
    }
  }

  private applyGraphDisputes(log: Log): void {
    const [decoded] = parseEventLogs({ abi: graphDisputesAbi, logs: [log], strict: true });
    if (!decoded) return;
    if (decoded.eventName === "DisputeOpened") {
      const a = decoded.args;
      const job = toJob(a.job);
      this.gameMap.set(a.gameId, { kind: "graph", gameId: a.gameId, jobId: a.jobId, attempt: BigInt(a.attempt), challenger: a.challenger, node: a.node, startBlock: log.blockNumber ?? 0n, resolved: false, job });
    } else if (decoded.eventName === "DisputeSettled") {
      const a = decoded.args;
      const g = this.gameMap.get(a.gameId);
      if (!g) return;
      const resolved = { ...g, resolved: true, asserterWon: a.asserterWon, reason: g.verdict?.reason, resultRejected: a.resultRejected };
      this.gameMap.set(a.gameId, resolved);
      this.resolvedQueue.push(resolved);
    } else {
      this.applyPayout(decoded);
    }
  }

  /** GraphDisputeGame's verdicts, for the games GraphDisputes opened (anyone may open others there). */
  private applyGraphRules(log: Log): void {
    const [decoded] = parseEventLogs({ abi: graphDisputeGameAbi, logs: [log], strict: true, eventName: "GameResolved" });
    if (!decoded) return;
    const g = this.gameMap.get(decoded.args.gameId);
    if (g) this.gameMap.set(g.gameId, { ...g, verdict: { asserterWon: decoded.args.asserterWon, reason: Number(decoded.args.reason) } });
  }
}
