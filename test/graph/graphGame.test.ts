import { expect } from "chai";
import { readFileSync } from "node:fs";
import path from "node:path";
import { ethers } from "hardhat";
import { time } from "@nomicfoundation/hardhat-network-helpers";
import type { HardhatEthersSigner } from "@nomicfoundation/hardhat-ethers/signers";
import { bytesEqual, toHex } from "../../core/bytes";
import type { Constant, GraphProgram, Op, OpKind } from "../../core/graph/program";
import { hardSigmoidTable } from "../../core/graph/tables";
import { executeProgram } from "../../core/graph/execute";
import { foldRow, reductionOf } from "../../core/graph/reductions";
import { opStages } from "../../core/graph/stages";
import { isLayout } from "../../core/graph/program";
import { MAX_ROW_CHUNKS, MAX_VIEW_HOPS, checkDisputeLimits } from "../../core/graph/disputeLimits";
import { GraphValidationError, validateProgram } from "../../core/graph/validate";
import { GraphTraceProvider } from "../../core/graph/traceProvider";
import { GraphPhase, GraphReason, type GraphGameState, levelsAt } from "../../core/graph/game/gameState";
import { PAGE_LEVELS } from "../../core/pagedTree";
import { STAGE_FINISHED_REDUCE, STAGE_REDUCE } from "../../core/graph/step";
import { type GraphGameTrace, gameTraceOf } from "../../core/graph/game/gameTrace";
import { type FoldLie, type LieSite, liar, withPadding } from "../../core/graph/game/lies";
import { type GraphMove, GraphPlannerError, planGraphMove, pickFoldsMove, pickNodeMove, pickPrefixesMove, plannedStep, revealedFolds, revealedNodes, revealedPrefixes, stepMove } from "../../core/graph/game/planner";
import { leafInfo, opLeafArg, programFacts } from "../../core/graph/game/stepOpenings";
import { initKeccak } from "../../core/keccak";
import { loadMnist } from "../../core/mnist";
import { importGraphModel } from "../../core/modelImport/graph/importGraphModel";
import { quantiseInput } from "../../core/quantise";
import { Rng, randomProgram } from "./randomPrograms";
import {
  type GraphActor,
  type GraphGameDeployment,
  type GraphOverrides,
  type GraphPlayed,
  deployGraphGame,
  honestGraph,
  openGraphGame,
  playGraphGame,
  refuseGraph,
  scriptedGraph,
} from "../helpers/graphGameActors";

/**
 * The graph dispute game (contracts/graph/GraphDisputeGame.sol with GraphStepRunner and the StepRouter; docs/dispute-game.md,
 * "Graph programs") played end to end: the actor catalogue of the Dense game extended to graph programs. The honest side,
 * the planner of core/graph/game/, wins every game:
 *  - a lying asserter (a run with one wrong element, propagated to the output or not; folds lying as jumpLast, jumpFirst,
 *    spread or out of range) against an honest challenger, with lies in every op kind and stage of seeded random programs
 *    and of the imported CNN, in the output leaf, in a residual branch, and in values that a ReLU or a max-pool masks
 *    before the output; a non-zero padding element; refusing to reveal, and playing too slowly;
 *  - lying challengers against an honest asserter: disputing a correct leaf, picking sub-ranges and elements at random,
 *    naming padding, timing out.
 * Every transaction stays under 500k gas (each a transaction of its own: cold accounts and storage). Malformed moves are
 * refused with custom errors carrying their values, and flipping any word of a step's openings makes the step refuse.
 * The table printed at the end gives, per op kind, the worst game an honest challenger plays against a lie there.
 * GRAPH_GAME_SEED replays another seed.
 */
const SEED = Number(process.env.GRAPH_GAME_SEED ?? 0x13a9e) >>> 0;
const GAS_LIMIT = 500_000n;
const CLOCK = 3_600n;
/** Random programs drawn while looking for every op kind (each drawn program is played only if it is needed). */
const MAX_PROGRAMS = 80;
/** Programs played per op kind. */
const PER_KIND = 2;
const COMPUTING_KINDS = ["dense", "conv", "maxPool", "avgPool", "globalAvgPool", "add", "mul", "clamp", "table"] as const satisfies readonly OpKind[];
const FOLD_LIES: readonly FoldLie[] = ["jumpLast", "jumpFirst", "spread", "outOfRange"];

interface Subject {
  readonly label: string;
  readonly honest: GraphTraceProvider;
}

/** The worst game (most gas in all) of each row of the table. */
interface GameCost {
  /** The program and the lie's leaf. */
  readonly where: string;
  readonly transactions: number;
  readonly total: bigint;
  readonly largest: bigint;
  readonly largestMove: string;
  readonly moves: readonly { readonly by: string; readonly name: string; readonly gas: bigint }[];
}

const fmt = (n: bigint | number) => n.toLocaleString("en-US");

