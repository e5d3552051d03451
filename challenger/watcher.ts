import type { Hex } from "viem";
import { disputeGameAbi, graphDisputesAbi } from "../core/abi";
import { fromHex, toHex } from "../core/bytes";
import { type ChainActor, send } from "../core/chain/actor";
import type { IndexedGame, IndexedJob } from "../core/chain/chainIndex";
import { ChainWorker } from "../core/chain/chainWorker";
import type { ModelCommitment } from "../core/commitments";
import type { GameState } from "../core/dispute/gameState";
import type { GraphModelCommitment } from "../core/graph/commitments";
import { type GraphGameTrace, gameTraceOf } from "../core/graph/game/gameTrace";
import type { GraphProgram } from "../core/graph/program";
import { GraphTraceProvider } from "../core/graph/traceProvider";
import { JobStatus, mayChallenge } from "../core/jobState";
import type { IntegerModel } from "../core/model";
import type { ModelFolder } from "../core/modelFolders";
import type { Metrics } from "../core/service/metrics";
import { TraceProvider } from "../core/traceProvider";
import { minimumSamplingRate, sampled } from "./sampling";

/**
 * The watcher's work: sample submitted results inside their challenge windows at rate p, re-execute
 * them, and open a dispute (with the bond) when the output differs (a graph program: when the trace
 * root differs, so a wrong interior value is disputed too, through GraphDisputes); as the challenger in
 * every game it opened it plays from its own re-execution (core/chain/chainWorker.ts plays, reports and withdraws).
 */

export interface WatchedModel {
  readonly kind?: "dense";
  readonly modelId: bigint;
  readonly model: IntegerModel;
  readonly commitment: ModelCommitment;
}

/** A graph program the watcher re-executes (with the reference executor). */
export interface WatchedGraphModel {
  readonly kind: "graph";
  readonly modelId: bigint;
  readonly program: GraphProgram;
  readonly commitment: GraphModelCommitment;
}

/** What the watcher re-executes of model `modelId` whose files are `folder`. */
export function watchedModelOf(modelId: bigint, folder: ModelFolder): WatchedModel | WatchedGraphModel {
  if (folder.kind === "graph") return { kind: "graph", modelId, program: folder.files.program, commitment: folder.files.commitment };
  return { modelId, model: folder.files.model, commitment: folder.files.commitment };
}

export interface WatcherOptions {
  readonly models: readonly (WatchedModel | WatchedGraphModel)[];
  /** p: the share of results re-executed. */
  readonly samplingRate: number;
  /** The watcher's secret for its sampling draws. */
  readonly samplingSeed: string;
  /** C, wei: what a node saves by skipping one inference (for the deterrence report). */
  readonly computeCost: bigint;
  /** r: the share of colluding watchers assumed (for the deterrence report). */
  readonly collusion: number;
}

export class Watcher extends ChainWorker {
  private readonly models = new Map<bigint, WatchedModel | WatchedGraphModel>();
  private readonly traces = new Map<string, TraceProvider | GraphTraceProvider>();
  private readonly checked = new Set<string>();
  private readonly counters;

  constructor(
    actor: ChainActor,
    private readonly options: WatcherOptions,
    metrics: Metrics,
  ) {
    super(actor, "challenger", ["game", "graphGame", "staking"], metrics);
    for (const m of options.models) this.models.set(m.modelId, m);
    this.counters = {
      seen: metrics.counter("results_seen_total", "Submitted results seen inside their window"),
      checked: metrics.counter("results_checked_total", "Results re-executed", ["verdict"]),
      challenges: metrics.counter("challenges_opened_total", "Dispute games opened"),
    };
  }

  /** The smallest sampling rate that deters cheating on a job with this fee and collateral (what a caught node surely loses: challenger/sampling.ts). */
  deterrence(fee: bigint, collateral: bigint): { pMin: number; p: number; deters: boolean } {
    const rewardBps = this.actor.deployment.parameters.challengerRewardBps;
    const pMin = minimumSamplingRate({ fee, collateral, rewardBps, computeCost: this.options.computeCost, collusion: this.options.collusion });
    return { pMin, p: this.options.samplingRate, deters: this.options.samplingRate > pMin };
  }

  status() {
    return { address: this.me, syncedTo: this.index.syncedTo, samplingRate: this.options.samplingRate, checked: this.checked.size, games: this.myGames() };
  }

