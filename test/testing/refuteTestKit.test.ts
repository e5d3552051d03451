import { expect } from "chai";
import hre from "hardhat";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { type EIP1193Provider, parseEther, parseEventLogs } from "viem";
import { graphDisputesAbi, stakingAbi } from "../../core/abi";
import { writeGraphModelFolder } from "../../core/graph/modelFolder";
import { sizeOf } from "../../core/graph/program";
import { GraphTraceProvider } from "../../core/graph/traceProvider";
import { Rng } from "../../core/rng";
import { randomProgram } from "../graph/randomPrograms";
import { JobStatus } from "../../core/jobState";
import { importModel, writeModelFolder } from "../../core/modelImport/importModel";
import { readSamples } from "../../core/modelImport/samples";
import { inputScaleOf, loadModelDir } from "../../core/modelFiles";
import { quantiseInput } from "../../core/quantise";
import { runReference } from "../../core/referenceExecutor";
import { irisSplit, trainIris } from "../../scripts/train-iris";
import { RefuteTestKit } from "../../testing/refuteTestKit";

/**
 * The in-process helper a dapp author uses in their own Hardhat tests (docs/models.md): the system
 * deployed on the test's chain, a model of their own registered, and a node and a watcher run one
 * round at a time by `serve()`.
 */
describe("RefuteTestKit (testing/refuteTestKit.ts): Refute inside a Hardhat test", () => {
  let dir: string;
  let modelDir: string;
  const provider = () => hre.network.provider as unknown as EIP1193Provider;

  before(async () => {
    await hre.run("compile", { quiet: true });
    dir = mkdtempSync(path.join(os.tmpdir(), "refute-kit-"));
    trainIris(dir);
    modelDir = path.join(dir, "iris");
    const { initKeccak } = await import("../../core/keccak");
    await initKeccak();
    writeModelFolder(modelDir, importModel(readFileSync(path.join(dir, "float.onnx")), { name: "iris", calibration: readSamples(path.join(dir, "calibration.csv"), 4) }));
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  const flower = (k: number) => quantiseInput(irisSplit().heldOut[k].x, inputScaleOf(loadModelDir(modelDir)));

  it("serves a job of the author's own model and finalises it once the window has passed", async () => {
    const kit = await RefuteTestKit.deploy(provider());
    try {
      const modelId = await kit.registerModel(modelDir);
      await kit.startNode({ models: [modelId] });
      kit.startWatcher({ models: [modelId] });
      const client = kit.client();
      const input = flower(0);
      const { jobId } = await client.postJob({ modelId, input, fee: parseEther("0.001"), collateral: await client.minCollateral(modelId) });

      await kit.serve();
      expect((await client.getJob(jobId)).job.status).to.equal(JobStatus.Submitted);
      expect(await client.finalResult(jobId)).to.equal(null);

      await kit.increaseTime(kit.deployment.parameters.challengeWindow + 1n);
      await kit.serve();
      const final = await client.finalResult(jobId);
      const trace = runReference(loadModelDir(modelDir).model, input);
      expect(final && Array.from(final.output)).to.deep.equal(Array.from(trace[trace.length - 1]));
      expect(final?.feePaid).to.equal(true);
    } finally {
      await kit.stop();
    }
  });

  it("catches a node that cheats on it: the watcher disputes, the game is played out in serve(), the node is slashed", async () => {
    const kit = await RefuteTestKit.deploy(provider());
    try {
      const modelId = await kit.registerModel(modelDir);
      const cheater = kit.accounts[1];
      await kit.startNode({ models: [modelId], account: cheater, cheat: { kind: "wrong-output" } });
      kit.startWatcher({ models: [modelId] });
      const client = kit.client();
      const from = await kit.publicClient.getBlockNumber();
      const { jobId } = await client.postJob({ modelId, input: flower(1), fee: parseEther("0.001"), collateral: await client.minCollateral(modelId) });

      await kit.serve();
      const logs = await kit.publicClient.getLogs({ address: kit.deployment.contracts.staking, fromBlock: from });
      const slashed = parseEventLogs({ abi: stakingAbi, logs, eventName: "StakeSlashed" }).filter((e) => e.args.account === cheater);
      expect(slashed.length, "the cheating node's collateral is slashed").to.be.greaterThan(0);
      expect((await client.getJob(jobId)).job.status, "the job is open again for an honest node").to.equal(JobStatus.Open);
    } finally {
      await kit.stop();
    }
  });

  it("takes a graph program's folder too: a cheat on it is disputed in the graph game and slashed, and an honest node serves the job again", async () => {
    const kit = await RefuteTestKit.deploy(provider());
    try {
      const graphDir = path.join(dir, "graph");
      const program = randomProgram(new Rng(3), { ops: 5 });
      writeGraphModelFolder(graphDir, program);
      const modelId = await kit.registerModel(graphDir);
      const cheater = kit.accounts[1];
      await kit.startNode({ models: [modelId], account: cheater, cheat: { kind: "wrong-output" } });
      kit.startWatcher({ models: [modelId] });
      const client = kit.client();
      const input = new Rng(4).int8Array(sizeOf(program.inputShape));
      const from = await kit.publicClient.getBlockNumber();
      const { jobId } = await client.postJob({ modelId, input, fee: parseEther("0.001"), collateral: await client.minCollateral(modelId) });

      await kit.serve();
      const disputes = parseEventLogs({ abi: graphDisputesAbi, logs: await kit.publicClient.getLogs({ address: kit.deployment.contracts.graphDisputes, fromBlock: from }) });
      expect(disputes.filter((e) => e.eventName === "DisputeSettled").map((e) => e.args)).to.deep.include.members([{ gameId: disputes.find((e) => e.eventName === "DisputeOpened")!.args.gameId, jobId, asserterWon: false, resultRejected: true }]);
      const slashed = parseEventLogs({ abi: stakingAbi, logs: await kit.publicClient.getLogs({ address: kit.deployment.contracts.staking, fromBlock: from }), eventName: "StakeSlashed" });
      expect(slashed.filter((e) => e.args.account === cheater).length, "the cheating node's collateral is slashed").to.be.greaterThan(0);
      expect((await client.getJob(jobId)).job.status).to.equal(JobStatus.Open);

      await kit.startNode({ models: [modelId] });
      await kit.serve();
      await kit.increaseTime(kit.deployment.parameters.challengeWindow + 1n);
      await kit.serve();
      const final = await client.finalResult(jobId);
      expect(final && Array.from(final.output)).to.deep.equal(Array.from(GraphTraceProvider.fromInput(program, input).output));
    } finally {
      await kit.stop();
    }
  });
});
