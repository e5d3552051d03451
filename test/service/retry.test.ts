import http from "node:http";
import type { AddressInfo } from "node:net";
import { expect } from "chai";
import {
  ContractFunctionExecutionError,
  ContractFunctionRevertedError,
  createPublicClient,
  encodeErrorResult,
  ExecutionRevertedError,
  HttpRequestError,
  http as httpTransport,
  InternalRpcError,
  LimitExceededRpcError,
  parseAbi,
  RpcRequestError,
  TimeoutError,
} from "viem";
import { backoffDelay, defaultIsRetryable, RetryError, type RetryInfo, withRetry } from "../../core/service/retry";

const URL_ = "http://127.0.0.1:8545";
const ABI = parseAbi(["function value() view returns (uint256)", "error Error(string)"]);
const REVERT_DATA = encodeErrorResult({ abi: ABI, errorName: "Error", args: ["job already taken"] });

const httpError = (status?: number) => new HttpRequestError({ url: URL_, status, cause: status ? undefined : new TypeError("fetch failed") });
const rpcError = (code: number, message = "boom") => new RpcRequestError({ body: {}, url: URL_, error: { code, message } });
/** A revert as viem reports it from Hardhat: an internal error (-32603) under ContractFunctionRevertedError. */
const revertError = () =>
  new ContractFunctionExecutionError(
    new ContractFunctionRevertedError({ abi: ABI, functionName: "value", data: REVERT_DATA, cause: new InternalRpcError(rpcError(-32603, "reverted")) }),
    { abi: ABI, functionName: "value" },
  );

/** A fn failing with `errors` in turn, then resolving "done". */
function failing(errors: unknown[]) {
  const calls: number[] = [];
  const fn = async (attempt: number) => {
    calls.push(attempt);
    if (calls.length <= errors.length) throw errors[calls.length - 1];
    return "done";
  };
  return { fn, calls };
}

function recorder() {
  const sleeps: number[] = [];
  const retries: RetryInfo[] = [];
  return { sleeps, retries, sleep: async (ms: number) => void sleeps.push(ms), onRetry: (i: RetryInfo) => void retries.push(i) };
}

