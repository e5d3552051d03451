/**
 * The model owner's public API (docs/models.md): everything `npm run model` does, as functions.
 *
 *   import { importModel, readSamples, writeModelFolder, formatReport, initKeccak } from "refute/modelkit";
 *
 * Call `await initKeccak()` once before anything that computes a model root.
 */
export { initKeccak } from "../core/keccak";
export { type ImportOptions, type ImportedModel, MODEL_FOLDER_FILES, importModel, writeModelFolder } from "../core/modelImport/importModel";
export { type Evaluation, type LayerReport, type QuantisationReport, computeReport, formatReport } from "../core/modelImport/quantisationReport";
export { type InspectedLayer, type Inspection, formatInspection, inspectPath } from "../core/modelImport/inspectModel";
export { SampleFileError, readLabels, readSamples } from "../core/modelImport/samples";
export { type NpyArray, NpyFormatError, readNpy, writeNpy } from "../core/modelImport/npy";
export { type ModelFiles, ModelFilesError, inputScaleOf, loadModelDir } from "../core/modelFiles";
export { quantiseInput } from "../core/quantise";
export { UnsupportedModelError, readFloatModel } from "../core/onnx/floatModel";
export { checkRegisteredModel, readRegisteredModel, registerModel } from "../core/chain/modelRegistration";
export { ModelSourceError, fetchModelFolder } from "../core/distribution/modelSource";
export { type ModelFolder, readModelFolder } from "../core/modelFolders";
export { registerGraphModel } from "../core/chain/graphModelRegistration";
