import { EventEmitter, getEventListeners } from "node:events";
import { expect } from "chai";
import { EXIT_FAILED, EXIT_INTERRUPTED, EXIT_OK, onShutdown, Shutdown, type ShutdownOptions, sleepUnlessStopped, stopWithParent } from "../../core/service/lifecycle";
import { createLogger, parseLogLine } from "../../core/service/logger";

/** A Shutdown on a fake signal source, with exits and log lines recorded. */
function harness(options: Partial<ShutdownOptions> = {}) {
  const source = new EventEmitter();
  const exits: number[] = [];
  const lines: string[] = [];
  const logger = createLogger({ service: "test", write: (l) => lines.push(l) });
  const shutdown = new Shutdown({ source, exit: (code) => void exits.push(code), logger, ...options });
  const messages = () => lines.map((l) => parseLogLine(l)?.msg);
  return { source, exits, lines, messages, shutdown };
}

/** A promise with its resolve function, to hold a handler open. */
function deferred() {
  let resolve = () => {};
  const promise = new Promise<void>((r) => (resolve = r));
  return { promise, resolve };
}

describe("core/service/lifecycle", () => {
  describe("stopWithParent", () => {
    it("shuts down once the parent process changes (the orphan of a killed npm), and not before", async () => {
      const { exits, shutdown } = harness();
      let ppid = 4242;
      stopWithParent(shutdown, 5, () => ppid);
      await sleepUnlessStopped(30);
      expect(shutdown.stopping, "same parent: keeps running").to.equal(false);
      ppid = 1;
      for (let i = 0; i < 100 && exits.length === 0; i++) await sleepUnlessStopped(5);
      expect(shutdown.signal.reason).to.equal("parent process 4242 exited");
      expect(exits).to.deep.equal([EXIT_OK]);
    });
  });

  describe("Shutdown", () => {
    it("on the first signal aborts its signal, runs the handlers once, last added first, and exits 0", async () => {
      const { source, exits, messages, shutdown } = harness();
      const order: string[] = [];
      shutdown.add(async () => void order.push("loops"), "loops");
      shutdown.add(() => void order.push("http"), "http");
      expect(shutdown.signal.aborted).to.equal(false);
      source.emit("SIGTERM", "SIGTERM");
      expect(shutdown.stopping).to.equal(true);
      expect(shutdown.signal.aborted).to.equal(true);
      expect(shutdown.signal.reason).to.equal("SIGTERM");
      expect(await shutdown.trigger()).to.equal(EXIT_OK);
      expect(order).to.deep.equal(["http", "loops"]);
      expect(exits).to.deep.equal([0]);
      expect(messages()).to.deep.equal(["shutting down", "shut down cleanly"]);
    });

    it("listens to SIGTERM and SIGINT by default, or to the signals given; dispose removes the listeners", () => {
      const a = harness();
      expect(a.source.eventNames()).to.deep.equal(["SIGTERM", "SIGINT"]);
      a.shutdown.dispose();
      expect(a.source.eventNames()).to.deep.equal([]);
      const b = harness({ signals: ["SIGHUP"] });
      expect(b.source.eventNames()).to.deep.equal(["SIGHUP"]);
    });

    it("trigger starts shutdown like a signal; calling it again returns the same promise", async () => {
      const { exits, shutdown } = harness();
      let runs = 0;
      shutdown.add(() => runs++);
      const first = shutdown.trigger("fatal error");
      expect(shutdown.trigger()).to.equal(first);
      expect(await first).to.equal(EXIT_OK);
      expect(shutdown.signal.reason).to.equal("fatal error");
      expect(runs).to.equal(1);
      expect(exits).to.deep.equal([0]);
    });

    it("exits 1 when a handler throws, after running the others", async () => {
      const { exits, lines, shutdown } = harness();
      const ran: string[] = [];
      shutdown.add(() => void ran.push("first"), "first");
      shutdown.add(() => {
        throw new Error("flush failed");
      }, "flush");
      shutdown.add(() => void ran.push("last"), "last");
      expect(await shutdown.trigger()).to.equal(EXIT_FAILED);
      expect(ran).to.deep.equal(["last", "first"]);
      expect(exits).to.deep.equal([1]);
      const failure = lines.map((l) => parseLogLine(l)).find((r) => r?.msg === "shutdown handler failed");
      expect(failure).to.deep.include({ level: "error", handler: "flush", error: { name: "Error", message: "flush failed" } });
    });

    it("exits 1 when the handlers take longer than timeoutMs, naming the one still running", async () => {
      const { exits, lines, shutdown } = harness({ timeoutMs: 20 });
      const hang = deferred();
      shutdown.add(() => hang.promise, "drain jobs");
      expect(await shutdown.trigger()).to.equal(EXIT_FAILED);
      expect(exits).to.deep.equal([1]);
      const timeout = lines.map((l) => parseLogLine(l)).find((r) => r?.msg === "shutdown timed out");
      expect(timeout).to.deep.include({ timeoutMs: 20, handler: "drain jobs" });
      hang.resolve();
      await new Promise((r) => setImmediate(r));
      expect(exits).to.deep.equal([1]);
    });

    it("exits 130 at once on a second signal while shutting down, and only once", async () => {
      const { source, exits, messages, shutdown } = harness();
      const hang = deferred();
      shutdown.add(() => hang.promise);
      source.emit("SIGINT", "SIGINT");
      await new Promise((r) => setImmediate(r));
      expect(exits).to.deep.equal([]);
      source.emit("SIGINT", "SIGINT");
      expect(exits).to.deep.equal([EXIT_INTERRUPTED]);
      expect(messages()).to.include("second signal while shutting down, exiting now");
      hang.resolve();
      expect(await shutdown.trigger()).to.equal(EXIT_INTERRUPTED);
      expect(exits).to.deep.equal([130]);
    });

    it("refuses handlers added once shutdown has started", async () => {
      const { shutdown } = harness();
      const done = shutdown.trigger();
      expect(() => shutdown.add(() => {}, "late")).to.throw(Error, /cannot add "late", shutdown has started/);
      await done;
    });

    it("refuses a non-positive timeout", () => {
      expect(() => new Shutdown({ timeoutMs: 0, source: new EventEmitter(), exit: () => {} })).to.throw(RangeError);
    });
  });

  describe("onShutdown", () => {
    it("returns a Shutdown with the handler registered, to which more can be added", async () => {
      const source = new EventEmitter();
      const exits: number[] = [];
      const order: number[] = [];
      const shutdown = onShutdown(() => void order.push(1), { source, exit: (c) => void exits.push(c) }).add(() => void order.push(2));
      source.emit("SIGTERM", "SIGTERM");
      expect(await shutdown.trigger()).to.equal(0);
      expect(order).to.deep.equal([2, 1]);
      expect(exits).to.deep.equal([0]);
      shutdown.dispose();
    });
  });

  describe("sleepUnlessStopped", () => {
    it("resolves true after the full wait, leaving no listener behind", async () => {
      const controller = new AbortController();
      expect(await sleepUnlessStopped(5, controller.signal)).to.equal(true);
      expect(getEventListeners(controller.signal, "abort")).to.have.length(0);
      expect(await sleepUnlessStopped(1)).to.equal(true);
    });

    it("resolves false as soon as the signal aborts", async () => {
      const controller = new AbortController();
      const t0 = Date.now();
      const sleeping = sleepUnlessStopped(60_000, controller.signal);
      setImmediate(() => controller.abort());
      expect(await sleeping).to.equal(false);
      expect(Date.now() - t0).to.be.lessThan(1_000);
    });

    it("resolves false at once when already aborted", async () => {
      expect(await sleepUnlessStopped(60_000, AbortSignal.abort())).to.equal(false);
    });

    it("ends a poll loop promptly on shutdown", async () => {
      const { shutdown } = harness();
      let ticks = 0;
      const loop = (async () => {
        do ticks++;
        while (await sleepUnlessStopped(60_000, shutdown.signal));
      })();
      shutdown.add(() => loop, "poll loop");
      const t0 = Date.now();
      expect(await shutdown.trigger()).to.equal(EXIT_OK);
      expect(Date.now() - t0).to.be.lessThan(1_000);
      expect(ticks).to.equal(1);
    });
  });
});
