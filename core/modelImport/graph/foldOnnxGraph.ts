import { UnsupportedModelError } from "../../onnx/floatModel";
import { DataType, OnnxFormatError, onnx, toNumber } from "../../onnx/onnxProto";
import {
  type ConstTensor,
  binaryConst,
  broadcastDims,
  concatConst,
  constFromProto,
  constTensor,
  flattenDims,
  gatherConst,
  intList,
  normaliseAxis,
  resolveReshape,
  resolveSlice,
  sizeOfDims,
  sliceConst,
  squeezeDims,
  stridesOfDims,
  transposeConst,
  unsqueezeDims,
} from "./constTensors";
import type { Pads, Pair } from "./floatGraph";
import type { RawGraph, RawNode, RawOp } from "./rawNodes";

/**
 * The first reading pass over a float ONNX graph, for one fixed input shape with a batch of 1:
 * every tensor is either a constant (an initializer, a `Constant` node, or a node whose inputs
 * are all constants — this folds shape subgraphs such as Shape → Gather → Unsqueeze → Concat
 * → Reshape) or an activation with a known shape. Activation nodes become raw nodes
 * (rawNodes.ts) with their constant operands resolved and their layout arguments made
 * batch-less; Identity, Dropout and a Cast to float become aliases. Both opset spellings of
 * Clip, Slice, Squeeze and Unsqueeze are read (attributes before opset 10–13, inputs after).
 */

/** The ONNX ops the float importer reads; the refusal of any other op lists them. */
export const SUPPORTED_GRAPH_OPS = [
  "Conv",
  "BatchNormalization",
  "Relu",
  "Clip",
  "HardSigmoid",
  "HardSwish",
  "MaxPool",
  "AveragePool",
  "GlobalAveragePool",
  "GlobalMaxPool",
  "Add",
  "Sub",
  "Mul",
  "Div",
  "Gemm",
  "MatMul",
  "Flatten",
  "Reshape",
  "Squeeze",
  "Unsqueeze",
  "Transpose",
  "Concat",
  "Slice",
  "Softmax",
  "LogSoftmax",
  "Identity",
  "Dropout",
  "Constant",
  "Shape",
  "Gather",
  "Cast",
  "ConstantOfShape",
  "Range",
] as const;

/** Ops that are evaluated when all their inputs are constants (shape subgraphs, weight preprocessing). */
const FOLDABLE = new Set([
  "Identity",
  "Cast",
  "Shape",
  "Gather",
  "Slice",
  "Concat",
  "Unsqueeze",
  "Squeeze",
  "Reshape",
  "Flatten",
  "Transpose",
  "Add",
  "Sub",
  "Mul",
  "Div",
  "ConstantOfShape",
  "Range",
]);

/** Ops that only shape subgraphs use: on an activation they are refused. */
const SHAPE_ONLY = new Set(["Gather", "ConstantOfShape", "Range", "Shape"]);

type Value = { readonly kind: "const"; readonly t: ConstTensor } | { readonly kind: "act"; readonly dims: readonly number[] } | { readonly kind: "unused"; readonly by: string };

const A = onnx.AttributeProto.AttributeType;

export interface FoldOptions {
  /** The input's shape after the batch, when the model leaves dimensions symbolic (or to check the declared one). */
  readonly inputShape?: readonly number[];
}

