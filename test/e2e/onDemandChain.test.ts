import { expect } from "chai";
import { type Address, type Hash, parseEther } from "viem";
import { NOT_FINALISED_GRACE_S, runCli } from "../../client/cli";
import { heldOutDigit } from "../../client/mnistDigit";
import { RefuteClient } from "../../client/refuteClient";
import { stakingAbi } from "../../core/abi";
import { LOCAL_DEV_PARAMETERS } from "../../core/chain/deploy";
import { JobStatus } from "../../core/jobState";
import { type DaemonProcess, E2eSystem, WAIT_MS } from "../helpers/e2e";
import { ViemNode } from "../helpers/viemNode";

/** Seconds a result can be disputed: short, so that the tests wait for real windows to end. */
const WINDOW = 3n;
/**
 * How long after its window ends a result may take to be final: the chain's clock can lag this
 * machine's by a second, and a daemon's round or a wait's poll.
 */
const SLACK_MS = 3_000;
const FEE = parseEther("0.001");

/**
 * Refute on a chain that mines only when a transaction arrives, as a plain `npx hardhat node` does
 * (core/chain/localChain.ts starts exactly that: automine, no block interval). Such a chain's latest
 * block stays the one of the last transaction however much time passes, and its next block takes the
 * wall-clock time. Judged by the latest block, a challenge window there never ends: the node never
 * finalised its results and `wait --final` timed out. Deployed with the `local` profile (the window
 * cut to a few seconds), nothing here moves the chain's clock and nothing but the parties sends a
 * transaction.
 *
 * A window ends at a block time, `challengeDeadline` = the submission's block time + the window, and
 * Hardhat's clock runs ahead of the wall clock (a second for every block mined in the same second:
 * the deployment's dozen transactions put it about ten seconds ahead), which the daemons and the SDK
 * read from the pending block. Judged by the wall clock alone they would finalise ten seconds late.
 */
