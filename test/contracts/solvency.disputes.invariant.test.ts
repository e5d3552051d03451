import { expect } from "chai";
import hre, { artifacts, ethers, network } from "hardhat";
import type { HardhatEthersSigner } from "@nomicfoundation/hardhat-ethers/signers";
import { type SnapshotRestorer, takeSnapshot, time } from "@nomicfoundation/hardhat-network-helpers";
import { AbiCoder, type Interface, ZeroAddress, ZeroHash, getAddress, keccak256, parseEther, parseUnits } from "ethers";
import { encodeAbiParameters } from "viem";
import { fromHex, toHex } from "../../core/bytes";
import {
  type DenseDescriptor,
  accumulate,
  biasAt,
  elementAt,
  isInt32,
  output as outputOf,
  paddingIsZero,
  validInChunk,
  verifyActivationLeaf,
  verifyBiasLeaf,
  verifyWeightLeaf,
} from "../../core/denseStep";
import {
  type DescriptorArg,
  type GameState,
  Phase,
  Reason,
  type Role,
  clockUsed,
  descriptorArg,
  moverOf,
  splitPoints,
  toGameState,
} from "../../core/dispute/gameState";
import { type DisputeTrace, type Move, type PlanContext, PlannerError, pickNodeMove, pickRootsMove, planMove, stepMove } from "../../core/dispute/planner";
import { JOB_ABI, type Job, JobStatus, hashJob, toJobArgument } from "../../core/jobState";
import { initKeccak } from "../../core/keccak";
import { treeDepth, verifyProof } from "../../core/merkle";
import { CONFIG, UNBONDING_DELAY, jobFrom } from "../helpers/marketFixture";
import {
  type Hex,
  type RawReceipt,
  SolvencySequence,
  byKindLine,
  isHeld,
  isLive,
  jsonOf,
  max,
  newSolvencyStats,
  outcomesLine,
  rpcOf,
  runSeeds,
  summaryLine,
} from "../helpers/solvencyHarness";
import { ProbeBatch, type ProbeResult, SlotBatch, type SlotResult, word } from "../helpers/solvencyProbe";
import { type Claim, type Defence, type TinyModel, answeringTrace, tinyModel } from "../helpers/solvencyModels";
import type { DigitClassifier, DisputeGame, JobMarket, Staking } from "../../typechain-types";

/**
 * Seeded random-sequence solvency invariant over the real contracts: JobMarket, Staking, the real DisputeGame and
 * two DigitClassifier consumers (one on a model with the ten outputs it expects, one on a model with seven, whose
 * callback always fails). The companion of solvency.invariant.test.ts (market and staking against the game mock),
 * with every money path of the per-attempt payout: a bond per game to its winner's side, the node's whole collateral
 * slashed once when the last game on an attempt resolves with at least one lost, the reward pool pulled into the
 * game and shared by every challenger that won (claimReward, the last claimer taking the remainder), the rest to the
 * requester as the job's compensation, the losing node barred from the job, and a consumer passing every wei back
 * to whoever paid (refund, claimCompensation, withdraw).
 *
 * Two tiny registered models keep games short: M10, one Dense layer 4 → 10 (challenge, pickRoots, pickNode,
 * stateAccumulator, step), and M7, two layers 4 → 6 → 7 (a revealRoots first). Every result a node submits, honest
 * or a lie (an output element, a hidden element that reaches the output or is absorbed, non-zero padding), is
 * computed once with the dispute kit, and every move of every player comes from core/dispute/planner.ts: honest
 * watchers play the planner on the honest trace; a lying node plays it on its lie, defending the lied element's
 * sums as core/dispute/lies.ts withSums says (to the step, or losing at once), or not at all (timeouts); sacrificial
 * challengers dispute correct results or lies with fixed, mostly wrong choices (a random element or padding
 * position, a step they may refuse to take); the node's own sybil address, or the node itself, challenges its
 * result and either loses on purpose at once (a zero padding position) or wins at once (the node concedes).
 *
 * Every sequence starts from one snapshot, draws random actions from its own seed (valid and invalid ones, time
 * jumps, jumps to a time limit ± 1 s and the action it decides), then settles everything. Each transaction's success
 * is predicted from the model (game moves by a mirror of the game's rules for these shapes, built on the TypeScript
 * twins of LibMerkle and LibDenseStep), and after every transaction one eth_call reads every balance, credit, stake,
 * job hash, compensation, bar, open-dispute count, attempt record and consumer record (raw slots: the
 * SolvencySlotReader of contracts/test/SolvencyProbe.sol put in place of each contract's code by a state override;
 * the credits and stakes of every account that may hold them), the game a transaction touched is read back
 * (getGame), and the test checks:
 *
 *  - JobMarket balance   == Σ market credits + Σ fees of live (Open, Taken, Submitted) jobs;
 *  - Staking balance     == Σ (free + locked + unbonding) + Σ staking credits;
 *  - each node's locked  == Σ collateral of its Taken/Submitted jobs + Σ collateral of its rejected attempts not
 *                           yet settled;
 *  - DisputeGame balance == Σ game credits + Σ bonds of open games + Σ unclaimed reward shares of settled attempts;
 *  - each consumer's balance + its market credits + its staking credits == Σ owed to its payers
 *                           + Σ (compensation − passed on) of its jobs + Σ fees of its refundable jobs
 *                           (Expired or Cancelled, not yet refunded);
 *  - every job hash == hashJob(model job) (the model folds each transaction's market events and checks them
 *    against the job it expects), every game == the mirror's game, and every other value read == the model's;
 *    a rejected transaction changed nothing but its sender's balance, by exactly its gas.
 *
 * Once in every sequence (at a random transaction) and after settling, everything is read again through the contracts'
 * own getters (SolvencyProbe), for every account and every game, and must agree (so the slot positions, found at
 * start-up by {@link calibrate}, hold, and no other account holds credits or stake).
 *
 * Settling finishes or times out every game (sometimes after the jobs they reopened have ended), finalises,
 * reclaims, cancels or expires every job, claims every reward, collects every consumer refund and compensation,
 * withdraws everything and unstakes: then every contract holds exactly 0 wei and every account's balance moved by
 * exactly what it is owed, less its gas (Σ over all accounts: 0 wei unaccounted).
 *
 * SOLVENCY_SEQUENCES (default 250; 30 under solidity-coverage) and SOLVENCY_SEED (first seed, default 1) pick the
 * sequences. A failure names its seed and recent actions; SOLVENCY_SEED=<seed> SOLVENCY_SEQUENCES=1 replays it, and
 * SOLVENCY_LOG=1 prints every sequence's actions.
 */

const UNDER_COVERAGE = Boolean((hre as unknown as { __SOLIDITY_COVERAGE_RUNNING?: boolean }).__SOLIDITY_COVERAGE_RUNNING);
const SEQUENCES = Number(process.env.SOLVENCY_SEQUENCES ?? (UNDER_COVERAGE ? 30 : 250));
const FIRST_SEED = Number(process.env.SOLVENCY_SEED ?? 1);
const FILE = "test/contracts/solvency.disputes.invariant.test.ts";
const MIN_ACTIONS = 12;
const MAX_ACTIONS = 36;
const ACTOR_FUNDS = parseEther("1000");
/**
 * DisputeGame deployment: bonds and the smallest collateral cover gas at 5 gwei (the game's smallest collateral is
 * then above the market's minCollateral, so it is the one that binds); clocks of an hour.
 */
const COVER_GAS_PRICE = parseUnits("5", "gwei");
const CLOCK_BUDGET = 3600n;
/** Not a divisor of 10,000 and shares of three or more winners leave remainders. */
const REWARD_BPS = 3_333n;
const ZERO_ADDRESS = ZeroAddress as Hex;
const ZERO_BYTES32 = ZeroHash as Hex;
const GAME_WORDS = 40;
/** Stake each node holds at the start of every sequence. */
const BASE_STAKE = parseEther("1");
const MASK_32 = (1n << 32n) - 1n;
const MASK_40 = (1n << 40n) - 1n;
const MASK_128 = (1n << 128n) - 1n;

interface Account {
  readonly name: string;
  readonly address: Hex;
  /** Index of the account that sends its transactions: its own for an EOA, the operator's for the actor. */
  readonly sender: number;
  readonly kind: "eoa" | "actor" | "contract";
}

/** What the model expects of one account. */
interface AccountModel {
  balance: bigint;
  marketCredits: bigint;
  stakingCredits: bigint;
  gameCredits: bigint;
  free: bigint;
  locked: bigint;
  unbonding: bigint;
  readyAt: bigint;
  /** Gas paid (receipt gasUsed × effectiveGasPrice). */
  gas: bigint;
  /** Net of deposits: fees, bonds, collateral and rewards it is owed, less those it paid or lost. */
  owed: bigint;
}

interface ConsumerInfo {
  /** Account index of the contract. */
  readonly account: number;
  readonly address: Hex;
  /** Index into `models`. */
  readonly model: number;
  /** Whether its callback can succeed (the model has the ten outputs DigitClassifier reads). */
  readonly callbackWorks: boolean;
}

interface AttemptModel {
  readonly job: JobModel;
  readonly n: number;
  readonly node: number;
  readonly collateral: bigint;
  claim?: Claim;
  defence: Defence;
  readonly games: GameModel[];
  winners: number;
  claimed: number;
  /** Reward paid out of the pool so far. */
  paid: bigint;
  pool: bigint;
  /** The node lost a game on it (the job reopened, the collateral stays locked until it settles). */
  rejected: boolean;
  settled: boolean;
}

interface JobModel {
  readonly id: bigint;
  job: Job;
  hash: string;
  readonly versions: Job[];
  readonly model: number;
  readonly input: number;
  /** Account index of the requester (the consumer contract for a consumer job). */
  readonly requester: number;
  /** Index into `consumers` of the consumer that posted it, or -1. */
  readonly consumer: number;
  /** Who paid, for a consumer job (else -1). */
  readonly payer: number;
  /** Consumer jobs: still pending in the consumer (no result, no refund). */
  pending: boolean;
  passedOn: bigint;
  /** Open games by attempt. */
  readonly disputes: number[];
  compensation: bigint;
  readonly barred: Set<number>;
  /** By attempt number (index 0 unused). */
  readonly attempts: AttemptModel[];
}

type ChallengerKind = "watcher" | "sacrificial" | "sybil" | "self";

/** The game as the contract holds it, predicted move by move (only what these shapes use: no node descent, R = 1). */
interface Mirror {
  phase: Phase;
  lastMove: bigint;
  aUsed: bigint;
  cUsed: bigint;
  asserterWon: boolean;
  layer: number;
  lo: number;
  hi: number;
  index: number;
  prevRoot: Hex;
  node: Hex;
  /** The values the next pick answers (ends included). */
  claims: Hex[];
  claimsHash: Hex;
  descriptorHash: Hex;
  acc: bigint;
  y: bigint;
  sumLow: bigint;
  sumHigh: bigint;
}

interface GameModel {
  readonly id: Hex;
  readonly job: JobModel;
  readonly att: AttemptModel;
  /** The job as the game stored it. */
  readonly stored: Job;
  readonly storedWords: string;
  readonly challenger: number;
  readonly kind: ChallengerKind;
  readonly bond: bigint;
  /** The node's answers in this game; null: it does not move. */
  readonly asserterTrace: DisputeTrace | null;
  /** The challenger plays the honest planner, or scripted choices. */
  readonly plan: "planner" | "scripted";
  readonly pickRoot: number;
  /** Scripted: the position named in the leaf; "padding": a padding position (the sybil that loses on purpose). */
  readonly pickT: number | "padding";
  readonly steps: boolean;
  m: Mirror;
  rewardClaimed: boolean;
  lastSent?: { data: string; from: number; move: Move };
}

/** Storage positions of the mappings read (found by {@link calibrate}). */
interface Layout {
  nextJobId: bigint;
  marketCredits: bigint;
  jobHash: bigint;
  openDisputes: bigint;
  compensation: bigint;
  barred: bigint;
  stakingAccounts: bigint;
  stakingCredits: bigint;
  gameCredits: bigint;
  attempts: bigint;
  pending: bigint;
  payerOf: bigint;
  passedOn: bigint;
  owed: bigint;
}

/** Everything read after a transaction, by the model's indices. */
interface Read {
  balances: bigint[];
  marketCredits: bigint[];
  stakingCredits: bigint[];
  gameCredits: bigint[];
  free: bigint[];
  locked: bigint[];
  unbonding: bigint[];
  readyAt: bigint[];
  jobCount: bigint;
  jobHashes: string[];
  compensation: bigint[];
  /** Per job: open disputes of attempts 1..n. */
  openDisputes: bigint[][];
  /** Per job: barred per node (in `nodes` order). */
  barred: bigint[][];
  /** Per job (consumer jobs only, else 0): pending, payerOf, compensationPassedOn. */
  pending: bigint[];
  payerOf: string[];
  passedOn: bigint[];
  /** Per attempt with games, in `attemptList` order: winners, claimed, settled. */
  attempts: bigint[][];
  /** Per consumer, per payer: owed. */
  consumerOwed: bigint[][];
}

const abi = AbiCoder.defaultAbiCoder();
const lower = (x: string) => x.toLowerCase() as Hex;
/** Addresses as ethers decodes them (checksummed), so that they compare with the jobs folded from events. */
const checksummed = (x: string) => getAddress(x) as Hex;
const claimsHashOf = (claims: readonly string[]) => keccak256(abi.encode(["bytes32[]"], [claims])) as Hex;
/** A signed integer as its two's-complement word. */
const sword = (x: bigint) => word(x < 0n ? (1n << 256n) + x : x);
const asserterMoves = (p: Phase) => p === Phase.RevealRoots || p === Phase.RevealNodes || p === Phase.StateAccumulator || p === Phase.PostSums;

