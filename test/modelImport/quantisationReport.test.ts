import { expect } from "chai";
import type { IntegerModel } from "../../core/model";
import { NEAR_TIES_LISTED, computeReport, formatReport } from "../../core/modelImport/quantisationReport";
import type { FloatModel } from "../../core/onnx/floatModel";
import { quantise } from "../../core/quantise";
import { Rng } from "../../core/rng";
import { expectThrows } from "../helpers/expectThrows";
import { randomFloatModel } from "../helpers/randomModels";

/** The float identity on n inputs, with or without ReLU. */
function identity(n: number, relu = false): FloatModel {
  const weights = Float32Array.from({ length: n * n }, (_, i) => (i % (n + 1) === 0 ? 1 : 0));
  return { inputSize: n, layers: [{ nIn: n, nOut: n, weights, bias: new Float32Array(n), relu, node: "fc1" }] };
}

/**
 * An integer identity on two inputs whose requantisation multiplies by about 2^30: every non-zero
 * accumulator saturates, so every clamp count below is known by hand.
 */
function saturating(clampLo: number): IntegerModel {
  return {
    inputSize: 2,
    layers: [{ op: "dense", nIn: 2, nOut: 2, weights: Int8Array.of(1, 0, 0, 1), bias: Int32Array.of(0, 0), multiplier: 2 ** 31 - 1, shift: 1, clampLo, clampHi: 127 }],
  };
}

/** Scales of the saturating model: input and output step 1/127. */
const STEP = 1 / 127;

