import type { FloatModel } from "../../core/onnx/floatModel";
import type { Rng } from "../../core/rng";

/**
 * A seeded float MLP: He-scaled normal weights, small biases. `relu[i]` says whether layer i + 1 has
 * ReLU; by default the hidden layers do and the last does not.
 */
export function randomFloatModel(rng: Rng, sizes: readonly number[], relu: readonly boolean[] = sizes.slice(2).map(() => true).concat(false)): FloatModel {
  const layers = sizes.slice(1).map((nOut, i) => {
    const nIn = sizes[i];
    return {
      nIn,
      nOut,
      weights: Float32Array.from({ length: nIn * nOut }, () => rng.normal() * Math.sqrt(2 / nIn)),
      bias: Float32Array.from({ length: nOut }, () => rng.normal() * 0.1),
      relu: relu[i],
      node: `fc${i + 1}`,
    };
  });
  return { inputSize: sizes[0], layers };
}
