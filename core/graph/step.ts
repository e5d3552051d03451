import { INT8_MAX, INT8_MIN, INT32_MAX, INT32_MIN, MULTIPLIER_MAX, SHIFT_MAX, SHIFT_MIN, clamp, requantise } from "../intSemantics";
import { type MerkleTree, treeDepth, verifyProof } from "../merkle";
import { constantRootsOf, constantTree, requantTree } from "./commitments";
import { type GraphTrace, runOp } from "./execute";
import { broadcastIndexMap } from "./geometry";
import { type GraphProgram, type Op, type Shape, OP_CODES, isLayout, sizeOf } from "./program";
import { CHUNK_TERMS, type Reduction, type ReducingOp, chunkCountOf, chunkRange, foldTerms, reductionOf } from "./reductions";
import { type Combine, type Stage, opStages } from "./stages";
import { resolveElement } from "./views";

/**
 * The one step of a graph program's dispute (docs/graph-semantics.md §11), in TypeScript: the twin
 * of the Solidity step verifiers (contracts/interfaces/IStepVerifier.sol; contracts/steps/: the
 * multiply-accumulate, pooling and elementwise families behind StepRouter), function for function
 * and error for error, and the builders that find a step's operands in a trace.
 *
 * Every step gets a {@link StepContext} (the op, its constants' roots, the stage, the element and
 * the size of the stage's tensor) and plain numbers the game has opened:
 *  - {@link foldInit}: the start s_0 of a reduce row ([bias of the row's channel] for a sum of
 *    products, nothing for a sum or a max);
 *  - {@link foldChunk}: one chunk of at most 32 terms of the row (inputs, weights, a mask of padded
 *    cells) folded onto the agreed running value;
 *  - {@link step}: one element of an elementwise stage from its operands (and, for a Table, the
 *    leaf and proof of the table entry, which the step checks itself).
 * The formulas are core/graph's own: chunks fold through `foldTerms`, Add, Mul and Clamp run
 * through `runOp` on one element, requantisation is core/intSemantics'. Where the Solidity
 * verifier reverts, these throw a {@link StepRefused} with the Solidity error's name and values.
 */

/** A reduce stage (a fold over a row, dissected into chunks), as IStepVerifier.stageKinds says. */
export const STAGE_REDUCE = 1;
/** An elementwise stage (one step). */
export const STAGE_ELEMENTWISE = 2;
/**
 * A finished reduce (stages.ts `finish`): an int32 fold dissected into chunks, then one more "chunk", {@link step}
 * on the row's whole fold. Its fold is never committed.
 */
export const STAGE_FINISHED_REDUCE = 4;
/** A Table's tree (core/graph/commitments.ts constantTree of an int8 [256]): 8 leaves of 32 entries, depth 3. */
export const TABLE_DEPTH = 3;

/** The Solidity verifier's refusal: `error` is the custom error's name, `args` its values. */
export class StepRefused extends RangeError {
  constructor(
    readonly error: string,
    readonly args: readonly bigint[],
  ) {
    super(`${error}(${args.join(", ")})`);
    this.name = "StepRefused";
  }
}

function refuse(error: string, ...args: (number | bigint)[]): never {
  throw new StepRefused(error, args.map(BigInt));
}

/** Where a step is, and the op it belongs to (IStepVerifier.StepContext with the op decoded). */
export interface StepContext {
  readonly op: Op;
  /**
   * Roots of the op's constants in model-leaf order (constantRootsOf): Dense, Conv: weight, bias (and with
   * per-channel requantisation, its derived constant); Table: the table.
   */
  readonly constantRoots: readonly Uint8Array[];
  /** The stage's index in opStages(op). */
  readonly stage: number;
  /** The disputed element of the stage's tensor (a reduce stage: the row). */
  readonly element: number;
  /** The size of the stage's tensor: the op's output size. */
  readonly elements: number;
}

