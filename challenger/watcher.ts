import type { Hex } from "viem";
import { disputeGameAbi } from "../core/abi";
import { fromHex, toHex } from "../core/bytes";
import { type ChainActor, addressOf, send, withdrawCredits } from "../core/chain/actor";
import { ChainIndex, type IndexedJob } from "../core/chain/chainIndex";
import type { ModelCommitment } from "../core/commitments";
import { playTurn } from "../core/dispute/gameClient";
import { Phase, Reason } from "../core/dispute/gameState";
import { JobStatus } from "../core/jobState";
import type { IntegerModel } from "../core/model";
import type { Metrics } from "../core/service/metrics";
import { TraceProvider } from "../core/traceProvider";
import { minimumSamplingRate, sampled } from "./sampling";

/**
 * The watcher's work, one `tick` at a time: fold the chain's new logs, sample submitted results inside
 * their challenge windows at rate p, re-execute them, open a dispute when the output differs, play
 * every game it opened to the end with the planner, and withdraw its bonds and rewards. Like the node
 * it keeps nothing: after a restart the index is rebuilt and the traces re-executed.
 */

export interface WatchedModel {
  readonly modelId: bigint;
  readonly model: IntegerModel;
  readonly commitment: ModelCommitment;
}

export interface WatcherOptions {
  readonly models: readonly WatchedModel[];
  /** p: the share of results re-executed. */
  readonly samplingRate: number;
  /** The watcher's secret for its sampling draws. */
  readonly samplingSeed: string;
  /** C, wei: what a node saves by skipping one inference (for the deterrence report). */
  readonly computeCost: bigint;
  /** r: the share of colluding watchers assumed (for the deterrence report). */
  readonly collusion: number;
}

export class Watcher {
  readonly index: ChainIndex;
  private readonly me: Hex;
  private readonly models = new Map<bigint, WatchedModel>();
  private readonly traces = new Map<string, TraceProvider>();
  private readonly checked = new Set<string>();
  private readonly counters;

  constructor(
    private readonly actor: ChainActor,
    private readonly options: WatcherOptions,
    metrics: Metrics,
  ) {
    const { contracts, startBlock } = actor.deployment;
    this.index = new ChainIndex(actor.publicClient, contracts.jobMarket, contracts.disputeGame, startBlock);
    this.me = addressOf(actor);
    for (const m of options.models) this.models.set(m.modelId, m);
    this.counters = {
      seen: metrics.counter("results_seen_total", "Submitted results seen inside their window"),
      checked: metrics.counter("results_checked_total", "Results re-executed", ["verdict"]),
      challenges: metrics.counter("challenges_opened_total", "Dispute games opened"),
      moves: metrics.counter("dispute_moves_total", "Dispute game moves made", ["move"]),
      games: metrics.counter("games_resolved_total", "Games this watcher opened that ended", ["won"]),
      errors: metrics.counter("action_errors_total", "Actions that failed (retried on a later tick)", ["action"]),
      withdrawn: metrics.counter("withdrawn_wei_total", "Wei withdrawn from the game and staking"),
      synced: metrics.gauge("synced_block", "Last block folded into the index"),
    };
  }

  async tick(): Promise<void> {
    const first = this.index.syncedTo < this.actor.deployment.startBlock;
    await this.index.sync();
    this.counters.synced.set(Number(this.index.syncedTo));
    for (const g of this.index.takeResolved()) {
      // Games that ended before this process started were reported by the one before it.
      if (first || g.challenger.toLowerCase() !== this.me.toLowerCase()) continue;
      const won = !g.asserterWon;
      this.counters.games.inc({ won: String(won) });
      this.actor.log.info(won ? "won dispute: node slashed" : "lost dispute", { gameId: g.gameId, jobId: g.jobId, node: g.node, reason: Reason[g.reason ?? 0], slashed: g.resultRejected });
    }
    const now = (await this.actor.publicClient.getBlock()).timestamp;
    for (const job of [...this.index.jobs()]) await this.attempt(`job ${job.jobId}`, () => this.inspect(job, now));
    for (const game of [...this.index.games()]) {
      if (game.challenger.toLowerCase() !== this.me.toLowerCase() || game.resolved) continue;
      await this.attempt(`game ${game.gameId}`, () => this.play(game.gameId, game.startBlock));
    }
    await this.attempt("withdraw", () => this.withdrawAll());
  }

