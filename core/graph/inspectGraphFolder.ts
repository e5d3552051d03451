import { Rng } from "../rng";
import { constantsOf } from "./commitments";
import { executeProgram } from "./execute";
import { type GraphModelFiles, readGraphModelFolder } from "./modelFolder";
import { OrtGraphRunner } from "./ortGraphRunner";
import { type GraphProgram, type Op, sizeOf } from "./program";
import { traceName } from "./stages";

/**
 * What a graph model folder is (`npm run model -- inspect` on a folder with program.json): its
 * descriptor, every op with its shape and parameters, and whether the two executors agree on it.
 * readGraphModelFolder already refuses a folder whose program does not commit to descriptor.json's
 * root and shapes; this adds the check that matters to an operator, that onnxruntime (the graph
 * built from the program, as a node runs it) and the reference executor (what the game settles)
 * compute the same bits for every committed tensor, on seeded random inputs.
 */

export interface GraphInspection {
  readonly files: GraphModelFiles;
  /** Random inputs run through both executors. */
  readonly inputs: number;
  readonly seed: number;
  /** One line per tensor on which the executors disagreed (empty when they agree). */
  readonly problems: readonly string[];
}

/** Seed of the random inputs: fixed, so a report names inputs anyone can run again. */
export const INSPECTION_SEED = 0x1e5;

export async function inspectGraphFolder(dir: string, inputs = 8): Promise<GraphInspection> {
  const files = readGraphModelFolder(dir);
  const batch = new Rng(INSPECTION_SEED).int8Array(inputs * sizeOf(files.program.inputShape));
  return { files, inputs, seed: INSPECTION_SEED, problems: await executorDisagreements(files.program, batch, inputs) };
}

/**
 * Runs `batch` inputs (laid end to end) through onnxruntime and the reference executor and
 * returns one line per disagreeing tensor, naming the input, the tensor and the first element
 * (at most `limit` lines; none when the executors agree bit for bit).
 */
export async function executorDisagreements(program: GraphProgram, inputs: Int8Array, batch: number, limit = 10): Promise<string[]> {
  const n = sizeOf(program.inputShape);
  const runner = await OrtGraphRunner.create(program, { intraOpNumThreads: 1 });
  const problems: string[] = [];
  try {
    const ort = await runner.runBatch(inputs, batch);
    for (let b = 0; b < batch && problems.length < limit; b++) {
      const trace = executeProgram(program, inputs.subarray(b * n, (b + 1) * n));
      trace.tensors.forEach((mine, t) => {
        const theirs = ort[t].subarray(b * mine.length, (b + 1) * mine.length);
        const at = mine.findIndex((x, j) => x !== theirs[j]);
        if (at >= 0) problems.push(`input ${b}: ${traceName(trace.layout[t])} element ${at}: reference ${mine[at]}, onnxruntime ${theirs[at]}`);
      });
    }
  } finally {
    await runner.release();
  }
  return problems.slice(0, limit);
}

const shape = (s: readonly number[]) => `[${s.join(",")}]`;

function opParameters(files: GraphModelFiles, op: Op): number {
  return constantsOf(op).reduce((sum, c) => sum + sizeOf(files.program.constants[c].shape), 0);
}

/** The inspection as the lines a terminal prints. */
export function formatGraphInspection(i: GraphInspection): string[] {
  const { descriptor: d, program, shapes } = i.files;
  const lines = [
    `${i.files.dir} (graph model folder, ${d.format})`,
    `  name         ${d.name}`,
    `  input        ${shape(d.inputShape)} int8`,
    `  output       ${shape(d.outputShape)} int8`,
    `  ops          ${d.ops}`,
    `  parameters   ${d.parameterCount}`,
    `  model root   ${d.root}`,
    "  value  op             inputs   shape          parameters",
  ];
  program.ops.forEach((op, k) => {
    lines.push(`  ${String(k + 1).padEnd(6)} ${op.kind.padEnd(14)} ${op.inputs.join(",").padEnd(8)} ${shape(shapes[k + 1]).padEnd(14)} ${opParameters(i.files, op)}`);
  });
  lines.push(
    i.problems.length === 0
      ? `  files agree: program.json commits to descriptor.json's root, and onnxruntime and the reference executor agree on every committed tensor of ${i.inputs} random inputs (seed ${i.seed})`
      : `  ${i.problems.length} problem(s): onnxruntime and the reference executor disagree:`,
  );
  for (const p of i.problems) lines.push(`    - ${p}`);
  return lines;
}
