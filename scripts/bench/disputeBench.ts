import { type Hex, parseEther, parseEventLogs } from "viem";
import { disputeGameAbi, jobMarketAbi, modelRegistryAbi, stakingAbi } from "../../core/abi";
import { bytesEqual, int8Bytes, toHex } from "../../core/bytes";
import { type ChainActor, send } from "../../core/chain/actor";
import { jobFromLogs } from "../../core/chain/jobLogs";
import type { Job } from "../../core/jobState";
import type { Deployment } from "../../core/chain/deployment";
import { type ModelCommitment, commitModel, commitTrace } from "../../core/commitments";
import { buildIntegerOnnx } from "../../core/onnx/integerGraph";
import { OrtTraceRunner } from "../../core/onnx/ortTraceRunner";
import { chunkCount } from "../../core/denseStep";
import { playTurn, readGame } from "../../core/dispute/gameClient";
import { Phase, type Role } from "../../core/dispute/gameState";
import { propagatingLie, withSums } from "../../core/dispute/lies";
import { type DisputeTrace, pickNodeMove, pickRootsMove, pickSumsMove, revealedNodes, revealedRoots, revealedSums } from "../../core/dispute/planner";
import { treeDepth } from "../../core/merkle";
import { type IntegerModel, modelShape } from "../../core/model";
import { loadMnist } from "../../core/mnist";
import { quantiseInput } from "../../core/quantise";
import { Rng } from "../../core/rng";
import { MNIST_MODEL_DIR, inputScaleOf, loadModelDir } from "../../core/modelFiles";
import { TraceProvider } from "../../core/traceProvider";
import { syntheticModel } from "../lib/syntheticModel";
import { inProcessChain } from "./inProcessChain";
import { fmt, table, timeMs } from "./timing";

/**
 * The worst-case dispute of a model, played automatically by the dispute kit on Hardhat's in-process
 * chain: a node that lied about one element of the layer with the longest descent and the most partial
 * sums, defending its lie to the last step, against an honest watcher. Every transaction's gas is
 * recorded; the wall time runs from the challenge to the resolution (re-execution and proofs included).
 */

interface DisputeCase {
  readonly name: string;
  readonly model: IntegerModel;
  readonly input: Int8Array;
  /** A registered model: its id and commitment; others are registered here. */
  readonly registered?: { modelId: bigint; commitment: ModelCommitment };
  /** Serve it with onnxruntime first (the scale case): load, run and commit, checked against the reference. */
  readonly serve?: boolean;
}

export interface ServeRun {
  readonly loadSeconds: number;
  readonly modelRootSeconds: number;
  readonly inferenceSeconds: number;
  readonly traceRootSeconds: number;
}

export interface DisputeRun {
  readonly name: string;
  readonly parameters: number;
  readonly layers: number;
  readonly layer: number;
  readonly element: number;
  readonly moves: { readonly by: Role | "challenger (open)"; readonly name: string; readonly gas: bigint }[];
  readonly totalGas: bigint;
  readonly largest: { readonly name: string; readonly gas: bigint };
  readonly transactions: number;
  readonly wallSeconds: number;
  readonly setupSeconds: number;
  readonly asserterWon: boolean;
  readonly serve?: ServeRun;
  readonly cover: CoverRun;
}

/**
 * Who pays for the longest game on a model, at the deployment's cover gas price: the bond against the
 * node's gas when a lying challenger drags an honest node to the end, and the reward at the model's
 * smallest collateral against an honest challenger's gas when a lying node defends to the end.
 */
export interface CoverRun {
  readonly maxWidth: number;
  readonly bond: bigint;
  /** The honest node's gas against a lying challenger: its reveals, the step, withdrawing the bond it won. */
  readonly nodeGas: bigint;
  readonly minCollateral: bigint;
  /** What one honest challenger gets at the smallest collateral: challengerRewardBps of it. */
  readonly reward: bigint;
  /** The honest challenger's gas against the lying node: challenge, picks, step, claiming and withdrawing. */
  readonly challengerGas: bigint;
  /** LibDisputeCost's bounds for the model's shape (DisputeGame.gasBounds). */
  readonly bounds: { readonly node: bigint; readonly challenger: bigint };
}

