import { expect } from "chai";
import { ethers } from "hardhat";
import { loadFixture, time } from "@nomicfoundation/hardhat-network-helpers";
import { type Job, JobStatus } from "../../../core/jobState";
import { jobFrom } from "../../helpers/marketFixture";
import { COLLATERAL, FEE, NODE_STAKE, expectEscrowBalanced, honestJob, stakedMarket } from "./escrow";

type Fixture = Awaited<ReturnType<typeof stakedMarket>>;

async function twoOpenJobs() {
  const f = await stakedMarket();
  await f.staking.connect(f.other).stake({ value: NODE_STAKE });
  const expiresAt = (await time.latest()) + 3600;
  const post = () =>
    jobFrom(
      f.market.connect(f.requester).postJob(f.modelId, honestJob().input, ethers.ZeroAddress, 0, COLLATERAL, expiresAt, { value: FEE })
    );
  const a = await post();
  const b = await post();
  return { ...f, a, b };
}

/** The requester pulls its market credits (and staking credits, if any); the market must then be empty. */
async function drain(f: Fixture, expectedMarket: bigint, expectedStaking: bigint) {
  await expectEscrowBalanced(f.market, f.staking);
  expect(await f.market.credits(f.requester.address)).to.equal(expectedMarket);
  await expect(f.market.connect(f.requester).withdraw()).to.changeEtherBalances([f.market, f.requester], [-expectedMarket, expectedMarket]);
  if (expectedStaking > 0n) {
    expect(await f.staking.credits(f.requester.address)).to.equal(expectedStaking);
    await expect(f.staking.connect(f.requester).withdraw()).to.changeEtherBalances(
      [f.staking, f.requester],
      [-expectedStaking, expectedStaking]
    );
  }
  expect(await ethers.provider.getBalance(f.market), "escrow after every refund").to.equal(0);
  await expectEscrowBalanced(f.market, f.staking);
}

async function expire(f: Fixture, jobId: bigint, job: Job) {
  if (BigInt(await time.latest()) <= job.expiresAt) await time.increaseTo(job.expiresAt + 1n);
  return jobFrom(f.market.connect(f.other).expireJob(jobId, job), job);
}

describe("Adversarial: every timeout and refund path empties the escrow", () => {
  describe("JobMarket refunds", () => {
    describe("when both jobs expire untaken", () => {
      it("credits both fees; the market ends at zero", async () => {
        const f = await loadFixture(twoOpenJobs);
        await expectEscrowBalanced(f.market, f.staking);
        expect(await ethers.provider.getBalance(f.market)).to.equal(2n * FEE);
        for (const { jobId, job } of [f.a, f.b]) expect((await expire(f, jobId, job)).job.status).to.equal(JobStatus.Expired);
        await drain(f, 2n * FEE, 0n);
      });
    });

    describe("when one job is cancelled and the other expires", () => {
      it("credits both fees; the market ends at zero", async () => {
        const f = await loadFixture(twoOpenJobs);
        await f.market.connect(f.requester).cancelJob(f.a.jobId, f.a.job);
        await expectEscrowBalanced(f.market, f.staking);
        await expire(f, f.b.jobId, f.b.job);
        await drain(f, 2n * FEE, 0n);
      });
    });

    describe("when the node misses its deadline and nobody takes the reopened job", () => {
      it("forfeits the collateral to the requester, expires the job; both escrows end at zero for the requester", async () => {
        const f = await loadFixture(twoOpenJobs);
        await f.market.connect(f.requester).cancelJob(f.b.jobId, f.b.job);
        let { job } = await jobFrom(f.market.connect(f.node).takeJob(f.a.jobId, f.a.job), f.a.job);
        await expectEscrowBalanced(f.market, f.staking);
        await time.increaseTo(job.deadline + 1n);
        ({ job } = await jobFrom(f.market.reclaimJob(f.a.jobId, job), job));
        await expectEscrowBalanced(f.market, f.staking);
        ({ job } = await expire(f, f.a.jobId, job));
        expect(job).to.include({ status: JobStatus.Expired, attempt: 1n });
        await drain(f, 2n * FEE, COLLATERAL);
        expect(await f.staking.accountOf(f.node.address)).to.deep.equal([NODE_STAKE - COLLATERAL, 0n, 0n, 0n]);
      });
    });

    describe("when the node misses its deadline and a second node serves the reopened job", () => {
      it("pays the second node the fee; the requester gets the collateral; the market ends at zero", async () => {
        const f = await loadFixture(twoOpenJobs);
        await f.market.connect(f.requester).cancelJob(f.b.jobId, f.b.job);
        let { job } = await jobFrom(f.market.connect(f.node).takeJob(f.a.jobId, f.a.job), f.a.job);
        await time.increaseTo(job.deadline + 1n);
        ({ job } = await jobFrom(f.market.reclaimJob(f.a.jobId, job), job));
        ({ job } = await jobFrom(f.market.connect(f.other).takeJob(f.a.jobId, job), job));
        const r = honestJob();
        ({ job } = await jobFrom(
          f.market.connect(f.other).submitResult(f.a.jobId, job, r.output, r.traceRoot, r.inputProof, r.outputProof),
          job
        ));
        await expectEscrowBalanced(f.market, f.staking);
        await time.increaseTo(job.deadline);
        await expect(f.market.finalize(f.a.jobId, job, r.output)).to.changeEtherBalances([f.market, f.other], [-FEE, FEE]);
        await drain(f, FEE, COLLATERAL);
      });
    });

    describe("when a dispute rejects the result and the reopened job expires", () => {
      it("slashes the collateral to the requester, refunds the fee; the market ends at zero", async () => {
        const f = await loadFixture(twoOpenJobs);
        await f.market.connect(f.requester).cancelJob(f.b.jobId, f.b.job);
        let { job } = await jobFrom(f.market.connect(f.node).takeJob(f.a.jobId, f.a.job), f.a.job);
        const r = honestJob();
        ({ job } = await jobFrom(
          f.market.connect(f.node).submitResult(f.a.jobId, job, r.output, r.traceRoot, r.inputProof, r.outputProof),
          job
        ));
        await f.game.hold(f.a.jobId, job);
        ({ job } = await jobFrom(f.game.nodeLost(f.a.jobId, job, f.requester.address), job));
        expect(job.status).to.equal(JobStatus.Open);
        await expectEscrowBalanced(f.market, f.staking);
        ({ job } = await expire(f, f.a.jobId, job));
        await drain(f, 2n * FEE, COLLATERAL);
      });
    });
  });
});
