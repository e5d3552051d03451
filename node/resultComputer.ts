import { keccak256, toBytes } from "viem";
import type { ModelCommitment } from "../core/commitments";
import { lieAt, propagatingLie, withSums } from "../core/dispute/lies";
import type { DisputeTrace } from "../core/dispute/planner";
import type { GraphModelCommitment } from "../core/graph/commitments";
import { executeProgram } from "../core/graph/execute";
import { type GraphGameTrace, gameTraceOf } from "../core/graph/game/gameTrace";
import { lyingRun, withFolds } from "../core/graph/game/lies";
import { OrtGraphRunner } from "../core/graph/ortGraphRunner";
import type { GraphProgram } from "../core/graph/program";
import { GraphTraceProvider } from "../core/graph/traceProvider";
import type { IntegerModel } from "../core/model";
import type { ModelFolder } from "../core/modelFolders";
import { OrtTraceRunner } from "../core/onnx/ortTraceRunner";
import { type Trace, runReference } from "../core/referenceExecutor";
import { Rng } from "../core/rng";
import { TraceProvider } from "../core/traceProvider";

/**
 * How the node computes a result and the trace it defends: onnxruntime (or the reference executor)
 * on the job's input, committed by TraceProvider (a Dense model) or GraphTraceProvider (a graph program). The cheat modes exist for demos and tests only:
 * each lie is a deterministic function of the job, so a restarted cheating node defends the same
 * lie it submitted (and still loses).
 */

/** An honest node, or one of the explicit cheats. */
export type CheatMode =
  | { readonly kind: "none" }
  /** changes one output element (the lie defended with partial sums that jump at the last chunk) */
  | { readonly kind: "wrong-output" }
  /** changes one element of layer `layer` (a graph program: of trace leaf `layer`), the later ones recomputed from it */
  | { readonly kind: "wrong-layer"; readonly layer: number }
  /** never runs the model: random activations for every layer (Dense models only) */
  | { readonly kind: "lazy" };

/** Parses "none", "wrong-output", "wrong-layer:<l>" or "lazy". */
export function parseCheatMode(text: string): CheatMode {
  if (text === "none" || text === "wrong-output" || text === "lazy") return { kind: text };
  const m = /^wrong-layer:(\d+)$/.exec(text);
  if (m) return { kind: "wrong-layer", layer: Number(m[1]) };
  throw new Error(`cheat mode must be none, wrong-output, wrong-layer:<layer> or lazy, got ${JSON.stringify(text)}`);
}

export function describeCheat(cheat: CheatMode): string {
  return cheat.kind === "wrong-layer" ? `wrong-layer:${cheat.layer}` : cheat.kind;
}

/** A Dense model the node serves. */
export interface ServedModel {
  readonly kind?: "dense";
  readonly modelId: bigint;
  readonly model: IntegerModel;
  readonly commitment: ModelCommitment;
  /** onnxruntime session on the model's integer graph; the reference executor when absent. */
  readonly runner?: OrtTraceRunner;
}

/** A graph program the node serves. */
export interface GraphServedModel {
  readonly kind: "graph";
  readonly modelId: bigint;
  readonly program: GraphProgram;
  readonly commitment: GraphModelCommitment;
  /** onnxruntime session on the program's ONNX graph; the reference executor when absent. */
  readonly runner?: OrtGraphRunner;
}

/** Any model the node serves. */
export type NodeModel = ServedModel | GraphServedModel;

/** What the node serves of model `modelId` whose files are `folder`: the model or program, its commitment, an onnxruntime session on it. */
export async function nodeModelOf(modelId: bigint, folder: ModelFolder, options: { readonly executionProviders?: readonly string[] } = {}): Promise<NodeModel> {
  const executionProviders = [...(options.executionProviders ?? ["cpu"])];
  if (folder.kind === "graph") {
    const { program, commitment } = folder.files;
    return { kind: "graph", modelId, program, commitment, runner: await OrtGraphRunner.create(program, { executionProviders }) };
  }
  const { model, commitment, onnx } = folder.files;
  return { modelId, model, commitment, runner: await OrtTraceRunner.load(onnx, { executionProviders }) };
}

