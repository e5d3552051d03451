import { expect } from "chai";
import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import net from "node:net";
import os from "node:os";
import path from "node:path";
import { execFile, spawn } from "node:child_process";
import { promisify } from "node:util";
import { REPO_ROOT } from "../../core/chain/artifacts";
import { eventually } from "../helpers/eventually";
import { type LocalChain, LOOPBACK, LocalChainError, freePort, startLocalChain } from "../../core/chain/localChain";
import { rejection } from "../helpers/expectThrows";

const execFileAsync = promisify(execFile);

/** One JSON-RPC call over HTTP; throws if nothing answers. */
async function rpc(url: string, method: string, params: unknown[] = []): Promise<unknown> {
  const res = await fetch(url, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ jsonrpc: "2.0", id: 1, method, params }) });
  return ((await res.json()) as { result: unknown }).result;
}

/** Whether process `pid` is running (a zombie no longer runs: nothing may reap it in a container). */
function alive(pid: number): boolean {
  try {
    return readFileSync(`/proc/${pid}/stat`, "utf8").split(") ")[1]?.[0] !== "Z";
  } catch {
    if (existsSync("/proc/self/stat")) return false;
  }
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

describe("startLocalChain (core/chain/localChain.ts)", () => {
  describe("when it starts", () => {
    let chain: LocalChain;
    before(async () => {
      chain = await startLocalChain();
    });
    after(async () => {
      await chain?.stop();
    });

    it("answers JSON-RPC on a loopback port with Hardhat's chain id", async () => {
      expect(chain.rpcUrl).to.equal(`http://${LOOPBACK}:${chain.port}`);
      expect(chain.chainId).to.equal(31337);
      expect(await rpc(chain.rpcUrl, "eth_chainId")).to.equal("0x7a69");
    });

    it("gives the node's own funded accounts, keys derived from the mnemonic", async () => {
      const nodeAccounts = (await rpc(chain.rpcUrl, "eth_accounts")) as string[];
      expect(chain.accounts.map((a) => a.address.toLowerCase())).to.deep.equal(nodeAccounts.map((a) => a.toLowerCase()));
      expect(BigInt((await rpc(chain.rpcUrl, "eth_getBalance", [chain.accounts[19].address, "latest"])) as string)).to.equal(10_000n * 10n ** 18n);
      for (const a of chain.accounts) expect(a.privateKey).to.match(/^0x[0-9a-f]{64}$/);
    });
  });

  describe("stop", () => {
    it("ends the process and frees the port; a second stop is harmless", async () => {
      const chain = await startLocalChain();
      expect(alive(chain.pid)).to.equal(true);
      await chain.stop();
      expect(alive(chain.pid)).to.equal(false);
      expect(await rejection(rpc(chain.rpcUrl, "eth_chainId"))).to.be.instanceOf(Error);
      await chain.stop();
    });

    it("is not needed to end the node: the node dies with the process that started it", async () => {
      const script = `require("./core/chain/localChain").startLocalChain().then((c) => { console.log(c.pid); process.exit(0); })`;
      const { stdout } = await execFileAsync(process.execPath, ["-r", "ts-node/register", "-e", script], { cwd: REPO_ROOT });
      const pid = Number(stdout.trim());
      expect(pid).to.be.greaterThan(0);
      await eventually(() => !alive(pid), `node ${pid} to end after its parent exited`, 10_000);
    });

    it("also ends when its parent is terminated by a signal", async () => {
      const script = `require("./core/chain/localChain").startLocalChain().then((c) => console.log(c.pid)); setInterval(() => {}, 1000);`;
      const parent = spawn(process.execPath, ["-r", "ts-node/register", "-e", script], { cwd: REPO_ROOT, stdio: ["ignore", "pipe", "inherit"] });
      let out = "";
      parent.stdout.on("data", (c) => (out += c));
      const exited = new Promise<NodeJS.Signals | null>((resolve) => parent.once("exit", (_code, signal) => resolve(signal)));
      const pid = await eventually(() => /^\d+\n/.test(out) && Number(out.trim()), "the node's pid from the parent", 30_000);
      expect(alive(pid)).to.equal(true);
      parent.kill("SIGTERM");
      expect(await exited).to.equal("SIGTERM");
      await eventually(() => !alive(pid), `node ${pid} to end after its parent was terminated`, 10_000);
    });
  });

  describe("when it cannot start", () => {
    it("refuses a port in use, naming it", async () => {
      const port = await freePort();
      const server = net.createServer();
      await new Promise<void>((resolve) => server.listen(port, LOOPBACK, resolve));
      try {
        const e = await rejection(startLocalChain({ port }));
        expect(e).to.be.instanceOf(LocalChainError);
        expect(e.message).to.match(new RegExp(`port ${port} on 127\\.0\\.0\\.1 is not available \\(EADDRINUSE\\)`));
      } finally {
        await new Promise((resolve) => server.close(resolve));
      }
    });

    it("reports a node that dies before answering, with its last output", async () => {
      const notAProject = mkdtempSync(path.join(os.tmpdir(), "refute-no-project-"));
      try {
        const e = await rejection(startLocalChain({ projectDir: notAProject }));
        expect(e).to.be.instanceOf(LocalChainError);
        expect(e.message).to.match(/hardhat node exited \(code 1\) before answering on http:\/\/127\.0\.0\.1:\d+/);
        expect(e.message).to.match(/last output:\n.*HH1/);
      } finally {
        rmSync(notAProject, { recursive: true, force: true });
      }
    });

    it("gives up after its deadline and kills the node", async () => {
      const e = await rejection(startLocalChain({ timeoutMs: 1 }));
      expect(e).to.be.instanceOf(LocalChainError);
      expect(e.message).to.match(/did not answer eth_chainId on http:\/\/127\.0\.0\.1:\d+ within 1 ms/);
      expect((e as LocalChainError).pid).to.be.a("number");
      expect(alive((e as LocalChainError).pid!)).to.equal(false);
    });
  });
});
