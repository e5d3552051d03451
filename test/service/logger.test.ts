import { expect } from "chai";
import { BaseError } from "viem";
import { createLogger, type LogLevel, parseLogLine } from "../../core/service/logger";

const NOW = new Date("2025-01-02T03:04:05.678Z");

function capture(level?: LogLevel) {
  const lines: string[] = [];
  const logger = createLogger({ service: "node", level, write: (l) => lines.push(l), now: () => NOW });
  return { logger, lines, records: () => lines.map((l) => JSON.parse(l) as Record<string, unknown>) };
}

describe("core/service/logger", () => {
  describe("createLogger", () => {
    it("writes one JSON line per call (pino's): level, time, service, the fields, then msg", () => {
      const { logger, lines } = capture();
      logger.info("job served", { jobId: 7, model: "mnist" });
      expect(lines).to.deep.equal(['{"level":"info","time":"2025-01-02T03:04:05.678Z","service":"node","jobId":7,"model":"mnist","msg":"job served"}\n']);
    });

    it("drops lines below its level (debug < info < warn < error), info by default", () => {
      const cases: [LogLevel | undefined, LogLevel[]][] = [
        [undefined, ["info", "warn", "error"]],
        ["debug", ["debug", "info", "warn", "error"]],
        ["warn", ["warn", "error"]],
        ["error", ["error"]],
      ];
      for (const [level, written] of cases) {
        const { logger, records } = capture(level);
        logger.debug("d");
        logger.info("i");
        logger.warn("w");
        logger.error("e");
        expect(records().map((r) => r.level), String(level)).to.deep.equal(written);
        expect(logger.isEnabled("warn")).to.equal(written.includes("warn"));
      }
    });

    it("rejects an unknown level", () => {
      expect(() => createLogger({ service: "x", level: "verbose" as LogLevel })).to.throw(TypeError, /debug, info, warn, error.*"verbose"/);
    });

    it("writes bigints as decimal strings, bytes as 0x-hex, dates as ISO, toJSON, Sets and Maps, nested values too", () => {
      const { logger, records } = capture();
      logger.info("m", { fee: 10n ** 30n, root: new Uint8Array([0, 1, 0xab]), at: NOW, nested: { n: [-1n, new Uint8Array([255])] }, url: new URL("http://a/b"), set: new Set([1n]), map: new Map([["k", 2n]]) });
      expect(records()[0]).to.deep.include({
        fee: "1000000000000000000000000000000",
        root: "0x0001ab",
        at: "2025-01-02T03:04:05.678Z",
        nested: { n: ["-1", "0xff"] },
        url: "http://a/b",
        set: ["1"],
        map: { k: "2" },
      });
    });

    it("writes errors as { name, message }, with code, data and the cause chain when present", () => {
      const { logger, records } = capture();
      const cause = Object.assign(new Error("connect ECONNREFUSED 127.0.0.1:8545"), { code: "ECONNREFUSED" });
      const error = Object.assign(new TypeError("fetch failed", { cause }), { data: new Uint8Array([1, 2]) });
      logger.error("rpc failed", { error, plain: new RangeError("out") });
      expect(records()[0].error).to.deep.equal({
        name: "TypeError",
        message: "fetch failed",
        data: "0x0102",
        cause: { name: "Error", message: "connect ECONNREFUSED 127.0.0.1:8545", code: "ECONNREFUSED" },
      });
      expect(records()[0].plain).to.deep.equal({ name: "RangeError", message: "out" });
    });

    it("writes a viem error's short message and details, not its multi-line message", () => {
      const { logger, records } = capture();
      logger.warn("m", { error: new BaseError("RPC Request failed.", { details: "rate limited" }) });
      expect(records()[0].error).to.deep.equal({ name: "BaseError", message: "RPC Request failed.", details: "rate limited" });
    });

    it("never throws: cycles become [Circular], functions and undefined are dropped, NaN is a string, a failing toJSON is noted", () => {
      const { logger, records } = capture();
      const a: Record<string, unknown> = { x: 1 };
      a.self = a;
      const shared = { s: 1 };
      logger.info("m", { a, f: () => 1, u: undefined, n: NaN, twice: [shared, shared], odd: { toJSON: () => { throw new Error("no"); } } });
      const r = records()[0];
      expect(r.a).to.deep.equal({ x: 1, self: "[Circular]" });
      expect(r).to.not.have.any.keys("f", "u");
      expect(r.n).to.equal("NaN");
      expect(r.twice).to.deep.equal([{ s: 1 }, { s: 1 }]);
      expect(r.odd).to.equal("[toJSON failed]");
    });

    it("keeps time, level, service and msg: a field with such a name gets a trailing underscore", () => {
      const { logger, records } = capture();
      logger.info("real", { msg: "fake", level: "fake" });
      expect(records()[0]).to.deep.include({ msg: "real", level: "info", msg_: "fake", level_: "fake" });
    });
  });

  describe("the pretty format (a terminal)", () => {
    it("writes the record as one readable line (pino-pretty): time of day, level, service, message, then the fields", () => {
      const lines: string[] = [];
      const log = createLogger({ service: "refute-node", write: (l) => lines.push(l), now: () => NOW, format: "pretty" });
      log.warn("free stake too small", { modelId: 3n, note: "stake with --stake", error: new Error("boom") });
      expect(lines).to.have.length(1);
      expect(lines[0]).to.match(/^\[\d\d:04:05\.678\] WARN: refute-node: free stake too small \{"modelId":"3","note":"stake with --stake","error":\{"name":"Error","message":"boom"\}\}\n$/);
      expect(parseLogLine(lines[0]), "not a JSON record").to.equal(undefined);
    });
  });

  describe("child", () => {
    it("adds its fields to every line; the call's own fields win; children nest", () => {
      const { logger, records } = capture();
      const job = logger.child({ jobId: 1n, model: "mnist" });
      job.info("taken");
      job.child({ step: "submit" }).info("sent", { model: "other" });
      logger.info("parent");
      expect(records().map(({ time: _t, service: _s, ...r }) => r)).to.deep.equal([
        { level: "info", msg: "taken", jobId: "1", model: "mnist" },
        { level: "info", msg: "sent", jobId: "1", model: "other", step: "submit" },
        { level: "info", msg: "parent" },
      ]);
    });

    it("keeps the parent's level", () => {
      const { logger, lines } = capture("warn");
      logger.child({ a: 1 }).info("dropped");
      expect(lines).to.be.empty;
    });
  });

  describe("parseLogLine", () => {
    it("reads back what the logger writes", () => {
      const { logger, lines } = capture();
      logger.warn("slow", { ms: 12, id: 3n });
      expect(parseLogLine(lines[0])).to.deep.equal({ time: NOW.toISOString(), level: "warn", service: "node", msg: "slow", ms: 12, id: "3" });
    });

    it("returns undefined for lines that are not log records", () => {
      for (const line of ["", "plain text", "    at Object.<anonymous> (x.ts:1:1)", "{not json", "[1,2]", '{"level":"info"}', '{"time":"t","level":"loud","service":"s","msg":"m"}']) {
        expect(parseLogLine(line), line).to.equal(undefined);
      }
    });
  });
});
