import { expect } from "chai";
import { ethers } from "hardhat";
import { loadFixture, time } from "@nomicfoundation/hardhat-network-helpers";
import { hashJob } from "../../../core/jobState";
import { jobFrom } from "../../helpers/marketFixture";
import { COLLATERAL, FEE, NODE_STAKE, expectEscrowBalanced, honestJob, stakedMarket } from "./escrow";

async function openJob() {
  const f = await stakedMarket();
  const expiresAt = (await time.latest()) + 3600;
  const { jobId, job } = await jobFrom(
    f.market.connect(f.requester).postJob(f.modelId, honestJob().input, ethers.ZeroAddress, 0, COLLATERAL, expiresAt, { value: FEE })
  );
  return { ...f, jobId, job, expiresAt };
}

describe("Adversarial: a node without (enough) stake taking a job", () => {
  describe("JobMarket.takeJob", () => {
    describe("when the caller never staked", () => {
      it("bubbles StakingInsufficientFreeStake(caller, 0, collateral) and the job stays open", async () => {
        const { market, staking, other, jobId, job } = await loadFixture(openJob);
        await expect(market.connect(other).takeJob(jobId, job))
          .to.be.revertedWithCustomError(staking, "StakingInsufficientFreeStake")
          .withArgs(other.address, 0, COLLATERAL);
        expect(await market.jobHash(jobId)).to.equal(hashJob(job));
        await expectEscrowBalanced(market, staking);
      });
    });

    describe("when the caller's free stake is already locked by other jobs", () => {
      it("bubbles StakingInsufficientFreeStake(node, free, collateral)", async () => {
        const { market, staking, node, requester, modelId, jobId, job, expiresAt } = await loadFixture(openJob);
        await market.connect(node).takeJob(jobId, job);
        const big = NODE_STAKE; // more than the node has left free
        const second = await jobFrom(
          market.connect(requester).postJob(modelId, honestJob().input, ethers.ZeroAddress, 0, big, expiresAt, { value: FEE })
        );
        await expect(market.connect(node).takeJob(second.jobId, second.job))
          .to.be.revertedWithCustomError(staking, "StakingInsufficientFreeStake")
          .withArgs(node.address, NODE_STAKE - COLLATERAL, big);
        expect(await market.jobHash(second.jobId)).to.equal(hashJob(second.job));
        await expectEscrowBalanced(market, staking);
      });
    });

    describe("when the caller's stake is unbonding", () => {
      it("bubbles StakingInsufficientFreeStake(caller, 0, collateral)", async () => {
        const { market, staking, other, jobId, job } = await loadFixture(openJob);
        await staking.connect(other).stake({ value: NODE_STAKE });
        await staking.connect(other).requestUnstake(NODE_STAKE);
        await expect(market.connect(other).takeJob(jobId, job))
          .to.be.revertedWithCustomError(staking, "StakingInsufficientFreeStake")
          .withArgs(other.address, 0, COLLATERAL);
        await expectEscrowBalanced(market, staking);
      });
    });
  });
});
