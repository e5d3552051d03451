import { encodeAbiParameters, keccak256 } from "viem";

/**
 * The job market's job, as TypeScript sees it, and the rules that rebuild it from the market's
 * events. The market stores only keccak256(abi.encode(job)) (contracts/JobMarket.sol); whoever acts
 * on a job passes it back, so nodes, watchers and the SDK fold the logs with {@link applyJobEvent} and
 * can check the result with {@link hashJob} against `jobHash(jobId)`.
 */
export enum JobStatus {
  None = 0,
  Open = 1,
  Taken = 2,
  Submitted = 3,
  Finalized = 4,
  Cancelled = 5,
  Expired = 6,
}

type Address = `0x${string}`;
type Bytes32 = `0x${string}`;

export interface Job {
  readonly requester: Address;
  readonly modelId: bigint;
  readonly outputSize: bigint;
  readonly layerCount: bigint;
  readonly consumer: Address;
  readonly callbackGasLimit: bigint;
  readonly fee: bigint;
  readonly collateral: bigint;
  readonly expiresAt: bigint;
  readonly deadline: bigint;
  readonly attempt: bigint;
  readonly missedDeadlines: bigint;
  readonly status: JobStatus;
  readonly node: Address;
  readonly inputRoot: Bytes32;
  readonly traceRoot: Bytes32;
  readonly outputRoot: Bytes32;
}

/** The Solidity struct `Job` (contracts/types/Job.sol) as an ABI tuple, field for field. */
export const JOB_ABI = {
  type: "tuple",
  components: [
    { name: "requester", type: "address" },
    { name: "modelId", type: "uint64" },
    { name: "outputSize", type: "uint32" },
    { name: "layerCount", type: "uint16" },
    { name: "consumer", type: "address" },
    { name: "callbackGasLimit", type: "uint32" },
    { name: "fee", type: "uint96" },
    { name: "collateral", type: "uint96" },
    { name: "expiresAt", type: "uint40" },
    { name: "deadline", type: "uint40" },
    { name: "attempt", type: "uint32" },
    { name: "missedDeadlines", type: "uint32" },
    { name: "status", type: "uint8" },
    { name: "node", type: "address" },
    { name: "inputRoot", type: "bytes32" },
    { name: "traceRoot", type: "bytes32" },
    { name: "outputRoot", type: "bytes32" },
  ],
} as const;

const ZERO_ADDRESS: Address = "0x0000000000000000000000000000000000000000";
const ZERO_BYTES32: Bytes32 = `0x${"00".repeat(32)}`;

/**
 * A {@link Job} as viem encodes the Solidity struct (a contract argument or abi.encode): fields of
 * 48 bits or fewer (uint16, uint32, uint40, the uint8 status) as numbers, wider ones as bigints.
 */
export function toJobArgument(job: Job) {
  return {
    ...job,
    outputSize: Number(job.outputSize),
    layerCount: Number(job.layerCount),
    callbackGasLimit: Number(job.callbackGasLimit),
    expiresAt: Number(job.expiresAt),
    deadline: Number(job.deadline),
    attempt: Number(job.attempt),
    missedDeadlines: Number(job.missedDeadlines),
    status: Number(job.status),
  };
}

/** keccak256(abi.encode(job)): what the market stores. */
export function hashJob(job: Job): Bytes32 {
  return keccak256(encodeAbiParameters([JOB_ABI], [toJobArgument(job)]));
}

/** Converts a decoded Job (numbers or bigints, by library) into a {@link Job}. */
export function toJob(raw: Record<keyof Job, unknown>): Job {
  const big = (v: unknown) => BigInt(v as bigint | number);
  return {
    requester: raw.requester as Address,
    modelId: big(raw.modelId),
    outputSize: big(raw.outputSize),
    layerCount: big(raw.layerCount),
    consumer: raw.consumer as Address,
    callbackGasLimit: big(raw.callbackGasLimit),
    fee: big(raw.fee),
    collateral: big(raw.collateral),
    expiresAt: big(raw.expiresAt),
    deadline: big(raw.deadline),
    attempt: big(raw.attempt),
    missedDeadlines: big(raw.missedDeadlines),
    status: Number(raw.status) as JobStatus,
    node: raw.node as Address,
    inputRoot: raw.inputRoot as Bytes32,
    traceRoot: raw.traceRoot as Bytes32,
    outputRoot: raw.outputRoot as Bytes32,
  };
}