// ------------------------------------------------------------------------------------------------
// The twin of IStepVerifier
// ------------------------------------------------------------------------------------------------

function stagesOf(op: Op): Stage[] {
  if (isLayout(op)) refuse("GraphStepUnsupportedOp", OP_CODES[op.kind]);
  return opStages(op, []);
}

/** IStepVerifier.stageKinds: each stage's kind (1 reduce, 2 elementwise, 4 finished reduce) and element width in bits (8 or 32). */
export function stageKinds(op: Op): { kinds: number[]; bits: number[] } {
  const stages = stagesOf(op);
  const kindOf = (s: Stage) => (s.kind !== "reduce" ? STAGE_ELEMENTWISE : s.finish ? STAGE_FINISHED_REDUCE : STAGE_REDUCE);
  return { kinds: stages.map(kindOf), bits: stages.map((s) => (s.dtype === "int8" ? 8 : 32)) };
}

/**
 * The checks every entry makes, in the Solidity order; returns the stage. `kind` is what the entry settles:
 * STAGE_REDUCE (the folds) or STAGE_ELEMENTWISE (the step); a finished reduce takes both (LibGraphStep.checkStage).
 */
function checkContext(ctx: StepContext, kind: number): Stage {
  const stages = stagesOf(ctx.op);
  const constants = constantRootCount(ctx.op);
  if (ctx.constantRoots.length !== constants) refuse("GraphStepConstantRoots", constants, ctx.constantRoots.length);
  if (!(ctx.element < ctx.elements)) refuse("GraphStepElementOutOfRange", ctx.element, ctx.elements);
  const code = OP_CODES[ctx.op.kind];
  if (!(ctx.stage < stages.length)) refuse("GraphStepStageOutOfRange", code, ctx.stage);
  const actual = stageKinds(ctx.op).kinds[ctx.stage];
  if (actual !== kind && actual !== STAGE_FINISHED_REDUCE) refuse("GraphStepWrongStageKind", code, ctx.stage, actual);
  return stages[ctx.stage];
}

/** The number of constant roots of an op: its descriptor's constants, and a per-channel Dense/Conv's requantisation constant. */
function constantRootCount(op: Op): number {
  switch (op.kind) {
    case "dense":
    case "conv":
      return requantChannels(op) > 1 ? 3 : 2;
    case "table":
      return 1;
    default:
      return 0;
  }
}

/** L, the number of (multiplier, shift) pairs of a requantised output (1: one for the whole tensor). */
function requantChannels(op: Op): number {
  return (op.kind === "dense" || op.kind === "conv") ? op.multiplier.length : 1;
}

/** The depth of the tree of a per-channel requantisation constant of L channels: ⌈L/4⌉ leaves. */
export function requantDepth(channels: number): number {
  return treeDepth(Math.ceil(channels / 4));
}

const isInt8 = (v: number | bigint): boolean => v >= INT8_MIN && v <= INT8_MAX;
const isInt32 = (v: number | bigint): boolean => v >= INT32_MIN && v <= INT32_MAX;

function checkCount(operands: readonly (number | bigint)[], expected: number): void {
  if (operands.length !== expected) refuse("GraphStepOperandCount", expected, operands.length);
}

function operand(operands: readonly (number | bigint)[], i: number, bits: 8 | 32): number {
  const v = operands[i];
  if (!(bits === 8 ? isInt8(v) : isInt32(v))) refuse("GraphStepOperandOutOfRange", i, v);
  return Number(v);
}

/** core/intSemantics requantise with the step's range checks (multiplier first, then shift). */
function requantiseChecked(v: number, m: number, s: number): bigint {
  if (!(m >= 0 && m <= MULTIPLIER_MAX)) refuse("GraphStepMultiplierOutOfRange", m);
  if (!(s >= SHIFT_MIN && s <= SHIFT_MAX)) refuse("GraphStepShiftOutOfRange", s);
  return requantise(v, m, s);
}

