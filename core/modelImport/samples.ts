import { readFileSync } from "node:fs";
import path from "node:path";
import { NpyFormatError, readNpy } from "./npy";

/**
 * Sample and label files a model owner brings to the importer, in the formats people have at hand:
 * a JSON array of rows (each row any nested array, flattened row-major), CSV (one row per line, an
 * optional header line), or a NumPy `.npy` array of shape [N, …]. Every problem is one
 * {@link SampleFileError} that starts with the file and names the row and the position.
 */

export class SampleFileError extends Error {
  override name = "SampleFileError";
}

/** Rows of `inputSize` finite numbers each, from a `.json`, `.csv` or `.npy` file. */
export function readSamples(file: string, inputSize: number): Float64Array[] {
  const fail = failFor(file);
  const rows = readRows(file, inputSize);
  if (rows.length === 0) fail("holds no samples");
  rows.forEach((row, k) => {
    if (row.length !== inputSize) fail(`row ${k} has ${row.length} values, the model expects ${inputSize}`);
    const at = row.findIndex((v) => !Number.isFinite(v));
    if (at >= 0) fail(`row ${k} has ${row[at]} at position ${at}: every value must be a finite number`);
  });
  return rows;
}

/** `count` class labels, each an integer in 0..classes−1, from a `.json`, `.csv` or `.npy` file. */
export function readLabels(file: string, count: number, classes: number): number[] {
  const fail = failFor(file);
  const labels = readRows(file, 1).map((row, k) => {
    if (row.length !== 1) fail(`row ${k} has ${row.length} values; a label file has one class per row`);
    return row[0];
  });
  if (labels.length !== count) fail(`has ${labels.length} labels, but ${count} samples are evaluated`);
  labels.forEach((l, k) => {
    if (!Number.isInteger(l) || l < 0 || l >= classes) fail(`label ${k} is ${l}; labels are class indices 0..${classes - 1}`);
  });
  return labels;
}

function failFor(file: string) {
  return (problem: string): never => {
    throw new SampleFileError(`${file}: ${problem}`);
  };
}

/** The file's rows, flattened; an `.npy` array of one row's size is one row. */
function readRows(file: string, rowSize: number): Float64Array[] {
  const fail = failFor(file);
  const ext = path.extname(file).toLowerCase();
  if (![".json", ".csv", ".npy"].includes(ext)) fail(`unknown file type ${JSON.stringify(ext || "(none)")}; use .json, .csv or .npy`);
  let bytes: Buffer;
  try {
    bytes = readFileSync(file);
  } catch (e) {
    return fail(`cannot read it (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`);
  }
  if (ext === ".npy") return npyRows(bytes, rowSize, fail);
  const text = bytes.toString("utf8");
  return ext === ".json" ? jsonRows(text, fail) : csvRows(text, fail);
}

function npyRows(bytes: Buffer, rowSize: number, fail: (p: string) => never): Float64Array[] {
  let array;
  try {
    array = readNpy(bytes);
  } catch (e) {
    if (e instanceof NpyFormatError) return fail(e.message);
    throw e;
  }
  const { shape, data } = array;
  if (shape.length === 0) fail("holds a single number, not rows");
  // [N, …] is N rows; a 1-D array that is exactly one row (or one label per element) reads as such.
  const oneRow = shape.length === 1 && rowSize !== 1;
  const n = oneRow ? 1 : shape[0];
  const size = n === 0 ? 0 : data.length / n;
  return Array.from({ length: n }, (_, k) => data.subarray(k * size, (k + 1) * size));
}

function jsonRows(text: string, fail: (p: string) => never): Float64Array[] {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (e) {
    return fail(`is not JSON: ${(e as Error).message}`);
  }
  if (!Array.isArray(value)) fail("must hold a JSON array of rows");
  return (value as unknown[]).map((row, k) => {
    const flat: number[] = [];
    const visit = (v: unknown): void => {
      if (Array.isArray(v)) v.forEach(visit);
      else if (typeof v === "number") flat.push(v);
      else fail(`row ${k} holds ${v === null ? "null" : typeof v === "string" ? JSON.stringify(v) : typeof v}, not a number`);
    };
    visit(row);
    return Float64Array.from(flat);
  });
}

function csvRows(text: string, fail: (p: string) => never): Float64Array[] {
  const lines = text.split(/\r?\n/);
  while (lines.length > 0 && lines[lines.length - 1].trim() === "") lines.pop();
  const cells = lines.map((l) => l.split(",").map((c) => c.trim()));
  // A first line with no number in it is a header.
  const isNumber = (c: string) => c !== "" && Number.isFinite(Number(c));
  const start = cells.length > 0 && !cells[0].some(isNumber) ? 1 : 0;
  return cells.slice(start).map((row, i) =>
    Float64Array.from(row, (c, j) => {
      // Number("") is 0 and Number("nan") NaN: an empty cell is an error, "NaN"/"inf" reach the finiteness check.
      const v = c === "" ? Number.NaN : Number(c);
      if (Number.isNaN(v) && !/^[+-]?nan$/i.test(c)) fail(`row ${i} (line ${i + start + 1}) has ${JSON.stringify(c)} at position ${j}, not a number`);
      return v;
    }),
  );
}
