import type { Address } from "viem";
import { type GraphProgram, isLayout, sizeOf } from "../program";
import { opStages } from "../stages";
import type { GraphTraceProvider } from "../traceProvider";
import { type GraphGameActor, type GraphPlayedMove, openGraphGame, playGraphGame } from "./gameClient";
import { GraphReason } from "./gameState";
import { gameTraceOf } from "./gameTrace";
import { type FoldLie, liar } from "./lies";
import { leafInfo, programFacts } from "./stepOpenings";

/**
 * The worst-case dispute of a graph program per op kind, played on a chain through the viem client of
 * the graph game (./gameClient.ts): for each op kind the program has (and its output leaf), a lying
 * asserter (./lies.ts) with one wrong element in a stage of that kind, defending the lie to the step,
 * against the honest challenger. The lie is put where the game is longest: the stage with the deepest
 * tensor tree (the descent), the one with the longest row (the fold dissection, the step at chunk 0: a
 * full chunk and the bias), the one whose operands are read through the most views, and the one the two
 * dissections together make longest; each is played and the game with the most gas is the kind's row.
 * Every transaction's gas is recorded (the open included); any above the limit is listed, not hidden.
 * `npm run bench` runs it on the reference models, `npm run model -- disputes` on a model folder.
 */

/** The most gas one transaction of a dispute may take (docs/dispute-game.md). */
export const GAS_TARGET = 500_000n;

/** A leaf to lie at, and the reasons it was chosen. */
export interface WorstCaseCandidate {
  /** The op kind of the lied stage, or "output" for the output leaf. */
  readonly kind: string;
  readonly leaf: number;
  readonly element: number;
  readonly how: FoldLie;
  /** Why this leaf was chosen (descent, row, views, longest). */
  readonly why: string[];
  readonly where: string;
}

/** One game played: the lie, every transaction, the verdict. */
export interface WorstCaseGame {
  readonly kind: string;
  readonly why: readonly string[];
  readonly leaf: number;
  readonly element: number;
  readonly where: string;
  readonly moves: readonly (GraphPlayedMove | { readonly by: "opener"; readonly name: "open"; readonly gas: bigint })[];
  readonly transactions: number;
  readonly totalGas: bigint;
  readonly largest: { readonly name: string; readonly gas: bigint };
  readonly asserterWon: boolean;
  readonly reason: string;
  /** The step's computed value equals the honest run's there. */
  readonly stepMatchesHonest: boolean;
  readonly seconds: number;
}

/** Every game played on a program, the worst of each op kind, and the transactions above the limit. */
export interface WorstCaseReport {
  /** The program's computing op kinds, in the order they first appear (views left out). */
  readonly opKinds: readonly string[];
  readonly games: readonly WorstCaseGame[];
  /** The worst game (most gas) of each op kind, in the order played, the output last. */
  readonly rows: readonly WorstCaseGame[];
  /** Transactions above the limit over all games. */
  readonly overLimit: readonly { readonly kind: string; readonly where: string; readonly move: string; readonly gas: bigint }[];
  readonly gasLimit: bigint;
}

/** Views (layout ops) between op `v`'s inputs and the values that compute them. */
function viewHops(program: GraphProgram, v: number): number {
  let hops = 0;
  const walk = (w: number, depth: number): void => {
    if (w === 0 || depth > 16) return;
    const u = program.ops[w - 1];
    if (!isLayout(u)) return;
    hops++;
    for (const x of u.inputs) walk(x, depth + 1);
  };
  for (const w of program.ops[v - 1].inputs) walk(w, 0);
  return hops;
}

/** An element in the middle of a stage's tensor: the centre pixel of the middle channel for [C, H, W] (no padded terms). */
function middleElement(shape: readonly number[]): number {
  if (shape.length === 3) {
    const [C, H, W] = shape;
    return Math.floor(C / 2) * H * W + Math.floor(H / 2) * W + Math.floor(W / 2);
  }
  return Math.floor(sizeOf(shape) / 2);
}

