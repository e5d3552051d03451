import { expect } from "chai";
import { argmax } from "../../core/argmax";
import { INT32_MAX, MULTIPLIER_MAX, SHIFT_MAX, SHIFT_MIN } from "../../core/intSemantics";
import { ModelValidationError, validateModel } from "../../core/model";
import { type FloatModel, runFloat } from "../../core/onnx/floatModel";
import { fixedPoint, quantise, quantiseInput } from "../../core/quantise";
import { runReference } from "../../core/referenceExecutor";
import { Rng } from "../../core/rng";
import { expectThrows } from "../helpers/expectThrows";
import { randomFloatModel } from "../helpers/randomModels";


/** Inputs in [0, 1), like normalised pixels. */
function randomInputs(rng: Rng, size: number, count: number): Float32Array[] {
  return Array.from({ length: count }, () => Float32Array.from({ length: size }, () => rng.float()));
}

const maxAbs = (values: ArrayLike<number>) => Array.from(values).reduce((m, v) => Math.max(m, Math.abs(v)), 0);

describe("quantise", () => {
  describe("fixedPoint", () => {
    it("gives multiplier / 2^shift within 2^-30 relative of the value, with the largest shift that fits, over 1e-9 … 1e3", () => {
      const rng = new Rng(0xf1ced);
      const values: number[] = [];
      for (let e = -9; e <= 3; e += 0.25) values.push(10 ** e, 10 ** e * (1 + rng.float()));
      values.push(1e-9, 1e3, 0.75, 1 / 3, Math.PI);
      let sawTop = 0;
      for (const real of values) {
        const { multiplier, shift } = fixedPoint(real);
        const label = `fixedPoint(${real}) = ${multiplier} / 2^${shift}`;
        expect(Number.isInteger(multiplier), label).to.equal(true);
        expect(multiplier, label).to.be.within(0, MULTIPLIER_MAX);
        expect(shift, label).to.be.within(SHIFT_MIN, SHIFT_MAX);
        expect(Number.isInteger(shift), label).to.equal(true);
        expect(Math.abs(multiplier / 2 ** shift - real), label).to.be.at.most(2 ** -30 * real);
        expect(Math.abs(multiplier - real * 2 ** shift), `${label}: nearest multiplier`).to.be.at.most(0.5);
        // Largest shift: one more and the multiplier would not fit (or the shift is already the top).
        if (shift < SHIFT_MAX) expect(Math.round(real * 2 ** (shift + 1)), label).to.be.greaterThan(MULTIPLIER_MAX);
        else sawTop++;
      }
      expect(values.length).to.be.greaterThan(100);
      expect(sawTop, "no value in this range needs shift 62").to.equal(0);
    });

    it("is exact on powers of two, and stays inside the shift range at both ends", () => {
      expect(fixedPoint(1)).to.deep.equal({ multiplier: 2 ** 30, shift: 30 });
      expect(fixedPoint(0.5)).to.deep.equal({ multiplier: 2 ** 30, shift: 31 });
      expect(fixedPoint(2 ** -31)).to.deep.equal({ multiplier: 2 ** 30, shift: 61 });
      expect(fixedPoint(0)).to.deep.equal({ multiplier: 0, shift: SHIFT_MAX });
      // Tiny values cap at shift 62 and lose precision rather than leaving the range.
      expect(fixedPoint(1e-12)).to.deep.equal({ multiplier: Math.round(1e-12 * 2 ** 62), shift: SHIFT_MAX });
      // The largest value shift 1 can hold, and just past it.
      expect(fixedPoint(MULTIPLIER_MAX / 2)).to.deep.equal({ multiplier: MULTIPLIER_MAX, shift: SHIFT_MIN });
      expect(fixedPoint(2 ** 29)).to.deep.equal({ multiplier: 2 ** 30, shift: 1 });
    });

    it("throws for negative, NaN and infinite values, and for a value too large even at shift 1", () => {
      for (const bad of [-1, -1e-9, -Infinity, NaN, Infinity]) expectThrows(() => fixedPoint(bad), RangeError, /finite non-negative/, new RegExp(`got ${bad}`));
      for (const big of [2 ** 30, 1e10, Number.MAX_VALUE]) expectThrows(() => fixedPoint(big), RangeError, /too large/, /even with shift 1/);
    });
  });

  describe("quantise", () => {
    const sizes = [64, 48, 32, 10];

    it("gives a valid integer model: ReLU layers clamp at 0, the last at −128; scales, weights, biases and multipliers as §5 says", () => {
      const rng = new Rng(0x9a7e);
      const float = randomFloatModel(rng, sizes);
      const calibration = randomInputs(rng, sizes[0], 100);
      const { model, scales } = quantise(float, calibration);
      expect(() => validateModel(model)).to.not.throw();
      expect(model.inputSize).to.equal(64);
      expect(model.layers.map((l) => [l.nIn, l.nOut, l.clampLo, l.clampHi])).to.deep.equal([
        [64, 48, 0, 127],
        [48, 32, 0, 127],
        [32, 10, -128, 127],
      ]);
      expect(scales).to.have.length(4);
      expect(scales[0]).to.equal(Math.max(...calibration.map(maxAbs)) / 127);
      const acts = calibration.map((x) => runFloat(float, x));
      model.layers.forEach((layer, i) => {
        const label = `layer ${i + 1}`;
        expect(scales[i + 1], label).to.equal(Math.max(...acts.map((a) => maxAbs(a[i]))) / 127);
        const wScale = maxAbs(float.layers[i].weights) / 127;
        expect(maxAbs(layer.weights), label).to.equal(127); // symmetric per tensor: the largest weight maps to ±127
        expect(Array.from(layer.weights), label).to.deep.equal(Array.from(float.layers[i].weights, (w) => Math.round(w / wScale)));
        expect(Array.from(layer.bias), label).to.deep.equal(Array.from(float.layers[i].bias, (b) => Math.round(b / (scales[i] * wScale))));
        const real = (scales[i] * wScale) / scales[i + 1];
        expect(Math.abs(layer.multiplier / 2 ** layer.shift - real), label).to.be.at.most(2 ** -30 * real);
      });
    });

    it("a hidden layer without ReLU clamps at −128, one with ReLU at 0, whatever its position", () => {
      const rng = new Rng(0x7e1);
      const float = randomFloatModel(rng, [8, 6, 6, 5, 4], [false, true, false, false]);
      const { model } = quantise(float, randomInputs(rng, 8, 20));
      expect(model.layers.map((l) => l.clampLo)).to.deep.equal([-128, 0, -128, -128]);
    });

    it("the integer model tracks the float one: argmax agreement and mean error on 200 fresh seeded inputs", () => {
      const rng = new Rng(0x9a7e);
      const float = randomFloatModel(rng, sizes);
      const { model, scales } = quantise(float, randomInputs(rng, sizes[0], 100));
      const tests = randomInputs(rng, sizes[0], 200);
      let agree = 0;
      let absError = 0;
      let lo = Infinity;
      let hi = -Infinity;
      for (const x of tests) {
        const want = runFloat(float, x).at(-1)!;
        const got = Array.from(runReference(model, quantiseInput(x, scales[0])).at(-1)!, (q) => q * scales[sizes.length - 1]);
        if (argmax(got) === argmax(want)) agree++;
        want.forEach((w, j) => {
          absError += Math.abs(got[j] - w);
          lo = Math.min(lo, w);
          hi = Math.max(hi, w);
        });
      }
      const meanError = absError / (tests.length * sizes[sizes.length - 1]);
      // Measured with this seed: 197/200 agree (98.5%) and mean |error| 0.0116 on an output range
      // of 4.51 (0.26%). Over seeds 1–5 the agreement was 97.5–99.5% and the relative error 0.25–0.35%.
      // The bounds leave room for that spread but would catch a wrong scale, rounding or bias.
      expect(agree / tests.length).to.be.at.least(0.95);
      expect(meanError / (hi - lo)).to.be.at.most(0.01);
      expect(hi - lo).to.be.greaterThan(1); // the outputs are not all near zero, which would make the error bound trivial
    });

    it("quantiseInput rounds half up (towards +∞) and clamps to [−128, 127]", () => {
      const x = [0.5, -0.5, 1.5, -1.5, 2.5, -2.5, 0.49, -0.51, 126.5, 127.49, 127.5, 1000, -127.5, -128.4, -128.5, -129, -1e9];
      const q = quantiseInput(x, 1);
      expect(q).to.be.instanceOf(Int8Array);
      expect(Array.from(q)).to.deep.equal([1, 0, 2, -1, 3, -2, 0, -1, 127, 127, 127, 127, -127, -128, -128, -128, -128]);
      // At scale 1/4 the ties are x = (k + ½)/4, exact in binary.
      expect(Array.from(quantiseInput([0.125, -0.125, -0.375, 31.625, 31.875, -32.125, -32.375], 0.25))).to.deep.equal([1, 0, -1, 127, 127, -128, -128]);
    });

    it("calibration needs at least one input, each of the model's input size, and names the sample that is not", () => {
      const float = randomFloatModel(new Rng(3), [4, 3, 2]);
      expectThrows(() => quantise(float, []), RangeError, /at least one input/);
      expect(expectThrows(() => quantise(float, [[0, 0, 0, 1], [1, 2, 3]]), RangeError).message).to.equal("calibration sample 1 has 3 values, the model expects 4");
      expect(expectThrows(() => quantise(float, [new Float32Array(5)]), RangeError).message).to.equal("calibration sample 0 has 5 values, the model expects 4");
      const notAList = [[0, 0, 0, 1], [0, 0, 0, 1], null] as unknown as number[][];
      expect(expectThrows(() => quantise(float, notAList), RangeError).message).to.equal("calibration sample 2 is not a list of numbers (got null)");
      expect(expectThrows(() => quantise(float, [[0, 0, 0, 1], "0001"] as unknown as number[][]), RangeError).message).to.equal(
        'calibration sample 1 is not a list of numbers (got "0001")',
      );
    });

    it("refuses NaN, +Infinity and −Infinity in calibration data, naming the sample and the position, before computing anything", () => {
      // Without the check a NaN vanished in the maximum (every scale it reached became 1) and an
      // infinity surfaced as "layer 1: requantisation scale must be … got NaN", naming no data.
      const rng = new Rng(0xca1b);
      const float = randomFloatModel(rng, sizes);
      for (const bad of [NaN, Infinity, -Infinity]) {
        for (const [sample, position] of [[0, 0], [37, 21], [99, 63]]) {
          const calibration = randomInputs(rng, sizes[0], 100);
          calibration[sample][position] = bad;
          if (sample !== 99) calibration[99][5] = bad; // a later bad value too: the first one is named
          let weightReads = 0;
          const counting: FloatModel = {
            ...float,
            layers: float.layers.map((l) => ({
              ...l,
              get weights() {
                weightReads++;
                return l.weights;
              },
            })),
          };
          const e = expectThrows(() => quantise(counting, calibration), RangeError);
          expect(e.message, `${bad} at ${sample}/${position}`).to.equal(
            `calibration sample ${sample} has ${bad} at position ${position}: every calibration value must be a finite number`,
          );
          expect(weightReads, "the float model was read before the data was checked").to.equal(0);
        }
      }
      // a plain array and a Float64Array are checked alike (a Float32Array holds NaN and ±Infinity too)
      expect(expectThrows(() => quantise(float, [Array.from({ length: 64 }, (_, i) => (i === 9 ? NaN : 0.5))]), RangeError).message).to.equal(
        "calibration sample 0 has NaN at position 9: every calibration value must be a finite number",
      );
      const f64 = new Float64Array(64).fill(0.25);
      f64[63] = -Infinity;
      expect(expectThrows(() => quantise(float, [new Float64Array(64), f64]), RangeError).message).to.equal(
        "calibration sample 1 has -Infinity at position 63: every calibration value must be a finite number",
      );
      // a value that is not a number at all (JSON gone wrong) is refused the same way
      const withString = [Array.from({ length: 64 }, (_, i) => (i === 3 ? "0.5" : 0.5))] as unknown as number[][];
      expect(expectThrows(() => quantise(float, withString), RangeError).message).to.equal(
        'calibration sample 0 has "0.5" at position 3: every calibration value must be a finite number',
      );
    });

    it("refuses a float model with a NaN or infinite weight or bias, naming the layer, node and position", () => {
      const float = randomFloatModel(new Rng(0xf1a7), [4, 3, 2]);
      float.layers[1].weights[4] = NaN;
      expect(expectThrows(() => quantise(float, [[0.1, 0.2, 0.3, 0.4]]), ModelValidationError).message).to.equal(
        "layer 2: float weight 4 of node fc2 is NaN, not a finite number",
      );
      float.layers[1].weights[4] = 0.5;
      float.layers[0].bias[2] = Infinity;
      expect(expectThrows(() => quantise(float, [[0.1, 0.2, 0.3, 0.4]]), ModelValidationError).message).to.equal(
        "layer 1: float bias 2 of node fc1 is Infinity, not a finite number",
      );
    });

    it("refuses finite calibration data whose float activations overflow a double, naming the layer and the sample", () => {
      const float: FloatModel = { inputSize: 2, layers: [{ nIn: 2, nOut: 1, weights: Float32Array.of(3e38, 3e38), bias: Float32Array.of(0), relu: false, node: "fc1" }] };
      const e = expectThrows(() => quantise(float, [[1, 1], [1e300, 1e300]]), ModelValidationError);
      expect(e.message).to.equal("layer 1: float activation is not finite (Infinity) on calibration sample 1");
    });

    it("a bias too large for the accumulator bound throws ModelValidationError naming the layer", () => {
      // Layer 1 of 2, fan-in 100, with weight and input scales of exactly 1 (max |w| = max |x| = 127),
      // so the float bias is the quantised one: 2e9 fits (2e9 + 100·16384 < 2^31), 2147000064 does not.
      const layer1 = (bias: number) => ({
        nIn: 100,
        nOut: 2,
        weights: Float32Array.from({ length: 200 }, (_, k) => (k === 0 ? 127 : 1)),
        bias: Float32Array.of(bias, 0),
        relu: true,
        node: "fc1",
      });
      const layer2 = { nIn: 2, nOut: 2, weights: Float32Array.of(1, -1, 0.5, 0.25), bias: Float32Array.of(0.1, -0.1), relu: false, node: "fc2" };
      const calibration = [Float32Array.from({ length: 100 }, (_, i) => (i === 0 ? 127 : 0)), Float32Array.from({ length: 100 }, (_, i) => (i % 7) / 7)];
      const fits = quantise({ inputSize: 100, layers: [layer1(2e9), layer2] }, calibration);
      expect(fits.model.layers[0].bias[0]).to.equal(2e9);
      const big = Math.fround(2147000000);
      expect(big).to.be.below(INT32_MAX);
      const e = expectThrows(
        () => quantise({ inputSize: 100, layers: [layer1(big), layer2] }, calibration),
        ModelValidationError,
        /^layer 1: /,
        /accumulator could overflow int32/,
        new RegExp(`max\\|bias\\| ${big}`),
      );
      expect((e as ModelValidationError).layer).to.equal(1);
    });

    it("a bias beyond int32 after scaling (huge bias, tiny weights) throws instead of wrapping", () => {
      // round(1e6 / accScale) ≈ 1.7e16: Int32Array.from would wrap it modulo 2^32 to a small,
      // valid-looking bias, so the check must come before the conversion.
      const float: FloatModel = {
        inputSize: 2,
        layers: [
          { nIn: 2, nOut: 2, weights: Float32Array.of(1, -1, 0.5, 0.25), bias: Float32Array.of(0.1, 0.2), relu: true, node: "fc1" },
          { nIn: 2, nOut: 2, weights: Float32Array.of(1e-6, -1e-6, 1e-6, 1e-6), bias: Float32Array.of(1e6, 0), relu: false, node: "fc2" },
        ],
      };
      const e = expectThrows(() => quantise(float, [[1, 1], [-1, 0.5]]), ModelValidationError, /^layer 2: /, /outside int32/);
      expect((e as ModelValidationError).layer).to.equal(2);
    });

    it("a layer whose outputs calibrate to a tiny range, so its multiplier cannot fit, throws ModelValidationError naming the layer", () => {
      // w = [1, −1] on inputs that differ by 1e-12: max|y| ≈ 1e-12, so the requantisation
      // ratio max|x|·max|w| / (127·max|y|) ≈ 8e9 is beyond 2^31 / 2.
      const float: FloatModel = { inputSize: 2, layers: [{ nIn: 2, nOut: 1, weights: Float32Array.of(1, -1), bias: Float32Array.of(0), relu: false, node: "fc1" }] };
      const e = expectThrows(() => quantise(float, [[1, 1], [1, 1 - 1e-12]]), ModelValidationError, /^layer 1: /, /too large/);
      expect((e as ModelValidationError).layer).to.equal(1);
    });
  });
});
