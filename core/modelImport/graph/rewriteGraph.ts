import { UnsupportedModelError } from "../../onnx/floatModel";
import type { FloatConv, FloatDense, FloatGraph, FloatNode } from "./floatGraph";
import { type RawGraph, type RawNode, uniformValue } from "./rawNodes";

/**
 * The second reading pass: turns the raw nodes of foldOnnxGraph.ts into the float graph IR.
 * In order:
 *  1. a final Softmax (or LogSoftmax) is dropped with a warning — the argmax is unchanged —
 *     and nodes that do not reach the output are left out (with a warning);
 *  2. every BatchNormalization is folded into the Conv before it (refused otherwise);
 *  3. the spellings of HardSigmoid (`clip(x·a + b, 0, h)·(1/h)`, e.g. `clip(x + 3, 0, 6)/6`) and
 *     of HardSwish (`x · HardSigmoid(x)`, `x · clip(x + 3, 0, 6) / 6`, Div or Mul by 1/6) become
 *     one node each;
 *  4. an Add/Sub/Mul/Div with a constant right after a Conv or Dense is folded into its bias
 *     and weights (a MatMul's bias, a per-channel scale); anywhere else it is refused.
 * Every fold is exact in real arithmetic; the float32 weights are recomputed in double.
 */
export function rewriteGraph(raw: RawGraph): FloatGraph {
  return new Rewriter(raw).run();
}

const REL_TOLERANCE = 1e-5;
const close = (a: number, b: number) => Math.abs(a - b) <= REL_TOLERANCE * Math.max(1, Math.abs(a), Math.abs(b));

class Rewriter {
  private readonly nodes: (RawNode | undefined)[];
  private readonly producer = new Map<string, number>();
  private readonly consumers = new Map<string, number>();
  private output: string;
  private readonly warnings: string[];

  constructor(private readonly raw: RawGraph) {
    this.nodes = [...raw.nodes];
    this.output = raw.output;
    this.warnings = [...raw.warnings];
    this.nodes.forEach((n, i) => this.producer.set(n!.output, i));
  }

  run(): FloatGraph {
    this.dropFinalSoftmax();
    this.prune();
    this.countConsumers();
    for (let i = 0; i < this.nodes.length; i++) if (this.nodes[i]?.kind === "batchNorm") this.foldBatchNorm(i);
    for (let i = 0; i < this.nodes.length; i++) {
      if (this.nodes[i]) this.hardSigmoidSpelling(i);
      if (this.nodes[i]) this.hardSwishSpelling(i);
    }
    for (let i = 0; i < this.nodes.length; i++) {
      const n = this.nodes[i];
      if (n?.kind === "addConst" || n?.kind === "mulConst") this.foldAffine(i);
    }
    const nodes = this.nodes.filter((n): n is RawNode => n !== undefined);
    for (const n of nodes) {
      if (n.kind === "softmax") this.fail(n, `it is supported only as the model's last op, where it is dropped (the argmax is unchanged)`);
    }
    return { input: this.raw.input, nodes: nodes as FloatNode[], output: this.output, warnings: this.warnings, opset: this.raw.opset };
  }

  private fail(n: RawNode, problem: string): never {
    throw new UnsupportedModelError(n.sources[0], problem.startsWith("op ") ? problem : `op ${n.opType}: ${problem}`);
  }

  private producerOf(tensor: string): RawNode | undefined {
    const i = this.producer.get(tensor);
    return i === undefined ? undefined : this.nodes[i];
  }

  /** The node producing `tensor` when that node's output is read only once (so it may be merged into its reader). */
  private soleProducer(tensor: string): RawNode | undefined {
    return this.consumers.get(tensor) === 1 ? this.producerOf(tensor) : undefined;
  }

  private indexOf(n: RawNode): number {
    return this.producer.get(n.output)!;
  }

  /**
   * Puts `node` in place of node i, the last node of a pattern (so it keeps topological order:
   * it reads only tensors made before the pattern), and removes the pattern's other nodes `merged`.
   */
  private replace(i: number, node: RawNode, merged: readonly RawNode[]): void {
    const old = this.nodes[i]!;
    for (const m of [...merged, old]) {
      if (m !== old) {
        this.nodes[this.indexOf(m)] = undefined;
        this.producer.delete(m.output);
      }
      for (const t of m.inputs) this.consumers.set(t, (this.consumers.get(t) ?? 0) - 1);
    }
    this.nodes[i] = node;
    this.producer.set(node.output, i);
    for (const t of node.inputs) this.consumers.set(t, (this.consumers.get(t) ?? 0) + 1);
  }

