/** The Refute dapp SDK (client/README.md). */
export { RefuteClient, type FinalizableInfo, type FinalizeReturnType, type JobFinality, type PostJobParameters, type PostJobReturnType, type RefuteClientParameters, type StakeAccount, type WaitForOptions } from "./refuteClient";
export { type FinalResult, type JobLog, type JobResult, type JobState, fetchJobLogs, finalResultOf, foldJobLogs, loadJob, softResultOf } from "./jobHistory";
export { type JobUpdate, type WatchJobOptions, watchJob } from "./watchJob";
export { JobEndedError, JobHashMismatchError, JobHistoryError, JobNotFoundError, RefuteClientError, RefuteContractError, WaitTimeoutError, decodeError } from "./errors";
export { type HeldOutDigit, heldOutDigit } from "./mnistDigit";
export { type Deployment, type DeploymentParameters, parseDeployment, readDeployment } from "../core/chain/deployment";
export { connectRpc, walletFor } from "../core/chain/rpcClients";
export { type Job, JobStatus } from "../core/jobState";
