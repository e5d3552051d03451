import { expect } from "chai";
import { ethers } from "hardhat";
import { loadFixture } from "@nomicfoundation/hardhat-network-helpers";
import { JobStatus, hashJob } from "../../../core/jobState";
import type { RevertingConsumer } from "../../../typechain-types";
import { COLLATERAL, FEE, NODE_STAKE, afterWindow, expectEscrowBalanced, gasUsed, stakedMarket, submittedJob } from "./escrow";

const LIMIT = 500_000;

async function revertingConsumerJob() {
  const f = await stakedMarket();
  const consumer = (await ethers.deployContract("RevertingConsumer")) as unknown as RevertingConsumer;
  const s = await submittedJob(f, await consumer.getAddress(), LIMIT);
  await afterWindow(s.job);
  return { ...f, consumer, ...s };
}

describe("Adversarial: a consumer whose callback reverts", () => {
  describe("JobMarket.finalize", () => {
    describe("when the consumer's onInferenceResult reverts", () => {
      it("the consumer really reverts with RevertingConsumerNo(jobId)", async () => {
        const { consumer, jobId, output } = await loadFixture(revertingConsumerJob);
        await expect(consumer.onInferenceResult(jobId, output))
          .to.be.revertedWithCustomError(consumer, "RevertingConsumerNo")
          .withArgs(jobId);
      });

      it("finalises anyway: callbackSucceeded=false, node paid, collateral unlocked, gas bounded", async () => {
        const { market, staking, node, other, consumer, jobId, job, output } = await loadFixture(revertingConsumerJob);
        const tx = await market.connect(other).finalize(jobId, job, output);
        await expect(tx).to.emit(market, "JobFinalized").withArgs(jobId, node.address, 1, true, false);
        await expect(tx).to.changeEtherBalances([market, node, consumer], [-FEE, FEE, 0]);
        await expect(tx).to.emit(staking, "CollateralUnlocked").withArgs(node.address, COLLATERAL, 0);
        expect(await staking.accountOf(node.address)).to.deep.equal([NODE_STAKE, 0n, 0n, 0n]);
        expect(await gasUsed(tx)).to.be.lessThan(BigInt(LIMIT + 200_000));
        expect(await market.jobHash(jobId)).to.equal(hashJob({ ...job, status: JobStatus.Finalized }));
        await expectEscrowBalanced(market, staking);
      });
    });
  });
});