export function foldOnnxGraph(model: onnx.ModelProto, options: FoldOptions = {}): RawGraph {
  const graph = model.graph!;
  const opset = toNumber((model.opsetImport ?? []).find((o) => !o.domain || o.domain === "ai.onnx")?.version ?? 0);
  const env = new Map<string, Value>();
  const alias = new Map<string, string>();
  const resolve = (name: string): string => alias.get(name) ?? name;
  for (const t of graph.initializer ?? []) {
    try {
      env.set(t.name ?? "", { kind: "const", t: constFromProto(t) });
    } catch (err) {
      throw new OnnxFormatError(`initializer ${t.name}: ${(err as Error).message}`);
    }
  }

  // The one data input and its shape for batch 1.
  const dataInputs = (graph.input ?? []).filter((v) => !env.has(v.name ?? ""));
  if (dataInputs.length !== 1) throw new OnnxFormatError(`float model: expected one graph input (besides initializers), found ${dataInputs.length}: [${dataInputs.map((v) => v.name)}]`);
  const inputInfo = dataInputs[0];
  const inputName = inputInfo.name ?? "";
  const tensorType = inputInfo.type?.tensorType;
  if (tensorType?.elemType !== DataType.FLOAT) throw new OnnxFormatError(`float model: input ${inputName} must be float32, has element type ${tensorType?.elemType}`);
  const inputDims = inputDimsOf(inputName, tensorType.shape?.dim ?? [], options.inputShape);
  env.set(inputName, { kind: "act", dims: inputDims });

  const nodes: RawNode[] = [];
  const warnings: string[] = [];
  for (const n of graph.node ?? []) {
    const opType = n.opType ?? "";
    const outputs = n.output ?? [];
    const name = n.name || `${opType}(${outputs.join(",")})`;
    const fail = (problem: string): never => {
      throw new UnsupportedModelError(name, problem.startsWith("op ") ? problem : `op ${opType}: ${problem}`);
    };
    if (n.domain && n.domain !== "ai.onnx") fail(`op ${n.domain}.${opType} is not supported (only the default ONNX domain; supported: ${SUPPORTED_GRAPH_OPS.join(", ")})`);
    const values = (n.input ?? []).map((t): Value | undefined => {
      if (t === "") return undefined;
      const v = env.get(resolve(t));
      if (!v) return fail(`reads tensor ${t}, which no earlier node, initializer or graph input produces (nodes must be in topological order)`);
      if (v.kind === "unused") return fail(`reads ${t}, an extra output of node ${v.by}, which the importer does not compute`);
      return v;
    });
    const ctx = new NodeContext(n, opType, values, fail, inputDims);
    const setExtraOutputsUnused = (from: number) => outputs.slice(from).forEach((o) => o && env.set(o, { kind: "unused", by: name }));

    if (opType === "Constant") {
      env.set(outputs[0], { kind: "const", t: ctx.constantNode() });
      continue;
    }
    const allConst = values.every((v) => v === undefined || v.kind === "const") && values.some((v) => v !== undefined);
    if (allConst && FOLDABLE.has(opType)) {
      let folded: ConstTensor;
      try {
        folded = ctx.fold();
      } catch (err) {
        if (err instanceof UnsupportedModelError) throw err;
        return fail(`cannot fold op ${opType} on constants: ${(err as Error).message}`);
      }
      env.set(outputs[0], { kind: "const", t: folded });
      continue;
    }
    if (opType === "Shape") {
      env.set(outputs[0], { kind: "const", t: ctx.shapeOf((values[0] as { dims: readonly number[] }).dims) });
      continue;
    }
    if (!(SUPPORTED_GRAPH_OPS as readonly string[]).includes(opType)) fail(`op ${opType} is not supported (supported: ${SUPPORTED_GRAPH_OPS.join(", ")})`);
    if (allConst) fail(`op ${opType} on constant inputs only cannot be folded`);
    if (SHAPE_ONLY.has(opType)) {
      const act = (n.input ?? []).find((_, i) => values[i]?.kind === "act");
      fail(`op ${opType} reads the activation ${act}: it is supported only in shape subgraphs that fold to constants for the input shape [${inputDims.slice(1)}]`);
    }
    if (opType === "Identity" || opType === "Dropout" || opType === "Cast") {
      if (opType === "Cast" && !isFloatType(ctx.intAttr("to", 0))) fail(`op Cast to data type ${ctx.intAttr("to", 0)} on an activation is not supported (only to float)`);
      if (opType === "Dropout" && values[2]?.kind === "const" && values[2].t.data[0] !== 0) fail("training mode is not supported");
      alias.set(outputs[0], resolve(n.input![0]));
      setExtraOutputsUnused(1);
      continue;
    }
    const { op, dims } = ctx.activationOp();
    const inputs = (n.input ?? []).filter((t, i) => t !== "" && values[i]?.kind === "act").map(resolve);
    if (dims[0] !== 1 || dims.length < 2) fail(`its output [${dims}] does not keep the batch of 1 as its first dimension`);
    if (dims.some((d) => !Number.isInteger(d) || d < 1)) fail(`its output shape [${dims}] is empty`);
    nodes.push({ ...op, sources: [name], opType, inputs, output: outputs[0], shape: dims.slice(1) } as RawNode);
    env.set(outputs[0], { kind: "act", dims });
    setExtraOutputsUnused(1);
  }

  const graphOutputs = graph.output ?? [];
  if (graphOutputs.length !== 1) throw new OnnxFormatError(`float model: expected one graph output, found ${graphOutputs.length}: [${graphOutputs.map((o) => o.name)}]`);
  const output = resolve(graphOutputs[0].name ?? "");
  const v = env.get(output);
  if (!v || v.kind !== "act") throw new OnnxFormatError(`float model: the graph output ${graphOutputs[0].name} is ${v ? "a constant" : "never produced"}`);
  if (output === inputName) throw new OnnxFormatError(`float model: the graph output ${graphOutputs[0].name} is the input itself`);
  return { input: { name: inputName, shape: inputDims.slice(1) }, nodes, output, opset, warnings };
}

