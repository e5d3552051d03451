import { jobMarketAbi, stakingAbi } from "../core/abi";
import { fromHex, int8Bytes, toHex } from "../core/bytes";
import { type ChainActor, send } from "../core/chain/actor";
import type { IndexedGame, IndexedJob } from "../core/chain/chainIndex";
import { ChainWorker } from "../core/chain/chainWorker";
import type { GameState } from "../core/dispute/gameState";
import type { DisputeTrace } from "../core/dispute/planner";
import type { GraphGameTrace } from "../core/graph/game/gameTrace";
import { type Job, JobStatus, mayFinalize, mayReclaim, maySubmit, mayTake } from "../core/jobState";
import type { Metrics } from "../core/service/metrics";
import { Earnings } from "./earnings";
import { type FeePolicy, minFeeFor } from "./feePolicy";
import { type CheatMode, type ComputedResult, type GraphComputedResult, type GraphServedModel, type NodeModel, type ServedModel, computeGraphResult, computeResult } from "./resultComputer";

/**
 * The operator daemon's work: take open jobs of the models it serves whose fee reaches its minimum,
 * compute and submit results with their trace roots, finalise them after their windows, reclaim jobs
 * of its models whose node missed the delivery deadline (then take them as any open job); as the
 * asserter in every game on its results it defends the trace it submitted (core/chain/chainWorker.ts
 * plays, reports and withdraws). It counts what it earns and spends from receipts and events
 * (node/earnings.ts). A restarted node recomputes each trace from the job's input. Windows are judged
 * by the time a transaction sent now would see (core/jobState.ts nextBlockTime), so its results are
 * finalised on a chain that mines only on demand too, with nobody else sending a transaction; the
 * actions that wait for a time (finalise, reclaim) are simulated against the pending block first, so a
 * premature try costs no gas.
 */

export interface NodeOptions {
  /** Dense models and graph programs. */
  readonly models: readonly NodeModel[];
  readonly cheat: CheatMode;
  /**
   * Take only jobs with (jobId + attempt) % of === index (several nodes sharing a load; a reopened job
   * moves on to the next node); all jobs by default.
   */
  readonly share?: { readonly index: number; readonly of: number };
  /** The smallest fee a job must offer to be taken, wei, for every model (default 0). */
  readonly minFee?: bigint;
  /** Per-model minimum fees, wei, overriding {@link minFee}. */
  readonly minFees?: ReadonlyMap<bigint, bigint>;
  /**
   * Counts the node's earnings; the node sends its transactions through `earnings.actor` (then `actor`
   * should be that too). Made here when absent; pass one made before the node's first transaction (the
   * stake at start) so that it counts it.
   */
  readonly earnings?: Earnings;
}

export class NodeOperator extends ChainWorker {
  private readonly results = new Map<string, ComputedResult | GraphComputedResult>();
  /** The job attempts skipped for want of free stake, and the jobs skipped for their fee (logged once each). */
  private readonly skipped = new Set<string>();
  private readonly fees: FeePolicy;
  private readonly earnings: Earnings;
  /** The stake as read in the last round, for the status endpoint. */
  private stake?: { free: bigint; locked: bigint; unbonding: bigint };
  private readonly models = new Map<bigint, NodeModel>();
  private readonly counters;

  constructor(
    actor: ChainActor,
    private readonly options: NodeOptions,
    metrics: Metrics,
  ) {
    const earnings = options.earnings ?? new Earnings(actor, metrics);
    super(earnings.actor, "asserter", ["market", "game", "graphGame", "staking"], metrics);
    this.earnings = earnings;
    this.fees = { minFee: options.minFee ?? 0n, perModel: options.minFees ?? new Map() };
    for (const m of options.models) this.models.set(m.modelId, m);
    this.counters = {
      taken: metrics.counter("jobs_taken_total", "Jobs this node took"),
      skipped: metrics.counter("jobs_skipped_total", "Jobs of a served model this node did not take (reason: fee below its minimum, or stake)", ["reason"]),
      reclaimed: metrics.counter("jobs_reclaimed_total", "Jobs whose node missed its delivery deadline that this node reclaimed"),
      submitted: metrics.counter("results_submitted_total", "Results this node submitted", ["cheated"]),
      finalized: metrics.counter("jobs_finalized_total", "Results of this node it finalised"),
      inference: metrics.histogram("inference_seconds", "Time to run the model and commit the trace", [0.001, 0.005, 0.02, 0.1, 0.5, 2, 10]),
    };
  }

