import { type Log, parseEventLogs } from "viem";
import { jobMarketAbi } from "../abi";
import { type Job, applyJobEvent, toJobEvent } from "../jobState";

/** The market events among `logs` (a receipt's, say) folded into the job they change, starting from `job`. */
export function jobFromLogs(logs: readonly Log[], job?: Job): { jobId: bigint; job: Job } {
  let jobId: bigint | undefined;
  let current = job;
  for (const log of parseEventLogs({ abi: jobMarketAbi, logs: logs as Log[] })) {
    const change = toJobEvent(log.eventName, log.args as unknown as Record<string, unknown>);
    if (!change) continue;
    jobId = change.jobId;
    current = applyJobEvent(current, change.event);
  }
  if (jobId === undefined || !current) throw new Error("no job event among the logs");
  return { jobId, job: current };
}
