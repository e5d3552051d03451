import type { Hex } from "viem";
import { jobMarketAbi } from "../../core/abi";
import { toHex } from "../../core/bytes";
import type { Deployment } from "../../core/chain/deployment";
import { toJobArgument } from "../../core/jobState";
import type { RefutePublicClient, RefuteWalletClient } from "../../core/chain/rpcClients";
import type { RefuteClient } from "../../client";
import { honestResult } from "./marketFixture";

/**
 * An honest node's side of a job in plain viem calls, for tests of the SDK and the CLI on a local
 * chain: take the job, run the reference model, submit the output with the trace proofs.
 */
export class ViemNode {
  constructor(
    readonly publicClient: RefutePublicClient,
    readonly wallet: RefuteWalletClient,
    readonly deployment: Deployment,
    /** Reads jobs (the node folds the market's events like any SDK user). */
    readonly reader: RefuteClient,
  ) {}

  private async confirm(tx: Promise<Hex>) {
    const receipt = await this.publicClient.waitForTransactionReceipt({ hash: await tx });
    if (receipt.status !== "success") throw new Error(`transaction ${receipt.transactionHash} reverted`);
    return receipt;
  }

  async take(jobId: bigint): Promise<void> {
    const open = (await this.reader.getJob(jobId)).job;
    await this.confirm(this.wallet.writeContract({ address: this.deployment.contracts.jobMarket, abi: jobMarketAbi, functionName: "takeJob", args: [jobId, toJobArgument(open)] }));
  }

  /** Submits the honest result of a job this node took; returns it. */
  async submit(jobId: bigint, input: Int8Array) {
    const taken = (await this.reader.getJob(jobId)).job;
    const r = honestResult(new Uint8Array(input.buffer, input.byteOffset, input.length));
    await this.confirm(
      this.wallet.writeContract({
        address: this.deployment.contracts.jobMarket,
        abi: jobMarketAbi,
        functionName: "submitResult",
        args: [jobId, toJobArgument(taken), toHex(r.output), r.traceRoot, r.inputProof, r.outputProof],
      }),
    );
    return r;
  }

  async serve(jobId: bigint, input: Int8Array) {
    await this.take(jobId);
    return this.submit(jobId, input);
  }
}
