import { toHex } from "../../bytes";
import { treeDepth } from "../../merkle";
import { pagedDepth } from "../../pagedTree";
import { type OpLeaf, opLeaves } from "../commitments";
import { descriptorWords } from "../descriptor";
import { broadcastIndexMap } from "../geometry";
import { type GraphProgram, type Op, type Shape, isLayout, sizeOf } from "../program";
import { type ReducingOp, chunkCountOf, chunkRange, chunkWeightLeaf, reductionOf } from "../reductions";
import { STAGE_ELEMENTWISE, STAGE_FINISHED_REDUCE, foldChunk, foldInit, stageKinds, step, requantWitness, stepContext, tableWitness } from "../step";
import { validateProgram } from "../validate";
import { viewMap } from "../views";
import type { GraphGameTrace } from "./gameTrace";
import { STAGE_COPY } from "./gameState";

/**
 * The twin of contracts/graph/GraphStepRunner.sol: what a trace leaf is (op, stage, kind, size), the
 * model leaves as the game takes them, and the openings of one step with the value the runner will
 * compute from them. Positions come from core/graph's own maps (reductionOf, broadcastIndexMap,
 * viewMap), arithmetic from core/graph/step.ts (the verifiers' twin), and every number is read from
 * the opened words themselves, so what is predicted here is what the chain computes.
 */

type Hex = `0x${string}`;

/** GraphGameTypes.OpLeaf as a contract argument. */
export interface OpLeafArg {
  readonly descriptor: Hex[];
  readonly constantRoots: Hex[];
  readonly shapes: bigint[];
  readonly firstLeaf: bigint;
}

/** GraphGameTypes.OpOpening. */
export interface OpOpeningArg {
  readonly value: bigint;
  readonly leaf: OpLeafArg;
  readonly proof: Hex[];
}

/** GraphGameTypes.LeafOpening. */
export interface LeafOpeningArg {
  readonly index: bigint;
  readonly word: Hex;
  readonly proof: Hex[];
}

/** GraphGameTypes.TensorOpening. */
export interface TensorOpeningArg {
  readonly traceLeaf: bigint;
  readonly root: Hex;
  readonly proof: Hex[];
  readonly leaves: LeafOpeningArg[];
}

/** GraphGameTypes.StepOpenings. */
export interface StepOpeningsArg {
  readonly ops: OpOpeningArg[];
  readonly tensors: TensorOpeningArg[];
  readonly weight: LeafOpeningArg;
  readonly bias: LeafOpeningArg;
  readonly witness: Hex[];
}

const ZERO_WORD: Hex = `0x${"00".repeat(32)}`;
/** A leaf opening the step does not read. */
export const NO_LEAF: LeafOpeningArg = { index: 0n, word: ZERO_WORD, proof: [] };

/** A 32-byte big-endian two's-complement word. */
export function wordHex(w: bigint): Hex {
  return `0x${BigInt.asUintN(256, w).toString(16).padStart(64, "0")}`;
}

/** Shapes as the words a model leaf hashes: for each, its rank and then its dimensions. */
export function shapeWords(shapes: readonly Shape[]): bigint[] {
  return shapes.flatMap((s) => [BigInt(s.length), ...s.map(BigInt)]);
}

interface ProgramFacts {
  readonly shapes: Shape[];
  readonly leaves: OpLeaf[];
}
const FACTS = new WeakMap<GraphProgram, ProgramFacts>();

/** The program's value shapes and model leaves (validated once per program). */
export function programFacts(program: GraphProgram): ProgramFacts {
  let facts = FACTS.get(program);
  if (!facts) {
    facts = { shapes: validateProgram(program), leaves: opLeaves(program) };
    FACTS.set(program, facts);
  }
  return facts;
}

/** Op `value`'s model leaf (leaf `value` of the model tree) as the game takes it. */
export function opLeafArg(program: GraphProgram, value: number): OpLeafArg {
  const leaf = programFacts(program).leaves[value - 1];
  if (!leaf) throw new RangeError(`value ${value} is not made by an op`);
  return {
    descriptor: descriptorWords(leaf.op).map(wordHex),
    constantRoots: leaf.constantRoots.map(toHex),
    shapes: shapeWords(leaf.shapes),
    firstLeaf: BigInt(leaf.firstLeaf),
  };
}

/** Op `value`'s model leaf with its proof against the model root. */
export function opOpening(trace: Pick<GraphGameTrace, "program" | "model">, value: number): OpOpeningArg {
  return { value: BigInt(value), leaf: opLeafArg(trace.program, value), proof: trace.model.tree.proof(value).map(toHex) };
}

