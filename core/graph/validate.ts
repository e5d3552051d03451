import { INT8_MAX, INT8_MIN, INT32_MAX, MULTIPLIER_MAX, SHIFT_MAX, SHIFT_MIN } from "../intSemantics";
import { opFields } from "./descriptor";
import { broadcastShape, everyWindowTouchesInput, window2d } from "./geometry";
import { type Constant, type GraphProgram, type Op, OP_CODES, type Shape, sizeOf } from "./program";

/**
 * Validation of a graph program (docs/graph-semantics.md §2–§3): ids, shapes, ranges and the
 * accumulator bound of every reduction. A program that passes can be executed by every
 * executor with no int32 accumulator or partial sum ever leaving int32 and no int64
 * intermediate leaving int64. Returns the shape of every value.
 */

/** The absolute value of the largest int8, for the accumulator bound: |x| ≤ 128. */
const MAX_ABS_INT8 = 128;

/** A program that breaks the graph semantics; the message names the value, its op and the rule. */
export class GraphValidationError extends Error {
  constructor(
    /** The value whose op breaks the rule (0: the input or the program as a whole). */
    readonly value: number,
    /** The op kind, or "program" / "constant k". */
    readonly op: string,
    readonly problem: string,
  ) {
    super(`value ${value} (${op}): ${problem}`);
    this.name = "GraphValidationError";
  }
}

/** Throws {@link GraphValidationError} unless `program` satisfies every rule; returns the shape of each value (index = value id). */
export function validateProgram(program: GraphProgram): Shape[] {
  const top = (problem: string): never => {
    throw new GraphValidationError(0, "program", problem);
  };
  if (!Array.isArray(program.inputShape) || program.inputShape.length === 0 || !program.inputShape.every(isPositiveInt)) {
    top(`input shape must be a non-empty list of positive integers, got ${JSON.stringify(program.inputShape)}`);
  }
  program.constants.forEach((c, k) => checkConstant(c, k));
  if (program.ops.length === 0) top("a program needs at least one op");
  const shapes: Shape[] = [program.inputShape];
  program.ops.forEach((op, k) => shapes.push(checkOp(program, op, k + 1, shapes)));
  return shapes;
}

function checkConstant(c: Constant, k: number): void {
  const fail = (problem: string): never => {
    throw new GraphValidationError(0, `constant ${k}`, problem);
  };
  if (!Array.isArray(c.shape) || !c.shape.every(isPositiveInt)) fail(`shape must be a list of positive integers, got ${JSON.stringify(c.shape)}`);
  if (c.dtype === "int8") {
    if (!(c.data instanceof Int8Array)) fail("an int8 constant holds an Int8Array");
  } else if (c.dtype === "int32") {
    if (!(c.data instanceof Int32Array)) fail("an int32 constant holds an Int32Array");
  } else fail(`dtype ${String((c as { dtype: unknown }).dtype)} is neither int8 nor int32`);
  if (c.data.length !== sizeOf(c.shape)) fail(`has ${c.data.length} elements, its shape [${c.shape}] needs ${sizeOf(c.shape)}`);
}

