import type { Hex } from "viem";
import { JobStatus } from "../core/jobState";

/**
 * Errors of the dapp SDK. Each names the job and the values that explain it. Contract reverts are
 * {@link RefuteContractError}s (core/chain/contractError.ts), re-exported here.
 */
export { RefuteContractError, decodeError, revertDataOf } from "../core/chain/contractError";

/** Base class of the SDK's own errors. */
export class RefuteClientError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = new.target.name;
  }
}

/** The market has no such job (its stored hash is zero). */
export class JobNotFoundError extends RefuteClientError {
  constructor(readonly jobId: bigint) {
    super(`job ${jobId} does not exist on this market`);
  }
}

/** The job rebuilt from the market's events does not hash to what the market stores. */
export class JobHashMismatchError extends RefuteClientError {
  constructor(
    readonly jobId: bigint,
    readonly computed: Hex,
    readonly onChain: Hex,
    readonly blockNumber: bigint,
  ) {
    super(`job ${jobId}: the job rebuilt from the market's events hashes to ${computed}, but the market stores ${onChain} at block ${blockNumber} (the RPC's logs are incomplete or altered)`);
  }
}

/** The market's events for a job are incomplete (no JobPosted) or carry bytes that do not match their root. */
export class JobHistoryError extends RefuteClientError {
  constructor(
    readonly jobId: bigint,
    problem: string,
  ) {
    super(`job ${jobId}: ${problem}`);
  }
}

/** A wait ran past its deadline; names the job, what was awaited and where the job stood. */
export class WaitTimeoutError extends RefuteClientError {
  constructor(
    readonly jobId: bigint,
    readonly awaited: "soft" | "final",
    readonly timeoutMs: number,
    readonly lastStatus: JobStatus | undefined,
    cause?: unknown,
  ) {
    const where = lastStatus === undefined ? "its state could not be read" : `it is ${JobStatus[lastStatus]}`;
    super(`timed out after ${timeoutMs} ms waiting for the ${awaited} result of job ${jobId}: ${where}`, { cause });
  }
}

/** A job ended (cancelled or expired) without the awaited result; no result will come. */
export class JobEndedError extends RefuteClientError {
  constructor(
    readonly jobId: bigint,
    readonly status: JobStatus,
    readonly awaited: "soft" | "final",
  ) {
    super(`job ${jobId} is ${JobStatus[status]}: it will have no ${awaited} result`);
  }
}
