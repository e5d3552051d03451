import { expect } from "chai";
import type { IntegerModel } from "../../core/model";
import { runReference } from "../../core/referenceExecutor";

/**
 * Compares a batched onnxruntime trace with the reference executor, every layer and every
 * element; returns how many elements were compared. A mismatch names input, layer and element.
 */
export function expectTraceMatchesReference(model: IntegerModel, batchTrace: Int8Array[], batch: number, label: string): number {
  let compared = 0;
  for (let k = 0; k < batch; k++) {
    const input = batchTrace[0].subarray(k * model.inputSize, (k + 1) * model.inputSize);
    const reference = runReference(model, input);
    for (let l = 1; l < reference.length; l++) {
      const n = reference[l].length;
      const got = batchTrace[l].subarray(k * n, (k + 1) * n);
      for (let j = 0; j < n; j++) {
        if (got[j] !== reference[l][j]) {
          expect.fail(`${label}: input ${k}, layer ${l}, element ${j}: onnxruntime ${got[j]}, reference ${reference[l][j]}`);
        }
      }
      compared += n;
    }
  }
  return compared;
}
