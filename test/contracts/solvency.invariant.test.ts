import { expect } from "chai";
import hre, { artifacts, ethers, network } from "hardhat";
import { type SnapshotRestorer, takeSnapshot, time } from "@nomicfoundation/hardhat-network-helpers";
import { AbiCoder, type Interface, ZeroAddress, ZeroHash, keccak256, parseEther, parseUnits, toQuantity } from "ethers";
import { toHex } from "../../core/bytes";
import { modelShape } from "../../core/model";
import { activationTree } from "../../core/commitments";
import { type Job, JobStatus, hashJob } from "../../core/jobState";
import { MerkleTree, toLeaves } from "../../core/merkle";
import { CONFIG, UNBONDING_DELAY, deployMarket, honestResult, jobFrom, mnistInput, mnistModel } from "../helpers/marketFixture";
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
import { word } from "../helpers/solvencyProbe";

/**
 * Seeded random-sequence solvency invariant for JobMarket + Staking, with the DisputeGameMock standing in for
 * the dispute game. Every sequence starts from one snapshot (evm_revert), draws 15–40 random actions from its
 * own seed (valid ones and ones the contracts must reject, time jumps among them), then settles everything.
 * After every transaction:
 *
 *  - JobMarket balance == Σ market.credits + Σ fee of jobs Open, Taken or Submitted;
 *  - Staking balance   == Σ (free + locked + unbonding) + Σ staking.credits;
 *  - each account's locked stake == Σ collateral of its jobs Taken or Submitted;
 *  - every jobHash == hashJob(model job); the model folds each transaction's events with jobFrom and checks
 *    the result against the job the action should produce, computed on its own;
 *  - every job's compensation == Σ collateral forfeited or slashed to its requester, and a node is barred from
 *    exactly the jobs on which it lost a dispute (it may not take them again);
 *  - every account's ETH balance (gas from the receipts), credits and stake and every open-dispute count equal
 *    the model's, and a rejected transaction changed nothing but its sender's balance, by exactly its gas.
 *
 * The mock's cover gas price puts the MNIST model's smallest collateral above the market's minCollateral, so a
 * job's smallest collateral is the game's. The real DisputeGame and the consumer contract are covered by solvency.disputes.invariant.test.ts.
 *
 * After settling both contracts hold exactly 0 and every account's balance moved by exactly what it is owed
 * (fees paid, refunded or earned, collateral forfeited or slashed), less its gas.
 *
 * SOLVENCY_SEQUENCES (default 250; 50 under solidity-coverage) and SOLVENCY_SEED (first seed, default 1) pick the sequences. A failure
 * names its seed and recent actions; SOLVENCY_SEED=<seed> SOLVENCY_SEQUENCES=1 replays it exactly.
 *
 * Speed: transactions go out as raw JSON-RPC with a fixed gas limit (no estimate, so a rejected one is really
 * mined) and are mined one per block at a timestamp the model chooses (evm_mine), and the chain is read in
 * one eth_call per transaction: a small slot reader (contracts/test/attackers/InvariantActor.sol) put in place
 * of the market's and the staking contract's code by a state override, reading the slots of their public
 * mappings, whose positions are found at start-up and checked against the getters once in every sequence.
 */

/** Under solidity-coverage (about 8× slower) 50 sequences reach the same lines; the property run is the plain one. */
const UNDER_COVERAGE = Boolean((hre as unknown as { __SOLIDITY_COVERAGE_RUNNING?: boolean }).__SOLIDITY_COVERAGE_RUNNING);
const SEQUENCES = Number(process.env.SOLVENCY_SEQUENCES ?? (UNDER_COVERAGE ? 50 : 250));
const FIRST_SEED = Number(process.env.SOLVENCY_SEED ?? 1);
const MIN_ACTIONS = 15;
const MAX_ACTIONS = 40;
const ACTOR_FUNDS = parseEther("1000");
const ZERO_ADDRESS = ZeroAddress as Hex;
const ZERO_BYTES32 = ZeroHash as Hex;
/** What the mock's minCollateralFor answers: above the market's minCollateral, so the larger one rules. */
/** The mock game's cover gas price: the MNIST model's smallest collateral at it is above the market's minCollateral. */
const MOCK_COVER_GAS_PRICE = parseUnits("5", "gwei");
/** A job's smallest collateral: the game's for the MNIST model (read at deployment), above the market's floor. */
let MIN_COLLATERAL = CONFIG.minCollateral;
const MASK_128 = (1n << 128n) - 1n;
const MASK_40 = (1n << 40n) - 1n;

interface Account {
  readonly name: string;
  readonly address: string;
  /** Index of the account that sends its transactions: its own for an EOA, the operator's for the actor. */
  readonly sender: number;
  readonly isActor: boolean;
  readonly isEoa: boolean;
}

/** What the model expects of one account. */
interface AccountModel {
  balance: bigint;
  marketCredits: bigint;
  stakingCredits: bigint;
  free: bigint;
  locked: bigint;
  unbonding: bigint;
  readyAt: bigint;
  /** Gas paid (receipt gasUsed × effectiveGasPrice). */
  gas: bigint;
  /** Owed, net of deposits: refunds, fees earned, collateral won, less fees paid and collateral lost. */
  owed: bigint;
}

interface JobModel {
  readonly id: bigint;
  job: Job;
  hash: string;
  /** Every state the job has been in, oldest first (stale structs to pass back). */
  readonly versions: Job[];
  readonly input: number;
  /** Open disputes by attempt. */
  readonly disputes: number[];
  /** Collateral forfeited or slashed to the requester (JobMarket.compensation). */
  compensation: bigint;
  /** Accounts (indices) that lost a dispute on the job: barred from taking it again. */
  readonly barred: Set<number>;
}

interface ChainState {
  marketBalance: bigint;
  stakingBalance: bigint;
  jobCount: bigint;
  balances: bigint[];
  marketCredits: bigint[];
  stakingCredits: bigint[];
  free: bigint[];
  locked: bigint[];
  unbonding: bigint[];
  readyAt: bigint[];
  jobHashes: string[];
  openDisputes: bigint[];
  /** JobMarket.compensation of each job. */
  compensation: bigint[];
  /** JobMarket.barred of each (job, node), job-major. */
  barred: bigint[];
}

interface Prepared {
  readonly input: Uint8Array;
  readonly inputHex: Hex;
  readonly inputRoot: Hex;
  readonly output: Uint8Array;
  readonly outputHex: Hex;
  readonly outputRoot: Hex;
  readonly traceRoot: Hex;
  readonly inputProof: Hex[];
  readonly outputProof: Hex[];
}

/** Storage positions of the mappings the invariant reads (found by {@link calibrate}). */
interface Layout {
  nextJobId: bigint;
  marketCredits: bigint;
  jobHash: bigint;
  openDisputes: bigint;
  compensation: bigint;
  barred: bigint;
  stakingAccounts: bigint;
  stakingCredits: bigint;
}

const abi = AbiCoder.defaultAbiCoder();
const mapSlot = (key: string | bigint, base: bigint): string =>
  keccak256(abi.encode([typeof key === "string" ? "address" : "uint256", "uint256"], [key, base]));
const rootOfBytes = (bytes: Uint8Array): Hex => toHex(MerkleTree.fromLeaves(toLeaves(bytes)).root);

/** `job` with `missedDeadlines` raised by `n`, where the Job struct has that field. */
function missedMore(job: Job, n: bigint): Job {
  const j = job as Job & { missedDeadlines?: bigint };
  return j.missedDeadlines === undefined ? job : ({ ...job, missedDeadlines: j.missedDeadlines + n } as Job);
}