function checkClamp(lo: number, hi: number): void {
  if (!(lo >= INT8_MIN && hi <= INT8_MAX && lo <= hi)) refuse("GraphStepClampOutOfRange", lo, hi);
}

/** IStepVerifier.foldInit: s_0 of row ctx.element: operands [bias] (sum of products), or [] (sum: 0, max: −128). */
export function foldInit(ctx: StepContext, operands: readonly (number | bigint)[]): number {
  const stage = checkContext(ctx, STAGE_REDUCE);
  if (stage.combine === "sumOfProducts") {
    checkCount(operands, 1);
    return operand(operands, 0, 32);
  }
  checkCount(operands, 0);
  return stage.combine === "max" ? INT8_MIN : 0;
}

/** One chunk's terms as a Reduction of one row, so that core/graph's own foldTerms folds it. */
function chunkReduction(combine: Combine, terms: number, padded: bigint, accBefore: number): Reduction {
  return {
    combine,
    rows: 1,
    rowLength: terms,
    chunkTerms: terms,
    init: () => accBefore,
    input: (_o, t) => (((padded >> BigInt(t)) & 1n) === 1n ? -1 : t),
    weight: (_o, t) => t,
  };
}

/**
 * IStepVerifier.foldChunk: the running value after one chunk of row ctx.element: accBefore folded with
 * every term t that is not padded (bit t of `padded`): + w_t·x_t, + x_t, or max(·, x_t).
 */
export function foldChunk(
  ctx: StepContext,
  accBefore: number | bigint,
  inputs: readonly (number | bigint)[],
  weights: readonly (number | bigint)[],
  padded: bigint,
): number {
  const { combine } = checkContext(ctx, STAGE_REDUCE);
  const n = inputs.length;
  const withWeights = combine === "sumOfProducts";
  if (n === 0 || n > CHUNK_TERMS) refuse("GraphStepChunkLength", n);
  if (weights.length !== (withWeights ? n : 0)) refuse("GraphStepWeightCount", n, weights.length);
  if (padded < 0n || padded >> BigInt(n) !== 0n) refuse("GraphStepPaddedMask", padded, n);
  if (!(combine === "max" ? isInt8(accBefore) : isInt32(accBefore))) refuse("GraphStepPartialOutOfRange", accBefore);
  const x = new Int8Array(n);
  const w = new Int8Array(n);
  for (let t = 0; t < n; t++) {
    if (((padded >> BigInt(t)) & 1n) === 1n) continue; // ignored, whatever it holds
    if (!isInt8(inputs[t])) refuse("GraphStepInputOutOfRange", t, inputs[t]);
    x[t] = Number(inputs[t]);
    if (withWeights) {
      if (!isInt8(weights[t])) refuse("GraphStepWeightOutOfRange", t, weights[t]);
      w[t] = Number(weights[t]);
    }
  }
  const acc = Number(accBefore);
  return foldTerms(chunkReduction(combine!, n, padded, acc), x, withWeights ? w : undefined, 0, acc, 0, n);
}

const NO_PROGRAM: GraphProgram = { inputShape: [1], constants: [], ops: [] };

/** An elementwise op's formula on one element, computed by the reference executor's own runOp. */
function runOnOneElement(op: Op, xs: readonly number[]): number {
  return runOp(NO_PROGRAM, op, xs.map((v) => Int8Array.of(v)), xs.map(() => [1]), [1])[0][0];
}

/**
 * IStepVerifier.step: element ctx.element of an elementwise stage, or of a finished reduce from its row's whole fold.
 *  - the `out` stage of Dense, Conv, AvgPool, GlobalAvgPool (finished reduces): operands [s_R], the row's whole fold
 *    → clamp(requantise(s_R, m_c, s_c), lo, hi),
 *    c = element / (elements / L) with L > 1 channels, and (m_c, s_c) read from the witness [leaf ⌊c/4⌋ of the
 *    op's requantisation constant, its siblings] checked against constantRoots[2] ({@link requantWitness});
 *    with one pair, the descriptor's and no witness;
 *  - Add, Mul: [a, b]; Clamp: [x];
 *  - Table: [x], witness [leaf ⌊(x+128)/32⌋ of the table's tree, its 3 siblings] checked against constantRoots[0].
 */
