import { expect } from "chai";
import { ethers } from "hardhat";
import type { MerkleHarness } from "../../typechain-types";
import { initKeccak } from "../../core/keccak";
import { MerkleTree, WORD_BYTES, verifyProof, zeroRoot } from "../../core/merkle";
import { PrefixTree, verifyExtension } from "../../core/prefixTree";
import { Rng } from "../../core/rng";
import { hex } from "../helpers/bytes";

/**
 * Prefix roots (core/prefixTree.ts, LibMerkle.verifyExtension): each prefix root is the plain
 * Merkle root of the sequence cut after it and zero-filled, every earlier word opens under it, and
 * one proof shows a prefix root extending the one before — in TypeScript and in Solidity alike.
 * PREFIX_TEST_SEED replays another seed.
 */

const SEED = Number(process.env.PREFIX_TEST_SEED ?? 0x9f1e) >>> 0;

function words(rng: Rng, n: number): Uint8Array[] {
  return Array.from({ length: n }, () => Uint8Array.from({ length: WORD_BYTES }, () => rng.int(0, 255)));
}

/** The root of `ws` with the words after `i` set to zero, computed as a plain tree. */
function cutRoot(ws: readonly Uint8Array[], i: number): Uint8Array {
  const leaves = new Uint8Array(ws.length * WORD_BYTES);
  ws.slice(0, i + 1).forEach((w, k) => leaves.set(w, k * WORD_BYTES));
  return MerkleTree.fromLeaves(leaves).root;
}

describe("prefix roots (core/prefixTree.ts, LibMerkle.verifyExtension)", function () {
  let harness: MerkleHarness;
  before(async () => {
    await initKeccak();
    harness = (await (await ethers.getContractFactory("MerkleHarness")).deploy()) as unknown as MerkleHarness;
  });

  it(`each P_i is the zero-filled root of the words up to i, every earlier word opens under it, and P_i extends P_(i−1) (seed ${SEED})`, () => {
    const rng = new Rng(SEED);
    for (const n of [1, 2, 3, 5, 8, 13, 33, 64, 100]) {
      const ws = words(rng, n);
      const tree = new PrefixTree(ws);
      expect(tree.root(n - 1), `n=${n}`).to.deep.equal(MerkleTree.fromLeaves(Buffer.concat(ws)).root);
      for (let i = 0; i < n; i++) {
        const root = tree.root(i);
        expect(root, `n=${n} i=${i}`).to.deep.equal(cutRoot(ws, i));
        const prev = i === 0 ? zeroRoot(tree.depth) : tree.root(i - 1);
        expect(verifyExtension(prev, root, ws[i], i, tree.extensionProof(i), tree.depth), `extend n=${n} i=${i}`).to.equal(true);
        for (const j of new Set([0, Math.floor(i / 2), i])) expect(verifyProof(root, ws[j], j, tree.openingProof(j, i), tree.depth), `open ${j} under P_${i}`).to.equal(true);
      }
    }
  });

  it("refuses an extension by another word, at another place, over another prefix, or with a proof of the wrong length", () => {
    const ws = words(new Rng(SEED ^ 1), 9);
    const tree = new PrefixTree(ws);
    const [prev, next, proof, d] = [tree.root(4), tree.root(5), tree.extensionProof(5), tree.depth];
    expect(verifyExtension(prev, next, ws[5], 5, proof, d)).to.equal(true);
    expect(verifyExtension(prev, next, ws[4], 5, proof, d)).to.equal(false);
    expect(verifyExtension(prev, next, ws[5], 4, proof, d)).to.equal(false);
    expect(verifyExtension(tree.root(3), next, ws[5], 5, proof, d)).to.equal(false);
    expect(verifyExtension(prev, tree.root(6), ws[5], 5, proof, d)).to.equal(false);
    expect(verifyExtension(prev, next, ws[5], 5, proof.slice(1), d)).to.equal(false);
    // A word beyond the prefix does not open under it.
    expect(verifyProof(tree.root(4), ws[6], 6, tree.extensionProof(6), d)).to.equal(false);
    expect(() => tree.openingProof(6, 4)).to.throw(RangeError, /not in the prefix up to 4/);
    expect(() => new PrefixTree([])).to.throw(RangeError);
  });

  it("Solidity agrees with TypeScript on every extension and on the refusals", async () => {
    const rng = new Rng(SEED ^ 2);
    for (const n of [1, 2, 7, 16, 37]) {
      const ws = words(rng, n);
      const tree = new PrefixTree(ws);
      for (let i = 0; i < n; i++) {
        const prev = i === 0 ? zeroRoot(tree.depth) : tree.root(i - 1);
        const proof = tree.extensionProof(i).map(hex);
        const good = [hex(prev), hex(tree.root(i)), hex(ws[i]), i, proof, tree.depth] as const;
        expect(await harness.verifyExtension(...good), `n=${n} i=${i}`).to.equal(true);
        const other = (i + 1) % n;
        expect(await harness.verifyExtension(good[0], good[1], hex(ws[other]), i, proof, tree.depth)).to.equal(other === i || hex(ws[other]) === hex(ws[i]));
        expect(await harness.verifyExtension(good[1], good[1], good[2], i, proof, tree.depth)).to.equal(verifyExtension(tree.root(i), tree.root(i), ws[i], i, tree.extensionProof(i), tree.depth));
        if (tree.depth > 0) expect(await harness.verifyExtension(good[0], good[1], good[2], i, proof.slice(1), tree.depth)).to.equal(false);
      }
    }
  });
});
