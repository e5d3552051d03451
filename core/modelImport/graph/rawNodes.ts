import type { FloatOp } from "./floatGraph";

/**
 * The nodes between the two reading passes (foldOnnxGraph.ts → rewriteGraph.ts): every
 * float IR op, plus the ONNX ops that the rewrite folds away or merges (BatchNormalization,
 * an Add/Sub/Mul/Div with a constant operand, the final Softmax).
 */

/** BatchNormalization in inference form: y = γ·(x − μ)/√(σ² + ε) + β per channel (axis 1). */
export interface RawBatchNorm {
  readonly kind: "batchNorm";
  readonly scale: Float64Array;
  readonly bias: Float64Array;
  readonly mean: Float64Array;
  readonly variance: Float64Array;
  readonly epsilon: number;
}

/** y = x + c (Add, or Sub with the constant second) or y = x · c (Mul, or Div with the constant second): `values` is c broadcast to the output's (batch-less) shape. */
export interface RawAffineConst {
  readonly kind: "addConst" | "mulConst";
  readonly values: Float64Array;
}

export interface RawSoftmax {
  readonly kind: "softmax";
}

export type RawOp = FloatOp | RawBatchNorm | RawAffineConst | RawSoftmax;

export type RawNode = RawOp & {
  /** The ONNX node names this node stands for; the first is the one messages name. */
  readonly sources: readonly string[];
  /** The ONNX op of the first source, for messages. */
  readonly opType: string;
  readonly inputs: readonly string[];
  readonly output: string;
  /** The output's shape, batch left out. */
  readonly shape: readonly number[];
};

/** The result of the first pass: the graph input, the activation nodes and the graph output (aliases resolved). */
export interface RawGraph {
  readonly input: { readonly name: string; readonly shape: readonly number[] };
  readonly nodes: RawNode[];
  readonly output: string;
  readonly opset: number;
  readonly warnings: string[];
}

/** A constant operand's values when they are all the same number. */
export function uniformValue(values: Float64Array): number | undefined {
  if (values.length === 0) return undefined;
  const v = values[0];
  for (let i = 1; i < values.length; i++) if (values[i] !== v) return undefined;
  return v;
}

