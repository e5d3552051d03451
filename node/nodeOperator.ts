import type { Hex } from "viem";
import { jobMarketAbi, stakingAbi } from "../core/abi";
import { fromHex, int8Bytes, toHex } from "../core/bytes";
import { type ChainActor, addressOf, send, withdrawCredits } from "../core/chain/actor";
import { ChainIndex, type IndexedJob } from "../core/chain/chainIndex";
import { playTurn } from "../core/dispute/gameClient";
import { Phase, Reason } from "../core/dispute/gameState";
import { JobStatus } from "../core/jobState";
import type { Metrics } from "../core/service/metrics";
import { type CheatMode, type ComputedResult, type ServedModel, computeResult } from "./resultComputer";

/**
 * The operator daemon's work, one `tick` at a time: fold the chain's new logs, take open jobs of the
 * models it serves, compute and submit results with their trace roots, defend every dispute with the
 * planner, finalise its results after their windows and withdraw what it is owed. All state is the
 * chain's: a restarted node rebuilds its index from the deployment block and its traces by
 * re-execution, and plays on.
 */

export interface NodeOptions {
  readonly models: readonly ServedModel[];
  readonly cheat: CheatMode;
  /**
   * Take only jobs with (jobId + attempt) % of === index (several nodes sharing a load; a reopened job
   * moves on to the next node); all jobs by default.
   */
  readonly share?: { readonly index: number; readonly of: number };
}

export class NodeOperator {
  readonly index: ChainIndex;
  private readonly me: Hex;
  private readonly results = new Map<string, ComputedResult>();
  private readonly models = new Map<bigint, ServedModel>();
  private readonly counters;

  constructor(
    private readonly actor: ChainActor,
    private readonly options: NodeOptions,
    metrics: Metrics,
  ) {
    const { contracts, startBlock } = actor.deployment;
    this.index = new ChainIndex(actor.publicClient, contracts.jobMarket, contracts.disputeGame, startBlock);
    this.me = addressOf(actor);
    for (const m of options.models) this.models.set(m.modelId, m);
    this.counters = {
      taken: metrics.counter("jobs_taken_total", "Jobs this node took"),
      submitted: metrics.counter("results_submitted_total", "Results this node submitted", ["cheated"]),
      finalized: metrics.counter("jobs_finalized_total", "Results of this node it finalised"),
      moves: metrics.counter("dispute_moves_total", "Dispute game moves this node made", ["move"]),
      games: metrics.counter("games_resolved_total", "Games on this node's results that ended", ["won"]),
      errors: metrics.counter("action_errors_total", "Actions that failed (retried on a later tick)", ["action"]),
      withdrawn: metrics.counter("withdrawn_wei_total", "Wei withdrawn from the market, the game and staking"),
      synced: metrics.gauge("synced_block", "Last block folded into the index"),
      inference: metrics.histogram("inference_seconds", "Time to run the model and commit the trace", [0.001, 0.005, 0.02, 0.1, 0.5, 2, 10]),
    };
  }

  /** One round of work; an action that fails is logged and tried again on the next tick. */
  async tick(): Promise<void> {
    const first = this.index.syncedTo < this.actor.deployment.startBlock;
    await this.index.sync();
    this.counters.synced.set(Number(this.index.syncedTo));
    for (const g of this.index.takeResolved()) {
      // Games that ended before this process started were reported by the one before it.
      if (first || g.node.toLowerCase() !== this.me.toLowerCase()) continue;
      this.counters.games.inc({ won: String(g.asserterWon) });
      this.actor.log.info(g.asserterWon ? "won dispute" : "lost dispute", { gameId: g.gameId, jobId: g.jobId, challenger: g.challenger, reason: Reason[g.reason ?? 0] });
    }
    const now = (await this.actor.publicClient.getBlock()).timestamp;
    for (const job of [...this.index.jobs()]) await this.attempt(`job ${job.jobId}`, () => this.handleJob(job, now));
    for (const game of [...this.index.games()]) {
      if (game.node.toLowerCase() !== this.me.toLowerCase()) continue;
      if (game.resolved) continue;
      await this.attempt(`game ${game.gameId}`, () => this.defend(game.gameId, game.startBlock));
    }
    await this.attempt("withdraw", () => this.withdrawAll());
  }

  /** What the node is doing, for its status endpoint. */
  status() {
    const mine = [...this.index.jobs()].filter((j) => j.job.node.toLowerCase() === this.me.toLowerCase());
    return {
      address: this.me,
      syncedTo: this.index.syncedTo,
      cheat: this.options.cheat.kind,
      models: [...this.models.keys()],
      jobs: mine.map((j) => ({ jobId: j.jobId, status: JobStatus[j.job.status], attempt: j.job.attempt, deadline: j.job.deadline })),
      games: [...this.index.games()]
        .filter((g) => g.node.toLowerCase() === this.me.toLowerCase())
        .map((g) => ({ gameId: g.gameId, jobId: g.jobId, challenger: g.challenger, resolved: g.resolved, won: g.asserterWon })),
    };
  }

