import type { Address, Hex } from "viem";
import { disputeGameAbi } from "../abi";
import { playTurn } from "../dispute/gameClient";
import { type GameState, Phase, Reason, type Role } from "../dispute/gameState";
import type { DisputeTrace } from "../dispute/planner";
import type { Metrics } from "../service/metrics";
import { type ChainActor, type CreditHolder, addressOf, send, withdrawCredits } from "./actor";
import { ChainIndex, type IndexedGame } from "./chainIndex";

/**
 * What the node operator and the watcher share, one `tick` at a time: fold the chain's new logs into
 * the index, let the daemon do its own work, play one move in every open game it is a party to (as
 * the asserter or the challenger), report games that ended, claim the reward of every game it won as
 * the challenger once its attempt settled, withdraw what it is owed. An action that
 * fails is logged and tried again on the next tick. Nothing is kept on disk: a restarted daemon
 * rebuilds the index from the deployment block and its traces by re-execution, and plays on.
 */
export abstract class ChainWorker {
  readonly index: ChainIndex;
  protected readonly me: Address;
  private readonly shared;

  constructor(
    protected readonly actor: ChainActor,
    private readonly role: Role,
    private readonly creditHolders: readonly CreditHolder[],
    metrics: Metrics,
  ) {
    const { contracts, startBlock } = actor.deployment;
    this.index = new ChainIndex(actor.publicClient, contracts.jobMarket, contracts.disputeGame, startBlock);
    this.me = addressOf(actor);
    this.shared = {
      moves: metrics.counter("dispute_moves_total", "Dispute game moves made", ["move"]),
      games: metrics.counter("games_resolved_total", "Games this account was a party to that ended", ["won"]),
      errors: metrics.counter("action_errors_total", "Actions that failed (retried on a later tick)", ["action"]),
      withdrawn: metrics.counter("withdrawn_wei_total", "Wei withdrawn from the contracts that owed it"),
      rewards: metrics.counter("rewards_claimed_total", "Reward shares claimed for games won as the challenger"),
      synced: metrics.gauge("synced_block", "Last block folded into the index"),
    };
  }

  /** One round of work. */
  async tick(): Promise<void> {
    const first = this.index.syncedTo < this.actor.deployment.startBlock;
    await this.index.sync();
    this.shared.synced.set(Number(this.index.syncedTo));
    // Games that ended before this process started were reported by the one before it.
    for (const g of this.index.takeResolved()) if (!first && this.isParty(g)) this.reportResolved(g);
    const now = (await this.actor.publicClient.getBlock()).timestamp;
    await this.work(now);
    for (const game of [...this.index.games()]) {
      if (game.resolved || !this.isParty(game)) continue;
      await this.attempt(`game ${game.gameId}`, () => this.play(game.gameId, game.startBlock));
    }
    if (this.role === "challenger") {
      for (const game of [...this.index.games()]) {
        if (game.asserterWon !== false || game.rewardClaimed || !this.isParty(game) || !this.index.attemptSettled(game.jobId, game.attempt)) continue;
        await this.attempt(`claim ${game.gameId}`, () => this.claimReward(game));
      }
    }
    await this.attempt("withdraw", () => this.withdraw());
  }

  /** The daemon's own work in a tick (jobs to serve or results to check). */
  protected abstract work(now: bigint): Promise<void>;

  /** The trace this daemon plays a game on `state`'s job from. */
  protected abstract traceFor(state: GameState): DisputeTrace | Promise<DisputeTrace>;

  /** The games this account is a party to, for a status endpoint. */
  protected myGames() {
    return [...this.index.games()].filter((g) => this.isParty(g)).map((g) => ({ ...g, won: g.resolved ? this.won(g) : undefined, reason: g.reason === undefined ? undefined : Reason[g.reason] }));
  }

  protected isMe(address: Hex): boolean {
    return address.toLowerCase() === this.me.toLowerCase();
  }

  /** Runs an action; a failure is counted and logged, and the action is tried again next tick. */
  protected async attempt(action: string, run: () => Promise<void>): Promise<void> {
    try {
      await run();
    } catch (e) {
      this.shared.errors.inc({ action: action.split(" ")[0] });
      this.actor.log.warn("action failed; will retry", { action, error: e });
    }
  }

  private isParty(g: IndexedGame): boolean {
    return this.isMe(this.role === "asserter" ? g.node : g.challenger);
  }

  private won(g: IndexedGame): boolean {
    return this.role === "asserter" ? g.asserterWon === true : g.asserterWon === false;
  }

  private reportResolved(g: IndexedGame): void {
    const won = this.won(g);
    this.shared.games.inc({ won: String(won) });
    const msg = this.role === "asserter" ? (won ? "won dispute" : "lost dispute") : won ? (g.resultRejected ? "won dispute: node slashed" : "won dispute: result already rejected") : "lost dispute";
    this.actor.log.info(msg, { gameId: g.gameId, jobId: g.jobId, node: g.node, challenger: g.challenger, reason: Reason[g.reason ?? 0] });
  }

  private async play(gameId: Hex, startBlock: bigint): Promise<void> {
    const turn = await playTurn(this.actor, gameId, startBlock, this.role, (state) => this.traceFor(state));
    if (!turn.move) return;
    const { jobId, phase } = turn.before.state;
    this.shared.moves.inc({ move: turn.move.functionName });
    this.actor.log.info("dispute move", { gameId, jobId, phase: Phase[phase], move: turn.move.functionName, gasUsed: turn.gasUsed });
  }

  private async claimReward(game: IndexedGame): Promise<void> {
    const { gasUsed } = await send(this.actor, { address: this.actor.deployment.contracts.disputeGame, abi: disputeGameAbi, functionName: "claimReward", args: [game.gameId] });
    this.shared.rewards.inc();
    this.actor.log.info("claimed reward", { gameId: game.gameId, jobId: game.jobId, attempt: game.attempt, gasUsed });
  }

  private async withdraw(): Promise<void> {
    for (const { from, wei } of await withdrawCredits(this.actor, this.creditHolders)) {
      this.shared.withdrawn.inc(undefined, Number(wei));
      this.actor.log.info("withdrew credit", { from, wei });
    }
  }
}
