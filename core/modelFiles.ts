import { readFileSync } from "node:fs";
import path from "node:path";
import { toHex } from "./bytes";
import { type ModelCommitment, commitModel } from "./commitments";
import type { IntegerModel } from "./model";
import type { ModelDescriptor } from "./modelDescriptor";
import { readIntegerModel } from "./onnx/integerGraph";
import { PACKAGE_ROOT } from "./packageRoot";

/**
 * A model folder as scripts/build-reference-model.ts writes it: integer.onnx (the canonical integer
 * graph) and descriptor.json (sizes, roots, the model root). Loading checks that the graph commits to
 * the descriptor's model root, so whoever serves or disputes a model knows which one it is.
 */

/** The reference MNIST model shipped with the repository. */
export const MNIST_MODEL_DIR = path.join(PACKAGE_ROOT, "models", "mnist-mlp");

export interface ModelFiles {
  readonly dir: string;
  /** The integer graph's bytes (for onnxruntime). */
  readonly onnx: Uint8Array;
  readonly model: IntegerModel;
  readonly commitment: ModelCommitment;
  readonly descriptor: ModelDescriptor;
  /** 0x-hex model root. */
  readonly root: `0x${string}`;
}

/** A model folder that cannot be used; the message starts with the folder's absolute path. */
export class ModelFilesError extends Error {
  override name = "ModelFilesError";
}

const cache = new Map<string, ModelFiles>();

/**
 * Reads and checks the model in `dir` (cached per folder). Every refusal is a
 * {@link ModelFilesError} that names the folder, the file and the original cause (also kept
 * as `cause`), so an operator serving several folders can tell which one is broken.
 */
export function loadModelDir(dir: string): ModelFiles {
  const abs = path.resolve(dir);
  const cached = cache.get(abs);
  if (cached) return cached;
  const files = readModelDir(abs);
  cache.set(abs, files);
  return files;
}

/**
 * {@link loadModelDir} without the cache: reads and checks the folder's files as they are now
 * on disk (a download cache re-checks its entries with it).
 */
export function readModelDir(dir: string): ModelFiles {
  const abs = path.resolve(dir);
  const fail = (problem: string, cause?: unknown): never => {
    throw new ModelFilesError(`model folder ${abs}: ${problem}`, cause === undefined ? undefined : { cause });
  };
  const read = (name: string) => {
    try {
      return readFileSync(path.join(abs, name));
    } catch (e) {
      return fail(`cannot read ${name}: ${(e as Error).message}`, e);
    }
  };
  const onnx = new Uint8Array(read("integer.onnx"));
  const descriptorText = read("descriptor.json").toString("utf8");
  let descriptor: ModelDescriptor;
  try {
    descriptor = JSON.parse(descriptorText) as ModelDescriptor;
  } catch (e) {
    return fail(`descriptor.json is not JSON: ${(e as Error).message}`, e);
  }
  if (descriptor === null || typeof descriptor !== "object" || Array.isArray(descriptor)) fail("descriptor.json is not a JSON object");
  let model: IntegerModel;
  try {
    model = readIntegerModel(onnx);
  } catch (e) {
    return fail(`integer.onnx is refused: ${(e as Error).message}`, e);
  }
  const commitment = commitModel(model);
  const root = toHex(commitment.root);
  if (typeof descriptor.modelRoot !== "string" || descriptor.modelRoot.toLowerCase() !== root) {
    fail(`descriptor.json names model root ${String(descriptor.modelRoot)}, but integer.onnx commits to ${root}`);
  }
  return { dir: abs, onnx, model, commitment, descriptor, root };
}

/** The input scale a float input is quantised with (descriptor meta.inputScale), of a Dense folder or a graph program's. */
export function inputScaleOf(files: { readonly dir: string; readonly descriptor: { readonly meta?: Readonly<Record<string, unknown>> } }): number {
  const scale = files.descriptor.meta?.inputScale;
  if (typeof scale !== "number" || !(scale > 0)) throw new ModelFilesError(`model folder ${files.dir}: descriptor.json has no positive meta.inputScale`);
  return scale;
}
