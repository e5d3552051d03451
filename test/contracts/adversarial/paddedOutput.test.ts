import { expect } from "chai";
import { ethers } from "hardhat";
import { loadFixture, time } from "@nomicfoundation/hardhat-network-helpers";
import { argmax } from "../../../core/argmax";
import { JobStatus, hashJob } from "../../../core/jobState";
import { jobFrom } from "../../helpers/marketFixture";
import { COLLATERAL, FEE, afterWindow, bytesRoot, expectEscrowBalanced, honestJob, stakedMarket, submittedJob } from "./escrow";

/**
 * Issue 10 item 3: outputs that differ only in trailing zero bytes (within the last 32-byte leaf) have the
 * same Merkle root. A finaliser who front-runs the honest one with the output padded by zeros used to pass
 * the root check, finalise the job for good and hand the consumer an output of the wrong size, so its
 * callback failed (a DigitClassifier never recorded the digit). finalize now checks the size first.
 */

/** The honest output with `n` zero bytes appended: the same root, the wrong size. */
function padded(output: Uint8Array, n: number): Uint8Array {
  const out = new Uint8Array(output.length + n);
  out.set(output);
  return out;
}

async function withConsumer() {
  const f = await stakedMarket();
  const s = await submittedJob(f, f.other.address, 50_000);
  await afterWindow(s.job);
  return { ...f, ...s };
}

async function withoutConsumer() {
  const f = await stakedMarket();
  const s = await submittedJob(f, ethers.ZeroAddress, 0);
  await afterWindow(s.job);
  return { ...f, ...s };
}

/** A DigitClassifier job, served honestly, its challenge window over. */
async function classifierJob() {
  const f = await stakedMarket();
  const { input, output, traceRoot, inputProof, outputProof } = honestJob();
  const expiresAt = (await time.latest()) + 3600;
  let { jobId, job } = await jobFrom(f.classifier.connect(f.requester).classify(input, COLLATERAL, expiresAt, { value: FEE }));
  ({ job } = await jobFrom(f.market.connect(f.node).takeJob(jobId, job), job));
  ({ job } = await jobFrom(f.market.connect(f.node).submitResult(jobId, job, output, traceRoot, inputProof, outputProof), job));
  await afterWindow(job);
  return { ...f, jobId, job, output };
}

describe("Adversarial (issue 10 item 3): a finaliser pads the output with trailing zero bytes", () => {
  for (const [name, fixture] of [
    ["a job with a consumer", withConsumer],
    ["a job without a consumer", withoutConsumer],
  ] as const) {
    describe(`JobMarket.finalize, ${name}`, () => {
      it("refuses the padded output with JobMarketOutputLength(jobId, have, need); the honest finaliser still finalises", async () => {
        const f = await loadFixture(fixture);
        for (const n of [1, 22]) {
          const bad = padded(f.output, n);
          expect(bytesRoot(bad), "the padded output shares the output root").to.equal(f.job.outputRoot);
          await expect(f.market.connect(f.other).finalize(f.jobId, f.job, bad))
            .to.be.revertedWithCustomError(f.market, "JobMarketOutputLength")
            .withArgs(f.jobId, f.output.length + n, f.output.length);
        }
        expect(await f.market.jobHash(f.jobId)).to.equal(hashJob(f.job));
        await expect(f.market.connect(f.requester).finalize(f.jobId, f.job, f.output))
          .to.emit(f.market, "JobFinalized")
          .withArgs(f.jobId, f.node.address, 1, true, true);
        expect(await f.market.jobHash(f.jobId)).to.equal(hashJob({ ...f.job, status: JobStatus.Finalized }));
        await expectEscrowBalanced(f.market, f.staking);
      });
    });
  }

  describe("JobMarket.finalize, a DigitClassifier job", () => {
    it("refuses the padded output; the honest finalisation records the digit", async () => {
      const f = await loadFixture(classifierJob);
      const bad = padded(f.output, 1);
      expect(bytesRoot(bad)).to.equal(f.job.outputRoot);
      await expect(f.market.connect(f.other).finalize(f.jobId, f.job, bad))
        .to.be.revertedWithCustomError(f.market, "JobMarketOutputLength")
        .withArgs(f.jobId, 11, 10);
      expect(await f.classifier.pending(f.jobId)).to.equal(true);
      const digit = argmax(new Int8Array(f.output.buffer, f.output.byteOffset, f.output.length));
      const tx = f.market.connect(f.requester).finalize(f.jobId, f.job, f.output);
      await expect(tx).to.emit(f.market, "JobFinalized").withArgs(f.jobId, f.node.address, 1, true, true);
      await expect(tx).to.emit(f.classifier, "DigitClassified").withArgs(f.jobId, f.requester.address, digit);
      expect(await f.classifier.digitPlusOne(f.jobId)).to.equal(digit + 1);
      expect(await f.classifier.tally(f.requester.address, digit)).to.equal(1);
      expect(await f.classifier.pending(f.jobId)).to.equal(false);
      await expectEscrowBalanced(f.market, f.staking);
    });
  });
});
