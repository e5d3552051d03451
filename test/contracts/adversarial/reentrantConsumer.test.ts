import { expect } from "chai";
import { ethers } from "hardhat";
import { loadFixture, time } from "@nomicfoundation/hardhat-network-helpers";
import { JobStatus, hashJob } from "../../../core/jobState";
import type { ReentrantConsumer } from "../../../typechain-types";
import { jobFrom } from "../../helpers/marketFixture";
import { COLLATERAL, FEE, afterWindow, expectEscrowBalanced, gasUsed, honestJob, stakedMarket, submittedJob } from "./escrow";

const LIMIT = 1_000_000;

/**
 * The attacker is the consumer of a submitted job and, to have something to steal, also holds a FEE
 * credit in the market (it posted and cancelled a job of its own).
 */
async function reentrantJob() {
  const f = await stakedMarket();
  const attacker = (await ethers.deployContract("ReentrantConsumer", [await f.market.getAddress()])) as unknown as ReentrantConsumer;
  const attackerAddress = await attacker.getAddress();
  const marketAddress = await f.market.getAddress();
  const m = f.market.interface;
  const expiresAt = (await time.latest()) + 3600;
  const own = await jobFrom(
    attacker.execute(
      marketAddress,
      FEE,
      m.encodeFunctionData("postJob", [f.modelId, honestJob().input, ethers.ZeroAddress, 0, COLLATERAL, expiresAt]),
      {
        value: FEE,
      }
    )
  );
  await attacker.execute(marketAddress, 0, m.encodeFunctionData("cancelJob", [own.jobId, own.job]));
  const s = await submittedJob(f, attackerAddress, LIMIT);
  await afterWindow(s.job);
  const finalized = { ...s.job, status: JobStatus.Finalized };
  const calls = [
    m.encodeFunctionData("finalize", [s.jobId, s.job, s.output]), // the job as the finaliser passed it
    m.encodeFunctionData("finalize", [s.jobId, finalized, s.output]), // the job as it is now
    m.encodeFunctionData("withdraw"),
    m.encodeFunctionData("withdraw"),
  ];
  return { ...f, attacker, attackerAddress, finalized, calls, ...s };
}

describe("Adversarial: a consumer that re-enters finalize and withdraw from its callback", () => {
  describe("JobMarket.finalize", () => {
    describe("when the re-entrant calls' failure makes the callback revert", () => {
      it("finalises once with callbackSucceeded=false and pays the node; the attacker's credit stays", async () => {
        const { market, staking, node, other, attacker, attackerAddress, calls, jobId, job, output } = await loadFixture(reentrantJob);
        await attacker.arm(calls, true);
        const tx = await market.connect(other).finalize(jobId, job, output);
        await expect(tx).to.emit(market, "JobFinalized").withArgs(jobId, node.address, 1, true, false);
        await expect(tx).to.changeEtherBalances([market, node, attacker], [-FEE, FEE, 0]);
        expect(await gasUsed(tx)).to.be.lessThan(BigInt(LIMIT + 200_000));
        expect(await market.credits(attackerAddress)).to.equal(FEE);
        expect(await attacker.resultCount()).to.equal(0);
        expect(await market.jobHash(jobId)).to.equal(hashJob({ ...job, status: JobStatus.Finalized }));
        await expectEscrowBalanced(market, staking);
      });
    });

    describe("when the attacker swallows the re-entrant calls' failures", () => {
      it("sees finalize refused (JobMismatch / WrongStatus) and withdraws only what it was owed, once", async () => {
        const { market, staking, node, other, attacker, attackerAddress, calls, finalized, jobId, job, output } = await loadFixture(
          reentrantJob
        );
        await attacker.arm(calls, false);
        const tx = await market.connect(other).finalize(jobId, job, output);
        await expect(tx).to.emit(market, "JobFinalized").withArgs(jobId, node.address, 1, true, true);
        await expect(tx).to.emit(market, "Withdrawn").withArgs(attackerAddress, FEE);
        await expect(tx).to.changeEtherBalances([market, node, attacker], [-FEE * 2n, FEE, FEE]);
        expect(await gasUsed(tx)).to.be.lessThan(BigInt(LIMIT + 200_000));

        const oks = await Promise.all([0, 1, 2, 3].map((i) => attacker.oks(i)));
        expect(oks).to.deep.equal([false, false, true, false]);
        const errors = await Promise.all([0, 1, 3].map(async (i) => market.interface.parseError(await attacker.results(i))!));
        // The state was already Finalized when the callback ran: the old struct no longer matches...
        expect(errors[0].name).to.equal("JobMarketJobMismatch");
        expect([...errors[0].args]).to.deep.equal([jobId, hashJob(job), hashJob(finalized)]);
        // ...and the current one is in the wrong status.
        expect(errors[1].name).to.equal("JobMarketWrongStatus");
        expect([...errors[1].args]).to.deep.equal([jobId, BigInt(JobStatus.Finalized), BigInt(JobStatus.Submitted)]);
        expect(errors[2].name).to.equal("JobMarketNothingToWithdraw");
        expect([...errors[2].args]).to.deep.equal([attackerAddress]);

        expect(await attacker.received()).to.equal(FEE);
        expect(await market.credits(attackerAddress)).to.equal(0);
        expect(await market.jobHash(jobId)).to.equal(hashJob(finalized));
        await expectEscrowBalanced(market, staking);
        expect(await ethers.provider.getBalance(market)).to.equal(0);
      });
    });
  });
});
