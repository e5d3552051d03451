import { mkdirSync, readFileSync, readdirSync, writeFileSync } from "node:fs";
import http from "node:http";
import type { AddressInfo } from "node:net";
import path from "node:path";
import { graphRegistration } from "../../core/chain/graphModelRegistration";
import type { ModelEntry } from "../../core/chain/modelRegistration";
import { commitModel } from "../../core/commitments";
import type { GraphModelFiles } from "../../core/graph/modelFolder";
import { modelShape } from "../../core/model";
import { describeModel } from "../../core/modelDescriptor";
import type { ModelFiles } from "../../core/modelFiles";
import { buildIntegerOnnx } from "../../core/onnx/integerGraph";
import { Rng } from "../../core/rng";
import { syntheticModel } from "../../scripts/lib/syntheticModel";

/**
 * Test helpers for model distribution: small synthetic model folders, the registry entry a folder
 * would have, and a loopback HTTP server that serves folders and counts the requests it answers.
 */

/** Writes a seeded synthetic model folder (integer.onnx + descriptor.json) with layer sizes `sizes` into `dir`. */
export function writeSyntheticModel(dir: string, seed: number, sizes: readonly number[]): string {
  const model = syntheticModel(new Rng(seed), { sizes, style: "scaled" });
  mkdirSync(dir, { recursive: true });
  writeFileSync(path.join(dir, "integer.onnx"), buildIntegerOnnx(model));
  writeFileSync(path.join(dir, "descriptor.json"), JSON.stringify(describeModel(`synthetic-${seed}`, model, commitModel(model), { inputScale: 0.05 }), null, 2));
  return dir;
}

/** The registry entry `files` would have as model `modelId` published at `uri`. */
export function entryOf(files: ModelFiles, modelId: bigint, uri: string): ModelEntry {
  const shape = modelShape(files.model);
  return {
    modelId,
    root: files.root,
    inputSize: BigInt(shape.inputSize),
    outputSize: BigInt(shape.outputSize),
    layerCount: BigInt(shape.layerCount),
    maxWidth: BigInt(shape.maxWidth),
    uri,
  };
}

/** The registry entry the graph program in `files` would have as model `modelId` published at `uri` (registerGraphModel). */
export function graphEntryOf(files: GraphModelFiles, modelId: bigint, uri: string): ModelEntry {
  const { root, inputSize, outputSize, shape } = graphRegistration(files);
  return { modelId, root, inputSize: BigInt(inputSize), outputSize: BigInt(outputSize), layerCount: BigInt(shape.leafCount - 1), maxWidth: 0n, graph: shape, uri };
}

/** A loopback HTTP server: GET of a path it was given answers its bytes, anything else 404. */
export class ModelServer {
  /** Every path requested, in order. */
  readonly requests: string[] = [];
  private readonly bodies = new Map<string, Uint8Array>();
  private readonly stalled = new Set<string>();
  /** Send bodies in chunks without a Content-Length (as a streaming server does). */
  chunked = false;

  private constructor(private readonly server: http.Server) {
    server.on("request", (req: http.IncomingMessage, res: http.ServerResponse) => {
      const url = req.url ?? "/";
      this.requests.push(url);
      if (this.stalled.has(url)) return; // never answered
      const body = this.bodies.get(url);
      if (body === undefined) {
        res.writeHead(404).end("not found");
        return;
      }
      if (!this.chunked) {
        res.writeHead(200, { "content-length": body.length }).end(body);
        return;
      }
      res.writeHead(200);
      for (let i = 0; i < body.length; i += 4096) res.write(body.subarray(i, i + 4096));
      res.end();
    });
  }

  /** Listens on 127.0.0.1, on a free port. */
  static async start(): Promise<ModelServer> {
    const server = http.createServer();
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    return new ModelServer(server);
  }

  get origin(): string {
    return `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
  }

  /** Serves every file of `dir` under `/<name>/`; returns that folder's URL (no trailing slash). */
  serveFolder(name: string, dir: string): string {
    for (const file of readdirSync(dir)) this.serveFile(`/${name}/${file}`, readFileSync(path.join(dir, file)));
    return `${this.origin}/${name}`;
  }

  serveFile(urlPath: string, body: Uint8Array): void {
    this.bodies.set(urlPath, body);
  }

  /** Requests for `urlPath` are never answered. */
  stall(urlPath: string): void {
    this.stalled.add(urlPath);
  }

  async close(): Promise<void> {
    this.server.closeAllConnections();
    await new Promise<void>((resolve, reject) => this.server.close((e) => (e ? reject(e) : resolve())));
  }
}
