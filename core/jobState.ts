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
