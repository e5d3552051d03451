import { expect } from "chai";
import { biasTree, commitLayer, commitTrace, weightTree } from "../../core/commitments";
import { executeProgram } from "../../core/graph/execute";
import { denseModelProgram } from "../../core/graph/fromDense";
import { commitGraphModel, commitGraphTrace, constantTree, constantsOf, opLeaves, requantConstant, tensorTree } from "../../core/graph/commitments";
import { encodeDescriptor } from "../../core/graph/descriptor";
import type { GraphProgram, Op } from "../../core/graph/program";
import { initKeccak } from "../../core/keccak";
import { zeroRoot } from "../../core/merkle";
import type { DenseLayer, IntegerModel } from "../../core/model";
import { verifyExtension } from "../../core/prefixTree";
import { runReference } from "../../core/referenceExecutor";
import { Rng, randomInputs, randomProgram } from "./randomPrograms";

/**
 * The commitments of graph programs (core/graph/commitments.ts): a Dense program commits its
 * weights, biases and activations exactly as today's Dense layer does; the model root moves with
 * every descriptor field, constant byte and the input shape; the trace root with every committed
 * element; and every prefix root extends the one before. GRAPH_COMMIT_SEED replays another seed.
 */

const SEED = Number(process.env.GRAPH_COMMIT_SEED ?? 0xc0441) >>> 0;
const hex = (b: Uint8Array) => Buffer.from(b).toString("hex");

function denseLayer(rng: Rng): DenseLayer {
  const nIn = rng.int(1, 90);
  const nOut = rng.int(1, 20);
  return {
    op: "dense",
    nIn,
    nOut,
    weights: rng.int8Array(nIn * nOut),
    bias: Int32Array.from({ length: nOut }, () => rng.int(-50_000, 50_000)),
    multiplier: rng.int(1, 2 ** 31 - 1),
    shift: rng.int(20, 40),
    clampLo: rng.int(-128, 0),
    clampHi: rng.int(0, 127),
  };
}

const denseProgram = (layer: DenseLayer): GraphProgram => denseModelProgram({ inputSize: layer.nIn, layers: [layer] });

