import { MNIST_MODEL_DIR, inputScaleOf } from "../core/modelFiles";
import { readModelFolder } from "../core/modelFolders";
import { MNIST_CLASSES, loadMnist } from "../core/mnist";
import { quantiseInput } from "../core/quantise";

/**
 * Real handwritten digits to post to the MNIST reference model: the held-out test digits of
 * core/mnist.ts (never trained or calibrated on), quantised at the model's input scale exactly as
 * the accuracy measurement does.
 */

export interface HeldOutDigit {
  readonly label: number;
  /** Index in the held-out set. */
  readonly testIndex: number;
  /** 784 int8 pixels, the model's input. */
  readonly input: Int8Array;
}

let test: ReturnType<typeof loadMnist>["test"] | undefined;

/** The `nth` held-out digit (0-based) whose label is `label`, quantised for the model in `modelDir` (a Dense or a graph folder). */
export function heldOutDigit(label: number, nth = 0, modelDir = MNIST_MODEL_DIR): HeldOutDigit {
  if (!Number.isInteger(label) || label < 0 || label >= MNIST_CLASSES) throw new RangeError(`digit must be an integer 0..9, got ${label}`);
  if (!Number.isInteger(nth) || nth < 0) throw new RangeError(`sample must be a non-negative integer, got ${nth}`);
  test ??= loadMnist().test;
  const matches = test.flatMap((d, i) => (d.label === label ? [i] : []));
  if (nth >= matches.length) throw new RangeError(`there are ${matches.length} held-out digits ${label}; sample ${nth} is out of range`);
  const testIndex = matches[nth];
  return { label, testIndex, input: quantiseInput(test[testIndex].pixels, inputScaleOf(readModelFolder(modelDir).files)) };
}
