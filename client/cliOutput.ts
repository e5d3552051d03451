import { toJsonValue } from "../core/service/json";
import { argmax } from "../core/argmax";
import { JobStatus } from "../core/jobState";
import type { FinalResult, JobResult, JobState } from "./jobHistory";

/**
 * What the CLI prints: one JSON line on stdout for programs (every integer a decimal string, outputs
 * as arrays of int8 numbers with their argmax), and human progress lines on stderr.
 */

/** A result as JSON: the output as int8 numbers and the index of the largest (the class, for a classifier). */
export function resultJson(r: JobResult | FinalResult | null): unknown {
  if (!r) return null;
  return toJsonValue({ ...r, output: Array.from(r.output), argmax: argmax(r.output) });
}

/** A job's state as JSON: the job with its status by name, and its soft and final results. */
export function stateJson(state: JobState, soft: JobResult | null, final: FinalResult | null): unknown {
  return toJsonValue({
    jobId: state.jobId,
    status: JobStatus[state.job.status],
    blockNumber: state.blockNumber,
    job: { ...state.job, status: JobStatus[state.job.status] },
    softResult: resultJson(soft),
    finalResult: resultJson(final),
  });
}

function when(unixSeconds: bigint): string {
  return new Date(Number(unixSeconds) * 1000).toISOString();
}

/** One progress line for the job as it is now. */
export function describeState(state: JobState): string {
  const { job, jobId } = state;
  const head = `job ${jobId} at block ${state.blockNumber}: ${JobStatus[job.status]}`;
  switch (job.status) {
    case JobStatus.Open:
      return `${head}, waiting for a node until ${when(job.expiresAt)}`;
    case JobStatus.Taken:
      return `${head} by ${job.node} (attempt ${job.attempt}), result due by ${when(job.deadline)}`;
    case JobStatus.Submitted:
      return `${head} by ${job.node} (attempt ${job.attempt}), challenge window ends ${when(job.deadline)}`;
    default:
      return head;
  }
}
