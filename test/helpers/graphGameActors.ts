import { ethers } from "hardhat";
import { time } from "@nomicfoundation/hardhat-network-helpers";
import type { HardhatEthersSigner } from "@nomicfoundation/hardhat-ethers/signers";
import type { GraphDisputeGame, GraphStepRunner, StepRouter } from "../../typechain-types";
import { toHex } from "../../core/bytes";
import { OP_CODES, type OpKind } from "../../core/graph/program";
import { GraphPhase, type GraphGameState, type Role, moverOf, toGraphGameState } from "../../core/graph/game/gameState";
import type { GraphGameTrace } from "../../core/graph/game/gameTrace";
import { type GraphMove, type GraphPlanContext, planGraphMove } from "../../core/graph/game/planner";

type Hex = `0x${string}`;

/**
 * The ethers-side driver of the graph dispute game for tests: deployment (the three step verifiers,
 * the StepRouter, the GraphStepRunner and the game), opening a game on a run, and actors that play
 * it. A side is a function from the game's state to its next move (or null to wait): the honest one
 * is the planner (core/graph/game/planner.ts), a lying one the planner on a lying run
 * (core/graph/game/lies.ts), with per-phase overrides for choices a run cannot express.
 */
export type GraphActor = (state: GraphGameState, ctx: GraphPlanContext) => GraphMove | null;

/** The planner's honest play of `role` from `trace`. */
export function honestGraph(role: Role, trace: GraphGameTrace): GraphActor {
  return (state, ctx) => planGraphMove(state, role, trace, ctx);
}

/** A replacement of a side's move in one phase; `planned` gives the move the side would otherwise make. */
export type GraphOverride = (state: GraphGameState, ctx: GraphPlanContext, planned: () => GraphMove | null) => GraphMove | null;
/** Per-phase replacements of a side's moves. */
export type GraphOverrides = { readonly [P in GraphPhase]?: GraphOverride };

/** `role` playing `trace` through the planner, except where `overrides` say otherwise. */
export function scriptedGraph(role: Role, trace: GraphGameTrace, overrides: GraphOverrides): GraphActor {
  return (state, ctx) => {
    const override = overrides[state.phase];
    const mover = moverOf(state.phase);
    if (!override || (mover !== role && mover !== "anyone")) return planGraphMove(state, role, trace, ctx);
    return override(state, ctx, () => planGraphMove(state, role, trace, ctx));
  };
}

/** The side does not move in this phase. */
export const refuseGraph = (): GraphMove | null => null;

export interface GraphSide {
  readonly signer: HardhatEthersSigner;
  readonly actor: GraphActor;
  /** Seconds the side waits before each of its moves (a slow player). */
  readonly delay?: number;
}

export interface GraphPlayed {
  readonly moves: { readonly by: Role; readonly name: string; readonly gas: bigint }[];
  readonly reverts: { readonly by: Role; readonly name: string; readonly error: string }[];
  readonly state: GraphGameState;
  /** The values of the last reveal (what a pick answers). */
  readonly revealed?: Hex[] | bigint[];
  /** What the step computed and what it was compared with (its StepRun event), once stepped. */
  readonly stepped?: { readonly computed: bigint; readonly claimed: bigint };
}

export interface GraphGameDeployment {
  readonly game: GraphDisputeGame;
  readonly runner: GraphStepRunner;
  readonly router: StepRouter;
}

const COMPUTING_KINDS = ["dense", "conv", "maxPool", "avgPool", "globalAvgPool", "add", "mul", "clamp", "table"] as const satisfies readonly OpKind[];

/** The verifiers, a StepRouter listing every computing op, the runner and the game. */
export async function deployGraphGame(): Promise<GraphGameDeployment> {
  const deploy = async (name: string, ...args: unknown[]) => {
    const c = await (await ethers.getContractFactory(name)).deploy(...args);
    await c.waitForDeployment();
    return c;
  };
  const mac = await deploy("MacStepVerifier");
  const pool = await deploy("PoolStepVerifier");
  const elementwise = await deploy("ElementwiseStepVerifier");
  const verifierOf = (k: OpKind) => (k === "dense" || k === "conv" ? mac : k === "maxPool" || k === "avgPool" || k === "globalAvgPool" ? pool : elementwise);
  const router = (await deploy("StepRouter", COMPUTING_KINDS.map((k) => OP_CODES[k]), await Promise.all(COMPUTING_KINDS.map((k) => verifierOf(k).getAddress())))) as unknown as StepRouter;
  const runner = (await deploy("GraphStepRunner", await router.getAddress())) as unknown as GraphStepRunner;
  const game = (await deploy("GraphDisputeGame", await runner.getAddress())) as unknown as GraphDisputeGame;
  return { game, runner, router };
}