export function step(ctx: StepContext, operands: readonly (number | bigint)[], witness: readonly Uint8Array[] = []): number {
  checkContext(ctx, STAGE_ELEMENTWISE);
  const op = ctx.op;
  const channels = requantChannels(op);
  if (channels > 1 && ctx.elements % channels !== 0) refuse("GraphStepChannels", ctx.elements, channels);
  const witnessWords = op.kind === "table" ? 1 + TABLE_DEPTH : channels > 1 ? 1 + requantDepth(channels) : 0;
  if (witness.length !== witnessWords) refuse("GraphStepWitnessLength", witnessWords, witness.length);
  switch (op.kind) {
    case "dense":
    case "conv":
    case "avgPool":
    case "globalAvgPool": {
      checkCount(operands, 1);
      const acc = operand(operands, 0, 32);
      let m: number;
      let s: number;
      if (channels > 1) {
        const c = Math.floor(ctx.element / (ctx.elements / channels));
        const [leaf, ...proof] = witness;
        if (!verifyProof(ctx.constantRoots[2], leaf, c >> 2, proof, requantDepth(channels))) refuse("GraphStepRequantOpening", c);
        const view = new DataView(leaf.buffer, leaf.byteOffset, leaf.byteLength);
        m = view.getInt32(8 * (c & 3), false);
        s = view.getInt32(8 * (c & 3) + 4, false);
      } else {
        m = typeof op.multiplier === "number" ? op.multiplier : op.multiplier[0];
        s = typeof op.shift === "number" ? op.shift : op.shift[0];
      }
      const q = requantiseChecked(acc, m, s);
      checkClamp(op.clampLo, op.clampHi);
      return clamp(q, op.clampLo, op.clampHi);
    }
    case "add":
    case "mul": {
      checkCount(operands, 2);
      const a = operand(operands, 0, 8);
      const b = operand(operands, 1, 8);
      if (op.kind === "add") {
        requantiseChecked(a, op.multiplierA, op.shiftA);
        requantiseChecked(b, op.multiplierB, op.shiftB);
      } else requantiseChecked(a * b, op.multiplier, op.shift);
      checkClamp(op.clampLo, op.clampHi);
      return runOnOneElement(op, [a, b]);
    }
    case "clamp": {
      checkCount(operands, 1);
      const x = operand(operands, 0, 8);
      checkClamp(op.lo, op.hi);
      return runOnOneElement(op, [x]);
    }
    case "table": {
      checkCount(operands, 1);
      const entry = operand(operands, 0, 8) + 128;
      const [leaf, ...proof] = witness;
      if (!verifyProof(ctx.constantRoots[0], leaf, entry >> 5, proof, TABLE_DEPTH)) refuse("GraphStepTableOpening", entry);
      return (leaf[entry & 31] << 24) >> 24;
    }
  }
  return refuse("GraphStepWrongStageKind", OP_CODES[op.kind], ctx.stage, STAGE_REDUCE); // unreachable: checkContext
}

// ------------------------------------------------------------------------------------------------
// Operands from a trace: what the game opens, and where
// ------------------------------------------------------------------------------------------------

/**
 * Where one operand is opened: element `index` of a committed tensor (value `value`'s stage `stage`,
 * views already resolved to the committed element behind them), or element `index` of a constant.
 */
export type OperandSource =
  | { readonly kind: "tensor"; readonly value: number; readonly stage: string; readonly index: number }
  | { readonly kind: "constant"; readonly constant: number; readonly index: number };

