import { type FloatGraph, type FloatGraphLayer, floatGraphShapes } from "../../core/onnx/floatGraphWriter";
import { graphAccuracy, predictGraph } from "./training/evaluate";
import type { GraphNodeSpec, TrainedGraph } from "./training/network";
import { type EpochStats, type GraphTrainingConfig, type Sample, trainGraph } from "./training/train";

/**
 * The convolutional MNIST reference model's trainer (models/mnist-cnn): a chain of layers (Conv,
 * BatchNorm, ReLU, MaxPool, Flatten, Dense) trained by the graph trainer (scripts/lib/training),
 * and the trained chain as the FloatGraph that core/onnx/floatGraphWriter.ts writes, and back (to
 * run a file's graph with the trainer's own forward pass).
 *
 * The chain's convolutions are im2col matrix products: the order the committed model's gradients
 * were summed in, so that the script trains it again bit for bit.
 */

export type { EpochStats, Sample };

/** One layer of the network, in order; the first takes the [C, H, W] input image. */
export type LayerSpec =
  /** A square convolution; `bias` false (the default) for one followed by BatchNorm, whose shift makes a bias redundant. */
  | { readonly kind: "conv"; readonly name: string; readonly out: number; readonly kernel: number; readonly stride?: number; readonly pad?: number; readonly bias?: boolean }
  | { readonly kind: "batchnorm"; readonly name: string }
  | { readonly kind: "relu"; readonly name: string }
  /** A square max pool, no padding; stride = kernel unless given. */
  | { readonly kind: "maxpool"; readonly name: string; readonly kernel: number; readonly stride?: number }
  | { readonly kind: "flatten"; readonly name: string }
  | { readonly kind: "dense"; readonly name: string; readonly out: number };

/** The graph trainer's configuration with the network as a chain of layers. */
export type CnnTrainingConfig = Omit<GraphTrainingConfig, "nodes"> & { readonly layers: readonly LayerSpec[] };

export interface TrainedCnn {
  readonly graph: FloatGraph;
  readonly history: readonly EpochStats[];
}

/**
 * Trains the chain on `samples` and returns it as a float graph named `name`, with the epochs'
 * statistics. `onEpoch` is called after each epoch with the statistics and the graph so far (for
 * progress lines and held-out checks; it must not change the graph).
 */
export function trainCnn(samples: readonly Sample[], config: CnnTrainingConfig, name: string, onEpoch: (stats: EpochStats, graph: () => FloatGraph) => void = () => {}): TrainedCnn {
  const { layers, ...settings } = config;
  const floatGraph = (graph: TrainedGraph) => floatGraphOf(graph, name, config.bnMomentum);
  const { graph, history } = trainGraph(samples, { ...settings, nodes: chainNodes(layers) }, (stats, graphSoFar) => onEpoch(stats, () => floatGraph(graphSoFar())));
  return { graph: floatGraph(graph), history };
}

/** The logits of each input under `graph` (BatchNorm with its running statistics): the trainer's own float forward pass. */
export function predict(graph: FloatGraph, inputs: readonly ArrayLike<number>[], batchSize = 100): Float32Array[] {
  return predictGraph(trainedChainOf(graph), inputs, batchSize);
}

/** The fraction of `samples` that `graph` classifies right (the lowest index wins a tie). */
export function accuracy(graph: FloatGraph, samples: readonly Sample[]): number {
  return graphAccuracy(trainedChainOf(graph), samples);
}

/** The chain as graph nodes, each reading the one before. */
function chainNodes(layers: readonly LayerSpec[]): GraphNodeSpec[] {
  return layers.map((l, i): GraphNodeSpec => {
    const input = i === 0 ? "input" : layers[i - 1].name;
    switch (l.kind) {
      case "conv":
        return { kind: "conv", name: l.name, input, out: l.out, kernel: l.kernel, stride: l.stride, pad: l.pad, bias: l.bias, im2col: true };
      case "batchnorm":
        return { kind: "batchNorm", name: l.name, input };
      case "maxpool":
        return { kind: "maxPool", name: l.name, input, kernel: l.kernel, stride: l.stride };
      case "relu":
      case "flatten":
        return { kind: l.kind, name: l.name, input };
      case "dense":
        return { kind: "dense", name: l.name, input, out: l.out };
    }
  });
}

