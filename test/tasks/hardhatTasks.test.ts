import { expect } from "chai";
import hre from "hardhat";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { type Address, type Hex, parseEther, parseUnits } from "viem";
import { stakingAbi } from "../../core/abi";
import { argmax } from "../../core/argmax";
import { fromHex } from "../../core/bytes";
import { type ChainActor, send } from "../../core/chain/actor";
import { LOCAL_DEV_PARAMETERS } from "../../core/chain/deploy";
import { type Deployment, readDeployment, writeDeployment } from "../../core/chain/deployment";
import { connectProvider, providerAccounts, walletForAccount } from "../../core/chain/providerClients";
import type { RpcClients } from "../../core/chain/rpcClients";
import { JobStatus } from "../../core/jobState";
import { initKeccak } from "../../core/keccak";
import { MNIST_MODEL_DIR, inputScaleOf, loadModelDir } from "../../core/modelFiles";
import { runReference } from "../../core/referenceExecutor";
import { Metrics } from "../../core/service/metrics";
import { heldOutDigit } from "../../client/mnistDigit";
import { RefuteClient } from "../../client/refuteClient";
import type { FinalResult, JobResult } from "../../client/jobHistory";
import { NodeOperator } from "../../node/nodeOperator";
import { REFUTE_TASKS } from "../../tasks";
import type { CallResult, DeployedConsumerResult } from "../../tasks/consumer";
import type { PostJobReturnType } from "../../client/refuteClient";

/**
 * The Hardhat tasks (tasks/, docs/consumer-tutorial.md "Deploying it on a local chain") run in this
 * process on the Hardhat network, end to end: refute:deploy with the local profile,
 * refute:deploy-consumer DrawTheDigit with its constructor filled in from the deployment, a drawing
 * posted through it with refute:call, a node serving it one round at a time (as testing/refuteTestKit.ts
 * runs one), refute:wait for the soft and the final result; refute:post straight to the market and
 * refute:wait --final --finalize; and the one-line errors.
 */

const SILENT = { debug() {}, info() {}, warn() {}, error() {} };

/** What a task printed, and what it returned or threw. */
interface TaskRun<T> {
  result?: T;
  error?: Error;
  out: string[];
  err: string[];
}

/** Runs a task as `npx hardhat` would, with console.log (stdout) and console.error (stderr) captured. */
async function runTask<T>(name: string, args: Record<string, unknown>): Promise<TaskRun<T>> {
  const out: string[] = [];
  const err: string[] = [];
  const { log, error } = console;
  console.log = (...a: unknown[]) => void out.push(a.join(" "));
  console.error = (...a: unknown[]) => void err.push(a.join(" "));
  try {
    return { result: (await hre.run(name, args)) as T, out, err };
  } catch (e) {
    return { error: e as Error, out, err };
  } finally {
    console.log = log;
    console.error = error;
  }
}

/** Runs a task that must succeed; returns its result and its one stdout line parsed. */
async function ok<T>(name: string, args: Record<string, unknown>): Promise<{ result: T; json: Record<string, unknown>; err: string[] }> {
  const r = await runTask<T>(name, args);
  expect(r.error, `${name} failed: ${r.error?.message}\n${r.err.join("\n")}`).to.equal(undefined);
  expect(r.out, `${name} prints one line on stdout`).to.have.length(1);
  let json: Record<string, unknown> = {};
  try {
    json = JSON.parse(r.out[0]);
  } catch {
    json = { line: r.out[0] };
  }
  return { result: r.result as T, json, err: r.err };
}

/** Runs a task that must fail; returns its one-line message. */
async function fails(name: string, args: Record<string, unknown>): Promise<string> {
  const r = await runTask(name, args);
  expect(r.error, `${name} should fail`).to.be.instanceOf(Error);
  expect((r.error as { pluginName?: string }).pluginName, `${name}: a HardhatPluginError, printed without a stack trace`).to.equal("refute");
  expect(r.error!.message, "one line").to.not.include("\n");
  return r.error!.message;
}

