import { expect } from "chai";
import { loadFixture, time } from "@nomicfoundation/hardhat-network-helpers";
import { JobStatus, hashJob } from "../../../core/jobState";
import { COLLATERAL, expectEscrowBalanced, honestJob, stakedMarket, submittedJob } from "./escrow";
import { jobFrom } from "../../helpers/marketFixture";

async function justSubmitted() {
  const f = await stakedMarket();
  return { ...f, ...(await submittedJob(f, f.other.address, 50_000)) };
}

async function justTaken() {
  const f = await stakedMarket();
  const { input, output } = honestJob();
  const expiresAt = (await time.latest()) + 3600;
  let { jobId, job } = await jobFrom(
    f.market.connect(f.requester).postJob(f.modelId, input, f.other.address, 50_000, COLLATERAL, expiresAt, { value: 1n })
  );
  ({ job } = await jobFrom(f.market.connect(f.node).takeJob(jobId, job), job));
  return { ...f, jobId, job, output };
}

describe("Adversarial: finalising before the challenge window ends", () => {
  describe("JobMarket.finalize", () => {
    describe("when the window is still open", () => {
      it("reverts with JobMarketDeadlineNotReached(jobId, deadline, now), right up to the last second", async () => {
        const { market, staking, jobId, job, output } = await loadFixture(justSubmitted);
        for (const t of [(await time.latest()) + 1, Number(job.deadline) - 1]) {
          await time.setNextBlockTimestamp(t);
          await expect(market.finalize(jobId, job, output, { gasLimit: 500_000 }))
            .to.be.revertedWithCustomError(market, "JobMarketDeadlineNotReached")
            .withArgs(jobId, job.deadline, t);
        }
        expect(await market.jobHash(jobId)).to.equal(hashJob(job));
        await expectEscrowBalanced(market, staking);
      });
    });

    describe("when the window passed but a dispute is open", () => {
      it("reverts with JobMarketDisputesOpen(jobId, attempt, open)", async () => {
        const { market, staking, game, jobId, job, output } = await loadFixture(justSubmitted);
        await game.hold(jobId, job);
        await time.increaseTo(job.deadline + 10n);
        await expect(market.finalize(jobId, job, output))
          .to.be.revertedWithCustomError(market, "JobMarketDisputesOpen")
          .withArgs(jobId, 1, 1);
        await expectEscrowBalanced(market, staking);
      });
    });

    describe("when no result was submitted yet", () => {
      it("reverts with JobMarketWrongStatus(jobId, Taken, Submitted), even after the delivery deadline", async () => {
        const { market, staking, jobId, job, output } = await loadFixture(justTaken);
        await time.increaseTo(job.deadline + 1n);
        await expect(market.finalize(jobId, job, output))
          .to.be.revertedWithCustomError(market, "JobMarketWrongStatus")
          .withArgs(jobId, JobStatus.Taken, JobStatus.Submitted);
        await expectEscrowBalanced(market, staking);
      });
    });
  });
});
