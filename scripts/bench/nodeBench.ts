import { parseEther, zeroAddress } from "viem";
import { jobMarketAbi, stakingAbi } from "../../core/abi";
import { int8Bytes, toHex } from "../../core/bytes";
import { send } from "../../core/chain/actor";
import { JobStatus } from "../../core/jobState";
import { loadMnist } from "../../core/mnist";
import { MNIST_MODEL_DIR, inputScaleOf, loadModelDir } from "../../core/modelFiles";
import { OrtTraceRunner } from "../../core/onnx/ortTraceRunner";
import { quantiseInput } from "../../core/quantise";
import { Metrics } from "../../core/service/metrics";
import { NodeOperator } from "../../node/nodeOperator";
import { inProcessChain } from "./inProcessChain";
import { fmt, table, timeMs } from "./timing";

export interface ThroughputRun {
  readonly jobs: number;
  readonly seconds: number;
  readonly jobsPerSecond: number;
  readonly ticks: number;
}

/**
 * Jobs per second one node operator sustains: N MNIST jobs posted at once on Hardhat's in-process chain,
 * the real NodeOperator (onnxruntime, trace commitment, take and submit transactions, its chain index)
 * ticking until every job carries its result. The chain mines each transaction at once, so this is
 * the node's own ceiling, not a public chain's block rate.
 */
export async function benchNodeThroughput(options: { quick: boolean }): Promise<{ table: string; results: ThroughputRun }> {
  const { deployment, accounts, actor } = await inProcessChain();
  const [, requester, nodeAccount] = accounts;
  const node = actor(nodeAccount);
  await send(node, { address: deployment.contracts.staking, abi: stakingAbi, functionName: "stake", value: parseEther("1000") });
  const files = loadModelDir(MNIST_MODEL_DIR);
  const runner = await OrtTraceRunner.load(files.onnx);
  const operator = new NodeOperator(node, { models: [{ modelId: deployment.model.id, model: files.model, commitment: files.commitment, runner }], cheat: { kind: "none" } }, new Metrics());
  const n = options.quick ? 4 : 100;
  const digits = loadMnist().test.slice(0, n);
  const expiresAt = (await node.publicClient.getBlock()).timestamp + 3600n;
  for (const d of digits) {
    const input = toHex(int8Bytes(quantiseInput(d.pixels, inputScaleOf(files))));
    await send(actor(requester), { address: deployment.contracts.jobMarket, abi: jobMarketAbi, functionName: "postJob", args: [deployment.model.id, input, zeroAddress, 0, deployment.parameters.minCollateral, Number(expiresAt)], value: parseEther("0.001") });
  }
  let ticks = 0;
  const run = await timeMs(async () => {
    for (;;) {
      await operator.tick();
      ticks++;
      const jobs = [...operator.index.jobs()];
      if (jobs.length === n && jobs.every((j) => j.job.status === JobStatus.Submitted)) return;
      if (ticks > 10) throw new Error("the node did not submit every job");
    }
  });
  await runner.release();
  const results = { jobs: n, seconds: run.ms / 1000, jobsPerSecond: n / (run.ms / 1000), ticks };
  return {
    results,
    table: table(["jobs posted", "node rounds", "time to submit all (s)", "jobs per second"], [[n, ticks, fmt(results.seconds), fmt(results.jobsPerSecond, 1)]]),
  };
}
