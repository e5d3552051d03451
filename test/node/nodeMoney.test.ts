import { expect } from "chai";
import hre from "hardhat";
import { type Address, type EIP1193Provider, formatEther, parseEther } from "viem";
import { jobMarketAbi, stakingAbi } from "../../core/abi";
import { type ChainActor, send } from "../../core/chain/actor";
import { JobStatus, toJobArgument } from "../../core/jobState";
import { MNIST_MODEL_DIR, loadModelDir } from "../../core/modelFiles";
import { Metrics } from "../../core/service/metrics";
import { heldOutDigit } from "../../client/mnistDigit";
import type { Watcher } from "../../challenger/watcher";
import { Earnings } from "../../node/earnings";
import { parseMinFees } from "../../node/feePolicy";
import { NodeOperator } from "../../node/nodeOperator";
import type { CheatMode } from "../../node/resultComputer";
import { RefuteTestKit } from "../../testing/refuteTestKit";

/**
 * What a node operator expects about money, with the node run in this process one round at a time
 * (the daemon's own work, node/nodeOperator.ts): a minimum fee, per model; earnings counted from
 * receipts and events; a job whose node missed its deadline reclaimed and served; a slash shown.
 */

interface Logged {
  readonly level: string;
  readonly msg: string;
  readonly [field: string]: unknown;
}

interface TestNode {
  readonly node: NodeOperator;
  readonly account: Address;
  readonly logs: Logged[];
  readonly metrics: Metrics;
  find(msg: string, fields?: Record<string, unknown>): Logged[];
}

