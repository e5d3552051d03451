import { existsSync } from "node:fs";
import path from "node:path";
import { toHex } from "./bytes";
import { GraphModelFolderError, type GraphModelFiles, readGraphModelFolder } from "./graph/modelFolder";
import { type ModelFiles, ModelFilesError, loadModelDir, readModelDir } from "./modelFiles";

/**
 * A model folder of either kind: a Dense model (integer.onnx, core/modelFiles.ts) or a graph program
 * (program.json, core/graph/modelFolder.ts), each with its descriptor.json. The registry tells the
 * kinds apart too (core/chain/graphModelRegistration.ts isGraphEntry); this is where a folder does.
 */

export type ModelKind = "dense" | "graph";

export type ModelFolder = { readonly kind: "dense"; readonly files: ModelFiles } | { readonly kind: "graph"; readonly files: GraphModelFiles };

/** The files a node needs of a folder of each kind (what a download fetches; an import writes more, e.g. float.onnx). */
export const SERVING_FILES: Readonly<Record<ModelKind, readonly string[]>> = {
  dense: ["integer.onnx", "descriptor.json"],
  graph: ["program.json", "descriptor.json"],
};

/**
 * The model in `dir`, its kind told by the files it holds: program.json for a graph program,
 * integer.onnx for a Dense model. A folder that holds neither is refused with a line saying what a
 * model folder holds; a broken one with its kind's error (ModelFilesError or GraphModelFolderError).
 */
export function readModelFolder(dir: string): ModelFolder {
  const abs = path.resolve(dir);
  if (existsSync(path.join(abs, "program.json"))) return readModelFolderOf("graph", abs);
  if (existsSync(path.join(abs, "integer.onnx"))) return readModelFolderOf("dense", abs);
  const why = existsSync(abs) ? "holds no model" : "does not exist";
  throw new ModelFilesError(`model folder ${abs} ${why}: a model folder holds program.json (a graph program) or integer.onnx (a Dense model), with descriptor.json (npm run model -- import writes one)`);
}

/**
 * The model of kind `kind` in `dir`, read as it is on disk now (`fresh`, for a download cache that
 * re-checks its entries) or through the per-folder cache of Dense folders.
 */
export function readModelFolderOf(kind: ModelKind, dir: string, fresh = false): ModelFolder {
  if (kind === "graph") return { kind, files: readGraphModelFolder(dir) };
  return { kind, files: fresh ? readModelDir(dir) : loadModelDir(dir) };
}

/** True for the errors a broken folder of either kind is refused with (their messages name the folder). */
export function isModelFolderError(e: unknown): e is ModelFilesError | GraphModelFolderError {
  return e instanceof ModelFilesError || e instanceof GraphModelFolderError;
}

/** The 0x-hex model root the folder's files commit to. */
export function folderRoot(folder: ModelFolder): `0x${string}` {
  return folder.kind === "graph" ? toHex(folder.files.commitment.root) : folder.files.root;
}