describe("core/service/retry", () => {
  describe("backoffDelay", () => {
    it("grows by factor from baseMs up to maxMs; jitter draws between half and all of it", () => {
      const opts = { baseMs: 100, maxMs: 500 };
      expect([1, 2, 3, 4, 5].map((a) => backoffDelay(a, { ...opts, jitter: false }))).to.deep.equal([100, 200, 400, 500, 500]);
      expect([1, 2, 3].map((a) => backoffDelay(a, { ...opts, factor: 3, jitter: false }))).to.deep.equal([100, 300, 500]);
      expect([1, 2, 3, 4].map((a) => backoffDelay(a, { ...opts, random: () => 0 }))).to.deep.equal([50, 100, 200, 250]);
      expect([1, 2, 3, 4].map((a) => backoffDelay(a, { ...opts, random: () => 0.5 }))).to.deep.equal([75, 150, 300, 375]);
    });
  });

  describe("withRetry", () => {
    it("succeeds after k failures, waiting the backoff delays in between", async () => {
      const { fn, calls } = failing([httpError(), new TimeoutError({ body: {}, url: URL_ }), rpcError(429)]);
      const r = recorder();
      const result = await withRetry(fn, { retries: 5, baseMs: 100, maxMs: 1_000, random: () => 0.5, sleep: r.sleep, onRetry: r.onRetry });
      expect(result).to.equal("done");
      expect(calls).to.deep.equal([1, 2, 3, 4]);
      expect(r.sleeps).to.deep.equal([75, 150, 300]);
      expect(r.retries.map(({ attempt, delayMs }) => [attempt, delayMs])).to.deep.equal([[1, 75], [2, 150], [3, 300]]);
      expect(r.retries[2].error).to.be.instanceOf(RpcRequestError);
    });

    it("does not wait when the first attempt succeeds", async () => {
      const r = recorder();
      expect(await withRetry(async () => 7, { retries: 3, baseMs: 1, maxMs: 1, sleep: r.sleep })).to.equal(7);
      expect(r.sleeps).to.be.empty;
    });

    it("rethrows a viem revert at once, as it is, though an internal RPC error lies under it", async () => {
      const revert = revertError();
      const { fn, calls } = failing([httpError(503), revert]);
      const r = recorder();
      let error: unknown;
      await withRetry(fn, { retries: 5, baseMs: 10, maxMs: 10, sleep: r.sleep }).catch((e) => (error = e));
      expect(error).to.equal(revert);
      expect(calls).to.deep.equal([1, 2]);
      expect(r.sleeps).to.have.length(1);
    });

    it("rethrows our own errors at once", async () => {
      const own = new RangeError("model not registered");
      const { fn, calls } = failing([own]);
      let error: unknown;
      await withRetry(fn, { retries: 5, baseMs: 10, maxMs: 10, sleep: recorder().sleep }).catch((e) => (error = e));
      expect(error).to.equal(own);
      expect(calls).to.deep.equal([1]);
    });

    it("gives up after retries + 1 attempts with a RetryError naming the count and wrapping the last error", async () => {
      const last = httpError(502);
      const { fn, calls } = failing([httpError(), httpError(), httpError(), last]);
      const r = recorder();
      let error: unknown;
      await withRetry(fn, { retries: 3, baseMs: 100, maxMs: 250, jitter: false, sleep: r.sleep, label: "getBlockNumber" }).catch((e) => (error = e));
      expect(error).to.be.instanceOf(RetryError);
      expect((error as RetryError).message).to.equal("getBlockNumber failed after 4 attempts: HttpRequestError: HTTP request failed.");
      expect((error as RetryError).attempts).to.equal(4);
      expect((error as RetryError).cause).to.equal(last);
      expect(calls).to.deep.equal([1, 2, 3, 4]);
      expect(r.sleeps).to.deep.equal([100, 200, 250]);
    });

    it("with retries 0, one attempt", async () => {
      const { fn, calls } = failing([httpError()]);
      let error: unknown;
      await withRetry(fn, { retries: 0, baseMs: 1, maxMs: 1 }).catch((e) => (error = e));
      expect((error as Error).message).to.equal("operation failed after 1 attempt: HttpRequestError: HTTP request failed.");
      expect(calls).to.deep.equal([1]);
    });

    it("uses isRetryable when given", async () => {
      const { fn, calls } = failing([new Error("flaky"), new Error("flaky")]);
      const result = await withRetry(fn, { retries: 2, baseMs: 1, maxMs: 1, sleep: recorder().sleep, isRetryable: (e) => (e as Error).message === "flaky" });
      expect(result).to.equal("done");
      expect(calls).to.have.length(3);
    });

    it("stops when the signal aborts during a wait, without another attempt", async () => {
      const controller = new AbortController();
      const { fn, calls } = failing([httpError(), httpError(), httpError()]);
      let error: unknown;
      const t0 = Date.now();
      const running = withRetry(fn, { retries: 5, baseMs: 60_000, maxMs: 60_000, signal: controller.signal, label: "poll" }).catch((e) => (error = e));
      setImmediate(() => controller.abort());
      await running;
      expect(Date.now() - t0).to.be.lessThan(1_000);
      expect((error as Error).message).to.equal("poll stopped after 1 attempt: HttpRequestError: HTTP request failed.");
      expect(calls).to.deep.equal([1]);
    });

    it("rejects a bad retries count", async () => {
      let error: unknown;
      await withRetry(async () => 1, { retries: -1, baseMs: 1, maxMs: 1 }).catch((e) => (error = e));
      expect(error).to.be.instanceOf(RangeError);
    });
  });

  describe("defaultIsRetryable", () => {
    const table: [string, unknown, boolean][] = [
      ["HttpRequestError without a response (fetch failed)", httpError(), true],
      ["HttpRequestError 429", httpError(429), true],
      ["HttpRequestError 503", httpError(503), true],
      ["HttpRequestError 400", httpError(400), false],
      ["HttpRequestError 401", httpError(401), false],
      ["TimeoutError", new TimeoutError({ body: {}, url: URL_ }), true],
      ["RpcRequestError -32603", rpcError(-32603), true],
      ["RpcRequestError -32005", rpcError(-32005), true],
      ["RpcRequestError 429", rpcError(429), true],
      ["RpcRequestError -32602 invalid params", rpcError(-32602), false],
      ["RpcRequestError -32601 method not found", rpcError(-32601), false],
      ["InternalRpcError", new InternalRpcError(new Error("internal")), true],
      ["LimitExceededRpcError", new LimitExceededRpcError(new Error("slow down")), true],
      ["RpcRequestError -32603 saying execution reverted", rpcError(-32603, "execution reverted: not allowed"), false],
      ["a socket error code in the cause (ECONNREFUSED)", new TypeError("fetch failed", { cause: Object.assign(new Error("connect"), { code: "ECONNREFUSED" }) }), true],
      ["ECONNRESET", Object.assign(new Error("socket hang up"), { code: "ECONNRESET" }), true],
      ["ETIMEDOUT", Object.assign(new Error("timeout"), { code: "ETIMEDOUT" }), true],
      ["ContractFunctionExecutionError over a transport failure", new ContractFunctionExecutionError(httpError(), { abi: ABI, functionName: "value" }), true],
      ["ContractFunctionExecutionError over a revert", revertError(), false],
      ["ContractFunctionRevertedError", new ContractFunctionRevertedError({ abi: ABI, functionName: "value", message: "execution reverted" }), false],
      ["ExecutionRevertedError", new ExecutionRevertedError({ message: "execution reverted", cause: rpcError(-32603) }), false],
      ["an abort", Object.assign(new Error("aborted"), { name: "AbortError" }), false],
      ["our own error", new Error("trace mismatch"), false],
      ["a thrown string", "ECONNREFUSED", false],
      ["undefined", undefined, false],
    ];
    for (const [name, error, expected] of table) it(`${expected ? "retries" : "does not retry"} ${name}`, () => expect(defaultIsRetryable(error)).to.equal(expected));
  });

  describe("with viem's HTTP transport against a local JSON-RPC server", () => {
    let server: http.Server;
    let url: string;
    let replies: ((res: http.ServerResponse, id: unknown) => void)[];
    const result = (res: http.ServerResponse, id: unknown, body: object) =>
      res.writeHead(200, { "content-type": "application/json" }).end(JSON.stringify({ jsonrpc: "2.0", id, ...body }));

    before(async () => {
      server = http.createServer((req, res) => {
        let body = "";
        req.on("data", (c) => (body += c));
        req.on("end", () => {
          const reply = replies.shift() ?? ((r, id) => result(r, id, { result: `0x${"0".repeat(62)}2a` }));
          reply(res, (JSON.parse(body) as { id: unknown }).id);
        });
      });
      await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
      url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    });
    after(() => new Promise<void>((resolve) => server.close(() => resolve())));
    beforeEach(() => (replies = []));

    const read = () =>
      createPublicClient({ transport: httpTransport(url, { retryCount: 0 }) }).readContract({ address: "0x0000000000000000000000000000000000000001", abi: ABI, functionName: "value" });

    it("retries 503 and rate-limit answers until the call succeeds", async () => {
      replies.push((res) => res.writeHead(503).end("busy"));
      replies.push((res, id) => result(res, id, { error: { code: -32005, message: "limit exceeded" } }));
      const r = recorder();
      expect(await withRetry(read, { retries: 3, baseMs: 1, maxMs: 1, sleep: r.sleep })).to.equal(42n);
      expect(r.sleeps).to.have.length(2);
    });

    it("does not retry a revert that the node reports as an internal error", async () => {
      const revert = { error: { code: -32603, message: "Error: VM Exception while processing transaction: reverted with reason string 'job already taken'", data: REVERT_DATA } };
      replies.push((res, id) => result(res, id, revert));
      const r = recorder();
      let error: unknown;
      await withRetry(read, { retries: 3, baseMs: 1, maxMs: 1, sleep: r.sleep }).catch((e) => (error = e));
      expect(error).to.be.instanceOf(ContractFunctionExecutionError);
      expect((error as ContractFunctionExecutionError).cause).to.be.instanceOf(ContractFunctionRevertedError);
      expect(((error as ContractFunctionExecutionError).cause as ContractFunctionRevertedError).reason).to.equal("job already taken");
      expect(r.sleeps).to.be.empty;
    });

    it("retries a refused connection", async () => {
      const closed = http.createServer();
      await new Promise<void>((resolve) => closed.listen(0, "127.0.0.1", resolve));
      const port = (closed.address() as AddressInfo).port;
      await new Promise<void>((resolve) => closed.close(() => resolve()));
      const client = createPublicClient({ transport: httpTransport(`http://127.0.0.1:${port}`, { retryCount: 0 }) });
      let error: unknown;
      await withRetry(() => client.getBlockNumber(), { retries: 1, baseMs: 1, maxMs: 1 }).catch((e) => (error = e));
      expect(error).to.be.instanceOf(RetryError);
      expect((error as RetryError).attempts).to.equal(2);
      expect((error as RetryError).cause).to.be.instanceOf(HttpRequestError);
    });
  });
});
