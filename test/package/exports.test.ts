import { expect } from "chai";
import { type SpawnSyncReturns, spawnSync } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync, symlinkSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import * as client from "../../client";
import * as modelkit from "../../modelkit";

const ROOT = path.resolve(__dirname, "..", "..");
const NODE_MODULES = path.join(ROOT, "node_modules");

/** Runs a command to the end; the returned status is the exit code (null if it was killed). */
function run(command: string, args: string[], cwd: string, timeoutMs = 120_000): SpawnSyncReturns<string> {
  const r = spawnSync(command, args, { cwd, encoding: "utf8", timeout: timeoutMs, maxBuffer: 64 * 1024 * 1024 });
  if (r.error) throw r.error;
  return r;
}

function succeeded(r: SpawnSyncReturns<string>, what: string): string {
  expect(r.status, `${what} failed:\n${r.stdout}\n${r.stderr}`).to.equal(0);
  return r.stdout;
}

/** A file of the throwaway consumer project. */
function write(dir: string, file: string, text: string): void {
  mkdirSync(path.dirname(path.join(dir, file)), { recursive: true });
  writeFileSync(path.join(dir, file), text);
}

/**
 * The package as a dapp developer gets it: `npm pack` (whose prepack runs `npm run build`), the tarball
 * unpacked as node_modules/refute of a throwaway project in the OS temp folder. Its other dependencies
 * are not installed (that would need the registry): each dependency the packed package.json declares,
 * and the dapp's own tools (@types/node, hardhat, solc), is a symlink into this repository's
 * node_modules, so a require of something the package does not declare fails as it would in a real install.
 */
