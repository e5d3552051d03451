import { DataType, type onnx, tensorValues, toNumber } from "../../onnx/onnxProto";

/**
 * Constant tensors while a float ONNX graph is read: initializers, `Constant` nodes and the
 * results of folding shape subgraphs. Values are held as doubles (every int64 a shape
 * subgraph computes is far below 2⁵³), with a dtype tag that decides integer semantics
 * (Div truncates, Cast rounds towards zero). Also the index arithmetic that ONNX's shape and
 * layout ops share between constants and activations: broadcasting, Slice, Reshape,
 * Squeeze/Unsqueeze axes.
 */

export type ConstDType = "float" | "int";

export interface ConstTensor {
  readonly dtype: ConstDType;
  readonly dims: readonly number[];
  readonly data: Float64Array;
}

export function sizeOfDims(dims: readonly number[]): number {
  return dims.reduce((a, b) => a * b, 1);
}

export function stridesOfDims(dims: readonly number[]): number[] {
  const s = new Array<number>(dims.length);
  let k = 1;
  for (let a = dims.length - 1; a >= 0; a--) {
    s[a] = k;
    k *= dims[a];
  }
  return s;
}

export function constTensor(dtype: ConstDType, dims: readonly number[], data: ArrayLike<number>): ConstTensor {
  return { dtype, dims: [...dims], data: Float64Array.from(data) };
}

/** A scalar or a list as an integer list (axes, a shape, pads); throws on a non-integer. */
export function intList(t: ConstTensor): number[] {
  return Array.from(t.data, (v) => {
    if (!Number.isInteger(v) && Number.isFinite(v)) throw new RangeError(`expected integers, found ${v}`);
    return v;
  });
}

/** The one value of a constant with one element (any rank). */
export function scalarOf(t: ConstTensor): number | undefined {
  return t.data.length === 1 ? t.data[0] : undefined;
}

/** The values of a TensorProto (an initializer, a Constant node's value) as a constant; throws a plain Error saying why not. */
export function constFromProto(t: onnx.ITensorProto): ConstTensor {
  if (t.dataLocation === 1) throw new Error(`tensor ${t.name}: external data is not supported (save the model with its weights inside)`);
  const dims = (t.dims ?? []).map(toNumber);
  const count = sizeOfDims(dims);
  const raw = t.rawData && t.rawData.length > 0 ? new Uint8Array(t.rawData) : undefined;
  let values: ArrayLike<number>;
  let dtype: ConstDType = "int";
  switch (t.dataType) {
    case DataType.FLOAT:
    case DataType.INT8:
    case DataType.INT32: {
      values = tensorValues(t).data as Float32Array | Int8Array | Int32Array;
      dtype = t.dataType === DataType.FLOAT ? "float" : "int";
      break;
    }
    case DataType.INT64:
      values = Array.from(tensorValues(t).data as BigInt64Array, (v) => Number(v));
      break;
    case DataType.DOUBLE:
      values = raw ? new Float64Array(raw.buffer, 0, raw.length / 8) : (t.doubleData ?? []);
      dtype = "float";
      break;
    case DataType.UINT8:
    case DataType.BOOL:
      values = raw ? raw : (t.int32Data ?? []);
      break;
    default:
      throw new Error(`tensor ${t.name}: data type ${DataType[t.dataType ?? 0] ?? t.dataType} is not supported`);
  }
  if (values.length !== count) throw new Error(`tensor ${t.name}: has ${values.length} values but its shape [${dims}] needs ${count}`);
  return constTensor(dtype, dims, values);
}

/** An axis of a tensor of rank `rank`, negative counting from the end; throws when outside. */
export function normaliseAxis(axis: number, rank: number): number {
  const a = axis < 0 ? axis + rank : axis;
  if (!Number.isInteger(a) || a < 0 || a >= rank) throw new RangeError(`axis ${axis} is outside a rank-${rank} tensor`);
  return a;
}

/** numpy broadcasting of two shapes (right-aligned); undefined when they do not broadcast. */
export function broadcastDims(a: readonly number[], b: readonly number[]): number[] | undefined {
  const r = Math.max(a.length, b.length);
  const out: number[] = [];
  for (let i = 0; i < r; i++) {
    const x = a[a.length - r + i] ?? 1;
    const y = b[b.length - r + i] ?? 1;
    if (x !== y && x !== 1 && y !== 1) return undefined;
    out.push(x === 1 ? y : x);
  }
  return out;
}