describe("GraphDisputeGame: the honest side wins every game", function () {
  let d: GraphGameDeployment;
  let opener: HardhatEthersSigner;
  let asserter: HardhatEthersSigner;
  let challenger: HardhatEthersSigner;
  let other: HardhatEthersSigner;
  const random: Subject[] = [];
  let cnn: Subject;
  let residual: Subject;
  let views: Subject;
  const worst = new Map<string, GameCost>();
  /** The largest transaction of each move, over every game. */
  const largestMove = new Map<string, { gas: bigint; label: string }>();
  const tally = { games: 0, transactions: 0, largest: 0n, largestAt: "" };
  /** Steps whose operands were read through a view of each kind. */
  const viewsCrossed = new Map<string, number>();
  let keys = 0;
  const started = Date.now();

  before(async function () {
    await initKeccak();
    [opener, asserter, challenger, other] = await ethers.getSigners();
    d = await deployGraphGame();
    console.log(`      graph game seed: ${SEED} (GRAPH_GAME_SEED=${SEED} replays it)`);
    // Seeded random programs until every computing op kind is in PER_KIND of them.
    const rng = new Rng(SEED);
    const count = new Map<string, number>();
    for (let p = 0; p < MAX_PROGRAMS && COMPUTING_KINDS.some((k) => (count.get(k) ?? 0) < PER_KIND); p++) {
      const program = randomProgram(rng);
      const input = rng.int8Array(program.inputShape.reduce((a, b) => a * b, 1));
      const kinds = new Set(program.ops.map((op) => op.kind));
      if (![...kinds].some((k) => (count.get(k) ?? 0) < PER_KIND)) continue;
      for (const k of kinds) count.set(k, (count.get(k) ?? 0) + 1);
      random.push({ label: `random #${p}`, honest: GraphTraceProvider.fromInput(program, input) });
    }
    const { train, test } = loadMnist();
    const imported = await importGraphModel(readFileSync(path.join(__dirname, "../../models/mnist-cnn/float.onnx")), { calibration: train.slice(0, 100).map((x) => x.pixels) });
    cnn = { label: "CNN", honest: GraphTraceProvider.fromInput(imported.program, quantiseInput(test[0].pixels, imported.scales[0])) };
    const block = residualProgram(new Rng(SEED ^ 0x5e));
    residual = { label: "residual block", honest: GraphTraceProvider.fromInput(block.program, block.input) };
    const chain = viewProgram(new Rng(SEED ^ 0x71));
    views = { label: "view chains", honest: GraphTraceProvider.fromInput(chain.program, chain.input) };
  });

  after(function () {
    const order = [...COMPUTING_KINDS, "output"];
    const rows = [...worst].sort(([a], [b]) => order.indexOf(a) - order.indexOf(b));
    const line = (cells: string[]) => `      ${cells[0].padEnd(15)}${cells[1].padEnd(42)}${cells[2].padStart(4)}${cells[3].padStart(12)}${cells[4].padStart(24)}`;
    console.log(`\n      The worst game per op kind: a lying asserter, an honest challenger, the open included; every transaction cold.`);
    console.log(line(["lie in", "worst game", "txs", "total gas", "largest transaction"]));
    for (const [kind, c] of rows) console.log(line([kind, c.where, String(c.transactions), fmt(c.total), `${fmt(c.largest)} ${c.largestMove}`]));
    for (const kind of ["dense", "conv"]) {
      const c = worst.get(kind);
      if (c) console.log(`\n      The worst ${kind} game, move by move (${c.where}): ${c.moves.map((m) => `${m.name} ${fmt(m.gas)}`).join(", ")}`);
    }
    console.log(`\n      The largest transaction of each move, over every game:`);
    for (const [name, m] of largestMove) console.log(`      ${name.padEnd(16)}${fmt(m.gas).padStart(9)}  ${m.label}`);
    console.log(`      steps through views: ${[...viewsCrossed].map(([k, n]) => `${k} ${n}`).join(", ")}`);
    console.log(`      ${tally.games} games, ${fmt(tally.transactions)} transactions, the largest ${fmt(tally.largest)} gas (${tally.largestAt}), ${((Date.now() - started) / 1000).toFixed(1)} s`);
  });

  /** Plays one game: `claimed` is what the asserter committed to; both sides act as told. Checks the gas of every move. */
  async function play(
    label: string,
    s: Subject,
    claimed: GraphGameTrace,
    asserterActor: GraphActor,
    challengerActor: GraphActor,
    row?: { kind: string; where: string },
    delay?: number,
  ): Promise<GraphPlayed & { gameId: `0x${string}` }> {
    const { gameId, gas } = await openGraphGame(d.game, opener, `${label} #${keys++}`, claimed, asserter, challenger, CLOCK);
    const played = await playGraphGame(d.game, gameId, { signer: asserter, actor: asserterActor, delay }, { signer: challenger, actor: challengerActor }, { errors: [d.runner] });
    expect(played.state.phase, label).to.equal(GraphPhase.Resolved);
    const moves = [{ name: "open", gas }, ...played.moves];
    for (const m of moves) {
      expect(m.gas <= GAS_LIMIT, `${label}: ${m.name} took ${m.gas} gas`).to.equal(true);
      if (m.gas > tally.largest) (tally.largest = m.gas), (tally.largestAt = `${m.name}, ${label}`);
      if (m.gas > (largestMove.get(m.name)?.gas ?? 0n)) largestMove.set(m.name, { gas: m.gas, label });
    }
    tally.games++;
    tally.transactions += moves.length;
    // The step computed on-chain is the honest run's value there, whoever stepped (Solidity and TypeScript agree).
    const reason = Number(played.state.reason);
    if (reason === GraphReason.StepHeld || reason === GraphReason.StepFailed) {
      expect(played.stepped, `${label}: no StepRun`).to.not.equal(undefined);
      expect(played.stepped!.computed, `${label}: the step's value`).to.equal(BigInt(truthAt(gameTraceOf(s.honest), played.state)));
      for (const op of plannedStep(played.state, gameTraceOf(s.honest)).openings.ops) {
        const kind = s.honest.program.ops[Number(op.value) - 1].kind;
        if (isLayout(s.honest.program.ops[Number(op.value) - 1])) viewsCrossed.set(kind, (viewsCrossed.get(kind) ?? 0) + 1);
      }
    }
    if (row) {
      const total = moves.reduce((a, m) => a + m.gas, 0n);
      const largest = moves.reduce((a, m) => (m.gas > a.gas ? m : a));
      if (!worst.has(row.kind) || total > worst.get(row.kind)!.total) worst.set(row.kind, { where: row.where, transactions: moves.length, total, largest: largest.gas, largestMove: largest.name, moves: [{ by: "opener", ...moves[0] }, ...played.moves] });
    }
    return { ...played, gameId };
  }

  /** The table's row of a lie at leaf i: the op kind (the output leaf is its own row), and where it is. */
  function rowOf(s: Subject, leaf: number): { kind: string; where: string } {
    const info = leafInfo(s.honest.program, s.honest.leafCount, leaf);
    if (leaf === s.honest.leafCount - 1) return { kind: "output", where: `${s.label}, leaf ${leaf}` };
    const op = s.honest.program.ops[info.opValue - 1];
    const stage = opStages(op, programFacts(s.honest.program).shapes[info.opValue])[info.stage];
    const chunks = info.chunks > 0 ? `, ${info.chunks} chunk${info.chunks > 1 ? "s" : ""}` : "";
    return { kind: op.kind, where: `${s.label}, leaf ${leaf} (${stage.name}${chunks})` };
  }

  /** A lying asserter at `site` (folds as `how`) against an honest challenger: the challenger must win, for one of `reasons`. */
  async function lyingAsserter(s: Subject, site: LieSite, how: FoldLie, reasons: GraphReason[], overrides?: GraphOverrides, delay?: number) {
    const lie = liar(s.honest, site, how);
    const label = `${s.label}, a lie at leaf ${site.leaf} element ${site.element}${site.propagate ? " (propagated)" : ""}, folds ${how}`;
    const asserterActor = overrides ? scriptedGraph("asserter", lie, overrides) : honestGraph("asserter", lie);
    const played = await play(label, s, lie, asserterActor, honestGraph("challenger", gameTraceOf(s.honest)), overrides || delay ? undefined : rowOf(s, site.leaf), delay);
    expect(played.state.asserterWon, `${label}: the lying asserter won`).to.equal(false);
    expect(reasons, `${label}: ${GraphReason[Number(played.state.reason)]}`).to.include(Number(played.state.reason));
    return played;
  }

  /** The leaves of op `value` in a subject (its committed stages). */
  function leavesOf(s: Subject, value: number): number[] {
    const out: number[] = [];
    for (let i = 1; i < s.honest.leafCount - 1; i++) if (leafInfo(s.honest.program, s.honest.leafCount, i).opValue === value) out.push(i);
    return out;
  }

  /** The reasons a lie at leaf i with folds `how` ends for. */
  function expectedReasons(s: Subject, leaf: number, how: FoldLie): GraphReason[] {
    const info = leafInfo(s.honest.program, s.honest.leafCount, leaf);
    // A finished reduce's liar whose claim no fold finishes to lies in the finishing step, whatever `how`.
    if (info.kind === STAGE_REDUCE && how === "outOfRange" && info.chunks > 1) return [GraphReason.FoldOutOfRange];
    return info.chunks > 0 ? [GraphReason.StepFailed, GraphReason.FoldOutOfRange] : [GraphReason.StepFailed];
  }

  // ------------------------------------------------------------------------------------------------
  // A lying asserter against an honest challenger
  // ------------------------------------------------------------------------------------------------

  describe("a lying asserter against an honest challenger", function () {
    for (const kind of COMPUTING_KINDS) {
      it(`${kind}: a lie in every stage, on seeded random programs`, async function () {
        const rng = new Rng(SEED ^ kind.length ^ (kind.charCodeAt(0) << 8));
        let games = 0;
        for (const s of random) {
          const ops = s.honest.program.ops.map((op, k) => ({ op, value: k + 1 })).filter((o) => o.op.kind === kind);
          if (ops.length === 0 || games >= PER_KIND * 2) continue;
          const { value } = ops[rng.int(0, ops.length - 1)];
          for (const leaf of leavesOf(s, value)) {
            const info = leafInfo(s.honest.program, s.honest.leafCount, leaf);
            const how = FOLD_LIES[rng.int(0, FOLD_LIES.length - 1)];
            await lyingAsserter(s, { leaf, element: rng.int(0, info.elements - 1), propagate: rng.float() < 0.5 }, how, expectedReasons(s, leaf, how));
            games++;
          }
        }
        expect(games, `no ${kind} among the random programs`).to.be.greaterThan(0);
      });
    }

    it("a lie in the output leaf (the last value copied), alone or propagated from the last op", async function () {
      const rng = new Rng(SEED ^ 0x0a7);
      for (const s of [...random.slice(0, 3), cnn, residual]) {
        const last = s.honest.leafCount - 1;
        await lyingAsserter(s, { leaf: last, element: rng.int(0, s.honest.output.length - 1) }, "jumpLast", [GraphReason.StepFailed]);
      }
      // A lie in the last op's value, propagated: the first wrong leaf is that op's, not the output.
      await lyingAsserter(cnn, { leaf: cnn.honest.leafCount - 2, element: 3, propagate: true }, "jumpLast", [GraphReason.StepFailed]);
    });

    it("the imported CNN: a lie at every leaf (conv, max-pool, the dense after the flatten view, the output), each defended to the step", async function () {
      // jumpFirst: the step is at chunk 0, a full chunk whose s_0 (the bias) is opened too: the longest game of the leaf.
      for (let leaf = 1; leaf < cnn.honest.leafCount; leaf++) {
        const info = leafInfo(cnn.honest.program, cnn.honest.leafCount, leaf);
        await lyingAsserter(cnn, { leaf, element: (leaf * 37) % info.elements, propagate: leaf % 2 === 0 }, "jumpFirst", [GraphReason.StepFailed]);
      }
    });

    it("a finished reduce (the accumulator never committed): a wrong requantisation is caught at its finishing step, wrong folds at a chunk", async function () {
      // The CNN's dense: 13 chunks, then the finishing step (chunk 13). Its element is requantised from the whole fold.
      const leaf = cnn.honest.leafOf(6, "out");
      const info = leafInfo(cnn.honest.program, cnn.honest.leafCount, leaf);
      expect([info.kind, info.foldBits, info.chunks]).to.deep.equal([STAGE_FINISHED_REDUCE, 32, 14]);
      const truth = gameTraceOf(cnn.honest);
      for (const element of [3, 9]) {
        // jumpLast: the folds are the honest ones and the claim only differs at the end: the requantisation is wrong.
        const finish = await lyingAsserter(cnn, { leaf, element }, "jumpLast", [GraphReason.StepFailed]);
        expect([Number(finish.state.lo), Number(finish.state.foldLow)], "the step requantised the agreed whole fold").to.deep.equal([13, truth.partialFolds(leaf, element)[13]]);
        // jumpFirst: the liar's whole fold finishes to its claim, so the lie is in the folds: the step is chunk 0's.
        const lie = liar(cnn.honest, { leaf, element }, "jumpFirst");
        const aimed = lie.partialFolds(leaf, element);
        expect(aimed[13], "the liar's whole fold differs from the honest one").to.not.equal(truth.partialFolds(leaf, element)[13]);
        const folds = await lyingAsserter(cnn, { leaf, element }, "jumpFirst", [GraphReason.StepFailed]);
        expect(Number(folds.state.lo), "the step folded the first chunk").to.equal(0);
      }
    });

    it("a residual block (depthwise and pointwise branch, the skip added three ops later, squeeze-and-excitation): a lie at every leaf", async function () {
      for (let leaf = 1; leaf < residual.honest.leafCount; leaf++) {
        const info = leafInfo(residual.honest.program, residual.honest.leafCount, leaf);
        const how = FOLD_LIES[(leaf + 1) % FOLD_LIES.length];
        await lyingAsserter(residual, { leaf, element: (leaf * 53) % info.elements, propagate: true }, how, expectedReasons(residual, leaf, how));
      }
    });

    it("views: operands read through a transpose and a concat, a slice (negative steps), a flatten, and a reshape output: a lie at every leaf", async function () {
      for (let leaf = 1; leaf < views.honest.leafCount; leaf++) {
        const info = leafInfo(views.honest.program, views.honest.leafCount, leaf);
        for (const [k, how] of (["jumpFirst", "jumpLast"] as const).entries()) {
          await lyingAsserter(views, { leaf, element: (leaf * 29 + k * 11) % info.elements, propagate: k === 1 }, how, [GraphReason.StepFailed]);
        }
      }
      for (const kind of ["transpose", "concat", "slice", "flatten", "reshape"]) expect(viewsCrossed.get(kind) ?? 0, `no step read through a ${kind}`).to.be.greaterThan(0);
    });

    it(`a chain of ${MAX_VIEW_HOPS} views, the most a step follows: a lie read through it is caught; one more view is refused before any game`, async function () {
      const chain = viewChainProgram(MAX_VIEW_HOPS);
      const s: Subject = { label: `${MAX_VIEW_HOPS} views`, honest: GraphTraceProvider.fromInput(chain.program, chain.input) };
      // The last clamp's leaf: its operand is the last of the views, in front of the first clamp's value.
      const leaf = s.honest.leafCount - 2;
      const played = await lyingAsserter(s, { leaf, element: 5, propagate: true }, "jumpFirst", [GraphReason.StepFailed]);
      expect(plannedStep(played.state, gameTraceOf(s.honest)).openings.ops.length, "the step opened every view's model leaf and the first clamp's").to.equal(MAX_VIEW_HOPS + 1);
      // The TypeScript limits are the contracts' own.
      expect(await d.runner.MAX_VIEW_HOPS()).to.equal(BigInt(MAX_VIEW_HOPS));
      expect(await d.game.MAX_FIELD()).to.equal(BigInt(MAX_ROW_CHUNKS));
      const longer = viewChainProgram(MAX_VIEW_HOPS + 1).program;
      expect(() => checkDisputeLimits(longer, validateProgram(longer)))
        .to.throw(GraphValidationError, `value ${MAX_VIEW_HOPS + 2} (${longer.ops[MAX_VIEW_HOPS + 1].kind}): is reached through a chain of ${MAX_VIEW_HOPS + 1} layout ops; a dispute step follows at most ${MAX_VIEW_HOPS}`);
    });

    it("a 3×3 conv dilated by 40 across the width (each window cell in another word): chunks of 8 terms keep its steps under 500k", async function () {
      // 16 channels of 83 × 83: a window row spans 81 columns, so each of a chunk's terms is in a word of its own;
      // with chunks of 32 terms its step took 719,406 gas (`npm run model -- disputes` on this program).
      const rng = new Rng(SEED ^ 0xd11);
      const [C, M, side, d] = [16, 8, 83, 40];
      const program: GraphProgram = {
        inputShape: [C, side, side],
        constants: [
          { dtype: "int8", shape: [M, C, 3, 3], data: rng.int8Array(M * C * 9) },
          { dtype: "int32", shape: [M], data: Int32Array.from({ length: M }, () => rng.int(-100, 100)) },
        ],
        ops: [{ kind: "conv", inputs: [0], weight: 0, bias: 1, strides: [1, 1], pads: [0, 0, 0, 0], dilations: [d, d], groups: 1, multiplier: [1 << 14], shift: [24], clampLo: -128, clampHi: 127 }],
      };
      const s: Subject = { label: "dilated conv", honest: GraphTraceProvider.fromInput(program, rng.int8Array(C * side * side)) };
      const info = leafInfo(program, s.honest.leafCount, 1);
      expect(info.chunks, "144-term rows in chunks of 8, and the finishing step").to.equal(144 / 8 + 1);
      for (const [element, how] of [[0, "jumpFirst"], [7, "spread"]] as const) await lyingAsserter(s, { leaf: 1, element }, how, [GraphReason.StepFailed]);
    });

    it("interior lies that a ReLU or a max-pool masks before the output are caught all the same", async function () {
      const { program, trace } = residual.honest;
      const v = trace.values;
      // The first conv's value, negative at e: the ReLU after it makes both 0.
      const e = v[1].findIndex((x) => x < -2);
      expect(e, "no negative element before the ReLU").to.be.at.least(0);
      // An element of the max-pool's input that is not its window's maximum.
      const pool = program.ops[5];
      if (pool.kind !== "maxPool") throw new Error("op 6 is the max-pool");
      const [, H, W] = programFacts(program).shapes[5];
      const f = v[5].findIndex((x, i) => {
        const c = Math.floor(i / (H * W));
        const y = Math.floor((i % (H * W)) / W) & ~1;
        const xx = i % W & ~1;
        const window = [0, 1, W, W + 1].map((o) => v[5][c * H * W + y * W + xx + o]);
        return x > -128 && x < Math.max(...window);
      });
      expect(f, "no element below its window's maximum").to.be.at.least(0);
      for (const [leaf, element, value] of [
        [residual.honest.leafOf(1, "out"), e, v[1][e] + 1],
        [residual.honest.leafOf(5, "out"), f, v[5][f] - 1],
      ]) {
        const lie = liar(residual.honest, { leaf, element, value, propagate: true });
        expect(bytesEqual(lie.prefixRoot(lie.leafCount - 2), residual.honest.prefixRoot(residual.honest.leafCount - 2)), "the lie changes the trace").to.equal(false);
        expect(toHex(lie.tensorNode(lie.leafCount - 1, 0, 0)), "the lie is masked: the output is the honest one").to.equal(toHex(gameTraceOf(residual.honest).tensorNode(lie.leafCount - 1, 0, 0)));
        await lyingAsserter(residual, { leaf, element, value, propagate: true }, "jumpLast", [GraphReason.StepFailed]);
      }
    });

    it("a non-zero padding element past a tensor's end, in its last leaf, loses at once", async function () {
      const s = cnn;
      const paddings: [number, number][] = [];
      for (let leaf = 1; leaf < s.honest.leafCount && paddings.length < 3; leaf++) {
        const { elements, bits } = leafInfo(s.honest.program, s.honest.leafCount, leaf);
        const perLeaf = bits === 8 ? 32 : 8;
        if (elements % perLeaf !== 0) paddings.push([leaf, elements + ((leaf * 7) % (perLeaf - (elements % perLeaf)))]);
      }
      expect(paddings.length).to.be.greaterThan(1);
      for (const [leaf, position] of paddings) {
        const lie = withPadding(s.honest, leaf, position, 5);
        const played = await play(`${s.label}, padding element ${position} of leaf ${leaf}`, s, lie, honestGraph("asserter", lie), honestGraph("challenger", gameTraceOf(s.honest)));
        expect(played.state.asserterWon).to.equal(false);
        expect(Number(played.state.reason)).to.equal(GraphReason.NonZeroPadding);
      }
    });

    it("refuses to reveal in each phase, or plays too slowly: its clock runs out", async function () {
      const site = { leaf: cnn.honest.leafOf(6, "out"), element: 9 }; // the dense after the flatten: 13 chunks a row, then its finishing step
      for (const phase of [GraphPhase.RevealPrefixes, GraphPhase.RevealLeaf, GraphPhase.RevealNodes, GraphPhase.PostFolds]) {
        await lyingAsserter(cnn, site, "jumpLast", [GraphReason.Timeout], { [phase]: refuseGraph });
      }
      const played = await lyingAsserter(cnn, site, "jumpLast", [GraphReason.Timeout], undefined, Math.floor(Number(CLOCK) * 0.3));
      expect(played.reverts.map((r) => r.error)).to.include("GraphGameClockExpired");
    });
  });

  // ------------------------------------------------------------------------------------------------
  // Lying challengers against an honest asserter
  // ------------------------------------------------------------------------------------------------

  describe("lying challengers against an honest asserter", function () {
    /** An honest asserter against `challengerActor`: the asserter must win, for one of `reasons`. */
    async function honestAsserter(s: Subject, label: string, challengerActor: GraphActor, reasons: GraphReason[]) {
      const truth = gameTraceOf(s.honest);
      const played = await play(`${s.label}: ${label}`, s, truth, honestGraph("asserter", truth), challengerActor);
      expect(played.state.asserterWon, `${label}: the lying challenger won`).to.equal(true);
      expect(reasons, `${label}: ${GraphReason[Number(played.state.reason)]}`).to.include(Number(played.state.reason));
      return played;
    }

    it("disputes a correct leaf (its own run is wrong there): elementwise, reduce, view-fed and output leaves", async function () {
      const rng = new Rng(SEED ^ 0xc1);
      for (const s of [cnn, residual, views, ...random.slice(0, 3)]) {
        for (let leaf = 1; leaf < s.honest.leafCount; leaf += 2) {
          const info = leafInfo(s.honest.program, s.honest.leafCount, leaf);
          const how = FOLD_LIES[rng.int(0, 2)]; // its folds end at its (wrong) element
          const lie = liar(s.honest, { leaf, element: rng.int(0, info.elements - 1) }, how);
          await honestAsserter(s, `disputes leaf ${leaf}`, honestGraph("challenger", lie), [GraphReason.StepHeld]);
        }
      }
    });

    it("picks sub-ranges, nodes and elements at random", async function () {
      const rng = new Rng(SEED ^ 0xc2);
      const randomly = (lie: GraphGameTrace): GraphActor =>
        scriptedGraph("challenger", lie, {
          [GraphPhase.PickPrefixes]: (state, ctx) => pickPrefixesMove(state, ctx, rng.int(0, revealedPrefixes(state, ctx).roots.length - 2)),
          [GraphPhase.PickNode]: (state, ctx) => pickNodeMove(state, ctx, rng.int(0, revealedNodes(state, ctx).nodes.length - 1), rng.int(0, Number(state.bits) === 8 ? 31 : 7)),
          [GraphPhase.PickFolds]: (state, ctx) => pickFoldsMove(state, ctx, rng.int(0, revealedFolds(state, ctx).folds.length - 2)),
        });
      for (const s of [cnn, residual, random[0]]) {
        for (let k = 0; k < 4; k++) {
          const lie = liar(s.honest, { leaf: rng.int(1, s.honest.leafCount - 1), element: 0 });
          await honestAsserter(s, `random choices ${k}`, randomly(lie), [GraphReason.StepHeld, GraphReason.ZeroPadding]);
        }
      }
    });

    it("names a padding element: it loses at once", async function () {
      const s = cnn;
      for (let leaf = 1; leaf < s.honest.leafCount; leaf++) {
        const { elements, bits } = leafInfo(s.honest.program, s.honest.leafCount, leaf);
        if (elements % (bits === 8 ? 32 : 8) === 0) continue;
        const perLeaf = bits === 8 ? 32 : 8;
        const lie = liar(s.honest, { leaf, element: 0 });
        const padding: GraphActor = scriptedGraph("challenger", lie, {
          // Down to the tensor's last (partial) leaf, then its first element past the tensor's end.
          [GraphPhase.PickNode]: (state, ctx) => {
            const { first, height } = revealedNodes(state, ctx);
            const target = Math.floor(elements / perLeaf);
            return pickNodeMove(state, ctx, Math.floor(target / 2 ** height) - first, height === 0 ? elements % perLeaf : 0);
          },
        });
        await honestAsserter(s, `names padding of leaf ${leaf}`, padding, [GraphReason.ZeroPadding]);
      }
    });

    it("stops answering in each phase: the asserter calls the timeout (or, at the step, steps itself)", async function () {
      const s = cnn;
      const leaf = s.honest.leafOf(6, "out");
      const lie = liar(s.honest, { leaf, element: 4 }, "jumpFirst");
      for (const phase of [GraphPhase.PickPrefixes, GraphPhase.PickNode, GraphPhase.PickFolds]) {
        await honestAsserter(s, `stops in ${GraphPhase[phase]}`, scriptedGraph("challenger", lie, { [phase]: refuseGraph }), [GraphReason.Timeout]);
      }
      await honestAsserter(s, "never steps", scriptedGraph("challenger", lie, { [GraphPhase.Step]: refuseGraph }), [GraphReason.StepHeld]);
    });
  });

  // ------------------------------------------------------------------------------------------------
  // Refusals
  // ------------------------------------------------------------------------------------------------

  describe("refusals", function () {
    /** Opens a game on a lie at `site` (folds as `how`) and plays it honestly up to the first state `until` accepts. */
    async function upTo(s: Subject, site: LieSite, until: (state: GraphGameState) => boolean, how: FoldLie = "jumpLast") {
      const lie = liar(s.honest, site, how);
      const truth = gameTraceOf(s.honest);
      const { gameId } = await openGraphGame(d.game, opener, `refusal #${keys++}`, lie, asserter, challenger, CLOCK);
      const played = await playGraphGame(d.game, gameId, { signer: asserter, actor: honestGraph("asserter", lie) }, { signer: challenger, actor: honestGraph("challenger", truth) }, { until });
      return { gameId, lie, truth, state: played.state, revealed: played.revealed };
    }

    const send = (signer: HardhatEthersSigner, move: GraphMove) => d.game.connect(signer).getFunction(move.functionName)(...move.args);

    it("open: parameters, parties and a second game under the same key", async function () {
      const claim = { modelRoot: ethers.ZeroHash, opCount: 1n, leafCount: 3n, inputRoot: ethers.ZeroHash, traceRoot: ethers.ZeroHash };
      const key = ethers.id("open refusals");
      await expect(d.game.open(key, { ...claim, leafCount: 1n }, asserter.address, challenger.address, CLOCK)).to.be.revertedWithCustomError(d.game, "GraphGameInvalidParameter").withArgs("leafCount", 1n, 2n, 2n ** 32n - 1n);
      await expect(d.game.open(key, { ...claim, opCount: 0n }, asserter.address, challenger.address, CLOCK)).to.be.revertedWithCustomError(d.game, "GraphGameInvalidParameter").withArgs("opCount", 0n, 1n, 2n ** 32n - 2n);
      await expect(d.game.open(key, claim, asserter.address, challenger.address, 0n)).to.be.revertedWithCustomError(d.game, "GraphGameInvalidParameter").withArgs("clockBudget", 0n, 1n, 2n ** 32n - 1n);
      await expect(d.game.open(key, claim, asserter.address, asserter.address, CLOCK)).to.be.revertedWithCustomError(d.game, "GraphGameInvalidParties").withArgs(asserter.address, asserter.address);
      await d.game.open(key, claim, asserter.address, challenger.address, CLOCK);
      const gameId = await d.game.gameIdOf(opener.address, key);
      await expect(d.game.open(key, claim, asserter.address, challenger.address, CLOCK)).to.be.revertedWithCustomError(d.game, "GraphGameExists").withArgs(gameId);
      // Another opener's key names another game.
      await expect(d.game.connect(other).open(key, claim, asserter.address, challenger.address, CLOCK)).to.emit(d.game, "GameOpened");
      await expect(d.game.timeout(gameId)).to.be.revertedWithCustomError(d.game, "GraphGameClockNotExpired");
    });

    it("the prefix dissection: wrong mover, stale range, wrong length, stale answer, out of range", async function () {
      const { gameId, lie, state } = await upTo(cnn, { leaf: 4, element: 1 }, () => true);
      const inner = [toHex(lie.prefixRoot(3))];
      await expect(d.game.connect(challenger).revealPrefixes(gameId, 0, state.hi, [])).to.be.revertedWithCustomError(d.game, "GraphGameNotMover").withArgs(gameId, challenger.address, asserter.address);
      await expect(d.game.connect(asserter).revealPrefixes(gameId, 1, state.hi, [])).to.be.revertedWithCustomError(d.game, "GraphGameStaleRange").withArgs(gameId, 1n, state.hi, 0n, state.hi);
      await expect(d.game.connect(asserter).revealPrefixes(gameId, 0, state.hi, inner)).to.be.revertedWithCustomError(d.game, "GraphGameBadLength").withArgs(1n, state.hi - 1n);
      const roots = Array.from({ length: Number(state.hi) - 1 }, (_, k) => toHex(lie.prefixRoot(k + 1)));
      await d.game.connect(asserter).revealPrefixes(gameId, 0, state.hi, roots);
      const all = [state.agreed, ...roots, state.disputed];
      const tampered = [...all];
      tampered[2] = toHex(new Uint8Array(32));
      await expect(d.game.connect(challenger).pickPrefixes(gameId, tampered, 0)).to.be.revertedWithCustomError(d.game, "GraphGameStaleAnswer");
      await expect(d.game.connect(challenger).pickPrefixes(gameId, all, all.length - 1)).to.be.revertedWithCustomError(d.game, "GraphGameIndexOutOfRange").withArgs(BigInt(all.length - 1), BigInt(all.length - 1));
      await expect(d.game.connect(challenger).revealLeaf(gameId, ethers.ZeroHash, [], 1, { descriptor: [], constantRoots: [], shapes: [], firstLeaf: 0 }, [])).to.be.revertedWithCustomError(d.game, "GraphGameWrongPhase").withArgs(gameId, GraphPhase.PickPrefixes, GraphPhase.RevealLeaf);
    });

    it("the leaf: a root that does not extend P_{i−1}, an op leaf that does not open, another op, a layout op", async function () {
      const s = cnn; // leaf 5 is the first dense's out; value 5 is the flatten
      const leaf = 5;
      const { gameId, lie, state } = await upTo(s, { leaf, element: 3 }, (st) => st.phase === GraphPhase.RevealLeaf);
      expect(Number(state.leaf)).to.equal(leaf);
      const ext = lie.extension(leaf);
      const model = (v: number) => lie.model.tree.proof(v).map(toHex);
      const wrongRoot = toHex(s.honest.extension(leaf).value); // the honest root: P_i does not extend by it
      await expect(d.game.connect(asserter).revealLeaf(gameId, wrongRoot, ext.proof.map(toHex), 6, opLeafArg(lie.program, 6), model(6))).to.be.revertedWithCustomError(d.game, "GraphGameInvalidExtension").withArgs(gameId, BigInt(leaf), wrongRoot);
      const flipped = opLeafArg(lie.program, 6);
      flipped.descriptor[flipped.descriptor.length - 1] = toHex(Uint8Array.of(...new Uint8Array(31), 5));
      await expect(d.game.connect(asserter).revealLeaf(gameId, toHex(ext.value), ext.proof.map(toHex), 6, flipped, model(6))).to.be.revertedWithCustomError(d.game, "GraphGameInvalidOpLeaf").withArgs(gameId, 6n);
      await expect(d.game.connect(asserter).revealLeaf(gameId, toHex(ext.value), ext.proof.map(toHex), 7, opLeafArg(lie.program, 7), model(7))).to.be.revertedWithCustomError(d.runner, "GraphStepRunnerNotAStage").withArgs(BigInt(leaf), 6n, 1n);
      await expect(d.game.connect(asserter).revealLeaf(gameId, toHex(ext.value), ext.proof.map(toHex), 5, opLeafArg(lie.program, 5), model(5))).to.be.revertedWithCustomError(d.runner, "GraphStepRunnerViewHasNoStage").withArgs(BigInt(leaf));
      await expect(d.game.connect(asserter).revealLeaf(gameId, toHex(ext.value), ext.proof.map(toHex), 0, opLeafArg(lie.program, 6), model(6))).to.be.revertedWithCustomError(d.game, "GraphGameWrongOp").withArgs(gameId, BigInt(leaf), 0n);
      await expect(d.game.connect(asserter).revealLeaf(gameId, toHex(ext.value), ext.proof.map(toHex), 6, opLeafArg(lie.program, 6), model(6))).to.emit(d.game, "LeafRevealed");
    });

    it("the descent's levels: never inside a page of a paged tree, ⌈height / 4⌉ reveals, the TypeScript twin the contract's own", async function () {
      for (const paged of [false, true]) {
        for (let height = paged ? PAGE_LEVELS : 1; height <= 40; height++) {
          const levels = levelsAt(height, paged);
          expect(Number(await d.game.levelsAt(height, paged)), `height ${height}${paged ? ", paged" : ""}`).to.equal(levels);
          let reveals = 0;
          for (let h = height; h > 0; h -= levelsAt(h, paged)) {
            reveals++;
            if (paged) expect(h === levelsAt(h, paged) || h - levelsAt(h, paged) >= PAGE_LEVELS, `height ${h} stops inside a page`).to.equal(true);
          }
          expect(reveals, `height ${height}`).to.equal(Math.ceil(height / 4));
        }
      }
    });

    it("the descent: nodes that do not hash up, a stale node, an element past the leaf", async function () {
      const { gameId, lie, state } = await upTo(cnn, { leaf: 1, element: 200 }, (st) => st.phase === GraphPhase.RevealNodes);
      const height = Number(state.height);
      const nodes = Array.from({ length: 16 }, (_, k) => toHex(lie.tensorNode(1, height - 4, k)));
      const bad = [...nodes];
      bad[5] = toHex(new Uint8Array(32));
      await expect(d.game.connect(asserter).revealNodes(gameId, state.disputed, bad)).to.be.revertedWithCustomError(d.game, "GraphGameNodesMismatch");
      await expect(d.game.connect(asserter).revealNodes(gameId, ethers.ZeroHash, nodes)).to.be.revertedWithCustomError(d.game, "GraphGameStaleAnswer").withArgs(gameId, ethers.ZeroHash, state.disputed);
      await expect(d.game.connect(asserter).revealNodes(gameId, state.disputed, nodes.slice(0, 8))).to.be.revertedWithCustomError(d.game, "GraphGameBadLength").withArgs(8n, 16n);
      const played = await playGraphGame(d.game, gameId, { signer: asserter, actor: honestGraph("asserter", lie) }, { signer: challenger, actor: honestGraph("challenger", gameTraceOf(cnn.honest)) }, { until: (st) => st.phase === GraphPhase.PickNode && Number(st.childHeight) === 0 });
      const leafNodes = revealedNodes(played.state, { gameId, now: 0n, revealed: played.revealed }).nodes;
      await expect(d.game.connect(challenger).pickNode(gameId, leafNodes, 0, 32)).to.be.revertedWithCustomError(d.game, "GraphGameIndexOutOfRange").withArgs(32n, 32n); // an int8 leaf holds 32
    });

    it("the step: every word of its openings flipped is refused; a wrong op leaf is stale; moves after the verdict are refused", async function () {
      for (const [s, site] of [
        [cnn, { leaf: cnn.honest.leafOf(6, "out"), element: 17 }], // a Dense's first chunk (folds jumpFirst) read through the flatten view
        [residual, { leaf: residual.honest.leafOf(10, "out"), element: 9 }], // a Mul broadcasting the SE gate
      ] as const) {
        const { gameId, truth, state } = await upTo(s, site, (st) => st.phase === GraphPhase.Step, "jumpFirst");
        const planned = plannedStep(state, truth);
        const base = stepMove({ gameId, now: 0n }, planned);
        const flips: GraphMove[] = [];
        const flip = (w: string): `0x${string}` => toHex(Uint8Array.from(Buffer.from(w.slice(2), "hex").map((b, k) => (k === 31 ? b ^ 1 : b))));
        const o = planned.openings;
        o.tensors.forEach((t, ti) => {
          const at = (f: (x: typeof t) => typeof t) => flips.push(stepMove({ gameId, now: 0n }, { ...planned, openings: { ...o, tensors: o.tensors.map((x, k) => (k === ti ? f(x) : x)) } }));
          at((x) => ({ ...x, root: flip(x.root) }));
          for (let k = 0; k < t.proof.length; k++) at((x) => ({ ...x, proof: x.proof.map((p, q) => (q === k ? flip(p) : p)) }));
          t.leaves.forEach((l, li) => {
            at((x) => ({ ...x, leaves: x.leaves.map((y, q) => (q === li ? { ...y, word: flip(y.word) } : y)) }));
            for (let k = 0; k < l.proof.length; k++) at((x) => ({ ...x, leaves: x.leaves.map((y, q) => (q === li ? { ...y, proof: y.proof.map((p, r) => (r === k ? flip(p) : p)) } : y)) }));
          });
        });
        o.ops.forEach((op, oi) => {
          const at = (f: (x: typeof op) => typeof op) => flips.push(stepMove({ gameId, now: 0n }, { ...planned, openings: { ...o, ops: o.ops.map((x, k) => (k === oi ? f(x) : x)) } }));
          for (let k = 0; k < op.proof.length; k++) at((x) => ({ ...x, proof: x.proof.map((p, q) => (q === k ? flip(p) : p)) }));
          at((x) => ({ ...x, leaf: { ...x.leaf, firstLeaf: x.leaf.firstLeaf ^ 1n } }));
        });
        for (const field of ["weight", "bias"] as const) {
          const l = o[field];
          if (l.proof.length === 0 && l.word === ethers.ZeroHash) continue;
          flips.push(stepMove({ gameId, now: 0n }, { ...planned, openings: { ...o, [field]: { ...l, word: flip(l.word) } } }));
          for (let k = 0; k < l.proof.length; k++) flips.push(stepMove({ gameId, now: 0n }, { ...planned, openings: { ...o, [field]: { ...l, proof: l.proof.map((p, q) => (q === k ? flip(p) : p)) } } }));
        }
        expect(flips.length).to.be.greaterThan(10);
        for (const move of flips) {
          let refused = false;
          try {
            await d.game.connect(other).getFunction(move.functionName).staticCall(...move.args);
          } catch {
            refused = true;
          }
          expect(refused, `${s.label}: a flipped opening was accepted`).to.equal(true);
        }
        const otherOp = { ...planned, op: { ...planned.op, firstLeaf: planned.op.firstLeaf + 1n } };
        await expect(send(other, stepMove({ gameId, now: 0n }, otherOp))).to.be.revertedWithCustomError(d.game, "GraphGameStaleAnswer");
        await expect(send(other, base)).to.emit(d.game, "GameResolved").withArgs(gameId, false, GraphReason.StepFailed);
        expect([...(await d.game.verdict(gameId))]).to.deep.equal([true, false, BigInt(GraphReason.StepFailed)]);
        await expect(send(other, base)).to.be.revertedWithCustomError(d.game, "GraphGameAlreadyResolved").withArgs(gameId);
        await expect(d.game.timeout(gameId)).to.be.revertedWithCustomError(d.game, "GraphGameAlreadyResolved").withArgs(gameId);
      }
    });

    it("the planner refuses to play a game that is not its run's", async function () {
      const { gameId, lie, state } = await upTo(cnn, { leaf: 2, element: 0 }, () => true);
      const ctx = { gameId, now: BigInt(await time.latest()) };
      expect(() => planGraphMove(state, "challenger", gameTraceOf(residual.honest), ctx)).to.throw(GraphPlannerError, /model root/);
      expect(() => planGraphMove(state, "asserter", gameTraceOf(cnn.honest), ctx)).to.throw(GraphPlannerError, /not a claim of ours/);
      const otherInput = GraphTraceProvider.fromInput(cnn.honest.program, cnn.honest.trace.values[0].map((x) => -x));
      expect(() => planGraphMove(state, "asserter", gameTraceOf(otherInput), ctx)).to.throw(GraphPlannerError, /another input/);
      expect(planGraphMove(state, "asserter", lie, ctx)?.functionName).to.equal("revealPrefixes");
      expect(planGraphMove(state, "challenger", gameTraceOf(cnn.honest), ctx)).to.equal(null);
    });

    it("clocks: a move after the mover's clock ran out is refused, and anyone may then end the game", async function () {
      const { gameId, state } = await upTo(residual, { leaf: 2, element: 0 }, () => true);
      await time.increase(Number(CLOCK) + 5);
      await expect(d.game.connect(asserter).revealPrefixes(gameId, 0, state.hi, [])).to.be.revertedWithCustomError(d.game, "GraphGameClockExpired");
      const [asserterLeft, challengerLeft] = await d.game.clocks(gameId);
      expect([asserterLeft, challengerLeft]).to.deep.equal([0n, CLOCK]);
      await expect(d.game.connect(other).timeout(gameId)).to.emit(d.game, "GameResolved").withArgs(gameId, false, GraphReason.Timeout);
    });
  });
});

