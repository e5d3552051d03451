import { expect } from "chai";
import { ethers } from "hardhat";
import { loadFixture } from "@nomicfoundation/hardhat-network-helpers";
import { JobStatus, hashJob } from "../../../core/jobState";
import type { ReturnBombConsumer } from "../../../typechain-types";
import { CONFIG, FEE, afterWindow, expectEscrowBalanced, gasUsed, stakedMarket, submittedJob } from "./escrow";

/**
 * About 900 KB: as much return data as the largest callback limit (2M gas) can pay the memory for
 * (a full 1 MB needs ~2.2M gas of memory expansion, over the cap). Copying it back into the market's
 * memory would cost the finaliser well over another 1.6M gas.
 */
const BOMB = 900_000;

async function bombFixture(viaRevert: boolean) {
  const f = await stakedMarket();
  const consumer = (await ethers.deployContract("ReturnBombConsumer", [BOMB, viaRevert])) as unknown as ReturnBombConsumer;
  const s = await submittedJob(f, await consumer.getAddress(), CONFIG.maxCallbackGasLimit);
  await afterWindow(s.job);
  return { ...f, consumer, ...s };
}
async function returnBombJob() {
  return bombFixture(false);
}
async function revertBombJob() {
  return bombFixture(true);
}

describe("Adversarial: a consumer that returns huge data (returndata bomb)", () => {
  describe("JobMarket.finalize", () => {
    describe("when the callback returns ~900 KB", () => {
      it("really returns that much data", async () => {
        const { consumer, jobId, output } = await loadFixture(returnBombJob);
        const data = consumer.interface.encodeFunctionData("onInferenceResult", [jobId, output]);
        const ret = await ethers.provider.call({ to: await consumer.getAddress(), data, gasLimit: 3_000_000 });
        expect(ethers.dataLength(ret)).to.equal(BOMB);
      });

      it("finalises (callbackSucceeded=true) without copying it: gas < callback limit + 200k", async () => {
        const { market, staking, node, other, jobId, job, output } = await loadFixture(returnBombJob);
        const tx = await market.connect(other).finalize(jobId, job, output);
        await expect(tx).to.emit(market, "JobFinalized").withArgs(jobId, node.address, 1, true, true);
        await expect(tx).to.changeEtherBalances([market, node], [-FEE, FEE]);
        expect(await gasUsed(tx)).to.be.lessThan(BigInt(CONFIG.maxCallbackGasLimit + 200_000));
        expect(await market.jobHash(jobId)).to.equal(hashJob({ ...job, status: JobStatus.Finalized }));
        await expectEscrowBalanced(market, staking);
      });
    });

    describe("when the callback reverts with ~900 KB of revert data", () => {
      it("finalises with callbackSucceeded=false without copying it", async () => {
        const { market, staking, node, other, jobId, job, output } = await loadFixture(revertBombJob);
        const tx = await market.connect(other).finalize(jobId, job, output);
        await expect(tx).to.emit(market, "JobFinalized").withArgs(jobId, node.address, 1, true, false);
        await expect(tx).to.changeEtherBalances([market, node], [-FEE, FEE]);
        expect(await gasUsed(tx)).to.be.lessThan(BigInt(CONFIG.maxCallbackGasLimit + 200_000));
        await expectEscrowBalanced(market, staking);
      });
    });
  });
});
