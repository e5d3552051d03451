import { expect } from "chai";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { NpyFormatError, readNpy, writeNpy } from "../../core/modelImport/npy";
import { SampleFileError, readLabels, readSamples } from "../../core/modelImport/samples";
import { expectThrows } from "../helpers/expectThrows";

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
    it("JSON rows, flattening nested rows row-major", () => {
      const p = file("nested.json", JSON.stringify([[[1, 2], [3, 4]], [5, 6, 7, 8]]));
      expect(rows(readSamples(p, 4))).to.deep.equal([[1, 2, 3, 4], [5, 6, 7, 8]]);
    });

    it("CSV with or without a header line, and CRLF line ends", () => {
      expect(rows(readSamples(file("h.csv", "a,b\n1,2.5\n-3,4e-1\n"), 2))).to.deep.equal([[1, 2.5], [-3, 0.4]]);
      expect(rows(readSamples(file("n.csv", "1,2\r\n3,4\r\n"), 2))).to.deep.equal([[1, 2], [3, 4]]);
    });

    it(".npy arrays of shape [N, 2, 2] as N rows of 4, and a 1-D array of one row's size as one row", () => {
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

    it("labels from JSON, one-column CSV with a header, and .npy integers", () => {
      expect(readLabels(file("l.json", "[0, 2, 1]"), 3, 3)).to.deep.equal([0, 2, 1]);
      expect(readLabels(file("l.csv", "class\n1\n0\n"), 2, 3)).to.deep.equal([1, 0]);
      expect(readLabels(file("l.npy", writeNpy([3], Int32Array.of(2, 2, 0))), 3, 3)).to.deep.equal([2, 2, 0]);
    });
  });

  describe("refuses, in one line naming the file, the row and the position", () => {
    const refused = (name: string, content: string | Uint8Array, ...patterns: RegExp[]) => {
      const p = file(name, content);
      expectThrows(() => readSamples(p, 3), SampleFileError, new RegExp(`^${p.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")}: `), ...patterns);
    };
    it("a row of the wrong length", () => refused("short.json", "[[1,2,3],[1,2]]", /row 1 has 2 values, the model expects 3$/));
    it("a non-finite value", () => refused("nan.csv", "1,2,3\n4,NaN,6\n", /row 1 has NaN at position 1: every value must be a finite number$/));
    it("an infinite value in .npy", () => refused("inf.npy", writeNpy([1, 3], Float64Array.of(1, Infinity, 3)), /row 0 has Infinity at position 1/));
    it("text in a CSV cell, and an empty cell", () => {
      refused("text.csv", "1,2,3\n4,five,6\n", /row 1 \(line 2\) has "five" at position 1, not a number$/);
      refused("empty-cell.csv", "1,,3\n", /row 0 \(line 1\) has "" at position 1, not a number$/);
    });
    it("a string or null in a JSON row", () => {
      refused("str.json", '[[1,"2",3]]', /row 0 holds "2", not a number$/);
      refused("null.json", "[[1,null,3]]", /row 0 holds null, not a number$/);
    });
    it("JSON that is not an array, and a file that is not JSON", () => {
      refused("obj.json", '{"rows": []}', /must hold a JSON array of rows$/);
      refused("bad.json", "[[1,2,3]", /is not JSON: /);
    });
    it("an empty file", () => refused("empty.csv", "", /holds no samples$/));
    it("an unknown file type", () => refused("rows.txt", "1,2,3", /unknown file type "\.txt"; use \.json, \.csv or \.npy$/));
    it("a missing file", () => expectThrows(() => readSamples(path.join(dir, "missing.csv"), 3), SampleFileError, /cannot read it \(ENOENT\)$/));
    it("an .npy file that is not one, a truncated one, Fortran order and an unsupported type", () => {
      refused("fake.npy", "1,2,3", /not a NumPy \.npy file/);
      const good = writeNpy([2, 3], Float32Array.of(1, 2, 3, 4, 5, 6));
      refused("cut.npy", good.subarray(0, good.length - 4), /truncated data: shape \(2, 3\) needs 24 bytes, the file has 20$/);
      const header = Buffer.from(good).toString("latin1");
      refused("fortran.npy", Buffer.from(header.replace("'fortran_order': False", "'fortran_order': True "), "latin1"), /Fortran order/);
      refused("complex.npy", Buffer.from(header.replace("'<f4'", "'<c8'"), "latin1"), /unsupported data type "<c8"/);
      expectThrows(() => readNpy(Buffer.from("\x93NUMPY")), NpyFormatError, /not a NumPy/);
    });
    it("labels out of range, not integers, or not one per evaluated sample", () => {
      expectThrows(() => readLabels(file("l3.json", "[0, 3]"), 2, 3), SampleFileError, /label 1 is 3; labels are class indices 0\.\.2$/);
      expectThrows(() => readLabels(file("lf.json", "[0.5]"), 1, 3), SampleFileError, /label 0 is 0\.5/);
      expectThrows(() => readLabels(file("l2.json", "[0, 1]"), 3, 3), SampleFileError, /has 2 labels, but 3 samples are evaluated$/);
      expectThrows(() => readLabels(file("l2col.csv", "1,2\n"), 1, 3), SampleFileError, /row 0 has 2 values; a label file has one class per row$/);
    });
  });
});