/** The operands of one chunk of a reduce row: null marks a padded cell (no opening; the step ignores it). */
export interface ChunkSources {
  readonly inputs: readonly (OperandSource | null)[];
  /** One per term for a sum of products (padded cells' weights too: the step ignores them), else none. */
  readonly weights: readonly OperandSource[];
}

function opOf(program: GraphProgram, value: number): Op {
  const op = program.ops[value - 1];
  if (!op) throw new RangeError(`value ${value} is not made by an op`);
  if (isLayout(op)) throw new RangeError(`value ${value} is a view (${op.kind}): it has no step`);
  return op;
}

function stageOf(program: GraphProgram, shapes: readonly Shape[], value: number, stage: number): Stage {
  const stages = opStages(opOf(program, value), shapes[value]);
  if (!Number.isSafeInteger(stage) || stage < 0 || stage >= stages.length) throw new RangeError(`value ${value} has no stage ${stage}`);
  return stages[stage];
}

function checkElementIndex(shapes: readonly Shape[], value: number, element: number): void {
  const n = sizeOf(shapes[value]);
  if (!Number.isSafeInteger(element) || element < 0 || element >= n) throw new RangeError(`element ${element} outside 0..${n - 1} of value ${value}`);
}

/** Element `index` of value `value` (maybe a view), as the committed element behind it. */
function valueSource(program: GraphProgram, shapes: readonly Shape[], value: number, index: number): OperandSource {
  const at = resolveElement(program, shapes, value, index);
  return { kind: "tensor", value: at.value, stage: "out", index: at.index };
}

/** The reduction of the reduce stage `stage` of value `value`. */
function reductionAt(program: GraphProgram, shapes: readonly Shape[], value: number, stage: number): { op: ReducingOp; r: Reduction } {
  if (stageOf(program, shapes, value, stage).kind !== "reduce") throw new RangeError(`stage ${stage} of value ${value} is not a reduce stage`);
  const op = opOf(program, value) as ReducingOp;
  return { op, r: reductionOf(program, op, shapes[op.inputs[0]]) };
}

/** The context of a step of (value, stage, element); `constantTrees` (by constant id) saves rebuilding them. */
export function stepContext(program: GraphProgram, shapes: readonly Shape[], value: number, stage: number, element: number, constantTrees?: readonly MerkleTree[]): StepContext {
  const op = opOf(program, value);
  stageOf(program, shapes, value, stage);
  checkElementIndex(shapes, value, element);
  return { op, constantRoots: constantRootsOf(program, op, constantTrees), stage, element, elements: sizeOf(shapes[value]) };
}

/**
 * The operands of foldInit for row `element` of reduce stage `stage` of value `value`: for a sum of
 * products, the bias of the row's output channel c = element / (rows / channels) (Dense: the row;
 * Conv: element / (OH·OW)); for a sum or a max, none.
 */
export function foldInitSources(program: GraphProgram, shapes: readonly Shape[], value: number, stage: number, element: number): OperandSource[] {
  const { op, r } = reductionAt(program, shapes, value, stage);
  checkElementIndex(shapes, value, element);
  if (op.kind !== "dense" && op.kind !== "conv") return [];
  const channels = program.constants[op.bias].data.length;
  return [{ kind: "constant", constant: op.bias, index: Math.floor(element / (r.rows / channels)) }];
}

/** The number of chunks of a row of reduce stage `stage` of value `value`: ⌈R / T⌉ (a finished reduce's finishing step not counted). */
export function chunkCount(program: GraphProgram, shapes: readonly Shape[], value: number, stage: number): number {
  return chunkCountOf(reductionAt(program, shapes, value, stage).r);
}

