import { type Address, type Hash, type Hex, encodeEventTopics, formatLog, numberToHex, parseEventLogs, toEventSelector } from "viem";
import { jobMarketAbi } from "../core/abi";
import { fromHex, toHex } from "../core/bytes";
import { activationTree } from "../core/commitments";
import { JOB_EVENTS, type Job, JobStatus, applyJobEvent, hashJob, toJob, toJobEvent } from "../core/jobState";
import type { RefutePublicClient } from "../core/chain/rpcClients";
import { JobHashMismatchError, JobHistoryError, JobNotFoundError } from "./errors";

/**
 * One job's history read from the market's events and folded into the current job with
 * core/jobState.ts, then checked against the hash the market stores, so nothing the RPC says about
 * the job is taken on trust: the job must hash to `jobHash(jobId)` and the input and output bytes
 * must have the roots the job commits to.
 */

/** A market event of one job, decoded, with where it is on chain. */
export interface JobLog {
  readonly eventName: (typeof JOB_EVENTS)[number];
  readonly args: Readonly<Record<string, unknown>>;
  readonly blockNumber: bigint;
  readonly logIndex: number;
  readonly transactionHash: Hash;
}

/** A job as of one block, with the events it was rebuilt from. */
export interface JobState {
  readonly jobId: bigint;
  readonly job: Job;
  /** The input bytes from JobPosted (checked against `job.inputRoot`). */
  readonly input: Hex;
  /** The job's market events, in chain order. */
  readonly logs: readonly JobLog[];
  /** The block the state is read at. */
  readonly blockNumber: bigint;
}

/** A submitted result: the soft result of its attempt. */
export interface JobResult {
  readonly jobId: bigint;
  readonly attempt: bigint;
  readonly node: Address;
  /** The model's output, one int8 per element (checked against `outputRoot`). */
  readonly output: Int8Array;
  readonly outputHex: Hex;
  readonly traceRoot: Hex;
  readonly outputRoot: Hex;
  /** End of the challenge window (unix seconds). */
  readonly challengeDeadline: bigint;
  readonly blockNumber: bigint;
  readonly transactionHash: Hash;
}

/** A finalised result: the submitted result of the attempt that was finalised, and how finalisation went. */
export interface FinalResult extends JobResult {
  readonly feePaid: boolean;
  readonly callbackSucceeded: boolean;
  readonly finalizedBlockNumber: bigint;
  readonly finalizedTransactionHash: Hash;
}

/** topic0 of every event that changes a job. */
const JOB_EVENT_SELECTORS = JOB_EVENTS.map((name) => {
  const item = jobMarketAbi.find((x) => x.type === "event" && x.name === name);
  if (!item) throw new Error(`JobMarket ABI has no event ${name}: run npm run abi`);
  return toEventSelector(item as Parameters<typeof toEventSelector>[0]);
});

/** Merkle root of bytes as the market computes it on-chain (LibMerkle.rootOfBytes). */
function rootOfBytes(hex: Hex): Hex {
  const bytes = fromHex(hex);
  return toHex(activationTree(new Int8Array(bytes.buffer, bytes.byteOffset, bytes.length)).root);
}

/** The job-changing market events of `jobId` in blocks [fromBlock, toBlock], in chain order. */
export async function fetchJobLogs(publicClient: RefutePublicClient, market: Address, jobId: bigint, fromBlock: bigint, toBlock: bigint): Promise<JobLog[]> {
  const [, jobTopic] = encodeEventTopics({ abi: jobMarketAbi, eventName: "JobTaken", args: { jobId } });
  const raw = await publicClient.request({
    method: "eth_getLogs",
    params: [{ address: market, topics: [JOB_EVENT_SELECTORS, jobTopic as Hex], fromBlock: numberToHex(fromBlock), toBlock: numberToHex(toBlock) }],
  });
  const parsed = parseEventLogs({ abi: jobMarketAbi, logs: raw.map((l) => formatLog(l)), eventName: [...JOB_EVENTS] });
  return parsed
    .map((l) => ({
      eventName: l.eventName,
      args: normaliseArgs(l.args as unknown as Record<string, unknown>),
      blockNumber: l.blockNumber,
      logIndex: l.logIndex,
      transactionHash: l.transactionHash,
    }))
    .sort((a, b) => (a.blockNumber === b.blockNumber ? a.logIndex - b.logIndex : a.blockNumber < b.blockNumber ? -1 : 1));
}