function checkOp(program: GraphProgram, op: Op, v: number, shapes: Shape[]): Shape {
  const kind = (op as { kind: unknown }).kind;
  const fail = (problem: string): never => {
    throw new GraphValidationError(v, typeof kind === "string" ? kind : "unknown op", problem);
  };
  if (typeof kind !== "string" || !(kind in OP_CODES)) fail(`unknown op kind ${JSON.stringify(kind)}`);
  // The descriptor encoding is the op: a field it does not carry would escape the commitment.
  const known = new Set(["kind", ...opFields(op.kind)]);
  for (const key of Object.keys(op)) if (!known.has(key)) fail(`field ${JSON.stringify(key)} is not part of a ${op.kind} descriptor`);
  const inputs = op.inputs;
  if (!Array.isArray(inputs)) fail("inputs must be a list of value ids");
  const arity = op.kind === "concat" ? undefined : op.kind === "add" || op.kind === "mul" ? 2 : 1;
  if (arity !== undefined && inputs.length !== arity) fail(`takes ${arity} input${arity > 1 ? "s" : ""}, got ${inputs.length}`);
  if (inputs.length === 0) fail("needs at least one input");
  for (const id of inputs) if (!Number.isInteger(id) || id < 0 || id >= v) fail(`input ${id} is not an earlier value (0 … ${v - 1})`);
  const inShapes = inputs.map((id) => shapes[id]);
  const x = inShapes[0];

  const int = (name: string, value: number, lo: number, hi: number) => {
    if (!Number.isInteger(value) || value < lo || value > hi) fail(`${name} ${value} outside ${lo} … ${hi}`);
  };
  const ints = (name: string, value: readonly number[], length: number, lo: number, hi = Number.MAX_SAFE_INTEGER) => {
    if (!Array.isArray(value) || value.length !== length) fail(`${name} must be a list of ${length} integers, got ${JSON.stringify(value)}`);
    value.forEach((n) => int(name, n, lo, hi));
  };
  const requant = (m: number, s: number, label = "") => {
    int(`${label}multiplier`, m, 0, MULTIPLIER_MAX);
    int(`${label}shift`, s, SHIFT_MIN, SHIFT_MAX);
  };
  const clampRange = (lo: number, hi: number) => {
    if (!Number.isInteger(lo) || !Number.isInteger(hi) || lo < INT8_MIN || hi > INT8_MAX || lo > hi) fail(`clamp [${lo}, ${hi}] is not a range inside [${INT8_MIN}, ${INT8_MAX}]`);
  };
  const rank = (n: number) => {
    if (x.length !== n) fail(`expects a rank-${n} input, value ${inputs[0]} has shape [${x}]`);
  };
  const constShape = (name: string, id: number): Shape => {
    if (!Number.isInteger(id) || id < 0 || id >= program.constants.length) fail(`${name} constant ${id} does not exist`);
    return program.constants[id].shape;
  };
  const constant = (name: string, id: number, dtype: Constant["dtype"], shape: Shape): Constant => {
    constShape(name, id);
    const c = program.constants[id];
    if (c.dtype !== dtype) fail(`${name} constant ${id} is ${c.dtype}, expected ${dtype}`);
    if (!sameShape(c.shape, shape)) fail(`${name} constant ${id} has shape [${c.shape}], expected [${shape}]`);
    return c;
  };
  const perChannel = (m: readonly number[], s: readonly number[], channels: number, lo: number, hi: number) => {
    if (!Array.isArray(m) || !Array.isArray(s) || m.length !== s.length || (m.length !== 1 && m.length !== channels)) {
      fail(`multiplier and shift must be two lists of the same length, 1 or ${channels} (one per output channel)`);
    }
    m.forEach((mm, i) => requant(mm, s[i]));
    clampRange(lo, hi);
  };
  /** max over rows of |bias| + 128·Σ|w| ≤ 2³¹−1: no partial sum of any row can leave int32. */
  const sumOfProductsBound = (weight: Int8Array, bias: Int32Array, rows: number, rowLength: number) => {
    for (let r = 0; r < rows; r++) {
      let absW = 0;
      for (let t = 0; t < rowLength; t++) absW += Math.abs(weight[r * rowLength + t]);
      const bound = Math.abs(bias[r]) + MAX_ABS_INT8 * absW;
      if (bound > INT32_MAX) {
        fail(`accumulator of output channel ${r} could overflow int32: |bias| ${Math.abs(bias[r])} + 128 × Σ|w| ${absW} = ${bound} > ${INT32_MAX}`);
      }
    }
  };
  const windowAttrs = (kernel: readonly number[] | undefined, strides: readonly number[], pads: readonly number[], dilations: readonly number[]) => {
    if (kernel) ints("kernel", kernel, 2, 1);
    ints("strides", strides, 2, 1);
    ints("pads", pads, 4, 0);
    ints("dilations", dilations, 2, 1);
  };

  switch (op.kind) {
    case "dense": {
      rank(1);
      const nIn = x[0];
      const w = constant("weight", op.weight, "int8", [constShape("weight", op.weight)[0], nIn]);
      const nOut = w.shape[0];
      const b = constant("bias", op.bias, "int32", [nOut]);
      perChannel(op.multiplier, op.shift, nOut, op.clampLo, op.clampHi);
      sumOfProductsBound(w.data as Int8Array, b.data as Int32Array, nOut, nIn);
      return [nOut];
    }
    case "conv": {
      rank(3);
      const [C, H, W] = x;
      windowAttrs(undefined, op.strides, op.pads, op.dilations);
      int("groups", op.groups, 1, Number.MAX_SAFE_INTEGER);
      if (C % op.groups !== 0) fail(`groups ${op.groups} does not divide the ${C} input channels`);
      const ws = constShape("weight", op.weight);
      if (ws.length !== 4) fail(`weight constant ${op.weight} must be [M, C/groups, kH, kW], has shape [${ws}]`);
      const [M, , kH, kW] = ws;
      if (M % op.groups !== 0) fail(`groups ${op.groups} does not divide the ${M} output channels`);
      const w = constant("weight", op.weight, "int8", [M, C / op.groups, kH, kW]);
      const b = constant("bias", op.bias, "int32", [M]);
      const g = window2d(H, W, [kH, kW], op.strides, op.pads, op.dilations);
      if (g.OH < 1 || g.OW < 1) fail(`the ${kH}×${kW} kernel (dilations [${op.dilations}], pads [${op.pads}]) does not fit the ${H}×${W} input`);
      perChannel(op.multiplier, op.shift, M, op.clampLo, op.clampHi);
      sumOfProductsBound(w.data as Int8Array, b.data as Int32Array, M, (C / op.groups) * kH * kW);
      return [M, g.OH, g.OW];
    }
    case "maxPool":
    case "avgPool": {
      rank(3);
      const [C, H, W] = x;
      windowAttrs(op.kernel, op.strides, op.pads, op.dilations);
      const [kH, kW] = op.kernel;
      const [t, l, b, r] = op.pads;
      if (t >= kH || b >= kH || l >= kW || r >= kW) fail(`pads [${op.pads}] must each be smaller than the kernel ${kH}×${kW}`);
      const g = window2d(H, W, op.kernel, op.strides, op.pads, op.dilations);
      if (g.OH < 1 || g.OW < 1) fail(`the ${kH}×${kW} window (dilations [${op.dilations}], pads [${op.pads}]) does not fit the ${H}×${W} input`);
      if (op.kind === "maxPool") {
        if (!everyWindowTouchesInput(g)) fail("some window holds only padding (its maximum would be undefined)");
      } else {
        requant(op.multiplier, op.shift);
        clampRange(op.clampLo, op.clampHi);
        if (MAX_ABS_INT8 * kH * kW > INT32_MAX) fail(`window sum could overflow int32: 128 × ${kH * kW} > ${INT32_MAX}`);
      }
      return [C, g.OH, g.OW];
    }
    case "globalAvgPool": {
      rank(3);
      const [C, H, W] = x;
      requant(op.multiplier, op.shift);
      clampRange(op.clampLo, op.clampHi);
      if (MAX_ABS_INT8 * H * W > INT32_MAX) fail(`channel sum could overflow int32: 128 × ${H * W} > ${INT32_MAX}`);
      return [C, 1, 1];
    }
    case "add":
    case "mul": {
      const out = broadcastShape(inShapes[0], inShapes[1]);
      if (!out) fail(`shapes [${inShapes[0]}] and [${inShapes[1]}] do not broadcast (same rank, each dimension equal or 1)`);
      if (op.kind === "add") {
        requant(op.multiplierA, op.shiftA, "operand A ");
        requant(op.multiplierB, op.shiftB, "operand B ");
      } else requant(op.multiplier, op.shift);
      clampRange(op.clampLo, op.clampHi);
      return out!;
    }
    case "clamp":
      clampRange(op.lo, op.hi);
      return x;
    case "table":
      constant("table", op.table, "int8", [256]);
      return x;
    case "flatten":
      return [sizeOf(x)];
    case "reshape":
      if (!Array.isArray(op.shape) || op.shape.length === 0 || !op.shape.every(isPositiveInt)) fail(`shape must be a non-empty list of positive integers, got ${JSON.stringify(op.shape)}`);
      if (sizeOf(op.shape) !== sizeOf(x)) fail(`cannot reshape [${x}] (${sizeOf(x)} elements) to [${op.shape}] (${sizeOf(op.shape)})`);
      return [...op.shape];
    case "transpose": {
      ints("perm", op.perm, x.length, 0, x.length - 1);
      if (new Set(op.perm).size !== x.length) fail(`perm [${op.perm}] is not a permutation of 0 … ${x.length - 1}`);
      return op.perm.map((a) => x[a]);
    }
    case "concat": {
      int("axis", op.axis, 0, x.length - 1);
      let along = 0;
      for (const s of inShapes) {
        if (s.length !== x.length || s.some((d, a) => a !== op.axis && d !== x[a])) fail(`shapes [${inShapes.map((q) => `[${q}]`).join(", ")}] do not agree off axis ${op.axis}`);
        along += s[op.axis];
      }
      return x.map((d, a) => (a === op.axis ? along : d));
    }
    case "slice": {
      ints("starts", op.starts, x.length, 0);
      ints("sizes", op.sizes, x.length, 1);
      ints("steps", op.steps, x.length, -Number.MAX_SAFE_INTEGER);
      x.forEach((d, a) => {
        const last = op.starts[a] + (op.sizes[a] - 1) * op.steps[a];
        if (op.steps[a] === 0) fail(`step of axis ${a} is 0`);
        if (op.starts[a] >= d || last < 0 || last >= d) fail(`axis ${a}: indices ${op.starts[a]}, ${op.starts[a]} + ${op.steps[a]}·i … ${last} leave 0 … ${d - 1}`);
      });
      return [...op.sizes];
    }
  }
  return fail("unreachable");
}

function sameShape(a: Shape, b: Shape): boolean {
  return a.length === b.length && a.every((d, i) => d === b[i]);
}

function isPositiveInt(n: unknown): boolean {
  return typeof n === "number" && Number.isSafeInteger(n) && n > 0;
}
