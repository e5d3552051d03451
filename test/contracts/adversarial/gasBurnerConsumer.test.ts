import { expect } from "chai";
import { ethers } from "hardhat";
import { loadFixture } from "@nomicfoundation/hardhat-network-helpers";
import { JobStatus, hashJob } from "../../../core/jobState";
import { CONFIG, FEE, afterWindow, expectEscrowBalanced, gasUsed, stakedMarket, submittedJob } from "./escrow";

async function gasBurnerJob() {
  const f = await stakedMarket();
  const consumer = await ethers.deployContract("GasBurnerConsumer");
  const s = await submittedJob(f, await consumer.getAddress(), CONFIG.maxCallbackGasLimit);
  await afterWindow(s.job);
  return { ...f, consumer, ...s };
}

describe("Adversarial: a consumer that burns all its gas (infinite loop)", () => {
  describe("JobMarket.finalize", () => {
    describe("when the callback loops until it runs out of gas", () => {
      it("finalises with callbackSucceeded=false, pays the node, and costs at most the callback limit + 200k", async () => {
        const { market, staking, node, other, jobId, job, output } = await loadFixture(gasBurnerJob);
        const tx = await market.connect(other).finalize(jobId, job, output);
        await expect(tx).to.emit(market, "JobFinalized").withArgs(jobId, node.address, 1, true, false);
        await expect(tx).to.changeEtherBalances([market, node], [-FEE, FEE]);
        const used = await gasUsed(tx);
        // The whole limit was burnt, and no more than that plus the market's own work.
        expect(used).to.be.greaterThan(BigInt(CONFIG.maxCallbackGasLimit));
        expect(used).to.be.lessThan(BigInt(CONFIG.maxCallbackGasLimit + 200_000));
        expect(await market.jobHash(jobId)).to.equal(hashJob({ ...job, status: JobStatus.Finalized }));
        await expectEscrowBalanced(market, staking);
      });

      it("cannot take more than the callback limit even when the finaliser sends a huge gas limit", async () => {
        const { market, staking, node, other, jobId, job, output } = await loadFixture(gasBurnerJob);
        const tx = await market.connect(other).finalize(jobId, job, output, { gasLimit: 16_000_000 });
        await expect(tx).to.emit(market, "JobFinalized").withArgs(jobId, node.address, 1, true, false);
        expect(await gasUsed(tx)).to.be.lessThan(BigInt(CONFIG.maxCallbackGasLimit + 200_000));
        await expectEscrowBalanced(market, staking);
      });
    });
  });
});