/** Flat index into `dims` of output element `i` of shape `out` under right-aligned broadcasting. */
function broadcastIndex(dims: readonly number[], out: readonly number[]): (i: number) => number {
  const r = out.length;
  const inStrides = stridesOfDims(dims);
  const outStrides = stridesOfDims(out);
  return (i) => {
    let index = 0;
    for (let a = 0; a < r; a++) {
      const o = Math.floor(i / outStrides[a]) % out[a];
      const k = a - (r - dims.length);
      if (k >= 0 && dims[k] !== 1) index += o * inStrides[k];
    }
    return index;
  };
}

/** An elementwise op of two constants with broadcasting; integer results truncate towards zero. */
export function binaryConst(a: ConstTensor, b: ConstTensor, f: (x: number, y: number) => number): ConstTensor {
  const dims = broadcastDims(a.dims, b.dims);
  if (!dims) throw new RangeError(`shapes [${a.dims}] and [${b.dims}] do not broadcast`);
  const dtype: ConstDType = a.dtype === "float" || b.dtype === "float" ? "float" : "int";
  const ia = broadcastIndex(a.dims, dims);
  const ib = broadcastIndex(b.dims, dims);
  const n = sizeOfDims(dims);
  const data = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    const v = f(a.data[ia(i)], b.data[ib(i)]);
    data[i] = dtype === "int" ? Math.trunc(v) : v;
  }
  return { dtype, dims, data };
}

/** ONNX Gather on a constant. */
export function gatherConst(data: ConstTensor, indices: ConstTensor, axis: number): ConstTensor {
  const a = normaliseAxis(axis, data.dims.length);
  const d = data.dims[a];
  const outer = sizeOfDims(data.dims.slice(0, a));
  const inner = sizeOfDims(data.dims.slice(a + 1));
  const dims = [...data.dims.slice(0, a), ...indices.dims, ...data.dims.slice(a + 1)];
  const out = new Float64Array(sizeOfDims(dims));
  let k = 0;
  for (let o = 0; o < outer; o++) {
    for (const raw of indices.data) {
      const idx = raw < 0 ? raw + d : raw;
      if (!Number.isInteger(idx) || idx < 0 || idx >= d) throw new RangeError(`index ${raw} is outside 0 … ${d - 1}`);
      for (let i = 0; i < inner; i++) out[k++] = data.data[(o * d + idx) * inner + i];
    }
  }
  return { dtype: data.dtype, dims, data: out };
}

/** ONNX Concat of constants. */
export function concatConst(parts: readonly ConstTensor[], axis: number): ConstTensor {
  const rank = parts[0].dims.length;
  const a = normaliseAxis(axis, rank);
  for (const p of parts) {
    if (p.dims.length !== rank || p.dims.some((d, i) => i !== a && d !== parts[0].dims[i])) throw new RangeError(`shapes ${parts.map((q) => `[${q.dims}]`).join(", ")} do not agree off axis ${a}`);
  }
  const dims = parts[0].dims.map((d, i) => (i === a ? parts.reduce((s, p) => s + p.dims[a], 0) : d));
  const outer = sizeOfDims(dims.slice(0, a));
  const out: number[] = [];
  for (let o = 0; o < outer; o++) {
    for (const p of parts) {
      const chunk = p.dims[a] * sizeOfDims(p.dims.slice(a + 1));
      for (let i = 0; i < chunk; i++) out.push(p.data[o * chunk + i]);
    }
  }
  const dtype: ConstDType = parts.some((p) => p.dtype === "float") ? "float" : "int";
  return constTensor(dtype, dims, out);
}

/** ONNX Transpose of a constant: output axis a is input axis perm[a]. */
export function transposeConst(t: ConstTensor, perm: readonly number[]): ConstTensor {
  const dims = perm.map((p) => t.dims[p]);
  const inStrides = stridesOfDims(t.dims);
  const outStrides = stridesOfDims(dims);
  const n = sizeOfDims(dims);
  const data = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    let src = 0;
    for (let a = 0; a < dims.length; a++) src += (Math.floor(i / outStrides[a]) % dims[a]) * inStrides[perm[a]];
    data[i] = t.data[src];
  }
  return { dtype: t.dtype, dims, data };
}

/** The canonical form of an ONNX Slice along every axis of `dims`: start, step and count per axis. */
export interface SliceSpec {
  readonly starts: number[];
  readonly steps: number[];
  readonly sizes: number[];
}

/**
 * ONNX Slice's arguments (ends clamped, negative indices from the end, axes optional, steps
 * optional) resolved against `dims` into an explicit start, step and size per axis.
 */
