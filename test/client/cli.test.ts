import { expect } from "chai";
import { type ChildProcess, execFile } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { parseEther } from "viem";
import { stakingAbi } from "../../core/abi";
import { REPO_ROOT } from "../../core/chain/artifacts";
import { deploySystem } from "../../core/chain/deploy";
import { type Deployment, writeDeployment } from "../../core/chain/deployment";
import { type LocalChain, startLocalChain } from "../../core/chain/localChain";
import { type RpcClients, connectRpc, walletFor } from "../../core/chain/rpcClients";
import { toHex } from "../../core/bytes";
import { registerGraphModel } from "../../core/chain/graphModelRegistration";
import { readGraphModelFolder, writeGraphModelFolder } from "../../core/graph/modelFolder";
import { JobStatus } from "../../core/jobState";
import { loadMnist } from "../../core/mnist";
import { importGraphModel } from "../../core/modelImport/graph/importGraphModel";
import { initKeccak } from "../../core/keccak";
import { RefuteClient, heldOutDigit } from "../../client";
import { runCli } from "../../client/cli";
import { eventually } from "../helpers/eventually";
import { ViemNode } from "../helpers/viemNode";
import { runInProcess } from "../helpers/inProcessCli";

interface Run {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

/** Runs `client/cli.ts` with ts-node in a child process, as `npm run cli` does. */
function cli(args: string[], started?: (child: ChildProcess) => void): Promise<Run> {
  return new Promise((resolve) => {
    const child = execFile(process.execPath, ["-r", "ts-node/register", "client/cli.ts", ...args], { cwd: REPO_ROOT, timeout: 60_000 }, (error, stdout, stderr) => {
      resolve({ code: error ? Number((error as { code?: unknown }).code ?? 1) : 0, stdout, stderr });
    });
    started?.(child);
  });
}

/** Runs the CLI in this process (for the argument checks, which need no chain). */
async function cliInProcess(args: string[]): Promise<Run> {
  const { status, out, err } = await runInProcess(runCli, args);
  return { code: status, stdout: out, stderr: err };
}

describe("the CLI (client/cli.ts, npm run cli) on a local chain", () => {
  let chain: LocalChain;
  let clients: RpcClients;
  let d: Deployment;
  let tmp: string;
  let file: string;
  let reader: RefuteClient;
  let viemNode: ViemNode;
  let base: string[];

  before(async () => {
    await initKeccak();
    chain = await startLocalChain();
    clients = await connectRpc(chain.rpcUrl, { pollingIntervalMs: 50 });
    d = await deploySystem({ publicClient: clients.publicClient, walletClient: walletFor(clients, chain.accounts[0].privateKey) });
    tmp = mkdtempSync(path.join(os.tmpdir(), "refute-cli-"));
    file = path.join(tmp, "deployment.json");
    writeDeployment(file, d);
    reader = new RefuteClient({ publicClient: clients.publicClient, deployment: d });
    const node = walletFor(clients, chain.accounts[2].privateKey);
    await clients.publicClient.waitForTransactionReceipt({ hash: await node.writeContract({ address: d.contracts.staking, abi: stakingAbi, functionName: "stake", value: parseEther("1") }) });
    viemNode = new ViemNode(clients.publicClient, node, d, reader);
    base = ["--rpc-url", chain.rpcUrl, "--deployment", file, "--poll", "50"];
  });
  after(async () => {
    await chain?.stop();
    if (tmp) rmSync(tmp, { recursive: true, force: true });
  });

  describe("post, status, wait", () => {
    let jobId: bigint;

    it("post --digit 3 posts a held-out digit: progress on stderr, the job as JSON on stdout", async () => {
      const r = await cli(["post", ...base, "--private-key", chain.accounts[1].privateKey, "--digit", "3"]);
      expect(r.code, r.stderr).to.equal(0);
      const out = JSON.parse(r.stdout);
      const digit = heldOutDigit(3);
      expect(out).to.include({ status: "Open" });
      expect(out.digit).to.deep.equal({ label: 3, testIndex: digit.testIndex });
      expect(r.stderr).to.match(new RegExp(`posted job ${out.jobId} in 0x[0-9a-f]{64}`));
      jobId = BigInt(out.jobId);
      const state = await reader.getJob(jobId);
      expect(state.job.requester).to.equal(chain.accounts[1].address);
      expect(state.job.fee).to.equal(parseEther("0.001"));
      expect(state.job.collateral).to.equal(d.parameters.minCollateral);
      expect(state.input).to.equal(`0x${Buffer.from(digit.input.buffer).toString("hex")}`);
    });

    it("status <jobId> prints the open job", async () => {
      const r = await cli(["status", String(jobId), ...base]);
      expect(r.code, r.stderr).to.equal(0);
      const out = JSON.parse(r.stdout);
      expect(out).to.include({ jobId: String(jobId), status: "Open", softResult: null, finalResult: null });
      expect(out.job).to.include({ requester: chain.accounts[1].address, modelId: "1", status: "Open", attempt: "0" });
      expect(r.stderr).to.match(new RegExp(`^job ${jobId} at block \\d+: Open, waiting for a node until `));
    });

    it("wait <jobId> follows the job and prints the node's output once it is submitted", async () => {
      let stderr = "";
      const waiting = cli(["wait", String(jobId), ...base, "--timeout", "30"], (child) => child.stderr?.on("data", (c) => (stderr += c)));
      await eventually(() => /: Open, waiting/.test(stderr), "the CLI's first progress line", 30_000);
      const honest = await viemNode.serve(jobId, heldOutDigit(3).input);
      const r = await waiting;
      expect(r.code, r.stderr).to.equal(0);
      const out = JSON.parse(r.stdout);
      expect(out.output).to.deep.equal(Array.from(new Int8Array(honest.output.buffer, honest.output.byteOffset, honest.output.length)));
      expect(out).to.include({ argmax: 3, attempt: "1", jobId: String(jobId), node: chain.accounts[2].address, traceRoot: honest.traceRoot });
      expect(r.stderr).to.match(/: Submitted by 0x[0-9a-fA-F]{40} \(attempt 1\), challenge window ends /);
      expect((await reader.getJob(jobId)).job.status).to.equal(JobStatus.Submitted);
    });
  });

  describe("stake, unstake, withdraw-stake, stake-of (node operators)", () => {
    it("stakes, starts unbonding, refuses to withdraw before the delay with the decoded reason, then withdraws", async () => {
      const operator = chain.accounts[5];
      const show = async () => JSON.parse((await cliInProcess(["stake-of", operator.address, ...base])).stdout);
      const staked = await cliInProcess(["stake", "0.5", ...base, "--private-key", operator.privateKey]);
      expect(staked.code, staked.stderr).to.equal(0);
      expect(await show()).to.deep.include({ free: "500000000000000000", locked: "0", unbonding: "0" });

      const unstaking = await cliInProcess(["unstake", "0.2", ...base, "--private-key", operator.privateKey]);
      expect(unstaking.code, unstaking.stderr).to.equal(0);
      const after = JSON.parse(unstaking.stdout);
      expect(after).to.deep.include({ free: "300000000000000000", unbonding: "200000000000000000" });
      expect(unstaking.stderr).to.include("withdraw it with withdraw-stake after");

      const early = await cliInProcess(["withdraw-stake", ...base, "--private-key", operator.privateKey]);
      expect(early.code).to.equal(1);
      expect(early.stderr).to.match(/StakingStillUnbonding\(account=0x[0-9a-fA-F]{40}, readyAt=\d+, now_=\d+\)/);

      await clients.publicClient.request({ method: "evm_increaseTime" as never, params: [Number(d.parameters.unbondingDelay)] as never });
      await clients.publicClient.request({ method: "evm_mine" as never });
      const withdrawn = await cliInProcess(["withdraw-stake", ...base, "--private-key", operator.privateKey]);
      expect(withdrawn.code, withdrawn.stderr).to.equal(0);
      expect(await show()).to.deep.include({ free: "300000000000000000", unbonding: "0" });
    });

    it("stake needs an amount and a key", async () => {
      const r = await cliInProcess(["stake", ...base, "--private-key", chain.accounts[5].privateKey]);
      expect(r.code).to.equal(2);
      expect(r.stderr).to.match(/^error: missing required argument 'ETH'/);
      const k = await cliInProcess(["unstake", "1", ...base]);
      expect(k.code).to.equal(2);
      expect(k.stderr).to.match(/--private-key/);
    });
  });

  describe("cancel, credits, withdraw", () => {
    // In this process: the same runCli as npm run cli, without a ts-node start per command.
    it("credits <address> prints what each contract owes the account; withdraw takes it all home", async () => {
      const requester = chain.accounts[1];
      const post = await cliInProcess(["post", ...base, "--private-key", requester.privateKey, "--digit", "5"]);
      expect(post.code, post.stderr).to.equal(0);
      const jobId = BigInt(JSON.parse(post.stdout).jobId);
      const cancelled = await cliInProcess(["cancel", String(jobId), ...base, "--private-key", requester.privateKey]);
      expect(cancelled.code, cancelled.stderr).to.equal(0);
      expect(JSON.parse(cancelled.stdout)).to.deep.include({ jobId: String(jobId), status: "Cancelled" });

      const owed = await cliInProcess(["credits", requester.address, ...base]);
      expect(owed.code, owed.stderr).to.equal(0);
      expect(JSON.parse(owed.stdout)).to.deep.equal({ account: requester.address, market: "1000000000000000", staking: "0", game: "0", graphGame: "0", consumer: "0", total: "1000000000000000" });

      const paid = await cliInProcess(["withdraw", ...base, "--private-key", requester.privateKey]);
      expect(paid.code, paid.stderr).to.equal(0);
      expect(JSON.parse(paid.stdout)).to.deep.include({ market: "1000000000000000", total: "1000000000000000" });
      expect(paid.stderr.trim()).to.equal("withdrew 1000000000000000 wei");
      expect(JSON.parse((await cliInProcess(["credits", requester.address, ...base])).stdout).total).to.equal("0");
      const again = await cliInProcess(["withdraw", ...base, "--private-key", requester.privateKey]);
      expect(again.stderr.trim()).to.equal("nothing to withdraw");
    });

    it("expire closes a job nobody took once its time is up, crediting its fee; reclaim refuses a job that is not Taken", async () => {
      const requester = chain.accounts[3];
      const post = await cliInProcess(["post", ...base, "--private-key", requester.privateKey, "--digit", "1", "--ttl", "5"]);
      expect(post.code, post.stderr).to.equal(0);
      const jobId = String(JSON.parse(post.stdout).jobId);
      const early = await cliInProcess(["expire", jobId, ...base, "--private-key", requester.privateKey]);
      expect(early.code).to.equal(1);
      expect(early.stderr).to.match(new RegExp(`^error: expire: job ${jobId} may be taken until .* s from now\\); it can be expired after that`));
      const notTaken = await cliInProcess(["reclaim", jobId, ...base, "--private-key", requester.privateKey]);
      expect(notTaken.code).to.equal(1);
      expect(notTaken.stderr).to.equal(`error: reclaim: job ${jobId} is Open, not Taken (only a job whose node missed its delivery deadline can be reclaimed)`);
      await clients.publicClient.request({ method: "evm_increaseTime", params: [10] } as never);
      await clients.publicClient.request({ method: "evm_mine", params: [] } as never);
      // Anyone may expire it: here another account does, and the fee goes to the requester.
      const expired = await cliInProcess(["expire", jobId, ...base, "--private-key", chain.accounts[4].privateKey]);
      expect(expired.code, expired.stderr).to.equal(0);
      expect(JSON.parse(expired.stdout)).to.deep.include({ jobId, status: "Expired", refunded: "1000000000000000", requester: requester.address });
      expect(JSON.parse((await cliInProcess(["credits", requester.address, ...base])).stdout).market).to.equal("1000000000000000");
    });

    it("credits needs one address and withdraw a key", async () => {
      const r = await cliInProcess(["credits", "0x1234", ...base]);
      expect(r.code).to.equal(2);
      expect(r.stderr).to.match(/^error: credits takes one account address, got "0x1234"/);
      const w = await cliInProcess(["withdraw", ...base]);
      expect(w.code).to.equal(2);
      expect(w.stderr).to.match(/--private-key/);
    });
  });

  describe("post --digit to another MNIST model (--model-dir)", () => {
    it("quantises the digit at the folder's input scale once the folder is the registered model; refuses a folder of another root or without --model", async function () {
      this.timeout(60_000);
      const { train } = loadMnist();
      const imported = await importGraphModel(readFileSync(path.join(__dirname, "../../models/mnist-cnn/float.onnx")), { calibration: train.slice(0, 20).map((x) => x.pixels) });
      const dir = path.join(tmp, "mnist-cnn");
      writeGraphModelFolder(dir, imported.program, { meta: { inputScale: imported.scales[0] } });
      const quiet = () => undefined;
      const owner = { publicClient: clients.publicClient, walletClient: walletFor(clients, chain.accounts[6].privateKey), deployment: d, log: { debug: quiet, info: quiet, warn: quiet, error: quiet } };
      const { modelId } = await registerGraphModel(owner, readGraphModelFolder(dir), "mnist-cnn");
      const key = chain.accounts[1].privateKey;

      const r = await cliInProcess(["post", ...base, "--private-key", key, "--digit", "5", "--model", String(modelId), "--model-dir", dir]);
      expect(r.code, r.stderr).to.equal(0);
      const digit = heldOutDigit(5, 0, dir);
      const state = await reader.getJob(BigInt(JSON.parse(r.stdout).jobId));
      expect(state.job.modelId).to.equal(modelId);
      expect(state.input).to.equal(`0x${Buffer.from(digit.input.buffer).toString("hex")}`);

      const refused: [string[], string][] = [
        [["--model", String(modelId)], "--digit with another model than the deployment's needs its folder: --model-dir"],
        [["--model-dir", dir], "--model-dir goes with --digit and --model"],
        [["--model", "1", "--model-dir", dir], `--digit posts an MNIST digit, but the model's root ${d.model.root} is not that of ${dir} (${toHex(readGraphModelFolder(dir).commitment.root)})`],
      ];
      for (const [args, message] of refused) {
        const bad = await cliInProcess(["post", ...base, "--private-key", key, "--digit", "5", ...args]);
        expect(bad.code, args.join(" ")).to.equal(2);
        expect(bad.stderr, args.join(" ")).to.include(message);
      }
    });
  });

  describe("errors", () => {
    it("a contract revert fails with status 1 and the decoded error", async () => {
      const r = await cli(["post", ...base, "--private-key", chain.accounts[1].privateKey, "--input-hex", "0x00"]);
      expect(r.code).to.equal(1);
      expect(r.stdout).to.equal("");
      expect(r.stderr.trim()).to.match(/posting to job market/);
      expect(r.stderr.trim().split("\n").pop()).to.equal(`error: postJob reverted: JobMarketInputLength(modelId=1, have=1, need=784)`);
    });

    it("a bad command line fails with status 2, naming the flag and the value", async () => {
      const child = await cli(["post", ...base, "--private-key", chain.accounts[1].privateKey]);
      expect(child.code).to.equal(2);
      expect(child.stderr).to.match(/post needs exactly one of --digit or --input-hex\n\(run with --help for usage\)/);
      const key = chain.accounts[1].privateKey;
      const cases: [string[], RegExp][] = [
        [[], /^Usage: npm run cli -- \[options\] \[command\]/],
        [["fly"], /^error: unknown command 'fly'/],
        [["stauts", "1"], /^error: unknown command 'stauts'\n\(Did you mean status\?\)/],
        [["status", ...base], /^error: missing required argument 'jobId'/],
        [["status", "1", "2", ...base], /^error: too many arguments for 'status'/],
        [["status", "x1", ...base], /jobId must be a non-negative decimal integer, got "x1"/],
        [["status", "0", ...base], /jobId must be at least 1/],
        [["status", "1", "--final", ...base], /^error: unknown option '--final'/],
        [["status", "1", "--deployment", file], /--rpc-url is required/],
        [["post", ...base, "--private-key", key, "--digit", "12"], /--digit must be 0\.\.9, got 12/],
        [["post", ...base, "--private-key", key, "--digit", "3", "--input-hex", "0x00"], /exactly one of --digit or --input-hex/],
        [["post", ...base, "--private-key", key, "--input-hex", "0x0"], /--input-hex must be 0x followed by an even number of hex digits, got "0x0"/],
        [["post", ...base, "--private-key", key, "--digit", "3", "--fee", "lots"], /--fee must be an amount \(ETH as 1\.5, 0\.01eth or 0\.01 ether, or wei as 1000wei\), got "lots"/],
        [["post", ...base, "--private-key", key, "--digit", "3", "--fee", "0.0000000000000000001eth"], /--fee must be an amount .*: more than 18 decimals/],
        [["post", ...base, "--private-key", "0xabc", "--digit", "3"], /--private-key must be 0x followed by 64 hex digits, got "0xabc"/],
        [["post", ...base, "--private-key", key, "--digit", "3", "--consumer", d.contracts.digitClassifier], /--consumer and --callback-gas go together/],
        [["wait", "1", ...base, "--timeout=-1"], /--timeout must be a non-negative decimal integer, got "-1"/],
        [["wait", "1", "--rpc-url", chain.rpcUrl, "--deployment", path.join(tmp, "none.json"), "--timeout=1.5"], /--timeout must be a non-negative decimal integer, got "1\.5"/],
        [["wait", "1", ...base, "--bogus"], /^error: unknown option '--bogus'\n\(run with --help for usage\)/],
        [["wait", "1", ...base, "--finall"], /^error: unknown option '--finall'\n\(Did you mean --final\?\)/],
      ];
      for (const [args, pattern] of cases) {
        const r = await cliInProcess(args);
        expect(r.code, args.join(" ")).to.equal(2);
        expect(r.stderr, args.join(" ")).to.match(pattern);
      }
      const help = await cliInProcess(["--help"]);
      expect(help.code).to.equal(0);
      expect(help.stdout).to.match(/^Usage: npm run cli -- \[options\] \[command\]/);
      for (const command of ["post", "status", "wait", "finalize", "cancel", "expire", "reclaim", "credits", "withdraw", "stake", "unstake", "withdraw-stake", "stake-of"]) expect(help.stdout).to.match(new RegExp(`^  ${command}\\b`, "m"));
      const waitHelp = await cliInProcess(["wait", "--help"]);
      expect(waitHelp.code).to.equal(0);
      expect(waitHelp.stdout).to.match(/^Usage: npm run cli -- wait \[options\] <jobId>/).and.to.match(/--finalize/);
    });

    it("a missing deployment file or a job that does not exist fails with status 1, naming it", async () => {
      const missing = await cliInProcess(["status", "1", "--rpc-url", chain.rpcUrl, "--deployment", path.join(tmp, "none.json")]);
      expect(missing.code).to.equal(1);
      expect(missing.stderr).to.match(/error: cannot read deployment file .*none\.json/);
      const unknown = await cliInProcess(["status", "999", ...base]);
      expect(unknown.code).to.equal(1);
      expect(unknown.stderr).to.equal("error: job 999 does not exist on this market");
    });
  });
});