  private dropFinalSoftmax(): void {
    for (let p = this.producerOf(this.output); p?.kind === "softmax"; p = this.producerOf(this.output)) {
      this.warnings.push(`node ${p.sources[0]}: the final ${p.opType} is dropped: it does not change the argmax, so the program outputs its input ${p.inputs[0]} (the logits)`);
      this.nodes[this.indexOf(p)] = undefined;
      this.producer.delete(p.output);
      this.output = p.inputs[0];
    }
  }

  private prune(): void {
    const needed = new Set([this.output]);
    for (let i = this.nodes.length - 1; i >= 0; i--) {
      const n = this.nodes[i];
      if (!n) continue;
      if (needed.has(n.output)) n.inputs.forEach((t) => needed.add(t));
      else {
        this.warnings.push(`node ${n.sources[0]} (${n.opType}) does not reach the output and is left out`);
        this.nodes[i] = undefined;
        this.producer.delete(n.output);
      }
    }
  }

  private countConsumers(): void {
    this.consumers.set(this.output, 1); // the graph output is read by the world: never merged away
    for (const n of this.nodes) if (n) for (const t of n.inputs) this.consumers.set(t, (this.consumers.get(t) ?? 0) + 1);
  }

  private foldBatchNorm(i: number): void {
    const bn = this.nodes[i] as RawNode & { kind: "batchNorm" };
    const x = bn.inputs[0];
    const p = this.producerOf(x);
    if (!p || p.kind !== "conv") {
      this.fail(bn, `must follow a Conv (it is folded into the Conv's weights and bias), but its input ${x} ${p ? `is the output of ${p.opType} node ${p.sources[0]}` : "is the graph input"}`);
    }
    if (this.consumers.get(x) !== 1) this.fail(bn, `the output ${x} of Conv node ${p.sources[0]} is also read by other nodes, so the BatchNormalization cannot be folded into it`);
    const conv = p as RawNode & FloatConv;
    const [M] = conv.weightShape;
    const perChannel = conv.weight.length / M;
    const weight = new Float32Array(conv.weight.length);
    const bias = new Float32Array(M);
    for (let m = 0; m < M; m++) {
      const k = bn.scale[m] / Math.sqrt(bn.variance[m] + bn.epsilon);
      for (let t = 0; t < perChannel; t++) weight[m * perChannel + t] = conv.weight[m * perChannel + t] * k;
      bias[m] = (conv.bias[m] - bn.mean[m]) * k + bn.bias[m];
    }
    this.replace(i, { ...conv, weight, bias, sources: [...conv.sources, ...bn.sources], output: bn.output, shape: bn.shape }, [conv]);
  }

  /**
   * A chain of scalar Add/Sub/Mul/Div-by-constant nodes ending at tensor `t`, walked back while
   * each intermediate is read only by the next: returns its source tensor and `t = a·source + b`.
   */
  private scalarAffineChain(t: string): { source: string; a: number; b: number; nodes: RawNode[]; adds: number } {
    let a = 1;
    let b = 0;
    let adds = 0;
    const nodes: RawNode[] = [];
    for (let p = this.soleProducer(t); p && (p.kind === "addConst" || p.kind === "mulConst"); p = this.soleProducer(t)) {
      const c = uniformValue(p.values);
      if (c === undefined) break;
      if (p.kind === "addConst") {
        b += a * c;
        adds++;
      } else a *= c;
      nodes.push(p);
      t = p.inputs[0];
    }
    return { source: t, a, b, nodes, adds };
  }

