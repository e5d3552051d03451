import { expect } from "chai";
import { readFileSync } from "node:fs";
import path from "node:path";
import { bytesEqual } from "../../core/bytes";
import { commitModel, commitTrace } from "../../core/commitments";
import { accumulate, output, paddingIsZero, verifyActivationLeaf, verifyBiasLeaf, verifyWeightLeaf } from "../../core/denseStep";
import { hashPair, initKeccak } from "../../core/keccak";
import { treeDepth, verifyProof } from "../../core/merkle";
import { loadMnist } from "../../core/mnist";
import type { IntegerModel } from "../../core/model";
import { readIntegerModel } from "../../core/onnx/integerGraph";
import { OrtTraceRunner } from "../../core/onnx/ortTraceRunner";
import { quantiseInput } from "../../core/quantise";
import { denseAccumulator } from "../../core/referenceExecutor";
import { Rng } from "../../core/rng";
import { TraceProvider } from "../../core/traceProvider";
import { syntheticModel } from "../../scripts/lib/syntheticModel";

const MODEL_DIR = path.join(__dirname, "..", "..", "models", "mnist-mlp");

/** Checks every opening the provider gives for `outputs` of each layer; returns how many were checked. */
function checkProvider(p: TraceProvider, rng: Rng, outputsPerLayer: number): number {
  let checked = 0;
  const L = p.layerCount;
  const traceDepth = treeDepth(L + 1);
  for (let l = 0; l <= L; l++) {
    const root = p.activationRoot(l);
    expect(verifyProof(p.traceRoot, root.value, l, root.proof, traceDepth), `r_${l} against T`).to.equal(true);
    const tree = p.commitment.activations[l];
    const size = p.trace[l].length;
    for (let h = 1; h <= tree.depth; h++) {
      for (let i = 0; i < 2 ** (tree.depth - h); i++) {
        const [left, right] = p.activationChildren(l, h, i);
        expect(bytesEqual(hashPair(left, right), p.activationNode(l, h, i)), `activation ${l} node ${h}/${i}`).to.equal(true);
        checked++;
      }
    }
    const leaves = Math.ceil(size / 32);
    for (let k = 0; k < leaves; k++) {
      const leaf = p.activationLeaf(l, k);
      expect(verifyActivationLeaf(root.value, size, k, leaf.value, leaf.proof), `activation ${l} leaf ${k}`).to.equal(true);
      checked++;
    }
    expect(paddingIsZero(p.activationLeaf(l, leaves - 1).value, size, leaves - 1)).to.equal(true);
  }
  for (let l = 1; l <= L; l++) {
    const { descriptor, opening } = p.descriptor(l);
    expect(verifyProof(p.modelCommitment.root, opening.value, l - 1, opening.proof, treeDepth(L))).to.equal(true);
    const layer = p.model.layers[l - 1];
    for (let n = 0; n < outputsPerLayer; n++) {
      const j = rng.int(0, layer.nOut - 1);
      const sums = p.partialSums(l, j);
      const bias = p.bias(l, j);
      expect(verifyBiasLeaf(descriptor, j, bias.leaf, bias.proof)).to.equal(true);
      expect(sums[0]).to.equal(bias.bias);
      for (let k = 0; k + 1 < sums.length; k++) {
        const w = p.step(l, j, k);
        expect(verifyWeightLeaf(descriptor, j, k, w.weightLeaf, w.weightProof), `layer ${l} row ${j} chunk ${k} weights`).to.equal(true);
        expect(verifyActivationLeaf(p.activationRoot(l - 1).value, layer.nIn, k, w.inputLeaf, w.inputProof)).to.equal(true);
        expect([w.before, w.after]).to.deep.equal([sums[k], sums[k + 1]]);
        expect(accumulate(w.before, w.weightLeaf, w.inputLeaf, w.valid)).to.equal(w.after);
        checked++;
      }
      expect(sums[sums.length - 1]).to.equal(denseAccumulator(layer, p.trace[l - 1], j));
      expect(output(sums[sums.length - 1], layer)).to.equal(p.element(l, j));
    }
  }
  return checked;
}

describe("TraceProvider", () => {
  before(initKeccak);

  it("gives the same trace root from re-execution and from onnxruntime's trace, on held-out digits", async () => {
    const onnx = readFileSync(path.join(MODEL_DIR, "integer.onnx"));
    const model = readIntegerModel(onnx);
    const mc = commitModel(model);
    const inputScale = JSON.parse(readFileSync(path.join(MODEL_DIR, "descriptor.json"), "utf8")).meta.inputScale;
    const runner = await OrtTraceRunner.load(onnx);
    for (const digit of loadMnist().test.slice(0, 20)) {
      const input = quantiseInput(digit.pixels, inputScale);
      const fromOrt = TraceProvider.fromTrace(model, mc, await runner.run(input));
      const replayed = TraceProvider.fromInput(model, mc, input);
      expect(bytesEqual(fromOrt.traceRoot, replayed.traceRoot)).to.equal(true);
      expect(bytesEqual(replayed.traceRoot, commitTrace(replayed.trace).root)).to.equal(true);
    }
    await runner.release();
  });

  it("opens every activation root, tree node and leaf, the descriptors, biases and every step of sampled rows (MNIST)", () => {
    const model = readIntegerModel(readFileSync(path.join(MODEL_DIR, "integer.onnx")));
    const p = TraceProvider.fromInput(model, commitModel(model), quantiseInput(loadMnist().test[0].pixels, 1 / 127));
    const checked = checkProvider(p, new Rng(5), 3);
    expect(checked).to.be.greaterThan(100);
  });

  it("does the same on 20 seeded random models, widths not multiples of 32 included", () => {
    const rng = new Rng(77);
    let checked = 0;
    for (let m = 0; m < 20; m++) {
      const sizes = Array.from({ length: rng.int(2, 5) }, () => rng.int(1, 200));
      const model: IntegerModel = syntheticModel(rng, { sizes, style: m % 2 ? "scaled" : "extreme" });
      checked += checkProvider(TraceProvider.fromInput(model, commitModel(model), rng.int8Array(sizes[0])), rng, 2);
    }
    console.log(`      ${checked} openings and steps checked`);
  });

  it("refuses traces of the wrong shape and positions outside the model", () => {
    const model = syntheticModel(new Rng(3), { sizes: [40, 20, 10], style: "scaled" });
    const mc = commitModel(model);
    const p = TraceProvider.fromInput(model, mc, new Rng(4).int8Array(40));
    expect(() => TraceProvider.fromTrace(model, mc, p.trace.slice(0, 2))).to.throw(RangeError, "3 activations");
    expect(() => TraceProvider.fromTrace(model, mc, [p.trace[0], new Int8Array(19), p.trace[2]])).to.throw(RangeError, "activation 1 has 19");
    expect(() => p.activationRoot(3)).to.throw(RangeError, "activation 3 outside 0..2");
    expect(() => p.descriptor(0)).to.throw(RangeError, "layer 0 outside 1..2");
    expect(() => p.element(2, 10)).to.throw(RangeError, "element 10");
    expect(() => p.activationChildren(1, 0, 0)).to.throw(RangeError, "no children");
  });
});
