import { type Hex, parseEventLogs } from "viem";
import { modelRegistryAbi } from "../abi";
import { toHex } from "../bytes";
import { type GraphDisputeShape, graphDisputeShape } from "../graph/game/disputeShape";
import type { GraphModelFiles } from "../graph/modelFolder";
import { sizeOf } from "../graph/program";
import { type ChainActor, send } from "./actor";
import type { ModelEntry } from "./modelRegistration";

/**
 * A graph program's folder (program.json: core/graph/modelFolder.ts) and the registry, as
 * ./modelRegistration.ts is for a Dense folder: registering it with its dispute shape
 * (ModelRegistry.registerGraphModel) and comparing it with an entry, field by field. Reading an entry
 * back (readRegisteredModel) and the whole check (checkRegisteredModel) are shared with Dense folders.
 */

/** The GraphShape fields the registry records, in the struct's order. */
export const GRAPH_SHAPE_FIELDS = ["opCount", "leafCount", "maxTensorLeaves", "maxRowChunks"] as const;

/** What the registry records for a graph program: its root, its input and output sizes (int8 elements), its dispute shape. */
export interface GraphRegistration {
  readonly root: Hex;
  readonly inputSize: number;
  readonly outputSize: number;
  readonly shape: GraphDisputeShape;
}

/** True when the entry is a graph program's: the registry marks one with a widest layer of zero. */
export function isGraphEntry(entry: Pick<ModelEntry, "maxWidth">): boolean {
  return entry.maxWidth === 0n;
}

/** The line that says a folder of one kind was compared with an entry of the other. */
export function kindMismatch(entry: Pick<ModelEntry, "maxWidth">): string {
  return isGraphEntry(entry)
    ? "kind: the registry holds a graph program (registerGraphModel), the folder is a Dense model (integer.onnx)"
    : "kind: the registry holds a Dense model (registerModel), the folder is a graph program (program.json)";
}

/** The root, sizes and dispute shape of the program in `files` (read by readGraphModelFolder). */
export function graphRegistration(files: GraphModelFiles): GraphRegistration {
  return {
    root: toHex(files.commitment.root),
    inputSize: sizeOf(files.program.inputShape),
    outputSize: sizeOf(files.shapes[files.shapes.length - 1]),
    shape: graphDisputeShape(files.program),
  };
}

/**
 * Registers the graph program in `files` (already checked by readGraphModelFolder) with the URI its
 * files are published at; the actor's account owns the entry. Returns the new id (from the
 * GraphModelRegistered event), the transaction and what was registered. A revert throws decoded
 * (RefuteContractError).
 */
export async function registerGraphModel(actor: ChainActor, files: GraphModelFiles, uri: string): Promise<{ modelId: bigint; transactionHash: Hex; registration: GraphRegistration }> {
  const registration = graphRegistration(files);
  const { root, inputSize, outputSize, shape } = registration;
  const { hash } = await send(actor, { address: actor.deployment.contracts.modelRegistry, abi: modelRegistryAbi, functionName: "registerGraphModel", args: [root, inputSize, outputSize, shape, uri] });
  const receipt = await actor.publicClient.getTransactionReceipt({ hash });
  const [event] = parseEventLogs({ abi: modelRegistryAbi, logs: receipt.logs, eventName: "GraphModelRegistered" });
  if (!event) throw new Error(`registerGraphModel: no GraphModelRegistered event in ${hash}`);
  return { modelId: event.args.modelId, transactionHash: hash, registration };
}

/**
 * Where the graph program in `files` differs from the entry: the model root (both roots), then the
 * input and output sizes and each GraphShape field that differs (both values). One line each,
 * "field: …"; empty when the files are the entry's model. A Dense entry gets the kindMismatch line
 * and the roots instead. (The entry's layerCount is leafCount − 1 by construction: not compared apart.)
 */
export function graphModelFileMismatches(entry: Pick<ModelEntry, "root" | "inputSize" | "outputSize" | "maxWidth" | "graph">, files: GraphModelFiles): string[] {
  const problems: string[] = [];
  const r = graphRegistration(files);
  if (!isGraphEntry(entry)) problems.push(kindMismatch(entry));
  if (r.root.toLowerCase() !== entry.root.toLowerCase()) problems.push(`model root: program.json commits to ${r.root}, the registry holds ${entry.root}`);
  if (!isGraphEntry(entry)) return problems;
  for (const name of ["inputSize", "outputSize"] as const) {
    if (BigInt(r[name]) !== entry[name]) problems.push(`${name}: the files have ${r[name]}, the registry holds ${entry[name]}`);
  }
  for (const name of GRAPH_SHAPE_FIELDS) {
    const held = entry.graph?.[name] ?? 0;
    if (r.shape[name] !== held) problems.push(`${name}: the files have ${r.shape[name]}, the registry holds ${held}`);
  }
  return problems;
}