/** What trace leaf i is, as GraphStepRunner.stageAt says. */
export interface LeafInfo {
  /** The value id of the op it belongs to (its model leaf); for the output leaf the last op. */
  readonly opValue: number;
  readonly stage: number;
  /** 1 reduce, 2 elementwise, 3 copy (the output leaf), 4 finished reduce. */
  readonly kind: number;
  /** The type of the stage's elements. */
  readonly bits: 8 | 32;
  /** A reduce stage: the type of its folds (a finished reduce's: 32); otherwise 0. */
  readonly foldBits: 0 | 8 | 32;
  /** The size of the stage's tensor. */
  readonly elements: number;
  /** The depth of its tensor's tree in word levels: paged for a value, binary for the output leaf. */
  readonly depth: number;
  /** A reduce stage: ⌈R/T⌉ (core/graph/reductions.ts chunkCountOf), and one more for a finished reduce's finishing step; otherwise 0. */
  readonly chunks: number;
}

/** What leaf i of a trace of `program` with `leafCount` leaves is. */
export function leafInfo(program: GraphProgram, leafCount: number, i: number): LeafInfo {
  const { shapes, leaves } = programFacts(program);
  const ops = program.ops.length;
  if (!Number.isSafeInteger(i) || i < 1 || i >= leafCount) throw new RangeError(`leaf ${i} is not a disputable leaf of 1..${leafCount - 1}`);
  if (i === leafCount - 1) {
    const elements = sizeOf(shapes[ops]);
    return { opValue: ops, stage: 0, kind: STAGE_COPY, bits: 8, foldBits: 0, elements, depth: treeDepth(Math.ceil(elements / 32)), chunks: 0 };
  }
  for (let v = 1; v <= ops; v++) {
    const op = program.ops[v - 1];
    if (isLayout(op)) continue;
    const { kinds, bits } = stageKinds(op);
    const stage = i - leaves[v - 1].firstLeaf;
    if (stage < 0 || stage >= kinds.length) continue;
    const kind = kinds[stage];
    const bitsOf = bits[stage] as 8 | 32;
    const elements = sizeOf(shapes[v]);
    const facts = { opValue: v, stage, kind, bits: bitsOf, elements, depth: pagedDepth(Math.ceil(elements / (bitsOf === 8 ? 32 : 8))) };
    if (kind === STAGE_ELEMENTWISE) return { ...facts, foldBits: 0, chunks: 0 };
    const chunks = chunkCountOf(reductionOf(program, op as ReducingOp, shapes[op.inputs[0]]));
    return kind === STAGE_FINISHED_REDUCE ? { ...facts, foldBits: 32, chunks: chunks + 1 } : { ...facts, foldBits: bitsOf, chunks };
  }
  throw new RangeError(`leaf ${i} belongs to no op of the program`);
}

/** Element t of a 32-byte leaf holding int8 (bits 8) or big-endian int32 (bits 32) elements. */
export function elementOfWord(word: Uint8Array, t: number, bits: number): number {
  if (bits === 8) return (word[t] << 24) >> 24;
  return new DataView(word.buffer, word.byteOffset, word.byteLength).getInt32(4 * t, false);
}

/** Where the game stands at the step (read from its state). */
export interface StepAt {
  /** The disputed trace leaf i. */
  readonly leaf: number;
  readonly element: number;
  /** A reduce stage: the chunk k (s_k to s_{k+1}; a finished reduce's last: its finishing step). */
  readonly chunk: number;
  /** A reduce stage at chunk k > 0: the agreed s_k. */
  readonly accBefore: number;
}

/** The step's arguments, and the value GraphStepRunner.run will compute from them. */
export interface PlannedStep {
  readonly op: OpLeafArg;
  readonly openings: StepOpeningsArg;
  readonly value: number;
}

/**
 * The openings of the step at `at`, built from `trace` exactly as GraphStepRunner reads them: every
 * view on an operand's way and the op that computed its committed value (model leaves), every
 * committed tensor read (its root under P_{i−1}, the leaves holding the operands), the weight and
 * bias leaves of a chunk, a Table's witness or the requantisation pair of a per-channel Dense or Conv
 * `out` element; and the value computed from them.
 */
