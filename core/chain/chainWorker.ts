import type { Address, Hex } from "viem";
import { disputeGameAbi, graphDisputeGameAbi, graphDisputesAbi } from "../abi";
import { playTurn } from "../dispute/gameClient";
import { type GameState, Phase, Reason, type Role } from "../dispute/gameState";
import type { DisputeTrace } from "../dispute/planner";
import { nextGraphMove, readGraphGame } from "../graph/game/gameClient";
import { GraphPhase, GraphReason } from "../graph/game/gameState";
import type { GraphGameTrace } from "../graph/game/gameTrace";
import { NOT_DUE_ERRORS } from "../jobState";
import type { Metrics } from "../service/metrics";
import { type ChainActor, type CreditHolder, addressOf, send, withdrawCredits } from "./actor";
import { ChainIndex, type IndexedGame } from "./chainIndex";
import { ChainClock } from "./chainTime";
import { RefuteContractError, decodeError, innermostReason } from "./contractError";

/** A contract call, as core/chain/actor.ts `send` takes it. */
export interface TimedCall {
  readonly address: Address;
  readonly abi: readonly unknown[];
  readonly functionName: string;
  readonly args?: readonly unknown[];
  readonly value?: bigint;
}

/**
 * What the node operator and the watcher share, one `tick` at a time: fold the chain's new logs into
 * the index, let the daemon do its own work, play one move in every open game it is a party to (as
 * the asserter or the challenger; a graph game on GraphDisputeGame, settled through GraphDisputes by
 * its winner once the game has its verdict), report games that ended, claim the reward of every game
 * it won as the challenger once its attempt settled, withdraw what it is owed. An action that
 * fails is logged and tried again on the next tick. Nothing is kept on disk: a restarted daemon
 * rebuilds the index from the deployment block and its traces by re-execution, and plays on.
 *
 * Time: every decision that depends on the clock (a window has ended, a deadline has not passed, a
 * player's clock ran out) is judged by the time a transaction sent now would see (core/jobState.ts
 * nextBlockTime, read by core/chain/chainTime.ts): the latest block's time + 1, this machine's clock
 * or the pending block's time, whichever is latest. A chain that mines only when a transaction
 * arrives (plain `npx hardhat node`) stamps its next block with the time it mines it however old its
 * latest block is; judged by the latest block alone, a result there would never be finalised. An
 * action that waits for a time (finalise, time out) is sent with {@link sendWhenDue}: simulated
 * against the pending block first, and quietly left for the next tick while the chain's clock has
 * not got there (a wall clock a little ahead of the chain costs an eth_call, never gas).
 */
export abstract class ChainWorker {
  readonly index: ChainIndex;
  protected readonly me: Address;
  /** The time a transaction sent now would see. */
  protected readonly clock: ChainClock;
  private readonly shared;

  constructor(
    protected readonly actor: ChainActor,
    private readonly role: Role,
    private readonly creditHolders: readonly CreditHolder[],
    metrics: Metrics,
  ) {
    const { contracts, startBlock } = actor.deployment;
    this.index = new ChainIndex(actor.publicClient, contracts, startBlock);
    this.me = addressOf(actor);
    this.clock = new ChainClock(actor.publicClient);
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
    await this.work(await this.clock.now());
    for (const game of [...this.index.games()]) {
      if (game.resolved || !this.isParty(game)) continue;
      if (game.kind === "dense") await this.attempt(`game ${game.gameId}`, () => this.play(game.gameId, game.startBlock));
      else if (!game.verdict) await this.attempt(`game ${game.gameId}`, () => this.playGraph(game));
      else if (this.role === "asserter" ? game.verdict.asserterWon : !game.verdict.asserterWon) await this.attempt(`settle ${game.gameId}`, () => this.settle(game));
    }
    if (this.role === "challenger") {
      for (const game of [...this.index.games()]) {
        if (game.asserterWon !== false || game.rewardClaimed || !this.isParty(game) || !this.index.attemptSettled(game.jobId, game.attempt)) continue;
        await this.attempt(`claim ${game.gameId}`, () => this.claimReward(game));
      }
    }
    await this.attempt("withdraw", () => this.withdraw());
  }

  /**
   * The daemon's own work in a tick (jobs to serve or results to check); `now` is the time a
   * transaction sent now would see (core/jobState.ts nextBlockTime).
   */
  protected abstract work(now: bigint): Promise<void>;

  /** The trace this daemon plays a game on `state`'s job from. */
  protected abstract traceFor(state: GameState): DisputeTrace | Promise<DisputeTrace>;

  /** The run this daemon plays a graph game on `game`'s job from (the attempt's, as submitted or re-executed). */
  protected abstract graphTraceFor(game: IndexedGame): GraphGameTrace | Promise<GraphGameTrace>;

  /** The games this account is a party to, for a status endpoint. */
  protected myGames() {
    return [...this.index.games()].filter((g) => this.isParty(g)).map((g) => ({ ...g, won: g.resolved ? this.won(g) : undefined, reason: reasonName(g) }));
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
    this.actor.log.info(msg, { gameId: g.gameId, jobId: g.jobId, node: g.node, challenger: g.challenger, reason: reasonName(g) });
  }

