import type { Constant, GraphProgram, Op } from "./program";

/**
 * A graph program as plain JSON (for files, messages and failing-test dumps): the ops are
 * already JSON; constants become { dtype, shape, data: number[] }. Reading validates nothing:
 * call validateProgram on the result.
 */
export interface GraphProgramJson {
  readonly inputShape: number[];
  readonly constants: { dtype: "int8" | "int32"; shape: number[]; data: number[] }[];
  readonly ops: Op[];
}

export function programToJson(program: GraphProgram): GraphProgramJson {
  return {
    inputShape: [...program.inputShape],
    constants: program.constants.map((c) => ({ dtype: c.dtype, shape: [...c.shape], data: Array.from(c.data) })),
    ops: program.ops.map((op) => JSON.parse(JSON.stringify(op)) as Op),
  };
}

export function programFromJson(json: GraphProgramJson): GraphProgram {
  const constants: Constant[] = json.constants.map((c, k) => {
    if (c.dtype === "int8") return { dtype: "int8", shape: c.shape, data: Int8Array.from(c.data) };
    if (c.dtype === "int32") return { dtype: "int32", shape: c.shape, data: Int32Array.from(c.data) };
    throw new TypeError(`constant ${k}: dtype ${JSON.stringify(c.dtype)} is neither int8 nor int32`);
  });
  return { inputShape: json.inputShape, constants, ops: json.ops };
}