/** The input's dimensions with the batch set to 1, from the declaration and the caller's shape. */
function inputDimsOf(name: string, declared: onnx.TensorShapeProto.IDimension[], given: readonly number[] | undefined): number[] {
  const dims = declared.map((d) => (d.dimParam ? d.dimParam : toNumber(d.dimValue) > 0 ? toNumber(d.dimValue) : "?"));
  if (dims.length < 2) throw new OnnxFormatError(`float model: input ${name} must be [batch, …], declared [${dims}]`);
  if (typeof dims[0] === "number" && dims[0] !== 1) throw new OnnxFormatError(`float model: input ${name} declares a fixed batch of ${dims[0]}; the importer reads the model for a batch of 1`);
  if (given) {
    if (given.length !== dims.length - 1 || !given.every((d) => Number.isInteger(d) && d > 0)) {
      throw new OnnxFormatError(`float model: the input shape [${given}] does not fit input ${name} declared [${dims}] (give the shape without the batch)`);
    }
    dims.slice(1).forEach((d, a) => {
      if (typeof d === "number" && d !== given[a]) throw new OnnxFormatError(`float model: input ${name} declares ${d} at axis ${a + 1}, the given input shape has ${given[a]}`);
    });
    return [1, ...given];
  }
  const symbolic = dims.slice(1).findIndex((d) => typeof d !== "number");
  if (symbolic >= 0) {
    throw new OnnxFormatError(
      `float model: input ${name} has the dynamic dimension ${JSON.stringify(dims[symbolic + 1])} at axis ${symbolic + 1} ([${dims}]); the shape subgraphs fold only for a fixed input shape: give it (without the batch)`,
    );
  }
  return [1, ...(dims.slice(1) as number[])];
}

function isFloatType(t: number): boolean {
  return t === DataType.FLOAT || t === DataType.DOUBLE || t === DataType.FLOAT16 || t === DataType.BFLOAT16;
}

/** One node's inputs and attributes, and what it computes: a folded constant or an activation op. */
class NodeContext {
  constructor(
    private readonly n: onnx.INodeProto,
    private readonly opType: string,
    private readonly values: (Value | undefined)[],
    readonly fail: (problem: string) => never,
    private readonly inputDims: readonly number[],
  ) {}

  private attr(name: string): onnx.IAttributeProto | undefined {
    return (this.n.attribute ?? []).find((a) => a.name === name);
  }

  intAttr(name: string, fallback: number): number {
    const a = this.attr(name);
    return a ? toNumber(a.i) : fallback;
  }

  floatAttr(name: string, fallback: number): number {
    const a = this.attr(name);
    return a ? (a.type === A.INT ? toNumber(a.i) : (a.f ?? fallback)) : fallback;
  }

  intsAttr(name: string): number[] | undefined {
    const a = this.attr(name);
    return a ? (a.ints ?? []).map(toNumber) : undefined;
  }

  stringAttr(name: string, fallback: string): string {
    const a = this.attr(name);
    return a?.s ? Buffer.from(a.s).toString("utf8") : fallback;
  }

  private input(i: number): Value | undefined {
    return this.values[i];
  }

  private inputName(i: number): string {
    return (this.n.input ?? [])[i] ?? "";
  }

  /** Input i as a constant (undefined when absent); refused when it is an activation. */
  private constInput(i: number, what: string): ConstTensor | undefined {
    const v = this.input(i);
    if (!v) return undefined;
    if (v.kind !== "const") return this.fail(`its ${what} (${this.inputName(i)}) must be a constant, but it depends on the input's values and does not fold to one for the input shape [${this.inputDims.slice(1)}]`);
    return v.t;
  }

  private requiredConst(i: number, what: string): ConstTensor {
    return this.constInput(i, what) ?? this.fail(`its ${what} (input ${i}) is missing`);
  }

