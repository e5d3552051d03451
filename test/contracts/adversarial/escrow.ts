import { expect } from "chai";
import { ethers } from "hardhat";
import { time } from "@nomicfoundation/hardhat-network-helpers";
import type { ContractTransactionResponse, Signer } from "ethers";
import { MerkleTree, toLeaves } from "../../../core/merkle";
import { toHex } from "../../../core/bytes";
import { type Job, JobStatus, applyJobEvent, hashJob } from "../../../core/jobState";
import type { JobMarket, Staking } from "../../../typechain-types";
import { COLLATERAL, CONFIG, FEE, NODE_STAKE, deployMarket, honestResult, jobEventOf, jobFrom, mnistInput } from "../../helpers/marketFixture";

/**
 * Shared by the adversarial tests (no tests of its own): the escrow invariant, a fixture with a staked
 * node, and helpers that drive a job through its life.
 */

const LIVE = new Set([JobStatus.Open, JobStatus.Taken, JobStatus.Submitted]);

/** Every job of the market, rebuilt by folding all its logs with the core reducer. */
export async function foldAllJobs(market: JobMarket): Promise<{ jobs: Map<bigint, Job>; accounts: Set<string>; ledger: bigint }> {
  const logs = await ethers.provider.getLogs({ address: await market.getAddress(), fromBlock: 0, toBlock: "latest" });
  const jobs = new Map<bigint, Job>();
  const accounts = new Set<string>();
  // Credits the events say are owed: refunds of cancelled and expired jobs, fees that could not be sent,
  // less what was withdrawn.
  let ledger = 0n;
  for (const log of logs) {
    const parsed = market.interface.parseLog(log);
    if (!parsed) continue;
    if (parsed.name === "FeeCredited") {
      accounts.add(parsed.args.account);
      ledger += parsed.args.amount as bigint;
    } else if (parsed.name === "Withdrawn") {
      accounts.add(parsed.args.account);
      ledger -= parsed.args.amount as bigint;
    }
    const change = jobEventOf(parsed);
    if (!change) continue;
    const jobId = change.jobId;
    const job = applyJobEvent(jobs.get(jobId), change.event);
    if (parsed.name === "JobCancelled" || parsed.name === "JobExpired") ledger += job.fee;
    jobs.set(jobId, job);
    accounts.add(job.requester);
    if (job.node !== ethers.ZeroAddress) accounts.add(job.node);
    if (job.consumer !== ethers.ZeroAddress) accounts.add(job.consumer);
  }
  return { jobs, accounts, ledger };
}

/**
 * The market holds exactly what it owes: its ETH balance equals the credits of every account plus the
 * fees of the jobs not yet finalised, cancelled or expired. Also checks that every job rebuilt from the
 * logs hashes to what the market stores, and (given `staking`) that the staking contract holds exactly
 * its accounts' free, locked and unbonding stake plus its credits.
 */
export async function expectEscrowBalanced(market: JobMarket, staking?: Staking): Promise<void> {
  const { jobs, accounts, ledger } = await foldAllJobs(market);
  let liveFees = 0n;
  for (const [jobId, job] of jobs) {
    expect(await market.jobHash(jobId), `job ${jobId} rebuilt from the logs`).to.equal(hashJob(job));
    if (LIVE.has(job.status)) liveFees += job.fee;
  }
  let credits = 0n;
  for (const a of accounts) credits += await market.credits(a);
  expect(credits, "credits owed vs. the credit events").to.equal(ledger);
  expect(await ethers.provider.getBalance(market), "market balance vs. credits + live fees").to.equal(credits + liveFees);
  if (staking) await expectStakingBalanced(staking);
}

/** The staking contract's balance equals every account's free + locked + unbonding stake plus credits. */
export async function expectStakingBalanced(staking: Staking): Promise<void> {
  const logs = await ethers.provider.getLogs({ address: await staking.getAddress(), fromBlock: 0, toBlock: "latest" });
  const accounts = new Set<string>();
  for (const log of logs) {
    const parsed = staking.interface.parseLog(log);
    if (!parsed) continue;
    if ("account" in parsed.args.toObject()) accounts.add(parsed.args.account);
    if ("to" in parsed.args.toObject()) accounts.add(parsed.args.to);
  }
  let owed = 0n;
  for (const a of accounts) {
    const [free, locked, unbonding] = await staking.accountOf(a);
    owed += free + locked + unbonding + (await staking.credits(a));
  }
  expect(await ethers.provider.getBalance(staking), "staking balance vs. stake + credits").to.equal(owed);
}

/** The market with a staked EOA node. */
export async function stakedMarket() {
  const f = await deployMarket();
  await f.staking.connect(f.node).stake({ value: NODE_STAKE });
  return f;
}

type Market = Awaited<ReturnType<typeof stakedMarket>>;

const INPUT = mnistInput(7);
let honest: ReturnType<typeof honestResult> | undefined;
/** The MNIST input the adversarial tests use and its honest result (computed once). */
export function honestJob() {
  honest ??= honestResult(INPUT);
  return { input: INPUT, ...honest };
}

/** Posts a job by `requester` for `consumer` and has the EOA node take it and submit the honest result. */
export async function submittedJob(f: Market, consumer: string, callbackGasLimit: number, requester: Signer = f.requester) {
  const { input, output, traceRoot, inputProof, outputProof } = honestJob();
  const expiresAt = (await time.latest()) + 3600;
  let { jobId, job } = await jobFrom(
    f.market.connect(requester).postJob(f.modelId, input, consumer, callbackGasLimit, COLLATERAL, expiresAt, { value: FEE })
  );
  ({ job } = await jobFrom(f.market.connect(f.node).takeJob(jobId, job), job));
  ({ job } = await jobFrom(f.market.connect(f.node).submitResult(jobId, job, output, traceRoot, inputProof, outputProof), job));
  return { jobId, job, output };
}

/** Moves time to the end of the job's challenge window. */
export async function afterWindow(job: Job): Promise<void> {
  await time.increaseTo(job.deadline);
}

/** Gas used by a mined transaction. */
export async function gasUsed(tx: ContractTransactionResponse): Promise<bigint> {
  return (await tx.wait())!.gasUsed;
}

/**
 * A submission for an arbitrary `output`: a trace whose leaf 0 is the job's input root and leaf L the
 * output's root (the market checks only those two; the dispute game would catch the rest).
 */
export function craftedResult(job: Job, output: Uint8Array) {
  const L = Number(job.layerCount);
  const leaves = new Uint8Array((L + 1) * 32);
  leaves.set(ethers.getBytes(job.inputRoot), 0);
  leaves.set(ethers.getBytes(bytesRoot(output)), L * 32);
  const tree = MerkleTree.fromLeaves(leaves);
  return { output, traceRoot: toHex(tree.root), inputProof: tree.proof(0).map(toHex), outputProof: tree.proof(L).map(toHex) };
}

/** The Merkle root of `bytes` cut into 32-byte leaves, as LibMerkle.rootOfBytes computes it (core). */
export function bytesRoot(bytes: Uint8Array): string {
  return toHex(MerkleTree.fromLeaves(toLeaves(bytes)).root);
}

export { CONFIG, COLLATERAL, FEE, NODE_STAKE };
