/**
 * The integer graph program (docs/graph-semantics.md): a DAG of integer ops over int8 values,
 * each op a few committed stages (reductions and elementwise steps) or a view. Pure logic;
 * the onnxruntime runner (which loads the native runtime) is imported from ./ortGraphRunner.
 */
export * from "./program";
export { GraphValidationError, validateProgram } from "./validate";
export { type Stage, type StageKind, type Combine, type StageSource, type TraceEntry, opStages, traceLayout, traceName } from "./stages";
export { type Reduction, type ReducingOp, reductionOf, foldTerms, foldRow } from "./reductions";
export { type ViewMap, viewMap, resolveElement } from "./views";
export { type GraphTrace, type TraceTensor, executeProgram, runOp } from "./execute";
export { GRAPH_INPUT_NAME, GRAPH_PRODUCER, buildGraphOnnx } from "./onnxGraph";
export { DESCRIPTOR_FIELDS, opFields, descriptorWords, encodeDescriptor, decodeDescriptor } from "./descriptor";
export { type GraphProgramJson, programToJson, programFromJson } from "./json";
export { tableOf, realFunctionTable, hardSigmoidTable, hardSwishTable } from "./tables";
export { windowOutputSize, window2d, type Window2d, broadcastShape, broadcastIndexMap } from "./geometry";