/** A market event that changes a job, with its decoded arguments. */
export type JobEvent =
  | { eventName: "JobPosted"; args: { job: Job } }
  | { eventName: "JobCancelled" | "JobExpired"; args: Record<string, never> }
  | { eventName: "JobTaken"; args: { node: Address; attempt: bigint; deadline: bigint } }
  | { eventName: "ResultSubmitted"; args: { attempt: bigint; traceRoot: Bytes32; outputRoot: Bytes32; challengeDeadline: bigint } }
  | { eventName: "JobReopened"; args: { expiresAt: bigint; byDispute: boolean } }
  | { eventName: "JobFinalized"; args: Record<string, unknown> };

/** Names of the events {@link applyJobEvent} folds. */
export const JOB_EVENTS = ["JobPosted", "JobCancelled", "JobExpired", "JobTaken", "ResultSubmitted", "JobReopened", "JobFinalized"] as const;

/**
 * A decoded market log (event name and named arguments, as viem or ethers give them) as a
 * {@link JobEvent} for `jobId`, with every integer as a bigint; undefined for other events.
 */
export function toJobEvent(eventName: string, args: Record<string, unknown>): { jobId: bigint; event: JobEvent } | undefined {
  if (!(JOB_EVENTS as readonly string[]).includes(eventName)) return undefined;
  const normalised: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(args)) normalised[k] = typeof v === "number" ? BigInt(v) : v;
  if (eventName === "JobPosted") normalised.job = toJob(args.job as Record<keyof Job, unknown>);
  return { jobId: BigInt(args.jobId as bigint), event: { eventName, args: normalised } as JobEvent };
}

/** The job after `event`, mirroring the market's state transitions exactly. */
export function applyJobEvent(job: Job | undefined, event: JobEvent): Job {
  if (event.eventName === "JobPosted") return event.args.job;
  if (!job) throw new Error(`${event.eventName} for a job that was never posted`);
  switch (event.eventName) {
    case "JobCancelled":
      return { ...job, status: JobStatus.Cancelled };
    case "JobExpired":
      return { ...job, status: JobStatus.Expired };
    case "JobTaken":
      return { ...job, status: JobStatus.Taken, node: event.args.node, attempt: event.args.attempt, deadline: event.args.deadline };
    case "ResultSubmitted":
      return { ...job, status: JobStatus.Submitted, traceRoot: event.args.traceRoot, outputRoot: event.args.outputRoot, deadline: event.args.challengeDeadline };
    case "JobReopened":
      return {
        ...job,
        status: JobStatus.Open,
        node: ZERO_ADDRESS,
        deadline: 0n,
        traceRoot: ZERO_BYTES32,
        outputRoot: ZERO_BYTES32,
        expiresAt: event.args.expiresAt,
        missedDeadlines: event.args.byDispute ? job.missedDeadlines : job.missedDeadlines + 1n,
      };
    case "JobFinalized":
      return { ...job, status: JobStatus.Finalized };
  }
}

// ------------------------------------------------------------------------------------------------
// Time: which block time to judge a job by
// ------------------------------------------------------------------------------------------------

/** This machine's clock in unix seconds (whole seconds, as block timestamps). */
export function wallClockSeconds(nowMs: number = Date.now()): bigint {
  return BigInt(Math.floor(nowMs / 1000));
}

/**
 * The block time a transaction sent now would see, as well as it can be known without sending one:
 * the latest of
 *  - the latest block's timestamp + 1 (timestamps strictly increase);
 *  - this machine's clock: on a chain that mines only when a transaction arrives (plain
 *    `npx hardhat node`) the latest block can be minutes old while the next one takes the time it is
 *    mined, so judged by the latest block alone a window there would never be seen to end;
 *  - the pending block's timestamp, where the RPC gives one: the time the node itself would stamp
 *    the next block with (Hardhat's clock runs ahead of the wall clock by a second for every block
 *    mined in the same second, so after a burst of transactions it can be many seconds ahead).
 * On a chain with regular blocks the three agree to within a block interval and the clocks' skew.
 *
 * It decides whether an action is worth *trying*: a result is finalised, a job reclaimed or expired,
 * a game timed out once this time has reached the contract's bound, and a job taken or a result
 * submitted only while it has not passed it. Where it runs ahead of the chain (this machine's clock
 * is fast) it is early for the first kind, so those are simulated against the pending block before
 * they are sent (a premature try costs an eth_call, never gas); for the second kind it errs on the
 * safe side.
 */
