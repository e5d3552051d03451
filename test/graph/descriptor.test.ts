import { expect } from "chai";
import { decodeDescriptor, descriptorWords, encodeDescriptor, opFields } from "../../core/graph/descriptor";
import { requantConstant } from "../../core/graph/commitments";
import { programFromJson, programToJson } from "../../core/graph/json";
import { OP_CODES, OP_KINDS, type Op, opKindOf } from "../../core/graph/program";
import { validateProgram } from "../../core/graph/validate";
import { Rng, randomProgram } from "./randomPrograms";

/**
 * The canonical descriptor encoding (docs/graph-semantics.md §7) and the JSON form:
 * stable op codes, 32-byte words, exact round trips, and refusal of anything that is not
 * some op's canonical bytes.
 */
describe("graph op descriptors", () => {
  it("op codes are fixed: Dense keeps 1, computing ops below 32, layout ops from 32", () => {
    expect(OP_CODES).to.deep.equal({ dense: 1, conv: 2, maxPool: 3, avgPool: 4, globalAvgPool: 5, add: 6, mul: 7, clamp: 8, table: 9, flatten: 32, reshape: 33, transpose: 34, concat: 35, slice: 36 });
    for (const k of OP_KINDS) expect(opKindOf(OP_CODES[k])).to.equal(k);
  });

  it("every op of 300 random programs round-trips through its bytes, and JSON round-trips whole programs", () => {
    const rng = new Rng(0xd35c);
    const seen = new Set<string>();
    const wrong: string[] = []; // collected, not asserted one by one: 2,000 chai assertions would dominate the run time
    const canonical = (o: object) => JSON.stringify(Object.fromEntries(Object.entries(o).sort(([a], [b]) => a.localeCompare(b))));
    for (let p = 0; p < 300; p++) {
      const program = randomProgram(rng);
      program.ops.forEach((op, k) => {
        const label = `program ${p} v${k + 1} ${op.kind}`;
        const bytes = encodeDescriptor(op);
        if (bytes.length % 32 !== 0 || descriptorWords(op)[0] !== BigInt(OP_CODES[op.kind])) wrong.push(`${label}: not op code + words`);
        // every field of the op is in the encoding (nothing escapes the commitment), and comes back equal
        const fields = ["kind", ...opFields(op.kind)].sort().join();
        if (Object.keys(op).sort().join() !== fields) wrong.push(`${label}: fields ${Object.keys(op).sort()} ≠ encoded ${fields}`);
        const back = decodeDescriptor(bytes, requantConstant(op)?.data);
        if (canonical(back) !== canonical(op)) wrong.push(`${label}: decoded ${canonical(back)}`);
        if (!Buffer.from(encodeDescriptor(back)).equals(Buffer.from(bytes))) wrong.push(`${label}: re-encoding differs`);
        seen.add(op.kind);
      });
      const again = programFromJson(JSON.parse(JSON.stringify(programToJson(program))));
      if (JSON.stringify(validateProgram(again)) !== JSON.stringify(validateProgram(program))) wrong.push(`program ${p}: JSON changed the shapes`);
      again.constants.forEach((c, k) => {
        const orig = program.constants[k];
        if (c.dtype !== orig.dtype || !Buffer.from(c.data.buffer).equals(Buffer.from(orig.data.buffer))) wrong.push(`program ${p}: JSON changed constant ${k}`);
      });
      if (canonical(again.ops) !== canonical(program.ops)) wrong.push(`program ${p}: JSON changed the ops`);
    }
    expect(wrong).to.deep.equal([]);
    expect([...seen].sort()).to.deep.equal([...OP_KINDS].sort());
  });

  it("writes words big-endian two's complement: a conv descriptor by hand", () => {
    const op: Op = { kind: "conv", inputs: [3], weight: 4, bias: 5, strides: [1, 2], pads: [0, 1, 2, 3], dilations: [1, 1], groups: 8, multiplier: [1073741824], shift: [31], clampLo: -128, clampHi: 127 };
    expect(descriptorWords(op)).to.deep.equal([2n, 1n, 3n, 4n, 5n, 1n, 2n, 0n, 1n, 2n, 3n, 1n, 1n, 8n, 1n, 1073741824n, 31n, -128n, 127n]);
    const bytes = encodeDescriptor(op);
    expect(bytes.length).to.equal(19 * 32);
    expect(Buffer.from(bytes.subarray(17 * 32, 18 * 32)).toString("hex")).to.equal("ff".repeat(31) + "80"); // −128
    expect(Buffer.from(bytes.subarray(0, 32)).toString("hex")).to.equal("00".repeat(31) + "02");
  });

  it("holds only the channel count of per-channel requantisation: the pairs are the op's derived constant", () => {
    const channels = 512;
    const op: Op = { kind: "dense", inputs: [1], weight: 0, bias: 1, multiplier: Array.from({ length: channels }, (_, c) => 1000 + c), shift: Array.from({ length: channels }, (_, c) => 20 + (c % 9)), clampLo: 0, clampHi: 127 };
    expect(descriptorWords(op)).to.deep.equal([1n, 1n, 1n, 0n, 1n, 512n, 0n, 127n]);
    const requant = requantConstant(op)!;
    expect(requant.shape).to.deep.equal([channels, 2]);
    expect([...requant.data.subarray(0, 4)]).to.deep.equal([1000, 20, 1001, 21]);
    const bytes = encodeDescriptor(op);
    expect(decodeDescriptor(bytes, requant.data)).to.deep.equal(op);
    expect(() => decodeDescriptor(bytes)).to.throw(RangeError, /512 requantisation channels: their pairs are in its derived constant/);
    expect(() => decodeDescriptor(bytes, requant.data.subarray(2))).to.throw(RangeError, /1022 values, 512 channels make 1024/);
    expect(requantConstant({ ...op, multiplier: [7], shift: [9] })).to.equal(undefined);
    expect(() => encodeDescriptor({ ...op, shift: [1] })).to.throw(TypeError, /two lists of the same length/);
    const zero = encodeDescriptor({ ...op, multiplier: [7], shift: [9] });
    zero[5 * 32 + 31] = 0;
    expect(() => decodeDescriptor(zero)).to.throw(RangeError, /channel count is 0/);
  });

  it("two ops that differ in one field have different bytes", () => {
    const a: Op = { kind: "add", inputs: [1, 2], multiplierA: 3, shiftA: 4, multiplierB: 5, shiftB: 6, clampLo: 0, clampHi: 127 };
    const variants: Op[] = [{ ...a, inputs: [2, 1] }, { ...a, shiftA: 5 }, { ...a, clampLo: 1 }, { ...a, multiplierB: 6 }];
    const hex = (op: Op) => Buffer.from(encodeDescriptor(op)).toString("hex");
    expect(new Set([a, ...variants].map(hex)).size).to.equal(5);
  });

  it("refuses bytes that are not a canonical descriptor", () => {
    const ok = encodeDescriptor({ kind: "clamp", inputs: [1], lo: 0, hi: 6 });
    expect(() => decodeDescriptor(ok.subarray(0, 31))).to.throw(RangeError, /whole number of 32-byte words/);
    expect(() => decodeDescriptor(ok.subarray(0, 96))).to.throw(RangeError, /descriptor ends before lo/);
    expect(() => decodeDescriptor(ok.subarray(0, 64))).to.throw(RangeError, /inputs has length 1, more than the descriptor holds/);
    const extra = new Uint8Array(ok.length + 32);
    extra.set(ok);
    expect(() => decodeDescriptor(extra)).to.throw(RangeError, /1 words past its last field/);
    const unknown = ok.slice();
    unknown[31] = 99;
    expect(() => decodeDescriptor(unknown)).to.throw(RangeError, /unknown op code 99/);
    const longList = ok.slice();
    longList[63] = 200; // inputs claims 200 elements
    expect(() => decodeDescriptor(longList)).to.throw(RangeError, /inputs has length 200, more than the descriptor holds/);
    expect(() => encodeDescriptor({ kind: "conv", inputs: [0], weight: 0, bias: 1, strides: [1], pads: [0, 0, 0, 0], dilations: [1, 1], groups: 1, multiplier: [1], shift: [1], clampLo: 0, clampHi: 1 } as unknown as Op)).to.throw(
      TypeError,
      /conv.strides must have 2 elements/,
    );
  });
});
