import { type Address, type Hex, type TransactionReceipt, getAddress, keccak256, parseEventLogs, stringToHex } from "viem";
import { elementwiseStepVerifierAbi, graphDisputeGameAbi, graphStepRunnerAbi, macStepVerifierAbi, poolStepVerifierAbi, stepRouterAbi } from "../../abi";
import { toHex } from "../../bytes";
import { readArtifact } from "../../chain/artifacts";
import { RefuteContractError, decodeError, innermostReason } from "../../chain/contractError";
import type { RefutePublicClient, RefuteWalletClient } from "../../chain/rpcClients";
import { OP_CODES, type OpKind } from "../program";
import { GraphPhase, type GraphGameState, type Role, isPick, toGraphGameState } from "./gameState";
import type { GraphGameTrace } from "./gameTrace";
import { type GraphMove, planGraphMove } from "./planner";

/**
 * The graph dispute game (contracts/graph/GraphDisputeGame.sol) on a chain, through viem: the twin of
 * core/dispute/gameClient.ts. Read a game (its state and the values of its last reveal), plan one's
 * next move with the kit's planner (core/graph/game/planner.ts), send it; plus deploying the game's
 * stack and opening a game on a claimed run. The planner and the rest of core/graph/game stay pure:
 * this file is the only one of the kit that talks to a chain (index.ts does not re-export it).
 */

/** What a side acting on the graph game holds: its clients and the game's address. */
export interface GraphGameActor {
  readonly publicClient: RefutePublicClient;
  readonly walletClient: RefuteWalletClient;
  readonly game: Address;
}

/** The deployed stack: the three step verifiers, the StepRouter, the GraphStepRunner and the game. */
export interface GraphGameContracts {
  readonly game: Address;
  readonly runner: Address;
  readonly router: Address;
  readonly verifiers: { readonly mac: Address; readonly pool: Address; readonly elementwise: Address };
}

/** The computing op kinds the router dispatches, and which verifier steps each. */
export const ROUTED_KINDS = ["dense", "conv", "maxPool", "avgPool", "globalAvgPool", "add", "mul", "clamp", "table"] as const satisfies readonly OpKind[];

function verifierOf(kind: OpKind): "mac" | "pool" | "elementwise" {
  return kind === "dense" || kind === "conv" ? "mac" : kind === "maxPool" || kind === "avgPool" || kind === "globalAvgPool" ? "pool" : "elementwise";
}

/** Deploys the verifiers, a StepRouter listing every computing op, the runner and the game, from the Hardhat artifacts. */
export async function deployGraphGame(publicClient: RefutePublicClient, walletClient: RefuteWalletClient, artifactsDir?: string): Promise<GraphGameContracts> {
  const deploy = async (name: string, abi: readonly unknown[], args: readonly unknown[]): Promise<Address> => {
    const { bytecode } = readArtifact(name, artifactsDir);
    const hash = await walletClient.deployContract({ abi, bytecode, args } as never);
    const receipt = await publicClient.waitForTransactionReceipt({ hash });
    if (receipt.status !== "success" || !receipt.contractAddress) throw new Error(`deploying ${name} failed in ${hash}`);
    return getAddress(receipt.contractAddress);
  };
  const verifiers = {
    mac: await deploy("MacStepVerifier", macStepVerifierAbi, []),
    pool: await deploy("PoolStepVerifier", poolStepVerifierAbi, []),
    elementwise: await deploy("ElementwiseStepVerifier", elementwiseStepVerifierAbi, []),
  };
  const router = await deploy("StepRouter", stepRouterAbi, [ROUTED_KINDS.map((k) => OP_CODES[k]), ROUTED_KINDS.map((k) => verifiers[verifierOf(k)])]);
  const runner = await deploy("GraphStepRunner", graphStepRunnerAbi, [router]);
  const game = await deploy("GraphDisputeGame", graphDisputeGameAbi, [runner]);
  return { game, runner, router, verifiers };
}

/** GraphDisputeGame.Claim of the run `claimed` (the asserter's). */
export function claimOf(claimed: GraphGameTrace) {
  return {
    modelRoot: toHex(claimed.model.root),
    opCount: BigInt(claimed.program.ops.length),
    leafCount: BigInt(claimed.leafCount),
    inputRoot: toHex(claimed.inputRoot),
    traceRoot: toHex(claimed.traceRoot),
  };
}

