/**
 * NumPy's `.npy` format (versions 1 to 3): a magic string, a header dictionary with the data type,
 * the memory order and the shape, then the raw array. Only what sample files need: little-endian
 * (or single-byte) numbers in C order.
 */

const MAGIC = Buffer.from([0x93, ...Buffer.from("NUMPY")]);

/** The element types read, by NumPy's `descr` without the byte-order mark. */
const TYPES = {
  f2: { bytes: 2, read: (v: DataView, o: number) => halfFloat(v.getUint16(o, true)) },
  f4: { bytes: 4, read: (v: DataView, o: number) => v.getFloat32(o, true) },
  f8: { bytes: 8, read: (v: DataView, o: number) => v.getFloat64(o, true) },
  i1: { bytes: 1, read: (v: DataView, o: number) => v.getInt8(o) },
  u1: { bytes: 1, read: (v: DataView, o: number) => v.getUint8(o) },
  i2: { bytes: 2, read: (v: DataView, o: number) => v.getInt16(o, true) },
  u2: { bytes: 2, read: (v: DataView, o: number) => v.getUint16(o, true) },
  i4: { bytes: 4, read: (v: DataView, o: number) => v.getInt32(o, true) },
  u4: { bytes: 4, read: (v: DataView, o: number) => v.getUint32(o, true) },
  i8: { bytes: 8, read: (v: DataView, o: number) => Number(v.getBigInt64(o, true)) },
  u8: { bytes: 8, read: (v: DataView, o: number) => Number(v.getBigUint64(o, true)) },
} as const;

type NpyType = keyof typeof TYPES;

/** An IEEE 754 half-precision number from its 16 bits (Node 20 has no Float16Array). */
function halfFloat(bits: number): number {
  const sign = bits & 0x8000 ? -1 : 1;
  const exponent = (bits >> 10) & 0x1f;
  const fraction = bits & 0x3ff;
  if (exponent === 0) return sign * fraction * 2 ** -24;
  if (exponent === 0x1f) return fraction === 0 ? sign * Infinity : Number.NaN;
  return sign * (1 + fraction / 1024) * 2 ** (exponent - 15);
}

export interface NpyArray {
  readonly shape: readonly number[];
  /** The elements in C order, as numbers (64-bit integers beyond 2^53 lose precision). */
  readonly data: Float64Array;
  /** NumPy's type code without the byte order, e.g. `f4`. */
  readonly dtype: string;
}

/** A file that is not an `.npy` array this reader supports; the message says what is wrong. */
export class NpyFormatError extends Error {
  override name = "NpyFormatError";
}

/**
 * Parses an `.npy` file's bytes into its shape and its elements as doubles. Throws
 * {@link NpyFormatError} for a missing magic string, an unknown version, a malformed or truncated
 * header, Fortran order, a data type it does not read (or big-endian) and data shorter than the shape.
 */
export function readNpy(bytes: Uint8Array): NpyArray {
  const buf = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (buf.length < 10 || !buf.subarray(0, 6).equals(MAGIC)) throw new NpyFormatError("not a NumPy .npy file (no \\x93NUMPY magic)");
  const major = buf[6];
  if (major < 1 || major > 3) throw new NpyFormatError(`unsupported .npy version ${major}.${buf[7]}`);
  const lenBytes = major === 1 ? 2 : 4;
  const headerLength = major === 1 ? buf.readUInt16LE(8) : buf.readUInt32LE(8);
  const start = 8 + lenBytes;
  if (buf.length < start + headerLength) throw new NpyFormatError("truncated header");
  const header = buf.subarray(start, start + headerLength).toString(major === 3 ? "utf8" : "latin1");
  const descr = /'descr'\s*:\s*'([^']*)'/.exec(header)?.[1];
  const fortran = /'fortran_order'\s*:\s*(True|False)/.exec(header)?.[1];
  const shapeText = /'shape'\s*:\s*\(([^)]*)\)/.exec(header)?.[1];
  if (descr === undefined || fortran === undefined || shapeText === undefined) throw new NpyFormatError(`malformed header ${JSON.stringify(header.trim())}`);
  if (fortran === "True") throw new NpyFormatError("the array is in Fortran order; save it in C order (numpy.ascontiguousarray)");
  const m = /^([<>|=]?)([a-z]\d+)$/.exec(descr);
  const code = m?.[2];
  if (!m || !code || !(code in TYPES)) throw new NpyFormatError(`unsupported data type ${JSON.stringify(descr)} (supported: float16/32/64, int8/16/32/64, uint8/16/32/64)`);
  const type = TYPES[code as NpyType];
  if (m[1] === ">" && type.bytes > 1) throw new NpyFormatError(`big-endian data type ${JSON.stringify(descr)} is not supported; save it little-endian`);
  const shape = shapeText
    .split(",")
    .map((s) => s.trim())
    .filter((s) => s !== "")
    .map(Number);
  if (shape.some((d) => !Number.isSafeInteger(d) || d < 0)) throw new NpyFormatError(`malformed shape (${shapeText})`);
  const count = shape.reduce((a, b) => a * b, 1);
  const dataStart = start + headerLength;
  if (buf.length - dataStart < count * type.bytes) throw new NpyFormatError(`truncated data: shape (${shape.join(", ")}) needs ${count * type.bytes} bytes, the file has ${buf.length - dataStart}`);
  const view = new DataView(buf.buffer, buf.byteOffset + dataStart, count * type.bytes);
  const data = new Float64Array(count);
  for (let i = 0; i < count; i++) data[i] = type.read(view, i * type.bytes);
  return { shape, data, dtype: code };
}

/**
 * Serialises an array as an `.npy` file (version 1.0, C order, little-endian), the format NumPy's
 * `numpy.load` reads: for scripts that hand samples to the importer and for tests.
 */
export function writeNpy(shape: readonly number[], data: Float32Array | Float64Array | Int32Array | Uint8Array | Int8Array): Uint8Array {
  const count = shape.reduce((a, b) => a * b, 1);
  if (count !== data.length) throw new RangeError(`shape (${shape.join(", ")}) holds ${count} elements, the data has ${data.length}`);
  const descr = data instanceof Float32Array ? "<f4" : data instanceof Float64Array ? "<f8" : data instanceof Int32Array ? "<i4" : data instanceof Uint8Array ? "|u1" : "|i1";
  const dict = `{'descr': '${descr}', 'fortran_order': False, 'shape': (${shape.join(", ")}${shape.length === 1 ? "," : ""}), }`;
  // The header is padded with spaces and a newline so that the data starts on a multiple of 64 bytes.
  const unpadded = MAGIC.length + 2 + 2 + dict.length + 1;
  const header = `${dict}${" ".repeat((64 - (unpadded % 64)) % 64)}\n`;
  const out = Buffer.alloc(MAGIC.length + 4 + header.length + data.byteLength);
  MAGIC.copy(out, 0);
  out[6] = 1;
  out[7] = 0;
  out.writeUInt16LE(header.length, 8);
  out.write(header, 10, "latin1");
  // Typed arrays are little-endian on every platform Node runs on.
  Buffer.from(data.buffer, data.byteOffset, data.byteLength).copy(out, 10 + header.length);
  return out;
}
