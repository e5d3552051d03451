import { fromHex, toHex } from "../bytes";
import { accumulate, validInChunk } from "../denseStep";
import type { TraceProvider } from "../traceProvider";
import {
  type DescriptorArg,
  type GameState,
  LEVELS_PER_MOVE,
  NO_DESCRIPTOR,
  Phase,
  type Role,
  clockUsed,
  descriptorArg,
  moverOf,
  splitPoints,
} from "./gameState";

/**
 * The move planner of the dispute kit: given a game's state read from chain and one's own trace,
 * the next honest move for either role, as the DisputeGame function to call and its arguments
 * (ready for viem's writeContract or an ethers contract). It is pure: the node and the watcher
 * rebuild everything after a restart by reading the game and re-executing the job.
 */

type Hex = `0x${string}`;

/** What the planner reads from a trace: a {@link TraceProvider}, or anything that answers like one. */
export type DisputeTrace = Pick<TraceProvider, "layerCount" | "traceRoot" | "activationRoot" | "activationNode" | "descriptor" | "bias" | "partialSums" | "step">;

/** A DisputeGame call: its function name and arguments in ABI order. */
export type Move =
  | { readonly functionName: "revealRoots"; readonly args: readonly [Hex, bigint, bigint, Hex[], Hex[][]] }
  | { readonly functionName: "pickRoots"; readonly args: readonly [Hex, Hex[], bigint, DescriptorArg, Hex[]] }
  | { readonly functionName: "revealNodes"; readonly args: readonly [Hex, Hex, Hex[]] }
  | { readonly functionName: "pickNode"; readonly args: readonly [Hex, Hex[], bigint, bigint, DescriptorArg] }
  | { readonly functionName: "stateAccumulator"; readonly args: readonly [Hex, bigint, DescriptorArg, bigint, Hex, Hex[]] }
  | { readonly functionName: "postSums"; readonly args: readonly [Hex, bigint, bigint, bigint[]] }
  | { readonly functionName: "pickSums"; readonly args: readonly [Hex, bigint[], bigint] }
  | { readonly functionName: "step"; readonly args: readonly [Hex, DescriptorArg, Hex, Hex[], Hex, Hex[]] }
  | { readonly functionName: "timeout"; readonly args: readonly [Hex] };

/** What the planner needs besides the state: the time, the clock budget and the last reveal. */
export interface PlanContext {
  readonly gameId: Hex;
  /** The chain's latest block timestamp. */
  readonly now: bigint;
  /** DisputeGame.clockBudget. */
  readonly clockBudget: bigint;
  /**
   * The values of the game's last RootsRevealed, NodesRevealed or SumsPosted event (ends included):
   * what a pick answers. Not needed where nothing was revealed (a one-layer model, a one-leaf layer).
   */
  readonly revealed?: readonly Hex[] | readonly bigint[];
}

/** The game cannot be played honestly from this trace (it is not this trace's game, or nothing differs). */
export class PlannerError extends Error {
  override name = "PlannerError";
}

/**
 * The next honest move of `role` in the game, or null when it is the other side's turn and its
 * clock has not run out (or the game is over). Where the other side's clock has run out the move
 * is `timeout`, which wins the game.
 */
export function planMove(state: GameState, role: Role, trace: DisputeTrace, ctx: PlanContext): Move | null {
  const mover = moverOf(state.phase);
  if (mover === null) return null;
  checkGameOfTrace(state, role, trace);
  const other: Role = role === "asserter" ? "challenger" : "asserter";
  const otherClockRuns = mover === other || (mover === "anyone" && role === "asserter");
  if (otherClockRuns && clockUsed(state, other, ctx.now) > ctx.clockBudget) return { functionName: "timeout", args: [ctx.gameId] };
  if (mover !== role && mover !== "anyone") return null;
  return role === "asserter" ? asserterMove(state, trace, ctx) : challengerMove(state, trace, ctx);
}

function checkGameOfTrace(state: GameState, role: Role, trace: DisputeTrace): void {
  if (Number(state.job.layerCount) !== trace.layerCount) throw new PlannerError(`the job's model has ${state.job.layerCount} layers, the trace ${trace.layerCount}`);
  if (state.job.inputRoot.toLowerCase() !== toHex(trace.activationRoot(0).value)) throw new PlannerError(`the trace is not of this job's input (input root ${state.job.inputRoot})`);
  if (role === "asserter" && state.job.traceRoot.toLowerCase() !== toHex(trace.traceRoot)) {
    throw new PlannerError(`the job's trace root ${state.job.traceRoot} is not this trace's ${toHex(trace.traceRoot)}: not a result we submitted`);
  }
}

