import { modelRegistryAbi } from "../abi";
import { fetchModelFiles } from "../distribution/modelSource";
import { MNIST_MODEL_DIR, type ModelFiles, loadModelDir } from "../modelFiles";
import type { ChainActor } from "./actor";
import { checkRegisteredModel, readRegisteredModel } from "./modelRegistration";

/**
 * Which registered models a daemon serves: a node serves, and a watcher re-executes, a model only
 * when its files commit to a root the registry holds with the same shape, not retired. A model comes
 * from a folder (every live id it answers to) or from its id (its files fetched from its registered
 * URI and checked against its root: core/distribution/modelSource.ts).
 */

export interface RegisteredModel {
  readonly modelId: bigint;
  readonly files: ModelFiles;
  /** Where the files came from: "folder" (given to serve) or the registered URI they were fetched from. */
  readonly source: string;
}

/** A folder or id that is not a live registered model; the message says why. */
export class UnregisteredModelError extends Error {
  override name = "UnregisteredModelError";
}

/**
 * Loads each folder and finds every live registered model with its root and shape. Anyone may
 * register a root, so one folder may answer to several ids: every live one with the right shape is
 * served (the computation is the same); a wrong-shaped or retired entry is skipped. A folder that
 * answers to none throws {@link UnregisteredModelError} with the reason for each entry of its root.
 */
export async function registeredModels(actor: ChainActor, dirs: readonly string[]): Promise<RegisteredModel[]> {
  const { modelRegistry } = actor.deployment.contracts;
  const found: RegisteredModel[] = [];
  for (const dir of dirs) {
    const files = loadModelDir(dir);
    const logs = await actor.publicClient.getContractEvents({
      address: modelRegistry,
      abi: modelRegistryAbi,
      eventName: "ModelRegistered",
      args: { root: files.root },
      fromBlock: actor.deployment.startBlock,
    });
    const ids: bigint[] = [];
    const problems: string[] = [];
    for (const log of logs) {
      const registered = await readRegisteredModel(actor.publicClient, modelRegistry, log.args.modelId!);
      const mismatches = checkRegisteredModel(registered, files);
      if (mismatches.length === 0) ids.push(registered.modelId);
      else problems.push(`model ${registered.modelId}: ${mismatches.join(", ")}`);
    }
    if (ids.length === 0) {
      throw new UnregisteredModelError(`the model in ${files.dir} (root ${files.root}) is not a live registered model${problems.length ? `: ${problems.join("; ")}` : ""}`);
    }
    for (const modelId of ids) found.push({ modelId, files, source: "folder" });
  }
  return found;
}

export interface ServedModelsOptions {
  /** Model folders to serve; when neither folders nor ids are given, the MNIST reference folder. */
  readonly dirs?: readonly string[];
  /** Registered model ids to serve, their files fetched from each model's URI. */
  readonly ids?: readonly bigint[];
  /** Where downloaded files are cached (core/distribution/modelSource.ts). */
  readonly cacheDir: string;
  /** Relative path URIs resolve against it (default process.cwd()). */
  readonly baseDir?: string;
}

/**
 * The models a node or watcher serves: every live id each folder answers to ({@link registeredModels}),
 * then each id not already served, its files fetched from its registered URI and checked against its
 * root and shape (downloads and discarded cache entries are logged). A retired or unknown id, or
 * files that cannot be had or are another model, throw.
 */
export async function resolveServedModels(actor: ChainActor, options: ServedModelsOptions): Promise<RegisteredModel[]> {
  const dirs = options.dirs ?? (options.ids === undefined ? [MNIST_MODEL_DIR] : []);
  const served = await registeredModels(actor, dirs);
  for (const modelId of options.ids ?? []) {
    if (served.some((m) => m.modelId === modelId)) continue;
    const registered = await readRegisteredModel(actor.publicClient, actor.deployment.contracts.modelRegistry, modelId);
    if (registered.retired) throw new UnregisteredModelError(`model ${modelId} is retired (no new jobs): it is not served`);
    const files = await fetchModelFiles(registered, { cacheDir: options.cacheDir, baseDir: options.baseDir, log: actor.log });
    served.push({ modelId, files, source: registered.uri });
  }
  return served;
}
