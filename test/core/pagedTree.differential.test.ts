import { expect } from "chai";
import { ethers } from "hardhat";
import type { MerkleHarness } from "../../typechain-types";
import { initKeccak, keccak256 } from "../../core/keccak";
import { MerkleTree, WORD_BYTES, treeDepth } from "../../core/merkle";
import { PAGE_LEVELS, PAGE_WORDS, PagedTree, pagedDepth, verifyPagedProof } from "../../core/pagedTree";
import { Rng } from "../../core/rng";
import { chunks, flipBit, hex } from "../helpers/bytes";

/**
 * Paged trees (core/pagedTree.ts, the trees of a graph program's values) against LibMerkle.verifyPaged and
 * pagedDepthFor (through contracts/test/MerkleHarness.sol) on the same seeded trees. PAGED_TEST_SEED replays
 * another seed.
 */

const SEED = Number(process.env.PAGED_TEST_SEED ?? 0x9a6ed) >>> 0;

interface Opening {
  readonly label: string;
  readonly root: Uint8Array;
  readonly leaf: Uint8Array;
  readonly index: bigint;
  readonly proof: Uint8Array[];
  readonly depth: number;
}

function opening(tree: PagedTree, index: number, label: string): Opening {
  return { label, root: tree.root, leaf: tree.leaf(index), index: BigInt(index), proof: tree.proof(index), depth: tree.depth };
}

function randomTree(rng: Rng, words: number): PagedTree {
  const bytes = new Uint8Array(words * WORD_BYTES);
  for (let i = 0; i < bytes.length; i++) bytes[i] = rng.int(0, 255);
  return PagedTree.fromLeaves(bytes);
}

