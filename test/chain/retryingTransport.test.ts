import { expect } from "chai";
import { type Server, createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { createPublicClient } from "viem";
import { retryingTransport } from "../../core/chain/rpcClients";

/**
 * The daemons' RPC transport against a scripted JSON-RPC server on loopback: transient failures are
 * retried with backoff, a revert is not (viem alone would repeat it, Hardhat reporting reverts as -32603).
 */
describe("retryingTransport", () => {
  let server: Server;
  let url: string;
  let answers: ((id: number) => { status: number; body: unknown })[] = [];
  let requests = 0;

  before(async () => {
    server = createServer((req, res) => {
      let body = "";
      req.on("data", (c) => (body += c));
      req.on("end", () => {
        requests++;
        const { id } = JSON.parse(body) as { id: number };
        const answer = (answers.shift() ?? ((i: number) => ({ status: 200, body: { jsonrpc: "2.0", id: i, result: "0x7a69" } })))(id);
        res.writeHead(answer.status, { "content-type": "application/json" }).end(JSON.stringify(answer.body));
      });
    });
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  after(() => new Promise<void>((resolve) => server.close(() => resolve())));
  beforeEach(() => {
    requests = 0;
    answers = [];
  });

  const client = () => createPublicClient({ transport: retryingTransport(url, { baseMs: 1, maxMs: 2, jitter: false }) });

  it("retries HTTP 503 and a node's internal error, then succeeds", async () => {
    answers = [() => ({ status: 503, body: "busy" }), (id) => ({ status: 200, body: { jsonrpc: "2.0", id, error: { code: -32603, message: "internal error" } } })];
    expect(await client().getChainId()).to.equal(31337);
    expect(requests).to.equal(3);
  });

  it("does not repeat a revert", async () => {
    answers = [(id) => ({ status: 200, body: { jsonrpc: "2.0", id, error: { code: -32603, message: "VM Exception while processing transaction: reverted with custom error 'X()'" } } })];
    let error: unknown;
    await client()
      .getChainId()
      .catch((e) => (error = e));
    expect(String(error)).to.match(/revert/);
    expect(requests).to.equal(1);
  });

  it("gives up after its retries with the last cause", async () => {
    answers = Array.from({ length: 10 }, () => () => ({ status: 502, body: "bad gateway" }));
    let error: unknown;
    await client()
      .getChainId()
      .catch((e) => (error = e));
    expect(String(error)).to.match(/eth_chainId/);
    expect(requests).to.equal(5); // 1 + 4 retries
  });
});
