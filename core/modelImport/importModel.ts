import { mkdirSync, writeFileSync } from "node:fs";
import path from "node:path";
import { commitModel } from "../commitments";
import type { IntegerModel } from "../model";
import { type ModelDescriptor, describeModel } from "../modelDescriptor";
import { type FloatModel, readFloatModel } from "../onnx/floatModel";
import { buildIntegerOnnx } from "../onnx/integerGraph";
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
  /** More descriptor meta (a training configuration, a dataset's name); the importer's own keys come first. */
  readonly meta?: Record<string, unknown>;
}

export interface ImportedModel {
  readonly floatOnnx: Uint8Array;
  readonly float: FloatModel;
  readonly model: IntegerModel;
  readonly integerOnnx: Uint8Array;
  /** Real value of one step of each activation: [input, layer 1, …]. */
  readonly scales: readonly number[];
  readonly descriptor: ModelDescriptor;
  readonly report: QuantisationReport;
}

/** The files of a model folder, in the order they are written. */
export const MODEL_FOLDER_FILES = ["float.onnx", "integer.onnx", "descriptor.json"] as const;

/**
 * Reads, calibrates and quantises the float model, measures what quantisation cost, and builds the
 * canonical integer graph and the descriptor. Throws the reader's error for a file that is not ONNX
 * or has an unsupported op (naming the node), quantise's for bad calibration data (naming the
 * sample), and a RangeError when labels and evaluated samples differ in number.
 */
export function importModel(floatOnnx: Uint8Array, options: ImportOptions): ImportedModel {
  const float = readFloatModel(floatOnnx);
  const evaluation = options.evaluation ?? { inputs: options.calibration, heldOut: false };
  if (evaluation.labels && evaluation.labels.length !== evaluation.inputs.length) {
    throw new RangeError(`${evaluation.labels.length} labels for ${evaluation.inputs.length} evaluated samples`);
  }
  const quantised = quantise(float, options.calibration);
  const { model, scales } = quantised;
  const report = computeReport(float, quantised, options.calibration, evaluation);
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
    },
    files: { float: "float.onnx", integer: "integer.onnx" },
  });
  return { floatOnnx, float, model, integerOnnx: buildIntegerOnnx(model), scales, descriptor, report };
}

/** Writes the model folder: float.onnx, integer.onnx and descriptor.json (pretty JSON), creating `dir`. */
export function writeModelFolder(dir: string, imported: ImportedModel): void {
  mkdirSync(dir, { recursive: true });
  writeFileSync(path.join(dir, "float.onnx"), imported.floatOnnx);
  writeFileSync(path.join(dir, "integer.onnx"), imported.integerOnnx);
  writeFileSync(path.join(dir, "descriptor.json"), `${JSON.stringify(imported.descriptor, null, 2)}\n`);
}
