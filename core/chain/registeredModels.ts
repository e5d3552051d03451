import { modelRegistryAbi } from "../abi";
import { type ModelFiles, loadModelDir } from "../modelFiles";
import type { ChainActor } from "./actor";

/**
 * Which registered model a model folder is: a node serves, and a watcher re-executes, a model only
 * when its files commit to a root the registry holds with the same shape, not retired.
 */

export interface RegisteredModel {
  readonly modelId: bigint;
  readonly files: ModelFiles;
}

export class UnregisteredModelError extends Error {
  override name = "UnregisteredModelError";
}

/** Loads each folder and finds the live registered model with its root and shape. */
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
    let modelId: bigint | undefined;
    const problems: string[] = [];
    for (const log of logs) {
      const id = log.args.modelId!;
      const m = await actor.publicClient.readContract({ address: modelRegistry, abi: modelRegistryAbi, functionName: "getModel", args: [id] });
      const shape = [Number(m.inputSize), Number(m.outputSize), Number(m.layerCount)];
      const want = [files.model.inputSize, files.model.layers[files.model.layers.length - 1].nOut, files.model.layers.length];
      if (m.retired) problems.push(`model ${id} is retired`);
      else if (shape.join() !== want.join()) problems.push(`model ${id} is registered with shape ${shape.join("/")}, the files have ${want.join("/")}`);
      else {
        modelId = id;
        break;
      }
    }
    if (modelId === undefined) {
      throw new UnregisteredModelError(`the model in ${files.dir} (root ${files.root}) is not a live registered model${problems.length ? `: ${problems.join("; ")}` : ""}`);
    }
    found.push({ modelId, files });
  }
  return found;
}