describe("Solvency invariant with the real DisputeGame and consumer contracts (seeded random sequences)", function () {
  this.timeout(1_800_000);

  const provider = network.provider;
  const rpc = rpcOf(provider);

  let outer: SnapshotRestorer;
  let base: SnapshotRestorer;
  let baseTime: bigint;
  let baseRead: Read;

  let marketAddr: Hex;
  let stakingAddr: Hex;
  let gameAddr: Hex;
  let actorAddr: Hex;
  let probeAddr: string;
  let marketI: Interface;
  let stakingI: Interface;
  let gameI: Interface;
  let actorI: Interface;
  let consumerI: Interface;
  let topics: { reopened: string; resolved: string; settled: string; rewardClaimed: string; finalized: string };

  const models: TinyModel[] = [];
  const modelIds: bigint[] = [];
  /** Per model: the smallest collateral of a job (max of the market's and the game's), and the bond. */
  const minCollateral: bigint[] = [];
  const bonds: bigint[] = [];
  const consumers: ConsumerInfo[] = [];
  const accounts: Account[] = [];
  const idx: Record<string, number> = {};
  let nodes: number[] = [];
  let eoas: number[] = [];
  let stakers: number[] = [];
  let requesters: number[] = [];
  let payers: number[] = [];
  let watchers: number[] = [];
  let sacrificial: number[] = [];
  const sybilOf = new Map<number, number>();
  let contractAccounts: number[] = [];
  /** The accounts that may hold credits in each contract (every other account's are read once a sequence). */
  const holders = { market: [] as number[], staking: [] as number[], game: [] as number[] };
  const probeCache = new Map<string, string>();
  const slotCache = new Map<string, string>();
  let slotReaderCode: string;
  let layout: Layout;

  before(async () => {
    outer = await takeSnapshot();
    await initKeccak();
    const signers = await ethers.getSigners();
    const registry = await ethers.deployContract("ModelRegistry");
    const staking = await ethers.deployContract("Staking", [UNBONDING_DELAY]);
    const market = await ethers.deployContract("JobMarket", [await registry.getAddress(), await staking.getAddress(), CONFIG]);
    const game = await ethers.deployContract("DisputeGame", [
      await market.getAddress(),
      await staking.getAddress(),
      await registry.getAddress(),
      COVER_GAS_PRICE,
      CLOCK_BUDGET,
      REWARD_BPS,
    ]);
    await (await staking.bind(await market.getAddress(), await game.getAddress())).wait();
    await (await market.bindDisputeGame(await game.getAddress())).wait();
    marketAddr = checksummed(await market.getAddress());
    stakingAddr = checksummed(await staking.getAddress());
    gameAddr = checksummed(await game.getAddress());
    marketI = market.interface as unknown as Interface;
    stakingI = staking.interface as unknown as Interface;
    gameI = game.interface as unknown as Interface;

    // The tiny models, registered, with a consumer each: M10 has the ten outputs DigitClassifier reads, M7 does not.
    models.push(tinyModel("M10", 0x5e10, [4, 10], 3), tinyModel("M7", 0x5e07, [4, 6, 7], 3));
    for (const m of models) {
      const { inputSize, outputSize, layerCount, maxWidth } = m.shape;
      await (await registry.registerModel(toHex(m.commitment.root), inputSize, outputSize, layerCount, maxWidth, m.name)).wait();
      const id = await registry.modelCount();
      modelIds.push(id);
      const gameMin = await game.minCollateralFor(layerCount, maxWidth);
      expect(gameMin, `${m.name}: the game's smallest collateral should bind`).to.be.greaterThan(CONFIG.minCollateral);
      minCollateral.push(max(CONFIG.minCollateral, gameMin));
      bonds.push(await game.bondFor(id));
    }
    const actor = await ethers.deployContract("InvariantActor", [], { value: ACTOR_FUNDS });
    actorAddr = checksummed(await actor.getAddress());
    actorI = actor.interface as unknown as Interface;
    const probe = await ethers.deployContract("SolvencyProbe");
    probeAddr = await probe.getAddress();
    consumerI = (await ethers.getContractFactory("DigitClassifier")).interface as unknown as Interface;
    slotReaderCode = (await artifacts.readArtifact("SolvencySlotReader")).deployedBytecode;
    const consumerAddrs: Hex[] = [];
    const classifiers: DigitClassifier[] = [];
    for (let k = 0; k < models.length; k++) {
      const c = (await ethers.deployContract("DigitClassifier", [marketAddr, modelIds[k]])) as unknown as DigitClassifier;
      classifiers.push(c);
      consumerAddrs.push(checksummed(await c.getAddress()));
    }
    topics = {
      reopened: marketI.getEvent("JobReopened")!.topicHash,
      finalized: marketI.getEvent("JobFinalized")!.topicHash,
      resolved: gameI.getEvent("GameResolved")!.topicHash,
      settled: gameI.getEvent("AttemptSettled")!.topicHash,
      rewardClaimed: gameI.getEvent("RewardClaimed")!.topicHash,
    };

    const add = (name: string, address: string, kind: Account["kind"], sender?: number) => {
      const i = accounts.length;
      accounts.push({ name, address: checksummed(address), sender: sender ?? i, kind });
      idx[name] = i;
      return i;
    };
    const names = ["keeper", "R1", "R2", "U1", "U2", "N1", "N2", "OP", "S1", "S2", "SA", "W1", "W2", "X1", "X2"];
    names.forEach((n, k) => add(n, signers[k].address, "eoa"));
    add("NA", actorAddr, "actor", idx.OP);
    add("market", marketAddr, "contract");
    add("staking", stakingAddr, "contract");
    add("game", gameAddr, "contract");
    consumerAddrs.forEach((a, k) => {
      const i = add(`C${models[k].shape.outputSize}`, a, "contract");
      consumers.push({ account: i, address: a, model: k, callbackWorks: models[k].shape.outputSize === 10 });
    });
    nodes = [idx.N1, idx.N2, idx.NA];
    sybilOf.set(idx.N1, idx.S1).set(idx.N2, idx.S2).set(idx.NA, idx.SA);
    eoas = accounts.map((a, i) => (a.kind === "eoa" ? i : -1)).filter((i) => i >= 0);
    stakers = accounts.map((a, i) => (a.kind !== "contract" ? i : -1)).filter((i) => i >= 0);
    requesters = [idx.R1, idx.R2];
    payers = [idx.U1, idx.U2, idx.R1];
    watchers = [idx.W1, idx.W2];
    sacrificial = [idx.X1, idx.X2];
    contractAccounts = accounts.map((a, i) => (a.kind === "contract" ? i : -1)).filter((i) => i >= 0);
    const consumerAccounts = consumers.map((c) => c.account);
    // Fees refunded to requesters (consumers included) and credited to the actor node (it refuses a stipend);
    // collateral forfeited or slashed to requesters, the reward pool to the game; bonds and rewards to players.
    holders.market = [...requesters, ...consumerAccounts, idx.NA];
    holders.staking = [...requesters, ...consumerAccounts, idx.game];
    holders.game = [...nodes, ...sybilOf.values(), ...watchers, ...sacrificial];

    layout = await calibrate(
      { market: market as unknown as JobMarket, staking: staking as unknown as Staking, game: game as unknown as DisputeGame, classifier: classifiers[0] },
      signers
    );

    // Every sequence starts with the nodes staked.
    await (await (staking as unknown as Staking).connect(signers[idx.N1]).stake({ value: BASE_STAKE })).wait();
    await (await (staking as unknown as Staking).connect(signers[idx.N2]).stake({ value: BASE_STAKE })).wait();
    await (await actor.connect(signers[idx.OP]).getFunction("execute")(stakingAddr, BASE_STAKE, stakingI.encodeFunctionData("stake"))).wait();
    base = await takeSnapshot();
    baseTime = BigInt(await time.latest());
    baseRead = await readChain(new Sequence(0));
    expect(jsonOf(await readChain(new Sequence(0), "getters"))).to.equal(jsonOf(baseRead));
    for (const i of contractAccounts)
      expect(baseRead.balances[i], `${accounts[i].name} balance at the start`).to.equal(i === idx.staking ? 3n * BASE_STAKE : 0n);
    for (const i of stakers) expect(baseRead.free[i], `${accounts[i].name}'s stake at the start`).to.equal(nodes.includes(i) ? BASE_STAKE : 0n);
    for (const v of [...baseRead.marketCredits, ...baseRead.stakingCredits, ...baseRead.gameCredits, ...baseRead.locked, ...baseRead.unbonding])
      expect(v).to.equal(0n);
  });

  /**
   * Finds where the market, staking, the game and the consumer keep the mappings the slot reader reads, by putting
   * known values in them (then reverting) and matching the getters against candidate slots.
   */
  async function calibrate(
    c: { market: JobMarket; staking: Staking; game: DisputeGame; classifier: DigitClassifier },
    s: HardhatEthersSigner[]
  ): Promise<Layout> {
    const snap = await takeSnapshot();
    const { market, staking, game, classifier } = c;
    const [R1, R2, U1, N1, N2, W1] = [s[idx.R1], s[idx.R2], s[idx.U1], s[idx.N1], s[idx.N2], s[idx.W1]];
    const m = models[consumers[0].model];
    const input = m.inputs[0];
    const lie = input.claims.find((x) => x.wrongOutput)!;
    const col = minCollateral[consumers[0].model];
    const bond = bonds[consumers[0].model];
    const modelId = modelIds[consumers[0].model];
    const expiresAt = (await time.latest()) + 100_000;
    await (await staking.connect(N1).stake({ value: parseEther("2") })).wait();
    await (await staking.connect(N2).stake({ value: parseEther("2") })).wait();
    const post = (who: HardhatEthersSigner, fee: bigint) =>
      jobFrom(market.connect(who).postJob(modelId, input.inputHex, ZeroAddress, 0, col, expiresAt, { value: fee }));
    const take = async (who: HardhatEthersSigner, id: bigint, job: Job) => (await jobFrom(market.connect(who).takeJob(id, job), job)).job;
    const submit = async (who: HardhatEthersSigner, id: bigint, job: Job, claim: Claim) =>
      (await jobFrom(market.connect(who).submitResult(id, job, claim.outputHex, claim.traceRoot, claim.inputProof, claim.outputProof), job)).job;
    // A: a lie, disputed by W1 down to the node's move, then timed out: the node loses, the attempt settles, W1 claims.
    const a = await post(R1, 1000n);
    const ja = await submit(N1, a.jobId, await take(N1, a.jobId, a.job), lie);
    await (await game.connect(W1).challenge(a.jobId, ja, { value: bond })).wait();
    const gameA = gameIdOf(a.jobId, 1, W1.address);
    for (let k = 0; k < 2; k++) {
      const state = toGameState(await game.getGame(gameA));
      const move = planMove(state, "challenger", input.honest, { gameId: gameA, now: BigInt(await time.latest()), clockBudget: CLOCK_BUDGET })!;
      await (await game.connect(W1).getFunction(move.functionName)(...move.args)).wait();
    }
    // E: an honest result under an open game.
    const e = await post(R1, 2000n);
    const je = await submit(N2, e.jobId, await take(N2, e.jobId, e.job), input.claims[0]);
    await (await game.connect(W1).challenge(e.jobId, je, { value: bond })).wait();
    await time.increase(Number(CLOCK_BUDGET) + 1);
    await (await game.connect(W1).timeout(gameA)).wait();
    await (await game.connect(W1).claimReward(gameA)).wait();
    // D: cancelled (market credits). B: through the consumer, cancelled and refunded (owed).
    const d = await post(R2, 777n);
    await (await market.connect(R2).cancelJob(d.jobId, d.job)).wait();
    const b = await jobFrom(classifier.connect(U1).classify(input.inputHex, col, expiresAt, { value: 555n }));
    const jb = (await jobFrom(classifier.connect(U1).cancel(b.jobId, b.job), b.job)).job;
    await (await classifier.connect(U1).refund(b.jobId, jb)).wait();
    // C: through the consumer, taken and reclaimed (pending, payer, compensation passed on).
    const cc = await jobFrom(classifier.connect(U1).classify(input.inputHex, col + 5n, expiresAt, { value: 666n }));
    const jc = await take(N2, cc.jobId, cc.job);
    await time.increase(CONFIG.deliveryWindow + 1);
    await (await market.connect(R1).reclaimJob(cc.jobId, jc)).wait();
    await (await classifier.connect(U1).claimCompensation(cc.jobId)).wait();
    await (await staking.connect(N1).requestUnstake(parseEther("0.3"))).wait();

    const addr = async (x: { getAddress(): Promise<string> }) => x.getAddress();
    const [mA, sA, gA, cA] = [await addr(market), await addr(staking), await addr(game), await addr(classifier)];
    const at = async (where: string, slot: string) => BigInt(await rpc<string>("eth_getStorageAt", [where, slot, "latest"]));
    const find = async (what: string, test: (b: bigint) => Promise<boolean>) => {
      for (let b = 0n; b < 32n; b++) if (await test(b)) return b;
      throw new Error(
        `solvency test: cannot find ${what} in storage (its getter has a value no candidate slot holds): the slot reader needs updating, or the contract no longer records it`
      );
    };
    const jobCount = await market.jobCount();
    const [free1, , unbonding1, readyAt1] = await staking.accountOf(N1.address);
    const [free2, locked2] = await staking.accountOf(N2.address);
    expect(locked2).to.equal(col);
    expect(unbonding1).to.equal(parseEther("0.3"));
    expect(await market.compensation(cc.jobId)).to.equal(col + 5n);
    const lay: Layout = {
      nextJobId: await find("JobMarket._nextJobId", async (b) => (await at(mA, slotOf(b))) === jobCount + 1n),
      marketCredits: await find("JobMarket.credits", async (b) => (await at(mA, mapSlot(R2.address, b))) === (await market.credits(R2.address))),
      jobHash: await find("JobMarket.jobHash", async (b) => (await at(mA, mapSlot(a.jobId, b))) === BigInt(await market.jobHash(a.jobId))),
      openDisputes: await find("JobMarket.openDisputes", async (b) => (await at(mA, mapSlot(1n, BigInt(mapSlot(e.jobId, b))))) === 1n),
      compensation: await find("JobMarket.compensation", async (b) => (await at(mA, mapSlot(a.jobId, b))) === (await market.compensation(a.jobId))),
      barred: await find("JobMarket.barred", async (b) => (await at(mA, mapSlot(N1.address, BigInt(mapSlot(a.jobId, b))))) === 1n),
      stakingAccounts: await find("Staking._accounts", async (b) => {
        const s1 = BigInt(mapSlot(N1.address, b));
        const s2 = BigInt(mapSlot(N2.address, b));
        const [w0, w1, v0] = [await at(sA, slotOf(s1)), await at(sA, slotOf(s1 + 1n)), await at(sA, slotOf(s2))];
        return (
          (w0 & MASK_128) === free1 &&
          (w1 & MASK_128) === unbonding1 &&
          ((w1 >> 128n) & MASK_40) === readyAt1 &&
          (v0 & MASK_128) === free2 &&
          v0 >> 128n === locked2
        );
      }),
      stakingCredits: await find("Staking.credits", async (b) => (await at(sA, mapSlot(R1.address, b))) === (await staking.credits(R1.address))),
      gameCredits: await find("DisputeGame.credits", async (b) => (await at(gA, mapSlot(W1.address, b))) === (await game.credits(W1.address))),
      attempts: await find("DisputeGame.attempts", async (b) => (await at(gA, mapSlot(attemptIdOf(a.jobId, 1), b))) === (1n | (1n << 32n) | (1n << 64n))),
      pending: await find("InferenceConsumer.pending", async (b) => (await at(cA, mapSlot(cc.jobId, b))) === 1n),
      payerOf: await find("InferenceConsumer.payerOf", async (b) => (await at(cA, mapSlot(cc.jobId, b))) === BigInt(U1.address)),
      passedOn: await find("InferenceConsumer.compensationPassedOn", async (b) => (await at(cA, mapSlot(cc.jobId, b))) === col + 5n),
      owed: await find("InferenceConsumer.owed", async (b) => (await at(cA, mapSlot(U1.address, b))) === (await classifier.owed(U1.address))),
    };
    expect(await game.credits(W1.address)).to.equal(bond + (col * REWARD_BPS) / 10_000n);
    expect(await classifier.owed(U1.address)).to.equal(555n + col + 5n);
    await snap.restore();
    return lay;
  }

  after(async () => {
    await rpc("evm_setAutomine", [true]);
    await outer.restore();
  });

  // ------------------------------------------------------------------------------------------------
  // Reading
  // ------------------------------------------------------------------------------------------------

  /** keccak256(abi.encode(key, base)): the slot of `key` in a mapping at `base` (cached). */
  function mapSlot(key: string | bigint, base: bigint): string {
    const k = `${key}/${base}`;
    let v = slotCache.get(k);
    if (v === undefined) {
      const type = typeof key === "bigint" ? "uint256" : key.length === 42 ? "address" : "bytes32";
      slotCache.set(k, (v = keccak256(abi.encode([type, "uint256"], [key, base]))));
    }
    return v;
  }

  const slotOf = (x: bigint) => "0x" + word(x);

  type Get = () => bigint;
  /** How one read is made: raw slots (SolvencySlotReader), or the contracts' getters (SolvencyProbe). */
  interface Source {
    balance(a: string): Get;
    marketCredits(a: string): Get;
    stakingCredits(a: string): Get;
    gameCredits(a: string): Get;
    stake(a: string): [Get, Get, Get, Get];
    jobCount(): Get;
    jobHash(id: bigint): Get;
    compensation(id: bigint): Get;
    openDisputes(id: bigint, attempt: number): Get;
    barred(id: bigint, node: string): Get;
    attempt(attemptId: string): [Get, Get, Get];
    pending(c: string, id: bigint): Get;
    payerOf(c: string, id: bigint): Get;
    passedOn(c: string, id: bigint): Get;
    owed(c: string, payer: string): Get;
    run(): Promise<void>;
  }

  function slotSource(): Source {
    const b = new SlotBatch();
    const L = layout;
    let r: SlotResult | undefined;
    const at = (addr: string, slot: string): Get => {
      const h = b.slot(addr, slot);
      return () => r!.big(h);
    };
    return {
      balance: (a) => {
        const h = b.balance(a);
        return () => r!.big(h);
      },
      marketCredits: (a) => at(marketAddr, mapSlot(a, L.marketCredits)),
      stakingCredits: (a) => at(stakingAddr, mapSlot(a, L.stakingCredits)),
      gameCredits: (a) => at(gameAddr, mapSlot(a, L.gameCredits)),
      stake: (a) => {
        const slot = BigInt(mapSlot(a, L.stakingAccounts));
        const w0 = at(stakingAddr, slotOf(slot));
        const w1 = at(stakingAddr, slotOf(slot + 1n));
        return [() => w0() & MASK_128, () => w0() >> 128n, () => w1() & MASK_128, () => (w1() >> 128n) & MASK_40];
      },
      jobCount: () => {
        const next = at(marketAddr, slotOf(L.nextJobId));
        return () => next() - 1n;
      },
      jobHash: (id) => at(marketAddr, mapSlot(id, L.jobHash)),
      compensation: (id) => at(marketAddr, mapSlot(id, L.compensation)),
      openDisputes: (id, attempt) => at(marketAddr, mapSlot(BigInt(attempt), BigInt(mapSlot(id, L.openDisputes)))),
      barred: (id, node) => at(marketAddr, mapSlot(node, BigInt(mapSlot(id, L.barred)))),
      attempt: (attemptId) => {
        const w = at(gameAddr, mapSlot(attemptId, L.attempts));
        return [() => w() & MASK_32, () => (w() >> 32n) & MASK_32, () => (w() >> 64n) & 0xffn];
      },
      pending: (c, id) => at(c, mapSlot(id, L.pending)),
      payerOf: (c, id) => at(c, mapSlot(id, L.payerOf)),
      passedOn: (c, id) => at(c, mapSlot(id, L.passedOn)),
      owed: (c, payer) => at(c, mapSlot(payer, L.owed)),
      run: async () => {
        r = await b.run(rpc, marketAddr, slotReaderCode);
      },
    };
  }

  function getterSource(): Source {
    const b = new ProbeBatch(probeCache);
    let r: ProbeResult | undefined;
    const call = (iface: Interface, target: string, fn: string, args: readonly (string | bigint | number)[], words = 1): Get[] => {
      const h = b.getter(iface, target, fn, args, words);
      return Array.from({ length: words }, (_, k) => () => r!.big(h, k));
    };
    return {
      balance: (a) => {
        const h = b.balance(a);
        return () => r!.big(h);
      },
      marketCredits: (a) => call(marketI, marketAddr, "credits", [a])[0],
      stakingCredits: (a) => call(stakingI, stakingAddr, "credits", [a])[0],
      gameCredits: (a) => call(gameI, gameAddr, "credits", [a])[0],
      stake: (a) => call(stakingI, stakingAddr, "accountOf", [a], 4) as [Get, Get, Get, Get],
      jobCount: () => call(marketI, marketAddr, "jobCount", [])[0],
      jobHash: (id) => call(marketI, marketAddr, "jobHash", [id])[0],
      compensation: (id) => call(marketI, marketAddr, "compensation", [id])[0],
      openDisputes: (id, attempt) => call(marketI, marketAddr, "openDisputes", [id, attempt])[0],
      barred: (id, node) => call(marketI, marketAddr, "barred", [id, node])[0],
      attempt: (attemptId) => call(gameI, gameAddr, "attempts", [attemptId], 3) as [Get, Get, Get],
      pending: (c, id) => call(consumerI, c, "pending", [id])[0],
      payerOf: (c, id) => call(consumerI, c, "payerOf", [id])[0],
      passedOn: (c, id) => call(consumerI, c, "compensationPassedOn", [id])[0],
      owed: (c, payer) => call(consumerI, c, "owed", [payer])[0],
      run: async () => {
        r = await b.run(rpc, probeAddr);
      },
    };
  }

  /**
   * One eth_call: every value the invariants and the model compare (games aside: {@link readGames}), by raw slots or,
   * to check those, through the contracts' getters. After every transaction the credits and stakes of the accounts that
   * can hold them are read (each EVM read costs the test node about 20 µs); `full` reads every account's, and every
   * other account's must be 0 (checked once in every sequence, through the getters, and after settling).
   */
  async function readChain(s: Sequence, via: "slots" | "getters" = "slots", full = via === "getters"): Promise<Read> {
    const src = via === "slots" ? slotSource() : getterSource();
    const n = accounts.length;
    const all = accounts.map((_, i) => i);
    const some = (holders: readonly number[], f: (a: string) => Get): (Get | undefined)[] => {
      const set = full ? all : holders;
      return accounts.map((a, i) => (set.includes(i) ? f(a.address) : undefined));
    };
    const jobCount = src.jobCount();
    const bal = accounts.map((a) => src.balance(a.address));
    const mc = some(holders.market, (a) => src.marketCredits(a));
    const sc = some(holders.staking, (a) => src.stakingCredits(a));
    const gc = some(holders.game, (a) => src.gameCredits(a));
    const st = (full ? stakers : nodes).map((i) => [i, src.stake(accounts[i].address)] as const);
    const jobs = s.jobs.map((j) => ({
      hash: src.jobHash(j.id),
      comp: src.compensation(j.id),
      open: j.disputes.slice(1).map((_, a) => src.openDisputes(j.id, a + 1)),
      barred: nodes.map((i) => src.barred(j.id, accounts[i].address)),
      consumer:
        j.consumer < 0
          ? undefined
          : {
              pending: src.pending(consumers[j.consumer].address, j.id),
              payer: src.payerOf(consumers[j.consumer].address, j.id),
              passedOn: src.passedOn(consumers[j.consumer].address, j.id),
            },
    }));
    const atts = s.attemptList.map((a) => src.attempt(attemptIdOf(a.job.id, a.n)));
    const owed = consumers.map((c) => payers.map((p) => src.owed(c.address, accounts[p].address)));
    await src.run();
    const zeros = () => new Array<bigint>(n).fill(0n);
    const get = (g: Get) => g();
    const opt = (g: Get | undefined) => (g ? g() : 0n);
    const read: Read = {
      balances: bal.map(get),
      marketCredits: mc.map(opt),
      stakingCredits: sc.map(opt),
      gameCredits: gc.map(opt),
      free: zeros(),
      locked: zeros(),
      unbonding: zeros(),
      readyAt: zeros(),
      jobCount: jobCount(),
      jobHashes: jobs.map((j) => "0x" + word(j.hash())),
      compensation: jobs.map((j) => j.comp()),
      openDisputes: jobs.map((j) => j.open.map(get)),
      barred: jobs.map((j) => j.barred.map(get)),
      pending: jobs.map((j) => (j.consumer ? j.consumer.pending() : 0n)),
      payerOf: jobs.map((j) => "0x" + word(j.consumer ? j.consumer.payer() : 0n)),
      passedOn: jobs.map((j) => (j.consumer ? j.consumer.passedOn() : 0n)),
      attempts: atts.map((a) => a.map(get)),
      consumerOwed: owed.map((row) => row.map(get)),
    };
    for (const [i, g] of st) [read.free[i], read.locked[i], read.unbonding[i], read.readyAt[i]] = g.map(get);
    return read;
  }

  /** getGame of each of `games`, in one eth_call (SolvencyProbe). */
  async function readGames(games: readonly GameModel[]): Promise<string[]> {
    if (games.length === 0) return [];
    const b = new ProbeBatch(probeCache);
    const hs = games.map((g) => b.getter(gameI, gameAddr, "getGame", [g.id], GAME_WORDS));
    const r = await b.run(rpc, probeAddr);
    return hs.map((h) => r.data(h));
  }

  function attemptIdOf(jobId: bigint, attempt: number): Hex {
    return keccak256(abi.encode(["uint256", "uint32"], [jobId, attempt])) as Hex;
  }

  function gameIdOf(jobId: bigint, attempt: number, challenger: string): Hex {
    return keccak256(abi.encode(["uint256", "uint32", "address"], [jobId, attempt, challenger])) as Hex;
  }

  const stats = {
    ...newSolvencyStats(),
    consumerJobs: 0,
    games: 0,
    selfChallenges: 0,
    maxGamesPerResult: 0,
    nodeWon: 0,
    nodeLost: 0,
    settledAttempts: 0,
    maxWinners: 0,
    retakes: 0,
    refusedRetakes: 0,
    rewardsClaimed: 0,
    byChallenger: new Map<ChallengerKind, { nodeWon: number; nodeLost: number }>(),
    reasons: new Map<string, number>(),
    sendNs: 0n,
    gameReadNs: 0n,
    readNs: 0n,
    checkNs: 0n,
  };

  /** One sequence: its seed, its model of the chain and the last state read. */
  class Sequence extends SolvencySequence<JobModel, AccountModel> {
    now = baseTime;
    readonly model: AccountModel[];
    readonly games: GameModel[] = [];
    readonly attemptList: AttemptModel[] = [];
    /** consumerOwed[c][p]: what consumer c owes payers[p]. */
    readonly consumerOwed: bigint[][];
    chain!: Read;
    accepting = false;

    constructor(seed: number) {
      super(seed, stats, { baseTime, command: ` npx hardhat test ${FILE}`, recent: 25 });
      // Nodes start with BASE_STAKE staked: theirs, so owed back to them in the end.
      this.model = accounts.map((_, i) => ({
        balance: baseRead ? baseRead.balances[i] : 0n,
        marketCredits: 0n,
        stakingCredits: 0n,
        gameCredits: 0n,
        free: baseRead ? baseRead.free[i] : 0n,
        locked: 0n,
        unbonding: 0n,
        readyAt: 0n,
        gas: 0n,
        owed: baseRead ? baseRead.free[i] : 0n,
      }));
      // ... which staking holds: its balance goes down by as much.
      if (baseRead) this.model[idx.staking].owed = -baseRead.balances[idx.staking];
      this.consumerOwed = consumers.map(() => payers.map(() => 0n));
      if (baseRead) this.chain = baseRead;
    }

    // ------------------------------------------------------------------------------------------
    // Sending and checking
    // ------------------------------------------------------------------------------------------

    /**
     * Sends one transaction, mined alone at now + 1 by the model's clock; checks it succeeded or reverted as
     * predicted, charges its gas, applies the predicted change and checks every invariant.
     */
    async act(
      kind: string,
      label: string,
      from: number,
      to: string,
      data: string,
      value: bigint,
      ok: boolean,
      apply: (r: RawReceipt, t: bigint) => Promise<void> | void,
      touched?: () => GameModel | undefined
    ) {
      const t = ++this.now;
      this.log.push(`[t=${t - baseTime}] ${label} → expect ${ok ? "ok" : "revert"}`);
      const acct = accounts[from];
      const payer = acct.sender;
      const actor = { address: actorAddr, iface: actorI };
      const t0 = process.hrtime.bigint();
      const r = await this.mineAlone(rpc, { viaActor: acct.kind === "actor", sender: accounts[payer].address, actor, to, data, value }, t, label);
      const t1 = process.hrtime.bigint();
      stats.sendNs += t1 - t0;
      const { succeeded, gas } = await this.book(kind, label, r, ok, from, payer, value, () => apply(r, t));
      const before = this.chain;
      const t2 = process.hrtime.bigint();
      const after = await readChain(this);
      const t3 = process.hrtime.bigint();
      if (++this.txCount === this.crossCheckAt) {
        const viaGetters = await readChain(this, "getters");
        if (jsonOf(viaGetters) !== jsonOf(after)) expect(after, this.ctx("the slot reader disagrees with the getters")).to.deep.equal(viaGetters);
        await this.checkGames(this.games, label);
      }
      if (!succeeded) this.checkUnchanged(before, after, payer, gas, label);
      this.checkInvariants(after, label);
      // A game's record changes only in a transaction on that game: the one touched is read back.
      const g = touched?.();
      const t4 = process.hrtime.bigint();
      if (g) await this.checkGames([g], label);
      stats.gameReadNs += process.hrtime.bigint() - t4;
      this.chain = after;
      stats.readNs += t3 - t2;
      stats.checkNs += process.hrtime.bigint() - t3;
    }

    /** A rejected transaction changed nothing but its sender's balance, by exactly its gas. */
    checkUnchanged(b: Read, a: Read, payer: number, gas: bigint, label: string) {
      const want = { ...b, balances: b.balances.map((x, i) => (i === payer ? x - gas : x)) };
      const have = a;
      if (jsonOf(want) !== jsonOf(have)) expect(have, this.ctx(`${label} reverted but changed the state`)).to.deep.equal(want);
    }

    checkInvariants(c: Read, label: string) {
      const at = `after ${label}:`;
      const sum = (xs: readonly bigint[]) => xs.reduce((s, x) => s + x, 0n);
      const { market, staking, game } = idx;
      // The market holds exactly its credits plus the fees escrowed in live jobs.
      let escrowed = 0n;
      for (const j of this.jobs) if (isLive(j.job.status)) escrowed += j.job.fee;
      this.eq(c.balances[market], sum(c.marketCredits) + escrowed, `${at} JobMarket balance != Σ credits + Σ fees of live jobs (${escrowed})`);
      // Staking holds exactly every account's stake plus credits.
      let stakes = 0n;
      for (const i of stakers) stakes += c.free[i] + c.locked[i] + c.unbonding[i];
      this.eq(c.balances[staking], stakes + sum(c.stakingCredits), `${at} Staking balance != Σ (free + locked + unbonding) + Σ credits`);
      // Locked stake backs exactly the jobs held and the rejected attempts not yet settled.
      for (const i of nodes) {
        let held = 0n;
        for (const j of this.jobs) if (isHeld(j.job.status) && j.job.node === accounts[i].address) held += j.job.collateral;
        for (const a of this.attemptList) if (a.node === i && a.rejected && !a.settled) held += a.collateral;
        this.eq(c.locked[i], held, `${at} ${accounts[i].name}'s locked stake != Σ collateral of its held jobs and unsettled rejected attempts (${held})`);
      }
      for (const i of stakers) if (!nodes.includes(i)) this.eq(c.locked[i], 0n, `${at} ${accounts[i].name} has locked stake`);
      // The game holds exactly its credits, the bonds of open games and the unclaimed reward shares.
      let bondsOpen = 0n;
      for (const g of this.games) if (g.m.phase !== Phase.Resolved) bondsOpen += g.bond;
      let unclaimed = 0n;
      for (const a of this.attemptList) if (a.settled) unclaimed += a.pool - a.paid;
      this.eq(
        c.balances[game],
        sum(c.gameCredits) + bondsOpen + unclaimed,
        `${at} DisputeGame balance != Σ credits + Σ bonds of open games (${bondsOpen}) + Σ unclaimed reward shares (${unclaimed})`
      );
      // Each consumer holds exactly what it owes its payers.
      consumers.forEach((ci, k) => {
        let owes = sum(c.consumerOwed[k]);
        this.jobs.forEach((j, x) => {
          if (j.consumer !== k) return;
          owes += c.compensation[x] - c.passedOn[x];
          if ((j.job.status === JobStatus.Expired || j.job.status === JobStatus.Cancelled) && c.pending[x] === 1n) owes += j.job.fee;
        });
        const i = ci.account;
        this.eq(
          c.balances[i] + c.marketCredits[i] + c.stakingCredits[i],
          owes,
          `${at} ${accounts[i].name}: balance + market credits + staking credits != Σ owed + Σ (compensation − passed on) + Σ refundable fees`
        );
      });
      // The chain holds exactly the model's jobs, games and records.
      this.eq(c.jobCount, BigInt(this.jobs.length), `${at} job count`);
      this.jobs.forEach((j, x) => {
        this.eq(c.jobHashes[x], j.hash, `${at} job ${j.id}'s jobHash != hashJob(model job)`);
        this.eq(c.compensation[x], j.compensation, `${at} job ${j.id}'s compensation`);
        for (let a = 1; a < j.disputes.length; a++) this.eq(c.openDisputes[x][a - 1], BigInt(j.disputes[a]), `${at} open disputes on job ${j.id} attempt ${a}`);
        nodes.forEach((i, y) => this.eq(c.barred[x][y], j.barred.has(i) ? 1n : 0n, `${at} ${accounts[i].name} barred from job ${j.id}`));
        if (j.consumer >= 0) {
          this.eq(c.pending[x], j.pending ? 1n : 0n, `${at} job ${j.id} pending in its consumer`);
          this.eq(c.payerOf[x], "0x" + word(accounts[j.payer].address), `${at} job ${j.id}'s payer in its consumer`);
          this.eq(c.passedOn[x], j.passedOn, `${at} job ${j.id}'s compensation passed on`);
        }
      });
      this.attemptList.forEach((a, x) => {
        const [w, cl, st] = c.attempts[x];
        this.eq(w, BigInt(a.winners), `${at} job ${a.job.id} attempt ${a.n}: winners`);
        this.eq(cl, BigInt(a.claimed), `${at} job ${a.job.id} attempt ${a.n}: rewards claimed`);
        this.eq(st, a.settled ? 1n : 0n, `${at} job ${a.job.id} attempt ${a.n}: settled`);
      });
      consumers.forEach((_, k) =>
        payers.forEach((p, y) =>
          this.eq(c.consumerOwed[k][y], this.consumerOwed[k][y], `${at} ${accounts[consumers[k].account].name} owes ${accounts[p].name}`)
        )
      );
      // Every account agrees with the model (which credits and stakes no account the slot reader does not read).
      for (let i = 0; i < accounts.length; i++) {
        const m = this.model[i];
        if (!holders.market.includes(i) && m.marketCredits !== 0n) this.fail(`the model credits ${accounts[i].name} in the market`);
        if (!holders.staking.includes(i) && m.stakingCredits !== 0n) this.fail(`the model credits ${accounts[i].name} in staking`);
        if (!holders.game.includes(i) && m.gameCredits !== 0n) this.fail(`the model credits ${accounts[i].name} in the game`);
        if (!nodes.includes(i) && m.free + m.locked + m.unbonding !== 0n) this.fail(`the model stakes ${accounts[i].name}`);
      }
      for (let i = 0; i < accounts.length; i++) {
        const m = this.model[i];
        const n = accounts[i].name;
        this.eq(c.balances[i], m.balance, `${at} ${n}'s ETH balance`);
        this.eq(c.marketCredits[i], m.marketCredits, `${at} ${n}'s market credits`);
        this.eq(c.stakingCredits[i], m.stakingCredits, `${at} ${n}'s staking credits`);
        this.eq(c.gameCredits[i], m.gameCredits, `${at} ${n}'s game credits`);
        this.eq(c.free[i], m.free, `${at} ${n}'s free stake`);
        this.eq(c.locked[i], m.locked, `${at} ${n}'s locked stake (model)`);
        this.eq(c.unbonding[i], m.unbonding, `${at} ${n}'s unbonding stake`);
        this.eq(c.readyAt[i], m.readyAt, `${at} ${n}'s unbonding time`);
      }
    }

    /** Each of `games` (getGame) is the mirror's game. */
    async checkGames(games: readonly GameModel[], label: string) {
      const have = await readGames(games);
      games.forEach((g, x) => {
        const want = this.gameWords(g);
        if (have[x] !== want) {
          const decode = (d: string) => jsonOf(gameI.decodeFunctionResult("getGame", d)[0].toObject(true));
          expect(
            decode(have[x]),
            this.ctx(`after ${label}: game ${g.id.slice(0, 10)} (job ${g.job.id}/${g.att.n} vs ${accounts[g.challenger].name}) != the mirror's`)
          ).to.equal(decode(want));
        }
      });
    }

    /** getGame's words as the mirror has the game. */
    gameWords(g: GameModel): string {
      const m = g.m;
      return (
        "0x" +
        g.storedWords +
        word(g.job.id) +
        word(accounts[g.challenger].address) +
        word(m.phase) +
        word(m.lastMove) +
        word(m.aUsed) +
        word(m.cUsed) +
        word(m.asserterWon) +
        word(g.rewardClaimed) +
        word(m.layer) +
        word(0) +
        word(0) +
        word(m.lo) +
        word(m.hi) +
        word(g.bond) +
        word(m.index) +
        word(m.prevRoot) +
        word(m.node) +
        word(m.claimsHash) +
        word(m.descriptorHash) +
        sword(m.acc) +
        sword(m.y) +
        sword(m.sumLow) +
        sword(m.sumHigh)
      );
    }

    reopened(job: Job, t: bigint, byDispute: boolean): Job {
      return {
        ...job,
        status: JobStatus.Open,
        node: ZERO_ADDRESS,
        deadline: 0n,
        traceRoot: ZERO_BYTES32,
        outputRoot: ZERO_BYTES32,
        expiresAt: max(job.expiresAt, t + BigInt(CONFIG.reopenWindow)),
        missedDeadlines: byDispute ? job.missedDeadlines : job.missedDeadlines + 1n,
      };
    }

    indexOf(address: string): number {
      const i = accounts.findIndex((a) => lower(a.address) === lower(address));
      if (i < 0) this.fail(`unknown account ${address}`);
      return i;
    }

    /** The logs of `address` with event topic `topic`. */
    logsOf(r: RawReceipt, address: string, topic: string) {
      return r.logs.filter((l) => lower(l.address) === lower(address) && l.topics[0] === topic);
    }

    // ------------------------------------------------------------------------------------------
    // Staking and withdrawals
    // ------------------------------------------------------------------------------------------

    async stake(who: number, amount: bigint) {
      await this.act("stake", `${accounts[who].name}.stake(${amount})`, who, stakingAddr, stakingI.encodeFunctionData("stake"), amount, amount > 0n, () => {
        this.model[who].free += amount;
        this.model[idx.staking].balance += amount;
      });
    }

    async requestUnstake(who: number, amount: bigint) {
      const m = this.model[who];
      const ok = amount > 0n && amount <= m.free;
      const label = `${accounts[who].name}.requestUnstake(${amount}) free=${m.free}`;
      await this.act("requestUnstake", label, who, stakingAddr, stakingI.encodeFunctionData("requestUnstake", [amount]), 0n, ok, (_, t) => {
        m.free -= amount;
        m.unbonding += amount;
        m.readyAt = t + BigInt(UNBONDING_DELAY);
      });
    }

    canReceive(who: number): boolean {
      return accounts[who].kind !== "actor" || this.accepting;
    }

    async withdrawUnstaked(who: number) {
      const m = this.model[who];
      const t = this.now + 1n;
      const ok = m.unbonding > 0n && t >= m.readyAt && this.canReceive(who);
      const label = `${accounts[who].name}.withdrawUnstaked() unbonding=${m.unbonding} readyAt=${m.readyAt ? m.readyAt - baseTime : 0n}`;
      await this.act("withdrawUnstaked", label, who, stakingAddr, stakingI.encodeFunctionData("withdrawUnstaked"), 0n, ok, () => {
        m.balance += m.unbonding;
        this.model[idx.staking].balance -= m.unbonding;
        m.unbonding = 0n;
        m.readyAt = 0n;
      });
    }

    /** withdraw() on the market, staking or the game. */
    async withdrawFrom(where: "market" | "staking" | "game", who: number) {
      const m = this.model[who];
      const field = ({ market: "marketCredits", staking: "stakingCredits", game: "gameCredits" } as const)[where];
      const [to, iface] = ({ market: [marketAddr, marketI], staking: [stakingAddr, stakingI], game: [gameAddr, gameI] } as const)[where];
      const ok = m[field] > 0n && this.canReceive(who);
      await this.act(
        `${where}.withdraw`,
        `${accounts[who].name}: ${where}.withdraw() credits=${m[field]}`,
        who,
        to,
        iface.encodeFunctionData("withdraw"),
        0n,
        ok,
        () => {
          m.balance += m[field];
          this.model[idx[where]].balance -= m[field];
          m[field] = 0n;
        }
      );
    }

    async setAccepting(accepting: boolean) {
      const data = actorI.encodeFunctionData("setAccepting", [accepting]);
      await this.act("actor.setAccepting", `actor.setAccepting(${accepting})`, idx.OP, actorAddr, data, 0n, true, () => {
        this.accepting = accepting;
      });
    }

    // ------------------------------------------------------------------------------------------
    // Jobs
    // ------------------------------------------------------------------------------------------

    newJob(job: Job, p: { model: number; input: number; requester: number; consumer: number; payer: number }): JobModel {
      const j: JobModel = {
        id: BigInt(this.jobs.length + 1),
        job,
        hash: "",
        versions: [],
        model: p.model,
        input: p.input,
        requester: p.requester,
        consumer: p.consumer,
        payer: p.payer,
        pending: p.consumer >= 0,
        passedOn: 0n,
        disputes: [0],
        compensation: 0n,
        barred: new Set(),
        attempts: [],
      };
      this.setJob(j, job);
      this.jobs.push(j);
      stats.jobsPosted++;
      return j;
    }

    postedJob(p: {
      requester: string;
      model: number;
      input: number;
      consumer: string;
      gasLimit: bigint;
      fee: bigint;
      collateral: bigint;
      expiresAt: bigint;
    }): Job {
      const m = models[p.model];
      return {
        requester: checksummed(p.requester),
        modelId: modelIds[p.model],
        outputSize: BigInt(m.shape.outputSize),
        layerCount: BigInt(m.shape.layerCount),
        consumer: checksummed(p.consumer),
        callbackGasLimit: p.gasLimit,
        fee: p.fee,
        collateral: p.collateral,
        expiresAt: p.expiresAt,
        deadline: 0n,
        attempt: 0n,
        missedDeadlines: 0n,
        status: JobStatus.Open,
        node: ZERO_ADDRESS,
        inputRoot: m.inputs[p.input].inputRoot,
        traceRoot: ZERO_BYTES32,
        outputRoot: ZERO_BYTES32,
      };
    }

    /** A job posted straight to the market (consumer: none, or a consumer contract that did not post it). */
    async postJob(
      who: number,
      p: { model: number; input: number; fee: bigint; collateral: bigint; consumer: string; gasLimit: bigint; expiresAt: bigint; badInput: boolean }
    ) {
      const t = this.now + 1n;
      const m = models[p.model];
      const input = m.inputs[p.input];
      const inputHex = p.badInput ? toHex(fromHex(input.inputHex).subarray(1)) : input.inputHex;
      const ok = p.fee > 0n && p.collateral >= minCollateral[p.model] && p.gasLimit <= BigInt(CONFIG.maxCallbackGasLimit) && p.expiresAt > t && !p.badInput;
      const data = marketI.encodeFunctionData("postJob", [modelIds[p.model], inputHex, p.consumer, p.gasLimit, p.collateral, p.expiresAt]);
      const label =
        `${accounts[who].name}.postJob(${m.name}, fee=${p.fee}, collateral=${p.collateral}, consumer=${
          p.consumer === ZERO_ADDRESS ? "0" : accounts[this.indexOf(p.consumer)].name
        }, ` + `gas=${p.gasLimit}, expiresAt=${p.expiresAt - baseTime}, input=${p.input}${p.badInput ? " short" : ""})`;
      await this.act("postJob", label, who, marketAddr, data, p.fee, ok, async (r) => {
        const want = this.postedJob({ ...p, requester: accounts[who].address });
        const job = await this.fold(r, undefined, want, label);
        this.newJob(job, { model: p.model, input: p.input, requester: who, consumer: -1, payer: -1 });
        this.model[idx.market].balance += p.fee;
        this.model[who].owed -= p.fee;
      });
    }

    /** A job posted through a consumer contract (DigitClassifier.classify), paid by `who`. */
    async classify(who: number, c: number, p: { input: number; fee: bigint; collateral: bigint; expiresAt: bigint; badInput: boolean }) {
      const t = this.now + 1n;
      const ci = consumers[c];
      const m = models[ci.model];
      const input = m.inputs[p.input];
      const inputHex = p.badInput ? toHex(fromHex(input.inputHex).subarray(1)) : input.inputHex;
      const ok = p.fee > 0n && p.collateral >= minCollateral[ci.model] && p.expiresAt > t && !p.badInput;
      const data = consumerI.encodeFunctionData("classify", [inputHex, p.collateral, p.expiresAt]);
      const label =
        `${accounts[who].name}: ${accounts[ci.account].name}.classify(fee=${p.fee}, collateral=${p.collateral}, expiresAt=${p.expiresAt - baseTime}, ` +
        `input=${p.input}${p.badInput ? " short" : ""})`;
      await this.act("consumer.classify", label, who, ci.address, data, p.fee, ok, async (r) => {
        const want = this.postedJob({ ...p, model: ci.model, requester: ci.address, consumer: ci.address, gasLimit: 100_000n });
        const job = await this.fold(r, undefined, want, label);
        this.newJob(job, { model: ci.model, input: p.input, requester: ci.account, consumer: c, payer: who });
        this.model[idx.market].balance += p.fee;
        this.model[who].owed -= p.fee;
        stats.consumerJobs++;
      });
    }

    jobLabel(j: JobModel, tamper: boolean): string {
      return `${j.id}${this.known(j) ? "" : " (no such job)"}${tamper ? ", tampered" : ""}`;
    }

    known(j: JobModel): boolean {
      return this.jobs[Number(j.id) - 1] === j;
    }

    jobArg(j: JobModel, tamper: boolean): Job {
      return tamper ? { ...j.job, fee: j.job.fee + 1n } : j.job;
    }

    /** Credits returned to a job's requester: in the market (fees) or staking (collateral). */
    creditRequester(j: JobModel, where: "marketCredits" | "stakingCredits", amount: bigint) {
      const req = this.model[j.requester];
      req[where] += amount;
      req.owed += amount;
    }

    /** Cancels an open job: its requester on the market, or its payer through the consumer. */
    async cancelJob(who: number, j: JobModel, tamper: boolean, viaConsumer: boolean) {
      const open = this.known(j) && j.job.status === JobStatus.Open && !tamper;
      let ok: boolean;
      let to: string;
      let data: string;
      if (viaConsumer && j.consumer >= 0) {
        ok = open && who === j.payer;
        to = consumers[j.consumer].address;
        data = consumerI.encodeFunctionData("cancel", [j.id, this.jobArg(j, tamper)]);
      } else {
        ok = open && accounts[who].address === j.job.requester;
        to = marketAddr;
        data = marketI.encodeFunctionData("cancelJob", [j.id, this.jobArg(j, tamper)]);
      }
      const label = `${accounts[who].name}: ${
        viaConsumer && j.consumer >= 0 ? accounts[consumers[j.consumer].account].name + ".cancel" : "cancelJob"
      }(${this.jobLabel(j, tamper)}) status=${JobStatus[j.job.status]}`;
      await this.act("cancelJob", label, who, to, data, 0n, ok, async (r) => {
        this.setJob(j, await this.fold(r, j, { ...j.job, status: JobStatus.Cancelled }, label));
        this.creditRequester(j, "marketCredits", j.job.fee);
        this.outcome("cancelled");
      });
    }

    async expireJob(who: number, j: JobModel, tamper: boolean) {
      const t = this.now + 1n;
      const ok = !tamper && this.known(j) && j.job.status === JobStatus.Open && t > j.job.expiresAt;
      const label = `${accounts[who].name}.expireJob(${this.jobLabel(j, tamper)}) status=${JobStatus[j.job.status]} expiresAt=${j.job.expiresAt - baseTime}`;
      await this.act("expireJob", label, who, marketAddr, marketI.encodeFunctionData("expireJob", [j.id, this.jobArg(j, tamper)]), 0n, ok, async (r) => {
        this.setJob(j, await this.fold(r, j, { ...j.job, status: JobStatus.Expired }, label));
        this.creditRequester(j, "marketCredits", j.job.fee);
        this.outcome("expired");
      });
    }

    async takeJob(who: number, j: JobModel, tamper: boolean) {
      const t = this.now + 1n;
      const m = this.model[who];
      const barred = j.barred.has(who);
      const valid = !tamper && this.known(j) && j.job.status === JobStatus.Open && t <= j.job.expiresAt;
      const ok = valid && !barred && m.free >= j.job.collateral;
      const label =
        `${accounts[who].name}.takeJob(${this.jobLabel(j, tamper)}) status=${JobStatus[j.job.status]} expiresAt=${j.job.expiresAt - baseTime} ` +
        `free=${m.free} collateral=${j.job.collateral}${barred ? " BARRED" : ""}`;
      await this.act("takeJob", label, who, marketAddr, marketI.encodeFunctionData("takeJob", [j.id, this.jobArg(j, tamper)]), 0n, ok, async (r) => {
        const want: Job = {
          ...j.job,
          status: JobStatus.Taken,
          node: accounts[who].address,
          attempt: j.job.attempt + 1n,
          deadline: t + BigInt(CONFIG.deliveryWindow),
        };
        if (j.job.attempt > 0n) stats.retakes++;
        this.setJob(j, await this.fold(r, j, want, label));
        m.free -= j.job.collateral;
        m.locked += j.job.collateral;
        const a: AttemptModel = {
          job: j,
          n: Number(j.job.attempt),
          node: who,
          collateral: j.job.collateral,
          defence: "jumpLast",
          games: [],
          winners: 0,
          claimed: 0,
          paid: 0n,
          pool: 0n,
          rejected: false,
          settled: false,
        };
        j.attempts[a.n] = a;
      });
      if (valid && barred) stats.refusedRetakes++;
    }

    /**
     * `variant`: "claim" submits claim `claim` of the job's input; "otherInput" another input's honest result (the
     * input proof fails); "short" the output less a byte; "corrupt" a flipped output byte (the output proof fails).
     */
    async submitResult(who: number, j: JobModel, tamper: boolean, variant: "claim" | "otherInput" | "short" | "corrupt", claim: number, defence: Defence) {
      const t = this.now + 1n;
      const m = models[j.model];
      const other = variant === "otherInput" ? (j.input + 1) % m.inputs.length : j.input;
      const c = m.inputs[other].claims[variant === "claim" ? claim : 0];
      let outputHex: string = c.outputHex;
      if (variant === "short") outputHex = c.outputHex.slice(0, -2);
      if (variant === "corrupt") {
        const bytes = fromHex(c.outputHex);
        bytes[claim % bytes.length] ^= 1;
        outputHex = toHex(bytes);
      }
      const proofOk = variant === "claim" && c.outputHex.length === outputHex.length;
      const ok = !tamper && this.known(j) && j.job.status === JobStatus.Taken && accounts[who].address === j.job.node && t <= j.job.deadline && proofOk;
      const label =
        `${accounts[who].name}.submitResult(${this.jobLabel(j, tamper)}, ${
          variant === "claim" ? `${c.name}${c.honest ? "" : `, defence ${defence}`}` : variant
        }) ` + `status=${JobStatus[j.job.status]} deadline=${j.job.deadline ? j.job.deadline - baseTime : 0n}`;
      const data = marketI.encodeFunctionData("submitResult", [j.id, this.jobArg(j, tamper), outputHex, c.traceRoot, c.inputProof, c.outputProof]);
      await this.act("submitResult", label, who, marketAddr, data, 0n, ok, async (r) => {
        const want: Job = {
          ...j.job,
          status: JobStatus.Submitted,
          traceRoot: c.traceRoot,
          outputRoot: c.outputRoot,
          deadline: t + BigInt(CONFIG.challengeWindow),
        };
        this.setJob(j, await this.fold(r, j, want, label));
        const a = j.attempts[Number(j.job.attempt)];
        a.claim = c;
        a.defence = defence;
        this.outcome(c.honest ? "submitted honest" : c.wrongOutput ? "submitted output lie" : "submitted trace lie");
      });
    }

    async reclaimJob(who: number, j: JobModel, tamper: boolean) {
      const t = this.now + 1n;
      const ok = !tamper && this.known(j) && j.job.status === JobStatus.Taken && t > j.job.deadline;
      const label = `${accounts[who].name}.reclaimJob(${this.jobLabel(j, tamper)}) status=${JobStatus[j.job.status]} deadline=${
        j.job.deadline ? j.job.deadline - baseTime : 0n
      }`;
      await this.act("reclaimJob", label, who, marketAddr, marketI.encodeFunctionData("reclaimJob", [j.id, this.jobArg(j, tamper)]), 0n, ok, async (r) => {
        const node = this.model[this.indexOf(j.job.node)];
        const c = j.job.collateral;
        this.setJob(j, await this.fold(r, j, this.reopened(j.job, t, false), label));
        node.locked -= c;
        node.owed -= c;
        this.creditRequester(j, "stakingCredits", c);
        j.compensation += c;
        this.outcome("reclaimed");
      });
    }

    /** `wrong`: "short" the output less a byte (always refused); a number: that input's honest output (refused with a consumer). */
    async finalize(who: number, j: JobModel, tamper: boolean, wrong?: "short" | number) {
      const t = this.now + 1n;
      const m = models[j.model];
      const att = j.attempts[Number(j.job.attempt)];
      const submitted = att?.claim?.outputHex ?? m.inputs[j.input].claims[0].outputHex;
      let outputHex: string = submitted;
      if (wrong === "short") outputHex = submitted.slice(0, -2);
      else if (wrong !== undefined) outputHex = m.inputs[wrong].claims[0].outputHex;
      const open = j.disputes[Number(j.job.attempt)] ?? 0;
      const sameRoot = wrong === undefined || (wrong !== "short" && m.inputs[wrong].claims[0].outputRoot === j.job.outputRoot);
      const ok =
        !tamper &&
        this.known(j) &&
        j.job.status === JobStatus.Submitted &&
        t >= j.job.deadline &&
        open === 0 &&
        wrong !== "short" &&
        (j.job.consumer === ZERO_ADDRESS || sameRoot);
      const label =
        `${accounts[who].name}.finalize(${this.jobLabel(j, tamper)}${
          wrong === "short" ? ", output short by a byte" : wrong !== undefined ? `, output of input ${wrong}` : ""
        }) ` + `status=${JobStatus[j.job.status]} deadline=${j.job.deadline ? j.job.deadline - baseTime : 0n} open=${open}`;
      const data = marketI.encodeFunctionData("finalize", [j.id, this.jobArg(j, tamper), outputHex]);
      await this.act("finalize", label, who, marketAddr, data, 0n, ok, async (r) => {
        const node = this.indexOf(j.job.node);
        const { fee, collateral } = j.job;
        this.setJob(j, await this.fold(r, j, { ...j.job, status: JobStatus.Finalized }, label));
        const nm = this.model[node];
        nm.locked -= collateral;
        nm.free += collateral;
        nm.owed += fee;
        // The actor never takes a 2300-gas transfer, so its fee is credited; EOAs are paid at once.
        const paid = accounts[node].kind !== "actor";
        if (paid) {
          nm.balance += fee;
          this.model[idx.market].balance -= fee;
        } else nm.marketCredits += fee;
        // A consumer's callback succeeds only for its own pending job with ten outputs.
        const consumer = j.job.consumer === ZERO_ADDRESS ? undefined : consumers.find((c) => c.address === j.job.consumer);
        const callbackOk = !consumer || (j.consumer >= 0 && consumer.callbackWorks);
        const [e] = this.logsOf(r, marketAddr, topics.finalized).map((l) => marketI.parseLog(l)!);
        this.eq(e.args.feePaid, paid, `${label}: JobFinalized.feePaid`);
        this.eq(e.args.callbackSucceeded, callbackOk, `${label}: JobFinalized.callbackSucceeded`);
        if (j.consumer >= 0 && callbackOk) j.pending = false;
        this.outcome(consumer ? (callbackOk ? "finalized, callback ok" : "finalized, callback failed") : "finalized");
      });
    }

    // ------------------------------------------------------------------------------------------
    // Consumers
    // ------------------------------------------------------------------------------------------

    /** A consumer pulls its market and staking credits into its balance (refund, claimCompensation). */
    collect(c: number) {
      const i = consumers[c].account;
      const m = this.model[i];
      m.balance += m.marketCredits + m.stakingCredits;
      this.model[idx.market].balance -= m.marketCredits;
      this.model[idx.staking].balance -= m.stakingCredits;
      m.marketCredits = 0n;
      m.stakingCredits = 0n;
    }

    /** The consumer credits `amount` of a job to its payer. */
    passOn(j: JobModel, amount: bigint) {
      const p = payers.indexOf(j.payer);
      this.consumerOwed[j.consumer][p] += amount;
      this.model[j.payer].owed += amount;
      this.model[consumers[j.consumer].account].owed -= amount;
    }

    /** refund(jobId, job) on consumer `c` (usually the job's own). */
    async refund(who: number, c: number, j: JobModel, tamper: boolean) {
      const mine = this.known(j) && j.consumer === c;
      const ok = mine && !tamper && j.pending && (j.job.status === JobStatus.Expired || j.job.status === JobStatus.Cancelled);
      const ci = consumers[c];
      const label = `${accounts[who].name}: ${accounts[ci.account].name}.refund(${this.jobLabel(j, tamper)}) status=${JobStatus[j.job.status]} pending=${
        j.pending
      }`;
      await this.act("consumer.refund", label, who, ci.address, consumerI.encodeFunctionData("refund", [j.id, this.jobArg(j, tamper)]), 0n, ok, () => {
        j.pending = false;
        this.passOn(j, j.job.fee);
        this.collect(c);
        this.outcome("refunded by the consumer");
      });
    }

    async claimCompensation(who: number, c: number, j: JobModel) {
      const mine = this.known(j) && j.consumer === c;
      const amount = j.compensation - j.passedOn;
      const ok = mine && amount > 0n;
      const ci = consumers[c];
      const label = `${accounts[who].name}: ${accounts[ci.account].name}.claimCompensation(${this.jobLabel(j, false)}) compensation=${
        j.compensation
      } passedOn=${j.passedOn}`;
      await this.act("consumer.claimCompensation", label, who, ci.address, consumerI.encodeFunctionData("claimCompensation", [j.id]), 0n, ok, () => {
        j.passedOn = j.compensation;
        this.passOn(j, amount);
        this.collect(c);
        this.outcome("compensation passed on");
      });
    }

    async consumerWithdraw(who: number, c: number) {
      const p = payers.indexOf(who);
      const owed = p < 0 ? 0n : this.consumerOwed[c][p];
      const ci = consumers[c];
      await this.act(
        "consumer.withdraw",
        `${accounts[who].name}: ${accounts[ci.account].name}.withdraw() owed=${owed}`,
        who,
        ci.address,
        consumerI.encodeFunctionData("withdraw"),
        0n,
        owed > 0n,
        () => {
          this.consumerOwed[c][p] = 0n;
          this.model[who].balance += owed;
          this.model[ci.account].balance -= owed;
        }
      );
    }

    // ------------------------------------------------------------------------------------------
    // Games
    // ------------------------------------------------------------------------------------------

    /** Opens a game on job `j`'s current result as `who`, of `kind`. `value`: the bond sent. */
    async challenge(who: number, j: JobModel, kind: ChallengerKind, value: bigint, tamper: boolean) {
      const t = this.now + 1n;
      const att = j.attempts[Number(j.job.attempt)];
      const bond = bonds[j.model];
      const id = gameIdOf(j.id, Number(j.job.attempt), accounts[who].address);
      const exists = this.games.some((g) => g.id === id);
      const ok = !tamper && this.known(j) && j.job.status === JobStatus.Submitted && t < j.job.deadline && value === bond && !exists;
      const label =
        `${accounts[who].name} (${kind}): game.challenge(${this.jobLabel(j, tamper)}${value !== bond ? `, bond ${value} != ${bond}` : ""}) ` +
        `status=${JobStatus[j.job.status]} deadline=${j.job.deadline ? j.job.deadline - baseTime : 0n}${exists ? " (has a game)" : ""}` +
        (att?.claim ? ` on ${att.claim.name}` : "");
      const data = gameI.encodeFunctionData("challenge", [j.id, this.jobArg(j, tamper)]);
      await this.act(
        "game.challenge",
        label,
        who,
        gameAddr,
        data,
        value,
        ok,
        (_, t) => {
          const rng = this.rng;
          const claim = att.claim!;
          const m = models[j.model];
          const L = m.shape.layerCount;
          // A sybil (or the node itself) wins at once against its node conceding, or loses on purpose at once.
          const selfish = kind === "sybil" || kind === "self";
          const concede = selfish && !claim.honest && rng.float() < 0.55;
          const asserterTrace = concede
            ? answeringTrace(claim, claim.provider ? "honest" : "jumpLast")
            : att.defence === "silent"
            ? null
            : answeringTrace(claim, att.defence);
          const plan: GameModel["plan"] = kind === "watcher" || concede ? "planner" : "scripted";
          const stored = j.job;
          const g: GameModel = {
            id,
            job: j,
            att,
            stored,
            storedWords: encodeAbiParameters([JOB_ABI], [toJobArgument(stored)]).slice(2),
            challenger: who,
            kind,
            bond,
            asserterTrace,
            plan,
            pickRoot: rng.int(0, 7),
            pickT: selfish && !concede ? "padding" : rng.int(0, 31),
            steps: rng.float() < 0.7,
            m: {
              phase: L === 1 ? Phase.PickRoots : Phase.RevealRoots,
              lastMove: t,
              aUsed: 0n,
              cUsed: 0n,
              asserterWon: false,
              layer: 0,
              lo: 0,
              hi: L,
              index: 0,
              prevRoot: ZERO_BYTES32,
              node: ZERO_BYTES32,
              claims: L === 1 ? [stored.inputRoot, stored.outputRoot] : [],
              claimsHash: L === 1 ? claimsHashOf([stored.inputRoot, stored.outputRoot]) : ZERO_BYTES32,
              descriptorHash: ZERO_BYTES32,
              acc: 0n,
              y: 0n,
              sumLow: 0n,
              sumHigh: 0n,
            },
            rewardClaimed: false,
          };
          this.games.push(g);
          att.games.push(g);
          if (att.games.length === 1) this.attemptList.push(att);
          j.disputes[att.n]++;
          this.model[idx.game].balance += value;
          this.model[who].owed -= value;
          stats.games++;
          if (selfish) stats.selfChallenges++;
          stats.maxGamesPerResult = Math.max(stats.maxGamesPerResult, att.games.length);
          this.outcome(`challenge by a ${kind}${concede ? " (node concedes)" : selfish ? " (loses on purpose)" : ""}`);
        },
        () => this.games.find((g) => g.id === id)
      );
    }

    /** The planner's view of a game: the mirror (checked against getGame after every transaction). */
    stateOf(g: GameModel): GameState {
      const m = g.m;
      return {
        job: g.stored,
        jobId: g.job.id,
        challenger: accounts[g.challenger].address,
        phase: m.phase,
        lastMove: m.lastMove,
        asserterUsed: m.aUsed,
        challengerUsed: m.cUsed,
        asserterWon: m.asserterWon,
        layer: BigInt(m.layer),
        height: 0n,
        childHeight: 0n,
        lo: BigInt(m.lo),
        hi: BigInt(m.hi),
        index: BigInt(m.index),
        prevRoot: m.prevRoot,
        node: m.node,
        claimsHash: m.claimsHash,
        descriptorHash: m.descriptorHash,
        acc: m.acc,
        y: m.y,
        sumLow: m.sumLow,
        sumHigh: m.sumHigh,
      };
    }

    planCtx(g: GameModel, t: bigint): PlanContext {
      return { gameId: g.id, now: t, clockBudget: CLOCK_BUDGET, revealed: g.m.claims };
    }

    /** The node's next move in `g` by its strategy, or null. */
    asserterMove(g: GameModel, t: bigint): Move | null {
      if (!g.asserterTrace || g.m.phase === Phase.Resolved) return null;
      try {
        return planMove(this.stateOf(g), "asserter", g.asserterTrace, this.planCtx(g, t));
      } catch (e) {
        if (e instanceof PlannerError) return null;
        throw e;
      }
    }

    /** The challenger's next move in `g` by its strategy, or null. */
    challengerMove(g: GameModel, t: bigint): Move | null {
      if (g.m.phase === Phase.Resolved) return null;
      const honest = models[g.job.model].inputs[g.job.input].honest;
      const state = this.stateOf(g);
      const ctx = this.planCtx(g, t);
      if (g.plan === "planner") {
        try {
          return planMove(state, "challenger", honest, ctx);
        } catch (e) {
          if (e instanceof PlannerError) return null;
          throw e;
        }
      }
      if (moverOf(state.phase) === "asserter") return clockUsed(state, "asserter", t) > CLOCK_BUDGET ? { functionName: "timeout", args: [g.id] } : null;
      switch (state.phase) {
        case Phase.PickRoots:
          return pickRootsMove(state, honest, ctx, g.pickRoot % (g.m.claims.length - 1));
        case Phase.PickNode: {
          const nOut = models[g.job.model].model.layers[g.m.layer - 1].nOut;
          const t = g.pickT === "padding" ? nOut + (g.pickRoot % (32 - nOut)) : g.pickT;
          return pickNodeMove(state, honest, ctx, 0, t);
        }
        case Phase.Step:
          return g.steps ? stepMove(state, honest, ctx) : null;
        default:
          return null;
      }
    }

    /** The next move in `g` by the players' strategies (the side to move first), with its sender. */
    nextMove(g: GameModel, t: bigint): { move: Move; from: number; role: Role } | undefined {
      const mover = moverOf(g.m.phase);
      const order: Role[] = mover === "asserter" ? ["asserter", "challenger"] : ["challenger", "asserter"];
      for (const role of order) {
        const move = role === "asserter" ? this.asserterMove(g, t) : this.challengerMove(g, t);
        if (move) return { move, from: role === "asserter" ? g.att.node : g.challenger, role };
      }
      return undefined;
    }

    /**
     * The game's rules for these shapes (L ≤ 2, every layer one leaf wide and one chunk deep), on the TypeScript twins
     * of LibMerkle and LibDenseStep: whether `move` sent by `sender` at `t` succeeds, the game after it, and the
     * winner if it ends the game.
     */
    simulate(g: GameModel, move: Move, sender: string, t: bigint): { ok: false; why: string } | { ok: true; m: Mirror; ends?: boolean } {
      const m: Mirror = { ...g.m, claims: [...g.m.claims] };
      const tm = models[g.job.model];
      const L = tm.shape.layerCount;
      const job = g.stored;
      const fail = (why: string) => ({ ok: false as const, why });
      const end = (asserterWon: boolean) => {
        m.phase = Phase.Resolved;
        m.asserterWon = asserterWon;
        return { ok: true as const, m, ends: asserterWon };
      };
      if (m.phase === Phase.Resolved) return fail("resolved");
      if (move.functionName === "timeout") {
        const a = asserterMoves(m.phase);
        const used = (a ? m.aUsed : m.cUsed) + (t - m.lastMove);
        if (used <= CLOCK_BUDGET) return fail("clock not out");
        if (a) m.aUsed = used;
        else m.cUsed = used;
        return end(!a);
      }
      const need = {
        revealRoots: Phase.RevealRoots,
        pickRoots: Phase.PickRoots,
        revealNodes: Phase.RevealNodes,
        pickNode: Phase.PickNode,
        stateAccumulator: Phase.StateAccumulator,
        postSums: Phase.PostSums,
        pickSums: Phase.PickSums,
        step: Phase.Step,
      }[move.functionName];
      if (m.phase !== need) return fail("phase");
      const a = move.functionName !== "step" && asserterMoves(need);
      if (move.functionName !== "step") {
        const mover = a ? job.node : accounts[g.challenger].address;
        if (sender !== mover) return fail("not the mover");
      }
      const used = (a ? m.aUsed : m.cUsed) + (t - m.lastMove);
      if (used > CLOCK_BUDGET) return fail("clock out");
      if (a) m.aUsed = used;
      else m.cUsed = used;
      m.lastMove = t;
      const honestDescriptor = (l: number) => tm.inputs[0].honest.descriptor(l).descriptor;
      const sameDescriptor = (d: DescriptorArg, l: number) => jsonOf(d) === jsonOf(descriptorArg(honestDescriptor(l)));
      switch (move.functionName) {
        case "revealRoots": {
          const [, lo, hi, roots, proofs] = move.args;
          if (Number(lo) !== m.lo || Number(hi) !== m.hi) return fail("stale range");
          const k = Math.min(64, m.hi - m.lo);
          if (roots.length !== k - 1 || proofs.length !== k - 1) return fail("length");
          const points = splitPoints(m.lo, m.hi, k);
          for (let i = 1; i < k; i++) {
            if (!verifyProof(fromHex(job.traceRoot), fromHex(roots[i - 1]), points[i], proofs[i - 1].map(fromHex), treeDepth(L + 1))) return fail("root proof");
          }
          const first = m.lo === 0 ? job.inputRoot : m.prevRoot;
          const last = m.hi === L ? job.outputRoot : m.node;
          m.claims = [first, ...roots.map(lower), last];
          m.claimsHash = claimsHashOf(m.claims);
          m.phase = Phase.PickRoots;
          return { ok: true, m };
        }
        case "pickRoots": {
          const [, roots, iBig, d, proof] = move.args;
          if (claimsHashOf(roots) !== m.claimsHash) return fail("stale answer");
          const k = roots.length - 1;
          const i = Number(iBig);
          if (i >= k) return fail("index");
          const points = splitPoints(m.lo, m.hi, k);
          const [lo, hi] = [points[i], points[i + 1]];
          m.prevRoot = lower(roots[i]);
          m.node = lower(roots[i + 1]);
          if (hi - lo > 1) throw new Error("a tiny model has at most two layers");
          const descriptorHash = tm.commitment.layers[hi - 1].descriptorHash;
          if (!sameDescriptor(d, hi) || !verifyProof(tm.commitment.root, descriptorHash, hi - 1, proof.map(fromHex), treeDepth(L))) return fail("descriptor");
          m.lo = lo;
          m.hi = hi;
          m.layer = hi;
          m.descriptorHash = toHex(descriptorHash);
          m.claims = [m.node];
          m.claimsHash = claimsHashOf(m.claims);
          m.phase = Phase.PickNode;
          return { ok: true, m };
        }
        case "pickNode": {
          const [, nodes, iBig, tBig, d] = move.args;
          if (claimsHashOf(nodes) !== m.claimsHash) return fail("stale answer");
          const i = Number(iBig);
          if (i >= nodes.length) return fail("index");
          m.index += i;
          m.node = lower(nodes[i]);
          const tt = Number(tBig);
          if (tt >= 32) return fail("position");
          if (!sameDescriptor(d, m.layer)) return fail("descriptor");
          const nOut = tm.model.layers[m.layer - 1].nOut;
          const j = m.index * 32 + tt;
          if (j >= nOut) return end(paddingIsZero(fromHex(m.node), nOut, m.index));
          m.index = j;
          m.y = BigInt(elementAt(fromHex(m.node), tt));
          m.phase = Phase.StateAccumulator;
          return { ok: true, m };
        }
        case "stateAccumulator": {
          const [, jBig, d, acc, biasLeaf, biasProof] = move.args;
          if (Number(jBig) !== m.index) return fail("stale element");
          if (!sameDescriptor(d, m.layer)) return fail("descriptor");
          const desc: DenseDescriptor = honestDescriptor(m.layer);
          if (!verifyBiasLeaf(desc, m.index, fromHex(biasLeaf), biasProof.map(fromHex))) return fail("bias proof");
          if (!isInt32(acc)) return end(false);
          if (BigInt(outputOf(Number(acc), tm.model.layers[m.layer - 1])) !== m.y) return end(false);
          m.acc = acc;
          m.lo = 0;
          m.hi = 1;
          m.sumLow = BigInt(biasAt(fromHex(biasLeaf), m.index));
          m.sumHigh = acc;
          m.phase = Phase.Step;
          return { ok: true, m };
        }
        case "step": {
          const [, d, weightLeaf, weightProof, inputLeaf, inputProof] = move.args;
          if (!sameDescriptor(d, m.layer)) return fail("descriptor");
          const desc = honestDescriptor(m.layer);
          if (!verifyWeightLeaf(desc, m.index, m.lo, fromHex(weightLeaf), weightProof.map(fromHex))) return fail("weight proof");
          if (!verifyActivationLeaf(fromHex(m.prevRoot), desc.nIn, m.lo, fromHex(inputLeaf), inputProof.map(fromHex))) return fail("input proof");
          const after = accumulate(Number(m.sumLow), fromHex(weightLeaf), fromHex(inputLeaf), validInChunk(desc.nIn, m.lo));
          return end(BigInt(after) === m.sumHigh);
        }
        default:
          throw new Error(`a tiny model's game has no ${move.functionName}`);
      }
    }

    /** Sends `move` in `g` from `from`, as the mirror predicts it. */
    async sendMove(g: GameModel, move: Move, from: number, tag = "") {
      const t = this.now + 1n;
      const sim = this.simulate(g, move, accounts[from].address, t);
      const data = gameI.encodeFunctionData(move.functionName, move.args as unknown as unknown[]);
      const label =
        `${accounts[from].name}: game.${move.functionName}(job ${g.job.id}/${g.att.n} vs ${accounts[g.challenger].name}${tag}) ` +
        `phase=${Phase[g.m.phase]}${sim.ok ? "" : ` [${sim.why}]`}${sim.ok && sim.ends !== undefined ? (sim.ends ? " → node wins" : " → node loses") : ""}`;
      await this.act(
        `game.${move.functionName}`,
        label,
        from,
        gameAddr,
        data,
        0n,
        sim.ok,
        async (r, t) => {
          if (!sim.ok) return;
          g.m = sim.m;
          g.lastSent = { data, from, move };
          if (sim.ends !== undefined) await this.resolved(g, sim.ends, r, t, label);
        },
        () => g
      );
      return sim.ok;
    }

    /** The payouts of a game that just ended: its bond, and when it was the attempt's last open game, the settlement. */
    async resolved(g: GameModel, asserterWon: boolean, r: RawReceipt, t: bigint, label: string) {
      const att = g.att;
      const j = g.job;
      const payee = asserterWon ? att.node : g.challenger;
      this.model[payee].gameCredits += g.bond;
      this.model[payee].owed += g.bond;
      if (!asserterWon) att.winners++;
      const settles = att.winners > 0 && j.disputes[att.n] === 1;
      j.disputes[att.n]--;
      const current = j.hash === hashJob(g.stored);
      this.eq(current, !att.rejected, `${label}: the stored job is current exactly until the node first loses`);
      const rejects = !asserterWon && current;
      const [e] = this.logsOf(r, gameAddr, topics.resolved).map((l) => gameI.parseLog(l)!);
      this.eq(e?.args.asserterWon, asserterWon, `${label}: GameResolved.asserterWon`);
      this.eq(e?.args.resultRejected, rejects, `${label}: GameResolved.resultRejected`);
      this.eq(this.logsOf(r, marketAddr, topics.reopened).length, rejects ? 1 : 0, `${label}: JobReopened events`);
      if (rejects) {
        this.setJob(j, await this.fold(r, j, this.reopened(j.job, t, true), label));
        j.barred.add(att.node);
        att.rejected = true;
      }
      if (asserterWon) stats.nodeWon++;
      else stats.nodeLost++;
      const k = stats.byChallenger.get(g.kind) ?? { nodeWon: 0, nodeLost: 0 };
      stats.byChallenger.set(g.kind, { nodeWon: k.nodeWon + (asserterWon ? 1 : 0), nodeLost: k.nodeLost + (asserterWon ? 0 : 1) });
      const why = Reason[Number(e.args.reason)];
      stats.reasons.set(why, (stats.reasons.get(why) ?? 0) + 1);
      // The honest side loses a game only by letting its clock run out.
      if (g.kind === "watcher" && asserterWon) this.eq(why, "Timeout", `${label}: an honest watcher lost other than by its clock`);
      if (g.att.claim?.honest && g.att.defence !== "silent" && !asserterWon && g.kind !== "self" && g.kind !== "sybil") {
        this.eq(why, "Timeout", `${label}: an honest node lost other than by its clock`);
      }
      this.eq(this.logsOf(r, gameAddr, topics.settled).length, settles ? 1 : 0, `${label}: AttemptSettled events`);
      if (settles) {
        att.settled = true;
        const pool = (att.collateral * REWARD_BPS) / 10_000n;
        const rest = att.collateral - pool;
        att.pool = pool;
        const node = this.model[att.node];
        node.locked -= att.collateral;
        node.owed -= att.collateral;
        this.creditRequester(j, "stakingCredits", rest);
        j.compensation += rest;
        this.model[idx.staking].balance -= pool;
        this.model[idx.game].balance += pool;
        stats.settledAttempts++;
        stats.maxWinners = Math.max(stats.maxWinners, att.winners);
        if (j.job.attempt > BigInt(att.n)) this.outcome("attempt settled after the job was taken again");
        if (!isLive(j.job.status)) this.outcome(`attempt settled after the job was ${JobStatus[j.job.status]}`);
        this.outcome(`attempt settled, ${att.winners} winner${att.winners > 1 ? "s" : ""} of ${att.games.length} game${att.games.length > 1 ? "s" : ""}`);
      }
    }

    async timeout(who: number, g: GameModel) {
      await this.sendMove(g, { functionName: "timeout", args: [g.id] }, who);
    }

    async claimReward(who: number, g: GameModel) {
      const att = g.att;
      const ok = g.m.phase === Phase.Resolved && !g.m.asserterWon && !g.rewardClaimed && att.settled;
      const label = `${accounts[who].name}: game.claimReward(job ${g.job.id}/${att.n} by ${accounts[g.challenger].name}) phase=${Phase[g.m.phase]} won=${
        g.m.phase === Phase.Resolved && !g.m.asserterWon
      } claimed=${g.rewardClaimed} settled=${att.settled} winners=${att.winners}`;
      await this.act(
        "game.claimReward",
        label,
        who,
        gameAddr,
        gameI.encodeFunctionData("claimReward", [g.id]),
        0n,
        ok,
        (r) => {
          let share = att.pool / BigInt(att.winners);
          att.claimed++;
          if (att.claimed === att.winners) share = att.pool - share * BigInt(att.winners - 1);
          g.rewardClaimed = true;
          att.paid += share;
          const c = this.model[g.challenger];
          c.gameCredits += share;
          c.owed += share;
          const [e] = this.logsOf(r, gameAddr, topics.rewardClaimed).map((l) => gameI.parseLog(l)!);
          this.eq(e?.args.amount, share, `${label}: RewardClaimed.amount`);
          stats.rewardsClaimed++;
        },
        () => g
      );
    }

    /** A random game action that must be refused: a stranger's move, a stale replay, an unknown game. */
    async badGameCall(g: GameModel) {
      const r = this.rng.float();
      const t = this.now + 1n;
      if (r < 0.4) {
        const next = this.nextMove(g, t);
        const stranger = this.pick(eoas.filter((i) => i !== g.challenger && i !== g.att.node && i !== accounts[g.att.node].sender));
        if (next) return this.sendMove(g, next.move, stranger, ", by a stranger");
      }
      if (r < 0.8 && g.lastSent) return this.sendMove(g, g.lastSent.move, g.lastSent.from, ", replayed");
      const bogus = keccak256(abi.encode(["uint256"], [BigInt(this.rng.int(1, 1e9))])) as Hex;
      const data = this.chance(0.5) ? gameI.encodeFunctionData("claimReward", [bogus]) : gameI.encodeFunctionData("timeout", [bogus]);
      await this.act("game.unknown", `keeper: game call on an unknown game`, idx.keeper, gameAddr, data, 0n, false, () => undefined);
    }

    // ------------------------------------------------------------------------------------------
    // Calls nobody but the bound contracts may make, and payments nobody may send
    // ------------------------------------------------------------------------------------------

    async unauthorized(who: number, which: number) {
      const j = this.jobs.length > 0 ? this.pick(this.jobs) : undefined;
      const id = j?.id ?? 1n;
      const job = j?.job;
      const me = accounts[who].address;
      const n0 = accounts[nodes[0]].address;
      const c = this.pick(consumers);
      const calls: [string, string, () => string, bigint][] = [
        [
          "market.holdFinality",
          marketAddr,
          () => (job ? marketI.encodeFunctionData("holdFinality", [id, job]) : marketI.encodeFunctionData("releaseFinality", [id, 1])),
          0n,
        ],
        ["market.releaseFinality", marketAddr, () => marketI.encodeFunctionData("releaseFinality", [id, Number(job?.attempt ?? 1n)]), 0n],
        [
          "market.rejectResult",
          marketAddr,
          () => (job ? marketI.encodeFunctionData("rejectResult", [id, job]) : marketI.encodeFunctionData("releaseFinality", [id, 0])),
          0n,
        ],
        ["market.recordCompensation", marketAddr, () => marketI.encodeFunctionData("recordCompensation", [id, 1n]), 0n],
        ["staking.slash", stakingAddr, () => stakingI.encodeFunctionData("slash", [n0, 1n, me]), 0n],
        ["staking.forfeit", stakingAddr, () => stakingI.encodeFunctionData("forfeit", [n0, 1n, me]), 0n],
        ["ETH to the game", gameAddr, () => "0x", 1000n],
        [`ETH to ${accounts[c.account].name}`, c.address, () => "0x", 1000n],
        [`${accounts[c.account].name}.onInferenceResult`, c.address, () => consumerI.encodeFunctionData("onInferenceResult", [id, "0x00"]), 0n],
      ];
      const [name, to, data, value] = calls[which % calls.length];
      await this.act("unauthorized", `${accounts[who].name}: ${name} (not allowed)`, who, to, data(), value, false, () => undefined);
    }

    // ------------------------------------------------------------------------------------------
    // Random choices
    // ------------------------------------------------------------------------------------------

    /** A job, usually one for which `valid` holds. */
    pickJob(valid: (j: JobModel) => boolean): JobModel | undefined {
      if (this.jobs.length === 0) return undefined;
      const preferred = this.jobs.filter(valid);
      if (preferred.length > 0 && this.chance(0.9)) return this.pick(preferred);
      return this.pick(this.jobs);
    }

    /** An id no job has, with some job's struct: every action on it must revert. */
    unknownJob(): JobModel | undefined {
      if (this.jobs.length === 0) return undefined;
      const j = this.pick(this.jobs);
      return { ...j, id: BigInt(this.jobs.length + this.rng.int(1, 3)), versions: [], disputes: [0], barred: new Set(), attempts: [] };
    }

    async jobAction(valid: (j: JobModel) => boolean, f: (j: JobModel, tamper: boolean) => Promise<unknown>) {
      const j = this.chance(0.02) ? this.unknownJob() : this.pickJob(valid);
      if (!j) return this.randomPost();
      await f(j, this.chance(0.03));
    }

    randomFee(): bigint {
      return this.chance(0.03) ? 0n : this.chance(0.15) ? this.wei(1, 1000) : this.wei(1, 1e9) * this.wei(1, 1e7);
    }

    randomCollateral(model: number): bigint {
      const need = minCollateral[model];
      // Too little: just under the smallest, or the market's minimum where the game's is larger.
      if (this.chance(0.04)) return this.chance(0.5) || need === CONFIG.minCollateral ? need - this.wei(1, 1e9) : CONFIG.minCollateral;
      return need + (this.chance(0.4) ? 0n : (need * this.wei(0, 12)) / 4n + this.wei(0, 999));
    }

    randomExpiry(): bigint {
      const t = this.now + 1n;
      const e = this.rng.float();
      return e < 0.04 ? t - this.wei(0, 50) : e < 0.2 ? t + this.wei(1, 900) : t + this.wei(900, 20_000);
    }

    async randomPost() {
      if (this.chance(0.45)) {
        const c = this.rng.int(0, consumers.length - 1);
        return this.classify(this.pick(payers), c, {
          input: this.rng.int(0, models[consumers[c].model].inputs.length - 1),
          fee: this.randomFee(),
          collateral: this.randomCollateral(consumers[c].model),
          expiresAt: this.randomExpiry(),
          badInput: this.chance(0.02),
        });
      }
      const model = this.rng.int(0, models.length - 1);
      // Now and then a consumer that did not post the job: its callback refuses it.
      const consumer = this.chance(0.1) ? this.pick(consumers).address : ZERO_ADDRESS;
      await this.postJob(this.pick(requesters), {
        model,
        input: this.rng.int(0, models[model].inputs.length - 1),
        fee: this.randomFee(),
        collateral: this.randomCollateral(model),
        consumer,
        gasLimit: this.chance(0.03) ? BigInt(CONFIG.maxCallbackGasLimit) + 1n : consumer === ZERO_ADDRESS && this.chance(0.5) ? 0n : this.wei(50_000, 300_000),
        expiresAt: this.randomExpiry(),
        badInput: this.chance(0.02),
      });
    }

    randomAmount(): bigint {
      const r = this.rng.float();
      if (r < 0.5) return this.wei(1, 20) * 10n ** 17n;
      return minCollateral[this.rng.int(0, models.length - 1)] * this.wei(1, 6) + this.wei(0, 999);
    }

    /** Usually a node with enough free stake that may take the job; sometimes a barred one; now and then anyone. */
    randomTaker(j: JobModel): number {
      if (j.barred.size > 0 && this.chance(0.25)) return this.pick([...j.barred]);
      const able = nodes.filter((i) => this.model[i].free >= j.job.collateral && !j.barred.has(i));
      if (able.length > 0 && this.chance(0.8)) return this.pick(able);
      return this.chance(0.9) ? this.pick(nodes) : this.pick(eoas);
    }

    randomSubmit(j: JobModel) {
      const rng = this.rng;
      const who = j.job.status === JobStatus.Taken && this.chance(0.92) ? this.indexOf(j.job.node) : this.pick(nodes);
      const r = rng.float();
      const variant = r < 0.92 ? "claim" : r < 0.95 ? "otherInput" : r < 0.975 ? "short" : "corrupt";
      const claims = models[j.model].inputs[j.input].claims;
      // Half honest; the rest a lie, defended to the step, conceded at once, with sums out of range, or not at all.
      const claim = this.chance(0.4) ? 0 : rng.int(1, claims.length - 1);
      const d = rng.float();
      const defence: Defence =
        claim === 0 ? (d < 0.08 ? "silent" : "jumpLast") : d < 0.45 ? "jumpLast" : d < 0.65 ? "honest" : d < 0.8 ? "outOfRange" : "silent";
      return this.submitResult(who, j, this.chance(0.03), variant, claim, defence);
    }

    async randomChallenge(j: JobModel, tamper: boolean) {
      const att = j.attempts[Number(j.job.attempt)];
      const claim = att?.claim;
      const r = this.rng.float();
      let kind: ChallengerKind;
      if (claim && !claim.honest) kind = r < 0.5 ? "watcher" : r < 0.7 ? "sybil" : r < 0.75 ? "self" : "sacrificial";
      else kind = r < 0.6 ? "sacrificial" : r < 0.9 ? "sybil" : "self";
      // Usually one without a game on this result yet (a second one is refused).
      const fresh = (xs: number[]) => {
        const free = xs.filter((i) => !att?.games.some((g) => g.challenger === i));
        return free.length > 0 && this.chance(0.9) ? this.pick(free) : this.pick(xs);
      };
      let who: number;
      if (!att || !claim) who = this.pick(watchers);
      else if (kind === "watcher") who = fresh(watchers);
      else if (kind === "sacrificial") who = fresh(sacrificial);
      else if (kind === "sybil") who = sybilOf.get(att.node)!;
      else who = att.node;
      const bond = bonds[j.model];
      const v = this.rng.float();
      const value = v < 0.95 ? bond : v < 0.97 ? bond + 1n : v < 0.99 ? bond - 1n : 0n;
      await this.challenge(who, j, kind, value, tamper);
    }

    /** A move of a random open game by its player's strategy (or, now and then, one that must be refused). */
    async randomGameMove() {
      const open = this.games.filter((g) => g.m.phase !== Phase.Resolved);
      if (this.games.length === 0) return this.randomPost();
      const g = open.length > 0 && this.chance(0.95) ? this.pick(open) : this.pick(this.games);
      if (g.m.phase === Phase.Resolved || this.chance(0.05)) return this.badGameCall(g);
      const t = this.now + 1n;
      const next = this.nextMove(g, t);
      if (next) return this.sendMove(g, next.move, next.from);
      // Nobody moves now: usually time runs to the end of the clock of the side to move (± 1 s) and the other side
      // (or anyone) tries to time it out; otherwise anyone tries at once (refused unless that clock ran out).
      if (this.chance(0.75)) {
        const a = asserterMoves(g.m.phase);
        const late = this.chance(0.7);
        const end = g.m.lastMove + CLOCK_BUDGET - (a ? g.m.aUsed : g.m.cUsed) + (late ? 1n : 0n);
        if (end > t) {
          this.log.push(
            `[time] next transaction at t=${end - baseTime} (the ${a ? "node" : "challenger"}'s clock in job ${g.job.id}/${g.att.n} vs ${
              accounts[g.challenger].name
            }${late ? " + 1" : ""})`
          );
          this.now = end - 1n;
          // The waiting side times the game out (refused a second early), or the side to move moves after all.
          const waiting = this.chance(0.8) ? (a ? this.challengerMove(g, end) : this.asserterMove(g, end)) : null;
          if (waiting) return this.sendMove(g, waiting, a ? g.challenger : g.att.node);
          const late2 = this.nextMove(g, end);
          if (late2) return this.sendMove(g, late2.move, late2.from);
        }
      }
      await this.timeout(this.pick(eoas), g);
    }

    async randomAction() {
      const rng = this.rng;
      const t = this.now + 1n;
      const { Open, Taken, Submitted, Expired, Cancelled } = JobStatus;
      const takeable = (j: JobModel) => j.job.status === Open && t <= j.job.expiresAt;
      const expirable = (j: JobModel) => j.job.status === Open && t > j.job.expiresAt;
      const submittable = (j: JobModel) => j.job.status === Taken && t <= j.job.deadline;
      const reclaimable = (j: JobModel) => j.job.status === Taken && t > j.job.deadline;
      const challengeable = (j: JobModel) => j.job.status === Submitted && t < j.job.deadline;
      const finalizable = (j: JobModel) => j.job.status === Submitted && t >= j.job.deadline && j.disputes[Number(j.job.attempt)] === 0;
      const refundable = (j: JobModel) => j.consumer >= 0 && j.pending && (j.job.status === Expired || j.job.status === Cancelled);
      const compensable = (j: JobModel) => j.consumer >= 0 && j.compensation > j.passedOn;
      const any = (f: (j: JobModel) => boolean) => this.jobs.some(f);
      const openGames = this.games.filter((g) => g.m.phase !== Phase.Resolved);
      const claimable = this.games.filter((g) => g.m.phase === Phase.Resolved && !g.m.asserterWon && !g.rewardClaimed && g.att.settled);
      const unbonding = nodes.some((i) => this.model[i].unbonding > 0n);
      const starved = this.jobs.some((j) => takeable(j) && !nodes.some((i) => this.model[i].free >= j.job.collateral && !j.barred.has(i)));
      const consumerOwed = this.consumerOwed.some((row) => row.some((x) => x > 0n));
      const live = this.jobs.filter((j) => isLive(j.job.status)).length;
      // Weights follow the state, so that most sequences go post → take → submit → several challenges → games → payouts;
      // every action is still tried now and then where it does not apply (and must revert).
      const w: [number, () => Promise<unknown>][] = [
        [starved ? 8 : 1, () => this.stake(this.pick(nodes), this.chance(0.04) ? 0n : this.randomAmount())],
        [0.7, () => this.randomUnstake()],
        [unbonding ? 1.5 : 0.2, () => this.withdrawUnstaked(this.chance(0.85) ? this.pick(nodes) : this.pick(eoas))],
        [live < 2 ? 10 : live < 3 ? 3 : 0.7, () => this.randomPost()],
        [
          any((j) => j.job.status === Open) ? 1 : 0.2,
          () =>
            this.jobAction(
              (j) => j.job.status === Open,
              (j, tamper) => {
                const via = j.consumer >= 0 && this.chance(0.9);
                const who = via
                  ? this.chance(0.85)
                    ? j.payer
                    : this.pick(eoas)
                  : this.chance(0.85)
                  ? accounts[j.requester].kind === "eoa"
                    ? j.requester
                    : this.pick(eoas)
                  : this.pick(eoas);
                return this.cancelJob(who, j, tamper, via);
              }
            ),
        ],
        [any(expirable) ? 1.5 : 0.2, () => this.jobAction(expirable, (j, tamper) => this.expireJob(this.pick(eoas), j, tamper))],
        [any(takeable) ? 14 : 0.4, () => this.jobAction(takeable, (j, tamper) => this.takeJob(this.randomTaker(j), j, tamper))],
        [any(submittable) ? 16 : 0.4, () => this.jobAction(submittable, (j) => this.randomSubmit(j))],
        [any(reclaimable) ? 2 : 0.2, () => this.jobAction(reclaimable, (j, tamper) => this.reclaimJob(this.pick(eoas), j, tamper))],
        [any(challengeable) ? 18 : 0.4, () => this.jobAction(challengeable, (j, tamper) => this.randomChallenge(j, tamper))],
        [openGames.length > 0 ? 30 : this.games.length > 0 ? 0.3 : 0, () => this.randomGameMove()],
        [openGames.length > 0 ? 1.5 : 0, () => this.timeout(this.pick(eoas), this.pick(openGames))],
        [
          any(finalizable) ? 6 : 0.4,
          () =>
            this.jobAction(finalizable, (j, tamper) =>
              this.finalize(
                this.pick(eoas),
                j,
                tamper,
                this.chance(0.1) ? (this.chance(0.4) ? "short" : rng.int(0, models[j.model].inputs.length - 1)) : undefined
              )
            ),
        ],
        [
          claimable.length > 0 ? 5 : this.games.length > 0 ? 0.3 : 0,
          () => this.claimReward(this.pick(eoas), claimable.length > 0 && this.chance(0.85) ? this.pick(claimable) : this.pick(this.games)),
        ],
        [0.7, () => this.withdrawFrom("market", this.randomCreditor("marketCredits"))],
        [0.7, () => this.withdrawFrom("staking", this.randomCreditor("stakingCredits"))],
        [1, () => this.withdrawFrom("game", this.randomCreditor("gameCredits"))],
        [
          any(refundable) ? 2 : 0.2,
          () =>
            this.jobAction(refundable, (j, tamper) =>
              this.refund(this.pick(eoas), j.consumer >= 0 && this.chance(0.9) ? j.consumer : rng.int(0, consumers.length - 1), j, tamper)
            ),
        ],
        [
          any(compensable) ? 2 : 0.2,
          () =>
            this.jobAction(compensable, (j) =>
              this.claimCompensation(this.pick(eoas), j.consumer >= 0 && this.chance(0.9) ? j.consumer : rng.int(0, consumers.length - 1), j)
            ),
        ],
        [consumerOwed ? 1.5 : 0.2, () => this.randomConsumerWithdraw()],
        [0.4, () => this.setAccepting(!this.accepting)],
        [0.6, () => this.unauthorized(this.pick(eoas), rng.int(0, 8))],
        [this.boundaries().length > 0 ? 3 : 0, () => this.boundaryProbe()],
      ];
      const total = w.reduce((s, [x]) => s + x, 0);
      let r = rng.float() * total;
      for (const [weight, f] of w) if ((r -= weight) < 0) return f();
      return w[w.length - 1][1]();
    }

    async randomUnstake() {
      const who = this.pick(nodes);
      const free = this.model[who].free;
      const r = this.rng.float();
      const amount = r < 0.05 ? 0n : r < 0.2 ? free + 1n + this.wei(0, 1000) : r < 0.35 ? free : (free * this.wei(1, 100)) / 100n;
      return this.requestUnstake(who, amount);
    }

    randomCreditor(field: "marketCredits" | "stakingCredits" | "gameCredits"): number {
      const withCredits = stakers.filter((i) => this.model[i][field] > 0n);
      if (withCredits.length > 0 && this.chance(0.85)) return this.pick(withCredits);
      return this.chance(0.2) ? idx.NA : this.pick(eoas);
    }

    async randomConsumerWithdraw() {
      const owing: [number, number][] = [];
      this.consumerOwed.forEach((row, c) => row.forEach((x, p) => x > 0n && owing.push([c, payers[p]])));
      const [c, who] = owing.length > 0 && this.chance(0.9) ? this.pick(owing) : [this.rng.int(0, consumers.length - 1), this.pick(eoas)];
      await this.consumerWithdraw(who, c);
    }

    /** Pending time limits, each with the actions whose outcome turns on it. */
    boundaries(): { kind: string; at: bigint; what: string; probe: () => Promise<unknown> }[] {
      const out: { kind: string; at: bigint; what: string; probe: () => Promise<unknown> }[] = [];
      for (const j of this.jobs) {
        const s = j.job.status;
        if (s === JobStatus.Open) {
          out.push({
            kind: "expiry",
            at: j.job.expiresAt,
            what: `job ${j.id} expiresAt`,
            probe: () => (this.chance(0.5) ? this.takeJob(this.randomTaker(j), j, false) : this.expireJob(this.pick(eoas), j, false)),
          });
        } else if (s === JobStatus.Taken) {
          out.push({
            kind: "delivery",
            at: j.job.deadline,
            what: `job ${j.id} delivery deadline`,
            probe: () =>
              this.chance(0.5) ? this.submitResult(this.indexOf(j.job.node), j, false, "claim", 0, "jumpLast") : this.reclaimJob(this.pick(eoas), j, false),
          });
        } else if (s === JobStatus.Submitted) {
          out.push({
            kind: "challenge",
            at: j.job.deadline,
            what: `job ${j.id} challenge deadline`,
            probe: () => (this.chance(0.5) ? this.randomChallenge(j, false) : this.finalize(this.pick(eoas), j, false)),
          });
        }
      }
      for (const g of this.games) {
        if (g.m.phase === Phase.Resolved) continue;
        const a = asserterMoves(g.m.phase);
        const at = g.m.lastMove + CLOCK_BUDGET - (a ? g.m.aUsed : g.m.cUsed);
        out.push({
          kind: "clock",
          at,
          what: `the ${a ? "node" : "challenger"}'s clock in job ${g.job.id}/${g.att.n} vs ${accounts[g.challenger].name}`,
          probe: async () => {
            const next = this.chance(0.6) ? this.nextMove(g, this.now + 1n) : undefined;
            if (next) return this.sendMove(g, next.move, next.from);
            return this.timeout(this.pick(eoas), g);
          },
        });
      }
      for (const i of nodes) {
        if (this.model[i].unbonding > 0n)
          out.push({ kind: "unbonding", at: this.model[i].readyAt, what: `${accounts[i].name} unbonding readyAt`, probe: () => this.withdrawUnstaked(i) });
      }
      return out.filter((b) => b.at > this.now + 1n);
    }

    /** Time passes (nothing is sent): often to just before, at or just after a pending limit. */
    timeJump() {
      const rng = this.rng;
      if (rng.float() < 0.35) {
        const future = this.boundaries()
          .map((b) => b.at)
          .sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
        if (future.length > 0) {
          const target = future[rng.int(0, Math.min(1, future.length - 1))] + BigInt(rng.int(-1, 1));
          this.log.push(`[time] next transaction at t=${target - baseTime}`);
          this.now = target - 1n;
          return;
        }
      }
      const p = rng.float();
      const dt =
        p < 0.55
          ? rng.int(1, 300)
          : p < 0.7
          ? Number(CLOCK_BUDGET) + rng.int(-30, 300)
          : p < 0.8
          ? CONFIG.deliveryWindow + rng.int(-30, 300)
          : p < 0.92
          ? CONFIG.challengeWindow + rng.int(-30, 300)
          : CONFIG.reopenWindow + rng.int(0, 7200);
      this.log.push(`[time] +${dt}s`);
      this.now += BigInt(Math.max(1, dt));
    }

    // ------------------------------------------------------------------------------------------
    // Settling
    // ------------------------------------------------------------------------------------------

    /** Ends an open job: cancelled by its requester (a consumer job by its payer, through the consumer) or expired. */
    async endOpenJob(j: JobModel) {
      if (this.now + 1n > j.job.expiresAt && this.chance(0.5)) await this.expireJob(idx.keeper, j, false);
      else if (j.consumer >= 0) await this.cancelJob(j.payer, j, false, true);
      else await this.cancelJob(j.requester, j, false, false);
    }

    async settle() {
      this.phase = "settle";
      if (!this.accepting) await this.setAccepting(true);
      // Sometimes the jobs reopened by a lost game end first, while other games on that attempt still run.
      if (this.chance(0.5))
        for (const j of this.jobs) if (j.job.status === JobStatus.Open && j.attempts.some((a) => a.rejected && !a.settled)) await this.endOpenJob(j);
      // Finish every game: the players move while they will (only moves the mirror accepts), then the clocks run out.
      for (let round = 0; this.games.some((g) => g.m.phase !== Phase.Resolved); round++) {
        if (round > 20) this.fail("the games do not end");
        let moved = false;
        for (const g of this.games) {
          for (let k = 0; k < 10 && g.m.phase !== Phase.Resolved; k++) {
            const t = this.now + 1n;
            const next = this.nextMove(g, t);
            if (!next || !this.simulate(g, next.move, accounts[next.from].address, t).ok) break;
            await this.sendMove(g, next.move, next.from);
            moved = true;
          }
        }
        if (!moved) {
          this.now += CLOCK_BUDGET + 1n;
          this.log.push("[time] past every clock");
          for (const g of this.games) if (g.m.phase !== Phase.Resolved) await this.timeout(idx.keeper, g);
        }
      }
      this.now += BigInt(CONFIG.challengeWindow + CONFIG.deliveryWindow + CONFIG.reopenWindow);
      this.log.push("[time] past every window");
      // End every job.
      for (const j of this.jobs) {
        for (let guard = 0; isLive(j.job.status); guard++) {
          if (guard > 3) this.fail(`job ${j.id} does not settle`);
          if (j.job.status === JobStatus.Taken) await this.reclaimJob(idx.keeper, j, false);
          else if (j.job.status === JobStatus.Submitted) await this.finalize(idx.keeper, j, false);
          else await this.endOpenJob(j);
        }
      }
      for (const i of stakers) {
        const settledLocks = this.attemptList.filter((a) => a.node === i && a.rejected && !a.settled);
        this.eq(settledLocks.length, 0, `${accounts[i].name} has an unsettled rejected attempt after every game ended`);
        this.eq(this.model[i].locked, 0n, `${accounts[i].name} has locked stake after every job ended`);
      }
      // Every reward, refund and compensation.
      for (const g of this.games) if (!g.m.asserterWon && !g.rewardClaimed) await this.claimReward(idx.keeper, g);
      for (const j of this.jobs) {
        if (j.consumer < 0) continue;
        if (j.pending && (j.job.status === JobStatus.Expired || j.job.status === JobStatus.Cancelled)) await this.refund(idx.keeper, j.consumer, j, false);
        if (j.compensation > j.passedOn) await this.claimCompensation(idx.keeper, j.consumer, j);
      }
      // Unstake everything, wait out the delay, withdraw everything.
      for (const i of nodes) if (this.model[i].free > 0n) await this.requestUnstake(i, this.model[i].free);
      this.now += BigInt(UNBONDING_DELAY);
      this.log.push("[time] past the unbonding delay");
      for (const i of stakers) {
        if (this.model[i].unbonding > 0n) await this.withdrawUnstaked(i);
        if (this.model[i].marketCredits > 0n) await this.withdrawFrom("market", i);
        if (this.model[i].stakingCredits > 0n) await this.withdrawFrom("staking", i);
        if (this.model[i].gameCredits > 0n) await this.withdrawFrom("game", i);
      }
      for (let c = 0; c < consumers.length; c++)
        for (let p = 0; p < payers.length; p++) if (this.consumerOwed[c][p] > 0n) await this.consumerWithdraw(payers[p], c);
      // Every contract is empty and every account got exactly what it is owed, less its gas.
      const c = this.chain;
      for (const i of contractAccounts) {
        this.eq(c.balances[i], 0n, `${accounts[i].name} balance after settling`);
      }
      let owedSum = 0n;
      for (let i = 0; i < accounts.length; i++) {
        const m = this.model[i];
        const n = accounts[i].name;
        this.eq(c.marketCredits[i], 0n, `${n}'s market credits after settling`);
        this.eq(c.stakingCredits[i], 0n, `${n}'s staking credits after settling`);
        this.eq(c.gameCredits[i], 0n, `${n}'s game credits after settling`);
        this.eq(c.free[i] + c.locked[i] + c.unbonding[i], 0n, `${n}'s stake after settling`);
        this.eq(c.balances[i] - baseRead.balances[i] + m.gas, m.owed, `${n}'s balance change + gas != what it is owed`);
        owedSum += m.owed;
      }
      for (const row of c.consumerOwed) for (const x of row) this.eq(x, 0n, "a consumer still owes a payer after settling");
      await this.checkGames(this.games, "settling");
      this.eq(jsonOf(await readChain(this, "slots", true)), jsonOf(c), "an account the model gives nothing holds credits or stake after settling");
      // Fees, bonds, collateral and rewards only move between accounts: 0 wei made or lost.
      this.eq(owedSum, 0n, "Σ owed over all accounts (wei unaccounted)");
    }

    async run() {
      await rpc("evm_setAutomine", [false]);
      const n = this.rng.int(MIN_ACTIONS, MAX_ACTIONS);
      this.crossCheckAt = this.rng.int(1, 2 * n);
      await this.runSteps(n, 1 / 9);
      if (process.env.SOLVENCY_LOG) console.log(`seed ${this.seed}:\n    ${this.log.join("\n    ")}`);
    }
  }

  it(`holds over ${SEQUENCES} seeded random sequences (seeds ${FIRST_SEED}..${FIRST_SEED + SEQUENCES - 1})`, async () => {
    const ms = await runSeeds(base, FIRST_SEED, SEQUENCES, (seed) => new Sequence(seed).run());
    const line = summaryLine;
    line(
      `summary: ${stats.sequences} sequences, ${stats.txs} transactions (${stats.expectedReverts} expected reverts), ${stats.games} games played ` +
        `(node won ${stats.nodeWon}, lost ${stats.nodeLost}), ${stats.selfChallenges} self-challenges, games per result max ${stats.maxGamesPerResult}, ` +
        `${stats.retakes} retakes (${stats.refusedRetakes} refused to a barred node), ${stats.consumerJobs} consumer jobs; ` +
        `${stats.settledAttempts} attempts slashed (winners per attempt max ${stats.maxWinners}), ${stats.rewardsClaimed} rewards claimed; 0 wei unaccounted`
    );
    const a = stats.actions;
    line(
      `random actions per sequence min ${Math.min(...a)} / mean ${(a.reduce((s, x) => s + x, 0) / a.length).toFixed(1)} / max ${Math.max(...a)} ` +
        `(${stats.timeJumps} time jumps, ${stats.boundaryProbes} jumps to a time limit ± 1 s), then ${stats.settleTxs} settling transactions; ` +
        `${(ms / 1000).toFixed(1)} s, ${(ms / Math.max(1, stats.sequences)).toFixed(0)} ms per sequence ` +
        `(${[stats.sendNs, stats.readNs, stats.checkNs, stats.gameReadNs]
          .map((x) => (Number(x) / 1e9).toFixed(1))
          .join(" / ")} s sending / reading / checking / reading games)`
    );
    line(
      `games by challenger (node won/lost): ${[...stats.byChallenger.entries()].map(([k, v]) => `${k} ${v.nodeWon}/${v.nodeLost}`).join(", ")}; ` +
        `ended by: ${[...stats.reasons.entries()].map(([k, v]) => `${k} ${v}`).join(", ")}; ` +
        models.map((m, k) => `${m.name}: bond ${bonds[k]}, smallest collateral ${minCollateral[k]}`).join("; ")
    );
    line(byKindLine(stats));
    line(outcomesLine(stats));
    expect(stats.sequences).to.equal(SEQUENCES);
  });
});
