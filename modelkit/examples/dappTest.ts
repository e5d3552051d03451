/**
 * The dapp author's Hardhat test of docs/models.md ("Testing a dapp against Refute"), run by
 * test/modelkit/docs.test.ts: Refute deployed on the test's chain, the author's model registered,
 * a node and a watcher served round by round, a job posted and its final result read.
 */
import hre from "hardhat";
import { type EIP1193Provider, parseEther } from "viem";
import { RefuteTestKit } from "../../testing/refuteTestKit";
import { inputScaleOf, loadModelDir, quantiseInput } from "../index";

export async function classifyOneFlower(modelDir: string, flower: number[]): Promise<number[]> {
  const kit = await RefuteTestKit.deploy(hre.network.provider as unknown as EIP1193Provider);
  const modelId = await kit.registerModel(modelDir);
  await kit.startNode({ models: [modelId] });
  kit.startWatcher({ models: [modelId] });

  const client = kit.client();
  const input = quantiseInput(flower, inputScaleOf(loadModelDir(modelDir)));
  const { jobId } = await client.postJob({ modelId, input, fee: parseEther("0.001"), collateral: await client.minCollateral(modelId) });
  await kit.serve(); // the node takes the job and submits; the watcher re-executes it
  await kit.increaseTime(kit.deployment.parameters.challengeWindow + 1n);
  await kit.serve(); // the node finalises
  const result = await client.finalResult(jobId);
  await kit.stop();
  return Array.from(result?.output ?? []);
}
