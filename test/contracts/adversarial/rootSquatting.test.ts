import { expect } from "chai";
import { ethers } from "hardhat";
import { loadFixture, time } from "@nomicfoundation/hardhat-network-helpers";
import { argmax } from "../../../core/argmax";
import { modelShape } from "../../../core/model";
import type { DigitClassifier } from "../../../typechain-types";
import { deployBound, jobFrom, mnistModel, registerMnist } from "../../helpers/marketFixture";
import { COLLATERAL, FEE, NODE_STAKE, afterWindow, expectEscrowBalanced, honestJob } from "./escrow";

/**
 * Issue 10 item 5: the registry used to let the first caller claim a model root. A squatter who registered
 * the MNIST root first (with the right shape, or a wrong one) owned the only entry for it and blocked the
 * model's owner. Now every registration is its own id with its own owner: the owner registers its own id
 * and dapps bind to that one.
 */
async function squatted() {
  const f = await deployBound();
  const squatter = f.rest[0];
  const { model, root } = mnistModel();
  const shape = modelShape(model);
  // Id 1: the squatter's copy with the right shape. Id 2: a wrong shape (one output short, one layer).
  await registerMnist(f.registry, squatter, "ipfs://squat");
  await f.registry.connect(squatter).registerModel(root, shape.inputSize, shape.outputSize - 1, 1, shape.maxWidth, "ipfs://squat-wrong");
  // Id 3: the owner's (the deployer's) entry.
  await registerMnist(f.registry, f.deployer);
  const ownerId = 3n;
  await f.staking.connect(f.node).stake({ value: NODE_STAKE });
  const classifier = (await ethers.deployContract("DigitClassifier", [await f.market.getAddress(), ownerId])) as unknown as DigitClassifier;
  return { ...f, squatter, ownerId, classifier, root, shape };
}

describe("Adversarial (issue 10 item 5): a squatter registers the model root before its owner", () => {
  describe("ModelRegistry", () => {
    it("gives the owner its own id for the same root, owned by the owner, with the owner's shape", async () => {
      const f = await loadFixture(squatted);
      expect(await f.registry.modelCount()).to.equal(3n);
      for (const id of [1n, 2n, 3n]) expect(await f.registry.modelRoot(id)).to.equal(f.root);
      expect((await f.registry.getModel(f.ownerId)).owner).to.equal(f.deployer.address);
      expect(await f.registry.modelShape(f.ownerId)).to.deep.equal([
        BigInt(f.shape.inputSize),
        BigInt(f.shape.outputSize),
        BigInt(f.shape.layerCount),
        false,
        BigInt(f.shape.maxWidth),
      ]);
      expect((await f.registry.getModel(1)).owner).to.equal(f.squatter.address);
      expect((await f.registry.getModel(2)).owner).to.equal(f.squatter.address);
    });

    it("lets the squatter neither retire nor take the owner's entry", async () => {
      const f = await loadFixture(squatted);
      await expect(f.registry.connect(f.squatter).retireModel(f.ownerId))
        .to.be.revertedWithCustomError(f.registry, "ModelRegistryNotOwner")
        .withArgs(f.ownerId, f.squatter.address, f.deployer.address);
      await expect(f.registry.connect(f.squatter).transferModelOwnership(f.ownerId, f.squatter.address))
        .to.be.revertedWithCustomError(f.registry, "ModelRegistryNotOwner")
        .withArgs(f.ownerId, f.squatter.address, f.deployer.address);
      // Nor does the owner get the squatter's entries: each registration is its own.
      await expect(f.registry.connect(f.deployer).retireModel(1))
        .to.be.revertedWithCustomError(f.registry, "ModelRegistryNotOwner")
        .withArgs(1n, f.deployer.address, f.squatter.address);
    });
  });

  describe("JobMarket and a DigitClassifier bound to the owner's id", () => {
    it("serve jobs on it end to end, even after the squatter retires its entries under the same root", async () => {
      const f = await loadFixture(squatted);
      await f.registry.connect(f.squatter).retireModel(1);
      await f.registry.connect(f.squatter).retireModel(2);
      const { input, output, traceRoot, inputProof, outputProof } = honestJob();
      const expiresAt = (await time.latest()) + 3600;
      let { jobId, job } = await jobFrom(f.classifier.connect(f.requester).classify(input, COLLATERAL, expiresAt, { value: FEE }));
      expect(job.modelId).to.equal(f.ownerId);
      expect(job.outputSize).to.equal(BigInt(f.shape.outputSize));
      ({ job } = await jobFrom(f.market.connect(f.node).takeJob(jobId, job), job));
      ({ job } = await jobFrom(f.market.connect(f.node).submitResult(jobId, job, output, traceRoot, inputProof, outputProof), job));
      await afterWindow(job);
      const digit = argmax(new Int8Array(output.buffer, output.byteOffset, output.length));
      await expect(f.market.finalize(jobId, job, output))
        .to.emit(f.classifier, "DigitClassified")
        .withArgs(jobId, f.requester.address, digit);
      expect(await f.classifier.digitPlusOne(jobId)).to.equal(digit + 1);
      await expectEscrowBalanced(f.market, f.staking);
    });

    it("keep the squatter's wrong-shaped entry apart: its jobs carry its own shape, the owner's id is unaffected", async () => {
      const f = await loadFixture(squatted);
      const { input } = honestJob();
      const expiresAt = (await time.latest()) + 3600;
      const post = (modelId: bigint) =>
        jobFrom(f.market.connect(f.requester).postJob(modelId, input, ethers.ZeroAddress, 0, COLLATERAL, expiresAt, { value: FEE }));
      const onSquat = (await post(2n)).job;
      const onOwner = (await post(f.ownerId)).job;
      expect([onSquat.outputSize, onSquat.layerCount]).to.deep.equal([BigInt(f.shape.outputSize - 1), 1n]);
      expect([onOwner.outputSize, onOwner.layerCount]).to.deep.equal([BigInt(f.shape.outputSize), BigInt(f.shape.layerCount)]);
    });
  });
});
