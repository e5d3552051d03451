import type { Server } from "node:http";
import type { AddressInfo } from "node:net";
import express, { type NextFunction, type Request, type RequestHandler, type Response } from "express";
import { stringifyJson } from "./json";
import type { Logger } from "./logger";
import type { Metrics } from "./metrics";

/**
 * The daemons' HTTP API, on express: `GET /health` (200 when ok, 503 when not), `GET /status`
 * (JSON, bigints as decimal strings), `GET /metrics` (Prometheus text format 0.0.4); anything
 * else is a 404, and a throwing handler a 500 with a logged error. Every body but /metrics is
 * JSON.
 */

export interface HealthReport {
  readonly ok: boolean;
  readonly [key: string]: unknown;
}

export interface StartHttpApiOptions {
  /** Default 127.0.0.1: the API tells how the daemon is doing; expose it on purpose. */
  readonly host?: string;
  /** 0 picks a free port. */
  readonly port: number;
  readonly logger: Logger;
  readonly metrics: Metrics;
  readonly health: () => HealthReport | Promise<HealthReport>;
  readonly status: () => unknown;
  /** How long close() lets a request still being answered finish before cutting it. Default 1000. */
  readonly closeGraceMs?: number;
}

export interface HttpApi {
  /** `http://host:port`, the port being the one bound. */
  readonly url: string;
  readonly port: number;
  /**
   * Stops listening, ends idle keep-alive connections at once and those still answering a
   * request after `closeGraceMs`; resolves when the server is closed.
   */
  close(): Promise<void>;
}

/** Starts the API; rejects with a message naming the address when it cannot listen (port in use, say). */
export async function startHttpApi(options: StartHttpApiOptions): Promise<HttpApi> {
  const { host = "127.0.0.1", port, logger, metrics, health, status, closeGraceMs = 1000 } = options;
  if (!Number.isInteger(port) || port < 0 || port > 65535) throw new RangeError(`startHttpApi: port must be an integer from 0 to 65535, got ${port}`);

  const app = express();
  app.disable("x-powered-by");
  app.disable("etag");
  const inFlight = new Set<Response>();
  app.use((_req: Request, res: Response, next: NextFunction) => {
    inFlight.add(res);
    res.on("close", () => inFlight.delete(res));
    next();
  });
  app.get(
    "/health",
    handle(async (_req, res) => {
      const report = await health();
      sendJson(res, report.ok === true ? 200 : 503, report);
    }),
  );
  app.get(
    "/status",
    handle(async (_req, res) => sendJson(res, 200, await status())),
  );
  app.get(
    "/metrics",
    handle(async (_req, res) => send(res, 200, metrics.contentType, await metrics.render())),
  );
  app.use((req: Request, res: Response) => sendJson(res, 404, { error: `not found: ${req.method} ${req.path}` }));
  // Express recognises an error handler by its four parameters.
  app.use((error: unknown, req: Request, res: Response, _next: NextFunction) => {
    logger.error("http handler failed", { method: req.method, path: req.path, error });
    if (res.headersSent) return void res.end();
    const message = error instanceof Error ? error.message.split("\n")[0] : String(error);
    sendJson(res, 500, { error: `internal error: ${message}` });
  });

  const server = await listen(app, host, port);
  const bound = (server.address() as AddressInfo).port;
  const url = `http://${host.includes(":") ? `[${host}]` : host}:${bound}`;
  logger.info("http api listening", { url });

  let closing: Promise<void> | undefined;
  return {
    url,
    port: bound,
    close: () => {
      closing ??= new Promise<void>((resolve, reject) => {
        // A request still being answered holds its connection: give it a moment, then cut it.
        const cut = setTimeout(() => server.closeAllConnections(), closeGraceMs);
        server.close((error) => {
          clearTimeout(cut);
          if (error === undefined) resolve();
          else reject(error);
        });
        server.closeIdleConnections();
        // A request being answered ends its connection with the answer instead of keeping it alive.
        for (const res of inFlight) if (!res.headersSent) res.setHeader("Connection", "close");
      }).then(() => logger.info("http api closed", { url }));
      return closing;
    },
  };
}

function listen(app: express.Express, host: string, port: number): Promise<Server> {
  return new Promise((resolve, reject) => {
    const server = app.listen(port, host);
    const onError = (error: NodeJS.ErrnoException) => {
      server.close();
      reject(new Error(`HTTP API cannot listen on ${host}:${port}: ${error.code ?? error.message}`, { cause: error }));
    };
    server.once("error", onError);
    server.once("listening", () => {
      server.off("error", onError);
      resolve(server);
    });
  });
}

/** Express 4 does not catch a rejected promise: pass it to the error handler. */
function handle(f: (req: Request, res: Response) => Promise<void>): RequestHandler {
  return (req, res, next) => {
    f(req, res).catch(next);
  };
}

function sendJson(res: Response, code: number, body: unknown): void {
  send(res, code, "application/json; charset=utf-8", stringifyJson(body));
}

/** Written as given: express's res.send would reorder the Content-Type parameters. */
function send(res: Response, code: number, contentType: string, body: string): void {
  res.writeHead(code, { "Content-Type": contentType, "Content-Length": Buffer.byteLength(body) }).end(body);
}
