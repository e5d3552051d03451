import { DataType, OnnxFormatError, attributeValue, decodeModel, type onnx, tensorValues, toNumber } from "./onnxProto";

/** A float Dense layer read from an ordinary ONNX file; weights output-major like the integer form. */
export interface FloatDense {
  readonly nIn: number;
  readonly nOut: number;
  readonly weights: Float32Array;
  bias: Float32Array;
  relu: boolean;
  /** The node it came from, for messages. */
  readonly node: string;
}

export interface FloatModel {
  readonly inputSize: number;
  readonly layers: FloatDense[];
  /** The input's shape after the batch, as the ONNX file declares it (read models only). */
  readonly inputShape?: readonly number[];
}

/** An ONNX node that Refute cannot import; the message names the node and the problem. */
export class UnsupportedModelError extends Error {
  constructor(
    readonly node: string,
    readonly problem: string,
  ) {
    super(`node ${node}: ${problem}`);
    this.name = "UnsupportedModelError";
  }
}

/** Ops the importer understands, for error messages. */
export const SUPPORTED_FLOAT_OPS = ["Gemm", "MatMul", "Add", "Relu", "Flatten"] as const;

/**
 * Reads a float ONNX model made of a chain of Gemm, MatMul (+ Add as its bias), Relu and
 * Flatten nodes into Dense layers. Anything else — another op, a branch, a weight that is
 * not an initializer, shapes that do not line up — is an error that names the node.
 */
export function readFloatModel(bytes: Uint8Array): FloatModel {
  const graph = decodeModel(bytes).graph!;
  const inits = new Map((graph.initializer ?? []).map((t) => [t.name ?? "", t]));
  const dataInputs = (graph.input ?? []).filter((v) => !inits.has(v.name ?? ""));
  const wrongInputCount = () => new OnnxFormatError(`float model: expected one graph input, found ${dataInputs.length}`);
  // With several graph inputs the data is the one the first node reads; another one read as a
  // weight then fails at that node ("must be a constant initializer"), and one never read fails below.
  const dataInput = dataInputs.length === 1 ? dataInputs[0] : dataInputs.find((v) => v.name === graph.node?.[0]?.input?.[0]);
  if (!dataInput) throw wrongInputCount();
  const dims = (dataInput.type?.tensorType?.shape?.dim ?? []).map((d) => toNumber(d.dimValue));
  if (dims.length < 2 || dims.slice(1).some((d) => d <= 0)) {
    throw new OnnxFormatError(`float model: input ${dataInput.name} must be [batch, …] with fixed sizes after the batch, got [${dims}]`);
  }

  let current = dataInput.name ?? "";
  let size = dims.slice(1).reduce((a, b) => a * b, 1);
  let flat = dims.length === 2;
  const layers: FloatDense[] = [];

  for (const n of graph.node ?? []) {
    const name = n.name || `${n.opType}(${(n.output ?? []).join(",")})`;
    const fail = (problem: string): never => {
      throw new UnsupportedModelError(name, problem);
    };
    const inputs = n.input ?? [];
    const weight = (i: number) => {
      const t = inits.get(inputs[i] ?? "");
      if (!t) return fail(`input ${inputs[i]} must be a constant initializer`);
      if (t.dataType !== DataType.FLOAT) return fail(`initializer ${t.name} must be float32, has data type ${t.dataType}`);
      return tensorValues(t) as { dims: number[]; data: Float32Array };
    };
    const bias = (i: number, nOut: number) => {
      const b = weight(i);
      // [nOut] or [1, nOut] broadcast per output; [nOut, 1] would broadcast over the batch.
      const perOutput = b.dims.length === 1 || (b.dims.length === 2 && b.dims[0] === 1);
      if (b.data.length !== nOut || !perOutput) fail(`bias ${inputs[i]} has shape [${b.dims}], expected [${nOut}] or [1, ${nOut}]`);
      return b.data;
    };
    const last = layers[layers.length - 1];
    const dataInput = n.opType === "Add" && inputs[1] === current ? 1 : 0;
    if (inputs[dataInput] !== current) fail(`reads ${inputs[dataInput]}, but only a chain is supported: expected ${current}`);
    if ((n.output ?? []).length !== 1) fail(`must have one output, has ${(n.output ?? []).length}`);

    switch (n.opType) {
      case "Flatten":
        if (attributeValue(n, "axis", 1) !== 1) fail("only Flatten with axis=1 is supported");
        flat = true;
        break;
      case "Gemm": {
        if (attributeValue(n, "transA", 0) !== 0) fail("transA=1 is not supported");
        const { dims: wd, data } = weight(1);
        if (wd.length !== 2) fail(`weight ${inputs[1]} must be 2-D, has shape [${wd}]`);
        const transB = attributeValue(n, "transB", 0) === 1;
        const [nIn, nOut] = transB ? [wd[1], wd[0]] : wd;
        layers.push(dense(name, size, nIn, nOut, data, !transB, attributeValue(n, "alpha", 1), fail, flat));
        if (inputs.length > 2 && inputs[2]) layers[layers.length - 1].bias = bias(2, nOut).map((b) => b * attributeValue(n, "beta", 1));
        size = nOut;
        break;
      }
      case "MatMul": {
        const { dims: wd, data } = weight(1);
        if (wd.length !== 2) fail(`weight ${inputs[1]} must be 2-D, has shape [${wd}]`);
        layers.push(dense(name, size, wd[0], wd[1], data, true, 1, fail, flat));
        size = wd[1];
        break;
      }
      case "Add":
        if (!last || last.relu || last.bias.some((b) => b !== 0) || !lastProducedBy(graph, current, "MatMul")) {
          fail("Add is supported only as the bias of the MatMul just before it");
        }
        last.bias = bias(1 - dataInput, last.nOut);
        break;
      case "Relu":
        if (!last || last.relu) fail("Relu must follow a Gemm, MatMul or Add");
        last.relu = true;
        break;
      default:
        fail(`op ${n.opType} is not supported (supported: ${SUPPORTED_FLOAT_OPS.join(", ")})`);
    }
    current = n.output![0];
  }

  if (dataInputs.length !== 1) throw wrongInputCount();
  const outputs = graph.output ?? [];
  if (outputs.length !== 1 || outputs[0].name !== current) {
    throw new OnnxFormatError(`float model: the graph output must be the end of the chain (${current}), found [${outputs.map((o) => o.name)}]`);
  }
  if (layers.length === 0) throw new OnnxFormatError("float model: it has no Gemm or MatMul layer");
  return { inputSize: dims.slice(1).reduce((a, b) => a * b, 1), layers, inputShape: dims.slice(1) };
}