export interface ComputedResult {
  /** What the node defends in a dispute. */
  readonly trace: DisputeTrace;
  /** The output it submits. */
  readonly output: Int8Array;
  /** True when this result is a deliberate lie. */
  readonly cheated: boolean;
}

/** Runs the model on `input` (onnxruntime when available) and returns the whole trace. */
export async function runTrace(served: ServedModel, input: Int8Array): Promise<Trace> {
  return served.runner ? served.runner.run(input) : runReference(served.model, input);
}

/** The result the node submits and defends for `jobId`'s `attempt`, honest or as `cheat` says. */
export async function computeResult(served: ServedModel, input: Int8Array, cheat: CheatMode, jobId: bigint, attempt: bigint): Promise<ComputedResult> {
  const { model, commitment } = served;
  const L = model.layers.length;
  if (cheat.kind === "lazy") {
    const rng = new Rng(seedOf(jobId, attempt));
    const trace: Trace = [input, ...model.layers.map((layer) => Int8Array.from({ length: layer.nOut }, () => rng.int(layer.clampLo, layer.clampHi)))];
    const lying = TraceProvider.fromTrace(model, commitment, trace);
    return { trace: lying, output: lying.output, cheated: true };
  }
  const honest = await runTrace(served, input);
  if (cheat.kind === "none") {
    const provider = TraceProvider.fromTrace(model, commitment, honest);
    return { trace: provider, output: provider.output, cheated: false };
  }
  const layer = cheat.kind === "wrong-layer" ? Math.min(Math.max(cheat.layer, 1), L) : L;
  const lie = propagatingLie(model, honest, layer) ?? { trace: lieAt(model, honest, L, 0, true) };
  const lying = TraceProvider.fromTrace(model, commitment, lie.trace);
  return { trace: withSums(lying, "jumpLast"), output: lying.output, cheated: true };
}

function seedOf(jobId: bigint, attempt: bigint): number {
  return Number(BigInt(keccak256(toBytes(`${jobId}/${attempt}`))) & 0x7fffffffn);
}

/** A graph program's result: the run the node submits and defends. */
export interface GraphComputedResult {
  /** The committed run: its trace root, its output and the proofs of leaf 0 and leaf n − 1 for the submission. */
  readonly run: GraphTraceProvider;
  /** What the node answers in a game (the run's, with the cheat's folds). */
  readonly trace: GraphGameTrace;
  readonly output: Int8Array;
  readonly cheated: boolean;
}

/**
 * The result the node submits and defends for a job on a graph program, honest or as `cheat` says: "wrong-output"
 * changes element 0 of the output leaf, "wrong-layer:<l>" element 0 of trace leaf l (1 … n − 1) with everything
 * after it recomputed; the lie is defended with folds that jump at the last chunk. "lazy" is refused.
 */
export async function computeGraphResult(served: GraphServedModel, input: Int8Array, cheat: CheatMode): Promise<GraphComputedResult> {
  if (cheat.kind === "lazy") throw new Error("the lazy cheat runs Dense models only; use wrong-output or wrong-layer:<leaf> for a graph program");
  const trace = served.runner ? await served.runner.run(input) : executeProgram(served.program, input);
  const honest = GraphTraceProvider.fromTrace(served.program, trace, served.commitment);
  if (cheat.kind === "none") return { run: honest, trace: gameTraceOf(honest), output: honest.output, cheated: false };
  const last = honest.leafCount - 1;
  const leaf = cheat.kind === "wrong-layer" ? Math.min(Math.max(cheat.layer, 1), last) : last;
  const run = lyingRun(honest, { leaf, element: 0, propagate: true });
  return { run, trace: withFolds(gameTraceOf(run), "jumpLast"), output: run.output, cheated: true };
}