  /** The smallest sampling rate that deters cheating on a job with this fee and collateral. */
  deterrence(fee: bigint, collateral: bigint): { pMin: number; p: number; deters: boolean } {
    const pMin = minimumSamplingRate({ fee, collateral, computeCost: this.options.computeCost, collusion: this.options.collusion });
    return { pMin, p: this.options.samplingRate, deters: this.options.samplingRate > pMin };
  }

  status() {
    return {
      address: this.me,
      syncedTo: this.index.syncedTo,
      samplingRate: this.options.samplingRate,
      checked: this.checked.size,
      games: [...this.index.games()]
        .filter((g) => g.challenger.toLowerCase() === this.me.toLowerCase())
        .map((g) => ({ gameId: g.gameId, jobId: g.jobId, node: g.node, resolved: g.resolved, won: g.resolved ? !g.asserterWon : undefined, reason: g.reason === undefined ? undefined : Reason[g.reason] })),
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

  /** Samples and checks a submitted result inside its window; challenges it when its output is wrong. */
  private async inspect(indexed: IndexedJob, now: bigint): Promise<void> {
    const { jobId, job } = indexed;
    if (job.status !== JobStatus.Submitted || job.deadline < now) return;
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
    const trace = this.traceFor(watched, indexed);
    const ours = toHex(trace.activationRoot(trace.layerCount).value);
    if (ours === job.outputRoot.toLowerCase()) {
      this.checked.add(key);
      this.counters.checked.inc({ verdict: "correct" });
      this.actor.log.info("result checked: correct", { jobId, attempt: job.attempt, node: job.node });
      return;
    }
    const gameId = await this.actor.publicClient.readContract({ address: this.game, abi: disputeGameAbi, functionName: "gameIdOf", args: [jobId, Number(job.attempt), this.me] });
    if (!this.index.game(gameId)) {
      const bond = this.actor.deployment.parameters.challengerBond;
      await send(this.actor, { address: this.game, abi: disputeGameAbi, functionName: "challenge", args: [jobId, job], value: bond });
      this.counters.challenges.inc();
      this.actor.log.info("result checked: WRONG, dispute opened", { jobId, attempt: job.attempt, node: job.node, gameId, bond, ...this.deterrence(job.fee, job.collateral) });
    }
    this.checked.add(key);
    this.counters.checked.inc({ verdict: "wrong" });
  }

  private async play(gameId: Hex, startBlock: bigint): Promise<void> {
    const turn = await playTurn(this.actor, gameId, startBlock, "challenger", (state) => {
      const indexed = this.index.job(state.jobId);
      const watched = this.models.get(state.job.modelId);
      if (!indexed || !watched) throw new Error(`game ${gameId} is on job ${state.jobId}, which this watcher cannot re-execute`);
      return this.traceFor(watched, indexed);
    });
    if (!turn.move) return;
    const { jobId, phase } = turn.before.state;
    this.counters.moves.inc({ move: turn.move.functionName });
    this.actor.log.info("dispute move", { gameId, jobId, phase: Phase[phase], move: turn.move.functionName, gasUsed: turn.gasUsed });
  }

  private async withdrawAll(): Promise<void> {
    for (const { from, wei } of await withdrawCredits(this.actor, ["game", "staking"])) {
      this.counters.withdrawn.inc(undefined, Number(wei));
      this.actor.log.info("withdrew credit", { from, wei });
    }
  }

  /** Our own trace of a job, by re-execution with the reference executor (kept while the process runs). */
  private traceFor(watched: WatchedModel, indexed: IndexedJob): TraceProvider {
    const key = String(indexed.jobId);
    let trace = this.traces.get(key);
    if (!trace) {
      const bytes = fromHex(indexed.input);
      trace = TraceProvider.fromInput(watched.model, watched.commitment, new Int8Array(bytes.buffer, bytes.byteOffset, bytes.length));
      this.traces.set(key, trace);
    }
    return trace;
  }

  private get game() {
    return this.actor.deployment.contracts.disputeGame;
  }
}
