import http from "node:http";
import type { AddressInfo } from "node:net";

/** What a {@link FakeRpc} answers every request with. */
export type FakeRpcMode =
  /** passes the request on to the real chain and its answer back */
  | "forward"
  /** HTTP 200 with an HTML page */
  | "garbage"
  /** HTTP 500 with a plain-text body */
  | "http 500"
  /** a JSON-RPC error object, -32601 method not found */
  | "rpc error"
  /** a JSON-RPC endpoint of chain 1 that knows eth_chainId and nothing else */
  | "chain 1";

export interface FakeRpc {
  /** `http://127.0.0.1:<port>`. */
  readonly url: string;
  /** Switches what it answers, from the next request on. */
  setMode(mode: FakeRpcMode): void;
  close(): Promise<void>;
}

/** The HTML page of "garbage" mode. */
export const GARBAGE = "<html><body>It works!</body></html>";
/** The body of "http 500" mode. */
export const HTTP_500_BODY = "upstream exploded";

/**
 * A loopback HTTP server standing where a daemon expects a JSON-RPC endpoint: a broken one, another
 * chain, or a proxy to a real chain (`upstream`) that a test can break and mend while a daemon uses it.
 */
export async function startFakeRpc(initial: FakeRpcMode, upstream?: string): Promise<FakeRpc> {
  let mode = initial;
  const json = (res: http.ServerResponse, value: unknown) => res.writeHead(200, { "content-type": "application/json" }).end(JSON.stringify(value));
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => {
      const body = Buffer.concat(chunks).toString("utf8");
      const request = () => JSON.parse(body) as { id: number; method: string };
      switch (mode) {
        case "garbage":
          return res.writeHead(200, { "content-type": "text/html" }).end(GARBAGE);
        case "http 500":
          return res.writeHead(500, { "content-type": "text/plain" }).end(HTTP_500_BODY);
        case "rpc error":
          return json(res, { jsonrpc: "2.0", id: request().id, error: { code: -32601, message: "method not found" } });
        case "chain 1": {
          const { id, method } = request();
          return json(res, method === "eth_chainId" ? { jsonrpc: "2.0", id, result: "0x1" } : { jsonrpc: "2.0", id, error: { code: -32601, message: "method not found" } });
        }
        case "forward":
          if (!upstream) throw new Error("a forwarding fake RPC needs an upstream URL");
          return void fetch(upstream, { method: "POST", headers: { "content-type": "application/json" }, body }).then(
            async (up) => res.writeHead(up.status, { "content-type": "application/json" }).end(await up.text()),
            () => res.writeHead(502).end(),
          );
      }
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    setMode: (m) => {
      mode = m;
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
