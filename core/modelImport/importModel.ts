import { mkdirSync, writeFileSync } from "node:fs";
import path from "node:path";
import { commitModel } from "../commitments";
import type { IntegerModel } from "../model";
import { type ModelDescriptor, describeModel } from "../modelDescriptor";
import { type FloatModel, readFloatModel } from "../onnx/floatModel";
import { INTEGER_MODEL_PRODUCER, buildIntegerOnnx } from "../onnx/integerGraph";
import { OnnxFormatError, decodeModel } from "../onnx/onnxProto";
import { quantise } from "../quantise";
import { type Evaluation, type QuantisationReport, computeReport } from "./quantisationReport";

/**
 * The model owner's import, in one place: a float ONNX file and calibration samples in, a model
 * folder's contents and the quantisation report out. `npm run model -- import`, the public API
 * (modelkit/index.ts) and scripts/build-reference-model.ts all go through here. Call initKeccak()
 * (core/keccak.ts) once before.
 */

export interface ImportOptions {
  /** The model's name in descriptor.json. */
  readonly name: string;
  /** Samples that calibrate the activation scales, each a row of the model's input size. */
  readonly calibration: readonly ArrayLike<number>[];
  /** What the report evaluates: held-out samples (or the calibration ones again), with labels if known. Default: the calibration samples, unlabelled. */
  readonly evaluation?: Evaluation;
  /** More descriptor meta (a training configuration, a dataset's name); it may not reuse a key the importer writes. */
  readonly meta?: Record<string, unknown>;
}

export interface ImportedModel {
  readonly floatOnnx: Uint8Array;
  readonly float: FloatModel;
  readonly model: IntegerModel;
  /** The canonical integer graph (buildIntegerOnnx): the bytes of integer.onnx. */
  readonly integerOnnx: Uint8Array;
  /** Real value of one step of each activation: [input, layer 1, …]. */
  readonly scales: readonly number[];
  readonly descriptor: ModelDescriptor;
  readonly report: QuantisationReport;
}

/** The files of a model folder, in the order they are written. */
export const MODEL_FOLDER_FILES = ["float.onnx", "integer.onnx", "descriptor.json"] as const;

/**
 * The descriptor meta keys the importer writes (`options.meta` may not reuse them): inputScale is
 * what nodes and the SDK quantise a real input with; the rest records the input's shape, every
 * activation scale and the report's headline numbers.
 */
export const IMPORTER_META_KEYS = ["inputScale", "outputScale", "inputShape", "activationScales", "quantisation", "files"] as const;

/**
 * Reads, calibrates and quantises the float model, measures what quantisation cost, and builds the
 * canonical integer graph and the descriptor. Throws OnnxFormatError for a file that is not ONNX or
 * is already an integer graph, UnsupportedModelError (naming the node) for an op it cannot import,
 * quantise's RangeError for bad calibration data (naming the sample), computeReport's RangeError for
 * bad evaluation samples or labels (e.g. "2 labels for 1 evaluated samples"), and a RangeError for
 * `meta` that reuses an importer key.
 */
export function importModel(floatOnnx: Uint8Array, options: ImportOptions): ImportedModel {
  const clash = Object.keys(options.meta ?? {}).find((k) => (IMPORTER_META_KEYS as readonly string[]).includes(k));
  if (clash !== undefined) throw new RangeError(`meta.${clash} is written by the importer; give the extra meta another key`);
  if (decodeModel(floatOnnx).producerName === INTEGER_MODEL_PRODUCER) {
    throw new OnnxFormatError("this is Refute's integer graph (an integer.onnx): import takes the float ONNX model to quantise");
  }
  const float = readFloatModel(floatOnnx);
  const quantised = quantise(float, options.calibration);
  const { model, scales } = quantised;
  const report = computeReport(float, quantised, options.calibration, options.evaluation ?? { inputs: options.calibration, heldOut: false });
  const descriptor = describeModel(options.name, model, commitModel(model), {
    inputScale: scales[0],
    outputScale: scales[scales.length - 1],
    inputShape: float.inputShape ?? [float.inputSize],
    ...options.meta,
    activationScales: scales,
    quantisation: {
      calibrationSize: options.calibration.length,
      evaluated: report.evaluated,
      ...(report.accuracy ? { accuracy: report.accuracy } : {}),
      argmaxAgreement: report.agreement,
      maxOutputError: report.outputError.max,
      meanOutputError: report.outputError.mean,
      nearTies: report.nearTies.count,
    },
    files: { float: "float.onnx", integer: "integer.onnx" },
  });
  return { floatOnnx, float, model, integerOnnx: buildIntegerOnnx(model), scales, descriptor, report };
}

/**
 * Writes the model folder that nodes, watchers and `npm run model -- register` read: float.onnx,
 * integer.onnx and descriptor.json (JSON with two-space indents and a final newline), creating `dir`
 * and its parents if needed and overwriting those three files.
 */
export function writeModelFolder(dir: string, imported: ImportedModel): void {
  mkdirSync(dir, { recursive: true });
  writeFileSync(path.join(dir, "float.onnx"), imported.floatOnnx);
  writeFileSync(path.join(dir, "integer.onnx"), imported.integerOnnx);
  writeFileSync(path.join(dir, "descriptor.json"), `${JSON.stringify(imported.descriptor, null, 2)}\n`);
}
