import { readFileSync, readdirSync } from "node:fs";
import path from "node:path";
import { expect } from "chai";
import { anyValue } from "@nomicfoundation/hardhat-chai-matchers/withArgs";
import { ethers } from "hardhat";
import { loadFixture, time } from "@nomicfoundation/hardhat-network-helpers";
import { argmax } from "../../core/argmax";
import { toHex } from "../../core/bytes";
import { type Job, JobStatus } from "../../core/jobState";
import { loadMnist } from "../../core/mnist";
import { MNIST_MODEL_DIR, inputScaleOf, loadModelDir } from "../../core/modelFiles";
import { quantiseInput } from "../../core/quantise";
import type { DrawTheDigit } from "../../typechain-types";
import { COLLATERAL, FEE, honestResult, jobFrom } from "../helpers/marketFixture";
import { bytesRoot, craftedResult, expectEscrowBalanced, stakedMarket } from "./adversarial/escrow";
import { asContract } from "../helpers/impersonate";

/**
 * docs/consumer-tutorial.md and its example, contracts/examples/DrawTheDigit.sol: a consumer that builds
 * the model's input in memory from 28 row bitmaps, posts it, and acts on the argmax of the final result.
 * The last describe checks that every code block of the tutorial is the code of the file it names.
 */

const ROOT = path.join(__dirname, "..", "..");
const SIDE = 28;

/** The MNIST model's input scale (descriptor.json meta.inputScale), as a number and with 18 decimals. */
const INPUT_SCALE = inputScaleOf(loadModelDir(MNIST_MODEL_DIR));
const INPUT_SCALE_18 = ethers.parseUnits(INPUT_SCALE.toFixed(18), 18);

/** A 28×28 image with pixels in [0, 1] as the 28 row bitmaps `draw` takes: bit 27 is the leftmost pixel. */
function rowsOf(pixels: ArrayLike<number>, threshold = 0.5): number[] {
  const rows: number[] = [];
  for (let r = 0; r < SIDE; r++) {
    let bits = 0;
    for (let c = 0; c < SIDE; c++) if (pixels[r * SIDE + c] >= threshold) bits |= 1 << (SIDE - 1 - c);
    rows.push(bits);
  }
  return rows;
}

/** The input the contract must build for `rows`, by the tutorial's rule: inked pixels quantise 1.0. */
function inputOf(rows: number[]): Uint8Array {
  const ink = quantiseInput([1.0], INPUT_SCALE)[0];
  const pixels = new Float32Array(SIDE * SIDE);
  rows.forEach((bits, r) => {
    for (let c = 0; c < SIDE; c++) if ((bits >>> (SIDE - 1 - c)) & 1) pixels[r * SIDE + c] = 1.0;
  });
  const q = quantiseInput(pixels, INPUT_SCALE);
  expect(Math.max(...q)).to.be.oneOf([0, ink]);
  return new Uint8Array(q.buffer);
}

/** The digit the contract must read from an output: the first index of the largest int8. */
function digitOf(output: Uint8Array): number {
  return argmax(new Int8Array(output.buffer, output.byteOffset, output.length));
}

type Drawing = { rows: number[]; input: Uint8Array; result: ReturnType<typeof honestResult> };
let heldOut: ReturnType<typeof loadMnist>["test"] | undefined;
const drawings = new Map<number, Drawing>();
/** The first held-out MNIST digit `label` whose one-bit drawing the model reads as `label` (found once). */
function drawingOf(label: number): Drawing {
  const known = drawings.get(label);
  if (known) return known;
  heldOut ??= loadMnist().test;
  for (const d of heldOut.filter((x) => x.label === label).slice(0, 20)) {
    const rows = rowsOf(d.pixels);
    const input = inputOf(rows);
    const result = honestResult(input);
    if (digitOf(result.output) === label) {
      drawings.set(label, { rows, input, result });
      return { rows, input, result };
    }
  }
  throw new Error(`none of the first 20 held-out ${label}s, drawn in one bit, is read as ${label}`);
}

