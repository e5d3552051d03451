import { expect } from "chai";
import { parseEther } from "viem";
import { caughtLoss, deters, minimumSamplingRate, sampled } from "../../challenger/sampling";

describe("challenger/sampling.ts: Proof of Sampling", () => {
  const demo = { fee: parseEther("0.002"), collateral: parseEther("0.05"), rewardBps: 5_000n, computeCost: parseEther("0.0005"), collusion: 0 };

  describe("caughtLoss", () => {
    it("is the fee plus the collateral less the reward share a node could win back by challenging itself", () => {
      expect(caughtLoss(demo)).to.equal(parseEther("0.002") + parseEther("0.025"));
      expect(caughtLoss({ ...demo, rewardBps: 1n })).to.equal(parseEther("0.002") + parseEther("0.05") - parseEther("0.05") / 10_000n);
    });
    it("refuses a reward share outside 0 … 10,000 bps", () => {
      expect(() => caughtLoss({ ...demo, rewardBps: 10_001n })).to.throw(RangeError, /0 … 10,000 bps, got 10001/);
    });
  });

  describe("minimumSamplingRate", () => {
    it("is C / ((1 − r)(R + (1 − c)S)), not C / ((1 − r)(R + S))", () => {
      expect(minimumSamplingRate(demo)).to.be.closeTo(0.0005 / 0.027, 1e-12);
      expect(minimumSamplingRate({ ...demo, collusion: 0.5 })).to.be.closeTo(0.0005 / 0.0135, 1e-12);
      // The old formula, which counted the whole collateral, would claim p = 0.01 deters; it does not.
      expect(0.0005 / 0.052).to.be.lessThan(0.01);
      expect(deters(0.01, demo)).to.equal(false);
      expect(deters(0.019, demo)).to.equal(true);
    });
    it("is 1 when nothing is at stake or the saving exceeds it", () => {
      expect(minimumSamplingRate({ ...demo, fee: 0n, collateral: 0n })).to.equal(1);
      expect(minimumSamplingRate({ ...demo, computeCost: parseEther("1") })).to.equal(1);
    });
    it("refuses a collusion share outside [0, 1)", () => {
      expect(() => minimumSamplingRate({ ...demo, collusion: 1 })).to.throw(RangeError, /collusion share must be in \[0, 1\), got 1/);
    });
  });

  describe("sampled", () => {
    it("is a deterministic draw per (seed, job, attempt) whose share approaches p", () => {
      const seed = "test-seed";
      let hits = 0;
      for (let j = 1n; j <= 400n; j++) if (sampled(seed, j, 1n, 0.25)) hits++;
      expect(hits / 400).to.be.closeTo(0.25, 0.06);
      expect([1n, 2n, 3n].map((j) => sampled(seed, j, 1n, 0.25))).to.deep.equal([1n, 2n, 3n].map((j) => sampled(seed, j, 1n, 0.25)));
      expect([1n, 2n, 3n].map((j) => sampled(`${seed}-other`, j, 7n, 0.5))).to.deep.equal([1n, 2n, 3n].map((j) => sampled(`${seed}-other`, j, 7n, 0.5)));
      expect(sampled(seed, 1n, 1n, 0)).to.equal(false);
      expect(sampled(seed, 1n, 1n, 1)).to.equal(true);
    });
  });
});
