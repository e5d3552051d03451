import type { Rng } from "../../../core/rng";
import { Conv } from "./conv";
import { BatchNorm, Binary, Dense, Elementwise, Flatten, GlobalAvgPool, MaxPool, type Node } from "./layers";
import { type Param, type Scratch, type Shape, type Tensor, f32 } from "./tensor";

/**
 * A network as a DAG of named nodes (a chain is the DAG in which each node reads the one before):
 * its description, the network built from it (fresh for training, or from trained values for
 * inference), and the trained values read back out of it.
 */

/** One node of the network, in topological order; its input(s) by name ("input": the image). */
export type GraphNodeSpec =
  /**
   * A square convolution, no bias unless `bias` (one followed by BatchNorm needs none); `im2col`:
   * computed as im2col matrix products rather than direct loops (scripts/lib/training/conv.ts).
   */
  | { readonly kind: "conv"; readonly name: string; readonly input: string; readonly out: number; readonly kernel: number; readonly stride?: number; readonly pad?: number; readonly groups?: number; readonly bias?: boolean; readonly im2col?: boolean }
  | { readonly kind: "batchNorm" | "relu" | "hardSigmoid" | "globalAvgPool" | "flatten"; readonly name: string; readonly input: string }
  /** x · relu6(x + 3) / 6; `spelling` only says how the export writes it (the HardSwish op, or Add/Clip/Mul/Div). */
  | { readonly kind: "hardSwish"; readonly name: string; readonly input: string; readonly spelling: "op" | "formula" }
  /** A square max pool, no padding; stride = kernel unless given. */
  | { readonly kind: "maxPool"; readonly name: string; readonly input: string; readonly kernel: number; readonly stride?: number }
  /** add: two tensors of one shape; mul: a [C, H, W] tensor times a [C, 1, 1] gate. */
  | { readonly kind: "add" | "mul"; readonly name: string; readonly inputs: readonly [string, string] }
  | { readonly kind: "dense"; readonly name: string; readonly input: string; readonly out: number };

/** What a network is built from. */
export interface GraphNetworkConfig {
  /** [channels, height, width]. */
  readonly inputShape: readonly [number, number, number];
  /** The last node's output is the logits. */
  readonly nodes: readonly GraphNodeSpec[];
  /** PyTorch's BatchNorm momentum: running = (1 − m) · running + m · batch statistic. */
  readonly bnMomentum: number;
  readonly bnEpsilon: number;
}

/** A node's trained values: conv `weight` ([out, in/groups, k, k]) and `bias`; batchNorm `scale`, `bias`, `mean`, `variance`; dense `weight` ([out, in]) and `bias`. */
export interface TrainedNode {
  readonly spec: GraphNodeSpec;
  /** The channels of its (first) input; for a dense node, the length of the vector it reads. */
  readonly inChannels: number;
  readonly values: Readonly<Record<string, Float32Array>>;
}

export interface TrainedGraph {
  readonly inputShape: readonly [number, number, number];
  readonly nodes: readonly TrainedNode[];
  readonly bnEpsilon: number;
}

const inputsOf = (spec: GraphNodeSpec): readonly string[] => ("inputs" in spec ? spec.inputs : [spec.input]);

/** Nodes in order over values: value 0 the input image, value k + 1 node k's output. */
export class Network {
  /** For each node, the value ids it reads. */
  readonly reads: number[][];
  /** For each value, whether several nodes read it (its gradient is then their gradients' sum, in a buffer of its own). */
  private readonly shared: boolean[];
  private readonly grads: Scratch<Float32Array>[];

  constructor(
    readonly inputShape: Shape,
    readonly specs: readonly GraphNodeSpec[],
    readonly nodes: readonly Node[],
  ) {
    const ids = new Map<string, number>([["input", 0]]);
    this.reads = specs.map((spec, k) => {
      const reads = inputsOf(spec).map((name) => {
        const id = ids.get(name);
        if (id === undefined) throw new Error(`node ${spec.name} reads ${name}, which no earlier node makes`);
        return id;
      });
      if (ids.has(spec.name)) throw new Error(`two nodes are named ${spec.name}`);
      ids.set(spec.name, k + 1);
      return reads;
    });
    const readers = this.reads.flat().reduce((n, v) => n.set(v, (n.get(v) ?? 0) + 1), new Map<number, number>());
    this.shared = [0, ...specs.map((_, k) => k + 1)].map((v) => (readers.get(v) ?? 0) > 1);
    this.grads = specs.map(() => f32());
  }

  get params(): Param[] {
    return this.nodes.flatMap((n) => n.params);
  }

  forward(x: Tensor, training: boolean): Tensor {
    const values = [x];
    this.nodes.forEach((node, k) => values.push(node.forward(this.reads[k].map((v) => values[v]), training)));
    return values[values.length - 1];
  }

  /**
   * Back-propagates `dLogits`; a value read by several nodes sums their gradients, latest node first.
   * A value read by one node takes its gradient as that node returns it (no node changes a gradient
   * it is given, and a node's buffers are written again only by its next backward pass).
   */
  backward(dLogits: Tensor): void {
    const grads: (Tensor | undefined)[] = [];
    grads[this.nodes.length] = dLogits;
    for (let k = this.nodes.length - 1; k >= 0; k--) {
      const dy = grads[k + 1];
      if (!dy) continue;
      const reads = this.reads[k];
      const back = this.nodes[k].backward(
        dy,
        reads.map((v) => v > 0),
      );
      back.forEach((g, i) => {
        const v = reads[i];
        if (!g || v === 0) return;
        const held = grads[v];
        if (held) {
          const [into, add] = [held.data, g.data];
          for (let j = 0; j < into.length; j++) into[j] += add[j];
        } else if (this.shared[v]) {
          // A copy of its own to add the other readers' gradients into: the one given may be another value's too (Add hands its gradient to both inputs).
          const copy = this.grads[v - 1].get(g.data.length);
          copy.set(g.data);
          grads[v] = { ...g, data: copy };
        } else grads[v] = g;
      });
    }
  }
}