  private act(i: number): readonly number[] {
    const v = this.input(i);
    if (!v || v.kind !== "act") return this.fail(`input ${i} (${this.inputName(i) || "missing"}) must be an activation`);
    return v.dims;
  }

  private constAt(i: number): ConstTensor {
    return (this.input(i) as { t: ConstTensor }).t;
  }

  /** An integer list given as attribute `attr` (older opsets) or as input `index` (newer ones). */
  private listArg(attr: string, index: number, what: string): number[] | undefined {
    const fromAttr = this.intsAttr(attr);
    if (fromAttr) return fromAttr;
    const c = this.constInput(index, what);
    return c ? intList(c) : undefined;
  }

  constantNode(): ConstTensor {
    const attrs = this.n.attribute ?? [];
    const a = attrs[0];
    if (!a) return this.fail("Constant without a value");
    try {
      switch (a.name) {
        case "value":
          return constFromProto(a.t!);
        case "value_float":
          return constTensor("float", [], [a.f ?? 0]);
        case "value_floats":
          return constTensor("float", [(a.floats ?? []).length], a.floats ?? []);
        case "value_int":
          return constTensor("int", [], [toNumber(a.i)]);
        case "value_ints":
          return constTensor("int", [(a.ints ?? []).length], (a.ints ?? []).map(toNumber));
      }
    } catch (err) {
      return this.fail((err as Error).message);
    }
    return this.fail(`Constant with attribute ${a.name} is not supported`);
  }

  shapeOf(dims: readonly number[]): ConstTensor {
    const r = dims.length;
    const clampAxis = (a: number) => Math.min(Math.max(a < 0 ? a + r : a, 0), r);
    const start = clampAxis(this.intAttr("start", 0));
    const end = clampAxis(this.intAttr("end", r));
    const out = dims.slice(start, Math.max(start, end));
    return constTensor("int", [out.length], out);
  }

  /** Evaluates the node on constant inputs. */
  fold(): ConstTensor {
    const x = this.constAt(0);
    switch (this.opType) {
      case "Identity":
        return x;
      case "Cast":
        return isFloatType(this.intAttr("to", 0)) ? { ...x, dtype: "float" } : { dtype: "int", dims: x.dims, data: x.data.map((v) => (this.intAttr("to", 0) === DataType.BOOL ? (v !== 0 ? 1 : 0) : Math.trunc(v))) };
      case "Shape":
        return this.shapeOf(x.dims);
      case "Gather":
        return gatherConst(x, this.requiredConst(1, "indices"), this.intAttr("axis", 0));
      case "Slice":
        return sliceConst(x, this.sliceSpec(x.dims));
      case "Concat":
        return concatConst(
          this.values.filter((v): v is Value => v !== undefined).map((v) => (v as { t: ConstTensor }).t),
          this.intAttr("axis", 0),
        );
      case "Unsqueeze":
        return { ...x, dims: unsqueezeDims(x.dims, this.listArg("axes", 1, "axes") ?? this.fail("Unsqueeze without axes")) };
      case "Squeeze":
        return { ...x, dims: squeezeDims(x.dims, this.listArg("axes", 1, "axes")) };
      case "Reshape":
        return { ...x, dims: resolveReshape(x.dims, intList(this.requiredConst(1, "shape")), this.intAttr("allowzero", 0) === 1) };
      case "Flatten":
        return { ...x, dims: flattenDims(x.dims, this.intAttr("axis", 1)) };
      case "Transpose":
        return transposeConst(x, this.intsAttr("perm") ?? x.dims.map((_, a) => x.dims.length - 1 - a));
      case "Add":
        return binaryConst(x, this.requiredConst(1, "second operand"), (a, b) => a + b);
      case "Sub":
        return binaryConst(x, this.requiredConst(1, "second operand"), (a, b) => a - b);
      case "Mul":
        return binaryConst(x, this.requiredConst(1, "second operand"), (a, b) => a * b);
      case "Div":
        return binaryConst(x, this.requiredConst(1, "second operand"), (a, b) => a / b);
      case "ConstantOfShape": {
        const dims = intList(x);
        const a = this.attr("value");
        const v = a?.t ? constFromProto(a.t) : constTensor("float", [1], [0]);
        return constTensor(v.dtype, dims, new Float64Array(sizeOfDims(dims)).fill(v.data[0]));
      }
      case "Range": {
        const [start, limit, delta] = [0, 1, 2].map((i) => this.requiredConst(i, ["start", "limit", "delta"][i]).data[0]);
        const count = Math.max(0, Math.ceil((limit - start) / delta));
        return constTensor(x.dtype, [count], Array.from({ length: count }, (_, i) => start + i * delta));
      }
    }
    return this.fail(`op ${this.opType} cannot be folded`);
  }