function asserterMove(state: GameState, trace: DisputeTrace, ctx: PlanContext): Move | null {
  switch (state.phase) {
    case Phase.RevealRoots:
      return revealRootsMove(state, trace, ctx);
    case Phase.RevealNodes:
      return revealNodesMove(state, trace, ctx);
    case Phase.StateAccumulator:
      return stateAccumulatorMove(state, trace, ctx);
    case Phase.PostSums:
      return postSumsMove(state, trace, ctx);
    case Phase.Step:
      // The step is the challenger's to call; the asserter calls it only when it holds (it wins then),
      // so a challenger that never steps cannot stall an honest node until its clock runs out.
      return stepHolds(state, trace) ? stepMove(state, trace, ctx) : null;
    default:
      throw new PlannerError(`the asserter does not move in phase ${Phase[state.phase]}`);
  }
}

function challengerMove(state: GameState, trace: DisputeTrace, ctx: PlanContext): Move {
  const layer = Number(state.layer);
  switch (state.phase) {
    case Phase.PickRoots: {
      const { roots, points } = revealedRoots(state, ctx);
      const i = firstDisputed(roots.length - 1, (i) => roots[i + 1].toLowerCase() !== toHex(trace.activationRoot(points[i + 1]).value), "root");
      return pickRootsMove(state, trace, ctx, i);
    }
    case Phase.PickNode: {
      const { nodes, height, first } = revealedNodes(state, ctx);
      const mine = (i: number) => trace.activationNode(layer, height, first + i);
      const i = firstDisputed(nodes.length, (i) => nodes[i].toLowerCase() !== toHex(mine(i)), "node");
      let t = 0;
      if (height === 0) {
        const theirs = fromHex(nodes[i]);
        const ours = mine(i);
        t = theirs.findIndex((b, t) => b !== ours[t]);
      }
      return pickNodeMove(state, trace, ctx, i, t);
    }
    case Phase.PickSums: {
      const { sums, points } = revealedSums(state, ctx);
      const mine = trace.partialSums(layer, Number(state.index));
      const i = firstDisputed(sums.length - 1, (i) => sums[i + 1] !== BigInt(mine[points[i + 1]]), "partial sum");
      return pickSumsMove(state, ctx, i);
    }
    case Phase.Step:
      return stepMove(state, trace, ctx);
    default:
      throw new PlannerError(`the challenger does not move in phase ${Phase[state.phase]}`);
  }
}

function firstDisputed(count: number, differs: (i: number) => boolean, what: string): number {
  for (let i = 0; i < count; i++) if (differs(i)) return i;
  throw new PlannerError(`every revealed ${what} agrees with our trace: nothing to dispute`);
}

// ---------------------------------------------------------------------------------------------
// Moves, built from a trace and the choices a side makes (exported for scripted actors)
// ---------------------------------------------------------------------------------------------

/** The roots a pick answers, ends included, and their indices. */
export function revealedRoots(state: GameState, ctx: PlanContext): { roots: Hex[]; points: number[] } {
  const lo = Number(state.lo);
  const hi = Number(state.hi);
  // A one-layer model starts with nothing revealed: the range is [r_0, r_1], both in the job.
  const roots = hi - lo === 1 ? [state.job.inputRoot, state.job.outputRoot] : (revealedOf(ctx, "roots") as Hex[]);
  return { roots, points: splitPoints(lo, hi, roots.length - 1) };
}

/** The nodes a pick answers, their height and the index of the first. */
export function revealedNodes(state: GameState, ctx: PlanContext): { nodes: Hex[]; height: number; first: number } {
  const height = Number(state.childHeight);
  const levels = Number(state.height) - height;
  const nodes = levels === 0 ? [state.node] : (revealedOf(ctx, "nodes") as Hex[]);
  return { nodes, height, first: Number(state.index) << levels };
}

/** The sums a pick answers, ends included, and their indices. */
export function revealedSums(state: GameState, ctx: PlanContext): { sums: bigint[]; points: number[] } {
  const sums = revealedOf(ctx, "sums") as bigint[];
  return { sums, points: splitPoints(Number(state.lo), Number(state.hi), sums.length - 1) };
}

/** Asserter: the roots at the inner split points of [lo, hi], with their proofs against T. */
export function revealRootsMove(state: GameState, trace: DisputeTrace, ctx: PlanContext): Move {
  const inner = splitPoints(Number(state.lo), Number(state.hi)).slice(1, -1).map((p) => trace.activationRoot(p));
  return { functionName: "revealRoots", args: [ctx.gameId, state.lo, state.hi, inner.map((r) => toHex(r.value)), inner.map((r) => r.proof.map(toHex))] };
}