describe("paged trees: LibMerkle.verifyPaged vs core/pagedTree.ts (differential)", function () {
  let harness: MerkleHarness;

  before(async function () {
    await initKeccak();
    harness = await (await ethers.getContractFactory("MerkleHarness")).deploy();
    console.log(`      paged tree seed: ${SEED} (PAGED_TEST_SEED=${SEED} replays it)`);
  });

  /** Both sides must give `valid` for every opening. */
  async function check(openings: Opening[], valid: boolean): Promise<void> {
    const problems: string[] = [];
    for (const batch of chunks(openings, 300)) {
      const oks = await harness.verifyPagedBatch(batch.map((o) => ({ root: o.root, leaf: o.leaf, index: o.index, proof: o.proof, depth: o.depth })));
      batch.forEach((o, i) => {
        const ts = verifyPagedProof(o.root, o.leaf, Number(o.index), o.proof, o.depth);
        if (ts !== valid) problems.push(`${o.label}: TypeScript ${ts}`);
        if (oks[i] !== valid) problems.push(`${o.label}: Solidity ${oks[i]}`);
      });
    }
    expect(problems.slice(0, 10), `seed ${SEED}: ${problems.length} of ${openings.length} openings disagree`).to.deep.equal([]);
  }

  it("the layout: pages of 8 words hashed as 256 bytes, a binary tree over them padded with the zero page's hash", () => {
    const rng = new Rng(SEED);
    // One page: the root is the page's hash, the last words zero-filled.
    const three = randomTree(rng, 3);
    const page = new Uint8Array(PAGE_WORDS * WORD_BYTES);
    for (let k = 0; k < 3; k++) page.set(three.leaf(k), k * WORD_BYTES);
    expect([hex(three.root), three.depth]).to.deep.equal([hex(keccak256(page)), PAGE_LEVELS]);
    // 17 words: three pages, the fourth the zero page.
    const tree = randomTree(rng, 17);
    const pageHash = (p: number) => keccak256(Buffer.concat(Array.from({ length: PAGE_WORDS }, (_, k) => tree.leaf(p * PAGE_WORDS + k))));
    const zeroPage = keccak256(new Uint8Array(PAGE_WORDS * WORD_BYTES));
    const expected = MerkleTree.fromLeaves(Buffer.concat([pageHash(0), pageHash(1), pageHash(2), zeroPage]));
    expect([hex(tree.root), tree.depth]).to.deep.equal([hex(expected.root), PAGE_LEVELS + 2]);
    expect(hex(tree.node(PAGE_LEVELS, 3))).to.equal(hex(zeroPage)); // padding is revealable: a zero page hashes to it
    expect(hex(tree.node(0, 30))).to.equal(hex(new Uint8Array(WORD_BYTES)));
    for (const h of [1, 2]) expect(() => tree.node(h, 0)).to.throw(RangeError, /inside a page/);
    expect(hex(tree.root)).to.not.equal(hex(MerkleTree.fromLeaves(Buffer.concat(Array.from({ length: 17 }, (_, k) => tree.leaf(k)))).root));
  });

  it("pagedDepthFor equals pagedDepth for 1..300 words and large counts", async () => {
    const counts = [...Array.from({ length: 300 }, (_, k) => k + 1), 2 ** 20, 2 ** 20 + 1, 2 ** 40 - 7];
    const depths = await harness.pagedDepthForBatch(counts);
    expect(depths.map(Number)).to.deep.equal(counts.map(pagedDepth));
    expect(pagedDepth(8)).to.equal(3);
    expect(pagedDepth(9)).to.equal(4);
    expect(pagedDepth(2 ** 20)).to.equal(PAGE_LEVELS + treeDepth(2 ** 17));
  });

  it("accepts every word's proof (padding words included) of trees of 1..40 words, and random proofs of 100 trees of up to 3000", async () => {
    const rng = new Rng(SEED ^ 1);
    const openings: Opening[] = [];
    for (let words = 1; words <= 40; words++) {
      const tree = randomTree(rng, words);
      for (let i = 0; i < 2 ** tree.depth; i++) openings.push(opening(tree, i, `${words} words, word ${i}`));
    }
    for (let t = 0; t < 100; t++) {
      const tree = randomTree(rng, rng.int(1, 3000));
      for (let k = 0; k < 5; k++) {
        const i = rng.int(0, 2 ** tree.depth - 1);
        openings.push(opening(tree, i, `tree ${t} (${tree.leafCount} words), word ${i}`));
      }
    }
    await check(openings, true);
  });

  it("rejects a flipped bit in the word, in a page word, in a sibling or in the root; another slot; a proof of another length or depth", async () => {
    const rng = new Rng(SEED ^ 2);
    const bad: Opening[] = [];
    for (let t = 0; t < 40; t++) {
      const tree = randomTree(rng, rng.int(9, 500));
      const i = rng.int(0, tree.leafCount - 1);
      const o = opening(tree, i, `tree ${t} word ${i}`);
      const bit = () => rng.int(0, 255);
      bad.push({ ...o, label: `${o.label} word bit`, leaf: flipBit(o.leaf, bit()) });
      bad.push({ ...o, label: `${o.label} root bit`, root: flipBit(o.root, bit()) });
      o.proof.forEach((w, k) => bad.push({ ...o, label: `${o.label} proof word ${k} bit`, proof: o.proof.map((p, q) => (q === k ? flipBit(w, bit()) : p)) }));
      // The same page, another slot: the other words no longer line up (they are distinct random words).
      bad.push({ ...o, label: `${o.label} next slot`, index: BigInt(i ^ 1) });
      bad.push({ ...o, label: `${o.label} another page`, index: BigInt(i ^ PAGE_WORDS) });
      bad.push({ ...o, label: `${o.label} index past the tree`, index: o.index + (1n << BigInt(o.depth)) });
      bad.push({ ...o, label: `${o.label} proof − last`, proof: o.proof.slice(0, -1) });
      bad.push({ ...o, label: `${o.label} proof + zero`, proof: [...o.proof, new Uint8Array(32)] });
      bad.push({ ...o, label: `${o.label} depth + 1`, depth: o.depth + 1 });
      bad.push({ ...o, label: `${o.label} depth 2`, depth: 2, proof: o.proof.slice(0, 6) });
      // The binary proof of the same word: 7 words short of a page.
      const binary = MerkleTree.fromLeaves(Buffer.concat(Array.from({ length: tree.leafCount }, (_, k) => tree.leaf(k))));
      bad.push({ ...o, label: `${o.label} binary proof`, root: binary.root, proof: binary.proof(i), depth: binary.depth });
    }
    await check(bad, false);
  });
});
