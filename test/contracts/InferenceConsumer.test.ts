import { expect } from "chai";
import { ethers } from "hardhat";
import { loadFixture, time } from "@nomicfoundation/hardhat-network-helpers";
import { argmax } from "../../core/argmax";
import { toHex } from "../../core/bytes";
import { JOB_ABI, type Job, JobStatus, hashJob } from "../../core/jobState";
import { COLLATERAL, FEE, honestResult, jobFrom, mnistInput } from "../helpers/marketFixture";
import { craftedResult, expectEscrowBalanced, stakedMarket } from "./adversarial/escrow";
import { asContract } from "../helpers/impersonate";

const CALLBACK_GAS_LIMIT = 100_000n;

/** The digit DigitClassifier must record: the argmax of the int8 output, lowest index on ties. */
function digitOf(output: Uint8Array): number {
  return argmax(new Int8Array(output.buffer, output.byteOffset, output.length));
}

type Fixture = Awaited<ReturnType<typeof stakedMarket>>;

/** A user (`requester`) classifies `image`; the job the classifier posted. */
async function classify(f: Fixture, image: Uint8Array, user = f.requester) {
  const expiresAt = (await time.latest()) + 3600;
  const tx = f.classifier.connect(user).classify(image, COLLATERAL, expiresAt, { value: FEE });
  const { jobId, job } = await jobFrom(tx);
  return { tx, jobId, job, expiresAt };
}

/** The node takes the job and submits `result`; returns the submitted job. */
async function serve(
  f: Fixture,
  jobId: bigint,
  job: Job,
  result: { output: Uint8Array; traceRoot: string; inputProof: string[]; outputProof: string[] }
) {
  ({ job } = await jobFrom(f.market.connect(f.node).takeJob(jobId, job), job));
  ({ job } = await jobFrom(
    f.market.connect(f.node).submitResult(jobId, job, result.output, result.traceRoot, result.inputProof, result.outputProof),
    job
  ));
  return job;
}

async function classified() {
  const f = await stakedMarket();
  const image = mnistInput(11);
  const { jobId, job } = await classify(f, image);
  return { ...f, image, jobId, job };
}

/** A job `requester` posted directly on the market naming the classifier as consumer, ready to finalise. */
async function foreignJobReady() {
  const f = await stakedMarket();
  const image = mnistInput(12);
  const expiresAt = (await time.latest()) + 3600;
  const { jobId, job: posted } = await jobFrom(
    f.market
      .connect(f.requester)
      .postJob(f.modelId, image, await f.classifier.getAddress(), CALLBACK_GAS_LIMIT, COLLATERAL, expiresAt, { value: FEE })
  );
  const r = honestResult(image);
  const job = await serve(f, jobId, posted, r);
  await time.increaseTo(job.deadline);
  return { ...f, jobId, job, r };
}


