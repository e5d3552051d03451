import { expect } from "chai";
import { PagedTree } from "../../core/pagedTree";
import { readFileSync } from "node:fs";
import path from "node:path";
import { biasTree, commitTrace, weightTree } from "../../core/commitments";
import { commitGraphModel, commitGraphTrace } from "../../core/graph/commitments";
import { executeProgram } from "../../core/graph/execute";
import { denseModelProgram } from "../../core/graph/fromDense";
import { executorDisagreements } from "../../core/graph/inspectGraphFolder";
import { validateProgram } from "../../core/graph/validate";
import { initKeccak } from "../../core/keccak";
import { loadMnist } from "../../core/mnist";
import { readIntegerModel } from "../../core/onnx/integerGraph";
import { quantiseInput } from "../../core/quantise";
import { runReference } from "../../core/referenceExecutor";
import { hex } from "../helpers/bytes";

/**
 * The MNIST MLP (models/mnist-mlp) as a graph program of Dense ops (core/graph/fromDense.ts):
 * the graph executors compute today's activations bit for bit, and the graph commitments bind the
 * same weight, bias and activation roots as today's Dense ones.
 */
describe("a chain of Dense layers as a graph program (core/graph/fromDense.ts)", () => {
  const dir = path.join(__dirname, "../../models/mnist-mlp");
  const model = readIntegerModel(readFileSync(path.join(dir, "integer.onnx")));
  const inputScale = JSON.parse(readFileSync(path.join(dir, "descriptor.json"), "utf8")).meta.inputScale as number;
  const digits = loadMnist().test.slice(0, 200).map((d) => quantiseInput(d.pixels, inputScale));
  const program = denseModelProgram(model);
  before(() => initKeccak());

  it("is a valid program of one Dense op a layer, each reading the one before", () => {
    const shapes = validateProgram(program);
    expect(program.ops.map((o) => [o.kind, ...o.inputs])).to.deep.equal(model.layers.map((_, l) => ["dense", l]));
    expect(shapes.map((s) => s[0])).to.deep.equal([model.inputSize, ...model.layers.map((l) => l.nOut)]);
  });

  it("computes today's activations on 200 held-out digits, in the reference executor and in onnxruntime", async () => {
    for (const [k, x] of digits.entries()) {
      const today = runReference(model, x);
      expect(executeProgram(program, x).values.map((v) => Array.from(v)), `digit ${k}`).to.deep.equal(today.map((a) => Array.from(a)));
    }
    const batch = new Int8Array(digits.length * model.inputSize);
    digits.forEach((x, k) => batch.set(x, k * model.inputSize));
    expect(await executorDisagreements(program, batch, digits.length)).to.deep.equal([]);
  });

  it("commits every layer's weights and biases, the input and the output to today's roots, and each hidden activation in a paged tree", () => {
    const committed = commitGraphModel(program);
    model.layers.forEach((layer, l) => {
      expect(hex(committed.constants[2 * l].root), `layer ${l} weights`).to.equal(hex(weightTree(layer).root));
      expect(hex(committed.constants[2 * l + 1].root), `layer ${l} biases`).to.equal(hex(biasTree(layer.bias).root));
    });
    const x = digits[0];
    const graph = commitGraphTrace(executeProgram(program, x));
    const today = commitTrace(runReference(model, x));
    const values = graph.committed.filter((c) => c.entry.final);
    expect(values.length).to.equal(today.activations.length);
    expect(hex(values[0].tree.root), "the input").to.equal(hex(today.activations[0].root));
    expect(hex(graph.output.root), "the output").to.equal(hex(today.activations[model.layers.length].root));
    // A value's tree is paged (core/pagedTree.ts) over the same words as today's activation tree.
    values.slice(1).forEach((c, l) => {
      const words = Buffer.concat(Array.from({ length: today.activations[l + 1].leafCount }, (_, k) => today.activations[l + 1].leaf(k)));
      expect(hex(c.tree.root), `activation ${l + 1}`).to.equal(hex(PagedTree.fromLeaves(words).root));
    });
  });
});
