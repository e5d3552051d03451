import { toHex } from "../bytes";
import type { DenseDescriptor } from "../denseStep";
import { type Job, toJob } from "../jobState";

/**
 * The dispute game (contracts/DisputeGame.sol) as TypeScript sees it: its phases and reasons, the
 * state `getGame` returns, and the split points of a k-ary dissection, mirrored from the contract.
 */

type Hex = `0x${string}`;

/** DisputeGame.Phase. */
export enum Phase {
  None = 0,
  RevealRoots = 1,
  PickRoots = 2,
  RevealNodes = 3,
  PickNode = 4,
  StateAccumulator = 5,
  PostSums = 6,
  PickSums = 7,
  Step = 8,
  Resolved = 9,
}

/** DisputeGame.Reason. */
export enum Reason {
  None = 0,
  WrongOutput = 1,
  AccumulatorNotInt32 = 2,
  NonZeroPadding = 3,
  SumNotInt32 = 4,
  StepHeld = 5,
  StepFailed = 6,
  ZeroPadding = 7,
  Timeout = 8,
}

/** DisputeGame.ARITY: the sub-ranges one dissection move makes. */
export const ARITY = 64;
/** DisputeGame.LEVELS_PER_MOVE: tree levels one reveal opens. */
export const LEVELS_PER_MOVE = 4;

/** The side of a game. The asserter is the job's node. */
export type Role = "asserter" | "challenger";

/** DisputeGame.Game, every integer a bigint. */
export interface GameState {
  readonly job: Job;
  readonly jobId: bigint;
  readonly challenger: Hex;
  readonly phase: Phase;
  readonly lastMove: bigint;
  readonly asserterUsed: bigint;
  readonly challengerUsed: bigint;
  readonly asserterWon: boolean;
  readonly layer: bigint;
  readonly height: bigint;
  readonly childHeight: bigint;
  readonly lo: bigint;
  readonly hi: bigint;
  readonly index: bigint;
  readonly prevRoot: Hex;
  readonly node: Hex;
  readonly claimsHash: Hex;
  readonly descriptorHash: Hex;
  readonly acc: bigint;
  readonly y: bigint;
  readonly sumLow: bigint;
  readonly sumHigh: bigint;
}

const INTEGER_FIELDS = ["jobId", "lastMove", "asserterUsed", "challengerUsed", "layer", "height", "childHeight", "lo", "hi", "index", "acc", "y", "sumLow", "sumHigh"] as const;

/** A decoded `getGame` result (viem's object or an ethers Result, read by field name) as a {@link GameState}. */
export function toGameState(decoded: object): GameState {
  const raw = decoded as Record<string, unknown>;
  const ints = Object.fromEntries(INTEGER_FIELDS.map((k) => [k, BigInt(raw[k] as bigint | number)])) as Record<(typeof INTEGER_FIELDS)[number], bigint>;
  return {
    ...ints,
    job: toJob(raw.job as Record<keyof Job, unknown>),
    challenger: raw.challenger as Hex,
    phase: Number(raw.phase) as Phase,
    asserterWon: Boolean(raw.asserterWon),
    prevRoot: raw.prevRoot as Hex,
    node: raw.node as Hex,
    claimsHash: raw.claimsHash as Hex,
    descriptorHash: raw.descriptorHash as Hex,
  };
}

/** Who moves in `phase`: a role, "anyone" for the step, or null when nobody does. */
export function moverOf(phase: Phase): Role | "anyone" | null {
  switch (phase) {
    case Phase.RevealRoots:
    case Phase.RevealNodes:
    case Phase.StateAccumulator:
    case Phase.PostSums:
      return "asserter";
    case Phase.PickRoots:
    case Phase.PickNode:
    case Phase.PickSums:
      return "challenger";
    case Phase.Step:
      return "anyone";
    default:
      return null;
  }
}

/** Whose clock runs in `phase` (the step is charged to the challenger's); null when none does. */
export function clockOwner(phase: Phase): Role | null {
  const mover = moverOf(phase);
  return mover === "anyone" ? "challenger" : mover;
}

/** Seconds `role` has used at time `now`, counting the running clock. */
export function clockUsed(state: GameState, role: Role, now: bigint): bigint {
  const used = role === "asserter" ? state.asserterUsed : state.challengerUsed;
  return clockOwner(state.phase) === role ? used + (now - state.lastMove) : used;
}

/** Sub-ranges a move splits [lo, hi] into: min(ARITY, hi − lo). */
export function arity(lo: number, hi: number): number {
  return Math.min(ARITY, hi - lo);
}

/** The m + 1 split points of [lo, hi] cut into m sub-ranges (DisputeGame.splitPoint), ends included. */
export function splitPoints(lo: number, hi: number, m: number = arity(lo, hi)): number[] {
  if (!(Number.isSafeInteger(lo) && Number.isSafeInteger(hi) && lo < hi && m >= 1 && m <= hi - lo)) throw new RangeError(`cannot split [${lo}, ${hi}] into ${m}`);
  return Array.from({ length: m + 1 }, (_, i) => lo + Math.floor(((hi - lo) * i) / m));
}

/** LibDenseStep.DenseDescriptor as a contract argument. */
export interface DescriptorArg {
  readonly nIn: bigint;
  readonly nOut: bigint;
  readonly multiplier: bigint;
  readonly shift: bigint;
  readonly clampLo: bigint;
  readonly clampHi: bigint;
  readonly weightRoot: Hex;
  readonly biasRoot: Hex;
}

/** The descriptor as the contract's DenseDescriptor tuple. */
export function descriptorArg(d: DenseDescriptor): DescriptorArg {
  return {
    nIn: BigInt(d.nIn),
    nOut: BigInt(d.nOut),
    multiplier: BigInt(d.multiplier),
    shift: BigInt(d.shift),
    clampLo: BigInt(d.clampLo),
    clampHi: BigInt(d.clampHi),
    weightRoot: toHex(d.weightRoot),
    biasRoot: toHex(d.biasRoot),
  };
}

const ZERO_WORD: Hex = `0x${"00".repeat(32)}`;
/** The descriptor argument of a pick that does not yet narrow to one layer (the contract ignores it). */
export const NO_DESCRIPTOR: DescriptorArg = { nIn: 0n, nOut: 0n, multiplier: 0n, shift: 0n, clampLo: 0n, clampHi: 0n, weightRoot: ZERO_WORD, biasRoot: ZERO_WORD };