async function deployed() {
  const f = await stakedMarket();
  const drawTheDigit = (await ethers.deployContract("DrawTheDigit", [await f.market.getAddress(), f.modelId, INPUT_SCALE_18])) as unknown as DrawTheDigit;
  return { ...f, drawTheDigit, player: f.requester };
}
type Fixture = Awaited<ReturnType<typeof deployed>>;

/** `player` draws `rows`: the job the contract posted and the transaction. */
async function draw(f: Fixture, rows: number[], player = f.player) {
  const expiresAt = (await time.latest()) + 3600;
  const tx = f.drawTheDigit.connect(player).draw(rows, COLLATERAL, expiresAt, { value: FEE });
  const { jobId, job } = await jobFrom(tx);
  return { tx, jobId, job };
}

/** The node takes the job and submits `result`; returns the submitted job. */
async function takeAndSubmit(f: Fixture, jobId: bigint, job: Job, result: { output: Uint8Array; traceRoot: string; inputProof: string[]; outputProof: string[] }) {
  ({ job } = await jobFrom(f.market.connect(f.node).takeJob(jobId, job), job));
  ({ job } = await jobFrom(f.market.connect(f.node).submitResult(jobId, job, result.output, result.traceRoot, result.inputProof, result.outputProof), job));
  return job;
}


