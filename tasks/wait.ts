import { task, types } from "hardhat/config";
import type { HardhatRuntimeEnvironment } from "hardhat/types";
import type { FinalResult, JobResult } from "../client/jobHistory";
import type { TaskIo } from "./common";

/**
 * `npx hardhat refute:wait --network localhost 1 --final`: waits for a job's soft result (a node
 * submitted it) or final result (its challenge window is over and it is finalised) through the SDK,
 * as `npm run cli -- wait` does, and prints it.
 */

export interface WaitTaskArgs {
  readonly jobId: string;
  readonly final: boolean;
  readonly finalize: boolean;
  readonly timeout: string;
  readonly deployment: string;
  readonly rpcUrl?: string;
  readonly privateKey?: string;
}

/** Seconds a finalisable result may wait for its node before the task says that nobody has finalised it. */
export const NOT_FINALISED_GRACE_S = 5;

task("refute:wait", "Waits for a job's soft result (or its final one, --final) and prints it")
  .addPositionalParam("jobId", "The job id", undefined, types.string)
  .addFlag("final", "Wait for the final result: the challenge window has to end and someone has to finalise it (the node that served it does)")
  .addFlag("finalize", "With --final: finalise it yourself once the window has ended and nobody has (one transaction)")
  .addOptionalParam("timeout", "Give up after this many seconds", "600", types.string)
  .addOptionalParam("deployment", "The deployment file", "deployment.json", types.string)
  .addOptionalParam("rpcUrl", "A JSON-RPC URL to use instead of --network's", undefined, types.string)
  .addOptionalParam("privateKey", "With --finalize: the key to send with (default: the network's first account; or set REFUTE_PRIVATE_KEY)", undefined, types.string)
  .setAction(async (args: WaitTaskArgs, hre) => refuteWait(args, hre));

/** The task's action: waits, prints the result on stdout (the CLI's JSON: output as int8 numbers with its argmax); returns it. */
export async function refuteWait(args: WaitTaskArgs, hre: HardhatRuntimeEnvironment, io?: TaskIo): Promise<JobResult | FinalResult> {
  const { consoleIo, connectChain, deploymentFor, runTask, senderOf, taskError } = await import("./common");
  const { parseUint } = await import("../core/chain/cliOptions");
  const { RefuteClient } = await import("../client/refuteClient");
  const { WaitTimeoutError } = await import("../client/errors");
  const { describeState, resultJson } = await import("../client/cliOutput");
  const { err, out } = io ?? consoleIo;
  return runTask(async () => {
    const jobId = parseUint("jobId", args.jobId);
    if (jobId === 0n) throw taskError("jobId must be at least 1 (job ids start at 1)");
    if (args.finalize && !args.final) throw taskError("--finalize goes with --final");
    if (args.privateKey !== undefined && !args.finalize) throw taskError("--private-key goes with --finalize (refute:wait sends nothing otherwise)");
    const timeoutS = parseUint("--timeout", args.timeout);
    const chain = await connectChain(hre, args);
    const deployment = await deploymentFor(args.deployment, chain);
    const client = new RefuteClient({ publicClient: chain.clients.publicClient, walletClient: args.finalize ? await senderOf(chain, args) : undefined, deployment });
    const awaited = args.final ? "final" : "soft";
    err(`waiting up to ${timeoutS} s for the ${awaited} result of job ${jobId}`);
    let lastLine = "";
    const options = {
      timeoutMs: Number(timeoutS) * 1000,
      onProgress: ({ state }: { state: Parameters<typeof describeState>[0] }) => {
        const line = describeState(state);
        // The block number changes at each block: say only what changed about the job.
        const key = line.replace(/ at block \d+/, "");
        if (key !== lastLine) err(line);
        lastLine = key;
      },
      finalize: args.finalize,
      graceSeconds: args.finalize ? 0 : NOT_FINALISED_GRACE_S,
      onFinalizable: (f: { since: bigint; overdueSeconds: bigint; finalizing: boolean }) =>
        err(
          f.finalizing
            ? `job ${jobId}: challenge window ended at ${iso(f.since)} with no dispute open; finalising it`
            : `job ${jobId}: its challenge window ended at ${iso(f.since)} (${f.overdueSeconds} s ago) with no dispute open, but nobody has finalised it yet; anyone may: npx hardhat refute:wait ${jobId} --final --finalize`,
        ),
    };
    try {
      const result = args.final ? await client.waitFor(jobId, "final", options) : await client.waitFor(jobId, "soft", options);
      out(JSON.stringify(resultJson(result)));
      return result;
    } catch (e) {
      if (!(e instanceof WaitTimeoutError) || !args.final) throw e;
      const f = await client.finality(jobId).catch(() => undefined);
      if (f?.kind === "finalizable") throw taskError(`${e.message}; its challenge window is over and nobody has finalised it: rerun with --finalize`);
      if (f?.kind === "in window") throw taskError(`${e.message}, in its challenge window until ${iso(f.endsAt)} (${f.secondsLeft} s more); wait with a --timeout past it`);
      if (f?.kind === "disputed") throw taskError(`${e.message}, with ${f.openDisputes} dispute game(s) open on its result`);
      throw e;
    }
  });
}

function iso(unixSeconds: bigint): string {
  return new Date(Number(unixSeconds) * 1000).toISOString();
}