describe("end to end: a chain that mines only on transactions (plain npx hardhat node, local profile)", () => {
  let sys: E2eSystem;
  let node: DaemonProcess;
  let requester: RefuteClient;
  const requesterAccount = () => sys.accounts[1];
  const nodeAccount = () => sys.accounts[2];
  const otherNodeAccount = () => sys.accounts[3];

  before(async () => {
    sys = await E2eSystem.start({ ...LOCAL_DEV_PARAMETERS, challengeWindow: WINDOW });
    expect(await sys.publicClient.request({ method: "hardhat_getAutomine" } as never)).to.equal(true);
    node = sys.startDaemon("node", "node", nodeAccount(), { args: ["--stake", "1"] });
    await node.ready;
    requester = new RefuteClient({ publicClient: sys.publicClient, walletClient: sys.wallet(requesterAccount()), deployment: sys.deployment });
  });
  after(async () => {
    await sys?.stop();
  });

  /** Every transaction `from` sent since the deployment, with its block, in chain order. */
  const transactionsOf = async (from: Address) => {
    const head = await sys.publicClient.getBlockNumber();
    const sent: { hash: Hash; blockNumber: bigint; ok: boolean }[] = [];
    for (let n = sys.deployment.startBlock; n <= head; n++) {
      const block = await sys.publicClient.getBlock({ blockNumber: n, includeTransactions: true });
      for (const tx of block.transactions) {
        if (tx.from.toLowerCase() !== from.toLowerCase()) continue;
        const receipt = await sys.publicClient.getTransactionReceipt({ hash: tx.hash });
        sent.push({ hash: tx.hash, blockNumber: n, ok: receipt.status === "success" });
      }
    }
    return sent;
  };

  it("the node finalises its result on its own within the window and a few seconds, and waitFor('final') returns it", async () => {
    const { jobId } = await requester.postJob({ input: heldOutDigit(7).input, fee: FEE, collateral: await requester.minCollateral() });
    const soft = await requester.waitFor(jobId, "soft", { timeoutMs: WAIT_MS, pollingIntervalMs: 50 });
    const seenAt = Date.now();
    const submittedAt = (await sys.publicClient.getBlock({ blockNumber: soft.blockNumber })).timestamp;
    expect(soft.challengeDeadline).to.equal(submittedAt + WINDOW);
    const final = await requester.waitFor(jobId, "final", { timeoutMs: Number(WINDOW) * 1000 + 2 * SLACK_MS, pollingIntervalMs: 50 });
    const waitedMs = Date.now() - seenAt;

    expect(final.node).to.equal(nodeAccount().address);
    expect(Array.from(final.output)).to.deep.equal(Array.from(soft.output));
    expect(waitedMs, "ms from the soft result to the final one").to.be.below(Number(WINDOW) * 1000 + SLACK_MS);
    // The node sent the finalize, in the first block after its submission: nobody else mined a block.
    const finalize = await sys.publicClient.getTransaction({ hash: final.finalizedTransactionHash });
    expect(finalize.from.toLowerCase()).to.equal(nodeAccount().address.toLowerCase());
    expect(final.finalizedBlockNumber).to.equal(soft.blockNumber + 1n);
    const block = await sys.publicClient.getBlock({ blockNumber: final.finalizedBlockNumber });
    expect(block.timestamp >= soft.challengeDeadline).to.equal(true);
    // Trying before the chain's clock got there cost nothing: no reverted transaction, no failed action.
    expect((await transactionsOf(nodeAccount().address)).filter((t) => !t.ok)).to.deep.equal([]);
    expect(node.find("action failed; will retry"), node.tail()).to.deep.equal([]);
    expect(node.find("finalised result", { jobId: String(jobId) })).to.have.length(1);
  });

  describe("with no node that finalises (a node played with plain viem calls)", () => {
    let viemNode: ViemNode;
    let base: string[];

    before(async () => {
      await node.stop();
      const wallet = sys.wallet(otherNodeAccount());
      await sys.publicClient.waitForTransactionReceipt({ hash: await wallet.writeContract({ address: sys.deployment.contracts.staking, abi: stakingAbi, functionName: "stake", value: parseEther("1") }) });
      viemNode = new ViemNode(sys.publicClient, wallet, sys.deployment, requester);
      base = ["--rpc-url", sys.chain.rpcUrl, "--deployment", sys.deploymentFile, "--poll", "50"];
    });

    const cli = async (args: string[]) => {
      const out: string[] = [];
      const err: string[] = [];
      const code = await runCli(args, { out: (l) => out.push(l), err: (l) => err.push(l) });
      return { code, stdout: out.join("\n"), stderr: err.join("\n") };
    };

    /** Posts a digit and serves it with the viem node; returns the job id and the submission's block. */
    const postAndServe = async (digit: number) => {
      const input = heldOutDigit(digit).input;
      const { jobId } = await requester.postJob({ input, fee: FEE, collateral: await requester.minCollateral() });
      await viemNode.serve(jobId, input);
      return { jobId, submittedIn: await sys.publicClient.getBlockNumber({ cacheTime: 0 }) };
    };

    it("the SDK and the CLI see the window end by the clock, say plainly that nobody finalised it, and finalise it when asked", async () => {
      const { jobId, submittedIn } = await postAndServe(2);
      const early = await requester.finality(jobId);
      expect(early.kind).to.equal("in window");

      const premature = await cli(["finalize", String(jobId), ...base, "--private-key", requesterAccount().privateKey]);
      expect(premature.code).to.equal(1);
      expect(premature.stderr).to.match(new RegExp(`error: finalize: job ${jobId} is in its challenge window until \\S+ \\(\\d+ s from now\\); it can be finalised after that`));

      // wait --final with nobody to finalise: told a few seconds after the window is over, and the timeout says why.
      const waited = await cli(["wait", String(jobId), "--final", ...base, "--timeout", String(Number(WINDOW) + NOT_FINALISED_GRACE_S + 3)]);
      expect(waited.code).to.equal(1);
      const notice = new RegExp(`job ${jobId}: its challenge window ended at \\S+ \\((\\d+) s ago\\) with no dispute open, but nobody has finalised it yet`).exec(waited.stderr);
      expect(notice, waited.stderr).to.not.equal(null);
      expect(Number(notice![1]), "seconds past the window when told").to.be.at.least(NOT_FINALISED_GRACE_S);
      expect(waited.stderr).to.match(new RegExp(`error: timed out after \\d+ ms waiting for the final result of job ${jobId}: it is Submitted; .*anyone may: npm run cli -- finalize ${jobId} --private-key 0x… \\(or wait --final --finalize\\)`));
      // Seen with no block mined since the submission: by the clock.
      expect(await sys.publicClient.getBlockNumber({ cacheTime: 0 })).to.equal(submittedIn);
      expect(await requester.finality(jobId)).to.include({ kind: "finalizable" });

      // The SDK's wait finalises it itself.
      let told: unknown;
      const final = await requester.waitFor(jobId, "final", { finalize: true, onFinalizable: (f) => (told = f), timeoutMs: WAIT_MS, pollingIntervalMs: 50 });
      expect(told).to.include({ jobId, finalizing: true });
      const tx = await sys.publicClient.getTransaction({ hash: final.finalizedTransactionHash });
      expect(tx.from.toLowerCase()).to.equal(requesterAccount().address.toLowerCase());
      expect(final.node).to.equal(otherNodeAccount().address);
      expect((await requester.getJob(jobId)).job.status).to.equal(JobStatus.Finalized);

      const again = await cli(["finalize", String(jobId), ...base, "--private-key", requesterAccount().privateKey]);
      expect(again.code).to.equal(1);
      expect(again.stderr).to.match(new RegExp(`error: finalize: job ${jobId} is Finalized, not Submitted`));
    });

    it("npm run cli -- wait --final --finalize finalises the result once its window has ended and prints it", async () => {
      const { jobId } = await postAndServe(5);
      const started = Date.now();
      const r = await cli(["wait", String(jobId), "--final", "--finalize", ...base, "--private-key", requesterAccount().privateKey, "--timeout", "30"]);
      expect(r.code, r.stderr).to.equal(0);
      expect(Date.now() - started, "ms from the submission to the final result").to.be.below(Number(WINDOW) * 1000 + SLACK_MS);
      expect(r.stderr).to.match(new RegExp(`job ${jobId}: challenge window ended at \\S+ with no dispute open; finalising it`));
      const out = JSON.parse(r.stdout);
      expect(out).to.include({ jobId: String(jobId), node: otherNodeAccount().address, argmax: 5 });
      const tx = await sys.publicClient.getTransaction({ hash: out.finalizedTransactionHash });
      expect(tx.from.toLowerCase()).to.equal(requesterAccount().address.toLowerCase());
      // Every try that came before the chain's clock got there was a simulation, not a reverted transaction.
      expect((await transactionsOf(requesterAccount().address)).filter((t) => !t.ok)).to.deep.equal([]);
    });

    it("wait --finalize without --final, or --private-key without --finalize, is a bad command line", async () => {
      expect(await cli(["wait", "1", "--finalize", ...base, "--private-key", requesterAccount().privateKey])).to.include({ code: 2 });
      expect((await cli(["wait", "1", "--final", ...base, "--private-key", requesterAccount().privateKey])).stderr).to.match(/--private-key goes with --finalize/);
      expect((await cli(["wait", "1", "--final", "--finalize", ...base])).stderr).to.match(/--private-key is required \(or set REFUTE_PRIVATE_KEY\)/);
    });
  });
});