describe("the quantisation report (core/modelImport/quantisationReport.ts)", () => {
  describe("known answers", () => {
    it("a model whose every non-zero activation saturates: counts, errors, accuracy, the printed lines", () => {
      // Calibration inputs quantise to [127, −127], [64, −32], [0, 0]; the layer gives [127, −128] twice and
      // [0, 0]: 4 of 6 activations sit at a clamp bound.
      const calibration = [[1, -1], [0.5, -0.25], [0, 0]];
      const evaluation = { inputs: [[1, -1], [0.5, -0.25]], labels: [0, 1], heldOut: true };
      const report = computeReport(identity(2), { model: saturating(-128), scales: [STEP, STEP], weightScales: [1] }, calibration, evaluation);
      // Errors |int · 1/127 − float|: row 0: 0 and 128/127 − 1; row 1: 1 − 0.5 and 128/127 − 0.25.
      const max = 128 / 127 - 0.25;
      const mean = (0 + (128 / 127 - 1) + 0.5 + max) / 4;
      expect(report).to.deep.equal({
        evaluated: { set: "held-out", size: 2 },
        accuracy: { float: 0.5, integer: 0.5 },
        agreement: 1,
        outputError: { max, mean },
        layers: [
          { layer: 1, op: "dense", nIn: 2, nOut: 2, relu: false, activationScale: STEP, weightScale: 1, multiplier: 2 ** 31 - 1, shift: 1, clampLo: -128, clampHi: 127, saturated: 4, activations: 6, maxError: max },
        ],
        nearTies: { count: 0, first: [] },
      });
      expect(formatReport(report)).to.deep.equal([
        "quantisation report (evaluated on 2 held-out samples)",
        "  float accuracy    50.00 %",
        "  integer accuracy  50.00 %  (+0.00 points)",
        "  argmax agreement  100.00 % of samples: the integer model picks the float model's class",
        "  output error      largest 0.7579, mean 0.3164 (|integer × scale − float|)",
        "  near-ties         0 samples whose top two integer outputs are ≤ 1 step apart",
        "  layer  op     shape  clamp        act. scale  weight scale  multiplier  shift  saturated (calibration)  largest error",
        "  1      dense  2→2    [-128, 127]  0.007874    1.000         2147483647  1      4 of 6 (66.67 %)         0.7579",
      ]);
    });

    it("a ReLU layer counts only its upper bound: the zeros ReLU makes are not saturation", () => {
      // Outputs [127, 0], [0, 127], [0, 0]: two of six at 127; the four zeros sit at clampLo = 0 and do not count.
      const report = computeReport(identity(2, true), { model: saturating(0), scales: [STEP, STEP], weightScales: [1] }, [[1, -1], [-0.5, 0.25], [0, 0]], { inputs: [[0, 0]], heldOut: false });
      expect(report.layers.map((l) => [l.relu, l.saturated, l.activations])).to.deep.equal([[true, 2, 6]]);
      expect(formatReport(report).at(-1)).to.equal("  1      dense+relu  2→2    [0, 127]  0.007874    1.000         2147483647  1      2 of 6 (33.33 %)         0.000");
    });

    it("exact ties and near-ties of the integer output, argmax's lowest index, agreement and accuracy", () => {
      // The identity on three inputs calibrated on [1, 1, 1]: every scale is 1/127 and the integer output is
      // the quantised input, so rows written as q/127 give outputs q exactly.
      const q = (...steps: number[]) => steps.map((s) => s * STEP);
      const quantised = quantise(identity(3), [[1, 1, 1]]);
      expect(quantised.scales).to.deep.equal([STEP, STEP]);
      const inputs = [
        q(64, 64, 0), // 0: exact tie; both models pick class 0 (the lowest index)
        q(10, 11, -5), // 1: one step apart → near-tie
        q(10, 12, 11), // 2: top two are 12 and 11 → near-tie
        q(10, 13, 11), // 3: two steps apart → not a near-tie
        q(-127, -126, -127), // 4: near-tie among negatives
        [0.5, 0.5 + 1e-9, 0], // 5: float picks class 1; both quantise to 64: integer picks 0
      ];
      const labels = [0, 1, 2, 1, 1, 1];
      const report = computeReport(identity(3), quantised, [[1, 1, 1]], { inputs, labels, heldOut: true });
      expect(report.nearTies).to.deep.equal({ count: 5, first: [0, 1, 2, 4, 5] });
      // Classes: float [0, 1, 1, 1, 1, 1], integer [0, 1, 1, 1, 1, 0]; labels right for float at 0, 1, 3, 4, 5.
      expect(report.agreement).to.equal(5 / 6);
      expect(report.accuracy).to.deep.equal({ float: 5 / 6, integer: 4 / 6 });
      // Only row 5 is off the grid: |64/127 − 0.5| = 0.5/127 and |64/127 − (0.5 + 1e-9)|, over 18 outputs.
      expect(report.outputError.max).to.be.closeTo(0.5 / 127, 1e-12);
      expect(report.outputError.mean).to.be.closeTo((1 / 127 - 1e-9) / 18, 1e-12);
      expect(formatReport(report).slice(1, 6)).to.deep.equal([
        "  float accuracy    83.33 %",
        "  integer accuracy  66.67 %  (−16.67 points)",
        "  argmax agreement  83.33 % of samples: the integer model picks the float model's class",
        "  output error      largest 0.003937, mean 0.0004374 (|integer × scale − float|)",
        "  near-ties         5 samples whose top two integer outputs are ≤ 1 step apart: samples 0, 1, 2, 4, 5",
      ]);
    });

    it(`lists the first ${NEAR_TIES_LISTED} near-ties and counts them all`, () => {
      const inputs = Array.from({ length: 13 }, (_, k) => (k === 3 ? [1, 0] : [0.25, 0.25]));
      const report = computeReport(identity(2), quantise(identity(2), [[1, 1]]), [[1, 1]], { inputs, heldOut: false });
      expect(report.nearTies).to.deep.equal({ count: 12, first: [0, 1, 2, 4, 5, 6, 7, 8, 9, 10] });
      expect(formatReport(report)[3]).to.equal("  near-ties         12 samples whose top two integer outputs are ≤ 1 step apart: samples 0, 1, 2, 4, 5, 6, 7, 8, 9, 10, …");
    });
  });

  describe("on a random model", () => {
    const rng = new Rng(31);
    const float = randomFloatModel(rng, [6, 8, 5, 3]);
    const rows = (n: number) => Array.from({ length: n }, () => Array.from({ length: 6 }, () => rng.normal()));
    const calibration = rows(40);
    const heldOut = rows(25);
    const quantised = quantise(float, calibration);

    it("without labels gives argmax agreement and no accuracy, and is the same every time", () => {
      const report = computeReport(float, quantised, calibration, { inputs: heldOut, heldOut: true });
      expect(report).to.not.have.property("accuracy");
      expect(report.evaluated).to.deep.equal({ set: "held-out", size: 25 });
      expect(report.agreement).to.be.within(0.8, 1);
      expect(report.layers.map((l) => [l.nIn, l.nOut, l.relu, l.activations])).to.deep.equal([[6, 8, true, 320], [8, 5, true, 200], [5, 3, false, 120]]);
      expect(report.layers.map((l) => l.weightScale)).to.deep.equal(quantised.weightScales);
      expect(report.outputError.max).to.equal(report.layers[2].maxError);
      expect(report.outputError.mean).to.be.above(0).and.below(report.outputError.max);
      expect(computeReport(float, quantised, calibration, { inputs: heldOut, heldOut: true })).to.deep.equal(report);
      expect(formatReport(report).join("\n")).to.not.include("accuracy");
    });

    it("refuses evaluation samples, calibration samples and labels that do not fit the model, in one line", () => {
      const report = (inputs: number[][], labels?: number[]) => () => computeReport(float, quantised, calibration, { inputs, labels, heldOut: true });
      const cases: [() => unknown, string][] = [
        [report([]), "evaluation needs at least one input"],
        [report([heldOut[0], [1, 2, 3]]), "evaluation sample 1 has 3 values, the model expects 6"],
        [report([[1, 2, 3, Number.NaN, 5, 6]]), "evaluation sample 0 has NaN at position 3: every evaluation value must be a finite number"],
        [report(heldOut.slice(0, 1), [0, 1]), "2 labels for 1 evaluated samples"],
        [report(heldOut.slice(0, 2), [0, 3]), "label 1 is 3; labels are class indices 0..2"],
        [report(heldOut.slice(0, 1), [0.5]), "label 0 is 0.5; labels are class indices 0..2"],
        [() => computeReport(float, quantised, [[1]], { inputs: heldOut, heldOut: true }), "calibration sample 0 has 1 values, the model expects 6"],
      ];
      for (const [f, message] of cases) expect(expectThrows(f, RangeError).message).to.equal(message);
    });
  });
});
