import { expect } from "chai";
import { AbiCoder, keccak256 as ethersKeccak } from "ethers";
import { bytesEqual, toHex } from "../../core/bytes";
import { activationTree, biasTree, commitLayer, commitModel, commitTrace, rowLeaves, weightTree } from "../../core/commitments";
import { initKeccak } from "../../core/keccak";
import { MerkleTree, WORD_BYTES, verifyProof } from "../../core/merkle";
import type { DenseLayer } from "../../core/model";
import { runReference } from "../../core/referenceExecutor";
import { Rng } from "../../core/rng";
import { syntheticModel } from "../../scripts/lib/syntheticModel";

describe("core/commitments", () => {
  before(initKeccak);
  const rng = new Rng(21);
  const layer = syntheticModel(rng, { sizes: [70, 11], style: "scaled" }).layers[0] as DenseLayer;

  it("packs activations 32 int8 elements per leaf, two's complement, zero-padded", () => {
    const a = Int8Array.from({ length: 33 }, (_, i) => i - 16);
    const t = activationTree(a);
    expect(t.leafCount).to.equal(2);
    expect(t.leaf(0)[0]).to.equal(0xf0); // -16
    expect(t.leaf(0)[31]).to.equal(15);
    expect(Array.from(t.leaf(1))).to.deep.equal([16, ...new Array(31).fill(0)]);
  });

  it("gives each weight row its own leaves, so weight leaf j·R + c lines up with input leaf c", () => {
    const t = weightTree(layer);
    const R = rowLeaves(layer.nIn);
    expect(R).to.equal(3);
    expect(t.leafCount).to.equal(layer.nOut * R);
    for (const [j, i] of [[0, 0], [0, 69], [5, 31], [5, 32], [10, 64], [10, 69]]) {
      const leaf = t.leaf(j * R + Math.floor(i / 32));
      expect((leaf[i % 32] << 24) >> 24, `w[${j}][${i}]`).to.equal(layer.weights[j * layer.nIn + i]);
    }
    expect(Array.from(t.leaf(R - 1).subarray(70 - 64))).to.deep.equal(new Array(32 - 6).fill(0)); // row padding
  });

  it("packs biases as big-endian int32, 8 per leaf", () => {
    const t = biasTree(Int32Array.of(1, -1, 0x01020304, -(2 ** 31), 5, 6, 7, 8, 9));
    expect(t.leafCount).to.equal(2);
    expect(Array.from(t.leaf(0).subarray(0, 16))).to.deep.equal([0, 0, 0, 1, 255, 255, 255, 255, 1, 2, 3, 4, 128, 0, 0, 0]);
    expect(Array.from(t.leaf(1).subarray(0, 8))).to.deep.equal([0, 0, 0, 9, 0, 0, 0, 0]);
  });

  it("hashes the Dense descriptor as keccak256(abi.encode(...)), the same bytes ethers' ABI coder gives", () => {
    const c = commitLayer(layer);
    const encoded = AbiCoder.defaultAbiCoder().encode(
      ["uint256", "uint256", "uint256", "uint256", "uint256", "int256", "int256", "bytes32", "bytes32"],
      [1, layer.nIn, layer.nOut, layer.multiplier, layer.shift, layer.clampLo, layer.clampHi, toHex(c.weights.root), toHex(c.biases.root)],
    );
    expect(toHex(c.descriptorHash)).to.equal(ethersKeccak(encoded));
  });

  it("roots the model over the descriptor hashes, layer 1 at leaf 0, and changes with any constant", () => {
    const model = syntheticModel(rng, { sizes: [40, 30, 20, 10], style: "scaled" });
    const c = commitModel(model);
    c.layers.forEach((l, i) => expect(verifyProof(c.root, l.descriptorHash, i, c.tree.proof(i), 2)).to.equal(true));
    const bumped = { ...model, layers: [model.layers[0], { ...model.layers[1], shift: model.layers[1].shift + 1 }, model.layers[2]] };
    expect(bytesEqual(commitModel(bumped).root, c.root)).to.equal(false);
    const weights = Int8Array.from(model.layers[2].weights);
    weights[weights.length - 1] ^= 1;
    expect(bytesEqual(commitModel({ ...model, layers: [model.layers[0], model.layers[1], { ...model.layers[2], weights }] }).root, c.root)).to.equal(false);
  });

  it("roots the trace over [r_0 … r_L], each opening against T", () => {
    const model = syntheticModel(rng, { sizes: [50, 40, 30, 20, 10], style: "scaled" });
    const trace = runReference(model, rng.int8Array(50));
    const c = commitTrace(trace);
    expect(c.activations.length).to.equal(5);
    const leaves = new Uint8Array(5 * WORD_BYTES);
    c.activations.forEach((t, l) => leaves.set(t.root, l * WORD_BYTES));
    expect(bytesEqual(MerkleTree.fromLeaves(leaves).root, c.root)).to.equal(true);
    c.activations.forEach((t, l) => expect(verifyProof(c.root, t.root, l, c.tree.proof(l), 3)).to.equal(true));
  });
});
