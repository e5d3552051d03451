import { transpose } from "../matrix";
import { bytesEqual } from "../bytes";
import { type DenseLayer, type IntegerModel, validateModel } from "../model";
import {
  DataType,
  OnnxFormatError,
  attribute,
  decodeModel,
  encodeModel,
  int32Tensor,
  int64Tensor,
  int8Tensor,
  node,
  type onnx,
  tensorValues,
  toNumber,
  valueInfo,
} from "./onnxProto";

/**
 * The integer model as an ONNX graph that onnxruntime runs (docs/integer-semantics.md §6).
 *
 * Per Dense layer l, with the batch as the first dimension:
 *   acc  = MatMulInteger(x, W) + bias                     int32
 *   num  = Cast<int64>(acc) · multiplier + 2^(shift-1)    int64, |num| < 2^63
 *   q    = (num − Mod(num, 2^shift)) / 2^shift            floor division: Mod with fmod=0
 *                                                          is ≥ 0 for a positive divisor, so
 *                                                          the truncating Div is exact
 *   out  = Cast<int8>(clamp(q, lo, hi))                   clamp first: Cast wraps
 * The clamp is Less/Where then Greater/Where: onnxruntime 1.30's int64 Clip, Min and Max
 * give wrong results for values beyond int32 once a tensor is long enough to take their
 * vectorised path (test/onnx/ortInt64Ops.test.ts pins this down).
 * Every layer output is also a graph output (`layer1` … `layerL`), so one run gives the trace.
 *
 * The file is canonical: {@link readIntegerModel} rebuilds the graph from the constants it
 * finds and rejects a file whose bytes differ, so what onnxruntime runs is exactly what the
 * model root commits to.
 */
export const INPUT_NAME = "input";
/** The producer name every canonical integer graph carries. */
export const INTEGER_MODEL_PRODUCER = "refute-integer-model";

export function layerOutputName(l: number): string {
  return `layer${l}`;
}

const constName = (l: number, what: string) => `l${l}.${what}`;

/** Serialises `model` as its canonical integer ONNX graph. */
export function buildIntegerOnnx(model: IntegerModel): Uint8Array {
  validateModel(model);
  const initializer: onnx.ITensorProto[] = [];
  const nodes: onnx.INodeProto[] = [];
  const outputs: onnx.IValueInfoProto[] = [];
  let x = INPUT_NAME;
  model.layers.forEach((layer, i) => {
    const l = i + 1;
    const c = (what: string) => constName(l, what);
    const t = (what: string) => `l${l}/${what}`;
    const scalar = (what: string, v: bigint) => int64Tensor(c(what), [], BigInt64Array.of(v));
    initializer.push(
      int8Tensor(c("weight"), [layer.nIn, layer.nOut], transpose(layer.weights, layer.nOut, layer.nIn)),
      int32Tensor(c("bias"), [layer.nOut], layer.bias),
      scalar("multiplier", BigInt(layer.multiplier)),
      scalar("half", 1n << BigInt(layer.shift - 1)),
      scalar("divisor", 1n << BigInt(layer.shift)),
      scalar("lo", BigInt(layer.clampLo)),
      scalar("hi", BigInt(layer.clampHi)),
    );
    const out = layerOutputName(l);
    nodes.push(
      node("MatMulInteger", t("matmul"), [x, c("weight")], [t("product")]),
      node("Add", t("add_bias"), [t("product"), c("bias")], [t("acc")]),
      node("Cast", t("widen"), [t("acc")], [t("acc64")], [attribute("to", DataType.INT64)]),
      node("Mul", t("scale"), [t("acc64"), c("multiplier")], [t("scaled")]),
      node("Add", t("add_half"), [t("scaled"), c("half")], [t("num")]),
      node("Mod", t("remainder"), [t("num"), c("divisor")], [t("rem")], [attribute("fmod", 0)]),
      node("Sub", t("floor_align"), [t("num"), t("rem")], [t("aligned")]),
      node("Div", t("shift"), [t("aligned"), c("divisor")], [t("q")]),
      node("Less", t("below_lo"), [t("q"), c("lo")], [t("is_below")]),
      node("Where", t("raise_to_lo"), [t("is_below"), c("lo"), t("q")], [t("at_least_lo")]),
      node("Greater", t("above_hi"), [t("at_least_lo"), c("hi")], [t("is_above")]),
      node("Where", t("lower_to_hi"), [t("is_above"), c("hi"), t("at_least_lo")], [t("clamped")]),
      node("Cast", t("narrow"), [t("clamped")], [out], [attribute("to", DataType.INT8)]),
    );
    outputs.push(valueInfo(out, DataType.INT8, ["batch", layer.nOut]));
    x = out;
  });
  return encodeModel(
    {
      name: "refute_integer_model",
      node: nodes,
      initializer,
      input: [valueInfo(INPUT_NAME, DataType.INT8, ["batch", model.inputSize])],
      output: outputs,
    },
    INTEGER_MODEL_PRODUCER,
  );
}