/** The honest run's value where a game stepped: the element, or for a reduce stage the fold after chunk lo. */
function truthAt(truth: GraphGameTrace, state: GraphGameState): number {
  const leaf = Number(state.leaf);
  const e = Number(state.index);
  return state.chunks > 0n ? truth.partialFolds(leaf, e)[Number(state.lo) + 1] : truth.element(leaf, e);
}

// ------------------------------------------------------------------------------------------------
// A residual block, built here
// ------------------------------------------------------------------------------------------------

/**
 * A MobileNet-style residual block with squeeze-and-excitation, [3, 8, 8] → [10]: conv 3×3 (8 channels) → ReLU → depthwise
 * conv 3×3 → pointwise conv 1×1 → Add with the ReLU's value (the skip, three ops back) → max-pool 2×2 → global average
 * pool → conv 1×1 → hard-sigmoid table → Mul (the gate broadcast over H × W) → average pool 2×2 → flatten → dense. Each
 * requantisation is set from the accumulators of a seeded input so that the values spread over int8.
 */
function residualProgram(rng: Rng): { program: GraphProgram; input: Int8Array } {
  const constants: Constant[] = [];
  const int8 = (shape: number[], lo = -3, hi = 3): number => {
    const n = shape.reduce((a, b) => a * b, 1);
    constants.push({ dtype: "int8", shape, data: Int8Array.from({ length: n }, () => rng.int(lo, hi)) });
    return constants.length - 1;
  };
  const int32 = (n: number): number => {
    constants.push({ dtype: "int32", shape: [n], data: Int32Array.from({ length: n }, () => rng.int(-300, 300)) });
    return constants.length - 1;
  };
  const table = (): number => {
    constants.push({ dtype: "int8", shape: [256], data: hardSigmoidTable(0.05, 1 / 127) });
    return constants.length - 1;
  };
  const same = { strides: [1, 1] as const, dilations: [1, 1] as const };
  const rq = { multiplier: [1], shift: [8], clampLo: -128, clampHi: 127 };
  const ops: Op[] = [
    { kind: "conv", inputs: [0], weight: int8([8, 3, 3, 3]), bias: int32(8), ...same, pads: [1, 1, 1, 1], groups: 1, ...rq }, // v1
    { kind: "clamp", inputs: [1], lo: 0, hi: 127 }, // v2: ReLU
    { kind: "conv", inputs: [2], weight: int8([8, 1, 3, 3]), bias: int32(8), ...same, pads: [1, 1, 1, 1], groups: 8, ...rq }, // v3: depthwise
    { kind: "conv", inputs: [3], weight: int8([8, 8, 1, 1]), bias: int32(8), ...same, pads: [0, 0, 0, 0], groups: 1, ...rq }, // v4: pointwise
    { kind: "add", inputs: [2, 4], multiplierA: 1, shiftA: 1, multiplierB: 1, shiftB: 1, clampLo: -128, clampHi: 127 }, // v5: the residual
    { kind: "maxPool", inputs: [5], kernel: [2, 2], strides: [2, 2], pads: [0, 0, 0, 0], dilations: [1, 1] }, // v6
    { kind: "globalAvgPool", inputs: [6], multiplier: 1, shift: 4, clampLo: -128, clampHi: 127 }, // v7
    { kind: "conv", inputs: [7], weight: int8([8, 8, 1, 1]), bias: int32(8), ...same, pads: [0, 0, 0, 0], groups: 1, ...rq }, // v8
    { kind: "table", inputs: [8], table: table() }, // v9: hard sigmoid
    { kind: "mul", inputs: [6, 9], multiplier: 1, shift: 7, clampLo: -128, clampHi: 127 }, // v10: the gate
    { kind: "avgPool", inputs: [10], kernel: [2, 2], strides: [2, 2], pads: [0, 0, 0, 0], dilations: [1, 1], multiplier: 1, shift: 2, clampLo: -128, clampHi: 127 }, // v11
    { kind: "flatten", inputs: [11] }, // v12
    { kind: "dense", inputs: [12], weight: int8([10, 32]), bias: int32(10), ...rq }, // v13
  ];
  return calibrated({ inputShape: [3, 8, 8], constants, ops }, rng.int8Array(3 * 8 * 8));
}

