/**
 * Refute's Hardhat tasks, listed by `npx hardhat help` (docs/operations.md, "Hardhat tasks"):
 * refute:deploy, refute:post, refute:wait, refute:deploy-consumer and refute:call. Each module defines
 * its task and loads what it runs (viem, the SDK, the deployer) only when the task runs.
 */
import "./deploy";
import "./post";
import "./wait";
import "./consumer";

/** The tasks' names, as `npx hardhat help` lists them. */
export const REFUTE_TASKS = ["refute:deploy", "refute:post", "refute:wait", "refute:deploy-consumer", "refute:call"] as const;
