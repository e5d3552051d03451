import type { GraphProgram } from "../program";
import { sizeOf } from "../program";
import { traceLayout } from "../stages";
import { leafInfo, programFacts } from "./stepOpenings";

/**
 * What bounds a dispute on a graph model, as ModelRegistry.registerGraphModel records it (its GraphShape) and
 * LibGraphDisputeCost sizes bonds and collateral from: the op count, the trace's leaf count, the most leaves of
 * one committed tensor's tree (the descent) and the most chunks of one reduce row (the fold dissection). Computed
 * from the program alone; a node compares a registry entry with it before serving the model.
 */
export interface GraphDisputeShape {
  readonly opCount: number;
  readonly leafCount: number;
  readonly maxTensorLeaves: number;
  readonly maxRowChunks: number;
}

/** Elements a leaf of a committed tensor holds: 32 int8 or 8 int32 (core/graph/commitments.ts tensorTree). */
const PER_LEAF = { 8: 32, 32: 8 } as const;

/** The leaves of a trace of `program`: the input, every committed stage, the output. */
export function traceLeafCount(program: GraphProgram): number {
  return traceLayout(program, programFacts(program).shapes).filter((e) => e.stage.committed).length + 1;
}

/** The dispute shape of `program` (every leaf's tensor and row, as the game's stageAt takes them). */
export function graphDisputeShape(program: GraphProgram): GraphDisputeShape {
  const leafCount = traceLeafCount(program);
  let maxTensorLeaves = Math.ceil(sizeOf(programFacts(program).shapes[0]) / PER_LEAF[8]);
  let maxRowChunks = 1;
  for (let i = 1; i < leafCount; i++) {
    const info = leafInfo(program, leafCount, i);
    maxTensorLeaves = Math.max(maxTensorLeaves, Math.ceil(info.elements / PER_LEAF[info.bits]));
    maxRowChunks = Math.max(maxRowChunks, info.chunks);
  }
  return { opCount: program.ops.length, leafCount, maxTensorLeaves: Math.max(1, maxTensorLeaves), maxRowChunks };
}