  private sliceSpec(dims: readonly number[]) {
    const starts = this.listArg("starts", 1, "starts") ?? this.fail("Slice without starts");
    const ends = this.listArg("ends", 2, "ends") ?? this.fail("Slice without ends");
    const axes = this.listArg("axes", 3, "axes");
    const steps = this.intsAttr("starts") ? undefined : this.listArg("steps", 4, "steps");
    try {
      return resolveSlice(dims, starts, ends, axes, steps);
    } catch (err) {
      return this.fail((err as Error).message);
    }
  }

  /** The activation op of this node and its output shape (batch included). */
  activationOp(): { op: RawOp; dims: number[] } {
    const guard = <T>(f: () => T): T => {
      try {
        return f();
      } catch (err) {
        if (err instanceof UnsupportedModelError) throw err;
        return this.fail((err as Error).message);
      }
    };
    return guard(() => this.activationOpUnguarded());
  }

  private activationOpUnguarded(): { op: RawOp; dims: number[] } {
    const same = (op: RawOp) => ({ op, dims: [...this.act(0)] });
    switch (this.opType) {
      case "Conv":
        return this.conv();
      case "MaxPool":
      case "AveragePool":
        return this.pool();
      case "GlobalAveragePool": {
        const x = this.image();
        return { op: { kind: "globalAvgPool" }, dims: [1, x[1], 1, 1] };
      }
      case "GlobalMaxPool": {
        const x = this.image();
        return { op: { kind: "maxPool", kernel: [x[2], x[3]], strides: [1, 1], pads: [0, 0, 0, 0], dilations: [1, 1] }, dims: [1, x[1], 1, 1] };
      }
      case "Gemm":
        return this.gemm();
      case "MatMul":
        return this.matMul();
      case "Add":
      case "Sub":
      case "Mul":
      case "Div":
        return this.binary();
      case "Relu":
        return same({ kind: "clip", lo: 0, hi: Infinity });
      case "Clip": {
        const bound = (attr: string, i: number, fallback: number) => {
          if (this.attr(attr)) return this.floatAttr(attr, fallback);
          const c = this.constInput(i, attr);
          return c ? (c.data[0] ?? fallback) : fallback;
        };
        return same({ kind: "clip", lo: bound("min", 1, -Infinity), hi: bound("max", 2, Infinity) });
      }
      case "HardSigmoid":
        return same({ kind: "hardSigmoid", alpha: this.floatAttr("alpha", 0.2), beta: this.floatAttr("beta", 0.5) });
      case "HardSwish":
        return same({ kind: "hardSwish", alpha: 1 / 6, beta: 0.5 });
      case "Softmax":
      case "LogSoftmax":
        return same({ kind: "softmax" });
      case "BatchNormalization":
        return this.batchNorm();
      case "Flatten": {
        const out = flattenDims(this.act(0), this.intAttr("axis", 1));
        if (out[0] !== 1) this.fail(`axis ${this.intAttr("axis", 1)} would fold the batch into another dimension`);
        return { op: { kind: "flatten" }, dims: out };
      }
      case "Reshape":
        return this.reshapeTo(resolveReshape(this.act(0), intList(this.requiredConst(1, "shape")), this.intAttr("allowzero", 0) === 1));
      case "Squeeze":
        return this.reshapeTo(squeezeDims(this.act(0), this.listArg("axes", 1, "axes")));
      case "Unsqueeze":
        return this.reshapeTo(unsqueezeDims(this.act(0), this.listArg("axes", 1, "axes") ?? this.fail("Unsqueeze without axes")));
      case "Transpose": {
        const x = this.act(0);
        const perm = (this.intsAttr("perm") ?? x.map((_, a) => x.length - 1 - a)).map((p) => normaliseAxis(p, x.length));
        if (perm.length !== x.length || new Set(perm).size !== x.length) this.fail(`perm [${perm}] is not a permutation of the ${x.length} axes`);
        if (perm[0] !== 0) this.fail(`perm [${perm}] moves the batch dimension`);
        return { op: { kind: "transpose", perm: perm.slice(1).map((p) => p - 1) }, dims: perm.map((p) => x[p]) };
      }
      case "Concat": {
        const shapes = this.values.map((v, i) => {
          if (!v) return this.fail(`input ${i} is missing`);
          if (v.kind !== "act") return this.fail(`input ${i} (${this.inputName(i)}) is a constant: Concat is supported only between activations`);
          return v.dims;
        });
        const axis = normaliseAxis(this.intAttr("axis", 0), shapes[0].length);
        if (axis === 0) this.fail("Concat along the batch axis is not supported");
        for (const s of shapes) if (s.length !== shapes[0].length || s.some((d, a) => a !== axis && d !== shapes[0][a])) this.fail(`shapes ${shapes.map((q) => `[${q}]`).join(", ")} do not agree off axis ${axis}`);
        return { op: { kind: "concat", axis: axis - 1 }, dims: shapes[0].map((d, a) => (a === axis ? shapes.reduce((s, q) => s + q[a], 0) : d)) };
      }
      case "Slice": {
        const x = this.act(0);
        const spec = this.sliceSpec(x);
        if (spec.starts[0] !== 0 || spec.sizes[0] !== 1) this.fail("Slice of the batch axis is not supported");
        if (spec.sizes.some((s) => s < 1)) this.fail(`the slice is empty (sizes [${spec.sizes}])`);
        return { op: { kind: "slice", starts: spec.starts.slice(1), steps: spec.steps.slice(1), sizes: spec.sizes.slice(1) }, dims: spec.sizes };
      }
    }
    return this.fail(`op ${this.opType} is not supported on activations`);
  }

