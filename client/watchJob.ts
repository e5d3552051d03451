import { decodeError } from "../core/chain/contractError";
import type { RefutePublicClient } from "../core/chain/rpcClients";
import { hashJob } from "../core/jobState";
import type { JobLog, JobState } from "./jobHistory";

/**
 * Watches one job by polling: at every new block it reloads the job from chain (events folded and
 * checked against the stored hash) and reports it when it changed. It keeps nothing it could lose:
 * each update is rebuilt from chain, and a failed read is retried at the next poll.
 */

export interface JobUpdate {
  readonly state: JobState;
  /** The job's events since the previous update (all of them in the first). */
  readonly newLogs: readonly JobLog[];
}

export interface WatchJobOptions {
  /** Poll interval in ms (default: the public client's pollingInterval). */
  readonly pollingIntervalMs?: number;
  /** Errors while reading or in `onUpdate`; the watch goes on. */
  readonly onError?: (error: Error) => void;
}

/**
 * Calls `onUpdate` with the job as it is now, then each time it changes, until the returned function
 * is called. `load` reads the job at a block (RefuteClient passes core of its getJob).
 */
export function watchJob(
  publicClient: RefutePublicClient,
  load: (blockNumber: bigint) => Promise<JobState>,
  onUpdate: (update: JobUpdate) => void,
  options: WatchJobOptions = {},
): () => void {
  const interval = options.pollingIntervalMs ?? publicClient.pollingInterval;
  let stopped = false;
  let timer: NodeJS.Timeout | undefined;
  let loadedAt: bigint | undefined;
  let lastKey: string | undefined;
  let lastCount = 0;

  const tick = async () => {
    try {
      const block = await publicClient.getBlockNumber({ cacheTime: 0 });
      if (!stopped && block !== loadedAt) {
        const state = await load(block);
        loadedAt = block;
        const key = `${state.logs.length}:${hashJob(state.job)}`;
        if (!stopped && key !== lastKey) {
          const newLogs = state.logs.length >= lastCount ? state.logs.slice(lastCount) : state.logs;
          lastKey = key;
          lastCount = state.logs.length;
          onUpdate({ state, newLogs });
        }
      }
    } catch (e) {
      if (!stopped) options.onError?.(decodeError(e));
    }
    if (!stopped) timer = setTimeout(tick, interval);
  };
  void tick();
  return () => {
    stopped = true;
    clearTimeout(timer);
  };
}
