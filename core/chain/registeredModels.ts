import { modelRegistryAbi } from "../abi";
import { modelShape } from "../model";
import { type ModelFiles, loadModelDir } from "../modelFiles";
import type { ChainActor } from "./actor";

/**
 * Which registered models a model folder is: a node serves, and a watcher re-executes, a model only
 * when its files commit to a root the registry holds with the same shape, not retired. Anyone may
 * register a root, so one folder may answer to several ids: every live one with the right shape is
 * served (the computation is the same); a wrong-shaped or retired entry is skipped.
 */

export interface RegisteredModel {
  readonly modelId: bigint;
  readonly files: ModelFiles;
}

export class UnregisteredModelError extends Error {
  override name = "UnregisteredModelError";
}

/** Loads each folder and finds every live registered model with its root and shape. */
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
      const id = log.args.modelId!;
      const m = await actor.publicClient.readContract({ address: modelRegistry, abi: modelRegistryAbi, functionName: "modelShape", args: [id] });
      const [inputSize, outputSize, layerCount, retired, maxWidth] = m;
      const shape = [inputSize, outputSize, layerCount, maxWidth].map(Number);
      const s = modelShape(files.model);
      const want = [s.inputSize, s.outputSize, s.layerCount, s.maxWidth];
      if (retired) problems.push(`model ${id} is retired`);
      else if (shape.join() !== want.join()) problems.push(`model ${id} is registered with shape ${shape.join("/")} (in/out/layers/max width), the files have ${want.join("/")}`);
      else ids.push(id);
    }
    if (ids.length === 0) {
      throw new UnregisteredModelError(`the model in ${files.dir} (root ${files.root}) is not a live registered model${problems.length ? `: ${problems.join("; ")}` : ""}`);
    }
    for (const modelId of ids) found.push({ modelId, files });
  }
  return found;
}
