import { GRAPH_PRODUCER } from "../../graph/onnxGraph";
import { INTEGER_MODEL_PRODUCER } from "../../onnx/integerGraph";
import { OnnxFormatError, decodeModel } from "../../onnx/onnxProto";
import type { FloatGraph } from "./floatGraph";
import { foldOnnxGraph } from "./foldOnnxGraph";
import { rewriteGraph } from "./rewriteGraph";

export { SUPPORTED_GRAPH_OPS } from "./foldOnnxGraph";

export interface ReadFloatGraphOptions {
  /**
   * The input's shape after the batch (e.g. [3, 224, 224]). Needed when the model leaves
   * dimensions symbolic; when it declares them, a given shape must agree. The batch is 1.
   */
  readonly inputShape?: readonly number[];
}

/**
 * Reads a float ONNX model, as PyTorch, tf2onnx or paddle2onnx export it (opsets 11–17 and
 * their spellings), into the float graph IR (floatGraph.ts): constants and shape subgraphs
 * folded for the fixed input shape (foldOnnxGraph.ts), then BatchNormalization folded into
 * its Conv, the HardSigmoid/HardSwish spellings recognised, constant Add/Mul folded into the
 * layer before and a final Softmax dropped with a warning (rewriteGraph.ts).
 *
 * Throws OnnxFormatError for a file that is not a float ONNX model (malformed, an integer
 * graph, not one float input and one output, a symbolic input dimension with no shape given)
 * and UnsupportedModelError, whose message begins `node <name>:` and names the op, for a node
 * the importer cannot read (`node /layer3/Erf: op Erf is not supported (supported: …)`).
 */
export function readFloatGraph(bytes: Uint8Array, options: ReadFloatGraphOptions = {}): FloatGraph {
  const model = decodeModel(bytes);
  if (model.producerName === INTEGER_MODEL_PRODUCER || model.producerName === GRAPH_PRODUCER) {
    throw new OnnxFormatError(`this is Refute's integer graph (producer ${model.producerName}): import takes the float ONNX model to quantise`);
  }
  return rewriteGraph(foldOnnxGraph(model, options));
}
