import { type Op, type OpKind, OP_CODES, opKindOf } from "./program";

/**
 * The canonical byte encoding of an op's descriptor (docs/graph-semantics.md §7): a list of
 * 32-byte words, each a big-endian two's-complement int256 (what Solidity's
 * `abi.encodePacked(int256, …)` writes): the op code first, then the fields in the fixed
 * order below. A list is its length followed by its elements; a pair is two words, pads
 * four. Constants appear as their constant ids; the commitment layer will put their roots
 * next to them. A Dense or Conv op's requantisation (its `multiplier` and `shift` lists) is the
 * field "requant": the channel count L, then, when L = 1, the multiplier and the shift; for L > 1
 * the pairs are not in the descriptor but in the op's derived constant (core/graph/commitments.ts
 * requantConstant), whose root the model leaf holds next to the weight's and the bias's, so that
 * the descriptor does not grow with the channel count. Two ops are the same op exactly when their
 * encodings, and for L > 1 their derived constants, are the same.
 */

type FieldType = "int" | "list" | "pair" | "quad" | "requant";

/** The field order of every op kind; `inputs` (value ids) always comes first. */
export const DESCRIPTOR_FIELDS: { readonly [K in OpKind]: readonly (readonly [string, FieldType])[] } = {
  dense: [
    ["inputs", "list"],
    ["weight", "int"],
    ["bias", "int"],
    ["requant", "requant"],
    ["clampLo", "int"],
    ["clampHi", "int"],
  ],
  conv: [
    ["inputs", "list"],
    ["weight", "int"],
    ["bias", "int"],
    ["strides", "pair"],
    ["pads", "quad"],
    ["dilations", "pair"],
    ["groups", "int"],
    ["requant", "requant"],
    ["clampLo", "int"],
    ["clampHi", "int"],
  ],
  maxPool: [
    ["inputs", "list"],
    ["kernel", "pair"],
    ["strides", "pair"],
    ["pads", "quad"],
    ["dilations", "pair"],
  ],
  avgPool: [
    ["inputs", "list"],
    ["kernel", "pair"],
    ["strides", "pair"],
    ["pads", "quad"],
    ["dilations", "pair"],
    ["multiplier", "int"],
    ["shift", "int"],
    ["clampLo", "int"],
    ["clampHi", "int"],
  ],
  globalAvgPool: [
    ["inputs", "list"],
    ["multiplier", "int"],
    ["shift", "int"],
    ["clampLo", "int"],
    ["clampHi", "int"],
  ],
  add: [
    ["inputs", "list"],
    ["multiplierA", "int"],
    ["shiftA", "int"],
    ["multiplierB", "int"],
    ["shiftB", "int"],
    ["clampLo", "int"],
    ["clampHi", "int"],
  ],
  mul: [
    ["inputs", "list"],
    ["multiplier", "int"],
    ["shift", "int"],
    ["clampLo", "int"],
    ["clampHi", "int"],
  ],
  clamp: [
    ["inputs", "list"],
    ["lo", "int"],
    ["hi", "int"],
  ],
  table: [
    ["inputs", "list"],
    ["table", "int"],
  ],
  flatten: [["inputs", "list"]],
  reshape: [
    ["inputs", "list"],
    ["shape", "list"],
  ],
  transpose: [
    ["inputs", "list"],
    ["perm", "list"],
  ],
  concat: [
    ["inputs", "list"],
    ["axis", "int"],
  ],
  slice: [
    ["inputs", "list"],
    ["starts", "list"],
    ["steps", "list"],
    ["sizes", "list"],
  ],
};

/** The fields of an op of kind `kind`, as the op (core/graph/program.ts) names them: "requant" is `multiplier` and `shift`. */
export function opFields(kind: OpKind): string[] {
  return DESCRIPTOR_FIELDS[kind].flatMap(([name, type]) => (type === "requant" ? ["multiplier", "shift"] : [name]));
}

const WORD = 32;
const FIXED: Partial<Record<FieldType, number>> = { pair: 2, quad: 4 };

