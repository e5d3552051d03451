import net from "node:net";
import { expect } from "chai";
import { type HealthReport, type HttpApi, startHttpApi, type StartHttpApiOptions } from "../../core/service/httpApi";
import { createLogger, parseLogLine } from "../../core/service/logger";
import { Metrics } from "../../core/service/metrics";

describe("core/service/httpApi", () => {
  let api: HttpApi | undefined;
  let lines: string[];
  let health: HealthReport;
  let status: () => unknown;
  const metrics = new Metrics("test");
  metrics.counter("polls_total", "Polls.").inc(undefined, 3);

  async function start(overrides: Partial<StartHttpApiOptions> = {}): Promise<HttpApi> {
    lines = [];
    const logger = createLogger({ service: "api", level: "debug", write: (l) => lines.push(l) });
    api = await startHttpApi({ port: 0, logger, metrics, health: () => health, status: () => status(), ...overrides });
    return api;
  }

  beforeEach(() => {
    health = { ok: true, block: 12n };
    status = () => ({ jobs: [{ id: 1n, fee: 10n ** 18n }], root: new Uint8Array([0xde, 0xad]) });
  });
  afterEach(async () => {
    await api?.close();
    api = undefined;
  });

  it("listens on 127.0.0.1 and a free port when given port 0", async () => {
    const { url, port } = await start();
    expect(port).to.be.greaterThan(0);
    expect(url).to.equal(`http://127.0.0.1:${port}`);
    expect(lines.map((l) => parseLogLine(l)?.msg)).to.include("http api listening");
  });

  describe("GET /health", () => {
    it("answers 200 with the report when ok", async () => {
      const res = await fetch(`${(await start()).url}/health`);
      expect(res.status).to.equal(200);
      expect(res.headers.get("content-type")).to.equal("application/json; charset=utf-8");
      expect(await res.json()).to.deep.equal({ ok: true, block: "12" });
    });

    it("answers 503 with the report when not ok", async () => {
      health = { ok: false, reason: "rpc unreachable" };
      const res = await fetch(`${(await start()).url}/health`);
      expect(res.status).to.equal(503);
      expect(await res.json()).to.deep.equal({ ok: false, reason: "rpc unreachable" });
    });
  });

  describe("GET /status", () => {
    it("answers the status as JSON, bigints as decimal strings and bytes as hex", async () => {
      const res = await fetch(`${(await start()).url}/status`);
      expect(res.status).to.equal(200);
      expect(await res.json()).to.deep.equal({ jobs: [{ id: "1", fee: "1000000000000000000" }], root: "0xdead" });
    });

    it("awaits an async status", async () => {
      status = async () => ({ height: 5n });
      expect(await (await fetch(`${(await start()).url}/status`)).json()).to.deep.equal({ height: "5" });
    });

    it("answers 500 with the error and logs it when the status handler throws", async () => {
      status = () => {
        throw new Error("chain state not loaded\nsecond line");
      };
      const res = await fetch(`${(await start()).url}/status`);
      expect(res.status).to.equal(500);
      expect(await res.json()).to.deep.equal({ error: "internal error: chain state not loaded" });
      const logged = lines.map((l) => parseLogLine(l)).find((r) => r?.level === "error");
      expect(logged).to.deep.include({ msg: "http handler failed", method: "GET", path: "/status" });
      expect(logged?.error).to.deep.include({ name: "Error" });
    });

    it("answers 500 when an async status rejects", async () => {
      status = () => Promise.reject(new TypeError("boom"));
      const res = await fetch(`${(await start()).url}/status`);
      expect(res.status).to.equal(500);
      expect(await res.json()).to.deep.equal({ error: "internal error: boom" });
    });
  });

  it("GET /metrics answers the registry in the Prometheus text format 0.0.4", async () => {
    const res = await fetch(`${(await start()).url}/metrics`);
    expect(res.status).to.equal(200);
    expect(res.headers.get("content-type")).to.equal("text/plain; version=0.0.4; charset=utf-8");
    expect(await res.text()).to.equal(await metrics.render()).and.to.contain("test_polls_total 3\n");
  });

  it("answers 404 JSON for any other path or method", async () => {
    const { url } = await start();
    for (const [method, path] of [["GET", "/nope"], ["GET", "/"], ["POST", "/status"], ["DELETE", "/health"]]) {
      const res = await fetch(`${url}${path}`, { method });
      expect(res.status, `${method} ${path}`).to.equal(404);
      expect(await res.json()).to.deep.equal({ error: `not found: ${method} ${path}` });
    }
  });

  describe("close", () => {
    it("frees the port promptly, keep-alive connections included", async () => {
      const { url, port } = await start();
      const res = await fetch(`${url}/health`, { headers: { connection: "keep-alive" } });
      await res.json();
      const t0 = Date.now();
      await api?.close();
      expect(Date.now() - t0).to.be.lessThan(500);
      api = undefined;
      await new Promise<void>((resolve, reject) => {
        const probe = net.createServer().once("error", reject);
        probe.listen(port, "127.0.0.1", () => probe.close(() => resolve()));
      });
      expect(lines.map((l) => parseLogLine(l)?.msg)).to.include("http api closed");
    });

    it("lets a request being answered finish within the grace period, then closes", async () => {
      let entered = () => {};
      const inHandler = new Promise<void>((resolve) => (entered = resolve));
      let answer = () => {};
      status = () => {
        entered();
        return new Promise((resolve) => (answer = () => resolve({ late: true })));
      };
      const { url } = await start({ closeGraceMs: 5_000 });
      const pending = fetch(`${url}/status`).then((r) => r.json());
      await inHandler;
      const closed = api?.close();
      api = undefined;
      const t0 = Date.now();
      answer();
      expect(await pending).to.deep.equal({ late: true });
      await closed;
      expect(Date.now() - t0).to.be.lessThan(1_000);
    });

    it("cuts a request still being answered after the grace period", async () => {
      let entered = () => {};
      const inHandler = new Promise<void>((resolve) => (entered = resolve));
      status = () => {
        entered();
        return new Promise(() => {}); // never answers
      };
      const { url } = await start({ closeGraceMs: 20 });
      const pending = fetch(`${url}/status`).then(
        () => "answered",
        () => "cut",
      );
      await inHandler;
      await api?.close();
      api = undefined;
      expect(await pending).to.equal("cut");
    });

    it("can be called twice", async () => {
      const a = await start();
      await Promise.all([a.close(), a.close()]);
      api = undefined;
    });
  });

  it("rejects with the address when the port is taken", async () => {
    const { port } = await start();
    const logger = createLogger({ service: "api", write: () => {} });
    let error: unknown;
    try {
      await startHttpApi({ port, logger, metrics, health: () => health, status: () => ({}) });
    } catch (e) {
      error = e;
    }
    expect(error).to.be.instanceOf(Error);
    expect((error as Error).message).to.equal(`HTTP API cannot listen on 127.0.0.1:${port}: EADDRINUSE`);
  });
});
