import { expect } from "chai";
import hre from "hardhat";
import { mkdtempSync, readdirSync, rmSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { createPublicClient, custom } from "viem";
import { hardhat } from "viem/chains";
import { modelRegistryAbi } from "../../core/abi";
import { type ChainActor, send } from "../../core/chain/actor";
import { RefuteContractError } from "../../core/chain/contractError";
import { UnknownModelError, checkRegisteredModel, readRegisteredModel, registerModel, registrationArgs } from "../../core/chain/modelRegistration";
import { UnregisteredModelError, registeredModels, resolveServedModels } from "../../core/chain/registeredModels";
import { folderRoot } from "../../core/modelFolders";
import { MNIST_MODEL_DIR, type ModelFiles, loadModelDir } from "../../core/modelFiles";
import { type InProcessChain, inProcessChain } from "../../scripts/bench/inProcessChain";
import { ModelServer, writeSyntheticModel } from "../distribution/modelServer";
import { rejection } from "../helpers/expectThrows";

/**
 * Registering a model folder on an existing deployment, reading the entry back, checking a folder
 * against it, and the daemons' resolution of folders and ids into served models (ids fetched from a
 * loopback HTTP server), on Hardhat's in-process chain.
 */
describe("model registration and served models (core/chain/modelRegistration.ts, registeredModels.ts)", () => {
  let chain: InProcessChain;
  let owner: ChainActor;
  let tmp: string;
  let server: ModelServer;
  let a: ModelFiles;
  let b: ModelFiles;
  let c: ModelFiles;
  const registry = () => chain.deployment.contracts.modelRegistry;
  const read = (modelId: bigint) => readRegisteredModel(owner.publicClient, registry(), modelId);

  before(async () => {
    chain = await inProcessChain();
    // Hardhat's provider answers a revert with an error viem would retry (about 1 s each): no retries here.
    const publicClient = createPublicClient({ chain: hardhat, transport: custom(hre.network.provider, { retryCount: 0 }), pollingInterval: 10 });
    owner = { ...chain.actor(chain.accounts[5]), publicClient };
    tmp = mkdtempSync(path.join(os.tmpdir(), "refute-model-registration-"));
    a = loadModelDir(writeSyntheticModel(path.join(tmp, "owner", "a"), 0xa1, [6, 5, 3]));
    b = loadModelDir(writeSyntheticModel(path.join(tmp, "owner", "b"), 0xb1, [7, 4, 4, 3]));
    c = loadModelDir(writeSyntheticModel(path.join(tmp, "owner", "c"), 0xc1, [4, 2]));
    server = await ModelServer.start();
  });
  after(async () => {
    await server?.close();
    if (tmp) rmSync(tmp, { recursive: true, force: true });
  });

  it("registers a folder: the id from ModelRegistered, and readRegisteredModel returns the entry", async () => {
    const uri = "https://models.example/a";
    const { modelId, transactionHash } = await registerModel(owner, a, uri);
    expect(modelId).to.equal(chain.deployment.model.id + 1n);
    expect(transactionHash).to.match(/^0x[0-9a-f]{64}$/);
    expect(await read(modelId)).to.deep.equal({
      modelId,
      root: a.root,
      inputSize: 6n,
      outputSize: 3n,
      layerCount: 2n,
      maxWidth: 6n,
      uri,
      retired: false,
      owner: chain.accounts[5],
    });
    expect(registrationArgs(a, uri)).to.deep.equal([a.root, 6, 3, 2, 6, uri]);
  });

  it("checkRegisteredModel: nothing for the folder registered, every difference for another, and a retired entry", async () => {
    const { modelId } = await registerModel(owner, a, "a");
    const entry = await read(modelId);
    expect(checkRegisteredModel(entry, a)).to.deep.equal([]);
    expect(checkRegisteredModel(entry, b)).to.deep.equal([
      `model root: integer.onnx commits to ${b.root}, the registry holds ${a.root}`,
      "inputSize: the files have 7, the registry holds 6",
      "layerCount: the files have 3, the registry holds 2",
      "maxWidth: the files have 7, the registry holds 6",
    ]);
    await send(owner, { address: registry(), abi: modelRegistryAbi, functionName: "retireModel", args: [modelId] });
    expect(checkRegisteredModel(await read(modelId), a)).to.deep.equal([`retired: its owner retired model ${modelId} (no new jobs)`]);
  });

  it("an unknown id is a clear error naming the id and the registry; a revert on registering is decoded", async () => {
    for (const id of [0n, 999n, 1n << 64n]) {
      const e = await rejection(read(id));
      expect(e).to.be.instanceOf(UnknownModelError);
      expect(e.message).to.equal(`model ${id} is not registered on this deployment (registry ${registry()})`);
    }
    const args = registrationArgs(a, "a");
    const e = await rejection(send(owner, { address: registry(), abi: modelRegistryAbi, functionName: "registerModel", args: [args[0], 8, 3, 2, 6, "a"] }));
    expect(e).to.be.instanceOf(RefuteContractError);
    expect(e.message).to.equal("registerModel reverted: ModelRegistryInvalidWidth(maxWidth=6, inputSize=8, outputSize=3, max=65536)");
  });

  it("registeredModels: a folder answers to every live entry of its root with its shape; one with none is refused with each reason", async () => {
    const good = await registerModel(owner, c, "c");
    const [root, inputSize, outputSize] = registrationArgs(c, "c");
    await send(owner, { address: registry(), abi: modelRegistryAbi, functionName: "registerModel", args: [root, inputSize, outputSize, 2, 4, "c"] });
    const wrongShape = good.modelId + 1n;
    expect((await registeredModels(owner, [c.dir])).map((m) => [m.modelId, folderRoot(m), m.source])).to.deep.equal([[good.modelId, c.root, "folder"]]);

    await send(owner, { address: registry(), abi: modelRegistryAbi, functionName: "retireModel", args: [good.modelId] });
    const e = await rejection(registeredModels(owner, [c.dir]));
    expect(e).to.be.instanceOf(UnregisteredModelError);
    expect(e.message).to.equal(
      `the model in ${c.dir} (root ${c.root}) is not a live registered model: model ${good.modelId}: retired: its owner retired model ${good.modelId} (no new jobs); ` +
        `model ${wrongShape}: layerCount: the files have 1, the registry holds 2`,
    );
  });

  it("resolveServedModels: ids fetched from their URIs into the cache, folders by their ids, the reference folder when neither is given", async () => {
    const uri = server.serveFolder("b", b.dir);
    const { modelId: bId } = await registerModel(owner, b, uri);
    const mnistId = chain.deployment.model.id;
    const cacheDir = path.join(tmp, "cache");

    const byId = await resolveServedModels(owner, { ids: [bId], cacheDir });
    expect(byId.map((m) => [m.modelId, folderRoot(m), m.files.dir, m.source])).to.deep.equal([[bId, b.root, path.join(cacheDir, b.root.slice(2)), uri]]);
    expect(server.requests).to.deep.equal(["/b/integer.onnx", "/b/descriptor.json"]);
    expect(readdirSync(cacheDir)).to.deep.equal([b.root.slice(2)]);

    // The reference model is registered with the relative URI "models/mnist-mlp": read in place from baseDir.
    const both = await resolveServedModels(owner, { dirs: [b.dir], ids: [bId, mnistId], cacheDir, baseDir: path.resolve(MNIST_MODEL_DIR, "..", "..") });
    expect(both.map((m) => [m.modelId, m.files.dir, m.source])).to.deep.equal([
      [bId, b.dir, "folder"],
      [mnistId, MNIST_MODEL_DIR, "models/mnist-mlp"],
    ]);
    expect(server.requests, "an id a folder answers to is not fetched").to.have.length(2);

    const byDefault = await resolveServedModels(owner, { cacheDir });
    expect(byDefault.map((m) => [m.modelId, m.files.dir, m.source])).to.deep.equal([[mnistId, MNIST_MODEL_DIR, "folder"]]);
    expect(await resolveServedModels(owner, { ids: [], cacheDir }), "ids given, even none: no default folder").to.deep.equal([]);
  });

  it("resolveServedModels refuses an unknown id, a retired one, and files that are not the registered model", async () => {
    const cacheDir = path.join(tmp, "refused-cache");
    expect(await rejection(resolveServedModels(owner, { ids: [999n], cacheDir }))).to.be.instanceOf(UnknownModelError);

    const { modelId: retired } = await registerModel(owner, a, server.serveFolder("a", a.dir));
    await send(owner, { address: registry(), abi: modelRegistryAbi, functionName: "retireModel", args: [retired] });
    const e = await rejection(resolveServedModels(owner, { ids: [retired], cacheDir }));
    expect(e).to.be.instanceOf(UnregisteredModelError);
    expect(e.message).to.equal(`model ${retired} is retired (no new jobs): it is not served`);

    const wrongUri = server.serveFolder("not-a", b.dir);
    const { modelId } = await registerModel(owner, a, wrongUri);
    const wrong = await rejection(resolveServedModels(owner, { ids: [modelId], cacheDir }));
    expect(wrong.message).to.equal(
      `model ${modelId} (${wrongUri}): model root: integer.onnx commits to ${b.root}, the registry holds ${a.root}; ` +
        "inputSize: the files have 7, the registry holds 6; layerCount: the files have 3, the registry holds 2; maxWidth: the files have 7, the registry holds 6",
    );
  });
});