/** The leaves to lie at, per op kind: the deepest tree, the longest row, the most views, the longest estimated game (`quick`: the last only). */
export function worstCandidates(honest: GraphTraceProvider, quick = false): WorstCaseCandidate[] {
  const { program, leafCount } = honest;
  const { shapes } = programFacts(program);
  const byKind = new Map<string, { leaf: number; depth: number; chunks: number; hops: number; moves: number; where: string; element: number }[]>();
  for (let leaf = 1; leaf < leafCount; leaf++) {
    const info = leafInfo(program, leafCount, leaf);
    const output = leaf === leafCount - 1;
    const op = program.ops[info.opValue - 1];
    const kind = output ? "output" : op.kind;
    const depth = info.depth;
    const chunks = info.chunks;
    const hops = output ? 0 : viewHops(program, info.opValue);
    // Moves beyond the prefix dissection: reveal + pick per 4 levels, post + pick per 64-ary fold round.
    const moves = 2 * Math.ceil(depth / 4) + (chunks > 1 ? 2 * Math.ceil(Math.log(chunks) / Math.log(64) - 1e-9) : 0);
    const stage = output ? "output" : opStages(op, shapes[info.opValue])[info.stage].name;
    const where = `leaf ${leaf}, op ${info.opValue} \`${stage}\`${chunks ? `, ${chunks} chunk${chunks > 1 ? "s" : ""}` : ""}${hops ? `, ${hops} view${hops > 1 ? "s" : ""}` : ""}`;
    const list = byKind.get(kind) ?? [];
    list.push({ leaf, depth, chunks, hops, moves, where, element: middleElement(output ? shapes[program.ops.length] : shapes[info.opValue]) });
    byKind.set(kind, list);
  }
  const out: WorstCaseCandidate[] = [];
  for (const [kind, list] of byKind) {
    const best = (why: string, score: (c: (typeof list)[number]) => number[]) => {
      const sorted = [...list].sort((a, b) => {
        const x = score(a);
        const y = score(b);
        for (let k = 0; k < x.length; k++) if (x[k] !== y[k]) return y[k] - x[k];
        return a.leaf - b.leaf;
      });
      return { c: sorted[0], why };
    };
    const picks = [
      best("longest", (c) => [c.moves, c.chunks, c.hops, c.depth]),
      ...(quick ? [] : [best("descent", (c) => [c.depth, c.chunks]), best("row", (c) => [c.chunks, c.depth]), best("views", (c) => [c.hops, c.chunks, c.depth])]),
    ].filter((p) => p.why !== "views" || p.c.hops > 0);
    const seen = new Map<number, WorstCaseCandidate>();
    for (const { c, why } of picks) {
      const known = seen.get(c.leaf);
      if (known) known.why.push(why);
      else seen.set(c.leaf, { kind, leaf: c.leaf, element: c.element, how: "jumpFirst", why: [why], where: c.where });
    }
    out.push(...seen.values());
  }
  return out;
}

/** Who plays: the opener of each game, and the asserter's and the challenger's accounts on the same game contract. */
export interface WorstCaseSides {
  readonly opener: GraphGameActor;
  readonly asserter: GraphGameActor;
  readonly challenger: GraphGameActor;
}

export interface WorstCaseOptions {
  /** The longest estimated game per op kind only (default: up to four lie sites each). */
  readonly quick?: boolean;
  /** Each game's key is `${keyPrefix} ${n}` (games on one contract need distinct keys; default "worst case"). */
  readonly keyPrefix?: string;
  /** Each player's clock, seconds (default an hour: no game here times out). */
  readonly clockBudget?: bigint;
  /** The most gas a transaction may take (default {@link GAS_TARGET}). */
  readonly gasLimit?: bigint;
  /** Told after each game. */
  readonly onGame?: (game: WorstCaseGame) => void;
}

