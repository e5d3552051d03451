import { DataType, attribute, encodeModel, floatTensor, node, type onnx, valueInfo } from "./onnxProto";

/**
 * Writes a float convolutional network as an ordinary ONNX model, the way PyTorch's exporter
 * (`torch.onnx.export`, opset 17, keeping BatchNormalization as its own node) writes a chain of
 * modules: one node per module, named `/<module>/<Op>` (`/<Op>` for a module-less call, with
 * `_1`, `_2`, … on repeats), each output named `<node>_output_0`, weights as initializers named
 * `<module>.weight`, `<module>.bias`, `<module>.running_mean`, `<module>.running_var`, a graph
 * input `input` of shape [1, C, H, W] and a graph output `output`.
 *
 * BatchNormalization is written as it is, not folded into the Conv before it: folding is the
 * importer's job. (floatOnnxWriter.ts writes the Dense-only models.)
 */

type Pair = readonly [number, number];

/** `Conv`: weight [outChannels, inChannels / group, kH, kW]; no bias when the module has none (a Conv before BatchNorm). */
export interface ConvLayer {
  readonly op: "Conv";
  readonly module: string;
  readonly inChannels: number;
  readonly outChannels: number;
  readonly kernelShape: Pair;
  readonly strides: Pair;
  /** [top, left, bottom, right], ONNX's order. */
  readonly pads: readonly [number, number, number, number];
  readonly dilations: Pair;
  readonly group: number;
  readonly weight: Float32Array;
  readonly bias?: Float32Array;
}

/** `BatchNormalization` in inference form: y = scale · (x − mean) / √(variance + epsilon) + bias, per channel. */
export interface BatchNormLayer {
  readonly op: "BatchNormalization";
  readonly module: string;
  readonly scale: Float32Array;
  readonly bias: Float32Array;
  readonly mean: Float32Array;
  readonly variance: Float32Array;
  readonly epsilon: number;
  /** ONNX's momentum: the weight of the running value (PyTorch's 1 − momentum, 0.9 for PyTorch's default 0.1). */
  readonly momentum: number;
}

export interface ReluLayer {
  readonly op: "Relu";
  readonly module: string;
}

export interface MaxPoolLayer {
  readonly op: "MaxPool";
  readonly module: string;
  readonly kernelShape: Pair;
  readonly strides: Pair;
  readonly pads: readonly [number, number, number, number];
}

/** `Flatten` with axis 1: [N, C, H, W] → [N, C·H·W], row-major. */
export interface FlattenLayer {
  readonly op: "Flatten";
  readonly module: string;
}

/** `Gemm` with transB = 1 (PyTorch's Linear): weight [nOut, nIn], output-major. */
export interface GemmLayer {
  readonly op: "Gemm";
  readonly module: string;
  readonly nIn: number;
  readonly nOut: number;
  readonly weight: Float32Array;
  readonly bias: Float32Array;
}

export type FloatGraphLayer = ConvLayer | BatchNormLayer | ReluLayer | MaxPoolLayer | FlattenLayer | GemmLayer;

/** A chain of layers on one input image. */
export interface FloatGraph {
  /** The model's name in the file's graph. */
  readonly name: string;
  /** The input's shape after the batch: [C, H, W]. */
  readonly inputShape: readonly [number, number, number];
  readonly layers: readonly FloatGraphLayer[];
}

/** The shape after each layer, from [C, H, W] (batch left out); throws on a layer whose sizes do not fit its input. */
export function floatGraphShapes(graph: FloatGraph): number[][] {
  let shape: number[] = [...graph.inputShape];
  const shapes: number[][] = [];
  const window = (size: number, k: number, stride: number, padBefore: number, padAfter: number, dilation: number) =>
    Math.floor((size + padBefore + padAfter - dilation * (k - 1) - 1) / stride) + 1;
  for (const layer of graph.layers) {
    const fail = (problem: string): never => {
      throw new Error(`layer ${layer.module || layer.op} (${layer.op}): ${problem}; input shape [${shape}]`);
    };
    const expectLength = (what: string, data: Float32Array, n: number) => data.length === n || fail(`${what} has ${data.length} values, needs ${n}`);
    if (!layer.module && (layer.op === "Conv" || layer.op === "BatchNormalization" || layer.op === "Gemm")) fail("a layer with weights needs a module name (its initializers are <module>.weight, …)");
    switch (layer.op) {
      case "Conv": {
        if (shape.length !== 3 || shape[0] !== layer.inChannels) fail(`expects ${layer.inChannels} channels of an image`);
        if (layer.inChannels % layer.group !== 0 || layer.outChannels % layer.group !== 0) fail(`group ${layer.group} does not divide the channels`);
        const [kH, kW] = layer.kernelShape;
        expectLength("weight", layer.weight, (layer.outChannels * layer.inChannels * kH * kW) / layer.group);
        if (layer.bias) expectLength("bias", layer.bias, layer.outChannels);
        const [pt, pl, pb, pr] = layer.pads;
        shape = [layer.outChannels, window(shape[1], kH, layer.strides[0], pt, pb, layer.dilations[0]), window(shape[2], kW, layer.strides[1], pl, pr, layer.dilations[1])];
        break;
      }
      case "BatchNormalization":
        if (shape.length < 2) fail("expects channels");
        for (const [what, data] of [["scale", layer.scale], ["bias", layer.bias], ["mean", layer.mean], ["variance", layer.variance]] as const) expectLength(what, data, shape[0]);
        break;
      case "Relu":
        break;
      case "MaxPool": {
        if (shape.length !== 3) fail("expects an image");
        const [pt, pl, pb, pr] = layer.pads;
        shape = [shape[0], window(shape[1], layer.kernelShape[0], layer.strides[0], pt, pb, 1), window(shape[2], layer.kernelShape[1], layer.strides[1], pl, pr, 1)];
        break;
      }
      case "Flatten":
        shape = [shape.reduce((a, b) => a * b, 1)];
        break;
      case "Gemm":
        if (shape.length !== 1 || shape[0] !== layer.nIn) fail(`expects a vector of ${layer.nIn}`);
        expectLength("weight", layer.weight, layer.nOut * layer.nIn);
        expectLength("bias", layer.bias, layer.nOut);
        shape = [layer.nOut];
        break;
    }
    if (shape.some((d) => !Number.isInteger(d) || d < 1)) fail(`gives the empty shape [${shape}]`);
    shapes.push(shape);
  }
  return shapes;
}

