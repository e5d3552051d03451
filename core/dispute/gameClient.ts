import type { Account, Address, Chain, Hex, PublicClient, Transport, TransactionReceipt, WalletClient } from "viem";
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

/** Sends `move` to the DisputeGame at `game` and waits for its receipt; a revert throws. */
export async function sendMove(
  client: PublicClient,
  wallet: WalletClient<Transport, Chain, Account>,
  game: Address,
  move: Move,
): Promise<TransactionReceipt> {
  const { request } = await client.simulateContract({
    address: game,
    abi: disputeGameAbi,
    functionName: move.functionName,
    args: move.args as never,
    account: wallet.account,
  });
  const hash = await wallet.writeContract(request);
  const receipt = await client.waitForTransactionReceipt({ hash });
  if (receipt.status !== "success") throw new Error(`${move.functionName} reverted in transaction ${hash}`);
  return receipt;
}
