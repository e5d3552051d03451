import { type GraphProgram, type Shape, isLayout } from "./program";
import { type ReducingOp, chunkCountOf, reductionOf } from "./reductions";
import { opStages } from "./stages";
import { GraphValidationError } from "./validate";

/**
 * The limits of the dispute game that a valid program can still break (docs/dispute-game.md, "Refusing
 * models the game cannot settle"). A program past them runs, but one of its steps could never be made
 * on-chain, so a lie there would stand: the model folder refuses such a program when it is written
 * (the importer) and when it is read (the node, the watcher, `npm run model`).
 */

/**
 * The most views the step follows from an operand to a computed value (GraphStepRunner.MAX_VIEW_HOPS):
 * each costs about 28k gas for one element, so that 8 keep a step under 500k (16 took 615k).
 */
export const MAX_VIEW_HOPS = 8;
/**
 * The most chunks of one reduction row, a finished reduce's finishing step included: the game's 32-bit chunk
 * counter (GraphDisputeGame.MAX_FIELD).
 */
export const MAX_ROW_CHUNKS = 2 ** 32 - 1;

/**
 * Throws {@link GraphValidationError} naming the value when a value is a chain of more than
 * {@link MAX_VIEW_HOPS} views in front of a computed value, or a reduction row has more than
 * {@link MAX_ROW_CHUNKS} chunks. `shapes` are validateProgram's.
 */
export function checkDisputeLimits(program: GraphProgram, shapes: readonly Shape[]): void {
  const hops: number[] = [0];
  program.ops.forEach((op, k) => {
    const v = k + 1;
    hops.push(isLayout(op) ? 1 + Math.max(...op.inputs.map((u) => hops[u])) : 0);
    if (hops[v] > MAX_VIEW_HOPS) {
      throw new GraphValidationError(v, op.kind, `is reached through a chain of ${hops[v]} layout ops; a dispute step follows at most ${MAX_VIEW_HOPS}`);
    }
    const reduce = opStages(op, shapes[v]).find((stage) => stage.kind === "reduce");
    if (reduce) {
      const r = reductionOf(program, op as ReducingOp, shapes[op.inputs[0]]);
      const chunks = chunkCountOf(r) + (reduce.finish ? 1 : 0);
      if (chunks > MAX_ROW_CHUNKS) throw new GraphValidationError(v, op.kind, `rows of ${r.rowLength} terms are ${chunks} chunks; the dispute game counts at most ${MAX_ROW_CHUNKS}`);
    }
  });
}
