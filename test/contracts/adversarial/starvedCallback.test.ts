import { expect } from "chai";
import { ethers } from "hardhat";
import { loadFixture, takeSnapshot, time } from "@nomicfoundation/hardhat-network-helpers";
import { type Job, hashJob } from "../../../core/jobState";
import { Rng } from "../../../core/rng";
import type { GasProbeConsumer, JobMarket } from "../../../typechain-types";
import { jobFrom } from "../../helpers/marketFixture";
import { COLLATERAL, FEE, afterWindow, craftedResult, expectEscrowBalanced, stakedMarket, submittedJob } from "./escrow";

const LIMIT = 1_000_000;
const RESERVE = 20_000;
const need = (limit: number) => BigInt(limit + Math.floor(limit / 63) + RESERVE);

async function probeJob() {
  const f = await stakedMarket();
  const probe = (await ethers.deployContract("GasProbeConsumer")) as unknown as GasProbeConsumer;
  const s = await submittedJob(f, await probe.getAddress(), LIMIT);
  await afterWindow(s.job);
  return { ...f, probe, ...s };
}

/** A registered model with the largest output the registry allows, and a submitted job on it. */
const BIG_OUTPUT = 1 << 16;
async function bigOutputProbeJob() {
  const f = await stakedMarket();
  await f.registry.registerModel(ethers.id("big-output"), 32, BIG_OUTPUT, 1, BIG_OUTPUT, "none");
  const probe = (await ethers.deployContract("GasProbeConsumer")) as unknown as GasProbeConsumer;
  const expiresAt = (await time.latest()) + 3600;
  let { jobId, job } = await jobFrom(
    f.market
      .connect(f.requester)
      .postJob(2, new Uint8Array(32).fill(7), await probe.getAddress(), LIMIT, COLLATERAL, expiresAt, { value: FEE })
  );
  ({ job } = await jobFrom(f.market.connect(f.node).takeJob(jobId, job), job));
  const rng = new Rng(5);
  const output = Uint8Array.from({ length: BIG_OUTPUT }, () => rng.uint32() & 0xff);
  const r = craftedResult(job, output);
  ({ job } = await jobFrom(f.market.connect(f.node).submitResult(jobId, job, r.output, r.traceRoot, r.inputProof, r.outputProof), job));
  await afterWindow(job);
  return { ...f, probe, jobId, job, output };
}

/** The least gas limit with which finalize does not revert (binary search over eth_call). */
async function leastGas(market: JobMarket, jobId: bigint, job: Job, output: Uint8Array): Promise<number> {
  let lo = 21_000;
  let hi = 10_000_000;
  while (hi - lo > 1) {
    const mid = Math.floor((lo + hi) / 2);
    try {
      await market.finalize.staticCall(jobId, job, output, { gasLimit: mid });
      hi = mid;
    } catch {
      lo = mid;
    }
  }
  return hi;
}

/** The gas the probe's callback received when finalize is sent with `least` and with plenty of gas. */
async function gasSeen(f: { market: JobMarket; probe: GasProbeConsumer }, jobId: bigint, job: Job, output: Uint8Array, least: number) {
  const snapshot = await takeSnapshot();
  await f.market.finalize(jobId, job, output, { gasLimit: least });
  const starved = await f.probe.seen();
  const calls = await f.probe.calls();
  await snapshot.restore();
  await f.market.finalize(jobId, job, output, { gasLimit: 16_000_000 });
  return { starved, full: await f.probe.seen(), calls };
}

describe("Adversarial: a finaliser that supplies too little gas for the callback", () => {
  describe("JobMarket.finalize", () => {
    describe("when the transaction's gas cannot cover the callback limit", () => {
      it("reverts with JobMarketInsufficientGas(have < need, need) and leaves the job as it was", async () => {
        const { market, staking, jobId, job, output } = await loadFixture(probeJob);
        const least = await leastGas(market, jobId, job, output);
        expect(least).to.be.greaterThan(LIMIT);
        await expect(market.finalize(jobId, job, output, { gasLimit: least - 1 }))
          .to.be.revertedWithCustomError(market, "JobMarketInsufficientGas")
          .withArgs((have: bigint) => have < need(LIMIT), need(LIMIT));
        await expect(market.finalize(jobId, job, output, { gasLimit: 300_000 }))
          .to.be.revertedWithCustomError(market, "JobMarketInsufficientGas")
          .withArgs((have: bigint) => have < need(LIMIT), need(LIMIT));
        expect(await market.jobHash(jobId)).to.equal(hashJob(job));
        await expectEscrowBalanced(market, staking);
      });
    });

    describe("when the finaliser sends the least gas that does not revert", () => {
      for (const [label, fixture] of [
        ["MNIST output", probeJob],
        ["largest output, 64 KiB", bigOutputProbeJob],
      ] as const) {
        it(`the callback still receives its full gas limit (${label})`, async () => {
          const f = await loadFixture(fixture);
          const least = await leastGas(f.market, f.jobId, f.job, f.output);
          const { starved, full, calls } = await gasSeen(f, f.jobId, f.job, f.output, least);
          expect(calls).to.equal(1);
          expect(full).to.be.greaterThan(BigInt(LIMIT - 2_000));
          expect(starved).to.equal(full);
          await expectEscrowBalanced(f.market, f.staking);
        });
      }
    });
  });
});
