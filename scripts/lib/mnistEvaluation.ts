import { MNIST_PIXELS, type Digit } from "../../core/mnist";
import { quantiseInput } from "../../core/quantise";

/** Held-out digits as one int8 batch, quantised at the model's input scale. */
export function quantiseDigits(digits: readonly Digit[], inputScale: number): Int8Array {
  const batch = new Int8Array(digits.length * MNIST_PIXELS);
  digits.forEach((d, k) => batch.set(quantiseInput(d.pixels, inputScale), k * MNIST_PIXELS));
  return batch;
}