  /** What the node is doing, for its status endpoint. */
  status() {
    const mine = [...this.index.jobs()].filter((j) => this.isMe(j.job.node));
    return {
      address: this.me,
      syncedTo: this.index.syncedTo,
      cheat: this.options.cheat.kind,
      stake: this.stake,
      models: [...this.models.keys()],
      minFees: Object.fromEntries([...this.models.keys()].map((id) => [String(id), minFeeFor(this.fees, id)])),
      earnings: this.earnings.summary(),
      jobs: mine.map((j) => ({ jobId: j.jobId, status: JobStatus[j.job.status], attempt: j.job.attempt, deadline: j.job.deadline })),
      games: this.myGames(),
    };
  }

  protected async work(now: bigint): Promise<void> {
    const [free, locked, unbonding] = await this.actor.publicClient.readContract({ address: this.actor.deployment.contracts.staking, abi: stakingAbi, functionName: "accountOf", args: [this.me] });
    this.stake = { free, locked, unbonding };
    await this.attempt("earnings", () => this.earnings.update(this.index.syncedTo, (jobId) => this.index.job(jobId)?.job.fee));
    for (const job of [...this.index.jobs()]) {
      // A finalised result can no longer be disputed: its trace is not needed again.
      if (job.job.status === JobStatus.Finalized) this.results.delete(`${job.jobId}/${job.job.attempt}`);
      else await this.attempt(`job ${job.jobId}`, () => this.handleJob(job, now));
    }
  }

  protected async traceFor(state: GameState): Promise<DisputeTrace> {
    const indexed = this.index.job(state.jobId);
    const served = this.models.get(state.job.modelId);
    if (!indexed || !served || served.kind === "graph") throw new Error(`a game on job ${state.jobId} of Dense model ${state.job.modelId}, which this node does not serve`);
    return (await this.resultFor(served, indexed, state.job.attempt)).trace;
  }

  protected async graphTraceFor(game: IndexedGame): Promise<GraphGameTrace> {
    const indexed = this.index.job(game.jobId);
    const served = game.job && this.models.get(game.job.modelId);
    if (!indexed || served?.kind !== "graph") throw new Error(`a graph game on job ${game.jobId}, whose model this node does not serve`);
    return (await this.graphResultFor(served, indexed, game.attempt)).trace;
  }

  private async handleJob(indexed: IndexedJob, now: bigint): Promise<void> {
    const { jobId, job } = indexed;
    const served = this.models.get(job.modelId);
    const mine = this.isMe(job.node);
    if (mayTake(job, now) && this.wouldServe(jobId, job)) {
      if (this.feeTooLow(jobId, job)) return;
      const [free] = await this.actor.publicClient.readContract({ address: this.actor.deployment.contracts.staking, abi: stakingAbi, functionName: "accountOf", args: [this.me] });
      if (free < job.collateral) {
        const key = `${jobId}/${job.attempt}`;
        if (!this.skipped.has(key)) {
          this.skipped.add(key);
          this.counters.skipped.inc({ reason: "stake" });
          this.actor.log.warn("skipped job: free stake below its collateral", { jobId, attempt: job.attempt, collateral: job.collateral, free });
        }
        return;
      }
      await send(this.actor, { address: this.market, abi: jobMarketAbi, functionName: "takeJob", args: [jobId, job] });
      this.counters.taken.inc();
      this.actor.log.info("took job", { jobId, modelId: job.modelId, fee: job.fee, collateral: job.collateral });
      await this.index.sync();
      const taken = this.index.job(jobId);
      if (taken?.job.status === JobStatus.Taken) await this.handleJob(taken, now);
    } else if (maySubmit(job, now) && mine && served) {
      const result = await this.submission(served, indexed, job.attempt);
      await send(this.actor, {
        address: this.market,
        abi: jobMarketAbi,
        functionName: "submitResult",
        args: [jobId, job, toHex(int8Bytes(result.output)), toHex(result.traceRoot), result.inputProof.map(toHex), result.outputProof.map(toHex)],
      });
      this.counters.submitted.inc({ cheated: String(result.cheated) });
      this.actor.log.info(result.cheated ? "CHEATING: submitted a false result" : "submitted result", { jobId, attempt: job.attempt, output: Array.from(result.output), traceRoot: toHex(result.traceRoot) });
    } else if (mayFinalize(job, now) && mine && indexed.output) {
      const open = await this.actor.publicClient.readContract({ address: this.market, abi: jobMarketAbi, functionName: "openDisputes", args: [jobId, Number(job.attempt)] });
      if (open > 0n) return;
      // Sent only once the chain's own clock agrees that the window has ended (simulated against the pending block).
      const sent = await this.sendWhenDue({ address: this.market, abi: jobMarketAbi, functionName: "finalize", args: [jobId, job, indexed.output] });
      if (!sent) return;
      this.counters.finalized.inc();
      this.actor.log.info("finalised result", { jobId, attempt: job.attempt, fee: job.fee });
    } else if (mayReclaim(job, now) && this.wouldServe(jobId, job) && !this.feeTooLow(jobId, job)) {
      // Its node missed the delivery deadline: reopen it (the node's collateral goes to the requester) and take it.
      // Sent only once the chain's own clock is past the deadline (simulated against the pending block).
      const sent = await this.sendWhenDue({ address: this.market, abi: jobMarketAbi, functionName: "reclaimJob", args: [jobId, job] });
      if (!sent) return;
      this.counters.reclaimed.inc();
      this.actor.log.info("reclaimed job: its node missed the delivery deadline", { jobId, modelId: job.modelId, formerNode: job.node, attempt: job.attempt, deadline: job.deadline, collateral: job.collateral, gasUsed: sent.gasUsed });
      await this.index.sync();
      const reopened = this.index.job(jobId);
      if (reopened && mayTake(reopened.job, now)) await this.handleJob(reopened, now);
    }
  }

