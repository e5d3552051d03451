import { expect } from "chai";
import { type Job, JobStatus, finalityAt, mayChallenge, mayExpire, mayFinalize, mayReclaim, maySubmit, mayTake, nextBlockTime, wallClockSeconds } from "../../core/jobState";

/**
 * Which time a job is judged by (core/jobState.ts): the time a transaction sent now would see,
 * max(latest block + 1, wall clock, pending block), and the market's time checks at that time. The end-to-end side
 * (a node finalising on a chain that mines only on transactions) is test/e2e/onDemandChain.test.ts.
 */

const ZERO = "0x0000000000000000000000000000000000000000" as const;
const job = (status: JobStatus, fields: Partial<Job> = {}): Job => ({
  requester: ZERO,
  modelId: 1n,
  outputSize: 10n,
  layerCount: 3n,
  consumer: ZERO,
  callbackGasLimit: 0n,
  fee: 1n,
  collateral: 1n,
  expiresAt: 2_000n,
  deadline: 1_030n,
  attempt: 1n,
  missedDeadlines: 0n,
  status,
  node: ZERO,
  inputRoot: `0x${"00".repeat(32)}`,
  traceRoot: `0x${"00".repeat(32)}`,
  outputRoot: `0x${"00".repeat(32)}`,
  ...fields,
});