describe("the npm package (npm pack, package.json exports)", () => {
  let tmp: string;
  let consumer: string;
  let tarballFiles: string[];
  let distExisted: boolean;

  before(function () {
    this.timeout(300_000);
    tmp = mkdtempSync(path.join(os.tmpdir(), "refute-package-"));
    distExisted = existsSync(path.join(ROOT, "dist"));

    const started = Date.now();
    succeeded(run("npm", ["pack", "--offline", "--pack-destination", tmp], ROOT, 240_000), "npm pack");
    const tarball = readdirSync(tmp).filter((f) => f.endsWith(".tgz"));
    expect(tarball, "one tarball").to.have.length(1);
    const tgz = path.join(tmp, tarball[0]);
    console.log(`      npm pack, its prepack build included: ${((Date.now() - started) / 1000).toFixed(1)} s; ${tarball[0]}: ${(statSync(tgz).size / 1024).toFixed(0)} KiB`);

    tarballFiles = succeeded(run("tar", ["-tzf", tgz], tmp), "tar -t").split("\n").filter((l) => l !== "").map((l) => l.replace(/^package\//, ""));
    consumer = path.join(tmp, "consumer");
    const pkgDir = path.join(consumer, "node_modules", "refute");
    mkdirSync(pkgDir, { recursive: true });
    succeeded(run("tar", ["-xzf", tgz, "-C", pkgDir, "--strip-components=1"], tmp), "tar -x");

    const packed = JSON.parse(readFileSync(path.join(pkgDir, "package.json"), "utf8")) as { dependencies: Record<string, string> };
    for (const name of [...Object.keys(packed.dependencies), "@types/node", "hardhat", "solc"]) {
      const link = path.join(consumer, "node_modules", name);
      mkdirSync(path.dirname(link), { recursive: true });
      symlinkSync(path.join(NODE_MODULES, name), link, "dir");
    }
    write(consumer, "package.json", `${JSON.stringify({ name: "consumer", version: "1.0.0", private: true, dependencies: { refute: `file:${tarball[0]}` } }, null, 2)}\n`);
  });

  after(() => {
    if (tmp) rmSync(tmp, { recursive: true, force: true });
    if (distExisted === false) rmSync(path.join(ROOT, "dist"), { recursive: true, force: true });
  });

  it("packs the build, the contracts without the test mocks, and nothing else", () => {
    expect(tarballFiles).to.include.members(["package.json", "README.md", "dist/client/index.js", "dist/client/index.d.ts", "dist/client/index.d.ts.map", "dist/testing/refuteTestKit.js", "dist/modelkit/index.js"]);
    // What core/chain/deploy.ts and client/mnistDigit.ts read next to the compiled code.
    expect(tarballFiles).to.include.members(["models/mnist-mlp/integer.onnx", "models/mnist-mlp/descriptor.json", "artifacts/contracts/JobMarket.sol/JobMarket.json", "artifacts/contracts/DisputeGame.sol/DisputeGame.json"]);
    expect(tarballFiles.filter((f) => f.startsWith("contracts/test/") || f.startsWith("artifacts/contracts/test/") || f.endsWith(".dbg.json"))).to.deep.equal([]);
    expect(tarballFiles.filter((f) => f.endsWith(".ts") && !f.endsWith(".d.ts")), "TypeScript sources").to.deep.equal([]);
    expect(tarballFiles.filter((f) => !/^(package\.json|README\.md|dist\/|contracts\/|artifacts\/contracts\/|models\/mnist-mlp\/)/.test(f))).to.deep.equal([]);
  });

  it('require("refute") loads the SDK with every export of client/index.ts; the subpaths and ESM import work', () => {
    write(
      consumer,
      "check.js",
      `const refute = require("refute");
const digit = refute.heldOutDigit(3);
let deep;
try { require("refute/dist/core/bytes"); deep = "loaded"; } catch (e) { deep = e.code; }
console.log(JSON.stringify({
  resolved: require.resolve("refute"),
  keys: Object.keys(refute).sort(),
  refuteClient: typeof refute.RefuteClient,
  open: refute.JobStatus.Open,
  digit: { label: digit.label, length: digit.input.length, int8: digit.input instanceof Int8Array },
  testing: Object.keys(require("refute/testing")),
  testKit: typeof require("refute/testing").RefuteTestKit,
  modelkit: Object.keys(require("refute/modelkit")).sort(),
  deep,
}));
`,
    );
    const out = JSON.parse(succeeded(run(process.execPath, ["check.js"], consumer), "node check.js")) as Record<string, unknown>;
    expect(out.resolved).to.equal(path.join(consumer, "node_modules", "refute", "dist", "client", "index.js"));
    expect(out.keys).to.deep.equal(Object.keys(client).sort());
    expect(out.keys).to.include.members(["RefuteClient", "JobStatus", "connectRpc", "walletFor", "readDeployment", "decodeError", "watchJob"]);
    expect(out.refuteClient).to.equal("function");
    expect(out.open).to.equal(client.JobStatus.Open);
    // The MNIST model's files travel in models/ (found from the package root): the held-out digit is quantised at its input scale.
    expect(out.digit).to.deep.equal({ label: 3, length: 784, int8: true });
    expect(out.testing).to.deep.equal(["RefuteTestKit"]);
    expect(out.testKit).to.equal("function");
    expect(out.modelkit).to.deep.equal(Object.keys(modelkit).sort());
    expect(out.deep, "only the exports map's entries are importable").to.equal("ERR_PACKAGE_PATH_NOT_EXPORTED");

    write(consumer, "check.mjs", `import { JobStatus, RefuteClient } from "refute";\nimport { RefuteTestKit } from "refute/testing";\nconsole.log(JSON.stringify([typeof RefuteClient, JobStatus.Open, typeof RefuteTestKit]));\n`);
    expect(JSON.parse(succeeded(run(process.execPath, ["check.mjs"], consumer), "node check.mjs"))).to.deep.equal(["function", client.JobStatus.Open, "function"]);
  });

  it("type-checks a TypeScript consumer against the packed .d.ts (moduleResolution node16) and reports its type errors", () => {
    write(consumer, "tsconfig.json", `${JSON.stringify({ compilerOptions: { target: "ES2022", module: "node16", moduleResolution: "node16", strict: true, skipLibCheck: true, noEmit: true, types: ["node"] }, files: ["good.ts", "bad.ts"] }, null, 2)}\n`);
    write(
      consumer,
      "good.ts",
      `import { JobStatus, RefuteClient, type Deployment, type JobResult, heldOutDigit } from "refute";
import { RefuteTestKit } from "refute/testing";
import { importModel } from "refute/modelkit";

export function describeStatus(client: RefuteClient, deployment: Deployment, result: JobResult | null): string {
  const input: Int8Array = heldOutDigit(3).input;
  return [JobStatus[JobStatus.Finalized], deployment.chainId, result?.output.length, input.length, typeof client.postJob, typeof RefuteTestKit.deploy, typeof importModel].join(" ");
}
`,
    );
    write(
      consumer,
      "bad.ts",
      `import { JobStatus, RefuteClient } from "refute";
export const status: JobStatus = "Open";
export const client = new RefuteClient({});
`,
    );
    const r = run(process.execPath, [path.join(NODE_MODULES, "typescript", "bin", "tsc"), "-p", "."], consumer);
    const errors = [...r.stdout.matchAll(/^(\S+)\((\d+),\d+\): error (TS\d+)/gm)].map((m) => `${m[1]}:${m[2]} ${m[3]}`);
    expect(errors, r.stdout + r.stderr).to.deep.equal(["bad.ts:2 TS2322", "bad.ts:3 TS2345"]);
    expect(r.status).to.not.equal(0);
  });

  it('resolves "refute/contracts/consumer/InferenceConsumer.sol", and a Hardhat project compiles a dapp that imports it', () => {
    const sol = "contracts/consumer/InferenceConsumer.sol";
    expect(tarballFiles).to.include.members([sol, "contracts/interfaces/IInferenceConsumer.sol", "contracts/interfaces/IJobMarket.sol", "contracts/types/Job.sol"]);
    write(consumer, "resolve.js", `console.log(require.resolve("refute/${sol}"));\n`);
    expect(succeeded(run(process.execPath, ["resolve.js"], consumer), "require.resolve").trim()).to.equal(path.join(consumer, "node_modules", "refute", sol));

    // The compiler is the npm `solc` package's, as in this repository's hardhat.config.ts (no download).
    write(
      consumer,
      "hardhat.config.js",
      `const path = require("node:path");
const { subtask } = require("hardhat/config");
const { TASK_COMPILE_SOLIDITY_GET_SOLC_BUILD } = require("hardhat/builtin-tasks/task-names");
subtask(TASK_COMPILE_SOLIDITY_GET_SOLC_BUILD, async () => ({
  compilerPath: path.join(path.dirname(require.resolve("solc/package.json")), "soljson.js"),
  isSolcJs: true,
  version: "0.8.30",
  longVersion: require("solc").version(),
}));
module.exports = { solidity: { version: "0.8.30", settings: { evmVersion: "cancun" } } };
`,
    );
    write(
      consumer,
      "contracts/MyDapp.sol",
      `// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {InferenceConsumer} from "refute/${sol}";
import {IJobMarket} from "refute/contracts/interfaces/IJobMarket.sol";

contract MyDapp is InferenceConsumer {
    bytes public last;

    constructor(IJobMarket market_) InferenceConsumer(market_) {}

    function _onInferenceResult(uint256, bytes calldata output) internal override {
        last = output;
    }
}
`,
    );
    succeeded(run(process.execPath, [path.join(consumer, "node_modules", "hardhat", "internal", "cli", "bootstrap.js"), "compile", "--quiet"], consumer), "hardhat compile");
    const artifact = JSON.parse(readFileSync(path.join(consumer, "artifacts", "contracts", "MyDapp.sol", "MyDapp.json"), "utf8")) as { abi: { name?: string }[] };
    expect(artifact.abi.map((e) => e.name)).to.include.members(["onInferenceResult", "refund", "withdraw", "last"]);
    expect(existsSync(path.join(consumer, "artifacts", "refute", sol, "InferenceConsumer.json")), "compiled from node_modules/refute").to.equal(true);
  });

  it("refute/testing deploys Refute on the dapp's Hardhat network from the packed artifacts", () => {
    write(
      consumer,
      "kit.js",
      `const hre = require("hardhat");
const { RefuteTestKit } = require("refute/testing");
(async () => {
  const kit = await RefuteTestKit.deploy(hre.network.provider);
  console.log(JSON.stringify({ contracts: Object.keys(kit.deployment.contracts).sort(), modelId: String(kit.deployment.model.id), code: (await kit.publicClient.getCode({ address: kit.deployment.contracts.jobMarket }))?.length ?? 0 }));
  await kit.stop();
})().catch((e) => { console.error(e); process.exit(1); });
`,
    );
    const out = JSON.parse(succeeded(run(process.execPath, ["kit.js"], consumer), "node kit.js")) as { contracts: string[]; modelId: string; code: number };
    expect(out.contracts).to.include.members(["jobMarket", "staking", "modelRegistry", "disputeGame"]);
    expect(out.modelId).to.equal("1");
    expect(out.code).to.be.greaterThan(2);
  });
});
