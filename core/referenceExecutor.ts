import { clamp, requantise } from "./intSemantics";
import type { DenseLayer, IntegerModel } from "./model";

/** A whole trace: trace[0] is the input, trace[l] the output of layer l (1-based). */
export type Trace = Int8Array[];

/**
 * The plain TypeScript reference executor: the integer semantics written as loops.
 * It is the executor the others are tested against, so it stays simple.
 */
export function runReference(model: IntegerModel, input: Int8Array): Trace {
  if (input.length !== model.inputSize) throw new RangeError(`input has ${input.length} elements, the model expects ${model.inputSize}`);
  const trace: Trace = [input];
  for (const layer of model.layers) trace.push(denseForward(layer, trace[trace.length - 1]));
  return trace;
}

/** One Dense layer: accumulate in int32, requantise, clamp. */
export function denseForward(layer: DenseLayer, x: Int8Array): Int8Array {
  const out = new Int8Array(layer.nOut);
  for (let j = 0; j < layer.nOut; j++) {
    out[j] = clamp(requantise(denseAccumulator(layer, x, j), layer.multiplier, layer.shift), layer.clampLo, layer.clampHi);
  }
  return out;
}

/** bias[j] + Σ_i w[j][i]·x[i]: exact in a double, since |acc| < 2^31 (model validation). */
export function denseAccumulator(layer: DenseLayer, x: Int8Array, j: number): number {
  const row = j * layer.nIn;
  let acc = layer.bias[j];
  for (let i = 0; i < layer.nIn; i++) acc += layer.weights[row + i] * x[i];
  return acc;
}