/** Sends a contract call after simulating it (a revert throws its decoded error before gas is spent); returns the receipt. */
async function sendCall(
  actor: Pick<GraphGameActor, "publicClient" | "walletClient">,
  call: { address: Address; abi: readonly unknown[]; functionName: string; args: readonly unknown[] },
): Promise<TransactionReceipt> {
  let hash: Hex;
  try {
    const { request } = await actor.publicClient.simulateContract({ ...call, account: actor.walletClient.account } as never);
    hash = await actor.walletClient.writeContract(request);
  } catch (e) {
    const decoded = decodeError(e);
    if (decoded instanceof RefuteContractError) throw decoded;
    throw new Error(`${call.functionName} from ${actor.walletClient.account.address} was not sent: ${innermostReason(e)}`, { cause: e });
  }
  const receipt = await actor.publicClient.waitForTransactionReceipt({ hash });
  if (receipt.status !== "success") throw new Error(`${call.functionName} reverted in ${hash}`);
  return receipt;
}

export interface OpenedGraphGame {
  readonly gameId: Hex;
  readonly gasUsed: bigint;
  /** The block of the open: where a game's log search starts. */
  readonly blockNumber: bigint;
}

/** Opens a game on `claimed` from `opener` under `key` (a string, hashed, or a word). */
export async function openGraphGame(
  opener: GraphGameActor,
  key: string | Hex,
  claimed: GraphGameTrace,
  parties: { readonly asserter: Address; readonly challenger: Address },
  clockBudget: bigint,
): Promise<OpenedGraphGame> {
  const keyWord = /^0x[0-9a-fA-F]{64}$/.test(key) ? (key as Hex) : keccak256(stringToHex(key));
  const receipt = await sendCall(opener, {
    address: opener.game,
    abi: graphDisputeGameAbi,
    functionName: "open",
    args: [keyWord, claimOf(claimed), parties.asserter, parties.challenger, clockBudget],
  });
  const [opened] = parseEventLogs({ abi: graphDisputeGameAbi, logs: receipt.logs, eventName: "GameOpened" });
  return { gameId: opened.args.gameId, gasUsed: receipt.gasUsed, blockNumber: receipt.blockNumber };
}

const REVEALS = ["PrefixesRevealed", "NodesRevealed", "FoldsPosted"] as const;

export interface GraphGameView {
  readonly gameId: Hex;
  readonly state: GraphGameState;
  /** The values of the last reveal (ends included) when the game waits for a pick. */
  readonly revealed?: readonly Hex[] | readonly bigint[];
  /** The latest block's timestamp. */
  readonly now: bigint;
}

/** Reads game `gameId` of the GraphDisputeGame at `game`; `fromBlock` bounds the log search (the game's open). */
export async function readGraphGame(client: RefutePublicClient, game: Address, gameId: Hex, fromBlock: bigint = 0n): Promise<GraphGameView> {
  const [raw, block] = await Promise.all([client.readContract({ address: game, abi: graphDisputeGameAbi, functionName: "getGame", args: [gameId] }), client.getBlock()]);
  const state = toGraphGameState(raw);
  if (!isPick(state.phase)) return { gameId, state, now: block.timestamp };
  const logs = (
    await Promise.all(REVEALS.map((eventName) => client.getContractEvents({ address: game, abi: graphDisputeGameAbi, eventName, args: { gameId }, fromBlock, toBlock: block.number })))
  ).flat();
  if (logs.length === 0) return { gameId, state, now: block.timestamp };
  logs.sort((a, b) => (a.blockNumber === b.blockNumber ? a.logIndex - b.logIndex : a.blockNumber < b.blockNumber ? -1 : 1));
  const args = logs[logs.length - 1].args as { roots?: readonly Hex[]; nodes?: readonly Hex[]; folds?: readonly bigint[] };
  return { gameId, state, revealed: args.roots ?? args.nodes ?? args.folds, now: block.timestamp };
}

/** The next honest move of `role` in the game read as `view`, from its run `trace`, or null (see planGraphMove). */
export function nextGraphMove(view: GraphGameView, role: Role, trace: GraphGameTrace): GraphMove | null {
  return planGraphMove(view.state, role, trace, { gameId: view.gameId, now: view.now, revealed: view.revealed });
}