  protected async work(now: bigint): Promise<void> {
    for (const job of [...this.index.jobs()]) {
      // A job that ended needs no trace again (a reopened one is re-executed if its next result is sampled).
      if (job.job.status >= JobStatus.Finalized) this.traces.delete(String(job.jobId));
      else await this.attempt(`job ${job.jobId}`, () => this.inspect(job, now));
    }
  }

  protected traceFor(state: GameState): TraceProvider {
    const indexed = this.index.job(state.jobId);
    const watched = this.models.get(state.job.modelId);
    if (!indexed || !watched || watched.kind === "graph") throw new Error(`a game on job ${state.jobId}, which this watcher cannot re-execute`);
    return this.reexecute(watched, indexed);
  }

  protected graphTraceFor(game: IndexedGame): GraphGameTrace {
    const indexed = this.index.job(game.jobId);
    const watched = game.job && this.models.get(game.job.modelId);
    if (!indexed || watched?.kind !== "graph") throw new Error(`a graph game on job ${game.jobId}, which this watcher cannot re-execute`);
    return gameTraceOf(this.reexecuteGraph(watched, indexed));
  }

  /** Samples and checks a submitted result inside its window; challenges it when its output is wrong. */
  private async inspect(indexed: IndexedJob, now: bigint): Promise<void> {
    const { jobId, job } = indexed;
    if (!mayChallenge(job, now)) return;
    const key = `${jobId}/${job.attempt}`;
    if (this.checked.has(key)) return;
    const watched = this.models.get(job.modelId);
    if (!watched) return;
    this.counters.seen.inc();
    if (!sampled(this.options.samplingSeed, jobId, job.attempt, this.options.samplingRate)) {
      this.checked.add(key);
      this.actor.log.debug("result not sampled", { jobId, attempt: job.attempt });
      return;
    }
    const correct =
      watched.kind === "graph"
        ? toHex(this.reexecuteGraph(watched, indexed).traceRoot) === job.traceRoot.toLowerCase()
        : ((trace) => toHex(trace.activationRoot(trace.layerCount).value) === job.outputRoot.toLowerCase())(this.reexecute(watched, indexed));
    if (correct) {
      this.checked.add(key);
      this.counters.checked.inc({ verdict: "correct" });
      this.actor.log.info("result checked: correct", { jobId, attempt: job.attempt, node: job.node });
      return;
    }
    // The Dense game and GraphDisputes have the same opening calls (gameIdOf, bondFor, challenge).
    const game = watched.kind === "graph" ? { address: this.actor.deployment.contracts.graphDisputes, abi: graphDisputesAbi } : { address: this.game, abi: disputeGameAbi };
    const gameId = (await this.actor.publicClient.readContract({ ...game, functionName: "gameIdOf", args: [jobId, Number(job.attempt), this.me] } as never)) as Hex;
    if (!this.index.game(gameId)) {
      const bond = (await this.actor.publicClient.readContract({ ...game, functionName: "bondFor", args: [job.modelId] } as never)) as bigint;
      await send(this.actor, { ...game, functionName: "challenge", args: [jobId, job], value: bond });
      this.counters.challenges.inc();
      this.actor.log.info("result checked: WRONG, dispute opened", { jobId, attempt: job.attempt, node: job.node, gameId, bond, ...this.deterrence(job.fee, job.collateral) });
    }
    this.checked.add(key);
    this.counters.checked.inc({ verdict: "wrong" });
  }

  /** Our own trace of a job on a Dense model, by re-execution with the reference executor (kept while the process runs). */
  private reexecute(watched: WatchedModel, indexed: IndexedJob): TraceProvider {
    return this.remembered(indexed, (input) => TraceProvider.fromInput(watched.model, watched.commitment, input)) as TraceProvider;
  }

  /** The same for a job on a graph program, committed as a graph trace. */
  private reexecuteGraph(watched: WatchedGraphModel, indexed: IndexedJob): GraphTraceProvider {
    return this.remembered(indexed, (input) => GraphTraceProvider.fromInput(watched.program, input, watched.commitment)) as GraphTraceProvider;
  }

  private remembered(indexed: IndexedJob, run: (input: Int8Array) => TraceProvider | GraphTraceProvider): TraceProvider | GraphTraceProvider {
    const key = String(indexed.jobId);
    let trace = this.traces.get(key);
    if (!trace) {
      const bytes = fromHex(indexed.input);
      trace = run(new Int8Array(bytes.buffer, bytes.byteOffset, bytes.length));
      this.traces.set(key, trace);
    }
    return trace;
  }

  private get game() {
    return this.actor.deployment.contracts.disputeGame;
  }
}