export function resolveSlice(dims: readonly number[], starts: readonly number[], ends: readonly number[], axes?: readonly number[], steps?: readonly number[]): SliceSpec {
  const r = dims.length;
  if (starts.length !== ends.length) throw new RangeError(`${starts.length} starts but ${ends.length} ends`);
  const ax = axes ?? starts.map((_, i) => i);
  if (ax.length !== starts.length || (steps && steps.length !== starts.length)) throw new RangeError("starts, ends, axes and steps must have the same length");
  const out: SliceSpec = { starts: dims.map(() => 0), steps: dims.map(() => 1), sizes: [...dims] };
  const seen = new Set<number>();
  ax.forEach((axis, i) => {
    const a = normaliseAxis(axis, r);
    if (seen.has(a)) throw new RangeError(`axis ${axis} appears twice`);
    seen.add(a);
    const d = dims[a];
    const step = steps ? steps[i] : 1;
    if (!Number.isInteger(step) || step === 0) throw new RangeError(`step ${step} on axis ${a}`);
    let s = starts[i] < 0 ? starts[i] + d : starts[i];
    let e = ends[i] < 0 ? ends[i] + d : ends[i];
    if (step > 0) {
      s = Math.min(Math.max(s, 0), d);
      e = Math.min(Math.max(e, 0), d);
    } else {
      s = Math.min(Math.max(s, 0), d - 1);
      e = Math.min(Math.max(e, -1), d - 1);
    }
    out.starts[a] = s;
    out.steps[a] = step;
    out.sizes[a] = Math.max(0, Math.ceil((e - s) / step));
  });
  return out;
}

/** Slice of a constant by a resolved spec. */
export function sliceConst(t: ConstTensor, spec: SliceSpec): ConstTensor {
  const dims = spec.sizes;
  const inStrides = stridesOfDims(t.dims);
  const outStrides = stridesOfDims(dims);
  const n = sizeOfDims(dims);
  const data = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    let src = 0;
    for (let a = 0; a < dims.length; a++) src += (spec.starts[a] + (Math.floor(i / outStrides[a]) % dims[a]) * spec.steps[a]) * inStrides[a];
    data[i] = t.data[src];
  }
  return { dtype: t.dtype, dims: [...dims], data };
}

/** ONNX Reshape's target (0 copies the input dimension unless allowzero, one −1 is inferred). */
export function resolveReshape(dims: readonly number[], shape: readonly number[], allowzero: boolean): number[] {
  const out = shape.map((d, i) => {
    if (d === 0 && !allowzero) {
      if (i >= dims.length) throw new RangeError(`0 at position ${i} copies a dimension the input [${dims}] does not have`);
      return dims[i];
    }
    return d;
  });
  const unknown = out.filter((d) => d === -1).length;
  if (unknown > 1 || out.some((d) => d < -1 || !Number.isInteger(d))) throw new RangeError(`shape [${shape}] is not a valid Reshape target`);
  const total = sizeOfDims(dims);
  if (unknown === 1) {
    const known = sizeOfDims(out.filter((d) => d !== -1));
    if (known === 0 || total % known !== 0) throw new RangeError(`cannot infer the −1 in [${shape}] for ${total} elements`);
    out[out.indexOf(-1)] = total / known;
  }
  if (sizeOfDims(out) !== total) throw new RangeError(`cannot reshape [${dims}] (${total} elements) to [${out}]`);
  return out;
}

/** ONNX Unsqueeze: the shape with a 1 inserted at each of `axes` (relative to the output rank). */
export function unsqueezeDims(dims: readonly number[], axes: readonly number[]): number[] {
  const r = dims.length + axes.length;
  const at = new Set(axes.map((a) => normaliseAxis(a, r)));
  if (at.size !== axes.length) throw new RangeError(`axes [${axes}] repeat an axis`);
  const out: number[] = [];
  let k = 0;
  for (let a = 0; a < r; a++) out.push(at.has(a) ? 1 : dims[k++]);
  return out;
}

/** ONNX Squeeze: the shape without `axes` (each of size 1), or without every 1 when `axes` is absent. */
export function squeezeDims(dims: readonly number[], axes: readonly number[] | undefined): number[] {
  if (!axes) return dims.filter((d) => d !== 1);
  const at = new Set(axes.map((a) => normaliseAxis(a, dims.length)));
  for (const a of at) if (dims[a] !== 1) throw new RangeError(`cannot squeeze axis ${a} of size ${dims[a]}`);
  return dims.filter((_, a) => !at.has(a));
}

/** ONNX Flatten's output shape: [product of the axes before `axis`, product of the rest]. */
export function flattenDims(dims: readonly number[], axis: number): number[] {
  const a = axis < 0 ? axis + dims.length : axis;
  if (a < 0 || a > dims.length) throw new RangeError(`axis ${axis} is outside a rank-${dims.length} tensor`);
  return [sizeOfDims(dims.slice(0, a)), sizeOfDims(dims.slice(a))];
}