/** The operands of chunk `chunk` (terms [T·chunk, min(R, T·chunk + T))) of row `element`. */
export function chunkSources(program: GraphProgram, shapes: readonly Shape[], value: number, stage: number, element: number, chunk: number): ChunkSources {
  const { op, r } = reductionAt(program, shapes, value, stage);
  checkElementIndex(shapes, value, element);
  const { from, to } = chunkRange(r, chunk);
  const inputs: (OperandSource | null)[] = [];
  const weights: OperandSource[] = [];
  for (let t = from; t < to; t++) {
    const i = r.input(element, t);
    inputs.push(i < 0 ? null : valueSource(program, shapes, op.inputs[0], i));
    if (op.kind === "dense" || op.kind === "conv") weights.push({ kind: "constant", constant: op.weight, index: r.weight(element, t) });
  }
  return { inputs, weights };
}

/**
 * The operands of element `element` of elementwise stage `stage` of value `value`, in the verifier's
 * order: a[bA(i)], b[bB(i)] for Add and Mul (broadcasting resolved); x[i] for Clamp and Table (whose table
 * entry is the witness, {@link tableWitness}). A finished reduce's step has no opened operand: it takes the
 * row's whole fold, which the dissection agreed.
 */
export function stepSources(program: GraphProgram, shapes: readonly Shape[], value: number, stage: number, element: number): OperandSource[] {
  const op = opOf(program, value);
  if (stageOf(program, shapes, value, stage).kind !== "elementwise") throw new RangeError(`stage ${stage} of value ${value} is not an elementwise stage`);
  checkElementIndex(shapes, value, element);
  if (op.kind === "add" || op.kind === "mul") return op.inputs.map((v) => valueSource(program, shapes, v, broadcastIndexMap(shapes[v], shapes[value])(element)));
  return [valueSource(program, shapes, op.inputs[0], element)];
}

/** The number an operand source holds in `trace`. */
export function readSource(program: GraphProgram, trace: GraphTrace, source: OperandSource): number {
  if (source.kind === "constant") return program.constants[source.constant].data[source.index];
  const t = trace.layout.findIndex((e) => e.value === source.value && e.stage.name === source.stage);
  if (t < 0) throw new RangeError(`value ${source.value} has no stage ${source.stage}`);
  return trace.tensors[t][source.index];
}

/** The operands of one chunk as the verifier takes them: padded cells are 0 and set in the mask. */
export function chunkOperands(program: GraphProgram, trace: GraphTrace, sources: ChunkSources): { inputs: number[]; weights: number[]; padded: bigint } {
  let padded = 0n;
  const inputs = sources.inputs.map((s, t) => {
    if (s === null) {
      padded |= 1n << BigInt(t);
      return 0;
    }
    return readSource(program, trace, s);
  });
  return { inputs, weights: sources.weights.map((s) => readSource(program, trace, s)), padded };
}

/**
 * The witness of element `element` of a Dense or Conv `out` stage of `elements` elements with per-channel
 * requantisation: leaf ⌊c/4⌋ of the op's requantisation constant's tree (core/graph/commitments.ts
 * requantConstant: channels 4q … 4q + 3, (m, s) each, in leaf q), c = element / (elements / L), and its
 * siblings, from the leaf up; none for one pair (or any other op).
 */
export function requantWitness(op: Op, element: number, elements: number): Uint8Array[] {
  const tree = requantTree(op);
  if (!tree) return [];
  const channels = requantChannels(op);
  const c = Math.floor(element / (elements / channels));
  return [tree.leaf(c >> 2), ...tree.proof(c >> 2)];
}

/**
 * A Table step's witness: leaf ⌊(x+128)/32⌋ of the table's tree (core/graph/commitments.ts
 * constantTree) and its siblings, from the leaf up.
 */
export function tableWitness(program: GraphProgram, op: Op, x: number, tree?: MerkleTree): Uint8Array[] {
  if (op.kind !== "table") throw new RangeError(`a ${op.kind} step has no witness`);
  const t = tree ?? constantTree(program.constants[op.table]);
  const leaf = (x + 128) >> 5;
  return [t.leaf(leaf), ...t.proof(leaf)];
}
