import * as ort from "onnxruntime-node";
import type { FloatGraph } from "./floatGraph";
import { writeFloatGraphOnnx } from "./writeFloatGraphOnnx";

/**
 * Runs the float graph IR with onnxruntime (its ONNX form, writeFloatGraphOnnx.ts, with every
 * tensor a graph output) and returns the float value of every tensor for a whole batch.
 *
 * Why onnxruntime and not a float executor of the IR in TypeScript: the float side of
 * quantisation is the model owner's model, and onnxruntime is what defines it (and what the
 * owner trained against). A second float implementation of Conv with groups, dilations and
 * padding would be one more thing to get right, and it would be 1–2 orders of magnitude slower
 * on real calibration sets. Running the IR's own ONNX form, rather than the original file with
 * extra outputs, calibrates exactly the tensors that become program values (after folding
 * BatchNormalization, recognising HardSwish, dropping Softmax).
 */
export class FloatGraphRunner {
  private constructor(
    private readonly session: ort.InferenceSession,
    readonly graph: FloatGraph,
    /** The tensors every run returns: the input, then each node's output in order. */
    readonly tensors: readonly string[],
  ) {}

  static async create(graph: FloatGraph): Promise<FloatGraphRunner> {
    const session = await ort.InferenceSession.create(writeFloatGraphOnnx(graph, { exposeAll: true }), { executionProviders: ["cpu"], graphOptimizationLevel: "all" });
    return new FloatGraphRunner(session, graph, [graph.input.name, ...graph.nodes.map((n) => n.output)]);
  }

  /** Elements of one input. */
  get inputSize(): number {
    return this.graph.input.shape.reduce((a, b) => a * b, 1);
  }

  /** Runs `batch` inputs laid end to end; returns every tensor's values, the batch end to end. */
  async runBatch(inputs: Float32Array, batch: number): Promise<Map<string, Float32Array>> {
    if (inputs.length !== batch * this.inputSize) throw new RangeError(`expected ${batch} inputs of ${this.inputSize} values, got ${inputs.length}`);
    const results = await this.session.run({ [this.graph.input.name]: new ort.Tensor("float32", inputs, [batch, ...this.graph.input.shape]) });
    return new Map(this.tensors.map((t) => [t, t === this.graph.input.name ? inputs : (results[t].data as Float32Array)]));
  }

  async release(): Promise<void> {
    await this.session.release();
  }
}

/** Samples (each a list of numbers) in batches of at most `size`, laid end to end as float32; with each batch's first sample index. */
export function* batchesOf(samples: readonly ArrayLike<number>[], inputSize: number, size: number): Generator<{ start: number; batch: number; data: Float32Array }> {
  for (let start = 0; start < samples.length; start += size) {
    const batch = Math.min(size, samples.length - start);
    const data = new Float32Array(batch * inputSize);
    for (let k = 0; k < batch; k++) data.set(Array.from(samples[start + k]), k * inputSize);
    yield { start, batch, data };
  }
}