describe("InferenceConsumer", () => {
  describe("classify (DigitClassifier)", () => {
    describe("when a user submits an image with a fee", () => {
      it("posts a job with the classifier as requester and consumer and marks it pending", async () => {
        const f = await loadFixture(stakedMarket);
        const classifier = await f.classifier.getAddress();
        const image = mnistInput(3);
        const { tx, jobId, job } = await classify(f, image);
        await expect(tx).to.emit(f.classifier, "DigitRequested").withArgs(jobId, f.requester.address);
        await expect(tx).to.emit(f.market, "JobPosted").withArgs(jobId, f.modelId, classifier, tuple(job), toHex(image));
        await expect(tx).to.changeEtherBalances([f.requester, f.classifier, f.market], [-FEE, 0, FEE]);
        expect(job).to.include({
          requester: classifier,
          consumer: classifier,
          callbackGasLimit: CALLBACK_GAS_LIMIT,
          fee: FEE,
          status: JobStatus.Open,
        });
        expect(await f.classifier.pending(jobId)).to.equal(true);
        expect(await f.classifier.payerOf(jobId)).to.equal(f.requester.address);
        expect(await f.classifier.CALLBACK_GAS_LIMIT()).to.equal(CALLBACK_GAS_LIMIT);
        expect(await f.classifier.market()).to.equal(await f.market.getAddress());
        expect(await f.classifier.staking()).to.equal(await f.staking.getAddress());
        expect(await f.classifier.modelId()).to.equal(f.modelId);
      });
    });
  });

  describe("onInferenceResult", () => {
    describe("when the market finalises an honest MNIST result (end to end)", () => {
      it("emits DigitClassified(jobId, user, argmax), updates the tally and clears pending", async () => {
        const f = await loadFixture(classified);
        const r = honestResult(f.image);
        const digit = digitOf(r.output);
        const job = await serve(f, f.jobId, f.job, r);
        // The soft result is already readable; the classifier acts only on the final one.
        expect(await f.classifier.digitPlusOne(f.jobId)).to.equal(0);
        await time.increaseTo(job.deadline);
        const tx = f.market.connect(f.other).finalize(f.jobId, job, r.output);
        await expect(tx).to.emit(f.classifier, "DigitClassified").withArgs(f.jobId, f.requester.address, digit);
        await expect(tx).to.emit(f.market, "JobFinalized").withArgs(f.jobId, f.node.address, 1, true, true);
        await expect(tx).to.changeEtherBalances([f.market, f.node], [-FEE, FEE]);
        expect(await f.classifier.pending(f.jobId)).to.equal(false);
        expect(await f.classifier.digitPlusOne(f.jobId)).to.equal(digit + 1);
        for (let d = 0; d < 10; d++) expect(await f.classifier.tally(f.requester.address, d)).to.equal(d === digit ? 1 : 0);
        expect(await f.market.jobHash(f.jobId)).to.equal(hashJob((await jobFrom(tx, job)).job));
        await expectEscrowBalanced(f.market, f.staking);
      });

      it("tallies several users' images independently", async () => {
        const f = await loadFixture(stakedMarket);
        const users = [f.requester, f.other, f.requester];
        const expected = new Map<string, number[]>();
        for (const [i, user] of users.entries()) {
          const image = mnistInput(100 + i);
          const { jobId, job: posted } = await classify(f, image, user);
          const r = honestResult(image);
          const job = await serve(f, jobId, posted, r);
          await time.increaseTo(job.deadline);
          const digit = digitOf(r.output);
          await expect(f.market.finalize(jobId, job, r.output))
            .to.emit(f.classifier, "DigitClassified")
            .withArgs(jobId, user.address, digit);
          const counts = expected.get(user.address) ?? new Array(10).fill(0);
          counts[digit] += 1;
          expected.set(user.address, counts);
        }
        for (const [user, counts] of expected) {
          for (let d = 0; d < 10; d++) expect(await f.classifier.tally(user, d)).to.equal(counts[d]);
        }
      });
    });

    describe("when the output has a tie or negative values", () => {
      it("takes the lowest index of the largest signed int8", async () => {
        const f = await loadFixture(classified);
        // 0x80 is -128 as int8 (but 128 unsigned); 9 appears at 3 and 6: the digit is 3.
        const output = Uint8Array.from([0x80, 0xff, 5, 9, 0x80, 0x81, 9, 0, 8, 0xfe]);
        expect(digitOf(output)).to.equal(3);
        const job = await serve(f, f.jobId, f.job, craftedResult(f.job, output));
        await time.increaseTo(job.deadline);
        await expect(f.market.finalize(f.jobId, job, output))
          .to.emit(f.classifier, "DigitClassified")
          .withArgs(f.jobId, f.requester.address, 3);
      });

      it("reads all-negative outputs as signed", async () => {
        const f = await loadFixture(classified);
        const output = Uint8Array.from([0x80, 0x90, 0xa0, 0xff, 0x80, 0xf0, 0xfe, 0x81, 0x80, 0xff]);
        const job = await serve(f, f.jobId, f.job, craftedResult(f.job, output));
        await time.increaseTo(job.deadline);
        await expect(f.market.finalize(f.jobId, job, output))
          .to.emit(f.classifier, "DigitClassified")
          .withArgs(f.jobId, f.requester.address, 3);
      });
    });

    describe("when the caller is not the market", () => {
      it("reverts with InferenceConsumerNotMarket(caller)", async () => {
        const f = await loadFixture(classified);
        await expect(f.classifier.connect(f.other).onInferenceResult(f.jobId, new Uint8Array(10)))
          .to.be.revertedWithCustomError(f.classifier, "InferenceConsumerNotMarket")
          .withArgs(f.other.address);
        expect(await f.classifier.pending(f.jobId)).to.equal(true);
      });
    });

    describe("when the market calls back for a job the classifier did not post", () => {
      it("finalises with callbackSucceeded=false and leaves the classifier untouched", async () => {
        const f = await loadFixture(foreignJobReady);
        const tx = f.market.connect(f.other).finalize(f.jobId, f.job, f.r.output);
        await expect(tx).to.emit(f.market, "JobFinalized").withArgs(f.jobId, f.node.address, 1, true, false);
        await expect(tx).not.to.emit(f.classifier, "DigitClassified");
        await expect(tx).to.changeEtherBalances([f.market, f.node, f.classifier], [-FEE, FEE, 0]);
        expect(await f.classifier.pending(f.jobId)).to.equal(false);
        expect(await f.classifier.digitPlusOne(f.jobId)).to.equal(0);
        expect(await f.classifier.payerOf(f.jobId)).to.equal(ethers.ZeroAddress);
        for (let d = 0; d < 10; d++) expect(await f.classifier.tally(f.requester.address, d)).to.equal(0);
        await expectEscrowBalanced(f.market, f.staking);
      });

      it("is refused with InferenceConsumerUnknownJob(jobId), also for a replayed callback", async () => {
        const f = await loadFixture(classified);
        await asContract(await f.market.getAddress(), async (market) => {
          await expect(f.classifier.connect(market).onInferenceResult(f.jobId + 1n, new Uint8Array(10)))
            .to.be.revertedWithCustomError(f.classifier, "InferenceConsumerUnknownJob")
            .withArgs(f.jobId + 1n);
          const output = Uint8Array.from([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
          await expect(f.classifier.connect(market).onInferenceResult(f.jobId, output))
            .to.emit(f.classifier, "DigitClassified")
            .withArgs(f.jobId, f.requester.address, 9);
          await expect(f.classifier.connect(market).onInferenceResult(f.jobId, new Uint8Array(10)))
            .to.be.revertedWithCustomError(f.classifier, "InferenceConsumerUnknownJob")
            .withArgs(f.jobId);
        });
        expect(await f.classifier.tally(f.requester.address, 9)).to.equal(1);
      });
    });

    describe("when the output is not ten values", () => {
      it("reverts with DigitClassifierWrongOutput(length) and keeps the job pending", async () => {
        const f = await loadFixture(classified);
        await asContract(await f.market.getAddress(), async (market) => {
          await expect(f.classifier.connect(market).onInferenceResult(f.jobId, new Uint8Array(9)))
            .to.be.revertedWithCustomError(f.classifier, "DigitClassifierWrongOutput")
            .withArgs(9);
        });
        expect(await f.classifier.pending(f.jobId)).to.equal(true);
      });
    });
  });

  describe("refunds", () => {
    describe("when nobody takes the classifier's job before it expires", () => {
      it("credits the fee to the classifier in the market; paid out it lands in its receive()", async () => {
        const f = await loadFixture(classified);
        const classifier = await f.classifier.getAddress();
        await time.increaseTo(f.job.expiresAt + 1n);
        await expect(f.market.connect(f.other).expireJob(f.jobId, f.job)).to.emit(f.market, "JobExpired").withArgs(f.jobId);
        expect(await f.market.credits(classifier)).to.equal(FEE);
        await expectEscrowBalanced(f.market, f.staking);
        // Pulled by the contract itself, the market's transfer is accepted by InferenceConsumer.receive().
        await asContract(classifier, async (asClassifier) => {
          await expect(f.market.connect(asClassifier).withdraw()).to.changeEtherBalances([f.market, asClassifier], [-FEE, FEE]);
        });
        expect(await f.market.credits(classifier)).to.equal(0);
        expect(await ethers.provider.getBalance(f.market)).to.equal(0);
      });

      it("lets the user recover the fee: refund credits it, withdraw pays it, nothing stays behind", async () => {
        const f = await loadFixture(classified);
        await time.increaseTo(f.job.expiresAt + 1n);
        const { job } = await jobFrom(f.market.expireJob(f.jobId, f.job), f.job);
        await expect(f.classifier.connect(f.other).refund(f.jobId, job))
          .to.emit(f.classifier, "Refunded")
          .withArgs(f.jobId, f.requester.address, FEE);
        expect(await f.classifier.owed(f.requester.address)).to.equal(FEE);
        expect(await f.classifier.pending(f.jobId)).to.equal(false);
        await expect(f.classifier.connect(f.requester).withdraw()).to.changeEtherBalances([f.classifier, f.requester], [-FEE, FEE]);
        expect(await ethers.provider.getBalance(f.classifier)).to.equal(0);
        await expect(f.classifier.refund(f.jobId, job)).to.be.revertedWithCustomError(f.classifier, "InferenceConsumerNotRefundable").withArgs(f.jobId, JobStatus.Expired);
        await expect(f.classifier.connect(f.requester).withdraw()).to.be.revertedWithCustomError(f.classifier, "InferenceConsumerNothingOwed").withArgs(f.requester.address);
        await expectEscrowBalanced(f.market, f.staking);
      });

      it("refuses a refund while the job is still open, and a stale job", async () => {
        const f = await loadFixture(classified);
        await expect(f.classifier.refund(f.jobId, f.job)).to.be.revertedWithCustomError(f.classifier, "InferenceConsumerNotRefundable").withArgs(f.jobId, JobStatus.Open);
        await time.increaseTo(f.job.expiresAt + 1n);
        await f.market.expireJob(f.jobId, f.job);
        await expect(f.classifier.refund(f.jobId, f.job)).to.be.revertedWithCustomError(f.classifier, "InferenceConsumerJobMismatch").withArgs(f.jobId);
      });
    });

    describe("when the user cancels through the classifier", () => {
      it("cancels on the market and refunds the fee; only the job's user may cancel", async () => {
        const f = await loadFixture(classified);
        await expect(f.classifier.connect(f.other).cancel(f.jobId, f.job))
          .to.be.revertedWithCustomError(f.classifier, "DigitClassifierNotUser")
          .withArgs(f.jobId, f.other.address, f.requester.address);
        const { job } = await jobFrom(f.classifier.connect(f.requester).cancel(f.jobId, f.job), f.job);
        expect(job.status).to.equal(JobStatus.Cancelled);
        await f.classifier.refund(f.jobId, job);
        await expect(f.classifier.connect(f.requester).withdraw()).to.changeEtherBalance(f.requester, FEE);
        await expectEscrowBalanced(f.market, f.staking);
      });
    });

    describe("when the classifier's node misses its deadline", () => {
      it("credits the forfeited collateral to the classifier in Staking and reopens the job", async () => {
        const f = await loadFixture(classified);
        const classifier = await f.classifier.getAddress();
        const { job } = await jobFrom(f.market.connect(f.node).takeJob(f.jobId, f.job), f.job);
        await time.increaseTo(job.deadline + 1n);
        await expect(f.market.reclaimJob(f.jobId, job))
          .to.emit(f.staking, "CollateralForfeited")
          .withArgs(f.node.address, classifier, COLLATERAL);
        expect(await f.staking.credits(classifier)).to.equal(COLLATERAL);
        expect(await f.classifier.pending(f.jobId)).to.equal(true);
        await expectEscrowBalanced(f.market, f.staking);
      });

      it("passes the forfeited collateral on to the job's user, once per missed deadline", async () => {
        const f = await loadFixture(classified);
        let { job } = await jobFrom(f.market.connect(f.node).takeJob(f.jobId, f.job), f.job);
        await time.increaseTo(job.deadline + 1n);
        ({ job } = await jobFrom(f.market.reclaimJob(f.jobId, job), job));
        expect(job.missedDeadlines).to.equal(1n);
        expect(await f.market.jobHash(f.jobId)).to.equal(hashJob(job));
        expect(await f.market.compensation(f.jobId)).to.equal(COLLATERAL);
        await expect(f.classifier.connect(f.other).claimCompensation(f.jobId))
          .to.emit(f.classifier, "Compensated")
          .withArgs(f.jobId, f.requester.address, COLLATERAL);
        expect(await f.staking.credits(await f.classifier.getAddress())).to.equal(0);
        expect(await f.classifier.compensationPassedOn(f.jobId)).to.equal(COLLATERAL);
        await expect(f.classifier.claimCompensation(f.jobId)).to.be.revertedWithCustomError(f.classifier, "InferenceConsumerNothingOwed").withArgs(f.requester.address);
        await expect(f.classifier.connect(f.requester).withdraw()).to.changeEtherBalance(f.requester, COLLATERAL);
        expect(await f.classifier.pending(f.jobId)).to.equal(true); // the job itself goes on

        // The node misses the deadline of the reopened job too: one more collateral, passed on once.
        ({ job } = await jobFrom(f.market.connect(f.node).takeJob(f.jobId, job), job));
        await time.increaseTo(job.deadline + 1n);
        ({ job } = await jobFrom(f.market.reclaimJob(f.jobId, job), job));
        expect(job.missedDeadlines).to.equal(2n);
        await expect(f.classifier.claimCompensation(f.jobId))
          .to.emit(f.classifier, "Compensated")
          .withArgs(f.jobId, f.requester.address, COLLATERAL);
        await expect(f.classifier.claimCompensation(f.jobId)).to.be.revertedWithCustomError(f.classifier, "InferenceConsumerNothingOwed").withArgs(f.requester.address);
        await expect(f.classifier.connect(f.requester).withdraw()).to.changeEtherBalance(f.requester, COLLATERAL);
        expect(await ethers.provider.getBalance(f.classifier)).to.equal(0);
        await expectEscrowBalanced(f.market, f.staking);
      });
    });
  });
});

describe("InferenceConsumer, issue 10 item 4: collateral slashed or forfeited on a DigitClassifier job reaches the user who paid", () => {
  /** The classifier's job served (honestly, it does not matter here) and a dispute open on the result. */
  async function disputed() {
    const f = await classified();
    const job = await serve(f, f.jobId, f.job, honestResult(f.image));
    await f.game.hold(f.jobId, job);
    return { ...f, job };
  }

  describe("when the node loses a dispute and its collateral is slashed to the classifier (the requester)", () => {
    it("passes exactly the slashed amount to the user: claimCompensation, then withdraw", async () => {
      const f = await loadFixture(disputed);
      const classifier = await f.classifier.getAddress();
      const lost = f.game.nodeLost(f.jobId, f.job, classifier);
      await expect(lost).to.emit(f.staking, "StakeSlashed").withArgs(f.node.address, classifier, COLLATERAL);
      await expect(lost).to.emit(f.market, "RequesterCompensated").withArgs(f.jobId, COLLATERAL, COLLATERAL);
      expect(await f.market.compensation(f.jobId)).to.equal(COLLATERAL);
      expect(await f.staking.credits(classifier)).to.equal(COLLATERAL);

      // Anyone may pass it on; it goes to the job's payer, not the caller.
      const claim = f.classifier.connect(f.other).claimCompensation(f.jobId);
      await expect(claim).to.emit(f.classifier, "Compensated").withArgs(f.jobId, f.requester.address, COLLATERAL);
      await expect(claim).to.changeEtherBalances([f.staking, f.classifier, f.other], [-COLLATERAL, COLLATERAL, 0]);
      expect(await f.classifier.owed(f.requester.address)).to.equal(COLLATERAL);
      expect(await f.classifier.owed(f.other.address)).to.equal(0);
      expect(await f.staking.credits(classifier)).to.equal(0);

      const paid = f.classifier.connect(f.requester).withdraw();
      await expect(paid).to.emit(f.classifier, "Withdrawn").withArgs(f.requester.address, COLLATERAL);
      await expect(paid).to.changeEtherBalances([f.classifier, f.requester], [-COLLATERAL, COLLATERAL]);
      expect(await ethers.provider.getBalance(classifier)).to.equal(0);
      expect(await f.classifier.pending(f.jobId)).to.equal(true); // the reopened job goes on
      await expectEscrowBalanced(f.market, f.staking);
    });

    it("cannot be claimed twice, nor withdrawn twice", async () => {
      const f = await loadFixture(disputed);
      await f.game.nodeLost(f.jobId, f.job, await f.classifier.getAddress());
      await f.classifier.claimCompensation(f.jobId);
      await expect(f.classifier.claimCompensation(f.jobId))
        .to.be.revertedWithCustomError(f.classifier, "InferenceConsumerNothingOwed")
        .withArgs(f.requester.address);
      await f.classifier.connect(f.requester).withdraw();
      await expect(f.classifier.connect(f.requester).withdraw())
        .to.be.revertedWithCustomError(f.classifier, "InferenceConsumerNothingOwed")
        .withArgs(f.requester.address);
      expect(await f.classifier.compensationPassedOn(f.jobId)).to.equal(COLLATERAL);
    });

    it("credits only that job's payer: another user's job has nothing to claim", async () => {
      const f = await loadFixture(disputed);
      const second = await classify(f, mnistInput(13), f.other);
      await f.game.nodeLost(f.jobId, f.job, await f.classifier.getAddress());
      await expect(f.classifier.claimCompensation(second.jobId))
        .to.be.revertedWithCustomError(f.classifier, "InferenceConsumerNothingOwed")
        .withArgs(f.other.address);
      await f.classifier.claimCompensation(f.jobId);
      expect(await f.classifier.owed(f.requester.address)).to.equal(COLLATERAL);
      expect(await f.classifier.owed(f.other.address)).to.equal(0);
    });
  });

  describe("when the slash goes to someone else (a challenger)", () => {
    it("records no compensation: there is nothing to claim", async () => {
      const f = await loadFixture(disputed);
      await f.game.nodeLost(f.jobId, f.job, f.other.address);
      expect(await f.market.compensation(f.jobId)).to.equal(0);
      await expect(f.classifier.claimCompensation(f.jobId))
        .to.be.revertedWithCustomError(f.classifier, "InferenceConsumerNothingOwed")
        .withArgs(f.requester.address);
    });
  });

  describe("when one node misses its deadline and the next is slashed on the same job", () => {
    it("passes both collaterals on to the user", async () => {
      const f = await loadFixture(classified);
      const classifier = await f.classifier.getAddress();
      let { job } = await jobFrom(f.market.connect(f.node).takeJob(f.jobId, f.job), f.job);
      await time.increaseTo(job.deadline + 1n);
      ({ job } = await jobFrom(f.market.reclaimJob(f.jobId, job), job));
      await f.classifier.claimCompensation(f.jobId); // the forfeit, passed on at once
      const second = f.rest[0];
      await f.staking.connect(second).stake({ value: COLLATERAL });
      const r = honestResult(f.image);
      ({ job } = await jobFrom(f.market.connect(second).takeJob(f.jobId, job), job));
      ({ job } = await jobFrom(f.market.connect(second).submitResult(f.jobId, job, r.output, r.traceRoot, r.inputProof, r.outputProof), job));
      await f.game.hold(f.jobId, job);
      await f.game.nodeLost(f.jobId, job, classifier);
      expect(await f.market.compensation(f.jobId)).to.equal(2n * COLLATERAL);
      await expect(f.classifier.claimCompensation(f.jobId))
        .to.emit(f.classifier, "Compensated")
        .withArgs(f.jobId, f.requester.address, COLLATERAL);
      await expect(f.classifier.connect(f.requester).withdraw()).to.changeEtherBalance(f.requester, 2n * COLLATERAL);
      expect(await ethers.provider.getBalance(classifier)).to.equal(0);
      await expectEscrowBalanced(f.market, f.staking);
    });
  });

  describe("when a node misses its deadline and the reopened job then expires", () => {
    it("passes on the forfeited collateral and refunds the fee, both to the user", async () => {
      const f = await loadFixture(classified);
      let { job } = await jobFrom(f.market.connect(f.node).takeJob(f.jobId, f.job), f.job);
      await time.increaseTo(job.deadline + 1n);
      ({ job } = await jobFrom(f.market.reclaimJob(f.jobId, job), job));
      await time.increaseTo(job.expiresAt + 1n);
      ({ job } = await jobFrom(f.market.expireJob(f.jobId, job), job));
      await expect(f.classifier.refund(f.jobId, job)).to.emit(f.classifier, "Refunded").withArgs(f.jobId, f.requester.address, FEE);
      await expect(f.classifier.claimCompensation(f.jobId))
        .to.emit(f.classifier, "Compensated")
        .withArgs(f.jobId, f.requester.address, COLLATERAL);
      await expect(f.classifier.connect(f.requester).withdraw()).to.changeEtherBalance(f.requester, FEE + COLLATERAL);
      expect(await ethers.provider.getBalance(f.classifier)).to.equal(0);
      await expectEscrowBalanced(f.market, f.staking);
    });
  });

  describe("when the job is not the classifier's", () => {
    it("reverts with InferenceConsumerUnknownJob(jobId)", async () => {
      const f = await loadFixture(foreignJobReady);
      await expect(f.classifier.claimCompensation(f.jobId))
        .to.be.revertedWithCustomError(f.classifier, "InferenceConsumerUnknownJob")
        .withArgs(f.jobId);
      await expect(f.classifier.claimCompensation(99n))
        .to.be.revertedWithCustomError(f.classifier, "InferenceConsumerUnknownJob")
        .withArgs(99n);
    });
  });

  describe("when plain ETH is sent to the classifier", () => {
    it("refuses it from an EOA with InferenceConsumerUnexpectedPayment(from), so no unowed ETH can arrive", async () => {
      const f = await loadFixture(classified);
      for (const from of [f.other, f.requester]) {
        await expect(from.sendTransaction({ to: await f.classifier.getAddress(), value: 1n }))
          .to.be.revertedWithCustomError(f.classifier, "InferenceConsumerUnexpectedPayment")
          .withArgs(from.address);
      }
      expect(await ethers.provider.getBalance(f.classifier)).to.equal(0);
    });
  });
});

/** A Job as the tuple the ABI (and withArgs) sees, field by field. */
function tuple(job: Job): unknown[] {
  return JOB_ABI.components.map((c) => job[c.name as keyof Job]);
}
