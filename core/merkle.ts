import { bytesEqual } from "./bytes";
import { hashPair, keccak256 } from "./keccak";

/**
 * Positional binary Merkle trees over 32-byte leaves (DESIGN §3, docs/commitments.md).
 *
 * - A leaf is a raw 32-byte word; it is not hashed again before entering the tree.
 * - An inner node is keccak256(left ‖ right); the order of the children is kept.
 * - The leaves are padded with zero words up to a power of two. A tree of one leaf
 *   has that leaf as its root and depth 0.
 * - A proof is the list of siblings from the leaf up; bit d of the index says
 *   whether the node at height d is a right child. A verifier knows the depth from
 *   the size of what was committed, and rejects a proof of any other length.
 *
 * contracts/lib/LibMerkle.sol implements the same rules; test/merkle.differential.test.ts
 * keeps them together.
 */
export const WORD_BYTES = 32;

/** Roots of all-zero subtrees: ZERO_HASHES[h] is the root of 2^h zero leaves. */
const ZERO_HASHES: Uint8Array[] = [new Uint8Array(WORD_BYTES)];
for (let h = 1; h <= 64; h++) ZERO_HASHES.push(hashPair(ZERO_HASHES[h - 1], ZERO_HASHES[h - 1]));

/** The root of 2^height zero leaves. */
export function zeroRoot(height: number): Uint8Array {
  return ZERO_HASHES[height];
}

/** Depth of a tree with `leafCount` leaves: ceil(log2(leafCount)), 0 for one leaf. */
export function treeDepth(leafCount: number): number {
  if (!Number.isSafeInteger(leafCount) || leafCount < 1) throw new RangeError(`a tree needs at least one leaf, got ${leafCount}`);
  let depth = 0;
  while (2 ** depth < leafCount) depth++;
  return depth;
}

/** Number of 32-byte leaves that hold `byteLength` bytes (at least one). */
export function leavesFor(byteLength: number): number {
  return Math.max(1, Math.ceil(byteLength / WORD_BYTES));
}

/** Copies `bytes` into whole 32-byte leaves, zero-filling the unused tail. */
export function toLeaves(bytes: Uint8Array): Uint8Array {
  if (bytes.length > 0 && bytes.length % WORD_BYTES === 0) return bytes;
  const out = new Uint8Array(leavesFor(bytes.length) * WORD_BYTES);
  out.set(bytes);
  return out;
}

export class MerkleTree {
  /** levels[0] holds the leaves, levels[depth] the root; padding nodes are not stored. */
  private readonly levels: Uint8Array[];
  readonly leafCount: number;
  readonly depth: number;

  private constructor(
    levels: Uint8Array[],
    leafCount: number,
    /** paddingRoots[h]: the root of 2^h padding leaves. */
    private readonly paddingRoots: readonly Uint8Array[],
  ) {
    this.levels = levels;
    this.leafCount = leafCount;
    this.depth = levels.length - 1;
  }

  /**
   * Builds the tree over `leaves`, a whole number of 32-byte words (see {@link toLeaves}), padded with
   * zero words, or with other padding leaves whose subtrees' roots are `paddingRoots` (index h: the root
   * of 2^h of them, {@link paddingRootsOf}; core/pagedTree.ts pads its tree of pages with a zero page's hash).
   */
  static fromLeaves(leaves: Uint8Array, paddingRoots: readonly Uint8Array[] = ZERO_HASHES): MerkleTree {
    if (leaves.length === 0 || leaves.length % WORD_BYTES !== 0) {
      throw new RangeError(`leaves must be a non-empty multiple of ${WORD_BYTES} bytes, got ${leaves.length}`);
    }
    const leafCount = leaves.length / WORD_BYTES;
    const depth = treeDepth(leafCount);
    if (paddingRoots.length <= depth) throw new RangeError(`padding roots up to height ${paddingRoots.length - 1} for a tree of depth ${depth}`);
    const levels = [leaves];
    for (let h = 0; h < depth; h++) {
      const below = levels[h];
      const count = below.length / WORD_BYTES;
      const above = new Uint8Array(Math.ceil(count / 2) * WORD_BYTES);
      for (let i = 0; i + 1 < count; i += 2) {
        above.set(keccak256(below.subarray(i * WORD_BYTES, (i + 2) * WORD_BYTES)), (i / 2) * WORD_BYTES);
      }
      if (count % 2 === 1) {
        const last = below.subarray((count - 1) * WORD_BYTES);
        above.set(hashPair(last, paddingRoots[h]), ((count - 1) / 2) * WORD_BYTES);
      }
      levels.push(above);
    }
    return new MerkleTree(levels, leafCount, paddingRoots);
  }

  get root(): Uint8Array {
    return this.node(this.depth, 0);
  }

  /** The node at `height` above the leaves and position `index` on that level, padding included. */
  node(height: number, index: number): Uint8Array {
    if (height < 0 || height > this.depth) throw new RangeError(`height ${height} outside 0..${this.depth}`);
    if (!Number.isSafeInteger(index) || index < 0 || index >= 2 ** (this.depth - height)) {
      throw new RangeError(`index ${index} outside a level of ${2 ** (this.depth - height)} nodes`);
    }
    const level = this.levels[height];
    if ((index + 1) * WORD_BYTES > level.length) return this.paddingRoots[height];
    return level.subarray(index * WORD_BYTES, (index + 1) * WORD_BYTES);
  }

  leaf(index: number): Uint8Array {
    return this.node(0, index);
  }

  /** Siblings from the leaf up to the root, `depth` words. */
  proof(index: number): Uint8Array[] {
    this.node(0, index); // range check
    const siblings: Uint8Array[] = [];
    for (let h = 0; h < this.depth; h++) siblings.push(this.node(h, siblingAt(index, h)));
    return siblings;
  }
}

/** The roots of 2^0 … 2^depth leaves that are all `padding`. */
export function paddingRootsOf(padding: Uint8Array, depth: number): Uint8Array[] {
  const roots = [padding];
  for (let h = 1; h <= depth; h++) roots.push(hashPair(roots[h - 1], roots[h - 1]));
  return roots;
}

/** Position of the sibling of the ancestor at height `h` of leaf `index`. */
function siblingAt(index: number, h: number): number {
  const position = Math.floor(index / 2 ** h);
  return position % 2 === 0 ? position + 1 : position - 1;
}

/** The root that `leaf` at `index` hashes up to with the siblings `proof`. */
export function rootFromProof(leaf: Uint8Array, index: number, proof: readonly Uint8Array[]): Uint8Array {
  let node = leaf;
  let position = index;
  for (const sibling of proof) {
    node = position % 2 === 1 ? hashPair(sibling, node) : hashPair(node, sibling);
    position = Math.floor(position / 2);
  }
  return node;
}

/** True when `proof` opens `leaf` at `index` in a tree of `depth` with root `root`. */
export function verifyProof(root: Uint8Array, leaf: Uint8Array, index: number, proof: readonly Uint8Array[], depth: number): boolean {
  if (proof.length !== depth || !Number.isSafeInteger(index) || index < 0 || index >= 2 ** depth) return false;
  return bytesEqual(rootFromProof(leaf, index, proof), root);
}
