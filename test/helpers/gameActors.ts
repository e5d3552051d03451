import { time } from "@nomicfoundation/hardhat-network-helpers";
import type { ContractTransactionResponse } from "ethers";
import type { HardhatEthersSigner } from "@nomicfoundation/hardhat-ethers/signers";
import { type GameState, Phase, type Role, moverOf, toGameState } from "../../core/dispute/gameState";
import { type DisputeTrace, type Move, type PlanContext, planMove } from "../../core/dispute/planner";
import type { DisputeGame } from "../../typechain-types";

type Hex = `0x${string}`;

/**
 * Actors for the dispute game tests: a side is a function from the game's state to its next move
 * (or null to wait). The honest side is the dispute kit's planner; a lying side is the planner on a
 * lying trace (test/helpers/lies.ts), with phase overrides for what a trace cannot express.
 */
export type Actor = (state: GameState, ctx: PlanContext) => Move | null;

/** The dispute kit's honest play of `role` from `trace`. */
export function honest(role: Role, trace: DisputeTrace): Actor {
  return (state, ctx) => planMove(state, role, trace, ctx);
}

/** A replacement of a side's move in one phase; `planned` gives the move the side would otherwise make. */
export type Override = (state: GameState, ctx: PlanContext, planned: () => Move | null) => Move | null;
/** Per-phase replacements of a side's moves. */
export type Overrides = { readonly [P in Phase]?: Override };

/** `role` playing `trace` through the planner, except where `overrides` say otherwise. */
export function scripted(role: Role, trace: DisputeTrace, overrides: Overrides): Actor {
  return (state, ctx) => {
    const override = overrides[state.phase];
    const mover = moverOf(state.phase);
    if (!override || (mover !== role && mover !== "anyone")) return planMove(state, role, trace, ctx);
    return override(state, ctx, () => planMove(state, role, trace, ctx));
  };
}

/** An override that makes one bad move, then refuses to move at all in that phase. */
export function once(bad: Override): Override {
  let used = false;
  return (state, ctx, planned) => {
    if (used) return null;
    used = true;
    return bad(state, ctx, planned);
  };
}

/** The side does not move in this phase. */
export const refuse = (): Move | null => null;

export interface Side {
  readonly signer: HardhatEthersSigner;
  readonly actor: Actor;
  /** Seconds the side waits before each of its moves (a slow player). */
  readonly delay?: number;
  /** Called with each move before it is sent (to probe variants of it). */
  readonly inspect?: (move: Move) => Promise<void>;
}

export interface Played {
  readonly moves: { readonly by: Role; readonly name: string; readonly gas: bigint }[];
  readonly reverts: { readonly by: Role; readonly name: string; readonly error: string }[];
  readonly state: GameState;
  /** The last transaction that moved the game (the one that resolved it). */
  readonly last?: ContractTransactionResponse;
}

const REVEALS = ["RootsRevealed", "NodesRevealed", "SumsPosted"] as const;

/** The values of the game's last reveal event (what a pick answers), or undefined before any. */
export async function lastRevealed(game: DisputeGame, gameId: string): Promise<Hex[] | bigint[] | undefined> {
  const logs = (await Promise.all(REVEALS.map((name) => game.queryFilter(game.filters[name](gameId))))).flat();
  if (logs.length === 0) return undefined;
  logs.sort((a, b) => a.blockNumber - b.blockNumber || a.index - b.index);
  const last = logs[logs.length - 1];
  // Every reveal event ends with its values.
  const args = [...(last.args as unknown as unknown[])];
  return [...(args[args.length - 1] as Iterable<unknown>)] as Hex[] | bigint[];
}

/** The custom error a failed call reverted with, by name, or its message. */
function revertName(game: DisputeGame, e: unknown): string {
  const data = (e as { data?: string }).data;
  try {
    if (data) return game.interface.parseError(data)?.name ?? String(e);
  } catch {
    // not one of the game's errors
  }
  return (e as Error).message;
}

/**
 * Plays a game to its end: each turn the side to move is asked first (the challenger first at the
 * step), then the other side (which may call timeout). When neither moves, time runs past a clock.
 */
export async function playGame(game: DisputeGame, gameId: string, asserter: Side, challenger: Side, maxTurns = 80): Promise<Played> {
  const clockBudget = await game.clockBudget();
  const moves: Played["moves"] = [];
  const reverts: Played["reverts"] = [];
  let last: ContractTransactionResponse | undefined;
  let stalls = 0;
  for (let turn = 0; turn < maxTurns; turn++) {
    const state = toGameState(await game.getGame(gameId));
    if (state.phase === Phase.Resolved) return { moves, reverts, state, last };
    const order: [Role, Side][] = moverOf(state.phase) === "asserter" ? [["asserter", asserter], ["challenger", challenger]] : [["challenger", challenger], ["asserter", asserter]];
    const picking = state.phase === Phase.PickRoots || state.phase === Phase.PickNode || state.phase === Phase.PickSums;
    const revealed = picking ? await lastRevealed(game, gameId) : undefined;
    let moved = false;
    for (const [role, side] of order) {
      const move = side.actor(state, { gameId: gameId as Hex, now: BigInt(await time.latest()), clockBudget, revealed });
      if (!move) continue;
      if (side.delay && move.functionName !== "timeout") await time.increase(side.delay);
      await side.inspect?.(move);
      try {
        const tx = await game.connect(side.signer).getFunction(move.functionName)(...move.args);
        const receipt = await tx.wait();
        moves.push({ by: role, name: move.functionName, gas: receipt!.gasUsed });
        last = tx;
        moved = true;
        break;
      } catch (e) {
        reverts.push({ by: role, name: move.functionName, error: revertName(game, e) });
      }
    }
    if (moved) {
      stalls = 0;
    } else {
      if (++stalls > 2) throw new Error(`the game is stuck in phase ${Phase[state.phase]}: nobody moves`);
      await time.increase(Number(clockBudget) + 1);
    }
  }
  throw new Error(`the game did not end in ${maxTurns} turns`);
}
