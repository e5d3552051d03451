import { ARITY, LEVELS_PER_MOVE, type Role, arity, splitPoints } from "../../dispute/gameState";
import { PAGE_LEVELS } from "../../pagedTree";

/**
 * The graph dispute game (contracts/graph/GraphDisputeGame.sol) as TypeScript sees it: its phases and
 * reasons, the state `getGame` returns, who moves and whose clock runs. The dissections cut ranges
 * exactly as the Dense game does (ARITY sub-ranges at `splitPoints`), so those are shared with
 * core/dispute/gameState.ts.
 */

export { ARITY, LEVELS_PER_MOVE, type Role, arity, splitPoints };

type Hex = `0x${string}`;

/** GraphDisputeGame.Phase. */
export enum GraphPhase {
  None = 0,
  RevealPrefixes = 1,
  PickPrefixes = 2,
  RevealLeaf = 3,
  RevealNodes = 4,
  PickNode = 5,
  PostFolds = 6,
  PickFolds = 7,
  Step = 8,
  Resolved = 9,
}

/** GraphDisputeGame.Reason. */
export enum GraphReason {
  None = 0,
  NonZeroPadding = 1,
  ZeroPadding = 2,
  FoldOutOfRange = 3,
  StepHeld = 4,
  StepFailed = 5,
  Timeout = 6,
}

/**
 * GraphDisputeGame.levelsAt: the levels one reveal opens under a node at `height` (word levels) of a tensor's tree, up to
 * {@link LEVELS_PER_MOVE}, never stopping inside a page of a paged tree (core/pagedTree.ts).
 */
export function levelsAt(height: number, paged: boolean): number {
  if (height <= LEVELS_PER_MOVE) return height;
  if (paged && height - LEVELS_PER_MOVE < PAGE_LEVELS) return height - PAGE_LEVELS;
  return LEVELS_PER_MOVE;
}

/** The output leaf's stage kind, copy (3), next to IStepVerifier's reduce (1), elementwise (2) and finished reduce (4). */
export const STAGE_COPY = 3;

/** GraphDisputeGame.Game, every integer a bigint. */
export interface GraphGameState {
  readonly asserter: Hex;
  readonly lastMove: bigint;
  readonly phase: GraphPhase;
  readonly reason: GraphReason;
  readonly asserterWon: boolean;
  readonly height: bigint;
  readonly childHeight: bigint;
  readonly stage: bigint;
  readonly challenger: Hex;
  readonly asserterUsed: bigint;
  readonly challengerUsed: bigint;
  readonly kind: bigint;
  readonly bits: bigint;
  /** A reduce stage: its folds' type (8 or 32); otherwise 0. */
  readonly foldBits: bigint;
  readonly clockBudget: bigint;
  readonly leafCount: bigint;
  readonly opCount: bigint;
  readonly lo: bigint;
  readonly hi: bigint;
  /** The disputed trace leaf i (during the prefix dissection: its range's end). */
  readonly leaf: bigint;
  readonly opValue: bigint;
  /** A reduce stage (plain or finished): the chunks of its row, a finished reduce's finishing step included; otherwise 0. */
  readonly chunks: bigint;
  readonly modelRoot: Hex;
  readonly agreed: Hex;
  readonly disputed: Hex;
  readonly claimsHash: Hex;
  readonly opLeafHash: Hex;
  /** The disputed node's index at its height; after the pick at the leaves, the element. */
  readonly index: bigint;
  readonly elements: bigint;
  readonly claim: bigint;
  readonly foldLow: bigint;
  readonly foldHigh: bigint;
}

const INTEGER_FIELDS = [
  "lastMove",
  "height",
  "childHeight",
  "stage",
  "asserterUsed",
  "challengerUsed",
  "kind",
  "bits",
  "foldBits",
  "clockBudget",
  "leafCount",
  "opCount",
  "lo",
  "hi",
  "leaf",
  "opValue",
  "chunks",
  "index",
  "elements",
  "claim",
  "foldLow",
  "foldHigh",
] as const;
const WORD_FIELDS = ["asserter", "challenger", "modelRoot", "agreed", "disputed", "claimsHash", "opLeafHash"] as const;

/** A decoded `getGame` result (viem's object or an ethers Result, read by field name) as a {@link GraphGameState}. */
export function toGraphGameState(decoded: object): GraphGameState {
  const raw = decoded as Record<string, unknown>;
  const ints = Object.fromEntries(INTEGER_FIELDS.map((k) => [k, BigInt(raw[k] as bigint | number)])) as Record<(typeof INTEGER_FIELDS)[number], bigint>;
  const words = Object.fromEntries(WORD_FIELDS.map((k) => [k, String(raw[k]).toLowerCase() as Hex])) as Record<(typeof WORD_FIELDS)[number], Hex>;
  return { ...ints, ...words, phase: Number(raw.phase) as GraphPhase, reason: Number(raw.reason) as GraphReason, asserterWon: Boolean(raw.asserterWon) };
}

/** Who moves in `phase`: a role, "anyone" for the step, or null when nobody does. */
export function moverOf(phase: GraphPhase): Role | "anyone" | null {
  switch (phase) {
    case GraphPhase.RevealPrefixes:
    case GraphPhase.RevealLeaf:
    case GraphPhase.RevealNodes:
    case GraphPhase.PostFolds:
      return "asserter";
    case GraphPhase.PickPrefixes:
    case GraphPhase.PickNode:
    case GraphPhase.PickFolds:
      return "challenger";
    case GraphPhase.Step:
      return "anyone";
    default:
      return null;
  }
}

/** Whose clock runs in `phase` (the step is charged to the challenger's); null when none does. */
export function clockOwner(phase: GraphPhase): Role | null {
  const mover = moverOf(phase);
  return mover === "anyone" ? "challenger" : mover;
}

/** Seconds `role` has used at time `now`, counting the running clock. */
export function clockUsed(state: GraphGameState, role: Role, now: bigint): bigint {
  const used = role === "asserter" ? state.asserterUsed : state.challengerUsed;
  return clockOwner(state.phase) === role ? used + (now - state.lastMove) : used;
}

/** Whether `phase` is a pick, which answers the values of the game's last reveal event. */
export function isPick(phase: GraphPhase): boolean {
  return phase === GraphPhase.PickPrefixes || phase === GraphPhase.PickNode || phase === GraphPhase.PickFolds;
}
