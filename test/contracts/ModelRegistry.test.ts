import { expect } from "chai";
import { ethers } from "hardhat";
import { loadFixture } from "@nomicfoundation/hardhat-network-helpers";
import type { ModelRegistry } from "../../typechain-types";

const ROOT_A = ethers.id("model A");
const ROOT_B = ethers.id("model B");
const ROOT_C = ethers.id("model C");
const URI_A = "ipfs://model-a";
const URI_B = "https://example.org/model-b";

/** A fresh registry, nothing registered. */
async function deployRegistry() {
  const [deployer, alice, bob, carol] = await ethers.getSigners();
  const registry = (await ethers.deployContract("ModelRegistry")) as unknown as ModelRegistry;
  const MAX_VECTOR_SIZE = await registry.MAX_VECTOR_SIZE();
  const MAX_LAYERS = await registry.MAX_LAYERS();
  return { registry, deployer, alice, bob, carol, MAX_VECTOR_SIZE, MAX_LAYERS };
}

/** Two models: id 1 (ROOT_A, 784 → 10, 3 layers) owned by alice, id 2 (ROOT_B, 16 → 4, 1 layer) owned by bob. */
async function deployWithModels() {
  const ctx = await deployRegistry();
  await ctx.registry.connect(ctx.alice).registerModel(ROOT_A, 784, 10, 3, URI_A);
  await ctx.registry.connect(ctx.bob).registerModel(ROOT_B, 16, 4, 1, URI_B);
  return ctx;
}

