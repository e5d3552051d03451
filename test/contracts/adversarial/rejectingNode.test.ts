import { expect } from "chai";
import { ethers } from "hardhat";
import { loadFixture, time } from "@nomicfoundation/hardhat-network-helpers";
import { JobStatus, hashJob } from "../../../core/jobState";
import type { AttackerNode } from "../../../typechain-types";
import { jobFrom } from "../../helpers/marketFixture";
import { COLLATERAL, FEE, NODE_STAKE, afterWindow, expectEscrowBalanced, gasUsed, honestJob, stakedMarket } from "./escrow";

/** A node run by an AttackerNode contract in `mode` (see the contract), with a submitted job ready to finalise. */
async function nodeContractJob(mode: number) {
  const f = await stakedMarket();
  const attacker = (await ethers.deployContract("AttackerNode", [mode])) as unknown as AttackerNode;
  const nodeAddress = await attacker.getAddress();
  const marketAddress = await f.market.getAddress();
  const m = f.market.interface;
  await attacker.execute(await f.staking.getAddress(), NODE_STAKE, f.staking.interface.encodeFunctionData("stake"), { value: NODE_STAKE });
  const { input, output, traceRoot, inputProof, outputProof } = honestJob();
  const expiresAt = (await time.latest()) + 3600;
  let { jobId, job } = await jobFrom(
    f.market.connect(f.requester).postJob(f.modelId, input, ethers.ZeroAddress, 0, COLLATERAL, expiresAt, { value: FEE })
  );
  ({ job } = await jobFrom(attacker.execute(marketAddress, 0, m.encodeFunctionData("takeJob", [jobId, job])), job));
  ({ job } = await jobFrom(
    attacker.execute(marketAddress, 0, m.encodeFunctionData("submitResult", [jobId, job, output, traceRoot, inputProof, outputProof])),
    job
  ));
  await afterWindow(job);
  return { ...f, attacker, nodeAddress, marketAddress, jobId, job, output };
}
// One named fixture per mode (loadFixture keys on the function).
async function acceptingNode() {
  return nodeContractJob(0);
}
async function revertingNode() {
  return nodeContractJob(1);
}
async function gasBurningNode() {
  return nodeContractJob(2);
}
async function expensiveReceiveNode() {
  return nodeContractJob(3);
}

type Fixture = Awaited<ReturnType<typeof nodeContractJob>>;

/** Finalises and checks the fee was credited, not sent, and that the finaliser's gas stayed small. */
async function finalizeCredited(f: Fixture) {
  const tx = await f.market.connect(f.other).finalize(f.jobId, f.job, f.output);
  await expect(tx).to.emit(f.market, "FeeCredited").withArgs(f.nodeAddress, FEE);
  await expect(tx).to.emit(f.market, "JobFinalized").withArgs(f.jobId, f.nodeAddress, 1, false, true);
  await expect(tx).to.changeEtherBalances([f.market, f.attacker], [0, 0]);
  await expect(tx).to.emit(f.staking, "CollateralUnlocked").withArgs(f.nodeAddress, COLLATERAL, 0);
  expect(await gasUsed(tx)).to.be.lessThan(200_000n);
  expect(await f.market.credits(f.nodeAddress)).to.equal(FEE);
  expect(await f.market.jobHash(f.jobId)).to.equal(hashJob({ ...f.job, status: JobStatus.Finalized }));
  await expectEscrowBalanced(f.market, f.staking);
}

const withdrawData = () => ethers.Interface.from(["function withdraw()"]).encodeFunctionData("withdraw");

describe("Adversarial: a node contract whose receive() reverts or burns gas", () => {
  describe("JobMarket.finalize", () => {
    describe("when the node accepts ETH (control)", () => {
      it("pays the fee directly: feePaid=true, no credit", async () => {
        const f = await loadFixture(acceptingNode);
        const tx = f.market.finalize(f.jobId, f.job, f.output);
        await expect(tx).to.emit(f.market, "JobFinalized").withArgs(f.jobId, f.nodeAddress, 1, true, true);
        await expect(tx).to.changeEtherBalances([f.market, f.attacker], [-FEE, FEE]);
        await expect(tx).not.to.emit(f.market, "FeeCredited");
        await expectEscrowBalanced(f.market, f.staking);
      });
    });

    describe("when receive() reverts", () => {
      it("credits the fee (FeeCredited, feePaid=false) and finalises", async () => {
        await finalizeCredited(await loadFixture(revertingNode));
      });

      it("a withdraw the node still refuses fails with JobMarketTransferFailed and keeps the credit", async () => {
        const f = await loadFixture(revertingNode);
        await f.market.finalize(f.jobId, f.job, f.output);
        await expect(f.attacker.execute(f.marketAddress, 0, withdrawData()))
          .to.be.revertedWithCustomError(f.market, "JobMarketTransferFailed")
          .withArgs(f.nodeAddress, FEE);
        expect(await f.market.credits(f.nodeAddress)).to.equal(FEE);
        await expectEscrowBalanced(f.market, f.staking);
      });
    });

    describe("when receive() loops until it runs out of gas", () => {
      it("credits the fee after spending only the 2300-gas stipend, and finalises", async () => {
        await finalizeCredited(await loadFixture(gasBurningNode));
      });
    });

    describe("when receive() needs more than the 2300-gas stipend", () => {
      it("credits the fee, which the node later withdraws (Withdrawn)", async () => {
        const f = await loadFixture(expensiveReceiveNode);
        await finalizeCredited(f);
        const tx = f.attacker.execute(f.marketAddress, 0, withdrawData());
        await expect(tx).to.emit(f.market, "Withdrawn").withArgs(f.nodeAddress, FEE);
        await expect(tx).to.changeEtherBalances([f.market, f.attacker], [-FEE, FEE]);
        expect(await f.market.credits(f.nodeAddress)).to.equal(0);
        await expectEscrowBalanced(f.market, f.staking);
        expect(await ethers.provider.getBalance(f.market)).to.equal(0);
      });
    });
  });
});
