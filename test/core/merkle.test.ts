import { expect } from "chai";
import { MerkleTree as MerkleTreeJs } from "merkletreejs";
import { bytesEqual } from "../../core/bytes";
import { hashPair, initKeccak, keccak256 } from "../../core/keccak";
import { MerkleTree, WORD_BYTES, leavesFor, rootFromProof, toLeaves, treeDepth, verifyProof, zeroRoot } from "../../core/merkle";
import { Rng } from "../../core/rng";

const word = (fill: number) => new Uint8Array(WORD_BYTES).fill(fill);
const concat = (...words: Uint8Array[]) => {
  const out = new Uint8Array(words.length * WORD_BYTES);
  words.forEach((w, i) => out.set(w, i * WORD_BYTES));
  return out;
};

describe("core/merkle", () => {
  before(initKeccak);

  describe("tree shape", () => {
    it("has the leaf itself as the root of a one-leaf tree", () => {
      const t = MerkleTree.fromLeaves(word(7));
      expect(t.depth).to.equal(0);
      expect(bytesEqual(t.root, word(7))).to.equal(true);
      expect(t.proof(0)).to.deep.equal([]);
    });

    it("hashes pairs in order and pads with zero leaves to a power of two", () => {
      const [a, b, c] = [word(1), word(2), word(3)];
      const t = MerkleTree.fromLeaves(concat(a, b, c));
      expect(t.depth).to.equal(2);
      const expected = hashPair(hashPair(a, b), hashPair(c, word(0)));
      expect(bytesEqual(t.root, expected)).to.equal(true);
      expect(bytesEqual(MerkleTree.fromLeaves(concat(b, a, c)).root, expected)).to.equal(false); // positions matter
      expect(bytesEqual(t.leaf(3), word(0))).to.equal(true); // a padding leaf opens to zero
    });

    it("uses the roots of zero subtrees for padding", () => {
      expect(bytesEqual(zeroRoot(1), hashPair(word(0), word(0)))).to.equal(true);
      const t = MerkleTree.fromLeaves(concat(word(9), ...Array.from({ length: 4 }, () => word(0))));
      expect(t.depth).to.equal(3);
      expect(bytesEqual(t.node(2, 1), zeroRoot(2))).to.equal(true);
    });

    it("computes depths and leaf counts", () => {
      expect([1, 2, 3, 4, 5, 8, 9, 1024, 1025].map(treeDepth)).to.deep.equal([0, 1, 2, 2, 3, 3, 4, 10, 11]);
      expect(() => treeDepth(0)).to.throw(RangeError, "at least one leaf");
      expect([0, 1, 32, 33, 784].map(leavesFor)).to.deep.equal([1, 1, 1, 2, 25]);
      expect(toLeaves(new Uint8Array(33)).length).to.equal(64);
      expect(() => MerkleTree.fromLeaves(new Uint8Array(31))).to.throw(RangeError, "multiple of 32");
    });

    it("refuses positions outside the tree", () => {
      const t = MerkleTree.fromLeaves(concat(word(1), word(2), word(3)));
      expect(() => t.proof(4)).to.throw(RangeError, "index 4");
      expect(() => t.node(3, 0)).to.throw(RangeError, "height 3");
    });
  });

  describe("proofs", () => {
    it("open every leaf, padding included, and reject wrong leaves, indices, roots and lengths", () => {
      const rng = new Rng(11);
      for (const count of [1, 2, 3, 5, 8, 13, 33]) {
        const t = MerkleTree.fromLeaves(new Uint8Array(rng.int8Array(count * WORD_BYTES).buffer));
        for (let i = 0; i < 2 ** t.depth; i++) {
          const proof = t.proof(i);
          expect(verifyProof(t.root, t.leaf(i), i, proof, t.depth), `count ${count} leaf ${i}`).to.equal(true);
          expect(bytesEqual(rootFromProof(t.leaf(i), i, proof), t.root)).to.equal(true);
          const flipped = Uint8Array.from(t.leaf(i));
          flipped[rng.int(0, 31)] ^= 1 << rng.int(0, 7);
          expect(verifyProof(t.root, flipped, i, proof, t.depth)).to.equal(false);
          expect(verifyProof(t.root, t.leaf(i), i + 2 ** t.depth, proof, t.depth)).to.equal(false);
          expect(verifyProof(t.root, t.leaf(i), i, [...proof, word(0)], t.depth)).to.equal(false);
          if (t.depth > 0 && !bytesEqual(t.leaf(i), t.leaf(i ^ 1))) expect(verifyProof(t.root, t.leaf(i), i ^ 1, proof, t.depth)).to.equal(false);
        }
      }
    });
  });

  describe("against merkletreejs", () => {
    it("gives the same root as merkletreejs configured for a positional tree (raw leaves, unsorted pairs)", () => {
      const rng = new Rng(12);
      for (const count of [1, 2, 4, 16, 64, 256]) {
        const bytes = new Uint8Array(rng.int8Array(count * WORD_BYTES).buffer);
        const leaves = Array.from({ length: count }, (_, i) => Buffer.from(bytes.subarray(i * WORD_BYTES, (i + 1) * WORD_BYTES)));
        const theirs = new MerkleTreeJs(leaves, (d: Buffer) => Buffer.from(keccak256(d)), { sortPairs: false, hashLeaves: false });
        expect(bytesEqual(theirs.getRoot(), MerkleTree.fromLeaves(bytes).root), `${count} leaves`).to.equal(true);
      }
    });
  });
});