/**
 * Views in front of every kind of step, [2, 6, 6] → [1, 5]: conv → transpose (H and W swapped) → concat with the
 * conv's own value along the channels → conv 3×3 over the concat (its chunks read through both views) → slice with
 * negative steps → clamp and add over the slice → max-pool → average pool of the slice → add → flatten → dense →
 * reshape (the output is a view).
 */
function viewProgram(rng: Rng): { program: GraphProgram; input: Int8Array } {
  const constants: Constant[] = [];
  const int8 = (shape: number[]): number => {
    constants.push({ dtype: "int8", shape, data: Int8Array.from({ length: shape.reduce((a, b) => a * b, 1) }, () => rng.int(-3, 3)) });
    return constants.length - 1;
  };
  const int32 = (n: number): number => {
    constants.push({ dtype: "int32", shape: [n], data: Int32Array.from({ length: n }, () => rng.int(-300, 300)) });
    return constants.length - 1;
  };
  const rq = { multiplier: [1], shift: [8], clampLo: -128, clampHi: 127 };
  const window = { strides: [1, 1] as const, dilations: [1, 1] as const };
  const ops: Op[] = [
    { kind: "conv", inputs: [0], weight: int8([4, 2, 3, 3]), bias: int32(4), ...window, pads: [1, 1, 1, 1], groups: 1, ...rq }, // v1 [4,6,6]
    { kind: "transpose", inputs: [1], perm: [0, 2, 1] }, // v2
    { kind: "concat", inputs: [2, 1], axis: 0 }, // v3 [8,6,6]
    { kind: "conv", inputs: [3], weight: int8([4, 8, 3, 3]), bias: int32(4), ...window, pads: [1, 1, 1, 1], groups: 1, ...rq }, // v4 [4,6,6]
    { kind: "slice", inputs: [4], starts: [3, 5, 0], steps: [-1, -1, 2], sizes: [4, 6, 3] }, // v5 [4,6,3]
    { kind: "clamp", inputs: [5], lo: 0, hi: 127 }, // v6
    { kind: "add", inputs: [6, 5], multiplierA: 1, shiftA: 1, multiplierB: 1, shiftB: 1, clampLo: -128, clampHi: 127 }, // v7
    { kind: "maxPool", inputs: [7], kernel: [2, 2], strides: [1, 1], pads: [0, 0, 0, 0], dilations: [1, 1] }, // v8 [4,5,2]
    { kind: "avgPool", inputs: [5], kernel: [2, 2], strides: [1, 1], pads: [0, 0, 0, 0], dilations: [1, 1], multiplier: 1, shift: 2, clampLo: -128, clampHi: 127 }, // v9
    { kind: "add", inputs: [8, 9], multiplierA: 1, shiftA: 1, multiplierB: 1, shiftB: 1, clampLo: -128, clampHi: 127 }, // v10
    { kind: "flatten", inputs: [10] }, // v11 [40]
    { kind: "dense", inputs: [11], weight: int8([5, 40]), bias: int32(5), ...rq }, // v12 [5]
    { kind: "reshape", inputs: [12], shape: [1, 5] }, // v13: the output, a view
  ];
  return calibrated({ inputShape: [2, 6, 6], constants, ops }, rng.int8Array(2 * 6 * 6));
}

