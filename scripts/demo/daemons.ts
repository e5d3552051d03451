import { type ChildProcess, spawn } from "node:child_process";
import path from "node:path";
import readline from "node:readline";
import { type LogRecord, parseLogLine } from "../../core/service/logger";

/**
 * The node and watcher daemons as child processes (ts-node, transpile only), their JSON log lines
 * handed to the caller as they come, stopped with SIGTERM like any service.
 */

const REPO = path.resolve(__dirname, "..", "..");
const ENTRY = { node: "node/main.ts", watcher: "challenger/main.ts" } as const;

export interface Daemon {
  readonly name: string;
  readonly child: ChildProcess;
  /** Resolves when the daemon logs "ready" (with its API URL); rejects if it exits first. */
  readonly ready: Promise<LogRecord>;
  /** SIGTERM, then waits for the exit code. */
  stop(): Promise<number | null>;
}

export interface DaemonSpec {
  readonly name: string;
  readonly kind: keyof typeof ENTRY;
  /** Command-line flags, e.g. ["--cheat", "wrong-output"]. */
  readonly args: readonly string[];
  /** REFUTE_* variables (the private key goes here, not in argv). */
  readonly env: Readonly<Record<string, string>>;
  readonly onLog: (name: string, record: LogRecord) => void;
  /** Lines that are not JSON (stderr, crashes). */
  readonly onOther: (name: string, line: string) => void;
}

export function startDaemon(spec: DaemonSpec): Daemon {
  const child = spawn(process.execPath, ["-r", "ts-node/register", path.join(REPO, ENTRY[spec.kind]), ...spec.args], {
    cwd: REPO,
    env: { ...process.env, TS_NODE_TRANSPILE_ONLY: "true", ...spec.env },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let exited: number | null | undefined;
  const exit = new Promise<number | null>((resolve) => child.on("exit", (code) => resolve((exited = code))));
  const ready = new Promise<LogRecord>((resolve, reject) => {
    readline.createInterface({ input: child.stdout! }).on("line", (line) => {
      const record = parseLogLine(line);
      if (!record) return spec.onOther(spec.name, line);
      if (record.msg === "ready") resolve(record);
      spec.onLog(spec.name, record);
    });
    readline.createInterface({ input: child.stderr! }).on("line", (line) => spec.onOther(spec.name, line));
    void exit.then((code) => reject(new Error(`${spec.name} exited with code ${code} before it was ready`)));
  });
  ready.catch(() => undefined);
  return {
    name: spec.name,
    child,
    ready,
    async stop() {
      if (exited === undefined) child.kill("SIGTERM");
      return exit;
    },
  };
}
