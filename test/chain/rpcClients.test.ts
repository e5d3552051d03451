import { expect } from "chai";
import { HttpRequestError, MethodNotFoundRpcError, RpcRequestError } from "viem";
import { connectRpc, describeRpcFailure, isRetryableRpcFailure, retryingTransport } from "../../core/chain/rpcClients";
import { RetryError } from "../../core/service/retry";
import { GARBAGE, type FakeRpc, startFakeRpc } from "../helpers/fakeRpc";
import { rejection } from "../helpers/expectThrows";

const URL_ = "http://127.0.0.1:8545";
const notJson = () => new HttpRequestError({ url: URL_, cause: new SyntaxError(`Unexpected token '<', "<html>" is not valid JSON`) });
const refused = () => new HttpRequestError({ url: URL_, cause: Object.assign(new TypeError("fetch failed"), { cause: Object.assign(new Error("connect ECONNREFUSED 127.0.0.1:8545"), { code: "ECONNREFUSED" }) }) });

describe("rpcClients (core/chain/rpcClients.ts)", () => {
  describe("isRetryableRpcFailure", () => {
    it("retries what core/service/retry.ts retries: a refused connection, HTTP 500", () => {
      expect(isRetryableRpcFailure(refused())).to.equal(true);
      expect(isRetryableRpcFailure(new HttpRequestError({ url: URL_, status: 500 }))).to.equal(true);
    });

    it("does not retry an answer that is not JSON, however deep in the cause chain", () => {
      expect(isRetryableRpcFailure(notJson())).to.equal(false);
      expect(isRetryableRpcFailure(new Error("no JSON-RPC answer", { cause: notJson() }))).to.equal(false);
    });
  });

  describe("describeRpcFailure", () => {
    it("says what viem's 'HTTP request failed.' leaves out: the status, the refusal, the body that is not JSON", () => {
      expect(describeRpcFailure(new HttpRequestError({ url: URL_, status: 500, details: '"oops"' }))).to.equal('HTTP 500 ("oops")');
      expect(describeRpcFailure(refused())).to.equal("HTTP request failed (connect ECONNREFUSED 127.0.0.1:8545)");
      expect(describeRpcFailure(notJson())).to.equal(`HTTP request failed (Unexpected token '<', "<html>" is not valid JSON)`);
      const exhausted = new RetryError("eth_chainId failed after 5 attempts", 5, new HttpRequestError({ url: URL_, status: 503, details: "Service Unavailable" }));
      expect(describeRpcFailure(new Error("wrapped", { cause: exhausted }))).to.equal("HTTP 503 (Service Unavailable)");
    });

    it("gives a JSON-RPC error's short message with the server's own words", () => {
      const e = new MethodNotFoundRpcError(new RpcRequestError({ body: {}, url: URL_, error: { code: -32601, message: "method not found" } }), { method: "eth_chainId" });
      expect(describeRpcFailure(e)).to.equal('The method "eth_chainId" does not exist / is not available. (method not found)');
    });
  });

  describe("connectRpc and retryingTransport against endpoints that are not JSON-RPC", () => {
    const servers: FakeRpc[] = [];
    after(async () => {
      await Promise.all(servers.map((s) => s.close()));
    });
    const serve = async (mode: Parameters<typeof startFakeRpc>[0]) => {
      const s = await startFakeRpc(mode);
      servers.push(s);
      return s;
    };

    it("refuses a web page at once, naming the URL and the answer", async () => {
      const { url } = await serve("garbage");
      const retries: unknown[] = [];
      const e = await rejection(connectRpc(url, { transport: retryingTransport(url, { onRetry: (info) => retries.push(info) }) }));
      expect(e.message).to.equal(`no JSON-RPC answer from ${url}: HTTP request failed (Unexpected token '<', ${JSON.stringify(GARBAGE.slice(0, 10))}... is not valid JSON)`);
      expect(retries).to.deep.equal([]);
    });

    it("retries HTTP 500 and then names the status", async () => {
      const { url } = await serve("http 500");
      const retries: unknown[] = [];
      const e = await rejection(connectRpc(url, { transport: retryingTransport(url, { retries: 2, baseMs: 1, maxMs: 1, onRetry: (info) => retries.push(info) }) }));
      expect(e.message).to.equal(`no JSON-RPC answer from ${url}: HTTP 500 ("upstream exploded")`);
      expect(retries).to.have.length(2);
    });

    it("reads the chain id an endpoint gives", async () => {
      const { url } = await serve("chain 1");
      expect((await connectRpc(url)).chain.id).to.equal(1);
    });
  });
});