describe("the node's money (node/nodeOperator.ts, node/earnings.ts), in process", () => {
  const provider = () => hre.network.provider as unknown as EIP1193Provider;
  let kit: RefuteTestKit;
  const mnist = () => loadModelDir(MNIST_MODEL_DIR);

  before(async () => {
    await hre.run("compile", { quiet: true });
  });
  beforeEach(async () => {
    kit = await RefuteTestKit.deploy(provider());
  });
  afterEach(async () => {
    await kit?.stop();
  });

  /** A node as `account` serving `models` (the reference executor), staked 10 ETH through its earnings' actor, as node/main.ts does. */
  async function startNode(account: Address, models: readonly bigint[], options: { minFee?: bigint; minFees?: Map<bigint, bigint>; cheat?: CheatMode } = {}): Promise<TestNode> {
    const logs: Logged[] = [];
    const at = (level: string) => (msg: string, fields: Record<string, unknown> = {}) => void logs.push({ ...fields, level, msg });
    const actor: ChainActor = { ...kit.actor(account), log: { debug: () => undefined, info: at("info"), warn: at("warn"), error: at("error") } };
    const metrics = new Metrics("refute_node");
    const earnings = new Earnings(actor, metrics);
    await earnings.start();
    await send(earnings.actor, { address: kit.deployment.contracts.staking, abi: stakingAbi, functionName: "stake", value: parseEther("10") });
    const files = mnist();
    const served = models.map((modelId) => ({ modelId, model: files.model, commitment: files.commitment }));
    const node = new NodeOperator(earnings.actor, { models: served, cheat: options.cheat ?? { kind: "none" }, minFee: options.minFee, minFees: options.minFees, earnings }, metrics);
    const find = (msg: string, fields: Record<string, unknown> = {}) => logs.filter((r) => r.msg === msg && Object.entries(fields).every(([k, v]) => String(r[k]) === String(v)));
    return { node, account, logs, metrics, find };
  }

  /** Rounds of every worker until a round mines nothing new (as RefuteTestKit.serve does for its own). */
  async function serve(...workers: (NodeOperator | Watcher)[]): Promise<void> {
    for (let round = 0; round < 200; round++) {
      const before = await kit.publicClient.getBlockNumber();
      for (const w of workers) await w.tick();
      if ((await kit.publicClient.getBlockNumber()) === before) return;
    }
    throw new Error("still busy after 200 rounds");
  }

  /** gasUsed × effectiveGasPrice over every transaction `from` sent after block `after`, as the receipts say. */
  async function gasPaidBy(from: Address, after: bigint): Promise<{ wei: bigint; count: number }> {
    const head = await kit.publicClient.getBlockNumber();
    let wei = 0n;
    let count = 0;
    for (let n = after + 1n; n <= head; n++) {
      const block = await kit.publicClient.getBlock({ blockNumber: n, includeTransactions: true });
      for (const tx of block.transactions) {
        if (tx.from.toLowerCase() !== from.toLowerCase()) continue;
        const receipt = await kit.publicClient.getTransactionReceipt({ hash: tx.hash });
        wei += receipt.gasUsed * receipt.effectiveGasPrice;
        count++;
      }
    }
    return { wei, count };
  }

  const metric = async (t: TestNode, name: string) => {
    const m = new RegExp(`^${name.replace(/[{}"]/g, "\\$&")} (\\S+)$`, "m").exec(await t.metrics.render());
    return m ? Number(m[1]) : undefined;
  };

  it("takes a job only when its fee reaches the minimum, per model where one is given; a skipped job is logged once and counted", async () => {
    const second = await kit.registerModel(MNIST_MODEL_DIR); // the same files under a second id
    const first = kit.deployment.model.id;
    const t = await startNode(kit.accounts[1], [first, second], { minFee: parseEther("0.002"), minFees: new Map([[second, parseEther("0.0005")]]) });
    const client = kit.client();
    const collateral = await client.minCollateral();
    const post = async (modelId: bigint, fee: string) => (await client.postJob({ modelId, input: heldOutDigit(1).input, fee: parseEther(fee), collateral })).jobId;
    const below = await post(first, "0.001");
    const at = await post(first, "0.002");
    const atOverride = await post(second, "0.0005");
    const belowOverride = await post(second, "0.0004");

    await serve(t.node);
    await serve(t.node); // more rounds: each skip is still logged once
    const status = async (jobId: bigint) => JobStatus[(await client.getJob(jobId)).job.status];
    expect([await status(below), await status(at), await status(atOverride), await status(belowOverride)]).to.deep.equal(["Open", "Submitted", "Submitted", "Open"]);
    expect(t.find("took job").map((r) => r.jobId)).to.deep.equal([at, atOverride]);
    expect(t.find("skipped job: fee below this node's minimum")).to.deep.equal([
      { level: "info", msg: "skipped job: fee below this node's minimum", jobId: below, modelId: first, fee: parseEther("0.001"), minFee: parseEther("0.002") },
      { level: "info", msg: "skipped job: fee below this node's minimum", jobId: belowOverride, modelId: second, fee: parseEther("0.0004"), minFee: parseEther("0.0005") },
    ]);
    expect(await metric(t, 'refute_node_jobs_skipped_total{reason="fee"}')).to.equal(2);
    expect(t.node.status().minFees).to.deep.equal({ [String(first)]: parseEther("0.002"), [String(second)]: parseEther("0.0005") });
  });

  it("/status earnings after a finalised job: the fee, the gas of the node's transactions as their receipts say, net = fee − gas", async () => {
    const t = await startNode(kit.accounts[1], [kit.deployment.model.id]);
    const since = t.node.status().earnings.sinceBlock!;
    const client = kit.client();
    const fee = parseEther("0.003");
    const { jobId } = await client.postJob({ input: heldOutDigit(2).input, fee, collateral: await client.minCollateral() });
    await serve(t.node);
    await kit.increaseTime(kit.deployment.parameters.challengeWindow);
    await serve(t.node);
    expect((await client.getJob(jobId)).job.status).to.equal(JobStatus.Finalized);

    const paid = await gasPaidBy(t.account, since);
    const earnings = t.node.status().earnings;
    expect(earnings).to.deep.include({ feesEarned: fee, jobsPaid: 1, gasSpent: paid.wei, transactions: paid.count, bondsWon: 0n, lostToSlashes: 0n, lostToMissedDeadlines: 0n, net: fee - paid.wei });
    expect(paid.count).to.equal(4);
    expect(Object.keys(earnings.gasByAction).sort()).to.deep.equal(["finalize", "stake", "submitResult", "takeJob"]);
    expect(Object.values(earnings.gasByAction).reduce((a, b) => a + b, 0n)).to.equal(paid.wei);
    expect(t.find("fee earned", { jobId })).to.have.length(1);
    expect(await metric(t, "refute_node_fees_earned_eth_total")).to.equal(Number(formatEther(fee)));
    expect(await metric(t, "refute_node_net_earnings_eth")).to.be.closeTo(Number(formatEther(fee - paid.wei)), 1e-12);
    expect(await metric(t, 'refute_node_gas_spent_eth_total{action="takeJob"}')).to.equal(Number(formatEther(earnings.gasByAction.takeJob)));
  });

  it("reclaims a job whose node missed its delivery deadline, then serves it; the late node's status shows the forfeited collateral", async () => {
    const first = kit.deployment.model.id;
    const second = await kit.registerModel(MNIST_MODEL_DIR);
    // The late node serves only the second model: it takes a job of the first and never delivers (a node that went down).
    const late = await startNode(kit.accounts[1], [second]);
    const client = kit.client();
    const collateral = await client.minCollateral();
    const { jobId } = await client.postJob({ input: heldOutDigit(3).input, fee: parseEther("0.001"), collateral });
    await send(kit.actor(late.account), { address: kit.deployment.contracts.jobMarket, abi: jobMarketAbi, functionName: "takeJob", args: [jobId, toJobArgument((await client.getJob(jobId)).job)] });
    const rescuer = await startNode(kit.accounts[2], [first]);
    const since = rescuer.node.status().earnings.sinceBlock!;

    await serve(late.node, rescuer.node);
    expect((await client.getJob(jobId)).job.status, "inside its delivery window the job stays with its node").to.equal(JobStatus.Taken);
    expect(rescuer.find("reclaimed job: its node missed the delivery deadline")).to.deep.equal([]);
    expect((await gasPaidBy(rescuer.account, since)).count, "no transaction tried early: only its stake").to.equal(1);
    expect(Object.keys(rescuer.node.status().earnings.gasByAction)).to.deep.equal(["stake"]);

    await kit.increaseTime(kit.deployment.parameters.deliveryWindow + 1n);
    await serve(late.node, rescuer.node);
    const { job } = await client.getJob(jobId);
    expect(job).to.include({ status: JobStatus.Submitted, node: rescuer.account, attempt: 2n, missedDeadlines: 1n });
    const reclaimed = rescuer.find("reclaimed job: its node missed the delivery deadline");
    expect(reclaimed).to.have.length(1);
    expect(reclaimed[0]).to.include({ level: "info", jobId, modelId: first, formerNode: late.account, attempt: 1n, collateral });
    expect(rescuer.find("took job", { jobId })).to.have.length(1);
    expect(await metric(rescuer, "refute_node_jobs_reclaimed_total")).to.equal(1);
    expect(rescuer.node.status().earnings.gasByAction).to.have.property("reclaimJob");
    expect((await client.credits(kit.accounts[kit.accounts.length - 1])).staking, "the requester's compensation").to.equal(collateral);

    expect(late.node.status().earnings).to.deep.include({ lostToMissedDeadlines: collateral, missedDeadlines: 1, lostToSlashes: 0n });
    expect(late.node.status().earnings.net).to.equal(-collateral - late.node.status().earnings.gasSpent);
    expect(late.find("collateral forfeited: missed the delivery deadline")).to.have.length(1);
    expect(late.find("collateral forfeited: missed the delivery deadline")[0]).to.include({ level: "warn", jobId, amount: collateral });
    expect(await metric(late, 'refute_node_collateral_lost_eth_total{reason="missed_deadline"}')).to.equal(Number(formatEther(collateral)));
  });

  it("a slashed node's status shows the collateral it lost in the dispute", async () => {
    const cheater = await startNode(kit.accounts[1], [kit.deployment.model.id], { cheat: { kind: "wrong-output" } });
    const watcher = kit.startWatcher({ models: [kit.deployment.model.id], account: kit.accounts[2] });
    const client = kit.client();
    const collateral = await client.minCollateral();
    const { jobId } = await client.postJob({ input: heldOutDigit(4).input, fee: parseEther("0.001"), collateral });
    await serve(cheater.node, watcher);

    expect((await client.getJob(jobId)).job.status, "reopened after the lost dispute").to.equal(JobStatus.Open);
    const earnings = cheater.node.status().earnings;
    expect(earnings).to.deep.include({ lostToSlashes: collateral, slashes: 1, feesEarned: 0n, lostToMissedDeadlines: 0n, net: -collateral - earnings.gasSpent });
    expect(cheater.find("collateral slashed: lost a dispute")[0]).to.include({ level: "warn", jobId, amount: collateral });
    expect(await metric(cheater, 'refute_node_collateral_lost_eth_total{reason="slashed"}')).to.equal(Number(formatEther(collateral)));
  });
});

