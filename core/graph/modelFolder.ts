import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import path from "node:path";
import { toHex } from "../bytes";
import { type GraphModelCommitment, commitGraphModel } from "./commitments";
import { buildGraphOnnx } from "./onnxGraph";
import { type Constant, type GraphProgram, type Op, type Shape, sizeOf } from "./program";
import { checkDisputeLimits } from "./disputeLimits";
import { validateProgram } from "./validate";

/**
 * A graph model's folder (docs/graph-semantics.md §9): `program.json`, the program itself, and
 * `descriptor.json`, what a registry and an operator want to know without reading it (its root,
 * shapes, size). There is no integer.onnx to trust: whoever loads the folder builds the onnxruntime
 * graph from the program (buildGraphOnnx is deterministic), so the graph that runs is by
 * construction the program the root commits to.
 */

/** The `format` of both files; a folder of another format is refused. */
export const GRAPH_MODEL_FORMAT = "refute-graph-1";

/** descriptor.json. */
export interface GraphModelDescriptor {
  readonly format: typeof GRAPH_MODEL_FORMAT;
  readonly name: string;
  /** 0x-hex model root (core/graph/commitments.ts commitGraphModel). */
  readonly root: `0x${string}`;
  readonly inputShape: readonly number[];
  readonly outputShape: readonly number[];
  readonly ops: number;
  readonly parameterCount: number;
  /** Anything the producer wants to keep with the model (scales, the import report's numbers). */
  readonly meta?: Readonly<Record<string, unknown>>;
}

/** program.json: the constants' bytes in base64 (int8 as bytes, int32 as 4 bytes little-endian each). */
interface ProgramFile {
  readonly format: typeof GRAPH_MODEL_FORMAT;
  readonly inputShape: number[];
  readonly constants: { readonly dtype: "int8" | "int32"; readonly shape: number[]; readonly base64: string }[];
  readonly ops: Op[];
}

export interface GraphModelFiles {
  readonly dir: string;
  readonly program: GraphProgram;
  readonly descriptor: GraphModelDescriptor;
  readonly commitment: GraphModelCommitment;
  /** The onnxruntime graph, built from the program. */
  readonly onnx: Uint8Array;
  /** The shape of every value (validateProgram). */
  readonly shapes: Shape[];
}

/** Writes `program` as a model folder (creating it) and returns its descriptor; refuses a program the game cannot dispute (checkDisputeLimits). */
export function writeGraphModelFolder(dir: string, program: GraphProgram, options: { readonly name?: string; readonly meta?: Record<string, unknown> } = {}): GraphModelDescriptor {
  const shapes = validateProgram(program);
  checkDisputeLimits(program, shapes);
  const descriptor: GraphModelDescriptor = {
    format: GRAPH_MODEL_FORMAT,
    name: options.name ?? path.basename(path.resolve(dir)),
    root: toHex(commitGraphModel(program).root),
    inputShape: [...program.inputShape],
    outputShape: [...shapes[shapes.length - 1]],
    ops: program.ops.length,
    parameterCount: program.constants.reduce((n, c) => n + sizeOf(c.shape), 0),
    ...(options.meta === undefined ? {} : { meta: options.meta }),
  };
  const file: ProgramFile = {
    format: GRAPH_MODEL_FORMAT,
    inputShape: [...program.inputShape],
    constants: program.constants.map((c) => ({ dtype: c.dtype, shape: [...c.shape], base64: Buffer.from(c.data.buffer, c.data.byteOffset, c.data.byteLength).toString("base64") })),
    ops: program.ops.map((op) => JSON.parse(JSON.stringify(op)) as Op),
  };
  mkdirSync(dir, { recursive: true });
  writeFileSync(path.join(dir, "program.json"), `${JSON.stringify(file)}\n`);
  writeFileSync(path.join(dir, "descriptor.json"), `${JSON.stringify(descriptor, null, 2)}\n`);
  return descriptor;
}

/** A graph model folder that cannot be used; the message names the folder and what is wrong. */
export class GraphModelFolderError extends Error {
  override name = "GraphModelFolderError";
}

/**
 * Reads, validates and commits the folder's program, and checks it against descriptor.json (the
 * root and the shapes): a program edited after the descriptor was written is refused, and so is one
 * past the dispute game's limits (checkDisputeLimits).
 */
export function readGraphModelFolder(dir: string): GraphModelFiles {
  const abs = path.resolve(dir);
  const fail = (problem: string, cause?: unknown): never => {
    throw new GraphModelFolderError(`graph model folder ${abs}: ${problem}`, cause === undefined ? undefined : { cause });
  };
  const readJson = (name: string): Record<string, unknown> => {
    let text: string;
    try {
      text = readFileSync(path.join(abs, name), "utf8");
    } catch (e) {
      return fail(`cannot read ${name}: ${(e as Error).message}`, e);
    }
    try {
      const value: unknown = JSON.parse(text);
      if (value === null || typeof value !== "object" || Array.isArray(value)) return fail(`${name} is not a JSON object`);
      return value as Record<string, unknown>;
    } catch (e) {
      return fail(`${name} is not JSON: ${(e as Error).message}`, e);
    }
  };
  const file = readJson("program.json") as unknown as ProgramFile;
  const descriptor = readJson("descriptor.json") as unknown as GraphModelDescriptor;
  for (const [name, f] of [["program.json", file.format], ["descriptor.json", descriptor.format]] as const) {
    if (f !== GRAPH_MODEL_FORMAT) fail(`${name} has format ${JSON.stringify(f)}, not ${JSON.stringify(GRAPH_MODEL_FORMAT)}`);
  }
  if (!Array.isArray(file.constants) || !Array.isArray(file.ops) || !Array.isArray(file.inputShape)) fail("program.json needs inputShape, constants and ops arrays");
  const constants = file.constants.map((c, k): Constant => {
    const bytes = Buffer.from(typeof c?.base64 === "string" ? c.base64 : "", "base64");
    const copy = new Uint8Array(bytes).buffer;
    if (c.dtype === "int8") return { dtype: "int8", shape: c.shape, data: new Int8Array(copy) };
    if (c.dtype === "int32" && bytes.length % 4 === 0) return { dtype: "int32", shape: c.shape, data: new Int32Array(copy) };
    return fail(`constant ${k}: expected dtype int8 or int32 with whole elements, got ${JSON.stringify(c?.dtype)} of ${bytes.length} bytes`);
  });
  const program: GraphProgram = { inputShape: file.inputShape, constants, ops: file.ops };
  let shapes: Shape[] = [];
  try {
    shapes = validateProgram(program);
    checkDisputeLimits(program, shapes);
  } catch (e) {
    fail(`program.json is refused: ${(e as Error).message}`, e);
  }
  const commitment = commitGraphModel(program);
  const root = toHex(commitment.root);
  if (root !== descriptor.root) fail(`program.json commits to ${root}, descriptor.json says ${String(descriptor.root)}`);
  const out = shapes[shapes.length - 1];
  for (const [field, have, want] of [["inputShape", descriptor.inputShape, program.inputShape], ["outputShape", descriptor.outputShape, out]] as const) {
    if (JSON.stringify(have) !== JSON.stringify(want)) fail(`descriptor.json's ${field} is ${JSON.stringify(have)}, the program's is ${JSON.stringify(want)}`);
  }
  return { dir: abs, program, descriptor, commitment, onnx: buildGraphOnnx(program), shapes };
}
