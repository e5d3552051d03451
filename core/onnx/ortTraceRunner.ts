import * as ort from "onnxruntime-node";
import type { IntegerModel } from "../model";
import type { Trace } from "../referenceExecutor";
import { INPUT_NAME, layerOutputName, readIntegerModel } from "./integerGraph";

export interface OrtTraceRunnerOptions {
  /** onnxruntime execution providers, in order of preference; CPU by default. Integer results are the same on each. */
  executionProviders?: string[];
  /** Threads inside one operator; onnxruntime's default when left out. */
  intraOpNumThreads?: number;
}

/**
 * Runs an integer model with onnxruntime-node and returns the whole trace of every
 * input in one call: the graph exposes each layer output.
 */
export class OrtTraceRunner {
  private constructor(
    private readonly session: ort.InferenceSession,
    readonly model: IntegerModel,
  ) {}

  /** Checks that `onnxBytes` is a canonical integer model, then opens a session on it. */
  static async load(onnxBytes: Uint8Array, options: OrtTraceRunnerOptions = {}): Promise<OrtTraceRunner> {
    const model = readIntegerModel(onnxBytes);
    const session = await ort.InferenceSession.create(onnxBytes, {
      executionProviders: options.executionProviders ?? ["cpu"],
      ...(options.intraOpNumThreads === undefined ? {} : { intraOpNumThreads: options.intraOpNumThreads }),
      graphOptimizationLevel: "all",
    });
    return new OrtTraceRunner(session, model);
  }

  /**
   * Runs `batch` inputs laid end to end in `inputs`. Returns one array per activation
   * (index 0 is the input, index l the output of layer l), each holding the batch end to end.
   */
  async runBatch(inputs: Int8Array, batch: number): Promise<Int8Array[]> {
    const n = this.model.inputSize;
    if (inputs.length !== batch * n) throw new RangeError(`expected ${batch} inputs of ${n} elements (${batch * n}), got ${inputs.length}`);
    const feeds = { [INPUT_NAME]: new ort.Tensor("int8", inputs, [batch, n]) };
    const results = await this.session.run(feeds);
    const trace = [inputs];
    this.model.layers.forEach((_, i) => trace.push(results[layerOutputName(i + 1)].data as Int8Array));
    return trace;
  }

  /** The trace of one input. */
  async run(input: Int8Array): Promise<Trace> {
    return this.runBatch(input, 1);
  }

  async release(): Promise<void> {
    await this.session.release();
  }
}
