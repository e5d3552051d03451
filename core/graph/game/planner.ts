import { toHex } from "../../bytes";
import type { GraphGameTrace } from "./gameTrace";
import { GraphPhase, type GraphGameState, type Role, clockUsed, levelsAt, moverOf, splitPoints } from "./gameState";
import { type OpLeafArg, type PlannedStep, type StepOpeningsArg, elementOfWord, leafInfo, opLeafArg, planStep } from "./stepOpenings";

/**
 * The move planner of the graph dispute game: given a game's state read from chain and one's own
 * run, the next honest move of either role, as the GraphDisputeGame function to call and its
 * arguments (ready for an ethers contract or viem's writeContract). Pure: a node or a watcher
 * rebuilds everything after a restart from the game's state, its last reveal event and
 * re-execution. The move builders are exported so that tests can script any other choice.
 */

type Hex = `0x${string}`;

/** A GraphDisputeGame call: its function name and arguments in ABI order. */
export type GraphMove =
  | { readonly functionName: "revealPrefixes"; readonly args: readonly [Hex, bigint, bigint, Hex[]] }
  | { readonly functionName: "pickPrefixes"; readonly args: readonly [Hex, Hex[], bigint] }
  | { readonly functionName: "revealLeaf"; readonly args: readonly [Hex, Hex, Hex[], bigint, OpLeafArg, Hex[]] }
  | { readonly functionName: "revealNodes"; readonly args: readonly [Hex, Hex, Hex[]] }
  | { readonly functionName: "pickNode"; readonly args: readonly [Hex, Hex[], bigint, bigint] }
  | { readonly functionName: "postFolds"; readonly args: readonly [Hex, bigint, bigint, bigint[]] }
  | { readonly functionName: "pickFolds"; readonly args: readonly [Hex, bigint[], bigint] }
  | { readonly functionName: "step"; readonly args: readonly [Hex, OpLeafArg, StepOpeningsArg] }
  | { readonly functionName: "timeout"; readonly args: readonly [Hex] };

/** What the planner needs besides the state. */
export interface GraphPlanContext {
  readonly gameId: Hex;
  /** The chain's latest block timestamp. */
  readonly now: bigint;
  /**
   * The values of the game's last PrefixesRevealed, NodesRevealed or FoldsPosted event (ends
   * included): what a pick answers. Not needed where nothing was revealed (a two-leaf trace, a
   * one-leaf tensor).
   */
  readonly revealed?: readonly Hex[] | readonly bigint[];
}

/** The game cannot be played honestly from this run (it is not this run's game, or nothing differs). */
export class GraphPlannerError extends Error {
  override name = "GraphPlannerError";
}

/**
 * The next honest move of `role`, or null when it is the other side's turn and its clock has not
 * run out (or the game is over). Where the other side's clock has run out the move is `timeout`.
 */
export function planGraphMove(state: GraphGameState, role: Role, trace: GraphGameTrace, ctx: GraphPlanContext): GraphMove | null {
  const mover = moverOf(state.phase);
  if (mover === null) return null;
  checkGameOfTrace(state, role, trace);
  const other: Role = role === "asserter" ? "challenger" : "asserter";
  const otherClockRuns = mover === other || (mover === "anyone" && role === "asserter");
  if (otherClockRuns && clockUsed(state, other, ctx.now) > state.clockBudget) return { functionName: "timeout", args: [ctx.gameId] };
  if (mover !== role && mover !== "anyone") return null;
  return role === "asserter" ? asserterMove(state, trace, ctx) : challengerMove(state, trace, ctx);
}

function checkGameOfTrace(state: GraphGameState, role: Role, trace: GraphGameTrace): void {
  if (state.modelRoot !== toHex(trace.model.root)) throw new GraphPlannerError(`the game's model root ${state.modelRoot} is not this program's ${toHex(trace.model.root)}`);
  if (Number(state.leafCount) !== trace.leafCount) throw new GraphPlannerError(`the game's trace has ${state.leafCount} leaves, this run ${trace.leafCount}`);
  if (Number(state.opCount) !== trace.program.ops.length) throw new GraphPlannerError(`the game's model has ${state.opCount} ops, this program ${trace.program.ops.length}`);
  if (state.phase === GraphPhase.RevealPrefixes && state.lo === 0n) {
    // The range starts at P_0, which the game computed from the job's input root.
    if (state.agreed !== toHex(trace.prefixRoot(0))) throw new GraphPlannerError(`the game's P_0 ${state.agreed} is not this run's: another input`);
    if (role === "asserter" && Number(state.hi) === trace.leafCount - 1 && state.disputed !== toHex(trace.traceRoot)) {
      throw new GraphPlannerError(`the game's trace root ${state.disputed} is not this run's ${toHex(trace.traceRoot)}: not a claim of ours`);
    }
  }
}

