import { DataType, attribute, encodeModel, floatTensor, int64Tensor, node, type onnx, valueInfo } from "../../onnx/onnxProto";
import { type FloatGraph, type FloatNode, tensorShapes } from "./floatGraph";

/**
 * The float graph IR written back as an ordinary float ONNX model (opset 17, input
 * `[batch, …shape]` under the original input name, every tensor under its original name),
 * so that onnxruntime runs exactly what will be quantised: BatchNormalization already folded,
 * HardSwish as one op, no shape subgraphs and no final Softmax. The importer calibrates on it
 * with every tensor exposed as a graph output (`exposeAll`), and the tests compare it with the
 * original model.
 */

export const FLOAT_GRAPH_PRODUCER = "refute-float-graph";

export interface FloatGraphOnnxOptions {
  /** Every node's output a graph output too (in node order, after the program's output). */
  readonly exposeAll?: boolean;
}

export function writeFloatGraphOnnx(graph: FloatGraph, options: FloatGraphOnnxOptions = {}): Uint8Array {
  const shapes = tensorShapes(graph);
  const nodes: onnx.INodeProto[] = [];
  const initializer: onnx.ITensorProto[] = [];
  const floats = (n: FloatNode, what: string, dims: readonly number[], data: Float32Array) => {
    const name = `${n.output}::${what}`;
    initializer.push(floatTensor(name, dims, data));
    return name;
  };
  const ints = (n: FloatNode, what: string, values: readonly number[]) => {
    const name = `${n.output}::${what}`;
    initializer.push(int64Tensor(name, [values.length], BigInt64Array.from(values.map(BigInt))));
    return name;
  };
  for (const n of graph.nodes) {
    const name = n.sources[0];
    const emit = (opType: string, inputs: string[], attrs: onnx.IAttributeProto[] = [], output = n.output, suffix = "") => nodes.push(node(opType, name + suffix, inputs, [output], attrs));
    const x = n.inputs[0];
    switch (n.kind) {
      case "conv":
        emit("Conv", [x, floats(n, "weight", n.weightShape, n.weight), floats(n, "bias", [n.weightShape[0]], n.bias)], [
          attribute("dilations", [...n.dilations]),
          attribute("group", n.groups),
          attribute("kernel_shape", [n.weightShape[2], n.weightShape[3]]),
          attribute("pads", [...n.pads]),
          attribute("strides", [...n.strides]),
        ]);
        break;
      case "dense":
        emit("Gemm", [x, floats(n, "weight", [n.nOut, n.nIn], n.weight), floats(n, "bias", [n.nOut], n.bias)], [attribute("transB", 1)]);
        break;
      case "maxPool":
      case "avgPool": {
        const attrs = [attribute("kernel_shape", [...n.kernel]), attribute("pads", [...n.pads]), attribute("strides", [...n.strides])];
        if (n.kind === "maxPool") emit("MaxPool", [x], [...attrs, attribute("dilations", [...n.dilations])]);
        else emit("AveragePool", [x], [...attrs, attribute("count_include_pad", 1)]);
        break;
      }
      case "globalAvgPool":
        emit("GlobalAveragePool", [x]);
        break;
      case "add":
        emit("Add", [...n.inputs]);
        break;
      case "mul":
        emit("Mul", [...n.inputs]);
        break;
      case "clip": {
        if (n.lo === 0 && n.hi === Infinity) {
          emit("Relu", [x]);
          break;
        }
        const bound = (what: string, v: number) => (Number.isFinite(v) ? floats(n, what, [], Float32Array.of(v)) : "");
        emit("Clip", [x, bound("min", n.lo), bound("max", n.hi)]);
        break;
      }
      case "hardSigmoid":
        emit("HardSigmoid", [x], [attribute("alpha", n.alpha, "float"), attribute("beta", n.beta, "float")]);
        break;
      case "hardSwish":
        if (n.alpha === 1 / 6 && n.beta === 0.5) emit("HardSwish", [x]);
        else {
          const gate = `${n.output}::gate`;
          emit("HardSigmoid", [x], [attribute("alpha", n.alpha, "float"), attribute("beta", n.beta, "float")], gate, ":gate");
          emit("Mul", [x, gate]);
        }
        break;
      case "flatten":
        emit("Flatten", [x], [attribute("axis", 1)]);
        break;
      case "reshape":
        emit("Reshape", [x, ints(n, "shape", [-1, ...n.shape])]);
        break;
      case "transpose":
        emit("Transpose", [x], [attribute("perm", [0, ...n.perm.map((p) => p + 1)])]);
        break;
      case "concat":
        emit("Concat", [...n.inputs], [attribute("axis", n.axis + 1)]);
        break;
      case "slice": {
        const dims = shapes.get(x)!;
        const ends = n.starts.map((s, a) => {
          const end = s + n.sizes[a] * n.steps[a];
          return end < 0 ? -(dims[a] + 1) : end;
        });
        const axes = n.starts.map((_, a) => a + 1);
        emit("Slice", [x, ints(n, "starts", n.starts), ints(n, "ends", ends), ints(n, "axes", axes), ints(n, "steps", n.steps)]);
        break;
      }
    }
  }
  const info = (t: string) => valueInfo(t, DataType.FLOAT, ["batch", ...shapes.get(t)!]);
  const outputs = [graph.output, ...(options.exposeAll ? graph.nodes.map((n) => n.output).filter((t) => t !== graph.output) : [])];
  return encodeModel(
    {
      name: "float_graph",
      node: nodes,
      initializer,
      input: [info(graph.input.name)],
      output: outputs.map(info),
    },
    FLOAT_GRAPH_PRODUCER,
  );
}
