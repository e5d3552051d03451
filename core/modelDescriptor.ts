import { toHex } from "./bytes";
import type { ModelCommitment } from "./commitments";
import type { IntegerModel } from "./model";

/**
 * The JSON descriptor published next to an integer model file: sizes, every committed
 * constant and root, and the model root that the registry stores. It is derived from the
 * model and its commitment, never edited by hand.
 */
export interface ModelDescriptor {
  readonly name: string;
  readonly inputSize: number;
  readonly outputSize: number;
  readonly layerCount: number;
  readonly parameterCount: number;
  readonly modelRoot: `0x${string}`;
  readonly layers: readonly {
    readonly op: "dense";
    readonly nIn: number;
    readonly nOut: number;
    readonly multiplier: number;
    readonly shift: number;
    readonly clampLo: number;
    readonly clampHi: number;
    readonly weightRoot: `0x${string}`;
    readonly biasRoot: `0x${string}`;
    readonly descriptorHash: `0x${string}`;
  }[];
  /** Anything else the producer records (scales, training configuration, accuracy). */
  readonly meta: Record<string, unknown>;
}

export function describeModel(name: string, model: IntegerModel, commitment: ModelCommitment, meta: Record<string, unknown> = {}): ModelDescriptor {
  return {
    name,
    inputSize: model.inputSize,
    outputSize: model.layers[model.layers.length - 1].nOut,
    layerCount: model.layers.length,
    parameterCount: model.layers.reduce((n, l) => n + l.weights.length + l.bias.length, 0),
    modelRoot: toHex(commitment.root),
    layers: model.layers.map((l, i) => ({
      op: l.op,
      nIn: l.nIn,
      nOut: l.nOut,
      multiplier: l.multiplier,
      shift: l.shift,
      clampLo: l.clampLo,
      clampHi: l.clampHi,
      weightRoot: toHex(commitment.layers[i].weights.root),
      biasRoot: toHex(commitment.layers[i].biases.root),
      descriptorHash: toHex(commitment.layers[i].descriptorHash),
    })),
    meta,
  };
}
