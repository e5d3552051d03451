import { modelRegistryAbi } from "../abi";
import { fetchModelFolder } from "../distribution/modelSource";
import { MNIST_MODEL_DIR } from "../modelFiles";
import { type ModelFolder, folderRoot, readModelFolder } from "../modelFolders";
import type { ChainActor } from "./actor";
import { checkRegisteredModel, readRegisteredModel } from "./modelRegistration";

/**
 * Which registered models a daemon serves: a node serves, and a watcher re-executes, a model only
 * when its files commit to a root the registry holds with the same shape, not retired. A model comes
 * from a folder (every live id it answers to) or from its id (its files fetched from its registered
 * URI and checked against its root: core/distribution/modelSource.ts). Either is a Dense model or a
 * graph program (core/modelFolders.ts).
 */

export type RegisteredModel = ModelFolder & {
  readonly modelId: bigint;
  /** Where the files came from: "folder" (given to serve) or the registered URI they were fetched from. */
  readonly source: string;
};

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
    const folder = readModelFolder(dir);
    const root = folderRoot(folder);
    // Both events, whatever the folder's kind: an entry of the other kind is named as such (kindMismatch).
    const query = { address: modelRegistry, abi: modelRegistryAbi, args: { root }, fromBlock: actor.deployment.startBlock } as const;
    const logs = [
      ...(await actor.publicClient.getContractEvents({ ...query, eventName: "ModelRegistered" })),
      ...(await actor.publicClient.getContractEvents({ ...query, eventName: "GraphModelRegistered" })),
    ];
    const ids: bigint[] = [];
    const problems: string[] = [];
    for (const modelId of logs.map((log) => log.args.modelId!).sort((a, b) => (a < b ? -1 : a > b ? 1 : 0))) {
      const registered = await readRegisteredModel(actor.publicClient, modelRegistry, modelId);
      const mismatches = checkRegisteredModel(registered, folder.files);
      if (mismatches.length === 0) ids.push(registered.modelId);
      else problems.push(`model ${registered.modelId}: ${mismatches.join(", ")}`);
    }
    if (ids.length === 0) {
      throw new UnregisteredModelError(`the model in ${folder.files.dir} (root ${root}) is not a live registered model${problems.length ? `: ${problems.join("; ")}` : ""}`);
    }
    for (const modelId of ids) found.push({ ...folder, modelId, source: "folder" });
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
    const folder = await fetchModelFolder(registered, { cacheDir: options.cacheDir, baseDir: options.baseDir, log: actor.log });
    served.push({ ...folder, modelId, source: registered.uri });
  }
  return served;
}
