import { keccak_256 } from "@noble/hashes/sha3.js";
import { createKeccak, type IHasher } from "hash-wasm";

/**
 * keccak256, the EVM's hash, used by every commitment in Refute.
 *
 * Two backends give the same bytes: @noble/hashes (pure JS, always available) and
 * hash-wasm (WebAssembly, about 6x faster on 64-byte inputs here, but it needs an
 * asynchronous start). Call {@link initKeccak} once at start-up to switch to the
 * fast backend; before that, hashing still works, only slower.
 */
let fast: IHasher | undefined;

/** Loads the WebAssembly backend. Safe to call more than once. */
export async function initKeccak(): Promise<void> {
  fast ??= await createKeccak(256);
}

/** keccak256 of `data`, as 32 bytes. */
export function keccak256(data: Uint8Array): Uint8Array {
  if (fast === undefined) return keccak_256(data);
  fast.init();
  fast.update(data);
  return fast.digest("binary");
}

const pair = new Uint8Array(64);

/** keccak256(left ‖ right) of two 32-byte words: one inner node of a Merkle tree. */
export function hashPair(left: Uint8Array, right: Uint8Array): Uint8Array {
  pair.set(left, 0);
  pair.set(right, 32);
  return keccak256(pair);
}
