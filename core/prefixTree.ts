import { hashPair } from "./keccak";
import { MerkleTree, WORD_BYTES, rootFromProof, treeDepth, verifyProof, zeroRoot } from "./merkle";

/**
 * Prefix commitments over a sequence of words (docs/commitments.md §5): the trace of a graph program
 * is the list of its values' roots `v_0 … v_{n−1}`, committed in one positional tree of the fixed
 * depth `D = depth(n)`; the **prefix root** `P_i` is the root of that tree with the leaves after `i`
 * set to zero. `P_{n−1}` is the trace root.
 *
 * Agreeing on `P_i` is agreeing on every value up to `i`, so a dissection over prefix roots ends at
 * a step whose inputs, however far back, are all agreed; and two facts make that step checkable with
 * one path each:
 * - `P_i` extends `P_{i−1}` by `v_i`: the same siblings open a zero leaf at `i` under `P_{i−1}` and
 *   `v_i` under `P_i` ({@link verifyExtension}), since the two trees differ only in leaf `i`;
 * - any earlier value `v_j` (j < i) opens against the agreed `P_{i−1}` by an ordinary proof
 *   ({@link PrefixTree.openingProof}).
 *
 * contracts/lib/LibMerkle.sol (`verifyExtension`) checks the same rule on-chain.
 */
export class PrefixTree {
  private readonly full: MerkleTree;
  /** The fixed depth every prefix root and proof has. */
  readonly depth: number;
  readonly length: number;

  /** `words`: the sequence, each a 32-byte word, at least one. */
  constructor(words: readonly Uint8Array[]) {
    if (words.length === 0) throw new RangeError("a prefix tree needs at least one word");
    const leaves = new Uint8Array(words.length * WORD_BYTES);
    words.forEach((w, i) => {
      if (w.length !== WORD_BYTES) throw new RangeError(`word ${i} has ${w.length} bytes, not ${WORD_BYTES}`);
      leaves.set(w, i * WORD_BYTES);
    });
    this.full = MerkleTree.fromLeaves(leaves);
    this.depth = treeDepth(words.length);
    this.length = words.length;
  }

  /** Word `i`. */
  word(i: number): Uint8Array {
    this.check(i);
    return this.full.leaf(i);
  }

  /** `P_i`: the root with every word after `i` zero. `root(length − 1)` is the whole tree's root. */
  root(i: number): Uint8Array {
    return rootFromProof(this.word(i), i, this.extensionProof(i));
  }

  /**
   * The siblings of position `i` in `P_i` (and in `P_{i−1}`): at each height, the complete subtree of
   * earlier words on the left, or zeros on the right.
   */
  extensionProof(i: number): Uint8Array[] {
    this.check(i);
    const siblings: Uint8Array[] = [];
    for (let h = 0; h < this.depth; h++) {
      const position = Math.floor(i / 2 ** h);
      siblings.push(position % 2 === 1 ? this.full.node(h, position - 1) : zeroRoot(h));
    }
    return siblings;
  }

  /** The proof that opens word `j` under `P_i` (j ≤ i). */
  openingProof(j: number, i: number): Uint8Array[] {
    this.check(i);
    if (!Number.isSafeInteger(j) || j < 0 || j > i) throw new RangeError(`word ${j} is not in the prefix up to ${i}`);
    const siblings: Uint8Array[] = [];
    for (let h = 0; h < this.depth; h++) siblings.push(this.prefixNode(h, Math.floor(j / 2 ** h) ^ 1, i));
    return siblings;
  }

  /** The node at `height` and `position` of the tree of `P_i`: words after `i` read as zero. */
  private prefixNode(height: number, position: number, i: number): Uint8Array {
    const first = position * 2 ** height;
    const last = first + 2 ** height - 1;
    if (first > i) return zeroRoot(height);
    if (last <= i) return this.full.node(height, position);
    return hashPair(this.prefixNode(height - 1, 2 * position, i), this.prefixNode(height - 1, 2 * position + 1, i));
  }

  private check(i: number): void {
    if (!Number.isSafeInteger(i) || i < 0 || i >= this.length) throw new RangeError(`index ${i} outside 0..${this.length - 1}`);
  }
}

const ZERO_WORD = new Uint8Array(WORD_BYTES);

/**
 * True when `next` is `prev` with word `index` set to `word`: `proof` opens a zero word at `index`
 * under `prev` and `word` under `next`, both in trees of `depth`.
 */
export function verifyExtension(prev: Uint8Array, next: Uint8Array, word: Uint8Array, index: number, proof: readonly Uint8Array[], depth: number): boolean {
  return verifyProof(prev, ZERO_WORD, index, proof, depth) && verifyProof(next, word, index, proof, depth);
}
