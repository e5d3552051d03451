import { expect } from "chai";
import { readFileSync } from "node:fs";
import path from "node:path";
import { loadMnist } from "../../core/mnist";
import type { IntegerModel } from "../../core/model";
import { buildIntegerOnnx } from "../../core/onnx/integerGraph";
import { OrtTraceRunner } from "../../core/onnx/ortTraceRunner";
import { Rng } from "../../core/rng";
import { quantiseDigits } from "../../scripts/lib/mnistEvaluation";
import { type RequantStyle, syntheticInputs, syntheticModel } from "../../scripts/lib/syntheticModel";
import { expectTraceMatchesReference } from "../helpers/traces";

const MODEL_DIR = path.join(__dirname, "..", "..", "models", "mnist-mlp");

async function runBoth(model: IntegerModel, inputs: Int8Array, batch: number, label: string): Promise<number> {
  const runner = await OrtTraceRunner.load(buildIntegerOnnx(model));
  try {
    return expectTraceMatchesReference(model, await runner.runBatch(inputs, batch), batch, label);
  } finally {
    await runner.release();
  }
}

describe("onnxruntime and the reference executor agree bit for bit", () => {
  it("on the MNIST model, every held-out digit, every layer, every element", async () => {
    const onnx = readFileSync(path.join(MODEL_DIR, "integer.onnx"));
    const descriptor = JSON.parse(readFileSync(path.join(MODEL_DIR, "descriptor.json"), "utf8"));
    const { test } = loadMnist();
    const runner = await OrtTraceRunner.load(onnx);
    const batch = quantiseDigits(test, descriptor.meta.inputScale);
    const compared = expectTraceMatchesReference(runner.model, await runner.runBatch(batch, test.length), test.length, "mnist");
    await runner.release();
    expect(test.length).to.equal(2000);
    expect(compared).to.equal(test.length * (128 + 64 + 10));
    console.log(`      ${test.length} held-out digits, ${compared} activations compared`);
  });

  it("on 240 seeded random models: random depths, widths, weights, biases, requantisation and int8 inputs with -128 and 127", async () => {
    const seed = 0x5eed;
    const rng = new Rng(seed);
    const styles: RequantStyle[] = ["scaled", "scaled", "extreme"];
    let compared = 0;
    let models = 0;
    for (let m = 0; m < 240; m++) {
      const depth = rng.int(1, 6);
      const sizes = Array.from({ length: depth + 1 }, () => (rng.float() < 0.2 ? rng.int(1, 40) : rng.int(1, 300)));
      const style = styles[m % styles.length];
      const model = syntheticModel(rng, { sizes, style });
      const batch = rng.int(4, 12);
      compared += await runBoth(model, syntheticInputs(rng, sizes[0], batch), batch, `seed ${seed} model ${m} (${style}, ${sizes.join("-")})`);
      models++;
    }
    expect(models).to.equal(240);
    console.log(`      ${models} models, ${compared} activations compared`);
  });

  it("on every rounding tie: exhaustive small accumulators under small multipliers and shifts", async () => {
    // One input, weight 1: acc = bias + x spans −384..383, so every x/2^s ± 1/2 case occurs.
    const nOut = 256;
    const bias = Int32Array.from({ length: nOut }, (_, j) => 2 * j - nOut);
    const inputs = Int8Array.from({ length: 256 }, (_, k) => k - 128);
    for (const [multiplier, shift] of [[1, 1], [1, 2], [3, 2], [5, 3], [7, 3], [1, 5]]) {
      const model: IntegerModel = {
        inputSize: 1,
        layers: [{ op: "dense", nIn: 1, nOut, weights: new Int8Array(nOut).fill(1), bias, multiplier, shift, clampLo: -128, clampHi: 127 }],
      };
      const runner = await OrtTraceRunner.load(buildIntegerOnnx(model));
      const trace = await runner.runBatch(inputs, inputs.length);
      await runner.release();
      expectTraceMatchesReference(model, trace, inputs.length, `m ${multiplier} s ${shift}`);
      let ties = 0;
      const wrong: string[] = [];
      inputs.forEach((x, k) =>
        bias.forEach((b, j) => {
          const exact = ((b + x) * multiplier) / 2 ** shift;
          const want = Math.min(127, Math.max(-128, Math.floor(exact + 0.5)));
          if (exact - Math.floor(exact) === 0.5) ties++;
          if (trace[1][k * nOut + j] !== want) wrong.push(`acc ${b + x}: got ${trace[1][k * nOut + j]}, want ${want}`);
        }),
      );
      expect(wrong, `m ${multiplier} s ${shift}`).to.deep.equal([]);
      expect(ties).to.be.greaterThan(0);
    }
  });
});