/** Plays the worst-case games of `honest`'s program (lies at {@link worstCandidates}) against its honest run. */
export async function playWorstCases(honest: GraphTraceProvider, sides: WorstCaseSides, options: WorstCaseOptions = {}): Promise<WorstCaseReport> {
  const gasLimit = options.gasLimit ?? GAS_TARGET;
  const honestTrace = gameTraceOf(honest);
  const addressOf = (a: GraphGameActor): Address => a.walletClient.account.address;
  const games: WorstCaseGame[] = [];
  let key = 0;
  for (const c of worstCandidates(honest, options.quick)) {
    const t0 = Date.now();
    const lie = liar(honest, { leaf: c.leaf, element: c.element }, c.how);
    const opened = await openGraphGame(sides.opener, `${options.keyPrefix ?? "worst case"} ${key++}`, lie, { asserter: addressOf(sides.asserter), challenger: addressOf(sides.challenger) }, options.clockBudget ?? 3_600n);
    const played = await playGraphGame(opened.gameId, opened.blockNumber, { asserter: { actor: sides.asserter, trace: lie }, challenger: { actor: sides.challenger, trace: honestTrace } });
    const moves = [{ by: "opener" as const, name: "open" as const, gas: opened.gasUsed }, ...played.moves];
    const largest = moves.reduce((a, x) => (x.gas > a.gas ? x : a));
    // The value the chain computed at the step is the honest run's there.
    const { leaf, index, lo } = played.state;
    const info = leafInfo(honest.program, honest.leafCount, Number(leaf));
    const truth = info.chunks > 0 ? BigInt(honestTrace.partialFolds(Number(leaf), Number(index))[Number(lo) + 1]) : BigInt(honestTrace.element(Number(leaf), Number(index)));
    const game: WorstCaseGame = {
      kind: c.kind,
      why: c.why,
      leaf: c.leaf,
      element: c.element,
      where: c.where,
      moves,
      transactions: moves.length,
      totalGas: moves.reduce((a, x) => a + x.gas, 0n),
      largest: { name: largest.name, gas: largest.gas },
      asserterWon: played.state.asserterWon,
      reason: GraphReason[played.state.reason],
      stepMatchesHonest: played.stepped !== undefined && played.stepped.computed === truth,
      seconds: (Date.now() - t0) / 1000,
    };
    games.push(game);
    options.onGame?.(game);
  }
  const rows: WorstCaseGame[] = [];
  for (const g of games) {
    const k = rows.findIndex((r) => r.kind === g.kind);
    if (k < 0) rows.push(g);
    else if (g.totalGas > rows[k].totalGas) rows[k] = g;
  }
  const overLimit = games.flatMap((g) => g.moves.filter((x) => x.gas > gasLimit).map((x) => ({ kind: g.kind, where: g.where, move: x.name, gas: x.gas })));
  const opKinds = [...new Set(honest.program.ops.filter((op) => !isLayout(op)).map((op) => op.kind))];
  return { opKinds, games, rows, overLimit, gasLimit };
}

const fmtGas = (n: bigint) => n.toLocaleString("en-US");

/** The report's rows as table cells: lie in, where and why, transactions, total gas, the largest transaction (flagged above the limit), who won. */
export function worstCaseRows(report: WorstCaseReport): string[][] {
  return report.rows.map((g) => [
    g.kind,
    `${g.where} (${g.why.join(", ")})`,
    String(g.transactions),
    fmtGas(g.totalGas),
    `${fmtGas(g.largest.gas)} ${g.largest.name}${g.largest.gas > report.gasLimit ? ` **> ${fmtGas(report.gasLimit)}**` : ""}`,
    g.asserterWon ? `**asserter** (${g.reason})` : `challenger (${g.reason})`,
  ]);
}

/** The header of {@link worstCaseRows}. */
export const WORST_CASE_HEADER = ["lie in", "worst game (the lie's leaf, why it was chosen)", "txs", "total gas", "largest transaction", "won by"] as const;

/** One line on the transactions above the limit, or that there are none. */
export function overLimitLine(report: WorstCaseReport): string {
  const over = report.overLimit.map((o) => `${o.kind} (${o.where}): ${o.move} ${fmtGas(o.gas)}`);
  return over.length ? `Above ${fmtGas(report.gasLimit)} gas: ${over.join("; ")}.` : `No transaction above ${fmtGas(report.gasLimit)} gas.`;
}

/** Move by move, the worst game of each row. */
export function worstCaseMoves(report: WorstCaseReport): string {
  return report.rows.map((g) => `- ${g.kind} (${g.where}): ${g.moves.map((m) => `${m.name} ${fmtGas(m.gas)}`).join(", ")}`).join("\n");
}
