import { expect } from "chai";
import { cpSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import path from "node:path";
import { modelRegistryAbi } from "../../core/abi";
import { send } from "../../core/chain/actor";
import { GRAPH_SHAPE_FIELDS, graphRegistration } from "../../core/chain/graphModelRegistration";
import { readRegisteredModel } from "../../core/chain/modelRegistration";
import { graphDisputeShape } from "../../core/graph/game/disputeShape";
import { readGraphModelFolder, writeGraphModelFolder } from "../../core/graph/modelFolder";
import type { GraphProgram } from "../../core/graph/program";
import { MNIST_MODEL_DIR } from "../../core/modelFiles";
import { Rng } from "../../core/rng";
import { runModelCli } from "../../modelkit/cli";
import { randomProgram } from "../graph/randomPrograms";
import { E2eSystem } from "../helpers/e2e";
import { runInProcess } from "../helpers/inProcessCli";

/**
 * `npm run model -- register` and `verify` with a graph program's folder (program.json), on a local
 * chain with the whole system deployed: the entry registerGraphModel records (its dispute shape), verify
 * accepting the folder and naming every difference otherwise: a Dense entry, another program, a
 * retired entry; a Dense folder against the graph entry; a tampered folder and a folder with no model.
 */
describe("npm run model -- register/verify with a graph folder (modelkit/cli.ts, core/chain/graphModelRegistration.ts)", function () {
  this.timeout(120_000);
  let sys: E2eSystem;
  let programA: GraphProgram;
  let modelId: bigint;
  const uri = "https://models.example/graph-a";
  const dir = (name: string) => path.join(sys.tmpDir, name);
  const chainArgs = () => ["--rpc-url", sys.chain.rpcUrl, "--deployment", sys.deploymentFile];
  const verify = (folder: string, id: bigint) => runInProcess(runModelCli, ["verify", folder, "--model-id", String(id), ...chainArgs()]);

  before(async () => {
    sys = await E2eSystem.start();
    // Two small seeded programs, different in root, sizes and dispute shape.
    programA = randomProgram(new Rng(1), { ops: 4 });
    writeGraphModelFolder(dir("graph-a"), programA);
    writeGraphModelFolder(dir("graph-b"), randomProgram(new Rng(2), { ops: 4 }));
  });
  after(async () => {
    await sys?.stop();
  });

  it("registers a graph folder with registerGraphModel: the entry has layerCount leafCount − 1, maxWidth 0 and the program's dispute shape", async () => {
    const registered = await runInProcess(runModelCli, ["register", dir("graph-a"), ...chainArgs(), "--private-key", sys.accounts[6].privateKey, "--uri", uri]);
    expect(registered.status, registered.err).to.equal(0);
    modelId = BigInt(registered.out.trim());
    expect(modelId).to.not.equal(sys.deployment.model.id);
    const files = readGraphModelFolder(dir("graph-a"));
    const { root, inputSize, outputSize } = graphRegistration(files);
    const shape = graphDisputeShape(programA);
    expect(registered.err).to.match(new RegExp(`registered .*graph-a \\(a graph program, root ${root}, dispute shape opCount ${shape.opCount}, leafCount ${shape.leafCount}, maxTensorLeaves ${shape.maxTensorLeaves}, maxRowChunks ${shape.maxRowChunks}\\) as model ${modelId} in 0x[0-9a-f]{64}`));

    const registry = sys.deployment.contracts.modelRegistry;
    expect(await readRegisteredModel(sys.publicClient, registry, modelId)).to.deep.equal({
      modelId,
      root,
      inputSize: BigInt(inputSize),
      outputSize: BigInt(outputSize),
      layerCount: BigInt(shape.leafCount - 1),
      maxWidth: 0n,
      uri,
      retired: false,
      owner: sys.accounts[6].address,
      graph: shape,
    });
    expect(await sys.publicClient.readContract({ address: registry, abi: modelRegistryAbi, functionName: "graphShape", args: [modelId] })).to.deep.equal(shape);
    // The Dense entry carries no graph shape.
    expect(await readRegisteredModel(sys.publicClient, registry, sys.deployment.model.id)).to.not.have.property("graph");
  });

  it("verify accepts the graph folder as its model", async () => {
    const verified = await verify(dir("graph-a"), modelId);
    expect(verified.status, verified.err).to.equal(0);
    expect(verified.out).to.equal(`${dir("graph-a")} is model ${modelId} (a graph program, root ${graphRegistration(readGraphModelFolder(dir("graph-a"))).root}, URI ${uri})`);
  });

  it("verify names the other kind plainly: the graph folder against the Dense model, the Dense folder against the graph model", async () => {
    const graphRoot = graphRegistration(readGraphModelFolder(dir("graph-a"))).root;
    const { root: denseRoot } = sys.deployment.model;
    const graphVsDense = await verify(dir("graph-a"), sys.deployment.model.id);
    expect(graphVsDense.status).to.equal(1);
    expect(graphVsDense.out.split("\n")).to.deep.equal([
      "mismatch: kind: the registry holds a Dense model (registerModel), the folder is a graph program (program.json)",
      `mismatch: model root: program.json commits to ${graphRoot}, the registry holds ${denseRoot}`,
    ]);
    const denseVsGraph = await verify(MNIST_MODEL_DIR, modelId);
    expect(denseVsGraph.status).to.equal(1);
    expect(denseVsGraph.out.split("\n")).to.deep.equal([
      "mismatch: kind: the registry holds a graph program (registerGraphModel), the folder is a Dense model (integer.onnx)",
      `mismatch: model root: integer.onnx commits to ${denseRoot}, the registry holds ${graphRoot}`,
    ]);
  });

  it("verify reports another program (a consistent folder, another root) field by field", async () => {
    const a = graphRegistration(readGraphModelFolder(dir("graph-a")));
    const b = graphRegistration(readGraphModelFolder(dir("graph-b")));
    const expected = [`mismatch: model root: program.json commits to ${b.root}, the registry holds ${a.root}`];
    for (const name of ["inputSize", "outputSize"] as const) if (a[name] !== b[name]) expected.push(`mismatch: ${name}: the files have ${b[name]}, the registry holds ${a[name]}`);
    for (const name of GRAPH_SHAPE_FIELDS) if (a.shape[name] !== b.shape[name]) expected.push(`mismatch: ${name}: the files have ${b.shape[name]}, the registry holds ${a.shape[name]}`);
    expect(expected.length, "the two programs differ beyond the root").to.be.at.least(4);
    const other = await verify(dir("graph-b"), modelId);
    expect(other.status).to.equal(1);
    expect(other.out.split("\n")).to.deep.equal(expected);
  });

  it("refuses a tampered graph folder and a folder with no model, each with one clear line", async () => {
    cpSync(dir("graph-a"), dir("tampered"), { recursive: true });
    // One weight byte changed in program.json, descriptor.json left as it was.
    const edited = JSON.parse(readFileSync(path.join(dir("tampered"), "program.json"), "utf8"));
    expect(edited.constants.length, "the program has weights").to.be.greaterThan(0);
    const bytes = Buffer.from(edited.constants[0].base64, "base64");
    bytes[0] ^= 1;
    edited.constants[0].base64 = bytes.toString("base64");
    writeFileSync(path.join(dir("tampered"), "program.json"), JSON.stringify(edited));
    const tampered = await verify(dir("tampered"), modelId);
    expect(tampered.status).to.equal(1);
    expect(tampered.err).to.match(/^error: graph model folder .*tampered: program\.json commits to 0x[0-9a-f]{64}, descriptor\.json says 0x[0-9a-f]{64}$/);

    mkdirSync(dir("empty"));
    const empty = await runInProcess(runModelCli, ["register", dir("empty"), ...chainArgs(), "--private-key", sys.accounts[6].privateKey, "--uri", uri]);
    expect(empty.status).to.equal(1);
    expect(empty.err).to.include(`${dir("empty")} holds no model: a model folder holds program.json (a graph program) or integer.onnx (a Dense model), with descriptor.json`);
    const missing = await verify(dir("nowhere"), modelId);
    expect(missing.status).to.equal(1);
    expect(missing.err).to.include(`${dir("nowhere")} does not exist`);
  });

  it("verify reports a retired graph entry", async () => {
    await send(sys.actor(sys.accounts[6]), { address: sys.deployment.contracts.modelRegistry, abi: modelRegistryAbi, functionName: "retireModel", args: [modelId] });
    const retired = await verify(dir("graph-a"), modelId);
    expect(retired.status).to.equal(1);
    expect(retired.out).to.equal(`mismatch: retired: its owner retired model ${modelId} (no new jobs)`);
  });
});