/** Moves a layer's dispute takes beyond the roots: reveals of its tree (4 levels each) and rounds of sums (64-ary). */
function lengthOf(model: IntegerModel, l: number): number {
  const { nIn, nOut } = model.layers[l - 1];
  const reveals = Math.ceil(treeDepth(Math.max(1, chunkCount(nOut))) / 4);
  const sumRounds = Math.ceil(Math.log(Math.max(2, chunkCount(nIn))) / Math.log(64) - 1e-9);
  return 2 * reveals + 2 * sumRounds + nIn / 1e9; // ties go to the wider fan-in (longer proofs)
}

export async function benchDisputes(options: { quick: boolean }): Promise<{ table: string; results: DisputeRun[] }> {
  const { deployment, accounts, actor } = await inProcessChain();
  const [deployer, requester, node, challenger] = accounts;
  await send(actor(node), { address: deployment.contracts.staking, abi: stakingAbi, functionName: "stake", value: parseEther("100") });

  const mnist = loadModelDir(MNIST_MODEL_DIR);
  const digit = loadMnist().test[0];
  const cases: DisputeCase[] = [
    { name: "mnist-mlp 784-128-64-10", model: mnist.model, input: quantiseInput(digit.pixels, inputScaleOf(mnist)), registered: { modelId: deployment.model.id, commitment: mnist.commitment } },
  ];
  const rng = new Rng(6);
  const uniform = (depth: number, width: number): DisputeCase => {
    const model = syntheticModel(rng, { sizes: Array<number>(depth + 1).fill(width), style: "scaled" });
    return { name: `MLP ${depth} × ${width}`, model, input: rng.int8Array(width) };
  };
  const shapes: [number, number][] = options.quick ? [[2, 64]] : [[2, 64], [4, 64], [8, 64], [16, 64], [2, 256], [2, 1024], [2, 4096], [16, 256]];
  for (const [depth, width] of shapes) cases.push(uniform(depth, width));
  // Scale: an integer model of over 100M parameters, served with onnxruntime and disputed end to end.
  if (!options.quick) cases.push({ ...uniform(6, 4096), name: "MLP 6 × 4096 (scale)", serve: true });

  const results: DisputeRun[] = [];
  for (const c of cases) results.push(await worstCaseDispute(c, deployment, actor(deployer), actor(requester), actor(node), actor(challenger)));
  return { results, table: disputeTable(results) };
}

