import { onnx } from "onnx-proto";

/**
 * Small helpers over onnx-proto for writing and reading ONNX models: the only module
 * that knows protobuf details. Tensors are written as little-endian raw_data.
 */
export { onnx };
export const DataType = onnx.TensorProto.DataType;
export const OPSET_VERSION = 17;
const IR_VERSION = 8;

/** A file that is not a usable ONNX model; the message says what and where. */
export class OnnxFormatError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "OnnxFormatError";
  }
}

type Int64 = number | { toNumber(): number } | { low: number; high: number };

/** A protobuf int64 (a number or a Long) as a safe JavaScript number. */
export function toNumber(value: Int64 | null | undefined): number {
  if (value === null || value === undefined) return 0;
  if (typeof value === "number") return value;
  if ("toNumber" in value) return value.toNumber();
  return value.high * 2 ** 32 + (value.low >>> 0);
}

function rawTensor(name: string, dataType: onnx.TensorProto.DataType, dims: readonly number[], view: ArrayBufferView): onnx.ITensorProto {
  return { name, dataType, dims: [...dims], rawData: new Uint8Array(view.buffer, view.byteOffset, view.byteLength).slice() };
}

export function int8Tensor(name: string, dims: readonly number[], data: Int8Array): onnx.ITensorProto {
  return rawTensor(name, DataType.INT8, dims, data);
}

export function int32Tensor(name: string, dims: readonly number[], data: Int32Array): onnx.ITensorProto {
  return rawTensor(name, DataType.INT32, dims, data);
}

export function int64Tensor(name: string, dims: readonly number[], data: BigInt64Array): onnx.ITensorProto {
  return rawTensor(name, DataType.INT64, dims, data);
}

export function floatTensor(name: string, dims: readonly number[], data: Float32Array): onnx.ITensorProto {
  return rawTensor(name, DataType.FLOAT, dims, data);
}

/** An attribute of a node: an integer, a float or a list of integers. */
export function attribute(name: string, value: number | readonly number[], kind: "int" | "float" = "int"): onnx.IAttributeProto {
  const T = onnx.AttributeProto.AttributeType;
  if (Array.isArray(value)) return { name, type: T.INTS, ints: [...value] };
  return kind === "float" ? { name, type: T.FLOAT, f: value as number } : { name, type: T.INT, i: value as number };
}

export function node(opType: string, name: string, inputs: readonly string[], outputs: readonly string[], attributes: onnx.IAttributeProto[] = []): onnx.INodeProto {
  return { opType, name, input: [...inputs], output: [...outputs], attribute: attributes };
}

/** A graph input or output; a string dimension is symbolic (the batch). */
export function valueInfo(name: string, elemType: onnx.TensorProto.DataType, dims: readonly (number | string)[]): onnx.IValueInfoProto {
  return {
    name,
    type: { tensorType: { elemType, shape: { dim: dims.map((d) => (typeof d === "string" ? { dimParam: d } : { dimValue: d })) } } },
  };
}

export function encodeModel(graph: onnx.IGraphProto, producerName: string): Uint8Array {
  const model = onnx.ModelProto.create({
    irVersion: IR_VERSION,
    producerName,
    opsetImport: [{ domain: "", version: OPSET_VERSION }],
    graph,
  });
  return onnx.ModelProto.encode(model).finish();
}

/** Parses ONNX bytes; a malformed file gives an {@link OnnxFormatError}. */
export function decodeModel(bytes: Uint8Array): onnx.ModelProto {
  let model: onnx.ModelProto;
  try {
    model = onnx.ModelProto.decode(bytes);
  } catch (err) {
    throw new OnnxFormatError(`malformed ONNX file: ${(err as Error).message}`);
  }
  if (!model.graph) throw new OnnxFormatError("malformed ONNX file: it has no graph");
  return model;
}

export type TensorData = Float32Array | Int8Array | Int32Array | BigInt64Array;

/** The values of an initializer, from raw_data or the typed fields, with its dims. */
export function tensorValues(t: onnx.ITensorProto): { dims: number[]; data: TensorData } {
  const dims = (t.dims ?? []).map(toNumber);
  const count = dims.reduce((a, b) => a * b, 1);
  const raw = t.rawData && t.rawData.length > 0 ? new Uint8Array(t.rawData) : undefined; // a copy: decoded bytes may be a view into a shared Buffer
  let data: TensorData;
  switch (t.dataType) {
    case DataType.FLOAT:
      data = raw ? new Float32Array(raw.buffer, 0, raw.length / 4) : Float32Array.from(t.floatData ?? []);
      break;
    case DataType.INT8:
      data = raw ? new Int8Array(raw.buffer, 0, raw.length) : Int8Array.from(t.int32Data ?? []);
      break;
    case DataType.INT32:
      data = raw ? new Int32Array(raw.buffer, 0, raw.length / 4) : Int32Array.from(t.int32Data ?? []);
      break;
    case DataType.INT64:
      data = raw ? new BigInt64Array(raw.buffer, 0, raw.length / 8) : BigInt64Array.from((t.int64Data ?? []).map((v) => BigInt(toNumber(v))));
      break;
    default:
      throw new OnnxFormatError(`tensor ${t.name}: data type ${t.dataType} is not supported`);
  }
  if (data.length !== count) throw new OnnxFormatError(`tensor ${t.name}: has ${data.length} values but its shape [${dims}] needs ${count}`);
  return { dims, data };
}

/** The value of an attribute, or `fallback` when the node does not set it. */
export function attributeValue(n: onnx.INodeProto, name: string, fallback: number): number {
  const a = (n.attribute ?? []).find((x) => x.name === name);
  if (!a) return fallback;
  return a.type === onnx.AttributeProto.AttributeType.FLOAT ? (a.f ?? fallback) : toNumber(a.i);
}
