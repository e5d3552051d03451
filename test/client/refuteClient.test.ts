import { expect } from "chai";
import { type Hex, type RpcLog, type TestClient, createTestClient, custom, parseEther, parseEventLogs } from "viem";
import { digitClassifierAbi, jobMarketAbi, stakingAbi } from "../../core/abi";
import { argmax } from "../../core/argmax";
import { toHex } from "../../core/bytes";
import { activationTree } from "../../core/commitments";
import { deploySystem } from "../../core/chain/deploy";
import type { Deployment } from "../../core/chain/deployment";
import { type LocalChain, startLocalChain } from "../../core/chain/localChain";
import { type RefuteWalletClient, type RpcClients, connectRpc, walletFor } from "../../core/chain/rpcClients";
import { initKeccak } from "../../core/keccak";
import { JobStatus, toJobArgument } from "../../core/jobState";
import { JobEndedError, JobHashMismatchError, JobHistoryError, JobNotFoundError, RefuteClient, RefuteClientError, RefuteContractError, WaitTimeoutError, heldOutDigit } from "../../client";
import { eventually } from "../helpers/eventually";
import { ViemNode } from "../helpers/viemNode";
import { rejection } from "../helpers/expectThrows";

const FEE = parseEther("0.001");
const COLLATERAL = parseEther("0.05");
const WAIT = { timeoutMs: 20_000 };

