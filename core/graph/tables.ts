import { INT8_MAX, INT8_MIN } from "../intSemantics";

/**
 * Building the 256-entry tables of the Table op (docs/graph-semantics.md §5.3). A table is
 * the exact definition of its function: what is committed is the 256 bytes, and every
 * executor reads them. These builders run once, when a model is made (like quantisation),
 * so they may use floating point; nothing that executes a program does.
 */

/** The table of an integer function: entry x + 128 = clamp(round-half-up(f(x))) for x = −128 … 127. */
export function tableOf(f: (x: number) => number): Int8Array {
  const t = new Int8Array(256);
  for (let x = INT8_MIN; x <= INT8_MAX; x++) {
    const y = Math.floor(f(x) + 0.5);
    t[x + 128] = Math.min(INT8_MAX, Math.max(INT8_MIN, Number.isFinite(y) ? y : y > 0 ? INT8_MAX : INT8_MIN));
  }
  return t;
}

/** The table of a real function between two quantisation scales: x ↦ f(x · inScale) / outScale. */
export function realFunctionTable(f: (r: number) => number, inScale: number, outScale: number): Int8Array {
  return tableOf((x) => f(x * inScale) / outScale);
}

/** ONNX HardSigmoid: max(0, min(1, α·r + β)); MobileNetV3 uses α = 1/6, β = 1/2 (ReLU6(r + 3) / 6). */
export function hardSigmoidTable(inScale: number, outScale: number, alpha = 1 / 6, beta = 0.5): Int8Array {
  return realFunctionTable((r) => Math.max(0, Math.min(1, alpha * r + beta)), inScale, outScale);
}

/** ONNX HardSwish: r · max(0, min(1, r/6 + 1/2)). */
export function hardSwishTable(inScale: number, outScale: number): Int8Array {
  return realFunctionTable((r) => r * Math.max(0, Math.min(1, r / 6 + 0.5)), inScale, outScale);
}
