import { DataType, attribute, floatTensor, int64Tensor, node, onnx, valueInfo } from "../../core/onnx/onnxProto";
import type { Rng } from "../../core/rng";

/**
 * Builds a float ONNX model node by node the way PyTorch's exporter (`torch.onnx.export`) writes
 * a module graph: nodes named `/<module>/<Op>` (`/<Op>` for a module-less call, `_1`, `_2`, … on
 * repeats), each output `<node>_output_0`, weights as initializers `<module>.weight`,
 * `<module>.bias`, `<module>.running_mean`, `<module>.running_var` (or, as older exporters do, as
 * `Constant` nodes), any DAG of ops (residual and squeeze-and-excitation branches included).
 *
 * Weights are the caller's (`values`) or, when left out, drawn from the builder's seeded Rng (He
 * normal for Conv and Gemm, BatchNorm statistics around 1 and 0): the same seed and calls give the
 * same bytes. (core/onnx/floatGraphWriter.ts writes the trained LeNet, a chain of layers; this
 * writes graphs.)
 */
export class TorchStyleOnnx {
  readonly nodes: onnx.INodeProto[] = [];
  readonly initializer: onnx.ITensorProto[] = [];
  private readonly seen = new Map<string, number>();
  private constants = 0;

  constructor(
    private readonly rng: Rng,
    readonly opset = 17,
  ) {}

  private nodeName(module: string, opType: string): string {
    const base = module ? `/${module}/${opType}` : `/${opType}`;
    const k = this.seen.get(base) ?? 0;
    this.seen.set(base, k + 1);
    return k === 0 ? base : `${base}_${k}`;
  }

  /** An initializer. */
  init(name: string, dims: readonly number[], data: Float32Array): string {
    this.initializer.push(floatTensor(name, dims, data));
    return name;
  }

  /** A `Constant` node holding a float or int64 tensor. */
  constant(dims: readonly number[], data: Float32Array | BigInt64Array): string {
    const name = this.constants === 0 ? "/Constant" : `/Constant_${this.constants}`;
    this.constants++;
    const t = data instanceof Float32Array ? floatTensor("", dims, data) : int64Tensor("", dims, data);
    this.nodes.push(node("Constant", name, [], [`${name}_output_0`], [{ name: "value", type: onnx.AttributeProto.AttributeType.TENSOR, t }]));
    return `${name}_output_0`;
  }

  /** A node of `opType` in `module`; returns its output (`output` when given: the graph's output name). */
  op(opType: string, module: string, inputs: readonly string[], attrs: onnx.IAttributeProto[] = [], output?: string): string {
    const name = this.nodeName(module, opType);
    const out = output ?? `${name}_output_0`;
    this.nodes.push(node(opType, name, inputs, [out], attrs));
    return out;
  }

  /** Random weights of a given fan-in (He-style). */
  randn(n: number, std: number): Float32Array {
    return Float32Array.from({ length: n }, () => this.rng.normal() * std);
  }

  /** A square Conv; `values` gives its weight [cOut, cIn/group, k, k] (and bias), otherwise drawn at random. */
  conv(
    module: string,
    x: string,
    cIn: number,
    cOut: number,
    k: number,
    opts: { stride?: number; pad?: number; group?: number; bias?: boolean; constants?: boolean; values?: { readonly weight: Float32Array; readonly bias?: Float32Array } } = {},
  ): string {
    const group = opts.group ?? 1;
    const fanIn = (cIn / group) * k * k;
    const wDims = [cOut, cIn / group, k, k];
    const w = opts.values?.weight ?? this.randn(cOut * fanIn, Math.sqrt(2 / fanIn));
    const b = opts.values ? opts.values.bias : this.randn(cOut, 0.1);
    const weight = opts.constants ? this.constant(wDims, w) : this.init(`${module}.weight`, wDims, w);
    const inputs = [x, weight];
    if (opts.values ? b !== undefined : (opts.bias ?? true)) inputs.push(opts.constants ? this.constant([cOut], b!) : this.init(`${module}.bias`, [cOut], b!));
    const pad = opts.pad ?? 0;
    const s = opts.stride ?? 1;
    return this.op("Conv", module, inputs, [attribute("dilations", [1, 1]), attribute("group", group), attribute("kernel_shape", [k, k]), attribute("pads", [pad, pad, pad, pad]), attribute("strides", [s, s])]);
  }

