import { expect } from "chai";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { type Deployment, serializeDeployment } from "../../core/chain/deployment";
import { hardhatAccounts } from "../../core/chain/localChain";
import { DaemonProcess } from "../helpers/e2e";
import { type FakeRpc, HTTP_500_BODY, startFakeRpc } from "../helpers/fakeRpc";

/**
 * Daemons given a bad configuration or pointed at something that is not a working JSON-RPC
 * endpoint of their chain. None of them gets as far as a chain, so this file starts none: its
 * endpoints are loopback servers (test/helpers/fakeRpc.ts), and its daemons all start at once. A
 * running daemon whose RPC breaks is in marketplace.test.ts, on a real chain.
 */
describe("end to end: bad configuration and bad RPC answers give clear errors", () => {
  const key = hardhatAccounts(1)[0].privateKey;
  // A REFUTE_ variable in the environment the tests run in must not fill in what a test leaves out.
  const clean = { REFUTE_RPC_URL: "", REFUTE_DEPLOYMENT: "", REFUTE_PRIVATE_KEY: "", REFUTE_SAMPLING_RATE: "", REFUTE_CONFIG: "" };
  const daemons: DaemonProcess[] = [];
  const servers: FakeRpc[] = [];
  let dir: string;
  let deployment: string;
  let badConfig: DaemonProcess;
  let onGarbage: { rpc: FakeRpc; daemon: DaemonProcess };
  let onRpcError: { rpc: FakeRpc; daemon: DaemonProcess };
  let onHttp500: { rpc: FakeRpc; daemon: DaemonProcess };
  let onChain1: { rpc: FakeRpc; daemon: DaemonProcess };

  /** Writes a deployment file of a chain with id 31337 (its contracts are never reached). */
  const writeDeploymentFile = () => {
    const deployment: Deployment = {
      chainId: 31337,
      deployer: hardhatAccounts(1)[0].address,
      startBlock: 1n,
      contracts: { modelRegistry: `0x${"11".repeat(20)}`, staking: `0x${"22".repeat(20)}`, jobMarket: `0x${"33".repeat(20)}`, disputeGame: `0x${"44".repeat(20)}`, graphDisputes: `0x${"66".repeat(20)}`, graphDisputeGame: `0x${"77".repeat(20)}`, digitClassifier: `0x${"55".repeat(20)}` },
      model: { id: 1n, root: `0x${"66".repeat(32)}`, inputSize: 784n, outputSize: 10n, layerCount: 3n, maxWidth: 784n, uri: "models/mnist-mlp" },
      parameters: { unbondingDelay: 1n, challengeWindow: 1n, deliveryWindow: 1n, maxDisputeDuration: 1n, reopenWindow: 1n, minCollateral: 1n, maxCallbackGasLimit: 1n, coverGasPrice: 1n, clockBudget: 1n, challengerRewardBps: 1n },
    };
    const file = path.join(dir, "deployment.json");
    writeFileSync(file, serializeDeployment(deployment));
    return file;
  };

  const watcher = (name: string, args: readonly string[], env: Record<string, string> = {}) => {
    const d = new DaemonProcess(name, "watcher", args, { ...clean, ...env });
    daemons.push(d);
    return d;
  };
  const watcherOn = async (name: string, mode: Parameters<typeof startFakeRpc>[0]) => {
    const rpc = await startFakeRpc(mode);
    servers.push(rpc);
    return { rpc, daemon: watcher(name, ["--rpc-url", rpc.url, "--deployment", deployment], { REFUTE_PRIVATE_KEY: key }) };
  };

  before(async () => {
    dir = mkdtempSync(path.join(os.tmpdir(), "refute-e2e-bad-"));
    deployment = writeDeploymentFile();
    badConfig = watcher("bad-config", ["--private-key", "0x1234", "--sampling-rate", "2", "--deployment", deployment, "--sampling-rat", "0.5"]);
    onGarbage = await watcherOn("on-garbage", "garbage");
    onRpcError = await watcherOn("on-rpc-error", "rpc error");
    onHttp500 = await watcherOn("on-http-500", "http 500");
    onChain1 = await watcherOn("on-chain-1", "chain 1");
  });
  after(async () => {
    await Promise.all(daemons.map((d) => d.stop()));
    await Promise.all(servers.map((s) => s.close()));
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  const stderrOf = (d: DaemonProcess) => d.otherLines.join("\n");

  it("a bad configuration exits with code 2 and names every problem on stderr", async () => {
    expect((await badConfig.exited).code).to.equal(2);
    const stderr = stderrOf(badConfig);
    expect(stderr).to.include("refute-watcher: invalid configuration (4 problems)");
    expect(stderr).to.include("unknown flag --sampling-rat (did you mean --sampling-rate?)");
    expect(stderr).to.include("rpcUrl: required, not set: use --rpc-url, REFUTE_RPC_URL");
    expect(stderr).to.include("privateKey (flag --private-key): expected a private key (0x + 64 hex digits), got <hidden>");
    expect(stderr).to.include('samplingRate (flag --sampling-rate): expected a number from 0 to 1, got "2"');
    expect(stderr, "the key is never shown").not.to.include("0x1234");
    expect(badConfig.records, "nothing starts").to.deep.equal([]);
  });

  it("an HTTP server that answers with a web page is refused at once with exit code 1, naming the URL and the answer", async () => {
    const { rpc, daemon } = onGarbage;
    expect((await daemon.exited).code).to.equal(1);
    expect(stderrOf(daemon)).to.match(new RegExp(`^refute-watcher: cannot start: no JSON-RPC answer from ${rpc.url}: HTTP request failed \\(Unexpected token '<', "<html>.* is not valid JSON\\)$`));
    expect(daemon.find("startup failed").map((r) => r.level)).to.deep.equal(["error"]);
    expect(daemon.find("RPC request failed; retrying"), "not retried: the server is up, it is no JSON-RPC endpoint").to.deep.equal([]);
  });

  it("a JSON-RPC error object is refused with exit code 1 and the server's error, naming the URL", async () => {
    const { rpc, daemon } = onRpcError;
    expect((await daemon.exited).code).to.equal(1);
    expect(stderrOf(daemon)).to.equal(`refute-watcher: cannot start: no JSON-RPC answer from ${rpc.url}: The method "eth_chainId" does not exist / is not available. (method not found)`);
  });

  it("HTTP 500 is retried with one warning per attempt naming the URL and the status, and SIGTERM stops the daemon cleanly", async () => {
    const { rpc, daemon } = onHttp500;
    const warning = await daemon.waitFor("RPC not answering; retrying", { attempt: 2 });
    expect(warning).to.deep.include({ url: rpc.url, cause: `no JSON-RPC answer from ${rpc.url}: HTTP 500 (${JSON.stringify(HTTP_500_BODY)})` });
    expect(daemon.find("RPC request failed; retrying"), "while starting, no request retries on its own: one line per attempt").to.deep.equal([]);
    expect(await daemon.stop()).to.equal(0);
    expect(daemon.find("shut down cleanly")).to.have.length(1);
    expect(daemon.find("startup failed"), "being stopped is no failure").to.deep.equal([]);
  });

  it("a deployment file for another chain is refused with exit code 1, naming both chain ids", async () => {
    const { rpc, daemon } = onChain1;
    expect((await daemon.exited).code).to.equal(1);
    expect(stderrOf(daemon)).to.equal(`refute-watcher: cannot start: ${deployment} is for chain 31337, ${rpc.url} is chain 1`);
  });
});