function asserterMove(state: GraphGameState, trace: GraphGameTrace, ctx: GraphPlanContext): GraphMove | null {
  switch (state.phase) {
    case GraphPhase.RevealPrefixes:
      return revealPrefixesMove(state, trace, ctx);
    case GraphPhase.RevealLeaf:
      return revealLeafMove(state, trace, ctx);
    case GraphPhase.RevealNodes:
      return revealNodesMove(state, trace, ctx);
    case GraphPhase.PostFolds:
      return postFoldsMove(state, trace, ctx);
    case GraphPhase.Step: {
      // The step is the challenger's to call; the asserter calls it only when it holds (it wins then),
      // so a challenger that never steps cannot stall an honest asserter until its clock runs out.
      const planned = plannedStep(state, trace);
      return stepHolds(state, planned) ? stepMove(ctx, planned) : null;
    }
    default:
      throw new GraphPlannerError(`the asserter does not move in phase ${GraphPhase[state.phase]}`);
  }
}

function challengerMove(state: GraphGameState, trace: GraphGameTrace, ctx: GraphPlanContext): GraphMove {
  switch (state.phase) {
    case GraphPhase.PickPrefixes: {
      const { roots, points } = revealedPrefixes(state, ctx);
      const i = firstDisputed(roots.length - 1, (k) => roots[k + 1].toLowerCase() !== toHex(trace.prefixRoot(points[k + 1])), "prefix root");
      return pickPrefixesMove(state, ctx, i);
    }
    case GraphPhase.PickNode: {
      const { nodes, height, first } = revealedNodes(state, ctx);
      const leaf = Number(state.leaf);
      const mine = (k: number) => trace.tensorNode(leaf, height, first + k);
      const i = firstDisputed(nodes.length, (k) => nodes[k].toLowerCase() !== toHex(mine(k)), "node");
      let t = 0;
      if (height === 0) {
        const bits = Number(state.bits);
        const theirs = nodes[i];
        const ours = mine(i);
        const perLeaf = bits === 8 ? 32 : 8;
        t = firstDisputed(perLeaf, (u) => elementOfWord(hexBytes(theirs), u, bits) !== elementOfWord(ours, u, bits), "element");
      }
      return pickNodeMove(state, ctx, i, t);
    }
    case GraphPhase.PickFolds: {
      const { folds, points } = revealedFolds(state, ctx);
      const mine = trace.partialFolds(Number(state.leaf), Number(state.index));
      const i = firstDisputed(folds.length - 1, (k) => folds[k + 1] !== BigInt(mine[points[k + 1]]), "fold");
      return pickFoldsMove(state, ctx, i);
    }
    case GraphPhase.Step:
      return stepMove(ctx, plannedStep(state, trace));
    default:
      throw new GraphPlannerError(`the challenger does not move in phase ${GraphPhase[state.phase]}`);
  }
}

function firstDisputed(count: number, differs: (i: number) => boolean, what: string): number {
  for (let i = 0; i < count; i++) if (differs(i)) return i;
  throw new GraphPlannerError(`every revealed ${what} agrees with our run: nothing to dispute`);
}

function hexBytes(hex: string): Uint8Array {
  return Uint8Array.from(Buffer.from(hex.slice(2), "hex"));
}

// ---------------------------------------------------------------------------------------------
// What a pick answers
// ---------------------------------------------------------------------------------------------

function revealedOf(ctx: GraphPlanContext, what: string): readonly Hex[] | readonly bigint[] {
  if (!ctx.revealed || ctx.revealed.length === 0) throw new GraphPlannerError(`a pick needs the revealed ${what} (the game's last reveal event)`);
  return ctx.revealed;
}

/** The prefix roots a pick answers, ends included, and their leaves. */
export function revealedPrefixes(state: GraphGameState, ctx: GraphPlanContext): { roots: Hex[]; points: number[] } {
  const roots = revealedOf(ctx, "prefix roots") as Hex[];
  return { roots, points: splitPoints(Number(state.lo), Number(state.hi), roots.length - 1) };
}

/** The nodes a pick answers, their height and the index of the first. */
export function revealedNodes(state: GraphGameState, ctx: GraphPlanContext): { nodes: Hex[]; height: number; first: number } {
  const height = Number(state.childHeight);
  const levels = Number(state.height) - height;
  const nodes = levels === 0 ? [state.disputed] : (revealedOf(ctx, "nodes") as Hex[]);
  return { nodes, height, first: Number(state.index) * 2 ** levels };
}

