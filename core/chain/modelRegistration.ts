import { type Address, type Hex, parseEventLogs } from "viem";
import { modelRegistryAbi } from "../abi";
import type { GraphDisputeShape } from "../graph/game/disputeShape";
import type { GraphModelFiles } from "../graph/modelFolder";
import { modelShape } from "../model";
import type { ModelFiles } from "../modelFiles";
import { type ChainActor, send } from "./actor";
import { RefuteContractError, decodeError } from "./contractError";
import type { RefutePublicClient } from "./rpcClients";
import type { DeployedModel } from "./deployment";
import { graphModelFileMismatches, isGraphEntry, kindMismatch } from "./graphModelRegistration";

/**
 * A model folder and the registry: registering one (anyone may; the sender owns the new entry),
 * reading an entry back, and comparing a folder with an entry, field by field. Nodes, watchers, the
 * model kit and the deployment all go through these, so "is this folder model N" has one answer.
 * A Dense folder (integer.onnx) is here; a graph program's folder (program.json) registers and
 * compares through ./graphModelRegistration.ts, and {@link checkRegisteredModel} takes either.
 */

/** The shape fields the registry records, in the order registerModel takes them. */
export const SHAPE_FIELDS = ["inputSize", "outputSize", "layerCount", "maxWidth"] as const;

/** A model entry without its owner and status: what fetching and checking the model's files need. */
export interface ModelEntry extends Omit<DeployedModel, "id"> {
  readonly modelId: bigint;
  /**
   * A graph model's GraphShape (what registerGraphModel recorded, as numbers: the contract's uint32s);
   * present exactly when the entry is a graph model (isGraphEntry: maxWidth 0), absent for a
   * Dense model (whose registry entry holds zeros there).
   */
  readonly graph?: GraphDisputeShape;
}

/** A registry entry as ModelRegistry.getModel returns it. */
export interface RegisteredModelEntry extends ModelEntry {
  /** No new jobs; jobs already posted go on. */
  readonly retired: boolean;
  readonly owner: Address;
}

/** The id is not registered on the registry asked. */
export class UnknownModelError extends Error {
  override name = "UnknownModelError";
}

/** ModelRegistry.registerModel's arguments for the model in `files`, its files found at `uri`. */
export function registrationArgs(files: ModelFiles, uri: string): readonly [Hex, number, number, number, number, string] {
  const shape = modelShape(files.model);
  return [files.root, shape.inputSize, shape.outputSize, shape.layerCount, shape.maxWidth, uri];
}

/**
 * Registers the model in `files` (already checked by loadModelDir) with the URI its files are
 * published at; the actor's account owns the entry. A revert throws decoded (RefuteContractError).
 */
export async function registerModel(actor: ChainActor, files: ModelFiles, uri: string): Promise<{ modelId: bigint; transactionHash: Hex }> {
  const { hash } = await send(actor, { address: actor.deployment.contracts.modelRegistry, abi: modelRegistryAbi, functionName: "registerModel", args: registrationArgs(files, uri) });
  const receipt = await actor.publicClient.getTransactionReceipt({ hash });
  const [event] = parseEventLogs({ abi: modelRegistryAbi, logs: receipt.logs, eventName: "ModelRegistered" });
  if (!event) throw new Error(`registerModel: no ModelRegistered event in ${hash}`);
  return { modelId: event.args.modelId, transactionHash: hash };
}

/**
 * The entry `modelId` of the registry at `registry`, Dense or graph (a graph entry has `graph`, its
 * GraphShape); an unknown id throws {@link UnknownModelError}.
 */
export async function readRegisteredModel(publicClient: RefutePublicClient, registry: Address, modelId: bigint): Promise<RegisteredModelEntry> {
  const unknown = () => new UnknownModelError(`model ${modelId} is not registered on this deployment (registry ${registry})`);
  if (modelId < 1n || modelId >= 1n << 64n) throw unknown();
  let m;
  try {
    m = await publicClient.readContract({ address: registry, abi: modelRegistryAbi, functionName: "getModel", args: [modelId] });
  } catch (e) {
    const decoded = decodeError(e);
    if (decoded instanceof RefuteContractError && decoded.errorName === "ModelRegistryUnknownModel") throw unknown();
    throw decoded;
  }
  return {
    modelId,
    root: m.root,
    inputSize: BigInt(m.inputSize),
    outputSize: BigInt(m.outputSize),
    layerCount: BigInt(m.layerCount),
    maxWidth: BigInt(m.maxWidth),
    uri: m.uri,
    retired: m.retired,
    owner: m.owner,
    ...(m.maxWidth === 0
      ? { graph: { opCount: m.graph.opCount, leafCount: m.graph.leafCount, maxTensorLeaves: m.graph.maxTensorLeaves, maxRowChunks: m.graph.maxRowChunks } }
      : {}),
  };
}

/**
 * Where the Dense files differ from the entry: the model root (both roots), then each shape field that
 * differs (both values). One line each, "field: …"; empty when the files are the entry's model. A
 * graph entry gets the kindMismatch line and the roots instead of the shape fields.
 */
export function modelFileMismatches(entry: Omit<ModelEntry, "modelId" | "uri">, files: ModelFiles): string[] {
  const problems: string[] = [];
  if (isGraphEntry(entry)) problems.push(kindMismatch(entry));
  if (files.root.toLowerCase() !== entry.root.toLowerCase()) problems.push(`model root: integer.onnx commits to ${files.root}, the registry holds ${entry.root}`);
  if (isGraphEntry(entry)) return problems;
  const shape = modelShape(files.model);
  for (const name of SHAPE_FIELDS) {
    if (BigInt(shape[name]) !== entry[name]) problems.push(`${name}: the files have ${shape[name]}, the registry holds ${entry[name]}`);
  }
  return problems;
}

/**
 * Where the files of either kind differ from the entry: the {@link modelFileMismatches} of a Dense
 * folder (loadModelDir) or the graphModelFileMismatches of a graph one (readGraphModelFolder).
 */
export function folderMismatches(entry: Omit<ModelEntry, "modelId" | "uri">, files: ModelFiles | GraphModelFiles): string[] {
  return "program" in files ? graphModelFileMismatches(entry, files) : modelFileMismatches(entry, files);
}

/**
 * Every reason the folder in `files` is not the live registered model `registered`: its
 * {@link folderMismatches}, and whether the entry is retired. Empty: the folder is that model.
 */
export function checkRegisteredModel(registered: Omit<RegisteredModelEntry, "uri" | "owner">, files: ModelFiles | GraphModelFiles): string[] {
  const problems = folderMismatches(registered, files);
  if (registered.retired) problems.push(`retired: its owner retired model ${registered.modelId} (no new jobs)`);
  return problems;
}
