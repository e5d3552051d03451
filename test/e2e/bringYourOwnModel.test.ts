import { expect } from "chai";
import { once } from "node:events";
import { existsSync, readdirSync } from "node:fs";
import http from "node:http";
import type { AddressInfo } from "node:net";
import path from "node:path";
import express from "express";
import type { Hex } from "viem";
import { runCli } from "../../client/cli";
import { int8Bytes, toHex } from "../../core/bytes";
import { inputScaleOf, loadModelDir } from "../../core/modelFiles";
import { quantiseInput } from "../../core/quantise";
import { runReference } from "../../core/referenceExecutor";
import { runModelCli } from "../../modelkit/cli";
import { irisSplit, trainIris } from "../../scripts/train-iris";
import { E2eSystem, named } from "../helpers/e2e";
import { runInProcess } from "../helpers/inProcessCli";

/**
 * The model owner's path end to end, by the commands a user runs: a model the repository does not
 * hand-build (iris, trained by scripts/train-iris.ts and exported as MatMul + Add float ONNX) goes
 * through `npm run model -- import`, is published on a loopback HTTP server, registered with
 * `npm run model -- register`, checked with `verify`, served BY ID by a node daemon that fetches and
 * checks the files itself, answers a job posted with `npm run cli -- post`, and a node that cheats on
 * it is disputed by a watcher (also serving by id) and slashed.
 */
describe("end to end: bring your own model (iris: import → register → a node serving it by id → a job → a cheat slashed)", () => {
  let sys: E2eSystem;
  let server: http.Server;
  let served: string[];
  let modelUri: string;
  let modelId: bigint;
  const ownerDir = () => path.join(sys.tmpDir, "owner");
  const modelDir = () => path.join(sys.tmpDir, "owner", "iris");
  const chainArgs = () => ["--rpc-url", sys.chain.rpcUrl, "--deployment", sys.deploymentFile];

  before(async () => {
    sys = await E2eSystem.start();
    trainIris(ownerDir());
    served = [];
    const app = express();
    app.use((req, _res, next) => (served.push(req.path), next()));
    app.use("/models", express.static(ownerDir()));
    server = app.listen(0, "127.0.0.1");
    await once(server, "listening");
    modelUri = `http://127.0.0.1:${(server.address() as AddressInfo).port}/models/iris`;
  });
  after(async () => {
    server?.close();
    await sys?.stop();
  });

  /** Posts held-out flower `k` to the model with the SDK's command line; returns the job id. */
  async function postFlower(k: number): Promise<{ jobId: bigint; input: Int8Array }> {
    const files = loadModelDir(modelDir());
    const input = quantiseInput(irisSplit().heldOut[k].x, inputScaleOf(files));
    const posted = await runInProcess(runCli, ["post", "--rpc-url", sys.chain.rpcUrl, "--deployment", sys.deploymentFile, "--private-key", sys.accounts[1].privateKey, "--model", String(modelId), "--input-hex", toHex(int8Bytes(input))]);
    expect(posted.status, posted.err).to.equal(0);
    return { jobId: BigInt(JSON.parse(posted.out).jobId), input };
  }

  it("imports the float model into a model folder and prints the quantisation report", async () => {
    const o = ownerDir();
    const imported = await runInProcess(runModelCli, ["import", path.join(o, "float.onnx"), "--calibration", path.join(o, "calibration.csv"), "--held-out", path.join(o, "held-out.csv"), "--labels", path.join(o, "held-out-labels.csv"), "--out", modelDir()]);
    console.log(imported.out.replace(/^/gm, "      "));
    expect(imported.status, imported.err).to.equal(0);
    expect(imported.out).to.match(/float accuracy/i).and.match(/integer accuracy/i);
    const files = loadModelDir(modelDir());
    expect(imported.out).to.include(files.root);
    expect(files.model.layers.map((l) => [l.nIn, l.nOut])).to.deep.equal([[4, 16], [16, 3]]);
    expect(await runInProcess(runModelCli, ["inspect", modelDir()])).to.include({ status: 0 });
  });

  it("registers the folder by command with its HTTP URI, and verify accepts it and refuses another model", async () => {
    const registered = await runInProcess(runModelCli, ["register", modelDir(), ...chainArgs(), "--private-key", sys.accounts[6].privateKey, "--uri", modelUri]);
    expect(registered.status, registered.err).to.equal(0);
    modelId = BigInt(registered.out.trim());
    expect(modelId).to.not.equal(sys.deployment.model.id);

    const verified = await runInProcess(runModelCli, ["verify", modelDir(), "--model-id", String(modelId), ...chainArgs()]);
    expect(verified.status, verified.err).to.equal(0);
    expect(verified.out).to.include(`is model ${modelId}`);
    const wrong = await runInProcess(runModelCli, ["verify", modelDir(), "--model-id", String(sys.deployment.model.id), ...chainArgs()]);
    expect(wrong.status).to.equal(1);
    expect(wrong.out).to.match(/mismatch: .*root/);
  });

  it("a node told only the model id fetches the files over HTTP, checks them, and answers a job", async () => {
    const cache = path.join(sys.tmpDir, "node-cache");
    const node = sys.startDaemon("node", "node", sys.accounts[2], { args: ["--model-ids", String(modelId), "--model-cache", cache, "--stake", "1"] });
    await node.waitFor("serving model", { modelId });
    expect(served).to.include.members(["/models/iris/integer.onnx", "/models/iris/descriptor.json"]);
    expect(readdirSync(cache).length, "the files are cached").to.equal(1);

    const { jobId, input } = await postFlower(0);
    await node.waitFor("submitted result", { jobId, attempt: 1 });
    const trace = runReference(loadModelDir(modelDir()).model, input);
    const [submitted] = named((await sys.events()).market, "ResultSubmitted").filter((e) => e.args.jobId === jobId);
    expect(submitted.args.output).to.equal(toHex(int8Bytes(trace[trace.length - 1])));
    await node.stop();
  });

  it("a node that cheats on it is disputed by a watcher serving it by id, and slashed", async () => {
    const cheatAccount = sys.accounts[3];
    const cheat = sys.startDaemon("node-cheat", "node", cheatAccount, { args: ["--model-ids", String(modelId), "--model-cache", path.join(sys.tmpDir, "cheat-cache"), "--stake", "1", "--cheat", "wrong-output"] });
    const watcher = sys.startDaemon("watcher", "watcher", sys.accounts[4], { args: ["--model-ids", String(modelId), "--model-cache", path.join(sys.tmpDir, "watcher-cache"), "--sampling-rate", "1"] });
    await Promise.all([cheat.waitFor("serving model", { modelId }), watcher.waitFor("watching model", { modelId })]);

    const { jobId } = await postFlower(1);
    await cheat.waitFor("CHEATING: submitted a false result", { jobId, attempt: 1 });
    const opened = await watcher.waitFor("result checked: WRONG, dispute opened", { jobId, attempt: 1 });
    await watcher.waitFor("won dispute: node slashed", { gameId: opened.gameId as Hex, jobId });
    const slashed = named((await sys.events()).staking, "StakeSlashed").filter((e) => e.args.account === cheatAccount.address);
    expect(slashed.length, "the cheating node's collateral is slashed").to.be.greaterThan(0);
    expect(existsSync(path.join(sys.tmpDir, "watcher-cache"))).to.equal(true);
  });
});
