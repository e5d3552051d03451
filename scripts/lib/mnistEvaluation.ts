import * as ort from "onnxruntime-node";
import { argmax } from "../../core/argmax";
import { MNIST_CLASSES, MNIST_PIXELS, type Digit } from "../../core/mnist";
import { OrtTraceRunner } from "../../core/onnx/ortTraceRunner";
import { quantiseInput } from "../../core/quantise";

/** Held-out digits as one int8 batch, quantised at the model's input scale. */
export function quantiseDigits(digits: readonly Digit[], inputScale: number): Int8Array {
  const batch = new Int8Array(digits.length * MNIST_PIXELS);
  digits.forEach((d, k) => batch.set(quantiseInput(d.pixels, inputScale), k * MNIST_PIXELS));
  return batch;
}

function accuracy(outputs: ArrayLike<number>, digits: readonly Digit[]): number {
  let correct = 0;
  digits.forEach((d, k) => (correct += argmax(outputs, k * MNIST_CLASSES, MNIST_CLASSES) === d.label ? 1 : 0));
  return correct / digits.length;
}

/** Accuracy of the float ONNX model, run by onnxruntime in float32. */
export async function floatAccuracy(floatOnnx: Uint8Array, digits: readonly Digit[]): Promise<number> {
  const session = await ort.InferenceSession.create(floatOnnx);
  try {
    const input = new Float32Array(digits.length * MNIST_PIXELS);
    digits.forEach((d, k) => input.set(d.pixels, k * MNIST_PIXELS));
    const result = await session.run({ [session.inputNames[0]]: new ort.Tensor("float32", input, [digits.length, 1, 28, 28]) });
    return accuracy(result[session.outputNames[0]].data as Float32Array, digits);
  } finally {
    await session.release();
  }
}

/** Accuracy of the integer model, run by onnxruntime on int8 inputs. */
export async function integerAccuracy(integerOnnx: Uint8Array, digits: readonly Digit[], inputScale: number): Promise<number> {
  const runner = await OrtTraceRunner.load(integerOnnx);
  try {
    const trace = await runner.runBatch(quantiseDigits(digits, inputScale), digits.length);
    return accuracy(trace[trace.length - 1], digits);
  } finally {
    await runner.release();
  }
}