describe("the time a job is judged by (core/jobState.ts)", () => {
  describe("nextBlockTime(latest block time, wall clock, pending block time?)", () => {
    it("is the wall clock when the latest block is older: a chain that mines on demand stamps its next block with the time it is mined", () => {
      // The result was submitted at 1,000 and nothing was mined since; it is 1,031 now.
      expect(nextBlockTime(1_000n, 1_031n)).to.equal(1_031n);
    });

    it("is the latest block + 1 when the chain's clock is ahead of this machine's (evm_increaseTime, a slow local clock) or equal to it", () => {
      expect(nextBlockTime(5_000n, 1_031n)).to.equal(5_001n);
      expect(nextBlockTime(1_031n, 1_031n)).to.equal(1_032n);
      expect(nextBlockTime(1_030n, 1_031n)).to.equal(1_031n);
    });

    it("is the pending block's time when the RPC gives one that is later: Hardhat's clock runs ahead after a burst of blocks", () => {
      // Latest block mined at 1,000, wall clock 1,031, but the node will stamp its next block 1,045.
      expect(nextBlockTime(1_000n, 1_031n, 1_045n)).to.equal(1_045n);
      // An RPC whose "pending" is the latest block (or behind this machine's clock) changes nothing.
      expect(nextBlockTime(1_000n, 1_031n, 1_000n)).to.equal(1_031n);
      expect(nextBlockTime(5_000n, 1_031n, 5_000n)).to.equal(5_001n);
    });

    it("wallClockSeconds floors milliseconds to whole seconds, as block timestamps are", () => {
      expect(wallClockSeconds(1_700_000_000_999)).to.equal(1_700_000_000n);
      expect(wallClockSeconds(1_700_000_001_000)).to.equal(1_700_000_001n);
      const now = wallClockSeconds();
      expect(Number(now)).to.be.closeTo(Date.now() / 1000, 1);
    });
  });

  describe("the market's time checks, at the bound and either side of it", () => {
    it("finalize from the deadline on (block.timestamp ≥ deadline), never with a dispute open or another status", () => {
      const submitted = job(JobStatus.Submitted, { deadline: 1_030n });
      expect([1_029n, 1_030n, 1_031n].map((t) => mayFinalize(submitted, t))).to.deep.equal([false, true, true]);
      expect(mayFinalize(submitted, 1_031n, 1n)).to.equal(false);
      expect(mayFinalize(job(JobStatus.Taken, { deadline: 1_030n }), 1_031n)).to.equal(false);
      expect(mayFinalize(job(JobStatus.Finalized, { deadline: 1_030n }), 1_031n)).to.equal(false);
    });

    it("challenge strictly before the deadline (block.timestamp < deadline): the window and finalisation never overlap", () => {
      const submitted = job(JobStatus.Submitted, { deadline: 1_030n });
      expect([1_029n, 1_030n].map((t) => mayChallenge(submitted, t))).to.deep.equal([true, false]);
      for (let t = 1_025n; t < 1_035n; t++) expect(mayChallenge(submitted, t) !== mayFinalize(submitted, t), `t = ${t}`).to.equal(true);
    });

    it("submit up to the delivery deadline, reclaim after it", () => {
      const taken = job(JobStatus.Taken, { deadline: 1_060n });
      expect([1_059n, 1_060n, 1_061n].map((t) => maySubmit(taken, t))).to.deep.equal([true, true, false]);
      expect([1_059n, 1_060n, 1_061n].map((t) => mayReclaim(taken, t))).to.deep.equal([false, false, true]);
      expect(maySubmit(job(JobStatus.Open, { deadline: 1_060n }), 1_000n)).to.equal(false);
    });

    it("take up to the expiry, expire after it", () => {
      const open = job(JobStatus.Open, { expiresAt: 2_000n });
      expect([1_999n, 2_000n, 2_001n].map((t) => mayTake(open, t))).to.deep.equal([true, true, false]);
      expect([1_999n, 2_000n, 2_001n].map((t) => mayExpire(open, t))).to.deep.equal([false, false, true]);
      expect(mayTake(job(JobStatus.Cancelled), 1_000n)).to.equal(false);
    });

    it("on a chain that mines on demand a finished window is seen only with the wall clock: by the latest block alone it never ends", () => {
      const submitted = job(JobStatus.Submitted, { deadline: 1_030n });
      const latest = 1_000n; // the block the result was submitted in; nobody sent anything since
      expect(mayFinalize(submitted, latest)).to.equal(false);
      expect(mayFinalize(submitted, nextBlockTime(latest, 1_029n))).to.equal(false);
      expect(mayFinalize(submitted, nextBlockTime(latest, 1_030n))).to.equal(true);
      // A node that judged "still time to submit" by an old block would send a transaction that reverts.
      const taken = job(JobStatus.Taken, { deadline: 1_060n });
      expect(maySubmit(taken, 1_000n)).to.equal(true);
      expect(maySubmit(taken, nextBlockTime(1_000n, 1_061n))).to.equal(false);
    });
  });

  describe("finalityAt", () => {
    it("says where a job stands on its way to a final result", () => {
      const submitted = job(JobStatus.Submitted, { deadline: 1_030n });
      expect(finalityAt(submitted, 1_010n)).to.deep.equal({ kind: "in window", endsAt: 1_030n, secondsLeft: 20n });
      expect(finalityAt(submitted, 1_030n)).to.deep.equal({ kind: "finalizable", since: 1_030n, overdueSeconds: 0n });
      expect(finalityAt(submitted, 1_045n)).to.deep.equal({ kind: "finalizable", since: 1_030n, overdueSeconds: 15n });
      expect(finalityAt(submitted, 1_045n, 2n)).to.deep.equal({ kind: "disputed", openDisputes: 2n, endsAt: 1_030n });
      expect(finalityAt(submitted, 1_010n, 1n)).to.deep.equal({ kind: "disputed", openDisputes: 1n, endsAt: 1_030n });
      expect(finalityAt(job(JobStatus.Finalized), 1_045n)).to.deep.equal({ kind: "final" });
      expect(finalityAt(job(JobStatus.Expired), 1_045n)).to.deep.equal({ kind: "ended", status: JobStatus.Expired });
      expect(finalityAt(job(JobStatus.Cancelled), 1_045n)).to.deep.equal({ kind: "ended", status: JobStatus.Cancelled });
      expect(finalityAt(job(JobStatus.Open), 1_045n)).to.deep.equal({ kind: "awaiting result", status: JobStatus.Open });
      expect(finalityAt(job(JobStatus.Taken), 1_045n)).to.deep.equal({ kind: "awaiting result", status: JobStatus.Taken });
    });
  });
});