/** A clamp, `views` layout ops in a row (flatten and reshape in turn), and a clamp reading through all of them. */
function viewChainProgram(views: number): { program: GraphProgram; input: Int8Array } {
  const ops: Op[] = [{ kind: "clamp", inputs: [0], lo: -100, hi: 100 }];
  for (let k = 0; k < views; k++) ops.push(k % 2 === 0 ? { kind: "flatten", inputs: [ops.length] } : { kind: "reshape", inputs: [ops.length], shape: [2, 4, 4] });
  ops.push({ kind: "clamp", inputs: [ops.length], lo: -50, hi: 50 });
  return { program: { inputShape: [2, 4, 4], constants: [], ops }, input: new Rng(views).int8Array(32) };
}

/** `program` with each convolution's and dense's requantisation set so that the largest |acc| on `input` maps to ~100. */
function calibrated(program: GraphProgram, input: Int8Array): { program: GraphProgram; input: Int8Array } {
  const ops = program.ops.slice();
  let current: GraphProgram = { ...program, ops };
  ops.forEach((op, k) => {
    if (op.kind !== "conv" && op.kind !== "dense") return;
    const trace = executeProgram(current, input);
    const r = reductionOf(current, op, validateProgram(current)[op.inputs[0]]);
    const x = trace.values[op.inputs[0]];
    const weights = current.constants[op.weight].data as Int8Array;
    const max = Math.max(1, ...Array.from({ length: r.rows }, (_, o) => Math.abs(foldRow(r, x, weights, o))));
    ops[k] = { ...op, multiplier: [Math.max(1, Math.round((100 * 2 ** 16) / max))], shift: [16] };
    current = { ...program, ops };
  });
  return { program: current, input };
}
