import type { Interface } from "ethers";

/**
 * Readers for the dispute solvency invariant (test/contracts/solvency.disputes.invariant.test.ts).
 *
 * {@link ProbeBatch}: getter calls and balance reads answered by one eth_call to contracts/test/SolvencyProbe.sol (the
 * games a transaction touched, and the check of the slot reader once in every sequence). Entries are added in order
 * and read back in the same order; call data is built by hand (selector and 32-byte words) and cached.
 */

type Rpc = <T>(method: string, params?: unknown[]) => Promise<T>;

/** A 32-byte word of a bigint, an address or a bytes32, as 64 hex digits. */
export const word = (x: string | bigint | number | boolean): string =>
  (typeof x === "string" ? x.slice(2).toLowerCase() : BigInt(x).toString(16)).padStart(64, "0");

export class ProbeBatch {
  private readonly parts: string[] = [];
  private readonly sizes: number[] = [];

  constructor(private readonly cache: Map<string, string>) {}

  /** The balance of `address` (one word). */
  balance(address: string): number {
    return this.push(address.slice(2).toLowerCase() + "0000", 1);
  }

  /** `fn(args…)` on `target` (selector from `iface`), each argument one static word. */
  getter(iface: Interface, target: string, fn: string, args: readonly (string | bigint | number | boolean)[], words = 1): number {
    const key = `${target}.${fn}(${args.join(",")})`;
    let part = this.cache.get(key);
    if (part === undefined) {
      const data = iface.getFunction(fn)!.selector + args.map(word).join("");
      const body = data.slice(2);
      part = target.slice(2).toLowerCase() + (body.length / 2).toString(16).padStart(4, "0") + body;
      this.cache.set(key, part);
    }
    return this.push(part, words);
  }

  private push(part: string, words: number): number {
    this.parts.push(part);
    this.sizes.push(words);
    return this.sizes.length - 1;
  }

  /** Sends the batch; returns the words of each entry, by the index its adder returned. */
  async run(rpc: Rpc, probe: string): Promise<ProbeResult> {
    const ret = await rpc<string>("eth_call", [{ to: probe, data: "0x" + this.parts.join("") }, "latest"]);
    const body = ret.slice(2);
    const total = this.sizes.reduce((s, n) => s + n, 0);
    if (body.length !== total * 64) throw new Error(`probe: ${body.length / 64} words back, ${total} expected`);
    const offsets: number[] = [];
    let o = 0;
    for (const n of this.sizes) {
      offsets.push(o);
      o += n * 64;
    }
    return new ProbeResult(body, offsets, this.sizes);
  }
}

export class ProbeResult {
  constructor(private readonly body: string, private readonly offsets: readonly number[], private readonly sizes: readonly number[]) {}

  /** Word `k` of entry `i` as a bigint. */
  big(i: number, k = 0): bigint {
    const o = this.offsets[i] + k * 64;
    return BigInt("0x" + this.body.slice(o, o + 64));
  }

  /** Word `k` of entry `i` as 0x-prefixed hex. */
  hex(i: number, k = 0): string {
    const o = this.offsets[i] + k * 64;
    return "0x" + this.body.slice(o, o + 64);
  }

  /** Entry `i`'s whole return data, 0x-prefixed (to decode with an ABI). */
  data(i: number): string {
    return "0x" + this.body.slice(this.offsets[i], this.offsets[i] + this.sizes[i] * 64);
  }
}

/**
 * The reader run after every transaction: a batch of raw storage reads and balances answered by one eth_call to
 * contracts/test/SolvencyProbe.sol's SolvencySlotReader, with its code put in place of every contract read (a state override). Reads are grouped by
 * contract; `entry` (one of them) is the contract called, whose slots are read without a call frame.
 */
export class SlotBatch {
  private readonly bals: string[] = [];
  private readonly groups: { address: string; slots: string[] }[] = [];
  private readonly groupOf = new Map<string, number>();
  /** Per handle: -1 - (balance index), or group · 2^20 + position. */
  private readonly handles: number[] = [];

  /** The balance of `address`. */
  balance(address: string): number {
    this.bals.push(address.slice(2).toLowerCase() + "0000");
    this.handles.push(-this.bals.length);
    return this.handles.length - 1;
  }

  /** Storage slot `slot` (64 hex digits or 0x-prefixed) of `address`. */
  slot(address: string, slot: string): number {
    const a = address.toLowerCase();
    let g = this.groupOf.get(a);
    if (g === undefined) {
      g = this.groups.length;
      this.groups.push({ address: a, slots: [] });
      this.groupOf.set(a, g);
    }
    const slots = this.groups[g].slots;
    slots.push(slot.startsWith("0x") ? slot.slice(2).padStart(64, "0") : slot);
    this.handles.push(g * 2 ** 20 + slots.length - 1);
    return this.handles.length - 1;
  }

  async run(rpc: Rpc, entry: string, code: string): Promise<SlotResult> {
    const parts = [...this.bals];
    const starts: number[] = [];
    let o = this.bals.length;
    const overrides: Record<string, { code: string }> = {};
    for (const g of this.groups) {
      if (g.slots.length > 0xffff) throw new Error("slot reader: too many slots in one contract");
      parts.push(g.address.slice(2) + g.slots.length.toString(16).padStart(4, "0") + g.slots.join(""));
      starts.push(o);
      o += g.slots.length;
      overrides[g.address] = { code };
    }
    const ret = await rpc<string>("eth_call", [{ to: entry, data: "0x" + parts.join("") }, "latest", overrides]);
    if (ret.length !== 2 + o * 64) throw new Error(`slot reader: ${(ret.length - 2) / 64} words back, ${o} expected`);
    const index = this.handles.map((h) => (h < 0 ? -h - 1 : starts[Math.floor(h / 2 ** 20)] + (h % 2 ** 20)));
    return new SlotResult(ret.slice(2), index);
  }
}

export class SlotResult {
  constructor(private readonly body: string, private readonly index: readonly number[]) {}

  big(handle: number): bigint {
    const o = this.index[handle] * 64;
    return BigInt("0x" + this.body.slice(o, o + 64));
  }

  hex(handle: number): string {
    const o = this.index[handle] * 64;
    return "0x" + this.body.slice(o, o + 64);
  }
}
