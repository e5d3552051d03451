import { expect } from "chai";
import { ethers } from "hardhat";
import { loadFixture, setBalance, time } from "@nomicfoundation/hardhat-network-helpers";
import { anyValue } from "@nomicfoundation/hardhat-chai-matchers/withArgs";
import { toHex } from "../../core/bytes";
import { activationTree } from "../../core/commitments";
import { JOB_ABI, type Job, JobStatus, hashJob } from "../../core/jobState";
import { Rng } from "../../core/rng";
import { modelShape } from "../../core/model";
import type { AttackerNode } from "../../typechain-types";
import {
  COLLATERAL,
  CONFIG,
  FEE,
  NODE_STAKE,
  UNBONDING_DELAY,
  deployMarket,
  honestResult,
  jobFrom,
  mnistInput,
  mnistModel,
} from "../helpers/marketFixture";
import { bytesRoot, expectEscrowBalanced, stakedMarket } from "./adversarial/escrow";

const ZERO = ethers.ZeroAddress;
const ZERO_HASH = ethers.ZeroHash;
const INPUT = mnistInput(1);

let honestMemo: ReturnType<typeof honestResult> | undefined;
/** The honest result for INPUT (computed once, after the fixture has initialised keccak). */
function honest() {
  honestMemo ??= honestResult(INPUT);
  return honestMemo;
}

/** `hex` with the lowest bit of byte `at` flipped. */
function flip(hex: string, at = 0): string {
  const b = ethers.getBytes(hex);
  b[at] ^= 1;
  return ethers.hexlify(b);
}

/** A Job as the tuple the ABI (and withArgs) sees, field by field. */
function tuple(job: Job): unknown[] {
  return JOB_ABI.components.map((c) => job[c.name as keyof Job]);
}

// ------------------------------------------------------------------------------------------------
// Fixtures: each step of a job's life, built on the one before.
// ------------------------------------------------------------------------------------------------

async function unboundMarket() {
  const [deployer, other] = await ethers.getSigners();
  const registry = await ethers.deployContract("ModelRegistry");
  const staking = await ethers.deployContract("Staking", [UNBONDING_DELAY]);
  const market = await ethers.deployContract("JobMarket", [await registry.getAddress(), await staking.getAddress(), CONFIG]);
  const game = await ethers.deployContract("DisputeGameMock");
  await game.bind(await market.getAddress(), await staking.getAddress(), await registry.getAddress());
  // Staking lets the game slash before the market binds it (the order of core/chain/deploy.ts).
  await staking.bind(await market.getAddress(), await game.getAddress());
  return { deployer, other, registry, staking, market, game };
}

/** The windows of the market's Config, each checked against [1, MAX_WINDOW] at deployment. */
const WINDOWS = ["challengeWindow", "deliveryWindow", "maxDisputeDuration", "reopenWindow"] as const;
const MAX_WINDOW = 365n * 86_400n;

async function posted() {
  const f = await stakedMarket();
  const expiresAt = (await time.latest()) + 3600;
  const postTx = await f.market.connect(f.requester).postJob(f.modelId, INPUT, ZERO, 0, COLLATERAL, expiresAt, { value: FEE });
  const { jobId, job } = await jobFrom(postTx);
  return { ...f, jobId, job, expiresAt };
}

async function taken() {
  const f = await posted();
  const { job } = await jobFrom(f.market.connect(f.node).takeJob(f.jobId, f.job), f.job);
  return { ...f, openJob: f.job, job };
}

async function submitted() {
  const f = await taken();
  const r = honest();
  const submitTx = await f.market.connect(f.node).submitResult(f.jobId, f.job, r.output, r.traceRoot, r.inputProof, r.outputProof);
  const { job } = await jobFrom(submitTx, f.job);
  return { ...f, takenJob: f.job, job, r, submitTx };
}

/** A submitted job whose consumer is an EOA (`other`), so finalize checks the output. */
async function submittedWithConsumer() {
  const f = await stakedMarket();
  const expiresAt = (await time.latest()) + 3600;
  let { jobId, job } = await jobFrom(
    f.market.connect(f.requester).postJob(f.modelId, INPUT, f.other.address, 50_000, COLLATERAL, expiresAt, { value: FEE })
  );
  ({ job } = await jobFrom(f.market.connect(f.node).takeJob(jobId, job), job));
  const r = honest();
  ({ job } = await jobFrom(f.market.connect(f.node).submitResult(jobId, job, r.output, r.traceRoot, r.inputProof, r.outputProof), job));
  return { ...f, jobId, job, r };
}

/** A submitted job with two disputes open on it. */
async function disputedTwice() {
  const f = await submitted();
  await f.game.hold(f.jobId, f.job);
  await f.game.hold(f.jobId, f.job);
  return f;
}

/** A node contract whose receive() reverts, with the fee of a finalised job credited to it. */
async function rejectingNodeCredited() {
  const f = await stakedMarket();
  const node = (await ethers.deployContract("AttackerNode", [1])) as unknown as AttackerNode;
  const nodeAddress = await node.getAddress();
  const m = f.market.interface;
  await node.execute(await f.staking.getAddress(), NODE_STAKE, f.staking.interface.encodeFunctionData("stake"), { value: NODE_STAKE });
  const expiresAt = (await time.latest()) + 3600;
  let { jobId, job } = await jobFrom(
    f.market.connect(f.requester).postJob(f.modelId, INPUT, ZERO, 0, COLLATERAL, expiresAt, { value: FEE })
  );
  const marketAddress = await f.market.getAddress();
  ({ job } = await jobFrom(node.execute(marketAddress, 0, m.encodeFunctionData("takeJob", [jobId, job])), job));
  const r = honest();
  ({ job } = await jobFrom(
    node.execute(marketAddress, 0, m.encodeFunctionData("submitResult", [jobId, job, r.output, r.traceRoot, r.inputProof, r.outputProof])),
    job
  ));
  await time.increaseTo(job.deadline);
  await f.market.finalize(jobId, job, r.output);
  return { ...f, attacker: node, nodeAddress };
}