  /** BatchNormalization in inference form (PyTorch's BatchNorm2d: epsilon 1e-5, ONNX momentum 0.9); `values` gives its parameters and running statistics. */
  batchNorm(module: string, x: string, c: number, values?: { readonly scale: Float32Array; readonly bias: Float32Array; readonly mean: Float32Array; readonly variance: Float32Array }): string {
    const u = (lo: number, hi: number) => Float32Array.from({ length: c }, () => lo + (hi - lo) * this.rng.float());
    const v = values ?? { scale: u(0.5, 1.5), bias: this.randn(c, 0.2), mean: this.randn(c, 0.3), variance: u(0.5, 2) };
    return this.op(
      "BatchNormalization",
      module,
      [x, this.init(`${module}.weight`, [c], v.scale), this.init(`${module}.bias`, [c], v.bias), this.init(`${module}.running_mean`, [c], v.mean), this.init(`${module}.running_var`, [c], v.variance)],
      [attribute("epsilon", 1e-5, "float"), attribute("momentum", 0.9, "float")],
    );
  }

  /** Gemm with transB = 1 (PyTorch's Linear): weight [nOut, nIn]; `values` gives it, otherwise drawn at random. */
  gemm(module: string, x: string, nIn: number, nOut: number, opts: { constants?: boolean; output?: string; values?: { readonly weight: Float32Array; readonly bias: Float32Array } } = {}): string {
    const w = opts.values?.weight ?? this.randn(nOut * nIn, Math.sqrt(2 / nIn));
    const b = opts.values?.bias ?? this.randn(nOut, 0.1);
    const weight = opts.constants ? this.constant([nOut, nIn], w) : this.init(`${module}.weight`, [nOut, nIn], w);
    const bias = opts.constants ? this.constant([nOut], b) : this.init(`${module}.bias`, [nOut], b);
    return this.op("Gemm", module, [x, weight, bias], [attribute("alpha", 1, "float"), attribute("beta", 1, "float"), attribute("transB", 1)], opts.output);
  }

  maxPool(module: string, x: string, k: number): string {
    return this.op("MaxPool", module, [x], [attribute("ceil_mode", 0), attribute("kernel_shape", [k, k]), attribute("pads", [0, 0, 0, 0]), attribute("strides", [k, k])]);
  }

  /** HardSwish as PyTorch's `x * F.relu6(x + 3) / 6` exports it (Add, Clip, Mul, Div); with `mulBySixth`, Keras's `* (1/6)`. */
  hardSwishSpelled(module: string, x: string, mulBySixth = false): string {
    const three = this.constant([], Float32Array.of(3));
    const plus = this.op("Add", module, [x, three]);
    const clipped = this.op("Clip", module, [plus, this.constant([], Float32Array.of(0)), this.constant([], Float32Array.of(6))]);
    const times = this.op("Mul", module, [x, clipped]);
    return mulBySixth ? this.op("Mul", module, [times, this.constant([], Float32Array.of(1 / 6))]) : this.op("Div", module, [times, this.constant([], Float32Array.of(6))]);
  }

  /** The model: one float input `input` and one float output, PyTorch's producer fields. */
  build(inputDims: readonly (number | string)[], output: string, outputDims: readonly (number | string)[]): Uint8Array {
    const model = onnx.ModelProto.create({
      irVersion: this.opset >= 15 ? 8 : 6,
      producerName: "pytorch",
      producerVersion: "2.1.0",
      opsetImport: [{ domain: "", version: this.opset }],
      graph: { name: "main_graph", node: this.nodes, initializer: this.initializer, input: [valueInfo("input", DataType.FLOAT, inputDims)], output: [valueInfo(output, DataType.FLOAT, outputDims)] },
    });
    return onnx.ModelProto.encode(model).finish();
  }
}
