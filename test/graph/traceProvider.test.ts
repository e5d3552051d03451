import { verifyPagedProof } from "../../core/pagedTree";
import { expect } from "chai";
import { verifyProof, zeroRoot } from "../../core/merkle";
import { initKeccak } from "../../core/keccak";
import { verifyExtension } from "../../core/prefixTree";
import { opLeaves } from "../../core/graph/commitments";
import { opStages } from "../../core/graph/stages";
import { type ReducingOp, isNarrowConv, reductionOf } from "../../core/graph/reductions";
import { GraphTraceProvider } from "../../core/graph/traceProvider";
import { validateProgram } from "../../core/graph/validate";
import { Rng, randomInputs, randomProgram } from "./randomPrograms";

/**
 * The graph trace provider (core/graph/traceProvider.ts): every claim it makes verifies against the
 * commitments — prefix roots extend each other, any earlier tensor root opens under a later prefix
 * root, tensor leaves open under their roots — and a reduce element's partial folds start at the
 * row's start and end at the element. GRAPH_PROVIDER_SEED replays another seed.
 */
const SEED = Number(process.env.GRAPH_PROVIDER_SEED ?? 0x9a0f) >>> 0;

describe(`graph trace provider (seed ${SEED})`, () => {
  before(() => initKeccak());

  it("opens everything a dispute needs, and each opening verifies", () => {
    const rng = new Rng(SEED);
    let reduceLeaves = 0;
    let narrowConvLeaves = 0;
    for (let k = 0; k < 20; k++) {
      const program = randomProgram(rng);
      const provider = GraphTraceProvider.fromInput(program, randomInputs(rng, program, 1));
      const depth = provider.commitment.prefix.depth;
      expect(provider.leaf(provider.leafCount - 1).kind).to.equal("output");
      expect(Array.from(provider.leaf(provider.leafCount - 1).tensor)).to.deep.equal(Array.from(provider.output));
      for (let i = 0; i < provider.leafCount; i++) {
        const ext = provider.extension(i);
        const prev = i === 0 ? zeroRoot(depth) : provider.prefixRoot(i - 1);
        expect(verifyExtension(prev, provider.prefixRoot(i), ext.value, i, ext.proof, depth), `program ${k} leaf ${i}`).to.equal(true);
        if (i > 0) {
          const j = rng.int(0, i - 1);
          const under = provider.rootUnder(j, i - 1);
          expect(verifyProof(provider.prefixRoot(i - 1), under.value, j, under.proof, depth), `leaf ${j} under P_${i - 1}`).to.equal(true);
        }
        const tensor = provider.leaf(i).tensor;
        const e = rng.int(0, tensor.length - 1);
        const perLeaf = tensor instanceof Int8Array ? 32 : 8;
        const opened = provider.tensorLeaf(i, Math.floor(e / perLeaf));
        // The input's and the output's trees are binary, a value's paged (7 page words, then the page's siblings).
        const binary = i === 0 || i === provider.leafCount - 1;
        const ok = binary ? verifyProof(ext.value, opened.value, opened.index, opened.proof, opened.proof.length) : verifyPagedProof(ext.value, opened.value, opened.index, opened.proof, opened.proof.length - 4);
        expect(ok, `tensor leaf of ${i}`).to.equal(true);
        expect(provider.element(i, e)).to.equal(tensor[e]);
        const leaf = provider.leaf(i);
        if (leaf.kind === "stage" && leaf.entry.stage.kind === "reduce") {
          reduceLeaves++;
          const folds = provider.partialFolds(i, e);
          expect(folds[folds.length - 1], `fold end of leaf ${i}[${e}]`).to.equal(tensor[e]);
          // One fold per chunk boundary (chunks of 8 terms for a narrow Conv, 32 otherwise), then a
          // finished reduce's element.
          const op = program.ops[leaf.entry.value - 1] as ReducingOp;
          const narrow = op.kind === "conv" && isNarrowConv(program.constants[op.weight].shape[3], op.dilations[1]);
          if (narrow) narrowConvLeaves++;
          const rowLength = reductionOf(program, op, validateProgram(program)[op.inputs[0]]).rowLength;
          expect(folds.length, `folds of leaf ${i}`).to.equal(Math.ceil(rowLength / (narrow ? 8 : 32)) + 1 + (leaf.entry.stage.finish ? 1 : 0));
          expect(provider.leafOf(leaf.entry.value, leaf.entry.stage.name)).to.equal(i);
        }
      }
    }
    expect(reduceLeaves).to.be.greaterThan(10);
    expect(narrowConvLeaves).to.be.greaterThan(0);
  });

  it("each op's model leaf names the trace leaf of its first committed stage", () => {
    const rng = new Rng(SEED ^ 2);
    for (let k = 0; k < 20; k++) {
      const program = randomProgram(rng);
      const provider = GraphTraceProvider.fromInput(program, randomInputs(rng, program, 1));
      opLeaves(program).forEach((leaf, i) => {
        const first = opStages(leaf.op, leaf.shapes[leaf.shapes.length - 1]).find((s) => s.committed);
        if (first !== undefined) expect(leaf.firstLeaf, `program ${k} op ${i}`).to.equal(provider.leafOf(i + 1, first.name));
      });
    }
  });

  it("refuses leaves, elements and stages that are not there", () => {
    const program = randomProgram(new Rng(SEED ^ 1), { ops: 3 });
    const provider = GraphTraceProvider.fromInput(program, new Int8Array(program.inputShape.reduce((a, b) => a * b, 1)));
    expect(() => provider.leaf(provider.leafCount)).to.throw(RangeError);
    expect(() => provider.element(0, -1)).to.throw(RangeError);
    expect(() => provider.partialFolds(0, 0)).to.throw(RangeError, /not a reduce stage/);
    expect(() => provider.leafOf(99)).to.throw(RangeError, /no committed stage/);
  });
});