function dense(
  node: string,
  size: number,
  nIn: number,
  nOut: number,
  data: Float32Array,
  inputMajor: boolean,
  alpha: number,
  fail: (problem: string) => never,
  flat: boolean,
): FloatDense {
  if (!flat) fail("the input has more than two dimensions: add a Flatten before the first layer");
  if (nIn !== size) fail(`shape mismatch: the weight expects ${nIn} inputs but the layer receives ${size}`);
  const weights = new Float32Array(nIn * nOut);
  for (let j = 0; j < nOut; j++) {
    for (let i = 0; i < nIn; i++) weights[j * nIn + i] = alpha * (inputMajor ? data[i * nOut + j] : data[j * nIn + i]);
  }
  return { nIn, nOut, weights, bias: new Float32Array(nOut), relu: false, node };
}

function lastProducedBy(graph: onnx.IGraphProto, tensor: string, opType: string): boolean {
  return (graph.node ?? []).some((n) => n.opType === opType && (n.output ?? [])[0] === tensor);
}

/** Float forward pass in double precision: the activations after each layer. */
export function runFloat(model: FloatModel, input: ArrayLike<number>): Float64Array[] {
  const acts: Float64Array[] = [];
  let x: ArrayLike<number> = input;
  for (const layer of model.layers) {
    const y = new Float64Array(layer.nOut);
    for (let j = 0; j < layer.nOut; j++) {
      let s = layer.bias[j];
      const row = j * layer.nIn;
      for (let i = 0; i < layer.nIn; i++) s += layer.weights[row + i] * x[i];
      y[j] = layer.relu && s < 0 ? 0 : s;
    }
    acts.push(y);
    x = y;
  }
  return acts;
}
