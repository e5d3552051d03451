import { readFileSync } from "node:fs";
import path from "node:path";
import { type NpyArray, NpyFormatError, readNpy } from "./npy";

/**
 * Sample and label files a model owner brings to the importer, in the formats people have at hand:
 * a JSON array of rows (each row any nested array, flattened row-major), CSV (one row per line, an
 * optional header line), or a NumPy `.npy` array of shape [N, …]. Every problem is one
 * {@link SampleFileError} whose message starts with the file and names the row and the position.
 */

/** A sample or label file that cannot be used; the message is one line that starts with the file's path. */
export class SampleFileError extends Error {
  override name = "SampleFileError";
}

/**
 * Reads model inputs: rows of exactly `inputSize` finite numbers, each flattened row-major into a
 * Float64Array (an `.npy` of float32 keeps its float32 values exactly). A JSON file holds an array of
 * rows (or, like a 1-D `.npy`, one flat row of exactly `inputSize` numbers); a CSV file one row per
 * line. Throws {@link SampleFileError} for an unknown extension, an unreadable or empty file, and any
 * row that is not numbers, has the wrong length or holds NaN or ±Infinity.
 */
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

/**
 * Reads `count` class labels (one per evaluated sample), each an integer in 0..classes−1: a JSON
 * array of integers, a one-column CSV (optionally with a header) or an `.npy` array of shape [N] or
 * [N, 1]. Throws {@link SampleFileError} for a row of several values, a count that differs from
 * `count`, and a label that is not a class index.
 */
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

type Fail = (problem: string) => never;

function failFor(file: string): Fail {
  return (problem) => {
    throw new SampleFileError(`${file}: ${problem}`);
  };
}

/** The file's rows, flattened; lengths and values are checked by the callers. */
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
  if (bytes.length === 0 || (ext !== ".npy" && bytes.toString("utf8").trim() === "")) fail("is empty");
  if (ext === ".npy") return npyRows(bytes, rowSize, fail);
  const text = bytes.toString("utf8");
  return ext === ".json" ? jsonRows(text, rowSize, fail) : csvRows(text, fail);
}

function npyRows(bytes: Buffer, rowSize: number, fail: Fail): Float64Array[] {
  let array: NpyArray;
  try {
    array = readNpy(bytes);
  } catch (e) {
    if (e instanceof NpyFormatError) return fail(e.message);
    throw e;
  }
  const { shape, data } = array;
  if (shape.length === 0) fail("holds a single number, not rows");
  // [N, …] is N rows; a 1-D array is one row of samples (or, for labels, one label per element).
  if (shape.length === 1 && rowSize !== 1) {
    if (shape[0] !== rowSize) fail(`holds a 1-D array of ${shape[0]} values; expected shape [N, …] with ${rowSize} values per row, or [${rowSize}] for one row`);
    return [data];
  }
  const n = shape[0];
  const size = n === 0 ? 0 : data.length / n;
  return Array.from({ length: n }, (_, k) => data.subarray(k * size, (k + 1) * size));
}

function jsonRows(text: string, rowSize: number, fail: Fail): Float64Array[] {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (e) {
    return fail(`is not JSON: ${(e as Error).message}`);
  }
  if (!Array.isArray(value)) fail("must hold a JSON array of rows");
  const items = value as unknown[];
  // A flat list of numbers is one sample when it has exactly one row's size (like a 1-D .npy);
  // for labels (rows of one) it is one label per element.
  if (rowSize !== 1 && items.length > 0 && items.every((v) => typeof v === "number")) {
    if (items.length !== rowSize) fail(`holds a flat array of ${items.length} numbers; expected an array of rows of ${rowSize} values, or one row of exactly ${rowSize}`);
    return [Float64Array.from(items as number[])];
  }
  return items.map((row, k) => {
    const flat: number[] = [];
    const visit = (v: unknown): void => {
      if (Array.isArray(v)) v.forEach(visit);
      else if (typeof v === "number") flat.push(v);
      else fail(`row ${k} has ${describe(v)} at position ${flat.length}, not a number`);
    };
    visit(row);
    return Float64Array.from(flat);
  });
}

function describe(v: unknown): string {
  if (v === null) return "null";
  if (typeof v === "string") return JSON.stringify(v);
  return typeof v === "object" ? "an object" : String(v);
}

function csvRows(text: string, fail: Fail): Float64Array[] {
  const lines = text.split(/\r?\n/);
  while (lines.length > 0 && lines[lines.length - 1].trim() === "") lines.pop();
  const cells = lines.map((l) => l.split(",").map((c) => c.trim()));
  // A first line none of whose cells reads as a number (NaN and infinities included) is a header.
  const start = cells.length > 0 && cells[0].every((c) => parseCell(c) === undefined) ? 1 : 0;
  return cells.slice(start).map((row, i) =>
    Float64Array.from(row, (c, j) => {
      const v = parseCell(c);
      if (v === undefined) return fail(`row ${i} (line ${i + start + 1}) has ${JSON.stringify(c)} at position ${j}, not a number`);
      return v;
    }),
  );
}

/**
 * A CSV cell as a number, undefined if it is not one. NumPy's savetxt and pandas write NaN and the
 * infinities as nan, inf, -inf: they read as numbers here so that the finiteness check names them.
 * An empty cell is not a number (Number("") would be 0).
 */
function parseCell(c: string): number | undefined {
  if (/^[+-]?nan$/i.test(c)) return Number.NaN;
  const inf = /^([+-]?)inf(inity)?$/i.exec(c);
  if (inf) return inf[1] === "-" ? -Infinity : Infinity;
  const v = c === "" ? Number.NaN : Number(c);
  return Number.isNaN(v) ? undefined : v;
}
