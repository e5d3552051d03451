import type { GraphProgram, Op, Shape } from "./program";
import { isLayout, stridesOf } from "./program";

/**
 * The index maps of the layout ops (docs/graph-semantics.md §5.4): element i of a view is
 * element `index` of input `slot`. Views are not computation and not committed; an opening
 * of a view's element is an opening of its source element ({@link resolveElement}).
 */
export type ViewMap = (i: number) => { slot: number; index: number };

/** The index map of layout op `op` with input shapes `inShapes` and output shape `outShape`. */
export function viewMap(op: Op, inShapes: readonly Shape[], outShape: Shape): ViewMap {
  const coords = (i: number, strides: readonly number[], shape: Shape) => strides.map((st, a) => Math.floor(i / st) % shape[a]);
  const outStrides = stridesOf(outShape);
  switch (op.kind) {
    case "flatten":
    case "reshape":
      return (i) => ({ slot: 0, index: i });
    case "transpose": {
      const inStrides = stridesOf(inShapes[0]);
      return (i) => {
        const o = coords(i, outStrides, outShape);
        let index = 0;
        op.perm.forEach((p, a) => (index += o[a] * inStrides[p]));
        return { slot: 0, index };
      };
    }
    case "concat": {
      const offsets: number[] = [];
      let at = 0;
      for (const s of inShapes) {
        offsets.push(at);
        at += s[op.axis];
      }
      const inStrides = inShapes.map(stridesOf);
      return (i) => {
        const o = coords(i, outStrides, outShape);
        let slot = inShapes.length - 1;
        while (offsets[slot] > o[op.axis]) slot--;
        o[op.axis] -= offsets[slot];
        return { slot, index: o.reduce((acc, c, a) => acc + c * inStrides[slot][a], 0) };
      };
    }
    case "slice": {
      const inStrides = stridesOf(inShapes[0]);
      return (i) => {
        const o = coords(i, outStrides, outShape);
        return { slot: 0, index: o.reduce((acc, c, a) => acc + (op.starts[a] + c * op.steps[a]) * inStrides[a], 0) };
      };
    }
    default:
      throw new TypeError(`${op.kind} is not a layout op`);
  }
}

/**
 * The committed element behind element `index` of value `value`: follows views down to the
 * input or to a value that an op computed. `shapes` are the value shapes validateProgram returns.
 */
export function resolveElement(program: GraphProgram, shapes: readonly Shape[], value: number, index: number): { value: number; index: number } {
  while (value > 0 && isLayout(program.ops[value - 1])) {
    const op = program.ops[value - 1];
    const { slot, index: j } = viewMap(op, op.inputs.map((v) => shapes[v]), shapes[value])(index);
    value = op.inputs[slot];
    index = j;
  }
  return { value, index };
}