  /**
   * Sends a call that waits for a time (JobMarket.finalize, reclaimJob, expireJob, DisputeGame.timeout)
   * once the chain agrees it is due: simulated and estimated against the pending block (on a chain
   * that mines on demand, the block the transaction will be in), so a try before the chain's clock
   * has got there reverts in the simulation, costs no gas and returns undefined (logged at debug
   * level only: a wall clock a second ahead of the chain's is normal). Any other revert throws a
   * RefuteContractError, as core/chain/actor.ts `send` does. An RPC that cannot simulate against
   * the pending block gets the plain `send` (simulated against the latest block).
   */
  protected async sendWhenDue(call: TimedCall): Promise<{ hash: Hex; gasUsed: bigint } | undefined> {
    const { publicClient, walletClient } = this.actor;
    const account = walletClient.account;
    const notDue = (e: unknown): e is RefuteContractError => e instanceof RefuteContractError && NOT_DUE_ERRORS.has(e.errorName);
    const later = (e: RefuteContractError) => {
      this.actor.log.debug("not due yet by the chain's clock; will try again", { action: call.functionName, error: e.message });
      return undefined;
    };
    let gas: bigint;
    try {
      await publicClient.simulateContract({ ...call, account, blockTag: "pending" } as never);
      gas = await publicClient.estimateContractGas({ ...call, account, blockTag: "pending" } as never);
    } catch (e) {
      const decoded = decodeError(e);
      if (notDue(decoded)) return later(decoded);
      if (decoded instanceof RefuteContractError) throw decoded;
      this.actor.log.debug("cannot simulate against the pending block; simulating against the latest", { action: call.functionName, error: innermostReason(e) });
      try {
        return await send(this.actor, call);
      } catch (e2) {
        if (notDue(e2)) return later(e2);
        throw e2;
      }
    }
    let hash: Hex;
    try {
      hash = await walletClient.writeContract({ ...call, account, gas } as never);
    } catch (e) {
      const decoded = decodeError(e);
      if (decoded instanceof RefuteContractError) throw decoded;
      throw new Error(`${call.functionName} from ${this.me} was not sent: ${innermostReason(e)}`, { cause: e });
    }
    const receipt = await publicClient.waitForTransactionReceipt({ hash });
    if (receipt.status !== "success") throw new Error(`${call.functionName} reverted in ${hash}`);
    return { hash, gasUsed: receipt.gasUsed };
  }

  /** One turn in a game, planned with the time a transaction sent now would see; a timeout is sent only when due. */
  private async play(gameId: Hex, startBlock: bigint): Promise<void> {
    const turn = await playTurn(this.actor, gameId, startBlock, this.role, (state) => this.traceFor(state), {
      now: await this.clock.now(),
      send: (call) => (call.functionName === "timeout" ? this.sendWhenDue(call) : send(this.actor, call)),
    });
    if (!turn.move) return;
    const { jobId, phase } = turn.before.state;
    this.shared.moves.inc({ move: turn.move.functionName });
    this.actor.log.info("dispute move", { gameId, jobId, phase: Phase[phase], move: turn.move.functionName, gasUsed: turn.gasUsed });
  }

  /**
   * One turn in a graph game (GraphDisputeGame), planned with the time a transaction sent now would see; a
   * timeout is sent only when due. Both sides may run the step (the planner has the asserter do so when it
   * holds); whoever is second finds the game resolved.
   */
  private async playGraph(game: IndexedGame): Promise<void> {
    const address = this.actor.deployment.contracts.graphDisputeGame;
    const view = await readGraphGame(this.actor.publicClient, address, game.gameId, game.startBlock);
    if (view.state.phase === GraphPhase.Resolved) return; // its verdict arrives with the logs
    const move = nextGraphMove({ ...view, now: await this.clock.now() }, this.role, await this.graphTraceFor(game));
    if (!move) return;
    const call = { address, abi: graphDisputeGameAbi, functionName: move.functionName, args: move.args };
    const sent = move.functionName === "timeout" ? await this.sendWhenDue(call) : await send(this.actor, call);
    if (!sent) return;
    this.shared.moves.inc({ move: move.functionName });
    this.actor.log.info("dispute move", { gameId: game.gameId, jobId: game.jobId, phase: GraphPhase[view.state.phase], move: move.functionName, gasUsed: sent.gasUsed });
  }

  /** Applies a graph game's verdict through GraphDisputes (its winner does: the bond, and the fee or the reward, wait on it). */
  private async settle(game: IndexedGame): Promise<void> {
    const { gasUsed } = await send(this.actor, { address: this.actor.deployment.contracts.graphDisputes, abi: graphDisputesAbi, functionName: "settle", args: [game.gameId, game.job!] as never });
    this.actor.log.info("settled dispute", { gameId: game.gameId, jobId: game.jobId, asserterWon: game.verdict?.asserterWon, gasUsed });
  }

  private async claimReward(game: IndexedGame): Promise<void> {
    const { disputeGame, graphDisputes } = this.actor.deployment.contracts;
    const call = game.kind === "dense" ? { address: disputeGame, abi: disputeGameAbi } : { address: graphDisputes, abi: graphDisputesAbi };
    const { gasUsed } = await send(this.actor, { ...call, functionName: "claimReward", args: [game.gameId] } as never);
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

/** Why a game ended, by name (each game kind has its own reasons). */
function reasonName(g: IndexedGame): string | undefined {
  if (g.reason === undefined) return undefined;
  return g.kind === "dense" ? Reason[g.reason] : GraphReason[g.reason];
}