async function worstCaseDispute(c: DisputeCase, deployment: Deployment, deployer: ChainActor, requester: ChainActor, node: ChainActor, challenger: ChainActor): Promise<DisputeRun> {
  const { contracts } = deployment;
  const setup = await timeMs(async () => {
    const commitment = c.registered?.commitment ?? commitModel(c.model);
    let modelId = c.registered?.modelId;
    if (modelId === undefined) {
      const shape = modelShape(c.model);
      const { hash } = await send(deployer, {
        address: contracts.modelRegistry,
        abi: modelRegistryAbi,
        functionName: "registerModel",
        args: [toHex(commitment.root), shape.inputSize, shape.outputSize, shape.layerCount, shape.maxWidth, c.name],
      });
      const receipt = await deployer.publicClient.getTransactionReceipt({ hash });
      modelId = parseEventLogs({ abi: modelRegistryAbi, logs: receipt.logs, eventName: "ModelRegistered" })[0].args.modelId;
    }
    return { commitment, modelId };
  });
  const { commitment, modelId } = setup.value;
  const model = c.model;
  const L = model.layers.length;
  const shape = modelShape(model);
  const game = contracts.disputeGame;
  const read = (functionName: "bondFor" | "minCollateralFor" | "gasBounds", args: readonly unknown[]) =>
    requester.publicClient.readContract({ address: game, abi: disputeGameAbi, functionName, args } as never) as Promise<unknown>;
  const floor = deployment.parameters.minCollateral;
  const forModel = (await read("minCollateralFor", [BigInt(L), BigInt(shape.maxWidth)])) as bigint;
  const collateral = forModel > floor ? forModel : floor;
  const bond = (await read("bondFor", [modelId])) as bigint;
  const truth = TraceProvider.fromInput(model, commitment, c.input);
  const serve = c.serve ? await serveWithOnnxRuntime(c, truth) : undefined;
  // The longest layer whose lie reaches the output; its last elements first (the rightmost descent).
  const layers = Array.from({ length: L }, (_, i) => i + 1).sort((a, b) => lengthOf(model, b) - lengthOf(model, a));
  let lie: { layer: number; j: number; trace: DisputeTrace; output: Int8Array } | undefined;
  for (const l of layers) {
    const n = model.layers[l - 1].nOut;
    const found = propagatingLie(model, truth.trace, l, Array.from({ length: n }, (_, k) => n - 1 - k));
    if (found) {
      const lying = TraceProvider.fromTrace(model, commitment, found.trace);
      lie = { layer: l, j: found.j, trace: withSums(lying, "jumpLast"), output: lying.output };
      break;
    }
  }
  if (!lie) throw new Error(`${c.name}: no single-element lie reaches the output`);

  // Post, take, submit a result (the lie, or the truth for the node's side of the cover).
  const receiptLogs = async (hash: Hex) => (await requester.publicClient.getTransactionReceipt({ hash })).logs;
  const submitted = async (trace: DisputeTrace, output: Int8Array) => {
    const block = await requester.publicClient.getBlock();
    const posted = await send(requester, { address: contracts.jobMarket, abi: jobMarketAbi, functionName: "postJob", args: [modelId, toHex(int8Bytes(c.input)), "0x0000000000000000000000000000000000000000", 0, collateral, block.timestamp + 3600n], value: parseEther("0.001") });
    let { jobId, job } = jobFromLogs(await receiptLogs(posted.hash));
    ({ job } = jobFromLogs(await receiptLogs((await send(node, { address: contracts.jobMarket, abi: jobMarketAbi, functionName: "takeJob", args: [jobId, job] })).hash), job));
    const submit = await send(node, {
      address: contracts.jobMarket,
      abi: jobMarketAbi,
      functionName: "submitResult",
      args: [jobId, job, toHex(int8Bytes(output)), toHex(trace.traceRoot), trace.activationRoot(0).proof.map(toHex), trace.activationRoot(L).proof.map(toHex)],
    });
    return { jobId, job: jobFromLogs(await receiptLogs(submit.hash), job).job };
  };
  const { jobId, job } = await submitted(lie.trace, lie.output);
  /** Withdraws `who`'s credit in the game; its gas. */
  const withdrawGas = async (who: ChainActor) => (await send(who, { address: game, abi: disputeGameAbi, functionName: "withdraw" })).gasUsed;

  // The dispute, played by the dispute kit for both sides.
  const played = await timeMs(async () => {
    const opened = await send(challenger, { address: contracts.disputeGame, abi: disputeGameAbi, functionName: "challenge", args: [jobId, job], value: bond });
    const receipt = await challenger.publicClient.getTransactionReceipt({ hash: opened.hash });
    const gameId = parseEventLogs({ abi: disputeGameAbi, logs: receipt.logs, eventName: "GameStarted" })[0].args.gameId as Hex;
    const moves: DisputeRun["moves"] = [{ by: "challenger (open)", name: "challenge", gas: opened.gasUsed }];
    // The challenger first: it moves at the step (charged to its clock); elsewhere only the side to move moves.
    const sides: [Role, ChainActor, DisputeTrace][] = [["challenger", challenger, truth], ["asserter", node, lie.trace]];
    for (let turn = 0; turn < 200; turn++) {
      let moved = false;
      for (const [role, who, trace] of sides) {
        const t = await playTurn(who, gameId, receipt.blockNumber, role, () => trace);
        if (!t.move) continue;
        moves.push({ by: role, name: t.move.functionName, gas: t.gasUsed! });
        if (t.after?.phase === Phase.Resolved) return { moves, asserterWon: t.after.asserterWon, gameId };
        moved = true;
        break;
      }
      if (!moved) throw new Error(`${c.name}: neither side moves`);
    }
    throw new Error(`${c.name}: the game did not end`);
  });
  const { moves, asserterWon, gameId } = played.value;
  const totalGas = moves.reduce((s, m) => s + m.gas, 0n);
  // The honest challenger's whole bill: its moves, then claiming its reward share and withdrawing reward and bond.
  const claimed = await send(challenger, { address: game, abi: disputeGameAbi, functionName: "claimReward", args: [gameId] });
  const challengerGas = moves.filter((m) => m.by !== "asserter").reduce((s, m) => s + m.gas, 0n) + claimed.gasUsed + (await withdrawGas(challenger));
  const nodeGas = (await honestNodeDefence(c, await submitted(truth, truth.output), truth, lie, bond, challenger, node)) + (await withdrawGas(node));
  const [boundNode, boundChallenger] = (await read("gasBounds", [BigInt(L), BigInt(shape.maxWidth)])) as [bigint, bigint];
  const cover: CoverRun = {
    maxWidth: shape.maxWidth,
    bond,
    nodeGas,
    minCollateral: collateral,
    reward: (collateral * deployment.parameters.challengerRewardBps) / 10_000n,
    challengerGas,
    bounds: { node: boundNode, challenger: boundChallenger },
  };
  const largest = moves.reduce((a, b) => (b.gas > a.gas ? b : a));
  return {
    name: c.name,
    parameters: model.layers.reduce((n, l) => n + l.weights.length + l.bias.length, 0),
    layers: L,
    layer: lie.layer,
    element: lie.j,
    moves,
    totalGas,
    largest: { name: largest.name, gas: largest.gas },
    transactions: moves.length,
    wallSeconds: played.ms / 1000,
    setupSeconds: setup.ms / 1000,
    asserterWon,
    serve,
    cover,
  };
}