/** The number of trained values (weights, biases, BatchNorm scales and shifts; running statistics not counted). */
export function floatGraphParameterCount(graph: FloatGraph): number {
  let count = 0;
  for (const l of graph.layers) {
    if (l.op === "Conv") count += l.weight.length + (l.bias?.length ?? 0);
    else if (l.op === "BatchNormalization") count += l.scale.length + l.bias.length;
    else if (l.op === "Gemm") count += l.weight.length + l.bias.length;
  }
  return count;
}

/** The ONNX file of `graph`, as described at the top of this module. */
export function writeFloatGraphOnnx(graph: FloatGraph): Uint8Array {
  const shapes = floatGraphShapes(graph);
  if (graph.layers.length === 0) throw new Error("a float graph needs at least one layer");
  const nodes: onnx.INodeProto[] = [];
  const initializer: onnx.ITensorProto[] = [];
  const seen = new Map<string, number>();
  let x = "input";
  graph.layers.forEach((layer, i) => {
    const base = layer.module ? `/${layer.module}/${layer.op}` : `/${layer.op}`;
    const repeat = seen.get(base) ?? 0;
    seen.set(base, repeat + 1);
    const name = repeat === 0 ? base : `${base}_${repeat}`;
    const out = i === graph.layers.length - 1 ? "output" : `${name}_output_0`;
    const init = (suffix: string, dims: readonly number[], data: Float32Array) => {
      const tensorName = `${layer.module}.${suffix}`;
      initializer.push(floatTensor(tensorName, dims, data));
      return tensorName;
    };
    switch (layer.op) {
      case "Conv": {
        const [kH, kW] = layer.kernelShape;
        const inputs = [x, init("weight", [layer.outChannels, layer.inChannels / layer.group, kH, kW], layer.weight)];
        if (layer.bias) inputs.push(init("bias", [layer.outChannels], layer.bias));
        nodes.push(
          node("Conv", name, inputs, [out], [
            attribute("dilations", [...layer.dilations]),
            attribute("group", layer.group),
            attribute("kernel_shape", [...layer.kernelShape]),
            attribute("pads", [...layer.pads]),
            attribute("strides", [...layer.strides]),
          ]),
        );
        break;
      }
      case "BatchNormalization": {
        const c = [layer.scale.length];
        const inputs = [x, init("weight", c, layer.scale), init("bias", c, layer.bias), init("running_mean", c, layer.mean), init("running_var", c, layer.variance)];
        nodes.push(node("BatchNormalization", name, inputs, [out], [attribute("epsilon", layer.epsilon, "float"), attribute("momentum", layer.momentum, "float")]));
        break;
      }
      case "Relu":
        nodes.push(node("Relu", name, [x], [out]));
        break;
      case "MaxPool":
        nodes.push(
          node("MaxPool", name, [x], [out], [
            attribute("ceil_mode", 0),
            attribute("dilations", [1, 1]),
            attribute("kernel_shape", [...layer.kernelShape]),
            attribute("pads", [...layer.pads]),
            attribute("strides", [...layer.strides]),
          ]),
        );
        break;
      case "Flatten":
        nodes.push(node("Flatten", name, [x], [out], [attribute("axis", 1)]));
        break;
      case "Gemm":
        nodes.push(
          node("Gemm", name, [x, init("weight", [layer.nOut, layer.nIn], layer.weight), init("bias", [layer.nOut], layer.bias)], [out], [
            attribute("alpha", 1, "float"),
            attribute("beta", 1, "float"),
            attribute("transB", 1),
          ]),
        );
        break;
    }
    x = out;
  });
  return encodeModel(
    {
      name: graph.name,
      node: nodes,
      initializer,
      input: [valueInfo("input", DataType.FLOAT, [1, ...graph.inputShape])],
      output: [valueInfo("output", DataType.FLOAT, [1, ...shapes[shapes.length - 1]])],
    },
    "refute-trainer",
  );
}