describe("JobMarket", () => {
  describe("constructor", () => {
    describe("when the registry or the staking address is zero", () => {
      it("reverts with JobMarketZeroAddress", async () => {
        const { registry, staking } = await loadFixture(unboundMarket);
        const factory = await ethers.getContractFactory("JobMarket");
        await expect(factory.deploy(ZERO, await staking.getAddress(), CONFIG)).to.be.revertedWithCustomError(
          factory,
          "JobMarketZeroAddress"
        );
        await expect(factory.deploy(await registry.getAddress(), ZERO, CONFIG)).to.be.revertedWithCustomError(
          factory,
          "JobMarketZeroAddress"
        );
      });
    });

    describe("when the unbonding delay does not exceed challengeWindow + maxDisputeDuration", () => {
      it("reverts with JobMarketUnbondingTooShort(delay, need)", async () => {
        const { registry } = await loadFixture(unboundMarket);
        const factory = await ethers.getContractFactory("JobMarket");
        const need = CONFIG.challengeWindow + CONFIG.maxDisputeDuration;
        for (const delay of [0, need - 1, need]) {
          const staking = await ethers.deployContract("Staking", [delay]);
          await expect(factory.deploy(await registry.getAddress(), await staking.getAddress(), CONFIG))
            .to.be.revertedWithCustomError(factory, "JobMarketUnbondingTooShort")
            .withArgs(delay, need + 1);
        }
      });
    });

    describe("issue 10 item 8: when a deployment parameter is out of range", () => {
      for (const name of WINDOWS) {
        it(`reverts with JobMarketInvalidParameter("${name}", value, 1, MAX_WINDOW) for 0 and MAX_WINDOW + 1`, async () => {
          const { registry, staking } = await loadFixture(unboundMarket);
          const factory = await ethers.getContractFactory("JobMarket");
          for (const value of [0n, MAX_WINDOW + 1n]) {
            await expect(factory.deploy(await registry.getAddress(), await staking.getAddress(), { ...CONFIG, [name]: value }))
              .to.be.revertedWithCustomError(factory, "JobMarketInvalidParameter")
              .withArgs(name, value, 1, MAX_WINDOW);
          }
        });
      }

      it('reverts with JobMarketInvalidParameter("minCollateral", 0, 1, 2^96 - 1)', async () => {
        const { registry, staking } = await loadFixture(unboundMarket);
        const factory = await ethers.getContractFactory("JobMarket");
        await expect(factory.deploy(await registry.getAddress(), await staking.getAddress(), { ...CONFIG, minCollateral: 0n }))
          .to.be.revertedWithCustomError(factory, "JobMarketInvalidParameter")
          .withArgs("minCollateral", 0, 1, 2n ** 96n - 1n);
      });

      it('reverts with JobMarketInvalidParameter("maxCallbackGasLimit", value, 0, MAX_CALLBACK_GAS_LIMIT) above 10M gas, and accepts 0 and 10M', async () => {
        const { registry, staking } = await loadFixture(unboundMarket);
        const factory = await ethers.getContractFactory("JobMarket");
        const deploy = (maxCallbackGasLimit: number) => factory.deploy(registry.getAddress(), staking.getAddress(), { ...CONFIG, maxCallbackGasLimit });
        await expect(deploy(10_000_001)).to.be.revertedWithCustomError(factory, "JobMarketInvalidParameter").withArgs("maxCallbackGasLimit", 10_000_001, 0, 10_000_000);
        expect(await (await deploy(10_000_000)).MAX_CALLBACK_GAS_LIMIT()).to.equal(10_000_000);
        expect(await (await deploy(0)).maxCallbackGasLimit()).to.equal(0);
      });

      it("accepts every window at 1 and at MAX_WINDOW (a year), and minCollateral 1", async () => {
        const { registry } = await loadFixture(unboundMarket);
        const factory = await ethers.getContractFactory("JobMarket");
        const longStaking = await ethers.deployContract("Staking", [2n * MAX_WINDOW + 1n]);
        const longest = Object.fromEntries(WINDOWS.map((w) => [w, MAX_WINDOW]));
        const market = await factory.deploy(await registry.getAddress(), await longStaking.getAddress(), { ...CONFIG, ...longest });
        expect(await market.MAX_WINDOW()).to.equal(MAX_WINDOW);
        for (const w of WINDOWS) expect(await market[w]()).to.equal(MAX_WINDOW);
        const shortest = Object.fromEntries(WINDOWS.map((w) => [w, 1n]));
        const staking = await ethers.deployContract("Staking", [3]);
        const small = await factory.deploy(await registry.getAddress(), await staking.getAddress(), { ...CONFIG, ...shortest, minCollateral: 1n });
        for (const w of WINDOWS) expect(await small[w]()).to.equal(1n);
        expect(await small.minCollateral()).to.equal(1n);
      });
    });

    describe("when the unbonding delay is just long enough", () => {
      it("deploys with the configuration readable", async () => {
        const { registry } = await loadFixture(unboundMarket);
        const staking = await ethers.deployContract("Staking", [CONFIG.challengeWindow + CONFIG.maxDisputeDuration + 1]);
        const market = await ethers.deployContract("JobMarket", [await registry.getAddress(), await staking.getAddress(), CONFIG]);
        expect(await market.registry()).to.equal(await registry.getAddress());
        expect(await market.staking()).to.equal(await staking.getAddress());
        expect(await market.challengeWindow()).to.equal(CONFIG.challengeWindow);
        expect(await market.deliveryWindow()).to.equal(CONFIG.deliveryWindow);
        expect(await market.maxDisputeDuration()).to.equal(CONFIG.maxDisputeDuration);
        expect(await market.reopenWindow()).to.equal(CONFIG.reopenWindow);
        expect(await market.minCollateral()).to.equal(CONFIG.minCollateral);
        expect(await market.maxCallbackGasLimit()).to.equal(CONFIG.maxCallbackGasLimit);
        expect(await market.CALLBACK_GAS_RESERVE()).to.equal(20_000);
        expect(await market.FEE_TRANSFER_GAS()).to.equal(2300);
        expect(await market.disputeGame()).to.equal(ZERO);
        expect(await market.jobCount()).to.equal(0);
        expect(await market.jobHash(1)).to.equal(ZERO_HASH);
      });
    });
  });

  describe("bindDisputeGame", () => {
    describe("when the caller is not the deployer", () => {
      it("reverts with JobMarketUnauthorized(caller)", async () => {
        const { market, game, other } = await loadFixture(unboundMarket);
        await expect(market.connect(other).bindDisputeGame(await game.getAddress()))
          .to.be.revertedWithCustomError(market, "JobMarketUnauthorized")
          .withArgs(other.address);
      });
    });

    describe("when the game address is zero", () => {
      it("reverts with JobMarketZeroAddress", async () => {
        const { market } = await loadFixture(unboundMarket);
        await expect(market.bindDisputeGame(ZERO)).to.be.revertedWithCustomError(market, "JobMarketZeroAddress");
      });
    });

    describe("when called the first time by the deployer", () => {
      it("binds the game and emits DisputeGameBound", async () => {
        const { market, game } = await loadFixture(unboundMarket);
        await expect(market.bindDisputeGame(await game.getAddress()))
          .to.emit(market, "DisputeGameBound")
          .withArgs(await game.getAddress());
        expect(await market.disputeGame()).to.equal(await game.getAddress());
      });
    });

    describe("issue 10 item 8: when the game is bound to another market, staking or registry", () => {
      it('reverts with JobMarketBindingMismatch("market" | "staking" | "registry", have, need) and stays unbound', async () => {
        const { market, staking, registry, game } = await loadFixture(unboundMarket);
        const [m, st, r] = [await market.getAddress(), await staking.getAddress(), await registry.getAddress()];
        const elsewhere = await unboundMarket(); // a second registry, staking and market
        const [m2, st2, r2] = [await elsewhere.market.getAddress(), await elsewhere.staking.getAddress(), await elsewhere.registry.getAddress()];
        const cases: [string, string, string, string, string, string][] = [
          // what, the game's market, staking, registry, have, need
          ["market", m2, st, r, m2, m],
          ["staking", m, st2, r, st2, st],
          ["registry", m, st, r2, r2, r],
          ["market", ZERO, ZERO, ZERO, ZERO, m],
        ];
        for (const [what, gm, gs, gr, have, need] of cases) {
          const wrong = await ethers.deployContract("DisputeGameMock");
          await wrong.bind(gm, gs, gr);
          await expect(market.bindDisputeGame(await wrong.getAddress()))
            .to.be.revertedWithCustomError(market, "JobMarketBindingMismatch")
            .withArgs(what, have, need);
        }
        expect(await market.disputeGame()).to.equal(ZERO);
        await expect(market.bindDisputeGame(await game.getAddress())).to.emit(market, "DisputeGameBound");
      });

      it('reverts with JobMarketBindingMismatch("staking game", slasher, game) for a game staking does not let slash', async () => {
        const { market, staking, registry, game } = await loadFixture(unboundMarket);
        const other = await ethers.deployContract("DisputeGameMock");
        await other.bind(market.getAddress(), staking.getAddress(), registry.getAddress());
        await expect(market.bindDisputeGame(await other.getAddress()))
          .to.be.revertedWithCustomError(market, "JobMarketBindingMismatch")
          .withArgs("staking game", await game.getAddress(), await other.getAddress());
        expect(await market.disputeGame()).to.equal(ZERO);
      });

      it("refuses an account with no code as the game", async () => {
        const { market, other } = await loadFixture(unboundMarket);
        await expect(market.bindDisputeGame(other.address)).to.be.reverted;
        expect(await market.disputeGame()).to.equal(ZERO);
      });
    });

    describe("when a game is already bound", () => {
      it("reverts with JobMarketAlreadyBound", async () => {
        const { market, game, other } = await loadFixture(unboundMarket);
        await market.bindDisputeGame(await game.getAddress());
        await expect(market.bindDisputeGame(other.address)).to.be.revertedWithCustomError(market, "JobMarketAlreadyBound");
      });
    });
  });

  describe("postJob", () => {
    describe("when no dispute game is bound yet", () => {
      it("reverts with JobMarketGameNotBound", async () => {
        const { market, registry } = await loadFixture(unboundMarket);
        const { model, root } = mnistModel();
        const shape = modelShape(model);
        await registry.registerModel(root, shape.inputSize, shape.outputSize, shape.layerCount, shape.maxWidth, "m");
        const expiresAt = (await time.latest()) + 3600;
        await expect(market.postJob(1, INPUT, ZERO, 0, COLLATERAL, expiresAt, { value: FEE })).to.be.revertedWithCustomError(market, "JobMarketGameNotBound");
      });
    });

    describe("when the job is valid", () => {
      it("emits JobPosted with the whole job and the input bytes", async () => {
        const { market, requester, modelId } = await loadFixture(stakedMarket);
        const expiresAt = (await time.latest()) + 3600;
        const { model } = mnistModel();
        const expected: Job = {
          requester: requester.address as `0x${string}`,
          modelId,
          outputSize: BigInt(model.layers[model.layers.length - 1].nOut),
          layerCount: BigInt(model.layers.length),
          consumer: ZERO as `0x${string}`,
          callbackGasLimit: 0n,
          fee: FEE,
          collateral: COLLATERAL,
          expiresAt: BigInt(expiresAt),
          deadline: 0n,
          attempt: 0n,
          missedDeadlines: 0n,
          status: JobStatus.Open,
          node: ZERO as `0x${string}`,
          inputRoot: toHex(activationTree(new Int8Array(INPUT.buffer)).root),
          traceRoot: ZERO_HASH as `0x${string}`,
          outputRoot: ZERO_HASH as `0x${string}`,
        };
        await expect(market.connect(requester).postJob(modelId, INPUT, ZERO, 0, COLLATERAL, expiresAt, { value: FEE }))
          .to.emit(market, "JobPosted")
          .withArgs(1n, modelId, requester.address, tuple(expected), toHex(INPUT));
      });

      it("stores the hash of the posted job, its input root the core activation root", async () => {
        const { market, job, jobId } = await loadFixture(posted);
        expect(jobId).to.equal(1n);
        expect(await market.jobHash(jobId)).to.equal(hashJob(job));
        expect(await market.hashJob(job)).to.equal(hashJob(job));
        expect(job.inputRoot).to.equal(toHex(activationTree(new Int8Array(INPUT.buffer)).root));
        // The same root the node commits as leaf 0 of its trace (core/commitments.ts).
        expect(job.inputRoot).to.equal(toHex(activationTree(honest().trace[0]).root));
        expect(job.status).to.equal(JobStatus.Open);
        expect(job.outputSize).to.equal(10n);
      });

      it("numbers the jobs from 1 and escrows the fee", async () => {
        const { market, requester, modelId, jobId } = await loadFixture(posted);
        const expiresAt = (await time.latest()) + 3600;
        const tx = market.connect(requester).postJob(modelId, INPUT, ZERO, 0, COLLATERAL, expiresAt, { value: FEE });
        await expect(tx).to.changeEtherBalances([requester, market], [-FEE, FEE]);
        expect((await jobFrom(tx)).jobId).to.equal(jobId + 1n);
        expect(await market.jobCount()).to.equal(2);
        await expectEscrowBalanced(market);
      });

      it("accepts the limits: minCollateral and maxCallbackGasLimit, with a consumer", async () => {
        const { market, requester, other, modelId } = await loadFixture(stakedMarket);
        const now = (await time.latest()) + 1;
        await time.setNextBlockTimestamp(now);
        const expiresAt = now + 1; // the earliest expiry that is still in the future
        const { job } = await jobFrom(
          market
            .connect(requester)
            .postJob(modelId, INPUT, other.address, CONFIG.maxCallbackGasLimit, CONFIG.minCollateral, expiresAt, { value: 1n })
        );
        expect(job.consumer).to.equal(other.address);
        expect(job.callbackGasLimit).to.equal(BigInt(CONFIG.maxCallbackGasLimit));
        expect(job.collateral).to.equal(CONFIG.minCollateral);
        expect(job.fee).to.equal(1n);
      });
    });

    describe("when no fee is sent", () => {
      it("reverts with JobMarketZeroFee", async () => {
        const { market, requester, modelId } = await loadFixture(stakedMarket);
        const expiresAt = (await time.latest()) + 3600;
        await expect(market.connect(requester).postJob(modelId, INPUT, ZERO, 0, COLLATERAL, expiresAt)).to.be.revertedWithCustomError(
          market,
          "JobMarketZeroFee"
        );
      });
    });

    describe("when the fee does not fit in uint96", () => {
      it("reverts with JobMarketFeeTooLarge(fee)", async () => {
        const { market, requester, modelId } = await loadFixture(stakedMarket);
        const fee = 2n ** 96n;
        await setBalance(requester.address, fee * 2n);
        const expiresAt = (await time.latest()) + 3600;
        await expect(market.connect(requester).postJob(modelId, INPUT, ZERO, 0, COLLATERAL, expiresAt, { value: fee }))
          .to.be.revertedWithCustomError(market, "JobMarketFeeTooLarge")
          .withArgs(fee);
      });
    });

    describe("when the collateral is below minCollateral", () => {
      it("reverts with JobMarketCollateralTooLow(have, min)", async () => {
        const { market, requester, modelId } = await loadFixture(stakedMarket);
        const expiresAt = (await time.latest()) + 3600;
        const low = CONFIG.minCollateral - 1n;
        await expect(market.connect(requester).postJob(modelId, INPUT, ZERO, 0, low, expiresAt, { value: FEE }))
          .to.be.revertedWithCustomError(market, "JobMarketCollateralTooLow")
          .withArgs(low, CONFIG.minCollateral);
      });
    });

    describe("when the collateral is below the model's smallest at the game's cover gas price", () => {
      it("reverts with JobMarketCollateralTooLow(have, need), need the larger of LibDisputeCost.minCollateral and minCollateral", async () => {
        const { model } = mnistModel();
        const shape = modelShape(model);
        for (const [coverGasPrice, gameRules] of [
          [ethers.parseUnits("100", "gwei"), true], // the game asks for more than the market's floor: its need wins
          [1n, false], // the game asks for less: the floor wins
        ] as const) {
          const { market, game, requester, registry } = await deployMarket(coverGasPrice);
          expect(await market.disputeGame()).to.equal(await game.getAddress());
          const gameNeed = await game.minCollateralFor(shape.layerCount, shape.maxWidth);
          expect(gameNeed > CONFIG.minCollateral, `the game's need ${gameNeed} at ${coverGasPrice} wei/gas`).to.equal(gameRules);
          const need = gameRules ? gameNeed : CONFIG.minCollateral;
          const expiresAt = (await time.latest()) + 3600;
          const post = (collateral: bigint) => market.connect(requester).postJob(1n, INPUT, ZERO, 0, collateral, expiresAt, { value: FEE });
          await expect(post(need - 1n)).to.be.revertedWithCustomError(market, "JobMarketCollateralTooLow").withArgs(need - 1n, need);
          expect((await jobFrom(post(need))).job.collateral).to.equal(need);
          // A change of the game's parameters after binding does not reach the market: it read them once.
          await game.setCosts(coverGasPrice * 1000n, 5_000n);
          expect((await jobFrom(post(need))).job.collateral).to.equal(need);
          expect(await registry.modelCount()).to.equal(1n);
        }
      });
    });

    describe("when the callback gas limit is above maxCallbackGasLimit", () => {
      it("reverts with JobMarketCallbackGasTooHigh(have, max)", async () => {
        const { market, requester, other, modelId } = await loadFixture(stakedMarket);
        const expiresAt = (await time.latest()) + 3600;
        const high = CONFIG.maxCallbackGasLimit + 1;
        await expect(market.connect(requester).postJob(modelId, INPUT, other.address, high, COLLATERAL, expiresAt, { value: FEE }))
          .to.be.revertedWithCustomError(market, "JobMarketCallbackGasTooHigh")
          .withArgs(high, CONFIG.maxCallbackGasLimit);
      });
    });

    describe("when the expiry is not in the future", () => {
      it("reverts with JobMarketExpiryInPast(expiresAt, now) for now and for the past", async () => {
        const { market, requester, modelId } = await loadFixture(stakedMarket);
        for (const back of [0, 5]) {
          const now = (await time.latest()) + 10;
          const expiresAt = now - back;
          await time.setNextBlockTimestamp(now);
          await expect(
            market.connect(requester).postJob(modelId, INPUT, ZERO, 0, COLLATERAL, expiresAt, { value: FEE, gasLimit: 1_000_000 })
          )
            .to.be.revertedWithCustomError(market, "JobMarketExpiryInPast")
            .withArgs(expiresAt, now);
        }
      });
    });

    describe("when the model is retired", () => {
      it("reverts with JobMarketModelRetired(modelId)", async () => {
        const { market, registry, requester, modelId } = await loadFixture(stakedMarket);
        await registry.retireModel(modelId);
        const expiresAt = (await time.latest()) + 3600;
        await expect(market.connect(requester).postJob(modelId, INPUT, ZERO, 0, COLLATERAL, expiresAt, { value: FEE }))
          .to.be.revertedWithCustomError(market, "JobMarketModelRetired")
          .withArgs(modelId);
      });
    });

    describe("when the model is unknown", () => {
      it("bubbles the registry's ModelRegistryUnknownModel(modelId)", async () => {
        const { market, registry, requester } = await loadFixture(stakedMarket);
        const expiresAt = (await time.latest()) + 3600;
        await expect(market.connect(requester).postJob(2, INPUT, ZERO, 0, COLLATERAL, expiresAt, { value: FEE }))
          .to.be.revertedWithCustomError(registry, "ModelRegistryUnknownModel")
          .withArgs(2);
      });
    });

    describe("when the input does not have the model's input size", () => {
      it("reverts with JobMarketInputLength(modelId, have, need)", async () => {
        const { market, requester, modelId } = await loadFixture(stakedMarket);
        const expiresAt = (await time.latest()) + 3600;
        for (const length of [0, 783, 785]) {
          await expect(market.connect(requester).postJob(modelId, new Uint8Array(length), ZERO, 0, COLLATERAL, expiresAt, { value: FEE }))
            .to.be.revertedWithCustomError(market, "JobMarketInputLength")
            .withArgs(modelId, length, 784);
        }
      });
    });
  });

  describe("cancelJob", () => {
    describe("when the requester cancels an open job", () => {
      it("emits JobCancelled, credits the fee back and stores the cancelled job", async () => {
        const { market, requester, jobId, job } = await loadFixture(posted);
        const tx = market.connect(requester).cancelJob(jobId, job);
        await expect(tx).to.emit(market, "JobCancelled").withArgs(jobId);
        await expect(tx).to.changeEtherBalances([market, requester], [0, 0]);
        expect(await market.credits(requester.address)).to.equal(FEE);
        const cancelled = (await jobFrom(tx, job)).job;
        expect(cancelled.status).to.equal(JobStatus.Cancelled);
        expect(await market.jobHash(jobId)).to.equal(hashJob(cancelled));
        await expectEscrowBalanced(market);
      });
    });

    describe("when the caller is not the requester", () => {
      it("reverts with JobMarketNotRequester(jobId, caller, requester)", async () => {
        const { market, other, requester, jobId, job } = await loadFixture(posted);
        await expect(market.connect(other).cancelJob(jobId, job))
          .to.be.revertedWithCustomError(market, "JobMarketNotRequester")
          .withArgs(jobId, other.address, requester.address);
      });
    });

    describe("when the job is already taken", () => {
      it("reverts with JobMarketWrongStatus(jobId, Taken, Open)", async () => {
        const { market, requester, jobId, job } = await loadFixture(taken);
        await expect(market.connect(requester).cancelJob(jobId, job))
          .to.be.revertedWithCustomError(market, "JobMarketWrongStatus")
          .withArgs(jobId, JobStatus.Taken, JobStatus.Open);
      });
    });
  });

  describe("expireJob", () => {
    describe("when the job has not expired yet", () => {
      it("reverts with JobMarketNotExpired before and at expiresAt", async () => {
        const { market, other, jobId, job, expiresAt } = await loadFixture(posted);
        for (const t of [expiresAt - 1, expiresAt]) {
          await time.setNextBlockTimestamp(t);
          await expect(market.connect(other).expireJob(jobId, job, { gasLimit: 500_000 }))
            .to.be.revertedWithCustomError(market, "JobMarketNotExpired")
            .withArgs(jobId, expiresAt, t);
        }
      });
    });

    describe("when the expiry has passed", () => {
      it("lets anyone expire it: JobExpired, fee credited to the requester", async () => {
        const { market, other, requester, jobId, job, expiresAt } = await loadFixture(posted);
        await time.setNextBlockTimestamp(expiresAt + 1);
        const tx = market.connect(other).expireJob(jobId, job);
        await expect(tx).to.emit(market, "JobExpired").withArgs(jobId);
        expect(await market.credits(requester.address)).to.equal(FEE);
        const expired = (await jobFrom(tx, job)).job;
        expect(expired.status).to.equal(JobStatus.Expired);
        expect(await market.jobHash(jobId)).to.equal(hashJob(expired));
        await expectEscrowBalanced(market);
      });
    });

    describe("when the job is not open", () => {
      it("reverts with JobMarketWrongStatus(jobId, Taken, Open) even after expiry", async () => {
        const { market, jobId, job, expiresAt } = await loadFixture(taken);
        await time.increaseTo(expiresAt + 1);
        await expect(market.expireJob(jobId, job))
          .to.be.revertedWithCustomError(market, "JobMarketWrongStatus")
          .withArgs(jobId, JobStatus.Taken, JobStatus.Open);
      });
    });
  });

  describe("takeJob", () => {
    describe("when a staked node takes an open job", () => {
      it("emits JobTaken(jobId, node, 1, now + deliveryWindow) and locks the collateral", async () => {
        const { market, staking, node, jobId, job } = await loadFixture(posted);
        const now = (await time.latest()) + 5;
        await time.setNextBlockTimestamp(now);
        const tx = market.connect(node).takeJob(jobId, job);
        await expect(tx)
          .to.emit(market, "JobTaken")
          .withArgs(jobId, node.address, 1, now + CONFIG.deliveryWindow);
        await expect(tx).to.emit(staking, "CollateralLocked").withArgs(node.address, COLLATERAL, COLLATERAL);
        const [free, locked] = await staking.accountOf(node.address);
        expect([free, locked]).to.deep.equal([NODE_STAKE - COLLATERAL, COLLATERAL]);
        const took = (await jobFrom(tx, job)).job;
        expect(took).to.include({
          status: JobStatus.Taken,
          node: node.address,
          attempt: 1n,
          deadline: BigInt(now + CONFIG.deliveryWindow),
        });
        expect(await market.jobHash(jobId)).to.equal(hashJob(took));
      });

      it("can take it at expiresAt exactly", async () => {
        const { market, node, jobId, job, expiresAt } = await loadFixture(posted);
        await time.setNextBlockTimestamp(expiresAt);
        await expect(market.connect(node).takeJob(jobId, job)).to.emit(market, "JobTaken");
      });
    });

    describe("when the node has no free stake", () => {
      it("bubbles StakingInsufficientFreeStake(node, have, need) from Staking", async () => {
        const { market, staking, other, jobId, job } = await loadFixture(posted);
        await expect(market.connect(other).takeJob(jobId, job))
          .to.be.revertedWithCustomError(staking, "StakingInsufficientFreeStake")
          .withArgs(other.address, 0, COLLATERAL);
        await staking.connect(other).stake({ value: COLLATERAL - 1n });
        await expect(market.connect(other).takeJob(jobId, job))
          .to.be.revertedWithCustomError(staking, "StakingInsufficientFreeStake")
          .withArgs(other.address, COLLATERAL - 1n, COLLATERAL);
      });
    });

    describe("when the job has expired", () => {
      it("reverts with JobMarketJobExpired(jobId, expiresAt, now)", async () => {
        const { market, node, jobId, job, expiresAt } = await loadFixture(posted);
        await time.setNextBlockTimestamp(expiresAt + 1);
        await expect(market.connect(node).takeJob(jobId, job, { gasLimit: 500_000 }))
          .to.be.revertedWithCustomError(market, "JobMarketJobExpired")
          .withArgs(jobId, expiresAt, expiresAt + 1);
      });
    });

    describe("when the job is already taken", () => {
      it("reverts with JobMarketWrongStatus(jobId, Taken, Open)", async () => {
        const { market, other, staking, jobId, job } = await loadFixture(taken);
        await staking.connect(other).stake({ value: NODE_STAKE });
        await expect(market.connect(other).takeJob(jobId, job))
          .to.be.revertedWithCustomError(market, "JobMarketWrongStatus")
          .withArgs(jobId, JobStatus.Taken, JobStatus.Open);
      });
    });
    describe("issue 10 item 2: when the node lost a dispute on this job", () => {
      it("reverts with JobMarketNodeBarred(jobId, node); another node takes it (attempt 2)", async () => {
        const { market, staking, game, node, other, requester, jobId, job } = await loadFixture(submitted);
        await game.hold(jobId, job);
        const lost = game.nodeLost(jobId, job, requester.address);
        await expect(lost).to.emit(market, "NodeBarred").withArgs(jobId, node.address);
        const { job: reopened } = await jobFrom(lost, job);
        expect(reopened.status).to.equal(JobStatus.Open);
        expect(await market.barred(jobId, node.address)).to.equal(true);
        expect(await market.barred(jobId, other.address)).to.equal(false);
        // The node still has free stake enough for the collateral: only the bar stops it.
        const [free] = await staking.accountOf(node.address);
        expect(free).to.be.greaterThanOrEqual(COLLATERAL);
        await expect(market.connect(node).takeJob(jobId, reopened))
          .to.be.revertedWithCustomError(market, "JobMarketNodeBarred")
          .withArgs(jobId, node.address);
        await staking.connect(other).stake({ value: NODE_STAKE });
        await expect(market.connect(other).takeJob(jobId, reopened))
          .to.emit(market, "JobTaken")
          .withArgs(jobId, other.address, 2, anyValue);
      });

      it("bars it from that job only: it takes another job", async () => {
        const { market, game, node, requester, modelId, jobId, job } = await loadFixture(submitted);
        await game.hold(jobId, job);
        await game.nodeLost(jobId, job, requester.address);
        const expiresAt = (await time.latest()) + 3600;
        const { jobId: nextId, job: next } = await jobFrom(
          market.connect(requester).postJob(modelId, INPUT, ZERO, 0, COLLATERAL, expiresAt, { value: FEE })
        );
        expect(await market.barred(nextId, node.address)).to.equal(false);
        await expect(market.connect(node).takeJob(nextId, next)).to.emit(market, "JobTaken").withArgs(nextId, node.address, 1, anyValue);
      });

      it("does not bar a node that only missed its delivery deadline", async () => {
        const { market, node, jobId, job } = await loadFixture(taken);
        await time.increaseTo(job.deadline + 1n);
        const { job: reopened } = await jobFrom(market.reclaimJob(jobId, job), job);
        expect(await market.barred(jobId, node.address)).to.equal(false);
        await expect(market.connect(node).takeJob(jobId, reopened)).to.emit(market, "JobTaken").withArgs(jobId, node.address, 2, anyValue);
      });
    });
  });

  describe("submitResult", () => {
    describe("when the node submits the honest result in time", () => {
      it("emits ResultSubmitted with the output, readable at once (soft result)", async () => {
        const { market, node, jobId, job } = await loadFixture(taken);
        const r = honest();
        const now = (await time.latest()) + 3;
        await time.setNextBlockTimestamp(now);
        const tx = await market.connect(node).submitResult(jobId, job, r.output, r.traceRoot, r.inputProof, r.outputProof);
        const outputRoot = bytesRoot(r.output);
        await expect(tx)
          .to.emit(market, "ResultSubmitted")
          .withArgs(jobId, node.address, 1, r.traceRoot, outputRoot, now + CONFIG.challengeWindow, toHex(r.output));
        // The soft result: decoded from the receipt, before the challenge window has passed.
        const receipt = (await tx.wait())!;
        const log = receipt.logs.map((l) => market.interface.parseLog(l)).find((p) => p?.name === "ResultSubmitted")!;
        expect(ethers.getBytes(log.args.output)).to.deep.equal(r.output);
        expect(await time.latest()).to.be.lessThan(now + CONFIG.challengeWindow);
        const done = (await jobFrom(tx, job)).job;
        expect(done).to.include({ status: JobStatus.Submitted, traceRoot: r.traceRoot, outputRoot });
        expect(await market.jobHash(jobId)).to.equal(hashJob(done));
      });

      it("accepts it at the deadline exactly", async () => {
        const { market, node, jobId, job } = await loadFixture(taken);
        const r = honest();
        await time.setNextBlockTimestamp(job.deadline);
        await expect(market.connect(node).submitResult(jobId, job, r.output, r.traceRoot, r.inputProof, r.outputProof)).to.emit(
          market,
          "ResultSubmitted"
        );
      });
    });

    describe("when the caller is not the node", () => {
      it("reverts with JobMarketNotNode(jobId, caller, node)", async () => {
        const { market, node, other, jobId, job } = await loadFixture(taken);
        const r = honest();
        await expect(market.connect(other).submitResult(jobId, job, r.output, r.traceRoot, r.inputProof, r.outputProof))
          .to.be.revertedWithCustomError(market, "JobMarketNotNode")
          .withArgs(jobId, other.address, node.address);
      });
    });

    describe("when the delivery deadline has passed", () => {
      it("reverts with JobMarketDeadlinePassed(jobId, deadline, now)", async () => {
        const { market, node, jobId, job } = await loadFixture(taken);
        const r = honest();
        const now = Number(job.deadline) + 1;
        await time.setNextBlockTimestamp(now);
        await expect(
          market.connect(node).submitResult(jobId, job, r.output, r.traceRoot, r.inputProof, r.outputProof, { gasLimit: 1_000_000 })
        )
          .to.be.revertedWithCustomError(market, "JobMarketDeadlinePassed")
          .withArgs(jobId, job.deadline, now);
      });
    });

    describe("when the output has the wrong length", () => {
      it("reverts with JobMarketOutputLength(jobId, have, need)", async () => {
        const { market, node, jobId, job } = await loadFixture(taken);
        const r = honest();
        for (const out of [r.output.subarray(0, 9), new Uint8Array(11)]) {
          await expect(market.connect(node).submitResult(jobId, job, out, r.traceRoot, r.inputProof, r.outputProof))
            .to.be.revertedWithCustomError(market, "JobMarketOutputLength")
            .withArgs(jobId, out.length, 10);
        }
      });
    });

    describe("when any bit of the submission is flipped", () => {
      it("rejects a flipped input proof with JobMarketInvalidInputProof(jobId, traceRoot)", async () => {
        const { market, node, jobId, job } = await loadFixture(taken);
        const r = honest();
        for (let i = 0; i < r.inputProof.length; i++) {
          const proof = r.inputProof.map((p, k) => (k === i ? flip(p, 31) : p));
          await expect(market.connect(node).submitResult(jobId, job, r.output, r.traceRoot, proof, r.outputProof))
            .to.be.revertedWithCustomError(market, "JobMarketInvalidInputProof")
            .withArgs(jobId, r.traceRoot);
        }
        // A proof of the wrong length fails too.
        await expect(market.connect(node).submitResult(jobId, job, r.output, r.traceRoot, r.inputProof.slice(1), r.outputProof))
          .to.be.revertedWithCustomError(market, "JobMarketInvalidInputProof")
          .withArgs(jobId, r.traceRoot);
      });

      it("rejects a flipped output proof with JobMarketInvalidOutputProof(jobId, traceRoot, outputRoot)", async () => {
        const { market, node, jobId, job } = await loadFixture(taken);
        const r = honest();
        for (let i = 0; i < r.outputProof.length; i++) {
          const proof = r.outputProof.map((p, k) => (k === i ? flip(p, 0) : p));
          await expect(market.connect(node).submitResult(jobId, job, r.output, r.traceRoot, r.inputProof, proof))
            .to.be.revertedWithCustomError(market, "JobMarketInvalidOutputProof")
            .withArgs(jobId, r.traceRoot, bytesRoot(r.output));
        }
      });

      it("rejects a flipped trace root with JobMarketInvalidInputProof(jobId, flippedRoot)", async () => {
        const { market, node, jobId, job } = await loadFixture(taken);
        const r = honest();
        const bad = flip(r.traceRoot, 17);
        await expect(market.connect(node).submitResult(jobId, job, r.output, bad, r.inputProof, r.outputProof))
          .to.be.revertedWithCustomError(market, "JobMarketInvalidInputProof")
          .withArgs(jobId, bad);
      });

      it("rejects a flipped output byte with JobMarketInvalidOutputProof(jobId, traceRoot, rootOfFlipped)", async () => {
        const { market, node, jobId, job } = await loadFixture(taken);
        const r = honest();
        for (const at of [0, 9]) {
          const out = Uint8Array.from(r.output);
          out[at] ^= 0x80;
          await expect(market.connect(node).submitResult(jobId, job, out, r.traceRoot, r.inputProof, r.outputProof))
            .to.be.revertedWithCustomError(market, "JobMarketInvalidOutputProof")
            .withArgs(jobId, r.traceRoot, bytesRoot(out));
        }
      });
    });

    describe("when the job is not taken", () => {
      it("reverts with JobMarketWrongStatus(jobId, Open, Taken)", async () => {
        const { market, node, jobId, job } = await loadFixture(posted);
        const r = honest();
        await expect(market.connect(node).submitResult(jobId, job, r.output, r.traceRoot, r.inputProof, r.outputProof))
          .to.be.revertedWithCustomError(market, "JobMarketWrongStatus")
          .withArgs(jobId, JobStatus.Open, JobStatus.Taken);
      });
    });
  });

  describe("reclaimJob", () => {
    describe("when the delivery deadline has not passed", () => {
      it("reverts with JobMarketDeadlineNotReached before and at the deadline", async () => {
        const { market, other, jobId, job } = await loadFixture(taken);
        for (const t of [Number(job.deadline) - 1, Number(job.deadline)]) {
          await time.setNextBlockTimestamp(t);
          await expect(market.connect(other).reclaimJob(jobId, job, { gasLimit: 500_000 }))
            .to.be.revertedWithCustomError(market, "JobMarketDeadlineNotReached")
            .withArgs(jobId, job.deadline, t);
        }
      });
    });

    describe("when the node missed its deadline", () => {
      it("forfeits the collateral to the requester and reopens the job until now + reopenWindow", async () => {
        const { market, staking, node, other, requester, jobId, job } = await loadFixture(taken);
        const now = Number(job.deadline) + 1;
        await time.setNextBlockTimestamp(now);
        const tx = market.connect(other).reclaimJob(jobId, job);
        const expiresAt = now + CONFIG.reopenWindow; // later than the original expiry
        expect(BigInt(expiresAt)).to.be.greaterThan(job.expiresAt);
        await expect(tx).to.emit(market, "JobReopened").withArgs(jobId, node.address, expiresAt, false);
        await expect(tx).to.emit(staking, "CollateralForfeited").withArgs(node.address, requester.address, COLLATERAL);
        await expect(tx).to.emit(market, "RequesterCompensated").withArgs(jobId, COLLATERAL, COLLATERAL);
        expect(await staking.credits(requester.address)).to.equal(COLLATERAL);
        expect(await market.compensation(jobId)).to.equal(COLLATERAL);
        expect(await staking.accountOf(node.address)).to.deep.equal([NODE_STAKE - COLLATERAL, 0n, 0n, 0n]);
        const reopened = (await jobFrom(tx, job)).job;
        expect(reopened).to.include({ status: JobStatus.Open, node: ZERO, deadline: 0n, attempt: 1n, expiresAt: BigInt(expiresAt) });
        expect(reopened.traceRoot).to.equal(ZERO_HASH);
        expect(await market.jobHash(jobId)).to.equal(hashJob(reopened));
        await expectEscrowBalanced(market, staking);
      });

      it("keeps a later original expiry", async () => {
        const { market, node, requester, modelId } = await loadFixture(stakedMarket);
        const far = (await time.latest()) + 10 * 86_400;
        let { jobId, job } = await jobFrom(market.connect(requester).postJob(modelId, INPUT, ZERO, 0, COLLATERAL, far, { value: FEE }));
        ({ job } = await jobFrom(market.connect(node).takeJob(jobId, job), job));
        await time.increaseTo(job.deadline + 1n);
        await expect(market.reclaimJob(jobId, job)).to.emit(market, "JobReopened").withArgs(jobId, node.address, far, false);
      });

      it("lets a second node take it: attempt 2", async () => {
        const { market, staking, other, jobId, job } = await loadFixture(taken);
        await time.increaseTo(job.deadline + 1n);
        const { job: reopened } = await jobFrom(market.reclaimJob(jobId, job), job);
        await staking.connect(other).stake({ value: NODE_STAKE });
        const now = (await time.latest()) + 1;
        await time.setNextBlockTimestamp(now);
        const tx = market.connect(other).takeJob(jobId, reopened);
        await expect(tx)
          .to.emit(market, "JobTaken")
          .withArgs(jobId, other.address, 2, now + CONFIG.deliveryWindow);
        const retaken = (await jobFrom(tx, reopened)).job;
        const r = honest();
        const { job: done } = await jobFrom(
          market.connect(other).submitResult(jobId, retaken, r.output, r.traceRoot, r.inputProof, r.outputProof),
          retaken
        );
        await time.increaseTo(done.deadline);
        await expect(market.finalize(jobId, done, r.output)).to.emit(market, "JobFinalized").withArgs(jobId, other.address, 2, true, true);
        await expectEscrowBalanced(market, staking);
      });
    });

    describe("when the job is submitted", () => {
      it("reverts with JobMarketWrongStatus(jobId, Submitted, Taken)", async () => {
        const { market, jobId, job } = await loadFixture(submitted);
        await time.increase(CONFIG.deliveryWindow + 1);
        await expect(market.reclaimJob(jobId, job))
          .to.be.revertedWithCustomError(market, "JobMarketWrongStatus")
          .withArgs(jobId, JobStatus.Submitted, JobStatus.Taken);
      });
    });
  });

  describe("finalize", () => {
    describe("when the challenge window is still open", () => {
      it("reverts with JobMarketDeadlineNotReached(jobId, deadline, now)", async () => {
        const { market, jobId, job, r } = await loadFixture(submitted);
        const now = Number(job.deadline) - 1;
        await time.setNextBlockTimestamp(now);
        await expect(market.finalize(jobId, job, r.output, { gasLimit: 500_000 }))
          .to.be.revertedWithCustomError(market, "JobMarketDeadlineNotReached")
          .withArgs(jobId, job.deadline, now);
      });
    });

    describe("when a dispute is open", () => {
      it("reverts with JobMarketDisputesOpen(jobId, attempt, open) until every game is released", async () => {
        const { market, game, jobId, job, r } = await loadFixture(disputedTwice);
        await time.increaseTo(job.deadline);
        await expect(market.finalize(jobId, job, r.output))
          .to.be.revertedWithCustomError(market, "JobMarketDisputesOpen")
          .withArgs(jobId, 1, 2);
        await game.release(jobId, 1);
        await expect(market.finalize(jobId, job, r.output))
          .to.be.revertedWithCustomError(market, "JobMarketDisputesOpen")
          .withArgs(jobId, 1, 1);
        await game.release(jobId, 1);
        await expect(market.finalize(jobId, job, r.output)).to.emit(market, "JobFinalized").withArgs(jobId, job.node, 1, true, true);
      });
    });

    describe("when the window has passed with no dispute", () => {
      it("pays the node the fee, unlocks its collateral and emits JobFinalized", async () => {
        const { market, staking, node, other, jobId, job, r } = await loadFixture(submitted);
        await time.setNextBlockTimestamp(job.deadline); // at the deadline exactly
        const tx = market.connect(other).finalize(jobId, job, r.output);
        await expect(tx).to.emit(market, "JobFinalized").withArgs(jobId, node.address, 1, true, true);
        await expect(tx).to.changeEtherBalances([market, node, other], [-FEE, FEE, 0]);
        await expect(tx).to.emit(staking, "CollateralUnlocked").withArgs(node.address, COLLATERAL, 0);
        await expect(tx).not.to.emit(market, "FeeCredited");
        expect(await staking.accountOf(node.address)).to.deep.equal([NODE_STAKE, 0n, 0n, 0n]);
        const done = (await jobFrom(tx, job)).job;
        expect(done.status).to.equal(JobStatus.Finalized);
        expect(await market.jobHash(jobId)).to.equal(hashJob(done));
        await expectEscrowBalanced(market, staking);
      });

      it("checks only the output's length when the job has no consumer", async () => {
        const { market, node, jobId, job } = await loadFixture(submitted);
        await time.increaseTo(job.deadline);
        // The size is always checked (issue 10 item 3): a 4-byte output is refused ...
        await expect(market.finalize(jobId, job, "0xdeadbeef"))
          .to.be.revertedWithCustomError(market, "JobMarketOutputLength")
          .withArgs(jobId, 4, 10);
        // ... but the content is not compared with the output root when no consumer reads it.
        const other = new Uint8Array(10).fill(0xde);
        expect(bytesRoot(other)).not.to.equal(job.outputRoot);
        await expect(market.finalize(jobId, job, other))
          .to.emit(market, "JobFinalized")
          .withArgs(jobId, node.address, 1, true, true);
      });
    });

    describe("when the job has a consumer", () => {
      it("reverts with JobMarketOutputMismatch(jobId, have, outputRoot) for another output", async () => {
        const { market, jobId, job, r } = await loadFixture(submittedWithConsumer);
        await time.increaseTo(job.deadline);
        const wrong = Uint8Array.from(r.output);
        wrong[3] ^= 1;
        await expect(market.finalize(jobId, job, wrong))
          .to.be.revertedWithCustomError(market, "JobMarketOutputMismatch")
          .withArgs(jobId, bytesRoot(wrong), job.outputRoot);
        // An empty output fails on its size before its root is computed.
        await expect(market.finalize(jobId, job, "0x"))
          .to.be.revertedWithCustomError(market, "JobMarketOutputLength")
          .withArgs(jobId, 0, 10);
        await expect(market.finalize(jobId, job, r.output)).to.emit(market, "JobFinalized").withArgs(jobId, job.node, 1, true, true);
      });
    });

    describe("when the finaliser supplies too little gas for the callback", () => {
      it("reverts with JobMarketInsufficientGas(gasLeft, limit + limit/63 + reserve)", async () => {
        // The attack itself is in adversarial/starvedCallback.test.ts; only the gas left is unpredictable.
        const { market, jobId, job, r } = await loadFixture(submittedWithConsumer);
        await time.increaseTo(job.deadline);
        const limit = Number(job.callbackGasLimit);
        const need = limit + Math.floor(limit / 63) + 20_000;
        await expect(market.finalize(jobId, job, r.output, { gasLimit: 120_000 }))
          .to.be.revertedWithCustomError(market, "JobMarketInsufficientGas")
          .withArgs(anyValue, need);
        expect(await market.jobHash(jobId)).to.equal(hashJob(job));
      });
    });

    describe("when the job is already finalised", () => {
      it("reverts with JobMarketWrongStatus(jobId, Finalized, Submitted)", async () => {
        const { market, jobId, job, r } = await loadFixture(submitted);
        await time.increaseTo(job.deadline);
        const { job: done } = await jobFrom(market.finalize(jobId, job, r.output), job);
        await expect(market.finalize(jobId, done, r.output))
          .to.be.revertedWithCustomError(market, "JobMarketWrongStatus")
          .withArgs(jobId, JobStatus.Finalized, JobStatus.Submitted);
      });
    });
  });

  describe("withdraw", () => {
    describe("when nothing is owed", () => {
      it("reverts with JobMarketNothingToWithdraw(account)", async () => {
        const { market, other } = await loadFixture(posted);
        await expect(market.connect(other).withdraw())
          .to.be.revertedWithCustomError(market, "JobMarketNothingToWithdraw")
          .withArgs(other.address);
      });
    });

    describe("when credits are owed", () => {
      it("pays them out once and emits Withdrawn(account, amount)", async () => {
        const { market, requester, jobId, job } = await loadFixture(posted);
        await market.connect(requester).cancelJob(jobId, job);
        const tx = market.connect(requester).withdraw();
        await expect(tx).to.emit(market, "Withdrawn").withArgs(requester.address, FEE);
        await expect(tx).to.changeEtherBalances([market, requester], [-FEE, FEE]);
        expect(await market.credits(requester.address)).to.equal(0);
        expect(await ethers.provider.getBalance(market)).to.equal(0);
        await expect(market.connect(requester).withdraw())
          .to.be.revertedWithCustomError(market, "JobMarketNothingToWithdraw")
          .withArgs(requester.address);
      });
    });

    describe("when the account refuses the transfer", () => {
      it("reverts with JobMarketTransferFailed(account, amount) and keeps the credit", async () => {
        const { market, attacker, nodeAddress } = await loadFixture(rejectingNodeCredited);
        expect(await market.credits(nodeAddress)).to.equal(FEE);
        await expect(attacker.execute(await market.getAddress(), 0, market.interface.encodeFunctionData("withdraw")))
          .to.be.revertedWithCustomError(market, "JobMarketTransferFailed")
          .withArgs(nodeAddress, FEE);
        expect(await market.credits(nodeAddress)).to.equal(FEE);
        await expectEscrowBalanced(market);
      });
    });
  });

  describe("holdFinality", () => {
    describe("when the caller is not the dispute game", () => {
      it("reverts with JobMarketUnauthorized(caller)", async () => {
        const { market, other, jobId, job } = await loadFixture(submitted);
        await expect(market.connect(other).holdFinality(jobId, job))
          .to.be.revertedWithCustomError(market, "JobMarketUnauthorized")
          .withArgs(other.address);
      });
    });

    describe("when the game holds a submitted result inside its window", () => {
      it("counts the open games of the attempt and emits FinalityHeld", async () => {
        const { market, game, jobId, job } = await loadFixture(submitted);
        await expect(game.hold(jobId, job)).to.emit(market, "FinalityHeld").withArgs(jobId, 1, 1);
        await expect(game.hold(jobId, job)).to.emit(market, "FinalityHeld").withArgs(jobId, 1, 2);
        expect(await market.openDisputes(jobId, 1)).to.equal(2);
        expect(await market.openDisputes(jobId, 2)).to.equal(0);
      });
    });

    describe("when the challenge window has passed", () => {
      it("reverts with JobMarketDeadlinePassed(jobId, deadline, now) from the deadline on", async () => {
        const { market, game, jobId, job } = await loadFixture(submitted);
        await time.setNextBlockTimestamp(job.deadline);
        await expect(game.hold(jobId, job, { gasLimit: 500_000 }))
          .to.be.revertedWithCustomError(market, "JobMarketDeadlinePassed")
          .withArgs(jobId, job.deadline, job.deadline);
      });
    });

    describe("when the job is not submitted", () => {
      it("reverts with JobMarketWrongStatus(jobId, Taken, Submitted)", async () => {
        const { market, game, jobId, job } = await loadFixture(taken);
        await expect(game.hold(jobId, job))
          .to.be.revertedWithCustomError(market, "JobMarketWrongStatus")
          .withArgs(jobId, JobStatus.Taken, JobStatus.Submitted);
      });
    });
  });

  describe("releaseFinality", () => {
    describe("when the caller is not the dispute game", () => {
      it("reverts with JobMarketUnauthorized(caller)", async () => {
        const { market, other, jobId } = await loadFixture(disputedTwice);
        await expect(market.connect(other).releaseFinality(jobId, 1))
          .to.be.revertedWithCustomError(market, "JobMarketUnauthorized")
          .withArgs(other.address);
      });
    });

    describe("when a game is open", () => {
      it("releases it and emits FinalityReleased(jobId, attempt, open)", async () => {
        const { market, game, jobId } = await loadFixture(disputedTwice);
        await expect(game.release(jobId, 1)).to.emit(market, "FinalityReleased").withArgs(jobId, 1, 1);
        expect(await market.openDisputes(jobId, 1)).to.equal(1);
      });
    });

    describe("when no game is open on the attempt", () => {
      it("reverts with JobMarketNoOpenDispute(jobId, attempt)", async () => {
        const { market, game, jobId } = await loadFixture(submitted);
        await expect(game.release(jobId, 1)).to.be.revertedWithCustomError(market, "JobMarketNoOpenDispute").withArgs(jobId, 1);
        await expect(game.release(jobId, 2)).to.be.revertedWithCustomError(market, "JobMarketNoOpenDispute").withArgs(jobId, 2);
      });
    });
  });

  describe("rejectResult", () => {
    describe("when the caller is not the dispute game", () => {
      it("reverts with JobMarketUnauthorized(caller)", async () => {
        const { market, other, jobId, job } = await loadFixture(disputedTwice);
        await expect(market.connect(other).rejectResult(jobId, job))
          .to.be.revertedWithCustomError(market, "JobMarketUnauthorized")
          .withArgs(other.address);
      });
    });

    describe("when no game is open on the attempt", () => {
      it("reverts with JobMarketNoOpenDispute(jobId, attempt)", async () => {
        const { market, game, requester, jobId, job } = await loadFixture(submitted);
        await expect(game.nodeLost(jobId, job, requester.address))
          .to.be.revertedWithCustomError(market, "JobMarketNoOpenDispute")
          .withArgs(jobId, 1);
      });
    });

    describe("when the node loses the first of two games", () => {
      it("reopens the job once (byDispute); the second rejection returns false and only releases", async () => {
        const { market, staking, game, node, requester, jobId, job } = await loadFixture(disputedTwice);
        expect(await game.nodeLost.staticCall(jobId, job, requester.address)).to.equal(true);
        const now = (await time.latest()) + 1;
        await time.setNextBlockTimestamp(now);
        const tx = game.nodeLost(jobId, job, requester.address);
        const expiresAt = BigInt(Math.max(Number(job.expiresAt), now + CONFIG.reopenWindow));
        await expect(tx).to.emit(market, "FinalityReleased").withArgs(jobId, 1, 1);
        await expect(tx).to.emit(market, "JobReopened").withArgs(jobId, node.address, expiresAt, true);
        await expect(tx).to.emit(staking, "StakeSlashed").withArgs(node.address, requester.address, COLLATERAL);
        await expect(tx).to.emit(market, "NodeBarred").withArgs(jobId, node.address);
        await expect(tx).to.emit(market, "RequesterCompensated").withArgs(jobId, COLLATERAL, COLLATERAL);
        expect(await market.compensation(jobId)).to.equal(COLLATERAL);
        const reopened = (await jobFrom(tx, job)).job;
        expect(reopened).to.include({ status: JobStatus.Open, node: ZERO, attempt: 1n, expiresAt, deadline: 0n });
        expect(await market.jobHash(jobId)).to.equal(hashJob(reopened));

        // The second game on the same attempt, with the job as it was, cannot reopen again.
        expect(await game.nodeLost.staticCall(jobId, job, requester.address)).to.equal(false);
        const second = game.nodeLost(jobId, job, requester.address);
        await expect(second).to.emit(market, "FinalityReleased").withArgs(jobId, 1, 0);
        await expect(second).not.to.emit(market, "JobReopened");
        await expect(second).not.to.emit(staking, "StakeSlashed");
        await expect(second).not.to.emit(market, "NodeBarred");
        await expect(second).not.to.emit(market, "RequesterCompensated");
        expect(await market.compensation(jobId)).to.equal(COLLATERAL);
        expect(await market.jobHash(jobId)).to.equal(hashJob(reopened));
        expect(await market.openDisputes(jobId, 1)).to.equal(0);
        await expectEscrowBalanced(market, staking);
      });
    });
  });

  describe("recordCompensation", () => {
    describe("when the caller is not the dispute game", () => {
      it("reverts with JobMarketUnauthorized(caller)", async () => {
        const { market, requester, jobId } = await loadFixture(submitted);
        await expect(market.connect(requester).recordCompensation(jobId, 1n))
          .to.be.revertedWithCustomError(market, "JobMarketUnauthorized")
          .withArgs(requester.address);
        expect(await market.compensation(jobId)).to.equal(0);
      });
    });

    describe("when the node is slashed to someone other than the requester", () => {
      it("records no compensation for the job", async () => {
        const { market, staking, game, node, other, jobId, job } = await loadFixture(submitted);
        await game.hold(jobId, job);
        const tx = game.nodeLost(jobId, job, other.address);
        await expect(tx).to.emit(staking, "StakeSlashed").withArgs(node.address, other.address, COLLATERAL);
        await expect(tx).not.to.emit(market, "RequesterCompensated");
        expect(await market.compensation(jobId)).to.equal(0);
      });
    });

    describe("when a job's requester is compensated more than once", () => {
      it("adds up the forfeits and slashes of every attempt: RequesterCompensated(jobId, amount, total)", async () => {
        const { market, staking, game, node, other, requester, jobId, job } = await loadFixture(taken);
        await time.increaseTo(job.deadline + 1n);
        let { job: j } = await jobFrom(market.reclaimJob(jobId, job), job);
        await staking.connect(other).stake({ value: NODE_STAKE });
        ({ job: j } = await jobFrom(market.connect(other).takeJob(jobId, j), j));
        const r = honest();
        ({ job: j } = await jobFrom(market.connect(other).submitResult(jobId, j, r.output, r.traceRoot, r.inputProof, r.outputProof), j));
        await game.hold(jobId, j);
        await expect(game.nodeLost(jobId, j, requester.address))
          .to.emit(market, "RequesterCompensated")
          .withArgs(jobId, COLLATERAL, 2n * COLLATERAL);
        expect(await market.compensation(jobId)).to.equal(2n * COLLATERAL);
        expect(await staking.credits(requester.address)).to.equal(2n * COLLATERAL);
        expect(await market.barred(jobId, other.address)).to.equal(true);
        expect(await market.barred(jobId, node.address)).to.equal(false);
        await expectEscrowBalanced(market, staking);
      });
    });
  });

  describe("every function that takes a Job", () => {
    type Fixture = Awaited<ReturnType<typeof submitted>>;
    const calls: [string, (f: Fixture, id: bigint, job: Job) => Promise<unknown>][] = [
      ["cancelJob", (f, id, job) => f.market.connect(f.requester).cancelJob(id, job)],
      ["expireJob", (f, id, job) => f.market.expireJob(id, job)],
      ["takeJob", (f, id, job) => f.market.connect(f.node).takeJob(id, job)],
      [
        "submitResult",
        (f, id, job) => f.market.connect(f.node).submitResult(id, job, f.r.output, f.r.traceRoot, f.r.inputProof, f.r.outputProof),
      ],
      ["reclaimJob", (f, id, job) => f.market.reclaimJob(id, job)],
      ["finalize", (f, id, job) => f.market.finalize(id, job, f.r.output)],
      ["holdFinality", (f, id, job) => f.game.hold(id, job)],
    ];

    describe("when the Job struct is stale (from before a change)", () => {
      for (const [name, call] of calls) {
        it(`${name} reverts with JobMarketJobMismatch(jobId, have, stored)`, async () => {
          const f = await loadFixture(submitted);
          for (const stale of [f.openJob, f.takenJob]) {
            await expect(call(f, f.jobId, stale))
              .to.be.revertedWithCustomError(f.market, "JobMarketJobMismatch")
              .withArgs(f.jobId, hashJob(stale), hashJob(f.job));
          }
          // A single field changed is as stale as a whole old job.
          const forged = { ...f.job, fee: f.job.fee + 1n };
          await expect(call(f, f.jobId, forged))
            .to.be.revertedWithCustomError(f.market, "JobMarketJobMismatch")
            .withArgs(f.jobId, hashJob(forged), hashJob(f.job));
        });
      }

      it("rejectResult returns false and only releases", async () => {
        const f = await loadFixture(disputedTwice);
        expect(await f.game.nodeLost.staticCall(f.jobId, f.takenJob, f.requester.address)).to.equal(false);
        await expect(f.game.nodeLost(f.jobId, f.takenJob, f.requester.address))
          .to.emit(f.market, "FinalityReleased")
          .withArgs(f.jobId, 1, 1)
          .and.not.to.emit(f.market, "JobReopened");
        expect(await f.market.jobHash(f.jobId)).to.equal(hashJob(f.job));
      });
    });

    describe("when the job id is unknown", () => {
      for (const [name, call] of calls) {
        it(`${name} reverts with JobMarketUnknownJob(jobId)`, async () => {
          const f = await loadFixture(submitted);
          await expect(call(f, 99n, f.job)).to.be.revertedWithCustomError(f.market, "JobMarketUnknownJob").withArgs(99);
        });
      }
    });

    describe("when the job is in the wrong status", () => {
      const need: Record<string, JobStatus> = {
        cancelJob: JobStatus.Open,
        expireJob: JobStatus.Open,
        takeJob: JobStatus.Open,
        submitResult: JobStatus.Taken,
        reclaimJob: JobStatus.Taken,
        finalize: JobStatus.Submitted,
        holdFinality: JobStatus.Submitted,
      };
      for (const [name, call] of calls) {
        it(`${name} reverts with JobMarketWrongStatus(jobId, have, need) on a cancelled job`, async () => {
          const f = await loadFixture(posted);
          const { job } = await jobFrom(f.market.connect(f.requester).cancelJob(f.jobId, f.job), f.job);
          const g = { ...f, r: honest() } as unknown as Fixture;
          await expect(call(g, f.jobId, job))
            .to.be.revertedWithCustomError(f.market, "JobMarketWrongStatus")
            .withArgs(f.jobId, JobStatus.Cancelled, need[name]);
        });
      }
    });
  });

  describe("hashJob", () => {
    describe("when given 200 seeded random jobs", () => {
      it("equals the TypeScript hashJob of core/jobState.ts", async () => {
        const { market } = await loadFixture(stakedMarket);
        const rng = new Rng(20240611);
        const bits = (n: number): bigint => {
          const edge = rng.uint32() % 8;
          if (edge === 0) return 0n;
          if (edge === 1) return (1n << BigInt(n)) - 1n;
          let v = 0n;
          for (let i = 0; i < n; i += 32) v = (v << 32n) | BigInt(rng.uint32());
          return v & ((1n << BigInt(n)) - 1n);
        };
        const address = () => ethers.getAddress(ethers.toBeHex(bits(160), 20)) as `0x${string}`;
        const word = () => ethers.toBeHex(bits(256), 32) as `0x${string}`;
        const jobs: Job[] = [];
        for (let i = 0; i < 200; i++) {
          jobs.push({
            requester: address(),
            modelId: bits(64),
            outputSize: bits(32),
            layerCount: bits(16),
            consumer: address(),
            callbackGasLimit: bits(32),
            fee: bits(96),
            collateral: bits(96),
            expiresAt: bits(40),
            deadline: bits(40),
            attempt: bits(32),
            missedDeadlines: bits(32),
            status: (rng.uint32() % 7) as JobStatus,
            node: address(),
            inputRoot: word(),
            traceRoot: word(),
            outputRoot: word(),
          });
        }
        const onChain = await Promise.all(jobs.map((j) => market.hashJob(j)));
        expect(onChain).to.deep.equal(jobs.map(hashJob));
        expect(new Set(onChain).size).to.equal(200);
      });
    });
  });
});