/** The folds a pick answers, ends included (at lo = 0 the first is a placeholder 0), and their chunks. */
export function revealedFolds(state: GraphGameState, ctx: GraphPlanContext): { folds: bigint[]; points: number[] } {
  const folds = revealedOf(ctx, "folds") as bigint[];
  return { folds, points: splitPoints(Number(state.lo), Number(state.hi), folds.length - 1) };
}

// ---------------------------------------------------------------------------------------------
// Moves, built from a run and the choices a side makes (exported for scripted actors)
// ---------------------------------------------------------------------------------------------

/** Asserter: the prefix roots at the inner split points of [lo, hi]. */
export function revealPrefixesMove(state: GraphGameState, trace: GraphGameTrace, ctx: GraphPlanContext): GraphMove {
  const inner = splitPoints(Number(state.lo), Number(state.hi)).slice(1, -1);
  return { functionName: "revealPrefixes", args: [ctx.gameId, state.lo, state.hi, inner.map((p) => toHex(trace.prefixRoot(p)))] };
}

/** Challenger: sub-range i of the revealed prefix roots. */
export function pickPrefixesMove(state: GraphGameState, ctx: GraphPlanContext, i: number): GraphMove {
  return { functionName: "pickPrefixes", args: [ctx.gameId, revealedPrefixes(state, ctx).roots, BigInt(i)] };
}

/** Asserter: v_i with its extension proof, and the model leaf of the op leaf i belongs to. */
export function revealLeafMove(state: GraphGameState, trace: GraphGameTrace, ctx: GraphPlanContext): GraphMove {
  const i = Number(state.leaf);
  const extension = trace.extension(i);
  const { opValue } = leafInfo(trace.program, trace.leafCount, i);
  return {
    functionName: "revealLeaf",
    args: [ctx.gameId, toHex(extension.value), extension.proof.map(toHex), BigInt(opValue), opLeafArg(trace.program, opValue), trace.model.tree.proof(opValue).map(toHex)],
  };
}

/** Asserter: the nodes up to 4 levels under the disputed node of leaf i's tree (levelsAt: never inside a page). */
export function revealNodesMove(state: GraphGameState, trace: GraphGameTrace, ctx: GraphPlanContext): GraphMove {
  const height = Number(state.height);
  const levels = levelsAt(height, state.leaf !== state.leafCount - 1n);
  const first = Number(state.index) * 2 ** levels;
  const leaf = Number(state.leaf);
  const nodes = Array.from({ length: 2 ** levels }, (_, k) => toHex(trace.tensorNode(leaf, height - levels, first + k)));
  return { functionName: "revealNodes", args: [ctx.gameId, state.disputed, nodes] };
}

/** Challenger: revealed node i, and at the leaves element t of it. */
export function pickNodeMove(state: GraphGameState, ctx: GraphPlanContext, i: number, t: number): GraphMove {
  return { functionName: "pickNode", args: [ctx.gameId, revealedNodes(state, ctx).nodes, BigInt(i), BigInt(t)] };
}

/** Asserter: the run's folds of the disputed row at the inner split points of [lo, hi]. */
export function postFoldsMove(state: GraphGameState, trace: GraphGameTrace, ctx: GraphPlanContext): GraphMove {
  const folds = trace.partialFolds(Number(state.leaf), Number(state.index));
  const inner = splitPoints(Number(state.lo), Number(state.hi)).slice(1, -1).map((p) => BigInt(folds[p]));
  return { functionName: "postFolds", args: [ctx.gameId, state.lo, state.hi, inner] };
}

/** Challenger: sub-range i of the posted folds. */
export function pickFoldsMove(state: GraphGameState, ctx: GraphPlanContext, i: number): GraphMove {
  return { functionName: "pickFolds", args: [ctx.gameId, revealedFolds(state, ctx).folds, BigInt(i)] };
}

/** The step at the game's state, its openings taken from `trace`, and the value the chain will compute. */
export function plannedStep(state: GraphGameState, trace: GraphGameTrace): PlannedStep {
  const reduce = state.chunks > 0n;
  return planStep(trace, { leaf: Number(state.leaf), element: Number(state.index), chunk: reduce ? Number(state.lo) : 0, accBefore: Number(state.foldLow) });
}

/** Whether the step computes the claim (the asserter wins it). */
export function stepHolds(state: GraphGameState, planned: PlannedStep): boolean {
  const claimed = state.chunks > 0n ? state.foldHigh : state.claim;
  return BigInt(planned.value) === claimed;
}

/** Anyone: the step with a planned step's openings. */
export function stepMove(ctx: GraphPlanContext, planned: PlannedStep): GraphMove {
  return { functionName: "step", args: [ctx.gameId, planned.op, planned.openings] };
}
