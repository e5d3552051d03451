import { expect } from "chai";
import { benchKeccak, benchMerkleLibraries, benchTraceOverhead } from "../../scripts/bench/commitmentBench";
import { benchDisputes } from "../../scripts/bench/disputeBench";
import { benchHappyPathGas } from "../../scripts/bench/gasBench";
import { benchGraphCommitment } from "../../scripts/bench/graphCommitment";
import { benchGraphDisputes } from "../../scripts/bench/graphDisputeBench";

describe("npm run bench -- --quick (smoke run)", () => {
  it("measures keccak, the Merkle libraries (whose roots must agree) and the trace overhead", async () => {
    const options = { quick: true };
    const keccak = await benchKeccak(options);
    expect(keccak.results.hashWasmPerSec).to.be.greaterThan(0);
    const merkle = await benchMerkleLibraries(options); // throws if merkletreejs and core/merkle disagree
    expect(merkle.table).to.contain("merkletreejs");
    const overhead = await benchTraceOverhead(options);
    expect(overhead.results.map((r) => r.model)).to.deep.equal(["mnist-mlp 784-128-64-10", "wide MLP 4 × 512"]);
    for (const r of overhead.results) expect(r.inferenceMs).to.be.greaterThan(0);
  });

  it("measures the graph programs' trace commitment against onnxruntime: the CNN, the MobileNet-style model and a network of over 10M parameters", async function () {
    this.timeout(120_000);
    const { results, profiles } = await benchGraphCommitment({ quick: true });
    expect(results.map((r) => r.model)).to.deep.equal(["mnist-cnn (LeNet, imported)", "mobilenet-style (imported)", "VGG-like 13 conv (random int8)"]);
    expect(results[2].parameters).to.be.greaterThan(10_000_000);
    for (const r of results) expect(r.inferenceMs > 0 && r.traceRootMs > 0 && r.leaves > 0, r.model).to.equal(true);
    // The profile counts the hashes the trees need: a value's pages of 8 words and the inner nodes above them, at
    // least one per 8 words; the input's binary tree, one per inner node.
    for (const p of profiles) expect(p.hashes).to.be.at.least(p.words / 8);
  });

  it("measures the gas of the MNIST happy path, with and without a consumer callback", async () => {
    const gas = await benchHappyPathGas();
    expect(gas.results.rows.map((r) => r.step)).to.deep.equal(["postJob (784-byte input)", "takeJob", "submitResult", "finalize", "**total**"]);
    for (const r of [...gas.results.rows, ...gas.results.withConsumer]) expect(r.first > 0n && r.steady > 0n).to.equal(true);
  });

  it("plays the worst-case disputes automatically: the lying node loses every one, under the gas targets", async () => {
    const { results } = await benchDisputes({ quick: true });
    expect(results.map((r) => r.name)).to.deep.equal(["mnist-mlp 784-128-64-10", "MLP 2 × 64"]);
    for (const r of results) {
      expect(r.asserterWon, r.name).to.equal(false);
      expect(r.moves.at(-1)!.name, r.name).to.equal("step");
      expect(r.largest.gas < 500_000n && r.totalGas < 5_000_000n, r.name).to.equal(true);
    }
    // The MNIST model's longest dispute: layer 1 (the deepest tree, the most partial sums).
    expect(results[0].layer).to.equal(1);
    expect(results[0].transactions).to.equal(9);
  });
  it("plays the graph programs' worst-case dispute per op kind of the CNN through the viem client: the honest challenger wins each", async function () {
    this.timeout(60_000);
    const { results, table } = await benchGraphDisputes({ quick: true });
    expect(results.map((r) => r.model)).to.deep.equal(["mnist-cnn (LeNet, imported)"]);
    const [cnn] = results;
    expect(cnn.opKinds).to.include.members(["conv", "maxPool", "dense"]);
    for (const g of cnn.games) {
      expect(g.asserterWon, `${g.kind}: ${g.where}`).to.equal(false);
      expect(g.reason, `${g.kind}: ${g.where}`).to.equal("StepFailed");
      expect(g.stepMatchesHonest, `${g.kind}: the step's value is the honest run's`).to.equal(true);
      expect(g.moves[0].name).to.equal("open");
      expect(g.moves.at(-1)!.name).to.equal("step");
      expect(g.totalGas).to.equal(g.moves.reduce((a, m) => a + m.gas, 0n));
    }
    expect(cnn.rows.map((r) => r.kind)).to.deep.equal([...cnn.opKinds, "output"]);
    expect(table).to.contain("| lie in |");
  });
});