  /** The input as [1, C, H, W]. */
  private image(): readonly number[] {
    const x = this.act(0);
    if (x.length !== 4) this.fail(`only 2-D images ([N, C, H, W]) are supported, the input has shape [${x}]`);
    return x;
  }

  private reshapeTo(dims: number[]): { op: RawOp; dims: number[] } {
    if (dims.length < 2 || dims[0] !== 1) this.fail(`the result [${dims}] does not keep the batch of 1 as its first dimension`);
    return { op: dims.length === 2 ? { kind: "flatten" } : { kind: "reshape", shape: dims.slice(1) }, dims };
  }

  /** The window attributes of Conv and the pools, with auto_pad resolved. */
  private window(H: number, W: number, kernel: Pair): { strides: Pair; pads: Pads; dilations: Pair } {
    const pair = (name: string): Pair => {
      const v = this.intsAttr(name) ?? [1, 1];
      if (v.length !== 2) this.fail(`${name} [${v}] must have two entries (2-D)`);
      return [v[0], v[1]];
    };
    const strides = pair("strides");
    const dilations = pair("dilations");
    const autoPad = this.stringAttr("auto_pad", "NOTSET");
    let pads: Pads;
    if (autoPad === "NOTSET") {
      const p = this.intsAttr("pads") ?? [0, 0, 0, 0];
      if (p.length !== 4) this.fail(`pads [${p}] must have four entries (2-D)`);
      pads = [p[0], p[1], p[2], p[3]];
    } else if (autoPad === "VALID") {
      pads = [0, 0, 0, 0];
    } else if (autoPad === "SAME_UPPER" || autoPad === "SAME_LOWER") {
      const total = (n: number, a: 0 | 1) => Math.max(0, (Math.ceil(n / strides[a]) - 1) * strides[a] + (kernel[a] - 1) * dilations[a] + 1 - n);
      const [th, tw] = [total(H, 0), total(W, 1)];
      const first = (t: number) => (autoPad === "SAME_UPPER" ? Math.floor(t / 2) : Math.ceil(t / 2));
      pads = [first(th), first(tw), th - first(th), tw - first(tw)];
    } else return this.fail(`auto_pad ${autoPad} is not supported`);
    return { strides, pads, dilations };
  }

