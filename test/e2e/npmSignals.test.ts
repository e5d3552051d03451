import { expect } from "chai";
import { type ChildProcess, spawn } from "node:child_process";
import path from "node:path";
import { createInterface } from "node:readline";
import { type LogRecord, parseLogLine } from "../../core/service/logger";
import { E2eSystem, waitUntil } from "../helpers/e2e";

const ROOT = path.resolve(__dirname, "..", "..");

/**
 * `npm run watcher` as an operator starts it, stopped by npm's process id (issue 12, item 6): SIGTERM to
 * npm reaches the daemon (the script `exec`s it), and a daemon whose npm was killed outright notices
 * it has been orphaned and stops too, instead of running on where no `kill <pid>` reaches it.
 */
describe("end to end: stopping `npm run watcher` by npm's process id stops the daemon", () => {
  let sys: E2eSystem;
  before(async () => (sys = await E2eSystem.start()));
  after(async () => sys?.stop());

  /** `npm run watcher` with the daemon's log records collected (its stdout outlives npm). */
  function startUnderNpm(): { npm: ChildProcess; records: LogRecord[] } {
    const npm = spawn("npm", ["run", "--silent", "watcher", "--", "--rpc-url", sys.chain.rpcUrl, "--deployment", sys.deploymentFile, "--poll-ms", "100"], {
      cwd: ROOT,
      env: { ...process.env, REFUTE_PRIVATE_KEY: sys.accounts[7].privateKey },
      stdio: ["ignore", "pipe", "ignore"],
    });
    const records: LogRecord[] = [];
    createInterface({ input: npm.stdout! }).on("line", (line) => {
      const r = parseLogLine(line);
      if (r) records.push(r);
    });
    return { npm, records };
  }

  for (const signal of ["SIGTERM", "SIGKILL"] as const) {
    it(`${signal} to npm: the daemon shuts down cleanly`, async () => {
      const { npm, records } = startUnderNpm();
      const has = (msg: string) => records.find((r) => r.msg === msg);
      await waitUntil(() => has("ready"), "the watcher to be ready", []);
      npm.kill(signal);
      const stopped = await waitUntil(() => has("shutting down"), "the watcher to shut down", []);
      expect(stopped.reason).to.equal(signal === "SIGTERM" ? "SIGTERM" : `parent process ${npm.pid} exited`);
      await waitUntil(() => has("shut down cleanly"), "a clean shutdown", []);
    });
  }
});
