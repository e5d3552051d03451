import type { Address, Hex } from "viem";
import { disputeGameAbi } from "../abi";
import { playTurn } from "../dispute/gameClient";
import { type GameState, Phase, Reason, type Role } from "../dispute/gameState";
import type { DisputeTrace } from "../dispute/planner";
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
 * the asserter or the challenger), report games that ended, claim the reward of every game it won as
 * the challenger once its attempt settled, withdraw what it is owed. An action that
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
    this.index = new ChainIndex(actor.publicClient, contracts.jobMarket, contracts.disputeGame, startBlock);
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

  /**
   * The daemon's own work in a tick (jobs to serve or results to check); `now` is the time a
   * transaction sent now would see (core/jobState.ts nextBlockTime).
   */
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
