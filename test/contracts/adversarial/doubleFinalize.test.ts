import { expect } from "chai";
import { ethers } from "hardhat";
import { loadFixture } from "@nomicfoundation/hardhat-network-helpers";
import { JobStatus, hashJob } from "../../../core/jobState";
import { jobFrom } from "../../helpers/marketFixture";
import { FEE, NODE_STAKE, afterWindow, expectEscrowBalanced, stakedMarket, submittedJob } from "./escrow";

async function readyJob() {
  const f = await stakedMarket();
  const s = await submittedJob(f, f.other.address, 50_000);
  await afterWindow(s.job);
  return { ...f, ...s };
}

async function finalizedJob() {
  const f = await readyJob();
  const { job: finalized } = await jobFrom(f.market.finalize(f.jobId, f.job, f.output), f.job);
  return { ...f, finalized };
}

describe("Adversarial: finalising a job twice", () => {
  describe("JobMarket.finalize", () => {
    describe("when the job is already finalised", () => {
      it("reverts with JobMarketWrongStatus(jobId, Finalized, Submitted) for the current struct", async () => {
        const { market, staking, node, jobId, finalized, output } = await loadFixture(finalizedJob);
        expect(finalized.status).to.equal(JobStatus.Finalized);
        await expect(market.connect(node).finalize(jobId, finalized, output))
          .to.be.revertedWithCustomError(market, "JobMarketWrongStatus")
          .withArgs(jobId, JobStatus.Finalized, JobStatus.Submitted);
        await expectEscrowBalanced(market, staking);
      });

      it("reverts with JobMarketJobMismatch(jobId, have, stored) for the struct it was finalised with", async () => {
        const { market, staking, node, jobId, job, finalized, output } = await loadFixture(finalizedJob);
        await expect(market.connect(node).finalize(jobId, job, output))
          .to.be.revertedWithCustomError(market, "JobMarketJobMismatch")
          .withArgs(jobId, hashJob(job), hashJob(finalized));
        await expectEscrowBalanced(market, staking);
      });

      it("pays the node and unlocks its collateral exactly once", async () => {
        const { market, staking, node, other, jobId, job, output } = await loadFixture(readyJob);
        const before = await ethers.provider.getBalance(node.address);
        const { job: finalized } = await jobFrom(market.connect(other).finalize(jobId, job, output), job);
        for (const attempt of [finalized, job]) await expect(market.connect(other).finalize(jobId, attempt, output)).to.be.reverted;
        expect(await ethers.provider.getBalance(node.address)).to.equal(before + FEE);
        expect(await market.credits(node.address)).to.equal(0);
        expect(await staking.accountOf(node.address)).to.deep.equal([NODE_STAKE, 0n, 0n, 0n]);
        await expectEscrowBalanced(market, staking);
      });
    });
  });
});
