import type { Job } from "../jobState";

/**
 * A {@link Job} as viem encodes the Solidity struct in a contract call: fields of 48 bits or fewer
 * (uint16, uint32, uint40, the uint8 status) as numbers, wider ones as bigints.
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