  private conv(): { op: RawOp; dims: number[] } {
    const [, C, H, W] = this.image();
    const w = this.requiredConst(1, "weight");
    if (w.dims.length !== 4) this.fail(`weight ${this.inputName(1)} must be [M, C/group, kH, kW], has shape [${w.dims}]`);
    const [M, Cg, kH, kW] = w.dims;
    const group = this.intAttr("group", 1);
    if (C % group !== 0 || M % group !== 0 || C / group !== Cg) this.fail(`group ${group} does not fit ${C} input channels and a weight of shape [${w.dims}]`);
    const ks = this.intsAttr("kernel_shape");
    if (ks && (ks[0] !== kH || ks[1] !== kW)) this.fail(`kernel_shape [${ks}] differs from the weight's [${kH}, ${kW}]`);
    const b = this.constInput(2, "bias");
    if (b && b.data.length !== M) this.fail(`bias ${this.inputName(2)} has ${b.data.length} values, expected ${M}`);
    const { strides, pads, dilations } = this.window(H, W, [kH, kW]);
    const OH = Math.floor((H + pads[0] + pads[2] - dilations[0] * (kH - 1) - 1) / strides[0]) + 1;
    const OW = Math.floor((W + pads[1] + pads[3] - dilations[1] * (kW - 1) - 1) / strides[1]) + 1;
    return {
      op: { kind: "conv", weight: Float32Array.from(w.data), weightShape: [M, Cg, kH, kW], bias: b ? Float32Array.from(b.data) : new Float32Array(M), strides, pads, dilations, groups: group },
      dims: [1, M, OH, OW],
    };
  }

  private pool(): { op: RawOp; dims: number[] } {
    const [, C, H, W] = this.image();
    const k = this.intsAttr("kernel_shape");
    if (!k || k.length !== 2) return this.fail(`kernel_shape [${k}] must have two entries (2-D)`);
    const kernel: Pair = [k[0], k[1]];
    const { strides, pads, dilations } = this.window(H, W, kernel);
    if (pads[0] >= kernel[0] || pads[2] >= kernel[0] || pads[1] >= kernel[1] || pads[3] >= kernel[1]) this.fail(`pads [${pads}] must each be smaller than the kernel [${kernel}]`);
    const size = (n: number, a: 0 | 1, round: (x: number) => number) => round((n + pads[a] + pads[a + 2] - dilations[a] * (kernel[a] - 1) - 1) / strides[a]) + 1;
    const [OH, OW] = [size(H, 0, Math.floor), size(W, 1, Math.floor)];
    if (this.intAttr("ceil_mode", 0) === 1 && (size(H, 0, Math.ceil) !== OH || size(W, 1, Math.ceil) !== OW)) {
      this.fail(`ceil_mode = 1 gives a larger output here than floor mode ([${size(H, 0, Math.ceil)}, ${size(W, 1, Math.ceil)}] instead of [${OH}, ${OW}]); export the pool with ceil_mode = 0`);
    }
    const kind = this.opType === "MaxPool" ? "maxPool" : "avgPool";
    if (kind === "avgPool" && (dilations[0] !== 1 || dilations[1] !== 1)) this.fail(`AveragePool with dilations [${dilations}] is not supported`);
    if (kind === "avgPool" && pads.some((p) => p > 0) && this.intAttr("count_include_pad", 0) === 0) {
      this.fail("AveragePool with padding and count_include_pad = 0 divides border windows by their count of real cells; the integer AvgPool divides every window by kH·kW (count_include_pad = 1, PyTorch's default)");
    }
    return { op: { kind, kernel, strides, pads, dilations }, dims: [1, C, OH, OW] };
  }

  private vectorInput(): number {
    const x = this.act(0);
    if (x.length !== 2) this.fail(`only a vector input ([N, K]) is supported, the input has shape [${x}]: add a Flatten before it`);
    return x[1];
  }

  private gemm(): { op: RawOp; dims: number[] } {
    const K = this.vectorInput();
    if (this.intAttr("transA", 0) !== 0) this.fail("transA = 1 is not supported");
    const b = this.requiredConst(1, "weight");
    if (b.dims.length !== 2) this.fail(`weight ${this.inputName(1)} must be 2-D, has shape [${b.dims}]`);
    const transB = this.intAttr("transB", 0) === 1;
    const [nIn, nOut] = transB ? [b.dims[1], b.dims[0]] : [b.dims[0], b.dims[1]];
    if (nIn !== K) this.fail(`the weight expects ${nIn} inputs, the layer receives ${K}`);
    const alpha = this.floatAttr("alpha", 1);
    const beta = this.floatAttr("beta", 1);
    const weight = new Float32Array(nIn * nOut);
    for (let j = 0; j < nOut; j++) for (let i = 0; i < nIn; i++) weight[j * nIn + i] = alpha * (transB ? b.data[j * nIn + i] : b.data[i * nOut + j]);
    const c = this.constInput(2, "bias");
    const bias = new Float32Array(nOut);
    if (c) {
      const dims = broadcastDims([1, nOut], c.dims);
      if (!dims || dims[0] !== 1 || dims[1] !== nOut || dims.length !== 2) this.fail(`bias ${this.inputName(2)} of shape [${c.dims}] does not broadcast to [1, ${nOut}]`);
      for (let j = 0; j < nOut; j++) bias[j] = beta * (c.data.length === 1 ? c.data[0] : c.data[j]);
    }
    return { op: { kind: "dense", weight, nIn, nOut, bias }, dims: [1, nOut] };
  }

