import type { ChainActor } from "../chain/actor";
import { readDeployment } from "../chain/deployment";
import { connectRpc, isRetryableRpcFailure, retryingTransport, walletFor } from "../chain/rpcClients";
import { DEFAULT_MODEL_CACHE, cacheDirField } from "./cacheDirField";
import { type ConfigOf, ConfigError, field, helpText, loadConfig, redactConfig, wantsHelp } from "./config";
import { startHttpApi } from "./httpApi";
import { onShutdown, sleepUnlessStopped, stopWithParent } from "./lifecycle";
import { type Logger, createLogger } from "./logger";
import { Metrics } from "./metrics";
import { withRetry } from "./retry";

/**
 * The process around a daemon's work (the node operator, the watcher): configuration, RPC clients
 * that retry, structured logs, the HTTP API, a poll loop that backs off when a round fails, and a
 * clean shutdown on SIGTERM. The work itself is a {@link Worker} with one `tick`.
 */

/** The configuration every daemon shares. */
export const COMMON_CONFIG = {
  rpcUrl: field.url({ protocols: ["http", "https"] }).describe("JSON-RPC endpoint of the chain"),
  privateKey: field.privateKey().secret().describe("Key of the account the daemon acts as"),
  deployment: field.file().describe("deployment.json written by npm run deploy (or the demo)"),
  host: field.string().default("127.0.0.1").describe("Interface the HTTP API listens on"),
  port: field.int({ min: 0, max: 65_535 }).default(0).describe("Port of the HTTP API (0: any free port)"),
  pollMs: field.int({ min: 10, max: 600_000 }).default(1_000).describe("Milliseconds between rounds of work"),
  logLevel: field.enum(["debug", "info", "warn", "error"]).default("info").describe("Lowest level logged"),
  logFormat: field.enum(["auto", "json", "pretty"]).default("auto").describe("json: one JSON object per line; pretty: readable lines; auto: pretty at a terminal, json otherwise"),
};

/** Which models a daemon serves (core/chain/registeredModels.ts resolveServedModels); `verb` is what it does with them. */
export function modelConfig(verb: "serve" | "re-execute") {
  return {
    models: field
      .list(field.dir())
      .optional()
      .describe(`Model folders to ${verb} (a Dense model: integer.onnx, or a graph program: program.json; with descriptor.json), each checked against the registry; the MNIST reference folder (models/mnist-mlp) when neither --models nor --model-ids is given`),
    modelIds: field.list(field.bigint({ min: 1n, max: 2n ** 64n - 1n })).optional().describe(`Registered model ids to ${verb}; files fetched from each model's URI and checked against its root`),
    modelCache: cacheDirField().default(DEFAULT_MODEL_CACHE).describe("Where files fetched for --model-ids are kept, one folder per model root"),
  };
}

export interface Worker {
  tick(): Promise<void>;
  status(): unknown;
}

export interface DaemonDefinition<S extends typeof COMMON_CONFIG> {
  /** The service name in logs and metrics. */
  readonly service: string;
  readonly usage: string;
  /** How a user runs it, for the usage line of --help ("npm run node --"). */
  readonly command: string;
  readonly schema: S;
  /** Builds the work once the chain answers; may refuse to start by throwing. */
  readonly start: (actor: ChainActor, config: ConfigOf<S>, metrics: Metrics, log: Logger) => Promise<Worker>;
}

/** Longest wait between rounds after failures. */
const MAX_BACKOFF_MS = 30_000;

/**
 * Runs a daemon until SIGTERM/SIGINT; bad configuration exits 2 with every problem listed, a start
 * that fails exits 1 with its reason in one line on stderr and in a "startup failed" log line.
 */
