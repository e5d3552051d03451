import { type ModelCommitment, type TraceCommitment, commitTrace } from "./commitments";
import { type DenseDescriptor, type StepWitness, biasWitness, denseDescriptor, partialSums, stepWitness } from "./denseStep";
import type { IntegerModel } from "./model";
import { activationSize } from "./model";
import { type Trace, runReference } from "./referenceExecutor";

/** A value committed in a tree, with its position and the siblings that prove it. */
export interface Opening {
  readonly value: Uint8Array;
  readonly index: number;
  readonly proof: Uint8Array[];
}

/**
 * Everything one side of a dispute may have to claim, open or prove about one job, computed from
 * the model and the input by deterministic re-execution: the node and the watcher keep no trace
 * between runs, so a restart loses nothing. Layers are numbered as in the spec: activation 0 is
 * the input, activation l the output of layer l (1 … L).
 */
export class TraceProvider {
  private readonly sums = new Map<string, number[]>();

  private constructor(
    readonly model: IntegerModel,
    readonly modelCommitment: ModelCommitment,
    readonly trace: Trace,
    readonly commitment: TraceCommitment,
  ) {}

  /** Re-executes `model` on `input` with the reference executor and commits the trace. */
  static fromInput(model: IntegerModel, modelCommitment: ModelCommitment, input: Int8Array): TraceProvider {
    return TraceProvider.fromTrace(model, modelCommitment, runReference(model, input));
  }

  /** Commits a trace computed elsewhere (onnxruntime); its shape must be the model's. */
  static fromTrace(model: IntegerModel, modelCommitment: ModelCommitment, trace: Trace): TraceProvider {
    if (trace.length !== model.layers.length + 1) throw new RangeError(`a trace of this model has ${model.layers.length + 1} activations, got ${trace.length}`);
    trace.forEach((a, l) => {
      if (a.length !== activationSize(model, l)) throw new RangeError(`activation ${l} has ${a.length} elements, the model gives ${activationSize(model, l)}`);
    });
    if (modelCommitment.layers.length !== model.layers.length) throw new RangeError("the model commitment is not this model's");
    return new TraceProvider(model, modelCommitment, trace, commitTrace(trace));
  }

  get layerCount(): number {
    return this.model.layers.length;
  }

  /** The trace root T. */
  get traceRoot(): Uint8Array {
    return this.commitment.root;
  }

  /** The model's output, a_L. */
  get output(): Int8Array {
    return this.trace[this.layerCount];
  }

  /** Activation root r_l, opened against T at leaf l. */
  activationRoot(l: number): Opening {
    this.checkActivation(l);
    return { value: this.commitment.activations[l].root, index: l, proof: this.commitment.tree.proof(l) };
  }

  /** Node (height, index) of activation l's tree; height 0 is the leaves. */
  activationNode(l: number, height: number, index: number): Uint8Array {
    this.checkActivation(l);
    return this.commitment.activations[l].node(height, index);
  }

  /** The two children of node (height, index), height ≥ 1, of activation l's tree: what a descent reveals. */
  activationChildren(l: number, height: number, index: number): [Uint8Array, Uint8Array] {
    if (height < 1) throw new RangeError("a leaf has no children");
    return [this.activationNode(l, height - 1, 2 * index), this.activationNode(l, height - 1, 2 * index + 1)];
  }

  /** Leaf k of activation l, opened against r_l. */
  activationLeaf(l: number, k: number): Opening {
    this.checkActivation(l);
    const tree = this.commitment.activations[l];
    return { value: tree.leaf(k), index: k, proof: tree.proof(k) };
  }

  /** Element i of activation l. */
  element(l: number, i: number): number {
    this.checkActivation(l);
    if (!Number.isSafeInteger(i) || i < 0 || i >= this.trace[l].length) throw new RangeError(`element ${i} outside activation ${l} of ${this.trace[l].length}`);
    return this.trace[l][i];
  }

  /** Layer l's descriptor and its hash, opened against the model root at leaf l − 1. */
  descriptor(l: number): { readonly descriptor: DenseDescriptor; readonly opening: Opening } {
    this.checkLayer(l);
    const c = this.modelCommitment.layers[l - 1];
    return {
      descriptor: denseDescriptor(this.model.layers[l - 1], c),
      opening: { value: c.descriptorHash, index: l - 1, proof: this.modelCommitment.tree.proof(l - 1) },
    };
  }

  /** Bias j of layer l with its leaf and proof against the layer's bias root. */
  bias(l: number, j: number): ReturnType<typeof biasWitness> {
    this.checkLayer(l);
    return biasWitness(this.modelCommitment.layers[l - 1], j);
  }

  /** s_0 … s_R of output j of layer l: s_0 the bias, s_R the accumulator. */
  partialSums(l: number, j: number): readonly number[] {
    this.checkLayer(l);
    const key = `${l}/${j}`;
    let sums = this.sums.get(key);
    if (!sums) {
      sums = partialSums(this.model.layers[l - 1], this.trace[l - 1], j);
      this.sums.set(key, sums);
    }
    return sums;
  }

  /** The witness of accumulation step k of output j of layer l. */
  step(l: number, j: number, k: number): StepWitness {
    this.checkLayer(l);
    return stepWitness(this.model.layers[l - 1], this.modelCommitment.layers[l - 1], this.commitment.activations[l - 1], j, k);
  }

  private checkActivation(l: number): void {
    if (!Number.isSafeInteger(l) || l < 0 || l > this.layerCount) throw new RangeError(`activation ${l} outside 0..${this.layerCount}`);
  }

  private checkLayer(l: number): void {
    if (!Number.isSafeInteger(l) || l < 1 || l > this.layerCount) throw new RangeError(`layer ${l} outside 1..${this.layerCount}`);
  }
}
