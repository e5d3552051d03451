import type { GraphProgram } from "../../graph/program";
import { OrtGraphRunner } from "../../graph/ortGraphRunner";
import { checkSamples } from "../../quantise";
import { type CalibrationMethod, DEFAULT_CALIBRATION, calibrate } from "./calibrate";
import type { FloatGraph } from "./floatGraph";
import { FloatGraphRunner } from "./floatGraphRunner";
import { type GraphEvaluation, type GraphQuantisationReport, computeGraphReport } from "./graphReport";
import { quantiseGraph } from "./quantiseGraph";
import { readFloatGraph } from "./readFloatGraph";

/**
 * The import of a float ONNX graph (a CNN: Conv, pools, residual Add, squeeze-and-excitation,
 * HardSwish, …) into an integer graph program (docs/graph-semantics.md), in one place: read
 * and normalise the float graph (readFloatGraph.ts), calibrate every activation on the
 * owner's samples (calibrate.ts), quantise (quantiseGraph.ts) and measure what it cost
 * (graphReport.ts).
 */

export interface GraphImportOptions {
  /** Samples that calibrate the activation scales, each the model's input flattened row-major (C·H·W values). */
  readonly calibration: readonly ArrayLike<number>[];
  /** What the report evaluates (held-out samples, with labels if known). Default: the calibration samples again, unlabelled. */
  readonly evaluation?: GraphEvaluation;
  /** The input's shape after the batch, when the model leaves it symbolic. */
  readonly inputShape?: readonly number[];
  /** Default: max-abs (calibrate.ts says why). */
  readonly calibrationMethod?: CalibrationMethod;
}

export interface ImportedGraphModel {
  /** The float graph as read (BatchNormalization folded, spellings recognised, Softmax dropped). */
  readonly float: FloatGraph;
  /** Valid (validateProgram): every executor runs it bit for bit alike. */
  readonly program: GraphProgram;
  /** Real value of one step of each program value (index = value id): scales[0] quantises a real input (quantiseInput), the last dequantises the output. */
  readonly scales: readonly number[];
  readonly report: GraphQuantisationReport;
  /** What the importer changed that the owner should know: a dropped Softmax, nodes left out, weight scales raised for a bias. */
  readonly warnings: readonly string[];
}

/**
 * Imports `floatOnnx`. Throws OnnxFormatError for a file that is not a float model with one
 * input and one output (or whose input shape is symbolic and not given),
 * UnsupportedModelError naming the node and the op for anything it cannot read or quantise,
 * and a RangeError naming the sample for calibration or evaluation data of the wrong length
 * or not finite (or labels that are not classes).
 */
export async function importGraphModel(floatOnnx: Uint8Array, options: GraphImportOptions): Promise<ImportedGraphModel> {
  const float = readFloatGraph(floatOnnx, options.inputShape ? { inputShape: options.inputShape } : {});
  const inputSize = float.input.shape.reduce((a, b) => a * b, 1);
  checkSamples(options.calibration, inputSize, "calibration");
  const evaluation = options.evaluation ?? { inputs: options.calibration, heldOut: false };
  checkSamples(evaluation.inputs, inputSize, "evaluation");
  const floatRunner = await FloatGraphRunner.create(float);
  let integerRunner: OrtGraphRunner | undefined;
  try {
    const calibration = await calibrate(floatRunner, options.calibration, options.calibrationMethod ?? DEFAULT_CALIBRATION);
    const quantised = quantiseGraph(float, calibration.ranges);
    integerRunner = await OrtGraphRunner.create(quantised.program);
    const report = await computeGraphReport(quantised, floatRunner, integerRunner, calibration, options.calibration, evaluation);
    return { float, program: quantised.program, scales: quantised.scales, report, warnings: [...float.warnings, ...quantised.warnings] };
  } finally {
    await floatRunner.release();
    await integerRunner?.release();
  }
}