/** The descriptor as words (bigints): op code, then the fields. */
export function descriptorWords(op: Op): bigint[] {
  const words: bigint[] = [BigInt(OP_CODES[op.kind])];
  const record = op as unknown as Record<string, number | readonly number[]>;
  for (const [name, type] of DESCRIPTOR_FIELDS[op.kind]) {
    const value = record[name];
    if (type === "int") {
      if (typeof value !== "number" || !Number.isSafeInteger(value)) throw new TypeError(`${op.kind}.${name} must be an integer, got ${JSON.stringify(value)}`);
      words.push(BigInt(value));
      continue;
    }
    if (type === "requant") {
      const { multiplier: m, shift: s } = record as { multiplier: unknown; shift: unknown };
      for (const [label, list] of [["multiplier", m], ["shift", s]] as const) {
        if (!Array.isArray(list) || !list.every((n) => Number.isSafeInteger(n))) throw new TypeError(`${op.kind}.${label} must be a list of integers, got ${JSON.stringify(list)}`);
      }
      const [ms, ss] = [m as number[], s as number[]];
      if (ms.length === 0 || ms.length !== ss.length) throw new TypeError(`${op.kind}.multiplier and .shift must be two lists of the same length ≥ 1, got ${ms.length} and ${ss.length}`);
      words.push(BigInt(ms.length));
      if (ms.length === 1) words.push(BigInt(ms[0]), BigInt(ss[0]));
      continue;
    }
    if (!Array.isArray(value) || !value.every((n) => Number.isSafeInteger(n))) throw new TypeError(`${op.kind}.${name} must be a list of integers, got ${JSON.stringify(value)}`);
    const fixed = FIXED[type];
    if (fixed !== undefined && value.length !== fixed) throw new TypeError(`${op.kind}.${name} must have ${fixed} elements, got ${value.length}`);
    if (fixed === undefined) words.push(BigInt(value.length));
    for (const n of value) words.push(BigInt(n));
  }
  return words;
}

/** The canonical bytes of `op`'s descriptor: 32 bytes per word. */
export function encodeDescriptor(op: Op): Uint8Array {
  const words = descriptorWords(op);
  const out = new Uint8Array(words.length * WORD);
  words.forEach((w, k) => {
    let v = BigInt.asUintN(256, w);
    for (let i = WORD - 1; i >= 0; i--) {
      out[k * WORD + i] = Number(v & 0xffn);
      v >>= 8n;
    }
  });
  return out;
}

/**
 * A descriptor's bytes back into the op; refuses bytes that are not exactly some op's canonical encoding.
 * A Dense or Conv op with L > 1 requantisation channels needs `requant`, its derived constant's data
 * (m_0, s_0, m_1, s_1, …: core/graph/commitments.ts requantConstant), which the descriptor does not hold.
 */
export function decodeDescriptor(bytes: Uint8Array, requant?: ArrayLike<number>): Op {
  if (bytes.length === 0 || bytes.length % WORD !== 0) throw new RangeError(`a descriptor is a whole number of 32-byte words, got ${bytes.length} bytes`);
  let at = 0;
  const next = (what: string): number => {
    if (at + WORD > bytes.length) throw new RangeError(`descriptor ends before ${what}`);
    let v = 0n;
    for (let i = 0; i < WORD; i++) v = (v << 8n) | BigInt(bytes[at + i]);
    at += WORD;
    const signed = BigInt.asIntN(256, v);
    if (signed > BigInt(Number.MAX_SAFE_INTEGER) || signed < BigInt(Number.MIN_SAFE_INTEGER)) throw new RangeError(`${what} ${signed} is not a safe integer`);
    return Number(signed);
  };
  const code = next("the op code");
  const kind = opKindOf(code);
  if (!kind) throw new RangeError(`unknown op code ${code}`);
  const op: Record<string, unknown> = { kind };
  for (const [name, type] of DESCRIPTOR_FIELDS[kind]) {
    if (type === "int") {
      op[name] = next(name);
      continue;
    }
    if (type === "requant") {
      const channels = next("the requantisation channel count");
      if (channels < 1) throw new RangeError(`the requantisation channel count is ${channels}, not ≥ 1`);
      if (channels === 1) {
        op.multiplier = [next("multiplier")];
        op.shift = [next("shift")];
        continue;
      }
      if (!requant) throw new RangeError(`${kind} has ${channels} requantisation channels: their pairs are in its derived constant, pass its data`);
      if (requant.length !== 2 * channels) throw new RangeError(`the requantisation constant has ${requant.length} values, ${channels} channels make ${2 * channels}`);
      op.multiplier = Array.from({ length: channels }, (_, c) => requant[2 * c]);
      op.shift = Array.from({ length: channels }, (_, c) => requant[2 * c + 1]);
      continue;
    }
    const length = FIXED[type] ?? next(`the length of ${name}`);
    if (length < 0 || at + length * WORD > bytes.length) throw new RangeError(`${name} has length ${length}, more than the descriptor holds`);
    op[name] = Array.from({ length }, () => next(name));
  }
  if (at !== bytes.length) throw new RangeError(`descriptor has ${(bytes.length - at) / WORD} words past its last field`);
  return op as unknown as Op;
}
