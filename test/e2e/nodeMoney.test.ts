import { expect } from "chai";
import { type Address, formatEther, parseEther, parseEventLogs } from "viem";
import { heldOutDigit } from "../../client/mnistDigit";
import { RefuteClient } from "../../client/refuteClient";
import { jobMarketAbi, stakingAbi } from "../../core/abi";
import { send } from "../../core/chain/actor";
import { registerModel } from "../../core/chain/modelRegistration";
import { JobStatus, toJobArgument } from "../../core/jobState";
import { MNIST_MODEL_DIR, loadModelDir } from "../../core/modelFiles";
import { type DaemonProcess, E2eSystem, waitUntil } from "../helpers/e2e";

/**
 * What a node operator expects about money, with the real node daemon as a child process: it takes a
 * job only when the fee reaches its minimum (`--min-fee`, overridden per model by `--min-fees`) and says
 * why it skipped one; a bad `--min-fees` stops it at start; `/status` and `/metrics` give what it
 * earned and spent, as the chain's receipts and events say; and a job whose node missed its delivery
 * deadline is reclaimed by another node, which then serves it.
 */
describe("end to end: a node operator's money (minimum fees, earnings, reclaiming missed jobs)", () => {
  let sys: E2eSystem;
  let node: DaemonProcess;
  let requester: RefuteClient;
  let secondModel: bigint;
  const firstModel = () => sys.deployment.model.id;
  const requesterAccount = () => sys.accounts[1];
  const nodeAccount = () => sys.accounts[2];
  const SKIPPED = "skipped job: fee below this node's minimum";
  const jobs: { below?: bigint; atMinimum?: bigint; atOverride?: bigint } = {};

  before(async () => {
    sys = await E2eSystem.start();
    // The reference model's files under a second id: the node serves both (every live id with the root of its folder).
    ({ modelId: secondModel } = await registerModel(sys.actor(sys.accounts[0]), loadModelDir(MNIST_MODEL_DIR), "file://mnist-again"));
    node = sys.startDaemon("node", "node", nodeAccount(), { args: ["--stake", "1", "--min-fee", "0.002", "--min-fees", `${secondModel}=0.0005`] });
    await node.ready;
    requester = new RefuteClient({ publicClient: sys.publicClient, walletClient: sys.wallet(requesterAccount()), deployment: sys.deployment });
  });
  after(async () => {
    await sys?.stop();
  });

  const api = async (path: string) => fetch(`${await node.apiUrl()}${path}`);
  const metric = async (name: string, daemon = node) => {
    const text = await (await fetch(`${await daemon.apiUrl()}/metrics`)).text();
    const m = new RegExp(`^${name.replace(/[{}"]/g, "\\$&")} (\\S+)$`, "m").exec(text);
    return m ? Number(m[1]) : undefined;
  };
  const post = async (modelId: bigint, fee: string) => (await requester.postJob({ modelId, input: heldOutDigit(6).input, fee: parseEther(fee), collateral: await requester.minCollateral(modelId) })).jobId;

  it("takes a job only when its fee is at least the minimum for its model; a job below is logged once with the reason and counted", async () => {
    expect(node.find("minimum fees")[0]).to.deep.include({ minFee: String(parseEther("0.002")), minFees: { [String(secondModel)]: String(parseEther("0.0005")) } });
    jobs.below = await post(firstModel(), "0.001");
    jobs.atMinimum = await post(firstModel(), "0.002");
    jobs.atOverride = await post(secondModel, "0.0005");
    const skipped = await node.waitFor(SKIPPED, { jobId: jobs.below });
    expect(skipped).to.deep.include({ level: "info", modelId: String(firstModel()), fee: String(parseEther("0.001")), minFee: String(parseEther("0.002")) });
    await node.waitFor("submitted result", { jobId: jobs.atMinimum });
    await node.waitFor("submitted result", { jobId: jobs.atOverride });
    // A few more rounds: the skip is not logged again.
    const rounds = (await metric('refute_node_ticks_total{ok="true"}'))!;
    await waitUntil(async () => (await metric('refute_node_ticks_total{ok="true"}'))! >= rounds + 3, "three more rounds", [node]);
    expect(node.find(SKIPPED)).to.have.length(1);
    expect(node.find("took job").map((r) => r.jobId)).to.deep.equal([String(jobs.atMinimum), String(jobs.atOverride)]);
    expect((await requester.getJob(jobs.below)).job.status).to.equal(JobStatus.Open);
    expect(await metric('refute_node_jobs_skipped_total{reason="fee"}')).to.equal(1);
    const status = await (await api("/status")).json();
    expect(status.minFees).to.deep.equal({ [String(firstModel())]: String(parseEther("0.002")), [String(secondModel)]: String(parseEther("0.0005")) });
  });

  it("/status and /metrics give the fees of its finalised jobs, the gas of its transactions as their receipts say, and the net", async () => {
    await sys.increaseTime(sys.deployment.parameters.challengeWindow);
    await node.waitFor("finalised result", { jobId: jobs.atMinimum });
    await node.waitFor("finalised result", { jobId: jobs.atOverride });
    const fees = parseEther("0.002") + parseEther("0.0005");
    const earnings = await waitUntil(
      async () => {
        const e = (await (await api("/status")).json()).earnings;
        return e.jobsPaid === 2 && e;
      },
      "both fees in /status",
      [node],
    );
    const gas = await sys.gasSpentBy(nodeAccount().address);
    expect(gas > 0n).to.equal(true);
    expect(earnings).to.deep.include({ feesEarned: String(fees), gasSpent: String(gas), net: String(fees - gas), bondsWon: "0", lostToSlashes: "0", lostToMissedDeadlines: "0" });
    // stake, two takes, two submissions, two finalisations
    expect(earnings.transactions).to.equal(7);
    expect(Object.keys(earnings.gasByAction).sort()).to.deep.equal(["finalize", "stake", "submitResult", "takeJob"]);
    expect(await metric("refute_node_fees_earned_eth_total")).to.equal(Number(formatEther(fees)));
    expect(await metric("refute_node_net_earnings_eth")).to.be.closeTo(Number(formatEther(fees - gas)), 1e-12);
    expect(node.find("fee earned")).to.have.length(2);
  });

  it("refuses a malformed --min-fees entry and one naming a model it does not serve as bad configuration (exit 2), naming the entry", async () => {
    const malformed = sys.startDaemon("node-malformed", "node", sys.accounts[5], { args: ["--min-fees", `${secondModel}=0.01,1=0.5eh`] });
    const unserved = sys.startDaemon("node-unserved", "node", sys.accounts[6], { args: ["--min-fees", "1=0.01,9=0.5"] });
    const [bad, other] = await Promise.all([malformed.exited, unserved.exited]);
    expect(bad.code, malformed.tail()).to.equal(2);
    expect(malformed.otherLines.join("\n")).to.include("refute-node: invalid configuration (1 problem):\n  - minFees: the amount in \"1=0.5eh\" is not an amount");
    expect(other.code, unserved.tail()).to.equal(2);
    expect(unserved.otherLines.join("\n")).to.include(`refute-node: invalid configuration (1 problem):\n  - minFees: "9=0.5" names model 9, which this node does not serve (it serves 1, ${secondModel})`);
  });

  it("a job whose node missed its delivery deadline is reclaimed by another node daemon, which then serves it", async () => {
    await node.stop();
    // A node that took the job and went down before delivering it (played with plain calls).
    const late = sys.actor(sys.accounts[3]);
    await send(late, { address: sys.deployment.contracts.staking, abi: stakingAbi, functionName: "stake", value: parseEther("1") });
    const collateral = await requester.minCollateral();
    const jobId = await post(firstModel(), "0.001");
    await send(late, { address: sys.deployment.contracts.jobMarket, abi: jobMarketAbi, functionName: "takeJob", args: [jobId, toJobArgument((await requester.getJob(jobId)).job)] });
    await sys.increaseTime(sys.deployment.parameters.deliveryWindow + 1n);
    const creditsBefore = (await requester.credits(requesterAccount().address)).staking;

    const rescuerAccount = sys.accounts[4];
    const rescuer = sys.startDaemon("node-rescuer", "node", rescuerAccount, { args: ["--stake", "1"] });
    const reclaimed = await rescuer.waitFor("reclaimed job: its node missed the delivery deadline", { jobId });
    expect(reclaimed).to.deep.include({ formerNode: late.walletClient.account.address, attempt: "1", collateral: String(collateral) });
    await rescuer.waitFor("submitted result", { jobId, attempt: 2 });

    const { job, logs } = await requester.getJob(jobId);
    expect(job).to.include({ status: JobStatus.Submitted, node: rescuerAccount.address, attempt: 2n, missedDeadlines: 1n });
    const reopened = logs.find((l) => l.eventName === "JobReopened")!;
    expect((await sys.publicClient.getTransaction({ hash: reopened.transactionHash })).from.toLowerCase()).to.equal(rescuerAccount.address.toLowerCase());
    expect((await requester.credits(requesterAccount().address)).staking, "the requester's compensation").to.equal(creditsBefore + collateral);
    const receipt = await sys.publicClient.getTransactionReceipt({ hash: reopened.transactionHash });
    expect(parseEventLogs({ abi: stakingAbi, logs: receipt.logs, eventName: "CollateralForfeited" }).map((e) => e.args)).to.deep.equal([{ account: late.walletClient.account.address, to: requesterAccount().address, amount: collateral }]);

    expect(await metric("refute_node_jobs_reclaimed_total", rescuer)).to.equal(1);
    expect(rescuer.find("action failed; will retry"), rescuer.tail()).to.deep.equal([]);
    const status = await (await fetch(`${await rescuer.apiUrl()}/status`)).json();
    expect(status.earnings.gasByAction).to.have.property("reclaimJob");
    expect(await allSucceeded(rescuerAccount.address), "no reverted transaction").to.equal(true);
  });

  /** Whether every transaction `from` sent since the deployment succeeded. */
  async function allSucceeded(from: Address): Promise<boolean> {
    const head = await sys.publicClient.getBlockNumber();
    for (let n = sys.deployment.startBlock; n <= head; n++) {
      const block = await sys.publicClient.getBlock({ blockNumber: n, includeTransactions: true });
      for (const tx of block.transactions) {
        if (tx.from.toLowerCase() === from.toLowerCase() && (await sys.publicClient.getTransactionReceipt({ hash: tx.hash })).status !== "success") return false;
      }
    }
    return true;
  }
});