export function planStep(trace: GraphGameTrace, at: StepAt): PlannedStep {
  const { program } = trace;
  const { shapes } = programFacts(program);
  const info = leafInfo(program, trace.leafCount, at.leaf);
  const reader = new OperandReader(trace, at.leaf, info.opValue);
  const op = program.ops[info.opValue - 1];
  const e = at.element;
  let weight = NO_LEAF;
  let bias = NO_LEAF;
  let witness: Hex[] = [];
  let value: number;
  if (info.kind === STAGE_COPY) {
    value = reader.valueElement(info.opValue, e);
  } else {
    const ctx = stepContext(program, shapes, info.opValue, info.stage, e, trace.model.constants);
    if (info.kind === STAGE_FINISHED_REDUCE && at.chunk === info.chunks - 1) {
      const w = requantWitness(op, e, info.elements);
      witness = w.map(toHex);
      value = step(ctx, [at.accBefore], w);
    } else if (info.chunks > 0) {
      const reducing = op as ReducingOp;
      const r = reductionOf(program, reducing, shapes[reducing.inputs[0]]);
      const { from, to } = chunkRange(r, at.chunk);
      let padded = 0n;
      const inputs: number[] = [];
      for (let t = from; t < to; t++) {
        const index = r.input(e, t);
        if (index < 0) padded |= 1n << BigInt(t - from);
        inputs.push(index < 0 ? 0 : reader.valueElement(reducing.inputs[0], index));
      }
      let weights: number[] = [];
      let init: number[] = [];
      if (reducing.kind === "dense" || reducing.kind === "conv") {
        const row = Math.floor(r.weight(e, from) / r.rowLength); // the output channel
        const weightTree = trace.model.constants[reducing.weight];
        const { leaf: weightLeaf, offset } = chunkWeightLeaf(r, row, at.chunk);
        weight = leafOpening(weightLeaf, weightTree.leaf(weightLeaf), weightTree.proof(weightLeaf));
        weights = inputs.map((_, t) => elementOfWord(weightTree.leaf(weightLeaf), offset + t, 8));
        if (at.chunk === 0) {
          const biasTree = trace.model.constants[reducing.bias];
          const biasLeaf = Math.floor(row / 8);
          bias = leafOpening(biasLeaf, biasTree.leaf(biasLeaf), biasTree.proof(biasLeaf));
          init = [elementOfWord(biasTree.leaf(biasLeaf), row % 8, 32)];
        }
      }
      const accBefore = at.chunk === 0 ? foldInit(ctx, init) : at.accBefore;
      value = foldChunk(ctx, accBefore, inputs, weights, padded);
    } else {
      const positions = op.kind === "add" || op.kind === "mul" ? op.inputs.map((v) => broadcastIndexMap(shapes[v], shapes[info.opValue])(e)) : [e];
      const operands = positions.map((p, k) => reader.valueElement(op.inputs[k], p));
      const w = op.kind === "table" ? tableWitness(program, op, operands[0], trace.model.constants[op.table]) : [];
      witness = w.map(toHex);
      value = step(ctx, operands, w);
    }
  }
  return { op: opLeafArg(program, info.opValue), openings: { ...reader.openings(), weight, bias, witness }, value };
}

function leafOpening(index: number, word: Uint8Array, proof: readonly Uint8Array[]): LeafOpeningArg {
  return { index: BigInt(index), word: toHex(word), proof: proof.map(toHex) };
}

/** Reads operands as GraphStepRunner does, recording every opening it needs. */
class OperandReader {
  private readonly ops = new Map<number, OpOpeningArg>();
  private readonly tensors = new Map<number, Map<number, LeafOpeningArg>>();

  constructor(
    private readonly trace: GraphGameTrace,
    /** The disputed leaf i: tensors are opened under P_{i−1}. */
    private readonly leaf: number,
    /** The disputed op (its leaf is the step's own argument, not an opening). */
    private readonly self: number,
  ) {}

  /** Element j of int8 value v, followed through views to a committed tensor. */
  valueElement(v: number, j: number): number {
    const { program } = this.trace;
    const { shapes } = programFacts(program);
    while (v > 0) {
      const op: Op = program.ops[v - 1];
      if (v !== this.self && !this.ops.has(v)) this.ops.set(v, opOpening(this.trace, v));
      if (!isLayout(op)) break;
      const { slot, index } = viewMap(op, op.inputs.map((u) => shapes[u]), shapes[v])(j);
      v = op.inputs[slot];
      j = index;
    }
    return this.tensorElement(v === 0 ? 0 : this.trace.leafOf(v, "out"), j); // "out" is every op's last stage
  }

  /** Element j of the int8 tensor at trace leaf L (32 a word), read from its opened word. */
  private tensorElement(L: number, j: number): number {
    const k = Math.floor(j / 32);
    let leaves = this.tensors.get(L);
    if (!leaves) this.tensors.set(L, (leaves = new Map()));
    const opening = this.trace.tensorLeaf(L, k);
    if (!leaves.has(k)) leaves.set(k, leafOpening(k, opening.value, opening.proof));
    return elementOfWord(opening.value, j % 32, 8);
  }

  openings(): Pick<StepOpeningsArg, "ops" | "tensors"> {
    const tensors = [...this.tensors].map(([L, leaves]): TensorOpeningArg => {
      const root = this.trace.rootUnder(L, this.leaf - 1);
      return { traceLeaf: BigInt(L), root: toHex(root.value), proof: root.proof.map(toHex), leaves: [...leaves.values()] };
    });
    return { ops: [...this.ops.values()], tensors };
  }
}
