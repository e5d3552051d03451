import { toHex } from "../../core/bytes";
import { chunkCount, partialSums } from "../../core/denseStep";
import { ARITY, type GameState, LEVELS_PER_MOVE, Phase, clockUsed, moverOf, splitPoints } from "../../core/dispute/gameState";
import { type DisputeTrace, type Move, type PlanContext, pickNodeMove, pickRootsMove, pickSumsMove, planMove, revealedNodes, revealedRoots, revealedSums } from "../../core/dispute/planner";
import { treeDepth } from "../../core/merkle";
import { type IntegerModel, modelShape } from "../../core/model";
import type { Trace } from "../../core/referenceExecutor";
import type { Actor } from "./gameActors";
import type { GameFixture } from "./gameFixture";
import { COLLATERAL } from "./marketFixture";

/**
 * The longest dispute game on a model, for test/contracts/disputeCost.test.ts: which layer, element and
 * partial-sum chunk make each side pay the most, and the actors that drag a game there (a lying challenger
 * that disputes a correct result down to the step and never steps; a node that stops defending at its
 * last move; an honest node that times the challenger out at the step instead of stepping).
 */

/** The length of a game that disputes layer l down to its last partial-sum chunk: rounds and values revealed. */
export interface GamePath {
  readonly layer: number;
  readonly rootRounds: number;
  readonly rootsRevealed: number;
  readonly descentRounds: number;
  readonly sumRounds: number;
  readonly sumsPosted: number;
}

/** The rounds and revealed values of a k-ary dissection of [0, n] that follows the sub-ranges `contains` accepts. */
function dissection(n: number, contains: (lo: number, hi: number) => boolean): { rounds: number; revealed: number } {
  let [lo, hi, rounds, revealed] = [0, n, 0, 0];
  while (hi - lo > 1) {
    const p = splitPoints(lo, hi);
    const i = p.findIndex((_, i) => i + 1 < p.length && contains(p[i], p[i + 1]));
    rounds++;
    revealed += p.length - 2;
    [lo, hi] = [p[i], p[i + 1]];
  }
  return { rounds, revealed };
}

/** The game that disputes layer l (its last partial-sum chunk: the widest sub-range of every round). */
export function pathOf(model: IntegerModel, layer: number): GamePath {
  const { nIn, nOut } = model.layers[layer - 1];
  const roots = dissection(model.layers.length, (lo, hi) => lo < layer && layer <= hi);
  const R = chunkCount(nIn);
  const sums = dissection(R, (lo, hi) => lo <= R - 1 && R - 1 < hi);
  return {
    layer,
    rootRounds: roots.rounds,
    rootsRevealed: roots.revealed,
    descentRounds: Math.ceil(treeDepth(Math.max(1, chunkCount(nOut))) / LEVELS_PER_MOVE),
    sumRounds: sums.rounds,
    sumsPosted: sums.revealed,
  };
}

/** A rough gas weight of a path (per-move costs of the order measured), to rank the layers of a model. */
function weight(model: IntegerModel, p: GamePath): number {
  const nIn = model.layers[p.layer - 1].nIn;
  return p.rootRounds * 200_000 + p.rootsRevealed * 6_000 + p.descentRounds * 150_000 + p.sumRounds * 140_000 + p.sumsPosted * 1_500 + Math.log2(nIn) * 1_000 + p.layer;
}

/** The model's layers, the longest game first (ties: the later layer, whose lie reaches the output sooner). */
export function longestLayers(model: IntegerModel): GamePath[] {
  return model.layers.map((_, i) => pathOf(model, i + 1)).sort((a, b) => weight(model, b) - weight(model, a));
}

/**
 * The elements of layer l whose dispute costs most in calldata, first: those of the last leaf, by how
 * many of their partial sums are negative (a negative int256 is 32 non-zero bytes), then the rest.
 */
export function costlyElements(model: IntegerModel, trace: Trace, layer: number): number[] {
  const n = model.layers[layer - 1].nOut;
  const negatives = (j: number) => partialSums(model.layers[layer - 1], trace[layer - 1], j).filter((s) => s < 0).length;
  const lastLeaf = Array.from({ length: n - 32 * Math.floor((n - 1) / 32) }, (_, t) => 32 * Math.floor((n - 1) / 32) + t);
  const scored = lastLeaf.map((j) => ({ j, neg: negatives(j) })).sort((a, b) => b.neg - a.neg || b.j - a.j);
  const rest = Array.from({ length: n - lastLeaf.length }, (_, i) => n - lastLeaf.length - 1 - i);
  return [...scored.map((s) => s.j), ...rest];
}

/**
 * A challenger that disputes a correct result down to element j of layer l and the last partial-sum chunk
 * (the widest sub-range of every round), and never steps: the honest node calls the step itself, or times
 * the challenger out.
 */
export function lyingChallenger(trace: DisputeTrace, layer: number, j: number): Actor {
  return (state: GameState, ctx: PlanContext): Move | null => {
    switch (state.phase) {
      case Phase.PickRoots: {
        const { points } = revealedRoots(state, ctx);
        const i = points.findIndex((p, i) => i + 1 < points.length && p < layer && layer <= points[i + 1]);
        return pickRootsMove(state, trace, ctx, i);
      }
      case Phase.PickNode: {
        const { height, first } = revealedNodes(state, ctx);
        const leaf = Math.floor(j / 32);
        return pickNodeMove(state, trace, ctx, (leaf >> height) - first, height === 0 ? j % 32 : 0);
      }
      case Phase.PickSums: {
        const { points } = revealedSums(state, ctx);
        const k = points[points.length - 1] - 1;
        const i = points.findIndex((p, i) => i + 1 < points.length && p <= k && k < points[i + 1]);
        return pickSumsMove(state, ctx, i);
      }
      default:
        return null; // the asserter's turn, or the step: a lying challenger never steps
    }
  };
}

/** The honest node, except that at the step it waits for the challenger's clock and calls timeout. */
export function timingOutNode(trace: DisputeTrace): Actor {
  return (state, ctx) => {
    if (state.phase === Phase.Step && clockUsed(state, "challenger", ctx.now) <= ctx.clockBudget) return null;
    return planMove(state, "asserter", trace, ctx);
  };
}

/** The node's planner on its (lying) trace, except that it never makes its last move before the step. */
export function quittingNode(trace: DisputeTrace): Actor {
  return (state, ctx) => {
    if (moverOf(state.phase) === "asserter" && isLastAsserterMove(state, trace)) return null;
    return planMove(state, "asserter", trace, ctx);
  };
}

function isLastAsserterMove(state: GameState, trace: DisputeTrace): boolean {
  if (state.phase === Phase.PostSums) return Number(state.hi - state.lo) <= ARITY;
  if (state.phase === Phase.StateAccumulator) return chunkCount(trace.descriptor(Number(state.layer)).descriptor.nIn) === 1;
  return false;
}

/** Registers `model` with a precomputed root; returns its id. */
export async function registerShape(f: GameFixture, model: IntegerModel, root: Uint8Array, uri: string): Promise<bigint> {
  const s = modelShape(model);
  await (await f.registry.registerModel(toHex(root), s.inputSize, s.outputSize, s.layerCount, s.maxWidth, uri)).wait();
  return f.registry.modelCount();
}

/** The collateral of a job on `model`: its smallest (DisputeGame.minCollateralFor), or the tests' usual one if larger. */
export async function collateralFor(f: GameFixture, model: IntegerModel): Promise<bigint> {
  const s = modelShape(model);
  const need = await f.game.minCollateralFor(s.layerCount, s.maxWidth);
  return need > COLLATERAL ? need : COLLATERAL;
}