/**
 * The node's side of the cover: an honest result disputed by a lying challenger that heads for the same
 * layer and element as the lie above (the longest descent and the most partial sums) and never steps, so
 * the honest node reveals everything and steps itself. Returns the node's gas (its moves).
 */
async function honestNodeDefence(
  c: DisputeCase,
  submitted: { jobId: bigint; job: Job },
  truth: TraceProvider,
  target: { layer: number; j: number },
  bond: bigint,
  challenger: ChainActor,
  node: ChainActor,
): Promise<bigint> {
  const game = challenger.deployment.contracts.disputeGame;
  const opened = await send(challenger, { address: game, abi: disputeGameAbi, functionName: "challenge", args: [submitted.jobId, submitted.job], value: bond });
  const { blockNumber } = await challenger.publicClient.getTransactionReceipt({ hash: opened.hash });
  const gameId = (await challenger.publicClient.readContract({ address: game, abi: disputeGameAbi, functionName: "gameIdOf", args: [submitted.jobId, Number(submitted.job.attempt), challenger.walletClient.account.address] })) as Hex;
  const leaf = target.j >> 5;
  let nodeGas = 0n;
  for (let turn = 0; turn < 200; turn++) {
    const t = await playTurn(node, gameId, blockNumber, "asserter", () => truth);
    if (t.move) {
      nodeGas += t.gasUsed!;
      if (t.after?.phase === Phase.Resolved) {
        if (!t.after.asserterWon) throw new Error(`${c.name}: the honest node lost to a lying challenger`);
        return nodeGas;
      }
      continue;
    }
    const view = await readGame(challenger.publicClient, game, gameId, blockNumber);
    const ctx = { gameId, now: view.now, clockBudget: challenger.deployment.parameters.clockBudget, revealed: view.revealed };
    const st = view.state;
    let move;
    if (st.phase === Phase.PickRoots) {
      const { points } = revealedRoots(st, ctx);
      move = pickRootsMove(st, truth, ctx, points.findIndex((p, i) => p < target.layer && target.layer <= points[i + 1]));
    } else if (st.phase === Phase.PickNode) {
      const { height, first } = revealedNodes(st, ctx);
      move = pickNodeMove(st, truth, ctx, (leaf >> height) - first, target.j & 31);
    } else if (st.phase === Phase.PickSums) {
      move = pickSumsMove(st, ctx, revealedSums(st, ctx).sums.length - 2);
    } else throw new Error(`${c.name}: the node does not move in phase ${Phase[st.phase]}`);
    await send(challenger, { address: game, abi: disputeGameAbi, functionName: move.functionName, args: move.args });
  }
  throw new Error(`${c.name}: the game did not end`);
}