/** Challenger: sub-range i of the revealed roots; one layer wide, with that layer's descriptor. */
export function pickRootsMove(state: GameState, trace: DisputeTrace, ctx: PlanContext, i: number): Move {
  const { roots, points } = revealedRoots(state, ctx);
  if (points[i + 1] - points[i] > 1) return { functionName: "pickRoots", args: [ctx.gameId, roots, BigInt(i), NO_DESCRIPTOR, []] };
  const { descriptor, opening } = trace.descriptor(points[i + 1]);
  return { functionName: "pickRoots", args: [ctx.gameId, roots, BigInt(i), descriptorArg(descriptor), opening.proof.map(toHex)] };
}

/** Asserter: the nodes up to 4 levels under the disputed node. */
export function revealNodesMove(state: GameState, trace: DisputeTrace, ctx: PlanContext): Move {
  const height = Number(state.height);
  const levels = Math.min(LEVELS_PER_MOVE, height);
  const first = Number(state.index) << levels;
  const nodes = Array.from({ length: 1 << levels }, (_, i) => toHex(trace.activationNode(Number(state.layer), height - levels, first + i)));
  return { functionName: "revealNodes", args: [ctx.gameId, state.node, nodes] };
}

/** Challenger: revealed node i, and at the leaves position t in it. */
export function pickNodeMove(state: GameState, trace: DisputeTrace, ctx: PlanContext, i: number, t: number): Move {
  const { nodes } = revealedNodes(state, ctx);
  return { functionName: "pickNode", args: [ctx.gameId, nodes, BigInt(i), BigInt(t), descriptorArg(trace.descriptor(Number(state.layer)).descriptor)] };
}

/** Asserter: acc_j (the last of the trace's partial sums) and the bias opening. */
export function stateAccumulatorMove(state: GameState, trace: DisputeTrace, ctx: PlanContext): Move {
  const layer = Number(state.layer);
  const j = Number(state.index);
  const sums = trace.partialSums(layer, j);
  const bias = trace.bias(layer, j);
  return {
    functionName: "stateAccumulator",
    args: [ctx.gameId, state.index, descriptorArg(trace.descriptor(layer).descriptor), BigInt(sums[sums.length - 1]), toHex(bias.leaf), bias.proof.map(toHex)],
  };
}

/** Asserter: the trace's partial sums at the inner split points of [lo, hi]. */
export function postSumsMove(state: GameState, trace: DisputeTrace, ctx: PlanContext): Move {
  const sums = trace.partialSums(Number(state.layer), Number(state.index));
  const inner = splitPoints(Number(state.lo), Number(state.hi)).slice(1, -1).map((p) => BigInt(sums[p]));
  return { functionName: "postSums", args: [ctx.gameId, state.lo, state.hi, inner] };
}

/** Challenger: sub-range i of the posted sums. */
export function pickSumsMove(state: GameState, ctx: PlanContext, i: number): Move {
  return { functionName: "pickSums", args: [ctx.gameId, revealedSums(state, ctx).sums, BigInt(i)] };
}

/** Whether the step at the game's state recomputes s_hi from s_lo with the trace's leaves (LibDenseStep's rule). */
export function stepHolds(state: GameState, trace: DisputeTrace): boolean {
  const layer = Number(state.layer);
  const k = Number(state.lo);
  const w = trace.step(layer, Number(state.index), k);
  const { nIn } = trace.descriptor(layer).descriptor;
  return BigInt(accumulate(Number(state.sumLow), w.weightLeaf, w.inputLeaf, validInChunk(nIn, k))) === state.sumHigh;
}

/** Anyone: the accumulation step k = lo of element j, witnessed from the trace. */
export function stepMove(state: GameState, trace: DisputeTrace, ctx: PlanContext): Move {
  const layer = Number(state.layer);
  const w = trace.step(layer, Number(state.index), Number(state.lo));
  return {
    functionName: "step",
    args: [ctx.gameId, descriptorArg(trace.descriptor(layer).descriptor), toHex(w.weightLeaf), w.weightProof.map(toHex), toHex(w.inputLeaf), w.inputProof.map(toHex)],
  };
}

function revealedOf(ctx: PlanContext, what: string): readonly Hex[] | readonly bigint[] {
  if (!ctx.revealed || ctx.revealed.length === 0) throw new PlannerError(`a pick needs the revealed ${what} (the game's last reveal event)`);
  return ctx.revealed;
}