  /** A job of a model this node serves, in its share, that it was not barred from. */
  private wouldServe(jobId: bigint, job: Job): boolean {
    return this.models.has(job.modelId) && this.inShare(jobId + job.attempt) && !this.index.isBarred(jobId, this.me);
  }

  /** Whether the job's fee is below this node's minimum for its model; logged and counted once per job. */
  private feeTooLow(jobId: bigint, job: Job): boolean {
    const minFee = minFeeFor(this.fees, job.modelId);
    if (job.fee >= minFee) return false;
    const key = `${jobId}/fee`;
    if (!this.skipped.has(key)) {
      this.skipped.add(key);
      this.counters.skipped.inc({ reason: "fee" });
      this.actor.log.info("skipped job: fee below this node's minimum", { jobId, modelId: job.modelId, fee: job.fee, minFee });
    }
    return true;
  }

  /**
   * What the node submits for `attempt` of a job: the output, the trace root and the proofs that leaf 0 is the
   * input's root and the last leaf the output's (layer L of a Dense trace, leaf n − 1 of a graph trace).
   */
  private async submission(served: NodeModel, indexed: IndexedJob, attempt: bigint) {
    if (served.kind === "graph") {
      const { run, output, cheated } = await this.graphResultFor(served, indexed, attempt);
      const last = run.leafCount - 1;
      return { output, cheated, traceRoot: run.traceRoot, inputProof: run.rootUnder(0, last).proof, outputProof: run.rootUnder(last, last).proof };
    }
    const { trace, output, cheated } = await this.resultFor(served, indexed, attempt);
    return { output, cheated, traceRoot: trace.traceRoot, inputProof: trace.activationRoot(0).proof, outputProof: trace.activationRoot(served.model.layers.length).proof };
  }

  /** The result of `attempt` of a job on a Dense model: computed once, then from memory (or recomputed after a restart). */
  private resultFor(served: ServedModel, indexed: IndexedJob, attempt: bigint): Promise<ComputedResult> {
    return this.remembered(indexed, attempt, (input) => computeResult(served, input, this.options.cheat, indexed.jobId, attempt)) as Promise<ComputedResult>;
  }

  /** The same for a job on a graph program. */
  private graphResultFor(served: GraphServedModel, indexed: IndexedJob, attempt: bigint): Promise<GraphComputedResult> {
    return this.remembered(indexed, attempt, (input) => computeGraphResult(served, input, this.options.cheat)) as Promise<GraphComputedResult>;
  }

  private async remembered(indexed: IndexedJob, attempt: bigint, compute: (input: Int8Array) => Promise<ComputedResult | GraphComputedResult>) {
    const key = `${indexed.jobId}/${attempt}`;
    let result = this.results.get(key);
    if (!result) {
      const started = performance.now();
      const bytes = fromHex(indexed.input);
      result = await compute(new Int8Array(bytes.buffer, bytes.byteOffset, bytes.length));
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