/** GraphDisputeGame.Claim of the run `claimed` (the asserter's). */
export function claimOf(claimed: GraphGameTrace) {
  return {
    modelRoot: toHex(claimed.model.root),
    opCount: BigInt(claimed.program.ops.length),
    leafCount: BigInt(claimed.leafCount),
    inputRoot: toHex(claimed.inputRoot),
    traceRoot: toHex(claimed.traceRoot),
  };
}

/** Opens a game on `claimed` from `opener` under `key`; returns its id and the opening's gas. */
export async function openGraphGame(
  game: GraphDisputeGame,
  opener: HardhatEthersSigner,
  key: string,
  claimed: GraphGameTrace,
  asserter: HardhatEthersSigner,
  challenger: HardhatEthersSigner,
  clockBudget: bigint,
): Promise<{ gameId: Hex; gas: bigint }> {
  const keyWord = ethers.id(key);
  const receipt = await (await game.connect(opener).open(keyWord, claimOf(claimed), asserter.address, challenger.address, clockBudget)).wait();
  return { gameId: (await game.gameIdOf(opener.address, keyWord)) as Hex, gas: receipt!.gasUsed };
}

const REVEALS = new Set(["PrefixesRevealed", "NodesRevealed", "FoldsPosted"]);

/** The custom error a failed call reverted with, by name, or its message. */
export function revertName(game: GraphDisputeGame, e: unknown, others: readonly { interface: GraphDisputeGame["interface"] | GraphStepRunner["interface"] }[] = []): string {
  const data = (e as { data?: string }).data;
  for (const c of [game, ...others]) {
    try {
      const parsed = data ? c.interface.parseError(data) : null;
      if (parsed) return parsed.name;
    } catch {
      // not one of this contract's errors
    }
  }
  return (e as Error).message;
}

/**
 * Plays a game to its end: each turn the side to move is asked first (the challenger first at the
 * step), then the other side (which may call timeout). When neither moves, time runs past a clock.
 * The values of the last reveal are taken from the receipts of the moves it sends.
 */
export async function playGraphGame(
  game: GraphDisputeGame,
  gameId: Hex,
  asserter: GraphSide,
  challenger: GraphSide,
  options: {
    readonly maxTurns?: number;
    /** Contracts whose custom errors a revert may carry (the runner's bubble up through the game). */
    readonly errors?: readonly { interface: GraphStepRunner["interface"] }[];
    /** Stop (unresolved) before the first turn whose state this accepts. */
    readonly until?: (state: GraphGameState) => boolean;
    /** The last reveal's values, when resuming a game played so far by another call. */
    readonly revealed?: Hex[] | bigint[];
  } = {},
): Promise<GraphPlayed> {
  const moves: GraphPlayed["moves"] = [];
  const reverts: GraphPlayed["reverts"] = [];
  let revealed: Hex[] | bigint[] | undefined = options.revealed;
  let stepped: GraphPlayed["stepped"];
  let stalls = 0;
  for (let turn = 0; turn < (options.maxTurns ?? 80); turn++) {
    const state = toGraphGameState(await game.getGame(gameId));
    if (state.phase === GraphPhase.Resolved || options.until?.(state)) return { moves, reverts, state, revealed, stepped };
    const order: [Role, GraphSide][] = moverOf(state.phase) === "asserter" ? [["asserter", asserter], ["challenger", challenger]] : [["challenger", challenger], ["asserter", asserter]];
    let moved = false;
    for (const [role, side] of order) {
      const move = side.actor(state, { gameId, now: BigInt(await time.latest()), revealed });
      if (!move) continue;
      if (side.delay && move.functionName !== "timeout") await time.increase(side.delay);
      try {
        const tx = await game.connect(side.signer).getFunction(move.functionName)(...move.args);
        const receipt = await tx.wait();
        moves.push({ by: role, name: move.functionName, gas: receipt!.gasUsed });
        for (const log of receipt!.logs) {
          const parsed = game.interface.parseLog(log);
          if (parsed && REVEALS.has(parsed.name)) revealed = [...(parsed.args[parsed.args.length - 1] as Iterable<unknown>)] as Hex[] | bigint[];
          if (parsed?.name === "StepRun") stepped = { computed: parsed.args.computed as bigint, claimed: parsed.args.claimed as bigint };
        }
        moved = true;
        break;
      } catch (e) {
        reverts.push({ by: role, name: move.functionName, error: revertName(game, e, options.errors ?? []) });
      }
    }
    if (moved) {
      stalls = 0;
    } else {
      if (++stalls > 2) throw new Error(`the game is stuck in phase ${GraphPhase[state.phase]}: nobody moves (reverts: ${JSON.stringify(reverts.slice(-3))})`);
      await time.increase(Number(state.clockBudget) + 1);
    }
  }
  throw new Error(`the game did not end in ${options.maxTurns ?? 80} turns`);
}
