import { expect } from "chai";
import { ethers } from "hardhat";
import type { MerkleHarness } from "../../typechain-types";
import { Rng as SeededRng } from "../../core/rng";
import { initKeccak } from "../../core/keccak";
import { MerkleTree, rootFromProof, toLeaves, treeDepth, verifyProof } from "../../core/merkle";
import { chunks, flipBit, hex } from "../helpers/bytes";

/**
 * Differential tests: contracts/lib/LibMerkle.sol (through contracts/test/MerkleHarness.sol) against
 * core/merkle.ts on the same seeded inputs. Set MERKLE_TEST_SEED to replay another seed.
 */

const SEED = Number(process.env.MERKLE_TEST_SEED ?? 0x5eed2024) >>> 0;

/** The project's seeded generator, with each test mixing its own label into the seed. */
class Rng {
  private readonly rng: SeededRng;

  constructor(label: string) {
    let h = 0x811c9dc5; // FNV-1a of the label
    for (let i = 0; i < label.length; i++) h = Math.imul(h ^ label.charCodeAt(i), 0x01000193);
    this.rng = new SeededRng((SEED ^ h) >>> 0);
  }

  u32(): number {
    return this.rng.uint32();
  }

  /** Uniform integer in [0, n). */
  int(n: number): number {
    return this.rng.int(0, n - 1);
  }

  bytes(n: number): Uint8Array {
    const out = new Uint8Array(n);
    for (let i = 0; i < n; i++) out[i] = this.u32() & 0xff;
    return out;
  }

  /** Random bytes of which about `density` are non-zero (sparse data such as MNIST pixels). */
  sparseBytes(n: number, density: number): Uint8Array {
    const out = new Uint8Array(n);
    for (let i = 0; i < n; i++) if (this.u32() / 2 ** 32 < density) out[i] = 1 + (this.u32() % 255);
    return out;
  }
}




/** The TS root of `data` cut into 32-byte leaves. */
const tsRootOfBytes = (data: Uint8Array): string => hex(MerkleTree.fromLeaves(toLeaves(data)).root);

/** A tree over `leafCount` random (so pairwise distinct, non-zero) leaves. */
function randomTree(rng: Rng, leafCount: number): MerkleTree {
  return MerkleTree.fromLeaves(rng.bytes(leafCount * 32));
}

interface Opening {
  label: string;
  root: Uint8Array;
  leaf: Uint8Array;
  index: bigint;
  proof: Uint8Array[];
  depth: number;
}

function opening(tree: MerkleTree, index: number, label: string): Opening {
  return { label, root: tree.root, leaf: tree.leaf(index), index: BigInt(index), proof: tree.proof(index), depth: tree.depth };
}

/** Seeded bit-flips and shape changes of a valid opening, each of which must be rejected. */
function mutations(rng: Rng, o: Opening): Opening[] {
  const out: Opening[] = [];
  const add = (what: string, change: Partial<Opening>): void => {
    out.push({ ...o, ...change, label: `${o.label} ${what}` });
  };
  for (let k = 0; k < 4; k++) {
    const bit = rng.int(256);
    add(`leaf bit ${bit}`, { leaf: flipBit(o.leaf, bit) });
  }
  o.proof.forEach((sibling, h) => {
    for (let k = 0; k < 2; k++) {
      const bit = rng.int(256);
      const proof = o.proof.slice();
      proof[h] = flipBit(sibling, bit);
      add(`sibling ${h} bit ${bit}`, { proof });
    }
  });
  for (let k = 0; k < 4; k++) {
    const bit = rng.int(256);
    add(`root bit ${bit}`, { root: flipBit(o.root, bit) });
  }
  for (let h = 0; h < o.depth; h++) add(`index bit ${h}`, { index: o.index ^ (1n << BigInt(h)) });
  add("index + 2^depth", { index: o.index + (1n << BigInt(o.depth)) });
  add("index = 2^depth", { index: 1n << BigInt(o.depth) });
  const high = o.depth + 1 + rng.int(52 - o.depth);
  add(`index | 2^${high}`, { index: o.index | (1n << BigInt(high)) });
  add("proof + random word", { proof: [...o.proof, rng.bytes(32)] });
  add("proof + zero word", { proof: [...o.proof, new Uint8Array(32)] });
  add("proof + root", { proof: [...o.proof, o.root] });
  if (o.depth > 0) {
    add("proof - last", { proof: o.proof.slice(0, -1) });
    add("proof - first", { proof: o.proof.slice(1) });
    add("depth - 1", { depth: o.depth - 1 });
  }
  add("depth + 1", { depth: o.depth + 1 });
  return out;
}

