import * as ort from "onnxruntime-node";
import type { GraphTrace, TraceTensor } from "./execute";
import { GRAPH_INPUT_NAME, buildGraphOnnx } from "./onnxGraph";
import { type GraphProgram, sizeOf } from "./program";
import { type TraceEntry, traceLayout, traceName } from "./stages";
import { validateProgram } from "./validate";

export interface OrtGraphRunnerOptions {
  /** onnxruntime execution providers, in order of preference; CPU by default. */
  executionProviders?: string[];
  /** Threads inside one operator; onnxruntime's default when left out. */
  intraOpNumThreads?: number;
}

/**
 * Runs a graph program with onnxruntime-node (its ONNX form, core/graph/onnxGraph.ts) and
 * returns every tensor of the trace for a whole batch in one call.
 */
export class OrtGraphRunner {
  private constructor(
    private readonly session: ort.InferenceSession,
    readonly program: GraphProgram,
    readonly layout: TraceEntry[],
  ) {}

  static async create(program: GraphProgram, options: OrtGraphRunnerOptions = {}): Promise<OrtGraphRunner> {
    const shapes = validateProgram(program);
    const session = await ort.InferenceSession.create(buildGraphOnnx(program), {
      executionProviders: options.executionProviders ?? ["cpu"],
      ...(options.intraOpNumThreads === undefined ? {} : { intraOpNumThreads: options.intraOpNumThreads }),
      graphOptimizationLevel: "all",
    });
    return new OrtGraphRunner(session, program, traceLayout(program, shapes));
  }

  /**
   * Runs `batch` inputs laid end to end. Returns one tensor per trace entry (the order of
   * {@link layout}; index 0 is the input), each holding the batch end to end.
   */
  async runBatch(inputs: Int8Array, batch: number): Promise<TraceTensor[]> {
    const shape = this.program.inputShape;
    const n = sizeOf(shape);
    if (inputs.length !== batch * n) throw new RangeError(`expected ${batch} inputs of ${n} elements (${batch * n}), got ${inputs.length}`);
    const results = await this.session.run({ [GRAPH_INPUT_NAME]: new ort.Tensor("int8", inputs, [batch, ...shape]) });
    return this.layout.map((e) => (e.value === 0 ? inputs : (results[traceName(e)].data as TraceTensor)));
  }

  /** Runs one input and returns its whole trace (the executor's form: tensors, layout, every value). */
  async run(input: Int8Array): Promise<GraphTrace> {
    return traceFromOutputs(this.layout, await this.runBatch(input, 1));
  }

  async release(): Promise<void> {
    await this.session.release();
  }
}

/** A trace from one run's tensors in `layout` order: each value is its op's last stage (value 0 the input). */
export function traceFromOutputs(layout: readonly TraceEntry[], tensors: readonly TraceTensor[]): GraphTrace {
  const values: Int8Array[] = [];
  layout.forEach((e, i) => {
    if (e.final) values[e.value] = tensors[i] as Int8Array;
  });
  return { tensors: [...tensors], layout: [...layout], values };
}