  private matMul(): { op: RawOp; dims: number[] } {
    const K = this.vectorInput();
    const v = this.input(1);
    if (v?.kind === "act") this.fail("MatMul of two activations is not supported");
    const b = this.requiredConst(1, "weight");
    if (b.dims.length !== 2) this.fail(`weight ${this.inputName(1)} must be 2-D, has shape [${b.dims}]`);
    const [nIn, nOut] = b.dims;
    if (nIn !== K) this.fail(`the weight expects ${nIn} inputs, the layer receives ${K}`);
    const weight = new Float32Array(nIn * nOut);
    for (let j = 0; j < nOut; j++) for (let i = 0; i < nIn; i++) weight[j * nIn + i] = b.data[i * nOut + j];
    return { op: { kind: "dense", weight, nIn, nOut, bias: new Float32Array(nOut) }, dims: [1, nOut] };
  }

  private binary(): { op: RawOp; dims: number[] } {
    const [a, b] = [this.input(0), this.input(1)];
    if (!a || !b) return this.fail("needs two inputs");
    if (a.kind === "act" && b.kind === "act") {
      if (this.opType !== "Add" && this.opType !== "Mul") this.fail(`${this.opType} of two activations is not supported (Add and Mul are)`);
      if (a.dims.length !== b.dims.length) this.fail(`operands of ranks ${a.dims.length} and ${b.dims.length}: both must have the same rank`);
      const dims = broadcastDims(a.dims, b.dims);
      if (!dims) return this.fail(`shapes [${a.dims}] and [${b.dims}] do not broadcast`);
      return { op: { kind: this.opType === "Add" ? "add" : "mul" }, dims };
    }
    const actFirst = a.kind === "act";
    const x = (actFirst ? a : b) as { dims: readonly number[] };
    const c = (actFirst ? b : a) as { t: ConstTensor };
    if (!actFirst && (this.opType === "Sub" || this.opType === "Div")) this.fail(`${this.opType} of a constant by an activation is not supported`);
    const dims = broadcastDims(x.dims, c.t.dims);
    if (!dims || dims.length !== x.dims.length || dims.some((d, i) => d !== x.dims[i])) this.fail(`the constant of shape [${c.t.dims}] would change the activation's shape [${x.dims}]`);
    const values = expand(c.t, x.dims);
    if (this.opType === "Sub") values.forEach((v, i) => (values[i] = -v));
    if (this.opType === "Div") values.forEach((v, i) => (values[i] = 1 / v));
    return { op: { kind: this.opType === "Add" || this.opType === "Sub" ? "addConst" : "mulConst", values }, dims: [...x.dims] };
  }

  private batchNorm(): { op: RawOp; dims: number[] } {
    const x = this.act(0);
    if (this.intAttr("training_mode", 0) === 1) this.fail("BatchNormalization in training mode is not supported");
    const C = x[1];
    const param = (i: number, what: string) => {
      const c = this.requiredConst(i, what);
      if (c.data.length !== C) this.fail(`${what} ${this.inputName(i)} has ${c.data.length} values, expected ${C} (one per channel)`);
      return c.data;
    };
    return {
      op: { kind: "batchNorm", scale: param(1, "scale"), bias: param(2, "bias"), mean: param(3, "mean"), variance: param(4, "variance"), epsilon: this.floatAttr("epsilon", 1e-5) },
      dims: [...x],
    };
  }
}

/** A constant broadcast to `dims` (which include the batch of 1): the values of the batch-less activation it applies to. */
function expand(c: ConstTensor, dims: readonly number[]): Float64Array {
  const n = sizeOfDims(dims);
  const out = new Float64Array(n);
  const r = dims.length;
  const inStrides = stridesOfDims(c.dims);
  const outStrides = stridesOfDims(dims);
  for (let i = 0; i < n; i++) {
    let index = 0;
    for (let a = 0; a < r; a++) {
      const k = a - (r - c.dims.length);
      if (k >= 0 && c.dims[k] !== 1) index += (Math.floor(i / outStrides[a]) % dims[a]) * inStrides[k];
    }
    out[i] = c.data[index];
  }
  return out;
}
