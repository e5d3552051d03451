import {
  INT8_MAX,
  INT8_MIN,
  INT32_MAX,
  INT32_MIN,
  MULTIPLIER_MAX,
  SHIFT_MAX,
  SHIFT_MIN,
  accumulatorBound,
  accumulatorFitsInt32,
} from "./intSemantics";

/** Operation codes of layer descriptors; the numbers are part of the model commitment. */
export const OP_DENSE = 1;

/**
 * A fully connected layer: out[j] = clamp(requantise(bias[j] + Σ_i weights[j·nIn + i] · in[i])).
 * Weights are stored output-major (row j holds the nIn weights of output j), the layout
 * that the weight commitment uses.
 */
export interface DenseLayer {
  readonly op: "dense";
  readonly nIn: number;
  readonly nOut: number;
  readonly weights: Int8Array;
  readonly bias: Int32Array;
  readonly multiplier: number;
  readonly shift: number;
  readonly clampLo: number;
  readonly clampHi: number;
}

/** Every kind of layer; Conv2D, MaxPool, residual Add and transformer ops join this union. */
export type Layer = DenseLayer;

/** A model in the integer form: an int8 input vector flows through the layers in order. */
export interface IntegerModel {
  readonly inputSize: number;
  readonly layers: readonly Layer[];
}

/** A model that breaks the integer semantics; the message names the layer and the rule. */
export class ModelValidationError extends Error {
  constructor(
    readonly layer: number,
    readonly problem: string,
  ) {
    super(`layer ${layer}: ${problem}`);
    this.name = "ModelValidationError";
  }
}

/** Output size of layer `l` (1-based); layer 0 is the input. */
export function activationSize(model: IntegerModel, l: number): number {
  return l === 0 ? model.inputSize : model.layers[l - 1].nOut;
}

/**
 * The shape the registry records for a model: input and output sizes, layer count and the widest
 * layer input or output (which bounds a dispute's length, so its bonds and smallest collateral).
 */
export interface ModelShape {
  readonly inputSize: number;
  readonly outputSize: number;
  readonly layerCount: number;
  readonly maxWidth: number;
}

/** The registry's shape of `model`. */
export function modelShape(model: IntegerModel): ModelShape {
  const sizes = [model.inputSize, ...model.layers.map((l) => l.nOut)];
  return { inputSize: model.inputSize, outputSize: sizes[sizes.length - 1], layerCount: model.layers.length, maxWidth: Math.max(...sizes) };
}

/** Throws {@link ModelValidationError} unless `model` satisfies every rule of docs/integer-semantics.md. */
export function validateModel(model: IntegerModel): void {
  if (!isPositiveInt(model.inputSize)) throw new ModelValidationError(0, `input size must be a positive integer, got ${model.inputSize}`);
  if (model.layers.length === 0) throw new ModelValidationError(0, "a model needs at least one layer");
  model.layers.forEach((layer, i) => validateDense(layer, i + 1, activationSize(model, i)));
}

function validateDense(layer: DenseLayer, l: number, inputSize: number): void {
  const fail = (problem: string): never => {
    throw new ModelValidationError(l, problem);
  };
  if (layer.op !== "dense") fail(`unknown op ${String(layer.op)}`);
  if (layer.nIn !== inputSize) fail(`expects ${layer.nIn} inputs but the previous layer gives ${inputSize}`);
  if (!isPositiveInt(layer.nOut)) fail(`output size must be a positive integer, got ${layer.nOut}`);
  if (layer.weights.length !== layer.nIn * layer.nOut) fail(`has ${layer.weights.length} weights, needs ${layer.nIn}×${layer.nOut}`);
  if (layer.bias.length !== layer.nOut) fail(`has ${layer.bias.length} biases, needs ${layer.nOut}`);
  if (!Number.isInteger(layer.multiplier) || layer.multiplier < 0 || layer.multiplier > MULTIPLIER_MAX) {
    fail(`multiplier ${layer.multiplier} outside 0..${MULTIPLIER_MAX}`);
  }
  if (!Number.isInteger(layer.shift) || layer.shift < SHIFT_MIN || layer.shift > SHIFT_MAX) fail(`shift ${layer.shift} outside ${SHIFT_MIN}..${SHIFT_MAX}`);
  if (!Number.isInteger(layer.clampLo) || !Number.isInteger(layer.clampHi) || layer.clampLo < INT8_MIN || layer.clampHi > INT8_MAX || layer.clampLo > layer.clampHi) {
    fail(`clamp [${layer.clampLo}, ${layer.clampHi}] is not a range inside [${INT8_MIN}, ${INT8_MAX}]`);
  }
  let maxAbsBias = 0;
  for (const b of layer.bias) {
    if (b < INT32_MIN || b > INT32_MAX) fail(`bias ${b} outside int32`);
    maxAbsBias = Math.max(maxAbsBias, Math.abs(b));
  }
  if (!accumulatorFitsInt32(layer.nIn, maxAbsBias)) {
    fail(`accumulator could overflow int32: max|bias| ${maxAbsBias} + fan-in ${layer.nIn} × 16384 = ${accumulatorBound(layer.nIn, maxAbsBias)} > ${INT32_MAX}`);
  }
}

function isPositiveInt(n: number): boolean {
  return Number.isSafeInteger(n) && n > 0;
}