describe("DrawTheDigit (docs/consumer-tutorial.md)", () => {
  describe("deployment", () => {
    it("quantises ink (intensity 1.0) at the model's input scale as core/quantise.ts does, and asks for 0 first", async () => {
      const f = await loadFixture(deployed);
      expect(INPUT_SCALE_18).to.equal(7_874_015_748_031_496n); // 1/127 with 18 decimals
      expect(await f.drawTheDigit.ink()).to.equal(quantiseInput([1.0], INPUT_SCALE)[0]).and.to.equal(127);
      expect(await f.drawTheDigit.modelId()).to.equal(f.modelId);
      expect(await f.drawTheDigit.digitAsked()).to.equal(0);
      expect(await f.drawTheDigit.market()).to.equal(await f.market.getAddress());
      expect(await f.drawTheDigit.PIXELS()).to.equal(784);
    });

    it("refuses a model that does not take 784 inputs and give 10 outputs", async () => {
      const f = await loadFixture(deployed);
      await f.registry.registerModel(ethers.id("iris"), 4, 3, 2, 16, "models/iris");
      await expect(ethers.deployContract("DrawTheDigit", [await f.market.getAddress(), 2n, INPUT_SCALE_18]))
        .to.be.revertedWithCustomError(f.drawTheDigit, "DrawTheDigitWrongModel")
        .withArgs(2n, 4, 3);
    });

    it("refuses an input scale of 0, or one at which 1.0 quantises to 0 (above 2.0)", async () => {
      const f = await loadFixture(deployed);
      const market = await f.market.getAddress();
      for (const scale of [0n, 2n * 10n ** 18n + 1n]) {
        await expect(ethers.deployContract("DrawTheDigit", [market, f.modelId, scale]))
          .to.be.revertedWithCustomError(f.drawTheDigit, "DrawTheDigitInvalidInputScale")
          .withArgs(scale);
      }
      // At exactly 2.0, 1.0 / 2.0 = 0.5 rounds up to 1: the smallest ink there is.
      const coarse = await ethers.deployContract("DrawTheDigit", [market, f.modelId, 2n * 10n ** 18n]);
      expect(await coarse.ink()).to.equal(quantiseInput([1.0], 2.0)[0]).and.to.equal(1);
    });
  });

  describe("quantise", () => {
    it("agrees with quantiseInput (round half up, clamp at 127) on non-negative values", async () => {
      const f = await loadFixture(deployed);
      const values = [0, 0.25, 0.5, 1, 1.5, 2.5, 63.5, 126.5, 127, 127.5, 128, 1000].map((k) => k * INPUT_SCALE);
      for (const x of values) {
        const x18 = ethers.parseUnits(x.toFixed(18), 18);
        const want = quantiseInput([x], INPUT_SCALE)[0];
        expect(await f.drawTheDigit.quantise(x18, INPUT_SCALE_18), `x = ${x / INPUT_SCALE} steps`).to.equal(want);
      }
    });
  });

  describe("render (the input built in memory)", () => {
    it("maps bit 27 of a row to its leftmost pixel and bit 0 to its rightmost, ink where set, 0 elsewhere", async () => {
      const f = await loadFixture(deployed);
      const rows = new Array(SIDE).fill(0);
      rows[0] = 1 << 27; // top left
      rows[5] = 0b101; // row 5: columns 25 and 27
      rows[27] = 1; // bottom right
      const input = ethers.getBytes(await f.drawTheDigit.render(rows));
      const set = [...input.keys()].filter((i) => input[i] !== 0);
      expect(set).to.deep.equal([0, 5 * SIDE + 25, 5 * SIDE + 27, 27 * SIDE + 27]);
      for (const i of set) expect(input[i]).to.equal(127);
      expect(input.length).to.equal(784);
    });

    it("renders a real handwritten digit as the TypeScript quantisation does", async () => {
      const f = await loadFixture(deployed);
      const { rows, input } = drawingOf(3);
      expect(await f.drawTheDigit.render(rows)).to.equal(toHex(input));
      expect(input.filter((b) => b !== 0).length).to.be.greaterThan(50); // a real drawing, not a blank
    });

    it("costs about 210k gas to draw a handwritten digit, about 55k of it rendering", async () => {
      const f = await loadFixture(deployed);
      const { rows } = drawingOf(0);
      const { tx } = await draw(f, rows);
      const drawGas = (await (await tx).wait())!.gasUsed;
      const rendering = (await f.drawTheDigit.render.estimateGas(rows)) - (await f.drawTheDigit.render.estimateGas(new Array(SIDE).fill(0)));
      console.log(`      draw: ${drawGas} gas, of which rendering about ${rendering}`);
      expect(drawGas).to.be.within(180_000n, 240_000n);
      expect(rendering).to.be.within(40_000n, 70_000n);
    });

    it("reverts with DrawTheDigitRowTooWide(row, bits) for a bit above the 28 pixels", async () => {
      const f = await loadFixture(deployed);
      const rows = new Array(SIDE).fill(0);
      rows[9] = (1 << 28) | 1;
      await expect(f.drawTheDigit.render(rows)).to.be.revertedWithCustomError(f.drawTheDigit, "DrawTheDigitRowTooWide").withArgs(9, rows[9]);
      await expect(f.drawTheDigit.draw(rows, COLLATERAL, (await time.latest()) + 3600, { value: FEE }))
        .to.be.revertedWithCustomError(f.drawTheDigit, "DrawTheDigitRowTooWide")
        .withArgs(9, rows[9]);
    });
  });

  describe("a drawing from post to callback (end to end)", () => {
    it("posts the rendered input, and scores the player when the final result reads the digit asked", async () => {
      const f = await loadFixture(deployed);
      const game = await f.drawTheDigit.getAddress();
      const zero = drawingOf(0);

      // 1. The player draws a 0 (the digit asked for) and pays the fee.
      const { tx, jobId, job: posted } = await draw(f, zero.rows);
      await expect(tx).to.emit(f.drawTheDigit, "DrawingSubmitted").withArgs(jobId, f.player.address, 0);
      await expect(tx).to.emit(f.market, "JobPosted").withArgs(jobId, f.modelId, game, anyValue, toHex(zero.input));
      expect(posted.inputRoot).to.equal(bytesRoot(zero.input)); // the root the market computed of the bytes built in memory
      await expect(tx).to.changeEtherBalances([f.player, f.drawTheDigit, f.market], [-FEE, 0, FEE]);
      expect(posted).to.include({ requester: game, consumer: game, callbackGasLimit: 100_000n, fee: FEE, status: JobStatus.Open });
      expect(await f.drawTheDigit.pending(jobId)).to.equal(true);
      expect(await f.drawTheDigit.payerOf(jobId)).to.equal(f.player.address);

      // 2. A node takes the job and submits the model's output: the soft result, which the contract never sees.
      const submitted = await takeAndSubmit(f, jobId, posted, zero.result);
      expect(submitted.status).to.equal(JobStatus.Submitted);
      expect(await f.drawTheDigit.score(f.player.address)).to.equal(0);
      await expect(f.market.finalize(jobId, submitted, zero.result.output))
        .to.be.revertedWithCustomError(f.market, "JobMarketDeadlineNotReached");

      // 3. The challenge window passes; anyone finalises; the market calls the contract back.
      await time.increaseTo(submitted.deadline);
      const fin = f.market.connect(f.other).finalize(jobId, submitted, zero.result.output);
      await expect(fin).to.emit(f.drawTheDigit, "DrawingJudged").withArgs(jobId, f.player.address, 0, 0, true);
      await expect(fin).to.emit(f.market, "JobFinalized").withArgs(jobId, f.node.address, 1, true, true);
      await expect(fin).to.changeEtherBalances([f.market, f.node], [-FEE, FEE]);

      // 4. The contract acted on the argmax: a point for the player, the next digit asked for.
      expect(await f.drawTheDigit.score(f.player.address)).to.equal(1);
      expect(await f.drawTheDigit.digitAsked()).to.equal(1);
      expect(await f.drawTheDigit.pending(jobId)).to.equal(false);
      expect(await ethers.provider.getBalance(game)).to.equal(0);
      await expectEscrowBalanced(f.market, f.staking);
    });

    it("scores nothing and keeps the digit asked when the drawing is read as another digit", async () => {
      const f = await loadFixture(deployed);
      const seven = drawingOf(7);
      const { jobId, job } = await draw(f, seven.rows);
      const submitted = await takeAndSubmit(f, jobId, job, seven.result);
      await time.increaseTo(submitted.deadline);
      await expect(f.market.finalize(jobId, submitted, seven.result.output))
        .to.emit(f.drawTheDigit, "DrawingJudged")
        .withArgs(jobId, f.player.address, 0, 7, false);
      expect(await f.drawTheDigit.score(f.player.address)).to.equal(0);
      expect(await f.drawTheDigit.digitAsked()).to.equal(0);
      expect(await f.drawTheDigit.pending(jobId)).to.equal(false);
    });

    it("judges each drawing against the digit asked when it was drawn; only a match for the digit asked now moves it on", async () => {
      const f = await loadFixture(deployed);
      const zero = drawingOf(0);
      const first = await draw(f, zero.rows, f.player);
      const second = await draw(f, zero.rows, f.other);
      expect(await f.drawTheDigit.askedOf(second.jobId)).to.equal(0);
      const a = await takeAndSubmit(f, first.jobId, first.job, zero.result);
      const b = await takeAndSubmit(f, second.jobId, second.job, zero.result);
      await time.increaseTo(b.deadline);
      await f.market.finalize(first.jobId, a, zero.result.output);
      expect(await f.drawTheDigit.digitAsked()).to.equal(1);
      // A drawing asked (and posted) while 0 was asked is still judged against 0.
      const third = await draw(f, zero.rows, f.player);
      expect(await f.drawTheDigit.askedOf(third.jobId)).to.equal(1);
      await expect(f.market.finalize(second.jobId, b, zero.result.output))
        .to.emit(f.drawTheDigit, "DrawingJudged")
        .withArgs(second.jobId, f.other.address, 0, 0, true);
      expect(await f.drawTheDigit.score(f.other.address)).to.equal(1);
      expect(await f.drawTheDigit.digitAsked()).to.equal(1);
    });

    it("reads the output as signed int8, lowest index on a tie", async () => {
      const f = await loadFixture(deployed);
      const { jobId, job } = await draw(f, drawingOf(0).rows);
      // 0x80 is -128 as int8; 0 at indices 4 and 9 is the largest: the digit is 4.
      const output = Uint8Array.from([0x80, 0xff, 0x81, 0xfe, 0, 0x90, 0xa0, 0xf0, 0x80, 0]);
      expect(digitOf(output)).to.equal(4);
      const submitted = await takeAndSubmit(f, jobId, job, craftedResult(job, output));
      await time.increaseTo(submitted.deadline);
      await expect(f.market.finalize(jobId, submitted, output)).to.emit(f.drawTheDigit, "DrawingJudged").withArgs(jobId, f.player.address, 0, 4, false);
    });
  });

  describe("the callback", () => {
    it("uses well under CALLBACK_GAS_LIMIT in its most expensive case (a first point and a new digit asked)", async () => {
      const f = await loadFixture(deployed);
      const { jobId } = await draw(f, drawingOf(0).rows);
      const output = Uint8Array.from([9, 0, 0, 0, 0, 0, 0, 0, 0, 0]); // read as 0: a match
      const data = f.drawTheDigit.interface.encodeFunctionData("onInferenceResult", [jobId, output]);
      const gas = await asContract(await f.market.getAddress(), (market) => market.estimateGas({ to: f.drawTheDigit, data }));
      const calldata = ethers.getBytes(data).reduce((sum, b) => sum + (b === 0 ? 4 : 16), 0);
      const execution = gas - 21_000n - BigInt(calldata);
      const limit = await f.drawTheDigit.CALLBACK_GAS_LIMIT();
      console.log(`      callback: ${execution} gas of its ${limit} limit`);
      expect(execution).to.be.greaterThan(40_000n).and.lessThan(65_000n); // "about 60k" in the contract
      expect(execution * 3n).to.be.lessThan(limit * 2n);
    });

    it("is refused from anyone but the market (InferenceConsumerNotMarket)", async () => {
      const f = await loadFixture(deployed);
      const { jobId } = await draw(f, drawingOf(0).rows);
      await expect(f.drawTheDigit.connect(f.player).onInferenceResult(jobId, Uint8Array.from([9, 0, 0, 0, 0, 0, 0, 0, 0, 0])))
        .to.be.revertedWithCustomError(f.drawTheDigit, "InferenceConsumerNotMarket")
        .withArgs(f.player.address);
      expect(await f.drawTheDigit.score(f.player.address)).to.equal(0);
      expect(await f.drawTheDigit.pending(jobId)).to.equal(true);
    });

    it("a revert in it does not undo finalize: a job the contract did not post is finalised with callbackSucceeded false", async () => {
      const f = await loadFixture(deployed);
      const game = await f.drawTheDigit.getAddress();
      const zero = drawingOf(0);
      const expiresAt = (await time.latest()) + 3600;
      const { jobId, job } = await jobFrom(f.market.connect(f.other).postJob(f.modelId, zero.input, game, 100_000, COLLATERAL, expiresAt, { value: FEE }));
      const submitted = await takeAndSubmit(f, jobId, job, zero.result);
      await time.increaseTo(submitted.deadline);
      const fin = f.market.finalize(jobId, submitted, zero.result.output);
      await expect(fin).to.emit(f.market, "JobFinalized").withArgs(jobId, f.node.address, 1, true, false);
      await expect(fin).not.to.emit(f.drawTheDigit, "DrawingJudged");
      await expect(fin).to.changeEtherBalances([f.market, f.node], [-FEE, FEE]);
      expect(await f.drawTheDigit.digitAsked()).to.equal(0);
    });
  });

  describe("getting money back", () => {
    it("expired: expireJob, refund, withdraw return the fee to the player", async () => {
      const f = await loadFixture(deployed);
      const { jobId, job: posted } = await draw(f, drawingOf(0).rows);
      await expect(f.drawTheDigit.refund(jobId, posted))
        .to.be.revertedWithCustomError(f.drawTheDigit, "InferenceConsumerNotRefundable")
        .withArgs(jobId, JobStatus.Open);
      await time.increaseTo(posted.expiresAt + 1n);
      const { job } = await jobFrom(f.market.connect(f.other).expireJob(jobId, posted), posted);
      expect(job.status).to.equal(JobStatus.Expired);
      const refund = f.drawTheDigit.connect(f.other).refund(jobId, job);
      await expect(refund).to.emit(f.drawTheDigit, "Refunded").withArgs(jobId, f.player.address, FEE);
      await expect(refund).to.changeEtherBalances([f.market, f.drawTheDigit], [-FEE, FEE]);
      expect(await f.drawTheDigit.owed(f.player.address)).to.equal(FEE);
      const paid = f.drawTheDigit.connect(f.player).withdraw();
      await expect(paid).to.emit(f.drawTheDigit, "Withdrawn").withArgs(f.player.address, FEE);
      await expect(paid).to.changeEtherBalances([f.drawTheDigit, f.player], [-FEE, FEE]);
      expect(await ethers.provider.getBalance(f.drawTheDigit)).to.equal(0);
      expect(await f.drawTheDigit.pending(jobId)).to.equal(false);
      await expectEscrowBalanced(f.market, f.staking);
    });

    it("cancelled: only the player may cancel while the job is open; then refund and withdraw", async () => {
      const f = await loadFixture(deployed);
      const { jobId, job: posted } = await draw(f, drawingOf(0).rows);
      await expect(f.drawTheDigit.connect(f.other).cancel(jobId, posted))
        .to.be.revertedWithCustomError(f.drawTheDigit, "DrawTheDigitNotPlayer")
        .withArgs(jobId, f.other.address, f.player.address);
      await expect(f.market.connect(f.player).cancelJob(jobId, posted)) // the contract is the requester, not the player
        .to.be.revertedWithCustomError(f.market, "JobMarketNotRequester");
      const { job } = await jobFrom(f.drawTheDigit.connect(f.player).cancel(jobId, posted), posted);
      expect(job.status).to.equal(JobStatus.Cancelled);
      await expect(f.drawTheDigit.refund(jobId, job)).to.emit(f.drawTheDigit, "Refunded").withArgs(jobId, f.player.address, FEE);
      await expect(f.drawTheDigit.connect(f.player).withdraw()).to.changeEtherBalance(f.player, FEE);
      await expectEscrowBalanced(f.market, f.staking);
    });

    it("disputed: a slashed node's collateral reaches the player, and the reopened job still calls back", async () => {
      const f = await loadFixture(deployed);
      const game = await f.drawTheDigit.getAddress();
      const zero = drawingOf(0);
      const { jobId, job: posted } = await draw(f, zero.rows);
      // The node submits a wrong output (read as 1); a dispute holds the result and the node loses it.
      const wrong = Uint8Array.from([0, 9, 0, 0, 0, 0, 0, 0, 0, 0]);
      const lied = await takeAndSubmit(f, jobId, posted, craftedResult(posted, wrong));
      await f.game.hold(jobId, lied);
      await time.increaseTo(lied.deadline);
      await expect(f.market.finalize(jobId, lied, wrong)).to.be.revertedWithCustomError(f.market, "JobMarketDisputesOpen");
      const { job: reopened } = await jobFrom(f.game.nodeLost(jobId, lied, game), lied);
      expect(reopened.status).to.equal(JobStatus.Open);
      expect(await f.market.compensation(jobId)).to.equal(COLLATERAL);

      const claim = f.drawTheDigit.connect(f.other).claimCompensation(jobId);
      await expect(claim).to.emit(f.drawTheDigit, "Compensated").withArgs(jobId, f.player.address, COLLATERAL);
      await expect(f.drawTheDigit.connect(f.player).withdraw()).to.changeEtherBalance(f.player, COLLATERAL);

      // Another node serves the reopened job honestly; the callback arrives with its output.
      const honest = f.rest[0];
      await f.staking.connect(honest).stake({ value: COLLATERAL });
      let { job } = await jobFrom(f.market.connect(honest).takeJob(jobId, reopened), reopened);
      const r = zero.result;
      ({ job } = await jobFrom(f.market.connect(honest).submitResult(jobId, job, r.output, r.traceRoot, r.inputProof, r.outputProof), job));
      expect(await f.drawTheDigit.pending(jobId)).to.equal(true);
      await time.increaseTo(job.deadline);
      await expect(f.market.finalize(jobId, job, r.output)).to.emit(f.drawTheDigit, "DrawingJudged").withArgs(jobId, f.player.address, 0, 0, true);
      expect(await f.drawTheDigit.score(f.player.address)).to.equal(1);
      expect(await ethers.provider.getBalance(game)).to.equal(0);
      await expectEscrowBalanced(f.market, f.staking);
    });
  });

  describe("docs/consumer-tutorial.md", () => {
    const doc = readFileSync(path.join(ROOT, "docs", "consumer-tutorial.md"), "utf8");
    const blocks = codeBlocks(doc);

    it("tags every solidity and ts code block with the file it quotes, and each is that file's text verbatim", () => {
      const quoting = blocks.filter((b) => b.lang === "solidity" || b.lang === "ts");
      expect(quoting.length).to.be.greaterThan(8);
      for (const b of quoting) {
        expect(b.file, `a ${b.lang} block at line ${b.line} has no "// file: <path>" first line`).to.not.equal(undefined);
        const text = readFileSync(path.join(ROOT, b.file!), "utf8");
        expect(text.includes(b.body), `the block at line ${b.line} is not verbatim in ${b.file}`).to.equal(true);
      }
    });

    it("shows the whole example contract, in order, block after block", () => {
      const file = "contracts/examples/DrawTheDigit.sol";
      const text = readFileSync(path.join(ROOT, file), "utf8");
      const mine = blocks.filter((b) => b.file === file);
      let at = 0;
      for (const b of mine) {
        const found = text.indexOf(b.body, at);
        expect(found, `the block at line ${b.line} is not after the one before it in ${file}`).to.be.greaterThanOrEqual(at);
        expect(text.slice(at, found).trim(), `${file} between the blocks before line ${b.line} is not shown`).to.equal("");
        at = found + b.body.length;
      }
      expect(text.slice(at).trim(), `the end of ${file} is not shown`).to.equal("");
    });

    it("names in backticks only identifiers that the contracts or the code it points to have", () => {
      const sources = [...solidityFiles(path.join(ROOT, "contracts")), ...QUOTED_TS.map((p) => path.join(ROOT, p))].map((p) => readFileSync(p, "utf8")).join("\n");
      const prose = doc.replace(/```[\s\S]*?```/g, "");
      const cited = new Set([...prose.matchAll(/`([A-Za-z_][A-Za-z0-9_]*)(?:\([^`]*\))?`/g)].map((m) => m[1]));
      expect(cited.size).to.be.greaterThan(30);
      const unknown = [...cited].filter((n) => !new RegExp(`\\b${n}\\b`).test(sources));
      expect(unknown, "names in the tutorial found in no contract nor in the TypeScript it cites").to.deep.equal([]);
    });
  });
});

/** The TypeScript the tutorial cites by name, besides the contracts. */
const QUOTED_TS = ["core/quantise.ts", "core/modelFiles.ts", "node/nodeOperator.ts", "client/refuteClient.ts", "test/helpers/marketFixture.ts", "test/contracts/adversarial/escrow.ts", "test/contracts/consumerTutorial.test.ts"];

/** Every .sol file under `dir`. */
function solidityFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => (e.isDirectory() ? solidityFiles(path.join(dir, e.name)) : e.name.endsWith(".sol") ? [path.join(dir, e.name)] : []));
}

interface CodeBlock {
  lang: string;
  /** The path in its "// file: <path>" first line, if any. */
  file?: string;
  /** The block without that line. */
  body: string;
  /** 1-based line of the opening fence. */
  line: number;
}

/** The fenced code blocks of a Markdown text. */
function codeBlocks(markdown: string): CodeBlock[] {
  const out: CodeBlock[] = [];
  const lines = markdown.split("\n");
  for (let i = 0; i < lines.length; i++) {
    const open = /^```(\w*)\s*$/.exec(lines[i]);
    if (!open) continue;
    const start = i;
    const body: string[] = [];
    for (i++; i < lines.length && lines[i] !== "```"; i++) body.push(lines[i]);
    const tag = /^\/\/ file: (\S+)$/.exec(body[0] ?? "");
    out.push({ lang: open[1], file: tag?.[1], body: (tag ? body.slice(1) : body).join("\n"), line: start + 1 });
  }
  return out;
}