describe("JobMarket + Staking solvency invariant (seeded random sequences)", function () {
  this.timeout(600_000);

  const provider = network.provider;
  const rpc = rpcOf(provider);

  let outer: SnapshotRestorer;
  let base: SnapshotRestorer;
  let baseTime: bigint;
  let baseState: ChainState;

  let marketAddr: string;
  let stakingAddr: string;
  let gameAddr: string;
  let actorAddr: string;
  let lensAddr: string;
  let classifierAddr: string;
  let readerCode: string;
  let modelId: bigint;
  let outputSize: bigint;
  let layerCount: bigint;
  let marketI: Interface;
  let stakingI: Interface;
  let gameI: Interface;
  let actorI: Interface;
  let lensI: Interface;
  let reopenedTopic: string;
  let layout: Layout;

  const accounts: Account[] = [];
  let requesters: number[] = [];
  let nodes: number[] = [];
  let challengers: number[] = [];
  let eoas: number[] = [];
  let actorIdx = -1;
  let operatorIdx = -1;
  const prepared: Prepared[] = [];
  /** Per-account slots: market credits, staking account (2 slots), staking credits. */
  let accountSlots: { marketCredits: string; stake0: string; stake1: string; stakingCredits: string }[] = [];
  const jobSlotCache = new Map<bigint, string>();
  const compensationSlotCache = new Map<bigint, string>();
  const barredSlotCache = new Map<bigint, string[]>();
  const disputeSlotCache = new Map<string, string>();

  before(async () => {
    outer = await takeSnapshot();
    const fx = await deployMarket(MOCK_COVER_GAS_PRICE);
    const shape = modelShape(mnistModel().model);
    MIN_COLLATERAL = await fx.game.minCollateralFor(shape.layerCount, shape.maxWidth);
    expect(MIN_COLLATERAL > CONFIG.minCollateral, "the game's smallest collateral rules").to.equal(true);
    modelId = fx.modelId;
    const { model } = mnistModel();
    outputSize = BigInt(model.layers[model.layers.length - 1].nOut);
    layerCount = BigInt(model.layers.length);
    marketAddr = await fx.market.getAddress();
    stakingAddr = await fx.staking.getAddress();
    gameAddr = await fx.game.getAddress();
    classifierAddr = await fx.classifier.getAddress();
    marketI = fx.market.interface as unknown as Interface;
    stakingI = fx.staking.interface as unknown as Interface;
    gameI = fx.game.interface as unknown as Interface;
    reopenedTopic = marketI.getEvent("JobReopened")!.topicHash;
    const signers = await ethers.getSigners();
    const actor = await ethers.deployContract("InvariantActor", [], { value: ACTOR_FUNDS });
    const lens = await ethers.deployContract("InvariantLens");
    actorAddr = await actor.getAddress();
    lensAddr = await lens.getAddress();
    actorI = actor.interface;
    lensI = lens.interface;
    const reader = await artifacts.readArtifact("SlotReader");
    readerCode = reader.deployedBytecode;

    const add = (name: string, address: string, kind: "eoa" | "actor" | "contract", sender?: number) => {
      const i = accounts.length;
      accounts.push({ name, address, sender: sender ?? i, isActor: kind === "actor", isEoa: kind === "eoa" });
      return i;
    };
    add("keeper", signers[0].address, "eoa");
    requesters = [1, 2, 3, 4].map((k, i) => add(`R${i + 1}`, signers[k].address, "eoa"));
    nodes = [5, 6, 7, 8].map((k, i) => add(`N${i + 1}`, signers[k].address, "eoa"));
    operatorIdx = add("operator", signers[9].address, "eoa");
    actorIdx = add("actorNode", actorAddr, "actor", operatorIdx);
    nodes.push(actorIdx);
    challengers = [10, 11].map((k, i) => add(`C${i + 1}`, signers[k].address, "eoa"));
    add("classifier", classifierAddr, "contract");
    add("game", gameAddr, "contract");
    eoas = accounts.map((a, i) => (a.isEoa ? i : -1)).filter((i) => i >= 0);

    // A handful of distinct inputs and their honest results, computed once.
    for (let k = 0; k < 6; k++) {
      const input = mnistInput(1000 + k);
      const r = honestResult(input);
      const p: Prepared = {
        input,
        inputHex: toHex(input),
        inputRoot: rootOfBytes(input),
        output: r.output,
        outputHex: toHex(r.output),
        outputRoot: rootOfBytes(r.output),
        traceRoot: r.traceRoot as Hex,
        inputProof: r.inputProof as Hex[],
        outputProof: r.outputProof as Hex[],
      };
      // The roots the market computes (LibMerkle.rootOfBytes) are the trace's first and last activation roots.
      expect(p.inputRoot).to.equal(toHex(activationTree(r.trace[0]).root));
      expect(p.outputRoot).to.equal(toHex(activationTree(r.trace[r.trace.length - 1]).root));
      prepared.push(p);
    }

    layout = await calibrate(fx, signers);
    accountSlots = accounts.map((a) => {
      const stake0 = mapSlot(a.address, layout.stakingAccounts);
      return {
        marketCredits: mapSlot(a.address, layout.marketCredits),
        stake0,
        stake1: "0x" + word(BigInt(stake0) + 1n),
        stakingCredits: mapSlot(a.address, layout.stakingCredits),
      };
    });

    base = await takeSnapshot();
    baseTime = BigInt(await time.latest());
    baseState = await readChain([]);
    for (const v of [
      baseState.marketBalance,
      baseState.stakingBalance,
      ...baseState.marketCredits,
      ...baseState.stakingCredits,
      ...baseState.free,
      ...baseState.locked,
      ...baseState.unbonding,
    ]) {
      expect(v).to.equal(0n);
    }
    expect(await readChainViaGetters([])).to.deep.equal(baseState);
  });

  after(async () => {
    await rpc("evm_setAutomine", [true]);
    // Back to the chain as it was before this file.
    await outer.restore();
  });

  /**
   * Finds where the market and the staking contract keep the mappings the invariant reads, by putting known
   * values in them (then reverting) and matching the getters against candidate slots.
   */
  async function calibrate(fx: Awaited<ReturnType<typeof deployMarket>>, s: Awaited<ReturnType<typeof ethers.getSigners>>): Promise<Layout> {
    const snap = await takeSnapshot();
    const { market, staking, game } = fx;
    const [r1, r2, r3, n1, n2, c1] = [s[1], s[2], s[3], s[5], s[6], s[10]];
    const p = prepared[0];
    const expiresAt = (await time.latest()) + 100_000;
    await staking.connect(n1).stake({ value: parseEther("1") });
    await staking.connect(n2).stake({ value: parseEther("1") });
    const post = (who: typeof r1, fee: bigint, collateral: bigint) =>
      jobFrom(market.connect(who).postJob(modelId, p.input, ZeroAddress, 0, collateral, expiresAt, { value: fee }));
    const one = await post(r1, 1000n, MIN_COLLATERAL);
    let j1 = (await jobFrom(market.connect(n1).takeJob(one.jobId, one.job), one.job)).job;
    j1 = (await jobFrom(market.connect(n1).submitResult(one.jobId, j1, p.output, p.traceRoot, p.inputProof, p.outputProof), j1)).job;
    await (await game.connect(c1).hold(one.jobId, j1)).wait();
    await (await game.connect(c1).hold(one.jobId, j1)).wait();
    // One of the two games is lost: job one reopens, n1 is barred from it, its collateral goes to r1 (compensation).
    await (await game.connect(c1).nodeLost(one.jobId, j1, r1.address)).wait();
    const two = await post(r2, 777n, MIN_COLLATERAL);
    await (await market.connect(r2).cancelJob(two.jobId, two.job)).wait();
    const three = await post(r3, 5n, MIN_COLLATERAL + 3n);
    const j3 = (await jobFrom(market.connect(n2).takeJob(three.jobId, three.job), three.job)).job;
    await time.increase(CONFIG.deliveryWindow + 1);
    await (await market.connect(r1).reclaimJob(three.jobId, j3)).wait();
    await (await staking.connect(n1).requestUnstake(parseEther("0.3"))).wait();

    const at = async (addr: string, slot: string | bigint) =>
      BigInt(await rpc<string>("eth_getStorageAt", [addr, typeof slot === "bigint" ? toQuantity(slot) : slot, "latest"]));
    const find = async (what: string, test: (base: bigint) => Promise<boolean>) => {
      for (let b = 0n; b < 64n; b++) if (await test(b)) return b;
      throw new Error(`solvency test: cannot find ${what} in storage; the reader needs updating`);
    };
    const jobCount = await market.jobCount();
    const hash1 = BigInt(await market.jobHash(one.jobId));
    const [free, locked, unbonding, readyAt] = await staking.accountOf(n1.address);
    const lay: Layout = {
      nextJobId: await find("JobMarket._nextJobId", async (b) => (await at(marketAddr, b)) === jobCount + 1n),
      marketCredits: await find("JobMarket.credits", async (b) => (await at(marketAddr, mapSlot(r2.address, b))) === (await market.credits(r2.address))),
      jobHash: await find("JobMarket.jobHash", async (b) => (await at(marketAddr, mapSlot(one.jobId, b))) === hash1),
      openDisputes: await find("JobMarket.openDisputes", async (b) => (await at(marketAddr, mapSlot(j1.attempt, BigInt(mapSlot(one.jobId, b))))) === 1n),
      compensation: await find(
        "JobMarket.compensation",
        async (b) => (await at(marketAddr, mapSlot(three.jobId, b))) === (await market.compensation(three.jobId))
      ),
      barred: await find("JobMarket.barred", async (b) => (await at(marketAddr, mapSlot(n1.address, BigInt(mapSlot(one.jobId, b))))) === 1n),
      stakingCredits: await find("Staking.credits", async (b) => (await at(stakingAddr, mapSlot(r3.address, b))) === (await staking.credits(r3.address))),
      stakingAccounts: await find("Staking._accounts", async (b) => {
        const slot = BigInt(mapSlot(n1.address, b));
        const [w0, w1] = [await at(stakingAddr, slot), await at(stakingAddr, slot + 1n)];
        return (w0 & MASK_128) === free && w0 >> 128n === locked && (w1 & MASK_128) === unbonding && ((w1 >> 128n) & MASK_40) === readyAt;
      }),
    };
    expect(await market.credits(r2.address)).to.equal(777n);
    expect(await market.compensation(one.jobId)).to.equal(MIN_COLLATERAL);
    expect(await market.compensation(three.jobId)).to.equal(MIN_COLLATERAL + 3n);
    expect(await market.barred(one.jobId, n1.address)).to.equal(true);
    expect(await staking.credits(r3.address)).to.equal(MIN_COLLATERAL + 3n);
    expect(locked).to.equal(0n);
    expect(unbonding).to.equal(parseEther("0.3"));
    await snap.restore();
    return lay;
  }

  function jobSlot(id: bigint): string {
    let s = jobSlotCache.get(id);
    if (!s) jobSlotCache.set(id, (s = mapSlot(id, layout.jobHash)));
    return s;
  }

  function compensationSlot(id: bigint): string {
    let s = compensationSlotCache.get(id);
    if (!s) compensationSlotCache.set(id, (s = mapSlot(id, layout.compensation)));
    return s;
  }

  /** The slots of barred[id][node] for every node, in the order of `nodes`. */
  function barredSlots(id: bigint): string[] {
    let s = barredSlotCache.get(id);
    if (!s) {
      const inner = BigInt(mapSlot(id, layout.barred));
      barredSlotCache.set(id, (s = nodes.map((i) => mapSlot(accounts[i].address, inner))));
    }
    return s;
  }

  function disputeSlot(id: bigint, attempt: number): string {
    const key = `${id}/${attempt}`;
    let s = disputeSlotCache.get(key);
    if (!s) disputeSlotCache.set(key, (s = mapSlot(BigInt(attempt), BigInt(mapSlot(id, layout.openDisputes)))));
    return s;
  }

  function disputePairs(jobs: readonly JobModel[]): [bigint, number][] {
    const pairs: [bigint, number][] = [];
    for (const j of jobs) for (let a = 1; a < j.disputes.length; a++) pairs.push([j.id, a]);
    return pairs;
  }

  /** Everything the invariant compares, in one eth_call (the slot reader in place of both contracts' code). */
  async function readChain(jobs: readonly JobModel[]): Promise<ChainState> {
    const n = accounts.length;
    const pairs = disputePairs(jobs);
    const own = [
      "0x" + word(layout.nextJobId),
      ...accountSlots.map((a) => a.marketCredits),
      ...jobs.map((j) => jobSlot(j.id)),
      ...pairs.map(([id, a]) => disputeSlot(id, a)),
      ...jobs.map((j) => compensationSlot(j.id)),
      ...jobs.flatMap((j) => barredSlots(j.id)),
    ];
    const other = [...accountSlots.flatMap((a) => [a.stake0, a.stake1]), ...accountSlots.map((a) => a.stakingCredits)];
    const bals = [marketAddr, stakingAddr, ...accounts.map((a) => a.address)];
    // SlotReader's calldata: other, n, own slots, m, other slots, b, addresses.
    const data =
      "0x" +
      word(stakingAddr) +
      word(BigInt(own.length)) +
      own.map(word).join("") +
      word(BigInt(other.length)) +
      other.map(word).join("") +
      word(BigInt(bals.length)) +
      bals.map(word).join("");
    const ret = await rpc<string>("eth_call", [
      { to: marketAddr, data },
      "latest",
      { [marketAddr]: { code: readerCode }, [stakingAddr]: { code: readerCode } },
    ]);
    let pos = 2;
    const next = () => BigInt("0x" + ret.slice(pos, (pos += 64)));
    const take = (k: number) => Array.from({ length: k }, next);
    const jobCount = next() - 1n;
    const marketCredits = take(n);
    const jobHashes = take(jobs.length).map((h) => "0x" + word(h));
    const openDisputes = take(pairs.length);
    const compensation = take(jobs.length);
    const barred = take(jobs.length * nodes.length);
    const stakes = take(2 * n);
    const stakingCredits = take(n);
    const [marketBalance, stakingBalance, ...balances] = take(bals.length);
    return {
      marketBalance,
      stakingBalance,
      jobCount,
      balances,
      marketCredits,
      stakingCredits,
      free: stakes.filter((_, i) => i % 2 === 0).map((w) => w & MASK_128),
      locked: stakes.filter((_, i) => i % 2 === 0).map((w) => w >> 128n),
      unbonding: stakes.filter((_, i) => i % 2 === 1).map((w) => w & MASK_128),
      readyAt: stakes.filter((_, i) => i % 2 === 1).map((w) => (w >> 128n) & MASK_40),
      jobHashes,
      openDisputes,
      compensation,
      barred,
    };
  }

  /** The same, through the contracts' own getters (InvariantLens): checks {@link readChain}. */
  async function readChainViaGetters(jobs: readonly JobModel[]): Promise<ChainState> {
    const pairs = disputePairs(jobs);
    const data = lensI.encodeFunctionData("read", [
      marketAddr,
      stakingAddr,
      accounts.map((a) => a.address),
      jobs.length,
      pairs.map((p) => p[0]),
      pairs.map((p) => p[1]),
      nodes.map((i) => accounts[i].address),
    ]);
    const s = lensI.decodeFunctionResult("read", await rpc<string>("eth_call", [{ to: lensAddr, data }, "latest"]))[0];
    const big = (xs: readonly bigint[]) => Array.from(xs, (x) => BigInt(x));
    return {
      marketBalance: s.marketBalance,
      stakingBalance: s.stakingBalance,
      jobCount: s.jobCount,
      balances: big(s.balances),
      marketCredits: big(s.marketCredits),
      stakingCredits: big(s.stakingCredits),
      free: big(s.free),
      locked: big(s.locked),
      unbonding: big(s.unbonding),
      readyAt: big(s.unbondingReadyAt),
      jobHashes: Array.from(s.jobHashes as string[]),
      openDisputes: big(s.openDisputes),
      compensation: big(s.compensation),
      barred: Array.from(s.barred as boolean[], (b) => (b ? 1n : 0n)),
    };
  }

  const stats = newSolvencyStats();

  /** One sequence: its seed, its model of the chain and the last state read. */
  class Sequence extends SolvencySequence<JobModel, AccountModel> {
    now = baseTime;
    readonly model: AccountModel[];
    chain: ChainState = baseState;
    accepting = false;

    constructor(seed: number) {
      super(seed, stats, { baseTime, command: "", recent: 20 });
      this.model = accounts.map((_, i) => ({
        balance: baseState.balances[i],
        marketCredits: 0n,
        stakingCredits: 0n,
        free: 0n,
        locked: 0n,
        unbonding: 0n,
        readyAt: 0n,
        gas: 0n,
        owed: 0n,
      }));
    }

    // ------------------------------------------------------------------------------------------
    // Sending
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
      apply: (r: RawReceipt, t: bigint) => Promise<void> | void
    ) {
      const t = ++this.now;
      this.log.push(`[t=${t - baseTime}] ${label} → expect ${ok ? "ok" : "revert"}`);
      const acct = accounts[from];
      const payer = acct.sender;
      const actor = { address: actorAddr, iface: actorI };
      const r = await this.mineAlone(rpc, { viaActor: acct.isActor, sender: accounts[payer].address, actor, to, data, value }, t, label);
      this.txCount++;
      const { succeeded, gas } = await this.book(kind, label, r, ok, from, payer, value, () => apply(r, t));
      const before = this.chain;
      const after = await readChain(this.jobs);
      if (this.txCount === this.crossCheckAt) {
        const viaGetters = await readChainViaGetters(this.jobs);
        if (jsonOf(viaGetters) !== jsonOf(after)) expect(after, this.ctx("the slot reader disagrees with the getters")).to.deep.equal(viaGetters);
      }
      if (!succeeded) this.checkUnchanged(before, after, payer, gas, label);
      this.checkInvariants(after, label);
      this.chain = after;
    }

    /** A rejected transaction changed nothing but its sender's balance, by exactly its gas. */
    checkUnchanged(b: ChainState, a: ChainState, payer: number, gas: bigint, label: string) {
      const what = `${label} reverted but changed`;
      this.eq(a.marketBalance, b.marketBalance, `${what} the market balance`);
      this.eq(a.stakingBalance, b.stakingBalance, `${what} the staking balance`);
      this.eq(a.jobCount, b.jobCount, `${what} the job count`);
      for (let i = 0; i < accounts.length; i++) {
        const n = accounts[i].name;
        this.eq(a.balances[i], b.balances[i] - (i === payer ? gas : 0n), `${what} ${n}'s balance`);
        this.eq(a.marketCredits[i], b.marketCredits[i], `${what} ${n}'s market credits`);
        this.eq(a.stakingCredits[i], b.stakingCredits[i], `${what} ${n}'s staking credits`);
        this.eq(a.free[i], b.free[i], `${what} ${n}'s free stake`);
        this.eq(a.locked[i], b.locked[i], `${what} ${n}'s locked stake`);
        this.eq(a.unbonding[i], b.unbonding[i], `${what} ${n}'s unbonding stake`);
        this.eq(a.readyAt[i], b.readyAt[i], `${what} ${n}'s unbonding time`);
      }
      for (let j = 0; j < b.jobHashes.length; j++) this.eq(a.jobHashes[j], b.jobHashes[j], `${what} job ${j + 1}'s hash`);
      for (let d = 0; d < b.openDisputes.length; d++) this.eq(a.openDisputes[d], b.openDisputes[d], `${what} an open dispute count`);
      for (let j = 0; j < b.compensation.length; j++) this.eq(a.compensation[j], b.compensation[j], `${what} job ${j + 1}'s compensation`);
      for (let k = 0; k < b.barred.length; k++) this.eq(a.barred[k], b.barred[k], `${what} a node's bar`);
    }

    checkInvariants(c: ChainState, label: string) {
      const at = `after ${label}:`;
      // The market holds exactly its credits plus the fees escrowed in live jobs.
      let escrowed = 0n;
      for (const j of this.jobs) if (isLive(j.job.status)) escrowed += j.job.fee;
      let marketCredits = 0n;
      for (const x of c.marketCredits) marketCredits += x;
      this.eq(c.marketBalance, marketCredits + escrowed, `${at} JobMarket balance != Σ credits (${marketCredits}) + Σ fees of live jobs (${escrowed})`);
      // Staking holds exactly every account's stake plus credits.
      let stakes = 0n;
      for (let i = 0; i < accounts.length; i++) stakes += c.free[i] + c.locked[i] + c.unbonding[i] + c.stakingCredits[i];
      this.eq(c.stakingBalance, stakes, `${at} Staking balance != Σ (free + locked + unbonding + credits)`);
      // Locked stake backs exactly the jobs held.
      for (let i = 0; i < accounts.length; i++) {
        let held = 0n;
        for (const j of this.jobs) if (isHeld(j.job.status) && j.job.node === accounts[i].address) held += j.job.collateral;
        this.eq(c.locked[i], held, `${at} ${accounts[i].name}'s locked stake != Σ collateral of its Taken/Submitted jobs (${held})`);
      }
      // The market stores exactly the model's jobs.
      this.eq(c.jobCount, BigInt(this.jobs.length), `${at} job count`);
      for (let j = 0; j < this.jobs.length; j++) this.eq(c.jobHashes[j], this.jobs[j].hash, `${at} job ${j + 1}'s jobHash != hashJob(model job)`);
      let d = 0;
      for (const j of this.jobs) {
        for (let a = 1; a < j.disputes.length; a++) this.eq(c.openDisputes[d++], BigInt(j.disputes[a]), `${at} open disputes on job ${j.id} attempt ${a}`);
      }
      // Compensation is exactly the collateral that reached each requester, and only the nodes that lost are barred.
      for (let k = 0; k < this.jobs.length; k++) {
        const j = this.jobs[k];
        this.eq(c.compensation[k], j.compensation, `${at} job ${j.id}'s compensation`);
        nodes.forEach((i, x) => this.eq(c.barred[k * nodes.length + x], j.barred.has(i) ? 1n : 0n, `${at} ${accounts[i].name} barred from job ${j.id}`));
      }
      // Every account agrees with the model.
      for (let i = 0; i < accounts.length; i++) {
        const m = this.model[i];
        const n = accounts[i].name;
        this.eq(c.balances[i], m.balance, `${at} ${n}'s ETH balance`);
        this.eq(c.marketCredits[i], m.marketCredits, `${at} ${n}'s market credits`);
        this.eq(c.stakingCredits[i], m.stakingCredits, `${at} ${n}'s staking credits`);
        this.eq(c.free[i], m.free, `${at} ${n}'s free stake`);
        this.eq(c.locked[i], m.locked, `${at} ${n}'s locked stake (model)`);
        this.eq(c.unbonding[i], m.unbonding, `${at} ${n}'s unbonding stake`);
        this.eq(c.readyAt[i], m.readyAt, `${at} ${n}'s unbonding time`);
      }
    }

    reopened(job: Job, t: bigint, byDispute: boolean): Job {
      const openUntil = t + BigInt(CONFIG.reopenWindow);
      const j = {
        ...job,
        status: JobStatus.Open,
        node: ZERO_ADDRESS,
        deadline: 0n,
        traceRoot: ZERO_BYTES32,
        outputRoot: ZERO_BYTES32,
        expiresAt: max(job.expiresAt, openUntil),
      };
      return byDispute ? j : missedMore(j, 1n);
    }

    indexOf(address: string): number {
      const i = accounts.findIndex((a) => a.address === address);
      if (i < 0) throw new Error(this.ctx(`unknown account ${address}`));
      return i;
    }

    // ------------------------------------------------------------------------------------------
    // Actions: each predicts success from the model, sends, and applies what it predicted
    // ------------------------------------------------------------------------------------------

    async stake(who: number, amount: bigint) {
      await this.act("stake", `${accounts[who].name}.stake(${amount})`, who, stakingAddr, stakingI.encodeFunctionData("stake"), amount, amount > 0n, () => {
        this.model[who].free += amount;
      });
    }

    async requestUnstake(who: number, amount: bigint) {
      const m = this.model[who];
      const ok = amount > 0n && amount <= m.free;
      await this.act(
        "requestUnstake",
        `${accounts[who].name}.requestUnstake(${amount}) free=${m.free}`,
        who,
        stakingAddr,
        stakingI.encodeFunctionData("requestUnstake", [amount]),
        0n,
        ok,
        (_, t) => {
          m.free -= amount;
          m.unbonding += amount;
          m.readyAt = t + BigInt(UNBONDING_DELAY);
        }
      );
    }

    async withdrawUnstaked(who: number) {
      const m = this.model[who];
      const t = this.now + 1n;
      const ok = m.unbonding > 0n && t >= m.readyAt && (!accounts[who].isActor || this.accepting);
      const label = `${accounts[who].name}.withdrawUnstaked() unbonding=${m.unbonding} readyAt=${m.readyAt ? m.readyAt - baseTime : 0n}`;
      await this.act("withdrawUnstaked", label, who, stakingAddr, stakingI.encodeFunctionData("withdrawUnstaked"), 0n, ok, () => {
        m.balance += m.unbonding;
        m.unbonding = 0n;
        m.readyAt = 0n;
      });
    }

    async stakingWithdraw(who: number) {
      const m = this.model[who];
      const ok = m.stakingCredits > 0n && (!accounts[who].isActor || this.accepting);
      await this.act(
        "staking.withdraw",
        `${accounts[who].name}: staking.withdraw() credits=${m.stakingCredits}`,
        who,
        stakingAddr,
        stakingI.encodeFunctionData("withdraw"),
        0n,
        ok,
        () => {
          m.balance += m.stakingCredits;
          m.stakingCredits = 0n;
        }
      );
    }

    async marketWithdraw(who: number) {
      const m = this.model[who];
      const ok = m.marketCredits > 0n && (!accounts[who].isActor || this.accepting);
      await this.act(
        "market.withdraw",
        `${accounts[who].name}: market.withdraw() credits=${m.marketCredits}`,
        who,
        marketAddr,
        marketI.encodeFunctionData("withdraw"),
        0n,
        ok,
        () => {
          m.balance += m.marketCredits;
          m.marketCredits = 0n;
        }
      );
    }

    async setAccepting(accepting: boolean) {
      await this.act(
        "actor.setAccepting",
        `actor.setAccepting(${accepting})`,
        operatorIdx,
        actorAddr,
        actorI.encodeFunctionData("setAccepting", [accepting]),
        0n,
        true,
        () => {
          this.accepting = accepting;
        }
      );
    }

    async postJob(
      who: number,
      p: { fee: bigint; collateral: bigint; consumer: string; gasLimit: bigint; expiresAt: bigint; input: number; badInput: boolean; badModel: boolean }
    ) {
      const t = this.now + 1n;
      const inputHex = p.badInput ? toHex(prepared[p.input].input.subarray(1)) : prepared[p.input].inputHex;
      const ok =
        p.fee > 0n && p.collateral >= MIN_COLLATERAL && p.gasLimit <= BigInt(CONFIG.maxCallbackGasLimit) && p.expiresAt > t && !p.badInput && !p.badModel;
      const data = marketI.encodeFunctionData("postJob", [p.badModel ? modelId + 1n : modelId, inputHex, p.consumer, p.gasLimit, p.collateral, p.expiresAt]);
      const label =
        `${accounts[who].name}.postJob(fee=${p.fee}, collateral=${p.collateral}, consumer=${p.consumer === ZERO_ADDRESS ? "0" : "classifier"}, ` +
        `gas=${p.gasLimit}, expiresAt=${p.expiresAt - baseTime}, input=${p.input}${p.badInput ? " short" : ""}${p.badModel ? " unknown model" : ""})`;
      await this.act("postJob", label, who, marketAddr, data, p.fee, ok, async (r) => {
        const id = BigInt(this.jobs.length + 1);
        // Start from the folded job so fields this test does not know of are only checked through the hash.
        const folded = (await jobFrom({ wait: async () => ({ logs: r.logs }) })).job;
        const want = {
          ...folded,
          requester: accounts[who].address as Hex,
          modelId,
          outputSize,
          layerCount,
          consumer: p.consumer as Hex,
          callbackGasLimit: p.gasLimit,
          fee: p.fee,
          collateral: p.collateral,
          expiresAt: p.expiresAt,
          deadline: 0n,
          attempt: 0n,
          status: JobStatus.Open,
          node: ZERO_ADDRESS,
          inputRoot: prepared[p.input].inputRoot,
          traceRoot: ZERO_BYTES32,
          outputRoot: ZERO_BYTES32,
          ...("missedDeadlines" in folded ? { missedDeadlines: 0n } : {}),
        } as Job;
        const job = await this.fold(r, undefined, want, label);
        const j: JobModel = { id, job, hash: "", versions: [], input: p.input, disputes: [0], compensation: 0n, barred: new Set() };
        this.setJob(j, job);
        this.jobs.push(j);
        this.model[who].owed -= p.fee;
        stats.jobsPosted++;
      });
    }

    jobLabel(j: JobModel, tamper: boolean): string {
      return `${j.id}${this.known(j) ? "" : " (no such job)"}${tamper ? ", tampered" : ""}`;
    }

    /** Whether `j` is a posted job (not one made up by {@link unknownJob}). */
    known(j: JobModel): boolean {
      return this.jobs[Number(j.id) - 1] === j;
    }

    /** The struct to pass: the job as it is, or (tampered) one that does not hash to the stored one. */
    jobArg(j: JobModel, tamper: boolean): Job {
      return tamper ? { ...j.job, fee: j.job.fee + 1n } : j.job;
    }

    async cancelJob(who: number, j: JobModel, tamper: boolean) {
      const ok = !tamper && this.known(j) && j.job.status === JobStatus.Open && accounts[who].address === j.job.requester;
      const label = `${accounts[who].name}.cancelJob(${this.jobLabel(j, tamper)}) status=${JobStatus[j.job.status]}`;
      await this.act("cancelJob", label, who, marketAddr, marketI.encodeFunctionData("cancelJob", [j.id, this.jobArg(j, tamper)]), 0n, ok, async (r) => {
        this.setJob(j, await this.fold(r, j, { ...j.job, status: JobStatus.Cancelled }, label));
        const req = this.model[this.indexOf(j.job.requester)];
        req.marketCredits += j.job.fee;
        req.owed += j.job.fee;
        this.outcome("cancelled");
      });
    }

    async expireJob(who: number, j: JobModel, tamper: boolean) {
      const t = this.now + 1n;
      const ok = !tamper && this.known(j) && j.job.status === JobStatus.Open && t > j.job.expiresAt;
      const label = `${accounts[who].name}.expireJob(${this.jobLabel(j, tamper)}) status=${JobStatus[j.job.status]} expiresAt=${j.job.expiresAt - baseTime}`;
      await this.act("expireJob", label, who, marketAddr, marketI.encodeFunctionData("expireJob", [j.id, this.jobArg(j, tamper)]), 0n, ok, async (r) => {
        this.setJob(j, await this.fold(r, j, { ...j.job, status: JobStatus.Expired }, label));
        const req = this.model[this.indexOf(j.job.requester)];
        req.marketCredits += j.job.fee;
        req.owed += j.job.fee;
        this.outcome("expired");
      });
    }

    async takeJob(who: number, j: JobModel, tamper: boolean) {
      const t = this.now + 1n;
      const m = this.model[who];
      const barred = j.barred.has(who);
      const ok = !tamper && this.known(j) && j.job.status === JobStatus.Open && t <= j.job.expiresAt && !barred && m.free >= j.job.collateral;
      const label =
        `${accounts[who].name}.takeJob(${this.jobLabel(j, tamper)}) status=${JobStatus[j.job.status]} ` +
        `expiresAt=${j.job.expiresAt - baseTime} free=${m.free} collateral=${j.job.collateral}${barred ? " barred" : ""}`;
      await this.act("takeJob", label, who, marketAddr, marketI.encodeFunctionData("takeJob", [j.id, this.jobArg(j, tamper)]), 0n, ok, async (r) => {
        const want: Job = {
          ...j.job,
          status: JobStatus.Taken,
          node: accounts[who].address as Hex,
          attempt: j.job.attempt + 1n,
          deadline: t + BigInt(CONFIG.deliveryWindow),
        };
        if (j.job.attempt > 0n) this.outcome("retaken");
        this.setJob(j, await this.fold(r, j, want, label));
        m.free -= j.job.collateral;
        m.locked += j.job.collateral;
      });
      if (barred && !tamper && this.known(j) && j.job.status === JobStatus.Open) this.outcome("barredRetakeRefused");
    }

    /** `variant`: 0 honest, 1 another input's trace (the input proof fails), 2 a corrupted output (the output proof fails). */
    async submitResult(who: number, j: JobModel, tamper: boolean, variant: number, other: number) {
      const t = this.now + 1n;
      const p = prepared[variant === 1 ? other : j.input];
      let output = p.output;
      if (variant === 2) {
        output = Uint8Array.from(p.output);
        output[other % output.length] ^= 1;
      }
      const proofOk = p.inputRoot === j.job.inputRoot && (variant !== 2 || rootOfBytes(output) === p.outputRoot);
      const ok = !tamper && this.known(j) && j.job.status === JobStatus.Taken && accounts[who].address === j.job.node && t <= j.job.deadline && proofOk;
      const label =
        `${accounts[who].name}.submitResult(${this.jobLabel(j, tamper)}, ${["honest", "wrong trace", "corrupt output"][variant]}) ` +
        `status=${JobStatus[j.job.status]} deadline=${j.job.deadline ? j.job.deadline - baseTime : 0n}`;
      const data = marketI.encodeFunctionData("submitResult", [
        j.id,
        this.jobArg(j, tamper),
        variant === 2 ? toHex(output) : p.outputHex,
        p.traceRoot,
        p.inputProof,
        p.outputProof,
      ]);
      await this.act("submitResult", label, who, marketAddr, data, 0n, ok, async (r) => {
        const want: Job = {
          ...j.job,
          status: JobStatus.Submitted,
          traceRoot: p.traceRoot,
          outputRoot: p.outputRoot,
          deadline: t + BigInt(CONFIG.challengeWindow),
        };
        this.setJob(j, await this.fold(r, j, want, label));
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
        const req = this.model[this.indexOf(j.job.requester)];
        const c = j.job.collateral;
        this.setJob(j, await this.fold(r, j, this.reopened(j.job, t, false), label));
        node.locked -= c;
        node.owed -= c;
        req.stakingCredits += c;
        req.owed += c;
        j.compensation += c;
        this.outcome("reclaimed");
      });
    }

    async hold(who: number, j: JobModel, tamper: boolean) {
      const t = this.now + 1n;
      const ok = !tamper && this.known(j) && j.job.status === JobStatus.Submitted && t < j.job.deadline;
      const label = `${accounts[who].name}: game.hold(${this.jobLabel(j, tamper)}) status=${JobStatus[j.job.status]} deadline=${
        j.job.deadline ? j.job.deadline - baseTime : 0n
      }`;
      await this.act("game.hold", label, who, gameAddr, gameI.encodeFunctionData("hold", [j.id, this.jobArg(j, tamper)]), 0n, ok, () => {
        j.disputes[Number(j.job.attempt)]++;
      });
    }

    async release(who: number, j: JobModel, attempt: number) {
      const ok = (j.disputes[attempt] ?? 0) > 0;
      const label = `${accounts[who].name}: game.release(${this.jobLabel(j, false)}, attempt ${attempt}) open=${j.disputes[attempt] ?? 0}`;
      await this.act("game.release", label, who, gameAddr, gameI.encodeFunctionData("release", [j.id, attempt]), 0n, ok, () => {
        j.disputes[attempt]--;
      });
    }

    /** The node loses a dispute; `job` is what the game passes back (current, stale or tampered). */
    async nodeLost(who: number, j: JobModel, job: Job, to: number) {
      const attempt = Number(job.attempt);
      const ok = (j.disputes[attempt] ?? 0) > 0;
      const current = hashJob(job) === j.hash && j.job.status === JobStatus.Submitted;
      const label = `${accounts[who].name}: game.nodeLost(${this.jobLabel(j, false)}, attempt ${attempt} ${current ? "current" : "stale"}, to ${
        accounts[to].name
      }) open=${j.disputes[attempt] ?? 0}`;
      await this.act("game.nodeLost", label, who, gameAddr, gameI.encodeFunctionData("nodeLost", [j.id, job, accounts[to].address]), 0n, ok, async (r, t) => {
        j.disputes[attempt]--;
        if (!current) {
          this.eq(
            r.logs.some((l) => l.topics[0] === reopenedTopic),
            false,
            `${label}: a stale or tampered job was reopened`
          );
          this.outcome("staleNodeLost");
          return;
        }
        const nodeIdx = this.indexOf(j.job.node);
        const node = this.model[nodeIdx];
        const c = j.job.collateral;
        const toRequester = accounts[to].address === j.job.requester;
        this.setJob(j, await this.fold(r, j, this.reopened(j.job, t, true), label));
        j.barred.add(nodeIdx);
        node.locked -= c;
        node.owed -= c;
        this.model[to].stakingCredits += c;
        this.model[to].owed += c;
        // The mock records compensation only for collateral slashed to the requester, as the real game does.
        if (toRequester) j.compensation += c;
        this.outcome(toRequester ? "slashedToRequester" : "slashed");
      });
    }

    /**
     * `wrongOutput`: pass another input's output (checked only when the job has a consumer), or (-1) the job's
     * output less its last byte (the output size is always checked).
     */
    async finalize(who: number, j: JobModel, tamper: boolean, wrongOutput: number | undefined) {
      const t = this.now + 1n;
      const short = wrongOutput === -1;
      const p = prepared[wrongOutput === undefined || short ? j.input : wrongOutput];
      const open = j.disputes[Number(j.job.attempt)] ?? 0;
      const ok =
        !tamper &&
        this.known(j) &&
        j.job.status === JobStatus.Submitted &&
        t >= j.job.deadline &&
        open === 0 &&
        !short &&
        (j.job.consumer === ZERO_ADDRESS || p.outputRoot === j.job.outputRoot);
      const label =
        `${accounts[who].name}.finalize(${this.jobLabel(j, tamper)}${
          short ? ", output short by a byte" : wrongOutput !== undefined ? `, output of input ${wrongOutput}` : ""
        }) ` +
        `status=${JobStatus[j.job.status]} deadline=${j.job.deadline ? j.job.deadline - baseTime : 0n} open=${open} consumer=${
          j.job.consumer === ZERO_ADDRESS ? "0" : "classifier"
        }`;
      await this.act(
        "finalize",
        label,
        who,
        marketAddr,
        marketI.encodeFunctionData("finalize", [j.id, this.jobArg(j, tamper), short ? toHex(p.output.subarray(0, p.output.length - 1)) : p.outputHex]),
        0n,
        ok,
        async (r) => {
          const node = this.indexOf(j.job.node);
          const { fee, collateral } = j.job;
          this.setJob(j, await this.fold(r, j, { ...j.job, status: JobStatus.Finalized }, label));
          const m = this.model[node];
          m.locked -= collateral;
          m.free += collateral;
          m.owed += fee;
          // The actor never takes a 2300-gas transfer, so its fee is credited; EOAs are paid at once.
          if (accounts[node].isActor) m.marketCredits += fee;
          else m.balance += fee;
          this.outcome("finalized");
        }
      );
    }

    /** A call only the market, the game or the deployer may make, from an EOA: always rejected. */
    async unauthorized(who: number, which: number) {
      const j = this.jobs.length > 0 ? this.pick(this.jobs) : undefined;
      const id = j?.id ?? 1n;
      const me = accounts[who].address;
      const n0 = accounts[nodes[0]].address;
      const calls: [string, string, () => string][] = [
        [
          "market.holdFinality",
          marketAddr,
          () => (j ? marketI.encodeFunctionData("holdFinality", [id, j.job]) : marketI.encodeFunctionData("releaseFinality", [id, 1])),
        ],
        ["market.releaseFinality", marketAddr, () => marketI.encodeFunctionData("releaseFinality", [id, Number(j?.job.attempt ?? 1n)])],
        [
          "market.rejectResult",
          marketAddr,
          () => (j ? marketI.encodeFunctionData("rejectResult", [id, j.job]) : marketI.encodeFunctionData("releaseFinality", [id, 0])),
        ],
        ["staking.lock", stakingAddr, () => stakingI.encodeFunctionData("lock", [me, 1n])],
        ["staking.unlock", stakingAddr, () => stakingI.encodeFunctionData("unlock", [n0, 1n])],
        ["staking.forfeit", stakingAddr, () => stakingI.encodeFunctionData("forfeit", [n0, 1n, me])],
        ["staking.slash", stakingAddr, () => stakingI.encodeFunctionData("slash", [n0, 1n, me])],
        ["market.bindDisputeGame", marketAddr, () => marketI.encodeFunctionData("bindDisputeGame", [me])],
        ["market.recordCompensation", marketAddr, () => marketI.encodeFunctionData("recordCompensation", [id, 1n])],
        ["staking.bind", stakingAddr, () => stakingI.encodeFunctionData("bind", [me, me])],
      ];
      const [name, to, data] = calls[which % calls.length];
      await this.act("unauthorized", `${accounts[who].name}: ${name} (not allowed)`, who, to, data(), 0n, false, () => undefined);
    }

    // ------------------------------------------------------------------------------------------
    // Random choices
    // ------------------------------------------------------------------------------------------

    randomAmount(): bigint {
      const r = this.rng.float();
      if (r < 0.4) return this.wei(1, 100) * 10n ** 16n;
      if (r < 0.7) return MIN_COLLATERAL * this.wei(1, 10) + this.wei(0, 999);
      return this.wei(1, 2 ** 30) * this.wei(1, 2 ** 30);
    }

    /** A job, usually one for which `valid` holds. */
    pickJob(valid: (j: JobModel) => boolean): JobModel | undefined {
      if (this.jobs.length === 0) return undefined;
      const preferred = this.jobs.filter(valid);
      if (preferred.length > 0 && this.chance(0.85)) return this.pick(preferred);
      return this.pick(this.jobs);
    }

    /** An id no job has, with some job's struct: every action on it must revert. */
    unknownJob(): JobModel | undefined {
      if (this.jobs.length === 0) return undefined;
      const j = this.pick(this.jobs);
      return {
        id: BigInt(this.jobs.length + this.rng.int(1, 3)),
        job: j.job,
        hash: j.hash,
        versions: [],
        input: j.input,
        disputes: [0],
        compensation: 0n,
        barred: new Set(),
      };
    }

    /** Runs `f` on a job (usually one for which `valid` holds, sometimes none that exists), sometimes tampered. */
    async jobAction(valid: (j: JobModel) => boolean, f: (j: JobModel, tamper: boolean) => Promise<void>) {
      const j = this.chance(0.03) ? this.unknownJob() : this.pickJob(valid);
      if (!j) return this.randomPost();
      return f(j, this.chance(0.04));
    }

    async randomAction() {
      const rng = this.rng;
      const t = this.now + 1n;
      const { Open, Taken, Submitted } = JobStatus;
      const takeable = (j: JobModel) => j.job.status === Open && t <= j.job.expiresAt;
      const expirable = (j: JobModel) => j.job.status === Open && t > j.job.expiresAt;
      const submittable = (j: JobModel) => j.job.status === Taken && t <= j.job.deadline;
      const reclaimable = (j: JobModel) => j.job.status === Taken && t > j.job.deadline;
      const holdable = (j: JobModel) => j.job.status === Submitted && t < j.job.deadline;
      const disputedNow = (j: JobModel) => j.job.status === Submitted && j.disputes[Number(j.job.attempt)] > 0;
      const disputed = (j: JobModel) => j.disputes.some((n) => n > 0);
      const finalizable = (j: JobModel) => j.job.status === Submitted && t >= j.job.deadline && j.disputes[Number(j.job.attempt)] === 0;
      const any = (f: (j: JobModel) => boolean) => this.jobs.some(f);
      const unbonding = nodes.some((i) => this.model[i].unbonding > 0n);
      // Takeable jobs no node has the free stake for.
      const starved = this.jobs.some((j) => takeable(j) && !nodes.some((i) => this.model[i].free >= j.job.collateral));
      // Weights follow the state, so that most sequences go through every path; every action is still tried
      // now and then where it does not apply (and must revert).
      const w: [number, () => Promise<void>][] = [
        [starved ? 14 : 6, () => this.stake(this.pick(nodes), this.chance(0.06) ? 0n : this.randomAmount())],
        [3, () => this.randomUnstake()],
        [unbonding ? 4 : 1, () => this.withdrawUnstaked(this.chance(0.85) ? this.pick(nodes) : this.pick(eoas))],
        [this.jobs.filter((j) => isLive(j.job.status)).length < 2 ? 10 : 4, () => this.randomPost()],
        [
          any((j) => j.job.status === Open) ? 3 : 0.5,
          () =>
            this.jobAction(
              (j) => j.job.status === Open,
              (j, tamper) => this.cancelJob(this.chance(0.8) ? this.indexOf(j.job.requester) : this.pick(eoas), j, tamper)
            ),
        ],
        [any(expirable) ? 3 : 0.5, () => this.jobAction(expirable, (j, tamper) => this.expireJob(this.pick(eoas), j, tamper))],
        [any(takeable) ? 12 : 1, () => this.jobAction(takeable, (j, tamper) => this.takeJob(this.randomTaker(j), j, tamper))],
        [
          any(submittable) ? 14 : 1,
          () =>
            this.jobAction(submittable, (j, tamper) => {
              const who = j.job.status === Taken && this.chance(0.85) ? this.indexOf(j.job.node) : this.pick(nodes);
              const r = rng.float();
              return this.submitResult(who, j, tamper, r < 0.9 ? 0 : r < 0.95 ? 1 : 2, rng.int(0, prepared.length - 1));
            }),
        ],
        [any(reclaimable) ? 4 : 0.5, () => this.jobAction(reclaimable, (j, tamper) => this.reclaimJob(this.pick(eoas), j, tamper))],
        [any(holdable) ? 8 : 0.5, () => this.jobAction(holdable, (j, tamper) => this.hold(this.pick(challengers), j, tamper))],
        [
          any(disputed) ? 4 : 0.5,
          () =>
            this.jobAction(disputed, (j) => {
              const withOpen = j.disputes.map((n, a) => (n > 0 ? a : -1)).filter((a) => a >= 0);
              const attempt = withOpen.length > 0 && this.chance(0.85) ? this.pick(withOpen) : rng.int(0, Number(j.job.attempt) + 1);
              return this.release(this.pick(challengers), j, attempt);
            }),
        ],
        [
          any(disputedNow) ? 12 : any(disputed) ? 2 : 0.5,
          () =>
            this.jobAction(any(disputedNow) ? disputedNow : disputed, (j, tamper) => {
              const job = tamper ? this.jobArg(j, true) : this.chance(0.8) || j.versions.length < 2 ? j.job : this.pick(j.versions.slice(0, -1));
              const r = rng.float();
              const to = r < 0.4 ? this.indexOf(j.job.requester) : r < 0.9 ? this.pick(challengers) : this.pick(eoas);
              return this.nodeLost(this.pick(challengers), j, job, to);
            }),
        ],
        [
          any(finalizable) ? 10 : 1,
          () =>
            this.jobAction(finalizable, (j, tamper) =>
              this.finalize(this.pick(eoas), j, tamper, this.chance(0.1) ? rng.int(-1, prepared.length - 1) : undefined)
            ),
        ],
        [3, () => this.marketWithdraw(this.randomCreditor("market"))],
        [2, () => this.stakingWithdraw(this.randomCreditor("staking"))],
        [1, () => this.setAccepting(!this.accepting)],
        [1, () => this.unauthorized(this.pick(eoas), rng.int(0, 9))],
        [this.boundaries().length > 0 ? 5 : 0, () => this.boundaryProbe()],
      ];
      const total = w.reduce((s, [x]) => s + x, 0);
      let r = rng.float() * total;
      for (const [weight, f] of w) if ((r -= weight) < 0) return f();
      return w[w.length - 1][1]();
    }

    /** Pending time limits: each with the actions whose outcome turns on it. */
    boundaries(): { kind: string; at: bigint; what: string; probe: () => Promise<void> }[] {
      const out: { kind: string; at: bigint; what: string; probe: () => Promise<void> }[] = [];
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
          const node = this.indexOf(j.job.node);
          out.push({
            kind: "delivery",
            at: j.job.deadline,
            what: `job ${j.id} delivery deadline`,
            probe: () => (this.chance(0.5) ? this.submitResult(node, j, false, 0, 0) : this.reclaimJob(this.pick(eoas), j, false)),
          });
        } else if (s === JobStatus.Submitted) {
          out.push({
            kind: "challenge",
            at: j.job.deadline,
            what: `job ${j.id} challenge deadline`,
            probe: () => (this.chance(0.5) ? this.hold(this.pick(challengers), j, false) : this.finalize(this.pick(eoas), j, false, undefined)),
          });
        }
      }
      for (const i of nodes) {
        if (this.model[i].unbonding > 0n)
          out.push({ kind: "unbonding", at: this.model[i].readyAt, what: `${accounts[i].name} unbonding readyAt`, probe: () => this.withdrawUnstaked(i) });
      }
      return out.filter((b) => b.at > this.now + 1n);
    }

    /** Usually a node with enough free stake that may take the job, if there is one; sometimes a barred one; otherwise any node or EOA. */
    randomTaker(j: JobModel): number {
      const able = nodes.filter((i) => this.model[i].free >= j.job.collateral && !j.barred.has(i));
      if (j.barred.size > 0 && this.chance(0.25)) return this.pick([...j.barred]);
      if (able.length > 0 && this.chance(0.7)) return this.pick(able);
      return this.chance(0.9) ? this.pick(nodes) : this.pick(eoas);
    }

    /** Time passes (nothing is sent): often to just before, at or just after a pending deadline. */
    timeJump() {
      const rng = this.rng;
      if (rng.float() < 0.35) {
        // The next transaction will run at target - 1, target or target + 1.
        const targets: bigint[] = [];
        for (const j of this.jobs) {
          if (j.job.status === JobStatus.Open) targets.push(j.job.expiresAt);
          if (isHeld(j.job.status)) targets.push(j.job.deadline);
        }
        for (const m of this.model) if (m.unbonding > 0n) targets.push(m.readyAt);
        // One of the two nearest, so that a sequence does not skip over everything at once.
        const future = targets.filter((x) => x > this.now + 1n).sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
        if (future.length > 0) {
          const target = future[rng.int(0, Math.min(1, future.length - 1))] + BigInt(rng.int(-1, 1));
          this.log.push(`[time] next transaction at t=${target - baseTime}`);
          this.now = target - 1n;
          return;
        }
      }
      const p = rng.float();
      const dt =
        p < 0.6
          ? rng.int(1, 300)
          : p < 0.72
          ? CONFIG.deliveryWindow + rng.int(-30, 300)
          : p < 0.87
          ? CONFIG.challengeWindow + rng.int(-30, 300)
          : p < 0.95
          ? CONFIG.reopenWindow + rng.int(0, 7200)
          : UNBONDING_DELAY + rng.int(-100, 1000);
      this.log.push(`[time] +${dt}s`);
      this.now += BigInt(Math.max(1, dt));
    }

    async randomUnstake() {
      const who = this.pick(nodes);
      const free = this.model[who].free;
      const r = this.rng.float();
      const amount = r < 0.05 ? 0n : r < 0.2 ? free + 1n + this.wei(0, 1000) * 10n ** 12n : r < 0.4 ? free : (free * this.wei(1, 100)) / 100n;
      return this.requestUnstake(who, amount);
    }

    async randomPost() {
      const t = this.now + 1n;
      const who = this.chance(0.85) ? this.pick(requesters) : this.pick(eoas);
      const consumer = this.chance(0.3) ? classifierAddr : ZERO_ADDRESS;
      const fee = this.chance(0.04) ? 0n : this.chance(0.1) ? this.wei(1, 1000) : this.wei(1, 1e9) * this.wei(1, 1e7);
      const collateral = this.chance(0.04)
        ? this.chance(0.5)
          ? MIN_COLLATERAL - this.wei(1, 1e9)
          : // The market's minimum but not the game's.
            CONFIG.minCollateral + this.wei(0, 1e9)
        : MIN_COLLATERAL + (this.chance(0.4) ? 0n : (MIN_COLLATERAL * this.wei(0, 20)) / 4n + this.wei(0, 999));
      const gasLimit = this.chance(0.04)
        ? BigInt(CONFIG.maxCallbackGasLimit) + this.wei(1, 1000)
        : consumer === ZERO_ADDRESS && this.chance(0.5)
        ? 0n
        : this.wei(0, 300_000);
      const e = this.rng.float();
      const expiresAt = e < 0.05 ? t - this.wei(0, 50) : e < 0.25 ? t + this.wei(1, 900) : t + this.wei(900, 30_000);
      await this.postJob(who, {
        fee,
        collateral,
        consumer,
        gasLimit,
        expiresAt,
        input: this.rng.int(0, prepared.length - 1),
        badInput: this.chance(0.02),
        badModel: this.chance(0.02),
      });
    }

    /** An account, usually one with credits in `where`. */
    randomCreditor(where: "market" | "staking"): number {
      const withCredits = accounts
        .map((a, i) => ((a.isEoa || a.isActor) && (where === "market" ? this.model[i].marketCredits : this.model[i].stakingCredits) > 0n ? i : -1))
        .filter((i) => i >= 0);
      if (withCredits.length > 0 && this.chance(0.8)) return this.pick(withCredits);
      return this.chance(0.3) ? actorIdx : this.pick(eoas);
    }

    // ------------------------------------------------------------------------------------------
    // Settling
    // ------------------------------------------------------------------------------------------

    async settle() {
      this.phase = "settle";
      if (!this.accepting) await this.setAccepting(true);
      // Close every game still open, on any attempt.
      for (const j of this.jobs) for (let a = 1; a < j.disputes.length; a++) while (j.disputes[a] > 0) await this.release(this.pick(challengers), j, a);
      this.now += BigInt(CONFIG.challengeWindow + CONFIG.deliveryWindow + CONFIG.reopenWindow);
      this.log.push("[time] past every window");
      // End every job.
      for (const j of this.jobs) {
        for (let guard = 0; isLive(j.job.status); guard++) {
          if (guard > 3) throw new Error(this.ctx(`job ${j.id} does not settle`));
          if (j.job.status === JobStatus.Taken) await this.reclaimJob(this.pick(eoas), j, false);
          else if (j.job.status === JobStatus.Submitted) await this.finalize(this.pick(eoas), j, false, undefined);
          else if (this.now + 1n > j.job.expiresAt && this.chance(0.5)) await this.expireJob(this.pick(eoas), j, false);
          else await this.cancelJob(this.indexOf(j.job.requester), j, false);
        }
      }
      for (let i = 0; i < accounts.length; i++) this.eq(this.model[i].locked, 0n, `${accounts[i].name} has locked stake after every job ended`);
      // Unstake everything, wait out the delay (it also covers every earlier request), withdraw everything.
      for (const i of nodes) if (this.model[i].free > 0n) await this.requestUnstake(i, this.model[i].free);
      this.now += BigInt(UNBONDING_DELAY);
      this.log.push("[time] past the unbonding delay");
      for (let i = 0; i < accounts.length; i++) {
        if (this.model[i].unbonding > 0n) await this.withdrawUnstaked(i);
        if (this.model[i].marketCredits > 0n) await this.marketWithdraw(i);
        if (this.model[i].stakingCredits > 0n) await this.stakingWithdraw(i);
      }
      // Both contracts are empty and every account got exactly what it is owed.
      const c = this.chain;
      this.eq(c.marketBalance, 0n, "JobMarket balance after settling");
      this.eq(c.stakingBalance, 0n, "Staking balance after settling");
      let owedSum = 0n;
      for (let i = 0; i < accounts.length; i++) {
        const m = this.model[i];
        const n = accounts[i].name;
        this.eq(c.marketCredits[i], 0n, `${n}'s market credits after settling`);
        this.eq(c.stakingCredits[i], 0n, `${n}'s staking credits after settling`);
        this.eq(c.free[i] + c.locked[i] + c.unbonding[i], 0n, `${n}'s stake after settling`);
        this.eq(c.balances[i] - baseState.balances[i] + m.gas, m.owed, `${n}'s balance change + gas != what it is owed`);
        owedSum += m.owed;
      }
      // Fees go from requesters to nodes and collateral from nodes to requesters and challengers: nothing is made or lost.
      this.eq(owedSum, 0n, "Σ owed over all accounts");
    }

    async run() {
      await rpc("evm_setAutomine", [false]);
      const n = this.rng.int(MIN_ACTIONS, MAX_ACTIONS);
      this.crossCheckAt = this.rng.int(1, n);
      // About one action in six lets time pass; the rest are transactions.
      await this.runSteps(n, 1 / 6);
    }
  }

  it(`holds over ${SEQUENCES} seeded random sequences (seeds ${FIRST_SEED}..${FIRST_SEED + SEQUENCES - 1})`, async () => {
    const ms = await runSeeds(base, FIRST_SEED, SEQUENCES, (seed) => new Sequence(seed).run());
    const a = stats.actions;
    const line = summaryLine;
    line(
      `${stats.sequences} sequences, random actions per sequence min ${Math.min(...a)} / mean ${(a.reduce((s, x) => s + x, 0) / a.length).toFixed(
        1
      )} / max ${Math.max(...a)} ` +
        `(${stats.timeJumps} of them time jumps, ${stats.boundaryProbes} a jump to a time limit ± 1 s and the action it decides), then ${stats.settleTxs} settling transactions`
    );
    line(
      `${stats.txs} transactions, ${stats.expectedReverts} reverted as expected; ${(ms / 1000).toFixed(1)} s, ${(ms / stats.sequences).toFixed(
        0
      )} ms per sequence`
    );
    line(byKindLine(stats));
    line(outcomesLine(stats));
    expect(stats.sequences).to.equal(SEQUENCES);
  });
});