describe(`graph commitments (core/graph/commitments.ts, seed ${SEED})`, () => {
  before(() => initKeccak());

  it("a Dense program's weight, bias and activation roots are today's Dense layer's", () => {
    const rng = new Rng(SEED);
    for (let k = 0; k < 30; k++) {
      const layer = denseLayer(rng);
      const program = denseProgram(layer);
      const model = commitGraphModel(program);
      expect(hex(model.constants[0].root), `weights ${k}`).to.equal(hex(weightTree(layer).root));
      expect(hex(model.constants[1].root), `biases ${k}`).to.equal(hex(biasTree(layer.bias).root));
      expect(hex(commitLayer(layer).descriptorHash)).to.not.equal(hex(model.leaves[1])); // another descriptor layout: never mistaken for one
      const x = rng.int8Array(layer.nIn);
      const graph = commitGraphTrace(executeProgram(program, x));
      const today = commitTrace(runReference({ inputSize: layer.nIn, layers: [layer] } as IntegerModel, x));
      // The input and the output value are committed as today's activations are.
      expect(hex(graph.committed[0].tree.root)).to.equal(hex(today.activations[0].root));
      expect(hex(graph.output.root)).to.equal(hex(today.activations[1].root));
      expect(graph.committed.map((c) => c.entry.stage.name)).to.deep.equal(["out", "out"]); // the accumulator is not committed
    }
  });

  it("the model root moves with every descriptor field, every constant byte and every shape", () => {
    const rng = new Rng(SEED ^ 1);
    for (let k = 0; k < 40; k++) {
      const program = randomProgram(rng);
      const root = hex(commitGraphModel(program).root);
      expect(hex(commitGraphModel(program).root)).to.equal(root);
      // A constant byte.
      const c = rng.int(0, program.constants.length - 1);
      if (program.constants.length > 0) {
        // One element moved one step towards zero (the accumulator bound still holds).
        const at = program.constants[c].data.findIndex((v) => v !== 0);
        if (at >= 0) {
          const constants = program.constants.map((x, i) => (i === c ? { ...x, data: x.data.map((v, j) => (j === at ? v - Math.sign(v) : v)) } : x)) as GraphProgram["constants"];
          expect(hex(commitGraphModel({ ...program, constants }).root), `constant ${c}`).to.not.equal(root);
        }
      }
      // A descriptor field: the clamp of the last op that has one.
      const at = program.ops.map((o) => "clampLo" in o).lastIndexOf(true);
      if (at >= 0) {
        const op = program.ops[at] as Extract<GraphProgram["ops"][number], { clampLo: number }>;
        const changed = { ...op, clampLo: op.clampLo === -128 ? -127 : op.clampLo - 1 };
        expect(hex(commitGraphModel({ ...program, ops: program.ops.map((o, i) => (i === at ? changed : o)) }).root), `op ${at}`).to.not.equal(root);
      }
      for (const o of program.ops) for (const id of constantsOf(o)) expect(id).to.be.lessThan(program.constants.length);
    }
    // The input shape (and with it every shape after it).
    const clampOnly = (shape: number[]): GraphProgram => ({ inputShape: shape, constants: [], ops: [{ kind: "clamp", inputs: [0], lo: 0, hi: 127 }] });
    expect(hex(commitGraphModel(clampOnly([3])).root)).to.not.equal(hex(commitGraphModel(clampOnly([4])).root));
    expect(hex(commitGraphModel(clampOnly([2, 3])).root)).to.not.equal(hex(commitGraphModel(clampOnly([3, 2])).root));
  });

  it("per-channel requantisation is a derived constant: its root and shape in the op's leaf, the descriptor of one size whatever the channel count", () => {
    const conv = (channels: number, m = (c: number) => (1 << 20) + c): GraphProgram => ({
      inputShape: [1, 2, 2],
      constants: [
        { dtype: "int8", shape: [channels, 1, 1, 1], data: new Int8Array(channels).fill(1) },
        { dtype: "int32", shape: [channels], data: new Int32Array(channels) },
      ],
      ops: [{ kind: "conv", inputs: [0], weight: 0, bias: 1, strides: [1, 1], pads: [0, 0, 0, 0], dilations: [1, 1], groups: 1, multiplier: Array.from({ length: channels }, (_, c) => m(c)), shift: new Array(channels).fill(30), clampLo: -128, clampHi: 127 }],
    });
    const sizes = [2, 64, 512, 4096].map((channels) => {
      const program = conv(channels);
      const [leaf] = opLeaves(program);
      const requant = requantConstant(program.ops[0])!;
      expect(requant.shape).to.deep.equal([channels, 2]);
      expect(leaf.constantRoots.map(hex)).to.deep.equal([...program.constants.map((c) => hex(constantTree(c).root)), hex(constantTree(requant).root)]);
      expect(leaf.shapes.slice(-1)).to.deep.equal([[channels, 2]]);
      return encodeDescriptor(leaf.op).length;
    });
    expect(new Set(sizes).size).to.equal(1);
    // One channel's multiplier moves the model root; a single pair has no derived constant.
    const root = hex(commitGraphModel(conv(512)).root);
    expect(hex(commitGraphModel(conv(512, (c) => (1 << 20) + c + (c === 300 ? 1 : 0))).root)).to.not.equal(root);
    const [single] = opLeaves(conv(1));
    expect(single.constantRoots.length).to.equal(2);
    expect(requantConstant(single.op as Op)).to.equal(undefined);
  });

  it("the trace root moves with every committed element; each prefix root extends the one before by its tensor's root", () => {
    const rng = new Rng(SEED ^ 2);
    for (let k = 0; k < 25; k++) {
      const program = randomProgram(rng);
      const x = randomInputs(rng, program, 1);
      const run = executeProgram(program, x);
      const commitment = commitGraphTrace(run);
      const { prefix } = commitment;
      expect(prefix.length).to.equal(commitment.committed.length + 1);
      for (let i = 0; i < prefix.length; i++) {
        const prev = i === 0 ? zeroRoot(prefix.depth) : prefix.root(i - 1);
        expect(verifyExtension(prev, prefix.root(i), prefix.word(i), i, prefix.extensionProof(i), prefix.depth), `program ${k} leaf ${i}`).to.equal(true);
      }
      // Flip one element of a random committed tensor: its root and the trace root change.
      const committedAt = run.layout.flatMap((e, i) => (e.stage.committed ? [i] : []));
      const t = committedAt[rng.int(0, committedAt.length - 1)];
      const tensor = run.tensors[t].slice() as typeof run.tensors[number];
      tensor[rng.int(0, tensor.length - 1)] ^= 1;
      const paged = run.layout[t].value > 0;
      expect(hex(tensorTree(tensor, paged).root)).to.not.equal(hex(tensorTree(run.tensors[t], paged).root));
      const tampered = commitGraphTrace({ ...run, tensors: run.tensors.map((v, i) => (i === t ? tensor : v)) });
      expect(hex(tampered.root), `program ${k} tensor ${t}`).to.not.equal(hex(commitment.root));
    }
  });
});