  /** `s · clip(a·x + b, 0, h)` with s·h = 1 (s optional: a trailing Mul or Div by a constant) → HardSigmoid(α = s·a, β = s·b). */
  private hardSigmoidSpelling(i: number): void {
    const z = this.nodes[i]!;
    let s = 1;
    let clip: RawNode | undefined = z;
    const merged: RawNode[] = [];
    if (z.kind === "mulConst") {
      const c = uniformValue(z.values);
      if (c === undefined) return;
      s = c;
      clip = this.soleProducer(z.inputs[0]);
      if (!clip) return;
      merged.push(clip);
    }
    if (clip.kind !== "clip" || clip.lo !== 0 || !(s > 0) || !close(s * clip.hi, 1)) return;
    const chain = this.scalarAffineChain(clip.inputs[0]);
    if (chain.adds === 0 || chain.a === 0) return;
    const sources = [...chain.nodes.reverse(), ...(z === clip ? [] : [clip]), z].flatMap((n) => n.sources);
    this.replace(i, { kind: "hardSigmoid", alpha: s * chain.a, beta: s * chain.b, sources, opType: "HardSigmoid", inputs: [chain.source], output: z.output, shape: z.shape }, [...merged, ...chain.nodes]);
  }

  /** `x · HardSigmoid(x)` and `(x · clip(a·x + b, 0, h)) · s` with s·h = 1 → HardSwish. */
  private hardSwishSpelling(i: number): void {
    const z = this.nodes[i]!;
    if (z.kind === "mul") {
      for (const [p, q] of [z.inputs, [...z.inputs].reverse()]) {
        const h = this.soleProducer(q);
        if (h?.kind === "hardSigmoid" && h.inputs[0] === p) {
          this.replace(i, { kind: "hardSwish", alpha: h.alpha, beta: h.beta, sources: [...h.sources, ...z.sources], opType: "HardSwish", inputs: [p], output: z.output, shape: z.shape }, [h]);
          return;
        }
      }
      return;
    }
    if (z.kind !== "mulConst") return;
    const s = uniformValue(z.values);
    const m = this.soleProducer(z.inputs[0]);
    if (s === undefined || !(s > 0) || m?.kind !== "mul") return;
    for (const [p, q] of [m.inputs, [...m.inputs].reverse()]) {
      const clip = this.soleProducer(q);
      if (clip?.kind !== "clip" || clip.lo !== 0 || !close(s * clip.hi, 1)) continue;
      const chain = this.scalarAffineChain(clip.inputs[0]);
      if (chain.source !== p || chain.adds === 0 || chain.a === 0) continue;
      const sources = [...chain.nodes.reverse(), clip, m, z].flatMap((n) => n.sources);
      this.replace(i, { kind: "hardSwish", alpha: s * chain.a, beta: s * chain.b, sources, opType: "HardSwish", inputs: [p], output: z.output, shape: z.shape }, [m, clip, ...chain.nodes]);
      return;
    }
  }

  /** x + c or x · c right after a Conv or Dense whose output only it reads, c constant per output channel: into the bias (and weights). */
  private foldAffine(i: number): void {
    const z = this.nodes[i] as RawNode & { kind: "addConst" | "mulConst" };
    const what = `a constant operand is supported only right after a Conv, Gemm or MatMul whose output nothing else reads (as its bias or a per-channel scale), or inside the HardSigmoid/HardSwish spellings`;
    const p = this.soleProducer(z.inputs[0]);
    if (!p || (p.kind !== "conv" && p.kind !== "dense")) this.fail(z, `${what}; its input ${z.inputs[0]} is ${p ? `the output of ${p.opType} node ${p.sources[0]}` : this.producerOf(z.inputs[0]) ? "also read by other nodes" : "the graph input"}`);
    const layer = p as RawNode & (FloatConv | FloatDense);
    const channels = layer.kind === "conv" ? layer.weightShape[0] : layer.nOut;
    const block = z.values.length / channels;
    const c = new Float64Array(channels);
    for (let m = 0; m < channels; m++) {
      c[m] = z.values[m * block];
      for (let k = 1; k < block; k++) if (z.values[m * block + k] !== c[m]) this.fail(z, `${what}; its constant varies within output channel ${m} of ${layer.sources[0]}`);
    }
    const bias = Float32Array.from(layer.bias, (b, m) => (z.kind === "addConst" ? b + c[m] : b * c[m]));
    let weight = layer.weight;
    if (z.kind === "mulConst") {
      const row = layer.weight.length / channels;
      weight = Float32Array.from(layer.weight, (w, k) => w * c[Math.floor(k / row)]);
    }
    this.replace(i, { ...layer, weight, bias, sources: [...layer.sources, ...z.sources], output: z.output, shape: z.shape } as RawNode, [layer]);
  }
}
