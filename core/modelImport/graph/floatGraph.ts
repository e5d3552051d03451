/**
 * The float graph IR: what `readFloatGraph` makes of a float ONNX model, and what
 * `quantiseGraph` turns into an integer GraphProgram (core/graph/program.ts).
 *
 * It is the ONNX graph after normalisation: nodes in topological order over named tensors,
 * every weight a float32 constant held by its node, BatchNormalization folded into the Conv
 * before it, the HardSwish/HardSigmoid spellings recognised, shape subgraphs folded away,
 * and a final Softmax dropped. Shapes have no batch dimension (the ONNX batch of 1 is left
 * out), exactly as in the integer program: an image is [C, H, W], a vector [n]. Layout
 * arguments (perm, axis, slice axes) are relative to those batch-less shapes.
 *
 * Tensor names are the ONNX names of the tensors they came from, so a float activation can
 * be compared to the original model's and every message can name the ONNX node.
 */

export type Pair = readonly [number, number];
/** [top, left, bottom, right], ONNX's order. */
export type Pads = readonly [number, number, number, number];

/** Conv, NCHW: weight [M, C/groups, kH, kW] (row-major), bias [M]. */
export interface FloatConv {
  readonly kind: "conv";
  readonly weight: Float32Array;
  readonly weightShape: readonly [number, number, number, number];
  readonly bias: Float32Array;
  readonly strides: Pair;
  readonly pads: Pads;
  readonly dilations: Pair;
  readonly groups: number;
}

/** Gemm / MatMul on a vector: weight [nOut, nIn] output-major (alpha folded in), bias [nOut] (beta folded in). */
export interface FloatDense {
  readonly kind: "dense";
  readonly weight: Float32Array;
  readonly nIn: number;
  readonly nOut: number;
  readonly bias: Float32Array;
}

export interface FloatPool {
  readonly kind: "maxPool" | "avgPool";
  readonly kernel: Pair;
  readonly strides: Pair;
  readonly pads: Pads;
  readonly dilations: Pair;
}

export interface FloatGlobalAvgPool {
  readonly kind: "globalAvgPool";
}

/** Two activations, numpy broadcasting between equal ranks. */
export interface FloatBinary {
  readonly kind: "add" | "mul";
}

/** Relu (lo 0, hi +∞), ReLU6 (0, 6), Clip (any range; ±∞ for a missing bound). */
export interface FloatClip {
  readonly kind: "clip";
  readonly lo: number;
  readonly hi: number;
}

/** ONNX HardSigmoid: max(0, min(1, α·x + β)). */
export interface FloatHardSigmoid {
  readonly kind: "hardSigmoid";
  readonly alpha: number;
  readonly beta: number;
}

/** x · HardSigmoid_{α,β}(x) = x · max(0, min(1, α·x + β)); ONNX HardSwish is α = 1/6, β = 1/2. */
export interface FloatHardSwish {
  readonly kind: "hardSwish";
  readonly alpha: number;
  readonly beta: number;
}

export interface FloatFlatten {
  readonly kind: "flatten";
}

export interface FloatReshape {
  readonly kind: "reshape";
  readonly shape: readonly number[];
}

export interface FloatTranspose {
  readonly kind: "transpose";
  readonly perm: readonly number[];
}

export interface FloatConcat {
  readonly kind: "concat";
  readonly axis: number;
}

/** On every axis a, output index i reads input index starts[a] + i·steps[a], for i < sizes[a]. */
export interface FloatSlice {
  readonly kind: "slice";
  readonly starts: readonly number[];
  readonly steps: readonly number[];
  readonly sizes: readonly number[];
}

export type FloatOp =
  | FloatConv
  | FloatDense
  | FloatPool
  | FloatGlobalAvgPool
  | FloatBinary
  | FloatClip
  | FloatHardSigmoid
  | FloatHardSwish
  | FloatFlatten
  | FloatReshape
  | FloatTranspose
  | FloatConcat
  | FloatSlice;

export type FloatOpKind = FloatOp["kind"];

/** One node: an op, the tensors it reads and the one it writes, and the ONNX nodes it stands for. */
export type FloatNode = FloatOp & {
  /** The ONNX node names this node came from, first the main one (e.g. ["/conv1/Conv", "/bn1/BatchNormalization"]). */
  readonly sources: readonly string[];
  /** Activation tensors read, by name (the graph input or earlier outputs). */
  readonly inputs: readonly string[];
  readonly output: string;
  /** The output's shape, batch left out. */
  readonly shape: readonly number[];
};

export interface FloatGraph {
  /** The graph input: its ONNX name and its shape with the batch left out. */
  readonly input: { readonly name: string; readonly shape: readonly number[] };
  /** In topological order. */
  readonly nodes: readonly FloatNode[];
  /** The tensor the program outputs (a Softmax after it was dropped). */
  readonly output: string;
  /** What the reader changed that changes the output or drops part of the graph (a dropped Softmax). */
  readonly warnings: readonly string[];
  /** The default-domain opset the model declares. */
  readonly opset: number;
}

/** The name of the node (ONNX name) a float node stands for, for messages. */
export function nodeName(n: FloatNode): string {
  return n.sources[0];
}

/** The shape of every tensor: the input's and every node output's. */
export function tensorShapes(graph: FloatGraph): Map<string, readonly number[]> {
  const shapes = new Map<string, readonly number[]>([[graph.input.name, graph.input.shape]]);
  for (const n of graph.nodes) shapes.set(n.output, n.shape);
  return shapes;
}