describe("LibMerkle vs core/merkle.ts (differential)", function () {
  let harness: MerkleHarness;

  before(async function () {
    await initKeccak();
    harness = await (await ethers.getContractFactory("MerkleHarness")).deploy();
    await harness.waitForDeployment();
    console.log(`      merkle differential seed: ${SEED} (MERKLE_TEST_SEED=${SEED} replays it)`);
  });

  /**
   * Checks each opening in Solidity (verify and computeRoot, in batched eth_calls) and in TS
   * (verifyProof and rootFromProof), expecting `valid` from both and the same computed root.
   */
  async function checkOpenings(openings: Opening[], valid: boolean): Promise<void> {
    const problems: string[] = [];
    for (const batch of chunks(openings, 400)) {
      const [oks, roots] = await harness.verifyBatch(
        batch.map((o) => ({ root: o.root, leaf: o.leaf, index: o.index, proof: o.proof, depth: o.depth })),
      );
      batch.forEach((o, i) => {
        const safe = o.index <= BigInt(Number.MAX_SAFE_INTEGER);
        const tsOk = verifyProof(o.root, o.leaf, Number(o.index), o.proof, o.depth);
        if (tsOk !== valid) problems.push(`${o.label}: TS verifyProof gave ${tsOk}`);
        if (oks[i] !== valid) problems.push(`${o.label}: Solidity verify gave ${oks[i]}`);
        if (safe && roots[i] !== hex(rootFromProof(o.leaf, Number(o.index), o.proof))) {
          problems.push(`${o.label}: computeRoot ${roots[i]} differs from TS rootFromProof`);
        }
      });
    }
    expect(problems.slice(0, 10), `${problems.length} of ${openings.length} openings disagree`).to.deep.equal([]);
  }

  describe("roots", function () {
    it("rootOfBytes equals the TS root for every length 0..70 (71 calls, one each)", async function () {
      const rng = new Rng("lengths 0..70");
      for (let length = 0; length <= 70; length++) {
        const data = rng.bytes(length);
        expect(await harness.rootOfBytes(data), `length ${length}`).to.equal(tsRootOfBytes(data));
      }
      expect(await harness.rootOfBytes("0x")).to.equal(ethers.ZeroHash);
    });

    it("rootOfBytes equals the TS root around power-of-two leaf counts and on one-leaf trees (batched)", async function () {
      const rng = new Rng("edge lengths");
      const lengths: number[] = [];
      for (let k = 0; k <= 9; k++) lengths.push(32 * 2 ** k - 1, 32 * 2 ** k, 32 * 2 ** k + 1);
      for (let length = 1; length <= 32; length++) lengths.push(length); // one leaf
      lengths.push(784, 784 - 1, 784 + 1, 25 * 32);
      const items: Uint8Array[] = [];
      for (const length of lengths) items.push(rng.bytes(length), new Uint8Array(length), rng.sparseBytes(length, 0.2));
      const roots = await harness.rootOfBytesBatch(items);
      items.forEach((data, i) => expect(roots[i], `length ${data.length}`).to.equal(tsRootOfBytes(data)));
      console.log(`      ${items.length} edge-length inputs (${lengths.length} lengths x random/zero/sparse)`);
    });

    it("rootOfBytes equals the TS root for 250 seeded random lengths up to 5000 bytes (batched eth_calls)", async function () {
      const rng = new Rng("random lengths");
      const items: Uint8Array[] = [];
      for (let i = 0; i < 250; i++) {
        const length = rng.int(5001);
        const kind = rng.int(4);
        items.push(kind === 0 ? new Uint8Array(length) : kind === 1 ? rng.sparseBytes(length, 0.2) : rng.bytes(length));
      }
      for (const [b, batch] of chunks(items, 25).entries()) {
        const roots = await harness.rootOfBytesBatch(batch);
        batch.forEach((data, i) => expect(roots[i], `item ${b * 25 + i}, length ${data.length}`).to.equal(tsRootOfBytes(data)));
      }
      // A few through the single-item function too, so that batching does not hide anything.
      for (const data of items.slice(0, 10)) expect(await harness.rootOfBytes(data)).to.equal(tsRootOfBytes(data));
    });

    it("rootOfWords equals MerkleTree.fromLeaves for 1..130 leaves and reverts on none", async function () {
      const rng = new Rng("rootOfWords");
      const items: Uint8Array[][] = [];
      for (let count = 1; count <= 130; count++) {
        const leaves = count % 3 === 0 ? rng.sparseBytes(count * 32, 0.01) : rng.bytes(count * 32);
        items.push(Array.from({ length: count }, (_, i) => leaves.subarray(i * 32, (i + 1) * 32)));
      }
      for (const batch of chunks(items, 40)) {
        const roots = await harness.rootOfWordsBatch(batch);
        batch.forEach((words, i) => {
          const tree = MerkleTree.fromLeaves(ethers.getBytes(ethers.concat(words)));
          expect(roots[i], `${words.length} leaves`).to.equal(hex(tree.root));
        });
      }
      const single = items[24];
      expect(await harness.rootOfWords(single)).to.equal(hex(MerkleTree.fromLeaves(ethers.getBytes(ethers.concat(single))).root));
      await expect(harness.rootOfWords([])).to.be.revertedWithCustomError(harness, "LibMerkleEmptyTree");
    });
  });

  describe("proofs", function () {
    it("accepts every proof (padding leaves included) of trees of 1..33 leaves", async function () {
      const rng = new Rng("every index");
      const openings: Opening[] = [];
      for (const count of [1, 2, 3, 4, 5, 6, 7, 8, 9, 15, 16, 17, 25, 32, 33]) {
        const tree = randomTree(rng, count);
        for (let index = 0; index < 2 ** tree.depth; index++) openings.push(opening(tree, index, `${count} leaves, index ${index}`));
      }
      await checkOpenings(openings, true);
      // The single-call functions agree with the batch.
      for (const o of openings.filter((_, i) => i % 20 === 0)) {
        expect(await harness.verify(o.root, o.leaf, o.index, o.proof, o.depth), o.label).to.equal(true);
        expect(await harness.computeRoot(o.leaf, o.index, o.proof), o.label).to.equal(hex(o.root));
      }
      console.log(`      ${openings.length} valid openings`);
    });

    it("accepts random proofs of 150 seeded trees of up to 1000 leaves", async function () {
      const rng = new Rng("random indices");
      const openings: Opening[] = [];
      for (let t = 0; t < 150; t++) {
        const tree = t % 2 === 0 ? randomTree(rng, 1 + rng.int(1000)) : MerkleTree.fromLeaves(toLeaves(rng.bytes(rng.int(32_001))));
        for (let k = 0; k < 4; k++) {
          const index = rng.int(2 ** tree.depth);
          openings.push(opening(tree, index, `tree ${t} (${tree.leafCount} leaves), index ${index}`));
        }
      }
      await checkOpenings(openings, true);
      console.log(`      ${openings.length} valid openings`);
    });
  });

  describe("rejections", function () {
    it("rejects every single-bit flip of the leaf, each sibling and the root of one opening (exhaustive)", async function () {
      const rng = new Rng("exhaustive flips");
      const tree = randomTree(rng, 11);
      const o = opening(tree, 6, "11 leaves, index 6");
      const bad: Opening[] = [];
      for (let bit = 0; bit < 256; bit++) {
        bad.push({ ...o, label: `leaf bit ${bit}`, leaf: flipBit(o.leaf, bit) });
        bad.push({ ...o, label: `root bit ${bit}`, root: flipBit(o.root, bit) });
        o.proof.forEach((sibling, h) => {
          const proof = o.proof.slice();
          proof[h] = flipBit(sibling, bit);
          bad.push({ ...o, label: `sibling ${h} bit ${bit}`, proof });
        });
      }
      await checkOpenings([o], true);
      await checkOpenings(bad, false);
      console.log(`      ${bad.length} flipped openings`);
    });

    it("rejects seeded bit flips, wrong indices and wrong proof lengths on 200 trees", async function () {
      const rng = new Rng("seeded flips");
      const good: Opening[] = [];
      const bad: Opening[] = [];
      for (let t = 0; t < 200; t++) {
        const count = t < 10 ? t + 1 : 1 + rng.int(600);
        const tree = randomTree(rng, count);
        const index = rng.int(count);
        const o = opening(tree, index, `tree ${t} (${count} leaves), index ${index}`);
        good.push(o);
        bad.push(...mutations(rng, o));
        // Indices only Solidity can take.
        bad.push({ ...o, label: `${o.label} index 2^256-1`, index: ethers.MaxUint256 });
        bad.push({ ...o, label: `${o.label} index | 2^255`, index: o.index | (1n << 255n) });
      }
      await checkOpenings(good, true);
      await checkOpenings(bad, false);
      console.log(`      ${good.length} openings, ${bad.length} mutations rejected by both sides`);
    });
  });

  describe("depthFor", function () {
    it("equals treeDepth for 1..300 and the bit length of n-1 for large n", async function () {
      const counts = Array.from({ length: 300 }, (_, i) => i + 1);
      const depths = await harness.depthForBatch(counts);
      counts.forEach((n, i) => expect(depths[i], `${n} leaves`).to.equal(BigInt(treeDepth(n))));
      for (const n of [1, 2, 3, 4, 5, 255, 256, 257]) expect(await harness.depthFor(n)).to.equal(BigInt(treeDepth(n)));

      const large: bigint[] = [ethers.MaxUint256];
      for (let k = 9; k <= 255; k++) large.push((1n << BigInt(k)) - 1n, 1n << BigInt(k), (1n << BigInt(k)) + 1n);
      const largeDepths = await harness.depthForBatch(large);
      large.forEach((n, i) => expect(largeDepths[i], `${n} leaves`).to.equal(BigInt((n - 1n).toString(2).length)));
    });

    it("reverts with LibMerkleEmptyTree for zero leaves", async function () {
      await expect(harness.depthFor(0)).to.be.revertedWithCustomError(harness, "LibMerkleEmptyTree");
      await expect(harness.depthForBatch([3, 0])).to.be.revertedWithCustomError(harness, "LibMerkleEmptyTree");
    });
  });

  describe("gas", function () {
    it("rootOfBytes on a 784-byte input (printed, not asserted)", async function () {
      const data = new Rng("gas").bytes(784);
      const [execution, root] = await harness.gasOfRootOfBytes(data);
      expect(root).to.equal(tsRootOfBytes(data));
      const transaction = await harness.rootOfBytes.estimateGas(data);
      console.log(
        `        gas rootOfBytes(784 bytes, 25 leaves, depth 5): ${execution} inside the library, ` +
          `${transaction} for a whole transaction to the harness (21000 base + calldata included)`,
      );
    });
  });
});