describe("ModelRegistry", () => {
  describe("constants", () => {
    it("bounds vectors at 2^16 elements and models at 1024 layers", async () => {
      const { MAX_VECTOR_SIZE, MAX_LAYERS, registry } = await loadFixture(deployRegistry);
      expect(MAX_VECTOR_SIZE).to.equal(1n << 16n);
      expect(MAX_LAYERS).to.equal(1024n);
      expect(await registry.modelCount()).to.equal(0n);
    });
  });

  describe("registerModel", () => {
    describe("when the arguments are valid", () => {
      it("returns id 1 for the first model", async () => {
        const { registry, alice } = await loadFixture(deployRegistry);
        expect(await registry.connect(alice).registerModel.staticCall(ROOT_A, 784, 10, 3, URI_A)).to.equal(1n);
      });

      it("emits ModelRegistered with every field", async () => {
        const { registry, alice } = await loadFixture(deployRegistry);
        await expect(registry.connect(alice).registerModel(ROOT_A, 784, 10, 3, URI_A))
          .to.emit(registry, "ModelRegistered")
          .withArgs(1n, ROOT_A, alice.address, 784, 10, 3, URI_A);
      });

      it("stores every field, readable through getModel", async () => {
        const { registry, alice } = await loadFixture(deployWithModels);
        const m = await registry.getModel(1);
        expect(m.root).to.equal(ROOT_A);
        expect(m.owner).to.equal(alice.address);
        expect(m.inputSize).to.equal(784n);
        expect(m.outputSize).to.equal(10n);
        expect(m.layerCount).to.equal(3n);
        expect(m.retired).to.equal(false);
        expect(m.uri).to.equal(URI_A);
      });

      it("answers the shape through modelShape", async () => {
        const { registry } = await loadFixture(deployWithModels);
        const [inputSize, outputSize, layerCount, retired] = await registry.modelShape(1);
        expect([inputSize, outputSize, layerCount, retired]).to.deep.equal([784n, 10n, 3n, false]);
        expect(await registry.modelShape(2)).to.deep.equal([16n, 4n, 1n, false]);
      });

      it("maps the root to the id in modelIdOf, and unknown roots to 0", async () => {
        const { registry } = await loadFixture(deployWithModels);
        expect(await registry.modelIdOf(ROOT_A)).to.equal(1n);
        expect(await registry.modelIdOf(ROOT_B)).to.equal(2n);
        expect(await registry.modelIdOf(ROOT_C)).to.equal(0n);
      });

      it("hands out ids 1, 2, 3, … and counts them in modelCount", async () => {
        const { registry, alice, bob, carol } = await loadFixture(deployWithModels);
        expect(await registry.modelCount()).to.equal(2n);
        const m2 = await registry.getModel(2);
        expect(m2.root).to.equal(ROOT_B);
        expect(m2.owner).to.equal(bob.address);
        expect(m2.uri).to.equal(URI_B);
        expect((await registry.getModel(1)).owner).to.equal(alice.address);
        await expect(registry.connect(carol).registerModel(ROOT_C, 1, 1, 1, ""))
          .to.emit(registry, "ModelRegistered")
          .withArgs(3n, ROOT_C, carol.address, 1, 1, 1, "");
        expect(await registry.modelCount()).to.equal(3n);
        expect(await registry.modelIdOf(ROOT_C)).to.equal(3n);
      });
    });

    describe("when the root is zero", () => {
      it("reverts with ModelRegistryZeroRoot", async () => {
        const { registry, alice } = await loadFixture(deployRegistry);
        await expect(registry.connect(alice).registerModel(ethers.ZeroHash, 784, 10, 3, URI_A)).to.be.revertedWithCustomError(
          registry,
          "ModelRegistryZeroRoot",
        );
      });
    });

    describe("when a size is out of range", () => {
      it("reverts with ModelRegistryInvalidSize for input size 0", async () => {
        const { registry, alice, MAX_VECTOR_SIZE } = await loadFixture(deployRegistry);
        await expect(registry.connect(alice).registerModel(ROOT_A, 0, 10, 3, URI_A))
          .to.be.revertedWithCustomError(registry, "ModelRegistryInvalidSize")
          .withArgs(0, 10, MAX_VECTOR_SIZE);
      });

      it("reverts with ModelRegistryInvalidSize for output size 0", async () => {
        const { registry, alice, MAX_VECTOR_SIZE } = await loadFixture(deployRegistry);
        await expect(registry.connect(alice).registerModel(ROOT_A, 784, 0, 3, URI_A))
          .to.be.revertedWithCustomError(registry, "ModelRegistryInvalidSize")
          .withArgs(784, 0, MAX_VECTOR_SIZE);
      });

      it("reverts with ModelRegistryInvalidSize for input size MAX_VECTOR_SIZE + 1", async () => {
        const { registry, alice, MAX_VECTOR_SIZE } = await loadFixture(deployRegistry);
        await expect(registry.connect(alice).registerModel(ROOT_A, MAX_VECTOR_SIZE + 1n, 10, 3, URI_A))
          .to.be.revertedWithCustomError(registry, "ModelRegistryInvalidSize")
          .withArgs(MAX_VECTOR_SIZE + 1n, 10, MAX_VECTOR_SIZE);
      });

      it("reverts with ModelRegistryInvalidSize for output size MAX_VECTOR_SIZE + 1", async () => {
        const { registry, alice, MAX_VECTOR_SIZE } = await loadFixture(deployRegistry);
        await expect(registry.connect(alice).registerModel(ROOT_A, 784, MAX_VECTOR_SIZE + 1n, 3, URI_A))
          .to.be.revertedWithCustomError(registry, "ModelRegistryInvalidSize")
          .withArgs(784, MAX_VECTOR_SIZE + 1n, MAX_VECTOR_SIZE);
      });

      it("reverts with ModelRegistryInvalidSize for the largest uint32 input", async () => {
        const { registry, alice, MAX_VECTOR_SIZE } = await loadFixture(deployRegistry);
        await expect(registry.connect(alice).registerModel(ROOT_A, 2n ** 32n - 1n, 10, 3, URI_A))
          .to.be.revertedWithCustomError(registry, "ModelRegistryInvalidSize")
          .withArgs(2n ** 32n - 1n, 10, MAX_VECTOR_SIZE);
      });
    });

    describe("when the sizes are exactly MAX_VECTOR_SIZE", () => {
      it("registers the model", async () => {
        const { registry, alice, MAX_VECTOR_SIZE } = await loadFixture(deployRegistry);
        await expect(registry.connect(alice).registerModel(ROOT_A, MAX_VECTOR_SIZE, MAX_VECTOR_SIZE, 1, URI_A))
          .to.emit(registry, "ModelRegistered")
          .withArgs(1n, ROOT_A, alice.address, MAX_VECTOR_SIZE, MAX_VECTOR_SIZE, 1, URI_A);
        expect(await registry.modelShape(1)).to.deep.equal([MAX_VECTOR_SIZE, MAX_VECTOR_SIZE, 1n, false]);
      });
    });

    describe("when the layer count is out of range", () => {
      it("reverts with ModelRegistryInvalidLayerCount for 0 layers", async () => {
        const { registry, alice, MAX_LAYERS } = await loadFixture(deployRegistry);
        await expect(registry.connect(alice).registerModel(ROOT_A, 784, 10, 0, URI_A))
          .to.be.revertedWithCustomError(registry, "ModelRegistryInvalidLayerCount")
          .withArgs(0, MAX_LAYERS);
      });

      it("reverts with ModelRegistryInvalidLayerCount for MAX_LAYERS + 1 layers", async () => {
        const { registry, alice, MAX_LAYERS } = await loadFixture(deployRegistry);
        await expect(registry.connect(alice).registerModel(ROOT_A, 784, 10, MAX_LAYERS + 1n, URI_A))
          .to.be.revertedWithCustomError(registry, "ModelRegistryInvalidLayerCount")
          .withArgs(MAX_LAYERS + 1n, MAX_LAYERS);
      });

      it("reverts with ModelRegistryInvalidLayerCount for the largest uint16", async () => {
        const { registry, alice, MAX_LAYERS } = await loadFixture(deployRegistry);
        await expect(registry.connect(alice).registerModel(ROOT_A, 784, 10, 65_535, URI_A))
          .to.be.revertedWithCustomError(registry, "ModelRegistryInvalidLayerCount")
          .withArgs(65_535, MAX_LAYERS);
      });
    });

    describe("when the layer count is exactly MAX_LAYERS", () => {
      it("registers the model", async () => {
        const { registry, alice, MAX_LAYERS } = await loadFixture(deployRegistry);
        await expect(registry.connect(alice).registerModel(ROOT_A, 784, 10, MAX_LAYERS, URI_A))
          .to.emit(registry, "ModelRegistered")
          .withArgs(1n, ROOT_A, alice.address, 784, 10, MAX_LAYERS, URI_A);
        expect((await registry.getModel(1)).layerCount).to.equal(MAX_LAYERS);
      });
    });

    describe("when the root is already registered", () => {
      it("reverts with ModelRegistryRootTaken and the existing id, whoever asks", async () => {
        const { registry, alice, carol } = await loadFixture(deployWithModels);
        await expect(registry.connect(carol).registerModel(ROOT_B, 784, 10, 3, "other"))
          .to.be.revertedWithCustomError(registry, "ModelRegistryRootTaken")
          .withArgs(ROOT_B, 2n);
        await expect(registry.connect(alice).registerModel(ROOT_A, 784, 10, 3, URI_A))
          .to.be.revertedWithCustomError(registry, "ModelRegistryRootTaken")
          .withArgs(ROOT_A, 1n);
        expect(await registry.modelCount()).to.equal(2n);
      });

      it("still refuses the root after the model is retired", async () => {
        const { registry, alice } = await loadFixture(deployWithModels);
        await registry.connect(alice).retireModel(1);
        await expect(registry.connect(alice).registerModel(ROOT_A, 784, 10, 3, URI_A))
          .to.be.revertedWithCustomError(registry, "ModelRegistryRootTaken")
          .withArgs(ROOT_A, 1n);
      });
    });
  });

  describe("retireModel", () => {
    describe("when the caller owns the model", () => {
      it("emits ModelRetired and shows the model retired", async () => {
        const { registry, alice } = await loadFixture(deployWithModels);
        await expect(registry.connect(alice).retireModel(1)).to.emit(registry, "ModelRetired").withArgs(1n);
        expect(await registry.modelShape(1)).to.deep.equal([784n, 10n, 3n, true]);
        const m = await registry.getModel(1);
        expect(m.retired).to.equal(true);
        expect(m.root).to.equal(ROOT_A);
        expect(m.owner).to.equal(alice.address);
        expect(m.uri).to.equal(URI_A);
      });

      it("leaves the other models alone", async () => {
        const { registry, alice } = await loadFixture(deployWithModels);
        await registry.connect(alice).retireModel(1);
        expect((await registry.modelShape(2))[3]).to.equal(false);
      });

      it("can be repeated (retiring is idempotent)", async () => {
        const { registry, alice } = await loadFixture(deployWithModels);
        await registry.connect(alice).retireModel(1);
        await expect(registry.connect(alice).retireModel(1)).to.emit(registry, "ModelRetired").withArgs(1n);
        expect((await registry.modelShape(1))[3]).to.equal(true);
      });
    });

    describe("when the caller does not own the model", () => {
      it("reverts with ModelRegistryNotOwner(modelId, caller, owner)", async () => {
        const { registry, alice, bob, deployer } = await loadFixture(deployWithModels);
        await expect(registry.connect(bob).retireModel(1))
          .to.be.revertedWithCustomError(registry, "ModelRegistryNotOwner")
          .withArgs(1n, bob.address, alice.address);
        await expect(registry.connect(deployer).retireModel(2))
          .to.be.revertedWithCustomError(registry, "ModelRegistryNotOwner")
          .withArgs(2n, deployer.address, bob.address);
        expect((await registry.modelShape(1))[3]).to.equal(false);
      });
    });

    describe("when the model does not exist", () => {
      it("reverts with ModelRegistryUnknownModel for id 0 and id count + 1", async () => {
        const { registry, alice } = await loadFixture(deployWithModels);
        await expect(registry.connect(alice).retireModel(0))
          .to.be.revertedWithCustomError(registry, "ModelRegistryUnknownModel")
          .withArgs(0n);
        await expect(registry.connect(alice).retireModel(3))
          .to.be.revertedWithCustomError(registry, "ModelRegistryUnknownModel")
          .withArgs(3n);
      });
    });
  });

  describe("transferModelOwnership", () => {
    describe("when the caller owns the model", () => {
      it("emits ModelOwnershipTransferred(modelId, from, to) and stores the new owner", async () => {
        const { registry, alice, carol } = await loadFixture(deployWithModels);
        await expect(registry.connect(alice).transferModelOwnership(1, carol.address))
          .to.emit(registry, "ModelOwnershipTransferred")
          .withArgs(1n, alice.address, carol.address);
        const m = await registry.getModel(1);
        expect(m.owner).to.equal(carol.address);
        expect(m.root).to.equal(ROOT_A);
        expect(m.retired).to.equal(false);
      });

      it("lets the new owner retire and transfer, and no longer the old one", async () => {
        const { registry, alice, bob, carol } = await loadFixture(deployWithModels);
        await registry.connect(alice).transferModelOwnership(1, carol.address);
        await expect(registry.connect(alice).retireModel(1))
          .to.be.revertedWithCustomError(registry, "ModelRegistryNotOwner")
          .withArgs(1n, alice.address, carol.address);
        await expect(registry.connect(alice).transferModelOwnership(1, alice.address))
          .to.be.revertedWithCustomError(registry, "ModelRegistryNotOwner")
          .withArgs(1n, alice.address, carol.address);
        await expect(registry.connect(carol).retireModel(1)).to.emit(registry, "ModelRetired").withArgs(1n);
        await expect(registry.connect(carol).transferModelOwnership(1, bob.address))
          .to.emit(registry, "ModelOwnershipTransferred")
          .withArgs(1n, carol.address, bob.address);
        expect((await registry.getModel(1)).owner).to.equal(bob.address);
      });

      it("allows a transfer to oneself", async () => {
        const { registry, alice } = await loadFixture(deployWithModels);
        await expect(registry.connect(alice).transferModelOwnership(1, alice.address))
          .to.emit(registry, "ModelOwnershipTransferred")
          .withArgs(1n, alice.address, alice.address);
      });
    });

    describe("when the new owner is zero", () => {
      it("reverts with ModelRegistryZeroOwner(modelId)", async () => {
        const { registry, alice } = await loadFixture(deployWithModels);
        await expect(registry.connect(alice).transferModelOwnership(1, ethers.ZeroAddress))
          .to.be.revertedWithCustomError(registry, "ModelRegistryZeroOwner")
          .withArgs(1n);
        expect((await registry.getModel(1)).owner).to.equal(alice.address);
      });
    });

    describe("when the caller does not own the model", () => {
      it("reverts with ModelRegistryNotOwner(modelId, caller, owner)", async () => {
        const { registry, alice, carol } = await loadFixture(deployWithModels);
        await expect(registry.connect(carol).transferModelOwnership(1, carol.address))
          .to.be.revertedWithCustomError(registry, "ModelRegistryNotOwner")
          .withArgs(1n, carol.address, alice.address);
        expect((await registry.getModel(1)).owner).to.equal(alice.address);
      });
    });

    describe("when the model does not exist", () => {
      it("reverts with ModelRegistryUnknownModel", async () => {
        const { registry, alice } = await loadFixture(deployWithModels);
        await expect(registry.connect(alice).transferModelOwnership(3, alice.address))
          .to.be.revertedWithCustomError(registry, "ModelRegistryUnknownModel")
          .withArgs(3n);
      });
    });
  });

  describe("getModel", () => {
    describe("when the id is unknown", () => {
      it("reverts with ModelRegistryUnknownModel on an empty registry", async () => {
        const { registry } = await loadFixture(deployRegistry);
        await expect(registry.getModel(1)).to.be.revertedWithCustomError(registry, "ModelRegistryUnknownModel").withArgs(1n);
      });

      it("reverts with ModelRegistryUnknownModel for id 0 and id count + 1", async () => {
        const { registry } = await loadFixture(deployWithModels);
        await expect(registry.getModel(0)).to.be.revertedWithCustomError(registry, "ModelRegistryUnknownModel").withArgs(0n);
        await expect(registry.getModel(3)).to.be.revertedWithCustomError(registry, "ModelRegistryUnknownModel").withArgs(3n);
        const maxId = 2n ** 64n - 1n;
        await expect(registry.getModel(maxId)).to.be.revertedWithCustomError(registry, "ModelRegistryUnknownModel").withArgs(maxId);
      });
    });
  });

  describe("modelShape", () => {
    describe("when the id is unknown", () => {
      it("reverts with ModelRegistryUnknownModel for id 0 and id count + 1", async () => {
        const { registry } = await loadFixture(deployWithModels);
        await expect(registry.modelShape(0)).to.be.revertedWithCustomError(registry, "ModelRegistryUnknownModel").withArgs(0n);
        await expect(registry.modelShape(3)).to.be.revertedWithCustomError(registry, "ModelRegistryUnknownModel").withArgs(3n);
      });
    });
  });
});