  private async attempt(action: string, run: () => Promise<void>): Promise<void> {
    try {
      await run();
    } catch (e) {
      this.counters.errors.inc({ action: action.split(" ")[0] });
      this.actor.log.warn("action failed; will retry", { action, error: e });
    }
  }

  private async handleJob(indexed: IndexedJob, now: bigint): Promise<void> {
    const { jobId, job } = indexed;
    const served = this.models.get(job.modelId);
    const mine = job.node.toLowerCase() === this.me.toLowerCase();
    if (job.status === JobStatus.Open && served && job.expiresAt >= now && this.inShare(jobId + job.attempt)) {
      const [free] = await this.actor.publicClient.readContract({ address: this.actor.deployment.contracts.staking, abi: stakingAbi, functionName: "accountOf", args: [this.me] });
      if (free < job.collateral) return;
      await send(this.actor, { address: this.market, abi: jobMarketAbi, functionName: "takeJob", args: [jobId, job] });
      this.counters.taken.inc();
      this.actor.log.info("took job", { jobId, modelId: job.modelId, fee: job.fee, collateral: job.collateral });
      await this.index.sync();
      const taken = this.index.job(jobId);
      if (taken?.job.status === JobStatus.Taken) await this.handleJob(taken, now);
    } else if (job.status === JobStatus.Taken && mine && served && job.deadline >= now) {
      const result = await this.resultFor(served, indexed, job.attempt);
      const L = served.model.layers.length;
      const root = result.trace.activationRoot(0);
      const out = result.trace.activationRoot(L);
      await send(this.actor, {
        address: this.market,
        abi: jobMarketAbi,
        functionName: "submitResult",
        args: [jobId, job, toHex(int8Bytes(result.output)), toHex(result.trace.traceRoot), root.proof.map(toHex), out.proof.map(toHex)],
      });
      this.counters.submitted.inc({ cheated: String(result.cheated) });
      this.actor.log.info(result.cheated ? "CHEATING: submitted a false result" : "submitted result", { jobId, attempt: job.attempt, output: Array.from(result.output), traceRoot: toHex(result.trace.traceRoot) });
    } else if (job.status === JobStatus.Submitted && mine && job.deadline < now && indexed.output) {
      const open = await this.actor.publicClient.readContract({ address: this.market, abi: jobMarketAbi, functionName: "openDisputes", args: [jobId, Number(job.attempt)] });
      if (open > 0n) return;
      await send(this.actor, { address: this.market, abi: jobMarketAbi, functionName: "finalize", args: [jobId, job, indexed.output] });
      this.counters.finalized.inc();
      this.actor.log.info("finalised result", { jobId, attempt: job.attempt, fee: job.fee });
    }
  }

  /** Plays one move of the game on one of this node's results, if it is the node's turn. */
  private async defend(gameId: Hex, startBlock: bigint): Promise<void> {
    const turn = await playTurn(this.actor, gameId, startBlock, "asserter", (state) => {
      const indexed = this.index.job(state.jobId);
      const served = this.models.get(state.job.modelId);
      if (!indexed || !served) throw new Error(`game ${gameId} is on job ${state.jobId} of model ${state.job.modelId}, which this node does not serve`);
      return this.resultFor(served, indexed, state.job.attempt).then((r) => r.trace);
    });
    if (!turn.move) return;
    const { jobId, phase } = turn.before.state;
    this.counters.moves.inc({ move: turn.move.functionName });
    this.actor.log.info("dispute move", { gameId, jobId, phase: Phase[phase], move: turn.move.functionName, gasUsed: turn.gasUsed });
  }

  private async withdrawAll(): Promise<void> {
    for (const { from, wei } of await withdrawCredits(this.actor, ["market", "game", "staking"])) {
      this.counters.withdrawn.inc(undefined, Number(wei));
      this.actor.log.info("withdrew credit", { from, wei });
    }
  }

  /** The result of `attempt` of a job: computed once, then from memory (or recomputed after a restart). */
  private async resultFor(served: ServedModel, indexed: IndexedJob, attempt: bigint): Promise<ComputedResult> {
    const key = `${indexed.jobId}/${attempt}`;
    let result = this.results.get(key);
    if (!result) {
      const started = performance.now();
      const bytes = fromHex(indexed.input);
      result = await computeResult(served, new Int8Array(bytes.buffer, bytes.byteOffset, bytes.length), this.options.cheat, indexed.jobId, attempt);
      this.counters.inference.observe((performance.now() - started) / 1000);
      this.results.set(key, result);
    }
    return result;
  }

  private inShare(n: bigint): boolean {
    const share = this.options.share;
    return !share || Number(n % BigInt(share.of)) === share.index;
  }

  private get market() {
    return this.actor.deployment.contracts.jobMarket;
  }
}