describe("--min-fees entries (node/feePolicy.ts)", () => {
  it("reads modelId=amount in the one amount syntax, as wei per model", () => {
    expect(parseMinFees(["2=0.01", "3=0.5eth", "4=1000 wei", "5=0.25 ether"], [1n, 2n, 3n, 4n, 5n])).to.deep.equal(
      new Map([
        [2n, parseEther("0.01")],
        [3n, parseEther("0.5")],
        [4n, 1000n],
        [5n, parseEther("0.25")],
      ]),
    );
    expect(parseMinFees([], [1n])).to.deep.equal(new Map());
  });

  it("refuses a malformed entry, a bad amount, a model given twice and a model the node does not serve, naming the entry", () => {
    expect(() => parseMinFees(["x=1"], [1n])).to.throw('--min-fees: "x=1" is not <modelId>=<amount>');
    expect(() => parseMinFees(["2"], [2n])).to.throw('--min-fees: "2" is not <modelId>=<amount>');
    expect(() => parseMinFees(["2=abc"], [2n])).to.throw('--min-fees: the amount in "2=abc" is not an amount (ETH as 1.5');
    expect(() => parseMinFees(["2=0.0000000000000000001"], [2n])).to.throw('--min-fees: the amount in "2=0.0000000000000000001" is wrong: more than 18 decimals');
    expect(() => parseMinFees(["2=0.01", "2=0.02"], [2n])).to.throw('--min-fees: model 2 is given twice ("2=0.01" and "2=0.02")');
    expect(() => parseMinFees(["7=0.01"], [1n, 2n])).to.throw('--min-fees: "7=0.01" names model 7, which this node does not serve (it serves 1, 2)');
  });
});