/**
 * Reads an integer ONNX file written by {@link buildIntegerOnnx}. A malformed file, a float
 * model (which it says how to quantise), a missing or mistyped constant, a model that breaks
 * the integer semantics or a graph that is not the canonical one gives an error that says which.
 */
export function readIntegerModel(bytes: Uint8Array): IntegerModel {
  const decoded = decodeModel(bytes);
  const graph = decoded.graph!;
  const inits = new Map((graph.initializer ?? []).map((t) => [t.name ?? "", t]));
  // Before any detail: a file that is not an integer graph at all is refused for what it is.
  const firstWeight = constName(1, "weight");
  if (inits.get(firstWeight)?.dataType !== DataType.INT8) {
    const producer = decoded.producerName ?? "";
    const float = floatEvidence(graph);
    if (float) throw new OnnxFormatError(`this looks like a float ONNX model, not Refute's integer graph (producer "${producer}", ${float}): ${QUANTISE_FIRST}`);
    if (!inits.has(firstWeight)) {
      throw new OnnxFormatError(`integer model: it has no initializer ${firstWeight} (producer "${producer}"), so it is not Refute's integer graph as buildIntegerOnnx writes it`);
    }
  }
  const get = (name: string, type: onnx.TensorProto.DataType, rank: number) => {
    const t = inits.get(name);
    if (!t) throw new OnnxFormatError(`integer model: initializer ${name} is missing`);
    if (t.dataType !== type) throw new OnnxFormatError(`integer model: initializer ${name} has data type ${t.dataType}, expected ${type}`);
    const v = tensorValues(t);
    if (v.dims.length !== rank) throw new OnnxFormatError(`integer model: initializer ${name} has rank ${v.dims.length}, expected ${rank}`);
    return v;
  };
  const scalar = (l: number, what: string) => (get(constName(l, what), DataType.INT64, 0).data as BigInt64Array)[0];

  const input = (graph.input ?? []).find((v) => v.name === INPUT_NAME);
  const inputDims = input?.type?.tensorType?.shape?.dim ?? [];
  if (inputDims.length !== 2) throw new OnnxFormatError(`integer model: graph input "${INPUT_NAME}" must be [batch, n]`);
  const inputSize = toNumber(inputDims[1].dimValue);

  const layers: DenseLayer[] = [];
  for (let l = 1; inits.has(constName(l, "weight")); l++) {
    const w = get(constName(l, "weight"), DataType.INT8, 2);
    const [nIn, nOut] = w.dims;
    const divisor = scalar(l, "divisor");
    const shift = log2Exact(divisor);
    if (shift === undefined) throw new OnnxFormatError(`integer model: layer ${l} divisor ${divisor} is not a power of two`);
    layers.push({
      op: "dense",
      nIn,
      nOut,
      weights: transpose(w.data as Int8Array, nIn, nOut),
      bias: get(constName(l, "bias"), DataType.INT32, 1).data as Int32Array,
      multiplier: Number(scalar(l, "multiplier")),
      shift,
      clampLo: Number(scalar(l, "lo")),
      clampHi: Number(scalar(l, "hi")),
    });
  }
  const model: IntegerModel = { inputSize, layers };
  const canonical = buildIntegerOnnx(model); // validates the model
  if (!bytesEqual(canonical, bytes)) {
    throw new OnnxFormatError("integer model: the graph is not the canonical graph of its constants (edited nodes, extra tensors or a different layout)");
  }
  return model;
}

/** What to do with a float model, for the refusal of one read as an integer graph. */
const QUANTISE_FIRST =
  "import and quantise it first: readFloatModel (core/onnx/floatModel.ts), then quantise with calibration inputs (core/quantise.ts), " +
  "then buildIntegerOnnx (core/onnx/integerGraph.ts) writes integer.onnx, as scripts/build-reference-model.ts does for models/mnist-mlp";

const FLOAT_TYPES = new Map<number, string>([
  [DataType.FLOAT, "float32"],
  [DataType.DOUBLE, "float64"],
  [DataType.FLOAT16, "float16"],
  [DataType.BFLOAT16, "bfloat16"],
]);

/** Why `graph` looks like a float model (its first float input or initializer), or undefined. */
function floatEvidence(graph: onnx.IGraphProto): string | undefined {
  for (const v of graph.input ?? []) {
    const type = FLOAT_TYPES.get(v.type?.tensorType?.elemType ?? -1);
    if (type) return `input "${v.name ?? ""}" is ${type}`;
  }
  for (const t of graph.initializer ?? []) {
    const type = FLOAT_TYPES.get(t.dataType ?? -1);
    if (type) return `initializer ${t.name ?? ""} is ${type}`;
  }
  return undefined;
}

function log2Exact(v: bigint): number | undefined {
  for (let s = 0; s < 64; s++) if (1n << BigInt(s) === v) return s;
  return undefined;
}
