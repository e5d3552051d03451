import { expect } from "chai";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { NpyFormatError, readNpy, writeNpy } from "../../core/modelImport/npy";
import { SampleFileError, readLabels, readSamples } from "../../core/modelImport/samples";
import { expectThrows } from "../helpers/expectThrows";

/** `bytes` (an .npy file) with one piece of its header text replaced by another of the same length. */
function retyped(bytes: Uint8Array, from: string, to: string): Buffer {
  expect(from.length).to.equal(to.length);
  const text = Buffer.from(bytes).toString("latin1");
  expect(text).to.include(from);
  return Buffer.from(text.replace(from, to), "latin1");
}

/** A version 2.0 or 3.0 .npy file (4-byte header length) holding the same array as `v1`. */
function asVersion(v1: Uint8Array, major: 2 | 3): Buffer {
  const headerLength = Buffer.from(v1).readUInt16LE(8);
  const header = Buffer.from(v1.subarray(10, 10 + headerLength));
  const out = Buffer.concat([Buffer.from(v1.subarray(0, 8)), Buffer.alloc(4), header, Buffer.from(v1.subarray(10 + headerLength))]);
  out[6] = major;
  out.writeUInt32LE(headerLength, 8);
  return out;
}

const escape = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");

describe("sample and label files (core/modelImport/samples.ts, npy.ts)", () => {
  let dir: string;
  before(() => (dir = mkdtempSync(path.join(os.tmpdir(), "refute-samples-"))));
  after(() => rmSync(dir, { recursive: true, force: true }));
  const file = (name: string, content: string | Uint8Array) => {
    const p = path.join(dir, name);
    writeFileSync(p, content);
    return p;
  };
  const rows = (rs: Float64Array[]) => rs.map((r) => Array.from(r));

  describe("reads", () => {
    it("JSON rows, flattening nested rows row-major (a 28×28 image is one row of 784)", () => {
      expect(rows(readSamples(file("nested.json", JSON.stringify([[[1, 2], [3, 4]], [5, 6, 7, 8], [[[9]], [10, [11, 12]]]])), 4))).to.deep.equal([
        [1, 2, 3, 4],
        [5, 6, 7, 8],
        [9, 10, 11, 12],
      ]);
      const image = Array.from({ length: 28 }, (_, r) => Array.from({ length: 28 }, (_, c) => (r * 28 + c) / 784));
      const [row] = readSamples(file("image.json", JSON.stringify([image])), 784);
      expect(row).to.have.length(784);
      expect([row[0], row[29], row[783]]).to.deep.equal([0, 29 / 784, 783 / 784]);
    });

    it("a flat JSON array of exactly one row's size as one row", () => {
      expect(rows(readSamples(file("flat.json", "[0.5, 1, -2]"), 3))).to.deep.equal([[0.5, 1, -2]]);
    });

    it("CSV with a header line, without one, with CRLF line ends and blank trailing lines", () => {
      expect(rows(readSamples(file("h.csv", "a,b\n1,2.5\n-3,4e-1\n"), 2))).to.deep.equal([[1, 2.5], [-3, 0.4]]);
      expect(rows(readSamples(file("n.csv", "1,2\r\n3,4\r\n\r\n\n"), 2))).to.deep.equal([[1, 2], [3, 4]]);
      expect(rows(readSamples(file("s.csv", " 1 , 2 \n"), 2)), "cells are trimmed").to.deep.equal([[1, 2]]);
    });

    it(".npy arrays of shape [N, 28, 28] as N rows of 784, [N, 2, 2] as rows of 4, and a 1-D array of one row's size as one row", () => {
      const images = Float32Array.from({ length: 3 * 784 }, (_, i) => (i % 256) / 255);
      const read = readSamples(file("images.npy", writeNpy([3, 28, 28], images)), 784);
      expect(read.map((r) => r.length)).to.deep.equal([784, 784, 784]);
      expect(Array.from(read[2])).to.deep.equal(Array.from(images.subarray(2 * 784)));
      const data = Float32Array.from([0.5, 1, 1.5, 2, -1, -2, -3, -4]);
      expect(rows(readSamples(file("a.npy", writeNpy([2, 2, 2], data)), 4))).to.deep.equal([[0.5, 1, 1.5, 2], [-1, -2, -3, -4]]);
      expect(rows(readSamples(file("one.npy", writeNpy([3], Float64Array.from([1, 2, 3]))), 3))).to.deep.equal([[1, 2, 3]]);
    });

    it("every .npy element type it writes, round trip, header aligned to 64 bytes", () => {
      for (const data of [Float32Array.of(1.5, -2), Float64Array.of(1e-300, 7), Int32Array.of(-5, 2 ** 30), Uint8Array.of(0, 255), Int8Array.of(-128, 127)]) {
        const bytes = writeNpy([2], data);
        expect((bytes.length - data.byteLength) % 64, data.constructor.name).to.equal(0);
        const back = readNpy(bytes);
        expect(back.shape).to.deep.equal([2]);
        expect(Array.from(back.data), data.constructor.name).to.deep.equal(Array.from(data as ArrayLike<number>));
      }
    });

    it(".npy of float16, int16, uint16, uint32, int64 and uint64, '=' byte order, and versions 2.0 and 3.0", () => {
      const twoBytes = (...values: number[]) => Buffer.from(Uint16Array.from(values).buffer);
      const typed = (descr: string, raw: Uint8Array, n: number) => readNpy(retyped(writeNpy([raw.length], Uint8Array.from(raw)), `'|u1', 'fortran_order': False, 'shape': (${raw.length},)`, `'${descr}', 'fortran_order': False, 'shape': (${n},)`.padEnd(`'|u1', 'fortran_order': False, 'shape': (${raw.length},)`.length)));
      // float16: 1.0, −2.0, 2^−24 (the smallest subnormal), 65504 (the largest), +inf.
      expect(Array.from(typed("<f2", twoBytes(0x3c00, 0xc000, 0x0001, 0x7bff, 0x7c00), 5).data)).to.deep.equal([1, -2, 2 ** -24, 65504, Infinity]);
      expect(Number.isNaN(typed("<f2", twoBytes(0x7e00), 1).data[0]), "float16 NaN").to.equal(true);
      expect(Array.from(typed("<i2", twoBytes(0xffff, 0x7fff), 2).data)).to.deep.equal([-1, 32767]);
      expect(Array.from(typed("<u2", twoBytes(0xffff, 1), 2).data)).to.deep.equal([65535, 1]);
      expect(Array.from(typed("<u4", Buffer.from(Uint32Array.of(2 ** 32 - 1).buffer), 1).data)).to.deep.equal([2 ** 32 - 1]);
      expect(Array.from(typed("<i8", Buffer.from(BigInt64Array.of(-3n, 2n ** 40n).buffer), 2).data)).to.deep.equal([-3, 2 ** 40]);
      expect(Array.from(typed("<u8", Buffer.from(BigUint64Array.of(7n).buffer), 1).data)).to.deep.equal([7]);
      expect(Array.from(typed("=i4", Buffer.from(Int32Array.of(-9).buffer), 1).data)).to.deep.equal([-9]);
      const v1 = writeNpy([2, 2], Float32Array.of(1, 2, 3, 4));
      for (const major of [2, 3] as const) {
        const back = readNpy(asVersion(v1, major));
        expect([back.shape, Array.from(back.data)], `version ${major}`).to.deep.equal([[2, 2], [1, 2, 3, 4]]);
      }
    });

    it("labels from JSON, one-column CSV with a header, and .npy integers of shape [N] and [N, 1]", () => {
      expect(readLabels(file("l.json", "[0, 2, 1]"), 3, 3)).to.deep.equal([0, 2, 1]);
      expect(readLabels(file("l.csv", "class\n1\n0\n"), 2, 3)).to.deep.equal([1, 0]);
      expect(readLabels(file("l.npy", writeNpy([3], Int32Array.of(2, 2, 0))), 3, 3)).to.deep.equal([2, 2, 0]);
      expect(readLabels(file("l1.npy", writeNpy([2, 1], Uint8Array.of(9, 0))), 2, 10)).to.deep.equal([9, 0]);
      expect(readLabels(file("one.json", "[4]"), 1, 5)).to.deep.equal([4]);
    });
  });

  describe("refuses, in one line naming the file, the row and the position", () => {
    const refusedAs = (inputSize: number, name: string, content: string | Uint8Array, message: string) => {
      const p = file(name, content);
      const e = expectThrows(() => readSamples(p, inputSize), SampleFileError);
      expect(e.message).to.equal(`${p}: ${message}`);
    };
    const refused = (name: string, content: string | Uint8Array, message: string) => refusedAs(3, name, content, message);

    it("a row of the wrong length", () => {
      refused("short.json", "[[1,2,3],[1,2]]", "row 1 has 2 values, the model expects 3");
      const images = writeNpy([2, 28, 27], new Float32Array(2 * 28 * 27));
      refusedAs(784, "cropped.npy", images, "row 0 has 756 values, the model expects 784");
      refused("long.csv", "1,2,3\n4,5,6\n7,8,9,10\n", "row 2 has 4 values, the model expects 3");
    });

    it("a flat JSON array or a 1-D .npy array that is not one row", () => {
      refused("flat.json", "[1, 2, 3, 4, 5]", "holds a flat array of 5 numbers; expected an array of rows of 3 values, or one row of exactly 3");
      refused("flat.npy", writeNpy([5], new Float32Array(5)), "holds a 1-D array of 5 values; expected shape [N, …] with 3 values per row, or [3] for one row");
      refused("scalar.npy", retyped(writeNpy([1], Float64Array.of(1)), "'shape': (1,)", "'shape': ()  "), "holds a single number, not rows");
    });

    it("NaN and infinities, as CSV writes them (NaN, nan, inf, -inf, Infinity) and in .npy", () => {
      refused("nan.csv", "1,2,3\n4,NaN,6\n", "row 1 has NaN at position 1: every value must be a finite number");
      refused("nan-lower.csv", "x,y,z\n1,2,nan\n", "row 0 has NaN at position 2: every value must be a finite number");
      refused("inf.csv", "1,inf,3\n", "row 0 has Infinity at position 1: every value must be a finite number");
      refused("minus-inf.csv", "1,2,3\n1,2,3\n1,2,3\n-inf,2,3\n", "row 3 has -Infinity at position 0: every value must be a finite number");
      refused("infinity.csv", "1,2,Infinity\n", "row 0 has Infinity at position 2: every value must be a finite number");
      refused("inf.npy", writeNpy([1, 3], Float64Array.of(1, Infinity, 3)), "row 0 has Infinity at position 1: every value must be a finite number");
      refusedAs(784, "nan-image.npy", writeNpy([4, 28, 28], Float32Array.from({ length: 4 * 784 }, (_, i) => (i === 3 * 784 + 17 ? Number.NaN : 0))), "row 3 has NaN at position 17: every value must be a finite number");
    });

    it("text in a CSV cell, and an empty cell", () => {
      refused("text.csv", "1,2,3\n4,five,6\n", 'row 1 (line 2) has "five" at position 1, not a number');
      refused("text-after-header.csv", "a,b,c\n1,2,3\n4,5,x\n", 'row 1 (line 3) has "x" at position 2, not a number');
      refused("empty-cell.csv", "1,,3\n", 'row 0 (line 1) has "" at position 1, not a number');
    });

    it("a string, null, a boolean or an object in a JSON row", () => {
      refused("str.json", '[[1,"2",3]]', 'row 0 has "2" at position 1, not a number');
      refused("null.json", "[[1,2,3],[1,[2,null],3]]", "row 1 has null at position 2, not a number");
      refused("bool.json", "[[true,2,3]]", "row 0 has true at position 0, not a number");
      refused("obj.json", '[[1,2,3],[1,2,3],[1,2,3],{"x":1}]', "row 3 has an object at position 0, not a number");
    });

    it("JSON that is not an array, and a file that is not JSON", () => {
      refused("object.json", '{"rows": []}', "must hold a JSON array of rows");
      const p = file("bad.json", "[[1,2,3]");
      expectThrows(() => readSamples(p, 3), SampleFileError, new RegExp(`^${escape(p)}: is not JSON: .+`));
    });

    it("an empty file, a blank one, and files with no rows", () => {
      refused("empty.csv", "", "is empty");
      refused("blank.json", " \n\n", "is empty");
      refused("empty.npy", "", "is empty");
      refused("none.json", "[]", "holds no samples");
      refused("header-only.csv", "a,b,c\n", "holds no samples");
      refused("zero.npy", writeNpy([0, 3], new Float32Array(0)), "holds no samples");
    });

    it("an unknown file type, and a missing file", () => {
      refused("rows.txt", "1,2,3", 'unknown file type ".txt"; use .json, .csv or .npy');
      refused("rows", "1,2,3", 'unknown file type "(none)"; use .json, .csv or .npy');
      const missing = path.join(dir, "missing.csv");
      expect(expectThrows(() => readSamples(missing, 3), SampleFileError).message).to.equal(`${missing}: cannot read it (ENOENT)`);
      expect(expectThrows(() => readSamples(dir + path.sep + ".csv", 3), SampleFileError).message).to.match(/: unknown file type "\(none\)"/);
    });

    it("an .npy file that is not one, of another version, truncated, in Fortran order, of an unsupported or big-endian type", () => {
      const good = writeNpy([2, 3], Float32Array.of(1, 2, 3, 4, 5, 6));
      refused("fake.npy", "1,2,3", "not a NumPy .npy file (no \\x93NUMPY magic)");
      const v4 = Buffer.from(good);
      v4[6] = 4;
      refused("v4.npy", v4, "unsupported .npy version 4.0");
      refused("cut-header.npy", good.subarray(0, 40), "truncated header");
      refused("cut.npy", good.subarray(0, good.length - 4), "truncated data: shape (2, 3) needs 24 bytes, the file has 20");
      refused("fortran.npy", retyped(good, "'fortran_order': False", "'fortran_order': True "), "the array is in Fortran order; save it in C order (numpy.ascontiguousarray)");
      refused("complex.npy", retyped(good, "'<f4'", "'<c8'"), 'unsupported data type "<c8" (supported: float16/32/64, int8/16/32/64, uint8/16/32/64)');
      refused("object.npy", retyped(good, "'<f4'", "'|O' "), 'unsupported data type "|O" (supported: float16/32/64, int8/16/32/64, uint8/16/32/64)');
      refused("big-endian.npy", retyped(good, "'<f4'", "'>f4'"), 'big-endian data type ">f4" is not supported; save it little-endian');
      refused("no-shape.npy", retyped(good, "'shape'", "'shapf'"), `malformed header ${JSON.stringify("{'descr': '<f4', 'fortran_order': False, 'shapf': (2, 3), }")}`);
      expect(expectThrows(() => readNpy(Buffer.from("\x93NUMPY")), NpyFormatError).message).to.equal("not a NumPy .npy file (no \\x93NUMPY magic)");
    });

    it("labels out of range, not integers, not one per row, or not one per evaluated sample", () => {
      const refusedLabels = (name: string, content: string | Uint8Array, count: number, message: string) => {
        const p = file(name, content);
        expect(expectThrows(() => readLabels(p, count, 3), SampleFileError).message).to.equal(`${p}: ${message}`);
      };
      refusedLabels("l3.json", "[0, 3]", 2, "label 1 is 3; labels are class indices 0..2");
      refusedLabels("lneg.csv", "0\n-1\n", 2, "label 1 is -1; labels are class indices 0..2");
      refusedLabels("lf.json", "[0.5]", 1, "label 0 is 0.5; labels are class indices 0..2");
      refusedLabels("lf.npy", writeNpy([2], Float32Array.of(1, 1.5)), 2, "label 1 is 1.5; labels are class indices 0..2");
      refusedLabels("l2.json", "[0, 1]", 3, "has 2 labels, but 3 samples are evaluated");
      refusedLabels("l2col.csv", "1,2\n", 1, "row 0 has 2 values; a label file has one class per row");
      refusedLabels("lnan.csv", "label\n1\nnan\n", 2, "label 1 is NaN; labels are class indices 0..2");
      refusedLabels("lempty.json", "", 2, "is empty");
      refusedLabels("lstr.json", '[0, "1"]', 2, 'row 1 has "1" at position 0, not a number');
    });
  });
});