function buildNetwork(config: GraphNetworkConfig, make: (spec: GraphNodeSpec, shape: Shape) => Node): Network {
  const [c, h, w] = config.inputShape;
  const shapes: Shape[] = [{ c, h, w }];
  const ids = new Map<string, number>([["input", 0]]);
  const nodes = config.nodes.map((spec, k) => {
    const ins = inputsOf(spec).map((name) => shapes[ids.get(name) ?? -1]);
    if (ins.some((s) => !s)) throw new Error(`node ${spec.name} reads a value no earlier node makes`);
    const node = make(spec, ins[0]);
    const shape = node.outShape(ins);
    if (shape.h < 1 || shape.w < 1) throw new Error(`node ${spec.name} leaves an empty image`);
    shapes.push(shape);
    ids.set(spec.name, k + 1);
    return node;
  });
  return new Network({ c, h, w }, config.nodes, nodes);
}

/** A node from its spec and (for weighted nodes) its values. */
function nodeOf(spec: GraphNodeSpec, input: Shape, config: Pick<GraphNetworkConfig, "bnMomentum" | "bnEpsilon">, v: (name: string, n: number) => Float32Array, bias: (n: number) => Float32Array | undefined): Node {
  switch (spec.kind) {
    case "conv": {
      const groups = spec.groups ?? 1;
      return new Conv(input.c, spec.out, spec.kernel, spec.stride ?? 1, spec.pad ?? 0, groups, v("weight", (spec.out * input.c * spec.kernel * spec.kernel) / groups), spec.bias ? bias(spec.out) : undefined, spec.im2col);
    }
    case "batchNorm":
      return new BatchNorm(v("scale", input.c), v("bias", input.c), v("mean", input.c), v("variance", input.c), config.bnMomentum, config.bnEpsilon);
    case "relu":
    case "hardSwish":
    case "hardSigmoid":
      return new Elementwise(spec.kind);
    case "maxPool":
      return new MaxPool(spec.kernel, spec.stride ?? spec.kernel);
    case "globalAvgPool":
      return new GlobalAvgPool();
    case "add":
    case "mul":
      return new Binary(spec.kind);
    case "flatten":
      return new Flatten();
    case "dense": {
      const nIn = input.c * input.h * input.w;
      return new Dense(nIn, spec.out, v("weight", spec.out * nIn), v("bias", spec.out));
    }
  }
}

/** A fresh network: He-normal Conv and Dense weights (fan-in per group), zero biases, BatchNorm scale 1, shift 0, running variance 1. */
export function initialNetwork(config: GraphNetworkConfig, rng: Rng): Network {
  return buildNetwork(config, (spec, input) => {
    const fanIn = spec.kind === "conv" ? (input.c / (spec.groups ?? 1)) * spec.kernel * spec.kernel : input.c * input.h * input.w;
    const v = (name: string, n: number) => {
      if (name === "weight") return Float32Array.from({ length: n }, () => rng.normal() * Math.sqrt(2 / fanIn));
      return new Float32Array(n).fill(name === "scale" || name === "variance" ? 1 : 0);
    };
    return nodeOf(spec, input, config, v, (n) => new Float32Array(n));
  });
}

/** The network of trained values (copies), for inference. */
export function networkOf(graph: TrainedGraph): Network {
  const byName = new Map(graph.nodes.map((n) => [n.spec.name, n.values]));
  return buildNetwork({ inputShape: graph.inputShape, nodes: graph.nodes.map((n) => n.spec), bnMomentum: 0, bnEpsilon: graph.bnEpsilon }, (spec, input) => {
    const values = byName.get(spec.name)!;
    const v = (name: string, n: number) => {
      const a = values[name];
      if (!a || a.length !== n) throw new Error(`node ${spec.name}: ${name} has ${a?.length ?? 0} values, needs ${n}`);
      return a.slice();
    };
    return nodeOf(spec, input, { bnMomentum: 0, bnEpsilon: graph.bnEpsilon }, v, (n) => v("bias", n));
  });
}

/** The trained values of `net` (copies), each with its node's spec. */
export function trainedGraph(net: Network, config: GraphNetworkConfig): TrainedGraph {
  const shapes: Shape[] = [{ c: config.inputShape[0], h: config.inputShape[1], w: config.inputShape[2] }];
  net.nodes.forEach((node, k) => {
    const shape = node.outShape(net.reads[k].map((v) => shapes[v]));
    shapes.push(shape);
  });
  return {
    inputShape: config.inputShape,
    bnEpsilon: config.bnEpsilon,
    nodes: net.nodes.map((node, k) => {
      const input = shapes[net.reads[k][0]];
      return { spec: net.specs[k], inChannels: config.nodes[k].kind === "dense" ? input.c * input.h * input.w : input.c, values: node.values() };
    }),
  };
}

/** Trained values: Conv and Dense weights and biases, BatchNorm scales and shifts (running statistics not counted). */
export function graphParameterCount(graph: TrainedGraph): number {
  let n = 0;
  for (const node of graph.nodes) {
    for (const [name, a] of Object.entries(node.values)) if (name !== "mean" && name !== "variance") n += a.length;
  }
  return n;
}
