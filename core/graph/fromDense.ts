import type { IntegerModel } from "../model";
import type { Constant, GraphProgram, Op } from "./program";

/**
 * A chain of Dense layers (core/model.ts) as a graph program of Dense ops: layer l reads value
 * l − 1 and its constants are 2l (weights, [nOut, nIn] output-major, as the layer stores them)
 * and 2l + 1 (biases). Every element computes as before (the same accumulator, rounding and
 * clamp), and the weight and bias trees commit to the same roots (test/graph/fromDense.test.ts), so
 * one graph game can serve the MLPs registered today.
 */
export function denseModelProgram(model: IntegerModel): GraphProgram {
  const constants: Constant[] = [];
  const ops: Op[] = model.layers.map((layer, l) => {
    constants.push({ dtype: "int8", shape: [layer.nOut, layer.nIn], data: layer.weights }, { dtype: "int32", shape: [layer.nOut], data: layer.bias });
    return { kind: "dense", inputs: [l], weight: 2 * l, bias: 2 * l + 1, multiplier: [layer.multiplier], shift: [layer.shift], clampLo: layer.clampLo, clampHi: layer.clampHi };
  });
  return { inputShape: [model.inputSize], constants, ops };
}
