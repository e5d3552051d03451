import type { Address, Hex, PublicClient } from "viem";
import { type ChainActor, send } from "../chain/actor";
import { disputeGameAbi } from "../abi";
import { type GameState, Phase, type Role, toGameState } from "./gameState";
import { type DisputeTrace, type Move, planMove } from "./planner";

/**
 * The dispute game on a chain, through viem: read a game (its state and the values of its last
 * reveal), plan one's next move with the dispute kit's planner, send it. The node, the watcher
 * and the benchmarks play games with these three functions; they keep nothing between calls.
 */

const PICKS = new Set([Phase.PickRoots, Phase.PickNode, Phase.PickSums]);
const REVEALS = ["RootsRevealed", "NodesRevealed", "SumsPosted"] as const;

export interface GameView {
  readonly gameId: Hex;
  readonly state: GameState;
  /** The values of the last reveal when the game waits for a pick. */
  readonly revealed?: readonly Hex[] | readonly bigint[];
  /** The latest block's timestamp. */
  readonly now: bigint;
}

/** Reads game `gameId` of the DisputeGame at `game`; `fromBlock` bounds the log search (the game's start). */
export async function readGame(client: PublicClient, game: Address, gameId: Hex, fromBlock: bigint = 0n): Promise<GameView> {
  const [raw, block] = await Promise.all([client.readContract({ address: game, abi: disputeGameAbi, functionName: "getGame", args: [gameId] }), client.getBlock()]);
  const state = toGameState(raw);
  if (!PICKS.has(state.phase)) return { gameId, state, now: block.timestamp };
  const logs = (
    await Promise.all(REVEALS.map((eventName) => client.getContractEvents({ address: game, abi: disputeGameAbi, eventName, args: { gameId }, fromBlock, toBlock: block.number })))
  ).flat();
  if (logs.length === 0) return { gameId, state, now: block.timestamp };
  logs.sort((a, b) => (a.blockNumber === b.blockNumber ? a.logIndex - b.logIndex : a.blockNumber < b.blockNumber ? -1 : 1));
  const last = logs[logs.length - 1];
  const args = last.args as { roots?: readonly Hex[]; nodes?: readonly Hex[]; sums?: readonly bigint[] };
  return { gameId, state, revealed: args.roots ?? args.nodes ?? args.sums, now: block.timestamp };
}

/** The next honest move of `role` in the game read as `view`, or null (see planMove). */
export function nextMove(view: GameView, role: Role, trace: DisputeTrace, clockBudget: bigint): Move | null {
  return planMove(view.state, role, trace, { gameId: view.gameId, now: view.now, clockBudget, revealed: view.revealed });
}

/** One turn of `role` in a game: what it saw, the move it made (if any) and how the game stands after. */
export interface Turn {
  readonly before: GameView;
  readonly move?: Move;
  readonly gasUsed?: bigint;
  /** The state after the move (only when a move was made). */
  readonly after?: GameState;
}

/** A contract call of a move, as core/chain/actor.ts `send` takes it. */
export interface MoveCall {
  readonly address: Hex;
  readonly abi: typeof disputeGameAbi;
  readonly functionName: Move["functionName"];
  readonly args: Move["args"];
}

export interface TurnOptions {
  /** The time to plan with (default: the latest block's, as readGame reads it). */
  readonly now?: bigint;
  /** Sends the move; undefined means it was not sent (not due yet). Default: core/chain/actor.ts `send`. */
  readonly send?: (call: MoveCall) => Promise<{ gasUsed: bigint } | undefined>;
}

/**
 * Reads the game, plans `role`'s next move from the trace `traceOf` gives for the game's job, and
 * sends it (simulated first, so a move the contract would refuse throws without spending gas).
 */
export async function playTurn(
  actor: ChainActor,
  gameId: Hex,
  startBlock: bigint,
  role: Role,
  traceOf: (state: GameState) => DisputeTrace | Promise<DisputeTrace>,
  options: TurnOptions = {},
): Promise<Turn> {
  const game = actor.deployment.contracts.disputeGame;
  const before = await readGame(actor.publicClient, game, gameId, startBlock);
  if (before.state.phase === Phase.Resolved) return { before };
  const move = nextMove(options.now === undefined ? before : { ...before, now: options.now }, role, await traceOf(before.state), actor.deployment.parameters.clockBudget);
  if (!move) return { before };
  const call: MoveCall = { address: game, abi: disputeGameAbi, functionName: move.functionName, args: move.args };
  const sent = await (options.send ?? ((c: MoveCall) => send(actor, c)))(call);
  if (!sent) return { before };
  const raw = await actor.publicClient.readContract({ address: game, abi: disputeGameAbi, functionName: "getGame", args: [gameId] });
  return { before, move, gasUsed: sent.gasUsed, after: toGameState(raw) };
}