describe("RefuteClient (client/refuteClient.ts) on a local chain", () => {
  let chain: LocalChain;
  let clients: RpcClients;
  let d: Deployment;
  let client: RefuteClient;
  let requester: RefuteWalletClient;
  let node: RefuteWalletClient;
  let user: RefuteWalletClient;
  let testClient: TestClient;
  let viemNode: ViemNode;
  const three = () => heldOutDigit(3);

  before(async () => {
    await initKeccak();
    chain = await startLocalChain();
    clients = await connectRpc(chain.rpcUrl, { pollingIntervalMs: 50 });
    d = await deploySystem({ publicClient: clients.publicClient, walletClient: walletFor(clients, chain.accounts[0].privateKey) });
    requester = walletFor(clients, chain.accounts[1].privateKey);
    node = walletFor(clients, chain.accounts[2].privateKey);
    user = walletFor(clients, chain.accounts[3].privateKey);
    client = new RefuteClient({ publicClient: clients.publicClient, walletClient: requester, deployment: d });
    testClient = createTestClient({ mode: "hardhat", chain: clients.chain, transport: clients.transport });
    await confirm(node.writeContract({ address: d.contracts.staking, abi: stakingAbi, functionName: "stake", value: parseEther("1") }));
    viemNode = new ViemNode(clients.publicClient, node, d, client);
  });
  after(async () => {
    await chain?.stop();
  });

  async function confirm(tx: Promise<Hex>) {
    const receipt = await clients.publicClient.waitForTransactionReceipt({ hash: await tx });
    expect(receipt.status).to.equal("success");
    return receipt;
  }

  async function passChallengeWindow() {
    await testClient.increaseTime({ seconds: Number(d.parameters.challengeWindow) });
    await testClient.mine({ blocks: 1 });
  }

  describe("when a dapp posts a held-out MNIST digit", () => {
    let jobId: bigint;
    let expected: Int8Array;

    it("postJob returns the job as posted; getJob rebuilds it from the market's events", async () => {
      const digit = three();
      const posted = await client.postJob({ input: digit.input, fee: FEE, collateral: COLLATERAL });
      jobId = posted.jobId;
      expect(posted.job).to.include({ requester: requester.account.address, modelId: d.model.id, fee: FEE, collateral: COLLATERAL, status: JobStatus.Open, attempt: 0n });
      expect(posted.job.inputRoot).to.equal(toHex(activationTree(digit.input).root));
      const state = await client.getJob(jobId);
      expect(state.job).to.deep.equal(posted.job);
      expect(state.input).to.equal(toHex(new Uint8Array(digit.input.buffer)));
      expect(state.logs.map((l) => l.eventName)).to.deep.equal(["JobPosted"]);
      expect(await client.softResult(jobId)).to.equal(null);
      expect(await client.finalResult(jobId)).to.equal(null);
    });

    it("waitFor(soft) reports each step and resolves with the node's output, the digit's class", async () => {
      const digit = three();
      const statuses: JobStatus[] = [];
      const soft = client.waitFor(jobId, "soft", { ...WAIT, onProgress: (u) => statuses.push(u.state.job.status) });
      await eventually(() => statuses.length > 0, "the first progress report");
      await viemNode.take(jobId);
      await eventually(() => statuses.includes(JobStatus.Taken), "the Taken report");
      const honest = await viemNode.submit(jobId, digit.input);
      const result = await soft;
      expected = new Int8Array(honest.output.buffer, honest.output.byteOffset, honest.output.length);
      expect(statuses).to.deep.equal([JobStatus.Open, JobStatus.Taken, JobStatus.Submitted]);
      expect(Array.from(result.output)).to.deep.equal(Array.from(expected));
      expect(argmax(result.output)).to.equal(3);
      expect(result).to.include({ jobId, attempt: 1n, node: node.account.address, traceRoot: honest.traceRoot });
      expect(await client.finalResult(jobId)).to.equal(null);
    });

    it("finalize is refused inside the challenge window, with the contract's reason", async () => {
      const e = await rejection(client.finalize(jobId));
      expect(e).to.be.instanceOf(RefuteContractError);
      expect((e as RefuteContractError).errorName).to.equal("JobMarketDeadlineNotReached");
      expect((e as RefuteContractError).args.jobId).to.equal(jobId);
    });

    it("waitFor(final) resolves once the job is finalised after the window", async () => {
      const final = client.waitFor(jobId, "final", WAIT);
      await passChallengeWindow();
      const tx = await client.finalize(jobId);
      const result = await final;
      expect(tx).to.include({ feePaid: true, callbackSucceeded: true });
      expect(result).to.include({ feePaid: true, callbackSucceeded: true, finalizedTransactionHash: tx.txHash, attempt: 1n });
      expect(Array.from(result.output)).to.deep.equal(Array.from(expected));
      expect((await client.getJob(jobId)).job.status).to.equal(JobStatus.Finalized);
      expect(Array.from((await client.softResult(jobId))!.output)).to.deep.equal(Array.from(expected));
    });
  });

  describe("when the DigitClassifier dapp posts", () => {
    it("the consumer is called back with the digit once the job is final", async () => {
      const digit = three();
      const expiresAt = Number((await clients.publicClient.getBlock()).timestamp) + 3600;
      const receipt = await confirm(
        user.writeContract({ address: d.contracts.digitClassifier, abi: digitClassifierAbi, functionName: "classify", args: [toHex(new Uint8Array(digit.input.buffer)), COLLATERAL, expiresAt], value: FEE }),
      );
      const [requested] = parseEventLogs({ abi: digitClassifierAbi, logs: receipt.logs, eventName: "DigitRequested" });
      const jobId = requested.args.jobId;
      expect((await client.getJob(jobId)).job).to.include({ requester: d.contracts.digitClassifier, consumer: d.contracts.digitClassifier, callbackGasLimit: 100_000n });
      await viemNode.serve(jobId, digit.input);
      await passChallengeWindow();
      await client.finalize(jobId);
      const final = await client.waitFor(jobId, "final", WAIT);
      expect(final.callbackSucceeded).to.equal(true);
      const read = (functionName: "digitPlusOne" | "tally", args: readonly unknown[]) =>
        clients.publicClient.readContract({ address: d.contracts.digitClassifier, abi: digitClassifierAbi, functionName, args: args as never });
      expect(await read("digitPlusOne", [jobId])).to.equal(4);
      expect(await read("tally", [user.account.address, 3])).to.equal(1n);
    });
  });

  describe("decodeError", () => {
    it("names the market's error and its values when postJob reverts", async () => {
      const e = await rejection(client.postJob({ input: three().input, fee: FEE, collateral: 1n }));
      expect(e).to.be.instanceOf(RefuteContractError);
      const c = e as RefuteContractError;
      expect(c.errorName).to.equal("JobMarketCollateralTooLow");
      expect(c.args).to.deep.equal({ have: 1n, min: d.parameters.minCollateral });
      expect(c.declaredBy).to.deep.equal(["JobMarket"]);
      expect(c.message).to.equal(`postJob reverted: JobMarketCollateralTooLow(have=1, min=${d.parameters.minCollateral})`);
    });

    it("names an error Staking raises under a market call, from a plain viem error", async () => {
      const { jobId, job } = await client.postJob({ input: three().input, fee: FEE, collateral: COLLATERAL });
      const unstaked = walletFor(clients, chain.accounts[4].privateKey);
      const e = await rejection(unstaked.writeContract({ address: d.contracts.jobMarket, abi: jobMarketAbi, functionName: "takeJob", args: [jobId, toJobArgument(job)] }));
      const c = client.decodeError(e) as RefuteContractError;
      expect(c).to.be.instanceOf(RefuteContractError);
      expect(c.message).to.equal(`takeJob reverted: StakingInsufficientFreeStake(account=${unstaked.account.address}, have=0, need=${COLLATERAL})`);
      expect(c.declaredBy).to.deep.equal(["Staking"]);
      expect(c.contractAddress).to.equal(d.contracts.jobMarket);
      await client.cancelJob(jobId);
    });

    it("names enum values, and leaves errors that are not reverts as they are", async () => {
      const { jobId, job } = await client.postJob({ input: three().input, fee: FEE, collateral: COLLATERAL });
      const e = await rejection(requester.writeContract({ address: d.contracts.jobMarket, abi: jobMarketAbi, functionName: "finalize", args: [jobId, toJobArgument(job), "0x"] }));
      expect(client.decodeError(e).message).to.equal(`finalize reverted: JobMarketWrongStatus(jobId=${jobId}, have=Open, need=Submitted)`);
      const plain = new Error("socket hang up");
      expect(client.decodeError(plain)).to.equal(plain);
      await client.cancelJob(jobId);
    });
  });

  describe("getJob's checks", () => {
    /** A read-only client whose RPC passes every eth_getLogs answer through `edit`. */
    async function clientWithLogs(edit: (logs: RpcLog[]) => RpcLog[]) {
      const transport = custom({
        request: async (args: { method: string; params?: unknown }) => {
          const answer = await clients.publicClient.request(args as never);
          return args.method === "eth_getLogs" ? edit(answer as RpcLog[]) : answer;
        },
      });
      const tampered = await connectRpc(chain.rpcUrl, { transport, pollingIntervalMs: 50 });
      return new RefuteClient({ publicClient: tampered.publicClient, deployment: d });
    }

    it("refuses a job the market does not have", async () => {
      const e = await rejection(client.getJob(999n));
      expect(e).to.be.instanceOf(JobNotFoundError);
      expect(e.message).to.equal("job 999 does not exist on this market");
    });

    it("detects events that do not hash to the stored job (an RPC that drops JobTaken)", async () => {
      const digit = three();
      const { jobId } = await client.postJob({ input: digit.input, fee: FEE, collateral: COLLATERAL });
      await viemNode.serve(jobId, digit.input);
      const dropTaken = await clientWithLogs((logs) => logs.filter((l) => !isEvent(l, "JobTaken")));
      const e = await rejection(dropTaken.getJob(jobId));
      expect(e).to.be.instanceOf(JobHashMismatchError);
      const m = e as JobHashMismatchError;
      expect(m.jobId).to.equal(jobId);
      expect(m.onChain).to.not.equal(m.computed);
      expect(e.message).to.match(new RegExp(`^job ${jobId}: the job rebuilt from the market's events hashes to 0x[0-9a-f]{64}, but the market stores 0x[0-9a-f]{64} at block \\d+`));
      expect(await rejection(dropTaken.waitFor(jobId, "soft", WAIT))).to.be.instanceOf(JobHashMismatchError);
      expect(Array.from((await client.softResult(jobId))!.output)).to.have.length(10);
    });

    it("detects an output byte that does not match the committed output root", async () => {
      const digit = three();
      const { jobId } = await client.postJob({ input: digit.input, fee: FEE, collateral: COLLATERAL });
      await viemNode.serve(jobId, digit.input);
      // The 10 output bytes open the last 32-byte word of ResultSubmitted's data: flip one bit of the first.
      const flipped = await clientWithLogs((logs) =>
        logs.map((l) => {
          if (!isEvent(l, "ResultSubmitted")) return l;
          const at = l.data.length - 64;
          return { ...l, data: `${l.data.slice(0, at)}${(parseInt(l.data.slice(at, at + 2), 16) ^ 1).toString(16).padStart(2, "0")}${l.data.slice(at + 2)}` as Hex };
        }),
      );
      expect((await flipped.getJob(jobId)).job.status).to.equal(JobStatus.Submitted);
      const e = await rejection(flipped.softResult(jobId));
      expect(e).to.be.instanceOf(JobHistoryError);
      expect(e.message).to.match(new RegExp(`^job ${jobId}: the output in ResultSubmitted \\(0x[0-9a-f]{64}\\) does not have the job's output root`));
    });
  });

  describe("when nobody serves", () => {
    it("waitFor rejects once the job is cancelled; the fee is credited and withdrawn", async () => {
      const { jobId } = await client.postJob({ input: three().input, fee: FEE, collateral: COLLATERAL });
      const before = await client.credits(requester.account.address);
      const soft = client.waitFor(jobId, "soft", WAIT);
      await client.cancelJob(jobId);
      const e = await rejection(soft);
      expect(e).to.be.instanceOf(JobEndedError);
      expect(e.message).to.equal(`job ${jobId} is Cancelled: it will have no soft result`);
      const owed = await client.credits(requester.account.address);
      expect(owed).to.deep.equal({ ...before, market: before.market + FEE, total: before.total + FEE });
      const balance = await clients.publicClient.getBalance({ address: requester.account.address });
      expect(await client.withdraw()).to.deep.equal(owed);
      expect(await client.credits(requester.account.address)).to.deep.equal({ market: 0n, staking: 0n, game: 0n, graphGame: 0n, consumer: 0n, total: 0n });
      expect(await clients.publicClient.getBalance({ address: requester.account.address })).to.be.greaterThan(balance + owed.total - parseEther("0.01"));
    });

    it("credits and withdraw cover every contract that owes the requester: the node's forfeited collateral in staking, a cancelled fee in the market", async () => {
      const { jobId } = await client.postJob({ input: three().input, fee: FEE, collateral: COLLATERAL });
      await viemNode.take(jobId);
      await testClient.increaseTime({ seconds: Number(d.parameters.deliveryWindow) + 1 });
      await testClient.mine({ blocks: 1 });
      const state = await client.getJob(jobId);
      await confirm(user.writeContract({ address: d.contracts.jobMarket, abi: jobMarketAbi, functionName: "reclaimJob", args: [jobId, toJobArgument(state.job)] }));
      await client.cancelJob(jobId);
      const owed = await client.credits(requester.account.address);
      expect(owed).to.deep.equal({ market: FEE, staking: COLLATERAL, game: 0n, graphGame: 0n, consumer: 0n, total: FEE + COLLATERAL });
      expect(await client.withdraw()).to.deep.equal(owed);
      expect((await client.credits(requester.account.address)).total).to.equal(0n);
      const unfunded = new RefuteClient({ publicClient: clients.publicClient, walletClient: walletFor(clients, chain.accounts[6].privateKey), deployment: d });
      expect(await unfunded.withdraw(), "nothing owed: no transaction").to.deep.equal({ market: 0n, staking: 0n, game: 0n, graphGame: 0n, consumer: 0n, total: 0n });
    });

    it("waitFor times out naming the job and where it stands", async () => {
      const { jobId } = await client.postJob({ input: three().input, fee: FEE, collateral: COLLATERAL });
      const e = await rejection(client.waitFor(jobId, "soft", { timeoutMs: 300 }));
      expect(e).to.be.instanceOf(WaitTimeoutError);
      expect(e.message).to.equal(`timed out after 300 ms waiting for the soft result of job ${jobId}: it is Open`);
      await client.cancelJob(jobId);
    });
  });

  describe("expire and reclaim (anyone may, once due)", () => {
    const iso = (t: bigint) => new Date(Number(t) * 1000).toISOString().replace(/[.]/g, "\\.");
    const anyone = () => new RefuteClient({ publicClient: clients.publicClient, walletClient: user, deployment: d });
    const sentBy = (w: RefuteWalletClient) => clients.publicClient.getTransactionCount({ address: w.account.address, blockTag: "pending" });
    const sender = async (hash: Hex) => (await clients.publicClient.getTransaction({ hash })).from.toLowerCase();

    it("expire is refused while the job may still be taken, then closes it and credits the fee back to the requester", async () => {
      const { jobId, job } = await client.postJob({ input: three().input, fee: FEE, collateral: COLLATERAL, ttlSeconds: 60n });
      const sentBefore = await sentBy(user);
      const early = await rejection(anyone().expire(jobId));
      expect(early).to.be.instanceOf(RefuteClientError);
      expect(early.message).to.match(new RegExp(`^expire: job ${jobId} may be taken until ${iso(job.expiresAt)} \\(\\d+ s from now\\); it can be expired after that$`));
      expect(await sentBy(user), "nothing sent (the local chain mines on an interval, so its block number is no witness)").to.equal(sentBefore);

      await testClient.increaseTime({ seconds: 61 });
      await testClient.mine({ blocks: 1 });
      const before = await client.credits(requester.account.address);
      const expired = await anyone().expire(jobId);
      expect(expired).to.include({ refunded: FEE, requester: requester.account.address });
      expect(await sender(expired.txHash)).to.equal(user.account.address.toLowerCase());
      expect((await client.getJob(jobId)).job.status).to.equal(JobStatus.Expired);
      expect((await client.credits(requester.account.address)).market).to.equal(before.market + FEE);

      const again = await rejection(anyone().expire(jobId));
      expect(again).to.be.instanceOf(RefuteClientError);
      expect(again.message).to.equal(`expire: job ${jobId} is Expired, not Open (only a job nobody has taken expires)`);
      await client.withdraw();
    });

    it("reclaim is refused while the node may still deliver, then reopens the job with the node's collateral credited to the requester", async () => {
      const { jobId } = await client.postJob({ input: three().input, fee: FEE, collateral: COLLATERAL });
      const notTaken = await rejection(anyone().reclaim(jobId));
      expect(notTaken.message).to.equal(`reclaim: job ${jobId} is Open, not Taken (only a job whose node missed its delivery deadline can be reclaimed)`);
      await viemNode.take(jobId);
      const { job } = await client.getJob(jobId);
      const sentBefore = await sentBy(user);
      const early = await rejection(anyone().reclaim(jobId));
      expect(early).to.be.instanceOf(RefuteClientError);
      expect(early.message).to.match(new RegExp(`^reclaim: job ${jobId}'s node ${node.account.address} has until ${iso(job.deadline)} \\(\\d+ s from now\\) to deliver its result; it can be reclaimed after that$`));
      expect(await sentBy(user), "nothing sent (the local chain mines on an interval, so its block number is no witness)").to.equal(sentBefore);

      await testClient.increaseTime({ seconds: Number(d.parameters.deliveryWindow) + 1 });
      await testClient.mine({ blocks: 1 });
      const before = await client.credits(requester.account.address);
      const reclaimed = await anyone().reclaim(jobId);
      const block = await clients.publicClient.getTransactionReceipt({ hash: reclaimed.txHash }).then((r) => clients.publicClient.getBlock({ blockNumber: r.blockNumber }));
      expect(reclaimed).to.deep.include({ formerNode: node.account.address, compensation: COLLATERAL, requester: requester.account.address });
      expect(reclaimed.expiresAt >= block.timestamp + d.parameters.reopenWindow).to.equal(true);
      expect(await sender(reclaimed.txHash)).to.equal(user.account.address.toLowerCase());
      expect((await client.getJob(jobId)).job).to.include({ status: JobStatus.Open, missedDeadlines: 1n, expiresAt: reclaimed.expiresAt });
      expect((await client.credits(requester.account.address)).staking).to.equal(before.staking + COLLATERAL);

      const again = await rejection(anyone().reclaim(jobId));
      expect(again.message).to.equal(`reclaim: job ${jobId} is Open, not Taken (only a job whose node missed its delivery deadline can be reclaimed)`);
      await client.cancelJob(jobId);
      await client.withdraw();
    });
  });

  /** Whether a raw log is the market's `eventName`. */
  function isEvent(log: RpcLog, eventName: "JobTaken" | "ResultSubmitted"): boolean {
    return parseEventLogs({ abi: jobMarketAbi, logs: [log], eventName }).length === 1;
  }
});
