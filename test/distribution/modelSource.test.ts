import { expect } from "chai";
import { mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { pathToFileURL } from "node:url";
import type { Log } from "../../core/chain/actor";
import { ModelSourceError, fetchModelFolder } from "../../core/distribution/modelSource";
import { initKeccak } from "../../core/keccak";
import { readGraphModelFolder, writeGraphModelFolder } from "../../core/graph/modelFolder";
import { type ModelFiles, loadModelDir } from "../../core/modelFiles";
import { folderRoot } from "../../core/modelFolders";
import { Rng } from "../../core/rng";
import { rejection } from "../helpers/expectThrows";
import { randomProgram } from "../graph/randomPrograms";
import { ModelServer, entryOf, graphEntryOf, writeSyntheticModel } from "./modelServer";

/**
 * fetchModelFolder (core/distribution/modelSource.ts): a registered model's files fetched from its URI
 * over loopback HTTP, a file: URL or a path, and refused unless they are the model the registry holds.
 */
/** A small seeded graph program's folder in `dir`. */
function writeGraphFolder(dir: string): string {
  writeGraphModelFolder(dir, randomProgram(new Rng(3), { ops: 4 }));
  return dir;
}

describe("fetchModelFolder", () => {
  let tmp: string;
  let server: ModelServer;
  let model: ModelFiles;
  let other: ModelFiles;
  let modelUrl: string;
  let otherUrl: string;
  let graphUrl: string;
  const warnings: string[] = [];
  const log: Log = { debug() {}, info() {}, warn: (msg, fields) => warnings.push(`${msg} ${String(fields?.problem)}`), error() {} };
  const cache = (name: string) => path.join(tmp, name);

  /** The Dense folder fetched for `entry` (a graph one fails the test). */
  async function fetchModelFiles(entry: Parameters<typeof fetchModelFolder>[0], options: Parameters<typeof fetchModelFolder>[1]): Promise<ModelFiles> {
    const folder = await fetchModelFolder(entry, options);
    if (folder.kind !== "dense") expect.fail(`model ${entry.modelId}: a ${folder.kind} folder, not a Dense one`);
    return folder.files;
  }

  /** The refusal of fetching `entry` into cache `name`: a ModelSourceError whose message is checked exactly. */
  async function refusal(entry: Parameters<typeof fetchModelFiles>[0], message: string, options: { cacheDir?: string; maxBytes?: number } = {}): Promise<ModelSourceError> {
    const e = await rejection(fetchModelFiles(entry, { cacheDir: options.cacheDir ?? cache("refused"), maxBytes: options.maxBytes, log }));
    expect(e).to.be.instanceOf(ModelSourceError);
    expect(e.message).to.equal(message);
    return e as ModelSourceError;
  }

  before(async () => {
    await initKeccak();
    tmp = mkdtempSync(path.join(os.tmpdir(), "refute-model-source-"));
    model = loadModelDir(writeSyntheticModel(path.join(tmp, "owner", "a"), 0xa, [6, 5, 3]));
    other = loadModelDir(writeSyntheticModel(path.join(tmp, "owner", "b"), 0xb, [6, 4, 3]));
    server = await ModelServer.start();
    modelUrl = server.serveFolder("a", model.dir);
    otherUrl = server.serveFolder("b", other.dir);
    graphUrl = server.serveFolder("g", writeGraphFolder(path.join(tmp, "owner", "g")));
  });
  after(async () => {
    await server?.close();
    if (tmp) rmSync(tmp, { recursive: true, force: true });
  });
  beforeEach(() => {
    server.requests.length = 0;
    server.chunked = false;
    warnings.length = 0;
  });

  it("fetches over http into <cache>/<root>/, then answers from the cache without a request", async () => {
    const cacheDir = cache("http");
    const files = await fetchModelFiles(entryOf(model, 3n, modelUrl), { cacheDir, log });
    const entry = path.join(cacheDir, model.root.slice(2));
    expect(files.root).to.equal(model.root);
    expect(files.dir).to.equal(entry);
    expect(files.model).to.deep.equal(model.model);
    expect(server.requests).to.deep.equal(["/a/integer.onnx", "/a/descriptor.json"]);
    expect(readdirSync(cacheDir), "only the entry, no partial download left").to.deep.equal([model.root.slice(2)]);
    expect(readFileSync(path.join(entry, "integer.onnx"))).to.deep.equal(readFileSync(path.join(model.dir, "integer.onnx")));

    server.requests.length = 0;
    const again = await fetchModelFiles(entryOf(model, 3n, `${modelUrl}/`), { cacheDir, log });
    expect(again.root).to.equal(model.root);
    expect(again.dir).to.equal(entry);
    expect(server.requests, "served from the cache").to.deep.equal([]);
  });

  it("a server that serves another model's files is refused, naming the model, the URI and both roots; nothing is cached", async () => {
    const cacheDir = cache("wrong");
    // Both models have the same shape (6 in, 3 out, 2 layers, 6 wide): only the roots differ.
    await refusal(entryOf(model, 3n, otherUrl), `model 3 (${otherUrl}): model root: integer.onnx commits to ${other.root}, the registry holds ${model.root}`, { cacheDir });
    expect(readdirSync(cacheDir), "no entry and no partial download").to.deep.equal([]);
  });

  it("files whose descriptor names the registered root but whose graph commits to another are refused", async () => {
    const descriptor = JSON.parse(readFileSync(path.join(other.dir, "descriptor.json"), "utf8"));
    server.serveFile("/forged/integer.onnx", readFileSync(path.join(other.dir, "integer.onnx")));
    server.serveFile("/forged/descriptor.json", Buffer.from(JSON.stringify({ ...descriptor, modelRoot: model.root })));
    const uri = `${server.origin}/forged`;
    await refusal(entryOf(model, 4n, uri), `model 4 (${uri}): descriptor.json names model root ${model.root}, but integer.onnx commits to ${other.root}`);
  });

  it("files of the registered root but another shape are refused, each field named with both values", async () => {
    const entry = { ...entryOf(model, 5n, modelUrl), inputSize: 7n, layerCount: 3n };
    await refusal(entry, `model 5 (${modelUrl}): inputSize: the files have 6, the registry holds 7; layerCount: the files have 2, the registry holds 3`);
  });

  it("a cache entry that no longer checks out is discarded and fetched again", async () => {
    const cacheDir = cache("corrupted");
    await fetchModelFiles(entryOf(model, 3n, modelUrl), { cacheDir, log });
    const entry = path.join(cacheDir, model.root.slice(2));
    const onnx = readFileSync(path.join(entry, "integer.onnx"));
    writeFileSync(path.join(entry, "integer.onnx"), onnx.subarray(0, onnx.length - 7));
    server.requests.length = 0;

    const files = await fetchModelFiles(entryOf(model, 3n, modelUrl), { cacheDir, log });
    expect(files.root).to.equal(model.root);
    expect(server.requests, "fetched again").to.deep.equal(["/a/integer.onnx", "/a/descriptor.json"]);
    expect(readFileSync(path.join(entry, "integer.onnx"))).to.deep.equal(onnx);
    expect(warnings).to.have.length(1);
    expect(warnings[0]).to.match(/^cached model files no longer check out; fetching them again integer\.onnx is refused: /);

    // Another model's files in the entry (the root checks out for neither file) are discarded too.
    for (const name of ["integer.onnx", "descriptor.json"]) writeFileSync(path.join(entry, name), readFileSync(path.join(other.dir, name)));
    expect((await fetchModelFiles(entryOf(model, 3n, modelUrl), { cacheDir, log })).root).to.equal(model.root);
    expect(warnings[1]).to.include(`model root: integer.onnx commits to ${other.root}, the registry holds ${model.root}`);
  });

  it("a 404 and an unreachable server are named with the URL fetched", async () => {
    const missing = `${server.origin}/missing`;
    await refusal(entryOf(model, 3n, missing), `model 3 (${missing}): GET ${missing}/integer.onnx answered 404 Not Found`);
    const gone = await ModelServer.start();
    const closed = `${gone.origin}/m`;
    await gone.close();
    const e = await refusal(entryOf(model, 3n, closed), `model 3 (${closed}): GET ${closed}/integer.onnx failed: fetch failed (connect ECONNREFUSED ${closed.slice(7, -2)})`);
    expect(e.cause).to.be.instanceOf(Error);
    expect(readdirSync(cache("refused")), "no partial download left").to.deep.equal([]);
  });

  it("a server that does not answer within the timeout is refused", async () => {
    server.stall("/stalled/integer.onnx");
    const uri = `${server.origin}/stalled`;
    const e = await rejection(fetchModelFiles(entryOf(model, 3n, uri), { cacheDir: cache("refused"), timeoutMs: 50 }));
    expect(e).to.be.instanceOf(ModelSourceError);
    expect(e.message).to.equal(`model 3 (${uri}): GET ${uri}/integer.onnx took longer than 50 ms`);
  });

  it("a body over the size limit is refused, with or without a Content-Length", async () => {
    const size = readFileSync(path.join(model.dir, "integer.onnx")).length;
    const maxBytes = size - 1;
    await refusal(entryOf(model, 3n, modelUrl), `model 3 (${modelUrl}): GET ${modelUrl}/integer.onnx: the file is ${size} bytes, over the limit of ${maxBytes}`, { maxBytes });
    server.chunked = true;
    await refusal(entryOf(model, 3n, modelUrl), `model 3 (${modelUrl}): GET ${modelUrl}/integer.onnx: the file is over the limit of ${maxBytes} bytes`, { maxBytes });
    expect(readdirSync(cache("refused"))).to.deep.equal([]);
    // Streamed without a Content-Length, a body under the limit is fine.
    expect((await fetchModelFiles(entryOf(model, 3n, modelUrl), { cacheDir: cache("chunked") })).root).to.equal(model.root);
  });

  it("file: URLs and paths (absolute, or relative to baseDir) are read in place and checked the same way", async () => {
    const cacheDir = cache("local");
    const byUrl = await fetchModelFiles(entryOf(model, 3n, pathToFileURL(model.dir).href), { cacheDir });
    expect(byUrl.dir).to.equal(model.dir);
    const relative = await fetchModelFiles(entryOf(model, 3n, "owner/a"), { cacheDir, baseDir: tmp });
    expect(relative.dir).to.equal(model.dir);
    expect((await fetchModelFiles(entryOf(model, 3n, model.dir), { cacheDir })).root).to.equal(model.root);
    expect(readdirSync(tmp), "nothing copied into the cache").to.not.include("local");

    const e = await rejection(fetchModelFiles(entryOf(model, 3n, "owner/b"), { cacheDir, baseDir: tmp }));
    expect(e.message).to.equal(`model 3 (owner/b): model root: integer.onnx commits to ${other.root}, the registry holds ${model.root}`);
    const absent = path.join(tmp, "absent");
    const missing = await rejection(fetchModelFiles(entryOf(model, 3n, pathToFileURL(absent).href), { cacheDir }));
    expect(missing).to.be.instanceOf(ModelSourceError);
    expect(missing.message).to.equal(`model 3 (file://${absent}): model folder ${absent} does not exist: a model folder holds program.json (a graph program) or integer.onnx (a Dense model), with descriptor.json (npm run model -- import writes one)`);
  });

  it("a graph program's folder (program.json) is fetched and cached the same way; a Dense folder for a graph entry is refused naming both kinds", async () => {
    const graph = readGraphModelFolder(path.join(tmp, "owner", "g"));
    const root = folderRoot({ kind: "graph", files: graph });
    const cacheDir = cache("graph");
    const fetched = await fetchModelFolder(graphEntryOf(graph, 7n, graphUrl), { cacheDir, log });
    expect(fetched.kind).to.equal("graph");
    expect(folderRoot(fetched)).to.equal(root);
    expect(fetched.files.dir).to.equal(path.join(cacheDir, root.slice(2)));
    expect(server.requests).to.deep.equal(["/g/program.json", "/g/descriptor.json"]);
    server.requests.length = 0;
    expect(folderRoot(await fetchModelFolder(graphEntryOf(graph, 7n, graphUrl), { cacheDir, log }))).to.equal(root);
    expect(server.requests, "served from the cache").to.deep.equal([]);

    await refusal(graphEntryOf(graph, 7n, modelUrl), `model 7 (${modelUrl}): GET ${modelUrl}/program.json answered 404 Not Found`);
    await refusal(
      graphEntryOf(graph, 7n, model.dir),
      `model 7 (${model.dir}): kind: the registry holds a graph program (registerGraphModel), the folder is a Dense model (integer.onnx); model root: integer.onnx commits to ${model.root}, the registry holds ${root}`,
    );
    await refusal(
      entryOf(model, 3n, graphUrl),
      `model 3 (${graphUrl}): GET ${graphUrl}/integer.onnx answered 404 Not Found`,
    );
  });

  it("an unsupported scheme, a malformed URL or no URI at all is refused naming the model and the URI", async () => {
    await refusal(entryOf(model, 3n, "ipfs://bafy/model"), "model 3 (ipfs://bafy/model): unsupported URI scheme ipfs: (use http://, https://, file:// or a path)");
    await refusal(entryOf(model, 3n, "http://"), "model 3 (http://): the URI is not a valid URL: Invalid URL");
    await refusal(entryOf(model, 3n, ""), "model 3 (): no URI is registered for the model's files");
  });
});
