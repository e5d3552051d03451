import { ethers } from "hardhat";

/** Helpers shared by the Solidity-versus-TypeScript differential tests. */
export const hex = (bytes: Uint8Array): string => ethers.hexlify(bytes);

/** `items` cut into batches of `size` (for batched eth_calls). */
export function chunks<T>(items: readonly T[], size: number): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < items.length; i += size) out.push(items.slice(i, i + size));
  return out;
}

/** A copy of `word` with bit `bit` flipped (bit 0 is the low bit of byte 0). */
export function flipBit(word: Uint8Array, bit: number): Uint8Array {
  const out = Uint8Array.from(word);
  out[bit >> 3] ^= 1 << (bit & 7);
  return out;
}