export async function runDaemon<S extends typeof COMMON_CONFIG>(def: DaemonDefinition<S>, argv = process.argv.slice(2)): Promise<void> {
  if (wantsHelp(argv)) {
    process.stdout.write(`${def.usage}\n\n${helpText(def.schema, { command: def.command })}\n`);
    return;
  }
  let config: ConfigOf<S>;
  try {
    config = loadConfig(def.schema, { argv });
  } catch (e) {
    if (!(e instanceof ConfigError)) throw e;
    process.stderr.write(`${def.service}: ${e.message}\n(see --help)\n`);
    process.exitCode = 2;
    return;
  }
  // The shared keys, typed (every daemon's schema extends COMMON_CONFIG).
  const common = config as unknown as ConfigOf<typeof COMMON_CONFIG>;
  const format = common.logFormat === "auto" ? (process.stdout.isTTY ? "pretty" : "json") : common.logFormat;
  const log = createLogger({ service: def.service, level: common.logLevel, format });
  const metrics = new Metrics(`${def.service.replace(/-/g, "_")}_`, { processMetrics: true });
  const shutdown = onShutdown(() => undefined, { logger: log });
  // Started by `npm run …`: a daemon whose npm is gone stops too (SIGTERM to npm reaches it through
  // the script's `exec`; a killed npm only shows as a new parent).
  if (process.env.npm_lifecycle_event !== undefined) stopWithParent(shutdown);
  log.info("starting", { config: redactConfig(def.schema, config) });

  // Anything that stops the start (no deployment file, no RPC, another chain, a model that does not
  // match the registry, a port in use) ends the process with one clear line, not a stack trace.
  try {
    const deployment = readDeployment(common.deployment);
    // At start the daemon waits a little for a chain that is still coming up (about 10 s in all), one
    // plain request per attempt and one warning line each, then gives up with the cause. Once it is
    // connected, every request retries on its own for a few seconds (a node restarting, a dropped connection).
    await withRetry(() => connectRpc(common.rpcUrl), {
      retries: 5,
      baseMs: 500,
      maxMs: 4_000,
      label: `connect to ${common.rpcUrl}`,
      isRetryable: isRetryableRpcFailure,
      signal: shutdown.signal,
      onRetry: (info) => log.warn("RPC not answering; retrying", { url: common.rpcUrl, attempt: info.attempt, retryInMs: info.delayMs, cause: (info.error as Error).message }),
    });
    const transport = retryingTransport(common.rpcUrl, { signal: shutdown.signal, onRetry: (info) => log.warn("RPC request failed; retrying", { url: common.rpcUrl, ...info }) });
    const clients = await connectRpc(common.rpcUrl, { transport, pollingIntervalMs: Math.min(common.pollMs, 1_000) });
    if (clients.chain.id !== deployment.chainId) throw new Error(`${common.deployment} is for chain ${deployment.chainId}, ${common.rpcUrl} is chain ${clients.chain.id}`);
    const actor: ChainActor = { publicClient: clients.publicClient, walletClient: walletFor(clients, common.privateKey as `0x${string}`), deployment, log };
    const worker = await def.start(actor, config, metrics, log);

    const ticks = metrics.counter("ticks_total", "Rounds of work", ["ok"]);
    let lastOk = Date.now();
    let failures = 0;
    /** The last round that failed, kept after later rounds succeed: what an operator asks first. */
    let lastError: { time: string; message: string } | undefined;
    const api = await startHttpApi({
      host: common.host,
      port: common.port,
      logger: log,
      metrics,
      health: () => ({ ok: failures < 5, address: actor.walletClient.account.address, lastOkSecondsAgo: Math.round((Date.now() - lastOk) / 1000), failures, lastError: lastError ?? null }),
      status: () => worker.status(),
    });
    shutdown.add(() => api.close(), "close the HTTP API");
    log.info("ready", { address: actor.walletClient.account.address, api: api.url, chainId: clients.chain.id });

    const loop = (async () => {
      while (!shutdown.stopping) {
        try {
          await worker.tick();
          ticks.inc({ ok: "true" });
          lastOk = Date.now();
          failures = 0;
        } catch (e) {
          ticks.inc({ ok: "false" });
          failures++;
          lastError = { time: new Date().toISOString(), message: e instanceof Error ? e.message.split("\n")[0] : String(e) };
          log.warn("round failed; backing off", { error: e, failures });
        }
        const wait = failures === 0 ? common.pollMs : Math.min(MAX_BACKOFF_MS, common.pollMs * 2 ** failures);
        await sleepUnlessStopped(wait, shutdown.signal);
      }
    })();
    shutdown.add(() => loop, "finish the current round");
  } catch (e) {
    // A signal during the start stops the retries; the shutdown exits then.
    if (shutdown.stopping) return;
    log.error("startup failed", { error: e });
    shutdown.dispose();
    // A value that only the start could check (against the chain or the models) is bad configuration too.
    if (e instanceof ConfigError) {
      process.stderr.write(`${def.service}: ${e.message}\n`);
      process.exitCode = 2;
      return;
    }
    process.stderr.write(`${def.service}: cannot start: ${e instanceof Error ? e.message.split("\n")[0] : String(e)}\n`);
    process.exitCode = 1;
  }
}