describe("Hardhat tasks (tasks/): refute:deploy, refute:deploy-consumer, refute:call, refute:post, refute:wait", () => {
  let dir: string;
  let files: { deployment: string; consumers: string };
  let clients: RpcClients;
  let accounts: Address[];
  let deployment: Deployment;
  let node: NodeOperator;
  const mnist = () => loadModelDir(MNIST_MODEL_DIR);
  /** The options every chain task of this file takes. */
  const base = () => ({ deployment: files.deployment });
  /** Moves the chain's clock past a challenge window and mines a block. */
  const passWindow = async () => {
    await hre.network.provider.send("evm_increaseTime", [Number(deployment.parameters.challengeWindow) + 1]);
    await hre.network.provider.send("evm_mine", []);
  };

  /** The chain as it was before this file, restored after it (this file moves the clock forward). */
  let snapshot: string;

  before(async () => {
    snapshot = (await hre.network.provider.send("evm_snapshot", [])) as string;
    await initKeccak();
    dir = mkdtempSync(path.join(os.tmpdir(), "refute-tasks-"));
    files = { deployment: path.join(dir, "deployment.json"), consumers: path.join(dir, "consumers.json") };
    clients = await connectProvider(hre.network.provider, { name: "network hardhat", pollingIntervalMs: 10 });
    accounts = await providerAccounts(clients);
  });
  after(async () => {
    rmSync(dir, { recursive: true, force: true });
    await hre.network.provider.send("evm_revert", [snapshot]);
  });

  it("npx hardhat help lists the five refute: tasks", async () => {
    expect(REFUTE_TASKS).to.include.members(["refute:deploy", "refute:post", "refute:wait", "refute:deploy-consumer"]);
    for (const name of REFUTE_TASKS) expect(hre.tasks[name], name).to.not.equal(undefined);
    const help = await runTask("help", {});
    const listed = help.out.join("\n");
    for (const name of REFUTE_TASKS) expect(listed).to.match(new RegExp(`^  ${name}\\s+\\S`, "m"));
  });

  it("refute:deploy deploys with the local profile and writes the deployment file", async () => {
    const { result, json, err } = await ok<Deployment>("refute:deploy", { profile: "local", out: files.deployment, noCompile: true });
    deployment = result;
    expect(json.line).to.equal(files.deployment);
    expect(readDeployment(files.deployment)).to.deep.equal(deployment);
    expect(deployment.parameters).to.deep.equal(LOCAL_DEV_PARAMETERS);
    expect(deployment.deployer).to.equal(accounts[0]);
    expect(err.join("\n")).to.match(/with the local profile: challenge window 30 s/);

    // A node as account #1, run one round at a time in this process (as RefuteTestKit runs one).
    const actor: ChainActor = { publicClient: clients.publicClient, walletClient: walletForAccount(clients, accounts[1]), deployment, log: SILENT };
    await send(actor, { address: deployment.contracts.staking, abi: stakingAbi, functionName: "stake", value: parseEther("1") });
    node = new NodeOperator(actor, { models: [{ modelId: deployment.model.id, model: mnist().model, commitment: mnist().commitment }], cheat: { kind: "none" } }, new Metrics());
  });

  it("refute:deploy-consumer DrawTheDigit fills in the market, the model id and the input scale, and records the address", async () => {
    const { result, json, err } = await ok<DeployedConsumerResult>("refute:deploy-consumer", { contract: "DrawTheDigit", ...base(), out: files.consumers, noCompile: true });
    const scale18 = parseUnits(inputScaleOf(mnist()).toFixed(18), 18); // 7874015748031496, as the tutorial deploys it
    expect(result.args).to.deep.equal([deployment.contracts.jobMarket, deployment.model.id, scale18]);
    expect(json).to.include({ contract: "DrawTheDigit", address: result.address });
    expect(err.join("\n")).to.match(new RegExp(`market_ = ${deployment.contracts.jobMarket} \\(@market\\), modelId_ = ${deployment.model.id} \\(@modelId\\), inputScale_ = ${scale18} \\(@inputScale\\)`));
    const recorded = JSON.parse(readFileSync(files.consumers, "utf8"));
    expect(recorded).to.deep.include({ version: 1, chainId: deployment.chainId, jobMarket: deployment.contracts.jobMarket });
    expect(recorded.contracts.DrawTheDigit).to.include({ address: result.address });

    // The contract reads the same: a view through refute:call.
    expect((await ok("refute:call", { contract: "DrawTheDigit", function: "modelId", ...base(), consumers: files.consumers })).json.result).to.equal(String(deployment.model.id));
    expect((await ok("refute:call", { contract: "DrawTheDigit", function: "ink", ...base(), consumers: files.consumers })).json.result).to.equal(127);
  });

  it("a drawing posted through DrawTheDigit with refute:call is served by a node; refute:wait gives the soft, then the final result, and the contract scores it", async () => {
    const call = (fn: string, args?: unknown, value?: string) => ok<CallResult>("refute:call", { contract: "DrawTheDigit", function: fn, args: args === undefined ? undefined : JSON.stringify(args), value, ...base(), consumers: files.consumers });
    const drawing = ["@digit 0", "@minCollateral", "@now+3600"];
    // What the contract will post: its rendering of the first held-out 0 drawn in one bit, and the model's reading of it.
    const rendered = fromHex((await call("render", [drawing[0]])).json.result as Hex);
    expect(rendered.length).to.equal(784);
    const trace = runReference(mnist().model, new Int8Array(rendered.buffer, rendered.byteOffset, rendered.length));
    const expected = Array.from(trace[trace.length - 1]);
    const read = argmax(expected);

    const posted = await call("draw", drawing, "0.001");
    expect(posted.result.jobIds).to.have.length(1);
    const jobId = posted.result.jobIds[0];
    expect(posted.json).to.include({ jobId: String(jobId) });
    expect(posted.result.events.map((e) => e.eventName)).to.include.members(["JobPosted", "DrawingSubmitted"]);
    expect(posted.err.join("\n")).to.match(new RegExp(`DrawingSubmitted\\(jobId=${jobId}, player=${accounts[0]}, asked=0\\)`));

    await node.tick(); // takes the job and submits the output
    const soft = await ok<JobResult>("refute:wait", { jobId: String(jobId), ...base(), timeout: "30" });
    expect(Array.from(soft.result.output)).to.deep.equal(expected);
    expect(soft.json).to.include({ jobId: String(jobId), node: accounts[1], argmax: read });

    await passWindow();
    await node.tick(); // finalises its result: the market pays it and calls the contract back
    const final = await ok<FinalResult>("refute:wait", { jobId: String(jobId), final: true, ...base(), timeout: "30" });
    expect(Array.from(final.result.output)).to.deep.equal(expected);
    expect(final.result).to.include({ feePaid: true, callbackSucceeded: true });
    expect(final.json).to.include({ argmax: read });

    // The callback judged the drawing as the model read it.
    const matched = read === 0;
    expect((await call("score", ["@sender"])).json.result).to.equal(matched ? "1" : "0");
    expect((await call("digitAsked")).json.result).to.equal(matched ? 1 : 0);
    expect((await call("pending", [String(jobId)])).json.result).to.equal(false);
  });

  it("refute:post posts a digit straight to the market; refute:wait --final --finalize finalises it after the window", async () => {
    const posted = await ok<PostJobReturnType>("refute:post", { digit: "3", ...base(), fee: "0.002eth", ttl: "3600" });
    const jobId = posted.result.jobId;
    expect(posted.json).to.include({ jobId: String(jobId), status: "Open" });
    expect(posted.result.job).to.include({ fee: parseEther("0.002"), requester: accounts[0] });
    const client = new RefuteClient({ publicClient: clients.publicClient, deployment });
    expect(posted.result.job.collateral).to.equal(await client.minCollateral());

    await node.tick(); // submits; nobody finalises it but the wait below
    await passWindow();
    const final = await ok<FinalResult>("refute:wait", { jobId: String(jobId), final: true, finalize: true, ...base(), timeout: "30" });
    expect(final.err.join("\n")).to.match(new RegExp(`job ${jobId}: challenge window ended at \\S+ with no dispute open; finalising it`));
    const trace = runReference(mnist().model, heldOutDigit(3).input);
    expect(Array.from(final.result.output)).to.deep.equal(Array.from(trace[trace.length - 1]));
    const tx = await clients.publicClient.getTransaction({ hash: final.result.finalizedTransactionHash });
    expect(tx.from.toLowerCase()).to.equal(accounts[0].toLowerCase());
    expect((await client.getJob(jobId)).job.status).to.equal(JobStatus.Finalized);
  });

  it("says what is wrong in one line", async () => {
    const consumers = files.consumers;
    expect(await fails("refute:deploy", { profile: "fast", out: path.join(dir, "x.json"), noCompile: true })).to.match(/--profile must be one of standard, local, got "fast"/);
    expect(await fails("refute:deploy", { param: "challengeWindow=400", profile: "local", out: path.join(dir, "x.json"), noCompile: true })).to.match(/unbondingDelay \(600\) must exceed challengeWindow \+ maxDisputeDuration \(400 \+ 300\)/);
    expect(await fails("refute:deploy-consumer", { contract: "DrawTheDigt", ...base(), out: consumers, noCompile: true })).to.match(/no compiled contract DrawTheDigt in this project .*; did you mean DrawTheDigit\?/);
    expect(await fails("refute:deploy-consumer", { contract: "DrawTheDigit", args: '{"inputScale": 0}', ...base(), out: consumers, noCompile: true })).to.equal(
      "deploying DrawTheDigit reverted: DrawTheDigitInvalidInputScale(inputScale=0)",
    );
    expect(await fails("refute:deploy-consumer", { contract: "DrawTheDigit", args: '{"scale": 1}', ...base(), out: consumers, noCompile: true })).to.match(/--args names "scale", which is no parameter of DrawTheDigit's constructor \(market_, modelId_, inputScale_\)/);
    expect(await fails("refute:deploy-consumer", { contract: "DrawTheDigit", args: "[1, 2]", ...base(), out: consumers, noCompile: true })).to.match(/DrawTheDigit's constructor takes 3 argument\(s\) \(market_ \(address\), modelId_ \(uint64\), inputScale_ \(uint256\)\), --args gives 2/);
    expect(await fails("refute:call", { contract: "DrawTheDigit", function: "draw", args: '["@digit 0", "@minCollateral", "@now+3600"]', ...base(), consumers })).to.equal("DrawTheDigit.draw reverted: JobMarketZeroFee()");
    expect(await fails("refute:call", { contract: "DrawTheDigit", function: "drow", ...base(), consumers })).to.match(/DrawTheDigit has no function drow; did you mean draw\?/);
    expect(await fails("refute:call", { contract: "DrawTheDigit", function: "draw", args: '["@digit 0", "@minCollateral", "tomorrow"]', value: "0.001", ...base(), consumers })).to.match(
      /DrawTheDigit\.draw argument expiresAt \(uint40\): must be an integer .*, got "tomorrow"/,
    );
    expect(await fails("refute:call", { contract: "DrawTheDigit", function: "score", args: '["@me"]', ...base(), consumers })).to.match(/unknown word "@me"; known: @market, @sender/);
    expect(await fails("refute:call", { contract: "DrawTheDigit", function: "score", args: "[1", ...base(), consumers })).to.match(/^--args must be JSON/);
    expect(await fails("refute:call", { contract: "DrawTheDigit", function: "score", args: '["@sender"]', ...base(), consumers: path.join(dir, "none.json") })).to.match(/no address for DrawTheDigit: not in .*none\.json, nor a contract of the deployment; deploy it with npx hardhat refute:deploy-consumer DrawTheDigit, or pass --address/);
    expect(await fails("refute:post", { digit: "3", ...base(), fee: "1 btc", ttl: "3600" })).to.match(/--fee must be an amount \(ETH as 1\.5, 0\.01eth or 0\.01 ether, or wei as 1000wei\), got "1 btc"/);
    expect(await fails("refute:post", { ...base(), fee: "0.001", ttl: "3600" })).to.equal("refute:post needs exactly one of --digit or --input-hex");
    expect(await fails("refute:post", { digit: "3", deployment: path.join(dir, "missing.json"), fee: "0.001", ttl: "3600" })).to.match(/cannot read deployment file .*missing\.json.*\(deploy with npx hardhat refute:deploy, or pass --deployment FILE\)/);
    const stale = path.join(dir, "stale.json");
    writeDeployment(stale, { ...deployment, contracts: { ...deployment.contracts, jobMarket: "0x000000000000000000000000000000000000dEaD" } });
    expect(await fails("refute:post", { digit: "3", deployment: stale })).to.match(/network hardhat has no contract at the JobMarket address of .*stale\.json \(0x000000000000000000000000000000000000dEaD\): the file is from another run of the chain; deploy again/);
    expect(await fails("refute:wait", { jobId: "0", ...base(), timeout: "1" })).to.equal("jobId must be at least 1 (job ids start at 1)");
    expect(await fails("refute:wait", { jobId: "1", finalize: true, ...base(), timeout: "1" })).to.equal("--finalize goes with --final");
    expect(await fails("refute:wait", { jobId: "99", ...base(), timeout: "5" })).to.match(/job 99/);
  });
});
