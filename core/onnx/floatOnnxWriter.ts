import { transpose } from "../matrix";
import type { FloatModel } from "./floatModel";
import { DataType, encodeModel, floatTensor, node, attribute, type onnx, valueInfo } from "./onnxProto";

export interface FloatOnnxOptions {
  /** Input shape after the batch; its product must be the model's input size. [n] by default. */
  inputShape?: readonly number[];
  /** Write MatMul + Add instead of Gemm (both are what exporters produce). */
  style?: "gemm" | "matmul-add";
}

/**
 * Writes a float Dense chain as an ordinary ONNX model, the kind a training framework
 * exports: Flatten (when the input has more than one dimension), then Gemm or MatMul+Add,
 * with Relu where the layer has one.
 */
export function writeFloatOnnx(model: FloatModel, options: FloatOnnxOptions = {}): Uint8Array {
  const inputShape = options.inputShape ?? [model.inputSize];
  const nodes: onnx.INodeProto[] = [];
  const initializer: onnx.ITensorProto[] = [];
  let x = "input";
  if (inputShape.length > 1) {
    nodes.push(node("Flatten", "flatten", [x], ["flat"], [attribute("axis", 1)]));
    x = "flat";
  }
  model.layers.forEach((layer, i) => {
    const p = `fc${i + 1}`;
    initializer.push(floatTensor(`${p}.bias`, [layer.nOut], layer.bias));
    if (options.style === "matmul-add") {
      initializer.push(floatTensor(`${p}.weight`, [layer.nIn, layer.nOut], transpose(layer.weights, layer.nOut, layer.nIn)));
      nodes.push(node("MatMul", `${p}/matmul`, [x, `${p}.weight`], [`${p}/mm`]), node("Add", `${p}/add`, [`${p}/mm`, `${p}.bias`], [`${p}/out`]));
    } else {
      initializer.push(floatTensor(`${p}.weight`, [layer.nOut, layer.nIn], layer.weights));
      nodes.push(node("Gemm", `${p}/gemm`, [x, `${p}.weight`, `${p}.bias`], [`${p}/out`], [attribute("transB", 1)]));
    }
    x = `${p}/out`;
    if (layer.relu) {
      nodes.push(node("Relu", `${p}/relu`, [x], [`${p}/relu_out`]));
      x = `${p}/relu_out`;
    }
  });
  const nOut = model.layers[model.layers.length - 1].nOut;
  return encodeModel(
    {
      name: "float_mlp",
      node: nodes,
      initializer,
      input: [valueInfo("input", DataType.FLOAT, ["batch", ...inputShape])],
      output: [valueInfo(x, DataType.FLOAT, ["batch", nOut])],
    },
    "refute-trainer",
  );
}