/** Per model: the bond and the reward at the smallest collateral against each side's real gas in its longest game. */
export function coverTable(runs: readonly DisputeRun[], coverGasPrice: bigint): string {
  const gwei = (wei: bigint, gas: bigint) => fmt(Number(wei) / Number(gas) / 1e9, 1);
  const eth = (wei: bigint) => fmt(Number(wei) / 1e18, 4);
  return table(
    ["model", "layers", "max width", "bond (ETH)", "node's gas", "bound", "node covered up to (gwei)", "min collateral (ETH)", "reward (ETH)", "challenger's gas", "bound", "challenger covered up to (gwei)"],
    runs.map((r) => [
      r.name,
      r.layers,
      r.cover.maxWidth,
      eth(r.cover.bond),
      r.cover.nodeGas.toLocaleString("en-US"),
      r.cover.bounds.node.toLocaleString("en-US"),
      gwei(r.cover.bond, r.cover.nodeGas),
      eth(r.cover.minCollateral),
      eth(r.cover.reward),
      r.cover.challengerGas.toLocaleString("en-US"),
      r.cover.bounds.challenger.toLocaleString("en-US"),
      gwei(r.cover.reward, r.cover.challengerGas),
    ]),
  ) + `

Deployment cover gas price: ${fmt(Number(coverGasPrice) / 1e9, 1)} gwei. A side is covered up to the gas price at which its real gas in the longest game costs what it is paid (the bond for the node, the reward of one honest challenger at the model's smallest collateral).`;
}

/** The node's side of a large model: open an onnxruntime session, run, commit the trace; equal to the reference. */
async function serveWithOnnxRuntime(c: DisputeCase, truth: TraceProvider): Promise<ServeRun> {
  const onnx = buildIntegerOnnx(c.model);
  const load = await timeMs(() => OrtTraceRunner.load(onnx));
  const root = await timeMs(() => commitModel(load.value.model));
  const run = await timeMs(() => load.value.run(c.input));
  const committed = await timeMs(() => commitTrace(run.value));
  await load.value.release();
  if (!bytesEqual(committed.value.root, truth.traceRoot)) throw new Error(`${c.name}: onnxruntime and the reference executor disagree`);
  return { loadSeconds: load.ms / 1000, modelRootSeconds: root.ms / 1000, inferenceSeconds: run.ms / 1000, traceRootSeconds: committed.ms / 1000 };
}

const KINDS = ["challenge", "revealRoots", "pickRoots", "revealNodes", "pickNode", "stateAccumulator", "postSums", "pickSums", "step"] as const;

/** Gas by move kind: "n × max" per kind (k = 1,000 gas). */
function disputeTable(runs: readonly DisputeRun[]): string {
  const k = (g: bigint) => `${fmt(Number(g) / 1000, 1)}k`;
  const perKind = (r: DisputeRun, kind: string) => {
    const ms = r.moves.filter((m) => m.name === kind);
    if (ms.length === 0) return "–";
    const max = ms.reduce((a, b) => (b.gas > a ? b.gas : a), 0n);
    return ms.length === 1 ? k(max) : `${ms.length} × ≤${k(max)}`;
  };
  return table(
    ["model", "parameters", "disputed (layer, element)", "transactions", ...KINDS, "total gas", "largest tx", "dispute wall time (s)"],
    runs.map((r) => [
      r.name,
      r.parameters.toLocaleString("en-US"),
      `${r.layer} of ${r.layers}, j = ${r.element}`,
      r.transactions,
      ...KINDS.map((kind) => perKind(r, kind)),
      r.totalGas.toLocaleString("en-US"),
      `${r.largest.gas.toLocaleString("en-US")} (${r.largest.name})`,
      fmt(r.wallSeconds, 2),
    ]),
  );
}

/** The scale case: serving and disputing the largest model. */
export function scaleTable(runs: readonly DisputeRun[]): string {
  return table(
    ["model", "parameters", "session load (s)", "model root (s)", "inference (s)", "trace root (s)", "dispute transactions", "largest tx (gas)", "total gas", "dispute wall time (s)"],
    runs
      .filter((r) => r.serve)
      .map((r) => [
        r.name,
        r.parameters.toLocaleString("en-US"),
        fmt(r.serve!.loadSeconds),
        fmt(r.serve!.modelRootSeconds),
        fmt(r.serve!.inferenceSeconds, 3),
        fmt(r.serve!.traceRootSeconds, 3),
        r.transactions,
        r.largest.gas.toLocaleString("en-US"),
        r.totalGas.toLocaleString("en-US"),
        fmt(r.wallSeconds),
      ]),
  );
}

/** Each transaction of one dispute, in order. */
export function movesTable(run: DisputeRun): string {
  return table(
    ["#", "by", "move", "gas"],
    [...run.moves.map((m, i) => [i + 1, m.by, m.name, m.gas.toLocaleString("en-US")]), ["", "", "**total**", run.totalGas.toLocaleString("en-US")]],
  );
}