export function nextBlockTime(latestBlockTime: bigint, wallClock: bigint, pendingBlockTime?: bigint): bigint {
  let t = latestBlockTime + 1n;
  if (wallClock > t) t = wallClock;
  if (pendingBlockTime !== undefined && pendingBlockTime > t) t = pendingBlockTime;
  return t;
}

// The market's time checks (contracts/JobMarket.sol), for a block with timestamp `t`. Each holds
// exactly when the market's own check would pass; status and caller checks are the market's too.

/** takeJob: an open job, not yet expired (block.timestamp ≤ expiresAt). */
export function mayTake(job: Job, t: bigint): boolean {
  return job.status === JobStatus.Open && t <= job.expiresAt;
}

/** expireJob: an open job past its expiry (block.timestamp > expiresAt). */
export function mayExpire(job: Job, t: bigint): boolean {
  return job.status === JobStatus.Open && t > job.expiresAt;
}

/** submitResult: a taken job within its delivery deadline (block.timestamp ≤ deadline). */
export function maySubmit(job: Job, t: bigint): boolean {
  return job.status === JobStatus.Taken && t <= job.deadline;
}

/** reclaimJob: a taken job whose node missed its delivery deadline (block.timestamp > deadline). */
export function mayReclaim(job: Job, t: bigint): boolean {
  return job.status === JobStatus.Taken && t > job.deadline;
}

/** DisputeGame.challenge (holdFinality): a submitted result inside its challenge window (block.timestamp < deadline). */
export function mayChallenge(job: Job, t: bigint): boolean {
  return job.status === JobStatus.Submitted && t < job.deadline;
}

/** finalize: a submitted result whose challenge window has ended (block.timestamp ≥ deadline); no dispute may be open. */
export function mayFinalize(job: Job, t: bigint, openDisputes = 0n): boolean {
  return job.status === JobStatus.Submitted && t >= job.deadline && openDisputes === 0n;
}

/**
 * The custom errors a time-gated call reverts with while the chain's clock has not reached its time
 * (finalize or reclaimJob before the deadline, expireJob before the expiry, DisputeGame.timeout
 * before the clock ran out): "not yet", worth trying again later.
 */
export const NOT_DUE_ERRORS: ReadonlySet<string> = new Set(["JobMarketDeadlineNotReached", "JobMarketNotExpired", "DisputeGameClockNotExpired", "GraphGameClockNotExpired"]);

/** Where a job stands on its way to a final result, at block time `t`. */
export type Finality =
  /** Finalised: the result is final. */
  | { readonly kind: "final" }
  /** Cancelled or expired: no result will come. */
  | { readonly kind: "ended"; readonly status: JobStatus }
  /** Open or taken: no result submitted yet. */
  | { readonly kind: "awaiting result"; readonly status: JobStatus }
  /** Submitted, inside its challenge window: final at the earliest at `endsAt`. */
  | { readonly kind: "in window"; readonly endsAt: bigint; readonly secondsLeft: bigint }
  /** Submitted, with dispute games open on it: final only if the node wins them all. */
  | { readonly kind: "disputed"; readonly openDisputes: bigint; readonly endsAt: bigint }
  /** Submitted, window over, no dispute open: anyone may finalise it now (JobMarket.finalize). */
  | { readonly kind: "finalizable"; readonly since: bigint; readonly overdueSeconds: bigint };

/** {@link Finality} of `job` at block time `t` (see {@link nextBlockTime}) with `openDisputes` games open on its attempt. */
export function finalityAt(job: Job, t: bigint, openDisputes = 0n): Finality {
  switch (job.status) {
    case JobStatus.Finalized:
      return { kind: "final" };
    case JobStatus.Cancelled:
    case JobStatus.Expired:
      return { kind: "ended", status: job.status };
    case JobStatus.Submitted:
      if (openDisputes > 0n) return { kind: "disputed", openDisputes, endsAt: job.deadline };
      if (t >= job.deadline) return { kind: "finalizable", since: job.deadline, overdueSeconds: t - job.deadline };
      return { kind: "in window", endsAt: job.deadline, secondsLeft: job.deadline - t };
    default:
      return { kind: "awaiting result", status: job.status };
  }
}
