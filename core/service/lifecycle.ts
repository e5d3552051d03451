import type { Logger } from "./logger";

/**
 * Clean shutdown. The first SIGTERM or SIGINT aborts `shutdown.signal` (poll loops waiting in
 * `sleepUnlessStopped` wake up and return), runs the registered handlers once, the last
 * registered first (stop the HTTP API after the loops that feed it), and exits 0; exits 1 if a
 * handler throws or they take longer than `timeoutMs`; a second signal while shutting down exits
 * at once with 130.
 */

export type ShutdownHandler = () => unknown;

/** Where signals come from: `process`, or an EventEmitter in tests. */
export interface SignalSource {
  on(event: string, listener: (signal: string) => void): unknown;
  off(event: string, listener: (signal: string) => void): unknown;
}

export interface ShutdownOptions {
  /** Default SIGTERM and SIGINT. */
  readonly signals?: readonly string[];
  /** The longest the handlers may take together. Default 10 000. */
  readonly timeoutMs?: number;
  readonly logger?: Logger;
  /** Default process.exit. */
  readonly exit?: (code: number) => void;
  /** Default process. */
  readonly source?: SignalSource;
}

export const EXIT_OK = 0;
export const EXIT_FAILED = 1;
/** 128 + SIGINT's number, the shell's code for "interrupted". */
export const EXIT_INTERRUPTED = 130;

export class Shutdown {
  private readonly controller = new AbortController();
  private readonly handlers: { readonly name: string; readonly run: ShutdownHandler }[] = [];
  private readonly listener = (signal: string) => this.onSignal(signal);
  private readonly signals: readonly string[];
  private readonly timeoutMs: number;
  private readonly logger?: Logger;
  private readonly exit: (code: number) => void;
  private readonly source: SignalSource;
  private running?: Promise<number>;
  private exitCode?: number;

  constructor(options: ShutdownOptions = {}) {
    const { signals = ["SIGTERM", "SIGINT"], timeoutMs = 10_000, logger, exit = (code: number) => process.exit(code) } = options;
    const source: SignalSource = options.source ?? process;
    if (!(timeoutMs > 0)) throw new RangeError(`Shutdown: timeoutMs must be positive, got ${timeoutMs}`);
    this.signals = signals;
    this.timeoutMs = timeoutMs;
    this.logger = logger;
    this.exit = exit;
    this.source = source;
    for (const s of signals) source.on(s, this.listener);
  }

  /** Aborted when shutdown starts; its reason is the signal's name or trigger's reason. */
  get signal(): AbortSignal {
    return this.controller.signal;
  }

  get stopping(): boolean {
    return this.controller.signal.aborted;
  }

  /** Registers a handler; handlers run one at a time, the last added first. */
  add(handler: ShutdownHandler, name: string = handler.name || `handler ${this.handlers.length + 1}`): this {
    if (this.stopping) throw new Error(`Shutdown: cannot add "${name}", shutdown has started`);
    this.handlers.push({ name, run: handler });
    return this;
  }

  /** Starts shutdown as a first signal would (a fatal error in a daemon, say); resolves to the exit code. Later calls return the same promise. */
  trigger(reason = "requested"): Promise<number> {
    if (this.running === undefined) {
      this.controller.abort(reason); // before any handler runs: `stopping` is true for them
      this.running = this.run(reason);
    }
    return this.running;
  }

  /** Removes the signal listeners. */
  dispose(): void {
    for (const s of this.signals) this.source.off(s, this.listener);
  }

  private onSignal(signal: string): void {
    if (!this.stopping) {
      void this.trigger(signal);
      return;
    }
    this.logger?.warn("second signal while shutting down, exiting now", { signal });
    this.finish(EXIT_INTERRUPTED);
  }

  private async run(reason: string): Promise<number> {
    this.logger?.info("shutting down", { reason, handlers: this.handlers.length });
    let current = "";
    const work = (async () => {
      let ok = true;
      for (const { name, run } of [...this.handlers].reverse()) {
        current = name;
        try {
          await run();
        } catch (error) {
          ok = false;
          this.logger?.error("shutdown handler failed", { handler: name, error });
        }
      }
      return ok ? EXIT_OK : EXIT_FAILED;
    })();
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<"timeout">((resolve) => (timer = setTimeout(() => resolve("timeout"), this.timeoutMs)));
    const outcome = await Promise.race([work, timeout]);
    clearTimeout(timer);
    if (outcome === "timeout") {
      this.logger?.error("shutdown timed out", { timeoutMs: this.timeoutMs, handler: current });
      return this.finish(EXIT_FAILED);
    }
    return this.finish(outcome);
  }

  /** Exits once with `code`; returns the code actually used. */
  private finish(code: number): number {
    if (this.exitCode !== undefined) return this.exitCode;
    this.exitCode = code;
    if (code === EXIT_OK) this.logger?.info("shut down cleanly");
    else this.logger?.error("shut down with errors", { exitCode: code });
    this.exit(code);
    return code;
  }
}

/** A `Shutdown` listening for signals, with `handler` registered. */
export function onShutdown(handler: ShutdownHandler, options: ShutdownOptions = {}): Shutdown {
  return new Shutdown(options).add(handler);
}

/**
 * Waits `ms`, or less when `signal` aborts: resolves true after the full wait, false when
 * stopped (at once if already aborted). For poll loops: `while (await sleepUnlessStopped(ms, s)) …`.
 */
export function sleepUnlessStopped(ms: number, signal?: AbortSignal): Promise<boolean> {
  if (signal?.aborted) return Promise.resolve(false);
  return new Promise((resolve) => {
    const onAbort = () => {
      clearTimeout(timer);
      resolve(false);
    };
    const timer = setTimeout(() => {
      signal?.removeEventListener("abort", onAbort);
      resolve(true);
    }, ms);
    signal?.addEventListener("abort", onAbort, { once: true });
  });
}

/**
 * Shuts down when the process that started this one is gone. `npm run node` runs the daemon under
 * npm (and a shell): when npm is killed outright, nothing forwards a signal, and the daemon would go
 * on as an orphan that no `kill <npm's pid>` reaches. An orphan is re-parented, so `process.ppid`
 * changes; checked every `intervalMs` (the timer does not keep the process alive).
 */
export function stopWithParent(shutdown: Shutdown, intervalMs = 500, parentPid: () => number = () => process.ppid): void {
  const parent = parentPid();
  const timer = setInterval(() => {
    if (parentPid() === parent) return;
    clearInterval(timer);
    void shutdown.trigger(`parent process ${parent} exited`);
  }, intervalMs);
  timer.unref();
  shutdown.add(() => clearInterval(timer), "stop watching the parent process");
}