/** Decoded event arguments with every integer a bigint (viem gives numbers for narrow uints) and the job as a {@link Job}. */
function normaliseArgs(args: Record<string, unknown>): Record<string, unknown> {
  return Object.fromEntries(
    Object.entries(args).map(([k, v]) => [k, k === "job" ? toJob(v as Record<keyof Job, unknown>) : typeof v === "number" ? BigInt(v) : v]),
  );
}

/** Folds a job's events into the job (core/jobState.ts); checks that it starts with JobPosted and that the input has the job's input root. */
export function foldJobLogs(jobId: bigint, logs: readonly JobLog[]): { job: Job; input: Hex } {
  if (logs.length === 0 || logs[0].eventName !== "JobPosted") {
    throw new JobHistoryError(jobId, `its events do not start with JobPosted (first: ${logs[0]?.eventName ?? "none"}); the deployment's startBlock may be too late`);
  }
  let job: Job | undefined;
  for (const log of logs) {
    const change = toJobEvent(log.eventName, log.args as Record<string, unknown>);
    if (!change || change.jobId !== jobId) throw new JobHistoryError(jobId, `${log.eventName} in ${log.transactionHash} is not an event of this job`);
    job = applyJobEvent(job, change.event);
  }
  const input = logs[0].args.input as Hex;
  if (rootOfBytes(input) !== job!.inputRoot.toLowerCase()) throw new JobHistoryError(jobId, `the input in JobPosted does not have the job's input root ${job!.inputRoot}`);
  return { job: job!, input };
}

/**
 * The job as of `blockNumber` (default: the latest block), rebuilt from the market's events since
 * `fromBlock` and checked against `jobHash(jobId)` at that block.
 */
export async function loadJob(publicClient: RefutePublicClient, market: Address, jobId: bigint, fromBlock: bigint, blockNumber?: bigint): Promise<JobState> {
  const at = blockNumber ?? (await publicClient.getBlockNumber({ cacheTime: 0 }));
  const [onChain, logs] = await Promise.all([
    publicClient.readContract({ address: market, abi: jobMarketAbi, functionName: "jobHash", args: [jobId], blockNumber: at }),
    fetchJobLogs(publicClient, market, jobId, fromBlock, at),
  ]);
  if (/^0x0{64}$/.test(onChain)) throw new JobNotFoundError(jobId);
  const { job, input } = foldJobLogs(jobId, logs);
  const computed = hashJob(job);
  if (computed !== onChain) throw new JobHashMismatchError(jobId, computed, onChain, at);
  return { jobId, job, input, logs, blockNumber: at };
}

/** The result submitted for the job's current attempt, or null while there is none (open, taken, reopened, cancelled, expired). */
export function softResultOf(state: JobState): JobResult | null {
  const { job } = state;
  if (job.status !== JobStatus.Submitted && job.status !== JobStatus.Finalized) return null;
  const log = [...state.logs].reverse().find((l) => l.eventName === "ResultSubmitted" && l.args.attempt === job.attempt);
  if (!log) throw new JobHistoryError(state.jobId, `status ${JobStatus[job.status]} but no ResultSubmitted for attempt ${job.attempt}`);
  const a = log.args as { node: Address; attempt: bigint; traceRoot: Hex; outputRoot: Hex; challengeDeadline: bigint; output: Hex };
  if (rootOfBytes(a.output) !== job.outputRoot.toLowerCase()) throw new JobHistoryError(state.jobId, `the output in ResultSubmitted (${log.transactionHash}) does not have the job's output root ${job.outputRoot}`);
  const bytes = fromHex(a.output);
  return {
    jobId: state.jobId,
    attempt: a.attempt,
    node: a.node,
    output: new Int8Array(bytes.buffer, bytes.byteOffset, bytes.length),
    outputHex: a.output,
    traceRoot: a.traceRoot,
    outputRoot: a.outputRoot,
    challengeDeadline: a.challengeDeadline,
    blockNumber: log.blockNumber,
    transactionHash: log.transactionHash,
  };
}

/** The finalised result, or null while the job is not finalised. */
export function finalResultOf(state: JobState): FinalResult | null {
  if (state.job.status !== JobStatus.Finalized) return null;
  const soft = softResultOf(state)!;
  const log = state.logs.find((l) => l.eventName === "JobFinalized");
  if (!log) throw new JobHistoryError(state.jobId, "status Finalized but no JobFinalized event");
  const a = log.args as { feePaid: boolean; callbackSucceeded: boolean };
  return { ...soft, feePaid: a.feePaid, callbackSucceeded: a.callbackSucceeded, finalizedBlockNumber: log.blockNumber, finalizedTransactionHash: log.transactionHash };
}
