import { bytesEqual } from "./bytes";
import { keccak256 } from "./keccak";
import { MerkleTree, WORD_BYTES, paddingRootsOf, rootFromProof, treeDepth } from "./merkle";

/**
 * Paged Merkle trees (docs/commitments.md §6): the tree of a graph program's committed value tensors.
 * A binary tree over 32-byte words costs one keccak256 per word; hashing the bottom three levels as one
 * message, a **page** of {@link PAGE_WORDS} words (256 bytes, two keccak permutations), costs about a
 * quarter of that, which is what brings a trace root near the cost of onnxruntime's run
 * (scripts/bench/graphCommitment.ts).
 *
 * - The words are grouped in pages of 8, in order; the last page is filled with zero words.
 * - A page's hash is keccak256 of its 256 bytes. The pages are the leaves of a binary tree of
 *   core/merkle.ts's rules, padded up to a power of two with the hash of a zero page (not a zero word:
 *   every node of the tree is then the hash of something a party can reveal).
 * - Heights count words: height 0 is the words, heights 1 and 2 are inside a page and have no nodes,
 *   height 3 is the pages' hashes, and the root is at height {@link pagedDepth}.
 * - A word's proof is the page's other 7 words in order, then the page's siblings from the page up.
 *
 * contracts/lib/LibMerkle.sol (verifyPaged, pagedDepthFor) and GraphDisputeGame.revealNodes (pages
 * hashed 8 words at a time) implement the same rules; test/core/pagedTree.differential.test.ts keeps
 * them together.
 */

/** Words of one page. */
export const PAGE_WORDS = 8;
/** Levels a page spans: log2(PAGE_WORDS). */
export const PAGE_LEVELS = 3;

/** The roots of 2^h zero pages, h = 0 … 64, computed once (keccak256 gives the same bytes before and after initKeccak). */
const ZERO_PAGE_ROOTS = paddingRootsOf(keccak256(new Uint8Array(PAGE_WORDS * WORD_BYTES)), 64);

/** The depth, in word levels, of the paged tree of `words` words: 3 + the depth of its page tree. */
export function pagedDepth(words: number): number {
  return PAGE_LEVELS + treeDepth(Math.ceil(words / PAGE_WORDS));
}

/** The tree of a committed value tensor's words (a whole number of 32-byte words), with MerkleTree's interface. */
export class PagedTree {
  readonly leafCount: number;
  readonly depth: number;

  private constructor(
    private readonly words: Uint8Array,
    private readonly pages: MerkleTree,
  ) {
    this.leafCount = words.length / WORD_BYTES;
    this.depth = PAGE_LEVELS + pages.depth;
  }

  /** Builds the tree over `words`, a non-empty whole number of 32-byte words. */
  static fromLeaves(words: Uint8Array): PagedTree {
    if (words.length === 0 || words.length % WORD_BYTES !== 0) throw new RangeError(`words must be a non-empty multiple of ${WORD_BYTES} bytes, got ${words.length}`);
    const pageBytes = PAGE_WORDS * WORD_BYTES;
    const count = Math.ceil(words.length / pageBytes);
    const hashes = new Uint8Array(count * WORD_BYTES);
    for (let p = 0; p < count; p++) {
      const from = p * pageBytes;
      const page = from + pageBytes <= words.length ? words.subarray(from, from + pageBytes) : padded(words.subarray(from), pageBytes);
      hashes.set(keccak256(page), p * WORD_BYTES);
    }
    return new PagedTree(words, MerkleTree.fromLeaves(hashes, ZERO_PAGE_ROOTS));
  }

  get root(): Uint8Array {
    return this.pages.root;
  }

  /** The node at `height` (in word levels) and `index` on that level, padding included; heights 1 and 2 have none. */
  node(height: number, index: number): Uint8Array {
    if (height === 0) return this.leaf(index);
    if (height < PAGE_LEVELS) throw new RangeError(`height ${height} is inside a page: a paged tree has nodes at heights 0 and ${PAGE_LEVELS}…${this.depth}`);
    return this.pages.node(height - PAGE_LEVELS, index);
  }

  /** Word `index`; zero past the words (inside the tree). */
  leaf(index: number): Uint8Array {
    if (!Number.isSafeInteger(index) || index < 0 || index >= 2 ** this.depth) throw new RangeError(`index ${index} outside a level of ${2 ** this.depth} words`);
    if (index >= this.leafCount) return new Uint8Array(WORD_BYTES);
    return this.words.subarray(index * WORD_BYTES, (index + 1) * WORD_BYTES);
  }

  /** The page's other words in order, then the page's siblings from the page up: 7 + depth − 3 words. */
  proof(index: number): Uint8Array[] {
    this.leaf(index); // range check
    const page = Math.floor(index / PAGE_WORDS);
    const others: Uint8Array[] = [];
    for (let k = page * PAGE_WORDS; k < (page + 1) * PAGE_WORDS; k++) if (k !== index) others.push(this.leaf(k));
    return [...others, ...this.pages.proof(page)];
  }
}

function padded(bytes: Uint8Array, length: number): Uint8Array {
  const out = new Uint8Array(length);
  out.set(bytes);
  return out;
}

/** The hash of the page holding `word` at `index`, its other words `others` (7, in order). */
export function pageHash(word: Uint8Array, index: number, others: readonly Uint8Array[]): Uint8Array {
  const page = new Uint8Array(PAGE_WORDS * WORD_BYTES);
  const slot = index % PAGE_WORDS;
  for (let k = 0, o = 0; k < PAGE_WORDS; k++) page.set(k === slot ? word : others[o++], k * WORD_BYTES);
  return keccak256(page);
}

/** True when `proof` opens `word` at `index` in a paged tree of `depth` (word levels) with root `root`. */
export function verifyPagedProof(root: Uint8Array, word: Uint8Array, index: number, proof: readonly Uint8Array[], depth: number): boolean {
  if (depth < PAGE_LEVELS || proof.length !== PAGE_WORDS - 1 + depth - PAGE_LEVELS || !Number.isSafeInteger(index) || index < 0 || index >= 2 ** depth) return false;
  const page = pageHash(word, index, proof.slice(0, PAGE_WORDS - 1));
  return bytesEqual(rootFromProof(page, Math.floor(index / PAGE_WORDS), proof.slice(PAGE_WORDS - 1)), root);
}