/** One turn of `role`: what it saw, the move it made (if any), its gas, and how the game stands after. */
export interface GraphTurn {
  readonly before: GraphGameView;
  readonly move?: GraphMove;
  readonly gasUsed?: bigint;
  readonly after?: GraphGameState;
  /** What the step computed and the claim it was compared with (its StepRun event), when the move stepped. */
  readonly stepped?: { readonly computed: bigint; readonly claimed: bigint };
}

export interface GraphTurnOptions {
  /** The time to plan with (default: the latest block's). */
  readonly now?: bigint;
  /** Plans the move instead of the planner (a scripted or lying side); null: no move. */
  readonly plan?: (view: GraphGameView) => GraphMove | null;
}

/**
 * Reads the game, plans `role`'s next move from its run `trace` (or `options.plan`) and sends it
 * (simulated first, so a move the contract would refuse throws its decoded error without spending gas).
 */
export async function playGraphTurn(actor: GraphGameActor, gameId: Hex, startBlock: bigint, role: Role, trace: GraphGameTrace, options: GraphTurnOptions = {}): Promise<GraphTurn> {
  const read = await readGraphGame(actor.publicClient, actor.game, gameId, startBlock);
  const before = options.now === undefined ? read : { ...read, now: options.now };
  if (before.state.phase === GraphPhase.Resolved) return { before };
  const move = options.plan ? options.plan(before) : nextGraphMove(before, role, trace);
  if (!move) return { before };
  const receipt = await sendCall(actor, { address: actor.game, abi: graphDisputeGameAbi, functionName: move.functionName, args: move.args });
  const [run] = parseEventLogs({ abi: graphDisputeGameAbi, logs: receipt.logs, eventName: "StepRun" });
  const raw = await actor.publicClient.readContract({ address: actor.game, abi: graphDisputeGameAbi, functionName: "getGame", args: [gameId] });
  return { before, move, gasUsed: receipt.gasUsed, after: toGraphGameState(raw), stepped: run ? { computed: run.args.computed, claimed: run.args.claimed } : undefined };
}

/** A move sent in a game played by {@link playGraphGame}. */
export interface GraphPlayedMove {
  readonly by: Role;
  readonly name: GraphMove["functionName"];
  readonly gas: bigint;
}

export interface GraphGameResult {
  readonly moves: readonly GraphPlayedMove[];
  readonly state: GraphGameState;
  readonly stepped?: { readonly computed: bigint; readonly claimed: bigint };
}

/**
 * Plays a game to its end between two sides, each with its own actor and run: each turn the side
 * to move is asked first (the challenger first at the step), then the other (which may time it
 * out). Neither moving throws: this driver does not move time (use a test's clock for that).
 */
export async function playGraphGame(
  gameId: Hex,
  startBlock: bigint,
  sides: { readonly asserter: { actor: GraphGameActor; trace: GraphGameTrace }; readonly challenger: { actor: GraphGameActor; trace: GraphGameTrace } },
  maxTurns = 80,
): Promise<GraphGameResult> {
  const moves: GraphPlayedMove[] = [];
  let stepped: GraphGameResult["stepped"];
  for (let turn = 0; turn < maxTurns; turn++) {
    const view = await readGraphGame(sides.asserter.actor.publicClient, sides.asserter.actor.game, gameId, startBlock);
    if (view.state.phase === GraphPhase.Resolved) return { moves, state: view.state, stepped };
    const order: Role[] = view.state.phase === GraphPhase.Step || isPick(view.state.phase) ? ["challenger", "asserter"] : ["asserter", "challenger"];
    let moved = false;
    for (const role of order) {
      const side = sides[role];
      const move = nextGraphMove(view, role, side.trace);
      if (!move) continue;
      const t = await playGraphTurn(side.actor, gameId, startBlock, role, side.trace, { plan: () => move });
      moves.push({ by: role, name: move.functionName, gas: t.gasUsed! });
      stepped = t.stepped ?? stepped;
      moved = true;
      break;
    }
    if (!moved) throw new Error(`the graph game is stuck in phase ${GraphPhase[view.state.phase]}: neither side moves`);
  }
  throw new Error(`the graph game did not end in ${maxTurns} turns`);
}