/** The float graph of a trained chain: each node as the layer PyTorch's exporter writes for its module. */
function floatGraphOf(graph: TrainedGraph, name: string, bnMomentum: number): FloatGraph {
  const layers = graph.nodes.map(({ spec, inChannels, values }): FloatGraphLayer => {
    const module = spec.name;
    switch (spec.kind) {
      case "conv": {
        const { kernel: k, stride: s = 1, pad: p = 0 } = spec;
        return {
          op: "Conv",
          module,
          inChannels,
          outChannels: spec.out,
          kernelShape: [k, k],
          strides: [s, s],
          pads: [p, p, p, p],
          dilations: [1, 1],
          group: 1,
          weight: values.weight,
          ...(values.bias ? { bias: values.bias } : {}),
        };
      }
      case "batchNorm":
        return {
          op: "BatchNormalization",
          module,
          scale: values.scale,
          bias: values.bias,
          mean: values.mean,
          variance: values.variance,
          // As the file stores them (float32 attributes), so that inference here and in onnxruntime use one epsilon.
          epsilon: Math.fround(graph.bnEpsilon),
          momentum: Math.fround(1 - bnMomentum),
        };
      case "relu":
        return { op: "Relu", module };
      case "maxPool": {
        const { kernel: k, stride: s = k } = spec;
        return { op: "MaxPool", module, kernelShape: [k, k], strides: [s, s], pads: [0, 0, 0, 0] };
      }
      case "flatten":
        return { op: "Flatten", module };
      case "dense":
        return { op: "Gemm", module, nIn: inChannels, nOut: spec.out, weight: values.weight, bias: values.bias };
      default:
        throw new Error(`node ${module}: a ${spec.kind} node is not a layer of the chain`);
    }
  });
  return { name, inputShape: [...graph.inputShape] as [number, number, number], layers };
}

/** The trained chain of a float graph, as the trainer writes them (square kernels, strides and pads, one group, unpadded pools, one BatchNorm epsilon). */
function trainedChainOf(graph: FloatGraph): TrainedGraph {
  const shapes = floatGraphShapes(graph); // checks every size
  const layers = graph.layers.map((l): LayerSpec => {
    const unsupported = (what: string): never => {
      throw new Error(`layer ${l.module} (${l.op}): ${what} is not supported by the trainer`);
    };
    const name = l.module;
    switch (l.op) {
      case "Conv": {
        const [k, kW] = l.kernelShape;
        const [s, sW] = l.strides;
        const [p] = l.pads;
        if (k !== kW || s !== sW || l.pads.some((v) => v !== p)) unsupported("a non-square kernel, stride or padding");
        if (l.group !== 1 || l.dilations.some((d) => d !== 1)) unsupported("a grouped or dilated convolution");
        return { kind: "conv", name, out: l.outChannels, kernel: k, stride: s, pad: p, bias: l.bias !== undefined };
      }
      case "BatchNormalization":
        return { kind: "batchnorm", name };
      case "Relu":
        return { kind: "relu", name };
      case "MaxPool":
        if (l.kernelShape[0] !== l.kernelShape[1] || l.strides[0] !== l.strides[1] || l.pads.some((v) => v !== 0)) unsupported("a non-square or padded pool");
        return { kind: "maxpool", name, kernel: l.kernelShape[0], stride: l.strides[0] };
      case "Flatten":
        return { kind: "flatten", name };
      case "Gemm":
        return { kind: "dense", name, out: l.nOut };
    }
  });
  const epsilons = new Set(graph.layers.flatMap((l) => (l.op === "BatchNormalization" ? [l.epsilon] : [])));
  if (epsilons.size > 1) throw new Error("the trainer runs one BatchNorm epsilon for the whole network");
  const nodes = chainNodes(layers).map((spec, i) => {
    const l = graph.layers[i];
    const input = i === 0 ? graph.inputShape : shapes[i - 1];
    const values: Record<string, Float32Array> = l.op === "Conv" ? { weight: l.weight, ...(l.bias ? { bias: l.bias } : {}) } : l.op === "BatchNormalization" ? { scale: l.scale, bias: l.bias, mean: l.mean, variance: l.variance } : l.op === "Gemm" ? { weight: l.weight, bias: l.bias } : {};
    return { spec, inChannels: l.op === "Gemm" ? l.nIn : input[0], values };
  });
  return { inputShape: graph.inputShape, nodes, bnEpsilon: [...epsilons][0] ?? 0 };
}
